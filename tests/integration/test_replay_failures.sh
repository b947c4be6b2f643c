#!/bin/bash
# test_replay_failures.sh - what replay does when things go wrong: a server that is not there (clear message,
# exit 1), a server killed with SIGKILL mid-replay (exit 1, the server named, counts so far), SIGINT
# mid-replay (exit 1, the summary so far, and its count is exactly what the server holds), a server that
# stops answering (--timeout), and the progress line on a terminal. --rate slows the runs down so that the
# events land mid-replay; the assertions do not depend on timing.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

stat() {
	mc_cmd "$1" 'stats\r\nquit\r\n' | tr -d '\r' | awk -v k="$2" '$1 == "STAT" && $2 == k { print $3 }'
}

# plain FILE: stderr with the progress line's CRs as newlines and its erase sequences removed.
plain() {
	tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g'
}

# wait_for FILE PATTERN PID: until FILE matches PATTERN (or PID exits).
wait_for() {
	local i
	for i in $(seq 1 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 0
		sleep 0.05
	done
}

M=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$M" 127.0.0.1:11211 100000 100 || fail "mkmirror"

# Nothing listens there.
mc_start GONE
mc_kill GONE
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$GONE_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "unreachable server: exit status"
assert_eq "$(cat "$MCM_TMP/err")" "mcmirror: replay: cannot connect to '127.0.0.1:$GONE_PORT': Connection refused" \
	"unreachable server: message"

# SIGINT mid-replay, progress drawn as on a terminal.
mc_start A -m 256
MCMIRROR_FORCE_TTY=1 "$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$A_PORT" --rate 20000 2>"$MCM_TMP/err" &
pid=$!
wait_for "$MCM_TMP/err" 'items/s, ETA' "$pid"
sleep 0.3
kill -INT "$pid" 2>/dev/null || true
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 1 "SIGINT: exit status ($(plain "$MCM_TMP/err"))"
grep -q 'records, [0-9]* items, [0-9]* items/s, ETA [0-9]*:[0-9][0-9]' "$MCM_TMP/err" || fail "no progress line: $(cat -A "$MCM_TMP/err" | head -5)"
grep -q $'\r' "$MCM_TMP/err" || fail "progress not redrawn with CR"
grep -q '^mcmirror: replay: interrupted by signal 2: the replay is incomplete$' <(plain "$MCM_TMP/err") ||
	fail "SIGINT: no interruption message: $(plain "$MCM_TMP/err")"
n=$(plain "$MCM_TMP/err" | sed -n 's/^mcmirror: replay: replayed \([0-9]*\), already present 0, skipped expired 0, failed 0 in .*/\1/p')
[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -lt 100000 ] || fail "SIGINT: summary: $(plain "$MCM_TMP/err")"
assert_eq "$(stat "$A_PORT" curr_items)" "$n" "SIGINT: items on the server vs the summary"

# SIGKILL of the server mid-replay.
mc_start B -m 256
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$B_PORT" --rate 20000 2>"$MCM_TMP/err" &
pid=$!
sleep 1
mc_kill B
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 1 "server killed: exit status ($(cat "$MCM_TMP/err"))"
grep -Eq "^mcmirror: replay: lost '127.0.0.1:$B_PORT': .* after [0-9]+ items were confirmed; [0-9]+ items sent to it are unconfirmed \(counted as failed\)$" \
	"$MCM_TMP/err" || fail "server killed: message: $(cat "$MCM_TMP/err")"
line=$(grep '^mcmirror: replay: replayed ' "$MCM_TMP/err") || fail "server killed: no summary: $(cat "$MCM_TMP/err")"
replayed=$(echo "$line" | sed 's/.*replayed \([0-9]*\),.*/\1/')
failed=$(echo "$line" | sed 's/.*failed \([0-9]*\) in.*/\1/')
[ "$replayed" -gt 0 ] && [ "$replayed" -lt 100000 ] || fail "server killed: replayed count: $line"
confirmed=$(sed -n 's/.* after \([0-9]*\) items were confirmed.*/\1/p' "$MCM_TMP/err")
assert_eq "$replayed" "$confirmed" "server killed: replayed vs confirmed"
[ $((replayed + failed)) -le 100000 ] || fail "server killed: counts add up to more than the mirror: $line"

# A server that stops answering (SIGSTOP: the kernel still accepts the connection).
mc_start C
kill -STOP "$C_PID"
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$C_PORT" --timeout 1 2>"$MCM_TMP/err" || rc=$?
kill -CONT "$C_PID"
assert_eq "$rc" 1 "stopped server: exit status ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: replay: lost '127.0.0.1:$C_PORT': no progress for 1 s (--timeout)" "$MCM_TMP/err" ||
	fail "stopped server: message: $(cat "$MCM_TMP/err")"
grep -q '^mcmirror: replay: replayed 0, already present 0, skipped expired 0, failed [1-9]' "$MCM_TMP/err" ||
	fail "stopped server: summary: $(cat "$MCM_TMP/err")"
echo PASS
