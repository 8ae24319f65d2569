/*
 * test_shard_read.c - lib/shard_read.c: line framing over plain, zstd and
 * gzip files, long lines, the line cap, truncated and corrupt streams,
 * errors at open, stdin and early close.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "../../lib/err.h"
#include "../../lib/shard.h"
#include "testutil.h"

#define MiB (1u << 20)

static void setup(void) { tu_mkdtemp(); }
static void teardown(void) { tu_rmdir(); }

TestSuite(read, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(read_codec, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(read_broken, .init = setup, .fini = teardown, .timeout = 60);

/* ---------------------------------------------------------------- helpers */

typedef struct {
	char **v;
	size_t *n;
	size_t cnt, cap;
	int ntoobig;
	uint64_t *toobig_at; /* line numbers of WN_ETOOBIG answers */
} lines_t;

static void lines_free(lines_t *L)
{
	for (size_t i = 0; i < L->cnt; i++) free(L->v[i]);
	free(L->v);
	free(L->n);
	free(L->toobig_at);
	memset(L, 0, sizeof *L);
}

static void lines_push(lines_t *L, const char *p, size_t n)
{
	if (L->cnt == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 64;
		L->v = realloc(L->v, L->cap * sizeof *L->v);
		L->n = realloc(L->n, L->cap * sizeof *L->n);
	}
	L->v[L->cnt] = malloc(n + 1);
	memcpy(L->v[L->cnt], p, n);
	L->v[L->cnt][n] = 0;
	L->n[L->cnt++] = n;
}

/* Read `r` to its end; returns the terminal code (0 clean end, or the
 * error); WN_ETOOBIG answers are counted and reading goes on. */
static int drain(wn_reader *r, lines_t *L)
{
	for (;;) {
		const char *p;
		size_t n;
		int rc = wn_reader_next(r, &p, &n);
		if (rc == 1) {
			lines_push(L, p, n);
			cr_assert_eq(wn_reader_lineno(r), L->cnt + (size_t)L->ntoobig,
				     "lineno %llu after %zu lines",
				     (unsigned long long)wn_reader_lineno(r), L->cnt);
			continue;
		}
		if (rc == WN_ETOOBIG) {
			L->toobig_at = realloc(L->toobig_at, (size_t)(L->ntoobig + 1) * sizeof(uint64_t));
			L->toobig_at[L->ntoobig++] = wn_reader_lineno(r);
			continue;
		}
		return rc;
	}
}

/* Open, drain, close. */
static int read_path(const char *path, size_t max_line, lines_t *L, char *codec, size_t clen)
{
	wn_reader *r = NULL;
	wn_reader_opts o = { .max_line = max_line, .http_retries = 0 };
	int rc = wn_reader_open(&r, path, &o);
	cr_assert_not_null(r, "the reader is returned even on error");
	if (rc == 0) rc = drain(r, L);
	if (codec) snprintf(codec, clen, "%s", wn_reader_codec(r));
	wn_reader_close(r);
	return rc;
}

/* The lines of `buf` as the contract frames them. */
static void split_lines(const char *buf, size_t n, lines_t *L)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\n') {
			size_t e = i;
			if (e > s && buf[e - 1] == '\r') e--;
			lines_push(L, buf + s, e - s);
			s = i + 1;
		}
	if (s < n) {
		size_t e = n;
		if (buf[e - 1] == '\r') e--;
		lines_push(L, buf + s, e - s);
	}
}

static void expect_same_lines(const lines_t *got, const lines_t *want, const char *what)
{
	cr_assert_eq(got->cnt, want->cnt, "%s: %zu lines, want %zu", what, got->cnt, want->cnt);
	for (size_t i = 0; i < want->cnt; i++) {
		cr_assert_eq(got->n[i], want->n[i], "%s: line %zu has %zu bytes, want %zu", what,
			     i + 1, got->n[i], want->n[i]);
		cr_assert_eq(memcmp(got->v[i], want->v[i], want->n[i]), 0, "%s: line %zu differs",
			     what, i + 1);
	}
}

/* `count` random lines, mostly short, some long (up to `maxlong`). */
static char *make_content(uint64_t seed, size_t count, size_t maxlong, size_t *outn)
{
	tu_rng r = { seed };
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	static const char *words[] = { "the ", "data ", "\xe4\xb8\xad\xe6\x96\x87 ", "\xf0\x9f\x98\x80",
				       "{\"text\": ", "\\n", "quick ", "brown ", "\t", "0123456789" };
	for (size_t i = 0; i < count; i++) {
		size_t len;
		uint32_t k = tu_below(&r, 100);
		if (k < 5) len = 0;
		else if (k < 90) len = tu_below(&r, 300);
		else if (k < 99) len = tu_below(&r, 20000);
		else len = tu_below(&r, (uint32_t)maxlong + 1);
		while (n + len + 32 > cap) { cap *= 2; b = realloc(b, cap); }
		size_t end = n + len;
		while (n < end) {
			if (tu_below(&r, 4) == 0) {
				b[n++] = (char)('a' + tu_below(&r, 26));
			} else {
				const char *w = words[tu_below(&r, 10)];
				size_t wl = strlen(w);
				if (n + wl > end) wl = end - n;
				memcpy(b + n, w, wl);
				n += wl;
			}
		}
		b[n++] = '\n';
	}
	*outn = n;
	return b;
}

static char *zstd_frame(const void *p, size_t n, int level, int checksum, size_t *outn)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
	size_t cap = ZSTD_compressBound(n);
	char *o = malloc(cap);
	size_t k = ZSTD_compress2(c, o, cap, p, n);
	cr_assert(!ZSTD_isError(k), "zstd: %s", ZSTD_getErrorName(k));
	ZSTD_freeCCtx(c);
	*outn = k;
	return o;
}

/* A streamed frame (no content size in the header), in small blocks. */
static char *zstd_stream(const void *p, size_t n, size_t *outn)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	size_t cap = ZSTD_compressBound(n) + 1024, pos = 0;
	char *o = malloc(cap);
	ZSTD_inBuffer in = { p, 0, 0 };
	for (size_t off = 0; off < n;) {
		size_t step = n - off < 50000 ? n - off : 50000;
		in.size += step;
		off += step;
		while (in.pos < in.size) {
			ZSTD_outBuffer out = { o, cap, pos };
			size_t rc = ZSTD_compressStream2(c, &out, &in, ZSTD_e_flush);
			cr_assert(!ZSTD_isError(rc));
			pos = out.pos;
		}
	}
	for (;;) {
		ZSTD_outBuffer out = { o, cap, pos };
		size_t rc = ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
		cr_assert(!ZSTD_isError(rc));
		pos = out.pos;
		if (rc == 0) break;
	}
	ZSTD_freeCCtx(c);
	*outn = pos;
	return o;
}

