/* test_pack.c - tokenize/pack: every format written and read back against a
 * reference computed here (the files parsed byte by byte by readers of our
 * own, concat windows as slices of the stream, best-fit against a
 * brute-force packer), the uint16/int32 switch, merging, and damaged files
 * (every byte flipped, cut at many points, foreign magic) refused with
 * their name, never a crash. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <xxhash.h>

#include "../../lib/err.h"
#include "../../tokenize/pack.h"
#include "testutil.h"

/* ---- documents and the stream ---- */

typedef struct docset {
	size_t n;
	uint32_t **ids;
	size_t *len;
} docset;

/* n documents of ids below vocab, never eos: every 7th (3, 10, ...) empty,
 * the others 1..maxlen long. */
static docset make_docs(uint64_t seed, size_t n, size_t maxlen, uint32_t vocab, uint32_t eos)
{
	tu_rng r = { seed * 0x9E3779B97F4A7C15ULL + 1 };
	docset d = { n, calloc(n ? n : 1, sizeof(uint32_t *)), calloc(n ? n : 1, sizeof(size_t)) };
	for (size_t i = 0; i < n; i++) {
		size_t len = i % 7 == 3 || !maxlen ? 0 : 1 + tu_below(&r, (uint32_t)maxlen);
		d.len[i] = len;
		d.ids[i] = malloc((len ? len : 1) * sizeof(uint32_t));
		for (size_t k = 0; k < len; k++) {
			uint32_t v = tu_below(&r, vocab);
			if (v == eos) v = (v + 1) % vocab;
			d.ids[i][k] = v;
		}
	}
	return d;
}

/* Documents of the given lengths. */
static docset docs_of_len(uint64_t seed, const size_t *lens, size_t n, uint32_t vocab, uint32_t eos)
{
	docset d = make_docs(seed, n, 0, vocab, eos);
	tu_rng r = { seed + 7 };
	for (size_t i = 0; i < n; i++) {
		d.len[i] = lens[i];
		d.ids[i] = realloc(d.ids[i], (lens[i] ? lens[i] : 1) * sizeof(uint32_t));
		for (size_t k = 0; k < lens[i]; k++) {
			uint32_t v = tu_below(&r, vocab);
			d.ids[i][k] = v == eos ? (v + 1) % vocab : v;
		}
	}
	return d;
}

static void free_docs(docset *d)
{
	for (size_t i = 0; i < d->n; i++) free(d->ids[i]);
	free(d->ids);
	free(d->len);
}

static wn_pack_summary pack_range(const char *prefix, const wn_pack_opts *o, const docset *d,
				  size_t from, size_t to)
{
	char err[600] = "";
	wn_pack *p = wn_pack_open(prefix, o, err, sizeof err);
	cr_assert(p, "open %s: %s", prefix, err);
	for (size_t i = from; i < to; i++)
		cr_assert_eq(wn_pack_doc(p, d->ids[i], d->len[i]), 0, "%s", wn_pack_error(p));
	wn_pack_summary s;
	cr_assert_eq(wn_pack_close(p, &s, err, sizeof err), 0, "close %s: %s", prefix, err);
	cr_assert_eq(s.truncated, 0);
	return s;
}

/* Every document then EOS; the document and offset of every position. */
typedef struct stream {
	uint32_t *tok;
	uint64_t *doc, *off;
	size_t n;
} stream;

static stream stream_of(const docset *d, uint32_t eos)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++) n += d->len[i] + 1;
	stream s = { malloc((n + 1) * 4), malloc((n + 1) * 8), malloc((n + 1) * 8), n };
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		for (size_t j = 0; j <= d->len[i]; j++, k++) {
			s.tok[k] = j < d->len[i] ? d->ids[i][j] : eos;
			s.doc[k] = i;
			s.off[k] = j;
		}
	return s;
}

static void free_stream(stream *s)
{
	free(s->tok);
	free(s->doc);
	free(s->off);
}

/* ---- byte-level readers of our own ---- */

static uint64_t le(const unsigned char *b, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
	return v;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	unsigned char *b = (unsigned char *)tu_read_file(path, n);
	cr_assert(b, "cannot read %s", path);
	return b;
}

/* Megatron .idx per ANCHORS 1.3, parsed without the module */
typedef struct mg {
	unsigned char *raw;
	size_t size;
	int code;
	uint64_t S, D;
	const unsigned char *sizes, *ptrs, *didx;
} mg;

static void mg_parse(const char *prefix, mg *m)
{
	char p[600];
	snprintf(p, sizeof p, "%s.idx", prefix);
	m->raw = slurp(p, &m->size);
	cr_assert_geq(m->size, 34);
	cr_assert_eq(memcmp(m->raw, "MMIDIDX\0\0", 9), 0, "magic");
	cr_assert_eq(le(m->raw + 9, 8), 1, "version");
	m->code = m->raw[17];
	m->S = le(m->raw + 18, 8);
	m->D = le(m->raw + 26, 8);
	cr_assert_eq(m->size, 34 + 12 * m->S + 8 * m->D, "index size");
	m->sizes = m->raw + 34;
	m->ptrs = m->sizes + 4 * m->S;
	m->didx = m->ptrs + 8 * m->S;
}

/* winnow .wtok per man/winnow-formats.5, parsed without the module */
typedef struct wt {
	unsigned char *raw;
	size_t size;
	uint32_t tb, mode, T, T1, vocab, eos, pad;
	uint64_t W, docs, tokens, padding, nseg, bfbuf;
	const char *domain, *tokenizer;
	const unsigned char *rows, *lens, *segoff, *segs;
} wt;

static void wt_parse(const char *path, wt *w)
{
	w->raw = slurp(path, &w->size);
	const unsigned char *h = w->raw;
	cr_assert_geq(w->size, 4096);
	cr_assert_eq(memcmp(h, "WNTOKEN\0", 8), 0);
	cr_assert_eq(le(h + 8, 4), 1);
	cr_assert_eq(le(h + 12, 4), 4096);
	cr_assert_eq(le(h + 16, 8), w->size);
	cr_assert_eq(le(h + 4088, 8), XXH3_64bits(h, 4088), "header checksum");
	w->tb = (uint32_t)le(h + 24, 4);
	w->mode = (uint32_t)le(h + 28, 4);
	w->T = (uint32_t)le(h + 32, 4);
	w->T1 = (uint32_t)le(h + 36, 4);
	cr_assert_eq(w->T1, w->T + 1);
	w->vocab = (uint32_t)le(h + 40, 4);
	w->eos = (uint32_t)le(h + 44, 4);
	w->pad = (uint32_t)le(h + 48, 4);
	cr_assert_eq(le(h + 52, 4), 4);
	w->W = le(h + 56, 8);
	w->docs = le(h + 64, 8);
	w->tokens = le(h + 72, 8);
	w->padding = le(h + 80, 8);
	w->nseg = le(h + 88, 8);
	w->bfbuf = le(h + 96, 8);
	w->domain = (const char *)h + 104;
	w->tokenizer = (const char *)h + 168;
	const unsigned char **dst[] = { NULL, &w->rows, &w->lens, &w->segoff, &w->segs };
	uint64_t rec[] = { 0, (uint64_t)w->T1 * w->tb, 4, 8, 16 };
	uint64_t cnt[] = { 0, w->W, w->W, w->W + 1, w->nseg };
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = h + 1192 + 40 * i;
		uint32_t id = (uint32_t)le(e, 4);
		cr_assert(id >= 1 && id <= 4);
		uint64_t off = le(e + 8, 8), bytes = le(e + 16, 8);
		cr_assert_eq(le(e + 4, 4), rec[id]);
		cr_assert_eq(le(e + 24, 8), cnt[id], "section %u records", id);
		cr_assert_eq(bytes, rec[id] * cnt[id]);
		cr_assert_eq(off % 64, 0);
		cr_assert_leq(off + bytes, w->size);
		cr_assert_eq(le(e + 32, 8), XXH3_64bits(h + off, bytes), "section %u checksum", id);
		*dst[id] = h + off;
	}
	cr_assert_eq(w->rows, h + 4096, "tokens start on the first page after the header");
}

