/*
 * norm.c - winnow norm: turn JSONL, plain text, HTML pages or WARC files
 * into JSONL documents with normalised text.
 *
 * The inputs other than JSONL are sources (lib/run.h): each input's bytes
 * become documents here, with an id from the input's name and position
 * ("pages/a.html", "notes.txt:3", or the WARC record id), and then go
 * through the same document loop as JSONL lines.  The per-document work is
 * the normaliser of filters/textnorm.h, on as many worker threads as
 * --threads says; output order is input order.  Each rule that changed a
 * document is counted in the stats (kind "norm", one key per rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../filters/html.h"
#include "../filters/textnorm.h"
#include "../filters/warc.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"
#include "../lib/shard.h"

static const char usage_text[] =
"usage: winnow norm [OPTIONS] [INPUT...]\n"
"\n"
"Normalise the text of documents: repair or drop invalid UTF-8, Unicode NFC\n"
"(or NFKC), remove control, zero-width and BOM characters, unify line\n"
"ends, collapse white space and blank lines, decode leftover HTML entities;\n"
"optionally Traditional to Simplified Chinese.  Inputs are JSONL, plain\n"
"text, HTML pages or WARC files; documents without an id get one from the\n"
"input's name and position.\n"
"\n"
"Inputs:\n"
"      --from FORMAT       jsonl (default), txt, html or warc\n"
"      --split UNIT        txt: one document per file, paragraph (blank-line\n"
"                          separated) or line (default file)\n"
"      --max-doc BYTES     largest txt or HTML input and WARC record read (default\n"
"                          64M; a larger input fails, a larger record is rejected)\n"
"Rules (all on unless said):\n"
"      --invalid-utf8 replace|drop  repair invalid UTF-8 with U+FFFD (default)\n"
"                          or drop the document\n"
"      --nfkc              NFKC instead of NFC (folds full-width ASCII)\n"
"      --no-unicode        no Unicode normalisation\n"
"      --no-entities       leave HTML entities (&amp; &#233;) alone\n"
"      --no-newlines       leave CRLF and CR alone\n"
"      --no-zero-width     keep zero-width and BOM characters\n"
"      --no-control        keep control characters\n"
"      --no-spaces         keep runs of spaces and tabs\n"
"      --no-trailing       keep trailing white space\n"
"      --no-blank-lines    keep runs of blank lines\n"
"      --zh-simplify       convert Traditional to Simplified Chinese (OpenCC)\n"
"      --min-chars N       drop documents with fewer than N characters after\n"
"                          normalisation (default 1: empty ones; 0 keeps all)\n"
"Work:\n"
"      --threads N         worker threads (default: the number of CPUs)\n";

enum {
	OPT_FROM = WN_OPT_COMMON_END + 1, OPT_SPLIT, OPT_MAX_DOC, OPT_INVALID_UTF8, OPT_NFKC,
	OPT_ZH, OPT_MIN_CHARS, OPT_THREADS, OPT_NO /* + rule */
};

enum from { FROM_JSONL, FROM_TXT, FROM_HTML, FROM_WARC };
enum split { SPLIT_FILE, SPLIT_PARAGRAPH, SPLIT_LINE };

/* flag bits beyond the normaliser's rules */
enum { FLAG_ID = WN_TN_NRULES, NFLAGS };

typedef struct norm {
	wn_tn_opts tn;
	enum from from;
	enum split split;
	size_t max_doc;
	long long min_chars;
	const wn_opts *o;
	const char *flag_names[NFLAGS];
	/* WARC records that are not documents, over the run */
	uint64_t warc_records, warc_pages, warc_other, warc_not_html, warc_bad;
} norm;

/* one per worker thread */
typedef struct worker {
	norm *n;
	wn_tn *tn;
	wn_buf out, id;
} worker;

