#!/usr/bin/env bash
# t_langid.sh - winnow langid against the fastText command line on real
# multilingual text; selection, threads, Chinese, errors.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
MODEL=$CACHE/lid176/lid.176.ftz
if [ ! -s "$MODEL" ] || ! $PY "$root/scripts/make-lang-corpus.py" >"$T/corpus.jsonl"; then
	eq "lid.176.ftz and the corpora are in the cache (run scripts/fetch-data.sh)" "missing" "present"
	exit 0
fi
N=$(wc -l <"$T/corpus.jsonl")
ok "the real corpus has at least 2,000 documents ($N)" test "$N" -ge 2000

# --- exactly the fastText CLI: labels and probabilities of the top 3
"$W" langid -q --topk 3 --threads 2 "$T/corpus.jsonl" -o "$T/top3.jsonl" --stats "$T/s.db"
$PY "$TESTS_DIR/langid_check.py" prep "$T/top3.jsonl" "$T/prep.txt"
fasttext predict-prob "$MODEL" "$T/prep.txt" 3 >"$T/cli.txt"
res=$($PY "$TESTS_DIR/langid_check.py" compare "$T/top3.jsonl" "$T/cli.txt" 3)
echo "# $res"
eq "top-3 labels and probabilities equal fasttext predict-prob on every document" \
	"$(echo "$res" | sed 's/.*mismatches=//')" "0"
langs=$(echo "$res" | sed 's/.*langs=\([0-9]*\).*/\1/')
ok "at least 10 languages among the top labels ($langs)" test "$langs" -ge 10
eq "every document annotated" "$(wc -l <"$T/top3.jsonl")" "$N"

# --max-chars: the same as the CLI on the cut text
"$W" langid -q --max-chars 20 "$T/corpus.jsonl" -o "$T/cut.jsonl"
$PY "$TESTS_DIR/langid_check.py" prep "$T/corpus.jsonl" "$T/prep20.txt" --max-chars 20
fasttext predict-prob "$MODEL" "$T/prep20.txt" 1 >"$T/cli20.txt"
res=$($PY "$TESTS_DIR/langid_check.py" compare "$T/cut.jsonl" "$T/cli20.txt" 1)
eq "--max-chars 20 equals the CLI on the first 20 characters" "$(echo "$res" | sed 's/.*mismatches=//')" "0"

