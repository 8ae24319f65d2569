/*
 * dedup_speed.c - how fast winnow dedup's parts are, in process, and a
 * generator of large synthetic corpora for the end-to-end run.  Not part
 * of `make`; bench/dedup_speed.sh builds it against a library build of
 * its own and runs it:
 *
 *   dedup_speed sig [-n NGRAM] [-b BANDS] [-r ROWS] [-m MB] [-k RUNS] FILE.jsonl...
 *   dedup_speed uf [-m uniform|star] [-B BANDS] [-v] [-S SEED] [NPAIRS [NDOCS]]
 *   dedup_speed gen [-n DOCS] [-s SHARDS] [-d SHARE] [-z SHARE] [-l LEVEL] [-S SEED]
 *                   -e EN.jsonl... [-c ZH.jsonl...] OUTDIR
 *
 * sig.  The texts of the files are read into memory and processed over
 * and over until at least MB megabytes of text (default 50) went through
 * each step, on one thread; each step is timed RUNS times (default 3) and
 * the best run counts.  The steps: normalise and shingle (dd_shingles);
 * the signature of every document's shingles with dd_minhash_sig (the
 * multiply-shift kernel) and with dd_minhash_sig_naive (one seeded XXH3
 * per shingle and permutation, the baseline), over shingles computed
 * beforehand so each is timed alone; and the band keys (dd_band_key).
 * Speeds are megabytes of decoded text per second.  The two signature
 * functions use different hash families, so their values differ; both
 * are checked to be real signatures: no row left at UINT32_MAX for a
 * document with shingles, and more than one distinct value when the
 * document has more than one distinct shingle.  A failed check exits 1.
 *
 * uf.  NPAIRS duplicate pairs (default 100,000,000) over NDOCS documents
 * (default 200,000,000) are generated in memory first (not timed), then
 * joined with dd_uf_union as the cluster stage does, and every document's
 * root found once (the cluster stage's pass that marks clusters).
 * uniform: both ends of every pair uniform at random, the worst case for
 * the cache.  star: the pairs stage's shape: clusters of heavy-tailed size
 * (mean about 3.5) at random documents, each emitted as a star from its
 * first member, once per band (BANDS, default 14) with the clusters in a
 * different order per band, so most unions find the two already joined.
 * -v: with --keep-by values (16 bytes per document instead of 8).
 * Prints the time of each phase, pairs per second, the union-find's bytes
 * per document and the process's peak resident memory.
 *
 * gen.  DOCS short documents (default 1,000,000) into SHARDS zstd files
 * (default 16) OUTDIR/shard-NN.jsonl.zst, {"id","text"} per line.  A
 * document is made of windows of real text: English documents are 20 to
 * 60 words in windows of 6 to 15 consecutive words of the -e files, and
 * a share of documents (-z, default 0.15) is Chinese, 40 to 150
 * characters in windows of 8 to 20 of the -c files.  Windows start at
 * random places, so two independent documents share almost no shingles
 * even when the source text is small beside the corpus.  A share of the
 * documents (-d, default 0.1) are planted near-copies of an earlier
 * document (of any shard) and carry "dup_of": its id.  Copies are
 * either equal after normalisation (the first letter's case changed or
 * a mark added at the end), or lose 1 to 3 words at one end, or have one
 * word replaced in the middle (Jaccard from about 0.5 for the shortest
 * documents to 0.95).  Every document is made again from a 64-bit seed,
 * so the generator keeps 8 bytes per document, not the texts.  The same
 * options give the same files.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../dedup/dedup.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/shard.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds of this thread: the timings share the machine with others */
static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) (n > 0; the bias of the multiply is below 2^-32) */
static inline uint64_t below(uint64_t *x, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)splitmix64(x) * n) >> 64);
}

static inline double unit(uint64_t *x)
{
	return (double)(splitmix64(x) >> 11) * 0x1.0p-53;
}

/* ---- texts of JSONL files ---- */

