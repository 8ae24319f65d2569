/*
 * json_bench.c - how fast can each JSON parser do winnow's per-line job?
 *
 *   json_bench [--reps N] [--no-subsets] FILE.jsonl
 *   json_bench --probe          edge cases: who accepts what, what `text` is
 *   json_bench --fuzz N FILE    mutate N lines of FILE; report every line
 *                               where winnow and the fully validating
 *                               libraries disagree
 *
 * The file is read into memory once and split into lines.  Then, for each
 * parser, the same job is timed per line:
 *
 *   parse the line as one JSON object (fail if it is not an object), get
 *   the decoded UTF-8 string of "text" and copy it into a reusable buffer,
 *   and the same for "id" and "domain"; count docs and sum decoded bytes.
 *
 * The copy is done for every parser, winnow included (winnow already
 * decodes into its own buffer, so for winnow the copy is extra work).
 * Repetitions are interleaved (round 1 runs every parser once, then round
 * 2, ...) so that a noisy neighbour hurts all parsers alike; the median of
 * the rounds is reported.  Before timing, one untimed pass per parser
 * checks that every parser sees the same docs: an XXH3 hash of each line's
 * decoded text, id and domain is compared with winnow's.
 *
 * Parsers (each compiled in only when its package is there; run.sh sets
 * the HAVE_* macros; the adapters live in p_jansson.c, p_jsonc.c,
 * p_cjson.c and simdjson_shim.cpp):
 *   winnow        wn_doc_parse (lib/doc.c)
 *   jansson       json_loadb(JSON_ALLOW_NUL)
 *   json-c        json_tokener_parse_ex, one reused tokener, default flags
 *   json-c-strict the same with JSON_TOKENER_STRICT|JSON_TOKENER_VALIDATE_UTF8
 *   cJSON         cJSON_ParseWithLengthOpts (= cJSON_ParseWithLength plus
 *                 the end pointer, to reject trailing garbage)
 *   simdjson-od   On-Demand, line memcpy'd into a reused padded buffer
 *                 (the copy is inside the timed loop)
 *   simdjson-od0  On-Demand, zero copy: the bytes after a line in the
 *                 in-memory file (the next lines, plus 64 bytes at the end of
 *                 the buffer) serve as the padding
 *   simdjson-dom  DOM API (validates the whole line), padded copy as -od
 * and two extra rows doing winnow's whole job (the decode job plus the raw
 * span of every top-level member, which winnow records for re-emission):
 *   simdjson-od-spans   On-Demand with spans (skipped values unvalidated)
 *   simdjson-dom+spans  a DOM pass (validation) then the On-Demand spans
 * check_spans() verifies those spans equal winnow's wn_member spans.
 *
 * JSON_BENCH_SIMDJSON_IMPL=haswell|westmere|fallback forces simdjson's
 * run-time kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../lib/doc.h"

#include "json_bench.h"
#ifdef HAVE_SIMDJSON
#include "simdjson_shim.h"
#endif


/* ---- small helpers ---- */

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) { fprintf(stderr, "json_bench: out of memory\n"); exit(2); }
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) { fprintf(stderr, "json_bench: out of memory\n"); exit(2); }
	return p;
}

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* wall time and this thread's CPU time of one pass */
typedef struct tm2 {
	double wall, cpu;
} tm2;

/* ---- winnow ---- */

static void *w_init(void)
{
	wn_doc *d = xmalloc(sizeof *d);
	wn_doc_init(d);
	return d;
}

static void w_fini(void *st)
{
	wn_doc_release(st);
	free(st);
}

/* the shipped path: simdjson On-Demand through lib/sjson.cpp, every value
 * validated, in place (the shard reader provides the padding) */
static int w_parse_in_place(wn_doc *d, const char *line, size_t len, size_t cap, res *r)
{
	int rc = cap >= len + WN_DOC_PADDING ? wn_doc_parse_padded(d, line, len, NULL)
					     : wn_doc_parse(d, line, len, NULL);
	if (rc) { r->err = d->err; return -1; }
	return 0;
}

static void w_fill(wn_doc *d, res *r)
{
	r->has_text = d->has_text;
	r->has_id = d->has_id;
	r->has_domain = d->has_domain;
	if (d->has_text) sb_set(&r->text, d->text.data, d->text.len);
	if (d->has_id) sb_set(&r->id, d->id.data, d->id.len);
	if (d->has_domain) sb_set(&r->domain, d->domain.data, d->domain.len);
}

