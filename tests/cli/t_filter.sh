#!/usr/bin/env bash
# t_filter.sh - winnow filter on real text (State of the Union, Moby-Dick,
# Chinese prose and fortunes, spam, boilerplate, garbage), the classifier
# against the fastText command line, annotate against drop, threads,
# edits and stats, errors.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
C=$T/corpus
mkdir -p "$C"
if ! $PY "$root/scripts/make-filter-corpus.py" "$C" >"$T/corpus.log" 2>&1; then
	eq "the filter corpora build from the cache (run scripts/fetch-data.sh)" "missing" "present"
	exit 0
fi

# pass rate of the default rules (all four sets) on one corpus, in percent
rate() {
	"$W" filter -q --annotate-only=failed "$C/$1.jsonl" | $PY -c '
import json, sys
n = p = 0
for line in sys.stdin:
    n += 1
    p += not json.loads(line)["quality"]["fail"]
print(int(100 * p / n))'
}
r=$(rate sotu);          echo "# sotu pass: $r%";         ok "State of the Union addresses pass (>= 95%: $r%)" test "$r" -ge 95
r=$(rate moby);          echo "# moby pass: $r%";         ok "Moby-Dick chapters pass (>= 95%: $r%)" test "$r" -ge 95
r=$(rate zh_prose);      echo "# zh_prose pass: $r%";     ok "Chinese prose (Debian handbook zh-CN) passes (>= 90%: $r%)" test "$r" -ge 90
r=$(rate en_zh_parallel); echo "# parallel pass: $r%";    ok "parallel English and Chinese paragraphs pass (>= 90%: $r%)" test "$r" -ge 90
# fortunes grouped in pages: repeated attribution lines are what FineWeb's
# duplicate-line rule is for, so the Gopher and C4 rules are judged here
r=$("$W" filter -q --rules gopher,c4 "$C/zh_fortunes_pages.jsonl" | wc -l)
n=$(wc -l <"$C/zh_fortunes_pages.jsonl")
echo "# fortunes-zh pages kept by gopher,c4: $r of $n"
ok "fortunes-zh pages pass the Gopher and C4 rules (>= 50%: $r of $n)" test $((100 * r / n)) -ge 50
for g in garbage_random garbage_mash garbage_repeat garbage_mojibake zh_spam zh_nav en_spam_seo; do
	r=$(rate $g)
	ok "$g fails (<= 5% pass: $r%)" test "$r" -le 5
done
r=$(rate spam); echo "# spam pass: $r%"
ok "most spam mails fail (<= 30% pass: $r%)" test "$r" -le 30

# --- C4 and regex line removal on pages with known boilerplate lines
"$W" filter -q --rules regex,c4 --set c4.sentences=off --set c4.curly_bracket=off \
	--set c4.lorem_ipsum=off "$C/boilerplate_page.jsonl" -o "$T/bp.jsonl"
