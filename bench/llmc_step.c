/*
 * llmc_step.c - llm.c's CPU training step at a batch size and sequence
 * length of our choosing, for bench/train_llmc.sh.
 *
 * train_gpt2.c's main() takes no arguments: it trains B=4, T=64 for 41
 * steps from files with fixed names, with a validation pass every 10 steps
 * and 63 forward passes of sampling every 20.  Its source is left as it
 * is; this file is compiled together with it, unchanged, in the way
 * llm.c's own test_gpt2.c is: with TESTING defined, train_gpt2.c leaves
 * out its main() (a compiler flag, not an edit), and the main() below runs
 * the step of train_gpt2.c's loop, timed over the same calls:
 *
 *   dataloader_next_batch, gpt2_forward, gpt2_zero_grad, gpt2_backward,
 *   gpt2_update (AdamW, lr 1e-4, as train_gpt2.c)
 *
 * with no validation and no sampling, and prints the same line per step,
 * "step N: train loss X (took Y ms)".
 *
 *   llmc_step CHECKPOINT TRAIN_TOKENS B T STEPS
 *
 * TRAIN_TOKENS is a glob of llm.c token shards (llmc_gen tokens).  Built
 * by bench/train_llmc.sh:
 *   cc -O3 -march=native -fopenmp -DOMP -I$LLMC_DIR bench/llmc_step.c -lm
 * (the include path makes "train_gpt2.c" below llm.c's file).
 */
#define TESTING
#include "train_gpt2.c"

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: llmc_step CHECKPOINT TRAIN_TOKENS B T STEPS\n");
		return 2;
	}
	int B = atoi(argv[3]), T = atoi(argv[4]), steps = atoi(argv[5]);
	if (B < 1 || T < 1 || steps < 1) {
		fprintf(stderr, "llmc_step: B, T and STEPS must be positive\n");
		return 2;
	}
	GPT2 model;
	gpt2_build_from_checkpoint(&model, argv[1]);
	if (T > (int)model.config.max_seq_len) {
		fprintf(stderr, "llmc_step: T=%d is over the checkpoint's maxT=%d\n", T,
			(int)model.config.max_seq_len);
		return 2;
	}
	DataLoader loader;
	dataloader_init(&loader, argv[2], (size_t)B, (size_t)T, 0, 1, 1);
#ifdef _OPENMP
	printf("threads: %d\n", omp_get_max_threads());
#endif
	printf("B=%d T=%d steps=%d\n", B, T, steps);
	struct timespec start, end;
	for (int step = 0; step < steps; step++) {
		clock_gettime(CLOCK_MONOTONIC, &start);
		dataloader_next_batch(&loader);
		gpt2_forward(&model, loader.inputs, loader.targets, (size_t)B, (size_t)T);
		gpt2_zero_grad(&model);
		gpt2_backward(&model);
		gpt2_update(&model, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, step + 1);
		clock_gettime(CLOCK_MONOTONIC, &end);
		double s = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
		printf("step %d: train loss %f (took %f ms)\n", step, model.mean_loss, s * 1000);
		fflush(stdout);
	}
	dataloader_free(&loader);
	gpt2_free(&model);
	return 0;
}
