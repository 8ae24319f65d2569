/*
 * html.c - main-text extraction from HTML with gumbo (html.h).
 *
 * Layout of this file: the arena gumbo allocates from (which also enforces
 * the parse's budgets); encodings (label table, BOM, UTF-8 validation, the
 * <meta> prescan, iconv conversion); element classification (tag table,
 * attribute rules, class/id words); the measuring pass; the emitting pass;
 * parsing that survives gumbo's assertions; wn_html_extract().
 *
 * Both passes walk the tree with an explicit stack, never recursion, so a
 * page of a million nested <div> costs memory, not the C stack.  The
 * measuring pass numbers the elements it enters in document order and
 * keeps one record per element (flags, text and link characters, subtree
 * size); the emitting pass walks the same elements in the same order and
 * finds each record by the same counter, skipping a removed subtree by its
 * size.  The tree is never freed node by node: the arena is reset.
 */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gumbo.h>

#include "html.h"
#include "../lib/err.h"

#define DEFAULT_MAX_INPUT ((size_t)16 << 20)
#define HARD_MAX_INPUT ((size_t)1 << 30)
#define PRESCAN_BYTES 1024
#define ARENA_CHUNK ((size_t)1 << 20)
#define ARENA_KEEP ((size_t)16 << 20) /* largest chunk kept between pages */
#define LD_SHORT 1000                 /* "short" container, in characters */
#define LD_NONLINK 200                /* ... or with less text outside links */
#define LD_PARA 0.9                   /* paragraph link share that removes */
#define WEAK_TINY 60                  /* a weakly marked element this small goes */
#define WEAK_LINKS 0.5                /* ... and one with this link share */
#define MAX_MAIN 8
/* what one parse may spend: CPU time of the thread and arena memory */
#define TIME_BASE_MS 200
#define TIME_PER_MB_MS 500            /* about 20 times the usual cost */
#define MEM_BASE ((size_t)128 << 20)
#define MEM_PER_BYTE 48

/* ---- the arena ---------------------------------------------------------- */

typedef struct chunk {
	struct chunk *next;
	size_t cap, used;
} chunk;

#define CHUNK_HDR ((sizeof(chunk) + 15) & ~(size_t)15)

typedef struct arena {
	chunk *head;
	size_t total;         /* bytes in chunks */
	/* while gumbo runs: where to jump when a budget is spent */
	sigjmp_buf *jump;
	size_t max_total;     /* memory budget in bytes */
	uint64_t deadline;    /* CPU-time budget, ns of this thread's clock */
	unsigned tick;
} arena;

enum { JUMP_ABORT = 1, JUMP_TIME = 2, JUMP_MEMORY = 3 };

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* gumbo allocates for every token, so its allocator is where a parse that
 * went quadratic (a million nested <div>, a tag with 200,000 attributes:
 * gumbo scans the open elements or the attributes for each) is stopped:
 * a synchronous jump back to guarded_parse(), no signal involved. */
static void arena_check(arena *a, size_t more)
{
	if (!a->jump) return;
	int why = 0;
	if (a->total + more > a->max_total) why = JUMP_MEMORY;
	else if (!(++a->tick & 1023) && thread_ns() > a->deadline) why = JUMP_TIME;
	if (why) {
		sigjmp_buf *j = a->jump;
		a->jump = NULL;
		siglongjmp(*j, why);
	}
}

static void *arena_alloc(void *ud, size_t n)
{
	arena *a = ud;
	n = (n + 15) & ~(size_t)15;
	arena_check(a, 0);
	chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : ARENA_CHUNK;
		if (cap > (size_t)64 << 20) cap = (size_t)64 << 20;
		if (cap < n) cap = n;
		arena_check(a, cap);
		chunk *d = wn_malloc(CHUNK_HDR + cap);
		a->total += cap;
		d->cap = cap;
		d->used = 0;
		d->next = c;
		a->head = c = d;
	}
	void *p = (char *)c + CHUNK_HDR + c->used;
	c->used += n;
	return p;
}

static void arena_free(void *ud, void *p)
{
	(void)ud;
	(void)p;
}

/* Drop everything; keep the newest chunk if it is not huge. */
static void arena_reset(arena *a)
{
	chunk *c = a->head, *keep = NULL;
	if (c && c->cap <= ARENA_KEEP) {
		keep = c;
		c = c->next;
		keep->next = NULL;
		keep->used = 0;
	}
	while (c) {
		chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = keep;
	a->total = keep ? keep->cap : 0;
}

/* ---- the handle --------------------------------------------------------- */

typedef struct rec {
	uint32_t text;  /* letters and digits below, removed subtrees excluded */
	uint32_t link;  /* of which inside <a href> (URL-like link text excepted) */
	uint32_t clean; /* of the text, what is outside class/id-marked elements */
	uint32_t links; /* <a href> elements below */
	uint32_t size;  /* elements in the subtree, this one included */
	uint16_t flags; /* F_* */
} rec;

typedef struct frame {
	GumboNode *node;
	uint32_t idx;   /* record index */
	uint32_t child; /* next child to visit */
	size_t mark;    /* output length at entry (emitting pass) */
	int saved;      /* saved row cell count (tr) */
} frame;

struct wn_html {
	wn_html_opts o;
	arena ar;
	wn_buf conv;      /* the page converted to UTF-8 */
	wn_buf conv2;     /* the page with foreign content renamed */
	rec *recs;
	size_t nrecs, caprecs;
	frame *stack;
	size_t capstack;
	iconv_t cd;       /* cached converter and its source encoding */
	char cd_from[40];
};

wn_html *wn_html_new(const wn_html_opts *o)
{
	wn_html *h = wn_calloc(1, sizeof *h);
	if (o) h->o = *o;
	if (!h->o.max_input) h->o.max_input = DEFAULT_MAX_INPUT;
	if (h->o.max_input > HARD_MAX_INPUT) h->o.max_input = HARD_MAX_INPUT;
	if (!(h->o.link_density > 0)) h->o.link_density = 0.5;
	wn_buf_init(&h->conv, 0);
	wn_buf_init(&h->conv2, 0);
	h->cd = (iconv_t)-1;
	return h;
}

void wn_html_free(wn_html *h)
{
	if (!h) return;
	arena_reset(&h->ar);
	free(h->ar.head);
	wn_buf_release(&h->conv);
	wn_buf_release(&h->conv2);
	free(h->recs);
	free(h->stack);
	if (h->cd != (iconv_t)-1) iconv_close(h->cd);
	free(h);
}

void wn_html_result_init(wn_html_result *r)
{
	memset(r, 0, sizeof *r);
	wn_buf_init(&r->text, 0);
	wn_buf_init(&r->title, 0);
	r->charset = "utf-8";
	r->charset_from = "default";
	r->root = "body";
}

void wn_html_result_release(wn_html_result *r)
{
	wn_buf_release(&r->text);
	wn_buf_release(&r->title);
}

static frame *stack_at(wn_html *h, size_t depth)
{
	if (depth >= h->capstack) {
		h->capstack = h->capstack ? h->capstack * 2 : 256;
		h->stack = wn_realloc(h->stack, h->capstack * sizeof *h->stack);
	}
	return &h->stack[depth];
}

static uint32_t new_rec(wn_html *h)
{
	if (h->nrecs == h->caprecs) {
		h->caprecs = h->caprecs ? h->caprecs * 2 : 1024;
		h->recs = wn_realloc(h->recs, h->caprecs * sizeof *h->recs);
	}
	rec *r = &h->recs[h->nrecs];
	r->text = r->link = r->clean = r->links = 0;
	r->size = 1;
	r->flags = 0;
	return (uint32_t)h->nrecs++;
}

/* ---- encodings ---------------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

typedef struct encoding {
	const char *name;  /* canonical (WHATWG) name */
	const char *iconv; /* glibc iconv name */
} encoding;

enum {
	E_UTF8, E_1252, E_GBK, E_GB18030, E_BIG5, E_SJIS, E_EUCJP, E_2022JP,
	E_EUCKR, E_KOI8R, E_KOI8U, E_1250, E_1251, E_1253, E_1254, E_1255,
	E_1256, E_1257, E_1258, E_874, E_8859_2, E_8859_3, E_8859_4, E_8859_5,
	E_8859_6, E_8859_7, E_8859_8, E_8859_10, E_8859_13, E_8859_14,
	E_8859_15, E_8859_16, E_UTF16LE, E_UTF16BE, E_MAC, E_866,
};

