/*
 * shingle.c - dedup's normalisation, tokens and shingles (rules in dedup.h).
 *
 * Normalising a code point (NFKD, case fold, marks dropped, decimal digits
 * to 0, anything not a letter or digit to a separator) goes through
 * utf8proc once per BMP code point: a table built on first use maps each
 * to its class and the UTF-8 of its normalised form (at most 11 bytes; the
 * few longer expansions, and code points past the BMP, take utf8proc at
 * run time).  ASCII has its own 128-entry table.
 *
 * One pass writes the normalised text and the span of every token in it;
 * a token's hash is XXH3-64 of its span, a shingle's XXH3-64 of N token
 * hashes.
 */
#include <opencc/opencc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <xxhash.h>

#include "dedup.h"
#include "../lib/err.h"

enum { K_SEP = 0, K_WORD = 1, K_UNSPACED = 2, K_LONG = 3 };

typedef struct nmap {
	uint8_t kind;    /* K_* */
	uint8_t len;     /* bytes of out */
	char out[14];    /* normalised UTF-8 */
} nmap;

static nmap *bmp;
static pthread_once_t bmp_once = PTHREAD_ONCE_INIT;

static int unspaced_script(uint32_t c)
{
	return (c >= 0x2e80 && c <= 0x2fdf) || (c >= 0x3005 && c <= 0x3007) ||
	       (c >= 0x3021 && c <= 0x3029) || (c >= 0x3038 && c <= 0x303b) ||
	       (c >= 0x3040 && c <= 0x30ff) || (c >= 0x31f0 && c <= 0x31ff) ||
	       (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
	       (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff66 && c <= 0xff9f) ||
	       (c >= 0x0e00 && c <= 0x0eff) ||  /* Thai, Lao */
	       (c >= 0x0f00 && c <= 0x0fff) ||  /* Tibetan */
	       (c >= 0x1000 && c <= 0x109f) ||  /* Myanmar */
	       (c >= 0x1780 && c <= 0x17ff) ||  /* Khmer */
	       (c >= 0x20000 && c <= 0x3ffff);  /* Han extensions */
}

/* The normalised form of one code point: its class and UTF-8 in out
 * (cap bytes); returns the bytes needed (more than cap: K_LONG). */
static size_t norm_cp(uint32_t c, uint8_t *kind, char *out, size_t cap)
{
	utf8proc_int32_t d[32];
	utf8proc_ssize_t m = utf8proc_decompose_char(
		(utf8proc_int32_t)c, d, 32,
		UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK, NULL);
	*kind = K_SEP;
	if (m <= 0 || m > 32) return 0;
	size_t len = 0;
	int unspaced = 0, any = 0;
	for (utf8proc_ssize_t i = 0; i < m; i++) {
		utf8proc_int32_t x = d[i];
		utf8proc_category_t cat = utf8proc_category(x);
		if (cat == UTF8PROC_CATEGORY_ND) x = '0';
		else if (!(cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) &&
			 cat != UTF8PROC_CATEGORY_NL && cat != UTF8PROC_CATEGORY_NO)
			continue;  /* a mark left after decomposition, or a symbol */
		uint8_t u[4];
		utf8proc_ssize_t k = utf8proc_encode_char(x, u);
		if (len + (size_t)k <= cap) memcpy(out + len, u, (size_t)k);
		len += (size_t)k;
		any = 1;
		if (unspaced_script((uint32_t)x)) unspaced = 1;
	}
	if (!any) return 0;
	*kind = unspaced ? K_UNSPACED : K_WORD;
	return len;
}

/* The BMP code point of one 3-byte UTF-8 character, or 0. */
static uint32_t one_cp3(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n != 3 || (u[0] & 0xf0) != 0xe0) return 0;
	return ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
}

static int han_bmp(uint32_t c)
{
	return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff);
}

/*
 * Traditional to Simplified, one character at a time: OpenCC's t2s
 * converts every Han character of the BMP once, each on a line of its
 * own (so no phrase spans two), and a character becomes the one character
 * it converts to, chains followed to their end.  What comes out is folded
 * into the table, so the text pays nothing for it.  OpenCC's phrase
 * conversions (a word written with other characters) are left out: they
 * change a shingle, not a character, and are not needed to match the same
 * text in both scripts character by character.
 */
static char t2s_err[256];   /* why the fold is missing, "" when it is there */

