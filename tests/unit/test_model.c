/* test_model.c - train/model: the whole backward against central
 * differences of the forward (per tensor, along random directions), the
 * document mask against the documents run one by one, the blocked
 * attention against a plain one, and bit-exact repeatability. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/model.h"
#include "testutil.h"

static double unif(tu_rng *r) { return (double)(tu_next(r) >> 11) / 9007199254740992.0 * 2 - 1; }

static wn_model *tiny(int V, int C, int L, int H, int KV, int F, int T)
{
	wn_model_config c = { .vocab_size = V, .dim = C, .n_layers = L, .n_heads = H, .n_kv_heads = KV,
			      .hidden_dim = F, .max_seq_len = T, .rope_theta = 10000.0f, .norm_eps = 1e-5f };
	char err[256];
	wn_model *m = wn_model_new(&c, err, sizeof err);
	cr_assert(m, "%s", err);
	wn_model_init(m, 7);
	/* norms away from 1 so that their gradients matter */
	tu_rng r = { 99 };
	const wn_model_tensor *t = wn_model_tensors(m);
	float *p = wn_model_params(m);
	for (int i = 0; i < WN_T_COUNT; i++)
		if (t[i].is_norm)
			for (size_t j = 0; j < t[i].size; j++) p[t[i].offset + j] = 1.0f + 0.3f * (float)unif(&r);
	/* larger weights than 0.02, so the loss moves measurably */
	for (size_t j = 0; j < wn_model_num_params(m); j++) p[j] *= 4.0f;
	return m;
}

static double loss_of(wn_model *m, const int32_t *in, const int32_t *tg, const int32_t *pos, const int32_t *ss,
		      size_t B, size_t T, float *loss)
{
	return wn_model_forward(m, in, tg, pos, ss, B, T, loss);
}

Test(model, gradients_by_central_differences)
{
	enum { B = 2, T = 9, V = 13 };
	wn_model *m = tiny(V, 16, 2, 4, 2, 24, T);
	cr_assert_eq(wn_model_reserve(m, B, T), 0);
	tu_rng r = { 3 };
	int32_t in[B * T], tg[B * T], pos[B * T], ss[B * T];
	for (int i = 0; i < B * T; i++) {
		in[i] = (int32_t)(tu_next(&r) % V);
		tg[i] = (int32_t)(tu_next(&r) % V);
	}
	tg[4] = -1; /* an ignored target */
	/* row 0: two documents (restart at 5); row 1: plain causal */
	for (int t = 0; t < T; t++) {
		pos[t] = t < 5 ? t : t - 5;
		ss[t] = t < 5 ? 0 : 5;
		pos[T + t] = t;
		ss[T + t] = 0;
	}
	float loss[B * T];
	size_t n = wn_model_num_params(m);
	float *p = wn_model_params(m), *g = wn_model_grads(m);
	wn_model_zero_grad(m);
	loss_of(m, in, tg, pos, ss, B, T, loss);
	wn_model_backward(m, 1.0f);
	float *grad = malloc(n * sizeof *grad), *u = malloc(n * sizeof *u), *keep = malloc(n * sizeof *keep);
	memcpy(grad, g, n * sizeof *grad);
	memcpy(keep, p, n * sizeof *keep);
	const wn_model_tensor *t = wn_model_tensors(m);
	for (int k = 0; k < WN_T_COUNT; k++)
		for (int rep = 0; rep < 3; rep++) {
			/* a random direction within tensor k */
			double an = 0, norm = 0;
			memset(u, 0, n * sizeof *u);
			for (size_t j = 0; j < t[k].size; j++) {
				u[t[k].offset + j] = (float)unif(&r);
				norm += (double)u[t[k].offset + j] * u[t[k].offset + j];
			}
			for (size_t j = t[k].offset; j < t[k].offset + t[k].size; j++) {
				u[j] = (float)(u[j] / sqrt(norm));
				an += (double)grad[j] * u[j];
			}
			/* Richardson: (4 D(h/2) - D(h)) / 3 cancels the h^2 term of
			 * the central difference D(h) */
			double h = 2e-2, f[4];
			for (int s = 0; s < 4; s++) {
				double step = (s & 1 ? -h : h) / (s < 2 ? 1 : 2);
				for (size_t j = 0; j < n; j++) p[j] = keep[j] + (float)(step * u[j]);
				f[s] = loss_of(m, in, tg, pos, ss, B, T, loss);
			}
			memcpy(p, keep, n * sizeof *p);
			double d1 = (f[0] - f[1]) / (2 * h), d2 = (f[2] - f[3]) / h;
			double nu = (4 * d2 - d1) / 3;
			cr_assert(fabs(an - nu) <= 5e-4 + 2e-3 * fmax(fabs(an), fabs(nu)),
				  "%s: analytic %.7g, numeric %.7g", t[k].name, an, nu);
		}
	free(grad);
	free(u);
	free(keep);
	wn_model_free(m);
}

/* With the document mask, a window of two documents gives each document's
 * losses exactly as if it ran alone from position 0. */
