/*
 * buf.h - the one growable byte buffer.
 *
 * A wn_buf is never NULL-data: after wn_buf_init() `data` points at a
 * NUL-terminated (possibly empty) string, so it can be handed to C string
 * functions, yet it is binary-safe: `len` is the truth and the content may
 * hold NUL bytes.  An optional cap (`max`, 0 = none) makes growth past it
 * fail with WN_ETOOBIG instead of exhausting memory: this is how an endless
 * input line becomes an error.  Allocation failure exits (wn_die_oom).
 *
 * Ownership: the buffer owns `data`; wn_buf_detach() hands it to the caller.
 */
#ifndef WN_BUF_H
#define WN_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct wn_buf {
	char *data;   /* NUL-terminated; points at a static "" until first growth */
	size_t len;   /* bytes used, not counting the terminating NUL */
	size_t cap;   /* bytes allocated (0 while data is the static "") */
	size_t max;   /* cap on len in bytes; 0 = no cap */
} wn_buf;

extern char wn_buf_empty[1];
#define WN_BUF_INIT { wn_buf_empty, 0, 0, 0 }

void wn_buf_init(wn_buf *b, size_t max);
void wn_buf_release(wn_buf *b);           /* free and re-init (keeps max) */
int wn_buf_grow(wn_buf *b, size_t extra); /* room for len+extra+1 */
int wn_buf_add(wn_buf *b, const void *p, size_t n);
int wn_buf_adds(wn_buf *b, const char *s);
int wn_buf_addf(wn_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int wn_buf_vaddf(wn_buf *b, const char *fmt, va_list ap);
void wn_buf_setlen(wn_buf *b, size_t len); /* len <= cap-1 or 0 */
char *wn_buf_detach(wn_buf *b, size_t *len); /* caller frees */
/* Append the whole file `path` (a rules or config file) to b: 0,
 * WN_EIO (errno says why) or WN_ETOOBIG (past b's cap). */
int wn_buf_read_file(wn_buf *b, const char *path);

static inline void wn_buf_reset(wn_buf *b)
{
	if (b->cap) { b->len = 0; b->data[0] = 0; }
}

static inline int wn_buf_addc(wn_buf *b, char c)
{
	if (b->len + 2 > b->cap) {
		int rc = wn_buf_grow(b, 1);
		if (rc) return rc;
	}
	b->data[b->len++] = c;
	b->data[b->len] = 0;
	return 0;
}

#endif
