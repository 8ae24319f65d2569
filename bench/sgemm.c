/*
 * sgemm.c - how fast OpenBLAS's cblas_sgemm is on this machine, for the
 * square 2048 product and for the products a training step of `winnow
 * train` is made of.  Not part of `make`; bench/sgemm.sh builds and runs
 * it:
 *
 *   sgemm [-r RUNS] [-t THREADS[,THREADS...]] [-s SECONDS] [SHAPE...]
 *
 * SHAPE is [OP:]MxNxK, OP one of nn, nt, tn, tt (default nn): op(A) is
 * M x K, op(B) is K x N, C = op(A) op(B) is M x N, all fp32 row-major,
 * alpha 1, beta 0.  With no SHAPE the default list below runs: the square
 * 2048 product, then for each weight W (out x in, stored as the trainer
 * stores it) of the "small" preset's shapes at 2048 tokens (B=8, T=256):
 *
 *   fwd  Y  = X W^T      nt  M=2048 N=out K=in
 *   dX   dX = dY W       nn  M=2048 N=in  K=out
 *   dW   dW = dY^T X     tn  M=out  N=in  K=2048
 *
 * with (out, in) = (384, 384) attention projections, (1024, 384) SwiGLU
 * gate and up, (384, 1024) down, (8192, 384) the lm head.
 *
 * Every shape runs with each thread count (openblas_set_num_threads,
 * default 1 and 2): one untimed call, then RUNS timed runs (default 5),
 * each repeating the call until it has lasted SECONDS (default 0.25).
 * A run's rate is 2 M N K calls / time; the median run is reported, with
 * the slowest and fastest.  One line per measurement, key=value:
 *
 *   sgemm m=2048 n=2048 k=2048 op=nn threads=2 gflops=... min=... max=... runs=5 reps=3 name=square core=Haswell
 *
 * core is the kernel set OpenBLAS chose (OPENBLAS_CORETYPE in the
 * environment overrides its choice; see bench/sgemm.sh).
 *
 * Build (bench/sgemm.sh does this):
 *   cc -O2 -fopenmp -I/usr/include/x86_64-linux-gnu/openblas-openmp bench/sgemm.c \
 *      -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas \
 *      -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -o sgemm
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	const char *name;
	int ta, tb; /* op(A), op(B) transposed? */
	int m, n, k;
} shape;

/* the default list: see the header comment */
static const shape defaults[] = {
	{"square", 0, 0, 2048, 2048, 2048},
	{"attn_fwd", 0, 1, 2048, 384, 384},
	{"attn_dx", 0, 0, 2048, 384, 384},
	{"attn_dw", 1, 0, 384, 384, 2048},
	{"ffn_up_fwd", 0, 1, 2048, 1024, 384},
	{"ffn_up_dx", 0, 0, 2048, 384, 1024},
	{"ffn_up_dw", 1, 0, 1024, 384, 2048},
	{"ffn_down_fwd", 0, 1, 2048, 384, 1024},
	{"ffn_down_dx", 0, 0, 2048, 1024, 384},
	{"ffn_down_dw", 1, 0, 384, 1024, 2048},
	{"head_fwd", 0, 1, 2048, 8192, 384},
	{"head_dx", 0, 0, 2048, 384, 8192},
	{"head_dw", 1, 0, 8192, 384, 2048},
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: sgemm [-r RUNS] [-t THREADS[,THREADS...]] [-s SECONDS] [[nn|nt|tn|tt:]MxNxK...]\n");
	exit(2);
}

/* a positive int from S, or usage() */
static int posint(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 1 << 20)
		usage();
	return (int)v;
}

/* parse [OP:]MxNxK into *sh; 0 on success */
static int parse_shape(const char *arg, shape *sh)
{
	const char *p = arg;
	sh->name = "custom";
	sh->ta = sh->tb = 0;
	if (strlen(p) > 3 && p[2] == ':') {
		if ((p[0] != 'n' && p[0] != 't') || (p[1] != 'n' && p[1] != 't'))
			return -1;
		sh->ta = p[0] == 't';
		sh->tb = p[1] == 't';
		p += 3;
	}
	char tail;
	if (sscanf(p, "%dx%dx%d%c", &sh->m, &sh->n, &sh->k, &tail) != 3)
		return -1;
	return sh->m > 0 && sh->n > 0 && sh->k > 0 ? 0 : -1;
}

