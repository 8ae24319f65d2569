/* bpe_train.c - byte-level BPE training and its writers (see bpe_train.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/hash.h"
#include "../lib/shard.h"
#include "bpe_train.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* Large arrays are read at random (counts, words, symbols, pairs): on 2 MiB
 * pages the TLB covers them and far fewer page faults are taken.  These
 * allocate (and re-allocate, copying `keep` bytes) such an array; free()
 * releases it. */
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

static void *big_alloc(size_t n)
{
	if (n < HUGE_MIN) return wn_malloc(n);
	void *p;
	size_t r = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (posix_memalign(&p, HUGE_PAGE, r)) wn_die_oom();
	madvise(p, r, MADV_HUGEPAGE); /* a hint: fine if refused */
	return p;
}

static void *big_realloc(void *old, size_t keep, size_t n)
{
	if (n < HUGE_MIN) return wn_realloc(old, n);
	void *p = big_alloc(n);
	if (keep) memcpy(p, old, keep);
	free(old);
	return p;
}

/* ==================================================================== */
/* pre-token counts                                                      */
/* ==================================================================== */

typedef struct centry {
	uint64_t off;    /* key bytes at arena + off */
	uint64_t hash;   /* XXH3-64 of the key, seed 0 */
	uint64_t count;
	uint32_t len;
} centry;

struct wn_bpe_counts {
	unsigned char *arena;
	size_t alen, acap;
	centry *e;       /* n entries, first-insertion order */
	size_t n, ecap;
	uint64_t *slot;  /* tag (hash >> 32) << 32 | (entry + 1); 0 = empty */
	size_t mask;     /* slots - 1 (0 before the first add) */
	uint64_t total;
};

wn_bpe_counts *wn_bpe_counts_new(void) { return wn_calloc(1, sizeof(wn_bpe_counts)); }

void wn_bpe_counts_free(wn_bpe_counts *c)
{
	if (!c) return;
	free(c->arena);
	free(c->e);
	free(c->slot);
	free(c);
}

void wn_bpe_counts_clear(wn_bpe_counts *c)
{
	c->alen = 0;
	c->n = 0;
	c->total = 0;
	if (c->slot) memset(c->slot, 0, (c->mask + 1) * sizeof *c->slot);
}

static void counts_rehash(wn_bpe_counts *c, size_t cap)
{
	free(c->slot);
	c->slot = big_alloc(cap * sizeof *c->slot);
	memset(c->slot, 0, cap * sizeof *c->slot);
	c->mask = cap - 1;
	for (size_t k = 0; k < c->n; k++) {
		uint64_t h = c->e[k].hash;
		size_t i = (size_t)h & c->mask;
		while (c->slot[i]) i = (i + 1) & c->mask;
		c->slot[i] = (h >> 32) << 32 | (uint64_t)(k + 1);
	}
}

static void counts_add_hashed(wn_bpe_counts *c, const void *bytes, size_t len, uint64_t h,
			      uint64_t n)
{
	if ((c->n + 1) * 2 > c->mask + 1 || !c->slot)
		counts_rehash(c, c->slot ? (c->mask + 1) * 2 : 1024);
	uint64_t tag = h >> 32;
	size_t i = (size_t)h & c->mask;
	for (;; i = (i + 1) & c->mask) {
		uint64_t s = c->slot[i];
		if (!s) break;
		if ((s >> 32) != tag) continue;
		centry *e = &c->e[(uint32_t)s - 1];
		if (e->len == len && !memcmp(c->arena + e->off, bytes, len)) {
			e->count += n;
			c->total += n;
			return;
		}
	}
	if (c->n >= UINT32_MAX - 1) wn_die_oom(); /* 2^32 - 2 distinct keys */
	if (c->n == c->ecap) {
		size_t ne = c->ecap ? c->ecap * 2 : 1024;
		c->e = big_realloc(c->e, c->ecap * sizeof *c->e, ne * sizeof *c->e);
		c->ecap = ne;
	}
	if (c->alen + len > c->acap) {
		size_t na = c->acap ? c->acap * 2 : 65536;
		while (na < c->alen + len) na *= 2;
		c->arena = big_realloc(c->arena, c->alen, na);
		c->acap = na;
	}
	if (len) memcpy(c->arena + c->alen, bytes, len);
	centry *e = &c->e[c->n];
	e->off = c->alen;
	e->hash = h;
	e->count = n;
	e->len = (uint32_t)len;
	c->alen += len;
	c->slot[i] = tag << 32 | (uint64_t)(c->n + 1);
	c->n++;
	c->total += n;
}

void wn_bpe_counts_add(wn_bpe_counts *c, const void *bytes, size_t len, uint64_t n)
{
	if (len > UINT32_MAX) len = UINT32_MAX; /* a 4 GiB pre-token: cut */
	counts_add_hashed(c, bytes, len, wn_hash64(bytes, len, 0), n);
}

void wn_bpe_counts_merge(wn_bpe_counts *dst, const wn_bpe_counts *src)
{
	size_t need = dst->mask + 1;
	while ((dst->n + src->n) * 2 > need) need *= 2; /* one rehash at most */
	if (dst->slot && need > dst->mask + 1) counts_rehash(dst, need);
	for (size_t k = 0; k < src->n; k++) {
		const centry *e = &src->e[k];
		counts_add_hashed(dst, src->arena + e->off, e->len, e->hash, e->count);
	}
}

size_t wn_bpe_counts_size(const wn_bpe_counts *c) { return c->n; }
uint64_t wn_bpe_counts_total(const wn_bpe_counts *c) { return c->total; }

size_t wn_bpe_counts_mem(const wn_bpe_counts *c)
{
	return c->acap + c->ecap * sizeof *c->e + (c->slot ? (c->mask + 1) * sizeof *c->slot : 0);
}

