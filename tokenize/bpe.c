/*
 * bpe.c - byte-level BPE (see bpe.h for what and why).
 *
 * Tables:
 *   tokens   id -> (offset, length) into one block of bytes; length 0
 *            marks an unused id;
 *   bytes    open addressing over ids, keyed by XXH3-64 of a token's
 *            bytes (ordinary tokens only, not special ones);
 *   pairs    open addressing keyed by (left id << 32 | right id), value
 *            (priority, result id).
 *
 * Encoding a piece: with ranks semantics a piece that is a token is done
 * with one lookup.  Otherwise its bytes become the byte tokens, and the
 * pair of lowest priority (leftmost of equals) is merged until no
 * adjacent pair is in the table: for pieces of up to SMALL bytes by
 * scanning an array of pair priorities (the common case, no allocation),
 * for longer ones with a binary heap over a linked list, stale entries
 * skipped when popped, so that a run of 100,000 digits or spaces costs
 * O(n log n).  Short pieces that needed merging are remembered in a
 * per-thread direct-mapped cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"
#include "bpe_train.h"
#include "bpe_unicode.h"
#include "../lib/err.h"
#include "../lib/hash.h"
#include "../lib/jtree.h"
#include "../lib/opts.h"

#define SMALL 64
#define CACHE_SLOTS 16384
#define CACHE_KEY 32
#define CACHE_TOK 15
#define NONE UINT32_MAX

enum { SEM_RANKS, SEM_MERGES };
enum { SPLIT_ISOLATED, SPLIT_REMOVED };

struct pair_ent {
	uint64_t key; /* (a << 32 | b) + 1; 0: empty */
	uint32_t prio, res;
};

struct special {
	char *text;
	size_t len;
	uint32_t id;
};

struct wn_bpe {
	uint32_t ntok;          /* ids 0 .. ntok-1 */
	uint32_t *off, *len;    /* per id */
	char *bytes;
	size_t nbytes;
	uint64_t *tab;          /* (hash >> 32) << 32 | (id + 1), or 0 */
	uint64_t tmask;
	struct pair_ent *pairs;
	uint64_t pmask;
	size_t npairs;
	uint32_t byte_tok[256];
	int sem, ignore_merges, split;
	struct special *spec;
	int nspec;
	pcre2_code *re, *re_ext;
	int jit;
	int fast;               /* FAST_*: a hand-written pre-tokeniser for ASCII */
	char *pattern;
	char desc[512];
};

/* ---- small things ---- */

void wn_ids_push(wn_ids *a, uint32_t id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->v = wn_realloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = id;
}

void wn_ids_release(wn_ids *a)
{
	free(a->v);
	memset(a, 0, sizeof *a);
}

static const char PAT_R50K[] =
	"'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++|\\s++$|\\s+(?!\\S)|\\s";
static const char PAT_CL100K[] =
	"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+"
	"|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
static const char PAT_O200K[] =
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
	"|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* The same patterns in a dialect every engine reads alike (PCRE2,
 * tiktoken's fancy-regex, Hugging Face's Oniguruma, JavaScript's): no
 * possessive quantifiers (JavaScript has none, and Oniguruma reads
 * X{1,3}+ as (X{1,3})+), and no $ (Oniguruma's matches at every line
 * end): the end of the text is (?![\s\S]); cl100k's contractions are
 * spelt as in Hugging Face's own cl100k tokenizer.json.  Each matches
 * exactly what the pattern above does: a possessive quantifier differs
 * from a greedy one only when what follows can fail after it and succeed
 * with less, and in these patterns it cannot (what follows a run of
 * letters or digits is the end of the alternative; \s++$ needs the
 * whole run). */
static const char PORT_R50K[] =
	"'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?![\\s\\S])|\\s+(?!\\S)|\\s";
