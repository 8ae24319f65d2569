/*
 * pack.h - token-file packers: write, merge, check and read the files that
 * trainers read (winnow tok encode / merge / inspect).
 *
 * Three formats (exact layouts in man/winnow-formats.5):
 *
 *   WN_PACK_MEGATRON  PREFIX.bin + PREFIX.idx, Megatron-LM's indexed
 *                     dataset (version 1): one sequence per document, its
 *                     tokens then EOS.  uint16 (dtype code 8) when
 *                     vocab_size < 65500, else int32 (code 4).
 *   WN_PACK_LLMC      PREFIX.bin, an llm.c shard: 256 int32 header (magic
 *                     20240520, version 1, token count) then uint16 tokens;
 *                     when vocab_size > 65536 the uint32 variant (magic
 *                     20240801, version 7).  Each document then EOS.  The
 *                     count is an int32: at most 2^31-1 tokens a shard.
 *   WN_PACK_WINNOW    PREFIX.wtok, the bundled trainer's windows: a checked
 *                     header, then fixed rows of T+1 tokens (T = seq_len;
 *                     inputs are row[0,T), targets row[1,T]), uint16 when
 *                     vocab_size <= 65536 else uint32, padded with pad_id
 *                     (= eos_id); per window its valid length and its
 *                     segments (where a document or a piece of one starts,
 *                     which document, at which offset in it).
 *
 * Winnow packing modes:
 *
 *   WN_PACK_CONCAT   the stream of documents (each then EOS), N tokens, is
 *                    cut into windows i = stream[i*T, i*T+T+1): consecutive
 *                    windows share one token, so every token after the
 *                    first is a target exactly once.  W = ceil((N-1)/T)
 *                    windows (1 when N == 1, 0 when N == 0); only the last
 *                    can be short (padded).
 *   WN_PACK_BESTFIT  best-fit packing (Ding et al. 2024): a document with
 *                    its EOS is cut into chunks of T+1 tokens and a shorter
 *                    remainder.  A full chunk is a window by itself and is
 *                    written at once; remainders wait in a buffer of at
 *                    most bestfit_buffer tokens and 2^20 chunks.  When the
 *                    next remainder would not fit, and at the end, the
 *                    buffer is packed best-fit-decreasing: chunks by length,
 *                    longest first (equal lengths in input order), each into
 *                    the open window with the least free space that holds
 *                    it (equal free space: the window opened first), else a
 *                    new window.  Windows are written in the order they were
 *                    opened, their chunks in input order, the rest padded.
 *                    Nothing is truncated; a document's pieces appear in
 *                    window order.  Deterministic: the same input and
 *                    options give the same bytes.
 *
 * Writing: wn_pack_open() creates the outputs under temporary names beside
 * them (".NAME.tmp.XXXXXX", on lib/shard.h's list for removal on a fatal
 * signal); wn_pack_doc() once per document in order; wn_pack_close()
 * writes the index and header, syncs and renames into place (Megatron: an
 * old PREFIX.idx is removed first, then .bin is renamed, then .idx, so a
 * .idx beside a .bin always belongs to it), or wn_pack_abort() removes
 * everything.  Both free the packer.
 *
 * Memory while writing: constant (a few MiB of buffers; index arrays go to
 * unlinked scratch files beside the output and are copied in at close),
 * except in bestfit mode: the buffer of bestfit_buffer tokens (token bytes
 * each), about 48 bytes per held chunk (at most 2^20 chunks: 48 MiB) and
 * 24 bytes per value 0..T+1 of free space.
 *
 * Checking and reading: wn_pack_reader_open() finds the format from a
 * path or prefix (below), maps the files read-only and validates all of
 * them before it returns: sizes against counts, offsets, every token id,
 * checksums and every window's segments (winnow), header fields.  A file
 * that fails is refused with a message naming it and what is wrong; a
 * reader that opened never reads out of bounds.  Validating a bestfit
 * file holds 8 bytes per document; everything else is constant memory.
 * wn_pack_inspect() is open + info + close.
 *
 * Finding the format: "X.wtok" is winnow; "X.idx" is Megatron (with
 * "X.bin"); "X.bin" is Megatron when "X.idx" exists, else llm.c; another
 * existing file is recognised by its magic (winnow, llm.c).  A prefix X
 * that is not a file: whichever of X.wtok, X.idx (+X.bin) and X.bin alone
 * exists; more than one is an error (name the file).
 *
 * Merging: wn_pack_merge() joins outputs of one format and the same
 * parameters (dtype; winnow: mode, seq_len, vocabulary, EOS, pad, domain,
 * tokenizer) into one, validating each input first.  Megatron, llm.c and
 * winnow concat give exactly the file that packing the inputs' documents
 * one after the other would give; winnow bestfit appends the windows
 * (document numbers shifted), without packing them again.
 *
 * Errors: functions return 0 or a negative WN_E code (lib/err.h):
 * WN_EUSAGE bad options or a token id >= vocab_size, WN_ETOOBIG a document
 * or shard past a format's limit, WN_EIO a failed system call (errno text
 * in the message, ENOSPC included), WN_ECORRUPT a file that fails
 * validation.  Messages name the file.  After WN_EUSAGE and WN_ETOOBIG
 * from wn_pack_doc() nothing of that document was written and the packer
 * can go on; after WN_EIO it is failed (close returns the error).
 *
 * Ownership: strings in the options are copied.  A wn_pack_item's arrays
 * belong to the reader and live until its next call.  Nothing here is
 * shared between threads; use one packer or reader per thread.
 */
