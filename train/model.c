/*
 * model.c - forward and backward of winnow's decoder-only transformer
 * (see model.h for the architecture and the parameter layout).
 *
 * The shape of a step, per layer, with N = B*T rows:
 *
 *   forward                              backward (reverse order)
 *   ln1 = rmsnorm(res)                   dres += d(o wo^T) ...
 *   q,k,v = ln1 W^T      (3 sgemm)       dW += dy^T x, dx = dy W (2 sgemm each)
 *   rope(q,k)                            rope^-1(dq,dk)
 *   att = softmax(mask(q k^T))  per (b,h), blocked over query rows so the
 *   atty = att v                causal half above the diagonal is skipped
 *   mid = res + atty wo^T
 *   ln2 = rmsnorm(mid)
 *   g,u = ln2 W^T; h = silu(g)*u; out = mid + h wdown^T
 *
 * The head: logits = lnf head^T, one sgemm over all N rows; with targets
 * the softmax replaces the logits in place, and backward turns them into
 * dlogits in place.  Memory is dominated by that [N,V] buffer and by the
 * per-layer attention probabilities [B,H,T,T]; wn_model_activation_bytes()
 * tells.
 *
 * Activations of every layer are kept for the backward (no recompute).
 * Parallel loops use OpenMP's static schedule, so a row always lands on
 * the same thread for a given thread count; cross-row sums (the norms'
 * weight gradients) are kept per thread and added in thread order.
 */
#include "../lib/hash.h"
#include "model.h"
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QBLOCK 64 /* query rows per attention block */

typedef struct layer_acts {
	float *ln1, *rstd1;  /* [N,C], [N] */
	float *q, *k, *v;    /* [N,H*D], [N,KV*D], [N,KV*D]; q,k after RoPE */
	float *att;          /* [B,H,T,T] probabilities (lower triangle used) */
	float *atty;         /* [N,H*D] */
	float *mid;          /* [N,C] residual after attention */
	float *ln2, *rstd2;  /* [N,C], [N] */
	float *g, *u, *h;    /* [N,F] */
} layer_acts;

struct wn_model {
	wn_model_config cfg;
	wn_model_tensor t[WN_T_COUNT];
	size_t nparams;
	float *params, *grads;
	/* RoPE table: cos/sin of pos * theta^(-2i/D), [max_seq_len, D/2] */
	float *rope_cos, *rope_sin;

	/* activations, for up to Bmax x Tmax */
	size_t Bmax, Tmax, act_floats;
	float *acts;
	float *res0;       /* [N,C] the embeddings */
	layer_acts *la;    /* [L]; layer l's output residual is res[l+1] */
	float **res;       /* [L+1] -> [N,C]; res[0] = res0 */
	float *lnf, *rstdf; /* [N,C], [N] */
	float *logits;     /* [N,V] */
	/* backward scratch */
	float *dres, *dx, *dq, *dk, *dv, *datty, *dg, *du, *dh; /* [N,*] */
	float *datt;       /* per thread [QBLOCK, T] */
	float *dnorm;      /* per thread [C] partial norm-weight gradients */
	int nthreads;

	/* the last forward */
	size_t B, T;
	int32_t *inputs, *targets, *pos, *segs; /* copies of the caller's [N] */
	int has_targets;
};

/* ---- configuration ---- */

int wn_model_preset(const char *name, wn_model_config *c)
{
	/* name, C, L, H, KV, F: SwiGLU width about 8/3 C, rounded to 32;
	 * head width 32 for tiny, 64 above */
	static const struct { const char *name; int C, L, H, KV, F; } p[] = {
		{"tiny", 128, 6, 4, 2, 352},
		{"small", 384, 6, 6, 2, 1024},
		{"base", 640, 12, 10, 2, 1728},
	};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		if (!strcmp(name, p[i].name)) {
			c->dim = p[i].C;
			c->n_layers = p[i].L;
			c->n_heads = p[i].H;
			c->n_kv_heads = p[i].KV;
			c->hidden_dim = p[i].F;
			c->rope_theta = 10000.0f;
			c->norm_eps = 1e-5f;
			return 0;
		}
	return -1;
}

