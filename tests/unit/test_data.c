/* test_data.c - train/data: .wtok files written here with tokenize/pack
 * from known documents, then every row wn_data gives checked against
 * them: inputs and targets (-1 past a window's valid length), the
 * document mask's positions and segment starts recomputed from the
 * document boundaries alone, the held-out windows, one pass over the
 * training windows per epoch, sampling by weight, a saved and loaded
 * state continuing the same batches, and the files and options refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../../tokenize/pack.h"
#include "../../train/data.h"
#include "testutil.h"

#define VOCAB 65536u
#define EOS 1u

/* ---- documents ---- */

/* Every token id of every document in a test is unique (ids count up from
 * a domain's base), so a token alone tells its document and offset: the
 * document boundaries of any window follow from its tokens. */
typedef struct corpus {
	uint32_t base;       /* first id */
	size_t ndocs;
	size_t *len;         /* tokens of each document, EOS not counted */
	uint32_t **ids;
	size_t N;            /* the stream: each document then EOS */
	uint32_t *stream;
} corpus;

static uint32_t tok_doc[VOCAB], tok_off[VOCAB];
static const corpus *tok_corpus[VOCAB];

/* n documents: every 9th empty, the others 1..maxlen tokens */
static corpus make_corpus(uint64_t seed, uint32_t base, size_t n, size_t maxlen)
{
	tu_rng r = { seed * 0x9E3779B97F4A7C15ULL + 11 };
	corpus c = { base, n, calloc(n, sizeof(size_t)), calloc(n, sizeof(uint32_t *)), 0, NULL };
	uint32_t next = base;
	for (size_t i = 0; i < n; i++) {
		c.len[i] = i % 9 == 4 ? 0 : 1 + tu_below(&r, (uint32_t)maxlen);
		c.ids[i] = malloc((c.len[i] + 1) * sizeof(uint32_t));
		for (size_t k = 0; k < c.len[i]; k++) c.ids[i][k] = next++;
		c.N += c.len[i] + 1;
	}
	cr_assert_lt(next, VOCAB, "too many tokens for unique ids");
	c.stream = malloc(c.N * sizeof(uint32_t));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < c.len[i]; j++) c.stream[k++] = c.ids[i][j];
		c.stream[k++] = EOS;
	}
	return c;
}

/* Record the corpus's ids in the token tables; call once it has its final
 * address. */
static void index_corpus(const corpus *c)
{
	for (size_t i = 0; i < c->ndocs; i++)
		for (size_t k = 0; k < c->len[i]; k++) {
			uint32_t t = c->ids[i][k];
			tok_doc[t] = (uint32_t)i;
			tok_off[t] = (uint32_t)k;
			tok_corpus[t] = c;
		}
}

static void free_corpus(corpus *c)
{
	for (size_t i = 0; i < c->ndocs; i++) free(c->ids[i]);
	free(c->ids);
	free(c->len);
	free(c->stream);
}

/* Pack the corpus into PREFIX.wtok; returns the path of the file. */
static const char *pack(const char *prefix, const corpus *c, int T, int mode, const char *domain,
			wn_pack_summary *sum)
{
	wn_pack_opts o = { .format = WN_PACK_WINNOW, .vocab_size = VOCAB, .eos_id = EOS, .seq_len = T,
			   .pack_mode = mode, .domain = domain, .tokenizer = "test tokenizer" };
	char err[600] = "";
	wn_pack *p = wn_pack_open(prefix, &o, err, sizeof err);
	cr_assert(p, "open %s: %s", prefix, err);
	for (size_t i = 0; i < c->ndocs; i++)
		cr_assert_eq(wn_pack_doc(p, c->ids[i], c->len[i]), 0, "%s", wn_pack_error(p));
	wn_pack_summary s;
	cr_assert_eq(wn_pack_close(p, &s, err, sizeof err), 0, "close %s: %s", prefix, err);
	if (sum) *sum = s;
	static char path[8][700];
	static int k;
	char *b = path[k++ & 7];
	snprintf(b, sizeof path[0], "%s.wtok", prefix);
	return b;
}

/* ---- the windows of a file ---- */

/* A file's windows as the packer's reader gives them, and the key of each
 * window's row (inputs and targets) to recognise rows by. */
typedef struct winset {
	int T;
	size_t W;
	uint32_t *ids;   /* [W][T+1] */
	uint32_t *n;     /* valid length */
	uint64_t *keys;  /* [W] each window's row key */
	uint32_t *order; /* windows by key */
} winset;

static uint64_t row_key(const int32_t *in, const int32_t *tg, int T)
{
	return XXH3_64bits_withSeed(in, (size_t)T * 4, XXH3_64bits(tg, (size_t)T * 4));
}

/* The row a window must give: inputs row[0,T), targets row[1,n) then -1. */
static void expected_io(const winset *ws, size_t w, int32_t *in, int32_t *tg)
{
	int T = ws->T;
	const uint32_t *row = ws->ids + w * (size_t)(T + 1);
	for (int t = 0; t < T; t++) {
		in[t] = (int32_t)row[t];
		tg[t] = (uint32_t)t + 1 < ws->n[w] ? (int32_t)row[t + 1] : -1;
	}
}

static const uint64_t *sort_keys; /* qsort has no argument for them */
static int by_key(const void *a, const void *b)
{
	uint64_t x = sort_keys[*(const uint32_t *)a], y = sort_keys[*(const uint32_t *)b];
	return x < y ? -1 : x > y;
}

