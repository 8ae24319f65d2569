/*
 * textnorm.c - the text normaliser; textnorm.h explains the rules, their
 * order and why the result is a fixpoint.
 *
 * Layout: the code point classes (one table built once per process), the
 * character reference decoder, then the passes in the order they run:
 * U (utf8), C (entities, newlines, zero_width, control, and the
 * ASCII-producing part of unicode), N (unicode), Z (zh_simplify),
 * W (spaces, trailing, blank_lines); wn_tn_apply() at the end.
 *
 * Passes read a text and write the next one into a scratch buffer (two,
 * used in turn); W writes into the caller's buffer.  Pass C checks UTF-8
 * as it decodes, so U reads a valid text only when C is off; the passes
 * after C assume valid UTF-8.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <libxml/HTMLparser.h>
#include <opencc/opencc.h>
#include <utf8proc.h>

#include "textnorm.h"
#include "../lib/err.h"

#define BIT(r) (1u << (r))

static const char *const rule_names[WN_TN_NRULES] = {
	[WN_TN_UTF8] = "utf8",
	[WN_TN_ENTITIES] = "entities",
	[WN_TN_NEWLINES] = "newlines",
	[WN_TN_ZEROWIDTH] = "zero_width",
	[WN_TN_CONTROL] = "control",
	[WN_TN_UNICODE] = "unicode",
	[WN_TN_ZH_SIMPLIFY] = "zh_simplify",
	[WN_TN_SPACES] = "spaces",
	[WN_TN_TRAILING] = "trailing",
	[WN_TN_BLANKLINES] = "blank_lines",
};

const char *wn_tn_rule_name(int rule)
{
	return rule >= 0 && rule < WN_TN_NRULES ? rule_names[rule] : NULL;
}

void wn_tn_opts_default(wn_tn_opts *o)
{
	memset(o, 0, sizeof *o);
	o->rules = (BIT(WN_TN_NRULES) - 1) & ~BIT(WN_TN_ZH_SIMPLIFY);
}

/* ------------------------------------------------------------------ classes */

/*
 * Every code point has a byte of class bits.  INERT_*: a normalisation
 * span never has to include it (see textnorm.h, SPEED).  MAP_*: not ASCII,
 * and its normal form alone holds a character pass C acts on (ASCII, a
 * control, a line break, a zero-width character); pass C writes that
 * normal form instead (k_map).  The rest say which rule removes or
 * rewrites it.
 */
enum {
	K_INERT_NFC = 1,
	K_INERT_NFKC = 2,
	K_MAP_NFC = 4,
	K_MAP_NFKC = 8,
	K_CONTROL = 16,   /* removed by control */
	K_NEWLINE = 32,   /* CR VT FF LS PS: LF under newlines */
	K_ZEROWIDTH = 64, /* removed by zero_width */
	K_SPACE = 128,    /* horizontal white space (spaces, trailing) */
};

#define NCP 0x110000u

static uint16_t k_index[NCP >> 8]; /* block of 256 code points -> k_blocks row */
static uint8_t *k_blocks;

/* code point -> its normal form, for the MAP_* ones (sorted by cp) */
typedef struct kmap {
	uint32_t cp;
	uint32_t off; /* into k_pool */
	uint32_t len;
} kmap;
static kmap *k_map[2];
static size_t k_nmap[2];
static uint32_t *k_pool;

static pthread_once_t k_once = PTHREAD_ONCE_INIT;

/* Every code point in U+4000-9FFF is inert and nothing else (checked when
 * the table is built), so pass C may skip them by their lead byte. */
static int k_plain_cjk;

static inline unsigned kclass(uint32_t cp)
{
	return k_blocks[(size_t)k_index[cp >> 8] << 8 | (cp & 255)];
}

/* The classes that do not depend on normalisation. */
static unsigned basic_class(uint32_t cp)
{
	if (cp < 0x20) {
		if (cp == '\t') return K_SPACE;
		if (cp == '\n') return 0;
		if (cp == '\r' || cp == '\v' || cp == '\f') return K_NEWLINE;
		return K_CONTROL;
	}
	if (cp == ' ') return K_SPACE;
	if (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return K_CONTROL;
	if (cp == 0x2028 || cp == 0x2029) return K_NEWLINE;
	if (cp == 0xAD || cp == 0x200B || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF)
		return K_ZEROWIDTH;
	if (cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
	    cp == 0x205F || cp == 0x3000)
		return K_SPACE;
	return 0;
}

/* NFC (NFKC if compat) of the single code point cp into d; its length. */
static int nf_one(uint32_t cp, int compat, int32_t *d, int cap)
{
	utf8proc_uint8_t u[4];
	utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (compat ? UTF8PROC_COMPAT : 0);
	utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, u);
	utf8proc_ssize_t m = utf8proc_decompose(u, n, d, cap, opt);
	if (m < 0 || m > cap) return -1;
	return (int)utf8proc_normalize_utf32(d, m, opt);
}

static int has_decomposition(const utf8proc_property_t *p, int compat)
{
	return p->decomp_seqindex != UINT16_MAX && (compat || p->decomp_type == 0);
}

