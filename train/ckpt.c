/*
 * ckpt.c - checkpoint files (see ckpt.h for the layout).
 */
#include "ckpt.h"
#include "../lib/bfile.h"
#include "../lib/err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define HDR 256
#define NSEC 5
static const char MAGIC[8] = { 'W', 'N', 'C', 'K', 'P', 'T', 0, 0 };

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

int wn_ckpt_write(const char *path, const wn_ckpt *c, char *err, size_t errlen)
{
	size_t pb = c->nparams * sizeof(float);
	const void *sec[NSEC] = { c->params, c->m, c->v, c->data_state, c->options };
	uint64_t len[NSEC] = { pb, c->m ? pb : 0, c->v ? pb : 0, c->data_state_len,
			       c->options ? strlen(c->options) : 0 };
	unsigned char h[HDR] = { 0 };
	memcpy(h, MAGIC, 8);
	put32(h + 8, WN_CKPT_VERSION);
	put32(h + 12, HDR);
	const wn_model_config *g = &c->cfg;
	int32_t ints[7] = { g->vocab_size, g->dim, g->n_layers, g->n_heads, g->n_kv_heads, g->hidden_dim,
			    g->max_seq_len };
	memcpy(h + 16, ints, 28);
	memcpy(h + 44, &g->rope_theta, 4);
	memcpy(h + 48, &g->norm_eps, 4);
	put64(h + 56, c->step);
	put64(h + 64, c->tokens);
	put64(h + 72, c->nparams);
	uint64_t off = HDR;
	for (int i = 0; i < NSEC; i++) {
		put64(h + 80 + 24 * i, off);
		put64(h + 88 + 24 * i, len[i]);
		put64(h + 96 + 24 * i, XXH3_64bits(sec[i] ? sec[i] : "", len[i]));
		off += (len[i] + 63) / 64 * 64;
	}
	put64(h + 248, XXH3_64bits(h, 248));

	wn_bfile o;
	wn_bfile_init(&o);
	int rc = wn_bfile_create(&o, path, 0);
	if (!rc) rc = wn_bfile_put(&o, h, HDR);
	for (int i = 0; i < NSEC && !rc; i++) {
		if (len[i]) rc = wn_bfile_put(&o, sec[i], len[i]);
		if (!rc) rc = wn_bfile_align(&o, 64);
	}
	if (!rc) rc = wn_bfile_sync(&o);
	if (!rc) rc = wn_bfile_rename(&o);
	if (rc) wn_bfile_msg(&o, err, errlen);
	wn_bfile_discard(&o);
	return rc ? WN_EIO : 0;
}

static int bad(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "%s: %s", path, why);
	return WN_ECORRUPT;
}