uint64_t wn_bpe_counts_get(const wn_bpe_counts *c, const void *bytes, size_t len)
{
	if (!c->slot) return 0;
	uint64_t h = wn_hash64(bytes, len, 0), tag = h >> 32;
	for (size_t i = (size_t)h & c->mask;; i = (i + 1) & c->mask) {
		uint64_t s = c->slot[i];
		if (!s) return 0;
		if ((s >> 32) != tag) continue;
		const centry *e = &c->e[(uint32_t)s - 1];
		if (e->len == len && !memcmp(c->arena + e->off, bytes, len)) return e->count;
	}
}

const unsigned char *wn_bpe_counts_key(const wn_bpe_counts *c, size_t i, size_t *len,
				       uint64_t *count)
{
	const centry *e = &c->e[i];
	if (len) *len = e->len;
	if (count) *count = e->count;
	return c->arena + e->off;
}

/* ==================================================================== */
/* the trainer                                                           */
/* ==================================================================== */

typedef struct word {
	uint64_t off;    /* symbols at sym + off */
	uint64_t cnt;    /* occurrences of the pre-token */
	uint32_t len;    /* current symbols */
	uint32_t stamp;  /* step that last visited the word */
} word;

typedef struct pair {
	int64_t count;   /* sum over words of cnt * occurrences */
	uint32_t a, b;
	uint32_t *w;     /* words that contain (or once contained) the pair */
	uint32_t n, cap;
	uint32_t lastw;  /* last word appended + 1 (0: none) */
	uint32_t touched;/* step that put the pair on the touched list */
} pair;

typedef struct hent {
	int64_t count;   /* the pair's count when pushed */
	uint32_t p;      /* pair index */
} hent;

#define NO_PAIR UINT32_MAX
#define EMPTY_KEY UINT64_MAX

typedef struct pslot {
	uint64_t key;    /* a << 32 | b, EMPTY_KEY = free */
	uint64_t p;      /* pair index */
} pslot;

typedef struct trainer {
	word *W;
	size_t nw;
	uint32_t *sym;
	size_t nsym;

	pair *P;
	size_t np, capp;
	pslot *pm;       /* pair map, open addressing, linear probing */
	size_t pmask;
	int pbits;

	hent *H;         /* binary max-heap by better() */
	size_t nh, caph;

	unsigned char *tb; /* token bytes */
	size_t tblen, tbcap;
	uint64_t *toff;  /* ntok + 1 offsets */
	size_t ntok, captok;
	uint32_t *tmap;  /* bytes -> token id + 1 */
	size_t tmask;

	wn_bpe_merge *M;
	size_t nm, capm;

	uint32_t *T;     /* pairs whose count grew in this step */
	size_t nt, capt;

	uint32_t step;
	uint32_t cur;    /* pair being merged */
	int64_t minf;
	size_t mem, peak;
} trainer;

static void mem_acct(trainer *tr, size_t oldb, size_t newb)
{
	tr->mem = tr->mem - oldb + newb;
	if (tr->mem > tr->peak) tr->peak = tr->mem;
}

/* Grow *p (elements of size es, capacity *cap) to hold at least need. */
static void grow(trainer *tr, void **p, size_t *cap, size_t need, size_t es, size_t first)
{
	if (need <= *cap) return;
	size_t nc = *cap ? *cap : first;
	while (nc < need) nc *= 2;
	*p = big_realloc(*p, *cap * es, nc * es);
	mem_acct(tr, *cap * es, nc * es);
	*cap = nc;
}

/* ---- tokens ---- */

static inline const unsigned char *tok(const trainer *tr, uint32_t id, size_t *len)
{
	*len = (size_t)(tr->toff[id + 1] - tr->toff[id]);
	return tr->tb + tr->toff[id];
}

static void tmap_insert(trainer *tr, uint32_t id)
{
	size_t len;
	const unsigned char *s = tok(tr, id, &len);
	size_t i = (size_t)wn_hash64(s, len, 0) & tr->tmask;
	while (tr->tmap[i]) i = (i + 1) & tr->tmask;
	tr->tmap[i] = id + 1;
}

static void tmap_grow(trainer *tr)
{
	size_t cap = tr->tmask ? (tr->tmask + 1) * 2 : 1024;
	free(tr->tmap);
	mem_acct(tr, tr->tmask ? (tr->tmask + 1) * 4 : 0, cap * 4);
	tr->tmap = wn_calloc(cap, 4);
	tr->tmask = cap - 1;
	for (size_t id = 0; id < tr->ntok; id++) tmap_insert(tr, (uint32_t)id);
}

/* The token with these bytes, or NO_PAIR. */
static uint32_t tmap_find(const trainer *tr, const unsigned char *s, size_t len)
{
	for (size_t i = (size_t)wn_hash64(s, len, 0) & tr->tmask;; i = (i + 1) & tr->tmask) {
		uint32_t v = tr->tmap[i];
		if (!v) return NO_PAIR;
		size_t l;
		const unsigned char *t = tok(tr, v - 1, &l);
		if (l == len && !memcmp(t, s, len)) return v - 1;
	}
}

/* The token a || b: an existing one with those bytes, or a new one.
 * *fresh says which. */
static uint32_t make_token(trainer *tr, uint32_t a, uint32_t b, int *fresh)
{
	size_t la, lb;
	tok(tr, a, &la);
	tok(tr, b, &lb);
	grow(tr, (void **)&tr->tb, &tr->tbcap, tr->tblen + la + lb, 1, 4096);
	/* tok() again: tb may have moved */
	memcpy(tr->tb + tr->tblen, tok(tr, a, &la), la);
	memcpy(tr->tb + tr->tblen + la, tok(tr, b, &lb), lb);
	uint32_t t = tmap_find(tr, tr->tb + tr->tblen, la + lb);
	*fresh = t == NO_PAIR;
	if (t != NO_PAIR) return t;
	grow(tr, (void **)&tr->toff, &tr->captok, tr->ntok + 2, sizeof *tr->toff, 1024);
	t = (uint32_t)tr->ntok++;
	tr->tblen += la + lb;
	tr->toff[tr->ntok] = tr->tblen;
	if (tr->ntok * 2 > tr->tmask + 1) tmap_grow(tr);
	else tmap_insert(tr, t);
	return t;
}

