/*
 * filter.c - winnow filter: heuristic (Gopher, C4, FineWeb), regex and
 * classifier quality rules, applied in the order of --rules.
 *
 * Each document goes through the steps of --rules in order (default
 * gopher_quality,fineweb,gopher_repetition,c4,regex, then the classifier when --classifier is
 * given);
 * the text edits of a step (regex removals and replacements, C4's line
 * removal) are what the next step sees.  The first step that fails drops
 * the document with its reason (RULESET:METRIC, regex:NAME,
 * classifier:LABEL), and the kept documents carry the edited text.
 *
 * Why the default order: the whole-document heuristics see the text as it
 * came, before C4 takes lines out (FineWeb's line rules measure the lines
 * C4 would remove), the cheap ones first (gopher_quality and fineweb read
 * only the shared analysis; gopher_repetition counts n-grams, so it sees
 * only what they kept); the regex step, the costliest per byte, then reads
 * only the documents the heuristics kept, and its removals and masks apply
 * to the final text.  Rule sets that do not edit keep the same documents
 * in any order; only the reason named differs.  On the benchmark shard
 * this keeps nearly the same documents as regex first and takes 0.6 times
 * the time (bench/README.md).
 *
 * --annotate-only drops nothing and changes no text: every step runs to
 * the end on the text the real run would see, and the document gets an
 * object (default key "quality") with the profile, the list of failing
 * rules and, unless --annotate-only=failed, every measured value.
 *
 * The rules themselves live in filters/quality.h (definitions, defaults,
 * per-language profiles) and filters/regex.h (the rules file); the
 * classifier is a fastText model through lib/ft.h.  Threads: one state of
 * each kind per worker; output order is input order.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../filters/quality.h"
#include "../filters/regex.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/ft.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"

/* filters/rules/default.rules, built into the binary (see the Makefile) */
extern const char wn_default_rules[];
extern const unsigned long wn_default_rules_len;

static const char usage_text[] =
"usage: winnow filter [OPTIONS] [INPUT...]\n"
"\n"
"Drop low-quality documents and clean the kept ones with heuristic rules\n"
"(Gopher, C4, FineWeb), regex rules and a fastText classifier; every\n"
"threshold is an option and depends on the document's language.\n"
"\n"
"Rules:\n"
"      --rules LIST        steps in order (default gopher_quality,fineweb,\n"
"                          gopher_repetition,c4,regex): gopher_quality,\n"
"                          gopher_repetition, gopher (both, quality first),\n"
"                          c4, fineweb, regex, classifier; or none\n"
"      --rules-file FILE   thresholds: KEY = VALUE lines under [LANG] sections\n"
"      --set [LANG:]KEY=VALUE  one threshold (e.g. zh:c4.min_words_per_line=4,\n"
"                          gopher_quality.words.min=30, fineweb.short_lines=off)\n"
"      --regex-file FILE   regex rules (default: the built-in rules, see\n"
"                          --dump-regex)\n"
"      --lang-field NAME   the document's language (default lang; without it\n"
"                          the script decides: en, zh, ja)\n"
"      --dump-config       print every profile's thresholds and exit\n"
"      --dump-regex        print the built-in regex rules and exit\n"
"Classifier:\n"
"      --classifier MODEL  a fastText classifier (fasttext supervised)\n"
"      --label L           the label whose probability is scored\n"
"      --min P             keep documents with P(label) >= P (default 0.5)\n"
"      --score-field NAME  field for the probability (default quality_score)\n"
"Output:\n"
"      --annotate-only[=failed]  drop nothing, change nothing: add an object\n"
"                          with the profile, the failing rules and every\n"
"                          measured value (=failed: the failing rules only)\n"
"      --annotate-field NAME  key of that object (default quality)\n"
"Work:\n"
"      --threads N         worker threads (default: the number of CPUs)\n";

