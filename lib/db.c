/*
 * db.c - stats database (db.h).  Schema version 1, documented in
 * man/winnow-stats.5; keep the two in step.
 *
 * Concurrency: WAL journal, busy_timeout, and every write transaction
 * begun IMMEDIATE (the write lock is taken up front, so two writers never
 * deadlock upgrading a read lock) inside a retry loop for the BUSY answers
 * that outlast the timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "err.h"
#include "log.h"

struct wn_db {
	sqlite3 *h;
	char msg[512];
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"
	"INSERT OR IGNORE INTO meta VALUES('schema_version','1');\n"
	"CREATE TABLE IF NOT EXISTS runs(\n"
	"  run_id INTEGER PRIMARY KEY,\n"
	"  uuid TEXT NOT NULL UNIQUE,\n"
	"  tool TEXT NOT NULL,\n"
	"  args TEXT NOT NULL,\n"
	"  host TEXT, pid INTEGER, version TEXT, shard TEXT,\n"
	"  started REAL NOT NULL, ended REAL,\n"
	"  status TEXT NOT NULL, exit_code INTEGER);\n"
	"CREATE TABLE IF NOT EXISTS inputs(\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"
	"  input TEXT NOT NULL, output TEXT,\n"
	"  status TEXT NOT NULL, error TEXT,\n"
	"  docs_in INTEGER NOT NULL, docs_out INTEGER NOT NULL,\n"
	"  docs_dropped INTEGER NOT NULL,\n"
	"  bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL,\n"
	"  raw_bytes_in INTEGER NOT NULL,\n"
	"  text_bytes_in INTEGER NOT NULL, text_bytes_out INTEGER NOT NULL,\n"
	"  seconds REAL NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS drops(\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"
	"  input TEXT NOT NULL, reason TEXT NOT NULL,\n"
	"  docs INTEGER NOT NULL, bytes INTEGER NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS counts(\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"
	"  input TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,\n"
	"  docs_in INTEGER NOT NULL, bytes_in INTEGER NOT NULL,\n"
	"  docs_out INTEGER NOT NULL, bytes_out INTEGER NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS edits(\n"
	"  run_id INTEGER NOT NULL REFERENCES runs(run_id),\n"
	"  input TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,\n"
	"  docs INTEGER NOT NULL, units INTEGER NOT NULL);\n"
	"CREATE INDEX IF NOT EXISTS edits_run ON edits(run_id);\n"
	"CREATE INDEX IF NOT EXISTS inputs_run ON inputs(run_id);\n"
	"CREATE INDEX IF NOT EXISTS drops_run ON drops(run_id);\n"
	"CREATE INDEX IF NOT EXISTS counts_run ON counts(run_id);\n"
	"CREATE VIEW IF NOT EXISTS funnel AS\n"
	"  SELECT r.tool AS tool, count(*) AS inputs,\n"
	"         sum(i.docs_in) AS docs_in, sum(i.docs_out) AS docs_out,\n"
	"         sum(i.docs_dropped) AS docs_dropped,\n"
	"         sum(i.bytes_in) AS bytes_in, sum(i.bytes_out) AS bytes_out,\n"
	"         sum(i.status = 'error') AS failed_inputs, min(r.started) AS first_started\n"
	"  FROM inputs i JOIN runs r USING(run_id) GROUP BY r.tool;\n"
	"CREATE VIEW IF NOT EXISTS reasons AS\n"
	"  SELECT r.tool AS tool, d.reason AS reason,\n"
	"         sum(d.docs) AS docs, sum(d.bytes) AS bytes\n"
	"  FROM drops d JOIN runs r USING(run_id) GROUP BY r.tool, d.reason;\n";

static int set_err(wn_db *db, const char *what)
{
	snprintf(db->msg, sizeof db->msg, "%s: %s", what, sqlite3_errmsg(db->h));
	return WN_EDB;
}

static void nap(int attempt)
{
	struct timespec ts = { 0, (long)(1 + (attempt % 20)) * 5000000L };
	nanosleep(&ts, NULL);
}

static int is_busy(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* exec with retry while busy (outside any transaction). */
static int exec_retry(wn_db *db, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK) return 0;
		if (!is_busy(rc) || attempt > 2000) return set_err(db, "sqlite");
		nap(attempt);
	}
}

