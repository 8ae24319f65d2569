/*
 * dedup.h - exact and MinHash near-duplicate removal (winnow dedup).
 *
 * The pieces, in the order a run uses them:
 *
 *   text -> dd_normalize -> tokens -> shingles   (dd_shingler)
 *   shingles -> 32-bit MinHash signature -> one 128-bit key per band
 *   keys of every document, sorted per band      (sig stage, dd_sorter)
 *   equal keys -> candidate pairs                (pairs stage, per band)
 *   pairs -> union-find -> per-input removal lists (cluster stage, dd_uf)
 *   removal lists applied to the inputs          (apply stage)
 *
 * Normalisation (dd_normalize): NFKD, case folded, combining marks
 * dropped (accents stripped), Traditional Chinese characters mapped to
 * Simplified ones (OpenCC's t2s, character by character), every decimal
 * digit becomes 0, every
 * character that is not a letter, digit or mark (punctuation, symbols,
 * white space, controls) becomes a separator; separators collapse to one
 * space and the ends are trimmed.
 *
 * Tokens: in the normalised text a token is a run of letters and digits of
 * spaced scripts (Latin, Cyrillic, Greek, Arabic, Hangul ...), or a single
 * character of an unspaced script (Han, kana, Thai, Lao, Khmer, Myanmar,
 * Tibetan).  Mixed text needs no switch: "用Python写" is the tokens 用,
 * python, 写.  A shingle is N consecutive tokens (--ngram, default 5), so
 * English shingles are word 5-grams and Chinese ones character 5-grams;
 * a document with fewer than N tokens (but at least one) has one shingle,
 * all of its tokens.  A document without tokens has no shingles and is
 * never a near-duplicate.
 *
 * Hashes: a token's hash is XXH3-64 of its normalised UTF-8; a shingle's
 * is XXH3-64 (seeded) of its tokens' hashes.  MinHash permutation k maps a
 * shingle hash h to the high 32 bits of a_k * h + b_k (mod 2^64), a_k odd:
 * one multiply-add per shingle and permutation instead of K independent
 * hashes, vectorised.  A band key is XXH3-128 of the band's rows.
 *
 * Document ids: a document is (input index, ordinal), the input's place
 * in the sorted list of all inputs and the document's place among that
 * input's valid documents; its global number is input << 40 | ordinal,
 * so order by number is input order.
 *
 * Ownership: every *_new has a *_free that accepts NULL; arrays returned by
 * pointer are borrowed until the next call on the same object.  Objects
 * are not shared between threads; create one per thread.
 */
#ifndef WN_DEDUP_H
#define WN_DEDUP_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/buf.h"

#define DD_ORD_BITS 40
#define DD_DOC(input, ord) (((uint64_t)(input) << DD_ORD_BITS) | (uint64_t)(ord))
#define DD_DOC_INPUT(d) ((uint64_t)(d) >> DD_ORD_BITS)
#define DD_DOC_ORD(d) ((uint64_t)(d) & ((1ULL << DD_ORD_BITS) - 1))
#define DD_MAX_PERM 1024

/* ---- normalisation and shingles (shingle.c) ---- */

enum { DD_NORM_FULL = 0, DD_NORM_NONE = 1 };

/* Build the normalisation tables (once per process; the other functions
 * do it on first use).  Fails, saying why in err, when OpenCC's t2s data
 * is missing: the Traditional to Simplified fold would then be off, and
 * the same text would hash differently on another machine. */
int dd_norm_init(char *err, size_t errlen);

/* Append the normalised text of s[0..n) to out (valid UTF-8 in, valid
 * UTF-8 out; invalid bytes count as separators). */
void dd_normalize(const char *s, size_t n, wn_buf *out);

typedef struct dd_shingler dd_shingler;
dd_shingler *dd_shingler_new(int ngram, uint64_t seed);
void dd_shingler_free(dd_shingler *sh);
/* The shingle hashes of a text (normalised here); returns their number and
 * points *out at them (with repeats, in text order). */
size_t dd_shingles(dd_shingler *sh, const char *s, size_t n, const uint64_t **out);
/* Tokens of the last dd_shingles() call. */
size_t dd_shingler_tokens(const dd_shingler *sh);
/* The sorted distinct 32-bit shingle fingerprints (high half of each
 * hash) of the last dd_shingles() call: the set --verify compares. */
