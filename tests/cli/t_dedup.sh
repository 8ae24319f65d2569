#!/usr/bin/env bash
# t_dedup.sh - winnow dedup on real text (mails, State of the Union,
# Moby-Dick, Chinese prose and fortunes) with planted duplicates: exact
# dedup against a Python reference, MinHash against planted near-copies,
# the staged run against the one-machine run, keep-by, annotate, line
# dedup against a Python reference, and every broken intermediate file.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
C=$T/corpus
mkdir -p "$C" "$T/in"
if ! $PY "$root/scripts/make-filter-corpus.py" "$C" >"$T/corpus.log" 2>&1; then
	eq "the corpora build from the cache (run scripts/fetch-data.sh)" "missing" "present"
	exit 0
fi

# Four shards of real documents with planted duplicates: exact copies
# (some with other case, spacing and punctuation) and near copies (one
# word in fifty changed) of documents of other shards, and a `score`.
$PY - "$C" "$T/in" <<'EOF'
import json, random, re, sys
src, out = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
docs = []
for name in ["ham", "spam", "sotu", "moby", "zh_prose", "zh_fortunes_pages"]:
    for line in open(f"{src}/{name}.jsonl", encoding="utf-8"):
        d = json.loads(line)
        docs.append({"id": d["id"], "text": d["text"], "src": name})
rnd.shuffle(docs)
docs = docs[:6000]
planted = []
for i in range(300):
    d = rnd.choice(docs)
    t = d["text"]
    kind = i % 3
    if kind == 1:
        t = re.sub(r"[ \t]+", "  ", t.upper()).replace(".", " . ")
    elif kind == 2:
        w = t.split(" ")
        if len(w) < 200:
            continue
        for k in range(0, len(w), 50):
            w[k] = "xq" + str(k)
        t = " ".join(w)
    planted.append({"id": f"copy{i}-of-{d['id']}", "text": t, "src": "copy", "kind": kind, "of": d["id"]})
alld = docs + planted
rnd.shuffle(alld)
for k in range(4):
    with open(f"{out}/shard{k}.jsonl", "w", encoding="utf-8") as f:
        for j, d in enumerate(alld[k::4]):
            d["score"] = rnd.randint(0, 1000)
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
EOF
IN="$T/in/shard0.jsonl $T/in/shard1.jsonl $T/in/shard2.jsonl $T/in/shard3.jsonl"
total=$(cat $IN | wc -l)

# ---- exact, raw text: a Python reference ----
"$W" dedup exact -q --norm none $IN -O "$T/ex" --rejects "$T/ex.rej.jsonl"
ok "dedup exact runs" test -s "$T/ex.rej.jsonl"
want=$($PY - $IN <<'EOF'
import json, sys
seen = set(); drop = 0
for p in sorted(sys.argv[1:]):
    for line in open(p, encoding="utf-8"):
        t = json.loads(line)["text"]
        if t in seen: drop += 1
        seen.add(t)
print(drop)
EOF
)
eq "exact --norm none removes every later copy of a text (Python reference)" "$(wc -l <"$T/ex.rej.jsonl")" "$want"
eq "exact: documents in = out + rejects" "$(( $(cat "$T"/ex/*.jsonl | wc -l) + $(wc -l <"$T/ex.rej.jsonl") ))" "$total"
ok "exact: rejects carry the reason and the kept document" $PY -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["reject"]["reason"] == "dedup:exact", d["reject"]
    k = d["dedup"]["cluster"]
    assert k["file"].endswith(".jsonl") and k["line"] >= 1 and "id" in k, k
' "$T/ex.rej.jsonl"
ok "exact: the work directory is removed after a one-machine run" test ! -e "$T/ex/.dedup-work"

