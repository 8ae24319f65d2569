/*
 * doc.h - JSONL documents: parse one line, read the fields a tool needs,
 * add or replace fields, and write the line back.
 *
 * wn_doc_parse() validates the whole line as one JSON object (RFC 8259:
 * strict grammar, UTF-8 only, no raw control characters in strings, paired
 * surrogates; a leading UTF-8 BOM is skipped) and records, for every
 * top-level member, the byte span of its key and of its raw value.  Only
 * the fields a tool asked for are decoded: the text, the id and the domain
 * (names in wn_doc_fields).  Nothing else is copied.
 *
 * wn_doc_set_*() add a member or replace the value of an existing one;
 * wn_doc_write() then emits every member in its original order with its
 * original bytes, replaced values in place and new members at the end.  A
 * document with no edits is written back as the exact input line.
 *
 * Parsing is simdjson's On-Demand parser behind the C shim of sjson.h,
 * chosen by measurement over jansson, json-c, cJSON and a scanner written
 * for this job (bench/json/README.md).  That scanner stays as the
 * reference: it explains a rejected line (what, at which byte) and the
 * tests hold simdjson's verdicts against it.
 *
 * Ownership: a wn_doc is reused line after line (wn_doc_init once,
 * wn_doc_release at the end).  Member spans point into the caller's line,
 * which must stay unchanged until the next parse.  Decoded strings live in
 * the doc's own buffers until the next parse.
 */
#ifndef WN_DOC_H
#define WN_DOC_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct wn_sj;

typedef struct wn_doc_fields {
	const char *text;    /* "text" */
	const char *id;      /* "id" */
	const char *domain;  /* "domain" */
} wn_doc_fields;

enum wn_jtype { WN_J_NULL, WN_J_BOOL, WN_J_NUM, WN_J_STR, WN_J_ARR, WN_J_OBJ };

typedef struct wn_member {
	const char *key;   /* raw key bytes between the quotes (may hold escapes) */
	size_t klen;
	const char *span;  /* from the key's opening quote to the value's end */
	size_t slen;
	const char *val;   /* raw value */
	size_t vlen;
	uint8_t type;      /* enum wn_jtype */
	uint8_t kesc;      /* key contains a backslash escape */
	int32_t edit;      /* index into edits replacing this value, or -1 */
} wn_member;

typedef struct wn_edit {
	char *key;         /* decoded key, NUL-terminated */
	wn_buf val;        /* raw JSON value */
	int used;          /* replaced an existing member */
} wn_edit;

typedef struct wn_doc {
	const char *line;  /* the object (after any BOM) */
	size_t len;
	wn_member *m;
	size_t nm, capm;
	wn_edit *e;
	size_t ne, cape;

	int has_text;      /* text field present and a string */
	int text_type;     /* type of the text member, -1 if absent */
	wn_buf text;       /* decoded text, UTF-8, may contain NUL */
	int has_id;        /* id present (string or number) */
	wn_buf id;         /* decoded id (string) or raw number text */
	int has_domain;    /* domain present and a string */
	wn_buf domain;

	size_t err_off;    /* byte offset of a parse error */
	char err[96];      /* what was wrong */
	wn_buf scratch;
	wn_buf pad;        /* padded copy of the line for wn_doc_parse() */
	struct wn_sj *sj;  /* the simdjson parser */
} wn_doc;

/* Bytes that must be readable past the end of a line given to
 * wn_doc_parse_padded() (the shard reader guarantees them). */
#define WN_DOC_PADDING 64

void wn_doc_init(wn_doc *d);
void wn_doc_release(wn_doc *d);

/* Parse `line`.  0 when it is a valid object (check has_text before using
 * the text); WN_EJSON for invalid JSON or a non-object; WN_EUTF8 for
 * invalid UTF-8 or a lone surrogate; d->err and d->err_off say what and
 * where.  `f` NULL means the default names.  wn_doc_parse() copies the
 * line; wn_doc_parse_padded() reads it in place and needs WN_DOC_PADDING
 * readable bytes after it. */
int wn_doc_parse(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f);
int wn_doc_parse_padded(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f);
/* The reference scanner (scalar C): the same result as wn_doc_parse, used
 * to explain a rejected line and by the tests to cross-check simdjson. */
int wn_doc_parse_scan(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f);

/* The member with decoded key `key`, or NULL. */
const wn_member *wn_doc_get(const wn_doc *d, const char *key);
/* Decode a JSON string value (raw, with its quotes) into out (appends).
 * 0, or WN_EJSON when v is not a string. */
int wn_json_decode_string(const char *v, size_t n, wn_buf *out);

/* Add or replace a top-level member.  Keys are plain (they are escaped
 * when written). */
void wn_doc_set_raw(wn_doc *d, const char *key, const char *json, size_t n);
void wn_doc_set_str(wn_doc *d, const char *key, const char *s, size_t n);
void wn_doc_set_int(wn_doc *d, const char *key, long long v);
void wn_doc_set_num(wn_doc *d, const char *key, double v);
/* Append the document as one JSON line (no newline) to out. */
void wn_doc_write(const wn_doc *d, wn_buf *out);

/* Append `s` as a JSON string (with quotes) to out. */
void wn_json_escape(wn_buf *out, const char *s, size_t n);

/* UTF-8 helpers. */
int wn_utf8_valid(const char *s, size_t n, size_t *bad_off);
size_t wn_utf8_count(const char *s, size_t n); /* code points of valid UTF-8 */

#endif
