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
#   6. the JSON parsers (bench/json/run.sh), when BENCH_JSON is not 0
# Results are printed; bench/README.md records them.  Nothing here fails
# on a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
W=${WINNOW:-$root/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
B=$CACHE/bench
RUNS=${RUNS:-5}
mkdir -p "$B"
"$root/scripts/fetch-data.sh" >/dev/null
if [ ! -s "$B/text.jsonl" ]; then
	python3 "$root/scripts/make-bench-shard.py" "$B/text.jsonl" --mb 220 >/dev/null
	zstd -q -f -3 -T2 "$B/text.jsonl" -o "$B/text.jsonl.zst"
fi
MB=$(( $(stat -c%s "$B/text.jsonl") / 1000000 ))
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "input: $B/text.jsonl.zst ($MB MB uncompressed, $(( $(stat -c%s "$B/text.jsonl.zst") / 1000000 )) MB zstd)"
echo

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
python3 "$here/abtime.py" "norm, 1 thread  vs  cat (same shard, to stdout)" "$RUNS" "$MB" \
	"$W norm -q --threads 1 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
echo
python3 "$here/abtime.py" "norm, 2 threads  vs  cat (same shard, to stdout)" "$RUNS" "$MB" \
	"$W norm -q --threads 2 $B/text.jsonl.zst" \
	"$W cat -q $B/text.jsonl.zst"
if [ "${BENCH_JSON:-1}" != 0 ] && [ -x "$here/json/run.sh" ]; then
	echo
	"$here/json/run.sh" "$B/text.jsonl"
fi
rm -f "$B/out.jsonl.zst" "$B/ref.jsonl.zst" "$B/huge.out.zst" "$B/huge.ref.zst"
