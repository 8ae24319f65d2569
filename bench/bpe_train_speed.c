/*
 * bpe_train_speed.c - how fast winnow's BPE trainer (tokenize/bpe_train.h)
 * is, phase by phase.  Not part of `make`; bench/bpe_train_speed.sh builds
 * it against a library build of its own and runs it beside spm_train:
 *
 *   bpe_train_speed [-m MB] [-v VOCAB] [-t THREADS] [-f MIN_FREQ]
 *                   [-w TEXT.txt] [-o DIR] [-q] FILE...
 *   bpe_train_speed -R [-m MB] FILE...        (the counter alone)
 *
 * Input: JSONL shards (any compression; the "text" field of each
 * document) or, for a FILE not ending in .jsonl[.zst|.gz], plain UTF-8
 * text read as one document per line.  The first MB megabytes of text
 * (default 100) are kept in memory (read time is reported apart).  -w
 * writes exactly that text to TEXT.txt, one line per line of the texts,
 * so that a reference trainer (spm_train) sees the same bytes.
 *
 * Pre-tokenisation: PCRE2 with JIT, the cl100k_base pattern (UTF, UCP),
 * over every document, on THREADS threads (default 2): each thread counts
 * the pre-tokens of a contiguous slice of the documents in its own
 * wn_bpe_counts, then the maps are merged into one (timed apart).  Then
 * wn_bpe_train() to VOCAB (default 32000, <|endoftext|> included) with
 * the same threads.  Prints the time of each phase, the trainer's stats
 * (distinct pre-tokens, symbols, pairs, merges, bytes per token on the
 * training text), the trainer's own peak allocation and the process's
 * peak RSS.  -o DIR writes DIR/bpe.tiktoken and DIR/tokenizer.json.
 *
 * -R: the counter alone.  The pre-tokens are found first (one thread, not
 * timed) and kept as spans; then wn_bpe_counts_add() of every span into
 * an empty map on one thread is timed, best of 3: adds per second, and
 * the same for wn_bpe_counts_merge() of two halves.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <getopt.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/doc.h"
#include "../lib/err.h"
#include "../lib/shard.h"
#include "../tokenize/bpe_train.h"

static const char CL100K[] =
	"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|"
	"\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

/* ---- the text ---- */

typedef struct texts {
	wn_buf text;     /* every document, one after another */
	uint64_t *off;   /* document i is text[off[i], off[i+1]) */
	size_t n, cap;
	size_t limit;    /* stop at this many bytes */
	size_t skipped;  /* plain-text lines that were not UTF-8 */
} texts;

static void add_doc(texts *t, const char *p, size_t n)
{
	if (t->text.len >= t->limit) return;
	wn_buf_add(&t->text, p, n);
	if (t->n + 2 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->off = wn_realloc(t->off, sizeof *t->off * t->cap);
		t->off[0] = 0;
	}
	t->off[++t->n] = t->text.len;
}

static int is_jsonl(const char *path)
{
	const char *s = strstr(path, ".jsonl");
	return s && (!s[6] || !strcmp(s + 6, ".zst") || !strcmp(s + 6, ".gz"));
}

static int read_file(texts *t, const char *path)
{
	wn_reader *r;
	if (wn_reader_open(&r, path, NULL)) {
		fprintf(stderr, "bpe_train_speed: %s: %s\n", path, wn_reader_error(r));
		wn_reader_close(r);
		return 1;
	}
	int json = is_jsonl(path);
	wn_doc d;
	wn_doc_init(&d);
	const char *line;
	size_t len;
	int rc;
	while (t->text.len < t->limit && (rc = wn_reader_next(r, &line, &len)) != 0) {
		if (rc != 1) break;
		if (!json) {
			if (wn_utf8_valid(line, len, NULL)) add_doc(t, line, len);
			else t->skipped++;
			continue;
		}
		if (wn_doc_parse_padded(&d, line, len, NULL) || !d.has_text || !d.text.len) continue;
		add_doc(t, d.text.data, d.text.len);
	}
	if (t->text.len < t->limit && rc < 0)
		fprintf(stderr, "bpe_train_speed: %s: %s\n", path, wn_reader_error(r));
	wn_reader_close(r);
	wn_doc_release(&d);
	return 0;
}

