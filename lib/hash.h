/*
 * hash.h - xxHash helpers and a small string-keyed counter map.
 *
 * wn_hash64() is XXH3-64 with a seed; wn_hash128() is XXH3-128 (dedup's
 * exact hash).  wn_countmap counts docs and bytes per string key (drop
 * reasons, domains, languages) with open addressing; keys are copied.
 */
#ifndef WN_HASH_H
#define WN_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SplitMix64: the next value of a 64-bit seeded stream (Steele, Lea and
 * Flood); seeds the other generators and initialisations. */
static inline uint64_t wn_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint64_t wn_hash64(const void *p, size_t n, uint64_t seed);
void wn_hash128(const void *p, size_t n, uint64_t seed, uint64_t out[2]);

typedef struct wn_count_entry {
	char *key;
	uint64_t docs, bytes, docs_out, bytes_out;
} wn_count_entry;

typedef struct wn_countmap {
	wn_count_entry *slots;  /* capacity entries, key NULL = empty */
	size_t cap, n;
} wn_countmap;

void wn_countmap_init(wn_countmap *m);
void wn_countmap_clear(wn_countmap *m);   /* drop all keys, keep memory */
void wn_countmap_release(wn_countmap *m);
/* The entry for key (created with zero counts). */
wn_count_entry *wn_countmap_get(wn_countmap *m, const char *key, size_t klen);
/* Entries in key order into a new array the caller frees. */
wn_count_entry *wn_countmap_sorted(const wn_countmap *m);

#endif
