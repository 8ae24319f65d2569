/*
 * test_opts.c - lib/opts.c: common options, --shard, Slurm array variables,
 * input selection and sizes.
 */
#include <criterion/criterion.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../../lib/opts.h"

static void clear_slurm(void)
{
	unsetenv("SLURM_ARRAY_TASK_ID");
	unsetenv("SLURM_ARRAY_TASK_COUNT");
	unsetenv("SLURM_ARRAY_TASK_MIN");
	unsetenv("SLURM_ARRAY_TASK_MAX");
	unsetenv("SLURM_ARRAY_TASK_STEP");
}

TestSuite(opts, .init = clear_slurm, .fini = clear_slurm);

static int shard(wn_opts *o, const char *arg, char *err, size_t errlen)
{
	return wn_opts_common(o, WN_OPT_SHARD, arg, err, errlen);
}

Test(opts, defaults)
{
	wn_opts o;
	memset(&o, 0x5A, sizeof o);
	wn_opts_init(&o);
	cr_expect_null(o.output);
	cr_expect_null(o.outdir);
	cr_expect_eq(o.shard_n, 0);
	cr_expect_eq(o.shard_i, 0);
	cr_expect_eq(o.level, 0);
	cr_expect_eq(o.progress, -1);
	cr_expect_eq(o.max_line, (size_t)1 << 30);
	cr_expect_str_eq(o.fields.text, "text");
	cr_expect_str_eq(o.fields.id, "id");
	cr_expect_str_eq(o.fields.domain, "domain");
	char err[256] = "";
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), 0);
	cr_expect_eq(o.shard_n, 0, "no --shard and no Slurm: all inputs");
}

Test(opts, shard_valid)
{
	struct { const char *s; int i, n; } ok[] = {
		{ "0/1", 0, 1 }, { "0/2", 0, 2 }, { "1/2", 1, 2 }, { "2/3", 2, 3 },
		{ "999/1000", 999, 1000 }, { "0/1000000", 0, 1000000 },
	};
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		wn_opts o;
		wn_opts_init(&o);
		char err[256] = "";
		cr_expect_eq(shard(&o, ok[k].s, err, sizeof err), 1, "%s: %s", ok[k].s, err);
		cr_expect_eq(o.shard_i, ok[k].i, "%s", ok[k].s);
		cr_expect_eq(o.shard_n, ok[k].n, "%s", ok[k].s);
	}
}

Test(opts, shard_invalid)
{
	const char *bad[] = { "3/3", "4/3", "-1/3", "1/0", "0/0", "0/-1", "a/b", "1/", "/3", "1/3x",
			      "1", "", "1/3/5", "1.5/3", "1/2.0", "x1/3", "1 /3", "garbage",
			      "99999999999/3", "0/99999999999" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		wn_opts o;
		wn_opts_init(&o);
		char err[256] = "";
		cr_expect_eq(shard(&o, bad[k], err, sizeof err), -1, "'%s' accepted", bad[k]);
		cr_expect_neq(strstr(err, "--shard"), NULL, "'%s': message '%s'", bad[k], err);
		cr_expect_eq(o.shard_n, 0, "'%s' changed shard_n", bad[k]);
	}
}

