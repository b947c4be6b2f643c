#!/bin/bash
# test_replay_usage.sh - replay's and verify's command lines: --help, usage errors (exit 2), a missing
# mirror (exit 1), and the choice of pool: the only one, the one whose servers match, --pool, and a clear
# error listing the pools when the choice is ambiguous. Pool choices are checked with --dry-run counts.
. "$MCM_HARNESS/lib.sh" || exit 1

# usage_error ARGS...: the command must exit 2 with a message and the --help hint on stderr, nothing on stdout.
usage_error() {
	local rc=0
	"$MCM_TOOL" --mirror "$MCM_TMP/m" "$@" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "exit status of: $*"
	grep -q "^mcmirror: $1: " "$MCM_TMP/err" || fail "no message for: $* ($(cat "$MCM_TMP/err"))"
	grep -q "^try 'mcmirror $1 --help'" "$MCM_TMP/err" || fail "no --help hint for: $*"
	[ ! -s "$MCM_TMP/out" ] || fail "stdout not empty for: $*"
}

"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 120 10 || fail "mkmirror"

for cmd in replay verify; do
	"$MCM_TOOL" "$cmd" --help >"$MCM_TMP/help" || fail "$cmd --help exit status"
	grep -q "^usage: mcmirror .*$cmd --servers SERVERS" "$MCM_TMP/help" || fail "$cmd --help: no usage line"
	grep -q "default: 5" "$MCM_TMP/help" || fail "$cmd --help does not show the timeout default"
	grep -q "exit status" "$MCM_TMP/help" || fail "$cmd --help does not document exit statuses"
	usage_error "$cmd"
	usage_error "$cmd" --servers 127.0.0.1:11211 extra
	usage_error "$cmd" --servers 127.0.0.1:11211 --bogus
	usage_error "$cmd" --servers 127.0.0.1:xyz
	usage_error "$cmd" --servers '127.0.0.1:11211,,127.0.0.1:11212'
	usage_error "$cmd" --servers '--SERVER=127.0.0.1:11211 --DISTRIBUTION=sideways'
	usage_error "$cmd" --servers 127.0.0.1:11211 --pool xyz
	usage_error "$cmd" --servers 127.0.0.1:11211 --timeout 0
	usage_error "$cmd" --servers 127.0.0.1:11211 --only-server 127.0.0.1:11299
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/none" "$cmd" --servers 127.0.0.1:11211 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "$cmd with a missing mirror: exit status"
	grep -q "'$MCM_TMP/none'" "$MCM_TMP/err" || fail "$cmd with a missing mirror: path not named"
done
usage_error replay --servers 127.0.0.1:11211 --mode overwrite
usage_error replay --servers 127.0.0.1:11211 --rate 0
usage_error replay --servers 127.0.0.1:11211 --rate fast
usage_error verify --servers 127.0.0.1:11211 --sample 0
"$MCM_TOOL" --mirror "$MCM_TMP/m" replay --servers '--SERVER=127.0.0.1:11211 --DISTRIBUTION=sideways' 2>"$MCM_TMP/err" || true
grep -q "^mcmirror: replay: bad configuration string '--SERVER=127.0.0.1:11211 --DISTRIBUTION=sideways': " "$MCM_TMP/err" ||
	fail "bad configuration string: message: $(cat "$MCM_TMP/err")"

# dry COUNT ARGS...: a dry run must say it would replay COUNT items.
dry() {
	local want=$1 rc=0
	shift
	"$MCM_TOOL" --mirror "$MCM_TMP/m" replay --dry-run "$@" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 0 "dry run $* ($(cat "$MCM_TMP/err"))"
	grep -q "^mcmirror: replay: dry run: would replay $want, " "$MCM_TMP/err" || fail "dry run $*: $(cat "$MCM_TMP/err")"
}

# One pool: used whatever the servers are called.
dry 120 --servers 127.0.0.1:22222
# Two pools: the one whose servers match, or --pool; otherwise an error naming both.
"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11212 30 10 || fail "mkmirror (second pool)"
dry 120 --servers 127.0.0.1:11211
dry 30 --servers 127.0.0.1:11212
"$MCM_TOOL" --mirror "$MCM_TMP/m" stats >"$MCM_TMP/stats" || fail stats
id2=$(grep -o '^pool\.[0-9a-f]*\.servers: 127.0.0.1:11212$' "$MCM_TMP/stats" | cut -d. -f2)
id1=$(grep -o '^pool\.[0-9a-f]*\.servers: 127.0.0.1:11211$' "$MCM_TMP/stats" | cut -d. -f2)
dry 30 --servers 127.0.0.1:5555 --pool "$id2"
dry 120 --servers 127.0.0.1:11212 --pool "$id1"
usage_error replay --servers 127.0.0.1:5555 --dry-run
grep -q "^mcmirror: replay: the mirror holds 2 pools and none has the servers '127.0.0.1:5555': choose one with --pool ID:" \
	"$MCM_TMP/err" || fail "ambiguous pool: message: $(cat "$MCM_TMP/err")"
grep -q "pool $id1: servers '127.0.0.1:11211'" "$MCM_TMP/err" || fail "ambiguous pool: first pool not listed"
grep -q "pool $id2: servers '127.0.0.1:11212'" "$MCM_TMP/err" || fail "ambiguous pool: second pool not listed"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m" replay --dry-run --servers 127.0.0.1:11211 --pool 1234 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "unknown --pool: exit status"
grep -q "^mcmirror: replay: no pool '0000000000001234' in the mirror" "$MCM_TMP/err" || fail "unknown --pool: $(cat "$MCM_TMP/err")"
# --only-server in a dry run counts that server's keys; the two servers' counts add up.
one=$("$MCM_TOOL" --mirror "$MCM_TMP/m" replay --dry-run --servers 127.0.0.1:11211,127.0.0.1:11213 --pool "$id1" \
	--only-server 127.0.0.1:11211 2>&1 | sed -n 's/.*would replay \([0-9]*\),.*/\1/p')
two=$("$MCM_TOOL" --mirror "$MCM_TMP/m" replay --dry-run --servers 127.0.0.1:11211,127.0.0.1:11213 --pool "$id1" \
	--only-server 127.0.0.1:11213 2>&1 | sed -n 's/.*would replay \([0-9]*\),.*/\1/p')
[ -n "$one" ] && [ -n "$two" ] && [ "$one" -gt 0 ] && [ "$two" -gt 0 ] || fail "--only-server dry runs: '$one' '$two'"
assert_eq "$((one + two))" 120 "--only-server dry runs add up"
echo PASS
