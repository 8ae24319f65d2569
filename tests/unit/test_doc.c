/*
 * test_doc.c - lib/doc.c: the JSONL document parser, edits and writer,
 * JSON string escaping and the UTF-8 helpers.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/doc.h"
#include "../../lib/err.h"
#include "testutil.h"

static wn_doc D;
static wn_buf OUT;

static void setup(void)
{
	wn_doc_init(&D);
	wn_buf_init(&OUT, 0);
}

static void teardown(void)
{
	wn_doc_release(&D);
	wn_buf_release(&OUT);
}

TestSuite(doc, .init = setup, .fini = teardown);
TestSuite(doc_edit, .init = setup, .fini = teardown);
TestSuite(doc_utf8, .init = setup, .fini = teardown);
TestSuite(doc_random, .init = setup, .fini = teardown);

static int parse(const char *s) { return wn_doc_parse(&D, s, strlen(s), NULL); }
static int parse_n(const char *s, size_t n) { return wn_doc_parse(&D, s, n, NULL); }

/* Parse `line` with a private doc and check that text decodes to (want, wn). */
static void expect_text(const char *line, size_t len, const char *want, size_t wn)
{
	wn_doc d;
	wn_doc_init(&d);
	if (!len) len = strlen(line);
	int rc = wn_doc_parse(&d, line, len, NULL);
	cr_expect_eq(rc, 0, "parse of %.*s: rc %d (%s)", (int)len, line, rc, d.err);
	if (!rc) {
		cr_expect_eq(d.has_text, 1, "has_text for %.*s", (int)len, line);
		cr_expect_eq(d.text.len, wn, "decoded length %zu, want %zu for %.*s", d.text.len, wn,
			     (int)len, line);
		if (d.text.len == wn)
			cr_expect_eq(memcmp(d.text.data, want, wn), 0, "decoded bytes of %.*s",
				     (int)len, line);
	}
	wn_doc_release(&d);
}

/* ---------------------------------------------------------------- pass-through */

Test(doc, passthrough_exact_bytes)
{
	const char *lines[] = {
		"{\"text\":\"hello\"}",
		"{\"id\": 7, \"x\" :  [1, {\"y\":null}] , \"text\":\"hi\",\"z\":true,\"meta\":{\"a\":[]}}",
		"  {  \"a\" :  1 ,\"b\":\"\\u00e9\\n\", \"c\":-0.5e-3 }  ",
		"{}",
		"{\"text\":\"\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\",\"unknown\":{\"deep\":[[[\"x\"]]]}}",
		"{\"dup\":1,\"dup\":2}",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		cr_assert_eq(parse(lines[i]), 0, "line %zu: %s", i, D.err);
		wn_buf_reset(&OUT);
		wn_doc_write(&D, &OUT);
		cr_assert_eq(OUT.len, strlen(lines[i]), "line %zu", i);
		cr_assert_eq(memcmp(OUT.data, lines[i], OUT.len), 0, "line %zu: got %s", i, OUT.data);
	}
}

Test(doc, members_spans_and_types)
{
	const char *line = "{\"a\" :  1,\"s\":\"x\",\"n\":null,\"b\":false,\"arr\":[1,2],\"o\":{\"k\":1}}";
	cr_assert_eq(parse(line), 0);
	cr_assert_eq(D.nm, 6);
	const char *keys[] = { "a", "s", "n", "b", "arr", "o" };
	int types[] = { WN_J_NUM, WN_J_STR, WN_J_NULL, WN_J_BOOL, WN_J_ARR, WN_J_OBJ };
	const char *vals[] = { "1", "\"x\"", "null", "false", "[1,2]", "{\"k\":1}" };
	for (int i = 0; i < 6; i++) {
		const wn_member *m = &D.m[i];
		cr_expect_eq(m->klen, strlen(keys[i]));
		cr_expect_eq(memcmp(m->key, keys[i], m->klen), 0, "key %d", i);
		cr_expect_eq(m->type, types[i], "type of %s", keys[i]);
		cr_expect_eq(m->vlen, strlen(vals[i]), "vlen of %s", keys[i]);
		cr_expect_eq(memcmp(m->val, vals[i], m->vlen), 0, "val of %s", keys[i]);
		cr_expect_eq(m->span, m->key - 1);
		cr_expect_eq(m->span + m->slen, m->val + m->vlen);
	}
	cr_expect_eq(D.m[0].slen, strlen("\"a\" :  1"));
	const wn_member *g = wn_doc_get(&D, "arr");
	cr_assert_not_null(g);
	cr_expect_eq(g, &D.m[4]);
	cr_expect_null(wn_doc_get(&D, "missing"));
	cr_expect_null(wn_doc_get(&D, "ar"));
}

/* ---------------------------------------------------------------- escapes */

Test(doc, all_simple_escapes)
{
	const char *line = "{\"text\":\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\tu\\u0041\\u00e9\\u4e2d\\uFFFD\"}";
	const char want[] = "q\"b\\s/b\bf\fn\nr\rt\tuA\xc3\xa9\xe4\xb8\xad\xef\xbf\xbd";
	expect_text(line, strlen(line), want, sizeof want - 1);
}

Test(doc, escapes_in_long_strings)
{
	/* the same escapes after prefixes of every length, so that they fall at
	 * every position of a 16-byte block */
	for (int pre = 0; pre < 40; pre++) {
		char line[256], want[256];
		int n = snprintf(line, sizeof line, "{\"text\":\"%.*s\\n\\u00e9\\ud83d\\ude00%.*s\"}", pre,
				 "0123456789012345678901234567890123456789", 17,
				 "abcdefghijklmnopqrstuvwxyz");
		int w = snprintf(want, sizeof want, "%.*s\n\xc3\xa9\xf0\x9f\x98\x80%.*s", pre,
				 "0123456789012345678901234567890123456789", 17,
				 "abcdefghijklmnopqrstuvwxyz");
		expect_text(line, (size_t)n, want, (size_t)w);
	}
}

Test(doc, surrogate_pairs)
{
	expect_text("{\"text\":\"\\ud83d\\ude00\"}", 0, "\xf0\x9f\x98\x80", 4);
	expect_text("{\"text\":\"\\uD83D\\uDE00\"}", 0, "\xf0\x9f\x98\x80", 4);
	/* U+10000 and U+10FFFF: the ends of the astral range */
	expect_text("{\"text\":\"\\ud800\\udc00\"}", 0, "\xf0\x90\x80\x80", 4);
	expect_text("{\"text\":\"\\udbff\\udfff\"}", 0, "\xf4\x8f\xbf\xbf", 4);
	/* U+FFFF, U+0800, U+07FF, U+0080, U+007F: length boundaries */
	expect_text("{\"text\":\"\\uffff\\u0800\\u07ff\\u0080\\u007f\"}", 0,
		    "\xef\xbf\xbf\xe0\xa0\x80\xdf\xbf\xc2\x80\x7f", 11);
}