static const char PORT_CL100K[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
	"|\\s+(?![\\s\\S])|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

const char *wn_bpe_pattern_portable(const char *name_or_regex)
{
	const char *p = wn_bpe_pattern(name_or_regex);
	if (!p) p = name_or_regex;
	if (p == PAT_R50K || !strcmp(p, PAT_R50K)) return PORT_R50K;
	if (p == PAT_CL100K || !strcmp(p, PAT_CL100K)) return PORT_CL100K;
	if (p == PAT_O200K || !strcmp(p, PAT_O200K)) return PAT_O200K;
	return name_or_regex;
}

const char *wn_bpe_pattern(const char *name)
{
	if (!strcmp(name, "r50k_base") || !strcmp(name, "gpt2") || !strcmp(name, "p50k_base") ||
	    !strcmp(name, "p50k_edit"))
		return PAT_R50K;
	if (!strcmp(name, "cl100k_base")) return PAT_CL100K;
	if (!strcmp(name, "o200k_base")) return PAT_O200K;
	return NULL;
}

/* OpenAI's encodings: file, pattern and special tokens as tiktoken has
 * them. */
static const struct named {
	const char *name, *file, *pattern;
	wn_bpe_special_def spec[5];
	int nspec;
} named[] = {
	{ "r50k_base", "r50k_base.tiktoken", PAT_R50K, { { "<|endoftext|>", 50256 } }, 1 },
	{ "gpt2", "r50k_base.tiktoken", PAT_R50K, { { "<|endoftext|>", 50256 } }, 1 },
	{ "p50k_base", "p50k_base.tiktoken", PAT_R50K, { { "<|endoftext|>", 50256 } }, 1 },
	{ "p50k_edit", "p50k_base.tiktoken", PAT_R50K,
	  { { "<|endoftext|>", 50256 }, { "<|fim_prefix|>", 50281 }, { "<|fim_middle|>", 50282 },
	    { "<|fim_suffix|>", 50283 } }, 4 },
	{ "cl100k_base", "cl100k_base.tiktoken", PAT_CL100K,
	  { { "<|endoftext|>", 100257 }, { "<|fim_prefix|>", 100258 }, { "<|fim_middle|>", 100259 },
	    { "<|fim_suffix|>", 100260 }, { "<|endofprompt|>", 100276 } }, 5 },
	{ "o200k_base", "o200k_base.tiktoken", PAT_O200K,
	  { { "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 } }, 2 },
};

void wn_bpe_data_dir(char *out, size_t n)
{
	const char *e = getenv("WINNOW_TOKENIZERS");
	if (e && *e) snprintf(out, n, "%s", e);
	else wn_cache_path(out, n, "tokenizers");
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Zeroed memory for the big tables, on 2 MiB pages where the kernel
 * gives them: lookups land anywhere in megabytes, and TLB misses cost as
 * much as the cache misses. */
static void *table_alloc(size_t n, size_t size)
{
	size_t bytes = n * size;
	if (bytes < (2u << 20)) return wn_calloc(n, size);
	void *p = NULL;
	if (posix_memalign(&p, 2u << 20, bytes)) wn_die_oom();
	madvise(p, bytes, MADV_HUGEPAGE);
	memset(p, 0, bytes);
	return p;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t c = 16;
	while (c < n) c <<= 1;
	return c;
}

/* ---- building the tables ---- */

/* Token storage grows while a file is read. */
typedef struct tokbuild {
	wn_buf bytes;
	uint32_t *off, *len;
	uint32_t cap;
} tokbuild;

static void tb_set(wn_bpe *b, tokbuild *t, uint32_t id, const char *p, size_t n)
{
	if (id >= t->cap) {
		uint32_t c = t->cap ? t->cap : 1024;
		while (c <= id) c *= 2;
		t->off = wn_realloc(t->off, c * sizeof *t->off);
		t->len = wn_realloc(t->len, c * sizeof *t->len);
		memset(t->len + t->cap, 0, (c - t->cap) * sizeof *t->len);
		memset(t->off + t->cap, 0, (c - t->cap) * sizeof *t->off);
		t->cap = c;
	}
	t->off[id] = (uint32_t)t->bytes.len;
	t->len[id] = (uint32_t)n;
	wn_buf_add(&t->bytes, p, n);
	if (id + 1 > b->ntok) b->ntok = id + 1;
}

static void tb_finish(wn_bpe *b, tokbuild *t)
{
	b->off = t->off;
	b->len = t->len;
	if (!t->cap) {
		b->off = wn_calloc(1, sizeof *b->off);
		b->len = wn_calloc(1, sizeof *b->len);
	}
	b->nbytes = t->bytes.len;
	b->bytes = wn_buf_detach(&t->bytes, NULL);
	if (!b->bytes) b->bytes = wn_calloc(1, 1);
}

static int is_special_id(const wn_bpe *b, uint32_t id)
{
	for (int i = 0; i < b->nspec; i++)
		if (b->spec[i].id == id) return 1;
	return 0;
}

static uint32_t lookup_bytes(const wn_bpe *b, const char *p, size_t n, uint64_t h)
{
	uint64_t tag = h >> 32 << 32;
	for (uint64_t i = h & b->tmask;; i = (i + 1) & b->tmask) {
		uint64_t v = b->tab[i];
		if (!v) return NONE;
		if ((v & 0xffffffff00000000ULL) != tag) continue;
		uint32_t id = (uint32_t)v - 1;
		if (b->len[id] == n && !memcmp(b->bytes + b->off[id], p, n)) return id;
	}
}

/* The bytes table over every ordinary token; a duplicate is an error. */
static int build_bytes_table(wn_bpe *b, const char *what, char *err, size_t errlen)
{
	b->tmask = pow2_at_least(2 * (uint64_t)b->ntok + 2) - 1;
	b->tab = table_alloc(b->tmask + 1, sizeof *b->tab);
	for (uint32_t id = 0; id < b->ntok; id++) {
		if (!b->len[id] || is_special_id(b, id)) continue;
		const char *p = b->bytes + b->off[id];
		uint64_t h = wn_hash64(p, b->len[id], 0);
		uint32_t other = lookup_bytes(b, p, b->len[id], h);
		if (other != NONE)
			return fail(err, errlen, "%s: tokens %u and %u have the same bytes", what, other, id);
		uint64_t i = h & b->tmask;
		while (b->tab[i]) i = (i + 1) & b->tmask;
		b->tab[i] = (h >> 32 << 32) | (id + 1);
	}
	for (int c = 0; c < 256; c++) {
		char ch = (char)c;
		b->byte_tok[c] = lookup_bytes(b, &ch, 1, wn_hash64(&ch, 1, 0));
		if (b->byte_tok[c] == NONE)
			return fail(err, errlen, "%s: no token for the byte 0x%02x (not a byte-level vocabulary)",
				    what, c);
	}
	return 0;
}

static void pairs_alloc(wn_bpe *b, size_t expect)
{
	b->pmask = pow2_at_least(2 * (uint64_t)expect + 2) - 1;
	b->pairs = table_alloc(b->pmask + 1, sizeof *b->pairs);
	b->npairs = 0;
}

static inline struct pair_ent *pair_find(const wn_bpe *b, uint32_t l, uint32_t r)
{
	uint64_t key = ((uint64_t)l << 32 | r) + 1;
	for (uint64_t i = mix64(key) & b->pmask;; i = (i + 1) & b->pmask) {
		struct pair_ent *e = &b->pairs[i];
		if (e->key == key || !e->key) return e;
	}
}

/* Insert unless present (the first, lowest priority wins). */
static void pair_add(wn_bpe *b, uint32_t l, uint32_t r, uint32_t prio, uint32_t res)
{
	if (2 * (b->npairs + 1) > b->pmask + 1) {
		struct pair_ent *old = b->pairs;
		uint64_t oldn = b->pmask + 1;
		b->pmask = 2 * oldn - 1;
		b->pairs = table_alloc(b->pmask + 1, sizeof *b->pairs);
		for (uint64_t i = 0; i < oldn; i++)
			if (old[i].key) {
				uint64_t k = old[i].key - 1;
				*pair_find(b, (uint32_t)(k >> 32), (uint32_t)k) = old[i];
			}
		free(old);
	}
	struct pair_ent *e = pair_find(b, l, r);
	if (e->key) {
		if (prio < e->prio) {
			e->prio = prio;
			e->res = res;
		}
		return;
	}
	e->key = ((uint64_t)l << 32 | r) + 1;
	e->prio = prio;
	e->res = res;
	b->npairs++;
}

/* Ranks: every split of a token into two tokens merges into it. */
static void build_rank_pairs(wn_bpe *b)
{
	pairs_alloc(b, b->ntok * 2);
	for (uint32_t id = 0; id < b->ntok; id++) {
		uint32_t n = b->len[id];
		if (n < 2 || is_special_id(b, id)) continue;
		const char *p = b->bytes + b->off[id];
		for (uint32_t k = 1; k < n; k++) {
			uint32_t l = lookup_bytes(b, p, k, wn_hash64(p, k, 0));
			if (l == NONE) continue;
			uint32_t r = lookup_bytes(b, p + k, n - k, wn_hash64(p + k, n - k, 0));
			if (r == NONE) continue;
			pair_add(b, l, r, id, id);
		}
	}
}

static int add_specials(wn_bpe *b, const wn_bpe_special_def *d, int n, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		int dup = 0;
		for (int j = 0; j < b->nspec; j++)
			if (!strcmp(b->spec[j].text, d[i].text)) {
				if (b->spec[j].id != d[i].id)
					return fail(err, errlen, "special token %s given ids %u and %u",
						    d[i].text, b->spec[j].id, d[i].id);
				dup = 1;
			}
		if (dup) continue;
		if (!*d[i].text) return fail(err, errlen, "empty special token");
		b->spec = wn_realloc(b->spec, (size_t)(b->nspec + 1) * sizeof *b->spec);
		b->spec[b->nspec].text = wn_strdup(d[i].text);
		b->spec[b->nspec].len = strlen(d[i].text);
		b->spec[b->nspec].id = d[i].id;
		b->nspec++;
	}
	return 0;
}

/* Specials need bytes too (decode); an id already held by an ordinary
 * token is an error. */
static int place_specials(wn_bpe *b, tokbuild *t, char *err, size_t errlen)
{
	for (int i = 0; i < b->nspec; i++) {
		struct special *s = &b->spec[i];
		if (s->id < t->cap && t->len[s->id]) {
			const char *have = t->bytes.data + t->off[s->id];
			if (t->len[s->id] == s->len && !memcmp(have, s->text, s->len)) continue;
			return fail(err, errlen, "special token %s: id %u is an ordinary token", s->text, s->id);
		}
		tb_set(b, t, s->id, s->text, s->len);
	}
	return 0;
}

/* The characters of Unicode's White_Space property, which is what \s
 * means in tiktoken's and Hugging Face's regex engines; PCRE2's \s also
 * takes U+180E (MONGOLIAN VOWEL SEPARATOR, white space before Unicode
 * 6.3). */
#define WS_CHARS "\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/* The characters class NAME (at s, up to "}") holds in tiktoken's regex
 * engine beyond PCRE2's Unicode 14 tables; NULL for other classes. */
static const char *new_chars(const char *s)
{
	static const struct { const char *name, *chars; } t[] = {
		{ "L}", WN_UNI_NEW_L }, { "N}", WN_UNI_NEW_N }, { "M}", WN_UNI_NEW_M },
		{ "Lu}", WN_UNI_NEW_Lu }, { "Ll}", WN_UNI_NEW_Ll }, { "Lt}", WN_UNI_NEW_Lt },
		{ "Lm}", WN_UNI_NEW_Lm }, { "Lo}", WN_UNI_NEW_Lo },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strncmp(s, t[i].name, strlen(t[i].name))) return t[i].chars;
	return NULL;
}

/* pat with \s and \S spelt out as White_Space (inside a class too;
 * a \S inside a class is left to PCRE2, none of the patterns has one). */
static char *white_space_pattern(const char *pat, int ext)
{
	wn_buf o;
	wn_buf_init(&o, 0);
	int in_class = 0;
	for (const char *p = pat; *p; p++) {
		if (*p == '\\' && p[1]) {
			const char *cls = ext && p[1] == 'p' && p[2] == '{' ? new_chars(p + 3) : NULL;
			if (cls) {
				size_t k = (size_t)(strchr(p, '}') - p) + 1;
				if (!in_class) wn_buf_addc(&o, '[');
				wn_buf_add(&o, p, k);
				wn_buf_adds(&o, cls);
				if (!in_class) wn_buf_addc(&o, ']');
				p += k - 1;
				continue;
			}
			if (p[1] == 's') {
				wn_buf_adds(&o, in_class ? WS_CHARS : "[" WS_CHARS "]");
			} else if (p[1] == 'S' && !in_class) {
				wn_buf_adds(&o, "[^" WS_CHARS "]");
			} else {
				wn_buf_add(&o, p, 2);
			}
			p++;
			continue;
		}
		if (*p == '[' && !in_class) {
			in_class = 1;
			wn_buf_addc(&o, *p);
			/* a ] first in a class (after ^) is a literal */
			if (p[1] == '^') wn_buf_addc(&o, *++p);
			if (p[1] == ']') wn_buf_addc(&o, *++p);
			continue;
		}
		if (*p == ']' && in_class) in_class = 0;
		wn_buf_addc(&o, *p);
	}
	return wn_buf_detach(&o, NULL);
}

static pcre2_code *compile_one(const char *pat, int ext, char *err, size_t errlen)
{
	int ec;
	PCRE2_SIZE eo;
	char *ws = white_space_pattern(pat, ext);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)ws, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF,
				       &ec, &eo, NULL);
	free(ws);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		fail(err, errlen, "pattern: %s at offset %zu", (char *)msg, (size_t)eo);
		return NULL;
	}
	return re;
}

/* The sorted ranges of WN_UNI_NEW_L, _N and _M, merged. */
static uint32_t (*new_ranges)[2];
static size_t n_new_ranges;

static int range_cmp(const void *a, const void *c)
{
	const uint32_t *x = a, *y = c;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static pthread_once_t ranges_once = PTHREAD_ONCE_INIT;

static void new_ranges_init(void)
{
	const char *src[] = { WN_UNI_NEW_L, WN_UNI_NEW_N, WN_UNI_NEW_M };
	size_t cap = 0;
	for (int i = 0; i < 3; i++)
		for (const char *p = src[i]; (p = strstr(p, "\\x{")); p++) cap++;
	new_ranges = wn_malloc((cap + 1) * sizeof *new_ranges);
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		for (const char *p = src[i]; *p;) {
			char *e;
			uint32_t lo = (uint32_t)strtoul(p + 3, &e, 16), hi = lo;
			p = e + 1;
			if (*p == '-') {
				hi = (uint32_t)strtoul(p + 4, &e, 16);
				p = e + 1;
			}
			new_ranges[n][0] = lo;
			new_ranges[n][1] = hi;
			n++;
		}
	qsort(new_ranges, n, sizeof *new_ranges, range_cmp);
	n_new_ranges = n;
}

/* Does text hold a character the Unicode 14 tables do not classify as
 * tiktoken's engine does?  (None below U+1C80.) */
static int has_new_chars(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0xe1) continue;
		uint32_t c;
		if (s[i] < 0xf0 && i + 2 < n) c = (uint32_t)(s[i] & 0x0f) << 12 | (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
		else if (s[i] >= 0xf0 && i + 3 < n)
			c = (uint32_t)(s[i] & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3f) << 12 |
			    (uint32_t)(s[i + 2] & 0x3f) << 6 | (s[i + 3] & 0x3f);
		else continue;
		if (c < 0x1c80) continue;
		size_t lo = 0, hi = n_new_ranges;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (new_ranges[mid][1] < c) lo = mid + 1;
			else hi = mid;
		}
		if (lo < n_new_ranges && new_ranges[lo][0] <= c) return 1;
	}
	return 0;
}

