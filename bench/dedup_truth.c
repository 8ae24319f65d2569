/*
 * dedup_truth.c - ground truth for winnow dedup minhash: the exact Jaccard
 * of every pair of documents, and how well LSH candidates and the
 * command's clusters match it.  Not part of `make`; bench/dedup_quality.sh
 * builds it against a library build and runs it on the corpus of
 * scripts/make-dedup-corpus.py:
 *
 *   dedup_truth [-n NGRAM] [-s SEED] [-b BANDS] [-r ROWS] [-t J] [-k K]
 *               [-a [LABEL=]ANNOTATED]... FILE.jsonl
 *
 * Sets.  Every document goes through the module's own dd_shingler (the
 * same normalisation, tokens and shingles as the pipeline) and
 * dd_shingle_set: the sorted distinct 32-bit fingerprints that --verify
 * compares.  The truth is the Jaccard of these sets.  A document without
 * shingles is never a near-duplicate in the pipeline and is left out here.
 *
 * All pairs, exactly.  An inverted index from fingerprint to documents
 * (postings sorted by document) counts, for document i, the fingerprints
 * it shares with every later document j: |A n B| for every pair with
 * J > 0, and J = |A n B| / (|A| + |B| - |A n B|).  Pairs that share
 * nothing have J = 0 and are never enumerated.  The cost is the sum over
 * fingerprints of df^2 / 2, printed.  -k K checks the index against brute
 * force: K random documents are compared by dd_jaccard with every other
 * document and each value must equal the index's.
 *
 * Candidates.  dd_minhash and dd_band_key as in the pipeline; a pair is a
 * candidate when the two share a band key in any band (every pair of a
 * bucket, not the pipeline's star: this is the LSH candidate relation).
 * Candidates go into a hash set first; the all-pairs pass then looks every
 * pair with J > 0 up in it, so candidates with J = 0 are the ones never
 * looked up.
 *
 * Report at threshold t: precision and recall of the candidate pairs
 * against the true pairs (J >= t), the same after verification (candidate
 * and J >= t: the pipeline's --verify test, so precision 1 by
 * definition), per set (the id's prefix before '/'), and the S-curve:
 * per bin of true J the candidate rate beside 1 - (1 - s^r)^b at the
 * bin's mean J and the mean of it over the bin's pairs.  Two columns help
 * to read it: the documents the bin's pairs involve (pairs of one big
 * family of near-duplicates are not independent trials, so a bin of few
 * documents can stray far from the curve), and the share of signature
 * rows that agree, MinHash's own estimate of J (it should equal the mean
 * J if the permutations behave as random ones).
 *
 * Clusters (-a).  The output of `winnow dedup minhash --annotate-only` on
 * the same file: documents in a cluster carry {"cluster":{"file","line"},
 * "kept":bool} under the annotation key (-F).  Documents are matched by id.
 * Predicted pairs are all pairs of a cluster: precision and recall against
 * the true pairs, the same-cluster rate per J bin, and per removed document
 * its Jaccard with the document its cluster kept.  The least number of
 * removals the truth needs is the documents minus the components of the
 * graph of true pairs.  Two checks of the pipeline itself: without
 * --verify its clusters must be exactly the components of the candidate
 * graph (the documents placed otherwise are counted), and each cluster
 * must keep its first document.  With --verify they are compared with
 * the components of the verified candidates, which the pipeline's leader
 * rule approximates.
 *
 * Edited copies.  Documents with "orig" (an id) and "target_j" (the edits
 * set of make-dedup-corpus.py) are tabulated per target: the true Jaccard
 * with the original, the candidate rate and the same-cluster rate.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../dedup/dedup.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/shard.h"

#define MAX_ANN 4
#define MAX_GROUPS 16
#define NBINS 16   /* 0.1 steps below 0.5, 0.05 steps above, J = 1 */

typedef struct doc {
	uint64_t set_off;    /* into fp[] and pidx[] */
	uint32_t nset;
	uint32_t id_off, id_len;
	int32_t orig;        /* the original of an edited copy, or -1 */
	uint32_t orig_off, orig_len;  /* its id, in the string arena */
	double target;       /* target_j, or -1 */
	int group;
} doc;

/* ---- a string -> index map (open addressing) ---- */

/* a key: its offset in the table's store (which moves as it grows) */
typedef struct skey {
	size_t off, n;
} skey;

typedef struct strtab {
	uint32_t *slot;
	size_t cap, n;
	skey *keys;
	size_t capk;
	wn_buf store;
} strtab;

static void strtab_init(strtab *t)
{
	memset(t, 0, sizeof *t);
	t->cap = 1024;
	t->slot = wn_calloc(t->cap, sizeof *t->slot);
	wn_buf_init(&t->store, 0);
}

static void strtab_free(strtab *t)
{
	free(t->slot);
	free(t->keys);
	wn_buf_release(&t->store);
}

/* Index of key (added when add is set), or -1. Keys are copied. */
static long strtab_get(strtab *t, const char *s, size_t n, int add);

static long strtab_find_slot(const strtab *t, const char *s, size_t n, size_t *at,
			     const char *base)
{
	size_t mask = t->cap - 1, h = (size_t)XXH3_64bits(s, n) & mask;
	for (;;) {
		uint32_t v = t->slot[h];
		if (!v) {
			*at = h;
			return -1;
		}
		const skey *k = &t->keys[v - 1];
		if (k->n == n && !memcmp(base + k->off, s, n)) return (long)v - 1;
		h = (h + 1) & mask;
	}
}

