/*
 * optim.h - the training run's arithmetic besides the model: AdamW, the
 * global gradient norm and its clipping, and the learning-rate schedules.
 *
 * AdamW is PyTorch's torch.optim.AdamW (decoupled weight decay), step t
 * counted from 1:
 *   p *= 1 - lr * wd
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * Clipping is torch.nn.utils.clip_grad_norm_'s: every gradient is
 * multiplied by min(1, clip / (norm + 1e-6)).
 *
 * Schedules, step s counted from 0 of S steps, warmup W:
 *   s < W        lr * (s + 1) / W
 *   cosine       min + (lr - min) * (1 + cos(pi * (s - W) / (S - W))) / 2
 *   wsd          lr until the last `decay` steps, then linearly down to
 *                min, reaching it at the last step (warmup-stable-decay)
 *   constant     lr
 *
 * Sums run in double over a fixed split of the vector by thread, added in
 * thread order: deterministic for a given thread count.
 */
#ifndef WN_TRAIN_OPTIM_H
#define WN_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct wn_adamw {
	float beta1, beta2, eps;
} wn_adamw;

/* One AdamW step over n parameters with weight decay wd; g is read as
 * g * gscale (the clipping factor); t is the step number from 1. */
void wn_adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float wd, float gscale,
		     const wn_adamw *o, uint64_t t);

/* sqrt(sum g^2) */
double wn_grad_norm(const float *g, size_t n);

/* the factor clipping applies: min(1, clip / (norm + 1e-6)); 1 when clip <= 0 */
float wn_clip_scale(double norm, float clip);

enum { WN_SCHED_COSINE = 1, WN_SCHED_WSD = 2, WN_SCHED_CONSTANT = 3 };

typedef struct wn_schedule {
	int kind;         /* WN_SCHED_* */
	float lr, min_lr;
	uint64_t warmup;  /* steps */
	uint64_t total;   /* steps of the run */
	uint64_t decay;   /* wsd: steps of the final decay */
} wn_schedule;

float wn_schedule_lr(const wn_schedule *s, uint64_t step);
/* "cosine", "wsd", "constant" -> WN_SCHED_*, 0 when unknown */
int wn_schedule_kind(const char *name);
const char *wn_schedule_name(int kind);

#endif