int wn_model_config_check(const wn_model_config *c, char *err, size_t errlen)
{
	const char *why = NULL;
	if (c->vocab_size < 2 || c->vocab_size > (1 << 24)) why = "vocabulary size must be 2 .. 16777216";
	else if (c->dim < 2 || c->dim > 65536) why = "dim must be 2 .. 65536";
	else if (c->n_layers < 1 || c->n_layers > 1024) why = "layers must be 1 .. 1024";
	else if (c->n_heads < 1 || c->dim % c->n_heads) why = "heads must divide dim";
	else if ((c->dim / c->n_heads) % 2) why = "the head width (dim / heads) must be even for RoPE";
	else if (c->n_kv_heads < 1 || c->n_heads % c->n_kv_heads) why = "kv heads must divide heads";
	else if (c->hidden_dim < 1 || c->hidden_dim > 1 << 20) why = "hidden dim must be 1 .. 1048576";
	else if (c->max_seq_len < 1 || c->max_seq_len > 1 << 20) why = "sequence length must be 1 .. 1048576";
	else if (!(c->rope_theta > 1.0f) || !isfinite(c->rope_theta)) why = "rope theta must be > 1";
	else if (!(c->norm_eps > 0.0f) || c->norm_eps > 1.0f) why = "norm eps must be in (0, 1]";
	if (why) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

/* ---- allocation ---- */

static void *xalloc(size_t floats)
{
	void *p = NULL;
	if (floats == 0) floats = 1;
	if (posix_memalign(&p, 64, floats * sizeof(float))) return NULL;
	return p;
}

wn_model *wn_model_new(const wn_model_config *c, char *err, size_t errlen)
{
	if (wn_model_config_check(c, err, errlen)) return NULL;
	wn_model *m = calloc(1, sizeof *m);
	if (!m) goto oom;
	m->cfg = *c;
	size_t V = c->vocab_size, C = c->dim, L = c->n_layers, H = c->n_heads, KV = c->n_kv_heads;
	size_t D = C / H, F = c->hidden_dim;
	static const struct { const char *name, *hf; int per_layer, is_norm; } info[WN_T_COUNT] = {
		{"embed", "model.embed_tokens.weight", 0, 0},
		{"attn_norm", "model.layers.%d.input_layernorm.weight", 1, 1},
		{"wq", "model.layers.%d.self_attn.q_proj.weight", 1, 0},
		{"wk", "model.layers.%d.self_attn.k_proj.weight", 1, 0},
		{"wv", "model.layers.%d.self_attn.v_proj.weight", 1, 0},
		{"wo", "model.layers.%d.self_attn.o_proj.weight", 1, 0},
		{"mlp_norm", "model.layers.%d.post_attention_layernorm.weight", 1, 1},
		{"wgate", "model.layers.%d.mlp.gate_proj.weight", 1, 0},
		{"wup", "model.layers.%d.mlp.up_proj.weight", 1, 0},
		{"wdown", "model.layers.%d.mlp.down_proj.weight", 1, 0},
		{"final_norm", "model.norm.weight", 0, 1},
		{"head", "lm_head.weight", 0, 0},
	};
	size_t shape[WN_T_COUNT][2] = {
		{V, C}, {C, 0}, {H * D, C}, {KV * D, C}, {KV * D, C}, {C, H * D},
		{C, 0}, {F, C}, {F, C}, {C, F}, {C, 0}, {V, C},
	};
	size_t off = 0;
	for (int i = 0; i < WN_T_COUNT; i++) {
		wn_model_tensor *t = &m->t[i];
		t->name = info[i].name;
		t->hf = info[i].hf;
		t->per_layer = info[i].per_layer;
		t->is_norm = info[i].is_norm;
		t->rows = shape[i][0];
		t->cols = shape[i][1];
		t->offset = off;
		t->size = t->rows * (t->cols ? t->cols : 1) * (t->per_layer ? L : 1);
		off += t->size;
	}
	m->nparams = off;
	m->params = xalloc(off);
	m->grads = xalloc(off);
	size_t half = D / 2, P = c->max_seq_len;
	m->rope_cos = xalloc(P * half);
	m->rope_sin = xalloc(P * half);
	if (!m->params || !m->grads || !m->rope_cos || !m->rope_sin) goto oom;
	memset(m->params, 0, off * sizeof(float));
	memset(m->grads, 0, off * sizeof(float));
	/* the angles in double, as exact as float can hold them */
	for (size_t p = 0; p < P; p++)
		for (size_t i = 0; i < half; i++) {
			double a = (double)p * pow((double)c->rope_theta, -2.0 * (double)i / (double)D);
			m->rope_cos[p * half + i] = (float)cos(a);
			m->rope_sin[p * half + i] = (float)sin(a);
		}
	m->nthreads = omp_get_max_threads();
	return m;
oom:
	snprintf(err, errlen, "out of memory for the model's parameters");
	wn_model_free(m);
	return NULL;
}

static void free_acts(wn_model *m)
{
	free(m->acts);
	free(m->la);
	free(m->res);
	free(m->inputs);
	m->acts = NULL;
	m->la = NULL;
	m->res = NULL;
	m->inputs = NULL;
	m->Bmax = m->Tmax = 0;
}

void wn_model_free(wn_model *m)
{
	if (!m) return;
	free_acts(m);
	free(m->params);
	free(m->grads);
	free(m->rope_cos);
	free(m->rope_sin);
	free(m);
}

const wn_model_config *wn_model_cfg(const wn_model *m) { return &m->cfg; }
const wn_model_tensor *wn_model_tensors(const wn_model *m) { return m->t; }
float *wn_model_params(wn_model *m) { return m->params; }
float *wn_model_grads(wn_model *m) { return m->grads; }
size_t wn_model_num_params(const wn_model *m) { return m->nparams; }
size_t wn_model_num_nonembed(const wn_model *m) { return m->nparams - m->t[WN_T_EMBED].size; }
const float *wn_model_logits(const wn_model *m) { return m->logits; }
size_t wn_model_activation_bytes(const wn_model *m) { return m->act_floats * sizeof(float); }

void wn_model_zero_grad(wn_model *m) { memset(m->grads, 0, m->nparams * sizeof(float)); }

double wn_model_flops_per_token(const wn_model *m, size_t T)
{
	const wn_model_config *c = &m->cfg;
	size_t HD = (size_t)c->dim / c->n_heads * c->n_heads;
	return 6.0 * (double)wn_model_num_nonembed(m) + 6.0 * c->n_layers * (double)HD * (double)T;
}

/* ---- initialisation: a seeded normal stream, independent of threads ---- */

static double uniform01(uint64_t *s) /* (0, 1) */
{
	return ((double)(wn_splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void wn_model_init(wn_model *m, uint64_t seed)
{
	uint64_t s = seed ^ 0x77696e6e6f77ULL; /* "winnow" */
	double resid_scale = 1.0 / sqrt(2.0 * m->cfg.n_layers);
	for (int i = 0; i < WN_T_COUNT; i++) {
		wn_model_tensor *t = &m->t[i];
		float *p = m->params + t->offset;
		if (t->is_norm) {
			for (size_t j = 0; j < t->size; j++) p[j] = 1.0f;
			continue;
		}
		double std = 0.02 * (i == WN_T_WO || i == WN_T_WDOWN ? resid_scale : 1.0);
		for (size_t j = 0; j < t->size; j += 2) { /* Box-Muller, two at a time */
			double r = sqrt(-2.0 * log(uniform01(&s))), a = 2.0 * M_PI * uniform01(&s);
			p[j] = (float)(std * r * cos(a));
			if (j + 1 < t->size) p[j + 1] = (float)(std * r * sin(a));
		}
	}
}

/* ---- activations ---- */

int wn_model_reserve(wn_model *m, size_t B, size_t T)
{
	if (B <= m->Bmax && T <= m->Tmax && B * T <= m->Bmax * m->Tmax) return 0;
	free_acts(m);
	const wn_model_config *c = &m->cfg;
	if (T > (size_t)c->max_seq_len || B == 0 || T == 0) return -1;
	size_t N = B * T, C = c->dim, L = c->n_layers, H = c->n_heads, KV = c->n_kv_heads;
	size_t D = C / H, F = c->hidden_dim, V = c->vocab_size;
	size_t nt = (size_t)omp_get_max_threads();
	m->nthreads = (int)nt;
	size_t per_layer = N * C + N + N * H * D + 2 * N * KV * D + B * H * T * T + N * H * D + N * C + N * C + N +
			   3 * N * F;
	size_t total = N * C /* res0 */ + L * per_layer + L * N * C /* res[1..L] */ + N * C + N /* lnf */ +
		       N * V /* logits */ + 2 * N * C /* dres, dx */ + N * H * D + 2 * N * KV * D + N * H * D +
		       3 * N * F /* dq dk dv datty dg du dh */ + nt * QBLOCK * T + nt * C;
	m->acts = xalloc(total);
	m->la = calloc(L, sizeof *m->la);
	m->res = calloc(L + 1, sizeof *m->res);
	m->inputs = malloc(4 * N * sizeof(int32_t));
	if (!m->acts || !m->la || !m->res || !m->inputs) {
		free_acts(m);
		return -1;
	}
	m->targets = m->inputs + N;
	m->pos = m->targets + N;
	m->segs = m->pos + N;
	float *p = m->acts;
#define TAKE(n) (p += (n), p - (n))
	m->res0 = TAKE(N * C);
	m->res[0] = m->res0;
	for (size_t l = 0; l < L; l++) {
		layer_acts *a = &m->la[l];
		a->ln1 = TAKE(N * C);
		a->rstd1 = TAKE(N);
		a->q = TAKE(N * H * D);
		a->k = TAKE(N * KV * D);
		a->v = TAKE(N * KV * D);
		a->att = TAKE(B * H * T * T);
		a->atty = TAKE(N * H * D);
		a->mid = TAKE(N * C);
		a->ln2 = TAKE(N * C);
		a->rstd2 = TAKE(N);
		a->g = TAKE(N * F);
		a->u = TAKE(N * F);
		a->h = TAKE(N * F);
		m->res[l + 1] = TAKE(N * C);
	}
	m->lnf = TAKE(N * C);
	m->rstdf = TAKE(N);
	m->logits = TAKE(N * V);
	m->dres = TAKE(N * C);
	m->dx = TAKE(N * C);
	m->dq = TAKE(N * H * D);
	m->dk = TAKE(N * KV * D);
	m->dv = TAKE(N * KV * D);
	m->datty = TAKE(N * H * D);
	m->dg = TAKE(N * F);
	m->du = TAKE(N * F);
	m->dh = TAKE(N * F);
	m->datt = TAKE(nt * QBLOCK * T);
	m->dnorm = TAKE(nt * C);
#undef TAKE
	m->act_floats = total;
	m->Bmax = B;
	m->Tmax = T;
	return 0;
}

/* ---- matrix products: y = x W^T and its two gradients ---- */

/* x[N,in], W[out,in] -> y[N,out] */
static void matmul_forward(float *y, const float *x, const float *W, size_t N, size_t in, size_t out)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)in, 1.0f, x, (int)in, W,
		    (int)in, 0.0f, y, (int)out);
}

/* dy[N,out] -> dx[N,in] (= dy W, written or added), dW[out,in] += dy^T x */
static void matmul_backward(float *dx, float *dW, const float *dy, const float *x, const float *W, size_t N,
			    size_t in, size_t out, int add_dx)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)in, (int)out, 1.0f, dy, (int)out, W,
		    (int)in, add_dx ? 1.0f : 0.0f, dx, (int)in);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)N, 1.0f, dy, (int)out, x,
		    (int)in, 1.0f, dW, (int)in);
}