static const encoding encodings[] = {
	[E_UTF8] = { "utf-8", "UTF-8" },
	[E_1252] = { "windows-1252", "CP1252" },
	[E_GBK] = { "gbk", "GB18030" },
	[E_GB18030] = { "gb18030", "GB18030" },
	[E_BIG5] = { "big5", "BIG5-HKSCS" },
	[E_SJIS] = { "shift_jis", "CP932" },
	[E_EUCJP] = { "euc-jp", "EUC-JP" },
	[E_2022JP] = { "iso-2022-jp", "ISO-2022-JP" },
	[E_EUCKR] = { "euc-kr", "CP949" },
	[E_KOI8R] = { "koi8-r", "KOI8-R" },
	[E_KOI8U] = { "koi8-u", "KOI8-U" },
	[E_1250] = { "windows-1250", "CP1250" },
	[E_1251] = { "windows-1251", "CP1251" },
	[E_1253] = { "windows-1253", "CP1253" },
	[E_1254] = { "windows-1254", "CP1254" },
	[E_1255] = { "windows-1255", "CP1255" },
	[E_1256] = { "windows-1256", "CP1256" },
	[E_1257] = { "windows-1257", "CP1257" },
	[E_1258] = { "windows-1258", "CP1258" },
	[E_874] = { "windows-874", "CP874" },
	[E_8859_2] = { "iso-8859-2", "ISO-8859-2" },
	[E_8859_3] = { "iso-8859-3", "ISO-8859-3" },
	[E_8859_4] = { "iso-8859-4", "ISO-8859-4" },
	[E_8859_5] = { "iso-8859-5", "ISO-8859-5" },
	[E_8859_6] = { "iso-8859-6", "ISO-8859-6" },
	[E_8859_7] = { "iso-8859-7", "ISO-8859-7" },
	[E_8859_8] = { "iso-8859-8", "ISO-8859-8" },
	[E_8859_10] = { "iso-8859-10", "ISO-8859-10" },
	[E_8859_13] = { "iso-8859-13", "ISO-8859-13" },
	[E_8859_14] = { "iso-8859-14", "ISO-8859-14" },
	[E_8859_15] = { "iso-8859-15", "ISO-8859-15" },
	[E_8859_16] = { "iso-8859-16", "ISO-8859-16" },
	[E_UTF16LE] = { "utf-16le", "UTF-16LE" },
	[E_UTF16BE] = { "utf-16be", "UTF-16BE" },
	[E_MAC] = { "macintosh", "MACINTOSH" },
	[E_866] = { "ibm866", "CP866" },
};

/* Labels as browsers read them (the WHATWG Encoding Standard's table, the
 * common part of it). */
static const struct { const char *label; unsigned char enc; } labels[] = {
	{ "utf-8", E_UTF8 }, { "utf8", E_UTF8 }, { "unicode-1-1-utf-8", E_UTF8 },
	{ "x-unicode20utf8", E_UTF8 }, { "unicode20utf8", E_UTF8 },
	{ "windows-1252", E_1252 }, { "cp1252", E_1252 }, { "x-cp1252", E_1252 },
	{ "iso-8859-1", E_1252 }, { "iso8859-1", E_1252 }, { "iso88591", E_1252 },
	{ "iso_8859-1", E_1252 }, { "iso_8859-1:1987", E_1252 }, { "latin1", E_1252 },
	{ "l1", E_1252 }, { "us-ascii", E_1252 }, { "ascii", E_1252 },
	{ "ansi_x3.4-1968", E_1252 }, { "cp819", E_1252 }, { "ibm819", E_1252 },
	{ "iso-ir-100", E_1252 }, { "csisolatin1", E_1252 }, { "iso-8859-1:1987", E_1252 },
	{ "gbk", E_GBK }, { "gb2312", E_GBK }, { "x-gbk", E_GBK }, { "chinese", E_GBK },
	{ "csgb2312", E_GBK }, { "gb_2312", E_GBK }, { "gb_2312-80", E_GBK },
	{ "iso-ir-58", E_GBK }, { "csiso58gb231280", E_GBK }, { "cp936", E_GBK },
	{ "ms936", E_GBK }, { "windows-936", E_GBK }, { "euc-cn", E_GBK },
	{ "gb18030", E_GB18030 },
	{ "big5", E_BIG5 }, { "big5-hkscs", E_BIG5 }, { "cn-big5", E_BIG5 },
	{ "csbig5", E_BIG5 }, { "x-x-big5", E_BIG5 },
	{ "shift_jis", E_SJIS }, { "shift-jis", E_SJIS }, { "sjis", E_SJIS },
	{ "ms_kanji", E_SJIS }, { "x-sjis", E_SJIS }, { "windows-31j", E_SJIS },
	{ "csshiftjis", E_SJIS }, { "ms932", E_SJIS }, { "cp932", E_SJIS },
	{ "euc-jp", E_EUCJP }, { "x-euc-jp", E_EUCJP }, { "cseucpkdfmtjapanese", E_EUCJP },
	{ "iso-2022-jp", E_2022JP }, { "csiso2022jp", E_2022JP },
	{ "euc-kr", E_EUCKR }, { "ks_c_5601-1987", E_EUCKR }, { "ks_c_5601-1989", E_EUCKR },
	{ "korean", E_EUCKR }, { "windows-949", E_EUCKR }, { "cp949", E_EUCKR },
	{ "ksc5601", E_EUCKR }, { "ksc_5601", E_EUCKR }, { "csksc56011987", E_EUCKR },
	{ "iso-ir-149", E_EUCKR }, { "cseuckr", E_EUCKR },
	{ "koi8-r", E_KOI8R }, { "koi8", E_KOI8R }, { "koi", E_KOI8R },
	{ "koi8_r", E_KOI8R }, { "cskoi8r", E_KOI8R },
	{ "koi8-u", E_KOI8U }, { "koi8-ru", E_KOI8U },
	{ "windows-1250", E_1250 }, { "cp1250", E_1250 }, { "x-cp1250", E_1250 },
	{ "windows-1251", E_1251 }, { "cp1251", E_1251 }, { "x-cp1251", E_1251 },
	{ "windows-1253", E_1253 }, { "cp1253", E_1253 }, { "x-cp1253", E_1253 },
	{ "windows-1254", E_1254 }, { "cp1254", E_1254 }, { "x-cp1254", E_1254 },
	{ "iso-8859-9", E_1254 }, { "iso8859-9", E_1254 }, { "latin5", E_1254 },
	{ "l5", E_1254 }, { "iso_8859-9", E_1254 },
	{ "windows-1255", E_1255 }, { "cp1255", E_1255 },
	{ "windows-1256", E_1256 }, { "cp1256", E_1256 },
	{ "windows-1257", E_1257 }, { "cp1257", E_1257 },
	{ "windows-1258", E_1258 }, { "cp1258", E_1258 },
	{ "windows-874", E_874 }, { "tis-620", E_874 }, { "iso-8859-11", E_874 },
	{ "dos-874", E_874 },
	{ "iso-8859-2", E_8859_2 }, { "iso8859-2", E_8859_2 }, { "latin2", E_8859_2 },
	{ "l2", E_8859_2 }, { "iso_8859-2", E_8859_2 },
	{ "iso-8859-3", E_8859_3 }, { "latin3", E_8859_3 },
	{ "iso-8859-4", E_8859_4 }, { "latin4", E_8859_4 },
	{ "iso-8859-5", E_8859_5 }, { "iso8859-5", E_8859_5 }, { "cyrillic", E_8859_5 },
	{ "iso-8859-6", E_8859_6 }, { "arabic", E_8859_6 },
	{ "iso-8859-7", E_8859_7 }, { "greek", E_8859_7 }, { "iso8859-7", E_8859_7 },
	{ "iso-8859-8", E_8859_8 }, { "hebrew", E_8859_8 }, { "iso-8859-8-i", E_8859_8 },
	{ "iso-8859-10", E_8859_10 }, { "latin6", E_8859_10 },
	{ "iso-8859-13", E_8859_13 }, { "iso-8859-14", E_8859_14 },
	{ "iso-8859-15", E_8859_15 }, { "iso8859-15", E_8859_15 }, { "latin9", E_8859_15 },
	{ "l9", E_8859_15 }, { "iso_8859-15", E_8859_15 },
	{ "iso-8859-16", E_8859_16 },
	{ "utf-16le", E_UTF16LE }, { "utf-16", E_UTF16LE }, { "ucs-2", E_UTF16LE },
	{ "unicode", E_UTF16LE }, { "utf-16be", E_UTF16BE },
	{ "macintosh", E_MAC }, { "mac", E_MAC }, { "x-mac-roman", E_MAC },
	{ "csmacintosh", E_MAC },
	{ "ibm866", E_866 }, { "cp866", E_866 }, { "866", E_866 },
};

/* Copy a label, trimmed of white space and quotes, lowercased, into
 * out[40]; 0 if it is empty, too long or has odd characters. */
static int clean_label(const char *s, size_t n, char out[40])
{
	while (n && (is_space((unsigned char)*s) || *s == '"' || *s == '\'')) s++, n--;
	while (n && (is_space((unsigned char)s[n - 1]) || s[n - 1] == '"' || s[n - 1] == '\''))
		n--;
	if (!n || n >= 40) return 0;
	for (size_t i = 0; i < n; i++) {
		int c = lower((unsigned char)s[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			c == '.' || c == ':'))
			return 0;
		out[i] = (char)c;
	}
	out[n] = 0;
	return 1;
}

static int lookup_label(const char *clean)
{
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
		if (!strcmp(labels[i].label, clean)) return labels[i].enc;
	return -1;
}

const char *wn_html_charset_name(const char *label)
{
	char l[40];
	if (!label || !clean_label(label, strlen(label), l)) return NULL;
	int e = lookup_label(l);
	return e < 0 ? NULL : encodings[e].name;
}

/* A resolved encoding: an entry of encodings[] (k >= 0), or a label that
 * is not in the table but that iconv can open (k < 0, kept in `own`). */
typedef struct enc_choice {
	int k;
	char own[40];
} enc_choice;

static int resolve(const char *s, size_t n, enc_choice *e)
{
	if (!clean_label(s, n, e->own)) return 0;
	e->k = lookup_label(e->own);
	if (e->k >= 0) return 1;
	iconv_t cd = iconv_open("UTF-8", e->own);
	if (cd == (iconv_t)-1) return 0;
	iconv_close(cd);
	for (char *p = e->own; *p; p++) /* iconv names are upper case */
		if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
	return 1;
}

static const char *enc_iconv(const enc_choice *e)
{
	return e->k >= 0 ? encodings[e->k].iconv : e->own;
}

