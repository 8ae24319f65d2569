/*
 * regex.c - regex rules with PCRE2 (regex.h).
 *
 * LOADING.  wn_rx_parse() reads the file line by line into rx_rule records
 * and compiles each pattern with PCRE2_UTF | PCRE2_MULTILINE, LF newlines,
 * refusing patterns that can match the empty string (PCRE2_INFO_MATCHEMPTY
 * or a minimum length of 0).  A rule with check= is compiled a second time
 * as "(?:PATTERN)(?C1)": the callout (on_callout) runs the validator on
 * the match and fails it when it fails, so the check is a last assertion
 * and PCRE2 searches on by itself.  Rules with one group= name become one
 * pattern "(?:P1)(?C1)|(?:P2)(?C2)|...", whose callouts both check and say
 * which member matched.  Then every pattern is JIT-compiled (without JIT,
 * the interpreter runs them), and the gates are built (below).
 *
 * APPLYING.  Texts are valid UTF-8 (PCRE2 does not check them again).
 * wn_rx_apply() picks the rules for the language (cached in
 * the state while the language stays the same), runs the gate over the
 * text, then the three phases of regex.h.  Every search goes through
 * next_match(): the next match of a rule or group at or after a position,
 * within the rule's runs of lines when it has need=.  Reject rules count
 * matches up to min=; remove rules collect spans of lines, merged into one
 * sorted list (a line counts for the first rule that takes it) from which
 * the kept text is copied once; the replace phase keeps the next match of
 * each search ("unit": a rule, or a group) and repeatedly takes the
 * leftmost, ties to the lower rule index, re-searching only the units
 * whose next match the cursor has passed.  Nothing is copied for a text
 * nothing matches.  A search that fails on a limit skips its rules for the
 * document; in the replace phase the phase starts again without them, so
 * that nothing they did stays.
 *
 * THE GATE.  PCRE2's JIT is fast when a pattern starts with one literal
 * (it then looks for two of its bytes with SIMD: "(?i)click here" scans
 * 19 GB/s) and slow when it must try many positions ("(?i)subscribe"
 * 0.6 GB/s, "cookie|rights reserved|subscribe|newsletter" 0.3 GB/s, a
 * pattern that begins with \d about 2.7 GB/s, whatever follows), and the
 * default rules scanning the text one after another ran at 23-67 MB/s
 * (table below).  So a rule
 * names its needles (need=), and one pass finds all the needles of all
 * rules: the multi-literal method of byte-shuffle nibble tables.  Each
 * needle gets a 4-byte fingerprint, at the offset where its bytes are
 * rarest (weight()), and a bucket; for each fingerprint byte k, two 16-byte
 * tables map a text byte's low and high nibble to the buckets that accept
 * it at k, so that with SSSE3 16 text positions are classified with two
 * shuffles and two ANDs per k.  16 buckets (two sets of tables of 8 bits)
 * keep false candidates at 0.3-0.6% of positions, where 8 buckets gave
 * 2-3.5% and half the pass's time went to candidates.  Needles are placed
 * in buckets greedily, most common first, each where the expected rate of
 * candidates (product over k of the share of text bytes the bucket's
 * nibble tables accept, from a rough byte-frequency model of English and
 * Chinese) grows least.  A candidate is resolved by a hash table of the
 * exact fingerprints (ASCII case folded); needles shorter than 4 bytes or
 * with \d or \h in their fingerprint are compared one by one, "loose" in
 * their bucket.  A found needle adds its line to each of its rules' runs.
 * Because needles of other languages would only add candidates, a gate is
 * built per language named in a lang= list (and one for the others), and
 * a document uses the smallest that covers its rules.  The pass runs at
 * 3.7 GB/s with one needle (0.27 ns per byte), 1.6-2.3 GB/s with the 80
 * needles of the default rules of both languages in one gate.
 *
 * maxlen= without need= is a check on the match's line, made after the
 * match: the default rules that use it are anchored at line starts, which
 * PCRE2 skips between quickly, and matching the runs of short lines one by
 * one cost more in calls and line bookkeeping (a Chinese line rule took
 * 0.69 ns/byte that way, 0.35 as it is).  Anchoring such a rule with ^.{0,80} instead would make PCRE2
 * walk every line (0.76 GB/s against 22 GB/s for a plain 广告).
 *
 * SPEED, measured with bench/regex_bench.c: the default rules, one
 * thread, thread CPU time, best of five runs on a 2-core AMD EPYC virtual
 * machine (whose speed wanders by up to 40% from minute to minute):
 *
 *                                  SOTU        Moby-Dick   fortunes-zh
 *   (MB/s)                         10.8 MB en  1.2 MB en   2.1 MB zh
 *   default rules                  626         515         415
 *     in 4 KB documents            -           ~460        ~455
 *     in 512-byte documents        -           -           ~365
 *   without group=digits           445         398         305
 *   without need= (rule by rule)   25          23          67
 *   with PCRE2_UCP on every rule   72          70          92
 *
 * (SOTU: 233 speeches, each one line of ~50 KB; Moby-Dick: lines of 70
 * characters; fortunes-zh: Debian tips, short lines, 2.6% digits, which
 * makes the \d rules cost more there.)  A document costs about half a
 * microsecond of setup and PCRE2 calls on top.  Other numbers behind the
 * choices: telling the alternatives of a group apart with (*MARK:name)
 * made PCRE2 drop its start-of-match optimisations (2.7 GB/s to 0.18
 * GB/s); callouts do not.  A call of pcre2_jit_match on a short subject
 * costs about 10 ns.  Merging the line-start rules of a language into one
 * (zh_nav_line) saves a look at every line per rule merged (0.3 ns/byte).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif

#include "regex.h"
#include "../lib/buf.h"
#include "../lib/err.h"

#define MAX_NAME 64
#define MAX_LANG 32                  /* bytes of one lang= item */
#define MATCH_LIMIT 1000000          /* PCRE2 steps per start position */
#define JIT_STACK_MIN ((size_t)32 << 10)
#define JIT_STACK_MAX ((size_t)4 << 20)

enum { CHECK_NONE, CHECK_CN_ID, CHECK_LUHN, CHECK_IPV4 };

typedef struct rx_rule {
	char *name;
	int action;        /* WN_RX_REMOVE, WN_RX_REJECT, WN_RX_REPLACE */
	int line;          /* in the rules file */
	int check;         /* CHECK_* */
	int jit;           /* JIT-compiled; else PCRE2's interpreter */
	uint64_t min;      /* reject: matches needed, >= 1 */
	size_t maxlen;     /* remove: longest line looked at, in code points; 0 = any */
	char *need;        /* need=: the needles as written; NULL = every line */
	char *ph;          /* replace: the placeholder */
	size_t ph_len;
	char *langs;       /* lang=: lowercase items, each NUL-terminated, then
	                      an empty one; NULL = every language */
	char *gname;       /* replace: group=, searched with the rules of that name */
	char *src;         /* the pattern as written */
	size_t src_len;
	pcre2_code *code;  /* with check=, ending in a callout that checks */
	int group;         /* replace: the group it is searched in, or -1 */
} rx_rule;

/* Replace rules searched together (group=): one pattern, the alternation
 * of the members in file order, each ending in a callout (?C<k>) that
 * names member k (and checks it). */
typedef struct rx_group {
	int *m;            /* rule indices */
	int n;
	pcre2_code *code;
	int jit;
} rx_group;

/* The needles of the need= options, found in one pass over a text (see
 * gate_scan).  A needle has a fingerprint, FP of its bytes from an offset
 * chosen where they are rarest in text, and one of NBUCKETS buckets; for
 * each byte k of a fingerprint, lo[k] and hi[k] map the low and the high
 * nibble of a text byte to the buckets that accept it there (both cases
 * of a letter).  A position where some bucket accepts all FP bytes is a
 * candidate: the needles whose fingerprint is the 4 bytes there (looked up
 * in a hash table) and the bucket's "loose" needles (shorter than FP, or
 * with \d or \h in the fingerprint) are compared there. */
#define NBUCKETS 16  /* two sets of masks, 8 buckets each (a bit per byte) */
#define FP 4
#define MAX_NEEDLE 64

enum { NB_LIT, NB_DIGIT, NB_HEX }; /* what a needle position matches */

typedef struct needle {
	unsigned char s[MAX_NEEDLE];   /* literal bytes, ASCII letters in lower case */
	unsigned char cls[MAX_NEEDLE]; /* NB_* per position */
	int len;
	int off;                       /* offset of the fingerprint */
	int *rules;                    /* the rules that need it */
	int nrules;
} needle;

