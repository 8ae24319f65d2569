/* test_bpe_train.c - tokenize/bpe_train.c: the pre-token counter, the
 * trainer against a brute-force reference, determinism, specials, the
 * .tiktoken and tokenizer.json writers, and merge-order vs rank-order
 * encoding of the training words. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../lib/buf.h"
#include "../../lib/err.h"
#include "../../tokenize/bpe_train.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* corpora: lists of (bytes, count)                                    */
/* ------------------------------------------------------------------ */

typedef struct {
	unsigned char *b;
	size_t len;
	uint64_t cnt;
} rw;

typedef struct {
	rw *w;
	size_t n, cap;
} corpus;

static void corpus_add(corpus *c, const void *b, size_t len, uint64_t cnt)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->w[i].len == len && !memcmp(c->w[i].b, b, len)) {
			c->w[i].cnt += cnt;
			return;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->w = realloc(c->w, c->cap * sizeof *c->w);
	}
	c->w[c->n].b = malloc(len + 1);
	memcpy(c->w[c->n].b, b, len);
	c->w[c->n].len = len;
	c->w[c->n].cnt = cnt;
	c->n++;
}

static void corpus_free(corpus *c)
{
	for (size_t i = 0; i < c->n; i++) free(c->w[i].b);
	free(c->w);
	memset(c, 0, sizeof *c);
}

/* words over a small alphabet (with 0x00, 0xff and repeats), random
 * counts: many ties and overlapping pairs */
static void corpus_random(corpus *c, uint64_t seed, size_t nwords, const char *alpha,
			  size_t nalpha)
{
	tu_rng r = { seed };
	unsigned char buf[64];
	for (size_t i = 0; i < nwords; i++) {
		size_t len = 1 + tu_below(&r, 14);
		if (tu_below(&r, 10) == 0) { /* a run of one byte */
			unsigned char x = (unsigned char)alpha[tu_below(&r, (uint32_t)nalpha)];
			memset(buf, x, len);
		} else {
			for (size_t k = 0; k < len; k++)
				buf[k] = (unsigned char)alpha[tu_below(&r, (uint32_t)nalpha)];
		}
		uint64_t cnt = 1 + tu_below(&r, 3) * tu_below(&r, 40);
		corpus_add(c, buf, len, cnt);
	}
}

/* a simple GPT-2-like split: a run of letters/digits/UTF-8 (bytes >=
 * 0x80) with an optional leading space; a run of other non-space bytes
 * with an optional leading space; a run of white space */
static void corpus_text(corpus *c, const char *t, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t s = i;
		unsigned char x = (unsigned char)t[i];
#define WORDY(ch) (((ch) >= 'a' && (ch) <= 'z') || ((ch) >= 'A' && (ch) <= 'Z') || \
		   ((ch) >= '0' && (ch) <= '9') || (ch) >= 0x80)
#define SPACE(ch) ((ch) == ' ' || (ch) == '\n' || (ch) == '\t' || (ch) == '\r')
		if (x == ' ' && i + 1 < n && !SPACE((unsigned char)t[i + 1])) {
			i++;
			x = (unsigned char)t[i];
		}
		if (WORDY(x)) {
			while (i < n && WORDY((unsigned char)t[i])) i++;
		} else if (!SPACE(x)) {
			while (i < n && !WORDY((unsigned char)t[i]) && !SPACE((unsigned char)t[i])) i++;
		} else {
			while (i < n && SPACE((unsigned char)t[i])) i++;
		}
		corpus_add(c, t + s, i - s, 1);
	}
}

static const char TEXT[] =
	"It was the best of times, it was the worst of times, it was the age of wisdom, "
	"it was the age of foolishness, it was the epoch of belief, it was the epoch of "
	"incredulity, it was the season of Light, it was the season of Darkness.\n\n"
	"Call me Ishmael. Some years ago - never mind how long precisely - having little "
	"or no money in my purse, and nothing particular to interest me on shore, I thought "
	"I would sail about a little and see the watery part of the world.\n"
	"aaaaaa aaaaaaa aaaaaaaaaa aa aaa bbbbbb ababab abababab aabbaabb\n"
	"床前明月光，疑是地上霜。举头望明月，低头思故乡。白日依山尽，黄河入海流。"
	"欲穷千里目，更上一层楼。明月明月明月。\n"
	"Ünïcödé naïve café résumé Straße Ελληνικά русский текст текст текст\n"
	"emoji 😀😀😀 🎉🎉 mixed 123 4567 89 000000 1,000,000.00 $$$ !!! ??? ...\n"
	"\t\tindented    spaces      and\r\nCRLF lines\n";

static void corpus_bytes_extra(corpus *c)
{
	static const unsigned char odd[][8] = {
		{ 0, 0, 0, 0 }, { 0xff, 0xff, 0xff }, { 0, 0xff, 0, 0xff }, { 0xff, 0 }, { 0x7f, 0x80 },
	};
	static const size_t oddlen[] = { 4, 3, 4, 2, 2 };
	for (int k = 0; k < 5; k++) corpus_add(c, odd[k], oddlen[k], 3 + (uint64_t)k);
}

static wn_bpe_counts *counts_of(const corpus *c, int reverse)
{
	wn_bpe_counts *m = wn_bpe_counts_new();
	for (size_t i = 0; i < c->n; i++) {
		const rw *w = &c->w[reverse ? c->n - 1 - i : i];
		wn_bpe_counts_add(m, w->b, w->len, w->cnt);
	}
	return m;
}

/* ------------------------------------------------------------------ */
/* the brute-force reference trainer: recount every pair at each step  */
/* ------------------------------------------------------------------ */

typedef struct {
	unsigned char **tb; /* token bytes */
	size_t *tl;
	size_t ntok;
	wn_bpe_merge *m;
	size_t nm;
	int stopped_early;
	uint32_t **ws;      /* final segmentation of every corpus word */
	size_t *wl;
} ref_out;

typedef struct {
	uint32_t a, b;
	int64_t cnt;
} rpair;

static int rpair_key_cmp(const void *x, const void *y)
{
	const rpair *p = x, *q = y;
	if (p->a != q->a) return p->a < q->a ? -1 : 1;
	if (p->b != q->b) return p->b < q->b ? -1 : 1;
	return 0;
}

static int cat_cmp(const ref_out *R, uint32_t a1, uint32_t b1, uint32_t a2, uint32_t b2)
{
	unsigned char x[4096], y[4096];
	size_t nx = R->tl[a1] + R->tl[b1], ny = R->tl[a2] + R->tl[b2];
	memcpy(x, R->tb[a1], R->tl[a1]);
	memcpy(x + R->tl[a1], R->tb[b1], R->tl[b1]);
	memcpy(y, R->tb[a2], R->tl[a2]);
	memcpy(y + R->tl[a2], R->tb[b2], R->tl[b2]);
	int c = memcmp(x, y, nx < ny ? nx : ny);
	if (c) return c;
	return nx < ny ? -1 : nx > ny;
}

