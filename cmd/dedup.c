/*
 * dedup.c - winnow dedup: exact and MinHash near-duplicate removal.
 *
 *   winnow dedup exact   IN... -O DIR     one machine, every stage
 *   winnow dedup minhash IN... -O DIR     one machine, every stage
 *   winnow dedup sig     IN... -W WORK    the stages, one per step of a
 *   winnow dedup pairs   -W WORK          cluster job (dedup/stage.h)
 *   winnow dedup cluster -W WORK
 *   winnow dedup apply   IN... -W WORK -O DIR
 *
 * The parameters are given to sig (or the one-machine command) and kept
 * in the work directory's files; the later stages read them from there.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../dedup/stage.h"
#include "../lib/log.h"
#include "../lib/opts.h"

static const char usage_text[] =
"usage: winnow dedup exact   [OPTIONS] INPUT... (-O DIR | -o FILE)\n"
"       winnow dedup minhash [OPTIONS] INPUT... (-O DIR | -o FILE)\n"
"       winnow dedup sig     [OPTIONS] -W WORK INPUT...\n"
"       winnow dedup pairs   [--band B] -W WORK\n"
"       winnow dedup cluster -W WORK\n"
"       winnow dedup apply   [OPTIONS] -W WORK INPUT... (-O DIR | -o FILE)\n"
"\n"
"Remove duplicate documents: exact (equal normalised text) or near (MinHash\n"
"LSH over shingles), keeping one per cluster; or remove lines or paragraphs\n"
"seen too often across the corpus.  `exact` and `minhash` run every stage on\n"
"this machine; sig, pairs, cluster and apply are the same stages one at a time,\n"
"for job arrays (--shard I/N or Slurm's array index).  Inputs are numbered in\n"
"sorted order of their names, which is the order `first` refers to.\n"
"\n"
"What a duplicate is:\n"
"      --mode MODE         sig: exact, minhash, line or paragraph\n"
"      --unit UNIT         exact: doc (default), line or paragraph\n"
"      --min-count K       line/paragraph: drop units seen K times or more (default 2)\n"
"      --norm full|none    full (default): case folded, accents and punctuation\n"
"                          removed, digits as 0, white space collapsed; none: raw text\n"
"      --ngram N           tokens per shingle (default 5; a token is a word, or one\n"
"                          Chinese or Japanese character)\n"
"      --bands B           LSH bands (default 14)\n"
"      --rows R            rows per band (default 8)\n"
"      --threshold J       Jaccard threshold: chooses bands and rows (unless given)\n"
"                          to minimise false positives and negatives, and is\n"
"                          --verify's cut (default 0.8)\n"
"      --num-perm K        permutations --threshold may use (default 112)\n"
"      --verify            keep a candidate pair only if its true Jaccard >= J\n"
"      --seed N            hash seed (default 1)\n"
"      --keep-by FIELD     keep the document with the highest numeric FIELD\n"
"                          (default: the first)\n"
"Stages:\n"
"  -W, --work DIR          work directory (default for exact and minhash:\n"
"                          DIR/.dedup-work beside the outputs, removed at the end)\n"
"      --band B            pairs: only band B (default: every band, or with\n"
"                          --shard those of this task)\n"
"      --force             redo outputs that are already finished\n"
"      --keep-work         exact and minhash: keep the work directory\n"
"      --memory SIZE       sig: records held in memory before sorted runs are\n"
"                          spilled to the work directory (default 2G)\n"
"Output:\n"
"      --annotate-only     drop nothing: add the cluster to each duplicate\n"
"      --annotate-field NAME  its key (default dedup)\n"
"      --threads N         worker threads (default: the CPUs)\n";

enum {
	OPT_MODE = WN_OPT_COMMON_END + 1, OPT_UNIT, OPT_MIN_COUNT, OPT_NORM, OPT_NGRAM,
	OPT_BANDS, OPT_ROWS, OPT_THRESHOLD, OPT_NUM_PERM, OPT_VERIFY, OPT_SEED, OPT_KEEP_BY,
	OPT_BAND, OPT_FORCE, OPT_KEEP_WORK, OPT_ANNOTATE, OPT_ANNOTATE_FIELD, OPT_THREADS, OPT_MEMORY,
};

static const struct option own[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "unit", required_argument, NULL, OPT_UNIT },
	{ "min-count", required_argument, NULL, OPT_MIN_COUNT },
	{ "norm", required_argument, NULL, OPT_NORM },
	{ "ngram", required_argument, NULL, OPT_NGRAM },
	{ "bands", required_argument, NULL, OPT_BANDS },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "num-perm", required_argument, NULL, OPT_NUM_PERM },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "keep-by", required_argument, NULL, OPT_KEEP_BY },
	{ "work", required_argument, NULL, 'W' },
	{ "band", required_argument, NULL, OPT_BAND },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "keep-work", no_argument, NULL, OPT_KEEP_WORK },
	{ "annotate-only", no_argument, NULL, OPT_ANNOTATE },
	{ "annotate-field", required_argument, NULL, OPT_ANNOTATE_FIELD },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ 0, 0, 0, 0 },
};

static int int_arg(const char *name, const char *v, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (*end || end == v || errno || x < lo || x > hi) {
		cmd_usage_error("--%s: '%s' is not a number from %lld to %lld", name, v, lo, hi);
		return 2;
	}
	*out = x;
	return 0;
}

/* Remove the work directory of a one-machine run (only our files). */
static void remove_work(const char *work)
{
	static const char *const subs[] = { "sig", "pairs", "remove" };
	char path[8192];
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		snprintf(path, sizeof path, "%s/%s", work, subs[i]);
		DIR *d = opendir(path);
		if (!d) continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			if (l > 4 && !strcmp(e->d_name + l - 4, ".wdd")) {
				char f[8448];
				snprintf(f, sizeof f, "%s/%s", path, e->d_name);
				unlink(f);
			}
		}
		closedir(d);
		rmdir(path);
	}
	snprintf(path, sizeof path, "%s/units.wdd", work);
	unlink(path);
	rmdir(work);
}

