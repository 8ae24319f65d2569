/*
 * html.h - the main text of one HTML page, for `winnow norm --from html`
 * and `--from warc`.
 *
 * Entry points: wn_html_new() makes a per-thread handle (an arena for the
 * parse tree, cached iconv converters, scratch arrays; all reused from page
 * to page), wn_html_extract() turns one page into text, wn_html_free()
 * releases the handle.  A wn_html_result is initialised once with
 * wn_html_result_init(), filled by every call, and released at the end.
 *
 * The steps of wn_html_extract():
 *
 *  1. Encoding.  A byte order mark wins; then, if the bytes are valid UTF-8
 *     with at least one non-ASCII character, UTF-8 (a page that decodes as
 *     UTF-8 is UTF-8 whatever its label says, the most common lie being an
 *     ISO-8859-1 server default); otherwise the first recognised of the
 *     caller's hint (an HTTP Content-Type charset) and the page's own
 *     declaration (<meta charset>, <meta http-equiv> content, or an XML
 *     declaration, in the first 1024 bytes), where a declared UTF-8 that
 *     does not validate gives way to the other declaration; with neither,
 *     windows-1252.  Labels map to encodings as browsers map them
 *     (iso-8859-1 and ascii mean windows-1252, gb2312 means gbk, ...).
 *     Conversion to UTF-8 uses iconv; an invalid sequence becomes U+FFFD
 *     and is counted, never fatal.
 *  2. Parsing with gumbo (HTML5 tree construction, entities decoded), its
 *     nodes allocated from the handle's arena and dropped wholesale.  The
 *     parse runs under budgets of CPU time and memory (gumbo goes
 *     quadratic on some pages), and survives gumbo's own assertions: see
 *     the return values below and html.c.
 *  3. A measuring pass over the tree (iterative, any depth): which elements
 *     are removed outright, and for each element the number of text
 *     characters below it and how many of those are link text.
 *  4. The choice of a root: <main> or role=main, else a lone <article>,
 *     when it holds at least half of the page's text that is not inside
 *     class/id-marked boilerplate; otherwise <body>.
 *  5. An emitting pass from that root that drops the removed elements,
 *     boilerplate by class/id (unless it holds most of the text) and
 *     link-dense blocks, and writes the text with its structure as
 *     newlines.
 *
 * Removal rules (all but the first group are off with keep_boilerplate):
 *  - never rendered: head, script, style, noscript, template, svg, iframe,
 *    object, embed, canvas, video, audio, map, img, form controls (button,
 *    select, input, textarea, option, datalist, output, progress, meter),
 *    a label inside a form or with a for= attribute, ruby annotations
 *    (rt, rp), and any element with the hidden attribute,
 *    aria-hidden="true" or an inline style of display:none or
 *    visibility:hidden.  <math> becomes its alttext (TeX on most sites).
 *  - semantic boilerplate: nav, menu, dialog, footer; header unless inside
 *    article, main or section; aside, except footnotes (class footnote,
 *    role note or doc-footnote) and, inside an article, main or section,
 *    a note on the text (kept unless tiny or link-heavy, as below); role
 *    navigation, banner, contentinfo, complementary, search, menu, menubar,
 *    toolbar, dialog, alertdialog.
 *  - class and id: each class token is split into parts at "-", "_", ":",
 *    "." and lower-to-upper case changes, trailing digits dropped.  A part
 *    that is a boilerplate word (nav, navbar, menu, breadcrumb(s), footer,
 *    header, masthead, banner, cookie(s), consent, share, social, related,
 *    comment(s), ad(s), advert(isement), sponsor, promo, pagination, pager,
 *    skip, toc, widget, search, login, newsletter, popup, modal, copyright,
 *    headerlink, ...) marks the element, and on block elements so does a
 *    part ending in nav, menu, footer, toolbar or breadcrumb(s) ("docnav",
 *    "mainmenu"; not on inline ones: DocBook's <span class="guimenu"> is
 *    text).  Other words never match ("shadow-box", "loading", "thread",
 *    "navy-blue", "add-to-cart"), nor do tokens that start with has-, no-,
 *    with-, without- ("has-sidebar").  "header" with a content qualifier
 *    (entry-header, article-header, post-header, page-header) is kept;
 *    "main-header" and "site-header" are not.  Whole tokens hidden,
 *    d-none, sr-only, visually-hidden, screen-reader-text, invisible mark
 *    too.  Class and id are not read on html, body, main, article and
 *    h1-h6, and such a mark never removes an element that holds half or
 *    more of the text under the root.
 *    Weak marks: "sidebar" (a web page's sidebar is links and widgets,
 *    DocBook's is a boxed note of prose) and every id (ids are often slugs
 *    of headings: <section id="widget">) remove an element only when it is
 *    tiny (under 60 characters) or over half link text.
 *  - link density, judged bottom-up so that a wrapper is judged by what
 *    survives in it: a container (div without text of its own, section,
 *    ul, ol, dl, table, form, ...) whose text is more than link_density
 *    link text and either under 1000 characters or with under 200
 *    characters outside links is removed; a paragraph (p, or a div with
 *    text of its own) when over 0.9 of it is the text of two or more
 *    links.  Characters are letters and digits (a character of three or
 *    four UTF-8 bytes, CJK above all, counts 2), so "Home | About" is all
 *    link text; link text that is a URL, or inside code, kbd, samp, tt or
 *    var (a cross-reference in documentation), is not counted as link
 *    text.
 *
 * Output: UTF-8 without NUL or control characters other than "\n" and
 * "\t" (tabs only from <pre>).  Paragraph-level blocks (p, div, section,
 * article, h1-h6, pre, blockquote, ul/ol/dl outside a list item, table,
 * figure, hr, details, address) are separated by a blank line; line-level
 * blocks (li, dt, dd, tr, figcaption, caption, summary, a nested list) and
 * <br> end a line, two <br> in a row give a blank line.  Table cells of a
 * row are joined with " | ".  No list markers or heading marks are added.
 * Outside <pre> white space collapses as a browser collapses it (U+00A0
 * counts as white space), and lines carry no leading or trailing blanks;
 * inside <pre> it is kept, less the trailing blank lines.  The <title> is
 * returned separately, collapsed, and not in the text.
 *
 * Ownership: the handle owns its arena and converters; the result owns
 * its two buffers (reused across calls); result.charset points at a static
 * string or into the result itself, valid until the next call with it.
 * The input is borrowed for the call.  One handle per thread; handles are
 * independent.
 */
