/*
 * tok.c - winnow tok: BPE tokenizers (encode, decode, train) and the token
 * files trainers read (inspect, merge).
 *
 * encode runs the document loop: workers encode texts (each with its own
 * wn_bpe_state over the one shared vocabulary) and hand the ids to the
 * loop, which passes them in input order to this file's commit callback;
 * that one appends them to the output of the document's domain (with
 * --by-domain) and counts tokens per input and domain for --stats.
 *
 * Outputs: -o PREFIX (every input into one dataset) or -O DIR (one dataset
 * per input, named as the input less its .jsonl[.zst|.gz]), or, for
 * --format ids, lines of ids on stdout or in -o FILE.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "cmd.h"
#include "../lib/buf.h"
#include "../lib/db.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"
#include "../lib/shard.h"
#include "../tokenize/bpe.h"
#include "../tokenize/bpe_train.h"
#include "../tokenize/pack.h"

static const char usage_text[] =
"usage: winnow tok COMMAND [OPTIONS] ...\n"
"\n"
"Commands:\n"
"  encode   tokenize JSONL documents into token files (or lines of ids)\n"
"  decode   turn lines of ids back into text\n"
"  train    learn a byte-level BPE vocabulary from JSONL documents\n"
"  inspect  check a token file and show its header, counts and a sample\n"
"  merge    join token files written shard by shard into one\n"
"\n"
"winnow tok COMMAND --help shows a command's options.\n";

static const char encode_usage[] =
"usage: winnow tok encode [OPTIONS] [INPUT...]\n"
"\n"
"Tokenize the text of each document with a byte-level BPE vocabulary and\n"
"write token files, an end-of-text token after every document.\n"
"\n"
"Vocabulary:\n"
"      --vocab SPEC        r50k_base, gpt2, p50k_base, p50k_edit, cl100k_base,\n"
"                          o200k_base (OpenAI's, from the cache), a .tiktoken rank\n"
"                          file, a Hugging Face tokenizer.json, or GPT-2's\n"
"                          encoder.json (vocab.bpe beside it); default cl100k_base\n"
"      --pattern P         pre-tokenisation: a pattern name (r50k_base, cl100k_base,\n"
"                          o200k_base) or a PCRE2 regex; default the vocabulary's\n"
"      --special TEXT=ID   a special token (repeatable; rank files have none)\n"
"      --allow-special     special tokens' text in documents becomes the special\n"
"                          token (default: it is ordinary text)\n"
"      --eos TEXT          the token ending each document (default <|endoftext|>)\n"
"Output:\n"
"      --format F          winnow (windows for winnow train, default), megatron\n"
"                          (.bin + .idx), llmc (llm.c shards) or ids (a line of\n"
"                          ids per document, no end-of-text token)\n"
"      --seq-len N         winnow: tokens per window, plus one (default 1024)\n"
"      --pack MODE         winnow: concat (default) or bestfit\n"
"      --by-domain         one dataset per value of the domain field:\n"
"                          PREFIX.DOMAIN.*\n"
"Work:\n"
"      --threads N         worker threads (default: the number of CPUs)\n";

static const char decode_usage[] =
"usage: winnow tok decode [OPTIONS] [FILE...]\n"
"\n"
"Read lines of ids (as encode --format ids writes them) and write each\n"
"line's text as a JSONL document {\"text\": ...}, or with --raw the bytes\n"
"themselves followed by a newline.\n"
"\n"
"      --vocab SPEC        as for encode (default cl100k_base)\n"
"      --special TEXT=ID   a special token (repeatable)\n"
"      --raw               write the decoded bytes, not JSONL\n"
"  -o, --output FILE       write to FILE (default stdout)\n"
"  -h, --help              show this help\n";

/* ---- shared: vocabulary options ---- */

typedef struct vocab_opts {
	const char *vocab, *pattern;
	wn_bpe_special_def *spec;
	int nspec;
} vocab_opts;

/* --special TEXT=ID: -1 (usage error printed) or 0 */
static int add_special_opt(vocab_opts *v, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	char *end;
	errno = 0;
	unsigned long id = eq ? strtoul(eq + 1, &end, 10) : 0;
	if (!eq || eq == arg || !eq[1] || *end || errno || id > 0x7fffffffUL) {
		cmd_usage_error("--special: '%s' is not TEXT=ID", arg);
		return -1;
	}
	v->spec = wn_realloc(v->spec, (size_t)(v->nspec + 1) * sizeof *v->spec);
	v->spec[v->nspec].text = strndup(arg, (size_t)(eq - arg));
	v->spec[v->nspec].id = (uint32_t)id;
	v->nspec++;
	return 0;
}

static void vocab_opts_free(vocab_opts *v)
{
	for (int i = 0; i < v->nspec; i++) free((char *)v->spec[i].text);
	free(v->spec);
}

static wn_bpe *load_vocab(const vocab_opts *v)
{
	char err[1024];
	wn_bpe_load_opts lo = { v->pattern, v->spec, v->nspec, 0 };
	wn_bpe *b = wn_bpe_load(v->vocab ? v->vocab : "cl100k_base", &lo, err, sizeof err);
	if (!b) wn_error("%s", err);
	return b;
}

/* The folder a prefix's files go into, created when missing (as -O DIR
 * is); 0 or -1 after an error message. */
