/*
 * uf.c - union-find over dense document numbers.
 *
 * Path halving in find; union links the worse root under the better one,
 * so a set's root is always its best member (dedup.h) and the kept
 * document of a cluster is read off its root.  Linking by quality instead
 * of rank keeps the bound of path compression alone (O(log n) amortised),
 * which measures as well as rank here because the pairs arrive in
 * document order within each band.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dedup.h"
#include "../lib/err.h"

/* Arrays of hundreds of megabytes: on 2 MiB boundaries and advised to use
 * huge pages, which makes their first touch (filling parent[]) several
 * times faster than 4 KiB page faults, and the random finds miss the TLB
 * less. */
static void *big_alloc(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	if (bytes < huge) return malloc(bytes);
	size_t len = (bytes + huge - 1) / huge * huge;
	void *p = aligned_alloc(huge, len);
	if (p) madvise(p, len, MADV_HUGEPAGE);
	return p;
}

int dd_uf_init(dd_uf *u, uint64_t n, int with_values)
{
	u->n = n;
	u->parent = big_alloc(sizeof *u->parent * (n ? n : 1));
	u->value = with_values ? big_alloc(sizeof *u->value * (n ? n : 1)) : NULL;
	if (!u->parent || (with_values && !u->value)) {
		free(u->parent);
		free(u->value);
		u->parent = NULL;
		u->value = NULL;
		return WN_ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) u->parent[i] = i;
	if (u->value) memset(u->value, 0, sizeof *u->value * (n ? n : 1));
	return 0;
}

void dd_uf_release(dd_uf *u)
{
	free(u->parent);
	free(u->value);
	u->parent = NULL;
	u->value = NULL;
	u->n = 0;
}

uint64_t dd_uf_find(dd_uf *u, uint64_t x)
{
	uint64_t *p = u->parent;
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

/* Is a a better root than b? */
static inline int better(const dd_uf *u, uint64_t a, uint64_t b)
{
	if (u->value && u->value[a] != u->value[b]) return u->value[a] > u->value[b];
	return a < b;
}

int dd_uf_union(dd_uf *u, uint64_t a, uint64_t b)
{
	a = dd_uf_find(u, a);
	b = dd_uf_find(u, b);
	if (a == b) return 0;
	if (better(u, a, b)) u->parent[b] = a;
	else u->parent[a] = b;
	return 1;
}
