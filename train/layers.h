/*
 * layers.h - the layers of winnow's decoder-only model (TeleChat2's
 * architecture, Llama's in Hugging Face terms), each a forward and a
 * backward function with the same arguments in the same order, as
 * llm.c's train_gpt2.c writes them.  Tensors are float, row-major, their
 * shapes in the comments; backward functions ADD into the gradients of
 * parameters (dw) and WRITE the gradients of their inputs.
 *
 *   rmsnorm     y = x / sqrt(mean(x^2) + eps) * w           (per row)
 *   swiglu      h = silu(g) * u, silu(g) = g / (1 + e^-g)    (elementwise)
 *   rope        rotary position embedding, Hugging Face's "rotate half"
 *               layout: for i < d/2 the pair (x[i], x[i + d/2]) turns by
 *               pos * theta^(-2i/d); positions come per token, so that
 *               they can restart at document boundaries
 *   crossentropy  loss[n] = logsumexp(logits[n]) - logits[n][target[n]];
 *               target -1 is ignored (loss 0, no gradient)
 *
 * These run on one thread; the model parallelises over rows around them.
 */
#ifndef WN_TRAIN_LAYERS_H
#define WN_TRAIN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* x[N,C], w[C] -> y[N,C]; rstd[N] kept for the backward */
void wn_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, size_t N, size_t C,
			float eps);
/* dy[N,C] -> dx[N,C] (dx may be dy); dw[C] += */
void wn_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
			 const float *rstd, size_t N, size_t C);

/* g[N], u[N] -> h[N] (N elements in all) */
void wn_swiglu_forward(float *h, const float *g, const float *u, size_t N);
/* dh[N] -> dg[N], du[N] */
void wn_swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, size_t N);

/* x[T, H, D] turned in place by pos[T] (H heads of D dimensions, D even) */
void wn_rope_forward(float *x, const int32_t *pos, size_t T, size_t H, size_t D, float theta);
/* dx[T, H, D]: the gradient through the rotation, in place */
void wn_rope_backward(float *dx, const int32_t *pos, size_t T, size_t H, size_t D, float theta);

/* logits[N,V], target[N] -> loss[N]; probs[N,V] kept (softmax) */
void wn_crossentropy_forward(float *loss, float *probs, const float *logits, const int32_t *target,
			     size_t N, size_t V);
/* dloss[N] -> dlogits[N,V] */
void wn_crossentropy_backward(float *dlogits, const float *dloss, const float *probs, const int32_t *target,
			      size_t N, size_t V);

#endif
