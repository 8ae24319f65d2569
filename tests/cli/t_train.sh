#!/usr/bin/env bash
# t_train.sh - winnow train end to end on real text (English fortunes and
# Chinese poetry, tokenized by winnow tok): the loss falls, per-domain
# records, bit-exact resume after --halt-after and after SIGTERM, damaged
# checkpoints, export/import round trip, sample, score, usage errors; and
# the PyTorch parity check (tests/train/check_parity.py) on the trainer's
# --dump of three AdamW steps.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
EN=$CACHE/fortunes-intl/en ZH=$CACHE/fortunes-zh
if [ ! -s "$EN/fortunes" ] || [ ! -s "$ZH/tang300.u8" ]; then
	eq "the fortunes data sets are present (scripts/fetch-data.sh fortunes-intl fortunes-zh)" missing present
	exit 0
fi

# --- data: fortunes (English) and Tang and Song poems (Chinese) as two domains
$PY - "$EN" "$ZH" "$T/docs.jsonl" <<'EOF'
import json, sys, os
en, zh, out = sys.argv[1:4]
with open(out, 'w', encoding='utf-8') as o:
    for dom, files in (('en', [os.path.join(en, f) for f in ('fortunes', 'literature', 'riddles')]),
                       ('zh', [os.path.join(zh, f) for f in ('tang300.u8', 'song100.u8')])):
        for f in files:
            for t in open(f, encoding='utf-8', errors='replace').read().split('\n%\n'):
                if t.strip():
                    o.write(json.dumps({'text': t.strip(), 'domain': dom}, ensure_ascii=False) + '\n')
EOF
ok "tok train a 2k vocabulary" "$W" tok train --vocab-size 2048 -o "$T/bpe" "$T/docs.jsonl"
ok "tok encode windows per domain" "$W" tok encode --vocab "$T/bpe.json" --seq-len 64 --by-domain \
	-o "$T/d" "$T/docs.jsonl"

M="--dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128"
D="--data en=$T/d.en.wtok:1 --data zh=$T/d.zh.wtok:0.5"
run() { "$W" train $D $M --batch-size 4 --log-every 0 -q "$@"; }

# --- a run: the loss falls, everything is recorded
ok "train 120 steps" run --steps 120 --lr 3e-3 --threads 2 --ckpt-dir "$T/ck" --stats "$T/s.db" --eval-every 60
first=$(q "$T/s.db" "SELECT avg(loss) FROM train_steps WHERE step <= 10")
last=$(q "$T/s.db" "SELECT avg(loss) FROM train_steps WHERE step > 110")
eq "the training loss falls by more than 1 nat ($first -> $last)" \
	"$($PY -c "print($first - $last > 1.0)")" True
eq "a train_steps row per step" "$(q "$T/s.db" "SELECT count(*), min(step), max(step) FROM train_steps")" "120|1|120"
eq "per-domain training losses add up to the step's loss" \
	"$(q "$T/s.db" "SELECT count(*) FROM train_steps s WHERE abs(s.loss - (SELECT sum(loss_sum) / sum(tokens)
	    FROM train_domain_loss d WHERE d.run_id = s.run_id AND d.step = s.step AND split = 'train')) > 1e-9")" 0
eq "sampled rows follow the weights (en twice zh)" \
	"$(q "$T/s.db" "SELECT sum(tokens) > 1.5 * (SELECT sum(tokens) FROM train_domain_loss WHERE split='train' AND domain='zh')
	    FROM train_domain_loss WHERE split='train' AND domain='en'")" 1
eq "held-out losses of both domains at steps 60 and 120" \
	"$(q "$T/s.db" "SELECT group_concat(step || domain, ' ') FROM (SELECT * FROM train_domain_loss WHERE split='eval' ORDER BY step, domain)")" \
	"60en 60zh 120en 120zh"
