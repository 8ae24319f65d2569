/*
 * shard_read.c - streaming shard reader (see shard.h for the contract).
 *
 * Two threads per open reader:
 *
 *   producer:  source (read(2) on a file or stdin, or libcurl's write
 *              callback for a URL) -> decoder (zstd / gzip / plain, chosen
 *              from the first four bytes) -> ring of NCHUNK chunks of
 *              CHUNK bytes.  When every chunk is full it waits, which is
 *              what keeps an http download or a pipe at constant memory.
 *   consumer:  wn_reader_next() frames lines with memchr() inside the
 *              current chunk and only copies a line that spans chunks.
 *
 * The producer ends by pushing one terminal chunk carrying the end state:
 * clean end, or an error code and message.  The consumer drops the partial
 * line it holds when the end is an error, so a truncated stream never
 * yields a cut document.
 *
 * HTTP: a transient failure (refused or reset connection, timeout, short
 * body, 5xx) is retried up to `http_retries` times with doubling back-off;
 * the retry asks for the remaining bytes with a Range request and, if the
 * server answers 200 instead of 206, skips what was already decoded.
 * A 4xx status is final.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"
#include "shard.h"

#define NCHUNK 4
#define CHUNK (1u << 20)     /* decoded bytes per chunk */
#define INBUF (256u << 10)   /* raw bytes per read(2) */

enum codec { C_UNKNOWN, C_PLAIN, C_ZSTD, C_GZIP };

struct chunk {
	char *data;
	size_t len;
	int end;        /* terminal marker: no data, stream over */
	int err;        /* with end: 0 clean, else WN_E code */
};

struct wn_reader {
	char *name;
	wn_reader_opts o;
	int fd;              /* file source, -1 for http */
	int own_fd;          /* we opened fd (not stdin): close it */
	int is_url;
	_Atomic int64_t size; /* compressed size when known, else -1 */

	/* ring: producer fills chunks[tail % N], consumer reads [head % N] */
	struct chunk ring[NCHUNK];
	unsigned head, tail;  /* guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t can_fill, can_read;
	_Atomic int cancel;
	pthread_t thread;
	int thread_started;

	/* producer-only state */
	enum codec codec;
	unsigned char magic[4];
	size_t nmagic;
	ZSTD_DStream *zd;
	size_t zlast;         /* last ZSTD_decompressStream result: 0 = frame done */
	z_stream gz;
	int gz_init, gz_end;  /* inflate ready; last member ended cleanly */
	struct chunk *cur;    /* chunk being filled */
	int perr;             /* producer error code */
	char pmsg[256];       /* producer error message */
	_Atomic uint64_t raw_bytes;
	uint64_t http_skip;   /* bytes to drop after a 200 to a Range request */
	uint64_t http_got;    /* body bytes taken so far over all attempts */
	int http_status;      /* status of the response being received */

	/* consumer-only state */
	struct chunk *rc;     /* chunk being framed, or NULL */
	size_t rpos;
	wn_buf line;
	int skipping;         /* discarding a too-long line up to its '\n' */
	uint64_t lineno, data_bytes;
	int done;             /* 0 running, 1 clean end, <0 error returned */
	char msg[512];
};

/* ---- ring ---- */

static struct chunk *ring_get_free(wn_reader *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->tail - r->head == NCHUNK && !atomic_load(&r->cancel))
		pthread_cond_wait(&r->can_fill, &r->mu);
	struct chunk *c = NULL;
	if (!atomic_load(&r->cancel)) {
		c = &r->ring[r->tail % NCHUNK];
		c->len = 0;
		c->end = c->err = 0;
	}
	pthread_mutex_unlock(&r->mu);
	return c;
}

static void ring_push(wn_reader *r)
{
	pthread_mutex_lock(&r->mu);
	r->tail++;
	pthread_cond_signal(&r->can_read);
	pthread_mutex_unlock(&r->mu);
}

static struct chunk *ring_get_full(wn_reader *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->tail == r->head)
		pthread_cond_wait(&r->can_read, &r->mu);
	struct chunk *c = &r->ring[r->head % NCHUNK];
	pthread_mutex_unlock(&r->mu);
	return c;
}

static void ring_release(wn_reader *r)
{
	pthread_mutex_lock(&r->mu);
	r->head++;
	pthread_cond_signal(&r->can_fill);
	pthread_mutex_unlock(&r->mu);
}

/* ---- producer: decoded output into chunks ---- */

static int perror_set(wn_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perror_set(wn_reader *r, int code, const char *fmt, ...)
{
	if (r->perr) return r->perr;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->pmsg, sizeof r->pmsg, fmt, ap);
	va_end(ap);
	r->perr = code;
	return code;
}

