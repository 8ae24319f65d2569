/*
 * stage.c - sig, pairs, cluster and apply over a work directory (stage.h).
 *
 * sig: the document loop (lib/run.h) with one worker context per thread.
 * A worker keeps what it computes per input in a bucket; when the loop
 * says an input is done (every one of its documents has been seen), the
 * buckets of that input are taken from the workers, its documents sorted
 * by line and numbered (the ordinal), the band records renumbered from
 * line to ordinal and sorted per band, and the input's file written.
 *
 * pairs: per band, a k-way merge of the band's sorted records of every
 * input.  In a run of equal keys every later document is paired with the
 * first (a star; union-find makes it a clique).  With --verify a document
 * is paired with the first earlier document of the run whose shingle set
 * is at least the threshold similar (of the run's first 256), and with
 * none when no earlier one is: a verified edge is never lost to the order
 * in which the run's documents come.
 *
 * cluster: union-find over every input's documents (dense numbers: the
 * inputs' document counts summed before it, plus the ordinal), all pairs
 * files joined in; then per input the members of every cluster of two or
 * more, each with the cluster's kept document (its root).
 *
 * Line and paragraph mode: sig counts each normalised unit's hash per
 * input, pairs merges the counts of all inputs and keeps the hashes seen
 * at least min_count times, apply removes those units.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "stage.h"
#include "../lib/db.h"
#include "../lib/err.h"
#include "../lib/hash.h"
#include "../lib/log.h"
#include "../lib/run.h"
#include "../lib/shard.h"

/* section ids */
enum {
	S_NAME = 1,   /* sig, remove: the input's name */
	S_DOCS = 2,   /* sig: sig_doc per document, by line */
	S_IDS = 3,    /* sig: raw JSON of the ids */
	S_SETS = 4,   /* sig (--verify): shingle fingerprints */
	S_UNITS = 5,  /* sig (units): dd_unit by hash; units file: frequent hashes */
	S_RM = 6,     /* remove: rm_rec by line */
	S_KEPT = 7,   /* remove: kept_rec */
	S_STR = 8,    /* remove: strings of kept_rec */
	S_PAIRS = 9,  /* pairs: pair_rec */
	S_BAND0 = 16, /* sig: band b is S_BAND0 + b */
};
#define MAX_BANDS (DD_MAX_SECT - S_BAND0)

typedef struct sig_doc {
	uint64_t line;
	double value;       /* --keep-by, -inf when missing */
	uint64_t set_off;   /* in S_SETS, fingerprints */
	uint64_t id_off;    /* in S_IDS, bytes */
	uint32_t set_len, id_len;
} sig_doc;

typedef struct pair_rec {
	uint64_t a, b;      /* global document numbers, a kept before b */
} pair_rec;

typedef struct rm_rec {
	uint64_t line;
	uint32_t kept;      /* index in S_KEPT */
	uint32_t removed;   /* 1: dropped, 0: the kept document itself */
} rm_rec;

typedef struct kept_rec {
	uint64_t line;
	uint64_t name_off, id_off;  /* in S_STR */
	uint32_t name_len, id_len;
} kept_rec;

/* ---- small helpers ---- */

static const char *mode_name(int m)
{
	switch (m) {
	case DD_MODE_EXACT: return "exact";
	case DD_MODE_MINHASH: return "minhash";
	case DD_MODE_LINE: return "line";
	case DD_MODE_PARAGRAPH: return "paragraph";
	}
	return "?";
}

static int is_units(const dd_config *c)
{
	return c->mode == DD_MODE_LINE || c->mode == DD_MODE_PARAGRAPH;
}

void dd_config_params(const dd_config *c, char *out, size_t n)
{
	const char *kb = c->keep_by ? c->keep_by : "";
	if (c->mode == DD_MODE_MINHASH)
		snprintf(out, n, "mode=minhash bands=%d rows=%d ngram=%d seed=%llu norm=%s verify=%s "
			 "keep_by=%s",
			 c->bands, c->rows, c->ngram, (unsigned long long)c->seed,
			 c->norm == DD_NORM_NONE ? "none" : "full",
			 c->verify ? "yes" : "no", kb);
	else if (c->mode == DD_MODE_EXACT)
		snprintf(out, n, "mode=exact norm=%s keep_by=%s",
			 c->norm == DD_NORM_NONE ? "none" : "full", kb);
	else
		snprintf(out, n, "mode=%s norm=%s min_count=%llu", mode_name(c->mode),
			 c->norm == DD_NORM_NONE ? "none" : "full",
			 (unsigned long long)c->min_count);
	if (c->verify && c->mode == DD_MODE_MINHASH) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, " threshold=%g", c->threshold);
	}
}

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0) wn_die_oom();
	va_end(ap);
	return p;
}

static char *sig_path(const dd_config *c, uint64_t i) { return pathf("%s/sig/%06llu.wdd", c->work, (unsigned long long)i); }
static char *rm_path(const dd_config *c, uint64_t i) { return pathf("%s/remove/%06llu.wdd", c->work, (unsigned long long)i); }
static char *pairs_path(const dd_config *c, int b) { return pathf("%s/pairs/band-%03d.wdd", c->work, b); }
static char *units_path(const dd_config *c) { return pathf("%s/units.wdd", c->work); }