static int make_parent(const char *prefix)
{
	const char *slash = strrchr(prefix, '/');
	if (!slash || slash == prefix) return 0;
	char dir[4096];
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - prefix), prefix);
	if (wn_mkdirs(dir)) {
		wn_error("%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- encode ---- */

enum { FMT_WINNOW, FMT_MEGATRON, FMT_LLMC, FMT_IDS };

/* One output dataset: a packer, or (ids) a writer of lines. */
typedef struct sink {
	char *domain;          /* NULL: the only one */
	size_t domain_len;
	wn_pack *pack;
	uint64_t docs, tokens;
} sink;

typedef struct encoder {
	wn_bpe *bpe;
	int format, allow_special, by_domain;
	uint32_t eos;
	wn_pack_opts po;
	const wn_opts *o;
	/* the current dataset(s) */
	const char *input;     /* the input the sinks belong to (-O) */
	char prefix[4096];
	sink *sinks;
	int nsinks;
	wn_writer *ids_out;    /* --format ids */
	int failed;
	/* tokens per domain of the current input, for --stats */
	struct dcount {
		char *domain;
		uint64_t docs, tokens;
	} *cnt;
	int ncnt;
} encoder;

typedef struct eworker {
	encoder *E;
	wn_bpe_state *st;
	wn_ids ids;
	wn_buf line;           /* --format ids: the document's line */
} eworker;

static void *eworker_new(void *ctx, int i)
{
	encoder *E = ctx;
	/* each worker's state on cache lines of its own: the id counts are
	 * written for every token */
	eworker *w = NULL;
	if (posix_memalign((void **)&w, 128, (sizeof *w + 127) / 128 * 128)) wn_die_oom();
	memset(w, 0, sizeof *w);
	w->E = E;
	w->st = wn_bpe_state_new(E->bpe);
	wn_buf_init(&w->line, 0);
	(void)i;
	return w;
}

static void eworker_free(void *ctx, void *wctx)
{
	(void)ctx;
	eworker *w = wctx;
	wn_bpe_state_free(w->st);
	wn_ids_release(&w->ids);
	wn_buf_release(&w->line);
	free(w);
}

/* The decimal digits of v at p; their count. */
static inline size_t put_u32(char *p, uint32_t v)
{
	char t[10];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++) p[i] = t[n - 1 - i];
	return n;
}

static int encode_doc(void *ctx, wn_item *it, wn_doc *d)
{
	eworker *w = ctx;
	wn_ids_reset(&w->ids);
	wn_bpe_encode(w->st, d->text.data, d->text.len, w->E->allow_special, &w->ids);
	if (w->E->format == FMT_IDS) {
		/* the line is made here, on the worker: the ids, then a newline;
		 * the first 8 bytes carry the count of ids */
		wn_buf_reset(&w->line);
		wn_buf_grow(&w->line, 8 + 11 * w->ids.n + 1);
		uint64_t n = w->ids.n;
		memcpy(w->line.data, &n, 8);
		char *p = w->line.data + 8;
		for (size_t i = 0; i < w->ids.n; i++) {
			if (i) *p++ = ' ';
			p += put_u32(p, w->ids.v[i]);
		}
		*p++ = '\n';
		w->line.len = (size_t)(p - w->line.data);
		it->data = w->line.data;
		it->data_len = w->line.len;
		return WN_KEEP;
	}
	it->data = w->ids.v;
	it->data_len = w->ids.n * sizeof *w->ids.v;
	return WN_KEEP;
}

/* A file-name-safe form of a domain value. */
static void safe_name(char *out, size_t n, const char *s, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < len && j + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[j++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				   c == '-' || c == '_' || c == '.' || c >= 0x80
			   ? (char)c : '_';
	}
	if (!j) out[j++] = '_';
	out[j] = 0;
}

/* The input's name less its directory and its .jsonl[.zst|.gz] */
static void input_stem(const char *input, char *out, size_t n)
{
	char base[4096];
	wn_run_basename(input, base, sizeof base);
	static const char *const ext[] = { ".zst", ".gz", ".zstd", ".jsonl", ".json", ".txt" };
	for (int again = 1; again;) {
		again = 0;
		size_t bl = strlen(base);
		for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
			size_t el = strlen(ext[i]);
			if (bl > el && !strcmp(base + bl - el, ext[i])) {
				base[bl - el] = 0;
				again = 1;
				break;
			}
		}
	}
	snprintf(out, n, "%s", base);
}

static int close_sinks(encoder *E, int ok)
{
	int rc = 0;
	for (int i = 0; i < E->nsinks; i++) {
		sink *s = &E->sinks[i];
		if (s->pack) {
			char err[1024];
			wn_pack_summary sum;
			if (!ok) {
				wn_pack_abort(s->pack);
			} else if (wn_pack_close(s->pack, &sum, err, sizeof err)) {
				wn_error("%s", err);
				rc = -1;
			}
		}
		free(s->domain);
	}
	free(E->sinks);
	E->sinks = NULL;
	E->nsinks = 0;
	return rc;
}

static sink *get_sink(encoder *E, const char *dom, size_t dlen)
{
	if (!E->by_domain) {
		dom = NULL;
		dlen = 0;
	}
	for (int i = 0; i < E->nsinks; i++) {
		sink *s = &E->sinks[i];
		if ((!dom && !s->domain) ||
		    (dom && s->domain && s->domain_len == dlen && !memcmp(s->domain, dom, dlen)))
			return s;
	}
	E->sinks = wn_realloc(E->sinks, (size_t)(E->nsinks + 1) * sizeof *E->sinks);
	sink *s = &E->sinks[E->nsinks++];
	memset(s, 0, sizeof *s);
	if (dom) {
		s->domain = strndup(dom, dlen);
		s->domain_len = dlen;
	} else if (E->by_domain) {
		s->domain = wn_strdup("(none)");
		s->domain_len = 6;
	}
	if (E->format == FMT_IDS) return s;
	char path[8192], name[1024], err[1024];
	if (s->domain) {
		safe_name(name, sizeof name, s->domain, s->domain_len);
		snprintf(path, sizeof path, "%s.%s", E->prefix, name);
	} else {
		snprintf(path, sizeof path, "%s", E->prefix);
	}
	wn_pack_opts po = E->po;
	char hdom[WN_PACK_DOMAIN_MAX + 1];
	if (s->domain) {
		/* the header holds 63 bytes: cut at a character boundary */
		size_t k = s->domain_len < WN_PACK_DOMAIN_MAX ? s->domain_len : WN_PACK_DOMAIN_MAX;
		while (k && k < s->domain_len && ((unsigned char)s->domain[k] & 0xc0) == 0x80) k--;
		memcpy(hdom, s->domain, k);
		hdom[k] = 0;
		po.domain = hdom;
	}
	s->pack = wn_pack_open(path, &po, err, sizeof err);
	if (!s->pack) {
		wn_error("%s", err);
		E->failed = 1;
	}
	return s;
}