static void build_tables(void)
{
	uint8_t *cls = wn_malloc(NCP);
	uint8_t *back = wn_calloc(NCP, 1); /* second half of a canonical composition */
	int32_t d[32];
	int dummy = 0;

	/* Code points that can compose with the one before: every non-first
	 * element of the canonical decomposition of a primary composite
	 * (a code point equal to its own NFC), and the Hangul V and T jamo,
	 * which utf8proc composes by arithmetic. */
	for (uint32_t cp = 0; cp < NCP; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF) continue;
		const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
		if (!has_decomposition(p, 0)) continue;
		utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, d, 32,
							     UTF8PROC_DECOMPOSE, &dummy);
		if (n < 2 || n > 32) continue;
		int32_t e[32];
		if (nf_one(cp, 0, e, 32) != 1 || e[0] != (int32_t)cp) continue;
		for (utf8proc_ssize_t i = 1; i < n; i++) back[d[i]] = 1;
	}
	for (uint32_t cp = 0x1161; cp <= 0x1175; cp++) back[cp] = 1;
	for (uint32_t cp = 0x11A8; cp <= 0x11C2; cp++) back[cp] = 1;

	size_t capmap[2] = { 64, 4096 }, cappool = 16384, npool = 0;
	k_map[0] = wn_malloc(capmap[0] * sizeof(kmap));
	k_map[1] = wn_malloc(capmap[1] * sizeof(kmap));
	k_pool = wn_malloc(cappool * sizeof(uint32_t));

	for (uint32_t cp = 0; cp < NCP; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF) { cls[cp] = 0; continue; }
		unsigned k = basic_class(cp);
		const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
		for (int compat = 0; compat < 2; compat++) {
			unsigned inert = compat ? K_INERT_NFKC : K_INERT_NFC;
			unsigned map = compat ? K_MAP_NFKC : K_MAP_NFC;
			if (!has_decomposition(p, compat)) {
				if (p->combining_class == 0 && !back[cp]) k |= inert;
				continue;
			}
			int n = nf_one(cp, compat, d, 32);
			if (n == 1 && d[0] == (int32_t)cp) {
				/* a composite that recomposes: inert if what it
				 * decomposes into starts with an inert starter */
				int32_t f[32];
				utf8proc_ssize_t m = utf8proc_decompose_char(
					(utf8proc_int32_t)cp, f, 32,
					UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0), &dummy);
				if (m >= 1 && m <= 32 && p->combining_class == 0 && !back[cp] &&
				    utf8proc_get_property(f[0])->combining_class == 0 && !back[f[0]])
					k |= inert;
				continue;
			}
			if (n < 1 || cp < 0x80) continue;
			int acts = 0;
			for (int i = 0; i < n; i++)
				if (d[i] < 0x80 || (basic_class((uint32_t)d[i]) &
						    (K_CONTROL | K_NEWLINE | K_ZEROWIDTH)))
					acts = 1;
			if (!acts) continue;
			k |= map;
			if (k_nmap[compat] == capmap[compat]) {
				capmap[compat] *= 2;
				k_map[compat] = wn_realloc(k_map[compat], capmap[compat] * sizeof(kmap));
			}
			if (npool + (size_t)n > cappool) {
				cappool *= 2;
				k_pool = wn_realloc(k_pool, cappool * sizeof(uint32_t));
			}
			k_map[compat][k_nmap[compat]++] = (kmap){ cp, (uint32_t)npool, (uint32_t)n };
			for (int i = 0; i < n; i++) k_pool[npool++] = (uint32_t)d[i];
		}
		cls[cp] = (uint8_t)k;
	}
	free(back);

	/* two levels: identical blocks of 256 share a row */
	size_t nb = NCP >> 8, nrows = 0, caprows = 64;
	k_blocks = wn_malloc(caprows * 256);
	enum { HSIZE = 8192 };
	int32_t *slot = wn_malloc(HSIZE * sizeof(int32_t));
	for (size_t i = 0; i < HSIZE; i++) slot[i] = -1;
	for (size_t b = 0; b < nb; b++) {
		const uint8_t *blk = cls + (b << 8);
		uint32_t h = 2166136261u;
		for (int i = 0; i < 256; i++) h = (h ^ blk[i]) * 16777619u;
		size_t s = h & (HSIZE - 1);
		for (; slot[s] >= 0; s = (s + 1) & (HSIZE - 1))
			if (!memcmp(k_blocks + ((size_t)slot[s] << 8), blk, 256)) break;
		if (slot[s] < 0) {
			if (nrows == caprows) {
				caprows *= 2;
				k_blocks = wn_realloc(k_blocks, caprows * 256);
			}
			memcpy(k_blocks + (nrows << 8), blk, 256);
			slot[s] = (int32_t)nrows++;
		}
		k_index[b] = (uint16_t)slot[s];
	}
	free(slot);
	k_plain_cjk = 1;
	for (uint32_t cp = 0x4000; cp <= 0x9FFF; cp++)
		if (cls[cp] != (K_INERT_NFC | K_INERT_NFKC)) k_plain_cjk = 0;
	free(cls);
}

static const kmap *map_find(int compat, uint32_t cp)
{
	size_t lo = 0, hi = k_nmap[compat];
	const kmap *m = k_map[compat];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m[mid].cp < cp) lo = mid + 1;
		else hi = mid;
	}
	return lo < k_nmap[compat] && m[lo].cp == cp ? &m[lo] : NULL;
}

/* The ideographs of OpenCC's dictionaries: CJK Unified Ideographs, their
 * extension A, and planes 2 and 3. */
static inline int is_han(uint32_t cp)
{
	return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
	       (cp >= 0x20000 && cp <= 0x3FFFF);
}

/* ------------------------------------------------------------------ UTF-8 */

