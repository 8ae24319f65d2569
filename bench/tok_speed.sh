#!/usr/bin/env bash
# tok_speed.sh - winnow tok against the reference encoders and trainer on
# the same text, alternating runs (abtime.py):
#
#   1. encoding cl100k_base (English, Chinese; 1 and 2 threads) against
#      npm tiktoken (tiktoken's Rust core as WASM, run by node, one
#      thread), both reading JSONL and writing lines of ids;
#   2. encoding with a 32,000-token BPE vocabulary against spm_encode
#      (Debian's sentencepiece) with a BPE model of the same size trained
#      on the same text, both reading one text per line;
#   3. training a 32,000-token vocabulary on the same 100 MB of text
#      against spm_train --model_type=bpe (set BENCH_TOK_TRAIN=0 to skip:
#      spm_train takes several minutes).
#
# Text: the documents of the bench shard (bench/run.sh), English ones
# (ASCII) and Chinese ones apart.  Never fails on a time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
W=${WINNOW:-$root/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
B=$CACHE/bench/tok
RUNS=${RUNS:-3}
mkdir -p "$B"
"$root/scripts/fetch-data.sh" tokenizers >/dev/null
SHARD=$CACHE/bench/text.jsonl
if [ ! -s "$SHARD" ]; then
	echo "tok bench: no $SHARD (run bench/run.sh first)"; exit 0
fi
if [ ! -s "$B/en.jsonl" ]; then
	python3 - "$SHARD" "$B" <<'EOF'
import json, sys
src, out = sys.argv[1], sys.argv[2]
en = open(f'{out}/en.jsonl', 'w'); zh = open(f'{out}/zh.jsonl', 'w')
el = open(f'{out}/en_lines.txt', 'w'); elj = open(f'{out}/en_lines.jsonl', 'w')
big = open(f'{out}/train100.jsonl', 'w')
ne = nz = nb = 0
for line in open(src, encoding='utf-8'):
    t = json.loads(line)['text']
    if nb < 100e6:
        big.write(json.dumps({'text': t}, ensure_ascii=False) + '\n'); nb += len(t.encode())
    hi = sum(ord(c) > 127 for c in t[:400])
    if hi == 0 and ne < 16e6:
        en.write(json.dumps({'text': t}) + '\n'); ne += len(t)
        one = ' '.join(t.split('\n'))
        el.write(one + '\n'); elj.write(json.dumps({'text': one}) + '\n')
    elif hi > 100 and nz < 8e6:
        zh.write(json.dumps({'text': t}, ensure_ascii=False) + '\n'); nz += len(t.encode())
    if ne >= 16e6 and nz >= 8e6 and nb >= 100e6: break
EOF
fi
mb() { python3 -c 'import json,sys; print(round(sum(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1], encoding="utf-8")) / 1e6, 2))' "$1"; }
EN=$(mb "$B/en.jsonl"); ZH=$(mb "$B/zh.jsonl")
REF="node $root/tests/tok/ref_tiktoken.js"
echo "tok: English $EN MB and Chinese $ZH MB of text (MB/s below count text bytes)"
per() { python3 "$here/abtime.py" "$@"; }

per "tok encode cl100k_base, English, 1 thread  vs  npm tiktoken (node)" "$RUNS" "$EN" \
	"$W tok encode -q --threads 1 --format ids $B/en.jsonl" \
	"$REF encode cl100k_base < $B/en.jsonl"
per "tok encode cl100k_base, Chinese, 1 thread  vs  npm tiktoken (node)" "$RUNS" "$ZH" \
	"$W tok encode -q --threads 1 --format ids $B/zh.jsonl" \
	"$REF encode cl100k_base < $B/zh.jsonl"
per "tok encode o200k_base, English, 1 thread  vs  npm tiktoken (node)" "$RUNS" "$EN" \
	"$W tok encode -q --threads 1 --format ids --vocab o200k_base $B/en.jsonl" \
	"$REF encode o200k_base < $B/en.jsonl"
per "tok encode cl100k_base, English, 2 threads  vs  1 thread" "$RUNS" "$EN" \
	"$W tok encode -q --threads 2 --format ids $B/en.jsonl" \
	"$W tok encode -q --threads 1 --format ids $B/en.jsonl"
echo "npm tiktoken in-process (no I/O, no JSON):"
$REF bench cl100k_base "$B/en.jsonl" --repeat 2 | sed 's/^/  English: /'
$REF bench cl100k_base "$B/zh.jsonl" --repeat 2 | sed 's/^/  Chinese: /'

# --- against sentencepiece: BPE vocabularies of 32,000 on the same lines
if command -v spm_encode >/dev/null; then
	ELN=$(mb "$B/en_lines.jsonl")
	if [ ! -s "$B/spm32k.model" ]; then
		(cd "$B" && spm_train --input=en_lines.txt --model_prefix=spm32k --vocab_size=32000 \
			--model_type=bpe --character_coverage=1.0 --byte_fallback=true \
			--input_sentence_size=2000000 --shuffle_input_sentence=true --num_threads=2 \
			>/dev/null 2>&1)
	fi
	[ -s "$B/w32k.json" ] || "$W" tok train -q --vocab-size 32000 -o "$B/w32k" "$B/en_lines.jsonl"
	per "tok encode, own 32k BPE, English lines, 1 thread  vs  spm_encode 32k BPE" "$RUNS" "$ELN" \
		"$W tok encode -q --threads 1 --format ids --vocab $B/w32k.json $B/en_lines.jsonl" \
		"spm_encode --model=$B/spm32k.model --output_format=id < $B/en_lines.txt"
else
	echo "spm_encode not installed (Debian package sentencepiece): comparison skipped"
fi

# --- training 32,000 tokens on 100 MB
if [ "${BENCH_TOK_TRAIN:-1}" != 0 ] && command -v spm_train >/dev/null; then
	TMB=$(mb "$B/train100.jsonl")
	[ -s "$B/train100.txt" ] || python3 -c '
import json, sys
with open(sys.argv[2], "w") as o:
    for l in open(sys.argv[1], encoding="utf-8"):
        for line in json.loads(l)["text"].split("\n"):
            if line.strip(): o.write(line + "\n")' "$B/train100.jsonl" "$B/train100.txt"
	echo "train a 32,000-token BPE on $TMB MB of text (one run each; wall time, peak memory):"
	/usr/bin/time -f "  winnow tok train --threads 2: %e s, %M KB peak" \
		"$W" tok train -q --threads 2 --vocab-size 32000 -o "$B/t100" "$B/train100.jsonl"
	(cd "$B" && /usr/bin/time -o spm100.time -f "  spm_train --model_type=bpe --num_threads=2: %e s, %M KB peak" \
		spm_train --input=train100.txt --model_prefix=spm100 --vocab_size=32000 --model_type=bpe \
		--character_coverage=0.9995 --num_threads=2 --input_sentence_size=100000000 \
		--train_extremely_large_corpus=true >/dev/null 2>"$B/spm100.log")
	cat "$B/spm100.time"
fi
