/* test_hash.c - lib/hash.c: xxHash wrappers and the counter map. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/hash.h"
#include "testutil.h"

Test(hash, hash64_known_values)
{
	/* XXH3-64 reference values (xxHash test vectors) */
	cr_expect_eq(wn_hash64("", 0, 0), 0x2D06800538D394C2ULL);
	cr_expect_eq(wn_hash64(NULL, 0, 0), 0x2D06800538D394C2ULL);
}

Test(hash, hash64_deterministic_and_seeded)
{
	tu_rng r = { 3 };
	char buf[2048];
	for (int it = 0; it < 2000; it++) {
		size_t n = tu_below(&r, sizeof buf);
		for (size_t i = 0; i < n; i++) buf[i] = (char)tu_next(&r);
		uint64_t seed = tu_next(&r);
		uint64_t a = wn_hash64(buf, n, seed);
		uint64_t b = wn_hash64(buf, n, seed);
		cr_assert_eq(a, b, "not deterministic at n=%zu", n);
		/* a copy at another address hashes the same */
		char *copy = malloc(n + 1);
		memcpy(copy + 1 - 1, buf, n);
		cr_assert_eq(wn_hash64(copy, n, seed), a);
		free(copy);
		cr_assert_neq(wn_hash64(buf, n, seed ^ 1), a, "seed ignored at n=%zu", n);
		cr_assert_neq(wn_hash64(buf, n, seed + 12345), a);
		if (n) {
			buf[tu_below(&r, (uint32_t)n)] ^= 1 << tu_below(&r, 8);
			cr_assert_neq(wn_hash64(buf, n, seed), a, "one flipped bit, same hash");
			cr_assert_neq(wn_hash64(buf, n - 1, seed), wn_hash64(buf, n, seed));
		}
	}
}

Test(hash, hash64_spread)
{
	/* 100000 distinct short keys: no collisions, low bits well spread */
	size_t n = 100000;
	uint64_t *h = malloc(n * sizeof *h);
	unsigned buckets[256] = { 0 };
	for (size_t i = 0; i < n; i++) {
		char k[32];
		int kl = snprintf(k, sizeof k, "key-%zu", i);
		h[i] = wn_hash64(k, (size_t)kl, 0);
		buckets[h[i] & 255]++;
	}
	for (int b = 0; b < 256; b++)
		cr_expect(buckets[b] > 300 && buckets[b] < 500, "bucket %d has %u", b, buckets[b]);
	/* sort and look for duplicates */
	for (size_t gap = n / 2; gap; gap /= 2) /* shell sort, good enough */
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && h[j - gap] > h[j]; j -= gap) {
				uint64_t t = h[j];
				h[j] = h[j - gap];
				h[j - gap] = t;
			}
	for (size_t i = 1; i < n; i++) cr_assert_neq(h[i], h[i - 1], "collision");
	free(h);
}

Test(hash, hash128)
{
	uint64_t a[2], b[2], c[2];
	wn_hash128("hello world", 11, 0, a);
	wn_hash128("hello world", 11, 0, b);
	cr_expect_eq(a[0], b[0]);
	cr_expect_eq(a[1], b[1]);
	cr_expect(a[0] != a[1], "halves differ");
	wn_hash128("hello world", 11, 7, c);
	cr_expect(c[0] != a[0] && c[1] != a[1], "seed changes both halves");
	wn_hash128("hello worle", 11, 0, c);
	cr_expect(c[0] != a[0] && c[1] != a[1]);
	/* the 128-bit hash of the empty input (xxHash test vector) */
	wn_hash128("", 0, 0, c);
	cr_expect_eq(c[0], 0x6001C324468D497FULL);
	cr_expect_eq(c[1], 0x99AA06D3014798D8ULL);
}

/* ---------------------------------------------------------------- countmap */