# normalised: the upper-cased, re-spaced copies are caught too
"$W" dedup exact -q $IN -O "$T/exn" --rejects "$T/exn.rej.jsonl"
ok "exact (normalised) catches the re-cased, re-spaced copies" $PY - "$T/exn.rej.jsonl" "$T/ex.rej.jsonl" $IN <<'EOF'
import json, sys
norm = [json.loads(l) for l in open(sys.argv[1])]
raw = [json.loads(l) for l in open(sys.argv[2])]
gone = {d["id"] for d in norm}
planted = [json.loads(l) for p in sys.argv[3:] for l in open(p, encoding="utf-8")]
planted = [d for d in planted if d.get("kind") == 1]
# the copy or its original goes, whichever comes later in input order
k1 = sum(1 for d in planted if d["id"] in gone or d["of"] in gone)
assert len(norm) > len(raw) and k1 == len(planted), (len(norm), len(raw), k1, len(planted))
EOF

# ---- MinHash: the near copies ----
"$W" dedup minhash -q $IN -O "$T/mh" --rejects "$T/mh.rej.jsonl" --stats "$T/mh.db"
ok "minhash removes the planted near copies (>= 95%) and names the original" $PY - "$T/mh.rej.jsonl" $IN <<'EOF'
import json, sys
rej = [json.loads(l) for l in open(sys.argv[1])]
docs = {}
for p in sys.argv[2:]:
    for i, l in enumerate(open(p, encoding="utf-8"), 1):
        d = json.loads(l); docs[(p, i)] = d
planted = [d for d in docs.values() if d["src"] == "copy"]
removed = {d["id"] for d in rej}
caught = 0
for d in planted:
    if d["id"] in removed:
        caught += 1
    else:
        # kept: then the original went (it came later in input order)
        orig = [r for r in rej if r["id"] == d["of"]]
        caught += bool(orig)
rate = caught / len(planted)
print("caught", caught, "of", len(planted))
assert rate >= 0.95, rate
for r in rej:
    assert r["reject"]["reason"] == "dedup:minhash"
    k = r["dedup"]["cluster"]
    assert (k["file"], k["line"]) in docs, k
EOF
eq "minhash: stats record the drops" "$(q "$T/mh.db" "select sum(docs) from drops where reason='dedup:minhash'")" "$(wc -l <"$T/mh.rej.jsonl")"

# the stage counts
eq "stats: sig read every document" "$(q "$T/mh.db" "select sum(value) from dedup where stage='sig' and name='docs'")" "$total"
eq "stats: cluster's removed = the rejects" "$(q "$T/mh.db" "select value from dedup where stage='cluster' and name='removed'")" "$(wc -l <"$T/mh.rej.jsonl")"
eq "stats: a pairs row per band" "$(q "$T/mh.db" "select count(*) from dedup where stage='pairs' and name='pairs'")" "14"
eq "stats: pairs written = pairs clustered" "$(q "$T/mh.db" "select sum(value) from dedup where stage='pairs' and name='pairs'")" "$(q "$T/mh.db" "select value from dedup where stage='cluster' and name='pairs'")"

# ---- a small --memory: sig spills sorted runs and merges them, same result ----
"$W" dedup minhash -q --memory 64K --threads 2 $IN -O "$T/sp" --rejects "$T/sp.rej.jsonl" --stats "$T/sp.db"
for k in 0 1 2 3; do
	eq "--memory 64K: the same output as in memory: shard$k" "$(cmp "$T/sp/shard$k.jsonl" "$T/mh/shard$k.jsonl" && echo same)" "same"
