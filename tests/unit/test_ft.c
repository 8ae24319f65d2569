/*
 * test_ft.c - lib/ft.cpp, the fastText shim: bad model files end as errors
 * (never a crash, a hang or an exit), and predictions with fastText's
 * lid.176.ftz equal those of Debian's `fasttext predict-prob` on a real
 * multilingual corpus (scripts/make-lang-corpus.py), from one thread and
 * from two at once; and so do those of small classifiers that the
 * command line trains on the corpus (softmax and one-vs-all losses, word
 * n-grams, dense .bin and pruned, quantized .ftz files).
 *
 * Needs the cached data sets; a test that lacks them fails, saying
 *   scripts/fetch-data.sh lid176 debian-handbook fortunes-intl python-doc chinese-poetry fortunes-zh
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../lib/err.h"
#include "../../lib/ft.h"
#include "testutil.h"

#define FETCH "scripts/fetch-data.sh lid176 debian-handbook fortunes-intl python-doc " \
	      "chinese-poetry fortunes-zh"

static void setup(void) { tu_mkdtemp(); }
static void teardown(void) { tu_rmdir(); }

/* A timeout catches a model file that makes loading spin.  The long
 * suites go without: Criterion 2.4.1's runner leaks a timer record (48
 * bytes, which fails make check-asan) when long tests with a timeout run
 * in parallel. */
