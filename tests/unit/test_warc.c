/*
 * test_warc.c - filters/warc.c: WARC/1.0 and 1.1 records written here
 * (there is no WARC sample on the machine), plain and gzip per record
 * (decoded with zlib's gzread, which reads concatenated members as one
 * stream, as a caller's reader does), HTTP responses with chunked and
 * gzip/deflate bodies, header continuation lines, every error with its
 * exact message, an empty stream, non-HTML and non-response records, and
 * the same stream read one byte per read() call.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../filters/warc.h"
#include "../../lib/buf.h"
#include "../../lib/err.h"
#include "testutil.h"

static void setup(void) { tu_mkdtemp(); }
static void teardown(void) { tu_rmdir(); }

TestSuite(warc, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(warc_http, .timeout = 60);
TestSuite(warc_errors, .timeout = 60);

/* ---------------------------------------------------------------- helpers */

/* An in-memory stream handing out at most `step` bytes per read. */
typedef struct {
	const char *p;
	size_t n, pos, step;
	long fail_at; /* return -1 once pos reaches this (-1: never) */
} mem_src;

static long mem_read(void *ctx, void *buf, size_t n)
{
	mem_src *m = ctx;
	if (m->fail_at >= 0 && m->pos >= (size_t)m->fail_at) return -1;
	size_t k = m->n - m->pos;
	if (k > n) k = n;
	if (m->step && k > m->step) k = m->step;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (long)k;
}

static mem_src src(const wn_buf *b, size_t step)
{
	mem_src m = { b->data, b->len, 0, step, -1 };
	return m;
}

/* Append one record: version, WARC-Type, extra header lines (each ending
 * in "\r\n"), then the block with a computed Content-Length. */
static void rec_add(wn_buf *out, const char *version, const char *type, const char *extra,
	const char *block, size_t blen)
{
	wn_buf_addf(out, "%s\r\nWARC-Type: %s\r\n%sContent-Length: %zu\r\n\r\n", version, type,
		extra ? extra : "", blen);
	wn_buf_add(out, block, blen);
	wn_buf_adds(out, "\r\n\r\n");
}

static void gz(wn_buf *out, const char *p, size_t n, int wbits)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t bound = deflateBound(&z, n) + 32;
	wn_buf_grow(out, bound);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)bound;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len += z.total_out;
	out->data[out->len] = 0;
	deflateEnd(&z);
}

/* An HTTP response message: status line, header lines, body. */
static void http_msg(wn_buf *out, const char *status, const char *headers, const char *body,
	size_t blen)
{
	wn_buf_addf(out, "%s\r\n%s\r\n", status, headers);
	wn_buf_add(out, body, blen);
}

static const char *page = "<html><head><title>T</title></head><body><p>Hello, WARC.</p></body></html>";

/* A small stream exercising most record kinds. */
static void sample_stream(wn_buf *s, const char *version)
{
	wn_buf b = WN_BUF_INIT;
	rec_add(s, version, "warcinfo", "WARC-Date: 2024-01-02T03:04:05Z\r\n"
		"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
		"Content-Type: application/warc-fields\r\n",
		"software: winnow-test\r\n", 23);
	rec_add(s, version, "request", "WARC-Target-URI: http://example.org/\r\n"
		"Content-Type: application/http; msgtype=request\r\n",
		"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n", 37);
	wn_buf_reset(&b);
	http_msg(&b, "HTTP/1.1 200 OK", "Content-Type: text/html; charset=UTF-8\r\n"
		"Content-Length: 74\r\n", page, strlen(page));
	rec_add(s, version, "response", "WARC-Target-URI: http://example.org/\r\n"
		"WARC-Date: 2024-01-02T03:04:06Z\r\n"
		"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000003>\r\n"
		"Content-Type: application/http; msgtype=response\r\n", b.data, b.len);
	rec_add(s, version, "metadata", "WARC-Target-URI: http://example.org/\r\n"
		"Content-Type: application/warc-fields\r\n", "fetchTimeMs: 12\r\n", 17);
	wn_buf_release(&b);
}

typedef struct {
	int n;
	wn_warc_type type[16];
	uint64_t offset[16];
	char *payload[16];
} summary;

/* Read a whole stream; returns the number of records, asserting success. */
static void read_all(const wn_buf *s, size_t step, summary *sum)
{
	mem_src m = src(s, step);
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	int rc;
	memset(sum, 0, sizeof *sum);
	while ((rc = wn_warc_next(w, &r)) == 1) {
		cr_assert_lt(sum->n, 16);
		sum->type[sum->n] = r.type;
		sum->offset[sum->n] = r.offset;
		sum->payload[sum->n] = r.payload ? strndup(r.payload, r.payload_len) : NULL;
		sum->n++;
	}
	cr_assert_eq(rc, 0, "rc %d: %s", rc, wn_warc_error(w));
	wn_warc_free(w);
}