static void ref_train(const corpus *c, size_t target, int64_t minf, uint64_t minword, ref_out *R)
{
	memset(R, 0, sizeof *R);
	size_t cap = target + 1;
	R->tb = calloc(cap, sizeof *R->tb);
	R->tl = calloc(cap, sizeof *R->tl);
	for (int b = 0; b < 256; b++) {
		R->tb[b] = malloc(1);
		R->tb[b][0] = (unsigned char)b;
		R->tl[b] = 1;
	}
	R->ntok = 256;
	R->m = calloc(4 * cap + 1, sizeof *R->m);
	R->ws = calloc(c->n + 1, sizeof *R->ws);
	R->wl = calloc(c->n + 1, sizeof *R->wl);
	size_t nsym = 0;
	for (size_t i = 0; i < c->n; i++) {
		R->ws[i] = malloc((c->w[i].len + 1) * sizeof **R->ws);
		for (size_t k = 0; k < c->w[i].len; k++) R->ws[i][k] = c->w[i].b[k];
		R->wl[i] = c->w[i].len;
		nsym += c->w[i].len;
	}
	rpair *pr = malloc((nsym + 1) * sizeof *pr);
	while (R->ntok < target) {
		size_t np = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (c->w[i].cnt < minword) continue;
			for (size_t k = 0; k + 1 < R->wl[i]; k++)
				pr[np++] = (rpair){ R->ws[i][k], R->ws[i][k + 1], (int64_t)c->w[i].cnt };
		}
		qsort(pr, np, sizeof *pr, rpair_key_cmp);
		int have = 0;
		rpair best = { 0, 0, 0 };
		for (size_t i = 0; i < np;) {
			rpair s = pr[i];
			size_t j = i + 1;
			while (j < np && pr[j].a == s.a && pr[j].b == s.b) s.cnt += pr[j++].cnt;
			i = j;
			if (s.cnt < minf) continue;
			if (!have || s.cnt > best.cnt ||
			    (s.cnt == best.cnt && cat_cmp(R, s.a, s.b, best.a, best.b) < 0)) {
				/* pairs come in (a, b) order, so the first of equal
				 * bytes already has the smaller ids */
				best = s;
				have = 1;
			}
		}
		if (!have) {
			R->stopped_early = 1;
			break;
		}
		unsigned char buf[4096];
		size_t n = R->tl[best.a] + R->tl[best.b];
		memcpy(buf, R->tb[best.a], R->tl[best.a]);
		memcpy(buf + R->tl[best.a], R->tb[best.b], R->tl[best.b]);
		uint32_t t = UINT32_MAX;
		for (size_t k = 0; k < R->ntok; k++)
			if (R->tl[k] == n && !memcmp(R->tb[k], buf, n)) t = (uint32_t)k;
		if (t == UINT32_MAX) {
			t = (uint32_t)R->ntok++;
			R->tb[t] = malloc(n);
			memcpy(R->tb[t], buf, n);
			R->tl[t] = n;
		}
		int again = 0;
		for (size_t k = 0; k < R->nm; k++)
			if (R->m[k].a == best.a && R->m[k].b == best.b) again = 1;
		if (!again) R->m[R->nm++] = (wn_bpe_merge){ best.a, best.b, t };
		for (size_t i = 0; i < c->n; i++) {
			if (c->w[i].cnt < minword) continue;
			size_t j = 0, k = 0, len = R->wl[i];
			uint32_t *s = R->ws[i];
			while (k < len) {
				if (k + 1 < len && s[k] == best.a && s[k + 1] == best.b) {
					s[j++] = t;
					k += 2;
				} else {
					s[j++] = s[k++];
				}
			}
			R->wl[i] = j;
		}
	}
	free(pr);
}

static void ref_free(ref_out *R, size_t nwords)
{
	for (size_t k = 0; k < R->ntok; k++) free(R->tb[k]);
	free(R->tb);
	free(R->tl);
	free(R->m);
	for (size_t i = 0; i < nwords; i++) free(R->ws[i]);
	free(R->ws);
	free(R->wl);
}

static wn_bpe_vocab *train(const wn_bpe_counts *m, size_t vocab, uint64_t minf, int threads)
{
	wn_bpe_train_opts o = { 0 };
	o.vocab_size = vocab;
	o.min_frequency = minf;
	o.threads = threads;
	wn_bpe_vocab *v = NULL;
	char err[256] = "";
	int rc = wn_bpe_train(m, &o, &v, err, sizeof err);
	cr_assert_eq(rc, 0, "train failed: %s", err);
	cr_assert_not_null(v);
	return v;
}

/* The trainer's vocabulary and merges equal the reference's. */
static void expect_same(const wn_bpe_vocab *v, const ref_out *R, const char *what)
{
	cr_assert_eq(v->n_tokens, R->ntok, "%s: %zu tokens, reference %zu", what, v->n_tokens,
		     R->ntok);
	cr_assert_eq(v->n_merges, R->nm, "%s: %zu merges, reference %zu", what, v->n_merges,
		     R->nm);
	for (size_t k = 0; k < R->nm; k++) {
		const wn_bpe_merge *a = &v->merges[k], *b = &R->m[k];
		cr_assert(a->a == b->a && a->b == b->b && a->t == b->t,
			  "%s: merge %zu is (%u,%u)->%u, reference (%u,%u)->%u", what, k, a->a, a->b,
			  a->t, b->a, b->b, b->t);
	}
	for (size_t r = 0; r < R->ntok; r++) {
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, r, &len);
		cr_assert(len == R->tl[r] && !memcmp(t, R->tb[r], len), "%s: token %zu differs",
			  what, r);
	}
	cr_assert_eq(v->stats.stopped_early, R->stopped_early, "%s: stopped_early", what);
}

/* ------------------------------------------------------------------ */
/* the counter                                                         */
/* ------------------------------------------------------------------ */

