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
