#!/bin/bash
# test_follow_kill.sh - `mcmirror follow` killed -9 at the two worst moments around a flush, then run
# again: right after the standby confirmed a flush_all the follower forwarded from the application
# (its position saved before the flush, its next commit not made), and right after the flush that
# begins a resynchronisation (nothing sent again yet). Each time the follower that resumes brings the
# standby to exactly what the mirror vouches for (verify and follow_check clean), without
# resynchronising it: the marker went with the flush, and a resync saved position 0 before its flush
# (so the resumed follower sends everything again, not only what came after its old position).
# The kill comes from follow_die.c, preloaded into the follower (MCM_DIE_AFTER_FLUSH=N).
. "$MCM_HARNESS/lib.sh"
. "$(dirname "$0")/follow_lib.sh"
need_memcached
MEMCFLUSH=$(command -v memcflush || true)
[ -n "$MEMCFLUSH" ] || skip "no memcflush (Debian's libmemcached-tools)"
DIE=$MCM_BIN/libfollow_die.so
[ -f "$DIE" ] || fail "no $DIE"
mcm_preload_prefix
M=$MCM_TMP/mirror

mc_start P
mc_start S
P=127.0.0.1:$P_PORT S=127.0.0.1:$S_PORT

# write PREFIX N: N keys written by an application under the shim
write() {
	under_shim "$M" "$MCM_BIN/replay_client" set "--SERVER=$P" "$2" "$1" >/dev/null || fail "writing $1 under the shim"
}

# follow_killed N: follow --once, killed -9 as the standby confirms the Nth flush_all it is sent
follow_killed() {
	local rc=0
	LD_PRELOAD="${MCM_PRELOAD_PREFIX:+$MCM_PRELOAD_PREFIX:}$DIE" MCM_DIE_AFTER_FLUSH=$1 \
		"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || rc=$?
	[ "$rc" = 137 ] || fail "follow was not killed at its flush_all $1 (exit $rc): $(cat "$MCM_TMP/err")"
}

# follow_resumed CASE: follow --once again: no resync, and the standby converges
follow_resumed() {
	local out
	"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || fail "$1: follow --once: $(cat "$MCM_TMP/err")"
	grep -q "resynchronising" "$MCM_TMP/err" && fail "$1: the resumed follower resynchronised: $(cat "$MCM_TMP/err")"
	out=$(converge "$M" "$S" 5) || fail "$1: the standby differs: $out"
	echo "$1: $out"
}

write a: 300
"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || fail "the first follow: $(cat "$MCM_TMP/err")"
converge "$M" "$S" 5 >/dev/null || fail "the first follow left the standby different"

# 1. the application flushes the pool; the follower dies as the standby confirms the flush
write b: 300
under_shim "$M" "$MEMCFLUSH" --servers="$P" || fail "memcflush under the shim"
write c: 100
follow_killed 1
write d: 50
follow_resumed "killed after a forwarded flush"

# 2. the standby restarts empty; the follower dies as the standby confirms the resync's flush
mc_restart S
write e: 50
follow_killed 1
grep -q "resynchronising '$S': the target lost" "$MCM_TMP/err" || fail "no resync of the restarted standby: $(cat "$MCM_TMP/err")"
write f: 50
follow_resumed "killed after a resync's flush"

# 3. the same, then killed again at the first flush of the follower that resumes (no resync: the
# standby holds the marker; its stream from 0 begins with the pool's flush of case 1)
mc_restart S
follow_killed 1
follow_killed 1
grep -q "resynchronising" "$MCM_TMP/err" && fail "the follower killed during a resync resynchronised: $(cat "$MCM_TMP/err")"
follow_resumed "killed after a resync's flush, then after the flush it gave again"
