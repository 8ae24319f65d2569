/*
 * test_db.c - lib/db.c: schema, run and input records, merge, schema
 * version check, summary, and eight processes writing one database.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../lib/buf.h"
#include "../../lib/db.h"
#include "../../lib/err.h"
#include "testutil.h"

static void setup(void) { tu_mkdtemp(); }
static void teardown(void) { tu_rmdir(); }

TestSuite(db, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- helpers */

static wn_db *open_db(const char *name)
{
	wn_db *db = NULL;
	char err[600] = "";
	int rc = wn_db_open(&db, tu_path(name), err, sizeof err);
	cr_assert_eq(rc, 0, "open %s: %s", name, err);
	cr_assert_not_null(db);
	return db;
}

/* First column of the first row of `sql` as an integer (-1 if no row). */
static long long q_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(h));
	long long v = -1;
	if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* First column of the first row as text into buf ("" for NULL, "<none>"). */
static const char *q_text(sqlite3 *h, const char *sql, char *buf, size_t n)
{
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(h));
	snprintf(buf, n, "<none>");
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(buf, n, "%s", t ? (const char *)t : "<null>");
	}
	sqlite3_finalize(st);
	return buf;
}

static sqlite3 *raw_open(const char *name)
{
	sqlite3 *h = NULL;
	cr_assert_eq(sqlite3_open_v2(tu_path(name), &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	return h;
}

static int64_t add_run(wn_db *db, const char *tool, const char *input_prefix, int ninputs,
		       uint64_t base)
{
	char *argv[] = { "winnow", (char *)tool, "-o", "out dir/x.zst", NULL, NULL };
	int64_t id = -1;
	cr_assert_eq(wn_db_run_begin(db, tool, 4, argv, NULL, &id), 0, "%s", wn_db_error(db));
	for (int i = 0; i < ninputs; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s-%d.jsonl.zst", input_prefix, i);
		wn_db_input in = { .input = name, .output = "o", .status = "ok", .docs_in = base + 10,
				   .docs_out = base + 7, .docs_dropped = 3, .bytes_in = base * 100,
				   .bytes_out = base * 70, .raw_bytes_in = base * 30,
				   .text_bytes_in = base * 90, .text_bytes_out = base * 60,
				   .seconds = 0.5 };
		wn_db_count reasons[] = { { "x:short", 2, 20, 0, 0, NULL }, { "x:long", 1, 999, 0, 0, NULL } };
		wn_db_count keys[] = { { "a.com", base + 5, 500, base + 4, 400, NULL },
				       { "b.org", 5, 500, 3, 300, NULL } };
		cr_assert_eq(wn_db_add_input(db, id, &in, reasons, 2, "domain", keys, 2), 0, "%s",
			     wn_db_error(db));
	}
	cr_assert_eq(wn_db_run_end(db, id, "ok", 0), 0);
	return id;
}

/* ---------------------------------------------------------------- schema */

Test(db, open_creates_schema)
{
	wn_db *db = open_db("s.db");
	sqlite3 *h = wn_db_handle(db);
	const char *tables[] = { "runs", "inputs", "drops", "counts", "meta", NULL };
	for (int i = 0; i < 5; i++) {
		char sql[128];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
		cr_expect_eq(q_int(h, sql), 1, "table %s", tables[i]);
	}
	cr_expect_eq(q_int(h, "SELECT count(*) FROM sqlite_master WHERE type='view' AND name IN"
			      " ('funnel','reasons')"), 2);
	char buf[64];
	cr_expect_str_eq(q_text(h, "SELECT value FROM meta WHERE key='schema_version'", buf,
				sizeof buf), "1");
	cr_expect_eq(q_int(h, "SELECT count(*) FROM meta WHERE key='schema_version'"), 1);
	cr_expect_str_eq(q_text(h, "PRAGMA journal_mode", buf, sizeof buf), "wal");
	/* the columns the documented schema promises */
	cr_expect_eq(q_int(h, "SELECT count(*) FROM pragma_table_info('inputs') WHERE name IN"
			      " ('run_id','input','output','status','error','docs_in','docs_out',"
			      "'docs_dropped','bytes_in','bytes_out','raw_bytes_in','text_bytes_in',"
			      "'text_bytes_out','seconds')"), 14);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM pragma_table_info('runs') WHERE name IN"
			      " ('run_id','uuid','tool','args','host','pid','version','shard',"
			      "'started','ended','status','exit_code')"), 12);
	wn_db_close(db);
	/* opening again keeps everything, one version row */
	db = open_db("s.db");
	h = wn_db_handle(db);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM meta WHERE key='schema_version'"), 1);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM runs"), 0);
	wn_db_close(db);
	wn_db_close(NULL);
}

