/*
 * langid.c - winnow langid: the language of each document with fastText.
 *
 * The text is prepared the way fastText's own tools expect one example per
 * line: every LF and CR becomes a space (fastText splits words at ASCII
 * white space, so that changes no word), and with --max-chars only the
 * first N characters (code points) are kept.  The model
 * (lid.176.ftz by default; any fastText classifier with --model) gives the
 * top labels with probabilities exactly as `fasttext predict-prob` does on
 * the same prepared line (tests/cli/t_langid.sh checks it).
 *
 * Chinese.  lid.176 labels written Chinese zh, but short texts (a line of
 * a poem, a title) often come out as wuu (Wu), yue (Cantonese), gan, or ja
 * when they hold only Han characters.  --zh-merge treats Chinese as one
 * language: the probabilities of zh and the Chinese varieties among the top
 * labels are added into zh, and a ja verdict on text without a single kana
 * (hiragana or katakana) becomes zh, since Japanese prose never goes long
 * without kana.  The original label is kept in lang_raw.
 *
 * Threads: each worker has its own prediction state over the one shared,
 * read-only model; the document loop keeps input order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/ft.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"

static const char usage_text[] =
"usage: winnow langid [OPTIONS] [INPUT...]\n"
"\n"
"Identify the language of each document with a fastText model and add the\n"
"fields lang and lang_score (and lang_topk with --topk); keep only some\n"
"languages with --keep.\n"
"\n"
"Model:\n"
"      --model PATH        fastText model (default: lid.176.ftz from the cache,\n"
"                          fetched by scripts/fetch-data.sh lid176)\n"
"      --max-chars N       look at the first N characters only (default 0: all)\n"
"      --topk K            also add the K best labels as lang_topk (default 1: no)\n"
"Selection:\n"
"      --keep LANGS        keep only these languages (comma-separated, e.g. zh,en);\n"
"                          others are dropped as langid:LANG\n"
"      --min-score S       drop documents whose best score is below S (0..1) as\n"
"                          langid:low_score (default 0)\n"
"      --annotate-only     add the fields but never drop\n"
"      --zh-merge          one Chinese: add the scores of zh, wuu, yue, gan, hak,\n"
"                          nan, cdo, lzh and zh-classical into zh, and read ja\n"
"                          without kana as zh (lang_raw keeps the model's label)\n"
"Fields:\n"
"      --lang-field NAME   field for the label (default lang)\n"
"      --score-field NAME  field for the probability (default lang_score)\n"
"Work:\n"
"      --threads N         worker threads (default: the number of CPUs)\n";

enum {
	OPT_MODEL = WN_OPT_COMMON_END + 1, OPT_MAX_CHARS, OPT_TOPK, OPT_KEEP, OPT_MIN_SCORE,
	OPT_ANNOTATE, OPT_ZH_MERGE, OPT_LANG_FIELD, OPT_SCORE_FIELD, OPT_THREADS
};

static const struct option own[] = {
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "max-chars", required_argument, NULL, OPT_MAX_CHARS },
	{ "topk", required_argument, NULL, OPT_TOPK },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "min-score", required_argument, NULL, OPT_MIN_SCORE },
	{ "annotate-only", no_argument, NULL, OPT_ANNOTATE },
	{ "zh-merge", no_argument, NULL, OPT_ZH_MERGE },
	{ "lang-field", required_argument, NULL, OPT_LANG_FIELD },
	{ "score-field", required_argument, NULL, OPT_SCORE_FIELD },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* Chinese varieties and historical Chinese in lid.176 and GlotLID-style
 * label sets, merged into zh by --zh-merge */
static const char *const zh_varieties[] = {
	"zh", "wuu", "yue", "gan", "hak", "nan", "cdo", "lzh", "zh-classical", "cmn", "zho",
};

#define MAXK 16 /* labels looked at per document */

