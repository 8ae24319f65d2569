/* test_export.c - train/export: safetensors written and read back, the
 * written header parsed here by a JSON reader of our own (length, padding,
 * contiguous offsets), damaged and foreign files refused with their name;
 * a model exported and imported unchanged under Llama's names, and the
 * imports that must fail. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../../train/export.h"
#include "testutil.h"

/* ---- a small JSON reader, independent of the library's ---- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
	int type;
	int b;
	double d;
	int is_int;         /* a number without fraction or exponent */
	long long i;
	char *s;            /* J_STR: decoded */
	size_t slen;
	char *key;          /* a member of an object */
	struct jv *kid;
	size_t n;
} jv;

typedef struct jp {
	const char *p, *end;
} jp;

static void j_ws(jp *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')) x->p++;
}

static int j_lit(jp *x, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(x->end - x->p) < n || memcmp(x->p, w, n)) return -1;
	x->p += n;
	return 0;
}

/* a string into a malloc'ed buffer; \u escapes of the BMP only */
static int j_str(jp *x, char **out, size_t *len)
{
	if (x->p >= x->end || *x->p != '"') return -1;
	x->p++;
	size_t cap = 16, n = 0;
	char *b = malloc(cap);
	while (x->p < x->end && *x->p != '"') {
		if (n + 4 >= cap) b = realloc(b, cap *= 2);
		unsigned char c = (unsigned char)*x->p++;
		if (c < 0x20) goto bad;
		if (c != '\\') {
			b[n++] = (char)c;
			continue;
		}
		if (x->p >= x->end) goto bad;
		c = (unsigned char)*x->p++;
		const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *k = strchr(from, c);
		if (c && k) {
			b[n++] = to[k - from];
		} else if (c == 'u' && x->end - x->p >= 4) {
			char hex[5] = { x->p[0], x->p[1], x->p[2], x->p[3], 0 };
			char *e;
			unsigned long u = strtoul(hex, &e, 16);
			if (e != hex + 4 || (u >= 0xD800 && u < 0xE000)) goto bad;
			x->p += 4;
			if (u < 0x80) b[n++] = (char)u;
			else if (u < 0x800) {
				b[n++] = (char)(0xC0 | u >> 6);
				b[n++] = (char)(0x80 | (u & 0x3F));
			} else {
				b[n++] = (char)(0xE0 | u >> 12);
				b[n++] = (char)(0x80 | ((u >> 6) & 0x3F));
				b[n++] = (char)(0x80 | (u & 0x3F));
			}
		} else {
			goto bad;
		}
	}
	if (x->p >= x->end) goto bad;
	x->p++;
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
bad:
	free(b);
	return -1;
}

static int j_value(jp *x, jv *v, int depth)
{
	memset(v, 0, sizeof *v);
	j_ws(x);
	if (x->p >= x->end || depth > 32) return -1;
	char c = *x->p;
	if (c == '{' || c == '[') {
		v->type = c == '{' ? J_OBJ : J_ARR;
		x->p++;
		j_ws(x);
		if (x->p < x->end && *x->p == (c == '{' ? '}' : ']')) {
			x->p++;
			return 0;
		}
		for (;;) {
			v->kid = realloc(v->kid, (v->n + 1) * sizeof *v->kid);
			jv *k = &v->kid[v->n];
			memset(k, 0, sizeof *k);
			char *key = NULL;
			size_t kl;
			if (v->type == J_OBJ) {
				j_ws(x);
				if (j_str(x, &key, &kl)) return -1;
				j_ws(x);
				if (x->p >= x->end || *x->p++ != ':') {
					free(key);
					return -1;
				}
			}
			int rc = j_value(x, k, depth + 1);
			k->key = key;
			v->n++;
			if (rc) return -1;
			j_ws(x);
			if (x->p >= x->end) return -1;
			char d = *x->p++;
			if (d == ',') continue;
			if (d == (c == '{' ? '}' : ']')) return 0;
			return -1;
		}
	}
	if (c == '"') {
		v->type = J_STR;
		return j_str(x, &v->s, &v->slen);
	}
	if (!j_lit(x, "true")) {
		v->type = J_BOOL;
		v->b = 1;
		return 0;
	}
	if (!j_lit(x, "false")) {
		v->type = J_BOOL;
		return 0;
	}
	if (!j_lit(x, "null")) return 0;
	/* a number by JSON's grammar */
	const char *s = x->p;
	if (x->p < x->end && *x->p == '-') x->p++;
	if (x->p >= x->end || *x->p < '0' || *x->p > '9') return -1;
	if (*x->p == '0') x->p++;
	else
		while (x->p < x->end && *x->p >= '0' && *x->p <= '9') x->p++;
	int frac = 0;
	if (x->p < x->end && *x->p == '.') {
		frac = 1;
		x->p++;
		if (x->p >= x->end || *x->p < '0' || *x->p > '9') return -1;
		while (x->p < x->end && *x->p >= '0' && *x->p <= '9') x->p++;
	}
	if (x->p < x->end && (*x->p == 'e' || *x->p == 'E')) {
		frac = 1;
		x->p++;
		if (x->p < x->end && (*x->p == '+' || *x->p == '-')) x->p++;
		if (x->p >= x->end || *x->p < '0' || *x->p > '9') return -1;
		while (x->p < x->end && *x->p >= '0' && *x->p <= '9') x->p++;
	}
	char num[64];
	size_t n = (size_t)(x->p - s);
	if (n >= sizeof num) return -1;
	memcpy(num, s, n);
	num[n] = 0;
	v->type = J_NUM;
	v->d = strtod(num, NULL);
	if (!frac) {
		errno = 0;
		v->i = strtoll(num, NULL, 10);
		v->is_int = errno == 0;
	}
	return 0;
}

