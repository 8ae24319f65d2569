/*
 * quality.c - Gopher, C4 and FineWeb rules over one analysis of the text
 * (definitions and thresholds in quality.h).
 *
 * One pass over the bytes (analyse) yields everything the rules need: per
 * line its stripped span, hash, characters, words, sentences and the marks
 * at its ends; per word a 64-bit hash of its folded letters and its
 * length; the document's counts.  Characters are classified by a 64 KiB
 * table for the BMP, built once from utf8proc's categories; ASCII by a
 * 128-byte table.  Lines of ASCII (or whose other characters are only
 * punctuation) take a faster road to the same result: bitmaps of the
 * document, 64 bytes at a time (see "the bitmap path").  The rule sets then
 * work on these arrays, never on the text again, except C4's substring
 * tests (one case-blind SIMD search per phrase over the whole document).
 *
 * gopher_repetition first tries bounds that need no hash table (bucket
 * sums for the top n-grams, a bit per bucket for repeated 5-grams); only
 * a document they do not clear is counted exactly.  Metrics skipped that
 * way cannot fail, so which documents pass is unchanged; with every value
 * asked for (--annotate-only) nothing is skipped.
 *
 * N-grams: the hash of each n-gram is built in place from the (n-1)-gram
 * hashes, one multiply per position and n; an open-addressed table with
 * an epoch stamp (never cleared between uses) counts them.  Characters
 * covered come from prefix sums of word lengths.
 *
 * The analysis belongs to the current text; an edit (C4, or an outside
 * one through wn_qstate_set_text) marks it stale and the next rule set
 * analyses again.
 */
#include <errno.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "quality.h"
#include "../lib/err.h"
#include "../lib/hash.h"

/* ---- the catalogue ---- */

static const char *const set_names[WN_Q_NSETS] = {
	"gopher_repetition", "gopher_quality", "c4", "fineweb",
};

struct metric_def {
	const char *name;   /* RULESET:METRIC, the drop reason */
	const char *shortn;
	int set;
	double lo, hi;      /* English defaults */
};

#define OFF_LO (-INFINITY)
#define OFF_HI (INFINITY)

