#!/bin/bash
# test_crash_kill.sh - SIGKILL an application under the shim at random moments; the mirror stays right.
#
# A writer (crash_writer) does blocking sets and deletes as fast as it can under
# the shim with MCMIRROR_SYNC=$CRASH_SYNC; it is killed with SIGKILL after a
# random 20-300 ms, restarted (resuming after its last acknowledged operation),
# MCM_CRASH_ITERATIONS times (default 50). After each kill crash_check drains the
# journal and asserts that every acknowledged operation is in the mirror and
# that nothing in the mirror disagrees with the server (see crash_check.c).
# Every 10th writer is the child of a process that does not reap it, so it is
# checked as a zombie (as under a busy parent, or in a container whose init
# does not reap orphans): a zombie writes no more and must count as dead.
# With MCMIRROR_SYNC=always every other kill is also played as a power loss
# (journal_restart: the journal loses every record it had not synced and looks
# written by an earlier boot): every acknowledged operation must still be there;
# only the operation in flight may be missing altogether (crash_check power).
# Longer run: MCM_CRASH_ITERATIONS=500 ctest -R crash_kill --output-on-failure
. "$MCM_HARNESS/lib.sh"
mc_start MC
servers=127.0.0.1:$MC_PORT
mirror=$MCM_TMP/mirror
state=$MCM_TMP/state
nkeys=${CRASH_KEYS:-500}
iterations=${MCM_CRASH_ITERATIONS:-50}
export MCMIRROR_SYNC=${CRASH_SYNC:-everysec}
export MCMIRROR_LOG_FILE=$MCM_TMP/shim.log

"$MCM_BIN/crash_writer" init "$state" || fail "cannot create the state file"
# Start the writer; sets pid (the writer) and parent (its non-reaping parent, or empty).
start_writer() {
	parent=
	if [ $(($1 % 10)) = 0 ]; then
		rm -f "$MCM_TMP/zpid"
		mcm_preload_prefix # a sanitizer-built shim needs the ASan runtime loaded first, as under_shim does
		bash -c '"$@" & echo $! >"$0"; exec sleep 300' "$MCM_TMP/zpid" \
			env LD_PRELOAD="${MCM_PRELOAD_PREFIX:+$MCM_PRELOAD_PREFIX:}$MCM_SHIM" MCMIRROR_PATH="$mirror" \
			"$MCM_BIN/crash_writer" run "$servers" "$state" "$nkeys" &
		parent=$!
		MCM_PIDS+=("$parent") # killed by the harness if the test fails
		while [ ! -s "$MCM_TMP/zpid" ]; do sleep 0.01; done
		pid=$(cat "$MCM_TMP/zpid")
	else
		# exec: $! must be the writer itself, not the subshell running under_shim
		under_shim "$mirror" exec "$MCM_BIN/crash_writer" run "$servers" "$state" "$nkeys" &
		pid=$!
	fi
}

# SIGKILL the writer; a direct child is reaped, the other one left a zombie.
kill_writer() {
	kill -0 "$pid" 2>/dev/null || { wait "$pid"; fail "iteration $i: the writer died by itself ($?)"; }
	kill -9 "$pid"
	if [ -z "$parent" ]; then
		wait "$pid" 2>/dev/null || true
		return
	fi
	while [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.01; done
}

# what the killed writers left unapplied: one-record writes, unresolved ones (a call in flight at
# the kill), intents
sum_writes=0 sum_unresolved=0 sum_intents=0
field() { local v=${out##*" $1="}; echo "${v%% *}"; }
prev=-1
for i in $(seq 1 "$iterations"); do
	start_writer "$i"
	sleep "$(printf '0.%03d' $((20 + RANDOM % 281)))"
	kill_writer
	power= check_args=()
	[ -n "${power_acked:-}" ] && check_args=("power:$power_acked") # its write in flight may still be missing
	if [ "$MCMIRROR_SYNC" = always ] && [ $((i % 2)) = 0 ]; then
		power=$("$MCM_BIN/journal_restart" "$mirror") || fail "iteration $i: journal_restart failed"
		power=" power loss ($power)"
		check_args=(power)
	fi
	out=$("$MCM_BIN/crash_check" "$mirror" "$servers" "$state" "$nkeys" "${check_args[@]}") ||
		fail "iteration $i (sync=$MCMIRROR_SYNC): the mirror is wrong after SIGKILL$power: $out"
	if [ -n "$parent" ]; then
		kill -9 "$parent"
		wait "$parent" 2>/dev/null || true
	fi
	acked=${out#acked=}
	acked=${acked%% *}
	[ -n "$power" ] && power_acked=$acked
	[ "$acked" -ge "$prev" ] || fail "iteration $i: the acknowledged index went back"
	prev=$acked
	sum_writes=$((sum_writes + $(field writes_left)))
	sum_unresolved=$((sum_unresolved + $(field unresolved)))
	sum_intents=$((sum_intents + $(field intents_left)))
	echo "kill $i$power: $out"
done
echo "left unapplied at the kills: $sum_writes one-record writes ($sum_unresolved unresolved), $sum_intents intents"
# the shim records a set or a delete as one record, except in always mode (docs/FORMAT.md §1.11);
# the kills caught some in flight, which the drainer took over and gave up
if [ "$MCMIRROR_SYNC" = always ]; then
	[ "$sum_writes" = 0 ] || fail "one-record writes in always mode"
	[ "$sum_intents" -gt 0 ] || fail "no intent was left unapplied by $iterations kills"
else
	[ "$sum_unresolved" -gt 0 ] || fail "no one-record write was caught in flight by $iterations kills"
fi
[ "$prev" -gt "$((iterations * 10))" ] || fail "the writer made too little progress to test anything ($prev operations)"
if [ -s "$MCMIRROR_LOG_FILE" ]; then
	cat "$MCMIRROR_LOG_FILE" >&2
	fail "the shim logged errors"
fi
echo "PASS: $iterations kills, $prev operations, sync=$MCMIRROR_SYNC"