/* Decode the code point at p (valid UTF-8). */
static inline uint32_t dec(const unsigned char *p, unsigned *len)
{
	unsigned b = p[0];
	if (b < 0x80) { *len = 1; return b; }
	if (b < 0xE0) { *len = 2; return (b & 0x1Fu) << 6 | (p[1] & 0x3Fu); }
	if (b < 0xF0) {
		*len = 3;
		return (b & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
	}
	*len = 4;
	return (b & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
}

/* Write cp as UTF-8 at d (room for 4); the number of bytes. */
static inline unsigned enc(char *d, uint32_t cp)
{
	if (cp < 0x80) { d[0] = (char)cp; return 1; }
	if (cp < 0x800) {
		d[0] = (char)(0xC0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xE0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		d[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	d[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The length of the well-formed UTF-8 sequence at p (lead byte 0x80 or
 * above), or 0: no overlongs, surrogates or values above U+10FFFF. */
static inline unsigned seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned b = p[0];
	size_t avail = (size_t)(end - p);
	if (b < 0xC2) return 0;
	if (b < 0xE0) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	unsigned lo = 0x80, hi = 0xBF;
	if (b < 0xF0) {
		if (b == 0xE0) lo = 0xA0;
		else if (b == 0xED) hi = 0x9F;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (b > 0xF4) return 0;
	if (b == 0xF0) lo = 0x90;
	else if (b == 0xF4) hi = 0x8F;
	return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
	       (p[3] & 0xC0) == 0x80 ? 4 : 0;
}

/* Append n bytes; o has room (grown by the caller). */
static inline void put(wn_buf *o, const void *p, size_t n)
{
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

static inline int room(wn_buf *o, size_t n)
{
	return o->len + n + 1 <= o->cap ? 0 : wn_buf_grow(o, n);
}

/* Pass U.  Repair s[0..n), whose first ill-formed byte is at `bad`, into o
 * (appended): each maximal subpart of an ill-formed sequence (a lead byte
 * and the continuation bytes that may follow it, stopping at the first
 * that may not) becomes one U+FFFD; any other bad byte becomes one. */
static int repair_from(const unsigned char *s, size_t n, size_t bad, wn_buf *o)
{
	int rc = wn_buf_add(o, s, bad);
	if (rc) return rc;
	size_t i = bad;
	while (i < n) {
		size_t ok;
		if (wn_utf8_valid((const char *)s + i, n - i, &ok)) ok = n - i;
		if (ok) {
			if ((rc = wn_buf_add(o, s + i, ok))) return rc;
			i += ok;
			if (i >= n) break;
		}
		unsigned b = s[i];
		size_t m = 1;
		if (b >= 0xC2 && b <= 0xF4) {
			size_t need = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
			unsigned lo = 0x80, hi = 0xBF;
			if (b == 0xE0) lo = 0xA0;
			else if (b == 0xED) hi = 0x9F;
			else if (b == 0xF0) lo = 0x90;
			else if (b == 0xF4) hi = 0x8F;
			if (i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi) {
				m = 2;
				while (m < need && i + m < n && (s[i + m] & 0xC0) == 0x80) m++;
			}
		}
		if ((rc = wn_buf_add(o, "\xEF\xBF\xBD", 3))) return rc;
		i += m;
	}
	return 0;
}

int wn_tn_repair_utf8(const char *s, size_t n, wn_buf *out)
{
	size_t bad;
	wn_buf_reset(out);
	if (wn_utf8_valid(s, n, &bad)) return wn_buf_add(out, s, n);
	return repair_from((const unsigned char *)s, n, bad, out);
}

/* ------------------------------------------------------------------ references */

#define REF_MAX 32 /* longest reference between '&' and ';' */

/* HTML5 names that libxml2's HTML 4 table lacks, limited to those seen in
 * text: mostly ASCII punctuation and upper-case spellings. */
static const struct {
	const char *name;
	uint32_t cp;
} html5_names[] = {
	{ "AMP", '&' }, { "LT", '<' }, { "GT", '>' }, { "QUOT", '"' }, { "apos", '\'' },
	{ "COPY", 0xA9 }, { "REG", 0xAE }, { "TRADE", 0x2122 }, { "Tab", '\t' },
	{ "NewLine", '\n' }, { "excl", '!' }, { "num", '#' }, { "dollar", '$' },
	{ "percnt", '%' }, { "lpar", '(' }, { "rpar", ')' }, { "ast", '*' }, { "plus", '+' },
	{ "comma", ',' }, { "period", '.' }, { "sol", '/' }, { "colon", ':' }, { "semi", ';' },
	{ "equals", '=' }, { "quest", '?' }, { "commat", '@' }, { "lsqb", '[' },
	{ "lbrack", '[' }, { "bsol", '\\' }, { "rsqb", ']' }, { "rbrack", ']' }, { "Hat", '^' },
	{ "lowbar", '_' }, { "grave", '`' }, { "lcub", '{' }, { "lbrace", '{' },
	{ "verbar", '|' }, { "vert", '|' }, { "rcub", '}' }, { "rbrace", '}' },
	{ "NonBreakingSpace", 0xA0 }, { "ZeroWidthSpace", 0x200B }, { "hyphen", 0x2010 },
	{ "dash", 0x2010 }, { "bullet", 0x2022 }, { "centerdot", 0xB7 }, { "half", 0xBD },
};

/* windows-1252 for &#128;-&#159; (HTML5); 0 where it has no character */
static const uint16_t cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* What a numeric reference to v stands for (see textnorm.h). */
static uint32_t numeric_ref(uint32_t v)
{
	if (v >= 0x80 && v <= 0x9F) return cp1252[v - 0x80] ? cp1252[v - 0x80] : 0xFFFD;
	if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0xFFFD;
	if ((v < 0x20 && v != '\t' && v != '\n' && v != '\f' && v != '\r') || v == 0x7F)
		return 0xFFFD;
	if ((v & 0xFFFE) == 0xFFFE || (v >= 0xFDD0 && v <= 0xFDEF)) return 0xFFFD;
	return v;
}

static inline int is_alpha(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static inline int is_hex(unsigned c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* The code point of the reference name[0..n) (between '&' and ';'), or 0. */
static uint32_t decode_ref(const unsigned char *name, size_t n)
{
	if (name[0] == '#') {
		size_t i = 1;
		int hex = n > 1 && (name[1] | 0x20) == 'x';
		i += (size_t)hex;
		if (i >= n) return 0;
		uint32_t v = 0;
		for (; i < n; i++) {
			unsigned c = name[i];
			unsigned dv;
			if (hex ? !is_hex(c) : !is_digit(c)) return 0;
			dv = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
			v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + dv;
		}
		return numeric_ref(v);
	}
	if (!is_alpha(name[0])) return 0;
	char key[REF_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		if (!is_alpha(name[i]) && !is_digit(name[i])) return 0;
		key[i] = (char)name[i];
	}
	key[n] = 0;
	for (size_t i = 0; i < sizeof html5_names / sizeof html5_names[0]; i++)
		if (!strcmp(key, html5_names[i].name)) return html5_names[i].cp;
	const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)key);
	return e ? e->value : 0;
}

/* o ends with ';'.  When "&name;" ends it and is a reference, set *cp and
 * *amp (where the '&' is) and return 1. */
static int tail_ref(const wn_buf *o, uint32_t *cp, size_t *amp)
{
	const unsigned char *d = (const unsigned char *)o->data;
	size_t semi = o->len - 1, j = semi; /* the name is d[j..semi) */
	while (j > 0 && semi - j < REF_MAX) {
		unsigned c = d[j - 1];
		if (c == '&') break;
		if (!is_alpha(c) && !is_digit(c) && c != '#') return 0;
		j--;
	}
	if (j == 0 || d[j - 1] != '&' || j == semi) return 0;
	uint32_t v = decode_ref(d + j, semi - j);
	if (!v) return 0;
	*cp = v;
	*amp = j - 1;
	return 1;
}

/* ------------------------------------------------------------------ the context */

struct wn_tn {
	wn_tn_opts o;
	opencc_t cc;          /* NULL unless zh_simplify */
	wn_buf a, b;          /* scratch texts, used in turn */
	wn_buf z, zq;         /* OpenCC fixpoint iteration */
	uint32_t *stk;        /* pass C: code points still to write */
	size_t nstk, capstk;
	int32_t *u32;         /* pass N: code points, then the UTF-8 result */
	size_t capu32;        /* in code points */
	int32_t *tmp;         /* pass N: sorting long runs of marks */
	size_t captmp;
};

/* ------------------------------------------------------------------ pass C */

/* Bytes below 0x80 that pass C looks at; 0x80 and above are looked up. */
static uint8_t c_ascii[128];

typedef struct cpass {
	wn_tn *t;
	wn_buf *o;
	unsigned rules;
	unsigned kmask;    /* class bits to act on, from the enabled rules */
	unsigned inert;    /* K_INERT_NFC or K_INERT_NFKC */
	int compat;        /* NFKC */
	size_t crlf;       /* o->len just after an LF written for a CR, or SIZE_MAX */
	int amp;           /* an '&' may be in o */
	int need_norm;     /* a code point that is not inert was written */
	int han;           /* a Han character was written */
	unsigned changed;
	size_t bad;        /* offset of the first ill-formed byte (WN_EUTF8) */
} cpass;

static void push(wn_tn *t, uint32_t cp)
{
	if (t->nstk == t->capstk) {
		t->capstk = t->capstk ? 2 * t->capstk : 64;
		t->stk = wn_realloc(t->stk, t->capstk * sizeof *t->stk);
	}
	t->stk[t->nstk++] = cp;
}

/* Write cp through the filter of pass C: it and whatever it turns into
 * (its normal form's code points, the character a completed reference
 * stands for) are removed, rewritten or written, in order. */
static int c_write(cpass *c, uint32_t cp)
{
	wn_tn *t = c->t;
	wn_buf *o = c->o;
	t->nstk = 0;
	push(t, cp);
	while (t->nstk) {
		cp = t->stk[--t->nstk];
		unsigned k = kclass(cp);
		unsigned act = k & c->kmask;
		if (act) {
			if (act & K_NEWLINE) {
				int rc = room(o, 1);
				if (rc) return rc;
				o->data[o->len++] = '\n';
				if (cp == '\r') c->crlf = o->len;
				c->changed |= BIT(WN_TN_NEWLINES);
				continue;
			}
			if (act & K_CONTROL) {
				c->changed |= BIT(WN_TN_CONTROL);
				continue;
			}
			if (act & K_ZEROWIDTH) {
				c->changed |= BIT(WN_TN_ZEROWIDTH);
				continue;
			}
			const kmap *m = map_find(c->compat, cp);
			if (m) {
				for (uint32_t i = m->len; i-- > 0;) push(t, k_pool[m->off + i]);
				c->changed |= BIT(WN_TN_UNICODE);
				continue;
			}
		}
		if (cp == '\n' && o->len == c->crlf) {
			/* the LF of CR LF */
			c->crlf = SIZE_MAX;
			c->changed |= BIT(WN_TN_NEWLINES);
			continue;
		}
		int rc = room(o, 4);
		if (rc) return rc;
		o->len += enc(o->data + o->len, cp);
		if (!(k & c->inert)) c->need_norm = 1;
		if (is_han(cp)) c->han = 1;
		if (cp == '&') {
			c->amp = 1;
		} else if (cp == ';' && c->amp && (c->rules & BIT(WN_TN_ENTITIES))) {
			uint32_t v;
			size_t at;
			if (tail_ref(o, &v, &at)) {
				o->len = at;
				c->changed |= BIT(WN_TN_ENTITIES);
				push(t, v);
			}
		}
	}
	return 0;
}

/* The first byte at or after p that is below 0x20 (but not TAB or LF),
 * DEL, '&', ';' or 0x80 and above. */
static inline const unsigned char *c_scan(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(0x20), tab = _mm_set1_epi8('\t'),
		      lf = _mm_set1_epi8('\n'), del = _mm_set1_epi8(0x7F),
		      amp = _mm_set1_epi8('&'), semi = _mm_set1_epi8(';');
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* signed compare: below 0x20, and 0x80 and above */
		__m128i m = _mm_cmplt_epi8(v, sp);
		m = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, lf)), m);
		m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, del),
						 _mm_or_si128(_mm_cmpeq_epi8(v, amp),
							      _mm_cmpeq_epi8(v, semi))));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask) return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && *p < 0x80 && !c_ascii[*p]) p++;
	return p;
}