/* ---- hand-written pre-tokenisers for ASCII ----
 *
 * PCRE2 costs a call and a match attempt per pre-token, about as much as
 * all the merging.  For the two most used patterns the match at a
 * position is computed here directly when everything it depends on is
 * ASCII: fast_*() return the end of the match at p, or p itself when a
 * byte >= 0x80 could change the answer (a letter, digit, white space or
 * punctuation of another script), and PCRE2 then matches at p.  Each
 * follows the pattern's alternatives in order, as a backtracking engine
 * takes them; tests compare both ways on random and real text. */

enum { FAST_NONE, FAST_CL100K, FAST_R50K };

/* ASCII classes: 1 letter, 2 digit, 4 white space (Unicode White_Space),
 * 8 CR or LF.  Constant, so that it lies in read-only data and never
 * shares a cache line with anything written. */
static const uint8_t acls[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 12, 4, 4, 12, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

#define IS_L(c) (acls[c] & 1)
#define IS_N(c) (acls[c] & 2)
#define IS_WS(c) (acls[c] & 4)
#define IS_CRLF(c) (acls[c] & 8)
#define IS_P(c) (!(acls[c] & 7)) /* [^\s\p{L}\p{N}] */

/* White space from p (s[p] is ASCII white space): the alternatives
 * \s++$ | \s*[\r\n] (cl100k only) | \s+(?!\S) | \s */
static inline size_t fast_space(const unsigned char *s, size_t n, size_t p, int crlf_alt)
{
	size_t q = p;
	while (q < n && s[q] < 0x80 && IS_WS(s[q])) q++;
	if (q < n && s[q] >= 0x80) return p;
	if (q == n) return n;
	if (crlf_alt) {
		size_t j = q;
		while (j > p && !IS_CRLF(s[j - 1])) j--;
		if (j > p) return j;
	}
	return q - p >= 2 ? q - 1 : p + 1;
}

/* '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|
 *  ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s */
static size_t fast_cl100k(const unsigned char *s, size_t n, size_t p)
{
	unsigned c = s[p];
	if (c >= 0x80) return p;
	if (c == '\'' && p + 1 < n) {
		unsigned d = s[p + 1];
		if (d >= 0x80) return p; /* U+017F LATIN SMALL LETTER LONG S folds to s */
		d |= 0x20;
		if (IS_L(s[p + 1]) && (d == 's' || d == 'd' || d == 'm' || d == 't')) return p + 2;
		if (IS_L(s[p + 1]) && p + 2 < n) {
			unsigned e = s[p + 2];
			if (e >= 0x80) return p;
			e |= 0x20;
			if (IS_L(s[p + 2]) && ((d == 'l' && e == 'l') || (d == 'v' && e == 'e') || (d == 'r' && e == 'e')))
				return p + 3;
		}
	}
	size_t q = SIZE_MAX;
	if (IS_L(c)) {
		q = p;
	} else if (!IS_CRLF(c) && !IS_N(c) && p + 1 < n) {
		unsigned d = s[p + 1];
		if (d >= 0x80) return p;
		if (IS_L(d)) q = p + 1;
	}
	if (q != SIZE_MAX) {
		size_t e = q;
		while (e < n && s[e] < 0x80 && IS_L(s[e])) e++;
		return e < n && s[e] >= 0x80 ? p : e;
	}
	if (IS_N(c)) {
		size_t e = p + 1;
		while (e < n && e < p + 3 && s[e] < 0x80 && IS_N(s[e])) e++;
		return e < p + 3 && e < n && s[e] >= 0x80 ? p : e;
	}
	size_t r = c == ' ' ? p + 1 : p;
	if (r < n) {
		unsigned d = s[r];
		if (d >= 0x80) return p;
		if (IS_P(d)) {
			size_t e = r + 1;
			while (e < n && s[e] < 0x80 && IS_P(s[e])) e++;
			if (e < n && s[e] >= 0x80) return p;
			while (e < n && s[e] < 0x80 && IS_CRLF(s[e])) e++;
			return e;
		}
	}
	return IS_WS(c) ? fast_space(s, n, p, 1) : p;
}

/* '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|
 * \s+(?!\S)|\s */
static size_t fast_r50k(const unsigned char *s, size_t n, size_t p)
{
	unsigned c = s[p];
	if (c >= 0x80) return p;
	if (c == '\'' && p + 1 < n) {
		unsigned d = s[p + 1];
		if (d == 's' || d == 'd' || d == 'm' || d == 't') return p + 2;
		if (p + 2 < n) {
			unsigned e = s[p + 2];
			if ((d == 'l' && e == 'l') || (d == 'v' && e == 'e') || (d == 'r' && e == 'e')) return p + 3;
		}
	}
	size_t r = c == ' ' ? p + 1 : p;
	if (r < n) {
		unsigned d = s[r];
		if (d >= 0x80) return p;
		int k = IS_L(d) ? 1 : IS_N(d) ? 2 : IS_P(d) ? 3 : 0;
		if (k) {
			size_t e = r + 1;
			while (e < n && s[e] < 0x80 && (k == 1 ? IS_L(s[e]) : k == 2 ? IS_N(s[e]) : IS_P(s[e]))) e++;
			return e < n && s[e] >= 0x80 ? p : e;
		}
	}
	return IS_WS(c) ? fast_space(s, n, p, 0) : p;
}

/* Two compilations: with the classes as PCRE2's Unicode 14 tables have
 * them (fast), and with the later characters added (used only for a text
 * that holds one of them: large classes slow the matcher by a third). */
static int compile_pattern(wn_bpe *b, const char *pat, char *err, size_t errlen)
{
	const char *named_pat = wn_bpe_pattern(pat);
	if (named_pat) pat = named_pat;
	if (!(b->re = compile_one(pat, 0, err, errlen))) return -1;
	if (!(b->re_ext = compile_one(pat, 1, err, errlen))) return -1;
	b->jit = pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE) == 0 &&
		 pcre2_jit_compile(b->re_ext, PCRE2_JIT_COMPLETE) == 0;
	b->pattern = wn_strdup(pat);
	if (!strcmp(pat, PAT_CL100K) || !strcmp(pat, PORT_CL100K)) b->fast = FAST_CL100K;
	else if (!strcmp(pat, PAT_R50K) || !strcmp(pat, PORT_R50K)) b->fast = FAST_R50K;
	return 0;
}