# --- threads: the same bytes, in input order
"$W" langid -q --threads 1 "$T/corpus.jsonl" -o "$T/t1.jsonl"
"$W" langid -q --threads 2 "$T/corpus.jsonl" -o "$T/t2.jsonl"
ok "--threads 2 writes exactly what --threads 1 writes" cmp "$T/t1.jsonl" "$T/t2.jsonl"
ids() { $PY -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$1" | md5sum; }
eq "ids in input order" "$(ids "$T/t2.jsonl")" "$(ids "$T/corpus.jsonl")"

# --- selection: --keep and --min-score against the annotations
"$W" langid -q --keep zh,en --min-score 0.65 "$T/corpus.jsonl" -o "$T/kept.jsonl" \
	--rejects "$T/rej.jsonl" --stats "$T/sel.db"
want=$($PY -c '
import json,sys
k=0
for l in open(sys.argv[1]):
    d=json.loads(l)
    k+= d["lang"] in ("zh","en") and d["lang_score"]>=0.65
print(k)' "$T/t1.jsonl")
eq "--keep zh,en --min-score 0.65 keeps what the annotations say" "$(wc -l <"$T/kept.jsonl")" "$want"
eq "nothing lost: kept + rejected = input" "$(( $(wc -l <"$T/kept.jsonl") + $(wc -l <"$T/rej.jsonl") ))" "$N"
ok "rejects carry langid:LANG reasons" grep -q '"reason":"langid:fr"' "$T/rej.jsonl"
ok "rejects carry langid:low_score" grep -q '"reason":"langid:low_score"' "$T/rej.jsonl"
eq "kept documents are only zh and en" "$($PY -c '
import json,sys
print(sorted({json.loads(l)["lang"] for l in open(sys.argv[1])}))' "$T/kept.jsonl")" "['en', 'zh']"
eq "stats: the language histogram counts every document" \
	"$(q "$T/sel.db" "SELECT sum(docs_in) FROM counts WHERE kind='lang'")" "$N"
eq "stats: kept per language" \
	"$(q "$T/sel.db" "SELECT sum(docs_out) FROM counts WHERE kind='lang'")" "$want"
eq "stats: drops by reason add up" \
	"$(q "$T/sel.db" "SELECT sum(docs) FROM drops")" "$(wc -l <"$T/rej.jsonl")"
"$W" stats "$T/sel.db" >"$T/summary.txt"
ok "winnow stats shows the languages" grep -q "^languages" "$T/summary.txt"
"$W" langid -q --annotate-only "$T/corpus.jsonl" -o "$T/ann.jsonl"
eq "--annotate-only keeps every document" "$(wc -l <"$T/ann.jsonl")" "$N"
exits 2 "--annotate-only with --keep is a usage error" "$W" langid --annotate-only --keep en "$T/corpus.jsonl"

# --- Chinese: short lines of Chinese poetry and prose
$PY - "$T/corpus.jsonl" >"$T/zh_short.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(l)
    s = d.get("src", "")
    if (s.startswith("fortunes-zh") or s.startswith("chinese-poetry")) and len(d["text"]) <= 40:
        print(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False))
PY
nzh=$(wc -l <"$T/zh_short.jsonl")
"$W" langid -q "$T/zh_short.jsonl" -o "$T/zh_raw.jsonl"
"$W" langid -q --zh-merge "$T/zh_short.jsonl" -o "$T/zh_merged.jsonl"
frac() { $PY -c '
import json,sys,collections
c=collections.Counter(json.loads(l)["lang"] for l in open(sys.argv[1]))
n=sum(c.values()); print("%.3f" % (c["zh"]/n), " ".join("%s=%d"%kv for kv in c.most_common(6)))' "$1"; }
raw=$(frac "$T/zh_raw.jsonl"); merged=$(frac "$T/zh_merged.jsonl")
echo "# short Chinese ($nzh docs): model labels zh=$raw; with --zh-merge zh=$merged"
ok "short Chinese: there are some ($nzh)" test "$nzh" -ge 50
ok "--zh-merge labels at least as much short Chinese zh as the model" \
	$PY -c "import sys; sys.exit(not ${merged%% *} >= ${raw%% *})"
ok "--zh-merge labels >= 95% of short Chinese texts zh" $PY -c "import sys; sys.exit(not ${merged%% *} >= 0.95)"
ok "--zh-merge keeps the model's label in lang_raw when it changed it" \
	$PY -c '
import json,sys
for a,b in zip(open(sys.argv[1]),open(sys.argv[2])):
    a=json.loads(a); b=json.loads(b)
    if a["lang"]!=b["lang"] and b.get("lang_raw")!=a["lang"]: sys.exit(1)' "$T/zh_raw.jsonl" "$T/zh_merged.jsonl"
printf '%s\n' '{"text":"東京は日本の首都です。ひらがなもあります。"}' >"$T/ja.jsonl"
eq "--zh-merge leaves Japanese with kana alone" "$("$W" langid -q --zh-merge "$T/ja.jsonl" | $PY -c 'import json,sys; print(json.loads(sys.stdin.read())["lang"])')" "ja"

# --- errors
exits 1 "a missing model is an error" "$W" langid --model "$T/none.ftz" "$T/ja.jsonl"
err_has "... naming the file" "none.ftz"
echo "not a model" >"$T/bad.ftz"
exits 1 "a file that is not a model is an error" "$W" langid --model "$T/bad.ftz" "$T/ja.jsonl"
err_has "... naming the file" "bad.ftz"
head -c 100000 "$MODEL" >"$T/trunc.ftz"
exits 1 "a truncated model is an error, not a crash" "$W" langid --model "$T/trunc.ftz" "$T/ja.jsonl"
exits 2 "--keep with a label the model lacks" "$W" langid --keep xx "$T/ja.jsonl"
exits 2 "--min-score out of range" "$W" langid --min-score 2 "$T/ja.jsonl"
printf '{"text":""}\n{"text":"\\n\\n"}\n{"id":1}\nnot json\n' >"$T/edge.jsonl"
exits 0 "empty texts and bad lines do not stop it" "$W" langid -q "$T/edge.jsonl" -o "$T/edge.out"
eq "... empty texts are annotated, bad lines skipped" "$(wc -l <"$T/edge.out")" "2"