static winset load_windows(const char *path)
{
	char err[600];
	wn_pack_reader *r = wn_pack_reader_open(path, NULL, err, sizeof err);
	cr_assert(r, "%s", err);
	const wn_pack_info *in = wn_pack_reader_info(r);
	winset ws = { in->seq_len, in->windows, NULL, NULL, NULL, NULL };
	size_t T1 = (size_t)ws.T + 1, W = ws.W ? ws.W : 1;
	ws.ids = malloc(W * T1 * 4);
	ws.n = malloc(W * 4);
	ws.keys = malloc(W * 8);
	ws.order = malloc(W * 4);
	wn_pack_item it;
	for (size_t w = 0; w < ws.W; w++) {
		cr_assert_eq(wn_pack_reader_get(r, w, &it), 0);
		memcpy(ws.ids + w * T1, it.ids, T1 * 4);
		ws.n[w] = (uint32_t)it.n;
		int32_t a[ws.T], b[ws.T];
		expected_io(&ws, w, a, b);
		ws.keys[w] = row_key(a, b, ws.T);
		ws.order[w] = (uint32_t)w;
	}
	wn_pack_reader_close(r);
	sort_keys = ws.keys;
	qsort(ws.order, ws.W, 4, by_key);
	for (size_t k = 1; k < ws.W; k++)
		cr_assert_neq(ws.keys[ws.order[k]], ws.keys[ws.order[k - 1]], "two windows of %s give the same row",
			      path);
	return ws;
}

static void free_windows(winset *ws)
{
	free(ws->ids);
	free(ws->n);
	free(ws->keys);
	free(ws->order);
}

/* The window a row comes from, or -1. */
static long find_window(const winset *ws, const int32_t *in, const int32_t *tg)
{
	uint64_t k = row_key(in, tg, ws->T);
	size_t lo = 0, hi = ws->W;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint64_t v = ws->keys[ws->order[mid]];
		if (v == k) return ws->order[mid];
		if (v < k) lo = mid + 1;
		else hi = mid;
	}
	return -1;
}

/* Concat windows by the packer's contract, from the stream itself:
 * window i = stream[i*T, i*T+T+1), W = ceil((N-1)/T), padded with EOS. */
static void expect_concat_windows(const winset *ws, const corpus *c)
{
	size_t T = (size_t)ws->T, W = c->N == 1 ? 1 : (c->N - 1 + T - 1) / T;
	cr_assert_eq(ws->W, W);
	for (size_t i = 0; i < W; i++) {
		size_t n = c->N - i * T < T + 1 ? c->N - i * T : T + 1;
		cr_assert_eq(ws->n[i], n, "window %zu", i);
		for (size_t t = 0; t <= T; t++)
			cr_assert_eq(ws->ids[i * (T + 1) + t], t < n ? c->stream[i * T + t] : EOS, "window %zu at %zu",
				     i, t);
	}
}

/* ---- rows ---- */

/* Does position t continue the document piece at t - 1?  Only from the
 * documents: the next token of the same document, or its EOS right after
 * its last token. */
static int continues(const uint32_t *row, size_t t)
{
	uint32_t a = row[t - 1], b = row[t];
	if (a == EOS) return 0;
	const corpus *c = tok_corpus[a];
	cr_assert(c, "token %u is in no document", a);
	if (b == EOS) return tok_off[a] + 1 == c->len[tok_doc[a]];
	cr_assert(tok_corpus[b], "token %u is in no document", b);
	return tok_corpus[b] == c && tok_doc[b] == tok_doc[a] && tok_off[b] == tok_off[a] + 1;
}

/* One row of wn_data against window w of ws. */
static void check_row(const winset *ws, size_t w, int doc_mask, const int32_t *in, const int32_t *tg,
		      const int32_t *pos, const int32_t *ss, const char *what)
{
	int T = ws->T;
	int32_t ein[T], etg[T];
	expected_io(ws, w, ein, etg);
	size_t n = ws->n[w];
	for (int t = 0; t < T; t++) {
		cr_assert_eq(in[t], ein[t], "%s: window %zu input %d", what, w, t);
		cr_assert_eq(tg[t], etg[t], "%s: window %zu target %d", what, w, t);
		if ((size_t)t + 1 >= n) cr_assert_eq(tg[t], -1, "%s: window %zu target %d past the valid %zu", what, w, t, n);
		if ((size_t)t >= n) cr_assert_eq(in[t], (int32_t)EOS, "%s: window %zu: padding at %d", what, w, t);
	}
	if (!doc_mask) {
		for (int t = 0; t < T; t++) {
			cr_assert_eq(pos[t], t, "%s: window %zu pos %d", what, w, t);
			cr_assert_eq(ss[t], 0, "%s: window %zu seg_start %d", what, w, t);
		}
		return;
	}
	const uint32_t *row = ws->ids + w * (size_t)(T + 1);
	int32_t start = 0;
	for (int t = 0; t < T; t++) {
		if ((size_t)t < n) {
			if (t > 0 && !continues(row, (size_t)t)) start = t;
			cr_assert_eq(ss[t], start, "%s: window %zu seg_start[%d] %d, the document starts at %d", what,
				     w, t, ss[t], start);
			cr_assert_eq(pos[t], t - start, "%s: window %zu pos[%d]", what, w, t);
		} else {
			/* padding: no target; any mask that stays within the row */
			cr_assert(ss[t] >= 0 && ss[t] <= t && pos[t] == t - ss[t], "%s: window %zu padding at %d: pos %d seg_start %d",
				  what, w, t, pos[t], ss[t]);
		}
	}
}