Test(bpe_counts, random_adds_match_reference)
{
	tu_rng r = { 11 };
	corpus ref = { 0 };
	wn_bpe_counts *m = wn_bpe_counts_new();
	wn_bpe_counts *half[2] = { wn_bpe_counts_new(), wn_bpe_counts_new() };
	uint64_t total = 0;
	unsigned char key[40];
	for (int i = 0; i < 30000; i++) {
		/* 0..39 bytes of a 4-letter alphabet with NUL and 0xff: many repeats */
		size_t len = tu_below(&r, 6) == 0 ? 0 : tu_below(&r, 5);
		if (tu_below(&r, 50) == 0) len = 20 + tu_below(&r, 20);
		static const unsigned char al[] = { 'a', 'b', 0, 0xff };
		for (size_t k = 0; k < len; k++) key[k] = al[tu_below(&r, 4)];
		uint64_t n = 1 + tu_below(&r, 1000);
		if (tu_below(&r, 1000) == 0) n = (uint64_t)1 << 40;
		wn_bpe_counts_add(m, key, len, n);
		wn_bpe_counts_add(half[i & 1], key, len, n);
		corpus_add(&ref, key, len, n);
		total += n;
	}
	cr_assert_eq(wn_bpe_counts_size(m), ref.n);
	cr_assert_eq(wn_bpe_counts_total(m), total);
	for (size_t i = 0; i < ref.n; i++) {
		cr_assert_eq(wn_bpe_counts_get(m, ref.w[i].b, ref.w[i].len), ref.w[i].cnt);
		/* first-insertion order is the reference's order */
		size_t len;
		uint64_t cnt;
		const unsigned char *k = wn_bpe_counts_key(m, i, &len, &cnt);
		cr_assert(len == ref.w[i].len && !memcmp(k, ref.w[i].b, len) && cnt == ref.w[i].cnt,
			  "entry %zu", i);
	}
	cr_assert_eq(wn_bpe_counts_get(m, "zzz", 3), 0);
	/* merged halves hold the same counts */
	wn_bpe_counts_merge(half[0], half[1]);
	cr_assert_eq(wn_bpe_counts_size(half[0]), ref.n);
	cr_assert_eq(wn_bpe_counts_total(half[0]), total);
	for (size_t i = 0; i < ref.n; i++)
		cr_assert_eq(wn_bpe_counts_get(half[0], ref.w[i].b, ref.w[i].len), ref.w[i].cnt);
	cr_assert_gt(wn_bpe_counts_mem(m), 0);
	wn_bpe_counts_clear(m);
	cr_assert_eq(wn_bpe_counts_size(m), 0);
	cr_assert_eq(wn_bpe_counts_get(m, ref.w[0].b, ref.w[0].len), 0);
	wn_bpe_counts_add(m, "x", 1, 2);
	cr_assert_eq(wn_bpe_counts_get(m, "x", 1), 2);
	wn_bpe_counts_free(m);
	wn_bpe_counts_free(half[0]);
	wn_bpe_counts_free(half[1]);
	wn_bpe_counts_free(NULL);
	corpus_free(&ref);
}

Test(bpe_counts, many_distinct_keys)
{
	wn_bpe_counts *m = wn_bpe_counts_new();
	char k[32];
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 300000; i++) {
			int n = snprintf(k, sizeof k, "w%d", i);
			wn_bpe_counts_add(m, k, (size_t)n, (uint64_t)(i % 7) + 1);
		}
	cr_assert_eq(wn_bpe_counts_size(m), 300000);
	for (int i = 0; i < 300000; i += 997) {
		int n = snprintf(k, sizeof k, "w%d", i);
		cr_assert_eq(wn_bpe_counts_get(m, k, (size_t)n), 2 * ((uint64_t)(i % 7) + 1));
	}
	wn_bpe_counts_free(m);
}

/* ------------------------------------------------------------------ */
/* the trainer against the reference                                   */
/* ------------------------------------------------------------------ */

static void check_against_ref(const corpus *c, size_t vocab, uint64_t minf, const char *what)
{
	wn_bpe_counts *m = counts_of(c, 0);
	/* vocab_size counts <|endoftext|>: the reference's target is one less */
	ref_out R;
	ref_train(c, vocab - 1, minf ? (int64_t)minf : 2, 0, &R);
	for (int threads = 1; threads <= 2; threads++) {
		wn_bpe_vocab *v = train(m, vocab, minf, threads);
		char w[128];
		snprintf(w, sizeof w, "%s, vocab %zu, %d thread%s", what, vocab, threads,
			 threads > 1 ? "s" : "");
		expect_same(v, &R, w);
		wn_bpe_vocab_free(v);
	}
	ref_free(&R, c->n);
	wn_bpe_counts_free(m);
}

Test(bpe_train, matches_reference_random)
{
	static const char ab[] = { 'a', 'b' };
	static const char abc0[] = { 'a', 'b', 'c', 0, (char)0xff };
	static const char wide[] = "etaoinshrdlu \x00\xff\xc3\xa9";
	for (uint64_t seed = 1; seed <= 3; seed++) {
		corpus c = { 0 };
		corpus_random(&c, seed, 400, ab, sizeof ab);
		check_against_ref(&c, 450, 0, "random {a,b}");
		corpus_free(&c);
		corpus_random(&c, seed + 100, 800, abc0, sizeof abc0);
		check_against_ref(&c, 600, 0, "random {a,b,c,00,ff}");
		check_against_ref(&c, 300, 5, "random {a,b,c,00,ff}, min_frequency 5");
		check_against_ref(&c, 300, 1, "random {a,b,c,00,ff}, min_frequency 1");
		corpus_free(&c);
		corpus_random(&c, seed + 200, 1500, wide, sizeof wide - 1);
		check_against_ref(&c, 600, 0, "random, 17 letters");
		corpus_free(&c);
	}
}

Test(bpe_train, matches_reference_text)
{
	corpus c = { 0 };
	for (int rep = 0; rep < 3; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	corpus_bytes_extra(&c);
	check_against_ref(&c, 600, 0, "text");
	check_against_ref(&c, 600, 1, "text, min_frequency 1");
	corpus_free(&c);
}

Test(bpe_train, matches_reference_real_text)
{
	/* the first 60 kB of Moby-Dick when the data cache has it */
	char dir[512], path[1024];
	tu_cache_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/bench/filter-corpus/moby.jsonl", dir);
	size_t n;
	char *t = tu_read_file(path, &n);
	if (!t) {
		cr_log_info("skipped: %s not found (scripts/fetch-data.sh)", path);
		return;
	}
	if (n > 60000) n = 60000;
	corpus c = { 0 };
	corpus_text(&c, t, n);
	free(t);
	check_against_ref(&c, 600, 0, "moby-dick");
	corpus_free(&c);
}

Test(bpe_train, deterministic_over_threads_and_order)
{
	static const char al[] = "abcdefgh \x00\xff";
	corpus c = { 0 };
	corpus_random(&c, 77, 40000, al, sizeof al - 1);
	for (int rep = 0; rep < 5; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	cr_assert_gt(c.n, 3 * 4096, "want enough words for several setup threads");
	wn_bpe_counts *fwd = counts_of(&c, 0), *rev = counts_of(&c, 1);
	wn_bpe_vocab *base = train(fwd, 2000, 0, 1);
	cr_assert_eq(base->stats.threads, 1);
	for (int threads = 1; threads <= 4; threads++)
		for (int order = 0; order < 2; order++) {
			wn_bpe_vocab *v = train(order ? rev : fwd, 2000, 0, threads);
			cr_assert_eq(v->stats.threads, threads);
			cr_assert_eq(v->n_tokens, base->n_tokens);
			cr_assert_eq(v->n_merges, base->n_merges);
			cr_assert(!memcmp(v->merges, base->merges, v->n_merges * sizeof *v->merges),
				  "merges differ with %d threads, order %d", threads, order);
			cr_assert(!memcmp(v->off, base->off, (v->n_tokens + 1) * sizeof *v->off));
			cr_assert(!memcmp(v->bytes, base->bytes, v->off[v->n_tokens]));
			cr_assert_eq(v->stats.tokens_out, base->stats.tokens_out);
			wn_bpe_vocab_free(v);
		}
	wn_bpe_vocab_free(base);
	wn_bpe_counts_free(fwd);
	wn_bpe_counts_free(rev);
	corpus_free(&c);
}

Test(bpe_train, stops_early)
{
	corpus c = { 0 };
	corpus_add(&c, "hello", 5, 3);
	corpus_add(&c, "help", 4, 1);
	corpus_add(&c, "x", 1, 100);
	wn_bpe_counts *m = counts_of(&c, 0);
	wn_bpe_vocab *v = train(m, 1000, 0, 1);
	/* he(4) el(4) ll(3) lo(3) lp(1): e l -> el (ties with he: "el" is
	 * smaller), h el -> hel, hel l -> hell (ties with lo), hell o ->
	 * hello; then (hel, p) has count 1 */
	cr_assert_eq(v->stats.stopped_early, 1);
	cr_assert_eq(v->n_tokens, 260);
	cr_assert_eq(v->stats.last_count, 3);
	size_t len;
	const unsigned char *t = wn_bpe_vocab_token(v, 259, &len);
	cr_assert(len == 5 && !memcmp(t, "hello", 5));
	cr_assert_eq(v->n_specials, 1);
	cr_assert_str_eq(v->specials[0], "<|endoftext|>");
	cr_assert_eq(v->stats.words, 3);
	cr_assert_eq(v->stats.bytes_in, 15 + 4 + 100);
	cr_assert_eq(v->stats.tokens_out, 3 + 2 + 100); /* hello | hel p | x */
	wn_bpe_vocab_free(v);
	/* min_frequency 1 goes on to help, then stops again */
	v = train(m, 1000, 1, 1);
	cr_assert_eq(v->stats.stopped_early, 1);
	cr_assert_eq(v->n_tokens, 261);
	wn_bpe_vocab_free(v);
	/* min_word_count drops "help" */
	wn_bpe_train_opts o = { .vocab_size = 1000, .min_word_count = 2, .min_frequency = 1 };
	char err[128];
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), 0);
	cr_assert_eq(v->stats.words_skipped, 1);
	cr_assert_eq(v->n_tokens, 260);
	wn_bpe_vocab_free(v);
	/* empty counts: no merges at all */
	wn_bpe_counts *e = wn_bpe_counts_new();
	v = train(e, 300, 0, 2);
	cr_assert_eq(v->n_tokens, 256);
	cr_assert_eq(v->n_merges, 0);
	cr_assert_eq(v->stats.stopped_early, 1);
	wn_bpe_vocab_free(v);
	wn_bpe_counts_free(e);
	wn_bpe_counts_free(m);
	corpus_free(&c);
}

