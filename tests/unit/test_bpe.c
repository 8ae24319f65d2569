/* test_bpe.c - tokenize/bpe: the loaders (rank files, tokenizer.json,
 * GPT-2's files) and the encoder against a brute-force reference written
 * here from the definitions: merge the adjacent pair of lowest priority,
 * leftmost of equals, until none merges.  OpenAI's vocabularies against
 * their own test plans and the reference encoder are in tests/cli/t_tok.sh. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tokenize/bpe.h"
#include "testutil.h"

/* ---- a small byte-level vocabulary, built here ---- */

static const char *const merged[] = {
	"ab", "abc", "aa", "aaaa", " a", " ab", "ba", "bb", "aaa", "cab", "\xe4\xb8", "\xe4\xb8\xad",
	"xy", "xyz", "yz", " x", "zz", "abab", "aab",
};
#define NM (sizeof merged / sizeof merged[0])

/* Token bytes by rank: the 256 bytes, then the merged strings. */
static void tok_bytes(int rank, char *out, size_t *n)
{
	if (rank < 256) {
		out[0] = (char)rank;
		*n = 1;
	} else {
		*n = strlen(merged[rank - 256]);
		memcpy(out, merged[rank - 256], *n);
	}
}

static void b64(const unsigned char *s, size_t n, char *out)
{
	static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		out[o++] = T[v >> 18];
		out[o++] = T[(v >> 12) & 63];
		out[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? T[v & 63] : '=';
	}
	out[o] = 0;
}

static const char *write_ranks(void)
{
	wn_buf f = WN_BUF_INIT;
	for (int r = 0; r < 256 + (int)NM; r++) {
		char t[16], e[32];
		size_t n;
		tok_bytes(r, t, &n);
		b64((const unsigned char *)t, n, e);
		wn_buf_addf(&f, "%s %d\n", e, r);
	}
	const char *p = tu_path("small.tiktoken");
	cr_assert_eq(tu_write_file(p, f.data, f.len), 0);
	wn_buf_release(&f);
	return p;
}

/* The reference, tiktoken's rule: a piece that is a token is that token;
 * else merge by the rank of the concatenated bytes. */
static int rank_of(const char *s, size_t n)
{
	char t[16];
	size_t tn;
	for (int r = 0; r < 256 + (int)NM; r++) {
		tok_bytes(r, t, &tn);
		if (tn == n && !memcmp(t, s, n)) return r;
	}
	return -1;
}

static size_t ref_piece(const char *p, size_t n, int *out)
{
	int whole = rank_of(p, n);
	if (whole >= 0) {
		out[0] = whole;
		return 1;
	}
	size_t start[4096], len[4096], m = n;
	for (size_t i = 0; i < n; i++) {
		start[i] = i;
		len[i] = 1;
	}
	for (;;) {
		int best = -1;
		size_t at = 0;
		for (size_t i = 0; i + 1 < m; i++) {
			int r = rank_of(p + start[i], len[i] + len[i + 1]);
			if (r >= 0 && (best < 0 || r < best)) {
				best = r;
				at = i;
			}
		}
		if (best < 0) break;
		len[at] += len[at + 1];
		memmove(start + at + 1, start + at + 2, (m - at - 2) * sizeof *start);
		memmove(len + at + 1, len + at + 2, (m - at - 2) * sizeof *len);
		m--;
	}
	for (size_t i = 0; i < m; i++) out[i] = rank_of(p + start[i], len[i]);
	return m;
}

struct pieces {
	char *p[4096];
	size_t n[4096];
	int k;
};

static void collect(void *arg, const char *piece, size_t len)
{
	struct pieces *ps = arg;
	ps->p[ps->k] = (char *)piece;
	ps->n[ps->k++] = len;
}

static wn_bpe *load_small(const char *pattern)
{
	char err[512];
	wn_bpe_special_def sp[] = { { "<|endoftext|>", 400 }, { "<|end|>", 401 } };
	wn_bpe_load_opts o = { pattern, sp, 2, 0 };
	wn_bpe *b = wn_bpe_load(write_ranks(), &o, err, sizeof err);
	cr_assert(b, "%s", err);
	return b;
}