static void fold_t2s(void)
{
	opencc_t cc = opencc_open("t2s.json");
	if (cc == (opencc_t)-1) {
		snprintf(t2s_err, sizeof t2s_err,
			 "OpenCC cannot load t2s.json (%s): install libopencc-data", opencc_error());
		return;
	}
	wn_buf in = WN_BUF_INIT;
	for (uint32_t c = 0x3400; c <= 0x9fff; c++) {
		if (!han_bmp(c)) continue;
		uint8_t u[4];
		utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)c, u);
		wn_buf_add(&in, u, (size_t)k);
		wn_buf_addc(&in, '\n');
	}
	char *out = opencc_convert_utf8(cc, in.data, in.len);
	if (!out) {
		snprintf(t2s_err, sizeof t2s_err, "OpenCC failed: %s", opencc_error());
		opencc_close(cc);
		wn_buf_release(&in);
		return;
	}
	uint16_t *to = wn_calloc(65536, sizeof *to);
	const char *p = out;
	for (uint32_t c = 0x3400; c <= 0x9fff; c++) {
		if (!han_bmp(c)) continue;
		const char *e = strchr(p, '\n');
		if (!e) break;  /* a line lost: keep the characters as they are */
		uint32_t x = one_cp3(p, (size_t)(e - p));
		if (x && x != c && han_bmp(x)) to[c] = (uint16_t)x;
		p = e + 1;
	}
	opencc_convert_utf8_free(out);
	opencc_close(cc);
	wn_buf_release(&in);
	for (uint32_t c = 0; c < 65536; c++) {
		if (bmp[c].kind != K_UNSPACED) continue;
		uint32_t h = one_cp3(bmp[c].out, bmp[c].len);
		if (!h || !to[h]) continue;
		for (int k = 0; k < 8 && to[h]; k++) h = to[h];
		utf8proc_encode_char((utf8proc_int32_t)h, (uint8_t *)bmp[c].out);
	}
	free(to);
}

static void bmp_init(void)
{
	bmp = wn_calloc(65536, sizeof *bmp);
	for (uint32_t c = 0; c < 65536; c++) {
		if (c >= 0xd800 && c <= 0xdfff) continue;
		uint8_t kind;
		size_t len = norm_cp(c, &kind, bmp[c].out, sizeof bmp[c].out);
		if (len > sizeof bmp[c].out) {
			bmp[c].kind = K_LONG;
		} else {
			bmp[c].kind = kind;
			bmp[c].len = (uint8_t)len;
		}
	}
	fold_t2s();
}

int dd_norm_init(char *err, size_t errlen)
{
	pthread_once(&bmp_once, bmp_init);
	if (!t2s_err[0]) return 0;
	snprintf(err, errlen, "%s", t2s_err);
	return WN_EIO;
}

/* Decode one code point at s[i] of n; invalid bytes decode as U+FFFD, one
 * byte long (a separator). */
static inline uint32_t decode(const unsigned char *s, size_t i, size_t n, size_t *len)
{
	unsigned c = s[i];
	if (c >= 0xc2 && c < 0xe0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
		*len = 2;
		return ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
	}
	if (c >= 0xe0 && c < 0xf0 && i + 2 < n && (s[i + 1] & 0xc0) == 0x80 &&
	    (s[i + 2] & 0xc0) == 0x80) {
		uint32_t v = ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
		if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) {
			*len = 3;
			return v;
		}
	}
	if (c >= 0xf0 && c < 0xf5 && i + 3 < n && (s[i + 1] & 0xc0) == 0x80 &&
	    (s[i + 2] & 0xc0) == 0x80 && (s[i + 3] & 0xc0) == 0x80) {
		uint32_t v = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) |
			     ((s[i + 2] & 0x3fu) << 6) | (s[i + 3] & 0x3fu);
		if (v >= 0x10000 && v <= 0x10ffff) {
			*len = 4;
			return v;
		}
	}
	*len = 1;
	return 0xfffd;
}