/* Make sure r->cur has room; 0, or WN_EPIPE when cancelled. */
static int cur_room(wn_reader *r)
{
	if (r->cur && r->cur->len < CHUNK) return 0;
	if (r->cur) ring_push(r);
	r->cur = ring_get_free(r);
	return r->cur ? 0 : WN_EPIPE;
}

static int emit_plain(wn_reader *r, const unsigned char *p, size_t n)
{
	while (n) {
		int rc = cur_room(r);
		if (rc) return rc;
		size_t k = CHUNK - r->cur->len;
		if (k > n) k = n;
		memcpy(r->cur->data + r->cur->len, p, k);
		r->cur->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int emit_zstd(wn_reader *r, const unsigned char *p, size_t n)
{
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		int rc = cur_room(r);
		if (rc) return rc;
		ZSTD_outBuffer out = { r->cur->data, CHUNK, r->cur->len };
		size_t ret = ZSTD_decompressStream(r->zd, &out, &in);
		r->cur->len = out.pos;
		if (ZSTD_isError(ret))
			return perror_set(r, WN_ECORRUPT, "corrupt zstd stream (%s)",
					  ZSTD_getErrorName(ret));
		r->zlast = ret;
		if (in.pos == in.size && out.pos < out.size) return 0;
	}
}

static int emit_gzip(wn_reader *r, const unsigned char *p, size_t n)
{
	z_stream *z = &r->gz;
	z->next_in = (unsigned char *)p;
	z->avail_in = (uInt)n;
	while (z->avail_in) {
		int rc = cur_room(r);
		if (rc) return rc;
		if (r->gz_end) {
			/* another gzip member follows (concatenated .gz, WARC) */
			inflateReset(z);
			r->gz_end = 0;
		}
		z->next_out = (unsigned char *)r->cur->data + r->cur->len;
		z->avail_out = (uInt)(CHUNK - r->cur->len);
		int zr = inflate(z, Z_NO_FLUSH);
		r->cur->len = CHUNK - z->avail_out;
		if (zr == Z_STREAM_END) {
			r->gz_end = 1;
		} else if (zr == Z_BUF_ERROR) {
			if (z->avail_out) break; /* needs more input */
		} else if (zr != Z_OK) {
			return perror_set(r, WN_ECORRUPT, "corrupt gzip stream (%s)",
					  z->msg ? z->msg : "inflate failed");
		}
	}
	/* output may still be pending inside zlib with input exhausted */
	while (!r->gz_end) {
		int rc = cur_room(r);
		if (rc) return rc;
		z->next_out = (unsigned char *)r->cur->data + r->cur->len;
		z->avail_out = (uInt)(CHUNK - r->cur->len);
		int zr = inflate(z, Z_NO_FLUSH);
		r->cur->len = CHUNK - z->avail_out;
		if (zr == Z_STREAM_END) { r->gz_end = 1; break; }
		if (zr == Z_BUF_ERROR || z->avail_out) break;
		if (zr != Z_OK)
			return perror_set(r, WN_ECORRUPT, "corrupt gzip stream (%s)",
					  z->msg ? z->msg : "inflate failed");
	}
	return 0;
}

static int decode(wn_reader *r, const unsigned char *p, size_t n)
{
	switch (r->codec) {
	case C_ZSTD: return emit_zstd(r, p, n);
	case C_GZIP: return emit_gzip(r, p, n);
	default: return emit_plain(r, p, n);
	}
}

static void pick_codec(wn_reader *r)
{
	const unsigned char *m = r->magic;
	if (r->nmagic >= 4 && m[0] == 0x28 && m[1] == 0xB5 && m[2] == 0x2F && m[3] == 0xFD)
		r->codec = C_ZSTD;
	else if (r->nmagic >= 4 && (m[0] & 0xF0) == 0x50 && m[1] == 0x2A && m[2] == 0x4D && m[3] == 0x18)
		r->codec = C_ZSTD; /* skippable frame */
	else if (r->nmagic >= 2 && m[0] == 0x1F && m[1] == 0x8B)
		r->codec = C_GZIP;
	else
		r->codec = C_PLAIN;
	if (r->codec == C_ZSTD) {
		r->zd = ZSTD_createDStream();
		if (!r->zd) wn_die_oom();
		/* accept windows up to 2 GiB (--long archives) */
		ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax, 31);
		r->zlast = 0;
	} else if (r->codec == C_GZIP) {
		memset(&r->gz, 0, sizeof r->gz);
		if (inflateInit2(&r->gz, 16 + MAX_WBITS) != Z_OK) wn_die_oom();
		r->gz_init = 1;
		r->gz_end = 0;
	}
}

