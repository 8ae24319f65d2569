/*
 * textnorm.h - the text normaliser behind `winnow norm`.
 *
 * wn_tn_apply() rewrites the text of one document by ten rules, each on or
 * off in wn_tn_opts.rules, and reports in a bitmask which rules changed the
 * text (the tool counts documents per rule).  The result is a fixpoint:
 * applying the normaliser to its own output, with the same options, changes
 * nothing and reports no rule.  That is the contract everything below is
 * arranged for.
 *
 * THE RULES, precisely
 *
 *   utf8         Invalid UTF-8 is repaired: each maximal ill-formed
 *                subsequence (Unicode ch. 3 "maximal subpart", the WHATWG
 *                decoder) becomes one U+FFFD.  Overlongs, encoded
 *                surrogates (CESU-8) and values above U+10FFFF are
 *                invalid; ED A0 80 gives three U+FFFD, as the standard
 *                says.  With utf8_drop, or with this rule off, an invalid
 *                text is not normalised: wn_tn_apply() returns WN_EUTF8.
 *   entities     Leftover HTML character references are decoded: named
 *                ones from libxml2's HTML table (htmlEntityLookup) plus
 *                the HTML5 names it lacks that occur in text (&AMP; &LT;
 *                &Tab; &NewLine; &lpar; &comma; ...), decimal &#233; and
 *                hex &#xE9;.  A reference needs its ';', is case-sensitive
 *                and has at most 32 characters between '&' and ';';
 *                anything else (&foo; &#xZZ; "&amp" without ';') is left
 *                alone.  Numeric references
 *                follow HTML5: &#128;-&#159; are read as windows-1252
 *                (&#146; is U+2019); 0, surrogates, values above U+10FFFF,
 *                noncharacters and controls other than TAB LF FF CR
 *                become U+FFFD.  Decoding is repeated to a fixpoint, so
 *                "&amp;lt;" becomes "<" (see ORDER): twice-escaped text is
 *                common in crawls, and a single decoding step would not be
 *                idempotent.
 *   newlines     CR LF and lone CR become LF; so do VT, FF, U+2028 LINE
 *                SEPARATOR and U+2029 PARAGRAPH SEPARATOR (line breaks in
 *                word-processor and PDF text; deleting them would glue
 *                words).
 *   zero_width   U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, U+2061-2064
 *                (invisible math operators), U+FEFF (BOM, anywhere) and
 *                U+00AD SOFT HYPHEN (a hyphenation hint: "Donau&shy;schiff"
 *                must read as one word) are removed.  Kept on purpose:
 *                U+200D ZWJ (emoji sequences such as the family or the
 *                rainbow flag, Indic conjuncts), U+200C ZWNJ (Persian and
 *                Indic orthography), variation selectors and tag
 *                characters (emoji presentation, subdivision flags),
 *                U+034F CGJ, and the bidi marks and embeddings
 *                (U+200E/F, U+202A-E, U+2066-9), which carry meaning in
 *                right-to-left text.
 *   control      C0 controls except TAB and LF, DEL and the C1 controls
 *                (U+0080-009F, NEL included: in crawled text it is far
 *                more often a mis-decoded windows-1252 ellipsis than a
 *                line break) are removed.  NUL is a control.  CR, VT and
 *                FF are left to the newlines rule, so with newlines off
 *                they stay.  Other format characters are not controls
 *                (see zero_width for those removed).
 *   unicode      NFC, or NFKC with wn_tn_opts.nfkc (full-width ASCII,
 *                ligatures, compatibility spaces...), by utf8proc, applied
 *                only to the spans that can change (see SPEED).  (Given a
 *                whole string, utf8proc 2.8 deletes U+11A7 after a Hangul
 *                LV syllable; no span holds that pair, so U+11A7 is kept,
 *                as Unicode's NFC keeps it.)
 *   zh_simplify  Off by default.  Traditional to Simplified Chinese with
 *                OpenCC's "t2s.json", repeated until it changes nothing
 *                (the dictionaries hold chains: 薴 -> 苧 -> 苎).
 *   spaces       Horizontal white space is TAB, SPACE and the Unicode Zs
 *                characters (U+00A0 NBSP, U+1680, U+2000-200A, U+202F,
 *                U+205F, U+3000 IDEOGRAPHIC SPACE).  Inside a line, a run
 *                of two or more becomes one SPACE; a single one stays as
 *                it is (a tab between two fields, the NBSP in "10 km").
 *                The indentation at the start of a line is kept verbatim:
 *                it is structure in code, verse and Chinese paragraphs
 *                (two U+3000).  Under NFKC most Zs are SPACE already.
 *   trailing     White space at the end of every line and of the document
 *                is removed, as are the blank lines at the start and the
 *                end of the document (no leading or trailing LF; a
 *                white-space-only line counts as blank, the first
 *                non-blank line keeps its indentation).
 *   blank_lines  A run of more than three LF becomes three LF: at most two
 *                consecutive empty lines remain.  Only empty lines count
 *                (with trailing on, white-space-only lines are empty).
 *
 * ORDER, and why the result is a fixpoint
 *
 * wn_tn_apply() runs five passes, each skipped when its rules are off or
 * its quick scan finds nothing to do:
 *
 *   U  utf8 repair
 *   C  one streaming pass over code points for entities, newlines,
 *      zero_width, control, and the part of unicode described below
 *   N  unicode normalisation of the spans that need it
 *   Z  zh_simplify
 *   W  one pass for spaces, trailing and blank_lines
 *
 * Let f be the whole.  The proof that f(f(x)) = f(x) is that f(x) is in
 * the normal form of every pass and that every pass is the identity on a
 * text in its normal form; for that, no pass may put back what an earlier
 * pass took away:
 *
 *  - U's output is valid UTF-8, and nothing after U writes invalid UTF-8.
 *  - C writes every code point through one filter: a removable one is
 *    dropped, a line break becomes LF, and after each ';' it writes, C
 *    looks back for "&name" before it and, when the bytes form a
 *    reference, replaces them by the decoded code point, which goes
 *    through the same filter.  So "&l<ZWSP>t;" is "<", "&amp;lt;" is "<",
 *    "&#13;&#10;" is one LF and a reference to a zero-width character is
 *    removed.  An output prefix ending in ';' never changes again, so C's
 *    output holds no reference, no removable character and no CR, VT,
 *    FF, LS, PS: C is a fixpoint by itself.
 *  - N can create characters C cares about: NFC turns U+037E into ';',
 *    NFKC turns "＆ｌｔ；" into "&lt;" and U+3000 into a space.  Those
 *    come only from a code point c whose normal form N(c) alone contains
 *    ASCII (compositions never produce ASCII, and the ASCII base of a
 *    decomposed letter is always recomposed in context).  When unicode is
 *    on, C replaces each such c by N(c) as it reads it (a table built
 *    once from utf8proc), which leaves N of the whole text unchanged
 *    (NFD/NFKD of the text is the same) while C sees the ASCII.  N's
 *    output then has no reference C would decode (its ASCII characters
 *    and their adjacency are those of C's output), and it never contains
 *    a control, zero-width or line-break character (checked over all
 *    code points by the unit tests).
 *  - Removing a character in C can join a base and a combining mark (e
 *    ZWSP U+0301); N runs after C, so it composes them.
 *  - Z maps runs of Han characters to Han characters (every key and value
 *    of the t2s dictionaries is a Han ideograph: NFC and NFKC stable,
 *    combining class 0, not touched by C or W), and is iterated to its
 *    own fixpoint.  Keys hold only Han, so a conversion never spans a
 *    non-Han character and W, which changes only white space, cannot
 *    change what Z sees.
 *  - W writes only SPACE and LF and removes only white space and LF; it
 *    cannot form a reference (a reference holds no white space and the
 *    white space W removes is followed by LF or the end), nor a code point
 *    C or N would change (SPACE and the Zs it replaces are starters that
 *    compose with nothing).  W's own output is in its normal form: no
 *    inner run of two, no white space before LF or at the end, no LF at
 *    the ends, no four LF in a row; indentation is recognised the same way
 *    on the second pass because LFs are only removed next to other LFs or
 *    at the ends.
 *
 * The unit tests check the property on real text and on 200,000
 * adversarial strings for many option sets, and check N against utf8proc
 * on whole strings.
 *
 * SPEED
 *
 * Every pass is a byte-level loop with an ASCII fast path (SSE2 scans of
 * 16 bytes for the few bytes that matter); non-ASCII code points are
 * classified by one lookup in a two-level table built once per process
 * (pthread_once, about 20 ms) from utf8proc's properties.  Pass C checks
 * UTF-8 as it decodes, so a valid text is not read twice for U.  utf8proc
 * is called only on the spans around a code point that is not "inert"
 * (combining class 0, equal to its own normal form, not the second half of
 * any canonical composition, Hangul V/T jamo included): spans start at the
 * last inert code point before it and end before the next one.  ASCII,
 * and nearly all Chinese, is inert, so N usually does nothing at all.  In
 * a span, utf8proc decomposes and composes but the combining marks are put
 * in canonical order here, in linear time: utf8proc orders them with a
 * quadratic sort, and a long run of marks would stall a worker for
 * minutes.  OpenCC (3-6 MB/s by itself) is called once per NUL-free region
 * from the first to the last Han character (OpenCC stops at NUL), and the
 * fixpoint check converts again only the runs the first call changed.
 *
 * Measured on one core (thread CPU time): 1.6-2.3 GB/s on English prose,
 * 0.5 GB/s on Chinese (0.33 with NFKC, which rewrites the full-width
 * punctuation), 0.87 GB/s over the texts of bench/'s shard; zh_simplify
 * runs at OpenCC's speed, 3-9 MB/s.
 *
 * USE
 *
 *   wn_tn_opts o; wn_tn_opts_default(&o);    all rules but zh_simplify
 *   o.rules &= ~(1u << WN_TN_SPACES);        switch one off
 *   wn_tn *t; wn_tn_new(&t, &o, err, sizeof err);   one per thread
 *                                            (zh_simplify: loads OpenCC)
 *   wn_tn_apply(t, s, n, &out, &changed);    per document
 *   wn_tn_free(t);
 *
 * Ownership: a wn_tn owns its scratch buffers and OpenCC handle and must
 * not be shared between threads; the tables behind it are read-only and
 * shared.  wn_tn_apply() reads s[0..n) (which must not lie inside `out`)
 * and replaces the content of `out`.
 */
