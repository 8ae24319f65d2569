#!/usr/bin/env python3
"""mkdata.py - test inputs for the end-to-end tests.

  mkdata.py good OUT N     N valid documents (ids, domains, mixed scripts)
  mkdata.py nasty OUT      one line per nasty case, listed in OUT.expect
                           as "line<TAB>reason" (reason "ok" for good lines)
  mkdata.py huge OUT MB    a document whose text is MB megabytes
"""
import json, random, sys

def good(out, n):
    rng = random.Random(42)
    words = ["data", "model", "token", "corpus", "clean", "数据", "模型", "清洗",
             "naïve", "café", "😀", "tab\there", 'quote"s', "back\\slash"]
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(n):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
            doc = {"id": f"doc-{i:06d}", "domain": rng.choice(["web", "books", "code"]),
                   "text": text, "meta": {"n": i, "ok": i % 2 == 0, "x": None}}
            f.write(json.dumps(doc, ensure_ascii=rng.random() < 0.5) + "\n")

def nasty(out):
    cases = [
        (b'{"id":1,"text":"fine"}', "ok"),
        (b'{"id":2,"text":"unterminated}', "bad_json"),
        (b'not json at all', "bad_json"),
        (b'{"id":3,"text":"bad utf8 \xff\xfe here"}', "bad_utf8"),
        (b'{"id":4,"text":"lone \\ud800 surrogate"}', "bad_utf8"),
        (b'{"id":5,"text":"lone low \\udc00"}', "bad_utf8"),
        (b'{"id":6,"title":"no text here"}', "no_text"),
        (b'{"id":7,"text":42}', "text_not_string"),
        (b'{"id":8,"text":null}', "text_not_string"),
        (b'{"id":9,"text":"nul \\u0000 escaped is fine"}', "ok"),
        (b'{"id":10,"text":"raw nul \x00 byte"}', "bad_json"),
        (b'\xef\xbb\xbf{"id":11,"text":"bom at start"}', "ok"),
        (b'{"id":12,"text":"pair \\ud83d\\ude00 ok"}', "ok"),
        (b'[1,2,3]', "bad_json"),
        (b'', "bad_json"),
        (b'{"id":13,"text":"trailing"} x', "bad_json"),
        (b'{"id":14,"text":"overlong \xc0\x80"}', "bad_utf8"),
        (b'{"id":15, "text" : "spaced \\"escapes\\" \\/ \\t ok", "z": [1, {"a": 2}]}', "ok"),
        (b'{"id":16,"text":"crlf line"}\r', "ok"),
    ]
    with open(out, "wb") as f:
        for line, _ in cases:
            f.write(line + b"\n")
    with open(out + ".expect", "w") as f:
        for i, (_, reason) in enumerate(cases, 1):
            f.write(f"{i}\t{reason}\n")

def huge(out, mb):
    chunk = "All work and no play makes Jack a dull boy. 只工作不玩耍。\\n"
    n = mb * 1024 * 1024 // len(chunk.encode())
    with open(out, "w", encoding="utf-8") as f:
        f.write('{"id":"small-1","text":"before"}\n')
        f.write('{"id":"huge","text":"')
        for _ in range(n // 1000):
            f.write(chunk * 1000)
        f.write('"}\n')
        f.write('{"id":"small-2","text":"after"}\n')

if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "good": good(sys.argv[2], int(sys.argv[3]))
    elif kind == "nasty": nasty(sys.argv[2])
    elif kind == "huge": huge(sys.argv[2], int(sys.argv[3]))
    else: sys.exit("unknown kind")