/* ---- the tie rule ---- */

/* memcmp order of x1||x2 against y1||y2 */
static int cmp2(const unsigned char *x1, size_t nx1, const unsigned char *x2, size_t nx2,
		const unsigned char *y1, size_t ny1, const unsigned char *y2, size_t ny2)
{
	size_t nx = nx1 + nx2, ny = ny1 + ny2, n = nx < ny ? nx : ny;
	size_t i = 0;
	while (i < n) {
		const unsigned char *xp = i < nx1 ? x1 + i : x2 + (i - nx1);
		size_t xk = i < nx1 ? nx1 - i : nx - i;
		const unsigned char *yp = i < ny1 ? y1 + i : y2 + (i - ny1);
		size_t yk = i < ny1 ? ny1 - i : ny - i;
		size_t k = xk < yk ? xk : yk;
		if (k > n - i) k = n - i;
		int c = memcmp(xp, yp, k);
		if (c) return c;
		i += k;
	}
	return nx < ny ? -1 : nx > ny;
}

/* 1 if entry x ranks before entry y: higher count, then the smaller
 * merged byte string, then the smaller a, then the smaller b. */
static int better(const trainer *tr, const hent *x, const hent *y)
{
	if (x->count != y->count) return x->count > y->count;
	if (x->p == y->p) return 0;
	const pair *px = &tr->P[x->p], *py = &tr->P[y->p];
	size_t l1, l2, l3, l4;
	const unsigned char *s1 = tok(tr, px->a, &l1), *s2 = tok(tr, px->b, &l2);
	const unsigned char *s3 = tok(tr, py->a, &l3), *s4 = tok(tr, py->b, &l4);
	int c = cmp2(s1, l1, s2, l2, s3, l3, s4, l4);
	if (c) return c < 0;
	if (px->a != py->a) return px->a < py->a;
	return px->b < py->b;
}

/* ---- heap ---- */

static void sift_down(trainer *tr, size_t i)
{
	hent *H = tr->H;
	size_t n = tr->nh;
	hent x = H[i];
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n) break;
		size_t m = l;
		if (l + 1 < n && better(tr, &H[l + 1], &H[l])) m = l + 1;
		if (!better(tr, &H[m], &x)) break;
		H[i] = H[m];
		i = m;
	}
	H[i] = x;
}

static void heap_push(trainer *tr, uint32_t p)
{
	grow(tr, (void **)&tr->H, &tr->caph, tr->nh + 1, sizeof *tr->H, 1024);
	hent x = { tr->P[p].count, p };
	size_t i = tr->nh++;
	while (i) {
		size_t up = (i - 1) / 2;
		if (!better(tr, &x, &tr->H[up])) break;
		tr->H[i] = tr->H[up];
		i = up;
	}
	tr->H[i] = x;
}

static hent heap_pop(trainer *tr)
{
	hent top = tr->H[0];
	tr->H[0] = tr->H[--tr->nh];
	if (tr->nh) sift_down(tr, 0);
	return top;
}

/* The best pair whose entry is current, or NO_PAIR when none is left at
 * min_frequency or above. */
static uint32_t best_pair(trainer *tr)
{
	while (tr->nh) {
		hent e = heap_pop(tr);
		int64_t c = tr->P[e.p].count;
		if (c == e.count) return e.p;
		/* stale: lower now -> push again; higher -> a newer entry exists */
		if (c < e.count && c >= tr->minf) heap_push(tr, e.p);
	}
	return NO_PAIR;
}

/* ---- pairs ---- */

static inline size_t phash(uint64_t key, int bits)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

static void pmap_resize(trainer *tr, int bits)
{
	size_t cap = (size_t)1 << bits;
	if (tr->pm) mem_acct(tr, (tr->pmask + 1) * sizeof *tr->pm, 0);
	free(tr->pm);
	tr->pm = big_alloc(cap * sizeof *tr->pm);
	mem_acct(tr, 0, cap * sizeof *tr->pm);
	memset(tr->pm, 0xff, cap * sizeof *tr->pm);
	tr->pmask = cap - 1;
	tr->pbits = bits;
	for (size_t k = 0; k < tr->np; k++) {
		uint64_t key = (uint64_t)tr->P[k].a << 32 | tr->P[k].b;
		size_t i = phash(key, bits);
		while (tr->pm[i].key != EMPTY_KEY) i = (i + 1) & tr->pmask;
		tr->pm[i].key = key;
		tr->pm[i].p = k;
	}
}

/* Index of pair (a, b); created with count 0 when `create`, else NO_PAIR. */
static uint32_t pair_get(trainer *tr, uint32_t a, uint32_t b, int create)
{
	uint64_t key = (uint64_t)a << 32 | b;
	size_t i = phash(key, tr->pbits);
	for (;; i = (i + 1) & tr->pmask) {
		uint64_t k = tr->pm[i].key;
		if (k == key) return (uint32_t)tr->pm[i].p;
		if (k == EMPTY_KEY) break;
	}
	if (!create) return NO_PAIR;
	if (tr->np >= NO_PAIR - 1) wn_die_oom();
	if ((tr->np + 1) * 2 > tr->pmask + 1) {
		pmap_resize(tr, tr->pbits + 1);
		i = phash(key, tr->pbits);
		while (tr->pm[i].key != EMPTY_KEY) i = (i + 1) & tr->pmask;
	}
	grow(tr, (void **)&tr->P, &tr->capp, tr->np + 1, sizeof *tr->P, 1024);
	uint32_t p = (uint32_t)tr->np++;
	memset(&tr->P[p], 0, sizeof tr->P[p]);
	tr->P[p].a = a;
	tr->P[p].b = b;
	tr->pm[i].key = key;
	tr->pm[i].p = p;
	return p;
}