static void summary_free(summary *s)
{
	for (int i = 0; i < s->n; i++) free(s->payload[i]);
}

/* ---------------------------------------------------------------- records */

Test(warc, versions_fields_and_types)
{
	const char *versions[] = { "WARC/1.0", "WARC/1.1" };
	for (int v = 0; v < 2; v++) {
		wn_buf s = WN_BUF_INIT;
		sample_stream(&s, versions[v]);
		mem_src m = src(&s, 0);
		wn_warc *w = wn_warc_new(mem_read, &m, NULL);
		wn_warc_record r;

		cr_assert_eq(wn_warc_next(w, &r), 1, "%s", wn_warc_error(w));
		cr_assert_str_eq(r.version, versions[v]);
		cr_assert_eq(r.type, WN_WARC_WARCINFO);
		cr_assert_str_eq(r.type_name, "warcinfo");
		cr_assert_str_eq(r.date, "2024-01-02T03:04:05Z");
		cr_assert_str_eq(r.record_id, "<urn:uuid:00000000-0000-0000-0000-000000000001>");
		cr_assert_eq(r.offset, 0);
		cr_assert_eq(r.ordinal, 1);
		cr_assert_eq(r.block_len, 23);
		cr_assert_eq(memcmp(r.block, "software: winnow-test\r\n", 23), 0);
		cr_assert_eq(r.block[23], 0, "a NUL follows the block");
		cr_assert_null(r.payload);
		cr_assert_str_eq(wn_warc_get(&r, "content-TYPE"), "application/warc-fields");
		cr_assert_null(wn_warc_get(&r, "WARC-Target-URI"));

		cr_assert_eq(wn_warc_next(w, &r), 1);
		cr_assert_eq(r.type, WN_WARC_REQUEST);
		cr_assert_eq(r.ordinal, 2);
		cr_assert_null(r.payload, "requests carry no payload");
		cr_assert_eq(r.http, 0);

		uint64_t third = wn_warc_tell(w);
		cr_assert_eq(wn_warc_next(w, &r), 1);
		cr_assert_eq(r.type, WN_WARC_RESPONSE);
		cr_assert_eq(r.offset, third);
		cr_assert_eq(memcmp(s.data + r.offset, versions[v], 8), 0);
		cr_assert_str_eq(r.target_uri, "http://example.org/");
		cr_assert_eq(r.http, 1);
		cr_assert_eq(r.http_status, 200);
		cr_assert_null(r.http_error);
		cr_assert_str_eq(r.mime, "text/html");
		cr_assert_str_eq(r.charset, "utf-8");
		cr_assert(wn_warc_is_html(&r));
		cr_assert_eq(r.payload_len, strlen(page));
		cr_assert_eq(memcmp(r.payload, page, strlen(page)), 0);

		cr_assert_eq(wn_warc_next(w, &r), 1);
		cr_assert_eq(r.type, WN_WARC_METADATA);
		cr_assert_eq(r.ordinal, 4);
		cr_assert_eq(wn_warc_next(w, &r), 0);
		cr_assert_eq(wn_warc_next(w, &r), 0, "the end stays the end");
		cr_assert_eq(wn_warc_tell(w), s.len);
		wn_warc_free(w);
		wn_buf_release(&s);
	}
}

Test(warc, empty_stream)
{
	wn_buf s = WN_BUF_INIT;
	mem_src m = src(&s, 0);
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	cr_assert_eq(wn_warc_next(w, &r), 0);
	cr_assert_str_eq(wn_warc_error(w), "");
	wn_warc_free(w);
	/* only blank lines: still empty */
	wn_buf_adds(&s, "\r\n\r\n\n");
	m = src(&s, 0);
	w = wn_warc_new(mem_read, &m, NULL);
	cr_assert_eq(wn_warc_next(w, &r), 0);
	wn_warc_free(w);
	wn_buf_release(&s);
	wn_warc_free(NULL);
}

Test(warc, one_byte_reads_give_the_same_records)
{
	wn_buf s = WN_BUF_INIT;
	sample_stream(&s, "WARC/1.1");
	sample_stream(&s, "WARC/1.0");
	summary a, b, c;
	read_all(&s, 0, &a);
	read_all(&s, 1, &b);
	read_all(&s, 7, &c);
	cr_assert_eq(a.n, 8);
	cr_assert_eq(b.n, 8);
	cr_assert_eq(c.n, 8);
	for (int i = 0; i < a.n; i++) {
		cr_assert_eq(a.type[i], b.type[i]);
		cr_assert_eq(a.offset[i], b.offset[i]);
		cr_assert_eq(a.offset[i], c.offset[i]);
		cr_assert_eq(!a.payload[i], !b.payload[i]);
		if (a.payload[i]) cr_assert_str_eq(a.payload[i], b.payload[i]);
	}
	summary_free(&a);
	summary_free(&b);
	summary_free(&c);
	wn_buf_release(&s);
}

