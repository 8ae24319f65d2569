/*
 * db.h - the run's record in SQLite (schema in man/winnow-stats.5).
 *
 * wn_db_open() opens or creates the database, switches it to WAL with a
 * busy timeout and creates the schema inside one IMMEDIATE transaction, so
 * that many processes may start on one database at once.  Every write is a
 * short IMMEDIATE transaction retried while SQLite answers BUSY: eight
 * concurrent tools writing one file lose no rows (tested).  On a shared
 * filesystem, give each task its own file and combine them with
 * wn_db_merge().
 *
 * Ownership: the wn_db owns its connection; strings are copied by SQLite.
 */
#ifndef WN_DB_H
#define WN_DB_H

#include <stdint.h>
#include "buf.h"

#define WN_DB_SCHEMA_VERSION 1

typedef struct wn_db wn_db;

/* Counts of one reason or one key within one input. */
typedef struct wn_db_count {
	const char *key;
	uint64_t docs, bytes;          /* dropped (reasons) or in (keys) */
	uint64_t docs_out, bytes_out;  /* kept (keys only) */
	const char *kind;              /* keys: overrides the call's kind */
} wn_db_count;

typedef struct wn_db_input {
	const char *input, *output;
	const char *status;   /* "ok", "error", "skipped" */
	const char *error;    /* message or NULL */
	uint64_t docs_in, docs_out, docs_dropped;
	uint64_t bytes_in, bytes_out;  /* uncompressed JSONL bytes */
	uint64_t raw_bytes_in;         /* bytes read from the source */
	uint64_t text_bytes_in, text_bytes_out;
	double seconds;
} wn_db_input;

int wn_db_open(wn_db **db, const char *path, char *err, size_t errlen);
/* Open an existing stats database read-only (for summaries): refuses a
 * file that is not one, and changes nothing in it. */
int wn_db_open_ro(wn_db **db, const char *path, char *err, size_t errlen);
void wn_db_close(wn_db *db);
const char *wn_db_error(const wn_db *db);
void *wn_db_handle(wn_db *db); /* the sqlite3 * for module tables */

/* Insert the run row (status "running"); returns 0 and sets *run_id. */
int wn_db_run_begin(wn_db *db, const char *tool, int argc, char **argv,
		    const char *shard, int64_t *run_id);
int wn_db_run_end(wn_db *db, int64_t run_id, const char *status, int exit_code);
/* One input with its drop reasons and per-domain / per-language counts. */
int wn_db_add_input(wn_db *db, int64_t run_id, const wn_db_input *in,
		    const wn_db_count *reasons, size_t nreasons,
		    const char *kind, const wn_db_count *keys, size_t nkeys);
/* What a tool changed inside documents, per (kind, key): the documents
 * with a non-zero amount and the sum of the amounts (lines removed...). */
int wn_db_add_edits(wn_db *db, int64_t run_id, const char *input, const char *const *kinds,
		    const char *const *keys, const uint64_t *docs, const uint64_t *units, size_t n);
/* Run `sql` (several statements) in one IMMEDIATE transaction with retry. */
int wn_db_exec(wn_db *db, const char *sql);

/* Copy every run of `src` not yet in `db` (matched by uuid), with the rows
 * of every table keyed by run_id. */
int wn_db_merge(wn_db *db, const char *src, uint64_t *runs_added);

/* Append the human summary (runs, funnel, reasons, domains, languages). */
int wn_db_summary(wn_db *db, wn_buf *out);

#endif
