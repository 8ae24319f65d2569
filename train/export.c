/*
 * export.c - safetensors and Llama config.json, both ways (see export.h).
 */
#include "export.h"
#include "../lib/bfile.h"
#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/jtree.h"
#include "../lib/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dtype_name(int d) { return d == WN_ST_I32 ? "I32" : "F32"; }

static size_t elems(const wn_st_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
	return n;
}

/* A shape's bytes as 4-byte elements; SIZE_MAX when that does not fit
 * (a file's shape can be anything). */
static size_t st_bytes(const wn_st_tensor *t)
{
	for (int i = 0; i < t->ndim; i++)
		if (!t->shape[i]) return 0;
	size_t n = 4;
	for (int i = 0; i < t->ndim; i++) {
		if (n > SIZE_MAX / t->shape[i]) return SIZE_MAX;
		n *= t->shape[i];
	}
	return n;
}

int wn_st_write(const char *path, const wn_st_tensor *t, size_t n, const char *meta, char *err, size_t errlen)
{
	wn_buf h;
	wn_buf_init(&h, 0);
	wn_buf_adds(&h, "{\"__metadata__\":{\"format\":\"pt\"");
	if (meta && *meta) {
		wn_buf_adds(&h, ",");
		wn_buf_adds(&h, meta);
	}
	wn_buf_adds(&h, "}");
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t bytes = elems(&t[i]) * 4;
		wn_buf_adds(&h, ",");
		wn_json_escape(&h, t[i].name, strlen(t[i].name));
		wn_buf_addf(&h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(t[i].dtype));
		for (int d = 0; d < t[i].ndim; d++) wn_buf_addf(&h, "%s%zu", d ? "," : "", t[i].shape[d]);
		wn_buf_addf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
			    (unsigned long long)(off + bytes));
		off += bytes;
	}
	wn_buf_adds(&h, "}");
	while (h.len % 8) wn_buf_adds(&h, " ");
	unsigned char len8[8];
	uint64_t hl = h.len;
	memcpy(len8, &hl, 8);

	wn_bfile o;
	wn_bfile_init(&o);
	int rc = wn_bfile_create(&o, path, 0);
	if (!rc) rc = wn_bfile_put(&o, len8, 8);
	if (!rc) rc = wn_bfile_put(&o, h.data, h.len);
	for (size_t i = 0; i < n && !rc; i++) rc = wn_bfile_put(&o, t[i].data, elems(&t[i]) * 4);
	if (!rc) rc = wn_bfile_sync(&o);
	if (!rc) rc = wn_bfile_rename(&o);
	if (rc) wn_bfile_msg(&o, err, errlen);
	wn_bfile_discard(&o);
	wn_buf_release(&h);
	return rc ? WN_EIO : 0;
}