/* The name to report; labels outside the table are reported lowercased. */
static const char *enc_name(wn_html_result *res, const enc_choice *e)
{
	if (e->k >= 0) return encodings[e->k].name;
	size_t i = 0;
	for (; e->own[i] && i + 1 < sizeof res->charset_buf; i++)
		res->charset_buf[i] = (char)lower((unsigned char)e->own[i]);
	res->charset_buf[i] = 0;
	return res->charset_buf;
}

/* UTF-16 or UTF-32 (ASCII-incompatible encodings a prescan cannot see) */
static int enc_wide(const enc_choice *e)
{
	const char *s = enc_iconv(e);
	return !strncmp(s, "UTF-16", 6) || !strncmp(s, "UTF-32", 6) || !strncmp(s, "UCS", 3);
}

/* Encodings whose ASCII bytes do not all mean ASCII. */
static int enc_ascii_unsafe(const enc_choice *e)
{
	const char *s = enc_iconv(e);
	return enc_wide(e) || !strncmp(s, "ISO-2022", 8) || !strncmp(s, "UTF-7", 5) ||
		!strncmp(s, "HZ", 2);
}

static int enc_is_utf8(const enc_choice *e)
{
	return e->k == E_UTF8;
}

/* 1 if p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF);
 * *ascii tells whether every byte was ASCII. */
static int utf8_valid(const unsigned char *p, size_t n, int *ascii)
{
	size_t i = 0;
	int all = 1;
	while (i < n) {
		/* eight ASCII bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ULL) break;
			i += 8;
		}
		if (i >= n) break;
		unsigned c = p[i];
		if (c < 0x80) { i++; continue; }
		all = 0;
		size_t k;
		unsigned min;
		if (c >= 0xC2 && c <= 0xDF) k = 1, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF) k = 2, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4) k = 3, min = 0x10000;
		else return 0;
		if (n - i <= k) return 0;
		unsigned cp = c & (0x3F >> k);
		for (size_t j = 1; j <= k; j++) {
			unsigned d = p[i + j];
			if ((d & 0xC0) != 0x80) return 0;
			cp = (cp << 6) | (d & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
		i += k + 1;
	}
	*ascii = all;
	return 1;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	if (c < 0x80) return 1;
	size_t k;
	unsigned min;
	if (c >= 0xC2 && c <= 0xDF) k = 1, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF) k = 2, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4) k = 3, min = 0x10000;
	else return 0;
	if (n <= k) return 0;
	unsigned cp = c & (0x3F >> k);
	for (size_t j = 1; j <= k; j++) {
		if ((p[j] & 0xC0) != 0x80) return 0;
		cp = (cp << 6) | (p[j] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
	return k + 1;
}

/* UTF-8 with each invalid byte replaced by U+FFFD; returns replacements. */
static size_t utf8_repair(const char *in, size_t n, wn_buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t bad = 0, i = 0;
	wn_buf_reset(out);
	wn_buf_grow(out, n + n / 4 + 16);
	while (i < n) {
		size_t start = i;
		while (i < n) {
			size_t k = utf8_seq(p + i, n - i);
			if (!k) break;
			i += k;
		}
		wn_buf_add(out, in + start, i - start);
		if (i < n) {
			wn_buf_add(out, "\xEF\xBF\xBD", 3);
			bad++;
			i++;
		}
	}
	return bad;
}

/* Convert with iconv; invalid or incomplete input becomes U+FFFD. */
static int convert(wn_html *h, const char *in, size_t n, const char *from, wn_buf *out,
	size_t *bad)
{
	if (h->cd == (iconv_t)-1 || strcmp(h->cd_from, from)) {
		if (h->cd != (iconv_t)-1) iconv_close(h->cd);
		h->cd = iconv_open("UTF-8", from);
		h->cd_from[0] = 0;
		if (h->cd == (iconv_t)-1) return -1;
		snprintf(h->cd_from, sizeof h->cd_from, "%s", from);
	}
	iconv(h->cd, NULL, NULL, NULL, NULL);
	size_t unit = (!strncmp(from, "UTF-16", 6)) ? 2 : 1;
	wn_buf_reset(out);
	wn_buf_grow(out, n * 2 + 64);
	char *ip = (char *)in;
	size_t il = n;
	while (il > 0) {
		if (out->cap - out->len < 64) wn_buf_grow(out, il * 2 + 64);
		char *op = out->data + out->len;
		size_t ol = out->cap - out->len - 1;
		size_t r = iconv(h->cd, &ip, &il, &op, &ol);
		out->len = (size_t)(op - out->data);
		if (r != (size_t)-1) break;
		if (errno == E2BIG) {
			wn_buf_grow(out, il * 2 + 64);
			continue;
		}
		/* EILSEQ, EINVAL (incomplete at the end) or anything else */
		wn_buf_add(out, "\xEF\xBF\xBD", 3);
		(*bad)++;
		size_t skip = unit < il ? unit : il;
		ip += skip;
		il -= skip;
		iconv(h->cd, NULL, NULL, NULL, NULL);
	}
	out->data[out->len] = 0;
	return 0;
}

/* ---- the <meta> prescan -------------------------------------------------- */

static int ci_prefix(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - p) < n) return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lit[i]) return 0;
	return 1;
}

/* One attribute of a tag as the prescan reads it. */
typedef struct pattr {
	const char *name, *val;
	size_t nlen, vlen;
} pattr;

/* Read an attribute at *pp; 0 at the tag's end (or the buffer's). */
static int prescan_attr(const char **pp, const char *end, pattr *a)
{
	const char *p = *pp;
	while (p < end && (is_space((unsigned char)*p) || *p == '/')) p++;
	if (p >= end || *p == '>') {
		*pp = p;
		return 0;
	}
	a->name = p;
	while (p < end && *p != '=' && *p != '>' && *p != '/' && !is_space((unsigned char)*p))
		p++;
	a->nlen = (size_t)(p - a->name);
	a->val = p;
	a->vlen = 0;
	while (p < end && is_space((unsigned char)*p)) p++;
	if (p < end && *p == '=') {
		p++;
		while (p < end && is_space((unsigned char)*p)) p++;
		if (p < end && (*p == '"' || *p == '\'')) {
			char q = *p++;
			a->val = p;
			while (p < end && *p != q) p++;
			a->vlen = (size_t)(p - a->val);
			if (p < end) p++;
		} else {
			a->val = p;
			while (p < end && *p != '>' && !is_space((unsigned char)*p)) p++;
			a->vlen = (size_t)(p - a->val);
		}
	}
	*pp = p;
	return 1;
}

static int span_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && ci_prefix(s, s + n, lit);
}

/* The charset in a Content-Type value ("text/html; charset=gbk"). */
static int charset_param(const char *s, size_t n, const char **v, size_t *vn)
{
	const char *end = s + n;
	for (const char *p = s; p + 7 <= end; p++) {
		if (!ci_prefix(p, end, "charset")) continue;
		const char *q = p + 7;
		while (q < end && is_space((unsigned char)*q)) q++;
		if (q >= end || *q != '=') continue;
		q++;
		while (q < end && is_space((unsigned char)*q)) q++;
		const char *b = q;
		if (q < end && (*q == '"' || *q == '\'')) {
			char c = *q++;
			b = q;
			while (q < end && *q != c) q++;
		} else {
			while (q < end && *q != ';' && !is_space((unsigned char)*q)) q++;
		}
		*v = b;
		*vn = (size_t)(q - b);
		return *vn > 0;
	}
	return 0;
}

/* The encoding a page declares in its first bytes: <meta charset>,
 * <meta http-equiv=content-type content="...charset=...">, or an XML
 * declaration.  0 if none is found or recognised. */
static int prescan(const char *s, size_t n, enc_choice *e)
{
	const char *end = s + (n < PRESCAN_BYTES ? n : PRESCAN_BYTES);
	const char *p = s;
	if (ci_prefix(p, end, "<?xml")) {
		const char *q = p + 5;
		while (q < end && *q != '>') {
			if (ci_prefix(q, end, "encoding")) {
				q += 8;
				while (q < end && is_space((unsigned char)*q)) q++;
				if (q < end && *q == '=') {
					q++;
					while (q < end && is_space((unsigned char)*q)) q++;
					if (q < end && (*q == '"' || *q == '\'')) {
						char c = *q++;
						const char *b = q;
						while (q < end && *q != c) q++;
						if (resolve(b, (size_t)(q - b), e)) {
							/* utf-16 declared in ASCII bytes is a lie */
							if (enc_wide(e)) e->k = E_UTF8;
							return 1;
						}
					}
				}
				break;
			}
			q++;
		}
	}
	while (p < end) {
		if (*p != '<') {
			const char *q = memchr(p, '<', (size_t)(end - p));
			if (!q) break;
			p = q;
		}
		if (ci_prefix(p, end, "<!--")) {
			const char *q = p + 4;
			while (q + 3 <= end && memcmp(q, "-->", 3)) q++;
			p = q + 3;
			continue;
		}
		if (ci_prefix(p, end, "<meta") && p + 5 < end &&
			(is_space((unsigned char)p[5]) || p[5] == '/')) {
			p += 5;
			pattr a;
			const char *cs = NULL, *content = NULL;
			size_t csn = 0, contentn = 0;
			int http_ct = 0;
			while (prescan_attr(&p, end, &a)) {
				if (span_is(a.name, a.nlen, "charset") && !cs) {
					cs = a.val;
					csn = a.vlen;
				} else if (span_is(a.name, a.nlen, "content") && !content) {
					content = a.val;
					contentn = a.vlen;
				} else if (span_is(a.name, a.nlen, "http-equiv")) {
					http_ct = span_is(a.val, a.vlen, "content-type");
				}
			}
			const char *v = NULL;
			size_t vn = 0;
			if (cs) {
				v = cs;
				vn = csn;
			} else if (http_ct && content) {
				charset_param(content, contentn, &v, &vn);
			}
			if (v) {
				if (resolve(v, vn, e)) {
					if (enc_wide(e)) e->k = E_UTF8;
					return 1;
				}
			}
			continue;
		}
		if (p + 1 < end && (((p[1] | 32) >= 'a' && (p[1] | 32) <= 'z') ||
			(p[1] == '/' && p + 2 < end && (p[2] | 32) >= 'a' && (p[2] | 32) <= 'z'))) {
			/* another tag: skip its name and attributes (quoted '>' inside) */
			p++;
			while (p < end && !is_space((unsigned char)*p) && *p != '>') p++;
			pattr a;
			while (prescan_attr(&p, end, &a)) {}
			if (p < end) p++;
			continue;
		}
		if (p + 1 < end && (p[1] == '!' || p[1] == '/' || p[1] == '?')) {
			const char *q = memchr(p, '>', (size_t)(end - p));
			if (!q) break;
			p = q + 1;
			continue;
		}
		p++;
	}
	return 0;
}

