/*
 * warc.c - the streaming WARC reader (warc.h).
 *
 * The stream is read into one buffer, data[start..end), whose first byte
 * is at stream offset `base`.  fill() reads until a wanted number of bytes
 * is buffered or the stream ends, moving the unread bytes to the front and
 * growing the buffer when it must; a record being returned (header and
 * block) is therefore contiguous, and its pointers stay valid until the
 * next call moves `start` past it.  A block over the cap is never
 * buffered: it is read and dropped in buffer-sized pieces.
 *
 * A record's header is copied into `hdr`, where its lines are cut into
 * NUL-terminated names and values.  An HTTP response's body is decoded
 * into `body` (de-chunked) and `inflated` (gunzipped), both capped at
 * max_block.  After an error that leaves the reader in the middle of
 * something (garbage, a bad version line, no usable Content-Length), it
 * skips to the next line that starts with "WARC/" before returning, so the
 * caller may simply call again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "warc.h"
#include "../lib/buf.h"
#include "../lib/err.h"

#define DEFAULT_MAX_BLOCK ((size_t)64 << 20)
#define DEFAULT_MAX_HEADER ((size_t)1 << 20)
#define READ_CHUNK ((size_t)64 << 10)
#define MAX_FIELDS 256

struct wn_warc {
	wn_warc_read_fn read;
	void *ctx;
	wn_warc_opts o;
	char *data;
	size_t cap, start, end;
	uint64_t base;      /* stream offset of data[0] */
	int eof, ioerr, done;
	uint64_t ordinal;   /* records seen */
	wn_buf hdr;         /* the current header, cut into strings */
	wn_warc_field fields[MAX_FIELDS];
	wn_buf body;        /* de-chunked HTTP body */
	wn_buf inflated;    /* decompressed HTTP body */
	wn_buf http_hdr;    /* the HTTP header, cut into strings */
	char mime[128];
	char charset[64];
	char err[512];
};

wn_warc *wn_warc_new(wn_warc_read_fn read, void *ctx, const wn_warc_opts *o)
{
	wn_warc *w = wn_calloc(1, sizeof *w);
	w->read = read;
	w->ctx = ctx;
	if (o) w->o = *o;
	if (!w->o.max_block) w->o.max_block = DEFAULT_MAX_BLOCK;
	if (!w->o.max_header) w->o.max_header = DEFAULT_MAX_HEADER;
	wn_buf_init(&w->hdr, 0);
	wn_buf_init(&w->body, 0);
	wn_buf_init(&w->inflated, 0);
	wn_buf_init(&w->http_hdr, 0);
	return w;
}

void wn_warc_free(wn_warc *w)
{
	if (!w) return;
	free(w->data);
	wn_buf_release(&w->hdr);
	wn_buf_release(&w->body);
	wn_buf_release(&w->inflated);
	wn_buf_release(&w->http_hdr);
	free(w);
}

const char *wn_warc_error(const wn_warc *w)
{
	return w->err;
}

uint64_t wn_warc_tell(const wn_warc *w)
{
	return w->base + w->start;
}