static char *gzip_member(const void *p, size_t n, size_t *outn)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, (uLong)n) + 64;
	char *o = malloc(cap);
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	z.next_out = (unsigned char *)o;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outn = cap - z.avail_out;
	deflateEnd(&z);
	return o;
}

/* Append (p, n) to a growing buffer. */
static void cat(char **b, size_t *bn, const void *p, size_t n)
{
	*b = realloc(*b, *bn + n + 1);
	memcpy(*b + *bn, p, n);
	*bn += n;
}

static void skippable(char **b, size_t *bn, unsigned variant, const char *payload, uint32_t plen)
{
	unsigned char h[8] = { (unsigned char)(0x50 + (variant & 15)), 0x2A, 0x4D, 0x18,
			       (unsigned char)plen, (unsigned char)(plen >> 8),
			       (unsigned char)(plen >> 16), (unsigned char)(plen >> 24) };
	cat(b, bn, h, 8);
	cat(b, bn, payload, plen);
}

/* Decompress as much of a (possibly truncated) zstd stream as the library
 * gives: the reference for "all complete lines". */
static size_t zstd_reference_newlines(const char *p, size_t n)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	char *o = malloc(1 << 20);
	size_t nl = 0;
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { o, 1 << 20, 0 };
		size_t rc = ZSTD_decompressStream(d, &out, &in);
		for (size_t i = 0; i < out.pos; i++) nl += o[i] == '\n';
		if (ZSTD_isError(rc)) break;
		if (in.pos == in.size && out.pos < out.size) break;
	}
	free(o);
	ZSTD_freeDStream(d);
	return nl;
}

static size_t gzip_reference_newlines(const char *p, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	inflateInit2(&z, 16 + MAX_WBITS);
	char *o = malloc(1 << 20);
	size_t nl = 0;
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	for (;;) {
		z.next_out = (unsigned char *)o;
		z.avail_out = 1 << 20;
		int zr = inflate(&z, Z_NO_FLUSH);
		size_t got = (1 << 20) - z.avail_out;
		for (size_t i = 0; i < got; i++) nl += o[i] == '\n';
		if (zr == Z_STREAM_END && z.avail_in) { inflateReset(&z); continue; }
		if (zr != Z_OK || (z.avail_in == 0 && z.avail_out)) break;
	}
	inflateEnd(&z);
	free(o);
	return nl;
}

/* Is `num` in `s` as a whole number (not part of a longer one)? */
static int has_number(const char *s, unsigned long long num)
{
	char t[32];
	snprintf(t, sizeof t, "%llu", num);
	size_t tl = strlen(t);
	for (const char *p = strstr(s, t); p; p = strstr(p + 1, t)) {
		int before = p > s && p[-1] >= '0' && p[-1] <= '9';
		int after = p[tl] >= '0' && p[tl] <= '9';
		if (!before && !after) return 1;
	}
	return 0;
}

static const char *write_tmp(const char *name, const void *p, size_t n)
{
	const char *path = tu_path(name);
	cr_assert_eq(tu_write_file(path, p, n), 0, "cannot write %s", path);
	return path;
}

/* ---------------------------------------------------------------- plain framing */

Test(read, plain_lines)
{
	const char c[] = "a\nbb\n\nccc\n{\"text\":\"x\"}\n";
	const char *p = write_tmp("plain.jsonl", c, sizeof c - 1);
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, p, NULL), 0);
	cr_expect_str_eq(wn_reader_name(r), p);
	const char *want[] = { "a", "bb", "", "ccc", "{\"text\":\"x\"}" };
	for (int i = 0; i < 5; i++) {
		const char *l;
		size_t n;
		cr_assert_eq(wn_reader_next(r, &l, &n), 1, "line %d", i + 1);
		cr_assert_eq(n, strlen(want[i]), "line %d", i + 1);
		cr_assert_eq(memcmp(l, want[i], n), 0, "line %d", i + 1);
		cr_assert_eq(wn_reader_lineno(r), (uint64_t)i + 1);
	}
	const char *l;
	size_t n;
	cr_assert_eq(wn_reader_next(r, &l, &n), 0, "clean end");
	cr_assert_eq(wn_reader_next(r, &l, &n), 0, "end is sticky");
	cr_expect_str_eq(wn_reader_codec(r), "plain");
	cr_expect_eq(wn_reader_size(r), (int64_t)(sizeof c - 1));
	cr_expect_eq(wn_reader_raw_bytes(r), sizeof c - 1);
	cr_expect_eq(wn_reader_data_bytes(r), sizeof c - 1);
	wn_reader_close(r);
}

Test(read, crlf_is_stripped)
{
	const char c[] = "a\r\nb\r\n\r\nx\ry\r\n\rz\nlast\r";
	const char *p = write_tmp("crlf.jsonl", c, sizeof c - 1);
	lines_t L = { 0 };
	cr_assert_eq(read_path(p, 0, &L, NULL, 0), 0);
	const char *want[] = { "a", "b", "", "x\ry", "\rz", "last" };
	cr_assert_eq(L.cnt, 6);
	for (int i = 0; i < 6; i++) {
		cr_expect_eq(L.n[i], strlen(want[i]), "line %d", i + 1);
		cr_expect_str_eq(L.v[i], want[i], "line %d", i + 1);
	}
	lines_free(&L);
}