int cmd_dedup(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(usage_text, stdout);
			fputs("\n", stdout);
			fputs(WN_OPTS_HELP, stdout);
			return 0;
		}
		return cmd_usage_error("a stage is needed: exact, minhash, sig, pairs, cluster or apply");
	}
	const char *stage = argv[1];
	enum { EXACT, MINHASH, SIG, PAIRS, CLUSTER, APPLY } st;
	if (!strcmp(stage, "exact")) st = EXACT;
	else if (!strcmp(stage, "minhash")) st = MINHASH;
	else if (!strcmp(stage, "sig")) st = SIG;
	else if (!strcmp(stage, "pairs")) st = PAIRS;
	else if (!strcmp(stage, "cluster")) st = CLUSTER;
	else if (!strcmp(stage, "apply")) st = APPLY;
	else return cmd_usage_error("unknown stage '%s' (exact, minhash, sig, pairs, cluster, apply)",
				    stage);
	argc--;
	argv++;

	wn_opts o;
	wn_opts_init(&o);
	dd_config c;
	memset(&c, 0, sizeof c);
	c.mode = st == MINHASH ? DD_MODE_MINHASH : DD_MODE_EXACT;
	c.bands = 14;
	c.rows = 8;
	c.ngram = 5;
	c.seed = 1;
	c.threshold = 0.8;
	c.min_count = 2;
	c.ann_field = "dedup";
	c.threads = wn_ncpus();
	c.o = &o;
	int band = -1, keep_work = 0, mode_given = 0, br_given = 0, thr_given = 0;
	int unit_given = 0, minhash_opt = 0;
	long long num_perm = 112, v;
	struct option *lo = wn_opts_longopts(own);
	int opt, rc = 0, finished = 0;
	optind = 1;
	while (!rc && !finished &&
	       (opt = getopt_long(argc, argv, WN_OPTS_SHORT "W:", lo, NULL)) != -1) {
		switch (opt) {
		case OPT_MODE:
			mode_given = 1;
			if (!strcmp(optarg, "exact")) c.mode = DD_MODE_EXACT;
			else if (!strcmp(optarg, "minhash")) c.mode = DD_MODE_MINHASH;
			else if (!strcmp(optarg, "line")) c.mode = DD_MODE_LINE;
			else if (!strcmp(optarg, "paragraph")) c.mode = DD_MODE_PARAGRAPH;
			else rc = cmd_usage_error("--mode: '%s' is not exact, minhash, line or paragraph", optarg);
			break;
		case OPT_UNIT:
			unit_given = 1;
			if (!strcmp(optarg, "doc")) c.mode = DD_MODE_EXACT;
			else if (!strcmp(optarg, "line")) c.mode = DD_MODE_LINE;
			else if (!strcmp(optarg, "paragraph")) c.mode = DD_MODE_PARAGRAPH;
			else rc = cmd_usage_error("--unit: '%s' is not doc, line or paragraph", optarg);
			break;
		case OPT_MIN_COUNT:
			if (!(rc = int_arg("min-count", optarg, 1, 1LL << 40, &v))) c.min_count = (uint64_t)v;
			break;
		case OPT_NORM:
			if (!strcmp(optarg, "full")) c.norm = DD_NORM_FULL;
			else if (!strcmp(optarg, "none")) c.norm = DD_NORM_NONE;
			else rc = cmd_usage_error("--norm: '%s' is not full or none", optarg);
			break;
		case OPT_NGRAM:
			minhash_opt = 1;
			if (!(rc = int_arg("ngram", optarg, 1, 64, &v))) c.ngram = (int)v;
			break;
		case OPT_BANDS:
			minhash_opt = br_given = 1;
			if (!(rc = int_arg("bands", optarg, 1, 24, &v))) c.bands = (int)v;
			break;
		case OPT_ROWS:
			minhash_opt = br_given = 1;
			if (!(rc = int_arg("rows", optarg, 1, 64, &v))) c.rows = (int)v;
			break;
		case OPT_THRESHOLD: {
			char *end;
			minhash_opt = thr_given = 1;
			c.threshold = strtod(optarg, &end);
			if (*end || end == optarg || !(c.threshold > 0 && c.threshold < 1))
				rc = cmd_usage_error("--threshold: '%s' is not a number between 0 and 1", optarg);
			break;
		}
		case OPT_NUM_PERM:
			minhash_opt = 1;
			rc = int_arg("num-perm", optarg, 1, 24 * 64, &num_perm);
			break;
		case OPT_VERIFY: minhash_opt = 1; c.verify = 1; break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			c.seed = strtoull(optarg, &end, 10);
			if (*end || end == optarg || errno) rc = cmd_usage_error("--seed: '%s' is not a number", optarg);
			break;
		}
		case OPT_KEEP_BY: c.keep_by = optarg; break;
		case 'W': c.work = optarg; break;
		case OPT_BAND: if (!(rc = int_arg("band", optarg, 0, 23, &v))) band = (int)v; break;
		case OPT_FORCE: c.force = 1; break;
		case OPT_KEEP_WORK: keep_work = 1; break;
		case OPT_ANNOTATE: c.annotate_only = 1; break;
		case OPT_ANNOTATE_FIELD: c.ann_field = optarg; break;
		case OPT_THREADS: if (!(rc = int_arg("threads", optarg, 1, 256, &v))) c.threads = (int)v; break;
		case OPT_MEMORY: {
			long long m = wn_parse_size(optarg);
			if (m < 1) rc = cmd_usage_error("--memory: '%s' is not a size", optarg);
			else c.memory = (uint64_t)m;
			break;
		}
		default: {
			int r = cmd_other_option(opt, &o, usage_text, argv);
			if (r >= 0) {
				rc = r;
				finished = 1;
			}
		}
		}
	}
	free(lo);
	if (rc || finished) return rc;
	char err[1024];
	if (wn_opts_finish(&o, err, sizeof err)) return cmd_usage_error("%s", err);
	wn_log_set_quiet(o.quiet);
	int nin = argc - optind;
	char **in = argv + optind;

	if (st == SIG && !mode_given && !unit_given)
		return cmd_usage_error("sig: --mode exact, minhash, line or paragraph is needed");
	if (st == MINHASH && unit_given) return cmd_usage_error("--unit is for dedup exact");
	if (st == EXACT && mode_given) return cmd_usage_error("--mode is for dedup sig");
	if (minhash_opt && c.mode != DD_MODE_MINHASH)
		return cmd_usage_error("--ngram, --bands, --rows, --threshold, --num-perm and "
				       "--verify are for MinHash");
	if (c.keep_by && (c.mode == DD_MODE_LINE || c.mode == DD_MODE_PARAGRAPH))
		return cmd_usage_error("--keep-by is for whole documents, not lines or paragraphs");
	if (c.mode == DD_MODE_MINHASH && thr_given && !br_given) {
		/* a missed duplicate stays in the corpus, a false candidate costs a
		 * comparison under --verify: false negatives weigh 19 times as
		 * much, which at 0.8 gives the default 14 x 8 */
		dd_lsh_choose(c.threshold, (int)num_perm, 0.05, 0.95, &c.bands, &c.rows);
		if (c.bands > 24) {
			c.bands = 24;
			c.rows = (int)(num_perm / 24);
		}
		wn_info("--threshold %g: %d bands of %d rows (%d permutations)", c.threshold, c.bands,
			c.rows, c.bands * c.rows);
	}
	if (c.mode == DD_MODE_MINHASH && c.bands * c.rows > DD_MAX_PERM)
		return cmd_usage_error("--bands x --rows: at most %d permutations", DD_MAX_PERM);
	if ((st == PAIRS || st == CLUSTER) && nin)
		return cmd_usage_error("%s reads the work directory, not inputs", stage);
	if (band >= 0 && st != PAIRS) return cmd_usage_error("--band is for dedup pairs");

	c.argc = argc + 1;
	c.argv = argv - 1;
	if (st == SIG || st == PAIRS || st == CLUSTER || st == APPLY) {
		if (!c.work) return cmd_usage_error("%s needs the work directory (-W WORK)", stage);
		c.skip_outputs = 1;
		if (st == SIG) return dd_stage_sig(&c, nin, in);
		if (st == PAIRS) return dd_stage_pairs(&c, band);
		if (st == CLUSTER) return dd_stage_cluster(&c);
		return dd_stage_apply(&c, nin, in);
	}

	/* one machine: every stage in turn */
	if (o.shard_n) return cmd_usage_error("--shard is for the stages (sig, pairs, apply)");
	if (!o.outdir && !o.output)
		return cmd_usage_error("%s needs -O DIR or -o FILE for the kept documents", stage);
	char *work = NULL;
	int own_work = !c.work;
	if (own_work) {
		const char *base = o.outdir ? o.outdir : o.output;
		size_t n = strlen(base) + 32;
		work = malloc(n);
		if (!work) return 1;
		if (o.outdir) snprintf(work, n, "%s/.dedup-work", base);
		else snprintf(work, n, "%s.dedup-work", base);
		c.work = work;
	}
	int skip = o.skip_existing;
	rc = dd_stage_sig(&c, nin, in);
	if (!rc && c.mode != DD_MODE_LINE && c.mode != DD_MODE_PARAGRAPH) {
		rc = dd_stage_pairs(&c, -1);
		if (!rc) rc = dd_stage_cluster(&c);
	} else if (!rc) {
		rc = dd_stage_pairs(&c, -1);
	}
	o.skip_existing = skip;
	if (!rc) rc = dd_stage_apply(&c, nin, in);
	if (!rc && own_work && !keep_work) remove_work(work);
	free(work);
	return rc;
}
