/*
 * trainer.h - a training run: the model, its data, AdamW, the schedule,
 * gradient accumulation and clipping, evaluation, checkpoints.  The
 * command (cmd/train.c) parses options, then calls
 *
 *   wn_trainer_new(model, data, opts)      takes neither; sizes buffers
 *   wn_trainer_resume(tr, ckpt)            optional: state from a checkpoint
 *   loop: wn_trainer_step(tr, &res)        one optimizer step
 *         wn_trainer_eval(tr, sums, counts)   held-out loss per domain
 *         wn_trainer_save(tr, path, options)  checkpoint
 *   wn_trainer_free(tr)
 *
 * A step: the batch is accum micro-batches of B rows drawn from the data;
 * the valid targets of the whole step are counted first, so each
 * micro-batch's backward adds d(sum of its losses)/count and the step's
 * gradient is that of the step's mean token loss, for any accum.  Then
 * the global gradient norm, clipping, and AdamW on every tensor: weight
 * decay on the projections and the head, none on norms and (unless
 * decay_embed) the embedding.
 *
 * Determinism: with the same thread count a step is a pure function of
 * the parameters, the moments, the step number and the data's state, all
 * of which a checkpoint holds; a resumed run repeats the uninterrupted
 * run's losses bit for bit.
 */
#ifndef WN_TRAIN_TRAINER_H
#define WN_TRAIN_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "data.h"
#include "model.h"
#include "optim.h"

typedef struct wn_train_opts {
	size_t batch;         /* B rows of a micro-batch */
	size_t accum;         /* micro-batches per step */
	uint64_t steps;       /* total optimizer steps of the run */
	wn_schedule sched;
	wn_adamw adamw;
	float weight_decay;
	int decay_embed;      /* 1: weight decay on the embedding too */
	float clip;           /* global norm; 0: none */
} wn_train_opts;

typedef struct wn_step_result {
	uint64_t step;        /* the step just done, from 1 */
	double loss;          /* mean token loss of the step */
	float lr;
	double grad_norm;     /* before clipping */
	uint64_t tokens;      /* valid targets of the step */
	const double *dom_loss;     /* [domains] sum of token losses */
	const uint64_t *dom_tokens; /* [domains] valid targets */
} wn_step_result;

typedef struct wn_trainer wn_trainer;

wn_trainer *wn_trainer_new(wn_model *m, wn_data *d, const wn_train_opts *o, char *err, size_t errlen);
void wn_trainer_free(wn_trainer *tr); /* not the model nor the data */

/* Parameters, moments, step, tokens and data state from c (same config;
 * moments may be absent: they start at 0).  0 or -1 (err). */
int wn_trainer_resume(wn_trainer *tr, const wn_ckpt *c, char *err, size_t errlen);

uint64_t wn_trainer_steps_done(const wn_trainer *tr);
uint64_t wn_trainer_tokens(const wn_trainer *tr);
/* bytes of the optimizer state and the batch buffers */
size_t wn_trainer_state_bytes(const wn_trainer *tr);

void wn_trainer_step(wn_trainer *tr, wn_step_result *res);

/* The held-out loss of every domain: sums[i] of token losses over
 * counts[i] valid targets (0 when the domain holds nothing out). */
void wn_trainer_eval(wn_trainer *tr, double *sums, uint64_t *counts);

/* A checkpoint of the present state; options is the run's JSON. */
int wn_trainer_save(wn_trainer *tr, const char *path, const char *options, char *err, size_t errlen);

/* The last step's batch, gradients and parameters after its update, as
 * DIR/step-N.safetensors (tests compare them with PyTorch); 0 or WN_EIO. */
int wn_trainer_dump(wn_trainer *tr, const char *dir, char *err, size_t errlen);

#endif
