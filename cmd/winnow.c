/*
 * winnow.c - main(): the table of commands, global setup, dispatch.
 *
 * winnow is one binary with subcommands, like git.  main() installs the
 * signal handling every command relies on (SIGPIPE ignored so that a
 * closed pipe is an EPIPE write error the command can end quietly on;
 * SIGINT/SIGTERM/SIGHUP remove temporary output files before dying), then
 * finds argv[1] in the sorted commands[] table by binary search.
 *
 * The layers: cmd/ (this folder: argv, messages, exit codes) uses the
 * modules (filters/ dedup/ mixer/ tokenize/ train/), which use lib/ (I/O,
 * documents, stats).  See README.md, ARCHITECTURE.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/shard.h"

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

/* sorted by name: looked up with bsearch */
static const struct command commands[] = {
	{ "cat", cmd_cat, "concatenate, convert, sample, count and validate shards" },
	{ "dedup", cmd_dedup, "remove exact and near-duplicate documents, lines and paragraphs" },
	{ "filter", cmd_filter, "drop low-quality documents: Gopher, C4, FineWeb, regex and classifier rules" },
	{ "langid", cmd_langid, "identify the language of documents (fastText)" },
	{ "norm", cmd_norm, "normalise text; read JSONL, text, HTML or WARC" },
	{ "stats", cmd_stats, "summarise and merge run records (SQLite)" },
	{ "tok", cmd_tok, "BPE tokenizers: encode into token files for trainers, train, inspect" },
	{ "train", cmd_train, "train a decoder-only model on token files; sample, score, export" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int cmp_command(const void *key, const void *elem)
{
	return strcmp(key, ((const struct command *)elem)->name);
}

static const struct command *find_command(const char *name)
{
	return bsearch(name, commands, NCOMMANDS, sizeof commands[0], cmp_command);
}

int cmd_usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wn_error("%s (see 'winnow %s --help')", msg, wn_log_tool());
	return 2;
}

int cmd_other_option(int opt, wn_opts *o, const char *usage, char **argv)
{
	char err[256];
	switch (opt) {
	case 'h':
		fputs(usage, stdout);
		fputs("\n", stdout);
		fputs(WN_OPTS_HELP, stdout);
		return 0;
	case '?':
	case ':':
		return cmd_bad_option(opt, argv);
	}
	if (wn_opts_common(o, opt, optarg, err, sizeof err) < 0) return cmd_usage_error("%s", err);
	return -1;
}

int cmd_parse_ll(const char *opt, const char *arg, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (*end || end == arg || errno || v < lo || v > hi) {
		cmd_usage_error("--%s: '%s' is not a number from %lld to %lld", opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_bad_option(int opt, char **argv)
{
	const char *arg = argv[optind - 1];
	if (opt == ':') return cmd_usage_error("option '%s' needs a value", arg);
	if (optopt && optopt < 0x100 && arg[0] == '-' && arg[1] != '-')
		return cmd_usage_error("unknown option '-%c'", optopt);
	return cmd_usage_error("unknown option '%s'", arg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: winnow [--version] [--help] COMMAND [ARGS]\n\n"
		   "winnow prepares LLM pretraining data: zstd JSONL shards in, cleaned\n"
		   "shards and token files out, every step recorded in SQLite.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'winnow help COMMAND' or 'winnow COMMAND --help' for a command's options;\n"
		   "man winnow, man winnow-COMMAND for the manuals.\n");
}

static void on_fatal_signal(int sig)
{
	wn_tmpfiles_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("winnow %s\n", WN_VERSION);
		return 0;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    (!strcmp(name, "help") && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "help")) {
		const struct command *c = find_command(argv[2]);
		if (!c) {
			fprintf(stderr, "winnow: '%s' is not a winnow command\n", argv[2]);
			return 2;
		}
		char *args[] = { (char *)c->name, "--help", NULL };
		wn_log_set_tool(c->name);
		return c->fn(2, args);
	}
	const struct command *c = find_command(name);
	if (!c) {
		fprintf(stderr, "winnow: '%s' is not a winnow command; see 'winnow --help'\n", name);
		return 2;
	}
	wn_log_set_tool(c->name);
	opterr = 0; /* commands word their own option errors (cmd_bad_option) */
	int rc = c->fn(argc - 1, argv + 1);
	/* output a command left in stdio: a late write error is still an error */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == 0) {
			wn_error("write error on stdout");
			rc = 1;
		}
	}
	return rc;
}
