/*
 * cat.c - winnow cat: concatenate, convert and recompress shards; take the
 * first N documents or a deterministic sample; count or validate.
 *
 * All the work is the shared document loop (lib/run.h); this file only
 * adds the per-document decisions.  It is also winnow's I/O benchmark.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../lib/doc.h"
#include "../lib/hash.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"

static const char usage_text[] =
"usage: winnow cat [OPTIONS] [INPUT...]\n"
"\n"
"Concatenate JSONL shards (files, - for stdin, http(s) URLs; zstd, gzip or\n"
"plain) to stdout, -o FILE or -O DIR, validating and re-writing every\n"
"document.\n"
"\n"
"Selection:\n"
"      --head N            stop after N documents\n"
"      --sample P          keep each document with probability P (0..1),\n"
"                          decided by a hash of the line and the seed\n"
"      --seed S            seed of --sample (default 0)\n"
"Checks:\n"
"      --count             print what would be written (docs, bytes, text bytes and\n"
"                          characters) and the bad lines, per input and in total\n"
"      --validate          report every bad line and exit 1 if there is one;\n"
"                          no documents out\n";

enum { OPT_HEAD = WN_OPT_COMMON_END + 1, OPT_SAMPLE, OPT_SEED, OPT_COUNT, OPT_VALIDATE };

static const struct option own[] = {
	{ "head", required_argument, NULL, OPT_HEAD },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "count", no_argument, NULL, OPT_COUNT },
	{ "validate", no_argument, NULL, OPT_VALIDATE },
	{ NULL, 0, NULL, 0 },
};

typedef struct cat {
	long long head;        /* -1: all */
	double sample;         /* 1: all */
	uint64_t seed;
	uint64_t threshold;    /* keep when hash < threshold */
	int count, validate;
	uint64_t kept;
	/* --count, per input and in total */
	uint64_t text_bytes, text_chars, in_text_bytes, in_text_chars;
	uint64_t tot_docs, tot_bad, tot_bytes;
	int ninputs_done;
} cat;

static int per_doc(void *ctx, wn_item *it, wn_doc *d)
{
	cat *c = ctx;
	if (c->sample < 1.0 && wn_hash64(d->line, d->len, c->seed) >= c->threshold) {
		it->reason = "cat:sample";
		return WN_DROP;
	}
	if (c->count) {
		c->in_text_bytes += d->text.len;
		c->in_text_chars += wn_utf8_count(d->text.data, d->text.len);
	}
	if (c->head >= 0 && ++c->kept >= (uint64_t)c->head) it->stop = 1;
	return WN_KEEP;
}

static void count_line(uint64_t docs, uint64_t bad, uint64_t bytes, uint64_t tb,
		       uint64_t tc, const char *name)
{
	printf("%12llu %8llu %14llu %14llu %14llu  %s\n", (unsigned long long)docs,
	       (unsigned long long)bad, (unsigned long long)bytes, (unsigned long long)tb,
	       (unsigned long long)tc, name);
}

/* --count reports what would be written: the documents kept (after
 * --sample and --head), and the bad lines seen on the way. */
static void input_done(void *ctx, wn_run *r, const char *input, int ok,
		       const wn_input_counts *n)
{
	cat *c = ctx;
	(void)r;
	(void)ok;
	if (!c->count) return;
	if (!c->ninputs_done++)
		printf("%12s %8s %14s %14s %14s  %s\n", "docs", "bad", "bytes", "text_bytes",
		       "text_chars", "input");
	count_line(n->docs_out, n->bad_lines, n->bytes_out, c->in_text_bytes, c->in_text_chars,
		   input);
	c->tot_docs += n->docs_out;
	c->tot_bad += n->bad_lines;
	c->tot_bytes += n->bytes_out;
	c->text_bytes += c->in_text_bytes;
	c->text_chars += c->in_text_chars;
	c->in_text_bytes = c->in_text_chars = 0;
}

int cmd_cat(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	cat c = { .head = -1, .sample = 1.0 };
	struct option *lo = wn_opts_longopts(own);
	char err[256];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		char *end;
		switch (opt) {
		case OPT_HEAD:
			errno = 0;
			c.head = strtoll(optarg, &end, 10);
			if (*end || end == optarg || c.head < 0 || errno) {
				free(lo);
				return cmd_usage_error("--head: '%s' is not a count", optarg);
			}
			break;
		case OPT_SAMPLE:
			c.sample = strtod(optarg, &end);
			if (*end || end == optarg || !(c.sample >= 0 && c.sample <= 1)) {
				free(lo);
				return cmd_usage_error("--sample: '%s' is not a probability", optarg);
			}
			break;
		case OPT_SEED:
			errno = 0;
			c.seed = strtoull(optarg, &end, 10);
			if (*end || end == optarg || errno) {
				free(lo);
				return cmd_usage_error("--seed: '%s' is not a number", optarg);
			}
			break;
		case OPT_COUNT: c.count = 1; break;
		case OPT_VALIDATE: c.validate = 1; break;
		default: {
			int rc = cmd_other_option(opt, &o, usage_text, argv);
			if (rc >= 0) { free(lo); return rc; }
		}
		}
	}
	free(lo);
	if (wn_opts_finish(&o, err, sizeof err)) return cmd_usage_error("%s", err);
	wn_log_set_quiet(o.quiet);
	if ((c.count || c.validate) && (o.output || o.outdir))
		return cmd_usage_error("--count and --validate write no documents: drop -o/-O");
	if (c.validate) o.max_messages = 1 << 30; /* show every bad line */
	/* keep when the 64-bit hash falls under sample * 2^64 */
	c.threshold = c.sample >= 1.0 ? UINT64_MAX
		: (uint64_t)(c.sample * 18446744073709551616.0);

	wn_run r = { 0 };
	r.tool = "cat";
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.fn = per_doc;
	r.ctx = &c;
	r.no_output = c.count || c.validate;
	r.input_done = input_done;
	r.stop = c.head == 0;
	int rc = wn_run_main(&r, argc - optind, argv + optind);
	if (c.count && c.ninputs_done > 1)
		count_line(c.tot_docs, c.tot_bad, c.tot_bytes, c.text_bytes, c.text_chars, "total");
	if (c.validate) {
		if (!o.quiet)
			fprintf(stderr, "winnow cat: %llu documents, %llu bad lines\n",
				(unsigned long long)(r.docs_in - r.bad_lines),
				(unsigned long long)r.bad_lines);
		if (r.bad_lines && rc == 0) rc = 1;
	}
	return rc;
}
