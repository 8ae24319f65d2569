/*
 * test_html.c - filters/html.c: one hand-made page per structure and
 * removal rule, entities, <pre>, tables, lists, nested boilerplate, pages
 * with and without <main>; encodings (windows-1252 bytes, a <meta
 * charset=gbk> page in GBK, byte order marks, wrong hints); pages that
 * break the parser or would take it quadratic time; random bytes; and the
 * real pages of the debian-handbook and the Python documentation, read
 * from the data cache (scripts/fetch-data.sh debian-handbook python-doc),
 * with the body-paragraph recall and the navigation left over measured
 * against libxml2's independent parse of the same pages.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>

#include "../../filters/html.h"
#include "../../lib/err.h"
#include "testutil.h"

/* one timeout for every suite: Criterion 2.4 leaks in its runner when
 * suites of different timeouts run side by side (seen under LeakSanitizer) */
TestSuite(html, .timeout = 300);
TestSuite(html_remove, .timeout = 300);
TestSuite(html_charset, .timeout = 300);
TestSuite(html_robust, .timeout = 300);
TestSuite(html_real, .timeout = 300);

/* ---------------------------------------------------------------- helpers */

static wn_html *H;
static wn_html_result R;

/* The text of a page (static until the next call). */
static const char *text_of(const char *html)
{
	if (!H) {
		H = wn_html_new(NULL);
		wn_html_result_init(&R);
	}
	int rc = wn_html_extract(H, html, strlen(html), NULL, &R);
	cr_assert_eq(rc, 0, "rc %d", rc);
	return R.text.data;
}

static const char *text_hint(const char *html, size_t n, const char *hint)
{
	if (!H) {
		H = wn_html_new(NULL);
		wn_html_result_init(&R);
	}
	int rc = wn_html_extract(H, html, n, hint, &R);
	cr_assert_eq(rc, 0, "rc %d", rc);
	return R.text.data;
}

#define HAS(t, s) cr_assert(strstr((t), (s)) != NULL, "missing \"%s\" in:\n%s", (s), (t))
#define HASNT(t, s) cr_assert(strstr((t), (s)) == NULL, "unwanted \"%s\" in:\n%s", (s), (t))

/* a page of body text long enough to dominate any boilerplate */
#define BODY \
	"<p>The quick brown fox jumps over the lazy dog near the river bank, " \
	"and the dog does not seem to mind at all, for it is a warm afternoon.</p>" \
	"<p>Second paragraph of real content, with enough words to count as prose " \
	"in any reasonable extractor that looks at the amount of text.</p>"

/* ---------------------------------------------------------------- structure */

Test(html, paragraphs_blocks_and_inline_white_space)
{
	const char *t = text_of("<html><head><title> The   title </title></head><body>"
		"<h1>Heading  one</h1><p>First\n   paragraph   with <b>bold</b>\t and <i>italic</i>"
		" text.</p><p>Second</p><div>A div</div><section>sec</section>"
		"<span>inline</span> <em>after</em></body></html>");
	cr_assert_str_eq(t, "Heading one\n\nFirst paragraph with bold and italic text.\n\n"
		"Second\n\nA div\n\nsec\n\ninline after");
	cr_assert_str_eq(R.title.data, "The title");
	cr_assert_str_eq(R.root, "body");
	cr_assert_str_eq(R.charset, "utf-8");
}

Test(html, lists_breaks_and_definitions)
{
	const char *t = text_of("<p>Intro</p><ul><li>one</li><li>two <b>bold</b></li>"
		"<li>three<ul><li>three.a</li><li>three.b</li></ul></li></ul>"
		"<ol><li><p>loose item</p></li></ol><dl><dt>term</dt><dd>definition</dd></dl>"
		"<p>line one<br>line two<br><br>after a blank line</p>");
	cr_assert_str_eq(t, "Intro\n\none\ntwo bold\nthree\nthree.a\nthree.b\n\nloose item\n\n"
		"term\ndefinition\n\nline one\nline two\n\nafter a blank line");
}

Test(html, tables)
{
	const char *t = text_of("<p>Before</p><table><caption>Caption</caption>"
		"<tr><th>Name</th><th>Value</th></tr>"
		"<tr><td>a</td><td>1</td></tr><tr><td></td><td>2</td></tr>"
		"<tr><td>x</td><td></td><td>z</td></tr></table><p>After</p>");
	cr_assert_str_eq(t, "Before\n\nCaption\nName | Value\na | 1\n2\nx | z\n\nAfter");
}