done
eq "--memory 64K: the same rejects" "$(md5sum <"$T/sp.rej.jsonl")" "$(md5sum <"$T/mh.rej.jsonl")"
ok "--memory 64K: every input was spilled in several runs" test "$(q "$T/sp.db" "select count(*) from dedup where stage='sig' and name='runs' and value > 1")" -eq 4
"$W" dedup minhash -q --verify $IN -O "$T/vm" --rejects "$T/vm.rej.jsonl"
"$W" dedup minhash -q --verify --memory 64K $IN -O "$T/vsp" --rejects "$T/vsp.rej.jsonl"
eq "--verify --memory 64K: shingle sets merged from runs, the same result" "$(cat "$T"/vsp/*.jsonl "$T/vsp.rej.jsonl" | md5sum)" "$(cat "$T"/vm/*.jsonl "$T/vm.rej.jsonl" | md5sum)"
"$W" dedup exact -q --unit line --memory 16K --norm none $IN -O "$T/lnsp" --rejects "$T/lnsp.rej.jsonl"
"$W" dedup exact -q --unit line --norm none $IN -O "$T/lnm" --rejects "$T/lnm.rej.jsonl"
eq "--memory: line counts merged from runs give the same lines removed" "$(cat "$T"/lnsp/*.jsonl "$T/lnsp.rej.jsonl" | md5sum)" "$(cat "$T"/lnm/*.jsonl "$T/lnm.rej.jsonl" | md5sum)"
mkdir -p "$T/wst/sig"
echo junk >"$T/wst/sig/.000001.run-7.wdd"
"$W" dedup sig -q --mode exact -W "$T/wst" $IN
ok "sig removes the runs a killed sig left behind" test ! -e "$T/wst/sig/.000001.run-7.wdd"
exits 2 "--memory must be a size" "$W" dedup sig --mode exact --memory lots -W "$T/wst" $IN

# ---- the staged run removes exactly what the one-machine run does ----
WK=$T/work
for i in 0 1 2; do
	"$W" dedup sig -q --mode minhash --shard $i/3 -W "$WK" $IN || echo "sig $i failed"
done
ok "staged: a signature file per input" test -s "$WK/sig/000003.wdd"
for b in $(seq 0 13); do "$W" dedup pairs -q -W "$WK" --band $b || echo "pairs $b failed"; done
"$W" dedup cluster -q -W "$WK"
for i in 0 1; do
	"$W" dedup apply -q --shard $i/2 -W "$WK" $IN -O "$T/st" --rejects "$T/st.rej.$i.jsonl"
done
for k in 0 1 2 3; do
	eq "staged and one-machine outputs are equal: shard$k" "$(cmp "$T/st/shard$k.jsonl" "$T/mh/shard$k.jsonl" && echo same)" "same"
done
eq "staged and one-machine rejects are equal" "$(cat "$T"/st.rej.*.jsonl | sort | md5sum)" "$(sort "$T/mh.rej.jsonl" | md5sum)"

# a stage run again skips finished outputs; --force redoes them
exits 0 "sig again: finished files are skipped" "$W" dedup sig --mode minhash -W "$WK" $IN
err_has "sig again says so" "done, skipped"
exits 0 "pairs again: skipped" "$W" dedup pairs -W "$WK"
err_has "pairs again says so" "done, skipped"
exits 0 "cluster again: skipped" "$W" dedup cluster -W "$WK"
err_has "cluster again says so" "done, skipped"
cp "$WK/pairs/band-003.wdd" "$T/band-003.before"
ino=$(stat -c %i "$WK/pairs/band-003.wdd")
exits 0 "pairs --force redoes a band" "$W" dedup pairs -q --force --band 3 -W "$WK"
ok "... as a new file" test "$(stat -c %i "$WK/pairs/band-003.wdd")" != "$ino"
eq "... with the same content" "$(cmp "$WK/pairs/band-003.wdd" "$T/band-003.before" && echo same)" "same"