static int work_dir(const dd_config *c, const char *sub)
{
	char *p = pathf("%s/%s", c->work, sub);
	int rc = wn_mkdirs(p);
	if (rc) wn_error("%s: cannot create: %s", p, strerror(errno));
	free(p);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All inputs sorted by name (the numbering every stage agrees on); NULL
 * after an error (stdin, or a name given twice). */
static char **sorted_inputs(int n, char **in)
{
	if (n == 0) {
		wn_error("no inputs: dedup reads its inputs twice, so it needs files or URLs, not stdin");
		return NULL;
	}
	char **v = wn_malloc(sizeof *v * (size_t)n);
	memcpy(v, in, sizeof *v * (size_t)n);
	qsort(v, (size_t)n, sizeof *v, cmp_str);
	for (int i = 0; i < n; i++) {
		if (!strcmp(v[i], "-")) {
			wn_error("-: dedup reads its inputs twice, so it needs files or URLs, not stdin");
			free(v);
			return NULL;
		}
		if (i && !strcmp(v[i], v[i - 1])) {
			wn_error("%s: given twice", v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static int input_index(char **sorted, int n, const char *name)
{
	char *const *p = bsearch(&name, sorted, (size_t)n, sizeof *sorted, cmp_str);
	return p ? (int)(p - sorted) : -1;
}

/* The value of a --keep-by field: a JSON number, else -inf. */
static double keep_value(const wn_doc *d, const char *field)
{
	const wn_member *m = wn_doc_get(d, field);
	if (!m || m->type != WN_J_NUM) return -INFINITY;
	char tmp[64];
	size_t n = m->vlen < sizeof tmp - 1 ? m->vlen : sizeof tmp - 1;
	memcpy(tmp, m->val, n);
	tmp[n] = 0;
	return strtod(tmp, NULL);
}

/* Split text into lines or paragraphs: calls fn for each unit with its
 * span and whether it is followed by a separator. */
typedef struct unit_span {
	size_t off, len;    /* the unit */
	size_t end;         /* the unit with its separator */
} unit_span;

static size_t next_unit(const char *s, size_t n, size_t i, int paragraph, unit_span *u)
{
	u->off = i;
	if (!paragraph) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		u->len = e - i;
		u->end = nl ? e + 1 : n;
		return u->end;
	}
	/* a paragraph ends at a line holding only white space */
	size_t j = i;
	for (;;) {
		const char *nl = memchr(s + j, '\n', n - j);
		if (!nl) { u->len = n - i; u->end = n; return n; }
		size_t k = (size_t)(nl - s) + 1, e = k;
		while (e < n && (s[e] == ' ' || s[e] == '\t' || s[e] == '\r')) e++;
		if (e >= n || s[e] == '\n') {
			/* blank line: the paragraph is [i, nl); the separator runs
			 * through every following blank line */
			u->len = (size_t)(nl - s) - i;
			size_t end = e < n ? e + 1 : n;
			while (end < n) {
				size_t f = end;
				while (f < n && (s[f] == ' ' || s[f] == '\t' || s[f] == '\r')) f++;
				if (f < n && s[f] == '\n') end = f + 1;
				else break;
			}
			u->end = end;
			return end;
		}
		j = k;
	}
}

static uint64_t unit_hash(const char *s, size_t n, int norm, wn_buf *tmp, int *empty)
{
	if (norm == DD_NORM_NONE) {
		size_t a = 0, b = n;
		while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) b--;
		*empty = a == b;
		return XXH3_64bits(s + a, b - a);
	}
	wn_buf_reset(tmp);
	dd_normalize(s, n, tmp);
	*empty = tmp->len == 0;
	return XXH3_64bits(tmp->data, tmp->len);
}

/* The document loop of sig and apply: what both give it. */
static void stage_run(wn_run *r, const dd_config *c, wn_opts *o)
{
	memset(r, 0, sizeof *r);
	r->tool = "dedup";
	r->o = o;
	r->argc = c->argc;
	r->argv = c->argv;
	r->threads = c->threads;
}

/* The header of a file of the work directory (the writer fills in the
 * sections). */
static void file_hdr(dd_hdr *h, uint32_t kind, uint64_t index, uint64_t ninputs, uint64_t ndocs,
		     uint64_t aux, const char *params)
{
	memset(h, 0, sizeof *h);
	h->kind = kind;
	h->index = index;
	h->ninputs = ninputs;
	h->ndocs = ndocs;
	h->aux = aux;
	snprintf(h->params, sizeof h->params, "%s", params);
}

/* ---- the stage's record in --stats ----
 *
 * sig, pairs and cluster write no documents, so they do not go through the
 * runs' inputs and drops (apply does): each records a run of tool "dedup"
 * and its counts as rows (stage, part, name, value) of the dedup table
 * (man/winnow-stats.5). */

#define DEDUP_TABLE_SQL                                                              \
	"CREATE TABLE IF NOT EXISTS dedup(\n"                                       \
	"  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"                      \
	"  stage TEXT NOT NULL, part TEXT NOT NULL, name TEXT NOT NULL,\n"          \
	"  value INTEGER NOT NULL);\n"                                             \
	"CREATE INDEX IF NOT EXISTS dedup_run ON dedup(run_id);\n"

typedef struct stage_rec {
	wn_db *db;
	int64_t run;
	const char *stage;
	wn_buf sql;            /* the rows, inserted in one transaction at the end */
	pthread_mutex_t mu;
} stage_rec;

static int rec_begin(stage_rec *s, const dd_config *c, const char *stage)
{
	memset(s, 0, sizeof *s);
	s->stage = stage;
	wn_buf_init(&s->sql, 0);
	pthread_mutex_init(&s->mu, NULL);
	if (!c->o->stats) return 0;
	char err[600], shard[64] = "";
	if (wn_db_open(&s->db, c->o->stats, err, sizeof err)) {
		wn_error("%s", err);
		s->db = NULL;
		return 1;
	}
	if (c->o->shard_n) snprintf(shard, sizeof shard, "%d/%d", c->o->shard_i, c->o->shard_n);
	if (wn_db_exec(s->db, DEDUP_TABLE_SQL) ||
	    wn_db_run_begin(s->db, "dedup", c->argc, c->argv, shard[0] ? shard : NULL, &s->run)) {
		wn_error("%s: %s", c->o->stats, wn_db_error(s->db));
		wn_db_close(s->db);
		s->db = NULL;
		return 1;
	}
	return 0;
}

static void rec_add(stage_rec *s, const char *part, const char *name, uint64_t v)
{
	if (!s->db) return;
	char *q = sqlite3_mprintf("INSERT INTO dedup(run_id,stage,part,name,value)"
				  " VALUES(%lld,%Q,%Q,%Q,%lld);\n",
				  (long long)s->run, s->stage, part, name, (long long)v);
	pthread_mutex_lock(&s->mu);
	wn_buf_adds(&s->sql, q);
	pthread_mutex_unlock(&s->mu);
	sqlite3_free(q);
}

/* Write the rows and close the run; returns rc, or 1 if recording failed. */
static int rec_end(stage_rec *s, const dd_config *c, int rc)
{
	if (s->db) {
		if (s->sql.len && wn_db_exec(s->db, s->sql.data)) {
			wn_error("%s: %s", c->o->stats, wn_db_error(s->db));
			if (!rc) rc = 1;
		}
		if (wn_db_run_end(s->db, s->run, rc ? "failed" : "ok", rc)) {
			wn_error("%s: %s", c->o->stats, wn_db_error(s->db));
			if (!rc) rc = 1;
		}
		wn_db_close(s->db);
	}
	wn_buf_release(&s->sql);
	pthread_mutex_destroy(&s->mu);
	return rc;
}

/* ---- sig ---- */

typedef struct bucket {
	int64_t file;          /* -1: free */
	sig_doc *docs;
	size_t nd, capd;
	dd_rec **recs;         /* per band */
	size_t *nr, *capr;
	dd_unit *units;
	size_t nu, capu;
	wn_buf ids;
	uint32_t *sets;
	size_t ns, caps;
	size_t bytes;          /* what the records above take: spilled past the budget */
} bucket;

#define NBUCKET 8
#define DD_DEFAULT_MEMORY (2ULL << 30)  /* --memory: records sig holds, all threads */

typedef struct sig_ctx sig_ctx;

typedef struct sig_worker {
	sig_ctx *g;
	pthread_mutex_t mu;
	bucket b[NBUCKET];
	dd_shingler *sh;
	uint32_t *sig;
	wn_buf tmp;
	const char *last_input;
	int last_index;
} sig_worker;

struct sig_ctx {
	dd_config *c;
	char **sorted;
	int nsorted;
	dd_minhash *mh;
	int nbands;
	char params[DD_PARAMS_LEN];
	sig_worker **w;
	int nw;
	pthread_mutex_t mu;
	int failed;
	stage_rec rec;
	size_t budget;         /* bytes of records per worker before a spill */
	struct run { int file; char *path; } *runs;  /* spilled sorted runs */
	size_t nruns, capruns;
	uint64_t nspill;       /* runs written: their names */
};

static void grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap) return;
	size_t c = *cap ? *cap : 256;
	while (c < need) c *= 2;
	*p = wn_realloc(*p, c * size);
	*cap = c;
}

static void bucket_free(bucket *b, int nbands)
{
	free(b->docs);
	if (b->recs)
		for (int i = 0; i < nbands; i++) free(b->recs[i]);
	free(b->recs);
	free(b->nr);
	free(b->capr);
	free(b->units);
	wn_buf_release(&b->ids);
	free(b->sets);
	memset(b, 0, sizeof *b);
	b->file = -1;
}

static bucket *bucket_for(sig_worker *w, int64_t file)
{
	bucket *freeb = NULL;
	for (int i = 0; i < NBUCKET; i++) {
		if (w->b[i].file == file) return &w->b[i];
		if (w->b[i].file < 0 && !freeb) freeb = &w->b[i];
	}
	if (!freeb) return NULL; /* more inputs in flight than buckets: never with the loop's lookahead */
	int nb = w->g->nbands;
	freeb->file = file;
	freeb->recs = wn_calloc((size_t)nb, sizeof *freeb->recs);
	freeb->nr = wn_calloc((size_t)nb, sizeof *freeb->nr);
	freeb->capr = wn_calloc((size_t)nb, sizeof *freeb->capr);
	wn_buf_init(&freeb->ids, 0);
	return freeb;
}

static int spill(sig_ctx *g, bucket *b, int file);

static void *sig_thread_ctx(void *ctx, int i)
{
	sig_ctx *g = ctx;
	sig_worker *w = wn_calloc(1, sizeof *w);
	w->g = g;
	pthread_mutex_init(&w->mu, NULL);
	for (int k = 0; k < NBUCKET; k++) w->b[k].file = -1;
	w->sh = dd_shingler_new(g->c->ngram, g->c->seed);
	w->sig = wn_malloc(sizeof *w->sig * (size_t)(g->c->bands * g->c->rows + 1));
	wn_buf_init(&w->tmp, 0);
	pthread_mutex_lock(&g->mu);
	if (i >= g->nw) {
		g->w = wn_realloc(g->w, sizeof *g->w * (size_t)(i + 1));
		for (int k = g->nw; k <= i; k++) g->w[k] = NULL;
		g->nw = i + 1;
	}
	g->w[i] = w;
	pthread_mutex_unlock(&g->mu);
	return w;
}

static void sig_thread_free(void *ctx, void *wctx)
{
	sig_ctx *g = ctx;
	sig_worker *w = wctx;
	for (int k = 0; k < NBUCKET; k++) bucket_free(&w->b[k], g->nbands);
	dd_shingler_free(w->sh);
	free(w->sig);
	wn_buf_release(&w->tmp);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_lock(&g->mu);
	for (int k = 0; k < g->nw; k++)
		if (g->w[k] == w) g->w[k] = NULL;
	pthread_mutex_unlock(&g->mu);
	free(w);
}

static int sig_doc_fn(void *ctx, wn_item *it, wn_doc *d)
{
	sig_worker *w = ctx;
	sig_ctx *g = w->g;
	dd_config *c = g->c;
	if (it->input != w->last_input) {
		w->last_input = it->input;
		w->last_index = input_index(g->sorted, g->nsorted, it->input);
	}
	int64_t file = w->last_index;
	const char *text = d->text.data;
	size_t n = d->text.len;
	uint64_t keys[MAX_BANDS][2];
	int nkeys = 0;
	const uint32_t *set = NULL;
	size_t nset = 0;
	if (c->mode == DD_MODE_MINHASH) {
		const uint64_t *sh;
		size_t m = dd_shingles(w->sh, text, n, &sh);
		if (m) {
			dd_minhash_sig(g->mh, sh, m, w->sig);
			for (int b = 0; b < c->bands; b++) dd_band_key(g->mh, w->sig, b, keys[b]);
			nkeys = c->bands;
			if (c->verify) nset = dd_shingle_set(w->sh, &set);
		}
	} else if (c->mode == DD_MODE_EXACT) {
		XXH128_hash_t h;
		if (c->norm == DD_NORM_NONE) {
			h = XXH3_128bits(text, n);
		} else {
			wn_buf_reset(&w->tmp);
			dd_normalize(text, n, &w->tmp);
			h = XXH3_128bits(w->tmp.data, w->tmp.len);
		}
		keys[0][0] = h.high64;
		keys[0][1] = h.low64;
		nkeys = 1;
	}
	pthread_mutex_lock(&w->mu);
	bucket *b = bucket_for(w, file);
	if (!b) {
		pthread_mutex_unlock(&w->mu);
		it->reason = "dedup:internal";
		return WN_DROP;
	}
	grow((void **)&b->docs, &b->capd, b->nd + 1, sizeof *b->docs);
	b->bytes += sizeof(sig_doc) + sizeof(dd_rec) * (size_t)nkeys + sizeof(uint32_t) * nset;
	sig_doc *sd = &b->docs[b->nd++];
	memset(sd, 0, sizeof *sd);
	sd->line = it->lineno;
	sd->value = c->keep_by ? keep_value(d, c->keep_by) : 0;
	const wn_member *idm = c->o->fields.id ? wn_doc_get(d, c->o->fields.id) : NULL;
	if (idm && (idm->type == WN_J_STR || idm->type == WN_J_NUM)) {
		sd->id_off = b->ids.len;
		sd->id_len = (uint32_t)idm->vlen;
		wn_buf_add(&b->ids, idm->val, idm->vlen);
		b->bytes += idm->vlen;
	}
	for (int k = 0; k < nkeys; k++) {
		grow((void **)&b->recs[k], &b->capr[k], b->nr[k] + 1, sizeof **b->recs);
		dd_rec *r = &b->recs[k][b->nr[k]++];
		r->k0 = keys[k][0];
		r->k1 = keys[k][1];
		r->doc = it->lineno;  /* renumbered to the ordinal when the input is done */
	}
	if (nset) {
		grow((void **)&b->sets, &b->caps, b->ns + nset, sizeof *b->sets);
		memcpy(b->sets + b->ns, set, sizeof *set * nset);
		sd->set_off = b->ns;
		sd->set_len = (uint32_t)nset;
		b->ns += nset;
	}
	if (is_units(c)) {
		int para = c->mode == DD_MODE_PARAGRAPH;
		for (size_t i = 0; i < n;) {
			unit_span u;
			i = next_unit(text, n, i, para, &u);
			int empty;
			uint64_t h = unit_hash(text + u.off, u.len, c->norm, &w->tmp, &empty);
			if (empty) continue;
			grow((void **)&b->units, &b->capu, b->nu + 1, sizeof *b->units);
			b->units[b->nu].hash = h;
			b->units[b->nu].count = 1;
			b->nu++;
			b->bytes += sizeof(dd_unit);
		}
	}
	int rc = b->bytes > g->budget ? spill(g, b, (int)file) : 0;
	pthread_mutex_unlock(&w->mu);
	if (rc) {
		it->stop = 1;
		g->failed = 1;
	}
	return WN_KEEP;
}

static int cmp_sigdoc(const void *a, const void *b)
{
	uint64_t x = ((const sig_doc *)a)->line, y = ((const sig_doc *)b)->line;
	return x < y ? -1 : x > y;
}

/* A document's ordinal from its line: a bitmap of the lines that are
 * documents, and the documents before each 64-line word. */
typedef struct line_rank {
	uint64_t *bits, *before;
	size_t nw;
} line_rank;

static void rank_init(line_rank *r, uint64_t maxline)
{
	r->nw = (size_t)(maxline / 64) + 1;
	r->bits = wn_calloc(r->nw, sizeof *r->bits);
	r->before = wn_calloc(r->nw, sizeof *r->before);
}

static inline void rank_set(line_rank *r, uint64_t line)
{
	r->bits[line / 64] |= 1ULL << (line % 64);
}

static void rank_done(line_rank *r)
{
	for (size_t k = 1; k < r->nw; k++)
		r->before[k] = r->before[k - 1] + (uint64_t)__builtin_popcountll(r->bits[k - 1]);
}

static inline uint64_t rank_of(const line_rank *r, uint64_t line)
{
	uint64_t below = r->bits[line / 64] & ((1ULL << (line % 64)) - 1);
	return r->before[line / 64] + (uint64_t)__builtin_popcountll(below);
}

static void rank_free(line_rank *r)
{
	free(r->bits);
	free(r->before);
}

/* Sort a bucket for writing: documents by line, units by hash (merged),
 * band records by key then document.  With file >= 0 the band records'
 * lines first become input `file`'s document numbers (the ordinals). */
static void bucket_sort(bucket *b, int nb, int64_t file)
{
	qsort(b->docs, b->nd, sizeof *b->docs, cmp_sigdoc);
	line_rank rk = { 0 };
	if (file >= 0 && nb) {
		rank_init(&rk, b->nd ? b->docs[b->nd - 1].line : 0);
		for (size_t j = 0; j < b->nd; j++) rank_set(&rk, b->docs[j].line);
		rank_done(&rk);
	}
	for (int r = 0; r < nb; r++) {
		if (file >= 0)
			for (size_t j = 0; j < b->nr[r]; j++)
				b->recs[r][j].doc = DD_DOC(file, rank_of(&rk, b->recs[r][j].doc));
		dd_rec_sort(b->recs[r], b->nr[r]);
	}
	rank_free(&rk);
	if (b->nu) {
		dd_unit_sort(b->units, b->nu);
		b->nu = dd_unit_compact(b->units, b->nu);
	}
}

/* A signature file (or a spilled run: band records numbered by line) of
 * input `file` from a sorted bucket. */
static int bucket_write(sig_ctx *g, const bucket *b, int file, const char *path,
			uint64_t bytes_in, char *err, size_t errlen)
{
	dd_config *c = g->c;
	dd_hdr h;
	file_hdr(&h, DD_KIND_SIG, (uint64_t)file, (uint64_t)g->nsorted, b->nd, bytes_in, g->params);
	const char *name = g->sorted[file];
	dd_writer *wr;
	int rc = dd_writer_open(&wr, path, &h, err, errlen);
	if (rc) return rc;
	rc = dd_writer_begin(wr, S_NAME, 0) || dd_writer_add(wr, name, strlen(name)) ||
	     dd_writer_end(wr) ||
	     dd_writer_begin(wr, S_DOCS, sizeof(sig_doc)) ||
	     dd_writer_add(wr, b->docs, sizeof *b->docs * b->nd) || dd_writer_end(wr) ||
	     dd_writer_begin(wr, S_IDS, 0) || dd_writer_add(wr, b->ids.data, b->ids.len) ||
	     dd_writer_end(wr);
	if (!rc && c->verify)
		rc = dd_writer_begin(wr, S_SETS, sizeof(uint32_t)) ||
		     dd_writer_add(wr, b->sets, sizeof *b->sets * b->ns) || dd_writer_end(wr);
	if (!rc && is_units(c))
		rc = dd_writer_begin(wr, S_UNITS, sizeof(dd_unit)) ||
		     dd_writer_add(wr, b->units, sizeof *b->units * b->nu) || dd_writer_end(wr);
	for (int r = 0; !rc && r < g->nbands; r++)
		rc = dd_writer_begin(wr, S_BAND0 + (uint32_t)r, sizeof(dd_rec)) ||
		     dd_writer_add(wr, b->recs[r], sizeof **b->recs * b->nr[r]) || dd_writer_end(wr);
	if (rc) {
		snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
		dd_writer_abort(wr);
		return 1;
	}
	return dd_writer_commit(wr, err, errlen) ? 1 : 0;
}

static void bucket_reset(bucket *b, int nb)
{
	int64_t file = b->file;
	bucket_free(b, nb);
	b->file = file;
	b->recs = wn_calloc((size_t)nb, sizeof *b->recs);
	b->nr = wn_calloc((size_t)nb, sizeof *b->nr);
	b->capr = wn_calloc((size_t)nb, sizeof *b->capr);
	wn_buf_init(&b->ids, 0);
}

/* Past the budget: the bucket becomes a sorted run in the work directory
 * (WORK/sig/.NNNNNN.run-K.wdd), merged with the input's other runs when
 * the input is done.  Called with the worker's lock held. */
static int spill(sig_ctx *g, bucket *b, int file)
{
	pthread_mutex_lock(&g->mu);
	uint64_t k = g->nspill++;
	pthread_mutex_unlock(&g->mu);
	char *path = pathf("%s/sig/.%06d.run-%llu.wdd", g->c->work, file, (unsigned long long)k);
	bucket_sort(b, g->nbands, -1);
	char err[512];
	int rc = bucket_write(g, b, file, path, 0, err, sizeof err);
	if (rc) {
		wn_error("%s", err);
		free(path);
		return rc;
	}
	pthread_mutex_lock(&g->mu);
	grow((void **)&g->runs, &g->capruns, g->nruns + 1, sizeof *g->runs);
	g->runs[g->nruns].file = file;
	g->runs[g->nruns].path = path;
	g->nruns++;
	pthread_mutex_unlock(&g->mu);
	bucket_reset(b, g->nbands);
	return 0;
}

/* Take input `file`'s buckets from every worker into one. */
static void gather(sig_ctx *g, int file, bucket *all)
{
	int nb = g->nbands;
	memset(all, 0, sizeof *all);
	all->file = -1;
	all->recs = wn_calloc((size_t)nb, sizeof *all->recs);
	all->nr = wn_calloc((size_t)nb, sizeof *all->nr);
	all->capr = wn_calloc((size_t)nb, sizeof *all->capr);
	wn_buf_init(&all->ids, 0);
	/* ids and sets offsets are rebased */
	for (int k = 0; k < g->nw; k++) {
		sig_worker *w = g->w[k];
		if (!w) continue;
		pthread_mutex_lock(&w->mu);
		for (int i = 0; i < NBUCKET; i++) {
			bucket *b = &w->b[i];
			if (b->file != file) continue;
			grow((void **)&all->docs, &all->capd, all->nd + b->nd, sizeof *all->docs);
			for (size_t j = 0; j < b->nd; j++) {
				sig_doc sd = b->docs[j];
				sd.id_off += all->ids.len;
				sd.set_off += all->ns;
				all->docs[all->nd++] = sd;
			}
			wn_buf_add(&all->ids, b->ids.data, b->ids.len);
			grow((void **)&all->sets, &all->caps, all->ns + b->ns, sizeof *all->sets);
			if (b->ns) memcpy(all->sets + all->ns, b->sets, sizeof *b->sets * b->ns);
			all->ns += b->ns;
			for (int r = 0; r < nb; r++) {
				grow((void **)&all->recs[r], &all->capr[r], all->nr[r] + b->nr[r],
				     sizeof **all->recs);
				if (b->nr[r])
					memcpy(all->recs[r] + all->nr[r], b->recs[r],
					       sizeof **all->recs * b->nr[r]);
				all->nr[r] += b->nr[r];
			}
			grow((void **)&all->units, &all->capu, all->nu + b->nu, sizeof *all->units);
			if (b->nu) memcpy(all->units + all->nu, b->units, sizeof *b->units * b->nu);
			all->nu += b->nu;
			all->bytes += b->bytes;
			bucket_free(b, nb);
		}
		pthread_mutex_unlock(&w->mu);
	}
}

/* Take the runs of input `file` off the list (the caller frees them). */
static char **take_runs(sig_ctx *g, int file, size_t *n)
{
	pthread_mutex_lock(&g->mu);
	char **out = wn_calloc(g->nruns + 1, sizeof *out);
	size_t k = 0, m = 0;
	for (size_t i = 0; i < g->nruns; i++) {
		if (g->runs[i].file == file) out[k++] = g->runs[i].path;
		else g->runs[m++] = g->runs[i];
	}
	g->nruns = m;
	pthread_mutex_unlock(&g->mu);
	*n = k;
	return out;
}

static void free_runs(char **runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unlink(runs[i]);
		free(runs[i]);
	}
	free(runs);
}

