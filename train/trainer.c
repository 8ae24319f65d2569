/*
 * trainer.c - optimizer steps, evaluation and checkpoints of a run (see
 * trainer.h).
 */
#include "trainer.h"
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wn_trainer {
	wn_model *m;
	wn_data *d;
	wn_train_opts o;
	size_t T, nd;          /* sequence length, domains */
	float *mom, *vel;      /* AdamW moments, [params] each */
	uint64_t step, tokens;
	/* the step's batch: accum * B rows of T */
	int32_t *in, *tg, *pos, *ss;
	int *dom;
	float *loss;           /* [B*T] per-token losses of a micro-batch */
	double *dom_loss;
	uint64_t *dom_tokens;
	double last_loss, last_norm;
	float last_lr;
};

wn_trainer *wn_trainer_new(wn_model *m, wn_data *d, const wn_train_opts *o, char *err, size_t errlen)
{
	wn_trainer *tr = calloc(1, sizeof *tr);
	if (!tr) goto oom;
	tr->m = m;
	tr->d = d;
	tr->o = *o;
	tr->T = (size_t)wn_data_seq_len(d);
	tr->nd = (size_t)wn_data_domains(d);
	size_t P = wn_model_num_params(m), R = o->batch * o->accum, N = R * tr->T;
	tr->mom = calloc(P, sizeof(float));
	tr->vel = calloc(P, sizeof(float));
	tr->in = malloc(4 * N * sizeof(int32_t));
	tr->dom = malloc(R * sizeof(int));
	tr->loss = malloc(o->batch * tr->T * sizeof(float));
	tr->dom_loss = calloc(tr->nd, sizeof(double));
	tr->dom_tokens = calloc(tr->nd, sizeof(uint64_t));
	if (!tr->mom || !tr->vel || !tr->in || !tr->dom || !tr->loss || !tr->dom_loss || !tr->dom_tokens) goto oom;
	tr->tg = tr->in + N;
	tr->pos = tr->tg + N;
	tr->ss = tr->pos + N;
	if (wn_model_reserve(m, o->batch, tr->T)) goto oom;
	return tr;
oom:
	snprintf(err, errlen, "out of memory for the optimizer state and activations");
	wn_trainer_free(tr);
	return NULL;
}

void wn_trainer_free(wn_trainer *tr)
{
	if (!tr) return;
	free(tr->mom);
	free(tr->vel);
	free(tr->in);
	free(tr->dom);
	free(tr->loss);
	free(tr->dom_loss);
	free(tr->dom_tokens);
	free(tr);
}

uint64_t wn_trainer_steps_done(const wn_trainer *tr) { return tr->step; }
uint64_t wn_trainer_tokens(const wn_trainer *tr) { return tr->tokens; }

size_t wn_trainer_state_bytes(const wn_trainer *tr)
{
	size_t R = tr->o.batch * tr->o.accum;
	return 2 * wn_model_num_params(tr->m) * sizeof(float) + 4 * R * tr->T * sizeof(int32_t) +
	       tr->o.batch * tr->T * sizeof(float);
}

int wn_trainer_resume(wn_trainer *tr, const wn_ckpt *c, char *err, size_t errlen)
{
	const wn_model_config *a = wn_model_cfg(tr->m), *b = &c->cfg;
	if (memcmp(a, b, sizeof *a) || c->nparams != wn_model_num_params(tr->m)) {
		snprintf(err, errlen,
			 "the checkpoint's model (vocab %d, dim %d, layers %d, heads %d/%d, hidden %d, seq %d) "
			 "differs from this run's (vocab %d, dim %d, layers %d, heads %d/%d, hidden %d, seq %d)",
			 b->vocab_size, b->dim, b->n_layers, b->n_heads, b->n_kv_heads, b->hidden_dim, b->max_seq_len,
			 a->vocab_size, a->dim, a->n_layers, a->n_heads, a->n_kv_heads, a->hidden_dim, a->max_seq_len);
		return -1;
	}
	if (c->data_state_len && wn_data_state_load(tr->d, c->data_state, c->data_state_len, err, errlen)) return -1;
	size_t P = c->nparams * sizeof(float);
	memcpy(wn_model_params(tr->m), c->params, P);
	if (c->m) {
		memcpy(tr->mom, c->m, P);
		memcpy(tr->vel, c->v, P);
	}
	tr->step = c->step;
	tr->tokens = c->tokens;
	return 0;
}

