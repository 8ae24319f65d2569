/* test_ckpt.c - train/ckpt: checkpoints written and read back bit for bit
 * (with and without AdamW's moments, options and data state), the layout
 * parsed here byte by byte, damage of every kind refused with the message
 * that names it, and the run directory's listing and pruning. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../../lib/err.h"
#include "../../train/ckpt.h"
#include "testutil.h"

/* ---- a checkpoint to write ---- */

typedef struct sample {
	wn_ckpt c;
	float *p, *m, *v;
	unsigned char ds[72];
	char opts[200];
} sample;

/* nparams floats (1001: sections that need padding), moments when asked */
static void make_sample(sample *s, size_t nparams, int moments, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	tu_rng r = { seed };
	s->p = malloc(nparams * sizeof(float));
	s->m = moments ? malloc(nparams * sizeof(float)) : NULL;
	s->v = moments ? malloc(nparams * sizeof(float)) : NULL;
	for (size_t i = 0; i < nparams; i++) {
		s->p[i] = (float)((double)(tu_next(&r) >> 11) / 9007199254740992.0 - 0.5);
		if (moments) {
			s->m[i] = (float)((double)(tu_next(&r) >> 40) * 1e-9);
			s->v[i] = (float)((double)(tu_next(&r) >> 40) * 1e-12);
		}
	}
	for (size_t i = 0; i < sizeof s->ds; i++) s->ds[i] = (unsigned char)tu_next(&r);
	snprintf(s->opts, sizeof s->opts, "{\"lr\":0.0006,\"seed\":%llu,\"data\":[\"web=/x/web.wtok\"]}",
		 (unsigned long long)seed);
	s->c = (wn_ckpt){ .cfg = { .vocab_size = 257, .dim = 64, .n_layers = 3, .n_heads = 4, .n_kv_heads = 2,
				   .hidden_dim = 160, .max_seq_len = 128, .rope_theta = 500000.0f, .norm_eps = 1e-5f },
			  .step = 123456789012ULL, .tokens = 9876543210123ULL, .nparams = nparams, .params = s->p,
			  .m = s->m, .v = s->v, .data_state = s->ds, .data_state_len = sizeof s->ds, .options = s->opts };
}

static void free_sample(sample *s)
{
	free(s->p);
	free(s->m);
	free(s->v);
}

static void write_ok(const char *path, const wn_ckpt *c)
{
	char err[600] = "";
	cr_assert_eq(wn_ckpt_write(path, c, err, sizeof err), 0, "%s", err);
}

static void expect_equal(const wn_ckpt *a, const wn_ckpt *b)
{
	cr_assert(!memcmp(&a->cfg, &b->cfg, sizeof a->cfg), "config differs");
	cr_assert_eq(a->step, b->step);
	cr_assert_eq(a->tokens, b->tokens);
	cr_assert_eq(a->nparams, b->nparams);
	size_t P = a->nparams * sizeof(float);
	cr_assert(!memcmp(a->params, b->params, P), "parameters differ");
	cr_assert_eq(!a->m, !b->m);
	cr_assert_eq(!a->v, !b->v);
	if (a->m) cr_assert(!memcmp(a->m, b->m, P), "AdamW m differs");
	if (a->v) cr_assert(!memcmp(a->v, b->v, P), "AdamW v differs");
	cr_assert_eq(a->data_state_len, b->data_state_len);
	if (a->data_state_len) cr_assert(!memcmp(a->data_state, b->data_state, a->data_state_len));
	cr_assert_str_eq(b->options, a->options ? a->options : "");
}

/* ---- the layout, parsed here ---- */

static uint64_t le(const unsigned char *b, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
	return v;
}

static void put_le(unsigned char *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++) b[i] = (unsigned char)(v >> 8 * i);
}

typedef struct layout {
	unsigned char *raw;
	size_t size;
	uint64_t off[5], len[5];
} layout;