Test(html, pre_keeps_white_space)
{
	const char *t = text_of("<p>Code:</p><pre>\nint main(void)\n{\n\treturn  0;\n}\n\n\n</pre>"
		"<p>x   <code>a   b</code></p><pre><span>  indented</span>\n  <b>kept</b></pre>");
	cr_assert_str_eq(t, "Code:\n\nint main(void)\n{\n\treturn  0;\n}\n\nx a b\n\n  indented\n  kept");
}

Test(html, entities_and_odd_characters)
{
	const char *t = text_of("<p>&lt;tag&gt; &amp; &quot;q&quot; caf&eacute; &#x4E2D;&#25991; "
		"a&nbsp;&nbsp;b &copy; &bogus; &not ok &#0; &#x80;</p>");
	/* &not is one of HTML's entities that need no semicolon; &#x80; is
	 * windows-1252's euro, as the HTML standard says */
	cr_assert_str_eq(t, "<tag> & \"q\" caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 a b \xc2\xa9 "
		"&bogus; \xc2\xac ok \xef\xbf\xbd \xe2\x82\xac");
	/* control characters never reach the text */
	t = text_of("<p>a\x01" "b\x0b\x1b\x7f" "c\xc2\x85" "d</p><pre>e\x0c\x01" "f</pre>");
	for (const char *p = t; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t', "control %d", *p);
	HAS(t, "a");
	HAS(t, "d");
}

Test(html, math_ruby_and_images)
{
	const char *t = text_of("<p>Energy <math alttext=\"E=mc^2\"><mi>E</mi></math> is "
		"<ruby>\xe6\xbc\xa2<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>"
		"<img alt=\"picture\" src=x.png> and <math><mi>x</mi></math>done.</p>");
	cr_assert_str_eq(t, "Energy E=mc^2 is \xe6\xbc\xa2 and done.");
}

Test(html, empty_and_null)
{
	wn_html_result r;
	wn_html_result_init(&r);
	cr_assert_eq(wn_html_extract(NULL, "", 0, NULL, &r), 0);
	cr_assert_str_eq(r.text.data, "");
	cr_assert_eq(wn_html_extract(NULL, NULL, 0, NULL, &r), 0);
	cr_assert_eq(wn_html_extract(NULL, "plain text, no tags", 19, NULL, &r), 0);
	cr_assert_str_eq(r.text.data, "plain text, no tags");
	wn_html_result_release(&r);
	wn_html_free(NULL);
}

/* ---------------------------------------------------------------- removal */

Test(html_remove, never_rendered)
{
	const char *t = text_of("<html><head><style>p{color:red}</style><script>var a=1;</script>"
		"<meta charset=utf-8></head><body>" BODY
		"<script>function f(){}</script><style>.x{}</style><noscript>enable js</noscript>"
		"<template><p>tpl</p></template><svg><text>svgtext</text></svg>"
		"<iframe>frame</iframe><object>obj</object><video>vid</video><canvas>cv</canvas>"
		"<form><label for=q>Search:</label><input value=inputvalue><button>Go</button>"
		"<select><option>opt</option></select><textarea>textareavalue</textarea>"
		"<p>form prose stays</p></form>"
		"<label>free label stays</label>"
		"<p hidden>hid</p><p aria-hidden=\"true\">ariahid</p><p aria-hidden=false>shown</p>"
		"<div style=\"color:red; display : none\">dn</div><div style=\"visibility:hidden\">vh</div>"
		"<div style=\"display:block\">db</div></body></html>");
	const char *gone[] = { "color", "var a", "function", ".x", "enable js", "tpl", "svgtext",
		"frame", "obj", "vid", "cv", "Search:", "inputvalue", "Go", "opt", "textareavalue", "hid",
		"ariahid", "dn", "vh" };
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) HASNT(t, gone[i]);
	HAS(t, "form prose stays");
	HAS(t, "free label stays");
	HAS(t, "shown");
	HAS(t, "db");
	HAS(t, "quick brown fox");
}

Test(html_remove, semantic_boilerplate_and_roles)
{
	const char *t = text_of("<body><header><a href=/>Site name</a></header>"
		"<nav><a href=/a>Alpha</a> <a href=/b>Beta</a></nav>"
		"<menu><li>menuitem</li></menu><aside>aside text of a site</aside>"
		"<div role=navigation>rolenav</div><div role=banner>rolebanner</div>"
		"<div role=\"contentinfo\">roleinfo</div><div role=complementary>rolecompl</div>"
		"<div role=search>rolesearch</div><div role=\"menu menubar\">rolemenu</div>"
		"<dialog>dialogtext</dialog>" BODY
		"<footer>Copyright footer</footer></body>");
	const char *gone[] = { "Site name", "Alpha", "menuitem", "aside text", "rolenav",
		"rolebanner", "roleinfo", "rolecompl", "rolesearch", "rolemenu", "dialogtext",
		"Copyright footer" };
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) HASNT(t, gone[i]);
	HAS(t, "quick brown fox");
	HAS(t, "Second paragraph");
}