/* ASCII: lower case letters, 0 for digits, 0 for a separator */
static const char ascii_map[128] = {
	['0'] = '0', ['1'] = '0', ['2'] = '0', ['3'] = '0', ['4'] = '0',
	['5'] = '0', ['6'] = '0', ['7'] = '0', ['8'] = '0', ['9'] = '0',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
	['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
	['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
	['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l',
	['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
	['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z',
};

typedef struct span {
	uint32_t off, len;
} span;

struct dd_shingler {
	int ngram;
	uint64_t seed;
	wn_buf norm;          /* normalised text */
	span *tok;            /* token spans in norm */
	size_t ntok, captok;
	uint64_t *th, *sh;    /* token and shingle hashes */
	size_t nsh, cap;
	uint32_t *set;        /* distinct fingerprints, sorted */
	size_t capset;
};

static inline void add_tok(dd_shingler *z, size_t off, size_t len)
{
	if (z->ntok == z->captok) {
		z->captok = z->captok ? 2 * z->captok : 1024;
		z->tok = wn_realloc(z->tok, sizeof *z->tok * z->captok);
	}
	z->tok[z->ntok].off = (uint32_t)off;
	z->tok[z->ntok].len = (uint32_t)len;
	z->ntok++;
}

/* The normaliser's state: in_word while a spaced token is open (starting
 * at wstart); sep when a separator was seen since the last output; base
 * where this text's output starts. */
typedef struct nstate {
	size_t base, wstart;
	int in_word, sep;
} nstate;

static inline void end_word(dd_shingler *z, nstate *st, const wn_buf *out)
{
	if (st->in_word && z) add_tok(z, st->wstart, out->len - st->wstart);
	st->in_word = 0;
}

/* Before output: one space for the separators seen (none at the start). */
static inline void put_space(nstate *st, wn_buf *out)
{
	if (st->sep && out->len > st->base) wn_buf_addc(out, ' ');
	st->sep = 0;
}

static inline void open_word(nstate *st, wn_buf *out)
{
	if (st->in_word) return;
	put_space(st, out);
	st->in_word = 1;
	st->wstart = out->len;
}

/* Normalise s into out and, when z is not NULL, record token spans. */
static void normalize(dd_shingler *z, const char *text, size_t n, wn_buf *out)
{
	pthread_once(&bmp_once, bmp_init);
	const unsigned char *s = (const unsigned char *)text;
	nstate st = { out->len, 0, 0, 0 };
	char tmp[64];
	for (size_t i = 0; i < n;) {
		unsigned b = s[i];
		const char *o;
		size_t olen, l;
		uint8_t kind;
		if (b < 0x80 && ascii_map[b]) {
			/* a run of ASCII letters and digits */
			open_word(&st, out);
			size_t j = i;
			while (j < n && s[j] < 0x80 && ascii_map[s[j]]) j++;
			wn_buf_grow(out, j - i);
			char *w = out->data + out->len;
			for (size_t k = i; k < j; k++) *w++ = ascii_map[s[k]];
			out->len += j - i;
			out->data[out->len] = 0;
			i = j;
			continue;
		}
		if (b < 0x80) {
			kind = K_SEP;
			o = NULL;
			olen = 0;
			l = 1;
		} else {
			uint32_t c = decode(s, i, n, &l);
			if (c < 65536 && bmp[c].kind != K_LONG) {
				kind = bmp[c].kind;
				o = bmp[c].out;
				olen = bmp[c].len;
			} else {
				olen = norm_cp(c, &kind, tmp, sizeof tmp);
				if (olen > sizeof tmp) { kind = K_SEP; olen = 0; }
				o = tmp;
			}
		}
		i += l;
		if (kind == K_SEP) {
			end_word(z, &st, out);
			st.sep = 1;
		} else if (kind == K_UNSPACED) {
			end_word(z, &st, out);
			put_space(&st, out);
			size_t at = out->len;
			wn_buf_add(out, o, olen);
			if (z) add_tok(z, at, olen);
		} else {
			open_word(&st, out);
			wn_buf_add(out, o, olen);
		}
	}
	end_word(z, &st, out);
}

void dd_normalize(const char *s, size_t n, wn_buf *out)
{
	normalize(NULL, s, n, out);
}

dd_shingler *dd_shingler_new(int ngram, uint64_t seed)
{
	dd_shingler *z = wn_calloc(1, sizeof *z);
	z->ngram = ngram < 1 ? 1 : ngram;
	z->seed = seed;
	wn_buf_init(&z->norm, 0);
	return z;
}

void dd_shingler_free(dd_shingler *z)
{
	if (!z) return;
	wn_buf_release(&z->norm);
	free(z->tok);
	free(z->th);
	free(z->sh);
	free(z->set);
	free(z);
}

size_t dd_shingles(dd_shingler *z, const char *s, size_t n, const uint64_t **out)
{
	wn_buf_reset(&z->norm);
	z->ntok = 0;
	normalize(z, s, n, &z->norm);
	size_t nt = z->ntok, g = (size_t)z->ngram;
	if (nt > z->cap) {
		z->cap = nt + nt / 2;
		free(z->th);
		free(z->sh);
		z->th = wn_malloc(sizeof *z->th * z->cap);
		z->sh = wn_malloc(sizeof *z->sh * z->cap);
	}
	const char *d = z->norm.data;
	for (size_t i = 0; i < nt; i++) z->th[i] = XXH3_64bits(d + z->tok[i].off, z->tok[i].len);
	size_t m = nt == 0 ? 0 : nt < g ? 1 : nt - g + 1;
	size_t w = nt < g ? nt : g;
	for (size_t i = 0; i < m; i++) z->sh[i] = XXH3_64bits_withSeed(z->th + i, w * 8, z->seed);
	z->nsh = m;
	*out = z->sh;
	return m;
}

size_t dd_shingler_tokens(const dd_shingler *z) { return z->ntok; }

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

size_t dd_shingle_set(dd_shingler *z, const uint32_t **out)
{
	if (z->nsh > z->capset) {
		z->capset = z->nsh + z->nsh / 2;
		free(z->set);
		z->set = wn_malloc(sizeof *z->set * z->capset);
	}
	for (size_t i = 0; i < z->nsh; i++) z->set[i] = (uint32_t)(z->sh[i] >> 32);
	qsort(z->set, z->nsh, sizeof *z->set, cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < z->nsh; i++)
		if (!k || z->set[i] != z->set[k - 1]) z->set[k++] = z->set[i];
	*out = z->set;
	return k;
}

double dd_jaccard(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	if (!na && !nb) return 1.0;
	size_t i = 0, j = 0, inter = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j]) i++;
		else if (a[i] > b[j]) j++;
		else { inter++; i++; j++; }
	}
	return (double)inter / (double)(na + nb - inter);
}
