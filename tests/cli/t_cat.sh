#!/usr/bin/env bash
# t_cat.sh - winnow cat: formats, selection, counting, nasty input, outputs.
. "$TESTS_DIR/lib.sh"

$PY "$TESTS_DIR/mkdata.py" good "$T/a.jsonl" 3000
$PY "$TESTS_DIR/mkdata.py" good "$T/b.jsonl" 500
zstd -q -3 "$T/a.jsonl" -o "$T/a.jsonl.zst"
gzip -c "$T/a.jsonl" >"$T/a.jsonl.gz"

# --- formats: detection by content, output by name, byte-for-byte pass-through
ok "plain passes through byte for byte" cmp <("$W" cat "$T/a.jsonl") "$T/a.jsonl"
ok "zstd input detected" cmp <("$W" cat "$T/a.jsonl.zst") "$T/a.jsonl"
ok "gzip input detected" cmp <("$W" cat "$T/a.jsonl.gz") "$T/a.jsonl"
cp "$T/a.jsonl.zst" "$T/noext"
ok "detection by magic, not name" cmp <("$W" cat "$T/noext") "$T/a.jsonl"
ok "stdin" cmp <("$W" cat <"$T/a.jsonl.zst") "$T/a.jsonl"
ok "dash is stdin" cmp <("$W" cat - <"$T/a.jsonl.gz") "$T/a.jsonl"
"$W" cat "$T/a.jsonl" -o "$T/out.jsonl.zst"
eq "-o x.zst writes zstd" "$(head -c4 "$T/out.jsonl.zst" | od -An -tx1 | tr -d ' ')" "28b52ffd"
ok "zstd output decodes with zstd(1)" cmp <(zstd -dc "$T/out.jsonl.zst") "$T/a.jsonl"
"$W" cat "$T/a.jsonl" -o "$T/out.jsonl.gz" --level 9
ok "gzip output decodes with gzip(1)" cmp <(gzip -dc "$T/out.jsonl.gz") "$T/a.jsonl"
"$W" cat "$T/a.jsonl" -o "$T/l1.zst" --level 1
"$W" cat "$T/a.jsonl" -o "$T/l19.zst" --level 19
ok "--level 19 smaller than --level 1" test "$(stat -c%s "$T/l19.zst")" -lt "$(stat -c%s "$T/l1.zst")"
ok "concatenation keeps the order given" cmp <("$W" cat "$T/b.jsonl" "$T/a.jsonl.zst") <(cat "$T/b.jsonl" "$T/a.jsonl")
# multi-frame zstd and multi-member gzip
cat "$T/a.jsonl.zst" <(zstd -qc "$T/b.jsonl") >"$T/multi.zst"
ok "concatenated zstd frames" cmp <("$W" cat "$T/multi.zst") <(cat "$T/a.jsonl" "$T/b.jsonl")
cat "$T/a.jsonl.gz" <(gzip -c "$T/b.jsonl") >"$T/multi.gz"
ok "concatenated gzip members" cmp <("$W" cat "$T/multi.gz") <(cat "$T/a.jsonl" "$T/b.jsonl")

# CRLF and a missing final newline
printf '{"text":"a"}\r\n{"text":"b"}' >"$T/crlf.jsonl"
eq "CRLF stripped, last line without newline kept" "$("$W" cat "$T/crlf.jsonl")" "$(printf '{"text":"a"}\n{"text":"b"}')"
: >"$T/empty.jsonl"
eq "empty file gives nothing" "$("$W" cat "$T/empty.jsonl" | wc -c)" "0"
: | zstd -q >"$T/empty.zst"
exits 0 "empty zstd stream is fine" "$W" cat "$T/empty.zst"

