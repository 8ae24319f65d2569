/*
 * err.h - winnow's error codes.
 *
 * Library functions return 0 on success or a negative WN_E* code, and keep
 * the detail (file, line, what was wrong) in their context object, from
 * which the CLI layer builds the one-line message.  Nothing in lib/ prints
 * or exits, except wn_die_oom() when memory runs out.
 */
#ifndef WN_ERR_H
#define WN_ERR_H

enum {
	WN_OK = 0,
	WN_EIO = -1,      /* read or write failed (errno kept in the context) */
	WN_ENOMEM = -2,   /* allocation failed */
	WN_ETOOBIG = -3,  /* a line or buffer passed its size cap */
	WN_ETRUNC = -4,   /* compressed stream ended early */
	WN_ECORRUPT = -5, /* compressed stream or intermediate file is corrupt */
	WN_EHTTP = -6,    /* HTTP status >= 400 */
	WN_ENET = -7,     /* network failure (refused, reset, timeout) */
	WN_EJSON = -8,    /* not a JSON object */
	WN_EUTF8 = -9,    /* invalid UTF-8 or lone surrogate */
	WN_ENOTEXT = -10, /* text field missing or not a string */
	WN_EUSAGE = -11,  /* bad argument */
	WN_EPIPE = -12,   /* reader of our output went away */
	WN_EDB = -13,     /* SQLite failed */
	WN_EEXIST = -14,  /* output exists (with --skip-existing) */
};

/* A short lowercase phrase for an error code. */
const char *wn_strerror(int code);

/* Print "winnow: out of memory" and exit(1). */
void wn_die_oom(void) __attribute__((noreturn));

/* malloc/realloc/calloc/strdup that never return NULL. */
void *wn_malloc(size_t n);
void *wn_realloc(void *p, size_t n);
void *wn_calloc(size_t n, size_t size);
char *wn_strdup(const char *s);

#endif