Test(warc, header_continuation_lines_and_case)
{
	wn_buf s = WN_BUF_INIT;
	wn_buf_adds(&s, "WARC/1.1\r\n"
		"warc-type: resource\r\n"
		"WARC-Target-URI: <http://example.org/a\r\n"
		"\t  /very/long>\r\n"
		"X-Note:   first\r\n"
		"  second   \r\n"
		" third\r\n"
		"Empty:\r\n"
		"content-type: text/html; charset=\"ISO-8859-1\"\r\n"
		"content-length: 5\r\n"
		"\r\n"
		"<p>x\n\r\n\r\n");
	mem_src m = src(&s, 3);
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	cr_assert_eq(wn_warc_next(w, &r), 1, "%s", wn_warc_error(w));
	cr_assert_eq(r.type, WN_WARC_RESOURCE);
	cr_assert_str_eq(r.type_name, "resource");
	cr_assert_str_eq(r.target_uri, "http://example.org/a /very/long");
	cr_assert_str_eq(wn_warc_get(&r, "x-note"), "first second third");
	cr_assert_str_eq(wn_warc_get(&r, "EMPTY"), "");
	cr_assert_eq(r.nfields, 6);
	/* a resource's payload is its block, typed by the WARC Content-Type */
	cr_assert_eq(r.payload_len, 5);
	cr_assert_str_eq(r.payload, "<p>x\n");
	cr_assert_str_eq(r.mime, "text/html");
	cr_assert_str_eq(r.charset, "iso-8859-1");
	cr_assert_eq(r.http, 0);
	cr_assert_eq(wn_warc_next(w, &r), 0);
	wn_warc_free(w);
	wn_buf_release(&s);
}

Test(warc, lf_only_lines_are_tolerated)
{
	wn_buf s = WN_BUF_INIT;
	wn_buf_adds(&s, "WARC/1.0\nWARC-Type: response\nContent-Type: application/http\n"
		"Content-Length: 38\n\nHTTP/1.0 404 Not Found\nX: y\n\nmissing!\n\n"
		"WARC/1.0\nWARC-Type: revisit\nContent-Length: 0\n\n\n\n");
	mem_src m = src(&s, 0);
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	cr_assert_eq(wn_warc_next(w, &r), 1, "%s", wn_warc_error(w));
	cr_assert_eq(r.http_status, 404);
	cr_assert_str_eq(r.payload, "missing!\n");
	cr_assert_str_eq(r.mime, "");
	cr_assert_null(r.charset);
	cr_assert_eq(wn_warc_next(w, &r), 1, "%s", wn_warc_error(w));
	cr_assert_eq(r.type, WN_WARC_REVISIT);
	cr_assert_eq(r.block_len, 0);
	cr_assert_null(r.payload);
	cr_assert_eq(wn_warc_next(w, &r), 0);
	wn_warc_free(w);
	wn_buf_release(&s);
}

Test(warc, other_types_are_reported)
{
	const char *types[] = { "conversion", "continuation", "metadata", "revisit", "something-new" };
	wn_warc_type want[] = { WN_WARC_CONVERSION, WN_WARC_CONTINUATION, WN_WARC_METADATA,
		WN_WARC_REVISIT, WN_WARC_OTHER };
	wn_buf s = WN_BUF_INIT;
	for (int i = 0; i < 5; i++) rec_add(&s, "WARC/1.1", types[i], "Content-Type: text/plain\r\n", "abc", 3);
	mem_src m = src(&s, 0);
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(wn_warc_next(w, &r), 1);
		cr_assert_eq(r.type, want[i], "%s", types[i]);
		cr_assert_str_eq(r.type_name, types[i]);
		/* a conversion is a payload of its own; the others are not */
		cr_assert_eq(r.payload != NULL, want[i] == WN_WARC_CONVERSION, "%s", types[i]);
	}
	cr_assert_str_eq(wn_warc_type_name(WN_WARC_RESOURCE), "resource");
	cr_assert_eq(wn_warc_next(w, &r), 0);
	wn_warc_free(w);
	wn_buf_release(&s);
}

/* gzip members, one per record, decoded by zlib's gzread as one stream */
static long gz_read(void *ctx, void *buf, size_t n)
{
	int k = gzread((gzFile)ctx, buf, (unsigned)(n > 65536 ? 65536 : n));
	return k;
}