Test(read, missing_final_newline)
{
	const char *p = write_tmp("nonl.jsonl", "a\nb", 3);
	lines_t L = { 0 };
	cr_assert_eq(read_path(p, 0, &L, NULL, 0), 0);
	cr_assert_eq(L.cnt, 2);
	cr_expect_str_eq(L.v[0], "a");
	cr_expect_str_eq(L.v[1], "b");
	lines_free(&L);
	/* tiny files, shorter than any magic */
	const char *tiny[] = { "x", "xy", "xyz", "\n", "\n\n", "ab\n" };
	size_t want[] = { 1, 1, 1, 1, 2, 1 };
	for (int i = 0; i < 6; i++) {
		p = write_tmp("tiny", tiny[i], strlen(tiny[i]));
		lines_t T = { 0 };
		char codec[16];
		cr_assert_eq(read_path(p, 0, &T, codec, sizeof codec), 0, "tiny %d", i);
		cr_expect_eq(T.cnt, want[i], "tiny %d: %zu lines", i, T.cnt);
		cr_expect_str_eq(codec, "plain");
		lines_free(&T);
	}
}

Test(read, empty_file)
{
	const char *p = write_tmp("empty.jsonl", "", 0);
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, p, NULL), 0);
	const char *l;
	size_t n;
	cr_assert_eq(wn_reader_next(r, &l, &n), 0);
	cr_assert_eq(wn_reader_next(r, &l, &n), 0);
	cr_expect_eq(wn_reader_lineno(r), 0);
	cr_expect_str_eq(wn_reader_codec(r), "plain");
	cr_expect_str_eq(wn_reader_error(r), "");
	wn_reader_close(r);
}

Test(read, long_line_returned_whole)
{
	size_t big = 5 * 1000 * 1000;
	char *c = malloc(big + 64);
	size_t n = 0;
	n += (size_t)sprintf(c, "first\n");
	for (size_t i = 0; i < big; i++) c[n + i] = (char)('a' + (i * 7) % 26);
	n += big;
	c[n++] = '\r';
	c[n++] = '\n';
	memcpy(c + n, "after\n", 6);
	n += 6;
	const char *p = write_tmp("long.jsonl", c, n);
	lines_t L = { 0 };
	cr_assert_eq(read_path(p, 0, &L, NULL, 0), 0);
	cr_assert_eq(L.cnt, 3);
	cr_expect_str_eq(L.v[0], "first");
	cr_assert_eq(L.n[1], big, "long line has %zu bytes", L.n[1]);
	cr_assert_eq(memcmp(L.v[1], c + 6, big), 0);
	cr_expect_str_eq(L.v[2], "after");
	lines_free(&L);
	free(c);
}

Test(read, lines_across_chunk_boundaries)
{
	/* line lengths around the 1 MiB chunk size, so that '\n', "\r\n" and
	 * empty lines land on and around chunk edges */
	size_t lens[] = { MiB - 1, MiB - 2, 0, MiB, MiB + 1, 1, MiB - 3, 2, 3, 0, 2 * MiB + 5, 7 };
	size_t total = 0;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) total += lens[i] + 2;
	char *c = malloc(total);
	size_t n = 0;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		for (size_t j = 0; j < lens[i]; j++) c[n++] = (char)('A' + (i + j) % 26);
		if (i % 2) c[n++] = '\r';
		c[n++] = '\n';
	}
	lines_t want = { 0 }, got = { 0 };
	split_lines(c, n, &want);
	cr_assert_eq(want.cnt, sizeof lens / sizeof lens[0]);
	const char *p = write_tmp("edges.jsonl", c, n);
	cr_assert_eq(read_path(p, 0, &got, NULL, 0), 0);
	expect_same_lines(&got, &want, "plain");
	lines_free(&got);
	/* the same through zstd and gzip (different chunk fill patterns) */
	size_t zn, gn;
	char *z = zstd_frame(c, n, 1, 1, &zn);
	p = write_tmp("edges.jsonl.zst", z, zn);
	cr_assert_eq(read_path(p, 0, &got, NULL, 0), 0);
	expect_same_lines(&got, &want, "zstd");
	lines_free(&got);
	char *g = gzip_member(c, n, &gn);
	p = write_tmp("edges.jsonl.gz", g, gn);
	cr_assert_eq(read_path(p, 0, &got, NULL, 0), 0);
	expect_same_lines(&got, &want, "gzip");
	lines_free(&got);
	lines_free(&want);
	free(z);
	free(g);
	free(c);
}

Test(read, too_long_line_is_skipped)
{
	/* max_line 100: a 200-byte line inside one chunk, a 3 MB line across
	 * chunks, and a too-long last line without '\n' */
	size_t big = 3 * MiB;
	char *c = malloc(big + 1024);
	size_t n = 0;
	n += (size_t)sprintf(c + n, "short\n");
	memset(c + n, 'x', 200); n += 200; c[n++] = '\n';
	n += (size_t)sprintf(c + n, "after1\n");
	memset(c + n, 'y', 100); n += 100; c[n++] = '\n';       /* exactly max: kept */
	memset(c + n, 'v', 101); n += 101; c[n++] = '\n';       /* one byte over */
	memset(c + n, 'z', big); n += big; c[n++] = '\n';
	n += (size_t)sprintf(c + n, "after2\n");
	memset(c + n, 'w', 150); n += 150;                      /* no final newline */
	const char *p = write_tmp("toolong.jsonl", c, n);
	wn_reader *r;
	wn_reader_opts o = { .max_line = 100, .http_retries = 0 };
	cr_assert_eq(wn_reader_open(&r, p, &o), 0);
	const char *l;
	size_t len;
	cr_assert_eq(wn_reader_next(r, &l, &len), 1);
	cr_expect_eq(len, 5);
	cr_assert_eq(wn_reader_next(r, &l, &len), WN_ETOOBIG);
	cr_expect_eq(wn_reader_lineno(r), 2);
	cr_expect_neq(strstr(wn_reader_error(r), "100"), NULL, "message: %s", wn_reader_error(r));
	cr_assert_eq(wn_reader_next(r, &l, &len), 1, "reading goes on after a too-long line");
	cr_expect_eq(len, 6);
	cr_expect_eq(memcmp(l, "after1", 6), 0);
	cr_expect_eq(wn_reader_lineno(r), 3);
	cr_assert_eq(wn_reader_next(r, &l, &len), 1, "a line of exactly max_line bytes is kept");
	cr_expect_eq(len, 100);
	cr_assert_eq(wn_reader_next(r, &l, &len), WN_ETOOBIG, "max_line + 1 bytes");
	cr_expect_eq(wn_reader_lineno(r), 5);
	cr_assert_eq(wn_reader_next(r, &l, &len), WN_ETOOBIG);
	cr_expect_eq(wn_reader_lineno(r), 6);
	cr_assert_eq(wn_reader_next(r, &l, &len), 1);
	cr_expect_eq(len, 6);
	cr_expect_eq(memcmp(l, "after2", 6), 0);
	cr_expect_eq(wn_reader_lineno(r), 7);
	cr_assert_eq(wn_reader_next(r, &l, &len), WN_ETOOBIG, "too-long last line");
	cr_expect_eq(wn_reader_lineno(r), 8);
	cr_assert_eq(wn_reader_next(r, &l, &len), 0);
	wn_reader_close(r);
	free(c);
}