# --- selection
eq "--head 7" "$("$W" cat --head 7 "$T/a.jsonl" "$T/b.jsonl" | wc -l)" "7"
eq "--head 0" "$("$W" cat --head 0 "$T/a.jsonl" | wc -c)" "0"
eq "--head across inputs" "$("$W" cat --head 3002 "$T/a.jsonl" "$T/b.jsonl" | tail -1)" "$(sed -n 2p "$T/b.jsonl")"
s1=$("$W" cat --sample 0.3 --seed 7 "$T/a.jsonl" | md5sum)
s2=$("$W" cat --sample 0.3 --seed 7 "$T/a.jsonl.zst" | md5sum)
s3=$("$W" cat --sample 0.3 --seed 8 "$T/a.jsonl" | md5sum)
eq "--sample is deterministic" "$s1" "$s2"
ok "--sample depends on the seed" test "$s1" != "$s3"
n=$("$W" cat --sample 0.3 --seed 7 "$T/a.jsonl" | wc -l)
ok "--sample 0.3 keeps about 30% ($n of 3000)" test "$n" -gt 800 -a "$n" -lt 1000
ok "--sample output is a subsequence of the input" $PY -c '
import sys
a=open(sys.argv[1]).read().splitlines(); s=open(sys.argv[2]).read().splitlines() if False else sys.stdin.read().splitlines()
it=iter(a); sys.exit(0 if all(l in it for l in s) else 1)' "$T/a.jsonl" < <("$W" cat --sample 0.3 --seed 7 "$T/a.jsonl")
eq "--sample 0 keeps none" "$("$W" cat --sample 0 "$T/a.jsonl" | wc -l)" "0"
eq "--sample 1 keeps all" "$("$W" cat --sample 1 "$T/a.jsonl" | wc -l)" "3000"

# --- counting against a Python reference
want=$($PY - "$T/a.jsonl" <<'PY'
import json, sys
docs = tb = tc = by = 0
for raw in open(sys.argv[1], "rb"):
    by += len(raw)
    d = json.loads(raw)
    docs += 1; tb += len(d["text"].encode()); tc += len(d["text"])
print(docs, 0, by, tb, tc)
PY
)
got=$("$W" cat --count "$T/a.jsonl.zst" | awk 'NR==2{print $1,$2,$3,$4,$5}')
eq "--count matches a Python count (docs bad bytes text_bytes text_chars)" "$got" "$want"
eq "--count prints a total for several inputs" "$("$W" cat --count "$T/a.jsonl" "$T/b.jsonl" | tail -1 | awk '{print $1, $6}')" "3500 total"

# --- nasty lines: every bad line reported with file:line, counted, kept in rejects
$PY "$TESTS_DIR/mkdata.py" nasty "$T/nasty.jsonl"
"$W" cat "$T/nasty.jsonl" --rejects "$T/rej.jsonl" --stats "$T/s.db" >"$T/kept.jsonl" 2>"$T/nasty.err"
eq "nasty: exit 0 under --on-error skip" "$?" "0"
want_ok=$(awk -F'\t' '$2=="ok"' "$T/nasty.jsonl.expect" | wc -l)
eq "nasty: the good lines are kept" "$(wc -l <"$T/kept.jsonl")" "$want_ok"
got_rej=$($PY -c '
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)["reject"]; print(r["line"], r["reason"], sep="\t")' "$T/rej.jsonl")
want_rej=$(awk -F'\t' '$2!="ok"' "$T/nasty.jsonl.expect")
eq "nasty: rejects hold each bad line with its reason and line" "$got_rej" "$want_rej"
eq "nasty: one message per bad line, naming file and line" \
	"$(grep -c "^winnow cat: $T/nasty.jsonl:[0-9]*: " "$T/nasty.err")" "$(echo "$want_rej" | wc -l)"
ok "nasty: raw bytes of unparsable lines recoverable from rejects" $PY -c '
import json, base64, sys
src = open(sys.argv[1], "rb").read().split(b"\n")
for l in open(sys.argv[2]):
    o = json.loads(l); n = o["reject"]["line"]
    if "raw" in o: b = o["raw"].encode()
    elif "raw_base64" in o: b = base64.b64decode(o["raw_base64"])
    else: continue
    assert b == src[n-1].rstrip(b"\r"), (n, b, src[n-1])
' "$T/nasty.jsonl" "$T/rej.jsonl"
eq "nasty: docs_in = docs_out + docs_dropped" \
	"$(q "$T/s.db" 'select docs_in = docs_out + docs_dropped, docs_in, docs_out from inputs')" "1|19|$want_ok"
eq "nasty: per-reason counts in stats" "$(q "$T/s.db" 'select reason||"="||docs from drops order by reason' | tr '\n' ' ')" \
	"$(awk -F'\t' '$2!="ok"{print $2}' "$T/nasty.jsonl.expect" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
exits 1 "--on-error fail stops with exit 1" "$W" cat --on-error fail "$T/nasty.jsonl" -o "$T/failed.jsonl"
err_has "--on-error fail names file and line" "nasty.jsonl:2: unterminated string"
ok "--on-error fail leaves no output file" test ! -e "$T/failed.jsonl"
exits 1 "--validate exits 1 on bad lines" "$W" cat --validate "$T/nasty.jsonl"
eq "--validate reports every bad line" "$(grep -c 'nasty.jsonl:[0-9]*:' "$T/.err")" "$(echo "$want_rej" | wc -l)"
exits 0 "--validate exits 0 on a good file" "$W" cat --validate "$T/a.jsonl.zst"
exits 1 "--validate with --on-error fail" "$W" cat --validate --on-error fail "$T/nasty.jsonl"