static layout parse(const char *path)
{
	layout l;
	l.raw = (unsigned char *)tu_read_file(path, &l.size);
	cr_assert(l.raw, "cannot read %s", path);
	const unsigned char *h = l.raw;
	cr_assert_geq(l.size, 256);
	cr_assert_eq(memcmp(h, "WNCKPT\0\0", 8), 0, "magic");
	cr_assert_eq(le(h + 8, 4), WN_CKPT_VERSION);
	cr_assert_eq(le(h + 12, 4), 256);
	cr_assert_eq(le(h + 248, 8), XXH3_64bits(h, 248), "header checksum");
	uint64_t at = 256;
	for (int i = 0; i < 5; i++) {
		const unsigned char *e = h + 80 + 24 * i;
		l.off[i] = le(e, 8);
		l.len[i] = le(e + 8, 8);
		cr_assert_eq(l.off[i], at, "section %d starts right after the one before, 64-aligned", i);
		cr_assert_eq(l.off[i] % 64, 0);
		cr_assert_leq(l.off[i] + l.len[i], l.size);
		cr_assert_eq(le(e + 16, 8), XXH3_64bits(h + l.off[i], l.len[i]), "section %d checksum", i);
		at += (l.len[i] + 63) / 64 * 64;
	}
	cr_assert(l.size <= at, "bytes after the last section's padding");
	for (size_t i = 200; i < 248; i++) cr_assert_eq(h[i], 0, "header byte %zu", i);
	return l;
}

Test(ckpt, round_trip_with_everything)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 1001, 1, 1);
	const char *path = tu_path("step-000000007.wckpt");
	write_ok(path, &s.c);
	cr_assert_eq(tu_count_entries(tu_dir), 1, "a temporary was left");
	wn_ckpt r;
	char err[600];
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "%s", err);
	expect_equal(&s.c, &r);
	wn_ckpt_release(&r);
	cr_assert_null(r.params);

	/* the bytes, by the layout in ckpt.h */
	layout l = parse(path);
	const unsigned char *h = l.raw;
	int32_t ints[7] = { 257, 64, 3, 4, 2, 160, 128 };
	for (int i = 0; i < 7; i++) cr_assert_eq((int32_t)le(h + 16 + 4 * i, 4), ints[i], "config field %d", i);
	float rt, eps;
	memcpy(&rt, h + 44, 4);
	memcpy(&eps, h + 48, 4);
	cr_assert(rt == 500000.0f && eps == 1e-5f);
	cr_assert_eq(le(h + 56, 8), s.c.step);
	cr_assert_eq(le(h + 64, 8), s.c.tokens);
	cr_assert_eq(le(h + 72, 8), 1001);
	uint64_t want[5] = { 4004, 4004, 4004, sizeof s.ds, strlen(s.opts) };
	const void *data[5] = { s.p, s.m, s.v, s.ds, s.opts };
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(l.len[i], want[i], "section %d", i);
		cr_assert(!memcmp(h + l.off[i], data[i], want[i]), "section %d bytes", i);
	}
	free(l.raw);
	free_sample(&s);
	tu_rmdir();
}

Test(ckpt, round_trip_without_moments_state_or_options)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 16, 0, 2); /* 64 bytes: no padding anywhere */
	const char *path = tu_path("a.wckpt");
	write_ok(path, &s.c);
	wn_ckpt r;
	char err[600];
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "%s", err);
	cr_assert_null(r.m);
	cr_assert_null(r.v);
	expect_equal(&s.c, &r);
	wn_ckpt_release(&r);
	layout l = parse(path);
	cr_assert_eq(l.len[1], 0);
	cr_assert_eq(l.len[2], 0);
	free(l.raw);

	/* nothing besides the parameters: empty options, no data state */
	s.c.data_state = NULL;
	s.c.data_state_len = 0;
	s.c.options = NULL;
	write_ok(path, &s.c);
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "%s", err);
	cr_assert_eq(r.data_state_len, 0);
	cr_assert_str_eq(r.options, "");
	cr_assert_null(r.m);
	cr_assert(!memcmp(r.params, s.p, 64));
	wn_ckpt_release(&r);
	l = parse(path);
	cr_assert_eq(l.size, 256 + 64);
	free(l.raw);

	/* writing again replaces the file */
	s.p[3] = 42.0f;
	s.c.step = 1;
	write_ok(path, &s.c);
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "%s", err);
	cr_assert(r.params[3] == 42.0f && r.step == 1);
	wn_ckpt_release(&r);
	wn_ckpt_release(NULL);
	cr_assert_eq(tu_count_entries(tu_dir), 1);
	free_sample(&s);
	tu_rmdir();
}