/* ---- pre-tokenise and count, one thread per slice ---- */

typedef struct job {
	const texts *t;
	const pcre2_code *re;
	size_t d0, d1;          /* documents */
	wn_bpe_counts *counts;
	uint64_t pretokens;
	double seconds;
	uint64_t *spans;        /* -R: offset << 24 | length of every pre-token */
	size_t nspans, capspans;
} job;

static void *count_run(void *arg)
{
	job *j = arg;
	double t0 = now();
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(j->re, NULL);
	const unsigned char *base = (const unsigned char *)j->t->text.data;
	for (size_t i = j->d0; i < j->d1; i++) {
		const unsigned char *s = base + j->t->off[i];
		size_t n = (size_t)(j->t->off[i + 1] - j->t->off[i]), at = 0;
		while (at < n) {
			/* the texts are valid UTF-8 (JSON, or checked per line) */
			int rc = pcre2_jit_match(j->re, s, n, at, PCRE2_NO_UTF_CHECK, md, NULL);
			if (rc == PCRE2_ERROR_JIT_BADOPTION)
				rc = pcre2_match(j->re, s, n, at, PCRE2_NO_UTF_CHECK, md, NULL);
			if (rc < 0) break; /* the pattern matches every character */
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			if (ov[1] == ov[0]) { /* empty match: step one character */
				at = ov[1] + 1;
				while (at < n && (s[at] & 0xC0) == 0x80) at++;
				continue;
			}
			if (j->capspans) { /* -R: keep the spans, count later */
				if (j->nspans == j->capspans) {
					j->capspans *= 2;
					j->spans = wn_realloc(j->spans, j->capspans * sizeof *j->spans);
				}
				size_t len = ov[1] - ov[0] < 0xFFFFFF ? ov[1] - ov[0] : 0xFFFFFF;
				j->spans[j->nspans++] = (uint64_t)(j->t->off[i] + ov[0]) << 24 | len;
			} else {
				wn_bpe_counts_add(j->counts, s + ov[0], ov[1] - ov[0], 1);
			}
			j->pretokens++;
			at = ov[1];
		}
	}
	pcre2_match_data_free(md);
	j->seconds = now() - t0;
	return NULL;
}

/* -R: time the counter alone on the pre-tokens of the text */
static int replay_counts(const texts *t, const pcre2_code *re)
{
	job j;
	memset(&j, 0, sizeof j);
	j.t = t;
	j.re = re;
	j.d1 = t->n;
	j.capspans = 1 << 20;
	j.spans = wn_malloc(j.capspans * sizeof *j.spans);
	count_run(&j);
	const char *base = t->text.data;
	double best = 1e30, best_merge = 1e30;
	size_t distinct = 0;
	for (int run = 0; run < 3; run++) {
		wn_bpe_counts *m = wn_bpe_counts_new();
		double t0 = now();
		for (size_t i = 0; i < j.nspans; i++)
			wn_bpe_counts_add(m, base + (j.spans[i] >> 24), (size_t)(j.spans[i] & 0xFFFFFF), 1);
		double dt = now() - t0;
		if (dt < best) best = dt;
		distinct = wn_bpe_counts_size(m);
		wn_bpe_counts_free(m);
		/* two halves, merged */
		wn_bpe_counts *h[2] = { wn_bpe_counts_new(), wn_bpe_counts_new() };
		for (size_t i = 0; i < j.nspans; i++)
			wn_bpe_counts_add(h[i * 2 >= j.nspans], base + (j.spans[i] >> 24),
					  (size_t)(j.spans[i] & 0xFFFFFF), 1);
		t0 = now();
		wn_bpe_counts_merge(h[0], h[1]);
		dt = now() - t0;
		if (dt < best_merge) best_merge = dt;
		wn_bpe_counts_free(h[0]);
		wn_bpe_counts_free(h[1]);
	}
	printf("counts map: %zu adds (%zu distinct keys) in %.3f s = %.1f M adds/s, one thread, best of 3; "
	       "merging two halves: %.3f s\n",
	       j.nspans, distinct, best, (double)j.nspans / best / 1e6, best_merge);
	free(j.spans);
	return 0;
}