/* Pass C over s[0..n) into o.  WN_EUTF8, with c->bad, when s is not valid
 * UTF-8 (pass C validates as it decodes, which saves pass U a read). */
static int pass_c(cpass *c, const char *s, size_t n)
{
	wn_buf *o = c->o;
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
	int rc;
	wn_buf_reset(o);
	if ((rc = room(o, n))) return rc;

/* append the unchanged bytes [run, q) */
#define FLUSH(q)                                                                      \
	do {                                                                          \
		if ((q) > run) {                                                      \
			if (*run == '\n' && o->len == c->crlf) {                      \
				run++;                                                \
				c->crlf = SIZE_MAX;                                   \
				c->changed |= BIT(WN_TN_NEWLINES);                    \
			}                                                             \
			if ((rc = room(o, (size_t)((q) - run)))) return rc;           \
			put(o, run, (size_t)((q) - run));                             \
		}                                                                     \
	} while (0)

	while (p < end) {
		p = c_scan(p, end);
		if (p >= end) break;
		while (p < end && *p >= 0x80) {
			if (*p >= 0xE4 && *p <= 0xE9 && k_plain_cjk) {
				/* U+4000-9FFF: ideographs, nothing to do */
				if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
					goto bad;
				c->han = 1;
				p += 3;
				continue;
			}
			unsigned len = seq_len(p, end);
			if (!len) goto bad;
			uint32_t cp = dec(p, &len);
			unsigned k = kclass(cp);
			if (!(k & c->kmask)) {
				if (!(k & c->inert)) c->need_norm = 1;
				if (!c->han && is_han(cp)) c->han = 1;
				p += len;
				continue;
			}
			FLUSH(p);
			if ((rc = c_write(c, cp))) return rc;
			p += len;
			run = p;
		}
		if (p >= end) break;
		unsigned b = *p;
		if (b == '&') {
			c->amp = 1;
			p++;
			continue;
		}
		if (b == ';' ? !(c->amp && (c->rules & BIT(WN_TN_ENTITIES))) : !c_ascii[b]) {
			p++;
			continue;
		}
		if (b != ';' && !(kclass(b) & c->kmask)) {
			p++;
			continue;
		}
		FLUSH(p);
		if ((rc = c_write(c, b))) return rc;
		p++;
		run = p;
	}
	FLUSH(end);
#undef FLUSH
	o->data[o->len] = 0;
	return 0;
bad:
	c->bad = (size_t)(p - (const unsigned char *)s);
	return WN_EUTF8;
}

