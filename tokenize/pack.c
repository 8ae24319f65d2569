/*
 * pack.c - token-file packers, merging, validation and reading (pack.h).
 *
 * Writing.  Every output is a wn_bfile: a temporary file beside the target
 * (".NAME.tmp.XXXXXX", registered with wn_tmpfile_register so a fatal
 * signal removes it) written through a 1 MiB buffer; headers that depend
 * on the end (llm.c's count, Megatron's counts, winnow's header) are left
 * as zeros and written with pwrite at close.  Arrays that grow with the
 * data but must come after it in the file (Megatron's offsets and
 * document index, winnow's lengths and segments) go to scratch files,
 * created beside the output and unlinked at once, and are copied in at
 * close.  So memory stays constant whatever the input size.
 *
 * Winnow windows.  Concat keeps one row of T+1 tokens: tokens are copied
 * in; when it is full it is written, and its last token becomes the first
 * of the next row (the one-token overlap).  Bestfit uses the same row to
 * cut a document into full chunks (written at once as windows) and a
 * remainder, which goes to the buffer; bf_flush() packs the buffer
 * best-fit-decreasing.  Best fit needs "the open window with the least
 * free space >= len, lowest number on ties": windows are kept in one
 * min-heap (by window number) per free-space value, and a two-level
 * bitmap of the non-empty free-space values finds the least one >= len
 * in a few word scans.
 *
 * Reading.  Files are mapped read-only; every count is checked against
 * the file sizes before any array is touched, every array element and
 * token id is checked once at open, so the item functions can index
 * without further checks.  Integers are read with memcpy (Megatron's
 * arrays are not aligned).
 *
 * All files are little-endian, as the hosts that run this are.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "pack.h"
#include "../lib/err.h"
#include "../lib/bfile.h"
#include "../lib/shard.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "token files are little-endian and written from host memory"
#endif

/* Megatron */
#define MG_MAGIC "MMIDIDX\0\0"
#define MG_HDR 34  /* magic 9, version 8, dtype 1, sequences 8, document entries 8 */
enum { MG_U8 = 1, MG_I8 = 2, MG_I16 = 3, MG_I32 = 4, MG_I64 = 5, MG_F64 = 6, MG_F32 = 7, MG_U16 = 8 };

/* llm.c */
#define LC_HDR 1024
#define LC_MAGIC16 20240520
#define LC_VERSION16 1
#define LC_MAGIC32 20240801
#define LC_VERSION32 7

/* winnow .wtok */
#define WT_MAGIC "WNTOKEN" /* with its NUL: 8 bytes */
#define WT_VERSION 1
#define WT_HDR 4096
#define WT_ALIGN 64
#define WT_NSECT 4
enum {
	WT_O_VERSION = 8, WT_O_HDRBYTES = 12, WT_O_FILELEN = 16, WT_O_TOKBYTES = 24,
	WT_O_MODE = 28, WT_O_SEQLEN = 32, WT_O_WINTOK = 36, WT_O_VOCAB = 40, WT_O_EOS = 44,
	WT_O_PAD = 48, WT_O_NSECT = 52, WT_O_WINDOWS = 56, WT_O_DOCS = 64, WT_O_TOKENS = 72,
	WT_O_PADDING = 80, WT_O_SEGS = 88, WT_O_BFBUF = 96, WT_O_DOMAIN = 104,
	WT_O_TOKENIZER = 168, WT_O_SECT = 1192, WT_O_SUM = 4088,
};
enum { WT_S_TOKENS = 1, WT_S_LENGTHS = 2, WT_S_SEGOFF = 3, WT_S_SEGMENTS = 4 };
#define WT_SECT_BYTES 40
#define WT_SEG_BYTES 16
_Static_assert(WT_O_TOKENIZER + WN_PACK_TOKENIZER_MAX + 1 == WT_O_SECT, "header layout");
_Static_assert(WT_O_DOMAIN + WN_PACK_DOMAIN_MAX + 1 == WT_O_TOKENIZER, "header layout");
_Static_assert(WT_O_SECT + WT_NSECT * WT_SECT_BYTES <= WT_O_SUM, "header layout");

#define CONV 65536          /* tokens converted at a time */
#define NONE UINT32_MAX

static const char *sect_name[] = { "", "TOKENS", "LENGTHS", "SEGOFF", "SEGMENTS" };

/* ---- small helpers ---- */

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

static void put_u32(unsigned char *b, uint32_t v) { memcpy(b, &v, 4); }
static void put_u64(unsigned char *b, uint64_t v) { memcpy(b, &v, 8); }
static uint32_t get_u32(const unsigned char *b) { uint32_t v; memcpy(&v, b, 4); return v; }
static uint64_t get_u64(const unsigned char *b) { uint64_t v; memcpy(&v, b, 8); return v; }
static int32_t get_i32(const unsigned char *b) { int32_t v; memcpy(&v, b, 4); return v; }
static int64_t get_i64(const unsigned char *b) { int64_t v; memcpy(&v, b, 8); return v; }

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static char *cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = wn_malloc(la + lb + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

const char *wn_pack_format_name(int format)
{
	switch (format) {
	case WN_PACK_MEGATRON: return "megatron";
	case WN_PACK_LLMC: return "llmc";
	case WN_PACK_WINNOW: return "winnow";
	}
	return "unknown";
}

int wn_pack_format_from_name(const char *name)
{
	if (!strcmp(name, "megatron")) return WN_PACK_MEGATRON;
	if (!strcmp(name, "llmc")) return WN_PACK_LLMC;
	if (!strcmp(name, "winnow")) return WN_PACK_WINNOW;
	return 0;
}

/* ---- output files ---- */

/* Append all of scratch file src to o, hashing it into xs. */
static int out_copy(wn_bfile *o, wn_bfile *src, XXH3_state_t *xs, unsigned char *tmp, size_t tmplen)
{
	if (wn_bfile_flush(src)) return WN_EIO;
	uint64_t off = 0;
	while (off < src->pos) {
		size_t want = src->pos - off < tmplen ? (size_t)(src->pos - off) : tmplen;
		ssize_t k = pread(src->fd, tmp, want, (off_t)off);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) {
			src->err = k < 0 ? errno : EIO;
			src->what = "read back failed";
			return WN_EIO;
		}
		XXH3_64bits_update(xs, tmp, (size_t)k);
		if (wn_bfile_put(o, tmp, (size_t)k)) return WN_EIO;
		off += (uint64_t)k;
	}
	return 0;
}

/* ---- the packer ---- */

typedef struct bf_chunk {
	uint64_t doc;
	uint64_t at;           /* first token in the buffer */
	uint32_t doc_off, len;
} bf_chunk;

typedef struct bf_heap {
	uint32_t *v;           /* window numbers, a binary min-heap */
	uint32_t n, cap;
} bf_heap;

struct wn_pack {
	int format, mode;
	uint32_t vocab, eos, pad;
	uint32_t T, T1;             /* winnow: seq_len, window tokens */
	int esize;                  /* bytes per written token */
	int mg_code;                /* Megatron dtype code */
	uint32_t lc_magic, lc_version;
	char *prefix, *domain, *tokenizer;
	uint64_t bf_budget;         /* bestfit: tokens held at most */
	uint64_t bf_hdr;            /* the header's bestfit buffer field */

	wn_bfile main;                /* .bin (Megatron, llm.c) or .wtok */
	wn_bfile idx;                 /* Megatron .idx: header room, then sizes */
	wn_bfile sa, sb, sc;          /* scratch: Megatron offsets and document index;
				     * winnow lengths, segment offsets, segments */
	XXH3_state_t *xs;           /* winnow: checksum of TOKENS */
	unsigned char *conv;        /* CONV tokens of staging (also copy buffer) */
	unsigned char eos_b[4], pad_b[4];

	uint64_t docs, tokens, seqs, windows, segments, padding, valid;
	uint64_t data_bytes;        /* Megatron: bytes of .bin so far */
	uint64_t ndocidx;           /* Megatron: document index entries written */

	/* winnow rows */
	unsigned char *row, *row2;  /* T1 tokens each */
	uint32_t wlen;
	wn_pack_seg *wsegs;
	size_t nwsegs, capwsegs;
	uint64_t cur_doc, cur_off;  /* the open document, offset of its next token */
	uint64_t row_off;           /* bestfit: document offset of row[0] */
	int in_doc;                 /* merge of concat files: a document is open */

	/* bestfit buffer and work arrays */
	unsigned char *bbuf;
	uint64_t bused;
	bf_chunk *chunks;
	size_t nchunks, capchunks;
	uint32_t *cnt, *order, *binof, *freecap, *bstart;
	size_t capwork;
	bf_heap *bq;                /* per free-space value 1..T */
	uint64_t *l0, *l1;          /* bitmaps of non-empty bq entries */
	size_t nl0, nl1;

	int failed;
	char msg[512];
};

static int perr(wn_pack *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(wn_pack *p, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof p->msg, fmt, ap);
	va_end(ap);
	return code;
}

const char *wn_pack_error(const wn_pack *p) { return p ? p->msg : ""; }

static void tok_bytes(const wn_pack *p, unsigned char *dst, uint32_t id)
{
	if (p->esize == 2) {
		uint16_t v = (uint16_t)id;
		memcpy(dst, &v, 2);
	} else {
		memcpy(dst, &id, 4);
	}
}

static void conv_ids(const wn_pack *p, unsigned char *dst, const uint32_t *ids, size_t n)
{
	if (p->esize == 2) {
		uint16_t *d = (uint16_t *)(void *)dst;
		for (size_t i = 0; i < n; i++) d[i] = (uint16_t)ids[i];
	} else {
		memcpy(dst, ids, n * 4);
	}
}

/* The first I/O error of any output, as the packer's error. */
static int check_outs(wn_pack *p)
{
	wn_bfile *o[] = { &p->main, &p->idx, &p->sa, &p->sb, &p->sc };
	for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
		if (o[i]->err) {
			/* a scratch file is named after the output it belongs to */
			wn_bfile_msg(o[i], p->msg, sizeof p->msg);
			p->failed = WN_EIO;
			return WN_EIO;
		}
	return 0;
}

/* ---- winnow windows ---- */

static void win_seg(wn_pack *p, uint64_t doc, uint32_t start, uint64_t off)
{
	if (p->nwsegs == p->capwsegs) {
		p->capwsegs = p->capwsegs ? 2 * p->capwsegs : 16;
		p->wsegs = wn_realloc(p->wsegs, p->capwsegs * sizeof *p->wsegs);
	}
	p->wsegs[p->nwsegs++] = (wn_pack_seg){ .doc = doc, .start = start, .doc_off = (uint32_t)off };
}

