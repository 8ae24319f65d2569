/*
 * cmd.h - the subcommands of winnow.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` in cmd/NAME.c: it
 * parses its options (getopt_long, the common ones from lib/opts.h), opens
 * what it needs, calls its module and returns the exit status: 0 success,
 * 1 runtime failure, 2 usage error.  argv[0] is the command's name.
 *
 * Adding a command takes:
 *   1. cmd/NAME.c with cmd_NAME() and its --help text;
 *   2. a row in the sorted commands[] table of cmd/winnow.c and a
 *      prototype here;
 *   3. man/winnow-NAME.1 listing the same options as --help (checked by
 *      tests/cli/help_man.sh);
 *   4. end-to-end tests in tests/cli/NAME.sh and unit tests for its module.
 */
#ifndef WN_CMD_H
#define WN_CMD_H

int cmd_cat(int argc, char **argv);
int cmd_dedup(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_langid(int argc, char **argv);
int cmd_norm(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_tok(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Shared by the commands: print "winnow NAME: usage error text" and a
 * pointer to --help; returns 2. */
int cmd_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt_long returned '?' or ':' (optstring starts with ':' and
 * opterr is 0): name the unknown option or the missing value; returns 2. */
int cmd_bad_option(int opt, char **argv);
/* --OPT's value as an integer in lo..hi: 0, or -1 after a usage message. */
int cmd_parse_ll(const char *opt, const char *arg, long long lo, long long hi, long long *out);

struct wn_opts;
/* The last case of every document tool's option switch: -h prints `usage`
 * and the common options' help (exit 0), an unknown option or a missing
 * value is a usage error (2), anything else goes to wn_opts_common().
 * Returns the exit status to return, or -1 to go on parsing. */
int cmd_other_option(int opt, struct wn_opts *o, const char *usage, char **argv);

#endif
