/*
 * doc.c - JSONL documents (doc.h).
 *
 * wn_doc_parse_padded() hands the line to simdjson (sjson.cpp), which
 * validates all of it and returns the member spans and the wanted
 * strings; this file turns them into a wn_doc and does the writing side
 * (edits, escaping, re-serialisation).
 *
 * wn_doc_parse_scan() is the reference scanner, the parser first written
 * for this job: it explains a line simdjson rejected (what, at which byte)
 * and the tests hold the two against each other.  One pass over the line.  Strings are the bulk of a text-heavy shard, so
 * the string scanner looks at 16 bytes at a time (SSE2) for the only bytes
 * that need attention: '"', '\\', control characters and bytes >= 0x80.
 * Runs of plain ASCII are skipped (validation) or copied with memcpy
 * (decoding); UTF-8 sequences are checked byte by byte against the table
 * of well-formed sequences (Unicode 15, table 3-7).  Everything else is a
 * small recursive-descent validator with a nesting limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "doc.h"
#include "err.h"
#include "sjson.h"

_Static_assert(WN_DOC_PADDING == WN_SJ_PADDING, "padding of doc.h and sjson.h");

#define MAX_DEPTH 1024 /* as simdjson's default */

static const wn_doc_fields default_fields = { "text", "id", "domain" };

void wn_doc_init(wn_doc *d)
{
	memset(d, 0, sizeof *d);
	wn_buf_init(&d->text, 0);
	wn_buf_init(&d->id, 0);
	wn_buf_init(&d->domain, 0);
	wn_buf_init(&d->scratch, 0);
	wn_buf_init(&d->pad, 0);
}

void wn_doc_release(wn_doc *d)
{
	for (size_t i = 0; i < d->cape; i++) {
		free(d->e[i].key);
		wn_buf_release(&d->e[i].val);
	}
	free(d->e);
	free(d->m);
	wn_buf_release(&d->text);
	wn_buf_release(&d->id);
	wn_buf_release(&d->domain);
	wn_buf_release(&d->scratch);
	wn_buf_release(&d->pad);
	wn_sj_free(d->sj);
	memset(d, 0, sizeof *d);
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static inline size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t avail = (size_t)(end - p);
	if (c < 0xC2) return 0;
	if (c < 0xE0) {
		if (avail < 2 || (p[1] & 0xC0) != 0x80) return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (avail < 3) return 0;
		unsigned lo = 0x80, hi = 0xBF;
		if (c == 0xE0) lo = 0xA0;
		else if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
		if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (avail < 4) return 0;
		unsigned lo = 0x80, hi = 0xBF;
		if (c == 0xF0) lo = 0x90;
		else if (c == 0xF4) hi = 0x8F;
		if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

int wn_utf8_valid(const char *s, size_t n, size_t *bad_off)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
#if defined(__SSE2__)
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			if (_mm_movemask_epi8(v)) break;
			p += 16;
		}
#endif
		if (p >= end) break;
		if (*p < 0x80) { p++; continue; }
		size_t k = utf8_seq(p, end);
		if (!k) {
			if (bad_off) *bad_off = (size_t)(p - (const unsigned char *)s);
			return 0;
		}
		p += k;
	}
	return 1;
}

size_t wn_utf8_count(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t cont = 0;
#if defined(__SSE2__)
	const __m128i m = _mm_set1_epi8((char)0xC0), v80 = _mm_set1_epi8((char)0x80);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* continuation bytes are 10xxxxxx */
		__m128i c = _mm_cmpeq_epi8(_mm_and_si128(v, m), v80);
		cont += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(c));
		p += 16;
	}
#endif
	for (; p < end; p++) cont += (*p & 0xC0) == 0x80;
	return n - cont;
}