/* Write one window: T1 tokens of row (padding included), len valid. */
static void emit_window(wn_pack *p, const unsigned char *row, uint32_t len,
			const wn_pack_seg *segs, size_t nsegs)
{
	size_t rb = (size_t)p->T1 * (size_t)p->esize;
	XXH3_64bits_update(p->xs, row, rb);
	wn_bfile_put(&p->main, row, rb);
	unsigned char b[WT_SEG_BYTES];
	put_u32(b, len);
	wn_bfile_put(&p->sa, b, 4);
	for (size_t i = 0; i < nsegs; i++) {
		put_u64(b, segs[i].doc);
		put_u32(b + 8, segs[i].start);
		put_u32(b + 12, segs[i].doc_off);
		wn_bfile_put(&p->sc, b, WT_SEG_BYTES);
	}
	p->segments += nsegs;
	put_u64(b, p->segments);
	wn_bfile_put(&p->sb, b, 8);
	p->windows++;
	p->valid += len;
	p->padding += p->T1 - len;
}

static void pad_row(wn_pack *p, unsigned char *row, uint32_t from)
{
	for (uint32_t i = from; i < p->T1; i++)
		memcpy(row + (size_t)i * (size_t)p->esize, p->pad_b, (size_t)p->esize);
}

static void cc_begin(wn_pack *p)
{
	p->cur_doc = p->docs;
	p->cur_off = 0;
	win_seg(p, p->docs, p->wlen, 0);
}

/* Tokens into the concat stream. */
static void cc_push(wn_pack *p, const unsigned char *b, size_t n)
{
	size_t es = (size_t)p->esize;
	while (n) {
		size_t k = p->T1 - p->wlen;
		if (k > n) k = n;
		memcpy(p->row + p->wlen * es, b, k * es);
		p->wlen += (uint32_t)k;
		p->cur_off += k;
		b += k * es;
		n -= k;
		if (p->wlen == p->T1) {
			emit_window(p, p->row, p->T1, p->wsegs, p->nwsegs);
			/* the last token is the first of the next window */
			memcpy(p->row, p->row + (size_t)p->T * es, es);
			p->nwsegs = 0;
			win_seg(p, p->cur_doc, 0, p->cur_off - 1);
			p->wlen = 1;
		}
	}
}

static void cc_finish(wn_pack *p)
{
	/* a lone carried token was a target already, unless it is all there is */
	if (p->wlen > 1 || (p->wlen == 1 && p->windows == 0)) {
		pad_row(p, p->row, p->wlen);
		emit_window(p, p->row, p->wlen, p->wsegs, p->nwsegs);
	}
	p->wlen = 0;
	p->nwsegs = 0;
}

/* ---- best fit ---- */

static void heap_push(bf_heap *h, uint32_t v)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 8;
		h->v = wn_realloc(h->v, h->cap * sizeof *h->v);
	}
	uint32_t i = h->n++;
	while (i) {
		uint32_t up = (i - 1) / 2;
		if (h->v[up] <= v) break;
		h->v[i] = h->v[up];
		i = up;
	}
	h->v[i] = v;
}

static uint32_t heap_pop(bf_heap *h)
{
	uint32_t top = h->v[0], last = h->v[--h->n], i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->n) break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c]) c++;
		if (last <= h->v[c]) break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n) h->v[i] = last;
	return top;
}

static void bit_set(wn_pack *p, uint32_t f)
{
	p->l0[f >> 6] |= 1ULL << (f & 63);
	p->l1[f >> 12] |= 1ULL << ((f >> 6) & 63);
}

static void bit_clear(wn_pack *p, uint32_t f)
{
	p->l0[f >> 6] &= ~(1ULL << (f & 63));
	if (!p->l0[f >> 6]) p->l1[f >> 12] &= ~(1ULL << ((f >> 6) & 63));
}

/* The least free-space value >= x that has a window, or NONE. */
static uint32_t bit_find(const wn_pack *p, uint32_t x)
{
	size_t w = x >> 6;
	if (w >= p->nl0) return NONE;
	uint64_t m = p->l0[w] & (~0ULL << (x & 63));
	if (m) return (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
	size_t nw = w + 1;
	if (nw >= p->nl0) return NONE;
	size_t w1 = nw >> 6;
	uint64_t m1 = p->l1[w1] & (~0ULL << (nw & 63));
	while (!m1) {
		if (++w1 >= p->nl1) return NONE;
		m1 = p->l1[w1];
	}
	size_t ww = w1 * 64 + (size_t)__builtin_ctzll(m1);
	return (uint32_t)(ww * 64 + (size_t)__builtin_ctzll(p->l0[ww]));
}

static void bf_work(wn_pack *p, size_t n)
{
	if (n <= p->capwork) return;
	size_t c = p->capwork ? p->capwork : 1024;
	while (c < n) c *= 2;
	p->order = wn_realloc(p->order, c * sizeof *p->order);
	p->binof = wn_realloc(p->binof, c * sizeof *p->binof);
	p->freecap = wn_realloc(p->freecap, c * sizeof *p->freecap);
	p->bstart = wn_realloc(p->bstart, (c + 1) * sizeof *p->bstart);
	p->capwork = c;
}

/* Pack the buffered remainders best-fit-decreasing and write the windows. */
static void bf_flush(wn_pack *p)
{
	size_t n = p->nchunks, es = (size_t)p->esize;
	if (!n) return;
	uint32_t T1 = p->T1;
	bf_work(p, n);
	/* longest first, equal lengths in input order (counting sort) */
	memset(p->cnt, 0, ((size_t)T1 + 1) * sizeof *p->cnt);
	for (size_t i = 0; i < n; i++) p->cnt[p->chunks[i].len]++;
	uint32_t pos = 0;
	for (uint32_t len = T1; len >= 1; len--) {
		uint32_t c = p->cnt[len];
		p->cnt[len] = pos;
		pos += c;
	}
	for (size_t i = 0; i < n; i++) p->order[p->cnt[p->chunks[i].len]++] = (uint32_t)i;
	/* each into the fullest window that holds it, else a new one */
	uint32_t nb = 0;
	for (size_t j = 0; j < n; j++) {
		uint32_t c = p->order[j], len = p->chunks[c].len, b;
		uint32_t f = bit_find(p, len);
		if (f != NONE) {
			b = heap_pop(&p->bq[f]);
			if (!p->bq[f].n) bit_clear(p, f);
		} else {
			b = nb++;
			p->freecap[b] = T1;
		}
		p->freecap[b] -= len;
		p->binof[c] = b;
		if (p->freecap[b]) {
			heap_push(&p->bq[p->freecap[b]], b);
			bit_set(p, p->freecap[b]);
		}
	}
	/* the chunks of each window, in input order */
	memset(p->bstart, 0, ((size_t)nb + 1) * sizeof *p->bstart);
	for (size_t i = 0; i < n; i++) p->bstart[p->binof[i] + 1]++;
	for (uint32_t b = 0; b < nb; b++) p->bstart[b + 1] += p->bstart[b];
	for (size_t i = 0; i < n; i++) p->order[p->bstart[p->binof[i]]++] = (uint32_t)i;
	/* bstart[b] is now the end of window b's run; runs are consecutive */
	uint32_t from = 0;
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t to = p->bstart[b], fill = 0;
		p->nwsegs = 0;
		for (uint32_t k = from; k < to; k++) {
			const bf_chunk *c = &p->chunks[p->order[k]];
			memcpy(p->row2 + (size_t)fill * es, p->bbuf + c->at * es, (size_t)c->len * es);
			win_seg(p, c->doc, fill, c->doc_off);
			fill += c->len;
		}
		pad_row(p, p->row2, fill);
		emit_window(p, p->row2, fill, p->wsegs, p->nwsegs);
		from = to;
		if (p->freecap[b]) {
			p->bq[p->freecap[b]].n = 0;
			bit_clear(p, p->freecap[b]);
		}
	}
	p->nwsegs = 0;
	p->nchunks = 0;
	p->bused = 0;
}

static void bf_add(wn_pack *p, const unsigned char *b, uint32_t len, uint64_t doc, uint64_t off)
{
	size_t es = (size_t)p->esize;
	if (p->bused + len > p->bf_budget || p->nchunks == WN_PACK_BESTFIT_MAX_CHUNKS) bf_flush(p);
	if (p->nchunks == p->capchunks) {
		p->capchunks = p->capchunks ? 2 * p->capchunks : 1024;
		p->chunks = wn_realloc(p->chunks, p->capchunks * sizeof *p->chunks);
	}
	memcpy(p->bbuf + p->bused * es, b, (size_t)len * es);
	p->chunks[p->nchunks++] = (bf_chunk){ .doc = doc, .at = p->bused, .doc_off = (uint32_t)off,
					      .len = len };
	p->bused += len;
}

static void bf_begin(wn_pack *p)
{
	p->cur_doc = p->docs;
	p->cur_off = 0;
	p->row_off = 0;
	p->wlen = 0;
}

static void bf_push(wn_pack *p, const unsigned char *b, size_t n)
{
	size_t es = (size_t)p->esize;
	while (n) {
		size_t k = p->T1 - p->wlen;
		if (k > n) k = n;
		memcpy(p->row + p->wlen * es, b, k * es);
		p->wlen += (uint32_t)k;
		p->cur_off += k;
		b += k * es;
		n -= k;
		if (p->wlen == p->T1) { /* a full chunk is a window by itself */
			wn_pack_seg s = { .doc = p->cur_doc, .start = 0, .doc_off = (uint32_t)p->row_off };
			emit_window(p, p->row, p->T1, &s, 1);
			p->wlen = 0;
			p->row_off = p->cur_off;
		}
	}
}

static void bf_end(wn_pack *p)
{
	if (p->wlen) bf_add(p, p->row, p->wlen, p->cur_doc, p->row_off);
	p->wlen = 0;
}

/* ---- opening, feeding, closing ---- */