Test(bpe_train, exact_vocab_size_and_specials)
{
	corpus c = { 0 };
	for (int rep = 0; rep < 4; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	wn_bpe_counts *m = counts_of(&c, 0);
	const char *sp[] = { "<|fim_prefix|>", "<|endoftext|>", "<|fim_suffix|>" };
	wn_bpe_train_opts o = { .vocab_size = 400, .specials = sp, .n_specials = 3 };
	wn_bpe_vocab *v;
	char err[128];
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), 0, "%s", err);
	cr_assert_eq(v->n_tokens + v->n_specials, 400);
	cr_assert_eq(v->n_specials, 3);
	for (int i = 0; i < 3; i++) cr_assert_str_eq(v->specials[i], sp[i], "given order kept");
	wn_bpe_vocab_free(v);
	/* without <|endoftext|>: it comes first */
	const char *sp2[] = { "<|a|>", "<|b|>" };
	o.specials = sp2;
	o.n_specials = 2;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), 0);
	cr_assert_eq(v->n_specials, 3);
	cr_assert_eq(v->n_tokens, 397);
	cr_assert_str_eq(v->specials[0], "<|endoftext|>");
	cr_assert_str_eq(v->specials[1], "<|a|>");
	cr_assert_str_eq(v->specials[2], "<|b|>");
	wn_bpe_vocab_free(v);
	/* usage errors */
	const char *dup[] = { "<|a|>", "<|a|>" };
	o.specials = dup;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), WN_EUSAGE);
	cr_assert_null(v);
	cr_assert(strstr(err, "duplicate"), "%s", err);
	const char *empty[] = { "" };
	o.specials = empty;
	o.n_specials = 1;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), WN_EUSAGE);
	const char *bad[] = { "\xff\xfe" };
	o.specials = bad;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), WN_EUSAGE);
	o.specials = sp2;
	o.n_specials = 2;
	o.vocab_size = 258;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), WN_EUSAGE);
	o.vocab_size = 259;
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), 0);
	cr_assert_eq(v->n_tokens, 256);
	cr_assert_eq(v->stats.stopped_early, 0);
	wn_bpe_vocab_free(v);
	wn_bpe_counts_free(m);
	corpus_free(&c);
}

/* ------------------------------------------------------------------ */
/* merge order (HF) vs rank order (tiktoken) on the training words     */
/* ------------------------------------------------------------------ */

/* Encode bytes by repeatedly merging the adjacent pair of lowest
 * priority: the merge rank of (x, y) (hf) or the rank of the token
 * x || y (tiktoken); leftmost on ties.  Returns the token count. */
static size_t encode(const wn_bpe_vocab *v, const unsigned char *b, size_t n, int hf,
		     uint32_t *out)
{
	for (size_t i = 0; i < n; i++) out[i] = b[i];
	for (;;) {
		size_t best_i = SIZE_MAX, best = SIZE_MAX;
		uint32_t best_t = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			size_t pri = SIZE_MAX;
			uint32_t t = 0;
			if (hf) {
				for (size_t m = 0; m < v->n_merges; m++)
					if (v->merges[m].a == out[i] && v->merges[m].b == out[i + 1]) {
						pri = m;
						t = v->merges[m].t;
						break;
					}
			} else {
				size_t la, lb;
				const unsigned char *a = wn_bpe_vocab_token(v, out[i], &la);
				const unsigned char *bb = wn_bpe_vocab_token(v, out[i + 1], &lb);
				for (size_t r = 256; r < v->n_tokens; r++) {
					size_t lr;
					const unsigned char *s = wn_bpe_vocab_token(v, r, &lr);
					if (lr == la + lb && !memcmp(s, a, la) && !memcmp(s + la, bb, lb)) {
						pri = r;
						t = (uint32_t)r;
						break;
					}
				}
			}
			if (pri < best) {
				best = pri;
				best_i = i;
				best_t = t;
			}
		}
		if (best_i == SIZE_MAX) return n;
		out[best_i] = best_t;
		memmove(out + best_i + 1, out + best_i + 2, (n - best_i - 2) * sizeof *out);
		n--;
	}
}

