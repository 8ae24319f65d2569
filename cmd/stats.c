/*
 * stats.c - winnow stats: read and combine the SQLite run records.
 *
 *   winnow stats DB             runs, the funnel of docs and bytes per tool,
 *                               drop reasons, domains and languages
 *   winnow stats merge OUT DB.. copy every run of each DB into OUT once
 *                               (runs are matched by uuid, so re-merging is
 *                               harmless)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/buf.h"
#include "../lib/db.h"
#include "../lib/log.h"

static const char usage_text[] =
"usage: winnow stats [OPTIONS] DB\n"
"       winnow stats merge [OPTIONS] OUT DB...\n"
"\n"
"Print the summary of a winnow stats database: runs per tool, the funnel\n"
"of documents and bytes through each tool, drop reasons, domains and\n"
"languages.  'merge' combines per-task databases into OUT.\n"
"Everything is also queryable with the sqlite3 shell (man 5 winnow-stats).\n"
"\n"
"  -q, --quiet             print nothing but errors (merge)\n"
"  -h, --help              show this help\n";

static const struct option longopts[] = {
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int merge(int n, char **args)
{
	if (n < 2) return cmd_usage_error("merge needs OUT and at least one DB");
	char err[600];
	wn_db *db;
	if (wn_db_open(&db, args[0], err, sizeof err)) {
		wn_error("%s", err);
		return 1;
	}
	int rc = 0;
	for (int i = 1; i < n; i++) {
		if (access(args[i], R_OK) != 0) {
			wn_error("%s: cannot read", args[i]);
			rc = 1;
			continue;
		}
		uint64_t added = 0;
		if (wn_db_merge(db, args[i], &added)) {
			wn_error("%s", wn_db_error(db));
			rc = 1;
			continue;
		}
		wn_info("%s: %llu runs merged", args[i], (unsigned long long)added);
	}
	wn_db_close(db);
	return rc;
}

int cmd_stats(int argc, char **argv)
{
	int opt;
	int quiet = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cmd_bad_option(opt, argv);
		}
	}
	wn_log_set_quiet(quiet);
	int n = argc - optind;
	char **args = argv + optind;
	if (n >= 1 && !strcmp(args[0], "merge")) {
		/* options may follow the verb too */
		optind = 1;
		int m = n;
		char **margs = args;
		while ((opt = getopt_long(m, margs, "+:qh", longopts, NULL)) != -1) {
			if (opt == 'q') wn_log_set_quiet(1);
			else if (opt == 'h') { fputs(usage_text, stdout); return 0; }
			else return cmd_bad_option(opt, margs);
		}
		return merge(m - optind, margs + optind);
	}
	if (n != 1) return cmd_usage_error("expected one DB");
	if (access(args[0], R_OK) != 0) {
		wn_error("%s: no such database", args[0]);
		return 1;
	}
	char err[600];
	wn_db *db;
	if (wn_db_open_ro(&db, args[0], err, sizeof err)) {
		wn_error("%s", err);
		return 1;
	}
	wn_buf out = WN_BUF_INIT;
	int rc = wn_db_summary(db, &out);
	if (rc) wn_error("%s: %s", args[0], wn_db_error(db));
	else fwrite(out.data, 1, out.len, stdout);
	wn_buf_release(&out);
	wn_db_close(db);
	return rc ? 1 : 0;
}
