/*
 * export.h - the model in Hugging Face's files: safetensors weights and a
 * Llama config.json, written (export) and read back (import); and the
 * plain safetensors writer and reader underneath, which the trainer's
 * --dump also uses.
 *
 * safetensors: u64 little-endian N, N bytes of JSON header
 *   {"NAME": {"dtype": "F32"|"I32", "shape": [...], "data_offsets": [b, e]},
 *    ..., "__metadata__": {"format": "pt", ...}}
 * (padded with spaces to a multiple of 8), then the tensors' bytes, row-
 * major little-endian, offsets counted from the end of the header.
 *
 * The model's tensors map to Llama's names one to one (model.h's
 * wn_model_tensor.hf): embed -> model.embed_tokens.weight, per layer
 * attn_norm -> input_layernorm, wq/wk/wv/wo -> self_attn.{q,k,v,o}_proj,
 * mlp_norm -> post_attention_layernorm, wgate/wup/wdown ->
 * mlp.{gate,up,down}_proj, final_norm -> model.norm, head -> lm_head.
 * RoPE is Llama's rotate-half layout already, so q and k need no
 * permutation.  config.json: vocab_size, hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads, num_key_value_heads,
 * max_position_embeddings, rms_norm_eps, rope_theta, hidden_act "silu",
 * tie_word_embeddings false, bos/eos_token_id, torch_dtype "float32".
 *
 * Errors: 0 or a WN_E code with the message (naming the file) in err.
 */
#ifndef WN_TRAIN_EXPORT_H
#define WN_TRAIN_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct wn_st_tensor {
	char name[160];
	int dtype;           /* WN_ST_F32, WN_ST_I32 */
	int ndim;            /* 0..4 */
	size_t shape[4];
	const void *data;    /* writing: the caller's; reading: into the file's buffer */
} wn_st_tensor;

enum { WN_ST_F32 = 1, WN_ST_I32 = 2 };

/* Write n tensors; meta: extra "__metadata__" members as a JSON object
 * body ("\"k\": \"v\"") or NULL. */
int wn_st_write(const char *path, const wn_st_tensor *t, size_t n, const char *meta, char *err, size_t errlen);

typedef struct wn_st_file {
	wn_st_tensor *t;
	size_t n;
	void *mem_;
} wn_st_file;

/* Read and check a file (F32 and I32 tensors; others are refused). */
int wn_st_read(const char *path, wn_st_file *f, char *err, size_t errlen);
const wn_st_tensor *wn_st_find(const wn_st_file *f, const char *name);
void wn_st_release(wn_st_file *f);

/* The model's tensors under their Llama names, pointing into data (a flat
 * buffer of the model's layout: its parameters, gradients, AdamW state);
 * prefix goes before each name ("grad."); out must hold
 * wn_export_count(m) entries.  Returns the count. */
size_t wn_export_count(const wn_model *m);
size_t wn_export_tensors(const wn_model *m, const float *data, const char *prefix, wn_st_tensor *out);

/* DIR/model.safetensors and DIR/config.json (DIR is created). */
int wn_export(const char *dir, wn_model *m, uint32_t bos_id, uint32_t eos_id, const char *tokenizer, char *err,
	      size_t errlen);
/* Write a Llama config.json for m; extra: more members ("\"k\": v") or NULL. */
int wn_export_config(const char *path, const wn_model *m, uint32_t bos_id, uint32_t eos_id, const char *extra,
		     char *err, size_t errlen);
/* A model from DIR/config.json and DIR/model.safetensors; *eos_id from the
 * config when present.  NULL with the reason in err. */
wn_model *wn_import(const char *dir, uint32_t *eos_id, char *err, size_t errlen);

#endif