typedef struct langid {
	wn_ft *model;
	int nlabels;
	long long max_chars;
	int topk;
	double min_score;
	int annotate_only;
	int zh_merge;
	const char *lang_field, *score_field;
	char *keep;             /* per label index: 1 = keep (NULL: no --keep) */
	char *is_zh;            /* per label index: a Chinese variety */
	int zh_label;           /* index of zh, or -1 */
	int ja_label;
	char **drop_reason;     /* per label index: "langid:LANG" */
} langid;

typedef struct worker {
	langid *L;
	wn_ft_state *st;
	wn_buf text, buf;
} worker;

static void *worker_new(void *ctx, int i)
{
	langid *L = ctx;
	worker *w = wn_calloc(1, sizeof *w);
	w->L = L;
	w->st = wn_ft_state_new(L->model);
	wn_buf_init(&w->text, 0);
	wn_buf_init(&w->buf, 0);
	(void)i;
	return w;
}

static void worker_free(void *ctx, void *wctx)
{
	(void)ctx;
	worker *w = wctx;
	wn_ft_state_free(w->st);
	wn_buf_release(&w->text);
	wn_buf_release(&w->buf);
	free(w);
}

/* The prepared line: line breaks to spaces (fastText reads one example
 * per line and splits words at ASCII white space), at most max characters. */
static void prepare(wn_buf *out, const char *s, size_t n, long long max)
{
	wn_buf_reset(out);
	wn_buf_grow(out, n + 1);
	char *o = out->data;
	size_t j = 0;
	if (max > 0) {
		/* cut after `max` code points (the text is valid UTF-8) */
		long long chars = 0;
		size_t i = 0;
		for (; i < n; i++)
			if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max) break;
		n = i;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		o[j++] = c == '\n' || c == '\r' ? ' ' : c;
	}
	o[j] = 0;
	out->len = j;
}

/* Any hiragana (U+3040-309F) or katakana (U+30A0-30FF, U+31F0-31FF,
 * half-width U+FF66-FF9D) in s? */
static int has_kana(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		unsigned char a = (unsigned char)s[i], b = (unsigned char)s[i + 1],
			      c = (unsigned char)s[i + 2];
		if (a == 0xe3 && (b == 0x81 || b == 0x82 || b == 0x83)) {
			unsigned cp = ((a & 0x0fu) << 12) | ((b & 0x3fu) << 6) | (c & 0x3fu);
			if (cp >= 0x3041 && cp <= 0x30ff && cp != 0x30fb && cp != 0x30fc) return 1;
		}
		if (a == 0xe3 && b == 0x87 && c >= 0xb0) return 1;          /* U+31F0-31FF */
		if (a == 0xef && ((b == 0xbd && c >= 0xa6) || (b == 0xbe && c <= 0x9d)))
			return 1;                                             /* U+FF66-FF9D */
	}
	return 0;
}

/* Any CJK unified ideograph: U+3400-9FFF (Extension A and the main block)
 * or the supplementary ideographic planes (U+20000-3FFFF)? */
static int has_han(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		unsigned char c = (unsigned char)s[i], c1 = (unsigned char)s[i + 1];
		if ((c >= 0xe4 && c <= 0xe9) || (c == 0xe3 && c1 >= 0x90)) return 1;
		if (c == 0xf0 && c1 >= 0xa0 && c1 <= 0xbf) return 1;
	}
	return 0;
}

static void add_score(wn_buf *b, double p)
{
	/* six significant digits: what the fastText CLI prints */
	wn_buf_addf(b, "%.6g", p);
}