Test(opts, other_common_options)
{
	wn_opts o;
	wn_opts_init(&o);
	char err[256] = "";
	cr_expect_eq(wn_opts_common(&o, 'o', "out.zst", err, sizeof err), 1);
	cr_expect_str_eq(o.output, "out.zst");
	cr_expect_eq(wn_opts_common(&o, WN_OPT_LEVEL, "19", err, sizeof err), 1);
	cr_expect_eq(o.level, 19);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_LEVEL, "-7", err, sizeof err), 1);
	cr_expect_eq(o.level, -7);
	const char *badlevel[] = { "23", "-8", "x", "", "3x" };
	for (int i = 0; i < 5; i++) {
		err[0] = 0;
		cr_expect_eq(wn_opts_common(&o, WN_OPT_LEVEL, badlevel[i], err, sizeof err), -1,
			     "level '%s'", badlevel[i]);
		cr_expect_neq(err[0], 0);
	}
	cr_expect_eq(o.level, -7, "a bad level keeps the old value");
	cr_expect_eq(wn_opts_common(&o, WN_OPT_MAX_LINE, "64M", err, sizeof err), 1);
	cr_expect_eq(o.max_line, (size_t)64 << 20);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_MAX_LINE, "0", err, sizeof err), -1);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_MAX_LINE, "lots", err, sizeof err), -1);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_ON_ERROR, "fail", err, sizeof err), 1);
	cr_expect_eq(o.on_error_fail, 1);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_ON_ERROR, "skip", err, sizeof err), 1);
	cr_expect_eq(o.on_error_fail, 0);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_ON_ERROR, "ignore", err, sizeof err), -1);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_TEXT_FIELD, "content", err, sizeof err), 1);
	cr_expect_str_eq(o.fields.text, "content");
	cr_expect_eq(wn_opts_common(&o, WN_OPT_ID_FIELD, "doc_id", err, sizeof err), 1);
	cr_expect_str_eq(o.fields.id, "doc_id");
	cr_expect_eq(wn_opts_common(&o, WN_OPT_DOMAIN_FIELD, "site", err, sizeof err), 1);
	cr_expect_str_eq(o.fields.domain, "site");
	cr_expect_eq(wn_opts_common(&o, WN_OPT_SKIP_EXISTING, NULL, err, sizeof err), 1);
	cr_expect_eq(o.skip_existing, 1);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_PROGRESS, NULL, err, sizeof err), 1);
	cr_expect_eq(o.progress, 1);
	cr_expect_eq(wn_opts_common(&o, 'q', NULL, err, sizeof err), 1);
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), 0);
	cr_expect_eq(o.progress, 0, "--quiet turns progress off");
	/* not a common option */
	cr_expect_eq(wn_opts_common(&o, 'z', "x", err, sizeof err), 0);
	cr_expect_eq(wn_opts_common(&o, WN_OPT_COMMON_END, "x", err, sizeof err), 0);
	/* -o and -O exclude each other */
	cr_expect_eq(wn_opts_common(&o, 'O', "dir", err, sizeof err), 1);
	err[0] = 0;
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), -1);
	cr_expect_neq(err[0], 0);
}

Test(opts, longopts_table)
{
	static const struct option own[] = {
		{ "sample", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 0x2000 },
		{ NULL, 0, NULL, 0 },
	};
	struct option *v = wn_opts_longopts(own);
	size_t n = 0;
	while (v[n].name) n++;
	cr_expect_gt(n, 10);
	cr_expect_str_eq(v[0].name, "sample");
	cr_expect_str_eq(v[1].name, "seed");
	cr_expect_eq(v[1].val, 0x2000);
	const char *need[] = { "output", "output-dir", "skip-existing", "level", "max-line",
			       "text-field", "id-field", "domain-field", "on-error", "rejects",
			       "stats", "shard", "progress", "quiet", "help" };
	for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
		int found = 0;
		for (size_t i = 0; i < n; i++) found += !strcmp(v[i].name, need[k]);
		cr_expect_eq(found, 1, "--%s appears %d times", need[k], found);
		/* documented in the help text */
		char opt[64];
		snprintf(opt, sizeof opt, "--%s", need[k]);
		cr_expect_neq(strstr(WN_OPTS_HELP, opt), NULL, "%s missing from WN_OPTS_HELP", opt);
	}
	cr_expect_eq(v[n].has_arg, 0);
	cr_expect_eq(v[n].val, 0);
	free(v);
	/* and with no own options */
	v = wn_opts_longopts(NULL);
	cr_expect_str_eq(v[0].name, "output");
	free(v);

	/* the table works with getopt_long: the common options reach wn_opts_common */
	v = wn_opts_longopts(own);
	char *argv[] = { "t", "--shard", "1/3", "--sample", "0.5", "--level=5", "-o", "x.gz",
			 "in1", NULL };
	int argc = 9;
	wn_opts o;
	wn_opts_init(&o);
	optind = 1;
	int c, sample = 0;
	char err[256];
	while ((c = getopt_long(argc, argv, "s:" WN_OPTS_SHORT, v, NULL)) != -1) {
		if (c == 's') { sample = 1; continue; }
		cr_assert_eq(wn_opts_common(&o, c, optarg, err, sizeof err), 1, "option %d", c);
	}
	cr_expect(sample);
	cr_expect_eq(o.shard_i, 1);
	cr_expect_eq(o.shard_n, 3);
	cr_expect_eq(o.level, 5);
	cr_expect_str_eq(o.output, "x.gz");
	cr_expect_eq(optind, 8);
	free(v);
}

