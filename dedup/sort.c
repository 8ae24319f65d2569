/*
 * sort.c - sorting band and unit records.
 *
 * Band keys are uniform hashes, so one MSD pass on the top 16 bits of k0
 * spreads the records into 65,536 buckets of near-equal size, each then
 * sorted by comparison (small, in cache).  Equal keys end up ordered by
 * document number, which the pairs stage relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "../lib/err.h"

static int cmp_rec(const void *a, const void *b) { return dd_rec_cmp(a, b); }

static void insertion(dd_rec *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		dd_rec x = r[i];
		size_t j = i;
		while (j > 0 && dd_rec_cmp(&r[j - 1], &x) > 0) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
}

void dd_rec_sort(dd_rec *r, size_t n)
{
	if (n < 4096) {
		qsort(r, n, sizeof *r, cmp_rec);
		return;
	}
	enum { BITS = 16, NB = 1 << BITS };
	size_t *cnt = wn_calloc(NB + 1, sizeof *cnt);
	for (size_t i = 0; i < n; i++) cnt[(r[i].k0 >> (64 - BITS)) + 1]++;
	for (size_t b = 0; b < NB; b++) cnt[b + 1] += cnt[b];
	dd_rec *tmp = wn_malloc(sizeof *tmp * n);
	size_t *pos = wn_malloc(sizeof *pos * NB);
	memcpy(pos, cnt, sizeof *pos * NB);
	for (size_t i = 0; i < n; i++) tmp[pos[r[i].k0 >> (64 - BITS)]++] = r[i];
	for (size_t b = 0; b < NB; b++) {
		size_t lo = cnt[b], m = cnt[b + 1] - lo;
		if (m < 24) insertion(tmp + lo, m);
		else qsort(tmp + lo, m, sizeof *tmp, cmp_rec);
	}
	memcpy(r, tmp, sizeof *r * n);
	free(tmp);
	free(pos);
	free(cnt);
}

static int cmp_unit(const void *a, const void *b)
{
	uint64_t x = ((const dd_unit *)a)->hash, y = ((const dd_unit *)b)->hash;
	return x < y ? -1 : x > y;
}

void dd_unit_sort(dd_unit *u, size_t n)
{
	qsort(u, n, sizeof *u, cmp_unit);
}

size_t dd_unit_compact(dd_unit *u, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && u[k - 1].hash == u[i].hash) u[k - 1].count += u[i].count;
		else u[k++] = u[i];
	}
	return k;
}