static int encode_commit(void *ctx, wn_run *r, const wn_commit *c)
{
	encoder *E = ctx;
	(void)r;
	if (E->o->outdir && c->input != E->input) {
		/* the first document of a new input (-O): its own dataset */
		close_sinks(E, 1);
		E->input = c->input;
		char stem[4096];
		input_stem(c->input, stem, sizeof stem);
		snprintf(E->prefix, sizeof E->prefix, "%.2000s/%.2000s", E->o->outdir, stem);
	}
	sink *s = get_sink(E, c->domain, c->domain_len);
	if (E->failed) return -1;
	size_t n;
	const uint32_t *ids = c->data;
	if (E->format == FMT_IDS) {
		uint64_t k;
		memcpy(&k, c->data, 8);
		n = (size_t)k;
	} else {
		n = c->data_len / sizeof(uint32_t);
	}
	s->docs++;
	if (E->o->stats) {
		const char *dn = c->domain ? c->domain : "(none)";
		size_t dl = c->domain ? c->domain_len : 6;
		int k = 0;
		while (k < E->ncnt && (strlen(E->cnt[k].domain) != dl || memcmp(E->cnt[k].domain, dn, dl))) k++;
		if (k == E->ncnt) {
			E->cnt = wn_realloc(E->cnt, (size_t)(E->ncnt + 1) * sizeof *E->cnt);
			E->cnt[k].domain = strndup(dn, dl);
			E->cnt[k].docs = E->cnt[k].tokens = 0;
			E->ncnt++;
		}
		E->cnt[k].docs++;
		E->cnt[k].tokens += n + (E->format != FMT_IDS);
	}
	if (E->format == FMT_IDS) {
		s->tokens += n;
		int rc = wn_writer_write(E->ids_out, (const char *)c->data + 8, c->data_len - 8);
		if (rc) {
			wn_error("%s: %s", E->o->output ? E->o->output : "stdout", wn_writer_error(E->ids_out));
			return -1;
		}
		return 0;
	}
	s->tokens += n + 1;
	if (wn_pack_doc(s->pack, ids, n)) {
		wn_error("%s: %s", E->prefix, wn_pack_error(s->pack));
		return -1;
	}
	return 0;
}

#define TOKENS_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS tokens (run_id INTEGER NOT NULL, input TEXT NOT NULL, " \
	"domain TEXT NOT NULL, documents INTEGER NOT NULL, tokens INTEGER NOT NULL);"

/* The input's tokens per domain into the stats database. */
static void record_tokens(encoder *E, wn_run *r, const char *input)
{
	if (r->db && E->ncnt) {
		wn_buf q = WN_BUF_INIT;
		wn_buf_adds(&q, TOKENS_TABLE_SQL);
		for (int k = 0; k < E->ncnt; k++) {
			char *row = sqlite3_mprintf("INSERT INTO tokens VALUES (%lld, %Q, %Q, %llu, %llu);",
						    (long long)r->run_id, input, E->cnt[k].domain,
						    (unsigned long long)E->cnt[k].docs,
						    (unsigned long long)E->cnt[k].tokens);
			wn_buf_adds(&q, row);
			sqlite3_free(row);
		}
		if (wn_db_exec(r->db, q.data)) {
			wn_error("%s: %s", E->o->stats, wn_db_error(r->db));
			r->exit_code = 1;
		}
		wn_buf_release(&q);
	}
	for (int k = 0; k < E->ncnt; k++) free(E->cnt[k].domain);
	E->ncnt = 0;
}

static void encode_input_done(void *ctx, wn_run *r, const char *input, int ok, const wn_input_counts *c)
{
	encoder *E = ctx;
	(void)c;
	record_tokens(E, r, input);
	if (!E->o->outdir) return;
	if (E->input != input) {
		/* an input without documents still gets its (empty) dataset */
		close_sinks(E, ok);
		E->input = input;
		char stem[4096];
		input_stem(input, stem, sizeof stem);
		snprintf(E->prefix, sizeof E->prefix, "%.2000s/%.2000s", E->o->outdir, stem);
		if (ok) get_sink(E, NULL, 0);
	}
	if (close_sinks(E, ok)) r->exit_code = 1;
	E->input = NULL;
}

enum {
	OPT_VOCAB = WN_OPT_COMMON_END + 1, OPT_PATTERN, OPT_SPECIAL, OPT_ALLOW_SPECIAL, OPT_EOS,
	OPT_FORMAT, OPT_SEQ_LEN, OPT_PACK, OPT_BY_DOMAIN, OPT_THREADS, OPT_RAW
};