/* ---- RMSNorm over rows, in parallel; the weight gradient per thread ---- */

static void rmsnorm_forward_par(float *y, float *rstd, const float *x, const float *w, size_t N, size_t C,
				float eps)
{
#pragma omp parallel
	{
		int nt = omp_get_num_threads(), id = omp_get_thread_num();
		size_t lo = N * id / nt, hi = N * (id + 1) / nt;
		wn_rmsnorm_forward(y + lo * C, rstd + lo, x + lo * C, w, hi - lo, C, eps);
	}
}

static void rmsnorm_backward_par(wn_model *m, float *dx, float *dw, const float *dy, const float *x,
				 const float *w, const float *rstd, size_t N, size_t C)
{
	int used = 1;
#pragma omp parallel
	{
		int nt = omp_get_num_threads(), id = omp_get_thread_num();
		size_t lo = N * id / nt, hi = N * (id + 1) / nt;
		float *part = m->dnorm + (size_t)id * C;
		memset(part, 0, C * sizeof(float));
		wn_rmsnorm_backward(dx + lo * C, part, dy + lo * C, x + lo * C, w, rstd + lo, hi - lo, C);
#pragma omp single
		used = nt;
	}
	for (int id = 0; id < used; id++) {
		const float *part = m->dnorm + (size_t)id * C;
		for (size_t c = 0; c < C; c++) dw[c] += part[c];
	}
}