static wn_data *open_data(const wn_data_spec *s, int n, int seq_len, uint64_t seed, uint64_t eval, int doc_mask)
{
	char err[1200] = "";
	wn_data *d = wn_data_open(s, n, 0, seq_len, seed, eval, doc_mask, err, sizeof err);
	cr_assert(d, "%s", err);
	return d;
}

typedef struct batch {
	size_t B;
	int T;
	int32_t *in, *tg, *pos, *ss;
	int *dom;
} batch;

static batch new_batch(size_t B, int T)
{
	size_t n = B * (size_t)T;
	batch b = { B, T, malloc(n * 4), malloc(n * 4), malloc(n * 4), malloc(n * 4), malloc(B * sizeof(int)) };
	return b;
}

static void free_batch(batch *b)
{
	free(b->in);
	free(b->tg);
	free(b->pos);
	free(b->ss);
	free(b->dom);
}

static void next(wn_data *d, batch *b) { wn_data_next(d, b->B, b->in, b->tg, b->pos, b->ss, b->dom); }

#define ROW(b, a, r) ((b)->a + (size_t)(r) * (size_t)(b)->T)

/* Every window, as eval rows in order and as training rows, once per
 * epoch for two epochs, under both masks. */
static void check_all_windows(const char *file, const winset *ws)
{
	int T = ws->T;
	for (int mask = 0; mask <= 1; mask++) {
		/* the file as its own eval file: all its windows held out in order,
		 * and all of them trained on */
		wn_data_spec s = { "only", file, 1.0, file };
		wn_data *d = open_data(&s, 1, 0, 5, UINT64_MAX, mask);
		cr_assert_eq(wn_data_seq_len(d), T);
		cr_assert_eq(wn_data_eval_windows(d, 0), ws->W);
		cr_assert_eq(wn_data_train_windows(d, 0), ws->W);
		int32_t in[T], tg[T], pos[T], ss[T];
		for (size_t j = 0; j < ws->W; j++) {
			wn_data_eval_row(d, 0, j, in, tg, pos, ss);
			check_row(ws, j, mask, in, tg, pos, ss, "eval row");
		}
		/* rows in batches of 3, across the end of the first epoch: row k
		 * is in epoch k / W, and must be its window's first read there */
		batch b = new_batch(3, T);
		unsigned *seen = calloc(ws->W, sizeof *seen);
		size_t rows = 0;
		while (rows < 2 * ws->W) {
			next(d, &b);
			for (size_t r = 0; r < b.B; r++, rows++) {
				long w = find_window(ws, ROW(&b, in, r), ROW(&b, tg, r));
				cr_assert_geq(w, 0, "training row %zu is no window of %s", rows, file);
				cr_assert_eq(b.dom[r], 0);
				check_row(ws, (size_t)w, mask, ROW(&b, in, r), ROW(&b, tg, r), ROW(&b, pos, r),
					  ROW(&b, ss, r), "training row");
				seen[w]++;
				cr_assert_eq(seen[w], rows / ws->W + 1, "epoch %zu: window %ld read again", rows / ws->W, w);
			}
		}
		for (size_t w = 0; w < ws->W; w++) cr_assert_geq(seen[w], 2, "window %zu read %u times", w, seen[w]);
		free(seen);
		free_batch(&b);
		wn_data_close(d);
	}
}

Test(data_rows, concat_windows_targets_and_masks)
{
	tu_mkdtemp();
	corpus c = make_corpus(1, 2, 60, 20);
	index_corpus(&c);
	for (int T = 8; T <= 9; T++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", T);
		const char *f = pack(tu_path(name), &c, T, WN_PACK_CONCAT, "c", NULL);
		winset ws = load_windows(f);
		expect_concat_windows(&ws, &c);
		cr_assert_lt(ws.n[ws.W - 1], (uint32_t)T + 1, "want a padded last window (T %d)", T);
		check_all_windows(f, &ws);
		free_windows(&ws);
	}
	free_corpus(&c);
	tu_rmdir();
}

Test(data_rows, bestfit_windows_targets_and_masks)
{
	tu_mkdtemp();
	corpus c = make_corpus(2, 2, 80, 20);
	index_corpus(&c);
	wn_pack_summary s;
	const char *f = pack(tu_path("b"), &c, 8, WN_PACK_BESTFIT, "b", &s);
	cr_assert_gt(s.padding, 0, "want padded windows");
	cr_assert_gt(s.segments, s.windows, "want windows of several documents");
	winset ws = load_windows(f);
	/* the windows hold exactly the documents' tokens: every token once */
	size_t *count = calloc(VOCAB, sizeof *count), eos = 0;
	for (size_t w = 0; w < ws.W; w++)
		for (uint32_t t = 0; t < ws.n[w]; t++) {
			uint32_t v = ws.ids[w * 9 + t];
			if (v == EOS) eos++;
			else count[v]++;
		}
	cr_assert_eq(eos, c.ndocs);
	for (size_t i = 0; i < c.ndocs; i++)
		for (size_t k = 0; k < c.len[i]; k++) cr_assert_eq(count[c.ids[i][k]], 1);
	free(count);
	check_all_windows(f, &ws);
	free_windows(&ws);
	free_corpus(&c);
	tu_rmdir();
}