static void list_free(trainer *tr, pair *q)
{
	mem_acct(tr, (size_t)q->cap * 4, 0);
	free(q->w);
	q->w = NULL;
	q->n = q->cap = 0;
	q->lastw = 0;
}

static void pair_dec(trainer *tr, uint32_t a, uint32_t b, int64_t c)
{
	uint32_t p = pair_get(tr, a, b, 0);
	if (p == NO_PAIR) abort(); /* a live pair is always counted */
	pair *q = &tr->P[p];
	q->count -= c;
	if (q->count == 0 && p != tr->cur && q->w) list_free(tr, q);
}

static void pair_inc(trainer *tr, uint32_t a, uint32_t b, int64_t c, uint32_t w)
{
	uint32_t p = pair_get(tr, a, b, 1);
	pair *q = &tr->P[p];
	q->count += c;
	if (q->lastw != w + 1) {
		if (q->n == q->cap) {
			uint32_t nc = q->cap ? q->cap * 2 : 4;
			q->w = wn_realloc(q->w, (size_t)nc * 4);
			mem_acct(tr, (size_t)q->cap * 4, (size_t)nc * 4);
			q->cap = nc;
		}
		q->w[q->n++] = w;
		q->lastw = w + 1;
	}
	if (q->touched != tr->step) {
		q->touched = tr->step;
		grow(tr, (void **)&tr->T, &tr->capt, tr->nt + 1, sizeof *tr->T, 1024);
		tr->T[tr->nt++] = p;
	}
}

/* Replace every (a, b) of word w, left to right, by t, and move the counts
 * of the neighbouring pairs (against the live sequence: the part already
 * rewritten, then the rest as it was). */
static void merge_word(trainer *tr, uint32_t w, uint32_t a, uint32_t b, uint32_t t)
{
	word *wd = &tr->W[w];
	uint32_t *s = tr->sym + wd->off;
	size_t n = wd->len, i = 0, j = 0;
	int64_t c = (int64_t)wd->cnt;
	while (i < n) {
		if (i + 1 < n && s[i] == a && s[i + 1] == b) {
			if (j > 0) {
				pair_dec(tr, s[j - 1], a, c);
				pair_inc(tr, s[j - 1], t, c, w);
			}
			if (i + 2 < n) {
				pair_dec(tr, b, s[i + 2], c);
				pair_inc(tr, t, s[i + 2], c, w);
			}
			tr->P[tr->cur].count -= c;
			s[j++] = t;
			i += 2;
		} else {
			s[j++] = s[i++];
		}
	}
	wd->len = (uint32_t)j;
}

/* ---- setup: words, first pair counts and lists, on threads ---- */

typedef struct setup_job {
	trainer *tr;
	const wn_bpe_counts *c;
	const uint32_t *src;   /* counts entry of each word */
	size_t w0, w1;         /* word range */
	int64_t *cnt;          /* [65536] pair counts */
	uint32_t *occ;         /* [65536] words containing the pair */
	uint32_t *cur;         /* [65536] fill cursor (phase 2) */
	uint32_t *last;        /* [65536] last word seen + 1 */
	const uint32_t *bp;    /* [65536] byte pair -> pair index (phase 2) */
	int phase;
} setup_job;

static void *setup_run(void *arg)
{
	setup_job *j = arg;
	trainer *tr = j->tr;
	if (j->phase == 1) {
		/* copy the bytes in as symbols; count pairs and words per pair */
		for (size_t w = j->w0; w < j->w1; w++) {
			const centry *e = &j->c->e[j->src[w]];
			const unsigned char *k = j->c->arena + e->off;
			uint32_t *s = tr->sym + tr->W[w].off;
			int64_t cn = (int64_t)tr->W[w].cnt;
			s[0] = k[0];
			for (uint32_t i = 1; i < e->len; i++) {
				s[i] = k[i];
				uint32_t pr = (uint32_t)k[i - 1] << 8 | k[i];
				j->cnt[pr] += cn;
				if (j->last[pr] != (uint32_t)w + 1) {
					j->last[pr] = (uint32_t)w + 1;
					j->occ[pr]++;
				}
			}
		}
	} else {
		/* word lists: each thread fills its own slice of every list */
		memset(j->last, 0, 65536 * sizeof *j->last);
		for (size_t w = j->w0; w < j->w1; w++) {
			const uint32_t *s = tr->sym + tr->W[w].off;
			for (uint32_t i = 1; i < tr->W[w].len; i++) {
				uint32_t pr = s[i - 1] << 8 | s[i];
				if (j->last[pr] != (uint32_t)w + 1) {
					j->last[pr] = (uint32_t)w + 1;
					tr->P[j->bp[pr]].w[j->cur[pr]++] = (uint32_t)w;
				}
			}
		}
	}
	return NULL;
}

static void run_jobs(setup_job *jobs, int nt)
{
	pthread_t th[8];
	int started[8] = { 0 };
	for (int k = 1; k < nt; k++)
		started[k] = !pthread_create(&th[k], NULL, setup_run, &jobs[k]);
	setup_run(&jobs[0]);
	for (int k = 1; k < nt; k++) {
		if (started[k]) pthread_join(th[k], NULL);
		else setup_run(&jobs[k]); /* no thread: do it here */
	}
}

static int online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Words, byte-pair counts and lists, the heap.  Byte pairs get pair
 * indexes in order of x << 8 | y. */