Test(doc, escaped_nul_is_kept)
{
	const char *line = "{\"text\":\"a\\u0000b\\u0000\"}";
	cr_assert_eq(parse(line), 0);
	cr_assert_eq(D.has_text, 1);
	cr_assert_eq(D.text.len, 4);
	cr_assert_eq(memcmp(D.text.data, "a\0b\0", 4), 0);
	/* and the id field as well */
	const char *l2 = "{\"id\":\"\\u0000\",\"text\":\"\"}";
	cr_assert_eq(parse(l2), 0);
	cr_assert_eq(D.has_id, 1);
	cr_assert_eq(D.id.len, 1);
	cr_assert_eq(D.id.data[0], 0);
	cr_assert_eq(D.has_text, 1);
	cr_assert_eq(D.text.len, 0);
}

Test(doc, lone_surrogates_are_eutf8)
{
	const char *bad[] = {
		"{\"text\":\"\\ud83d\"}",          /* high at the end */
		"{\"text\":\"\\ud83dx\"}",         /* high then a char */
		"{\"text\":\"\\ud83d\\u0041\"}",   /* high then a non-surrogate escape */
		"{\"text\":\"\\ud83d\\ud83d\"}",   /* high then high */
		"{\"text\":\"\\ud83d\\ue000\"}",   /* high then above the low range */
		"{\"text\":\"\\ud83d\\uffff\"}",
		"{\"text\":\"\\ud83d\\n\"}",       /* high then another escape */
		"{\"text\":\"\\ude00\"}",          /* lone low */
		"{\"text\":\"\\ude00\\ud83d\"}",   /* pair in the wrong order */
		"{\"text\":\"\\udfff\"}",
		"{\"text\":\"\\ud800\"}",
		"{\"other\":\"\\ud800\",\"text\":\"ok\"}", /* in a field not decoded */
		"{\"\\udc00\":1}",                 /* in a key */
		"{\"a\":[\"\\ud800\"]}",           /* nested */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i]), WN_EUTF8, "case %zu: %s", i, bad[i]);
}

Test(doc, bad_escapes_are_ejson)
{
	const char *bad[] = {
		"{\"text\":\"\\x41\"}",
		"{\"text\":\"\\u12G4\"}",
		"{\"text\":\"\\u12\"}",
		"{\"text\":\"\\U0041\"}",
		"{\"text\":\"\\'\"}",
		"{\"text\":\"\\a\"}",
		"{\"text\":\"\\0\"}",
		"{\"text\":\"abc\\",
		"{\"text\":\"abc",
		"{\"text\":\"\\u",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i]), WN_EJSON, "case %zu: %s", i, bad[i]);
}

/* ---------------------------------------------------------------- UTF-8 in strings */

static const struct { const char *b; size_t n; const char *what; } bad_utf8[] = {
	{ "\xc0\x80", 2, "overlong NUL C0 80" },
	{ "\xc1\xbf", 2, "overlong C1 BF" },
	{ "\xe0\x80\x80", 3, "overlong E0 80 80" },
	{ "\xe0\x9f\xbf", 3, "overlong E0 9F BF" },
	{ "\xf0\x80\x80\x80", 4, "overlong F0 80 80 80" },
	{ "\xf0\x8f\xbf\xbf", 4, "overlong F0 8F BF BF" },
	{ "\xed\xa0\x80", 3, "surrogate ED A0 80" },
	{ "\xed\xbf\xbf", 3, "surrogate ED BF BF" },
	{ "\xf4\x90\x80\x80", 4, "above U+10FFFF F4 90 80 80" },
	{ "\xf5\x80\x80\x80", 4, "F5 lead" },
	{ "\xff", 1, "FF" },
	{ "\xfe", 1, "FE" },
	{ "\x80", 1, "stray continuation 80" },
	{ "\xbf", 1, "stray continuation BF" },
	{ "a\x80z", 3, "stray continuation between ASCII" },
	{ "\xc3", 1, "truncated 2-byte" },
	{ "\xe4\xb8", 2, "truncated 3-byte" },
	{ "\xf0\x9f\x98", 3, "truncated 4-byte" },
	{ "\xe4\xb8z", 3, "3-byte cut by ASCII" },
	{ "\xc3\xa9\xa9", 3, "extra continuation" },
	{ "\xf0\x9f\x98\x80\x80", 5, "extra continuation after 4-byte" },
};

Test(doc_utf8, invalid_utf8_in_strings)
{
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		/* at every offset modulo 16, and in text, in another field, in a key */
		for (int pre = 0; pre < 34; pre++) {
			char line[256];
			const char *filler = "abcdefghijklmnopqrstuvwxyz0123456789";
			int n = snprintf(line, sizeof line, "{\"text\":\"%.*s", pre, filler);
			memcpy(line + n, bad_utf8[i].b, bad_utf8[i].n);
			n += (int)bad_utf8[i].n;
			n += snprintf(line + n, sizeof line - (size_t)n, "%s\"}", "tail-tail-tail-tail");
			cr_expect_eq(parse_n(line, (size_t)n), WN_EUTF8, "%s at %d in text",
				     bad_utf8[i].what, pre);

			n = snprintf(line, sizeof line, "{\"x\":[\"%.*s", pre, filler);
			memcpy(line + n, bad_utf8[i].b, bad_utf8[i].n);
			n += (int)bad_utf8[i].n;
			n += snprintf(line + n, sizeof line - (size_t)n, "\"],\"text\":\"ok\"}");
			cr_expect_eq(parse_n(line, (size_t)n), WN_EUTF8, "%s at %d in array",
				     bad_utf8[i].what, pre);
		}
		char line[64];
		int n = snprintf(line, sizeof line, "{\"k");
		memcpy(line + n, bad_utf8[i].b, bad_utf8[i].n);
		n += (int)bad_utf8[i].n;
		n += snprintf(line + n, sizeof line - (size_t)n, "\":1}");
		cr_expect_eq(parse_n(line, (size_t)n), WN_EUTF8, "%s in a key", bad_utf8[i].what);
	}
}

Test(doc_utf8, valid_utf8_in_strings)
{
	const char *good[] = {
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\x7f",
		"\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		for (int pre = 0; pre < 20; pre++) {
			char line[128], want[64];
			int w = snprintf(want, sizeof want, "%.*s%sxyz", pre, "01234567890123456789",
					 good[i]);
			int n = snprintf(line, sizeof line, "{\"text\":\"%s\"}", want);
			expect_text(line, (size_t)n, want, (size_t)w);
		}
}