static uint32_t wt_tok(const wt *w, uint64_t win, uint32_t i)
{
	return (uint32_t)le(w->rows + (win * w->T1 + i) * w->tb, (int)w->tb);
}

typedef struct rseg {
	uint64_t doc;
	uint32_t start, off;
} rseg;

static size_t wt_segs(const wt *w, uint64_t win, rseg *out)
{
	uint64_t a = le(w->segoff + 8 * win, 8), b = le(w->segoff + 8 * win + 8, 8);
	for (uint64_t k = a; k < b; k++) {
		const unsigned char *e = w->segs + 16 * k;
		out[k - a] = (rseg){ le(e, 8), (uint32_t)le(e + 8, 4), (uint32_t)le(e + 12, 4) };
	}
	return (size_t)(b - a);
}

/* ---- Megatron ---- */

static void check_megatron(const char *prefix, const docset *d, uint32_t eos, int want_code)
{
	mg m;
	mg_parse(prefix, &m);
	int w = want_code == 8 ? 2 : 4;
	cr_assert_eq(m.code, want_code);
	cr_assert_eq(m.S, d->n);
	cr_assert_eq(m.D, d->n + 1);
	char p[600];
	snprintf(p, sizeof p, "%s.bin", prefix);
	size_t blen;
	unsigned char *bin = slurp(p, &blen);
	uint64_t at = 0;
	for (size_t i = 0; i < d->n; i++) {
		cr_assert_eq(le(m.sizes + 4 * i, 4), d->len[i] + 1, "size %zu", i);
		cr_assert_eq(le(m.ptrs + 8 * i, 8), at, "pointer %zu", i);
		for (size_t k = 0; k <= d->len[i]; k++) {
			uint64_t v = le(bin + at + k * w, w);
			cr_assert_eq(v, k < d->len[i] ? d->ids[i][k] : eos, "doc %zu tok %zu", i, k);
		}
		at += (d->len[i] + 1) * w;
	}
	cr_assert_eq(at, blen);
	for (size_t j = 0; j <= d->n; j++) cr_assert_eq(le(m.didx + 8 * j, 8), j);
	free(bin);
	free(m.raw);

	/* and through the module's reader */
	char err[600];
	wn_pack_expect x = { .vocab_size = 0, .has_eos = 1, .eos_id = eos };
	wn_pack_reader *r = wn_pack_reader_open(prefix, &x, err, sizeof err);
	cr_assert(r, "%s", err);
	const wn_pack_info *in = wn_pack_reader_info(r);
	cr_assert_eq(in->format, WN_PACK_MEGATRON);
	cr_assert_eq(in->documents, d->n);
	cr_assert_eq(in->sequences, d->n);
	cr_assert_eq(in->eos_count, d->n);
	wn_pack_item it;
	size_t i = 0;
	while (wn_pack_reader_next(r, &it) == 1) {
		cr_assert_eq(it.doc, i);
		cr_assert_eq(it.n, d->len[i] + 1);
		cr_assert_eq(memcmp(it.ids, d->ids[i], d->len[i] * 4), 0);
		cr_assert_eq(it.ids[d->len[i]], eos);
		i++;
	}
	cr_assert_eq(i, d->n);
	if (d->n > 3) {
		cr_assert_eq(wn_pack_reader_get(r, 3, &it), 0);
		cr_assert_eq(it.n, d->len[3] + 1);
	}
	cr_assert_eq(wn_pack_reader_get(r, d->n, &it), WN_EUSAGE);
	wn_pack_reader_close(r);
}

Test(pack_megatron, round_trip_with_empty_documents)
{
	tu_mkdtemp();
	docset d = make_docs(1, 300, 3 * 64, 50257, 50256);
	wn_pack_opts o = { .format = WN_PACK_MEGATRON, .vocab_size = 50257, .eos_id = 50256 };
	wn_pack_summary s = pack_range(tu_path("mg"), &o, &d, 0, d.n);
	uint64_t tokens = 0;
	for (size_t i = 0; i < d.n; i++) tokens += d.len[i] + 1;
	cr_expect_eq(s.documents, d.n);
	cr_expect_eq(s.sequences, d.n);
	cr_expect_eq(s.tokens, tokens);
	cr_expect_eq(s.bytes, 34 + 20 * d.n + 8 + 2 * tokens);
	check_megatron(tu_path("mg"), &d, 50256, 8);
	/* nothing but the two files */
	cr_expect_eq(tu_count_entries(tu_dir), 2);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_megatron, dtype_switches_at_65500)
{
	tu_mkdtemp();
	uint32_t vocabs[] = { 65499, 65500, 200000 };
	int codes[] = { 8, 4, 4 };
	for (int k = 0; k < 3; k++) {
		docset d = make_docs(2 + k, 40, 50, vocabs[k], 0);
		d.ids[1][0] = vocabs[k] - 1; /* the largest id survives */
		wn_pack_opts o = { .format = WN_PACK_MEGATRON, .vocab_size = vocabs[k], .eos_id = 0 };
		char name[32];
		snprintf(name, sizeof name, "v%u", vocabs[k]);
		pack_range(tu_path(name), &o, &d, 0, d.n);
		check_megatron(tu_path(name), &d, 0, codes[k]);
		wn_pack_info in;
		char err[600];
		cr_assert_eq(wn_pack_inspect(tu_path(name), NULL, &in, err, sizeof err), 0, "%s", err);
		cr_expect_str_eq(in.dtype, codes[k] == 8 ? "uint16" : "int32");
		cr_expect_eq(in.max_id, vocabs[k] - 1);
		free_docs(&d);
	}
	tu_rmdir();
}