static int fail(wn_warc *w, int code, uint64_t ordinal, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(wn_warc *w, int code, uint64_t ordinal, uint64_t at, const char *fmt, ...)
{
	int n = snprintf(w->err, sizeof w->err, "record %llu at byte %llu: ",
		(unsigned long long)ordinal, (unsigned long long)at);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof w->err) vsnprintf(w->err + n, sizeof w->err - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- buffering ----------------------------------------------------------- */

/* Buffer at least `need` unread bytes if the stream has them; returns how
 * many are buffered. */
static size_t fill(wn_warc *w, size_t need)
{
	while (w->end - w->start < need && !w->eof) {
		if (w->start && (w->cap - w->end < READ_CHUNK || w->cap - w->start < need + 1)) {
			memmove(w->data, w->data + w->start, w->end - w->start);
			w->base += w->start;
			w->end -= w->start;
			w->start = 0;
		}
		if (w->cap - w->end < READ_CHUNK && w->cap < need + READ_CHUNK + 1) {
			size_t cap = w->cap ? w->cap : READ_CHUNK * 2;
			while (cap < need + READ_CHUNK + 1) cap *= 2;
			w->data = wn_realloc(w->data, cap);
			w->cap = cap;
		}
		size_t room = w->cap - w->end - 1; /* one byte kept for a NUL */
		if (room > READ_CHUNK) room = READ_CHUNK;
		long r = w->read(w->ctx, w->data + w->end, room);
		if (r < 0) {
			w->eof = w->ioerr = 1;
			break;
		}
		if (r == 0) {
			w->eof = 1;
			break;
		}
		w->end += (size_t)r > room ? room : (size_t)r;
	}
	return w->end - w->start;
}

/* Drop everything up to the next line that starts with "WARC/" (the
 * current position, a bad one, never counts as such a line); returns the
 * number of bytes dropped. */
static uint64_t skip_to_record(wn_warc *w)
{
	uint64_t skipped = 0;
	for (;;) {
		size_t avail = w->end - w->start, i = 0;
		const char *p = w->data + w->start;
		while (i < avail) {
			const char *q = memchr(p + i, '\n', avail - i);
			if (!q) {
				i = avail;
				break;
			}
			size_t pos = (size_t)(q - p);
			if (avail - pos - 1 < 5) { /* too few bytes to tell yet */
				i = pos;
				break;
			}
			if (!memcmp(q + 1, "WARC/", 5)) {
				w->start += pos + 1;
				return skipped + pos + 1;
			}
			i = pos + 1;
		}
		if (w->eof) {
			skipped += avail;
			w->start = w->end;
			return skipped;
		}
		w->start += i;
		skipped += i;
		fill(w, w->end - w->start + READ_CHUNK);
	}
}

/* Read and drop n bytes; returns how many were there. */
static uint64_t discard(wn_warc *w, uint64_t n)
{
	uint64_t done = 0;
	while (done < n) {
		size_t avail = w->end - w->start;
		if (!avail) {
			avail = fill(w, 1);
			if (!avail) break;
		}
		size_t k = avail;
		if ((uint64_t)k > n - done) k = (size_t)(n - done);
		w->start += k;
		done += k;
	}
	return done;
}

/* ---- small string helpers --------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ci_eq(const char *a, const char *b)
{
	while (*a && lower((unsigned char)*a) == lower((unsigned char)*b)) a++, b++;
	return lower((unsigned char)*a) == lower((unsigned char)*b);
}

static int ci_prefix(const char *s, const char *lit)
{
	while (*lit && lower((unsigned char)*s) == *lit) s++, lit++;
	return !*lit;
}

static int is_sp(int c)
{
	return c == ' ' || c == '\t';
}

/* Does the comma-separated list s hold the token tok (any case)? */
static int has_list_token(const char *s, const char *tok)
{
	size_t n = strlen(tok);
	while (*s) {
		while (*s == ',' || is_sp((unsigned char)*s)) s++;
		const char *b = s;
		while (*s && *s != ',' && *s != ';') s++;
		const char *e = s;
		while (e > b && is_sp((unsigned char)e[-1])) e--;
		if ((size_t)(e - b) == n) {
			size_t i = 0;
			while (i < n && lower((unsigned char)b[i]) == tok[i]) i++;
			if (i == n) return 1;
		}
		while (*s && *s != ',') s++;
	}
	return 0;
}

/* A printable copy of a line for a message (at most 40 bytes). */
static const char *show(const char *s, size_t n, char out[48])
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		out[k++] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	out[k] = 0;
	return out;
}

/* Cut a header block (lines ending in LF or CRLF) into fields: names and
 * values become NUL-terminated strings inside `s`; a continuation line
 * joins its field's value with one space (in place: the text only moves
 * left).  Lines without a colon are ignored.  Returns the number of
 * fields. */
static size_t cut_fields(char *s, wn_warc_field *f, size_t max)
{
	size_t nf = 0;
	char *p = s, *val_end = NULL;
	while (*p) {
		char *eol = strchr(p, '\n');
		char *next = eol ? eol + 1 : p + strlen(p);
		char *e = eol ? eol : next;
		if (e > p && e[-1] == '\r') e--;
		if (is_sp((unsigned char)*p)) {
			char *b = p, *t = e;
			while (b < t && is_sp((unsigned char)*b)) b++;
			while (t > b && is_sp((unsigned char)t[-1])) t--;
			if (val_end && b < t) {
				if (val_end > f[nf - 1].value) *val_end++ = ' ';
				memmove(val_end, b, (size_t)(t - b));
				val_end += t - b;
				*val_end = 0;
			}
			p = next;
			continue;
		}
		char *colon = memchr(p, ':', (size_t)(e - p));
		if (!colon || nf == max) {
			p = next;
			val_end = NULL;
			continue;
		}
		char *ne = colon, *v = colon + 1, *ve = e;
		while (ne > p && is_sp((unsigned char)ne[-1])) ne--;
		while (v < ve && is_sp((unsigned char)*v)) v++;
		while (ve > v && is_sp((unsigned char)ve[-1])) ve--;
		*ne = 0;
		*ve = 0;
		f[nf].name = p;
		f[nf].value = v;
		nf++;
		val_end = ve;
		p = next;
	}
	return nf;
}

const char *wn_warc_get(const wn_warc_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->nfields; i++)
		if (ci_eq(rec->fields[i].name, name)) return rec->fields[i].value;
	return NULL;
}