/* Raw bytes from the source: collect the magic, then decode. */
static int feed(wn_reader *r, const unsigned char *p, size_t n)
{
	atomic_fetch_add(&r->raw_bytes, n);
	if (r->codec == C_UNKNOWN) {
		while (n && r->nmagic < 4) {
			r->magic[r->nmagic++] = *p++;
			n--;
		}
		if (r->nmagic < 4) return 0;
		pick_codec(r);
		int rc = decode(r, r->magic, 4);
		if (rc) return rc;
	}
	return n ? decode(r, p, n) : 0;
}

/* End of source: flush the magic of a tiny input, check completeness. */
static int feed_end(wn_reader *r)
{
	if (r->codec == C_UNKNOWN) {
		if (r->nmagic == 0) { r->codec = C_PLAIN; return 0; }
		pick_codec(r);
		int rc = decode(r, r->magic, r->nmagic);
		if (rc) return rc;
	}
	if (r->codec == C_ZSTD && r->zlast != 0)
		return perror_set(r, WN_ETRUNC, "truncated zstd stream");
	if (r->codec == C_GZIP && !r->gz_end)
		return perror_set(r, WN_ETRUNC, "truncated gzip stream");
	return 0;
}

/* ---- sources ---- */

static int read_fd(wn_reader *r)
{
	unsigned char *buf = wn_malloc(INBUF);
	int rc = 0;
	for (;;) {
		if (atomic_load(&r->cancel)) { rc = WN_EPIPE; break; }
		ssize_t k = read(r->fd, buf, INBUF);
		if (k < 0) {
			if (errno == EINTR) continue;
			rc = perror_set(r, WN_EIO, "read error: %s", strerror(errno));
			break;
		}
		if (k == 0) { rc = feed_end(r); break; }
		rc = feed(r, buf, (size_t)k);
		if (rc) break;
	}
	free(buf);
	return rc;
}

static size_t curl_write(char *p, size_t size, size_t nmemb, void *ud)
{
	wn_reader *r = ud;
	size_t n = size * nmemb, all = n;
	if (r->http_skip) {
		size_t k = r->http_skip < n ? (size_t)r->http_skip : n;
		r->http_skip -= k;
		p += k;
		n -= k;
	}
	if (!n) return all;
	if (feed(r, (unsigned char *)p, n)) return 0; /* aborts the transfer */
	r->http_got += n;
	return all;
}

static size_t curl_header(char *p, size_t size, size_t nmemb, void *ud)
{
	wn_reader *r = ud;
	size_t n = size * nmemb;
	/* a status line starts each response (also after redirects) */
	if (n > 9 && !memcmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', n);
		int status = sp ? atoi(sp + 1) : 0;
		/* a 200 to a Range request restarts the body from byte 0 */
		r->http_skip = (status == 200) ? r->http_got : 0;
		r->http_status = status;
	} else if (n > 15 && !strncasecmp(p, "content-length:", 15) &&
		   (r->http_status == 200 || r->http_status == 206)) {
		/* the size of the whole file, for progress: a 206 sends the rest */
		long long cl = strtoll(p + 15, NULL, 10);
		if (cl >= 0)
			atomic_store(&r->size, (int64_t)(cl + (r->http_status == 206 ? (long long)r->http_got : 0)));
	}
	return n;
}

static int transient_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static int read_url(wn_reader *r)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *h = curl_easy_init();
	if (!h) return perror_set(r, WN_ENOMEM, "cannot start libcurl");
	int retries = r->o.http_retries < 0 ? 4 : r->o.http_retries;
	long delay_ms = 250;
	int rc = 0;
	char cerr[CURL_ERROR_SIZE];
	for (int attempt = 0;; attempt++) {
		curl_easy_reset(h);
		cerr[0] = 0;
		curl_easy_setopt(h, CURLOPT_URL, r->name);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, curl_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
		/* a stalled transfer (under 1 byte/s for 60 s) is a timeout */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "winnow");
		char range[32];
		if (r->http_got) {
			/* CURLOPT_RANGE, not RESUME_FROM: a server that ignores it
			 * answers 200 and curl_header() skips what we have */
			snprintf(range, sizeof range, "%llu-", (unsigned long long)r->http_got);
			curl_easy_setopt(h, CURLOPT_RANGE, range);
		}
		r->http_skip = 0;
		CURLcode c = curl_easy_perform(h);
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (c == CURLE_OK) {
			rc = feed_end(r);
			break;
		}
		if (c == CURLE_WRITE_ERROR) { /* decoder error or cancelled */
			rc = r->perr ? r->perr : WN_EPIPE;
			break;
		}
		int transient = transient_curl(c);
		if (c == CURLE_HTTP_RETURNED_ERROR)
			transient = status >= 500;
		if (!transient || attempt >= retries || atomic_load(&r->cancel)) {
			if (c == CURLE_HTTP_RETURNED_ERROR)
				rc = perror_set(r, WN_EHTTP, "http status %ld", status);
			else
				rc = perror_set(r, WN_ENET, "%s%s%s", curl_easy_strerror(c),
						cerr[0] ? ": " : "", cerr);
			if (attempt) {
				size_t l = strlen(r->pmsg);
				snprintf(r->pmsg + l, sizeof r->pmsg - l, " (after %d retries)", attempt);
			}
			break;
		}
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		delay_ms *= 2;
	}
	curl_easy_cleanup(h);
	return rc;
}

