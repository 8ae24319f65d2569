#!/usr/bin/env bash
# run.sh - `make bench`: winnow against reference commands, in the same run.
#
# Builds a text-heavy shard (>= 200 MB uncompressed) from the real text of
# the demo cache, then times, each against its reference:
#   1. winnow cat --count IN.zst            vs  zstd -dc IN.zst | wc -l
#   2. winnow cat IN.zst -o OUT.zst         vs  zstd -dc IN.zst | zstd -3 -o OUT.zst
#   3. peak memory of winnow cat -o on a shard with a 64 MB line
#   4. the JSON parsers (bench/json/run.sh), when BENCH_JSON is not 0
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
if [ "${BENCH_JSON:-1}" != 0 ] && [ -x "$here/json/run.sh" ]; then
	echo
	"$here/json/run.sh" "$B/text.jsonl"
fi
rm -f "$B/out.jsonl.zst" "$B/ref.jsonl.zst" "$B/huge.out.zst" "$B/huge.ref.zst"