Test(pack_megatron, empty_dataset)
{
	tu_mkdtemp();
	docset d = make_docs(3, 0, 1, 100, 0);
	wn_pack_opts o = { .format = WN_PACK_MEGATRON, .vocab_size = 100, .eos_id = 0 };
	pack_range(tu_path("e"), &o, &d, 0, 0);
	mg m;
	mg_parse(tu_path("e"), &m);
	cr_expect_eq(m.S, 0);
	cr_expect_eq(m.D, 1);
	free(m.raw);
	wn_pack_info in;
	char err[600];
	cr_assert_eq(wn_pack_inspect(tu_path("e.idx"), NULL, &in, err, sizeof err), 0, "%s", err);
	cr_expect_eq(in.documents, 0);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_megatron, python_checker_agrees)
{
	const char *script = "tests/tok/check_megatron.py";
	if (access(script, R_OK) || system("python3 -c 1 >/dev/null 2>&1"))
		cr_skip_test("needs python3 and %s (run from the top directory)", script);
	tu_mkdtemp();
	for (int big = 0; big < 2; big++) {
		uint32_t vocab = big ? 100000 : 50257;
		docset d = make_docs(4 + big, 120, 100, vocab, 7);
		wn_pack_opts o = { .format = WN_PACK_MEGATRON, .vocab_size = vocab, .eos_id = 7 };
		wn_pack_summary s = pack_range(tu_path("py"), &o, &d, 0, d.n);
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "python3 %s --vocab %u --eos 7 --show 2 %s", script, vocab,
			 tu_path("py"));
		FILE *f = popen(cmd, "r");
		unsigned long long D, S, T;
		char dt[16];
		cr_assert_eq(fscanf(f, "documents %llu sequences %llu tokens %llu dtype %15s", &D, &S, &T, dt), 4);
		unsigned long long bad;
		cr_assert_eq(fscanf(f, " not_eos %llu", &bad), 1);
		unsigned v;
		for (size_t k = 0; k < d.len[0]; k++) {
			cr_assert_eq(fscanf(f, "%u", &v), 1);
			cr_expect_eq(v, d.ids[0][k]);
		}
		cr_assert_eq(fscanf(f, "%u", &v), 1);
		cr_expect_eq(v, 7);
		cr_expect_eq(pclose(f), 0);
		cr_expect_eq(D, d.n);
		cr_expect_eq(S, d.n);
		cr_expect_eq(T, s.tokens);
		cr_expect_eq(bad, 0);
		cr_expect_str_eq(dt, big ? "int32" : "uint16");
		free_docs(&d);
	}
	/* and it refuses a damaged pair */
	cr_assert_eq(truncate(tu_path("py.bin"), 100), 0);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "python3 %s %s >/dev/null 2>&1", script, tu_path("py"));
	cr_expect_neq(system(cmd), 0);
	tu_rmdir();
}

/* ---- llm.c ---- */

static void check_llmc(const char *path, const docset *d, uint32_t eos, int wide)
{
	size_t n;
	unsigned char *b = slurp(path, &n);
	uint64_t tokens = 0;
	for (size_t i = 0; i < d->n; i++) tokens += d->len[i] + 1;
	cr_assert_eq(le(b, 4), wide ? 20240801 : 20240520);
	cr_assert_eq(le(b + 4, 4), wide ? 7 : 1);
	cr_assert_eq(le(b + 8, 4), tokens);
	for (int i = 12; i < 1024; i++) cr_assert_eq(b[i], 0);
	int w = wide ? 4 : 2;
	cr_assert_eq(n, 1024 + tokens * w);
	uint64_t at = 1024;
	for (size_t i = 0; i < d->n; i++) {
		for (size_t k = 0; k < d->len[i]; k++, at += w) cr_assert_eq(le(b + at, w), d->ids[i][k]);
		cr_assert_eq(le(b + at, w), eos);
		at += w;
	}
	free(b);
	/* documents back through the reader, split at EOS */
	char err[600];
	wn_pack_expect x = { .has_eos = 1, .eos_id = eos };
	wn_pack_reader *r = wn_pack_reader_open(path, &x, err, sizeof err);
	cr_assert(r, "%s", err);
	cr_expect_eq(wn_pack_reader_info(r)->documents, d->n);
	cr_expect_eq(wn_pack_reader_info(r)->tokens, tokens);
	wn_pack_item it;
	size_t i = 0;
	while (wn_pack_reader_next(r, &it) == 1) {
		cr_assert_eq(it.n, d->len[i] + 1);
		cr_assert_eq(memcmp(it.ids, d->ids[i], 4 * d->len[i]), 0);
		i++;
	}
	cr_expect_eq(i, d->n);
	cr_expect_eq(wn_pack_reader_get(r, 0, &it), WN_EUSAGE);
	wn_pack_reader_close(r);
}

Test(pack_llmc, round_trip_uint16_and_uint32)
{
	tu_mkdtemp();
	uint32_t vocabs[] = { 65536, 65537 };
	for (int k = 0; k < 2; k++) {
		docset d = make_docs(10 + k, 200, 150, vocabs[k], 3);
		d.ids[0][0] = vocabs[k] - 1;
		wn_pack_opts o = { .format = WN_PACK_LLMC, .vocab_size = vocabs[k], .eos_id = 3 };
		char name[32];
		snprintf(name, sizeof name, "l%d", k);
		pack_range(tu_path(name), &o, &d, 0, d.n);
		snprintf(name, sizeof name, "l%d.bin", k);
		check_llmc(tu_path(name), &d, 3, k);
		free_docs(&d);
	}
	tu_rmdir();
}

/* ---- winnow concat ---- */

/* The file's windows against slices of the stream. */
static void check_concat(const char *path, const docset *d, uint32_t eos, uint32_t T)
{
	wt w;
	wt_parse(path, &w);
	stream s = stream_of(d, eos);
	uint64_t W = s.n == 0 ? 0 : s.n == 1 ? 1 : (s.n - 1 + T - 1) / T;
	cr_assert_eq(w.mode, 1);
	cr_assert_eq(w.T, T);
	cr_assert_eq(w.W, W, "windows");
	cr_assert_eq(w.docs, d->n);
	cr_assert_eq(w.tokens, s.n);
	cr_assert_eq(w.pad, eos);
	uint64_t valid = 0, nseg = 0;
	rseg *segs = malloc((T + 1) * sizeof *segs);
	for (uint64_t i = 0; i < W; i++) {
		uint64_t start = i * T;
		uint32_t len = (uint32_t)(s.n - start < T + 1 ? s.n - start : T + 1);
		cr_assert_eq(le(w.lens + 4 * i, 4), len, "window %llu length", (unsigned long long)i);
		for (uint32_t k = 0; k < T + 1; k++)
			cr_assert_eq(wt_tok(&w, i, k), k < len ? s.tok[start + k] : eos);
		size_t ns = wt_segs(&w, i, segs), j = 0;
		for (uint32_t k = 0; k < len; k++) {
			if (k && s.doc[start + k] == s.doc[start + k - 1]) continue;
			cr_assert_lt(j, ns);
			cr_assert_eq(segs[j].start, k);
			cr_assert_eq(segs[j].doc, s.doc[start + k]);
			cr_assert_eq(segs[j].off, s.off[start + k]);
			j++;
		}
		cr_assert_eq(j, ns, "window %llu segments", (unsigned long long)i);
		valid += len;
		nseg += ns;
	}
	cr_assert_eq(w.nseg, nseg);
	cr_assert_eq(w.padding, W * (T + 1) - valid);
	free(segs);

	/* the module's reader says the same */
	char err[600];
	wn_pack_reader *r = wn_pack_reader_open(path, NULL, err, sizeof err);
	cr_assert(r, "%s", err);
	const wn_pack_info *in = wn_pack_reader_info(r);
	cr_assert_eq(in->windows, W);
	cr_assert_eq(in->tokens, s.n);
	cr_assert_eq(in->documents, d->n);
	wn_pack_item it;
	uint64_t i = 0;
	while (wn_pack_reader_next(r, &it) == 1) {
		cr_assert_eq(it.index, i);
		for (size_t k = 0; k < it.n; k++) cr_assert_eq(it.ids[k], s.tok[i * T + k]);
		cr_assert_geq(it.nsegs, 1);
		cr_assert_eq(it.segs[0].start, 0);
		cr_assert_eq(it.segs[0].doc, s.doc[i * T]);
		i++;
	}
	cr_assert_eq(i, W);
	wn_pack_reader_close(r);
	free_stream(&s);
	free(w.raw);
}