Test(read, too_long_line_spanning_chunk_then_short)
{
	/* a too-long line that starts in one chunk and ends in the next, then a
	 * short line starting right after it in the same chunk */
	size_t n = MiB + 8192;
	char *c = malloc(n + 64);
	memset(c, 'q', MiB - 10);
	c[MiB - 10] = '\n';                       /* line 1: kept with max 2 MiB */
	memset(c + MiB - 9, 'r', 5000);          /* line 2: crosses the chunk edge */
	size_t k = MiB - 9 + 5000;
	c[k++] = '\n';
	memcpy(c + k, "ok\n", 3);
	k += 3;
	const char *p = write_tmp("span.jsonl", c, k);
	lines_t L = { 0 };
	cr_assert_eq(read_path(p, 4000, &L, NULL, 0), 0);
	cr_expect_eq(L.ntoobig, 2, "line 1 (1 MiB) and line 2 (5000) exceed 4000");
	cr_assert_eq(L.cnt, 1);
	cr_expect_str_eq(L.v[0], "ok");
	if (L.ntoobig == 2) {
		cr_expect_eq(L.toobig_at[0], 1);
		cr_expect_eq(L.toobig_at[1], 2);
	}
	lines_free(&L);
	free(c);
}

Test(read, line_numbers_and_byte_counts)
{
	size_t n;
	char *c = make_content(7, 3000, 100000, &n);
	const char *p = write_tmp("nums.jsonl", c, n);
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, p, NULL), 0);
	const char *l;
	size_t len;
	uint64_t k = 0, bytes = 0;
	int rc;
	while ((rc = wn_reader_next(r, &l, &len)) == 1) {
		k++;
		cr_assert_eq(wn_reader_lineno(r), k);
		cr_assert_eq(memcmp(l, c + bytes, len), 0, "line %llu", (unsigned long long)k);
		bytes += len + 1;
		cr_assert_leq(wn_reader_data_bytes(r), n);
	}
	cr_assert_eq(rc, 0);
	cr_expect_eq(k, 3000);
	cr_expect_eq(bytes, n);
	cr_expect_eq(wn_reader_data_bytes(r), n);
	cr_expect_eq(wn_reader_raw_bytes(r), n);
	cr_expect_eq(wn_reader_size(r), (int64_t)n);
	wn_reader_close(r);
	free(c);
}

Test(read, stdin_dash)
{
	const char c[] = "one\ntwo\n";
	const char *p = write_tmp("stdin.jsonl", c, sizeof c - 1);
	int fd = open(p, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, 0), 0);
	close(fd);
	lines_t L = { 0 };
	cr_assert_eq(read_path("-", 0, &L, NULL, 0), 0);
	cr_assert_eq(L.cnt, 2);
	cr_expect_str_eq(L.v[0], "one");
	cr_expect_str_eq(L.v[1], "two");
	lines_free(&L);
}

