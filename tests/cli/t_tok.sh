#!/usr/bin/env bash
# t_tok.sh - winnow tok against the references: OpenAI's test plans, the
# npm tiktoken encoder (tiktoken's Rust core) on 10 MB of real
# multilingual text and random Unicode, the npm Hugging Face tokenizer on
# winnow's own trained vocabulary; the token files through independent
# readers; errors.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
TK=$CACHE/tokenizers
if [ ! -s "$TK/cl100k_base.tiktoken" ] || [ ! -d "$TK/node_modules/tiktoken" ] || ! command -v node >/dev/null; then
	eq "the tokenizers data set and node are present (scripts/fetch-data.sh tokenizers)" "missing" "present"
	exit 0
fi
REF="node $root/tests/tok/ref_tiktoken.js"

# --- the 313 cases of gpt-tokenizer's TestPlans.txt
$PY - "$TK/TestPlans.txt" "$T/plans" <<'EOF'
import json, sys, os
out = sys.argv[2]; os.makedirs(out, exist_ok=True)
cases = {}
blocks = open(sys.argv[1], encoding='utf-8').read().split('\n\n')
for b in blocks:
    if not b.strip(): continue
    lines = b.split('\n')
    enc = lines[0][len('EncodingName: '):]
    sample = lines[1][len('Sample: '):]
    ids = json.loads(lines[2][len('Encoded: '):])
    cases.setdefault(enc, []).append((sample, ids))
for enc, cs in cases.items():
    with open(f'{out}/{enc}.jsonl', 'w') as f:
        for s, _ in cs: f.write(json.dumps({'text': s}) + '\n')
    with open(f'{out}/{enc}.want', 'w') as f:
        for _, ids in cs: f.write(' '.join(map(str, ids)) + '\n')
print(sum(len(c) for c in cases.values()))
EOF
total=0 good=0
for f in "$T"/plans/*.jsonl; do
	enc=$(basename "$f" .jsonl)
	"$W" tok encode -q --format ids --vocab "$enc" "$f" -o "$T/plans/$enc.got"
	n=$(wc -l <"$f")
	same=$(paste -d'|' "$T/plans/$enc.got" "$T/plans/$enc.want" | awk -F'|' '$1 == $2' | wc -l)
	total=$((total + n)); good=$((good + same))
done
eq "TestPlans.txt: all 313 cases give the expected ids ($good of $total)" "$good/$total" "313/313"

# --- the reference encoder on the multilingual corpus (real text, code,
# stress strings, 5,000 random Unicode strings)
$PY "$root/scripts/make-tok-corpus.py" "$T/corpus.jsonl" 2>/dev/null
mb=$(( $(stat -c%s "$T/corpus.jsonl") / 1000000 ))
ok "the corpus holds at least 10 MB ($mb MB of JSONL)" test "$mb" -ge 10
for enc in r50k_base cl100k_base o200k_base; do
	"$W" tok encode -q --threads 2 --format ids --vocab $enc "$T/corpus.jsonl" -o "$T/$enc.got"
	$REF encode $enc <"$T/corpus.jsonl" >"$T/$enc.ref"
	diffs=$(paste -d'|' "$T/$enc.got" "$T/$enc.ref" | awk -F'|' '$1 != $2' | wc -l)
	eq "$enc: ids equal tiktoken's on every document of the corpus" "$diffs" "0"
done
$REF encode cl100k_base --special all <"$T/corpus.jsonl" >"$T/sp.ref"
"$W" tok encode -q --allow-special --format ids "$T/corpus.jsonl" -o "$T/sp.got"
ok "--allow-special equals tiktoken's encode(allowed_special=all)" cmp "$T/sp.got" "$T/sp.ref"
"$W" tok encode -q --threads 1 --format ids --vocab o200k_base "$T/corpus.jsonl" -o "$T/o1.got"
ok "one thread writes what two write" cmp "$T/o1.got" "$T/o200k_base.got"

# round trip: decode(encode(x)) == x on every document
"$W" tok decode --vocab o200k_base "$T/o200k_base.got" -o "$T/back.jsonl"
rt=$($PY -c '
import json, sys
a = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
print(sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b)))' "$T/corpus.jsonl" "$T/back.jsonl")
eq "decode(encode(x)) == x on every document" "$rt" "0"

# GPT-2's encoder.json + vocab.bpe and the Hugging Face cl100k tokenizer.json
head -3000 "$T/corpus.jsonl" >"$T/c3k.jsonl"
"$W" tok encode -q --format ids --vocab "$TK/gpt2/encoder.json" "$T/c3k.jsonl" -o "$T/g2.got"
$REF encode r50k_base <"$T/c3k.jsonl" >"$T/g2.ref"
ok "GPT-2's encoder.json + vocab.bpe give r50k_base's ids" cmp "$T/g2.got" "$T/g2.ref"

# --- training: winnow's own vocabulary in both files, loaded by the
# references
"$W" tok train -q --vocab-size 3000 --special '<|pad|>' -o "$T/v3k" "$T/corpus.jsonl"
"$W" tok train -q --vocab-size 300 -o "$T/new/dir/v" "$T/c3k.jsonl"
ok "train creates the folder of its prefix" test -s "$T/new/dir/v.json"
ok "train writes a rank file and a tokenizer.json" test -s "$T/v3k.tiktoken" -a -s "$T/v3k.json"
eq "3000 tokens: 2998 ranks and 2 special" "$(wc -l <"$T/v3k.tiktoken")" "2998"
$PY "$root/tests/tok/check_hf_vocab.py" "$T/v3k.json" "$T/v3k.tiktoken" >"$T/.chk" 2>&1
ok "the two files describe one vocabulary" test $? -eq 0
"$W" tok train -q --threads 1 --vocab-size 3000 --special '<|pad|>' -o "$T/v3k1" "$T/corpus.jsonl"
ok "training is deterministic (one thread or two: the same files)" \
	bash -c "cmp '$T/v3k.tiktoken' '$T/v3k1.tiktoken' && cmp '$T/v3k.json' '$T/v3k1.json'"
"$W" tok encode -q --format ids --vocab "$T/v3k.tiktoken" --pattern cl100k_base "$T/corpus.jsonl" -o "$T/own.got"
$REF encode --ranks "$T/v3k.tiktoken" --pattern "$(sed -n 's/.*"Regex": *"\(.*\)"}.*/\1/p' "$T/v3k.json" | head -1 | $PY -c 'import json,sys; print(json.loads("\"" + sys.stdin.read().strip() + "\""))')" \
	<"$T/corpus.jsonl" >"$T/own.ref"
