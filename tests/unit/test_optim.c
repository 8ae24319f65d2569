/* test_optim.c - train/optim: AdamW against its formula written out in
 * double over several steps (weight decay, a clipping factor, the bias
 * corrections of t > 1), the global gradient norm against a plain double
 * sum, the clipping factor, and every learning-rate schedule at the
 * points its formula pins down. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/optim.h"
#include "testutil.h"

static double unif(tu_rng *r) { return (double)(tu_next(r) >> 11) / 9007199254740992.0 * 2 - 1; }

/* ---- AdamW ---- */

/* One step of optim.h's formula in double, element by element.  ms
 * follows m's recursion on absolute values: a bound on the terms that
 * make up m, whose float sum can cancel far below them. */
static void adamw_ref(double *p, const float *g, double *m, double *v, double *ms, size_t n, double lr,
		      double wd, double gscale, const wn_adamw *o, uint64_t t)
{
	double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	double bc1 = 1 - pow(b1, (double)t), bc2 = 1 - pow(b2, (double)t);
	for (size_t i = 0; i < n; i++) {
		double gi = (double)g[i] * gscale;
		p[i] *= 1 - lr * wd;
		m[i] = b1 * m[i] + (1 - b1) * gi;
		ms[i] = b1 * ms[i] + (1 - b1) * fabs(gi);
		v[i] = b2 * v[i] + (1 - b2) * gi * gi;
		p[i] -= lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
	}
}

/* float state against the double reference; the update is about lr per
 * step, so float rounding shows at about 1e-7 of the parameter, and at
 * about 1e-7 of its terms in m (ms) */
static void expect_close(const float *p, const double *pr, const float *m, const double *mr, const double *ms,
			 const float *v, const double *vr, size_t n, uint64_t t)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert(fabs(p[i] - pr[i]) <= 2e-6 * fmax(1, fabs(pr[i])), "step %llu p[%zu]: %.9g, formula %.9g",
			  (unsigned long long)t, i, (double)p[i], pr[i]);
		cr_assert(fabs(m[i] - mr[i]) <= 1e-6 * ms[i] + 1e-12, "step %llu m[%zu]: %.9g, formula %.9g",
			  (unsigned long long)t, i, (double)m[i], mr[i]);
		cr_assert(fabs(v[i] - vr[i]) <= 1e-5 * fabs(vr[i]) + 1e-15, "step %llu v[%zu]: %.9g, formula %.9g",
			  (unsigned long long)t, i, (double)v[i], vr[i]);
	}
}

typedef struct adam_case {
	size_t n;
	float *p, *g, *m, *v;
	double *pr, *mr, *vr, *ms;
} adam_case;

static adam_case adam_new(size_t n, uint64_t seed, double gmag)
{
	adam_case c = { n, malloc(n * 4), malloc(n * 4), calloc(n, 4), calloc(n, 4),
			malloc(n * 8), calloc(n, 8), calloc(n, 8), calloc(n, 8) };
	tu_rng r = { seed };
	for (size_t i = 0; i < n; i++) {
		c.p[i] = (float)unif(&r);
		c.pr[i] = c.p[i];
		c.g[i] = (float)(gmag * unif(&r));
	}
	return c;
}

static void adam_free(adam_case *c)
{
	free(c->p);
	free(c->g);
	free(c->m);
	free(c->v);
	free(c->pr);
	free(c->mr);
	free(c->vr);
	free(c->ms);
}

static void new_grads(adam_case *c, tu_rng *r, double gmag)
{
	for (size_t i = 0; i < c->n; i++) c->g[i] = (float)(gmag * unif(r));
}

Test(adamw, matches_the_formula_over_steps)
{
	const wn_adamw o = { .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f };
	/* more elements than threads, and not a multiple of their count */
	adam_case c = adam_new(1001, 1, 0.5);
	tu_rng r = { 2 };
	float lr = 3e-3f, wd = 0.1f;
	for (uint64_t t = 1; t <= 6; t++) {
		float gscale = t % 2 ? 1.0f : 0.37f; /* clipped on the even steps */
		wn_adamw_update(c.p, c.g, c.m, c.v, c.n, lr, wd, gscale, &o, t);
		adamw_ref(c.pr, c.g, c.mr, c.vr, c.ms, c.n, lr, wd, gscale, &o, t);
		expect_close(c.p, c.pr, c.m, c.mr, c.ms, c.v, c.vr, c.n, t);
		new_grads(&c, &r, 0.5);
	}
	adam_free(&c);
}