static const struct metric_def metrics[WN_QM_N] = {
	{ "gopher_repetition:dup_para_frac", "dup_para_frac", WN_Q_GOPHER_REPETITION, OFF_LO, 0.30 },
	{ "gopher_repetition:dup_para_chars", "dup_para_chars", WN_Q_GOPHER_REPETITION, OFF_LO, 0.20 },
	{ "gopher_repetition:dup_line_frac", "dup_line_frac", WN_Q_GOPHER_REPETITION, OFF_LO, 0.30 },
	{ "gopher_repetition:dup_line_chars", "dup_line_chars", WN_Q_GOPHER_REPETITION, OFF_LO, 0.20 },
	{ "gopher_repetition:top_2gram", "top_2gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.20 },
	{ "gopher_repetition:top_3gram", "top_3gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.18 },
	{ "gopher_repetition:top_4gram", "top_4gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.16 },
	{ "gopher_repetition:dup_5gram", "dup_5gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.15 },
	{ "gopher_repetition:dup_6gram", "dup_6gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.14 },
	{ "gopher_repetition:dup_7gram", "dup_7gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.13 },
	{ "gopher_repetition:dup_8gram", "dup_8gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.12 },
	{ "gopher_repetition:dup_9gram", "dup_9gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.11 },
	{ "gopher_repetition:dup_10gram", "dup_10gram", WN_Q_GOPHER_REPETITION, OFF_LO, 0.10 },
	{ "gopher_quality:words", "words", WN_Q_GOPHER_QUALITY, 50, 100000 },
	{ "gopher_quality:mean_word_length", "mean_word_length", WN_Q_GOPHER_QUALITY, 3, 10 },
	{ "gopher_quality:hash_ratio", "hash_ratio", WN_Q_GOPHER_QUALITY, OFF_LO, 0.1 },
	{ "gopher_quality:ellipsis_ratio", "ellipsis_ratio", WN_Q_GOPHER_QUALITY, OFF_LO, 0.1 },
	{ "gopher_quality:bullet_lines", "bullet_lines", WN_Q_GOPHER_QUALITY, OFF_LO, 0.9 },
	{ "gopher_quality:ellipsis_lines", "ellipsis_lines", WN_Q_GOPHER_QUALITY, OFF_LO, 0.3 },
	{ "gopher_quality:alpha_words", "alpha_words", WN_Q_GOPHER_QUALITY, 0.8, OFF_HI },
	{ "gopher_quality:stop_words", "stop_words", WN_Q_GOPHER_QUALITY, 2, OFF_HI },
	{ "c4:lorem_ipsum", "lorem_ipsum", WN_Q_C4, OFF_LO, 0 },
	{ "c4:curly_bracket", "curly_bracket", WN_Q_C4, OFF_LO, 0 },
	{ "c4:sentences", "sentences", WN_Q_C4, 5, OFF_HI },
	{ "fineweb:line_punct", "line_punct", WN_Q_FINEWEB, 0.12, OFF_HI },
	{ "fineweb:short_lines", "short_lines", WN_Q_FINEWEB, OFF_LO, 0.67 },
	{ "fineweb:dup_line_chars", "dup_line_chars", WN_Q_FINEWEB, OFF_LO, 0.01 },
	{ "fineweb:newline_ratio", "newline_ratio", WN_Q_FINEWEB, OFF_LO, 0.3 },
};

static const char *const c4line_names[WN_C4L_N] = {
	"c4:citation", "c4:no_terminal_punct", "c4:short_line", "c4:long_word",
	"c4:javascript", "c4:policy",
};

const char *wn_qset_name(int set) { return set >= 0 && set < WN_Q_NSETS ? set_names[set] : "?"; }
const char *wn_qmetric_name(int m) { return m >= 0 && m < WN_QM_N ? metrics[m].name : "?"; }
const char *wn_qmetric_short(int m) { return m >= 0 && m < WN_QM_N ? metrics[m].shortn : "?"; }
int wn_qmetric_set(int m) { return m >= 0 && m < WN_QM_N ? metrics[m].set : -1; }
const char *wn_c4line_name(int r) { return r >= 0 && r < WN_C4L_N ? c4line_names[r] : "?"; }

int wn_qset_lookup(const char *name)
{
	for (int s = 0; s < WN_Q_NSETS; s++)
		if (!strcmp(name, set_names[s])) return s;
	return -1;
}

/* ---- character classes ---- */

enum {
	C_SPACE = 1, C_LETTER = 2, C_DIGIT = 4, C_MARK = 8,
	C_UNSPACED = 16, C_KANA = 32, C_HAN = 64,
	C_WORD = C_LETTER | C_DIGIT | C_MARK,
};

static uint8_t bmp_cls[65536];
static uint8_t ascii_cls[128];
static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

static int is_white(uint32_t c)
{
	return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

static int is_han(uint32_t c)
{
	return (c >= 0x2e80 && c <= 0x2fdf) || (c >= 0x3005 && c <= 0x3007) ||
	       (c >= 0x3021 && c <= 0x3029) || (c >= 0x3038 && c <= 0x303b) ||
	       (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
	       (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3ffff);
}

static int is_kana(uint32_t c)
{
	return (c >= 0x3041 && c <= 0x309f) || (c >= 0x30a0 && c <= 0x30ff && c != 0x30fb) ||
	       (c >= 0x31f0 && c <= 0x31ff) || (c >= 0xff66 && c <= 0xff9f);
}

static int is_other_unspaced(uint32_t c)
{
	return (c >= 0x0e00 && c <= 0x0eff) ||  /* Thai, Lao */
	       (c >= 0x1000 && c <= 0x109f) ||  /* Myanmar */
	       (c >= 0x1780 && c <= 0x17ff);    /* Khmer */
}

static uint8_t classify(uint32_t c)
{
	if (is_white(c)) return C_SPACE;
	uint8_t k = 0;
	switch (utf8proc_category((utf8proc_int32_t)c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
		k = C_LETTER; break;
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
		k = C_MARK; break;
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		k = C_DIGIT; break;
	default: break;
	}
	if (is_han(c)) k |= C_HAN | C_UNSPACED | C_LETTER;
	else if (is_kana(c) && (k & C_LETTER)) k |= C_KANA | C_UNSPACED;
	else if (is_other_unspaced(c) && (k & C_LETTER)) k |= C_UNSPACED;
	return k;
}

static void classify_init(void);

static void cls_init(void)
{
	for (uint32_t c = 0; c < 65536; c++)
		bmp_cls[c] = (c >= 0xd800 && c <= 0xdfff) ? 0 : classify(c);
	memcpy(ascii_cls, bmp_cls, sizeof ascii_cls);
	classify_init();
}

static inline uint8_t cls_of(uint32_t c)
{
	return c < 65536 ? bmp_cls[c] : classify(c);
}

/* Decode one code point at s[i] (n bytes); invalid bytes decode as
 * themselves, one byte long (they are symbols). */
static inline __attribute__((always_inline)) uint32_t decode(const unsigned char *s, size_t i, size_t n,
							  size_t *len)
{
	unsigned c = s[i];
	if (c < 0x80) { *len = 1; return c; }
	if (c >= 0xc2 && c < 0xe0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
		*len = 2;
		return ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
	}
	if (c >= 0xe0 && c < 0xf0 && i + 2 < n && (s[i + 1] & 0xc0) == 0x80 &&
	    (s[i + 2] & 0xc0) == 0x80) {
		*len = 3;
		return ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
	}
	if (c >= 0xf0 && c < 0xf5 && i + 3 < n && (s[i + 1] & 0xc0) == 0x80 &&
	    (s[i + 2] & 0xc0) == 0x80 && (s[i + 3] & 0xc0) == 0x80) {
		*len = 4;
		return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) | ((s[i + 2] & 0x3fu) << 6) |
		       (s[i + 3] & 0x3fu);
	}
	*len = 1;
	return 0xfffd;
}

/* Sentence-ending marks: 1 = needs white space or the line's end after it,
 * 2 = a CJK mark (ends the sentence whatever follows). */
static inline int terminal_kind(uint32_t c)
{
	switch (c) {
	case '.': case '!': case '?': case 0x2026: case 0x061f: case 0x0964: case 0x06d4:
	case 0x0589: case 0x1362:
		return 1;
	case 0x3002: case 0xff01: case 0xff1f: case 0xff61: case 0xff0e:
		return 2;
	default:
		return 0;
	}
}

static inline int closing_quote(uint32_t c)
{
	return c == '"' || c == '\'' || c == ')' || c == 0x201d || c == 0x2019 || c == 0x300d ||
	       c == 0x300f || c == 0xff09 || c == 0x00bb || c == 0x300b;
}

/* The last character of a line that ends it in terminal punctuation. */
static inline int terminal_end(uint32_t c)
{
	switch (c) {
	case '.': case '!': case '?': case '"': case '\'': case 0x201d: case 0x2019:
	case 0x300d: case 0x300f: case 0x3002: case 0xff01: case 0xff1f: case 0xff61:
	case 0xff0e: case 0x061f: case 0x0964: case 0x06d4: case 0x0589: case 0x1362:
		return 1;
	default:
		return 0;
	}
}

static inline int bullet(uint32_t c)
{
	return c == 0x2022 || c == 0x2023 || c == 0x25e6 || c == 0x25cf || c == 0x25aa ||
	       c == 0x25a0 || c == 0x25c6 || c == 0x30fb || c == '-' || c == '*';
}

/* ---- hashing ---- */

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h;
}

static inline uint64_t ngram_step(uint64_t prev, uint64_t w)
{
	uint64_t x = (prev ^ (w + 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 31);
}

/* A word's hash over its letters, digits and marks, ASCII folded to lower
 * case.  Segments: a run of ASCII letters and digits is taken eight bytes
 * at a time, each other character whole; punctuation between segments is
 * not part of the word ("don't" hashes "don" then "t"). */
typedef struct whash {
	uint64_t h;
	uint64_t total;
} whash;

#define WH_SEED 0x6a09e667f3bcc908ULL
#define WH_K 0x9e3779b97f4a7c15ULL

static inline void wh_reset(whash *w) { w->h = WH_SEED; w->total = 0; }

static inline void wh_mix(whash *w, uint64_t x)
{
	w->h = (w->h ^ x) * WH_K;
	w->h ^= w->h >> 29;
}

static inline void wh_ascii(whash *w, const unsigned char *p, size_t n)
{
	w->total += n;
	while (n >= 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		wh_mix(w, x | 0x2020202020202020ULL); /* letters and digits only */
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t x = 0;
		for (size_t k = 0; k < n; k++) x |= (uint64_t)(p[k] | 0x20) << (8 * k);
		wh_mix(w, x ^ ((uint64_t)n << 56));
	}
}

static inline void wh_cp(whash *w, uint32_t c)
{
	w->total++;
	wh_mix(w, (uint64_t)c | (1ULL << 62));
}

static inline uint64_t wh_final(const whash *w)
{
	return mix64(w->h + w->total * WH_K);
}

uint64_t wn_q_word_hash(const char *s, size_t n);
uint64_t wn_q_word_hash(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	whash w;
	wh_reset(&w);
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			size_t j = i;
			while (j < n && u[j] < 0x80 && (ascii_cls[u[j]] & C_WORD)) j++;
			if (j > i) {
				wh_ascii(&w, u + i, j - i);
				i = j;
			} else {
				i++;
			}
			continue;
		}
		size_t l;
		uint32_t c = decode(u, i, n, &l);
		if (cls_of(c) & C_WORD) wh_cp(&w, c);
		i += l;
	}
	return wh_final(&w);
}

/* For eight bytes: the high bit of each byte that is an ASCII letter or
 * digit (the return) and of each digit (*digits). */
static inline uint64_t alnum_masks(uint64_t x, uint64_t *digits)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t h7 = x & ~high;
	uint64_t d = (h7 + (0x80 - 0x30) * ones) ^ (h7 + (0x80 - 0x3a) * ones);
	uint64_t l7 = (x | 0x2020202020202020ULL) & ~high;
	uint64_t a = (l7 + (0x80 - 0x61) * ones) ^ (l7 + (0x80 - 0x7b) * ones);
	d &= ~x & high;
	*digits = d;
	return (d | a) & ~x & high;
}

/* ---- counting table: 64-bit keys, epoch-stamped slots ---- */

typedef struct hslot {
	uint64_t key;
	uint32_t stamp, cnt;
} hslot;

typedef struct hset {
	hslot *s;
	size_t cap, mask;
	unsigned shift;
	uint32_t epoch;
} hset;

static void hs_reset(hset *h, size_t items)
{
	size_t need = 64;
	unsigned bits = 6;
	while (need < 2 * items) { need <<= 1; bits++; }
	if (need > h->cap) {
		free(h->s);
		h->s = wn_calloc(need, sizeof *h->s);
		h->cap = need;
		h->epoch = 1;
	} else if (++h->epoch == 0) {
		memset(h->s, 0, sizeof *h->s * h->cap);
		h->epoch = 1;
	}
	/* a smaller table at the start of a bigger one: fewer cache lines */
	h->mask = need - 1;
	h->shift = 64 - bits;
}

/* Count key; returns its count so far (1 the first time).  Whether the
 * key is new is a coin toss for the branch predictor, so the slot is
 * written either way and the count chosen without a branch. */
static inline uint32_t hs_add(hset *h, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> h->shift) & h->mask;
	hslot *s = &h->s[i];
	/* '&', not '&&': one branch, taken only on a collision */
	while ((s->stamp == h->epoch) & (s->key != key)) {
		i = (i + 1) & h->mask;
		s = &h->s[i];
	}
	uint32_t cnt = s->stamp == h->epoch ? s->cnt + 1 : 1;
	s->key = key;
	s->stamp = h->epoch;
	s->cnt = cnt;
	return cnt;
}

/* ---- profiles ---- */

#define MAX_STOP 64

typedef struct profile {
	char name[32];
	double lo[WN_QM_N], hi[WN_QM_N];
	int nstop;
	char *stop[MAX_STOP];
	uint64_t stop_hash[MAX_STOP];
	uint64_t stop_bloom;
	/* stop words by 8 bits of their hash, from bit stop_shift on, when
	 * those bits tell them apart (stop_shift < 0: they do not) */
	int stop_shift;
	uint64_t stop_tab[256];
	uint8_t stop_idx[256];
	int c4_min_words_per_line, c4_max_word_length;
	int c4_citation, c4_no_terminal, c4_javascript;
	int npolicy;
	char **policy;          /* lower case (ASCII folded) */
	int fw_short_line_length;
} profile;

struct wn_quality {
	profile *p;
	int np;
};

static const char *const en_stop[] = { "the", "be", "to", "of", "and", "that", "have", "with" };
/* the commonest function characters of modern Chinese prose: structural
 * 的, aspect 了, copula 是, locative 在, conjunctions 和 与, existential 有,
 * demonstrative 这 */
static const char *const zh_stop[] = { "的", "了", "是", "在", "和", "有", "这", "与" };
/* Japanese particles and the copula's forms */
static const char *const ja_stop[] = { "の", "に", "は", "を", "が", "で", "て", "た" };
static const char *const en_policy[] = {
	"terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
	"use cookies",
};
static const char *const zh_policy[] = {
	"隐私政策", "隐私权政策", "隐私条款", "使用条款", "服务条款", "用户协议", "隐私声明",
	"使用cookie", "cookie政策",
};
static const char *const ja_policy[] = {
	"プライバシーポリシー", "利用規約", "クッキー",
};

static void prof_free(profile *p)
{
	for (int i = 0; i < p->nstop; i++) free(p->stop[i]);
	for (int i = 0; i < p->npolicy; i++) free(p->policy[i]);
	free(p->policy);
}

static void lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

static void prof_set_stop(profile *p, const char *const *w, int n)
{
	for (int i = 0; i < p->nstop; i++) free(p->stop[i]);
	p->nstop = 0;
	p->stop_bloom = 0;
	for (int i = 0; i < n && p->nstop < MAX_STOP; i++) {
		uint64_t h = wn_q_word_hash(w[i], strlen(w[i]));
		int dup = 0;
		for (int j = 0; j < p->nstop; j++) dup |= p->stop_hash[j] == h;
		if (dup) continue;
		p->stop[p->nstop] = wn_strdup(w[i]);
		p->stop_hash[p->nstop++] = h;
		p->stop_bloom |= 1ULL << (h >> 58);
	}
	p->stop_shift = -1;
	for (int sh = 0; sh <= 56 && p->stop_shift < 0 && p->nstop; sh++) {
		uint64_t used[4] = { 0 };
		int clash = 0;
		for (int i = 0; i < p->nstop && !clash; i++) {
			unsigned b = (unsigned)(p->stop_hash[i] >> sh) & 255;
			clash = (used[b >> 6] >> (b & 63)) & 1;
			used[b >> 6] |= 1ULL << (b & 63);
		}
		if (clash) continue;
		p->stop_shift = sh;
		/* an empty bucket holds a hash of another bucket: nothing matches */
		for (unsigned b = 0; b < 256; b++) {
			p->stop_tab[b] = (uint64_t)(b ^ 1) << sh;
			p->stop_idx[b] = 0;
		}
		for (int i = 0; i < p->nstop; i++) {
			unsigned b = (unsigned)(p->stop_hash[i] >> sh) & 255;
			p->stop_tab[b] = p->stop_hash[i];
			p->stop_idx[b] = (uint8_t)i;
		}
	}
}

static void prof_add_policy(profile *p, const char *const *w, int n)
{
	p->policy = wn_realloc(p->policy, sizeof *p->policy * (size_t)(p->npolicy + n + 1));
	for (int i = 0; i < n; i++) {
		p->policy[p->npolicy] = wn_strdup(w[i]);
		lower_ascii(p->policy[p->npolicy++]);
	}
}

static void prof_copy(profile *dst, const profile *src, const char *name)
{
	memset(dst, 0, sizeof *dst);
	snprintf(dst->name, sizeof dst->name, "%s", name);
	memcpy(dst->lo, src->lo, sizeof dst->lo);
	memcpy(dst->hi, src->hi, sizeof dst->hi);
	prof_set_stop(dst, (const char *const *)src->stop, src->nstop);
	dst->c4_min_words_per_line = src->c4_min_words_per_line;
	dst->c4_max_word_length = src->c4_max_word_length;
	dst->c4_citation = src->c4_citation;
	dst->c4_no_terminal = src->c4_no_terminal;
	dst->c4_javascript = src->c4_javascript;
	prof_add_policy(dst, (const char *const *)src->policy, src->npolicy);
	dst->fw_short_line_length = src->fw_short_line_length;
}

static profile *prof_add(wn_quality *q)
{
	q->p = wn_realloc(q->p, sizeof *q->p * (size_t)(q->np + 1));
	return &q->p[q->np++];
}

#define N(a) ((int)(sizeof a / sizeof a[0]))

wn_quality *wn_quality_new(void)
{
	pthread_once(&cls_once, cls_init);
	wn_quality *q = wn_calloc(1, sizeof *q);
	profile *en = prof_add(q);
	memset(en, 0, sizeof *en);
	snprintf(en->name, sizeof en->name, "en");
	for (int m = 0; m < WN_QM_N; m++) {
		en->lo[m] = metrics[m].lo;
		en->hi[m] = metrics[m].hi;
	}
	prof_set_stop(en, en_stop, N(en_stop));
	en->c4_min_words_per_line = 3;
	en->c4_max_word_length = 1000;
	en->c4_citation = en->c4_no_terminal = en->c4_javascript = 1;
	prof_add_policy(en, en_policy, N(en_policy));
	en->fw_short_line_length = 30;

	/* Chinese: a word is a character (quality.h).  On the Debian
	 * handbook's parallel English and Simplified Chinese paragraphs
	 * (scripts/make-filter-corpus.py, set en_zh_parallel: 210 pairs) one
	 * English word comes out as 1.43 Chinese words (median 1.432, totals
	 * 1.428), so word counts are the English ones times 1.43 and per-word
	 * rates divided by it, rounded; per-line and per-character fractions
	 * keep their values.  A short line: on the same text, 8.8 % of the
	 * English lines have at most 30 characters and 9.4 % of the Chinese
	 * ones at most 11. */
	profile *zh = prof_add(q);
	prof_copy(zh, &q->p[0], "zh");
	zh->lo[WN_QM_WORDS] = 72;                 /* 50 x 1.43 */
	zh->hi[WN_QM_WORDS] = 143000;             /* 100,000 x 1.43 */
	zh->lo[WN_QM_MEAN_WORD_LENGTH] = OFF_LO;  /* 1 by definition for Han text */
	zh->hi[WN_QM_MEAN_WORD_LENGTH] = 10;
	zh->hi[WN_QM_HASH_RATIO] = 0.07;          /* 0.1 / 1.43 */
	zh->hi[WN_QM_ELLIPSIS_RATIO] = 0.14;      /* 0.1 / 1.43, twice: "……" is two */
	zh->hi[WN_QM_FW_NEWLINE_RATIO] = 0.21;    /* 0.3 / 1.43 */
	zh->c4_min_words_per_line = 4;            /* 3 x 1.43 */
	zh->fw_short_line_length = 11;
	prof_set_stop(zh, zh_stop, N(zh_stop));
	prof_add_policy(zh, zh_policy, N(zh_policy));

	profile *ja = prof_add(q);
	prof_copy(ja, &q->p[1], "ja");
	prof_set_stop(ja, ja_stop, N(ja_stop));
	for (int i = 0; i < ja->npolicy; i++) free(ja->policy[i]);
	ja->npolicy = 0;
	prof_add_policy(ja, en_policy, N(en_policy));
	prof_add_policy(ja, ja_policy, N(ja_policy));

	profile *def = prof_add(q);
	prof_copy(def, &q->p[0], "default");
	prof_set_stop(def, NULL, 0);
	def->lo[WN_QM_STOP_WORDS] = OFF_LO;

	profile *uns = prof_add(q);
	prof_copy(uns, &q->p[1], "unspaced");
	prof_set_stop(uns, NULL, 0);
	uns->lo[WN_QM_STOP_WORDS] = OFF_LO;
	return q;
}

void wn_quality_free(wn_quality *q)
{
	if (!q) return;
	for (int i = 0; i < q->np; i++) prof_free(&q->p[i]);
	free(q->p);
	free(q);
}

static profile *prof_find(const wn_quality *q, const char *name, size_t n)
{
	for (int i = 0; i < q->np; i++)
		if (strlen(q->p[i].name) == n && !strncmp(q->p[i].name, name, n)) return &q->p[i];
	return NULL;
}

/* ---- configuration ---- */

static int parse_num(const char *v, double *out)
{
	if (!strcmp(v, "off")) return 1;
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !isfinite(x)) return -1;
	*out = x;
	return 0;
}

static int parse_onoff(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "true")) return 1;
	if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false")) return 0;
	return -1;
}

static int split_list(const char *v, char ***out)
{
	int n = 0;
	char *copy = wn_strdup(v), **list = NULL;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t') t++;
		size_t l = strlen(t);
		while (l && (t[l - 1] == ' ' || t[l - 1] == '\t')) t[--l] = 0;
		if (!l) continue;
		list = wn_realloc(list, sizeof *list * (size_t)(n + 1));
		list[n++] = wn_strdup(t);
	}
	free(copy);
	*out = list;
	return n;
}

static void free_list(char **l, int n)
{
	for (int i = 0; i < n; i++) free(l[i]);
	free(l);
}

static int set_one(profile *p, const char *key, const char *value, char *err, size_t errlen)
{
	if (!strcmp(key, "gopher_quality.stop_words")) {
		char **l = NULL;
		int n = strcmp(value, "off") ? split_list(value, &l) : 0;
		if (n > MAX_STOP) {
			free_list(l, n);
			snprintf(err, errlen, "%s: at most %d stop words", key, MAX_STOP);
			return WN_EUSAGE;
		}
		prof_set_stop(p, (const char *const *)l, n);
		free_list(l, n);
		if (!n) p->lo[WN_QM_STOP_WORDS] = OFF_LO;
		return 0;
	}
	if (!strcmp(key, "c4.policy")) {
		char **l = NULL;
		int n = strcmp(value, "off") ? split_list(value, &l) : 0;
		for (int i = 0; i < p->npolicy; i++) free(p->policy[i]);
		p->npolicy = 0;
		prof_add_policy(p, (const char *const *)l, n);
		free_list(l, n);
		return 0;
	}
	/* SET.METRIC[.min|.max] */
	for (int m = 0; m < WN_QM_N; m++) {
		const char *set = set_names[metrics[m].set];
		size_t sl = strlen(set), ml = strlen(metrics[m].shortn);
		if (strncmp(key, set, sl) || key[sl] != '.' || strncmp(key + sl + 1, metrics[m].shortn, ml))
			continue;
		const char *rest = key + sl + 1 + ml;
		double x = 0;
		int rc = parse_num(value, &x);
		if (rc < 0) {
			snprintf(err, errlen, "%s: '%s' is not a number or off", key, value);
			return WN_EUSAGE;
		}
		if (!*rest) {
			if (rc != 1) {
				snprintf(err, errlen, "%s: give .min or .max a number, or the rule \"off\"", key);
				return WN_EUSAGE;
			}
			p->lo[m] = OFF_LO;
			p->hi[m] = OFF_HI;
			return 0;
		}
		if (!strcmp(rest, ".min")) { p->lo[m] = rc == 1 ? OFF_LO : x; return 0; }
		if (!strcmp(rest, ".max")) { p->hi[m] = rc == 1 ? OFF_HI : x; return 0; }
	}
	struct { const char *k; int *v; int lo, hi; } ints[] = {
		{ "c4.min_words_per_line", &p->c4_min_words_per_line, 0, 1000000 },
		{ "c4.max_word_length", &p->c4_max_word_length, 1, 1 << 30 },
		{ "fineweb.short_line_length", &p->fw_short_line_length, 0, 1 << 30 },
	};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		if (strcmp(key, ints[i].k)) continue;
		char *end;
		long v = strtol(value, &end, 10);
		if (end == value || *end || v < ints[i].lo || v > ints[i].hi) {
			snprintf(err, errlen, "%s: '%s' is not an integer from %d to %d", key, value,
				 ints[i].lo, ints[i].hi);
			return WN_EUSAGE;
		}
		*ints[i].v = (int)v;
		return 0;
	}
	struct { const char *k; int *v; } flags[] = {
		{ "c4.citation", &p->c4_citation },
		{ "c4.no_terminal_punct", &p->c4_no_terminal },
		{ "c4.javascript", &p->c4_javascript },
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (strcmp(key, flags[i].k)) continue;
		int v = parse_onoff(value);
		if (v < 0) {
			snprintf(err, errlen, "%s: '%s' is not on or off", key, value);
			return WN_EUSAGE;
		}
		*flags[i].v = v;
		return 0;
	}
	snprintf(err, errlen, "unknown parameter '%s' (winnow filter --dump-config lists them)", key);
	return WN_EUSAGE;
}

int wn_quality_set(wn_quality *q, const char *lang, const char *key, const char *value,
		   char *err, size_t errlen)
{
	if (!lang || !strcmp(lang, "*")) {
		for (int i = 0; i < q->np; i++) {
			int rc = set_one(&q->p[i], key, value, err, errlen);
			if (rc) return rc;
		}
		return 0;
	}
	size_t ll = strlen(lang);
	if (!ll || ll >= sizeof q->p[0].name) {
		snprintf(err, errlen, "'%s' is not a language code", lang);
		return WN_EUSAGE;
	}
	for (size_t i = 0; i < ll; i++)
		if (!((lang[i] >= 'a' && lang[i] <= 'z') || (lang[i] >= '0' && lang[i] <= '9') ||
		      lang[i] == '_' || lang[i] == '-')) {
			snprintf(err, errlen, "'%s' is not a language code (lower case letters)", lang);
			return WN_EUSAGE;
		}
	profile *p = prof_find(q, lang, ll);
	if (!p) {
		profile tmp;
		prof_copy(&tmp, prof_find(q, "default", 7), lang);
		*prof_add(q) = tmp;
		p = &q->p[q->np - 1];
	}
	return set_one(p, key, value, err, errlen);
}

int wn_quality_parse(wn_quality *q, const char *text, size_t n, const char *name,
		     char *err, size_t errlen)
{
	char section[64] = "*";
	size_t lineno = 0;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - text) : n;
		lineno++;
		char line[4096];
		size_t l = e - i;
		if (l >= sizeof line) {
			snprintf(err, errlen, "%s:%zu: line too long", name, lineno);
			return WN_EUSAGE;
		}
		memcpy(line, text + i, l);
		line[l] = 0;
		i = nl ? e + 1 : n;
		char *s = line;
		while (*s == ' ' || *s == '\t') s++;
		char *hash = strchr(s, '#');
		if (hash && (hash == s || hash[-1] == ' ' || hash[-1] == '\t')) *hash = 0;
		size_t sl = strlen(s);
		while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t' || s[sl - 1] == '\r')) s[--sl] = 0;
		if (!sl) continue;
		if (*s == '[') {
			if (s[sl - 1] != ']' || sl < 3 || sl - 2 >= sizeof section) {
				snprintf(err, errlen, "%s:%zu: a section is [LANG] or [*]", name, lineno);
				return WN_EUSAGE;
			}
			memcpy(section, s + 1, sl - 2);
			section[sl - 2] = 0;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%zu: expected KEY = VALUE", name, lineno);
			return WN_EUSAGE;
		}
		*eq = 0;
		char *k = s, *v = eq + 1;
		size_t kl = strlen(k);
		while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) k[--kl] = 0;
		while (*v == ' ' || *v == '\t') v++;
		char msg[400];
		if (wn_quality_set(q, section, k, v, msg, sizeof msg)) {
			snprintf(err, errlen, "%s:%zu: %s", name, lineno, msg);
			return WN_EUSAGE;
		}
	}
	return 0;
}

