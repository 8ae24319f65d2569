/*
 * ft.h - a pure-C interface to fastText models (Debian's libfasttext 0.9.2),
 * for language identification and quality classifiers.
 *
 * A wn_ft is a loaded model, read-only once wn_ft_open() returns: any
 * number of threads may share it.  Prediction needs scratch memory (the
 * token ids, the hidden and output vectors, the top-k heap), which lives in
 * a wn_ft_state: one per thread, reused for every call, so that steady-state
 * prediction allocates nothing.
 *
 *     wn_ft *m;
 *     if (wn_ft_open(&m, "lid.176.ftz", err, sizeof err)) ... report err
 *     wn_ft_state *s = wn_ft_state_new(m);         one per thread
 *     wn_ft_pred top[3]; size_t n;
 *     wn_ft_predict(s, text, len, 3, 0.0f, top, &n);
 *     ... wn_ft_label(m, top[0].label), top[0].prob ...
 *     wn_ft_state_free(s); wn_ft_free(m);
 *
 * Predictions are exactly those of the fastText command line,
 * `fasttext predict-prob MODEL - K [THRESHOLD]`, for the text given as one
 * input line: the text is cut into tokens at white space (space, tab, CR,
 * VT, FF, NUL; a newline inside the text counts as a space here, where the
 * command line would start a new line), the end-of-line token "</s>" is
 * appended, the tokens become the same input rows (words, character
 * n-grams, word n-grams), and fastText's own Model::predict() computes the
 * same float probabilities, in the same order (best first).  As a line of a
 * file fed to the command line, "text" gives what `printf 'text\n' |
 * fasttext predict-prob MODEL - K` prints; without the newline the command
 * line would leave out "</s>" and score differently.
 *
 * Speed: about 2.4 times the command line's on lid.176 (it maps the
 * buckets a pruned model kept faster than fastText does), one thread.
 *
 * Bad model files are errors, never crashes: the file's whole structure
 * (magic number, version, every count and size) is checked against its
 * length before fastText reads it, because fastText itself loops forever on
 * some truncated files and allocates whatever a corrupt size asks for.  No
 * C++ exception crosses this interface, and nothing here prints or exits.
 *
 * Ownership: label names belong to the wn_ft and live until wn_ft_free().
 * The caller owns the output array of wn_ft_predict().
 */
#ifndef WN_FT_H
#define WN_FT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wn_ft wn_ft;
typedef struct wn_ft_state wn_ft_state;

typedef struct wn_ft_pred {
	int32_t label; /* index into the model's labels, 0 .. wn_ft_nlabels()-1 */
	float prob;    /* probability as fastText prints it (its +1e-5 smoothing included) */
} wn_ft_pred;

/* Load the model at `path` into *m.  0, or a negative WN_E code with a
 * one-line message naming the file in err[errlen] (*m is then NULL):
 * WN_EIO (cannot open or read), WN_ECORRUPT (not a fastText model, or
 * inconsistent sizes), WN_ETRUNC (the file ends early), WN_ENOMEM. */
int wn_ft_open(wn_ft **m, const char *path, char *err, size_t errlen);
void wn_ft_free(wn_ft *m); /* accepts NULL; after every state of it is freed */

int wn_ft_nlabels(const wn_ft *m);
/* Label i without fastText's "__label__" prefix ("en", "zh", "wuu"). */
const char *wn_ft_label(const wn_ft *m, int i);
/* Index of a label given with or without the prefix, or -1. */
int wn_ft_label_index(const wn_ft *m, const char *name);
int wn_ft_dim(const wn_ft *m);           /* size of the word vectors */
int wn_ft_is_supervised(const wn_ft *m); /* 1 for a classifier; only those predict */
int wn_ft_is_quantized(const wn_ft *m);  /* 1 for a .ftz */

/* Scratch memory for one thread; NULL when out of memory. */
wn_ft_state *wn_ft_state_new(const wn_ft *m);
void wn_ft_state_free(wn_ft_state *s); /* accepts NULL */

/* The top k labels of text[0..len) (UTF-8; need not be NUL-terminated)
 * whose probability is at least `threshold`, best first, into out[], their
 * number into *n.  k = -1 means every label, except that a model with a
 * hierarchical softmax (lid.176 has one) leaves out, like the command line,
 * the labels whose probability is below threshold + 1e-5: its tree search
 * prunes them.  out must have room for k entries, or for wn_ft_nlabels()
 * when k is -1 or larger.  Returns 0,
 * WN_EUSAGE (k is 0 or below -1, or the model is not a classifier) or
 * WN_ENOMEM.  A text with no token still yields predictions, from the
 * end-of-line token alone, as the command line gives for an empty line. */
int wn_ft_predict(wn_ft_state *s, const char *text, size_t len, int k, float threshold,
		  wn_ft_pred *out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