static const struct option encode_own[] = {
	{ "vocab", required_argument, NULL, OPT_VOCAB },
	{ "pattern", required_argument, NULL, OPT_PATTERN },
	{ "special", required_argument, NULL, OPT_SPECIAL },
	{ "allow-special", no_argument, NULL, OPT_ALLOW_SPECIAL },
	{ "eos", required_argument, NULL, OPT_EOS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "seq-len", required_argument, NULL, OPT_SEQ_LEN },
	{ "pack", required_argument, NULL, OPT_PACK },
	{ "by-domain", no_argument, NULL, OPT_BY_DOMAIN },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

static int cmd_tok_encode(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	vocab_opts v = { 0 };
	encoder E;
	memset(&E, 0, sizeof E);
	E.po.seq_len = 1024;
	E.po.pack_mode = WN_PACK_CONCAT;
	const char *eos = "<|endoftext|>";
	int threads = wn_ncpus(), rc = 2;
	struct option *lo = wn_opts_longopts(encode_own);
	char err[1024];
	int opt;
	long long x;
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		switch (opt) {
		case OPT_VOCAB: v.vocab = optarg; break;
		case OPT_PATTERN: v.pattern = optarg; break;
		case OPT_SPECIAL:
			if (add_special_opt(&v, optarg)) goto out;
			break;
		case OPT_ALLOW_SPECIAL: E.allow_special = 1; break;
		case OPT_EOS: eos = optarg; break;
		case OPT_BY_DOMAIN: E.by_domain = 1; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "winnow")) E.format = FMT_WINNOW;
			else if (!strcmp(optarg, "megatron")) E.format = FMT_MEGATRON;
			else if (!strcmp(optarg, "llmc")) E.format = FMT_LLMC;
			else if (!strcmp(optarg, "ids")) E.format = FMT_IDS;
			else {
				cmd_usage_error("--format: '%s' is not winnow, megatron, llmc or ids", optarg);
				goto out;
			}
			break;
		case OPT_PACK:
			if (!strcmp(optarg, "concat")) E.po.pack_mode = WN_PACK_CONCAT;
			else if (!strcmp(optarg, "bestfit")) E.po.pack_mode = WN_PACK_BESTFIT;
			else {
				cmd_usage_error("--pack: '%s' is not concat or bestfit", optarg);
				goto out;
			}
			break;
		case OPT_SEQ_LEN:
			if (cmd_parse_ll("seq-len", optarg, 1, WN_PACK_MAX_SEQ_LEN, &x)) goto out;
			E.po.seq_len = (int)x;
			break;
		case OPT_THREADS:
			if (cmd_parse_ll("threads", optarg, 1, 256, &x)) goto out;
			threads = (int)x;
			break;
		default:
			rc = cmd_other_option(opt, &o, encode_usage, argv);
			if (rc >= 0) goto out;
			rc = 2;
		}
	}
	if (wn_opts_finish(&o, err, sizeof err)) {
		cmd_usage_error("%s", err);
		goto out;
	}
	wn_log_set_quiet(o.quiet);
	if (E.format != FMT_IDS && !o.output && !o.outdir) {
		cmd_usage_error("give -o PREFIX or -O DIR for the token files (or --format ids)");
		goto out;
	}
	if (E.format == FMT_IDS && (o.outdir || E.by_domain)) {
		cmd_usage_error("--format ids writes one stream: -o FILE or stdout, no -O or --by-domain");
		goto out;
	}
	if (o.skip_existing) {
		cmd_usage_error("--skip-existing is not supported by tok encode");
		goto out;
	}
	rc = 1;
	if (!(E.bpe = load_vocab(&v))) goto out;
	int64_t eid = wn_bpe_special_id(E.bpe, eos);
	if (eid < 0) {
		char *end;
		long long n = strtoll(eos, &end, 10);
		if (!*end && end != eos && n >= 0 && n < wn_bpe_n_vocab(E.bpe)) eid = n;
	}
	if (eid < 0 && E.format != FMT_IDS) {
		wn_error("--eos: %s is not a special token of %s (give --special TEXT=ID or --eos ID)", eos,
			 wn_bpe_describe(E.bpe));
		goto out;
	}
	E.eos = (uint32_t)(eid < 0 ? 0 : eid);
	E.o = &o;
	E.po.format = E.format == FMT_MEGATRON ? WN_PACK_MEGATRON : E.format == FMT_LLMC ? WN_PACK_LLMC
										: WN_PACK_WINNOW;
	E.po.vocab_size = wn_bpe_n_vocab(E.bpe);
	E.po.eos_id = E.eos;
	char tokdesc[WN_PACK_TOKENIZER_MAX + 1];
	snprintf(tokdesc, sizeof tokdesc, "vocab=%.500s%s%.500s", v.vocab ? v.vocab : "cl100k_base",
		 v.pattern ? " pattern=" : "", v.pattern ? v.pattern : "");
	E.po.tokenizer = tokdesc;
	if (o.output) snprintf(E.prefix, sizeof E.prefix, "%s", o.output);
	if (o.output && make_parent(o.output)) goto out;
	if (E.format == FMT_IDS) {
		wn_writer_opts wo = { o.level, 0 };
		if (wn_writer_open(&E.ids_out, o.output, &wo)) {
			wn_error("%s: %s", o.output ? o.output : "stdout", wn_writer_error(E.ids_out));
			wn_writer_abort(E.ids_out);
			goto out;
		}
	}

	wn_run r;
	memset(&r, 0, sizeof r);
	r.tool = "tok";
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.fn = encode_doc;
	r.ctx = &E;
	r.no_output = 1;
	r.threads = threads;
	r.thread_ctx = eworker_new;
	r.thread_ctx_free = eworker_free;
	r.commit = encode_commit;
	r.input_done = encode_input_done;
	char **inputs = argv + optind;
	int ninputs = argc - optind;
	rc = wn_run_main(&r, ninputs, inputs);
	if (!o.outdir) {
		if (!E.nsinks && !rc && E.format != FMT_IDS) get_sink(&E, NULL, 0);
		if (close_sinks(&E, rc == 0 && !E.failed)) rc = 1;
	}
	if (E.ids_out) {
		if (rc) {
			wn_writer_abort(E.ids_out);
		} else if (wn_writer_close(E.ids_out, err, sizeof err)) {
			wn_error("%s", err);
			rc = 1;
		}
	}