int wn_quality_load(wn_quality *q, const char *path, char *err, size_t errlen)
{
	wn_buf b;
	wn_buf_init(&b, 16u << 20);
	int rc = wn_buf_read_file(&b, path);
	if (rc == WN_ETOOBIG) {
		snprintf(err, errlen, "%s: too big for a rules file", path);
		rc = WN_EUSAGE;
	} else if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (!rc) rc = wn_quality_parse(q, b.data, b.len, path, err, errlen);
	wn_buf_release(&b);
	return rc;
}

static void dump_bound(wn_buf *out, const char *set, const char *m, const char *which, double v)
{
	if (isinf(v)) wn_buf_addf(out, "%s.%s.%s = off\n", set, m, which);
	else wn_buf_addf(out, "%s.%s.%s = %g\n", set, m, which, v);
}

void wn_quality_dump(const wn_quality *q, wn_buf *out)
{
	for (int i = 0; i < q->np; i++) {
		const profile *p = &q->p[i];
		wn_buf_addf(out, "%s[%s]\n", i ? "\n" : "", p->name);
		for (int m = 0; m < WN_QM_N; m++) {
			const char *set = set_names[metrics[m].set];
			if (!isinf(metrics[m].lo) || !isinf(p->lo[m]))
				dump_bound(out, set, metrics[m].shortn, "min", p->lo[m]);
			if (!isinf(metrics[m].hi) || !isinf(p->hi[m]))
				dump_bound(out, set, metrics[m].shortn, "max", p->hi[m]);
		}
		wn_buf_adds(out, "gopher_quality.stop_words = ");
		for (int j = 0; j < p->nstop; j++) wn_buf_addf(out, "%s%s", j ? "," : "", p->stop[j]);
		if (!p->nstop) wn_buf_adds(out, "off");
		wn_buf_addf(out, "\nc4.citation = %s\nc4.no_terminal_punct = %s\nc4.javascript = %s\n",
			    p->c4_citation ? "on" : "off", p->c4_no_terminal ? "on" : "off",
			    p->c4_javascript ? "on" : "off");
		wn_buf_addf(out, "c4.min_words_per_line = %d\nc4.max_word_length = %d\n",
			    p->c4_min_words_per_line, p->c4_max_word_length);
		wn_buf_adds(out, "c4.policy = ");
		for (int j = 0; j < p->npolicy; j++) wn_buf_addf(out, "%s%s", j ? "," : "", p->policy[j]);
		if (!p->npolicy) wn_buf_adds(out, "off");
		wn_buf_addf(out, "\nfineweb.short_line_length = %d\n", p->fw_short_line_length);
	}
}

/* ---- the analysis ---- */

typedef struct qline {
	size_t raw, raw_end;    /* the line without its LF */
	size_t start, end;      /* stripped of white space */
	uint64_t hash;          /* of the stripped bytes */
	uint32_t chars;         /* non-white-space code points */
	uint32_t len;           /* code points from first to last non-white-space */
	uint32_t words, sentences, max_word;
	uint32_t first_word;    /* index of its first word */
	uint8_t blank, bullet, ell_end, term_end;
} qline;

struct wn_qstate {
	const wn_quality *q;
	const profile *p;
	const char *lang;
	size_t langlen;
	const char *text;
	size_t n;
	wn_buf own, tmp;
	int changed, analysed;