/* ------------------------------------------------------------------ pass N */

/* The first byte at or after p that is 0x80 or above. */
static inline const unsigned char *skip_ascii(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
	while (end - p >= 16) {
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)p));
		if (mask) return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && *p < 0x80) p++;
	return p;
}

/* Put the run d[0..n) of non-starters in canonical order: a stable sort
 * by combining class.  Insertion sort for the usual few marks, counting
 * sort for long runs (utf8proc's own reordering is quadratic, which a
 * megabyte of combining marks turns into minutes). */
static void sort_marks(wn_tn *t, int32_t *d, size_t n)
{
	if (n < 2) return;
	if (n <= 16) {
		for (size_t i = 1; i < n; i++) {
			int32_t x = d[i];
			unsigned cx = utf8proc_get_property(x)->combining_class;
			size_t j = i;
			for (; j > 0 && (unsigned)utf8proc_get_property(d[j - 1])->combining_class > cx; j--)
				d[j] = d[j - 1];
			d[j] = x;
		}
		return;
	}
	size_t count[257] = { 0 };
	for (size_t i = 0; i < n; i++) count[utf8proc_get_property(d[i])->combining_class + 1]++;
	for (int c = 1; c < 257; c++) count[c] += count[c - 1];
	if (t->captmp < n) {
		free(t->tmp);
		t->captmp = n;
		t->tmp = wn_malloc(n * sizeof *t->tmp);
	}
	for (size_t i = 0; i < n; i++)
		t->tmp[count[utf8proc_get_property(d[i])->combining_class]++] = d[i];
	memcpy(d, t->tmp, n * sizeof *d);
}

/* Normalise the span a[0..n) (valid UTF-8): decompose each code point with
 * utf8proc, order the marks (sort_marks), then let utf8proc compose and
 * encode.  The result (UTF-8) is at (char *)t->u32, its length in *m. */
static int nf_span(wn_tn *t, const unsigned char *a, size_t n, size_t *m)
{
	utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE |
				(t->o.nfkc ? UTF8PROC_COMPAT : 0);
	size_t k = 0, run = 0; /* code points out; start of the run of marks */
	int bound = 0;
	for (const unsigned char *p = a, *end = a + n; p < end;) {
		unsigned len;
		uint32_t cp = dec(p, &len);
		p += len;
		if (t->capu32 - k < 32) { /* a decomposition is at most 18 */
			t->capu32 *= 2;
			t->u32 = wn_realloc(t->u32, t->capu32 * sizeof *t->u32);
		}
		utf8proc_ssize_t r = utf8proc_decompose_char((utf8proc_int32_t)cp, t->u32 + k,
							     (utf8proc_ssize_t)(t->capu32 - k), opt,
							     &bound);
		if (r < 0 || (size_t)r > t->capu32 - k) return WN_EUTF8; /* cannot happen */
		for (size_t e = k + (size_t)r; k < e; k++) {
			if (utf8proc_get_property(t->u32[k])->combining_class) continue;
			sort_marks(t, t->u32 + run, k - run);
			run = k + 1;
		}
	}
	sort_marks(t, t->u32 + run, k - run);
	utf8proc_ssize_t r = utf8proc_reencode(t->u32, (utf8proc_ssize_t)k, opt);
	if (r < 0) return WN_EUTF8;
	*m = (size_t)r;
	return 0;
}

/* Pass N over s[0..n).  Writes o only when something changes: *out_changed
 * says so. */
static int pass_n(wn_tn *t, const char *s, size_t n, wn_buf *o, int *out_changed)
{
	const unsigned inert = t->o.nfkc ? K_INERT_NFKC : K_INERT_NFC;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *copied = p; /* bytes before it are in o */
	const unsigned char *last = NULL; /* the last inert code point seen */
	int rc, started = 0;
	while (p < end) {
		if (*p < 0x80) {
			p = skip_ascii(p, end);
			last = p - 1;
			continue;
		}
		unsigned len;
		uint32_t cp = dec(p, &len);
		if (kclass(cp) & inert) {
			last = p;
			p += len;
			continue;
		}
		const unsigned char *a = last && last >= copied ? last : copied;
		p += len;
		while (p < end && *p >= 0x80) {
			cp = dec(p, &len);
			if (kclass(cp) & inert) break;
			p += len;
		}
		size_t m;
		if ((rc = nf_span(t, a, (size_t)(p - a), &m))) return rc;
		if (m == (size_t)(p - a) && !memcmp(t->u32, a, m)) continue;
		if (!started) {
			wn_buf_reset(o);
			started = 1;
		}
		if ((rc = wn_buf_add(o, copied, (size_t)(a - copied)))) return rc;
		if ((rc = wn_buf_add(o, t->u32, m))) return rc;
		copied = p;
		last = NULL;
	}
	if (started && (rc = wn_buf_add(o, copied, (size_t)(end - copied)))) return rc;
	*out_changed = started;
	return 0;
}

/* ------------------------------------------------------------------ pass Z */

/* The end of the run of Han characters (or, if han is 0, of other
 * characters) that starts at p. */
static const unsigned char *han_run(const unsigned char *p, const unsigned char *end, int han)
{
	while (p < end) {
		unsigned len;
		uint32_t cp = dec(p, &len);
		if (is_han(cp) != han) break;
		p += len;
	}
	return p;
}