Test(read, pipe_with_tiny_writes)
{
	/* a zstd stream through a pipe, written a byte at a time at first, so
	 * that the magic arrives in pieces */
	size_t n, zn;
	char *c = make_content(11, 2000, 5000, &n);
	char *z = zstd_frame(c, n, 3, 1, &zn);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t i = 0; i < 6; i++) {
			if (write(fds[1], z + i, 1) != 1) _exit(1);
			usleep(2000);
		}
		for (size_t off = 6; off < zn;) {
			size_t k = zn - off < 777 ? zn - off : 777;
			ssize_t w = write(fds[1], z + off, k);
			if (w <= 0) _exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(dup2(fds[0], 0), 0);
	close(fds[0]);
	lines_t got = { 0 }, want = { 0 };
	char codec[16];
	cr_assert_eq(read_path("-", 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "zstd");
	split_lines(c, n, &want);
	expect_same_lines(&got, &want, "pipe");
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	lines_free(&got);
	lines_free(&want);
	free(c);
	free(z);
}

/* ---------------------------------------------------------------- codecs */

Test(read_codec, zstd_and_gzip_equal_plain)
{
	/* many short lines, two lines longer than a chunk, more short lines */
	size_t n, n2;
	char *c = make_content(1, 6000, 200000, &n);
	char *c2 = make_content(2, 3000, 100000, &n2);
	size_t huge = 1500000;
	c = realloc(c, n + 2 * (huge + 1) + n2);
	for (int h = 0; h < 2; h++) {
		for (size_t i = 0; i < huge; i++) c[n + i] = (char)('a' + (i * 13 + (size_t)h) % 26);
		n += huge;
		c[n++] = '\n';
	}
	memcpy(c + n, c2, n2);
	n += n2;
	free(c2);
	lines_t want = { 0 }, got = { 0 };
	split_lines(c, n, &want);
	char codec[16];

	const char *pp = write_tmp("c.jsonl", c, n);
	cr_assert_eq(read_path(pp, 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "plain");
	expect_same_lines(&got, &want, "plain");
	lines_free(&got);

	/* one frame with content size and checksum */
	size_t zn;
	char *z = zstd_frame(c, n, 3, 1, &zn);
	const char *zp = write_tmp("c.jsonl.zst", z, zn);
	cr_assert_eq(read_path(zp, 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "zstd");
	expect_same_lines(&got, &want, "zstd one frame");
	lines_free(&got);
	free(z);

	/* a streamed frame without content size */
	z = zstd_stream(c, n, &zn);
	zp = write_tmp("cs.jsonl.zst", z, zn);
	cr_assert_eq(read_path(zp, 0, &got, codec, sizeof codec), 0);
	expect_same_lines(&got, &want, "zstd streamed");
	lines_free(&got);
	free(z);

	/* the content split (not at line ends) into three frames, with
	 * skippable frames at the start, between and at the end */
	char *m = NULL;
	size_t mn = 0;
	skippable(&m, &mn, 0, "skip me", 7);
	size_t cuts[] = { 0, n / 3 + 17, 2 * n / 3 + 5, n };
	for (int i = 0; i < 3; i++) {
		size_t fn;
		char *f = zstd_frame(c + cuts[i], cuts[i + 1] - cuts[i], 1 + i, i & 1, &fn);
		cat(&m, &mn, f, fn);
		free(f);
		if (i == 0) skippable(&m, &mn, 7, "", 0);
		if (i == 1) skippable(&m, &mn, 15, "\n\n\nnot a line\n", 14);
	}
	skippable(&m, &mn, 3, "end", 3);
	zp = write_tmp("multi.jsonl.zst", m, mn);
	cr_assert_eq(read_path(zp, 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "zstd", "a skippable frame first still means zstd");
	expect_same_lines(&got, &want, "zstd multi-frame");
	lines_free(&got);
	free(m);

	/* gzip, one member */
	size_t gn;
	char *g = gzip_member(c, n, &gn);
	const char *gp = write_tmp("c.jsonl.gz", g, gn);
	cr_assert_eq(read_path(gp, 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "gzip");
	expect_same_lines(&got, &want, "gzip");
	lines_free(&got);
	free(g);

	/* gzip, two concatenated members split mid-line, and an empty member */
	char *gg = NULL;
	size_t ggn = 0, half = n / 2 + 3;
	g = gzip_member(c, half, &gn);
	cat(&gg, &ggn, g, gn);
	free(g);
	g = gzip_member("", 0, &gn);
	cat(&gg, &ggn, g, gn);
	free(g);
	g = gzip_member(c + half, n - half, &gn);
	cat(&gg, &ggn, g, gn);
	free(g);
	gp = write_tmp("two.jsonl.gz", gg, ggn);
	cr_assert_eq(read_path(gp, 0, &got, codec, sizeof codec), 0);
	cr_expect_str_eq(codec, "gzip");
	expect_same_lines(&got, &want, "gzip two members");
	lines_free(&got);
	free(gg);

	lines_free(&want);
	free(c);
}

Test(read_codec, codec_is_by_content_not_name)
{
	const char c[] = "{\"a\":1}\n{\"b\":2}\n";
	size_t zn, gn;
	char *z = zstd_frame(c, sizeof c - 1, 3, 0, &zn);
	char *g = gzip_member(c, sizeof c - 1, &gn);
	struct { const char *name; const char *data; size_t n; const char *codec; } t[] = {
		{ "zst-named.gz", z, zn, "zstd" },
		{ "gz-named.jsonl", g, gn, "gzip" },
		{ "plain-named.zst", c, sizeof c - 1, "plain" },
	};
	for (int i = 0; i < 3; i++) {
		const char *p = write_tmp(t[i].name, t[i].data, t[i].n);
		lines_t L = { 0 };
		char codec[16];
		cr_assert_eq(read_path(p, 0, &L, codec, sizeof codec), 0, "%s", t[i].name);
		cr_expect_str_eq(codec, t[i].codec, "%s", t[i].name);
		cr_assert_eq(L.cnt, 2, "%s", t[i].name);
		cr_expect_str_eq(L.v[1], "{\"b\":2}");
		lines_free(&L);
	}
	free(z);
	free(g);
}

Test(read_codec, empty_compressed_streams)
{
	size_t zn, gn;
	char *z = zstd_frame("", 0, 3, 1, &zn);
	char *g = gzip_member("", 0, &gn);
	lines_t L = { 0 };
	cr_expect_eq(read_path(write_tmp("e.zst", z, zn), 0, &L, NULL, 0), 0);
	cr_expect_eq(L.cnt, 0);
	cr_expect_eq(read_path(write_tmp("e.gz", g, gn), 0, &L, NULL, 0), 0);
	cr_expect_eq(L.cnt, 0);
	/* only a skippable frame */
	char *s = NULL;
	size_t sn = 0;
	skippable(&s, &sn, 0, "xx", 2);
	char codec[16];
	cr_expect_eq(read_path(write_tmp("s.zst", s, sn), 0, &L, codec, sizeof codec), 0);
	cr_expect_eq(L.cnt, 0);
	cr_expect_str_eq(codec, "zstd");
	lines_free(&L);
	free(z);
	free(g);
	free(s);
}

/* ---------------------------------------------------------------- truncated, corrupt */

/* Read a truncated stream and check: complete lines are an exact prefix of
 * the original lines, their number is what the codec can decode, the end
 * is WN_ETRUNC, and the message says "truncated" and the line count. */
static void check_truncated(const char *path, const lines_t *want, size_t expect_lines,
			    const char *what)
{
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, path, NULL), 0);
	lines_t got = { 0 };
	int rc = drain(r, &got);
	cr_assert_eq(rc, WN_ETRUNC, "%s: end %d (%s), want WN_ETRUNC", what, rc,
		     wn_strerror(rc));
	cr_assert_eq(got.ntoobig, 0);
	cr_assert_leq(got.cnt, want->cnt, "%s", what);
	for (size_t i = 0; i < got.cnt; i++) {
		cr_assert_eq(got.n[i], want->n[i], "%s: line %zu is %zu bytes, want %zu (a cut line?)",
			     what, i + 1, got.n[i], want->n[i]);
		cr_assert_eq(memcmp(got.v[i], want->v[i], got.n[i]), 0, "%s: line %zu", what, i + 1);
	}
	cr_assert_eq(got.cnt, expect_lines, "%s: %zu complete lines returned, want %zu", what,
		     got.cnt, expect_lines);
	const char *msg = wn_reader_error(r);
	cr_expect_neq(strstr(msg, "truncated"), NULL, "%s: message '%s'", what, msg);
	cr_expect(has_number(msg, got.cnt), "%s: message '%s' lacks the count %zu", what, msg,
		  got.cnt);
	/* the error is final */
	const char *l;
	size_t n;
	int again = wn_reader_next(r, &l, &n);
	cr_expect(again < 0, "%s: after the error next() gives %d", what, again);
	wn_reader_close(r);
	lines_free(&got);
}

Test(read_broken, truncated_zstd)
{
	size_t n, zn;
	char *c = make_content(3, 6000, 200000, &n);
	lines_t want = { 0 };
	split_lines(c, n, &want);
	char *z = zstd_frame(c, n, 3, 1, &zn);
	size_t cuts[] = { zn / 2, zn / 3, zn - 1, zn - 4, zn - 5, 9, 5, (zn * 9) / 10 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "zstd cut at %zu of %zu", cuts[i], zn);
		const char *p = write_tmp("t.jsonl.zst", z, cuts[i]);
		check_truncated(p, &want, zstd_reference_newlines(z, cuts[i]), what);
	}
	/* multi-frame: cut inside the second frame keeps every line of the first */
	size_t f1n, f2n, half = n / 2;
	while (c[half - 1] != '\n') half++;
	char *f1 = zstd_frame(c, half, 3, 0, &f1n);
	char *f2 = zstd_frame(c + half, n - half, 3, 0, &f2n);
	char *m = NULL;
	size_t mn = 0;
	cat(&m, &mn, f1, f1n);
	cat(&m, &mn, f2, f2n / 2);
	const char *p = write_tmp("t2.jsonl.zst", m, mn);
	size_t first = 0;
	for (size_t i = 0; i < half; i++) first += c[i] == '\n';
	size_t ref = zstd_reference_newlines(m, mn);
	cr_assert_geq(ref, first);
	check_truncated(p, &want, ref, "zstd second frame cut");
	free(m);
	free(f1);
	free(f2);
	free(z);
	free(c);
	lines_free(&want);
}

Test(read_broken, truncated_gzip)
{
	size_t n, gn;
	char *c = make_content(5, 6000, 200000, &n);
	lines_t want = { 0 };
	split_lines(c, n, &want);
	char *g = gzip_member(c, n, &gn);
	size_t cuts[] = { gn / 2, gn / 3, gn - 1, gn - 4, gn - 8, 11, 4, (gn * 9) / 10 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "gzip cut at %zu of %zu", cuts[i], gn);
		const char *p = write_tmp("t.jsonl.gz", g, cuts[i]);
		check_truncated(p, &want, gzip_reference_newlines(g, cuts[i]), what);
	}
	/* second member cut */
	size_t half = n / 2, g1n, g2n;
	while (c[half - 1] != '\n') half++;
	char *g1 = gzip_member(c, half, &g1n);
	char *g2 = gzip_member(c + half, n - half, &g2n);
	char *m = NULL;
	size_t mn = 0;
	cat(&m, &mn, g1, g1n);
	cat(&m, &mn, g2, g2n / 2);
	const char *p = write_tmp("t2.jsonl.gz", m, mn);
	size_t ref = gzip_reference_newlines(m, mn);
	size_t first = 0;
	for (size_t i = 0; i < half; i++) first += c[i] == '\n';
	cr_assert_geq(ref, first);
	check_truncated(p, &want, ref, "gzip second member cut");
	free(m);
	free(g1);
	free(g2);
	free(g);
	free(c);
	lines_free(&want);
}

Test(read_broken, truncated_partial_line_not_returned)
{
	/* one small frame whose decoded data is whole but the checksum is cut:
	 * the last line has no '\n', so it would be returned if the stream were
	 * complete; truncated, it must not be */
	const char c[] = "{\"a\":1}\n{\"b\":2}\n{\"partial\":";
	size_t zn, gn;
	char *z = zstd_frame(c, sizeof c - 1, 3, 1, &zn);
	lines_t want = { 0 };
	split_lines(c, sizeof c - 1, &want);
	check_truncated(write_tmp("p.zst", z, zn - 2), &want, 2, "zstd checksum cut");
	char *g = gzip_member(c, sizeof c - 1, &gn);
	check_truncated(write_tmp("p.gz", g, gn - 3), &want, 2, "gzip trailer cut");
	lines_free(&want);
	free(z);
	free(g);
}

Test(read_broken, corrupt_zstd)
{
	size_t n, zn;
	char *c = make_content(9, 4000, 20000, &n);
	char *z = zstd_frame(c, n, 3, 1, &zn);
	tu_rng r = { 99 };
	char *bad = malloc(zn);
	for (int it = 0; it < 40; it++) {
		memcpy(bad, z, zn);
		size_t at = zn / 4 + tu_below(&r, (uint32_t)(zn / 2));
		int k = 1 + (int)tu_below(&r, 8);
		for (int j = 0; j < k && at + (size_t)j < zn; j++) bad[at + (size_t)j] ^= (char)(1 + tu_below(&r, 255));
		const char *p = write_tmp("bad.jsonl.zst", bad, zn);
		lines_t L = { 0 };
		int rc = read_path(p, 0, &L, NULL, 0);
		cr_assert(rc == WN_ECORRUPT || rc == WN_ETRUNC,
			  "corruption at %zu (%d bytes): end %d (%s), want corrupt or truncated", at, k,
			  rc, wn_strerror(rc));
		lines_free(&L);
	}
	/* garbage after a complete frame */
	char *m = NULL;
	size_t mn = 0;
	cat(&m, &mn, z, zn);
	cat(&m, &mn, "this is not zstd\n", 17);
	lines_t L = { 0 };
	int rc = read_path(write_tmp("tail.zst", m, mn), 0, &L, NULL, 0);
	cr_expect(rc == WN_ECORRUPT || rc == WN_ETRUNC, "garbage after frame: %d", rc);
	lines_free(&L);
	free(m);
	free(bad);
	free(z);
	free(c);
}

Test(read_broken, corrupt_gzip)
{
	size_t n, gn;
	char *c = make_content(13, 4000, 20000, &n);
	char *g = gzip_member(c, n, &gn);
	tu_rng r = { 77 };
	char *bad = malloc(gn);
	for (int it = 0; it < 40; it++) {
		memcpy(bad, g, gn);
		size_t at = gn / 4 + tu_below(&r, (uint32_t)(gn / 2));
		int k = 1 + (int)tu_below(&r, 8);
		for (int j = 0; j < k && at + (size_t)j < gn; j++) bad[at + (size_t)j] ^= (char)(1 + tu_below(&r, 255));
		lines_t L = { 0 };
		int rc = read_path(write_tmp("bad.jsonl.gz", bad, gn), 0, &L, NULL, 0);
		cr_assert(rc == WN_ECORRUPT || rc == WN_ETRUNC,
			  "corruption at %zu: end %d (%s), want corrupt or truncated", at, rc,
			  wn_strerror(rc));
		lines_free(&L);
	}
	/* a corrupt CRC in the trailer */
	memcpy(bad, g, gn);
	bad[gn - 6] ^= 0x55;
	lines_t L = { 0 };
	int rc = read_path(write_tmp("crc.gz", bad, gn), 0, &L, NULL, 0);
	cr_expect_eq(rc, WN_ECORRUPT, "bad CRC: %d", rc);
	lines_free(&L);
	free(bad);
	free(g);
	free(c);
}

Test(read_broken, nonexistent_file)
{
	wn_reader *r = NULL;
	int rc = wn_reader_open(&r, tu_path("does-not-exist.jsonl"), NULL);
	cr_assert_eq(rc, WN_EIO);
	cr_assert_not_null(r);
	cr_expect_neq(wn_reader_error(r)[0], 0, "a message says why");
	const char *l;
	size_t n;
	cr_expect_eq(wn_reader_next(r, &l, &n), WN_EIO, "next() repeats the error");
	wn_reader_close(r);
}

Test(read_broken, directory)
{
	wn_reader *r = NULL;
	int rc = wn_reader_open(&r, tu_dir, NULL);
	cr_expect_eq(rc, WN_EIO);
	cr_assert_not_null(r);
	cr_expect_neq(wn_reader_error(r)[0], 0);
	const char *l;
	size_t n;
	cr_expect(wn_reader_next(r, &l, &n) < 0);
	wn_reader_close(r);
	wn_reader_close(NULL);
}

Test(read_broken, unreadable_file)
{
	if (geteuid() == 0) {
		tu_rmdir(); /* .fini does not run after a skip */
		cr_skip_test("root reads everything");
	}
	const char *p = write_tmp("noperm.jsonl", "a\n", 2);
	chmod(p, 0);
	wn_reader *r = NULL;
	cr_expect_eq(wn_reader_open(&r, p, NULL), WN_EIO);
	wn_reader_close(r);
}

/* ---------------------------------------------------------------- early close */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(read, close_early_does_not_hang, .timeout = 30)
{
	/* 24 MB: far more than the reader's ring holds */
	size_t n = 24 * MiB;
	char *c = malloc(n);
	for (size_t i = 0; i < n; i++) c[i] = (i % 100 == 99) ? '\n' : (char)('a' + i % 26);
	size_t zn, gn;
	char *z = zstd_frame(c, n, 1, 1, &zn);
	char *g = gzip_member(c, n, &gn);
	const char *paths[] = { write_tmp("big.jsonl", c, n), write_tmp("big.jsonl.zst", z, zn),
				write_tmp("big.jsonl.gz", g, gn) };
	for (int i = 0; i < 3; i++) {
		for (int lines = 0; lines < 3; lines++) {
			double t0 = now();
			wn_reader *r;
			cr_assert_eq(wn_reader_open(&r, paths[i], NULL), 0);
			const char *l;
			size_t len;
			int want = lines == 0 ? 0 : lines == 1 ? 1 : 50000;
			for (int k = 0; k < want; k++) {
				cr_assert_eq(wn_reader_next(r, &l, &len), 1);
				cr_assert_eq(len, 99);
			}
			if (lines == 0) usleep(50000); /* let the producer fill the ring */
			wn_reader_close(r);
			cr_expect_lt(now() - t0, 10.0, "%s: close took too long", paths[i]);
		}
	}
	free(c);
	free(z);
	free(g);
}

Test(read, many_readers_open_and_close)
{
	const char *p = write_tmp("small.jsonl", "a\nb\nc\n", 6);
	for (int i = 0; i < 200; i++) {
		wn_reader *r;
		cr_assert_eq(wn_reader_open(&r, p, NULL), 0);
		if (i % 2) {
			const char *l;
			size_t n;
			cr_assert_eq(wn_reader_next(r, &l, &n), 1);
		}
		wn_reader_close(r);
	}
}

Test(read, closes_its_file_even_on_fd_0)
{
	/* with stdin closed, the input file gets descriptor 0; the reader must
	 * still close it (it is not stdin: the path was not "-") */
	const char *p = write_tmp("fd0.jsonl", "a\nb\n", 4);
	close(0);
	lines_t L = { 0 };
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, p, NULL), 0);
	cr_assert_neq(fcntl(0, F_GETFD), -1, "the input should have taken fd 0");
	cr_assert_eq(drain(r, &L), 0);
	cr_expect_eq(L.cnt, 2);
	wn_reader_close(r);
	cr_expect_eq(fcntl(0, F_GETFD), -1, "wn_reader_close leaked fd 0 (the input file)");
	lines_free(&L);
}