typedef struct gate {
	needle *nd;
	int n;
	int *loose[NBUCKETS];          /* per bucket, the loose needles */
	int nloose[NBUCKETS];
	uint32_t *fpkey;               /* per needle: its fingerprint, lower case */
	int *hnext;                    /* per needle: next in its hash chain */
	int *hhead;                    /* per slot: first needle, or -1 */
	unsigned hbits;
	unsigned char lo[2][FP][16], hi[2][FP][16]; /* buckets 0-7, 8-15 */
	unsigned char *covers;         /* per rule: its needles are here */
} gate;

struct wn_rx {
	rx_rule *r;
	int n;
	/* gates[0] holds every needle; each other one the needles of the rules
	 * that apply to one language named in a lang= (or to none), so that a
	 * document's scan looks only for what its rules can use */
	gate *gates;
	int ngates;
	rx_group *groups;
	int ngroups;
};

/* Lines t[a..b): a is a line start, b the LF that ends the last of them,
 * or the end of the text. */
typedef struct span {
	size_t a, b;
} span;

/* Per rule with need=: the runs of consecutive lines it looks at, in
 * order; `at` is the first a search may still use, `seen` the end
 * of the lines the gate has looked at (+1). */
typedef struct runs {
	span *v;
	size_t n, cap, at, seen;
} runs;

/* Per replace unit (a rule or a group): its next match [s, e) at or after
 * the scan position, and the rule that made it. */
typedef struct pending {
	size_t s, e;
	int has, rule;
} pending;

struct wn_rx_state {
	const wn_rx *rx;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	unsigned char *on;    /* rule admits the language of the cached key */
	int gated;            /* bits 1 << action of the on[] rules with need= */
	const gate *gate;     /* the smallest gate that covers the on[] rules */
	char lang[MAX_LANG + 1];
	int lang_cached;      /* on[] and the above hold for lang[] */
	uint64_t *dc;         /* this document's counts, per rule */
	unsigned char *skip;  /* rule failed on a limit in this document */
	uint64_t *errors;     /* per rule, since the state was made */
	runs *rn;             /* per rule */
	int *units;           /* the replace phase's searches: rule i, or group ~g */
	int nunits;
	pending *pend;        /* per unit */
	int cb_rule, cb_group; /* whose search runs, for the callout */
	int cb_member;        /* the rule whose callout let the match end */
	span *sp, *nsp, *msp; /* removed lines so far, one rule's, merge scratch */
	size_t sp_n, nsp_n, sp_cap, nsp_cap, msp_cap;
	wn_buf kept;          /* the text after the remove phase */
	wn_buf rep;           /* the text after the replace phase */
};

/* ---- the rules file ---------------------------------------------------- */

typedef struct pctx {
	const char *file;
	int line;
	char *err;
	size_t errlen;
} pctx;

static int perr(pctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(pctx *p, const char *fmt, ...)
{
	if (!p->err || !p->errlen) return WN_EUSAGE;
	int k = snprintf(p->err, p->errlen, "%s:%d: ", p->file, p->line);
	if (k >= 0 && (size_t)k < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return WN_EUSAGE;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The next token of [*p, end): *p moves past it and the blanks after it. */
static size_t token(const char **p, const char *end, const char **tok)
{
	const char *s = *p;
	while (s < end && is_blank((unsigned char)*s)) s++;
	const char *t = s;
	while (s < end && !is_blank((unsigned char)*s)) s++;
	*tok = t;
	size_t n = (size_t)(s - t);
	while (s < end && is_blank((unsigned char)*s)) s++;
	*p = s;
	return n;
}

/* A token is an option when it starts with [a-z_]+ and '='. */
static size_t option_key(const char *t, size_t n)
{
	size_t k = 0;
	while (k < n && ((t[k] >= 'a' && t[k] <= 'z') || t[k] == '_')) k++;
	return k > 0 && k < n && t[k] == '=' ? k : 0;
}

static int tok_is(const char *t, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(t, lit, n);
}

static char *dup_n(const char *s, size_t n)
{
	char *d = wn_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* A decimal number in 1..max, or 0. */
static uint64_t parse_count(const char *s, size_t n, uint64_t max)
{
	uint64_t v = 0;
	if (!n || n > 19) return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v <= max ? v : 0;
}

/* "zh,ja" -> "zh\0ja\0\0", lowercased; NULL when malformed. */
static char *parse_langs(const char *s, size_t n)
{
	char *out = wn_malloc(n + 2);
	size_t o = 0, item = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (!item) { free(out); return NULL; }
			out[o++] = 0;
			item = 0;
			continue;
		}
		int c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '-' || c == '_';
		if (!ok || ++item > MAX_LANG) { free(out); return NULL; }
		out[o++] = (char)ascii_lower(c);
	}
	out[o] = 0;
	return out;
}

static void rule_release(rx_rule *r)
{
	free(r->name);
	free(r->need);
	free(r->ph);
	free(r->langs);
	free(r->src);
	free(r->gname);
	pcre2_code_free(r->code);
}

/* ---- needles and gates ------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One needle of a need= list, a[0..n), with the escapes \d (a digit), \h
 * (a hex digit), \xHH (a byte: \x20 is a space), \\ and \|; 0, or -1 when
 * malformed. */
static int parse_needle(const char *a, size_t n, needle *x)
{
	memset(x, 0, sizeof *x);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)a[i], cls = NB_LIT;
		if (c == '\\') {
			if (++i == n) return -1;
			c = (unsigned char)a[i];
			if (c == 'd') {
				cls = NB_DIGIT;
			} else if (c == 'h') {
				cls = NB_HEX;
			} else if (c == 'x') {
				if (i + 2 >= n) return -1;
				int h1 = hexval((unsigned char)a[i + 1]), h2 = hexval((unsigned char)a[i + 2]);
				if (h1 < 0 || h2 < 0) return -1;
				c = h1 * 16 + h2;
				if (c == '\n') return -1; /* a needle lies within a line */
				i += 2;
			} else if (c != '\\' && c != '|') {
				return -1;
			}
		}
		if (x->len == MAX_NEEDLE) return -1;
		x->cls[x->len] = (unsigned char)cls;
		x->s[x->len++] = (unsigned char)(cls == NB_LIT ? ascii_lower(c) : 0);
	}
	return x->len ? 0 : -1;
}

/* Split a need= value at the '|' that are not escaped and call fn on each
 * part: 0, or -1 as soon as fn fails. */
static int split_needles(const char *v, size_t n, int (*fn)(void *, const char *, size_t), void *ctx)
{
	size_t a = 0, i = 0;
	for (;;) {
		if (i < n && v[i] == '\\') {
			i += 2;
			continue;
		}
		if (i < n && v[i] != '|') {
			i++;
			continue;
		}
		size_t e = i < n ? i : n;
		if (fn(ctx, v + a, e - a)) return -1;
		if (i >= n) return 0;
		a = ++i;
	}
}

static int check_needle(void *ctx, const char *a, size_t n)
{
	needle x;
	(void)ctx;
	return parse_needle(a, n, &x);
}

/* How common a needle position is in text, roughly: the fingerprint goes
 * where the sum is least. */
static int weight(const needle *x, int i)
{
	if (i >= x->len) return 16;
	if (x->cls[i] == NB_DIGIT) return 8;
	if (x->cls[i] == NB_HEX) return 12;
	int c = x->s[i];
	if (c == ' ') return 9;
	if (c >= 0xE4 && c <= 0xE9) return 6; /* lead bytes of CJK */
	if (c >= 0x80) return 4;
	if (c >= '0' && c <= '9') return 4;
	if (c < 'a' || c > 'z') return 3;
	if (strchr("etaoinsrhl", c)) return 6;
	if (strchr("dcumwfgypb", c)) return 3;
	return 1;
}

/* The bytes a needle position accepts. */
static void position_bytes(const needle *x, int i, unsigned char set[256])
{
	memset(set, 0, 256);
	if (i >= x->len) {
		memset(set, 1, 256);
		return;
	}
	for (int c = 0; c < 256; c++) {
		int ok;
		if (x->cls[i] == NB_DIGIT) ok = c >= '0' && c <= '9';
		else if (x->cls[i] == NB_HEX) ok = hexval(c) >= 0;
		else ok = ascii_lower(c) == x->s[i];
		if (ok) set[c] = 1;
	}
}

/* A rough frequency of each byte in English or Chinese text, for placing
 * needles in buckets. */
static double byte_freq(int c)
{
	static const double en[26] = { 8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.8, 4.0, 2.4,
				       6.7, 7.5, 1.9, 0.1, 6.0, 6.3, 9.1, 2.8, 1.0, 2.4, 0.15, 2.0, 0.07 };
	if (c == ' ') return 0.15;
	if (c >= 'a' && c <= 'z') return en[c - 'a'] * 0.0055;
	if (c >= 'A' && c <= 'Z') return en[c - 'A'] * 0.0005;
	if (c >= '0' && c <= '9') return 0.004;
	if (c >= 0xE4 && c <= 0xE9) return 0.05;
	if (c >= 0x80 && c <= 0xBF) return 0.01;
	return 0.002;
}

