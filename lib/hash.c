/* hash.c - xxHash wrappers and the counter map (hash.h). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "err.h"
#include "hash.h"

uint64_t wn_hash64(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

void wn_hash128(const void *p, size_t n, uint64_t seed, uint64_t out[2])
{
	XXH128_hash_t h = XXH3_128bits_withSeed(p, n, seed);
	out[0] = h.low64;
	out[1] = h.high64;
}

void wn_countmap_init(wn_countmap *m) { memset(m, 0, sizeof *m); }

void wn_countmap_clear(wn_countmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		memset(&m->slots[i], 0, sizeof m->slots[i]);
	}
	m->n = 0;
}

void wn_countmap_release(wn_countmap *m)
{
	wn_countmap_clear(m);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

static wn_count_entry *find(wn_count_entry *slots, size_t cap, const char *k, size_t kl)
{
	size_t i = (size_t)wn_hash64(k, kl, 0) & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		wn_count_entry *e = &slots[i];
		if (!e->key || (strlen(e->key) == kl && !memcmp(e->key, k, kl))) return e;
	}
}

wn_count_entry *wn_countmap_get(wn_countmap *m, const char *key, size_t kl)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		wn_count_entry *ns = wn_calloc(nc, sizeof *ns);
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].key) {
				const char *k = m->slots[i].key;
				*find(ns, nc, k, strlen(k)) = m->slots[i];
			}
		free(m->slots);
		m->slots = ns;
		m->cap = nc;
	}
	wn_count_entry *e = find(m->slots, m->cap, key, kl);
	if (!e->key) {
		e->key = wn_malloc(kl + 1);
		memcpy(e->key, key, kl);
		e->key[kl] = 0;
		m->n++;
	}
	return e;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const wn_count_entry *)a)->key, ((const wn_count_entry *)b)->key);
}

wn_count_entry *wn_countmap_sorted(const wn_countmap *m)
{
	wn_count_entry *v = wn_calloc(m->n ? m->n : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key) v[k++] = m->slots[i];
	qsort(v, k, sizeof *v, cmp_entry);
	return v;
}