static void j_free(jv *v)
{
	for (size_t i = 0; i < v->n; i++) j_free(&v->kid[i]);
	free(v->kid);
	free(v->s);
	free(v->key);
}

/* The whole text as one value, nothing after it but white space. */
static int j_parse(const char *s, size_t n, jv *v)
{
	jp x = { s, s + n };
	if (j_value(&x, v, 0)) {
		j_free(v);
		return -1;
	}
	j_ws(&x);
	if (x.p != x.end) {
		j_free(v);
		return -1;
	}
	return 0;
}

static const jv *j_get(const jv *o, const char *key)
{
	if (o->type != J_OBJ) return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->kid[i].key, key)) return &o->kid[i];
	return NULL;
}

static long long j_int(const jv *o, const char *key)
{
	const jv *x = j_get(o, key);
	cr_assert(x && x->type == J_NUM && x->is_int, "%s is not an integer", key);
	return x->i;
}

static const char *j_string(const jv *o, const char *key)
{
	const jv *x = j_get(o, key);
	cr_assert(x && x->type == J_STR, "%s is not a string", key);
	return x->s;
}

/* ---- files ---- */

static uint64_t le64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
	return v;
}

/* A safetensors file from its parts: the length given (or the header's
 * own when UINT64_MAX), the header, spaces up to a multiple of 8, data. */
static void write_st(const char *path, uint64_t hlen, const char *json, const void *data, size_t dlen)
{
	size_t jl = strlen(json), padded = (jl + 7) / 8 * 8;
	size_t n = 8 + padded + dlen;
	unsigned char *b = malloc(n);
	uint64_t h = hlen == UINT64_MAX ? padded : hlen;
	for (int i = 0; i < 8; i++) b[i] = (unsigned char)(h >> 8 * i);
	memcpy(b + 8, json, jl);
	memset(b + 8 + jl, ' ', padded - jl);
	if (dlen) memcpy(b + 8 + padded, data, dlen);
	cr_assert_eq(tu_write_file(path, b, n), 0);
	free(b);
}

static char *slurp(const char *path, size_t *n)
{
	char *b = tu_read_file(path, n);
	cr_assert(b, "cannot read %s", path);
	return b;
}

/* ---- safetensors ---- */

static size_t elems(const wn_st_tensor *t)
{
	size_t n = 1;
	for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
	return n;
}