Test(html_remove, headers_asides_and_footnotes_inside_articles)
{
	const char *t = text_of("<body><header>site header</header><article>"
		"<header><h1>Article title</h1><p>by Someone</p></header>" BODY
		"<aside><p>A pull quote that belongs to the article and says something worth "
		"repeating in large letters.</p></aside>"
		"<aside><a href=/x>link</a> <a href=/y>list</a></aside>"
		"<footer>article footer</footer></article></body>");
	HASNT(t, "site header");
	HAS(t, "Article title");
	HAS(t, "by Someone");
	HAS(t, "A pull quote");
	HASNT(t, "link list");
	HASNT(t, "article footer");
	/* footnotes are asides too, and not boilerplate */
	t = text_of("<body>" BODY "<aside class=\"footnote brackets\"><p>[1] A footnote.</p></aside>"
		"<aside role=\"doc-footnote\"><p>[2] Another.</p></aside></body>");
	HAS(t, "[1] A footnote.");
	HAS(t, "[2] Another.");
}

Test(html_remove, class_and_id_words)
{
	struct { const char *attr; int removed; } cases[] = {
		{ "class=\"header\"", 1 },
		{ "class=\"main-header\"", 1 },
		{ "class=\"site_header\"", 1 },
		{ "class=\"entry-header\"", 0 },
		{ "class=\"shadow-box\"", 0 },
		{ "class=\"loading\"", 0 },
		{ "class=\"thread\"", 0 },
		{ "class=\"navy-blue\"", 0 },
		{ "class=\"site-nav\"", 1 },
		{ "class=\"docnav top\"", 1 },
		{ "class=\"mainMenu\"", 1 },
		{ "class=\"cookie-banner\"", 1 },
		{ "class=\"share-buttons\"", 1 },
		{ "class=\"social\"", 1 },
		{ "class=\"related-posts\"", 1 },
		{ "class=\"comments\"", 1 },
		{ "class=\"ad-slot\"", 1 },
		{ "class=\"add-to-cart\"", 0 },
		{ "class=\"advertisement\"", 1 },
		{ "class=\"breadcrumbs\"", 1 },
		{ "class=\"pagination\"", 1 },
		{ "class=\"skip-link\"", 1 },
		{ "class=\"sr-only\"", 1 },
		{ "class=\"has-sidebar\"", 0 },
		{ "class=\"no-comments\"", 0 },
		{ "class=\"footer2\"", 1 },
		{ "class=\"content\"", 0 },
		{ "id=\"footer\"", 1 },       /* an id is weak evidence: tiny, so removed */
		{ "id=\"cookie-objects\"", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char page[2048];
		snprintf(page, sizeof page, "<body>" BODY "<div %s>Marked words</div></body>",
			cases[i].attr);
		const char *t = text_of(page);
		cr_assert_eq(strstr(t, "Marked words") == NULL, cases[i].removed, "%s: %s",
			cases[i].attr, t);
		HAS(t, "quick brown fox");
	}
	/* inline elements: whole words only, no compound endings */
	const char *t = text_of("<p>Open the <span class=\"guimenu\">Settings</span> menu, "
		"<a class=\"headerlink\" href=#x>\xc2\xb6</a>then <span class=\"nav\">navspan</span>.</p>");
	HAS(t, "Open the Settings menu");
	HASNT(t, "\xc2\xb6");
	HASNT(t, "navspan");
	/* headings are never removed by class or id */
	t = text_of("<body>" BODY "<h2 id=\"related\" class=\"comments\">Related work</h2>"
		"<p>More prose follows the heading here, long enough to be kept as text.</p></body>");
	HAS(t, "Related work");
}

Test(html_remove, weak_marks_sidebar_and_ids)
{
	/* a DocBook sidebar is a note of prose: kept; a web sidebar of links: removed */
	const char *t = text_of("<body>" BODY "<div class=\"sidebar\"><p><b>NOTE</b> Sidebars in "
		"DocBook are boxed notes of prose that belong to the text around them.</p></div>"
		"<div id=\"sidebar\"><ul><li><a href=/1>Recent post one</a></li>"
		"<li><a href=/2>Recent post two</a></li></ul><p>Tags: <a href=/t>x</a></p></div>"
		"<section id=\"widget\"><h2>Widget</h2><p>A section whose id is a heading's slug "
		"and whose text is the documentation of the Widget class.</p></section></body>");
	HAS(t, "Sidebars in DocBook");
	HASNT(t, "Recent post");
	HAS(t, "documentation of the Widget class");
}

Test(html_remove, nested_boilerplate_and_the_guard)
{
	const char *t = text_of("<body><main>" BODY
		"<div class=\"cookie-consent\"><p>We use cookies to improve your experience.</p>"
		"<div class=\"content\"><p>Still the cookie banner.</p></div></div></main></body>");
	HASNT(t, "cookies");
	HASNT(t, "Still the cookie banner");
	/* a marked wrapper holding most of the text is kept (a mislabelled page) */
	t = text_of("<body><div id=\"page\" class=\"comments-area-wrapper comments\">" BODY
		"</div><p>tiny</p></body>");
	HAS(t, "quick brown fox");
}

Test(html_remove, link_density)
{
	const char *t = text_of("<body><div><a href=/>Home</a> | <a href=/about>About us</a> | "
		"<a href=/contact>Contact</a></div>"
		"<ul><li><a href=/1>Products</a></li><li><a href=/2>Services</a></li>"
		"<li><a href=/3>Careers</a></li></ul>" BODY
		"<p>A paragraph that mentions <a href=/x>one link</a> in passing is kept.</p>"
		"<p><a href=/p>Previous</a> <a href=/n>Next</a></p>"
		"<p>See <a href=/doc><code>json.dumps()</code></a> and <a href=/d><code>json.loads()</code></a>.</p>"
		"<div>The mirror list: <a href=\"https://www.debian.org/mirror/list\">https://www.debian.org/mirror/list</a></div>"
		"<p><a href=/only>A single linked line</a></p></body>");
	HASNT(t, "Home");
	HASNT(t, "About us");
	HASNT(t, "Products");
	HAS(t, "mentions one link in passing");
	HASNT(t, "Previous");
	HAS(t, "See json.dumps() and json.loads().");
	HAS(t, "https://www.debian.org/mirror/list");
	HAS(t, "A single linked line");
}

Test(html_remove, main_article_or_body)
{
	const char *t = text_of("<body><div class=\"intro\">Text outside main that is not "
		"boilerplate by its name but lies outside the main element.</div><main>" BODY
		"</main></body>");
	HASNT(t, "outside main");
	cr_assert_str_eq(R.root, "main");
	t = text_of("<body><div class=\"intro\">Outside text.</div><div role=\"main\">" BODY
		"</div></body>");
	HASNT(t, "Outside text");
	cr_assert_str_eq(R.root, "main");
	t = text_of("<body><div>Outside text.</div><article>" BODY "</article></body>");
	HASNT(t, "Outside text");
	cr_assert_str_eq(R.root, "article");
	/* a main that holds little of the text is not preferred */
	t = text_of("<body><main><p>Hero line.</p></main>" BODY "</body>");
	HAS(t, "Hero line.");
	HAS(t, "quick brown fox");
	cr_assert_str_eq(R.root, "body");
	/* several articles: a listing, all of it */
	t = text_of("<body><article><p>First article body text here.</p></article>"
		"<article><p>Second article body text here.</p></article></body>");
	HAS(t, "First article");
	HAS(t, "Second article");
	/* no main, no article: body with the rules */
	t = text_of("<body><div id=\"banner\">Download</div>" BODY "</body>");
	HASNT(t, "Download");
	cr_assert_str_eq(R.root, "body");
}

Test(html_remove, keep_boilerplate_option)
{
	wn_html_opts o = { .keep_boilerplate = 1 };
	wn_html *h = wn_html_new(&o);
	wn_html_result r;
	wn_html_result_init(&r);
	const char *page = "<body><nav><a href=/>Home</a></nav><div class=footer>Foot</div>"
		"<main><p>Main</p></main><script>x()</script><p hidden>h</p></body>";
	cr_assert_eq(wn_html_extract(h, page, strlen(page), NULL, &r), 0);
	cr_assert_str_eq(r.text.data, "Home\n\nFoot\n\nMain");
	wn_html_result_release(&r);
	wn_html_free(h);
}

/* ---------------------------------------------------------------- charset */

/* s converted from UTF-8 to `to` with iconv (static, NUL-terminated). */
static const char *conv(const char *s, const char *to, size_t *n)
{
	static char out[4096];
	iconv_t cd = iconv_open(to, "UTF-8");
	cr_assert_neq(cd, (iconv_t)-1);
	char *ip = (char *)s, *op = out;
	size_t il = strlen(s), ol = sizeof out - 1;
	cr_assert_neq(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
	iconv_close(cd);
	*n = (size_t)(op - out);
	out[*n] = 0;
	return out;
}

Test(html_charset, windows_1252_without_a_declaration)
{
	const char *p = "<p>caf\xe9 \x93quoted\x94 \x80 na\xefve</p>";
	const char *t = text_hint(p, strlen(p), NULL);
	cr_assert_str_eq(t, "caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac na\xc3\xafve");
	cr_assert_str_eq(R.charset, "windows-1252");
	cr_assert_str_eq(R.charset_from, "default");
	cr_assert_eq(R.replaced, 0);
	/* latin1 as a hint is windows-1252 */
	t = text_hint(p, strlen(p), "ISO-8859-1");
	cr_assert_str_eq(R.charset, "windows-1252");
	cr_assert_str_eq(R.charset_from, "hint");
}

Test(html_charset, meta_gbk_page)
{
	size_t n;
	const char *body = conv("<p>\xe4\xb8\xad\xe6\x96\x87\xe7\xbd\x91\xe9\xa1\xb5\xef\xbc\x9a"
		"\xe7\xaa\x97\xe5\x8f\xa3\xe4\xb8\x8e\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82</p>", "GBK", &n);
	char page[4096];
	int k = snprintf(page, sizeof page, "<html><head><meta charset=gbk><title>t</title></head>"
		"<body>%s</body></html>", body);
	const char *t = text_hint(page, (size_t)k, NULL);
	cr_assert_str_eq(t, "\xe4\xb8\xad\xe6\x96\x87\xe7\xbd\x91\xe9\xa1\xb5\xef\xbc\x9a"
		"\xe7\xaa\x97\xe5\x8f\xa3\xe4\xb8\x8e\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82");
	cr_assert_str_eq(R.charset, "gbk");
	cr_assert_str_eq(R.charset_from, "meta");
	/* the same with http-equiv and gb2312, and a wrong utf-8 hint */
	k = snprintf(page, sizeof page, "<!-- <meta charset=koi8-r> --><meta http-equiv=\"Content-Type\" "
		"content=\"text/html; charset=GB2312\"><p>%s", body);
	t = text_hint(page, (size_t)k, "utf-8");
	HAS(t, "\xe4\xb8\xad\xe6\x96\x87\xe7\xbd\x91\xe9\xa1\xb5");
	cr_assert_str_eq(R.charset, "gbk");
	cr_assert_str_eq(R.charset_from, "meta");
	/* a hint is taken before the page's declaration */
	k = snprintf(page, sizeof page, "<meta charset=windows-1252><p>%s", body);
	t = text_hint(page, (size_t)k, "gb18030");
	HAS(t, "\xe4\xb8\xad\xe6\x96\x87");
	cr_assert_str_eq(R.charset, "gb18030");
	cr_assert_str_eq(R.charset_from, "hint");
}

Test(html_charset, byte_order_marks)
{
	const char *p = "\xef\xbb\xbf<p>bom \xc3\xa9</p>";
	const char *t = text_hint(p, strlen(p), "windows-1252");
	cr_assert_str_eq(t, "bom \xc3\xa9");
	cr_assert_str_eq(R.charset_from, "bom");
	size_t n;
	const char *u16 = conv("\xef\xbb\xbf<p>utf-16 \xe4\xb8\xad</p>", "UTF-16LE", &n);
	char buf[256];
	memcpy(buf, u16, n);
	t = text_hint(buf, n, NULL);
	cr_assert_str_eq(t, "utf-16 \xe4\xb8\xad");
	cr_assert_str_eq(R.charset, "utf-16le");
	u16 = conv("\xef\xbb\xbf<p>big</p>", "UTF-16BE", &n);
	memcpy(buf, u16, n);
	t = text_hint(buf, n, NULL);
	cr_assert_str_eq(t, "big");
	cr_assert_str_eq(R.charset, "utf-16be");
}

Test(html_charset, wrong_and_unknown_hints)
{
	const char *p = "<meta charset=iso-8859-1><p>na\xc3\xafve \xe4\xb8\xad</p>";
	/* valid UTF-8 wins over a latin1 label, from the server or the page */
	const char *t = text_hint(p, strlen(p), "iso-8859-1");
	cr_assert_str_eq(t, "na\xc3\xafve \xe4\xb8\xad");
	cr_assert_str_eq(R.charset, "utf-8");
	cr_assert_str_eq(R.charset_from, "utf-8");
	t = text_hint(p, strlen(p), "gbk");
	cr_assert_str_eq(R.charset, "utf-8");
	/* an unknown label is ignored */
	const char *q = "<p>caf\xe9</p>";
	t = text_hint(q, strlen(q), "no-such-charset\"; x");
	cr_assert_str_eq(t, "caf\xc3\xa9");
	cr_assert_str_eq(R.charset_from, "default");
	/* declared UTF-8 that is not: repaired, counted */
	const char *bad = "<meta charset=utf-8><p>ok \xff\xfe end</p>";
	t = text_hint(bad, strlen(bad), NULL);
	cr_assert_str_eq(t, "ok \xef\xbf\xbd\xef\xbf\xbd end");
	cr_assert_eq(R.replaced, 2);
	cr_assert_str_eq(R.charset, "utf-8");
	/* pure ASCII keeps the declared name */
	t = text_hint("<p>ascii</p>", 12, "us-ascii");
	cr_assert_str_eq(R.charset, "windows-1252");
	/* an XML declaration */
	const char *x = "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><p>\xa4uro</p>";
	t = text_hint(x, strlen(x), NULL);
	cr_assert_str_eq(t, "\xe2\x82\xac" "uro");
	cr_assert_str_eq(R.charset, "iso-8859-15");
	/* a label outside the browsers' table that iconv knows, with no handle */
	wn_html_result r2;
	wn_html_result_init(&r2);
	cr_assert_eq(wn_html_extract(NULL, "<p>\x80\x81</p>", 9, "CP437", &r2), 0);
	cr_assert_str_eq(r2.text.data, "\xc3\x87\xc3\xbc");
	cr_assert_str_eq(r2.charset, "cp437");
	wn_html_result_release(&r2);
	cr_assert_str_eq(wn_html_charset_name(" Latin1 "), "windows-1252");
	cr_assert_str_eq(wn_html_charset_name("x-sjis"), "shift_jis");
	cr_assert_null(wn_html_charset_name("bogus"));
}

/* ---------------------------------------------------------------- robustness */

Test(html_robust, parser_assertion_is_survived)
{
	/* gumbo 0.10.1 aborts on this one; the page is parsed again without
	 * foreign content */
	const char *t = text_of("<p>before</p><table><svg><select><title><select><td>cell</td>"
		"</table><p>after</p>");
	HAS(t, "before");
	HAS(t, "after");
}

Test(html_robust, caps_and_budgets)
{
	wn_html_opts o = { .max_input = 1000 };
	wn_html *h = wn_html_new(&o);
	wn_html_result r;
	wn_html_result_init(&r);
	char big[2000];
	memset(big, 'a', sizeof big);
	cr_assert_eq(wn_html_extract(h, big, sizeof big, NULL, &r), WN_ETOOBIG);
	cr_assert_str_eq(r.error, "the page is larger than the input cap");
	wn_html_free(h);
	/* 300,000 nested <div>: gumbo would scan the open elements for each */
	size_t n = 300000 * 5;
	char *deep = malloc(n + 1);
	for (size_t i = 0; i < n; i += 5) memcpy(deep + i, "<div>", 5);
	time_t t0 = time(NULL);
	cr_assert_eq(wn_html_extract(NULL, deep, n, NULL, &r), WN_ECORRUPT);
	cr_assert_str_eq(r.error, "the parse ran out of its time budget");
	cr_assert_lt(time(NULL) - t0, 20);
	free(deep);
	/* and the next page is fine */
	cr_assert_eq(wn_html_extract(NULL, "<p>fine</p>", 11, NULL, &r), 0);
	cr_assert_str_eq(r.text.data, "fine");
	cr_assert_null(r.error);
	wn_html_result_release(&r);
}

static int valid_utf8_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\n' && c != '\t') return 0;
			i++;
			continue;
		}
		size_t k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
		if (!k || c > 0xF4 || i + k >= n + (k ? 0 : 1)) return 0;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (p[i + j] & 0xC0) != 0x80) return 0;
		i += k + 1;
	}
	return 1;
}