static void setup(trainer *tr, const wn_bpe_counts *c, uint64_t min_word, int threads,
		  wn_bpe_train_stats *st)
{
	/* the words: pre-tokens of two bytes or more at min_word_count */
	uint32_t *src = wn_malloc((c->n ? c->n : 1) * sizeof *src);
	size_t nw = 0;
	uint64_t nsym = 0;
	for (size_t k = 0; k < c->n; k++) {
		const centry *e = &c->e[k];
		if (e->count < min_word) {
			st->words_skipped++;
			continue;
		}
		st->words++;
		st->bytes_in += e->count * e->len;
		if (e->len < 2) {
			st->tokens_out += e->count * e->len;
			continue;
		}
		src[nw++] = (uint32_t)k;
		nsym += e->len;
	}
	if (nw >= UINT32_MAX) wn_die_oom();
	tr->nw = nw;
	tr->W = big_alloc((nw ? nw : 1) * sizeof *tr->W);
	tr->sym = big_alloc((nsym ? nsym : 1) * sizeof *tr->sym);
	tr->nsym = nsym;
	mem_acct(tr, 0, nw * sizeof *tr->W + nsym * sizeof *tr->sym + c->n * sizeof *src);
	st->symbols = nsym;
	uint64_t off = 0;
	for (size_t w = 0; w < nw; w++) {
		const centry *e = &c->e[src[w]];
		tr->W[w].off = off;
		tr->W[w].cnt = e->count;
		tr->W[w].len = e->len;
		tr->W[w].stamp = 0;
		off += e->len;
	}

	/* thread ranges of about equal symbols */
	if (threads < 1) threads = 1;
	if (threads > 8) threads = 8;
	if ((size_t)threads > nw / 4096 + 1) threads = (int)(nw / 4096 + 1);
	st->threads = threads;
	setup_job jobs[8];
	memset(jobs, 0, sizeof jobs);
	size_t w = 0;
	for (int k = 0; k < threads; k++) {
		setup_job *j = &jobs[k];
		j->tr = tr;
		j->c = c;
		j->src = src;
		j->w0 = w;
		uint64_t want = nsym * (uint64_t)(k + 1) / (uint64_t)threads;
		while (w < nw && (k == threads - 1 || tr->W[w].off < want)) w++;
		j->w1 = w;
		j->cnt = wn_calloc(65536, sizeof *j->cnt);
		j->occ = wn_calloc(65536, sizeof *j->occ);
		j->cur = wn_calloc(65536, sizeof *j->cur);
		j->last = wn_calloc(65536, sizeof *j->last);
		j->phase = 1;
	}
	mem_acct(tr, 0, (size_t)threads * 65536 * 20);
	run_jobs(jobs, threads);

	/* pairs in byte-pair order; each thread's slice of each list */
	pmap_resize(tr, 17);
	uint32_t *bp = wn_malloc(65536 * sizeof *bp); /* byte pair -> pair */
	for (uint32_t pr = 0; pr < 65536; pr++) {
		int64_t cnt = 0;
		uint64_t occ = 0;
		for (int k = 0; k < threads; k++) {
			cnt += jobs[k].cnt[pr];
			occ += jobs[k].occ[pr];
		}
		bp[pr] = NO_PAIR;
		if (!cnt) continue;
		uint32_t p = pair_get(tr, pr >> 8, pr & 255, 1);
		pair *q = &tr->P[p];
		q->count = cnt;
		q->cap = q->n = (uint32_t)occ;
		q->w = wn_malloc(occ * sizeof *q->w);
		mem_acct(tr, 0, occ * sizeof *q->w);
		bp[pr] = p;
		uint32_t at = 0;
		for (int k = 0; k < threads; k++) {
			jobs[k].cur[pr] = at;
			at += jobs[k].occ[pr];
		}
	}
	for (int k = 0; k < threads; k++) {
		jobs[k].phase = 2;
		jobs[k].bp = bp;
	}
	run_jobs(jobs, threads);
	free(bp);
	for (int k = 0; k < threads; k++) {
		free(jobs[k].cnt);
		free(jobs[k].occ);
		free(jobs[k].cur);
		free(jobs[k].last);
	}
	mem_acct(tr, (size_t)threads * 65536 * 20 + c->n * sizeof *src, 0);
	free(src);

	/* the heap: every pair at min_frequency, heapified */
	grow(tr, (void **)&tr->H, &tr->caph, tr->np + 1, sizeof *tr->H, 1024);
	for (size_t p = 0; p < tr->np; p++)
		if (tr->P[p].count >= tr->minf) {
			tr->H[tr->nh].count = tr->P[p].count;
			tr->H[tr->nh].p = (uint32_t)p;
			tr->nh++;
		}
	for (size_t i = tr->nh / 2; i-- > 0;) sift_down(tr, i);
}

static void trainer_release(trainer *tr)
{
	for (size_t p = 0; p < tr->np; p++) free(tr->P[p].w);
	free(tr->P);
	free(tr->pm);
	free(tr->W);
	free(tr->sym);
	free(tr->H);
	free(tr->tb);
	free(tr->toff);
	free(tr->tmap);
	free(tr->M);
	free(tr->T);
}

static const char EOT[] = "<|endoftext|>";