static int slurp(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	wn_buf b;
	wn_buf_init(&b, 0);
	if (wn_buf_read_file(&b, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		wn_buf_release(&b);
		return WN_EIO;
	}
	*out = wn_buf_detach(&b, len);
	return 0;
}

int wn_st_read(const char *path, wn_st_file *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	char *buf;
	size_t size;
	int rc = slurp(path, &buf, &size, err, errlen);
	if (rc) return rc;
	uint64_t hl;
	wn_jtree j = { 0 };
	const char *why = NULL;
	char jerr[256];
	if (size < 8 || (memcpy(&hl, buf, 8), hl > size - 8)) {
		why = "not a safetensors file (bad header length)";
		goto fail;
	}
	if (wn_jtree_parse(&j, buf + 8, (size_t)hl, jerr, sizeof jerr)) {
		why = jerr;
		goto fail;
	}
	const wn_jnode *root = &j.n[0];
	if (root->type != WN_JT_OBJ) {
		why = "header is not a JSON object";
		goto fail;
	}
	f->t = calloc(root->count ? root->count : 1, sizeof *f->t);
	const char *data = buf + 8 + hl;
	size_t dlen = size - 8 - (size_t)hl;
	for (size_t i = 0; i < root->count; i++) {
		const wn_jnode *e = wn_jtree_child(&j, root, i);
		if (e->klen == 12 && !memcmp(e->key, "__metadata__", 12)) continue;
		wn_st_tensor *t = &f->t[f->n];
		const wn_jnode *dt = wn_jtree_get(&j, e, "dtype"), *sh = wn_jtree_get(&j, e, "shape");
		const wn_jnode *of = wn_jtree_get(&j, e, "data_offsets");
		if (!dt || !sh || !of || sh->type != WN_JT_ARR || of->type != WN_JT_ARR || of->count != 2 ||
		    sh->count > 4 || e->klen >= sizeof t->name) {
			why = "a tensor entry lacks dtype, shape or data_offsets (or has more than 4 dimensions)";
			goto fail;
		}
		if (wn_jtree_str_is(dt, "F32")) t->dtype = WN_ST_F32;
		else if (wn_jtree_str_is(dt, "I32")) t->dtype = WN_ST_I32;
		else {
			why = "only F32 and I32 tensors are read";
			goto fail;
		}
		memcpy(t->name, e->key, e->klen);
		t->ndim = (int)sh->count;
		for (int d = 0; d < t->ndim; d++) {
			const wn_jnode *x = wn_jtree_child(&j, sh, (size_t)d);
			if (!x->is_int || x->i < 0) {
				why = "bad shape";
				goto fail;
			}
			t->shape[d] = (size_t)x->i;
		}
		const wn_jnode *b = wn_jtree_child(&j, of, 0), *en = wn_jtree_child(&j, of, 1);
		if (!b->is_int || !en->is_int || b->i < 0 || en->i < b->i || (uint64_t)en->i > dlen ||
		    (uint64_t)(en->i - b->i) != st_bytes(t)) {
			why = "a tensor's data_offsets do not match its shape or lie outside the file";
			goto fail;
		}
		t->data = data + b->i;
		f->n++;
	}
	wn_jtree_free(&j);
	f->mem_ = buf;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, why);
	wn_jtree_free(&j);
	free(f->t);
	free(buf);
	memset(f, 0, sizeof *f);
	return WN_ECORRUPT;
}

const wn_st_tensor *wn_st_find(const wn_st_file *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->t[i].name, name)) return &f->t[i];
	return NULL;
}

void wn_st_release(wn_st_file *f)
{
	if (!f) return;
	free(f->t);
	free(f->mem_);
	memset(f, 0, sizeof *f);
}

size_t wn_export_count(const wn_model *m)
{
	const wn_model_tensor *t = wn_model_tensors(m);
	size_t n = 0;
	for (int i = 0; i < WN_T_COUNT; i++) n += t[i].per_layer ? (size_t)wn_model_cfg(m)->n_layers : 1;
	return n;
}

size_t wn_export_tensors(const wn_model *m, const float *data, const char *prefix, wn_st_tensor *out)
{
	const wn_model_tensor *t = wn_model_tensors(m);
	int L = wn_model_cfg(m)->n_layers;
	size_t k = 0;
	/* Llama's order: embeddings, each layer's tensors, norm, head */
	for (int l = -1; l <= L; l++)
		for (int i = 0; i < WN_T_COUNT; i++) {
			int want = t[i].per_layer ? (l >= 0 && l < L) : (i == WN_T_EMBED ? l == -1 : l == L);
			if (!want) continue;
			wn_st_tensor *o = &out[k++];
			char nm[128];
			snprintf(nm, sizeof nm, t[i].hf, l);
			snprintf(o->name, sizeof o->name, "%s%s", prefix ? prefix : "", nm);
			o->dtype = WN_ST_F32;
			o->ndim = t[i].cols ? 2 : 1;
			o->shape[0] = t[i].rows;
			o->shape[1] = t[i].cols;
			size_t one = t[i].rows * (t[i].cols ? t[i].cols : 1);
			o->data = data + t[i].offset + (t[i].per_layer ? (size_t)l * one : 0);
		}
	return k;
}