static int w_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	wn_doc *d = st;
	if (w_parse_in_place(d, line, len, cap, r)) return -1;
	w_fill(d, r);
	return 0;
}

/* the reference scanner of lib/doc.c: the parser written for this job */
static int w_parse_scan(void *st, const char *line, size_t len, size_t cap, res *r)
{
	wn_doc *d = st;
	(void)cap;
	if (wn_doc_parse_scan(d, line, len, NULL)) { r->err = d->err; return -1; }
	w_fill(d, r);
	return 0;
}


/* ---- simdjson (through the C shim) ---- */

#ifdef HAVE_SIMDJSON
typedef struct sjst {
	sj_parser *p;
	char *pad;      /* reused padded copy */
	size_t padcap;
} sjst;

static void *sj_init(void)
{
	sjst *s = xmalloc(sizeof *s);
	s->p = sj_new();
	if (!s->p) { fprintf(stderr, "json_bench: simdjson parser alloc failed\n"); exit(2); }
	s->pad = NULL;
	s->padcap = 0;
	return s;
}

static void sj_fini(void *st)
{
	sjst *s = st;
	sj_free(s->p);
	free(s->pad);
	free(s);
}

static int sj_finish(int rc, const sj_fields *f, const char *err, res *r)
{
	if (rc) { r->err = err; return -1; }
	if ((r->has_text = f->text.ok)) sb_set(&r->text, f->text.p, f->text.n);
	if ((r->has_id = f->id.ok)) sb_set(&r->id, f->id.p, f->id.n);
	if ((r->has_domain = f->domain.ok)) sb_set(&r->domain, f->domain.p, f->domain.n);
	return 0;
}

static const char *padded_copy(sjst *s, const char *line, size_t len)
{
	if (len + PAD > s->padcap) {
		s->padcap = (len + PAD) * 2;
		s->pad = xrealloc(s->pad, s->padcap);
	}
	memcpy(s->pad, line, len);
	memset(s->pad + len, ' ', PAD); /* not required; keeps valgrind quiet */
	return s->pad;
}

static int sjod_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	sjst *s = st;
	sj_fields f;
	const char *err = NULL;
	(void)cap;
	const char *b = padded_copy(s, line, len);
	int rc = sj_ondemand(s->p, b, len, len + PAD, &f, &err);
	return sj_finish(rc, &f, err, r);
}

static int sjod0_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	sjst *s = st;
	sj_fields f;
	const char *err = NULL;
	int rc = sj_ondemand(s->p, line, len, cap, &f, &err);
	return sj_finish(rc, &f, err, r);
}

static int sjdom_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	sjst *s = st;
	sj_fields f;
	const char *err = NULL;
	(void)cap;
	const char *b = padded_copy(s, line, len);
	int rc = sj_dom(s->p, b, len, len + PAD, &f, &err);
	return sj_finish(rc, &f, err, r);
}

static int spans_parse(void *st, const char *line, size_t len, int validate, res *r)
{
	sjst *s = st;
	sj_fields f;
	const char *err = NULL;
	const sj_span *sp;
	size_t nsp;
	const char *b = padded_copy(s, line, len);
	int rc = sj_ondemand_spans(s->p, b, len, len + PAD, validate, &f, &sp, &nsp, &err);
	return sj_finish(rc, &f, err, r);
}

static int sjsp_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	(void)cap;
	return spans_parse(st, line, len, 0, r);
}

static int sjdsp_parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	(void)cap;
	return spans_parse(st, line, len, 1, r);
}

#endif