# ---- broken intermediate files ----
cp -r "$WK" "$T/w2"
truncate -s 5000 "$T/w2/sig/000002.wdd"
exits 1 "a truncated signature file stops pairs" "$W" dedup pairs --force -W "$T/w2"
err_has "... naming it" "000002.wdd: truncated"
cp "$WK/sig/000002.wdd" "$T/w2/sig/000002.wdd"
$PY - "$T/w2/sig/000001.wdd" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-100] ^= 0x40; open(p, "wb").write(b)
EOF
exits 1 "a corrupt signature file stops pairs" "$W" dedup pairs --force -W "$T/w2"
err_has "... naming it and the checksum" "000001.wdd: corrupt data (checksum"
cp "$WK/sig/000001.wdd" "$T/w2/sig/000001.wdd"
rm "$T/w2/pairs/band-007.wdd" "$T/w2/remove/000000.wdd"
exits 1 "a missing pairs file stops cluster" "$W" dedup cluster -W "$T/w2"
err_has "... naming it" "band-007.wdd: missing"
rm -rf "$T/w3"
"$W" dedup sig -q --mode minhash --shard 0/2 -W "$T/w3" $IN
"$W" dedup sig -q --mode minhash --bands 10 --shard 1/2 -W "$T/w3" $IN
exits 1 "signatures made with other parameters are refused" "$W" dedup pairs -W "$T/w3"
err_has "... saying which" "made with other parameters"
rm -rf "$T/w3"
"$W" dedup sig -q --mode minhash --shard 0/2 -W "$T/w3" $IN
exits 1 "a missing signature file is named" "$W" dedup pairs -W "$T/w3"
err_has "... as missing" "000001.wdd: missing"
cp "$T/in/shard2.jsonl" "$T/changed.jsonl"
head -n 100 "$T/in/shard2.jsonl" >"$T/in/shard2.jsonl.new"
mkdir -p "$T/ch"; cp $IN "$T/ch/"; mv "$T/in/shard2.jsonl.new" "$T/ch/shard2.jsonl"
exits 1 "an input changed after sig is an error at apply" "$W" dedup apply -W "$WK" "$T"/ch/shard*.jsonl -O "$T/chout"
err_has "... naming it" "shard2.jsonl: has 100 documents"
exits 2 "stdin is refused (dedup reads its inputs twice)" "$W" dedup minhash -o "$T/x.jsonl" -
exits 2 "a band past the last is a usage error" "$W" dedup pairs -W "$WK" --band 20
exits 2 "sig needs --mode" "$W" dedup sig -W "$WK" $IN
ok "no temporary files are left in the work directory" bash -c "! find '$WK' '$T/w2' -name '*.tmp.*' | grep -q ."

# ---- keep-by and annotate ----
"$W" dedup exact -q --norm none --keep-by score $IN -O "$T/kb" --rejects "$T/kb.rej.jsonl"
ok "--keep-by score keeps the highest score of each cluster" $PY - "$T/kb" "$T/kb.rej.jsonl" <<'EOF'
import json, sys, glob
kept = {}
for p in glob.glob(sys.argv[1] + "/*.jsonl"):
    for l in open(p):
        d = json.loads(l); kept.setdefault(d["text"], []).append(d["score"])
for l in open(sys.argv[2]):
    d = json.loads(l)
    ks = kept[d["text"]]
    assert len(ks) == 1 and ks[0] >= d["score"], (ks, d["score"])
EOF
"$W" dedup minhash -q --annotate-only $IN -O "$T/an"
eq "--annotate-only drops nothing" "$(cat "$T"/an/*.jsonl | wc -l)" "$total"
eq "--annotate-only marks as not kept exactly the documents minhash removes" \
	"$(cat "$T"/an/*.jsonl | $PY -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l).get("dedup",{}).get("kept") is False))')" \
	"$(wc -l <"$T/mh.rej.jsonl")"

# ---- --verify cuts pairs below the threshold ----
# one band of one row: documents are candidates with probability J
$PY - "$T/v.jsonl" <<'EOF'
import json, random, sys
rnd = random.Random(3)
# words of letters only: the normalisation folds every digit to 0
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(5000)]
with open(sys.argv[1], "w") as f:
    for i in range(200):
        base = [rnd.choice(words) for _ in range(300)]
        other = list(base)
        for k in range(0, 300, 8):     # every 8th word changed: J of 5-grams ~ 0.23
            other[k] = rnd.choice(words)
        f.write(json.dumps({"id": f"a{i}", "text": " ".join(base)}) + "\n")
        f.write(json.dumps({"id": f"b{i}", "text": " ".join(other)}) + "\n")
EOF
"$W" dedup minhash -q --bands 1 --rows 1 "$T/v.jsonl" -o "$T/v.out.jsonl" --rejects "$T/v.rej.jsonl"
nv=$(wc -l <"$T/v.rej.jsonl")
ok "one row: low-similarity pairs become candidates ($nv of 200)" test "$nv" -ge 10
"$W" dedup minhash -q --bands 1 --rows 1 --verify --threshold 0.8 "$T/v.jsonl" -o "$T/vv.out.jsonl" --rejects "$T/vv.rej.jsonl"
eq "--verify removes none of them" "$(wc -l <"$T/vv.rej.jsonl")" "0"