Test(pack_winnow, concat_windows_are_stream_slices)
{
	tu_mkdtemp();
	uint32_t Ts[] = { 1, 2, 7, 64, 100 };
	for (int k = 0; k < 5; k++) {
		uint32_t T = Ts[k];
		docset d = make_docs(20 + k, 150, 3 * T, 1000, 999);
		wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 1000, .eos_id = 999,
				   .seq_len = (int)T, .pack_mode = WN_PACK_CONCAT };
		wn_pack_summary s = pack_range(tu_path("c"), &o, &d, 0, d.n);
		check_concat(tu_path("c.wtok"), &d, 999, T);
		cr_expect_eq(s.padding, s.windows * (T + 1) - (s.tokens + s.windows - 1));
		free_docs(&d);
	}
	tu_rmdir();
}

Test(pack_winnow, concat_edges)
{
	tu_mkdtemp();
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 50, .eos_id = 1, .seq_len = 4 };
	/* nothing: no window */
	docset d = make_docs(30, 0, 1, 50, 1);
	pack_range(tu_path("a"), &o, &d, 0, 0);
	check_concat(tu_path("a.wtok"), &d, 1, 4);
	free_docs(&d);
	/* one empty document: one window holding its EOS */
	size_t one[] = { 0 };
	d = docs_of_len(31, one, 1, 50, 1);
	pack_range(tu_path("a"), &o, &d, 0, 1);
	check_concat(tu_path("a.wtok"), &d, 1, 4);
	free_docs(&d);
	/* streams of 2..14 tokens: exact multiples, a document starting at
	 * position T, empty documents in a row */
	for (size_t len = 1; len <= 13; len++) {
		size_t lens[] = { len, 0, len % 3 };
		d = docs_of_len(32 + len, lens, 3, 50, 1);
		pack_range(tu_path("a"), &o, &d, 0, 3);
		check_concat(tu_path("a.wtok"), &d, 1, 4);
		free_docs(&d);
	}
	tu_rmdir();
}

Test(pack_winnow, header_fields_and_uint32)
{
	tu_mkdtemp();
	docset d = make_docs(40, 50, 40, 200000, 199999);
	d.ids[0][0] = 199998;
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 200000, .eos_id = 199999,
			   .seq_len = 16, .domain = "wiki.zh",
			   .tokenizer = "vocab=o200k.tiktoken pattern=o200k" };
	pack_range(tu_path("h"), &o, &d, 0, d.n);
	wt w;
	wt_parse(tu_path("h.wtok"), &w);
	cr_expect_eq(w.tb, 4);
	cr_expect_eq(w.vocab, 200000);
	cr_expect_eq(w.eos, 199999);
	cr_expect_str_eq(w.domain, "wiki.zh");
	cr_expect_str_eq(w.tokenizer, "vocab=o200k.tiktoken pattern=o200k");
	cr_expect_eq(w.bfbuf, 0);
	free(w.raw);
	check_concat(tu_path("h.wtok"), &d, 199999, 16);
	wn_pack_info in;
	char err[600];
	cr_assert_eq(wn_pack_inspect(tu_path("h"), NULL, &in, err, sizeof err), 0, "%s", err);
	cr_expect_str_eq(in.dtype, "uint32");
	cr_expect_str_eq(in.domain, "wiki.zh");
	cr_expect_eq(in.max_id, 199999);
	cr_expect_eq(in.seq_len, 16);
	/* a vocabulary the caller knows to be smaller is refused */
	wn_pack_expect x = { .vocab_size = 50000 };
	cr_expect_neq(wn_pack_inspect(tu_path("h"), &x, &in, err, sizeof err), 0);
	free_docs(&d);
	tu_rmdir();
}

/* ---- winnow bestfit ---- */

/* Brute-force best-fit-decreasing, as the man page states it. */
typedef struct rwin {
	uint32_t *tok, len;
	rseg *segs;
	size_t nsegs;
} rwin;

typedef struct rchunk {
	uint64_t doc;
	uint32_t off, len;
	const uint32_t *tok;
	size_t arrival;
	int bin;
} rchunk;

typedef struct ref {
	rwin *w;
	size_t n, cap;
	uint32_t T1;
} ref;

static rwin *ref_new(ref *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->w = realloc(r->w, r->cap * sizeof *r->w);
	}
	rwin *w = &r->w[r->n++];
	w->tok = calloc(r->T1, 4);
	w->segs = calloc(r->T1, sizeof *w->segs);
	w->len = 0;
	w->nsegs = 0;
	return w;
}

static int by_len_desc(const void *a, const void *b)
{
	const rchunk *x = *(rchunk *const *)a, *y = *(rchunk *const *)b;
	if (x->len != y->len) return x->len > y->len ? -1 : 1;
	return x->arrival < y->arrival ? -1 : 1;
}

static void ref_flush(ref *r, rchunk *c, size_t n, uint32_t pad)
{
	if (!n) return;
	rchunk **o = malloc(n * sizeof *o);
	for (size_t i = 0; i < n; i++) o[i] = &c[i];
	qsort(o, n, sizeof *o, by_len_desc);
	uint32_t *freec = malloc(n * 4);
	int nb = 0;
	for (size_t i = 0; i < n; i++) {
		int best = -1;
		for (int b = 0; b < nb; b++)
			if (freec[b] >= o[i]->len && (best < 0 || freec[b] < freec[best])) best = b;
		if (best < 0) {
			best = nb++;
			freec[best] = r->T1;
		}
		freec[best] -= o[i]->len;
		o[i]->bin = best;
	}
	for (int b = 0; b < nb; b++) {
		rwin *w = ref_new(r);
		for (size_t i = 0; i < n; i++) {
			if (c[i].bin != b) continue;
			w->segs[w->nsegs++] = (rseg){ c[i].doc, w->len, c[i].off };
			memcpy(w->tok + w->len, c[i].tok, c[i].len * 4);
			w->len += c[i].len;
		}
		for (uint32_t k = w->len; k < r->T1; k++) w->tok[k] = pad;
	}
	free(freec);
	free(o);
}

