#!/usr/bin/env python3
"""norm_check.py - helpers for t_norm.sh.

    norm_check.py paras PAGE.html        the text of the page's body
                                         paragraphs (div.para and p), one per line
    norm_check.py recall PAGES_DIR OUT.jsonl   share of body paragraphs of
                                         every page found in its document,
                                         and share of pages with navigation
                                         text ("Prev" / "Next" links) left
    norm_check.py warc OUT.warc[.gz]     write a test WARC (see below)
"""
import gzip
import html.parser
import json
import os
import re
import sys


class Paras(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.cur = []
        self.out = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag in ("script", "style"):
            self.skip += 1
        if self.depth:
            if tag in ("div", "p"):
                self.depth += 1
            return
        if (tag == "div" and "para" in cls) or tag == "p":
            self.depth = 1
            self.cur = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        if self.depth and tag in ("div", "p"):
            self.depth -= 1
            if not self.depth:
                t = " ".join("".join(self.cur).split())
                if len(t) >= 30:
                    self.out.append(t)

    def handle_data(self, d):
        if self.depth and not self.skip:
            self.cur.append(d)


def paras(path):
    p = Paras()
    p.feed(open(path, encoding="utf-8", errors="replace").read())
    return p.out


def recall(pages, out):
    docs = {}
    for l in open(out, encoding="utf-8"):
        d = json.loads(l)
        docs[d["id"]] = " ".join(d["text"].split())
    want = found = 0
    nav = 0
    for name in sorted(os.listdir(pages)):
        if not name.endswith(".html"):
            continue
        text = docs.get(name, "")
        for para in paras(os.path.join(pages, name)):
            want += 1
            found += para in text
        if re.search(r"\bPrev\b.{0,80}\bNext\b", text):
            nav += 1
    print("paragraphs=%d recall=%.4f pages_with_nav=%d" % (want, found / max(want, 1), nav))


def warc(path):
    """Records: warcinfo; request; a 200 HTML response (chunked, gzip);
    a 200 HTML response in windows-1252 (WARC/1.0); a 200 PDF; a 404 HTML;
    a metadata record; a 200 HTML response without a record id."""
    def rec(version, fields, block):
        h = version + "\r\n" + "".join("%s: %s\r\n" % kv for kv in fields)
        h += "Content-Length: %d\r\n\r\n" % len(block)
        return h.encode() + block + b"\r\n\r\n"

    def http(status, ctype, body, extra=""):
        return ("HTTP/1.1 %s\r\nContent-Type: %s\r\n%s\r\n" % (status, ctype, extra)).encode() + body

    page1 = ("<html><head><title>Première page</title><script>var x=1;</script></head><body>"
             "<nav><a href='/'>Home</a> <a href='/b'>Blog</a></nav>"
             "<main><h1>Le titre</h1><p>Un paragraphe  avec   des espaces et &amp;amp; une entité.</p>"
             "<ul><li>un</li><li>deux</li></ul></main><footer>© 2024 footer text</footer></body></html>").encode()
    gz = gzip.compress(page1)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(gz[i:i + 50]), gz[i:i + 50]) for i in range(0, len(gz), 50)) + b"0\r\n\r\n"
    page2 = "<html><body><p>Caf\xe9 cr\xe8me, na\xefve fa\xe7ade.</p></body></html>".encode("latin-1")
    page4 = b"<html><body><p>Not found</p></body></html>"
    page5 = b"<html><body><article><p>Third page text, no record id.</p></article></body></html>"
    recs = [
        rec("WARC/1.1", [("WARC-Type", "warcinfo"), ("WARC-Record-ID", "<urn:uuid:0>"),
                         ("Content-Type", "application/warc-fields")], b"software: test\r\n"),
        rec("WARC/1.1", [("WARC-Type", "request"), ("WARC-Target-URI", "http://a.example/"),
                         ("WARC-Record-ID", "<urn:uuid:1>"), ("Content-Type", "application/http; msgtype=request")],
            b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        rec("WARC/1.1", [("WARC-Type", "response"), ("WARC-Target-URI", "http://a.example/"),
                         ("WARC-Date", "2024-05-01T10:00:00Z"), ("WARC-Record-ID", "<urn:uuid:2>"),
                         ("Content-Type", "application/http; msgtype=response")],
            http("200 OK", "text/html; charset=utf-8", chunked,
                 "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n")),
        rec("WARC/1.0", [("WARC-Type", "response"), ("WARC-Target-URI", "http://b.example/x"),
                         ("WARC-Date", "2024-05-02T11:00:00Z"), ("WARC-Record-ID", "<urn:uuid:3>"),
                         ("Content-Type", "application/http; msgtype=response")],
            http("200 OK", "text/html; charset=windows-1252", page2)),
        rec("WARC/1.1", [("WARC-Type", "response"), ("WARC-Target-URI", "http://c.example/doc.pdf"),
                         ("WARC-Date", "2024-05-03T12:00:00Z"), ("WARC-Record-ID", "<urn:uuid:4>"),
                         ("Content-Type", "application/http; msgtype=response")],
            http("200 OK", "application/pdf", b"%PDF-1.4 binary")),
        rec("WARC/1.1", [("WARC-Type", "response"), ("WARC-Target-URI", "http://d.example/missing"),
                         ("WARC-Date", "2024-05-04T13:00:00Z"), ("WARC-Record-ID", "<urn:uuid:5>"),
                         ("Content-Type", "application/http; msgtype=response")],
            http("404 Not Found", "text/html", page4)),
        rec("WARC/1.1", [("WARC-Type", "metadata"), ("WARC-Target-URI", "http://a.example/"),
                         ("WARC-Record-ID", "<urn:uuid:6>"), ("Content-Type", "application/warc-fields")],
            b"fetchTimeMs: 12\r\n"),
        rec("WARC/1.1", [("WARC-Type", "response"), ("WARC-Target-URI", "http://e.example/"),
                         ("WARC-Date", "2024-05-05T14:00:00Z"),
                         ("Content-Type", "application/http; msgtype=response")],
            http("200 OK", "text/html", page5)),
    ]
    with open(path, "wb") as f:
        for r in recs:
            f.write(gzip.compress(r) if path.endswith(".gz") else r)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "paras":
        print("\n".join(paras(sys.argv[2])))
    elif cmd == "recall":
        recall(sys.argv[2], sys.argv[3])
    elif cmd == "warc":
        warc(sys.argv[2])