#ifndef WN_PACK_H
#define WN_PACK_H

#include <stddef.h>
#include <stdint.h>

enum { WN_PACK_MEGATRON = 1, WN_PACK_LLMC = 2, WN_PACK_WINNOW = 3 };
enum { WN_PACK_CONCAT = 1, WN_PACK_BESTFIT = 2 };

#define WN_PACK_MAX_SEQ_LEN (1 << 20)      /* largest seq_len T */
#define WN_PACK_DOMAIN_MAX 63              /* bytes of the domain name */
#define WN_PACK_TOKENIZER_MAX 1023         /* bytes of the tokenizer text */
#define WN_PACK_BESTFIT_DEFAULT (1u << 24) /* tokens held for best-fit */
#define WN_PACK_BESTFIT_MAX_CHUNKS (1u << 20)
#define WN_PACK_LLMC_MAX_TOKENS 2147483647ULL

typedef struct wn_pack_opts {
	int format;             /* WN_PACK_MEGATRON, WN_PACK_LLMC, WN_PACK_WINNOW */
	uint32_t vocab_size;    /* ids must be below it; picks the token width */
	uint32_t eos_id;        /* written after every document; < vocab_size */
	int seq_len;            /* winnow: T, 1..WN_PACK_MAX_SEQ_LEN; rows of T+1 */
	int pack_mode;          /* winnow: WN_PACK_CONCAT (also 0) or WN_PACK_BESTFIT */
	size_t bestfit_buffer;  /* bestfit: tokens of remainders held (0: default;
				 * raised to T+1 when smaller; at most 2^32) */
	const char *domain;     /* winnow: optional, at most 63 bytes */
	const char *tokenizer;  /* winnow: optional, e.g. "vocab=gpt2.json pattern=gpt2" */
} wn_pack_opts;

typedef struct wn_pack_summary {
	uint64_t documents;   /* documents packed */
	uint64_t tokens;      /* document tokens with their EOS (each counted once) */
	uint64_t sequences;   /* Megatron: sequences (= documents); else 0 */
	uint64_t windows;     /* winnow: windows; else 0 */
	uint64_t segments;    /* winnow: segments over all windows */
	uint64_t padding;     /* winnow: pad positions in the windows */
	uint64_t truncated;   /* tokens dropped: always 0, no mode truncates */
	uint64_t bytes;       /* bytes of all output files */
	double fill;          /* winnow: valid tokens / (windows * (T+1)); else 1 */
} wn_pack_summary;

typedef struct wn_pack wn_pack;

/* Create the outputs of `prefix` (PREFIX.bin and .idx, PREFIX.bin, or
 * PREFIX.wtok).  NULL on error, with the reason in err. */
wn_pack *wn_pack_open(const char *prefix, const wn_pack_opts *o, char *err, size_t errlen);

/* One document's tokens (n may be 0); the packer writes EOS after them. */
int wn_pack_doc(wn_pack *p, const uint32_t *ids, size_t n);

/* The message of the last error of wn_pack_doc(). */
const char *wn_pack_error(const wn_pack *p);

/* Flush, write index and header, sync, rename into place; frees p.  On
 * error nothing is left under the final names (s is filled either way
 * when not NULL). */
int wn_pack_close(wn_pack *p, wn_pack_summary *s, char *err, size_t errlen);

/* Remove the temporaries and free p; accepts NULL. */
void wn_pack_abort(wn_pack *p);