Test(data_rows, a_single_short_document)
{
	/* one window, shorter than T: padding and -1 targets after it */
	tu_mkdtemp();
	corpus c = make_corpus(3, 2, 1, 1);
	c.len[0] = 0;
	c.N = 1;
	c.stream[0] = EOS;
	const char *f = pack(tu_path("one"), &c, 8, WN_PACK_CONCAT, NULL, NULL);
	wn_data_spec s = { "one", f, 1.0, NULL };
	wn_data *d = open_data(&s, 1, 8, 1, 10, 1);
	cr_assert_eq(wn_data_train_windows(d, 0), 1);
	cr_assert_eq(wn_data_eval_windows(d, 0), 0);
	batch b = new_batch(2, 8);
	next(d, &b);
	for (int r = 0; r < 2; r++)
		for (int t = 0; t < 8; t++) {
			cr_assert_eq(ROW(&b, in, r)[t], (int32_t)EOS);
			cr_assert_eq(ROW(&b, tg, r)[t], -1);
			cr_assert_eq(ROW(&b, pos, r)[t], t);
			cr_assert_eq(ROW(&b, ss, r)[t], 0);
		}
	free_batch(&b);
	wn_data_close(d);
	free_corpus(&c);
	tu_rmdir();
}

/* ---- held out ---- */

/* epochs epochs of domain 0's ntrain windows: each window read once in
 * each, none of the held-out ones, and not twice in the same order */
static void expect_epochs(wn_data *d, const winset *ws, size_t ntrain, int epochs)
{
	batch b = new_batch(1, ws->T);
	unsigned *seen = calloc(ws->W, sizeof *seen);
	long *first = malloc(ntrain * sizeof *first);
	int reordered = 0;
	for (int e = 0; e < epochs; e++) {
		for (size_t k = 0; k < ntrain; k++) {
			next(d, &b);
			long w = find_window(ws, b.in, b.tg);
			cr_assert_geq(w, 0);
			cr_assert_lt((size_t)w, ntrain, "epoch %d: held-out window %ld trained on", e, w);
			seen[w]++;
			if (e == 0) first[k] = w;
			else reordered |= first[k] != w;
		}
		for (size_t w = 0; w < ntrain; w++)
			cr_assert_eq(seen[w], (unsigned)e + 1, "epoch %d: window %zu read %u times", e, w, seen[w]);
	}
	if (epochs > 1 && ntrain > 5) cr_assert(reordered, "every epoch reads the windows in the same order");
	free(first);
	free(seen);
	free_batch(&b);
}

Test(data_split, the_last_windows_are_held_out)
{
	tu_mkdtemp();
	corpus c = make_corpus(4, 2, 200, 14);
	index_corpus(&c);
	const char *f = pack(tu_path("h"), &c, 8, WN_PACK_CONCAT, NULL, NULL);
	winset ws = load_windows(f);
	cr_assert_geq(ws.W, 150);
	uint64_t asks[] = { 7, 1000, 0, 1 };
	for (int a = 0; a < 4; a++) {
		uint64_t neval = asks[a] < ws.W / 10 ? asks[a] : ws.W / 10, ntrain = ws.W - neval;
		wn_data_spec s = { "h", f, 1.0, NULL };
		wn_data *d = open_data(&s, 1, 8, 100 + (uint64_t)a, asks[a], a & 1);
		cr_assert_eq(wn_data_eval_windows(d, 0), neval, "eval %llu", (unsigned long long)asks[a]);
		cr_assert_eq(wn_data_train_windows(d, 0), ntrain);
		int32_t in[8], tg[8], pos[8], ss[8];
		for (uint64_t j = 0; j < neval; j++) {
			wn_data_eval_row(d, 0, j, in, tg, pos, ss);
			check_row(&ws, ntrain + j, a & 1, in, tg, pos, ss, "eval row");
		}
		expect_epochs(d, &ws, ntrain, 4);
		wn_data_close(d);
	}
	free_windows(&ws);
	free_corpus(&c);
	tu_rmdir();
}

Test(data_split, an_eval_file_is_held_out_instead)
{
	tu_mkdtemp();
	corpus c = make_corpus(5, 2, 60, 14), e = make_corpus(6, 30000, 30, 14);
	index_corpus(&c);
	index_corpus(&e);
	const char *f = pack(tu_path("t"), &c, 8, WN_PACK_CONCAT, NULL, NULL);
	const char *g = pack(tu_path("e"), &e, 8, WN_PACK_BESTFIT, NULL, NULL);
	winset ws = load_windows(f), es = load_windows(g);
	wn_data_spec s = { "t", f, 1.0, g };
	wn_data *d = open_data(&s, 1, 8, 9, 5, 1);
	cr_assert_eq(wn_data_train_windows(d, 0), ws.W, "the whole training file is trained on");
	cr_assert_eq(wn_data_eval_windows(d, 0), 5);
	int32_t in[8], tg[8], pos[8], ss[8];
	for (uint64_t j = 0; j < 5; j++) {
		wn_data_eval_row(d, 0, j, in, tg, pos, ss);
		check_row(&es, j, 1, in, tg, pos, ss, "eval row");
	}
	expect_epochs(d, &ws, ws.W, 2);
	wn_data_close(d);
	/* more asked than the eval file has: all of it */
	d = open_data(&s, 1, 8, 9, 1u << 30, 0);
	cr_assert_eq(wn_data_eval_windows(d, 0), es.W);
	wn_data_close(d);
	free_windows(&ws);
	free_windows(&es);
	free_corpus(&c);
	free_corpus(&e);
	tu_rmdir();
}