/* ---- merging runs: a heap of cursors over sorted arrays ---- */

typedef struct mcur {
	const unsigned char *p, *end;
	size_t size;           /* record bytes */
	uint32_t run;
} mcur;

typedef int (*mless)(const void *a, const void *b);

static void mheap_down(mcur *h, size_t n, size_t i, mless less)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && less(h[l].p, h[m].p)) m = l;
		if (l + 1 < n && less(h[l + 1].p, h[m].p)) m = l + 1;
		if (m == i) return;
		mcur t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The smallest record's cursor; NULL when every run is done. */
static mcur *mheap_top(mcur *h, size_t n) { return n ? &h[0] : NULL; }

/* Advance the top cursor past its record. */
static void mheap_pop(mcur *h, size_t *n, mless less)
{
	h[0].p += h[0].size;
	if (h[0].p == h[0].end) h[0] = h[--*n];
	mheap_down(h, *n, 0, less);
}

static size_t mheap_init(mcur *h, size_t n, mless less)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (h[i].p < h[i].end) h[k++] = h[i];
	for (size_t i = k; i-- > 0;) mheap_down(h, k, i, less);
	return k;
}

static int less_line(const void *a, const void *b)
{
	return ((const sig_doc *)a)->line < ((const sig_doc *)b)->line;
}