size_t dd_shingle_set(dd_shingler *sh, const uint32_t **out);
/* |A n B| / |A u B| of two sorted distinct arrays (1 when both are empty). */
double dd_jaccard(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

/* ---- MinHash (minhash.c) ---- */

typedef struct dd_minhash dd_minhash;
/* bands * rows permutations (<= DD_MAX_PERM) drawn from seed. */
dd_minhash *dd_minhash_new(int bands, int rows, uint64_t seed);
void dd_minhash_free(dd_minhash *m);
/* sig[bands*rows] = the minimum of each permutation over the shingles
 * (all UINT32_MAX when n is 0). */
void dd_minhash_sig(const dd_minhash *m, const uint64_t *sh, size_t n, uint32_t *sig);
/* The bucket key of band b of a signature. */
void dd_band_key(const dd_minhash *m, const uint32_t *sig, int b, uint64_t key[2]);
/* The same signature computed the plain way (every permutation a separate
 * seeded XXH3-64 of the shingle hash): the bench's baseline. */
void dd_minhash_sig_naive(int nperm, uint64_t seed, const uint64_t *sh, size_t n, uint32_t *sig);

/* P(a pair of Jaccard s becomes a candidate) = 1 - (1 - s^r)^b. */
double dd_lsh_prob(double s, int bands, int rows);
/* The bands and rows (bands*rows <= max_perm) minimising the weighted
 * false-positive area (integral of P over [0, t]) plus false-negative area
 * (integral of 1-P over [t, 1]) for threshold t. */
void dd_lsh_choose(double t, int max_perm, double fp_weight, double fn_weight,
		   int *bands, int *rows);

/* ---- union-find over dense document numbers (uf.c) ---- */

/* Parents as 64-bit numbers: 8 bytes per document, 16 with --keep-by
 * values.  The root of a set is its best member: the highest value, ties
 * (and no values) to the lowest number, which is input order. */
typedef struct dd_uf {
	uint64_t *parent;
	double *value;     /* NULL: order alone */
	uint64_t n;
} dd_uf;

int dd_uf_init(dd_uf *u, uint64_t n, int with_values);
void dd_uf_release(dd_uf *u);
uint64_t dd_uf_find(dd_uf *u, uint64_t x);
/* Join the sets of a and b; returns 1 when they were apart. */
int dd_uf_union(dd_uf *u, uint64_t a, uint64_t b);

/* ---- intermediate files (dfile.c) ---- */

/* Every intermediate file: a header (magic "WNDEDUP\0", version, kind, the
 * run's parameters as text, input index and count, documents, file
 * length, a section table) with its own checksum, then sections, each
 * with an XXH3-64 checksum.  Written to a temporary name, synced and
 * renamed; a file that is truncated, corrupt, of another kind or version,
 * or made with other parameters is refused with a message naming it.
 * Layout in man/winnow-dedup.5. */
#define DD_FILE_VERSION 1
enum { DD_KIND_SIG = 1, DD_KIND_PAIRS = 2, DD_KIND_REMOVE = 3, DD_KIND_UNITS = 4 };
#define DD_MAX_SECT 40
#define DD_PARAMS_LEN 224

typedef struct dd_sect {
	uint32_t id, recsize;   /* section id; bytes per record (0: a blob) */
	uint64_t off, bytes, count, checksum;
} dd_sect;

typedef struct dd_hdr {
	uint32_t kind, nsect;
	uint64_t index, ninputs;  /* input index and inputs (sig, remove); band (pairs) */
	uint64_t ndocs;           /* documents read (sig), in the input (remove) */
	uint64_t aux;             /* kind-specific: input bytes (sig, remove) */
	char params[DD_PARAMS_LEN]; /* "mode=minhash bands=14 rows=8 ..." */
	dd_sect sect[DD_MAX_SECT];
} dd_hdr;

typedef struct dd_writer dd_writer;
/* Create path (through a temporary beside it). */
int dd_writer_open(dd_writer **w, const char *path, const dd_hdr *h, char *err, size_t errlen);
/* Sections are written one after another: begin, add bytes, end. */
int dd_writer_begin(dd_writer *w, uint32_t id, uint32_t recsize);
int dd_writer_add(dd_writer *w, const void *p, size_t n);
int dd_writer_end(dd_writer *w);
/* Update the header's counts before commit. */
dd_hdr *dd_writer_hdr(dd_writer *w);
/* Write the header, sync, rename into place. */
int dd_writer_commit(dd_writer *w, char *err, size_t errlen);
void dd_writer_abort(dd_writer *w); /* accepts NULL; removes the temporary */

typedef struct dd_file {
	char *path;
	dd_hdr h;
	const unsigned char *map;  /* the whole file, read-only */
	size_t len;
	uint64_t verified;         /* bit s: section s's checksum checked */
} dd_file;

/* Open and check the header (magic, version, kind, length, checksum, and
 * params when want_params is not NULL).  Errors name the file. */
int dd_file_open(dd_file *f, const char *path, uint32_t kind, const char *want_params,
		 char *err, size_t errlen);
void dd_file_close(dd_file *f);
/* Section id: its data (checksum verified on first use) and record count;
 * a missing section is an error unless optional. */
int dd_file_sect(dd_file *f, uint32_t id, const void **data, uint64_t *count, int optional,
		 char *err, size_t errlen);

/* ---- sorting fixed records by their leading key (sort.c) ---- */

/* A band record: a 128-bit key and a document number. */
typedef struct dd_rec {
	uint64_t k0, k1, doc;
} dd_rec;

static inline int dd_rec_cmp(const dd_rec *a, const dd_rec *b)
{
	if (a->k0 != b->k0) return a->k0 < b->k0 ? -1 : 1;
	if (a->k1 != b->k1) return a->k1 < b->k1 ? -1 : 1;
	return a->doc < b->doc ? -1 : a->doc > b->doc;
}
/* Sort in place (LSD radix on the key, stable by doc for equal keys when
 * the input was in doc order; ties are then sorted by doc). */
void dd_rec_sort(dd_rec *r, size_t n);

/* A line or paragraph record: its hash and how often it was seen. */
typedef struct dd_unit {
	uint64_t hash;
	uint64_t count;
} dd_unit;
void dd_unit_sort(dd_unit *u, size_t n);
/* Merge equal hashes of a sorted array in place, summing counts. */
size_t dd_unit_compact(dd_unit *u, size_t n);

#endif
