/* test_run.c - the shared document loop (lib/run.c) driven by a callback. */
#include <criterion/criterion.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../lib/err.h"
#include "../../lib/run.h"
#include "../../lib/shard.h"
#include "testutil.h"

static void setup(void) { tu_mkdtemp(); wn_log_set_quiet(1); }
static void teardown(void) { tu_rmdir(); }

/* Drop every document whose text has an even length; tag the others. */
static int tag_odd(void *ctx, wn_item *it, wn_doc *d)
{
	int *seen = ctx;
	(*seen)++;
	if (d->text.len % 2 == 0) {
		it->reason = "test:even";
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

static int stop_after_two(void *ctx, wn_item *it, wn_doc *d)
{
	(void)d;
	if (++*(int *)ctx == 2) it->stop = 1;
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

/* ---- worker threads ---- */

/* A tool whose verdict depends only on the document: keep multiples of 3
 * edited, drop multiples of 5, flag evens, label by the last digit.  Each
 * worker counts what it saw in its own ctx. */
struct wctx { int calls; };
static struct wctx wctxs[8];
static int nctx;

static void *mk_ctx(void *ctx, int i)
{
	(void)ctx;
	nctx++;
	return &wctxs[i];
}

static int judge(void *ctx, wn_item *it, wn_doc *d)
{
	((struct wctx *)ctx)->calls++;
	long v = strtol(d->text.data, NULL, 10);
	static const char *digits[] = { "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9" };
	it->label = digits[v % 10];
	if (v % 2 == 0) it->flags |= 1;
	if (v % 7 == 0) it->flags |= 2;
	if (v % 5 == 0) {
		it->reason = "test:five";
		return WN_DROP;
	}
	if (v % 3 == 0) wn_doc_set_int(d, "three", v / 3);
	return WN_KEEP;
}

/* Run judge over `data` with `threads` workers; returns the output file's
 * contents and the rejects' in *rej. */
static char *run_threads(const char *data, int threads, char **rej, wn_run *res, const char *db)
{
	const char *in = tu_path("in.jsonl");
	tu_write_file(in, data, strlen(data));
	wn_opts o;
	wn_opts_init(&o);
	o.output = tu_path("out.jsonl");
	o.rejects = tu_path("rej.jsonl");
	o.stats = db;
	o.quiet = 1;
	char *argv[] = { "test", NULL };
	static const char *const flag_names[] = { "even", "seven" };
	memset(wctxs, 0, sizeof wctxs);
	nctx = 0;
	wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv, .fn = judge,
		     .threads = threads, .thread_ctx = mk_ctx, .flag_kind = "test",
		     .flag_names = flag_names, .nflags = 2, .label_kind = "digit" };
	char *inputs[] = { (char *)in };
	cr_assert_eq(wn_run_main(&r, 1, inputs), 0);
	*res = r;
	size_t n;
	*rej = tu_read_file(o.rejects, &n);
	return tu_read_file(o.output, &n);
}

Test(run, threads_keep_input_order_and_counts, .init = setup, .fini = teardown)
{
	/* 20,000 documents with bad lines sprinkled in, so that many batches
	 * are in flight at once */
	wn_buf data = WN_BUF_INIT;
	for (int i = 1; i <= 20000; i++) {
		if (i % 997 == 0) wn_buf_adds(&data, "{broken\n");
		wn_buf_addf(&data, "{\"text\":\"%d\",\"domain\":\"d%d\"}\n", i, i % 3);
	}
	wn_run r1, r2;
	char *rej1, *rej2;
	char *out1 = run_threads(data.data, 1, &rej1, &r1, tu_path("s1.db"));
	int calls1 = wctxs[0].calls;
	char *out2 = run_threads(data.data, 2, &rej2, &r2, tu_path("s2.db"));
	cr_expect_eq(nctx, 2, "one ctx per worker");
	cr_expect_eq(wctxs[0].calls + wctxs[1].calls, calls1, "every document seen once");
	cr_expect_str_eq(out2, out1, "two workers write what one writes, in order");
	cr_expect_str_eq(rej2, rej1, "and the same rejects in order");
	cr_expect_eq(r2.docs_in, r1.docs_in);
	cr_expect_eq(r2.docs_out, r1.docs_out);
	cr_expect_eq(r2.bad_lines, 20);
	cr_expect_eq(r2.docs_in, 20020);
	/* the first kept lines, from scratch */
	cr_expect(!strncmp(out2, "{\"text\":\"1\",\"domain\":\"d1\"}\n{\"text\":\"2\",\"domain\":\"d2\"}\n"
			   "{\"text\":\"3\",\"domain\":\"d0\",\"three\":1}\n", 91));

	/* flags and labels in the stats, equal for both runs and right */
	for (int k = 0; k < 2; k++) {
		sqlite3 *db;
		cr_assert_eq(sqlite3_open(tu_path(k ? "s2.db" : "s1.db"), &db), SQLITE_OK);
		sqlite3_stmt *st;
		cr_assert_eq(sqlite3_prepare_v2(db,
			"SELECT kind, key, docs_in, docs_out FROM counts WHERE kind IN ('test','digit')"
			" ORDER BY kind, key", -1, &st, NULL), SQLITE_OK);
		int rows = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *kind = (const char *)sqlite3_column_text(st, 0);
			const char *key = (const char *)sqlite3_column_text(st, 1);
			long in = sqlite3_column_int64(st, 2), out = sqlite3_column_int64(st, 3);
			long want_in = 0, want_out = 0;
			for (int i = 1; i <= 20000; i++) {
				int hit = !strcmp(kind, "digit") ? i % 10 == key[1] - '0'
					: !strcmp(key, "even") ? i % 2 == 0 : i % 7 == 0;
				want_in += hit;
				want_out += hit && i % 5 != 0;
			}
			cr_expect_eq(in, want_in, "%s/%s in", kind, key);
			cr_expect_eq(out, want_out, "%s/%s out", kind, key);
			rows++;
		}
		cr_expect_eq(rows, 12, "10 digits and 2 flags");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	free(out1); free(out2); free(rej1); free(rej2);
	wn_buf_release(&data);
}

static int stop_at_1000(void *ctx, wn_item *it, wn_doc *d)
{
	(void)ctx;
	if (strtol(d->text.data, NULL, 10) == 1000) it->stop = 1;
	return WN_KEEP;
}

Test(run, threads_stop_in_input_order, .init = setup, .fini = teardown)
{
	wn_buf data = WN_BUF_INIT;
	for (int i = 1; i <= 5000; i++) wn_buf_addf(&data, "{\"text\":\"%d\"}\n", i);
	const char *in = tu_path("in.jsonl");
	tu_write_file(in, data.data, data.len);
	wn_opts o;
	wn_opts_init(&o);
	o.output = tu_path("out.jsonl");
	char *argv[] = { "test", NULL };
	wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv, .fn = stop_at_1000,
		     .threads = 2 };
	char *inputs[] = { (char *)in };
	cr_assert_eq(wn_run_main(&r, 1, inputs), 0);
	cr_expect_eq(r.docs_in, 1000, "documents after the stop are not counted");
	size_t n;
	char *out = tu_read_file(o.output, &n);
	cr_expect_eq(n, (size_t)(strstr(data.data, "{\"text\":\"1001\"}") - data.data));
	free(out);
	wn_buf_release(&data);
}

/* ---- sources ---- */

/* Each byte line "a,b" of the raw input becomes {"text":"a"}; a line
 * "bad" is a bad record; "fail" fails the input. */
static int csv_source(void *ctx, wn_source *s, wn_reader *rd, const char *input)
{
	(void)ctx; (void)input;
	char buf[4096];
	long n = wn_reader_read(rd, buf, sizeof buf - 1);
	if (n < 0) return (int)n;
	buf[n] = 0;
	uint64_t rec = 0;
	for (char *p = buf, *e; *p; p = e + 1) {
		e = strchr(p, '\n');
		if (!e) break;
		*e = 0;
		rec++;
		if (!strcmp(p, "fail")) return wn_source_fail(s, WN_ECORRUPT, "record %llu: failed",
							      (unsigned long long)rec);
		if (!strcmp(p, "bad")) {
			wn_source_bad(s, "test:bad_record", "a bad record", p, strlen(p), rec);
			continue;
		}
		wn_buf j = WN_BUF_INIT;
		wn_buf_adds(&j, "{\"text\":");
		wn_json_escape(&j, p, strcspn(p, ","));
		wn_buf_addc(&j, '}');
		wn_source_emit(s, j.data, j.len, rec, 0);
		wn_buf_release(&j);
	}
	return 0;
}

Test(run, source_turns_bytes_into_documents, .init = setup, .fini = teardown)
{
	for (int threads = 1; threads <= 2; threads++) {
		const char *in = tu_path("in.txt");
		const char *data = "x,1\nbad\ny,2\n";
		tu_write_file(in, data, strlen(data));
		wn_opts o;
		wn_opts_init(&o);
		o.output = tu_path("out.jsonl");
		o.rejects = tu_path("rej.jsonl");
		o.quiet = 1;
		char *argv[] = { "test", NULL };
		wn_run r = { .tool = "test", .o = &o, .argc = 1, .argv = argv, .source = csv_source,
			     .threads = threads };
		char *inputs[] = { (char *)in };
		cr_assert_eq(wn_run_main(&r, 1, inputs), 0);
		size_t n;
		char *out = tu_read_file(o.output, &n);
		cr_expect_str_eq(out, "{\"text\":\"x\"}\n{\"text\":\"y\"}\n");
		char *rej = tu_read_file(o.rejects, &n);
		cr_expect(strstr(rej, "\"reason\":\"test:bad_record\"") && strstr(rej, "\"line\":2"),
			  "%s", rej);
		cr_expect(strstr(rej, "\"raw\":\"bad\""), "%s", rej);
		cr_expect_eq(r.docs_in, 3);
		cr_expect_eq(r.bad_lines, 1);
		free(out);
		free(rej);

		data = "x,1\nfail\n";
		tu_write_file(in, data, strlen(data));
		r = (wn_run){ .tool = "test", .o = &o, .argc = 1, .argv = argv, .source = csv_source,
			      .threads = threads };
		cr_expect_eq(wn_run_main(&r, 1, inputs), 1, "a failed source fails the input");
		cr_expect_eq(r.inputs_failed, 1);
	}
}