static void compare_encodings(const corpus *c, size_t vocab, const char *what)
{
	wn_bpe_counts *m = counts_of(c, 0);
	wn_bpe_vocab *v = train(m, vocab, 0, 2);
	ref_out R;
	ref_train(c, vocab - 1, 2, 0, &R);
	expect_same(v, &R, what);
	size_t hf_diff = 0, tk_diff = 0;
	uint64_t tk_diff_w = 0, total_w = 0;
	uint32_t *e = malloc(4096 * sizeof *e);
	for (size_t i = 0; i < c->n; i++) {
		const rw *w = &c->w[i];
		total_w += w->cnt;
		size_t n = encode(v, w->b, w->len, 1, e);
		int same = n == R.wl[i] && !memcmp(e, R.ws[i], n * sizeof *e);
		hf_diff += !same;
		n = encode(v, w->b, w->len, 0, e);
		same = n == R.wl[i] && !memcmp(e, R.ws[i], n * sizeof *e);
		tk_diff += !same;
		if (!same) tk_diff_w += w->cnt;
	}
	cr_log_info("%s, vocab %zu: %zu distinct words, %zu merges rebuilt a token; "
		    "merge-order encoding differs from training on %zu words, "
		    "rank-order (tiktoken) on %zu words (%.3f%% of occurrences)",
		    what, vocab, c->n, v->stats.dup_merges, hf_diff, tk_diff,
		    100.0 * (double)tk_diff_w / (double)(total_w ? total_w : 1));
	/* HF's lowest-merge-rank loop reproduces training exactly when no
	 * merge rebuilt an existing token (new adjacencies always hold the
	 * newest token, so no lower-ranked pair can reappear) */
	if (v->stats.dup_merges == 0) cr_expect_eq(hf_diff, 0, "%s", what);
	/* rank order may differ, but rarely */
	cr_expect_leq(tk_diff * 20, c->n, "%s: rank order differs on %zu of %zu words", what,
		      tk_diff, c->n);
	free(e);
	ref_free(&R, c->n);
	wn_bpe_vocab_free(v);
	wn_bpe_counts_free(m);
}

Test(bpe_train, merge_order_vs_rank_order)
{
	corpus c = { 0 };
	for (int rep = 0; rep < 3; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	corpus_bytes_extra(&c);
	compare_encodings(&c, 600, "text");
	corpus_free(&c);
	char dir[512], path[1024];
	tu_cache_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/bench/filter-corpus/moby.jsonl", dir);
	size_t n;
	char *t = tu_read_file(path, &n);
	if (t) {
		if (n > 40000) n = 40000;
		corpus_text(&c, t, n);
		free(t);
		compare_encodings(&c, 600, "moby-dick");
		corpus_free(&c);
	}
	static const char abc0[] = { 'a', 'b', 'c', 0, (char)0xff };
	corpus_random(&c, 5, 800, abc0, sizeof abc0);
	compare_encodings(&c, 500, "random {a,b,c,00,ff}");
	corpus_free(&c);
}

/* The same two encoders with sorted tables, for larger vocabularies. */
typedef struct {
	const wn_bpe_vocab *v;
	uint32_t *by_bytes;      /* ranks sorted by their bytes */
	wn_bpe_merge *by_pair;   /* merges sorted by (a, b); t holds the merge rank */
	uint32_t *merge_t;       /* merge rank -> resulting token */
} enc_index;

static const wn_bpe_vocab *sort_v;

static int cmp_rank_bytes(const void *x, const void *y)
{
	size_t lx, ly;
	const unsigned char *a = wn_bpe_vocab_token(sort_v, *(const uint32_t *)x, &lx);
	const unsigned char *b = wn_bpe_vocab_token(sort_v, *(const uint32_t *)y, &ly);
	int c = memcmp(a, b, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static int cmp_merge_pair(const void *x, const void *y)
{
	const wn_bpe_merge *a = x, *b = y;
	if (a->a != b->a) return a->a < b->a ? -1 : 1;
	return (a->b > b->b) - (a->b < b->b);
}

static void enc_index_init(enc_index *ix, const wn_bpe_vocab *v)
{
	ix->v = v;
	ix->by_bytes = malloc(v->n_tokens * sizeof *ix->by_bytes);
	for (size_t r = 0; r < v->n_tokens; r++) ix->by_bytes[r] = (uint32_t)r;
	sort_v = v;
	qsort(ix->by_bytes, v->n_tokens, sizeof *ix->by_bytes, cmp_rank_bytes);
	ix->by_pair = malloc((v->n_merges + 1) * sizeof *ix->by_pair);
	ix->merge_t = malloc((v->n_merges + 1) * sizeof *ix->merge_t);
	for (size_t m = 0; m < v->n_merges; m++) {
		ix->by_pair[m] = (wn_bpe_merge){ v->merges[m].a, v->merges[m].b, (uint32_t)m };
		ix->merge_t[m] = v->merges[m].t;
	}
	qsort(ix->by_pair, v->n_merges, sizeof *ix->by_pair, cmp_merge_pair);
}

static void enc_index_free(enc_index *ix)
{
	free(ix->by_bytes);
	free(ix->by_pair);
	free(ix->merge_t);
}

/* rank of the token x || y, or SIZE_MAX */
static size_t rank_of_cat(const enc_index *ix, uint32_t x, uint32_t y)
{
	size_t la, lb;
	const unsigned char *a = wn_bpe_vocab_token(ix->v, x, &la);
	const unsigned char *b = wn_bpe_vocab_token(ix->v, y, &lb);
	size_t lo = 0, hi = ix->v->n_tokens;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2, lm;
		const unsigned char *m = wn_bpe_vocab_token(ix->v, ix->by_bytes[mid], &lm);
		/* compare m with a || b */
		int c = memcmp(m, a, lm < la ? lm : la);
		if (!c && lm > la) {
			size_t k = lm - la < lb ? lm - la : lb;
			c = memcmp(m + la, b, k);
			if (!c) c = (lm > la + lb) - (lm < la + lb);
		} else if (!c) {
			c = -1; /* m is a proper prefix of a (or equal to it) */
		}
		if (!c) return ix->by_bytes[mid];
		if (c < 0) lo = mid + 1;
		else hi = mid;
	}
	return SIZE_MAX;
}

static size_t encode_fast(const enc_index *ix, const unsigned char *b, size_t n, int hf, uint32_t *out)
{
	for (size_t i = 0; i < n; i++) out[i] = b[i];
	for (;;) {
		size_t best_i = SIZE_MAX, best = SIZE_MAX;
		uint32_t best_t = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			size_t pri;
			uint32_t t = 0;
			if (hf) {
				wn_bpe_merge key = { out[i], out[i + 1], 0 };
				const wn_bpe_merge *m = bsearch(&key, ix->by_pair, ix->v->n_merges,
								sizeof key, cmp_merge_pair);
				pri = m ? m->t : SIZE_MAX;
				if (m) t = ix->merge_t[m->t];
			} else {
				pri = rank_of_cat(ix, out[i], out[i + 1]);
				t = (uint32_t)pri;
			}
			if (pri < best) {
				best = pri;
				best_i = i;
				best_t = t;
			}
		}
		if (best_i == SIZE_MAX) return n;
		out[best_i] = best_t;
		memmove(out + best_i + 1, out + best_i + 2, (n - best_i - 2) * sizeof *out);
		n--;
	}
}

Test(bpe_train, merge_order_vs_rank_order_larger)
{
	/* a 4000-token vocabulary on the first 400 kB of Moby-Dick (or the
	 * built-in text repeated with variations): every distinct training
	 * word, merge order against rank order */
	char dir[512], path[1024];
	tu_cache_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/bench/filter-corpus/moby.jsonl", dir);
	size_t n;
	char *t = tu_read_file(path, &n);
	corpus c = { 0 };
	if (t) {
		if (n > 400000) n = 400000;
		corpus_text(&c, t, n);
		free(t);
	} else {
		cr_log_info("%s not found: the built-in text instead", path);
		for (int rep = 0; rep < 20; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	}
	corpus_bytes_extra(&c);
	wn_bpe_counts *m = counts_of(&c, 0);
	wn_bpe_vocab *v = train(m, 4000, 0, 2);
	enc_index ix;
	enc_index_init(&ix, v);
	size_t diff = 0;
	uint64_t bytes = 0, tokens = 0;
	uint32_t *e1 = malloc(65536 * sizeof *e1), *e2 = malloc(65536 * sizeof *e2);
	for (size_t i = 0; i < c.n; i++) {
		if (c.w[i].len > 65536) continue;
		size_t n1 = encode_fast(&ix, c.w[i].b, c.w[i].len, 1, e1);
		size_t n2 = encode_fast(&ix, c.w[i].b, c.w[i].len, 0, e2);
		diff += n1 != n2 || memcmp(e1, e2, n1 * sizeof *e1);
		bytes += c.w[i].cnt * c.w[i].len;
		tokens += c.w[i].cnt * n1;
		if (i < 300) { /* the indexed encoders agree with the plain ones */
			size_t n3 = encode(v, c.w[i].b, c.w[i].len, 1, e2);
			cr_assert(n3 == n1 && !memcmp(e1, e2, n1 * sizeof *e1), "word %zu", i);
		}
	}
	cr_assert_lt(tokens * 3, bytes, "%llu tokens for %llu bytes", (unsigned long long)tokens,
		     (unsigned long long)bytes);
	cr_assert_eq(tokens, v->stats.tokens_out, "merge order gives the trainer's segmentation");
	cr_log_info("vocab %zu on %zu distinct words (%zu merges rebuilt a token): merge order and "
		    "rank order differ on %zu words", v->n_tokens, c.n, v->stats.dup_merges, diff);
	cr_expect_leq(diff * 100, c.n, "rank order differs on %zu of %zu words", diff, c.n);
	free(e1);
	free(e2);
	enc_index_free(&ix);
	wn_bpe_vocab_free(v);
	wn_bpe_counts_free(m);
	corpus_free(&c);
}

/* ------------------------------------------------------------------ */
/* .tiktoken                                                           */
/* ------------------------------------------------------------------ */

static int b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z') return ch - 'A';
	if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9') return ch - '0' + 52;
	if (ch == '+') return 62;
	if (ch == '/') return 63;
	return -1;
}

/* standard base64 with padding; -1 if malformed */
static long b64dec(const char *s, size_t n, unsigned char *out)
{
	if (n % 4) return -1;
	long k = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int j = 0; j < 4; j++) v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
		for (int j = 0; j < 4; j++)
			if (v[j] < 0) return -1;
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[k++] = (unsigned char)(x >> 16);
		if (s[i + 2] != '=') out[k++] = (unsigned char)(x >> 8);
		if (s[i + 3] != '=') out[k++] = (unsigned char)x;
	}
	return k;
}