/* ---- RoPE from the table, rows of H heads ---- */

static void rope_rows(const wn_model *m, float *x, const int32_t *pos, size_t N, size_t H, size_t D, float sign)
{
	size_t half = D / 2;
#pragma omp parallel for schedule(static)
	for (size_t n = 0; n < N; n++) {
		const float *cs = m->rope_cos + (size_t)pos[n] * half, *sn = m->rope_sin + (size_t)pos[n] * half;
		for (size_t h = 0; h < H; h++) {
			float *v = x + (n * H + h) * D;
			for (size_t i = 0; i < half; i++) {
				float c = cs[i], s = sign * sn[i];
				float x1 = v[i], x2 = v[i + half];
				v[i] = x1 * c - x2 * s;
				v[i + half] = x2 * c + x1 * s;
			}
		}
	}
}

/* ---- attention ----
 * For row b and query head h (kv head g = h / (H/KV)), S = q k^T / sqrt(D)
 * over keys seg_start[t] .. t, P = softmax(S), out = P v.  Queries go in
 * blocks of QBLOCK rows; a block [t0, t1) needs keys [0, t1) only, so the
 * products skip what lies above the diagonal.  att[b,h] keeps P (zeros
 * outside the mask) for the backward. */

static void attention_forward(wn_model *m, layer_acts *a, const int32_t *segs, size_t B, size_t T)
{
	const wn_model_config *c = &m->cfg;
	size_t H = c->n_heads, KV = c->n_kv_heads, D = c->dim / c->n_heads;
	size_t HD = H * D, KVD = KV * D, rep = H / KV;
	float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static) collapse(2)
	for (size_t b = 0; b < B; b++)
		for (size_t h = 0; h < H; h++) {
			size_t g = h / rep;
			const float *q = a->q + b * T * HD + h * D;
			const float *k = a->k + b * T * KVD + g * D;
			const float *v = a->v + b * T * KVD + g * D;
			float *P = a->att + (b * H + h) * T * T;
			float *o = a->atty + b * T * HD + h * D;
			const int32_t *ss = segs + b * T;
			for (size_t t0 = 0; t0 < T; t0 += QBLOCK) {
				size_t t1 = t0 + QBLOCK < T ? t0 + QBLOCK : T, nq = t1 - t0;
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)t1, (int)D, scale,
					    q + t0 * HD, (int)HD, k, (int)KVD, 0.0f, P + t0 * T, (int)T);
				for (size_t t = t0; t < t1; t++) {
					float *row = P + t * T;
					size_t s0 = (size_t)ss[t];
					float mx = -INFINITY;
					for (size_t j = s0; j <= t; j++)
						if (row[j] > mx) mx = row[j];
					float sum = 0.0f;
					for (size_t j = s0; j <= t; j++) {
						row[j] = expf(row[j] - mx);
						sum += row[j];
					}
					float inv = 1.0f / sum;
					for (size_t j = 0; j < s0; j++) row[j] = 0.0f;
					for (size_t j = s0; j <= t; j++) row[j] *= inv;
					for (size_t j = t + 1; j < T; j++) row[j] = 0.0f;
				}
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)D, (int)t1, 1.0f,
					    P + t0 * T, (int)T, v, (int)KVD, 0.0f, o + t0 * HD, (int)HD);
			}
		}
}