static void *worker_new(void *ctx, int i)
{
	norm *n = ctx;
	worker *w = wn_calloc(1, sizeof *w);
	w->n = n;
	char err[256];
	if (wn_tn_new(&w->tn, &n->tn, err, sizeof err)) {
		/* checked before the run starts, so this cannot fail for a
		 * reason the user could have fixed */
		wn_error("%s", err);
		exit(1);
	}
	wn_buf_init(&w->out, 0);
	wn_buf_init(&w->id, 0);
	(void)i;
	return w;
}

static void worker_free(void *ctx, void *wctx)
{
	(void)ctx;
	worker *w = wctx;
	wn_tn_free(w->tn);
	wn_buf_release(&w->out);
	wn_buf_release(&w->id);
	free(w);
}

/* The stable id of a document: the input's base name and its position. */
static void make_id(wn_buf *b, const char *input, uint64_t pos, int with_pos)
{
	char base[4096];
	if (!strcmp(input, "-")) snprintf(base, sizeof base, "stdin");
	else wn_run_basename(input, base, sizeof base);
	wn_buf_reset(b);
	wn_buf_adds(b, base);
	if (with_pos) wn_buf_addf(b, ":%llu", (unsigned long long)pos);
}

static int norm_doc(void *ctx, wn_item *it, wn_doc *d)
{
	worker *w = ctx;
	norm *n = w->n;
	unsigned changed = 0;
	int rc = wn_tn_apply(w->tn, d->text.data, d->text.len, &w->out, &changed);
	if (rc == WN_EUTF8) {
		it->reason = "norm:invalid_utf8";
		return WN_DROP;
	}
	it->flags |= changed;
	if (n->min_chars > 0 &&
	    wn_utf8_count(w->out.data, w->out.len) < (size_t)n->min_chars) {
		it->reason = "norm:too_short";
		return WN_DROP;
	}
	if (changed) wn_doc_set_str(d, n->o->fields.text, w->out.data, w->out.len);
	if (!d->has_id) {
		make_id(&w->id, it->input, it->lineno, 1);
		wn_doc_set_str(d, n->o->fields.id, w->id.data, w->id.len);
		it->flags |= 1ull << FLAG_ID;
	}
	return WN_KEEP;
}

/* ---- sources ---- */

/* Read the whole input (up to max bytes) into b. */
static int slurp(wn_source *s, wn_reader *rd, const char *input, size_t max, wn_buf *b)
{
	for (;;) {
		if (wn_buf_grow(b, 1 << 16)) return WN_ENOMEM;
		size_t room = b->cap - b->len - 1;
		if (b->len + room > max + 1) room = max + 1 - b->len;
		long got = wn_reader_read(rd, b->data + b->len, room);
		if (got < 0)
			return wn_source_fail(s, (int)got, "%s", wn_reader_error(rd));
		if (got == 0) break;
		b->len += (size_t)got;
		if (b->len > max)
			return wn_source_fail(s, WN_ETOOBIG, "larger than --max-doc %zu bytes (input not read)",
					      max);
	}
	b->data[b->len] = 0;
	return 0;
}

/* Emit one document {"id":ID,"text":TEXT[,extra]} where TEXT may hold
 * invalid UTF-8: repaired here (and flagged) so that the line is valid
 * JSON, or, under --invalid-utf8 drop, rejected with its raw bytes. */
static void emit_text(norm *n, wn_source *s, const char *id, const char *text, size_t len,
		      uint64_t pos, const char *extra, wn_buf *line, wn_buf *fixed, uint64_t flags)
{
	if (!wn_utf8_valid(text, len, NULL)) {
		if (n->tn.utf8_drop) {
			wn_source_bad(s, "norm:invalid_utf8", "invalid UTF-8", text, len,
				      pos);
			return;
		}
		wn_tn_repair_utf8(text, len, fixed);
		text = fixed->data;
		len = fixed->len;
		flags |= 1ull << WN_TN_UTF8;
	}
	wn_buf_reset(line);
	wn_buf_addc(line, '{');
	wn_json_escape(line, n->o->fields.id, strlen(n->o->fields.id));
	wn_buf_addc(line, ':');
	wn_json_escape(line, id, strlen(id));
	wn_buf_addc(line, ',');
	wn_json_escape(line, n->o->fields.text, strlen(n->o->fields.text));
	wn_buf_addc(line, ':');
	wn_json_escape(line, text, len);
	if (extra) wn_buf_adds(line, extra);
	wn_buf_addc(line, '}');
	wn_source_emit(s, line->data, line->len, pos, flags);
}

