#!/usr/bin/env bash
# train_llmc.sh - the reference point for `winnow train`'s speed: llm.c's
# CPU trainer (Karpathy's llm.c, train_gpt2.c: GPT-2, fp32, OpenMP, its
# own matmul loops, no BLAS) on GPT-2 configurations the size of our
# presets, in tokens/s and GFLOP/s.
#
#   bench/train_llmc.sh                          # small and base, builds o3 and ofast
#   LLMC_CONFIGS=small LLMC_BUILDS=ofast bench/train_llmc.sh
#   LLMC_STOCK=1 bench/train_llmc.sh             # also train_gpt2's own main()
#   LLMC_DIR=~/src/llm.c bench/train_llmc.sh     # a checkout elsewhere
#
# llm.c is never part of this tree.  LLMC_DIR (default /work/llmc) holds
# its train_gpt2.c and llmc/{utils,tokenizer,dataloader,rand}.h as in
# github.com/karpathy/llm.c (a clone works; bench/README.md says how the
# copy on the development machine was made).  Without them the script
# prints "skipped: ..." and exits 0.  Everything it builds and writes goes
# to a temporary directory, removed on exit.
#
# Steps:
# 1. Build bench/llmc_gen.c (checkpoint and token files in llm.c's
#    formats, random) and, for each build in LLMC_BUILDS,
#    bench/llmc_step.c, which is train_gpt2.c compiled unchanged with
#    -DTESTING (its main() left out, as llm.c's test_gpt2.c does) plus a
#    main() that runs train_gpt2.c's training step at B x T of our choosing
#    (train_gpt2.c's own main() takes no arguments and is fixed at B=4,
#    T=64).  Builds:
#      o3     gcc -O3 -march=native -fopenmp -DOMP
#      ofast  gcc -Ofast -march=native -fopenmp -DOMP: llm.c's Makefile
#             flags (CFLAGS -Ofast, -march=native when the compiler takes
#             it, -fopenmp -DOMP when OpenMP is found), with gcc in place
#             of the Makefile's default clang
#      clang  clang -Ofast -march=native -fopenmp -DOMP: the Makefile's
#             own choice (not in the default list: slower here, see
#             bench/README.md)
# 2. For each configuration in LLMC_CONFIGS (the "small" and "base"
#    presets' sizes; GPT-2 blocks with LayerNorm, GELU MLP 4C, tied
#    embeddings, learned positions):
#      small  L=6  C=384 NH=6  V=8192 Vp=8192 maxT=256
#      base   L=12 C=640 NH=10 V=8192 Vp=8192 maxT=256
#    write a randomly initialised checkpoint and a shard of 1M random
#    tokens below V, then run each build's llmc_step with B=LLMC_B (8),
#    T=LLMC_T (256) for LLMC_STEPS steps (4) with OMP_NUM_THREADS from
#    LLMC_THREADS (2; a list such as "1 2" runs each).  The first
#    LLMC_WARMUP steps (1: it allocates gradients and AdamW state and
#    touches them first) are dropped; step_s is the median of the others.
# 3. With LLMC_STOCK=1, also build train_gpt2.c as it is (ofast flags)
#    and run its own main() in a directory holding the files it opens by
#    name (gpt2_124M.bin: our checkpoint; dev/data/tinyshakespeare/
#    tiny_shakespeare_{train,val}.bin: random tokens; no gpt2_tokenizer.bin,
#    so it warns and samples token ids): 41 steps at B=4, T=64, with its
#    validation and sampling passes between steps.  Those passes are outside
#    its timed region; step_s is the median of its "took N ms" over steps
#    1 to 40.  This is llm.c exactly as shipped, at 256 tokens a step.
#
# Output: one line per run,
#   llmc tokens_per_s=X gflops=X step_s=X config=small build=ofast B=8 T=256 threads=2 ...
# tokens_per_s = B*T / step_s; gflops = tokens_per_s * flop_per_token / 1e9, where
#   flop_per_token = 6*N + 6*L*C*T
#   N = L*(12*C^2 + 13*C) + 2*C + Vp*C
# N counts the parameters that take part in a matrix product or a norm:
# per layer qkv 3C^2+3C, attention projection C^2+C, MLP 8C^2+5C, the
# two LayerNorms 4C; the final LayerNorm 2C; and the lm head, which in
# GPT-2 is wte (tied), counted once, as the head: Vp*C (llm.c multiplies
# by all Vp rows).  Not counted: the embedding lookups (wte as the input
# table, wpe), which cost no multiply-adds.  6*N is forward 2N plus
# backward 4N per token; 6*L*C*T is the attention scores and their
# weighted sum, forward and backward, for the causal half that llm.c
# computes (2 products of 2*C*T/2 each per layer forward, three times that
# with backward).  The same formula is used for `winnow train` with its
# own N, so the two GFLOP/s figures compare.
#
# Runs are short (a few steps of several seconds each); the machine may be
# shared, so the load average is printed with each run and min and max
# step times come with the median.  Nothing fails on a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LLMC_DIR=${LLMC_DIR:-/work/llmc}
CONFIGS=${LLMC_CONFIGS:-small base}
BUILDS=${LLMC_BUILDS:-o3 ofast}
THREADS=${LLMC_THREADS:-2}
B=${LLMC_B:-8}
T=${LLMC_T:-256}
STEPS=${LLMC_STEPS:-4}
WARMUP=${LLMC_WARMUP:-1}
STOCK=${LLMC_STOCK:-0}
CC=${CC:-gcc}