/* x in as few digits as read back the same float (import reads a double
 * and narrows it), at least %.7g's */
static const char *float_text(char *b, size_t n, float x)
{
	for (int prec = 7; prec <= 9; prec++) {
		snprintf(b, n, "%.*g", prec, (double)x);
		if ((float)strtod(b, NULL) == x) break;
	}
	return b;
}

int wn_export_config(const char *path, const wn_model *m, uint32_t bos_id, uint32_t eos_id, const char *extra,
		     char *err, size_t errlen)
{
	const wn_model_config *c = wn_model_cfg(m);
	char eps[32], theta[32];
	FILE *f;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "w"))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return WN_EIO;
	}
	fprintf(f,
		"{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
		"  \"vocab_size\": %d,\n  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n"
		"  \"num_hidden_layers\": %d,\n  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n"
		"  \"head_dim\": %d,\n  \"max_position_embeddings\": %d,\n  \"rms_norm_eps\": %s,\n"
		"  \"rope_theta\": %s,\n  \"hidden_act\": \"silu\",\n  \"tie_word_embeddings\": false,\n"
		"  \"attention_bias\": false,\n  \"mlp_bias\": false,\n  \"bos_token_id\": %u,\n"
		"  \"eos_token_id\": %u,\n  \"torch_dtype\": \"float32\"%s%s\n}\n",
		c->vocab_size, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->dim / c->n_heads,
		c->max_seq_len, float_text(eps, sizeof eps, c->norm_eps), float_text(theta, sizeof theta, c->rope_theta),
		bos_id, eos_id, extra ? ",\n  " : "", extra ? extra : "");
	int bad = ferror(f) | fflush(f) | fsync(fileno(f));
	bad |= fclose(f);
	if (bad || rename(tmp, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return WN_EIO;
	}
	return 0;
}

