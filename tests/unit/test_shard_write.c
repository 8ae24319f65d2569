/*
 * test_shard_write.c - lib/shard_write.c: codec by name, round trips through
 * the reader (and the reference libraries), the temporary-then-rename
 * protocol, abort, write errors, compression levels.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "../../lib/err.h"
#include "../../lib/shard.h"
#include "testutil.h"

static void setup(void) { tu_mkdtemp(); }
static void teardown(void) { tu_rmdir(); }

TestSuite(write, .init = setup, .fini = teardown, .timeout = 60);

/* ---------------------------------------------------------------- helpers */

/* Random JSONL-ish lines (no '\n' or '\r' inside). */
static char *random_lines(uint64_t seed, size_t count, size_t *outn, size_t *nlines)
{
	tu_rng r = { seed };
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (size_t i = 0; i < count; i++) {
		size_t len = tu_below(&r, 10) == 0 ? tu_below(&r, 30000) : tu_below(&r, 400);
		while (n + 2 * len + 64 > cap) { cap *= 2; b = realloc(b, cap); }
		n += (size_t)sprintf(b + n, "{\"id\":%zu,\"text\":\"", i);
		for (size_t j = 0; j < len; j++) {
			unsigned c = tu_below(&r, 96);
			if (c == 95) {
				b[n++] = (char)0xC3;
				b[n++] = (char)0xA9;
			} else {
				char ch = (char)(' ' + c);
				b[n++] = (ch == '"' || ch == '\\') ? 'q' : ch;
			}
		}
		b[n++] = '"';
		b[n++] = '}';
		b[n++] = '\n';
	}
	*outn = n;
	*nlines = count;
	return b;
}

/* Write `c` through a writer at `path` in pieces of random size. */
static int write_pieces(const char *path, const wn_writer_opts *o, const char *c, size_t n,
			uint64_t seed, char *err, size_t errlen)
{
	wn_writer *w = NULL;
	int rc = wn_writer_open(&w, path, o);
	cr_assert_eq(rc, 0, "open %s: %d", path, rc);
	tu_rng r = { seed };
	size_t off = 0;
	while (off < n) {
		size_t k;
		switch (tu_below(&r, 4)) {
		case 0: k = tu_below(&r, 16); break;
		case 1: k = tu_below(&r, 5000); break;
		case 2: k = tu_below(&r, 300000); break;
		default: k = (1u << 20) + tu_below(&r, 1u << 20); /* larger than the stage */
		}
		if (k > n - off) k = n - off;
		rc = wn_writer_write(w, c + off, k);
		cr_assert_eq(rc, 0, "write: %d", rc);
		off += k;
	}
	cr_assert_eq(wn_writer_bytes(w), n);
	return wn_writer_close(w, err, errlen);
}

