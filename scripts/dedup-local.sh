#!/usr/bin/env bash
# dedup-local.sh - winnow dedup stage by stage on one machine, each stage
# as P parallel processes (xargs -P): what a job array does, without the
# cluster.  The result is the same as `winnow dedup minhash IN... -O OUT`.
#
#   scripts/dedup-local.sh [-P PROCS] WORK OUTDIR INPUT... [-- DEDUP_OPTIONS]
#
#   DEDUP_OPTIONS  what a duplicate is, given to sig (default: --mode minhash)
#
# Environment: WINNOW (the binary, default `winnow`).  Rejects go to
# OUTDIR/rejects-TASK.jsonl.zst, stats to WORK/stats.db (tasks of one
# machine can share a database).  Each process runs one thread, so P
# processes use P cores.
set -euo pipefail
P=$(nproc)
if [ "${1:-}" = -P ]; then P=$2; shift 2; fi
[ $# -ge 3 ] || { sed -n 6,13p "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
work=$1 outdir=$2
shift 2
inputs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do inputs+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
opts=("$@")
[ ${#opts[@]} -gt 0 ] || opts=(--mode minhash)
W=${WINNOW:-winnow}
db=$work/stats.db
mkdir -p "$work" "$outdir"

seq 0 $((P - 1)) | xargs -P "$P" -I{} "$W" dedup sig -q --threads 1 "${opts[@]}" \
	--shard {}/"$P" -W "$work" --stats "$db" "${inputs[@]}"
seq 0 $((P - 1)) | xargs -P "$P" -I{} "$W" dedup pairs -q --threads 1 \
	--shard {}/"$P" -W "$work" --stats "$db"
"$W" dedup cluster -q -W "$work" --stats "$db"
seq 0 $((P - 1)) | xargs -P "$P" -I{} "$W" dedup apply -q --threads 1 \
	--shard {}/"$P" -W "$work" -O "$outdir" --rejects "$outdir/rejects-{}.jsonl.zst" \
	--stats "$db" "${inputs[@]}"