Test(doc_utf8, raw_control_chars_are_ejson)
{
	for (int c = 0; c < 0x20; c++) {
		for (int pre = 0; pre < 20; pre += 3) {
			char line[64];
			int n = snprintf(line, sizeof line, "{\"text\":\"%.*s", pre, "abcdefghijklmnopqrstu");
			line[n++] = (char)c;
			n += snprintf(line + n, sizeof line - (size_t)n, "xyz\"}");
			cr_expect_eq(parse_n(line, (size_t)n), WN_EJSON, "raw 0x%02x at %d", c, pre);
		}
		/* in a key too */
		char k[16];
		int n = snprintf(k, sizeof k, "{\"a");
		k[n++] = (char)c;
		n += snprintf(k + n, sizeof k - (size_t)n, "\":1}");
		cr_expect_eq(parse_n(k, (size_t)n), WN_EJSON, "raw 0x%02x in key", c);
	}
	/* DEL is not a control character for JSON */
	cr_expect_eq(parse("{\"text\":\"a\x7f\"}"), 0);
}

Test(doc, error_offset_points_at_the_problem)
{
	const char *line = "{\"text\":\"ab\x01\"}";
	cr_assert_eq(parse(line), WN_EJSON);
	cr_expect_eq(D.err_off, 11);
	cr_expect_neq(D.err[0], 0, "an error message is set");
	cr_assert_eq(parse("{\"text\":\"0123456789abcdefghij\xff\"}"), WN_EUTF8);
	cr_expect_eq(D.err_off, 29);
	/* a good parse clears the message */
	cr_assert_eq(parse("{}"), 0);
	cr_expect_eq(D.err[0], 0);
}

/* ---------------------------------------------------------------- grammar */

Test(doc, numbers)
{
	const char *good[] = { "0", "-0", "1", "-1", "10", "1.5", "-0.0", "1e5", "1E5", "1e+5",
			       "1e-5", "-12.34e+56", "0.0001", "123456789012345678901234567890" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char line[96];
		snprintf(line, sizeof line, "{\"n\":%s,\"m\":[%s]}", good[i], good[i]);
		cr_expect_eq(parse(line), 0, "%s", line);
		if (D.nm == 2) {
			cr_expect_eq(D.m[0].type, WN_J_NUM);
			cr_expect_eq(D.m[0].vlen, strlen(good[i]));
		}
	}
	const char *bad[] = { "01", "-01", "00", "1.", "-", "1e", "1e+", "1E-", ".5", "+1",
			      "-.5", "1.e5", "0x10", "NaN", "Infinity", "-Infinity", "1..2",
			      "1e5.5", "--1", "1-", "0.", "1ee5" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char line[96];
		snprintf(line, sizeof line, "{\"n\":%s}", bad[i]);
		cr_expect_eq(parse(line), WN_EJSON, "%s", line);
		snprintf(line, sizeof line, "{\"n\":[%s]}", bad[i]);
		cr_expect_eq(parse(line), WN_EJSON, "%s", line);
	}
}

Test(doc, trailing_garbage)
{
	const char *bad[] = {
		"{\"a\":1}x", "{\"a\":1}}", "{\"a\":1} {\"b\":2}", "{\"a\":1},", "{}{}", "{\"a\":1}\x01",
		"{\"a\":1} \"x\"", "{\"a\":1}\0",
	};
	size_t lens[] = { 8, 8, 15, 8, 4, 8, 11, 8 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse_n(bad[i], lens[i]), WN_EJSON, "case %zu: %s", i, bad[i]);
	/* trailing whitespace (also a stray \r) is fine */
	cr_expect_eq(parse("{\"a\":1}  \t\r"), 0);
	cr_expect_eq(parse(" \t{\"a\":1}"), 0);
}

Test(doc, grammar_errors)
{
	const char *bad[] = {
		"{", "}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{,\"a\":1}",
		"{'a':1}", "{a:1}", "{\"a\":1 \"b\":2}", "{\"a\":[1,]}", "{\"a\":[,1]}",
		"{\"a\":[1 2]}", "{\"a\":{\"b\":1,}}", "{\"a\":{\"b\"}}", "{\"a\":[1,2}",
		"{\"a\":{\"b\":1]}", "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":falsey}",
		"{\"a\":undefined}", "{\"a\":'x'}", "{\"a\":1", "{\"a\":[", "{\"a\":{",
		"{\"a\":\"x\"", "{\"a\":1}]", "{\"a\" : [1,2,3]", "{\"a\":/*c*/1}",
		"{\"a\":\"\"\"}", "{\"a\":1,\"b\"::2}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i]), WN_EJSON, "case %zu: %s", i, bad[i]);
}

Test(doc, nested_values)
{
	const char *line =
		"{\"a\":[[1,2,{\"b\":[{},[],\"s\",true,false,null,-1.5e3]}],[]],"
		"\"c\":{\"d\":{\"e\":\"f\",\"g\":[{\"h\":{\"i\":[[[[]]]]}}]}},"
		"\"text\":\"t\", \"z\" : { } , \"y\":[ ]}";
	cr_assert_eq(parse(line), 0, "%s", D.err);
	cr_assert_eq(D.nm, 5);
	cr_expect_eq(D.m[0].type, WN_J_ARR);
	cr_expect_eq(D.m[1].type, WN_J_OBJ);
	cr_expect_eq(D.m[3].type, WN_J_OBJ);
	cr_expect_eq(D.m[4].type, WN_J_ARR);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "t");
	/* keys of nested objects are not top-level members */
	cr_expect_null(wn_doc_get(&D, "b"));
	cr_expect_null(wn_doc_get(&D, "e"));
	/* a nested "text" is not the text */
	cr_assert_eq(parse("{\"x\":{\"text\":\"inner\"}}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, -1);
}

static char *deep(int n, int close)
{
	char *s = malloc((size_t)n * 2 + 32);
	size_t k = 0;
	k += (size_t)sprintf(s, "{\"a\":");
	for (int i = 0; i < n; i++) s[k++] = '[';
	if (close)
		for (int i = 0; i < n; i++) s[k++] = ']';
	s[k++] = '}';
	s[k] = 0;
	return s;
}

Test(doc, depth_limit_is_an_error_not_a_crash)
{
	char *s = deep(10000, 1);
	cr_expect_eq(parse(s), WN_EJSON);
	free(s);
	s = deep(10000, 0);
	cr_expect_eq(parse(s), WN_EJSON);
	free(s);
	s = deep(1000000, 1);
	cr_expect_eq(parse(s), WN_EJSON);
	free(s);
	/* objects too */
	size_t n = 100000;
	char *o = malloc(n * 6 + 16);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) { memcpy(o + k, "{\"a\":", 5); k += 5; }
	o[k++] = '1';
	for (size_t i = 0; i < n; i++) o[k++] = '}';
	cr_expect_eq(parse_n(o, k), WN_EJSON);
	free(o);
	/* a sane depth parses */
	s = deep(100, 1);
	cr_expect_eq(parse(s), 0, "%s", D.err);
	free(s);
}

Test(doc, bom_is_skipped)
{
	const char *line = "\xef\xbb\xbf{\"text\":\"x\",\"id\":3}";
	cr_assert_eq(parse(line), 0, "%s", D.err);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "x");
	cr_expect_str_eq(D.id.data, "3");
	/* a BOM in the middle is not skipped */
	cr_expect_eq(parse("{\"a\":1}\xef\xbb\xbf"), WN_EJSON);
	/* a partial BOM is invalid */
	cr_expect_neq(parse("\xef\xbb{\"a\":1}"), 0);
}