static int begin(wn_db *db) { return exec_retry(db, "BEGIN IMMEDIATE"); }

static int commit(wn_db *db)
{
	int rc = exec_retry(db, "COMMIT");
	if (rc) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void rollback(wn_db *db) { sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL); }

int wn_db_open(wn_db **out, const char *path, char *err, size_t errlen)
{
	wn_db *db = wn_calloc(1, sizeof *db);
	*out = NULL;
	int rc = sqlite3_open_v2(path, &db->h,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		sqlite3_close(db->h);
		free(db);
		return WN_EDB;
	}
	sqlite3_busy_timeout(db->h, 10000);
	if (exec_retry(db, "PRAGMA journal_mode=WAL") ||
	    exec_retry(db, "PRAGMA synchronous=NORMAL") || begin(db)) {
		snprintf(err, errlen, "%s: %s", path, db->msg);
		wn_db_close(db);
		return WN_EDB;
	}
	if (sqlite3_exec(db->h, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(db, "creating schema");
		rollback(db);
		snprintf(err, errlen, "%s: %s", path, db->msg);
		wn_db_close(db);
		return WN_EDB;
	}
	/* refuse a database written by a newer schema */
	sqlite3_stmt *st;
	int ver = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT value FROM meta WHERE key='schema_version'",
			       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) ver = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (commit(db)) {
		snprintf(err, errlen, "%s: %s", path, db->msg);
		wn_db_close(db);
		return WN_EDB;
	}
	if (ver > WN_DB_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than this winnow's %d",
			 path, ver, WN_DB_SCHEMA_VERSION);
		wn_db_close(db);
		return WN_EDB;
	}
	*out = db;
	return 0;
}

int wn_db_open_ro(wn_db **out, const char *path, char *err, size_t errlen)
{
	wn_db *db = wn_calloc(1, sizeof *db);
	*out = NULL;
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		wn_db_close(db);
		return WN_EDB;
	}
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_stmt *st = NULL;
	int ver = -1;
	if (sqlite3_prepare_v2(db->h, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
			       NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		ver = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (ver < 1) {
		snprintf(err, errlen, "%s: not a winnow stats database", path);
		wn_db_close(db);
		return WN_EDB;
	}
	if (ver > WN_DB_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than this winnow's %d", path,
			 ver, WN_DB_SCHEMA_VERSION);
		wn_db_close(db);
		return WN_EDB;
	}
	*out = db;
	return 0;
}

void wn_db_close(wn_db *db)
{
	if (!db) return;
	sqlite3_close(db->h);
	free(db);
}

const char *wn_db_error(const wn_db *db) { return db->msg; }
void *wn_db_handle(wn_db *db) { return db->h; }

int wn_db_exec(wn_db *db, const char *sql)
{
	if (begin(db)) return WN_EDB;
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(db, "sqlite");
		rollback(db);
		return WN_EDB;
	}
	return commit(db);
}

/* Prepare, bind and step one statement inside the caller's transaction. */
static int step_done(wn_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		set_err(db, "sqlite");
		return WN_EDB;
	}
	return 0;
}

static void json_arg(wn_buf *b, const char *s)
{
	wn_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') { wn_buf_addc(b, '\\'); wn_buf_addc(b, (char)c); }
		else if (c < 0x20) wn_buf_addf(b, "\\u%04x", c);
		else wn_buf_addc(b, (char)c);
	}
	wn_buf_addc(b, '"');
}