/* A line of a text that holds only white space. */
static int blank(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
	return 1;
}

static int src_txt(void *ctx, wn_source *s, wn_reader *rd, const char *input)
{
	norm *n = ctx;
	wn_buf all = WN_BUF_INIT, line = WN_BUF_INIT, fixed = WN_BUF_INIT, id = WN_BUF_INIT;
	int rc = slurp(s, rd, input, n->max_doc, &all);
	if (rc) goto out;
	if (n->split == SPLIT_FILE) {
		make_id(&id, input, 1, 0);
		emit_text(n, s, id.data, all.data, all.len, 1, NULL, &line, &fixed, 0);
		goto out;
	}
	/* paragraph: runs of non-blank lines; line: every line.  The position
	 * is the 1-based line number where the document starts. */
	const char *p = all.data, *end = all.data + all.len;
	uint64_t lineno = 0, start_line = 0;
	const char *start = NULL, *last = NULL;
	while (p < end && !wn_source_stopped(s)) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		if (n->split == SPLIT_LINE) {
			if (!blank(p, le)) {
				make_id(&id, input, lineno, 1);
				emit_text(n, s, id.data, p, (size_t)(le - p), lineno, NULL, &line,
					  &fixed, 0);
			}
		} else if (blank(p, le)) {
			if (start) {
				make_id(&id, input, start_line, 1);
				emit_text(n, s, id.data, start, (size_t)(last - start), start_line,
					  NULL, &line, &fixed, 0);
				start = NULL;
			}
		} else {
			if (!start) {
				start = p;
				start_line = lineno;
			}
			last = le;
		}
		p = nl ? nl + 1 : end;
	}
	if (start && !wn_source_stopped(s)) {
		make_id(&id, input, start_line, 1);
		emit_text(n, s, id.data, start, (size_t)(last - start), start_line, NULL, &line,
			  &fixed, 0);
	}
out:
	wn_buf_release(&all);
	wn_buf_release(&line);
	wn_buf_release(&fixed);
	wn_buf_release(&id);
	return rc;
}

static int src_html(void *ctx, wn_source *s, wn_reader *rd, const char *input)
{
	norm *n = ctx;
	wn_buf all = WN_BUF_INIT, line = WN_BUF_INIT, fixed = WN_BUF_INIT, id = WN_BUF_INIT;
	wn_buf extra = WN_BUF_INIT;
	int rc = slurp(s, rd, input, n->max_doc, &all);
	if (rc) goto out;
	wn_html_opts ho = { n->max_doc, 0, 0 };
	wn_html *h = wn_html_new(&ho);
	wn_html_result res;
	wn_html_result_init(&res);
	if (wn_html_extract(h, all.data, all.len, NULL, &res) == 0) {
		make_id(&id, input, 1, 0);
		if (res.title.len) {
			wn_buf_adds(&extra, ",\"title\":");
			wn_json_escape(&extra, res.title.data, res.title.len);
		}
		/* bytes the page's encoding could not decode count as repaired */
		emit_text(n, s, id.data, res.text.data, res.text.len, 1,
			  extra.len ? extra.data : NULL, &line, &fixed,
			  res.replaced ? 1ull << WN_TN_UTF8 : 0);
	} else {
		char what[300];
		snprintf(what, sizeof what, "HTML not parsed: %s", res.error ? res.error : "?");
		wn_source_bad(s, "norm:bad_html", what, all.data, all.len, 1);
	}
	wn_html_result_release(&res);
	wn_html_free(h);
out:
	wn_buf_release(&all);
	wn_buf_release(&line);
	wn_buf_release(&fixed);
	wn_buf_release(&id);
	wn_buf_release(&extra);
	return rc;
}