Test(adamw, the_first_step_moves_by_about_lr)
{
	/* at t = 1 the bias corrections cancel: m/sqrt(v) = sign(g), so every
	 * element moves by lr (decay off), the signature of Adam */
	const wn_adamw o = { .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-12f };
	adam_case c = adam_new(257, 3, 10);
	float keep[257];
	memcpy(keep, c.p, sizeof keep);
	wn_adamw_update(c.p, c.g, c.m, c.v, c.n, 1e-2f, 0.0f, 1.0f, &o, 1);
	for (size_t i = 0; i < c.n; i++) {
		if (c.g[i] == 0) continue;
		double moved = (double)keep[i] - c.p[i];
		cr_assert(fabs(moved - copysign(1e-2, c.g[i])) < 1e-6, "element %zu moved %.9g (g %.9g)", i, moved,
			  (double)c.g[i]);
	}
	adam_free(&c);
}

Test(adamw, late_steps_with_moments_already_there)
{
	/* t in the thousands: bias corrections near 1 but not 1 (b2^t) */
	const wn_adamw o = { .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f };
	adam_case c = adam_new(333, 4, 2);
	tu_rng r = { 5 };
	for (size_t i = 0; i < c.n; i++) {
		c.m[i] = (float)(0.3 * unif(&r));
		c.v[i] = (float)(0.5 * fabs(unif(&r)));
		c.mr[i] = c.m[i];
		c.ms[i] = fabs(c.mr[i]);
		c.vr[i] = c.v[i];
	}
	for (uint64_t t = 150; t < 153; t++) {
		wn_adamw_update(c.p, c.g, c.m, c.v, c.n, 1e-3f, 0.05f, 2.5f, &o, t);
		adamw_ref(c.pr, c.g, c.mr, c.vr, c.ms, c.n, 1e-3, 0.05, 2.5, &o, t);
		expect_close(c.p, c.pr, c.m, c.mr, c.ms, c.v, c.vr, c.n, t);
		new_grads(&c, &r, 2);
	}
	adam_free(&c);
}

Test(adamw, a_zero_gradient_only_decays)
{
	const wn_adamw o = { .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f };
	adam_case c = adam_new(64, 6, 1);
	for (size_t i = 0; i < c.n; i += 3) c.g[i] = 0.0f;
	float lr = 1e-2f, wd = 0.2f;
	for (uint64_t t = 1; t <= 4; t++) {
		float before[64];
		memcpy(before, c.p, sizeof before);
		wn_adamw_update(c.p, c.g, c.m, c.v, c.n, lr, wd, 0.5f, &o, t);
		for (size_t i = 0; i < c.n; i += 3) {
			cr_assert(c.p[i] == before[i] * (1.0f - lr * wd), "step %llu element %zu: %.9g from %.9g",
				  (unsigned long long)t, i, (double)c.p[i], (double)before[i]);
			cr_assert(c.m[i] == 0.0f && c.v[i] == 0.0f);
		}
		for (size_t i = 1; i < c.n; i += 3) cr_assert(c.p[i] != before[i] * (1.0f - lr * wd));
	}
	/* and with no decay it does not move at all */
	float before[64];
	memcpy(before, c.p, sizeof before);
	wn_adamw_update(c.p, c.g, c.m, c.v, c.n, lr, 0.0f, 1.0f, &o, 5);
	for (size_t i = 0; i < c.n; i += 3) cr_assert(c.p[i] == before[i]);
	adam_free(&c);
}

Test(adamw, nothing_to_update)
{
	const wn_adamw o = { .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f };
	wn_adamw_update(NULL, NULL, NULL, NULL, 0, 1e-3f, 0.1f, 1.0f, &o, 1);
}

/* ---- gradient norm and clipping ---- */