out:
	free(lo);
	vocab_opts_free(&v);
	wn_bpe_free(E.bpe);
	free(E.cnt);
	return rc;
}

/* ---- decode ---- */

static const struct option decode_opts[] = {
	{ "vocab", required_argument, NULL, OPT_VOCAB },
	{ "special", required_argument, NULL, OPT_SPECIAL },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_tok_decode(int argc, char **argv)
{
	vocab_opts v = { 0 };
	const char *output = NULL;
	int raw = 0, opt, rc = 2;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":o:h", decode_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_VOCAB: v.vocab = optarg; break;
		case OPT_SPECIAL:
			if (add_special_opt(&v, optarg)) goto out;
			break;
		case OPT_RAW: raw = 1; break;
		case 'o': output = optarg; break;
		case 'h':
			fputs(decode_usage, stdout);
			rc = 0;
			goto out;
		default:
			rc = cmd_bad_option(opt, argv);
			goto out;
		}
	}
	rc = 1;
	wn_bpe *b = load_vocab(&v);
	if (!b) goto out;
	wn_writer *w;
	wn_writer_opts wo = { 0, 0 };
	if (wn_writer_open(&w, output, &wo)) {
		wn_error("%s: %s", output ? output : "stdout", wn_writer_error(w));
		wn_writer_abort(w);
		wn_bpe_free(b);
		goto out;
	}
	int nin = argc - optind;
	char *dash = "-";
	char **in = nin ? argv + optind : &dash;
	if (!nin) nin = 1;
	wn_buf text, line;
	wn_buf_init(&text, 0);
	wn_buf_init(&line, 0);
	wn_ids ids = { 0 };
	rc = 0;
	for (int i = 0; i < nin && !rc; i++) {
		wn_reader *rd;
		wn_reader_opts ro = { 0, -1 };
		const char *name = strcmp(in[i], "-") ? in[i] : NULL;
		if (wn_reader_open(&rd, name, &ro)) {
			wn_error("%s: %s", in[i], wn_reader_error(rd));
			wn_reader_close(rd);
			rc = 1;
			break;
		}
		const char *l;
		size_t len;
		int r2;
		while ((r2 = wn_reader_next(rd, &l, &len)) > 0) {
			uint64_t lineno = wn_reader_lineno(rd);
			wn_ids_reset(&ids);
			const char *p = l, *e = l + len;
			while (p < e) {
				while (p < e && (*p == ' ' || *p == '\t' || *p == ',')) p++;
				if (p >= e) break;
				unsigned long long id = 0;
				const char *d = p;
				while (p < e && *p >= '0' && *p <= '9' && id < (1ULL << 33)) id = id * 10 + (unsigned)(*p++ - '0');
				if (p == d || (p < e && *p != ' ' && *p != '\t' && *p != ',') || id > UINT32_MAX) {
					wn_error("%s:%llu: not a list of token ids", in[i], (unsigned long long)lineno);
					rc = 1;
					break;
				}
				wn_ids_push(&ids, (uint32_t)id);
			}
			if (rc) break;
			wn_buf_reset(&text);
			size_t bad;
			if (wn_bpe_decode(b, ids.v, ids.n, &text, &bad)) {
				wn_error("%s:%llu: token %u is not in the vocabulary", in[i],
					 (unsigned long long)lineno, ids.v[bad]);
				rc = 1;
				break;
			}
			wn_buf_reset(&line);
			if (raw) {
				wn_buf_add(&line, text.data, text.len);
			} else {
				wn_buf_adds(&line, "{\"text\":");
				wn_json_escape(&line, text.data ? text.data : "", text.len);
				wn_buf_addc(&line, '}');
			}
			wn_buf_addc(&line, '\n');
			int wr = wn_writer_write(w, line.data, line.len);
			if (wr) {
				wn_error("%s: %s", output ? output : "stdout", wn_writer_error(w));
				rc = 1;
				break;
			}
		}
		if (r2 < 0 && !rc) {
			wn_error("%s: %s", in[i], wn_reader_error(rd));
			rc = 1;
		}
		wn_reader_close(rd);
	}
	char err[1024];
	if (rc) {
		wn_writer_abort(w);
	} else if (wn_writer_close(w, err, sizeof err)) {
		wn_error("%s", err);
		rc = 1;
	}
	wn_ids_release(&ids);
	wn_buf_release(&text);
	wn_buf_release(&line);
	wn_bpe_free(b);
out:
	vocab_opts_free(&v);
	return rc;
}

/* ---- train ---- */

static const char train_usage[] =
"usage: winnow tok train --vocab-size N -o PREFIX [OPTIONS] [INPUT...]\n"
"\n"
"Learn a byte-level BPE vocabulary from the text of JSONL documents and\n"
"write PREFIX.tiktoken (ranks) and PREFIX.json (a Hugging Face\n"
"tokenizer.json with the pattern and the special tokens; give it to\n"
"encode as --vocab PREFIX.json).\n"
"\n"
"      --vocab-size N      tokens in all: 256 bytes, the merges, the specials\n"
"      --pattern P         pre-tokenisation pattern: a name (r50k_base,\n"
"                          cl100k_base, o200k_base) or a PCRE2 regex; default\n"
"                          cl100k_base\n"
"      --special TEXT      a special token (repeatable); <|endoftext|> is always\n"
"                          reserved, first unless named\n"
"      --min-frequency N   merge only pairs seen at least N times (default 2)\n"
"      --threads N         worker threads (default: the number of CPUs)\n";