/* Read `path` back with the reader into one buffer (lines + '\n'). */
static char *read_back(const char *path, size_t *outn, char *codec, size_t clen)
{
	wn_reader *r;
	cr_assert_eq(wn_reader_open(&r, path, NULL), 0, "open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	const char *l;
	size_t len;
	int rc;
	while ((rc = wn_reader_next(r, &l, &len)) == 1) {
		while (n + len + 1 > cap) { cap *= 2; b = realloc(b, cap); }
		memcpy(b + n, l, len);
		n += len;
		b[n++] = '\n';
	}
	cr_assert_eq(rc, 0, "reading %s back: %d (%s)", path, rc, wn_reader_error(r));
	if (codec) snprintf(codec, clen, "%s", wn_reader_codec(r));
	wn_reader_close(r);
	*outn = n;
	return b;
}

/* Decompress a whole file with the reference libraries. */
static char *ref_decompress(const char *path, enum wn_codec codec, size_t *outn)
{
	size_t fn;
	char *f = tu_read_file(path, &fn);
	cr_assert_not_null(f);
	if (codec == WN_CODEC_PLAIN) { *outn = fn; return f; }
	size_t cap = 1 << 20, n = 0;
	char *o = malloc(cap);
	if (codec == WN_CODEC_ZSTD) {
		ZSTD_DStream *d = ZSTD_createDStream();
		ZSTD_inBuffer in = { f, fn, 0 };
		size_t last = 1;
		for (;;) {
			if (n == cap) { cap *= 2; o = realloc(o, cap); }
			ZSTD_outBuffer out = { o, cap, n };
			last = ZSTD_decompressStream(d, &out, &in);
			cr_assert(!ZSTD_isError(last), "reference zstd: %s", ZSTD_getErrorName(last));
			n = out.pos;
			if (in.pos == in.size && out.pos < out.size) break;
		}
		cr_assert_eq(last, 0, "reference zstd: frame incomplete");
		ZSTD_freeDStream(d);
	} else {
		z_stream z;
		memset(&z, 0, sizeof z);
		inflateInit2(&z, 16 + MAX_WBITS);
		z.next_in = (unsigned char *)f;
		z.avail_in = (uInt)fn;
		int zr;
		do {
			if (n == cap) { cap *= 2; o = realloc(o, cap); }
			z.next_out = (unsigned char *)o + n;
			z.avail_out = (uInt)(cap - n);
			zr = inflate(&z, Z_NO_FLUSH);
			n = cap - z.avail_out;
			cr_assert(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR, "inflate %d", zr);
		} while (zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && z.avail_in == 0));
		cr_assert_eq(zr, Z_STREAM_END, "reference gzip: stream incomplete");
		cr_assert_eq(z.avail_in, 0, "reference gzip: bytes after the member");
		inflateEnd(&z);
	}
	free(f);
	*outn = n;
	return o;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---------------------------------------------------------------- codec by name */

Test(write, codec_from_name)
{
	cr_expect_eq(wn_codec_from_name("a.jsonl.zst"), WN_CODEC_ZSTD);
	cr_expect_eq(wn_codec_from_name("a.zstd"), WN_CODEC_ZSTD);
	cr_expect_eq(wn_codec_from_name("/x/y/a.jsonl.gz"), WN_CODEC_GZIP);
	cr_expect_eq(wn_codec_from_name("a.zst.gz"), WN_CODEC_GZIP);
	cr_expect_eq(wn_codec_from_name("a.gz.jsonl"), WN_CODEC_PLAIN);
	cr_expect_eq(wn_codec_from_name("a.jsonl"), WN_CODEC_PLAIN);
	cr_expect_eq(wn_codec_from_name("zst"), WN_CODEC_PLAIN);
	cr_expect_eq(wn_codec_from_name(""), WN_CODEC_PLAIN);
	cr_expect_eq(wn_codec_from_name(NULL), WN_CODEC_PLAIN);
}

/* ---------------------------------------------------------------- round trips */

static void round_trip(const char *name, enum wn_codec want_codec, const char *want_name,
		       const unsigned char *magic, size_t nmagic)
{
	size_t n, nl;
	char *c = random_lines(0xABCDEF, 6000, &n, &nl);
	const char *path = tu_path(name);
	char err[256] = "";
	wn_writer_opts o = { 0, 0 };
	cr_assert_eq(write_pieces(path, &o, c, n, 5, err, sizeof err), 0, "close: %s", err);
	/* the file starts with the codec's magic */
	size_t fn;
	char *f = tu_read_file(path, &fn);
	cr_assert_geq(fn, nmagic);
	cr_expect_eq(memcmp(f, magic, nmagic), 0, "%s: magic", name);
	if (want_codec != WN_CODEC_PLAIN) cr_expect_lt(fn, n, "%s: compressed", name);
	free(f);
	/* our reader gives the lines back */
	size_t bn;
	char codec[16];
	char *b = read_back(path, &bn, codec, sizeof codec);
	cr_expect_str_eq(codec, want_name);
	cr_assert_eq(bn, n, "%s: %zu bytes back, want %zu", name, bn, n);
	cr_assert_eq(memcmp(b, c, n), 0, "%s: content differs", name);
	free(b);
	/* and so do the reference libraries: it is a standard stream */
	size_t rn;
	char *rb = ref_decompress(path, want_codec, &rn);
	cr_assert_eq(rn, n);
	cr_assert_eq(memcmp(rb, c, n), 0);
	free(rb);
	free(c);
	/* nothing else is left in the directory */
	cr_expect_eq(tu_count_entries(tu_dir), 1, "%s: a temporary was left behind", name);
}

Test(write, round_trip_plain)
{
	round_trip("out.jsonl", WN_CODEC_PLAIN, "plain", (const unsigned char *)"{\"id\":0", 7);
}

Test(write, round_trip_zstd)
{
	static const unsigned char m[] = { 0x28, 0xB5, 0x2F, 0xFD };
	round_trip("out.jsonl.zst", WN_CODEC_ZSTD, "zstd", m, 4);
}

Test(write, round_trip_zstd_long_suffix)
{
	static const unsigned char m[] = { 0x28, 0xB5, 0x2F, 0xFD };
	round_trip("out.jsonl.zstd", WN_CODEC_ZSTD, "zstd", m, 4);
}

Test(write, round_trip_gzip)
{
	static const unsigned char m[] = { 0x1F, 0x8B };
	round_trip("out.jsonl.gz", WN_CODEC_GZIP, "gzip", m, 2);
}

Test(write, round_trip_zstd_single_thread_and_many)
{
	size_t n, nl;
	char *c = random_lines(77, 3000, &n, &nl);
	int threads[] = { 1, 4 };
	for (int i = 0; i < 2; i++) {
		const char *path = tu_path(i ? "t4.zst" : "t1.zst");
		wn_writer_opts o = { 0, threads[i] };
		char err[256] = "";
		cr_assert_eq(write_pieces(path, &o, c, n, 9 + (uint64_t)i, err, sizeof err), 0, "%s", err);
		size_t bn;
		char *b = read_back(path, &bn, NULL, 0);
		cr_assert_eq(bn, n);
		cr_assert_eq(memcmp(b, c, n), 0);
		free(b);
	}
	free(c);
}

Test(write, empty_output)
{
	const char *names[] = { "e.jsonl", "e.jsonl.zst", "e.jsonl.gz" };
	enum wn_codec codecs[] = { WN_CODEC_PLAIN, WN_CODEC_ZSTD, WN_CODEC_GZIP };
	for (int i = 0; i < 3; i++) {
		const char *path = tu_path(names[i]);
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
		cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
		cr_assert(tu_exists(path), "%s: an empty output still exists", names[i]);
		size_t bn;
		char *b = read_back(path, &bn, NULL, 0);
		cr_expect_eq(bn, 0);
		free(b);
		char *rb = ref_decompress(path, codecs[i], &bn);
		cr_expect_eq(bn, 0);
		free(rb);
	}
}

Test(write, binary_bytes_survive)
{
	/* every byte value, also NUL, in a zstd and a gzip file */
	char c[256 * 4];
	for (int i = 0; i < 1024; i++) c[i] = (char)(i & 255);
	const char *names[] = { "bin.zst", "bin.gz", "bin" };
	enum wn_codec codecs[] = { WN_CODEC_ZSTD, WN_CODEC_GZIP, WN_CODEC_PLAIN };
	for (int i = 0; i < 3; i++) {
		const char *path = tu_path(names[i]);
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
		cr_assert_eq(wn_writer_write(w, c, sizeof c), 0);
		cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
		size_t n;
		char *b = ref_decompress(path, codecs[i], &n);
		cr_assert_eq(n, sizeof c);
		cr_assert_eq(memcmp(b, c, sizeof c), 0);
		free(b);
	}
}

/* ---------------------------------------------------------------- atomic rename */

Test(write, final_name_appears_only_at_close)
{
	const char *names[] = { "final.jsonl", "final.jsonl.zst", "final.jsonl.gz" };
	for (int i = 0; i < 3; i++) {
		const char *path = tu_path(names[i]);
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
		/* enough to go past the stage buffer, so bytes reach the disk */
		char *c = malloc(3 << 20);
		memset(c, 'x', 3 << 20);
		for (size_t k = 99; k < (3u << 20); k += 100) c[k] = '\n';
		cr_assert_eq(wn_writer_write(w, c, 3 << 20), 0);
		free(c);
		cr_assert(!tu_exists(path), "%s exists before close", names[i]);
		/* a temporary beside it does */
		cr_assert_eq(tu_count_entries(tu_dir), 1, "one temporary in the folder");
		DIR *d = opendir(tu_dir);
		struct dirent *e;
		char tmpname[512] = "";
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				snprintf(tmpname, sizeof tmpname, "%s", e->d_name);
		closedir(d);
		cr_expect_str_neq(tmpname, names[i]);
		cr_expect_neq(strstr(tmpname, names[i]), NULL, "temporary '%s' is named after the target",
			      tmpname);
		if (i == 0) /* compressors may still hold the bytes */
			cr_expect_gt(file_size(tu_path(tmpname)), 0, "bytes went to the temporary");
		char err[256] = "";
		cr_assert_eq(wn_writer_close(w, err, sizeof err), 0, "%s", err);
		cr_assert(tu_exists(path), "%s missing after close", names[i]);
		cr_assert(!tu_exists(tu_path(tmpname)), "temporary %s left after close", tmpname);
		struct stat st;
		cr_assert_eq(stat(path, &st), 0);
		cr_expect_eq(st.st_mode & 0777, 0644, "mode %o", st.st_mode & 0777);
		cr_assert_eq(unlink(path), 0);
	}
}

Test(write, replace_existing_file_atomically)
{
	const char *path = tu_path("exists.jsonl");
	cr_assert_eq(tu_write_file(path, "old\n", 4), 0);
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
	cr_assert_eq(wn_writer_write(w, "new\n", 4), 0);
	size_t n;
	char *b = tu_read_file(path, &n);
	cr_expect_str_eq(b, "old\n", "the old file is intact while writing");
	free(b);
	cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
	b = tu_read_file(path, &n);
	cr_expect_str_eq(b, "new\n");
	free(b);
	cr_expect_eq(tu_count_entries(tu_dir), 1);
}

Test(write, abort_leaves_nothing)
{
	const char *names[] = { "ab.jsonl", "ab.jsonl.zst", "ab.jsonl.gz" };
	for (int i = 0; i < 3; i++) {
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, tu_path(names[i]), NULL), 0);
		char *c = calloc(1, 2 << 20);
		cr_assert_eq(wn_writer_write(w, c, 2 << 20), 0);
		free(c);
		cr_assert_eq(tu_count_entries(tu_dir), 1);
		wn_writer_abort(w);
		cr_expect_eq(tu_count_entries(tu_dir), 0, "%s: abort left a file", names[i]);
	}
	/* abort does not touch an existing target */
	const char *path = tu_path("keep.jsonl");
	cr_assert_eq(tu_write_file(path, "keep\n", 5), 0);
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
	wn_writer_write(w, "x\n", 2);
	wn_writer_abort(w);
	size_t n;
	char *b = tu_read_file(path, &n);
	cr_expect_str_eq(b, "keep\n");
	free(b);
	cr_expect_eq(tu_count_entries(tu_dir), 1);
	wn_writer_abort(NULL);
}