void wn_trainer_step(wn_trainer *tr, wn_step_result *res)
{
	const wn_train_opts *o = &tr->o;
	size_t B = o->batch, T = tr->T, R = B * o->accum;
	wn_data_next(tr->d, R, tr->in, tr->tg, tr->pos, tr->ss, tr->dom);
	uint64_t valid = 0;
	for (size_t i = 0; i < R * T; i++) valid += tr->tg[i] >= 0;
	memset(tr->dom_loss, 0, tr->nd * sizeof(double));
	memset(tr->dom_tokens, 0, tr->nd * sizeof(uint64_t));
	wn_model_zero_grad(tr->m);
	double total = 0;
	float dloss = valid ? 1.0f / (float)valid : 0.0f;
	for (size_t k = 0; k < o->accum; k++) {
		size_t r0 = k * B;
		wn_model_forward(tr->m, tr->in + r0 * T, tr->tg + r0 * T, tr->pos + r0 * T, tr->ss + r0 * T, B, T,
				 tr->loss);
		wn_model_backward(tr->m, dloss);
		for (size_t b = 0; b < B; b++) {
			double s = 0;
			uint64_t c = 0;
			for (size_t t = 0; t < T; t++) {
				s += tr->loss[b * T + t];
				c += tr->tg[(r0 + b) * T + t] >= 0;
			}
			tr->dom_loss[tr->dom[r0 + b]] += s;
			tr->dom_tokens[tr->dom[r0 + b]] += c;
			total += s;
		}
	}
	float lr = wn_schedule_lr(&o->sched, tr->step);
	size_t P = wn_model_num_params(tr->m);
	float *p = wn_model_params(tr->m), *g = wn_model_grads(tr->m);
	double norm = wn_grad_norm(g, P);
	float scale = wn_clip_scale(norm, o->clip);
	tr->step++;
	const wn_model_tensor *t = wn_model_tensors(tr->m);
	for (int i = 0; i < WN_T_COUNT; i++) {
		int decay = !t[i].is_norm && (i != WN_T_EMBED || o->decay_embed);
		size_t a = t[i].offset;
		wn_adamw_update(p + a, g + a, tr->mom + a, tr->vel + a, t[i].size, lr, decay ? o->weight_decay : 0.0f,
				scale, &o->adamw, tr->step);
	}
	tr->tokens += valid;
	tr->last_loss = valid ? total / (double)valid : 0;
	tr->last_norm = norm;
	tr->last_lr = lr;
	res->step = tr->step;
	res->loss = tr->last_loss;
	res->lr = lr;
	res->grad_norm = norm;
	res->tokens = valid;
	res->dom_loss = tr->dom_loss;
	res->dom_tokens = tr->dom_tokens;
}

void wn_trainer_eval(wn_trainer *tr, double *sums, uint64_t *counts)
{
	size_t B = tr->o.batch, T = tr->T;
	for (size_t i = 0; i < tr->nd; i++) {
		sums[i] = 0;
		counts[i] = 0;
		uint64_t n = wn_data_eval_windows(tr->d, (int)i);
		for (uint64_t j0 = 0; j0 < n; j0 += B) {
			size_t rows = n - j0 < B ? (size_t)(n - j0) : B;
			for (size_t r = 0; r < rows; r++)
				wn_data_eval_row(tr->d, (int)i, j0 + r, tr->in + r * T, tr->tg + r * T, tr->pos + r * T,
						 tr->ss + r * T);
			sums[i] += wn_model_forward(tr->m, tr->in, tr->tg, tr->pos, tr->ss, rows, T, tr->loss);
			for (size_t k = 0; k < rows * T; k++) counts[i] += tr->tg[k] >= 0;
		}
	}
}

int wn_trainer_save(wn_trainer *tr, const char *path, const char *options, char *err, size_t errlen)
{
	size_t dl = wn_data_state_size(tr->d);
	void *ds = malloc(dl);
	if (!ds) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wn_data_state_save(tr->d, ds);
	wn_ckpt c = {
		.cfg = *wn_model_cfg(tr->m), .step = tr->step, .tokens = tr->tokens,
		.nparams = wn_model_num_params(tr->m), .params = wn_model_params(tr->m), .m = tr->mom,
		.v = tr->vel, .data_state = ds, .data_state_len = dl, .options = (char *)options,
	};
	int rc = wn_ckpt_write(path, &c, err, errlen);
	free(ds);
	return rc;
}

int wn_trainer_dump(wn_trainer *tr, const char *dir, char *err, size_t errlen)
{
	size_t n = wn_export_count(tr->m), R = tr->o.batch * tr->o.accum;
	wn_st_tensor *t = calloc(2 * n + 7, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	float loss = (float)tr->last_loss, lr = tr->last_lr, norm = (float)tr->last_norm;
	const int32_t *arr[4] = { tr->in, tr->tg, tr->pos, tr->ss };
	static const char *names[4] = { "inputs", "targets", "pos", "seg_start" };
	size_t k = 0;
	for (int i = 0; i < 4; i++, k++) {
		t[k] = (wn_st_tensor){ .dtype = WN_ST_I32, .ndim = 2, .shape = { R, tr->T }, .data = arr[i] };
		snprintf(t[k].name, sizeof t[k].name, "%s", names[i]);
	}
	const float *sc[3] = { &loss, &lr, &norm };
	static const char *sn[3] = { "loss", "lr", "grad_norm" };
	for (int i = 0; i < 3; i++, k++) {
		t[k] = (wn_st_tensor){ .dtype = WN_ST_F32, .ndim = 1, .shape = { 1 }, .data = sc[i] };
		snprintf(t[k].name, sizeof t[k].name, "%s", sn[i]);
	}
	k += wn_export_tensors(tr->m, wn_model_grads(tr->m), "grad.", t + k);
	k += wn_export_tensors(tr->m, wn_model_params(tr->m), NULL, t + k);
	char path[4200];
	snprintf(path, sizeof path, "%s/step-%llu.safetensors", dir, (unsigned long long)tr->step);
	int rc = wn_st_write(path, t, k, NULL, err, errlen);
	free(t);
	return rc;
}