/* ---- reading and checking ---- */

/* What the caller knows about the files (NULL: nothing). */
typedef struct wn_pack_expect {
	uint32_t vocab_size;  /* 0: unknown; else every id must be below it */
	int has_eos;          /* eos_id is known: count EOS tokens, split llm.c documents */
	uint32_t eos_id;
	int format;           /* 0: any; else the format the files must have */
} wn_pack_expect;

typedef struct wn_pack_info {
	int format;             /* WN_PACK_* */
	char path[4096];        /* the file named in messages: .idx, .bin or .wtok */
	char data_path[4096];   /* Megatron: the .bin; else = path */
	const char *dtype;      /* "uint16", "int32", "uint32", ... (static) */
	int token_bytes;        /* bytes per token */
	int dtype_code;         /* Megatron's dtype code; else 0 */
	uint32_t magic;         /* llm.c header magic; else 0 */
	uint32_t version;       /* format version from the file */
	uint64_t documents;     /* UINT64_MAX when unknown (llm.c without eos) */
	uint64_t sequences;     /* Megatron sequences */
	uint64_t windows;       /* winnow windows */
	uint64_t segments;      /* winnow segments */
	uint64_t tokens;        /* document tokens (winnow: each once, no padding) */
	uint64_t padding;       /* winnow pad positions */
	uint64_t eos_count;     /* tokens equal to the EOS id, when known */
	uint64_t bytes;         /* bytes of all the files */
	uint32_t max_id;        /* largest token id (padding not counted) */
	double fill;            /* winnow: valid / capacity; else 1 */
	/* winnow header */
	int mode, seq_len;
	uint32_t vocab_size;    /* 0 when the format does not record it */
	uint32_t eos_id, pad_id;
	uint64_t bestfit_buffer;
	char domain[WN_PACK_DOMAIN_MAX + 1];
	char tokenizer[WN_PACK_TOKENIZER_MAX + 1];
} wn_pack_info;

/* A segment of a winnow window: from `start` to the next segment's start
 * (or the window's length) the tokens of document `doc` (0-based, in
 * packing order) beginning at token `doc_off` of it (0: the document's
 * first token).  Documents are 0..documents-1. */
typedef struct wn_pack_seg {
	uint64_t doc;
	uint32_t start, doc_off;
} wn_pack_seg;

typedef struct wn_pack_item {
	uint64_t index;           /* Megatron sequence, llm.c document, winnow window */
	uint64_t doc;             /* Megatron: the sequence's document; llm.c: = index */
	const uint32_t *ids;      /* tokens; winnow: all T+1 of the row, padding last */
	size_t n;                 /* valid tokens (winnow: the window's length) */
	const wn_pack_seg *segs;  /* winnow: the window's segments; else NULL */
	size_t nsegs;
} wn_pack_item;

typedef struct wn_pack_reader wn_pack_reader;

/* Find, map and validate; NULL on error (reason in err). */
wn_pack_reader *wn_pack_reader_open(const char *path_or_prefix, const wn_pack_expect *x,
				    char *err, size_t errlen);
const wn_pack_info *wn_pack_reader_info(const wn_pack_reader *r);
/* Next item in file order: 1 and *it, or 0 at the end.  Items are
 * Megatron sequences, llm.c documents (tokens through the next EOS; the
 * whole stream in pieces of at most 2^20 tokens when the EOS id is not
 * known) or winnow windows. */
int wn_pack_reader_next(wn_pack_reader *r, wn_pack_item *it);
/* Item i (Megatron sequence, winnow window); WN_EUSAGE for llm.c or i out
 * of range.  Does not move the position of _next. */
int wn_pack_reader_get(wn_pack_reader *r, uint64_t i, wn_pack_item *it);
void wn_pack_reader_close(wn_pack_reader *r); /* accepts NULL */

/* Validate and describe. */
int wn_pack_inspect(const char *path_or_prefix, const wn_pack_expect *x, wn_pack_info *info,
		    char *err, size_t errlen);

/* Join n inputs (paths or prefixes) of one format into out_prefix; x as
 * for wn_pack_reader_open (NULL: nothing known).  s may be NULL. */
int wn_pack_merge(const char *out_prefix, const char *const *inputs, int n,
		  const wn_pack_expect *x, wn_pack_summary *s, char *err, size_t errlen);

/* "megatron", "llmc", "winnow"; and back (0 for an unknown name). */
const char *wn_pack_format_name(int format);
int wn_pack_format_from_name(const char *name);

#endif
