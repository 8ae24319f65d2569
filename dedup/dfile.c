/*
 * dfile.c - dedup's intermediate files: header, sections, checksums.
 *
 * On disk (little-endian, as the machines that run this are):
 *
 *   0     magic "WNDEDUP\0"
 *   8     u32 version, u32 header bytes (DD_HDR_BYTES)
 *   16    u64 file length in bytes
 *   24    the dd_hdr struct (kind, sections, index, inputs, documents,
 *         aux, params text, section table)
 *   ...   u64 XXH3-64 of bytes [0, here)
 *   2048  sections, each starting on a 64-byte boundary, each with its
 *         XXH3-64 in the section table
 *
 * The writer streams sections into a temporary file beside the target
 * (registered for removal on a fatal signal), then writes the header,
 * syncs and renames: a file with the final name is always complete.  The
 * reader maps the file, checks the header at open and a section's
 * checksum the first time the section is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "dedup.h"
#include "../lib/bfile.h"
#include "../lib/err.h"
#include "../lib/shard.h"

#define DD_MAGIC "WNDEDUP"
#define DD_HDR_BYTES 2048
#define DD_ALIGN 64

struct disk_hdr {
	char magic[8];
	uint32_t version, hdr_bytes;
	uint64_t file_len;
	dd_hdr h;
	uint64_t checksum;
};
_Static_assert(sizeof(struct disk_hdr) <= DD_HDR_BYTES, "dedup header too big");

static const char *kind_name(uint32_t k)
{
	switch (k) {
	case DD_KIND_SIG: return "signature";
	case DD_KIND_PAIRS: return "pairs";
	case DD_KIND_REMOVE: return "removal";
	case DD_KIND_UNITS: return "units";
	}
	return "unknown";
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- writing ---- */

struct dd_writer {
	wn_bfile f;            /* the file, under its temporary name */
	struct disk_hdr d;
	int open_sect;         /* index of the open section, -1 none */
	XXH3_state_t *xs;
};

int dd_writer_open(dd_writer **wp, const char *path, const dd_hdr *h, char *err, size_t errlen)
{
	*wp = NULL;
	dd_writer *w = wn_calloc(1, sizeof *w);
	if (wn_bfile_create(&w->f, path, 0)) {
		wn_bfile_msg(&w->f, err, errlen);
		wn_bfile_discard(&w->f);
		free(w);
		return WN_EIO;
	}
	memcpy(w->d.magic, DD_MAGIC, 8);
	w->d.version = DD_FILE_VERSION;
	w->d.hdr_bytes = DD_HDR_BYTES;
	w->d.h = *h;
	w->d.h.nsect = 0;
	w->open_sect = -1;
	w->xs = XXH3_createState();
	if (!w->xs) wn_die_oom();
	wn_bfile_zeros(&w->f, DD_HDR_BYTES);
	*wp = w;
	return 0;
}

dd_hdr *dd_writer_hdr(dd_writer *w) { return &w->d.h; }

int dd_writer_begin(dd_writer *w, uint32_t id, uint32_t recsize)
{
	if (w->d.h.nsect >= DD_MAX_SECT || w->open_sect >= 0) return WN_EUSAGE;
	if (wn_bfile_align(&w->f, DD_ALIGN)) return WN_EIO;
	dd_sect *s = &w->d.h.sect[w->d.h.nsect];
	memset(s, 0, sizeof *s);
	s->id = id;
	s->recsize = recsize;
	s->off = w->f.pos;
	w->open_sect = (int)w->d.h.nsect++;
	XXH3_64bits_reset(w->xs);
	return 0;
}

int dd_writer_add(dd_writer *w, const void *p, size_t n)
{
	if (w->open_sect < 0) return WN_EUSAGE;
	XXH3_64bits_update(w->xs, p, n);
	w->d.h.sect[w->open_sect].bytes += n;
	return wn_bfile_put(&w->f, p, n);
}

int dd_writer_end(dd_writer *w)
{
	if (w->open_sect < 0) return WN_EUSAGE;
	dd_sect *s = &w->d.h.sect[w->open_sect];
	s->checksum = XXH3_64bits_digest(w->xs);
	s->count = s->recsize ? s->bytes / s->recsize : s->bytes;
	w->open_sect = -1;
	return 0;
}