Test(db, open_fails_cleanly)
{
	wn_db *db = (wn_db *)1;
	char err[600] = "";
	int rc = wn_db_open(&db, tu_path("no/such/dir/x.db"), err, sizeof err);
	cr_expect_eq(rc, WN_EDB);
	cr_expect_null(db);
	cr_expect_neq(err[0], 0);
	/* a file that is not a database */
	tu_write_file(tu_path("junk.db"), "this is not a database file at all, not at all.......", 54);
	err[0] = 0;
	rc = wn_db_open(&db, tu_path("junk.db"), err, sizeof err);
	cr_expect_eq(rc, WN_EDB);
	cr_expect_neq(err[0], 0);
}

Test(db, newer_schema_is_refused)
{
	wn_db *db = open_db("new.db");
	cr_assert_eq(wn_db_exec(db, "UPDATE meta SET value='2' WHERE key='schema_version'"), 0);
	wn_db_close(db);
	db = (wn_db *)1;
	char err[600] = "";
	int rc = wn_db_open(&db, tu_path("new.db"), err, sizeof err);
	cr_expect_eq(rc, WN_EDB);
	cr_expect_null(db);
	cr_expect_neq(strstr(err, "2"), NULL, "message names the version: %s", err);
	/* and merging it is refused too */
	wn_db *t = open_db("t.db");
	uint64_t added = 99;
	cr_expect_eq(wn_db_merge(t, tu_path("new.db"), &added), WN_EDB);
	cr_expect_eq(added, 0);
	wn_db_close(t);
}

/* ---------------------------------------------------------------- records */