Test(grad_norm, equals_the_double_sum_and_repeats)
{
	size_t n = 100003;
	float *g = malloc(n * sizeof *g);
	tu_rng r = { 7 };
	for (size_t i = 0; i < n; i++) g[i] = (float)(unif(&r) * (i % 100 == 0 ? 50 : 1));
	double s = 0;
	for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
	double want = sqrt(s), got = wn_grad_norm(g, n);
	cr_assert(fabs(got - want) <= 1e-12 * want, "norm %.17g, double sum %.17g", got, want);
	for (int k = 0; k < 5; k++) cr_assert(wn_grad_norm(g, n) == got, "call %d differs", k);
	/* other thread counts split the sum otherwise, the value stays */
	int keep = omp_get_max_threads();
	for (int nt = 1; nt <= 3; nt++) {
		omp_set_num_threads(nt);
		double a = wn_grad_norm(g, n);
		cr_assert(fabs(a - want) <= 1e-12 * want, "%d threads: %.17g", nt, a);
		cr_assert(wn_grad_norm(g, n) == a, "%d threads: not repeatable", nt);
	}
	omp_set_num_threads(keep);
	free(g);
}

Test(grad_norm, small_vectors)
{
	float g[3] = { 3.0f, -4.0f, 12.0f };
	cr_assert(wn_grad_norm(g, 0) == 0.0);
	cr_assert(wn_grad_norm(g, 1) == 3.0);
	cr_assert(wn_grad_norm(g, 2) == 5.0);
	cr_assert(wn_grad_norm(g, 3) == 13.0);
}

Test(clip, scale_below_above_and_off)
{
	/* below the threshold: no scaling */
	cr_assert(wn_clip_scale(0.5, 1.0f) == 1.0f);
	cr_assert(wn_clip_scale(0.0, 1.0f) == 1.0f);
	cr_assert(wn_clip_scale(0.999, 1.0f) == 1.0f);
	/* above: clip / (norm + 1e-6) */
	cr_assert_float_eq(wn_clip_scale(4.0, 1.0f), 1.0 / (4.0 + 1e-6), 1e-7);
	cr_assert_float_eq(wn_clip_scale(1e6, 0.5f), 0.5 / (1e6 + 1e-6), 1e-12);
	cr_assert_float_eq(wn_clip_scale(2.0, 1.5f), 1.5 / (2.0 + 1e-6), 1e-7);
	/* at the threshold the 1e-6 makes it just below 1 */
	float at = wn_clip_scale(1.0, 1.0f);
	cr_assert(at <= 1.0f && at > 0.999998f, "%.9g", (double)at);
	/* a scaled gradient's norm is the clip */
	float g[4] = { 30.0f, -40.0f, 0.0f, 0.0f };
	float s = wn_clip_scale(wn_grad_norm(g, 4), 1.0f);
	for (int i = 0; i < 4; i++) g[i] *= s;
	cr_assert_float_eq(wn_grad_norm(g, 4), 1.0, 1e-6);
	/* clip 0 (or below): off, whatever the norm */
	cr_assert(wn_clip_scale(1e30, 0.0f) == 1.0f);
	cr_assert(wn_clip_scale(5.0, -1.0f) == 1.0f);
	cr_assert(wn_clip_scale(INFINITY, 0.0f) == 1.0f);
	cr_assert(wn_clip_scale(INFINITY, 1.0f) == 0.0f);
}

/* ---- schedules ---- */

static void expect_lr(const wn_schedule *s, uint64_t step, double want)
{
	float got = wn_schedule_lr(s, step);
	cr_assert(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12, "%s step %llu: lr %.9g, expected %.9g",
		  wn_schedule_name(s->kind), (unsigned long long)step, (double)got, want);
}

Test(schedule, warmup_ramp)
{
	int kinds[] = { WN_SCHED_COSINE, WN_SCHED_WSD, WN_SCHED_CONSTANT };
	for (int k = 0; k < 3; k++) {
		wn_schedule s = { .kind = kinds[k], .lr = 6e-4f, .min_lr = 6e-5f, .warmup = 10, .total = 100,
				  .decay = 20 };
		/* (s + 1) / W of lr: never 0, lr itself at the last warmup step */
		for (uint64_t t = 0; t < 10; t++) expect_lr(&s, t, 6e-4 * (double)(t + 1) / 10);
		expect_lr(&s, 9, 6e-4);
		expect_lr(&s, 10, 6e-4);
		for (uint64_t t = 1; t < 10; t++) cr_assert(wn_schedule_lr(&s, t) > wn_schedule_lr(&s, t - 1));
	}
}

