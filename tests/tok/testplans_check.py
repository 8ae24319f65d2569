#!/usr/bin/env python3
"""testplans_check.py [TestPlans.txt] -- check tests/tok/ref_tiktoken.js
against the 313 encode cases of gpt-tokenizer's TestPlans.txt.

TestPlans.txt (the tokenizers data set of scripts/fetch-data.sh) is UTF-8,
LF line ends, one block per case:

    EncodingName: <name>\\n
    Sample: <text>\\n
    Encoded: [<id>, <id>, ...]\\n

blocks separated by one empty line, the last block ending with its "\\n".
The text after "Sample: " runs to the end of the line, raw (no escapes, no
quotes) and may be empty ("Sample: " with nothing after the space); it holds
no line break.  "Encoded: []" for no tokens.  The cases are encoded as
ordinary text (no sample holds a special token).  Every case is run through
`node ref_tiktoken.js encode <name>`; prints the failures and the line
"N passed, N failed", exits 1 on any failure.  Default file:
${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}/tokenizers/TestPlans.txt
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = re.compile(r"EncodingName: (\S+)\nSample: (.*)\nEncoded: \[([0-9, ]*)\]")


def cache_dir():
    c = os.environ.get("WINNOW_CACHE")
    if c:
        return c
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "winnow")


def parse(path):
    """[(encoding, sample, [ids])] in file order; exits on any line that
    does not fit the format."""
    with open(path, "rb") as fh:
        data = fh.read().decode("utf-8")
    if not data.endswith("\n") or "\r" in data:
        sys.exit("%s: expected LF line ends and a final newline" % path)
    cases = []
    for n, block in enumerate(data[:-1].split("\n\n")):
        m = BLOCK.fullmatch(block)
        if not m:
            sys.exit("%s: block %d does not fit the format: %r" % (path, n + 1, block[:200]))
        ids = [int(x) for x in m.group(3).split(", ")] if m.group(3) else []
        cases.append((m.group(1), m.group(2), ids))
    return cases


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache_dir(), "tokenizers", "TestPlans.txt")
    if not os.path.isfile(path):
        sys.exit("%s not found; run scripts/fetch-data.sh tokenizers" % path)
    cases = parse(path)
    by_enc = {}
    for i, (enc, sample, ids) in enumerate(cases):
        by_enc.setdefault(enc, []).append(i)
    got = [None] * len(cases)
    for enc, idx in by_enc.items():
        inp = "".join(json.dumps({"text": cases[i][1]}, ensure_ascii=False) + "\n" for i in idx)
        r = subprocess.run(["node", os.path.join(HERE, "ref_tiktoken.js"), "encode", enc],
                           input=inp.encode("utf-8"), stdout=subprocess.PIPE)
        if r.returncode != 0:
            sys.exit("ref_tiktoken.js encode %s failed (exit %d)" % (enc, r.returncode))
        lines = r.stdout.decode("ascii").split("\n")[:-1]
        if len(lines) != len(idx):
            sys.exit("ref_tiktoken.js encode %s: %d lines for %d cases" % (enc, len(lines), len(idx)))
        for i, line in zip(idx, lines):
            got[i] = [int(x) for x in line.split()]
    passed = failed = 0
    for (enc, sample, ids), g in zip(cases, got):
        if g == ids:
            passed += 1
        else:
            failed += 1
            print("FAIL %s %r\n  expected %s\n  got      %s" % (enc, sample, ids, g))
    print("cases per encoding: " + ", ".join("%s %d" % (e, len(i)) for e, i in by_enc.items()))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