/* Decide the encoding and leave UTF-8 in (*out, *outn). */
static void decode(wn_html *h, const char *in, size_t n, const char *hint,
	wn_html_result *res, const char **out, size_t *outn)
{
	const unsigned char *u = (const unsigned char *)in;
	res->replaced = 0;

	/* 1. byte order mark */
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		in += 3, n -= 3;
		res->charset = "utf-8";
		res->charset_from = "bom";
		goto utf8;
	}
	if (n >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
		int le = u[0] == 0xFF;
		res->charset = le ? "utf-16le" : "utf-16be";
		res->charset_from = "bom";
		convert(h, in + 2, n - 2, le ? "UTF-16LE" : "UTF-16BE", &h->conv, &res->replaced);
		*out = h->conv.data;
		*outn = h->conv.len;
		return;
	}

	/* 2. the declarations: the caller's hint, then the page's own */
	enc_choice cand[2];
	const char *from[2];
	int nc = 0;
	if (hint && resolve(hint, strlen(hint), &cand[nc])) from[nc++] = "hint";
	if (prescan(in, n, &cand[nc])) from[nc++] = "meta";
	if (nc && !strcmp(from[0], "hint") && enc_wide(&cand[0])) {
		res->charset = enc_name(res, &cand[0]);
		res->charset_from = "hint";
		convert(h, in, n, enc_iconv(&cand[0]), &h->conv, &res->replaced);
		*out = h->conv.data;
		*outn = h->conv.len;
		return;
	}

	/* 3. valid UTF-8 with non-ASCII text is UTF-8 */
	int ascii = 0;
	int valid = utf8_valid(u, n, &ascii);
	if (valid && !ascii) {
		res->charset = "utf-8";
		res->charset_from = "utf-8";
		goto utf8;
	}
	if (valid && (!nc || !enc_ascii_unsafe(&cand[0]))) {
		/* pure ASCII: any ASCII-compatible declaration reads it alike */
		res->charset = nc ? enc_name(res, &cand[0]) : "utf-8";
		res->charset_from = nc ? from[0] : "default";
		goto utf8;
	}

	/* 4. the first declaration that is not a UTF-8 this page breaks */
	for (int i = 0; i < nc; i++) {
		if (enc_is_utf8(&cand[i])) continue;
		if (convert(h, in, n, enc_iconv(&cand[i]), &h->conv, &res->replaced) == 0) {
			res->charset = enc_name(res, &cand[i]);
			res->charset_from = from[i];
			*out = h->conv.data;
			*outn = h->conv.len;
			return;
		}
	}
	if (nc) {
		/* only UTF-8 was declared: keep it, repairing the bad bytes */
		res->charset = "utf-8";
		res->charset_from = from[0];
		res->replaced = utf8_repair(in, n, &h->conv);
		*out = h->conv.data;
		*outn = h->conv.len;
		return;
	}
	res->charset = "windows-1252";
	res->charset_from = "default";
	convert(h, in, n, "CP1252", &h->conv, &res->replaced);
	*out = h->conv.data;
	*outn = h->conv.len;
	return;

utf8:
	/* UTF-8 or ASCII; bytes still may be invalid after a BOM */
	{
		int a2;
		if (!utf8_valid((const unsigned char *)in, n, &a2)) {
			res->replaced = utf8_repair(in, n, &h->conv);
			*out = h->conv.data;
			*outn = h->conv.len;
			return;
		}
	}
	*out = in;
	*outn = n;
}

/* ---- element classification --------------------------------------------- */

/* Tag properties. */
enum {
	T_DROP = 1 << 0,  /* never rendered */
	T_BOIL = 1 << 1,  /* semantic boilerplate (nav, aside, menu, dialog, footer) */
	T_PARA = 1 << 2,  /* paragraph-level block: blank line around */
	T_LINE = 1 << 3,  /* line-level block: newline around */
	T_LIST = 1 << 4,  /* ul/ol/dl: paragraph-level, line-level inside li/dd */
	T_CELL = 1 << 5,  /* td, th */
	T_ROW = 1 << 6,   /* tr */
	T_PRE = 1 << 7,   /* white space kept */
	T_LDC = 1 << 8,   /* link density: container */
	T_LDP = 1 << 9,   /* link density: paragraph */
	T_ITEM = 1 << 10, /* li, dd: lists inside are line-level */
	T_HEAD = 1 << 11, /* h1-h6: class and id not read */
	T_CODE = 1 << 12, /* code, kbd, samp, tt, var: link text inside is a cross-reference */
};

static const uint16_t tagtab[GUMBO_TAG_LAST + 1] = {
	[GUMBO_TAG_HEAD] = T_DROP, [GUMBO_TAG_TITLE] = T_DROP, [GUMBO_TAG_BASE] = T_DROP,
	[GUMBO_TAG_LINK] = T_DROP, [GUMBO_TAG_META] = T_DROP, [GUMBO_TAG_STYLE] = T_DROP,
	[GUMBO_TAG_SCRIPT] = T_DROP, [GUMBO_TAG_NOSCRIPT] = T_DROP,
	[GUMBO_TAG_TEMPLATE] = T_DROP, [GUMBO_TAG_SVG] = T_DROP,
	[GUMBO_TAG_IFRAME] = T_DROP, [GUMBO_TAG_EMBED] = T_DROP, [GUMBO_TAG_OBJECT] = T_DROP,
	[GUMBO_TAG_PARAM] = T_DROP, [GUMBO_TAG_VIDEO] = T_DROP, [GUMBO_TAG_AUDIO] = T_DROP,
	[GUMBO_TAG_SOURCE] = T_DROP, [GUMBO_TAG_TRACK] = T_DROP, [GUMBO_TAG_CANVAS] = T_DROP,
	[GUMBO_TAG_MAP] = T_DROP, [GUMBO_TAG_AREA] = T_DROP, [GUMBO_TAG_BUTTON] = T_DROP,
	[GUMBO_TAG_SELECT] = T_DROP, [GUMBO_TAG_INPUT] = T_DROP, [GUMBO_TAG_TEXTAREA] = T_DROP,
	[GUMBO_TAG_OPTION] = T_DROP, [GUMBO_TAG_OPTGROUP] = T_DROP,
	[GUMBO_TAG_DATALIST] = T_DROP, [GUMBO_TAG_KEYGEN] = T_DROP, [GUMBO_TAG_OUTPUT] = T_DROP,
	[GUMBO_TAG_PROGRESS] = T_DROP, [GUMBO_TAG_METER] = T_DROP, [GUMBO_TAG_RT] = T_DROP,
	[GUMBO_TAG_RP] = T_DROP, [GUMBO_TAG_APPLET] = T_DROP, [GUMBO_TAG_NOEMBED] = T_DROP,
	[GUMBO_TAG_NOFRAMES] = T_DROP, [GUMBO_TAG_FRAME] = T_DROP, [GUMBO_TAG_BGSOUND] = T_DROP,
	[GUMBO_TAG_MENUITEM] = T_DROP, [GUMBO_TAG_ISINDEX] = T_DROP, [GUMBO_TAG_IMG] = T_DROP,
	[GUMBO_TAG_IMAGE] = T_DROP,
	[GUMBO_TAG_NAV] = T_BOIL, [GUMBO_TAG_ASIDE] = T_BOIL | T_PARA, [GUMBO_TAG_MENU] = T_BOIL,
	[GUMBO_TAG_FOOTER] = T_BOIL,
	[GUMBO_TAG_HEADER] = T_PARA | T_LDC,
	[GUMBO_TAG_ADDRESS] = T_PARA, [GUMBO_TAG_ARTICLE] = T_PARA, [GUMBO_TAG_MAIN] = T_PARA,
	[GUMBO_TAG_BLOCKQUOTE] = T_PARA, [GUMBO_TAG_BODY] = T_PARA,
	[GUMBO_TAG_CENTER] = T_PARA | T_LDC, [GUMBO_TAG_DETAILS] = T_PARA | T_LDC,
	[GUMBO_TAG_DIV] = T_PARA | T_LDC, [GUMBO_TAG_SECTION] = T_PARA | T_LDC,
	[GUMBO_TAG_FIELDSET] = T_PARA | T_LDC, [GUMBO_TAG_FIGURE] = T_PARA,
	[GUMBO_TAG_H1] = T_PARA | T_HEAD, [GUMBO_TAG_H2] = T_PARA | T_HEAD, [GUMBO_TAG_H3] = T_PARA | T_HEAD,
	[GUMBO_TAG_H4] = T_PARA | T_HEAD, [GUMBO_TAG_H5] = T_PARA | T_HEAD, [GUMBO_TAG_H6] = T_PARA | T_HEAD,
	[GUMBO_TAG_HGROUP] = T_PARA, [GUMBO_TAG_HR] = T_PARA, [GUMBO_TAG_P] = T_PARA | T_LDP,
	[GUMBO_TAG_TABLE] = T_PARA | T_LDC, [GUMBO_TAG_FRAMESET] = T_PARA,
	[GUMBO_TAG_PRE] = T_PARA | T_PRE, [GUMBO_TAG_LISTING] = T_PARA | T_PRE,
	[GUMBO_TAG_XMP] = T_PARA | T_PRE, [GUMBO_TAG_PLAINTEXT] = T_PARA | T_PRE,
	[GUMBO_TAG_UL] = T_LIST | T_LDC, [GUMBO_TAG_OL] = T_LIST | T_LDC,
	[GUMBO_TAG_DL] = T_LIST | T_LDC, [GUMBO_TAG_DIR] = T_LIST | T_LDC,
	[GUMBO_TAG_LI] = T_LINE | T_ITEM, [GUMBO_TAG_DD] = T_LINE | T_ITEM,
	[GUMBO_TAG_DT] = T_LINE, [GUMBO_TAG_FIGCAPTION] = T_LINE, [GUMBO_TAG_CAPTION] = T_LINE,
	[GUMBO_TAG_SUMMARY] = T_LINE, [GUMBO_TAG_LEGEND] = T_LINE, [GUMBO_TAG_FORM] = T_LINE | T_LDC,
	[GUMBO_TAG_TBODY] = T_LINE | T_LDC, [GUMBO_TAG_THEAD] = T_LINE | T_LDC,
	[GUMBO_TAG_TFOOT] = T_LINE | T_LDC, [GUMBO_TAG_TR] = T_LINE | T_ROW,
	[GUMBO_TAG_TD] = T_CELL, [GUMBO_TAG_TH] = T_CELL,
	[GUMBO_TAG_CODE] = T_CODE, [GUMBO_TAG_KBD] = T_CODE, [GUMBO_TAG_SAMP] = T_CODE,
	[GUMBO_TAG_TT] = T_CODE, [GUMBO_TAG_VAR] = T_CODE,
};