/* ---- base64 (the rank files) ---- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decode s[0..n) into out; its length, or -1. */
static long b64_decode(const char *s, size_t n, char *out)
{
	if (n % 4) return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else {
				if (pad) return -1;
				if ((v[k] = b64_val(c)) < 0) return -1;
			}
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (char)(x >> 16);
		if (pad < 2) out[o++] = (char)(x >> 8);
		if (pad < 1) out[o++] = (char)x;
	}
	return (long)o;
}

/* ---- loaders ---- */

static int load_rank_file(wn_bpe *b, tokbuild *t, const char *path, char *err, size_t errlen)
{
	wn_buf f;
	wn_buf_init(&f, 0);
	if (wn_buf_read_file(&f, path)) {
		int e = errno;
		wn_buf_release(&f);
		return fail(err, errlen, "%s: %s", path, strerror(e));
	}
	const char *s = f.data, *end = f.data + f.len;
	size_t line = 0;
	char tok[4096];
	int rc = 0;
	while (s < end) {
		line++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *sp = memchr(s, ' ', (size_t)(le - s));
		if (le > s && le[-1] == '\r') le--;
		if (le == s) { /* blank line */
			s = nl ? nl + 1 : end;
			continue;
		}
		if (!sp || sp == s || (size_t)(sp - s) > 4 * sizeof tok / 3) {
			rc = fail(err, errlen, "%s:%zu: not a \"base64 rank\" line", path, line);
			break;
		}
		long n = b64_decode(s, (size_t)(sp - s), tok);
		if (n <= 0) {
			rc = fail(err, errlen, "%s:%zu: bad base64 token", path, line);
			break;
		}
		char *e;
		errno = 0;
		unsigned long long r = strtoull(sp + 1, &e, 10);
		if (e != le || sp + 1 == le || errno || r >= 0x7fffffffULL) {
			rc = fail(err, errlen, "%s:%zu: bad rank", path, line);
			break;
		}
		if (r < t->cap && t->len[r]) {
			rc = fail(err, errlen, "%s:%zu: rank %llu given twice", path, line, r);
			break;
		}
		tb_set(b, t, (uint32_t)r, tok, (size_t)n);
		s = nl ? nl + 1 : end;
	}
	if (!rc && !b->ntok) rc = fail(err, errlen, "%s: no tokens", path);
	wn_buf_release(&f);
	return rc;
}

/* GPT-2's byte-level alphabet, code point -> byte (the map itself is
 * wn_bpe_byte_to_unicode, beside the writer of tokenizer.json). */
static int16_t bl_byte[324];

static void bytelevel_init(void)
{
	for (int i = 0; i < 324; i++) bl_byte[i] = -1;
	for (int c = 0; c < 256; c++) bl_byte[wn_bpe_byte_to_unicode((unsigned char)c)] = (int16_t)c;
}

/* A byte-level string (UTF-8) to bytes; -1 when a character is outside
 * the alphabet. */
static long bytelevel_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		if (c < 0x80) {
			cp = c;
			i++;
		} else if ((c & 0xe0) == 0xc0 && i + 1 < n) {
			cp = (uint32_t)(c & 0x1f) << 6 | ((unsigned char)s[i + 1] & 0x3f);
			i += 2;
		} else {
			return -1;
		}
		if (cp >= 324 || bl_byte[cp] < 0) return -1;
		out[o++] = (char)bl_byte[cp];
	}
	return (long)o;
}