static long warc_read(void *ctx, void *buf, size_t n)
{
	return wn_reader_read(ctx, buf, n);
}

static int src_warc(void *ctx, wn_source *s, wn_reader *rd, const char *input)
{
	norm *n = ctx;
	wn_buf line = WN_BUF_INIT, fixed = WN_BUF_INIT, id = WN_BUF_INIT, extra = WN_BUF_INIT;
	wn_warc_opts wo = { n->max_doc, 0, 0 };
	wn_warc *w = wn_warc_new(warc_read, rd, &wo);
	wn_html_opts ho = { n->max_doc, 0, 0 };
	wn_html *h = wn_html_new(&ho);
	wn_html_result res;
	wn_html_result_init(&res);
	int rc = 0;
	wn_warc_record rec;
	while (!wn_source_stopped(s) && (rc = wn_warc_next(w, &rec)) != 0) {
		if (rc == WN_ETOOBIG || rc == WN_ECORRUPT) {
			/* the reader skipped the record (or garbage) and goes on */
			char what[600];
			snprintf(what, sizeof what, "%s", wn_warc_error(w));
			size_t wl = strlen(what);
			if (wl > 9 && !strcmp(what + wl - 9, ", skipped")) what[wl - 9] = 0;
			wn_source_bad(s, rc == WN_ETOOBIG ? "norm:warc_too_big" : "norm:warc_corrupt",
				      what, "", 0, rec.ordinal);
			n->warc_records++;
			n->warc_bad++;
			continue;
		}
		if (rc < 0) {
			rc = wn_source_fail(s, rc, "%s", wn_warc_error(w));
			break;
		}
		n->warc_records++;
		int page = (rec.type == WN_WARC_RESPONSE || rec.type == WN_WARC_RESOURCE) &&
			   (!rec.http || (rec.http_status >= 200 && rec.http_status < 300));
		if (!page) {
			/* warcinfo, request, metadata, revisit, redirects and errors
			 * are not documents */
			n->warc_other++;
			continue;
		}
		const char *uri = rec.target_uri ? rec.target_uri : "";
		if (wn_warc_is_html(&rec) && !rec.payload) {
			/* an HTML page that could not be decoded (br, too big) */
			n->warc_bad++;
			char what[700];
			snprintf(what, sizeof what, "%s: %s", uri,
				 rec.http_error ? rec.http_error : "no payload");
			wn_source_bad(s, "norm:bad_payload", what, uri, strlen(uri), rec.ordinal);
			continue;
		}
		if (!wn_warc_is_html(&rec)) {
			/* a response that is not a page: a dropped document, named */
			n->warc_not_html++;
			char what[700];
			snprintf(what, sizeof what, "%s is %s%s%s, not HTML", uri,
				 rec.mime[0] ? rec.mime : "of no media type",
				 rec.http_error ? ": " : "", rec.http_error ? rec.http_error : "");
			wn_source_bad(s, "norm:not_html", what, uri, strlen(uri), rec.ordinal);
			continue;
		}
		if (wn_html_extract(h, rec.payload, rec.payload_len, rec.charset, &res)) {
			char what[900];
			snprintf(what, sizeof what, "%s: HTML not parsed: %s", uri,
				 res.error ? res.error : "?");
			wn_source_bad(s, "norm:bad_html", what, rec.payload, rec.payload_len,
				      rec.ordinal);
			n->warc_bad++;
			continue;
		}
		wn_buf_reset(&extra);
		wn_buf_adds(&extra, ",\"url\":");
		wn_json_escape(&extra, uri, strlen(uri));
		wn_buf_adds(&extra, ",\"date\":");
		if (rec.date) wn_json_escape(&extra, rec.date, strlen(rec.date));
		else wn_buf_adds(&extra, "null");
		if (res.title.len) {
			wn_buf_adds(&extra, ",\"title\":");
			wn_json_escape(&extra, res.title.data, res.title.len);
		}
		if (rec.record_id && rec.record_id[0]) {
			wn_buf_reset(&id);
			wn_buf_adds(&id, rec.record_id);
		} else {
			make_id(&id, input, rec.ordinal, 1);
		}
		n->warc_pages++;
		emit_text(n, s, id.data, res.text.data, res.text.len, rec.ordinal, extra.data,
			  &line, &fixed, res.replaced ? 1ull << WN_TN_UTF8 : 0);
	}
	wn_html_result_release(&res);
	wn_html_free(h);
	wn_warc_free(w);
	wn_buf_release(&line);
	wn_buf_release(&fixed);
	wn_buf_release(&id);
	wn_buf_release(&extra);
	return rc < 0 ? rc : 0;
}