/* Record flags. */
enum {
	F_DROP = 1 << 0,  /* removed whatever it holds */
	F_CLASS = 1 << 1, /* boilerplate by class/id: removed unless it holds half the text */
	F_LINK = 1 << 2,  /* <a href> */
	F_TEXT = 1 << 3,  /* has a text child of its own */
	F_MAIN = 1 << 4,  /* <main> or role=main */
	F_MATH = 1 << 5,  /* <math>: its alttext stands for it */
	F_FORM = 1 << 6,  /* <form> (labels inside are dropped) */
	F_ART = 1 << 7,   /* article, main, section (headers inside are kept) */
	F_WEAK = 1 << 8,  /* weak class/id mark: removed if also link-heavy or tiny */
	F_LDROP = 1 << 9, /* removed by link density */
	F_CODE = 1 << 10, /* code-like inline element */
};

/* Parts of class and id tokens that mark boilerplate (sorted). */
static const char *const bp_words[] = {
	"ad", "ads", "adsense", "advert", "advertisement", "advertising", "adverts",
	"banner", "breadcrumb", "breadcrumbs", "comment", "comments", "consent", "cookie",
	"cookies", "copyright", "disqus", "editsection", "footer", "gdpr", "header",
	"headerlink", "login", "masthead", "menu", "menubar", "modal", "nav", "navbar",
	"navfooter", "navheader", "navigation", "newsletter", "outbrain", "pager", "pagination", "permalink", "popup",
	"promo", "related", "search", "share", "sharing", "signup", "sitemap",
	"skip", "skiplink", "social", "sponsor", "sponsored", "subscribe", "taboola", "toc",
	"toolbar", "topbar", "widget",
};

/* Endings that mark a compound part ("docnav", "mainmenu"). */
static const char *const bp_suffixes[] = {
	"nav", "navbar", "menu", "footer", "toolbar", "breadcrumb", "breadcrumbs",
};

/* Whole tokens that hide an element or mark boilerplate. */
static const char *const bp_tokens[] = {
	"hidden", "d-none", "is-hidden", "visually-hidden", "visuallyhidden", "sr-only",
	"screen-reader-text", "invisible", "adsbygoogle", "noprint",
};

/* Qualifiers under which "header" names a content header. */
static const char *const header_ok[] = {
	"entry", "article", "post", "page", "content", "story", "section", "card", "blog",
	"title", "heading",
};

static int in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w, list[i])) return 1;
	return 0;
}

