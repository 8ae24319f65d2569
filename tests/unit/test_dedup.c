/* test_dedup.c - dedup/: normalisation, shingles, MinHash, LSH parameters,
 * union-find, record sorting and the intermediate files, each against a
 * brute-force or hand-written reference. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../../dedup/dedup.h"
#include "testutil.h"

static char *norm(const char *s)
{
	wn_buf b = WN_BUF_INIT;
	dd_normalize(s, strlen(s), &b);
	size_t n;
	char *r = wn_buf_detach(&b, &n);
	return r ? r : strdup("");
}

static void expect_norm(const char *in, const char *want)
{
	char *got = norm(in);
	cr_expect_str_eq(got, want, "normalise(\"%s\")", in);
	free(got);
}

Test(dedup_norm, case_accents_digits_punctuation_space)
{
	expect_norm("Hello, World!", "hello world");
	expect_norm("  Café   crème\tbrûlée\n", "cafe creme brulee");
	expect_norm("In 1984, 42 people", "in 0000 00 people");
	expect_norm("e-mail: a.b@c.de", "e mail a b c de");
	expect_norm("", "");
	expect_norm("!!! ... ???", "");
	/* compatibility forms: full-width letters and digits, ligatures */
	expect_norm("ＡＢＣ１２", "abc00");
	expect_norm("ﬁne", "fine");
	/* case folding beyond ASCII */
	expect_norm("ΣΟΦΙΑ Straße", "σοφια strasse");
	/* Arabic-Indic digits are digits */
	expect_norm("٣٤", "00");
	/* Chinese: punctuation becomes a separator, characters stay */
	expect_norm("你好，世界。", "你好 世界");
	/* invalid UTF-8 is a separator */
	expect_norm("ab\xff" "cd", "ab cd");
}

Test(dedup_norm, traditional_chinese_becomes_simplified)
{
	char err[300];
	cr_assert_eq(dd_norm_init(err, sizeof err), 0, "%s", err);
	/* the Analects in both scripts normalise to the same text */
	char *t = norm("學而時習之，不亦說乎？有朋自遠方來，不亦樂乎？");
	char *s = norm("学而时习之，不亦说乎？有朋自远方来，不亦乐乎？");
	cr_expect_str_eq(t, s);
	cr_expect_str_eq(s, "学而时习之 不亦说乎 有朋自远方来 不亦乐乎");
	free(t);
	free(s);
	/* compatibility ideographs first become unified ones, then fold */
	expect_norm("\xef\xa4\x80", "岂"); /* U+F900 -> U+8C48 豈 -> 岂 */
	/* a chain of the t2s tables is followed to its end (薴 -> 苧 -> 苎) */
	expect_norm("薴", "苎");
	/* simplified text is unchanged; kana lose their voicing marks as
	 * Latin letters lose their accents (NFKD, marks stripped) */
	expect_norm("ひらがな 汉字", "ひらかな 汉字");
}

static size_t shingles_of(dd_shingler *z, const char *s, const uint64_t **out)
{
	return dd_shingles(z, s, strlen(s), out);
}

Test(dedup_shingle, counts_and_tokens)
{
	dd_shingler *z = dd_shingler_new(5, 1);
	const uint64_t *h;
	cr_expect_eq(shingles_of(z, "", &h), 0);
	cr_expect_eq(shingles_of(z, " ,.; ", &h), 0);
	cr_expect_eq(shingles_of(z, "one", &h), 1);
	cr_expect_eq(shingles_of(z, "one two three four", &h), 1);
	cr_expect_eq(shingles_of(z, "one two three four five", &h), 1);
	cr_expect_eq(shingles_of(z, "one two three four five six seven", &h), 3);
	cr_expect_eq(dd_shingler_tokens(z), 7);
	/* each Han character is a token; a Latin word inside is one token */
	shingles_of(z, "我用Python写程序", &h);
	cr_expect_eq(dd_shingler_tokens(z), 6);
	shingles_of(z, "我们都是好朋友", &h);
	cr_expect_eq(dd_shingler_tokens(z), 7);
	/* kana too */
	shingles_of(z, "ひらがなカタカナ", &h);
	cr_expect_eq(dd_shingler_tokens(z), 8);
	dd_shingler_free(z);
}