/* datty -> dq (written), dk, dv (written).  One task per (row, kv head):
 * the query heads of a group add into the same dk, dv, so a group stays
 * on one thread and the heads are added in order. */
static void attention_backward(wn_model *m, layer_acts *a, size_t B, size_t T)
{
	const wn_model_config *c = &m->cfg;
	size_t H = c->n_heads, KV = c->n_kv_heads, D = c->dim / c->n_heads;
	size_t HD = H * D, KVD = KV * D, rep = H / KV;
	float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for schedule(static) collapse(2)
	for (size_t b = 0; b < B; b++)
		for (size_t g = 0; g < KV; g++) {
			float *dP = m->datt + (size_t)omp_get_thread_num() * QBLOCK * T;
			const float *k = a->k + b * T * KVD + g * D, *v = a->v + b * T * KVD + g * D;
			float *dk = m->dk + b * T * KVD + g * D, *dv = m->dv + b * T * KVD + g * D;
			for (size_t t = 0; t < T; t++) {
				memset(dk + t * KVD, 0, D * sizeof(float));
				memset(dv + t * KVD, 0, D * sizeof(float));
			}
			for (size_t h = g * rep; h < (g + 1) * rep; h++) {
				const float *q = a->q + b * T * HD + h * D, *P = a->att + (b * H + h) * T * T;
				const float *dout = m->datty + b * T * HD + h * D;
				float *dq = m->dq + b * T * HD + h * D;
				for (size_t t0 = 0; t0 < T; t0 += QBLOCK) {
					size_t t1 = t0 + QBLOCK < T ? t0 + QBLOCK : T, nq = t1 - t0;
					const float *Pb = P + t0 * T;
					/* dv[0,t1) += P^T dout; dP = dout v^T */
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)t1, (int)D, (int)nq, 1.0f,
						    Pb, (int)T, dout + t0 * HD, (int)HD, 1.0f, dv, (int)KVD);
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)t1, (int)D, 1.0f,
						    dout + t0 * HD, (int)HD, v, (int)KVD, 0.0f, dP, (int)T);
					/* dS = P (dP - sum_j P dP), scaled for q k^T / sqrt(D) */
					for (size_t i = 0; i < nq; i++) {
						const float *pr = Pb + i * T;
						float *dr = dP + i * T;
						float dot = 0.0f;
						for (size_t j = 0; j < t1; j++) dot += pr[j] * dr[j];
						for (size_t j = 0; j < t1; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
					}
					/* dq = dS k; dk[0,t1) += dS^T q */
					cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)D, (int)t1, 1.0f,
						    dP, (int)T, k, (int)KVD, 0.0f, dq + t0 * HD, (int)HD);
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)t1, (int)D, (int)nq, 1.0f,
						    dP, (int)T, q + t0 * HD, (int)HD, 1.0f, dk, (int)KVD);
				}
			}
		}
}

