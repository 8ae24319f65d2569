/*
 * bfile.c - binary files written under a temporary name (see bfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bfile.h"
#include "err.h"
#include "shard.h"

#define BFILE_BUF (1u << 20)


void wn_bfile_init(wn_bfile *o)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->slot = -1;
}

/* A temporary beside `path` (scratch: unlinked at once, for data that is
 * copied into another file before the end). */
int wn_bfile_create(wn_bfile *o, const char *path, int scratch)
{
	wn_bfile_init(o);
	o->path = wn_strdup(path);
	size_t need = strlen(path) + 40;
	char *t = wn_malloc(need);
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	snprintf(t, need, "%.*s.%s.%s.XXXXXX", (int)dirlen, path, path + dirlen,
		 scratch ? "scratch" : "tmp");
	o->fd = mkostemp(t, O_CLOEXEC);
	if (o->fd < 0) {
		o->err = errno;
		o->what = "cannot create";
		free(t);
		return WN_EIO;
	}
	if (scratch) {
		unlink(t);
		free(t);
	} else {
		if (fchmod(o->fd, 0644)) {} /* mkstemp makes 0600; token files are shared */
		o->tmp = t;
		o->slot = wn_tmpfile_register(t);
	}
	o->buf = wn_malloc(BFILE_BUF);
	return 0;
}

int wn_bfile_flush(wn_bfile *o)
{
	size_t off = 0;
	if (o->err) return WN_EIO;
	while (off < o->blen) {
		ssize_t k = write(o->fd, o->buf + off, o->blen - off);
		if (k < 0) {
			if (errno == EINTR) continue;
			o->err = errno;
			o->what = "write failed";
			return WN_EIO;
		}
		off += (size_t)k;
	}
	o->blen = 0;
	return 0;
}

int wn_bfile_put(wn_bfile *o, const void *p, size_t n)
{
	const unsigned char *c = p;
	if (o->err) return WN_EIO;
	while (n) {
		size_t k = BFILE_BUF - o->blen;
		if (k > n) k = n;
		memcpy(o->buf + o->blen, c, k);
		o->blen += k;
		o->pos += k;
		c += k;
		n -= k;
		if (o->blen == BFILE_BUF && wn_bfile_flush(o)) return WN_EIO;
	}
	return 0;
}

int wn_bfile_zeros(wn_bfile *o, size_t n)
{
	static const unsigned char zero[4096];
	while (n) {
		size_t k = n < sizeof zero ? n : sizeof zero;
		if (wn_bfile_put(o, zero, k)) return WN_EIO;
		n -= k;
	}
	return 0;
}

int wn_bfile_align(wn_bfile *o, unsigned a)
{
	return wn_bfile_zeros(o, (size_t)((a - o->pos % a) % a));
}

int wn_bfile_pwrite(wn_bfile *o, uint64_t off, const void *p, size_t n)
{
	const unsigned char *c = p;
	if (o->err) return WN_EIO;
	while (n) {
		ssize_t k = pwrite(o->fd, c, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR) continue;
			o->err = errno;
			o->what = "write failed";
			return WN_EIO;
		}
		c += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int wn_bfile_sync(wn_bfile *o)
{
	if (wn_bfile_flush(o)) return WN_EIO;
	if (fsync(o->fd)) {
		o->err = errno;
		o->what = "fsync failed";
		return WN_EIO;
	}
	int fd = o->fd;
	o->fd = -1;
	if (close(fd)) {
		o->err = errno;
		o->what = "close failed";
		return WN_EIO;
	}
	return 0;
}

int wn_bfile_rename(wn_bfile *o)
{
	if (rename(o->tmp, o->path)) {
		o->err = errno;
		o->what = "cannot rename into place";
		return WN_EIO;
	}
	wn_tmpfile_unregister(o->slot);
	o->slot = -1;
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void wn_bfile_discard(wn_bfile *o)
{
	if (o->fd >= 0) close(o->fd);
	if (o->tmp) {
		unlink(o->tmp);
		wn_tmpfile_unregister(o->slot);
	}
	free(o->tmp);
	free(o->path);
	free(o->buf);
	wn_bfile_init(o);
}

int wn_bfile_msg(const wn_bfile *o, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s: %s", o->path ? o->path : "?", o->what ? o->what : "i/o error",
			 strerror(o->err));
	return WN_EIO;
}

