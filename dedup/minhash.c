/*
 * minhash.c - MinHash signatures, band keys and the LSH parameters.
 *
 * Permutation k of a shingle hash h is the high half of a_k * h + b_k
 * modulo 2^64 with a_k odd (multiply-shift hashing: the high bits of the
 * product depend on every bit of h).  The signature is computed one
 * permutation at a time over all shingles, a minimum reduction the
 * compiler vectorises (with the full vectoriser: see sig_kernel); the
 * function is built for AVX-512, AVX2 and plain x86-64 and the loader
 * picks the best the CPU has.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../lib/hash.h"
#include "dedup.h"
#include "../lib/err.h"

struct dd_minhash {
	int bands, rows, nperm;
	uint64_t seed;
	uint64_t *a, *b;
};

dd_minhash *dd_minhash_new(int bands, int rows, uint64_t seed)
{
	if (bands < 1 || rows < 1 || (long)bands * rows > DD_MAX_PERM) return NULL;
	dd_minhash *m = wn_calloc(1, sizeof *m);
	m->bands = bands;
	m->rows = rows;
	m->nperm = bands * rows;
	m->seed = seed;
	m->a = wn_malloc(sizeof *m->a * (size_t)m->nperm);
	m->b = wn_malloc(sizeof *m->b * (size_t)m->nperm);
	uint64_t x = seed ^ 0x6d696e68617368ULL;
	for (int k = 0; k < m->nperm; k++) {
		m->a[k] = wn_splitmix64(&x) | 1;
		m->b[k] = wn_splitmix64(&x);
	}
	return m;
}

void dd_minhash_free(dd_minhash *m)
{
	if (!m) return;
	free(m->a);
	free(m->b);
	free(m);
}

/* GCC 12 vectorises only the cheapest loops at -O2: this one needs the
 * full vectoriser (measured: 10 times the -O2 code on AVX-512). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#endif
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void sig_kernel(const uint64_t *restrict A, const uint64_t *restrict B, int nperm,
		       const uint64_t *restrict sh, size_t n, uint32_t *restrict sig)
{
	for (int k = 0; k < nperm; k++) {
		uint64_t a = A[k], b = B[k], m = UINT32_MAX;
		for (size_t i = 0; i < n; i++) {
			uint64_t v = (sh[i] * a + b) >> 32;
			m = v < m ? v : m;
		}
		sig[k] = (uint32_t)m;
	}
}

void dd_minhash_sig(const dd_minhash *m, const uint64_t *sh, size_t n, uint32_t *sig)
{
	sig_kernel(m->a, m->b, m->nperm, sh, n, sig);
}

void dd_band_key(const dd_minhash *m, const uint32_t *sig, int b, uint64_t key[2])
{
	XXH128_hash_t h = XXH3_128bits_withSeed(sig + (size_t)b * (size_t)m->rows,
						sizeof *sig * (size_t)m->rows, m->seed + (uint64_t)b);
	key[0] = h.high64;
	key[1] = h.low64;
}

void dd_minhash_sig_naive(int nperm, uint64_t seed, const uint64_t *sh, size_t n, uint32_t *sig)
{
	for (int k = 0; k < nperm; k++) sig[k] = UINT32_MAX;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < nperm; k++) {
			uint32_t v = (uint32_t)(XXH3_64bits_withSeed(&sh[i], 8, seed + (uint64_t)k) >> 32);
			if (v < sig[k]) sig[k] = v;
		}
}

double dd_lsh_prob(double s, int bands, int rows)
{
	return 1.0 - pow(1.0 - pow(s, rows), bands);
}

/* Simpson's rule over [lo, hi] of P (fn = 0) or 1 - P (fn = 1). */
static double area(double lo, double hi, int bands, int rows, int fn)
{
	const int steps = 200;
	double h = (hi - lo) / steps, sum = 0;
	for (int i = 0; i <= steps; i++) {
		double p = dd_lsh_prob(lo + i * h, bands, rows);
		if (fn) p = 1.0 - p;
		sum += p * (i == 0 || i == steps ? 1 : i % 2 ? 4 : 2);
	}
	return sum * h / 3;
}

void dd_lsh_choose(double t, int max_perm, double fp_weight, double fn_weight,
		   int *bands, int *rows)
{
	double best = INFINITY;
	*bands = 1;
	*rows = 1;
	for (int b = 1; b <= max_perm; b++)
		for (int r = 1; b * r <= max_perm; r++) {
			double e = fp_weight * area(0, t, b, r, 0) + fn_weight * area(t, 1, b, r, 1);
			if (e < best - 1e-12) {
				best = e;
				*bands = b;
				*rows = r;
			}
		}
}
