/* buf.c - growable binary-safe buffer with an optional size cap (buf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "err.h"

char wn_buf_empty[1];

void wn_buf_init(wn_buf *b, size_t max)
{
	b->data = wn_buf_empty;
	b->len = b->cap = 0;
	b->max = max;
}

void wn_buf_release(wn_buf *b)
{
	if (b->cap) free(b->data);
	wn_buf_init(b, b->max);
}

int wn_buf_grow(wn_buf *b, size_t extra)
{
	size_t need = b->len + extra;
	if (need < b->len) return WN_ETOOBIG;
	if (b->max && need > b->max) return WN_ETOOBIG;
	if (need + 1 <= b->cap) return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > ((size_t)-1) / 2) { cap = need + 1; break; }
		cap *= 2;
	}
	if (b->max && cap > b->max + 1) cap = b->max + 1;
	if (b->cap) {
		b->data = wn_realloc(b->data, cap);
	} else {
		b->data = wn_malloc(cap);
		b->data[0] = 0;
	}
	b->cap = cap;
	return 0;
}

int wn_buf_add(wn_buf *b, const void *p, size_t n)
{
	int rc = wn_buf_grow(b, n);
	if (rc) return rc;
	if (n) memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int wn_buf_adds(wn_buf *b, const char *s)
{
	return wn_buf_add(b, s, strlen(s));
}

int wn_buf_vaddf(wn_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof tmp, fmt, cp);
	va_end(cp);
	if (n < 0) return WN_EIO;
	if ((size_t)n < sizeof tmp) return wn_buf_add(b, tmp, (size_t)n);
	int rc = wn_buf_grow(b, (size_t)n);
	if (rc) return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int wn_buf_addf(wn_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = wn_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void wn_buf_setlen(wn_buf *b, size_t len)
{
	if (!b->cap) return;
	b->len = len;
	b->data[len] = 0;
}

char *wn_buf_detach(wn_buf *b, size_t *len)
{
	char *p;
	if (!b->cap) p = wn_calloc(1, 1);
	else p = b->data;
	if (len) *len = b->len;
	wn_buf_init(b, b->max);
	return p;
}

int wn_buf_read_file(wn_buf *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) return WN_EIO;
	char chunk[16384];
	size_t k;
	int rc = 0;
	while (!rc && (k = fread(chunk, 1, sizeof chunk, f)) > 0) rc = wn_buf_add(b, chunk, k);
	int e = errno;
	if (!rc && ferror(f)) rc = WN_EIO;
	fclose(f);
	errno = e;
	return rc;
}