static ref ref_bestfit(const stream *s, size_t ndocs, uint32_t T, size_t budget, uint32_t pad)
{
	ref r = { NULL, 0, 0, T + 1 };
	rchunk *c = malloc((ndocs + 1) * sizeof *c);
	size_t nc = 0, held = 0, at = 0;
	for (size_t d = 0; d < ndocs; d++) {
		size_t L = 0;
		while (at + L < s->n && s->doc[at + L] == d) L++;
		size_t k = 0;
		for (; k + T + 1 <= L; k += T + 1) {
			rwin *w = ref_new(&r);
			memcpy(w->tok, s->tok + at + k, (T + 1) * 4);
			w->len = T + 1;
			w->segs[0] = (rseg){ d, 0, (uint32_t)k };
			w->nsegs = 1;
		}
		if (k < L) {
			uint32_t len = (uint32_t)(L - k);
			if (held + len > budget || nc == (1u << 20)) {
				ref_flush(&r, c, nc, pad);
				nc = held = 0;
			}
			c[nc] = (rchunk){ d, (uint32_t)k, len, s->tok + at + k, nc, -1 };
			nc++;
			held += len;
		}
		at += L;
	}
	ref_flush(&r, c, nc, pad);
	free(c);
	return r;
}

static void free_ref(ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->w[i].tok);
		free(r->w[i].segs);
	}
	free(r->w);
}

/* Properties that hold whatever the packing order: every document once,
 * in order, nothing over capacity; returns the fill. */
static double bestfit_properties(const wt *w, const docset *d, uint32_t eos)
{
	uint64_t *next = calloc(d->n + 1, 8);
	rseg *segs = malloc(w->T1 * sizeof *segs);
	uint64_t valid = 0;
	for (uint64_t i = 0; i < w->W; i++) {
		uint32_t len = (uint32_t)le(w->lens + 4 * i, 4);
		cr_assert(len >= 1 && len <= w->T1);
		size_t ns = wt_segs(w, i, segs);
		for (size_t k = 0; k < ns; k++) {
			uint32_t end = k + 1 < ns ? segs[k + 1].start : len;
			uint64_t doc = segs[k].doc;
			cr_assert_lt(doc, d->n);
			cr_assert_leq(end - segs[k].start, w->T1);
			cr_assert_eq(segs[k].off, next[doc], "doc %llu pieces in order",
				     (unsigned long long)doc);
			for (uint32_t p = segs[k].start; p < end; p++) {
				uint64_t o = next[doc]++;
				uint32_t want = o < d->len[doc] ? d->ids[doc][o] : eos;
				cr_assert_leq(o, d->len[doc]);
				cr_assert_eq(wt_tok(w, i, p), want);
			}
		}
		for (uint32_t p = len; p < w->T1; p++) cr_assert_eq(wt_tok(w, i, p), w->pad);
		valid += len;
	}
	for (size_t i = 0; i < d->n; i++) cr_assert_eq(next[i], d->len[i] + 1, "doc %zu complete", i);
	free(next);
	free(segs);
	return w->W ? (double)valid / ((double)w->W * w->T1) : 1;
}

static void check_bestfit(const char *path, const docset *d, uint32_t eos, uint32_t T, size_t budget)
{
	wt w;
	wt_parse(path, &w);
	cr_assert_eq(w.mode, 2);
	stream s = stream_of(d, eos);
	ref r = ref_bestfit(&s, d->n, T, budget < T + 1 ? T + 1 : budget, eos);
	cr_assert_eq(w.W, r.n, "windows: file %llu, reference %zu", (unsigned long long)w.W, r.n);
	rseg *segs = malloc((T + 1) * sizeof *segs);
	for (uint64_t i = 0; i < w.W; i++) {
		cr_assert_eq(le(w.lens + 4 * i, 4), r.w[i].len, "window %llu", (unsigned long long)i);
		for (uint32_t k = 0; k <= T; k++) cr_assert_eq(wt_tok(&w, i, k), r.w[i].tok[k]);
		size_t ns = wt_segs(&w, i, segs);
		cr_assert_eq(ns, r.w[i].nsegs);
		for (size_t k = 0; k < ns; k++) {
			cr_assert_eq(segs[k].doc, r.w[i].segs[k].doc);
			cr_assert_eq(segs[k].start, r.w[i].segs[k].start);
			cr_assert_eq(segs[k].off, r.w[i].segs[k].off);
		}
	}
	double fill = bestfit_properties(&w, d, eos);
	cr_log_info("bestfit T=%u budget=%zu: %zu documents, %llu windows, fill %.4f", T, budget, d->n,
		    (unsigned long long)w.W, fill);
	cr_assert_eq(w.tokens, s.n);
	char err[600];
	wn_pack_info in;
	cr_assert_eq(wn_pack_inspect(path, NULL, &in, err, sizeof err), 0, "%s", err);
	cr_assert_eq(in.documents, d->n);
	cr_assert_eq(in.tokens, s.n);
	cr_assert_float_eq(in.fill, fill, 1e-12);
	free(segs);
	free_ref(&r);
	free_stream(&s);
	free(w.raw);
}

Test(pack_winnow, bestfit_equals_brute_force)
{
	tu_mkdtemp();
	struct { uint32_t T; size_t budget; size_t docs; } cases[] = {
		{ 1, 0, 100 }, { 8, 9, 200 }, { 8, 40, 300 }, { 32, 200, 400 },
		{ 64, 0, 500 }, { 100, 1000, 300 },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		uint32_t T = cases[k].T;
		docset d = make_docs(50 + k, cases[k].docs, 3 * T, 500, 2);
		wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 500, .eos_id = 2,
				   .seq_len = (int)T, .pack_mode = WN_PACK_BESTFIT,
				   .bestfit_buffer = cases[k].budget };
		wn_pack_summary s = pack_range(tu_path("b"), &o, &d, 0, d.n);
		size_t budget = cases[k].budget ? cases[k].budget : WN_PACK_BESTFIT_DEFAULT;
		check_bestfit(tu_path("b.wtok"), &d, 2, T, budget);
		cr_expect_eq(s.padding, s.windows * (T + 1) - s.tokens);
		free_docs(&d);
	}
	tu_rmdir();
}

Test(pack_winnow, bestfit_fills_better_than_concat_padding_per_document)
{
	/* many short documents at T=256: the packing fills nearly every window */
	tu_mkdtemp();
	docset d = make_docs(60, 5000, 300, 30000, 0);
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 30000, .eos_id = 0,
			   .seq_len = 256, .pack_mode = WN_PACK_BESTFIT };
	wn_pack_summary s = pack_range(tu_path("f"), &o, &d, 0, d.n);
	cr_log_info("bestfit fill on 5000 documents of 0..300 tokens, T=256: %.4f (%llu windows)",
		    s.fill, (unsigned long long)s.windows);
	cr_expect_gt(s.fill, 0.99);
	check_bestfit(tu_path("f.wtok"), &d, 0, 256, WN_PACK_BESTFIT_DEFAULT);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_winnow, bestfit_documents_with_eos_inside)
{
	tu_mkdtemp();
	docset d = make_docs(61, 200, 40, 20, 5);
	for (size_t i = 0; i < d.n; i++)
		for (size_t k = 0; k < d.len[i]; k += 9) d.ids[i][k] = 5; /* EOS in the text */
	for (int mode = 1; mode <= 2; mode++) {
		wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 20, .eos_id = 5,
				   .seq_len = 9, .pack_mode = mode, .bestfit_buffer = 50 };
		pack_range(tu_path("e"), &o, &d, 0, d.n);
		if (mode == 1) check_concat(tu_path("e.wtok"), &d, 5, 9);
		else check_bestfit(tu_path("e.wtok"), &d, 5, 9, 50);
	}
	free_docs(&d);
	tu_rmdir();
}

/* ---- merging ---- */