enum {
	OPT_RULES = WN_OPT_COMMON_END + 1, OPT_RULES_FILE, OPT_SET, OPT_REGEX_FILE,
	OPT_LANG_FIELD, OPT_DUMP_CONFIG, OPT_DUMP_REGEX, OPT_CLASSIFIER, OPT_LABEL, OPT_MIN,
	OPT_SCORE_FIELD, OPT_ANNOTATE, OPT_ANNOTATE_FIELD, OPT_THREADS
};

static const struct option own[] = {
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "rules-file", required_argument, NULL, OPT_RULES_FILE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "regex-file", required_argument, NULL, OPT_REGEX_FILE },
	{ "lang-field", required_argument, NULL, OPT_LANG_FIELD },
	{ "dump-config", no_argument, NULL, OPT_DUMP_CONFIG },
	{ "dump-regex", no_argument, NULL, OPT_DUMP_REGEX },
	{ "classifier", required_argument, NULL, OPT_CLASSIFIER },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "min", required_argument, NULL, OPT_MIN },
	{ "score-field", required_argument, NULL, OPT_SCORE_FIELD },
	{ "annotate-only", optional_argument, NULL, OPT_ANNOTATE },
	{ "annotate-field", required_argument, NULL, OPT_ANNOTATE_FIELD },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

/* steps beyond the quality sets */
enum { STEP_REGEX = WN_Q_NSETS, STEP_CLASSIFIER };
#define MAX_STEPS 16

typedef struct filt {
	const wn_opts *o;
	wn_quality *q;
	wn_rx *rx;
	int nrx;
	wn_ft *model;
	int label;
	int nlabels;
	double min_p;
	const char *score_field, *lang_field, *ann_field;
	int steps[MAX_STEPS], nsteps;
	int annotate;           /* 0 no, 1 values, 2 failed only */
	int heuristics;         /* a quality rule set is among the steps */
	/* reasons for regex rejects and the classifier */
	char **rx_reason;
	char *cls_reason;
	/* tallies: C4 line rules, then regex rules (edits); then, with
	 * --annotate-only, the failing rules (metrics, regex, classifier) */
	int ntallies, t_c4, t_rx, t_fail_q, t_fail_rx, t_fail_cls;
	/* with --annotate-only: the histogram of each metric's values, its
	 * buckets' lower bounds computed once */
	int t_hist[WN_QM_N];
	double hist_lo[WN_QM_N][128];
	int hist_n[WN_QM_N];
	const char **tally_kinds, **tally_names;
} filt;

/* Histogram buckets of a metric's values, by lower bound: counts in a
 * 1-2-5 series, small integers one by one, mean word length by halves,
 * fractions and ratios by hundredths (and a few steps above 1). */
enum { H_COUNT, H_INT, H_LEN, H_FRAC };

static int hist_kind(int m)
{
	switch (m) {
	case WN_QM_WORDS: case WN_QM_C4_SENTENCES: return H_COUNT;
	case WN_QM_STOP_WORDS: case WN_QM_C4_LOREM_IPSUM: case WN_QM_C4_CURLY_BRACKET: return H_INT;
	case WN_QM_MEAN_WORD_LENGTH: return H_LEN;
	default: return H_FRAC;
	}
}

/* The lower bounds of kind k's buckets into e (room for 128); returns
 * their number. */
static int hist_edges(int k, double *e)
{
	int n = 0;
	switch (k) {
	case H_COUNT:
		e[n++] = 0;
		for (double p = 1; p < 1e7; p *= 10) {
			e[n++] = p;
			e[n++] = 2 * p;
			e[n++] = 5 * p;
		}
		break;
	case H_INT:
		for (int i = 0; i <= 64; i++) e[n++] = i;
		break;
	case H_LEN:
		for (int i = 0; i <= 40; i++) e[n++] = i / 2.0;
		break;
	default:
		for (int i = 0; i <= 100; i++) e[n++] = i / 100.0;
		e[n++] = 1.5;
		e[n++] = 2;
		e[n++] = 5;
		e[n++] = 10;
	}
	return n;
}

/* The bucket holding v among the n lower bounds e: the last one <= v. */
static int hist_bucket(const double *e, int n, double v)
{
	int lo = 0, hi = n - 1;
	if (!(v >= e[0])) return 0;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (e[mid] <= v) lo = mid;
		else hi = mid - 1;
	}
	return lo;
}

