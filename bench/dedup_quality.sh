#!/bin/sh
# dedup_quality.sh - how close winnow dedup minhash comes to the exact
# answer, on real near-duplicates.
#
#   bench/dedup_quality.sh            (after `make`; about two minutes)
#
# 1. The corpus: scripts/make-dedup-corpus.py (Tang poems from overlapping
#    collections, SpamAssassin mails, English prose with edited copies made
#    for known Jaccard targets), DOCS documents (default 20000), kept in
#    ${WINNOW_CACHE:-~/.cache/winnow}/bench/dedup and made again only when
#    the script changes.
# 2. bench/dedup_truth.c, built against a library build of its own in the
#    same cache directory (make BUILD=...; nothing is written into the
#    source tree).
# 3. winnow dedup minhash --annotate-only --threads 1 on all.jsonl with the
#    default 14 bands x 8 rows and with the bands and rows --threshold 0.8
#    chooses, each without and with --verify.
# 4. dedup_truth on all.jsonl for both band settings: exact all-pairs
#    Jaccard, LSH candidate precision and recall, the S-curve against
#    theory, and the clusters of the four runs against the truth.
#
# Environment: WINNOW (the binary; default ./winnow of this tree), DOCS,
# SEED (corpus seed, default 1), THRESHOLD (default 0.8), CC.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
DIR=$CACHE/bench/dedup
DOCS=${DOCS:-20000}
SEED=${SEED:-1}
T=${THRESHOLD:-0.8}
WINNOW=${WINNOW:-$ROOT/winnow}
CC=${CC:-cc}
BUILD=$DIR/build
CORPUS=$DIR/corpus-$DOCS-$SEED
RUNS=$DIR/runs-$DOCS-$SEED
PKGS="libzstd libcurl libxxhash sqlite3 zlib simdjson fasttext libutf8proc gumbo opencc libxml-2.0 libpcre2-8"

if [ ! -x "$WINNOW" ]; then
	echo "dedup_quality: $WINNOW not found: run make first (or set WINNOW)" >&2
	exit 1
fi
mkdir -p "$DIR" "$RUNS"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- corpus ----
if [ ! -s "$CORPUS/all.jsonl" ] || [ "$ROOT/scripts/make-dedup-corpus.py" -nt "$CORPUS/all.jsonl" ]; then
	echo "== corpus: $CORPUS"
	python3 "$ROOT/scripts/make-dedup-corpus.py" "$CORPUS" --docs "$DOCS" --seed "$SEED"
fi
ALL=$CORPUS/all.jsonl

# ---- the truth tool (library built out of tree) ----
echo "== building dedup_truth in $BUILD"
make -s -C "$ROOT" -j2 BUILD="$BUILD" "$BUILD/libwinnow.a"
# shellcheck disable=SC2086
"$CC" -O2 -march=x86-64-v2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-I"$ROOT" "$ROOT/bench/dedup_truth.c" "$BUILD/libwinnow.a" \
	$(pkg-config --libs $PKGS) -lstdc++ -lpthread -lm -o "$BUILD/dedup_truth"
TRUTH=$BUILD/dedup_truth

# ---- winnow dedup minhash runs ----
# run NAME ARGS...: annotate all.jsonl into RUNS/NAME.jsonl, log in RUNS/NAME.log
run() {
	name=$1
	shift
	t0=$(now)
	"$WINNOW" dedup minhash --annotate-only --threads 1 "$@" -o "$RUNS/$name.jsonl" "$ALL" \
		2>"$RUNS/$name.log"
	t1=$(now)
	echo "winnow dedup minhash $* ($(secs "$t0" "$t1") s):"
	sed 's/^/    /' "$RUNS/$name.log"
}

echo "== winnow dedup minhash on $ALL"
run default
run default-verify --verify --threshold "$T" --bands 14 --rows 8
run threshold --threshold "$T"
run threshold-verify --threshold "$T" --verify
BR=$(sed -n 's/.*: \([0-9][0-9]*\) bands of \([0-9][0-9]*\) rows.*/\1 \2/p' "$RUNS/threshold.log")
B=${BR% *}
R=${BR#* }
if [ -z "$BR" ]; then
	echo "dedup_quality: --threshold $T printed no bands and rows" >&2
	exit 1
fi

# ---- the truth ----
echo
echo "==== 14 bands x 8 rows (the default) ===="
"$TRUTH" -b 14 -r 8 -t "$T" -a "plain=$RUNS/default.jsonl" -a "verify=$RUNS/default-verify.jsonl" "$ALL"
echo
echo "==== $B bands x $R rows (--threshold $T) ===="
"$TRUTH" -b "$B" -r "$R" -t "$T" -a "plain=$RUNS/threshold.jsonl" \
	-a "verify=$RUNS/threshold-verify.jsonl" "$ALL"