static double freq_tab[256];
static pthread_once_t freq_once = PTHREAD_ONCE_INIT;

static void freq_init(void)
{
	for (int c = 0; c < 256; c++) freq_tab[c] = byte_freq(c);
}

/* The share of text bytes that nibble masks accept (every byte whose low
 * nibble is in lo16 and high nibble in hi16), summed in byte order over
 * the accepted bytes only (gate building calls this thousands of times). */
static double mask_rate(unsigned lo16, unsigned hi16)
{
	double p = 0;
	for (unsigned h = hi16 & 0xffff; h; h &= h - 1) {
		const double *row = freq_tab + 16 * __builtin_ctz(h);
		for (unsigned l = lo16 & 0xffff; l; l &= l - 1) p += row[__builtin_ctz(l)];
	}
	return p > 1 ? 1 : p;
}

/* Four bytes with their ASCII capitals made small (bit tricks: a byte is
 * a capital when it is ASCII, >= 'A' and not > 'Z'). */
static uint32_t lower4(uint32_t x)
{
	uint32_t low7 = x & 0x7F7F7F7Fu;
	uint32_t ge_a = low7 + 0x3F3F3F3Fu;   /* bit 7 set where byte >= 'A' */
	uint32_t gt_z = low7 + 0x25252525u;   /* bit 7 set where byte > 'Z' */
	uint32_t cap = ge_a & ~gt_z & ~x & 0x80808080u;
	return x | cap >> 2;
}

static unsigned fp_hash(uint32_t key, unsigned bits)
{
	return (unsigned)((key * 0x9E3779B1u) >> (32 - bits));
}

typedef struct collect {
	gate *g;
	int rule, cap;
} collect;

static int add_needle(void *ctx, const char *a, size_t n)
{
	collect *c = ctx;
	gate *g = c->g;
	needle x;
	if (parse_needle(a, n, &x)) return -1;
	int j;
	for (j = 0; j < g->n; j++)
		if (g->nd[j].len == x.len && !memcmp(g->nd[j].s, x.s, (size_t)x.len) &&
		    !memcmp(g->nd[j].cls, x.cls, (size_t)x.len))
			break;
	if (j == g->n) {
		if (g->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 16;
			g->nd = wn_realloc(g->nd, (size_t)c->cap * sizeof *g->nd);
		}
		g->nd[g->n++] = x;
	}
	needle *nd = &g->nd[j];
	if (!nd->nrules || nd->rules[nd->nrules - 1] != c->rule) {
		nd->rules = wn_realloc(nd->rules, (size_t)(nd->nrules + 1) * sizeof *nd->rules);
		nd->rules[nd->nrules++] = c->rule;
	}
	return 0;
}

/* A gate for the needles of the rules with covers[i] set (the array is
 * the gate's from now on): needles deduplicated, each fingerprint placed
 * where its bytes are rarest, and each needle put, most common first, in
 * the bucket whose expected candidate rate (the product over the FP
 * offsets of the share of bytes its nibble masks accept) grows least, so
 * that common needles, and needles shorter than a fingerprint (which
 * accept any byte past their end), do not spoil the buckets of rare ones.
 * Then the masks. */