/* ---------------------------------------------------------------- selection */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(opts, select_shards_of_sorted_list)
{
	char *names[] = { "s3://b/part-0007.zst", "part-0010.jsonl.zst", "part-0002.jsonl.zst",
			  "part-0001.jsonl.zst", "/data/z.jsonl", "part-0003.jsonl.zst",
			  "https://h/x/part-0005.gz", "part-0011.jsonl.zst", "part-0000.jsonl.zst",
			  "a.jsonl", "part-0004.jsonl.zst", "Z.jsonl", "part-0006.jsonl.zst",
			  "part-0009.jsonl.zst", "part-0008.jsonl.zst", "b b.jsonl", "part-0012.jsonl.zst",
			  "part-0013", "part-0014", "part-0015", "part-0016", "part-0017", "part-0018" };
	int n = (int)(sizeof names / sizeof names[0]);
	char *orig[sizeof names / sizeof names[0]];
	memcpy(orig, names, sizeof names);
	char *sorted[sizeof names / sizeof names[0]];
	memcpy(sorted, names, sizeof names);
	qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);

	int ns[] = { 1, 2, 3, 4, 5, 7, 22, 23, 24, 100 };
	for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
		int N = ns[t];
		int seen[sizeof names / sizeof names[0]] = { 0 };
		for (int i = 0; i < N; i++) {
			wn_opts o;
			wn_opts_init(&o);
			o.shard_i = i;
			o.shard_n = N;
			int nout = -1;
			char **v = wn_opts_select(&o, n, names, &nout);
			cr_assert_not_null(v);
			int want = i < n ? (n - i + N - 1) / N : 0;
			cr_assert_eq(nout, want, "%d/%d: %d inputs, want %d", i, N, nout, want);
			for (int k = 0; k < nout; k++) {
				cr_assert_str_eq(v[k], sorted[i + k * N], "%d/%d item %d", i, N, k);
				for (int j = 0; j < n; j++)
					if (sorted[j] == v[k]) seen[j]++;
			}
			free(v);
			/* the caller's array is not reordered */
			cr_assert_eq(memcmp(names, orig, sizeof names), 0);
		}
		for (int j = 0; j < n; j++)
			cr_assert_eq(seen[j], 1, "N=%d: %s taken %d times", N, sorted[j], seen[j]);
	}
}

Test(opts, select_unsharded_keeps_order)
{
	char *names[] = { "c", "a", "b", "a" };
	wn_opts o;
	wn_opts_init(&o);
	int nout = -1;
	char **v = wn_opts_select(&o, 4, names, &nout);
	cr_assert_eq(nout, 4);
	for (int i = 0; i < 4; i++) cr_expect_eq(v[i], names[i]);
	free(v);
}

Test(opts, select_no_inputs_means_stdin)
{
	wn_opts o;
	wn_opts_init(&o);
	int nout = -1;
	char **v = wn_opts_select(&o, 0, NULL, &nout);
	cr_assert_eq(nout, 1);
	cr_expect_str_eq(v[0], "-");
	free(v);
	/* sharded: task 0 reads stdin, the others nothing */
	o.shard_n = 3;
	for (int i = 0; i < 3; i++) {
		o.shard_i = i;
		v = wn_opts_select(&o, 0, NULL, &nout);
		cr_expect_eq(nout, i == 0 ? 1 : 0, "task %d", i);
		free(v);
	}
}

