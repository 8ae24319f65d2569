/*
 * optim.c - AdamW, gradient norm and clipping, learning-rate schedules
 * (see optim.h for the formulas).
 */
#include "optim.h"

#include <math.h>
#include <omp.h>
#include <string.h>

void wn_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float wd, float gscale,
		     const wn_adamw *o, uint64_t t)
{
	float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
	float bc1 = 1.0f - (float)pow(b1, (double)t), bc2 = 1.0f - (float)pow(b2, (double)t);
	float step = lr / bc1, bc2s = sqrtf(bc2), decay = 1.0f - lr * wd;
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] * gscale;
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] = p[i] * decay - step * mi / (sqrtf(vi) / bc2s + eps);
	}
}

double wn_grad_norm(const float *g, size_t n)
{
	double part[256];
	int used = 1;
#pragma omp parallel
	{
		int nt = omp_get_num_threads(), id = omp_get_thread_num();
		if (nt > 256) nt = 256; /* more threads than that add nothing here */
		double s = 0.0;
		if (id < nt) {
			size_t lo = n * id / nt, hi = n * (id + 1) / nt;
			for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
			part[id] = s;
		}
#pragma omp single
		used = nt;
	}
	double s = 0.0;
	for (int i = 0; i < used; i++) s += part[i];
	return sqrt(s);
}

float wn_clip_scale(double norm, float clip)
{
	if (clip <= 0.0f) return 1.0f;
	double c = clip / (norm + 1e-6);
	return c < 1.0 ? (float)c : 1.0f;
}

float wn_schedule_lr(const wn_schedule *s, uint64_t step)
{
	if (step < s->warmup) return s->lr * (float)(step + 1) / (float)s->warmup;
	switch (s->kind) {
	case WN_SCHED_COSINE: {
		if (s->total <= s->warmup) return s->lr;
		double prog = (double)(step - s->warmup) / (double)(s->total - s->warmup);
		if (prog > 1.0) prog = 1.0;
		return (float)(s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * prog)));
	}
	case WN_SCHED_WSD: {
		uint64_t start = s->total > s->decay ? s->total - s->decay : 0;
		if (step < start || s->decay == 0) return s->lr;
		double prog = (double)(step - start + 1) / (double)s->decay;
		if (prog > 1.0) prog = 1.0;
		return (float)(s->lr + (s->min_lr - s->lr) * prog);
	}
	default:
		return s->lr;
	}
}

int wn_schedule_kind(const char *name)
{
	if (!strcmp(name, "cosine")) return WN_SCHED_COSINE;
	if (!strcmp(name, "wsd")) return WN_SCHED_WSD;
	if (!strcmp(name, "constant")) return WN_SCHED_CONSTANT;
	return 0;
}

const char *wn_schedule_name(int kind)
{
	return kind == WN_SCHED_COSINE ? "cosine" : kind == WN_SCHED_WSD ? "wsd" : kind == WN_SCHED_CONSTANT ? "constant" : "?";
}