/* Join with LF the Han runs of y[0..m) that differ from those of
 * x[0..n) (its OpenCC conversion) into q.  OpenCC rewrites only Han runs,
 * so the other characters match one to one; if they do not, all of y goes
 * to q.  A run OpenCC left alone is a fixpoint already (a conversion
 * never crosses a non-Han character), so only the changed ones need the
 * second look. */
static int zh_changed_runs(const char *x, size_t n, const char *y, size_t m, wn_buf *q)
{
	const unsigned char *a = (const unsigned char *)x, *ae = a + n;
	const unsigned char *b = (const unsigned char *)y, *be = b + m;
	wn_buf_reset(q);
	while (a < ae && b < be) {
		const unsigned char *a1 = han_run(a, ae, 0), *b1 = han_run(b, be, 0);
		if (a1 - a != b1 - b || memcmp(a, b, (size_t)(a1 - a))) break;
		a = a1;
		b = b1;
		a1 = han_run(a, ae, 1);
		b1 = han_run(b, be, 1);
		if (a1 - a != b1 - b || memcmp(a, b, (size_t)(a1 - a))) {
			int rc = wn_buf_add(q, b, (size_t)(b1 - b));
			if (!rc) rc = wn_buf_addc(q, '\n');
			if (rc) return rc;
		}
		a = a1;
		b = b1;
	}
	if (a < ae || b < be) {
		wn_buf_reset(q);
		return wn_buf_add(q, y, m);
	}
	return 0;
}

/* OpenCC on r[0..n) (no NUL in it) until it changes nothing: the t2s
 * dictionaries chain (薴 -> 苧 -> 苎), so one conversion is not always a
 * fixpoint.  Each round converts the region once and then only the runs
 * it changed; 8 rounds is far more than the longest chain.  The result is
 * in t->z when *diff is set. */
static int zh_fixpoint(wn_tn *t, const char *r, size_t n, int *diff)
{
	*diff = 0;
	for (int round = 0; round < 8; round++) {
		char *x = opencc_convert_utf8(t->cc, r, n);
		if (!x) return WN_EIO;
		size_t xl = strlen(x);
		if (xl == n && !memcmp(x, r, n)) {
			opencc_convert_utf8_free(x);
			break;
		}
		int rc = zh_changed_runs(r, n, x, xl, &t->zq);
		if (!rc) {
			wn_buf_reset(&t->z);
			rc = wn_buf_add(&t->z, x, xl);
		}
		opencc_convert_utf8_free(x);
		if (rc) return rc;
		r = t->z.data;
		n = t->z.len;
		*diff = 1;
		x = opencc_convert_utf8(t->cc, t->zq.data, t->zq.len);
		if (!x) return WN_EIO;
		int fixed = strlen(x) == t->zq.len && !memcmp(x, t->zq.data, t->zq.len);
		opencc_convert_utf8_free(x);
		if (fixed) break;
	}
	return 0;
}

/* Pass Z over s[0..n): each NUL-free piece, from its first to its last Han
 * character, through OpenCC.  Writes o only when something changes. */
static int pass_z(wn_tn *t, const char *s, size_t n, wn_buf *o, int *out_changed)
{
	const char *p = s, *end = s + n, *copied = s;
	int rc, started = 0;
	while (p < end) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		const char *pe = z ? z : end;
		const unsigned char *q = (const unsigned char *)p;
		const unsigned char *h0 = NULL, *h1 = NULL;
		while (q < (const unsigned char *)pe) {
			if (*q < 0xE3) {
				q += *q < 0x80 ? 1 : *q < 0xE0 ? 2 : 3;
				continue;
			}
			unsigned len;
			uint32_t cp = dec(q, &len);
			if (is_han(cp)) {
				if (!h0) h0 = q;
				h1 = q + len;
			}
			q += len;
		}
		if (h0) {
			int diff;
			if ((rc = zh_fixpoint(t, (const char *)h0, (size_t)(h1 - h0), &diff)))
				return rc;
			if (diff) {
				if (!started) {
					wn_buf_reset(o);
					started = 1;
				}
				if ((rc = wn_buf_add(o, copied, (size_t)((const char *)h0 - copied))) ||
				    (rc = wn_buf_add(o, t->z.data, t->z.len)))
					return rc;
				copied = (const char *)h1;
			}
		}
		p = z ? z + 1 : end;
	}
	if (started && (rc = wn_buf_add(o, copied, (size_t)(end - copied)))) return rc;
	*out_changed = started;
	return 0;
}

/* ------------------------------------------------------------------ pass W */

/* 1 for the bytes that may start white space or a line break. */
static uint8_t w_byte[256];

#if defined(__SSE2__)
/* Per byte of v0 (with the bytes that follow it in v1, v2): 0xFF where a
 * white-space character other than TAB and SPACE starts: C2 A0, E1 9A 80,
 * E2 80 80-8A, E2 80 AF, E2 81 9F, E3 80 80. */
static inline __m128i w_uspace(__m128i v0, __m128i v1, __m128i v2)
{
	const __m128i x80 = _mm_set1_epi8((char)0x80);
	__m128i v1_80 = _mm_cmpeq_epi8(v1, x80), v2_80 = _mm_cmpeq_epi8(v2, x80);
	__m128i nbsp = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8((char)0xC2)),
				     _mm_cmpeq_epi8(v1, _mm_set1_epi8((char)0xA0)));
	__m128i ogham = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8((char)0xE1)),
				      _mm_and_si128(_mm_cmpeq_epi8(v1, _mm_set1_epi8((char)0x9A)),
						    v2_80));
	/* 0x80-0x8A are the signed bytes below -117 */
	__m128i e2_80 = _mm_and_si128(v1_80, _mm_or_si128(_mm_cmplt_epi8(v2, _mm_set1_epi8(-117)),
							  _mm_cmpeq_epi8(v2, _mm_set1_epi8((char)0xAF))));
	__m128i e2_81 = _mm_and_si128(_mm_cmpeq_epi8(v1, _mm_set1_epi8((char)0x81)),
				      _mm_cmpeq_epi8(v2, _mm_set1_epi8((char)0x9F)));
	__m128i e2 = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8((char)0xE2)),
				   _mm_or_si128(e2_80, e2_81));
	__m128i ideo = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8((char)0xE3)),
				     _mm_and_si128(v1_80, v2_80));
	return _mm_or_si128(_mm_or_si128(nbsp, ogham), _mm_or_si128(e2, ideo));
}
#endif