static int less_rec(const void *a, const void *b) { return dd_rec_cmp(a, b) < 0; }

static int less_unit(const void *a, const void *b)
{
	return ((const dd_unit *)a)->hash < ((const dd_unit *)b)->hash;
}

/* Input `file`'s signature file from its sorted runs: documents merged by
 * line (their ids and sets follow in the same order), units by hash,
 * each band by key and line; a line's ordinal is its rank among the
 * input's documents (a bitmap of their lines with counts per word). */
static int runs_merge(sig_ctx *g, int file, char **runs, size_t nrun, uint64_t bytes_in,
		      uint64_t counts[3], char *err, size_t errlen)
{
	err[0] = 0;
	dd_config *c = g->c;
	int nb = g->nbands;
	dd_file *f = wn_calloc(nrun, sizeof *f);
	const sig_doc **docs = wn_calloc(nrun, sizeof *docs);
	const unsigned char **ids = wn_calloc(nrun, sizeof *ids);
	const uint32_t **sets = wn_calloc(nrun, sizeof *sets);
	uint64_t *nd = wn_calloc(nrun, sizeof *nd);
	mcur *h = wn_calloc(nrun, sizeof *h);
	line_rank rk = { 0 };
	uint64_t total = 0, maxline = 0, nsigned = 0, nunits = 0;
	int rc = 0;
	size_t opened = 0;
	for (size_t i = 0; i < nrun && !rc; i++) {
		const void *q;
		uint64_t n;
		rc = dd_file_open(&f[i], runs[i], DD_KIND_SIG, g->params, err, errlen);
		if (rc) break;
		opened++;
		rc = dd_file_sect(&f[i], S_DOCS, &q, &nd[i], 0, err, errlen);
		docs[i] = q;
		if (!rc) rc = dd_file_sect(&f[i], S_IDS, &q, &n, 0, err, errlen);
		ids[i] = q;
		if (!rc && c->verify) {
			rc = dd_file_sect(&f[i], S_SETS, &q, &n, 0, err, errlen);
			sets[i] = q;
		}
		total += nd[i];
		if (nd[i] && docs[i][nd[i] - 1].line > maxline) maxline = docs[i][nd[i] - 1].line;
	}
	dd_writer *wr = NULL;
	if (!rc) {
		dd_hdr hd;
		file_hdr(&hd, DD_KIND_SIG, (uint64_t)file, (uint64_t)g->nsorted, total, bytes_in,
			 g->params);
		char *path = sig_path(c, (uint64_t)file);
		rc = dd_writer_open(&wr, path, &hd, err, errlen);
		free(path);
	}
	if (!rc) {
		const char *name = g->sorted[file];
		rc = dd_writer_begin(wr, S_NAME, 0) || dd_writer_add(wr, name, strlen(name)) ||
		     dd_writer_end(wr);
		/* documents, with the offsets of their ids and sets in the
		 * merged order; the lines into the bitmap */
		rank_init(&rk, maxline);
		for (size_t i = 0; i < nrun; i++)
			h[i] = (mcur){ (const unsigned char *)docs[i],
				       (const unsigned char *)(docs[i] + nd[i]), sizeof(sig_doc),
				       (uint32_t)i };
		size_t nh = mheap_init(h, nrun, less_line);
		uint64_t id_off = 0, set_off = 0;
		rc = rc || dd_writer_begin(wr, S_DOCS, sizeof(sig_doc));
		for (mcur *t; !rc && (t = mheap_top(h, nh)); mheap_pop(h, &nh, less_line)) {
			sig_doc d = *(const sig_doc *)t->p;
			rank_set(&rk, d.line);
			d.id_off = id_off;
			d.set_off = set_off;
			id_off += d.id_len;
			set_off += d.set_len;
			rc = dd_writer_add(wr, &d, sizeof d);
		}
		rc = rc || dd_writer_end(wr);
		rank_done(&rk);
		/* ids, then sets, in the same order */
		for (int pass = 0; pass < (c->verify ? 2 : 1) && !rc; pass++) {
			for (size_t i = 0; i < nrun; i++)
				h[i] = (mcur){ (const unsigned char *)docs[i],
					       (const unsigned char *)(docs[i] + nd[i]),
					       sizeof(sig_doc), (uint32_t)i };
			nh = mheap_init(h, nrun, less_line);
			rc = dd_writer_begin(wr, pass ? S_SETS : S_IDS, pass ? sizeof(uint32_t) : 0);
			for (mcur *t; !rc && (t = mheap_top(h, nh)); mheap_pop(h, &nh, less_line)) {
				const sig_doc *d = (const sig_doc *)t->p;
				if (pass)
					rc = dd_writer_add(wr, sets[t->run] + d->set_off,
							   sizeof(uint32_t) * d->set_len);
				else
					rc = dd_writer_add(wr, ids[t->run] + d->id_off, d->id_len);
			}
			rc = rc || dd_writer_end(wr);
		}
	}
	if (!rc && is_units(c)) {
		for (size_t i = 0; i < nrun && !rc; i++) {
			const void *q;
			uint64_t n;
			rc = dd_file_sect(&f[i], S_UNITS, &q, &n, 0, err, errlen);
			h[i] = (mcur){ q, (const unsigned char *)q + n * sizeof(dd_unit),
				       sizeof(dd_unit), (uint32_t)i };
		}
		size_t nh = rc ? 0 : mheap_init(h, nrun, less_unit);
		rc = rc || dd_writer_begin(wr, S_UNITS, sizeof(dd_unit));
		dd_unit cur = { 0, 0 };
		for (mcur *t; !rc && (t = mheap_top(h, nh)); mheap_pop(h, &nh, less_unit)) {
			const dd_unit *u = (const dd_unit *)t->p;
			if (cur.count && u->hash == cur.hash) {
				cur.count += u->count;
				continue;
			}
			if (cur.count) {
				rc = dd_writer_add(wr, &cur, sizeof cur);
				nunits++;
			}
			cur = *u;
		}
		if (!rc && cur.count) {
			rc = dd_writer_add(wr, &cur, sizeof cur);
			nunits++;
		}
		rc = rc || dd_writer_end(wr);
	}
	for (int r = 0; r < nb && !rc; r++) {
		for (size_t i = 0; i < nrun && !rc; i++) {
			const void *q;
			uint64_t n;
			rc = dd_file_sect(&f[i], S_BAND0 + (uint32_t)r, &q, &n, 0, err, errlen);
			h[i] = (mcur){ q, (const unsigned char *)q + n * sizeof(dd_rec), sizeof(dd_rec),
				       (uint32_t)i };
		}
		size_t nh = rc ? 0 : mheap_init(h, nrun, less_rec);
		rc = rc || dd_writer_begin(wr, S_BAND0 + (uint32_t)r, sizeof(dd_rec));
		for (mcur *t; !rc && (t = mheap_top(h, nh)); mheap_pop(h, &nh, less_rec)) {
			dd_rec x = *(const dd_rec *)t->p;
			x.doc = DD_DOC(file, rank_of(&rk, x.doc));
			rc = dd_writer_add(wr, &x, sizeof x);
			nsigned += r == 0;
		}
		rc = rc || dd_writer_end(wr);
	}
	counts[0] = total;
	counts[1] = nsigned;
	counts[2] = nunits;
	if (wr) {
		if (rc) {
			if (!err[0])
				snprintf(err, errlen, "%s/sig/%06d.wdd: write failed: %s", c->work, file,
					 strerror(errno));
			dd_writer_abort(wr);
		} else {
			rc = dd_writer_commit(wr, err, errlen);
		}
	}
	for (size_t i = 0; i < opened; i++) dd_file_close(&f[i]);
	free(f);
	free(docs);
	free(ids);
	free(sets);
	free(nd);
	free(h);
	rank_free(&rk);
	return rc ? 1 : 0;
}

/* Input `file` is done: its signature file, from memory or from its
 * spilled runs and what is left in memory. */
static int sig_write(sig_ctx *g, int file, const wn_input_counts *cnt)
{
	dd_config *c = g->c;
	int nb = g->nbands;
	bucket all;
	gather(g, file, &all);
	size_t nrun;
	char **runs = take_runs(g, file, &nrun);
	char err[512] = "";
	int rc = 0;
	uint64_t bytes_in = cnt ? cnt->bytes_in : 0;
	uint64_t counts[3] = { 0, 0, 0 };  /* documents, signed, units */
	if (!nrun) {
		bucket_sort(&all, nb, file);
		char *path = sig_path(c, (uint64_t)file);
		rc = bucket_write(g, &all, file, path, bytes_in, err, sizeof err);
		free(path);
		counts[0] = all.nd;
		counts[1] = nb ? all.nr[0] : 0;
		counts[2] = all.nu;
	} else {
		if (all.nd) {
			/* the rest becomes one more run */
			bucket_sort(&all, nb, -1);
			char *path = pathf("%s/sig/.%06d.run-last.wdd", c->work, file);
			rc = bucket_write(g, &all, file, path, 0, err, sizeof err);
			runs = wn_realloc(runs, sizeof *runs * (nrun + 1));
			runs[nrun++] = path;
		}
		if (!rc) rc = runs_merge(g, file, runs, nrun, bytes_in, counts, err, sizeof err);
		if (!rc) wn_info("%s: merged %zu sorted runs", g->sorted[file], nrun);
	}
	free_runs(runs, nrun);
	if (rc) {
		wn_error("%s", err);
	} else {
		const char *name = g->sorted[file];
		rec_add(&g->rec, name, "docs", counts[0]);
		rec_add(&g->rec, name, "bytes", bytes_in);
		if (nb) rec_add(&g->rec, name, "signed", counts[1]);
		if (is_units(c)) rec_add(&g->rec, name, "units", counts[2]);
		if (nrun) rec_add(&g->rec, name, "runs", nrun);
	}
	bucket_free(&all, nb);
	return rc ? -1 : 0;
}

