/*
 * shard.h - reading and writing JSONL shards: files, stdin, http(s);
 * zstd, gzip or plain.
 *
 * Reading.  wn_reader_open() starts a producer thread that reads the source
 * (a file, "-" for stdin, or an http(s) URL streamed through libcurl with a
 * bounded retry that resumes at the byte it reached), detects the
 * compression from the first bytes (zstd magic or skippable frame, gzip
 * magic, otherwise plain) and decodes into a small ring of fixed-size
 * chunks.  The consumer calls wn_reader_next() to frame lines: a line that
 * lies inside one chunk is returned in place (no copy), one that spans
 * chunks is assembled in a line buffer capped at `max_line` bytes.  Memory
 * is therefore constant: the ring plus the longest line.  "\r\n" endings
 * lose the "\r"; a last line without "\n" is still a line.
 *
 * A compressed stream that ends early (truncated) or cannot be decoded is
 * an error, reported once all complete lines before it have been returned;
 * the partial line at the point of truncation is never returned.
 *
 * Writing.  wn_writer_open() writes stdout ("-" or NULL) or a file, with
 * compression chosen by the name (".zst", ".gz", else plain).  A regular
 * file is written under a temporary name beside the target and renamed
 * into place by wn_writer_close() only when everything was written and
 * synced; wn_writer_abort() or a fatal signal (see wn_tmpfiles_cleanup)
 * removes the temporary.  zstd compression uses `threads` worker threads.
 *
 * Ownership: the reader owns the memory of returned lines; a line is valid
 * until the next wn_reader_next() or wn_reader_close(), and at least
 * WN_READER_PADDING bytes after it are readable (for wn_doc_parse_padded).
 * Strings passed to open are copied.
 */
#ifndef WN_SHARD_H
#define WN_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* ---- reading ---- */

#define WN_READER_PADDING 64

typedef struct wn_reader wn_reader;

typedef struct wn_reader_opts {
	size_t max_line;   /* longest accepted line in bytes (0: 1 GiB) */
	int http_retries;  /* retries after a transient network error (-1: 4) */
} wn_reader_opts;

/* Open `path`; 0 or a WN_E code (the reader is still returned so that
 * wn_reader_error() can tell why; close it in either case). */
int wn_reader_open(wn_reader **r, const char *path, const wn_reader_opts *o);

/* Next line: 1 and (*line, *len) on success; 0 at a clean end; WN_ETOOBIG
 * for a line longer than max_line (it was skipped; reading may go on);
 * another WN_E code for a fatal error (truncated, corrupt, i/o, http). */
int wn_reader_next(wn_reader *r, const char **line, size_t *len);

/* Raw decoded bytes instead of lines (for inputs that are not JSONL:
 * text, HTML, WARC); do not mix with wn_reader_next() on one reader.
 * Returns the bytes read (short only at the end), 0 at a clean end, or a
 * WN_E code once all bytes before an error were returned. */
long wn_reader_read(wn_reader *r, void *buf, size_t n);
const char *wn_reader_name(const wn_reader *r);  /* path or URL as given */
const char *wn_reader_codec(const wn_reader *r); /* "zstd","gzip","plain" */
const char *wn_reader_error(const wn_reader *r); /* message of last error */
uint64_t wn_reader_lineno(const wn_reader *r);   /* 1-based, last line */
uint64_t wn_reader_raw_bytes(const wn_reader *r);  /* compressed, so far */
uint64_t wn_reader_data_bytes(const wn_reader *r); /* decoded, framed */
int64_t wn_reader_size(const wn_reader *r); /* compressed size or -1 */
void wn_reader_close(wn_reader *r);         /* accepts NULL */

/* ---- writing ---- */

typedef struct wn_writer wn_writer;

enum wn_codec { WN_CODEC_PLAIN, WN_CODEC_ZSTD, WN_CODEC_GZIP };

typedef struct wn_writer_opts {
	int level;    /* compression level; 0: the codec's default (zstd 3, gzip 6) */
	int threads;  /* zstd worker threads; 0: 2 */
} wn_writer_opts;

enum wn_codec wn_codec_from_name(const char *path);

int wn_writer_open(wn_writer **w, const char *path, const wn_writer_opts *o);
int wn_writer_write(wn_writer *w, const void *p, size_t n);
/* Finish the stream, flush, sync and rename into place; frees w. */
int wn_writer_close(wn_writer *w, char *err, size_t errlen);
/* Drop everything written; removes the temporary file; frees w. */
void wn_writer_abort(wn_writer *w);
const char *wn_writer_error(const wn_writer *w);
uint64_t wn_writer_bytes(const wn_writer *w); /* uncompressed bytes taken */

/* Remove every temporary file still open; async-signal-safe, for the
 * CLI's fatal-signal handler. */
void wn_tmpfiles_cleanup(void);
/* Put a temporary file of another writer on that list (a slot, or -1 when
 * the list is full) and take it off again. */
int wn_tmpfile_register(const char *name);
void wn_tmpfile_unregister(int slot);

/* True if `path` names a file that exists (for --skip-existing). */
int wn_path_exists(const char *path);

/* Create `path` and its missing parents (mkdir -p); 0 or -1 with errno.
 * Safe when several processes create the same tree at once. */
int wn_mkdirs(const char *path);

#endif
