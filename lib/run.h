/*
 * run.h - the document loop every tool shares.
 *
 * A tool fills a wn_run with its name, the common options and a callback
 * that sees each parsed document and answers WN_KEEP or WN_DROP (with a
 * reason); wn_run_main() does the rest:
 *
 *   select this task's inputs (--shard / Slurm)  ->  open --stats, --rejects
 *   for each input: read lines, parse documents, report bad lines
 *     (FILE:LINE, reason bad_json / bad_utf8 / no_text / text_not_string /
 *     line_too_long), call the tool, write kept documents, write dropped
 *     ones to --rejects with a "reject" object, count everything
 *   record each input (docs and bytes in, out and dropped per reason, per
 *   domain) in the stats database; docs_in = docs_out + docs_dropped holds
 *   for every input, and is checked before it is recorded
 *
 * Output is stdout, -o FILE (all inputs into one file) or -O DIR (one
 * output per input, named as the input; --skip-existing resumes).  An
 * input that cannot be read whole is an error: with -O its output is not
 * kept, so a re-run redoes it.  --on-error fail stops at the first bad
 * line or failed input and keeps no output file.
 *
 * wn_run_main() returns the exit status: 0, or 1 after a runtime failure.
 * A reader that closed our stdout (| head) ends the run quietly.
 */
#ifndef WN_RUN_H
#define WN_RUN_H

#include <stdint.h>
#include "doc.h"
#include "opts.h"

enum { WN_KEEP = 0, WN_DROP = 1 };

typedef struct wn_run wn_run;
typedef struct wn_reader wn_reader;

/* What one input did (see input_done). */
typedef struct wn_input_counts {
	uint64_t docs_in, docs_out, docs_dropped, bad_lines;
	uint64_t bytes_in, bytes_out;  /* JSONL bytes, newlines included */
} wn_input_counts;

/* One document's bookkeeping, between the runner and the tool. */
typedef struct wn_item {
	/* set by the runner */
	const char *input;    /* input name */
	uint64_t lineno;      /* line (JSONL) or record number in the input */
	/* set by the tool (all start zeroed) */
	const char *reason;   /* with WN_DROP: a static string such as "cat:sample" */
	uint64_t flags;       /* bit i: count the document under flag_names[i] */
	const char *label;    /* count the document under label_kind/label; the
	                       * string must live until the run ends */
	int stop;             /* end the run after this document */
	/* per-document amounts, one per tally_names[i] (NULL: none); read
	 * when the callback returns, so a per-worker array will do */
	const uint32_t *tally;
	/* a kept document's result for the run's commit callback: copied
	 * when the callback returns (so scratch memory will do), to an
	 * 8-byte aligned place */
	const void *data;
	size_t data_len;
} wn_item;

/* What commit sees of a kept document, on the loop thread, in input
 * order: the tool's data (see wn_item) and the document's domain. */
typedef struct wn_commit {
	const char *input;
	uint64_t lineno;
	const void *data;
	size_t data_len;
	const char *domain;  /* NULL when the document has none */
	size_t domain_len;
} wn_commit;

/* Called once per parsed document with a string text.  Return WN_KEEP, or
 * WN_DROP and set it->reason.  With threads > 1 it runs on worker threads,
 * several documents at once, each worker with its own ctx. */
typedef int (*wn_doc_fn)(void *ctx, wn_item *it, wn_doc *d);

/* A source turns an input that is not JSONL (text, HTML, WARC) into
 * documents: it reads rd's bytes (wn_reader_read) and calls
 * wn_source_emit() with each document as one JSON object line, or
 * wn_source_bad() for a record it cannot use.  It returns 0, or a WN_E code
 * after wn_source_fail() said what went wrong (the input then failed). */
typedef struct wn_source wn_source;
typedef int (*wn_source_fn)(void *ctx, wn_source *s, wn_reader *rd, const char *input);
/* flags: bits to set in the document's wn_item flags (a source that
 * already repaired something says so) */
void wn_source_emit(wn_source *s, const char *json, size_t n, uint64_t pos, uint64_t flags);
void wn_source_bad(wn_source *s, const char *reason, const char *what, const char *raw,
		   size_t n, uint64_t pos);
int wn_source_fail(wn_source *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True once the run is stopping (a fatal error, --head reached). */
int wn_source_stopped(const wn_source *s);

struct wn_run {
	/* set by the tool */
	const char *tool;
	const wn_opts *o;
	int argc;            /* the command line, for the stats record */
	char **argv;
	wn_doc_fn fn;        /* NULL keeps every valid document */
	void *ctx;
	int no_output;       /* count only: kept documents are not written */
	/* called after each input with its counts (may be NULL) */
	void (*input_done)(void *ctx, wn_run *r, const char *input, int ok,
			   const wn_input_counts *c);
	/* called for each kept document in input order (may be NULL); a
	 * non-zero return is a fatal error the callback has reported */
	int (*commit)(void *ctx, wn_run *r, const wn_commit *c);
	int stop;            /* set before the run: read nothing */
	/* threads calling fn (<= 1: this thread).  Input order is kept: a
	 * reader fills batches, workers process them, and this thread
	 * counts and writes them in order. */
	int threads;
	/* each worker's ctx (NULL: workers share ctx, fn must be thread-safe) */
	void *(*thread_ctx)(void *ctx, int worker);
	void (*thread_ctx_free)(void *ctx, void *wctx); /* at the end (may be NULL) */
	/* per-document flags and labels, recorded in the stats `counts`
	 * table as (flag_kind, flag_names[i]) and (label_kind, label) */
	const char *flag_kind;
	const char *const *flag_names;
	int nflags;          /* <= 64 */
	const char *label_kind;
	/* tallies: amounts a document adds to (tally_kinds[i], tally_names[i]),
	 * such as the lines a rule removed; recorded in the stats `edits`
	 * table as documents with a non-zero amount and the sum of amounts */
	const char *const *tally_kinds;
	const char *const *tally_names;
	int ntallies;
	int tally_dense;     /* tallies [0, tally_dense) are recorded even when
	                      * zero; later ones only when a document counted */
	wn_source_fn source; /* inputs are not JSONL (NULL: they are) */
	const char *out_suffix; /* -O: appended to the input's name (NULL: none) */

	/* read by the tool (totals over all inputs) */
	const char *input;   /* current input name */
	uint64_t lineno;     /* current line */
	uint64_t docs_in, docs_out, docs_dropped, bad_lines;
	uint64_t bytes_in, bytes_out, raw_bytes_in;
	int inputs_failed;
	int exit_code;
	/* --stats: the database and this run's id, for a tool's own tables
	 * (NULL, 0 without --stats) */
	struct wn_db *db;
	int64_t run_id;
};

int wn_run_main(wn_run *r, int ninputs, char **inputs);

/* Base name of an input for -O: the last path (or URL path) component. */
const char *wn_run_basename(const char *input, char *buf, size_t n);

#endif