static void sig_input_done(void *ctx, wn_run *r, const char *input, int ok,
			   const wn_input_counts *cnt)
{
	sig_ctx *g = ctx;
	int file = input_index(g->sorted, g->nsorted, input);
	if (!ok) {
		/* the input failed: drop what was gathered, write nothing */
		for (int k = 0; k < g->nw; k++) {
			sig_worker *w = g->w[k];
			if (!w) continue;
			pthread_mutex_lock(&w->mu);
			for (int i = 0; i < NBUCKET; i++)
				if (w->b[i].file == file) bucket_free(&w->b[i], g->nbands);
			pthread_mutex_unlock(&w->mu);
		}
		size_t n;
		char **runs = take_runs(g, file, &n);
		free_runs(runs, n);
		g->failed = 1;
		return;
	}
	if (sig_write(g, file, cnt)) {
		g->failed = 1;
		r->exit_code = 1;
	}
}

/* Is path a valid file of this kind made with these parameters? */
static int valid_file(const char *path, uint32_t kind, const char *params)
{
	if (!wn_path_exists(path)) return 0;
	dd_file f;
	char err[512];
	if (dd_file_open(&f, path, kind, params, err, sizeof err)) return 0;
	int ok = 1;
	for (uint32_t s = 0; s < f.h.nsect && ok; s++) {
		const void *p;
		uint64_t n;
		ok = !dd_file_sect(&f, f.h.sect[s].id, &p, &n, 0, err, sizeof err);
	}
	dd_file_close(&f);
	return ok;
}

/* Spilled runs a killed sig left behind for input i. */
static void drop_stale_runs(const dd_config *c, int i)
{
	char *dir = pathf("%s/sig", c->work);
	char prefix[32];
	snprintf(prefix, sizeof prefix, ".%06d.run-", i);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, prefix, strlen(prefix))) {
				char *p = pathf("%s/%s", dir, e->d_name);
				unlink(p);
				free(p);
			}
		closedir(d);
	}
	free(dir);
}

/* The normalisation tables, before any text is read. */
static int norm_ready(void)
{
	char err[300];
	if (!dd_norm_init(err, sizeof err)) return 0;
	wn_error("%s", err);
	return 1;
}

int dd_stage_sig(dd_config *c, int ninputs, char **inputs)
{
	if (norm_ready()) return 1;
	char **sorted = sorted_inputs(ninputs, inputs);
	if (!sorted) return 2;
	if (c->mode == DD_MODE_MINHASH && c->bands > MAX_BANDS) {
		wn_error("--bands %d: at most %d bands", c->bands, MAX_BANDS);
		free(sorted);
		return 2;
	}
	if (work_dir(c, "sig")) { free(sorted); return 1; }
	sig_ctx g;
	memset(&g, 0, sizeof g);
	g.c = c;
	g.sorted = sorted;
	g.nsorted = ninputs;
	g.nbands = c->mode == DD_MODE_MINHASH ? c->bands : c->mode == DD_MODE_EXACT ? 1 : 0;
	if (c->mode == DD_MODE_MINHASH) g.mh = dd_minhash_new(c->bands, c->rows, c->seed);
	dd_config_params(c, g.params, sizeof g.params);
	pthread_mutex_init(&g.mu, NULL);
	/* this task's inputs, less those whose file is already done */
	int nsel = 0;
	char **sel = wn_calloc((size_t)ninputs + 1, sizeof *sel);
	for (int i = 0; i < ninputs; i++) {
		if (c->o->shard_n && i % c->o->shard_n != c->o->shard_i) continue;
		char *p = sig_path(c, (uint64_t)i);
		if (!c->force && valid_file(p, DD_KIND_SIG, g.params)) {
			wn_info("%s: done, skipped", p);
		} else {
			sel[nsel++] = sorted[i];
		}
		free(p);
	}
	int nthreads = c->threads > 0 ? c->threads : wn_ncpus();
	uint64_t mem = c->memory ? c->memory : DD_DEFAULT_MEMORY;
	g.budget = (size_t)(mem / (uint64_t)nthreads);
	if (g.budget < 4096) g.budget = 4096;
	for (int i = 0; i < nsel; i++) drop_stale_runs(c, input_index(sorted, ninputs, sel[i]));
	int rc = rec_begin(&g.rec, c, "sig");
	if (nsel && !rc) {
		wn_opts o = *c->o;
		o.shard_n = 0;        /* selected here, by index */
		o.shard_i = 0;
		o.output = NULL;
		o.outdir = NULL;
		o.skip_existing = 0;
		o.rejects = NULL;     /* sig drops nothing; apply writes the rejects */
		o.stats = NULL;       /* recorded here (stage_rec) */
		wn_run r;
		stage_run(&r, c, &o);
		r.fn = sig_doc_fn;
		r.ctx = &g;
		r.no_output = 1;
		r.input_done = sig_input_done;
		r.thread_ctx = sig_thread_ctx;
		r.thread_ctx_free = sig_thread_free;
		rc = wn_run_main(&r, nsel, sel);
		if (g.failed && !rc) rc = 1;
	}
	rc = rec_end(&g.rec, c, rc);
	for (size_t i = 0; i < g.nruns; i++) {  /* of inputs that did not finish */
		unlink(g.runs[i].path);
		free(g.runs[i].path);
	}
	free(g.runs);
	free(sel);
	free(g.w);
	dd_minhash_free(g.mh);
	free(sorted);
	return rc;
}

/* ---- loading the work directory ---- */

typedef struct work {
	uint64_t ninputs;
	dd_file *sig;          /* one per input */
	uint64_t *off;         /* dense number of each input's first document */
	uint64_t ndocs;
	char params[DD_PARAMS_LEN];
} work;

static void work_close(work *w)
{
	if (w->sig)
		for (uint64_t i = 0; i < w->ninputs; i++) dd_file_close(&w->sig[i]);
	free(w->sig);
	free(w->off);
	memset(w, 0, sizeof *w);
}

/* Parse "key=value" from a params text. */
static int param_get(const char *params, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = params; *p;) {
		while (*p == ' ') p++;
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			p += kl + 1;
			size_t l = strcspn(p, " ");
			snprintf(out, n, "%.*s", (int)l, p);
			return 1;
		}
		p += strcspn(p, " ");
	}
	return 0;
}

static char *keep_by_copy;

int dd_config_load(dd_config *c)
{
	char *p = sig_path(c, 0);
	dd_file f;
	char err[512];
	int rc = dd_file_open(&f, p, DD_KIND_SIG, NULL, err, sizeof err);
	free(p);
	if (rc) {
		wn_error("%s", err);
		return 1;
	}
	char v[128];
	param_get(f.h.params, "mode", v, sizeof v);
	c->mode = !strcmp(v, "minhash") ? DD_MODE_MINHASH : !strcmp(v, "exact") ? DD_MODE_EXACT
		: !strcmp(v, "line") ? DD_MODE_LINE : !strcmp(v, "paragraph") ? DD_MODE_PARAGRAPH : 0;
	if (param_get(f.h.params, "bands", v, sizeof v)) c->bands = atoi(v);
	if (param_get(f.h.params, "rows", v, sizeof v)) c->rows = atoi(v);
	if (param_get(f.h.params, "ngram", v, sizeof v)) c->ngram = atoi(v);
	if (param_get(f.h.params, "seed", v, sizeof v)) c->seed = strtoull(v, NULL, 10);
	if (param_get(f.h.params, "norm", v, sizeof v)) c->norm = !strcmp(v, "none") ? DD_NORM_NONE : DD_NORM_FULL;
	if (param_get(f.h.params, "verify", v, sizeof v)) c->verify = !strcmp(v, "yes");
	if (param_get(f.h.params, "threshold", v, sizeof v)) c->threshold = strtod(v, NULL);
	if (param_get(f.h.params, "min_count", v, sizeof v)) c->min_count = strtoull(v, NULL, 10);
	if (param_get(f.h.params, "keep_by", v, sizeof v) && v[0]) {
		free(keep_by_copy);
		keep_by_copy = wn_strdup(v);
		c->keep_by = keep_by_copy;
	} else {
		c->keep_by = NULL;
	}
	dd_file_close(&f);
	if (!c->mode) {
		wn_error("%s/sig: unknown mode in the parameters", c->work);
		return 1;
	}
	return 0;
}

/* Open every input's sig file (all must exist, agree and number 0..n-1). */
static int work_open(const dd_config *c, work *w)
{
	memset(w, 0, sizeof *w);
	dd_config_params(c, w->params, sizeof w->params);
	char *p = sig_path(c, 0);
	dd_file f0;
	char err[512];
	int rc = dd_file_open(&f0, p, DD_KIND_SIG, w->params, err, sizeof err);
	free(p);
	if (rc) { wn_error("%s", err); return 1; }
	w->ninputs = f0.h.ninputs;
	dd_file_close(&f0);
	w->sig = wn_calloc(w->ninputs ? w->ninputs : 1, sizeof *w->sig);
	w->off = wn_calloc(w->ninputs + 1, sizeof *w->off);
	for (uint64_t i = 0; i < w->ninputs; i++) {
		p = sig_path(c, i);
		rc = dd_file_open(&w->sig[i], p, DD_KIND_SIG, w->params, err, sizeof err);
		if (!rc && (w->sig[i].h.index != i || w->sig[i].h.ninputs != w->ninputs)) {
			snprintf(err, sizeof err, "%s: belongs to another run (input %llu of %llu, "
				 "expected %llu of %llu)", p, (unsigned long long)w->sig[i].h.index,
				 (unsigned long long)w->sig[i].h.ninputs, (unsigned long long)i,
				 (unsigned long long)w->ninputs);
			rc = 1;
		}
		free(p);
		if (rc) {
			wn_error("%s", err);
			work_close(w);
			return 1;
		}
		w->off[i + 1] = w->off[i] + w->sig[i].h.ndocs;
	}
	w->ndocs = w->off[w->ninputs];
	return 0;
}

/* ---- pairs ---- */

typedef struct cursor {
	const dd_rec *r, *end;
} cursor;

static inline int cur_less(const cursor *a, const cursor *b) { return dd_rec_cmp(a->r, b->r) < 0; }

static void heap_down(cursor *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && cur_less(&h[l], &h[m])) m = l;
		if (l + 1 < n && cur_less(&h[l + 1], &h[m])) m = l + 1;
		if (m == i) return;
		cursor t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

typedef struct verifier {
	work *w;
	const sig_doc **docs;      /* per input */
	const uint32_t **sets;     /* per input */
} verifier;

