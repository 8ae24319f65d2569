#!/usr/bin/env bash
# dedup-slurm.sh - winnow dedup as four Slurm job arrays, each stage
# starting when the one before has finished (afterok dependencies).
#
#   scripts/dedup-slurm.sh [-s SIG] [-p PAIRS] [-a APPLY] WORK OUTDIR LIST [-- DEDUP_OPTIONS]
#
#   WORK     the work directory, on a file system every node sees
#   OUTDIR   where the kept documents go (one file per input)
#   LIST     a file naming the inputs, one path per line
#   -s SIG   tasks of the sig array (default 16); each takes every SIG-th input
#   -p PAIRS tasks of the pairs array (default: one per band)
#   -a APPLY tasks of the apply array (default 16)
#   DEDUP_OPTIONS  what a duplicate is, given to sig (default: --mode minhash);
#            the later stages read it from WORK
#
# Environment: WINNOW (the binary, default `winnow`), SBATCH_OPTS (given
# to every sbatch: partition, account, time, memory...).  Each task's
# stats go to WORK/stats/STAGE-TASK.db and its rejects to
# OUTDIR/rejects-TASK.jsonl.zst; `winnow stats merge run.db WORK/stats/*.db`
# combines the stats.  Job scripts are written to WORK/jobs.  The job ids
# are printed; a failed task stops the stages after it, and submitting
# again redoes only what is not finished.
set -euo pipefail
usage() { sed -n 5,17p "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
sig=16 pairs= apply=16
while getopts s:p:a:h o; do
	case $o in
	s) sig=$OPTARG ;;
	p) pairs=$OPTARG ;;
	a) apply=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || usage
work=$(realpath -m "$1") outdir=$(realpath -m "$2") list=$(realpath "$3")
shift 3
[ "${1:-}" = "--" ] && shift
opts=("$@")
[ ${#opts[@]} -gt 0 ] || opts=(--mode minhash)
W=${WINNOW:-winnow}
SB=${SBATCH:-sbatch}
# bands: from --bands if given, else the default 14 (--threshold may
# choose others: then give -p); exact, line and paragraph have one
bands=14
for ((i = 0; i < ${#opts[@]}; i++)); do
	case ${opts[$i]} in
	--bands) bands=${opts[$((i + 1))]} ;;
	--bands=*) bands=${opts[$i]#--bands=} ;;
	--mode) [ "${opts[$((i + 1))]}" = minhash ] || bands=1 ;;
	--mode=*) [ "${opts[$i]}" = --mode=minhash ] || bands=1 ;;
	esac
done
[ -n "$pairs" ] || pairs=$bands
mkdir -p "$work/jobs" "$work/stats" "$outdir"

# job NAME COMMAND...: a job script running COMMAND with the inputs of
# LIST in place of the word @INPUTS
job() {
	local name=$1 f=$work/jobs/$1.sh
	shift
	{
		echo '#!/usr/bin/env bash'
		echo 'set -euo pipefail'
		echo 'task=${SLURM_ARRAY_TASK_ID:-0}'
		printf 'mapfile -t inputs < %q\n' "$list"
		printf '%q ' "$@" | sed 's/@INPUTS/"${inputs[@]}"/; s/@TASK/${task}/g'
		echo
	} >"$f"
	chmod +x "$f"
	echo "$f"
}
j1=$(job sig "$W" dedup sig -q "${opts[@]}" -W "$work" --stats "$work/stats/sig-@TASK.db" @INPUTS)
j2=$(job pairs "$W" dedup pairs -q -W "$work" --stats "$work/stats/pairs-@TASK.db")
j3=$(job cluster "$W" dedup cluster -q -W "$work" --stats "$work/stats/cluster.db")
j4=$(job apply "$W" dedup apply -q -W "$work" -O "$outdir" \
	--rejects "$outdir/rejects-@TASK.jsonl.zst" --stats "$work/stats/apply-@TASK.db" @INPUTS)
# shellcheck disable=SC2086
id1=$($SB --parsable ${SBATCH_OPTS:-} -J dedup-sig --array=0-$((sig - 1)) "$j1")
# shellcheck disable=SC2086
id2=$($SB --parsable ${SBATCH_OPTS:-} -J dedup-pairs --array=0-$((pairs - 1)) \
	--dependency=afterok:"${id1%%;*}" "$j2")
# shellcheck disable=SC2086
id3=$($SB --parsable ${SBATCH_OPTS:-} -J dedup-cluster --dependency=afterok:"${id2%%;*}" "$j3")
# shellcheck disable=SC2086
id4=$($SB --parsable ${SBATCH_OPTS:-} -J dedup-apply --array=0-$((apply - 1)) \
	--dependency=afterok:"${id3%%;*}" "$j4")
echo "sig ${id1%%;*}  pairs ${id2%%;*}  cluster ${id3%%;*}  apply ${id4%%;*}"
