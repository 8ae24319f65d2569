#!/usr/bin/env bash
# t_shard.sh - --shard I/N and Slurm array variables select inputs.
. "$TESTS_DIR/lib.sh"

for n in 03 01 07 05 02 06 04 00 08 09; do echo "{\"id\":\"$n\",\"text\":\"shard $n\"}" >"$T/s$n.jsonl"; done
ins=$(ls "$T"/s*.jsonl | sort -R)   # shuffled on the command line
ids() { "$W" cat "$@" $ins | sed 's/.*"id":"\([0-9]*\)".*/\1/' | tr '\n' ' '; }
eq "--shard 0/3 takes 0, 3, 6, 9 of the sorted list" "$(ids --shard 0/3)" "00 03 06 09 "
eq "--shard 1/3" "$(ids --shard 1/3)" "01 04 07 "
eq "--shard 2/3" "$(ids --shard 2/3)" "02 05 08 "
all=$(for i in 0 1 2 3; do ids --shard $i/4; done | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
eq "shards 0..3 of 4 cover every input once" "$all" "00 01 02 03 04 05 06 07 08 09 "
eq "Slurm array variables" "$(SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 ids)" "01 04 07 "
eq "Slurm arrays starting at 1 (TASK_MIN)" "$(SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3 ids)" "01 04 07 "
eq "--shard wins over Slurm" "$(SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 ids --shard 2/3)" "02 05 08 "
exits 2 "inconsistent Slurm variables are a usage error" env SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=3 "$W" cat $ins
exits 2 "--shard with stdin is a usage error" "$W" cat --shard 0/2
"$W" cat --shard 1/4 --stats "$T/s.db" $ins >/dev/null
eq "the shard is recorded in stats" "$(q "$T/s.db" 'select shard from runs')" "1/4"
# a job array over -O DIR with --skip-existing resumes
mkdir "$T/out"
for i in 0 1 2; do "$W" cat --shard $i/3 -O "$T/out" $ins; done
eq "job array with -O writes every output" "$(ls "$T/out" | wc -l)" "10"
eq "inside a Slurm array, stdin is read whole" "$(SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 "$W" cat <"$T/s05.jsonl")" "$(cat "$T/s05.jsonl")"
eq "Slurm arrays with a step (1-9:4 is tasks 1, 5, 9)" "$(SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_STEP=4 SLURM_ARRAY_TASK_COUNT=3 ids)" "01 04 07 "