# a 64 MB line among small ones
$PY "$TESTS_DIR/mkdata.py" huge "$T/huge.jsonl" 64
zstd -q -1 "$T/huge.jsonl" -o "$T/huge.jsonl.zst"
eq "64 MB line read whole" "$("$W" cat "$T/huge.jsonl.zst" | cmp - "$T/huge.jsonl" && echo same)" "same"
exits 0 "--max-line smaller than a line: skipped and reported" "$W" cat --max-line 1M "$T/huge.jsonl.zst" -o "$T/cut.jsonl"
err_has "--max-line message names the line" "huge.jsonl.zst:2: line longer than 1048576 bytes"
eq "--max-line keeps the lines around it" "$(cut -c1-20 "$T/cut.jsonl")" "$(printf '{"id":"small-1","tex\n{"id":"small-2","tex')"

# truncated and corrupt compressed input
head -c 20000 "$T/a.jsonl.zst" >"$T/trunc.zst"
exits 1 "truncated zstd is exit 1" "$W" cat "$T/trunc.zst" -o "$T/trunc.out"
err_has "truncated zstd message" "trunc.zst: truncated zstd stream after [0-9]* complete lines"
n=$(sed -n 's/.*after \([0-9]*\) complete lines.*/\1/p' "$T/.err")
ok "truncated: the complete lines before the cut are all correct" cmp "$T/trunc.out" <(head -n "$n" "$T/a.jsonl")
head -c 20000 "$T/a.jsonl.gz" >"$T/trunc.gz"
exits 1 "truncated gzip is exit 1" "$W" cat "$T/trunc.gz"
err_has "truncated gzip message" "truncated gzip stream after"
cp "$T/a.jsonl.zst" "$T/corrupt.zst"
printf 'XXXXXXXXXXXXXXXX' | dd of="$T/corrupt.zst" bs=1 seek=5000 conv=notrunc 2>/dev/null
exits 1 "corrupt zstd is exit 1" "$W" cat "$T/corrupt.zst" -o "$T/c.out"
err_has "corrupt zstd message" "corrupt.zst: .*zstd"
exits 1 "missing file is exit 1" "$W" cat "$T/nope.jsonl"
err_has "missing file message" "nope.jsonl: No such file"
exits 1 "a failed input still lets the others through" "$W" cat "$T/nope.jsonl" "$T/b.jsonl" -o "$T/partial.jsonl"
ok "... and they are written" cmp "$T/partial.jsonl" "$T/b.jsonl"

# --- outputs: -O, --skip-existing, atomic writes, write errors, pipes
mkdir "$T/od"
"$W" cat -O "$T/od" "$T/a.jsonl.zst" "$T/b.jsonl"
ok "-O writes one output per input, by base name" cmp <(zstd -dc "$T/od/a.jsonl.zst") "$T/a.jsonl"
ok "-O keeps plain for a plain name" cmp "$T/od/b.jsonl" "$T/b.jsonl"
echo '{"text":"sentinel"}' >"$T/od/b.jsonl"
"$W" cat -O "$T/od" --skip-existing --stats "$T/skip.db" "$T/a.jsonl.zst" "$T/b.jsonl" 2>/dev/null
eq "--skip-existing leaves existing outputs alone" "$(cat "$T/od/b.jsonl")" '{"text":"sentinel"}'
eq "--skip-existing records skipped inputs" "$(q "$T/skip.db" "select status from inputs order by input")" "$(printf 'skipped\nskipped')"
mkdir "$T/od2"
exits 1 "-O with a truncated input fails" "$W" cat -O "$T/od2" "$T/trunc.zst" "$T/b.jsonl"
ok "-O: no output under the final name for the failed input" test ! -e "$T/od2/trunc.zst"
ok "-O: the good input's output exists" cmp "$T/od2/b.jsonl" "$T/b.jsonl"
ok "-O: no temporaries left" test -z "$(ls -A "$T/od2" | grep tmp)"
exits 2 "-o and -O together are a usage error" "$W" cat -o x -O "$T/od" "$T/b.jsonl"
exits 0 "-O to a missing directory creates it" "$W" cat -O "$T/nodir/sub" "$T/b.jsonl"
ok "... with the output in it" cmp "$T/nodir/sub/b.jsonl" "$T/b.jsonl"
exits 1 "-O to a file is an error" "$W" cat -O "$T/b.jsonl" "$T/b.jsonl"
err_has "... naming it" "b.jsonl: not a directory"

# an interrupted run leaves no file under the final name
mkfifo "$T/fifo"
( "$W" cat "$T/fifo" -o "$T/int.jsonl.zst" ) &
pid=$!
exec 7>"$T/fifo"
head -c 100000 "$T/a.jsonl" >&7
sleep 0.5
ok "while running, a temporary exists beside the target" bash -c "ls -A '$T' | grep -q '^\.int\.jsonl\.zst\.tmp\.'"
ok "while running, the final name does not" test ! -e "$T/int.jsonl.zst"
kill -TERM $pid; wait $pid 2>/dev/null
exec 7>&-
ok "after SIGTERM, no final file" test ! -e "$T/int.jsonl.zst"
ok "after SIGTERM, no temporary" bash -c "! ls -A '$T' | grep -q '^\.int\.jsonl\.zst\.tmp'"

exits 1 "full disk (/dev/full) is exit 1" "$W" cat "$T/a.jsonl"  -o /dev/full
err_has "full disk message" "No space left on device"
"$W" cat "$T/a.jsonl" >/dev/full 2>"$T/full.err"
eq "stdout to /dev/full is exit 1" "$?" "1"
ok "stdout to /dev/full says so" grep -q "No space left" "$T/full.err"
"$W" cat "$T/a.jsonl.zst" "$T/a.jsonl.zst" 2>"$T/head.err" | head -1 >/dev/null
eq "| head ends quietly" "$(cat "$T/head.err")" ""

# --- usage errors are exit 2
exits 2 "unknown option" "$W" cat --frobnicate
exits 2 "bad --shard" "$W" cat --shard 3/3 "$T/a.jsonl"
exits 2 "bad --on-error" "$W" cat --on-error maybe "$T/a.jsonl"
exits 2 "bad --sample" "$W" cat --sample 1.5 "$T/a.jsonl"
exits 2 "unknown command" "$W" frobnicate
exits 0 "--version" "$W" --version
exits 0 "help cat" "$W" help cat

# --- progress and quiet
( head -n 1500 "$T/a.jsonl"; sleep 0.6; tail -n 1500 "$T/a.jsonl" ) | "$W" cat --progress >/dev/null 2>"$T/p.err"
ok "--progress draws a status line in a pipe" grep -q "cat: [0-9]* docs, .* MB/s" "$T/p.err"
( head -n 1500 "$T/a.jsonl"; sleep 0.6; tail -n 1500 "$T/a.jsonl" ) | "$W" cat >/dev/null 2>"$T/np.err"
eq "no progress in a pipe by default" "$(cat "$T/np.err")" ""
"$W" cat --quiet "$T/nasty.jsonl" >/dev/null 2>"$T/q.err"
eq "--quiet silences bad-line warnings" "$(cat "$T/q.err")" ""

# --- details
"$W" cat --max-line 1M --rejects "$T/tl.jsonl" --stats "$T/tl.db" "$T/huge.jsonl.zst" >/dev/null 2>&1
eq "a too-long line is counted at its real size" "$(q "$T/tl.db" "select bytes from drops where reason='line_too_long'")" \
	"$(sed -n 2p "$T/huge.jsonl" | wc -c)"
eq "... and its reject records the size" "$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["bytes"])' "$T/tl.jsonl")" \
	"$(sed -n 2p "$T/huge.jsonl" | wc -c)"
mkdir -p "$T/x1" "$T/x2" "$T/od3"
cp "$T/b.jsonl" "$T/x1/same.jsonl"; cp "$T/b.jsonl" "$T/x2/same.jsonl"
exits 2 "-O refuses two inputs with one base name" "$W" cat -O "$T/od3" "$T/x1/same.jsonl" "$T/x2/same.jsonl"
err_has "... naming both" "x1/same.jsonl and .*x2/same.jsonl would both write"
eq "--count with --sample counts the sample" "$("$W" cat --count --sample 0.3 --seed 7 "$T/a.jsonl" | awk 'NR==2{print $1, $3}')" \
	"$("$W" cat --sample 0.3 --seed 7 "$T/a.jsonl" | wc -lc | awk '{print $1, $2}')"
echo '{"domain":"x","text":"t","domain":5}' | "$W" cat --stats "$T/dup.db" >/dev/null
eq "a repeated key: the last one wins" "$(q "$T/dup.db" "select key from counts where kind='domain'")" "(none)"