int wn_ckpt_read(const char *path, wn_ckpt *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0) close(fd);
		return WN_EIO;
	}
	size_t size = (size_t)st.st_size;
	unsigned char *buf = NULL;
	if (size < HDR) {
		close(fd);
		return bad(err, errlen, path, "not a winnow checkpoint (too short)");
	}
	if (posix_memalign((void **)&buf, 64, size)) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return WN_EIO;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t k = read(fd, buf + got, size - got);
		if (k <= 0) {
			snprintf(err, errlen, "%s: %s", path, k < 0 ? strerror(errno) : "shorter than its size");
			close(fd);
			free(buf);
			return WN_EIO;
		}
		got += (size_t)k;
	}
	close(fd);
	int rc;
	if (memcmp(buf, MAGIC, 8)) { rc = bad(err, errlen, path, "not a winnow checkpoint (bad magic)"); goto fail; }
	if (get32(buf + 8) != WN_CKPT_VERSION) {
		char why[96];
		snprintf(why, sizeof why, "checkpoint version %u, this winnow reads version %d", get32(buf + 8),
			 WN_CKPT_VERSION);
		rc = bad(err, errlen, path, why);
		goto fail;
	}
	if (get64(buf + 248) != XXH3_64bits(buf, 248)) { rc = bad(err, errlen, path, "header checksum mismatch"); goto fail; }
	int32_t ints[7];
	memcpy(ints, buf + 16, 28);
	c->cfg = (wn_model_config){ ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], ints[6], 0, 0 };
	memcpy(&c->cfg.rope_theta, buf + 44, 4);
	memcpy(&c->cfg.norm_eps, buf + 48, 4);
	c->step = get64(buf + 56);
	c->tokens = get64(buf + 64);
	c->nparams = get64(buf + 72);
	void *p[NSEC];
	uint64_t len[NSEC];
	for (int i = 0; i < NSEC; i++) {
		uint64_t off = get64(buf + 80 + 24 * i);
		len[i] = get64(buf + 88 + 24 * i);
		if (off < HDR || off > size || len[i] > size - off || off % 64) {
			rc = bad(err, errlen, path, "truncated or damaged (a section lies outside the file)");
			goto fail;
		}
		p[i] = buf + off;
		if (XXH3_64bits(p[i], len[i]) != get64(buf + 96 + 24 * i)) {
			static const char *names[NSEC] = { "parameters", "AdamW m", "AdamW v", "data state", "options" };
			char why[96];
			snprintf(why, sizeof why, "checksum mismatch in the %s", names[i]);
			rc = bad(err, errlen, path, why);
			goto fail;
		}
	}
	if (len[0] != c->nparams * sizeof(float) || (len[1] && len[1] != len[0]) || len[1] != len[2] ||
	    c->nparams == 0) {
		rc = bad(err, errlen, path, "section sizes do not match the parameter count");
		goto fail;
	}
	/* the options as a string: copy out to add the NUL */
	c->options = calloc(1, len[4] + 1);
	if (!c->options) { rc = bad(err, errlen, path, "out of memory"); goto fail; }
	memcpy(c->options, p[4], len[4]);
	c->params = p[0];
	c->m = len[1] ? p[1] : NULL;
	c->v = len[2] ? p[2] : NULL;
	c->data_state = p[3];
	c->data_state_len = len[3];
	c->mem_ = buf;
	return 0;
fail:
	free(buf);
	memset(c, 0, sizeof *c);
	return rc;
}

void wn_ckpt_release(wn_ckpt *c)
{
	if (!c) return;
	free(c->mem_);
	free(c->options);
	memset(c, 0, sizeof *c);
}

void wn_ckpt_path(char *out, size_t n, const char *dir, uint64_t step)
{
	snprintf(out, n, "%s/step-%09llu.wckpt", dir, (unsigned long long)step);
}

static int is_ckpt_name(const char *s, unsigned long long *step)
{
	size_t n = strlen(s);
	/* strtoull would take a sign or white space: digits only */
	if (n < 12 || strncmp(s, "step-", 5) || strcmp(s + n - 6, ".wckpt") || !isdigit((unsigned char)s[5]))
		return 0;
	char *end;
	*step = strtoull(s + 5, &end, 10);
	return end == s + n - 6 && end > s + 5;
}

static int by_step_desc(const void *a, const void *b)
{
	unsigned long long x, y;
	const char *pa = strrchr(*(char *const *)a, '/'), *pb = strrchr(*(char *const *)b, '/');
	is_ckpt_name(pa + 1, &x);
	is_ckpt_name(pb + 1, &y);
	return x < y ? 1 : x > y ? -1 : 0;
}

char **wn_ckpt_list(const char *dir, int *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) return NULL;
	char **v = NULL;
	int cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned long long s;
		if (!is_ckpt_name(e->d_name, &s)) continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			char **nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv) break;
			v = nv;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		if (!(v[*n] = malloc(len))) break;
		snprintf(v[*n], len, "%s/%s", dir, e->d_name);
		(*n)++;
	}
	closedir(d);
	if (*n) qsort(v, (size_t)*n, sizeof *v, by_step_desc);
	return v;
}

void wn_ckpt_prune(const char *dir, int keep)
{
	int n;
	char **v = wn_ckpt_list(dir, &n);
	for (int i = 0; i < n; i++) {
		if (keep > 0 && i >= keep) unlink(v[i]);
		free(v[i]);
	}
	free(v);
}