static const parser p_winnow[] = {
	{ "winnow", "wn_doc_parse_padded (lib/doc.c + lib/sjson.cpp: simdjson On-Demand, all values validated, spans)",
	  w_init, w_fini, w_parse },
	{ "winnow-scan", "wn_doc_parse_scan (lib/doc.c: the scanner written for this job, SSE2)",
	  w_init, w_fini, w_parse_scan },
};
#ifdef HAVE_SIMDJSON
static const parser p_simdjson[] = {
	{ "simdjson-od", "On-Demand, padded copy per line (copy timed)", sj_init, sj_fini, sjod_parse },
	{ "simdjson-od0", "On-Demand, zero copy (next bytes of the file as padding)",
	  sj_init, sj_fini, sjod0_parse },
	{ "simdjson-dom", "DOM (whole line validated), padded copy per line", sj_init, sj_fini,
	  sjdom_parse },
	/* extra: the whole winnow job (decode 3 fields + raw span of every member) */
	{ "simdjson-od-spans", "extra: On-Demand + raw span of every top-level member (winnow's"
	  " full job; skipped values not validated), padded copy", sj_init, sj_fini, sjsp_parse },
	{ "simdjson-dom+spans", "extra: DOM pass (validates all) then On-Demand spans pass,"
	  " padded copy", sj_init, sj_fini, sjdsp_parse },
};
#endif

#define MAXP 16
static parser parsers[MAXP];
static size_t NPARSERS;

static void add_parsers(const parser *p, size_t n)
{
	for (size_t i = 0; i < n && NPARSERS < MAXP; i++) parsers[NPARSERS++] = p[i];
}

static void setup_parsers(void)
{
	add_parsers(p_winnow, 2); /* first: the reference */
#ifdef HAVE_JANSSON
	add_parsers(p_jansson, p_jansson_n);
#endif
#ifdef HAVE_JSONC
	add_parsers(p_jsonc, p_jsonc_n);
#endif
#ifdef HAVE_CJSON
	add_parsers(p_cjson, p_cjson_n);
#endif
#ifdef HAVE_SIMDJSON
	add_parsers(p_simdjson, sizeof p_simdjson / sizeof p_simdjson[0]);
#endif
}

/* ---- the input ---- */

typedef struct line {
	const char *p;
	size_t n;
} line;

typedef struct lines {
	line *v;
	size_t n, cap;
	size_t bytes;
} lines;

static void lines_add(lines *ls, const char *p, size_t n)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 1024;
		ls->v = xrealloc(ls->v, ls->cap * sizeof *ls->v);
	}
	ls->v[ls->n].p = p;
	ls->v[ls->n].n = n;
	ls->n++;
	ls->bytes += n;
}

static char *buf_start, *buf_end; /* the file, followed by PAD spaces */

static void read_file(const char *path, lines *ls)
{
	FILE *f = fopen(path, "rb");
	if (!f) { fprintf(stderr, "json_bench: %s: %s\n", path, strerror(errno)); exit(2); }
	size_t cap = 1 << 20, n = 0;
	char *b = xmalloc(cap + PAD);
	for (;;) {
		if (n == cap) { cap *= 2; b = xrealloc(b, cap + PAD); }
		size_t k = fread(b + n, 1, cap - n, f);
		if (!k) break;
		n += k;
	}
	if (ferror(f)) { fprintf(stderr, "json_bench: %s: read error\n", path); exit(2); }
	fclose(f);
	memset(b + n, ' ', PAD);
	buf_start = b;
	buf_end = b + n + PAD;
	const char *p = b, *end = b + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t len = (size_t)(e - p);
		if (len && p[len - 1] == '\r') len--;
		if (len) lines_add(ls, p, len);
		p = nl ? nl + 1 : end;
	}
}

/* ---- one pass ---- */

typedef struct sums {
	size_t docs, errors, with_text;
	size_t text_bytes, id_bytes, domain_bytes;
} sums;

static void res_init(res *r) { memset(r, 0, sizeof *r); }
static void res_free(res *r) { free(r->text.p); free(r->id.p); free(r->domain.p); }

static uint64_t res_hash(const res *r)
{
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	uint64_t h[3] = { r->has_text ? r->text.n : ~0ull, r->has_id ? r->id.n : ~0ull,
			  r->has_domain ? r->domain.n : ~0ull };
	XXH3_64bits_update(&st, h, sizeof h);
	if (r->has_text) XXH3_64bits_update(&st, r->text.p, r->text.n);
	if (r->has_id) XXH3_64bits_update(&st, r->id.p, r->id.n);
	if (r->has_domain) XXH3_64bits_update(&st, r->domain.p, r->domain.n);
	return XXH3_64bits_digest(&st);
}

/* Time one pass; with hashes != NULL (untimed check), store each line's
 * hash (0 for a parse error) and the first error message. */