Test(bpe, rank_file_matches_reference_on_random_text)
{
	tu_mkdtemp();
	wn_bpe *b = load_small("cl100k_base");
	cr_expect_eq(wn_bpe_n_vocab(b), 402);
	wn_bpe_state *st = wn_bpe_state_new(b);
	tu_rng rng = { 42 };
	static const char *const alpha[] = { "a", "b", "c", "x", "y", "z", " ", "\xe4\xb8\xad", "1", "\n", "'" };
	for (int t = 0; t < 3000; t++) {
		char text[512];
		size_t n = 0;
		int len = (int)(tu_next(&rng) % 60);
		for (int i = 0; i < len; i++) {
			const char *a = alpha[tu_next(&rng) % (sizeof alpha / sizeof alpha[0])];
			memcpy(text + n, a, strlen(a));
			n += strlen(a);
		}
		wn_ids got = { 0 };
		wn_bpe_encode(st, text, n, 0, &got);
		/* the reference over the encoder's own pieces */
		struct pieces ps = { .k = 0 };
		wn_bpe_split(st, text, n, collect, &ps);
		int want[4096];
		size_t nw = 0, covered = 0;
		for (int k = 0; k < ps.k; k++) {
			cr_assert_eq(ps.p[k], text + covered, "pieces cover the text in order");
			covered += ps.n[k];
			nw += ref_piece(ps.p[k], ps.n[k], want + nw);
		}
		cr_assert_eq(covered, n);
		cr_assert_eq(got.n, nw, "text %d: %zu ids, reference %zu", t, got.n, nw);
		for (size_t i = 0; i < nw; i++) cr_assert_eq(got.v[i], (uint32_t)want[i], "text %d id %zu", t, i);
		wn_buf back = WN_BUF_INIT;
		cr_assert_eq(wn_bpe_decode(b, got.v, got.n, &back, NULL), 0);
		cr_assert_eq(back.len, n);
		if (n) cr_assert(!memcmp(back.data, text, n));
		wn_buf_release(&back);
		wn_ids_release(&got);
	}
	wn_bpe_state_free(st);
	wn_bpe_free(b);
	tu_rmdir();
}

Test(bpe, long_pieces_take_the_heap_and_agree)
{
	tu_mkdtemp();
	/* one piece of everything: the pattern matches any run */
	wn_bpe *b = load_small("[\\s\\S]+");
	wn_bpe_state *st = wn_bpe_state_new(b);
	tu_rng rng = { 7 };
	for (int t = 0; t < 60; t++) {
		size_t n = 65 + tu_next(&rng) % 3000;
		char *text = malloc(n);
		for (size_t i = 0; i < n; i++) text[i] = "aabbcxyz"[tu_next(&rng) % (t < 20 ? 1 : 8)];
		wn_ids got = { 0 };
		wn_bpe_encode(st, text, n, 0, &got);
		int *want = malloc(n * sizeof *want);
		size_t nw = ref_piece(text, n, want);
		cr_assert_eq(got.n, nw, "text %d (%zu bytes)", t, n);
		for (size_t i = 0; i < nw; i++) cr_assert_eq(got.v[i], (uint32_t)want[i]);
		free(want);
		free(text);
		wn_ids_release(&got);
	}
	wn_bpe_state_free(st);
	wn_bpe_free(b);
	tu_rmdir();
}