/* ---- mixing ---- */

typedef struct mix {
	int n;
	corpus c[3];
	winset ws[3];
	const char *file[3];
} mix;

static void make_mix(mix *m, int n, int mode)
{
	m->n = n;
	for (int i = 0; i < n; i++) {
		m->c[i] = make_corpus(20 + (uint64_t)i, 2 + 20000 * (uint32_t)i, 40 + 15 * (size_t)i, 12);
		index_corpus(&m->c[i]);
		char name[16];
		snprintf(name, sizeof name, "d%d", i);
		m->file[i] = pack(tu_path(name), &m->c[i], 8, mode, name, NULL);
		m->ws[i] = load_windows(m->file[i]);
	}
}

static void free_mix(mix *m)
{
	for (int i = 0; i < m->n; i++) {
		free_windows(&m->ws[i]);
		free_corpus(&m->c[i]);
	}
}

/* rows rows in batches of B: how many of each domain, each row checked to
 * come from its domain's training windows, each domain read epoch by
 * epoch (a window k + 1 times only once all have been read k times) */
static void draw(wn_data *d, const mix *m, size_t rows, size_t B, size_t *count)
{
	batch b = new_batch(B, 8);
	unsigned *seen[3];
	for (int i = 0; i < m->n; i++) {
		seen[i] = calloc(m->ws[i].W, sizeof(unsigned));
		count[i] = 0;
	}
	for (size_t done = 0; done < rows; done += B) {
		next(d, &b);
		for (size_t r = 0; r < B; r++) {
			int i = b.dom[r];
			cr_assert(i >= 0 && i < m->n);
			long w = find_window(&m->ws[i], ROW(&b, in, r), ROW(&b, tg, r));
			cr_assert_geq(w, 0, "row %zu is not a window of domain %d", done + r, i);
			uint64_t nt = wn_data_train_windows(d, i);
			cr_assert_lt((uint64_t)w, nt);
			seen[i][w]++;
			count[i]++;
			uint64_t full = (count[i] - 1) / nt; /* epochs done before this row */
			cr_assert(seen[i][w] == full + 1, "domain %d: window %ld read %u times in epoch %llu", i, w,
				  seen[i][w], (unsigned long long)full);
		}
	}
	for (int i = 0; i < m->n; i++) free(seen[i]);
	free_batch(&b);
}

Test(data_mix, weights_three_to_one)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 2, WN_PACK_CONCAT);
	wn_data_spec s[2] = { { "a", m.file[0], 3.0, NULL }, { "b", m.file[1], 1.0, NULL } };
	wn_data *d = open_data(s, 2, 8, 42, 2, 0);
	cr_assert_float_eq(wn_data_weight(d, 0), 0.75, 1e-15);
	cr_assert_float_eq(wn_data_weight(d, 1), 0.25, 1e-15);
	cr_assert_str_eq(wn_data_name(d, 1), "b");
	size_t rows = 20000, count[3];
	draw(d, &m, rows, 50, count);
	/* binomial: sd = sqrt(0.75 * 0.25 / 20000) = 0.0031; allow 5 sd */
	double f = (double)count[0] / (double)rows;
	cr_assert(fabs(f - 0.75) < 0.0155, "domain a: %.4f of the rows, weight 0.75", f);
	cr_assert_eq(count[0] + count[1], rows);
	wn_data_close(d);
	free_mix(&m);
	tu_rmdir();
}

Test(data_mix, a_zero_weight_is_never_sampled)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 3, WN_PACK_BESTFIT);
	double w[3][3] = { { 2, 0, 1 }, { 0, 1, 1 }, { 1, 1, 0 } };
	for (int k = 0; k < 3; k++) {
		wn_data_spec s[3] = { { "a", m.file[0], w[k][0], NULL }, { "b", m.file[1], w[k][1], NULL },
				      { "c", m.file[2], w[k][2], NULL } };
		wn_data *d = open_data(s, 3, 0, 7 + (uint64_t)k, 3, k == 1);
		size_t rows = 9000, count[3];
		draw(d, &m, rows, 30, count);
		double sum = w[k][0] + w[k][1] + w[k][2];
		for (int i = 0; i < 3; i++) {
			cr_assert_float_eq(wn_data_weight(d, i), w[k][i] / sum, 1e-15);
			if (w[k][i] == 0) {
				cr_assert_eq(count[i], 0, "weights %g %g %g: domain %d sampled", w[k][0], w[k][1], w[k][2], i);
			} else {
				double f = (double)count[i] / (double)rows, p = w[k][i] / sum;
				cr_assert(fabs(f - p) < 5 * sqrt(p * (1 - p) / (double)rows), "domain %d: %.4f, weight %.4f",
					  i, f, p);
			}
		}
		wn_data_close(d);
	}
	free_mix(&m);
	tu_rmdir();
}

