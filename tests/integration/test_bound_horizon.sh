#!/bin/bash
# test_bound_horizon.sh - followers hold what the drainer's sweep may remove, and one left behind
# the purge horizon is detected (store level: the follower's registration and position as
# `mcmirror follow` saves them; the writes go through the shim, the sweep is the drainer's).
#
# A: follower "standby" registered at position 0: sessions (ttl 2 s) written through the shim
#    expire, more writes make the drainer sweep, and no expired value is removed (the follower
#    has not passed them; MCMIRROR_TOMBSTONE_TTL, at least 300 s, has not passed either); the
#    purge horizon stays at 0: the follower is not behind.
# B: the follower moves past everything: the next writes' sweeps remove the expired values, and
#    it is still not behind (it had passed them).
# C: follower "slow" registered at the newest position; MCMIRROR_MAX_BYTES is set so low that
#    the drainer evicts records "slow" has not passed: the purge horizon rises above its position
#    (it must resynchronise), and above "standby"'s; a follower that passed everything is not.
. "$MCM_HARNESS/lib.sh"
need_memcached
T=$MCM_BIN/bound_tool
M=$MCM_TMP/mirror
S=$MCM_TMP/state
mkdir -p "$S"
mc_start MAIN
mc_start F
main=127.0.0.1:$MAIN_PORT
fpool=127.0.0.1:$F_PORT

# churn SECONDS [CAP]: two processes through the shim, 300 operations a second each.
churn() {
	local p pids=()
	for p in 0 1; do
		BOUND_FLUSH_EVERY=1000000000 MCMIRROR_MAX_BYTES=${2:-} \
			under_shim "$M" "$MCM_BIN/bound_churn" "$main" "$fpool" "$S" "$p" "$1" 3 300 >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "a writer failed"
	done
}
last_seq() { "$T" bytes "$M" | cut -d' ' -f5; }
expired() { "$T" sweep "$M" | cut -d' ' -f3; }

# A
"$T" follower "$M" standby 0 || fail "cannot register a follower"
churn 3
sleep 2 # every session of that run has expired
churn 3
out=$("$T" live "$M") || fail "live"
[ "$(expired)" = 0 ] || fail "A: the sweep removed $(expired) expired values a follower at position 0 had not passed"
rc=0; out=$("$T" behind "$M" standby) || rc=$?
[ "$rc" = 1 ] || fail "A: standby reported behind: $out"
echo "A: $out, expired kept" >&2

# B
"$T" follower "$M" standby "$(last_seq)"
sleep 2
churn 3
[ "$(expired)" -gt 0 ] || fail "B: no expired value removed once the follower had passed them"
rc=0; out=$("$T" behind "$M" standby) || rc=$?
[ "$rc" = 1 ] || fail "B: standby reported behind: $out"
echo "B: $out, expired removed $(expired)" >&2

# C
"$T" follower "$M" slow "$(last_seq)"
"$T" follower "$M" caught 9000000000000000000
bytes=$("$T" bytes "$M" | cut -d' ' -f1)
churn 3 $((bytes / 2))
evicted=$("$T" sweep "$M" | cut -d' ' -f6)
[ "$evicted" -gt 0 ] || fail "C: nothing evicted under a cap of $((bytes / 2)) bytes"
out=$("$T" behind "$M" slow) || fail "C: 'slow' is not behind the purge horizon after $evicted evictions: $out"
echo "C: slow: $out" >&2
out=$("$T" behind "$M" standby) || fail "C: 'standby' is not behind the purge horizon: $out"
rc=0; out=$("$T" behind "$M" caught) || rc=$?
[ "$rc" = 1 ] || fail "C: a follower that passed everything is reported behind: $out"
echo PASS