static const char *const type_names[] = {
	[WN_WARC_OTHER] = "other", [WN_WARC_WARCINFO] = "warcinfo",
	[WN_WARC_RESPONSE] = "response", [WN_WARC_RESOURCE] = "resource",
	[WN_WARC_REQUEST] = "request", [WN_WARC_METADATA] = "metadata",
	[WN_WARC_REVISIT] = "revisit", [WN_WARC_CONVERSION] = "conversion",
	[WN_WARC_CONTINUATION] = "continuation",
};

const char *wn_warc_type_name(wn_warc_type t)
{
	return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "other";
}

static wn_warc_type type_of(const char *s)
{
	if (!s) return WN_WARC_OTHER;
	for (size_t i = 1; i < sizeof type_names / sizeof type_names[0]; i++)
		if (ci_eq(s, type_names[i])) return (wn_warc_type)i;
	return WN_WARC_OTHER;
}

int wn_warc_is_html(const wn_warc_record *rec)
{
	return rec->mime && (!strcmp(rec->mime, "text/html") ||
		!strcmp(rec->mime, "application/xhtml+xml"));
}

/* Media type and charset of a Content-Type value, lowercased into w. */
static void parse_content_type(wn_warc *w, const char *ct, wn_warc_record *rec)
{
	rec->mime = w->mime;
	rec->charset = NULL;
	w->mime[0] = 0;
	if (!ct) return;
	const char *p = ct;
	while (is_sp((unsigned char)*p)) p++;
	size_t k = 0;
	while (*p && *p != ';' && !is_sp((unsigned char)*p) && k + 1 < sizeof w->mime)
		w->mime[k++] = (char)lower((unsigned char)*p++);
	w->mime[k] = 0;
	while (*p) {
		while (*p && *p != ';') p++;
		if (!*p) break;
		p++;
		while (is_sp((unsigned char)*p)) p++;
		if (!ci_prefix(p, "charset")) continue;
		const char *q = p + 7;
		while (is_sp((unsigned char)*q)) q++;
		if (*q != '=') continue;
		q++;
		while (is_sp((unsigned char)*q)) q++;
		char quote = 0;
		if (*q == '"' || *q == '\'') quote = *q++;
		k = 0;
		while (*q && *q != quote && (quote || (*q != ';' && !is_sp((unsigned char)*q))) &&
			k + 1 < sizeof w->charset)
			w->charset[k++] = (char)lower((unsigned char)*q++);
		w->charset[k] = 0;
		if (k) rec->charset = w->charset;
		break;
	}
}

/* ---- HTTP ------------------------------------------------------------------ */

/* Offset just past the first empty line of s[0..n) (lines end in LF or
 * CRLF), or 0 if there is none. */
static size_t header_end(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		p++;
		if (p < end && *p == '\n') return (size_t)(p + 1 - s);
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n') return (size_t)(p + 2 - s);
	}
	return 0;
}

/* Does s begin with a chunk-size line ("1a2f\r\n", "0;ext\n")? */
static int looks_chunked(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 17 && ((s[i] >= '0' && s[i] <= '9') || ((s[i] | 32) >= 'a' &&
		(s[i] | 32) <= 'f')))
		i++;
	if (i == 0 || i > 16) return 0;
	while (i < n && is_sp((unsigned char)s[i])) i++;
	return i < n && (s[i] == ';' || s[i] == '\r' || s[i] == '\n');
}