Test(html_robust, random_bytes_and_tag_soup)
{
	static const char *toks[] = { "<div>", "</div>", "<p>", "<a href=x>", "</a>", "<table>",
		"<td>", "<tr>", "<pre>", "</pre>", "<script>", "</script>", "<style>", "<!--", "-->",
		"<svg>", "<math alttext='m'>", "<br>", "&amp;", "&#0;", "&#xD800;", "\xff", "\xc3",
		"<li>", "<ul>", "<nav>", "<main>", "<template>", "<select>", "<option>", "<b>",
		"<title>", "<meta charset=gbk>", "<plaintext>", "<textarea>", "<noscript>", "<form>",
		"<label>", "<header>", " class=\"nav\"", "\r\n", "<h1>", "x y ", "\xe4\xb8\xad" };
	static const char *hints[] = { NULL, "utf-8", "gbk", "iso-8859-1", "utf-16le", "shift_jis",
		"bogus", "iso-2022-jp" };
	wn_html *h = wn_html_new(NULL);
	wn_html_result r;
	wn_html_result_init(&r);
	tu_rng g = { 42 };
	char buf[8192];
	for (int it = 0; it < 3000; it++) {
		size_t n = 0;
		if (it % 2) {
			n = tu_below(&g, sizeof buf);
			for (size_t i = 0; i < n; i++) buf[i] = (char)tu_next(&g);
		} else {
			int k = (int)tu_below(&g, 200);
			for (int i = 0; i < k; i++) {
				const char *t = toks[tu_below(&g, sizeof toks / sizeof toks[0])];
				size_t l = strlen(t);
				if (n + l >= sizeof buf) break;
				memcpy(buf + n, t, l);
				n += l;
			}
		}
		int rc = wn_html_extract(h, buf, n, hints[it % 8], &r);
		cr_assert(rc == 0 || rc == WN_ECORRUPT, "rc %d", rc);
		cr_assert_eq(strlen(r.text.data), r.text.len, "no NUL in the text");
		cr_assert(valid_utf8_text(r.text.data, r.text.len), "iteration %d", it);
		if (r.text.len) {
			cr_assert_neq(r.text.data[0], ' ');
			cr_assert_neq(r.text.data[r.text.len - 1], '\n');
		}
	}
	wn_html_result_release(&r);
	wn_html_free(h);
}

