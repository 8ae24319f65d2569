/*
 * train.c - winnow train: the reference trainer and the uses of its model.
 *
 *   winnow train --data NAME=PATH[:W]... [OPTIONS]   train (or resume)
 *   winnow train sample --ckpt C [--prompt TEXT]      generate text
 *   winnow train score --ckpt C [INPUT...]            per-document loss
 *   winnow train export --ckpt C -o DIR               safetensors + config.json
 *   winnow train import DIR -o FILE.wckpt             and back
 *
 * The command parses, opens and reports; the model, optimizer, data and
 * checkpoints live in train/ (trainer.h is the entry).  Signals: SIGUSR1
 * writes a checkpoint after the current step and goes on; SIGTERM and
 * SIGINT write one and stop (exit 1: the run did not finish), so a Slurm
 * job requeued with --resume continues where it was stopped.
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/hash.h"
#include "cmd.h"
#include "../lib/buf.h"
#include "../lib/db.h"
#include "../lib/doc.h"
#include "../lib/jtree.h"
#include "../lib/log.h"
#include "../lib/opts.h"
#include "../lib/run.h"
#include "../lib/shard.h"
#include "../tokenize/bpe.h"
#include "../train/ckpt.h"
#include "../train/data.h"
#include "../train/export.h"
#include "../train/model.h"
#include "../train/trainer.h"

void openblas_set_num_threads(int);

static const char usage_text[] =
"usage: winnow train --data NAME=PATH[:WEIGHT]... [OPTIONS]\n"
"       winnow train sample|score|export|import [OPTIONS] (see below)\n"
"\n"
"Train a decoder-only transformer (RoPE, SwiGLU, RMSNorm pre-norm, GQA,\n"
"untied embeddings: Llama's architecture) on winnow token windows\n"
"(winnow tok encode --format winnow), one file per domain.\n"
"\n"
"Data:\n"
"      --data NAME=PATH[:W]  a domain: its .wtok file and sampling weight (weights\n"
"                            given to none: in proportion to the domains' windows)\n"
"      --eval NAME=PATH      held-out windows of domain NAME (default: the last\n"
"                            windows of its --data file, see --eval-windows)\n"
"      --eval-windows N      held-out windows per domain, at most 1/10 of a file (default 32)\n"
"      --doc-mask            attend within documents only, positions restarting at\n"
"                            each document's start\n"
"Model:\n"
"      --preset NAME         tiny (1M), small (10M), base (50M parameters; default tiny)\n"
"      --dim N --layers N --heads N --kv-heads N --hidden N   override the preset\n"
"      --rope-theta F        RoPE base (default 10000)\n"
"      --vocab-size N        default: the token files' vocabulary\n"
"      --init CKPT           start from a checkpoint's parameters (e.g. an import)\n"
"Optimisation:\n"
"      --steps N             optimizer steps (default 1000)\n"
"      --batch-size B        rows of seq_len tokens per micro-batch (default 8)\n"
"      --accum K             micro-batches per step (default 1)\n"
"      --batch-tokens N      micro-batches per step to reach N token positions\n"
"                            (sets --accum to ceil(N / (batch-size x seq_len)))\n"
"      --lr F                peak learning rate (default 3e-3)\n"
"      --min-lr F            final learning rate (default lr/10)\n"
"      --warmup N            warmup steps (default 5% of steps)\n"
"      --schedule S          cosine (default), wsd, constant\n"
"      --decay-steps N       wsd: steps of the final decay (default 20% of steps)\n"
"      --weight-decay F      AdamW weight decay (default 0.1; not on norms, embedding)\n"
"      --decay-embed         weight decay on the embedding too\n"
"      --beta1 F --beta2 F --adam-eps F   AdamW (default 0.9, 0.95, 1e-8)\n"
"      --clip F              global gradient-norm clipping (default 1; 0 none)\n"
"      --seed N              initialisation and data order (default 1)\n"
"      --threads N           threads (default: all cores); results are repeatable\n"
"                            for a given count\n"
"Checkpoints and records:\n"
"      --ckpt-dir DIR        write checkpoints to DIR (step-N.wckpt)\n"
"      --ckpt-every N        every N steps (default 0: at the end and on signals)\n"
"      --keep N              keep the newest N checkpoints (default 3; 0 all)\n"
"      --resume              continue from the newest checkpoint in --ckpt-dir\n"
"      --halt-after N        stop after N steps of this invocation, with a checkpoint\n"
"      --eval-every N        evaluate the held-out windows every N steps (default 0: end)\n"
"      --log-every N         print a line every N steps (default 10)\n"
"      --stats DB            record steps, per-domain losses, evaluations in SQLite\n"
"      --dump DIR            write each step's batch, gradients and parameters (tests)\n"
"  -q, --quiet               print nothing but errors\n"
"  -h, --help                show this help\n";

static const char sample_usage[] =
"usage: winnow train sample --ckpt CKPT [OPTIONS]\n"
"Generate text from a checkpoint (a file, or a --ckpt-dir's newest).\n"
"      --ckpt CKPT           checkpoint file or directory\n"
"      --tokenizer SPEC      vocabulary as for winnow tok --vocab (default: the one\n"
"                            the training data were encoded with)\n"
"      --prompt TEXT         start from TEXT (default: the end-of-text token alone)\n"
"  -n, --tokens N            tokens to generate (default 200)\n"
"      --temperature F       sampling temperature (default 0.8; 0 greedy)\n"
"      --top-k K             sample among the K likeliest (default 40; 0 all)\n"
"      --seed N              random seed (default 1)\n"
"      --threads N           threads\n";

static const char score_usage[] =
"usage: winnow train score --ckpt CKPT [OPTIONS] [INPUT...]\n"
"Add each document's mean token loss (\"token_loss\", nats), \"perplexity\" and\n"
"\"ppl_tokens\" under the model, as a perplexity filter reads them.  Long\n"
"documents are scored in windows of the model's sequence length.\n"
"      --ckpt CKPT --tokenizer SPEC --threads N   as for sample\n"
"      (and the common options of the document tools: -o, -O, --stats, ...)\n";

static const char export_usage[] =
"usage: winnow train export --ckpt CKPT -o DIR\n"
"Write DIR/model.safetensors and a Llama DIR/config.json.\n"
"usage: winnow train import DIR -o FILE.wckpt\n"
"Read a Llama model.safetensors + config.json back into a checkpoint.\n";

enum {
	OPT_DATA = 0x2000, OPT_EVAL, OPT_EVAL_WINDOWS, OPT_DOC_MASK, OPT_PRESET, OPT_DIM, OPT_LAYERS, OPT_HEADS,
	OPT_KV_HEADS, OPT_HIDDEN, OPT_ROPE_THETA, OPT_VOCAB_SIZE, OPT_INIT, OPT_STEPS, OPT_BATCH, OPT_ACCUM,
	OPT_LR, OPT_MIN_LR, OPT_WARMUP, OPT_SCHEDULE, OPT_DECAY_STEPS, OPT_WD, OPT_DECAY_EMBED, OPT_BETA1,
	OPT_BETA2, OPT_ADAM_EPS, OPT_CLIP, OPT_SEED, OPT_THREADS, OPT_CKPT_DIR, OPT_CKPT_EVERY, OPT_KEEP,
	OPT_RESUME, OPT_HALT, OPT_BATCH_TOKENS, OPT_EVAL_EVERY, OPT_LOG_EVERY, OPT_STATS, OPT_DUMP, OPT_CKPT, OPT_TOKENIZER,
	OPT_PROMPT, OPT_TEMP, OPT_TOPK,
};

static const struct option train_opts[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "eval", required_argument, NULL, OPT_EVAL },
	{ "eval-windows", required_argument, NULL, OPT_EVAL_WINDOWS },
	{ "doc-mask", no_argument, NULL, OPT_DOC_MASK },
	{ "preset", required_argument, NULL, OPT_PRESET },
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "layers", required_argument, NULL, OPT_LAYERS },
	{ "heads", required_argument, NULL, OPT_HEADS },
	{ "kv-heads", required_argument, NULL, OPT_KV_HEADS },
	{ "hidden", required_argument, NULL, OPT_HIDDEN },
	{ "rope-theta", required_argument, NULL, OPT_ROPE_THETA },
	{ "vocab-size", required_argument, NULL, OPT_VOCAB_SIZE },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "steps", required_argument, NULL, OPT_STEPS },
	{ "batch-size", required_argument, NULL, OPT_BATCH },
	{ "accum", required_argument, NULL, OPT_ACCUM },
	{ "batch-tokens", required_argument, NULL, OPT_BATCH_TOKENS },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "min-lr", required_argument, NULL, OPT_MIN_LR },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "schedule", required_argument, NULL, OPT_SCHEDULE },
	{ "decay-steps", required_argument, NULL, OPT_DECAY_STEPS },
	{ "weight-decay", required_argument, NULL, OPT_WD },
	{ "decay-embed", no_argument, NULL, OPT_DECAY_EMBED },
	{ "beta1", required_argument, NULL, OPT_BETA1 },
	{ "beta2", required_argument, NULL, OPT_BETA2 },
	{ "adam-eps", required_argument, NULL, OPT_ADAM_EPS },
	{ "clip", required_argument, NULL, OPT_CLIP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "ckpt-dir", required_argument, NULL, OPT_CKPT_DIR },
	{ "ckpt-every", required_argument, NULL, OPT_CKPT_EVERY },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "halt-after", required_argument, NULL, OPT_HALT },
	{ "eval-every", required_argument, NULL, OPT_EVAL_EVERY },
	{ "log-every", required_argument, NULL, OPT_LOG_EVERY },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ---- small parsers ---- */