TestSuite(ft_open, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(ft_lid, .init = setup, .fini = teardown);
TestSuite(ft_trained, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

/* $CACHE/lid176/lid.176.ftz by fetch-data.sh's rule; fails the test when
 * it is missing. */
static const char *model_path(void)
{
	static char p[1024];
	char dir[900];
	snprintf(p, sizeof p, "%s/lid176/lid.176.ftz", tu_cache_dir(dir, sizeof dir));
	if (!tu_exists(p)) cr_assert_fail("%s not found: run " FETCH, p);
	return p;
}

static wn_ft *open_ok(const char *path)
{
	char err[512];
	wn_ft *m = NULL;
	int rc = wn_ft_open(&m, path, err, sizeof err);
	cr_assert_eq(rc, 0, "wn_ft_open(%s): %d %s", path, rc, err);
	cr_assert_not_null(m);
	return m;
}

/* wn_ft_open must fail with `code` and a message naming the file and
 * holding `words`. */
static void expect_open_error(const char *path, int code, const char *words)
{
	char err[512];
	wn_ft *m = (wn_ft *)1;
	int rc = wn_ft_open(&m, path, err, sizeof err);
	cr_expect_eq(rc, code, "%s: rc %d, expected %d (%s)", path, rc, code, err);
	cr_expect_null(m, "%s: handle set on error", path);
	cr_expect(strstr(err, path) != NULL, "message does not name the file: %s", err);
	cr_expect(strstr(err, words) != NULL, "message '%s' lacks '%s'", err, words);
}

/* A copy of the first n bytes of `src` (n > its size: all of it) at `dst`,
 * with `patch` (if any) written at `at`. */
static void copy_prefix(const char *src, const char *dst, size_t n, size_t at,
			const void *patch, size_t plen)
{
	size_t len;
	char *b = tu_read_file(src, &len);
	cr_assert_not_null(b);
	if (n > len) n = len;
	if (patch) memcpy(b + at, patch, plen);
	cr_assert_eq(tu_write_file(dst, b, n), 0);
	free(b);
}

/* ---------------------------------------------------------------- errors */

Test(ft_open, missing_file)
{
	expect_open_error(tu_path("nope.ftz"), WN_EIO, "No such file");
}

Test(ft_open, directory)
{
	expect_open_error(tu_dir, WN_EIO, "directory");
}

Test(ft_open, empty_file)
{
	const char *p = tu_path("empty.ftz");
	cr_assert_eq(tu_write_file(p, "", 0), 0);
	expect_open_error(p, WN_ECORRUPT, "not a fastText model");
}

Test(ft_open, text_files)
{
	const char *p = tu_path("model.txt");
	const char *text = "__label__en this is not a model\n__label__fr ceci non plus\n";
	cr_assert_eq(tu_write_file(p, text, strlen(text)), 0);
	expect_open_error(p, WN_ECORRUPT, "not a fastText model");
	cr_assert_eq(tu_write_file(p, "hi\n", 3), 0);
	expect_open_error(p, WN_ECORRUPT, "not a fastText model");
}

Test(ft_open, truncated_copies)
{
	const char *src = model_path();
	struct stat st;
	cr_assert_eq(stat(src, &st), 0);
	size_t size = (size_t)st.st_size;
	/* inside the header, the arguments, the dictionary (where fastText
	 * itself loops forever), the matrices, and one byte short */
	size_t cuts[] = { 4, 9, 60, 100, 4096, size / 3, size / 2, size - 5000, size - 1 };
	const char *p = tu_path("trunc.ftz");
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		copy_prefix(src, p, cuts[i], 0, NULL, 0);
		char err[512];
		wn_ft *m = (wn_ft *)1;
		int rc = wn_ft_open(&m, p, err, sizeof err);
		cr_expect(rc == WN_ETRUNC || (cuts[i] < 8 && rc == WN_ECORRUPT),
			  "cut at %zu: rc %d (%s)", cuts[i], rc, err);
		cr_expect_null(m);
		cr_expect(strstr(err, p) && (strstr(err, "truncated") || strstr(err, "too short")),
			  "cut at %zu: %s", cuts[i], err);
	}
}

Test(ft_open, bad_header)
{
	const char *src = model_path();
	const char *p = tu_path("bad.ftz");
	int32_t v = 13; /* a format newer than 0.9.2 reads */
	copy_prefix(src, p, (size_t)-1, 4, &v, sizeof v);
	expect_open_error(p, WN_ECORRUPT, "newer");
	int32_t magic = 12345;
	copy_prefix(src, p, (size_t)-1, 0, &magic, sizeof magic);
	expect_open_error(p, WN_ECORRUPT, "magic");
	int32_t dim = -16; /* the first argument */
	copy_prefix(src, p, (size_t)-1, 8, &dim, sizeof dim);
	expect_open_error(p, WN_ECORRUPT, "corrupt");
}

Test(ft_open, corrupt_bytes_never_crash)
{
	/* flip bytes in the header, arguments and dictionary counts: every
	 * result is an error or a model that predicts */
	const char *src = model_path();
	const char *p = tu_path("flip.ftz");
	size_t len;
	char *orig = tu_read_file(src, &len);
	cr_assert_not_null(orig);
	tu_rng r = { 11 };
	for (int it = 0; it < 150; it++) {
		char *b = malloc(len);
		memcpy(b, orig, len);
		for (int j = 0; j < 2; j++) b[tu_below(&r, 120)] ^= (char)(1 + tu_below(&r, 255));
		cr_assert_eq(tu_write_file(p, b, len), 0);
		free(b);
		char err[512];
		wn_ft *m = NULL;
		if (wn_ft_open(&m, p, err, sizeof err)) {
			cr_expect(strstr(err, p) != NULL, "%s", err);
			continue;
		}
		wn_ft_state *s = wn_ft_state_new(m);
		wn_ft_pred out[512];
		size_t n;
		if (wn_ft_is_supervised(m) && wn_ft_nlabels(m) <= 512)
			wn_ft_predict(s, "hello world", 11, -1, 0.0f, out, &n);
		wn_ft_state_free(s);
		wn_ft_free(m);
	}
	free(orig);
}

/* ---------------------------------------------------------------- the model */

Test(ft_lid, labels_and_arguments)
{
	wn_ft *m = open_ok(model_path());
	cr_expect_eq(wn_ft_nlabels(m), 176);
	cr_expect_eq(wn_ft_dim(m), 16);
	cr_expect(wn_ft_is_supervised(m));
	cr_expect(wn_ft_is_quantized(m));
	int en = wn_ft_label_index(m, "en");
	cr_assert(en >= 0);
	cr_expect_str_eq(wn_ft_label(m, en), "en");
	cr_expect_eq(wn_ft_label_index(m, "__label__en"), en);
	cr_expect_eq(wn_ft_label_index(m, "xx-nope"), -1);
	cr_expect_null(wn_ft_label(m, 176));
	for (int i = 0; i < wn_ft_nlabels(m); i++)
		cr_expect(strncmp(wn_ft_label(m, i), "__label__", 9), "prefix kept on %d", i);

	wn_ft_state *s = wn_ft_state_new(m);
	wn_ft_pred out[176];
	size_t n = 99;
	cr_expect_eq(wn_ft_predict(s, "x", 1, 0, 0.0f, out, &n), WN_EUSAGE);
	cr_expect_eq(n, 0);
	cr_expect_eq(wn_ft_predict(s, "x", 1, -2, 0.0f, out, &n), WN_EUSAGE);

	/* every label: sorted, a distribution (+1e-5 smoothing each).  Its
	 * hierarchical softmax leaves out the labels below about 1e-5, as the
	 * command line does. */
	const char *t = "Der schnelle braune Fuchs springt über den faulen Hund.";
	cr_assert_eq(wn_ft_predict(s, t, strlen(t), -1, 0.0f, out, &n), 0);
	cr_assert(n > 20 && n <= 176, "%zu labels", n);
	size_t nall = n;
	cr_expect_str_eq(wn_ft_label(m, out[0].label), "de");
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += out[i].prob;
		if (i) cr_expect(out[i].prob <= out[i - 1].prob);
	}
	cr_expect(fabs(sum - 1.0) < 0.01, "sum %f", sum);
	/* k above the label count gives them all; a threshold cuts */
	cr_assert_eq(wn_ft_predict(s, t, strlen(t), 1000, 0.0f, out, &n), 0);
	cr_expect_eq(n, nall);
	cr_assert_eq(wn_ft_predict(s, t, strlen(t), -1, 0.5f, out, &n), 0);
	cr_expect_eq(n, 1);
	/* a newline inside the text is a space; the bytes need no NUL */
	wn_ft_pred a[3], b[3];
	size_t na, nb;
	cr_assert_eq(wn_ft_predict(s, "hello\nworld!", 12, 3, 0.0f, a, &na), 0);
	cr_assert_eq(wn_ft_predict(s, "hello world!XYZ", 12, 3, 0.0f, b, &nb), 0);
	cr_expect_eq(na, nb);
	cr_expect(!memcmp(a, b, na * sizeof *a));
	wn_ft_state_free(s);
	wn_ft_free(m);
}