Test(schedule, cosine)
{
	const uint64_t W = 10, S = 110;
	wn_schedule s = { .kind = WN_SCHED_COSINE, .lr = 1e-3f, .min_lr = 1e-4f, .warmup = W, .total = S };
	double lr = s.lr, mn = s.min_lr;
	/* the peak right after the warmup, the middle halfway */
	expect_lr(&s, W, lr);
	expect_lr(&s, W + (S - W) / 2, (lr + mn) / 2);
	/* the formula at every step */
	for (uint64_t t = W; t < S; t++)
		expect_lr(&s, t, mn + (lr - mn) * (1 + cos(M_PI * (double)(t - W) / (double)(S - W))) / 2);
	/* the last step is min_lr up to one step's worth of the curve */
	float last = wn_schedule_lr(&s, S - 1);
	cr_assert(last >= s.min_lr && last - mn < 1e-3 * (lr - mn), "last step: %.9g", (double)last);
	/* monotone down from the peak */
	for (uint64_t t = W + 1; t < S; t++)
		cr_assert(wn_schedule_lr(&s, t) <= wn_schedule_lr(&s, t - 1), "step %llu rises",
			  (unsigned long long)t);
	/* past the end: min_lr */
	expect_lr(&s, S, mn);
	expect_lr(&s, S + 1000, mn);
	/* no warmup: the peak at step 0 */
	s.warmup = 0;
	expect_lr(&s, 0, lr);
	/* a run no longer than its warmup stays at lr */
	s.warmup = 20;
	s.total = 20;
	expect_lr(&s, 25, lr);
}

Test(schedule, wsd)
{
	const uint64_t W = 5, S = 100, D = 20;
	wn_schedule s = { .kind = WN_SCHED_WSD, .lr = 2e-3f, .min_lr = 2e-4f, .warmup = W, .total = S, .decay = D };
	double lr = s.lr, mn = s.min_lr;
	/* stable: exactly lr until the last D steps */
	for (uint64_t t = W; t < S - D; t++) cr_assert(wn_schedule_lr(&s, t) == s.lr, "step %llu", (unsigned long long)t);
	/* then linearly down, reaching min_lr at the last step */
	for (uint64_t t = S - D; t < S; t++) expect_lr(&s, t, lr + (mn - lr) * (double)(t - (S - D) + 1) / (double)D);
	cr_assert(wn_schedule_lr(&s, S - D) < s.lr, "the decay starts at step S - D");
	expect_lr(&s, S - 1, mn);
	for (uint64_t t = S - D + 1; t < S; t++) cr_assert(wn_schedule_lr(&s, t) < wn_schedule_lr(&s, t - 1));
	/* equal steps down */
	double d0 = wn_schedule_lr(&s, S - D) - (double)wn_schedule_lr(&s, S - D + 1);
	for (uint64_t t = S - D + 1; t < S; t++)
		cr_assert_float_eq(wn_schedule_lr(&s, t - 1) - (double)wn_schedule_lr(&s, t), d0, 1e-9);
	expect_lr(&s, S + 50, mn);
	/* no decay steps: constant after the warmup */
	s.decay = 0;
	for (uint64_t t = W; t < S + 3; t++) cr_assert(wn_schedule_lr(&s, t) == s.lr);
}

Test(schedule, constant)
{
	wn_schedule s = { .kind = WN_SCHED_CONSTANT, .lr = 5e-4f, .min_lr = 1e-5f, .warmup = 3, .total = 50,
			  .decay = 10 };
	expect_lr(&s, 0, 5e-4 / 3);
	for (uint64_t t = 3; t < 60; t++) cr_assert(wn_schedule_lr(&s, t) == s.lr);
	s.warmup = 0;
	cr_assert(wn_schedule_lr(&s, 0) == s.lr);
}

Test(schedule, names_round_trip)
{
	const char *names[] = { "cosine", "wsd", "constant" };
	int kinds[] = { WN_SCHED_COSINE, WN_SCHED_WSD, WN_SCHED_CONSTANT };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(wn_schedule_kind(names[i]), kinds[i]);
		cr_assert_str_eq(wn_schedule_name(kinds[i]), names[i]);
		cr_assert_eq(wn_schedule_kind(wn_schedule_name(kinds[i])), kinds[i]);
	}
	cr_assert_eq(wn_schedule_kind("linear"), 0);
	cr_assert_eq(wn_schedule_kind("Cosine"), 0);
	cr_assert_eq(wn_schedule_kind(""), 0);
	cr_assert_eq(wn_schedule_kind("cosine "), 0);
	cr_assert_str_eq(wn_schedule_name(0), "?");
	cr_assert_str_eq(wn_schedule_name(99), "?");
}