static int num_f(const char *opt, const char *arg, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (*end || end == arg || errno || !(v >= lo && v <= hi)) {
		cmd_usage_error("--%s: '%s' is not a number in %g..%g", opt, arg, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static void set_threads(int n)
{
	if (n <= 0) n = wn_ncpus();
	omp_set_num_threads(n);
	openblas_set_num_threads(n);
}

/* The measured single-precision matrix rate on this machine (GFLOP/s),
 * for MFU: three 1024^3 products, the best of them. */
static double sgemm_rate(void)
{
	size_t n = 1024;
	float *a = calloc(n * n, sizeof(float)), *b = calloc(n * n, sizeof(float)), *c = calloc(n * n, sizeof(float));
	if (!a || !b || !c) {
		free(a);
		free(b);
		free(c);
		return 0;
	}
	for (size_t i = 0; i < n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
	double best = 0;
	for (int r = 0; r < 4; r++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f, a, (int)n, b,
			    (int)n, 0.0f, c, (int)n);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
		double g = 2.0 * (double)n * n * n / s / 1e9;
		if (r && g > best) best = g; /* the first run warms up */
	}
	free(a);
	free(b);
	free(c);
	return best;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The process's peak resident memory in MiB (VmHWM), 0 if unknown. */
static double peak_rss_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = 0;
	if (!f) return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6)) kb = strtod(line + 6, NULL);
	fclose(f);
	return kb / 1024;
}

static volatile sig_atomic_t sig_ckpt, sig_stop;
static void on_usr1(int s) { (void)s; sig_ckpt = 1; }
static void on_term(int s) { (void)s; sig_stop = 1; }

/* ---- checkpoints by path or directory ---- */

/* Read CKPT (a file, or the newest readable checkpoint of a directory). */
static int read_ckpt(const char *arg, wn_ckpt *c, char *used, size_t usedlen)
{
	char err[1024];
	struct stat st;
	if (!stat(arg, &st) && S_ISDIR(st.st_mode)) {
		int n;
		char **v = wn_ckpt_list(arg, &n);
		int rc = -1;
		for (int i = 0; i < n; i++) {
			if (rc && !wn_ckpt_read(v[i], c, err, sizeof err)) {
				rc = 0;
				snprintf(used, usedlen, "%s", v[i]);
			} else if (rc) {
				wn_warn("%s (trying an older checkpoint)", err);
			}
			free(v[i]);
		}
		free(v);
		if (rc) wn_error("%s: no readable checkpoint (step-N.wckpt)", arg);
		return rc;
	}
	if (wn_ckpt_read(arg, c, err, sizeof err)) {
		wn_error("%s", err);
		return -1;
	}
	snprintf(used, usedlen, "%s", arg);
	return 0;
}

/* A member of the checkpoint's options JSON as a string ("" if absent). */
static void opt_str(const char *json, const char *key, char *out, size_t n)
{
	out[0] = 0;
	wn_jtree j = { 0 };
	char err[128];
	if (!json || wn_jtree_parse(&j, json, strlen(json), err, sizeof err)) return;
	const wn_jnode *x = wn_jtree_get(&j, &j.n[0], key);
	if (x && x->type == WN_JT_STR) snprintf(out, n, "%.*s", (int)x->slen, x->s);
	else if (x && x->type == WN_JT_NUM) snprintf(out, n, "%.17g", x->d);
	wn_jtree_free(&j);
}

/* ---- the stats tables ---- */

#define TRAIN_TABLES_SQL                                                                                          \
	"CREATE TABLE IF NOT EXISTS train_runs (run_id INTEGER NOT NULL, options TEXT NOT NULL, "                \
	"parameters INTEGER NOT NULL, nonembed_parameters INTEGER NOT NULL, flops_per_token REAL NOT NULL, "      \
	"sgemm_gflops REAL);"                                                                                     \
	"CREATE TABLE IF NOT EXISTS train_steps (run_id INTEGER NOT NULL, step INTEGER NOT NULL, "              \
	"tokens INTEGER NOT NULL, loss REAL NOT NULL, lr REAL NOT NULL, grad_norm REAL NOT NULL, "               \
	"seconds REAL NOT NULL, tokens_per_s REAL, gflops REAL, mfu REAL);"                                       \
	"CREATE TABLE IF NOT EXISTS train_domain_loss (run_id INTEGER NOT NULL, step INTEGER NOT NULL, "        \
	"split TEXT NOT NULL, domain TEXT NOT NULL, loss_sum REAL NOT NULL, tokens INTEGER NOT NULL);"

typedef struct train_cmd {
	wn_db *db;
	int64_t run_id;
	const char *stats;
	wn_buf sql;          /* rows not yet written */
} train_cmd;

static int flush_sql(train_cmd *tc)
{
	if (!tc->db || !tc->sql.len) return 0;
	int rc = wn_db_exec(tc->db, tc->sql.data); /* one transaction */
	wn_buf_reset(&tc->sql);
	if (rc) wn_error("%s: %s", tc->stats, wn_db_error(tc->db));
	return rc;
}

static void add_row(train_cmd *tc, const char *fmt, ...)
{
	if (!tc->db) return;
	va_list ap;
	va_start(ap, fmt);
	char *row = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	wn_buf_adds(&tc->sql, row);
	sqlite3_free(row);
}

/* ---- training ---- */

typedef struct spec_list {
	wn_data_spec *v;
	char **own;
	int n, nown;
	struct { char *name, *path; } *ev;
	int nev;
} spec_list;

static int add_data(spec_list *s, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1]) return cmd_usage_error("--data: '%s' is not NAME=PATH[:WEIGHT]", arg), -1;
	char *name = strndup(arg, (size_t)(eq - arg)), *path = strdup(eq + 1);
	double w = NAN; /* none given: the domain's share of the windows */
	char *colon = strrchr(path, ':');
	if (colon) {
		char *end;
		errno = 0;
		double v = strtod(colon + 1, &end);
		if (!*end && end != colon + 1 && !errno) {
			if (!(v >= 0) || !isfinite(v)) {
				cmd_usage_error("--data: weight '%s' must be >= 0", colon + 1);
				free(name);
				free(path);
				return -1;
			}
			w = v;
			*colon = 0;
		}
	}
	s->v = realloc(s->v, (size_t)(s->n + 1) * sizeof *s->v);
	s->v[s->n++] = (wn_data_spec){ name, path, w, NULL };
	return 0;
}

