#!/bin/bash
# test_memcslap.sh - libmemcached's load generator memcslap (Debian's libmemcached-tools), unmodified,
# under the shim: the mirror holds what memcslap left on the server, and replay restores it.
#
# memcslap picks its own keys (random, 4 KiB-bounded values) and clones one memcached_st per thread.
# 1. --test=set --concurrency=1 --binary: the mirror's live records equal the server's items in
#    number and `mcmirror verify` finds every one with its value: the mirror holds every key.
# 2. --test=set --concurrency=4 --binary: memcslap 1.1.4 gives every thread the same generated keys
#    (measured: N items on the server after 4 x N sets), so threads write one key at the same time;
#    such overlapping writes drop the key by design (a miss after warm-up, never an older value).
#    Every record the mirror keeps must match the server, and live + dropped records can never
#    exceed the server's items; how many were dropped is printed.
# Both servers are then killed (-9), started empty, replayed; each must hold exactly the mirror's
# live items again, and verify must pass. memcslap's stdout (timings masked) and exit code are the
# same without the shim. (memcaslap cannot be intercepted at all: it talks to memcached through its
# own libevent sockets and uses libmemcached only to parse the server list.)
. "$MCM_HARNESS/lib.sh"
SLAP=/usr/bin/memcslap
[ -x "$SLAP" ] || skip "no $SLAP (Debian package libmemcached-tools)"
N=2000

# slap PORT CONCURRENCY: memcslap's set test against 127.0.0.1:PORT
slap() {
	"$SLAP" --servers="127.0.0.1:$1" --test=set --concurrency="$2" --execute-number=$N --binary
}

# masked: memcslap's output without its timings
masked() {
	sed -E 's/[0-9]+\.[0-9]+ seconds/T seconds/'
}

# items PORT: how many items the server holds
items() {
	mc_cmd "$1" "stats\r\nquit\r\n" | tr -d '\r' | awk '$2 == "curr_items" { print $3 }'
}

# mstat MIRROR NAME: a total.NAME figure of `mcmirror stats`
mstat() {
	"$MCM_TOOL" --mirror "$1" stats | awk -v n="total.$2:" '$1 == n { print $2 }'
}

# verify MIRROR PORT WHEN
verify() {
	"$MCM_TOOL" --mirror "$1" verify --servers "127.0.0.1:$2" 2>"$MCM_TMP/verify.err" ||
		fail "verify $3: $(cat "$MCM_TMP/verify.err")"
}

# Output and exit code with and without the shim.
mc_start P
rc=0
slap "$P_PORT" 4 | masked >"$MCM_TMP/plain.out" || rc=$?
mc_start A
mc_start B
rc_shim=0
under_shim "$MCM_TMP/mB" slap "$B_PORT" 4 | masked >"$MCM_TMP/shim.out" || rc_shim=$?
assert_eq "$rc_shim" "$rc" "memcslap's exit code under the shim"
cmp -s "$MCM_TMP/plain.out" "$MCM_TMP/shim.out" ||
	fail "memcslap's output differs under the shim: $(diff "$MCM_TMP/plain.out" "$MCM_TMP/shim.out")"
grep -q "by    4 threads" "$MCM_TMP/shim.out" || fail "memcslap did not report its 4 threads: $(cat "$MCM_TMP/shim.out")"
under_shim "$MCM_TMP/mA" slap "$A_PORT" 1 >/dev/null || fail "memcslap failed under the shim"

# 1. one thread: the mirror holds every key memcslap set.
server_a=$(items "$A_PORT")
[ "$server_a" -gt $((N * 9 / 10)) ] || fail "memcslap left only $server_a items of $N"
assert_eq "$(mstat "$MCM_TMP/mA" live_items)" "$server_a" "live records in the mirror (one thread) vs the server's items"
verify "$MCM_TMP/mA" "$A_PORT" "(one thread)"

# 2. four threads on the same keys: what the mirror keeps is right; overlaps are dropped.
server_b=$(items "$B_PORT")
live_b=$(mstat "$MCM_TMP/mB" live_items)
dropped_b=$(mstat "$MCM_TMP/mB" dropped)
[ "$((live_b + dropped_b))" -le "$server_b" ] ||
	fail "the mirror holds more keys ($live_b live, $dropped_b dropped) than memcslap set ($server_b)"
verify "$MCM_TMP/mB" "$B_PORT" "(four threads)"
echo "four threads: $server_b keys on the server, $live_b in the mirror; $((server_b - live_b)) written by two threads at once, dropped" >&2

# The crash, and the warm-up.
for s in A B; do
	mc_kill $s
	mc_start $s
	port=$(eval "echo \$${s}_PORT")
	assert_eq "$(items "$port")" 0 "items on the restarted server $s"
	"$MCM_TOOL" --mirror "$MCM_TMP/m$s" replay --servers "127.0.0.1:$port" 2>"$MCM_TMP/replay.err" ||
		fail "replay to $s failed: $(cat "$MCM_TMP/replay.err")"
	assert_eq "$(items "$port")" "$(mstat "$MCM_TMP/m$s" live_items)" "items on $s after the replay"
	verify "$MCM_TMP/m$s" "$port" "after the replay to $s"
done
assert_eq "$(items "$A_PORT")" "$server_a" "items after the replay (one thread) vs before the crash"
echo "PASS"