static int read_json(const char *path, wn_jtree *jt, char *err, size_t errlen)
{
	wn_buf f;
	wn_buf_init(&f, 0);
	if (wn_buf_read_file(&f, path)) {
		int e = errno;
		wn_buf_release(&f);
		return fail(err, errlen, "%s: %s", path, strerror(e));
	}
	char msg[200];
	int rc = wn_jtree_parse(jt, f.data, f.len, msg, sizeof msg);
	wn_buf_release(&f);
	if (rc) return fail(err, errlen, "%s: %s", path, msg);
	return 0;
}

/* vocab: object of byte-level string -> id.  Specials (already in b) keep
 * their own text. */
static int load_bl_vocab(wn_bpe *b, tokbuild *t, const wn_jtree *jt, const wn_jnode *v, const char *path,
			 char *err, size_t errlen)
{
	if (!v || v->type != WN_JT_OBJ) return fail(err, errlen, "%s: no vocabulary object", path);
	char *tmp = wn_malloc(1);
	size_t tcap = 1;
	int rc = 0;
	for (size_t c = 0; c < v->count && !rc; c++) {
		const wn_jnode *m = wn_jtree_child(jt, v, c);
		if (m->type != WN_JT_NUM || !m->is_int || m->i < 0 || m->i >= 0x7fffffff) {
			rc = fail(err, errlen, "%s: vocabulary entry %zu: the id is not a non-negative integer", path, c);
			break;
		}
		uint32_t id = (uint32_t)m->i;
		if (is_special_id(b, id)) continue;
		if (m->klen + 1 > tcap) {
			tcap = m->klen + 1;
			tmp = wn_realloc(tmp, tcap);
		}
		long n = bytelevel_decode(m->key, m->klen, tmp);
		if (n <= 0) {
			rc = fail(err, errlen, "%s: vocabulary entry %zu (id %u) is not a byte-level string", path, c, id);
			break;
		}
		if (id < t->cap && t->len[id]) {
			rc = fail(err, errlen, "%s: id %u given twice", path, id);
			break;
		}
		tb_set(b, t, id, tmp, (size_t)n);
	}
	free(tmp);
	return rc;
}

/* One merge "A B" (or ["A", "B"]) at priority prio. */
static int add_merge(wn_bpe *b, const char *l, size_t ln, const char *r, size_t rn, uint32_t prio,
		     const char *where, char *err, size_t errlen)
{
	char *buf = wn_malloc(ln + rn + 1);
	long a = bytelevel_decode(l, ln, buf);
	long c = a > 0 ? bytelevel_decode(r, rn, buf + a) : -1;
	int rc = 0;
	if (a <= 0 || c <= 0) {
		rc = fail(err, errlen, "%s: not a byte-level merge", where);
	} else {
		uint32_t li = lookup_bytes(b, buf, (size_t)a, wn_hash64(buf, (size_t)a, 0));
		uint32_t ri = lookup_bytes(b, buf + a, (size_t)c, wn_hash64(buf + a, (size_t)c, 0));
		size_t tot = (size_t)(a + c);
		uint32_t res = lookup_bytes(b, buf, tot, wn_hash64(buf, tot, 0));
		if (li == NONE || ri == NONE || res == NONE)
			rc = fail(err, errlen, "%s: a merge of tokens not in the vocabulary", where);
		else
			pair_add(b, li, ri, prio, res);
	}
	free(buf);
	return rc;
}

static int load_hf(wn_bpe *b, tokbuild *t, const char *path, const wn_bpe_load_opts *o, char *err,
		   size_t errlen)
{
	wn_jtree jt;
	if (read_json(path, &jt, err, errlen)) return -1;
	const wn_jnode *root = &jt.n[0];
	const wn_jnode *model = wn_jtree_get(&jt, root, "model");
	int rc = 0;
	char where[300];
	const wn_jnode *x;
	if (!model || !wn_jtree_str_is(wn_jtree_get(&jt, model, "type"), "BPE")) {
		rc = fail(err, errlen, "%s: not a BPE tokenizer (model.type)", path);
		goto out;
	}
	if ((x = wn_jtree_get(&jt, root, "normalizer")) && x->type != WN_JT_NULL) {
		rc = fail(err, errlen, "%s: normalizers are not supported", path);
		goto out;
	}
	static const char *const empty_ok[] = { "continuing_subword_prefix", "end_of_word_suffix" };
	for (int i = 0; i < 2; i++)
		if ((x = wn_jtree_get(&jt, model, empty_ok[i])) && x->type == WN_JT_STR && x->slen) {
			rc = fail(err, errlen, "%s: model.%s is not supported", path, empty_ok[i]);
			goto out;
		}
	if ((x = wn_jtree_get(&jt, model, "byte_fallback")) && x->type == WN_JT_BOOL && x->b) {
		rc = fail(err, errlen, "%s: byte_fallback models are not byte-level BPE", path);
		goto out;
	}
	x = wn_jtree_get(&jt, model, "ignore_merges");
	b->ignore_merges = x && x->type == WN_JT_BOOL && x->b;

	/* added tokens: special, matched before pre-tokenisation */
	const wn_jnode *added = wn_jtree_get(&jt, root, "added_tokens");
	if (added && added->type == WN_JT_ARR)
		for (size_t c = 0; c < added->count && !rc; c++) {
			const wn_jnode *a = wn_jtree_child(&jt, added, c);
			const wn_jnode *id = wn_jtree_get(&jt, a, "id"), *ct = wn_jtree_get(&jt, a, "content");
			if (!id || id->type != WN_JT_NUM || !id->is_int || id->i < 0 || !ct || ct->type != WN_JT_STR ||
			    !ct->slen || memchr(ct->s, 0, ct->slen)) {
				rc = fail(err, errlen, "%s: added_tokens[%zu] needs an id and a content", path, c);
				break;
			}
			wn_bpe_special_def d = { ct->s, (uint32_t)id->i };
			rc = add_specials(b, &d, 1, err, errlen);
		}
	if (rc) goto out;

	/* pre-tokenizer: ByteLevel (GPT-2's pattern), or Split + ByteLevel */
	const char *pat = NULL;
	const wn_jnode *pt = wn_jtree_get(&jt, root, "pre_tokenizer");
	const wn_jnode *list[8];
	int nl = 0;
	if (pt && wn_jtree_str_is(wn_jtree_get(&jt, pt, "type"), "Sequence")) {
		const wn_jnode *ps = wn_jtree_get(&jt, pt, "pretokenizers");
		for (size_t c = 0; ps && ps->type == WN_JT_ARR && c < ps->count && nl < 8; c++)
			list[nl++] = wn_jtree_child(&jt, ps, c);
	} else if (pt && pt->type == WN_JT_OBJ) {
		list[nl++] = pt;
	}
	int bytelevel = 0;
	for (int i = 0; i < nl && !rc; i++) {
		const wn_jnode *ty = wn_jtree_get(&jt, list[i], "type");
		if (wn_jtree_str_is(ty, "ByteLevel")) {
			bytelevel = 1;
			if ((x = wn_jtree_get(&jt, list[i], "add_prefix_space")) && x->type == WN_JT_BOOL && x->b)
				rc = fail(err, errlen, "%s: add_prefix_space is not supported", path);
			x = wn_jtree_get(&jt, list[i], "use_regex");
			if (!x || (x->type == WN_JT_BOOL && x->b)) {
				if (pat) rc = fail(err, errlen, "%s: two pre-tokenizer patterns", path);
				pat = PAT_R50K;
			}
		} else if (wn_jtree_str_is(ty, "Split")) {
			const wn_jnode *p = wn_jtree_get(&jt, list[i], "pattern");
			const wn_jnode *re = wn_jtree_get(&jt, p, "Regex");
			const wn_jnode *beh = wn_jtree_get(&jt, list[i], "behavior");
			const wn_jnode *inv = wn_jtree_get(&jt, list[i], "invert");
			int invert = inv && inv->type == WN_JT_BOOL && inv->b;
			if (!re || re->type != WN_JT_STR || pat) {
				rc = fail(err, errlen, "%s: only one Split with a Regex pattern is supported", path);
			} else if (wn_jtree_str_is(beh, "Isolated") && !invert) {
				b->split = SPLIT_ISOLATED;
				pat = re->s;
			} else if (wn_jtree_str_is(beh, "Removed") && invert) {
				b->split = SPLIT_REMOVED;
				pat = re->s;
			} else {
				rc = fail(err, errlen, "%s: Split behaviour other than Isolated (or Removed, inverted) is "
					  "not supported", path);
			}
		} else {
			rc = fail(err, errlen, "%s: pre-tokenizer %.*s is not supported", path,
				  ty && ty->type == WN_JT_STR ? (int)ty->slen : 1, ty && ty->type == WN_JT_STR ? ty->s : "?");
		}
	}
	if (rc) goto out;
	if (!bytelevel) {
		rc = fail(err, errlen, "%s: not a byte-level tokenizer (no ByteLevel pre-tokenizer)", path);
		goto out;
	}
	if (o && o->pattern) pat = o->pattern;
	if (!pat) {
		rc = fail(err, errlen, "%s: no pre-tokenisation pattern", path);
		goto out;
	}
	if ((rc = compile_pattern(b, pat, err, errlen))) goto out;

	if ((rc = load_bl_vocab(b, t, &jt, wn_jtree_get(&jt, model, "vocab"), path, err, errlen))) goto out;
	if ((rc = place_specials(b, t, err, errlen))) goto out;
	tb_finish(b, t);
	memset(t, 0, sizeof *t);
	if ((rc = build_bytes_table(b, path, err, errlen))) goto out;
	const wn_jnode *merges = wn_jtree_get(&jt, model, "merges");
	if (!merges || merges->type != WN_JT_ARR) {
		rc = fail(err, errlen, "%s: no merges", path);
		goto out;
	}
	pairs_alloc(b, merges->count);
	for (size_t c = 0; c < merges->count && !rc; c++) {
		const wn_jnode *m = wn_jtree_child(&jt, merges, c);
		snprintf(where, sizeof where, "%s: merges[%zu]", path, c);
		if (m->type == WN_JT_STR) {
			const char *sp = memchr(m->s, ' ', m->slen);
			if (!sp) {
				rc = fail(err, errlen, "%s: no space", where);
				break;
			}
			rc = add_merge(b, m->s, (size_t)(sp - m->s), sp + 1, m->slen - (size_t)(sp - m->s) - 1,
				       (uint32_t)c, where, err, errlen);
		} else if (m->type == WN_JT_ARR && m->count == 2 &&
			   wn_jtree_child(&jt, m, 0)->type == WN_JT_STR && wn_jtree_child(&jt, m, 1)->type == WN_JT_STR) {
			const wn_jnode *l = wn_jtree_child(&jt, m, 0), *r = wn_jtree_child(&jt, m, 1);
			rc = add_merge(b, l->s, l->slen, r->s, r->slen, (uint32_t)c, where, err, errlen);
		} else {
			rc = fail(err, errlen, "%s: a merge is a string \"A B\" or a pair of strings", where);
		}
	}
out:
	wn_jtree_free(&jt);
	return rc;
}