static void free_specs(spec_list *s)
{
	for (int i = 0; i < s->n; i++) {
		free((char *)s->v[i].name);
		free((char *)s->v[i].path);
	}
	for (int i = 0; i < s->nev; i++) {
		free(s->ev[i].name);
		free(s->ev[i].path);
	}
	free(s->v);
	free(s->ev);
}

static void options_json(wn_buf *o, const spec_list *s, const wn_train_opts *to, const wn_data *d, int doc_mask,
			 uint64_t seed, int threads, const char *preset)
{
	wn_buf_adds(o, "{\"domains\":[");
	for (int i = 0; i < s->n; i++) {
		if (i) wn_buf_adds(o, ",");
		wn_json_escape(o, s->v[i].name, strlen(s->v[i].name));
	}
	wn_buf_addf(o, "],\"batch_size\":%zu,\"accum\":%zu,\"seq_len\":%d,\"steps\":%llu,\"seed\":%llu,"
		       "\"doc_mask\":%d,\"threads\":%d,\"preset\":\"%s\",\"schedule\":\"%s\",\"lr\":%.9g,"
		       "\"min_lr\":%.9g,\"warmup\":%llu,\"decay_steps\":%llu,\"weight_decay\":%.9g,\"clip\":%.9g,"
		       "\"beta1\":%.9g,\"beta2\":%.9g,\"adam_eps\":%.9g,\"eos\":%u,\"tokenizer\":",
		    to->batch, to->accum, wn_data_seq_len(d), (unsigned long long)to->steps, (unsigned long long)seed,
		    doc_mask, threads, preset, wn_schedule_name(to->sched.kind), (double)to->sched.lr,
		    (double)to->sched.min_lr, (unsigned long long)to->sched.warmup, (unsigned long long)to->sched.decay,
		    (double)to->weight_decay, (double)to->clip, (double)to->adamw.beta1, (double)to->adamw.beta2,
		    (double)to->adamw.eps, wn_data_eos(d));
	const char *tk = wn_data_tokenizer(d);
	wn_json_escape(o, tk, strlen(tk));
	wn_buf_adds(o, "}");
}

/* The fields a resumed run must share with its checkpoint to continue it. */
static int check_resume(const char *saved, const char *now)
{
	static const char *keys[] = { "batch_size", "accum", "seq_len", "seed", "doc_mask" };
	static const char *opts[] = { "--batch-size", "--accum", "the windows' seq_len", "--seed", "--doc-mask" };
	char a[256], b[256];
	wn_jtree j = { 0 };
	char err[128];
	if (wn_jtree_parse(&j, saved, strlen(saved), err, sizeof err)) return 0;
	const wn_jnode *ds = wn_jtree_get(&j, &j.n[0], "domains");
	wn_jtree k = { 0 };
	wn_jtree_parse(&k, now, strlen(now), err, sizeof err);
	const wn_jnode *dn = wn_jtree_get(&k, &k.n[0], "domains");
	int ok = 1;
	if (ds && dn && ds->count == dn->count) {
		for (size_t i = 0; i < ds->count; i++) {
			const wn_jnode *x = wn_jtree_child(&j, ds, i), *y = wn_jtree_child(&k, dn, i);
			if (x->slen != y->slen || memcmp(x->s, y->s, x->slen)) {
				wn_error("--resume: domain %zu is '%.*s' in the checkpoint, '%.*s' now", i + 1, (int)x->slen,
					 x->s, (int)y->slen, y->s);
				ok = 0;
			}
		}
	} else if (ds && dn) {
		wn_error("--resume: the checkpoint has %zu domains, this run %zu", ds->count, dn->count);
		ok = 0;
	}
	wn_jtree_free(&j);
	wn_jtree_free(&k);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		opt_str(saved, keys[i], a, sizeof a);
		opt_str(now, keys[i], b, sizeof b);
		if (strcmp(a, b)) {
			wn_error("--resume: %s was %s, now %s (a resumed run must keep it)", opts[i], a, b);
			ok = 0;
		}
	}
	opt_str(saved, "threads", a, sizeof a);
	opt_str(now, "threads", b, sizeof b);
	if (ok && strcmp(a, b))
		wn_warn("--resume: %s threads before, %s now: the losses will not repeat bit for bit", a, b);
	return ok ? 0 : -1;
}

static void log_eval(train_cmd *tc, wn_trainer *tr, wn_data *d, int quiet)
{
	int nd = wn_data_domains(d);
	double *s = calloc((size_t)nd, sizeof *s);
	uint64_t *c = calloc((size_t)nd, sizeof *c);
	wn_trainer_eval(tr, s, c);
	uint64_t step = wn_trainer_steps_done(tr);
	wn_buf line = WN_BUF_INIT;
	wn_buf_addf(&line, "eval step %llu |", (unsigned long long)step);
	for (int i = 0; i < nd; i++) {
		if (!c[i]) continue;
		wn_buf_addf(&line, " %s %.4f", wn_data_name(d, i), s[i] / (double)c[i]);
		add_row(tc, "INSERT INTO train_domain_loss VALUES (%lld, %llu, 'eval', %Q, %.17g, %llu);",
			(long long)tc->run_id, (unsigned long long)step, wn_data_name(d, i), s[i],
			(unsigned long long)c[i]);
	}
	if (!quiet) wn_info("%s", line.data);
	wn_buf_release(&line);
	free(s);
	free(c);
}