/* Create the files of a packer whose fields are set. */
static int pk_start(wn_pack *p, const char *prefix, char *err, size_t errlen)
{
	wn_bfile_init(&p->main);
	wn_bfile_init(&p->idx);
	wn_bfile_init(&p->sa);
	wn_bfile_init(&p->sb);
	wn_bfile_init(&p->sc);
	p->prefix = wn_strdup(prefix);
	p->conv = wn_malloc((size_t)CONV * 4);
	tok_bytes(p, p->eos_b, p->eos);
	tok_bytes(p, p->pad_b, p->pad);
	char *name;
	int rc = 0;
	unsigned char zero8[8] = { 0 };
	switch (p->format) {
	case WN_PACK_MEGATRON: {
		name = cat2(prefix, ".bin");
		rc = wn_bfile_create(&p->main, name, 0);
		free(name);
		if (rc) return wn_bfile_msg(&p->main, err, errlen);
		name = cat2(prefix, ".idx");
		rc = wn_bfile_create(&p->idx, name, 0);
		if (!rc) rc = wn_bfile_create(&p->sa, name, 1);
		if (!rc) rc = wn_bfile_create(&p->sb, name, 1);
		free(name);
		if (rc) break;
		wn_bfile_zeros(&p->idx, MG_HDR);
		wn_bfile_put(&p->sb, zero8, 8); /* the document index starts with 0 */
		p->ndocidx = 1;
		break;
	}
	case WN_PACK_LLMC:
		name = cat2(prefix, ".bin");
		rc = wn_bfile_create(&p->main, name, 0);
		free(name);
		if (!rc) wn_bfile_zeros(&p->main, LC_HDR);
		break;
	case WN_PACK_WINNOW:
		name = cat2(prefix, ".wtok");
		rc = wn_bfile_create(&p->main, name, 0);
		if (!rc) rc = wn_bfile_create(&p->sa, name, 1);
		if (!rc) rc = wn_bfile_create(&p->sb, name, 1);
		if (!rc) rc = wn_bfile_create(&p->sc, name, 1);
		free(name);
		if (rc) break;
		wn_bfile_zeros(&p->main, WT_HDR);
		wn_bfile_put(&p->sb, zero8, 8); /* segment offsets start with 0 */
		p->xs = XXH3_createState();
		if (!p->xs) wn_die_oom();
		XXH3_64bits_reset(p->xs);
		p->row = wn_malloc((size_t)p->T1 * (size_t)p->esize);
		p->row2 = wn_malloc((size_t)p->T1 * (size_t)p->esize);
		if (p->mode == WN_PACK_BESTFIT) {
			p->bbuf = wn_malloc(p->bf_budget * (size_t)p->esize);
			p->cnt = wn_malloc(((size_t)p->T1 + 1) * sizeof *p->cnt);
			p->bq = wn_calloc((size_t)p->T1 + 1, sizeof *p->bq);
			p->nl0 = ((size_t)p->T1 + 1 + 63) / 64;
			p->nl1 = (p->nl0 + 63) / 64;
			p->l0 = wn_calloc(p->nl0, 8);
			p->l1 = wn_calloc(p->nl1, 8);
		}
		break;
	}
	if (rc || check_outs(p)) {
		const wn_bfile *o[] = { &p->main, &p->idx, &p->sa, &p->sb, &p->sc };
		for (size_t i = 0; i < 5; i++)
			if (o[i]->err) return wn_bfile_msg(o[i], err, errlen);
		return fail(err, errlen, WN_EIO, "%s: cannot create", prefix);
	}
	return 0;
}

static void pk_free(wn_pack *p)
{
	wn_bfile_discard(&p->main);
	wn_bfile_discard(&p->idx);
	wn_bfile_discard(&p->sa);
	wn_bfile_discard(&p->sb);
	wn_bfile_discard(&p->sc);
	if (p->xs) XXH3_freeState(p->xs);
	if (p->bq)
		for (size_t i = 0; i <= p->T1; i++) free(p->bq[i].v);
	free(p->bq);
	free(p->l0);
	free(p->l1);
	free(p->cnt);
	free(p->order);
	free(p->binof);
	free(p->freecap);
	free(p->bstart);
	free(p->chunks);
	free(p->bbuf);
	free(p->row);
	free(p->row2);
	free(p->wsegs);
	free(p->conv);
	free(p->prefix);
	free(p->domain);
	free(p->tokenizer);
	free(p);
}

void wn_pack_abort(wn_pack *p)
{
	if (p) pk_free(p);
}

wn_pack *wn_pack_open(const char *prefix, const wn_pack_opts *o, char *err, size_t errlen)
{
	if (!prefix || !*prefix) {
		fail(err, errlen, WN_EUSAGE, "no output name");
		return NULL;
	}
	if (o->format < WN_PACK_MEGATRON || o->format > WN_PACK_WINNOW) {
		fail(err, errlen, WN_EUSAGE, "%s: unknown token file format %d", prefix, o->format);
		return NULL;
	}
	if (!o->vocab_size || o->eos_id >= o->vocab_size) {
		fail(err, errlen, WN_EUSAGE, "%s: the EOS id %u is not below the vocabulary size %u",
		     prefix, o->eos_id, o->vocab_size);
		return NULL;
	}
	if (o->format == WN_PACK_MEGATRON && o->vocab_size > 2147483648u) {
		fail(err, errlen, WN_EUSAGE,
		     "%s: a vocabulary of %u ids does not fit Megatron's int32 tokens", prefix,
		     o->vocab_size);
		return NULL;
	}
	int mode = o->pack_mode ? o->pack_mode : WN_PACK_CONCAT;
	if (o->format == WN_PACK_WINNOW) {
		if (o->seq_len < 1 || o->seq_len > WN_PACK_MAX_SEQ_LEN) {
			fail(err, errlen, WN_EUSAGE, "%s: sequence length %d is not in 1..%d", prefix,
			     o->seq_len, WN_PACK_MAX_SEQ_LEN);
			return NULL;
		}
		if (mode != WN_PACK_CONCAT && mode != WN_PACK_BESTFIT) {
			fail(err, errlen, WN_EUSAGE, "%s: unknown packing mode %d", prefix, mode);
			return NULL;
		}
		if (mode == WN_PACK_BESTFIT && o->bestfit_buffer > (1ULL << 32)) {
			fail(err, errlen, WN_EUSAGE, "%s: a best-fit buffer of %zu tokens is too large",
			     prefix, o->bestfit_buffer);
			return NULL;
		}
		if (o->domain && strlen(o->domain) > WN_PACK_DOMAIN_MAX) {
			fail(err, errlen, WN_EUSAGE, "%s: domain name longer than %d bytes", prefix,
			     WN_PACK_DOMAIN_MAX);
			return NULL;
		}
		if (o->tokenizer && strlen(o->tokenizer) > WN_PACK_TOKENIZER_MAX) {
			fail(err, errlen, WN_EUSAGE, "%s: tokenizer description longer than %d bytes",
			     prefix, WN_PACK_TOKENIZER_MAX);
			return NULL;
		}
	}
	wn_pack *p = wn_calloc(1, sizeof *p);
	p->format = o->format;
	p->vocab = o->vocab_size;
	p->eos = p->pad = o->eos_id;
	switch (p->format) {
	case WN_PACK_MEGATRON:
		/* Megatron's own rule (best_fitting_dtype) */
		p->esize = o->vocab_size < 65500 ? 2 : 4;
		p->mg_code = o->vocab_size < 65500 ? MG_U16 : MG_I32;
		break;
	case WN_PACK_LLMC:
		p->esize = o->vocab_size <= 65536 ? 2 : 4;
		p->lc_magic = p->esize == 2 ? LC_MAGIC16 : LC_MAGIC32;
		p->lc_version = p->esize == 2 ? LC_VERSION16 : LC_VERSION32;
		break;
	case WN_PACK_WINNOW:
		p->esize = o->vocab_size <= 65536 ? 2 : 4;
		p->mode = mode;
		p->T = (uint32_t)o->seq_len;
		p->T1 = p->T + 1;
		p->domain = wn_strdup(o->domain ? o->domain : "");
		p->tokenizer = wn_strdup(o->tokenizer ? o->tokenizer : "");
		if (mode == WN_PACK_BESTFIT) {
			p->bf_budget = o->bestfit_buffer ? o->bestfit_buffer : WN_PACK_BESTFIT_DEFAULT;
			if (p->bf_budget < p->T1) p->bf_budget = p->T1;
			p->bf_hdr = p->bf_budget;
		}
		break;
	}
	if (pk_start(p, prefix, err, errlen)) {
		pk_free(p);
		return NULL;
	}
	return p;
}

/* n converted tokens into the format's stream. */
static void feed(wn_pack *p, const unsigned char *b, size_t n)
{
	if (p->format != WN_PACK_WINNOW) wn_bfile_put(&p->main, b, n * (size_t)p->esize);
	else if (p->mode == WN_PACK_CONCAT) cc_push(p, b, n);
	else bf_push(p, b, n);
}

int wn_pack_doc(wn_pack *p, const uint32_t *ids, size_t n)
{
	if (p->failed) return p->failed;
	/* checked before anything is written, so a refused document leaves
	 * the packer as it was */
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= p->vocab)
			return perr(p, WN_EUSAGE,
				    "document %llu: token %zu is %u, not below the vocabulary size %u",
				    (unsigned long long)p->docs + 1, i, ids[i], p->vocab);
	uint64_t len = (uint64_t)n + 1;
	if (p->format == WN_PACK_MEGATRON && len > INT32_MAX)
		return perr(p, WN_ETOOBIG,
			    "document %llu: %llu tokens, Megatron sequences hold at most %d",
			    (unsigned long long)p->docs + 1, (unsigned long long)len, INT32_MAX);
	if (p->format == WN_PACK_LLMC && p->tokens + len > WN_PACK_LLMC_MAX_TOKENS)
		return perr(p, WN_ETOOBIG,
			    "document %llu: the llm.c shard would pass %llu tokens; start another",
			    (unsigned long long)p->docs + 1, WN_PACK_LLMC_MAX_TOKENS);
	if (p->format == WN_PACK_WINNOW && len > UINT32_MAX)
		return perr(p, WN_ETOOBIG, "document %llu: %llu tokens, winnow files hold at most %u",
			    (unsigned long long)p->docs + 1, (unsigned long long)len, UINT32_MAX);

	if (p->format == WN_PACK_WINNOW) {
		if (p->mode == WN_PACK_CONCAT) cc_begin(p);
		else bf_begin(p);
	}
	for (size_t i = 0; i < n; i += CONV) {
		size_t k = n - i < CONV ? n - i : CONV;
		conv_ids(p, p->conv, ids + i, k);
		feed(p, p->conv, k);
	}
	feed(p, p->eos_b, 1);
	if (p->format == WN_PACK_WINNOW && p->mode == WN_PACK_BESTFIT) bf_end(p);
	if (p->format == WN_PACK_MEGATRON) {
		unsigned char b[8];
		put_u32(b, (uint32_t)len);
		wn_bfile_put(&p->idx, b, 4);
		put_u64(b, p->data_bytes);
		wn_bfile_put(&p->sa, b, 8);
		p->data_bytes += len * (uint64_t)p->esize;
		p->seqs++;
		put_u64(b, p->seqs);
		wn_bfile_put(&p->sb, b, 8);
		p->ndocidx++;
	}
	p->docs++;
	p->tokens += len;
	return check_outs(p);
}

