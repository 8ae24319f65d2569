/*
 * quality.h - the heuristic quality rules behind `winnow filter`: Gopher
 * quality, Gopher repetition, C4 and FineWeb, defined so that each rule
 * means the same thing in Chinese and Japanese as in English.
 *
 * Entry points, in call order:
 *
 *   wn_quality_new()                 the built-in profiles (below)
 *   wn_quality_set() / _load()       change thresholds (KEY = VALUE, or a
 *                                    rules file with [LANG] sections)
 *   wn_qstate_new(q)                 one per thread; q is then read-only
 *   per document:
 *     wn_qstate_begin(st, text, lang)   choose the profile, no work yet
 *     wn_q_eval(st, SET, values, all)   one rule set; C4 may edit the text
 *     wn_qstate_set_text(st, ...)       after an outside edit (regex rules)
 *     wn_qstate_text(st, &n)            the current text
 *
 * DEFINITIONS (the same for every language; only thresholds differ)
 *
 *   white space  Unicode White_Space.  A line is the text between LFs; a
 *                blank line holds only white space; a paragraph is a run
 *                of non-blank lines.  Lines and paragraphs are compared
 *                with their leading and trailing white space removed.
 *   characters   "chars" are code points that are not white space; every
 *                fraction "of characters" below divides by the document's
 *                chars, so indentation and line breaks never move a value.
 *   tokens       White space separates tokens.  Inside a run, a character
 *                of an unspaced script (Han, hiragana, katakana, Thai, Lao,
 *                Khmer, Myanmar) starts a new token, and so does any letter
 *                or digit after one, once the token holds a letter or
 *                digit: each such character is a word, the way a spaced
 *                word is one.  Punctuation and symbols attach to the token
 *                they follow ("end," or "好，"), or begin the next one when
 *                nothing precedes them ("(see" or "「你").
 *   words        A token holding a letter, digit or mark is a word; any
 *                other token is a symbol token.  A word's length is its
 *                count of letters, digits and marks (punctuation inside
 *                or around it is not counted).  Words are compared with
 *                ASCII letters folded to lower case, punctuation ignored
 *                (stop words, n-grams).
 *   terminal     A line ends in terminal punctuation when its last
 *                non-white-space character is one of . ! ? " ' and the
 *                closing quotes ” ’ 」 』, the CJK full stops and marks
 *                。 ！ ？ ｡ ．, or ؟ । ۔ ։ ።, and the line does not end in
 *                an ellipsis ("..." or "…").
 *   sentences    One per run of terminal marks that is followed by white
 *                space, a closing quote and white space, or the line's
 *                end; after a CJK mark (。！？｡) by anything.  A line with
 *                words after its last sentence end counts one more.
 *   bullets      A line starts with a bullet when its first
 *                non-white-space character is one of • ‣ ◦ ● ▪ ■ ◆ ・ - *.
 *
 * Why characters are words in Chinese: a word segmenter needs a
 * dictionary and runs at a few MB/s; one character is the unit a Chinese
 * reader counts, its function characters (的 了 是 在 ...) play the role
 * of English stop words, and per-language thresholds take up the
 * difference in size (one English word is 1.43 Chinese characters on
 * parallel text; see wn_quality_new).
 *
 * THE RULES (metric: the value written by --annotate-only; a document
 * fails when the value is below MIN or above MAX; RULESET:METRIC is the
 * drop reason; rule sets evaluate their metrics in this order and stop at
 * the first failure unless every value is asked for)
 *
 *   gopher_repetition
 *     dup_para_frac     duplicate paragraphs / paragraphs            MAX .30
 *     dup_para_chars    chars in duplicate paragraphs / chars        MAX .20
 *     dup_line_frac     duplicate lines / non-blank lines            MAX .30
 *     dup_line_chars    chars in duplicate lines / chars             MAX .20
 *     top_2gram..       count x chars of the most frequent word
 *     top_4gram         n-gram (if seen twice) / chars   MAX .20 .18 .16
 *     dup_5gram..       chars of the words covered by an n-gram seen
 *     dup_10gram        before in the document / chars
 *                                  MAX .15 .14 .13 .12 .11 .10
 *     ("Duplicate" is a second or later occurrence.)
 *   gopher_quality
 *     words             words                    MIN 50, MAX 100000
 *     mean_word_length  mean word length         MIN 3, MAX 10
 *     hash_ratio        '#' characters / words   MAX .1
 *     ellipsis_ratio    ("..." + "…") / words    MAX .1
 *     bullet_lines      lines starting with a bullet / lines   MAX .9
 *     ellipsis_lines    lines ending in an ellipsis / lines    MAX .3
 *     alpha_words       words with a letter / tokens           MIN .8
 *     stop_words        distinct stop words present            MIN 2
 *   c4 (first the lines, then the document)
 *     Each line is judged in this order, and a removed line stops there:
 *       citation          [1], [edit], [citation needed] are cut out
 *       no_terminal_punct the line does not end in terminal punctuation
 *       short_line        fewer than c4.min_words_per_line words (3)
 *       long_word         a word longer than c4.max_word_length (1000)
 *       lorem_ipsum       "lorem ipsum" (any case): the document fails
 *       javascript        "javascript" (any case): the line goes
 *       curly_bracket     a '{': the document fails
 *       policy            a phrase of c4.policy (any case): the line goes
 *     Blank lines are not judged; where lines were removed, a run of
 *     blank lines between two kept lines becomes one, and none is left at
 *     either end.  A document from which nothing is removed is unchanged.
 *     Then the document:
 *     lorem_ipsum       1 if a kept line held "lorem ipsum"       MAX 0
 *     curly_bracket     1 if a kept line held '{'                 MAX 0
 *     sentences         sentences in the kept lines               MIN 5
 *   fineweb (over non-blank lines)
 *     line_punct        lines ending in terminal punctuation / lines  MIN .12
 *     short_lines       lines of <= fineweb.short_line_length (30)
 *                       chars / lines                              MAX .67
 *     dup_line_chars    chars in duplicate lines / chars          MAX .01
 *     newline_ratio     line breaks / words                       MAX .3
 *
 * Exactness shortcut: a word covered by a repeated (n+1)-gram is covered
 * by a repeated n-gram, so dup_Ngram never grows with N; when dup_5gram is
 * at or below the threshold of a larger N, that N cannot fail and is not
 * computed (unless every value is asked for).
 *
 * PROFILES.  Thresholds live in per-language profiles: en, zh, ja,
 * default (languages without a profile, spaced scripts: en's thresholds
 * without stop words) and unspaced (other unspaced scripts: zh's without
 * stop words).  A document's profile is its language's (the lang field,
 * lower case; a region or script subtag is ignored, zh-TW is zh; Chinese
 * varieties wuu yue gan hak nan cdo lzh cmn are zh); when the field is
 * missing, its script decides: mostly unspaced letters with a kana is ja,
 * mostly unspaced with Han is zh, other unspaced is unspaced, anything
 * else en.  A rules file or --set may define a profile for any language.
 *
 * Ownership: a wn_quality is read-only once states exist; a state is one
 * thread's.  Text given to wn_qstate_begin() is borrowed until the next
 * begin; wn_qstate_text() points into the caller's text or the state.
 */
