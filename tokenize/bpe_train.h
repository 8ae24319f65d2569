/*
 * bpe_train.h - byte-level BPE training (the core of `winnow tok train`):
 * a pre-token counter, the trainer, and writers for tiktoken rank files
 * and Hugging Face tokenizer.json.
 *
 * Call order:
 *
 *   wn_bpe_counts_new() per thread; wn_bpe_counts_add() for every
 *   pre-token the pre-tokeniser finds; wn_bpe_counts_merge() the thread
 *   maps into one -> wn_bpe_train() -> wn_bpe_write_tiktoken(),
 *   wn_bpe_write_hf() -> wn_bpe_vocab_free(), wn_bpe_counts_free().
 *
 * The counter.  A hash map from byte strings (any bytes, NUL included) to
 * uint64 counts: key bytes in one arena, a dense array of entries (key
 * offset, length, XXH3-64 hash, count) in first-insertion order, and an
 * open-addressing index of 8-byte slots (32 bits of the hash as a tag, 32
 * bits of entry number), linear probing, at most half full.  Growing
 * re-inserts the entries from their stored hashes without touching the
 * keys.  At most 2^32 - 2 distinct keys.
 *
 * The trainer.  Ranks 0..255 are the single bytes (rank = byte value).
 * Every distinct pre-token becomes a "word": its symbols (token ids,
 * uint32) and its count.  The trainer keeps, for every adjacent pair of
 * symbols, its count over the corpus (sum of the counts of the words it
 * occurs in, times occurrences) and the list of words it occurs in; and a
 * max-heap of (count, pair) entries.  Each step pops the best pair (a, b),
 * makes the token t = bytes(a) || bytes(b), and visits only the words in
 * the pair's list: each occurrence, left to right, is replaced by t and
 * the counts of the pairs around it are adjusted against the live
 * sequence (so "aaaa" with (a, a) becomes [t, t] and the counts come out
 * right: -3 (a,a), +1 (t,t)); pairs that gained count are pushed once at
 * the end of the step.  Counts that only drop are revalidated lazily: a
 * popped entry whose count is stale is pushed again with the current
 * count (or dropped when a newer entry exists).  Invariant: every pair
 * with count >= min_frequency has a heap entry whose stored count is >=
 * its current count, so a popped entry that matches the current count is
 * the true best.  Word lists only grow (stale entries are skipped by a
 * scan); a pair's list is freed when it is merged or its count reaches 0.
 *
 * The tie rule (documented, independent of hash and thread order): the
 * pair with the higher count wins; on equal counts, the pair whose merged
 * byte string is smaller (memcmp order, a proper prefix first); then the
 * smaller a, then the smaller b (token ids, which are ranks).  Because
 * counts are sums and the order is total, the merges depend only on the
 * multiset of (pre-token, count): not on insertion order, hash seeds or
 * the number of threads.
 *
 * Merges that rebuild an existing token.  Two different splits could
 * make the same bytes: ("ab", "c") and ("a", "bc") both give "abc".  Such
 * a merge is applied to the words and recorded in the merges list with
 * the existing token's id (as Hugging Face's trainer does), but adds no
 * token, so n_merges may exceed n_tokens - 256; a pair merged before that
 * comes back this way is merged again but listed once.  None has been
 * seen in any test or benchmark run (stats.dup_merges counts them).  The
 * trainer runs until n_tokens + n_specials == vocab_size, or stops early
 * (and says so) when no pair reaches min_frequency.
 *
 * Ranks and merges.  Token r > 255 is the r-th new token made, so its
 * rank is its merge order.  Applying the merges by merge rank (Hugging
 * Face semantics) gives the trainer's segmentation of every training
 * word.  A tiktoken-style encoder instead merges, again and again, the
 * adjacent pair whose concatenation has the lowest rank; it may therefore
 * join a pair (x, y) that was never a merge because x||y equals a token
 * built from another split (tiktoken behaves so with its own files), and
 * the two can differ.  Measured: no difference on any training word in
 * the unit tests (vocabularies up to 4000), nor between HF tokenizers and
 * tiktoken loading this module's 32k files, on 243,569 lines of the bench
 * text and 40,000 documents of mixed-language text.
 *
 * Threads and memory.  Building the words and the first pair counts and
 * word lists run on opts->threads threads (word ranges, per-thread dense
 * byte-pair tables, summed); the merge loop is sequential, bound by
 * memory latency (it prefetches the next words; the large arrays ask for
 * 2 MiB pages).  Memory is about 22 bytes per symbol (byte of the distinct
 * pre-tokens) at 32k merges: symbols 4, word lists 4-8, pairs (40 bytes
 * each) and their map (16 a slot, half full), heap; stats.peak_bytes says.
 *
 * Special tokens.  opts->specials, in order, get the ids after the last
 * merged token; "<|endoftext|>" is always reserved: put first when the
 * list does not name it.  Specials are never learned from text: they are
 * not in the .tiktoken file (tiktoken keeps them apart) and appear in
 * tokenizer.json as added_tokens (and in model.vocab, as GPT-2's does).
 *
 * Ownership: wn_bpe_counts_key() returns pointers into the map, valid
 * until the next add/merge/free.  wn_bpe_train() does not keep `c` or
 * `o`; the vocabulary it returns owns all its memory (wn_bpe_vocab_free).
 * Strings passed to the writers are borrowed.  Nothing here prints; errors
 * return a WN_E code with a one-line message in err.
 */
