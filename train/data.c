/*
 * data.c - domains of .wtok windows sampled into batches (see data.h).
 */
#include "../lib/hash.h"
#include "data.h"
#include "../tokenize/pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct domain {
	char *name;
	double weight;
	wn_pack_reader *r, *er;  /* training file; eval file or NULL */
	uint64_t ntrain, neval;  /* windows */
	uint64_t eval_base;      /* first held-out window (in r or er) */
	uint64_t *perm;          /* [ntrain] this epoch's order */
	uint64_t epoch, cursor;
} domain;

struct wn_data {
	domain *d;
	int n, T, doc_mask;
	uint64_t seed;
	uint64_t rng[4];         /* xoshiro256** */
	uint32_t eos, max_id, vocab;
	char tokenizer[WN_PACK_TOKENIZER_MAX + 1];
};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* uniform below n (Lemire's multiply, with rejection for exactness) */
static uint64_t below(uint64_t *s, uint64_t n)
{
	for (;;) {
		unsigned __int128 m = (unsigned __int128)xoshiro(s) * n;
		uint64_t lo = (uint64_t)m;
		if (lo >= n || lo >= (-n) % n) return (uint64_t)(m >> 64);
	}
}

static void shuffle(domain *dm, uint64_t seed, int idx)
{
	uint64_t s0 = seed ^ ((uint64_t)idx << 32) ^ (dm->epoch * 0xD1B54A32D192ED03ULL), s[4];
	for (int i = 0; i < 4; i++) s[i] = wn_splitmix64(&s0);
	for (uint64_t i = 0; i < dm->ntrain; i++) dm->perm[i] = i;
	for (uint64_t i = dm->ntrain; i > 1; i--) {
		uint64_t j = below(s, i), t = dm->perm[i - 1];
		dm->perm[i - 1] = dm->perm[j];
		dm->perm[j] = t;
	}
}

void wn_data_close(wn_data *d)
{
	if (!d) return;
	for (int i = 0; i < d->n; i++) {
		free(d->d[i].name);
		free(d->d[i].perm);
		wn_pack_reader_close(d->d[i].r);
		wn_pack_reader_close(d->d[i].er);
	}
	free(d->d);
	free(d);
}

static wn_pack_reader *open_one(const char *path, uint32_t vocab, int *T, char *err, size_t errlen)
{
	wn_pack_expect x = { .vocab_size = vocab, .format = WN_PACK_WINNOW };
	char e[1024];
	wn_pack_reader *r = wn_pack_reader_open(path, &x, e, sizeof e);
	if (!r) {
		if (strstr(e, "format") || strstr(e, "not a"))
			snprintf(err, errlen, "%s (the trainer reads winnow windows: winnow tok encode --format winnow)", e);
		else
			snprintf(err, errlen, "%s", e);
		return NULL;
	}
	const wn_pack_info *in = wn_pack_reader_info(r);
	if (*T && in->seq_len != *T) {
		snprintf(err, errlen, "%s: windows of %d tokens, expected %d (all data must share one seq_len)", in->path,
			 in->seq_len, *T);
		wn_pack_reader_close(r);
		return NULL;
	}
	*T = in->seq_len;
	return r;
}

wn_data *wn_data_open(const wn_data_spec *specs, int n, uint32_t vocab_size, int seq_len, uint64_t seed,
		      uint64_t eval_windows, int doc_mask, char *err, size_t errlen)
{
	wn_data *d = calloc(1, sizeof *d);
	if (!d || n < 1 || !(d->d = calloc((size_t)n, sizeof *d->d))) {
		snprintf(err, errlen, n < 1 ? "no data (--data NAME=PATH)" : "out of memory");
		free(d);
		return NULL;
	}
	d->n = n;
	d->T = seq_len;
	d->doc_mask = doc_mask;
	d->seed = seed;
	uint64_t s = seed;
	for (int i = 0; i < 4; i++) d->rng[i] = wn_splitmix64(&s);
	double wsum = 0;
	for (int i = 0; i < n; i++) {
		domain *dm = &d->d[i];
		for (int j = 0; j < i; j++)
			if (!strcmp(specs[j].name, specs[i].name)) {
				snprintf(err, errlen, "domain '%s' given twice", specs[i].name);
				goto fail;
			}
		dm->name = strdup(specs[i].name);
		dm->weight = specs[i].weight;
		if (!(dm->r = open_one(specs[i].path, vocab_size, &d->T, err, errlen))) goto fail;
		const wn_pack_info *in = wn_pack_reader_info(dm->r);
		if (i == 0) {
			d->eos = in->eos_id;
			snprintf(d->tokenizer, sizeof d->tokenizer, "%s", in->tokenizer);
		}
		if (in->max_id > d->max_id && in->windows) d->max_id = in->max_id;
		if (in->vocab_size > d->vocab) d->vocab = in->vocab_size;
		uint64_t W = in->windows;
		if (specs[i].eval_path) {
			if (!(dm->er = open_one(specs[i].eval_path, vocab_size, &d->T, err, errlen))) goto fail;
			const wn_pack_info *ei = wn_pack_reader_info(dm->er);
			if (ei->max_id > d->max_id && ei->windows) d->max_id = ei->max_id;
			dm->neval = ei->windows < eval_windows ? ei->windows : eval_windows;
			dm->ntrain = W;
			dm->eval_base = 0;
		} else {
			dm->neval = W / 10 < eval_windows ? W / 10 : eval_windows;
			dm->ntrain = W - dm->neval;
			dm->eval_base = dm->ntrain;
		}
		if (dm->ntrain == 0) {
			snprintf(err, errlen, "%s: no windows to train on", in->path);
			goto fail;
		}
		if (!(dm->perm = malloc(dm->ntrain * sizeof *dm->perm))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		shuffle(dm, seed, i);
		if (isnan(specs[i].weight)) dm->weight = (double)dm->ntrain; /* the natural mixture */
		else if (!(specs[i].weight >= 0) || !isfinite(specs[i].weight)) {
			snprintf(err, errlen, "domain '%s': weight must be a number >= 0", dm->name);
			goto fail;
		}
		wsum += dm->weight;
	}
	if (!(wsum > 0)) {
		snprintf(err, errlen, "the domain weights are all 0");
		goto fail;
	}
	for (int i = 0; i < n; i++) d->d[i].weight /= wsum;
	return d;
fail:
	wn_data_close(d);
	return NULL;
}

int wn_data_seq_len(const wn_data *d) { return d->T; }
int wn_data_domains(const wn_data *d) { return d->n; }
const char *wn_data_name(const wn_data *d, int i) { return d->d[i].name; }
double wn_data_weight(const wn_data *d, int i) { return d->d[i].weight; }
uint64_t wn_data_train_windows(const wn_data *d, int i) { return d->d[i].ntrain; }
uint64_t wn_data_eval_windows(const wn_data *d, int i) { return d->d[i].neval; }
uint32_t wn_data_eos(const wn_data *d) { return d->eos; }
const char *wn_data_tokenizer(const wn_data *d) { return d->tokenizer; }
uint32_t wn_data_max_id(const wn_data *d) { return d->max_id; }
uint32_t wn_data_vocab(const wn_data *d) { return d->vocab; }

int wn_data_set_weights(wn_data *d, const double *w)
{
	double s = 0;
	for (int i = 0; i < d->n; i++) {
		if (!(w[i] >= 0) || !isfinite(w[i])) return -1;
		s += w[i];
	}
	if (!(s > 0)) return -1;
	for (int i = 0; i < d->n; i++) d->d[i].weight = w[i] / s;
	return 0;
}

/* one window as a row of the model's arrays */
static void make_row(const wn_data *d, const wn_pack_item *it, int32_t *in, int32_t *tg, int32_t *pos, int32_t *ss)
{
	size_t T = (size_t)d->T, n = it->n;
	for (size_t t = 0; t < T; t++) {
		in[t] = (int32_t)it->ids[t];
		tg[t] = t + 1 < n ? (int32_t)it->ids[t + 1] : -1;
		pos[t] = (int32_t)t;
		ss[t] = 0;
	}
	if (!d->doc_mask) return;
	for (size_t s = 0; s < it->nsegs; s++) {
		size_t a = it->segs[s].start, b = s + 1 < it->nsegs ? it->segs[s + 1].start : T;
		if (b > T) b = T;
		for (size_t t = a; t < b; t++) {
			pos[t] = (int32_t)(t - a);
			ss[t] = (int32_t)a;
		}
	}
}

void wn_data_next(wn_data *d, size_t B, int32_t *inputs, int32_t *targets, int32_t *pos, int32_t *seg_start,
		  int *dom)
{
	size_t T = (size_t)d->T;
	for (size_t b = 0; b < B; b++) {
		/* the domain, by weight: a double in [0,1) against the running sum */
		double u = (double)(xoshiro(d->rng) >> 11) * (1.0 / 9007199254740992.0), acc = 0;
		int i = d->n - 1;
		for (int k = 0; k < d->n; k++) {
			acc += d->d[k].weight;
			if (u < acc && d->d[k].weight > 0) {
				i = k;
				break;
			}
		}
		while (d->d[i].weight <= 0 && i > 0) i--; /* rounding at the top end */
		domain *dm = &d->d[i];
		if (dm->cursor == dm->ntrain) {
			dm->epoch++;
			dm->cursor = 0;
			shuffle(dm, d->seed, i);
		}
		wn_pack_item it;
		wn_pack_reader_get(dm->r, dm->perm[dm->cursor++], &it);
		make_row(d, &it, inputs + b * T, targets + b * T, pos + b * T, seg_start + b * T);
		dom[b] = i;
	}
}

void wn_data_eval_row(wn_data *d, int i, uint64_t j, int32_t *inputs, int32_t *targets, int32_t *pos,
		      int32_t *seg_start)
{
	domain *dm = &d->d[i];
	wn_pack_item it;
	if (j >= dm->neval || wn_pack_reader_get(dm->er ? dm->er : dm->r, dm->eval_base + j, &it)) {
		for (int t = 0; t < d->T; t++) { /* out of range: a row with nothing to score */
			inputs[t] = 0;
			targets[t] = -1;
			pos[t] = t;
			seg_start[t] = 0;
		}
		return;
	}
	make_row(d, &it, inputs, targets, pos, seg_start);
}

/* state: "WNDS", n, rng[4], then per domain epoch, cursor, ntrain, weight */
size_t wn_data_state_size(const wn_data *d) { return 8 + 32 + (size_t)d->n * 32; }

void wn_data_state_save(const wn_data *d, void *buf)
{
	unsigned char *p = buf;
	uint32_t n = (uint32_t)d->n;
	memcpy(p, "WNDS", 4);
	memcpy(p + 4, &n, 4);
	memcpy(p + 8, d->rng, 32);
	p += 40;
	for (int i = 0; i < d->n; i++, p += 32) {
		const domain *dm = &d->d[i];
		memcpy(p, &dm->epoch, 8);
		memcpy(p + 8, &dm->cursor, 8);
		memcpy(p + 16, &dm->ntrain, 8);
		memcpy(p + 24, &dm->weight, 8);
	}
}

int wn_data_state_load(wn_data *d, const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	uint32_t n;
	if (len < 8 || memcmp(p, "WNDS", 4) || (memcpy(&n, p + 4, 4), n != (uint32_t)d->n) ||
	    len != wn_data_state_size(d)) {
		snprintf(err, errlen, "the checkpoint's data state is for %s domains, this run has %d",
			 len >= 8 ? "other" : "no", d->n);
		return -1;
	}
	/* check every domain before changing anything: a refused state
	 * leaves the data as they were */
	for (int i = 0; i < d->n; i++) {
		const unsigned char *q = p + 40 + 32 * (size_t)i;
		const domain *dm = &d->d[i];
		uint64_t cursor, nt;
		memcpy(&cursor, q + 8, 8);
		memcpy(&nt, q + 16, 8);
		if (nt != dm->ntrain || cursor > dm->ntrain) {
			snprintf(err, errlen, "domain '%s' has %llu training windows, the checkpoint was made with %llu",
				 dm->name, (unsigned long long)dm->ntrain, (unsigned long long)nt);
			return -1;
		}
	}
	memcpy(d->rng, p + 8, 32);
	p += 40;
	for (int i = 0; i < d->n; i++, p += 32) {
		domain *dm = &d->d[i];
		memcpy(&dm->epoch, p, 8);
		memcpy(&dm->cursor, p + 8, 8);
		memcpy(&dm->weight, p + 24, 8);
		shuffle(dm, d->seed, i);
	}
	return 0;
}
