/*
 * jtree.cpp - simdjson's DOM parser behind jtree.h.
 *
 * Two passes over simdjson's tree: the first counts nodes and string
 * bytes, the second copies, reserving each container's children as one
 * block before descending into them.
 */
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "jtree.h"

using namespace simdjson;

namespace {

struct counter {
	size_t nodes = 0, bytes = 0;
	void visit(dom::element e)
	{
		switch (e.type()) {
		case dom::element_type::ARRAY:
			for (dom::element c : dom::array(e)) {
				nodes++;
				visit(c);
			}
			break;
		case dom::element_type::OBJECT:
			for (dom::key_value_pair kv : dom::object(e)) {
				nodes++;
				bytes += kv.key.size() + 1;
				visit(kv.value);
			}
			break;
		case dom::element_type::STRING:
			bytes += std::string_view(e).size() + 1;
			break;
		default:
			break;
		}
	}
};

struct builder {
	wn_jtree *t;
	size_t next = 1, sp = 0;

	const char *str(std::string_view v)
	{
		char *p = t->strings + sp;
		memcpy(p, v.data(), v.size());
		p[v.size()] = 0;
		sp += v.size() + 1;
		return p;
	}

	void fill(wn_jnode *x, dom::element e)
	{
		switch (e.type()) {
		case dom::element_type::NULL_VALUE:
			x->type = WN_JT_NULL;
			break;
		case dom::element_type::BOOL:
			x->type = WN_JT_BOOL;
			x->b = bool(e);
			break;
		case dom::element_type::INT64:
			x->type = WN_JT_NUM;
			x->is_int = 1;
			x->i = int64_t(e);
			x->d = double(x->i);
			break;
		case dom::element_type::UINT64:
			x->type = WN_JT_NUM;
			x->d = double(uint64_t(e));
			break;
		case dom::element_type::DOUBLE:
			x->type = WN_JT_NUM;
			x->d = double(e);
			break;
		case dom::element_type::STRING: {
			std::string_view v(e);
			x->type = WN_JT_STR;
			x->s = str(v);
			x->slen = v.size();
			break;
		}
		case dom::element_type::ARRAY: {
			dom::array a(e);
			x->type = WN_JT_ARR;
			x->first = next;
			x->count = a.size();
			next += x->count;
			size_t c = 0;
			for (dom::element v : a) fill(&t->n[x->first + c++], v);
			break;
		}
		case dom::element_type::OBJECT: {
			dom::object o(e);
			x->type = WN_JT_OBJ;
			x->first = next;
			x->count = o.size();
			next += x->count;
			size_t c = 0;
			for (dom::key_value_pair kv : o) {
				wn_jnode *m = &t->n[x->first + c++];
				m->key = str(kv.key);
				m->klen = kv.key.size();
				fill(m, kv.value);
			}
			break;
		}
		}
	}
};

} // namespace

extern "C" int wn_jtree_parse(wn_jtree *t, const char *buf, size_t len, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	try {
		dom::parser parser;
		dom::element root;
		auto r = parser.parse(buf, len, true).get(root);
		if (r) {
			snprintf(err, errlen, "not valid JSON (%s)", error_message(r));
			return -1;
		}
		counter k;
		k.visit(root);
		t->nn = k.nodes + 1;
		t->n = static_cast<wn_jnode *>(calloc(t->nn, sizeof *t->n));
		t->strings = static_cast<char *>(malloc(k.bytes + 1));
		if (!t->n || !t->strings) {
			wn_jtree_free(t);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		builder b{ t };
		b.fill(&t->n[0], root);
		return 0;
	} catch (const std::exception &ex) {
		wn_jtree_free(t);
		snprintf(err, errlen, "JSON parser failed: %s", ex.what());
		return -1;
	}
}

extern "C" void wn_jtree_free(wn_jtree *t)
{
	free(t->n);
	free(t->strings);
	t->n = nullptr;
	t->strings = nullptr;
	t->nn = 0;
}

extern "C" const wn_jnode *wn_jtree_get(const wn_jtree *t, const wn_jnode *o, const char *key)
{
	if (!o || o->type != WN_JT_OBJ) return nullptr;
	size_t kl = strlen(key);
	for (size_t c = 0; c < o->count; c++) {
		const wn_jnode *m = &t->n[o->first + c];
		if (m->klen == kl && !memcmp(m->key, key, kl)) return m;
	}
	return nullptr;
}

extern "C" int wn_jtree_str_is(const wn_jnode *x, const char *s)
{
	return x && x->type == WN_JT_STR && x->slen == strlen(s) && !memcmp(x->s, s, x->slen);
}