	/* analysis */
	qline *lines;
	size_t nlines, caplines;
	uint64_t *wh;           /* word hashes */
	uint32_t *wc;           /* word lengths */
	uint64_t *g;            /* n-gram hashes (scratch) */
	uint64_t *pre;          /* prefix sums of word lengths */
	size_t nw, capw, capg;
	uint64_t chars, tokens, alpha, word_chars, hashes, ellipses;
	uint64_t letters, unspaced, kana, han;
	uint64_t nonblank, bullets, ell_lines, term_lines, newlines;
	/* cached per analysis */
	int dup_lines_done;
	uint64_t dup_lines, dup_line_chars;
	hset hs;
	uint64_t *bm;           /* the bitmap path's bitmaps */
	size_t capbm;
	uint64_t *sk;           /* gopher_repetition's bounds */
	size_t capsk;
	unsigned char *keep;    /* C4: per line */
	size_t capkeep;
};

wn_qstate *wn_qstate_new(const wn_quality *q)
{
	wn_qstate *st = wn_calloc(1, sizeof *st);
	st->q = q;
	wn_buf_init(&st->own, 0);
	wn_buf_init(&st->tmp, 0);
	return st;
}

void wn_qstate_free(wn_qstate *st)
{
	if (!st) return;
	wn_buf_release(&st->own);
	wn_buf_release(&st->tmp);
	free(st->lines);
	free(st->wh);
	free(st->wc);
	free(st->g);
	free(st->pre);
	free(st->hs.s);
	free(st->bm);
	free(st->sk);
	free(st->keep);
	free(st);
}

static const profile *profile_for_lang(const wn_quality *q, const char *lang, size_t n)
{
	char l[32];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < sizeof l; i++) {
		char c = lang[i];
		if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
		l[k++] = c;
	}
	l[k] = 0;
	const profile *p = prof_find(q, l, k);
	if (p) return p;
	/* zh-tw, zh_hans: the primary subtag */
	size_t cut = strcspn(l, "-_");
	if (cut < k && (p = prof_find(q, l, cut))) return p;
	static const char *const zh_like[] = { "wuu", "yue", "gan", "hak", "nan", "cdo", "lzh",
					       "cmn", "zho", "chi", "zh-classical" };
	for (size_t i = 0; i < sizeof zh_like / sizeof zh_like[0]; i++)
		if (!strcmp(l, zh_like[i])) return prof_find(q, "zh", 2);
	if (!strcmp(l, "jpn")) return prof_find(q, "ja", 2);
	if (!strcmp(l, "eng")) return prof_find(q, "en", 2);
	return NULL;
}

void wn_qstate_begin(wn_qstate *st, const char *text, size_t n, const char *lang, size_t langlen)
{
	st->text = text;
	st->n = n;
	st->lang = lang;
	st->langlen = langlen;
	st->p = lang && langlen ? profile_for_lang(st->q, lang, langlen) : NULL;
	st->changed = 0;
	st->analysed = 0;
}

void wn_qstate_set_text(wn_qstate *st, const char *text, size_t n)
{
	if (text != st->own.data) {
		wn_buf_reset(&st->own);
		wn_buf_add(&st->own, text, n);
	}
	st->text = st->own.data;
	st->n = n;
	st->changed = 1;
	st->analysed = 0;
}

const char *wn_qstate_text(const wn_qstate *st, size_t *n)
{
	*n = st->n;
	return st->text;
}

int wn_qstate_changed(const wn_qstate *st) { return st->changed; }

static inline void push_word(wn_qstate *st, uint64_t h, uint32_t len)
{
	if (__builtin_expect(st->nw == st->capw, 0)) {
		st->capw = st->capw ? 2 * st->capw : 1024;
		st->wh = wn_realloc(st->wh, sizeof *st->wh * st->capw);
		st->wc = wn_realloc(st->wc, sizeof *st->wc * st->capw);
	}
	st->wh[st->nw] = h;
	st->wc[st->nw++] = len;
}

/* One line: its words, marks and counts.  The common case, a run of ASCII
 * letters and digits or of ASCII white space, takes a tight loop. */