Test(doc, non_object_top_level)
{
	const char *bad[] = { "[1]", "\"x\"", "1", "null", "true", "false", "[]", "[{\"text\":\"x\"}]",
			      "x", "-1", "\"{}\"" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i]), WN_EJSON, "%s", bad[i]);
}

Test(doc, empty_line)
{
	cr_expect_eq(parse(""), WN_EJSON);
	cr_expect_eq(parse_n("{}", 0), WN_EJSON);
	cr_expect_eq(parse("   "), WN_EJSON);
	cr_expect_eq(parse("\t\r"), WN_EJSON);
	cr_expect_eq(parse("\xef\xbb\xbf"), WN_EJSON);
}

Test(doc, missing_text)
{
	cr_assert_eq(parse("{\"a\":1,\"texts\":\"no\",\"Text\":\"no\",\"tex\":\"no\"}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, -1);
	cr_expect_eq(D.has_id, 0);
	cr_expect_eq(D.has_domain, 0);
	cr_assert_eq(parse("{}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, -1);
	cr_expect_eq(D.nm, 0);
}

Test(doc, non_string_text)
{
	struct { const char *line; int type; } c[] = {
		{ "{\"text\":5}", WN_J_NUM },
		{ "{\"text\":null}", WN_J_NULL },
		{ "{\"text\":true}", WN_J_BOOL },
		{ "{\"text\":[\"a\"]}", WN_J_ARR },
		{ "{\"text\":{\"a\":\"b\"}}", WN_J_OBJ },
		{ "{\"text\":\"s\"}", WN_J_STR },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		cr_assert_eq(parse(c[i].line), 0, "%s", c[i].line);
		cr_expect_eq(D.text_type, c[i].type, "%s", c[i].line);
		cr_expect_eq(D.has_text, c[i].type == WN_J_STR, "%s", c[i].line);
	}
	/* the state does not leak into the next parse */
	cr_assert_eq(parse("{\"text\":\"abc\"}"), 0);
	cr_assert_eq(parse("{\"other\":1}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, -1);
	cr_expect_eq(D.text.len, 0);
}

Test(doc, id_and_domain)
{
	cr_assert_eq(parse("{\"id\": -12.5e3 ,\"text\":\"x\"}"), 0);
	cr_expect_eq(D.has_id, 1);
	cr_expect_str_eq(D.id.data, "-12.5e3");
	cr_expect_eq(D.id.len, 7);
	cr_assert_eq(parse("{\"id\":12345678901234567890123}"), 0);
	cr_expect_eq(D.has_id, 1);
	cr_expect_str_eq(D.id.data, "12345678901234567890123");
	cr_assert_eq(parse("{\"id\":\"doc\\t1\",\"domain\":\"ex\\u0061mple.com\"}"), 0);
	cr_expect_eq(D.has_id, 1);
	cr_expect_str_eq(D.id.data, "doc\t1");
	cr_expect_eq(D.has_domain, 1);
	cr_expect_str_eq(D.domain.data, "example.com");
	cr_assert_eq(parse("{\"id\":null,\"domain\":5}"), 0);
	cr_expect_eq(D.has_id, 0);
	cr_expect_eq(D.has_domain, 0);
	cr_assert_eq(parse("{\"id\":[1]}"), 0);
	cr_expect_eq(D.has_id, 0);
}

Test(doc, repeated_key_last_wins)
{
	cr_assert_eq(parse("{\"text\":\"first\",\"text\":\"second\"}"), 0);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "second");
	cr_assert_eq(parse("{\"text\":\"first\",\"text\":7}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, WN_J_NUM);
	cr_assert_eq(parse("{\"text\":7,\"text\":\"s\"}"), 0);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "s");
}

Test(doc, custom_field_names)
{
	wn_doc_fields f = { "content", "doc_id", "site" };
	const char *line = "{\"text\":\"not me\",\"id\":\"no\",\"domain\":\"no\","
			   "\"content\":\"body\",\"doc_id\":42,\"site\":\"a.org\"}";
	cr_assert_eq(wn_doc_parse(&D, line, strlen(line), &f), 0);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "body");
	cr_expect_eq(D.has_id, 1);
	cr_expect_str_eq(D.id.data, "42");
	cr_expect_eq(D.has_domain, 1);
	cr_expect_str_eq(D.domain.data, "a.org");
	/* missing custom text */
	cr_assert_eq(wn_doc_parse(&D, "{\"text\":\"x\"}", 12, &f), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, -1);
	/* NULL members fall back to the defaults */
	wn_doc_fields g = { "body", NULL, NULL };
	const char *l2 = "{\"body\":\"b\",\"id\":\"i\",\"domain\":\"d\"}";
	cr_assert_eq(wn_doc_parse(&D, l2, strlen(l2), &g), 0);
	cr_expect_str_eq(D.text.data, "b");
	cr_expect_str_eq(D.id.data, "i");
	cr_expect_str_eq(D.domain.data, "d");
	/* a field name with non-ASCII and a quote, matched against an escaped key */
	wn_doc_fields h = { "t\xc3\xa9\"xt", NULL, NULL };
	const char *l3 = "{\"t\\u00e9\\\"xt\":\"found\"}";
	cr_assert_eq(wn_doc_parse(&D, l3, strlen(l3), &h), 0);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "found");
}

Test(doc, escaped_keys_match_fields)
{
	cr_assert_eq(parse("{\"te\\u0078t\":\"hello\",\"\\u0069d\":9,\"dom\\u0061in\":\"d\"}"), 0);
	cr_expect_eq(D.has_text, 1);
	cr_expect_str_eq(D.text.data, "hello");
	cr_expect_eq(D.has_id, 1);
	cr_expect_str_eq(D.id.data, "9");
	cr_expect_eq(D.has_domain, 1);
	cr_expect_eq(D.m[0].kesc, 1);
	const wn_member *m = wn_doc_get(&D, "text");
	cr_assert_not_null(m);
	cr_expect_eq(m, &D.m[0]);
	/* text as a non-string under an escaped key */
	cr_assert_eq(parse("{\"t\\u0065xt\":[1]}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.text_type, WN_J_ARR);
	/* a key that only looks similar does not match */
	cr_assert_eq(parse("{\"te\\u0078t2\":\"x\",\"\\/text\":\"y\"}"), 0);
	cr_expect_eq(D.has_text, 0);
	cr_expect_not_null(wn_doc_get(&D, "/text"));
}

Test(doc, doc_is_reusable)
{
	/* a long parse then a short one: no stale members, text or edits */
	cr_assert_eq(parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,"
			   "\"j\":10,\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,"
			   "\"text\":\"long text\",\"id\":\"x\",\"domain\":\"d\"}"), 0);
	cr_expect_eq(D.nm, 20);
	wn_doc_set_int(&D, "added", 1);
	const char *l2 = "{\"z\":0}";
	cr_assert_eq(parse(l2), 0);
	cr_expect_eq(D.nm, 1);
	cr_expect_eq(D.has_text, 0);
	cr_expect_eq(D.has_id, 0);
	cr_expect_eq(D.has_domain, 0);
	wn_doc_write(&D, &OUT);
	cr_expect_str_eq(OUT.data, l2, "edits from the previous line must be gone");
	/* a failed parse followed by a good one */
	cr_assert_neq(parse("{\"text\":\"x\""), 0);
	cr_assert_eq(parse("{\"text\":\"y\"}"), 0);
	cr_expect_str_eq(D.text.data, "y");
}

/* ---------------------------------------------------------------- json helpers */

Test(doc, decode_string_helper)
{
	wn_buf b = WN_BUF_INIT;
	cr_expect_eq(wn_json_decode_string("\"a\\nb\"", 6, &b), 0);
	cr_expect_eq(b.len, 3);
	cr_expect_str_eq(b.data, "a\nb");
	/* appends */
	cr_expect_eq(wn_json_decode_string("\"c\"", 3, &b), 0);
	cr_expect_str_eq(b.data, "a\nbc");
	cr_expect_eq(wn_json_decode_string("123", 3, &b), WN_EJSON);
	cr_expect_eq(wn_json_decode_string("\"", 1, &b), WN_EJSON);
	cr_expect_eq(wn_json_decode_string("\"ab", 3, &b), WN_EJSON);
	cr_expect_eq(wn_json_decode_string("\"ab\"x", 5, &b), WN_EJSON);
	cr_expect_eq(wn_json_decode_string("\"\\ud800\"", 8, &b), WN_EUTF8);
	wn_buf_release(&b);
}

Test(doc, json_escape_control_chars)
{
	wn_buf b = WN_BUF_INIT;
	char in[0x20];
	for (int i = 0; i < 0x20; i++) in[i] = (char)i;
	wn_json_escape(&b, in, sizeof in);
	const char *want =
		"\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
		"\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
		"\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
		"\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"";
	cr_expect_str_eq(b.data, want);
	wn_buf_reset(&b);
	wn_json_escape(&b, "a\"b\\c/d\x7f\xc3\xa9", 10);
	cr_expect_str_eq(b.data, "\"a\\\"b\\\\c/d\x7f\xc3\xa9\"");
	wn_buf_reset(&b);
	wn_json_escape(&b, "", 0);
	cr_expect_str_eq(b.data, "\"\"");
	/* appends to existing content */
	wn_buf_reset(&b);
	wn_buf_adds(&b, "x=");
	wn_json_escape(&b, "y", 1);
	cr_expect_str_eq(b.data, "x=\"y\"");
	/* the escaped control characters parse back */
	wn_buf line = WN_BUF_INIT;
	wn_buf_adds(&line, "{\"text\":");
	wn_json_escape(&line, in, sizeof in);
	wn_buf_addc(&line, '}');
	cr_assert_eq(parse_n(line.data, line.len), 0, "%s", D.err);
	cr_expect_eq(D.text.len, sizeof in);
	cr_expect_eq(memcmp(D.text.data, in, sizeof in), 0);
	wn_buf_release(&line);
	wn_buf_release(&b);
}

/* ---------------------------------------------------------------- edits */

/* Reparse `out` with a private doc; check it is valid and return member count. */
static size_t reparse(const wn_buf *out, wn_doc *d2)
{
	int rc = wn_doc_parse(d2, out->data, out->len, NULL);
	cr_assert_eq(rc, 0, "written line does not parse: %s (%s)", out->data, d2->err);
	return d2->nm;
}

static int member_is(const wn_member *m, const char *rawkey, const char *rawval)
{
	return m->klen == strlen(rawkey) && !memcmp(m->key, rawkey, m->klen) &&
	       m->vlen == strlen(rawval) && !memcmp(m->val, rawval, m->vlen);
}

Test(doc_edit, unchanged_members_keep_bytes)
{
	const char *line = "{\"a\" :  1, \"text\":\"old\" ,\"b\":[1, 2 ,3], \"c\"\t:\t{\"x\" : \"y\"}}";
	cr_assert_eq(parse(line), 0);
	wn_doc_set_int(&D, "n", 5);
	wn_doc_write(&D, &OUT);
	/* every original member's span appears verbatim */
	const char *spans[] = { "\"a\" :  1", "\"text\":\"old\"", "\"b\":[1, 2 ,3]",
				"\"c\"\t:\t{\"x\" : \"y\"}" };
	const char *prev = OUT.data;
	for (int i = 0; i < 4; i++) {
		const char *p = strstr(OUT.data, spans[i]);
		cr_expect_not_null(p, "span %s missing in %s", spans[i], OUT.data);
		if (p) cr_expect_geq(p, prev, "span %s out of order", spans[i]);
		if (p) prev = p;
	}
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 5);
	cr_expect(member_is(&d2.m[0], "a", "1"));
	cr_expect(member_is(&d2.m[1], "text", "\"old\""));
	cr_expect(member_is(&d2.m[2], "b", "[1, 2 ,3]"));
	cr_expect(member_is(&d2.m[3], "c", "{\"x\" : \"y\"}"));
	cr_expect(member_is(&d2.m[4], "n", "5"), "new member appended last");
	wn_doc_release(&d2);
}

Test(doc_edit, replace_in_place_and_append)
{
	const char *line = "{\"id\":\"x1\",\"text\":\"old text\",\"score\":0.5,\"keep\":true}";
	cr_assert_eq(parse(line), 0);
	wn_doc_set_str(&D, "text", "new \"text\"\n", 11);
	wn_doc_set_int(&D, "score", -3);
	wn_doc_set_num(&D, "ratio", 0.25);
	wn_doc_set_str(&D, "lang", "en", 2);
	wn_doc_set_int(&D, "big", LLONG_MIN);
	wn_doc_write(&D, &OUT);
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 7, "%s", OUT.data);
	cr_expect(member_is(&d2.m[0], "id", "\"x1\""));
	cr_expect(member_is(&d2.m[1], "text", "\"new \\\"text\\\"\\n\""), "%s", OUT.data);
	cr_expect(member_is(&d2.m[2], "score", "-3"), "%s", OUT.data);
	cr_expect(member_is(&d2.m[3], "keep", "true"));
	cr_expect(member_is(&d2.m[4], "ratio", "0.25"), "%s", OUT.data);
	cr_expect(member_is(&d2.m[5], "lang", "\"en\""));
	cr_expect(member_is(&d2.m[6], "big", "-9223372036854775808"), "%s", OUT.data);
	cr_expect_str_eq(d2.text.data, "new \"text\"\n");
	wn_doc_release(&d2);
}

Test(doc_edit, set_twice_last_value_wins)
{
	cr_assert_eq(parse("{\"a\":1}"), 0);
	wn_doc_set_int(&D, "a", 2);
	wn_doc_set_int(&D, "a", 3);
	wn_doc_set_str(&D, "b", "x", 1);
	wn_doc_set_str(&D, "b", "yy", 2);
	wn_doc_write(&D, &OUT);
	cr_expect_str_eq(OUT.data, "{\"a\":3,\"b\":\"yy\"}");
}

Test(doc_edit, set_on_empty_object)
{
	cr_assert_eq(parse("{ }"), 0);
	wn_doc_set_int(&D, "k", 1);
	wn_doc_write(&D, &OUT);
	cr_expect_str_eq(OUT.data, "{\"k\":1}");
}

Test(doc_edit, set_num_values)
{
	double vals[] = { 0.1, -2.5e-300, 1e300, 3.0, 123456789.123456789, -0.0 };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		cr_assert_eq(parse("{\"x\":0}"), 0);
		wn_doc_set_num(&D, "x", vals[i]);
		wn_buf_reset(&OUT);
		wn_doc_write(&D, &OUT);
		wn_doc d2;
		wn_doc_init(&d2);
		cr_assert_eq(reparse(&OUT, &d2), 1, "%s", OUT.data);
		cr_expect_eq(d2.m[0].type, WN_J_NUM, "%s", OUT.data);
		char tmp[64];
		snprintf(tmp, sizeof tmp, "%.*s", (int)d2.m[0].vlen, d2.m[0].val);
		cr_expect_eq(strtod(tmp, NULL), vals[i], "%s round trip", tmp);
		wn_doc_release(&d2);
	}
	/* NaN and infinities are not JSON numbers */
	double odd[] = { NAN, INFINITY, -INFINITY };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(parse("{\"x\":0}"), 0);
		wn_doc_set_num(&D, "x", odd[i]);
		wn_buf_reset(&OUT);
		wn_doc_write(&D, &OUT);
		cr_expect_str_eq(OUT.data, "{\"x\":null}");
	}
}

Test(doc_edit, escaped_key_replaced_in_place)
{
	const char *line = "{\"te\\u0078t\":\"old\",\"z\":1}";
	cr_assert_eq(parse(line), 0);
	cr_assert_eq(D.has_text, 1);
	wn_doc_set_str(&D, "text", "new", 3);
	wn_doc_write(&D, &OUT);
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 2, "the member is replaced, not added: %s", OUT.data);
	cr_expect(member_is(&d2.m[0], "te\\u0078t", "\"new\""), "%s", OUT.data);
	cr_expect_str_eq(d2.text.data, "new");
	wn_doc_release(&d2);
}

