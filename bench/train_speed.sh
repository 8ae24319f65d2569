#!/usr/bin/env bash
# train_speed.sh - winnow train's throughput against the matrix unit and
# the trainers people would otherwise use, same model, same batch, same
# thread count (2 on the development machine):
#
#   1. OpenBLAS sgemm, 2048^3 (bench/sgemm.sh): the ceiling
#   2. winnow train, presets small and base (V=8192, T=256, 8 rows a step):
#      median tokens/s over the steps after the first two, GFLOP/s counted
#      as 6N + 6*L*C*T per token (N: parameters besides the input
#      embedding), and that as a fraction of the sgemm rate
#   3. PyTorch (Debian's python3-torch) training the same architecture
#      (bench/train_torch.py), same counting
#   4. llm.c's train_gpt2.c on GPT-2 of the same sizes (bench/train_llmc.sh;
#      skipped without a checkout in LLMC_DIR)
#   5. memory: winnow's peak resident size after the first step and at the
#      end of a longer run (it must not grow)
#
#   bench/train_speed.sh                 # everything
#   TRAIN_CONFIGS=small bench/train_speed.sh
#   TRAIN_STEPS=20 THREADS=2 bench/train_speed.sh
# Nothing here fails on a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
W=${WINNOW:-$root/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
THREADS=${THREADS:-2}
STEPS=${TRAIN_STEPS:-12}
CONFIGS=${TRAIN_CONFIGS:-small base}
tmp=$(mktemp -d /tmp/winnow-trainbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# data: windows of 256 tokens from real text (fortunes, as the tests use)
"$root/scripts/fetch-data.sh" fortunes-intl >/dev/null
python3 - "$CACHE/fortunes-intl/en" "$tmp/docs.jsonl" <<'EOF'
import json, os, sys
with open(sys.argv[2], 'w') as o:
    for rep in range(20):
        for f in ('fortunes', 'literature', 'riddles'):
            for t in open(os.path.join(sys.argv[1], f), encoding='utf-8', errors='replace').read().split('\n%\n'):
                if t.strip(): o.write(json.dumps({'text': t.strip()}) + '\n')
EOF
"$W" tok train -q --vocab-size 2048 -o "$tmp/bpe" "$tmp/docs.jsonl"
"$W" tok encode -q --vocab "$tmp/bpe.json" --seq-len 256 -o "$tmp/d" "$tmp/docs.jsonl"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $THREADS threads"
sg=""
if [ -x "$here/sgemm.sh" ]; then
	# the kernels winnow train will load: the environment's OPENBLAS_CORETYPE, else OpenBLAS's choice
	sg=$(SGEMM_CORETYPE=${OPENBLAS_CORETYPE:-auto} SGEMM_THREADS=$THREADS "$here/sgemm.sh" 2048x2048x2048 2>/dev/null | awk -v t="$THREADS" '/^sgemm m=2048 n=2048 k=2048/ && $0 ~ "threads=" t " " {
		for (i = 1; i <= NF; i++) if ($i ~ /^gflops=/) { sub("gflops=", "", $i); print $i } }' | tail -1)
fi
echo "sgemm 2048^3, $THREADS threads, OpenBLAS kernels ${OPENBLAS_CORETYPE:-of its own choice}: ${sg:-?} GFLOP/s"
echo

preset_args() {
	case $1 in
	small) echo "--dim 384 --layers 6 --heads 6 --kv-heads 2 --hidden 1024" ;;
	base) echo "--dim 640 --layers 12 --heads 10 --kv-heads 2 --hidden 1728" ;;
	esac
}

printf "%-6s %-22s %10s %9s %9s\n" config trainer tokens/s GFLOP/s "of sgemm"
for cfg in $CONFIGS; do
	set -- $(preset_args "$cfg")
	dim=$2 layers=$4 heads=$6 kv=$8 hidden=${10}
	rm -f "$tmp/w.db"
	"$W" train --data d="$tmp/d.wtok" --preset "$cfg" --vocab-size 8192 --steps "$STEPS" --batch-size 8 \
		--threads "$THREADS" --log-every 0 -q --stats "$tmp/w.db"
	read -r wtps wgf < <(sqlite3 -separator ' ' "$tmp/w.db" "SELECT tokens_per_s, gflops FROM train_steps
		WHERE step > 2 ORDER BY tokens_per_s LIMIT 1 OFFSET (SELECT (count(*) - 1) / 2 FROM train_steps WHERE step > 2)")
	frac=$( [ -n "$sg" ] && python3 -c "print('%.0f %%' % (100 * $wgf / $sg))" || echo "?")
	printf "%-6s %-22s %10.0f %9.1f %9s\n" "$cfg" "winnow train" "$wtps" "$wgf" "$frac"
	if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$here/train_torch.py" ]; then
		line=$(/usr/bin/python3 "$here/train_torch.py" --vocab 8192 --dim "$dim" --layers "$layers" --heads "$heads" \
			--kv-heads "$kv" --hidden "$hidden" --seq 256 --batch 8 --steps "${TORCH_STEPS:-4}" \
			--threads "$THREADS" 2>/dev/null | grep '^torch ' | tail -1)
		ttps=$(echo "$line" | sed -n 's/.*tokens_per_s=\([0-9.]*\).*/\1/p')
		tgf=$(echo "$line" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
		if [ -n "$ttps" ]; then
			printf "%-6s %-22s %10.0f %9.1f %9s   winnow is %.1fx\n" "$cfg" "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')" \
				"$ttps" "$tgf" "$( [ -n "$sg" ] && python3 -c "print('%.1f %%' % (100 * $tgf / $sg))" || echo '?')" \
				"$(python3 -c "print($wgf / $tgf)")"
		fi
	fi
	if [ -x "$here/train_llmc.sh" ]; then
		line=$(LLMC_CONFIGS=$cfg LLMC_BUILDS=${LLMC_BUILDS:-ofast} LLMC_THREADS=$THREADS "$here/train_llmc.sh" 2>/dev/null |
			grep '^llmc ' | tail -1 || true)
		ltps=$(echo "$line" | sed -n 's/.*tokens_per_s=\([0-9.]*\).*/\1/p')
		lgf=$(echo "$line" | sed -n 's/.*gflops=\([0-9.]*\).*/\1/p')
		if [ -n "$ltps" ]; then
			printf "%-6s %-22s %10.0f %9.1f %9s   winnow is %.1fx\n" "$cfg" "llm.c train_gpt2.c" "$ltps" "$lgf" \
				"$( [ -n "$sg" ] && python3 -c "print('%.1f %%' % (100 * $lgf / $sg))" || echo '?')" \
				"$(python3 -c "print($wgf / $lgf)")"
		else
			printf "%-6s %-22s %s\n" "$cfg" "llm.c train_gpt2.c" "skipped (no llm.c checkout in LLMC_DIR)"
		fi
	fi
done

echo
echo "memory (small, 40 steps): $("$W" train --data d="$tmp/d.wtok" --preset small --vocab-size 8192 --steps 40 \
	--batch-size 8 --threads "$THREADS" --log-every 0 2>&1 | grep 'peak resident' | sed 's/.*: //')"