/* De-chunk s[0..n) into out; NULL or what went wrong (out keeps what was
 * decoded before). */
static const char *dechunk(const char *s, size_t n, wn_buf *out, size_t cap)
{
	const char *p = s, *end = s + n;
	wn_buf_reset(out);
	for (;;) {
		uint64_t size = 0;
		int digits = 0;
		while (p < end) {
			int c = lower((unsigned char)*p), d;
			if (c >= '0' && c <= '9') d = c - '0';
			else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
			else break;
			if (++digits > 15) return "bad chunked encoding";
			size = size * 16 + (uint64_t)d;
			p++;
		}
		if (!digits) return p == end ? "truncated chunked body" : "bad chunked encoding";
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (!lf) return "truncated chunked body";
		p = lf + 1;
		if (size == 0) return NULL; /* trailers, if any, are not needed */
		if (size > cap || out->len + size > cap) return "payload larger than the cap";
		if ((uint64_t)(end - p) < size) {
			wn_buf_add(out, p, (size_t)(end - p));
			return "truncated chunked body";
		}
		wn_buf_add(out, p, (size_t)size);
		p += size;
		if (p < end && *p == '\r') p++;
		if (p < end && *p == '\n') p++;
		else if (p < end) return "bad chunked encoding";
		if (p == end) return "truncated chunked body";
	}
}

/* Inflate s[0..n) into out: mode 'g' gzip (several members allowed),
 * 'z' zlib, 'r' raw deflate.  NULL or what went wrong. */
static const char *inflate_into(const char *s, size_t n, int mode, wn_buf *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	int bits = mode == 'g' ? 15 + 16 : mode == 'z' ? 15 : -15;
	if (inflateInit2(&z, bits) != Z_OK) return "zlib failed";
	wn_buf_reset(out);
	z.next_in = (Bytef *)(uintptr_t)s;
	z.avail_in = (uInt)(n > 0x7fffffff ? 0x7fffffff : n);
	const char *err = NULL;
	for (;;) {
		if (out->cap - out->len < 4096 + 1) {
			if (out->len >= cap) {
				err = "payload larger than the cap";
				break;
			}
			wn_buf_grow(out, out->len < 65536 ? 65536 : out->len);
		}
		size_t room = out->cap - out->len - 1;
		if (out->len + room > cap) room = cap - out->len + 1;
		z.next_out = (Bytef *)out->data + out->len;
		z.avail_out = (uInt)(room > 0x7fffffff ? 0x7fffffff : room);
		int rc = inflate(&z, Z_NO_FLUSH);
		out->len = (size_t)((char *)z.next_out - out->data);
		out->data[out->len] = 0;
		if (out->len > cap) {
			err = "payload larger than the cap";
			break;
		}
		if (rc == Z_STREAM_END) {
			/* another gzip member may follow */
			if (mode == 'g' && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
				inflateReset(&z);
				continue;
			}
			break;
		}
		if (rc == Z_BUF_ERROR && z.avail_in == 0) {
			err = mode == 'g' ? "truncated gzip body" : "truncated deflate body";
			break;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			err = mode == 'g' ? "corrupt gzip body" : "corrupt deflate body";
			break;
		}
		if (z.avail_in == 0 && z.avail_out != 0) {
			err = mode == 'g' ? "truncated gzip body" : "truncated deflate body";
			break;
		}
	}
	inflateEnd(&z);
	return err;
}

/* Does any field called `name` list the token `tok`? */
static int fields_have(const wn_warc_field *f, size_t nf, const char *name, const char *tok)
{
	for (size_t i = 0; i < nf; i++)
		if (ci_eq(f[i].name, name) && has_list_token(f[i].value, tok)) return 1;
	return 0;
}

static const char *field_in(const wn_warc_field *f, size_t nf, const char *name)
{
	for (size_t i = 0; i < nf; i++)
		if (ci_eq(f[i].name, name)) return f[i].value;
	return NULL;
}

/* The content coding to undo: 0 none, 'g' gzip, 'd' deflate, -1 unsupported
 * (name in *what). */
