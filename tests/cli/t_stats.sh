#!/usr/bin/env bash
# t_stats.sh - the SQLite run record: schema, funnel, concurrency, merge.
. "$TESTS_DIR/lib.sh"

$PY "$TESTS_DIR/mkdata.py" good "$T/a.jsonl" 2000
$PY "$TESTS_DIR/mkdata.py" nasty "$T/n.jsonl"
for i in 0 1 2 3 4 5 6 7; do head -n $((100 * (i + 1))) "$T/a.jsonl" >"$T/in$i.jsonl"; done

"$W" cat --stats "$T/s.db" --sample 0.5 --seed 1 "$T/a.jsonl" "$T/n.jsonl" >"$T/out.jsonl"
eq "schema version recorded" "$(q "$T/s.db" "select value from meta where key='schema_version'")" "1"
eq "one run, status ok, exit 0" "$(q "$T/s.db" 'select tool, status, exit_code, ended >= started from runs')" "cat|ok|0|1"
ok "args recorded as a JSON array" test "$(q "$T/s.db" "select json_extract(args, '\$[1]') from runs")" = "--stats"
eq "one row per input" "$(q "$T/s.db" 'select count(*) from inputs')" "2"
eq "docs_in = docs_out + docs_dropped for every input" "$(q "$T/s.db" 'select count(*) from inputs where docs_in <> docs_out + docs_dropped')" "0"
eq "drops add up to docs_dropped" "$(q "$T/s.db" 'select sum(docs_dropped) = (select sum(docs) from drops) from inputs')" "1"
eq "docs_out matches the output" "$(q "$T/s.db" 'select sum(docs_out) from inputs')" "$(wc -l <"$T/out.jsonl")"
eq "bytes_out matches the output" "$(q "$T/s.db" 'select sum(bytes_out) from inputs')" "$(stat -c%s "$T/out.jsonl")"
eq "sampled-out docs have their reason" "$(q "$T/s.db" "select count(*) > 0 from drops where reason='cat:sample'")" "1"
eq "per-domain counts add up" "$(q "$T/s.db" "select sum(docs_in) from counts where kind='domain'")" "$(q "$T/s.db" 'select sum(docs_in) from inputs')"
ok "funnel view" test -n "$(q "$T/s.db" 'select * from funnel')"
"$W" stats "$T/s.db" >"$T/summary.txt"
ok "summary: runs section" grep -q "^runs" "$T/summary.txt"
ok "summary: funnel names the tool" grep -q "^  cat " "$T/summary.txt"
ok "summary: reasons" grep -q "cat:sample" "$T/summary.txt"
ok "summary: domains" grep -q "books" "$T/summary.txt"
exits 1 "stats of a missing database" "$W" stats "$T/none.db"
exits 2 "stats without a database" "$W" stats

# a failing run is recorded as failed
"$W" cat --stats "$T/f.db" "$T/missing.jsonl" 2>/dev/null
eq "failed run recorded" "$(q "$T/f.db" 'select status, exit_code from runs')" "failed|1"
eq "failed input recorded with its error" "$(q "$T/f.db" "select status, error like '%No such file%' from inputs")" "error|1"

# eight processes writing one database at once lose nothing
pids=()
for i in 0 1 2 3 4 5 6 7; do
	for j in 1 2 3; do "$W" cat --count --stats "$T/c.db" "$T/in$i.jsonl" "$T/a.jsonl" >/dev/null || echo "writer $i failed"; done &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
eq "8 concurrent writers: all 24 runs recorded ok" "$(q "$T/c.db" "select count(*), sum(status='ok') from runs")" "24|24"
eq "8 concurrent writers: all 48 input rows" "$(q "$T/c.db" 'select count(*) from inputs')" "48"
eq "8 concurrent writers: every document counted" "$(q "$T/c.db" 'select sum(docs_in) from inputs')" "$(( 3 * (100+200+300+400+500+600+700+800) + 24 * 2000 ))"

# merge per-task databases
for i in 0 1 2; do "$W" cat --count --stats "$T/task$i.db" "$T/in$i.jsonl" >/dev/null; done
"$W" stats merge "$T/all.db" "$T/task0.db" "$T/task1.db" "$T/task2.db" 2>/dev/null
eq "merge: all runs" "$(q "$T/all.db" 'select count(*) from runs')" "3"
eq "merge: inputs follow their runs" "$(q "$T/all.db" 'select group_concat(i.docs_in) from inputs i join runs r using(run_id) order by r.run_id')" "100,200,300"
"$W" stats merge "$T/all.db" "$T/task0.db" "$T/task1.db" 2>/dev/null
eq "merge again: no duplicates" "$(q "$T/all.db" 'select count(*), (select count(*) from inputs), (select count(*) from counts) from runs')" "3|3|$(q "$T/all.db" 'select count(*) from counts')"
q "$T/task0.db" "create table extra(run_id integer, v text); insert into extra select run_id, 'x' from runs;"
"$W" stats merge "$T/all2.db" "$T/task0.db" "$T/s.db" 2>/dev/null
eq "merge copies module tables keyed by run_id" "$(q "$T/all2.db" 'select count(*) from extra')" "1"
echo "not a db" >"$T/bad.db"
exits 1 "merge of a non-database fails" "$W" stats merge "$T/all3.db" "$T/bad.db"

# summaries never write; foreign databases are refused
q "$T/foreign.db" "create table t(x); insert into t values(1);"
sum1=$(md5sum <"$T/foreign.db")
exits 1 "stats of a foreign SQLite file is refused" "$W" stats "$T/foreign.db"
err_has "... as not a winnow stats database" "not a winnow stats database"
eq "... and the file is left unchanged" "$(md5sum <"$T/foreign.db")" "$sum1"
exits 1 "merge of a foreign SQLite file is refused" "$W" stats merge "$T/m.db" "$T/foreign.db"
# a run ended by a closed pipe is recorded as such
"$W" cat --stats "$T/pipe.db" "$T/a.jsonl" "$T/a.jsonl" "$T/a.jsonl" 2>/dev/null | head -1 >/dev/null
eq "a run ended by | head is recorded as closed (exit 141)" "$(q "$T/pipe.db" 'select status, exit_code from runs')" "closed|141"
