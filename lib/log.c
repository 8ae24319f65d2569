/* log.c - one-line messages on stderr and a throttled progress line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *tool = "winnow";
static int quiet;

void wn_log_set_tool(const char *t) { tool = t; }
const char *wn_log_tool(void) { return tool; }
void wn_log_set_quiet(int q) { quiet = q; }

static void vlog(const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* one write per line so that parallel tools do not interleave */
	char line[2200];
	int n = snprintf(line, sizeof line, "%s%s: %s\n",
			 strcmp(tool, "winnow") ? "winnow " : "", tool, msg);
	if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
	if (write(2, line, (size_t)n) < 0) {}
}

void wn_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void wn_warn(const char *fmt, ...)
{
	if (quiet) return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void wn_info(const char *fmt, ...)
{
	if (quiet) return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

double wn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double wn_wallclock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void wn_progress_start(wn_progress *p, int mode, uint64_t total)
{
	memset(p, 0, sizeof *p);
	p->on = quiet ? 0 : mode < 0 ? isatty(2) : mode;
	p->t0 = p->last = wn_now();
	p->total = total;
}

void wn_progress_update(wn_progress *p, uint64_t docs, uint64_t raw, uint64_t data)
{
	if (!p->on) return;
	double t = wn_now();
	if (t - p->last < 0.25) return;
	p->last = t;
	double el = t - p->t0;
	double mb = (double)data / 1e6;
	char eta[32] = "";
	if (p->total && raw && raw <= p->total) {
		double left = el * (double)(p->total - raw) / (double)raw;
		snprintf(eta, sizeof eta, ", eta %d:%02d", (int)(left / 60), (int)left % 60);
	}
	fprintf(stderr, "\r%s: %llu docs, %.1f MB, %.1f MB/s%s\033[K",
		tool, (unsigned long long)docs, mb, el > 0 ? mb / el : 0.0, eta);
	p->drawn = 1;
}

void wn_progress_end(wn_progress *p)
{
	if (p->on && p->drawn) fprintf(stderr, "\r\033[K");
	p->drawn = 0;
}