Test(dedup_shingle, normalisation_makes_equal_shingles)
{
	dd_shingler *a = dd_shingler_new(5, 1), *b = dd_shingler_new(5, 1);
	const uint64_t *ha, *hb;
	const char *x = "The quick brown fox jumps over the lazy dog in 2023.";
	const char *y = "the QUICK  brown fox -- jumps over the lazy dog, in 1999!";
	size_t na = shingles_of(a, x, &ha), nb = shingles_of(b, y, &hb);
	cr_assert_eq(na, nb);
	cr_expect_eq(memcmp(ha, hb, na * 8), 0);
	/* a different word changes the five shingles that hold it */
	nb = shingles_of(b, "The quick brown cat jumps over the lazy dog in 2023.", &hb);
	int diff = 0;
	for (size_t i = 0; i < na; i++) diff += ha[i] != hb[i];
	cr_expect_eq(diff, 4); /* "fox" is the 4th of 10 tokens: shingles 0..3 */
	/* another seed, other hashes */
	dd_shingler *c = dd_shingler_new(5, 2);
	const uint64_t *hc;
	shingles_of(c, x, &hc);
	cr_expect_neq(ha[0], hc[0]);
	dd_shingler_free(a);
	dd_shingler_free(b);
	dd_shingler_free(c);
}

Test(dedup_shingle, set_is_sorted_distinct_and_jaccard_matches_brute_force)
{
	dd_shingler *a = dd_shingler_new(2, 1), *b = dd_shingler_new(2, 1);
	const uint64_t *h;
	const uint32_t *sa, *sb;
	shingles_of(a, "a b a b a b c d", &h);
	size_t na = dd_shingle_set(a, &sa);
	/* bigrams: ab ba ab ba ab bc cd -> {ab, ba, bc, cd} */
	cr_expect_eq(na, 4);
	for (size_t i = 1; i < na; i++) cr_expect_lt(sa[i - 1], sa[i]);
	shingles_of(b, "a b c d e f", &h);
	size_t nb = dd_shingle_set(b, &sb);
	/* {ab bc cd de ef}: common ab bc cd = 3, union 6 */
	cr_expect_float_eq(dd_jaccard(sa, na, sb, nb), 0.5, 1e-12);
	cr_expect_float_eq(dd_jaccard(sa, 0, sb, 0), 1.0, 1e-12);
	cr_expect_float_eq(dd_jaccard(sa, na, sb, 0), 0.0, 1e-12);
	dd_shingler_free(a);
	dd_shingler_free(b);

	tu_rng r = { 11 };
	for (int it = 0; it < 200; it++) {
		uint32_t x[64], y[64];
		size_t nx = 0, ny = 0;
		for (uint32_t v = 0; v < 100; v++) {
			if (tu_below(&r, 3) == 0 && nx < 64) x[nx++] = v;
			if (tu_below(&r, 3) == 0 && ny < 64) y[ny++] = v;
		}
		size_t in = 0, un = 0;
		for (uint32_t v = 0; v < 100; v++) {
			int ix = 0, iy = 0;
			for (size_t i = 0; i < nx; i++) ix |= x[i] == v;
			for (size_t i = 0; i < ny; i++) iy |= y[i] == v;
			in += ix && iy;
			un += ix || iy;
		}
		double want = un ? (double)in / (double)un : 1.0;
		cr_assert_float_eq(dd_jaccard(x, nx, y, ny), want, 1e-12);
	}
}