#ifndef WN_TEXTNORM_H
#define WN_TEXTNORM_H

#include <stddef.h>
#include "../lib/buf.h"
#include "../lib/doc.h"

/* The rules, as bit numbers of wn_tn_opts.rules and of *changed. */
enum {
	WN_TN_UTF8,
	WN_TN_ENTITIES,
	WN_TN_NEWLINES,
	WN_TN_ZEROWIDTH,
	WN_TN_CONTROL,
	WN_TN_UNICODE,     /* NFC, or NFKC with opts.nfkc */
	WN_TN_ZH_SIMPLIFY, /* off by default */
	WN_TN_SPACES,
	WN_TN_TRAILING,
	WN_TN_BLANKLINES,
	WN_TN_NRULES
};

/* The stable name of a rule ("utf8", "entities", "newlines", "zero_width",
 * "control", "unicode", "zh_simplify", "spaces", "trailing",
 * "blank_lines"), as used in the stats; NULL when out of range. */
const char *wn_tn_rule_name(int rule);

typedef struct wn_tn_opts {
	unsigned rules; /* bitmask of enabled rules, 1u << WN_TN_* */
	int nfkc;       /* unicode rule: NFKC instead of NFC */
	int utf8_drop;  /* invalid UTF-8: report WN_EUTF8 instead of repairing */
} wn_tn_opts;