Test(warc, gzip_per_record_reads_like_plain)
{
	wn_buf plain = WN_BUF_INIT, file = WN_BUF_INIT, one = WN_BUF_INIT;
	for (int k = 0; k < 3; k++) {
		wn_buf_reset(&one);
		sample_stream(&one, k % 2 ? "WARC/1.0" : "WARC/1.1");
		wn_buf_add(&plain, one.data, one.len);
		/* a member per record, as .warc.gz files are written */
		size_t at = 0;
		for (int i = 0; i < 4; i++) {
			const char *next = strstr(one.data + at + 1, "WARC/1.");
			size_t end = next ? (size_t)(next - one.data) : one.len;
			gz(&file, one.data + at, end - at, 15 + 16);
			at = end;
		}
	}
	const char *path = tu_path("t.warc.gz");
	cr_assert_eq(tu_write_file(path, file.data, file.len), 0);
	gzFile g = gzopen(path, "rb");
	cr_assert_not_null(g);
	wn_warc *w = wn_warc_new(gz_read, g, NULL);
	summary a, b;
	memset(&b, 0, sizeof b);
	wn_warc_record r;
	int rc;
	while ((rc = wn_warc_next(w, &r)) == 1) {
		b.type[b.n] = r.type;
		b.offset[b.n] = r.offset;
		b.payload[b.n] = r.payload ? strndup(r.payload, r.payload_len) : NULL;
		b.n++;
	}
	cr_assert_eq(rc, 0, "%s", wn_warc_error(w));
	wn_warc_free(w);
	gzclose(g);
	read_all(&plain, 0, &a);
	cr_assert_eq(a.n, 12);
	cr_assert_eq(b.n, 12);
	for (int i = 0; i < a.n; i++) {
		cr_assert_eq(a.type[i], b.type[i]);
		cr_assert_eq(a.offset[i], b.offset[i], "offsets are in the decoded stream");
		if (a.payload[i]) cr_assert_str_eq(a.payload[i], b.payload[i]);
	}
	summary_free(&a);
	summary_free(&b);
	wn_buf_release(&plain);
	wn_buf_release(&file);
	wn_buf_release(&one);
}

/* ---------------------------------------------------------------- HTTP */

/* One response record holding an HTTP message; returns the reader. */
static wn_warc *one_response(wn_buf *s, const char *status, const char *headers,
	const char *body, size_t blen, wn_warc_record *r)
{
	wn_buf m = WN_BUF_INIT;
	http_msg(&m, status, headers, body, blen);
	wn_buf_reset(s);
	rec_add(s, "WARC/1.1", "response", "Content-Type: application/http;msgtype=response\r\n",
		m.data, m.len);
	wn_buf_release(&m);
	static mem_src src1;
	src1 = src(s, 5);
	wn_warc *w = wn_warc_new(mem_read, &src1, NULL);
	cr_assert_eq(wn_warc_next(w, r), 1, "%s", wn_warc_error(w));
	return w;
}

Test(warc_http, chunked_and_gzip)
{
	const char *text = "<p>chunks and gzip, together</p>";
	wn_buf z = WN_BUF_INIT, chunked = WN_BUF_INIT, s = WN_BUF_INIT;
	gz(&z, text, strlen(text), 15 + 16);
	/* chunks of 7 bytes, one with an extension, then trailers */
	for (size_t at = 0; at < z.len; at += 7) {
		size_t k = z.len - at < 7 ? z.len - at : 7;
		wn_buf_addf(&chunked, at == 7 ? "%zx;ext=1\r\n" : "%zx\r\n", k);
		wn_buf_add(&chunked, z.data + at, k);
		wn_buf_adds(&chunked, "\r\n");
	}
	wn_buf_adds(&chunked, "0\r\nX-Trailer: t\r\n\r\n");
	wn_warc_record r;
	wn_warc *w = one_response(&s, "HTTP/1.1 200 OK",
		"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
		"content-type: TEXT/HTML;\r\n  charset=GBK\r\n", chunked.data, chunked.len, &r);
	cr_assert_eq(r.http, 1);
	cr_assert_null(r.http_error, "%s", r.http_error);
	cr_assert_eq(r.payload_len, strlen(text));
	cr_assert_str_eq(r.payload, text);
	cr_assert_str_eq(r.mime, "text/html");
	cr_assert_str_eq(r.charset, "gbk", "continued header line");
	wn_warc_free(w);
	wn_buf_release(&z);
	wn_buf_release(&chunked);
	wn_buf_release(&s);
}

