/* test_log.c - messages and progress (lib/log.c): the one-line format. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "../../lib/log.h"

static void redirect(void) { cr_redirect_stderr(); }

Test(log, error_format, .init = redirect)
{
	wn_log_set_tool("cat");
	wn_error("%s:%d: %s", "a.jsonl", 7, "bad");
	fflush(stderr);
	cr_assert_stderr_eq_str("winnow cat: a.jsonl:7: bad\n");
}

Test(log, quiet_keeps_errors_only, .init = redirect)
{
	wn_log_set_tool("cat");
	wn_log_set_quiet(1);
	wn_warn("hidden");
	wn_info("hidden");
	wn_error("shown");
	wn_log_set_quiet(0);
	fflush(stderr);
	cr_assert_stderr_eq_str("winnow cat: shown\n");
}

Test(log, progress_draws_only_when_on, .init = redirect)
{
	wn_progress p;
	wn_progress_start(&p, 0, 100);
	wn_progress_update(&p, 10, 50, 1000000);
	wn_progress_end(&p);
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

Test(log, progress_line_has_docs_rate_and_eta, .init = redirect)
{
	wn_log_set_tool("cat");
	wn_progress p;
	wn_progress_start(&p, 1, 1000);
	p.t0 -= 10; p.last -= 10; /* pretend 10 s went by */
	wn_progress_update(&p, 42, 500, 5000000);
	wn_progress_end(&p);
	fflush(stderr);
	cr_assert_stderr_eq_str("\rcat: 42 docs, 5.0 MB, 0.5 MB/s, eta 0:10\033[K\r\033[K");
}

Test(log, clocks_move_forward)
{
	double a = wn_now(), b = wn_now();
	cr_expect_geq(b, a);
	cr_expect_gt(wn_wallclock(), 1.6e9);
}