/* GPT-2: encoder.json and vocab.bpe beside it. */
static int load_gpt2(wn_bpe *b, tokbuild *t, const char *path, const wn_bpe_load_opts *o, char *err,
		     size_t errlen)
{
	wn_jtree jt;
	if (read_json(path, &jt, err, errlen)) return -1;
	int rc = 0;
	wn_bpe_special_def eot = { "<|endoftext|>", 0 };
	const wn_jnode *root = &jt.n[0], *e = wn_jtree_get(&jt, root, "<|endoftext|>");
	if (e && e->type == WN_JT_NUM && e->is_int && e->i >= 0) {
		eot.id = (uint32_t)e->i;
		rc = add_specials(b, &eot, 1, err, errlen);
	}
	if (!rc) rc = load_bl_vocab(b, t, &jt, root, path, err, errlen);
	wn_jtree_free(&jt);
	if (!rc) rc = place_specials(b, t, err, errlen);
	if (rc) return rc;
	tb_finish(b, t);
	memset(t, 0, sizeof *t);
	if ((rc = build_bytes_table(b, path, err, errlen))) return rc;
	rc = compile_pattern(b, o && o->pattern ? o->pattern : PAT_R50K, err, errlen);
	if (rc) return rc;

	char bpe[4096];
	const char *slash = strrchr(path, '/');
	snprintf(bpe, sizeof bpe, "%.*svocab.bpe", slash ? (int)(slash - path + 1) : 0, path);
	wn_buf f;
	wn_buf_init(&f, 0);
	if (wn_buf_read_file(&f, bpe)) {
		int er = errno;
		wn_buf_release(&f);
		return fail(err, errlen, "%s: %s (GPT-2's merges, beside encoder.json)", bpe, strerror(er));
	}
	pairs_alloc(b, 65536);
	const char *s = f.data, *end = f.data + f.len;
	size_t line = 0;
	uint32_t prio = 0;
	char where[4200];
	while (s < end && !rc) {
		line++;
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *le = nl ? nl : end;
		if (le > s && le[-1] == '\r') le--;
		if (le > s && !(line == 1 && *s == '#')) {
			const char *sp = memchr(s, ' ', (size_t)(le - s));
			snprintf(where, sizeof where, "%s:%zu", bpe, line);
			if (!sp) rc = fail(err, errlen, "%s: not a merge \"A B\"", where);
			else rc = add_merge(b, s, (size_t)(sp - s), sp + 1, (size_t)(le - sp - 1), prio++, where, err, errlen);
		}
		s = nl ? nl + 1 : end;
	}
	wn_buf_release(&f);
	return rc;
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && !strcmp(s + n - k, suf);
}