/* ---------------------------------------------------------------- Slurm */

Test(opts, slurm_array_variables)
{
	wn_opts o;
	char err[256];
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "%s", err);
	cr_expect_eq(o.shard_i, 3);
	cr_expect_eq(o.shard_n, 4);
	cr_expect_eq(o.shard_from_slurm, 1);

	/* arrays that start at 1 (--array=1-4) */
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "4", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
	cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "%s", err);
	cr_expect_eq(o.shard_i, 3);
	cr_expect_eq(o.shard_n, 4);
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "1", 1);
	cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "%s", err);
	cr_expect_eq(o.shard_i, 0);

	/* out of range */
	const char *bad[][3] = { { "5", "4", "1" }, { "0", "4", "1" }, { "4", "4", "" },
				 { "2", "0", "" }, { "-1", "4", "" } };
	for (int k = 0; k < 5; k++) {
		wn_opts_init(&o);
		setenv("SLURM_ARRAY_TASK_ID", bad[k][0], 1);
		setenv("SLURM_ARRAY_TASK_COUNT", bad[k][1], 1);
		setenv("SLURM_ARRAY_TASK_MIN", bad[k][2], 1);
		err[0] = 0;
		cr_expect_eq(wn_opts_finish(&o, err, sizeof err), -1, "id %s count %s min %s",
			     bad[k][0], bad[k][1], bad[k][2]);
		cr_expect_neq(strstr(err, "SLURM"), NULL, "message: %s", err);
	}
	/* a task id without a count */
	clear_slurm();
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "0", 1);
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), -1);
	/* an empty id means no array */
	clear_slurm();
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), 0);
	cr_expect_eq(o.shard_n, 0);
	cr_expect_eq(o.shard_from_slurm, 0);
}

Test(opts, slurm_array_with_step)
{
	/* --array=1-10:3 has tasks 1, 4, 7, 10: COUNT=4, MIN=1, STEP=3 */
	const char *ids[] = { "1", "4", "7", "10" };
	for (int t = 0; t < 4; t++) {
		wn_opts o;
		wn_opts_init(&o);
		char err[256] = "";
		setenv("SLURM_ARRAY_TASK_ID", ids[t], 1);
		setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
		setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
		setenv("SLURM_ARRAY_TASK_STEP", "3", 1);
		cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "id %s: %s", ids[t], err);
		cr_expect_eq(o.shard_i, t, "id %s", ids[t]);
		cr_expect_eq(o.shard_n, 4);
	}
	/* a task past the end */
	wn_opts o;
	wn_opts_init(&o);
	char err[256] = "";
	setenv("SLURM_ARRAY_TASK_ID", "13", 1);
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), -1);
	/* an empty step means 1 */
	wn_opts_init(&o);
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);
	setenv("SLURM_ARRAY_TASK_STEP", "", 1);
	cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "%s", err);
	cr_expect_eq(o.shard_i, 2);
}

Test(opts, slurm_garbage_is_an_error)
{
	/* non-numbers must not silently become task 0 (every task would then
	 * process the same shard) */
	const char *bad[][2] = { { "abc", "4" }, { "2x", "4" }, { "1", "four" }, { "1", "4x" } };
	for (int k = 0; k < 4; k++) {
		wn_opts o;
		wn_opts_init(&o);
		char err[256] = "";
		setenv("SLURM_ARRAY_TASK_ID", bad[k][0], 1);
		setenv("SLURM_ARRAY_TASK_COUNT", bad[k][1], 1);
		cr_expect_eq(wn_opts_finish(&o, err, sizeof err), -1, "ID=%s COUNT=%s accepted as %d/%d",
			     bad[k][0], bad[k][1], o.shard_i, o.shard_n);
	}
}