int wn_db_run_begin(wn_db *db, const char *tool, int argc, char **argv,
		    const char *shard, int64_t *run_id)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	wn_buf args = WN_BUF_INIT;
	wn_buf_addc(&args, '[');
	for (int i = 0; i < argc; i++) {
		if (i) wn_buf_addc(&args, ',');
		json_arg(&args, argv[i]);
	}
	wn_buf_addc(&args, ']');
	double now = wn_wallclock();
	char uuid[400];
	unsigned rnd = 0;
	FILE *f = fopen("/dev/urandom", "rb");
	if (f) { if (fread(&rnd, sizeof rnd, 1, f) != 1) rnd = 0; fclose(f); }
	snprintf(uuid, sizeof uuid, "%s-%ld-%.6f-%08x", host, (long)getpid(), now, rnd);

	int rc = begin(db);
	if (rc) { wn_buf_release(&args); return rc; }
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO runs(uuid,tool,args,host,pid,version,shard,started,status)"
			       " VALUES(?,?,?,?,?,?,?,?,'running')", -1, &st, NULL) != SQLITE_OK) {
		rc = set_err(db, "sqlite");
		goto out;
	}
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, tool, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, args.data, (int)args.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)getpid());
	sqlite3_bind_text(st, 6, WN_VERSION, -1, SQLITE_STATIC);
	if (shard) sqlite3_bind_text(st, 7, shard, -1, SQLITE_TRANSIENT);
	else sqlite3_bind_null(st, 7);
	sqlite3_bind_double(st, 8, now);
	rc = step_done(db, st);
	*run_id = sqlite3_last_insert_rowid(db->h);
out:
	sqlite3_finalize(st);
	wn_buf_release(&args);
	if (rc) { rollback(db); return rc; }
	return commit(db);
}

int wn_db_run_end(wn_db *db, int64_t run_id, const char *status, int exit_code)
{
	int rc = begin(db);
	if (rc) return rc;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, "UPDATE runs SET ended=?, status=?, exit_code=? WHERE run_id=?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = set_err(db, "sqlite");
	} else {
		sqlite3_bind_double(st, 1, wn_wallclock());
		sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, exit_code);
		sqlite3_bind_int64(st, 4, run_id);
		rc = step_done(db, st);
	}
	sqlite3_finalize(st);
	if (rc) { rollback(db); return rc; }
	return commit(db);
}

int wn_db_add_input(wn_db *db, int64_t run_id, const wn_db_input *in,
		    const wn_db_count *reasons, size_t nreasons,
		    const char *kind, const wn_db_count *keys, size_t nkeys)
{
	int rc = begin(db);
	if (rc) return rc;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO inputs VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = set_err(db, "sqlite");
		goto out;
	}
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, in->input, -1, SQLITE_TRANSIENT);
	if (in->output) sqlite3_bind_text(st, 3, in->output, -1, SQLITE_TRANSIENT);
	else sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, in->status, -1, SQLITE_TRANSIENT);
	if (in->error) sqlite3_bind_text(st, 5, in->error, -1, SQLITE_TRANSIENT);
	else sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)in->docs_in);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)in->docs_out);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)in->docs_dropped);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)in->bytes_in);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)in->bytes_out);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)in->raw_bytes_in);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)in->text_bytes_in);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)in->text_bytes_out);
	sqlite3_bind_double(st, 14, in->seconds);
	if ((rc = step_done(db, st))) goto out;
	sqlite3_finalize(st);
	st = NULL;

	if (nreasons) {
		if (sqlite3_prepare_v2(db->h, "INSERT INTO drops VALUES(?,?,?,?,?)", -1, &st,
				       NULL) != SQLITE_OK) {
			rc = set_err(db, "sqlite");
			goto out;
		}
		for (size_t i = 0; i < nreasons; i++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, run_id);
			sqlite3_bind_text(st, 2, in->input, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, reasons[i].key, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)reasons[i].docs);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)reasons[i].bytes);
			if ((rc = step_done(db, st))) goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (nkeys) {
		if (sqlite3_prepare_v2(db->h, "INSERT INTO counts VALUES(?,?,?,?,?,?,?,?)", -1,
				       &st, NULL) != SQLITE_OK) {
			rc = set_err(db, "sqlite");
			goto out;
		}
		for (size_t i = 0; i < nkeys; i++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, run_id);
			sqlite3_bind_text(st, 2, in->input, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, keys[i].kind ? keys[i].kind : kind, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, keys[i].key, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)keys[i].docs);
			sqlite3_bind_int64(st, 6, (sqlite3_int64)keys[i].bytes);
			sqlite3_bind_int64(st, 7, (sqlite3_int64)keys[i].docs_out);
			sqlite3_bind_int64(st, 8, (sqlite3_int64)keys[i].bytes_out);
			if ((rc = step_done(db, st))) goto out;
		}
	}
out:
	sqlite3_finalize(st);
	if (rc) { rollback(db); return rc; }
	return commit(db);
}