static tm2 run_pass(const parser *ps, void *st, const lines *ls, sums *s, res *r,
		       uint64_t *hashes, const char **first_err, size_t *first_err_line)
{
	memset(s, 0, sizeof *s);
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i < ls->n; i++) {
		const char *p = ls->v[i].p;
		size_t n = ls->v[i].n;
		r->has_text = r->has_id = r->has_domain = 0;
		if (ps->parse(st, p, n, (size_t)(buf_end - p), r)) {
			s->errors++;
			if (hashes) {
				hashes[i] = 0;
				if (first_err && !*first_err) {
					*first_err = r->err ? r->err : "?";
					*first_err_line = i;
				}
			}
			continue;
		}
		s->docs++;
		if (r->has_text) { s->with_text++; s->text_bytes += r->text.n; }
		if (r->has_id) s->id_bytes += r->id.n;
		if (r->has_domain) s->domain_bytes += r->domain.n;
		if (hashes) hashes[i] = res_hash(r) | 1;
	}
	tm2 t = { clock_s(CLOCK_MONOTONIC) - w0, clock_s(CLOCK_THREAD_CPUTIME_ID) - c0 };
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the benchmark ---- */

typedef struct result {
	double *cpu, *wall; /* seconds per round */
	sums s;
	int ok;             /* same docs and sums as winnow */
	size_t ndiff;       /* lines whose decoded fields differ from winnow's */
} result;

static void bench_set(const char *title, const lines *ls, int reps, int check)
{
	void *st[MAXP];
	res r[MAXP];
	result out[MAXP];
	uint64_t *ref = NULL, *h = NULL;

	printf("\n== %s: %zu lines, %.1f MB (line bytes, newline not counted) ==\n", title,
	       ls->n, ls->bytes / 1e6);
	for (size_t k = 0; k < NPARSERS; k++) {
		st[k] = parsers[k].init();
		res_init(&r[k]);
		out[k].cpu = xmalloc(sizeof(double) * (size_t)reps);
		out[k].wall = xmalloc(sizeof(double) * (size_t)reps);
		out[k].ok = 1;
		out[k].ndiff = 0;
	}

	/* untimed check pass (also the warm-up) */
	if (check) {
		ref = xmalloc(ls->n * sizeof *ref);
		h = xmalloc(ls->n * sizeof *h);
		for (size_t k = 0; k < NPARSERS; k++) {
			const char *ferr = NULL;
			size_t fline = 0;
			uint64_t *dst = k == 0 ? ref : h;
			run_pass(&parsers[k], st[k], ls, &out[k].s, &r[k], dst, &ferr, &fline);
			if (ferr)
				printf("  %-18s first error, line %zu: %s\n", parsers[k].name, fline + 1,
				       ferr);
			if (k == 0) continue;
			size_t bad = 0;
			for (size_t i = 0; i < ls->n; i++) {
				if (h[i] == ref[i]) continue;
				if (bad < 5) {
					res a, b;
					res_init(&a);
					res_init(&b);
					void *s0 = parsers[0].init();
					int ra = parsers[0].parse(s0, ls->v[i].p, ls->v[i].n,
								  (size_t)(buf_end - ls->v[i].p), &a);
					int rb = parsers[k].parse(st[k], ls->v[i].p, ls->v[i].n,
								  (size_t)(buf_end - ls->v[i].p), &b);
					printf("  %-18s differs from winnow on line %zu: winnow %s, text %zu B%s;"
					       " %s %s, text %zu B",
					       parsers[k].name, i + 1, ra ? "error" : "ok",
					       ra ? 0 : a.text.n,
					       !ra && a.has_text && memchr(a.text.p, 0, a.text.n)
						       ? " (holds U+0000)" : "",
					       parsers[k].name, rb ? "error" : "ok", rb ? 0 : b.text.n);
					if (rb && b.err) printf(" (%s)", b.err);
					printf("\n");
					parsers[0].fini(s0);
					res_free(&a);
					res_free(&b);
				}
				bad++;
			}
			out[k].ndiff = bad;
			if (bad) {
				out[k].ok = 0;
				printf("  %-18s differs from winnow on %zu of %zu lines\n",
				       parsers[k].name, bad, ls->n);
			}
		}
		free(ref);
		free(h);
	} else {
		for (size_t k = 0; k < NPARSERS; k++)
			run_pass(&parsers[k], st[k], ls, &out[k].s, &r[k], NULL, NULL, NULL);
	}

	/* timed rounds, interleaved */
	for (int rep = 0; rep < reps; rep++)
		for (size_t k = 0; k < NPARSERS; k++) {
			sums s;
			tm2 t = run_pass(&parsers[k], st[k], ls, &s, &r[k], NULL, NULL, NULL);
			out[k].cpu[rep] = t.cpu;
			out[k].wall[rep] = t.wall;
			if (memcmp(&s, &out[k].s, sizeof s)) out[k].ok = 0;
		}

	double wmed = 0, mb = ls->bytes / 1e6;
	printf("  %-18s %8s %9s %8s %8s %15s %12s %6s %s\n", "parser", "MB/s", "docs/s",
	       "winnow/x", "wall MB/s", "MB/s min..max", "text bytes", "errors", "same as winnow");
	for (size_t k = 0; k < NPARSERS; k++) {
		double med = median(out[k].cpu, reps), wall = median(out[k].wall, reps);
		if (k == 0) wmed = med;
		char same[48];
		if (k == 0) snprintf(same, sizeof same, "(reference)");
		else if (!check) snprintf(same, sizeof same, "-");
		else if (out[k].ok) snprintf(same, sizeof same, "yes");
		else snprintf(same, sizeof same, "NO (%zu lines differ)", out[k].ndiff);
		printf("  %-18s %8.1f %9.0f %8.2f %9.1f %7.1f..%-7.1f %12zu %6zu %s\n", parsers[k].name,
		       mb / med, out[k].s.docs / med, med / wmed, mb / wall, mb / out[k].cpu[reps - 1],
		       mb / out[k].cpu[0], out[k].s.text_bytes, out[k].s.errors, same);
	}
	printf("  sums (winnow): docs %zu, with text %zu, text %zu B, id %zu B, domain %zu B\n",
	       out[0].s.docs, out[0].s.with_text, out[0].s.text_bytes, out[0].s.id_bytes,
	       out[0].s.domain_bytes);

	for (size_t k = 0; k < NPARSERS; k++) {
		parsers[k].fini(st[k]);
		res_free(&r[k]);
		free(out[k].cpu);
		free(out[k].wall);
	}
	fflush(stdout);
}

