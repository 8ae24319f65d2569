/*
 * regex.h - regex rules for `winnow filter`: remove boilerplate lines,
 * reject documents, mask personal data, with PCRE2 (JIT-compiled).
 *
 * A rule set is read from a rules file (wn_rx_load) or from memory
 * (wn_rx_parse), compiled once and shared read-only by every thread; each
 * thread makes a wn_rx_state and calls wn_rx_apply() once per document.
 *
 * THE RULES FILE
 *
 *   # a comment; blank lines are ignored
 *   remove  NAME [OPTION...] PATTERN
 *   reject  NAME [OPTION...] PATTERN
 *   replace NAME [OPTION...] PLACEHOLDER PATTERN
 *
 * Fields are separated by spaces or tabs.  NAME is [a-z0-9_]+ (at most 64
 * characters), unique in the file; it names the rule in counts and drop
 * reasons.  An OPTION is a token KEY=VALUE whose KEY is a run of [a-z_]
 * letters; every such token before the pattern is taken as an option and
 * an unknown KEY is an error (so a pattern or placeholder that would
 * itself begin with "word=" must be written differently, e.g. (?:w)ord=).
 * The PLACEHOLDER of a replace rule is the next token, inserted literally.
 * The PATTERN is the rest of the line, spaces included, less the blanks
 * (space, tab, CR) at its end; write a final blank as \x20 or [ ].  A line
 * whose first non-blank character is '#' is a comment; there are no
 * comments after a rule.
 *
 * Options:
 *   lang=L1,L2,...    the rule applies only to documents whose language is
 *                     in the list; an item matches the document's language
 *                     when equal to it or to its part before a '-' or '_'
 *                     ("zh" matches "zh", "zh-Hant", "zh_TW"), ASCII case
 *                     ignored.  Without lang= the rule applies to every
 *                     document, those of unknown language included.
 *   min=N             reject only: the document is rejected when the rule
 *                     matches at least N times (default 1).
 *   maxlen=N          remove only: a match counts only when the line where
 *                     it starts has at most N characters (code points);
 *                     after a match in a longer line the search goes on at
 *                     the next line.  Boilerplate lines are short and
 *                     prose paragraphs are not: a paragraph that mentions
 *                     "cookies" survives.  (Cheaper than anchoring the
 *                     pattern with ^.{0,N}, see regex.c.)
 *   need=N1|N2|...    the rule looks only at the lines that hold one of
 *                     these needles (bytes, ASCII case ignored, at most 64
 *                     each; escapes \d a digit, \h a hex digit, \xHH a
 *                     byte such as \x20 a space, \\ and \|), and matches
 *                     each run of consecutive such lines on its own, as if
 *                     it were the whole text (lookbehind does not see the
 *                     line before it).  With maxlen=, lines over N are not
 *                     looked at.  It is a restriction, not a hint: a match
 *                     in another line is not found.  All the needles of a
 *                     rule set are looked for in one pass over the text,
 *                     so a rule with rare needles costs almost nothing
 *                     (see regex.c); this is the way to many rules.
 *   check=cn_id       the match must be a valid Chinese resident identity
 *                     number: 17 digits and a digit or X (spaces and '-'
 *                     between them ignored), a birth date YYYYMMDD in
 *                     digits 7-14 that exists in the calendar between 1900
 *                     and 2099, and the ISO 7064 MOD 11-2 check character.
 *   check=luhn        13 to 19 digits (spaces and '-' ignored) passing the
 *                     Luhn checksum, not all the same digit (card numbers).
 *   check=ipv4        exactly four dot-separated decimal numbers of 1-3
 *                     digits, each at most 255.
 *                     The check is the last step of a match: a match that
 *                     fails it fails there as if its pattern had failed,
 *                     and PCRE2 goes on as it would then (other
 *                     alternatives, then later positions; a repeat that
 *                     PCRE2 made possessive is not shortened).  A match
 *                     that fails is not removed, replaced or counted.
 *   group=NAME        replace only: the replace rules of one group name
 *                     are searched together, as one alternation of their
 *                     patterns in file order.  This changes no result (see
 *                     APPLYING) and saves scans for rules that PCRE2 must
 *                     try at many positions (patterns that begin with \d);
 *                     the rules need the same lang=, no need=, and
 *                     patterns without back references, calls of groups,
 *                     verbs such as (*UCP) or callouts of their own.
 *
 * Patterns are PCRE2 syntax, compiled with UTF (code points, not bytes) and
 * MULTILINE (^ and $ match at every line start and end); LF is the only
 * newline; '.' does not match LF, but \s, \W and negated classes do, so
 * a pattern may span lines (a line rule should say \h and [^...\n]).
 * UCP is off: \d \w \b and the POSIX classes are ASCII-only.  That is
 * what Chinese personal data needs (a Han character next to a digit is a
 * \b), and UCP made the default rules 6 to 10 times slower (a \d can no
 * longer be tested on one byte; numbers in regex.c).  A pattern may turn
 * it on with (*UCP); \p{...} classes are Unicode either way; (?i) makes a
 * pattern case-insensitive.  \C is refused.  A pattern that can match the
 * empty string would match everywhere and is refused (so is one that
 * begins with a call of a group, such as (?&name): PCRE2 cannot tell).  A
 * bad line (unknown action or option, bad name or value, duplicate name,
 * missing placeholder or pattern, a pattern that does not compile) fails
 * the whole file with the message "FILE:LINE: ..." (for a pattern,
 * PCRE2's message and the byte offset in the pattern).
 *
 * APPLYING THE RULES TO A DOCUMENT
 *
 * The text is UTF-8 (valid: it is not checked again), LF line ends (the
 * normaliser's output; a CR is an ordinary character), may hold NUL bytes
 * and be any length.  Only the rules whose lang= admits the document's
 * language run, in three phases; within a phase, in file order:
 *
 *  1. reject: each reject rule counts its matches in the text; the first
 *     to reach its min= rejects the document, and nothing else happens.
 *  2. remove: every line (the text between two LFs) that holds the start
 *     of a match of a remove rule is removed, and so is every further line
 *     the match runs into.  The text is split at each LF into lines (n LFs
 *     give n+1 lines, the last one empty when the text ends with LF), the
 *     removed lines are dropped and the rest joined with LF again: so a
 *     removed line goes with the LF that ends it, a removed last line
 *     without one takes the LF before it, and a text that ended with LF
 *     still does.  All remove rules see the text as it came in; a line
 *     counts for the first rule in file order that removes it.
 *  3. replace: the text left by phase 2 is scanned once, left to right; at
 *     the leftmost position where some replace rule has a match (that
 *     passes its check), the first such rule in file order wins, the match
 *     becomes the rule's placeholder, and the scan goes on after it.  So
 *     matches never overlap and no rule sees another's placeholder.  (An
 *     alternation of patterns finds the same: the leftmost match, from the
 *     first alternative that matches there; hence group=.)
 *
 * Runaway matches: each search runs under PCRE2's match limit (10^6 steps
 * per start position) and a JIT stack of at most 4 MiB.  A rule whose
 * search hits a limit (or fails in any other way) is skipped for that
 * document, as if it had no match (the rules of its group with it), and
 * the failure is counted in the state (wn_rx_errors); the document is
 * never dropped or crashed for it.
 *
 * USE
 *
 *   wn_rx *rx;                                    once, shared
 *   wn_rx_load(&rx, "my.rules", err, sizeof err); (or wn_rx_parse() of the
 *                                                 built-in rules text,
 *                                                 filters/rules/default.rules)
 *   wn_rx_state *st = wn_rx_state_new(rx);        one per thread
 *   v = wn_rx_apply(st, text, n, "zh", &out, &changed, &rule, counts);
 *   wn_rx_state_free(st); wn_rx_free(rx);
 *
 * How the rules are searched (one pass for all need= needles, groups,
 * callouts for checks) and what it costs: regex.c.
 *
 * Threads: a wn_rx is read-only after loading and may be shared; a
 * wn_rx_state belongs to one thread at a time.
 *
 * Ownership: wn_rx_name() points into the rule set, valid until
 * wn_rx_free().  wn_rx_apply() borrows the text (which must not lie inside
 * `out`) and, when it changes it, replaces the content of `out`.
 */