Test(db, run_and_input_rows)
{
	wn_db *db = open_db("r.db");
	sqlite3 *h = wn_db_handle(db);
	char *argv[] = { "winnow", "cat", "--text-field", "a\"b\\c\nd\x01", "f\xc3\xa9.jsonl", NULL };
	int64_t id = 0;
	double t0 = (double)time(NULL);
	cr_assert_eq(wn_db_run_begin(db, "cat", 5, argv, "1/4", &id), 0, "%s", wn_db_error(db));
	cr_assert_gt(id, 0);
	char sql[512], buf[512];
	snprintf(sql, sizeof sql, "SELECT status FROM runs WHERE run_id=%lld", (long long)id);
	cr_expect_str_eq(q_text(h, sql, buf, sizeof buf), "running");
	snprintf(sql, sizeof sql, "SELECT tool||'|'||shard||'|'||pid FROM runs WHERE run_id=%lld",
		 (long long)id);
	char want[128];
	snprintf(want, sizeof want, "cat|1/4|%ld", (long)getpid());
	cr_expect_str_eq(q_text(h, sql, buf, sizeof buf), want);
	snprintf(sql, sizeof sql, "SELECT length(uuid) > 8 AND ended IS NULL FROM runs WHERE run_id=%lld",
		 (long long)id);
	cr_expect_eq(q_int(h, sql), 1);
	snprintf(sql, sizeof sql, "SELECT started FROM runs WHERE run_id=%lld", (long long)id);
	long long started = q_int(h, sql);
	cr_expect(started >= (long long)t0 - 5 && started <= (long long)t0 + 5, "started %lld", started);
	/* args is a JSON array of the exact arguments */
	snprintf(sql, sizeof sql, "SELECT json_valid(args) AND json_array_length(args)=5 FROM runs"
		 " WHERE run_id=%lld", (long long)id);
	cr_expect_eq(q_int(h, sql), 1, "args is not a valid 5-element JSON array");
	for (int i = 0; i < 5; i++) {
		snprintf(sql, sizeof sql, "SELECT json_extract(args,'$[%d]') FROM runs WHERE run_id=%lld",
			 i, (long long)id);
		cr_expect_str_eq(q_text(h, sql, buf, sizeof buf), argv[i], "argument %d", i);
	}

	wn_db_input in = { .input = "in.jsonl.zst", .output = NULL, .status = "error",
			   .error = "truncated zstd stream after 7 complete lines",
			   .docs_in = 1ULL << 40, .docs_out = 5, .docs_dropped = (1ULL << 40) - 5,
			   .bytes_in = 123456789012ULL, .bytes_out = 1, .raw_bytes_in = 42,
			   .text_bytes_in = 1000, .text_bytes_out = 900, .seconds = 1.25 };
	wn_db_count reasons[] = { { "cat:sample", 10, 1000, 0, 0, NULL }, { "bad_json", 2, 30, 0, 0, NULL } };
	wn_db_count keys[] = { { "example.com", 7, 700, 5, 500, NULL }, { "ex\"ample.org", 1, 2, 3, 4, NULL },
			       { "", 0, 0, 0, 0, NULL } };
	cr_assert_eq(wn_db_add_input(db, id, &in, reasons, 2, "domain", keys, 3), 0, "%s",
		     wn_db_error(db));
	/* no reasons and no keys is fine too */
	wn_db_input in2 = { .input = "second", .output = "out/second", .status = "ok" };
	cr_assert_eq(wn_db_add_input(db, id, &in2, NULL, 0, "lang", NULL, 0), 0);
	cr_assert_eq(wn_db_run_end(db, id, "ok", 0), 0);

	snprintf(sql, sizeof sql, "SELECT count(*) FROM inputs WHERE run_id=%lld", (long long)id);
	cr_expect_eq(q_int(h, sql), 2);
	cr_expect_eq(q_int(h, "SELECT docs_in FROM inputs WHERE input='in.jsonl.zst'"), 1LL << 40);
	cr_expect_eq(q_int(h, "SELECT docs_dropped FROM inputs WHERE input='in.jsonl.zst'"),
		     (1LL << 40) - 5);
	cr_expect_eq(q_int(h, "SELECT bytes_in FROM inputs WHERE input='in.jsonl.zst'"), 123456789012LL);
	cr_expect_eq(q_int(h, "SELECT raw_bytes_in + text_bytes_in + text_bytes_out FROM inputs"
			      " WHERE input='in.jsonl.zst'"), 42 + 1000 + 900);
	cr_expect_eq(q_int(h, "SELECT output IS NULL AND status='error' AND seconds=1.25 FROM inputs"
			      " WHERE input='in.jsonl.zst'"), 1);
	cr_expect_str_eq(q_text(h, "SELECT error FROM inputs WHERE input='in.jsonl.zst'", buf, sizeof buf),
			 "truncated zstd stream after 7 complete lines");
	cr_expect_str_eq(q_text(h, "SELECT output FROM inputs WHERE input='second'", buf, sizeof buf),
			 "out/second");
	cr_expect_eq(q_int(h, "SELECT error IS NULL AND docs_in=0 FROM inputs WHERE input='second'"), 1);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM drops"), 2);
	cr_expect_eq(q_int(h, "SELECT docs*10000+bytes FROM drops WHERE reason='cat:sample'"
			      " AND input='in.jsonl.zst'"), 10 * 10000 + 1000);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM counts WHERE kind='domain'"), 3);
	cr_expect_eq(q_int(h, "SELECT docs_in*1000000+bytes_in*1000+docs_out FROM counts"
			      " WHERE key='example.com'"), 7 * 1000000 + 700 * 1000 + 5);
	cr_expect_eq(q_int(h, "SELECT bytes_out FROM counts WHERE key='ex\"ample.org'"), 4);
	cr_expect_eq(q_int(h, "SELECT count(*) FROM counts WHERE key=''"), 1);

	snprintf(sql, sizeof sql, "SELECT status||'|'||exit_code||'|'||(ended>=started) FROM runs"
		 " WHERE run_id=%lld", (long long)id);
	cr_expect_str_eq(q_text(h, sql, buf, sizeof buf), "ok|0|1");
	wn_db_close(db);
}

Test(db, runs_are_distinct)
{
	wn_db *db = open_db("d.db");
	sqlite3 *h = wn_db_handle(db);
	int64_t a = add_run(db, "cat", "a", 1, 1);
	int64_t b = add_run(db, "cat", "b", 1, 1);
	cr_expect_neq(a, b);
	cr_expect_eq(q_int(h, "SELECT count(DISTINCT uuid) FROM runs"), 2);
	/* run_end with a failure status */
	int64_t c = -1;
	char *argv[] = { "winnow" };
	cr_assert_eq(wn_db_run_begin(db, "dedup", 1, argv, NULL, &c), 0);
	cr_assert_eq(wn_db_run_end(db, c, "failed", 1), 0);
	cr_expect_eq(q_int(h, "SELECT exit_code FROM runs WHERE tool='dedup' AND status='failed'"
			      " AND shard IS NULL"), 1);
	wn_db_close(db);
}