typedef struct trainer {
	wn_bpe *split;
	wn_bpe_counts *total;
	pthread_mutex_t mu;
} trainer;

typedef struct tworker {
	trainer *T;
	wn_bpe_state *st;
	wn_bpe_counts *c;
} tworker;

static void *tworker_new(void *ctx, int i)
{
	trainer *T = ctx;
	tworker *w = wn_calloc(1, sizeof *w);
	w->T = T;
	w->st = wn_bpe_state_new(T->split);
	w->c = wn_bpe_counts_new();
	(void)i;
	return w;
}

/* at the end of the run: the worker's counts into the total */
static void tworker_free(void *ctx, void *wctx)
{
	trainer *T = ctx;
	tworker *w = wctx;
	pthread_mutex_lock(&T->mu);
	wn_bpe_counts_merge(T->total, w->c);
	pthread_mutex_unlock(&T->mu);
	wn_bpe_counts_free(w->c);
	wn_bpe_state_free(w->st);
	free(w);
}

static void count_piece(void *arg, const char *piece, size_t len)
{
	wn_bpe_counts_add(arg, piece, len, 1);
}

static int train_doc(void *ctx, wn_item *it, wn_doc *d)
{
	tworker *w = ctx;
	(void)it;
	wn_bpe_split(w->st, d->text.data, d->text.len, count_piece, w->c);
	return WN_KEEP;
}

static void train_progress(void *ud, size_t tokens, size_t target)
{
	(void)ud;
	fprintf(stderr, "\rwinnow tok train: %zu of %zu tokens%s", tokens, target, tokens >= target ? "\n" : "");
}

enum { OPT_VOCAB_SIZE = OPT_RAW + 1, OPT_MIN_FREQ };

static const struct option train_own[] = {
	{ "vocab-size", required_argument, NULL, OPT_VOCAB_SIZE },
	{ "pattern", required_argument, NULL, OPT_PATTERN },
	{ "special", required_argument, NULL, OPT_SPECIAL },
	{ "min-frequency", required_argument, NULL, OPT_MIN_FREQ },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ NULL, 0, NULL, 0 },
};

static int cmd_tok_train(int argc, char **argv)
{
	wn_opts o;
	wn_opts_init(&o);
	const char *pattern = "cl100k_base";
	const char **specials = NULL;
	size_t nspecials = 0;
	long long vocab_size = 0, min_freq = 2, x;
	int threads = wn_ncpus(), rc = 2, opt;
	struct option *lo = wn_opts_longopts(train_own);
	char err[1024];
	trainer T;
	memset(&T, 0, sizeof T);
	pthread_mutex_init(&T.mu, NULL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		switch (opt) {
		case OPT_PATTERN: pattern = optarg; break;
		case OPT_SPECIAL:
			specials = wn_realloc(specials, (nspecials + 1) * sizeof *specials);
			specials[nspecials++] = optarg;
			break;
		case OPT_VOCAB_SIZE:
			if (cmd_parse_ll("vocab-size", optarg, 257, 1 << 30, &vocab_size)) goto out;
			break;
		case OPT_MIN_FREQ:
			if (cmd_parse_ll("min-frequency", optarg, 1, 1LL << 40, &min_freq)) goto out;
			break;
		case OPT_THREADS:
			if (cmd_parse_ll("threads", optarg, 1, 256, &x)) goto out;
			threads = (int)x;
			break;
		default:
			rc = cmd_other_option(opt, &o, train_usage, argv);
			if (rc >= 0) goto out;
			rc = 2;
		}
	}
	if (wn_opts_finish(&o, err, sizeof err)) {
		cmd_usage_error("%s", err);
		goto out;
	}
	wn_log_set_quiet(o.quiet);
	if (!vocab_size) {
		cmd_usage_error("--vocab-size N is required");
		goto out;
	}
	if (!o.output || o.outdir) {
		cmd_usage_error("give -o PREFIX (PREFIX.tiktoken and PREFIX.json are written)");
		goto out;
	}
	rc = 1;
	if (!(T.split = wn_bpe_splitter(pattern, err, sizeof err))) {
		wn_error("--pattern: %s", err);
		goto out;
	}
	if (make_parent(o.output)) goto out;
	T.total = wn_bpe_counts_new();
	/* the run loop writes nothing: its -o is ours */
	const char *prefix = o.output;
	o.output = NULL;
	wn_run r;
	memset(&r, 0, sizeof r);
	r.tool = "tok";
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.fn = train_doc;
	r.ctx = &T;
	r.no_output = 1;
	r.threads = threads;
	r.thread_ctx = tworker_new;
	r.thread_ctx_free = tworker_free;
	double t0 = wn_now();
	rc = wn_run_main(&r, argc - optind, argv + optind);
	if (rc) goto out;
	double t_count = wn_now() - t0;
	wn_info("counted %zu distinct pre-tokens (%llu in all) in %.1f s",
		wn_bpe_counts_size(T.total), (unsigned long long)wn_bpe_counts_total(T.total), t_count);
	wn_bpe_train_opts to = { 0 };
	to.vocab_size = (size_t)vocab_size;
	to.specials = specials;
	to.n_specials = nspecials;
	to.min_frequency = (uint64_t)min_freq;
	to.threads = threads;
	if (!o.quiet && (o.progress == 1 || (o.progress < 0 && isatty(2)))) to.progress = train_progress;
	wn_bpe_vocab *v = NULL;
	rc = 1;
	if (wn_bpe_train(T.total, &to, &v, err, sizeof err)) {
		wn_error("%s", err);
		goto out;
	}
	char path[4200];
	snprintf(path, sizeof path, "%s.tiktoken", prefix);
	if (wn_bpe_write_tiktoken(v, path, err, sizeof err)) {
		wn_error("%s", err);
		wn_bpe_vocab_free(v);
		goto out;
	}
	snprintf(path, sizeof path, "%s.json", prefix);
	if (wn_bpe_write_hf(v, wn_bpe_pattern_portable(pattern), path, err, sizeof err)) {
		wn_error("%s", err);
		wn_bpe_vocab_free(v);
		goto out;
	}
	const wn_bpe_train_stats *ts = &v->stats;
	wn_info("%zu tokens + %zu special in %.1f s (set-up %.1f s, merges %.1f s)%s; %s.tiktoken, %s.json",
		v->n_tokens, v->n_specials, ts->seconds_setup + ts->seconds_merge, ts->seconds_setup,
		ts->seconds_merge, ts->stopped_early ? ", stopped early: no pair seen often enough" : "",
		prefix, prefix);
	wn_bpe_vocab_free(v);
	rc = 0;
out:
	free(lo);
	free(specials);
	wn_bpe_counts_free(T.total);
	wn_bpe_free(T.split);
	pthread_mutex_destroy(&T.mu);
	return rc;
}

