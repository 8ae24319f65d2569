/* p_cjson.c - the cJSON adapter for json_bench (json_bench.h). */
#include <cjson/cJSON.h>
#include "json_bench.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static void *nostate(void) { return NULL; }
static void nofini(void *st) { (void)st; }

static int get(cJSON *o, const char *k, sbuf *b)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsString(v) || !v->valuestring) return 0;
	/* cJSON keeps no length: a decoded U+0000 ends the string here */
	sb_set(b, v->valuestring, strlen(v->valuestring));
	return 1;
}

static int parse(void *st, const char *line, size_t len, size_t cap, res *r)
{
	const char *end = NULL;
	(void)st; (void)cap;
	/* = cJSON_ParseWithLength, plus the end pointer to reject trailing bytes */
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o) { r->err = "cJSON parse error"; return -1; }
	if (!end || !only_ws(end, line + len)) {
		cJSON_Delete(o);
		r->err = "trailing characters";
		return -1;
	}
	if (!cJSON_IsObject(o)) { cJSON_Delete(o); r->err = "not an object"; return -1; }
	r->has_text = get(o, "text", &r->text);
	r->has_id = get(o, "id", &r->id);
	r->has_domain = get(o, "domain", &r->domain);
	cJSON_Delete(o);
	return 0;
}

const parser p_cjson[] = {
	{ "cJSON", "cJSON_ParseWithLengthOpts (no UTF-8 check; strlen of valuestring) "
		   STR(CJSON_VERSION_MAJOR) "." STR(CJSON_VERSION_MINOR) "." STR(CJSON_VERSION_PATCH),
	  nostate, nofini, parse },
};
const size_t p_cjson_n = sizeof p_cjson / sizeof p_cjson[0];