static int cmp_word(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_bp_word(const char *w)
{
	return bsearch(&w, bp_words, sizeof bp_words / sizeof bp_words[0], sizeof bp_words[0],
		cmp_word) != NULL;
}

static int has_suffix(const char *w, const char *suf)
{
	size_t n = strlen(w), k = strlen(suf);
	return n > k + 1 && !strcmp(w + n - k, suf);
}

static int has_bp_suffix(const char *w)
{
	for (size_t i = 0; i < sizeof bp_suffixes / sizeof bp_suffixes[0]; i++)
		if (has_suffix(w, bp_suffixes[i])) return 1;
	return 0;
}

#define MAX_PARTS 8
#define MAX_PART 32

/* Does one class token (or an id) mark boilerplate?  0 no, BP_STRONG yes,
 * BP_WEAK for "sidebar": a web page's sidebar is links and widgets, but
 * DocBook's is a boxed note of prose, so that word removes only what is
 * also link-heavy or tiny. */
enum { BP_NONE, BP_WEAK, BP_STRONG };

static int token_is_boilerplate(const char *t, size_t n, int phrasing, int is_id)
{
	char low[64];
	if (n == 0 || n >= sizeof low) return 0;
	for (size_t i = 0; i < n; i++) low[i] = (char)lower((unsigned char)t[i]);
	low[n] = 0;
	if (in_list(low, bp_tokens, sizeof bp_tokens / sizeof bp_tokens[0])) return BP_STRONG;

	/* split at - _ : . and at lower-to-upper case changes */
	char parts[MAX_PARTS][MAX_PART];
	int np = 0;
	size_t i = 0;
	while (i < n && np < MAX_PARTS) {
		while (i < n && (t[i] == '-' || t[i] == '_' || t[i] == ':' || t[i] == '.')) i++;
		if (i >= n) break;
		size_t k = 0;
		int toolong = 0;
		while (i < n && t[i] != '-' && t[i] != '_' && t[i] != ':' && t[i] != '.') {
			if (k && t[i] >= 'A' && t[i] <= 'Z' && t[i - 1] >= 'a' && t[i - 1] <= 'z')
				break;
			if (k + 1 < MAX_PART) parts[np][k++] = (char)lower((unsigned char)t[i]);
			else toolong = 1;
			i++;
		}
		while (k && parts[np][k - 1] >= '0' && parts[np][k - 1] <= '9') k--;
		parts[np][k] = 0;
		if (!toolong && k) np++;
	}
	if (!np) return 0;
	/* ids of three parts or more are slugs of headings ("file-menu-and-editor") */
	if (is_id && np >= 3) return 0;
	if (np > 1 && (!strcmp(parts[0], "has") || !strcmp(parts[0], "no") ||
		!strcmp(parts[0], "with") || !strcmp(parts[0], "without")))
		return 0;
	int mark = BP_NONE;
	for (int p = 0; p < np && mark != BP_STRONG; p++) {
		const char *w = parts[p];
		if (!strcmp(w, "header")) {
			int ok = 0;
			for (int q = 0; q < np; q++)
				if (in_list(parts[q], header_ok, sizeof header_ok / sizeof header_ok[0]))
					ok = 1;
			if (!ok) mark = BP_STRONG;
			continue;
		}
		if (is_bp_word(w) || (!phrasing && has_bp_suffix(w))) mark = BP_STRONG;
		else if (!strcmp(w, "sidebar") || (!phrasing && has_suffix(w, "sidebar")))
			mark = BP_WEAK;
	}
	/* ids are often slugs of headings (<section id="widget">,
	 * "cookie-objects"): weak evidence only */
	if (is_id && mark) mark = BP_WEAK;
	return mark;
}

/* The strongest mark of the tokens of a class list. */
static int class_is_boilerplate(const char *s, int phrasing)
{
	int best = BP_NONE;
	while (*s && best != BP_STRONG) {
		while (*s && is_space((unsigned char)*s)) s++;
		const char *b = s;
		while (*s && !is_space((unsigned char)*s)) s++;
		if (s > b) {
			int k = token_is_boilerplate(b, (size_t)(s - b), phrasing, 0);
			if (k > best) best = k;
		}
	}
	return best;
}

static int has_token(const char *s, const char *word)
{
	size_t n = strlen(word);
	while (*s) {
		while (*s && is_space((unsigned char)*s)) s++;
		const char *b = s;
		while (*s && !is_space((unsigned char)*s)) s++;
		if ((size_t)(s - b) == n && ci_prefix(b, s, word)) return 1;
	}
	return 0;
}

static const char *const bp_roles[] = {
	"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar",
	"toolbar", "dialog", "alertdialog",
};

/* An inline style that hides: display:none or visibility:hidden. */
static int style_hides(const char *s)
{
	const char *end = s + strlen(s);
	for (const char *p = s; p < end; p++) {
		const char *v;
		if ((*p | 32) == 'd' && ci_prefix(p, end, "display")) v = p + 7;
		else if ((*p | 32) == 'v' && ci_prefix(p, end, "visibility")) v = p + 10;
		else continue;
		int disp = (*p | 32) == 'd';
		if (p > s && (p[-1] == '-' || ((p[-1] | 32) >= 'a' && (p[-1] | 32) <= 'z'))) continue;
		while (v < end && is_space((unsigned char)*v)) v++;
		if (v >= end || *v != ':') continue;
		v++;
		while (v < end && is_space((unsigned char)*v)) v++;
		if (disp ? ci_prefix(v, end, "none") : ci_prefix(v, end, "hidden")) {
			const char *w = v + (disp ? 4 : 6);
			if (w >= end || *w == ';' || *w == '!' || is_space((unsigned char)*w)) return 1;
		}
	}
	return 0;
}

/* Elements gumbo 0.10 does not know: <dialog> and <search> are
 * boilerplate like <nav>; <xvg> and <xath> are <svg> and <math> renamed
 * for a second parse (see parse()). */
enum { UK_NONE, UK_BOIL, UK_SVG, UK_MATH };

static int unknown_kind(const GumboElement *el)
{
	GumboStringPiece t = el->original_tag;
	if (!t.data || t.length < 2) return UK_NONE;
	gumbo_tag_from_original_text(&t);
	const char *e = t.data + t.length;
	if (t.length == 6 && (ci_prefix(t.data, e, "dialog") || ci_prefix(t.data, e, "search")))
		return UK_BOIL;
	if (t.length == 3 && ci_prefix(t.data, e, "xvg")) return UK_SVG;
	if (t.length == 4 && ci_prefix(t.data, e, "xath")) return UK_MATH;
	return UK_NONE;
}

typedef struct ctx {
	int in_form, in_art, in_link, in_code;
} ctx;

static uint16_t classify(const wn_html *h, const GumboNode *n, const ctx *c)
{
	if (n->type == GUMBO_NODE_TEMPLATE) return F_DROP;
	const GumboElement *el = &n->v.element;
	GumboTag tag = el->tag;
	uint16_t tf = (unsigned)tag <= GUMBO_TAG_LAST ? tagtab[tag] : 0;
	int keep = h->o.keep_boilerplate;
	if (tf & T_DROP) return F_DROP;
	if (tag == GUMBO_TAG_MATH) return F_DROP | F_MATH;
	int uk = tag == GUMBO_TAG_UNKNOWN ? unknown_kind(el) : UK_NONE;
	if (uk == UK_SVG) return F_DROP;
	if (uk == UK_MATH) return F_DROP | F_MATH;
	if (el->tag_namespace != GUMBO_NAMESPACE_HTML) return 0;

	uint16_t fl = 0;
	int classy = 0, footnote = 0, href = 0, label_for = 0;
	int read_class = !keep && tag != GUMBO_TAG_HTML && tag != GUMBO_TAG_BODY &&
		tag != GUMBO_TAG_MAIN && tag != GUMBO_TAG_ARTICLE && !(tf & T_HEAD);
	/* compound endings ("docnav") are read on blocks only: DocBook's inline
	 * "guimenu" names a menu in the text */
	int phrasing = !(tf & (T_PARA | T_LINE | T_LIST | T_CELL | T_BOIL)) &&
		tag != GUMBO_TAG_HEADER;
	for (unsigned i = 0; i < el->attributes.length; i++) {
		const GumboAttribute *a = el->attributes.data[i];
		const char *nm = a->name, *v = a->value;
		switch (nm[0]) {
		case 'a':
			if (!strcmp(nm, "aria-hidden") && ci_prefix(v, v + strlen(v), "true") && !v[4])
				return F_DROP;
			break;
		case 'c':
			if (!strcmp(nm, "class")) {
				if (read_class) {
					int k = class_is_boilerplate(v, phrasing);
					if (k > classy) classy = k;
				}
				if (tag == GUMBO_TAG_ASIDE &&
					(has_token(v, "footnote") || has_token(v, "footnotes") ||
						has_token(v, "footnote-list")))
					footnote = 1;
			}
			break;
		case 'f':
			if (!strcmp(nm, "for")) label_for = 1;
			break;
		case 'h':
			if (!strcmp(nm, "hidden")) return F_DROP;
			if (!strcmp(nm, "href")) href = 1;
			break;
		case 'i':
			if (!strcmp(nm, "id") && read_class) {
				int k = token_is_boilerplate(v, strlen(v), phrasing, 1);
				if (k > classy) classy = k;
			}
			break;
		case 'r':
			if (!strcmp(nm, "role")) {
				if (has_token(v, "main")) fl |= F_MAIN;
				if (has_token(v, "note") || has_token(v, "doc-footnote") ||
					has_token(v, "doc-endnotes") || has_token(v, "doc-endnote"))
					footnote = 1;
				if (!keep && tag != GUMBO_TAG_BODY && tag != GUMBO_TAG_HTML)
					for (size_t k = 0; k < sizeof bp_roles / sizeof bp_roles[0]; k++)
						if (has_token(v, bp_roles[k])) return F_DROP;
			}
			break;
		case 's':
			if (!strcmp(nm, "style") && style_hides(v)) return F_DROP;
			break;
		}
	}
	if (tag == GUMBO_TAG_LABEL && (c->in_form || label_for)) return F_DROP;
	if (!keep && uk == UK_BOIL) return F_DROP;
	if (!keep) {
		if (tag == GUMBO_TAG_ASIDE && !footnote && c->in_art)
			fl |= F_WEAK; /* an aside in an article is a note on it */
		else if ((tf & T_BOIL) && !(tag == GUMBO_TAG_ASIDE && footnote))
			return F_DROP;
		if (tag == GUMBO_TAG_HEADER && !c->in_art) return F_DROP;
	}
	if (classy == BP_STRONG && !footnote) fl |= F_CLASS;
	else if (classy && !footnote) fl |= F_WEAK;
	if (tag == GUMBO_TAG_A && href) fl |= F_LINK;
	if (tag == GUMBO_TAG_MAIN) fl |= F_MAIN;
	if (tag == GUMBO_TAG_FORM) fl |= F_FORM;
	if (tf & T_CODE) fl |= F_CODE;
	if (tag == GUMBO_TAG_ARTICLE || tag == GUMBO_TAG_MAIN || tag == GUMBO_TAG_SECTION)
		fl |= F_ART;
	return fl;
}

/* ---- the measuring pass --------------------------------------------------- */

/* Letters and digits: ASCII alphanumerics and every non-ASCII character,
 * counted at its lead byte; a character of three or four bytes counts 2. */
static const unsigned char is_counted[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	[0xC2] = 1, [0xC3] = 1, [0xC4] = 1, [0xC5] = 1, [0xC6] = 1, [0xC7] = 1, [0xC8] = 1,
	[0xC9] = 1, [0xCA] = 1, [0xCB] = 1, [0xCC] = 1, [0xCD] = 1, [0xCE] = 1, [0xCF] = 1,
	[0xD0] = 1, [0xD1] = 1, [0xD2] = 1, [0xD3] = 1, [0xD4] = 1, [0xD5] = 1, [0xD6] = 1,
	[0xD7] = 1, [0xD8] = 1, [0xD9] = 1, [0xDA] = 1, [0xDB] = 1, [0xDC] = 1, [0xDD] = 1,
	[0xDE] = 1, [0xDF] = 1,
	/* three- and four-byte characters (CJK above all) say about what two
	 * letters say */
	[0xE0] = 2, [0xE1] = 2, [0xE2] = 2, [0xE3] = 2, [0xE4] = 2, [0xE5] = 2, [0xE6] = 2,
	[0xE7] = 2, [0xE8] = 2, [0xE9] = 2, [0xEA] = 2, [0xEB] = 2, [0xEC] = 2, [0xED] = 2,
	[0xEE] = 2, [0xEF] = 2, [0xF0] = 2, [0xF1] = 2, [0xF2] = 2, [0xF3] = 2, [0xF4] = 2,
};

static uint32_t count_chars(const char *s)
{
	uint32_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += is_counted[*p];
	return n;
}

/* A link whose text is a URL is a citation, not navigation: its text is
 * not counted as link text. */
static int looks_like_url(const char *s)
{
	while (is_space((unsigned char)*s)) s++;
	const char *end = s + strlen(s);
	return ci_prefix(s, end, "http://") || ci_prefix(s, end, "https://") ||
		ci_prefix(s, end, "ftp://") || ci_prefix(s, end, "www.");
}

static const char *attr(const GumboNode *n, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
	return a ? a->value : NULL;
}

static void collapse_into(wn_buf *b, const char *s, size_t max);

/* The text of a <title>, collapsed. */
static void take_title(const GumboNode *t, wn_buf *title)
{
	const GumboVector *k = &t->v.element.children;
	for (unsigned i = 0; i < k->length; i++) {
		const GumboNode *c = k->data[i];
		if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE)
			collapse_into(title, c->v.text.text, 4096);
	}
	while (title->len && title->data[title->len - 1] == ' ') wn_buf_setlen(title, title->len - 1);
}

/* Link density, judged bottom-up: an element's counts exclude what was
 * already removed below it, so a wrapper is judged by what survives in it
 * and a link list inside an article goes without the article. */