static void build_gate(const wn_rx *rx, gate *g, unsigned char *covers)
{
	memset(g, 0, sizeof *g);
	g->covers = covers;
	collect c = { g, 0, 0 };
	for (int i = 0; i < rx->n; i++) {
		if (!rx->r[i].need || !covers[i]) continue;
		c.rule = i;
		split_needles(rx->r[i].need, strlen(rx->r[i].need), add_needle, &c);
	}
	if (!g->n) return;
	unsigned char set[256];
	unsigned short (*nlo)[FP] = wn_calloc((size_t)g->n, sizeof *nlo);
	unsigned short (*nhi)[FP] = wn_calloc((size_t)g->n, sizeof *nhi);
	double *own = wn_calloc((size_t)g->n, sizeof *own);
	int *order = wn_calloc((size_t)g->n, sizeof *order);
	int *bucket_of = wn_calloc((size_t)g->n, sizeof *bucket_of);
	for (int j = 0; j < g->n; j++) {
		needle *x = &g->nd[j];
		int best = 1 << 30;
		for (int o = 0; o == 0 || o + FP <= x->len; o++) {
			int w = 0;
			for (int k = 0; k < FP; k++) w += weight(x, o + k);
			if (w < best) {
				best = w;
				x->off = o;
			}
		}
		own[j] = 1;
		for (int k = 0; k < FP; k++) {
			position_bytes(x, x->off + k, set);
			for (int v = 0; v < 256; v++)
				if (set[v]) {
					nlo[j][k] |= (unsigned short)(1u << (v & 15));
					nhi[j][k] |= (unsigned short)(1u << (v >> 4));
				}
			own[j] *= mask_rate(nlo[j][k], nhi[j][k]);
		}
		order[j] = j;
	}
	/* most common first (insertion sort: a few dozen needles) */
	for (int a = 1; a < g->n; a++)
		for (int b = a; b > 0 && own[order[b]] > own[order[b - 1]]; b--) {
			int t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	unsigned short blo[NBUCKETS][FP] = { { 0 } }, bhi[NBUCKETS][FP] = { { 0 } };
	double brate[NBUCKETS] = { 0 };
	for (int a = 0; a < g->n; a++) {
		int j = order[a], best = 0;
		double best_d = 2.0 * NBUCKETS, best_r = 0;
		for (int b = 0; b < NBUCKETS; b++) {
			double r = 1;
			for (int k = 0; k < FP; k++)
				r *= mask_rate(blo[b][k] | nlo[j][k], bhi[b][k] | nhi[j][k]);
			if (r - brate[b] < best_d) {
				best_d = r - brate[b];
				best_r = r;
				best = b;
			}
		}
		brate[best] = best_r;
		for (int k = 0; k < FP; k++) {
			blo[best][k] |= nlo[j][k];
			bhi[best][k] |= nhi[j][k];
		}
		bucket_of[j] = best;
	}
	/* the hash table of fingerprints, and the loose needles */
	g->hbits = 4;
	while ((1u << g->hbits) < 4u * (unsigned)g->n) g->hbits++;
	g->hhead = wn_malloc(((size_t)1 << g->hbits) * sizeof *g->hhead);
	memset(g->hhead, 0xff, ((size_t)1 << g->hbits) * sizeof *g->hhead);
	g->hnext = wn_calloc((size_t)g->n, sizeof *g->hnext);
	g->fpkey = wn_calloc((size_t)g->n, sizeof *g->fpkey);
	for (int j = 0; j < g->n; j++) {
		const needle *x = &g->nd[j];
		int hashed = x->len - x->off >= FP;
		for (int k = 0; k < FP && hashed; k++) hashed = x->cls[x->off + k] == NB_LIT;
		if (hashed) {
			memcpy(&g->fpkey[j], x->s + x->off, 4);
			unsigned h = fp_hash(g->fpkey[j], g->hbits);
			g->hnext[j] = g->hhead[h];
			g->hhead[h] = j;
		} else {
			int b = bucket_of[j];
			g->loose[b] = wn_realloc(g->loose[b], (size_t)(g->nloose[b] + 1) * sizeof **g->loose);
			g->loose[b][g->nloose[b]++] = j;
		}
	}
	free(bucket_of);
	for (int b = 0; b < NBUCKETS; b++)
		for (int k = 0; k < FP; k++)
			for (int v = 0; v < 16; v++) {
				if (blo[b][k] >> v & 1) g->lo[b >> 3][k][v] |= (unsigned char)(1u << (b & 7));
				if (bhi[b][k] >> v & 1) g->hi[b >> 3][k][v] |= (unsigned char)(1u << (b & 7));
			}
	free(nlo);
	free(nhi);
	free(own);
	free(order);
}

static void gate_release(gate *g)
{
	for (int i = 0; i < g->n; i++) free(g->nd[i].rules);
	free(g->nd);
	for (int b = 0; b < NBUCKETS; b++) free(g->loose[b]);
	free(g->fpkey);
	free(g->hnext);
	free(g->hhead);
	free(g->covers);
}

/* Does the list "zh\0ja\0\0" admit the language `lang`? */
static int admits(const char *list, const char *lang)
{
	for (const char *it = list; *it; it += strlen(it) + 1) {
		size_t k = 0;
		while (it[k] && lang[k] && ascii_lower((unsigned char)lang[k]) == it[k]) k++;
		if (!it[k] && (!lang[k] || lang[k] == '-' || lang[k] == '_')) return 1;
	}
	return 0;
}

/* Does rule r apply to a document in `lang` ("" = unknown)? */
static int rule_admits(const rx_rule *r, const char *lang)
{
	return !r->langs || (*lang && admits(r->langs, lang));
}

/* gates[0] for every rule with need=, then one for the rules a document
 * in each language named in a lang= would run, and one for a document in
 * any other language (when these differ from gates already made). */
static void build_gates(wn_rx *rx)
{
	pthread_once(&freq_once, freq_init);
	int any = 0;
	for (int i = 0; i < rx->n; i++) any |= rx->r[i].need != NULL;
	if (!any) return;
	size_t n = (size_t)rx->n;
	int cap = 4;
	rx->gates = wn_calloc((size_t)cap, sizeof *rx->gates);
	unsigned char *all = wn_calloc(n + 1, 1);
	memset(all, 1, n);
	build_gate(rx, &rx->gates[0], all);
	rx->ngates = 1;
	/* the languages: "" (none of the lists), then each list item */
	for (int i = -1; i < rx->n; i++) {
		const char *it = i < 0 ? "" : rx->r[i].langs;
		if (!it) continue;
		do {
			unsigned char *cov = wn_calloc(n + 1, 1);
			for (int k = 0; k < rx->n; k++) cov[k] = rx->r[k].need && rule_admits(&rx->r[k], it);
			int dup = 0;
			for (int g = 1; g < rx->ngates && !dup; g++) dup = !memcmp(rx->gates[g].covers, cov, n);
			if (dup) {
				free(cov);
			} else {
				if (rx->ngates == cap) {
					cap *= 2;
					rx->gates = wn_realloc(rx->gates, (size_t)cap * sizeof *rx->gates);
				}
				build_gate(rx, &rx->gates[rx->ngates++], cov);
			}
			it += strlen(it) + 1;
		} while (i >= 0 && *it);
	}
}

void wn_rx_free(wn_rx *rx)
{
	if (!rx) return;
	for (int i = 0; i < rx->n; i++) rule_release(&rx->r[i]);
	free(rx->r);
	for (int g = 0; g < rx->ngates; g++) gate_release(&rx->gates[g]);
	free(rx->gates);
	for (int g = 0; g < rx->ngroups; g++) {
		free(rx->groups[g].m);
		pcre2_code_free(rx->groups[g].code);
	}
	free(rx->groups);
	free(rx);
}

static pcre2_code *compile(const char *src, size_t n, pcre2_compile_context *cc, int *ec, PCRE2_SIZE *eo)
{
	return pcre2_compile((PCRE2_SPTR)src, n, PCRE2_UTF | PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C, ec,
			     eo, cc);
}

/* Length of the start-of-pattern settings, (*UCP) and the like, that must
 * stay in front when a pattern is wrapped. */
static size_t verbs_len(const char *src, size_t n)
{
	size_t i = 0;
	while (i + 2 < n && src[i] == '(' && src[i + 1] == '*') {
		const char *q = memchr(src + i, ')', n - i);
		if (!q) break;
		i = (size_t)(q - src) + 1;
	}
	return i;
}

/* Append "(?:SRC)(?C<k>)" to w, with SRC's leading settings in front. */
static void wrap(wn_buf *w, const char *src, size_t n, int k)
{
	size_t v = verbs_len(src, n);
	wn_buf_add(w, src, v);
	wn_buf_adds(w, "(?:");
	wn_buf_add(w, src + v, n - v);
	wn_buf_addf(w, ")(?C%d)", k);
}

/* Parse and compile the rule on line [s, end) into *r (zeroed by the caller). */
static int parse_rule(pctx *p, const wn_rx *rx, const char *s, const char *end,
		      pcre2_compile_context *cc, rx_rule *r)
{
	const char *t;
	size_t tn = token(&s, end, &t);
	if (tok_is(t, tn, "remove")) r->action = WN_RX_REMOVE;
	else if (tok_is(t, tn, "reject")) r->action = WN_RX_REJECT;
	else if (tok_is(t, tn, "replace")) r->action = WN_RX_REPLACE;
	else return perr(p, "unknown action '%.*s' (want remove, reject or replace)", (int)tn, t);
	const char *act = wn_rx_action_name(r->action);

	tn = token(&s, end, &t);
	if (!tn) return perr(p, "%s: missing rule name", act);
	for (size_t i = 0; i < tn; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
			return perr(p, "bad rule name '%.*s' (use a-z, 0-9 and _)", (int)tn, t);
	if (tn > MAX_NAME) return perr(p, "rule name '%.*s...' is longer than %d", 20, t, MAX_NAME);
	for (int i = 0; i < rx->n; i++)
		if (tok_is(t, tn, rx->r[i].name))
			return perr(p, "duplicate rule name '%s' (first on line %d)", rx->r[i].name,
				    rx->r[i].line);
	r->name = dup_n(t, tn);
	r->min = 1;

	/* options */
	int seen_min = 0, seen_check = 0, seen_maxlen = 0;
	for (;;) {
		const char *save = s;
		tn = token(&s, end, &t);
		size_t k = option_key(t, tn);
		if (!k) { s = save; break; }
		const char *v = t + k + 1;
		size_t vn = tn - k - 1;
		int twice;
		if (tok_is(t, k, "lang")) {
			twice = r->langs != NULL;
			if (!twice && !(r->langs = parse_langs(v, vn)))
				return perr(p, "rule %s: bad lang= list '%.*s' (want codes like zh,en)", r->name,
					    (int)vn, v);
		} else if (tok_is(t, k, "min")) {
			if (r->action != WN_RX_REJECT)
				return perr(p, "rule %s: min= is for reject rules", r->name);
			twice = seen_min++;
			if (!twice && !(r->min = parse_count(v, vn, 1000000000)))
				return perr(p, "rule %s: bad min= '%.*s' (want a whole number from 1)", r->name,
					    (int)vn, v);
		} else if (tok_is(t, k, "maxlen")) {
			if (r->action != WN_RX_REMOVE)
				return perr(p, "rule %s: maxlen= is for remove rules", r->name);
			twice = seen_maxlen++;
			if (!twice && !(r->maxlen = (size_t)parse_count(v, vn, 1000000000)))
				return perr(p, "rule %s: bad maxlen= '%.*s' (want a whole number from 1)",
					    r->name, (int)vn, v);
		} else if (tok_is(t, k, "need")) {
			twice = r->need != NULL;
			if (!twice && split_needles(v, vn, check_needle, NULL))
				return perr(p, "rule %s: bad need= '%.*s' (want strings of 1 to %d bytes "
					    "separated by |; escapes \\d \\h \\xHH \\\\ \\|)", r->name, (int)vn, v,
					    MAX_NEEDLE);
			if (!twice) r->need = dup_n(v, vn);
		} else if (tok_is(t, k, "group")) {
			if (r->action != WN_RX_REPLACE)
				return perr(p, "rule %s: group= is for replace rules", r->name);
			twice = r->gname != NULL;
			for (size_t i = 0; i < vn; i++)
				if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_'))
					vn = 0;
			if (!vn) return perr(p, "rule %s: bad group= name (use a-z, 0-9 and _)", r->name);
			if (!twice) r->gname = dup_n(v, vn);
		} else if (tok_is(t, k, "check")) {
			twice = seen_check++;
			if (tok_is(v, vn, "cn_id")) r->check = CHECK_CN_ID;
			else if (tok_is(v, vn, "luhn")) r->check = CHECK_LUHN;
			else if (tok_is(v, vn, "ipv4")) r->check = CHECK_IPV4;
			else
				return perr(p, "rule %s: unknown check '%.*s' (want cn_id, luhn or ipv4)",
					    r->name, (int)vn, v);
		} else {
			return perr(p, "rule %s: unknown option '%.*s' (want lang, min, maxlen, need, check or group)",
				    r->name, (int)k, t);
		}
		if (twice) return perr(p, "rule %s: option %.*s= given twice", r->name, (int)k, t);
	}

	if (r->action == WN_RX_REPLACE) {
		tn = token(&s, end, &t);
		if (!tn) return perr(p, "rule %s: missing placeholder and pattern", r->name);
		r->ph = dup_n(t, tn);
		r->ph_len = tn;
	}

	/* the pattern: the rest of the line, less trailing blanks and CR */
	while (s < end && is_blank((unsigned char)*s)) s++;
	while (end > s && (is_blank((unsigned char)end[-1]) || end[-1] == '\r')) end--;
	if (s == end) return perr(p, "rule %s: missing pattern", r->name);
	r->src = dup_n(s, (size_t)(end - s));
	r->src_len = (size_t)(end - s);
	r->group = -1;
	int ec;
	PCRE2_SIZE eo;
	r->code = compile(r->src, r->src_len, cc, &ec, &eo);
	if (!r->code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(ec, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
		return perr(p, "rule %s: bad pattern at offset %zu: %s", r->name, (size_t)eo, (char *)msg);
	}
	uint32_t empty = 0, minlen = 0;
	pcre2_pattern_info(r->code, PCRE2_INFO_MATCHEMPTY, &empty);
	pcre2_pattern_info(r->code, PCRE2_INFO_MINLENGTH, &minlen);
	if (empty || !minlen)
		return perr(p, "rule %s: the pattern can match the empty string (it would match everywhere)",
			    r->name);
	if (r->check) {
		/* the check runs inside the match, in a callout at its end */
		wn_buf w = WN_BUF_INIT;
		wrap(&w, r->src, r->src_len, 1);
		pcre2_code *c = compile(w.data, w.len, cc, &ec, &eo);
		wn_buf_release(&w);
		if (!c)
			return perr(p, "rule %s: with check= the pattern must be closed (no open \\Q, no "
				    "(?x) comment at its end)", r->name);
		pcre2_code_free(r->code);
		r->code = c;
	}
	return 0;
}

/* Why rule r cannot be searched in an alternation with others, or NULL:
 * its pattern must mean the same there (no numbered back references or
 * calls, no verbs, \G or callouts of its own) and need= would restrict it
 * to lines the others do not share. */
static const char *not_groupable(const rx_rule *r)
{
	if (r->need) return "need= and group= do not go together";
	uint32_t refs = 1;
	pcre2_pattern_info(r->code, PCRE2_INFO_BACKREFMAX, &refs);
	if (refs) return "a grouped pattern cannot have back references";
	static const char *const bad[] = { "(*", "\\G", "\\g", "\\k", "(?R", "(?&", "(?P", "(?C", NULL };
	for (int i = 0; bad[i]; i++)
		if (memmem(r->src, r->src_len, bad[i], strlen(bad[i])))
			return "a grouped pattern cannot have verbs, \\G, callouts or calls of groups";
	for (size_t i = 0; i + 3 < r->src_len; i++) {
		const char *q = r->src + i;
		if (q[0] != '(' || q[1] != '?') continue;
		int c = q[2] == '+' || q[2] == '-' ? q[3] : q[2];
		if (c >= '0' && c <= '9') return "a grouped pattern cannot have calls of groups";
	}
	return NULL;
}

static int same_langs(const char *a, const char *b)
{
	if (!a || !b) return a == b;
	for (;;) {
		size_t k = strlen(a);
		if (strcmp(a, b)) return 0;
		if (!k) return 1;
		a += k + 1;
		b += k + 1;
	}
}

/* The groups of group=: the rules of one name, in file order, as one
 * alternation.  0, or an error naming the rule that does not fit. */
static int build_groups(pctx *p, wn_rx *rx, pcre2_compile_context *cc)
{
	for (int i = 0; i < rx->n; i++) {
		rx_rule *r = &rx->r[i];
		if (!r->gname || r->group >= 0) continue;
		rx_group g = { wn_malloc((size_t)rx->n * sizeof *g.m), 0, NULL, 0 };
		wn_buf w = WN_BUF_INIT;
		for (int k = i; k < rx->n; k++) {
			rx_rule *x = &rx->r[k];
			if (!x->gname || strcmp(x->gname, r->gname)) continue;
			const char *why = not_groupable(x);
			if (!why && !same_langs(x->langs, r->langs)) why = "the rules of a group need the same lang=";
			if (!why && g.n == 255) why = "a group has at most 255 rules";
			if (why) {
				p->line = x->line;
				free(g.m);
				wn_buf_release(&w);
				return perr(p, "rule %s: %s", x->name, why);
			}
			if (g.n) wn_buf_addc(&w, '|');
			wrap(&w, x->src, x->src_len, g.n + 1);
			g.m[g.n++] = k;
		}
		int ec;
		PCRE2_SIZE eo;
		if (g.n >= 2) g.code = compile(w.data, w.len, cc, &ec, &eo);
		wn_buf_release(&w);
		if (g.n >= 2 && !g.code) {
			p->line = r->line;
			free(g.m);
			return perr(p, "rule %s: group %s does not compile as one pattern (a (?x) comment or "
				    "an open \\Q at the end of a pattern?)", r->name, r->gname);
		}
		if (!g.code) {
			/* a group of one is the rule alone */
			free(g.m);
			continue;
		}
		rx->groups = wn_realloc(rx->groups, (size_t)(rx->ngroups + 1) * sizeof *rx->groups);
		for (int k = 0; k < g.n; k++) rx->r[g.m[k]].group = rx->ngroups;
		rx->groups[rx->ngroups++] = g;
	}
	return 0;
}

int wn_rx_parse(wn_rx **out, const char *text, size_t n, const char *name, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen) err[0] = 0;
	pctx p = { name ? name : "(rules)", 0, err, errlen };
	wn_rx *rx = wn_calloc(1, sizeof *rx);
	int cap = 0, rc = 0;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc) wn_die_oom();
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	const char *s = text, *end = text + n;
	while (s < end && !rc) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		p.line++;
		const char *q = s;
		while (q < le && (is_blank((unsigned char)*q) || *q == '\r')) q++;
		if (memchr(s, 0, (size_t)(le - s))) {
			rc = perr(&p, "NUL byte in the rules");
		} else if (q < le && *q != '#') {
			if (rx->n == cap) {
				cap = cap ? 2 * cap : 32;
				rx->r = wn_realloc(rx->r, (size_t)cap * sizeof *rx->r);
			}
			rx_rule *r = &rx->r[rx->n];
			memset(r, 0, sizeof *r);
			r->line = p.line;
			rc = parse_rule(&p, rx, q, le, cc, r);
			if (rc) rule_release(r);
			else rx->n++;
		}
		s = nl ? nl + 1 : end;
	}
	if (!rc) rc = build_groups(&p, rx, cc);
	pcre2_compile_context_free(cc);
	if (rc) {
		wn_rx_free(rx);
		return rc;
	}
	/* without JIT (an unsupported platform, no executable memory) the
	 * interpreter runs the same patterns, slower */
	for (int i = 0; i < rx->n; i++)
		rx->r[i].jit = pcre2_jit_compile(rx->r[i].code, PCRE2_JIT_COMPLETE) == 0;
	for (int g = 0; g < rx->ngroups; g++)
		rx->groups[g].jit = pcre2_jit_compile(rx->groups[g].code, PCRE2_JIT_COMPLETE) == 0;
	build_gates(rx);
	*out = rx;
	return 0;
}