/* ---------------------------------------------------------------- real pages */

static const char *cache_dir(void)
{
	static char dir[1024];
	return tu_cache_dir(dir, sizeof dir);
}

/* Sorted .html files of a directory; fails the test with the fetch hint. */
static int list_pages(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s is missing: run `scripts/fetch-data.sh debian-handbook python-doc` "
		"to fetch the real pages into the cache", dir);
	int n = 0, cap = 0;
	char **v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".html")) continue;
		if (n == cap) v = realloc(v, (size_t)(cap = cap ? cap * 2 : 256) * sizeof *v);
		v[n] = malloc(strlen(dir) + l + 2);
		sprintf(v[n++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	cr_assert_gt(n, 0, "no pages in %s: run `scripts/fetch-data.sh debian-handbook python-doc`", dir);
	*out = v;
	return n;
}

/* White space removed (U+00A0 included): matching that ignores how
 * blocks were joined. */
static char *squeeze(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *o = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') continue;
		if (c == 0xC2 && (unsigned char)s[i + 1] == 0xA0) {
			i++;
			continue;
		}
		o[k++] = (char)c;
	}
	o[k] = 0;
	return o;
}

typedef struct {
	long paras, found;        /* reference paragraphs, found in the text */
	long out_chars, in_main;  /* text characters, of which inside the main region */
	long leaks;               /* script/style lines found in the text */
	long nav_lines;           /* navigation lines left */
	double mb, seconds;
	int pages;
} real_stats;