static inline void put_utf8(wn_buf *b, unsigned cp)
{
	char t[4];
	size_t n;
	if (cp < 0x80) { t[0] = (char)cp; n = 1; }
	else if (cp < 0x800) { t[0] = (char)(0xC0 | cp >> 6); t[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
	else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | cp >> 12); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
	} else {
		t[0] = (char)(0xF0 | cp >> 18); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
	}
	wn_buf_add(b, t, n);
}

/* ---- scanner ---- */

typedef struct scan {
	const unsigned char *p, *start, *end;
	wn_doc *d;
	int code;
} scan;

static int fail(scan *s, int code, const char *what)
{
	if (!s->code) {
		s->code = code;
		s->d->err_off = (size_t)(s->p - s->start);
		snprintf(s->d->err, sizeof s->d->err, "%s", what);
	}
	return code;
}

static inline void skip_ws(scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static inline int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], x;
		if (c >= '0' && c <= '9') x = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') x = (c | 0x20) - 'a' + 10;
		else return 0;
		v = v << 4 | x;
	}
	*out = v;
	return 1;
}

/* Scan a string starting at the opening quote; leave p after the closing
 * quote.  With out != NULL, append the decoded bytes.  *esc is set when a
 * backslash was seen. */
static int scan_string(scan *s, wn_buf *out, int *esc)
{
	const unsigned char *p = s->p + 1, *end = s->end;
	const unsigned char *run = p; /* start of bytes not yet copied */
	for (;;) {
#if defined(__SSE2__)
		const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
		const __m128i sp = _mm_set1_epi8(0x1F);
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			__m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs));
			/* bytes <= 0x1F: (v max 0x1F) == 0x1F, unsigned compare */
			hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, sp), sp));
			unsigned mask = (unsigned)_mm_movemask_epi8(hit) | (unsigned)_mm_movemask_epi8(v);
			if (mask) { p += __builtin_ctz(mask); goto special; }
			p += 16;
		}
#endif
		if (p >= end) goto unterminated;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
		if (p >= end) goto unterminated;
#if defined(__SSE2__)
special:
#endif
		{
			unsigned c = *p;
			if (c == '"') {
				if (out && p > run) wn_buf_add(out, run, (size_t)(p - run));
				s->p = p + 1;
				return 0;
			}
			if (c >= 0x80) {
				size_t k = utf8_seq(p, end);
				if (!k) { s->p = p; return fail(s, WN_EUTF8, "invalid utf-8 in string"); }
				p += k;
				continue;
			}
			if (c < 0x20) { s->p = p; return fail(s, WN_EJSON, "control character in string"); }
			/* backslash */
			*esc = 1;
			if (out && p > run) wn_buf_add(out, run, (size_t)(p - run));
			if (end - p < 2) goto unterminated;
			unsigned e = p[1];
			char ch = 0;
			switch (e) {
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case '/': ch = '/'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				unsigned cp;
				if (end - p < 6 || !hex4(p + 2, &cp)) {
					s->p = p;
					return fail(s, WN_EJSON, "bad \\u escape");
				}
				p += 6;
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					unsigned lo;
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) ||
					    lo < 0xDC00 || lo > 0xDFFF) {
						s->p = p - 6;
						return fail(s, WN_EUTF8, "lone surrogate");
					}
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
					s->p = p - 6;
					return fail(s, WN_EUTF8, "lone surrogate");
				}
				if (out) put_utf8(out, cp);
				run = p;
				continue;
			}
			default:
				s->p = p;
				return fail(s, WN_EJSON, "bad escape");
			}
			if (out) wn_buf_addc(out, ch);
			p += 2;
			run = p;
		}
	}
unterminated:
	s->p = end;
	return fail(s, WN_EJSON, "unterminated string");
}

static int scan_number(scan *s)
{
	const unsigned char *p = s->p, *end = s->end;
	if (p < end && *p == '-') p++;
	if (p >= end) goto bad;
	if (*p == '0') p++;
	else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
	else goto bad;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9') goto bad;
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		if (p >= end || *p < '0' || *p > '9') goto bad;
		while (p < end && *p >= '0' && *p <= '9') p++;
	}
	s->p = p;
	return 0;