typedef struct corpus {
	wn_buf text;        /* every text, one after another */
	uint64_t *off;      /* document i is text[off[i], off[i+1]) */
	size_t n, cap;
} corpus;

static int corpus_read(corpus *c, const char *path)
{
	wn_reader *r;
	if (wn_reader_open(&r, path, NULL)) {
		fprintf(stderr, "dedup_speed: %s: %s\n", path, wn_reader_error(r));
		wn_reader_close(r);
		return 1;
	}
	wn_doc d;
	wn_doc_init(&d);
	const char *line;
	size_t len;
	int rc;
	if (!c->off) {
		c->cap = 1024;
		c->off = wn_malloc(sizeof *c->off * c->cap);
		c->off[0] = 0;
		wn_buf_init(&c->text, 0);
	}
	while ((rc = wn_reader_next(r, &line, &len)) != 0) {
		if (rc != 1) break;
		if (wn_doc_parse_padded(&d, line, len, NULL) || !d.has_text || !d.text.len) continue;
		wn_buf_add(&c->text, d.text.data, d.text.len);
		if (c->n + 2 > c->cap) {
			c->cap *= 2;
			c->off = wn_realloc(c->off, sizeof *c->off * c->cap);
		}
		c->off[++c->n] = c->text.len;
	}
	if (rc) fprintf(stderr, "dedup_speed: %s: %s\n", path, wn_reader_error(r));
	wn_reader_close(r);
	wn_doc_release(&d);
	return rc ? 1 : 0;
}

static void corpus_free(corpus *c)
{
	wn_buf_release(&c->text);
	free(c->off);
	memset(c, 0, sizeof *c);
}

/* ---- sig ---- */

/* best wall and CPU time of RUNS runs of one step */
typedef struct best {
	double wall, cpu;
} best;

static void best_add(best *b, double wall, double cpu)
{
	if (!b->wall || wall < b->wall) b->wall = wall;
	if (!b->cpu || cpu < b->cpu) b->cpu = cpu;
}