Test(warc_http, deflate_zlib_raw_and_xgzip)
{
	const char *text = "deflated body text, deflated body text, deflated body text";
	int bits[] = { 15, -15, 15 + 16 };
	const char *enc[] = { "deflate", "deflate", "x-gzip" };
	for (int i = 0; i < 3; i++) {
		wn_buf z = WN_BUF_INIT, s = WN_BUF_INIT, h = WN_BUF_INIT;
		gz(&z, text, strlen(text), bits[i]);
		wn_buf_addf(&h, "Content-Encoding: %s\r\nContent-Type: text/plain\r\n", enc[i]);
		wn_warc_record r;
		wn_warc *w = one_response(&s, "HTTP/1.0 200 OK", h.data, z.data, z.len, &r);
		cr_assert_null(r.http_error, "%d: %s", i, r.http_error);
		cr_assert_str_eq(r.payload, text, "%d", i);
		cr_assert_str_eq(r.mime, "text/plain");
		cr_assert_not(wn_warc_is_html(&r));
		wn_warc_free(w);
		wn_buf_release(&z);
		wn_buf_release(&s);
		wn_buf_release(&h);
	}
}

Test(warc_http, bodies_stored_decoded_are_taken_as_they_are)
{
	const char *text = "<html>already decoded</html>";
	wn_buf s = WN_BUF_INIT;
	wn_warc_record r;
	wn_warc *w = one_response(&s, "HTTP/1.1 200 OK",
		"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\n",
		text, strlen(text), &r);
	cr_assert_null(r.http_error);
	cr_assert_str_eq(r.payload, text);
	wn_warc_free(w);
	wn_buf_release(&s);
}

Test(warc_http, damaged_messages)
{
	wn_buf s = WN_BUF_INIT, z = WN_BUF_INIT;
	wn_warc_record r;
	wn_warc *w;

	/* unsupported coding: no payload */
	w = one_response(&s, "HTTP/1.1 200 OK", "Content-Encoding: br\r\n", "\x0b\x02\x80", 3, &r);
	cr_assert_str_eq(r.http_error, "unsupported Content-Encoding: br");
	cr_assert_null(r.payload);
	cr_assert_eq(r.http_status, 200);
	wn_warc_free(w);

	/* a chunked body cut short keeps what it had */
	const char *cut = "5\r\nhello\r\n10\r\nonly a part";
	w = one_response(&s, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", cut, strlen(cut), &r);
	cr_assert_str_eq(r.http_error, "truncated chunked body");
	cr_assert_str_eq(r.payload, "helloonly a part");
	wn_warc_free(w);

	/* a gzip body cut short: partial text */
	char big[4000];
	for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + (i * 7 + i / 13) % 26);
	gz(&z, big, sizeof big, 15 + 16);
	w = one_response(&s, "HTTP/1.1 200 OK", "Content-Encoding: gzip\r\n", z.data, z.len / 2, &r);
	cr_assert_str_eq(r.http_error, "truncated gzip body");
	cr_assert_leq(r.payload_len, sizeof big);
	cr_assert_eq(memcmp(r.payload, big, r.payload_len), 0);
	wn_warc_free(w);

	/* corrupt gzip */
	z.data[12] ^= 0x55;
	z.data[20] ^= 0x55;
	w = one_response(&s, "HTTP/1.1 200 OK", "Content-Encoding: gzip\r\n", z.data, z.len, &r);
	cr_assert_not_null(r.http_error);
	cr_assert(!strcmp(r.http_error, "corrupt gzip body") || !strcmp(r.http_error, "truncated gzip body"),
		"%s", r.http_error);
	wn_warc_free(w);

	/* not HTTP at all */
	w = one_response(&s, "SMTP/9 hi", "X: y\r\n", "body", 4, &r);
	cr_assert_eq(r.http, 0);
	cr_assert_str_eq(r.http_error, "bad HTTP status line");
	cr_assert_null(r.payload);
	wn_warc_free(w);

	/* a header without its empty line */
	wn_buf_reset(&s);
	rec_add(&s, "WARC/1.1", "response", "Content-Type: application/http\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", 42);
	mem_src m = src(&s, 0);
	w = wn_warc_new(mem_read, &m, NULL);
	cr_assert_eq(wn_warc_next(w, &r), 1);
	cr_assert_str_eq(r.http_error, "truncated HTTP header");
	wn_warc_free(w);

	/* the decoded payload is capped (a gzip bomb) */
	char *zeros = calloc(1, 1 << 20);
	wn_buf_reset(&z);
	gz(&z, zeros, 1 << 20, 15 + 16);
	free(zeros);
	wn_buf m2 = WN_BUF_INIT;
	http_msg(&m2, "HTTP/1.1 200 OK", "Content-Encoding: gzip\r\n", z.data, z.len);
	wn_buf_reset(&s);
	rec_add(&s, "WARC/1.1", "response", "Content-Type: application/http\r\n", m2.data, m2.len);
	m = src(&s, 0);
	wn_warc_opts o = { .max_block = 100000 };
	w = wn_warc_new(mem_read, &m, &o);
	cr_assert_eq(wn_warc_next(w, &r), 1, "%s", wn_warc_error(w));
	cr_assert_str_eq(r.http_error, "payload larger than the cap");
	cr_assert_null(r.payload);
	wn_warc_free(w);
	wn_buf_release(&m2);

	/* no_http: responses keep their block only */
	wn_buf_reset(&s);
	sample_stream(&s, "WARC/1.1");
	m = src(&s, 0);
	wn_warc_opts raw = { .no_http = 1 };
	w = wn_warc_new(mem_read, &m, &raw);
	int responses = 0;
	while (wn_warc_next(w, &r) == 1)
		if (r.type == WN_WARC_RESPONSE) {
			responses++;
			cr_assert_null(r.payload);
			cr_assert_eq(r.http, 0);
			cr_assert_not_null(r.block);
		}
	cr_assert_eq(responses, 1);
	wn_warc_free(w);
	wn_buf_release(&s);
	wn_buf_release(&z);
}