/* a 64-byte aligned buffer of N floats, uniform in [-1, 1) */
static float *random_matrix(size_t n, uint64_t *seed)
{
	float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
	if (!p) {
		perror("sgemm: aligned_alloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (float)((*seed >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f;
	}
	return p;
}

static void call(const shape *s, const float *a, const float *b, float *c)
{
	/* row-major: A is M x K (K x M when transposed), B is K x N (N x K) */
	int lda = s->ta ? s->m : s->k;
	int ldb = s->tb ? s->k : s->n;
	cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
		    s->tb ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a,
		    lda, b, ldb, 0.0f, c, s->n);
}

static void measure(const shape *s, int threads, int runs, double seconds)
{
	uint64_t seed = 0x5eed;
	float *a = random_matrix((size_t)s->m * s->k, &seed);
	float *b = random_matrix((size_t)s->k * s->n, &seed);
	float *c = random_matrix((size_t)s->m * s->n, &seed);
	double flop = 2.0 * s->m * s->n * s->k;
	double *rate = calloc((size_t)runs, sizeof *rate);
	if (!rate) {
		perror("sgemm: calloc");
		exit(1);
	}
	openblas_set_num_threads(threads);
	/* untimed call: thread start-up, first touch of C, OpenBLAS buffers */
	double t0 = now();
	call(s, a, b, c);
	double once = now() - t0;
	/* calls per run so that a run lasts about SECONDS */
	long reps = once > 0 ? (long)(seconds / once) + 1 : 1;
	for (int r = 0; r < runs; r++) {
		t0 = now();
		for (long i = 0; i < reps; i++)
			call(s, a, b, c);
		double dt = now() - t0;
		rate[r] = flop * (double)reps / dt / 1e9;
	}
	qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
	/* the median (the mean of the middle two for an even count) */
	double med = runs % 2 ? rate[runs / 2] : (rate[runs / 2 - 1] + rate[runs / 2]) / 2;
	printf("sgemm m=%d n=%d k=%d op=%c%c threads=%d gflops=%.1f min=%.1f max=%.1f runs=%d reps=%ld name=%s core=%s\n",
	       s->m, s->n, s->k, s->ta ? 't' : 'n', s->tb ? 't' : 'n', threads,
	       med, rate[0], rate[runs - 1], runs, reps, s->name, openblas_get_corename());
	fflush(stdout);
	free(rate);
	free(a);
	free(b);
	free(c);
}

int main(int argc, char **argv)
{
	int runs = 5;
	double seconds = 0.25;
	int threads[16] = {1, 2}, nthreads = 2;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			runs = posint(argv[++i]);
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			seconds = atof(argv[++i]);
			if (!(seconds > 0 && seconds < 1000))
				usage();
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			char *list = strdup(argv[++i]), *save = NULL;
			nthreads = 0;
			for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (nthreads == 16)
					usage();
				threads[nthreads++] = posint(tok);
			}
			free(list);
			if (!nthreads)
				usage();
		} else {
			usage();
		}
	}
	shape *list;
	size_t n;
	if (i < argc) {
		n = (size_t)(argc - i);
		list = calloc(n, sizeof *list);
		for (size_t j = 0; j < n; j++)
			if (parse_shape(argv[i + (int)j], &list[j])) {
				fprintf(stderr, "sgemm: bad shape '%s'\n", argv[i + (int)j]);
				usage();
			}
	} else {
		n = sizeof defaults / sizeof defaults[0];
		list = malloc(sizeof defaults);
		memcpy(list, defaults, sizeof defaults);
	}
	printf("# openblas %s; core %s; %d procs\n", openblas_get_config(),
	       openblas_get_corename(), openblas_get_num_procs());
	for (size_t j = 0; j < n; j++)
		for (int t = 0; t < nthreads; t++)
			measure(&list[j], threads[t], runs, seconds);
	free(list);
	return 0;
}
