#!/usr/bin/env python3
"""langid_check.py - compare `winnow langid --topk K` output with the
fastText command line on the same prepared lines.

    langid_check.py prep OUT.jsonl PREP.txt [--max-chars N]
        write each document's text prepared as langid does (LF and CR to
        spaces, first N code points) one per line, for `fasttext predict-prob`
    langid_check.py compare OUT.jsonl CLI.txt K
        check label and probability (within 1e-5) of the top K labels of
        every document; print "docs=N langs=M mismatches=X" and the first
        mismatches
"""
import json
import sys


def prep(out, path, max_chars):
    with open(out, encoding="utf-8") as f, open(path, "w", encoding="utf-8", newline="") as w:
        for line in f:
            t = json.loads(line)["text"]
            if max_chars:
                t = t[:max_chars]
            w.write(t.replace("\n", " ").replace("\r", " ") + "\n")


def compare(out, cli, k):
    docs = mism = 0
    langs = set()
    shown = 0
    with open(out, encoding="utf-8") as f, open(cli, encoding="utf-8") as c:
        for line, ref in zip(f, c):
            docs += 1
            d = json.loads(line)
            parts = ref.split()
            want = [(parts[i].replace("__label__", ""), float(parts[i + 1]))
                    for i in range(0, len(parts), 2)]
            got = [(x["lang"], x["score"]) for x in d.get("lang_topk", [])] if k > 1 \
                else [(d["lang"], d["lang_score"])]
            langs.add(want[0][0])
            bad = len(got) != len(want) or d["lang"] != want[0][0] or \
                abs(d["lang_score"] - want[0][1]) > 1e-5 or \
                any(g[0] != w[0] or abs(g[1] - w[1]) > 1e-5 for g, w in zip(got, want))
            if bad:
                mism += 1
                if shown < 5:
                    shown += 1
                    print("mismatch:", d.get("id"), got, want, file=sys.stderr)
    print("docs=%d langs=%d mismatches=%d" % (docs, len(langs), mism))


if __name__ == "__main__":
    if sys.argv[1] == "prep":
        mc = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--max-chars" else 0
        prep(sys.argv[2], sys.argv[3], mc)
    else:
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
