/*
 * data.h - the trainer's data: per-domain token files (.wtok windows from
 * winnow tok encode), sampled by weight into batches, with a held-out
 * split per domain for evaluation.
 *
 * Each domain is one .wtok file (all with the same seq_len T); its
 * windows are rows of T+1 tokens.  A row gives the model
 *   inputs[t]  = row[t]                          t < T
 *   targets[t] = row[t+1] when t+1 < the window's valid length, else -1
 *   pos[t], seg_start[t]: 0..T-1 and 0 (causal only), or with doc_mask
 *     the position within t's segment (a document or a piece of one) and
 *     the segment's first position, so attention stays in the document.
 *
 * Held out: the windows of an eval file when one is given for the
 * domain, else the LAST min(eval_windows, windows/10) windows of its file,
 * which training never reads.  Training windows of a domain are read in
 * a shuffled order, a new permutation every epoch (from the seed, the
 * domain's index and the epoch).  Each row's domain is drawn by weight
 * from a xoshiro256** stream.  Weights may change between batches
 * (wn_data_set_weights: the online mixer).
 *
 * State: the random stream, each domain's epoch, cursor and weight;
 * wn_data_state_save/_load carry it through a checkpoint, so a resumed
 * run reads exactly the batches the uninterrupted run would have.
 *
 * Errors: open returns NULL with a message naming the file.  Ownership:
 * strings in the specs are copied.
 */
#ifndef WN_TRAIN_DATA_H
#define WN_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef struct wn_data_spec {
	const char *name;       /* domain name */
	const char *path;       /* .wtok file or prefix */
	double weight;          /* sampling weight, >= 0; NAN: the domain's training windows */
	const char *eval_path;  /* NULL: hold out the file's last windows */
} wn_data_spec;

typedef struct wn_data wn_data;

/* vocab_size: every token must be below it (0: unchecked).  seq_len: 0
 * takes the files' T, else they must have it. */
wn_data *wn_data_open(const wn_data_spec *specs, int n, uint32_t vocab_size, int seq_len, uint64_t seed,
		      uint64_t eval_windows, int doc_mask, char *err, size_t errlen);
void wn_data_close(wn_data *d);

int wn_data_seq_len(const wn_data *d);
int wn_data_domains(const wn_data *d);
const char *wn_data_name(const wn_data *d, int i);
double wn_data_weight(const wn_data *d, int i);  /* normalised to sum 1 */
uint64_t wn_data_train_windows(const wn_data *d, int i);
uint64_t wn_data_eval_windows(const wn_data *d, int i);
uint32_t wn_data_eos(const wn_data *d);          /* the first domain's EOS id */
const char *wn_data_tokenizer(const wn_data *d); /* the first file's tokenizer text */
uint32_t wn_data_max_id(const wn_data *d);       /* largest token id in all files */
uint32_t wn_data_vocab(const wn_data *d);        /* largest vocabulary size the files record */

/* New weights (n = domains, >= 0, not all 0); 0 or -1. */
int wn_data_set_weights(wn_data *d, const double *w);

/* B training rows: arrays [B,T]; dom[B] gets each row's domain. */
void wn_data_next(wn_data *d, size_t B, int32_t *inputs, int32_t *targets, int32_t *pos, int32_t *seg_start,
		  int *dom);

/* Held-out window j of domain i as one row (arrays [T]). */
void wn_data_eval_row(wn_data *d, int i, uint64_t j, int32_t *inputs, int32_t *targets, int32_t *pos,
		      int32_t *seg_start);

size_t wn_data_state_size(const wn_data *d);
void wn_data_state_save(const wn_data *d, void *buf);
/* 0, or -1 when the state does not fit these data (message in err). */
int wn_data_state_load(wn_data *d, const void *buf, size_t n, char *err, size_t errlen);

#endif
