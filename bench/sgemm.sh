#!/usr/bin/env bash
# sgemm.sh - OpenBLAS cblas_sgemm GFLOP/s on this machine: the square
# 2048 x 2048 x 2048 fp32 product and the products of a training step of
# the "small" preset (bench/sgemm.c), with 1 and 2 threads, medians of 5.
#
#   bench/sgemm.sh                         # the default shapes
#   SGEMM_RUNS=9 SGEMM_THREADS=2 bench/sgemm.sh
#   bench/sgemm.sh 2048x2048x2048 tn:384x384x2048   # shapes of your own
#
# Builds bench/sgemm.c against the OpenMP variant of Debian's OpenBLAS
# (libopenblas0-openmp, headers from libopenblas-openmp-dev) into a
# temporary directory, removed on exit; nothing is written into the tree.
# OPENBLAS_INC and OPENBLAS_LIB override where it looks.  Prints "skipped:
# ..." and exits 0 when that OpenBLAS is not installed.  The machine may be
# shared: the spread (min, max) is printed with every median.
#
# OpenBLAS picks its kernels by CPU model when it loads, unless
# OPENBLAS_CORETYPE names a kernel set (Haswell: AVX2; SkylakeX,
# Cooperlake: AVX-512).  The development machine's environment sets
# OPENBLAS_CORETYPE=Haswell, which halves the rate there: its own choice on
# that CPU (AMD EPYC, Zen 5) is Cooperlake.  So the list runs as the
# environment has it, and when OPENBLAS_CORETYPE is set, a second time
# without it.  SGEMM_CORETYPE=auto runs once without it, SGEMM_CORETYPE=NAME
# once with NAME.  Every line names the kernel set it used (core=).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
INC=${OPENBLAS_INC:-/usr/include/x86_64-linux-gnu/openblas-openmp}
LIB=${OPENBLAS_LIB:-/usr/lib/x86_64-linux-gnu/openblas-openmp}
CC=${CC:-cc}
if [ ! -f "$INC/cblas.h" ] || [ ! -e "$LIB/libopenblas.so" ]; then
	echo "skipped: no OpenMP OpenBLAS in $INC and $LIB (apt-get install libopenblas-openmp-dev)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# -fopenmp: this OpenBLAS runs its threads on the OpenMP runtime (libgomp);
# the rpath picks this variant over whichever one update-alternatives set
"$CC" -O2 -std=c11 -Wall -Wextra -fopenmp -I"$INC" "$here/sgemm.c" \
	-L"$LIB" -lopenblas -Wl,-rpath,"$LIB" -o "$tmp/sgemm"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
# run [CORETYPE]: the whole list with CORETYPE's kernels ("auto":
# OpenBLAS's own choice; none: as the environment has it).  OMP_NUM_THREADS
# caps what openblas_set_num_threads may ask for: it is set to the
# machine's size so that every count in SGEMM_THREADS is honoured
run() {
	local envset=()
	case ${1:-} in
	"") ;;
	auto) envset=(-u OPENBLAS_CORETYPE) ;;
	*) envset=("OPENBLAS_CORETYPE=$1") ;;
	esac
	env "${envset[@]}" OMP_NUM_THREADS="$(nproc)" "$tmp/sgemm" -r "${SGEMM_RUNS:-5}" \
		-t "${SGEMM_THREADS:-1,2}" -s "${SGEMM_SECONDS:-0.25}" ${shapes[@]+"${shapes[@]}"}
}
shapes=("$@")
if [ -n "${SGEMM_CORETYPE:-}" ]; then
	run "$SGEMM_CORETYPE"
else
	run
	if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
		echo "# again without OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (OpenBLAS's own choice of kernels)"
		run auto
	fi
fi