Test(hash, countmap_counts_and_grows)
{
	wn_countmap m;
	wn_countmap_init(&m);
	cr_expect_eq(m.n, 0);
	size_t nkeys = 20000;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < nkeys; i++) {
			char k[32];
			int kl = snprintf(k, sizeof k, "dom%zu.example", i);
			wn_count_entry *e = wn_countmap_get(&m, k, (size_t)kl);
			cr_assert_not_null(e);
			cr_assert_str_eq(e->key, k);
			e->docs += 1;
			e->bytes += i;
			e->docs_out += (uint64_t)round;
			e->bytes_out += 2;
		}
	cr_expect_eq(m.n, nkeys);
	cr_expect_geq(m.cap, 2 * nkeys, "load factor at most 1/2");
	cr_expect_eq(m.cap & (m.cap - 1), 0, "power of two capacity");
	for (size_t i = 0; i < nkeys; i++) {
		char k[32];
		int kl = snprintf(k, sizeof k, "dom%zu.example", i);
		wn_count_entry *e = wn_countmap_get(&m, k, (size_t)kl);
		cr_assert_eq(e->docs, 3, "%s", k);
		cr_assert_eq(e->bytes, 3 * i, "%s", k);
		cr_assert_eq(e->docs_out, 0 + 1 + 2);
		cr_assert_eq(e->bytes_out, 6);
	}
	cr_expect_eq(m.n, nkeys, "looking keys up adds none");
	size_t used = 0;
	for (size_t i = 0; i < m.cap; i++) used += m.slots[i].key != NULL;
	cr_expect_eq(used, nkeys);
	wn_countmap_release(&m);
	cr_expect_eq(m.n, 0);
	cr_expect_null(m.slots);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(hash, countmap_sorted)
{
	wn_countmap m;
	wn_countmap_init(&m);
	tu_rng r = { 11 };
	size_t nk = 3000;
	char **keys = malloc(nk * sizeof *keys);
	for (size_t i = 0; i < nk; i++) {
		char k[40];
		int kl = snprintf(k, sizeof k, "%c%llx-%zu", 'A' + (int)tu_below(&r, 58),
				  (unsigned long long)tu_next(&r), i);
		keys[i] = strdup(k);
		wn_count_entry *e = wn_countmap_get(&m, k, (size_t)kl);
		e->docs = i + 1;
	}
	wn_count_entry *v = wn_countmap_sorted(&m);
	cr_assert_not_null(v);
	qsort(keys, nk, sizeof *keys, cmp_cstr);
	for (size_t i = 0; i < nk; i++) {
		cr_assert_str_eq(v[i].key, keys[i], "position %zu", i);
		if (i) cr_assert_lt(strcmp(v[i - 1].key, v[i].key), 0);
		/* docs tell which insertion it was: the counts travel with the key */
		size_t dash = strlen(v[i].key);
		while (dash && v[i].key[dash - 1] != '-') dash--;
		cr_assert_eq(v[i].docs, strtoull(v[i].key + dash, NULL, 10) + 1);
	}
	free(v);
	for (size_t i = 0; i < nk; i++) free(keys[i]);
	free(keys);
	/* empty map */
	wn_countmap e;
	wn_countmap_init(&e);
	v = wn_countmap_sorted(&e);
	cr_expect_not_null(v);
	free(v);
	wn_countmap_release(&e);
	wn_countmap_release(&m);
}

Test(hash, countmap_keys_are_copied_and_length_bounded)
{
	wn_countmap m;
	wn_countmap_init(&m);
	char buf[32];
	strcpy(buf, "reason:long");
	wn_count_entry *e = wn_countmap_get(&m, buf, 6); /* "reason" */
	cr_assert_str_eq(e->key, "reason");
	e->docs = 5;
	strcpy(buf, "XXXXXXXXXXX");
	wn_count_entry *f = wn_countmap_get(&m, "reason", 6);
	cr_expect_eq(f->docs, 5, "the key was copied");
	cr_expect_str_eq(f->key, "reason");
	/* a prefix and an extension are different keys */
	wn_countmap_get(&m, "reaso", 5)->docs = 1;
	wn_countmap_get(&m, "reasons", 7)->docs = 2;
	cr_expect_eq(m.n, 3);
	cr_expect_eq(wn_countmap_get(&m, "reason", 6)->docs, 5);
	/* an empty key is a key */
	wn_countmap_get(&m, "", 0)->docs = 9;
	cr_expect_eq(m.n, 4);
	cr_expect_eq(wn_countmap_get(&m, "", 0)->docs, 9);
	wn_countmap_release(&m);
}

Test(hash, countmap_clear_and_reuse)
{
	wn_countmap m;
	wn_countmap_init(&m);
	for (int i = 0; i < 100; i++) {
		char k[16];
		int kl = snprintf(k, sizeof k, "k%d", i);
		wn_countmap_get(&m, k, (size_t)kl)->docs = 7;
	}
	size_t cap = m.cap;
	wn_countmap_clear(&m);
	cr_expect_eq(m.n, 0);
	cr_expect_eq(m.cap, cap, "clear keeps memory");
	for (size_t i = 0; i < m.cap; i++) cr_assert_null(m.slots[i].key);
	wn_count_entry *e = wn_countmap_get(&m, "k5", 2);
	cr_expect_eq(e->docs, 0, "counts start at zero after clear");
	cr_expect_eq(e->bytes + e->docs_out + e->bytes_out, 0);
	cr_expect_eq(m.n, 1);
	wn_count_entry *v = wn_countmap_sorted(&m);
	cr_expect_str_eq(v[0].key, "k5");
	free(v);
	wn_countmap_release(&m);
	/* release twice is harmless */
	wn_countmap_release(&m);
}