typedef struct worker {
	filt *F;
	wn_qstate *qs;
	wn_rx_state *rs;
	wn_ft_state *fs;
	wn_ft_pred *pred;
	wn_buf lang, tmp, ann, text;
	uint32_t *tally;
	uint64_t *rxc;
	double values[WN_QM_N];
	uint64_t c4l[WN_C4L_N];
} worker;

static void *worker_new(void *ctx, int i)
{
	filt *F = ctx;
	worker *w = wn_calloc(1, sizeof *w);
	(void)i;
	w->F = F;
	w->qs = wn_qstate_new(F->q);
	if (F->rx) w->rs = wn_rx_state_new(F->rx);
	if (F->model) {
		w->fs = wn_ft_state_new(F->model);
		w->pred = wn_calloc((size_t)F->nlabels + 1, sizeof *w->pred);
	}
	wn_buf_init(&w->lang, 0);
	wn_buf_init(&w->tmp, 0);
	wn_buf_init(&w->ann, 0);
	wn_buf_init(&w->text, 0);
	w->tally = wn_calloc((size_t)F->ntallies + 1, sizeof *w->tally);
	w->rxc = wn_calloc((size_t)F->nrx + 1, sizeof *w->rxc);
	return w;
}

static void worker_free(void *ctx, void *wctx)
{
	(void)ctx;
	worker *w = wctx;
	wn_qstate_free(w->qs);
	wn_rx_state_free(w->rs);
	wn_ft_state_free(w->fs);
	free(w->pred);
	wn_buf_release(&w->lang);
	wn_buf_release(&w->tmp);
	wn_buf_release(&w->ann);
	wn_buf_release(&w->text);
	free(w->tally);
	free(w->rxc);
	free(w);
}

static void add_num(wn_buf *b, double v)
{
	if (v == floor(v) && fabs(v) < 1e15) wn_buf_addf(b, "%.0f", v);
	else wn_buf_addf(b, "%.6g", v);
}

static void note_fail(worker *w, wn_buf *fails, const char *name, int tally)
{
	if (fails->len > 1) wn_buf_addc(fails, ',');
	wn_json_escape(fails, name, strlen(name));
	w->tally[tally]++;
}

/* The classifier's probability of the label: fastText's prepared line
 * (line breaks as spaces), every label's probability. */
static double classify(worker *w, const char *s, size_t n)
{
	filt *F = w->F;
	wn_buf_reset(&w->tmp);
	wn_buf_add(&w->tmp, s, n);
	for (size_t i = 0; i < n; i++)
		if (w->tmp.data[i] == '\n' || w->tmp.data[i] == '\r') w->tmp.data[i] = ' ';
	size_t np = 0;
	if (wn_ft_predict(w->fs, w->tmp.data, n, -1, 0.0f, w->pred, &np)) return 0;
	for (size_t i = 0; i < np; i++)
		if (w->pred[i].label == F->label) return w->pred[i].prob;
	return 0;
}