Test(dedup_minhash, kernel_equals_the_formula)
{
	dd_minhash *m = dd_minhash_new(14, 8, 7);
	cr_assert(m);
	tu_rng r = { 5 };
	uint64_t sh[333];
	for (size_t i = 0; i < 333; i++) sh[i] = tu_next(&r);
	uint32_t sig[112];
	/* every length through the vector loop's tails */
	for (size_t n = 0; n <= 333; n += (n < 40 ? 1 : 37)) {
		dd_minhash_sig(m, sh, n, sig);
		/* the permutations of the module are not exported: compare
		 * with the minimum over shingles of each row's own value,
		 * found by testing that the minimum is attained and is a
		 * lower bound, through single-shingle signatures */
		uint32_t one[112];
		uint32_t want[112];
		for (int k = 0; k < 112; k++) want[k] = UINT32_MAX;
		for (size_t i = 0; i < n; i++) {
			dd_minhash_sig(m, &sh[i], 1, one);
			for (int k = 0; k < 112; k++)
				if (one[k] < want[k]) want[k] = one[k];
		}
		cr_assert_eq(memcmp(sig, want, sizeof sig), 0, "n=%zu", n);
	}
	dd_minhash_free(m);
	cr_expect_null(dd_minhash_new(0, 8, 1));
	cr_expect_null(dd_minhash_new(100, 100, 1));
}

Test(dedup_minhash, order_and_repeats_do_not_matter)
{
	dd_minhash *m = dd_minhash_new(4, 4, 1);
	uint64_t a[] = { 1, 2, 3, 4, 5 }, b[] = { 5, 3, 3, 1, 2, 4, 1 };
	uint32_t sa[16], sb[16];
	dd_minhash_sig(m, a, 5, sa);
	dd_minhash_sig(m, b, 7, sb);
	cr_expect_eq(memcmp(sa, sb, sizeof sa), 0);
	uint64_t key_a[2], key_b[2];
	for (int band = 0; band < 4; band++) {
		dd_band_key(m, sa, band, key_a);
		dd_band_key(m, sb, band, key_b);
		cr_expect(key_a[0] == key_b[0] && key_a[1] == key_b[1]);
	}
	dd_minhash_free(m);
}

/* The share of equal signature rows estimates the Jaccard similarity. */
Test(dedup_minhash, agreement_estimates_jaccard)
{
	dd_minhash *m = dd_minhash_new(64, 16, 3); /* 1024 permutations */
	uint32_t *sa = malloc(1024 * 4), *sb = malloc(1024 * 4);
	tu_rng r = { 9 };
	double targets[] = { 0.1, 0.3, 0.5, 0.8, 0.95 };
	for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
		/* |A n B| = c, |A u B| = 1000 */
		size_t c = (size_t)(targets[t] * 1000), only = (1000 - c) / 2;
		uint64_t *a = malloc(sizeof *a * 1000), *b = malloc(sizeof *b * 1000);
		size_t na = 0, nb = 0;
		for (size_t i = 0; i < c; i++) { uint64_t v = tu_next(&r); a[na++] = v; b[nb++] = v; }
		for (size_t i = 0; i < only; i++) a[na++] = tu_next(&r);
		for (size_t i = 0; i < 1000 - c - only; i++) b[nb++] = tu_next(&r);
		dd_minhash_sig(m, a, na, sa);
		dd_minhash_sig(m, b, nb, sb);
		int eq = 0;
		for (int k = 0; k < 1024; k++) eq += sa[k] == sb[k];
		double est = eq / 1024.0, j = (double)c / 1000.0;
		/* standard deviation sqrt(j(1-j)/1024) <= 0.016: allow 4 of them */
		cr_expect(fabs(est - j) < 0.065, "J=%.2f estimated %.3f", j, est);
		free(a);
		free(b);
	}
	free(sa);
	free(sb);
	dd_minhash_free(m);
}

Test(dedup_minhash, naive_signature_estimates_the_same)
{
	/* the baseline of the bench uses other permutations; both estimate J */
	uint64_t a[400], b[400];
	tu_rng r = { 21 };
	for (int i = 0; i < 400; i++) a[i] = b[i] = tu_next(&r);
	for (int i = 0; i < 100; i++) b[i] = tu_next(&r); /* J = 300/500 */
	uint32_t sa[512], sb[512];
	dd_minhash_sig_naive(512, 1, a, 400, sa);
	dd_minhash_sig_naive(512, 1, b, 400, sb);
	int eq = 0;
	for (int k = 0; k < 512; k++) eq += sa[k] == sb[k];
	cr_expect(fabs(eq / 512.0 - 0.6) < 0.09, "%d of 512", eq);
}

