#!/usr/bin/env python3
"""check_hf_vocab.py TOKENIZER.json RANKS.tiktoken -- do a Hugging Face
tokenizer.json and a tiktoken rank file describe the same byte-level BPE
vocabulary?  (Python standard library only.)

Checks:
  - the rank file: one "base64 rank" a line, ranks 0..N-1 in order, distinct
    byte strings, ranks 0..255 the single bytes (rank = byte value);
  - tokenizer.json: valid JSON, a BPE model with byte_fallback false, a
    ByteLevel pre-tokenizer step and decoder;
  - model.vocab: every key that is not an added token is a byte-level string
    (GPT-2's bytes_to_unicode) whose bytes have that id as their rank, and
    every rank appears, so vocab and ranks are the same map;
  - added_tokens: special, with the ids N, N+1, ... after the last rank, in
    order, and (when present) the same id in model.vocab;
  - merges: "A B" (or ["A", "B"]) with A, B and A+B in the vocab; the tokens
    first made by a merge appear in rank order (the merge that first makes
    token r comes after the one that first makes r-1), every rank >= 256
    is made by some merge, and no pair is listed twice.

Exit 0 when all hold, 1 with one line per problem (at most 20) otherwise,
2 on usage errors.
"""

import base64
import json
import sys


def bytes_to_unicode():
    """GPT-2's map: printable bytes to themselves, the rest to U+0100.."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0x100))
    m, n = {}, 0
    for b in range(256):
        if b in keep:
            m[b] = chr(b)
        else:
            m[b] = chr(256 + n)
            n += 1
    return m


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__.split("\n\n")[0] + "\n")
        return 2
    problems = []

    def bad(msg):
        problems.append(msg)

    ranks = {}  # bytes -> rank
    by_rank = []
    with open(argv[2], "rb") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip(b"\n").split(b" ")
            if len(parts) != 2:
                bad(f"{argv[2]}:{lineno}: not 'base64 rank'")
                continue
            try:
                tok = base64.b64decode(parts[0], validate=True)
                rank = int(parts[1])
            except ValueError as e:
                bad(f"{argv[2]}:{lineno}: {e}")
                continue
            if rank != len(by_rank):
                bad(f"{argv[2]}:{lineno}: rank {rank}, expected {len(by_rank)}")
            if tok in ranks:
                bad(f"{argv[2]}:{lineno}: bytes {tok!r} already have rank {ranks[tok]}")
            ranks[tok] = rank
            by_rank.append(tok)
    n = len(by_rank)
    for b in range(min(256, n)):
        if by_rank[b] != bytes([b]):
            bad(f"rank {b} is {by_rank[b]!r}, not the byte {b}")
    if n < 256:
        bad(f"only {n} ranks: the 256 bytes are missing")

    with open(argv[1], "rb") as f:
        try:
            tj = json.load(f)
        except ValueError as e:
            print(f"{argv[1]}: not valid JSON: {e}")
            return 1
    model = tj.get("model") or {}
    if model.get("type") != "BPE":
        bad("model.type is not BPE")
    if model.get("byte_fallback"):
        bad("model.byte_fallback is set")
    pre = tj.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if not any(s.get("type") == "ByteLevel" for s in steps):
        bad("no ByteLevel pre-tokenizer")
    if (tj.get("decoder") or {}).get("type") != "ByteLevel":
        bad("decoder is not ByteLevel")

    b2u = bytes_to_unicode()
    u2b = {c: b for b, c in b2u.items()}
    added = tj.get("added_tokens") or []
    added_content = {}
    for i, a in enumerate(added):
        if a.get("id") != n + i:
            bad(f"added token {a.get('content')!r} has id {a.get('id')}, expected {n + i}")
        if not a.get("special"):
            bad(f"added token {a.get('content')!r} is not special")
        added_content[a.get("content")] = a.get("id")

    vocab = model.get("vocab") or {}
    seen = set()
    for key, tid in vocab.items():
        if key in added_content:
            if added_content[key] != tid:
                bad(f"special {key!r}: id {tid} in model.vocab, {added_content[key]} in added_tokens")
            continue
        try:
            tok = bytes(u2b[c] for c in key)
        except KeyError:
            bad(f"vocab key {key!r} is not a byte-level string")
            continue
        if ranks.get(tok) != tid:
            bad(f"vocab {key!r} = {tok!r}: id {tid}, rank {ranks.get(tok)}")
        seen.add(tid)
    missing = [r for r in range(n) if r not in seen]
    if missing:
        bad(f"{len(missing)} ranks missing from model.vocab (first {missing[0]})")

    made = {}
    pairs = set()
    for i, m in enumerate(model.get("merges") or []):
        a, b = m.split(" ") if isinstance(m, str) else m
        for part in (a, b, a + b):
            if part not in vocab:
                bad(f"merge {i} {m!r}: {part!r} not in the vocab")
                break
        else:
            if (a, b) in pairs:
                bad(f"merge {i} {m!r} listed twice")
            pairs.add((a, b))
            t = vocab[a + b]
            if t < 256:
                bad(f"merge {i} {m!r} makes a single byte")
            elif t not in made:
                made[t] = i
    order = sorted(made)
    for x, y in zip(order, order[1:]):
        if made[x] > made[y]:
            bad(f"token {y} is made (merge {made[y]}) before token {x} (merge {made[x]})")
            break
    if set(made) != set(range(256, n)):
        lost = sorted(set(range(256, n)) - set(made))
        bad(f"{len(lost)} ranks are made by no merge (first {lost[0] if lost else '-'})")

    for p in problems[:20]:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print(f"ok: {n} ranks, {len(added)} special tokens, {len(model.get('merges') or [])} merges")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