#ifndef WN_BPE_TRAIN_H
#define WN_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

/* ---- pre-token counts ---- */

typedef struct wn_bpe_counts wn_bpe_counts;

wn_bpe_counts *wn_bpe_counts_new(void);
void wn_bpe_counts_free(wn_bpe_counts *c);          /* accepts NULL */
void wn_bpe_counts_clear(wn_bpe_counts *c);         /* empty, keep memory */
/* count += n for the key (bytes, len); the key is copied on first sight. */
void wn_bpe_counts_add(wn_bpe_counts *c, const void *bytes, size_t len, uint64_t n);
/* Add every key of src to dst (src unchanged). */
void wn_bpe_counts_merge(wn_bpe_counts *dst, const wn_bpe_counts *src);
size_t wn_bpe_counts_size(const wn_bpe_counts *c);  /* distinct keys */
uint64_t wn_bpe_counts_total(const wn_bpe_counts *c); /* sum of counts */
size_t wn_bpe_counts_mem(const wn_bpe_counts *c);   /* bytes allocated */
/* Count of a key, 0 when absent. */
uint64_t wn_bpe_counts_get(const wn_bpe_counts *c, const void *bytes, size_t len);
/* Iteration: key i (0 <= i < size) in first-insertion order. */
const unsigned char *wn_bpe_counts_key(const wn_bpe_counts *c, size_t i, size_t *len,
				       uint64_t *count);

/* ---- training ---- */

typedef struct wn_bpe_train_opts {
	size_t vocab_size;       /* final size, specials included (e.g. 32000) */
	const char *const *specials; /* UTF-8, distinct, non-empty; may be NULL */
	size_t n_specials;
	uint64_t min_frequency;  /* merge only pairs seen this often; 0: 2 */
	uint64_t min_word_count; /* ignore pre-tokens seen fewer times; 0: all */
	int threads;             /* setup threads; 0: online cores (max 8) */
	/* called every ~100 merges and at the end, from the calling thread */
	void (*progress)(void *ud, size_t tokens, size_t target);
	void *progress_ud;
} wn_bpe_train_opts;

typedef struct wn_bpe_merge {
	uint32_t a, b;  /* the pair, token ids */
	uint32_t t;     /* resulting token id */
} wn_bpe_merge;

typedef struct wn_bpe_train_stats {
	size_t words;            /* distinct pre-tokens trained on */
	size_t words_skipped;    /* distinct pre-tokens under min_word_count */
	uint64_t bytes_in;       /* sum of count * length over trained words */
	uint64_t tokens_out;     /* sum of count * tokens after training */
	uint64_t symbols;        /* symbols of the distinct words at the start */
	size_t pairs;            /* distinct pairs ever counted */
	size_t dup_merges;       /* merges that rebuilt an existing token */
	int stopped_early;       /* 1: no pair reached min_frequency */
	uint64_t last_count;     /* count of the last merged pair */
	int threads;             /* threads used for the setup */
	double seconds_setup;    /* words, pair counts, lists, heap */
	double seconds_merge;    /* the merge loop, wall time */
	double cpu_seconds_merge;/* the same in CPU time (a shared machine) */
	size_t peak_bytes;       /* trainer's own peak allocation (not c) */
} wn_bpe_train_stats;