int wn_bpe_train(const wn_bpe_counts *c, const wn_bpe_train_opts *o, wn_bpe_vocab **out,
		 char *err, size_t errlen)
{
	*out = NULL;
	/* specials: validated, <|endoftext|> first unless named */
	int has_eot = 0;
	for (size_t i = 0; i < o->n_specials; i++) {
		const char *s = o->specials[i];
		if (!s || !*s) return fail(err, errlen, WN_EUSAGE, "empty special token");
		if (!wn_utf8_valid(s, strlen(s), NULL))
			return fail(err, errlen, WN_EUSAGE, "special token is not UTF-8");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(o->specials[k], s))
				return fail(err, errlen, WN_EUSAGE, "duplicate special token %s", s);
		if (!strcmp(s, EOT)) has_eot = 1;
	}
	size_t nspec = o->n_specials + !has_eot;
	if (o->vocab_size < 256 + nspec || o->vocab_size > (size_t)INT32_MAX)
		return fail(err, errlen, WN_EUSAGE,
			    "vocabulary size %zu out of range (256 bytes + %zu special tokens at least)",
			    o->vocab_size, nspec);
	size_t target = o->vocab_size - nspec; /* tokens to reach, bytes included */

	double t0 = now();
	trainer tr;
	memset(&tr, 0, sizeof tr);
	tr.minf = o->min_frequency ? (int64_t)o->min_frequency : 2;
	if (tr.minf < 1) tr.minf = INT64_MAX;
	wn_bpe_vocab *v = wn_calloc(1, sizeof *v);
	wn_bpe_train_stats *st = &v->stats;

	/* the 256 byte tokens */
	grow(&tr, (void **)&tr.tb, &tr.tbcap, 256, 1, 4096);
	grow(&tr, (void **)&tr.toff, &tr.captok, 257, sizeof *tr.toff, 1024);
	for (int b = 0; b < 256; b++) {
		tr.tb[b] = (unsigned char)b;
		tr.toff[b] = (uint64_t)b;
	}
	tr.toff[256] = 256;
	tr.tblen = 256;
	tr.ntok = 256;
	tmap_grow(&tr);

	setup(&tr, c, o->min_word_count, o->threads ? o->threads : online_cores(), st);
	double t1 = now(), c1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	st->seconds_setup = t1 - t0;

	size_t since = 0;
	while (tr.ntok < target) {
		uint32_t p = best_pair(&tr);
		if (p == NO_PAIR) {
			st->stopped_early = 1;
			break;
		}
		uint32_t a = tr.P[p].a, b = tr.P[p].b;
		st->last_count = (uint64_t)tr.P[p].count;
		int fresh, again = 0;
		uint32_t t = make_token(&tr, a, b, &fresh);
		if (!fresh) {
			/* a pair merged before can come back once its token
			 * was rebuilt by another split: apply it, list it once */
			st->dup_merges++;
			for (size_t m = tr.nm; m-- > 0 && !again;)
				again = tr.M[m].a == a && tr.M[m].b == b;
		}
		if (!again) {
			grow(&tr, (void **)&tr.M, &tr.capm, tr.nm + 1, sizeof *tr.M, 1024);
			tr.M[tr.nm++] = (wn_bpe_merge){ a, b, t };
		}

		tr.step++;
		tr.cur = p;
		/* take the list: pairs made now all contain t, never (a, b) */
		uint32_t *list = tr.P[p].w, n = tr.P[p].n, cap = tr.P[p].cap;
		tr.P[p].w = NULL;
		tr.P[p].n = tr.P[p].cap = 0;
		tr.P[p].lastw = 0;
		for (uint32_t i = 0; i < n; i++) {
			/* the words are scattered: fetch ahead, the word record
			 * 16 entries on, its symbols 8 on (that record is in) */
			if (i + 16 < n) __builtin_prefetch(&tr.W[list[i + 16]]);
			if (i + 8 < n) __builtin_prefetch(tr.sym + tr.W[list[i + 8]].off);
			uint32_t w = list[i];
			if (tr.W[w].stamp == tr.step) continue;
			tr.W[w].stamp = tr.step;
			merge_word(&tr, w, a, b, t);
		}
		free(list);
		mem_acct(&tr, (size_t)cap * 4, 0);
		if (tr.P[p].count != 0) abort(); /* every occurrence was merged */
		for (size_t i = 0; i < tr.nt; i++)
			if (tr.P[tr.T[i]].count >= tr.minf) heap_push(&tr, tr.T[i]);
		tr.nt = 0;
		if (o->progress && ++since >= 100) {
			since = 0;
			o->progress(o->progress_ud, tr.ntok + nspec, o->vocab_size);
		}
	}
	if (o->progress) o->progress(o->progress_ud, tr.ntok + nspec, o->vocab_size);
	st->seconds_merge = now() - t1;
	st->cpu_seconds_merge = clock_s(CLOCK_THREAD_CPUTIME_ID) - c1;
	st->pairs = tr.np;
	for (size_t w = 0; w < tr.nw; w++) st->tokens_out += tr.W[w].cnt * tr.W[w].len;
	st->peak_bytes = tr.peak;

	/* the vocabulary: tokens, merges, specials */
	v->n_tokens = tr.ntok;
	v->bytes = wn_malloc(tr.tblen ? tr.tblen : 1);
	memcpy(v->bytes, tr.tb, tr.tblen);
	v->off = wn_malloc((tr.ntok + 1) * sizeof *v->off);
	memcpy(v->off, tr.toff, (tr.ntok + 1) * sizeof *v->off);
	v->n_merges = tr.nm;
	v->merges = wn_malloc((tr.nm ? tr.nm : 1) * sizeof *v->merges);
	if (tr.nm) memcpy(v->merges, tr.M, tr.nm * sizeof *v->merges);
	v->n_specials = nspec;
	v->specials = wn_calloc(nspec, sizeof *v->specials);
	size_t k = 0;
	if (!has_eot) v->specials[k++] = wn_strdup(EOT);
	for (size_t i = 0; i < o->n_specials; i++) v->specials[k++] = wn_strdup(o->specials[i]);
	trainer_release(&tr);
	*out = v;
	return 0;
}

void wn_bpe_vocab_free(wn_bpe_vocab *v)
{
	if (!v) return;
	free(v->bytes);
	free(v->off);
	free(v->merges);
	for (size_t i = 0; i < v->n_specials; i++) free(v->specials[i]);
	free(v->specials);
	free(v);
}

/* ==================================================================== */
/* writers                                                               */
/* ==================================================================== */