#ifndef WN_QUALITY_H
#define WN_QUALITY_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/buf.h"

enum wn_qset {
	WN_Q_GOPHER_REPETITION,
	WN_Q_GOPHER_QUALITY,
	WN_Q_C4,
	WN_Q_FINEWEB,
	WN_Q_NSETS
};

/* The metrics, in evaluation order within each set. */
enum wn_qmetric {
	WN_QM_DUP_PARA_FRAC, WN_QM_DUP_PARA_CHARS, WN_QM_DUP_LINE_FRAC, WN_QM_DUP_LINE_CHARS,
	WN_QM_TOP_2GRAM, WN_QM_TOP_3GRAM, WN_QM_TOP_4GRAM,
	WN_QM_DUP_5GRAM, WN_QM_DUP_6GRAM, WN_QM_DUP_7GRAM, WN_QM_DUP_8GRAM, WN_QM_DUP_9GRAM,
	WN_QM_DUP_10GRAM,
	WN_QM_WORDS, WN_QM_MEAN_WORD_LENGTH, WN_QM_HASH_RATIO, WN_QM_ELLIPSIS_RATIO,
	WN_QM_BULLET_LINES, WN_QM_ELLIPSIS_LINES, WN_QM_ALPHA_WORDS, WN_QM_STOP_WORDS,
	WN_QM_C4_LOREM_IPSUM, WN_QM_C4_CURLY_BRACKET, WN_QM_C4_SENTENCES,
	WN_QM_FW_LINE_PUNCT, WN_QM_FW_SHORT_LINES, WN_QM_FW_DUP_LINE_CHARS, WN_QM_FW_NEWLINE_RATIO,
	WN_QM_N
};