Test(warc_http, non_html_and_statuses)
{
	wn_buf s = WN_BUF_INIT;
	wn_warc_record r;
	wn_warc *w = one_response(&s, "HTTP/1.1 301 Moved Permanently",
		"Location: http://example.org/b\r\nContent-Type: image/png\r\n", "\x89PNG\r\n\x1a\n", 8, &r);
	cr_assert_eq(r.http_status, 301);
	cr_assert_str_eq(r.mime, "image/png");
	cr_assert_not(wn_warc_is_html(&r));
	cr_assert_eq(r.payload_len, 8);
	cr_assert_eq(memcmp(r.payload, "\x89PNG\r\n\x1a\n", 8), 0);
	wn_warc_free(w);
	w = one_response(&s, "HTTP/2 200", "content-type: application/xhtml+xml\r\n", "<x/>", 4, &r);
	cr_assert_eq(r.http_status, 200);
	cr_assert(wn_warc_is_html(&r));
	wn_warc_free(w);
	wn_buf_release(&s);
}

/* ---------------------------------------------------------------- errors */

/* Read a stream to its end; record the codes and messages seen. */
typedef struct {
	int n;
	int code[16];
	char msg[16][200];
	uint64_t ordinal[16];
} outcome;

static void run(const wn_buf *s, size_t step, const wn_warc_opts *o, outcome *out)
{
	mem_src m = src(s, step);
	wn_warc *w = wn_warc_new(mem_read, &m, o);
	wn_warc_record r;
	memset(out, 0, sizeof *out);
	for (int guard = 0; guard < 16; guard++) {
		int rc = wn_warc_next(w, &r);
		if (rc == 0) break;
		out->code[out->n] = rc;
		out->ordinal[out->n] = rc == 1 ? r.ordinal : 0;
		snprintf(out->msg[out->n], sizeof out->msg[0], "%s", rc == 1 ? "" : wn_warc_error(w));
		out->n++;
	}
	wn_warc_free(w);
}

Test(warc_errors, truncated_block_and_header)
{
	wn_buf s = WN_BUF_INIT;
	rec_add(&s, "WARC/1.1", "resource", "", "0123456789", 10);
	size_t second = s.len;
	rec_add(&s, "WARC/1.1", "resource", "", "0123456789", 10);
	wn_buf_setlen(&s, s.len - 4 - 6); /* the second block keeps 4 of 10 bytes */
	for (size_t step = 0; step < 2; step++) {
		outcome o;
		run(&s, step, NULL, &o);
		cr_assert_eq(o.n, 2);
		cr_assert_eq(o.code[0], 1);
		cr_assert_eq(o.code[1], WN_ETRUNC);
		char want[128];
		snprintf(want, sizeof want, "record 2 at byte %zu: truncated: the block has 4 of 10 bytes", second);
		cr_assert_str_eq(o.msg[1], want);
	}
	wn_buf_setlen(&s, second + 20);
	outcome o;
	run(&s, 1, NULL, &o);
	cr_assert_eq(o.n, 2);
	char want[128];
	snprintf(want, sizeof want, "record 2 at byte %zu: truncated in the header", second);
	cr_assert_eq(o.code[1], WN_ETRUNC);
	cr_assert_str_eq(o.msg[1], want);
	wn_buf_release(&s);
}

Test(warc_errors, bad_version_line_then_goes_on)
{
	wn_buf s = WN_BUF_INIT;
	rec_add(&s, "WARC/1.1", "resource", "", "a", 1);
	size_t bad = s.len;
	rec_add(&s, "WARC/one", "resource", "", "b", 1);
	rec_add(&s, "WARC/1.0", "resource", "", "c", 1);
	outcome o;
	run(&s, 0, NULL, &o);
	cr_assert_eq(o.n, 3);
	cr_assert_eq(o.code[0], 1);
	cr_assert_eq(o.code[1], WN_ECORRUPT);
	char want[128];
	snprintf(want, sizeof want, "record 2 at byte %zu: bad version line \"WARC/one\"", bad);
	cr_assert_str_eq(o.msg[1], want);
	cr_assert_eq(o.code[2], 1);
	cr_assert_eq(o.ordinal[2], 3);
	wn_buf_release(&s);
}