int wn_db_add_edits(wn_db *db, int64_t run_id, const char *input, const char *const *kinds,
		    const char *const *keys, const uint64_t *docs, const uint64_t *units, size_t n)
{
	if (begin(db)) return WN_EDB;
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(db->h, "INSERT INTO edits VALUES(?,?,?,?,?,?)", -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = set_err(db, "sqlite");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_text(st, 2, input, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, kinds[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, keys[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)docs[i]);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)units[i]);
		if ((rc = step_done(db, st))) goto out;
	}
out:
	sqlite3_finalize(st);
	if (rc) { rollback(db); return rc; }
	return commit(db);
}

/* ---- merge ---- */

int wn_db_merge(wn_db *db, const char *src, uint64_t *runs_added)
{
	*runs_added = 0;
	/* open the source first to check it is a winnow stats database */
	sqlite3 *s = NULL;
	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(db->msg, sizeof db->msg, "%s: %s", src, s ? sqlite3_errmsg(s) : "cannot open");
		sqlite3_close(s);
		return WN_EDB;
	}
	sqlite3_stmt *st = NULL;
	int ver = -1;
	if (sqlite3_prepare_v2(s, "SELECT value FROM meta WHERE key='schema_version'", -1, &st,
			       NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		ver = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	/* tables of the source keyed by run_id, with their definitions */
	wn_buf tables = WN_BUF_INIT; /* NUL-separated name\0sql\0 */
	size_t ntables = 0;
	if (ver >= 1 &&
	    sqlite3_prepare_v2(s, "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type='table'"
			       " AND m.name NOT IN ('meta','runs') AND EXISTS (SELECT 1 FROM"
			       " pragma_table_info(m.name) WHERE name='run_id') ORDER BY m.name",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *n = (const char *)sqlite3_column_text(st, 0);
			const char *q = (const char *)sqlite3_column_text(st, 1);
			wn_buf_add(&tables, n, strlen(n) + 1);
			wn_buf_add(&tables, q, strlen(q) + 1);
			ntables++;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	if (ver < 1) {
		snprintf(db->msg, sizeof db->msg, "%s: not a winnow stats database", src);
		wn_buf_release(&tables);
		return WN_EDB;
	}
	if (ver > WN_DB_SCHEMA_VERSION) {
		snprintf(db->msg, sizeof db->msg, "%s: schema version %d is newer than %d", src, ver,
			 WN_DB_SCHEMA_VERSION);
		wn_buf_release(&tables);
		return WN_EDB;
	}

	char *q = sqlite3_mprintf("ATTACH DATABASE %Q AS src", src);
	int rc = exec_retry(db, q);
	sqlite3_free(q);
	if (rc) { wn_buf_release(&tables); return rc; }
	if ((rc = begin(db))) goto detach;
	rc = WN_EDB;
	if (sqlite3_exec(db->h,
			 "CREATE TEMP TABLE IF NOT EXISTS merge_new(old INTEGER PRIMARY KEY, uuid TEXT);"
			 "CREATE TEMP TABLE IF NOT EXISTS merge_map(old INTEGER PRIMARY KEY, new INTEGER);"
			 "DELETE FROM merge_new; DELETE FROM merge_map;"
			 "INSERT INTO merge_new SELECT run_id, uuid FROM src.runs"
			 " WHERE uuid NOT IN (SELECT uuid FROM main.runs);"
			 "INSERT INTO main.runs(uuid,tool,args,host,pid,version,shard,started,ended,status,exit_code)"
			 " SELECT uuid,tool,args,host,pid,version,shard,started,ended,status,exit_code"
			 " FROM src.runs WHERE run_id IN (SELECT old FROM merge_new) ORDER BY run_id;"
			 "INSERT INTO merge_map SELECT n.old, m.run_id FROM merge_new n"
			 " JOIN main.runs m ON m.uuid = n.uuid;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		set_err(db, "merge");
		goto fail;
	}
	*runs_added = (uint64_t)sqlite3_changes(db->h); /* rows of merge_map */
	const char *p = tables.data;
	for (size_t t = 0; t < ntables; t++) {
		const char *name = p;
		p += strlen(p) + 1;
		const char *def = p;
		p += strlen(p) + 1;
		/* a module table the target lacks: create it from the source's definition */
		char *mk = sqlite3_mprintf("SELECT 1 FROM main.sqlite_master WHERE type='table' AND name=%Q", name);
		int exists = 0;
		if (sqlite3_prepare_v2(db->h, mk, -1, &st, NULL) == SQLITE_OK) {
			exists = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_finalize(st);
		}
		sqlite3_free(mk);
		if (!exists && sqlite3_exec(db->h, def, NULL, NULL, NULL) != SQLITE_OK) {
			set_err(db, name);
			goto fail;
		}
		/* column list of the source table, run_id mapped */
		wn_buf cols = WN_BUF_INIT, sel = WN_BUF_INIT;
		char *ti = sqlite3_mprintf("SELECT name FROM pragma_table_info(%Q, 'src')", name);
		if (sqlite3_prepare_v2(db->h, ti, -1, &st, NULL) == SQLITE_OK) {
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *c = (const char *)sqlite3_column_text(st, 0);
				if (cols.len) { wn_buf_addc(&cols, ','); wn_buf_addc(&sel, ','); }
				char *qc = sqlite3_mprintf("\"%w\"", c);
				wn_buf_adds(&cols, qc);
				if (!strcmp(c, "run_id")) wn_buf_adds(&sel, "mm.new");
				else { wn_buf_adds(&sel, "t."); wn_buf_adds(&sel, qc); }
				sqlite3_free(qc);
			}
			sqlite3_finalize(st);
		}
		sqlite3_free(ti);
		char *ins = sqlite3_mprintf("INSERT INTO main.\"%w\"(%s) SELECT %s FROM src.\"%w\" t"
					    " JOIN merge_map mm ON mm.old = t.run_id",
					    name, cols.data, sel.data, name);
		int ok = sqlite3_exec(db->h, ins, NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_free(ins);
		wn_buf_release(&cols);
		wn_buf_release(&sel);
		if (!ok) {
			set_err(db, name);
			goto fail;
		}
	}
	rc = commit(db);
	goto detach;
fail:
	rollback(db);
detach:
	sqlite3_exec(db->h, "DETACH DATABASE src", NULL, NULL, NULL);
	wn_buf_release(&tables);
	return rc;
}

/* ---- summary ---- */

static void human(char *out, size_t n, double v, const char *unit)
{
	const char *pre[] = { "", "k", "M", "G", "T", "P" };
	int i = 0;
	while (v >= 1000 && i < 5) { v /= 1000; i++; }
	if (i == 0) snprintf(out, n, "%.0f%s%s", v, *unit ? " " : "", unit);
	else snprintf(out, n, "%.1f %s%s", v, pre[i], unit);
}

static int summary_runs(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT tool, count(*), sum(status='ok'), sum(status = 'failed'),"
			       " sum(status='running'), datetime(min(started),'unixepoch'),"
			       " datetime(max(coalesce(ended,started)),'unixepoch')"
			       " FROM runs GROUP BY tool ORDER BY min(started)", -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	wn_buf_adds(out, "runs\n");
	wn_buf_addf(out, "  %-10s %6s %6s %7s %8s  %-19s  %-19s\n", "tool", "runs", "ok",
		    "failed", "running", "first start", "last end");
	while (sqlite3_step(st) == SQLITE_ROW)
		wn_buf_addf(out, "  %-10s %6d %6d %7d %8d  %-19s  %-19s\n",
			    sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
			    sqlite3_column_int(st, 2), sqlite3_column_int(st, 3),
			    sqlite3_column_int(st, 4), sqlite3_column_text(st, 5),
			    sqlite3_column_text(st, 6));
	sqlite3_finalize(st);
	return 0;
}

static int summary_recent(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT * FROM (SELECT r.run_id, r.tool, r.status, count(i.input),"
			       " sum(i.docs_in), sum(i.docs_out), sum(i.docs_dropped),"
			       " coalesce(r.ended, r.started) - r.started, r.args"
			       " FROM runs r LEFT JOIN inputs i USING(run_id) GROUP BY r.run_id"
			       " ORDER BY r.run_id DESC LIMIT 20) ORDER BY run_id", -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	wn_buf_adds(out, "\nlast runs\n");
	wn_buf_addf(out, "  %5s %-10s %-7s %6s %10s %10s %10s %8s  %s\n", "run", "tool", "status",
		    "inputs", "docs in", "docs out", "dropped", "seconds", "arguments");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char a[32], b[32], c[32];
		human(a, sizeof a, sqlite3_column_double(st, 4), "");
		human(b, sizeof b, sqlite3_column_double(st, 5), "");
		human(c, sizeof c, sqlite3_column_double(st, 6), "");
		const char *args = (const char *)sqlite3_column_text(st, 8);
		wn_buf_addf(out, "  %5lld %-10s %-7s %6d %10s %10s %10s %8.1f  %.60s%s\n",
			    (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1),
			    sqlite3_column_text(st, 2), sqlite3_column_int(st, 3), a, b, c,
			    sqlite3_column_double(st, 7), args ? args : "",
			    args && strlen(args) > 60 ? "..." : "");
	}
	sqlite3_finalize(st);
	return 0;
}

static int summary_funnel(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT tool, inputs, docs_in, docs_out, docs_dropped, bytes_in, bytes_out,"
			       " failed_inputs FROM funnel ORDER BY first_started", -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	wn_buf_adds(out, "\nfunnel (documents and uncompressed bytes per tool, all runs)\n");
	wn_buf_addf(out, "  %-10s %7s %10s %10s %10s %7s %11s %11s %7s\n", "tool", "inputs",
		    "docs in", "docs out", "dropped", "kept", "bytes in", "bytes out", "failed");
	while (sqlite3_step(st) == SQLITE_ROW) {
		double din = sqlite3_column_double(st, 2), dout = sqlite3_column_double(st, 3);
		char a[32], b[32], c[32], d[32], e[32];
		human(a, sizeof a, din, "");
		human(b, sizeof b, dout, "");
		human(c, sizeof c, sqlite3_column_double(st, 4), "");
		human(d, sizeof d, sqlite3_column_double(st, 5), "B");
		human(e, sizeof e, sqlite3_column_double(st, 6), "B");
		wn_buf_addf(out, "  %-10s %7d %10s %10s %10s %6.1f%% %11s %11s %7d\n",
			    sqlite3_column_text(st, 0), sqlite3_column_int(st, 1), a, b, c,
			    din > 0 ? 100.0 * dout / din : 0.0, d, e, sqlite3_column_int(st, 7));
	}
	sqlite3_finalize(st);
	return 0;
}

static int summary_reasons(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT r.tool, r.reason, r.docs, r.bytes, f.docs_in FROM reasons r"
			       " JOIN funnel f USING(tool) ORDER BY f.first_started, r.docs DESC",
			       -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	int any = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!any) {
			wn_buf_adds(out, "\ndropped, by reason\n");
			wn_buf_addf(out, "  %-10s %-32s %10s %8s %11s\n", "tool", "reason", "docs",
				    "of in", "bytes");
			any = 1;
		}
		double docs = sqlite3_column_double(st, 2), din = sqlite3_column_double(st, 4);
		char a[32], b[32];
		human(a, sizeof a, docs, "");
		human(b, sizeof b, sqlite3_column_double(st, 3), "B");
		wn_buf_addf(out, "  %-10s %-32s %10s %7.2f%% %11s\n", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1), a, din > 0 ? 100.0 * docs / din : 0.0, b);
	}
	sqlite3_finalize(st);
	return 0;
}

static int summary_keys(wn_db *db, wn_buf *out, const char *kind, const char *title)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT r.tool, c.key, sum(c.docs_in), sum(c.docs_out), sum(c.bytes_in),"
			       " sum(c.bytes_out) FROM counts c JOIN runs r USING(run_id)"
			       " WHERE c.kind = ? GROUP BY r.tool, c.key"
			       " ORDER BY min(r.started), sum(c.docs_in) DESC", -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	int any = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!any) {
			wn_buf_addf(out, "\n%s\n", title);
			wn_buf_addf(out, "  %-10s %-20s %10s %10s %11s %11s\n", "tool", kind,
				    "docs in", "docs out", "bytes in", "bytes out");
			any = 1;
		}
		char a[32], b[32], c[32], d[32];
		human(a, sizeof a, sqlite3_column_double(st, 2), "");
		human(b, sizeof b, sqlite3_column_double(st, 3), "");
		human(c, sizeof c, sqlite3_column_double(st, 4), "B");
		human(d, sizeof d, sqlite3_column_double(st, 5), "B");
		wn_buf_addf(out, "  %-10s %-20s %10s %10s %11s %11s\n", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1), a, b, c, d);
	}
	sqlite3_finalize(st);
	return 0;
}