static int content_coding(const wn_warc_field *f, size_t nf, const char **what)
{
	int coding = 0;
	for (size_t i = 0; i < nf; i++) {
		if (!ci_eq(f[i].name, "Content-Encoding")) continue;
		const char *s = f[i].value;
		while (*s) {
			while (*s == ',' || is_sp((unsigned char)*s)) s++;
			if (!*s) break;
			const char *b = s;
			while (*s && *s != ',' && !is_sp((unsigned char)*s)) s++;
			size_t n = (size_t)(s - b);
			int c;
			if ((n == 4 && ci_prefix(b, "gzip")) || (n == 6 && ci_prefix(b, "x-gzip"))) c = 'g';
			else if (n == 7 && ci_prefix(b, "deflate")) c = 'd';
			else if (n == 8 && ci_prefix(b, "identity")) continue;
			else {
				*what = f[i].value;
				return -1;
			}
			if (coding) {
				*what = f[i].value; /* two codings stacked */
				return -1;
			}
			coding = c;
		}
	}
	return coding;
}

static void parse_http(wn_warc *w, wn_warc_record *rec)
{
	const char *b = rec->block;
	size_t n = (size_t)rec->block_len;
	size_t hl = header_end(b, n);
	if (!hl) {
		rec->http_error = n && !memchr(b, '\n', n) ? "truncated HTTP header" :
			!memcmp(b, "HTTP/", n < 5 ? n : 5) ? "truncated HTTP header" : "bad HTTP status line";
		parse_content_type(w, NULL, rec);
		return;
	}
	wn_buf_reset(&w->http_hdr);
	wn_buf_add(&w->http_hdr, b, hl);
	char *h = w->http_hdr.data;
	char *eol = strchr(h, '\n');
	/* "HTTP/1.1 200 OK": a version token, spaces, three digits */
	int status = 0;
	if (!strncmp(h, "HTTP/", 5)) {
		char *p = h + 5;
		while (*p && !is_sp((unsigned char)*p) && *p != '\r' && *p != '\n') p++;
		while (is_sp((unsigned char)*p)) p++;
		if (p[0] >= '1' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
			p[2] <= '9' && (is_sp((unsigned char)p[3]) || p[3] == '\r' || p[3] == '\n'))
			status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	if (!status) {
		rec->http_error = "bad HTTP status line";
		parse_content_type(w, NULL, rec);
		return;
	}
	wn_warc_field f[MAX_FIELDS];
	size_t nf = cut_fields(eol + 1, f, MAX_FIELDS);
	rec->http = 1;
	rec->http_status = status;
	parse_content_type(w, field_in(f, nf, "Content-Type"), rec);

	const char *body = b + hl;
	size_t blen = n - hl;
	rec->payload = body;
	rec->payload_len = blen;
	if (fields_have(f, nf, "Transfer-Encoding", "chunked") && looks_chunked(body, blen)) {
		rec->http_error = dechunk(body, blen, &w->body, w->o.max_block);
		if (rec->http_error && !strcmp(rec->http_error, "payload larger than the cap")) {
			rec->payload = NULL;
			rec->payload_len = 0;
			return;
		}
		rec->payload = w->body.data;
		rec->payload_len = w->body.len;
	}
	const char *what = NULL;
	int coding = content_coding(f, nf, &what);
	if (coding < 0) {
		snprintf(w->err, sizeof w->err, "unsupported Content-Encoding: %.60s", what);
		rec->http_error = w->err;
		rec->payload = NULL;
		rec->payload_len = 0;
		return;
	}
	if (!coding || !rec->payload_len) return;
	const unsigned char *u = (const unsigned char *)rec->payload;
	int mode;
	if (coding == 'g') {
		if (rec->payload_len < 2 || u[0] != 0x1f || u[1] != 0x8b) return; /* stored decoded */
		mode = 'g';
	} else {
		mode = rec->payload_len >= 2 && (u[0] & 0x0f) == 8 && (u[0] >> 4) <= 7 &&
			((unsigned)u[0] * 256 + u[1]) % 31 == 0 ? 'z' : 'r';
	}
	const char *err = inflate_into(rec->payload, rec->payload_len, mode, &w->inflated,
		w->o.max_block);
	if (err && mode == 'z') /* a zlib-looking raw stream */
		err = inflate_into(rec->payload, rec->payload_len, 'r', &w->inflated, w->o.max_block);
	if (err && !rec->http_error) rec->http_error = err;
	if (err && !strcmp(err, "payload larger than the cap")) {
		rec->payload = NULL;
		rec->payload_len = 0;
		return;
	}
	rec->payload = w->inflated.data;
	rec->payload_len = w->inflated.len;
}

/* ---- records ----------------------------------------------------------------- */

/* "WARC/1.0", "WARC/1.1" (and older 0.x): "WARC/" digits "." digits. */
static int version_ok(const char *s, size_t n)
{
	if (n < 8 || memcmp(s, "WARC/", 5)) return 0;
	size_t i = 5, d = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
	if (!d || i >= n || s[i] != '.') return 0;
	i++;
	d = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
	if (!d) return 0;
	while (i < n && is_sp((unsigned char)s[i])) i++;
	return i == n;
}

static int garbage(wn_warc *w, uint64_t at)
{
	uint64_t ord = w->ordinal + 1;
	uint64_t skipped = skip_to_record(w);
	if (w->start == w->end && w->eof)
		return fail(w, WN_ECORRUPT, ord, at,
			"garbage between records, %llu bytes skipped to the end",
			(unsigned long long)skipped);
	return fail(w, WN_ECORRUPT, ord, at, "garbage between records, %llu bytes skipped",
		(unsigned long long)skipped);
}

int wn_warc_next(wn_warc *w, wn_warc_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->mime = "";
	rec->type_name = "";
	w->err[0] = 0;
	if (w->done) return 0;

	/* CR and LF between records */
	for (;;) {
		if (w->start == w->end && !fill(w, 1)) break;
		char c = w->data[w->start];
		if (c != '\r' && c != '\n') break;
		w->start++;
	}
	uint64_t at = w->base + w->start;
	if (w->start == w->end) {
		w->done = 1;
		if (w->ioerr) return fail(w, WN_EIO, w->ordinal + 1, at, "read error");
		return 0;
	}

	/* the version line */
	size_t avail = fill(w, 5);
	const char *p = w->data + w->start;
	if (avail >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b) {
		uint64_t ord = w->ordinal + 1;
		skip_to_record(w);
		return fail(w, WN_ECORRUPT, ord, at,
			"gzip data where a record should start (decompress the stream first)");
	}
	if (memcmp(p, "WARC/", avail < 5 ? avail : 5)) return garbage(w, at);
	size_t lf = 0; /* offset of the first LF */
	for (;;) {
		avail = w->end - w->start;
		const char *q = memchr(w->data + w->start + lf, '\n', avail - lf);
		if (q) {
			lf = (size_t)(q - (w->data + w->start));
			break;
		}
		lf = avail;
		if (avail > w->o.max_header || w->eof) break;
		fill(w, avail + 1);
	}
	if (lf >= w->end - w->start) {
		if (w->eof && lf <= w->o.max_header) {
			w->done = 1;
			w->ordinal++;
			return fail(w, w->ioerr ? WN_EIO : WN_ETRUNC, w->ordinal, at,
				w->ioerr ? "read error" : "truncated in the header");
		}
		w->ordinal++;
		skip_to_record(w);
		return fail(w, WN_ECORRUPT, w->ordinal, at, "header larger than %zu bytes",
			w->o.max_header);
	}
	p = w->data + w->start;
	size_t vlen = lf && p[lf - 1] == '\r' ? lf - 1 : lf;
	w->ordinal++;
	if (!version_ok(p, vlen)) {
		char shown[48];
		show(p, vlen, shown);
		skip_to_record(w);
		return fail(w, WN_ECORRUPT, w->ordinal, at, "bad version line \"%s\"", shown);
	}

	/* the header ends at the first empty line */
	size_t hl = 0, scan = lf;
	for (;;) {
		avail = w->end - w->start;
		p = w->data + w->start;
		hl = header_end(p + scan, avail - scan);
		if (hl) {
			hl += scan;
			break;
		}
		if (avail > w->o.max_header) {
			skip_to_record(w);
			return fail(w, WN_ECORRUPT, w->ordinal, at, "header larger than %zu bytes",
				w->o.max_header);
		}
		if (w->eof) {
			w->done = 1;
			return fail(w, w->ioerr ? WN_EIO : WN_ETRUNC, w->ordinal, at,
				w->ioerr ? "read error" : "truncated in the header");
		}
		scan = avail > 2 ? avail - 2 : 0; /* an empty line may straddle */
		fill(w, avail + 1);
	}
	if (hl > w->o.max_header) {
		skip_to_record(w);
		return fail(w, WN_ECORRUPT, w->ordinal, at, "header larger than %zu bytes",
			w->o.max_header);
	}
	wn_buf_reset(&w->hdr);
	wn_buf_add(&w->hdr, p, hl);
	char *h = w->hdr.data;
	h[vlen] = 0;
	rec->version = h;
	rec->nfields = cut_fields(h + lf + 1, w->fields, MAX_FIELDS);
	rec->fields = w->fields;
	rec->offset = at;
	rec->ordinal = w->ordinal;
	const char *t = wn_warc_get(rec, "WARC-Type");
	rec->type_name = t ? t : "";
	rec->type = type_of(t);
	rec->target_uri = wn_warc_get(rec, "WARC-Target-URI");
	if (rec->target_uri && rec->target_uri[0] == '<') {
		char *u = (char *)rec->target_uri + 1;
		size_t k = strlen(u);
		if (k && u[k - 1] == '>') u[k - 1] = 0;
		rec->target_uri = u;
	}
	rec->date = wn_warc_get(rec, "WARC-Date");
	rec->record_id = wn_warc_get(rec, "WARC-Record-ID");
	rec->content_type = wn_warc_get(rec, "Content-Type");

	/* Content-Length */
	const char *cl = wn_warc_get(rec, "Content-Length");
	uint64_t len = 0;
	int ok = cl && *cl;
	for (const char *c = cl; ok && *c; c++) {
		if (*c < '0' || *c > '9' || len > (UINT64_MAX - 9) / 10) ok = 0;
		else len = len * 10 + (uint64_t)(*c - '0');
	}
	if (!ok) {
		char shown[48];
		if (cl) show(cl, strlen(cl), shown);
		skip_to_record(w);
		memset(rec, 0, sizeof *rec);
		rec->mime = rec->type_name = "";
		return cl ? fail(w, WN_ECORRUPT, w->ordinal, at, "invalid Content-Length \"%s\"", shown) :
			fail(w, WN_ECORRUPT, w->ordinal, at, "missing Content-Length");
	}
	rec->block_len = len;
	w->start += hl;

	/* the block */
	if (len > w->o.max_block) {
		uint64_t got = discard(w, len);
		if (got < len) {
			w->done = 1;
			return fail(w, w->ioerr ? WN_EIO : WN_ETRUNC, w->ordinal, at,
				"truncated: the block has %llu of %llu bytes", (unsigned long long)got,
				(unsigned long long)len);
		}
		return fail(w, WN_ETOOBIG, w->ordinal, at,
			"block of %llu bytes is larger than the cap (%zu bytes), skipped",
			(unsigned long long)len, w->o.max_block);
	}
	avail = fill(w, (size_t)len + 4);
	if (avail < len) {
		w->done = 1;
		return fail(w, w->ioerr ? WN_EIO : WN_ETRUNC, w->ordinal, at,
			"truncated: the block has %zu of %llu bytes", avail, (unsigned long long)len);
	}
	char *blk = w->data + w->start;
	w->start += (size_t)len;
	/* consume the CRLF CRLF now, so that a NUL can follow the block */
	size_t tr = 0;
	while (tr < 4 && w->start < w->end && (w->data[w->start] == '\r' || w->data[w->start] == '\n'))
		w->start++, tr++;
	if (tr || w->start == w->end) {
		blk[len] = 0;
	} else {
		/* garbage right after the block: keep it, copy the block */
		wn_buf_reset(&w->body);
		wn_buf_add(&w->body, blk, (size_t)len);
		blk = w->body.data;
	}
	rec->block = blk;

	/* the payload */
	if (rec->type == WN_WARC_RESPONSE && !w->o.no_http && rec->content_type &&
		ci_prefix(rec->content_type, "application/http") &&
		!has_list_token(rec->content_type, "msgtype=request")) {
		parse_http(w, rec);
	} else if (rec->type == WN_WARC_RESOURCE || rec->type == WN_WARC_CONVERSION ||
		(rec->type == WN_WARC_RESPONSE && !w->o.no_http)) {
		rec->payload = rec->block;
		rec->payload_len = (size_t)rec->block_len;
		parse_content_type(w, rec->content_type, rec);
	}
	return 1;
}