Test(data_mix, no_weight_is_the_share_of_the_windows)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 3, WN_PACK_CONCAT);
	wn_data_spec s[3] = { { "a", m.file[0], NAN, NULL }, { "b", m.file[1], NAN, NULL },
			      { "c", m.file[2], NAN, NULL } };
	wn_data *d = open_data(s, 3, 8, 12, 4, 0);
	double total = 0;
	for (int i = 0; i < 3; i++) total += (double)wn_data_train_windows(d, i);
	for (int i = 0; i < 3; i++) {
		/* the held-out windows do not count */
		cr_assert_eq(wn_data_train_windows(d, i), m.ws[i].W - (m.ws[i].W / 10 < 4 ? m.ws[i].W / 10 : 4));
		cr_assert_float_eq(wn_data_weight(d, i), (double)wn_data_train_windows(d, i) / total, 1e-15);
	}
	size_t rows = 12000, count[3];
	draw(d, &m, rows, 40, count);
	for (int i = 0; i < 3; i++) {
		double f = (double)count[i] / (double)rows, p = wn_data_weight(d, i);
		cr_assert(fabs(f - p) < 5 * sqrt(p * (1 - p) / (double)rows), "domain %d: %.4f, weight %.4f", i, f, p);
	}
	wn_data_close(d);
	free_mix(&m);
	tu_rmdir();
}

Test(data_mix, new_weights_between_batches)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 3, WN_PACK_CONCAT);
	wn_data_spec s[3] = { { "a", m.file[0], 1, NULL }, { "b", m.file[1], 1, NULL }, { "c", m.file[2], 1, NULL } };
	wn_data *d = open_data(s, 3, 8, 3, 0, 0);
	size_t count[3];
	double only_b[3] = { 0, 5, 0 };
	cr_assert_eq(wn_data_set_weights(d, only_b), 0);
	cr_assert_float_eq(wn_data_weight(d, 1), 1.0, 0);
	draw(d, &m, 500, 10, count);
	cr_assert_eq(count[1], 500);
	/* refused weights leave the present ones */
	double bad[4][3] = { { -1, 1, 1 }, { 0, 0, 0 }, { NAN, 1, 1 }, { INFINITY, 1, 1 } };
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(wn_data_set_weights(d, bad[k]), -1, "weights %d accepted", k);
		cr_assert_float_eq(wn_data_weight(d, 0), 0.0, 0);
		cr_assert_float_eq(wn_data_weight(d, 1), 1.0, 0);
	}
	double two[3] = { 1, 0, 3 };
	cr_assert_eq(wn_data_set_weights(d, two), 0);
	draw(d, &m, 4000, 20, count);
	cr_assert_eq(count[1], 0);
	cr_assert(fabs((double)count[2] / 4000 - 0.75) < 0.035, "%zu of 4000", count[2]);
	wn_data_close(d);
	free_mix(&m);
	tu_rmdir();
}

/* ---- state ---- */

static void expect_same_batches(wn_data *a, wn_data *b, int batches, size_t B)
{
	batch x = new_batch(B, 8), y = new_batch(B, 8);
	size_t n = B * 8 * 4;
	for (int k = 0; k < batches; k++) {
		next(a, &x);
		next(b, &y);
		cr_assert(!memcmp(x.in, y.in, n) && !memcmp(x.tg, y.tg, n) && !memcmp(x.pos, y.pos, n) &&
				  !memcmp(x.ss, y.ss, n) && !memcmp(x.dom, y.dom, B * sizeof(int)),
			  "batch %d after the state differs", k);
	}
	free_batch(&x);
	free_batch(&y);
}

Test(data_state, a_loaded_state_continues_the_batches)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 2, WN_PACK_BESTFIT);
	wn_data_spec s[2] = { { "a", m.file[0], 2.0, NULL }, { "b", m.file[1], 1.0, NULL } };
	wn_data *d = open_data(s, 2, 8, 77, 3, 1);
	cr_assert_eq(wn_data_state_size(d), 8 + 32 + 2 * 32);
	/* past the first epoch of both domains, with new weights on the way */
	uint64_t nt = wn_data_train_windows(d, 0) + wn_data_train_windows(d, 1);
	batch b = new_batch(5, 8);
	for (uint64_t k = 0; k < 2 * nt / 5 + 3; k++) next(d, &b);
	double w[2] = { 1, 3 };
	cr_assert_eq(wn_data_set_weights(d, w), 0);
	next(d, &b);
	size_t len = wn_data_state_size(d);
	unsigned char *st = malloc(len);
	wn_data_state_save(d, st);

	wn_data *e = open_data(s, 2, 8, 77, 3, 1);
	char err[600];
	cr_assert_eq(wn_data_state_load(e, st, len, err, sizeof err), 0, "%s", err);
	cr_assert_float_eq(wn_data_weight(e, 1), 0.75, 1e-15);
	expect_same_batches(d, e, 60, 7);
	/* saving again at the same point gives the same bytes */
	unsigned char *s1 = malloc(len), *s2 = malloc(len);
	wn_data_state_save(d, s1);
	wn_data_state_save(e, s2);
	cr_assert(!memcmp(s1, s2, len));
	/* and a fresh run, without the state, reads other batches */
	wn_data *f = open_data(s, 2, 8, 77, 3, 1);
	batch x = new_batch(5, 8);
	next(d, &b);
	next(f, &x);
	cr_assert(memcmp(b.in, x.in, 5 * 8 * 4), "the state changed nothing");
	free_batch(&x);
	free_batch(&b);
	free(st);
	free(s1);
	free(s2);
	wn_data_close(d);
	wn_data_close(e);
	wn_data_close(f);
	free_mix(&m);
	tu_rmdir();
}

