#!/usr/bin/env bash
# deps.sh - the Debian packages winnow's build, tests, benchmarks and demo
# need.  `deps.sh check` exits 0 when all are installed; `deps.sh install`
# installs the missing ones with apt-get (as root; runs `apt-get update`
# first only when a package cannot be found).  Idempotent.
set -euo pipefail

PKGS=(
	build-essential pkg-config
	libzstd-dev zstd zlib1g-dev
	libcurl4-openssl-dev
	libpcre2-dev
	libfasttext-dev fasttext
	libxxhash-dev
	libsqlite3-dev sqlite3
	libcriterion-dev
	libsimdjson-dev g++
	libutf8proc-dev libgumbo-dev libxml2-dev
	libopencc-dev libopencc-data opencc
	man-db groff-base
	# the reference tokenizer of the tok benchmark
	sentencepiece
	# the other JSON parsers measured in bench/json
	libjansson-dev libjson-c-dev libcjson-dev
	# the trainer's matrix products, and its PyTorch parity test
	libopenblas-openmp-dev python3-torch python3-numpy
)

# commands that may come from elsewhere than Debian (a node or python
# installed by other means is fine): the package is installed only when
# the command is missing
CMDS=(python3:python3 npm:npm curl:curl)

missing() {
	local p c
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
	for c in "${CMDS[@]}"; do
		command -v "${c%%:*}" >/dev/null 2>&1 || echo "${c#*:}"
	done
}

case "${1:-check}" in
check)
	m=$(missing)
	[ -z "$m" ] && exit 0
	echo "deps: missing:" $m >&2
	exit 1
	;;
install)
	m=$(missing)
	if [ -z "$m" ]; then echo "deps: all installed"; exit 0; fi
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:" $m >&2
		echo "deps: run 'sudo make deps' (or: sudo apt-get install" $m ")" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! apt-get install -y --no-install-recommends $m; then
		apt-get update
		# shellcheck disable=SC2086
		apt-get install -y --no-install-recommends $m
	fi
	;;
*)
	echo "usage: deps.sh check|install" >&2
	exit 2
	;;
esac