static void expect_same_file(const char *a, const char *b)
{
	size_t na, nb;
	unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
	cr_expect_eq(na, nb, "%s and %s differ in size", a, b);
	cr_expect(na == nb && !memcmp(x, y, na), "%s and %s differ", a, b);
	free(x);
	free(y);
}

/* Shards tag0..tag2 and tag-all; merged into tag-m. */
static void merge_case(const char *tag, const wn_pack_opts *o, const docset *d,
		       const char *const *ext, int next)
{
	size_t cut[] = { 0, d->n / 3, d->n / 3 + 1, d->n }; /* a one-document shard too */
	char in_names[3][600], all[600], m[600];
	for (int i = 0; i < 3; i++) {
		snprintf(in_names[i], 600, "%s/%s%d", tu_dir, tag, i);
		pack_range(in_names[i], o, d, cut[i], cut[i + 1]);
	}
	snprintf(all, sizeof all, "%s/%s-all", tu_dir, tag);
	snprintf(m, sizeof m, "%s/%s-m", tu_dir, tag);
	pack_range(all, o, d, 0, d->n);
	const char *in[3] = { in_names[0], in_names[1], in_names[2] };
	char err[600];
	wn_pack_summary s;
	cr_assert_eq(wn_pack_merge(m, in, 3, NULL, &s, err, sizeof err), 0, "%s", err);
	if (o->format != WN_PACK_LLMC) cr_expect_eq(s.documents, d->n);
	for (int k = 0; k < next; k++) {
		char a[700], b[700];
		snprintf(a, sizeof a, "%s%s", m, ext[k]);
		snprintf(b, sizeof b, "%s%s", all, ext[k]);
		expect_same_file(a, b);
	}
}

Test(pack_merge, three_shards_equal_one_run)
{
	tu_mkdtemp();
	docset d = make_docs(70, 400, 60, 70000, 1);
	wn_pack_opts mgo = { .format = WN_PACK_MEGATRON, .vocab_size = 70000, .eos_id = 1 };
	const char *mge[] = { ".bin", ".idx" };
	merge_case("mg", &mgo, &d, mge, 2);
	wn_pack_opts lco = { .format = WN_PACK_LLMC, .vocab_size = 60000, .eos_id = 1 };
	docset d16 = make_docs(71, 400, 60, 60000, 1);
	const char *lce[] = { ".bin" };
	merge_case("lc", &lco, &d16, lce, 1);
	/* an llm.c shard beside a stale .idx: found when the format is given */
	char stale[600];
	snprintf(stale, sizeof stale, "%s/lc0.idx", tu_dir);
	cr_assert_eq(tu_write_file(stale, "x", 1), 0);
	wn_pack_expect lx = { .format = WN_PACK_LLMC };
	wn_pack_info in;
	char err[600];
	snprintf(stale, sizeof stale, "%s/lc0", tu_dir);
	cr_expect_eq(wn_pack_inspect(stale, &lx, &in, err, sizeof err), 0, "%s", err);
	cr_expect_neq(wn_pack_inspect(stale, NULL, &in, err, sizeof err), 0);
	const char *wte[] = { ".wtok" };
	uint32_t Ts[] = { 1, 5, 20, 64 };
	for (int k = 0; k < 4; k++) {
		wn_pack_opts wto = { .format = WN_PACK_WINNOW, .vocab_size = 60000, .eos_id = 1,
				     .seq_len = (int)Ts[k], .domain = "web", .tokenizer = "t" };
		merge_case("wt", &wto, &d16, wte, 1);
		check_concat(tu_path("wt-m.wtok"), &d16, 1, Ts[k]);
	}
	free_docs(&d);
	free_docs(&d16);
	tu_rmdir();
}

Test(pack_merge, bestfit_windows_are_appended)
{
	tu_mkdtemp();
	docset d = make_docs(72, 300, 60, 1000, 1);
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 1000, .eos_id = 1, .seq_len = 20,
			   .pack_mode = WN_PACK_BESTFIT, .bestfit_buffer = 100 };
	size_t cut[] = { 0, 100, 101, 300 };
	const char *names[] = { "s0", "s1", "s2" };
	uint64_t W = 0;
	for (int i = 0; i < 3; i++) W += pack_range(tu_path(names[i]), &o, &d, cut[i], cut[i + 1]).windows;
	const char *in[3] = { tu_path("s0"), tu_path("s1"), tu_path("s2.wtok") };
	char err[600];
	wn_pack_summary s;
	cr_assert_eq(wn_pack_merge(tu_path("m"), in, 3, NULL, &s, err, sizeof err), 0, "%s", err);
	cr_expect_eq(s.windows, W);
	wt w;
	wt_parse(tu_path("m.wtok"), &w);
	bestfit_properties(&w, &d, 1);
	cr_expect_eq(w.bfbuf, 100);
	free(w.raw);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_merge, refuses_mixed_inputs)
{
	tu_mkdtemp();
	docset d = make_docs(73, 20, 30, 1000, 1);
	wn_pack_opts a = { .format = WN_PACK_WINNOW, .vocab_size = 1000, .eos_id = 1, .seq_len = 20 };
	wn_pack_opts b = a;
	b.seq_len = 21;
	wn_pack_opts c = a;
	c.domain = "other";
	wn_pack_opts m = { .format = WN_PACK_MEGATRON, .vocab_size = 1000, .eos_id = 1 };
	pack_range(tu_path("a"), &a, &d, 0, d.n);
	pack_range(tu_path("b"), &b, &d, 0, d.n);
	pack_range(tu_path("c"), &c, &d, 0, d.n);
	pack_range(tu_path("mg"), &m, &d, 0, d.n);
	char err[600];
	const char *ab[] = { tu_path("a"), tu_path("b") };
	cr_expect_eq(wn_pack_merge(tu_path("o"), ab, 2, NULL, NULL, err, sizeof err), WN_EUSAGE);
	cr_expect(strstr(err, "sequence length") && strstr(err, "b.wtok"), "%s", err);
	const char *ac[] = { tu_path("a"), tu_path("c") };
	cr_expect_neq(wn_pack_merge(tu_path("o"), ac, 2, NULL, NULL, err, sizeof err), 0);
	cr_expect(strstr(err, "domain"), "%s", err);
	const char *am[] = { tu_path("a"), tu_path("mg") };
	cr_expect_neq(wn_pack_merge(tu_path("o"), am, 2, NULL, NULL, err, sizeof err), 0);
	cr_expect(strstr(err, "format"), "%s", err);
	cr_expect(!tu_exists(tu_path("o.wtok")) && !tu_exists(tu_path("o.bin")));
	free_docs(&d);
	tu_rmdir();
}

/* ---- damaged files ---- */

static void expect_refused(const char *arg, const wn_pack_expect *x, const char *words,
			   const char *name)
{
	wn_pack_info in;
	char err[600] = "";
	int rc = wn_pack_inspect(arg, x, &in, err, sizeof err);
	cr_expect_neq(rc, 0, "%s was accepted (%s)", arg, words);
	if (words) cr_expect(strstr(err, words) != NULL, "message '%s' lacks '%s'", err, words);
	cr_expect(strstr(err, name) != NULL, "message '%s' does not name %s", err, name);
}