static wn_bpe_vocab *train_text_vocab(size_t vocab, const char *const *sp, size_t nsp)
{
	corpus c = { 0 };
	for (int rep = 0; rep < 4; rep++) corpus_text(&c, TEXT, sizeof TEXT - 1);
	corpus_bytes_extra(&c);
	/* tokens with '"', '\' and control bytes */
	for (int rep = 0; rep < 5; rep++) {
		corpus_add(&c, "\"\\\"\\", 4, 3);
		corpus_add(&c, "\x01\x02\x7f\n\t", 5, 4);
		corpus_add(&c, "\xc2\xad\xc2\xa0", 4, 4);
	}
	wn_bpe_counts *m = counts_of(&c, 0);
	wn_bpe_train_opts o = { .vocab_size = vocab, .specials = sp, .n_specials = nsp,
				.min_frequency = 1 };
	wn_bpe_vocab *v;
	char err[256];
	cr_assert_eq(wn_bpe_train(m, &o, &v, err, sizeof err), 0, "%s", err);
	wn_bpe_counts_free(m);
	corpus_free(&c);
	return v;
}

Test(bpe_write, tiktoken_round_trip)
{
	tu_mkdtemp();
	wn_bpe_vocab *v = train_text_vocab(700, NULL, 0);
	char err[256] = "";
	const char *p = tu_path("v.tiktoken");
	cr_assert_eq(wn_bpe_write_tiktoken(v, p, err, sizeof err), 0, "%s", err);
	cr_assert_eq(tu_count_entries(tu_dir), 1, "no temporary left behind");
	size_t n;
	char *f = tu_read_file(p, &n);
	cr_assert_not_null(f);
	size_t r = 0;
	char *line = f, *end = f + n;
	unsigned char buf[4096];
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		cr_assert_not_null(nl, "last line ends with a newline");
		char *sp = memchr(line, ' ', (size_t)(nl - line));
		cr_assert_not_null(sp);
		long k = b64dec(line, (size_t)(sp - line), buf);
		cr_assert_geq(k, 1, "line %zu: bad base64", r);
		char *e;
		unsigned long rank = strtoul(sp + 1, &e, 10);
		cr_assert_eq(e, nl);
		cr_assert_eq(rank, r, "ranks ascend from 0");
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, r, &len);
		cr_assert(len == (size_t)k && !memcmp(t, buf, len), "rank %zu bytes", r);
		r++;
		line = nl + 1;
	}
	cr_assert_eq(r, v->n_tokens, "one line per token, no specials");
	for (size_t b = 0; b < 256; b++) {
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, b, &len);
		cr_assert(len == 1 && t[0] == b);
	}
	free(f);
	/* an unwritable place is an error, not a crash */
	cr_assert_eq(wn_bpe_write_tiktoken(v, "/nonexistent-dir/x.tiktoken", err, sizeof err), WN_EIO);
	wn_bpe_vocab_free(v);
	tu_rmdir();
}

/* ---- a tiny JSON parser, enough to read tokenizer.json back ---- */

typedef struct jv {
	int type; /* 'o' 'a' 's' 'n' 't' 'f' 'z' */
	char *s;  /* string (decoded, NUL-terminated; may hold no NUL here) */
	size_t slen;
	long long num;
	struct jv *kids; /* object: pairs key (string), value */
	size_t nk;
} jv;

typedef struct {
	const char *p, *end;
} jp;

static void jws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static void put_utf8(char **o, uint32_t cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp < 0x80) { *u++ = (unsigned char)cp; }
	else if (cp < 0x800) { *u++ = (unsigned char)(0xC0 | cp >> 6); *u++ = (unsigned char)(0x80 | (cp & 63)); }
	else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xE0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 63));
		*u++ = (unsigned char)(0x80 | (cp & 63));
	} else {
		*u++ = (unsigned char)(0xF0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 63));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 63));
		*u++ = (unsigned char)(0x80 | (cp & 63));
	}
	*o = (char *)u;
}

static int jhex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0) return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