static int cmd_train_run(int argc, char **argv)
{
	spec_list specs = { 0 };
	const char *preset = "tiny", *init = NULL, *ckpt_dir = NULL, *stats = NULL, *dump = NULL;
	long long dim = 0, layers = 0, heads = 0, kv = 0, hidden = 0, vocab = 0, steps = 1000, batch = 8, accum = 1;
	long long warmup = -1, decay_steps = -1, seed = 1, threads = 0, ckpt_every = 0, keep = 3, halt = 0;
	long long eval_every = 0, log_every = 10, eval_windows = 32, batch_tokens = 0;
	double rope_theta = 10000, lr = 3e-3, min_lr = -1, wd = 0.1, beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8,
	       clip = 1.0;
	int doc_mask = 0, resume = 0, quiet = 0, decay_embed = 0, sched = WN_SCHED_COSINE, opt, rc = 2;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":qh", train_opts, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case OPT_DATA: bad = add_data(&specs, optarg); break;
		case OPT_EVAL: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1]) {
				cmd_usage_error("--eval: '%s' is not NAME=PATH", optarg);
				goto out;
			}
			specs.ev = realloc(specs.ev, (size_t)(specs.nev + 1) * sizeof *specs.ev);
			specs.ev[specs.nev].name = strndup(optarg, (size_t)(eq - optarg));
			specs.ev[specs.nev++].path = strdup(eq + 1);
			break;
		}
		case OPT_EVAL_WINDOWS: bad = cmd_parse_ll("eval-windows", optarg, 0, 1LL << 40, &eval_windows); break;
		case OPT_DOC_MASK: doc_mask = 1; break;
		case OPT_PRESET: preset = optarg; break;
		case OPT_DIM: bad = cmd_parse_ll("dim", optarg, 2, 65536, &dim); break;
		case OPT_LAYERS: bad = cmd_parse_ll("layers", optarg, 1, 1024, &layers); break;
		case OPT_HEADS: bad = cmd_parse_ll("heads", optarg, 1, 4096, &heads); break;
		case OPT_KV_HEADS: bad = cmd_parse_ll("kv-heads", optarg, 1, 4096, &kv); break;
		case OPT_HIDDEN: bad = cmd_parse_ll("hidden", optarg, 1, 1 << 20, &hidden); break;
		case OPT_ROPE_THETA: bad = num_f("rope-theta", optarg, 1.0001, 1e12, &rope_theta); break;
		case OPT_VOCAB_SIZE: bad = cmd_parse_ll("vocab-size", optarg, 2, 1 << 24, &vocab); break;
		case OPT_INIT: init = optarg; break;
		case OPT_STEPS: bad = cmd_parse_ll("steps", optarg, 1, 1LL << 40, &steps); break;
		case OPT_BATCH: bad = cmd_parse_ll("batch-size", optarg, 1, 1 << 16, &batch); break;
		case OPT_ACCUM: bad = cmd_parse_ll("accum", optarg, 1, 1 << 16, &accum); break;
		case OPT_BATCH_TOKENS: bad = cmd_parse_ll("batch-tokens", optarg, 1, 1LL << 40, &batch_tokens); break;
		case OPT_LR: bad = num_f("lr", optarg, 0, 10, &lr); break;
		case OPT_MIN_LR: bad = num_f("min-lr", optarg, 0, 10, &min_lr); break;
		case OPT_WARMUP: bad = cmd_parse_ll("warmup", optarg, 0, 1LL << 40, &warmup); break;
		case OPT_SCHEDULE:
			if (!(sched = wn_schedule_kind(optarg))) {
				cmd_usage_error("--schedule: '%s' is not cosine, wsd or constant", optarg);
				goto out;
			}
			break;
		case OPT_DECAY_STEPS: bad = cmd_parse_ll("decay-steps", optarg, 0, 1LL << 40, &decay_steps); break;
		case OPT_WD: bad = num_f("weight-decay", optarg, 0, 10, &wd); break;
		case OPT_DECAY_EMBED: decay_embed = 1; break;
		case OPT_BETA1: bad = num_f("beta1", optarg, 0, 0.999999, &beta1); break;
		case OPT_BETA2: bad = num_f("beta2", optarg, 0, 0.999999, &beta2); break;
		case OPT_ADAM_EPS: bad = num_f("adam-eps", optarg, 1e-30, 1, &adam_eps); break;
		case OPT_CLIP: bad = num_f("clip", optarg, 0, 1e30, &clip); break;
		case OPT_SEED: bad = cmd_parse_ll("seed", optarg, 0, 1LL << 62, &seed); break;
		case OPT_THREADS: bad = cmd_parse_ll("threads", optarg, 1, 1024, &threads); break;
		case OPT_CKPT_DIR: ckpt_dir = optarg; break;
		case OPT_CKPT_EVERY: bad = cmd_parse_ll("ckpt-every", optarg, 0, 1LL << 40, &ckpt_every); break;
		case OPT_KEEP: bad = cmd_parse_ll("keep", optarg, 0, 1 << 20, &keep); break;
		case OPT_RESUME: resume = 1; break;
		case OPT_HALT: bad = cmd_parse_ll("halt-after", optarg, 1, 1LL << 40, &halt); break;
		case OPT_EVAL_EVERY: bad = cmd_parse_ll("eval-every", optarg, 0, 1LL << 40, &eval_every); break;
		case OPT_LOG_EVERY: bad = cmd_parse_ll("log-every", optarg, 0, 1LL << 40, &log_every); break;
		case OPT_STATS: stats = optarg; break;
		case OPT_DUMP: dump = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		default:
			rc = cmd_bad_option(opt, argv);
			goto out;
		}
		if (bad) goto out;
	}
	if (optind < argc) {
		cmd_usage_error("unexpected argument '%s' (data come with --data NAME=PATH)", argv[optind]);
		goto out;
	}
	if (!specs.n) {
		cmd_usage_error("no data: give --data NAME=PATH[:WEIGHT] (a .wtok file from winnow tok encode)");
		goto out;
	}
	int weighted = 0;
	for (int i = 0; i < specs.n; i++) weighted += !isnan(specs.v[i].weight);
	if (weighted && weighted != specs.n) {
		cmd_usage_error("give a weight to every --data domain or to none (none: in proportion to their windows)");
		goto out;
	}
	if (resume && !ckpt_dir) {
		cmd_usage_error("--resume needs --ckpt-dir");
		goto out;
	}
	if (resume && init) {
		cmd_usage_error("--resume and --init exclude each other");
		goto out;
	}
	wn_model_config mc = { 0 };
	if (wn_model_preset(preset, &mc)) {
		cmd_usage_error("--preset: '%s' is not tiny, small or base", preset);
		goto out;
	}
	for (int i = 0; i < specs.nev; i++) {
		int found = 0;
		for (int k = 0; k < specs.n; k++)
			if (!strcmp(specs.v[k].name, specs.ev[i].name)) specs.v[k].eval_path = specs.ev[i].path, found = 1;
		if (!found) {
			cmd_usage_error("--eval: no --data domain named '%s'", specs.ev[i].name);
			goto out;
		}
	}
	if (quiet) wn_log_set_quiet(1);
	set_threads((int)threads);
	int nthreads = omp_get_max_threads();
	rc = 1;

	char err[2048];
	wn_model *m = NULL;
	wn_data *d = NULL;
	wn_trainer *tr = NULL;
	wn_ckpt ck = { 0 };
	train_cmd tc = { .stats = stats };
	wn_buf_init(&tc.sql, 0);
	wn_buf optjson = WN_BUF_INIT;
	char used[4200] = "";

	d = wn_data_open(specs.v, specs.n, vocab ? (uint32_t)vocab : 0, 0, (uint64_t)seed, (uint64_t)eval_windows,
			 doc_mask, err, sizeof err);
	if (!d) {
		wn_error("%s", err);
		goto done;
	}
	int T = wn_data_seq_len(d);
	if (batch_tokens) {
		long long per = batch * T;
		accum = (batch_tokens + per - 1) / per;
		if (accum > 1 << 16) {
			wn_error("--batch-tokens %lld needs %lld micro-batches of %lld tokens; at most 65536", batch_tokens,
				 accum, per);
			goto done;
		}
	}
	/* the model's shape: a checkpoint's, else the preset's with overrides */
	if (resume || init) {
		const char *src = init;
		if (resume) {
			int n;
			char **v = wn_ckpt_list(ckpt_dir, &n);
			for (int i = 0; i < n; i++) free(v[i]);
			free(v);
			if (!n) {
				wn_warn("--resume: no checkpoint in %s yet; starting from step 0", ckpt_dir);
				resume = 0;
			}
			src = resume ? ckpt_dir : NULL;
		}
		if (src && read_ckpt(src, &ck, used, sizeof used)) goto done;
		if (src) mc = ck.cfg;
	}
	if (!ck.params) {
		if (dim) mc.dim = (int)dim;
		if (layers) mc.n_layers = (int)layers;
		if (heads) mc.n_heads = (int)heads;
		if (kv) mc.n_kv_heads = (int)kv;
		else if (heads && mc.n_heads % mc.n_kv_heads) mc.n_kv_heads = mc.n_heads;
		if (hidden) mc.hidden_dim = (int)hidden;
		mc.rope_theta = (float)rope_theta;
		mc.vocab_size = vocab ? (int)vocab : (int)wn_data_vocab(d);
		mc.max_seq_len = T;
	}
	if (mc.max_seq_len < T) {
		wn_error("the model's sequence length %d is shorter than the data's windows (%d)", mc.max_seq_len, T);
		goto done;
	}
	if (wn_data_max_id(d) >= (uint32_t)mc.vocab_size) {
		wn_error("the data hold token id %u, beyond the model's vocabulary of %d", wn_data_max_id(d),
			 mc.vocab_size);
		goto done;
	}
	if (!(m = wn_model_new(&mc, err, sizeof err))) {
		wn_error("%s", err);
		goto done;
	}
	wn_model_init(m, (uint64_t)seed);
	wn_train_opts to = {
		.batch = (size_t)batch, .accum = (size_t)accum, .steps = (uint64_t)steps,
		.sched = { .kind = sched, .lr = (float)lr, .min_lr = (float)(min_lr >= 0 ? min_lr : lr / 10),
			   .warmup = (uint64_t)(warmup >= 0 ? warmup : steps / 20), .total = (uint64_t)steps,
			   .decay = (uint64_t)(decay_steps >= 0 ? decay_steps : steps / 5) },
		.adamw = { (float)beta1, (float)beta2, (float)adam_eps },
		.weight_decay = (float)wd, .decay_embed = decay_embed, .clip = (float)clip,
	};
	if (!(tr = wn_trainer_new(m, d, &to, err, sizeof err))) {
		wn_error("%s", err);
		goto done;
	}
	options_json(&optjson, &specs, &to, d, doc_mask, (uint64_t)seed, nthreads, preset);
	if (ck.params) {
		if (resume && check_resume(ck.options, optjson.data)) goto done;
		if (!resume) { /* --init: parameters only */
			ck.m = ck.v = NULL;
			ck.step = ck.tokens = 0;
			ck.data_state_len = 0;
		}
		if (wn_trainer_resume(tr, &ck, err, sizeof err)) {
			wn_error("%s: %s", used, err);
			goto done;
		}
		if (!quiet) wn_info("%s %s at step %llu", resume ? "resuming from" : "initialised from", used,
				    (unsigned long long)ck.step);
	}
	wn_ckpt_release(&ck);

	/* what the run holds, before it starts */
	size_t P = wn_model_num_params(m);
	double fpt = wn_model_flops_per_token(m, (size_t)T), peak = sgemm_rate();
	if (!quiet) {
		wn_info("model: vocab %d, dim %d, layers %d, heads %d (kv %d), hidden %d, seq %d: %.2fM parameters "
			"(%.2fM besides the embedding)",
			mc.vocab_size, mc.dim, mc.n_layers, mc.n_heads, mc.n_kv_heads, mc.hidden_dim, T, (double)P / 1e6,
			(double)wn_model_num_nonembed(m) / 1e6);
		wn_info("memory: parameters %.1f MiB, gradients %.1f MiB, AdamW %.1f MiB, activations %.1f MiB, "
			"batch %.1f MiB",
			(double)P * 4 / 1048576, (double)P * 4 / 1048576, (double)P * 8 / 1048576,
			(double)wn_model_activation_bytes(m) / 1048576,
			(double)(wn_trainer_state_bytes(tr) - P * 8) / 1048576);
		for (int i = 0; i < wn_data_domains(d); i++)
			wn_info("data: %s weight %.3f, %llu training windows, %llu held out", wn_data_name(d, i),
				wn_data_weight(d, i), (unsigned long long)wn_data_train_windows(d, i),
				(unsigned long long)wn_data_eval_windows(d, i));
		wn_info("batch: %lld x %lld rows of %d tokens per step; %d threads; sgemm %.1f GFLOP/s", accum, batch,
			T, nthreads, peak);
	}
	if (stats) {
		if (wn_db_open(&tc.db, stats, err, sizeof err)) {
			wn_error("%s", err);
			goto done;
		}
		if (wn_db_run_begin(tc.db, "train", argc, argv, NULL, &tc.run_id)) {
			wn_error("%s: %s", stats, wn_db_error(tc.db));
			goto done;
		}
		if (wn_db_exec(tc.db, TRAIN_TABLES_SQL)) {
			wn_error("%s: %s", stats, wn_db_error(tc.db));
			goto done;
		}
		add_row(&tc, "INSERT INTO train_runs VALUES (%lld, %Q, %llu, %llu, %.17g, %.17g);", (long long)tc.run_id,
			optjson.data, (unsigned long long)P, (unsigned long long)wn_model_num_nonembed(m), fpt, peak);
	}
	if (dump) {
		if (wn_mkdirs(dump)) {
			wn_error("%s: %s", dump, strerror(errno));
			goto done;
		}
		char path[4200], extra[512];
		size_t n = wn_export_count(m);
		wn_st_tensor *t = calloc(n, sizeof *t);
		wn_export_tensors(m, wn_model_params(m), NULL, t);
		snprintf(path, sizeof path, "%s/init.safetensors", dump);
		int bad = wn_st_write(path, t, n, NULL, err, sizeof err);
		free(t);
		snprintf(extra, sizeof extra,
			 "\"winnow\": {\"weight_decay\": %.9g, \"beta1\": %.9g, \"beta2\": %.9g, \"eps\": %.9g, "
			 "\"grad_clip\": %.9g, \"no_decay\": [\"norm\"%s]}",
			 wd, beta1, beta2, adam_eps, clip, decay_embed ? "" : ", \"embed_tokens\"");
		snprintf(path, sizeof path, "%s/config.json", dump);
		if (bad || wn_export_config(path, m, wn_data_eos(d), wn_data_eos(d), extra, err, sizeof err)) {
			wn_error("%s", err);
			goto done;
		}
	}
	if (ckpt_dir && wn_mkdirs(ckpt_dir)) {
		wn_error("%s: %s", ckpt_dir, strerror(errno));
		goto done;
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rc = 0;
	int nd = wn_data_domains(d);
	double t_log = now_s(), t_step, t_flush = t_log;
	uint64_t tok_log = 0, done_here = 0;
	double rss_first = 0;
	int stopped = 0;
	while (wn_trainer_steps_done(tr) < (uint64_t)steps) {
		wn_step_result res;
		t_step = now_s();
		wn_trainer_step(tr, &res);
		double dt = now_s() - t_step;
		if (++done_here == 1) rss_first = peak_rss_mib();
		tok_log += to.batch * to.accum * (size_t)T; /* positions: the work done */
		double tps = (double)(to.batch * to.accum * (size_t)T) / dt, gf = tps * fpt / 1e9;
		if (!isfinite(res.loss)) {
			wn_error("step %llu: the loss is %g; stopping (lower --lr, or raise --warmup)",
				 (unsigned long long)res.step, res.loss);
			rc = 1;
			break;
		}
		add_row(&tc, "INSERT INTO train_steps VALUES (%lld, %llu, %llu, %.17g, %.9g, %.9g, %.6f, %.1f, %.3f, %.5f);",
			(long long)tc.run_id, (unsigned long long)res.step, (unsigned long long)wn_trainer_tokens(tr),
			res.loss, (double)res.lr, res.grad_norm, dt, tps, gf, peak > 0 ? gf / peak : 0.0);
		for (int i = 0; i < nd; i++)
			if (res.dom_tokens[i])
				add_row(&tc, "INSERT INTO train_domain_loss VALUES (%lld, %llu, 'train', %Q, %.17g, %llu);",
					(long long)tc.run_id, (unsigned long long)res.step, wn_data_name(d, i),
					res.dom_loss[i], (unsigned long long)res.dom_tokens[i]);
		if (dump && wn_trainer_dump(tr, dump, err, sizeof err)) {
			wn_error("%s", err);
			rc = 1;
			break;
		}
		if (log_every && (res.step % (uint64_t)log_every == 0 || res.step == (uint64_t)steps || res.step == 1)) {
			double now = now_s(), rate = tok_log / (now - t_log);
			if (!quiet)
				wn_info("step %llu/%lld | loss %.4f | lr %.3g | norm %.3f | %.0f tok/s | %.1f GFLOP/s | "
					"MFU %.1f%%",
					(unsigned long long)res.step, steps, res.loss, (double)res.lr, res.grad_norm, rate,
					rate * fpt / 1e9, peak > 0 ? 100.0 * rate * fpt / 1e9 / peak : 0.0);
			t_log = now;
			tok_log = 0;
			if (flush_sql(&tc)) rc = 1;
		}
		if (tc.db && now_s() - t_flush > 2.0) { /* rows reach the database every few seconds */
			if (flush_sql(&tc)) rc = 1;
			t_flush = now_s();
		}
		if (eval_every && res.step % (uint64_t)eval_every == 0 && res.step != (uint64_t)steps)
			log_eval(&tc, tr, d, quiet);
		int last = res.step == (uint64_t)steps;
		int halt_now = halt && done_here == (uint64_t)halt && !last;
		if (ckpt_dir && ((ckpt_every && res.step % (uint64_t)ckpt_every == 0) || sig_ckpt || sig_stop || last ||
				 halt_now)) {
			char path[4200];
			wn_ckpt_path(path, sizeof path, ckpt_dir, res.step);
			if (wn_trainer_save(tr, path, optjson.data, err, sizeof err)) {
				wn_error("%s", err);
				rc = 1;
				break;
			}
			wn_ckpt_prune(ckpt_dir, (int)keep);
			if (flush_sql(&tc)) rc = 1; /* the records reach the checkpoint's step */
			if (!quiet && (sig_ckpt || sig_stop || halt_now)) wn_info("checkpoint %s", path);
			sig_ckpt = 0;
		}
		if (sig_stop || halt_now) {
			stopped = 1;
			break;
		}
		if (rc) break;
	}
	if (!rc && !stopped) log_eval(&tc, tr, d, quiet);
	if (!quiet)
		wn_info("peak resident memory %.1f MiB after the first step, %.1f MiB at the end", rss_first, peak_rss_mib());
	if (flush_sql(&tc)) rc = 1;
	if (stopped && !rc) {
		if (sig_stop) {
			wn_error("stopped by a signal at step %llu%s", (unsigned long long)wn_trainer_steps_done(tr),
				 ckpt_dir ? "; continue with --resume" : " (no --ckpt-dir: nothing saved)");
			rc = 1;
		} else if (!quiet) {
			wn_info("halted after %lld steps at step %llu; continue with --resume", halt,
				(unsigned long long)wn_trainer_steps_done(tr));
		}
	}
done:
	if (tc.db) {
		wn_db_run_end(tc.db, tc.run_id, rc ? "failed" : "ok", rc);
		wn_db_close(tc.db);
	}
	wn_buf_release(&tc.sql);
	wn_buf_release(&optjson);
	wn_ckpt_release(&ck);
	wn_trainer_free(tr);
	wn_model_free(m);
	wn_data_close(d);
out:
	free_specs(&specs);
	return rc;
}