int wn_rx_load(wn_rx **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	wn_buf b = WN_BUF_INIT;
	if (wn_buf_read_file(&b, path)) {
		if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(errno));
		wn_buf_release(&b);
		return WN_EIO;
	}
	int rc = wn_rx_parse(out, b.data, b.len, path, err, errlen);
	wn_buf_release(&b);
	return rc;
}

int wn_rx_nrules(const wn_rx *rx)
{
	return rx ? rx->n : 0;
}

const char *wn_rx_name(const wn_rx *rx, int i)
{
	return rx && i >= 0 && i < rx->n ? rx->r[i].name : NULL;
}

int wn_rx_action(const wn_rx *rx, int i)
{
	return rx && i >= 0 && i < rx->n ? rx->r[i].action : -1;
}

const char *wn_rx_action_name(int action)
{
	switch (action) {
	case WN_RX_REMOVE: return "remove";
	case WN_RX_REJECT: return "reject";
	case WN_RX_REPLACE: return "replace";
	}
	return NULL;
}

/* ---- validators -------------------------------------------------------- */

static int days_in_month(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
	return d[m - 1];
}

/* The digits of s[0..n) into d (at most max), skipping spaces and '-'; an X
 * or x is taken as the value 10 only where x_at says.  The count, or -1 for
 * any other character or too many digits. */
static int digits_of(const char *s, size_t n, int *d, int max, int x_at)
{
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == ' ' || c == '-') continue;
		if (k == max) return -1;
		if (c >= '0' && c <= '9') d[k++] = c - '0';
		else if ((c == 'X' || c == 'x') && k == x_at) d[k++] = 10;
		else return -1;
	}
	return k;
}