Test(bpe, special_tokens_allowed_or_text)
{
	tu_mkdtemp();
	wn_bpe *b = load_small("cl100k_base");
	wn_bpe_state *st = wn_bpe_state_new(b);
	const char *s = "ab<|endoftext|>ab<|end|><|end";
	wn_ids a = { 0 }, o = { 0 };
	wn_bpe_encode(st, s, strlen(s), 1, &a);
	wn_bpe_encode(st, s, strlen(s), 0, &o);
	int n400 = 0, n401 = 0;
	for (size_t i = 0; i < a.n; i++) {
		n400 += a.v[i] == 400;
		n401 += a.v[i] == 401;
	}
	cr_expect_eq(n400, 1);
	cr_expect_eq(n401, 1);
	for (size_t i = 0; i < o.n; i++) cr_expect_lt(o.v[i], 400u, "special text stays text");
	wn_buf back = WN_BUF_INIT;
	cr_assert_eq(wn_bpe_decode(b, a.v, a.n, &back, NULL), 0);
	cr_expect_eq(back.len, strlen(s));
	cr_expect(!memcmp(back.data, s, back.len));
	cr_expect_eq(wn_bpe_eos(b), 400);
	size_t bad = 99;
	uint32_t ids[] = { 97, 399, 98 };
	cr_expect_eq(wn_bpe_decode(b, ids, 3, &back, &bad), -1, "an unused id");
	cr_expect_eq(bad, 1u);
	wn_buf_release(&back);
	wn_ids_release(&a);
	wn_ids_release(&o);
	wn_bpe_state_free(st);
	wn_bpe_free(b);
	tu_rmdir();
}

Test(bpe, any_bytes_round_trip)
{
	tu_mkdtemp();
	wn_bpe *b = load_small("o200k_base");
	wn_bpe_state *st = wn_bpe_state_new(b);
	tu_rng rng = { 99 };
	for (int t = 0; t < 2000; t++) {
		char text[300];
		size_t n = tu_next(&rng) % sizeof text;
		for (size_t i = 0; i < n; i++) text[i] = (char)(tu_next(&rng) & 0xff);
		wn_ids ids = { 0 };
		wn_bpe_encode(st, text, n, 0, &ids);
		wn_buf back = WN_BUF_INIT;
		cr_assert_eq(wn_bpe_decode(b, ids.v, ids.n, &back, NULL), 0);
		cr_assert_eq(back.len, n, "invalid UTF-8 keeps every byte");
		if (n) cr_assert(!memcmp(back.data, text, n));
		wn_buf_release(&back);
		wn_ids_release(&ids);
	}
	wn_bpe_state_free(st);
	wn_bpe_free(b);
	tu_rmdir();
}

static void expect_load_error(const char *name, const char *content, const char *want)
{
	const char *p = tu_path(name);
	cr_assert_eq(tu_write_file(p, content, strlen(content)), 0);
	char err[512] = "";
	wn_bpe *b = wn_bpe_load(p, NULL, err, sizeof err);
	cr_expect_null(b, "%s loaded", name);
	cr_expect(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", name, err, want);
	wn_bpe_free(b);
}

Test(bpe, bad_files_are_named_errors)
{
	tu_mkdtemp();
	expect_load_error("a.tiktoken", "YQ== 0\nYg== x\n", "a.tiktoken:2: bad rank");
	expect_load_error("b.tiktoken", "YQ== 0\n!!!! 1\n", "b.tiktoken:2: bad base64");
	expect_load_error("c.tiktoken", "YQ== 0\nYg== 0\n", "c.tiktoken:2: rank 0 given twice");
	expect_load_error("d.tiktoken", "YQ== 0\nYg== 1\n", "no token for the byte");
	expect_load_error("e.tiktoken", "", "no tokens");
	expect_load_error("f.tiktoken", "YQ==\n", "not a \"base64 rank\" line");
	expect_load_error("t.json", "{\"model\": {\"type\": \"WordPiece\"}}", "not a BPE tokenizer");
	expect_load_error("u.json", "{\"model\": ", "not valid JSON");
	char err[512];
	cr_expect_null(wn_bpe_load(tu_path("none.tiktoken"), NULL, err, sizeof err));
	cr_expect(strstr(err, "No such file") != NULL, "%s", err);
	wn_bpe_load_opts o = { "(unclosed", NULL, 0, 0 };
	cr_expect_null(wn_bpe_load(write_ranks(), &o, err, sizeof err));
	cr_expect(strstr(err, "pattern:") != NULL, "%s", err);
	tu_rmdir();
}

/* GPT-2's byte-level alphabet, for writing tokenizer.json files here. */
static void bl_string(const char *s, size_t n, wn_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i];
		int printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae);
		unsigned cp = c;
		if (!printable) {
			int k = 0;
			for (unsigned d = 0; d < c; d++) {
				int pd = (d >= '!' && d <= '~') || (d >= 0xa1 && d <= 0xac) || (d >= 0xae);
				k += !pd;
			}
			cp = 256 + (unsigned)k;
		}
		if (cp == '"' || cp == '\\') {
			wn_buf_addc(out, '\\');
			wn_buf_addc(out, (char)cp);
		} else if (cp < 0x80) {
			wn_buf_addc(out, (char)cp);
		} else {
			wn_buf_addc(out, (char)(0xc0 | (cp >> 6)));
			wn_buf_addc(out, (char)(0x80 | (cp & 0x3f)));
		}
	}
}