Test(read, crlf_line_of_exactly_max_line_is_kept)
{
	/* max_line counts the line as returned: "\r\n" loses the "\r", so a
	 * CRLF line with max_line bytes of content is accepted, like the same
	 * line ending in "\n" alone */
	char c[64];
	memset(c, 'a', 10);
	memcpy(c + 10, "\r\n", 2);
	memset(c + 12, 'b', 10);
	memcpy(c + 22, "\n", 1);
	lines_t L = { 0 };
	int rc = read_path(write_tmp("crlfmax.jsonl", c, 23), 10, &L, NULL, 0);
	cr_assert_eq(rc, 0);
	cr_expect_eq(L.ntoobig, 0, "a 10-byte CRLF line refused with max_line 10");
	cr_expect_eq(L.cnt, 2);
	lines_free(&L);
}

/* ---------------------------------------------------------------- http */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

enum { H_OK, H_404, H_500, H_HALF, H_RANGE, H_IGNORE_RANGE };

static pid_t http_pid = -1;

static void http_stop(void)
{
	if (http_pid > 0) {
		kill(http_pid, SIGKILL);
		waitpid(http_pid, NULL, 0);
		http_pid = -1;
	}
	tu_rmdir();
}

TestSuite(read_http, .init = setup, .fini = http_stop, .timeout = 60);

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k <= 0) return;
		c += k;
		n -= (size_t)k;
	}
}