ev60=$(q "$T/s.db" "SELECT sum(loss_sum)/sum(tokens) FROM train_domain_loss WHERE split='eval' AND step=60")
ev120=$(q "$T/s.db" "SELECT sum(loss_sum)/sum(tokens) FROM train_domain_loss WHERE split='eval' AND step=120")
eq "the held-out loss falls ($ev60 -> $ev120)" "$($PY -c "print($ev120 < $ev60)")" True
eq "the run is recorded as ok" "$(q "$T/s.db" "SELECT tool, status FROM runs")" "train|ok"
ok "the final checkpoint" test -s "$T/ck/step-000000120.wckpt"
"$W" stats "$T/s.db" >"$T/sum.txt" 2>&1
ok "winnow stats shows the training run" grep -q "^training (train): loss per domain" "$T/sum.txt"
eq "with both domains' losses at the end and held out" \
	"$(awk '/^training/{f=1;next} f&&$1~/^[0-9]+$/{print $2, $3, ($5 > 0), ($6 > 0)}' "$T/sum.txt" | tr '\n' ' ')" \
	"en 120 1 1 zh 120 1 1 "

# --- determinism and resume, bit for bit
R="--steps 24 --accum 2 --threads 2 --doc-mask --schedule wsd --warmup 3"
ok "an uninterrupted run" run $R --ckpt-dir "$T/ra" --stats "$T/a.db"
ok "the same run again" run $R --stats "$T/a2.db"
eq "two runs give identical losses" "$(q "$T/a.db" "SELECT group_concat(loss) FROM train_steps")" \
	"$(q "$T/a2.db" "SELECT group_concat(loss) FROM train_steps")"
ok "a run halted after 9 steps" run $R --ckpt-dir "$T/rb" --stats "$T/b.db" --halt-after 9
ok "resumed" run $R --ckpt-dir "$T/rb" --stats "$T/b.db" --resume
eq "halted + resumed = uninterrupted, every step's loss bit for bit" \
	"$(q "$T/b.db" "SELECT group_concat(loss) FROM (SELECT loss FROM train_steps ORDER BY step)")" \
	"$(q "$T/a.db" "SELECT group_concat(loss) FROM (SELECT loss FROM train_steps ORDER BY step)")"
eq "and the final parameters are the same bytes" \
	"$(tail -c +257 "$T/rb/step-000000024.wckpt" | cmp - <(tail -c +257 "$T/ra/step-000000024.wckpt") >/dev/null && echo same)" same

# SIGTERM in the middle of a run: a checkpoint, exit 1, then --resume
"$W" train $D $M --batch-size 4 $R --steps 400 --ckpt-dir "$T/rc" --stats "$T/c.db" --ckpt-every 1000 \
	--log-every 1 2>"$T/term.err" &
pid=$!
for i in $(seq 1 600); do
	grep -q "step 6/" "$T/term.err" 2>/dev/null && break
	sleep 0.05
done
kill -TERM $pid
wait $pid
eq "SIGTERM stops the run with exit 1" "$?" 1
ok "and names how to continue" grep -q "continue with --resume" "$T/term.err"
eq "one checkpoint written at the signal" "$(ls "$T/rc" | wc -l)" 1
ok "resume after SIGTERM" run $R --steps 400 --ckpt-dir "$T/rc" --stats "$T/c.db" --resume --halt-after 5
n=$(q "$T/c.db" "SELECT count(*) FROM train_steps")
ok "an uninterrupted reference of $n steps" run $R --steps 400 --stats "$T/c2.db" --halt-after "$n"
eq "after SIGTERM and resume, the losses repeat bit for bit ($n steps)" \
	"$(q "$T/c.db" "SELECT group_concat(loss) FROM (SELECT loss FROM train_steps ORDER BY step)")" \
	"$(q "$T/c2.db" "SELECT group_concat(loss) FROM (SELECT loss FROM train_steps ORDER BY step)")"
eq "the stopped run is recorded as failed, the resumed one as ok" \
	"$(q "$T/c.db" "SELECT group_concat(status) FROM (SELECT status FROM runs ORDER BY run_id)")" "failed,ok"

# SIGUSR1: a checkpoint now, and the run goes on to its end
"$W" train $D $M --batch-size 4 --steps 200 --threads 1 --ckpt-dir "$T/ru" --log-every 1 2>"$T/usr1.err" &
pid=$!
for i in $(seq 1 600); do
	grep -q "step 3/" "$T/usr1.err" 2>/dev/null && break
	sleep 0.05