static int langid_doc(void *ctx, wn_item *it, wn_doc *d)
{
	worker *w = ctx;
	langid *L = w->L;
	prepare(&w->text, d->text.data, d->text.len, L->max_chars);
	wn_ft_pred p[MAXK];
	int k = L->topk > 1 ? L->topk : 1;
	if (L->zh_merge && k < 8) k = 8; /* varieties hide below the top label */
	if (k > MAXK) k = MAXK;
	if (k > L->nlabels) k = L->nlabels;
	size_t np = 0;
	int rc = wn_ft_predict(w->st, w->text.data, w->text.len, k, 0.0f, p, &np);
	if (rc || np == 0) {
		/* an empty or unlabelled line: no language */
		wn_doc_set_raw(d, L->lang_field, "null", 4);
		wn_doc_set_num(d, L->score_field, 0);
		it->label = "(none)";
		if (L->annotate_only || (!L->keep && L->min_score <= 0)) return WN_KEEP;
		it->reason = "langid:none";
		return WN_DROP;
	}
	int best = p[0].label, raw = best;
	double score = p[0].prob;
	if (L->zh_merge) {
		double zh = 0;
		for (size_t i = 0; i < np; i++)
			if (L->is_zh[p[i].label]) zh += p[i].prob;
		if (L->is_zh[raw] || zh > score) {
			best = L->zh_label;
			score = zh;
		} else if (raw == L->ja_label && !has_kana(d->text.data, d->text.len) &&
			   has_han(d->text.data, d->text.len)) {
			/* Han characters and not one kana: Chinese */
			best = L->zh_label;
			score = p[0].prob + zh;
		}
		if (score > 1) score = 1;
	}
	const char *lang = wn_ft_label(L->model, best);
	wn_doc_set_str(d, L->lang_field, lang, strlen(lang));
	wn_buf_reset(&w->buf);
	add_score(&w->buf, score);
	wn_doc_set_raw(d, L->score_field, w->buf.data, w->buf.len);
	if (L->zh_merge && raw != best) {
		const char *r = wn_ft_label(L->model, raw);
		char key[256];
		snprintf(key, sizeof key, "%s_raw", L->lang_field);
		wn_doc_set_str(d, key, r, strlen(r));
	}
	if (L->topk > 1) {
		wn_buf_reset(&w->buf);
		wn_buf_addc(&w->buf, '[');
		int n = np < (size_t)L->topk ? (int)np : L->topk;
		for (int i = 0; i < n; i++) {
			const char *l = wn_ft_label(L->model, p[i].label);
			wn_buf_adds(&w->buf, i ? ",{\"lang\":" : "{\"lang\":");
			wn_json_escape(&w->buf, l, strlen(l));
			wn_buf_adds(&w->buf, ",\"score\":");
			add_score(&w->buf, p[i].prob);
			wn_buf_addc(&w->buf, '}');
		}
		wn_buf_addc(&w->buf, ']');
		char key[256];
		snprintf(key, sizeof key, "%s_topk", L->lang_field);
		wn_doc_set_raw(d, key, w->buf.data, w->buf.len);
	}
	it->label = lang;
	if (L->annotate_only) return WN_KEEP;
	if (L->keep && !L->keep[best]) {
		it->reason = L->drop_reason[best];
		return WN_DROP;
	}
	if (score < L->min_score) {
		it->reason = "langid:low_score";
		return WN_DROP;
	}
	return WN_KEEP;
}

/* The default model: lid.176.ftz in the data cache. */
static const char *default_model(char *buf, size_t n)
{
	wn_cache_path(buf, n, "lid176/lid.176.ftz");
	return buf;
}

static int label_index(const langid *L, const char *name)
{
	return wn_ft_label_index(L->model, name);
}