static void analyse_line(wn_qstate *st, qline *L)
{
	const unsigned char *s = (const unsigned char *)st->text;
	size_t i = L->raw, e = L->raw_end;
	int in_tok = 0, tok_word = 0, prev_unsp = 0, tok_alpha = 0, pend = 0;
	uint32_t tok_len = 0, dots = 0, since_end = 0;
	uint64_t cps = 0, cps_first = 0, cps_last = 0, chars = 0;
	uint32_t first_cp = 0, last_cp = 0;
	size_t first = e, last = e;
	uint64_t letters = 0, alpha = 0, word_chars = 0, tokens = 0;
	whash w;
	wh_reset(&w);
	L->first_word = (uint32_t)st->nw;

#define END_TOKEN()                                                       \
	do {                                                              \
		if (tok_word) {                                           \
			push_word(st, wh_final(&w), tok_len);             \
			L->words++;                                       \
			since_end++;                                      \
			if (tok_len > L->max_word) L->max_word = tok_len; \
			alpha += (uint64_t)tok_alpha;                     \
			word_chars += tok_len;                            \
		}                                                         \
		tokens++;                                                 \
		in_tok = 0;                                               \
	} while (0)
#define START_WORD()                                                      \
	do {                                                              \
		if (!in_tok) {                                            \
			in_tok = 1;                                       \
			tok_alpha = 0;                                    \
			tok_len = 0;                                      \
			tok_word = 0;                                     \
		}                                                         \
		if (!tok_word) {                                          \
			wh_reset(&w);                                     \
			tok_word = 1;                                     \
		}                                                         \
		if (pend == 2) {                                          \
			L->sentences++;                                   \
			since_end = 0;                                    \
		}                                                         \
		pend = 0;                                                 \
		dots = 0;                                                 \
	} while (0)

	/* white space ends the token and a pending sentence */
#define AT_SPACE()                          \
	do {                                \
		if (in_tok) END_TOKEN();    \
		if (pend) {                 \
			L->sentences++;     \
			since_end = 0;      \
			pend = 0;           \
		}                           \
		dots = 0;                   \
	} while (0)

	while (i < e) {
		unsigned b = s[i];
		if (b < 0x80) {
			uint8_t k = ascii_cls[b];
			if (k & C_WORD) {
				/* ASCII letters and digits: one loop folds, hashes and
				 * classifies the run */
				if (in_tok && tok_word && prev_unsp) END_TOKEN();
				START_WORD();
				size_t j = i, tn = st->n;
				uint64_t digits = 0;
				int any_letter = 0;
				for (;;) {
					uint64_t x = 0;
					if (j + 8 <= tn) memcpy(&x, s + j, 8);
					else memcpy(&x, s + j, tn - j);
					uint64_t dm, lm = alnum_masks(x, &dm);
					uint64_t stop = ~lm & 0x8080808080808080ULL;
					unsigned kb = stop ? (unsigned)__builtin_ctzll(stop) / 8 : 8;
					if (!kb) break;
					uint64_t keep = kb == 8 ? ~0ULL : (1ULL << (8 * kb)) - 1;
					uint64_t lw = (x | 0x2020202020202020ULL) & keep;
					digits += (uint64_t)__builtin_popcountll(dm & keep);
					any_letter |= (lm & ~dm & keep) != 0;
					wh_mix(&w, kb == 8 ? lw : lw ^ ((uint64_t)kb << 56));
					j += kb;
					if (kb < 8 || j >= e) break;
				}
				if (j > e) j = e; /* never: '\n' or the end stops a run */
				size_t n = j - i;
				w.total += n;
				tok_len += (uint32_t)n;
				if (any_letter) tok_alpha = 1;
				letters += n - digits;
				prev_unsp = 0;
				if (first == e) {
					first = i;
					first_cp = b;
					cps_first = cps;
				}
				cps += n;
				chars += n;
				cps_last = cps;
				last = j;
				last_cp = s[j - 1];
				i = j;
				continue;
			}
			if (k & C_SPACE) {
				AT_SPACE();
				size_t j = i + 1;
				while (j < e && s[j] < 0x80 && (ascii_cls[s[j]] & C_SPACE)) j++;
				cps += j - i;
				i = j;
				continue;
			}
		}
		if (b >= 0xe0 && b < 0xf0 && in_tok && tok_word && prev_unsp) {
			/* Chinese or Japanese: a run of unspaced letters, each its
			 * own word, the one before already hashed (what the steps
			 * below do for each, without the tests that cannot fail) */
			while (i + 2 < e && s[i] >= 0xe0 && s[i] < 0xf0 && (s[i + 1] & 0xc0) == 0x80 &&
			       (s[i + 2] & 0xc0) == 0x80) {
				uint32_t c = ((s[i] & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) |
					     (s[i + 2] & 0x3fu);
				uint8_t k = bmp_cls[c];
				if ((k & (C_UNSPACED | C_MARK)) != C_UNSPACED) break;
				END_TOKEN();
				START_WORD();
				last = i + 3;
				last_cp = c;
				cps_last = ++cps;
				chars++;
				tok_len = 1;
				tok_alpha = 1;
				letters++;
				st->unspaced++;
				if (k & C_KANA) st->kana++;
				if (k & C_HAN) st->han++;
				wh_cp(&w, c);
				i += 3;
			}
			if (i >= e) break;
			b = s[i];
			if (b < 0x80) continue;
		}
		size_t l = 1;
		uint32_t c = b;
		uint8_t k = b < 0x80 ? ascii_cls[b] : (c = decode(s, i, e, &l), cls_of(c));
		if (k & C_SPACE) {
			AT_SPACE();
			i += l;
			cps++;
			continue;
		}
		/* a visible character */
		if (first == e) {
			first = i;
			first_cp = c;
			cps_first = cps;
		}
		last = i + l;
		last_cp = c;
		cps_last = ++cps;
		chars++;
		if (k & C_WORD) {
			if (in_tok && tok_word && ((k & C_UNSPACED) || (prev_unsp && !(k & C_MARK))))
				END_TOKEN();
			START_WORD();
			tok_len++;
			if (k & C_LETTER) {
				tok_alpha = 1;
				letters++;
				if (k & C_UNSPACED) {
					st->unspaced++;
					if (k & C_KANA) st->kana++;
					if (k & C_HAN) st->han++;
				}
			}
			if (!(k & C_MARK)) prev_unsp = (k & C_UNSPACED) != 0;
			wh_cp(&w, c);
		} else {
			/* punctuation or a symbol: attaches to the token */
			if (!in_tok) {
				in_tok = 1;
				tok_word = 0;
				tok_alpha = 0;
				tok_len = 0;
			}
			int t = terminal_kind(c);
			if (c == '.') {
				if (++dots == 3) {
					st->ellipses++;
					dots = 0;
				}
			} else {
				dots = 0;
			}
			if (c == 0x2026) st->ellipses++;
			else if (c == '#') st->hashes++;
			if (t) {
				if (t > pend) pend = t;
			} else if (!closing_quote(c)) {
				if (pend == 2) {
					L->sentences++;
					since_end = 0;
				}
				pend = 0;
			}
		}
		i += l;
	}
	if (in_tok) END_TOKEN();
#undef END_TOKEN
#undef START_WORD
#undef AT_SPACE
	if (pend) {
		L->sentences++;
		since_end = 0;
	}
	if (since_end) L->sentences++;
	st->chars += chars;
	st->letters += letters;
	st->alpha += alpha;
	st->word_chars += word_chars;
	st->tokens += tokens;
	L->chars = (uint32_t)chars;
	L->start = first;
	L->end = first == e ? first : last;
	L->blank = first == e;
	if (L->blank) return;
	L->len = (uint32_t)(cps_last - cps_first);
	L->bullet = (uint8_t)bullet(first_cp);
	/* an ellipsis at the end: "…", or three dots */
	int ell = last_cp == 0x2026;
	if (!ell && last_cp == '.' && L->end - L->start >= 3 && !memcmp(s + L->end - 3, "...", 3))
		ell = 1;
	L->ell_end = (uint8_t)ell;
	L->term_end = (uint8_t)(!ell && terminal_end(last_cp));
	L->hash = wn_hash64(s + L->start, L->end - L->start, 0);
}

/* ---- the bitmap path: one bit per byte ----
 *
 * Most lines of most documents are ASCII.  Before the lines are read, the
 * document is classified 64 bytes at a time into bitmaps, and from those
 * the positions that matter are derived with shifts: where runs of ASCII
 * letters and digits start and end, which of those starts begins a new
 * token (white space since the last run), where tokens end.  A line
 * without a byte >= 0x80, or whose other characters are all punctuation
 * (inert_nonascii), then needs no byte-by-byte state machine: the counts
 * are popcounts, and only the runs themselves are visited, in order, to
 * hash the words.  The result is the one analyse_line gives (the unit
 * tests compare the two on random and real text); other lines go through
 * analyse_line.  WINNOW_QUALITY_SCALAR=1 in the environment, or
 * wn_q_set_scalar(1), sends every line through analyse_line.
 */

/* classified: white space, letters and digits, '.', the marks a sentence
 * end looks at (. ! ? and the ASCII closing quotes " ' )), '#', bytes >=
 * 0x80; derived: run starts, run ends (last byte), new-word run starts,
 * token ends (last byte), token ends at a sentence mark */
enum { BM_SP, BM_AN, BM_DOT, BM_SM, BM_HASH, BM_HI, BM_RS, BM_RL, BM_NW, BM_TE, BM_N };
enum { BM_CLASSIFIED = BM_HI + 1 };

/* Bitmap k's word w: one allocation, BM_N words per 64-byte block. */
#define BMW(bm, k, w) ((bm)[(size_t)(w) * BM_N + (k)])

typedef void (*classify_fn)(const unsigned char *s, size_t nblocks, uint64_t *bm);

#define CLS_BODY(V, LOAD, SET1, ADD, OR, EQ, MINU, MOVEMASK, WIDTH)                  \
	for (size_t b = 0; b < nblocks; b++) {                                      \
		uint64_t m[BM_CLASSIFIED] = { 0 };                                  \
		for (unsigned o = 0; o < 64; o += WIDTH) {                          \
			V x = LOAD(s + 64 * b + o);                                 \
			/* range tests by unsigned min: x - lo <= hi - lo */       \
			V t = ADD(x, SET1(-9));                                     \
			V sp = OR(EQ(MINU(t, SET1(4)), t), EQ(x, SET1(' ')));       \
			t = ADD(x, SET1(-'0'));                                     \
			V dg = EQ(MINU(t, SET1(9)), t);                             \
			t = ADD(OR(x, SET1(0x20)), SET1(-'a'));                     \
			V an = OR(dg, EQ(MINU(t, SET1(25)), t));                    \
			V dot = EQ(x, SET1('.'));                                   \
			V sm = OR(OR(dot, EQ(x, SET1('!'))), OR(EQ(x, SET1('?')), EQ(x, SET1('"')))); \
			sm = OR(sm, OR(EQ(x, SET1('\'')), EQ(x, SET1(')'))));       \
			V hs = EQ(x, SET1('#'));                                    \
			m[BM_SP] |= (uint64_t)(uint32_t)MOVEMASK(sp) << o;          \
			m[BM_AN] |= (uint64_t)(uint32_t)MOVEMASK(an) << o;          \
			m[BM_DOT] |= (uint64_t)(uint32_t)MOVEMASK(dot) << o;        \
			m[BM_SM] |= (uint64_t)(uint32_t)MOVEMASK(sm) << o;          \
			m[BM_HASH] |= (uint64_t)(uint32_t)MOVEMASK(hs) << o;        \
			m[BM_HI] |= (uint64_t)(uint32_t)MOVEMASK(x) << o;           \
		}                                                                   \
		memcpy(&BMW(bm, 0, b), m, sizeof m);                                \
	}

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define SET128(c) _mm_set1_epi8((char)(c))

static void classify_sse(const unsigned char *s, size_t nblocks, uint64_t *bm)
{
	CLS_BODY(__m128i, LOAD128, SET128, _mm_add_epi8, _mm_or_si128, _mm_cmpeq_epi8, _mm_min_epu8,
		 _mm_movemask_epi8, 16)
}

#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define SET256(c) _mm256_set1_epi8((char)(c))

__attribute__((target("avx2"))) static void classify_avx2(const unsigned char *s, size_t nblocks,
							   uint64_t *bm)
{
	CLS_BODY(__m256i, LOAD256, SET256, _mm256_add_epi8, _mm256_or_si256, _mm256_cmpeq_epi8,
		 _mm256_min_epu8, _mm256_movemask_epi8, 32)
}

static classify_fn classify_blocks;
static void find_init(int avx2);
static int force_scalar = -1;   /* 1: every line by analyse_line (tests) */

static void classify_init(void)
{
	__builtin_cpu_init();
	int avx2 = __builtin_cpu_supports("avx2");
	classify_blocks = avx2 ? classify_avx2 : classify_sse;
	find_init(avx2);
	if (force_scalar < 0) {
		const char *e = getenv("WINNOW_QUALITY_SCALAR");
		force_scalar = e && *e && strcmp(e, "0");
	}
}

/* The bitmaps of text[0..n): nblocks + 1 blocks, the bits at n and past it
 * white space and nothing else (the text ends as if at a line break). */
static void classify_text(wn_qstate *st)
{
	const unsigned char *s = (const unsigned char *)st->text;
	size_t n = st->n, full = n / 64, nb = full + 2;
	if (nb > st->capbm) {
		free(st->bm);
		st->capbm = nb + nb / 2;
		st->bm = wn_malloc(sizeof *st->bm * BM_N * st->capbm);
	}
	uint64_t *bm = st->bm;
	classify_blocks(s, full, bm);
	unsigned char tail[64] = { 0 };
	size_t r = n - 64 * full;
	memcpy(tail, s + 64 * full, r);
	classify_blocks(tail, 1, &BMW(bm, 0, full));
	uint64_t past = r ? ~0ULL << r : ~0ULL;
	for (int k = 0; k < BM_CLASSIFIED; k++) {
		BMW(bm, k, full) &= ~past;
		BMW(bm, k, full + 1) = 0;
	}
	BMW(bm, BM_SP, full) |= past;
	BMW(bm, BM_SP, full + 1) = ~0ULL;

	/* A run start begins a new word when white space lies between it and
	 * the last run's end: adding the white space bits into the gaps
	 * (~an) carries a one out of each gap that holds one, onto the run
	 * start after it.  The text's start counts as white space. */
	uint64_t prev_an = 0, carry = 1;
	for (size_t w = 0; w < nb; w++) {
		uint64_t sp = BMW(bm, BM_SP, w), an = BMW(bm, BM_AN, w);
		uint64_t an_next = w + 1 < nb ? BMW(bm, BM_AN, w + 1) : 0;
		uint64_t sp_next = w + 1 < nb ? BMW(bm, BM_SP, w + 1) : ~0ULL;
		uint64_t rs = an & ~((an << 1) | (prev_an >> 63));
		uint64_t gap = ~an, sum = gap + (sp & gap);
		uint64_t c1 = sum < gap;
		uint64_t sum2 = sum + carry;
		carry = c1 | (sum2 < sum);
		uint64_t te = ~sp & ((sp >> 1) | (sp_next << 63));
		BMW(bm, BM_RS, w) = rs;
		BMW(bm, BM_RL, w) = an & ~((an >> 1) | (an_next << 63));
		BMW(bm, BM_NW, w) = rs & sum2;
		BMW(bm, BM_TE, w) = te;
		BMW(bm, BM_SM, w) &= te;
		prev_an = an;
	}
}

/* 64 bits of bitmap k from bit pos on (pos < 64 x (nblocks + 1)). */
static inline uint64_t bm_at(const uint64_t *bm, int k, size_t pos)
{
	size_t w = pos >> 6;
	unsigned sh = pos & 63;
	uint64_t lo = BMW(bm, k, w), hi = BMW(bm, k, w + 1);
	return (lo >> sh) | ((hi << 1) << (63 - sh));
}

/* The bits of block w that lie in [a, b) (a < b). */
static inline uint64_t range_mask(size_t w, size_t a, size_t b)
{
	uint64_t lo = -(uint64_t)(w == a >> 6), hi = -(uint64_t)(w == (b - 1) >> 6);
	return (~0ULL << ((a & 63) & lo)) & (~0ULL >> ((63 - ((b - 1) & 63)) & hi));
}

/* Bitmap k's bits in [a, b), block by block: word w masked to the range. */
static inline uint64_t bm_word(const uint64_t *bm, int k, size_t w, size_t a, size_t b)
{
	return BMW(bm, k, w) & range_mask(w, a, b);
}

static inline int bm_any(const uint64_t *bm, int k, size_t a, size_t b)
{
	if (a >= b) return 0;
	for (size_t w = a >> 6; w <= (b - 1) >> 6; w++)
		if (bm_word(bm, k, w, a, b)) return 1;
	return 0;
}

/* Eight bytes at p, zeros past the text's end. */
static inline uint64_t load8(const unsigned char *p, const unsigned char *end)
{
	uint64_t x = 0;
	if (end - p >= 8) memcpy(&x, p, 8);
	else memcpy(&x, p, (size_t)(end - p));
	return x;
}

/* Does the token whose last byte is e end a sentence: its last character
 * before any closing quotes is terminal? */
static int ends_sentence(const unsigned char *s, size_t first, size_t e)
{
	for (;;) {
		size_t c0 = e, l;
		while (c0 > first && (s[c0] & 0xc0) == 0x80) c0--;
		uint32_t c = decode(s, c0, e + 1, &l);
		if (!closing_quote(c)) return terminal_kind(c) != 0;
		if (c0 == first) return 0;
		e = c0 - 1;
	}
}

/* The characters >= 0x80 of line [a, b) when the bitmap path can take
 * them: well-formed punctuation and symbols other than a CJK full stop
 * (which ends a sentence whatever follows).  They then act as ASCII
 * punctuation does, except that they count as one character each and
 * "…" is an ellipsis.  Returns 0 when the line must go byte by byte, else
 * 1 with the continuation bytes and the "…" in *cont and *ell. */
static int inert_nonascii(const unsigned char *s, const uint64_t *bm, size_t a, size_t b,
			  size_t *cont, uint64_t *ell)
{
	size_t next = a;
	*cont = 0;
	*ell = 0;
	for (size_t bw = a >> 6; bw <= (b - 1) >> 6; bw++)
		for (uint64_t h = bm_word(bm, BM_HI, bw, a, b); h; h &= h - 1) {
			size_t p = bw * 64 + (size_t)__builtin_ctzll(h), l;
			if (p < next) continue;
			uint32_t c = decode(s, p, b, &l);
			if (l == 1 || (cls_of(c) & (C_SPACE | C_WORD)) || terminal_kind(c) == 2) return 0;
			*cont += l - 1;
			*ell += c == 0x2026;
			next = p + l;
		}
	return 1;
}

/* The code point whose last byte is s[e] (line from first). */
static uint32_t cp_ending_at(const unsigned char *s, size_t first, size_t e)
{
	size_t c0 = e, l;
	while (c0 > first && (s[c0] & 0xc0) == 0x80) c0--;
	return decode(s, c0, e + 1, &l);
}

static void analyse_line_bits(wn_qstate *st, qline *L, size_t cont, uint64_t ell_cp)
{
	const unsigned char *s = (const unsigned char *)st->text, *tend = s + st->n;
	const uint64_t *bm = st->bm;
	size_t a = L->raw, b = L->raw_end;
	L->first_word = (uint32_t)st->nw;
	size_t first = b;
	if (a < b) {
		uint64_t x = ~bm_at(bm, BM_SP, a);
		first = a + (x ? (size_t)__builtin_ctzll(x) : 64);
		while (first < b && s[first] < 0x80 && (ascii_cls[s[first]] & C_SPACE)) first++;
	}
	if (first >= b) {
		L->start = L->end = b;
		L->blank = 1;
		return;
	}
	size_t last = b;
	while (s[last - 1] < 0x80 && (ascii_cls[s[last - 1]] & C_SPACE)) last--;

	/* room for every word the line can hold */
	size_t room = st->nw + (last - first) / 2 + 1;
	if (room > st->capw) {
		while (st->capw < room) st->capw = st->capw ? 2 * st->capw : 1024;
		st->wh = wn_realloc(st->wh, sizeof *st->wh * st->capw);
		st->wc = wn_realloc(st->wc, sizeof *st->wc * st->capw);
	}
	uint64_t *wh = st->wh;
	uint32_t *wc = st->wc;

	/* the runs in order: the k-th run end of a block closes the run the
	 * block left open, else the block's next run start.  Few branches:
	 * each run stores its word's hash so far in the word's slot, and a
	 * run that starts a new word first moves on to the next slot. */
	uint64_t letters = 0, alpha = 0, la = 0;
	size_t slot = st->nw - 1; /* wraps; the line's first run starts a word */
	int open = 0;
	uint64_t open_nw = 0;
	size_t open_p = 0, last_an = 0;
	whash w = { WH_SEED, 0 };
	size_t w0 = first >> 6, w1 = (last - 1) >> 6;
	for (size_t bw = w0; bw <= w1; bw++) {
		uint64_t rs = bm_word(bm, BM_RS, bw, first, last);
		uint64_t rl = bm_word(bm, BM_RL, bw, first, last);
		uint64_t nwm = BMW(bm, BM_NW, bw);
		size_t base = bw * 64;
		for (; rl; rl &= rl - 1) {
			size_t p, q = base + (size_t)__builtin_ctzll(rl) + 1;
			uint64_t nw_run;
			if (__builtin_expect(open, 0)) {
				p = open_p;
				nw_run = open_nw;
				open = 0;
			} else {
				unsigned bit = (unsigned)__builtin_ctzll(rs);
				p = base + bit;
				nw_run = (nwm >> bit) & 1;
				rs &= rs - 1;
			}
			/* a new word: count the last one's letters, start over */
			uint64_t keep_mask = nw_run - 1; /* 0 on a new word */
			alpha += nw_run & (la != 0);
			letters += la & ~keep_mask;
			la &= keep_mask;
			w.h = (w.h & keep_mask) | (WH_SEED & ~keep_mask);
			w.total &= keep_mask;
			slot += nw_run;
			/* hash the run as wh_ascii does: whole chunks, then the last
			 * 1..8 bytes, tagged with their count unless eight */
			size_t k = q - p;
			const unsigned char *r = s + p;
			w.total += k;
			for (; k > 8; k -= 8, r += 8) {
				uint64_t x = load8(r, tend) | 0x2020202020202020ULL;
				la += (uint64_t)__builtin_popcountll(x & 0x4040404040404040ULL);
				wh_mix(&w, x);
			}
			uint64_t x = (load8(r, tend) | 0x2020202020202020ULL) & (~0ULL >> (64 - 8 * k));
			la += (uint64_t)__builtin_popcountll(x & 0x4040404040404040ULL);
			wh_mix(&w, x ^ ((uint64_t)(k & 7) << 56));
			wh[slot] = wh_final(&w);
			wc[slot] = (uint32_t)w.total;
			last_an = q;
		}
		if (rs) {
			unsigned bit = (unsigned)__builtin_ctzll(rs);
			open = 1;
			open_p = base + bit;
			open_nw = (nwm >> bit) & 1;
		}
	}
	size_t nw = slot + 1;
	alpha += la != 0;
	letters += la;
	uint32_t words = (uint32_t)(nw - st->nw), max_word = 0;
	uint64_t word_chars = 0;
	for (size_t i = st->nw; i < nw; i++) {
		word_chars += wc[i];
		if (wc[i] > max_word) max_word = wc[i];
	}
	st->nw = nw;

	/* per block: tokens (their ends), '#', white space; sentences:
	 * tokens whose last mark before any closing quotes is terminal, and
	 * one more for words after the last of them; ellipses: every third
	 * dot of a run of dots */
	uint64_t sentences = 0, ell = ell_cp, tokens = 0, hashes = 0, white = 0;
	size_t last_sent = 0, run = 0, prev = 0;
	for (size_t bw = w0; bw <= w1; bw++) {
		const uint64_t *B = &BMW(bm, 0, bw);
		uint64_t rm = range_mask(bw, first, last);
		uint64_t te = B[BM_TE] & rm;
		tokens += (uint64_t)__builtin_popcountll(te);
		hashes += (uint64_t)__builtin_popcountll(B[BM_HASH] & rm);
		white += (uint64_t)__builtin_popcountll(B[BM_SP] & rm);
		uint64_t c = B[BM_SM] & rm;
		if (cont) c |= te & B[BM_HI];
		for (; c; c &= c - 1) {
			size_t e = bw * 64 + (size_t)__builtin_ctzll(c);
			if (ends_sentence(s, first, e)) {
				sentences++;
				last_sent = e + 1;
			}
		}
		for (uint64_t d = B[BM_DOT] & rm; d; d &= d - 1) {
			size_t e = bw * 64 + (size_t)__builtin_ctzll(d);
			if (run && e == prev + 1) {
				run++;
			} else {
				ell += run / 3;
				run = 1;
			}
			prev = e;
		}
	}
	if (words && last_an > last_sent) sentences++;
	ell += run / 3;
	st->ellipses += ell;
	st->hashes += hashes;

	uint64_t chars = (last - first) - white - cont;
	st->chars += chars;
	st->letters += letters;
	st->alpha += alpha;
	st->word_chars += word_chars;
	st->tokens += tokens;
	L->words = words;
	L->max_word = max_word;
	L->sentences = (uint32_t)sentences;
	L->chars = (uint32_t)chars;
	L->start = first;
	L->end = last;
	L->len = (uint32_t)(last - first - cont);
	size_t l1;
	L->bullet = (uint8_t)bullet(s[first] < 0x80 ? s[first] : decode(s, first, last, &l1));
	uint32_t lc = s[last - 1] < 0x80 ? s[last - 1] : cp_ending_at(s, first, last - 1);
	int ellend = lc == 0x2026 ||
		     (lc == '.' && last - first >= 3 && !memcmp(s + last - 3, "...", 3));
	L->ell_end = (uint8_t)ellend;
	L->term_end = (uint8_t)(!ellend && terminal_end(lc));
	L->hash = wn_hash64(s + first, last - first, 0);
}

/* Is the text worth the bitmaps: at most a quarter of its first KiB
 * bytes >= 0x80?  (Chinese or Japanese prose has few lines the bitmap
 * path can take.) */
static int mostly_ascii(const char *s, size_t n)
{
	size_t lim = n < 1024 ? n : 1024, hi = 0, i = 0;
	for (; i + 8 <= lim; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		hi += (size_t)__builtin_popcountll(x & 0x8080808080808080ULL);
	}
	for (; i < lim; i++) hi += (unsigned char)s[i] >> 7;
	return 4 * hi <= lim;
}

static void analyse(wn_qstate *st)
{
	st->nlines = 0;
	st->nw = 0;
	st->chars = st->tokens = st->alpha = st->word_chars = st->hashes = st->ellipses = 0;
	st->letters = st->unspaced = st->kana = st->han = 0;
	st->nonblank = st->bullets = st->ell_lines = st->term_lines = st->newlines = 0;
	st->dup_lines_done = 0;
	const char *s = st->text;
	size_t n = st->n, i = 0;
	size_t first_nb = (size_t)-1, last_nb = 0;
	int ascii = !force_scalar && mostly_ascii(st->text, st->n);
	if (ascii) classify_text(st);
	for (;;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		if (st->nlines == st->caplines) {
			st->caplines = st->caplines ? 2 * st->caplines : 256;
			st->lines = wn_realloc(st->lines, sizeof *st->lines * st->caplines);
		}
		qline *L = &st->lines[st->nlines];
		memset(L, 0, sizeof *L);
		L->raw = i;
		L->raw_end = e;
		size_t cont = 0;
		uint64_t ell = 0;
		if (ascii && (!bm_any(st->bm, BM_HI, i, e) ||
			      inert_nonascii((const unsigned char *)s, st->bm, i, e, &cont, &ell)))
			analyse_line_bits(st, L, cont, ell);
		else
			analyse_line(st, L);
		if (!L->blank) {
			st->nonblank++;
			st->bullets += L->bullet;
			st->ell_lines += L->ell_end;
			st->term_lines += L->term_end;
			if (first_nb == (size_t)-1) first_nb = st->nlines;
			last_nb = st->nlines;
		}
		st->nlines++;
		if (!nl) break;
		i = e + 1;
	}
	st->newlines = first_nb == (size_t)-1 ? 0 : last_nb - first_nb;
	/* prefix sums of word lengths; n-gram scratch */
	if (st->nw + 1 > st->capg) {
		/* grown, never shrunk: a realloc per document copied them */
		st->capg = 2 * st->nw + 1;
		free(st->pre);
		free(st->g);
		st->pre = wn_malloc(sizeof *st->pre * st->capg);
		st->g = wn_malloc(sizeof *st->g * st->capg);
	}
	st->pre[0] = 0;
	for (size_t j = 0; j < st->nw; j++) st->pre[j + 1] = st->pre[j] + st->wc[j];
	if (!st->p) {
		/* no language: the script decides */
		const wn_quality *q = st->q;
		if (st->unspaced * 2 > st->letters)
			st->p = prof_find(q, st->kana ? "ja" : st->han ? "zh" : "unspaced",
					  st->kana ? 2 : st->han ? 2 : 8);
		else if (!st->lang || !st->langlen)
			st->p = prof_find(q, "en", 2);
		else
			st->p = prof_find(q, "default", 7);
	}
	st->analysed = 1;
}

static void ensure_analysed(wn_qstate *st)
{
	if (!st->analysed) analyse(st);
}

void wn_q_set_scalar(int on)
{
	pthread_once(&cls_once, cls_init);
	force_scalar = on != 0;
}

uint64_t wn_qstate_digest(wn_qstate *st)
{
	ensure_analysed(st);
	uint64_t h = 0x243f6a8885a308d3ULL;
	for (size_t i = 0; i < st->nlines; i++) {
		const qline *L = &st->lines[i];
		uint64_t f[] = { L->raw, L->raw_end, L->start, L->end, L->hash, L->chars, L->len,
				 L->words, L->sentences, L->max_word, L->first_word, L->blank,
				 L->bullet, L->ell_end, L->term_end };
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) h = ngram_step(h, f[k]);
	}
	for (size_t i = 0; i < st->nw; i++) h = ngram_step(ngram_step(h, st->wh[i]), st->wc[i]);
	uint64_t c[] = { st->nlines, st->nw, st->chars, st->tokens, st->alpha, st->word_chars,
			 st->hashes, st->ellipses, st->letters, st->unspaced, st->kana, st->han,
			 st->nonblank, st->bullets, st->ell_lines, st->term_lines, st->newlines };
	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) h = ngram_step(h, c[k]);
	return h;
}

