/*
 * simdjson_shim.cpp - see simdjson_shim.h.  Build:
 *   g++ -O2 -std=c++17 -c simdjson_shim.cpp && link with -lsimdjson
 */
#include <simdjson.h>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <new>
#include <vector>

#include "simdjson_shim.h"

using namespace simdjson;

struct sj_parser {
	ondemand::parser od;
	dom::parser dm;
	std::vector<sj_span> spans;
};

static void set(sj_str &s, std::string_view v)
{
	s.p = v.data();
	s.n = v.size();
	s.ok = 1;
}

/* 1 when key is one of ours; fills *slot. */
static inline sj_str *slot_for(sj_fields *f, std::string_view k)
{
	if (k == "text") return &f->text;
	if (k == "id") return &f->id;
	if (k == "domain") return &f->domain;
	return nullptr;
}

extern "C" {

sj_parser *sj_new(void)
{
	try {
		return new sj_parser();
	} catch (...) {
		return nullptr;
	}
}

void sj_free(sj_parser *p)
{
	delete p;
}

size_t sj_padding(void)
{
	return SIMDJSON_PADDING;
}

const char *sj_implementation(void)
{
	static char buf[160];
	try {
		snprintf(buf, sizeof buf, "stage 1 (runtime dispatch): %s; On-Demand/DOM inline code (compile time): %s",
			 std::string(simdjson::get_active_implementation()->name()).c_str(),
			 std::string(simdjson::builtin_implementation()->name()).c_str());
	} catch (...) {
		return "?";
	}
	return buf;
}

int sj_force(const char *name)
{
	try {
		const implementation *impl = simdjson::get_available_implementations()[name];
		if (!impl || !impl->supported_by_runtime_system()) return -1;
		simdjson::get_active_implementation() = impl;
		return 0;
	} catch (...) {
		return -1;
	}
}

int sj_ondemand(sj_parser *p, const char *buf, size_t len, size_t cap,
		sj_fields *f, const char **err)
{
	std::memset(f, 0, sizeof *f);
	error_code e = SUCCESS;
	try {
		ondemand::document doc;
		if ((e = p->od.iterate(buf, len, cap).get(doc))) goto fail;
		ondemand::object obj;
		if ((e = doc.get_object().get(obj))) goto fail;
		for (auto res : obj) {
			ondemand::field fld;
			if ((e = std::move(res).get(fld))) goto fail;
			std::string_view key;
			if ((e = fld.unescaped_key().get(key))) goto fail;
			sj_str *s = slot_for(f, key);
			if (!s) continue; /* the value is skipped (not validated) */
			ondemand::value v = fld.value();
			ondemand::json_type t;
			if ((e = v.type().get(t))) goto fail;
			if (t != ondemand::json_type::string) {
				s->ok = 0;
				continue;
			}
			std::string_view sv;
			if ((e = v.get_string().get(sv))) goto fail;
			set(*s, sv);
		}
		/* nothing may follow the object */
		const char *loc;
		error_code le = doc.current_location().get(loc);
		if (le != OUT_OF_BOUNDS) {
			e = TRAILING_CONTENT;
			goto fail;
		}
		return 0;
	} catch (const std::exception &x) {
		*err = "exception";
		return -1;
	} catch (...) {
		*err = "exception";
		return -1;
	}
fail:
	*err = error_message(e);
	return -1;
}

int sj_dom(sj_parser *p, const char *buf, size_t len, size_t cap,
	   sj_fields *f, const char **err)
{
	std::memset(f, 0, sizeof *f);
	error_code e = SUCCESS;
	(void)cap; /* realloc_if_needed=false: the caller promises the padding */
	try {
		dom::element root;
		if ((e = p->dm.parse(buf, len, false).get(root))) goto fail;
		dom::object obj;
		if ((e = root.get_object().get(obj))) goto fail;
		for (dom::key_value_pair kv : obj) {
			sj_str *s = slot_for(f, kv.key);
			if (!s) continue;
			std::string_view sv;
			if (kv.value.get_string().get(sv)) { s->ok = 0; continue; }
			set(*s, sv);
		}
		return 0;
	} catch (...) {
		*err = "exception";
		return -1;
	}
fail:
	*err = error_message(e);
	return -1;
}

static inline std::string_view rtrim(std::string_view v)
{
	while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n' || v.back() == '\r'))
		v.remove_suffix(1);
	return v;
}

int sj_ondemand_spans(sj_parser *p, const char *buf, size_t len, size_t cap, int validate,
		      sj_fields *f, const sj_span **spans, size_t *nspans, const char **err)
{
	std::memset(f, 0, sizeof *f);
	*spans = nullptr;
	*nspans = 0;
	error_code e = SUCCESS;
	try {
		p->spans.clear();
		if (validate) {
			dom::element root;
			if ((e = p->dm.parse(buf, len, false).get(root))) goto fail;
		}
		ondemand::document doc;
		if ((e = p->od.iterate(buf, len, cap).get(doc))) goto fail;
		ondemand::object obj;
		if ((e = doc.get_object().get(obj))) goto fail;
		for (auto res : obj) {
			ondemand::field fld;
			if ((e = std::move(res).get(fld))) goto fail;
			/* the raw key: scan to its closing quote */
			const char *k = reinterpret_cast<const char *>(fld.key().raw());
			size_t kl = 0;
			bool kesc = false;
			while (k[kl] != '"') {
				if (k[kl] == '\\') { kesc = true; kl++; }
				kl++;
			}
			std::string_view key(k, kl);
			if (kesc && (e = fld.unescaped_key().get(key))) goto fail;
			sj_str *s = slot_for(f, key);
			ondemand::value v = fld.value();
			ondemand::json_type t;
			if ((e = v.type().get(t))) goto fail;
			std::string_view raw;
			if (t == ondemand::json_type::object) {
				ondemand::object o;
				if ((e = v.get_object().get(o)) || (e = o.raw_json().get(raw))) goto fail;
			} else if (t == ondemand::json_type::array) {
				ondemand::array a;
				if ((e = v.get_array().get(a)) || (e = a.raw_json().get(raw))) goto fail;
			} else {
				raw = v.raw_json_token();
			}
			raw = rtrim(raw);
			p->spans.push_back(sj_span{ (size_t)(k - buf), kl, (size_t)(raw.data() - buf),
						    raw.size() });
			if (!s) continue;
			if (t != ondemand::json_type::string) {
				s->ok = 0;
				continue;
			}
			std::string_view sv;
			if ((e = v.get_string().get(sv))) goto fail;
			set(*s, sv);
		}
		const char *loc;
		error_code le = doc.current_location().get(loc);
		if (le != OUT_OF_BOUNDS) {
			e = TRAILING_CONTENT;
			goto fail;
		}
		*spans = p->spans.data();
		*nspans = p->spans.size();
		return 0;
	} catch (...) {
		*err = "exception";
		return -1;
	}
fail:
	*err = error_message(e);
	return -1;
}

} /* extern "C" */