Test(write, tmpfiles_cleanup_removes_temporaries)
{
	wn_writer *a, *b;
	cr_assert_eq(wn_writer_open(&a, tu_path("a.jsonl"), NULL), 0);
	cr_assert_eq(wn_writer_open(&b, tu_path("b.jsonl.zst"), NULL), 0);
	cr_assert_eq(tu_count_entries(tu_dir), 2);
	wn_tmpfiles_cleanup();
	cr_expect_eq(tu_count_entries(tu_dir), 0, "the signal-handler cleanup removes temporaries");
	wn_writer_abort(a);
	wn_writer_abort(b);
	cr_expect_eq(tu_count_entries(tu_dir), 0);
}

Test(write, many_writers_in_turn)
{
	/* more than the temporary table holds, opened and closed in turn */
	for (int i = 0; i < 100; i++) {
		char name[32];
		snprintf(name, sizeof name, "m%03d.jsonl%s", i, i % 3 == 0 ? ".zst" : i % 3 == 1 ? ".gz" : "");
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, tu_path(name), NULL), 0);
		cr_assert_eq(wn_writer_write(w, "{}\n", 3), 0);
		cr_assert_eq(wn_writer_close(w, NULL, 0), 0, "%s", name);
	}
	cr_expect_eq(tu_count_entries(tu_dir), 100);
}

