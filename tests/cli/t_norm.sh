#!/usr/bin/env bash
# t_norm.sh - winnow norm: the rules through the CLI, JSONL/txt/HTML/WARC
# inputs, ids, stats, idempotence on real text, threads, nasty input.
. "$TESTS_DIR/lib.sh"
root=$TESTS_DIR/../..
CACHE=${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}
# field FILE NAME: the value of NAME in each line of FILE (JSON-encoded when not a string)
field() { $PY -c '
import json,sys
for l in open(sys.argv[1], encoding="utf-8"):
    v=json.loads(l).get(sys.argv[2])
    print(v if isinstance(v,str) else json.dumps(v, ensure_ascii=False))' "$1" "$2" 2>/dev/null; }
# textof FILE ID: the text of the document ID
textof() { $PY -c '
import json,sys
for l in open(sys.argv[1], encoding="utf-8"):
    d=json.loads(l)
    if d.get("id")==sys.argv[2]: print(d["text"])' "$1" "$2"; }

# --- the rules, one document each, and their counts in the stats (a run
# of spaces or tabs inside a line becomes one space, a single tab stays;
# white space at a line end is the trailing rule's)
cat >"$T/rules.jsonl" <<'J'
{"id":"a","text":"clean text","keep":[1,2]}
{"id":"b","text":"two  spaces\tand\t\ttabs"}
{"id":"c","text":"crlf\r\nand cr\rend"}
{"id":"d","text":"trailing   \nspaces  "}
{"id":"e","text":"a\n\n\n\n\n\nb"}
{"id":"f","text":"caf\u0065\u0301 decomposed"}
{"id":"g","text":"zero\u200bwidth\ufeff"}
{"id":"h","text":"bell\u0007 and nul\u0000"}
{"id":"i","text":"AT&amp;T &lt;b&gt; &#233;t&#xE9;"}
{"id":"j","text":"ｆｕｌｌ－ｗｉｄｔｈ"}
{"text":"no id here"}
J
"$W" norm -q "$T/rules.jsonl" -o "$T/rules.out" --stats "$T/r.db"
eq "clean text is written byte for byte" "$(head -1 "$T/rules.out")" '{"id":"a","text":"clean text","keep":[1,2]}'
eq "the texts" "$(field "$T/rules.out" text | tr '\n' '|')" \
	"$(printf '%s|' "clean text" "$(printf 'two spaces\tand tabs')" "crlf" "and cr" "end" "trailing" "spaces" "a" "" "" "b" "café decomposed" "zerowidth" "bell and nul" "AT&T <b> été" "ｆｕｌｌ－ｗｉｄｔｈ" "no id here")"
eq "other fields untouched" "$(field "$T/rules.out" keep | head -1)" "[1, 2]"
eq "a document without an id gets INPUT:LINE" "$(field "$T/rules.out" id | tail -1)" "rules.jsonl:11"
counts=$(q "$T/r.db" "SELECT key||'='||docs_in FROM counts WHERE kind='norm' ORDER BY key" | tr '\n' ' ')
echo "# rule counts: $counts"
for want in spaces=1 newlines=1 trailing=1 blank_lines=1 unicode=1 zero_width=1 control=1 entities=1 id_added=1 utf8=0; do
	ok "stats: documents changed per rule: $want" grep -qw -- "$want" <<<"$counts"
done
"$W" norm -q --nfkc "$T/rules.jsonl" -o "$T/nfkc.out"
eq "--nfkc folds full-width ASCII" "$(textof "$T/nfkc.out" j)" "full-width"
"$W" norm -q --no-spaces --no-entities "$T/rules.jsonl" -o "$T/off.out"
eq "--no-spaces leaves runs of spaces" "$(textof "$T/off.out" b)" "$(printf 'two  spaces\tand\t\ttabs')"
eq "--no-entities leaves entities" "$(textof "$T/off.out" i)" "AT&amp;T &lt;b&gt; &#233;t&#xE9;"
printf '%s\n' '{"text":"漢語與臺灣的繁體字"}' >"$T/zh.jsonl"
eq "--zh-simplify: Traditional to Simplified (OpenCC)" "$("$W" norm -q --zh-simplify "$T/zh.jsonl" | field /dev/stdin text)" "汉语与台湾的繁体字"
eq "without --zh-simplify Traditional stays" "$("$W" norm -q "$T/zh.jsonl" | field /dev/stdin text)" "漢語與臺灣的繁體字"
printf '%s\n' '{"text":"  "}' '{"text":"ab"}' '{"text":"abcdef"}' >"$T/short.jsonl"
"$W" norm -q --min-chars 3 "$T/short.jsonl" -o "$T/short.out" --rejects "$T/short.rej"
eq "--min-chars 3 keeps the long one" "$(field "$T/short.out" text)" "abcdef"
eq "... and rejects the others as norm:too_short" "$(grep -c '"reason":"norm:too_short"' "$T/short.rej")" "2"
eq "by default only empty documents are dropped" "$("$W" norm -q "$T/short.jsonl" | wc -l)" "2"

# --- idempotence through the CLI on real text and the nasty lines
$PY "$root/scripts/make-lang-corpus.py" >"$T/corpus.jsonl" 2>/dev/null || cp "$T/rules.jsonl" "$T/corpus.jsonl"
for opts in "" "--nfkc" "--zh-simplify" "--nfkc --zh-simplify --no-spaces"; do
	"$W" norm -q $opts "$T/corpus.jsonl" -o "$T/n1.jsonl"
	"$W" norm -q $opts "$T/n1.jsonl" -o "$T/n2.jsonl"
	ok "norm(norm(x)) = norm(x) on the real multilingual corpus (${opts:-defaults})" cmp "$T/n1.jsonl" "$T/n2.jsonl"
done
ok "the corpus is real ($(wc -l <"$T/corpus.jsonl") documents)" test "$(wc -l <"$T/corpus.jsonl")" -ge 2000
$PY "$TESTS_DIR/mkdata.py" nasty "$T/nasty.jsonl"
"$W" norm "$T/nasty.jsonl" -o "$T/nasty.out" --rejects "$T/nasty.rej" 2>"$T/nasty.err"
eq "nasty lines: exit 0" "$?" "0"
eq "nasty lines: good ones kept" "$(wc -l <"$T/nasty.out")" "$(grep -c 'ok$' "$T/nasty.jsonl.expect")"
eq "nasty lines: nothing lost" "$(( $(wc -l <"$T/nasty.out") + $(wc -l <"$T/nasty.rej") ))" "$(wc -l <"$T/nasty.jsonl.expect")"
ok "nasty lines: errors name file and line" grep -q "nasty.jsonl:4: " "$T/nasty.err"
"$W" norm -q "$T/nasty.out" -o "$T/nasty2.out"
ok "nasty lines: idempotent" cmp "$T/nasty.out" "$T/nasty2.out"

# --- threads: the same bytes in the same order
"$W" norm -q --threads 1 "$T/corpus.jsonl" -o "$T/th1.jsonl"
"$W" norm -q --threads 2 "$T/corpus.jsonl" -o "$T/th2.jsonl"
ok "--threads 2 writes exactly what --threads 1 writes" cmp "$T/th1.jsonl" "$T/th2.jsonl"

# --- txt
printf 'First paragraph,\nstill first.\n\n\n  Second one.\n\xff\xfe bad bytes\n' >"$T/notes.txt"
"$W" norm -q --from txt "$T/notes.txt" -o "$T/file.out" --stats "$T/t.db"
eq "--from txt: one document per file" "$(wc -l <"$T/file.out")" "1"
eq "... its id is the file name" "$(field "$T/file.out" id)" "notes.txt"
ok "... invalid UTF-8 repaired with U+FFFD" grep -q '�� bad bytes' "$T/file.out"
eq "... and counted under utf8" "$(q "$T/t.db" "SELECT docs_in FROM counts WHERE kind='norm' AND key='utf8'")" "1"
"$W" norm -q --from txt --split paragraph "$T/notes.txt" -o "$T/para.out"
eq "--split paragraph: ids carry the first line" "$(field "$T/para.out" id | tr '\n' ' ')" "notes.txt:1 notes.txt:5 "
eq "--split paragraph: texts" "$(field "$T/para.out" text | head -2 | tr '\n' '|')" "First paragraph,|still first.|"
"$W" norm -q --from txt --split line "$T/notes.txt" -o "$T/line.out"
eq "--split line: one document per non-blank line" "$(field "$T/line.out" id | tr '\n' ' ')" "notes.txt:1 notes.txt:2 notes.txt:5 notes.txt:6 "
"$W" norm -q --from txt --split line --invalid-utf8 drop "$T/notes.txt" -o "$T/drop.out" --rejects "$T/drop.rej"
eq "--invalid-utf8 drop: the bad line is dropped" "$(wc -l <"$T/drop.out")" "3"
ok "... and kept in the rejects as raw_base64" grep -q '"reason":"norm:invalid_utf8".*"raw_base64"' "$T/drop.rej"
gzip -c "$T/notes.txt" >"$T/notes.txt.gz"
ok "--from txt reads gzip like every input" cmp <("$W" norm -q --from txt "$T/notes.txt.gz" | field /dev/stdin text) <(field "$T/file.out" text)
: >"$T/empty.txt"
eq "an empty text file gives no document" "$("$W" norm -q --from txt "$T/empty.txt" | wc -l)" "0"
exits 2 "--split needs --from txt" "$W" norm --split line "$T/rules.jsonl"
exits 2 "--from with a bad value" "$W" norm --from pdf "$T/rules.jsonl"

# --- HTML: real pages
HB=$CACHE/debian-handbook/html/en-US
PD=$CACHE/python-doc/html/library
if [ -d "$HB" ] && [ -d "$PD" ]; then
	"$W" norm -q --from html "$HB"/*.html -o "$T/hb.jsonl"
	eq "--from html: one document per page" "$(wc -l <"$T/hb.jsonl")" "$(ls "$HB"/*.html | wc -l)"
	res=$($PY "$TESTS_DIR/norm_check.py" recall "$HB" "$T/hb.jsonl")
	echo "# debian-handbook en-US: $res"
	rec=$(sed 's/.*recall=\([0-9.]*\).*/\1/' <<<"$res")
	ok "body paragraphs kept (recall $rec >= 0.95)" $PY -c "import sys; sys.exit(not $rec >= 0.95)"
	eq "Prev/Next navigation removed from every page" "$(sed 's/.*pages_with_nav=//' <<<"$res")" "0"
	ok "titles kept" grep -q '"title":"Chapter 6. Maintenance and Updates: The APT Tools"' "$T/hb.jsonl"
	"$W" norm -q --from html "$PD"/json.html "$PD"/re.html -o "$T/py.jsonl"
	ok "python docs: body text kept" grep -q "JSON (JavaScript Object Notation)" "$T/py.jsonl"
	ok "python docs: no script or style text" bash -c "! grep -q -e 'function(' -e 'documentElement' -e '{display' '$T/py.jsonl'"
	ok "python docs: the navigation sidebar is gone" bash -c "! grep -q -e 'Previous topic' -e 'Report a Bug' '$T/py.jsonl'"
	"$W" norm -q --from html "$HB"/apt.html -o "$T/a1.jsonl"
	"$W" norm -q "$T/a1.jsonl" -o "$T/a2.jsonl"
	ok "HTML output is already normal (norm of it changes nothing)" cmp "$T/a1.jsonl" "$T/a2.jsonl"
else
	eq "debian-handbook and python-doc are in the cache (run scripts/fetch-data.sh)" "missing" "present"
fi

# --- WARC, plain and gzip per record
$PY "$TESTS_DIR/norm_check.py" warc "$T/crawl.warc"
$PY "$TESTS_DIR/norm_check.py" warc "$T/crawl.warc.gz"
"$W" norm --from warc "$T/crawl.warc" -o "$T/w.jsonl" --rejects "$T/w.rej" --stats "$T/w.db" 2>"$T/w.err"
eq "--from warc: exit 0" "$?" "0"
eq "WARC: the 2xx HTML responses become documents" "$(field "$T/w.jsonl" url | tr '\n' ' ')" "http://a.example/ http://b.example/x http://e.example/ "
eq "WARC: with their dates" "$(field "$T/w.jsonl" date | head -2 | tr '\n' ' ')" "2024-05-01T10:00:00Z 2024-05-02T11:00:00Z "
eq "WARC: ids from WARC-Record-ID, else input:record" "$(field "$T/w.jsonl" id | tr '\n' ' ')" "<urn:uuid:2> <urn:uuid:3> crawl.warc:8 "
eq "WARC: chunked + gzip body, main text only, entities decoded" "$(field "$T/w.jsonl" text | head -4 | tr '\n' '|')" "Le titre||Un paragraphe avec des espaces et & une entité.||"
ok "WARC: navigation and footer gone" bash -c "! grep -q -e Blog -e footer '$T/w.jsonl'"
ok "WARC: windows-1252 page decoded" grep -q "Café crème, naïve façade." "$T/w.jsonl"
ok "WARC: the PDF response is rejected as norm:not_html, named" grep -q '"reason":"norm:not_html".*doc.pdf' "$T/w.rej"
ok "WARC: a summary of the records" grep -q "8 WARC records" "$T/w.err"
ok "gzip-per-record WARC gives the same documents" cmp <("$W" norm -q --from warc "$T/crawl.warc.gz" | field /dev/stdin text) <(field "$T/w.jsonl" text)
head -c 1500 "$T/crawl.warc" >"$T/trunc.warc"
"$W" norm --from warc "$T/trunc.warc" -o "$T/tr.jsonl" 2>"$T/tr.err"
eq "a truncated WARC is exit 1" "$?" "1"
ok "... with a message naming the file and record" grep -q "trunc.warc: record" "$T/tr.err"
printf 'garbage\r\n\r\n' | cat - "$T/crawl.warc" >"$T/garbage.warc"
"$W" norm -q --from warc "$T/garbage.warc" -o "$T/g.jsonl" --rejects "$T/g.rej"
eq "garbage before a record is rejected and the rest read" "$(wc -l <"$T/g.jsonl")" "3"
mkdir -p "$T/wo"
"$W" norm -q --from warc -O "$T/wo" "$T/crawl.warc" "$T/crawl.warc.gz"
eq "-O with --from warc names outputs INPUT.jsonl.zst" "$(ls "$T/wo" | tr '\n' ' ')" "crawl.warc.gz.jsonl.zst crawl.warc.jsonl.zst "
ok "... and they are zstd JSONL" cmp <(zstd -dc "$T/wo/crawl.warc.jsonl.zst") "$T/w.jsonl"
"$W" norm --from warc --max-doc 100 "$T/crawl.warc" -o "$T/small.jsonl" --rejects "$T/small.rej" 2>"$T/small.err"
eq "--max-doc: records over it are rejected, the stream goes on" "$(grep -c '"reason":"norm:warc_too_big"' "$T/small.rej")" "3"
ok "... and the summary counts them as bad" grep -q "0 pages" "$T/small.err"