uint32_t wn_bpe_byte_to_unicode(unsigned char b)
{
	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
	/* the others, in byte order, from U+0100: 0-32, 127-160, 173 */
	if (b <= 32) return 256u + b;
	if (b <= 160) return 256u + 33 + (b - 127u);
	return 256u + 33 + 34; /* 173 */
}

static void add_utf8(wn_buf *o, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) { u[0] = (char)cp; n = 1; }
	else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 63));
		n = 2;
	} else { /* only BMP code points occur here */
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 63));
		u[2] = (char)(0x80 | (cp & 63));
		n = 3;
	}
	wn_buf_add(o, u, n);
}

/* Token bytes as byte-level characters inside a JSON string.  Only '"'
 * and '\' need escapes: every control byte maps to U+0100 and above. */
static void add_bl_chars(wn_buf *o, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = wn_bpe_byte_to_unicode(s[i]);
		if (cp == '"' || cp == '\\') wn_buf_addc(o, '\\');
		add_utf8(o, cp);
	}
}

/* The bytes a byte-level string stands for; -1 if it is not one. */
static long bl_decode(const char *s, unsigned char *out, size_t cap)
{
	static int inv_ready;
	static int16_t inv[324];
	if (!inv_ready) {
		for (int i = 0; i < 324; i++) inv[i] = -1;
		for (int b = 0; b < 256; b++) inv[wn_bpe_byte_to_unicode((unsigned char)b)] = (int16_t)b;
		inv_ready = 1;
	}
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	while (*p) {
		uint32_t cp;
		if (*p < 0x80) cp = *p++;
		else if ((*p & 0xE0) == 0xC0 && p[1]) { cp = (uint32_t)(*p & 31) << 6 | (p[1] & 63); p += 2; }
		else return -1;
		if (cp >= 324 || inv[cp] < 0 || n == cap) return -1;
		out[n++] = (unsigned char)inv[cp];
	}
	return (long)n;
}

/* ---- the pre-tokeniser pattern for Hugging Face ---- */

/* Bytes of the UTF-8 character at p (1 for a stray byte). */
static size_t u8len(const char *p)
{
	unsigned char c = (unsigned char)*p;
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
	for (size_t i = 1; i < n; i++)
		if (!p[i]) return i;
	return n;
}

/* End of the escape at p ('\' ...): \p{..}, \x{..} and the like whole. */
static const char *escape_end(const char *p)
{
	p++;
	if (!*p) return p;
	if (strchr("pPxoNgk", *p) && p[1] == '{') {
		const char *q = strchr(p, '}');
		return q ? q + 1 : p + strlen(p);
	}
	return p + u8len(p);
}

/* End of the character class at p ('['), nested POSIX classes included. */
static const char *class_end(const char *p)
{
	p++;
	if (*p == '^') p++;
	if (*p == ']') p++;
	while (*p && *p != ']') {
		if (*p == '\\') p = escape_end(p);
		else if (*p == '[' && p[1] == ':') {
			const char *q = strstr(p + 2, ":]");
			p = q ? q + 2 : p + 1;
		} else p += u8len(p);
	}
	return *p ? p + 1 : p;
}

/* A counted repeat {n}, {n,} or {n,m} at p: its end, or NULL. */
static const char *interval_end(const char *p)
{
	const char *q = p + 1;
	if (*q < '0' || *q > '9') return NULL;
	while (*q >= '0' && *q <= '9') q++;
	if (*q == ',') {
		q++;
		while (*q >= '0' && *q <= '9') q++;
	}
	return *q == '}' ? q + 1 : NULL;
}

int wn_bpe_pcre_to_onig(const char *re, wn_buf *o)
{
	size_t stack[64], depth = 0; /* output offsets of open groups */
	size_t atom = SIZE_MAX;      /* output offset of the last atom */
	const char *p = re;
	while (*p) {
		const char *q;
		if (p[0] == '\\' && p[1] == 'Q') { /* literal text up to \E */
			const char *e = strstr(p + 2, "\\E");
			q = e ? e + 2 : p + strlen(p);
			wn_buf_add(o, p, (size_t)(q - p));
			atom = SIZE_MAX;
			p = q;
			continue;
		}
		if (*p == '\\' || *p == '[') {
			q = *p == '[' ? class_end(p) : escape_end(p);
			atom = o->len;
			wn_buf_add(o, p, (size_t)(q - p));
			p = q;
		} else if (*p == '(') {
			if (depth == sizeof stack / sizeof *stack) return WN_EUSAGE;
			stack[depth++] = o->len;
			wn_buf_addc(o, *p++);
			atom = SIZE_MAX;
		} else if (*p == ')') {
			atom = depth ? stack[--depth] : SIZE_MAX;
			wn_buf_addc(o, *p++);
		} else if (*p == '{' && (q = interval_end(p))) {
			wn_buf_add(o, p, (size_t)(q - p));
			if (*q == '+' && atom != SIZE_MAX) {
				/* possessive interval: Oniguruma reads {n,m}+ as a
				 * repeated interval; an atomic group says it */
				wn_buf_grow(o, 3);
				memmove(o->data + atom + 3, o->data + atom, o->len - atom);
				memcpy(o->data + atom, "(?>", 3);
				o->len += 3;
				wn_buf_addc(o, ')');
				q++;
			}
			atom = SIZE_MAX;
			p = q;
		} else if (*p == '$') {
			/* the end of the text for winnow's encoder
			 * (PCRE2_DOLLAR_ENDONLY) and tiktoken; any line end
			 * for Oniguruma.  \z is the end in all three */
			wn_buf_adds(o, "\\z");
			atom = SIZE_MAX;
			p++;
		} else {
			int quant = *p == '*' || *p == '+' || *p == '?' || *p == '|' || *p == '{';
			atom = quant ? SIZE_MAX : o->len;
			q = p + u8len(p);
			wn_buf_add(o, p, (size_t)(q - p));
			p = q;
		}
	}
	return depth ? WN_EUSAGE : 0;
}