/* The first byte at or after p that pass W must look at: TAB, LF, white
 * space other than SPACE, or a SPACE followed by white space or LF.  (The
 * scalar tail may also stop at other lead bytes of w_byte.) */
static inline const unsigned char *w_scan(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), lf = _mm_set1_epi8('\n');
	while (end - p >= 19) {
		__m128i v0 = _mm_loadu_si128((const __m128i *)p);
		__m128i v1 = _mm_loadu_si128((const __m128i *)(p + 1));
		__m128i v2 = _mm_loadu_si128((const __m128i *)(p + 2));
		__m128i v3 = _mm_loadu_si128((const __m128i *)(p + 3));
		__m128i tl0 = _mm_or_si128(_mm_cmpeq_epi8(v0, tab), _mm_cmpeq_epi8(v0, lf));
		__m128i ws1 = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v1, sp), _mm_cmpeq_epi8(v1, tab)),
					   _mm_or_si128(_mm_cmpeq_epi8(v1, lf), w_uspace(v1, v2, v3)));
		__m128i m = _mm_or_si128(_mm_or_si128(tl0, w_uspace(v0, v1, v2)),
					 _mm_and_si128(_mm_cmpeq_epi8(v0, sp), ws1));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask) return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end) {
		if (!w_byte[*p]) p++;
		else if (*p == ' ' && p + 1 < end && !w_byte[p[1]]) p += 2;
		else break;
	}
	return p;
}

/* Skip the horizontal white space at *pp; the number of code points. */
static size_t w_run(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t k = 0;
	while (p < end) {
		if (*p == ' ' || *p == '\t') {
			p++;
		} else if (w_byte[*p] && *p >= 0x80) {
			unsigned len;
			uint32_t cp = dec(p, &len);
			if (!(kclass(cp) & K_SPACE)) break;
			p += len;
		} else {
			break;
		}
		k++;
	}
	*pp = p;
	return k;
}

typedef struct wpass {
	wn_buf *o;
	int sp, tr, bl;
	unsigned changed;
} wpass;

/* Write k pending LFs. */
static int w_lfs(wpass *w, size_t k)
{
	if (!k) return 0;
	if (w->tr && w->o->len == 0) {
		/* blank lines at the start of the document */
		w->changed |= BIT(WN_TN_TRAILING);
		return 0;
	}
	if (w->bl && k > 3) {
		k = 3;
		w->changed |= BIT(WN_TN_BLANKLINES);
	}
	int rc = room(w->o, k);
	if (rc) return rc;
	memset(w->o->data + w->o->len, '\n', k);
	w->o->len += k;
	return 0;
}

/* At the start of the document or of a line: read LFs and white-space-only
 * lines up to the first other character or the end, and write what stays
 * of them, and the indentation of the line that follows. */
static int w_block(wpass *w, const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	size_t nl = 0;
	int rc;
	for (;;) {
		if (p < end && *p == '\n') {
			nl++;
			p++;
			continue;
		}
		const unsigned char *h = p;
		size_t k = w_run(&p, end);
		if (!k) break;
		if (p == end || *p == '\n') {
			/* a line of white space only */
			if (w->tr) {
				w->changed |= BIT(WN_TN_TRAILING);
				continue;
			}
		}
		if ((rc = w_lfs(w, nl))) return rc;
		nl = 0;
		if ((rc = room(w->o, (size_t)(p - h)))) return rc;
		put(w->o, h, (size_t)(p - h));
		if (p < end && *p != '\n') break; /* indentation */
	}
	if (p == end && w->tr) {
		if (nl) w->changed |= BIT(WN_TN_TRAILING);
	} else if ((rc = w_lfs(w, nl))) {
		return rc;
	}
	*pp = p;
	return 0;
}

/* Pass W over s[0..n) into o. */
static int pass_w(wpass *w, const char *s, size_t n)
{
	wn_buf *o = w->o;
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	int rc;
	wn_buf_reset(o);
	if ((rc = room(o, n))) return rc;
	if ((rc = w_block(w, &p, end))) return rc;
	run = p;
	while (p < end) {
		/* content, and single spaces between content */
		p = w_scan(p, end);
		if (p >= end) break;
		if (*p == '\n') {
			if ((rc = room(o, (size_t)(p - run)))) return rc;
			put(o, run, (size_t)(p - run));
			if ((rc = w_block(w, &p, end))) return rc;
			run = p;
			continue;
		}
		const unsigned char *h = p;
		size_t k = w_run(&p, end);
		if (!k) {
			/* a lead byte that is not white space */
			unsigned len;
			dec(p, &len);
			p += len;
			continue;
		}
		int at_end = p == end || *p == '\n';
		if (at_end && w->tr) {
			w->changed |= BIT(WN_TN_TRAILING);
		} else if (k >= 2 && w->sp) {
			w->changed |= BIT(WN_TN_SPACES);
		} else {
			continue;
		}
		if ((rc = room(o, (size_t)(h - run) + 1))) return rc;
		put(o, run, (size_t)(h - run));
		if (!(at_end && w->tr)) o->data[o->len++] = ' ';
		run = p;
	}
	if ((rc = room(o, (size_t)(end - run)))) return rc;
	put(o, run, (size_t)(end - run));
	o->data[o->len] = 0;
	return 0;
}

/* ------------------------------------------------------------------ API */

static void init_bytes(void)
{
	build_tables();
	for (unsigned b = 0; b < 0x80; b++)
		c_ascii[b] = (b < 0x20 && b != '\t' && b != '\n') || b == 0x7F || b == '&' ||
			     b == ';';
	w_byte[' '] = w_byte['\t'] = w_byte['\n'] = 1;
	/* lead bytes of U+00A0, U+1680, U+2000-205F, U+3000 */
	w_byte[0xC2] = w_byte[0xE1] = w_byte[0xE2] = w_byte[0xE3] = 1;
}

