/* test_layers.c - train/layers: every backward against central
 * differences of its forward, on the scalar sum(out * r) for random r;
 * RoPE also against the rotation written out, and position restarts. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/layers.h"
#include "testutil.h"

static void fill(float *a, size_t n, tu_rng *r, float scale)
{
	for (size_t i = 0; i < n; i++) a[i] = scale * (float)((double)(tu_next(r) >> 11) / 9007199254740992.0 * 2 - 1);
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
	return s;
}

/* analytic against numeric: central differences of a float forward carry
 * about 1e-4 of rounding noise (float error of the sum over the step) */
static void close_enough(double an, double nu, const char *what, size_t i)
{
	double m = fmax(fabs(an), fabs(nu));
	cr_assert(fabs(an - nu) <= 3e-4 + 2e-3 * m, "%s[%zu]: analytic %.7g, numeric %.7g", what, i, an, nu);
}

Test(layers, rmsnorm_gradients)
{
	size_t N = 3, C = 17;
	tu_rng r = { 5 };
	float x[51], w[17], rr[51], y[51], rstd[3], dx[51], dw[17] = { 0 }, y2[51], rs2[3];
	fill(x, N * C, &r, 2);
	fill(w, C, &r, 1.5f);
	fill(rr, N * C, &r, 1);
	wn_rmsnorm_forward(y, rstd, x, w, N, C, 1e-5f);
	for (size_t n = 0; n < N; n++) {
		double ss = 0;
		for (size_t c = 0; c < C; c++) ss += (double)x[n * C + c] * x[n * C + c];
		for (size_t c = 0; c < C; c++)
			cr_assert_float_eq(y[n * C + c], x[n * C + c] / sqrt(ss / C + 1e-5) * w[c], 1e-5);
	}
	wn_rmsnorm_backward(dx, dw, rr, x, w, rstd, N, C);
	float h = 1e-3f;
	for (size_t i = 0; i < N * C; i++) {
		float keep = x[i];
		x[i] = keep + h;
		wn_rmsnorm_forward(y2, rs2, x, w, N, C, 1e-5f);
		double up = dot(y2, rr, N * C);
		x[i] = keep - h;
		wn_rmsnorm_forward(y2, rs2, x, w, N, C, 1e-5f);
		double dn = dot(y2, rr, N * C);
		x[i] = keep;
		close_enough(dx[i], (up - dn) / (2 * h), "dx", i);
	}
	for (size_t c = 0; c < C; c++) {
		float keep = w[c];
		w[c] = keep + h;
		wn_rmsnorm_forward(y2, rs2, x, w, N, C, 1e-5f);
		double up = dot(y2, rr, N * C);
		w[c] = keep - h;
		wn_rmsnorm_forward(y2, rs2, x, w, N, C, 1e-5f);
		double dn = dot(y2, rr, N * C);
		w[c] = keep;
		close_enough(dw[c], (up - dn) / (2 * h), "dw", c);
	}
}

Test(layers, swiglu_gradients)
{
	size_t N = 40;
	tu_rng r = { 9 };
	float g[40], u[40], rr[40], hh[40], dg[40], du[40], h2[40];
	fill(g, N, &r, 4);
	fill(u, N, &r, 2);
	fill(rr, N, &r, 1);
	wn_swiglu_forward(hh, g, u, N);
	for (size_t i = 0; i < N; i++) cr_assert_float_eq(hh[i], g[i] / (1 + exp(-g[i])) * u[i], 1e-5);
	wn_swiglu_backward(dg, du, rr, g, u, N);
	float h = 1e-3f;
	for (size_t i = 0; i < N; i++)
		for (int which = 0; which < 2; which++) {
			float *p = which ? u : g, keep = p[i];
			p[i] = keep + h;
			wn_swiglu_forward(h2, g, u, N);
			double up = dot(h2, rr, N);
			p[i] = keep - h;
			wn_swiglu_forward(h2, g, u, N);
			double dn = dot(h2, rr, N);
			p[i] = keep;
			close_enough(which ? du[i] : dg[i], (up - dn) / (2 * h), which ? "du" : "dg", i);
		}
}