/* ---------------------------------------------------------------- the CLI */

typedef struct {
	char *buf;    /* the lines file, '\n' replaced by NUL */
	char **line;  /* start of each line */
	size_t *len;
	size_t n;
} lines_t;

static void lines_load(lines_t *L, const char *path)
{
	size_t size = 0;
	L->buf = tu_read_file(path, &size);
	cr_assert_not_null(L->buf, "cannot read %s", path);
	L->n = 0;
	for (size_t i = 0; i < size; i++) L->n += L->buf[i] == '\n';
	L->line = malloc((L->n + 1) * sizeof *L->line);
	L->len = malloc((L->n + 1) * sizeof *L->len);
	size_t k = 0, start = 0;
	for (size_t i = 0; i < size; i++)
		if (L->buf[i] == '\n') {
			L->line[k] = L->buf + start;
			L->len[k++] = i - start;
			L->buf[i] = 0;
			start = i + 1;
		}
}

static void lines_free(lines_t *L)
{
	free(L->buf);
	free(L->line);
	free(L->len);
}

static void run(const char *cmd, const char *what)
{
	int rc = system(cmd);
	if (rc != 0)
		cr_assert_fail("%s failed (exit status %d)", what,
			       rc > 0 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
}

/* The corpus as one text a line (newlines in a text turned into spaces),
 * and a few edge cases at the end; returns the path. */
static const char *make_lines(void)
{
	const char *script = "scripts/make-lang-corpus.py";
	if (!tu_exists(script))
		cr_assert_fail("%s not found: run the tests from the top of the source tree", script);
	const char *out = tu_path("lines.txt");
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "python3 %s > %s/corpus.jsonl && python3 -c 'import json, sys\n"
		 "for l in sys.stdin: sys.stdout.write(json.loads(l)[\"text\"]"
		 ".replace(\"\\n\", \" \") + \"\\n\")' < %s/corpus.jsonl > %s",
		 script, tu_dir, tu_dir, out);
	run(cmd, "building the corpus (the data sets come from " FETCH ")");
	/* edge cases: empty, blanks only, a label token, control white space,
	 * a NUL byte, one long line */
	FILE *f = fopen(out, "ab");
	cr_assert_not_null(f);
	fputs("\n \t \n__label__fr bonjour\na\tb\vc\fd\re\n", f);
	fwrite("nul\0byte here\n", 1, 14, f);
	for (int i = 0; i < 3000; i++) fputs("Lorem ipsum dolor sit amet 世界 мир ", f);
	fputs("\n", f);
	fclose(f);
	return out;
}