/* ---- damage ---- */

static void rewrite(const char *path, const unsigned char *b, size_t n)
{
	cr_assert_eq(tu_write_file(path, b, n), 0);
}

static void expect_refused(const char *path, int code, const char *words)
{
	wn_ckpt r;
	char err[600] = "";
	int rc = wn_ckpt_read(path, &r, err, sizeof err);
	cr_assert_eq(rc, code, "read gave %d, expected %d (%s): %s", rc, code, words, err);
	cr_assert(strstr(err, words), "message '%s' lacks '%s'", err, words);
	cr_assert(strstr(err, path), "message '%s' does not name %s", err, path);
	cr_assert_null(r.params);
	cr_assert_null(r.options);
	cr_assert_null(r.mem_);
}

Test(ckpt_damage, a_flipped_byte_in_each_section)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 1001, 1, 3);
	const char *path = tu_path("d.wckpt");
	write_ok(path, &s.c);
	layout l = parse(path);
	static const char *names[5] = { "parameters", "AdamW m", "AdamW v", "data state", "options" };
	for (int i = 0; i < 5; i++) {
		/* the first, a middle and the last byte of the section */
		uint64_t at[3] = { l.off[i], l.off[i] + l.len[i] / 2, l.off[i] + l.len[i] - 1 };
		for (int k = 0; k < 3; k++) {
			l.raw[at[k]] ^= 0x10;
			rewrite(path, l.raw, l.size);
			char words[80];
			snprintf(words, sizeof words, "checksum mismatch in the %s", names[i]);
			expect_refused(path, WN_ECORRUPT, words);
			l.raw[at[k]] ^= 0x10;
		}
	}
	rewrite(path, l.raw, l.size);
	wn_ckpt r;
	char err[600];
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "the restored file: %s", err);
	wn_ckpt_release(&r);
	free(l.raw);
	free_sample(&s);
	tu_rmdir();
}

Test(ckpt_damage, every_header_byte)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 100, 1, 4);
	const char *path = tu_path("h.wckpt");
	write_ok(path, &s.c);
	layout l = parse(path);
	for (size_t at = 0; at < 256; at++) {
		l.raw[at] ^= at % 2 ? 0x01 : 0x80;
		rewrite(path, l.raw, l.size);
		const char *words = at < 8 ? "bad magic" : at < 12 ? "checkpoint version" : "header checksum mismatch";
		expect_refused(path, WN_ECORRUPT, words);
		l.raw[at] ^= at % 2 ? 0x01 : 0x80;
	}
	free(l.raw);
	free_sample(&s);
	tu_rmdir();
}

/* A header edited consistently: the checksum made right again, so that
 * the check behind it is what refuses the file. */
static void edit_header(unsigned char *raw, size_t at, uint64_t v, int n)
{
	put_le(raw + at, v, n);
	put_le(raw + 248, XXH3_64bits(raw, 248), 8);
}

