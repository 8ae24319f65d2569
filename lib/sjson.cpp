/*
 * sjson.cpp - simdjson On-Demand behind the C interface of sjson.h.
 *
 * simdjson was chosen by measurement over jansson, json-c, cJSON and a
 * parser of our own (bench/json/README.md).  On-Demand alone validates
 * only what is read, so validate() reads everything; the raw span of a
 * member's value runs from its first byte to the parser's next structural
 * character, less white space.  Numbers are checked against the JSON
 * grammar on their raw token instead of being converted, so that valid
 * JSON such as 1e400 or a 30-digit integer passes through unchanged.
 */
#include <simdjson.h>

#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "sjson.h"

using namespace simdjson;

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ }; /* enum wn_jtype */

struct wn_sj {
	ondemand::parser parser;
	std::vector<wn_sj_member> members;
};

/* The JSON number grammar on a raw token (which may carry trailing white
 * space). */
static bool number_ok(std::string_view t)
{
	size_t i = 0, n = t.size();
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r')) n--;
	auto digit = [&](size_t k) { return k < n && t[k] >= '0' && t[k] <= '9'; };
	if (i < n && t[i] == '-') i++;
	if (!digit(i)) return false;
	if (t[i] == '0') i++;
	else while (digit(i)) i++;
	if (i < n && t[i] == '.') {
		i++;
		if (!digit(i)) return false;
		while (digit(i)) i++;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-')) i++;
		if (!digit(i)) return false;
		while (digit(i)) i++;
	}
	return i == n;
}

static inline std::string_view rtrim(const char *b, const char *e)
{
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
	return std::string_view(b, (size_t)(e - b));
}

/* Read all of v; its type in *type.  depth guards the C stack (simdjson
 * has its own limit too). */
static error_code validate(ondemand::value v, int depth, int *type)
{
	if (depth > 1024) return DEPTH_ERROR;
	ondemand::json_type t;
	error_code e = v.type().get(t);
	if (e) return e;
	switch (t) {
	case ondemand::json_type::object: {
		*type = J_OBJ;
		ondemand::object o;
		if ((e = v.get_object().get(o))) return e;
		for (auto r : o) {
			ondemand::field f;
			if ((e = std::move(r).get(f))) return e;
			std::string_view k;
			if ((e = f.unescaped_key().get(k))) return e;
			int inner;
			if ((e = validate(f.value(), depth + 1, &inner))) return e;
		}
		return SUCCESS;
	}
	case ondemand::json_type::array: {
		*type = J_ARR;
		ondemand::array a;
		if ((e = v.get_array().get(a))) return e;
		for (auto r : a) {
			ondemand::value x;
			if ((e = std::move(r).get(x))) return e;
			int inner;
			if ((e = validate(x, depth + 1, &inner))) return e;
		}
		return SUCCESS;
	}
	case ondemand::json_type::string: {
		*type = J_STR;
		std::string_view s;
		return v.get_string().get(s);
	}
	case ondemand::json_type::number: {
		*type = J_NUM;
		std::string_view tok = v.raw_json_token();
		return number_ok(tok) ? SUCCESS : NUMBER_ERROR;
	}
	case ondemand::json_type::boolean: {
		*type = J_BOOL;
		bool b;
		return v.get_bool().get(b);
	}
	case ondemand::json_type::null: {
		*type = J_NULL;
		bool isnull;
		if ((e = v.is_null().get(isnull))) return e;
		return isnull ? SUCCESS : N_ATOM_ERROR;
	}
	}
	return TAPE_ERROR;
}

static int parse(wn_sj *p, const char *buf, size_t len, const char *const *want, size_t nwant,
		 const char **err)
{
	p->members.clear();
	error_code e;
	ondemand::document doc;
	if ((e = p->parser.iterate(buf, len, len + SIMDJSON_PADDING).get(doc))) goto fail;
	{
		ondemand::object obj;
		if ((e = doc.get_object().get(obj))) goto fail;
		for (auto r : obj) {
			ondemand::field f;
			if ((e = std::move(r).get(f))) goto fail;
			wn_sj_member m{};
			/* the raw key runs to its closing quote (an escaped quote is skipped) */
			const char *k = reinterpret_cast<const char *>(f.key().raw());
			size_t kl = 0;
			while (k[kl] != '"') {
				if (k[kl] == '\\') { m.kesc = 1; kl++; }
				kl++;
			}
			std::string_view key;
			if ((e = f.unescaped_key().get(key))) goto fail;
			m.koff = (size_t)(k - buf);
			m.klen = kl;
			for (size_t i = 0; i < nwant; i++)
				if (key == want[i]) { m.want = (int)i + 1; break; }
			ondemand::value v = f.value();
			/* a scalar's raw token runs to the next structural character */
			std::string_view tok = v.raw_json_token();
			const char *vstart = tok.data();
			if (m.want) {
				ondemand::json_type t;
				if ((e = v.type().get(t))) goto fail;
				if (t == ondemand::json_type::string) {
					std::string_view s;
					if ((e = v.get_string().get(s))) goto fail;
					m.type = J_STR;
					m.str = s.data();
					m.slen = s.size();
				} else if ((e = validate(v, 1, &m.type))) {
					goto fail;
				}
			} else if ((e = validate(v, 1, &m.type))) {
				goto fail;
			}
			/* an object or array ends where the next structural character
			 * starts, once it has been read */
			const char *end = vstart + tok.size();
			if (m.type == J_OBJ || m.type == J_ARR) {
				if ((e = doc.current_location().get(end))) goto fail;
			}
			std::string_view raw = rtrim(vstart, end);
			m.voff = (size_t)(raw.data() - buf);
			m.vlen = raw.size();
			p->members.push_back(m);
		}
	}
	{
		/* nothing may follow the object */
		const char *loc;
		if (doc.current_location().get(loc) != OUT_OF_BOUNDS) {
			e = TRAILING_CONTENT;
			goto fail;
		}
	}
	return 0;
fail:
	*err = error_message(e);
	return -1;
}

extern "C" {

wn_sj *wn_sj_new(void)
{
	try {
		return new wn_sj();
	} catch (...) {
		return nullptr;
	}
}

void wn_sj_free(wn_sj *p)
{
	delete p;
}

int wn_sj_parse(wn_sj *p, const char *buf, size_t len, const char *const *want, size_t nwant,
		const wn_sj_member **members, size_t *nmembers, const char **err)
{
	int rc;
	try {
		rc = parse(p, buf, len, want, nwant, err);
	} catch (const std::bad_alloc &) {
		*err = "out of memory";
		rc = -1;
	} catch (...) {
		*err = "unexpected exception in simdjson";
		rc = -1;
	}
	*members = p->members.data();
	*nmembers = rc ? 0 : p->members.size();
	return rc;
}

} /* extern "C" */