static void progress(void *ud, size_t tokens, size_t target)
{
	(void)ud;
	fprintf(stderr, "\r  %zu / %zu tokens", tokens, target);
}

int main(int argc, char **argv)
{
	double mb = 100;
	size_t vocab = 32000;
	int threads = 2, quiet = 0, replay = 0;
	uint64_t minf = 0;
	const char *wtext = NULL, *odir = NULL;
	int c;
	while ((c = getopt(argc, argv, "m:v:t:f:w:o:qR")) != -1) {
		switch (c) {
		case 'm': mb = atof(optarg); break;
		case 'v': vocab = (size_t)atol(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'f': minf = (uint64_t)atoll(optarg); break;
		case 'w': wtext = optarg; break;
		case 'o': odir = optarg; break;
		case 'q': quiet = 1; break;
		case 'R': replay = 1; break;
		default:
			fprintf(stderr, "usage: bpe_train_speed [-m MB] [-v VOCAB] [-t THREADS] [-f MIN_FREQ] "
					"[-w TEXT.txt] [-o DIR] [-q] [-R] FILE...\n");
			return 2;
		}
	}
	if (optind >= argc || threads < 1 || threads > 64) {
		fprintf(stderr, "bpe_train_speed: no input (or bad -t)\n");
		return 2;
	}

	/* read */
	double t0 = now();
	texts t;
	memset(&t, 0, sizeof t);
	wn_buf_init(&t.text, 0);
	t.limit = (size_t)(mb * 1e6);
	for (int i = optind; i < argc && t.text.len < t.limit; i++)
		if (read_file(&t, argv[i])) return 1;
	double t_read = now() - t0;
	printf("text: %zu documents, %.1f MB (read in %.2f s)%s\n", t.n, (double)t.text.len / 1e6,
	       t_read, t.skipped ? " (some lines were not UTF-8 and were skipped)" : "");
	if (wtext) {
		FILE *f = fopen(wtext, "wb");
		if (!f) { perror(wtext); return 1; }
		for (size_t i = 0; i < t.n; i++) {
			size_t n = (size_t)(t.off[i + 1] - t.off[i]);
			fwrite(t.text.data + t.off[i], 1, n, f);
			fputc('\n', f);
		}
		if (fclose(f)) { perror(wtext); return 1; }
	}

	/* pre-tokenise and count */
	int errc;
	PCRE2_SIZE erro;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)CL100K, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
				       &errc, &erro, NULL);
	if (!re) {
		fprintf(stderr, "bpe_train_speed: pattern does not compile\n");
		return 1;
	}
	int jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
	if (replay) return replay_counts(&t, re);
	double t1 = now();
	job *jobs = wn_calloc((size_t)threads, sizeof *jobs);
	pthread_t *th = wn_calloc((size_t)threads, sizeof *th);
	size_t d = 0;
	for (int k = 0; k < threads; k++) {
		jobs[k].t = &t;
		jobs[k].re = re;
		jobs[k].d0 = d;
		uint64_t want = (uint64_t)t.text.len * (uint64_t)(k + 1) / (uint64_t)threads;
		while (d < t.n && (k == threads - 1 || t.off[d] < want)) d++;
		jobs[k].d1 = d;
		jobs[k].counts = wn_bpe_counts_new();
	}
	for (int k = 1; k < threads; k++) pthread_create(&th[k], NULL, count_run, &jobs[k]);
	count_run(&jobs[0]);
	for (int k = 1; k < threads; k++) pthread_join(th[k], NULL);
	double t2 = now();
	uint64_t pretokens = 0;
	for (int k = 0; k < threads; k++) pretokens += jobs[k].pretokens;
	for (int k = 1; k < threads; k++) {
		wn_bpe_counts_merge(jobs[0].counts, jobs[k].counts);
		wn_bpe_counts_free(jobs[k].counts);
	}
	double t3 = now();
	wn_bpe_counts *counts = jobs[0].counts;
	printf("pre-tokenise + count (PCRE2%s, cl100k pattern, %d thread%s): %.2f s, %.1f MB/s; "
	       "%llu pre-tokens, %zu distinct; merging the thread maps %.2f s; counts map %.0f MiB\n",
	       jit ? " JIT" : "", threads, threads > 1 ? "s" : "", t2 - t1,
	       (double)t.text.len / 1e6 / (t2 - t1), (unsigned long long)pretokens,
	       wn_bpe_counts_size(counts), t3 - t2, (double)wn_bpe_counts_mem(counts) / 1048576.0);
	for (int k = 0; k < threads; k++)
		printf("  thread %d: %.2f s, %.1f MB/s\n", k, jobs[k].seconds,
		       (double)(t.off[jobs[k].d1] - t.off[jobs[k].d0]) / 1e6 / jobs[k].seconds);

	/* train */
	wn_bpe_train_opts o = { 0 };
	o.vocab_size = vocab;
	o.min_frequency = minf;
	o.threads = threads;
	if (!quiet) o.progress = progress;
	wn_bpe_vocab *v;
	char err[256];
	double t4 = now();
	if (wn_bpe_train(counts, &o, &v, err, sizeof err)) {
		fprintf(stderr, "bpe_train_speed: %s\n", err);
		return 1;
	}
	double t5 = now();
	if (!quiet) fprintf(stderr, "\n");
	const wn_bpe_train_stats *st = &v->stats;
	printf("train to %zu (%zu tokens + %zu special%s): %.2f s = setup %.2f s (%d thread%s) + "
	       "merges %.2f s (CPU %.2f s)%s\n",
	       vocab, v->n_tokens, v->n_specials, v->n_specials > 1 ? "s" : "", t5 - t4,
	       st->seconds_setup, st->threads, st->threads > 1 ? "s" : "", st->seconds_merge,
	       st->cpu_seconds_merge, st->stopped_early ? " (stopped early: no pair reached min_frequency)" : "");
	printf("  %zu words, %llu symbols, %zu pairs counted, %zu merges (%zu rebuilt a token), "
	       "last merged count %llu\n",
	       st->words, (unsigned long long)st->symbols, st->pairs, v->n_merges, st->dup_merges,
	       (unsigned long long)st->last_count);
	printf("  training text: %llu bytes -> %llu tokens, %.2f bytes a token\n",
	       (unsigned long long)st->bytes_in, (unsigned long long)st->tokens_out,
	       (double)st->bytes_in / (double)(st->tokens_out ? st->tokens_out : 1));
	printf("  trainer's own peak allocation %.0f MiB\n", (double)st->peak_bytes / 1048576.0);
	printf("total (pre-tokenise + count + merge maps + train, text in memory): %.2f s; "
	       "with reading: %.2f s\n", (t3 - t1) + (t5 - t4), t_read + (t3 - t1) + (t5 - t4));
	printf("peak RSS %.0f MiB (the text itself: %.0f MiB)\n", peak_rss_mib(),
	       (double)t.text.cap / 1048576.0);
	/* a few of the last tokens, for the eye */
	printf("  last tokens:");
	for (size_t r = v->n_tokens > 8 ? v->n_tokens - 8 : 0; r < v->n_tokens; r++) {
		size_t len;
		const unsigned char *s = wn_bpe_vocab_token(v, r, &len);
		printf(" [%.*s]", (int)len, (const char *)s);
	}
	printf("\n");

	if (odir) {
		char p[4096];
		snprintf(p, sizeof p, "%s/bpe.tiktoken", odir);
		if (wn_bpe_write_tiktoken(v, p, err, sizeof err)) {
			fprintf(stderr, "bpe_train_speed: %s\n", err);
			return 1;
		}
		snprintf(p, sizeof p, "%s/tokenizer.json", odir);
		if (wn_bpe_write_hf(v, CL100K, p, err, sizeof err)) {
			fprintf(stderr, "bpe_train_speed: %s\n", err);
			return 1;
		}
	}
	wn_bpe_vocab_free(v);
	wn_bpe_counts_free(counts);
	pcre2_code_free(re);
	free(jobs);
	free(th);
	wn_buf_release(&t.text);
	free(t.off);
	return 0;
}
