/* test_run.c - the shared document loop (lib/run.c) driven by a callback. */
#include <criterion/criterion.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../lib/run.h"
#include "testutil.h"

static void setup(void) { tu_mkdtemp(); wn_log_set_quiet(1); }
static void teardown(void) { tu_rmdir(); }

/* Drop every document whose text has an even length; tag the others. */
static int tag_odd(void *ctx, wn_run *r, wn_doc *d, const char **reason)
{
	int *seen = ctx;
	(*seen)++;
	(void)r;
	if (d->text.len % 2 == 0) {
		*reason = "test:even";
		return WN_DROP;
	}
	wn_doc_set_int(d, "len", (long long)d->text.len);
	return WN_KEEP;
}

static void input_done(void *ctx, wn_run *r, const char *input, int ok, const wn_input_counts *c)
{
	(void)ctx; (void)r; (void)input;
	cr_expect(ok);
	cr_expect_eq(c->docs_in, c->docs_out + c->docs_dropped);
}

Test(run, callback_keeps_drops_and_edits, .init = setup, .fini = teardown)
{
	const char *in = tu_path("in.jsonl");
	const char *data =
		"{\"id\":1,\"text\":\"a\"}\n"          /* odd: kept */
		"{\"id\":2,\"text\":\"ab\"}\n"         /* even: dropped */
		"not json\n"                           /* bad */
		"{\"id\":3,\"text\":\"abc\",\"x\":[1]}\n" /* odd: kept */
		"{\"id\":4}\n";                        /* no text */
	cr_assert_eq(tu_write_file(in, data, strlen(data)), 0);
	wn_opts o;
	wn_opts_init(&o);
	o.output = tu_path("out.jsonl");
	o.rejects = tu_path("rej.jsonl");
	o.stats = tu_path("s.db");
	o.quiet = 1;
	int seen = 0;
	char *argv[] = { "test", NULL };
	wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv, .fn = tag_odd,
		     .ctx = &seen, .input_done = input_done };
	char *inputs[] = { (char *)in };
	cr_assert_eq(wn_run_main(&r, 1, inputs), 0);
	cr_expect_eq(seen, 3, "the callback sees only valid documents");
	cr_expect_eq(r.docs_in, 5);
	cr_expect_eq(r.docs_out, 2);
	cr_expect_eq(r.docs_dropped, 3);
	cr_expect_eq(r.bad_lines, 2);
	cr_expect_eq(r.bytes_in, strlen(data));

	size_t n;
	char *out = tu_read_file(o.output, &n);
	cr_assert_not_null(out);
	cr_expect_str_eq(out, "{\"id\":1,\"text\":\"a\",\"len\":1}\n"
			      "{\"id\":3,\"text\":\"abc\",\"x\":[1],\"len\":3}\n");
	free(out);
	char *rej = tu_read_file(o.rejects, &n);
	cr_assert_not_null(rej);
	cr_expect(strstr(rej, "{\"id\":2,\"text\":\"ab\",\"reject\":{\"tool\":\"test\",\"reason\":\"test:even\""));
	cr_expect(strstr(rej, "\"reason\":\"bad_json\""));
	cr_expect(strstr(rej, "\"raw\":\"not json\""));
	cr_expect(strstr(rej, "\"reason\":\"no_text\""));
	free(rej);

	sqlite3 *db;
	cr_assert_eq(sqlite3_open(o.stats, &db), SQLITE_OK);
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT reason, docs FROM drops ORDER BY reason", -1, &st, NULL), SQLITE_OK);
	const char *want[] = { "bad_json", "no_text", "test:even" };
	int k = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		cr_assert_lt(k, 3);
		cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), want[k]);
		cr_expect_eq(sqlite3_column_int(st, 1), 1);
		k++;
	}
	cr_expect_eq(k, 3);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int stop_after_two(void *ctx, wn_run *r, wn_doc *d, const char **reason)
{
	(void)ctx; (void)d; (void)reason;
	if (++*(int *)ctx == 2) r->stop = 1;
	return WN_KEEP;
}

Test(run, stop_ends_the_run, .init = setup, .fini = teardown)
{
	const char *in = tu_path("in.jsonl");
	const char *data = "{\"text\":\"1\"}\n{\"text\":\"2\"}\n{\"text\":\"3\"}\n";
	tu_write_file(in, data, strlen(data));
	wn_opts o;
	wn_opts_init(&o);
	o.output = tu_path("out.jsonl");
	int seen = 0;
	char *argv[] = { "test", NULL };
	wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv, .fn = stop_after_two, .ctx = &seen };
	char *inputs[] = { (char *)in, (char *)in };
	cr_assert_eq(wn_run_main(&r, 2, inputs), 0);
	size_t n;
	char *out = tu_read_file(o.output, &n);
	cr_expect_str_eq(out, "{\"text\":\"1\"}\n{\"text\":\"2\"}\n");
	cr_expect_eq(r.docs_in, 2, "documents after the stop are not read");
	free(out);
}

Test(run, on_error_fail_keeps_no_output, .init = setup, .fini = teardown)
{
	const char *in = tu_path("in.jsonl");
	const char *data = "{\"text\":\"1\"}\n{bad\n{\"text\":\"3\"}\n";
	tu_write_file(in, data, strlen(data));
	wn_opts o;
	wn_opts_init(&o);
	o.output = tu_path("out.jsonl");
	o.on_error_fail = 1;
	o.quiet = 1;
	char *argv[] = { "test", NULL };
	wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv };
	char *inputs[] = { (char *)in };
	cr_expect_eq(wn_run_main(&r, 1, inputs), 1);
	cr_expect_not(tu_exists(o.output));
	cr_expect_eq(tu_count_entries(tu_dir), 1, "no temporary left beside the input");
}

Test(run, basename_of_paths_and_urls)
{
	char b[256];
	cr_expect_str_eq(wn_run_basename("a/b/c.jsonl.zst", b, sizeof b), "c.jsonl.zst");
	cr_expect_str_eq(wn_run_basename("c.jsonl", b, sizeof b), "c.jsonl");
	cr_expect_str_eq(wn_run_basename("https://h/x/y.jsonl.gz?sig=1#f", b, sizeof b), "y.jsonl.gz");
	cr_expect_str_eq(wn_run_basename("-", b, sizeof b), "stdin.jsonl");
}