int cmd_langid(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	langid L;
	memset(&L, 0, sizeof L);
	L.lang_field = "lang";
	L.score_field = "lang_score";
	L.topk = 1;
	const char *model = NULL, *keep = NULL;
	int threads = wn_ncpus();
	struct option *lo = wn_opts_longopts(own);
	char err[512];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		char *end;
		long long v;
		switch (opt) {
		case OPT_MODEL: model = optarg; break;
		case OPT_KEEP: keep = optarg; break;
		case OPT_ANNOTATE: L.annotate_only = 1; break;
		case OPT_ZH_MERGE: L.zh_merge = 1; break;
		case OPT_LANG_FIELD: L.lang_field = optarg; break;
		case OPT_SCORE_FIELD: L.score_field = optarg; break;
		case OPT_MIN_SCORE:
			L.min_score = strtod(optarg, &end);
			if (*end || end == optarg || !(L.min_score >= 0 && L.min_score <= 1)) {
				free(lo);
				return cmd_usage_error("--min-score: '%s' is not a probability", optarg);
			}
			break;
		case OPT_MAX_CHARS:
		case OPT_TOPK:
		case OPT_THREADS: {
			const char *name = opt == OPT_MAX_CHARS ? "max-chars"
					 : opt == OPT_TOPK ? "topk" : "threads";
			errno = 0;
			v = strtoll(optarg, &end, 10);
			long long lo_ok = opt == OPT_MAX_CHARS ? 0 : 1;
			long long hi_ok = opt == OPT_TOPK ? MAXK : opt == OPT_THREADS ? 256 : (1LL << 40);
			if (*end || end == optarg || errno || v < lo_ok || v > hi_ok) {
				free(lo);
				return cmd_usage_error("--%s: '%s' is not a number from %lld to %lld",
						       name, optarg, lo_ok, hi_ok);
			}
			if (opt == OPT_MAX_CHARS) L.max_chars = v;
			else if (opt == OPT_TOPK) L.topk = (int)v;
			else threads = (int)v;
			break;
		}
		default: {
			int rc = cmd_other_option(opt, &o, usage_text, argv);
			if (rc >= 0) { free(lo); return rc; }
		}
		}
	}
	free(lo);
	if (wn_opts_finish(&o, err, sizeof err)) return cmd_usage_error("%s", err);
	wn_log_set_quiet(o.quiet);
	if (L.annotate_only && (keep || L.min_score > 0))
		return cmd_usage_error("--annotate-only drops nothing: drop --keep and --min-score");

	char mbuf[4096];
	if (!model) model = default_model(mbuf, sizeof mbuf);
	if (wn_ft_open(&L.model, model, err, sizeof err)) {
		wn_error("%s", err);
		if (model == mbuf) wn_error("fetch the default model with: scripts/fetch-data.sh lid176");
		return 1;
	}
	if (!wn_ft_is_supervised(L.model)) {
		wn_error("%s: not a classifier (a word-vector model has no labels to predict)", model);
		wn_ft_free(L.model);
		return 1;
	}
	L.nlabels = wn_ft_nlabels(L.model);
	L.is_zh = wn_calloc((size_t)L.nlabels + 1, 1);
	L.drop_reason = wn_calloc((size_t)L.nlabels + 1, sizeof *L.drop_reason);
	for (int i = 0; i < L.nlabels; i++) {
		const char *l = wn_ft_label(L.model, i);
		size_t n = strlen(l) + 8;
		L.drop_reason[i] = wn_malloc(n);
		snprintf(L.drop_reason[i], n, "langid:%s", l);
		for (size_t j = 0; j < sizeof zh_varieties / sizeof zh_varieties[0]; j++)
			if (!strcmp(l, zh_varieties[j])) L.is_zh[i] = 1;
	}
	L.zh_label = label_index(&L, "zh");
	L.ja_label = label_index(&L, "ja");
	if (L.zh_merge && L.zh_label < 0) {
		wn_error("--zh-merge: the model %s has no label zh", model);
		wn_ft_free(L.model);
		return 1;
	}
	int rc = 0;
	if (keep) {
		L.keep = wn_calloc((size_t)L.nlabels + 1, 1);
		char *list = wn_strdup(keep);
		for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ') t++;
			int i = label_index(&L, t);
			if (i < 0) {
				rc = cmd_usage_error("--keep: the model has no label '%s'", t);
				break;
			}
			L.keep[i] = 1;
		}
		free(list);
	}
	if (!rc) {
		wn_run r = { 0 };
		r.tool = "langid";
		r.o = &o;
		r.argc = argc;
		r.argv = argv;
		r.fn = langid_doc;
		r.ctx = &L;
		r.threads = threads;
		r.thread_ctx = worker_new;
		r.thread_ctx_free = worker_free;
		r.label_kind = "lang";
		rc = wn_run_main(&r, argc - optind, argv + optind);
	}
	for (int i = 0; i < L.nlabels; i++) free(L.drop_reason[i]);
	free(L.drop_reason);
	free(L.is_zh);
	free(L.keep);
	wn_ft_free(L.model);
	return rc;
}