/* The tokens winnow tok encode wrote, per domain (when it has run). */
static int summary_tokens(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='tokens'", -1, &st,
			       NULL) != SQLITE_OK)
		return set_err(db, "summary");
	int have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!have) return 0;
	if (sqlite3_prepare_v2(db->h,
			       "SELECT domain, sum(documents), sum(tokens), count(DISTINCT run_id) FROM tokens"
			       " GROUP BY domain ORDER BY sum(tokens) DESC", -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	int any = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!any) {
			wn_buf_adds(out, "\ntokens written (tok encode), by domain\n");
			wn_buf_addf(out, "  %-20s %10s %11s %6s\n", "domain", "docs", "tokens", "runs");
			any = 1;
		}
		char a[32], b[32];
		human(a, sizeof a, sqlite3_column_double(st, 1), "");
		human(b, sizeof b, sqlite3_column_double(st, 2), "");
		wn_buf_addf(out, "  %-20s %10s %11s %6d\n", sqlite3_column_text(st, 0), a, b,
			    sqlite3_column_int(st, 3));
	}
	sqlite3_finalize(st);
	return 0;
}

/* The training runs (winnow train): the last step's loss, and per
 * domain the training loss over the run's last 10% of steps and the last
 * held-out loss. */
static int summary_train(wn_db *db, wn_buf *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='train_domain_loss'", -1,
			       &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	int have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!have) return 0;
	if (sqlite3_prepare_v2(
		    db->h,
		    "WITH last AS (SELECT run_id, max(step) AS s FROM train_steps GROUP BY run_id) "
		    "SELECT d.run_id, d.domain, l.s,"
		    " sum(CASE WHEN d.split = 'train' AND d.step > l.s * 0.9 THEN d.loss_sum END) /"
		    " sum(CASE WHEN d.split = 'train' AND d.step > l.s * 0.9 THEN d.tokens END),"
		    " (SELECT e.loss_sum / e.tokens FROM train_domain_loss e WHERE e.run_id = d.run_id"
		    "  AND e.domain = d.domain AND e.split = 'eval' ORDER BY e.step DESC LIMIT 1),"
		    " sum(CASE WHEN d.split = 'train' THEN d.tokens END)"
		    " FROM train_domain_loss d JOIN last l ON l.run_id = d.run_id"
		    " GROUP BY d.run_id, d.domain ORDER BY d.run_id, d.domain",
		    -1, &st, NULL) != SQLITE_OK)
		return set_err(db, "summary");
	int64_t run = -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (run < 0) {
			wn_buf_adds(out, "\ntraining (train): loss per domain, nats per token\n");
			wn_buf_addf(out, "  %-6s %-20s %8s %11s %12s %9s\n", "run", "domain", "steps", "tokens",
				    "train (end)", "held out");
		}
		run = sqlite3_column_int64(st, 0);
		char tok[32], a[32] = "-", b[32] = "-";
		human(tok, sizeof tok, sqlite3_column_double(st, 5), "");
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) snprintf(a, sizeof a, "%.4f", sqlite3_column_double(st, 3));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) snprintf(b, sizeof b, "%.4f", sqlite3_column_double(st, 4));
		wn_buf_addf(out, "  %-6lld %-20s %8lld %11s %12s %9s\n", (long long)run, sqlite3_column_text(st, 1),
			    (long long)sqlite3_column_int64(st, 2), tok, a, b);
	}
	sqlite3_finalize(st);
	return 0;
}

int wn_db_summary(wn_db *db, wn_buf *out)
{
	int rc = summary_runs(db, out);
	if (!rc) rc = summary_recent(db, out);
	if (!rc) rc = summary_funnel(db, out);
	if (!rc) rc = summary_reasons(db, out);
	if (!rc) rc = summary_keys(db, out, "domain", "domains");
	if (!rc) rc = summary_keys(db, out, "lang", "languages");
	if (!rc) rc = summary_tokens(db, out);
	if (!rc) rc = summary_train(db, out);
	return rc;
}
