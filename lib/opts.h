/*
 * opts.h - the options every document tool shares, and input selection.
 *
 * A command builds its getopt_long table with wn_opts_longopts(own), which
 * appends the common options to its own, and hands every option it does
 * not know to wn_opts_common().  The common options' --help text is
 * WN_OPTS_HELP, and each command's man page lists them too (a test checks).
 */
#ifndef WN_OPTS_H
#define WN_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include "doc.h"

typedef struct wn_opts {
	const char *output;      /* -o FILE; NULL = stdout */
	const char *outdir;      /* -O DIR: one output per input */
	int skip_existing;
	int level;               /* --level, 0 = codec default */
	const char *rejects;     /* --rejects FILE */
	const char *stats;       /* --stats DB */
	int on_error_fail;       /* --on-error fail */
	wn_doc_fields fields;    /* --text-field, --id-field, --domain-field */
	int shard_i, shard_n;    /* --shard I/N; n = 0: all inputs */
	int shard_from_slurm;
	int progress;            /* -1 auto, 0 off, 1 --progress */
	int quiet;
	size_t max_line;         /* --max-line BYTES */
	int max_messages;        /* bad-line messages shown before going quiet */
} wn_opts;

enum {
	WN_OPT_SKIP_EXISTING = 0x1000, WN_OPT_LEVEL, WN_OPT_REJECTS, WN_OPT_STATS,
	WN_OPT_ON_ERROR, WN_OPT_TEXT_FIELD, WN_OPT_ID_FIELD, WN_OPT_DOMAIN_FIELD,
	WN_OPT_SHARD, WN_OPT_PROGRESS, WN_OPT_MAX_LINE, WN_OPT_COMMON_END
};

#define WN_OPTS_SHORT ":o:O:qh"

#define WN_OPTS_HELP \
"Input and output:\n" \
"  -o, --output FILE       write to FILE (.zst, .gz or plain by name); default stdout\n" \
"  -O, --output-dir DIR    write one output per input, named as the input, into DIR\n" \
"      --skip-existing     skip outputs that already exist (resume a run)\n" \
"      --level N           compression level (zstd default 3, gzip 6)\n" \
"      --max-line BYTES    longest accepted line (default 1073741824)\n" \
"Documents:\n" \
"      --text-field NAME   field holding the text (default text)\n" \
"      --id-field NAME     field holding the id (default id)\n" \
"      --domain-field NAME field holding the domain (default domain)\n" \
"Errors and records:\n" \
"      --on-error skip|fail  bad lines: report and skip (default), or stop with exit 1\n" \
"      --rejects FILE      write dropped documents with a \"reject\" object to FILE\n" \
"      --stats DB          record the run in the SQLite database DB\n" \
"Scale-out:\n" \
"      --shard I/N         take inputs I, I+N, I+2N, ... of the sorted list (0 <= I < N);\n" \
"                          default from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT\n" \
"Talk:\n" \
"      --progress          show progress on stderr even when it is not a terminal\n" \
"  -q, --quiet             print nothing but errors\n" \
"  -h, --help              show this help\n"

void wn_opts_init(wn_opts *o);
/* A getopt_long table of `own` (terminated by a zero entry) followed by the
 * common options; the caller frees it. */
struct option *wn_opts_longopts(const struct option *own);
/* Handle a common option: 1 taken, 0 not common, -1 bad value (an error
 * message is in err). */
int wn_opts_common(wn_opts *o, int opt, const char *arg, char *err, size_t errlen);
/* After parsing: apply Slurm's array variables when --shard was not given.
 * -1 with a message on inconsistent values. */
int wn_opts_finish(wn_opts *o, char *err, size_t errlen);

/* The inputs this task takes: all of them in the order given, or with
 * sharding every N-th from I of the list sorted by name.  No inputs means
 * stdin.  Returns a new array of borrowed strings; the caller frees it. */
char **wn_opts_select(const wn_opts *o, int n, char **inputs, int *nout);

/* The CPUs online (1..64): the default of --threads. */
int wn_ncpus(void);

/* "CACHE/sub" into out, where CACHE is winnow's data cache:
 * $WINNOW_CACHE, else $XDG_CACHE_HOME/winnow, else ~/.cache/winnow (as
 * scripts/fetch-data.sh has it). */
void wn_cache_path(char *out, size_t n, const char *sub);

/* Parse a size like 64M, 1G, 4096. -1 on error. */
long long wn_parse_size(const char *s);

#endif