/* ---- using a model: load, tokenizer ---- */

typedef struct use_opts {
	const char *ckpt, *tokenizer;
	int threads;
} use_opts;

/* The model of a checkpoint and its tokenizer; eos from the options. */
static int load_use(const use_opts *u, wn_model **m, wn_bpe **b, uint32_t *eos)
{
	wn_ckpt c;
	char used[4200], err[1024], tk[1100] = "", eosbuf[32];
	if (read_ckpt(u->ckpt, &c, used, sizeof used)) return -1;
	if (!(*m = wn_model_new(&c.cfg, err, sizeof err))) {
		wn_error("%s: %s", used, err);
		wn_ckpt_release(&c);
		return -1;
	}
	memcpy(wn_model_params(*m), c.params, c.nparams * sizeof(float));
	opt_str(c.options, "tokenizer", tk, sizeof tk);
	opt_str(c.options, "eos", eosbuf, sizeof eosbuf);
	wn_ckpt_release(&c);
	/* the data's "vocab=SPEC pattern=P" unless --tokenizer */
	char spec[1100] = "", pat[1100] = "";
	if (u->tokenizer) snprintf(spec, sizeof spec, "%s", u->tokenizer);
	else if (!strncmp(tk, "vocab=", 6)) {
		char *p = strstr(tk, " pattern=");
		if (p) {
			snprintf(pat, sizeof pat, "%s", p + 9);
			*p = 0;
		}
		snprintf(spec, sizeof spec, "%s", tk + 6);
	}
	if (!spec[0]) {
		wn_error("%s: the checkpoint names no tokenizer; give --tokenizer", used);
		return -1;
	}
	wn_bpe_load_opts lo = { pat[0] ? pat : NULL, NULL, 0, 0 };
	if (!(*b = wn_bpe_load(spec, &lo, err, sizeof err))) {
		wn_error("%s", err);
		return -1;
	}
	if ((uint32_t)wn_model_cfg(*m)->vocab_size < wn_bpe_n_vocab(*b))
		wn_warn("the tokenizer has %u ids, the model %d", wn_bpe_n_vocab(*b), wn_model_cfg(*m)->vocab_size);
	int64_t e = wn_bpe_eos(*b);
	*eos = eosbuf[0] ? (uint32_t)strtoul(eosbuf, NULL, 10) : e >= 0 ? (uint32_t)e : 0;
	return 0;
}