Test(ckpt_damage, version_magic_and_sizes)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 1001, 1, 5);
	const char *path = tu_path("v.wckpt");
	write_ok(path, &s.c);
	layout l = parse(path);
	unsigned char *orig = malloc(l.size);
	memcpy(orig, l.raw, l.size);

	/* a later version, with a header checksum that fits it */
	edit_header(l.raw, 8, 2, 4);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "checkpoint version 2, this winnow reads version 1");
	edit_header(l.raw, 8, 0, 4);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "checkpoint version 0");
	memcpy(l.raw, orig, l.size);

	/* another magic */
	memcpy(l.raw, "WNCKPX\0\0", 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "not a winnow checkpoint (bad magic)");
	memcpy(l.raw, orig, l.size);

	/* a section past the end, one not aligned, one before the header */
	edit_header(l.raw, 80 + 24 * 4, l.size, 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "a section lies outside the file");
	memcpy(l.raw, orig, l.size);
	edit_header(l.raw, 88 + 24 * 0, l.size, 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "a section lies outside the file");
	memcpy(l.raw, orig, l.size);
	edit_header(l.raw, 80 + 24 * 3, l.off[3] + 8, 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "a section lies outside the file");
	memcpy(l.raw, orig, l.size);
	edit_header(l.raw, 80, 0, 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "a section lies outside the file");
	memcpy(l.raw, orig, l.size);

	/* a parameter count the sections do not have */
	edit_header(l.raw, 72, 1000, 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "section sizes do not match the parameter count");
	memcpy(l.raw, orig, l.size);
	/* AdamW v shorter than m (the checksum fitted to the shorter bytes) */
	edit_header(l.raw, 88 + 24 * 2, l.len[2] - 4, 8);
	edit_header(l.raw, 96 + 24 * 2, XXH3_64bits(l.raw + l.off[2], l.len[2] - 4), 8);
	rewrite(path, l.raw, l.size);
	expect_refused(path, WN_ECORRUPT, "section sizes do not match the parameter count");
	memcpy(l.raw, orig, l.size);

	/* the untouched bytes still read */
	rewrite(path, orig, l.size);
	wn_ckpt r;
	char err[600];
	cr_assert_eq(wn_ckpt_read(path, &r, err, sizeof err), 0, "%s", err);
	wn_ckpt_release(&r);
	free(orig);
	free(l.raw);
	free_sample(&s);
	tu_rmdir();
}

Test(ckpt_damage, truncated_files)
{
	tu_mkdtemp();
	sample s;
	make_sample(&s, 1001, 1, 6);
	const char *path = tu_path("t.wckpt");
	write_ok(path, &s.c);
	layout l = parse(path);
	/* within the header: too short to be one */
	size_t shorts[] = { 0, 1, 8, 100, 255 };
	for (size_t k = 0; k < sizeof shorts / sizeof shorts[0]; k++) {
		rewrite(path, l.raw, shorts[k]);
		expect_refused(path, WN_ECORRUPT, "not a winnow checkpoint (too short)");
	}
	/* within or at the start of each section: its data lost */
	for (int i = 0; i < 5; i++) {
		size_t cuts[3] = { l.off[i], l.off[i] + l.len[i] / 2, l.off[i] + l.len[i] - 1 };
		for (int k = 0; k < 3; k++) {
			rewrite(path, l.raw, cuts[k]);
			expect_refused(path, WN_ECORRUPT, "truncated");
		}
	}
	free(l.raw);
	free_sample(&s);
	tu_rmdir();
}

Test(ckpt_damage, other_files)
{
	tu_mkdtemp();
	char err[600];
	wn_ckpt r;
	/* missing: the system's reason */
	const char *none = tu_path("none.wckpt");
	cr_assert_eq(wn_ckpt_read(none, &r, err, sizeof err), WN_EIO);
	cr_assert(strstr(err, none) && strstr(err, "No such file"), "%s", err);
	/* a directory */
	cr_assert_neq(wn_ckpt_read(tu_dir, &r, err, sizeof err), 0);
	cr_assert(strstr(err, tu_dir), "%s", err);
	/* text */
	char text[400];
	memset(text, 'x', sizeof text);
	cr_assert_eq(tu_write_file(tu_path("notes.wckpt"), text, sizeof text), 0);
	expect_refused(tu_path("notes.wckpt"), WN_ECORRUPT, "bad magic");
	/* writing where nothing can be written */
	sample s;
	make_sample(&s, 10, 0, 7);
	cr_assert_eq(wn_ckpt_write("/nonexistent-dir/step-000000001.wckpt", &s.c, err, sizeof err), WN_EIO);
	cr_assert(strstr(err, "/nonexistent-dir/"), "%s", err);
	free_sample(&s);
	tu_rmdir();
}

/* ---- run directories ---- */

static void touch(const char *name)
{
	cr_assert_eq(tu_write_file(tu_path(name), "x", 1), 0);
}