Test(write, stdout_target)
{
	const char *path = tu_path("stdout.txt");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	fflush(stdout);
	int saved = dup(1);
	cr_assert_eq(dup2(fd, 1), 1);
	close(fd);
	const char *names[] = { "-", NULL };
	for (int i = 0; i < 2; i++) {
		wn_writer *w;
		cr_assert_eq(wn_writer_open(&w, names[i], NULL), 0);
		cr_assert_eq(wn_writer_write(w, "line\n", 5), 0);
		cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
	}
	cr_expect_neq(fcntl(1, F_GETFD), -1, "stdout stays open after close");
	dup2(saved, 1);
	close(saved);
	size_t n;
	char *b = tu_read_file(path, &n);
	cr_expect_str_eq(b, "line\nline\n");
	free(b);
}

Test(write, open_in_missing_directory_fails)
{
	wn_writer *w = NULL;
	int rc = wn_writer_open(&w, tu_path("no/such/dir/out.jsonl"), NULL);
	cr_expect_eq(rc, WN_EIO);
	cr_assert_not_null(w);
	cr_expect_neq(wn_writer_error(w)[0], 0, "a message says why");
	wn_writer_abort(w);
	cr_expect_eq(tu_count_entries(tu_dir), 0);
}

Test(write, path_exists)
{
	cr_expect(wn_path_exists(tu_dir));
	cr_expect(!wn_path_exists(tu_path("nope")));
	tu_write_file(tu_path("yes"), "", 0);
	cr_expect(wn_path_exists(tu_path("yes")));
}