static int jparse(jp *j, jv *v, int depth);

static int jstring(jp *j, jv *v)
{
	memset(v, 0, sizeof *v);
	if (j->p >= j->end || *j->p != '"') return -1;
	j->p++;
	char *o = malloc((size_t)(j->end - j->p) + 1), *s = o;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20) { free(s); return -1; } /* raw control character */
		if (c != '\\') { *o++ = (char)c; j->p++; continue; }
		if (j->end - j->p < 2) { free(s); return -1; }
		char e = j->p[1];
		j->p += 2;
		switch (e) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (j->end - j->p < 4 || jhex4(j->p, &cp)) { free(s); return -1; }
			j->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
				    jhex4(j->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) { free(s); return -1; }
				j->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) { free(s); return -1; }
			put_utf8(&o, cp);
			break;
		}
		default: free(s); return -1;
		}
	}
	if (j->p >= j->end) { free(s); return -1; }
	j->p++;
	*o = 0;
	v->type = 's';
	v->s = s;
	v->slen = (size_t)(o - s);
	return 0;
}

static int jparse(jp *j, jv *v, int depth)
{
	memset(v, 0, sizeof *v);
	if (depth > 64) return -1;
	jws(j);
	if (j->p >= j->end) return -1;
	char c = *j->p;
	if (c == '{' || c == '[') {
		v->type = c == '{' ? 'o' : 'a';
		j->p++;
		jws(j);
		size_t cap = 0;
		if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) { j->p++; return 0; }
		for (;;) {
			size_t need = v->nk + 2;
			if (need > cap) { cap = cap ? cap * 2 : 16; if (cap < need) cap = need; v->kids = realloc(v->kids, cap * sizeof *v->kids); }
			if (c == '{') {
				jws(j);
				if (jstring(j, &v->kids[v->nk])) return -1;
				v->nk++;
				jws(j);
				if (j->p >= j->end || *j->p != ':') return -1;
				j->p++;
			}
			if (jparse(j, &v->kids[v->nk], depth + 1)) return -1;
			v->nk++;
			jws(j);
			if (j->p < j->end && *j->p == ',') { j->p++; continue; }
			if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) { j->p++; return 0; }
			return -1;
		}
	}
	if (c == '"') return jstring(j, v);
	if (!strncmp(j->p, "true", 4)) { j->p += 4; v->type = 't'; return 0; }
	if (!strncmp(j->p, "false", 5)) { j->p += 5; v->type = 'f'; return 0; }
	if (!strncmp(j->p, "null", 4)) { j->p += 4; v->type = 'z'; return 0; }
	if (c == '-' || (c >= '0' && c <= '9')) {
		char *e;
		v->num = strtoll(j->p, &e, 10);
		if (*e == '.' || *e == 'e' || *e == 'E') return -1; /* no floats here */
		j->p = e;
		v->type = 'n';
		return 0;
	}
	return -1;
}

static void jfree(jv *v)
{
	if (v->type == 'o' || v->type == 'a')
		for (size_t i = 0; i < v->nk; i++) jfree(&v->kids[i]);
	free(v->kids);
	free(v->s);
}

static const jv *jget(const jv *o, const char *key)
{
	if (!o || o->type != 'o') return NULL;
	for (size_t i = 0; i + 1 < o->nk; i += 2)
		if (!strcmp(o->kids[i].s, key)) return &o->kids[i + 1];
	return NULL;
}

/* byte-level string -> bytes; -1 if a character is not in the map */
static long bl_bytes(const char *s, size_t n, unsigned char *out)
{
	long k = 0;
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		if (c < 0x80) { cp = c; i++; }
		else if ((c & 0xE0) == 0xC0 && i + 1 < n) { cp = (uint32_t)(c & 31) << 6 | ((unsigned char)s[i + 1] & 63); i += 2; }
		else return -1;
		int b = -1;
		for (int x = 0; x < 256; x++)
			if (wn_bpe_byte_to_unicode((unsigned char)x) == cp) b = x;
		if (b < 0) return -1;
		out[k++] = (unsigned char)b;
	}
	return k;
}

Test(bpe_write, byte_to_unicode_is_gpt2s)
{
	/* printable bytes map to themselves, the rest to U+0100.. in order */
	int seen[324] = { 0 };
	uint32_t next = 256;
	for (int b = 0; b < 256; b++) {
		uint32_t cp = wn_bpe_byte_to_unicode((unsigned char)b);
		int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
		if (printable) cr_assert_eq(cp, (uint32_t)b);
		else cr_assert_eq(cp, next++, "byte %d", b);
		cr_assert_lt(cp, 324);
		cr_assert_eq(seen[cp]++, 0);
	}
	cr_assert_eq(next, 256 + 68);
	cr_assert_eq(wn_bpe_byte_to_unicode(' '), 0x120); /* Ġ */
	cr_assert_eq(wn_bpe_byte_to_unicode('\n'), 0x10A); /* Ċ */
	cr_assert_eq(wn_bpe_byte_to_unicode(0xAD), 0x143);
}

static const char CL100K[] =
	"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|"
	"\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

static void expect_onig(const char *pcre, const char *want)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	cr_assert_eq(wn_bpe_pcre_to_onig(pcre, &b), 0, "%s", pcre);
	cr_expect_str_eq(b.data, want, "pattern %s", pcre);
	wn_buf_release(&b);
}