/* GB 11643: region, birth date YYYYMMDD, sequence, ISO 7064 MOD 11-2 check. */
static int check_cn_id(const char *s, size_t n)
{
	int d[18];
	if (digits_of(s, n, d, 18, 17) != 18 || d[0] == 0) return 0;
	int y = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9];
	int m = d[10] * 10 + d[11], day = d[12] * 10 + d[13];
	if (y < 1900 || y > 2099 || m < 1 || m > 12 || day < 1 || day > days_in_month(y, m)) return 0;
	/* weight of position i is 2^(17-i) mod 11 */
	int sum = 0, w = 1;
	for (int i = 16; i >= 0; i--) {
		w = w * 2 % 11;
		sum += d[i] * w;
	}
	return d[17] == (12 - sum % 11) % 11;
}

static int check_luhn(const char *s, size_t n)
{
	int d[19];
	int k = digits_of(s, n, d, 19, -1);
	if (k < 13) return 0;
	int sum = 0, same = 1;
	for (int i = 0; i < k; i++) {
		int v = d[k - 1 - i];
		if (i & 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
		sum += v;
		same &= d[i] == d[0];
	}
	return sum % 10 == 0 && !same;
}

static int check_ipv4(const char *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i == n || s[i] != '.') return 0;
			i++;
		}
		int v = 0, k = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && k < 4) {
			v = v * 10 + (s[i++] - '0');
			k++;
		}
		if (!k || k > 3 || v > 255) return 0;
	}
	return i == n;
}

static int check_ok(int check, const char *s, size_t n)
{
	switch (check) {
	case CHECK_CN_ID: return check_cn_id(s, n);
	case CHECK_LUHN: return check_luhn(s, n);
	case CHECK_IPV4: return check_ipv4(s, n);
	}
	return 1;
}

/* ---- state ------------------------------------------------------------- */

/* The callout at the end of a rule's pattern (with check=) or of a group
 * member: fail the match when the check fails, so that PCRE2 goes on
 * looking, else note whose match it is. */
static int on_callout(pcre2_callout_block *cb, void *data)
{
	wn_rx_state *st = data;
	const wn_rx *rx = st->rx;
	int ri = st->cb_group >= 0 ? rx->groups[st->cb_group].m[cb->callout_number - 1] : st->cb_rule;
	const rx_rule *r = &rx->r[ri];
	if (r->check && !check_ok(r->check, (const char *)cb->subject + cb->start_match,
				  cb->current_position - cb->start_match))
		return 1;
	st->cb_member = ri;
	return 0;
}

wn_rx_state *wn_rx_state_new(const wn_rx *rx)
{
	wn_rx_state *st = wn_calloc(1, sizeof *st);
	size_t n = (size_t)rx->n + 1;
	st->rx = rx;
	st->md = pcre2_match_data_create(1, NULL);
	st->mc = pcre2_match_context_create(NULL);
	if (!st->md || !st->mc) wn_die_oom();
	pcre2_set_match_limit(st->mc, MATCH_LIMIT);
	pcre2_set_callout(st->mc, on_callout, st);
	st->js = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
	if (st->js) pcre2_jit_stack_assign(st->mc, NULL, st->js);
	st->on = wn_calloc(n, 1);
	st->skip = wn_calloc(n, 1);
	st->dc = wn_calloc(n, sizeof *st->dc);
	st->errors = wn_calloc(n, sizeof *st->errors);
	st->rn = wn_calloc(n, sizeof *st->rn);
	st->pend = wn_calloc(n, sizeof *st->pend);
	st->units = wn_calloc(n, sizeof *st->units);
	wn_buf_init(&st->kept, 0);
	wn_buf_init(&st->rep, 0);
	return st;
}

void wn_rx_state_free(wn_rx_state *st)
{
	if (!st) return;
	pcre2_match_data_free(st->md);
	pcre2_match_context_free(st->mc);
	pcre2_jit_stack_free(st->js);
	free(st->on);
	free(st->skip);
	free(st->dc);
	free(st->errors);
	for (int i = 0; i < st->rx->n; i++) free(st->rn[i].v);
	free(st->rn);
	free(st->pend);
	free(st->units);
	free(st->sp);
	free(st->nsp);
	free(st->msp);
	wn_buf_release(&st->kept);
	wn_buf_release(&st->rep);
	free(st);
}

uint64_t wn_rx_errors(const wn_rx_state *st, int i)
{
	if (i >= 0) return i < st->rx->n ? st->errors[i] : 0;
	uint64_t s = 0;
	for (int k = 0; k < st->rx->n; k++) s += st->errors[k];
	return s;
}

/* on[] and what follows from it for the document language; kept for the
 * next document in the same language. */
static void select_rules(wn_rx_state *st, const char *lang)
{
	if (!lang) lang = "";
	size_t n = strlen(lang);
	if (st->lang_cached && n <= MAX_LANG && !strcmp(st->lang, lang)) return;
	const wn_rx *rx = st->rx;
	st->gated = 0;
	for (int i = 0; i < rx->n; i++) {
		const rx_rule *r = &rx->r[i];
		st->on[i] = (unsigned char)rule_admits(r, lang);
		if (!st->on[i]) continue;
		if (r->need) st->gated |= 1 << r->action;
	}
	/* the smallest gate that covers every rule that runs (gates[0]
	 * covers all) */
	st->gate = NULL;
	for (int g = rx->ngates - 1; g >= 0; g--) {
		int ok = 1;
		for (int i = 0; i < rx->n && ok; i++)
			ok = !(st->on[i] && rx->r[i].need) || rx->gates[g].covers[i];
		if (ok && (!st->gate || rx->gates[g].n < st->gate->n)) st->gate = &rx->gates[g];
	}
	/* the replace phase's searches, in file order of their first rule */
	st->nunits = 0;
	for (int i = 0; i < rx->n; i++) {
		const rx_rule *r = &rx->r[i];
		if (r->action != WN_RX_REPLACE || !st->on[i]) continue;
		if (r->group < 0) st->units[st->nunits++] = i;
		else if (rx->groups[r->group].m[0] == i) st->units[st->nunits++] = ~r->group;
	}
	st->lang_cached = n <= MAX_LANG;
	if (st->lang_cached) memcpy(st->lang, lang, n + 1);
}

/* ---- lines ------------------------------------------------------------- */

/* Code points in s[0..n): the bytes that are not UTF-8 continuations. */
static size_t cp_count(const char *s, size_t n)
{
	size_t c = 0, i = 0;
#ifdef __SSE2__
	/* continuation bytes 0x80-0xBF are the signed bytes below -64 */
	const __m128i lim = _mm_set1_epi8(-65);
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(s + i));
		c += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(v, lim)));
	}
