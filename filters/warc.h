/*
 * warc.h - a streaming reader of WARC files (WARC/1.0 and WARC/1.1), for
 * `winnow norm --from warc`.
 *
 * Entry points: wn_warc_new() over a read callback, wn_warc_next() for each
 * record in turn, wn_warc_error() for the message of the last error,
 * wn_warc_free().  The input arrives already decompressed (a .warc.gz is a
 * series of gzip members, one per record, that the caller's reader decodes
 * into one plain stream), through `read`, which returns the bytes it put
 * in buf, 0 at the end, or a negative number on an error; short reads of
 * any size are fine.  Memory: one buffer that holds the record being
 * returned (header and block, up to max_block), and the decoded payload.
 *
 * A record is a version line ("WARC/1.1"), named fields ("Name: value",
 * names compared without regard to case, continuation lines starting with
 * a space or tab joined with one space), an empty line, Content-Length
 * bytes of block, then CRLF CRLF.  Lines may end in CRLF or LF alone; CR
 * and LF bytes between records are skipped silently.
 *
 * What wn_warc_next() returns:
 *   1  a record, in *rec;
 *   0  the clean end of the stream;
 *   <0 a WN_E code, with "record N at byte X: what" in wn_warc_error()
 *      (N counts records from 1, X is the byte offset in the stream):
 *      WN_ETRUNC   the stream ends inside a record (header or block); the
 *                  next call returns 0;
 *      WN_ECORRUPT a bad version line, a missing or invalid Content-Length,
 *                  a header larger than max_header, or garbage where a
 *                  record should start (gzip bytes get their own message):
 *                  the reader has skipped to the next line that starts
 *                  with "WARC/", so calling again goes on;
 *      WN_ETOOBIG  a block larger than max_block: skipped without being
 *                  held in memory; *rec has the record's fields but no
 *                  block; calling again goes on;
 *      WN_EIO      the read callback failed; the next call returns 0.
 *
 * HTTP.  For a response record whose Content-Type is application/http
 * (msgtype=response or none), the block is parsed as an HTTP response:
 * status line, header fields (continuation lines, any case), then the
 * body, which is de-chunked when Transfer-Encoding says chunked and
 * inflated when Content-Encoding says gzip, x-gzip or deflate (zlib or raw).
 * Crawlers that store the decoded body but keep those headers are common,
 * so a body that does not look chunked, or gzip data that lacks the gzip
 * magic, is taken as it is.  rec->payload is the decoded body; for
 * resource and conversion records, and responses that are not HTTP, it is
 * the block.  rec->mime and rec->charset come from the HTTP Content-Type
 * (or the WARC one when there is no HTTP).  A damaged HTTP message is not
 * a stream error: rec->http_error says what went wrong and rec->payload is
 * what could be decoded (partial after a broken chunk or gzip stream, NULL
 * for an unsupported Content-Encoding such as br or a payload larger than
 * max_block).  Other records (warcinfo, request, metadata, revisit,
 * continuation) come with their type and block, and no payload.
 *
 * Ownership: every pointer in a record points into the reader and stays
 * valid until the next wn_warc_next() or wn_warc_free().  Strings are
 * NUL-terminated; block and payload are binary, with a NUL after them.
 */
#ifndef WN_WARC_H
#define WN_WARC_H

#include <stddef.h>
#include <stdint.h>

typedef long (*wn_warc_read_fn)(void *ctx, void *buf, size_t n);

typedef struct wn_warc wn_warc;

typedef enum wn_warc_type {
	WN_WARC_OTHER,        /* a type this reader does not know, or none */
	WN_WARC_WARCINFO,
	WN_WARC_RESPONSE,
	WN_WARC_RESOURCE,
	WN_WARC_REQUEST,
	WN_WARC_METADATA,
	WN_WARC_REVISIT,
	WN_WARC_CONVERSION,
	WN_WARC_CONTINUATION,
} wn_warc_type;

typedef struct wn_warc_field {
	const char *name;  /* as written */
	const char *value; /* trimmed; continuation lines joined */
} wn_warc_field;

typedef struct wn_warc_record {
	const char *version;      /* "WARC/1.0", "WARC/1.1" */
	wn_warc_type type;
	const char *type_name;    /* WARC-Type as written, "" if missing */
	const char *target_uri;   /* WARC-Target-URI (without <>), or NULL */
	const char *date;         /* WARC-Date, or NULL */
	const char *record_id;    /* WARC-Record-ID, or NULL */
	const char *content_type; /* Content-Type of the block, or NULL */
	uint64_t offset;          /* byte offset of the version line in the stream */
	uint64_t ordinal;         /* 1 for the first record */
	const char *block;        /* Content-Length bytes; NULL for a skipped block */
	uint64_t block_len;       /* the Content-Length */
	const wn_warc_field *fields;
	size_t nfields;

	int http;                 /* 1: the block was parsed as an HTTP response */
	int http_status;          /* e.g. 200; 0 without HTTP */
	const char *http_error;   /* NULL, or what was wrong with the HTTP message */
	const char *payload;      /* decoded body (see above), or NULL */
	size_t payload_len;
	const char *mime;         /* lowercase media type, "" if unknown */
	const char *charset;      /* lowercase charset parameter, or NULL */
} wn_warc_record;

typedef struct wn_warc_opts {
	size_t max_block;  /* largest block held, and largest decoded payload (0: 64 MiB) */
	size_t max_header; /* largest WARC header (0: 1 MiB) */
	int no_http;       /* 1: no HTTP parsing; payload is NULL for responses */
} wn_warc_opts;

/* A reader over read(ctx, ...); o may be NULL.  Never NULL. */
wn_warc *wn_warc_new(wn_warc_read_fn read, void *ctx, const wn_warc_opts *o);
void wn_warc_free(wn_warc *w); /* accepts NULL */

/* The next record: 1, 0 at the end, or a negative WN_E code (see above). */
int wn_warc_next(wn_warc *w, wn_warc_record *rec);

/* "record N at byte X: ..." for the last error; "" if none. */
const char *wn_warc_error(const wn_warc *w);

/* Bytes of the stream consumed so far. */
uint64_t wn_warc_tell(const wn_warc *w);

/* A field of a record by name (any case), or NULL. */
const char *wn_warc_get(const wn_warc_record *rec, const char *name);

/* The name of a record type ("response"). */
const char *wn_warc_type_name(wn_warc_type t);

/* 1 if the payload is HTML by its media type (text/html, xhtml). */
int wn_warc_is_html(const wn_warc_record *rec);

#endif