res=$($PY - "$C/boilerplate_page.jsonl" "$T/bp.jsonl" <<'EOF'
import json, sys
orig = [json.loads(l) for l in open(sys.argv[1])]
kept = {d["id"]: d for d in map(json.loads, open(sys.argv[2]))}
bl = bk = pl = pk = 0
for d in orig:
    lines = d["text"].split("\n")
    left = set(l.strip() for l in kept[d["id"]]["text"].split("\n")) if d["id"] in kept else set()
    boiler = set(d["boiler_lines"])
    for i, l in enumerate(lines):
        if not l.strip():
            continue
        if i in boiler:
            bl += 1; bk += l.strip() in left
        else:
            pl += 1; pk += l.strip() in left
print("%d %d" % (100 * (bl - bk) // bl, 100 * pk // pl))
EOF
)
set -- $res
echo "# boilerplate lines removed: $1%, prose lines kept: $2%"
ok "line rules remove most boilerplate lines (>= 80%: $1%)" test "$1" -ge 80
ok "line rules keep most prose lines (>= 75%: $2%)" test "$2" -ge 75

# --- annotate and drop agree; threads keep the bytes and the order
"$W" filter -q --threads 1 "$C/ham.jsonl" -o "$T/d1.jsonl" --rejects "$T/r1.jsonl" --stats "$T/s.db"
"$W" filter -q --threads 2 "$C/ham.jsonl" -o "$T/d2.jsonl" --rejects "$T/r2.jsonl"
ok "--threads 2 writes exactly what --threads 1 writes" cmp "$T/d1.jsonl" "$T/d2.jsonl"
ok "and the same rejects" cmp "$T/r1.jsonl" "$T/r2.jsonl"
"$W" filter -q --annotate-only "$C/ham.jsonl" -o "$T/a.jsonl"
eq "--annotate-only keeps every document" "$(wc -l <"$T/a.jsonl")" "$(wc -l <"$C/ham.jsonl")"
res=$($PY - "$T/a.jsonl" "$T/r1.jsonl" "$C/ham.jsonl" <<'EOF'
import json, sys
ann = [json.loads(l) for l in open(sys.argv[1])]
rej = {json.loads(l)["id"]: json.loads(l)["reject"]["reason"] for l in open(sys.argv[2])}
src = [json.loads(l) for l in open(sys.argv[3])]
bad = 0
for a, s in zip(ann, src):
    f = a["quality"]["fail"]
    # the first failing rule is the drop reason
    if (a["id"] in rej) != bool(f) or (f and rej[a["id"]] != f[0]):
        bad += 1
    if a["text"] != s["text"]:
        bad += 1  # annotating changes no text
print(bad)
EOF
)
eq "annotated failures are the drop reasons, text unchanged" "$res" "0"
n_in=$(wc -l <"$C/ham.jsonl"); n_out=$(wc -l <"$T/d1.jsonl"); n_rej=$(wc -l <"$T/r1.jsonl")
eq "docs in = kept + rejected" "$n_in" "$((n_out + n_rej))"
eq "stats: drops per reason add up" "$(q "$T/s.db" "SELECT sum(docs) FROM drops")" "$n_rej"
ok "stats: line edits recorded per rule" test "$(q "$T/s.db" "SELECT count(*) FROM edits WHERE kind='filter_edit' AND key='c4:no_terminal_punct' AND units > 0")" -ge 1
ok "stats: documents per profile" test "$(q "$T/s.db" "SELECT sum(docs_in) FROM counts WHERE kind='quality_profile'")" -eq "$n_in"
"$W" filter -q --annotate-only "$C/ham.jsonl" -o /dev/null --stats "$T/a.db"
ok "annotate stats: failures per rule" test "$(q "$T/a.db" "SELECT sum(docs) FROM edits WHERE kind='filter_fail'")" -ge "$n_rej"

# --- PII masking and the language of the regex rules
printf '%s\n' '{"id":1,"text":"Write to jane.doe@example.com or call +1 (555) 123-4567 from 192.168.1.20."}' \
	'{"id":2,"lang":"zh","text":"联系电话 13812345678，身份证 11010519491231002X。"}' >"$T/pii.jsonl"
"$W" filter -q --rules regex "$T/pii.jsonl" -o "$T/pii.out"
ok "e-mail masked" grep -q '<EMAIL>' "$T/pii.out"
ok "IPv4 masked" grep -q '<IPV4>' "$T/pii.out"
ok "Chinese mobile number masked" grep -q '<PHONE>' "$T/pii.out"
ok "Chinese ID number masked" grep -q '<CN_ID>' "$T/pii.out"
exits 1 "a missing regex file is an error" "$W" filter -q --rules regex --regex-file "$T/no-such.rules" "$T/pii.jsonl" -o /dev/null
printf 'remove good (?i)cookie\nremove bad (unclosed\n' >"$T/bad.rules"
exits 2 "a pattern that does not compile is an error" "$W" filter -q --regex-file "$T/bad.rules" "$T/pii.jsonl" -o /dev/null
err_has "it names the file and line" "bad.rules:2"
printf '[zh]\nc4.nonsense = 3\n' >"$T/bad.conf"
exits 2 "an unknown threshold is an error" "$W" filter -q --rules-file "$T/bad.conf" "$T/pii.jsonl"
err_has "naming the file and line" "bad.conf:2"
exits 2 "--set needs KEY=VALUE" "$W" filter --set gopher_quality.words.min "$T/pii.jsonl"
exits 2 "an unknown rule set" "$W" filter --rules gopherish "$T/pii.jsonl"

# --- thresholds from --set and a rules file change the verdicts
"$W" filter -q --rules gopher_quality --set gopher_quality.words.min=100000 "$C/moby.jsonl" -o "$T/none.jsonl"
eq "--set: a minimum of 100,000 words drops every chapter" "$(wc -l <"$T/none.jsonl")" "0"
printf '# no rule\n[*]\ngopher_quality.words = off\n' >"$T/off.conf"
"$W" filter -q --rules gopher_quality --rules-file "$T/off.conf" --set gopher_quality.mean_word_length=off \
	--set gopher_quality.stop_words.min=0 --set gopher_quality.alpha_words=off "$C/garbage_mash.jsonl" -o "$T/all.jsonl"
ok "a rules file turns rules off" test "$(wc -l <"$T/all.jsonl")" -ge 150
"$W" filter --dump-config >"$T/conf.txt"
"$W" filter -q --rules gopher --rules-file "$T/conf.txt" "$C/moby.jsonl" -o "$T/m2.jsonl"
"$W" filter -q --rules gopher "$C/moby.jsonl" -o "$T/m1.jsonl"
ok "--dump-config reads back as the same configuration" cmp "$T/m1.jsonl" "$T/m2.jsonl"

# --- the classifier: trained here on real mails, scores equal fastText's
if command -v fasttext >/dev/null 2>&1; then
	M=$T/cls
	mkdir -p "$M"
	$PY "$TESTS_DIR/filter_data.py" fasttext-split "$M" >/dev/null
	fasttext supervised -input "$M/train.txt" -output "$M/model" -epoch 10 -wordNgrams 2 -dim 50 \
		-lr 0.5 -bucket 100000 -minCount 2 -thread 1 -verbose 0 >/dev/null 2>&1
	ok "fasttext supervised trained a ham/spam model" test -s "$M/model.bin"
	"$W" filter -q --rules none --classifier "$M/model.bin" --label ham --min 0.5 \
		--annotate-only "$M/valid.jsonl" -o "$M/scored.jsonl"
	fasttext predict-prob "$M/model.bin" "$M/valid.txt" 2 >"$M/cli.txt"
	res=$($PY - "$M/scored.jsonl" "$M/cli.txt" <<'EOF'
import json, sys
bad = right = n = 0
for doc, cli in zip(open(sys.argv[1]), open(sys.argv[2])):
    d = json.loads(doc); f = cli.split()
    probs = {f[i].replace("__label__", ""): float(f[i + 1]) for i in range(0, len(f), 2)}
    p = probs.get("ham", 0.0)
    if abs(d["quality_score"] - p) > 1e-5 * max(1, p):
        bad += 1
    n += 1
    right += (d["quality_score"] >= 0.5) == (d["label"] == "ham")
print(bad, 1000 * right // n)
EOF
)
	set -- $res
	eq "P(ham) equals fasttext predict-prob on every validation mail" "$1" "0"
	echo "# classifier accuracy on held-out mails: $2 per mille"
	ok "the classifier keeps ham and drops spam (accuracy >= 0.95: $2/1000)" test "$2" -ge 950
	"$W" filter -q --rules none --classifier "$M/model.bin" --label ham --min 0.5 "$M/valid.jsonl" \
		-o "$M/kept.jsonl" --rejects "$M/rej.jsonl"
	ok "dropped mails carry the reason classifier:ham" grep -q '"classifier:ham"' "$M/rej.jsonl"
	exits 2 "an unknown label is a usage error" "$W" filter --classifier "$M/model.bin" --label eggs "$M/valid.jsonl"
else
	skip "classifier" "the fasttext command is not installed"
fi

# --- nasty documents: empty text, no text, a number for lang, a huge line
$PY - "$T/nasty.jsonl" <<'EOF2'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"id": "empty", "text": ""}) + "\n")
    f.write(json.dumps({"id": "notext", "body": "x"}) + "\n")
    f.write(json.dumps({"id": "numlang", "lang": 7, "text": "A short one."}) + "\n")
    f.write("{not json\n")
    f.write(json.dumps({"id": "nul", "text": "zero\u0000byte " * 20}) + "\n")
    big = " ".join("The quick brown fox jumps over the lazy dog number %d." % i for i in range(150000))
    f.write(json.dumps({"id": "huge", "text": big}) + "\n")