#endif
	for (; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Is t[0..n) at most max code points long? */
static int short_line(const char *t, size_t n, size_t max)
{
	if (n <= max) return 1;
	if (n > 4 * max) return 0;
	return cp_count(t, n) <= max;
}

static void push_span(span **v, size_t *k, size_t *cap, size_t a, size_t b)
{
	if (*k == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = wn_realloc(*v, *cap * sizeof **v);
	}
	(*v)[*k].a = a;
	(*v)[*k].b = b;
	(*k)++;
}

/* Append the line(s) [a, b] to a rule's runs, joining a run that ends on
 * the line before. */
static void add_run(runs *R, size_t a, size_t b)
{
	if (R->n && R->v[R->n - 1].b + 1 == a) R->v[R->n - 1].b = b;
	else push_span(&R->v, &R->n, &R->cap, a, b);
}

/* ---- the gate: lines that hold a needle --------------------------------- */

/* t[pos] starts a needle of rule ri: its line joins the rule's runs,
 * unless the gate has been there already or the line is over maxlen=. */
static void gate_hit(wn_rx_state *st, int ri, const char *t, size_t n, size_t pos)
{
	runs *R = &st->rn[ri];
	if (pos < R->seen) return;
	const char *q = pos > R->seen ? memrchr(t + R->seen, '\n', pos - R->seen) : NULL;
	size_t a = q ? (size_t)(q - t) + 1 : R->seen;
	q = memchr(t + pos, '\n', n - pos);
	size_t b = q ? (size_t)(q - t) : n;
	R->seen = b + 1;
	size_t max = st->rx->r[ri].maxlen;
	if (max && !short_line(t + a, b - a, max)) return;
	add_run(R, a, b);
}

/* Is needle x at t[at..]? */
static int needle_at(const needle *x, const char *t, size_t n, size_t at)
{
	if ((size_t)x->len > n - at) return 0;
	const unsigned char *p = (const unsigned char *)t + at;
	for (int i = 0; i < x->len; i++) {
		int c = p[i];
		if (x->cls[i] == NB_LIT ? ascii_lower(c) != x->s[i]
		    : x->cls[i] == NB_DIGIT ? !(c >= '0' && c <= '9') : hexval(c) < 0)
			return 0;
	}
	return 1;
}

/* Needle j of the gate is at t[at]: note it for its rules. */
static void gate_found(wn_rx_state *st, int j, const char *t, size_t n, size_t at, int actions)
{
	const needle *x = &st->gate->nd[j];
	for (int r = 0; r < x->nrules; r++) {
		int ri = x->rules[r];
		if (st->on[ri] && (actions >> st->rx->r[ri].action & 1)) gate_hit(st, ri, t, n, at);
	}
}

/* A candidate fingerprint at t[pos] for the buckets in `bits`: the needles
 * with this fingerprint, and the loose needles of those buckets. */
static void gate_check(wn_rx_state *st, unsigned bits, const char *t, size_t n, size_t pos, int actions)
{
	const gate *g = st->gate;
	if (n - pos >= FP) {
		uint32_t key;
		memcpy(&key, t + pos, 4);
		key = lower4(key);
		for (int j = g->hhead[fp_hash(key, g->hbits)]; j >= 0; j = g->hnext[j]) {
			const needle *x = &g->nd[j];
			if (g->fpkey[j] == key && pos >= (size_t)x->off && needle_at(x, t, n, pos - (size_t)x->off))
				gate_found(st, j, t, n, pos - (size_t)x->off, actions);
		}
	}
	while (bits) {
		int b = __builtin_ctz(bits);
		bits &= bits - 1;
		for (int k = 0; k < g->nloose[b]; k++) {
			int j = g->loose[b][k];
			const needle *x = &g->nd[j];
			if (pos >= (size_t)x->off && needle_at(x, t, n, pos - (size_t)x->off))
				gate_found(st, j, t, n, pos - (size_t)x->off, actions);
		}
	}
}

/* The runs of lines of t[0..n) that hold a needle, for each rule with
 * need= whose action bit is in `actions`.  One pass over the text, 16
 * positions a step: for each fingerprint byte k, byte shuffles look the
 * nibbles of the 16 bytes from k on up in lo[.][k] and hi[.][k], and the
 * ANDs over k leave, per position, the buckets that accept all FP bytes
 * (SSSE3; a plain loop elsewhere). */
static void gate_scan(wn_rx_state *st, const char *t, size_t n, int actions)
{
	const wn_rx *rx = st->rx;
	const gate *g = st->gate;
	for (int i = 0; i < rx->n; i++)
		if (rx->r[i].need) st->rn[i].n = st->rn[i].at = st->rn[i].seen = 0;
	size_t i = 0;
#ifdef __SSSE3__
	unsigned char tail[16 + FP + 16];
	const __m128i nib = _mm_set1_epi8(0x0f), zero = _mm_setzero_si128();
#define LD(h, k) _mm_loadu_si128((const __m128i *)g->h[k / FP][k % FP])
	const __m128i lo0 = LD(lo, 0), lo1 = LD(lo, 1), lo2 = LD(lo, 2), lo3 = LD(lo, 3);
	const __m128i lo4 = LD(lo, 4), lo5 = LD(lo, 5), lo6 = LD(lo, 6), lo7 = LD(lo, 7);
	const __m128i hi0 = LD(hi, 0), hi1 = LD(hi, 1), hi2 = LD(hi, 2), hi3 = LD(hi, 3);
	const __m128i hi4 = LD(hi, 4), hi5 = LD(hi, 5), hi6 = LD(hi, 6), hi7 = LD(hi, 7);
#undef LD
	for (; i < n; i += 16) {
		const unsigned char *p = (const unsigned char *)t + i;
		if (n - i < 16 + FP) {
			memset(tail, 0, sizeof tail);
			memcpy(tail, p, n - i);
			p = tail;
		}
		__m128i v, l, h, r0, r1;
#define STEP(k, lA, hA, lB, hB)                                                      \
	v = _mm_loadu_si128((const __m128i *)(p + k));                                \
	l = _mm_and_si128(v, nib);                                                    \
	h = _mm_and_si128(_mm_srli_epi16(v, 4), nib);                                 \
	r0 = _mm_and_si128(r0, _mm_and_si128(_mm_shuffle_epi8(lA, l), _mm_shuffle_epi8(hA, h))); \
	r1 = _mm_and_si128(r1, _mm_and_si128(_mm_shuffle_epi8(lB, l), _mm_shuffle_epi8(hB, h)))
		r0 = r1 = _mm_set1_epi8((char)0xff);
		STEP(0, lo0, hi0, lo4, hi4);
		STEP(1, lo1, hi1, lo5, hi5);
		STEP(2, lo2, hi2, lo6, hi6);
		STEP(3, lo3, hi3, lo7, hi7);
#undef STEP
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(r0, r1), zero)) ^ 0xffffu;
		if (!m) continue;
		unsigned char b0[16], b1[16];
		_mm_storeu_si128((__m128i *)b0, r0);
		_mm_storeu_si128((__m128i *)b1, r1);
		while (m) {
			int j = __builtin_ctz(m);
			m &= m - 1;
			if (i + (size_t)j < n)
				gate_check(st, b0[j] | (unsigned)b1[j] << 8, t, n, i + (size_t)j, actions);
		}
	}
#else
	for (; i < n; i++) {
		unsigned bits = 0xffff;
		for (int k = 0; k < FP; k++) {
			unsigned c = i + (size_t)k < n ? (unsigned char)t[i + (size_t)k] : 0;
			bits &= (g->lo[0][k][c & 15] & g->hi[0][k][c >> 4]) |
				(unsigned)(g->lo[1][k][c & 15] & g->hi[1][k][c >> 4]) << 8;
		}
		if (bits) gate_check(st, bits, t, n, i, actions);
	}
#endif
}

/* ---- matching ---------------------------------------------------------- */

static int run(wn_rx_state *st, const pcre2_code *code, int jit, const char *s, size_t n, size_t off)
{
	if (jit) return pcre2_jit_match(code, (PCRE2_SPTR)s, n, off, 0, st->md, st->mc);
	return pcre2_match(code, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, st->md, st->mc);
}

/* The next match of unit u (rule u, or group ~u) in t[0..n) that starts at
 * or after `from` (a code point boundary) and passes its check: 1 with
 * [*ms, *me) and the rule that made it in *mr; 0 when there is none; a
 * PCRE2 error code (< 0) when the search failed.  A rule with need=
 * searches only its runs of lines, each on its own. */
static int next_match(wn_rx_state *st, int u, const char *t, size_t n, size_t from,
		      size_t *ms, size_t *me, int *mr)
{
	const wn_rx *rx = st->rx;
	const pcre2_code *code;
	int jit, restricted = 0;
	runs *R = NULL;
	if (u >= 0) {
		const rx_rule *r = &rx->r[u];
		code = r->code;
		jit = r->jit;
		restricted = r->need != NULL;
		R = &st->rn[u];
		st->cb_rule = u;
		st->cb_group = -1;
	} else {
		code = rx->groups[~u].code;
		jit = rx->groups[~u].jit;
		st->cb_group = ~u;
	}
	while (from < n) {
		size_t base = 0, end = n;
		if (restricted) {
			while (R->at < R->n && R->v[R->at].b < from) R->at++;
			if (R->at == R->n) return 0;
			base = R->v[R->at].a;
			end = R->v[R->at].b;
			if (from < base) from = base;
		}
		st->cb_member = u;
		int rc = run(st, code, jit, t + base, end - base, from - base);
		if (rc == PCRE2_ERROR_NOMATCH) {
			if (!restricted) return 0;
			from = end + 1;
			continue;
		}
		if (rc < 0) return rc;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
		size_t s = base + ov[0], e = base + ov[1];
		if (e <= s) {
			/* an empty match (refused at load, but \K can make one):
			 * step over one code point */
			from = s + 1;
			while (from < n && ((unsigned char)t[from] & 0xC0) == 0x80) from++;
			continue;
		}
		*ms = s;
		*me = e;
		*mr = st->cb_member;
		return 1;
	}
	return 0;
}

/* Rewind every rule's runs for the next phase on the same text. */
static void rewind_runs(wn_rx_state *st)
{
	for (int i = 0; i < st->rx->n; i++) st->rn[i].at = 0;
}

/* ---- phase 1: reject --------------------------------------------------- */

static int reject_phase(wn_rx_state *st, const char *t, size_t n)
{
	const wn_rx *rx = st->rx;
	for (int i = 0; i < rx->n; i++) {
		const rx_rule *r = &rx->r[i];
		if (r->action != WN_RX_REJECT || !st->on[i]) continue;
		uint64_t c = 0;
		size_t from = 0, s, e;
		int who;
		while (c < r->min) {
			int rc = next_match(st, i, t, n, from, &s, &e, &who);
			if (rc == 0) break;
			if (rc < 0) {
				st->errors[i]++;
				c = 0;
				break;
			}
			c++;
			from = e;
		}
		if (c >= r->min) return i;
	}
	return -1;
}

