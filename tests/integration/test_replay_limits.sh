#!/bin/bash
# test_replay_limits.sh - replay at the limits of its servers (issue 11 item 8), against real memcached:
#  - a server too small for the data evicts while the replay writes: a warning names it with the
#    number of items it evicted (what its `stats` says), and the exit status is 1;
#  - a server lost mid-replay: every live item is counted exactly once (replayed, already present,
#    failed, or "not sent" for those the walk reached after the loss), keys the server reported
#    present count as present even when no confirmation followed;
#  - in a pool of two, losing one server does not stop the replay into the other.
# --rate slows the runs so that a kill lands mid-replay; the assertions do not depend on timing.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

stat() {
	mc_cmd "$1" 'stats\r\nquit\r\n' | tr -d '\r' | awk -v k="$2" '$1 == "STAT" && $2 == k { print $3 }'
}

# counts ERRFILE: "REPLAYED PRESENT EXPIRED FAILED UNSENT" from the summary line.
counts() {
	sed -n 's/^mcmirror: replay: replayed \([0-9]*\), already present \([0-9]*\), skipped expired \([0-9]*\), failed \([0-9]*\) in [0-9.]* s ([0-9]* items\/s)\(; not sent \([0-9]*\)\)\{0,1\}$/\1 \2 \3 \4 \6/p' "$1"
}

# A server of 8 MB and 50 MB of values.
mc_start SMALL -m 8
"$MCM_BIN/mkmirror" "$MCM_TMP/big" "127.0.0.1:$SMALL_PORT" 50000 1000 || fail mkmirror
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/big" replay --servers "127.0.0.1:$SMALL_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "too small a server: exit status ($(cat "$MCM_TMP/err"))"
evicted=$(stat "$SMALL_PORT" evictions)
[ "$evicted" -gt 0 ] || fail "the server evicted nothing: the test needs a smaller server"
grep -qF "mcmirror: replay: warning: '127.0.0.1:$SMALL_PORT' evicted $evicted items during the replay: it is too small for the data (memory limit 8 MB, 47 MB of values sent to it)" \
	"$MCM_TMP/err" || fail "too small a server: no warning with $evicted evictions: $(cat "$MCM_TMP/err")"
assert_eq "$(counts "$MCM_TMP/err")" "50000 0 0 0 " "too small a server: summary"
# the same data into a server large enough: no warning, status 0
mc_start LARGE -m 256
"$MCM_BIN/mkmirror" "$MCM_TMP/big2" "127.0.0.1:$LARGE_PORT" 50000 1000 || fail mkmirror
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/big2" replay --servers "127.0.0.1:$LARGE_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "large enough a server: exit status ($(cat "$MCM_TMP/err"))"
! grep -q evicted "$MCM_TMP/err" || fail "large enough a server: $(cat "$MCM_TMP/err")"

# A server killed mid-replay; its first 100 keys were already there (add mode keeps them).
M=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$M" 127.0.0.1:11211 50000 100 || fail mkmirror
mc_start A
req=""
for i in $(seq 0 99); do
	req+=$(printf 'ms key:%08d 2 q\\r\\nhi\\r\\n' "$i")
done
mc_cmd "$A_PORT" "${req}mn\r\nquit\r\n" >/dev/null
assert_eq "$(stat "$A_PORT" curr_items)" 100 "pre-written keys"
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$A_PORT" --rate 2000 2>"$MCM_TMP/err" &
pid=$!
sleep 1
mc_kill A
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 1 "server killed: exit status ($(cat "$MCM_TMP/err"))"
read -r replayed present expired failed unsent <<<"$(counts "$MCM_TMP/err")"
[ -n "$unsent" ] || fail "server killed: no 'not sent' count: $(cat "$MCM_TMP/err")"
assert_eq "$present" 100 "server killed: keys reported present ($(cat "$MCM_TMP/err"))"
assert_eq "$((replayed + present + failed + unsent))" 50000 "server killed: every item counted once ($(cat "$MCM_TMP/err"))"
[ "$unsent" -gt 0 ] || fail "server killed: nothing left unsent: $(cat "$MCM_TMP/err")"

# A pool of two; one is killed mid-replay, the other gets every one of its items.
mc_start P
mc_start Q
POOL="127.0.0.1:$P_PORT,127.0.0.1:$Q_PORT"
"$MCM_BIN/mkmirror" "$MCM_TMP/pool" "$POOL" 20000 100 || fail mkmirror
"$MCM_TOOL" --mirror "$MCM_TMP/pool" replay --servers "$POOL" --dry-run 2>"$MCM_TMP/dry" || fail "dry run: $(cat "$MCM_TMP/dry")"
for_q=$(sed -n "s/^mcmirror: replay: dry run: would send \([0-9]*\) items to '127.0.0.1:$Q_PORT'$/\1/p" "$MCM_TMP/dry")
[ -n "$for_q" ] && [ "$for_q" -gt 0 ] && [ "$for_q" -lt 20000 ] || fail "dry run: $(cat "$MCM_TMP/dry")"
"$MCM_TOOL" --mirror "$MCM_TMP/pool" replay --servers "$POOL" --rate 8000 2>"$MCM_TMP/err" &
pid=$!
sleep 1
mc_kill P
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 1 "one of two killed: exit status ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: replay: lost '127.0.0.1:$P_PORT': " "$MCM_TMP/err" || fail "one of two killed: $(cat "$MCM_TMP/err")"
assert_eq "$(stat "$Q_PORT" curr_items)" "$for_q" "one of two killed: items on the other server"
read -r replayed present expired failed unsent <<<"$(counts "$MCM_TMP/err")"
[ -n "$unsent" ] && [ "$unsent" -gt 0 ] || fail "one of two killed: no 'not sent' count: $(cat "$MCM_TMP/err")"
assert_eq "$((replayed + present + failed + unsent))" 20000 "one of two killed: every item counted once ($(cat "$MCM_TMP/err"))"
[ "$replayed" -ge "$for_q" ] || fail "one of two killed: replayed $replayed < $for_q sent to the other"
echo PASS