diffs=$(paste -d'|' "$T/own.got" "$T/own.ref" | awk -F'|' '$1 != $2' | wc -l)
eq "npm tiktoken with winnow's rank file gives winnow's ids" "$diffs" "0"
"$W" tok encode -q --allow-special --format ids --vocab "$T/v3k.json" "$T/corpus.jsonl" -o "$T/hf.got"
node "$root/tests/tok/ref_hf.js" encode "$T/v3k.json" <"$T/corpus.jsonl" >"$T/hf.ref"
# the JavaScript regex engine's \s takes U+FEFF and not U+0085, unlike
# tiktoken's and PCRE2's (Unicode White_Space): those documents differ
hfd=$($PY -c '
import json, sys
t = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
a = open(sys.argv[2]).read().split("\n"); b = open(sys.argv[3]).read().split("\n")
bad = [i for i in range(len(t)) if a[i] != b[i]]
print(len([i for i in bad if "\x85" not in t[i] and "\ufeff" not in t[i]]), len(bad))' \
	"$T/corpus.jsonl" "$T/hf.got" "$T/hf.ref")
eq "@lenml/tokenizers with winnow's tokenizer.json gives winnow's ids (but where \\s differs: $hfd)" "${hfd%% *}" "0"

# --- token files through independent readers
"$W" tok encode -q --format megatron --stats "$T/s.db" "$T/c3k.jsonl" -o "$T/m"
$PY "$root/tests/tok/check_megatron.py" "$T/m" >"$T/m.txt"
want_tokens=$(awk '{ n += NF + 1 } END { print n }' "$T/g2.got" | head -1)
cl_tokens=$(head -3000 "$T/cl100k_base.got" | awk '{ n += NF + 1 } END { print n }')
eq "Megatron files read by a separate reader: documents and tokens" \
	"$(cat "$T/m.txt")" "documents 3000 sequences 3000 tokens $cl_tokens dtype int32"
eq "--stats: the tokens table" "$(q "$T/s.db" 'select documents, tokens from tokens')" "3000|$cl_tokens"
"$W" stats "$T/s.db" >"$T/st.txt"
ok "winnow stats shows the tokens written per domain" grep -A2 "^tokens written" "$T/st.txt"
eq "... with the documents of the run" "$(awk '/^tokens written/ { f = 1; next } f && $1 == "(none)" { print $2 }' "$T/st.txt")" "3.0"
"$W" tok inspect "$T/m" >"$T/i.txt"
ok "inspect passes a good file" grep -q "checks      passed" "$T/i.txt"
"$W" tok encode -q --format winnow --seq-len 256 --pack bestfit "$T/c3k.jsonl" -o "$T/w"
"$W" tok inspect --sample 8 "$T/w.wtok" >"$T/iw.txt"
ok "inspect decodes a sample of a .wtok with its recorded vocabulary" grep -q '^sample      window 0, 8 tokens: "' "$T/iw.txt"
eq "bestfit keeps every token" "$(sed -n 's/^tokens  *\([0-9][0-9]*\).*/\1/p' "$T/iw.txt")" "$cl_tokens"
cp "$T/w.wtok" "$T/bad.wtok"
printf '\x01' | dd of="$T/bad.wtok" bs=1 seek=5000 conv=notrunc 2>/dev/null
exits 1 "inspect refuses a damaged .wtok" "$W" tok inspect "$T/bad.wtok"
err_has "the message names the file" "bad.wtok"
head -c 100000 "$T/m.bin" >"$T/cut.bin"; cp "$T/m.idx" "$T/cut.idx"
exits 1 "inspect refuses a truncated Megatron .bin" "$W" tok inspect "$T/cut"

# --by-domain and -O; merge equals one run
$PY -c '
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    d = json.loads(l); d["domain"] = ["web", "code", "zh"][i % 3]; print(json.dumps(d))' "$T/c3k.jsonl" >"$T/dom.jsonl"
head -1500 "$T/dom.jsonl" >"$T/d1.jsonl"; tail -n +1501 "$T/dom.jsonl" >"$T/d2.jsonl"
"$W" tok encode -q --by-domain --format llmc -O "$T/out" "$T/d1.jsonl" "$T/d2.jsonl"
eq "-O with --by-domain: a dataset per input and domain" "$(ls "$T/out" | tr '\n' ' ')" \
	"d1.code.bin d1.web.bin d1.zh.bin d2.code.bin d2.web.bin d2.zh.bin "
"$W" tok merge -o "$T/out/all.web" "$T/out/d1.web.bin" "$T/out/d2.web.bin" 2>/dev/null
"$W" tok encode -q --by-domain --format llmc -o "$T/one" "$T/d1.jsonl" "$T/d2.jsonl"
ok "merge of the shards equals one run" cmp "$T/out/all.web.bin" "$T/one.web.bin"
printf '{"text": "%s"}\n' "进入科技层面前，先看看 Debian 专案本身的组织架构。这里有一些在类 Unix 系统中经常使用到的标准文本处理工具。" >"$T/zh1.jsonl"
"$W" tok encode -q --format megatron "$T/zh1.jsonl" -o "$T/zh1"
for k in 3 4 5 6 7 8 9 10 11; do
	"$W" tok inspect --vocab cl100k_base --sample $k "$T/zh1" | grep '^sample' >>"$T/zs.txt"
done
eq "inspect samples a Chinese document at every length" "$(wc -l <"$T/zs.txt")" "9"
ok "inspect's samples are valid UTF-8 wherever the tokens cut a character" iconv -f UTF-8 -t UTF-8 "$T/zs.txt"

# --- errors
exits 2 "encode without -o for token files" "$W" tok encode "$T/c3k.jsonl"
exits 1 "an unknown vocabulary file" "$W" tok encode --format ids --vocab "$T/none.tiktoken" "$T/c3k.jsonl"
err_has "names the file" "none.tiktoken"
printf 'YQ== 0\nnot base64 1\n' >"$T/b.tiktoken"
exits 1 "a bad rank file" "$W" tok encode --format ids --vocab "$T/b.tiktoken" "$T/c3k.jsonl"
err_has "names file and line" "b.tiktoken:2"
exits 1 "a bad pattern" "$W" tok encode --format ids --pattern '(' "$T/c3k.jsonl"
err_has "says what is wrong with it" "pattern"
echo '1 2 99999999' >"$T/ids.txt"
exits 1 "decode: an id outside the vocabulary" "$W" tok decode "$T/ids.txt"
err_has "names the line" "ids.txt:1"
printf '{"text": "ok"}\n{"text": \n' >"$T/badline.jsonl"
"$W" tok encode --format ids "$T/badline.jsonl" -o "$T/bl.txt" 2>"$T/bl.err"
eq "a bad line is skipped and reported with file and line" "$(wc -l <"$T/bl.txt") $(grep -c 'badline.jsonl:2' "$T/bl.err")" "1 1"