/* ---- inspect and merge ---- */

static const char inspect_usage[] =
"usage: winnow tok inspect [OPTIONS] FILE...\n"
"\n"
"Check token files (a .wtok, a Megatron .bin/.idx pair or prefix, an llm.c\n"
"shard) completely and print their header, token type, counts of\n"
"documents, sequences or windows and tokens, and a decoded sample.  A file\n"
"that fails a check is reported and the exit status is 1.\n"
"\n"
"      --vocab SPEC        vocabulary for the sample and the id range check\n"
"                          (default: the one recorded in a .wtok file)\n"
"      --special TEXT=ID   a special token (repeatable)\n"
"      --eos ID            the end-of-text id, to count llm.c documents\n"
"      --sample N          tokens of the first document to decode (default 48;\n"
"                          0: none)\n"
"  -h, --help              show this help\n";

static const char merge_usage[] =
"usage: winnow tok merge -o PREFIX INPUT...\n"
"\n"
"Join token files written shard by shard (one format, the same parameters)\n"
"into one, checking every input first.  Megatron, llm.c and winnow concat\n"
"files come out as if the documents had been packed in one run.\n"
"\n"
"  -o, --output PREFIX     the merged dataset\n"
"  -h, --help              show this help\n";

enum { OPT_SAMPLE = OPT_MIN_FREQ + 1 };