/* Measure one set of pages: `paras` selects the body paragraphs (XPath for
 * libxml2), `region` the page's main region, `nav` lines that must not be
 * left. */
static void measure(char **pages, int n, const char *paras, const char *region,
	const char *const *nav, const char *const *nav_sub, real_stats *st)
{
	memset(st, 0, sizeof *st);
	wn_html *h = wn_html_new(NULL);
	wn_html_result r;
	wn_html_result_init(&r);
	for (int i = 0; i < n; i++) {
		size_t len;
		char *html = tu_read_file(pages[i], &len);
		cr_assert_not_null(html);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		cr_assert_eq(wn_html_extract(h, html, len, NULL, &r), 0, "%s", pages[i]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		st->seconds += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
		st->mb += (double)len / 1e6;
		st->pages++;
		char *out = squeeze(r.text.data);

		htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
			HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER | HTML_PARSE_NONET);
		cr_assert_not_null(doc);
		xmlXPathContextPtr xc = xmlXPathNewContext(doc);
		xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)paras, xc);
		for (int k = 0; o && o->nodesetval && k < o->nodesetval->nodeNr; k++) {
			xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[k]);
			char *s = squeeze((const char *)t);
			if (*s) {
				st->paras++;
				if (strstr(out, s)) st->found++;
				else if (getenv("WN_HTML_VERBOSE"))
					cr_log_info("missed in %s: %.120s", pages[i], s);
			}
			free(s);
			xmlFree(t);
		}
		xmlXPathFreeObject(o);

		for (const char *const *w = nav_sub; w && *w; w++)
			if (strstr(r.text.data, *w)) st->nav_lines++;

		/* text lines (and table cells) inside the main region */
		char *main = NULL;
		o = xmlXPathEvalExpression((const xmlChar *)region, xc);
		if (o && o->nodesetval && o->nodesetval->nodeNr) {
			xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
			main = squeeze((const char *)t);
			xmlFree(t);
		}
		xmlXPathFreeObject(o);
		char *copy = strdup(r.text.data), *save = NULL;
		for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			for (const char *const *w = nav; *w; w++)
				if (!strcmp(line, *w)) st->nav_lines++;
			char *seg = line;
			while (seg) {
				char *bar = strstr(seg, " | ");
				if (bar) *bar = 0;
				char *s = squeeze(seg);
				long l = (long)strlen(s);
				st->out_chars += l;
				if (main && strstr(main, s)) st->in_main += l;
				free(s);
				seg = bar ? bar + 3 : NULL;
			}
		}
		free(copy);
		free(main);

		/* no line of a script or a style sheet */
		o = xmlXPathEvalExpression((const xmlChar *)"//script|//style", xc);
		for (int k = 0; o && o->nodesetval && k < o->nodesetval->nodeNr; k++) {
			xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[k]);
			char *sv = NULL;
			for (char *l = strtok_r((char *)t, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
				char *s = squeeze(l);
				if (strlen(s) >= 16 && strstr(out, s)) st->leaks++;
				free(s);
			}
			xmlFree(t);
		}
		xmlXPathFreeObject(o);
		xmlXPathFreeContext(xc);
		xmlFreeDoc(doc);
		free(out);
		free(html);
		free(pages[i]);
	}
	free(pages);
	wn_html_result_release(&r);
	wn_html_free(h);
}