/* ---------------------------------------------------------------- write errors */

static void full_disk(const char *path, size_t nbytes)
{
	wn_writer *w;
	int rc = wn_writer_open(&w, path, NULL);
	cr_assert_eq(rc, 0, "%s: open %d", path, rc);
	char *c = malloc(nbytes ? nbytes : 1);
	for (size_t i = 0; i < nbytes; i++) c[i] = (char)('a' + (i * 7919) % 26);
	int wrc = wn_writer_write(w, c, nbytes);
	int wrc2 = wn_writer_write(w, c, nbytes);
	free(c);
	char err[256] = "";
	int crc = wn_writer_close(w, err, sizeof err);
	cr_expect(wrc == 0 || wrc == WN_EIO, "%s %zu: write gave %d", path, nbytes, wrc);
	cr_expect(wrc2 == 0 || wrc2 == WN_EIO, "%s %zu: write gave %d", path, nbytes, wrc2);
	cr_expect_eq(crc, WN_EIO, "%s %zu: close gave %d (write %d)", path, nbytes, crc, wrc);
	cr_expect_neq(err[0], 0, "%s: close fills the message", path);
}

Test(write, dev_full_fails)
{
	if (access("/dev/full", W_OK) != 0) {
		tu_rmdir(); /* .fini does not run after a skip */
		cr_skip_test("no /dev/full");
	}
	/* small (staged, fails at close) and large (fails at write) */
	full_disk("/dev/full", 10);
	full_disk("/dev/full", 5 << 20);
	/* compressed, through symlinks whose names pick the codec */
	cr_assert_eq(symlink("/dev/full", tu_path("full.zst")), 0);
	cr_assert_eq(symlink("/dev/full", tu_path("full.gz")), 0);
	full_disk(tu_path("full.zst"), 10);
	full_disk(tu_path("full.zst"), 5 << 20);
	full_disk(tu_path("full.gz"), 10);
	full_disk(tu_path("full.gz"), 5 << 20);
	/* the symlinks are devices to write through, not files to replace */
	struct stat st;
	cr_expect_eq(lstat(tu_path("full.zst"), &st), 0);
	cr_expect(S_ISLNK(st.st_mode));
}

