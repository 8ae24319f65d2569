#!/usr/bin/env python3
"""make-bench-shard.py OUT.jsonl [--mb 220] -- build a big, text-heavy JSONL
benchmark shard from real text.

Sources (from the cache filled by scripts/fetch-data.sh): State of the Union
addresses, Moby-Dick chapters, SpamAssassin mail bodies (ham and spam, decoded
as UTF-8 with errors='replace') and fortunes-zh entries.  One JSON object per
line, UTF-8, fields in this order:

    id      e.g. "sotu/1790-George-Washington/v03" (unique in the file)
    domain  "sotu" | "moby-dick" | "spam-assassin" | "fortunes-zh"
    url     made-up but plausible (hosts under example.org/.net/.com)
    text    the document
    meta    {"lang": "en", "pass": 3, "chars": 1234, "excerpt": true}

The real documents are cycled in passes, each pass in its own deterministic
shuffle, until at least --mb MiB (uncompressed) are written.  Every pass
varies each document: the whole text (pass 0 only), its paragraphs rotated,
a window of a few paragraphs (long single-paragraph texts are cut into
sentence groups first), or the document followed by the next few of its
domain (an "anthology" page; always used for short one-paragraph texts).
So lengths are mixed, many texts are near-duplicates of each other, and no
text occurs twice (a short digest of each text written is kept to ensure it).
Output is deterministic and streamed to OUT.tmp, renamed to OUT when done.
"""

import argparse
import hashlib
import json
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winnow_corpus as corpus  # noqa: E402

MIB = 1024 * 1024
MIN_EXCERPT = 256  # bytes
READERS = (corpus.sotu, corpus.moby_dick, corpus.spam_assassin, corpus.fortunes_zh)

_SENT = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“(\[]?[A-Z])")


def units_of(doc):
    """Paragraph-like units of a document, used for windows and rotations."""
    text = doc["text"]
    paras = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if doc["domain"] == "fortunes-zh" or len(paras) >= 4 or len(text) < 2000:
        return paras
    # Long text in few paragraphs (SOTU addresses are one line each): cut
    # every paragraph into groups of 3-6 sentences.
    rng = random.Random("units/" + doc["key"])
    out = []
    for p in paras:
        sents = [s for s in _SENT.split(p) if s.strip()]
        i = 0
        while i < len(sents):
            n = rng.randint(3, 6)
            out.append(" ".join(sents[i:i + n]))
            i += n
    return out


def url_of(doc):
    key, x = doc["key"], doc["extra"]
    if doc["domain"] == "sotu":
        return "https://speeches.example.org/state-of-the-union/%d/%s" % (
            x["year"], key.split("-", 1)[1].lower())
    if doc["domain"] == "moby-dick":
        return "https://books.example.net/melville/moby-dick/chapter-%d" % x["chapter"]
    if doc["domain"] == "fortunes-zh":
        return "https://shici.example.com/%s/%d.html" % (x["collection"], x["entry"])
    group, name = key.split("/", 1)
    return "https://lists.example.org/archive/%s/%s.html" % (group, name.split(".")[0])


def load():
    docs = []
    for reader in READERS:
        for d in reader():
            d["units"] = units_of(d)
            d["url"] = url_of(d)
            d["lang"] = "zh" if d["domain"] == "fortunes-zh" else "en"
            docs.append(d)
    return docs


def variants(doc, p, rng, same_domain, pos):
    """Candidate (text, url-suffix, excerpt) for doc in pass p, best first."""
    units, n = doc["units"], len(doc["units"])
    r = rng.random()
    if n >= 3:
        # pass 0: 60% whole, 25% window, 15% anthology;
        # later:  40% window, 45% rotation, 15% anthology
        if p == 0 and r < 0.6:
            yield doc["text"], "", False
        elif (p == 0 and r < 0.85) or (p > 0 and r < 0.4):
            k = min(n, rng.choice((1, 1, 2, 3, 5, 8, 13)))
            start = rng.randrange(n - k + 1)
            # grow tiny excerpts (a heading, a signature) to a real paragraph
            while k < n and len("".join(units[start:start + k]).encode()) < MIN_EXCERPT:
                if start + k < n:
                    k += 1
                else:
                    start -= 1
                    k += 1
            yield ("\n\n".join(units[start:start + k]),
                   "?part=%d-%d" % (start + 1, start + k), k < n)
        elif p > 0 and r < 0.85:
            off = p % n or 1 + rng.randrange(n - 1)
            yield ("\n\n".join(units[off:] + units[:off]),
                   "?rev=%d" % off, False)
    elif p == 0 and r < 0.75:
        yield doc["text"], "", False
    # anthology: this document and the next m of its domain in this pass;
    # the only choice for short texts after pass 0, and the fallback when a
    # text was already written
    m = rng.choice((1, 1, 1, 2, 3))
    while True:
        more = [same_domain[(pos + j) % len(same_domain)] for j in range(1, m + 1)]
        yield ("\n\n".join([doc["text"]] + [d["text"] for d in more]),
               "?with=%d" % m, False)
        m += 1


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output .jsonl file")
    ap.add_argument("--mb", type=float, default=220,
                    help="minimum uncompressed size in MiB (default 220)")
    args = ap.parse_args()
    target = int(args.mb * MIB)

    t0 = time.time()
    docs = load()
    print("loaded %d real documents (%.1f MiB of text) in %.1fs"
          % (len(docs), sum(len(d["text"].encode()) for d in docs) / MIB,
             time.time() - t0), file=sys.stderr)

    seen = set()
    written = lines = 0
    per_domain = {}
    p = 0
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as out:
        while written < target:
            rng = random.Random("winnow-bench/pass/%d" % p)
            order = list(range(len(docs)))
            rng.shuffle(order)
            by_domain = {}
            for i in order:
                by_domain.setdefault(docs[i]["domain"], []).append(i)
            pos_in_domain = {}
            for lst in by_domain.values():
                for j, i in enumerate(lst):
                    pos_in_domain[i] = j
            for i in order:
                doc = docs[i]
                same = _LazyList(by_domain[doc["domain"]], docs)
                for text, suffix, excerpt in variants(doc, p, rng, same, pos_in_domain[i]):
                    h = hashlib.blake2b(text.encode(), digest_size=8).digest()
                    if h not in seen:
                        seen.add(h)
                        break
                rec = {
                    "id": "%s/%s/v%02d" % (doc["domain"], doc["key"], p),
                    "domain": doc["domain"],
                    "url": doc["url"] + suffix,
                    "text": text,
                    "meta": {"lang": doc["lang"], "pass": p, "chars": len(text),
                             "excerpt": excerpt},
                }
                line = (json.dumps(rec, ensure_ascii=False) + "\n").encode()
                out.write(line)
                written += len(line)
                lines += 1
                per_domain[doc["domain"]] = per_domain.get(doc["domain"], 0) + 1
                if written >= target:
                    break
            p += 1
    os.replace(tmp, args.out)
    print("%s: %d lines, %d bytes (%.1f MiB), %d passes (last partial), %.1fs"
          % (args.out, lines, written, written / MIB, p, time.time() - t0))
    for dom in sorted(per_domain):
        print("  %-14s %7d documents" % (dom, per_domain[dom]))


class _LazyList:
    """Index a list of document indices as the documents themselves."""

    def __init__(self, idx, docs):
        self.idx, self.docs = idx, docs

    def __len__(self):
        return len(self.idx)

    def __getitem__(self, j):
        return self.docs[self.idx[j]]


if __name__ == "__main__":
    main()