# ---- line dedup against a Python reference ----
"$W" dedup exact -q --unit line --norm none $IN -O "$T/ln" --rejects "$T/ln.rej.jsonl" --stats "$T/ln.db"
ok "--unit line: every line seen twice is removed, the rest kept (Python reference)" $PY - "$T/ln" "$T/ln.rej.jsonl" $IN <<'EOF'
import json, sys, collections
outdir, rejp, ins = sys.argv[1], sys.argv[2], sys.argv[3:]
def units(t):
    return t.split("\n")
def key(u):
    return u.strip(" \t\r")
cnt = collections.Counter()
for p in ins:
    for l in open(p, encoding="utf-8"):
        for u in units(json.loads(l)["text"]):
            if key(u): cnt[key(u)] += 1
rej = {json.loads(l)["id"] for l in open(rejp)}
for p in ins:
    out = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(outdir + "/" + p.rsplit("/", 1)[1])}
    for l in open(p, encoding="utf-8"):
        d = json.loads(l)
        us = units(d["text"])
        keep = [u for u in us if not (key(u) and cnt[key(u)] >= 2)]
        nonempty = [u for u in us if key(u)]
        if nonempty and all(cnt[key(u)] >= 2 for u in nonempty):
            assert d["id"] in rej, d["id"]
            continue
        want = "\n".join(keep).rstrip("\n") if len(keep) < len(us) else d["text"]
        assert out[d["id"]] == want, (d["id"], out[d["id"]][:200], want[:200])
EOF
ok "--unit line: removed lines are counted in the stats" test "$(q "$T/ln.db" "select sum(units) from edits where kind='dedup_units'")" -gt 0
"$W" dedup exact -q --unit paragraph $IN -O "$T/pg" --rejects "$T/pg.rej.jsonl"
ok "--unit paragraph runs and keeps docs_in = out + rejects" test "$(( $(cat "$T"/pg/*.jsonl | wc -l) + $(wc -l <"$T/pg.rej.jsonl") ))" -eq "$total"

# ---- the job scripts: xargs -P, and Slurm arrays (sbatch played by a script) ----
WINNOW="$W" "$root/scripts/dedup-local.sh" -P 2 "$T/lw" "$T/lo" $IN
for k in 0 1 2 3; do
	eq "dedup-local.sh output equals the one-machine run: shard$k" "$(cmp "$T/lo/shard$k.jsonl" "$T/mh/shard$k.jsonl" && echo same)" "same"
done
eq "dedup-local.sh rejects equal the one-machine run's" "$(zstd -dcq "$T"/lo/rejects-*.jsonl.zst | sort | md5sum)" "$(sort "$T/mh.rej.jsonl" | md5sum)"
mkdir -p "$T/bin"
cat >"$T/bin/sbatch" <<'EOF'
#!/usr/bin/env bash
# runs the job at once: every array task in turn, in the foreground
array= script=
while [ $# -gt 0 ]; do
	case $1 in
	--array=*) array=${1#--array=} ;;
	--dependency=*) echo "$1" >>"$SBATCH_LOG" ;;
	-J) shift ;;
	--*) ;;
	*) script=$1 ;;
	esac
	shift