static void print_speed(const char *name, double mb, best b)
{
	printf("  %-36s %7.3f s  %8.1f MB/s   (CPU %7.3f s, %8.1f MB/s)\n", name, b.wall,
	       mb / b.wall, b.cpu, mb / b.cpu);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Is sig a real signature of n shingles of which distinct are distinct?
 * (scratch holds nperm values) */
static int sig_ok(const uint32_t *sig, int nperm, size_t distinct, uint32_t *scratch)
{
	memcpy(scratch, sig, sizeof *sig * (size_t)nperm);
	qsort(scratch, (size_t)nperm, sizeof *scratch, cmp_u32);
	if (scratch[nperm - 1] == UINT32_MAX) return 0;
	if (distinct > 1 && nperm > 1 && scratch[0] == scratch[nperm - 1]) return 0;
	return 1;
}

static int cmd_sig(int argc, char **argv)
{
	int ngram = 5, bands = 14, rows = 8, runs = 3, opt;
	double min_mb = 50;
	uint64_t seed = 1;
	while ((opt = getopt(argc, argv, "n:b:r:m:k:")) != -1) {
		switch (opt) {
		case 'n': ngram = atoi(optarg); break;
		case 'b': bands = atoi(optarg); break;
		case 'r': rows = atoi(optarg); break;
		case 'm': min_mb = atof(optarg); break;
		case 'k': runs = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || runs < 1 || ngram < 1) {
		fprintf(stderr, "usage: dedup_speed sig [-n NGRAM] [-b BANDS] [-r ROWS] [-m MB] "
			"[-k RUNS] FILE.jsonl...\n");
		return 2;
	}
	dd_minhash *mh = dd_minhash_new(bands, rows, seed);
	if (!mh) {
		fprintf(stderr, "dedup_speed: %d bands x %d rows: at most %d permutations\n", bands,
			rows, DD_MAX_PERM);
		return 2;
	}
	int nperm = bands * rows;
	corpus c;
	memset(&c, 0, sizeof c);
	for (int i = optind; i < argc; i++)
		if (corpus_read(&c, argv[i])) return 1;
	if (!c.n) {
		fprintf(stderr, "dedup_speed: no texts\n");
		return 1;
	}
	const char *t = c.text.data;
	size_t bytes = c.text.len;
	int reps = (int)ceil(min_mb * 1e6 / (double)bytes);
	double mb = (double)bytes * reps / 1e6;
	dd_shingler *sh = dd_shingler_new(ngram, seed);

	/* one pass first: every document's shingles and distinct shingles kept */
	uint64_t *soff = wn_malloc(sizeof *soff * (c.n + 1));
	size_t *distinct = wn_malloc(sizeof *distinct * c.n);
	uint64_t *all = NULL;
	size_t nall = 0, capall = 0, tokens = 0, empty = 0;
	for (size_t i = 0; i < c.n; i++) {
		const uint64_t *s;
		size_t m = dd_shingles(sh, t + c.off[i], c.off[i + 1] - c.off[i], &s);
		tokens += dd_shingler_tokens(sh);
		const uint32_t *set;
		distinct[i] = dd_shingle_set(sh, &set);
		if (!m) empty++;
		if (nall + m > capall) {
			capall = (nall + m) * 2;
			all = wn_realloc(all, sizeof *all * capall);
		}
		memcpy(all + nall, s, sizeof *s * m);
		soff[i] = nall;
		nall += m;
	}
	soff[c.n] = nall;
	printf("sig: %zu documents, %.1f MB of text (%.0f bytes a document), %zu tokens, "
	       "%zu shingles (%.1f a document), %zu without shingles\n",
	       c.n, (double)bytes / 1e6, (double)bytes / (double)c.n, tokens, nall,
	       (double)nall / (double)c.n, empty);
	printf("  each step: %d passes over the texts (%.1f MB), best of %d runs, one thread; "
	       "%d-grams, %d bands x %d rows = %d permutations\n",
	       reps, mb, runs, ngram, bands, rows, nperm);

	/* the checks, on one pass */
	uint32_t *sig = wn_malloc(sizeof *sig * (size_t)nperm);
	uint32_t *scratch = wn_malloc(sizeof *scratch * (size_t)nperm);
	uint32_t *sigs = wn_malloc(sizeof *sigs * (size_t)nperm * c.n);
	size_t bad_fast = 0, bad_naive = 0;
	for (size_t i = 0; i < c.n; i++) {
		size_t m = soff[i + 1] - soff[i];
		if (!m) continue;
		dd_minhash_sig(mh, all + soff[i], m, sigs + i * (size_t)nperm);
		bad_fast += !sig_ok(sigs + i * (size_t)nperm, nperm, distinct[i], scratch);
		dd_minhash_sig_naive(nperm, seed, all + soff[i], m, sig);
		bad_naive += !sig_ok(sig, nperm, distinct[i], scratch);
	}
	printf("  signature check: %zu fast and %zu naive signatures of %zu documents trivial\n",
	       bad_fast, bad_naive, c.n - empty);

	best b_sh = { 0, 0 }, b_fast = { 0, 0 }, b_naive = { 0, 0 }, b_key = { 0, 0 };
	uint64_t sink = 0;
	for (int run = 0; run < runs; run++) {
		double w0 = now(), c0 = cpu_now();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < c.n; i++) {
				const uint64_t *s;
				size_t m = dd_shingles(sh, t + c.off[i], c.off[i + 1] - c.off[i], &s);
				if (m) sink += s[m - 1];
			}
		best_add(&b_sh, now() - w0, cpu_now() - c0);

		w0 = now();
		c0 = cpu_now();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < c.n; i++) {
				size_t m = soff[i + 1] - soff[i];
				if (!m) continue;
				dd_minhash_sig(mh, all + soff[i], m, sig);
				sink += sig[r % nperm];
			}
		best_add(&b_fast, now() - w0, cpu_now() - c0);

		w0 = now();
		c0 = cpu_now();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < c.n; i++) {
				size_t m = soff[i + 1] - soff[i];
				if (!m) continue;
				dd_minhash_sig_naive(nperm, seed, all + soff[i], m, sig);
				sink += sig[r % nperm];
			}
		best_add(&b_naive, now() - w0, cpu_now() - c0);

		w0 = now();
		c0 = cpu_now();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < c.n; i++) {
				if (soff[i + 1] == soff[i]) continue;
				for (int b = 0; b < bands; b++) {
					uint64_t key[2];
					dd_band_key(mh, sigs + i * (size_t)nperm, b, key);
					sink += key[0];
				}
			}
		best_add(&b_key, now() - w0, cpu_now() - c0);
	}
	best tot = { b_sh.wall + b_fast.wall, b_sh.cpu + b_fast.cpu };
	best totn = { b_sh.wall + b_naive.wall, b_sh.cpu + b_naive.cpu };
	best totk = { tot.wall + b_key.wall, tot.cpu + b_key.cpu };
	print_speed("normalise + shingle", mb, b_sh);
	print_speed("dd_minhash_sig (fast)", mb, b_fast);
	print_speed("dd_minhash_sig_naive", mb, b_naive);
	print_speed("band keys", mb, b_key);
	print_speed("total: shingle + fast sig", mb, tot);
	print_speed("total: shingle + naive sig", mb, totn);
	print_speed("total: shingle + fast sig + band keys", mb, totk);
	printf("  fast / naive speed: signature alone %.1fx (CPU %.1fx), end to end %.2fx "
	       "(CPU %.2fx)\n",
	       b_naive.wall / b_fast.wall, b_naive.cpu / b_fast.cpu, totn.wall / tot.wall,
	       totn.cpu / tot.cpu);
	printf("  per shingle and permutation: fast %.2f ns, naive %.2f ns (CPU)\n",
	       b_fast.cpu * 1e9 / ((double)nall * reps * nperm),
	       b_naive.cpu * 1e9 / ((double)nall * reps * nperm));
	if (sink == 42) printf(" \n"); /* keep the work */
	free(sig);
	free(scratch);
	free(sigs);
	free(all);
	free(soff);
	free(distinct);
	dd_shingler_free(sh);
	dd_minhash_free(mh);
	corpus_free(&c);
	return bad_fast || bad_naive ? 1 : 0;
}