bad:
	s->p = p;
	return fail(s, WN_EJSON, "bad number");
}

static int scan_value(scan *s, int depth, uint8_t *type);

static int scan_lit(scan *s, const char *lit, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n))
		return fail(s, WN_EJSON, "unexpected character");
	s->p += n;
	return 0;
}

static int scan_container(scan *s, int depth, int obj)
{
	if (depth > MAX_DEPTH) return fail(s, WN_EJSON, "nesting too deep");
	s->p++; /* '{' or '[' */
	skip_ws(s);
	unsigned char close = obj ? '}' : ']';
	if (s->p < s->end && *s->p == close) { s->p++; return 0; }
	for (;;) {
		uint8_t t;
		if (obj) {
			int esc = 0;
			if (s->p >= s->end || *s->p != '"') return fail(s, WN_EJSON, "expected a key");
			if (scan_string(s, NULL, &esc)) return s->code;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':') return fail(s, WN_EJSON, "expected ':'");
			s->p++;
			skip_ws(s);
		}
		if (scan_value(s, depth + 1, &t)) return s->code;
		skip_ws(s);
		if (s->p >= s->end) return fail(s, WN_EJSON, "unexpected end");
		if (*s->p == ',') { s->p++; skip_ws(s); continue; }
		if (*s->p == close) { s->p++; return 0; }
		return fail(s, WN_EJSON, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int scan_value(scan *s, int depth, uint8_t *type)
{
	if (s->p >= s->end) return fail(s, WN_EJSON, "unexpected end");
	int esc = 0;
	switch (*s->p) {
	case '"': *type = WN_J_STR; return scan_string(s, NULL, &esc);
	case '{': *type = WN_J_OBJ; return scan_container(s, depth, 1);
	case '[': *type = WN_J_ARR; return scan_container(s, depth, 0);
	case 't': *type = WN_J_BOOL; return scan_lit(s, "true", 4);
	case 'f': *type = WN_J_BOOL; return scan_lit(s, "false", 5);
	case 'n': *type = WN_J_NULL; return scan_lit(s, "null", 4);
	default:
		*type = WN_J_NUM;
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return scan_number(s);
		return fail(s, WN_EJSON, "unexpected character");
	}
}

static int key_is(const wn_member *m, const char *name, size_t nlen, wn_buf *scratch)
{
	if (!m->kesc) return m->klen == nlen && !memcmp(m->key, name, nlen);
	wn_buf_reset(scratch);
	if (wn_json_decode_string(m->key - 1, m->klen + 2, scratch)) return 0;
	return scratch->len == nlen && !memcmp(scratch->data, name, nlen);
}

/* Start a parse: fields reset, BOM skipped. */
static void parse_begin(wn_doc *d, const char **line, size_t *len)
{
	if (*len >= 3 && !memcmp(*line, "\xEF\xBB\xBF", 3)) { *line += 3; *len -= 3; }
	d->line = *line;
	d->len = *len;
	d->nm = 0;
	for (size_t i = 0; i < d->ne; i++) d->e[i].used = 0;
	d->ne = 0;
	d->has_text = d->has_id = d->has_domain = 0;
	d->text_type = -1;
	wn_buf_reset(&d->text);
	wn_buf_reset(&d->id);
	wn_buf_reset(&d->domain);
	d->err[0] = 0;
	d->err_off = 0;
}

int wn_doc_parse_scan(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f)
{
	if (!f) f = &default_fields;
	const char *tf = f->text ? f->text : "text";
	const char *idf = f->id ? f->id : "id";
	const char *df = f->domain ? f->domain : "domain";
	size_t tfl = strlen(tf), idfl = strlen(idf), dfl = strlen(df);

	parse_begin(d, &line, &len);
	scan s = { (const unsigned char *)line, (const unsigned char *)line,
		   (const unsigned char *)line + len, d, 0 };
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{') return fail(&s, WN_EJSON, s.p >= s.end ? "empty line" : "not a json object");
	s.p++;
	skip_ws(&s);
	if (s.p < s.end && *s.p == '}') { s.p++; goto tail; }
	for (;;) {
		if (s.p >= s.end || *s.p != '"') return fail(&s, WN_EJSON, "expected a key");
		if (d->nm == d->capm) {
			d->capm = d->capm ? d->capm * 2 : 16;
			d->m = wn_realloc(d->m, d->capm * sizeof *d->m);
		}
		wn_member *m = &d->m[d->nm];
		const unsigned char *kstart = s.p;
		int kesc = 0;
		if (scan_string(&s, NULL, &kesc)) return s.code;
		m->key = (const char *)kstart + 1;
		m->klen = (size_t)(s.p - kstart) - 2;
		m->kesc = (uint8_t)kesc;
		m->span = (const char *)kstart;
		m->edit = -1;
		skip_ws(&s);
		if (s.p >= s.end || *s.p != ':') return fail(&s, WN_EJSON, "expected ':'");
		s.p++;
		skip_ws(&s);
		const unsigned char *vstart = s.p;
		if (s.p < s.end && *s.p == '"') {
			wn_buf *out = NULL;
			int which = 0;
			if (key_is(m, tf, tfl, &d->scratch)) { out = &d->text; which = 1; }
			else if (key_is(m, idf, idfl, &d->scratch)) { out = &d->id; which = 2; }
			else if (key_is(m, df, dfl, &d->scratch)) { out = &d->domain; which = 3; }
			if (out) wn_buf_reset(out); /* a repeated key: the last one wins */
			int esc = 0;
			if (scan_string(&s, out, &esc)) return s.code;
			m->type = WN_J_STR;
			if (which == 1) { d->has_text = 1; d->text_type = WN_J_STR; }
			else if (which == 2) d->has_id = 1;
			else if (which == 3) d->has_domain = 1;
		} else {
			if (scan_value(&s, 1, &m->type)) return s.code;
			/* a repeated key: the last one wins, whatever its type */
			if (key_is(m, tf, tfl, &d->scratch)) {
				d->has_text = 0;
				d->text_type = m->type;
			} else if (key_is(m, idf, idfl, &d->scratch)) {
				wn_buf_reset(&d->id);
				d->has_id = m->type == WN_J_NUM;
				if (d->has_id) wn_buf_add(&d->id, vstart, (size_t)(s.p - vstart));
			} else if (key_is(m, df, dfl, &d->scratch)) {
				wn_buf_reset(&d->domain);
				d->has_domain = 0;
			}
		}
		m->val = (const char *)vstart;
		m->vlen = (size_t)(s.p - vstart);
		m->slen = (size_t)(s.p - kstart);
		d->nm++;
		skip_ws(&s);
		if (s.p >= s.end) return fail(&s, WN_EJSON, "unexpected end");
		if (*s.p == ',') { s.p++; skip_ws(&s); continue; }
		if (*s.p == '}') { s.p++; break; }
		return fail(&s, WN_EJSON, "expected ',' or '}'");
	}
tail:
	skip_ws(&s);
	if (s.p != s.end) return fail(&s, WN_EJSON, "trailing characters after the object");
	return 0;
}

int wn_doc_parse_padded(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f)
{
	if (!f) f = &default_fields;
	const char *want[3] = { f->text ? f->text : "text", f->id ? f->id : "id",
				f->domain ? f->domain : "domain" };
	const char *orig = line;
	size_t olen = len;
	parse_begin(d, &line, &len);
	if (!d->sj && !(d->sj = wn_sj_new())) wn_die_oom();
	const wn_sj_member *ms;
	size_t n;
	const char *why;
	if (wn_sj_parse(d->sj, line, len, want, 3, &ms, &n, &why)) {
		/* rejected: the reference scanner says where and why */
		int rc = wn_doc_parse_scan(d, orig, olen, f);
		if (rc) return rc;
		parse_begin(d, &orig, &olen);
		snprintf(d->err, sizeof d->err, "%s", why);
		return WN_EJSON;
	}
	if (n > d->capm) {
		d->capm = n + 16;
		d->m = wn_realloc(d->m, d->capm * sizeof *d->m);
	}
	for (size_t i = 0; i < n; i++) {
		const wn_sj_member *s = &ms[i];
		wn_member *m = &d->m[i];
		m->key = line + s->koff;
		m->klen = s->klen;
		m->kesc = (uint8_t)s->kesc;
		m->span = line + s->koff - 1;
		m->slen = s->voff + s->vlen - (s->koff - 1);
		m->val = line + s->voff;
		m->vlen = s->vlen;
		m->type = (uint8_t)s->type;
		m->edit = -1;
		/* a repeated key: the last one wins, whatever its type */
		switch (s->want) {
		case 1:
			d->text_type = s->type;
			d->has_text = s->type == WN_J_STR;
			wn_buf_reset(&d->text);
			if (d->has_text) wn_buf_add(&d->text, s->str, s->slen);
			break;
		case 2:
			wn_buf_reset(&d->id);
			d->has_id = s->type == WN_J_STR || s->type == WN_J_NUM;
			if (s->type == WN_J_STR) wn_buf_add(&d->id, s->str, s->slen);
			else if (s->type == WN_J_NUM) wn_buf_add(&d->id, m->val, m->vlen);
			break;
		case 3:
			wn_buf_reset(&d->domain);
			d->has_domain = s->type == WN_J_STR;
			if (d->has_domain) wn_buf_add(&d->domain, s->str, s->slen);
			break;
		}
	}
	d->nm = n;
	return 0;
}

int wn_doc_parse(wn_doc *d, const char *line, size_t len, const wn_doc_fields *f)
{
	/* simdjson reads up to WN_DOC_PADDING bytes past the end */
	wn_buf_reset(&d->pad);
	wn_buf_grow(&d->pad, len + WN_DOC_PADDING);
	wn_buf_add(&d->pad, line, len);
	memset(d->pad.data + len, 0, WN_DOC_PADDING);
	return wn_doc_parse_padded(d, d->pad.data, len, f);
}

const wn_member *wn_doc_get(const wn_doc *d, const char *key)
{
	size_t n = strlen(key);
	const wn_member *found = NULL;
	wn_buf tmp = WN_BUF_INIT;
	for (size_t i = 0; i < d->nm; i++)
		if (key_is(&d->m[i], key, n, &tmp)) found = &d->m[i];
	wn_buf_release(&tmp);
	return found;
}

int wn_json_decode_string(const char *v, size_t n, wn_buf *out)
{
	wn_doc dummy;
	memset(&dummy, 0, sizeof dummy);
	if (n < 2 || v[0] != '"') return WN_EJSON;
	scan s = { (const unsigned char *)v, (const unsigned char *)v,
		   (const unsigned char *)v + n, &dummy, 0 };
	int esc = 0;
	int rc = scan_string(&s, out, &esc);
	if (rc) return rc;
	return s.p == s.end ? 0 : WN_EJSON;
}

/* ---- writing ---- */

/* The next byte at or after p that JSON must escape (a control, '"' or
 * '\\'), or end: 16 bytes at a time with SSE2. */
static const unsigned char *escape_scan(const unsigned char *p, const unsigned char *end)
{
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
		      ctl = _mm_set1_epi8(0x1f);
	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* v <= 0x1f unsigned: min(v, 0x1f) == v */
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v),
					 _mm_or_si128(_mm_cmpeq_epi8(v, quote),
						      _mm_cmpeq_epi8(v, bslash)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits) return p + __builtin_ctz(bits);
	}
	for (; p < end; p++)
		if (*p < 0x20 || *p == '"' || *p == '\\') return p;
	return end;
}

void wn_json_escape(wn_buf *out, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)str, *end = p + n;
	wn_buf_grow(out, n + 2);
	wn_buf_addc(out, '"');
	while (p < end) {
		const unsigned char *q = escape_scan(p, end);
		if (q > p) wn_buf_add(out, p, (size_t)(q - p));
		if (q == end) break;
		unsigned c = *q;
		char e[6] = { '\\', 0 };
		size_t k = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		default:
			e[1] = 'u'; e[2] = '0'; e[3] = '0';
			e[4] = hex[c >> 4]; e[5] = hex[c & 15];
			k = 6;
		}
		wn_buf_add(out, e, k);
		p = q + 1;
	}
	wn_buf_addc(out, '"');
}