static void report(const char *what, const real_stats *st)
{
	cr_log_info("%s: %d pages, %.1f MB in %.2f s = %.1f MB/s; body paragraphs %ld, recall %.4f; "
		"text inside the main region %.4f; navigation lines left %ld; script/style lines %ld",
		what, st->pages, st->mb, st->seconds, st->mb / st->seconds, st->paras,
		(double)st->found / (double)st->paras, (double)st->in_main / (double)st->out_chars,
		st->nav_lines, st->leaks);
}

/* DocBook (publican) pages: paragraphs are <p> and div.para, outside the
 * table of contents and the navigation. */
#define HANDBOOK_PARAS \
	"//*[self::p or (self::div and @class='para')][not(ancestor::*[@class='toc'])]" \
	"[not(ancestor::ul[contains(@class,'docnav')])]" \
	"[not(ancestor-or-self::*[@id='banner' or @id='title'])]"

static const char *const handbook_nav[] = { "Prev", "Next", "Up", "Home",
	"Download the ebook", NULL };

static void handbook(const char *lang, int required)
{
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/debian-handbook/html/%s", cache_dir(), lang);
	if (!required && !tu_exists(dir)) return;
	char **pages;
	int n = list_pages(dir, &pages);
	real_stats st;
	measure(pages, n, HANDBOOK_PARAS, "/html/body", handbook_nav, NULL, &st);
	char what[64];
	snprintf(what, sizeof what, "debian-handbook %s", lang);
	report(what, &st);
	cr_assert_geq((double)st.found / (double)st.paras, 0.95, "%s recall %ld/%ld", lang,
		st.found, st.paras);
	cr_assert_eq(st.nav_lines, 0, "%s: navigation left", lang);
	cr_assert_eq(st.leaks, 0);
}

Test(html_real, debian_handbook)
{
	handbook("en-US", 1);
	handbook("zh-CN", 0);
}

Test(html_real, python_docs)
{
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/python-doc/html/library", cache_dir());
	char **pages;
	int n = list_pages(dir, &pages);
	/* the sidebar, the navigation bars and the footer of every page */
	static const char *const nav[] = { "Table of Contents", "Previous topic", "Next topic",
		"This Page", "Report a Bug", "Show Source", "Navigation", "Quick search", NULL };
	static const char *const nav_sub[] = { "Please donate.", "Created using", "Last updated on",
		"Found a bug?", NULL };
	real_stats st;
	measure(pages, n, "//div[@role='main']//p[not(ancestor::nav)]", "//div[@role='main']",
		nav, nav_sub, &st);
	report("python-doc library", &st);
	cr_assert_geq((double)st.found / (double)st.paras, 0.95, "recall %ld/%ld", st.found, st.paras);
	cr_assert_geq((double)st.in_main / (double)st.out_chars, 0.99, "text from outside the main region");
	cr_assert_eq(st.nav_lines, 0);
	cr_assert_eq(st.leaks, 0);
}