typedef struct wn_bpe_vocab {
	size_t n_tokens;         /* ranks 0 .. n_tokens-1: 256 bytes, then merges */
	unsigned char *bytes;    /* token r is bytes[off[r] .. off[r+1]) */
	uint64_t *off;           /* n_tokens + 1 entries */
	wn_bpe_merge *merges;    /* in training order */
	size_t n_merges;
	char **specials;         /* special i has id n_tokens + i */
	size_t n_specials;
	wn_bpe_train_stats stats;
} wn_bpe_vocab;

/* Train on the counts.  0, or WN_EUSAGE (bad options: vocab_size below
 * 256 + specials, a duplicate, empty or non-UTF-8 special) with err set. */
int wn_bpe_train(const wn_bpe_counts *c, const wn_bpe_train_opts *o, wn_bpe_vocab **out,
		 char *err, size_t errlen);
void wn_bpe_vocab_free(wn_bpe_vocab *v);            /* accepts NULL */

static inline const unsigned char *wn_bpe_vocab_token(const wn_bpe_vocab *v, size_t r,
						      size_t *len)
{
	*len = (size_t)(v->off[r + 1] - v->off[r]);
	return v->bytes + v->off[r];
}

/* ---- writers ---- */

/* GPT-2's byte-to-unicode map: printable bytes (33-126, 161-172,
 * 174-255) map to themselves, the other 68 in order to U+0100 .. U+0143
 * (space is U+0120 "Ġ"). */
uint32_t wn_bpe_byte_to_unicode(unsigned char b);

/* `.tiktoken` rank file: "base64(bytes) rank\n" for ranks 0..n_tokens-1
 * (no specials, no header).  Written to a temporary beside `path`,
 * synced, renamed into place.  0 or WN_EIO. */
int wn_bpe_write_tiktoken(const wn_bpe_vocab *v, const char *path, char *err, size_t errlen);

/* Hugging Face tokenizer.json (BPE model, Split(pattern) + ByteLevel
 * pre-tokenizer, ByteLevel decoder, specials as added_tokens), into b
 * (appended) or written like the rank file.  pattern is the pre-tokeniser
 * regex in PCRE2 syntax (what winnow's encoder runs, UTF + UCP), written
 * through wn_bpe_pcre_to_onig().  0, WN_EUTF8 (pattern not UTF-8),
 * WN_EUSAGE (a special equals a token's byte-level string, or the
 * pattern's parentheses do not balance), or WN_EIO. */
/* The PCRE2 pattern in a spelling that Hugging Face tokenizers
 * (Oniguruma) reads with the same meaning, appended to out; tiktoken's
 * engine (fancy-regex) and PCRE2 read the result the same way too.  A
 * possessive counted repeat X{n,m}+ (Oniguruma reads it as (X{n,m})+, so
 * cl100k's \p{N}{1,3}+ would take whole digit runs) becomes the atomic
 * group (?>X{n,m}); $ outside a class (the end of the text for winnow's
 * encoder, which compiles with PCRE2_DOLLAR_ENDONLY, and for tiktoken;
 * any line end for Oniguruma, so "a  \nb" would split "  " from "\n")
 * becomes \z.  Everything else is copied (possessive ?+ *+ ++, \p{..},
 * (?i:..), lookarounds mean the same in all three).  0, or WN_EUSAGE for
 * unbalanced parentheses. */
int wn_bpe_pcre_to_onig(const char *pcre, wn_buf *out);

int wn_bpe_hf_json(const wn_bpe_vocab *v, const char *pattern, wn_buf *b, char *err,
		   size_t errlen);
int wn_bpe_write_hf(const wn_bpe_vocab *v, const char *pattern, const char *path, char *err,
		    size_t errlen);

#endif