int wn_export(const char *dir, wn_model *m, uint32_t bos_id, uint32_t eos_id, const char *tokenizer, char *err,
	      size_t errlen)
{
	if (wn_mkdirs(dir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return WN_EIO;
	}
	size_t n = wn_export_count(m);
	wn_st_tensor *t = calloc(n, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return WN_EIO;
	}
	wn_export_tensors(m, wn_model_params(m), NULL, t);
	char path[4200];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	wn_buf meta;
	wn_buf_init(&meta, 0);
	if (tokenizer && *tokenizer) {
		wn_buf_adds(&meta, "\"winnow_tokenizer\":");
		wn_json_escape(&meta, tokenizer, strlen(tokenizer));
	}
	int rc = wn_st_write(path, t, n, meta.len ? meta.data : NULL, err, errlen);
	wn_buf_release(&meta);
	free(t);
	if (rc) return rc;
	snprintf(path, sizeof path, "%s/config.json", dir);
	return wn_export_config(path, m, bos_id, eos_id, NULL, err, errlen);
}

static int cfg_int(const wn_jtree *j, const char *key, int *out, int need)
{
	const wn_jnode *x = wn_jtree_get(j, &j->n[0], key);
	if (!x) return need ? -1 : 0;
	if (x->type != WN_JT_NUM || !x->is_int || x->i < 0 || x->i > (1 << 30)) return -1;
	*out = (int)x->i;
	return 0;
}

wn_model *wn_import(const char *dir, uint32_t *eos_id, char *err, size_t errlen)
{
	char path[4200], *buf = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/config.json", dir);
	if (slurp(path, &buf, &len, err, errlen)) return NULL;
	wn_jtree j = { 0 };
	char jerr[256];
	wn_model *m = NULL;
	if (wn_jtree_parse(&j, buf, len, jerr, sizeof jerr)) {
		snprintf(err, errlen, "%s: %s", path, jerr);
		free(buf);
		return NULL;
	}
	free(buf);
	wn_model_config c = { 0 };
	int eos = -1, max_pos = 0;
	c.n_kv_heads = 0;
	const char *bad = NULL;
	const wn_jnode *mt = wn_jtree_get(&j, &j.n[0], "model_type");
	if (!mt || !wn_jtree_str_is(mt, "llama")) bad = "model_type is not \"llama\"";
	else if (cfg_int(&j, "vocab_size", &c.vocab_size, 1) || cfg_int(&j, "hidden_size", &c.dim, 1) ||
		 cfg_int(&j, "intermediate_size", &c.hidden_dim, 1) || cfg_int(&j, "num_hidden_layers", &c.n_layers, 1) ||
		 cfg_int(&j, "num_attention_heads", &c.n_heads, 1) ||
		 cfg_int(&j, "num_key_value_heads", &c.n_kv_heads, 0) ||
		 cfg_int(&j, "max_position_embeddings", &max_pos, 1) || cfg_int(&j, "eos_token_id", &eos, 0))
		bad = "a size field is missing or not a non-negative integer";
	const wn_jnode *x;
	c.rope_theta = 10000.0f;
	c.norm_eps = 1e-6f;
	if ((x = wn_jtree_get(&j, &j.n[0], "rope_theta")) && x->type == WN_JT_NUM) c.rope_theta = (float)x->d;
	if ((x = wn_jtree_get(&j, &j.n[0], "rms_norm_eps")) && x->type == WN_JT_NUM) c.norm_eps = (float)x->d;
	if ((x = wn_jtree_get(&j, &j.n[0], "tie_word_embeddings")) && x->type == WN_JT_BOOL && x->b)
		bad = "tied embeddings are not supported (winnow's head is untied)";
	if ((x = wn_jtree_get(&j, &j.n[0], "rope_scaling")) && x->type != WN_JT_NULL)
		bad = "rope_scaling is not supported";
	if ((x = wn_jtree_get(&j, &j.n[0], "head_dim")) && x->type == WN_JT_NUM && c.n_heads &&
	    x->i != c.dim / c.n_heads)
		bad = "head_dim other than hidden_size / num_attention_heads is not supported";
	wn_jtree_free(&j);
	if (!c.n_kv_heads) c.n_kv_heads = c.n_heads;
	c.max_seq_len = max_pos;
	if (bad) {
		snprintf(err, errlen, "%s: %s", path, bad);
		return NULL;
	}
	char e2[512];
	if (!(m = wn_model_new(&c, e2, sizeof e2))) {
		snprintf(err, errlen, "%s: %s", path, e2);
		return NULL;
	}
	if (eos_id) *eos_id = eos >= 0 ? (uint32_t)eos : 0;
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	wn_st_file f;
	if (wn_st_read(path, &f, err, errlen)) {
		wn_model_free(m);
		return NULL;
	}
	size_t n = wn_export_count(m);
	wn_st_tensor *want = calloc(n, sizeof *want);
	wn_export_tensors(m, wn_model_params(m), NULL, want);
	for (size_t i = 0; i < n; i++) {
		const wn_st_tensor *t = wn_st_find(&f, want[i].name);
		if (!t || t->dtype != WN_ST_F32 || t->ndim != want[i].ndim || t->shape[0] != want[i].shape[0] ||
		    (t->ndim == 2 && t->shape[1] != want[i].shape[1])) {
			snprintf(err, errlen, "%s: tensor %s is %s", path, want[i].name,
				 t ? "of another shape or type than config.json says" : "missing");
			wn_model_free(m);
			m = NULL;
			break;
		}
		memcpy((void *)want[i].data, t->data, elems(t) * 4);
	}
	if (m && f.n != n) {
		snprintf(err, errlen, "%s: %zu tensors, a Llama model of this config has %zu", path, f.n, n);
		wn_model_free(m);
		m = NULL;
	}
	free(want);
	wn_st_release(&f);
	return m;
}