int wn_bpe_hf_json(const wn_bpe_vocab *v, const char *pattern, wn_buf *o, char *err,
		   size_t errlen)
{
	if (!wn_utf8_valid(pattern, strlen(pattern), NULL))
		return fail(err, errlen, WN_EUTF8, "pre-tokeniser pattern is not UTF-8");
	wn_buf onig;
	wn_buf_init(&onig, 0);
	if (wn_bpe_pcre_to_onig(pattern, &onig)) {
		wn_buf_release(&onig);
		return fail(err, errlen, WN_EUSAGE, "pre-tokeniser pattern: unbalanced parentheses");
	}
	/* a special must not collide with a token's byte-level string */
	for (size_t i = 0; i < v->n_specials; i++) {
		unsigned char b[1024];
		long n = bl_decode(v->specials[i], b, sizeof b);
		if (n < 0) continue;
		for (size_t r = 0; r < v->n_tokens; r++) {
			size_t len;
			const unsigned char *t = wn_bpe_vocab_token(v, r, &len);
			if (len == (size_t)n && !memcmp(t, b, len)) {
				wn_buf_release(&onig);
				return fail(err, errlen, WN_EUSAGE,
					    "special token %s equals the byte-level form of token %zu",
					    v->specials[i], r);
			}
		}
	}
	wn_buf_adds(o, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
		       "  \"added_tokens\": [");
	for (size_t i = 0; i < v->n_specials; i++) {
		wn_buf_addf(o, "%s\n    {\"id\": %zu, \"content\": ", i ? "," : "", v->n_tokens + i);
		wn_json_escape(o, v->specials[i], strlen(v->specials[i]));
		wn_buf_adds(o, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
			       "\"normalized\": false, \"special\": true}");
	}
	wn_buf_adds(o, "\n  ],\n  \"normalizer\": null,\n"
		       "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"
		       "    {\"type\": \"Split\", \"pattern\": {\"Regex\": ");
	wn_json_escape(o, onig.data, onig.len);
	wn_buf_release(&onig);
	wn_buf_adds(o, "}, \"behavior\": \"Isolated\", \"invert\": false},\n"
		       "    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
		       "\"use_regex\": false}]},\n"
		       "  \"post_processor\": null,\n"
		       "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
		       "\"trim_offsets\": true, \"use_regex\": true},\n"
		       "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
		       "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, "
		       "\"fuse_unk\": false, \"byte_fallback\": false,\n    \"vocab\": {");
	for (size_t r = 0; r < v->n_tokens; r++) {
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, r, &len);
		wn_buf_adds(o, r ? ",\n      \"" : "\n      \"");
		add_bl_chars(o, t, len);
		wn_buf_addf(o, "\": %zu", r);
	}
	for (size_t i = 0; i < v->n_specials; i++) {
		wn_buf_adds(o, ",\n      ");
		wn_json_escape(o, v->specials[i], strlen(v->specials[i]));
		wn_buf_addf(o, ": %zu", v->n_tokens + i);
	}
	wn_buf_adds(o, "\n    },\n    \"merges\": [");
	for (size_t m = 0; m < v->n_merges; m++) {
		size_t la, lb;
		const unsigned char *a = wn_bpe_vocab_token(v, v->merges[m].a, &la);
		const unsigned char *b = wn_bpe_vocab_token(v, v->merges[m].b, &lb);
		wn_buf_adds(o, m ? ",\n      \"" : "\n      \"");
		/* "A B": byte-level strings hold no space (0x20 maps to U+0120) */
		add_bl_chars(o, a, la);
		wn_buf_addc(o, ' ');
		add_bl_chars(o, b, lb);
		wn_buf_addc(o, '"');
	}
	wn_buf_adds(o, "\n    ]\n  }\n}\n");
	return 0;
}

/* All of b to path through a temporary beside it (wn_writer: plain by
 * name unless it ends in .zst/.gz; synced and renamed on close). */
static int write_whole(const char *path, const wn_buf *b, char *err, size_t errlen)
{
	wn_writer *w;
	int rc = wn_writer_open(&w, path, NULL);
	if (rc) {
		fail(err, errlen, rc, "%s: %s", path, w ? wn_writer_error(w) : wn_strerror(rc));
		if (w) wn_writer_abort(w);
		return rc;
	}
	rc = wn_writer_write(w, b->data, b->len);
	if (rc) {
		fail(err, errlen, rc, "%s: %s", path, wn_writer_error(w));
		wn_writer_abort(w);
		return rc;
	}
	return wn_writer_close(w, err, errlen);
}

static void add_base64(wn_buf *o, const unsigned char *s, size_t n)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)s[i] << 16;
		if (i + 1 < n) x |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n) x |= s[i + 2];
		q[0] = A[x >> 18];
		q[1] = A[(x >> 12) & 63];
		q[2] = i + 1 < n ? A[(x >> 6) & 63] : '=';
		q[3] = i + 2 < n ? A[x & 63] : '=';
		wn_buf_add(o, q, 4);
	}
}

int wn_bpe_write_tiktoken(const wn_bpe_vocab *v, const char *path, char *err, size_t errlen)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	for (size_t r = 0; r < v->n_tokens; r++) {
		size_t len;
		const unsigned char *t = wn_bpe_vocab_token(v, r, &len);
		add_base64(&b, t, len);
		wn_buf_addf(&b, " %zu\n", r);
	}
	int rc = write_whole(path, &b, err, errlen);
	wn_buf_release(&b);
	return rc;
}

int wn_bpe_write_hf(const wn_bpe_vocab *v, const char *pattern, const char *path, char *err,
		    size_t errlen)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	int rc = wn_bpe_hf_json(v, pattern, &b, err, errlen);
	if (!rc) rc = write_whole(path, &b, err, errlen);
	wn_buf_release(&b);
	return rc;
}