static void *producer(void *arg)
{
	wn_reader *r = arg;
	int rc = r->is_url ? read_url(r) : read_fd(r);
	if (rc == WN_EPIPE && atomic_load(&r->cancel)) return NULL;
	if (rc && !r->perr) perror_set(r, rc, "%s", wn_strerror(rc));
	/* publish the last data chunk, then the terminal marker */
	if (r->cur && r->cur->len) {
		ring_push(r);
		r->cur = NULL;
	}
	if (!r->cur) r->cur = ring_get_free(r);
	if (!r->cur) return NULL;
	r->cur->end = 1;
	r->cur->err = rc;
	ring_push(r);
	r->cur = NULL;
	return NULL;
}

/* ---- public ---- */

static int is_url(const char *p)
{
	return !strncmp(p, "http://", 7) || !strncmp(p, "https://", 8);
}

int wn_reader_open(wn_reader **out, const char *path, const wn_reader_opts *o)
{
	wn_reader *r = wn_calloc(1, sizeof *r);
	*out = r;
	if (!path) path = "-";
	r->name = wn_strdup(path);
	if (o) r->o = *o;
	else r->o.http_retries = -1;
	if (!r->o.max_line) r->o.max_line = (size_t)1 << 30;
	r->fd = -1;
	atomic_store(&r->size, -1);
	/* + a '\r' of CRLF, + the padding a parser may read past the end */
	wn_buf_init(&r->line, r->o.max_line + 1 + WN_READER_PADDING);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->can_fill, NULL);
	pthread_cond_init(&r->can_read, NULL);
	for (int i = 0; i < NCHUNK; i++) r->ring[i].data = wn_calloc(1, CHUNK + WN_READER_PADDING);

	if (is_url(path)) {
		r->is_url = 1;
	} else if (!strcmp(path, "-")) {
		r->fd = 0;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		r->own_fd = r->fd >= 0;
		if (r->fd < 0) {
			snprintf(r->msg, sizeof r->msg, "%s", strerror(errno));
			r->done = WN_EIO;
			return WN_EIO;
		}
		struct stat st;
		if (fstat(r->fd, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				snprintf(r->msg, sizeof r->msg, "is a directory");
				r->done = WN_EIO;
				return WN_EIO;
			}
			if (S_ISREG(st.st_mode)) atomic_store(&r->size, (int64_t)st.st_size);
		}
#ifdef POSIX_FADV_SEQUENTIAL
		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	}
	if (pthread_create(&r->thread, NULL, producer, r)) {
		snprintf(r->msg, sizeof r->msg, "cannot start reader thread");
		r->done = WN_EIO;
		return WN_EIO;
	}
	r->thread_started = 1;
	return 0;
}

/* Finish the current line from the line buffer. */
static int line_done(wn_reader *r, const char **line, size_t *len)
{
	r->lineno++;
	wn_buf_grow(&r->line, WN_READER_PADDING); /* cannot fail: max allows it */
	char *p = r->line.data;
	size_t n = r->line.len;
	if (n && p[n - 1] == '\r') n--;
	if (n > r->o.max_line) { /* the buffer holds one byte more, for a '\r' */
		wn_buf_reset(&r->line);
		snprintf(r->msg, sizeof r->msg, "line longer than %zu bytes", r->o.max_line);
		return WN_ETOOBIG;
	}
	*line = p;
	*len = n;
	return 1;
}