const char *wn_q_script_lang(const char *text, size_t n)
{
	pthread_once(&cls_once, cls_init);
	const unsigned char *s = (const unsigned char *)text;
	size_t lim = n < 4096 ? n : 4096;
	uint64_t letters = 0, unspaced = 0, kana = 0, han = 0;
	for (size_t i = 0; i < lim;) {
		if (s[i] < 0x80) {
			uint64_t x, dm;
			if (i + 8 <= lim && (memcpy(&x, s + i, 8), !(x & 0x8080808080808080ULL))) {
				/* eight ASCII bytes at once */
				uint64_t lm = alnum_masks(x, &dm);
				letters += (uint64_t)__builtin_popcountll(lm & ~dm);
				i += 8;
				continue;
			}
			letters += (ascii_cls[s[i]] & C_LETTER) != 0;
			i++;
			continue;
		}
		size_t l;
		uint32_t c = decode(s, i, n, &l);
		uint8_t k = cls_of(c);
		if (k & C_LETTER) {
			letters++;
			if (k & C_UNSPACED) {
				unspaced++;
				kana += (k & C_KANA) != 0;
				han += (k & C_HAN) != 0;
			}
		}
		i += l;
	}
	if (unspaced * 2 > letters) return kana ? "ja" : han ? "zh" : "unspaced";
	return "en";
}