Test(warc_errors, content_length_missing_or_invalid)
{
	wn_buf s = WN_BUF_INIT;
	wn_buf_adds(&s, "WARC/1.1\r\nWARC-Type: resource\r\n\r\nabc\r\n\r\n");
	size_t second = s.len;
	wn_buf_adds(&s, "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 12x\r\n\r\nabc\r\n\r\n");
	size_t third = s.len;
	wn_buf_adds(&s, "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: -1\r\n\r\n\r\n\r\n");
	rec_add(&s, "WARC/1.1", "resource", "", "ok", 2);
	outcome o;
	run(&s, 0, NULL, &o);
	cr_assert_eq(o.n, 4);
	cr_assert_eq(o.code[0], WN_ECORRUPT);
	cr_assert_str_eq(o.msg[0], "record 1 at byte 0: missing Content-Length");
	char want[128];
	snprintf(want, sizeof want, "record 2 at byte %zu: invalid Content-Length \"12x\"", second);
	cr_assert_str_eq(o.msg[1], want);
	snprintf(want, sizeof want, "record 3 at byte %zu: invalid Content-Length \"-1\"", third);
	cr_assert_str_eq(o.msg[2], want);
	cr_assert_eq(o.code[3], 1);
	cr_assert_eq(o.ordinal[3], 4);
	wn_buf_release(&s);
}

Test(warc_errors, block_over_the_cap_is_skipped)
{
	wn_buf s = WN_BUF_INIT;
	char big[5000];
	memset(big, 'x', sizeof big);
	rec_add(&s, "WARC/1.1", "resource", "WARC-Target-URI: http://big/\r\n", big, sizeof big);
	rec_add(&s, "WARC/1.1", "resource", "", "small", 5);
	wn_warc_opts opts = { .max_block = 1000 };
	for (size_t step = 0; step < 2; step++) {
		mem_src m = src(&s, step ? 1 : 0);
		wn_warc *w = wn_warc_new(mem_read, &m, &opts);
		wn_warc_record r;
		cr_assert_eq(wn_warc_next(w, &r), WN_ETOOBIG);
		cr_assert_str_eq(wn_warc_error(w),
			"record 1 at byte 0: block of 5000 bytes is larger than the cap (1000 bytes), skipped");
		cr_assert_str_eq(r.target_uri, "http://big/", "fields come with the error");
		cr_assert_null(r.block);
		cr_assert_eq(r.block_len, 5000);
		cr_assert_eq(wn_warc_next(w, &r), 1);
		cr_assert_str_eq(r.block, "small");
		cr_assert_eq(r.ordinal, 2);
		cr_assert_eq(wn_warc_next(w, &r), 0);
		wn_warc_free(w);
	}
	/* cut inside the skipped block: truncated */
	wn_buf_setlen(&s, 3000);
	outcome o;
	run(&s, 0, &opts, &o);
	cr_assert_eq(o.n, 1);
	cr_assert_eq(o.code[0], WN_ETRUNC);
	cr_assert(strstr(o.msg[0], "record 1 at byte 0: truncated: the block has "), "%s", o.msg[0]);
	wn_buf_release(&s);
}

Test(warc_errors, garbage_between_records)
{
	wn_buf s = WN_BUF_INIT;
	rec_add(&s, "WARC/1.1", "resource", "", "a", 1);
	size_t at = s.len;
	wn_buf_adds(&s, "this is not\na record at all, a WARC/1.0 in the middle of a line\n");
	size_t junk = s.len - at;
	rec_add(&s, "WARC/1.1", "resource", "", "b", 1);
	size_t tail = s.len;
	wn_buf_adds(&s, "trailing junk");
	for (size_t step = 0; step < 2; step++) {
		outcome o;
		run(&s, step, NULL, &o);
		cr_assert_eq(o.n, 4);
		cr_assert_eq(o.code[1], WN_ECORRUPT);
		char want[128];
		snprintf(want, sizeof want, "record 2 at byte %zu: garbage between records, %zu bytes skipped",
			at, junk);
		cr_assert_str_eq(o.msg[1], want);
		cr_assert_eq(o.code[2], 1);
		cr_assert_eq(o.ordinal[2], 2);
		snprintf(want, sizeof want,
			"record 3 at byte %zu: garbage between records, 13 bytes skipped to the end", tail);
		cr_assert_str_eq(o.msg[3], want);
	}
	/* a block whose Content-Length is too short leaves garbage behind */
	wn_buf_reset(&s);
	wn_buf_adds(&s, "WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 3\r\n\r\nabcdef\r\n\r\n");
	rec_add(&s, "WARC/1.1", "resource", "", "b", 1);
	outcome o;
	run(&s, 0, NULL, &o);
	cr_assert_eq(o.n, 3);
	cr_assert_eq(o.code[0], 1);
	cr_assert_str_eq(o.msg[1], "record 2 at byte 55: garbage between records, 7 bytes skipped");
	cr_assert_eq(o.code[2], 1);
	wn_buf_release(&s);
}