done
id=$((RANDOM + 1000))
echo "job $id $script $array" >>"$SBATCH_LOG"
if [ -n "$array" ]; then
	n=$(( ${array#0-} + 1 ))
	for ((i = 0; i < n; i++)); do
		SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$n bash "$script" || exit 1
	done
else
	bash "$script" || exit 1
fi
echo "$id"
EOF
chmod +x "$T/bin/sbatch"
printf '%s\n' $IN >"$T/inputs.txt"
SBATCH_LOG=$T/sbatch.log SBATCH=$T/bin/sbatch WINNOW="$W" "$root/scripts/dedup-slurm.sh" -s 3 -a 2 \
	"$T/sw" "$T/so" "$T/inputs.txt" >"$T/slurm.out"
for k in 0 1 2 3; do
	eq "dedup-slurm.sh output equals the one-machine run: shard$k" "$(cmp "$T/so/shard$k.jsonl" "$T/mh/shard$k.jsonl" && echo same)" "same"
done
eq "dedup-slurm.sh: four jobs, three of them waiting on the one before" "$(grep -c '^job' "$T/sbatch.log") $(grep -c '^--dependency=afterok:' "$T/sbatch.log")" "4 3"
eq "dedup-slurm.sh: a pairs task per band" "$(ls "$T"/sw/stats/pairs-*.db | wc -l)" "14"
"$W" stats merge -q "$T/slurm.db" "$T"/sw/stats/*.db
eq "dedup-slurm.sh: the merged stats count the drops" "$(q "$T/slurm.db" "select sum(docs) from drops where reason='dedup:minhash'")" "$(wc -l <"$T/mh.rej.jsonl")"

# ---- ground truth: real near-duplicates (SpamAssassin campaigns and quoted
# replies, English prose with edited copies of known Jaccard), every pair of
# Jaccard >= 0.8 found exactly in Python (prefix filtering, then the true
# Jaccard of word 5-gram sets under the same normalisation), against the
# clusters of --verify ----
if $PY "$root/scripts/make-dedup-corpus.py" "$T/gt" --docs 3000 >"$T/gt.log" 2>&1; then
	"$W" dedup minhash -q --verify --annotate-only "$T/gt/mail.jsonl" "$T/gt/edits.jsonl" -O "$T/gto"
	ok "--verify against all-pairs ground truth: recall and precision >= 0.95 at J >= 0.8" \
		$PY - "$root/scripts" "$T/gt" "$T/gto" <<'EOF'
import importlib.util, json, math, sys, collections
spec = importlib.util.spec_from_file_location("corpus", sys.argv[1] + "/make-dedup-corpus.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
gt, out = sys.argv[2], sys.argv[3]
docs, sets = [], []
for name in ("mail", "edits"):
    for line in open(f"{gt}/{name}.jsonl", encoding="utf-8"):
        d = json.loads(line)
        docs.append((f"{gt}/{name}.jsonl", len([x for x in docs if x[0] == f"{gt}/{name}.jsonl"]) + 1))
        sets.append(m.shingles([[d["text"].split()]]))
T = 0.8
# prefix filtering: a pair of Jaccard >= T shares a shingle among the first
# |A| - ceil(T |A|) + 1 of each set in one global order
order = lambda s: sorted(s, key=hash)
index = collections.defaultdict(list)
cand = set()
for i, s in enumerate(sets):
    if not s:
        continue
    p = len(s) - math.ceil(T * len(s)) + 1
    for sh in order(s)[:p]:
        for j in index[sh]:
            cand.add((j, i))
        index[sh].append(i)
true = {(a, b) for a, b in cand if m.jaccard(sets[a], sets[b]) >= T}
# winnow's clusters
where = {d: k for k, d in enumerate(docs)}
cluster = {}
for name in ("mail", "edits"):
    for ln, line in enumerate(open(f"{out}/{name}.jsonl", encoding="utf-8"), 1):
        d = json.loads(line)
        if "dedup" in d:
            c = d["dedup"]["cluster"]
            cluster[where[(f"{gt}/{name}.jsonl", ln)]] = (c["file"], c["line"], d["dedup"]["kept"])
recall = sum(1 for a, b in true if a in cluster and b in cluster and cluster[a][:2] == cluster[b][:2]) / len(true)
members = collections.defaultdict(list)
for k, c in cluster.items():
    members[c[:2]].append(k)
removed = [k for k, c in cluster.items() if not c[2]]
good = sum(1 for k in removed if any(j != k and m.jaccard(sets[k], sets[j]) >= T for j in members[cluster[k][:2]]))
precision = good / len(removed)
print(f"true pairs {len(true)}, recall {recall:.4f}; removed {len(removed)}, precision {precision:.4f}")
assert len(true) >= 200 and recall >= 0.95 and precision >= 0.95, (len(true), recall, precision)
EOF
else
	eq "the dedup corpus builds from the cache (run scripts/fetch-data.sh)" "missing" "present"
fi