Test(opts, shard_option_wins_over_slurm)
{
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	wn_opts o;
	wn_opts_init(&o);
	char err[256];
	cr_assert_eq(shard(&o, "1/2", err, sizeof err), 1);
	cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0);
	cr_expect_eq(o.shard_i, 1);
	cr_expect_eq(o.shard_n, 2);
	cr_expect_eq(o.shard_from_slurm, 0);
	/* even with inconsistent Slurm variables */
	setenv("SLURM_ARRAY_TASK_ID", "9", 1);
	wn_opts_init(&o);
	cr_assert_eq(shard(&o, "0/1", err, sizeof err), 1);
	cr_expect_eq(wn_opts_finish(&o, err, sizeof err), 0);
	cr_expect_eq(o.shard_n, 1);
}

Test(opts, slurm_selection_end_to_end)
{
	/* four array tasks, 1-based, each selecting from the same unsorted list */
	char *names[] = { "d", "b", "f", "a", "e", "c", "g" };
	const char *want[4][2] = { { "a", "e" }, { "b", "f" }, { "c", "g" }, { "d", NULL } };
	for (int t = 0; t < 4; t++) {
		char id[16];
		snprintf(id, sizeof id, "%d", t + 1);
		setenv("SLURM_ARRAY_TASK_ID", id, 1);
		setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
		setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
		wn_opts o;
		wn_opts_init(&o);
		char err[256];
		cr_assert_eq(wn_opts_finish(&o, err, sizeof err), 0, "%s", err);
		int nout;
		char **v = wn_opts_select(&o, 7, names, &nout);
		cr_assert_eq(nout, want[t][1] ? 2 : 1, "task %d", t);
		cr_expect_str_eq(v[0], want[t][0]);
		if (want[t][1]) cr_expect_str_eq(v[1], want[t][1]);
		free(v);
	}
}

/* ---------------------------------------------------------------- sizes */

Test(opts, parse_size)
{
	struct { const char *s; long long v; } ok[] = {
		{ "0", 0 }, { "4096", 4096 }, { "1k", 1024 }, { "1K", 1024 }, { "2KB", 2048 },
		{ "64M", 64LL << 20 }, { "64m", 64LL << 20 }, { "1G", 1LL << 30 }, { "3g", 3LL << 30 },
		{ "1.5M", 3LL << 19 }, { "100B", 100 }, { "1Mb", 1LL << 20 }, { "1024G", 1LL << 40 },
	};
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
		cr_expect_eq(wn_parse_size(ok[k].s), ok[k].v, "'%s' gave %lld", ok[k].s,
			     wn_parse_size(ok[k].s));
	const char *bad[] = { "", "abc", "-1", "-1M", "12X", "1MM", "1M ", "M", "1T", "1GG", "k" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		cr_expect_eq(wn_parse_size(bad[k]), -1, "'%s' gave %lld", bad[k], wn_parse_size(bad[k]));
}

Test(opts, parse_size_rejects_non_finite_and_huge)
{
	/* strtod accepts these; they are not sizes, and converting them to
	 * long long is undefined behaviour */
	const char *bad[] = { "nan", "inf", "infinity", "1e30", "99999999999G", "1e19" };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		cr_expect_eq(wn_parse_size(bad[k]), -1, "'%s' gave %lld", bad[k], wn_parse_size(bad[k]));
}

Test(opts, cache_path_follows_the_environment)
{
	char p[256];
	setenv("WINNOW_CACHE", "/c", 1);
	wn_cache_path(p, sizeof p, "lid176/x");
	cr_expect_str_eq(p, "/c/lid176/x");
	unsetenv("WINNOW_CACHE");
	setenv("XDG_CACHE_HOME", "/x", 1);
	wn_cache_path(p, sizeof p, "tokenizers");
	cr_expect_str_eq(p, "/x/winnow/tokenizers");
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/h", 1);
	wn_cache_path(p, sizeof p, "a");
	cr_expect_str_eq(p, "/h/.cache/winnow/a");
}