int wn_tn_new(wn_tn **tp, const wn_tn_opts *o, char *err, size_t errlen)
{
	*tp = NULL;
	if (o->rules & ~(BIT(WN_TN_NRULES) - 1)) {
		snprintf(err, errlen, "unknown normalisation rule bits %#x", o->rules);
		return WN_EUSAGE;
	}
	pthread_once(&k_once, init_bytes);
	wn_tn *t = wn_calloc(1, sizeof *t);
	t->o = *o;
	wn_buf_init(&t->a, 0);
	wn_buf_init(&t->b, 0);
	wn_buf_init(&t->z, 0);
	wn_buf_init(&t->zq, 0);
	t->capu32 = 1024;
	t->u32 = wn_malloc(t->capu32 * sizeof *t->u32);
	if (o->rules & BIT(WN_TN_ZH_SIMPLIFY)) {
		/* OpenCC looks for a bare name in the working directory first and
		 * then in its data directory; prefer the Debian data directory
		 * by its full path so a stray t2s.json in the working directory
		 * is not picked up. */
		const char *cfg = "/usr/share/opencc/" OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP;
		if (access(cfg, R_OK)) cfg = OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP;
		opencc_t cc = opencc_open(cfg);
		if (cc == (opencc_t)-1) {
			const char *why = opencc_error();
			snprintf(err, errlen,
				 "cannot load the OpenCC configuration %s: %s (is libopencc-data "
				 "installed?)",
				 OPENCC_DEFAULT_CONFIG_TRAD_TO_SIMP, why && *why ? why : "unknown error");
			wn_tn_free(t);
			return WN_EIO;
		}
		t->cc = cc;
	}
	*tp = t;
	return 0;
}

void wn_tn_free(wn_tn *t)
{
	if (!t) return;
	if (t->cc) opencc_close(t->cc);
	wn_buf_release(&t->a);
	wn_buf_release(&t->b);
	wn_buf_release(&t->z);
	wn_buf_release(&t->zq);
	free(t->stk);
	free(t->u32);
	free(t->tmp);
	free(t);
}

int wn_tn_apply(wn_tn *t, const char *s, size_t n, wn_buf *out, unsigned *changed)
{
	const unsigned r = t->o.rules;
	unsigned ch = 0;
	const char *cur = s;
	size_t len = n;
	wn_buf *spare = &t->a; /* the scratch buffer cur is not in */
	int rc = 0;
	*changed = 0;
	wn_buf_reset(out);

#define SWAP()                                                  \
	do {                                                    \
		cur = spare->data;                              \
		len = spare->len;                               \
		spare = spare == &t->a ? &t->b : &t->a;         \
	} while (0)

	/* U, and C, which validates as it goes: U's own read is needed only
	 * when C is off or finds the text invalid */
	const unsigned crules = BIT(WN_TN_ENTITIES) | BIT(WN_TN_NEWLINES) | BIT(WN_TN_ZEROWIDTH) |
				BIT(WN_TN_CONTROL) | BIT(WN_TN_UNICODE);
	int need_norm = 1, han = 1;
	size_t bad = 0;
	int valid = 1;
	if (r & crules) {
		for (;;) {
			cpass c = { .t = t, .o = spare, .rules = r, .crlf = SIZE_MAX };
			c.compat = t->o.nfkc != 0;
			c.inert = c.compat ? K_INERT_NFKC : K_INERT_NFC;
			if (r & BIT(WN_TN_NEWLINES)) c.kmask |= K_NEWLINE;
			if (r & BIT(WN_TN_CONTROL)) c.kmask |= K_CONTROL;
			if (r & BIT(WN_TN_ZEROWIDTH)) c.kmask |= K_ZEROWIDTH;
			if (r & BIT(WN_TN_UNICODE)) c.kmask |= c.compat ? K_MAP_NFKC : K_MAP_NFC;
			rc = pass_c(&c, cur, len);
			if (rc == WN_EUTF8 && valid) {
				/* repair, then run C again on the repaired text */
				valid = 0;
				if (t->o.utf8_drop || !(r & BIT(WN_TN_UTF8))) break;
				wn_buf *x = spare == &t->a ? &t->b : &t->a;
				wn_buf_reset(x);
				if ((rc = repair_from((const unsigned char *)s, n, c.bad, x))) return rc;
				cur = x->data;
				len = x->len;
				ch |= BIT(WN_TN_UTF8);
				continue;
			}
			if (rc) return rc;
			SWAP();
			ch |= c.changed;
			need_norm = c.need_norm;
			han = c.han;
			break;
		}
	} else if (!wn_utf8_valid(s, n, &bad)) {
		valid = 0;
		if (!t->o.utf8_drop && (r & BIT(WN_TN_UTF8))) {
			wn_buf_reset(spare);
			if ((rc = repair_from((const unsigned char *)s, n, bad, spare))) return rc;
			SWAP();
			ch |= BIT(WN_TN_UTF8);
		}
	}
	if (!valid && !(ch & BIT(WN_TN_UTF8))) {
		*changed = BIT(WN_TN_UTF8);
		return WN_EUTF8;
	}

	/* N */
	if ((r & BIT(WN_TN_UNICODE)) && need_norm) {
		int did = 0;
		if ((rc = pass_n(t, cur, len, spare, &did))) return rc;
		if (did) {
			SWAP();
			ch |= BIT(WN_TN_UNICODE);
			han = 1; /* U+F900 and kin normalise to Han */
		}
	}

	/* Z */
	if ((r & BIT(WN_TN_ZH_SIMPLIFY)) && han && t->cc) {
		int did = 0;
		if ((rc = pass_z(t, cur, len, spare, &did))) return rc;
		if (did) {
			SWAP();
			ch |= BIT(WN_TN_ZH_SIMPLIFY);
		}
	}
#undef SWAP

	/* W */
	if (r & (BIT(WN_TN_SPACES) | BIT(WN_TN_TRAILING) | BIT(WN_TN_BLANKLINES))) {
		wpass w = { .o = out };
		w.sp = (r & BIT(WN_TN_SPACES)) != 0;
		w.tr = (r & BIT(WN_TN_TRAILING)) != 0;
		w.bl = (r & BIT(WN_TN_BLANKLINES)) != 0;
		if ((rc = pass_w(&w, cur, len))) return rc;
		ch |= w.changed;
	} else if ((rc = wn_buf_add(out, cur, len))) {
		return rc;
	}
	*changed = ch;
	return 0;
}
