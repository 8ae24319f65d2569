#!/usr/bin/env bash
# t_http.sh - reading shards over http from a server on 127.0.0.1.
. "$TESTS_DIR/lib.sh"

$PY "$TESTS_DIR/mkdata.py" good "$T/a.jsonl" 20000
zstd -q -3 "$T/a.jsonl" -o "$T/a.jsonl.zst"
gzip -c "$T/a.jsonl" >"$T/a.jsonl.gz"
port=$(free_port)
$PY "$TESTS_DIR/httpd.py" "$T" "$port" 2>"$T/httpd.err" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/files/a.jsonl" && break
	sleep 0.1
done
U="http://127.0.0.1:$port"

ok "zstd shard over http equals the file" cmp <("$W" cat "$U/files/a.jsonl.zst") "$T/a.jsonl"
ok "gzip shard over http" cmp <("$W" cat "$U/files/a.jsonl.gz") "$T/a.jsonl"
ok "plain shard over http" cmp <("$W" cat "$U/files/a.jsonl") "$T/a.jsonl"
mkdir "$T/od"
"$W" cat -O "$T/od" "$U/files/a.jsonl.zst?x=1"
ok "-O names a URL's output by its path" cmp <(zstd -dc "$T/od/a.jsonl.zst") "$T/a.jsonl"

: >"$T/requests.log"
ok "a dropped connection is retried and resumed (Range honoured)" cmp <("$W" cat "$U/flaky-range/a.jsonl.zst") "$T/a.jsonl"
ok "... the retry asked for the rest with Range" grep -q "GET /flaky-range/a.jsonl.zst bytes=[1-9]" "$T/requests.log"
ok "a dropped connection is retried (server ignores Range)" cmp <("$W" cat "$U/flaky/a.jsonl.gz") "$T/a.jsonl"
ok "503 is retried until the file comes" cmp <("$W" cat "$U/busy/a.jsonl") "$T/a.jsonl"
eq "... after exactly two 503s" "$(grep -c 'GET /busy/a.jsonl ' "$T/requests.log")" "3"

exits 1 "404 is exit 1" "$W" cat "$U/missing/a.jsonl"
err_has "404 message names the URL and status" "$U/missing/a.jsonl: http status 404"
eq "404 is not retried" "$(grep -c 'GET /missing/' "$T/requests.log")" "1"
dead=$(free_port)
start=$(date +%s)
exits 1 "refused connection is exit 1" "$W" cat "http://127.0.0.1:$dead/a.jsonl"
err_has "refused connection message" "127.0.0.1:$dead/a.jsonl: .*onnect"
ok "refused connection: bounded retry ends within 15 s" test $(( $(date +%s) - start )) -lt 15
"$W" cat --count --stats "$T/h.db" "$U/files/a.jsonl.zst" >/dev/null
eq "stats record the compressed bytes read over http" \
	"$(q "$T/h.db" 'select raw_bytes_in from inputs')" "$(stat -c%s "$T/a.jsonl.zst")"
# the size from Content-Length gives the progress line an ETA (the flaky
# server's dropped connection and the retry's back-off make the run last)
"$W" cat --progress "$U/flaky-range/a.jsonl" 2>"$T/prog.err" >/dev/null
ok "progress over http shows an ETA from Content-Length" grep -q "eta [0-9]*:[0-9]" "$T/prog.err"