static void fill_summary(const wn_pack *p, wn_pack_summary *s)
{
	if (!s) return;
	memset(s, 0, sizeof *s);
	s->documents = p->docs;
	s->tokens = p->tokens;
	s->sequences = p->seqs;
	s->windows = p->windows;
	s->segments = p->segments;
	s->padding = p->padding;
	s->bytes = p->main.pos + p->idx.pos;
	s->fill = p->windows ? (double)p->valid / ((double)p->windows * p->T1) : 1.0;
}

static int close_megatron(wn_pack *p, char *err, size_t errlen)
{
	XXH3_state_t *xs = XXH3_createState(); /* out_copy hashes; unused here */
	if (!xs) wn_die_oom();
	XXH3_64bits_reset(xs);
	out_copy(&p->idx, &p->sa, xs, p->conv, (size_t)CONV * 4);
	out_copy(&p->idx, &p->sb, xs, p->conv, (size_t)CONV * 4);
	XXH3_freeState(xs);
	unsigned char h[MG_HDR];
	memcpy(h, MG_MAGIC, 9);
	put_u64(h + 9, 1);
	h[17] = (unsigned char)p->mg_code;
	put_u64(h + 18, p->seqs);
	put_u64(h + 26, p->ndocidx);
	if (check_outs(p)) return fail(err, errlen, WN_EIO, "%s", p->msg);
	if (wn_bfile_flush(&p->idx) || wn_bfile_pwrite(&p->idx, 0, h, sizeof h) || wn_bfile_sync(&p->idx))
		return wn_bfile_msg(&p->idx, err, errlen);
	if (wn_bfile_sync(&p->main)) return wn_bfile_msg(&p->main, err, errlen);
	/* an old index must never sit beside the new data */
	if (unlink(p->idx.path) && errno != ENOENT) {
		p->idx.err = errno;
		p->idx.what = "cannot remove the old index";
		return wn_bfile_msg(&p->idx, err, errlen);
	}
	if (wn_bfile_rename(&p->main)) return wn_bfile_msg(&p->main, err, errlen);
	if (wn_bfile_rename(&p->idx)) {
		int rc = wn_bfile_msg(&p->idx, err, errlen);
		unlink(p->main.path);
		return rc;
	}
	return 0;
}

static int close_llmc(wn_pack *p, char *err, size_t errlen)
{
	unsigned char h[12];
	put_u32(h, p->lc_magic);
	put_u32(h + 4, p->lc_version);
	put_u32(h + 8, (uint32_t)p->tokens);
	if (check_outs(p)) return fail(err, errlen, WN_EIO, "%s", p->msg);
	if (wn_bfile_flush(&p->main) || wn_bfile_pwrite(&p->main, 0, h, sizeof h) || wn_bfile_sync(&p->main) ||
	    wn_bfile_rename(&p->main))
		return wn_bfile_msg(&p->main, err, errlen);
	return 0;
}

static void put_sect(unsigned char *h, int i, uint32_t id, uint32_t rec, uint64_t off, uint64_t bytes,
		     uint64_t sum)
{
	unsigned char *e = h + WT_O_SECT + i * WT_SECT_BYTES;
	put_u32(e, id);
	put_u32(e + 4, rec);
	put_u64(e + 8, off);
	put_u64(e + 16, bytes);
	put_u64(e + 24, rec ? bytes / rec : bytes);
	put_u64(e + 32, sum);
}

static int close_winnow(wn_pack *p, char *err, size_t errlen)
{
	if (p->mode == WN_PACK_CONCAT) {
		if (p->in_doc) p->docs++;
		p->in_doc = 0;
		cc_finish(p);
	} else {
		bf_flush(p);
	}
	unsigned char *h = wn_calloc(1, WT_HDR);
	size_t es = (size_t)p->esize;
	put_sect(h, 0, WT_S_TOKENS, p->T1 * (uint32_t)es, WT_HDR, p->main.pos - WT_HDR,
		 XXH3_64bits_digest(p->xs));
	wn_bfile *src[] = { &p->sa, &p->sb, &p->sc };
	uint32_t rec[] = { 4, 8, WT_SEG_BYTES };
	XXH3_state_t *xs = XXH3_createState();
	if (!xs) wn_die_oom();
	for (int i = 0; i < 3; i++) {
		wn_bfile_align(&p->main, WT_ALIGN);
		uint64_t off = p->main.pos;
		XXH3_64bits_reset(xs);
		out_copy(&p->main, src[i], xs, p->conv, (size_t)CONV * 4);
		put_sect(h, i + 1, (uint32_t)(WT_S_LENGTHS + i), rec[i], off, p->main.pos - off,
			 XXH3_64bits_digest(xs));
	}
	XXH3_freeState(xs);
	memcpy(h, WT_MAGIC, 8);
	put_u32(h + WT_O_VERSION, WT_VERSION);
	put_u32(h + WT_O_HDRBYTES, WT_HDR);
	put_u64(h + WT_O_FILELEN, p->main.pos);
	put_u32(h + WT_O_TOKBYTES, (uint32_t)es);
	put_u32(h + WT_O_MODE, (uint32_t)p->mode);
	put_u32(h + WT_O_SEQLEN, p->T);
	put_u32(h + WT_O_WINTOK, p->T1);
	put_u32(h + WT_O_VOCAB, p->vocab);
	put_u32(h + WT_O_EOS, p->eos);
	put_u32(h + WT_O_PAD, p->pad);
	put_u32(h + WT_O_NSECT, WT_NSECT);
	put_u64(h + WT_O_WINDOWS, p->windows);
	put_u64(h + WT_O_DOCS, p->docs);
	put_u64(h + WT_O_TOKENS, p->tokens);
	put_u64(h + WT_O_PADDING, p->padding);
	put_u64(h + WT_O_SEGS, p->segments);
	put_u64(h + WT_O_BFBUF, p->bf_hdr);
	memcpy(h + WT_O_DOMAIN, p->domain, strlen(p->domain));
	memcpy(h + WT_O_TOKENIZER, p->tokenizer, strlen(p->tokenizer));
	put_u64(h + WT_O_SUM, XXH3_64bits(h, WT_O_SUM));
	int rc = 0;
	if (check_outs(p)) rc = fail(err, errlen, WN_EIO, "%s", p->msg);
	else if (wn_bfile_flush(&p->main) || wn_bfile_pwrite(&p->main, 0, h, WT_HDR) || wn_bfile_sync(&p->main) ||
		 wn_bfile_rename(&p->main))
		rc = wn_bfile_msg(&p->main, err, errlen);
	free(h);
	return rc;
}

int wn_pack_close(wn_pack *p, wn_pack_summary *s, char *err, size_t errlen)
{
	int rc;
	if (p->failed) {
		rc = fail(err, errlen, p->failed, "%s", p->msg);
	} else if (p->format == WN_PACK_MEGATRON) {
		rc = close_megatron(p, err, errlen);
	} else if (p->format == WN_PACK_LLMC) {
		rc = close_llmc(p, err, errlen);
	} else {
		rc = close_winnow(p, err, errlen);
	}
	fill_summary(p, s);
	pk_free(p);
	return rc;
}

/* ---- reading ---- */

/* token kinds in files */
enum { K_U8, K_I8, K_I16, K_I32, K_I64, K_U16, K_U32 };
static const int kind_size[] = { 1, 1, 2, 4, 8, 2, 4 };
static const char *kind_name[] = { "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32" };

struct wn_pack_reader {
	wn_pack_info info;
	int kind, esize, has_eos;
	uint32_t eos;
	const unsigned char *m1, *m2;  /* idx / llm.c / wtok; Megatron .bin */
	size_t l1, l2;
	/* Megatron */
	uint64_t S, D;
	const unsigned char *sizes, *offs, *didx;
	/* llm.c */
	const unsigned char *toks;
	uint64_t ntok;
	/* winnow */
	uint32_t T1;
	uint64_t W, nseg;
	const unsigned char *rows, *lens, *segoff, *segs;
	/* items */
	uint64_t next, pos;
	uint32_t *ids;
	size_t idcap;
	wn_pack_seg *sg;
	size_t sgcap;
};

static int map_file(const char *path, const unsigned char **m, size_t *len, char *err, size_t errlen)
{
	*m = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return fail(err, errlen, WN_EIO, "%s: %s", path, e == ENOENT ? "missing" : strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return fail(err, errlen, WN_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, WN_EUSAGE, "%s: not a regular file", path);
	}
	*len = (size_t)st.st_size;
	if (*len) {
		void *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			int e = errno;
			close(fd);
			return fail(err, errlen, WN_EIO, "%s: %s", path, strerror(e));
		}
		*m = map;
	}
	close(fd);
	return 0;
}

/* Check n tokens of kind k: 0 <= id < limit; count EOS, keep the largest.
 * Returns 0, or 1 with the first bad one's index and value. */
typedef struct scan_res {
	uint64_t eos_count, bad_at;
	int64_t bad_val;
	uint32_t max_id;
} scan_res;

#define SCAN_LOOP(T)                                                                  \
	for (uint64_t i = 0; i < n; i++) {                                            \
		T v;                                                                  \
		memcpy(&v, b + i * sizeof(T), sizeof(T));                             \
		int64_t x = (int64_t)v;                                               \
		if (x < 0 || (uint64_t)x >= limit) {                                  \
			r->bad_at = i;                                                \
			r->bad_val = x;                                               \
			return 1;                                                     \
		}                                                                     \
		if ((uint32_t)x > r->max_id) r->max_id = (uint32_t)x;                 \
		r->eos_count += (uint64_t)x == eos;                                   \
	}

static int scan_tokens(const unsigned char *b, uint64_t n, int kind, uint64_t limit, uint64_t eos,
		       scan_res *r)
{
	switch (kind) {
	case K_U8: SCAN_LOOP(uint8_t) break;
	case K_I8: SCAN_LOOP(int8_t) break;
	case K_I16: SCAN_LOOP(int16_t) break;
	case K_I32: SCAN_LOOP(int32_t) break;
	case K_I64: SCAN_LOOP(int64_t) break;
	case K_U16: SCAN_LOOP(uint16_t) break;
	case K_U32: SCAN_LOOP(uint32_t) break;
	}
	return 0;
}