static int filter_doc(void *ctx, wn_item *it, wn_doc *d)
{
	worker *w = ctx;
	filt *F = w->F;
	const char *lang = NULL;
	size_t langlen = 0;
	if (F->lang_field) {
		const wn_member *m = wn_doc_get(d, F->lang_field);
		if (m && m->type == WN_J_STR) {
			wn_buf_reset(&w->lang);
			if (!wn_json_decode_string(m->val, m->vlen, &w->lang)) {
				lang = w->lang.data;
				langlen = w->lang.len;
			}
		}
	}
	memset(w->tally, 0, sizeof *w->tally * (size_t)F->ntallies);
	memset(w->c4l, 0, sizeof w->c4l);
	for (int m = 0; m < WN_QM_N; m++) w->values[m] = NAN;
	wn_qstate_begin(w->qs, d->text.data, d->text.len, lang, langlen);
	int all = F->annotate != 0;
	const char *reason = NULL;
	double score = NAN;
	wn_buf fails = WN_BUF_INIT;
	if (all) wn_buf_addc(&fails, '[');
	for (int s = 0; s < F->nsteps && !reason; s++) {
		int step = F->steps[s];
		if (step < WN_Q_NSETS) {
			int m = wn_q_eval(w->qs, step, w->values, all, w->c4l);
			if (m < 0) continue;
			if (!all) {
				reason = wn_qmetric_name(m);
				break;
			}
			/* every failing metric of the set */
			for (int k = 0; k < WN_QM_N; k++)
				if (wn_qmetric_set(k) == step && !isnan(w->values[k]) &&
				    wn_q_fails(w->qs, k, w->values[k]))
					note_fail(w, &fails, wn_qmetric_name(k), F->t_fail_q + k);
		} else if (step == STEP_REGEX) {
			size_t n;
			const char *t = wn_qstate_text(w->qs, &n);
			int changed = 0, rule = -1;
			memset(w->rxc, 0, sizeof *w->rxc * (size_t)F->nrx);
			wn_buf_reset(&w->text);
			/* without a lang field, the language the script says */
			const char *rl = lang ? lang : wn_q_script_lang(t, n);
			int v = wn_rx_apply(w->rs, t, n, rl, &w->text, &changed, &rule, w->rxc);
			for (int i = 0; i < F->nrx; i++)
				if (wn_rx_action(F->rx, i) != WN_RX_REJECT && w->rxc[i])
					w->tally[F->t_rx + i] += (uint32_t)w->rxc[i];
			if (v == WN_RX_REJECT) {
				if (!all) {
					reason = F->rx_reason[rule];
					break;
				}
				note_fail(w, &fails, F->rx_reason[rule], F->t_fail_rx + rule);
			}
			if (changed) wn_qstate_set_text(w->qs, w->text.data, w->text.len);
		} else {
			size_t n;
			const char *t = wn_qstate_text(w->qs, &n);
			score = classify(w, t, n);
			wn_buf_reset(&w->tmp);
			wn_buf_addf(&w->tmp, "%.6g", score);
			wn_doc_set_raw(d, F->score_field, w->tmp.data, w->tmp.len);
			if (score < F->min_p) {
				if (!all) {
					reason = F->cls_reason;
					break;
				}
				note_fail(w, &fails, F->cls_reason, F->t_fail_cls);
			}
		}
	}
	for (int r = 0; r < WN_C4L_N; r++) w->tally[F->t_c4 + r] = (uint32_t)w->c4l[r];
	it->tally = w->tally;
	/* the profile; a run without heuristic rules does not read the whole
	 * text for it: the first 4 KiB's script decide */
	it->label = wn_qstate_profile_known(w->qs);
	if (!it->label) {
		size_t n;
		const char *t = wn_qstate_text(w->qs, &n);
		it->label = F->heuristics ? wn_qstate_profile(w->qs) : wn_q_script_lang(t, n);
	}
	if (reason) {
		it->reason = reason;
		wn_buf_release(&fails);
		return WN_DROP;
	}
	if (!all) {
		if (wn_qstate_changed(w->qs)) {
			size_t n;
			const char *t = wn_qstate_text(w->qs, &n);
			wn_doc_set_str(d, F->o->fields.text, t, n);
		}
		return WN_KEEP;
	}
	/* the annotation */
	wn_buf_addc(&fails, ']');
	wn_buf *a = &w->ann;
	wn_buf_reset(a);
	wn_buf_adds(a, "{\"profile\":");
	const char *pn = it->label;
	wn_json_escape(a, pn, strlen(pn));
	wn_buf_adds(a, ",\"fail\":");
	wn_buf_add(a, fails.data, fails.len);
	if (F->annotate == 1) {
		for (int m = 0; m < WN_QM_N; m++) {
			if (isnan(w->values[m])) continue;
			w->tally[F->t_hist[m] + hist_bucket(F->hist_lo[m], F->hist_n[m], w->values[m])]++;
			wn_buf_addc(a, ',');
			const char *k = wn_qmetric_name(m);
			wn_json_escape(a, k, strlen(k));
			wn_buf_addc(a, ':');
			add_num(a, w->values[m]);
		}
	}
	wn_buf_addc(a, '}');
	wn_doc_set_raw(d, F->ann_field, a->data, a->len);
	wn_buf_release(&fails);
	return WN_KEEP;
}