/* ---- probe: edge cases ---- */

static void show_bytes_max(const char *p, size_t n, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') putchar(c);
		else printf("\\x%02x", c);
	}
	if (n > max) printf("...");
	putchar('"');
}

static void show_bytes(const char *p, size_t n) { show_bytes_max(p, n, 24); }

static int probe(void)
{
	static char deep[2200];
	{
		size_t o = 0;
		o += (size_t)sprintf(deep + o, "{\"text\":\"x\",\"meta\":");
		for (int i = 0; i < 600; i++) deep[o++] = '[';
		for (int i = 0; i < 600; i++) deep[o++] = ']';
		deep[o++] = '}';
		deep[o] = 0;
	}
	static const struct { const char *what; const char *json; size_t n; } cases[] = {
#define C(w, s) { w, s, sizeof(s) - 1 }
		C("plain", "{\"id\":\"a\",\"domain\":\"d\",\"text\":\"hello\"}"),
		C("\\u0000 in text", "{\"text\":\"a\\u0000b\"}"),
		C("escaped key te\\u0078t", "{\"te\\u0078t\":\"esc-key\"}"),
		C("duplicate text", "{\"text\":\"first\",\"text\":\"last\"}"),
		C("dup text, last not str", "{\"text\":\"first\",\"text\":1}"),
		C("dup id, last null", "{\"id\":\"first\",\"id\":null,\"text\":\"t\"}"),
		C("dup domain, last 5", "{\"domain\":\"first\",\"domain\":5,\"text\":\"t\"}"),
		C("text not a string", "{\"text\":42}"),
		C("surrogate pair", "{\"text\":\"\\ud83d\\ude00\"}"),
		C("lone surrogate \\ud800", "{\"text\":\"\\ud800\"}"),
		C("lone low \\udc00", "{\"text\":\"\\udc00\"}"),
		C("invalid utf-8 \\xff", "{\"text\":\"\xff\"}"),
		C("overlong \\xc0\\xaf", "{\"text\":\"\xc0\xaf\"}"),
		C("utf-8 surrogate ED A0 80", "{\"text\":\"\xed\xa0\x80\"}"),
		C("bad utf-8 in other field", "{\"text\":\"x\",\"url\":\"\xff\"}"),
		C("raw TAB in text", "{\"text\":\"a\tb\"}"),
		C("raw TAB in other field", "{\"text\":\"x\",\"url\":\"a\tb\"}"),
		C("bad number 01 (nested)", "{\"text\":\"x\",\"meta\":{\"n\":01}}"),
		C("bad literal tru (nested)", "{\"text\":\"x\",\"meta\":[tru]}"),
		C("number 1e (nested)", "{\"text\":\"x\",\"meta\":{\"n\":1e}}"),
		C("NaN", "{\"text\":\"x\",\"n\":NaN}"),
		C("bad escape \\x in url", "{\"text\":\"x\",\"url\":\"\\x41\"}"),
		C("big integer 30 digits", "{\"text\":\"x\",\"n\":123456789012345678901234567890}"),
		C("huge real 1e400", "{\"text\":\"x\",\"n\":1e400}"),
		C("trailing comma", "{\"text\":\"x\",}"),
		C("trailing garbage", "{\"text\":\"x\"} x"),
		C("two objects", "{\"text\":\"x\"}{}"),
		C("trailing spaces", "{\"text\":\"x\"}   "),
		C("leading spaces", "   {\"text\":\"x\"}"),
		C("UTF-8 BOM", "\xef\xbb\xbf{\"text\":\"x\"}"),
		C("truncated", "{\"text\":\"x\""),
		C("single quotes", "{'text':'x'}"),
		C("array top level", "[{\"text\":\"x\"}]"),
		C("string top level", "\"text\""),
		C("empty object", "{}"),
		C("comment", "{\"text\":\"x\"/*c*/}"),
		C("DEL 0x7f raw", "{\"text\":\"a\x7f\"}"),
		{ "600-deep array (nested)", deep, 0 },
#undef C
	};
	size_t nc = sizeof cases / sizeof cases[0];
	printf("probe: 'ok T' = accepted with text T (decoded bytes), '-' = accepted, no string text,"
	       " 'ERR' = rejected\n");
	for (size_t c = 0; c < nc; c++) {
		size_t n = cases[c].n ? cases[c].n : strlen(cases[c].json);
		/* padded private copy so simdjson zero-copy is safe too */
		char *b = xmalloc(n + PAD);
		memcpy(b, cases[c].json, n);
		memset(b + n, ' ', PAD);
		char *save_end = buf_end;
		buf_end = b + n + PAD;
		printf("%s\n", cases[c].what);
		for (size_t k = 0; k < NPARSERS; k++) {
			void *st = parsers[k].init();
			res r;
			res_init(&r);
			int rc = parsers[k].parse(st, b, n, n + PAD, &r);
			printf("    %-18s ", parsers[k].name);
			if (rc) printf("ERR  %s", r.err ? r.err : "");
			else if (!r.has_text) printf("-");
			else { printf("ok   "); show_bytes(r.text.p, r.text.n); }
			if (!rc && r.has_id) { printf("  id="); show_bytes(r.id.p, r.id.n); }
			if (!rc && r.has_domain) { printf("  domain="); show_bytes(r.domain.p, r.domain.n); }
			printf("\n");
			res_free(&r);
			parsers[k].fini(st);
		}
		buf_end = save_end;
		free(b);
	}
	return 0;
}

