#!/bin/bash
# test_follow_faults.sh - `mcmirror follow` while everything around it fails: the application keeps
# writing under the shim, and at random moments the standby is killed -9 and restarted empty (the
# follower notices and resynchronises it), the follower is killed -9 and restarted (it resumes), or
# the standby is stopped (SIGSTOP) for longer than --timeout (the follower gives up on the connection,
# retries, and carries on when it answers again). Once the writer stops, the standby converges to
# exactly what the mirror vouches for: verify clean (values, flags, TTLs within 2 s), follow_check
# clean (no deleted, dropped or expired key there, no key the mirror does not hold).
# MCM_FOLLOW_EVENTS (default 9) sets how many faults; MCM_SEED the writer's seed.
. "$MCM_HARNESS/lib.sh"
. "$(dirname "$0")/follow_lib.sh"
need_memcached
M=$MCM_TMP/mirror
events=${MCM_FOLLOW_EVENTS:-9}
seed=${MCM_SEED:-$RANDOM}
echo "seed $seed, $events faults"

mc_start P
mc_start S
P=127.0.0.1:$P_PORT S=127.0.0.1:$S_PORT
start_writer "$M" "$P" 3000 "$seed"
sleep 0.5
start_follower "$M" "$S"
restarts=0 kills=0 stops=0
for i in $(seq 1 "$events"); do
	sleep "0.$((RANDOM % 9 + 1))"
	case $((i % 3)) in
	0)
		mc_kill S
		mc_start S # (the same port, empty)
		restarts=$((restarts + 1))
		;;
	1)
		kill -9 "$FOLLOWER_PID"
		wait "$FOLLOWER_PID" 2>/dev/null || true
		start_follower "$M" "$S"
		kills=$((kills + 1))
		;;
	2)
		kill -STOP "$S_PID"
		sleep 2.5 # longer than --timeout 2
		kill -CONT "$S_PID"
		stops=$((stops + 1))
		;;
	esac
done
stop_writer
out=$(converge "$M" "$S" 30) || fail "the standby did not converge after the faults: $out; follow said: $(tail -5 "$MCM_TMP/follow.out")"
echo "after $restarts restarts, $kills follower kills, $stops stops: $out"
[ "$restarts" = 0 ] || grep -q "resynchronising .*lost what it was given" "$MCM_TMP/follow.out" ||
	fail "the follower never noticed a restarted standby: $(cat "$MCM_TMP/follow.out")"
stop_follower
echo "PASS"