const char *wn_qstate_profile_known(const wn_qstate *st)
{
	return st->p ? st->p->name : NULL;
}

const char *wn_qstate_profile(wn_qstate *st)
{
	ensure_analysed(st);
	return st->p->name;
}

int wn_q_fails(const wn_qstate *st, int m, double v)
{
	return v < st->p->lo[m] || v > st->p->hi[m];
}

static double frac(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* Duplicate lines (second and later occurrences of a stripped line). */
static void dup_lines(wn_qstate *st)
{
	if (st->dup_lines_done) return;
	hs_reset(&st->hs, st->nonblank);
	st->dup_lines = st->dup_line_chars = 0;
	for (size_t i = 0; i < st->nlines; i++) {
		const qline *L = &st->lines[i];
		if (L->blank) continue;
		if (hs_add(&st->hs, L->hash) > 1) {
			st->dup_lines++;
			st->dup_line_chars += L->chars;
		}
	}
	st->dup_lines_done = 1;
}

/* The checks of one set go through this: record, and say whether to stop. */
#define CHECK(m, v)                                                  \
	do {                                                         \
		values[m] = (v);                                     \
		if (fail < 0 && wn_q_fails(st, m, values[m])) {      \
			fail = m;                                    \
			if (!all) return fail;                       \
		}                                                    \
	} while (0)

/* An upper bound of count x length over the words: the lengths summed
 * per bucket of word hashes (a bucket's sum is at least each of its
 * words' count x length). */
static uint64_t top_word_bound(wn_qstate *st)
{
	size_t W = st->nw, nb = 64;
	unsigned bits = 6;
	while (nb < 2 * W && bits < 14) { nb <<= 1; bits++; }
	if (nb > st->capsk) {
		free(st->sk);
		st->sk = wn_malloc(sizeof *st->sk * nb);
		st->capsk = nb;
	}
	uint64_t *sum = st->sk, top = 0;
	memset(sum, 0, sizeof *sum * nb);
	for (size_t i = 0; i < W; i++) {
		size_t b = (size_t)((st->wh[i] * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
		uint64_t t = sum[b] += st->wc[i];
		top = t > top ? t : top;
	}
	return top;
}

/* An upper bound of top_Ngram's count x chars: the chars of the n-grams
 * (hashes in g) summed per bucket.  W >= n. */
static uint64_t top_ngram_bound(wn_qstate *st, size_t n)
{
	size_t cnt = st->nw - n + 1, nb = 64;
	unsigned bits = 6;
	while (nb < 2 * cnt && bits < 14) { nb <<= 1; bits++; }
	if (nb > st->capsk) {
		free(st->sk);
		st->sk = wn_malloc(sizeof *st->sk * nb);
		st->capsk = nb;
	}
	uint64_t *sum = st->sk, top = 0;
	const uint64_t *g = st->g, *pre = st->pre;
	memset(sum, 0, sizeof *sum * nb);
	for (size_t i = 0; i < cnt; i++) {
		size_t b = (size_t)((g[i] * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
		uint64_t t = sum[b] += pre[i + n] - pre[i];
		top = t > top ? t : top;
	}
	return top;
}

/* An upper bound of the characters covered by repeated 5-grams: the same
 * cover, over the 5-grams whose bucket bit was already set (equal
 * 5-grams share a bucket, so every repeated one is among them).  W >= 5. */
static uint64_t dup5_bound(wn_qstate *st)
{
	size_t W = st->nw, cnt = W - 4, nbits = 512;
	unsigned bits = 9;
	while (nbits < 32 * cnt && bits < 24) { nbits <<= 1; bits++; }
	if (nbits / 64 > st->capsk) {
		free(st->sk);
		st->sk = wn_malloc(sizeof *st->sk * (nbits / 64));
		st->capsk = nbits / 64;
	}
	uint64_t *seen = st->sk;
	memset(seen, 0, nbits / 8);
	const uint64_t *wh = st->wh, *pre = st->pre;
	uint64_t covered = 0;
	size_t cov_end = 0;
	for (size_t i = 0; i < cnt; i++) {
		uint64_t x = wh[i] ^ ((wh[i + 1] << 13) | (wh[i + 1] >> 51)) ^
			     ((wh[i + 2] << 26) | (wh[i + 2] >> 38)) ^
			     ((wh[i + 3] << 39) | (wh[i + 3] >> 25)) ^
			     ((wh[i + 4] << 52) | (wh[i + 4] >> 12));
		size_t b = (size_t)((x * 0xbf58476d1ce4e5b9ULL) >> (64 - bits));
		uint64_t bit = 1ULL << (b & 63);
		uint64_t rep = -(uint64_t)((seen[b >> 6] & bit) != 0);
		seen[b >> 6] |= bit;
		size_t from = i > cov_end ? i : cov_end;
		covered += (pre[i + 5] - pre[from]) & rep;
		cov_end = (size_t)(((uint64_t)(i + 5) & rep) | ((uint64_t)cov_end & ~rep));
	}
	return covered;
}

static int eval_repetition(wn_qstate *st, double *values, int all)
{
	int fail = -1;
	/* paragraphs */
	uint64_t paras = 0, dup_paras = 0, dup_para_chars = 0;
	hs_reset(&st->hs, st->nonblank);
	for (size_t i = 0; i < st->nlines;) {
		if (st->lines[i].blank) { i++; continue; }
		uint64_t h = 0x243f6a8885a308d3ULL, c = 0;
		for (; i < st->nlines && !st->lines[i].blank; i++) {
			h = ngram_step(h, st->lines[i].hash);
			c += st->lines[i].chars;
		}
		paras++;
		if (hs_add(&st->hs, h) > 1) {
			dup_paras++;
			dup_para_chars += c;
		}
	}
	CHECK(WN_QM_DUP_PARA_FRAC, frac(dup_paras, paras));
	CHECK(WN_QM_DUP_PARA_CHARS, frac(dup_para_chars, st->chars));
	dup_lines(st);
	CHECK(WN_QM_DUP_LINE_FRAC, frac(st->dup_lines, st->nonblank));
	CHECK(WN_QM_DUP_LINE_CHARS, frac(st->dup_line_chars, st->chars));

	size_t W = st->nw;
	uint64_t *g = st->g;
	const uint64_t *wh = st->wh, *pre = st->pre;
	/* Bounds, only when not every value is asked for.  The top n-grams:
	 * an n-gram occurs at most as often as each of its words, so count x
	 * chars <= n x max over words of count x length (top1, itself
	 * bounded by bucket sums); when n times that share is within the
	 * threshold, top_Ngram cannot fail and is not counted, else the
	 * n-grams' own bucket sums are tried before the table.  dup_5gram:
	 * a bit per bucket of 5-grams marks a superset of the repeated ones;
	 * when the chars that superset covers are within the thresholds of
	 * n = 5..10, none of them can fail. */
	uint64_t top1 = 0;
	double dup5 = 0;
	int bound5 = 0; /* dup5 is an upper bound, n = 5 not counted */
	if (!all) {
		top1 = top_word_bound(st);
		if (W >= 5) {
			dup5 = frac(dup5_bound(st), st->chars);
			bound5 = 1;
			for (size_t n = 5; n <= 10 && n <= W; n++)
				bound5 &= dup5 <= st->p->hi[WN_QM_DUP_5GRAM + (int)n - 5];
			if (!bound5) dup5 = 0;
		}
	}
	size_t gn = 1; /* g holds the gn-gram hashes */
	if (W) memcpy(g, wh, sizeof *g * W);
	for (size_t n = 2; n <= 10; n++) {
		int m = n <= 4 ? WN_QM_TOP_2GRAM + (int)n - 2 : WN_QM_DUP_5GRAM + (int)n - 5;
		if (W < n) {
			CHECK(m, 0.0);
			continue;
		}
		size_t cnt = W - n + 1;
		if (!all && ((n <= 4 && frac(n * top1, st->chars) <= st->p->hi[m]) ||
			     (n == 5 && bound5) || (n > 5 && dup5 <= st->p->hi[m]))) {
			/* cannot fail: top_Ngram is within n times the top word's
			 * share, dup_Ngram within dup_5gram */
			values[m] = NAN;
			continue;
		}
		/* n-gram hashes from the (n-1)-gram ones, as far as needed */
		for (; gn < n; gn++) {
			size_t c = W - gn;
			for (size_t i = 0; i < c; i++) g[i] = ngram_step(g[i], wh[i + gn]);
		}
		if (!all && n <= 4 && frac(top_ngram_bound(st, n), st->chars) <= st->p->hi[m]) {
			values[m] = NAN;
			continue;
		}
		hs_reset(&st->hs, cnt);
		if (n <= 4) {
			uint32_t best = 1;
			uint64_t best_chars = 0;
			for (size_t i = 0; i < cnt; i++) {
				uint32_t k = hs_add(&st->hs, g[i]);
				if (k < best) continue;
				uint64_t ch = (uint64_t)k * (pre[i + n] - pre[i]);
				if (k > best || ch > best_chars) {
					best = k;
					best_chars = ch;
				}
			}
			CHECK(m, frac(best > 1 ? best_chars : 0, st->chars));
		} else {
			/* the words covered by repeated n-grams, without a branch
			 * on whether each one is repeated */
			uint64_t covered = 0;
			size_t cov_end = 0;
			for (size_t i = 0; i < cnt; i++) {
				uint64_t rep = -(uint64_t)(hs_add(&st->hs, g[i]) > 1);
				size_t from = i > cov_end ? i : cov_end;
				covered += (pre[i + n] - pre[from]) & rep;
				cov_end = (size_t)(((uint64_t)(i + n) & rep) | ((uint64_t)cov_end & ~rep));
			}
			double v = frac(covered, st->chars);
			if (n == 5) dup5 = v;
			CHECK(m, v);
		}
	}
	return fail;
}

static int eval_gopher_quality(wn_qstate *st, double *values, int all)
{
	int fail = -1;
	const profile *p = st->p;
	uint64_t words = st->nw;
	CHECK(WN_QM_WORDS, (double)words);
	CHECK(WN_QM_MEAN_WORD_LENGTH, words ? (double)st->word_chars / (double)words : 0.0);
	uint64_t wd = words ? words : 1;
	CHECK(WN_QM_HASH_RATIO, (double)st->hashes / (double)wd);
	CHECK(WN_QM_ELLIPSIS_RATIO, (double)st->ellipses / (double)wd);
	CHECK(WN_QM_BULLET_LINES, frac(st->bullets, st->nonblank));
	CHECK(WN_QM_ELLIPSIS_LINES, frac(st->ell_lines, st->nonblank));
	CHECK(WN_QM_ALPHA_WORDS, frac(st->alpha, st->tokens));
	uint64_t seen = 0;
	if (p->nstop && p->stop_shift >= 0) {
		/* a lookup per word, no branch on whether it is a stop word */
		uint64_t full = (1ULL << p->nstop) - 1;
		int sh = p->stop_shift;
		for (size_t i = 0; i < st->nw && seen != full; i++) {
			uint64_t h = st->wh[i];
			unsigned b = (unsigned)(h >> sh) & 255;
			seen |= (uint64_t)(p->stop_tab[b] == h) << p->stop_idx[b];
		}
	} else if (p->nstop)
		for (size_t i = 0; i < st->nw && seen != (1ULL << p->nstop) - 1; i++) {
			uint64_t h = st->wh[i];
			if (!(p->stop_bloom & (1ULL << (h >> 58)))) continue;
			for (int j = 0; j < p->nstop; j++)
				if (p->stop_hash[j] == h) seen |= 1ULL << j;
		}
	CHECK(WN_QM_STOP_WORDS, (double)__builtin_popcountll(seen));
	return fail;
}

static int eval_fineweb(wn_qstate *st, double *values, int all)
{
	int fail = -1;
	CHECK(WN_QM_FW_LINE_PUNCT, frac(st->term_lines, st->nonblank));
	uint64_t short_lines = 0;
	for (size_t i = 0; i < st->nlines; i++)
		if (!st->lines[i].blank && st->lines[i].len <= (uint32_t)st->p->fw_short_line_length)
			short_lines++;
	CHECK(WN_QM_FW_SHORT_LINES, frac(short_lines, st->nonblank));
	dup_lines(st);
	CHECK(WN_QM_FW_DUP_LINE_CHARS, frac(st->dup_line_chars, st->chars));
	CHECK(WN_QM_FW_NEWLINE_RATIO, (double)st->newlines / (double)(st->nw ? st->nw : 1));
	return fail;
}

/* ---- C4 ---- */

enum { HIT_LOREM = 1, HIT_JS = 2, HIT_POLICY = 4 };

static inline unsigned char fold_byte(unsigned char c)
{
	return (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* A filter for a needle byte c (lower case): the text byte x may fold to
 * c when (x | m) == c, m being 0x20 for a letter (then upper case passes
 * too, and a few symbols, which the whole comparison turns down) and 0
 * for any other byte (which only itself folds to). */
static inline unsigned char fold_mask(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? 0x20 : 0;
}

/* The candidates among 16 (32) positions from s: first and last bytes
 * pass the filter. */
#define FIND_BODY(V, LOAD, SET1, OR, AND, EQ, MOVEMASK, WIDTH)                                    	const V f0 = SET1(nd[0]), m0 = SET1(fold_mask(nd[0]));                                  	const V f1 = SET1(nd[nl - 1]), m1 = SET1(fold_mask(nd[nl - 1]));                        	for (; i + WIDTH <= lim; i += WIDTH) {                                                  		V a = LOAD(s + i), b = LOAD(s + i + nl - 1);                                    		uint32_t m = (uint32_t)MOVEMASK(AND(EQ(OR(a, m0), f0), EQ(OR(b, m1), f1)));     		for (; m; m &= m - 1) {                                                         			size_t p = i + (size_t)__builtin_ctz(m), k = 0;                         			while (k < nl && fold_byte(s[p + k]) == nd[k]) k++;                     			if (k == nl) return p;                                                  		}                                                                               	}                                                                                       	return i;

#define SETB128(c) _mm_set1_epi8((char)(c))
#define SETB256(c) _mm256_set1_epi8((char)(c))

/* The first match in [i, lim) found 16 (32) positions at a time, or the
 * position where fewer than 16 (32) remain. */
static size_t find_sse(const unsigned char *s, size_t i, size_t lim, const unsigned char *nd,
		       size_t nl)
{
	FIND_BODY(__m128i, LOAD128, SETB128, _mm_or_si128, _mm_and_si128, _mm_cmpeq_epi8,
		  _mm_movemask_epi8, 16)
}

__attribute__((target("avx2"))) static size_t find_avx2(const unsigned char *s, size_t i,
							 size_t lim, const unsigned char *nd,
							 size_t nl)
{
	FIND_BODY(__m256i, LOAD256, SETB256, _mm256_or_si256, _mm256_and_si256, _mm256_cmpeq_epi8,
		  _mm256_movemask_epi8, 32)
}

static size_t (*find_blocks)(const unsigned char *s, size_t i, size_t lim, const unsigned char *nd,
			     size_t nl);

static void find_init(int avx2)
{
	find_blocks = avx2 ? find_avx2 : find_sse;
}

/* The first match at or after from of needle (lower case, nl bytes) in
 * s[0..n) with ASCII letters folded to lower case; n if none.  Many
 * positions at a time are tested on the needle's first and last bytes,
 * and only those that pass are compared whole. */
static size_t find_folded(const char *text, size_t n, size_t from, const char *needle, size_t nl)
{
	const unsigned char *s = (const unsigned char *)text, *nd = (const unsigned char *)needle;
	if (!nl) return from;
	if (n < nl) return n;
	size_t lim = n - nl + 1; /* candidates: [from, lim) */
	size_t i = find_blocks(s, from, lim, nd, nl);
	for (; i < lim; i++) {
		size_t k = 0;
		while (k < nl && fold_byte(s[i + k]) == nd[k]) k++;
		if (k == nl) return i;
	}
	return n;
}

/* Mark the lines containing `needle` (lower case), ASCII case ignored. */
static void mark_lines(wn_qstate *st, unsigned char *hits, const char *needle, int bit)
{
	size_t nl = strlen(needle), n = st->n, pos = 0, li = 0;
	while (pos < n) {
		size_t off = find_folded(st->text, n, pos, needle, nl);
		if (off >= n) break;
		while (li < st->nlines && st->lines[li].raw_end < off) li++;
		if (li >= st->nlines) break;
		/* the match must lie within one line */
		if (off + nl <= st->lines[li].raw_end) hits[li] |= (unsigned char)bit;
		pos = st->lines[li].raw_end;
		if (pos < n) pos++;
		li++;
	}
}

/* Does s[0..n) end in terminal punctuation (not an ellipsis)? */
static int line_term_end(const char *s, size_t n)
{
	while (n && is_white((unsigned char)s[n - 1])) n--;
	if (!n) return 0;
	size_t i = n - 1, l;
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80) i--;
	uint32_t c = decode((const unsigned char *)s, i, n, &l);
	if (c == 0x2026 || (n >= 3 && !memcmp(s + n - 3, "...", 3))) return 0;
	return terminal_end(c);
}

/* Cut [123], [] , [edit], [citation needed] from a line into out;
 * returns how many were cut. */
static uint64_t cut_citations(const char *s, size_t n, wn_buf *out)
{
	uint64_t cut = 0;
	size_t i = 0, from = 0;
	while (i < n) {
		const char *b = memchr(s + i, '[', n - i);
		if (!b) break;
		size_t j = (size_t)(b - s), k = j + 1;
		while (k < n && s[k] >= '0' && s[k] <= '9') k++;
		size_t len = 0;
		if (k < n && s[k] == ']') len = k + 1 - j;
		else if (n - j >= 6 && !memcmp(s + j, "[edit]", 6)) len = 6;
		else if (n - j >= 17 && !memcmp(s + j, "[citation needed]", 17)) len = 17;
		if (len) {
			wn_buf_add(out, s + from, j - from);
			from = j + len;
			cut++;
			i = j + len;
		} else {
			i = j + 1;
		}
	}
	wn_buf_add(out, s + from, n - from);
	return cut;
}

static int eval_c4(wn_qstate *st, double *values, int all, uint64_t *c4_lines)
{
	int fail = -1;
	const profile *p = st->p;
	size_t nl = st->nlines;
	if (st->capkeep < nl) {
		st->capkeep = nl;
		st->keep = wn_realloc(st->keep, nl);
	}
	unsigned char *hits = st->keep;
	memset(hits, 0, nl);
	/* the substring tests, ASCII case ignored */
	mark_lines(st, hits, "lorem ipsum", HIT_LOREM);
	if (p->c4_javascript) mark_lines(st, hits, "javascript", HIT_JS);
	for (int i = 0; i < p->npolicy; i++) mark_lines(st, hits, p->policy[i], HIT_POLICY);

	uint64_t removed[WN_C4L_N] = { 0 };
	int lorem = 0, curly = 0;
	uint64_t sentences = 0;
	/* judge every non-blank line; hits[] becomes keep flags (bit 7) */
	int edited = 0;
	for (size_t i = 0; i < nl; i++) {
		qline *L = &st->lines[i];
		unsigned char h = hits[i];
		hits[i] = 0;
		if (L->blank) continue;
		int rule = -1, term = L->term_end;
		if (p->c4_citation && memchr(st->text + L->start, '[', L->end - L->start)) {
			/* citations change the line: count them, judge its text as is
			 * (a citation is never a whole word) */
			wn_buf_reset(&st->tmp);
			uint64_t c = cut_citations(st->text + L->start, L->end - L->start, &st->tmp);
			if (c) {
				removed[WN_C4L_CITATION] += c;
				hits[i] |= 0x40; /* keep, edited */
				edited = 1;
				term = line_term_end(st->tmp.data, st->tmp.len);
			}
		}
		if (p->c4_no_terminal && !term) rule = WN_C4L_NO_TERMINAL_PUNCT;
		else if (L->words < (uint32_t)p->c4_min_words_per_line) rule = WN_C4L_SHORT_LINE;
		else if (L->max_word > (uint32_t)p->c4_max_word_length) rule = WN_C4L_LONG_WORD;
		else if (h & HIT_LOREM) lorem = 1;
		if (rule < 0 && (h & HIT_JS)) rule = WN_C4L_JAVASCRIPT;
		if (rule < 0 && memchr(st->text + L->start, '{', L->end - L->start)) curly = 1;
		if (rule < 0 && (h & HIT_POLICY)) rule = WN_C4L_POLICY;
		if (rule >= 0) {
			removed[rule]++;
			edited = 1;
			hits[i] &= (unsigned char)~0x40;
			continue;
		}
		hits[i] |= 0x80;
		sentences += L->sentences;
		if (lorem && !all) break;
	}
	if (c4_lines)
		for (int r = 0; r < WN_C4L_N; r++) c4_lines[r] += removed[r];
	int cited = 0; /* a kept line lost a citation */
	for (size_t i = 0; i < nl; i++) cited |= (hits[i] & 0xc0) == 0xc0;
	CHECK(WN_QM_C4_LOREM_IPSUM, (double)lorem);
	CHECK(WN_QM_C4_CURLY_BRACKET, (double)curly);
	if (!cited) CHECK(WN_QM_C4_SENTENCES, (double)sentences);
	if (!edited) return fail;
	if (fail >= 0 && !all) return fail;
	/* rebuild: kept lines, one blank line where blank lines stood
	 * between two kept ones */
	wn_buf out;
	wn_buf_init(&out, 0);
	wn_buf_grow(&out, st->n);
	int any = 0, gap = 0;
	for (size_t i = 0; i < nl; i++) {
		const qline *L = &st->lines[i];
		if (L->blank) {
			gap = 1;
			continue;
		}
		if (!(hits[i] & 0x80)) continue;
		if (any) wn_buf_adds(&out, gap ? "\n\n" : "\n");
		if (hits[i] & 0x40) {
			wn_buf_add(&out, st->text + L->raw, L->start - L->raw);
			cut_citations(st->text + L->start, L->end - L->start, &out);
			wn_buf_add(&out, st->text + L->end, L->raw_end - L->end);
		} else {
			wn_buf_add(&out, st->text + L->raw, L->raw_end - L->raw);
		}
		any = 1;
		gap = 0;
	}
	wn_buf_release(&st->own);
	st->own = out;
	st->text = st->own.data;
	st->n = st->own.len;
	st->changed = 1;
	st->analysed = 0;
	if (cited) {
		/* a cut citation can end a sentence ("true.[1] Next"): count the
		 * sentences of the kept text (later rule sets reuse the analysis) */
		analyse(st);
		sentences = 0;
		for (size_t i = 0; i < st->nlines; i++) sentences += st->lines[i].sentences;
		CHECK(WN_QM_C4_SENTENCES, (double)sentences);
	}
	return fail;
}

int wn_q_eval(wn_qstate *st, int set, double *values, int all, uint64_t *c4_lines)
{
	ensure_analysed(st);
	switch (set) {
	case WN_Q_GOPHER_REPETITION: return eval_repetition(st, values, all);
	case WN_Q_GOPHER_QUALITY: return eval_gopher_quality(st, values, all);
	case WN_Q_C4: return eval_c4(st, values, all, c4_lines);
	case WN_Q_FINEWEB: return eval_fineweb(st, values, all);
	default: return -1;
	}
}
