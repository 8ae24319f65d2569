/* err.c - error strings and allocation helpers that never return NULL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "err.h"

const char *wn_strerror(int code)
{
	switch (code) {
	case WN_OK: return "success";
	case WN_EIO: return "i/o error";
	case WN_ENOMEM: return "out of memory";
	case WN_ETOOBIG: return "too large";
	case WN_ETRUNC: return "truncated";
	case WN_ECORRUPT: return "corrupt";
	case WN_EHTTP: return "http error";
	case WN_ENET: return "network error";
	case WN_EJSON: return "invalid json";
	case WN_EUTF8: return "invalid utf-8";
	case WN_ENOTEXT: return "no text";
	case WN_EUSAGE: return "usage error";
	case WN_EPIPE: return "broken pipe";
	case WN_EDB: return "database error";
	case WN_EEXIST: return "exists";
	}
	return "unknown error";
}

void wn_die_oom(void)
{
	static const char msg[] = "winnow: out of memory\n";
	if (fwrite(msg, 1, sizeof msg - 1, stderr)) {}
	exit(1);
}

void *wn_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) wn_die_oom();
	return p;
}

void *wn_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) wn_die_oom();
	return p;
}

void *wn_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) wn_die_oom();
	return p;
}

char *wn_strdup(const char *s)
{
	char *p = strdup(s);
	if (!p) wn_die_oom();
	return p;
}