/* ---- fuzz: mutated lines, winnow against the validating libraries ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Lines are cut to ~600-800 bytes (closed with "}), then get 1-3 random
 * edits.  Judges: jansson and simdjson-dom, which validate the whole line
 * and its UTF-8.  A line is reported when both judges agree with each
 * other (accept/reject, and the decoded fields) and winnow does not. */
static int fuzz(const lines *ls, long n)
{
	static const char tokens[][8] = { "\"", "\\", "{", "}", "[", "]", ":", ",", "\\u",
					  "\\ud800", "\\udc00", "\xff", "\xc3", "\xe4\xb8", "\xed\xa0\x80",
					  "\t", "0", "-", "e", "1", "true", "nul", "\\\"", " ", "\\u0000" };
	size_t kj = 0, ks = 0;
	for (size_t k = 0; k < NPARSERS; k++) {
		if (!strcmp(parsers[k].name, "jansson")) kj = k;
		if (!strcmp(parsers[k].name, "simdjson-dom")) ks = k;
	}
	if (!kj || !ks) { printf("fuzz: needs jansson and simdjson\n"); return 0; }
	void *st[MAXP];
	res r[MAXP];
	for (size_t k = 0; k < NPARSERS; k++) { st[k] = parsers[k].init(); res_init(&r[k]); }
	char *b = NULL;
	size_t bcap = 0;
	long acc = 0, dj = 0, ds = 0, judges_split = 0, bad = 0;
	for (long i = 0; i < n; i++) {
		const line *l = &ls->v[rnd() % ls->n];
		size_t len = l->n < 600 ? l->n : 600 + rnd() % 200;
		if (len > l->n) len = l->n;
		if (len + 64 + PAD > bcap) { bcap = (len + 64 + PAD) * 2; b = xrealloc(b, bcap); }
		memcpy(b, l->p, len);
		if (len < l->n) memcpy(b + len - 2, "\"}", 2); /* often still valid */
		int muts = 1 + (int)(rnd() % 3);
		for (int m = 0; m < muts; m++) {
			const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
			size_t tl = strlen(t), at = rnd() % (len + 1);
			int op = (int)(rnd() % 3);
			if (op == 0 && len + tl + PAD < bcap) { /* insert */
				memmove(b + at + tl, b + at, len - at);
				memcpy(b + at, t, tl);
				len += tl;
			} else if (op == 1 && at < len) { /* delete one byte */
				memmove(b + at, b + at + 1, len - at - 1);
				len--;
			} else if (at + tl <= len) { /* overwrite */
				memcpy(b + at, t, tl);
			}
		}
		memset(b + len, ' ', PAD);
		int rw = parsers[0].parse(st[0], b, len, len + PAD, &r[0]);
		int rj = parsers[kj].parse(st[kj], b, len, len + PAD, &r[kj]);
		int rs = parsers[ks].parse(st[ks], b, len, len + PAD, &r[ks]);
		uint64_t hw = rw ? 0 : res_hash(&r[0]), hj = rj ? 0 : res_hash(&r[kj]),
			 hs = rs ? 0 : res_hash(&r[ks]);
		if (!rw) acc++;
		dj += hj != hw;
		ds += hs != hw;
		if (hj != hs) { judges_split++; continue; }
		if (hw == hj) continue;
		if (bad++ < 10) {
			printf("fuzz: winnow %s (%s), jansson and simdjson-dom %s on:\n  ",
			       rw ? "rejects" : "accepts", rw ? r[0].err : "", rj ? "reject" : "accept");
			show_bytes_max(b, len, 100000);
			printf("\n");
		}
	}
	printf("fuzz: %ld mutated lines, %ld accepted by winnow; winnow differs from jansson on %ld,"
	       " from simdjson-dom on %ld; the two judges differ on %ld; winnow alone against both"
	       " agreeing judges: %ld\n", n, acc, dj, ds, judges_split, bad);
	for (size_t k = 0; k < NPARSERS; k++) { parsers[k].fini(st[k]); res_free(&r[k]); }
	free(b);
	return 0;
}