/* Check `fasttext predict-prob MODEL - K [TH]` against the shim on every
 * line; returns the number of distinct top labels. */
static int compare_cli(wn_ft *m, const char *model, const lines_t *L, size_t nlines, int k,
		       const char *th)
{
	char cmd[2048];
	const char *in = tu_path("cli-in.txt"), *out = tu_path("cli-out.txt");
	FILE *f = fopen(in, "wb");
	cr_assert_not_null(f);
	for (size_t i = 0; i < nlines; i++) {
		fwrite(L->line[i], 1, L->len[i], f);
		fputc('\n', f);
	}
	fclose(f);
	run("command -v fasttext >/dev/null || { echo 'no fasttext command: make deps' >&2; exit 1; }",
	    "looking for Debian's fasttext");
	snprintf(cmd, sizeof cmd, "fasttext predict-prob %s - %d %s < %s > %s", model, k, th, in,
		 out);
	run(cmd, "fasttext predict-prob");
	float threshold = *th ? strtof(th, NULL) : 0.0f;

	lines_t C;
	lines_load(&C, out);
	cr_assert_eq(C.n, nlines, "fasttext printed %zu lines for %zu", C.n, nlines);
	wn_ft_state *s = wn_ft_state_new(m);
	wn_ft_pred *pred = malloc((size_t)wn_ft_nlabels(m) * sizeof *pred);
	char seen[256] = { 0 };
	int distinct = 0;
	for (size_t i = 0; i < nlines; i++) {
		size_t n;
		cr_assert_eq(wn_ft_predict(s, L->line[i], L->len[i], k, threshold, pred, &n), 0);
		char *save, *tok = strtok_r(C.line[i], " ", &save);
		size_t j = 0;
		for (; tok; j++) {
			char *prob = strtok_r(NULL, " ", &save);
			cr_assert_not_null(prob, "line %zu: odd fasttext output", i + 1);
			cr_assert(j < n, "line %zu: fasttext gives more than %zu labels", i + 1, n);
			cr_assert(!strncmp(tok, "__label__", 9));
			cr_assert_str_eq(tok + 9, wn_ft_label(m, pred[j].label),
					 "line %zu, rank %zu: fasttext says %s, the shim %s (%.40s)",
					 i + 1, j + 1, tok + 9, wn_ft_label(m, pred[j].label), L->line[i]);
			double want = strtod(prob, NULL);
			cr_assert(fabs(want - pred[j].prob) <= 1e-5,
				  "line %zu, %s: fasttext %s, shim %.9g", i + 1, tok + 9, prob,
				  (double)pred[j].prob);
			tok = strtok_r(NULL, " ", &save);
		}
		cr_assert_eq(j, n, "line %zu: fasttext gives %zu labels, the shim %zu", i + 1, j, n);
		if (n && !seen[pred[0].label]) {
			seen[pred[0].label] = 1;
			distinct++;
		}
	}
	free(pred);
	wn_ft_state_free(s);
	lines_free(&C);
	return distinct;
}

Test(ft_lid, same_as_fasttext_cli)
{
	const char *model = model_path();
	wn_ft *m = open_ok(model);
	lines_t L;
	lines_load(&L, make_lines());
	cr_assert(L.n >= 2000, "only %zu lines in the corpus", L.n);
	int distinct = compare_cli(m, model, &L, L.n, 3, "");
	cr_expect(distinct >= 10, "only %d distinct top languages", distinct);
	/* every label (that the tree search reaches), and a threshold, on
	 * part of it */
	compare_cli(m, model, &L, 300, -1, "");
	compare_cli(m, model, &L, 600, 5, "0.05");
	lines_free(&L);
	wn_ft_free(m);
}

typedef struct {
	const wn_ft *m;
	const lines_t *L;
	wn_ft_pred *out; /* 3 per line */
	size_t *n;
	int rc;
} job_t;

static void *predict_all(void *arg)
{
	job_t *j = arg;
	wn_ft_state *s = wn_ft_state_new(j->m);
	if (!s) { j->rc = WN_ENOMEM; return NULL; }
	for (size_t i = 0; i < j->L->n && !j->rc; i++)
		j->rc = wn_ft_predict(s, j->L->line[i], j->L->len[i], 3, 0.0f, j->out + 3 * i,
				      j->n + i);
	wn_ft_state_free(s);
	return NULL;
}

