/*
 * layers.c - forward and backward of the model's layers (see layers.h).
 *
 * Sums run in float as PyTorch's CPU kernels do for these sizes, except
 * the reductions over a row (RMSNorm's mean square and its backward dot
 * product, softmax's sum), which run in double: rows of a few thousand
 * values lose digits in float, and the parity test compares to 1e-5.
 */
#include <math.h>

#include "layers.h"

void wn_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, size_t N, size_t C,
			float eps)
{
	for (size_t n = 0; n < N; n++) {
		const float *xr = x + n * C;
		float *yr = y + n * C;
		double ss = 0;
		for (size_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
		float r = (float)(1.0 / sqrt(ss / (double)C + eps));
		rstd[n] = r;
		for (size_t c = 0; c < C; c++) yr[c] = xr[c] * r * w[c];
	}
}

/* y_c = x_c r w_c with r = (mean(x^2) + eps)^-1/2, dr/dx_j = -r^3 x_j / C:
 * dx_j = r w_j dy_j - r^3 x_j / C * sum_c dy_c w_c x_c */
void wn_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
			 const float *rstd, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const float *xr = x + n * C, *dyr = dy + n * C;
		float *dxr = dx + n * C;
		float r = rstd[n];
		double dot = 0;
		for (size_t c = 0; c < C; c++) dot += (double)dyr[c] * w[c] * xr[c];
		float k = (float)(dot * r * r * r / (double)C);
		for (size_t c = 0; c < C; c++) { /* dy read before dx is written: dx may be dy */
			float d = dyr[c];
			dw[c] += d * xr[c] * r;
			dxr[c] = r * w[c] * d - k * xr[c];
		}
	}
}

void wn_swiglu_forward(float *h, const float *g, const float *u, size_t N)
{
	for (size_t i = 0; i < N; i++) {
		float s = 1.0f / (1.0f + expf(-g[i]));
		h[i] = g[i] * s * u[i];
	}
}

/* d silu(g)/dg = s + g s (1 - s) */
void wn_swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, size_t N)
{
	for (size_t i = 0; i < N; i++) {
		float s = 1.0f / (1.0f + expf(-g[i]));
		float silu = g[i] * s;
		dg[i] = dh[i] * u[i] * (s + g[i] * s * (1.0f - s));
		du[i] = dh[i] * silu;
	}
}

/* Turn every (x[i], x[i + D/2]) by angle sign * pos * theta^(-2i/D). */
static void rope_turn(float *x, const int32_t *pos, size_t T, size_t H, size_t D, float theta, float sign)
{
	size_t half = D / 2;
	for (size_t t = 0; t < T; t++)
		for (size_t i = 0; i < half; i++) {
			double freq = pow((double)theta, -2.0 * (double)i / (double)D);
			double a = (double)pos[t] * freq;
			float c = (float)cos(a), s = sign * (float)sin(a);
			for (size_t h = 0; h < H; h++) {
				float *v = x + (t * H + h) * D;
				float x1 = v[i], x2 = v[i + half];
				v[i] = x1 * c - x2 * s;
				v[i + half] = x2 * c + x1 * s;
			}
		}
}

void wn_rope_forward(float *x, const int32_t *pos, size_t T, size_t H, size_t D, float theta)
{
	rope_turn(x, pos, T, H, D, theta, 1.0f);
}

/* The rotation is orthogonal: its gradient is the turn back. */
void wn_rope_backward(float *dx, const int32_t *pos, size_t T, size_t H, size_t D, float theta)
{
	rope_turn(dx, pos, T, H, D, theta, -1.0f);
}

void wn_crossentropy_forward(float *loss, float *probs, const float *logits, const int32_t *target,
			     size_t N, size_t V)
{
	for (size_t n = 0; n < N; n++) {
		const float *l = logits + n * V;
		float *p = probs + n * V;
		float mx = l[0];
		for (size_t v = 1; v < V; v++)
			if (l[v] > mx) mx = l[v];
		double sum = 0;
		for (size_t v = 0; v < V; v++) sum += exp((double)(l[v] - mx));
		for (size_t v = 0; v < V; v++) p[v] = (float)(exp((double)(l[v] - mx)) / sum);
		loss[n] = target[n] < 0 ? 0.0f : (float)(log(sum) + mx - l[target[n]]);
	}
}

void wn_crossentropy_backward(float *dlogits, const float *dloss, const float *probs, const int32_t *target,
			      size_t N, size_t V)
{
	for (size_t n = 0; n < N; n++) {
		float *d = dlogits + n * V;
		const float *p = probs + n * V;
		if (target[n] < 0) {
			for (size_t v = 0; v < V; v++) d[v] = 0;
			continue;
		}
		for (size_t v = 0; v < V; v++) d[v] = dloss[n] * (p[v] - (v == (size_t)target[n]));
	}
}