/* ---- the model ---- */

double wn_model_forward(wn_model *m, const int32_t *inputs, const int32_t *targets, const int32_t *pos,
			const int32_t *seg_start, size_t B, size_t T, float *loss)
{
	const wn_model_config *c = &m->cfg;
	size_t N = B * T, C = c->dim, L = c->n_layers, H = c->n_heads, KV = c->n_kv_heads;
	size_t D = C / H, F = c->hidden_dim, V = c->vocab_size;
	size_t HD = H * D, KVD = KV * D;
	float eps = c->norm_eps;
	const float *P = m->params;
	const wn_model_tensor *t = m->t;

	m->B = B;
	m->T = T;
	m->has_targets = targets != NULL;
	memcpy(m->inputs, inputs, N * sizeof(int32_t));
	for (size_t n = 0; n < N; n++) {
		m->targets[n] = targets ? targets[n] : -1;
		m->pos[n] = pos ? pos[n] : (int32_t)(n % T);
		m->segs[n] = seg_start ? seg_start[n] : 0;
	}

	/* embeddings */
	const float *emb = P + t[WN_T_EMBED].offset;
#pragma omp parallel for schedule(static)
	for (size_t n = 0; n < N; n++) memcpy(m->res0 + n * C, emb + (size_t)inputs[n] * C, C * sizeof(float));

	for (size_t l = 0; l < L; l++) {
		layer_acts *a = &m->la[l];
		const float *x = m->res[l];
		float *out = m->res[l + 1];
		const float *wq = P + t[WN_T_WQ].offset + l * HD * C, *wk = P + t[WN_T_WK].offset + l * KVD * C;
		const float *wv = P + t[WN_T_WV].offset + l * KVD * C, *wo = P + t[WN_T_WO].offset + l * C * HD;
		const float *wg = P + t[WN_T_WGATE].offset + l * F * C, *wu = P + t[WN_T_WUP].offset + l * F * C;
		const float *wd = P + t[WN_T_WDOWN].offset + l * C * F;

		rmsnorm_forward_par(a->ln1, a->rstd1, x, P + t[WN_T_ATTN_NORM].offset + l * C, N, C, eps);
		matmul_forward(a->q, a->ln1, wq, N, C, HD);
		matmul_forward(a->k, a->ln1, wk, N, C, KVD);
		matmul_forward(a->v, a->ln1, wv, N, C, KVD);
		rope_rows(m, a->q, m->pos, N, H, D, 1.0f);
		rope_rows(m, a->k, m->pos, N, KV, D, 1.0f);
		attention_forward(m, a, m->segs, B, T);
		/* mid = x + atty wo^T */
		memcpy(a->mid, x, N * C * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)C, (int)HD, 1.0f, a->atty, (int)HD,
			    wo, (int)HD, 1.0f, a->mid, (int)C);

		rmsnorm_forward_par(a->ln2, a->rstd2, a->mid, P + t[WN_T_MLP_NORM].offset + l * C, N, C, eps);
		matmul_forward(a->g, a->ln2, wg, N, C, F);
		matmul_forward(a->u, a->ln2, wu, N, C, F);
#pragma omp parallel
		{
			int nt = omp_get_num_threads(), id = omp_get_thread_num();
			size_t lo = N * F * id / nt, hi = N * F * (id + 1) / nt;
			wn_swiglu_forward(a->h + lo, a->g + lo, a->u + lo, hi - lo);
		}
		memcpy(out, a->mid, N * C * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)C, (int)F, 1.0f, a->h, (int)F, wd,
			    (int)F, 1.0f, out, (int)C);
	}

	rmsnorm_forward_par(m->lnf, m->rstdf, m->res[L], P + t[WN_T_FINAL_NORM].offset, N, C, eps);
	matmul_forward(m->logits, m->lnf, P + t[WN_T_HEAD].offset, N, C, V);
	if (!targets) return 0.0;

	/* softmax and cross-entropy in place, per row */