for f in train_gpt2.c llmc/utils.h llmc/tokenizer.h llmc/dataloader.h llmc/rand.h; do
	if [ ! -f "$LLMC_DIR/$f" ]; then
		echo "skipped: no llm.c source in $LLMC_DIR ($f missing; set LLMC_DIR to a copy of github.com/karpathy/llm.c)"
		exit 0
	fi
done
if [ "$STEPS" -le "$WARMUP" ]; then
	echo "train_llmc.sh: LLMC_STEPS ($STEPS) must be more than LLMC_WARMUP ($WARMUP)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/winnow-llmc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# cflags BUILD: the compiler and flags of a build variant
cflags() {
	case $1 in
	o3) echo "$CC -O3 -march=native -fopenmp -DOMP" ;;
	ofast) echo "$CC -Ofast -march=native -fopenmp -DOMP" ;;
	clang) echo "clang -Ofast -march=native -fopenmp -DOMP" ;;
	*) echo "train_llmc.sh: unknown build '$1' (o3, ofast, clang)" >&2; exit 2 ;;
	esac
}

# config NAME: "L C NH V Vp" of a configuration
config() {
	case $1 in
	small) echo "6 384 6 8192 8192" ;;
	base) echo "12 640 10 8192 8192" ;;
	*) echo "train_llmc.sh: unknown config '$1' (small, base)" >&2; exit 2 ;;
	esac
}