Test(warc_errors, gzip_bytes_where_a_record_starts)
{
	wn_buf s = WN_BUF_INIT, plain = WN_BUF_INIT;
	sample_stream(&plain, "WARC/1.1");
	gz(&s, plain.data, plain.len, 15 + 16);
	outcome o;
	run(&s, 0, NULL, &o);
	cr_assert_geq(o.n, 1);
	cr_assert_eq(o.code[0], WN_ECORRUPT);
	cr_assert_str_eq(o.msg[0],
		"record 1 at byte 0: gzip data where a record should start (decompress the stream first)");
	wn_buf_release(&s);
	wn_buf_release(&plain);
}

Test(warc_errors, read_error_and_huge_header)
{
	wn_buf s = WN_BUF_INIT;
	sample_stream(&s, "WARC/1.1");
	mem_src m = src(&s, 0);
	m.fail_at = 100;
	m.step = 50;
	wn_warc *w = wn_warc_new(mem_read, &m, NULL);
	wn_warc_record r;
	int rc = wn_warc_next(w, &r);
	cr_assert_eq(rc, WN_EIO, "rc %d %s", rc, wn_warc_error(w));
	cr_assert_str_eq(wn_warc_error(w), "record 1 at byte 0: read error");
	cr_assert_eq(wn_warc_next(w, &r), 0);
	wn_warc_free(w);

	wn_buf_reset(&s);
	wn_buf_adds(&s, "WARC/1.1\r\nWARC-Type: resource\r\n");
	for (int i = 0; i < 300; i++) wn_buf_addf(&s, "X-Pad-%d: %0100d\r\n", i, i);
	wn_buf_adds(&s, "Content-Length: 1\r\n\r\nz\r\n\r\n");
	rec_add(&s, "WARC/1.1", "resource", "", "ok", 2);
	wn_warc_opts o = { .max_header = 4096 };
	m = src(&s, 0);
	w = wn_warc_new(mem_read, &m, &o);
	cr_assert_eq(wn_warc_next(w, &r), WN_ECORRUPT);
	cr_assert_str_eq(wn_warc_error(w), "record 1 at byte 0: header larger than 4096 bytes");
	cr_assert_eq(wn_warc_next(w, &r), 1);
	cr_assert_str_eq(r.block, "ok");
	wn_warc_free(w);
	wn_buf_release(&s);
}

Test(warc_errors, mutated_streams_never_crash)
{
	wn_buf s = WN_BUF_INIT, t = WN_BUF_INIT;
	sample_stream(&s, "WARC/1.1");
	sample_stream(&s, "WARC/1.0");
	tu_rng g = { 0x9e3779b97f4a7c15ULL };
	for (int it = 0; it < 3000; it++) {
		wn_buf_reset(&t);
		wn_buf_add(&t, s.data, s.len);
		int muts = 1 + (int)tu_below(&g, 8);
		for (int k = 0; k < muts; k++) {
			size_t at = tu_below(&g, (uint32_t)t.len);
			switch (tu_below(&g, 3)) {
			case 0: t.data[at] = (char)tu_next(&g); break;
			case 1: wn_buf_setlen(&t, at); break;
			case 2: t.data[at] = "\r\n:0 W"[tu_below(&g, 6)]; break;
			}
			if (!t.len) break;
		}
		mem_src m = src(&t, 1 + tu_below(&g, 64));
		wn_warc_opts o = { .max_block = 1 + tu_below(&g, 400) };
		wn_warc *w = wn_warc_new(mem_read, &m, it % 2 ? &o : NULL);
		wn_warc_record r;
		int rc, guard = 0;
		while ((rc = wn_warc_next(w, &r)) != 0 && guard++ < 100) {
			if (rc == 1) {
				cr_assert_not_null(r.version);
				if (r.payload) cr_assert_eq(r.payload[r.payload_len], 0);
			} else {
				cr_assert(!strncmp(wn_warc_error(w), "record ", 7), "%s", wn_warc_error(w));
			}
		}
		cr_assert_lt(guard, 100, "the reader always reaches the end");
		wn_warc_free(w);
	}
	wn_buf_release(&s);
	wn_buf_release(&t);
}
