# lib.sh - helpers for the end-to-end tests (sourced by t_*.sh).
#
#   ok NAME COMMAND...           passes when COMMAND exits 0
#   exits CODE NAME COMMAND...   passes when COMMAND exits CODE
#   eq NAME GOT WANT             passes when the two strings are equal
#   skip NAME WHY                counts a skipped check, loudly
# Each test gets a fresh $T directory, removed at exit.
set -u
W=${WINNOW:?WINNOW not set}
T=$(mktemp -d /tmp/winnow-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
PY=${PYTHON:-python3}

_res() { echo "$1" >>"${RESULTS:-/dev/null}"; }

ok() {
	local name=$1; shift
	if "$@" >"$T/.out" 2>"$T/.err"; then
		echo "ok - $name"; _res P
	else
		echo "not ok - $name (exit $?)"; sed 's/^/#   /' "$T/.err" | head -20; _res F
	fi
}

exits() {
	local want=$1 name=$2; shift 2
	"$@" >"$T/.out" 2>"$T/.err"
	local got=$?
	if [ "$got" -eq "$want" ]; then
		echo "ok - $name"; _res P
	else
		echo "not ok - $name (exit $got, want $want)"; sed 's/^/#   /' "$T/.err" | head -20; _res F
	fi
}

eq() {
	if [ "$2" == "$3" ]; then
		echo "ok - $1"; _res P
	else
		echo "not ok - $1"
		echo "#   got:  $(printf '%s' "$2" | head -c 600)"
		echo "#   want: $(printf '%s' "$3" | head -c 600)"
		_res F
	fi
}

skip() { echo "SKIP - $1: $2"; _res S; }

# grep the last command's stderr
err_has() {
	if grep -q -- "$2" "$T/.err"; then echo "ok - $1"; _res P
	else echo "not ok - $1: stderr lacks '$2'"; sed 's/^/#   /' "$T/.err" | head -20; _res F; fi
}

# a free TCP port on 127.0.0.1
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# sqlite3 query on a stats database
q() { sqlite3 "$1" "$2"; }