/* Validated tokens to uint32. */
static void to_u32(uint32_t *d, const unsigned char *b, size_t n, int kind)
{
	switch (kind) {
	case K_U16:
		for (size_t i = 0; i < n; i++) {
			uint16_t v;
			memcpy(&v, b + 2 * i, 2);
			d[i] = v;
		}
		break;
	case K_U32:
	case K_I32:
		memcpy(d, b, n * 4);
		break;
	case K_U8:
	case K_I8:
		for (size_t i = 0; i < n; i++) d[i] = b[i];
		break;
	case K_I16:
		for (size_t i = 0; i < n; i++) {
			int16_t v;
			memcpy(&v, b + 2 * i, 2);
			d[i] = (uint32_t)v;
		}
		break;
	case K_I64:
		for (size_t i = 0; i < n; i++) d[i] = (uint32_t)get_i64(b + 8 * i);
		break;
	}
}

static uint32_t *rd_ids(wn_pack_reader *r, size_t n)
{
	if (n > r->idcap) {
		r->idcap = n;
		r->ids = wn_realloc(r->ids, n * sizeof *r->ids);
	}
	return r->ids;
}

static uint64_t id_limit(const wn_pack_expect *x)
{
	return x && x->vocab_size ? x->vocab_size : (uint64_t)UINT32_MAX + 1;
}

static int bad_token(char *err, size_t errlen, const char *path, const char *where, uint64_t i,
		     const scan_res *s, uint64_t limit)
{
	if (s->bad_val < 0)
		return fail(err, errlen, WN_ECORRUPT, "%s: %s%llu is %lld, a negative token id", path,
			    where, (unsigned long long)i, (long long)s->bad_val);
	return fail(err, errlen, WN_ECORRUPT, "%s: %s%llu is %lld, not below the %s %llu", path, where,
		    (unsigned long long)i, (long long)s->bad_val,
		    limit > UINT32_MAX ? "32-bit limit" : "vocabulary size",
		    (unsigned long long)limit);
}

static int open_megatron(wn_pack_reader *r, const wn_pack_expect *x, char *err, size_t errlen)
{
	wn_pack_info *in = &r->info;
	const char *ip = in->path, *bp = in->data_path;
	int rc = map_file(ip, &r->m1, &r->l1, err, errlen);
	if (rc) return rc;
	if (r->l1 < MG_HDR)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: truncated (%zu bytes, shorter than the %d-byte index header)", ip,
			    r->l1, MG_HDR);
	if (memcmp(r->m1, MG_MAGIC, 9))
		return fail(err, errlen, WN_ECORRUPT, "%s: not a Megatron index (no MMIDIDX magic)", ip);
	uint64_t ver = get_u64(r->m1 + 9);
	if (ver != 1)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: Megatron index version %llu, this winnow reads version 1", ip,
			    (unsigned long long)ver);
	int code = r->m1[17];
	static const int kinds[] = { -1, K_U8, K_I8, K_I16, K_I32, K_I64, -2, -2, K_U16 };
	if (code < 1 || code > 8 || kinds[code] < 0)
		return fail(err, errlen, WN_ECORRUPT, "%s: dtype code %d is %s", ip, code,
			    code == MG_F32 || code == MG_F64 ? "a float type, not token ids"
							     : "unknown");
	r->kind = kinds[code];
	r->esize = kind_size[r->kind];
	in->dtype_code = code;
	in->version = (uint32_t)ver;
	r->S = get_u64(r->m1 + 18);
	r->D = get_u64(r->m1 + 26);
	uint64_t body = r->l1 - MG_HDR, need = 0;
	int over = r->S > body / 12 || r->D > body / 8 || (need = 12 * r->S + 8 * r->D) > body;
	if (over || need != body)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: %s (%zu bytes, but %llu sequences and %llu document entries need %s%llu)",
			    ip, over ? "truncated" : "has trailing bytes", r->l1,
			    (unsigned long long)r->S, (unsigned long long)r->D, over ? "more than " : "",
			    (unsigned long long)(over ? body : need) + MG_HDR);
	if (r->D < 1)
		return fail(err, errlen, WN_ECORRUPT, "%s: no document index (it must start with 0)", ip);
	r->sizes = r->m1 + MG_HDR;
	r->offs = r->sizes + 4 * r->S;
	r->didx = r->offs + 8 * r->S;
	rc = map_file(bp, &r->m2, &r->l2, err, errlen);
	if (rc) return rc;
	uint64_t cum = 0, tokens = 0;
	for (uint64_t i = 0; i < r->S; i++) {
		int32_t sz = get_i32(r->sizes + 4 * i);
		int64_t off = get_i64(r->offs + 8 * i);
		if (sz < 0)
			return fail(err, errlen, WN_ECORRUPT, "%s: sequence %llu has length %d", ip,
				    (unsigned long long)i, sz);
		if (off < 0 || (uint64_t)off != cum)
			return fail(err, errlen, WN_ECORRUPT,
				    "%s: sequence %llu starts at byte %lld, expected %llu (the sum of "
				    "the lengths before it)", ip, (unsigned long long)i, (long long)off,
				    (unsigned long long)cum);
		cum += (uint64_t)sz * (uint64_t)r->esize;
		tokens += (uint64_t)sz;
	}
	if (cum != r->l2)
		return fail(err, errlen, WN_ECORRUPT, "%s: %s (%zu bytes, the index describes %llu)", bp,
			    r->l2 < cum ? "truncated" : "has trailing bytes", r->l2,
			    (unsigned long long)cum);
	int64_t prev = 0;
	for (uint64_t j = 0; j < r->D; j++) {
		int64_t d = get_i64(r->didx + 8 * j);
		if ((j == 0 && d != 0) || d < prev || (uint64_t)d > r->S ||
		    (j == r->D - 1 && (uint64_t)d != r->S))
			return fail(err, errlen, WN_ECORRUPT,
				    "%s: document index entry %llu is %lld (entries must rise from 0 "
				    "to the %llu sequences)", ip, (unsigned long long)j, (long long)d,
				    (unsigned long long)r->S);
		prev = d;
	}
	scan_res s = { 0 };
	uint64_t limit = id_limit(x);
	for (uint64_t i = 0; i < r->S; i++) {
		uint64_t sz = (uint64_t)get_i32(r->sizes + 4 * i);
		if (!sz) continue;
		const unsigned char *b = r->m2 + get_i64(r->offs + 8 * i);
		if (scan_tokens(b, sz, r->kind, limit, r->has_eos ? r->eos : UINT64_MAX, &s)) {
			char where[64];
			snprintf(where, sizeof where, "sequence %llu, token ", (unsigned long long)i);
			return bad_token(err, errlen, bp, where, s.bad_at, &s, limit);
		}
	}
	in->dtype = kind_name[r->kind];
	in->token_bytes = r->esize;
	in->documents = r->D - 1;
	in->sequences = r->S;
	in->tokens = tokens;
	in->eos_count = s.eos_count;
	in->max_id = s.max_id;
	in->bytes = r->l1 + r->l2;
	return 0;
}

static int open_llmc(wn_pack_reader *r, const wn_pack_expect *x, char *err, size_t errlen)
{
	wn_pack_info *in = &r->info;
	const char *p = in->path;
	int rc = map_file(p, &r->m1, &r->l1, err, errlen);
	if (rc) return rc;
	if (r->l1 < LC_HDR)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: truncated (%zu bytes, shorter than the %d-byte llm.c header)", p,
			    r->l1, LC_HDR);
	uint32_t magic = get_u32(r->m1), ver = get_u32(r->m1 + 4);
	int32_t count = get_i32(r->m1 + 8);
	if (magic == LC_MAGIC16 && ver == LC_VERSION16) {
		r->kind = K_U16;
	} else if (magic == LC_MAGIC32 && ver == LC_VERSION32) {
		r->kind = K_U32;
	} else if (magic == LC_MAGIC16 || magic == LC_MAGIC32) {
		return fail(err, errlen, WN_ECORRUPT, "%s: llm.c magic %u with version %u (expected %u)",
			    p, magic, ver, magic == LC_MAGIC16 ? LC_VERSION16 : LC_VERSION32);
	} else {
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: not an llm.c shard (magic %u, expected %u or %u)", p, magic,
			    LC_MAGIC16, LC_MAGIC32);
	}
	r->esize = kind_size[r->kind];
	if (count < 0)
		return fail(err, errlen, WN_ECORRUPT, "%s: negative token count %d", p, count);
	uint64_t want = LC_HDR + (uint64_t)count * (uint64_t)r->esize;
	if (r->l1 != want)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: %s (%zu bytes, the header's %d tokens need %llu)", p,
			    r->l1 < want ? "truncated" : "has trailing bytes", r->l1, count,
			    (unsigned long long)want);
	r->toks = r->m1 + LC_HDR;
	r->ntok = (uint64_t)count;
	scan_res s = { 0 };
	uint64_t limit = id_limit(x);
	if (scan_tokens(r->toks, r->ntok, r->kind, limit, r->has_eos ? r->eos : UINT64_MAX, &s))
		return bad_token(err, errlen, p, "token ", s.bad_at, &s, limit);
	in->dtype = kind_name[r->kind];
	in->token_bytes = r->esize;
	in->magic = magic;
	in->version = ver;
	in->tokens = r->ntok;
	in->eos_count = s.eos_count;
	in->max_id = s.max_id;
	in->bytes = r->l1;
	if (r->has_eos) {
		/* documents end with EOS; tokens after the last one are one more */
		uint32_t last = 0;
		if (r->ntok) {
			if (r->kind == K_U16) {
				uint16_t v;
				memcpy(&v, r->toks + 2 * (r->ntok - 1), 2);
				last = v;
			} else {
				last = get_u32(r->toks + 4 * (r->ntok - 1));
			}
		}
		in->documents = s.eos_count + (r->ntok && last != r->eos);
	} else {
		in->documents = UINT64_MAX;
	}
	return 0;
}

typedef struct wt_sect {
	uint32_t id, rec;
	uint64_t off, bytes, count, sum;
} wt_sect;