static int link_dense(const wn_html *h, const GumboNode *n, const rec *r)
{
	if (!r->text || n->type != GUMBO_NODE_ELEMENT) return 0;
	GumboTag tag = n->v.element.tag;
	uint16_t tf = (unsigned)tag <= GUMBO_TAG_LAST ? tagtab[tag] : 0;
	if (!(tf & (T_LDC | T_LDP))) return 0;
	double ld = (double)r->link / r->text;
	if ((tf & T_LDP) || (tag == GUMBO_TAG_DIV && (r->flags & F_TEXT)))
		return ld > LD_PARA && r->links >= 2;
	return ld > h->o.link_density && (r->text < LD_SHORT || r->text - r->link < LD_NONLINK);
}

typedef struct measure {
	uint32_t body;              /* record of <body> (0: the root) */
	uint32_t main[MAX_MAIN];    /* records of main candidates */
	int nmain;
	uint32_t article;           /* first <article> */
	int narticle;
} measure;

static void measure_tree(wn_html *h, GumboNode *root, measure *m, wn_buf *title)
{
	ctx c = { 0, 0, 0, 0 };
	size_t depth = 0;
	h->nrecs = 0;
	memset(m, 0, sizeof *m);
	uint32_t ri = new_rec(h);
	frame *f = stack_at(h, depth++);
	f->node = root;
	f->idx = ri;
	f->child = 0;
	while (depth) {
		f = &h->stack[depth - 1];
		const GumboVector *kids = &f->node->v.element.children;
		if (f->child < kids->length) {
			GumboNode *n = kids->data[f->child++];
			if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
				uint32_t k = count_chars(n->v.text.text);
				rec *r = &h->recs[f->idx];
				r->text += k;
				r->clean += k;
				if (c.in_link && !c.in_code && !looks_like_url(n->v.text.text)) r->link += k;
				if (k) r->flags |= F_TEXT;
				continue;
			}
			if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) continue;
			uint32_t ci = new_rec(h);
			uint16_t fl = classify(h, n, &c);
			h->recs[ci].flags = fl;
			if (fl & F_DROP) {
				GumboTag tag = n->v.element.tag;
				if (n->type != GUMBO_NODE_ELEMENT) continue;
				if (tag == GUMBO_TAG_HEAD && !title->len) {
					const GumboVector *hk = &n->v.element.children;
					for (unsigned i = 0; i < hk->length; i++) {
						const GumboNode *t = hk->data[i];
						if (t->type == GUMBO_NODE_ELEMENT &&
							t->v.element.tag == GUMBO_TAG_TITLE) {
							take_title(t, title);
							break;
						}
					}
				} else if (tag == GUMBO_TAG_TITLE && !title->len &&
					n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML) {
					take_title(n, title);
				} else if (fl & F_MATH) {
					const char *alt = attr(n, "alttext");
					if (alt) {
						uint32_t k = count_chars(alt);
						h->recs[f->idx].text += k;
						h->recs[f->idx].clean += k;
						if (c.in_link) h->recs[f->idx].link += k;
					}
				}
				continue;
			}
			GumboTag tag = n->v.element.tag;
			if (tag == GUMBO_TAG_BODY && !m->body) m->body = ci;
			if ((fl & F_MAIN) && m->nmain < MAX_MAIN) m->main[m->nmain++] = ci;
			if (tag == GUMBO_TAG_ARTICLE && !m->narticle++) m->article = ci;
			if (fl & F_LINK) c.in_link++;
			if (fl & F_FORM) c.in_form++;
			if (fl & F_CODE) c.in_code++;
			if (fl & F_ART) c.in_art++;
			f = stack_at(h, depth++);
			f->node = n;
			f->idx = ci;
			f->child = 0;
		} else {
			rec *r = &h->recs[f->idx];
			r->size = (uint32_t)(h->nrecs - f->idx);
			if (r->flags & F_LINK) c.in_link--;
			if (r->flags & F_FORM) c.in_form--;
			if (r->flags & F_CODE) c.in_code--;
			if (r->flags & F_ART) c.in_art--;
			if (!h->o.keep_boilerplate && depth > 1 && link_dense(h, f->node, r))
				r->flags |= F_LDROP;
			depth--;
			if (r->flags & F_LINK) r->links++;
			if (depth && !(r->flags & F_LDROP)) {
				rec *p = &h->recs[h->stack[depth - 1].idx];
				p->text += r->text;
				p->link += r->link;
				p->links += r->links;
				if (!(r->flags & F_CLASS)) p->clean += r->clean;
			}
		}
	}
}

/* ---- the emitting pass ---------------------------------------------------- */

typedef struct emit {
	wn_buf *out;
	int brk;   /* pending break: 0, 1 newline, 2 blank line */
	int space; /* pending space */
	int sep;   /* pending cell separator */
	int pre;   /* depth of pre-like elements */
	int item;  /* depth of li/dd */
	int cells; /* cells with text in the current row */
	size_t pre_mark; /* output length where the outermost pre began */
} emit;

static void set_brk(emit *e, int b)
{
	if (b > e->brk) e->brk = b;
}

/* Write what is pending before the next visible character. */
static void flush(emit *e)
{
	wn_buf *o = e->out;
	if (o->len) {
		if (e->brk) wn_buf_add(o, "\n\n", (size_t)e->brk);
		else if (e->sep) wn_buf_add(o, " | ", 3);
		else if (e->space && o->data[o->len - 1] != '\n') wn_buf_addc(o, ' ');
	}
	e->brk = e->space = e->sep = 0;
}

/* Byte classes for text: 0 ordinary, 1 HTML white space, 2 other control
 * (dropped), 3 0xC2 (may start U+00A0 or a C1 control). */
static const unsigned char tclass[256] = {
	[0] = 2, [1] = 2, [2] = 2, [3] = 2, [4] = 2, [5] = 2, [6] = 2, [7] = 2, [8] = 2,
	['\t'] = 1, ['\n'] = 1, [11] = 2, ['\f'] = 1, ['\r'] = 1, [14] = 2, [15] = 2,
	[16] = 2, [17] = 2, [18] = 2, [19] = 2, [20] = 2, [21] = 2, [22] = 2, [23] = 2,
	[24] = 2, [25] = 2, [26] = 2, [27] = 2, [28] = 2, [29] = 2, [30] = 2, [31] = 2,
	[' '] = 1, [127] = 2, [0xC2] = 3,
};

static void emit_text(emit *e, const char *s, size_t mark)
{
	const unsigned char *p = (const unsigned char *)s;
	wn_buf *o = e->out;
	if (e->pre) {
		for (; *p; p++) {
			unsigned c = *p;
			if (c == '\n') {
				if (o->len <= mark) continue; /* no blank lines at a pre's start */
				flush(e);
				wn_buf_addc(o, '\n');
				continue;
			}
			if (tclass[c] == 2 || c == '\r' || c == '\f') continue;
			if (c == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0) {
				p++;
				continue;
			}
			if (e->brk || e->space || e->sep) flush(e);
			wn_buf_addc(o, (char)c);
		}
		return;
	}
	while (*p) {
		const unsigned char *q = p;
		while (*q && !tclass[*q]) q++;
		if (q > p) {
			if (e->brk || e->space || e->sep || !o->len) flush(e);
			wn_buf_add(o, p, (size_t)(q - p));
			p = q;
			continue;
		}
		unsigned c = *p;
		if (tclass[c] == 1) {
			e->space = 1;
			p++;
		} else if (tclass[c] == 2) {
			p++;
		} else if (p[1] == 0xA0) { /* U+00A0 collapses like a space */
			e->space = 1;
			p += 2;
		} else if (p[1] >= 0x80 && p[1] < 0xA0) { /* a C1 control */
			p += 2;
		} else {
			if (e->brk || e->space || e->sep || !o->len) flush(e);
			wn_buf_addc(o, (char)c);
			p++;
		}
	}
}

/* Collapsed text into b (titles), at most max bytes. */
static void collapse_into(wn_buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	int space = b->len > 0;
	for (; *p && b->len < max; p++) {
		unsigned c = *p;
		if (tclass[c] == 1 || (c == 0xC2 && p[1] == 0xA0)) {
			if (c == 0xC2) p++;
			space = 1;
			continue;
		}
		if (tclass[c] == 2) continue;
		if (space && b->len) wn_buf_addc(b, ' ');
		space = 0;
		wn_buf_addc(b, (char)c);
	}
	if (space && b->len && b->data[b->len - 1] != ' ') wn_buf_addc(b, ' ');
}

/* Should the emitting pass skip this element? */
static int skip_elem(const wn_html *h, const rec *r, uint32_t root_text)
{
	if (r->flags & F_DROP) return 1;
	if (h->o.keep_boilerplate || !r->text) return 0;
	if ((r->flags & F_CLASS) && (uint64_t)r->text * 2 < root_text) return 1;
	if ((r->flags & F_WEAK) && (uint64_t)r->text * 2 < root_text &&
		(r->text < WEAK_TINY || (double)r->link / r->text > WEAK_LINKS))
		return 1;
	return (r->flags & F_LDROP) != 0;
}

static void enter(emit *e, const GumboNode *n, frame *f)
{
	GumboTag tag = n->v.element.tag;
	uint16_t tf = (unsigned)tag <= GUMBO_TAG_LAST ? tagtab[tag] : 0;
	f->mark = e->out->len;
	if (!tf) {
		if (tag == GUMBO_TAG_BR) {
			e->brk = e->brk ? 2 : 1;
			e->space = 0;
		}
		return;
	}
	if (tf & T_PARA) set_brk(e, 2);
	else if (tf & T_LIST) set_brk(e, e->item ? 1 : 2);
	else if (tf & T_LINE) set_brk(e, 1);
	if (tf & T_ITEM) e->item++;
	if ((tf & T_PRE) && !e->pre++) e->pre_mark = e->out->len;
	if (tf & T_ROW) {
		f->saved = e->cells;
		e->cells = 0;
	}
	if ((tf & T_CELL) && e->cells) e->sep = 1;
}