int wn_reader_next(wn_reader *r, const char **line, size_t *len)
{
	if (r->done) return r->done > 0 ? 0 : r->done;
	if (r->line.len || r->line.cap) wn_buf_reset(&r->line);
	for (;;) {
		if (r->rc && r->rpos == r->rc->len) {
			ring_release(r);
			r->rc = NULL;
		}
		if (!r->rc) {
			r->rc = ring_get_full(r);
			r->rpos = 0;
			if (r->rc->end) {
				int err = r->rc->err;
				if (err) {
					r->done = err;
					snprintf(r->msg, sizeof r->msg,
						 "%s after %llu complete lines", r->pmsg,
						 (unsigned long long)r->lineno);
					return err;
				}
				r->done = 1;
				if (r->skipping) {
					r->skipping = 0;
					r->lineno++;
					snprintf(r->msg, sizeof r->msg,
						 "line longer than %zu bytes", r->o.max_line);
					return WN_ETOOBIG;
				}
				if (r->line.len) return line_done(r, line, len);
				return 0;
			}
		}
		const char *base = r->rc->data + r->rpos;
		size_t avail = r->rc->len - r->rpos;
		const char *nl = memchr(base, '\n', avail);
		size_t take = nl ? (size_t)(nl - base) : avail;
		r->rpos += take + (nl ? 1 : 0);
		r->data_bytes += take + (nl ? 1 : 0);
		if (r->skipping) {
			if (nl) {
				r->skipping = 0;
				r->lineno++;
				snprintf(r->msg, sizeof r->msg, "line longer than %zu bytes",
					 r->o.max_line);
				return WN_ETOOBIG;
			}
			continue;
		}
		if (nl && r->line.len == 0) {
			size_t content = take - (take && base[take - 1] == '\r');
			if (content > r->o.max_line) {
				r->lineno++;
				snprintf(r->msg, sizeof r->msg, "line longer than %zu bytes",
					 r->o.max_line);
				return WN_ETOOBIG;
			}
			/* the common case: the whole line inside one chunk */
			r->lineno++;
			if (take && base[take - 1] == '\r') take--;
			*line = base;
			*len = take;
			return 1;
		}
		if (wn_buf_add(&r->line, base, take)) {
			wn_buf_reset(&r->line);
			if (nl) {
				r->lineno++;
				snprintf(r->msg, sizeof r->msg, "line longer than %zu bytes",
					 r->o.max_line);
				return WN_ETOOBIG;
			}
			r->skipping = 1;
			continue;
		}
		if (nl) return line_done(r, line, len);
	}
}

long wn_reader_read(wn_reader *r, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (r->done) break;
		if (r->rc && r->rpos == r->rc->len) {
			ring_release(r);
			r->rc = NULL;
		}
		if (!r->rc) {
			r->rc = ring_get_full(r);
			r->rpos = 0;
			if (r->rc->end) {
				int err = r->rc->err;
				r->done = err ? err : 1;
				if (err) {
					snprintf(r->msg, sizeof r->msg, "%s after %llu bytes", r->pmsg,
						 (unsigned long long)r->data_bytes);
					if (!got) return err;
				}
				break;
			}
		}
		size_t take = r->rc->len - r->rpos;
		if (take > n - got) take = n - got;
		memcpy((char *)buf + got, r->rc->data + r->rpos, take);
		r->rpos += take;
		got += take;
		r->data_bytes += take;
	}
	if (!got && r->done < 0) return r->done;
	return (long)got;
}

const char *wn_reader_name(const wn_reader *r) { return r->name; }

const char *wn_reader_codec(const wn_reader *r)
{
	switch (r->codec) {
	case C_ZSTD: return "zstd";
	case C_GZIP: return "gzip";
	default: return "plain";
	}
}

const char *wn_reader_error(const wn_reader *r) { return r->msg; }
uint64_t wn_reader_lineno(const wn_reader *r) { return r->lineno; }
uint64_t wn_reader_raw_bytes(const wn_reader *r) { return atomic_load(&r->raw_bytes); }
uint64_t wn_reader_data_bytes(const wn_reader *r) { return r->data_bytes; }
int64_t wn_reader_size(const wn_reader *r) { return atomic_load(&r->size); }

void wn_reader_close(wn_reader *r)
{
	if (!r) return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->mu);
		atomic_store(&r->cancel, 1);
		pthread_cond_broadcast(&r->can_fill);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	if (r->own_fd) close(r->fd);
	if (r->zd) ZSTD_freeDStream(r->zd);
	if (r->gz_init) inflateEnd(&r->gz);
	for (int i = 0; i < NCHUNK; i++) free(r->ring[i].data);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->can_fill);
	pthread_cond_destroy(&r->can_read);
	wn_buf_release(&r->line);
	free(r->name);
	free(r);
}