/* Every rule but zh_simplify; NFC; repair invalid UTF-8. */
void wn_tn_opts_default(wn_tn_opts *o);

typedef struct wn_tn wn_tn;

/* A normaliser for one thread.  0, or WN_EIO when zh_simplify is on and
 * OpenCC cannot load "t2s.json" (err says why: install libopencc-data);
 * WN_EUSAGE for unknown rule bits.  On error *t is NULL. */
int wn_tn_new(wn_tn **t, const wn_tn_opts *o, char *err, size_t errlen);
void wn_tn_free(wn_tn *t); /* accepts NULL */

/* Normalise s[0..n) into out (its content replaced).  *changed gets the
 * bitmask of the rules that changed something (0: out equals the input).
 * 0; WN_EUTF8 when s is not valid UTF-8 and utf8_drop is set or the utf8
 * rule is off (out is then empty and *changed has the utf8 bit);
 * WN_ETOOBIG when out has a size cap the result exceeds. */
int wn_tn_apply(wn_tn *t, const char *s, size_t n, wn_buf *out, unsigned *changed);

/* Rule utf8 alone: s[0..n) with every maximal ill-formed subsequence
 * replaced by U+FFFD, into out (replaced).  0 or WN_ETOOBIG. */
int wn_tn_repair_utf8(const char *s, size_t n, wn_buf *out);

/* The length in characters (code points) of normalised text, for a
 * minimum-length filter: wn_utf8_count() of lib/doc.h. */
static inline size_t wn_tn_chars(const char *s, size_t n) { return wn_utf8_count(s, n); }

#endif