static int open_winnow(wn_pack_reader *r, const wn_pack_expect *x, char *err, size_t errlen)
{
	wn_pack_info *in = &r->info;
	const char *p = in->path;
	int rc = map_file(p, &r->m1, &r->l1, err, errlen);
	if (rc) return rc;
	const unsigned char *h = r->m1;
	if (r->l1 < 8 || memcmp(h, WT_MAGIC, 8))
		return fail(err, errlen, WN_ECORRUPT, "%s: not a winnow token file", p);
	if (r->l1 < WT_HDR)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: truncated (%zu bytes, shorter than the %d-byte header)", p, r->l1,
			    WT_HDR);
	uint32_t ver = get_u32(h + WT_O_VERSION);
	if (ver != WT_VERSION)
		return fail(err, errlen, WN_ECORRUPT,
			    "%s: format version %u, this winnow reads version %u", p, ver, WT_VERSION);
	if (get_u64(h + WT_O_SUM) != XXH3_64bits(h, WT_O_SUM))
		return fail(err, errlen, WN_ECORRUPT, "%s: corrupt header (checksum mismatch)", p);
	uint64_t flen = get_u64(h + WT_O_FILELEN);
	if (flen != r->l1)
		return fail(err, errlen, WN_ECORRUPT, "%s: %s (%zu bytes, the header says %llu)", p,
			    r->l1 < flen ? "truncated" : "has trailing bytes", r->l1,
			    (unsigned long long)flen);
	uint32_t tb = get_u32(h + WT_O_TOKBYTES), mode = get_u32(h + WT_O_MODE);
	uint32_t T = get_u32(h + WT_O_SEQLEN), T1 = get_u32(h + WT_O_WINTOK);
	uint32_t vocab = get_u32(h + WT_O_VOCAB), eos = get_u32(h + WT_O_EOS), pad = get_u32(h + WT_O_PAD);
	uint32_t nsect = get_u32(h + WT_O_NSECT);
	const char *bad = NULL;
	if (get_u32(h + WT_O_HDRBYTES) != WT_HDR) bad = "header size";
	else if (mode != WN_PACK_CONCAT && mode != WN_PACK_BESTFIT) bad = "packing mode";
	else if (T < 1 || T > WN_PACK_MAX_SEQ_LEN || T1 != T + 1) bad = "sequence length";
	else if (!vocab || eos >= vocab || pad >= vocab) bad = "vocabulary size, EOS or pad id";
	else if (tb != (vocab <= 65536 ? 2u : 4u)) bad = "token width for the vocabulary";
	else if (nsect != WT_NSECT) bad = "number of sections";
	else if (h[WT_O_DOMAIN + WN_PACK_DOMAIN_MAX] || h[WT_O_TOKENIZER + WN_PACK_TOKENIZER_MAX])
		bad = "strings";
	if (bad) return fail(err, errlen, WN_ECORRUPT, "%s: corrupt header (%s)", p, bad);
	if (x && x->vocab_size && vocab > x->vocab_size)
		return fail(err, errlen, WN_EUSAGE, "%s: made for a vocabulary of %u ids, expected %u", p,
			    vocab, x->vocab_size);
	r->kind = tb == 2 ? K_U16 : K_U32;
	r->esize = (int)tb;
	r->T1 = T1;
	r->W = get_u64(h + WT_O_WINDOWS);
	r->nseg = get_u64(h + WT_O_SEGS);
	uint64_t docs = get_u64(h + WT_O_DOCS), tokens = get_u64(h + WT_O_TOKENS);
	uint64_t padding = get_u64(h + WT_O_PADDING);
	/* the section table: each section once, in the file, not overlapping */
	wt_sect sec[WT_NSECT + 1];
	memset(sec, 0, sizeof sec);
	uint64_t want_rec[] = { 0, (uint64_t)T1 * tb, 4, 8, WT_SEG_BYTES };
	uint64_t want_cnt[] = { 0, r->W, r->W, r->W + 1, r->nseg };
	for (uint32_t i = 0; i < WT_NSECT; i++) {
		const unsigned char *e = h + WT_O_SECT + i * WT_SECT_BYTES;
		wt_sect s = { get_u32(e), get_u32(e + 4), get_u64(e + 8), get_u64(e + 16),
			      get_u64(e + 24), get_u64(e + 32) };
		if (s.id < 1 || s.id > WT_NSECT || sec[s.id].id)
			return fail(err, errlen, WN_ECORRUPT, "%s: corrupt section table (entry %u)", p, i);
		if (s.rec != want_rec[s.id] || s.off < WT_HDR || s.off % WT_ALIGN || s.off > r->l1 ||
		    s.bytes > r->l1 - s.off || s.count != want_cnt[s.id] ||
		    s.count > s.bytes || s.bytes / s.rec != s.count || s.bytes % s.rec)
			return fail(err, errlen, WN_ECORRUPT,
				    "%s: corrupt section table (%s: %llu records of %u bytes at %llu)",
				    p, sect_name[s.id], (unsigned long long)s.count, s.rec,
				    (unsigned long long)s.off);
		sec[s.id] = s;
	}
	for (int i = 1; i <= WT_NSECT; i++)
		for (int j = 1; j <= WT_NSECT; j++)
			if (i != j && sec[i].off < sec[j].off + sec[j].bytes &&
			    sec[j].off < sec[i].off + sec[i].bytes)
				return fail(err, errlen, WN_ECORRUPT,
					    "%s: corrupt section table (%s and %s overlap)", p,
					    sect_name[i], sect_name[j]);
	/* between the sections only alignment zeros, and nothing after them:
	 * so every byte of the file is covered by a check */
	{
		int ord[WT_NSECT];
		for (int i = 0; i < WT_NSECT; i++) ord[i] = i + 1;
		for (int i = 1; i < WT_NSECT; i++) /* by offset, empty ones first */
			for (int j = i; j > 0; j--) {
				const wt_sect *a = &sec[ord[j - 1]], *b = &sec[ord[j]];
				if (a->off < b->off || (a->off == b->off && a->bytes <= b->bytes)) break;
				int t = ord[j];
				ord[j] = ord[j - 1];
				ord[j - 1] = t;
			}
		uint64_t at = WT_HDR;
		for (int k = 0; k < WT_NSECT; k++) {
			const wt_sect *c = &sec[ord[k]];
			if (c->off < at || c->off - at >= WT_ALIGN)
				return fail(err, errlen, WN_ECORRUPT, "%s: corrupt section table (gap)", p);
			for (uint64_t b = at; b < c->off; b++)
				if (r->m1[b])
					return fail(err, errlen, WN_ECORRUPT,
						    "%s: corrupt data (byte %llu between sections is not 0)",
						    p, (unsigned long long)b);
			at = c->off + c->bytes;
		}
		if (at != r->l1)
			return fail(err, errlen, WN_ECORRUPT, "%s: has trailing bytes after its sections", p);
	}
	for (int i = 1; i <= WT_NSECT; i++)
		if (XXH3_64bits(r->m1 + sec[i].off, sec[i].bytes) != sec[i].sum)
			return fail(err, errlen, WN_ECORRUPT,
				    "%s: corrupt data (checksum of section %s does not match)", p,
				    sect_name[i]);
	r->rows = r->m1 + sec[WT_S_TOKENS].off;
	r->lens = r->m1 + sec[WT_S_LENGTHS].off;
	r->segoff = r->m1 + sec[WT_S_SEGOFF].off;
	r->segs = r->m1 + sec[WT_S_SEGMENTS].off;

	/* every window */
	uint64_t limit = vocab;
	if (x && x->vocab_size && x->vocab_size < limit) limit = x->vocab_size;
	uint64_t *st = NULL;  /* bestfit: per document, next offset | flags */
	const uint64_t CLOSED = 1ULL << 63, ENDS_EOS = 1ULL << 62, OFF = (1ULL << 62) - 1;
	if (docs > tokens || tokens > r->W * (uint64_t)T1)
		return fail(err, errlen, WN_ECORRUPT, "%s: corrupt header (counts)", p);
	if (mode == WN_PACK_BESTFIT && docs) st = wn_calloc(docs, sizeof *st);
	uint64_t sum_len = 0, sum_pad = 0;
	uint64_t prev_doc = 0, prev_off = 0;  /* concat: the token at position T of the last window */
	uint32_t prev_tok = 0;
	size_t es = (size_t)tb;
	scan_res s = { 0 };
	uint64_t eosv = eos;
	rc = 0;