Test(model, doc_mask_equals_documents_alone)
{
	enum { T = 12, V = 17, S = 7 }; /* documents of 7 and 5 tokens */
	wn_model *m = tiny(V, 16, 2, 4, 1, 20, T);
	cr_assert_eq(wn_model_reserve(m, 1, T), 0);
	tu_rng r = { 11 };
	int32_t in[T], tg[T], pos[T], ss[T];
	for (int i = 0; i < T; i++) {
		in[i] = (int32_t)(tu_next(&r) % V);
		tg[i] = (int32_t)(tu_next(&r) % V);
		pos[i] = i < S ? i : i - S;
		ss[i] = i < S ? 0 : S;
	}
	float both[T], a[T], b[T];
	wn_model_forward(m, in, tg, pos, ss, 1, T, both);
	wn_model_forward(m, in, tg, NULL, NULL, 1, S, a);
	wn_model_forward(m, in + S, tg + S, NULL, NULL, 1, T - S, b);
	for (int i = 0; i < S; i++) cr_assert_float_eq(both[i], a[i], 1e-5, "token %d", i);
	for (int i = S; i < T; i++) cr_assert_float_eq(both[i], b[i - S], 1e-5, "token %d", i);
	/* and without the mask the second document's losses differ */
	float plain[T];
	wn_model_forward(m, in, tg, NULL, NULL, 1, T, plain);
	int differ = 0;
	for (int i = S; i < T; i++) differ |= fabsf(plain[i] - both[i]) > 1e-4f;
	cr_assert(differ);
	wn_model_free(m);
}

/* Rows longer than one attention block (64 queries): the causal loss of a
 * prefix does not depend on the tokens after it, and losses agree with
 * the prefix run alone. */
Test(model, long_rows_are_causal)
{
	enum { T = 150, V = 29, P = 100 };
	wn_model *m = tiny(V, 16, 1, 2, 2, 16, T);
	cr_assert_eq(wn_model_reserve(m, 1, T), 0);
	tu_rng r = { 5 };
	int32_t in[T], tg[T];
	for (int i = 0; i < T; i++) {
		in[i] = (int32_t)(tu_next(&r) % V);
		tg[i] = (int32_t)(tu_next(&r) % V);
	}
	float full[T], pre[P];
	wn_model_forward(m, in, tg, NULL, NULL, 1, T, full);
	wn_model_forward(m, in, tg, NULL, NULL, 1, P, pre);
	for (int i = 0; i < P; i++) cr_assert_float_eq(full[i], pre[i], 2e-5, "token %d", i);
	wn_model_free(m);
}

Test(model, repeatable_and_accumulating)
{
	enum { B = 3, T = 10, V = 23 };
	wn_model *m = tiny(V, 24, 2, 6, 3, 32, T);
	cr_assert_eq(wn_model_reserve(m, B, T), 0);
	tu_rng r = { 8 };
	int32_t in[B * T], tg[B * T];
	for (int i = 0; i < B * T; i++) {
		in[i] = (int32_t)(tu_next(&r) % V);
		tg[i] = (int32_t)(tu_next(&r) % V);
	}
	float loss[B * T];
	size_t n = wn_model_num_params(m);
	float *g1 = malloc(n * sizeof *g1);
	wn_model_zero_grad(m);
	double l1 = wn_model_forward(m, in, tg, NULL, NULL, B, T, loss);
	wn_model_backward(m, 0.5f);
	memcpy(g1, wn_model_grads(m), n * sizeof *g1);
	wn_model_zero_grad(m);
	double l2 = wn_model_forward(m, in, tg, NULL, NULL, B, T, loss);
	wn_model_backward(m, 0.5f);
	cr_assert(l1 == l2);
	cr_assert(!memcmp(g1, wn_model_grads(m), n * sizeof *g1), "gradients differ between identical runs");
	/* a second backward adds: twice the gradient */
	wn_model_forward(m, in, tg, NULL, NULL, B, T, loss);
	wn_model_backward(m, 0.5f);
	const float *g = wn_model_grads(m);
	for (size_t i = 0; i < n; i++) cr_assert_float_eq(g[i], 2 * g1[i], 1e-6 + 1e-5 * fabsf(g1[i]));
	free(g1);
	wn_model_free(m);
}

Test(model, presets_and_config_errors)
{
	wn_model_config c = { 0 };
	cr_assert_eq(wn_model_preset("nope", &c), -1);
	const char *names[] = { "tiny", "small", "base" };
	double want[] = { 1e6, 10e6, 50e6 };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(wn_model_preset(names[i], &c), 0);
		c.vocab_size = 8192;
		c.max_seq_len = 256;
		char err[128];
		wn_model *m = wn_model_new(&c, err, sizeof err);
		cr_assert(m, "%s", err);
		double n = (double)(wn_model_num_nonembed(m) - (size_t)c.vocab_size * c.dim); /* without the head */
		cr_assert(n > 0.8 * want[i] && n < 1.25 * want[i], "%s: %.0f parameters", names[i], n);
		wn_model_free(m);
	}
	char err[128];
	c.n_kv_heads = 3; /* does not divide 10 heads */
	cr_assert_null(wn_model_new(&c, err, sizeof err));
	cr_assert(strstr(err, "kv heads"), "%s", err);
}
