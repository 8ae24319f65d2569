/*
 * stage.h - the stages of winnow dedup over a work directory.
 *
 *   sig      per input: documents, signatures or keys   WORK/sig/NNNNNN.wdd
 *   pairs    per band: duplicate pairs                   WORK/pairs/band-BBB.wdd
 *            (line and paragraph mode: the frequent units  WORK/units.wdd)
 *   cluster  union-find over all pairs: per input, the documents of every
 *            cluster of two or more and which one is kept WORK/remove/NNNNNN.wdd
 *   apply    per input: drop (or annotate) what the removal list names
 *
 * NNNNNN is the input's place in the sorted list of all inputs.  Each
 * stage checks what the one before wrote (dfile.c) and skips outputs that
 * exist and are valid for the same parameters, unless cfg->force.  The
 * parameters live in every file's header; the stages after sig read them
 * from WORK/sig.  The one-machine commands run the four stages in turn.
 *
 * Stage functions return an exit status (0, 1 runtime failure, 2 usage)
 * after printing their errors.
 */
#ifndef WN_DEDUP_STAGE_H
#define WN_DEDUP_STAGE_H

#include "dedup.h"
#include "../lib/opts.h"

enum { DD_MODE_EXACT = 1, DD_MODE_MINHASH = 2, DD_MODE_LINE = 3, DD_MODE_PARAGRAPH = 4 };

typedef struct dd_config {
	int mode;
	int bands, rows, ngram, norm, verify;
	uint64_t seed;
	double threshold;        /* --verify's Jaccard */
	uint64_t min_count;      /* line/paragraph: drop units seen this often */
	const char *keep_by;     /* field whose highest value is kept (NULL: first) */
	const char *work;        /* work directory */
	int threads;
	uint64_t memory;         /* sig: bytes of records held before spilling runs */
	int force;               /* redo finished outputs */
	int annotate_only;       /* apply: annotate instead of dropping */
	int skip_outputs;        /* apply: outputs that exist are finished */
	const char *ann_field;   /* apply: the annotation's key ("dedup") */
	wn_opts *o;
	int argc;
	char **argv;
} dd_config;

/* The parameter text a config writes into its files. */
void dd_config_params(const dd_config *c, char *out, size_t n);
/* Fill a config's mode parameters from WORK/sig (pairs, cluster, apply). */
int dd_config_load(dd_config *c);

int dd_stage_sig(dd_config *c, int ninputs, char **inputs);
/* band < 0: every band this task takes (--shard over bands) */
int dd_stage_pairs(dd_config *c, int band);
int dd_stage_cluster(dd_config *c);
int dd_stage_apply(dd_config *c, int ninputs, char **inputs);

#endif