wn_bpe *wn_bpe_load(const char *spec, const wn_bpe_load_opts *o, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, bytelevel_init);
	pthread_once(&ranges_once, new_ranges_init);
	wn_bpe *b = wn_calloc(1, sizeof *b);
	tokbuild t;
	memset(&t, 0, sizeof t);
	wn_buf_init(&t.bytes, 0);
	int rc = 0;
	const struct named *nm = NULL;
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		if (!strcmp(spec, named[i].name)) nm = &named[i];
	if (o && o->nspecial && (rc = add_specials(b, o->special, o->nspecial, err, errlen))) goto fail;

	if (nm || !(ends_with(spec, ".json"))) {
		char path[4096], dir[4000];
		b->sem = SEM_RANKS;
		if (nm) {
			wn_bpe_data_dir(dir, sizeof dir);
			snprintf(path, sizeof path, "%s/%s", dir, nm->file);
			if ((rc = add_specials(b, nm->spec, nm->nspec, err, errlen))) goto fail;
		} else {
			snprintf(path, sizeof path, "%s", spec);
		}
		if ((rc = load_rank_file(b, &t, path, err, errlen))) {
			if (nm && errno == ENOENT)
				snprintf(err + strlen(err), errlen - strlen(err),
					 " (fetch it with scripts/fetch-data.sh tokenizers)");
			goto fail;
		}
		if ((rc = place_specials(b, &t, err, errlen))) goto fail;
		tb_finish(b, &t);
		memset(&t, 0, sizeof t);
		if ((rc = build_bytes_table(b, path, err, errlen))) goto fail;
		build_rank_pairs(b);
		const char *pat = o && o->pattern ? o->pattern : nm ? nm->pattern : PAT_CL100K;
		if ((rc = compile_pattern(b, pat, err, errlen))) goto fail;
		snprintf(b->desc, sizeof b->desc, "%.90s (rank file %.400s)", nm ? nm->name : spec, path);
	} else if (ends_with(spec, "encoder.json")) {
		b->sem = SEM_MERGES;
		if ((rc = load_gpt2(b, &t, spec, o, err, errlen))) goto fail;
		snprintf(b->desc, sizeof b->desc, "GPT-2 encoder.json + vocab.bpe (%.400s)", spec);
	} else {
		b->sem = SEM_MERGES;
		if ((rc = load_hf(b, &t, spec, o, err, errlen))) goto fail;
		snprintf(b->desc, sizeof b->desc, "Hugging Face tokenizer %.400s", spec);
	}
	if (o && o->plain_regex) b->fast = FAST_NONE;
	return b;
fail:
	free(t.off);
	free(t.len);
	wn_buf_release(&t.bytes);
	wn_bpe_free(b);
	return NULL;
}

wn_bpe *wn_bpe_splitter(const char *pattern, char *err, size_t errlen)
{
	pthread_once(&ranges_once, new_ranges_init);
	wn_bpe *b = wn_calloc(1, sizeof *b);
	if (compile_pattern(b, pattern, err, errlen)) {
		wn_bpe_free(b);
		return NULL;
	}
	snprintf(b->desc, sizeof b->desc, "pattern %.400s", pattern);
	return b;
}

void wn_bpe_free(wn_bpe *b)
{
	if (!b) return;
	free(b->off);
	free(b->len);
	free(b->bytes);
	free(b->tab);
	free(b->pairs);
	for (int i = 0; i < b->nspec; i++) free(b->spec[i].text);
	free(b->spec);
	if (b->re) pcre2_code_free(b->re);
	if (b->re_ext) pcre2_code_free(b->re_ext);
	free(b->pattern);
	free(b);
}

uint32_t wn_bpe_n_vocab(const wn_bpe *b) { return b->ntok; }

const char *wn_bpe_token(const wn_bpe *b, uint32_t id, size_t *len)
{
	if (id >= b->ntok || !b->len[id]) return NULL;
	*len = b->len[id];
	return b->bytes + b->off[id];
}

int64_t wn_bpe_special_id(const wn_bpe *b, const char *text)
{
	for (int i = 0; i < b->nspec; i++)
		if (!strcmp(b->spec[i].text, text)) return b->spec[i].id;
	return -1;
}

int64_t wn_bpe_eos(const wn_bpe *b)
{
	int64_t id = wn_bpe_special_id(b, "<|endoftext|>");
	return id >= 0 ? id : wn_bpe_special_id(b, "</s>");
}

const char *wn_bpe_pattern_of(const wn_bpe *b) { return b->pattern; }
const char *wn_bpe_describe(const wn_bpe *b) { return b->desc; }

/* ---- encoding ---- */

struct cache_slot {
	uint64_t h;
	uint8_t klen, ntok;
	char key[CACHE_KEY];
	uint32_t tok[CACHE_TOK];
};

struct hent {
	uint32_t prio, pos; /* pos: the left node */
	uint32_t l, r;      /* the ids the pair had */
};

struct wn_bpe_state {
	const wn_bpe *b;
	pcre2_match_data *md;
	struct cache_slot *cache;
	/* the long-piece path */
	uint32_t *id, *nx, *pv;
	struct hent *heap;
	size_t cap;
};

wn_bpe_state *wn_bpe_state_new(const wn_bpe *b)
{
	wn_bpe_state *st = wn_calloc(1, sizeof *st);
	st->b = b;
	st->md = pcre2_match_data_create_from_pattern(b->re_ext, NULL);
	if (!st->md) wn_die_oom();
	st->cache = wn_calloc(CACHE_SLOTS, sizeof *st->cache);
	return st;
}

void wn_bpe_state_free(wn_bpe_state *st)
{
	if (!st) return;
	pcre2_match_data_free(st->md);
	free(st->cache);
	free(st->id);
	free(st->nx);
	free(st->pv);
	free(st->heap);
	free(st);
}

static inline uint32_t pair_prio(const wn_bpe *b, uint32_t l, uint32_t r, uint32_t *res)
{
	uint64_t key = ((uint64_t)l << 32 | r) + 1;
	for (uint64_t i = mix64(key) & b->pmask;; i = (i + 1) & b->pmask) {
		const struct pair_ent *e = &b->pairs[i];
		if (e->key == key) {
			*res = e->res;
			return e->prio;
		}
		if (!e->key) return NONE;
	}
}

/* Pieces of up to SMALL bytes: an array of ids and of the priorities of
 * the pairs they form. */
static size_t merge_small(const wn_bpe *b, const unsigned char *p, size_t n, uint32_t *id)
{
	uint32_t pr[SMALL], rs[SMALL];
	for (size_t i = 0; i < n; i++) id[i] = b->byte_tok[p[i]];
	size_t m = n;
	for (size_t i = 0; i + 1 < m; i++) pr[i] = pair_prio(b, id[i], id[i + 1], &rs[i]);
	while (m > 1) {
		uint32_t best = NONE;
		size_t at = 0;
		for (size_t i = 0; i + 1 < m; i++)
			if (pr[i] < best) {
				best = pr[i];
				at = i;
			}
		if (best == NONE) break;
		id[at] = rs[at];
		memmove(id + at + 1, id + at + 2, (m - at - 2) * sizeof *id);
		memmove(pr + at + 1, pr + at + 2, (m - at - 2) * sizeof *pr);
		memmove(rs + at + 1, rs + at + 2, (m - at - 2) * sizeof *rs);
		m--;
		if (at > 0) pr[at - 1] = pair_prio(b, id[at - 1], id[at], &rs[at - 1]);
		if (at + 1 < m) pr[at] = pair_prio(b, id[at], id[at + 1], &rs[at]);
	}
	return m;
}

static inline int hent_less(const struct hent *a, const struct hent *c)
{
	return a->prio < c->prio || (a->prio == c->prio && a->pos < c->pos);
}

static void heap_push(struct hent *h, size_t *n, struct hent e)
{
	size_t i = (*n)++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!hent_less(&e, &h[p])) break;
		h[i] = h[p];
		i = p;
	}
	h[i] = e;
}

static struct hent heap_pop(struct hent *h, size_t *n)
{
	struct hent top = h[0], last = h[--*n];
	size_t i = 0, m = *n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m) break;
		if (c + 1 < m && hent_less(&h[c + 1], &h[c])) c++;
		if (!hent_less(&h[c], &last)) break;
		h[i] = h[c];
		i = c;
	}
	if (m) h[i] = last;
	return top;
}

/* Long pieces: a linked list and a heap of candidate pairs; a popped pair
 * whose nodes changed since it was pushed is skipped. */