Test(doc_edit, new_key_is_escaped)
{
	cr_assert_eq(parse("{}"), 0);
	wn_doc_set_str(&D, "we\"ird\n", "v", 1);
	wn_doc_set_raw(&D, "raw", "[1,{\"a\":null}]", 14);
	wn_doc_write(&D, &OUT);
	cr_expect_str_eq(OUT.data, "{\"we\\\"ird\\n\":\"v\",\"raw\":[1,{\"a\":null}]}");
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 2);
	cr_expect_not_null(wn_doc_get(&d2, "we\"ird\n"));
	wn_doc_release(&d2);
}

Test(doc_edit, set_str_binary_value)
{
	cr_assert_eq(parse("{\"text\":\"a\"}"), 0);
	const char v[] = "x\0y\x01\xf0\x9f\x98\x80";
	wn_doc_set_str(&D, "text", v, sizeof v - 1);
	wn_doc_write(&D, &OUT);
	wn_doc d2;
	wn_doc_init(&d2);
	reparse(&OUT, &d2);
	cr_expect_eq(d2.text.len, sizeof v - 1);
	cr_expect_eq(memcmp(d2.text.data, v, sizeof v - 1), 0);
	wn_doc_release(&d2);
}

Test(doc_edit, duplicate_keys_all_replaced)
{
	cr_assert_eq(parse("{\"k\":1,\"x\":0,\"k\":2}"), 0);
	wn_doc_set_int(&D, "k", 9);
	wn_doc_write(&D, &OUT);
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 3, "%s", OUT.data);
	cr_expect(member_is(&d2.m[0], "k", "9"), "%s", OUT.data);
	cr_expect(member_is(&d2.m[1], "x", "0"));
	cr_expect(member_is(&d2.m[2], "k", "9"), "%s", OUT.data);
	wn_doc_release(&d2);
}