/* Serve `body` to `nconn` connections in turn, each as `modes[k]` says;
 * the port is returned.  The server is a child process stopped by
 * http_stop(). */
static int http_serve(const char *body, size_t n, const int *modes, int nconn)
{
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(lfd, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(lfd, 16), 0);
	socklen_t al = sizeof a;
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	http_pid = fork();
	cr_assert_geq(http_pid, 0);
	if (http_pid == 0) {
		for (int k = 0; k < nconn; k++) {
			int c = accept(lfd, NULL, NULL);
			if (c < 0) _exit(1);
			char req[8192];
			size_t rl = 0;
			while (rl < sizeof req - 1) {
				ssize_t got = read(c, req + rl, sizeof req - 1 - rl);
				if (got <= 0) break;
				rl += (size_t)got;
				req[rl] = 0;
				if (strstr(req, "\r\n\r\n")) break;
			}
			req[rl] = 0;
			long long from = -1;
			const char *rg = strcasestr(req, "\r\nRange: bytes=");
			if (rg) from = atoll(rg + 15);
			char h[512];
			int hl;
			switch (modes[k]) {
			case H_404:
				hl = snprintf(h, sizeof h, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
					      "Connection: close\r\n\r\nnot found");
				send_all(c, h, (size_t)hl);
				break;
			case H_500:
				hl = snprintf(h, sizeof h, "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n"
					      "Connection: close\r\n\r\noops");
				send_all(c, h, (size_t)hl);
				break;
			case H_HALF:
				hl = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
					      "Accept-Ranges: bytes\r\nConnection: close\r\n\r\n", n);
				send_all(c, h, (size_t)hl);
				send_all(c, body, n / 2);
				break;
			case H_RANGE:
				if (from > 0 && (size_t)from < n) {
					hl = snprintf(h, sizeof h, "HTTP/1.1 206 Partial Content\r\n"
						      "Content-Range: bytes %lld-%zu/%zu\r\n"
						      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
						      from, n - 1, n, n - (size_t)from);
					send_all(c, h, (size_t)hl);
					send_all(c, body + from, n - (size_t)from);
					break;
				}
				/* fall through */
			default:
				hl = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
					      "Connection: close\r\n\r\n", n);
				send_all(c, h, (size_t)hl);
				send_all(c, body, n);
			}
			shutdown(c, SHUT_WR);
			char sink[256];
			while (read(c, sink, sizeof sink) > 0) {}
			close(c);
		}
		_exit(0);
	}
	close(lfd);
	return ntohs(a.sin_port);
}