static void doc_set(const verifier *v, uint64_t doc, const uint32_t **s, size_t *n)
{
	uint64_t in = DD_DOC_INPUT(doc), ord = DD_DOC_ORD(doc);
	const sig_doc *d = &v->docs[in][ord];
	*s = v->sets[in] + d->set_off;
	*n = d->set_len;
}

static int pairs_band(dd_config *c, work *w, int band, const verifier *v, stage_rec *rec,
		      uint64_t *npairs)
{
	char *path = pairs_path(c, band);
	char err[512];
	int rc = 0;
	if (!c->force && valid_file(path, DD_KIND_PAIRS, w->params)) {
		wn_info("%s: done, skipped", path);
		free(path);
		return 0;
	}
	cursor *h = wn_calloc(w->ninputs + 1, sizeof *h);
	size_t nh = 0;
	uint64_t total = 0;
	for (uint64_t i = 0; i < w->ninputs; i++) {
		const void *p;
		uint64_t n;
		if (dd_file_sect(&w->sig[i], S_BAND0 + (uint32_t)band, &p, &n, 0, err, sizeof err)) {
			wn_error("%s", err);
			free(h);
			free(path);
			return 1;
		}
		total += n;
		if (n) {
			h[nh].r = p;
			h[nh].end = (const dd_rec *)p + n;
			nh++;
		}
	}
	for (size_t i = nh; i-- > 0;) heap_down(h, nh, i);
	dd_hdr hd;
	file_hdr(&hd, DD_KIND_PAIRS, (uint64_t)band, w->ninputs, total, 0, w->params);
	dd_writer *wr;
	if (dd_writer_open(&wr, path, &hd, err, sizeof err)) {
		wn_error("%s", err);
		free(h);
		free(path);
		return 1;
	}
	dd_writer_begin(wr, S_PAIRS, sizeof(pair_rec));
	uint64_t run_k0 = 0, run_k1 = 0, first = 0, np = 0, ncand = 0;
	int in_run = 0;
	/* --verify: the run's documents so far, compared in order; the first
	 * at least the threshold similar is the pair's other end (union-find
	 * joins the rest).  A run of many documents none of which match (a
	 * shared boilerplate band) costs at most VERIFY_MAX comparisons each. */
	enum { VERIFY_MAX = 256 };
	uint64_t *members = NULL;
	size_t nmem = 0, capmem = 0;
	while (nh && !rc) {
		dd_rec r = *h[0].r;
		if (++h[0].r == h[0].end) h[0] = h[--nh];
		heap_down(h, nh, 0);
		if (in_run && r.k0 == run_k0 && r.k1 == run_k1) {
			pair_rec pr = { first, r.doc };
			ncand++;
			if (c->verify) {
				const uint32_t *sb;
				size_t nb;
				doc_set(v, r.doc, &sb, &nb);
				int found = 0;
				for (size_t l = 0; l < nmem && l < VERIFY_MAX; l++) {
					const uint32_t *sa;
					size_t na;
					doc_set(v, members[l], &sa, &na);
					if (dd_jaccard(sa, na, sb, nb) >= c->threshold) {
						pr.a = members[l];
						found = 1;
						break;
					}
				}
				grow((void **)&members, &capmem, nmem + 1, sizeof *members);
				members[nmem++] = r.doc;
				if (!found) continue;
			}
			rc = dd_writer_add(wr, &pr, sizeof pr);
			np++;
			continue;
		}
		in_run = 1;
		run_k0 = r.k0;
		run_k1 = r.k1;
		first = r.doc;
		nmem = 0;
		if (c->verify) {
			grow((void **)&members, &capmem, 1, sizeof *members);
			members[nmem++] = r.doc;
		}
	}
	free(members);
	free(h);
	if (!rc) {
		dd_writer_end(wr);
		dd_writer_hdr(wr)->aux = np;
		rc = dd_writer_commit(wr, err, sizeof err);
		if (rc) wn_error("%s", err);
	} else {
		wn_error("%s: write failed: %s", path, strerror(errno));
		dd_writer_abort(wr);
	}
	if (!rc) {
		char part[32];
		snprintf(part, sizeof part, "band %d", band);
		rec_add(rec, part, "records", total);
		rec_add(rec, part, "candidates", ncand);
		rec_add(rec, part, "pairs", np);
	}
	*npairs += np;
	free(path);
	return rc ? 1 : 0;
}

/* Line and paragraph mode: merge every input's unit counts. */
static int units_merge(dd_config *c, work *w, stage_rec *rec)
{
	char *path = units_path(c);
	char err[512];
	if (!c->force && valid_file(path, DD_KIND_UNITS, w->params)) {
		wn_info("%s: done, skipped", path);
		free(path);
		return 0;
	}
	mcur *h = wn_calloc(w->ninputs + 1, sizeof *h);
	for (uint64_t i = 0; i < w->ninputs; i++) {
		const void *p;
		uint64_t n;
		if (dd_file_sect(&w->sig[i], S_UNITS, &p, &n, 0, err, sizeof err)) {
			wn_error("%s", err);
			free(h);
			free(path);
			return 1;
		}
		h[i] = (mcur){ p, (const unsigned char *)p + n * sizeof(dd_unit), sizeof(dd_unit),
			       (uint32_t)i };
	}
	size_t nh = mheap_init(h, w->ninputs, less_unit);
	dd_hdr hd;
	file_hdr(&hd, DD_KIND_UNITS, 0, w->ninputs, 0, 0, w->params);
	dd_writer *wr;
	if (dd_writer_open(&wr, path, &hd, err, sizeof err)) {
		wn_error("%s", err);
		free(h);
		free(path);
		return 1;
	}
	dd_writer_begin(wr, S_UNITS, sizeof(uint64_t));
	uint64_t cur = 0, cnt = 0, distinct = 0, kept = 0;
	int have = 0, rc = 0;
	for (mcur *t; !rc && (t = mheap_top(h, nh)); mheap_pop(h, &nh, less_unit)) {
		const dd_unit *u = (const dd_unit *)t->p;
		if (have && u->hash == cur) {
			cnt += u->count;
			continue;
		}
		if (have && cnt >= c->min_count) { rc = dd_writer_add(wr, &cur, sizeof cur); kept++; }
		have = 1;
		cur = u->hash;
		cnt = u->count;
		distinct++;
	}
	if (!rc && have && cnt >= c->min_count) { rc = dd_writer_add(wr, &cur, sizeof cur); kept++; }
	free(h);
	if (rc) {
		wn_error("%s: write failed: %s", path, strerror(errno));
		dd_writer_abort(wr);
		free(path);
		return 1;
	}
	dd_writer_end(wr);
	dd_writer_hdr(wr)->ndocs = distinct;
	dd_writer_hdr(wr)->aux = kept;
	rc = dd_writer_commit(wr, err, sizeof err);
	if (rc) {
		wn_error("%s", err);
	} else {
		wn_info("%llu distinct units, %llu seen at least %llu times",
			(unsigned long long)distinct, (unsigned long long)kept,
			(unsigned long long)c->min_count);
		rec_add(rec, "", "distinct", distinct);
		rec_add(rec, "", "frequent", kept);
	}
	free(path);
	return rc ? 1 : 0;
}

typedef struct band_job {
	dd_config *c;
	work *w;
	const verifier *v;
	stage_rec *rec;
	pthread_mutex_t mu;
	int next, nbands, step, failed;
	uint64_t npairs;
} band_job;