/* ---- uf ---- */

typedef struct pair {
	uint64_t a, b;
} pair;

/* Uniform pairs: a < b unless both ends drew the same document. */
static void pairs_uniform(pair *p, uint64_t np, uint64_t nd, uint64_t *x)
{
	for (uint64_t i = 0; i < np; i++) {
		uint64_t a = below(x, nd), b = below(x, nd);
		p[i].a = a < b ? a : b;
		p[i].b = a < b ? b : a;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Star pairs: np / bands edges of clusters, each band all of them, the
 * clusters in another order per band (a stride through them).  Returns the
 * pairs made (np rounded down to whole bands) and the clusters. */
static uint64_t pairs_star(pair *p, uint64_t np, uint64_t nd, int bands, uint64_t *x,
			   uint64_t *nclusters, uint64_t *members)
{
	uint64_t edges = np / (uint64_t)bands;
	uint64_t *mem = NULL, *cl = NULL;   /* members; cluster starts */
	size_t nm = 0, capm = 0, nc = 0, capc = 0;
	uint64_t e = 0;
	while (e < edges) {
		/* size 1 + floor(u^(-2/3)): P(size > s) ~ s^-1.5, mean about 3.5 */
		double s = floor(pow(1.0 - unit(x), -1.0 / 1.5));
		uint64_t size = 1 + (s > 10000 ? 10000 : (uint64_t)s);
		if (size < 2) size = 2;
		if (size - 1 > edges - e) size = edges - e + 1;
		if (nm + size > capm) {
			capm = (nm + size) * 2;
			mem = wn_realloc(mem, sizeof *mem * capm);
		}
		if (nc + 2 > capc) {
			capc = capc ? 2 * capc : 1024;
			cl = wn_realloc(cl, sizeof *cl * capc);
		}
		cl[nc++] = nm;
		for (uint64_t k = 0; k < size; k++) mem[nm + k] = below(x, nd);
		qsort(mem + nm, size, sizeof *mem, cmp_u64);
		nm += size;
		e += size - 1;
	}
	cl[nc] = nm;
	uint64_t k = 0;
	for (int b = 0; b < bands; b++) {
		/* an odd stride coprime with nc, from the seed: another order per band */
		uint64_t stride = below(x, nc) | 1, start = below(x, nc);
		while (nc > 1) {
			uint64_t g = stride, h = nc;
			while (h) { uint64_t t = g % h; g = h; h = t; }
			if (g == 1) break;
			stride += 2;
		}
		for (uint64_t i = 0; i < nc; i++) {
			uint64_t ci = (start + (unsigned __int128)i * stride % nc) % nc;
			for (uint64_t m = cl[ci] + 1; m < cl[ci + 1]; m++) {
				p[k].a = mem[cl[ci]];
				p[k].b = mem[m];
				k++;
			}
		}
	}
	*nclusters = nc;
	*members = nm;
	free(mem);
	free(cl);
	return k;
}

static int cmd_uf(int argc, char **argv)
{
	const char *mode = "uniform";
	int bands = 14, values = 0, opt;
	uint64_t seed = 1;
	while ((opt = getopt(argc, argv, "m:B:vS:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'B': bands = atoi(optarg); break;
		case 'v': values = 1; break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	uint64_t np = optind < argc ? strtoull(argv[optind], NULL, 10) : 100000000ULL;
	uint64_t nd = optind + 1 < argc ? strtoull(argv[optind + 1], NULL, 10) : 200000000ULL;
	int star = !strcmp(mode, "star");
	if ((!star && strcmp(mode, "uniform")) || nd < 2 || np < 1 || bands < 1) {
		fprintf(stderr, "usage: dedup_speed uf [-m uniform|star] [-B BANDS] [-v] [-S SEED] "
			"[NPAIRS [NDOCS]]\n");
		return 2;
	}
	uint64_t x = seed;
	double t0 = now();
	pair *p = malloc(sizeof *p * np);
	if (!p) {
		fprintf(stderr, "dedup_speed: no memory for %llu pairs\n", (unsigned long long)np);
		return 1;
	}
	uint64_t nc = 0, nm = 0;
	if (star) np = pairs_star(p, np, nd, bands, &x, &nc, &nm);
	else pairs_uniform(p, np, nd, &x);
	double tgen = now() - t0;
	printf("uf: %llu %s pairs over %llu documents", (unsigned long long)np, mode,
	       (unsigned long long)nd);
	if (star)
		printf(" (%llu clusters of %llu documents, %d bands)", (unsigned long long)nc,
		       (unsigned long long)nm, bands);
	printf("%s; made in %.1f s (not timed)\n", values ? ", with --keep-by values" : "", tgen);

	dd_uf u;
	t0 = now();
	if (dd_uf_init(&u, nd, values)) {
		fprintf(stderr, "dedup_speed: no memory for %llu documents\n", (unsigned long long)nd);
		free(p);
		return 1;
	}
	double tinit = now() - t0;
	if (values) /* a value per document as --keep-by reads them; most ties */
		for (uint64_t i = 0; i < nd; i++) u.value[i] = (double)(splitmix64(&x) & 7);
	t0 = now();
	uint64_t joins = 0;
	for (uint64_t i = 0; i < np; i++) joins += (uint64_t)dd_uf_union(&u, p[i].a, p[i].b);
	double tunion = now() - t0;
	/* the cluster stage's pass over every document: its root */
	t0 = now();
	uint64_t roots = 0;
	for (uint64_t i = 0; i < nd; i++) roots += dd_uf_find(&u, i) == i;
	double tfind = now() - t0;
	double bpd = (double)(sizeof *u.parent + (values ? sizeof *u.value : 0));
	printf("  init %.2f s, union of all pairs %.2f s (%.1f M pairs/s, %llu joined), "
	       "find of every document %.2f s (%llu sets)\n",
	       tinit, tunion, (double)np / tunion / 1e6, (unsigned long long)joins, tfind,
	       (unsigned long long)roots);
	printf("  total %.2f s; union-find %.0f bytes a document (%.0f MiB); peak RSS %.0f MiB "
	       "(of which the pairs %.0f MiB)\n",
	       tinit + tunion + tfind, bpd, bpd * (double)nd / 1048576.0, peak_rss_mib(),
	       (double)(sizeof *p * np) / 1048576.0);
	dd_uf_release(&u);
	free(p);
	return 0;
}

/* ---- gen ---- */

typedef struct tok {
	uint32_t off, len;
} tok;

/* A token stream: words (English) or characters (Chinese) of real text. */
typedef struct stream {
	wn_buf text;
	tok *t;
	size_t n, cap;
} stream;

static void stream_add(stream *s, size_t off, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 65536;
		s->t = wn_realloc(s->t, sizeof *s->t * s->cap);
	}
	s->t[s->n].off = (uint32_t)off;
	s->t[s->n].len = (uint32_t)len;
	s->n++;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The words (runs of non-space bytes) or the characters (code points
 * other than white space, including U+3000) of a corpus. */
static void stream_build(stream *s, const corpus *c, int chars)
{
	wn_buf_init(&s->text, 0);
	const unsigned char *p = (const unsigned char *)c->text.data;
	size_t n = c->text.len;
	for (size_t i = 0; i < n;) {
		if (is_space(p[i])) { i++; continue; }
		size_t j = i + 1;
		if (chars) {
			while (j < n && (p[j] & 0xc0) == 0x80) j++;
			if (j - i == 3 && p[i] == 0xe3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) {
				i = j;  /* ideographic space */
				continue;
			}
		} else {
			while (j < n && !is_space(p[j])) j++;
		}
		if (s->text.len + (j - i) >= UINT32_MAX) break;
		stream_add(s, s->text.len, j - i);
		wn_buf_add(&s->text, p + i, j - i);
		i = j;
	}
}

typedef struct gen {
	stream en, zh;
	double zh_share, dup_share;
	uint64_t *seeds;    /* per document: the seed of its original text */
	uint32_t *idx;      /* tokens of the document being made */
	size_t nidx, capidx;
	wn_buf line, text;
	uint64_t planted, zh_docs;
} gen;

static void idx_add(gen *g, uint32_t v)
{
	if (g->nidx == g->capidx) {
		g->capidx = g->capidx ? 2 * g->capidx : 256;
		g->idx = wn_realloc(g->idx, sizeof *g->idx * g->capidx);
	}
	g->idx[g->nidx++] = v;
}

/* The original document of a seed: its tokens into g->idx; returns the
 * stream they index. */
static const stream *make_orig(gen *g, uint64_t seed)
{
	uint64_t x = seed;
	g->nidx = 0;
	int zh = unit(&x) < g->zh_share && g->zh.n > 200;
	const stream *s = zh ? &g->zh : &g->en;
	uint64_t want = zh ? 40 + below(&x, 111) : 20 + below(&x, 41);
	uint64_t lo = zh ? 8 : 6, span = zh ? 13 : 10;
	while (g->nidx < want) {
		uint64_t w = lo + below(&x, span);
		if (w > want - g->nidx) w = want - g->nidx;
		if (w >= s->n) w = s->n - 1;
		uint64_t at = below(&x, s->n - w);
		for (uint64_t k = 0; k < w; k++) idx_add(g, (uint32_t)(at + k));
	}
	return s;
}

/* Write the tokens of g->idx as the text (words spaced, characters not);
 * upper: the first byte upper-cased; mark: text appended at the end. */
static void emit_text(gen *g, const stream *s, int upper, const char *mark)
{
	wn_buf_reset(&g->text);
	int chars = s == &g->zh;
	for (size_t i = 0; i < g->nidx; i++) {
		const tok *t = &s->t[g->idx[i]];
		if (i && !chars) wn_buf_addc(&g->text, ' ');
		size_t at = g->text.len;
		wn_buf_add(&g->text, s->text.data + t->off, t->len);
		if (!i && upper) {
			char *c = g->text.data + at;
			if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
			else if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
		}
	}
	if (mark) wn_buf_adds(&g->text, mark);
}

/* Document i (its seed set here) as one JSON line in g->line. */
static void make_doc(gen *g, uint64_t i, uint64_t *x)
{
	uint64_t src = UINT64_MAX;
	if (i > 0 && unit(x) < g->dup_share) {
		src = below(x, i);
		g->seeds[i] = g->seeds[src];
	} else {
		g->seeds[i] = splitmix64(x);
	}
	const stream *s = make_orig(g, g->seeds[i]);
	int upper = 0;
	const char *mark = NULL;
	if (src != UINT64_MAX) {
		g->planted++;
		double u = unit(x);
		if (u < 0.3) {
			/* equal after normalisation */
			if (unit(x) < 0.5) upper = 1;
			else mark = s == &g->zh ? "！" : "!";
		} else if (u < 0.7) {
			/* 1 to 3 tokens fewer at one end */
			size_t k = 1 + (size_t)below(x, 3);
			if (k >= g->nidx) k = g->nidx - 1;
			if (unit(x) < 0.5) memmove(g->idx, g->idx + k, sizeof *g->idx * (g->nidx - k));
			g->nidx -= k;
		} else {
			/* one token in the middle replaced */
			size_t at = g->nidx / 4 + (size_t)below(x, g->nidx / 2 + 1);
			if (at >= g->nidx) at = g->nidx - 1;
			g->idx[at] = (uint32_t)below(x, s->n);
		}
	}
	if (s == &g->zh) g->zh_docs++;
	emit_text(g, s, upper, mark);
	wn_buf_reset(&g->line);
	wn_buf_addf(&g->line, "{\"id\":\"d%010llu\",\"text\":", (unsigned long long)i);
	wn_json_escape(&g->line, g->text.data, g->text.len);
	if (src != UINT64_MAX)
		wn_buf_addf(&g->line, ",\"dup_of\":\"d%010llu\"", (unsigned long long)src);
	wn_buf_adds(&g->line, "}\n");
}

static int cmd_gen(int argc, char **argv)
{
	uint64_t ndocs = 1000000, seed = 1;
	int nshards = 16, level = 3, opt;
	gen g;
	memset(&g, 0, sizeof g);
	g.zh_share = 0.15;
	g.dup_share = 0.1;
	corpus en, zh;
	memset(&en, 0, sizeof en);
	memset(&zh, 0, sizeof zh);
	while ((opt = getopt(argc, argv, "n:s:d:z:l:S:e:c:")) != -1) {
		switch (opt) {
		case 'n': ndocs = strtoull(optarg, NULL, 10); break;
		case 's': nshards = atoi(optarg); break;
		case 'd': g.dup_share = atof(optarg); break;
		case 'z': g.zh_share = atof(optarg); break;
		case 'l': level = atoi(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'e': if (corpus_read(&en, optarg)) return 1; break;
		case 'c': if (corpus_read(&zh, optarg)) return 1; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || nshards < 1 || nshards > 100 || !ndocs) {
		fprintf(stderr, "usage: dedup_speed gen [-n DOCS] [-s SHARDS] [-d SHARE] [-z SHARE] "
			"[-l LEVEL] [-S SEED] -e EN.jsonl... [-c ZH.jsonl...] OUTDIR\n");
		return 2;
	}
	const char *dir = argv[optind];
	if (wn_mkdirs(dir)) {
		perror(dir);
		return 1;
	}
	stream_build(&g.en, &en, 0);
	stream_build(&g.zh, &zh, 1);
	corpus_free(&en);
	corpus_free(&zh);
	if (g.en.n < 1000) {
		fprintf(stderr, "dedup_speed: gen needs English text (-e): %zu words\n", g.en.n);
		return 2;
	}
	g.seeds = malloc(sizeof *g.seeds * ndocs);
	if (!g.seeds) {
		fprintf(stderr, "dedup_speed: no memory for %llu documents\n", (unsigned long long)ndocs);
		return 1;
	}
	wn_buf_init(&g.line, 0);
	wn_buf_init(&g.text, 0);
	double t0 = now();
	uint64_t x = seed ^ 0x67656e; /* "gen" */
	uint64_t bytes = 0;
	int rc = 0;
	for (int s = 0; s < nshards && !rc; s++) {
		uint64_t lo = ndocs * (uint64_t)s / (uint64_t)nshards;
		uint64_t hi = ndocs * (uint64_t)(s + 1) / (uint64_t)nshards;
		char path[4096];
		snprintf(path, sizeof path, "%s/shard-%02d.jsonl.zst", dir, s);
		wn_writer_opts wo = { level, 2 };
		wn_writer *w;
		if (wn_writer_open(&w, path, &wo)) {
			fprintf(stderr, "dedup_speed: %s: %s\n", path, wn_writer_error(w));
			wn_writer_abort(w);
			return 1;
		}
		for (uint64_t i = lo; i < hi && !rc; i++) {
			make_doc(&g, i, &x);
			rc = wn_writer_write(w, g.line.data, g.line.len);
		}
		bytes += wn_writer_bytes(w);
		char err[512];
		if (rc) {
			fprintf(stderr, "dedup_speed: %s: %s\n", path, wn_writer_error(w));
			wn_writer_abort(w);
		} else if (wn_writer_close(w, err, sizeof err)) {
			fprintf(stderr, "dedup_speed: %s\n", err);
			rc = 1;
		}
	}
	if (!rc)
		printf("gen: %llu documents (%llu Chinese, %llu planted near-copies) in %d shards, "
		       "%.1f MB of JSONL, from %zu English words and %zu Chinese characters, "
		       "in %.1f s\n",
		       (unsigned long long)ndocs, (unsigned long long)g.zh_docs,
		       (unsigned long long)g.planted, nshards, (double)bytes / 1e6, g.en.n, g.zh.n,
		       now() - t0);
	free(g.seeds);
	free(g.idx);
	free(g.en.t);
	free(g.zh.t);
	wn_buf_release(&g.en.text);
	wn_buf_release(&g.zh.text);
	wn_buf_release(&g.line);
	wn_buf_release(&g.text);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *usage =
		"usage: dedup_speed sig [-n NGRAM] [-b BANDS] [-r ROWS] [-m MB] [-k RUNS] FILE.jsonl...\n"
		"       dedup_speed uf [-m uniform|star] [-B BANDS] [-v] [-H] [-S SEED] [NPAIRS [NDOCS]]\n"
		"       dedup_speed gen [-n DOCS] [-s SHARDS] [-d SHARE] [-z SHARE] [-l LEVEL] [-S SEED]\n"
		"                       -e EN.jsonl... [-c ZH.jsonl...] OUTDIR\n";
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	optind = 1;
	if (!strcmp(argv[1], "sig")) return cmd_sig(argc - 1, argv + 1);
	if (!strcmp(argv[1], "uf")) return cmd_uf(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen")) return cmd_gen(argc - 1, argv + 1);
	fputs(usage, stderr);
	return 2;
}