static void flip(const char *path, size_t at, int mask)
{
	FILE *f = fopen(path, "r+b");
	cr_assert(f);
	fseek(f, (long)at, SEEK_SET);
	int c = fgetc(f);
	fseek(f, (long)at, SEEK_SET);
	fputc(c ^ mask, f);
	fclose(f);
}

static void restore(const char *path, const unsigned char *b, size_t n)
{
	cr_assert_eq(tu_write_file(path, b, n), 0);
}

Test(pack_damage, winnow_every_byte_flip_is_refused)
{
	tu_mkdtemp();
	docset d = make_docs(80, 12, 20, 300, 1);
	for (int mode = 1; mode <= 2; mode++) {
		wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 300, .eos_id = 1, .seq_len = 8,
				   .pack_mode = mode, .domain = "d" };
		pack_range(tu_path("x"), &o, &d, 0, d.n);
		const char *p = tu_path("x.wtok");
		size_t n;
		unsigned char *orig = slurp(p, &n);
		for (size_t at = 0; at < n; at++) {
			flip(p, at, at % 2 ? 0x01 : 0x80);
			expect_refused(p, NULL, NULL, p);
			restore(p, orig, n);
		}
		/* the untouched file passes, and the messages say what failed */
		wn_pack_info in;
		char err[600];
		cr_assert_eq(wn_pack_inspect(p, NULL, &in, err, sizeof err), 0, "%s", err);
		flip(p, 60, 1);
		expect_refused(p, NULL, "corrupt header", p);
		restore(p, orig, n);
		flip(p, 4096 + 3, 1);
		expect_refused(p, NULL, "checksum of section TOKENS", p);
		restore(p, orig, n);
		flip(p, n - 1, 1);
		expect_refused(p, NULL, "checksum of section SEGMENTS", p);
		restore(p, orig, n);
		/* cut anywhere */
		size_t cuts[] = { 0, 5, 100, 4095, 4096, 4100, n / 2, n - 16, n - 1 };
		for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
			cr_assert_eq(truncate(p, (off_t)cuts[k]), 0);
			expect_refused(p, NULL, cuts[k] >= 8 ? "truncated" : "not a winnow", p);
			restore(p, orig, n);
		}
		/* one byte more */
		unsigned char *longer = malloc(n + 1);
		memcpy(longer, orig, n);
		longer[n] = 0;
		restore(p, longer, n + 1);
		expect_refused(p, NULL, "trailing bytes", p);
		free(longer);
		free(orig);
	}
	free_docs(&d);
	tu_rmdir();
}

Test(pack_damage, megatron_index_and_data)
{
	tu_mkdtemp();
	docset d = make_docs(81, 30, 20, 50257, 50256);
	wn_pack_opts o = { .format = WN_PACK_MEGATRON, .vocab_size = 50257, .eos_id = 50256 };
	pack_range(tu_path("m"), &o, &d, 0, d.n);
	char ip[600], bp[600];
	snprintf(ip, sizeof ip, "%s", tu_path("m.idx"));
	snprintf(bp, sizeof bp, "%s", tu_path("m.bin"));
	size_t n, bn;
	unsigned char *orig = slurp(ip, &n), *bin = slurp(bp, &bn);
	size_t didx = 34 + 12 * d.n;
	/* every byte of the header, sizes and pointers */
	for (size_t at = 0; at < didx; at++) {
		flip(ip, at, at % 3 ? 0x01 : 0x40);
		expect_refused(tu_path("m"), NULL, NULL, "m.");
		restore(ip, orig, n);
	}
	/* the document index: a high bit anywhere, any bit without a crash */
	for (size_t at = didx; at < n; at++) {
		flip(ip, at, at % 8 == 7 ? 0x40 : 0x01);
		wn_pack_info in;
		char err[600];
		int rc = wn_pack_inspect(ip, NULL, &in, err, sizeof err);
		if (at % 8 == 7) cr_expect_neq(rc, 0, "flip at %zu accepted", at);
		restore(ip, orig, n);
	}
	flip(ip, 0, 1);
	expect_refused(ip, NULL, "not a Megatron index", ip);
	restore(ip, orig, n);
	flip(ip, 17, 0x0F); /* dtype 8 -> 7: float32 */
	expect_refused(ip, NULL, "float", ip);
	restore(ip, orig, n);
	size_t icuts[] = { 0, 10, 33, 34, 40, n / 2, n - 1 };
	for (size_t k = 0; k < sizeof icuts / sizeof icuts[0]; k++) {
		cr_assert_eq(truncate(ip, (off_t)icuts[k]), 0);
		expect_refused(ip, NULL, icuts[k] < 9 ? "truncated" : NULL, ip);
		restore(ip, orig, n);
	}
	size_t bcuts[] = { 0, 1, bn / 2, bn - 2 };
	for (size_t k = 0; k < sizeof bcuts / sizeof bcuts[0]; k++) {
		cr_assert_eq(truncate(bp, (off_t)bcuts[k]), 0);
		expect_refused(ip, NULL, "truncated", bp);
		restore(bp, bin, bn);
	}
	/* the data has no checksum: an id past the vocabulary is what shows */
	bin[5] = 0xFF;
	restore(bp, bin, bn);
	wn_pack_expect x = { .vocab_size = 50257 };
	expect_refused(bp, &x, "not below the vocabulary size 50257", bp);
	unlink(bp);
	expect_refused(ip, NULL, "missing", bp);
	free(orig);
	free(bin);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_damage, llmc_header_and_size)
{
	tu_mkdtemp();
	docset d = make_docs(82, 30, 20, 1000, 1);
	wn_pack_opts o = { .format = WN_PACK_LLMC, .vocab_size = 1000, .eos_id = 1 };
	pack_range(tu_path("l"), &o, &d, 0, d.n);
	const char *p = tu_path("l.bin");
	size_t n;
	unsigned char *orig = slurp(p, &n);
	for (size_t at = 0; at < 12; at++) {
		flip(p, at, 0x01);
		expect_refused(p, NULL, NULL, p);
		restore(p, orig, n);
	}
	flip(p, 0, 0x01);
	expect_refused(p, NULL, "not an llm.c shard", p);
	restore(p, orig, n);
	flip(p, 4, 0x02);
	expect_refused(p, NULL, "version", p);
	restore(p, orig, n);
	size_t cuts[] = { 0, 4, 1023, 1024, n - 1 };
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		cr_assert_eq(truncate(p, (off_t)cuts[k]), 0);
		expect_refused(p, NULL, "truncated", p);
		restore(p, orig, n);
	}
	orig[1024 + 1] = 0x7F;
	restore(p, orig, n);
	wn_pack_expect x = { .vocab_size = 1000 };
	expect_refused(p, &x, "not below the vocabulary size", p);
	free(orig);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_damage, garbage_and_names)
{
	tu_mkdtemp();
	tu_rng r = { 99 };
	unsigned char junk[6000];
	for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)tu_next(&r);
	tu_write_file(tu_path("g.wtok"), junk, sizeof junk);
	expect_refused(tu_path("g.wtok"), NULL, "not a winnow token file", "g.wtok");
	tu_write_file(tu_path("g.bin"), junk, sizeof junk);
	expect_refused(tu_path("g.bin"), NULL, "not an llm.c shard", "g.bin");
	tu_write_file(tu_path("g.idx"), junk, sizeof junk);
	expect_refused(tu_path("g.bin"), NULL, "not a Megatron index", "g.idx");
	tu_write_file(tu_path("g.txt"), junk, 100);
	expect_refused(tu_path("g.txt"), NULL, "not a token file", "g.txt");
	/* a prefix that names two formats */
	expect_refused(tu_path("g"), NULL, "ambiguous", "g");
	expect_refused(tu_path("none"), NULL, "missing", "none");
	/* the format the caller asks for */
	docset d = make_docs(83, 5, 5, 100, 1);
	wn_pack_opts o = { .format = WN_PACK_LLMC, .vocab_size = 100, .eos_id = 1 };
	pack_range(tu_path("k"), &o, &d, 0, d.n);
	wn_pack_expect x = { .format = WN_PACK_WINNOW };
	expect_refused(tu_path("k"), &x, "missing", "k.wtok");
	expect_refused(tu_path("k.bin"), &x, "not a winnow token file", "k.bin");
	free_docs(&d);
	tu_rmdir();
}

