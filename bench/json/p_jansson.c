/* p_jansson.c - the jansson adapter for json_bench (json_bench.h). */
#include <jansson.h>
#include "json_bench.h"

static void *nostate(void) { return NULL; }
static void nofini(void *st) { (void)st; }

/* json_object_getn, not json_object_get: libjson-c exports a symbol of that
 * name too, and both libraries end up in one binary. */
static int get(json_t *o, const char *k, sbuf *b)
{
	json_t *v = json_object_getn(o, k, strlen(k));
	if (!v || !json_is_string(v)) return 0;
	sb_set(b, json_string_value(v), json_string_length(v));
	return 1;
}

static int parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	static json_error_t e;
	(void)st; (void)cap;
	/* JSON_ALLOW_NUL: accept \u0000 in strings (the length is kept);
	 * trailing non-space bytes are rejected by default */
	json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &e);
	if (!o) { r->err = e.text; return -1; }
	if (!json_is_object(o)) { json_decref(o); r->err = "not an object"; return -1; }
	r->has_text = get(o, "text", &r->text);
	r->has_id = get(o, "id", &r->id);
	r->has_domain = get(o, "domain", &r->domain);
	json_decref(o);
	return 0;
}

const parser p_jansson[] = {
	{ "jansson", "json_loadb(JSON_ALLOW_NUL) " JANSSON_VERSION, nostate, nofini, parse },
};
const size_t p_jansson_n = sizeof p_jansson / sizeof p_jansson[0];