Test(write, error_is_sticky)
{
	if (access("/dev/full", W_OK) != 0) {
		tu_rmdir(); /* .fini does not run after a skip */
		cr_skip_test("no /dev/full");
	}
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, "/dev/full", NULL), 0);
	char *c = calloc(1, 3 << 20);
	int rc = wn_writer_write(w, c, 3 << 20);
	cr_expect_eq(rc, WN_EIO, "a write past the stage reaches the device");
	cr_expect_eq(wn_writer_write(w, "x", 1), WN_EIO, "later writes keep failing");
	cr_expect_neq(strstr(wn_writer_error(w), "No space"), NULL, "message: %s", wn_writer_error(w));
	free(c);
	cr_expect_eq(wn_writer_close(w, NULL, 0), WN_EIO);
}

/* ---------------------------------------------------------------- levels */

static long size_at_level(const char *name, int level, const char *c, size_t n)
{
	const char *path = tu_path(name);
	wn_writer_opts o = { level, 2 };
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, path, &o), 0);
	cr_assert_eq(wn_writer_write(w, c, n), 0);
	cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
	size_t bn;
	char *b = read_back(path, &bn, NULL, 0);
	cr_assert_eq(bn, n, "level %d round trip", level);
	cr_assert_eq(memcmp(b, c, n), 0);
	free(b);
	return file_size(path);
}

Test(write, level_option)
{
	/* redundant text with some variety */
	size_t n = 0, cap = 3 << 19;
	char *c = malloc(cap + 200);
	tu_rng r = { 5 };
	static const char *w[] = { "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ",
				   "dog ", "and ", "then ", "some ", "more ", "words ", "follow " };
	while (n < cap) {
		n += (size_t)sprintf(c + n, "{\"text\":\"");
		int k = 5 + (int)tu_below(&r, 60);
		for (int i = 0; i < k; i++) n += (size_t)sprintf(c + n, "%s", w[tu_below(&r, 14)]);
		n += (size_t)sprintf(c + n, "%u\"}\n", tu_below(&r, 100000));
	}
	long z1 = size_at_level("l1.zst", 1, c, n);
	long z19 = size_at_level("l19.zst", 19, c, n);
	long zneg = size_at_level("lm5.zst", -5, c, n);
	cr_expect_leq(z19, z1, "zstd level 19 (%ld) larger than level 1 (%ld)", z19, z1);
	cr_expect_lt(z19, z1, "zstd level 19 (%ld) should beat level 1 (%ld) here", z19, z1);
	cr_expect_geq(zneg, z1, "zstd level -5 (%ld) smaller than level 1 (%ld)", zneg, z1);
	long g1 = size_at_level("l1.gz", 1, c, n);
	long g9 = size_at_level("l9.gz", 9, c, n);
	long g19 = size_at_level("l19.gz", 19, c, n); /* clamped to 9 */
	cr_expect_lt(g9, g1, "gzip level 9 (%ld) vs level 1 (%ld)", g9, g1);
	cr_expect_eq(g19, g9, "gzip level 19 is clamped to 9 (%ld vs %ld)", g19, g9);
	free(c);
}

/* ---------------------------------------------------------------- fd 0 */

Test(write, closes_its_file_even_on_fd_0)
{
	/* with stdin closed, the temporary gets descriptor 0; it must still be
	 * synced and closed like any other */
	close(0);
	const char *path = tu_path("fd0.jsonl");
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, path, NULL), 0);
	int fd0_open = fcntl(0, F_GETFD) != -1;
	cr_assert(fd0_open, "the temporary should have taken fd 0");
	cr_assert_eq(wn_writer_write(w, "a\n", 2), 0);
	cr_assert_eq(wn_writer_close(w, NULL, 0), 0);
	size_t n;
	char *b = tu_read_file(path, &n);
	cr_expect_str_eq(b, "a\n");
	free(b);
	cr_expect_eq(fcntl(0, F_GETFD), -1, "wn_writer_close leaked fd 0 (the output file)");
}

Test(write, abort_closes_fd_0)
{
	close(0);
	wn_writer *w;
	cr_assert_eq(wn_writer_open(&w, tu_path("fd0b.jsonl"), NULL), 0);
	cr_assert_neq(fcntl(0, F_GETFD), -1);
	wn_writer_abort(w);
	cr_expect_eq(fcntl(0, F_GETFD), -1, "wn_writer_abort leaked fd 0");
}