Test(data_state, saved_at_the_end_of_an_epoch)
{
	tu_mkdtemp();
	corpus c = make_corpus(30, 2, 50, 12);
	const char *f = pack(tu_path("e"), &c, 8, WN_PACK_CONCAT, NULL, NULL);
	wn_data_spec s = { "e", f, 1, NULL };
	wn_data *d = open_data(&s, 1, 8, 5, 2, 0);
	uint64_t nt = wn_data_train_windows(d, 0);
	batch b = new_batch(1, 8);
	for (uint64_t k = 0; k < nt; k++) next(d, &b); /* exactly one epoch */
	size_t len = wn_data_state_size(d);
	unsigned char *st = malloc(len);
	wn_data_state_save(d, st);
	wn_data *e = open_data(&s, 1, 8, 5, 2, 0);
	char err[600];
	cr_assert_eq(wn_data_state_load(e, st, len, err, sizeof err), 0, "%s", err);
	expect_same_batches(d, e, (int)nt + 5, 1);
	free(st);
	free_batch(&b);
	wn_data_close(d);
	wn_data_close(e);
	free_corpus(&c);
	tu_rmdir();
}

Test(data_state, a_state_that_does_not_fit_is_refused)
{
	tu_mkdtemp();
	mix m;
	make_mix(&m, 2, WN_PACK_CONCAT);
	wn_data_spec s[2] = { { "a", m.file[0], 1, NULL }, { "b", m.file[1], 1, NULL } };
	wn_data *d = open_data(s, 2, 8, 1, 3, 0);
	size_t len = wn_data_state_size(d);
	unsigned char *st = malloc(len + 1);
	wn_data_state_save(d, st);
	char err[600];
	/* another number of domains */
	wn_data *one = open_data(s, 1, 8, 1, 3, 0);
	cr_assert_eq(wn_data_state_load(one, st, len, err, sizeof err), -1);
	cr_assert(strstr(err, "this run has 1"), "%s", err);
	/* cut short, too long, nothing, not a state */
	cr_assert_eq(wn_data_state_load(d, st, len - 1, err, sizeof err), -1);
	cr_assert_eq(wn_data_state_load(d, st, len + 1, err, sizeof err), -1);
	cr_assert_eq(wn_data_state_load(d, st, 4, err, sizeof err), -1);
	cr_assert(strstr(err, "no domains"), "%s", err);
	st[0] ^= 1;
	cr_assert_eq(wn_data_state_load(d, st, len, err, sizeof err), -1);
	st[0] ^= 1;
	/* other splits (another eval count): the domain named */
	wn_data *other = open_data(s, 2, 8, 1, 1, 0);
	cr_assert_eq(wn_data_state_load(other, st, len, err, sizeof err), -1);
	cr_assert(strstr(err, "'a'") || strstr(err, "'b'"), "%s", err);
	cr_assert(strstr(err, "training windows"), "%s", err);
	/* a cursor past the end */
	uint64_t big = 1u << 30;
	memcpy(st + 40 + 8, &big, 8);
	cr_assert_eq(wn_data_state_load(d, st, len, err, sizeof err), -1);
	free(st);

	/* a refused state changes nothing: not the random stream, not the
	 * domains before the one that does not fit */
	wn_data *x = open_data(s, 2, 8, 4, 3, 0), *twin = open_data(s, 2, 8, 4, 3, 0);
	wn_data *ahead = open_data(s, 2, 8, 4, 3, 0);
	batch b = new_batch(3, 8);
	for (int k = 0; k < 10; k++) {
		next(x, &b);
		next(twin, &b);
	}
	for (int k = 0; k < 37; k++) next(ahead, &b);
	st = malloc(len);
	wn_data_state_save(ahead, st);
	uint64_t nt;
	memcpy(&nt, st + 40 + 32 + 16, 8); /* domain b's training windows */
	nt++;
	memcpy(st + 40 + 32 + 16, &nt, 8);
	cr_assert_eq(wn_data_state_load(x, st, len, err, sizeof err), -1);
	cr_assert(strstr(err, "'b'"), "%s", err);
	expect_same_batches(x, twin, 20, 3);
	free(st);
	free_batch(&b);
	wn_data_close(x);
	wn_data_close(twin);
	wn_data_close(ahead);
	wn_data_close(d);
	wn_data_close(one);
	wn_data_close(other);
	free_mix(&m);
	tu_rmdir();
}

/* ---- what the loader tells ---- */

Test(data_open, describes_the_files)
{
	tu_mkdtemp();
	corpus a = make_corpus(40, 2, 30, 10), b = make_corpus(41, 40000, 30, 10);
	const char *fa = pack(tu_path("a"), &a, 8, WN_PACK_CONCAT, NULL, NULL);
	pack(tu_path("b"), &b, 8, WN_PACK_BESTFIT, NULL, NULL);
	/* a path with .wtok and a bare prefix */
	wn_data_spec s[2] = { { "first", fa, 1, NULL }, { "second", tu_path("b"), 1, NULL } };
	wn_data *d = open_data(s, 2, 0, 1, 2, 0);
	cr_assert_eq(wn_data_domains(d), 2);
	cr_assert_eq(wn_data_seq_len(d), 8);
	cr_assert_str_eq(wn_data_name(d, 0), "first");
	cr_assert_str_eq(wn_data_name(d, 1), "second");
	cr_assert_eq(wn_data_eos(d), EOS);
	cr_assert_str_eq(wn_data_tokenizer(d), "test tokenizer");
	uint32_t maxb = b.ids[0][0];
	for (size_t i = 0; i < b.ndocs; i++)
		for (size_t k = 0; k < b.len[i]; k++) maxb = b.ids[i][k] > maxb ? b.ids[i][k] : maxb;
	cr_assert_eq(wn_data_max_id(d), maxb);
	cr_assert_eq(wn_data_vocab(d), VOCAB);
	wn_data_close(d);
	wn_data_close(NULL);
	free_corpus(&a);
	free_corpus(&b);
	tu_rmdir();
}

