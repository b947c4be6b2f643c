#!/bin/bash
# test_follow_pools.sh - a three-server primary pool (consistent hashing, as PHP's) followed into a
# two-server standby pool: every key lands where the standby pool's clients look (the pool's recorded
# distribution and hashes on the standby's servers), checked through a libmemcached client configured
# like the application's (follow_check) and by verify.
. "$MCM_HARNESS/lib.sh"
. "$(dirname "$0")/follow_lib.sh"
need_memcached
M=$MCM_TMP/mirror

mc_start P1
mc_start P2
mc_start P3
mc_start S1
mc_start S2
P=127.0.0.1:$P1_PORT,127.0.0.1:$P2_PORT,127.0.0.1:$P3_PORT
S=127.0.0.1:$S1_PORT,127.0.0.1:$S2_PORT
start_writer "$M" "$P" 3000 7 0 ketama
sleep 2
start_follower "$M" "$S"
sleep 1
stop_writer
out=$(converge "$M" "$S") || fail "the two-server standby differs: $out"
echo "$out"
# both standby servers got their share
for port in "$S1_PORT" "$S2_PORT"; do
	n=$(mc_cmd "$port" 'stats\r\nquit\r\n' | awk '$2 == "curr_items" {print $3}' | tr -d '\r')
	[ "${n:-0}" -gt 1 ] || fail "standby server $port holds ${n:-0} items (its marker at most)"
done
stop_follower
echo "PASS"
