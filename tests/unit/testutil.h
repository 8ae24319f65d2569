/*
 * testutil.h - small helpers shared by the unit tests: a private temporary
 * directory under /tmp (created by mkdtemp, removed recursively), whole-file
 * write and read, and a deterministic PRNG.
 */
#ifndef WN_TESTUTIL_H
#define WN_TESTUTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tu_dir[256];

static int tu_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* Create a fresh directory /tmp/winnow-unit-XXXXXX; aborts on failure. */
static inline const char *tu_mkdtemp(void)
{
	snprintf(tu_dir, sizeof tu_dir, "/tmp/winnow-unit-XXXXXX");
	if (!mkdtemp(tu_dir)) {
		perror("mkdtemp");
		abort();
	}
	return tu_dir;
}

static inline void tu_rmdir(void)
{
	if (tu_dir[0] && !strncmp(tu_dir, "/tmp/winnow-unit-", 17))
		nftw(tu_dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tu_dir[0] = 0;
}

/* "<tu_dir>/<name>" in a static rotating set of buffers. */
static inline const char *tu_path(const char *name)
{
	static char bufs[8][1024];
	static int k;
	char *b = bufs[k++ & 7];
	snprintf(b, 1024, "%s/%s", tu_dir, name);
	return b;
}

static inline int tu_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) return -1;
	if (n && fwrite(p, 1, n, f) != n) { fclose(f); return -1; }
	return fclose(f) ? -1 : 0;
}

/* Whole file into a malloc'ed buffer (NUL-terminated); NULL on error. */
static inline char *tu_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	size_t cap = 4096, len = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (len == cap) { cap *= 2; b = realloc(b, cap + 1); }
		size_t k = fread(b + len, 1, cap - len, f);
		if (!k) break;
		len += k;
	}
	fclose(f);
	b[len] = 0;
	if (n) *n = len;
	return b;
}

static inline int tu_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Entries in a directory (not counting . and ..), -1 on error. */
#include <dirent.h>
static inline int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
	closedir(d);
	return n;
}

/* xorshift64*: deterministic across platforms. */
typedef struct { uint64_t s; } tu_rng;
static inline uint64_t tu_next(tu_rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static inline uint32_t tu_below(tu_rng *r, uint32_t n) { return (uint32_t)(tu_next(r) % n); }

/* Printable form of a text for assertion messages: LF as \n, other
 * controls as \xNN, the rest as it is (static buffers, four in rotation). */
static inline const char *tu_show(const char *s, size_t n)
{
	static char bufs[4][2048];
	static int k;
	char *b = bufs[k++ & 3];
	size_t j = 0;
	for (size_t i = 0; i < n && j < sizeof bufs[0] - 8; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') j += (size_t)snprintf(b + j, 8, "\\n");
		else if (c < 0x20 || c == 0x7F) j += (size_t)snprintf(b + j, 8, "\\x%02X", c);
		else b[j++] = (char)c;
	}
	b[j] = 0;
	return b;
}

/* The data cache, by scripts/fetch-data.sh's rule: $WINNOW_CACHE, else
 * $XDG_CACHE_HOME/winnow, else ~/.cache/winnow.  Returns b. */
static inline const char *tu_cache_dir(char *b, size_t n)
{
	const char *w = getenv("WINNOW_CACHE"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	if (w && *w) snprintf(b, n, "%s", w);
	else if (x && *x) snprintf(b, n, "%s/winnow", x);
	else snprintf(b, n, "%s/.cache/winnow", h ? h : ".");
	return b;
}

#endif