int dd_writer_commit(dd_writer *w, char *err, size_t errlen)
{
	int rc = 0;
	if (w->open_sect >= 0) dd_writer_end(w);
	w->d.file_len = w->f.pos;
	w->d.checksum = XXH3_64bits(&w->d, offsetof(struct disk_hdr, checksum));
	/* the header last, over the zeros it began with */
	if (wn_bfile_flush(&w->f) || wn_bfile_pwrite(&w->f, 0, &w->d, sizeof w->d) || wn_bfile_sync(&w->f) ||
	    wn_bfile_rename(&w->f))
		rc = wn_bfile_msg(&w->f, err, errlen);
	dd_writer_abort(w);
	return rc;
}

void dd_writer_abort(dd_writer *w)
{
	if (!w) return;
	wn_bfile_discard(&w->f);
	XXH3_freeState(w->xs);
	free(w);
}

/* ---- reading ---- */

int dd_file_open(dd_file *f, const char *path, uint32_t kind, const char *want_params,
		 char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return fail(err, errlen, e == ENOENT ? WN_EIO : WN_EIO, "%s: %s", path,
			    e == ENOENT ? "missing (was the stage before run?)" : strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return fail(err, errlen, WN_EIO, "%s: %s", path, strerror(e));
	}
	size_t len = (size_t)st.st_size;
	if (len < DD_HDR_BYTES) {
		close(fd);
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: truncated (%zu bytes, shorter than a header)", path, len);
	}
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) return fail(err, errlen, WN_EIO, "%s: %s", path, strerror(errno));
	f->map = map;
	f->len = len;
	f->path = wn_strdup(path);
	struct disk_hdr d;
	memcpy(&d, map, sizeof d);
	int rc = 0;
	if (memcmp(d.magic, DD_MAGIC, 8)) {
		rc = fail(err, errlen, WN_ECORRUPT, "%s: not a winnow dedup file", path);
	} else if (d.version != DD_FILE_VERSION) {
		rc = fail(err, errlen, WN_ECORRUPT,
			  "%s: format version %u, this winnow reads version %u", path, d.version,
			  DD_FILE_VERSION);
	} else if (d.checksum != XXH3_64bits(&d, offsetof(struct disk_hdr, checksum))) {
		rc = fail(err, errlen, WN_ECORRUPT, "%s: corrupt header (checksum mismatch)", path);
	} else if (d.file_len != len) {
		rc = fail(err, errlen, WN_ECORRUPT, "%s: %s (%zu bytes, the header says %llu)", path,
			  len < d.file_len ? "truncated" : "has trailing bytes", len,
			  (unsigned long long)d.file_len);
	} else if (d.h.kind != kind) {
		rc = fail(err, errlen, WN_ECORRUPT, "%s: a %s file, expected a %s file", path,
			  kind_name(d.h.kind), kind_name(kind));
	} else if (d.h.nsect > DD_MAX_SECT || d.h.params[DD_PARAMS_LEN - 1]) {
		rc = fail(err, errlen, WN_ECORRUPT, "%s: corrupt header", path);
	} else if (want_params && strcmp(d.h.params, want_params)) {
		rc = fail(err, errlen, WN_EUSAGE,
			  "%s: made with other parameters (%s), this run has %s", path, d.h.params,
			  want_params);
	}
	for (uint32_t s = 0; !rc && s < d.h.nsect; s++) {
		const dd_sect *x = &d.h.sect[s];
		if (x->off > len || x->bytes > len - x->off ||
		    (x->recsize && x->bytes % x->recsize))
			rc = fail(err, errlen, WN_ECORRUPT, "%s: corrupt section table", path);
	}
	f->h = d.h;
	if (rc) dd_file_close(f);
	return rc;
}

void dd_file_close(dd_file *f)
{
	if (f->map) munmap((void *)f->map, f->len);
	free(f->path);
	memset(f, 0, sizeof *f);
}

int dd_file_sect(dd_file *f, uint32_t id, const void **data, uint64_t *count, int optional,
		 char *err, size_t errlen)
{
	for (uint32_t s = 0; s < f->h.nsect; s++) {
		const dd_sect *x = &f->h.sect[s];
		if (x->id != id) continue;
		if (!(f->verified >> s & 1)) {
			if (XXH3_64bits(f->map + x->off, x->bytes) != x->checksum)
				return fail(err, errlen, WN_ECORRUPT,
					    "%s: corrupt data (checksum of section %u does not match)",
					    f->path, id);
			f->verified |= 1ULL << s;
		}
		*data = f->map + x->off;
		*count = x->count;
		return 0;
	}
	*data = NULL;
	*count = 0;
	if (optional) return 0;
	return fail(err, errlen, WN_ECORRUPT, "%s: section %u missing", f->path, id);
}