static const struct option use_opts_long[] = {
	{ "ckpt", required_argument, NULL, OPT_CKPT },
	{ "tokenizer", required_argument, NULL, OPT_TOKENIZER },
	{ "prompt", required_argument, NULL, OPT_PROMPT },
	{ "tokens", required_argument, NULL, 'n' },
	{ "temperature", required_argument, NULL, OPT_TEMP },
	{ "top-k", required_argument, NULL, OPT_TOPK },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Next token from the logits: greedy, or temperature and top-k. */
static uint32_t pick(const float *logits, size_t V, double temp, long long topk, uint64_t *rng, float *scratch)
{
	size_t best = 0;
	for (size_t v = 1; v < V; v++)
		if (logits[v] > logits[best]) best = v;
	if (temp <= 0) return (uint32_t)best;
	/* the k-th largest logit as the threshold (k >= V: none) */
	float thr = -INFINITY;
	if (topk > 0 && (size_t)topk < V) {
		memcpy(scratch, logits, V * sizeof(float));
		size_t k = (size_t)topk, lo = 0, hi = V - 1, want = k - 1; /* quickselect, descending */
		while (lo < hi) {
			float p = scratch[(lo + hi) / 2];
			size_t i = lo, j = hi;
			while (i <= j) {
				while (scratch[i] > p) i++;
				while (scratch[j] < p) j--;
				if (i <= j) {
					float t = scratch[i];
					scratch[i] = scratch[j];
					scratch[j] = t;
					i++;
					if (j == 0) break;
					j--;
				}
			}
			if (want <= j) hi = j;
			else if (want >= i) lo = i;
			else break;
		}
		thr = scratch[want];
	}
	double sum = 0;
	for (size_t v = 0; v < V; v++)
		if (logits[v] >= thr) sum += exp((logits[v] - logits[best]) / temp);
	double u = (double)(wn_splitmix64(rng) >> 11) / 9007199254740992.0 * sum, acc = 0;
	for (size_t v = 0; v < V; v++)
		if (logits[v] >= thr) {
			acc += exp((logits[v] - logits[best]) / temp);
			if (u < acc) return (uint32_t)v;
		}
	return (uint32_t)best;
}

static int cmd_train_sample(int argc, char **argv)
{
	use_opts u = { 0 };
	const char *prompt = NULL;
	long long n = 200, topk = 40, seed = 1, threads = 0;
	double temp = 0.8;
	int opt, rc = 2;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":n:h", use_opts_long, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case OPT_CKPT: u.ckpt = optarg; break;
		case OPT_TOKENIZER: u.tokenizer = optarg; break;
		case OPT_PROMPT: prompt = optarg; break;
		case 'n': bad = cmd_parse_ll("tokens", optarg, 0, 1 << 24, &n); break;
		case OPT_TEMP: bad = num_f("temperature", optarg, 0, 100, &temp); break;
		case OPT_TOPK: bad = cmd_parse_ll("top-k", optarg, 0, 1 << 24, &topk); break;
		case OPT_SEED: bad = cmd_parse_ll("seed", optarg, 0, 1LL << 62, &seed); break;
		case OPT_THREADS: bad = cmd_parse_ll("threads", optarg, 1, 1024, &threads); break;
		case 'h':
			fputs(sample_usage, stdout);
			return 0;
		default:
			return cmd_bad_option(opt, argv);
		}
		if (bad) return 2;
	}
	if (!u.ckpt) return cmd_usage_error("sample needs --ckpt CKPT");
	if (optind < argc) return cmd_usage_error("unexpected argument '%s'", argv[optind]);
	set_threads((int)threads);
	rc = 1;
	wn_model *m = NULL;
	wn_bpe *b = NULL;
	uint32_t eos;
	if (load_use(&u, &m, &b, &eos)) goto out;
	const wn_model_config *c = wn_model_cfg(m);
	size_t T = (size_t)c->max_seq_len, V = (size_t)c->vocab_size;
	wn_ids ids = { 0 };
	wn_bpe_state *st = wn_bpe_state_new(b);
	/* the context starts with the end-of-text token, as documents do in
	 * the packed data after their predecessor */
	uint32_t first = eos;
	wn_ids_push(&ids, first);
	if (prompt) wn_bpe_encode(st, prompt, strlen(prompt), 0, &ids);
	wn_bpe_state_free(st);
	if (wn_model_reserve(m, 1, T)) {
		wn_error("out of memory");
		goto out2;
	}
	int32_t *ctx = malloc(T * sizeof *ctx);
	float *scratch = malloc(V * sizeof *scratch);
	uint64_t rng = (uint64_t)seed;
	wn_buf text = WN_BUF_INIT;
	size_t bad;
	if (prompt) fputs(prompt, stdout);
	for (long long k = 0; k < n; k++) {
		size_t len = ids.n < T ? ids.n : T, start = ids.n - len;
		for (size_t i = 0; i < len; i++) ctx[i] = (int32_t)ids.v[start + i];
		wn_model_forward(m, ctx, NULL, NULL, NULL, 1, len, NULL);
		uint32_t next = pick(wn_model_logits(m) + (len - 1) * V, V, temp, topk, &rng, scratch);
		if (next == eos) break;
		wn_ids_push(&ids, next);
		wn_buf_reset(&text);
		if (wn_bpe_decode(b, &next, 1, &text, &bad) == 0) fwrite(text.data, 1, text.len, stdout);
		fflush(stdout);
	}
	fputc('\n', stdout);
	rc = fflush(stdout) ? 1 : 0;
	wn_buf_release(&text);
	free(ctx);
	free(scratch);