done
kill -USR1 $pid
wait $pid
eq "after SIGUSR1 the run finishes (exit 0)" "$?" 0
eq "with the signal's checkpoint and the final one" "$(ls "$T/ru" | wc -l) $(ls "$T/ru" | tail -1)" \
	"2 step-000000200.wckpt"

ok "--batch-tokens sets the accumulation" run --steps 1 --batch-tokens 1000 --stats "$T/bt.db"
eq "to ceil(1000 / (4 x 64)) = 4 micro-batches" \
	"$(q "$T/bt.db" "SELECT json_extract(options, '$.accum') FROM train_runs")" 4

# --keep, damaged checkpoints
ok "checkpoints every 5 steps, keep 2" run --steps 20 --ckpt-dir "$T/rk" --ckpt-every 5 --keep 2 --threads 1
eq "only the newest two are kept" "$(ls "$T/rk" | tr '\n' ' ')" "step-000000015.wckpt step-000000020.wckpt "
printf 'X' | dd of="$T/rk/step-000000020.wckpt" bs=1 seek=5000 conv=notrunc 2>/dev/null
exits 1 "a damaged checkpoint is refused" "$W" train export --ckpt "$T/rk/step-000000020.wckpt" -o "$T/x"
err_has "naming the file and the damage" "step-000000020.wckpt: checksum mismatch in the parameters"
ok "resume skips it for the older one" "$W" train $D $M --batch-size 4 --log-every 0 --steps 25 \
	--ckpt-dir "$T/rk" --resume --threads 1
err_has "with a warning" "trying an older checkpoint"
head -c 1000 "$T/rk/step-000000025.wckpt" >"$T/trunc.wckpt"
exits 1 "a truncated checkpoint is refused" "$W" train sample --ckpt "$T/trunc.wckpt" -n 2
err_has "by name" "trunc.wckpt: truncated or damaged"

# --- export, import, sample, score
ok "export" "$W" train export --ckpt "$T/ck" -o "$T/hf"
ok "config.json is Llama's" grep -q '"model_type": "llama"' "$T/hf/config.json"
ok "import" "$W" train import "$T/hf" -o "$T/back.wckpt"
ok "sample from the checkpoint" "$W" train sample --ckpt "$T/ck" --prompt "The" -n 30 --seed 3 --threads 1
cp "$T/.out" "$T/s1.txt"
ok "sample from the imported model" "$W" train sample --ckpt "$T/back.wckpt" --tokenizer "$T/bpe.json" \
	--prompt "The" -n 30 --seed 3 --threads 1
eq "export + import keeps the model: the same sample" "$(cat "$T/.out")" "$(cat "$T/s1.txt")"
ok "a sample of 30 tokens is text" test "$(wc -c <"$T/s1.txt")" -gt 10
ok "greedy sampling is repeatable" "$W" train sample --ckpt "$T/ck" -n 20 --temperature 0 --threads 1
g1=$(cat "$T/.out")
"$W" train sample --ckpt "$T/ck" -n 20 --temperature 0 --threads 2 >"$T/g2.txt"
eq "the same greedy text on 1 and 2 threads" "$(cat "$T/g2.txt")" "$g1"

{ head -3 "$T/docs.jsonl"; echo '{"text": broken'; grep '"zh"' "$T/docs.jsonl" | head -2; } >"$T/score_in.jsonl"
ok "score documents" "$W" train score --ckpt "$T/ck" --threads 1 -o "$T/scored.jsonl" --stats "$T/sc.db" \
	"$T/score_in.jsonl"
err_has "the bad line is reported with file and line" "score_in.jsonl:4"
eq "scored documents keep their fields and gain token_loss, perplexity, ppl_tokens" \
	"$($PY -c "
import json, math
ds = [json.loads(l) for l in open('$T/scored.jsonl')]
ok = len(ds) == 5 and all(set(d) == {'text', 'domain', 'token_loss', 'perplexity', 'ppl_tokens'} for d in ds)
ok = ok and all(abs(math.exp(d['token_loss']) - d['perplexity']) < 1e-6 * d['perplexity'] and d['ppl_tokens'] > 0 for d in ds)
print(ok)")" True
eq "docs in = docs out + dropped" "$(q "$T/sc.db" "SELECT docs_in, docs_out, docs_dropped FROM inputs")" "6|5|1"
# the score is the model's loss: a document the model was trained on scores
# lower than the same words shuffled
$PY - "$T/docs.jsonl" "$T/shuf.jsonl" <<'EOF'
import json, random, sys
random.seed(1)
out = open(sys.argv[2], 'w')
for l in list(open(sys.argv[1]))[:40]:
    d = json.loads(l)
    if d['domain'] != 'en': continue
    w = d['text'].split(); out.write(json.dumps({'text': d['text'], 'k': 'real'}) + '\n')
    random.shuffle(w); out.write(json.dumps({'text': ' '.join(w), 'k': 'shuffled'}) + '\n')