static void expect_list(const char *dir, const uint64_t *steps, int n)
{
	int got;
	char **v = wn_ckpt_list(dir, &got);
	cr_assert_eq(got, n, "%d checkpoints listed, expected %d", got, n);
	for (int i = 0; i < n; i++) {
		char want[700];
		wn_ckpt_path(want, sizeof want, dir, steps[i]);
		cr_assert_str_eq(v[i], want, "entry %d", i);
	}
	for (int i = 0; i < got; i++) free(v[i]);
	free(v);
	if (!n) cr_assert_null(v);
}

/* names that are not checkpoints, all in one directory */
static const char *others[] = {
	"step-000000003.wckpt.tmp", ".step-000000004.wckpt.tmp.AbCdEf", "step-.wckpt", "step-abc.wckpt",
	"step-5x.wckpt", "xstep-000000006.wckpt", "step-000000007.wckp", "Step-000000008.wckpt",
	"step-000000009.WCKPT", "step--1.wckpt", "step-+12.wckpt", "step- 13.wckpt", "notes.txt", "wckpt",
};

Test(ckpt_dir, list_newest_first)
{
	tu_mkdtemp();
	int n;
	char **v = wn_ckpt_list(tu_dir, &n);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	v = wn_ckpt_list("/nonexistent-dir", &n);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) touch(others[i]);
	expect_list(tu_dir, NULL, 0);
	/* numeric order, not the names' order: 10 after 2 even unpadded */
	uint64_t steps[] = { 2, 10, 1, 100, 999999999, 1000000000 };
	for (size_t i = 0; i < 6; i++) {
		char p[700];
		wn_ckpt_path(p, sizeof p, tu_dir, steps[i]);
		cr_assert_eq(tu_write_file(p, "x", 1), 0);
	}
	char p[700];
	wn_ckpt_path(p, sizeof p, tu_dir, 2);
	cr_assert_str_eq(p + strlen(tu_dir), "/step-000000002.wckpt");
	wn_ckpt_path(p, sizeof p, tu_dir, 1000000000);
	cr_assert_str_eq(p + strlen(tu_dir), "/step-1000000000.wckpt");
	uint64_t want[] = { 1000000000, 999999999, 100, 10, 2, 1 };
	expect_list(tu_dir, want, 6);
	/* a shorter name for step 20 sorts by its number */
	touch("step-20.wckpt");
	int got;
	v = wn_ckpt_list(tu_dir, &got);
	cr_assert_eq(got, 7);
	cr_assert(strstr(v[2], "/step-000000100.wckpt"), "%s", v[2]);
	cr_assert(strstr(v[3], "/step-20.wckpt"), "%s", v[3]);
	cr_assert(strstr(v[4], "/step-000000010.wckpt"), "%s", v[4]);
	for (int i = 0; i < got; i++) free(v[i]);
	free(v);
	tu_rmdir();
}

Test(ckpt_dir, prune_keeps_the_newest)
{
	tu_mkdtemp();
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) touch(others[i]);
	int nothers = (int)(sizeof others / sizeof others[0]);
	uint64_t steps[] = { 3, 30, 1, 20, 2, 10 };
	for (size_t i = 0; i < 6; i++) {
		char p[700];
		wn_ckpt_path(p, sizeof p, tu_dir, steps[i]);
		cr_assert_eq(tu_write_file(p, "x", 1), 0);
	}
	uint64_t all[] = { 30, 20, 10, 3, 2, 1 };
	/* keep 0 (and below): nothing removed; more than there are: the same */
	wn_ckpt_prune(tu_dir, 0);
	wn_ckpt_prune(tu_dir, -3);
	wn_ckpt_prune(tu_dir, 6);
	wn_ckpt_prune(tu_dir, 100);
	expect_list(tu_dir, all, 6);
	wn_ckpt_prune(tu_dir, 4);
	expect_list(tu_dir, all, 4);
	wn_ckpt_prune(tu_dir, 1);
	expect_list(tu_dir, all, 1);
	wn_ckpt_prune(tu_dir, 1);
	expect_list(tu_dir, all, 1);
	/* what is not a checkpoint stays */
	cr_assert_eq(tu_count_entries(tu_dir), nothers + 1);
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		cr_assert(tu_exists(tu_path(others[i])), "%s removed", others[i]);
	wn_ckpt_prune("/nonexistent-dir", 1);
	tu_rmdir();
}