#ifndef WN_REGEX_H
#define WN_REGEX_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/buf.h"

/* Rule actions, and the results of wn_rx_apply(): WN_RX_REJECT is both. */
enum {
	WN_RX_KEEP = 0,    /* result: the document stays (text maybe changed) */
	WN_RX_REJECT = 1,  /* action, and result: the document is dropped */
	WN_RX_REMOVE = 2,  /* action: remove matching lines */
	WN_RX_REPLACE = 3, /* action: replace matches with a placeholder */
};

typedef struct wn_rx wn_rx;             /* a compiled rule set, shared */
typedef struct wn_rx_state wn_rx_state; /* per-thread match data and scratch */

/* Compile the rules of the file at `path`.  0; WN_EIO when the file cannot
 * be read, WN_EUSAGE for a bad rule; err gets "FILE:LINE: what" (or
 * "FILE: why").  On error *out is NULL. */
int wn_rx_load(wn_rx **out, const char *path, char *err, size_t errlen);

/* The same from text[0..n); `name` stands for the file in messages. */
int wn_rx_parse(wn_rx **out, const char *text, size_t n, const char *name,
		char *err, size_t errlen);

void wn_rx_free(wn_rx *rx); /* accepts NULL */

int wn_rx_nrules(const wn_rx *rx);
const char *wn_rx_name(const wn_rx *rx, int i);   /* "cookie_notice" */
int wn_rx_action(const wn_rx *rx, int i);         /* WN_RX_REMOVE, ... */
const char *wn_rx_action_name(int action);       /* "remove", ...; NULL if bad */

/* Per-thread state for rx, which must outlive it.  Never NULL. */
wn_rx_state *wn_rx_state_new(const wn_rx *rx);
void wn_rx_state_free(wn_rx_state *st); /* accepts NULL */

/* Apply the rules that admit `lang` (NULL or "": unknown, only the rules
 * without lang=) to text[0..n).  WN_RX_KEEP or WN_RX_REJECT (then *rule is
 * the index of the rejecting rule; on KEEP it is -1).  On KEEP, when a line
 * was removed or a match replaced, `out` holds the new text (its content
 * replaced) and *changed is 1; otherwise out is untouched and *changed 0.
 * counts, when not NULL, has wn_rx_nrules() entries and is added to: lines
 * removed, matches replaced, 1 for the rejecting rule (a rejected document
 * adds nothing else).  WN_ETOOBIG when out has a size cap the new text
 * passes (out is then untouched, *changed 0, nothing counted). */
int wn_rx_apply(wn_rx_state *st, const char *text, size_t n, const char *lang,
		wn_buf *out, int *changed, int *rule, uint64_t *counts);

/* Searches of rule i (i < 0: of all rules) that failed on a limit since the
 * state was made; each made the rule skip one document. */
uint64_t wn_rx_errors(const wn_rx_state *st, int i);

#endif
