#!/usr/bin/env bash
# run.sh - run the end-to-end tests: every tests/cli/t_*.sh against the
# binary in $WINNOW (default ./winnow).  Each test file sources lib.sh and
# counts its checks; the last line is "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
export WINNOW=${WINNOW:-$here/../../winnow}
export TESTS_DIR=$here
pass=0 fail=0
results=$(mktemp)
for t in "$here"/t_*.sh; do
	[ -n "${ONLY:-}" ] && [[ $t != *"$ONLY"* ]] && continue
	name=$(basename "$t" .sh)
	echo "== $name"
	RESULTS=$results bash "$t"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
		echo "not ok - $name: exited $rc"
		echo F >>"$results"
	fi
done
pass=$(grep -c '^P' "$results")
fail=$(grep -c '^F' "$results")
skip=$(grep -c '^S' "$results")
rm -f "$results"
echo
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