static void leave(emit *e, const GumboNode *n, frame *f)
{
	GumboTag tag = n->v.element.tag;
	uint16_t tf = (unsigned)tag <= GUMBO_TAG_LAST ? tagtab[tag] : 0;
	if (!tf) return;
	wn_buf *o = e->out;
	if (tf & T_PRE) {
		e->pre--;
		size_t len = o->len;
		while (len > f->mark && is_space((unsigned char)o->data[len - 1])) len--;
		wn_buf_setlen(o, len);
	}
	if (tf & T_ITEM) e->item--;
	if (tf & T_CELL) {
		if (o->len > f->mark) e->cells++;
		else if (e->cells) e->sep = 1; /* an empty cell keeps the separator pending */
	}
	if (tf & T_ROW) e->cells = f->saved;
	if (tf & T_PARA) set_brk(e, 2);
	else if (tf & T_LIST) set_brk(e, e->item ? 1 : 2);
	else if (tf & T_LINE) set_brk(e, 1);
}

static void emit_tree(wn_html *h, GumboNode *start, uint32_t sidx, emit *e)
{
	size_t depth = 0;
	uint32_t next = sidx + 1;
	uint32_t root_text = h->recs[sidx].text;
	frame *f = stack_at(h, depth++);
	f->node = start;
	f->idx = sidx;
	f->child = 0;
	enter(e, start, f);
	while (depth) {
		f = &h->stack[depth - 1];
		const GumboVector *kids = &f->node->v.element.children;
		if (f->child < kids->length) {
			GumboNode *n = kids->data[f->child++];
			if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA ||
				n->type == GUMBO_NODE_WHITESPACE) {
				emit_text(e, n->v.text.text, e->pre_mark);
				continue;
			}
			if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) continue;
			uint32_t ci = next++;
			const rec *r = &h->recs[ci];
			if (skip_elem(h, r, root_text)) {
				next = ci + r->size;
				if ((r->flags & F_MATH) && n->type == GUMBO_NODE_ELEMENT) {
					const char *alt = attr(n, "alttext");
					if (alt) emit_text(e, alt, e->out->len);
				}
				continue;
			}
			f = stack_at(h, depth++);
			f->node = n;
			f->idx = ci;
			f->child = 0;
			enter(e, n, f);
		} else {
			leave(e, f->node, f);
			depth--;
		}
	}
}

/* ---- parsing, and surviving gumbo's assertions ---------------------------- */

/*
 * Debian's gumbo 0.10.1 is built with assertions, and a few inputs trip
 * them (<table><svg><select><title><select><td> is one): abort() would take
 * the whole run down for one bad page.  While gumbo runs, a SIGABRT handler
 * jumps back to parse() instead.  Everything gumbo allocated lives in the
 * arena, which is reset, so nothing leaks but glibc's message on stderr.
 * The handler is installed once, only over the default disposition, and
 * hands a SIGABRT raised outside a parse back to that default.  A page
 * that trips an assertion is parsed again with <svg> and <math> renamed
 * to unknown HTML elements (foreign content is where the known failures
 * live; both are dropped anyway), and fails with WN_ECORRUPT only if that
 * trips one too.
 */
static _Thread_local sigjmp_buf *parse_jump;
static struct sigaction old_abort;
static pthread_once_t abort_once = PTHREAD_ONCE_INIT;

static void on_abort(int sig)
{
	sigjmp_buf *j = parse_jump;
	if (j) {
		parse_jump = NULL;
		siglongjmp(*j, JUMP_ABORT);
	}
	sigaction(sig, &old_abort, NULL);
	raise(sig);
}

static void install_abort(void)
{
	struct sigaction sa;
	if (sigaction(SIGABRT, NULL, &old_abort) || old_abort.sa_handler != SIG_DFL ||
		(old_abort.sa_flags & SA_SIGINFO))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_abort;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGABRT, &sa, NULL);
}

/* gumbo on s; NULL and *why (JUMP_*) when it was stopped. */
static GumboOutput *guarded_parse(wn_html *h, const char *s, size_t n, int *why)
{
	GumboOptions go = kGumboDefaultOptions;
	go.allocator = arena_alloc;
	go.deallocator = arena_free;
	go.userdata = &h->ar;
	go.max_errors = 0;
	sigjmp_buf jb;
	GumboOutput *volatile out = NULL;
	int r = sigsetjmp(jb, 1);
	if (r == 0) {
		h->ar.jump = &jb;
		h->ar.max_total = MEM_BASE + MEM_PER_BYTE * n;
		h->ar.deadline = thread_ns() + (uint64_t)(TIME_BASE_MS +
			(double)TIME_PER_MB_MS * (double)n / (1 << 20)) * 1000000u;
		parse_jump = &jb;
		out = gumbo_parse_with_options(&go, s, n);
	} else {
		out = NULL;
		*why = r;
		arena_reset(&h->ar);
	}
	parse_jump = NULL;
	h->ar.jump = NULL;
	return out;
}

/* A copy of s with "<svg", "</svg", "<math", "</math" (any case, as tag
 * names) renamed to "<xvg", "<xath": unknown HTML elements, no foreign
 * content. */
static const char *rename_foreign(wn_buf *b, const char *s, size_t n)
{
	wn_buf_reset(b);
	wn_buf_add(b, s, n);
	char *p = b->data, *end = b->data + b->len;
	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		char *q = p + 1;
		if (q < end && *q == '/') q++;
		size_t k = ci_prefix(q, end, "svg") ? 3 : ci_prefix(q, end, "math") ? 4 : 0;
		if (k && (q + k == end || is_space((unsigned char)q[k]) || q[k] == '/' || q[k] == '>'))
			*q = 'x';
		p++;
	}
	return b->data;
}

static GumboOutput *parse(wn_html *h, const char *s, size_t n, const char **err)
{
	pthread_once(&abort_once, install_abort);
	int why = 0;
	GumboOutput *out = guarded_parse(h, s, n, &why);
	if (!out && why == JUMP_ABORT) {
		const char *t = rename_foreign(&h->conv2, s, n);
		out = guarded_parse(h, t, n, &why);
	}
	if (!out)
		*err = why == JUMP_ABORT ? "the parser failed an assertion" :
			why == JUMP_TIME ? "the parse ran out of its time budget" :
			"the parse ran out of its memory budget";
	return out;
}

/* ---- wn_html_extract ------------------------------------------------------- */

int wn_html_extract(wn_html *h, const char *html, size_t n, const char *charset_hint,
	wn_html_result *res)
{
	wn_html *tmp = NULL;
	if (!h) h = tmp = wn_html_new(NULL);
	wn_buf_reset(&res->text);
	wn_buf_reset(&res->title);
	res->charset = "utf-8";
	res->charset_from = "default";
	res->replaced = 0;
	res->root = "body";
	res->error = NULL;
	if (n > h->o.max_input) {
		res->error = "the page is larger than the input cap";
		wn_html_free(tmp);
		return WN_ETOOBIG;
	}
	if (!html) html = "", n = 0;

	const char *u;
	size_t un;
	decode(h, html, n, charset_hint, res, &u, &un);

	GumboOutput *out = parse(h, u, un, &res->error);
	if (!out) {
		wn_html_free(tmp);
		return WN_ECORRUPT;
	}

	measure m;
	GumboNode *root = out->root;
	measure_tree(h, root, &m, &res->title);

	/* the root of the text: main, a lone article, or body */
	uint32_t start = m.body;
	uint32_t total = h->recs[start].clean;
	if (!h->o.keep_boilerplate) {
		uint32_t best = 0;
		for (int i = 0; i < m.nmain; i++)
			if (!best || h->recs[m.main[i]].clean > h->recs[best].clean) best = m.main[i];
		if (best && h->recs[best].clean && (uint64_t)h->recs[best].clean * 2 >= total) {
			start = best;
			res->root = "main";
		} else if (m.narticle == 1 && h->recs[m.article].clean &&
			(uint64_t)h->recs[m.article].clean * 2 >= total) {
			start = m.article;
			res->root = "article";
		}
	}
	GumboNode *sn = root;
	if (start) {
		/* find the node of record `start`: walk down by subtree sizes */
		uint32_t idx = 0;
		sn = root;
		while (idx != start) {
			const GumboVector *kids = &sn->v.element.children;
			uint32_t at = idx + 1;
			GumboNode *nextn = NULL;
			for (unsigned i = 0; i < kids->length; i++) {
				GumboNode *k = kids->data[i];
				if (k->type != GUMBO_NODE_ELEMENT && k->type != GUMBO_NODE_TEMPLATE) continue;
				if (start < at + h->recs[at].size) {
					nextn = k;
					break;
				}
				at += h->recs[at].size;
			}
			if (!nextn) break;
			sn = nextn;
			idx = at;
		}
		if (idx != start) sn = root, start = 0;
	}
	if (!start) res->root = m.body ? "body" : "html";

	emit e = { .out = &res->text };
	emit_tree(h, sn, start, &e);
	size_t len = res->text.len, lead = 0;
	while (len && is_space((unsigned char)res->text.data[len - 1])) len--;
	while (lead < len && is_space((unsigned char)res->text.data[lead])) lead++;
	if (lead) memmove(res->text.data, res->text.data + lead, len - lead);
	wn_buf_setlen(&res->text, len - lead);

	arena_reset(&h->ar);
	wn_html_free(tmp);
	return 0;
}