#ifndef WN_HTML_H
#define WN_HTML_H

#include <stddef.h>
#include "../lib/buf.h"

typedef struct wn_html wn_html;

typedef struct wn_html_opts {
	size_t max_input;     /* larger pages fail with WN_ETOOBIG (0: 16 MiB; at most 1 GiB) */
	double link_density;  /* container link-text share that removes (0: 0.5) */
	int keep_boilerplate; /* 1: only the never-rendered rules; no class/id,
	                         semantic, link-density rules, no root choice */
} wn_html_opts;

typedef struct wn_html_result {
	wn_buf text;            /* the main text; no leading or trailing white space */
	wn_buf title;           /* the <title>, collapsed; "" if none */
	const char *charset;    /* encoding used: "utf-8", "windows-1252", "gbk", ... */
	const char *charset_from; /* "bom", "utf-8" (validated), "hint", "meta", "default" */
	size_t replaced;        /* invalid input sequences replaced by U+FFFD */
	const char *root;       /* element the text came from: "main", "article", "body" */
	const char *error;      /* why the call failed (static string), else NULL */
	char charset_buf[40];   /* where `charset` points for labels outside the table */
} wn_html_result;

/* A handle with options `o` (NULL: defaults).  Never NULL. */
wn_html *wn_html_new(const wn_html_opts *o);
void wn_html_free(wn_html *h); /* accepts NULL */

void wn_html_result_init(wn_html_result *r);
void wn_html_result_release(wn_html_result *r);

/* Extract the main text of `html` (n bytes, any bytes at all).
 * `charset_hint` is an encoding label from outside the page (HTTP) or NULL.
 * `h` may be NULL: a temporary handle with default options is used.
 * Returns 0; WN_ETOOBIG when n exceeds max_input, WN_ECORRUPT when the
 * parse failed: an assertion inside gumbo (twice, see html.c), or a
 * pathological page that spent the parse's budget of CPU time (200 ms +
 * 500 ms per MiB, some 20 times the usual) or memory (128 MiB + 48 bytes
 * per input byte).  res->text is then empty and res->error says why.
 * An empty text is not an error. */
int wn_html_extract(wn_html *h, const char *html, size_t n, const char *charset_hint,
	wn_html_result *res);

/* The canonical name of an encoding label ("latin1" -> "windows-1252"),
 * or NULL when the label is not one browsers know. */
const char *wn_html_charset_name(const char *label);

#endif