EOF2
exits 0 "nasty documents: the run goes on" "$W" filter -q --annotate-only "$T/nasty.jsonl" -o "$T/nasty.out" \
	--rejects "$T/nasty.rej" --stats "$T/n.db"
eq "every good document annotated, the two bad lines rejected" \
	"$(wc -l <"$T/nasty.out") $(wc -l <"$T/nasty.rej")" "4 2"
eq "the empty text fails gopher_quality:words" \
	"$($PY -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; print([x["quality"]["fail"][0] for x in d if x["id"]=="empty"][0])' "$T/nasty.out")" \
	"gopher_quality:words"
eq "the 8 MB line: words counted" \
	"$($PY -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; print([x["quality"]["gopher_quality:words"] for x in d if x["id"]=="huge"][0])' "$T/nasty.out")" \
	"1650000"
exits 1 "--on-error fail stops at the bad line" "$W" filter -q --on-error fail "$T/nasty.jsonl" -o "$T/nf.out"
err_has "naming file and line" "nasty.jsonl:2"

# --- value distributions in the stats: every metric's buckets hold every document
"$W" filter -q --annotate-only "$C/moby.jsonl" -o /dev/null --stats "$T/v.db"
n=$(wc -l <"$C/moby.jsonl")
eq "filter_value: the words histogram holds every document" \
	"$(q "$T/v.db" "SELECT sum(docs) FROM edits WHERE kind='filter_value' AND key LIKE 'gopher_quality:words@%'")" "$n"
res=$($PY - "$C/moby.jsonl" "$T/v.db" "$W" <<'EOF2'
import json, sqlite3, subprocess, sys
out = subprocess.run([sys.argv[3], "filter", "-q", "--annotate-only", sys.argv[1]], capture_output=True, text=True).stdout
words = [json.loads(l)["quality"]["gopher_quality:words"] for l in out.splitlines()]
db = sqlite3.connect(sys.argv[2])
rows = db.execute("SELECT CAST(substr(key, instr(key,'@')+1) AS REAL), docs FROM edits "
                  "WHERE kind='filter_value' AND key LIKE 'gopher_quality:words@%'").fetchall()
# below 1,000 words: from the buckets and from the documents
print(sum(d for lo, d in rows if lo < 1000), sum(w < 1000 for w in words))
EOF2
)
set -- $res
eq "the buckets below 1,000 words count the documents with fewer than 1,000 words" "$1" "$2"