#pragma omp parallel for schedule(static)
	for (size_t n = 0; n < N; n++) {
		float *l = m->logits + n * V;
		float mx = l[0];
		for (size_t v = 1; v < V; v++)
			if (l[v] > mx) mx = l[v];
		int32_t tg = m->targets[n];
		float lt = tg >= 0 ? l[tg] - mx : 0.0f; /* the loss from the logit, not a rounded probability */
		double sum = 0.0;
		for (size_t v = 0; v < V; v++) {
			float e = expf(l[v] - mx);
			sum += e;
			l[v] = e;
		}
		float inv = (float)(1.0 / sum);
		for (size_t v = 0; v < V; v++) l[v] *= inv;
		loss[n] = tg >= 0 ? (float)(log(sum) - (double)lt) : 0.0f;
	}
	double total = 0.0;
	for (size_t n = 0; n < N; n++) total += loss[n];
	return total;
}

void wn_model_backward(wn_model *m, float dloss)
{
	const wn_model_config *c = &m->cfg;
	size_t B = m->B, T = m->T, N = B * T, C = c->dim, L = c->n_layers, H = c->n_heads, KV = c->n_kv_heads;
	size_t D = C / H, F = c->hidden_dim, V = c->vocab_size;
	size_t HD = H * D, KVD = KV * D;
	const float *P = m->params;
	float *G = m->grads;
	const wn_model_tensor *t = m->t;
	if (!m->has_targets) return;

	/* dlogits = dloss * (p - onehot), in place */
#pragma omp parallel for schedule(static)
	for (size_t n = 0; n < N; n++) {
		float *d = m->logits + n * V;
		int32_t tg = m->targets[n];
		if (tg < 0) {
			memset(d, 0, V * sizeof(float));
			continue;
		}
		for (size_t v = 0; v < V; v++) d[v] *= dloss;
		d[tg] -= dloss;
	}
	/* head and final norm: dres = d(lnf) through the norm */
	matmul_backward(m->dx, G + t[WN_T_HEAD].offset, m->logits, m->lnf, P + t[WN_T_HEAD].offset, N, C, V, 0);
	rmsnorm_backward_par(m, m->dres, G + t[WN_T_FINAL_NORM].offset, m->dx, m->res[L],
			     P + t[WN_T_FINAL_NORM].offset, m->rstdf, N, C);

	for (size_t l = L; l-- > 0;) {
		layer_acts *a = &m->la[l];
		const float *x = m->res[l];
		size_t oq = t[WN_T_WQ].offset + l * HD * C, ok = t[WN_T_WK].offset + l * KVD * C;
		size_t ov = t[WN_T_WV].offset + l * KVD * C, oo = t[WN_T_WO].offset + l * C * HD;
		size_t og = t[WN_T_WGATE].offset + l * F * C, ou = t[WN_T_WUP].offset + l * F * C;
		size_t od = t[WN_T_WDOWN].offset + l * C * F;
		size_t on1 = t[WN_T_ATTN_NORM].offset + l * C, on2 = t[WN_T_MLP_NORM].offset + l * C;

		/* MLP: out = mid + h wdown^T; dres is d(out) and becomes d(mid) */
		matmul_backward(m->dh, G + od, m->dres, a->h, P + od, N, F, C, 0);
#pragma omp parallel
		{
			int nt = omp_get_num_threads(), id = omp_get_thread_num();
			size_t lo = N * F * id / nt, hi = N * F * (id + 1) / nt;
			wn_swiglu_backward(m->dg + lo, m->du + lo, m->dh + lo, a->g + lo, a->u + lo, hi - lo);
		}
		matmul_backward(m->dx, G + og, m->dg, a->ln2, P + og, N, C, F, 0);
		matmul_backward(m->dx, G + ou, m->du, a->ln2, P + ou, N, C, F, 1);
		/* d(mid) += the norm's backward of dx; the residual path is dres */
		rmsnorm_backward_par(m, m->dx, G + on2, m->dx, a->mid, P + on2, a->rstd2, N, C);
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < N * C; i++) m->dres[i] += m->dx[i];

		/* attention: mid = x + atty wo^T */
		matmul_backward(m->datty, G + oo, m->dres, a->atty, P + oo, N, HD, C, 0);
		attention_backward(m, a, B, T);
		rope_rows(m, m->dq, m->pos, N, H, D, -1.0f);
		rope_rows(m, m->dk, m->pos, N, KV, D, -1.0f);
		matmul_backward(m->dx, G + oq, m->dq, a->ln1, P + oq, N, C, HD, 0);
		matmul_backward(m->dx, G + ok, m->dk, a->ln1, P + ok, N, C, KVD, 1);
		matmul_backward(m->dx, G + ov, m->dv, a->ln1, P + ov, N, C, KVD, 1);
		rmsnorm_backward_par(m, m->dx, G + on1, m->dx, x, P + on1, a->rstd1, N, C);
#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < N * C; i++) m->dres[i] += m->dx[i];
	}

	/* the embedding: rows of repeated tokens add up, so one thread */
	float *gemb = G + t[WN_T_EMBED].offset;
	for (size_t n = 0; n < N; n++) {
		float *g = gemb + (size_t)m->inputs[n] * C;
		const float *d = m->dres + n * C;
		for (size_t i = 0; i < C; i++) g[i] += d[i];
	}
}
