/*
 * sjson.h - a pure-C interface to simdjson's On-Demand parser, for doc.c.
 *
 * wn_sj_parse() parses one JSON object and validates all of it: every
 * value is visited (strings unescaped, numbers checked against the JSON
 * grammar, literals read), not only the members a tool asks for.  For
 * each top-level member it reports the byte spans of the raw key and the
 * raw value, and for the members whose (unescaped) key is one of `want`,
 * the decoded string.
 *
 * The input must be readable WN_SJ_PADDING bytes past its end (any bytes).
 * No C++ exception crosses this interface.  One wn_sj per thread.
 *
 * Ownership: members and decoded strings live in the wn_sj until the next
 * wn_sj_parse() on it.
 */
#ifndef WN_SJSON_H
#define WN_SJSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WN_SJ_PADDING 64

typedef struct wn_sj wn_sj;

typedef struct wn_sj_member {
	size_t koff, klen;  /* key between its quotes, raw, offsets into the input */
	size_t voff, vlen;  /* raw value, surrounding white space excluded */
	int kesc;           /* the raw key contains a backslash */
	int type;           /* enum wn_jtype of doc.h */
	int want;           /* 1 + index into `want`, or 0 */
	const char *str;    /* decoded value when want && type is string */
	size_t slen;
} wn_sj_member;

wn_sj *wn_sj_new(void);   /* NULL when out of memory */
void wn_sj_free(wn_sj *p); /* accepts NULL */

/* 0 and the members, or -1 (the line is not a valid JSON object) with a
 * short message in *err (static storage). */
int wn_sj_parse(wn_sj *p, const char *buf, size_t len, const char *const *want,
		size_t nwant, const wn_sj_member **members, size_t *nmembers,
		const char **err);

#ifdef __cplusplus
}
#endif
#endif
