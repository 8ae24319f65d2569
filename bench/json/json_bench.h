/*
 * json_bench.h - what json_bench.c and the per-library adapters share.
 * Each library gets its own translation unit (p_*.c) because the jansson
 * and json-c headers cannot be included together (both declare
 * json_object, json_type, json_object_get...).
 */
#ifndef JSON_BENCH_H
#define JSON_BENCH_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PAD 64 /* bytes readable after every line; >= SIMDJSON_PADDING */

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* a reusable output buffer */
typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

static inline void sb_set(sbuf *b, const char *s, size_t n)
{
	if (n + 1 > b->cap) {
		b->cap = (n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p, s, n);
	b->p[n] = 0;
	b->n = n;
}

/* what every parser hands back: decoded copies of the three strings */
typedef struct res {
	sbuf text, id, domain;
	int has_text, has_id, has_domain;
	const char *err;
} res;

typedef struct parser {
	const char *name;
	const char *note;
	void *(*init)(void);
	void (*fini)(void *);
	/* Parse one line; cap = bytes readable from `line` (>= len + PAD).
	 * 0 and r filled, or -1 with r->err set. */
	int (*parse)(void *st, const char *line, size_t len, size_t cap, res *r);
} parser;

static inline int only_ws(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return 0;
	return 1;
}

/* adapters (each defined only when its library is built in) */
extern const parser p_jansson[];
extern const size_t p_jansson_n;
extern const parser p_jsonc[];
extern const size_t p_jsonc_n;
extern const parser p_cjson[];
extern const size_t p_cjson_n;

#endif