static int add_step(filt *F, int step)
{
	for (int i = 0; i < F->nsteps; i++)
		if (F->steps[i] == step) return 0;
	if (F->nsteps == MAX_STEPS) return -1;
	F->steps[F->nsteps++] = step;
	return 0;
}

static int parse_rules(filt *F, const char *list)
{
	char *copy = wn_strdup(list);
	int rc = 0;
	F->nsteps = 0;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && !rc;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ') t++;
		int s = wn_qset_lookup(t);
		if (s >= 0) add_step(F, s);
		else if (!strcmp(t, "gopher")) {
			/* the cheaper first: the same documents pass either way */
			add_step(F, WN_Q_GOPHER_QUALITY);
			add_step(F, WN_Q_GOPHER_REPETITION);
		} else if (!strcmp(t, "regex")) add_step(F, STEP_REGEX);
		else if (!strcmp(t, "classifier")) add_step(F, STEP_CLASSIFIER);
		else if (strcmp(t, "none")) rc = cmd_usage_error("--rules: unknown rule set '%s'", t);
	}
	free(copy);
	return rc;
}

static int has_step(const filt *F, int step)
{
	for (int i = 0; i < F->nsteps; i++)
		if (F->steps[i] == step) return 1;
	return 0;
}

/* --set [LANG:]KEY=VALUE */
static int apply_set(filt *F, const char *arg)
{
	char buf[1024];
	if (strlen(arg) >= sizeof buf) return cmd_usage_error("--set: too long");
	strcpy(buf, arg);
	char *eq = strchr(buf, '=');
	if (!eq) return cmd_usage_error("--set: expected [LANG:]KEY=VALUE, not '%s'", arg);
	*eq = 0;
	char *key = buf, *lang = NULL, *colon = strchr(buf, ':');
	if (colon) {
		*colon = 0;
		lang = buf;
		key = colon + 1;
	}
	char err[512];
	if (wn_quality_set(F->q, lang, key, eq + 1, err, sizeof err))
		return cmd_usage_error("--set: %s", err);
	return 0;
}

static void filt_release(filt *F)
{
	for (int i = 0; i < F->nrx; i++) free(F->rx_reason[i]);
	free(F->rx_reason);
	free(F->cls_reason);
	for (int i = 0; i < F->ntallies; i++) free((char *)F->tally_names[i]);
	free(F->tally_names);
	free(F->tally_kinds);
	wn_rx_free(F->rx);
	wn_ft_free(F->model);
	wn_quality_free(F->q);
}

static void tally_add(filt *F, const char *kind, const char *name)
{
	F->tally_kinds = wn_realloc(F->tally_kinds, sizeof *F->tally_kinds * (size_t)(F->ntallies + 1));
	F->tally_names = wn_realloc(F->tally_names, sizeof *F->tally_names * (size_t)(F->ntallies + 1));
	F->tally_kinds[F->ntallies] = kind;
	F->tally_names[F->ntallies++] = wn_strdup(name);
}