Test(dedup_lsh, probability_and_choice)
{
	/* datatrove's 14 x 8: about 0.92 at s = 0.8 */
	cr_expect_float_eq(dd_lsh_prob(0.8, 14, 8), 1 - pow(1 - pow(0.8, 8), 14), 1e-12);
	cr_expect(fabs(dd_lsh_prob(0.8, 14, 8) - 0.924) < 0.002);
	cr_expect_float_eq(dd_lsh_prob(0, 14, 8), 0, 1e-12);
	cr_expect_float_eq(dd_lsh_prob(1, 14, 8), 1, 1e-12);
	/* the choice minimises the error areas: no (b, r) within 112 does
	 * better, checked by a plain Riemann sum */
	int b, r;
	dd_lsh_choose(0.8, 112, 0.5, 0.5, &b, &r);
	cr_expect_leq(b * r, 112);
	double best = 0, e;
	for (int pass = 0; pass < 2; pass++)
		for (int bb = 1; bb <= 112; bb++)
			for (int rr = 1; bb * rr <= 112; rr++) {
				if (pass == 0 && !(bb == b && rr == r)) continue;
				e = 0;
				for (int i = 0; i < 4000; i++) {
					double s = (i + 0.5) / 4000;
					double p = dd_lsh_prob(s, bb, rr);
					e += (s < 0.8 ? p : 1 - p) / 4000 * 0.5;
				}
				if (pass == 0) best = e;
				else cr_expect_geq(e, best - 1e-4, "%dx%d beats %dx%d", bb, rr, b, r);
			}
	/* the S-curve is steepest near the threshold */
	cr_expect_lt(dd_lsh_prob(0.6, b, r), 0.5);
	cr_expect_gt(dd_lsh_prob(0.9, b, r), 0.5);
}

/* connected components by brute force */
static uint64_t comp_min(int n, int (*adj)[2], int nadj, int x, int *seen)
{
	int stack[512], sp = 0, m = x;
	memset(seen, 0, sizeof(int) * (size_t)n);
	stack[sp++] = x;
	seen[x] = 1;
	while (sp) {
		int v = stack[--sp];
		if (v < m) m = v;
		for (int e = 0; e < nadj; e++) {
			int w = adj[e][0] == v ? adj[e][1] : adj[e][1] == v ? adj[e][0] : -1;
			if (w >= 0 && !seen[w]) { seen[w] = 1; stack[sp++] = w; }
		}
	}
	return (uint64_t)m;
}

Test(dedup_uf, roots_are_the_first_member)
{
	tu_rng r = { 4 };
	for (int it = 0; it < 50; it++) {
		int n = 200, nadj = (int)tu_below(&r, 150);
		int adj[150][2];
		dd_uf u;
		cr_assert_eq(dd_uf_init(&u, (uint64_t)n, 0), 0);
		for (int e = 0; e < nadj; e++) {
			adj[e][0] = (int)tu_below(&r, (uint64_t)n);
			adj[e][1] = (int)tu_below(&r, (uint64_t)n);
			dd_uf_union(&u, (uint64_t)adj[e][0], (uint64_t)adj[e][1]);
		}
		int seen[200];
		for (int x = 0; x < n; x++)
			cr_assert_eq(dd_uf_find(&u, (uint64_t)x), comp_min(n, adj, nadj, x, seen));
		dd_uf_release(&u);
	}
}

Test(dedup_uf, values_choose_the_root)
{
	dd_uf u;
	cr_assert_eq(dd_uf_init(&u, 5, 1), 0);
	double v[5] = { 1, 7, 7, 3, -INFINITY };
	memcpy(u.value, v, sizeof v);
	cr_expect_eq(dd_uf_union(&u, 0, 4), 1);
	cr_expect_eq(dd_uf_find(&u, 4), 0);
	dd_uf_union(&u, 3, 2);
	dd_uf_union(&u, 2, 0);
	dd_uf_union(&u, 1, 3);
	cr_expect_eq(dd_uf_union(&u, 1, 0), 0);
	/* 1 and 2 tie at 7: the first wins */
	for (uint64_t x = 0; x < 5; x++) cr_expect_eq(dd_uf_find(&u, x), 1);
	dd_uf_release(&u);
}