# report CONFIG BUILD B T THREADS LOG: the result line of one run, from
# the "step N: ... (took X ms)" lines of LOG, the first WARMUP dropped
report() {
	local cfg=$1 build=$2 b=$3 t=$4 threads=$5 log=$6 L C NH V Vp
	read -r L C NH V Vp <<<"$(config "$cfg")"
	sed -n 's/^step \([0-9]*\): train loss \([^ ]*\) (took \([0-9.]*\) ms)$/\1 \2 \3/p' "$log" |
		awk -v w="$WARMUP" -v cfg="$cfg" -v build="$build" -v b="$b" -v t="$t" -v th="$threads" \
			-v L="$L" -v C="$C" -v Vp="$Vp" '
		{ if (NR == 1) first = $2; last = $2 }
		NR > w { ms[n++] = $3 }
		END {
			if (n == 0) { print "llmc: no step times in the log" > "/dev/stderr"; exit 1 }
			# median of the kept step times (insertion sort: a handful)
			for (i = 1; i < n; i++) { x = ms[i]; for (j = i - 1; j >= 0 && ms[j] > x; j--) ms[j + 1] = ms[j]; ms[j + 1] = x }
			med = (n % 2) ? ms[(n - 1) / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2
			s = med / 1000
			N = L * (12 * C * C + 13 * C) + 2 * C + Vp * C
			fpt = 6 * N + 6 * L * C * t
			tps = b * t / s
			printf "llmc tokens_per_s=%.1f gflops=%.2f step_s=%.3f config=%s build=%s B=%d T=%d threads=%d steps=%d min_step_s=%.3f max_step_s=%.3f N=%d flop_per_token=%d loss_first=%s loss_last=%s\n",
				tps, tps * fpt / 1e9, s, cfg, build, b, t, th, n, ms[0] / 1000, ms[n - 1] / 1000, N, fpt, first, last
		}'
}

for build in $BUILDS; do cflags "$build" >/dev/null; done
for cfg in $CONFIGS; do config "$cfg" >/dev/null; done

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# llm.c: $LLMC_DIR$( [ -f "$LLMC_DIR/REVISION" ] && echo " (commit $(cat "$LLMC_DIR/REVISION"))")"
"$CC" -O2 -std=c11 -Wall -Wextra "$here/llmc_gen.c" -lm -o "$tmp/llmc_gen"
for build in $BUILDS; do
	# -Wno-unused-result as llm.c's Makefile: train_gpt2.c ignores some fread results
	$(cflags "$build") -Wno-unused-result -I"$LLMC_DIR" "$here/llmc_step.c" -lm -o "$tmp/llmc_step-$build"
	echo "# build $build: $(cflags "$build")"
done
if [ "$STOCK" = 1 ]; then
	$(cflags ofast) -Wno-unused-result -I"$LLMC_DIR" "$LLMC_DIR/train_gpt2.c" -lm -o "$tmp/train_gpt2"
	echo "# build stock: train_gpt2.c unchanged, $(cflags ofast)"
fi

# enough tokens for every batch of the longest run, at least 1M
ntok=$(( B * T * (STEPS + 1) + 1 ))
[ "$ntok" -ge 1048577 ] || ntok=1048577
for cfg in $CONFIGS; do
	read -r L C NH V Vp <<<"$(config "$cfg")"
	maxT=$(( T > 256 ? T : 256 ))
	dir=$tmp/$cfg
	mkdir -p "$dir"
	"$tmp/llmc_gen" model "$dir/model.bin" "$L" "$C" "$NH" "$V" "$Vp" "$maxT" | sed 's/^/# /'
	"$tmp/llmc_gen" tokens "$dir/train.bin" "$ntok" "$V" 1
	for build in $BUILDS; do
		for th in $THREADS; do
			log=$dir/$build-$th.log
			echo "# run config=$cfg build=$build threads=$th B=$B T=$T steps=$STEPS, load $(cut -d' ' -f1-3 /proc/loadavg)"
			OMP_NUM_THREADS=$th "$tmp/llmc_step-$build" "$dir/model.bin" "$dir/train.bin" "$B" "$T" "$STEPS" >"$log"
			report "$cfg" "$build" "$B" "$T" "$th" "$log"
		done
	done
	if [ "$STOCK" = 1 ]; then
		# train_gpt2's main(): fixed names, relative to the working directory
		run=$dir/stock
		mkdir -p "$run/dev/data/tinyshakespeare"
		ln -s "$dir/model.bin" "$run/gpt2_124M.bin"
		ln -s "$dir/train.bin" "$run/dev/data/tinyshakespeare/tiny_shakespeare_train.bin"
		"$tmp/llmc_gen" tokens "$run/dev/data/tinyshakespeare/tiny_shakespeare_val.bin" 65537 "$V" 2
		for th in $THREADS; do
			echo "# run config=$cfg build=stock threads=$th (train_gpt2 main: B=4 T=64, 41 steps), load $(cut -d' ' -f1-3 /proc/loadavg)"
			(cd "$run" && OMP_NUM_THREADS=$th "$tmp/train_gpt2") >"$dir/stock-$th.log"
			report "$cfg" stock 4 64 "$th" "$dir/stock-$th.log"
		done
	fi
done
