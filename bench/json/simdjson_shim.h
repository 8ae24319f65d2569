/*
 * simdjson_shim.h - a pure C interface to the few simdjson calls that
 * json_bench.c needs.  Implemented in simdjson_shim.cpp (C++17, links
 * -lsimdjson).  No exception crosses this boundary: the C++ side uses the
 * error-code API and also catches everything (e.g. std::bad_alloc).
 */
#ifndef SIMDJSON_SHIM_H
#define SIMDJSON_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A decoded string: points into the parser's own string buffer, valid
 * until the next call on the same parser. */
typedef struct sj_str {
	const char *p;
	size_t n;
	int ok;       /* member present and a string */
} sj_str;

typedef struct sj_fields {
	sj_str text, id, domain;
} sj_fields;

typedef struct sj_parser sj_parser;

sj_parser *sj_new(void);
void sj_free(sj_parser *p);

/* The padding simdjson wants readable after the input (SIMDJSON_PADDING). */
size_t sj_padding(void);

/* Which simdjson kernels run: stage 1 is picked at run time ("icelake",
 * "haswell", "westmere", "fallback"); the inline On-Demand code (string
 * unescaping etc.) is the one the shim was compiled for (-march). */
const char *sj_implementation(void);

/* Force the run-time kernel (call before sj_new).  0, or -1 when `name` is
 * unknown or this CPU cannot run it. */
int sj_force(const char *name);

/*
 * On-Demand: parse `len` bytes at `buf` as one JSON object and decode the
 * strings "text", "id" and "domain" (keys compared after unescaping; a
 * repeated key: the last one wins).  `cap` is how many bytes starting at
 * buf are readable: it must be >= len + sj_padding() (the bytes past len
 * may hold anything).  Returns 0, or -1 with *err set to simdjson's error
 * message.
 */
int sj_ondemand(sj_parser *p, const char *buf, size_t len, size_t cap,
		sj_fields *f, const char **err);

/* The same through the DOM API (parses and validates the whole document;
 * for a repeated key the first one wins, as at_key() does). */
int sj_dom(sj_parser *p, const char *buf, size_t len, size_t cap,
	   sj_fields *f, const char **err);

/* One top-level member, as byte offsets from buf: the key between its
 * quotes (raw, escapes kept) and the raw value (no surrounding spaces). */
typedef struct sj_span {
	size_t koff, klen, voff, vlen;
} sj_span;

/*
 * sj_ondemand() plus what winnow also records: the raw span of every
 * top-level member, so the line could be re-emitted byte for byte (values
 * of other members are skipped by On-Demand, not validated).  With
 * `validate`, the line is first parsed with the DOM API (whole line
 * validated) and then iterated On-Demand for the spans.  *spans (owned by
 * the parser, valid until the next call) gets *nspans entries.
 */
int sj_ondemand_spans(sj_parser *p, const char *buf, size_t len, size_t cap, int validate,
		      sj_fields *f, const sj_span **spans, size_t *nspans, const char **err);

#ifdef __cplusplus
}
#endif
#endif
