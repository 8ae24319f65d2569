/* p_jsonc.c - the json-c adapter for json_bench (json_bench.h). */
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "json_bench.h"

static void *init_flags(int flags)
{
	/* nesting limit as winnow's (512); json-c's default is 32 */
	struct json_tokener *t = json_tokener_new_ex(512 + 2);
	if (!t) { fprintf(stderr, "json_bench: json_tokener_new_ex failed\n"); exit(2); }
	json_tokener_set_flags(t, flags);
	return t;
}
static void *init_default(void) { return init_flags(0); }
static void *init_strict(void) { return init_flags(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8); }
static void fini(void *st) { json_tokener_free(st); }

static int get(struct json_object *o, const char *k, sbuf *b)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	sb_set(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	return 1;
}

static int parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	struct json_tokener *t = st;
	(void)cap;
	if (len > INT32_MAX) { r->err = "line too long for json-c"; return -1; }
	json_tokener_reset(t);
	struct json_object *o = json_tokener_parse_ex(t, line, (int)len);
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(t);
		/* a valid "null" also comes back as NULL: not an object anyway */
		r->err = e == json_tokener_continue ? "incomplete"
		       : e == json_tokener_success ? "not an object"
		       : json_tokener_error_desc(e);
		return -1;
	}
	if (!only_ws(line + json_tokener_get_parse_end(t), line + len)) {
		json_object_put(o);
		r->err = "trailing characters";
		return -1;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		r->err = "not an object";
		return -1;
	}
	r->has_text = get(o, "text", &r->text);
	r->has_id = get(o, "id", &r->id);
	r->has_domain = get(o, "domain", &r->domain);
	json_object_put(o);
	return 0;
}

const parser p_jsonc[] = {
	{ "json-c", "json_tokener_parse_ex, reused tokener, default flags (no UTF-8 check) "
		    JSON_C_VERSION, init_default, fini, parse },
	{ "json-c-strict", "the same with JSON_TOKENER_STRICT|JSON_TOKENER_VALIDATE_UTF8",
	  init_strict, fini, parse },
};
const size_t p_jsonc_n = sizeof p_jsonc / sizeof p_jsonc[0];