Test(db, exec)
{
	wn_db *db = open_db("e.db");
	cr_expect_eq(wn_db_exec(db, "CREATE TABLE IF NOT EXISTS m(run_id INTEGER, v TEXT);"
				    "INSERT INTO m VALUES(1,'a');INSERT INTO m VALUES(2,'b');"), 0);
	cr_expect_eq(q_int(wn_db_handle(db), "SELECT count(*) FROM m"), 2);
	/* a failing statement rolls the whole batch back */
	cr_expect_eq(wn_db_exec(db, "INSERT INTO m VALUES(3,'c'); INSERT INTO nope VALUES(1);"), WN_EDB);
	cr_expect_neq(wn_db_error(db)[0], 0);
	cr_expect_eq(q_int(wn_db_handle(db), "SELECT count(*) FROM m"), 2);
	/* and the connection is usable afterwards */
	cr_expect_eq(wn_db_exec(db, "INSERT INTO m VALUES(4,'d')"), 0);
	cr_expect_eq(q_int(wn_db_handle(db), "SELECT count(*) FROM m"), 3);
	wn_db_close(db);
}

/* ---------------------------------------------------------------- merge */

/* Per-run fingerprint of all rows keyed by run_id, by uuid. */
static void fingerprint(sqlite3 *h, const char *uuid, char *out, size_t n)
{
	char *sql = sqlite3_mprintf(
		"SELECT (SELECT group_concat(x, ';') FROM (SELECT input||','||status||','||docs_in||','||"
		"docs_out||','||bytes_in||','||text_bytes_out AS x FROM inputs i WHERE i.run_id=r.run_id"
		" ORDER BY x)) || '#' ||"
		" (SELECT group_concat(x, ';') FROM (SELECT input||','||reason||','||docs||','||bytes AS x"
		" FROM drops d WHERE d.run_id=r.run_id ORDER BY x)) || '#' ||"
		" (SELECT group_concat(x, ';') FROM (SELECT input||','||kind||','||key||','||docs_in||','||"
		"docs_out AS x FROM counts c WHERE c.run_id=r.run_id ORDER BY x)) || '#' ||"
		" tool || args || status"
		" FROM runs r WHERE uuid=%Q", uuid);
	q_text(h, sql, out, n);
	sqlite3_free(sql);
}

Test(db, merge_copies_runs_once_and_maps_ids)
{
	/* target with a run of its own, so that run_ids collide */
	wn_db *t = open_db("t.db");
	add_run(t, "cat", "t", 2, 1000);
	wn_db *a = open_db("a.db");
	add_run(a, "cat", "a1", 3, 1);
	add_run(a, "stats", "a2", 1, 2);
	/* a module table keyed by run_id, which the target lacks */
	cr_assert_eq(wn_db_exec(a, "CREATE TABLE dedup_stats(run_id INTEGER NOT NULL, shard TEXT,"
				   " dups INTEGER); INSERT INTO dedup_stats VALUES(1,'s1',10);"
				   " INSERT INTO dedup_stats VALUES(2,'s2',20);"
				   " INSERT INTO dedup_stats VALUES(2,'s3',30);"), 0);
	wn_db *b = open_db("b.db");
	add_run(b, "cat", "b1", 4, 3);
	wn_db_close(a);
	wn_db_close(b);

	sqlite3 *ht = wn_db_handle(t);
	uint64_t added = 99;
	cr_assert_eq(wn_db_merge(t, tu_path("a.db"), &added), 0, "%s", wn_db_error(t));
	cr_expect_eq(added, 2);
	cr_assert_eq(wn_db_merge(t, tu_path("a.db"), &added), 0, "%s", wn_db_error(t));
	cr_expect_eq(added, 0, "merging twice adds nothing");
	cr_assert_eq(wn_db_merge(t, tu_path("b.db"), &added), 0, "%s", wn_db_error(t));
	cr_expect_eq(added, 1);
	cr_assert_eq(wn_db_merge(t, tu_path("b.db"), &added), 0);
	cr_expect_eq(added, 0);

	cr_expect_eq(q_int(ht, "SELECT count(*) FROM runs"), 4);
	cr_expect_eq(q_int(ht, "SELECT count(DISTINCT uuid) FROM runs"), 4);
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM inputs"), 2 + 3 + 1 + 4);
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM drops"), 2 * (2 + 3 + 1 + 4));
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM counts"), 2 * (2 + 3 + 1 + 4));
	/* no row points at a run that does not exist */
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM inputs WHERE run_id NOT IN (SELECT run_id FROM runs)"), 0);
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM drops WHERE run_id NOT IN (SELECT run_id FROM runs)"), 0);
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM counts WHERE run_id NOT IN (SELECT run_id FROM runs)"), 0);
	/* every input row hangs off the run it came from */
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM inputs i JOIN runs r USING(run_id) WHERE"
			       " substr(i.input,1,1) <> (CASE WHEN r.tool='stats' THEN 'a' ELSE"
			       " substr(i.input,1,1) END)"), 0);

	/* each source run has the same rows in the target */
	const char *srcs[] = { "a.db", "b.db" };
	for (int s = 0; s < 2; s++) {
		sqlite3 *hs = raw_open(srcs[s]);
		sqlite3_stmt *st;
		cr_assert_eq(sqlite3_prepare_v2(hs, "SELECT uuid FROM runs", -1, &st, NULL), SQLITE_OK);
		int nruns = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *uuid = (const char *)sqlite3_column_text(st, 0);
			char fs[4096], ft[4096];
			fingerprint(hs, uuid, fs, sizeof fs);
			fingerprint(ht, uuid, ft, sizeof ft);
			cr_expect_str_eq(ft, fs, "run %s differs after merge", uuid);
			nruns++;
		}
		sqlite3_finalize(st);
		sqlite3_close(hs);
		cr_expect_eq(nruns, s == 0 ? 2 : 1);
	}
	/* the module table was created and its run_ids mapped */
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM dedup_stats"), 3);
	cr_expect_eq(q_int(ht, "SELECT count(*) FROM dedup_stats d JOIN runs r USING(run_id)"
			       " WHERE (r.tool='cat' AND d.shard='s1') OR (r.tool='stats' AND"
			       " d.shard IN ('s2','s3'))"), 3);
	wn_db_close(t);
}

