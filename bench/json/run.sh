#!/usr/bin/env bash
# bench/json/run.sh - build and run the JSON parser benchmark (README.md).
#
#   bench/json/run.sh [FILE] [--reps N] [--no-subsets]   the timing table
#   bench/json/run.sh --probe                            edge-case table
#   bench/json/run.sh --fuzz N [FILE]                    winnow vs validators
#
# FILE defaults to /tmp/bench.jsonl (made with scripts/make-bench-shard.py
# when missing).  Needs only Debian packages: build-essential, pkg-config,
# the winnow build deps (for build/libwinnow.a), and any of libjansson-dev,
# libjson-c-dev, libcjson-dev, libsimdjson-dev (+ g++); a parser whose
# package is missing is skipped with a note.  Objects and the binary go to
# $JSON_BENCH_BUILD (default: a directory under ${TMPDIR:-/tmp}).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${JSON_BENCH_BUILD:-${TMPDIR:-/tmp}/winnow-json-bench.$(id -u)}
mkdir -p "$out"

# ---- arguments ----
file=
mode=bench
args=
while [ $# -gt 0 ]; do
	case $1 in
	--probe) mode=probe ;;
	--fuzz) mode=fuzz; shift; args="$args --fuzz ${1:?--fuzz needs a count}" ;;
	--reps) shift; args="$args --reps ${1:?--reps needs a number}" ;;
	--no-subsets) args="$args --no-subsets" ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) file=$1 ;;
	esac
	shift
done

# ---- winnow's library ----
if ! make -s -C "$root" build/libwinnow.a >&2; then
	echo "run.sh: could not build $root/build/libwinnow.a" >&2
	exit 1
fi

CC=${CC:-cc}
CXX=${CXX:-g++}
CFLAGS="-O2 -g -std=c11 -march=x86-64-v2 -Wall -Wextra -Wno-unused-parameter"
defs=
libs=
objs=

have_pc() { pkg-config --exists "$1" 2>/dev/null; }

# Each library's adapter is its own translation unit (the jansson and json-c
# headers clash).  -ljansson comes before -ljson-c: both export a
# json_object_get (versioned; the adapters do not call it).
cc_adapter() { # name extra-cflags
	# shellcheck disable=SC2086
	"$CC" $CFLAGS $2 -c "$here/p_$1.c" -o "$out/p_$1.o"
	objs="$objs $out/p_$1.o"
}
if have_pc jansson; then
	defs="$defs -DHAVE_JANSSON"
	cc_adapter jansson "$(pkg-config --cflags jansson)"
	libs="$libs $(pkg-config --libs jansson)"
else
	echo "run.sh: jansson not found (apt-get install libjansson-dev): skipping it" >&2
fi
if have_pc json-c; then
	defs="$defs -DHAVE_JSONC"
	cc_adapter jsonc "$(pkg-config --cflags json-c)"
	libs="$libs $(pkg-config --libs json-c)"
else
	echo "run.sh: json-c not found (apt-get install libjson-c-dev): skipping it" >&2
fi
if have_pc libcjson; then
	defs="$defs -DHAVE_CJSON"
	cc_adapter cjson "$(pkg-config --cflags libcjson)"
	libs="$libs $(pkg-config --libs libcjson)"
else
	echo "run.sh: cJSON not found (apt-get install libcjson-dev): skipping it" >&2
fi
if have_pc simdjson && command -v "$CXX" >/dev/null 2>&1; then
	# same target as winnow's own build (-march=x86-64-v2, see Makefile)
	SHIM_CXXFLAGS=${SHIM_CXXFLAGS:--O2 -march=x86-64-v2}
	shim="$out/simdjson_shim.$(echo "$SHIM_CXXFLAGS" | tr -c 'A-Za-z0-9=.\n-' _).o"
	if [ ! -e "$shim" ] || [ "$here/simdjson_shim.cpp" -nt "$shim" ] ||
	   [ "$here/simdjson_shim.h" -nt "$shim" ]; then
		echo "run.sh: compiling the simdjson shim with $SHIM_CXXFLAGS (takes a while)" >&2
		# shellcheck disable=SC2086,SC2046
		"$CXX" -std=c++17 $SHIM_CXXFLAGS -Wall -Wextra $(pkg-config --cflags simdjson) \
			-c "$here/simdjson_shim.cpp" -o "$shim"
	fi
	defs="$defs -DHAVE_SIMDJSON"
	objs="$objs $shim"
	libs="$libs $(pkg-config --libs simdjson) -lstdc++"
else
	echo "run.sh: simdjson or $CXX not found (apt-get install libsimdjson-dev g++): skipping it" >&2
fi

wlibs=$(pkg-config --libs libzstd libcurl libxxhash sqlite3 zlib 2>/dev/null ||
	echo -lzstd -lcurl -lxxhash -lsqlite3 -lz)
# shellcheck disable=SC2086
"$CC" $CFLAGS $defs -o "$out/json_bench" "$here/json_bench.c" $objs \
	"$root/build/libwinnow.a" $libs $wlibs -pthread -lm

if [ "$mode" = probe ]; then
	exec "$out/json_bench" --probe
fi

# ---- input ----
if [ -z "$file" ]; then
	file=/tmp/bench.jsonl
	if [ ! -s "$file" ]; then
		echo "run.sh: $file missing; making it (scripts/make-bench-shard.py)" >&2
		python3 "$root/scripts/make-bench-shard.py" "$file" >&2 || {
			echo "run.sh: could not make $file (see scripts/make-bench-shard.py)" >&2
			exit 1
		}
	fi
fi
[ -r "$file" ] || { echo "run.sh: cannot read $file" >&2; exit 1; }

echo "file: $file ($(wc -c <"$file") bytes)"
if command -v git >/dev/null 2>&1 && git -C "$root" rev-parse >/dev/null 2>&1; then
	dirty=$(git -C "$root" status --porcelain -- lib/doc.c lib/doc.h | head -c1)
	echo "winnow: lib/doc.c of commit $(git -C "$root" log -1 --format=%h -- lib/doc.c)${dirty:+ (with uncommitted changes)}"
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores;" \
	"load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
# shellcheck disable=SC2086
exec "$out/json_bench" $args "$file"