Test(ft_lid, two_threads_same_results)
{
	wn_ft *m = open_ok(model_path());
	lines_t L;
	lines_load(&L, make_lines());
	cr_assert(L.n >= 2000, "only %zu lines in the corpus", L.n);
	job_t jobs[3];
	for (int t = 0; t < 3; t++) {
		jobs[t] = (job_t){ m, &L, calloc(3 * L.n, sizeof(wn_ft_pred)),
				   calloc(L.n, sizeof(size_t)), 0 };
	}
	predict_all(&jobs[0]); /* the reference, alone */
	cr_assert_eq(jobs[0].rc, 0);
	pthread_t th[2];
	for (int t = 0; t < 2; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, predict_all, &jobs[t + 1]), 0);
	for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
	for (int t = 1; t < 3; t++) {
		cr_assert_eq(jobs[t].rc, 0);
		for (size_t i = 0; i < L.n; i++) {
			cr_assert_eq(jobs[t].n[i], jobs[0].n[i], "thread %d, line %zu", t, i + 1);
			cr_assert(!memcmp(jobs[t].out + 3 * i, jobs[0].out + 3 * i,
					  jobs[0].n[i] * sizeof(wn_ft_pred)),
				  "thread %d, line %zu differs", t, i + 1);
		}
	}
	for (int t = 0; t < 3; t++) {
		free(jobs[t].out);
		free(jobs[t].n);
	}
	lines_free(&L);
	wn_ft_free(m);
}

/* Models lid.176 does not exercise: word n-grams, no pruning, dense
 * matrices, softmax and one-vs-all losses, subwords off or from one
 * character, a quantized and pruned model with norms; all labels compared. */
Test(ft_trained, small_classifiers_same_as_fasttext_cli)
{
	lines_t L;
	lines_load(&L, make_lines());
	char cmd[4096];
	const char *train = tu_path("train.txt");
	snprintf(cmd, sizeof cmd,
		 "python3 -c 'import json, sys\n"
		 "for i, l in enumerate(sys.stdin):\n"
		 "    d = json.loads(l)\n"
		 "    if i %% 3 == 0: print(\"__label__\" + d[\"src_lang\"], d[\"text\"].replace(\"\\n\", \" \"))'"
		 " < %s/corpus.jsonl > %s",
		 tu_dir, train);
	run(cmd, "writing the training file");
	static const struct {
		const char *name, *args;
	} models[] = {
		{ "softmax.bin", "-loss softmax -wordNgrams 2 -minn 2 -maxn 4 -bucket 50000" },
		{ "ova.bin", "-loss ova -wordNgrams 3 -maxn 0 -bucket 20000" },
		/* one-character n-grams: "<" and ">" alone are left out */
		{ "hs.bin", "-loss hs -wordNgrams 1 -minn 1 -maxn 3 -bucket 30000" },
	};
	for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
		char out[512];
		snprintf(out, sizeof out, "%s/%.*s", tu_dir,
			 (int)(strlen(models[i].name) - 4), models[i].name);
		snprintf(cmd, sizeof cmd,
			 "fasttext supervised -input %s -output %s %s -dim 8 -epoch 3 -thread 1 "
			 "-verbose 0 >/dev/null",
			 train, out, models[i].args);
		run(cmd, "fasttext supervised");
		const char *path = tu_path(models[i].name);
		wn_ft *m = open_ok(path);
		cr_expect(!wn_ft_is_quantized(m));
		compare_cli(m, path, &L, 400, -1, "");
		wn_ft_free(m);
	}
	/* the softmax model quantized: pruned buckets, norms, dsub 2 */
	snprintf(cmd, sizeof cmd,
		 "fasttext quantize -input %s -output %s/softmax -cutoff 3000 -qnorm -dsub 2 "
		 "-thread 1 -verbose 0 >/dev/null",
		 train, tu_dir);
	run(cmd, "fasttext quantize");
	const char *path = tu_path("softmax.ftz");
	wn_ft *m = open_ok(path);
	cr_expect(wn_ft_is_quantized(m));
	compare_cli(m, path, &L, 400, -1, "");
	compare_cli(m, path, &L, 400, 2, "0.2");
	wn_ft_free(m);
	lines_free(&L);
}
