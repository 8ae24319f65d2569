/*
 * llmc_gen.c - input files for llm.c's CPU trainer (train_gpt2.c), for
 * bench/train_llmc.sh: a randomly initialised GPT-2 checkpoint and token
 * shards of random tokens, in llm.c's file formats.  Written from the
 * formats as train_gpt2.c and llmc/dataloader.h read them; no llm.c code.
 *
 *   llmc_gen model OUT L C NH V Vp maxT [SEED]
 *   llmc_gen tokens OUT NTOKENS V [SEED]
 *
 * Checkpoint (version 3, fp32): a header of 256 int32 (magic 20240326,
 * version 3, maxT, V, L, NH, C, Vp, zeros), then the parameters as one
 * float32 array, tensor after tensor in train_gpt2.c's order:
 *
 *   wte (Vp, C)   wpe (maxT, C)
 *   ln1w (L, C)   ln1b (L, C)   qkvw (L, 3C, C)   qkvb (L, 3C)
 *   attprojw (L, C, C)   attprojb (L, C)   ln2w (L, C)   ln2b (L, C)
 *   fcw (L, 4C, C)   fcb (L, 4C)   fcprojw (L, C, 4C)   fcprojb (L, C)
 *   lnfw (C)   lnfb (C)
 *
 * Values follow GPT-2's initialisation: matrices and embeddings normal with
 * standard deviation 0.02, the two residual projections (attprojw, fcprojw)
 * 0.02 / sqrt(2 L), biases 0, layer-norm gains 1; the padding rows of wte
 * (V to Vp) are 0.  The first loss is then close to ln(V).
 *
 * Token shard (version 1): a header of 256 int32 (magic 20240520,
 * version 1, number of tokens, zeros), then the tokens as uint16, here
 * uniform at random in [0, V).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: 64 random bits */
static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* uniform in (0, 1) */
static double uniform(void)
{
	return ((double)(next() >> 11) + 0.5) / 9007199254740992.0;
}

/* standard normal (Box-Muller; the second value of each pair is dropped) */
static double normal(void)
{
	return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static FILE *out;
static const char *out_name;

static void put(const void *p, size_t size, size_t n)
{
	if (fwrite(p, size, n, out) != n) {
		fprintf(stderr, "llmc_gen: %s: %s\n", out_name, strerror(errno));
		exit(1);
	}
}

/* N floats: normal with standard deviation STD, or all VALUE when STD is 0 */
static void tensor(size_t n, double std, float value)
{
	float buf[4096];
	while (n) {
		size_t k = n < 4096 ? n : 4096;
		for (size_t i = 0; i < k; i++)
			buf[i] = std > 0 ? (float)(std * normal()) : value;
		put(buf, sizeof(float), k);
		n -= k;
	}
}

static long arg(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > (1L << 40)) {
		fprintf(stderr, "llmc_gen: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: llmc_gen model OUT L C NH V Vp maxT [SEED]\n"
			"       llmc_gen tokens OUT NTOKENS V [SEED]\n");
	exit(2);
}

static void open_out(const char *name)
{
	out_name = name;
	out = fopen(name, "wb");
	if (!out) {
		fprintf(stderr, "llmc_gen: %s: %s\n", name, strerror(errno));
		exit(1);
	}
}

static void close_out(void)
{
	if (fclose(out)) {
		fprintf(stderr, "llmc_gen: %s: %s\n", out_name, strerror(errno));
		exit(1);
	}
}

static int model(int argc, char **argv)
{
	if (argc != 9 && argc != 10)
		usage();
	size_t L = (size_t)arg(argv[3], "L"), C = (size_t)arg(argv[4], "C");
	size_t NH = (size_t)arg(argv[5], "NH"), V = (size_t)arg(argv[6], "V");
	size_t Vp = (size_t)arg(argv[7], "Vp"), maxT = (size_t)arg(argv[8], "maxT");
	if (argc == 10)
		rng ^= (uint64_t)arg(argv[9], "seed") * 0x2545f4914f6cdd1dULL;
	if (!L || !C || !NH || C % NH || !V || Vp < V || !maxT || V > 65536) {
		fprintf(stderr, "llmc_gen: need L, C, NH, V, maxT > 0, NH dividing C, V <= Vp, V <= 65536\n");
		return 2;
	}
	open_out(argv[2]);
	int32_t header[256] = {20240326, 3, (int32_t)maxT, (int32_t)V, (int32_t)L,
			       (int32_t)NH, (int32_t)C, (int32_t)Vp};
	put(header, sizeof header[0], 256);
	double proj = 0.02 / sqrt(2.0 * (double)L);
	tensor(V * C, 0.02, 0); /* wte, the rows of real tokens */
	tensor((Vp - V) * C, 0, 0); /* wte, the padding rows */
	tensor(maxT * C, 0.02, 0); /* wpe */
	tensor(L * C, 0, 1); /* ln1w */
	tensor(L * C, 0, 0); /* ln1b */
	tensor(L * 3 * C * C, 0.02, 0); /* qkvw */
	tensor(L * 3 * C, 0, 0); /* qkvb */
	tensor(L * C * C, proj, 0); /* attprojw */
	tensor(L * C, 0, 0); /* attprojb */
	tensor(L * C, 0, 1); /* ln2w */
	tensor(L * C, 0, 0); /* ln2b */
	tensor(L * 4 * C * C, 0.02, 0); /* fcw */
	tensor(L * 4 * C, 0, 0); /* fcb */
	tensor(L * C * 4 * C, proj, 0); /* fcprojw */
	tensor(L * C, 0, 0); /* fcprojb */
	tensor(C, 0, 1); /* lnfw */
	tensor(C, 0, 0); /* lnfb */
	close_out();
	size_t n = Vp * C + maxT * C + L * (12 * C * C + 13 * C) + 2 * C;
	printf("llmc_gen: %s: L=%zu C=%zu NH=%zu V=%zu Vp=%zu maxT=%zu, %zu parameters\n",
	       argv[2], L, C, NH, V, Vp, maxT, n);
	return 0;
}

static int tokens(int argc, char **argv)
{
	if (argc != 5 && argc != 6)
		usage();
	long n = arg(argv[3], "token count"), V = arg(argv[4], "V");
	if (argc == 6)
		rng ^= (uint64_t)arg(argv[5], "seed") * 0x2545f4914f6cdd1dULL;
	if (n < 1 || n > INT32_MAX || V < 1 || V > 65536) {
		fprintf(stderr, "llmc_gen: need 1 <= NTOKENS < 2^31, 1 <= V <= 65536\n");
		return 2;
	}
	open_out(argv[2]);
	int32_t header[256] = {20240520, 1, (int32_t)n};
	put(header, sizeof header[0], 256);
	uint16_t buf[4096];
	for (long left = n; left;) {
		long k = left < 4096 ? left : 4096;
		for (long i = 0; i < k; i++)
			buf[i] = (uint16_t)((next() >> 32) % (uint64_t)V);
		put(buf, sizeof buf[0], (size_t)k);
		left -= k;
	}
	close_out();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "model"))
		return model(argc, argv);
	if (!strcmp(argv[1], "tokens"))
		return tokens(argc, argv);
	usage();
}