static const struct option inspect_opts[] = {
	{ "vocab", required_argument, NULL, OPT_VOCAB },
	{ "special", required_argument, NULL, OPT_SPECIAL },
	{ "eos", required_argument, NULL, OPT_EOS },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The vocabulary spec recorded by encode in a .wtok header: "vocab=SPEC"
 * up to " pattern=", and the pattern after it. */
static int recorded_vocab(const char *t, char *spec, size_t n, char *pat, size_t pn)
{
	if (strncmp(t, "vocab=", 6)) return -1;
	const char *p = strstr(t, " pattern=");
	size_t k = p ? (size_t)(p - t - 6) : strlen(t + 6);
	snprintf(spec, n, "%.*s", (int)k, t + 6);
	snprintf(pat, pn, "%s", p ? p + 9 : "");
	return 0;
}

static int inspect_one(const char *path, vocab_opts *v, wn_bpe **bpe, long long eos, long long sample)
{
	char err[1024];
	wn_pack_expect x = { 0 };
	if (*bpe) x.vocab_size = wn_bpe_n_vocab(*bpe);
	if (eos >= 0) {
		x.has_eos = 1;
		x.eos_id = (uint32_t)eos;
	} else if (*bpe && wn_bpe_eos(*bpe) >= 0) {
		x.has_eos = 1;
		x.eos_id = (uint32_t)wn_bpe_eos(*bpe);
	}
	wn_pack_reader *r = wn_pack_reader_open(path, &x, err, sizeof err);
	if (!r) {
		wn_error("%s", err);
		return 1;
	}
	const wn_pack_info *in = wn_pack_reader_info(r);
	printf("file        %s\n", in->path);
	if (strcmp(in->data_path, in->path)) printf("data        %s\n", in->data_path);
	printf("format      %s (version %u)\n", wn_pack_format_name(in->format), in->version);
	printf("tokens are  %s (%d bytes)\n", in->dtype, in->token_bytes);
	if (in->documents != UINT64_MAX) printf("documents   %llu\n", (unsigned long long)in->documents);
	else printf("documents   unknown (give --eos or --vocab)\n");
	if (in->format == WN_PACK_MEGATRON) printf("sequences   %llu\n", (unsigned long long)in->sequences);
	if (in->format == WN_PACK_WINNOW) {
		printf("windows     %llu of %d + 1 tokens, %s packing, %llu segments\n",
		       (unsigned long long)in->windows, in->seq_len,
		       in->mode == WN_PACK_BESTFIT ? "best-fit" : "concatenated",
		       (unsigned long long)in->segments);
		printf("padding     %llu tokens (fill %.4f)\n", (unsigned long long)in->padding, in->fill);
		printf("vocabulary  %u ids, end of text %u, padding %u\n", in->vocab_size, in->eos_id, in->pad_id);
		if (in->domain[0]) printf("domain      %s\n", in->domain);
		if (in->tokenizer[0]) printf("tokenizer   %s\n", in->tokenizer);
	}
	printf("tokens      %llu (largest id %u)\n", (unsigned long long)in->tokens, in->max_id);
	if (x.has_eos) printf("end of text %llu tokens are id %u\n", (unsigned long long)in->eos_count, x.eos_id);
	printf("bytes       %llu\n", (unsigned long long)in->bytes);
	printf("checks      passed\n");
	int rc = 0;
	/* a vocabulary for the sample: given, or the one the file names */
	wn_bpe *b = *bpe, *own = NULL;
	if (!b && sample > 0 && in->format == WN_PACK_WINNOW) {
		char spec[1100], pat[1100];
		if (!recorded_vocab(in->tokenizer, spec, sizeof spec, pat, sizeof pat)) {
			wn_bpe_load_opts lo = { pat[0] ? pat : NULL, v->spec, v->nspec, 0 };
			own = b = wn_bpe_load(spec, &lo, err, sizeof err);
			if (!b) wn_warn("no sample: %s", err);
		}
	}
	wn_pack_item it;
	if (b && sample > 0 && wn_pack_reader_next(r, &it) == 1) {
		size_t n = it.n < (size_t)sample ? it.n : (size_t)sample;
		wn_buf text = WN_BUF_INIT, q = WN_BUF_INIT;
		size_t bad;
		if (wn_bpe_decode(b, it.ids, n, &text, &bad)) {
			printf("sample      token %u is not in the vocabulary\n", it.ids[bad]);
			rc = 1;
		} else {
			/* a sample cut between tokens can end inside a character,
			 * and a token can be part of one: show valid UTF-8 */
			wn_buf ok = WN_BUF_INIT;
			const char *t = text.data ? text.data : "";
			size_t i = 0, at;
			while (!wn_utf8_valid(t + i, text.len - i, &at)) {
				wn_buf_add(&ok, t + i, at);
				wn_buf_adds(&ok, "\xef\xbf\xbd"); /* U+FFFD for the byte */
				i += at + 1;
			}
			wn_buf_add(&ok, t + i, text.len - i);
			wn_json_escape(&q, ok.data ? ok.data : "", ok.len);
			wn_buf_release(&ok);
			printf("sample      %s %llu, %zu tokens: %s\n",
			       in->format == WN_PACK_WINNOW ? "window" : "document", (unsigned long long)it.index, n,
			       q.data ? q.data : "\"\"");
		}
		wn_buf_release(&text);
		wn_buf_release(&q);
	}
	wn_bpe_free(own);
	wn_pack_reader_close(r);
	return rc;
}

static int cmd_tok_inspect(int argc, char **argv)
{
	vocab_opts v = { 0 };
	long long eos = -1, sample = 48;
	int opt, rc = 2;
	wn_bpe *b = NULL;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", inspect_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_VOCAB: v.vocab = optarg; break;
		case OPT_SPECIAL:
			if (add_special_opt(&v, optarg)) goto out;
			break;
		case OPT_EOS:
			if (cmd_parse_ll("eos", optarg, 0, UINT32_MAX, &eos)) goto out;
			break;
		case OPT_SAMPLE:
			if (cmd_parse_ll("sample", optarg, 0, 1 << 20, &sample)) goto out;
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			rc = 0;
			goto out;
		default:
			rc = cmd_bad_option(opt, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		cmd_usage_error("inspect: name a token file");
		goto out;
	}
	rc = 1;
	if (v.vocab && !(b = load_vocab(&v))) goto out;
	rc = 0;
	for (int i = optind; i < argc; i++) {
		if (i > optind) putchar('\n');
		rc |= inspect_one(argv[i], &v, &b, eos, sample);
	}
out:
	wn_bpe_free(b);
	vocab_opts_free(&v);
	return rc;
}

static const struct option merge_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_tok_merge(int argc, char **argv)
{
	const char *out = NULL;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":o:h", merge_opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'h': fputs(merge_usage, stdout); return 0;
		default: return cmd_bad_option(opt, argv);
		}
	}
	if (!out) return cmd_usage_error("merge: give -o PREFIX");
	if (optind >= argc) return cmd_usage_error("merge: name the token files to join");
	if (make_parent(out)) return 1;
	char err[1024];
	wn_pack_summary s;
	if (wn_pack_merge(out, (const char *const *)(argv + optind), argc - optind, NULL, &s, err, sizeof err)) {
		wn_error("%s", err);
		return 1;
	}
	wn_info("%s: %llu documents, %llu tokens from %d files", out, (unsigned long long)s.documents,
		(unsigned long long)s.tokens, argc - optind);
	return 0;
}

/* ---- dispatch ---- */

int cmd_tok(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		/* every command's options: the man page lists them all */
		const char *const all[] = { usage_text, encode_usage, WN_OPTS_HELP, decode_usage, train_usage,
					    inspect_usage, merge_usage };
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
			if (i) fputs(i == 2 ? "\nCommon options of encode and train:\n" : "\n", stdout);
			fputs(all[i], stdout);
		}
		return 0;
	}
	if (!strcmp(argv[1], "encode")) return cmd_tok_encode(argc - 1, argv + 1);
	if (!strcmp(argv[1], "decode")) return cmd_tok_decode(argc - 1, argv + 1);
	if (!strcmp(argv[1], "train")) return cmd_tok_train(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect")) return cmd_tok_inspect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "merge")) return cmd_tok_merge(argc - 1, argv + 1);
	return cmd_usage_error("tok: unknown command '%s' (encode, decode, train, inspect, merge)", argv[1]);
}