static wn_edit *edit_for(wn_doc *d, const char *key)
{
	for (size_t i = 0; i < d->ne; i++)
		if (!strcmp(d->e[i].key, key)) {
			wn_buf_reset(&d->e[i].val);
			return &d->e[i];
		}
	if (d->ne == d->cape) {
		size_t nc = d->cape ? d->cape * 2 : 8;
		d->e = wn_realloc(d->e, nc * sizeof *d->e);
		for (size_t i = d->cape; i < nc; i++) {
			d->e[i].key = NULL;
			wn_buf_init(&d->e[i].val, 0);
			d->e[i].used = 0;
		}
		d->cape = nc;
	}
	wn_edit *e = &d->e[d->ne++];
	free(e->key);
	e->key = wn_strdup(key);
	wn_buf_reset(&e->val);
	e->used = 0;
	/* point existing members with this key at the edit */
	size_t kl = strlen(key);
	for (size_t i = 0; i < d->nm; i++)
		if (key_is(&d->m[i], key, kl, &d->scratch)) {
			d->m[i].edit = (int32_t)(d->ne - 1);
			e->used = 1;
		}
	return e;
}

void wn_doc_set_raw(wn_doc *d, const char *key, const char *json, size_t n)
{
	wn_edit *e = edit_for(d, key);
	wn_buf_add(&e->val, json, n);
}