Test(doc_edit, many_edits)
{
	cr_assert_eq(parse("{\"k0\":\"orig\"}"), 0);
	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%d", i);
		wn_doc_set_int(&D, k, i * 10);
	}
	wn_doc_write(&D, &OUT);
	wn_doc d2;
	wn_doc_init(&d2);
	cr_assert_eq(reparse(&OUT, &d2), 100, "%s", OUT.data);
	for (int i = 0; i < 100; i++) {
		char k[16], v[16];
		snprintf(k, sizeof k, "k%d", i);
		snprintf(v, sizeof v, "%d", i * 10);
		cr_expect(member_is(&d2.m[i], k, v), "member %d", i);
	}
	wn_doc_release(&d2);
}

/* ---------------------------------------------------------------- UTF-8 helpers */

static size_t put_cp(char *o, uint32_t cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A random code point drawn from interesting classes. */
static uint32_t rand_cp(tu_rng *r)
{
	switch (tu_below(r, 10)) {
	case 0: return tu_below(r, 0x20);                     /* control, incl. NUL */
	case 1: { static const uint32_t sp[] = { '"', '\\', '/', 0x7f, 0 };
		  return sp[tu_below(r, 5)]; }
	case 2: case 3: return 0x20 + tu_below(r, 0x60);      /* printable ASCII */
	case 4: return 0x80 + tu_below(r, 0x780);             /* 2-byte */
	case 5: return 0x4E00 + tu_below(r, 0x5200);          /* CJK */
	case 6: { uint32_t c = 0x800 + tu_below(r, 0x10000 - 0x800);
		  return (c >= 0xD800 && c <= 0xDFFF) ? 0xFFFD : c; }
	case 7: return 0x1F300 + tu_below(r, 0x300);          /* emoji */
	case 8: return 0x10000 + tu_below(r, 0x100000);       /* any astral */
	default: { static const uint32_t e[] = { 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF,
						 0xD7FF, 0xE000, 0xFFFE };
		   return e[tu_below(r, 9)]; }
	}
}

Test(doc_utf8, count_matches_brute_force)
{
	tu_rng r = { 0x1234567887654321ULL };
	char *buf = malloc(4 * 600);
	for (int it = 0; it < 2000; it++) {
		size_t n = 0, ncp = tu_below(&r, 600);
		for (size_t i = 0; i < ncp; i++) {
			uint32_t cp;
			switch (tu_below(&r, 3)) {
			case 0: cp = 'a' + tu_below(&r, 26); break;       /* English */
			case 1: cp = 0x4E00 + tu_below(&r, 0x5200); break; /* Chinese */
			default: cp = rand_cp(&r);
			}
			n += put_cp(buf + n, cp);
		}
		cr_assert_eq(wn_utf8_count(buf, n), ncp, "iteration %d: %zu bytes", it, n);
		size_t off = 12345;
		cr_assert(wn_utf8_valid(buf, n, &off), "iteration %d: valid at %zu", it, off);
	}
	free(buf);
	/* fixed cases */
	const char *mix = "Hello \xe4\xb8\x96\xe7\x95\x8c! \xf0\x9f\x98\x80\xf0\x9f\x91\x8d caf\xc3\xa9";
	cr_expect_eq(wn_utf8_count(mix, strlen(mix)), 17);
	cr_expect_eq(wn_utf8_count("", 0), 0);
	cr_expect_eq(wn_utf8_count("a\0b", 3), 3);
}

Test(doc_utf8, valid_reports_offset)
{
	size_t off = 0;
	cr_expect(wn_utf8_valid("", 0, &off));
	cr_expect(wn_utf8_valid("plain ascii", 11, NULL));
	cr_expect(wn_utf8_valid("a\0b", 3, &off), "NUL is valid UTF-8");
	cr_expect(wn_utf8_valid("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80", 10, &off));
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		for (size_t pre = 0; pre < 40; pre += 1) {
			char b[128];
			memset(b, 'x', pre);
			memcpy(b + pre, bad_utf8[i].b, bad_utf8[i].n);
			memcpy(b + pre + bad_utf8[i].n, "0123456789abcdefghij", 20);
			off = 99999;
			cr_expect(!wn_utf8_valid(b, pre + bad_utf8[i].n + 20, &off), "%s at %zu",
				  bad_utf8[i].what, pre);
			/* the offset lands inside the bad sequence */
			cr_expect(off >= pre && off < pre + bad_utf8[i].n, "%s at %zu: off %zu",
				  bad_utf8[i].what, pre, off);
			/* truncated at the end of the buffer */
			cr_expect(!wn_utf8_valid(b, pre + bad_utf8[i].n, NULL), "%s at end %zu",
				  bad_utf8[i].what, pre);
		}
	}
	/* a valid 4-byte sequence cut by the length */
	cr_expect(!wn_utf8_valid("\xf0\x9f\x98\x80", 3, &off));
	cr_expect_eq(off, 0);
}