static void *band_worker(void *arg)
{
	band_job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		int b = j->next;
		j->next += j->step;
		pthread_mutex_unlock(&j->mu);
		if (b >= j->nbands) break;
		uint64_t np = 0;
		int rc = pairs_band(j->c, j->w, b, j->v, j->rec, &np);
		pthread_mutex_lock(&j->mu);
		if (rc) j->failed = 1;
		j->npairs += np;
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

int dd_stage_pairs(dd_config *c, int band)
{
	if (dd_config_load(c)) return 1;
	work w;
	if (work_open(c, &w)) return 1;
	if (work_dir(c, is_units(c) ? "." : "pairs")) { work_close(&w); return 1; }
	stage_rec rec;
	int rc = rec_begin(&rec, c, "pairs");
	if (rc) { work_close(&w); return rec_end(&rec, c, rc); }
	if (is_units(c)) {
		rc = units_merge(c, &w, &rec);
		work_close(&w);
		return rec_end(&rec, c, rc);
	}
	int nb = c->mode == DD_MODE_MINHASH ? c->bands : 1;
	if (band >= nb) {
		wn_error("--band %d: the run has %d band%s (0 to %d)", band, nb, nb > 1 ? "s" : "",
			 nb - 1);
		work_close(&w);
		return rec_end(&rec, c, 2);
	}
	verifier v = { &w, NULL, NULL };
	if (c->verify) {
		v.docs = wn_calloc(w.ninputs + 1, sizeof *v.docs);
		v.sets = wn_calloc(w.ninputs + 1, sizeof *v.sets);
		char err[512];
		for (uint64_t i = 0; i < w.ninputs && !rc; i++) {
			const void *p;
			uint64_t n;
			if (dd_file_sect(&w.sig[i], S_DOCS, &p, &n, 0, err, sizeof err) ||
			    (v.docs[i] = p, dd_file_sect(&w.sig[i], S_SETS, &p, &n, 0, err, sizeof err))) {
				wn_error("%s", err);
				rc = 1;
			}
			v.sets[i] = p;
		}
	}
	if (!rc) {
		band_job j;
		memset(&j, 0, sizeof j);
		j.c = c;
		j.w = &w;
		j.v = &v;
		j.rec = &rec;
		pthread_mutex_init(&j.mu, NULL);
		j.nbands = nb;
		if (band >= 0) {
			j.next = band;
			j.nbands = band + 1;
			j.step = 1;
		} else if (c->o->shard_n) {
			j.next = c->o->shard_i;
			j.step = c->o->shard_n;
		} else {
			j.step = 1;
		}
		int nt = c->threads > 1 ? c->threads : 1;
		pthread_t *t = wn_calloc((size_t)nt, sizeof *t);
		for (int i = 0; i < nt; i++) pthread_create(&t[i], NULL, band_worker, &j);
		for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
		free(t);
		rc = j.failed;
		if (!rc)
			wn_info("%llu pairs written", (unsigned long long)j.npairs);
	}
	free(v.docs);
	free(v.sets);
	work_close(&w);
	return rec_end(&rec, c, rc);
}

/* ---- cluster ---- */

static int rm_write(dd_config *c, work *w, uint64_t in, dd_uf *u, const uint8_t *member)
{
	char err[512];
	char *path = rm_path(c, in);
	uint64_t lo = w->off[in], hi = w->off[in + 1];
	const void *p;
	uint64_t n;
	const sig_doc *docs;
	const char *name;
	uint64_t nname;
	if (dd_file_sect(&w->sig[in], S_DOCS, &p, &n, 0, err, sizeof err)) goto fail;
	docs = p;
	if (dd_file_sect(&w->sig[in], S_NAME, &p, &nname, 0, err, sizeof err)) goto fail;
	name = p;
	rm_rec *rm = NULL;
	size_t nrm = 0, caprm = 0;
	kept_rec *kept = NULL;
	size_t nkept = 0, capkept = 0;
	wn_buf str;
	wn_buf_init(&str, 0);
	/* roots referenced by this input, found through a small open table */
	size_t tcap = 1024;
	while (tcap < 2 * (hi - lo)) tcap *= 2;
	uint64_t *tkey = NULL;
	uint32_t *tval = NULL;
	int any = 0;
	for (uint64_t x = lo; x < hi; x++) {
		uint64_t r = dd_uf_find(u, x);
		if (r == x && !(member[x >> 3] >> (x & 7) & 1)) continue; /* alone */
		if (!any) {
			tkey = wn_malloc(sizeof *tkey * tcap);
			tval = wn_malloc(sizeof *tval * tcap);
			memset(tkey, 0xff, sizeof *tkey * tcap);
			any = 1;
		}
		size_t s = (size_t)(r * 0x9e3779b97f4a7c15ULL >> 20) & (tcap - 1);
		while (tkey[s] != UINT64_MAX && tkey[s] != r) s = (s + 1) & (tcap - 1);
		if (tkey[s] == UINT64_MAX) {
			tkey[s] = r;
			tval[s] = (uint32_t)nkept;
			grow((void **)&kept, &capkept, nkept + 1, sizeof *kept);
			/* the root's input and document */
			uint64_t rin = 0, a = 0, b = w->ninputs;
			while (a < b) {
				uint64_t m = (a + b) / 2;
				if (w->off[m + 1] <= r) a = m + 1;
				else b = m;
			}
			rin = a;
			const void *rp;
			uint64_t rn;
			if (dd_file_sect(&w->sig[rin], S_DOCS, &rp, &rn, 0, err, sizeof err)) goto fail2;
			const sig_doc *rd = (const sig_doc *)rp + (r - w->off[rin]);
			const void *np, *ip;
			uint64_t nn, ni;
			if (dd_file_sect(&w->sig[rin], S_NAME, &np, &nn, 0, err, sizeof err) ||
			    dd_file_sect(&w->sig[rin], S_IDS, &ip, &ni, 0, err, sizeof err))
				goto fail2;
			kept_rec *k = &kept[nkept++];
			k->line = rd->line;
			k->name_off = str.len;
			k->name_len = (uint32_t)nn;
			wn_buf_add(&str, np, nn);
			k->id_off = str.len;
			k->id_len = rd->id_len;
			if (rd->id_len && rd->id_off + rd->id_len <= ni)
				wn_buf_add(&str, (const char *)ip + rd->id_off, rd->id_len);
			else
				k->id_len = 0;
		}
		grow((void **)&rm, &caprm, nrm + 1, sizeof *rm);
		rm[nrm].line = docs[x - lo].line;
		rm[nrm].kept = tval[s];
		rm[nrm].removed = r != x;
		nrm++;
	}
	dd_hdr hd;
	file_hdr(&hd, DD_KIND_REMOVE, in, w->ninputs, hi - lo, w->sig[in].h.aux, w->params);
	dd_writer *wr;
	int rc = dd_writer_open(&wr, path, &hd, err, sizeof err);
	if (!rc) {
		rc = dd_writer_begin(wr, S_NAME, 0) || dd_writer_add(wr, name, nname) ||
		     dd_writer_end(wr) || dd_writer_begin(wr, S_RM, sizeof(rm_rec)) ||
		     dd_writer_add(wr, rm, sizeof *rm * nrm) || dd_writer_end(wr) ||
		     dd_writer_begin(wr, S_KEPT, sizeof(kept_rec)) ||
		     dd_writer_add(wr, kept, sizeof *kept * nkept) || dd_writer_end(wr) ||
		     dd_writer_begin(wr, S_STR, 0) || dd_writer_add(wr, str.data, str.len) ||
		     dd_writer_end(wr);
		if (rc) {
			snprintf(err, sizeof err, "%s: write failed: %s", path, strerror(errno));
			dd_writer_abort(wr);
		} else {
			rc = dd_writer_commit(wr, err, sizeof err);
		}
	}
	free(rm);
	free(kept);
	free(tkey);
	free(tval);
	wn_buf_release(&str);
	if (rc) goto fail;
	free(path);
	return 0;
fail2:
	free(rm);
	free(kept);
	free(tkey);
	free(tval);
	wn_buf_release(&str);
fail:
	wn_error("%s", err);
	free(path);
	return 1;
}

int dd_stage_cluster(dd_config *c)
{
	if (dd_config_load(c)) return 1;
	if (is_units(c)) {
		wn_info("line and paragraph mode have no cluster stage");
		return 0;
	}
	work w;
	if (work_open(c, &w)) return 1;
	if (work_dir(c, "remove")) { work_close(&w); return 1; }
	stage_rec rec;
	if (rec_begin(&rec, c, "cluster")) { work_close(&w); return rec_end(&rec, c, 1); }
	int nb = c->mode == DD_MODE_MINHASH ? c->bands : 1;
	char err[512];
	int rc = 0;
	/* finished before? */
	if (!c->force) {
		int done = 1;
		for (uint64_t i = 0; i < w.ninputs && done; i++) {
			char *p = rm_path(c, i);
			done = valid_file(p, DD_KIND_REMOVE, w.params);
			free(p);
		}
		if (done) {
			wn_info("%s/remove: done, skipped", c->work);
			work_close(&w);
			return rec_end(&rec, c, 0);
		}
	}
	double t0 = wn_now();
	dd_uf u;
	if (dd_uf_init(&u, w.ndocs, c->keep_by != NULL)) {
		wn_error("out of memory for %llu documents", (unsigned long long)w.ndocs);
		work_close(&w);
		return rec_end(&rec, c, 1);
	}
	if (c->keep_by)
		for (uint64_t i = 0; i < w.ninputs && !rc; i++) {
			const void *p;
			uint64_t n;
			if (dd_file_sect(&w.sig[i], S_DOCS, &p, &n, 0, err, sizeof err)) {
				wn_error("%s", err);
				rc = 1;
				break;
			}
			const sig_doc *d = p;
			for (uint64_t k = 0; k < n; k++) u.value[w.off[i] + k] = d[k].value;
		}
	uint64_t npairs = 0, joins = 0;
	for (int b = 0; b < nb && !rc; b++) {
		char *path = pairs_path(c, b);
		dd_file f;
		if (dd_file_open(&f, path, DD_KIND_PAIRS, w.params, err, sizeof err) ||
		    (f.h.ninputs != w.ninputs &&
		     (snprintf(err, sizeof err, "%s: made from %llu inputs, the signatures are of %llu",
			       path, (unsigned long long)f.h.ninputs, (unsigned long long)w.ninputs), 1))) {
			wn_error("%s", err);
			free(path);
			rc = 1;
			break;
		}
		const void *p;
		uint64_t n;
		if (dd_file_sect(&f, S_PAIRS, &p, &n, 0, err, sizeof err)) {
			wn_error("%s", err);
			rc = 1;
		}
		const pair_rec *pr = p;
		for (uint64_t k = 0; k < n && !rc; k++) {
			uint64_t ia = DD_DOC_INPUT(pr[k].a), ib = DD_DOC_INPUT(pr[k].b);
			uint64_t oa = DD_DOC_ORD(pr[k].a), ob = DD_DOC_ORD(pr[k].b);
			if (ia >= w.ninputs || ib >= w.ninputs || oa >= w.off[ia + 1] - w.off[ia] ||
			    ob >= w.off[ib + 1] - w.off[ib]) {
				wn_error("%s: pair %llu names a document that does not exist", path,
					 (unsigned long long)k);
				rc = 1;
				break;
			}
			joins += (uint64_t)dd_uf_union(&u, w.off[ia] + oa, w.off[ib] + ob);
		}
		npairs += n;
		dd_file_close(&f);
		free(path);
	}
	uint8_t *member = NULL;
	uint64_t nclusters = 0;
	if (!rc) {
		/* roots with members */
		member = wn_calloc(w.ndocs / 8 + 1, 1);
		for (uint64_t x = 0; x < w.ndocs; x++) {
			uint64_t r = dd_uf_find(&u, x);
			if (r != x && !(member[r >> 3] & (1u << (r & 7)))) {
				member[r >> 3] |= (uint8_t)(1u << (r & 7));
				nclusters++;
			}
		}
		for (uint64_t i = 0; i < w.ninputs && !rc; i++) rc = rm_write(c, &w, i, &u, member);
	}
	if (!rc) {
		wn_info("%llu documents, %llu pairs, %llu clusters, %llu removed, in %.1f s",
			(unsigned long long)w.ndocs, (unsigned long long)npairs,
			(unsigned long long)nclusters, (unsigned long long)joins, wn_now() - t0);
		rec_add(&rec, "", "docs", w.ndocs);
		rec_add(&rec, "", "pairs", npairs);
		rec_add(&rec, "", "clusters", nclusters);
		rec_add(&rec, "", "removed", joins);
	}
	free(member);
	dd_uf_release(&u);
	work_close(&w);
	return rec_end(&rec, c, rc);
}

/* ---- apply ---- */

typedef struct apply_input {
	dd_file f;
	const rm_rec *rm;
	uint64_t nrm;
	const kept_rec *kept;
	const char *str;
	uint64_t ndocs;     /* documents the signatures saw */
} apply_input;

typedef struct apply_ctx {
	dd_config *c;
	char **sorted;
	int nsorted;
	apply_input *in;    /* per input index, loaded at first use */
	pthread_mutex_t mu;
	const uint64_t *units;  /* line and paragraph mode: frequent hashes */
	uint64_t nunits;
	dd_file uf;
	int failed;
	const char *reason;
} apply_ctx;

typedef struct apply_worker {
	apply_ctx *g;
	wn_buf ann, text, tmp;
	uint32_t tally[1];
	const char *last_input;
	apply_input *last;
} apply_worker;

static int same_base(const char *a, size_t n, const char *b)
{
	const char *as = memrchr(a, '/', n);
	if (as) { n -= (size_t)(as + 1 - a); a = as + 1; }
	const char *bs = strrchr(b, '/');
	if (bs) b = bs + 1;
	return strlen(b) == n && memcmp(a, b, n) == 0;
}

static apply_input *apply_load(apply_ctx *g, const char *input)
{
	int i = input_index(g->sorted, g->nsorted, input);
	if (i < 0) return NULL;
	pthread_mutex_lock(&g->mu);
	apply_input *a = &g->in[i];
	if (!a->f.map) {
		char *p = rm_path(g->c, (uint64_t)i);
		char params[DD_PARAMS_LEN], err[512];
		dd_config_params(g->c, params, sizeof params);
		const void *q;
		uint64_t n;
		int rc = dd_file_open(&a->f, p, DD_KIND_REMOVE, params, err, sizeof err);
		if (!rc && (a->f.h.index != (uint64_t)i || a->f.h.ninputs != (uint64_t)g->nsorted)) {
			snprintf(err, sizeof err, "%s: made for input %llu of %llu; this run has %d "
				 "inputs and %s is input %d (the inputs differ from those of the sig stage)",
				 p, (unsigned long long)a->f.h.index, (unsigned long long)a->f.h.ninputs,
				 g->nsorted, input, i);
			rc = 1;
		}
		if (!rc) rc = dd_file_sect(&a->f, S_NAME, &q, &n, 0, err, sizeof err);
		/* the same file under another directory is the same input (a
		 * shared file system mounted elsewhere); its document count is
		 * checked when it is read */
		if (!rc && !same_base(q, n, input)) {
			snprintf(err, sizeof err, "%s: made for input %.*s, not %s", p, (int)n,
				 (const char *)q, input);
			rc = 1;
		}
		if (!rc) rc = dd_file_sect(&a->f, S_RM, &q, &a->nrm, 0, err, sizeof err);
		a->rm = q;
		if (!rc) rc = dd_file_sect(&a->f, S_KEPT, &q, &n, 0, err, sizeof err);
		a->kept = q;
		if (!rc) rc = dd_file_sect(&a->f, S_STR, &q, &n, 0, err, sizeof err);
		a->str = q;
		a->ndocs = a->f.h.ndocs;
		if (rc) {
			wn_error("%s", err);
			if (a->f.map) dd_file_close(&a->f);
			g->failed = 1;
			a = NULL;
		}
		free(p);
	}
	pthread_mutex_unlock(&g->mu);
	return a;
}

static void *apply_thread_ctx(void *ctx, int i)
{
	apply_worker *w = wn_calloc(1, sizeof *w);
	w->g = ctx;
	wn_buf_init(&w->ann, 0);
	wn_buf_init(&w->text, 0);
	wn_buf_init(&w->tmp, 0);
	return w;
}

static void apply_thread_free(void *ctx, void *wctx)
{
	apply_worker *w = wctx;
	wn_buf_release(&w->ann);
	wn_buf_release(&w->text);
	wn_buf_release(&w->tmp);
	free(w);
}

static int apply_units_fn(apply_worker *w, wn_item *it, wn_doc *d)
{
	apply_ctx *g = w->g;
	dd_config *c = g->c;
	const char *s = d->text.data;
	size_t n = d->text.len;
	int para = c->mode == DD_MODE_PARAGRAPH;
	wn_buf_reset(&w->text);
	uint32_t removed = 0, units = 0;
	for (size_t i = 0; i < n;) {
		unit_span u;
		i = next_unit(s, n, i, para, &u);
		int empty;
		uint64_t h = unit_hash(s + u.off, u.len, c->norm, &w->tmp, &empty);
		int drop = 0;
		if (!empty) {
			units++;
			size_t lo = 0, hi = g->nunits;
			while (lo < hi) {
				size_t m = (lo + hi) / 2;
				if (g->units[m] < h) lo = m + 1;
				else hi = m;
			}
			drop = lo < g->nunits && g->units[lo] == h;
		}
		if (drop) removed++;
		else wn_buf_add(&w->text, s + u.off, u.end - u.off);
	}
	w->tally[0] = removed;
	it->tally = w->tally;
	if (!removed) return WN_KEEP;
	if (c->annotate_only) {
		wn_buf_reset(&w->ann);
		wn_buf_addf(&w->ann, "{\"kind\":\"%s\",\"units\":%u,\"duplicate_units\":%u}",
			    mode_name(c->mode), units, removed);
		wn_doc_set_raw(d, c->ann_field, w->ann.data, w->ann.len);
		return WN_KEEP;
	}
	/* a trailing separator of the last kept unit is trimmed */
	while (w->text.len && (w->text.data[w->text.len - 1] == '\n'))
		w->text.len--;
	w->text.data[w->text.len] = 0;
	if (removed == units) {
		it->reason = g->reason;
		return WN_DROP;
	}
	wn_doc_set_str(d, c->o->fields.text ? c->o->fields.text : "text", w->text.data, w->text.len);
	return WN_KEEP;
}

static int apply_fn(void *ctx, wn_item *it, wn_doc *d)
{
	apply_worker *w = ctx;
	apply_ctx *g = w->g;
	dd_config *c = g->c;
	if (is_units(c)) return apply_units_fn(w, it, d);
	if (it->input != w->last_input) {
		w->last_input = it->input;
		w->last = apply_load(g, it->input);
	}
	apply_input *a = w->last;
	if (!a) {
		it->stop = 1;
		return WN_KEEP;
	}
	size_t lo = 0, hi = a->nrm;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (a->rm[m].line < it->lineno) lo = m + 1;
		else hi = m;
	}
	if (lo >= a->nrm || a->rm[lo].line != it->lineno) return WN_KEEP;
	const rm_rec *r = &a->rm[lo];
	const kept_rec *k = &a->kept[r->kept];
	wn_buf_reset(&w->ann);
	wn_buf_addf(&w->ann, "{\"kind\":\"%s\",\"kept\":%s,\"cluster\":{\"file\":", mode_name(c->mode),
		    r->removed ? "false" : "true");
	wn_json_escape(&w->ann, a->str + k->name_off, k->name_len);
	wn_buf_addf(&w->ann, ",\"line\":%llu", (unsigned long long)k->line);
	if (k->id_len) {
		wn_buf_adds(&w->ann, ",\"id\":");
		wn_buf_add(&w->ann, a->str + k->id_off, k->id_len);
	}
	wn_buf_adds(&w->ann, "}}");
	if (c->annotate_only || r->removed) wn_doc_set_raw(d, c->ann_field, w->ann.data, w->ann.len);
	if (!r->removed || c->annotate_only) return WN_KEEP;
	it->reason = g->reason;
	return WN_DROP;
}