/* ---- the command ---- */

int cmd_norm(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	norm n;
	memset(&n, 0, sizeof n);
	wn_tn_opts_default(&n.tn);
	n.max_doc = 64u << 20;
	n.min_chars = 1;
	n.o = &o;
	int threads = wn_ncpus();

	/* own options, and one --no-RULE per switchable rule */
	struct option own[32];
	int k = 0;
	own[k++] = (struct option){ "from", required_argument, NULL, OPT_FROM };
	own[k++] = (struct option){ "split", required_argument, NULL, OPT_SPLIT };
	own[k++] = (struct option){ "max-doc", required_argument, NULL, OPT_MAX_DOC };
	own[k++] = (struct option){ "invalid-utf8", required_argument, NULL, OPT_INVALID_UTF8 };
	own[k++] = (struct option){ "nfkc", no_argument, NULL, OPT_NFKC };
	own[k++] = (struct option){ "zh-simplify", no_argument, NULL, OPT_ZH };
	own[k++] = (struct option){ "min-chars", required_argument, NULL, OPT_MIN_CHARS };
	own[k++] = (struct option){ "threads", required_argument, NULL, OPT_THREADS };
	static const struct { const char *opt; int rule; } nos[] = {
		{ "no-unicode", WN_TN_UNICODE }, { "no-entities", WN_TN_ENTITIES },
		{ "no-newlines", WN_TN_NEWLINES }, { "no-zero-width", WN_TN_ZEROWIDTH },
		{ "no-control", WN_TN_CONTROL }, { "no-spaces", WN_TN_SPACES },
		{ "no-trailing", WN_TN_TRAILING }, { "no-blank-lines", WN_TN_BLANKLINES },
	};
	for (size_t i = 0; i < sizeof nos / sizeof nos[0]; i++)
		own[k++] = (struct option){ nos[i].opt, no_argument, NULL, OPT_NO + nos[i].rule };
	own[k] = (struct option){ NULL, 0, NULL, 0 };

	struct option *lo = wn_opts_longopts(own);
	char err[256];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		char *end;
		long long v;
		switch (opt) {
		case OPT_FROM:
			if (!strcmp(optarg, "jsonl")) n.from = FROM_JSONL;
			else if (!strcmp(optarg, "txt")) n.from = FROM_TXT;
			else if (!strcmp(optarg, "html")) n.from = FROM_HTML;
			else if (!strcmp(optarg, "warc")) n.from = FROM_WARC;
			else {
				free(lo);
				return cmd_usage_error("--from: '%s' is not jsonl, txt, html or warc",
						       optarg);
			}
			break;
		case OPT_SPLIT:
			if (!strcmp(optarg, "file")) n.split = SPLIT_FILE;
			else if (!strcmp(optarg, "paragraph")) n.split = SPLIT_PARAGRAPH;
			else if (!strcmp(optarg, "line")) n.split = SPLIT_LINE;
			else {
				free(lo);
				return cmd_usage_error("--split: '%s' is not file, paragraph or line",
						       optarg);
			}
			break;
		case OPT_MAX_DOC:
			v = wn_parse_size(optarg);
			if (v <= 0) {
				free(lo);
				return cmd_usage_error("--max-doc: '%s' is not a size", optarg);
			}
			n.max_doc = (size_t)v;
			break;
		case OPT_INVALID_UTF8:
			if (!strcmp(optarg, "replace")) n.tn.utf8_drop = 0;
			else if (!strcmp(optarg, "drop")) n.tn.utf8_drop = 1;
			else {
				free(lo);
				return cmd_usage_error("--invalid-utf8: '%s' is not replace or drop",
						       optarg);
			}
			break;
		case OPT_NFKC: n.tn.nfkc = 1; break;
		case OPT_ZH: n.tn.rules |= 1u << WN_TN_ZH_SIMPLIFY; break;
		case OPT_MIN_CHARS:
		case OPT_THREADS:
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (*end || end == optarg || errno || v < 0 ||
			    (opt == OPT_THREADS && (v < 1 || v > 256))) {
				free(lo);
				return cmd_usage_error("--%s: '%s' is not a %s",
						       opt == OPT_THREADS ? "threads" : "min-chars", optarg,
						       opt == OPT_THREADS ? "thread count (1-256)" : "count");
			}
			if (opt == OPT_THREADS) threads = (int)v;
			else n.min_chars = v;
			break;
		default:
			if (opt >= OPT_NO && opt < OPT_NO + WN_TN_NRULES) {
				n.tn.rules &= ~(1u << (opt - OPT_NO));
				break;
			}
			int rc = cmd_other_option(opt, &o, usage_text, argv);
			if (rc >= 0) { free(lo); return rc; }
		}
	}
	free(lo);
	if (wn_opts_finish(&o, err, sizeof err)) return cmd_usage_error("%s", err);
	wn_log_set_quiet(o.quiet);
	if (n.split != SPLIT_FILE && n.from != FROM_TXT)
		return cmd_usage_error("--split applies to --from txt");

	/* open the normaliser once here, so that a missing OpenCC
	 * configuration is one clear error before any input is read */
	wn_tn *probe;
	if (wn_tn_new(&probe, &n.tn, err, sizeof err)) {
		wn_error("%s", err);
		return 1;
	}
	wn_tn_free(probe);

	for (int i = 0; i < WN_TN_NRULES; i++) n.flag_names[i] = wn_tn_rule_name(i);
	n.flag_names[FLAG_ID] = "id_added";

	wn_run r = { 0 };
	r.tool = "norm";
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.fn = norm_doc;
	r.ctx = &n;
	r.threads = threads;
	r.thread_ctx = worker_new;
	r.thread_ctx_free = worker_free;
	r.flag_kind = "norm";
	r.flag_names = n.flag_names;
	r.nflags = NFLAGS;
	/* -O: crawl.warc.gz -> crawl.warc.gz.jsonl.zst, not JSONL under a WARC name */
	if (n.from != FROM_JSONL) r.out_suffix = ".jsonl.zst";
	r.source = n.from == FROM_TXT ? src_txt : n.from == FROM_HTML ? src_html
		 : n.from == FROM_WARC ? src_warc : NULL;
	int rc = wn_run_main(&r, argc - optind, argv + optind);
	if (n.from == FROM_WARC)
		wn_info("%llu WARC records: %llu pages, %llu not HTML, %llu bad, %llu not documents "
			"(warcinfo, request, metadata, revisit, non-2xx)",
			(unsigned long long)n.warc_records, (unsigned long long)n.warc_pages,
			(unsigned long long)n.warc_not_html, (unsigned long long)n.warc_bad,
			(unsigned long long)n.warc_other);
	return rc;
}