void wn_doc_set_str(wn_doc *d, const char *key, const char *s, size_t n)
{
	wn_edit *e = edit_for(d, key);
	wn_json_escape(&e->val, s, n);
}

void wn_doc_set_int(wn_doc *d, const char *key, long long v)
{
	wn_edit *e = edit_for(d, key);
	wn_buf_addf(&e->val, "%lld", v);
}

void wn_doc_set_num(wn_doc *d, const char *key, double v)
{
	wn_edit *e = edit_for(d, key);
	if (v != v || v - v != 0) wn_buf_adds(&e->val, "null"); /* NaN, inf */
	else wn_buf_addf(&e->val, "%.17g", v);
}

void wn_doc_write(const wn_doc *d, wn_buf *out)
{
	if (!d->ne) {
		wn_buf_add(out, d->line, d->len);
		return;
	}
	wn_buf_addc(out, '{');
	int first = 1;
	for (size_t i = 0; i < d->nm; i++) {
		const wn_member *m = &d->m[i];
		if (!first) wn_buf_addc(out, ',');
		first = 0;
		if (m->edit < 0) {
			wn_buf_add(out, m->span, m->slen);
		} else {
			/* key bytes as they were, new value */
			wn_buf_add(out, m->key - 1, m->klen + 2);
			wn_buf_addc(out, ':');
			const wn_buf *v = &d->e[m->edit].val;
			wn_buf_add(out, v->data, v->len);
		}
	}
	for (size_t i = 0; i < d->ne; i++) {
		if (d->e[i].used) continue;
		if (!first) wn_buf_addc(out, ',');
		first = 0;
		wn_json_escape(out, d->e[i].key, strlen(d->e[i].key));
		wn_buf_addc(out, ':');
		wn_buf_add(out, d->e[i].val.data, d->e[i].val.len);
	}
	wn_buf_addc(out, '}');
}