static int rec_cmp_q(const void *a, const void *b) { return dd_rec_cmp(a, b); }

Test(dedup_sort, records_sort_like_qsort)
{
	tu_rng r = { 8 };
	size_t sizes[] = { 0, 1, 5, 100, 5000, 200000 };
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		size_t n = sizes[s];
		dd_rec *a = malloc(sizeof *a * (n + 1)), *b = malloc(sizeof *b * (n + 1));
		for (size_t i = 0; i < n; i++) {
			/* many equal keys too */
			uint64_t k = tu_below(&r, 4) ? tu_next(&r) : (uint64_t)tu_below(&r, 50) << 50;
			a[i].k0 = k;
			a[i].k1 = k & 1 ? tu_below(&r, 3) : 0;
			a[i].doc = tu_below(&r, 1000);
		}
		memcpy(b, a, sizeof *a * n);
		dd_rec_sort(a, n);
		qsort(b, n, sizeof *b, rec_cmp_q);
		cr_assert_eq(n ? memcmp(a, b, sizeof *a * n) : 0, 0, "n=%zu", n);
		free(a);
		free(b);
	}
	dd_unit u[] = { { 5, 1 }, { 3, 2 }, { 5, 4 }, { 1, 1 }, { 3, 1 } };
	dd_unit_sort(u, 5);
	size_t k = dd_unit_compact(u, 5);
	cr_assert_eq(k, 3);
	cr_expect(u[0].hash == 1 && u[0].count == 1);
	cr_expect(u[1].hash == 3 && u[1].count == 3);
	cr_expect(u[2].hash == 5 && u[2].count == 5);
}

/* ---- intermediate files ---- */

static char *write_sample(const char *name, const char *params, uint64_t n)
{
	const char *d = tu_dir[0] ? tu_dir : tu_mkdtemp();
	char *path = malloc(512);
	snprintf(path, 512, "%s/%s", d, name);
	dd_hdr h;
	memset(&h, 0, sizeof h);
	h.kind = DD_KIND_PAIRS;
	h.index = 3;
	h.ninputs = 9;
	snprintf(h.params, sizeof h.params, "%s", params);
	dd_writer *w;
	char err[256];
	cr_assert_eq(dd_writer_open(&w, path, &h, err, sizeof err), 0, "%s", err);
	cr_assert_eq(dd_writer_begin(w, 1, 0), 0);
	cr_assert_eq(dd_writer_add(w, "name", 4), 0);
	cr_assert_eq(dd_writer_end(w), 0);
	cr_assert_eq(dd_writer_begin(w, 2, sizeof(uint64_t)), 0);
	for (uint64_t i = 0; i < n; i++) cr_assert_eq(dd_writer_add(w, &i, sizeof i), 0);
	cr_assert_eq(dd_writer_end(w), 0);
	dd_writer_hdr(w)->ndocs = n;
	cr_assert_eq(dd_writer_commit(w, err, sizeof err), 0, "%s", err);
	return path;
}

Test(dedup_file, round_trip)
{
	char *p = write_sample("ok.wdd", "mode=x", 100000);
	dd_file f;
	char err[512];
	cr_assert_eq(dd_file_open(&f, p, DD_KIND_PAIRS, "mode=x", err, sizeof err), 0, "%s", err);
	cr_expect_eq(f.h.index, 3);
	cr_expect_eq(f.h.ninputs, 9);
	cr_expect_eq(f.h.ndocs, 100000);
	const void *d;
	uint64_t n;
	cr_assert_eq(dd_file_sect(&f, 2, &d, &n, 0, err, sizeof err), 0, "%s", err);
	cr_assert_eq(n, 100000);
	const uint64_t *v = d;
	for (uint64_t i = 0; i < n; i++) cr_assert_eq(v[i], i);
	cr_assert_eq(dd_file_sect(&f, 1, &d, &n, 0, err, sizeof err), 0);
	cr_expect_eq(n, 4);
	cr_expect_eq(memcmp(d, "name", 4), 0);
	cr_expect_neq(dd_file_sect(&f, 7, &d, &n, 0, err, sizeof err), 0);
	cr_expect_eq(dd_file_sect(&f, 7, &d, &n, 1, err, sizeof err), 0);
	cr_expect_null(d);
	dd_file_close(&f);
	free(p);
	tu_rmdir();
}

