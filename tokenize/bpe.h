/*
 * bpe.h - byte-level BPE: vocabularies, pre-tokenisation, encoder, decoder.
 *
 * A wn_bpe is a loaded vocabulary: the bytes of every token id, a table
 * from a token's bytes to its id, the merge table (pair of ids -> priority
 * and result id), the special tokens and the compiled pre-tokenisation
 * pattern.  It is immutable once loaded and shared by all threads; each
 * thread encodes through its own wn_bpe_state (match data, a cache of
 * pre-tokens already encoded, scratch).
 *
 * Vocabularies (wn_bpe_load's spec):
 *   r50k_base, gpt2, p50k_base, p50k_edit, cl100k_base, o200k_base
 *                OpenAI's encodings: the rank file NAME.tiktoken found in
 *                the data directory (wn_bpe_data_dir), the encoding's own
 *                pattern and special tokens, as tiktoken defines them;
 *   FILE.tiktoken (or any file of "base64 rank" lines)
 *                a rank file; the pattern comes from the caller (default
 *                cl100k_base's), special tokens from the caller;
 *   tokenizer.json
 *                a Hugging Face tokenizer whose model is BPE over
 *                byte-level strings: the pattern of its Split pre-tokenizer
 *                (or GPT-2's, for a ByteLevel pre-tokenizer with use_regex),
 *                its merges and its added tokens;
 *   encoder.json
 *                GPT-2's files: encoder.json with vocab.bpe beside it,
 *                GPT-2's pattern, <|endoftext|> special.
 *
 * Two merge semantics, both "merge the adjacent pair of lowest priority,
 * the leftmost of equals, until none is in the table":
 *   ranks  (.tiktoken) a pair's priority is the rank of the token its
 *          bytes concatenate to, and a pre-token that is itself a token is
 *          that token without merging (tiktoken's rule);
 *   merges (tokenizer.json, vocab.bpe) a pair's priority is its line in
 *          the merges list and the whole-token shortcut is taken only when
 *          the file says ignore_merges.
 * For a rank file the merge table is derived at load: every split of a
 * token into two tokens is a pair that merges into it.
 *
 * Pre-tokenisation runs the pattern with PCRE2 (UTF, UCP, JIT,
 * DOLLAR_ENDONLY so that `$` means the end of the text as in tiktoken's
 * regex engine); for cl100k_base's and r50k_base's patterns a
 * hand-written matcher takes every pre-token whose match depends on ASCII
 * bytes only, and PCRE2 the others.  Text between matches is a piece of its own (Hugging
 * Face's Split behaviour Isolated) or dropped (Removed with invert).
 *
 * Special tokens: wn_bpe_encode() with allow_special finds their text in
 * the input (leftmost, longest) and emits their ids; without it their text
 * is ordinary text (tiktoken's encode_ordinary).
 *
 * Errors: loaders return NULL with a message naming the file and, for
 * line-based files, the line.  Encoding cannot fail on valid UTF-8; on
 * invalid UTF-8 the pattern sees the bytes as they are (PCRE2's
 * MATCH_INVALID_UTF) and every byte is still encoded, so decode(encode(x))
 * == x holds for any bytes.
 */
#ifndef WN_BPE_H
#define WN_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"

typedef struct wn_bpe wn_bpe;
typedef struct wn_bpe_state wn_bpe_state;

/* A growable array of token ids. */
typedef struct wn_ids {
	uint32_t *v;
	size_t n, cap;
} wn_ids;

static inline void wn_ids_reset(wn_ids *a) { a->n = 0; }
void wn_ids_push(wn_ids *a, uint32_t id);
void wn_ids_release(wn_ids *a);

/* Named patterns: r50k_base (also gpt2, p50k_base), cl100k_base,
 * o200k_base; NULL for another name. */
const char *wn_bpe_pattern(const char *name);

/* The pattern (a name or a regex) as written into a tokenizer.json: the
 * named patterns in a spelling without possessive quantifiers, which
 * other regex engines read and which matches exactly the same; any other
 * regex as given. */
const char *wn_bpe_pattern_portable(const char *name_or_regex);

/* Where named encodings are looked up: $WINNOW_TOKENIZERS, else
 * ${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}/tokenizers. */
void wn_bpe_data_dir(char *out, size_t n);

typedef struct wn_bpe_special_def {
	const char *text;
	uint32_t id;
} wn_bpe_special_def;

typedef struct wn_bpe_load_opts {
	/* a pattern name or a regex; NULL: the vocabulary's own, or
	 * cl100k_base's for a bare rank file */
	const char *pattern;
	/* extra special tokens (a rank file has none of its own) */
	const wn_bpe_special_def *special;
	int nspecial;
	/* 1: PCRE2 for every pre-token, never the hand-written ASCII
	 * pre-tokenisers of cl100k_base and r50k_base (tests compare) */
	int plain_regex;
} wn_bpe_load_opts;

wn_bpe *wn_bpe_load(const char *spec, const wn_bpe_load_opts *o, char *err, size_t errlen);
/* A pattern without a vocabulary, for wn_bpe_split() alone (the trainer's
 * pre-token counting); wn_bpe_encode() must not be called on it. */
wn_bpe *wn_bpe_splitter(const char *pattern, char *err, size_t errlen);
void wn_bpe_free(wn_bpe *b);

/* Ids run from 0 to wn_bpe_n_vocab() - 1 (special tokens included); an id
 * may be unused (cl100k_base has holes below its special tokens). */
uint32_t wn_bpe_n_vocab(const wn_bpe *b);
/* The bytes of id, or NULL when the id is unused or out of range. */
const char *wn_bpe_token(const wn_bpe *b, uint32_t id, size_t *len);
/* The id of special token text, or -1. */
int64_t wn_bpe_special_id(const wn_bpe *b, const char *text);
/* The id of the end-of-text token: <|endoftext|>, else </s>, else -1. */
int64_t wn_bpe_eos(const wn_bpe *b);
/* The pattern in use, and a one-line description of the vocabulary. */
const char *wn_bpe_pattern_of(const wn_bpe *b);
const char *wn_bpe_describe(const wn_bpe *b);

wn_bpe_state *wn_bpe_state_new(const wn_bpe *b);
void wn_bpe_state_free(wn_bpe_state *st);

/* Append the ids of text[0..n) to out. */
void wn_bpe_encode(wn_bpe_state *st, const char *text, size_t n, int allow_special, wn_ids *out);

/* Call fn for each pre-token of text[0..n) (special tokens are text). */
void wn_bpe_split(wn_bpe_state *st, const char *text, size_t n,
		  void (*fn)(void *arg, const char *piece, size_t len), void *arg);

/* Append the bytes of ids to out; 0, or -1 at the first unused or
 * out-of-range id (its index in *bad). */
int wn_bpe_decode(const wn_bpe *b, const uint32_t *ids, size_t n, wn_buf *out, size_t *bad);

#endif
