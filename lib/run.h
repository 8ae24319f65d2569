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

/* What one input did (see input_done). */
typedef struct wn_input_counts {
	uint64_t docs_in, docs_out, docs_dropped, bad_lines;
	uint64_t bytes_in, bytes_out;  /* JSONL bytes, newlines included */
} wn_input_counts;

/* Called once per parsed document with a string text.  Return WN_KEEP, or
 * WN_DROP and set *reason (a static string such as "cat:sample"). */
typedef int (*wn_doc_fn)(void *ctx, wn_run *r, wn_doc *d, const char **reason);

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
	int stop;            /* set by fn: end the run after this document */

	/* read by the tool (totals over all inputs) */
	const char *input;   /* current input name */
	uint64_t lineno;     /* current line */
	uint64_t docs_in, docs_out, docs_dropped, bad_lines;
	uint64_t bytes_in, bytes_out, raw_bytes_in;
	int inputs_failed;
	int exit_code;
};

int wn_run_main(wn_run *r, int ninputs, char **inputs);

/* Base name of an input for -O: the last path (or URL path) component. */
const char *wn_run_basename(const char *input, char *buf, size_t n);

#endif