/* ---------------------------------------------------------------- random round trip */

static void hex4(wn_buf *b, unsigned v, int upper)
{
	wn_buf_addf(b, upper ? "\\u%04X" : "\\u%04x", v);
}

Test(doc_random, escape_parse_round_trip)
{
	tu_rng r = { 0xC0FFEE1234ULL };
	wn_buf raw = WN_BUF_INIT, line = WN_BUF_INIT, out = WN_BUF_INIT;
	for (int it = 0; it < 4000; it++) {
		wn_buf_reset(&raw);
		wn_buf_reset(&line);
		size_t ncp = tu_below(&r, it % 10 == 0 ? 2000 : 80);
		int mode = (int)tu_below(&r, 2); /* 0: wn_json_escape, 1: hand-made escapes */
		if (mode) wn_buf_adds(&line, "{ \"text\" : \"");
		for (size_t i = 0; i < ncp; i++) {
			uint32_t cp = rand_cp(&r);
			char t[4];
			size_t k = put_cp(t, cp);
			wn_buf_add(&raw, t, k);
			if (!mode) continue;
			unsigned how = tu_below(&r, 3);
			int upper = (int)tu_below(&r, 2);
			const char *short_esc = NULL;
			switch (cp) {
			case '"': short_esc = "\\\""; break;
			case '\\': short_esc = "\\\\"; break;
			case '/': short_esc = how ? "\\/" : "/"; break;
			case '\b': short_esc = "\\b"; break;
			case '\f': short_esc = "\\f"; break;
			case '\n': short_esc = "\\n"; break;
			case '\r': short_esc = "\\r"; break;
			case '\t': short_esc = "\\t"; break;
			}
			if (short_esc && how != 2) wn_buf_adds(&line, short_esc);
			else if (cp < 0x20 || cp == '"' || cp == '\\' || how == 2) {
				if (cp >= 0x10000) {
					unsigned v = cp - 0x10000;
					hex4(&line, 0xD800 + (v >> 10), upper);
					hex4(&line, 0xDC00 + (v & 0x3FF), upper);
				} else {
					hex4(&line, cp, upper);
				}
			} else {
				wn_buf_add(&line, t, k);
			}
		}
		if (mode) {
			wn_buf_adds(&line, "\" , \"id\":1}");
		} else {
			wn_buf_adds(&line, "{\"text\":");
			wn_json_escape(&line, raw.data, raw.len);
			wn_buf_adds(&line, "}");
		}
		int rc = parse_n(line.data, line.len);
		cr_assert_eq(rc, 0, "it %d mode %d: rc %d %s at %zu: %s", it, mode, rc, D.err, D.err_off,
			     line.data);
		cr_assert_eq(D.has_text, 1);
		cr_assert_eq(D.text.len, raw.len, "it %d mode %d: len %zu want %zu", it, mode,
			     D.text.len, raw.len);
		cr_assert_eq(memcmp(D.text.data, raw.data, raw.len), 0, "it %d mode %d", it, mode);
		cr_assert_eq(wn_utf8_count(D.text.data, D.text.len), ncp, "it %d", it);
		cr_assert(wn_utf8_valid(D.text.data, D.text.len, NULL));
		/* no edits: written back byte for byte */
		wn_buf_reset(&out);
		wn_doc_write(&D, &out);
		cr_assert_eq(out.len, line.len);
		cr_assert_eq(memcmp(out.data, line.data, line.len), 0);
		/* rewritten through set_str: the same text comes back */
		wn_doc_set_str(&D, "text", raw.data, raw.len);
		wn_buf_reset(&out);
		wn_doc_write(&D, &out);
		wn_doc d2;
		wn_doc_init(&d2);
		cr_assert_eq(wn_doc_parse(&d2, out.data, out.len, NULL), 0, "it %d: %s", it, d2.err);
		cr_assert_eq(d2.text.len, raw.len);
		cr_assert_eq(memcmp(d2.text.data, raw.data, raw.len), 0);
		wn_doc_release(&d2);
	}
	wn_buf_release(&raw);
	wn_buf_release(&line);
	wn_buf_release(&out);
}