/* A tokenizer.json whose merges create the tokens in an order other than
 * their ids, and a reference applying the merges (HF's rule). */
Test(bpe, tokenizer_json_merges_semantics)
{
	tu_mkdtemp();
	/* merges in priority order; ids are given in reverse */
	static const char *const ml[][2] = { { "a", "b" }, { "b", "a" }, { "ab", "a" }, { "a", "a" }, { " ", "ab" } };
	int nm = 5;
	wn_buf j = WN_BUF_INIT;
	wn_buf_adds(&j, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":300,\"content\":\"<|endoftext|>\",\"special\":true}],"
			"\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
			"{\"type\":\"Split\",\"pattern\":{\"Regex\":\" ?[a-z]+| ?[^a-z ]+|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
			"{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]},"
			"\"model\":{\"type\":\"BPE\",\"continuing_subword_prefix\":\"\",\"vocab\":{");
	for (int c = 0; c < 256; c++) {
		char ch = (char)c;
		if (c) wn_buf_addc(&j, ',');
		wn_buf_addc(&j, '"');
		bl_string(&ch, 1, &j);
		wn_buf_addf(&j, "\":%d", c);
	}
	for (int m = 0; m < nm; m++) {
		wn_buf_addc(&j, ',');
		wn_buf_addc(&j, '"');
		bl_string(ml[m][0], strlen(ml[m][0]), &j);
		bl_string(ml[m][1], strlen(ml[m][1]), &j);
		wn_buf_addf(&j, "\":%d", 299 - m);
	}
	wn_buf_adds(&j, "},\"merges\":[");
	for (int m = 0; m < nm; m++) {
		wn_buf_adds(&j, m ? ",\"" : "\"");
		bl_string(ml[m][0], strlen(ml[m][0]), &j);
		wn_buf_addc(&j, ' ');
		bl_string(ml[m][1], strlen(ml[m][1]), &j);
		wn_buf_addc(&j, '"');
	}
	wn_buf_adds(&j, "]}}");
	const char *p = tu_path("tokenizer.json");
	cr_assert_eq(tu_write_file(p, j.data, j.len), 0);
	char err[512];
	wn_bpe *b = wn_bpe_load(p, NULL, err, sizeof err);
	cr_assert(b, "%s", err);
	cr_expect_eq(wn_bpe_eos(b), 300);
	wn_bpe_state *st = wn_bpe_state_new(b);
	/* "aba": (a,b) first -> ab a -> (ab,a) -> "aba" = 297;
	 * "baa": (b,a) has priority 1 over (a,a) 3 -> ba a; no (ba,a) */
	struct {
		const char *s;
		uint32_t ids[4];
		int n;
	} cases[] = {
		{ "aba", { 297 }, 1 },
		{ "baa", { 298, 'a' }, 2 },
		{ "aaa", { 296, 'a' }, 2 },
		{ " ab", { 295 }, 1 },
		{ " aba", { ' ', 297 }, 2 },
		{ "abab", { 299, 299 }, 2 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		wn_ids ids = { 0 };
		wn_bpe_encode(st, cases[c].s, strlen(cases[c].s), 0, &ids);
		cr_expect_eq(ids.n, (size_t)cases[c].n, "\"%s\": %zu ids", cases[c].s, ids.n);
		for (int i = 0; i < cases[c].n && i < (int)ids.n; i++)
			cr_expect_eq(ids.v[i], cases[c].ids[i], "\"%s\" id %d: %u", cases[c].s, i, ids.v[i]);
		wn_ids_release(&ids);
	}
	wn_bpe_state_free(st);
	wn_bpe_free(b);
	wn_buf_release(&j);
	tu_rmdir();
}

Test(bpe, named_patterns)
{
	cr_expect_not_null(wn_bpe_pattern("cl100k_base"));
	cr_expect_not_null(wn_bpe_pattern("o200k_base"));
	cr_expect_eq(wn_bpe_pattern("gpt2"), wn_bpe_pattern("r50k_base"));
	cr_expect_null(wn_bpe_pattern("cl200k"));
}

/* The hand-written ASCII pre-tokenisers against PCRE2 on the same
 * pattern: random strings over an alphabet of the characters that matter
 * (letters, digits, apostrophes and contraction letters, every kind of
 * ASCII white space, punctuation, controls) with non-ASCII letters,
 * digits, spaces and punctuation mixed in. */
Test(bpe, ascii_pretokenisers_equal_pcre2)
{
	tu_mkdtemp();
	static const char *const alpha[] = {
		"a", "Z", "s", "S", "t", "l", "L", "v", "e", "r", "R", "d", "m", "x", "0", "7", "'", " ", " ",
		"\t", "\n", "\r", "\v", "\f", ".", ",", "!", "(", "-", "\x01", "\x7f", "\x1f",
		"\xc3\xa9",          /* é, a letter */
		"\xd9\xa3",          /* ARABIC-INDIC DIGIT THREE */
		"\xc2\xa0",          /* NO-BREAK SPACE */
		"\xe3\x80\x80",      /* IDEOGRAPHIC SPACE */
		"\xe2\x80\x94",      /* EM DASH */
		"\xc5\xbf",          /* LONG S, folds to s */
		"\xc2\x85",          /* NEXT LINE */
		"\xe4\xb8\xad",      /* a Han character */
	};
	const char *pats[] = { "cl100k_base", "r50k_base" };
	for (int k = 0; k < 2; k++) {
		char err[512];
		wn_bpe_load_opts fo = { pats[k], NULL, 0, 0 }, po = { pats[k], NULL, 0, 1 };
		wn_bpe *f = wn_bpe_load(write_ranks(), &fo, err, sizeof err);
		wn_bpe *g = wn_bpe_load(write_ranks(), &po, err, sizeof err);
		cr_assert(f && g, "%s", err);
		wn_bpe_state *fs = wn_bpe_state_new(f), *gs = wn_bpe_state_new(g);
		tu_rng rng = { 1234 + (uint64_t)k };
		int na = (int)(sizeof alpha / sizeof alpha[0]);
		for (int t = 0; t < 200000; t++) {
			char text[256];
			size_t n = 0;
			int len = (int)(tu_next(&rng) % 24);
			int ascii_only = t & 1;
			for (int i = 0; i < len; i++) {
				const char *a = alpha[tu_next(&rng) % (uint64_t)(ascii_only ? na - 10 : na)];
				memcpy(text + n, a, strlen(a));
				n += strlen(a);
			}
			struct pieces a = { .k = 0 }, b = { .k = 0 };
			wn_bpe_split(fs, text, n, collect, &a);
			wn_bpe_split(gs, text, n, collect, &b);
			cr_assert_eq(a.k, b.k, "%s, text %d \"%s\": %d pieces, PCRE2 %d", pats[k], t, tu_show(text, n),
				     a.k, b.k);
			for (int i = 0; i < a.k; i++)
				cr_assert(a.p[i] == b.p[i] && a.n[i] == b.n[i], "%s, text %d \"%s\": piece %d differs", pats[k],
					  t, tu_show(text, n), i);
		}
		wn_bpe_state_free(fs);
		wn_bpe_state_free(gs);
		wn_bpe_free(f);
		wn_bpe_free(g);
	}
	tu_rmdir();
}