/* C4's line rules, counted per line removed (citation: per citation cut). */
enum wn_c4line {
	WN_C4L_CITATION, WN_C4L_NO_TERMINAL_PUNCT, WN_C4L_SHORT_LINE, WN_C4L_LONG_WORD,
	WN_C4L_JAVASCRIPT, WN_C4L_POLICY, WN_C4L_N
};

const char *wn_qset_name(int set);            /* "gopher_quality" */
int wn_qset_lookup(const char *name);          /* -1 if unknown */
const char *wn_qmetric_name(int m);            /* "gopher_quality:words" */
const char *wn_qmetric_short(int m);           /* "words" */
int wn_qmetric_set(int m);
const char *wn_c4line_name(int r);             /* "c4:no_terminal_punct" */

typedef struct wn_quality wn_quality;
typedef struct wn_qstate wn_qstate;

wn_quality *wn_quality_new(void);
void wn_quality_free(wn_quality *q);

/* Set one parameter of profile `lang` (NULL or "*": every profile; an
 * unknown language gets a new profile copied from default).  Keys:
 *   SET.METRIC.min / SET.METRIC.max   a number, or "off"
 *   SET.METRIC                        "off" (both bounds)
 *   gopher_quality.stop_words         comma-separated words, or "off"
 *   c4.min_words_per_line, c4.max_word_length, fineweb.short_line_length
 *                                     integers
 *   c4.citation, c4.no_terminal_punct, c4.javascript   on / off
 *   c4.policy                         comma-separated phrases, or off
 * Returns 0, or WN_EUSAGE with the reason in err. */
int wn_quality_set(wn_quality *q, const char *lang, const char *key, const char *value,
		   char *err, size_t errlen);
/* A rules file: '#' comments, "[LANG]" or "[*]" section lines, and
 * "KEY = VALUE" lines (before any section: every profile).  Errors name
 * FILE:LINE. */
int wn_quality_load(wn_quality *q, const char *path, char *err, size_t errlen);
int wn_quality_parse(wn_quality *q, const char *text, size_t n, const char *name,
		     char *err, size_t errlen);
/* The effective parameters of every profile, as a rules file. */
void wn_quality_dump(const wn_quality *q, wn_buf *out);

wn_qstate *wn_qstate_new(const wn_quality *q);
void wn_qstate_free(wn_qstate *st);

/* Start a document.  lang (not NUL-terminated, may be NULL) selects the
 * profile; the text is analysed on the first wn_q_eval. */
void wn_qstate_begin(wn_qstate *st, const char *text, size_t n, const char *lang, size_t langlen);
/* The profile chosen (valid after wn_q_eval, which may decide by script). */
const char *wn_qstate_profile(wn_qstate *st);
/* The language the script of text's first 4 KiB suggests, by the rule
 * used for documents without a language: "zh", "ja", "unspaced" or "en". */
const char *wn_q_script_lang(const char *text, size_t n);
/* The profile if it is known without reading the text (from the language,
 * or after wn_q_eval), else NULL. */
const char *wn_qstate_profile_known(const wn_qstate *st);
/* Replace the current text (an outside edit); the state copies it. */
void wn_qstate_set_text(wn_qstate *st, const char *text, size_t n);
const char *wn_qstate_text(const wn_qstate *st, size_t *n);
/* True once a rule set has edited the text. */
int wn_qstate_changed(const wn_qstate *st);

/* Evaluate rule set `set` on the current text.  values[WN_QM_N] receives
 * the set's metrics (NaN where not computed).  all = 0: stop at the first
 * failure; all = 1: compute every metric.  C4 removes lines first and adds
 * the lines removed per rule to c4_lines[WN_C4L_N] (may be NULL).  Returns
 * the first failing metric, or -1. */
int wn_q_eval(wn_qstate *st, int set, double *values, int all, uint64_t *c4_lines);

/* Tests only: on = 1 analyses every line byte by byte, on = 0 (the
 * default, or the environment's WINNOW_QUALITY_SCALAR unset or 0) takes
 * the bitmap path for ASCII lines; the digest covers everything the
 * analysis of the current text holds, so the two can be compared. */
void wn_q_set_scalar(int on);
uint64_t wn_qstate_digest(wn_qstate *st);

/* Does metric m with value v fail the current profile's bounds? */
int wn_q_fails(const wn_qstate *st, int m, double v);

#endif