static void merge_long(wn_bpe_state *st, const unsigned char *p, size_t n, wn_ids *out)
{
	const wn_bpe *b = st->b;
	if (n > st->cap) {
		st->cap = n;
		st->id = wn_realloc(st->id, n * sizeof *st->id);
		st->nx = wn_realloc(st->nx, n * sizeof *st->nx);
		st->pv = wn_realloc(st->pv, n * sizeof *st->pv);
		st->heap = wn_realloc(st->heap, n * 2 * sizeof *st->heap);
	}
	uint32_t *id = st->id, *nx = st->nx, *pv = st->pv;
	struct hent *h = st->heap;
	size_t hn = 0;
	for (size_t i = 0; i < n; i++) {
		id[i] = b->byte_tok[p[i]];
		nx[i] = i + 1 < n ? (uint32_t)(i + 1) : NONE;
		pv[i] = i ? (uint32_t)(i - 1) : NONE;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t res, pr = pair_prio(b, id[i], id[i + 1], &res);
		if (pr != NONE) heap_push(h, &hn, (struct hent){ pr, (uint32_t)i, id[i], id[i + 1] });
	}
	while (hn) {
		struct hent e = heap_pop(h, &hn);
		uint32_t i = e.pos, j = nx[i];
		if (id[i] != e.l || j == NONE || id[j] != e.r) continue; /* stale */
		uint32_t res = 0;
		pair_prio(b, e.l, e.r, &res);
		id[i] = res;
		id[j] = NONE; /* dead */
		nx[i] = nx[j];
		if (nx[j] != NONE) pv[nx[j]] = i;
		uint32_t r2, pr;
		if (pv[i] != NONE && (pr = pair_prio(b, id[pv[i]], id[i], &r2)) != NONE)
			heap_push(h, &hn, (struct hent){ pr, pv[i], id[pv[i]], id[i] });
		if (nx[i] != NONE && (pr = pair_prio(b, id[i], id[nx[i]], &r2)) != NONE)
			heap_push(h, &hn, (struct hent){ pr, i, id[i], id[nx[i]] });
	}
	for (uint32_t i = 0; i != NONE; i = nx[i]) wn_ids_push(out, id[i]);
}

static void encode_piece(wn_bpe_state *st, const char *piece, size_t n, wn_ids *out)
{
	const wn_bpe *b = st->b;
	const unsigned char *p = (const unsigned char *)piece;
	if (n == 1) {
		wn_ids_push(out, b->byte_tok[p[0]]);
		return;
	}
	uint64_t h = wn_hash64(piece, n, 0);
	if (b->sem == SEM_RANKS || b->ignore_merges) {
		uint32_t t = lookup_bytes(b, piece, n, h);
		if (t != NONE) {
			wn_ids_push(out, t);
			return;
		}
	}
	if (n <= CACHE_KEY) {
		struct cache_slot *c = &st->cache[(h >> 20) & (CACHE_SLOTS - 1)];
		if (c->h == h && c->klen == n && !memcmp(c->key, piece, n)) {
			for (int i = 0; i < c->ntok; i++) wn_ids_push(out, c->tok[i]);
			return;
		}
		uint32_t id[SMALL];
		size_t m = merge_small(b, p, n, id);
		for (size_t i = 0; i < m; i++) wn_ids_push(out, id[i]);
		if (m <= CACHE_TOK) {
			c->h = h;
			c->klen = (uint8_t)n;
			c->ntok = (uint8_t)m;
			memcpy(c->key, piece, n);
			memcpy(c->tok, id, m * sizeof *id);
		}
		return;
	}
	if (n <= SMALL) {
		uint32_t id[SMALL];
		size_t m = merge_small(b, p, n, id);
		for (size_t i = 0; i < m; i++) wn_ids_push(out, id[i]);
		return;
	}
	merge_long(st, p, n, out);
}

/* The length of the UTF-8 character (or invalid byte) at s. */
static size_t char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
	if (l > n) l = 1;
	for (size_t k = 1; k < l; k++)
		if ((s[k] & 0xc0) != 0x80) return 1;
	return l;
}

typedef void (*piece_fn)(void *arg, const char *piece, size_t len);

/* Pre-tokenise: every match a piece, and the text between matches one
 * piece (Isolated) or nothing (Removed). */
static void split_text(wn_bpe_state *st, const char *text, size_t n, piece_fn fn, void *arg)
{
	const wn_bpe *b = st->b;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
	size_t pos = 0, gap = 0;
	const pcre2_code *re = has_new_chars((const unsigned char *)text, n) ? b->re_ext : b->re;
	const unsigned char *u = (const unsigned char *)text;
	while (pos < n) {
		if (b->fast && pos == gap) {
			size_t e = b->fast == FAST_CL100K ? fast_cl100k(u, n, pos) : fast_r50k(u, n, pos);
			if (e > pos) {
				fn(arg, text + pos, e - pos);
				pos = gap = e;
				continue;
			}
		}
		int rc = b->jit ? pcre2_jit_match(re, (PCRE2_SPTR)text, n, pos, 0, st->md, NULL)
				: pcre2_match(re, (PCRE2_SPTR)text, n, pos, 0, st->md, NULL);
		if (rc < 0) break;
		size_t s = ov[0], e = ov[1];
		if (e == s) { /* an empty match: the character is not matched */
			pos = s + char_len((const unsigned char *)text + s, n - s);
			continue;
		}
		if (s > gap && b->split == SPLIT_ISOLATED) fn(arg, text + gap, s - gap);
		fn(arg, text + s, e - s);
		pos = gap = e;
	}
	if (n > gap && b->split == SPLIT_ISOLATED) fn(arg, text + gap, n - gap);
}

struct enc_arg {
	wn_bpe_state *st;
	wn_ids *out;
};

static void enc_cb(void *arg, const char *piece, size_t len)
{
	struct enc_arg *a = arg;
	encode_piece(a->st, piece, len, a->out);
}

void wn_bpe_split(wn_bpe_state *st, const char *text, size_t n, piece_fn fn, void *arg)
{
	split_text(st, text, n, fn, arg);
}

void wn_bpe_encode(wn_bpe_state *st, const char *text, size_t n, int allow_special, wn_ids *out)
{
	const wn_bpe *b = st->b;
	struct enc_arg a = { st, out };
	if (!allow_special || !b->nspec) {
		split_text(st, text, n, enc_cb, &a);
		return;
	}
	/* the leftmost special token (longest of those starting there) */
	size_t pos = 0;
	while (pos < n) {
		size_t best = n, blen = 0;
		uint32_t bid = 0;
		for (int i = 0; i < b->nspec; i++) {
			const struct special *s = &b->spec[i];
			const char *f = memmem(text + pos, n - pos, s->text, s->len);
			if (!f) continue;
			size_t at = (size_t)(f - text);
			if (at < best || (at == best && s->len > blen)) {
				best = at;
				blen = s->len;
				bid = s->id;
			}
		}
		split_text(st, text + pos, best - pos, enc_cb, &a);
		if (best == n) break;
		wn_ids_push(out, bid);
		pos = best + blen;
	}
}

int wn_bpe_decode(const wn_bpe *b, const uint32_t *ids, size_t n, wn_buf *out, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id >= b->ntok || !b->len[id]) {
			if (bad) *bad = i;
			return -1;
		}
		wn_buf_add(out, b->bytes + b->off[id], b->len[id]);
	}
	return 0;
}