#define WBAD(...) do { rc = fail(err, errlen, WN_ECORRUPT, __VA_ARGS__); goto out; } while (0)
	if (get_u64(r->segoff) != 0) WBAD("%s: segment offsets do not start at 0", p);
	for (uint64_t w = 0; w < r->W; w++) {
		uint32_t len = get_u32(r->lens + 4 * w);
		uint64_t a = get_u64(r->segoff + 8 * w), b = get_u64(r->segoff + 8 * (w + 1));
		const unsigned char *row = r->rows + w * (uint64_t)T1 * es;
		if (len < 1 || len > T1) WBAD("%s: window %llu has length %u", p, (unsigned long long)w, len);
		if (mode == WN_PACK_CONCAT && w + 1 < r->W && len != T1)
			WBAD("%s: window %llu has length %u; only the last may be short", p,
			     (unsigned long long)w, len);
		if (mode == WN_PACK_CONCAT && w > 0 && len < 2)
			WBAD("%s: the last window holds no target", p);
		if (b <= a || b > r->nseg || b - a > len)
			WBAD("%s: window %llu: bad segment offsets %llu..%llu", p, (unsigned long long)w,
			     (unsigned long long)a, (unsigned long long)b);
		if (scan_tokens(row, len, r->kind, limit, eosv, &s)) {
			char where[64];
			snprintf(where, sizeof where, "window %llu, token ", (unsigned long long)w);
			rc = bad_token(err, errlen, p, where, s.bad_at, &s, limit);
			goto out;
		}
		for (uint32_t i = len; i < T1; i++) {
			uint32_t v = tb == 2 ? (uint32_t)(row[2 * i] | row[2 * i + 1] << 8) : get_u32(row + 4 * i);
			if (v != pad)
				WBAD("%s: window %llu: padding at %u is %u, not the pad id %u", p,
				     (unsigned long long)w, i, v, pad);
		}
		sum_len += len;
		sum_pad += T1 - len;
#define TOK(i) (tb == 2 ? (uint32_t)(row[2 * (i)] | row[2 * (i) + 1] << 8) : get_u32(row + 4 * (size_t)(i)))
		for (uint64_t k = a; k < b; k++) {
			const unsigned char *e = r->segs + WT_SEG_BYTES * k;
			uint64_t doc = get_u64(e);
			uint32_t start = get_u32(e + 8), off = get_u32(e + 12);
			uint32_t end = k + 1 < b ? get_u32(e + WT_SEG_BYTES + 8) : len;
			if ((k == a && start != 0) || end <= start || end > len)
				WBAD("%s: window %llu: segment %llu starts at %u (segments must rise from 0 "
				     "within the window's %u tokens)", p, (unsigned long long)w,
				     (unsigned long long)(k - a), start, len);
			if (doc >= docs)
				WBAD("%s: window %llu: document %llu, but the file has %llu", p,
				     (unsigned long long)w, (unsigned long long)doc, (unsigned long long)docs);
			if (mode == WN_PACK_CONCAT) {
				uint64_t wd, wo;  /* what this segment must be */
				if (k > a) {
					wd = prev_doc + 1;
					wo = 0;
					if (TOK(start - 1) != eos)
						WBAD("%s: window %llu: document %llu does not end with EOS",
						     p, (unsigned long long)w, (unsigned long long)prev_doc);
				} else if (w == 0) {
					wd = 0;
					wo = 0;
				} else {
					wd = prev_doc;
					wo = prev_off;
					if (TOK(0) != prev_tok)
						WBAD("%s: window %llu does not begin with the last token of "
						     "the window before", p, (unsigned long long)w);
				}
				if (doc != wd || off != wo)
					WBAD("%s: window %llu: segment %llu is document %llu at %u, expected "
					     "%llu at %llu", p, (unsigned long long)w,
					     (unsigned long long)(k - a), (unsigned long long)doc, off,
					     (unsigned long long)wd, (unsigned long long)wo);
				prev_doc = doc;
				prev_off = off + (uint64_t)(T1 - 1 - start); /* at position T */
			} else {
				uint64_t v = st[doc];
				if ((v & CLOSED) || (v & OFF) != off)
					WBAD("%s: window %llu: document %llu continues at %u, expected %s%llu",
					     p, (unsigned long long)w, (unsigned long long)doc, off,
					     v & CLOSED ? "nothing after " : "", (unsigned long long)(v & OFF));
				uint32_t sl = end - start;
				int ends = TOK(end - 1) == eos;
				if (sl < T1 && !ends)
					WBAD("%s: window %llu: a short piece of document %llu does not end "
					     "with EOS", p, (unsigned long long)w, (unsigned long long)doc);
				v = ((v & OFF) + sl) | (sl < T1 ? CLOSED : 0) | (ends ? ENDS_EOS : 0);
				st[doc] = v;
			}
		}
		if (mode == WN_PACK_CONCAT) prev_tok = TOK(T1 - 1);
		if (mode == WN_PACK_CONCAT && w + 1 == r->W) {
			if (TOK(len - 1) != eos) WBAD("%s: the last document does not end with EOS", p);
			if (prev_doc + 1 != docs)
				WBAD("%s: %llu documents in the windows, the header says %llu", p,
				     (unsigned long long)prev_doc + 1, (unsigned long long)docs);
		}
#undef TOK
	}
	if (get_u64(r->segoff + 8 * r->W) != r->nseg)
		WBAD("%s: segment offsets end at %llu, the file has %llu segments", p,
		     (unsigned long long)get_u64(r->segoff + 8 * r->W), (unsigned long long)r->nseg);
	for (uint64_t d = 0; st && d < docs; d++)
		if (!(st[d] & OFF) || !(st[d] & ENDS_EOS))
			WBAD("%s: document %llu is %s", p, (unsigned long long)d,
			     st[d] & OFF ? "incomplete (its last piece does not end with EOS)" : "missing");
	{
		uint64_t stream = mode == WN_PACK_CONCAT && r->W ? sum_len - (r->W - 1) : sum_len;
		if (stream != tokens || sum_pad != padding || (!r->W && docs))
			WBAD("%s: the windows hold %llu tokens and %llu padding, the header says %llu and "
			     "%llu", p, (unsigned long long)stream, (unsigned long long)sum_pad,
			     (unsigned long long)tokens, (unsigned long long)padding);
	}
#undef WBAD
	in->dtype = kind_name[r->kind];
	in->token_bytes = r->esize;
	in->version = ver;
	in->documents = docs;
	in->windows = r->W;
	in->segments = r->nseg;
	in->tokens = tokens;
	in->padding = padding;
	in->eos_count = s.eos_count;
	in->max_id = s.max_id;
	in->bytes = r->l1;
	in->fill = r->W ? (double)sum_len / ((double)r->W * T1) : 1.0;
	in->mode = (int)mode;
	in->seq_len = (int)T;
	in->vocab_size = vocab;
	in->eos_id = eos;
	in->pad_id = pad;
	in->bestfit_buffer = get_u64(h + WT_O_BFBUF);
	memcpy(in->domain, h + WT_O_DOMAIN, WN_PACK_DOMAIN_MAX + 1);
	memcpy(in->tokenizer, h + WT_O_TOKENIZER, WN_PACK_TOKENIZER_MAX + 1);
	r->has_eos = 1;
	r->eos = eos;
out:
	free(st);
	return rc;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where the files are and which format (see "Finding the format"); want:
 * the format the caller expects, 0 for any. */
static int detect(const char *arg, int want, wn_pack_info *in, char *err, size_t errlen)
{
	size_t n = strlen(arg);
	if (!n) return fail(err, errlen, WN_EUSAGE, "no token file named");
	if (n + 8 > sizeof in->path) return fail(err, errlen, WN_EUSAGE, "%s: name too long", arg);
	char stem[sizeof in->path];
	int is_idx = ends_with(arg, ".idx"), is_bin = ends_with(arg, ".bin");
	if (want == WN_PACK_MEGATRON) {
		int sl = (int)(is_idx || is_bin ? n - 4 : n);
		in->format = WN_PACK_MEGATRON;
		snprintf(in->path, sizeof in->path, "%.*s.idx", sl, arg);
		snprintf(in->data_path, sizeof in->data_path, "%.*s.bin", sl, arg);
		return 0;
	}
	if (want == WN_PACK_LLMC || want == WN_PACK_WINNOW) {
		const char *ext = want == WN_PACK_LLMC ? ".bin" : ".wtok";
		in->format = want;
		if (ends_with(arg, ext) || exists(arg)) snprintf(in->path, sizeof in->path, "%s", arg);
		else snprintf(in->path, sizeof in->path, "%s%s", arg, ext);
		snprintf(in->data_path, sizeof in->data_path, "%s", in->path);
		return 0;
	}
	if (ends_with(arg, ".wtok")) {
		in->format = WN_PACK_WINNOW;
		snprintf(in->path, sizeof in->path, "%s", arg);
	} else if (is_idx) {
		in->format = WN_PACK_MEGATRON;
		snprintf(in->path, sizeof in->path, "%s", arg);
		snprintf(in->data_path, sizeof in->data_path, "%.*s.bin", (int)(n - 4), arg);
	} else if (is_bin) {
		snprintf(stem, sizeof stem, "%.*s.idx", (int)(n - 4), arg);
		if (exists(stem)) {
			in->format = WN_PACK_MEGATRON;
			snprintf(in->path, sizeof in->path, "%s", stem);
			snprintf(in->data_path, sizeof in->data_path, "%s", arg);
		} else {
			in->format = WN_PACK_LLMC;
			snprintf(in->path, sizeof in->path, "%s", arg);
		}
	} else if (exists(arg)) {
		unsigned char b[8] = { 0 };
		int fd = open(arg, O_RDONLY | O_CLOEXEC);
		ssize_t k = fd >= 0 ? read(fd, b, sizeof b) : -1;
		if (fd >= 0) close(fd);
		snprintf(in->path, sizeof in->path, "%s", arg);
		if (k == 8 && !memcmp(b, WT_MAGIC, 8)) in->format = WN_PACK_WINNOW;
		else if (k >= 4 && (get_u32(b) == LC_MAGIC16 || get_u32(b) == LC_MAGIC32))
			in->format = WN_PACK_LLMC;
		else if (k == 8 && !memcmp(b, MG_MAGIC, 7))
			return fail(err, errlen, WN_EUSAGE,
				    "%s: a Megatron index must be named .idx, beside its .bin", arg);
		else
			return fail(err, errlen, WN_ECORRUPT,
				    "%s: not a token file (no winnow or llm.c magic)", arg);
	} else {
		char w[sizeof in->path], i[sizeof in->path], b[sizeof in->path];
		snprintf(w, sizeof w, "%s.wtok", arg);
		snprintf(i, sizeof i, "%s.idx", arg);
		snprintf(b, sizeof b, "%s.bin", arg);
		int hw = exists(w), hi = exists(i), hb = exists(b);
		if (hw + (hi || hb) > 1)
			return fail(err, errlen, WN_EUSAGE, "%s: ambiguous: both %s and %s exist; name the file",
				    arg, w, hi ? i : b);
		if (hw) {
			in->format = WN_PACK_WINNOW;
			snprintf(in->path, sizeof in->path, "%s", w);
		} else if (hi) {
			in->format = WN_PACK_MEGATRON;
			snprintf(in->path, sizeof in->path, "%s", i);
			snprintf(in->data_path, sizeof in->data_path, "%s", b);
		} else if (hb) {
			in->format = WN_PACK_LLMC;
			snprintf(in->path, sizeof in->path, "%s", b);
		} else {
			return fail(err, errlen, WN_EIO, "%s: missing (no %s, %s or %s either)", arg, w, i, b);
		}
	}
	if (in->format != WN_PACK_MEGATRON) snprintf(in->data_path, sizeof in->data_path, "%s", in->path);
	return 0;
}

void wn_pack_reader_close(wn_pack_reader *r)
{
	if (!r) return;
	if (r->m1) munmap((void *)r->m1, r->l1);
	if (r->m2) munmap((void *)r->m2, r->l2);
	free(r->ids);
	free(r->sg);
	free(r);
}

static int reader_open(wn_pack_reader **rp, const char *arg, const wn_pack_expect *x, char *err,
		       size_t errlen)
{
	wn_pack_reader *r = wn_calloc(1, sizeof *r);
	*rp = NULL;
	int rc = detect(arg, x ? x->format : 0, &r->info, err, errlen);
	if (!rc) {
		r->has_eos = x && x->has_eos;
		r->eos = x ? x->eos_id : 0;
		r->info.fill = 1.0;
		switch (r->info.format) {
		case WN_PACK_MEGATRON: rc = open_megatron(r, x, err, errlen); break;
		case WN_PACK_LLMC: rc = open_llmc(r, x, err, errlen); break;
		default: rc = open_winnow(r, x, err, errlen); break;
		}
		if (!rc && x && x->has_eos && r->info.format == WN_PACK_WINNOW &&
		    x->eos_id != r->info.eos_id)
			rc = fail(err, errlen, WN_EUSAGE, "%s: EOS id %u, expected %u", r->info.path,
				  r->info.eos_id, x->eos_id);
	}
	if (rc) {
		wn_pack_reader_close(r);
		return rc;
	}
	*rp = r;
	return 0;
}