Test(db, merge_rejects_non_winnow)
{
	wn_db *t = open_db("t.db");
	sqlite3 *h = NULL;
	cr_assert_eq(sqlite3_open(tu_path("other.db"), &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, "CREATE TABLE x(a); INSERT INTO x VALUES(1);", NULL, NULL, NULL),
		     SQLITE_OK);
	sqlite3_close(h);
	uint64_t added = 5;
	cr_expect_eq(wn_db_merge(t, tu_path("other.db"), &added), WN_EDB);
	cr_expect_eq(added, 0);
	cr_expect_neq(wn_db_error(t)[0], 0);
	cr_expect_eq(wn_db_merge(t, tu_path("missing.db"), &added), WN_EDB);
	/* the target is still fine */
	add_run(t, "cat", "x", 1, 1);
	cr_expect_eq(q_int(wn_db_handle(t), "SELECT count(*) FROM runs"), 1);
	wn_db_close(t);
}

/* ---------------------------------------------------------------- summary */

Test(db, summary_mentions_tool_and_counts)
{
	wn_db *db = open_db("sum.db");
	char *argv[] = { "winnow", "cat" };
	int64_t id;
	cr_assert_eq(wn_db_run_begin(db, "cat", 2, argv, NULL, &id), 0);
	wn_db_input in = { .input = "x.jsonl", .status = "ok", .docs_in = 500, .docs_out = 400,
			   .docs_dropped = 100, .bytes_in = 2500000, .bytes_out = 2000000 };
	wn_db_count reasons[] = { { "cat:sample", 100, 500000, 0, 0, NULL } };
	wn_db_count doms[] = { { "example.com", 300, 1500000, 250, 1200000, NULL } };
	wn_db_count langs[] = { { "en", 500, 2500000, 400, 2000000, NULL } };
	cr_assert_eq(wn_db_add_input(db, id, &in, reasons, 1, "domain", doms, 1), 0);
	wn_db_input in2 = { .input = "y.jsonl", .status = "error", .error = "corrupt" };
	cr_assert_eq(wn_db_add_input(db, id, &in2, NULL, 0, "lang", langs, 1), 0);
	cr_assert_eq(wn_db_run_end(db, id, "ok", 0), 0);
	wn_buf out = WN_BUF_INIT;
	cr_assert_eq(wn_db_summary(db, &out), 0);
	const char *want[] = { "cat", "500", "400", "100", "80.0%", "cat:sample", "20.00%",
			       "example.com", "en", "2.5 MB", "2.0 MB", "runs", "funnel" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect_neq(strstr(out.data, want[i]), NULL, "summary lacks '%s':\n%s", want[i],
			      out.data);
	/* the failed input is counted */
	const char *f = strstr(out.data, "funnel");
	cr_assert_not_null(f);
	const char *line = strstr(f, "\n  cat");
	cr_assert_not_null(line, "no funnel row for cat:\n%s", out.data);
	char row[256];
	snprintf(row, sizeof row, "%.*s", (int)(strchr(line + 1, '\n') - line - 1), line + 1);
	int inputs = -1, failed = -1;
	char tool[32];
	cr_expect_eq(sscanf(row, "%31s %d", tool, &inputs), 2, "row: %s", row);
	cr_expect_eq(inputs, 2, "row: %s", row);
	const char *last = strrchr(row, ' ');
	if (last) failed = atoi(last + 1);
	cr_expect_eq(failed, 1, "row: %s", row);
	wn_buf_release(&out);

	/* an empty database summarises without error */
	wn_db *e = open_db("empty.db");
	cr_assert_eq(wn_db_summary(e, &out), 0);
	cr_expect_neq(strstr(out.data, "runs"), NULL);
	wn_buf_release(&out);
	wn_db_close(e);
	wn_db_close(db);
}

/* ---------------------------------------------------------------- concurrency */

#define NPROC 8
#define NROWS 50

static int child(const char *path, int rfd, int k)
{
	char c;
	if (read(rfd, &c, 1) < 0) return 10; /* wait for the start signal (EOF) */
	close(rfd);
	wn_db *db;
	char err[600];
	if (wn_db_open(&db, path, err, sizeof err)) {
		fprintf(stderr, "child %d: open: %s\n", k, err);
		return 11;
	}
	char *argv[] = { "winnow", "cat" };
	int64_t id;
	char shard[16];
	snprintf(shard, sizeof shard, "%d/%d", k, NPROC);
	if (wn_db_run_begin(db, "cat", 2, argv, shard, &id)) {
		fprintf(stderr, "child %d: run_begin: %s\n", k, wn_db_error(db));
		return 12;
	}
	for (int i = 0; i < NROWS; i++) {
		char name[64];
		snprintf(name, sizeof name, "task%d-input%d", k, i);
		wn_db_input in = { .input = name, .status = "ok", .docs_in = 1, .docs_out = 1 };
		wn_db_count reasons[] = { { "r", 1, 1, 0, 0, NULL } };
		if (wn_db_add_input(db, id, &in, reasons, 1, "domain", NULL, 0)) {
			fprintf(stderr, "child %d: add_input %d: %s\n", k, i, wn_db_error(db));
			return 13;
		}
	}
	if (wn_db_run_end(db, id, "ok", 0)) return 14;
	wn_db_close(db);
	return 0;
}

Test(db, eight_processes_one_database)
{
	const char *path = tu_path("conc.db");
	for (int round = 0; round < 2; round++) {
		/* round 0: the database does not exist yet (all create it at once);
		 * round 1: it exists */
		int p[2];
		cr_assert_eq(pipe(p), 0);
		pid_t pids[NPROC];
		for (int k = 0; k < NPROC; k++) {
			pids[k] = fork();
			cr_assert_geq(pids[k], 0);
			if (pids[k] == 0) {
				close(p[1]);
				_exit(child(path, p[0], k));
			}
		}
		close(p[0]);
		close(p[1]); /* go */
		int ok = 0;
		for (int k = 0; k < NPROC; k++) {
			int st;
			cr_assert_eq(waitpid(pids[k], &st, 0), pids[k]);
			cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d child %d: status %d",
				  round, k, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
		cr_assert_eq(ok, NPROC);
		wn_db *db = open_db("conc.db");
		sqlite3 *h = wn_db_handle(db);
		long long r = round + 1;
		cr_expect_eq(q_int(h, "SELECT count(*) FROM inputs"), r * NPROC * NROWS);
		cr_expect_eq(q_int(h, "SELECT count(*) FROM runs"), r * NPROC);
		cr_expect_eq(q_int(h, "SELECT count(*) FROM drops"), r * NPROC * NROWS);
		cr_expect_eq(q_int(h, "SELECT count(*) FROM runs WHERE status='ok'"), r * NPROC);
		cr_expect_eq(q_int(h, "SELECT count(*) FROM (SELECT run_id FROM inputs GROUP BY run_id"
				      " HAVING count(*) = 50)"), r * NPROC);
		cr_expect_eq(q_int(h, "SELECT count(DISTINCT input) FROM inputs"), NPROC * NROWS);
		cr_expect_eq(q_int(h, "SELECT count(*) FROM meta"), 1);
		wn_db_close(db);
	}
}
