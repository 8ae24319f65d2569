/*
 * model.h - winnow's decoder-only transformer: TeleChat2's architecture,
 * which is Llama's in Hugging Face's terms.
 *
 *   x = embed[tokens]                                  [B,T,C]
 *   per layer l:
 *     a = rmsnorm(x) * attn_norm[l]
 *     q = a wq^T [B,T,H,D], k = a wk^T, v = a wv^T      [B,T,KV,D]
 *     q, k turned by RoPE at each token's position
 *     o = softmax(q k^T / sqrt(D), masked) v             query head h reads
 *                                                        kv head h/(H/KV)
 *     x = x + o wo^T
 *     m = rmsnorm(x) * mlp_norm[l]
 *     x = x + (silu(m wgate^T) * (m wup^T)) wdown^T
 *   logits = (rmsnorm(x) * final_norm) head^T            [B,T,V]
 *   loss = cross-entropy against the targets (target -1: no loss)
 *
 * The mask: query t of a row sees keys seg_start[t] .. t.  seg_start = 0
 * everywhere is the plain causal mask; --doc-mask sets it to the start of
 * t's document in the window, and restarts positions there.
 *
 * Parameters live in ONE flat float buffer (and the gradients in a
 * second of the same layout), tensor after tensor in the order of the
 * WN_T_* list below, each layer-major: wq is [L, H*D, C], layer l's
 * matrix at wq + l*H*D*C.  Matrices are [out, in] as in PyTorch's
 * Linear, so y = x W^T, and the export to safetensors copies them as
 * they are.
 *
 * Use: wn_model_new(cfg) allocates parameters and gradients;
 * wn_model_init() fills them from a seed; wn_model_reserve(B, T) sizes the
 * activations for batches of at most B rows of T tokens.  A training
 * step is forward (with targets), backward (after zero_grad or to
 * accumulate), then the optimiser on params/grads.  forward without
 * targets computes the logits only (sampling, scoring).
 *
 * Threads: OpenMP over rows and attention heads, the matrix products in
 * OpenBLAS (its OpenMP build).  For a given thread count every result is
 * bit-for-bit reproducible: reductions across rows run over a fixed split
 * and are added in thread order.
 *
 * Ownership: the model owns every buffer; the caller's arrays are read
 * during a call only.  wn_model_free accepts NULL.
 */
#ifndef WN_TRAIN_MODEL_H
#define WN_TRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct wn_model_config {
	int vocab_size;   /* V */
	int dim;          /* C, the residual width */
	int n_layers;     /* L */
	int n_heads;      /* H query heads; D = C / H */
	int n_kv_heads;   /* KV heads, H % KV == 0 (GQA; KV == H is plain MHA) */
	int hidden_dim;   /* F, the SwiGLU width */
	int max_seq_len;  /* positions 0 .. max_seq_len-1 */
	float rope_theta; /* RoPE base, 10000 in Llama 2, 500000 in Llama 3 */
	float norm_eps;   /* RMSNorm epsilon */
} wn_model_config;

/* the parameter tensors, in buffer order */
enum {
	WN_T_EMBED,      /* [V, C] */
	WN_T_ATTN_NORM,  /* [L, C] */
	WN_T_WQ,         /* [L, H*D, C] */
	WN_T_WK,         /* [L, KV*D, C] */
	WN_T_WV,         /* [L, KV*D, C] */
	WN_T_WO,         /* [L, C, H*D] */
	WN_T_MLP_NORM,   /* [L, C] */
	WN_T_WGATE,      /* [L, F, C] */
	WN_T_WUP,        /* [L, F, C] */
	WN_T_WDOWN,      /* [L, C, F] */
	WN_T_FINAL_NORM, /* [C] */
	WN_T_HEAD,       /* [V, C] */
	WN_T_COUNT
};

typedef struct wn_model_tensor {
	const char *name;  /* winnow's name: "wq" */
	const char *hf;    /* Hugging Face Llama's name, %d for the layer:
			    * "model.layers.%d.self_attn.q_proj.weight" */
	int per_layer;     /* 1: L tensors of shape [rows, cols] */
	int is_norm;       /* a norm weight (initialised to 1) */
	size_t rows, cols; /* one layer's shape; cols 0 for a vector */
	size_t offset;     /* first float in the flat buffer */
	size_t size;       /* floats in all (all layers) */
} wn_model_tensor;

typedef struct wn_model wn_model;

/* Presets: "tiny" (about 1M parameters besides the embeddings), "small"
 * (10M), "base" (50M).  Fills everything but vocab_size and max_seq_len.
 * -1 for an unknown name. */
int wn_model_preset(const char *name, wn_model_config *c);

/* 0, or -1 with the reason in err. */
int wn_model_config_check(const wn_model_config *c, char *err, size_t errlen);

/* NULL on a bad config (reason in err) or out of memory. */
wn_model *wn_model_new(const wn_model_config *c, char *err, size_t errlen);
void wn_model_free(wn_model *m);

const wn_model_config *wn_model_cfg(const wn_model *m);
const wn_model_tensor *wn_model_tensors(const wn_model *m); /* WN_T_COUNT of them */
float *wn_model_params(wn_model *m);
float *wn_model_grads(wn_model *m);
size_t wn_model_num_params(const wn_model *m);
/* parameters other than the input embedding (the N of 6N FLOPs/token) */
size_t wn_model_num_nonembed(const wn_model *m);

/* Normal(0, 0.02) for the embedding, the projections and the head, with
 * wo and wdown scaled by 1/sqrt(2L) (GPT-2's residual scaling); norms 1. */
void wn_model_init(wn_model *m, uint64_t seed);

/* Size the activations for up to B rows of T tokens (T <= max_seq_len).
 * 0, or -1 when out of memory. */
int wn_model_reserve(wn_model *m, size_t B, size_t T);
/* bytes of the activations as reserved */
size_t wn_model_activation_bytes(const wn_model *m);

/* Forward over B rows of T tokens (B, T within the reservation).
 * inputs, pos, seg_start: [B,T]; seg_start NULL means causal only; pos
 * NULL means 0..T-1 in every row.  With targets [B,T] (-1: ignored) the
 * per-token losses go to loss[B*T] (0 where ignored) and the sum of
 * losses is returned; without targets (NULL) only the logits are
 * computed and 0 is returned. */
double wn_model_forward(wn_model *m, const int32_t *inputs, const int32_t *targets, const int32_t *pos,
			const int32_t *seg_start, size_t B, size_t T, float *loss);

/* The logits of the last forward, [B,T,V] (probabilities after a forward
 * with targets). */
const float *wn_model_logits(const wn_model *m);

/* Backward of the last forward with targets: adds into the gradients the
 * gradient of dloss * (sum of the valid tokens' losses). */
void wn_model_backward(wn_model *m, float dloss);

void wn_model_zero_grad(wn_model *m);

/* FLOPs of training on one token at sequence length T: 6N plus the
 * causal attention's 6*L*H*D*T. */
double wn_model_flops_per_token(const wn_model *m, size_t T);

#endif