Test(bpe_write, pattern_for_oniguruma)
{
	/* cl100k: only the possessive interval and the $ change */
	expect_onig(CL100K,
		    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|(?>\\p{N}{1,3})| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|"
		    "\\s++\\z|\\s*[\\r\\n]|\\s+(?!\\S)|\\s");
	expect_onig("a{2}+b", "(?>a{2})b");
	expect_onig("a{2,}+b{1,2}c{3}+", "(?>a{2,})b{1,2}(?>c{3})");
	expect_onig("[{]{1,2}+", "(?>[{]{1,2})");
	expect_onig("[]x]{1,2}+", "(?>[]x]{1,2})");
	expect_onig("[[:alpha:]]{1,2}+", "(?>[[:alpha:]]{1,2})");
	expect_onig("(ab|c(d)){1,3}+e", "(?>(ab|c(d)){1,3})e");
	expect_onig("\\x{41}{2}+", "(?>\\x{41}{2})");
	expect_onig("é{2}+", "(?>é{2})");
	expect_onig("x$|[$]|\\$|\\Qa$b{2}+\\E", "x\\z|[$]|\\$|\\Qa$b{2}+\\E");
	/* the encoder's portable cl100k spelling (greedy, with $) */
	expect_onig("\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+$|\\s*[\\r\\n]",
		    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+\\z|\\s*[\\r\\n]");
	expect_onig("a{x}+", "a{x}+");  /* not a counted repeat */
	expect_onig("\\p{L}++\\s*+.?+", "\\p{L}++\\s*+.?+");
	/* the o200k pattern has nothing to change */
	static const char o200k[] =
		"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
		"\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
	expect_onig(o200k, o200k);
	wn_buf b;
	wn_buf_init(&b, 0);
	cr_assert_eq(wn_bpe_pcre_to_onig("(a", &b), WN_EUSAGE);
	wn_buf_release(&b);
}

Test(bpe_write, hf_json_parses_and_agrees)
{
	tu_mkdtemp();
	const char *sp[] = { "<|endoftext|>", "<|q\"b\\s\n\t\x01|>", "<|é😀|>" };
	wn_bpe_vocab *v = train_text_vocab(800, sp, 3);
	char err[256] = "";
	const char *p = tu_path("tokenizer.json");
	cr_assert_eq(wn_bpe_write_hf(v, CL100K, p, err, sizeof err), 0, "%s", err);
	size_t n;
	char *f = tu_read_file(p, &n);
	cr_assert_not_null(f);
	jp j = { f, f + n };
	jv root;
	cr_assert_eq(jparse(&j, &root, 0), 0, "tokenizer.json is not valid JSON near byte %zu",
		     (size_t)(j.p - f));
	jws(&j);
	cr_assert_eq(j.p, j.end, "trailing bytes");
	cr_assert_str_eq(jget(&root, "version")->s, "1.0");
	const jv *pre = jget(&root, "pre_tokenizer");
	cr_assert_str_eq(jget(pre, "type")->s, "Sequence");
	const jv *split = &jget(pre, "pretokenizers")->kids[0];
	wn_buf onig;
	wn_buf_init(&onig, 0);
	wn_bpe_pcre_to_onig(CL100K, &onig);
	cr_assert_str_eq(jget(jget(split, "pattern"), "Regex")->s, onig.data,
			 "pattern survives escaping");
	wn_buf_release(&onig);
	cr_assert_str_eq(jget(split, "behavior")->s, "Isolated");
	const jv *bl = &jget(pre, "pretokenizers")->kids[1];
	cr_assert_str_eq(jget(bl, "type")->s, "ByteLevel");
	cr_assert_eq(jget(bl, "use_regex")->type, 'f');
	cr_assert_str_eq(jget(jget(&root, "decoder"), "type")->s, "ByteLevel");
	const jv *added = jget(&root, "added_tokens");
	cr_assert_eq(added->nk, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(jget(&added->kids[i], "id")->num, (long long)(v->n_tokens + i));
		cr_assert_str_eq(jget(&added->kids[i], "content")->s, sp[i]);
		cr_assert_eq(jget(&added->kids[i], "special")->type, 't');
		cr_assert_eq(jget(&added->kids[i], "normalized")->type, 'f');
	}
	const jv *model = jget(&root, "model");
	cr_assert_str_eq(jget(model, "type")->s, "BPE");
	cr_assert_eq(jget(model, "byte_fallback")->type, 'f');
	const jv *vocab = jget(model, "vocab");
	cr_assert_eq(vocab->nk / 2, v->n_tokens + 3);
	/* every vocab entry: id r <-> the bytes of rank r */
	char *seen = calloc(v->n_tokens + 3, 1);
	unsigned char buf[4096];
	for (size_t i = 0; i < vocab->nk; i += 2) {
		long long id = vocab->kids[i + 1].num;
		cr_assert(id >= 0 && (size_t)id < v->n_tokens + 3);
		cr_assert_eq(seen[id]++, 0, "id %lld twice", id);
		if ((size_t)id >= v->n_tokens) {
			cr_assert_str_eq(vocab->kids[i].s, sp[id - (long long)v->n_tokens]);
			continue;
		}
		long k = bl_bytes(vocab->kids[i].s, vocab->kids[i].slen, buf);
		cr_assert_geq(k, 1, "vocab key %zu is not byte-level", i / 2);
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, (size_t)id, &len);
		cr_assert(len == (size_t)k && !memcmp(t, buf, len), "id %lld bytes differ", id);
	}
	free(seen);
	/* merges: "A B" -> the trainer's (a, b), in order */
	const jv *merges = jget(model, "merges");
	cr_assert_eq(merges->nk, v->n_merges);
	for (size_t m = 0; m < merges->nk; m++) {
		const char *s = merges->kids[m].s;
		const char *space = strchr(s, ' ');
		cr_assert_not_null(space);
		cr_assert_null(strchr(space + 1, ' '), "one space in a merge");
		long la = bl_bytes(s, (size_t)(space - s), buf);
		long lb = bl_bytes(space + 1, strlen(space + 1), buf + la);
		cr_assert(la > 0 && lb > 0);
		size_t l1, l2;
		const unsigned char *a = wn_bpe_vocab_token(v, v->merges[m].a, &l1);
		const unsigned char *b = wn_bpe_vocab_token(v, v->merges[m].b, &l2);
		cr_assert(l1 == (size_t)la && !memcmp(a, buf, l1) && l2 == (size_t)lb &&
			  !memcmp(b, buf + la, l2), "merge %zu differs", m);
	}
	jfree(&root);
	free(f);

	/* the Python checker agrees (tokenizer.json + .tiktoken, stdlib json) */
	const char *tk = tu_path("v.tiktoken");
	cr_assert_eq(wn_bpe_write_tiktoken(v, tk, err, sizeof err), 0, "%s", err);
	if (system("python3 -c 'import json' >/dev/null 2>&1") == 0 &&
	    tu_exists("tests/tok/check_hf_vocab.py")) {
		char cmd[2048];
		snprintf(cmd, sizeof cmd, "python3 tests/tok/check_hf_vocab.py %s %s >%s 2>&1", p, tk,
			 tu_path("check.log"));
		int rc = system(cmd);
		char *log = tu_read_file(tu_path("check.log"), NULL);
		cr_expect_eq(rc, 0, "check_hf_vocab.py: %s", log ? log : "");
		free(log);
		/* and it notices a broken pair: drop the last rank line */
		char *t = tu_read_file(tk, &n);
		char *last = t + n - 1;
		while (last > t && last[-1] != '\n') last--;
		tu_write_file(tk, t, (size_t)(last - t));
		free(t);
		snprintf(cmd, sizeof cmd, "python3 tests/tok/check_hf_vocab.py %s %s >/dev/null 2>&1", p, tk);
		cr_expect_neq(system(cmd), 0, "checker missed a missing rank");
	} else {
		cr_log_info("python3 or tests/tok/check_hf_vocab.py not found: checker skipped");
	}
	wn_bpe_vocab_free(v);
	tu_rmdir();
}

Test(bpe_write, hf_json_rejects_bad_input)
{
	wn_bpe_vocab *v = train_text_vocab(300, NULL, 0);
	wn_buf b;
	wn_buf_init(&b, 0);
	char err[256];
	cr_assert_eq(wn_bpe_hf_json(v, "\xff(", &b, err, sizeof err), WN_EUTF8);
	wn_bpe_vocab_free(v);
	/* a special equal to a token's byte-level form ("a" is token 97) */
	const char *sp[] = { "a" };
	v = train_text_vocab(300, sp, 1);
	cr_assert_eq(wn_bpe_hf_json(v, "x", &b, err, sizeof err), WN_EUSAGE);
	cr_assert(strstr(err, "byte-level"), "%s", err);
	wn_bpe_vocab_free(v);
	wn_buf_release(&b);
}
