/* opts.c - common options and shard selection (opts.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "err.h"
#include "opts.h"

static const struct option common[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "output-dir", required_argument, NULL, 'O' },
	{ "skip-existing", no_argument, NULL, WN_OPT_SKIP_EXISTING },
	{ "level", required_argument, NULL, WN_OPT_LEVEL },
	{ "max-line", required_argument, NULL, WN_OPT_MAX_LINE },
	{ "text-field", required_argument, NULL, WN_OPT_TEXT_FIELD },
	{ "id-field", required_argument, NULL, WN_OPT_ID_FIELD },
	{ "domain-field", required_argument, NULL, WN_OPT_DOMAIN_FIELD },
	{ "on-error", required_argument, NULL, WN_OPT_ON_ERROR },
	{ "rejects", required_argument, NULL, WN_OPT_REJECTS },
	{ "stats", required_argument, NULL, WN_OPT_STATS },
	{ "shard", required_argument, NULL, WN_OPT_SHARD },
	{ "progress", no_argument, NULL, WN_OPT_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void wn_opts_init(wn_opts *o)
{
	memset(o, 0, sizeof *o);
	o->fields.text = "text";
	o->fields.id = "id";
	o->fields.domain = "domain";
	o->progress = -1;
	o->max_line = (size_t)1 << 30;
	o->max_messages = 20;
}

struct option *wn_opts_longopts(const struct option *own)
{
	size_t a = 0, b = sizeof common / sizeof common[0];
	while (own && own[a].name) a++;
	struct option *v = wn_calloc(a + b, sizeof *v);
	if (a) memcpy(v, own, a * sizeof *v);
	memcpy(v + a, common, b * sizeof *v);
	return v;
}

long long wn_parse_size(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0) return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end == 'B' || *end == 'b') end++;
	if (*end || !isfinite(v) || v >= 9.2e18) return -1;
	return (long long)v;
}

static int parse_shard(const char *s, int *i, int *n)
{
	char *end;
	long a = strtol(s, &end, 10);
	if (end == s || *end != '/') return -1;
	const char *p = end + 1;
	long b = strtol(p, &end, 10);
	if (end == p || *end || b < 1 || a < 0 || a >= b || b > 1000000000) return -1;
	*i = (int)a;
	*n = (int)b;
	return 0;
}

int wn_opts_common(wn_opts *o, int opt, const char *arg, char *err, size_t errlen)
{
	switch (opt) {
	case 'o': o->output = arg; return 1;
	case 'O': o->outdir = arg; return 1;
	case 'q': o->quiet = 1; return 1;
	case WN_OPT_SKIP_EXISTING: o->skip_existing = 1; return 1;
	case WN_OPT_LEVEL: {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*end || end == arg || v < -7 || v > 22) {
			snprintf(err, errlen, "--level: '%s' is not a level from -7 to 22", arg);
			return -1;
		}
		o->level = (int)v;
		return 1;
	}
	case WN_OPT_MAX_LINE: {
		long long v = wn_parse_size(arg);
		if (v < 1) {
			snprintf(err, errlen, "--max-line: '%s' is not a size", arg);
			return -1;
		}
		o->max_line = (size_t)v;
		return 1;
	}
	case WN_OPT_TEXT_FIELD: o->fields.text = arg; return 1;
	case WN_OPT_ID_FIELD: o->fields.id = arg; return 1;
	case WN_OPT_DOMAIN_FIELD: o->fields.domain = arg; return 1;
	case WN_OPT_ON_ERROR:
		if (!strcmp(arg, "skip")) o->on_error_fail = 0;
		else if (!strcmp(arg, "fail")) o->on_error_fail = 1;
		else {
			snprintf(err, errlen, "--on-error: '%s' is neither skip nor fail", arg);
			return -1;
		}
		return 1;
	case WN_OPT_REJECTS: o->rejects = arg; return 1;
	case WN_OPT_STATS: o->stats = arg; return 1;
	case WN_OPT_SHARD:
		if (parse_shard(arg, &o->shard_i, &o->shard_n)) {
			snprintf(err, errlen, "--shard: '%s' is not I/N with 0 <= I < N", arg);
			return -1;
		}
		return 1;
	case WN_OPT_PROGRESS: o->progress = 1; return 1;
	}
	return 0;
}

/* A whole decimal number from the environment: 0, or -1. */
static int env_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end) return -1;
	*out = v;
	return 0;
}

int wn_opts_finish(wn_opts *o, char *err, size_t errlen)
{
	if (o->output && o->outdir) {
		snprintf(err, errlen, "-o and -O exclude each other");
		return -1;
	}
	if (o->quiet) o->progress = 0;
	if (o->shard_n) return 0;
	const char *id = getenv("SLURM_ARRAY_TASK_ID");
	const char *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
	if (!id || !*id) return 0;
	const char *min = getenv("SLURM_ARRAY_TASK_MIN");
	const char *step = getenv("SLURM_ARRAY_TASK_STEP");
	long vid, vmin = 0, vstep = 1, n = 0;
	int bad = env_long(id, &vid) || (min && *min && env_long(min, &vmin)) ||
		  (step && *step && env_long(step, &vstep)) || !cnt || env_long(cnt, &n) ||
		  vstep < 1;
	/* an array 1-100:3 has tasks 1, 4, 7, ...: number them 0, 1, 2, ... */
	long i = bad ? -1 : (vid - vmin) / vstep;
	if (bad || n < 1 || i < 0 || i >= n || (vid - vmin) % vstep) {
		snprintf(err, errlen,
			 "SLURM_ARRAY_TASK_ID=%s (min %s) does not fit SLURM_ARRAY_TASK_COUNT=%s",
			 id, min ? min : "0", cnt ? cnt : "(unset)");
		return -1;
	}
	o->shard_i = (int)i;
	o->shard_n = (int)n;
	o->shard_from_slurm = 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **wn_opts_select(const wn_opts *o, int n, char **inputs, int *nout)
{
	char **v = wn_calloc((size_t)n + 1, sizeof *v);
	if (n == 0) {
		v[0] = "-";
		*nout = (o->shard_n && o->shard_i) ? 0 : 1;
		return v;
	}
	memcpy(v, inputs, (size_t)n * sizeof *v);
	/* unsharded: the order given; sharded: every task agrees on the order */
	if (!o->shard_n) { *nout = n; return v; }
	qsort(v, (size_t)n, sizeof *v, cmp_str);
	int k = 0;
	for (int i = o->shard_i; i < n; i += o->shard_n) v[k++] = v[i];
	*nout = k;
	return v;
}

void wn_cache_path(char *out, size_t n, const char *sub)
{
	const char *c = getenv("WINNOW_CACHE");
	if (c && *c) {
		snprintf(out, n, "%s/%s", c, sub);
		return;
	}
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && *x) {
		snprintf(out, n, "%s/winnow/%s", x, sub);
		return;
	}
	const char *h = getenv("HOME");
	snprintf(out, n, "%s/.cache/winnow/%s", h && *h ? h : ".", sub);
}

int wn_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}