static void expect_refused(const char *path, uint32_t kind, const char *params, const char *words)
{
	dd_file f;
	char err[512] = "";
	int rc = dd_file_open(&f, path, kind, params, err, sizeof err);
	if (!rc) {
		const void *d;
		uint64_t n;
		for (uint32_t s = 0; s < f.h.nsect && !rc; s++)
			rc = dd_file_sect(&f, f.h.sect[s].id, &d, &n, 0, err, sizeof err);
		dd_file_close(&f);
	}
	cr_expect_neq(rc, 0, "%s was accepted", path);
	cr_expect(strstr(err, words) != NULL, "message '%s' lacks '%s'", err, words);
	cr_expect(strstr(err, path) != NULL, "message '%s' does not name the file", err);
}

Test(dedup_file, bad_files_are_refused_with_their_name)
{
	char *p = write_sample("bad.wdd", "mode=x", 5000);
	char err[512];
	expect_refused(p, DD_KIND_SIG, NULL, "expected a signature file");
	expect_refused(p, DD_KIND_PAIRS, "mode=y", "other parameters");
	/* a flipped byte in the data */
	FILE *f = fopen(p, "r+b");
	fseek(f, 2048 + 64 + 100, SEEK_SET);
	int c = fgetc(f);
	fseek(f, 2048 + 64 + 100, SEEK_SET);
	fputc(c ^ 1, f);
	fclose(f);
	expect_refused(p, DD_KIND_PAIRS, NULL, "checksum");
	/* a flipped byte in the header */
	free(write_sample("bad.wdd", "mode=x", 5000));
	f = fopen(p, "r+b");
	fseek(f, 40, SEEK_SET);
	fputc(0x55, f);
	fclose(f);
	expect_refused(p, DD_KIND_PAIRS, NULL, "corrupt header");
	/* truncated */
	free(write_sample("bad.wdd", "mode=x", 5000));
	cr_assert_eq(truncate(p, 30000), 0);
	expect_refused(p, DD_KIND_PAIRS, NULL, "truncated");
	cr_assert_eq(truncate(p, 100), 0);
	expect_refused(p, DD_KIND_PAIRS, NULL, "truncated");
	/* not ours */
	f = fopen(p, "wb");
	for (int i = 0; i < 4096; i++) fputc('x', f);
	fclose(f);
	expect_refused(p, DD_KIND_PAIRS, NULL, "not a winnow dedup file");
	/* missing */
	char missing[600];
	snprintf(missing, sizeof missing, "%s/none.wdd", tu_dir);
	expect_refused(missing, DD_KIND_PAIRS, NULL, "missing");
	(void)err;
	free(p);
	tu_rmdir();
}

Test(dedup_file, an_aborted_writer_leaves_nothing)
{
	const char *d = tu_mkdtemp();
	char path[512];
	snprintf(path, sizeof path, "%s/x.wdd", d);
	dd_hdr h;
	memset(&h, 0, sizeof h);
	h.kind = DD_KIND_SIG;
	dd_writer *w;
	char err[256];
	cr_assert_eq(dd_writer_open(&w, path, &h, err, sizeof err), 0);
	dd_writer_begin(w, 1, 0);
	dd_writer_add(w, "abc", 3);
	dd_writer_abort(w);
	int files = 0;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", d);
	FILE *p = popen(cmd, "r");
	cr_assert(fscanf(p, "%d", &files) == 1);
	pclose(p);
	cr_expect_eq(files, 0);
	tu_rmdir();
}
