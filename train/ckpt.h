/*
 * ckpt.h - training checkpoints: the model, AdamW's moments, the step,
 * the data loader's state and the run's options, in one checked file.
 *
 * Layout (version 1, little-endian; man/winnow-formats.5):
 *   0    header, 256 bytes:
 *          magic "WNCKPT\0\0", u32 version, u32 header bytes (256),
 *          i32 vocab, dim, layers, heads, kv_heads, hidden, max_seq_len,
 *          f32 rope_theta, norm_eps, u32 reserved,
 *          u64 step, u64 tokens, u64 parameters,
 *          5 sections {u64 offset, u64 bytes, u64 XXH3-64}: parameters,
 *          AdamW m, AdamW v (both 0 bytes when absent), data state,
 *          options (JSON text),
 *          zeros, and at 248 the XXH3-64 of bytes 0..247
 *   sections at 64-byte aligned offsets, float32 arrays in the model's
 *   flat order (train/model.h).
 *
 * Writing goes through lib/bfile: a temporary beside the target, synced,
 * renamed, so a crash never leaves a partial file under a checkpoint's
 * name.  Reading checks the magic, version, sizes and every checksum
 * before returning anything.
 *
 * In a run directory checkpoints are named step-NNNNNNNNN.wckpt;
 * wn_ckpt_list() returns them newest first.
 *
 * Ownership: wn_ckpt_read() fills a wn_ckpt whose arrays the caller
 * releases with wn_ckpt_release(); wn_ckpt_write() only reads.
 */
#ifndef WN_TRAIN_CKPT_H
#define WN_TRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define WN_CKPT_VERSION 1

typedef struct wn_ckpt {
	wn_model_config cfg;
	uint64_t step;          /* optimizer steps done */
	uint64_t tokens;        /* training tokens seen */
	uint64_t nparams;
	float *params;          /* [nparams] */
	float *m, *v;           /* [nparams] each, or NULL (no optimizer state) */
	void *data_state;
	size_t data_state_len;
	char *options;          /* NUL-terminated JSON */
	void *mem_;             /* what read() allocated */
} wn_ckpt;

int wn_ckpt_write(const char *path, const wn_ckpt *c, char *err, size_t errlen);
int wn_ckpt_read(const char *path, wn_ckpt *c, char *err, size_t errlen);
void wn_ckpt_release(wn_ckpt *c);

/* The checkpoints in dir, newest (highest step) first: an array of n
 * malloc'ed paths (free each and the array); NULL with n = 0 when none. */
char **wn_ckpt_list(const char *dir, int *n);
/* The name of step's checkpoint in dir. */
void wn_ckpt_path(char *out, size_t n, const char *dir, uint64_t step);
/* Remove all but the newest keep checkpoints of dir (keep 0: none removed). */
void wn_ckpt_prune(const char *dir, int keep);

#endif