static void apply_input_done(void *ctx, wn_run *r, const char *input, int ok,
			     const wn_input_counts *cnt)
{
	apply_ctx *g = ctx;
	if (!ok || is_units(g->c)) return;
	int i = input_index(g->sorted, g->nsorted, input);
	if (i < 0 || !g->in[i].f.map) return;
	if (cnt->docs_in != g->in[i].ndocs) {
		wn_error("%s: has %llu documents, the signatures were made from %llu (was it changed "
			 "after `winnow dedup sig`?)", input, (unsigned long long)cnt->docs_in,
			 (unsigned long long)g->in[i].ndocs);
		g->failed = 1;
		r->exit_code = 1;
	}
}

int dd_stage_apply(dd_config *c, int ninputs, char **inputs)
{
	if (norm_ready()) return 1;
	if (dd_config_load(c)) return 1;
	char **sorted = sorted_inputs(ninputs, inputs);
	if (!sorted) return 2;
	apply_ctx g;
	memset(&g, 0, sizeof g);
	g.c = c;
	g.sorted = sorted;
	g.nsorted = ninputs;
	g.in = wn_calloc((size_t)ninputs, sizeof *g.in);
	pthread_mutex_init(&g.mu, NULL);
	g.reason = c->mode == DD_MODE_MINHASH ? "dedup:minhash" : c->mode == DD_MODE_EXACT
		? "dedup:exact" : c->mode == DD_MODE_LINE ? "dedup:line" : "dedup:paragraph";
	int rc = 0;
	if (is_units(c)) {
		char *p = units_path(c);
		char params[DD_PARAMS_LEN], err[512];
		dd_config_params(c, params, sizeof params);
		const void *q;
		if (dd_file_open(&g.uf, p, DD_KIND_UNITS, params, err, sizeof err) ||
		    dd_file_sect(&g.uf, S_UNITS, &q, &g.nunits, 0, err, sizeof err)) {
			wn_error("%s", err);
			rc = 1;
		}
		g.units = q;
		free(p);
	} else {
		/* every removal list must be there before anything is written */
		for (int i = 0; i < ninputs && !rc; i++) {
			if (c->o->shard_n && i % c->o->shard_n != c->o->shard_i) continue;
			char *p = rm_path(c, (uint64_t)i);
			if (!wn_path_exists(p)) {
				wn_error("%s: missing (run `winnow dedup cluster` first)", p);
				rc = 1;
			}
			free(p);
		}
	}
	static const char *const tally_kinds[] = { "dedup_units" };
	const char *tally_names[] = { c->mode == DD_MODE_PARAGRAPH ? "paragraph" : "line" };
	if (!rc) {
		wn_opts o = *c->o;
		if (c->skip_outputs && !c->force && o.outdir) o.skip_existing = 1;
		wn_run r;
		stage_run(&r, c, &o);
		r.fn = apply_fn;
		r.ctx = &g;
		r.input_done = apply_input_done;
		r.thread_ctx = apply_thread_ctx;
		r.thread_ctx_free = apply_thread_free;
		if (is_units(c)) {
			r.tally_kinds = tally_kinds;
			r.tally_names = tally_names;
			r.ntallies = 1;
			r.tally_dense = 1;
		}
		rc = wn_run_main(&r, ninputs, inputs);
		if (g.failed && !rc) rc = 1;
	}
	for (int i = 0; i < ninputs; i++)
		if (g.in[i].f.map) dd_file_close(&g.in[i].f);
	if (g.uf.map) dd_file_close(&g.uf);
	free(g.in);
	free(sorted);
	return rc;
}