int cmd_filter(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	filt F;
	memset(&F, 0, sizeof F);
	F.o = &o;
	F.q = wn_quality_new();
	F.lang_field = "lang";
	F.score_field = "quality_score";
	F.ann_field = "quality";
	F.min_p = 0.5;
	const char *rules = "gopher_quality,fineweb,gopher_repetition,c4,regex", *regex_file = NULL, *model = NULL,
		   *label = NULL;
	const char **rules_files = NULL, **sets = NULL;
	int nrules_files = 0, nsets = 0, dump_config = 0, dump_regex = 0, min_given = 0;
	int threads = wn_ncpus();
	struct option *lo = wn_opts_longopts(own);
	char err[1024];
	int opt, rc = 0, finished = 0;
	optind = 1;
	while (!rc && !finished && (opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		char *end;
		switch (opt) {
		case OPT_RULES: rules = optarg; break;
		case OPT_RULES_FILE:
			rules_files = wn_realloc(rules_files, sizeof *rules_files * (size_t)(nrules_files + 1));
			rules_files[nrules_files++] = optarg;
			break;
		case OPT_SET:
			sets = wn_realloc(sets, sizeof *sets * (size_t)(nsets + 1));
			sets[nsets++] = optarg;
			break;
		case OPT_REGEX_FILE: regex_file = optarg; break;
		case OPT_LANG_FIELD: F.lang_field = *optarg ? optarg : NULL; break;
		case OPT_DUMP_CONFIG: dump_config = 1; break;
		case OPT_DUMP_REGEX: dump_regex = 1; break;
		case OPT_CLASSIFIER: model = optarg; break;
		case OPT_LABEL: label = optarg; break;
		case OPT_SCORE_FIELD: F.score_field = optarg; break;
		case OPT_ANNOTATE_FIELD: F.ann_field = optarg; break;
		case OPT_MIN:
			F.min_p = strtod(optarg, &end);
			min_given = 1;
			if (*end || end == optarg || !(F.min_p >= 0 && F.min_p <= 1))
				rc = cmd_usage_error("--min: '%s' is not a probability", optarg);
			break;
		case OPT_ANNOTATE:
			if (!optarg || !strcmp(optarg, "values")) F.annotate = 1;
			else if (!strcmp(optarg, "failed")) F.annotate = 2;
			else rc = cmd_usage_error("--annotate-only: '%s' is not values or failed", optarg);
			break;
		case OPT_THREADS: {
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (*end || end == optarg || errno || v < 1 || v > 256)
				rc = cmd_usage_error("--threads: '%s' is not a number from 1 to 256", optarg);
			else threads = (int)v;
			break;
		}
		default: {
			int r = cmd_other_option(opt, &o, usage_text, argv);
			if (r >= 0) {
				rc = r;
				finished = 1; /* --help, or a usage error */
			}
		}
		}
	}
	free(lo);
	if (rc || finished) goto done;
	if (wn_opts_finish(&o, err, sizeof err)) {
		rc = cmd_usage_error("%s", err);
		goto done;
	}
	wn_log_set_quiet(o.quiet);
	if ((rc = parse_rules(&F, rules))) goto done;
	for (int i = 0; i < nrules_files && !rc; i++)
		if (wn_quality_load(F.q, rules_files[i], err, sizeof err))
			rc = cmd_usage_error("--rules-file: %s", err);
	for (int i = 0; i < nsets && !rc; i++) rc = apply_set(&F, sets[i]);
	if (rc) goto done;
	if (dump_config || dump_regex) {
		wn_buf b = WN_BUF_INIT;
		if (dump_config) wn_quality_dump(F.q, &b);
		if (dump_regex) {
			if (b.len) wn_buf_addc(&b, '\n');
			wn_buf_add(&b, wn_default_rules, (size_t)wn_default_rules_len);
		}
		fwrite(b.data, 1, b.len, stdout);
		wn_buf_release(&b);
		rc = fflush(stdout) ? 1 : 0;
		goto done;
	}
	if ((label || min_given) && !model) {
		rc = cmd_usage_error("--label and --min need --classifier");
		goto done;
	}
	if (model && !label) {
		rc = cmd_usage_error("--classifier needs --label (the label to score)");
		goto done;
	}
	if (model) add_step(&F, STEP_CLASSIFIER);
	for (int i = 0; i < F.nsteps; i++) F.heuristics |= F.steps[i] < WN_Q_NSETS;
	if (has_step(&F, STEP_CLASSIFIER) && !model) {
		rc = cmd_usage_error("--rules classifier needs --classifier MODEL");
		goto done;
	}
	if (has_step(&F, STEP_REGEX)) {
		int r = regex_file ? wn_rx_load(&F.rx, regex_file, err, sizeof err)
				   : wn_rx_parse(&F.rx, wn_default_rules, (size_t)wn_default_rules_len,
						 "(built-in rules)", err, sizeof err);
		if (r) {
			wn_error("%s", err);
			rc = r == WN_EIO ? 1 : 2;
			goto done;
		}
		F.nrx = wn_rx_nrules(F.rx);
		F.rx_reason = wn_calloc((size_t)F.nrx + 1, sizeof *F.rx_reason);
		for (int i = 0; i < F.nrx; i++) {
			size_t n = strlen(wn_rx_name(F.rx, i)) + 8;
			F.rx_reason[i] = wn_malloc(n);
			snprintf(F.rx_reason[i], n, "regex:%s", wn_rx_name(F.rx, i));
		}
	} else if (regex_file) {
		rc = cmd_usage_error("--regex-file: the regex step is not in --rules");
		goto done;
	}
	if (model) {
		if (wn_ft_open(&F.model, model, err, sizeof err)) {
			wn_error("%s", err);
			rc = 1;
			goto done;
		}
		if (!wn_ft_is_supervised(F.model)) {
			wn_error("%s: not a classifier (a word-vector model has no labels)", model);
			rc = 1;
			goto done;
		}
		F.nlabels = wn_ft_nlabels(F.model);
		F.label = wn_ft_label_index(F.model, label);
		if (F.label < 0) {
			wn_buf b = WN_BUF_INIT;
			for (int i = 0; i < F.nlabels && i < 20; i++)
				wn_buf_addf(&b, "%s%s", i ? ", " : "", wn_ft_label(F.model, i));
			rc = cmd_usage_error("--label: %s has no label '%s' (it has: %s)", model, label,
					     b.data);
			wn_buf_release(&b);
			goto done;
		}
		const char *ln = wn_ft_label(F.model, F.label);
		size_t n = strlen(ln) + 16;
		F.cls_reason = wn_malloc(n);
		snprintf(F.cls_reason, n, "classifier:%s", ln);
	}
	/* tallies: what was edited, then (annotating) what failed */
	F.t_c4 = F.ntallies;
	for (int r = 0; r < WN_C4L_N; r++) tally_add(&F, "filter_edit", wn_c4line_name(r));
	F.t_rx = F.ntallies;
	for (int i = 0; i < F.nrx; i++) tally_add(&F, "filter_edit", F.rx_reason[i]);
	F.t_fail_q = F.ntallies;
	for (int m = 0; m < WN_QM_N; m++) tally_add(&F, "filter_fail", wn_qmetric_name(m));
	F.t_fail_rx = F.ntallies;
	for (int i = 0; i < F.nrx; i++) tally_add(&F, "filter_fail", F.rx_reason[i]);
	F.t_fail_cls = F.ntallies;
	tally_add(&F, "filter_fail", F.cls_reason ? F.cls_reason : "classifier");
	int dense = F.ntallies;
	if (F.annotate == 1)
		for (int m = 0; m < WN_QM_N; m++) {
			double *e = F.hist_lo[m];
			int n = F.hist_n[m] = hist_edges(hist_kind(m), e);
			F.t_hist[m] = F.ntallies;
			for (int b = 0; b < n; b++) {
				char key[128];
				snprintf(key, sizeof key, "%s@%g", wn_qmetric_name(m), e[b]);
				tally_add(&F, "filter_value", key);
			}
		}
	{
		wn_run r = { 0 };
		r.tool = "filter";
		r.o = &o;
		r.argc = argc;
		r.argv = argv;
		r.fn = filter_doc;
		r.ctx = &F;
		r.threads = threads;
		r.thread_ctx = worker_new;
		r.thread_ctx_free = worker_free;
		r.label_kind = "quality_profile";
		/* without --annotate-only the failures are the drop reasons */
		r.ntallies = F.annotate ? F.ntallies : F.t_fail_q;
		r.tally_dense = F.annotate ? dense : F.t_fail_q;
		r.tally_kinds = F.tally_kinds;
		r.tally_names = (const char *const *)F.tally_names;
		rc = wn_run_main(&r, argc - optind, argv + optind);
	}
done:
	free(rules_files);
	free(sets);
	filt_release(&F);
	return rc;
}