/* ---- errors while writing ---- */

Test(pack_write, bad_options_and_ids)
{
	tu_mkdtemp();
	char err[600];
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = 100, .eos_id = 100, .seq_len = 8 };
	cr_expect_null(wn_pack_open(tu_path("x"), &o, err, sizeof err));
	cr_expect(strstr(err, "EOS id"), "%s", err);
	o.eos_id = 0;
	o.seq_len = 0;
	cr_expect_null(wn_pack_open(tu_path("x"), &o, err, sizeof err));
	cr_expect(strstr(err, "sequence length"), "%s", err);
	o.seq_len = 8;
	o.format = 9;
	cr_expect_null(wn_pack_open(tu_path("x"), &o, err, sizeof err));
	o.format = WN_PACK_WINNOW;
	o.domain = "0123456789012345678901234567890123456789012345678901234567890123";
	cr_expect_null(wn_pack_open(tu_path("x"), &o, err, sizeof err));
	o.domain = NULL;
	cr_expect_null(wn_pack_open("/nonexistent-dir/x", &o, err, sizeof err));
	cr_expect(strstr(err, "/nonexistent-dir/x.wtok") && strstr(err, "No such file"), "%s", err);
	cr_expect_eq(tu_count_entries(tu_dir), 0);

	/* a document with an id past the vocabulary is refused alone */
	for (int f = WN_PACK_MEGATRON; f <= WN_PACK_WINNOW; f++) {
		o.format = f;
		wn_pack *p = wn_pack_open(tu_path("x"), &o, err, sizeof err);
		cr_assert(p, "%s", err);
		uint32_t good[] = { 5, 6, 7 }, bad[] = { 5, 100, 7 };
		cr_assert_eq(wn_pack_doc(p, good, 3), 0);
		cr_expect_eq(wn_pack_doc(p, bad, 3), WN_EUSAGE);
		cr_expect(strstr(wn_pack_error(p), "document 2: token 1 is 100"), "%s", wn_pack_error(p));
		cr_assert_eq(wn_pack_doc(p, good, 3), 0);
		wn_pack_summary s;
		cr_assert_eq(wn_pack_close(p, &s, err, sizeof err), 0, "%s", err);
		cr_expect_eq(s.documents, 2);
		cr_expect_eq(s.tokens, 8);
		wn_pack_info in;
		wn_pack_expect x = { .format = f, .has_eos = 1, .eos_id = 0 };
		cr_assert_eq(wn_pack_inspect(tu_path("x"), &x, &in, err, sizeof err), 0, "%s", err);
		cr_expect_eq(in.documents, 2);
		cr_expect_eq(in.tokens, 8);
		unlink(tu_path("x.bin"));
		unlink(tu_path("x.idx"));
		unlink(tu_path("x.wtok"));
	}
	tu_rmdir();
}

Test(pack_write, abort_and_close_leave_only_final_files)
{
	tu_mkdtemp();
	docset d = make_docs(90, 50, 50, 100, 1);
	for (int f = WN_PACK_MEGATRON; f <= WN_PACK_WINNOW; f++) {
		wn_pack_opts o = { .format = f, .vocab_size = 100, .eos_id = 1, .seq_len = 8,
				   .pack_mode = f == WN_PACK_WINNOW ? WN_PACK_BESTFIT : 0 };
		char err[600];
		wn_pack *p = wn_pack_open(tu_path("a"), &o, err, sizeof err);
		cr_assert(p, "%s", err);
		for (size_t i = 0; i < d.n; i++) wn_pack_doc(p, d.ids[i], d.len[i]);
		cr_expect_geq(tu_count_entries(tu_dir), 1);
		wn_pack_abort(p);
		cr_expect_eq(tu_count_entries(tu_dir), 0, "abort left files");
		pack_range(tu_path("a"), &o, &d, 0, d.n);
		cr_expect_eq(tu_count_entries(tu_dir), f == WN_PACK_MEGATRON ? 2 : 1);
		/* writing again replaces the files */
		pack_range(tu_path("a"), &o, &d, 0, d.n / 2);
		cr_expect_eq(tu_count_entries(tu_dir), f == WN_PACK_MEGATRON ? 2 : 1);
		wn_pack_info in;
		cr_assert_eq(wn_pack_inspect(tu_path("a"), NULL, &in, err, sizeof err), 0, "%s", err);
		if (f != WN_PACK_LLMC) cr_expect_eq(in.documents, d.n / 2);
		unlink(tu_path("a.bin"));
		unlink(tu_path("a.idx"));
		unlink(tu_path("a.wtok"));
	}
	wn_pack_abort(NULL);
	free_docs(&d);
	tu_rmdir();
}

Test(pack_write, a_full_disk_is_an_error_naming_the_file)
{
	/* a file size limit stands in for a full disk (EFBIG instead of ENOSPC) */
	tu_mkdtemp();
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = { 3 << 20, 3 << 20 };
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	docset d = make_docs(91, 200, 10000, 60000, 1);
	for (int f = WN_PACK_MEGATRON; f <= WN_PACK_WINNOW; f++) {
		wn_pack_opts o = { .format = f, .vocab_size = 60000, .eos_id = 1, .seq_len = 100 };
		char err[600];
		wn_pack *p = wn_pack_open(tu_path("full"), &o, err, sizeof err);
		cr_assert(p, "%s", err);
		int rc = 0;
		for (int round = 0; round < 10 && !rc; round++)
			for (size_t i = 0; i < d.n && !rc; i++) rc = wn_pack_doc(p, d.ids[i], d.len[i]);
		cr_expect_eq(rc, WN_EIO);
		cr_expect(strstr(wn_pack_error(p), "full.") && strstr(wn_pack_error(p), "File too large"),
			  "%s", wn_pack_error(p));
		cr_expect_eq(wn_pack_doc(p, d.ids[0], d.len[0]), WN_EIO, "the packer stays failed");
		cr_expect_eq(wn_pack_close(p, NULL, err, sizeof err), WN_EIO);
		cr_expect(strstr(err, "full."), "%s", err);
		cr_expect_eq(tu_count_entries(tu_dir), 0, "temporaries left");
	}
	free_docs(&d);
	tu_rmdir();
}