out2:
	wn_ids_release(&ids);
out:
	wn_model_free(m);
	wn_bpe_free(b);
	return rc;
}

/* ---- score ---- */

typedef struct scorer {
	wn_model *m;
	wn_bpe *b;
	wn_bpe_state *st;
	uint32_t eos;
	wn_ids ids;
	int32_t *in, *tg;
	float *loss;
} scorer;

static int score_doc(void *ctx, wn_item *it, wn_doc *d)
{
	(void)it;
	scorer *s = ctx;
	size_t T = (size_t)wn_model_cfg(s->m)->max_seq_len;
	s->ids.n = 0;
	wn_ids_push(&s->ids, s->eos);
	wn_bpe_encode(s->st, d->text.data, d->text.len, 0, &s->ids);
	wn_ids_push(&s->ids, s->eos);
	/* windows of T+1 tokens sharing one token: every token after the
	 * leading EOS is predicted once */
	double sum = 0;
	uint64_t cnt = 0;
	for (size_t a = 0; a + 1 < s->ids.n; a += T) {
		size_t len = s->ids.n - a - 1 < T ? s->ids.n - a - 1 : T;
		for (size_t i = 0; i < len; i++) {
			s->in[i] = (int32_t)s->ids.v[a + i];
			s->tg[i] = (int32_t)s->ids.v[a + i + 1];
		}
		sum += wn_model_forward(s->m, s->in, s->tg, NULL, NULL, 1, len, s->loss);
		cnt += len;
	}
	double mean = cnt ? sum / (double)cnt : 0;
	wn_doc_set_num(d, "token_loss", mean);
	wn_doc_set_num(d, "perplexity", exp(mean));
	wn_doc_set_int(d, "ppl_tokens", (long long)cnt);
	return WN_KEEP;
}