static int read_url(int port, const char *path, int retries, lines_t *L, char *msg, size_t msglen)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", port, path);
	wn_reader *r;
	wn_reader_opts o = { .max_line = 0, .http_retries = retries };
	int rc = wn_reader_open(&r, url, &o);
	if (!rc) rc = drain(r, L);
	if (msg) snprintf(msg, msglen, "%s", wn_reader_error(r));
	wn_reader_close(r);
	return rc;
}

static char *http_body(size_t *n, size_t *zn, lines_t *want)
{
	char *c = make_content(21, 3000, 3000, n);
	split_lines(c, *n, want);
	char *z = zstd_frame(c, *n, 3, 1, zn);
	free(c);
	return z;
}

/* Serve the test body with the given sequence of behaviours and require
 * that the reader gets every line back. */
static void expect_http_read(const int *modes, int nmodes, int retries, const char *what)
{
	setenv("NO_PROXY", "*", 1);
	size_t n, zn;
	lines_t want = { 0 }, got = { 0 };
	char *z = http_body(&n, &zn, &want);
	int port = http_serve(z, zn, modes, nmodes);
	char msg[512];
	int rc = read_url(port, "a.zst", retries, &got, msg, sizeof msg);
	cr_assert_eq(rc, 0, "%s: rc %d: %s", what, rc, msg);
	expect_same_lines(&got, &want, what);
	lines_free(&got);
	lines_free(&want);
	free(z);
}

Test(read_http, plain_200)
{
	int modes[] = { H_OK };
	expect_http_read(modes, 1, 0, "http");
}

Test(read_http, status_404_is_ehttp)
{
	setenv("NO_PROXY", "*", 1);
	int modes[] = { H_404, H_404, H_404 };
	int port = http_serve("", 0, modes, 3);
	lines_t got = { 0 };
	char msg[512];
	int rc = read_url(port, "missing.jsonl", 2, &got, msg, sizeof msg);
	cr_expect_eq(rc, WN_EHTTP, "rc %d: %s", rc, msg);
	cr_expect_neq(strstr(msg, "404"), NULL, "message: %s", msg);
	cr_expect_eq(got.cnt, 0);
	lines_free(&got);
}

Test(read_http, status_500_is_retried)
{
	int modes[] = { H_500, H_OK };
	expect_http_read(modes, 2, 2, "http after a 500");
}

Test(read_http, cut_body_resumes_with_range)
{
	int modes[] = { H_HALF, H_RANGE };
	expect_http_read(modes, 2, 2, "http resumed with 206");
}

Test(read_http, cut_body_resumes_when_server_ignores_range)
{
	/* shard_read.c: "if the server answers 200 instead of 206, skips what
	 * was already decoded" */
	int modes[] = { H_HALF, H_IGNORE_RANGE };
	expect_http_read(modes, 2, 2, "http resumed with 200");
}

Test(read_http, cut_body_without_retries_is_an_error)
{
	setenv("NO_PROXY", "*", 1);
	size_t n, zn;
	lines_t want = { 0 }, got = { 0 };
	char *z = http_body(&n, &zn, &want);
	int modes[] = { H_HALF };
	int port = http_serve(z, zn, modes, 1);
	char msg[512];
	int rc = read_url(port, "a.zst", 0, &got, msg, sizeof msg);
	cr_expect(rc == WN_ENET || rc == WN_ETRUNC, "rc %d: %s", rc, msg);
	cr_expect_lt(got.cnt, want.cnt);
	for (size_t i = 0; i < got.cnt; i++)
		cr_assert_eq(got.n[i], want.n[i], "line %zu cut", i + 1);
	lines_free(&got);
	lines_free(&want);
	free(z);
}

Test(read_http, connection_refused_is_enet)
{
	setenv("NO_PROXY", "*", 1);
	/* a port nobody listens on: bind, note, close */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	lines_t got = { 0 };
	char msg[512];
	int rc = read_url(ntohs(a.sin_port), "x", 1, &got, msg, sizeof msg);
	cr_expect_eq(rc, WN_ENET, "rc %d: %s", rc, msg);
	cr_expect_neq(msg[0], 0);
	lines_free(&got);
}