EOF
"$W" train score --ckpt "$T/ck" --threads 1 "$T/shuf.jsonl" >"$T/shuf_scored.jsonl"
eq "text scores a lower perplexity than the same words shuffled, on average" "$($PY -c "
import json
ds = [json.loads(l) for l in open('$T/shuf_scored.jsonl')]
r = [d['token_loss'] for d in ds if d['k'] == 'real']; s = [d['token_loss'] for d in ds if d['k'] == 'shuffled']
print(len(r) > 5 and sum(r) / len(r) < sum(s) / len(s))")" True

# --- usage and data errors
exits 2 "no --data" "$W" train --steps 1
exits 2 "a bad --data" "$W" train --data nopath
exits 2 "an unknown preset" "$W" train $D --preset huge
exits 2 "weights for some domains only" "$W" train --data a=$T/d.en.wtok:2 --data b=$T/d.zh.wtok
ok "no weights: the domains' share of the windows" "$W" train --data en=$T/d.en.wtok --data zh=$T/d.zh.wtok $M \
	--steps 1 --batch-size 1
cp "$T/.err" "$T/w.err"
ok "are the weights" grep -q "en weight $($PY -c "
import subprocess
w = {}
for d in ('en', 'zh'):
    out = subprocess.run(['$W', 'tok', 'inspect', '$T/d.%s.wtok' % d], capture_output=True, text=True).stdout
    w[d] = int([l.split()[1] for l in out.splitlines() if l.startswith('windows')][0])
# training windows: the held-out min(32, W/10) are not sampled
tr = {d: n - min(32, n // 10) for d, n in w.items()}
print('%.3f' % (tr['en'] / (tr['en'] + tr['zh'])))")" "$T/w.err"
exits 2 "--resume without --ckpt-dir" "$W" train $D --resume
exits 1 "heads that do not divide dim" run --steps 1 --heads 5
err_has "say so" "heads must divide dim"
"$W" tok encode --vocab "$T/bpe.json" --seq-len 32 -o "$T/short" "$T/docs.jsonl" 2>/dev/null
exits 1 "domains with other window lengths" "$W" train --data a=$T/d.en.wtok --data b=$T/short.wtok --steps 1
err_has "name the file" "short.wtok: windows of 32 tokens, expected 64"
exits 1 "a vocabulary smaller than the data's ids" run --steps 1 --vocab-size 100
err_has "say so" "made for a vocabulary of 2048 ids, expected 100"
"$W" tok encode --vocab "$T/bpe.json" --format megatron -o "$T/mg" "$T/docs.jsonl" 2>/dev/null
exits 1 "a Megatron file is not windows" "$W" train --data a="$T/mg" --steps 1
exits 1 "resume with another batch size" run $R --batch-size 8 --ckpt-dir "$T/rb" --resume
err_has "names the option" "batch-size was 4, now 8"
exits 1 "a missing data file" "$W" train --data a="$T/nothere.wtok" --steps 1
err_has "by name" "nothere"

# --- the PyTorch reference: loss, every gradient and 3 AdamW steps
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
	ok "dump 3 steps (GQA, document mask, accumulation, clipping)" run --steps 3 --accum 2 --doc-mask \
		--threads 2 --lr 1e-3 --warmup 1 --clip 0.5 --weight-decay 0.1 --dump "$T/dump"
	ok "PyTorch agrees: loss 1e-5, gradients 1e-4, parameters after 3 AdamW steps 1e-5 (relative)" \
		/usr/bin/python3 "$root/tests/train/check_parity.py" "$T/dump"
	sed 's/^/#   /' "$T/.out" | tail -8
else
	eq "python3-torch is installed (scripts/deps.sh)" missing present
fi