Test(safetensors, round_trip_and_the_bytes)
{
	tu_mkdtemp();
	float a[15], scalar = 3.25f, four[12], none = 0;
	int32_t b[4] = { INT32_MIN, -1, 0, INT32_MAX }, c[8];
	for (int i = 0; i < 15; i++) a[i] = (float)i * 0.5f - 3;
	for (int i = 0; i < 12; i++) four[i] = -(float)i / 7;
	for (int i = 0; i < 8; i++) c[i] = i * 1000003;
	wn_st_tensor t[] = {
		{ "a.weight", WN_ST_F32, 2, { 3, 5 }, a },
		{ "b", WN_ST_I32, 1, { 4 }, b },
		{ "scalar", WN_ST_F32, 0, { 0 }, &scalar },
		{ "empty", WN_ST_F32, 1, { 0 }, &none },
		{ "four.d", WN_ST_F32, 4, { 2, 1, 3, 2 }, four },
		{ "c \"quoted\" \\ \xC3\xBC", WN_ST_I32, 3, { 2, 2, 2 }, c },
	};
	size_t n = sizeof t / sizeof t[0];
	const char *path = tu_path("x.safetensors");
	char err[600] = "";
	cr_assert_eq(wn_st_write(path, t, n, "\"k\": \"v\", \"step\": \"12\"", err, sizeof err), 0, "%s", err);
	cr_assert_eq(tu_count_entries(tu_dir), 1, "a temporary was left");

	/* read back */
	wn_st_file f;
	cr_assert_eq(wn_st_read(path, &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.n, n);
	for (size_t i = 0; i < n; i++) {
		const wn_st_tensor *r = &f.t[i];
		cr_assert_str_eq(r->name, t[i].name);
		cr_assert_eq(r->dtype, t[i].dtype, "%s", r->name);
		cr_assert_eq(r->ndim, t[i].ndim, "%s", r->name);
		for (int d = 0; d < r->ndim; d++) cr_assert_eq(r->shape[d], t[i].shape[d]);
		cr_assert(!memcmp(r->data, t[i].data, elems(&t[i]) * 4), "%s: data", r->name);
		cr_assert_eq((uintptr_t)r->data % 4, 0, "%s: data not aligned for its type", r->name);
		cr_assert_eq(wn_st_find(&f, t[i].name), r);
	}
	cr_assert_null(wn_st_find(&f, "__metadata__"));
	cr_assert_null(wn_st_find(&f, "a"));
	wn_st_release(&f);
	cr_assert_null(f.t);
	wn_st_release(NULL);

	/* the bytes, by the format */
	size_t size;
	unsigned char *raw = (unsigned char *)slurp(path, &size);
	uint64_t N = le64(raw);
	cr_assert_eq(N % 8, 0, "header of %llu bytes: not padded to 8", (unsigned long long)N);
	cr_assert_leq(8 + N, size);
	size_t jl = N;
	while (jl && raw[8 + jl - 1] == ' ') jl--;
	cr_assert_lt(N - jl, 8, "more padding than needed");
	cr_assert_eq(raw[8 + jl - 1], '}');
	jv h;
	cr_assert_eq(j_parse((const char *)raw + 8, N, &h), 0, "the header is not JSON");
	cr_assert_eq(h.type, J_OBJ);
	cr_assert_eq(h.n, n + 1);
	const jv *meta = j_get(&h, "__metadata__");
	cr_assert(meta && meta->type == J_OBJ);
	cr_assert_str_eq(j_string(meta, "format"), "pt");
	cr_assert_str_eq(j_string(meta, "k"), "v");
	cr_assert_str_eq(j_string(meta, "step"), "12");
	/* data_offsets: in order, contiguous from 0 to the end of the file */
	uint64_t at = 0;
	for (size_t i = 0; i < n; i++) {
		const jv *e = j_get(&h, t[i].name);
		cr_assert(e && e->type == J_OBJ, "no entry %s", t[i].name);
		cr_assert_str_eq(j_string(e, "dtype"), t[i].dtype == WN_ST_F32 ? "F32" : "I32");
		const jv *sh = j_get(e, "shape"), *of = j_get(e, "data_offsets");
		cr_assert(sh && sh->type == J_ARR && sh->n == (size_t)t[i].ndim);
		for (size_t d = 0; d < sh->n; d++) cr_assert(sh->kid[d].is_int && sh->kid[d].i == (long long)t[i].shape[d]);
		cr_assert(of && of->type == J_ARR && of->n == 2 && of->kid[0].is_int && of->kid[1].is_int);
		cr_assert_eq((uint64_t)of->kid[0].i, at, "%s starts at %lld, expected %llu", t[i].name, of->kid[0].i,
			     (unsigned long long)at);
		uint64_t bytes = elems(&t[i]) * 4;
		cr_assert_eq((uint64_t)of->kid[1].i, at + bytes);
		cr_assert(!memcmp(raw + 8 + N + at, t[i].data, bytes), "%s: bytes", t[i].name);
		at += bytes;
	}
	cr_assert_eq(8 + N + at, size, "data does not end the file");
	j_free(&h);
	free(raw);

	/* no tensors at all */
	cr_assert_eq(wn_st_write(path, t, 0, NULL, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wn_st_read(path, &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.n, 0);
	wn_st_release(&f);
	raw = (unsigned char *)slurp(path, &size);
	cr_assert_eq(size, 8 + le64(raw));
	cr_assert_eq(le64(raw) % 8, 0);
	free(raw);
	tu_rmdir();
}

static void expect_st_refused(const char *path, int code, const char *words)
{
	wn_st_file f;
	char err[600] = "";
	int rc = wn_st_read(path, &f, err, sizeof err);
	cr_assert_eq(rc, code, "read gave %d (expected '%s'): %s", rc, words, err);
	cr_assert(strstr(err, words), "message '%s' lacks '%s'", err, words);
	cr_assert(strstr(err, path), "message '%s' does not name %s", err, path);
	cr_assert(!f.t && !f.n && !f.mem_);
}

/* one tensor entry around 16 bytes of data */
static void one(const char *path, const char *entry)
{
	static const unsigned char data[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	char json[1024];
	snprintf(json, sizeof json, "{\"__metadata__\":{\"format\":\"pt\"},\"x\":%s}", entry);
	write_st(path, UINT64_MAX, json, data, sizeof data);
}

Test(safetensors, damaged_and_foreign_files_refused)
{
	tu_mkdtemp();
	const char *p = tu_path("bad.safetensors");
	const char *outside = "data_offsets do not match its shape or lie outside the file";
	const unsigned char data[16] = { 0 };

	/* the file's own layout */
	cr_assert_eq(tu_write_file(p, "abc", 3), 0);
	expect_st_refused(p, WN_ECORRUPT, "bad header length");
	write_st(p, 8 + 16 + 1, "{}", data, 16);          /* one byte past the file */
	expect_st_refused(p, WN_ECORRUPT, "bad header length");
	write_st(p, UINT64_C(1) << 63, "{}", data, 16);
	expect_st_refused(p, WN_ECORRUPT, "bad header length");
	write_st(p, UINT64_MAX - 3, "{}", data, 16);
	expect_st_refused(p, WN_ECORRUPT, "bad header length");
	write_st(p, UINT64_MAX, "{\"x\": ", data, 16);
	expect_st_refused(p, WN_ECORRUPT, "");
	write_st(p, UINT64_MAX, "[1, 2]", data, 16);
	expect_st_refused(p, WN_ECORRUPT, "not a JSON object");

	/* a good one first, to know the helper writes what reads */
	one(p, "{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}");
	wn_st_file f;
	char err[600];
	cr_assert_eq(wn_st_read(p, &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.n, 1);
	wn_st_release(&f);

	/* offsets past the data, backwards, negative */
	one(p, "{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,20]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[17,17]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-4,4]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}");
	expect_st_refused(p, WN_ECORRUPT, "lacks");
	/* shape against offsets */
	one(p, "{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,8]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	/* shapes whose byte count wraps around 2^64 */
	one(p, "{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[4294967296,1073741824],\"data_offsets\":[0,0]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"I32\",\"shape\":[4294967296,4294967296,1],\"data_offsets\":[0,0]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	one(p, "{\"dtype\":\"F32\",\"shape\":[4611686018427387905],\"data_offsets\":[0,4]}");
	expect_st_refused(p, WN_ECORRUPT, outside);
	/* while a zero anywhere makes any shape empty */
	one(p, "{\"dtype\":\"F32\",\"shape\":[4611686018427387904,0],\"data_offsets\":[16,16]}");
	cr_assert_eq(wn_st_read(p, &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.t[0].shape[0], UINT64_C(4611686018427387904));
	wn_st_release(&f);
	/* other types */
	const char *types[] = { "F16", "BF16", "F64", "I64", "U8", "f32", "" };
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		char e[200];
		snprintf(e, sizeof e, "{\"dtype\":\"%s\",\"shape\":[2],\"data_offsets\":[0,8]}", types[k]);
		one(p, e);
		expect_st_refused(p, WN_ECORRUPT, "only F32 and I32 tensors are read");
	}
	/* bad shapes and entries */
	one(p, "{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}");
	expect_st_refused(p, WN_ECORRUPT, "bad shape");
	one(p, "{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}");
	expect_st_refused(p, WN_ECORRUPT, "bad shape");
	one(p, "{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}");
	expect_st_refused(p, WN_ECORRUPT, "bad shape");
	one(p, "{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}");
	expect_st_refused(p, WN_ECORRUPT, "more than 4 dimensions");
	one(p, "{\"shape\":[1],\"data_offsets\":[0,4]}");
	expect_st_refused(p, WN_ECORRUPT, "lacks dtype");
	one(p, "{\"dtype\":\"F32\",\"data_offsets\":[0,4]}");
	expect_st_refused(p, WN_ECORRUPT, "lacks dtype");
	one(p, "[1, 2]");
	expect_st_refused(p, WN_ECORRUPT, "lacks dtype");
	char longname[400];
	memset(longname, 'n', 300);
	snprintf(longname + 300, 100, "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
	char json[600];
	snprintf(json, sizeof json, "{\"%s", longname);
	write_st(p, UINT64_MAX, json, data, 16);
	expect_st_refused(p, WN_ECORRUPT, "lacks dtype");

	/* and a missing file */
	expect_st_refused(tu_path("none.safetensors"), WN_EIO, "No such file");
	tu_rmdir();
}

/* ---- the model ---- */

#define V 37
#define C 16
#define L 2
#define H 4
#define KV 2
#define F 24
#define T 16

static wn_model *tiny(float theta, float eps, uint64_t seed)
{
	wn_model_config c = { .vocab_size = V, .dim = C, .n_layers = L, .n_heads = H, .n_kv_heads = KV,
			      .hidden_dim = F, .max_seq_len = T, .rope_theta = theta, .norm_eps = eps };
	char err[256];
	wn_model *m = wn_model_new(&c, err, sizeof err);
	cr_assert(m, "%s", err);
	wn_model_init(m, seed);
	/* norms away from 1, so that a swap of two of them would show */
	float *p = wn_model_params(m);
	const wn_model_tensor *t = wn_model_tensors(m);
	for (int i = 0; i < WN_T_COUNT; i++)
		if (t[i].is_norm)
			for (size_t j = 0; j < t[i].size; j++) p[t[i].offset + j] = 1.0f + 0.01f * (float)(j % 13) + 0.1f * i;
	return m;
}

/* Llama's names and one layer's shapes, written out from export.h */
typedef struct hfname {
	int which;      /* WN_T_* */
	const char *fmt;
	size_t rows, cols;
} hfname;

static const hfname llama[] = {
	{ WN_T_ATTN_NORM, "model.layers.%d.input_layernorm.weight", C, 0 },
	{ WN_T_WQ, "model.layers.%d.self_attn.q_proj.weight", C, C },
	{ WN_T_WK, "model.layers.%d.self_attn.k_proj.weight", KV * (C / H), C },
	{ WN_T_WV, "model.layers.%d.self_attn.v_proj.weight", KV * (C / H), C },
	{ WN_T_WO, "model.layers.%d.self_attn.o_proj.weight", C, C },
	{ WN_T_MLP_NORM, "model.layers.%d.post_attention_layernorm.weight", C, 0 },
	{ WN_T_WGATE, "model.layers.%d.mlp.gate_proj.weight", F, C },
	{ WN_T_WUP, "model.layers.%d.mlp.up_proj.weight", F, C },
	{ WN_T_WDOWN, "model.layers.%d.mlp.down_proj.weight", C, F },
};

static void expect_tensor(const wn_st_file *f, const char *name, size_t rows, size_t cols, const float *want)
{
	const wn_st_tensor *t = wn_st_find(f, name);
	cr_assert(t, "no tensor %s", name);
	cr_assert_eq(t->dtype, WN_ST_F32);
	cr_assert_eq(t->ndim, cols ? 2 : 1, "%s", name);
	cr_assert_eq(t->shape[0], rows, "%s", name);
	if (cols) cr_assert_eq(t->shape[1], cols, "%s", name);
	cr_assert(!memcmp(t->data, want, rows * (cols ? cols : 1) * 4), "%s: values", name);
}

static char *dir_file(const char *dir, const char *name)
{
	static char b[4][700];
	static int k;
	char *o = b[k++ & 3];
	snprintf(o, sizeof b[0], "%s/%s", dir, name);
	return o;
}

static void export_ok(const char *dir, wn_model *m, const char *tokenizer)
{
	char err[600] = "";
	cr_assert_eq(wn_export(dir, m, 3, 5, tokenizer, err, sizeof err), 0, "%s", err);
}

Test(export, model_round_trip)
{
	tu_mkdtemp();
	wn_model *m = tiny(10000.0f, 1e-5f, 21);
	const char *dir = tu_path("out/nested");
	const char *tk = "vocab=gpt2.json \"pattern\"=gpt2\\x";
	export_ok(dir, m, tk);
	cr_assert_eq(tu_count_entries(dir), 2, "model.safetensors and config.json only");

	/* the tensors under Llama's names, in its order, holding the values */
	wn_st_file f;
	char err[600];
	cr_assert_eq(wn_st_read(dir_file(dir, "model.safetensors"), &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.n, 3 + 9 * L);
	cr_assert_eq(wn_export_count(m), f.n);
	const float *p = wn_model_params(m);
	const wn_model_tensor *mt = wn_model_tensors(m);
	expect_tensor(&f, "model.embed_tokens.weight", V, C, p + mt[WN_T_EMBED].offset);
	cr_assert_str_eq(f.t[0].name, "model.embed_tokens.weight");
	for (int l = 0; l < L; l++)
		for (size_t k = 0; k < sizeof llama / sizeof llama[0]; k++) {
			char name[160];
			snprintf(name, sizeof name, llama[k].fmt, l);
			size_t one = llama[k].rows * (llama[k].cols ? llama[k].cols : 1);
			expect_tensor(&f, name, llama[k].rows, llama[k].cols, p + mt[llama[k].which].offset + (size_t)l * one);
			cr_assert_str_eq(f.t[1 + (size_t)l * 9 + k].name, name, "order");
		}
	expect_tensor(&f, "model.norm.weight", C, 0, p + mt[WN_T_FINAL_NORM].offset);
	expect_tensor(&f, "lm_head.weight", V, C, p + mt[WN_T_HEAD].offset);
	cr_assert_str_eq(f.t[f.n - 1].name, "lm_head.weight");
	wn_st_release(&f);
	/* the tokenizer in the metadata */
	size_t size;
	char *raw = slurp(dir_file(dir, "model.safetensors"), &size);
	jv h;
	cr_assert_eq(j_parse(raw + 8, le64((unsigned char *)raw), &h), 0);
	cr_assert_str_eq(j_string(j_get(&h, "__metadata__"), "winnow_tokenizer"), tk);
	j_free(&h);
	free(raw);

	/* config.json as Hugging Face reads it */
	char *cj = slurp(dir_file(dir, "config.json"), &size);
	jv c;
	cr_assert_eq(j_parse(cj, size, &c), 0, "config.json is not JSON:\n%s", cj);
	cr_assert_str_eq(j_string(&c, "model_type"), "llama");
	const jv *arch = j_get(&c, "architectures");
	cr_assert(arch && arch->n == 1 && !strcmp(arch->kid[0].s, "LlamaForCausalLM"));
	cr_assert_eq(j_int(&c, "vocab_size"), V);
	cr_assert_eq(j_int(&c, "hidden_size"), C);
	cr_assert_eq(j_int(&c, "intermediate_size"), F);
	cr_assert_eq(j_int(&c, "num_hidden_layers"), L);
	cr_assert_eq(j_int(&c, "num_attention_heads"), H);
	cr_assert_eq(j_int(&c, "num_key_value_heads"), KV);
	cr_assert_eq(j_int(&c, "head_dim"), C / H);
	cr_assert_eq(j_int(&c, "max_position_embeddings"), T);
	cr_assert_eq(j_int(&c, "bos_token_id"), 3);
	cr_assert_eq(j_int(&c, "eos_token_id"), 5);
	cr_assert((float)j_get(&c, "rms_norm_eps")->d == 1e-5f);
	cr_assert((float)j_get(&c, "rope_theta")->d == 10000.0f);
	cr_assert_str_eq(j_string(&c, "hidden_act"), "silu");
	cr_assert_str_eq(j_string(&c, "torch_dtype"), "float32");
	const jv *tie = j_get(&c, "tie_word_embeddings");
	cr_assert(tie && tie->type == J_BOOL && !tie->b);
	j_free(&c);
	free(cj);

	/* and back */
	uint32_t eos = 0;
	wn_model *b = wn_import(dir, &eos, err, sizeof err);
	cr_assert(b, "%s", err);
	cr_assert_eq(eos, 5);
	cr_assert(!memcmp(wn_model_cfg(b), wn_model_cfg(m), sizeof(wn_model_config)), "config differs");
	cr_assert_eq(wn_model_num_params(b), wn_model_num_params(m));
	cr_assert(!memcmp(wn_model_params(b), p, wn_model_num_params(m) * 4), "parameters differ");
	wn_model_free(b);
	wn_model_free(m);
	tu_rmdir();
}

Test(export, any_float_in_the_config_round_trips)
{
	/* values that seven significant digits do not pin down */
	tu_mkdtemp();
	float thetas[] = { 12345.679f, 500000.0f, 1234567.9f, 10000.001f };
	float epss[] = { 1.2345678e-5f, 1e-6f, 0.100000001f, 3.3333333e-7f };
	for (int k = 0; k < 4; k++) {
		wn_model *m = tiny(thetas[k], epss[k], 3);
		char name[16];
		snprintf(name, sizeof name, "f%d", k);
		export_ok(tu_path(name), m, NULL);
		char err[600];
		wn_model *b = wn_import(tu_path(name), NULL, err, sizeof err);
		cr_assert(b, "%s", err);
		const wn_model_config *x = wn_model_cfg(m), *y = wn_model_cfg(b);
		cr_assert(x->rope_theta == y->rope_theta, "rope_theta %.9g came back as %.9g", (double)x->rope_theta,
			  (double)y->rope_theta);
		cr_assert(x->norm_eps == y->norm_eps, "norm_eps %.9g came back as %.9g", (double)x->norm_eps,
			  (double)y->norm_eps);
		wn_model_free(b);
		wn_model_free(m);
	}
	/* the usual values keep their short spelling */
	wn_model *m = tiny(10000.0f, 1e-5f, 3);
	export_ok(tu_path("short"), m, NULL);
	size_t n;
	char *cj = slurp(dir_file(tu_path("short"), "config.json"), &n);
	cr_assert(strstr(cj, "\"rms_norm_eps\": 1e-05,") && strstr(cj, "\"rope_theta\": 10000,"), "%s", cj);
	free(cj);
	wn_model_free(m);
	tu_rmdir();
}

Test(export, config_extra_and_prefixed_tensors)
{
	tu_mkdtemp();
	wn_model *m = tiny(10000.0f, 1e-5f, 4);
	char err[600];
	const char *path = tu_path("config.json");
	cr_assert_eq(wn_export_config(path, m, 1, 2, "\"winnow\": {\"lr\": 0.001}", err, sizeof err), 0, "%s", err);
	size_t n;
	char *cj = slurp(path, &n);
	jv c;
	cr_assert_eq(j_parse(cj, n, &c), 0, "not JSON:\n%s", cj);
	const jv *w = j_get(&c, "winnow");
	cr_assert(w && w->type == J_OBJ && j_get(w, "lr")->d == 0.001);
	j_free(&c);
	free(cj);
	cr_assert_eq(tu_count_entries(tu_dir), 1, "a temporary was left");
	cr_assert_eq(wn_export_config("/nonexistent-dir/config.json", m, 1, 2, NULL, err, sizeof err), WN_EIO);
	cr_assert(strstr(err, "/nonexistent-dir/config.json"), "%s", err);

	/* the same views over another buffer, under a prefix */
	size_t k = wn_export_count(m);
	wn_st_tensor *t = calloc(k, sizeof *t);
	float *g = wn_model_grads(m);
	cr_assert_eq(wn_export_tensors(m, g, "grad.", t), k);
	cr_assert_str_eq(t[0].name, "grad.model.embed_tokens.weight");
	cr_assert_eq(t[0].data, g);
	cr_assert_str_eq(t[k - 1].name, "grad.lm_head.weight");
	cr_assert_eq(t[k - 1].data, g + wn_model_tensors(m)[WN_T_HEAD].offset);
	free(t);
	/* a directory where a file is */
	cr_assert_eq(tu_write_file(tu_path("file"), "x", 1), 0);
	cr_assert_neq(wn_export(tu_path("file/sub"), m, 0, 0, NULL, err, sizeof err), 0);
	cr_assert(strstr(err, "file"), "%s", err);
	wn_model_free(m);
	tu_rmdir();
}

/* ---- imports refused ---- */

static void replace_in(const char *path, const char *from, const char *to)
{
	size_t n;
	char *s = slurp(path, &n);
	char *at = strstr(s, from);
	cr_assert(at, "%s has no '%s'", path, from);
	size_t a = (size_t)(at - s), fl = strlen(from), tl = strlen(to);
	char *o = malloc(n - fl + tl + 1);
	memcpy(o, s, a);
	memcpy(o + a, to, tl);
	memcpy(o + a + tl, at + fl, n - a - fl);
	cr_assert_eq(tu_write_file(path, o, n - fl + tl), 0);
	free(o);
	free(s);
}

static void expect_import_refused(const char *dir, const char *file, const char *words)
{
	char err[800] = "";
	uint32_t eos = 77;
	wn_model *m = wn_import(dir, &eos, err, sizeof err);
	cr_assert_null(m, "imported (expected '%s')", words);
	cr_assert(strstr(err, words), "message '%s' lacks '%s'", err, words);
	cr_assert(strstr(err, dir_file(dir, file)), "message '%s' does not name %s", err, file);
}

/* a fresh export in DIR */
static const char *fresh(const char *name, wn_model *m)
{
	const char *dir = tu_path(name);
	export_ok(dir, m, NULL);
	return dir;
}

/* model.safetensors of m's tensors, one dropped, one replaced or one added */
static void write_tensors(const char *dir, wn_model *m, const char *drop, const wn_st_tensor *swap,
			  const wn_st_tensor *add)
{
	size_t n = wn_export_count(m);
	wn_st_tensor *t = calloc(n + 1, sizeof *t), *o = calloc(n + 1, sizeof *o);
	wn_export_tensors(m, wn_model_params(m), NULL, t);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (drop && !strcmp(t[i].name, drop)) continue;
		o[k++] = swap && !strcmp(t[i].name, swap->name) ? *swap : t[i];
	}
	if (add) o[k++] = *add;
	char err[600];
	cr_assert_eq(wn_st_write(dir_file(dir, "model.safetensors"), o, k, NULL, err, sizeof err), 0, "%s", err);
	free(t);
	free(o);
}

Test(import, refused_configs)
{
	tu_mkdtemp();
	wn_model *m = tiny(10000.0f, 1e-5f, 5);
	const char *cfg = "config.json";
	const char *d = fresh("tied", m);
	replace_in(dir_file(d, cfg), "\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
	expect_import_refused(d, cfg, "tied embeddings are not supported");

	d = fresh("mistral", m);
	replace_in(dir_file(d, cfg), "\"model_type\": \"llama\"", "\"model_type\": \"mistral\"");
	expect_import_refused(d, cfg, "model_type is not \"llama\"");

	d = fresh("nolayers", m);
	replace_in(dir_file(d, cfg), "\"num_hidden_layers\": 2,", "");
	expect_import_refused(d, cfg, "a size field is missing");

	d = fresh("negative", m);
	replace_in(dir_file(d, cfg), "\"vocab_size\": 37", "\"vocab_size\": -37");
	expect_import_refused(d, cfg, "a size field is missing or not a non-negative integer");

	d = fresh("scaling", m);
	replace_in(dir_file(d, cfg), "\"mlp_bias\": false", "\"mlp_bias\": false, \"rope_scaling\": {\"factor\": 8}");
	expect_import_refused(d, cfg, "rope_scaling is not supported");

	d = fresh("headdim", m);
	replace_in(dir_file(d, cfg), "\"head_dim\": 4", "\"head_dim\": 8");
	expect_import_refused(d, cfg, "head_dim other than");

	d = fresh("heads", m);
	replace_in(dir_file(d, cfg), "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3");
	expect_import_refused(d, cfg, "kv heads");

	d = fresh("notjson", m);
	replace_in(dir_file(d, cfg), "{", "[");
	expect_import_refused(d, cfg, "");

	d = fresh("noconfig", m);
	unlink(dir_file(d, cfg));
	expect_import_refused(d, cfg, "No such file");

	/* the config says other shapes than the tensors have */
	d = fresh("wider", m);
	replace_in(dir_file(d, cfg), "\"intermediate_size\": 24", "\"intermediate_size\": 32");
	expect_import_refused(d, "model.safetensors",
			      "tensor model.layers.0.mlp.gate_proj.weight is of another shape or type than config.json says");
	d = fresh("vocab", m);
	replace_in(dir_file(d, cfg), "\"vocab_size\": 37", "\"vocab_size\": 38");
	expect_import_refused(d, "model.safetensors", "tensor model.embed_tokens.weight is of another shape");
	wn_model_free(m);
	tu_rmdir();
}

Test(import, refused_weights)
{
	tu_mkdtemp();
	wn_model *m = tiny(10000.0f, 1e-5f, 6);
	const char *st = "model.safetensors";
	const char *d = fresh("missing", m);
	write_tensors(d, m, "model.layers.1.self_attn.k_proj.weight", NULL, NULL);
	expect_import_refused(d, st, "tensor model.layers.1.self_attn.k_proj.weight is missing");

	d = fresh("nohead", m);
	write_tensors(d, m, "lm_head.weight", NULL, NULL);
	expect_import_refused(d, st, "tensor lm_head.weight is missing");

	/* a matrix transposed: [C, F] where [F, C] belongs */
	static float buf[F * C];
	wn_st_tensor tr = { "model.layers.0.mlp.up_proj.weight", WN_ST_F32, 2, { C, F }, buf };
	d = fresh("transposed", m);
	write_tensors(d, m, NULL, &tr, NULL);
	expect_import_refused(d, st, "tensor model.layers.0.mlp.up_proj.weight is of another shape or type");

	/* a vector as a matrix, and integers where floats belong */
	wn_st_tensor mat = { "model.norm.weight", WN_ST_F32, 2, { C, 1 }, buf };
	d = fresh("matrix", m);
	write_tensors(d, m, NULL, &mat, NULL);
	expect_import_refused(d, st, "tensor model.norm.weight is of another shape or type");
	wn_st_tensor ints = { "model.layers.1.input_layernorm.weight", WN_ST_I32, 1, { C }, buf };
	d = fresh("ints", m);
	write_tensors(d, m, NULL, &ints, NULL);
	expect_import_refused(d, st, "tensor model.layers.1.input_layernorm.weight is of another shape or type");

	/* one tensor more than the config's model has */
	wn_st_tensor extra = { "model.layers.2.input_layernorm.weight", WN_ST_F32, 1, { C }, buf };
	d = fresh("extra", m);
	write_tensors(d, m, NULL, NULL, &extra);
	expect_import_refused(d, st, "22 tensors, a Llama model of this config has 21");

	/* the weights file damaged or gone */
	d = fresh("cut", m);
	size_t n;
	char *raw = slurp(dir_file(d, st), &n);
	cr_assert_eq(tu_write_file(dir_file(d, st), raw, n - 1), 0);
	free(raw);
	expect_import_refused(d, st, "lie outside the file");
	d = fresh("gone", m);
	unlink(dir_file(d, st));
	expect_import_refused(d, st, "No such file");

	/* untouched, the same files import */
	d = fresh("good", m);
	char err[600];
	wn_model *b = wn_import(d, NULL, err, sizeof err);
	cr_assert(b, "%s", err);
	wn_model_free(b);
	wn_model_free(m);
	tu_rmdir();
}
