#!/usr/bin/env bash
# t_help_man.sh - each command's --help and man page list the same options.
. "$TESTS_DIR/lib.sh"
man=$TESTS_DIR/../../man
for cmd in $("$W" --help | awk '/^Commands:/{f=1;next} f&&/^  [a-z]/{print $1}'); do
	page=$man/winnow-$cmd.1
	if [ ! -f "$page" ]; then
		eq "man page for $cmd exists" "missing" "$page"
		continue
	fi
	h=$("$W" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
	m=$(sed 's/\\-/-/g' "$page" | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
	eq "$cmd: --help and man/winnow-$cmd.1 list the same options" "$m" "$h"
	ok "$cmd: man page renders without warnings" bash -c "! man --warnings -l '$page' 2>&1 >/dev/null | grep -q ."
done
for page in winnow.1 winnow-stats.5 winnow-formats.5 winnow-dedup.5; do
	ok "$page exists and renders" bash -c "test -f '$man/$page' && ! man --warnings -l '$man/$page' 2>&1 >/dev/null | grep -q ."
done

# make install puts the binary and every man page under PREFIX
root=$TESTS_DIR/../..
make -s -C "$root" install PREFIX="$T/inst" >/dev/null 2>&1
ok "make install: the binary runs" "$T/inst/bin/winnow" --version
eq "make install: every man page" "$(ls "$T/inst/share/man/man1" "$T/inst/share/man/man5" | grep -c '\.[15]$')" "$(ls "$root"/man/*.[15] | wc -l)"