static long strtab_get(strtab *t, const char *s, size_t n, int add)
{
	size_t at;
	long r = strtab_find_slot(t, s, n, &at, t->store.data);
	if (r >= 0 || !add) return r;
	if (2 * (t->n + 1) > t->cap) {
		size_t nc = t->cap * 2;
		uint32_t *ns = wn_calloc(nc, sizeof *ns);
		for (size_t i = 0; i < t->n; i++) {
			const skey *k = &t->keys[i];
			size_t h = (size_t)XXH3_64bits(t->store.data + k->off, k->n) & (nc - 1);
			while (ns[h]) h = (h + 1) & (nc - 1);
			ns[h] = (uint32_t)i + 1;
		}
		free(t->slot);
		t->slot = ns;
		t->cap = nc;
		strtab_find_slot(t, s, n, &at, t->store.data);
	}
	if (t->n == t->capk) {
		t->capk = t->capk ? 2 * t->capk : 1024;
		t->keys = wn_realloc(t->keys, sizeof *t->keys * t->capk);
	}
	t->keys[t->n].off = t->store.len;
	t->keys[t->n].n = n;
	wn_buf_add(&t->store, s, n);
	t->slot[at] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

/* ---- the candidate pair set: key i << 32 | j (i < j), value J ---- */

typedef struct pset {
	uint64_t *key;       /* 0: empty (i < j, so no pair has key 0) */
	double *val;
	size_t cap, n;
} pset;

static inline size_t pmix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static void pset_init(pset *p)
{
	p->cap = 1 << 16;
	p->n = 0;
	p->key = wn_calloc(p->cap, sizeof *p->key);
	p->val = wn_malloc(sizeof *p->val * p->cap);
}

static void pset_add(pset *p, uint64_t k)
{
	if (2 * (p->n + 1) > p->cap) {
		size_t nc = p->cap * 2;
		uint64_t *nk = wn_calloc(nc, sizeof *nk);
		double *nv = wn_malloc(sizeof *nv * nc);
		for (size_t i = 0; i < p->cap; i++) {
			if (!p->key[i]) continue;
			size_t h = pmix(p->key[i]) & (nc - 1);
			while (nk[h]) h = (h + 1) & (nc - 1);
			nk[h] = p->key[i];
			nv[h] = p->val[i];
		}
		free(p->key);
		free(p->val);
		p->key = nk;
		p->val = nv;
		p->cap = nc;
	}
	size_t h = pmix(k) & (p->cap - 1);
	while (p->key[h]) {
		if (p->key[h] == k) return;
		h = (h + 1) & (p->cap - 1);
	}
	p->key[h] = k;
	p->val[h] = -1;
	p->n++;
}

/* The slot of k, or -1. */
static inline long pset_find(const pset *p, uint64_t k)
{
	size_t h = pmix(k) & (p->cap - 1);
	while (p->key[h]) {
		if (p->key[h] == k) return (long)h;
		h = (h + 1) & (p->cap - 1);
	}
	return -1;
}

static inline uint64_t pkey(uint32_t i, uint32_t j)
{
	return i < j ? (uint64_t)i << 32 | j : (uint64_t)j << 32 | i;
}

/* ---- LSD radix sort of 64-bit values ---- */

static void radix_sort64(uint64_t *a, size_t n)
{
	uint64_t *tmp = wn_malloc(sizeof *tmp * (n ? n : 1));
	size_t *cnt = wn_malloc(sizeof *cnt * 65536);
	for (int pass = 0; pass < 4; pass++) {
		int sh = 16 * pass;
		memset(cnt, 0, sizeof *cnt * 65536);
		for (size_t i = 0; i < n; i++) cnt[(a[i] >> sh) & 0xffff]++;
		size_t s = 0;
		for (size_t i = 0; i < 65536; i++) {
			size_t c = cnt[i];
			cnt[i] = s;
			s += c;
		}
		for (size_t i = 0; i < n; i++) tmp[cnt[(a[i] >> sh) & 0xffff]++] = a[i];
		memcpy(a, tmp, sizeof *a * n);
	}
	free(cnt);
	free(tmp);
}

/* ---- state ---- */

static doc *D;
static size_t ND, capD;
static uint32_t *FP;        /* all sets, concatenated */
static size_t NFP, capFP;
static uint64_t *KEYS;      /* bands * 2 per document */
static uint32_t *SIG;       /* the signatures, NPERM per document */
static size_t NPERM;
static wn_buf ARENA;        /* ids and orig ids */
static strtab IDS;          /* ids */
static int32_t *ID2DOC;     /* IDS index -> document */
static char GROUP[MAX_GROUPS][32];
static int NGROUP;

/* the inverted index */
static uint32_t *UFP;       /* distinct fingerprints, sorted */
static uint64_t *PSTART;    /* postings of UFP[u]: PDOC[PSTART[u] .. PSTART[u+1]) */
static uint32_t *PDOC;
static uint32_t *PIDX;      /* per set element: its u */
static size_t NU;

typedef struct ann {
	const char *label, *path;
	int32_t *cl;            /* cluster per document, -1 none */
	uint8_t *kept;
	size_t nclusters, nindocs, nremoved, unmatched;
	int32_t *kept_doc;      /* per cluster */
	uint64_t pred_pairs;
	/* filled by the all-pairs pass */
	uint64_t bin_same[NBINS];
	uint64_t same_true, same_half, same_pos;
} ann;

static ann ANN[MAX_ANN];
static int NANN;

static int bin_of(double j)
{
	if (j >= 1.0) return NBINS - 1;
	if (j < 0.5) return (int)(j * 10);
	int b = 5 + (int)((j - 0.5) * 20);
	return b > NBINS - 2 ? NBINS - 2 : b;
}

static double bin_lo(int b) { return b < 5 ? b * 0.1 : b < NBINS - 1 ? 0.5 + (b - 5) * 0.05 : 1.0; }
static double bin_hi(int b) { return b < 5 ? (b + 1) * 0.1 : b < NBINS - 1 ? 0.55 + (b - 5) * 0.05 : 1.0; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int group_of(const char *id, size_t n)
{
	size_t k = 0;
	while (k < n && id[k] != '/') k++;
	if (k == n || k >= sizeof GROUP[0]) k = 0;
	for (int g = 0; g < NGROUP; g++)
		if (strlen(GROUP[g]) == k && !memcmp(GROUP[g], id, k)) return g;
	if (NGROUP == MAX_GROUPS) return MAX_GROUPS - 1;
	memcpy(GROUP[NGROUP], id, k);
	GROUP[NGROUP][k] = 0;
	if (!k) strcpy(GROUP[NGROUP], "(none)");
	return NGROUP++;
}

/* ---- reading ---- */

static int read_docs(const char *path, const wn_doc_fields *f, int ngram, uint64_t seed,
		     dd_minhash *mh, int bands, int rows, size_t *empty)
{
	wn_reader *r;
	if (wn_reader_open(&r, path, NULL)) {
		fprintf(stderr, "dedup_truth: %s: %s\n", path, wn_reader_error(r));
		wn_reader_close(r);
		return 1;
	}
	dd_shingler *sh = dd_shingler_new(ngram, seed);
	uint32_t *sig = wn_malloc(sizeof *sig * (size_t)bands * (size_t)rows);
	wn_doc d;
	wn_doc_init(&d);
	wn_buf tmp;
	wn_buf_init(&tmp, 0);
	const char *line;
	size_t len;
	int rc, bad = 0;
	size_t capkeys = 0;
	while ((rc = wn_reader_next(r, &line, &len)) != 0) {
		if (rc == WN_ETOOBIG) {
			bad++;
			continue;
		}
		if (rc != 1) break;
		if (wn_doc_parse_padded(&d, line, len, f) || !d.has_text) {
			bad++;
			continue;
		}
		const uint64_t *shv;
		size_t m = dd_shingles(sh, d.text.data, d.text.len, &shv);
		if (!m) {
			(*empty)++;
			continue;
		}
		if (ND == capD) {
			capD = capD ? 2 * capD : 4096;
			D = wn_realloc(D, sizeof *D * capD);
		}
		if ((ND + 1) * (size_t)bands * 2 > capkeys) {
			capkeys = capD * (size_t)bands * 2;
			KEYS = wn_realloc(KEYS, sizeof *KEYS * capkeys);
			SIG = wn_realloc(SIG, sizeof *SIG * capD * NPERM);
		}
		dd_minhash_sig(mh, shv, m, sig);
		memcpy(SIG + ND * NPERM, sig, sizeof *sig * NPERM);
		for (int b = 0; b < bands; b++) dd_band_key(mh, sig, b, KEYS + (ND * (size_t)bands + b) * 2);
		const uint32_t *set;
		size_t ns = dd_shingle_set(sh, &set);
		if (NFP + ns > capFP) {
			capFP = (NFP + ns) * 2;
			FP = wn_realloc(FP, sizeof *FP * capFP);
		}
		memcpy(FP + NFP, set, sizeof *set * ns);
		doc *x = &D[ND];
		memset(x, 0, sizeof *x);
		x->set_off = NFP;
		x->nset = (uint32_t)ns;
		NFP += ns;
		if (d.has_id) {
			x->id_off = (uint32_t)ARENA.len;
			x->id_len = (uint32_t)d.id.len;
			wn_buf_add(&ARENA, d.id.data, d.id.len);
		} else {
			/* no id: the line number */
			x->id_off = (uint32_t)ARENA.len;
			wn_buf_addf(&ARENA, "line:%llu", (unsigned long long)wn_reader_lineno(r));
			x->id_len = (uint32_t)(ARENA.len - x->id_off);
		}
		x->group = group_of(ARENA.data + x->id_off, x->id_len);
		x->orig = -1;
		x->target = -1;
		const wn_member *o = wn_doc_get(&d, "orig");
		if (o && o->type == WN_J_STR) {
			wn_buf_reset(&tmp);
			wn_json_decode_string(o->val, o->vlen, &tmp);
			x->orig_off = (uint32_t)ARENA.len;
			x->orig_len = (uint32_t)tmp.len;
			wn_buf_add(&ARENA, tmp.data, tmp.len);
			const wn_member *t = wn_doc_get(&d, "target_j");
			if (t && t->type == WN_J_NUM) x->target = strtod(t->val, NULL);
		}
		ND++;
	}
	if (rc) {
		fprintf(stderr, "dedup_truth: %s: %s\n", path, wn_reader_error(r));
		rc = 1;
	}
	if (bad) fprintf(stderr, "dedup_truth: %s: %d lines without a text skipped\n", path, bad);
	wn_reader_close(r);
	wn_doc_release(&d);
	wn_buf_release(&tmp);
	free(sig);
	dd_shingler_free(sh);
	/* the first document of an id is the one -a and orig refer to */
	ID2DOC = wn_malloc(sizeof *ID2DOC * (ND ? ND : 1));
	size_t dup = 0;
	for (size_t i = 0; i < ND; i++) {
		long before = (long)IDS.n;
		long k = strtab_get(&IDS, ARENA.data + D[i].id_off, D[i].id_len, 1);
		if (k == before) ID2DOC[k] = (int32_t)i;
		else dup++;
	}
	if (dup) fprintf(stderr, "dedup_truth: %s: %zu repeated ids\n", path, dup);
	for (size_t i = 0; i < ND; i++) {
		if (!D[i].orig_len) continue;
		long k = strtab_get(&IDS, ARENA.data + D[i].orig_off, D[i].orig_len, 0);
		D[i].orig = k < 0 ? -1 : ID2DOC[k];
	}
	return rc;
}

static long doc_by_id(const char *s, size_t n)
{
	long k = strtab_get(&IDS, s, n, 0);
	return k < 0 ? -1 : ID2DOC[k];
}

/* ---- the inverted index ---- */

static void build_index(void)
{
	uint64_t *e = wn_malloc(sizeof *e * (NFP ? NFP : 1));
	size_t k = 0;
	for (size_t i = 0; i < ND; i++)
		for (uint32_t s = 0; s < D[i].nset; s++)
			e[k++] = (uint64_t)FP[D[i].set_off + s] << 32 | i;
	radix_sort64(e, NFP);
	UFP = wn_malloc(sizeof *UFP * (NFP + 1));
	PSTART = wn_malloc(sizeof *PSTART * (NFP + 2));
	PDOC = wn_malloc(sizeof *PDOC * (NFP + 1));
	PIDX = wn_malloc(sizeof *PIDX * (NFP + 1));
	uint32_t *cur = wn_calloc(ND ? ND : 1, sizeof *cur);
	NU = 0;
	for (size_t p = 0; p < NFP; p++) {
		uint32_t fp = (uint32_t)(e[p] >> 32), d = (uint32_t)e[p];
		if (!NU || UFP[NU - 1] != fp) {
			UFP[NU] = fp;
			PSTART[NU] = p;
			NU++;
		}
		PDOC[p] = d;
		PIDX[D[d].set_off + cur[d]++] = (uint32_t)(NU - 1);
	}
	PSTART[NU] = NFP;
	free(cur);
	free(e);
}

/* ---- candidates ---- */

static uint64_t candidates(pset *cand, int bands, uint64_t *biggest)
{
	dd_rec *r = wn_malloc(sizeof *r * (ND ? ND : 1));
	uint64_t bucket_pairs = 0;
	*biggest = 0;
	for (int b = 0; b < bands; b++) {
		for (size_t i = 0; i < ND; i++) {
			r[i].k0 = KEYS[(i * (size_t)bands + b) * 2];
			r[i].k1 = KEYS[(i * (size_t)bands + b) * 2 + 1];
			r[i].doc = i;
		}
		dd_rec_sort(r, ND);
		for (size_t s = 0; s < ND;) {
			size_t e = s + 1;
			while (e < ND && r[e].k0 == r[s].k0 && r[e].k1 == r[s].k1) e++;
			if (e - s > *biggest) *biggest = e - s;
			for (size_t x = s; x < e; x++)
				for (size_t y = x + 1; y < e; y++) {
					pset_add(cand, pkey((uint32_t)r[x].doc, (uint32_t)r[y].doc));
					bucket_pairs++;
				}
			s = e;
		}
	}
	free(r);
	return bucket_pairs;
}

/* ---- the all-pairs pass ---- */

typedef struct tpair {
	uint32_t i, j;
	double J;
} tpair;

typedef struct stats {
	uint64_t bin_pairs[NBINS], bin_cand[NBINS];
	double bin_sumj[NBINS], bin_sump[NBINS], bin_agree[NBINS];
	uint8_t *bin_docs[NBINS];           /* documents in a pair of the bin */
	uint64_t pairs_pos;                 /* J > 0 */
	uint64_t true_t, true_half, cand_true, cand_pos;
	uint64_t g_true[MAX_GROUPS + 1], g_cand_true[MAX_GROUPS + 1];
	uint64_t work;                      /* posting entries visited */
	tpair *half;                        /* pairs with J >= 0.5 */
	size_t nhalf, caphalf;
} stats;

static void all_pairs(pset *cand, double t, int bands, int rows, stats *st)
{
	uint32_t *cnt = wn_calloc(ND ? ND : 1, sizeof *cnt);
	uint32_t *touched = wn_malloc(sizeof *touched * (ND ? ND : 1));
	for (int b = 0; b < NBINS; b++) st->bin_docs[b] = wn_calloc(ND ? ND : 1, 1);
	for (size_t i = 0; i < ND; i++) {
		size_t nt = 0;
		const doc *a = &D[i];
		for (uint32_t s = 0; s < a->nset; s++) {
			uint32_t u = PIDX[a->set_off + s];
			uint64_t lo = PSTART[u];
			for (uint64_t p = PSTART[u + 1]; p-- > lo;) {
				uint32_t j = PDOC[p];
				if (j <= i) break;
				if (!cnt[j]++) touched[nt++] = j;
				st->work++;
			}
		}
		for (size_t k = 0; k < nt; k++) {
			uint32_t j = touched[k];
			uint32_t inter = cnt[j];
			cnt[j] = 0;
			double J = (double)inter / (double)(a->nset + D[j].nset - inter);
			int b = bin_of(J);
			long slot = pset_find(cand, pkey((uint32_t)i, j));
			int is_cand = slot >= 0;
			if (is_cand) cand->val[slot] = J;
			st->pairs_pos++;
			st->bin_pairs[b]++;
			st->bin_cand[b] += (uint64_t)is_cand;
			st->bin_sumj[b] += J;
			st->bin_sump[b] += dd_lsh_prob(J, bands, rows);
			const uint32_t *sa = SIG + i * NPERM, *sb = SIG + (size_t)j * NPERM;
			uint32_t eq = 0;
			for (size_t k2 = 0; k2 < NPERM; k2++) eq += sa[k2] == sb[k2];
			st->bin_agree[b] += (double)eq / (double)NPERM;
			st->bin_docs[b][i] = st->bin_docs[b][j] = 1;
			st->cand_pos += (uint64_t)is_cand;
			int g = a->group == D[j].group ? a->group : MAX_GROUPS;
			if (J >= t) {
				st->true_t++;
				st->cand_true += (uint64_t)is_cand;
				st->g_true[g]++;
				st->g_cand_true[g] += (uint64_t)is_cand;
			}
			for (int x = 0; x < NANN; x++) {
				ann *an = &ANN[x];
				if (an->cl[i] < 0 || an->cl[i] != an->cl[j]) continue;
				an->bin_same[b]++;
				an->same_pos++;
				if (J >= t) an->same_true++;
				if (J >= 0.5) an->same_half++;
			}
			if (J >= 0.5) {
				st->true_half++;
				if (st->nhalf == st->caphalf) {
					st->caphalf = st->caphalf ? 2 * st->caphalf : 65536;
					st->half = wn_realloc(st->half, sizeof *st->half * st->caphalf);
				}
				st->half[st->nhalf++] = (tpair){ (uint32_t)i, j, J };
			}
		}
	}
	free(cnt);
	free(touched);
}

/* K random documents against every other: the index's Jaccard (all j,
 * not only later ones) must equal dd_jaccard. */
static void brute_check(int k, uint64_t *checked, uint64_t *positive, uint64_t *bad)
{
	uint32_t *cnt = wn_calloc(ND ? ND : 1, sizeof *cnt);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	*checked = *positive = *bad = 0;
	for (int r = 0; r < k && ND > 1; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t i = (size_t)((x >> 33) % ND);
		const doc *a = &D[i];
		for (uint32_t s = 0; s < a->nset; s++) {
			uint32_t u = PIDX[a->set_off + s];
			for (uint64_t p = PSTART[u]; p < PSTART[u + 1]; p++) cnt[PDOC[p]]++;
		}
		for (size_t j = 0; j < ND; j++) {
			if (j == i) {
				cnt[j] = 0;
				continue;
			}
			const doc *b = &D[j];
			double ji = cnt[j] ? (double)cnt[j] / (double)(a->nset + b->nset - cnt[j]) : 0;
			double jb = dd_jaccard(FP + a->set_off, a->nset, FP + b->set_off, b->nset);
			cnt[j] = 0;
			(*checked)++;
			*positive += jb > 0;
			*bad += ji != jb;
		}
	}
	free(cnt);
}

/* ---- annotations ---- */

static int read_ann(ann *an, const char *field, const wn_doc_fields *f)
{
	wn_reader *r;
	if (wn_reader_open(&r, an->path, NULL)) {
		fprintf(stderr, "dedup_truth: %s: %s\n", an->path, wn_reader_error(r));
		wn_reader_close(r);
		return 1;
	}
	an->cl = wn_malloc(sizeof *an->cl * (ND ? ND : 1));
	an->kept = wn_calloc(ND ? ND : 1, 1);
	for (size_t i = 0; i < ND; i++) an->cl[i] = -1;
	strtab clusters;
	strtab_init(&clusters);
	wn_doc d, v;
	wn_doc_init(&d);
	wn_doc_init(&v);
	const char *line;
	size_t len;
	int rc;
	while ((rc = wn_reader_next(r, &line, &len)) != 0) {
		if (rc == WN_ETOOBIG) continue;
		if (rc != 1) break;
		if (wn_doc_parse_padded(&d, line, len, f) || !d.has_id) continue;
		const wn_member *m = wn_doc_get(&d, field);
		if (!m || m->type != WN_J_OBJ) continue;
		long i = doc_by_id(d.id.data, d.id.len);
		if (i < 0) {
			an->unmatched++;
			continue;
		}
		if (wn_doc_parse(&v, m->val, m->vlen, NULL)) continue;
		const wn_member *c = wn_doc_get(&v, "cluster");
		const wn_member *k = wn_doc_get(&v, "kept");
		if (!c) continue;
		long cl = strtab_get(&clusters, c->val, c->vlen, 1);
		an->cl[i] = (int32_t)cl;
		an->kept[i] = k && k->vlen == 4 && !memcmp(k->val, "true", 4);
	}
	if (rc != 0) {
		fprintf(stderr, "dedup_truth: %s: %s\n", an->path, wn_reader_error(r));
		rc = 1;
	}
	wn_reader_close(r);
	wn_doc_release(&d);
	wn_doc_release(&v);
	an->nclusters = clusters.n;
	strtab_free(&clusters);
	uint64_t *size = wn_calloc(an->nclusters + 1, sizeof *size);
	an->kept_doc = wn_malloc(sizeof *an->kept_doc * (an->nclusters + 1));
	for (size_t c = 0; c < an->nclusters; c++) an->kept_doc[c] = -1;
	for (size_t i = 0; i < ND; i++) {
		if (an->cl[i] < 0) continue;
		size[an->cl[i]]++;
		an->nindocs++;
		if (an->kept[i]) an->kept_doc[an->cl[i]] = (int32_t)i;
		else an->nremoved++;
	}
	for (size_t c = 0; c < an->nclusters; c++) an->pred_pairs += size[c] * (size[c] - 1) / 2;
	free(size);
	return rc;
}

/* ---- partitions ---- */

/* Documents whose cluster in an annotation differs from their component
 * in root[] (comp_size[root] >= 2 means a component of two or more): a
 * document counts when one side has it alone and the other does not, or
 * when its cluster maps to another component than the cluster's first
 * document's (and back). */
static uint64_t partition_diff(const ann *an, const uint64_t *root, const uint64_t *csize)
{
	int64_t *c2r = wn_malloc(sizeof *c2r * (an->nclusters + 1));
	int64_t *r2c = wn_malloc(sizeof *r2c * (ND ? ND : 1));
	for (size_t c = 0; c < an->nclusters; c++) c2r[c] = -1;
	for (size_t i = 0; i < ND; i++) r2c[i] = -1;
	uint64_t diff = 0;
	for (size_t i = 0; i < ND; i++) {
		int in_comp = csize[root[i]] >= 2;
		int32_t c = an->cl[i];
		if ((c >= 0) != in_comp) {
			diff++;
			continue;
		}
		if (c < 0) continue;
		if (c2r[c] < 0) c2r[c] = (int64_t)root[i];
		if (r2c[root[i]] < 0) r2c[root[i]] = c;
		diff += c2r[c] != (int64_t)root[i] || r2c[root[i]] != c;
	}
	free(c2r);
	free(r2c);
	return diff;
}

/* Components of the candidate graph (verified: only pairs with J >= t). */
static void components(const pset *cand, int verified, double t, uint64_t *root, uint64_t *csize)
{
	dd_uf uf;
	dd_uf_init(&uf, ND, 0);
	for (size_t s = 0; s < cand->cap; s++) {
		if (!cand->key[s] || (verified && !(cand->val[s] >= t))) continue;
		dd_uf_union(&uf, cand->key[s] >> 32, (uint32_t)cand->key[s]);
	}
	for (size_t i = 0; i < ND; i++) csize[i] = 0;
	for (size_t i = 0; i < ND; i++) {
		root[i] = dd_uf_find(&uf, i);
		csize[root[i]]++;
	}
	dd_uf_release(&uf);
}

/* ---- report ---- */

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

static void report_edits(const pset *cand, double t, int bands, int rows)
{
	double tg[32];
	int nt = 0;
	for (size_t i = 0; i < ND; i++) {
		if (D[i].orig < 0) continue;
		int k = 0;
		while (k < nt && tg[k] != D[i].target) k++;
		if (k == nt && nt < 32) tg[nt++] = D[i].target;
	}
	if (!nt) return;
	for (int a = 1; a < nt; a++)
		for (int b = a; b > 0 && tg[b - 1] > tg[b]; b--) {
			double z = tg[b];
			tg[b] = tg[b - 1];
			tg[b - 1] = z;
		}
	printf("\nEdited copies against their originals (per target Jaccard of the edits):\n");
	printf("  target   pairs  mean J   min J   max J  J>=%.2f  cand%%  theory%%", t);
	for (int x = 0; x < NANN; x++) printf("  %8.8s%%", ANN[x].label);
	printf("\n");
	for (int k = 0; k < nt; k++) {
		uint64_t n = 0, nc = 0, above = 0, same[MAX_ANN] = { 0 };
		double sum = 0, mn = 2, mx = -1, sump = 0;
		for (size_t i = 0; i < ND; i++) {
			if (D[i].orig < 0 || D[i].target != tg[k]) continue;
			const doc *a = &D[i], *b = &D[D[i].orig];
			double J = dd_jaccard(FP + a->set_off, a->nset, FP + b->set_off, b->nset);
			n++;
			sum += J;
			mn = J < mn ? J : mn;
			mx = J > mx ? J : mx;
			above += J >= t;
			nc += pset_find(cand, pkey((uint32_t)i, (uint32_t)D[i].orig)) >= 0;
			sump += dd_lsh_prob(J, bands, rows);
			for (int x = 0; x < NANN; x++)
				same[x] += ANN[x].cl[i] >= 0 && ANN[x].cl[i] == ANN[x].cl[D[i].orig];
		}
		printf("  %6.2f  %6llu  %6.3f  %6.3f  %6.3f  %6llu  %5.1f", tg[k],
		       (unsigned long long)n, sum / n, mn, mx, (unsigned long long)above, 100.0 * nc / n);
		printf("  %7.1f", 100.0 * sump / n);
		for (int x = 0; x < NANN; x++) printf("  %8.1f%%", 100.0 * same[x] / n);
		printf("\n");
	}
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: dedup_truth [OPTIONS] FILE.jsonl\n"
		"  -n, --ngram N          tokens per shingle (5)\n"
		"  -s, --seed N           hash seed (1)\n"
		"  -b, --bands B          LSH bands (14)\n"
		"  -r, --rows R           rows per band (8)\n"
		"  -t, --threshold J      true pairs: Jaccard >= J (0.8)\n"
		"  -a, --annotated [LABEL=]FILE  output of winnow dedup minhash --annotate-only\n"
		"                         on FILE: cluster-level numbers (up to %d)\n"
		"  -F, --field NAME       the annotation key (dedup)\n"
		"  -k, --check K          brute-force check of K documents' pairs (20)\n"
		"      --text-field NAME  (text)\n"
		"      --id-field NAME    (id)\n",
		MAX_ANN);
}

int main(int argc, char **argv)
{
	int ngram = 5, bands = 14, rows = 8, check = 20;
	uint64_t seed = 1;
	double t = 0.8;
	const char *field = "dedup";
	wn_doc_fields f = { "text", "id", "domain" };
	static const struct option lo[] = {
		{ "ngram", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "bands", required_argument, NULL, 'b' },
		{ "rows", required_argument, NULL, 'r' },
		{ "threshold", required_argument, NULL, 't' },
		{ "annotated", required_argument, NULL, 'a' },
		{ "field", required_argument, NULL, 'F' },
		{ "check", required_argument, NULL, 'k' },
		{ "text-field", required_argument, NULL, 1 },
		{ "id-field", required_argument, NULL, 2 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:s:b:r:t:a:F:k:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': ngram = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'b': bands = atoi(optarg); break;
		case 'r': rows = atoi(optarg); break;
		case 't': t = atof(optarg); break;
		case 'F': field = optarg; break;
		case 'k': check = atoi(optarg); break;
		case 1: f.text = optarg; break;
		case 2: f.id = optarg; break;
		case 'a': {
			if (NANN == MAX_ANN) {
				fprintf(stderr, "dedup_truth: at most %d -a\n", MAX_ANN);
				return 2;
			}
			ann *an = &ANN[NANN++];
			char *eq = strchr(optarg, '=');
			if (eq) {
				*eq = 0;
				an->label = optarg;
				an->path = eq + 1;
			} else {
				const char *sl = strrchr(optarg, '/');
				an->label = sl ? sl + 1 : optarg;
				an->path = optarg;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || ngram < 1 || !(t > 0 && t <= 1)) {
		usage(stderr);
		return 2;
	}
	dd_minhash *mh = dd_minhash_new(bands, rows, seed);
	if (!mh) {
		fprintf(stderr, "dedup_truth: bad bands x rows %d x %d\n", bands, rows);
		return 2;
	}
	const char *path = argv[optind];
	NPERM = (size_t)bands * (size_t)rows;
	wn_buf_init(&ARENA, 0);
	strtab_init(&IDS);
	double t0 = now();
	size_t empty = 0;
	if (read_docs(path, &f, ngram, seed, mh, bands, rows, &empty)) return 1;
	double t1 = now();
	build_index();
	double t2 = now();
	pset cand;
	pset_init(&cand);
	uint64_t biggest;
	uint64_t bucket_pairs = candidates(&cand, bands, &biggest);
	double t3 = now();
	for (int x = 0; x < NANN; x++)
		if (read_ann(&ANN[x], field, &f)) return 1;
	stats st;
	memset(&st, 0, sizeof st);
	all_pairs(&cand, t, bands, rows, &st);
	double t4 = now();
	uint64_t checked = 0, positive = 0, bad = 0;
	brute_check(check, &checked, &positive, &bad);
	double t5 = now();

	/* candidates by J: those never looked up have J = 0 */
	uint64_t cand_zero = 0, cand_low = 0, cand_mid = 0, g_cand[MAX_GROUPS + 1] = { 0 };
	for (size_t s = 0; s < cand.cap; s++) {
		if (!cand.key[s]) continue;
		double J = cand.val[s];
		uint32_t i = (uint32_t)(cand.key[s] >> 32), j = (uint32_t)cand.key[s];
		int g = D[i].group == D[j].group ? D[i].group : MAX_GROUPS;
		g_cand[g]++;
		if (J < 0) cand_zero++;
		else if (J < 0.5) cand_low++;
		else if (J < t) cand_mid++;
	}

	printf("dedup_truth: %s\n", path);
	printf("  documents %zu (%zu without shingles left out), ngram %d, seed %llu\n", ND, empty,
	       ngram, (unsigned long long)seed);
	printf("  distinct fingerprints %zu of %zu; pair work %llu postings\n", NU, NFP,
	       (unsigned long long)st.work);
	printf("  time: read+sign %.1f s, index %.1f s, candidates %.1f s, all pairs %.1f s, "
	       "check %.1f s\n", t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4);
	printf("  brute-force check: %d documents x all others = %llu pairs (%llu with J > 0), "
	       "%llu mismatches\n", check, (unsigned long long)checked,
	       (unsigned long long)positive, (unsigned long long)bad);
	uint64_t n8 = 0;
	for (size_t k = 0; k < st.nhalf; k++) n8 += st.half[k].J >= 0.8;
	printf("\nExact pairs: J > 0: %llu   J >= 0.5: %llu   J >= 0.8: %llu   J >= %.2f: %llu\n",
	       (unsigned long long)st.pairs_pos, (unsigned long long)st.true_half,
	       (unsigned long long)n8, t, (unsigned long long)st.true_t);
	uint64_t ncand = cand.n;
	printf("\nLSH %d bands x %d rows: %llu candidate pairs (%llu bucket pairs, largest bucket %llu)\n",
	       bands, rows, (unsigned long long)ncand, (unsigned long long)bucket_pairs,
	       (unsigned long long)biggest);
	printf("  candidates with J = 0: %llu, 0 < J < 0.5: %llu, 0.5 <= J < %.2f: %llu, "
	       "J >= %.2f: %llu\n", (unsigned long long)cand_zero, (unsigned long long)cand_low,
	       t, (unsigned long long)cand_mid, t, (unsigned long long)st.cand_true);
	printf("  false positives with J < 0.5: %llu\n",
	       (unsigned long long)(cand_zero + cand_low));
	printf("  at J >= %.2f: candidates      precision %.4f  recall %.4f  (%llu of %llu true)\n",
	       t, ratio(st.cand_true, ncand), ratio(st.cand_true, st.true_t),
	       (unsigned long long)st.cand_true, (unsigned long long)st.true_t);
	printf("  at J >= %.2f: verified pairs  precision %.4f  recall %.4f\n", t,
	       ratio(st.cand_true, st.cand_true), ratio(st.cand_true, st.true_t));

	printf("\nPer set (pairs inside one set; id prefix):\n");
	printf("  %-10s %10s %10s %10s %9s %9s\n", "set", "true", "cand", "cand&true", "precision",
	       "recall");
	for (int g = 0; g <= MAX_GROUPS; g++) {
		if (g < MAX_GROUPS && g >= NGROUP) continue;
		const char *name = g == MAX_GROUPS ? "(across)" : GROUP[g];
		printf("  %-10s %10llu %10llu %10llu %9.4f %9.4f\n", name,
		       (unsigned long long)st.g_true[g], (unsigned long long)g_cand[g],
		       (unsigned long long)st.g_cand_true[g], ratio(st.g_cand_true[g], g_cand[g]),
		       ratio(st.g_cand_true[g], st.g_true[g]));
	}

	printf("\nS-curve: candidate rate per bin of true J (%d x %d; theory 1-(1-s^%d)^%d)\n",
	       bands, rows, rows, bands);
	printf("  %-11s %10s %6s %8s %8s %8s %9s %9s", "J", "pairs", "docs", "mean J", "rows=%",
	       "cand%", "P(mean)%", "mean P%");
	for (int x = 0; x < NANN; x++) printf(" %9.9s%%", ANN[x].label);
	printf("\n");
	for (int b = 0; b < NBINS; b++) {
		char lab[32];
		if (b == NBINS - 1) snprintf(lab, sizeof lab, "1");
		else snprintf(lab, sizeof lab, "%.2f-%.2f", bin_lo(b), bin_hi(b));
		uint64_t n = st.bin_pairs[b];
		double mj = n ? st.bin_sumj[b] / n : NAN;
		size_t nd = 0;
		for (size_t i = 0; i < ND; i++) nd += st.bin_docs[b][i];
		printf("  %-11s %10llu %6zu %8.4f %8.3f %8.3f %9.3f %9.3f", lab, (unsigned long long)n,
		       nd, mj, 100 * ratio(st.bin_agree[b], n), 100 * ratio(st.bin_cand[b], n),
		       n ? 100 * dd_lsh_prob(mj, bands, rows) : NAN, 100 * ratio(st.bin_sump[b], n));
		for (int x = 0; x < NANN; x++) printf(" %9.3f%%", 100 * ratio(ANN[x].bin_same[b], n));
		printf("\n");
	}
	printf("  (J = 0: %llu candidate pairs; the pairs themselves are not counted.  docs: the\n"
	       "  documents in the bin's pairs; rows=: the share of signature rows that agree,\n"
	       "  MinHash's estimate of J)\n", (unsigned long long)cand_zero);

	if (NANN) {
		/* the least removals: documents minus components of the true graph */
		dd_uf uf;
		dd_uf_init(&uf, ND, 0);
		uint64_t comps = ND;
		uint8_t *has_true = wn_calloc(ND ? ND : 1, 1);
		for (size_t k = 0; k < st.nhalf; k++) {
			if (st.half[k].J < t) continue;
			comps -= (uint64_t)dd_uf_union(&uf, st.half[k].i, st.half[k].j);
			has_true[st.half[k].i] = has_true[st.half[k].j] = 1;
		}
		dd_uf_release(&uf);
		uint64_t *root[2], *csize[2], ncomp[2] = { 0, 0 }, incomp[2] = { 0, 0 };
		for (int v = 0; v < 2; v++) {
			root[v] = wn_malloc(sizeof *root[v] * (ND ? ND : 1));
			csize[v] = wn_malloc(sizeof *csize[v] * (ND ? ND : 1));
			components(&cand, v, t, root[v], csize[v]);
			for (size_t i = 0; i < ND; i++) {
				ncomp[v] += root[v][i] == i && csize[v][i] >= 2;
				incomp[v] += csize[v][root[v][i]] >= 2;
			}
		}
		printf("\nClusters of winnow dedup (predicted pairs: all pairs of a cluster; "
		       "true: J >= %.2f)\n", t);
		printf("  least removals the truth needs: %llu\n",
		       (unsigned long long)(ND - comps));
		printf("  components of the candidate graph: %llu holding %llu documents; of the "
		       "verified candidates (J >= %.2f): %llu holding %llu\n",
		       (unsigned long long)ncomp[0], (unsigned long long)incomp[0], t,
		       (unsigned long long)ncomp[1], (unsigned long long)incomp[1]);
		for (int x = 0; x < NANN; x++) {
			ann *an = &ANN[x];
			uint64_t rm_hi = 0, rm_mid = 0, rm_lo = 0, rm_zero = 0, missed = 0;
			for (size_t i = 0; i < ND; i++) {
				if (an->cl[i] < 0) {
					missed += has_true[i];
					continue;
				}
				if (an->kept[i]) continue;
				int32_t kd = an->kept_doc[an->cl[i]];
				if (kd < 0) continue;
				const doc *a = &D[i], *b = &D[kd];
				double J = dd_jaccard(FP + a->set_off, a->nset, FP + b->set_off, b->nset);
				if (J >= t) rm_hi++;
				else if (J >= 0.5) rm_mid++;
				else if (J > 0) rm_lo++;
				else rm_zero++;
			}
			printf("  [%s] %s\n", an->label, an->path);
			printf("    clusters %zu, documents in them %zu, removed %zu%s\n", an->nclusters,
			       an->nindocs, an->nremoved,
			       an->unmatched ? " (some ids not in the input)" : "");
			printf("    predicted pairs %llu: J >= %.2f %llu, J >= 0.5 %llu, J > 0 %llu, "
			       "J = 0 %llu\n", (unsigned long long)an->pred_pairs, t,
			       (unsigned long long)an->same_true, (unsigned long long)an->same_half,
			       (unsigned long long)an->same_pos,
			       (unsigned long long)(an->pred_pairs - an->same_pos));
			printf("    pair precision %.4f  recall %.4f  (precision at J >= 0.5: %.4f)\n",
			       ratio(an->same_true, an->pred_pairs), ratio(an->same_true, st.true_t),
			       ratio(an->same_half, an->pred_pairs));
			printf("    removed documents by J with the kept one: >= %.2f %llu, 0.5-%.2f %llu, "
			       "0-0.5 %llu, 0 %llu\n", t, (unsigned long long)rm_hi, t,
			       (unsigned long long)rm_mid, (unsigned long long)rm_lo,
			       (unsigned long long)rm_zero);
			printf("    documents with a true duplicate left out of every cluster: %llu\n",
			       (unsigned long long)missed);
			/* the kept document is the first of its cluster (no --keep-by) */
			uint64_t first_kept = 0;
			int32_t *first = wn_malloc(sizeof *first * (an->nclusters + 1));
			for (size_t k = 0; k < an->nclusters; k++) first[k] = -1;
			for (size_t i = 0; i < ND; i++)
				if (an->cl[i] >= 0 && first[an->cl[i]] < 0) first[an->cl[i]] = (int32_t)i;
			for (size_t k = 0; k < an->nclusters; k++) first_kept += an->kept_doc[k] == first[k];
			free(first);
			printf("    clusters keeping their first document: %llu of %zu\n",
			       (unsigned long long)first_kept, an->nclusters);
			printf("    documents placed otherwise than by the candidate graph's components: "
			       "%llu; than by the verified candidates': %llu\n",
			       (unsigned long long)partition_diff(an, root[0], csize[0]),
			       (unsigned long long)partition_diff(an, root[1], csize[1]));
		}
		for (int v = 0; v < 2; v++) {
			free(root[v]);
			free(csize[v]);
		}
		free(has_true);
	}
	report_edits(&cand, t, bands, rows);
	dd_minhash_free(mh);
	return 0;
}