Test(layers, rope_rotates_and_turns_back)
{
	size_t T = 5, H = 2, D = 8;
	int32_t pos[5] = { 0, 1, 2, 0, 1 }; /* a second document restarts at 0 */
	tu_rng r = { 13 };
	float x[80], y[80], back[80];
	fill(x, T * H * D, &r, 1);
	memcpy(x + 3 * H * D, x, 2 * H * D * sizeof *x); /* tokens 3, 4 = tokens 0, 1 */
	memcpy(y, x, sizeof x);
	wn_rope_forward(y, pos, T, H, D, 10000.0f);
	for (size_t t = 0; t < T; t++)
		for (size_t hd = 0; hd < H; hd++)
			for (size_t i = 0; i < D / 2; i++) {
				double a = pos[t] * pow(10000.0, -2.0 * (double)i / (double)D);
				const float *v = x + (t * H + hd) * D;
				const float *o = y + (t * H + hd) * D;
				cr_assert_float_eq(o[i], v[i] * cos(a) - v[i + D / 2] * sin(a), 1e-5);
				cr_assert_float_eq(o[i + D / 2], v[i + D / 2] * cos(a) + v[i] * sin(a), 1e-5);
			}
	cr_assert(!memcmp(y, x, D * H * sizeof *x), "position 0 does not turn");
	for (size_t k = 0; k < H * D * 2; k++)
		cr_assert_float_eq(y[3 * H * D + k], y[k], 1e-6, "a restarted document turns as the first");
	/* the gradient of sum(rope(x) * r) is rope^-1(r), and rope^-1 undoes rope */
	memcpy(back, y, sizeof y);
	wn_rope_backward(back, pos, T, H, D, 10000.0f);
	for (size_t i = 0; i < T * H * D; i++) cr_assert_float_eq(back[i], x[i], 1e-5);
	float rr[80], g[80];
	fill(rr, T * H * D, &r, 1);
	memcpy(g, rr, sizeof rr);
	wn_rope_backward(g, pos, T, H, D, 10000.0f);
	float hstep = 1e-3f, y2[80];
	for (size_t i = 0; i < T * H * D; i++) {
		memcpy(y2, x, sizeof x);
		y2[i] += hstep;
		wn_rope_forward(y2, pos, T, H, D, 10000.0f);
		double up = dot(y2, rr, T * H * D);
		memcpy(y2, x, sizeof x);
		y2[i] -= hstep;
		wn_rope_forward(y2, pos, T, H, D, 10000.0f);
		double dn = dot(y2, rr, T * H * D);
		close_enough(g[i], (up - dn) / (2 * hstep), "dx", i);
	}
}

Test(layers, crossentropy_gradients_and_ignored_targets)
{
	size_t N = 4, V = 11;
	int32_t target[4] = { 3, -1, 0, 10 };
	tu_rng r = { 21 };
	float logits[44], probs[44], loss[4], dl[44], p2[44], l2[4];
	float dloss[4] = { 0.25f, 0.25f, 0.25f, 0.25f };
	fill(logits, N * V, &r, 5);
	wn_crossentropy_forward(loss, probs, logits, target, N, V);
	for (size_t n = 0; n < N; n++) {
		double s = 0;
		for (size_t v = 0; v < V; v++) s += exp(logits[n * V + v]);
		double want = target[n] < 0 ? 0 : log(s) - logits[n * V + target[n]];
		cr_assert_float_eq(loss[n], want, 1e-5);
	}
	wn_crossentropy_backward(dl, dloss, probs, target, N, V);
	float h = 1e-3f;
	for (size_t i = 0; i < N * V; i++) {
		float keep = logits[i];
		logits[i] = keep + h;
		wn_crossentropy_forward(l2, p2, logits, target, N, V);
		double up = dot(l2, dloss, N);
		logits[i] = keep - h;
		wn_crossentropy_forward(l2, p2, logits, target, N, V);
		double dn = dot(l2, dloss, N);
		logits[i] = keep;
		close_enough(dl[i], (up - dn) / (2 * h), "dlogits", i);
	}
	for (size_t v = 0; v < V; v++) cr_assert_eq(dl[1 * V + v], 0.0f, "an ignored target has no gradient");
}