static int cmd_train_score(int argc, char **argv)
{
	use_opts u = { 0 };
	long long threads = 0;
	wn_opts o;
	wn_opts_init(&o);
	static const struct option own[] = {
		{ "ckpt", required_argument, NULL, OPT_CKPT },
		{ "tokenizer", required_argument, NULL, OPT_TOKENIZER },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ NULL, 0, NULL, 0 },
	};
	struct option *lo = wn_opts_longopts(own);
	int opt, rc;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, WN_OPTS_SHORT, lo, NULL)) != -1) {
		switch (opt) {
		case OPT_CKPT: u.ckpt = optarg; break;
		case OPT_TOKENIZER: u.tokenizer = optarg; break;
		case OPT_THREADS:
			if (cmd_parse_ll("threads", optarg, 1, 1024, &threads)) {
				free(lo);
				return 2;
			}
			break;
		default:
			if ((rc = cmd_other_option(opt, &o, score_usage, argv)) >= 0) {
				free(lo);
				return rc;
			}
		}
	}
	free(lo);
	char err[512];
	if (wn_opts_finish(&o, err, sizeof err)) return cmd_usage_error("%s", err);
	if (!u.ckpt) return cmd_usage_error("score needs --ckpt CKPT");
	set_threads((int)threads);
	scorer s = { 0 };
	rc = 1;
	if (load_use(&u, &s.m, &s.b, &s.eos)) goto out;
	size_t T = (size_t)wn_model_cfg(s.m)->max_seq_len;
	s.st = wn_bpe_state_new(s.b);
	s.in = malloc(T * sizeof *s.in);
	s.tg = malloc(T * sizeof *s.tg);
	s.loss = malloc(T * sizeof *s.loss);
	if (wn_model_reserve(s.m, 1, T) || !s.in || !s.tg || !s.loss) {
		wn_error("out of memory");
		goto out;
	}
	wn_run r = { 0 };
	r.tool = "train";
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.fn = score_doc;
	r.ctx = &s;
	r.threads = 1; /* the model uses the threads */
	rc = wn_run_main(&r, argc - optind, argv + optind);
out:
	free(s.in);
	free(s.tg);
	free(s.loss);
	wn_ids_release(&s.ids);
	wn_bpe_state_free(s.st);
	wn_bpe_free(s.b);
	wn_model_free(s.m);
	return rc;
}

/* ---- export, import ---- */

static int cmd_train_export(int argc, char **argv, int import)
{
	const char *ckpt = NULL, *out = NULL;
	int opt;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":o:h", use_opts_long, NULL)) != -1) {
		switch (opt) {
		case OPT_CKPT: ckpt = optarg; break;
		case 'o': out = optarg; break;
		case 'h': fputs(export_usage, stdout); return 0;
		default: return cmd_bad_option(opt, argv);
		}
	}
	char err[2048];
	if (import) {
		if (optind + 1 != argc || !out) return cmd_usage_error("usage: winnow train import DIR -o FILE.wckpt");
		uint32_t eos = 0;
		wn_model *m = wn_import(argv[optind], &eos, err, sizeof err);
		if (!m) {
			wn_error("%s", err);
			return 1;
		}
		char opts[256];
		snprintf(opts, sizeof opts, "{\"imported\":true,\"eos\":%u,\"tokenizer\":\"\"}", eos);
		wn_ckpt c = { .cfg = *wn_model_cfg(m), .nparams = wn_model_num_params(m), .params = wn_model_params(m),
			      .options = opts };
		int rc = wn_ckpt_write(out, &c, err, sizeof err);
		if (rc) wn_error("%s", err);
		wn_model_free(m);
		return rc ? 1 : 0;
	}
	if (!ckpt || !out || optind != argc) return cmd_usage_error("usage: winnow train export --ckpt CKPT -o DIR");
	wn_ckpt c;
	char used[4200], eosbuf[32], tk[1100];
	if (read_ckpt(ckpt, &c, used, sizeof used)) return 1;
	wn_model *m = wn_model_new(&c.cfg, err, sizeof err);
	if (!m) {
		wn_error("%s: %s", used, err);
		wn_ckpt_release(&c);
		return 1;
	}
	memcpy(wn_model_params(m), c.params, c.nparams * sizeof(float));
	opt_str(c.options, "eos", eosbuf, sizeof eosbuf);
	opt_str(c.options, "tokenizer", tk, sizeof tk);
	wn_ckpt_release(&c);
	uint32_t eos = (uint32_t)strtoul(eosbuf, NULL, 10);
	int rc = wn_export(out, m, eos, eos, tk, err, sizeof err);
	if (rc) wn_error("%s", err);
	wn_model_free(m);
	return rc ? 1 : 0;
}

int cmd_train(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		const char *const all[] = { usage_text, sample_usage, score_usage, export_usage };
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
			if (i) fputs("\n", stdout);
			fputs(all[i], stdout);
		}
		fputs("\nCommon options of score:\n", stdout);
		fputs(WN_OPTS_HELP, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "sample")) return cmd_train_sample(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "score")) return cmd_train_score(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "export")) return cmd_train_export(argc - 1, argv + 1, 0);
	if (argc >= 2 && !strcmp(argv[1], "import")) return cmd_train_export(argc - 1, argv + 1, 1);
	return cmd_train_run(argc, argv);
}
