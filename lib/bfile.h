/*
 * bfile.h - binary files written the safe way: under a temporary name
 * beside the final one (".NAME.tmp.XXXXXX", on lib/shard.h's list for
 * removal on a fatal signal), buffered, with positioned rewrites for
 * headers written last, then synced and renamed into place; or scratch
 * files, unlinked at once, for data copied elsewhere before the end.
 *
 * The first failure is kept (errno and what failed); every later call
 * returns WN_EIO at once, and wn_bfile_msg() says "PATH: what: reason".
 * Used by the token packers (tokenize/pack.c) and dedup's intermediate
 * files (dedup/dfile.c).
 */
#ifndef WN_BFILE_H
#define WN_BFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wn_bfile {
	char *path;           /* the final name (for messages) */
	char *tmp;            /* temporary name until renamed; NULL for scratch */
	int fd, slot;
	unsigned char *buf;
	size_t blen;
	uint64_t pos;         /* bytes put so far */
	int err;              /* errno of the first failure (then puts do nothing) */
	const char *what;     /* the failed call: "write", "fsync", "rename" ... */
} wn_bfile;

void wn_bfile_init(wn_bfile *o);
/* A temporary beside path (scratch: unlinked at once); 0 or WN_EIO. */
int wn_bfile_create(wn_bfile *o, const char *path, int scratch);
int wn_bfile_flush(wn_bfile *o);
int wn_bfile_put(wn_bfile *o, const void *p, size_t n);
int wn_bfile_zeros(wn_bfile *o, size_t n);
/* Zeros up to the next multiple of a. */
int wn_bfile_align(wn_bfile *o, unsigned a);
/* Write at an offset (already flushed bytes only). */
int wn_bfile_pwrite(wn_bfile *o, uint64_t off, const void *p, size_t n);
/* Flush, fsync and close. */
int wn_bfile_sync(wn_bfile *o);
/* The temporary to the final name. */
int wn_bfile_rename(wn_bfile *o);
/* Close, remove the temporary, free; o can be created again. */
void wn_bfile_discard(wn_bfile *o);
/* The kept failure as a message; returns WN_EIO. */
int wn_bfile_msg(const wn_bfile *o, char *err, size_t errlen);

#endif