wn_pack_reader *wn_pack_reader_open(const char *arg, const wn_pack_expect *x, char *err, size_t errlen)
{
	wn_pack_reader *r;
	reader_open(&r, arg, x, err, errlen);
	return r;
}

const wn_pack_info *wn_pack_reader_info(const wn_pack_reader *r) { return &r->info; }

static uint64_t mg_doc_of(const wn_pack_reader *r, uint64_t i)
{
	/* the last entry j < D-1 with didx[j] <= i */
	uint64_t lo = 0, hi = r->D - 1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)get_i64(r->didx + 8 * mid) <= i) lo = mid;
		else hi = mid;
	}
	return lo;
}

int wn_pack_reader_get(wn_pack_reader *r, uint64_t i, wn_pack_item *it)
{
	memset(it, 0, sizeof *it);
	it->index = i;
	if (r->info.format == WN_PACK_MEGATRON && i < r->S) {
		size_t n = (size_t)get_i32(r->sizes + 4 * i);
		uint32_t *d = rd_ids(r, n ? n : 1);
		if (n) to_u32(d, r->m2 + get_i64(r->offs + 8 * i), n, r->kind);
		it->doc = mg_doc_of(r, i);
		it->ids = d;
		it->n = n;
		return 0;
	}
	if (r->info.format == WN_PACK_WINNOW && i < r->W) {
		uint32_t *d = rd_ids(r, r->T1);
		to_u32(d, r->rows + i * (uint64_t)r->T1 * (uint64_t)r->esize, r->T1, r->kind);
		uint64_t a = get_u64(r->segoff + 8 * i), b = get_u64(r->segoff + 8 * (i + 1));
		if (b - a > r->sgcap) {
			r->sgcap = b - a;
			r->sg = wn_realloc(r->sg, r->sgcap * sizeof *r->sg);
		}
		for (uint64_t k = a; k < b; k++) {
			const unsigned char *e = r->segs + WT_SEG_BYTES * k;
			r->sg[k - a] = (wn_pack_seg){ get_u64(e), get_u32(e + 8), get_u32(e + 12) };
		}
		it->ids = d;
		it->n = get_u32(r->lens + 4 * i);
		it->segs = r->sg;
		it->nsegs = (size_t)(b - a);
		return 0;
	}
	return WN_EUSAGE;
}

int wn_pack_reader_next(wn_pack_reader *r, wn_pack_item *it)
{
	if (r->info.format != WN_PACK_LLMC) {
		uint64_t n = r->info.format == WN_PACK_MEGATRON ? r->S : r->W;
		if (r->next >= n) return 0;
		wn_pack_reader_get(r, r->next++, it);
		return 1;
	}
	memset(it, 0, sizeof *it);
	if (r->pos >= r->ntok) return 0;
	uint64_t end = r->pos;
	if (r->has_eos) {
		if (r->kind == K_U16) {
			while (end < r->ntok) {
				uint16_t v;
				memcpy(&v, r->toks + 2 * end++, 2);
				if (v == r->eos) break;
			}
		} else {
			while (end < r->ntok)
				if (get_u32(r->toks + 4 * end++) == r->eos) break;
		}
	} else {
		end = r->ntok - r->pos > (1u << 20) ? r->pos + (1u << 20) : r->ntok;
	}
	size_t n = (size_t)(end - r->pos);
	uint32_t *d = rd_ids(r, n);
	to_u32(d, r->toks + r->pos * (uint64_t)r->esize, n, r->kind);
	it->index = it->doc = r->next++;
	it->ids = d;
	it->n = n;
	r->pos = end;
	return 1;
}

int wn_pack_inspect(const char *arg, const wn_pack_expect *x, wn_pack_info *info, char *err,
		    size_t errlen)
{
	wn_pack_reader *r;
	int rc = reader_open(&r, arg, x, err, errlen);
	if (rc) {
		memset(info, 0, sizeof *info);
		return rc;
	}
	*info = r->info;
	wn_pack_reader_close(r);
	return 0;
}

/* ---- merging ---- */

static int same_params(const wn_pack_info *a, const wn_pack_info *b, char *err, size_t errlen)
{
	const char *what = NULL;
	if (a->format != b->format) what = "format";
	else if (a->token_bytes != b->token_bytes || a->dtype_code != b->dtype_code ||
		 a->magic != b->magic)
		what = "token type";
	else if (a->format == WN_PACK_WINNOW) {
		if (a->mode != b->mode) what = "packing mode";
		else if (a->seq_len != b->seq_len) what = "sequence length";
		else if (a->vocab_size != b->vocab_size) what = "vocabulary size";
		else if (a->eos_id != b->eos_id || a->pad_id != b->pad_id) what = "EOS or pad id";
		else if (strcmp(a->domain, b->domain)) what = "domain";
		else if (strcmp(a->tokenizer, b->tokenizer)) what = "tokenizer";
	}
	if (!what) return 0;
	return fail(err, errlen, WN_EUSAGE, "%s: its %s differs from that of %s; cannot merge", b->path,
		    what, a->path);
}

static void merge_megatron(wn_pack *p, const wn_pack_reader *r)
{
	wn_bfile_put(&p->main, r->m2, r->l2);
	unsigned char b[8];
	for (uint64_t i = 0; i < r->S; i++) {
		wn_bfile_put(&p->idx, r->sizes + 4 * i, 4);
		put_u64(b, p->data_bytes + (uint64_t)get_i64(r->offs + 8 * i));
		wn_bfile_put(&p->sa, b, 8);
	}
	for (uint64_t j = 1; j < r->D; j++) {
		put_u64(b, p->seqs + (uint64_t)get_i64(r->didx + 8 * j));
		wn_bfile_put(&p->sb, b, 8);
	}
	p->ndocidx += r->D - 1;
	p->seqs += r->S;
	p->docs += r->D - 1;
	p->data_bytes += r->l2;
	p->tokens += r->info.tokens;
}

static void merge_winnow(wn_pack *p, const wn_pack_reader *r)
{
	size_t es = (size_t)p->esize;
	for (uint64_t w = 0; w < r->W; w++) {
		const unsigned char *row = r->rows + w * (uint64_t)r->T1 * es;
		uint32_t len = get_u32(r->lens + 4 * w);
		uint64_t a = get_u64(r->segoff + 8 * w), b = get_u64(r->segoff + 8 * (w + 1));
		if (p->mode == WN_PACK_BESTFIT) {
			p->nwsegs = 0;
			for (uint64_t k = a; k < b; k++) {
				const unsigned char *e = r->segs + WT_SEG_BYTES * k;
				win_seg(p, p->docs + get_u64(e), get_u32(e + 8), get_u32(e + 12));
			}
			emit_window(p, row, len, p->wsegs, p->nwsegs);
			p->nwsegs = 0;
			continue;
		}
		/* concat: the stream again, cut afresh: this window's tokens
		 * after the one it shares with the window before */
		uint32_t skip = w ? 1 : 0;
		for (uint64_t k = a; k < b; k++) {
			const unsigned char *e = r->segs + WT_SEG_BYTES * k;
			uint32_t start = get_u32(e + 8), off = get_u32(e + 12);
			uint32_t end = k + 1 < b ? get_u32(e + WT_SEG_BYTES + 8) : len;
			uint32_t from = start > skip ? start : skip;
			if (from >= end) continue;
			if (off == 0 && start >= skip) {
				if (p->in_doc) p->docs++;
				cc_begin(p);
				p->in_doc = 1;
			}
			cc_push(p, row + (size_t)from * es, end - from);
		}
	}
	if (p->mode == WN_PACK_BESTFIT) p->docs += r->info.documents;
	p->tokens += r->info.tokens;
}

int wn_pack_merge(const char *out, const char *const *inputs, int n, const wn_pack_expect *x,
		  wn_pack_summary *s, char *err, size_t errlen)
{
	if (s) memset(s, 0, sizeof *s);
	if (n < 1) return fail(err, errlen, WN_EUSAGE, "%s: nothing to merge", out);
	wn_pack_reader **r = wn_calloc((size_t)n, sizeof *r);
	int rc = 0;
	uint64_t total = 0;
	for (int i = 0; i < n && !rc; i++) {
		rc = reader_open(&r[i], inputs[i], x, err, errlen);
		if (!rc && i) rc = same_params(&r[0]->info, &r[i]->info, err, errlen);
		if (!rc) total += r[i]->info.tokens;
	}
	const wn_pack_info *f = rc ? NULL : &r[0]->info;
	if (!rc && f->format == WN_PACK_LLMC && total > WN_PACK_LLMC_MAX_TOKENS)
		rc = fail(err, errlen, WN_ETOOBIG, "%s: %llu tokens, an llm.c shard holds at most %llu",
			  out, (unsigned long long)total, WN_PACK_LLMC_MAX_TOKENS);
	wn_pack *p = NULL;
	if (!rc) {
		p = wn_calloc(1, sizeof *p);
		p->format = f->format;
		p->esize = f->token_bytes;
		p->mg_code = f->dtype_code;
		p->lc_magic = f->magic;
		p->lc_version = f->version;
		if (f->format == WN_PACK_WINNOW) {
			p->mode = f->mode;
			p->T = (uint32_t)f->seq_len;
			p->T1 = p->T + 1;
			p->vocab = f->vocab_size;
			p->eos = f->eos_id;
			p->pad = f->pad_id;
			p->domain = wn_strdup(f->domain);
			p->tokenizer = wn_strdup(f->tokenizer);
			p->bf_hdr = f->bestfit_buffer;
			for (int i = 1; i < n; i++)
				if (r[i]->info.bestfit_buffer != p->bf_hdr) p->bf_hdr = 0;
		}
		rc = pk_start(p, out, err, errlen);
	}
	for (int i = 0; i < n && !rc; i++) {
		switch (f->format) {
		case WN_PACK_MEGATRON: merge_megatron(p, r[i]); break;
		case WN_PACK_LLMC:
			wn_bfile_put(&p->main, r[i]->toks, r[i]->ntok * (uint64_t)p->esize);
			p->tokens += r[i]->ntok;
			if (r[i]->info.documents != UINT64_MAX) p->docs += r[i]->info.documents;
			break;
		default: merge_winnow(p, r[i]); break;
		}
		if (check_outs(p)) rc = fail(err, errlen, WN_EIO, "%s", p->msg);
	}
	if (p) {
		if (rc) wn_pack_abort(p);
		else rc = wn_pack_close(p, s, err, errlen);
	}
	for (int i = 0; i < n; i++) wn_pack_reader_close(r[i]);
	free(r);
	return rc;
}