Test(doc_random, random_bytes_never_crash)
{
	/* random mutations of a valid line: any result, but a valid result must
	 * round-trip exactly, and errors must be one of the two parse codes */
	tu_rng r = { 42 };
	const char *base = "{\"id\":12,\"text\":\"h\\u00e9llo \\ud83d\\ude00 w\xc3\xb6rld\",\"a\":[1,{\"b\":null}]}";
	size_t n = strlen(base);
	char buf[256];
	for (int it = 0; it < 20000; it++) {
		memcpy(buf, base, n);
		int flips = 1 + (int)tu_below(&r, 3);
		for (int f = 0; f < flips; f++) buf[tu_below(&r, (uint32_t)n)] = (char)tu_below(&r, 256);
		size_t len = n - tu_below(&r, 4);
		int rc = parse_n(buf, len);
		cr_assert(rc == 0 || rc == WN_EJSON || rc == WN_EUTF8, "rc %d", rc);
		if (rc == 0 && !(len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))) {
			wn_buf_reset(&OUT);
			wn_doc_write(&D, &OUT);
			cr_assert_eq(OUT.len, len);
			cr_assert(wn_utf8_valid(buf, len, NULL), "accepted invalid UTF-8: it %d", it);
			if (D.has_text) cr_assert(wn_utf8_valid(D.text.data, D.text.len, NULL));
		}
	}
}

/* ------------------------------------------ simdjson against the reference scanner */

/* Mutate valid lines at random (flip, insert, delete bytes drawn from JSON's
 * alphabet and invalid UTF-8) and require wn_doc_parse (simdjson) and
 * wn_doc_parse_scan (the reference) to agree on every verdict and, for valid
 * lines, on every member span, type and decoded field. */
Test(doc_random, simdjson_agrees_with_reference_scanner)
{
	static const char *seeds[] = {
		"{\"id\":1,\"text\":\"hello \\u00e9 \\ud83d\\ude00\",\"domain\":\"web\",\"meta\":{\"a\":[1,2.5e3,-0,true,null],\"b\":\"x\"}}",
		"{ \"text\" : \"spaced\\n\\t\\\"q\\\"\" , \"n\" : 12345678901234567890123 , \"e\" : 1e400 }",
		"{\"te\\u0078t\":\"escaped key\",\"id\":\"s\",\"z\":[[],{},[{}]],\"f\":false}",
		"{\"text\":\"\xe4\xb8\xad\xe6\x96\x87\xe6\x96\x87\xe6\x9c\xac\",\"domain\":\"zh\"}",
	};
	static const char alphabet[] = "{}[]\",:\\ 0123456789.eE+-tfnulrsa\x00\x01\x7f\x80\xbf\xc0\xe0\xed\xf0\xf4\xff";
	tu_rng r = { 0x5eed5eed5eedULL };
	wn_doc a, b;
	wn_doc_init(&a);
	wn_doc_init(&b);
	char buf[512];
	int agreed_ok = 0, agreed_bad = 0;
	for (int it = 0; it < 60000; it++) {
		const char *s = seeds[tu_below(&r, 4)];
		size_t n = strlen(s);
		memcpy(buf, s, n);
		int edits = 1 + (int)tu_below(&r, 3);
		for (int k = 0; k < edits && n > 2; k++) {
			size_t at = tu_below(&r, (uint32_t)n);
			char c = alphabet[tu_below(&r, sizeof alphabet - 1)];
			switch (tu_below(&r, 3)) {
			case 0: buf[at] = c; break;
			case 1: memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; break;
			default: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
			}
		}
		int ra = wn_doc_parse(&a, buf, n, NULL);
		int rb = wn_doc_parse_scan(&b, buf, n, NULL);
		cr_assert_eq(ra == 0, rb == 0, "verdicts differ (simdjson %d, scanner %d) on: %.*s",
			     ra, rb, (int)n, buf);
		if (ra) { cr_expect_eq(ra, rb); agreed_bad++; continue; }
		agreed_ok++;
		cr_assert_eq(a.nm, b.nm, "members: %.*s", (int)n, buf);
		for (size_t i = 0; i < a.nm; i++) {
			cr_assert_eq(a.m[i].key - a.line, b.m[i].key - b.line);
			cr_assert_eq(a.m[i].klen, b.m[i].klen);
			cr_assert_eq(a.m[i].val - a.line, b.m[i].val - b.line, "value of member %zu: %.*s", i, (int)n, buf);
			cr_assert_eq(a.m[i].vlen, b.m[i].vlen, "value of member %zu: %.*s", i, (int)n, buf);
			cr_assert_eq(a.m[i].slen, b.m[i].slen);
			cr_assert_eq(a.m[i].type, b.m[i].type);
		}
		cr_assert_eq(a.has_text, b.has_text);
		cr_assert_eq(a.text_type, b.text_type);
		cr_assert_eq(a.text.len, b.text.len);
		cr_assert(!memcmp(a.text.data, b.text.data, a.text.len));
		cr_assert_eq(a.has_id, b.has_id);
		cr_assert_eq(a.id.len, b.id.len);
		cr_assert(!memcmp(a.id.data, b.id.data, a.id.len));
		cr_assert_eq(a.has_domain, b.has_domain);
		cr_assert_eq(a.domain.len, b.domain.len);
	}
	/* both kinds of line were really exercised */
	cr_expect_gt(agreed_ok, 1000);
	cr_expect_gt(agreed_bad, 1000);
	wn_doc_release(&a);
	wn_doc_release(&b);
}

/* The vectorised escape against the byte-at-a-time definition, on random
 * strings of every length around the 16-byte blocks, with the bytes that
 * need escaping at every position. */
static void escape_ref(wn_buf *out, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	wn_buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c == '"') wn_buf_adds(out, "\\\"");
		else if (c == '\\') wn_buf_adds(out, "\\\\");
		else if (c == '\n') wn_buf_adds(out, "\\n");
		else if (c == '\r') wn_buf_adds(out, "\\r");
		else if (c == '\t') wn_buf_adds(out, "\\t");
		else if (c == '\b') wn_buf_adds(out, "\\b");
		else if (c == '\f') wn_buf_adds(out, "\\f");
		else if (c < 0x20) {
			char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			wn_buf_adds(out, e);
		} else wn_buf_addc(out, (char)c);
	}
	wn_buf_addc(out, '"');
}

Test(doc, json_escape_equals_the_definition)
{
	tu_rng rng = { 12345 };
	static const unsigned char pick[] = { 'a', ' ', '"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xff,
					       '\n', 0xc3, 0xa9, '/' };
	unsigned char s[80];
	wn_buf a = WN_BUF_INIT, b = WN_BUF_INIT;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = tu_below(&rng, sizeof s);
		int sparse = iter & 1; /* mostly plain text, or dense with specials */
		for (size_t i = 0; i < n; i++)
			s[i] = sparse && tu_below(&rng, 8) ? (unsigned char)('a' + tu_below(&rng, 26))
				: pick[tu_below(&rng, sizeof pick)];
		wn_buf_reset(&a);
		wn_buf_reset(&b);
		wn_json_escape(&a, (const char *)s, n);
		escape_ref(&b, s, n);
		cr_assert_eq(a.len, b.len, "length %zu", n);
		cr_assert_eq(memcmp(a.data, b.data, a.len), 0, "iteration %d", iter);
	}
	wn_buf_release(&a);
	wn_buf_release(&b);
}