#ifdef HAVE_SIMDJSON
/* Do the spans simdjson-od-spans records equal winnow's member spans?
 * (the job winnow's parser also does: keep every member's raw bytes) */
static void check_spans(const lines *ls)
{
	wn_doc d;
	wn_doc_init(&d);
	sj_parser *p = sj_new();
	char *pad = NULL;
	size_t padcap = 0, bad = 0, checked = 0, members = 0;
	for (size_t i = 0; i < ls->n; i++) {
		const char *l = ls->v[i].p;
		size_t n = ls->v[i].n;
		if (n + PAD > padcap) { padcap = (n + PAD) * 2; pad = xrealloc(pad, padcap); }
		memcpy(pad, l, n);
		memset(pad + n, ' ', PAD);
		sj_fields f;
		const sj_span *sp;
		size_t nsp;
		const char *err = NULL;
		int a = wn_doc_parse(&d, pad, n, NULL);
		int b = sj_ondemand_spans(p, pad, n, n + PAD, 0, &f, &sp, &nsp, &err);
		if (a || b) { bad += !a != !b; continue; }
		checked++;
		int same = nsp == d.nm;
		for (size_t m = 0; same && m < nsp; m++) {
			const wn_member *w = &d.m[m];
			same = sp[m].koff == (size_t)(w->key - d.line) && sp[m].klen == w->klen &&
			       sp[m].voff == (size_t)(w->val - d.line) && sp[m].vlen == w->vlen;
		}
		members += nsp;
		if (!same) {
			if (bad < 3) printf("  spans differ from winnow's on line %zu\n", i + 1);
			bad++;
		}
	}
	printf("  member spans: simdjson On-Demand and winnow agree on %zu of %zu lines (%zu members)%s\n",
	       checked - bad, ls->n, members, bad ? "  <-- MISMATCH" : "");
	free(pad);
	sj_free(p);
	wn_doc_release(&d);
}
#endif