/* ---- phase 2: remove --------------------------------------------------- */

/* Lines in the spans: one per span plus one per LF inside it. */
static size_t span_lines(const char *t, const span *sp, size_t k)
{
	size_t lines = 0;
	for (size_t i = 0; i < k; i++) {
		lines++;
		const char *p = t + sp[i].a, *end = t + sp[i].b;
		while ((p = memchr(p, '\n', (size_t)(end - p)))) {
			lines++;
			p++;
		}
	}
	return lines;
}

/* sp = sp U nsp, both sorted; spans that overlap or hold adjacent lines
 * become one. */
static void merge_spans(wn_rx_state *st)
{
	size_t i = 0, j = 0, k = 0, need = st->sp_n + st->nsp_n;
	if (need > st->msp_cap) {
		st->msp_cap = need;
		st->msp = wn_realloc(st->msp, need * sizeof *st->msp);
	}
	span *m = st->msp;
	while (i < st->sp_n || j < st->nsp_n) {
		span x;
		if (j == st->nsp_n || (i < st->sp_n && st->sp[i].a <= st->nsp[j].a)) x = st->sp[i++];
		else x = st->nsp[j++];
		if (k && x.a <= m[k - 1].b + 1) {
			if (x.b > m[k - 1].b) m[k - 1].b = x.b;
		} else {
			m[k++] = x;
		}
	}
	span *old = st->sp;
	size_t oldcap = st->sp_cap;
	st->sp = m;
	st->sp_cap = st->msp_cap;
	st->sp_n = k;
	st->msp = old;
	st->msp_cap = oldcap;
}

/* Mark the lines of the remove rules in st->sp; counts in st->dc. */
static void remove_phase(wn_rx_state *st, const char *t, size_t n)
{
	const wn_rx *rx = st->rx;
	size_t lines = 0;
	st->sp_n = 0;
	for (int i = 0; i < rx->n; i++) {
		const rx_rule *r = &rx->r[i];
		if (r->action != WN_RX_REMOVE || !st->on[i]) continue;
		st->nsp_n = 0;
		size_t from = 0, s, e;
		int failed = 0, who;
		while (from < n) {
			int rc = next_match(st, i, t, n, from, &s, &e, &who);
			if (rc == 0) break;
			if (rc < 0) {
				st->errors[i]++;
				failed = 1;
				break;
			}
			/* `from` is a line start: the line of s starts after the
			 * last LF in [from, s); the match's lines end at the LF
			 * after its last byte */
			const char *q = s > from ? memrchr(t + from, '\n', s - from) : NULL;
			size_t ls = q ? (size_t)(q - t) + 1 : from;
			if (r->maxlen && !r->need) {
				/* a match in a line over maxlen= does not count;
				 * go on at the next line */
				q = memchr(t + s, '\n', n - s);
				size_t l1 = q ? (size_t)(q - t) : n;
				if (!short_line(t + ls, l1 - ls, r->maxlen)) {
					from = l1 + 1;
					continue;
				}
			}
			q = memchr(t + e - 1, '\n', n - (e - 1));
			size_t le = q ? (size_t)(q - t) : n;
			push_span(&st->nsp, &st->nsp_n, &st->nsp_cap, ls, le);
			from = le + 1;
		}
		if (failed || !st->nsp_n) continue;
		merge_spans(st);
		size_t now = span_lines(t, st->sp, st->sp_n);
		st->dc[i] += now - lines;
		lines = now;
	}
	rewind_runs(st);
}

/* The text less the removed lines, into st->kept (see regex.h). */
static void build_kept(wn_rx_state *st, const char *t, size_t n)
{
	wn_buf *b = &st->kept;
	wn_buf_reset(b);
	size_t pos = 0;
	for (size_t i = 0; i < st->sp_n; i++) {
		size_t a = st->sp[i].a, z = st->sp[i].b;
		if (z < n) {
			wn_buf_add(b, t + pos, a - pos);
			pos = z + 1;
		} else {
			/* the last line goes, and with it the LF before it */
			size_t cut = a ? a - 1 : 0;
			wn_buf_add(b, t + pos, cut - pos);
			pos = n;
		}
	}
	wn_buf_add(b, t + pos, n - pos);
}

/* ---- phase 3: replace -------------------------------------------------- */

/* Skip the rules of unit u in this document: its search failed. */
static void unit_failed(wn_rx_state *st, int u)
{
	if (u >= 0) {
		st->errors[u]++;
		st->skip[u] = 1;
		return;
	}
	const rx_group *g = &st->rx->groups[~u];
	for (int k = 0; k < g->n; k++) {
		st->errors[g->m[k]]++;
		st->skip[g->m[k]] = 1;
	}
}

/* 1 when something was replaced (st->rep holds the new text), 0 when not,
 * 2 when a search failed on a limit: the phase must run again without its
 * rules.  Each unit keeps its next match; the leftmost wins, and between
 * equal starts the unit listed first, whose match comes from its first
 * rule that matches there (a group's alternation tries its members in
 * file order), so the result is the same as rule by rule. */
static int replace_phase(wn_rx_state *st, const char *t, size_t n)
{
	const wn_rx *rx = st->rx;
	int any = 0;
	for (int k = 0; k < st->nunits; k++) {
		pending *p = &st->pend[k];
		int u = st->units[k];
		p->has = 0;
		if (st->skip[u >= 0 ? u : rx->groups[~u].m[0]]) continue;
		int rc = next_match(st, u, t, n, 0, &p->s, &p->e, &p->rule);
		if (rc < 0) {
			unit_failed(st, u);
			continue;
		}
		p->has = rc;
		any |= rc;
	}
	if (!any) return 0;
	wn_buf *b = &st->rep;
	wn_buf_reset(b);
	size_t cur = 0;
	for (;;) {
		int best = -1;
		for (int k = 0; k < st->nunits; k++) {
			const pending *p = &st->pend[k];
			if (p->has && (best < 0 || p->s < st->pend[best].s ||
				       (p->s == st->pend[best].s && p->rule < st->pend[best].rule)))
				best = k;
		}
		if (best < 0) break;
		pending *p = &st->pend[best];
		const rx_rule *r = &rx->r[p->rule];
		wn_buf_add(b, t + cur, p->s - cur);
		wn_buf_add(b, r->ph, r->ph_len);
		st->dc[p->rule]++;
		cur = p->e;
		for (int k = 0; k < st->nunits; k++) {
			pending *q = &st->pend[k];
			if (!q->has || q->s >= cur) continue;
			int m = next_match(st, st->units[k], t, n, cur, &q->s, &q->e, &q->rule);
			if (m < 0) {
				unit_failed(st, st->units[k]);
				return 2;
			}
			q->has = m;
		}
	}
	wn_buf_add(b, t + cur, n - cur);
	return 1;
}

/* ---- apply ------------------------------------------------------------- */

int wn_rx_apply(wn_rx_state *st, const char *text, size_t n, const char *lang, wn_buf *out,
		int *changed, int *rule, uint64_t *counts)
{
	const wn_rx *rx = st->rx;
	*changed = 0;
	*rule = -1;
	if (!n || !rx->n) return WN_RX_KEEP;
	select_rules(st, lang);
	memset(st->dc, 0, (size_t)rx->n * sizeof *st->dc);
	memset(st->skip, 0, (size_t)rx->n);

	if (st->gated) gate_scan(st, text, n, st->gated);
	int rj = reject_phase(st, text, n);
	if (rj >= 0) {
		*rule = rj;
		if (counts) counts[rj]++;
		return WN_RX_REJECT;
	}
	rewind_runs(st);
	remove_phase(st, text, n);

	const char *t = text;
	size_t tn = n;
	int removed = st->sp_n > 0;
	if (removed) {
		build_kept(st, text, n);
		t = st->kept.data;
		tn = st->kept.len;
		if (st->gated >> WN_RX_REPLACE & 1) gate_scan(st, t, tn, 1 << WN_RX_REPLACE);
	}
	int rc;
	for (;;) {
		rc = tn ? replace_phase(st, t, tn) : 0;
		rewind_runs(st);
		if (rc != 2) break;
		for (int i = 0; i < rx->n; i++)
			if (rx->r[i].action == WN_RX_REPLACE) st->dc[i] = 0;
	}
	if (rc == 1) {
		t = st->rep.data;
		tn = st->rep.len;
	} else if (!removed) {
		return WN_RX_KEEP;
	}
	if (out->max && tn > out->max) return WN_ETOOBIG;
	wn_buf_reset(out);
	if ((rc = wn_buf_add(out, t, tn))) return rc;
	*changed = 1;
	if (counts)
		for (int i = 0; i < rx->n; i++) counts[i] += st->dc[i];
	return WN_RX_KEEP;
}
