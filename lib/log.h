/*
 * log.h - messages to stderr and terminal progress.
 *
 * Every message is one line "winnow TOOL: text".  wn_log_set_tool() names
 * the tool once in main; --quiet raises the level so only errors remain.
 * Progress (wn_progress_*) redraws one status line on stderr at most a few
 * times a second: docs, MB, MB/s and, when the input size is known, an ETA.
 */
#ifndef WN_LOG_H
#define WN_LOG_H

#include <stdint.h>

void wn_log_set_tool(const char *tool);
const char *wn_log_tool(void);
void wn_log_set_quiet(int quiet);
void wn_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wn_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wn_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct wn_progress {
	int on;
	double t0, last;   /* seconds (monotonic) */
	uint64_t total;    /* raw bytes expected, 0 if unknown */
	int drawn;
} wn_progress;

/* mode: -1 auto (on when stderr is a terminal), 0 off, 1 on. */
void wn_progress_start(wn_progress *p, int mode, uint64_t total_bytes);
void wn_progress_update(wn_progress *p, uint64_t docs, uint64_t raw_bytes,
			uint64_t data_bytes);
void wn_progress_end(wn_progress *p);

double wn_now(void);       /* monotonic seconds */
double wn_wallclock(void); /* unix seconds */

#endif