/* ---- errors ---- */

static void expect_refused(const wn_data_spec *s, int n, uint32_t vocab, int seq_len, const char *w1,
			   const char *w2)
{
	char err[1200] = "";
	wn_data *d = wn_data_open(s, n, vocab, seq_len, 1, 10, 0, err, sizeof err);
	cr_assert_null(d, "accepted (expected '%s')", w1);
	cr_assert(strstr(err, w1), "message '%s' lacks '%s'", err, w1);
	if (w2) cr_assert(strstr(err, w2), "message '%s' lacks '%s'", err, w2);
}

Test(data_errors, files_and_options_refused)
{
	tu_mkdtemp();
	corpus c = make_corpus(50, 2, 40, 10);
	const char *f8 = pack(tu_path("t8"), &c, 8, WN_PACK_CONCAT, NULL, NULL);
	const char *f16 = pack(tu_path("t16"), &c, 16, WN_PACK_CONCAT, NULL, NULL);

	/* windows of another length */
	wn_data_spec two[2] = { { "a", f8, 1, NULL }, { "b", f16, 1, NULL } };
	expect_refused(two, 2, 0, 0, "t16.wtok", "expected 8");
	wn_data_spec one = { "a", f8, 1, NULL };
	expect_refused(&one, 1, 0, 16, "t8.wtok", "expected 16");
	wn_data_spec ev = { "a", f8, 1, f16 };
	expect_refused(&ev, 1, 0, 0, "t16.wtok", "seq_len");

	/* weights */
	wn_data_spec w[2] = { { "a", f8, -1, NULL }, { "b", f8, 1, NULL } };
	expect_refused(w, 2, 0, 0, "'a'", ">= 0");
	w[0].weight = INFINITY;
	expect_refused(w, 2, 0, 0, "'a'", ">= 0");
	w[0].weight = 0;
	w[1].weight = 0;
	expect_refused(w, 2, 0, 0, "all 0", NULL);
	/* a domain twice */
	w[0].weight = w[1].weight = 1;
	w[1].name = "a";
	expect_refused(w, 2, 0, 0, "'a' given twice", NULL);
	expect_refused(w, 0, 0, 0, "no data", NULL);

	/* other formats, written by the same packer */
	wn_pack_opts mo = { .format = WN_PACK_MEGATRON, .vocab_size = VOCAB, .eos_id = EOS };
	char err[600];
	wn_pack *p = wn_pack_open(tu_path("mg"), &mo, err, sizeof err);
	cr_assert(p, "%s", err);
	for (size_t i = 0; i < c.ndocs; i++) wn_pack_doc(p, c.ids[i], c.len[i]);
	cr_assert_eq(wn_pack_close(p, NULL, err, sizeof err), 0, "%s", err);
	mo.format = WN_PACK_LLMC;
	p = wn_pack_open(tu_path("ll"), &mo, err, sizeof err);
	cr_assert(p, "%s", err);
	for (size_t i = 0; i < c.ndocs; i++) wn_pack_doc(p, c.ids[i], c.len[i]);
	cr_assert_eq(wn_pack_close(p, NULL, err, sizeof err), 0, "%s", err);
	const char *foreign[][3] = { { "mg.idx", "mg.idx", "not a winnow token file" },
				     { "mg.bin", "mg.bin", "not a winnow token file" },
				     { "ll.bin", "ll.bin", "not a winnow token file" },
				     { "mg", "mg.wtok", "missing" } };
	for (int k = 0; k < 4; k++) {
		wn_data_spec s = { "x", tu_path(foreign[k][0]), 1, NULL };
		expect_refused(&s, 1, 0, 0, foreign[k][1], foreign[k][2]);
	}
	/* a text file, a missing file, an eval file missing */
	cr_assert_eq(tu_write_file(tu_path("notes.wtok"), "hello\n", 6), 0);
	wn_data_spec s = { "x", tu_path("notes.wtok"), 1, NULL };
	expect_refused(&s, 1, 0, 0, "notes.wtok", "not a winnow token file");
	s.path = tu_path("absent.wtok");
	expect_refused(&s, 1, 0, 0, "absent.wtok", NULL);
	s.path = f8;
	s.eval_path = tu_path("gone.wtok");
	expect_refused(&s, 1, 0, 0, "gone.wtok", NULL);
	/* ids past the vocabulary the model has */
	s.eval_path = NULL;
	expect_refused(&s, 1, 100, 0, "t8.wtok", "vocabulary");
	/* nothing to train on */
	corpus none = make_corpus(51, 2, 0, 1);
	const char *f0 = pack(tu_path("empty"), &none, 8, WN_PACK_CONCAT, NULL, NULL);
	s.path = f0;
	expect_refused(&s, 1, 0, 0, "empty.wtok", "no windows");
	free_corpus(&none);
	free_corpus(&c);
	tu_rmdir();
}