/* ---- main ---- */

static int starts_domain(const line *l, const char *dom, wn_doc *d)
{
	if (wn_doc_parse(d, l->p, l->n, NULL) || !d->has_domain) return 0;
	return d->domain.len == strlen(dom) && !memcmp(d->domain.data, dom, d->domain.len);
}

static void usage(void)
{
	fprintf(stderr, "usage: json_bench [--reps N] [--no-subsets] FILE.jsonl\n"
			"       json_bench --probe\n"
			"       json_bench --fuzz N FILE.jsonl\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int reps = 5, subsets = 1;
	long fuzz_n = 0;
	const char *path = NULL;
#ifdef HAVE_SIMDJSON
	if (sj_padding() > PAD) {
		fprintf(stderr, "json_bench: simdjson wants %zu bytes of padding, PAD is %d\n",
			sj_padding(), PAD);
		return 2;
	}
#endif
#ifdef HAVE_SIMDJSON
	const char *force = getenv("JSON_BENCH_SIMDJSON_IMPL");
	if (force && *force && sj_force(force)) {
		fprintf(stderr, "json_bench: simdjson kernel %s unknown or not supported here\n", force);
		return 2;
	}
#endif
	setup_parsers();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-subsets")) subsets = 0;
		else if (!strcmp(argv[i], "--probe")) return probe();
		else if (!strcmp(argv[i], "--fuzz") && i + 1 < argc) fuzz_n = atol(argv[++i]);
		else if (argv[i][0] == '-') usage();
		else path = argv[i];
	}
	if (!path || reps < 1) usage();

	lines all = { 0 };
	read_file(path, &all);
	if (!all.n) { fprintf(stderr, "json_bench: %s: no lines\n", path); return 2; }
	if (fuzz_n) {
		int rc = fuzz(&all, fuzz_n);
		free(all.v);
		free(buf_start);
		return rc;
	}

	printf("parsers:");
	for (size_t k = 0; k < NPARSERS; k++) printf(" %s", parsers[k].name);
	printf("\n");
	for (size_t k = 0; k < NPARSERS; k++) printf("  %-18s %s\n", parsers[k].name, parsers[k].note);
#ifdef HAVE_SIMDJSON
	printf("simdjson: %s; padding %zu\n", sj_implementation(), sj_padding());
#endif
	printf("MB/s and docs/s: median of %d interleaved rounds of this thread's CPU time"
	       " (wall MB/s: median wall time; min..max: CPU-time MB/s of the slowest and fastest"
	       " round); MB = 10^6 bytes of line; winnow/x = how many times faster winnow is than x\n",
	       reps);

	bench_set("all lines", &all, reps, 1);
#ifdef HAVE_SIMDJSON
	check_spans(&all);
#endif

	if (subsets) {
		lines zh = { 0 }, en = { 0 };
		wn_doc d;
		wn_doc_init(&d);
		for (size_t i = 0; i < all.n; i++) {
			if (starts_domain(&all.v[i], "fortunes-zh", &d)) lines_add(&zh, all.v[i].p, all.v[i].n);
			else lines_add(&en, all.v[i].p, all.v[i].n);
		}
		wn_doc_release(&d);
		if (zh.n) bench_set("domain fortunes-zh (Chinese)", &zh, reps, 1);
		if (en.n) bench_set("other domains (English)", &en, reps, 1);
		free(zh.v);
		free(en.v);
	}
	free(all.v);
	free(buf_start);
	return 0;
}
