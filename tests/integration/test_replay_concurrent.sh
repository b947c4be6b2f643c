#!/bin/bash
# test_replay_concurrent.sh - the application keeps running (and deleting) while replay warms memcached:
# no key it deleted may be back when the replay ends. The walk can read a key, the application then
# deletes it, and the walk's add reaches memcached after the delete; replay's closing pass deletes
# such keys again (cmd_replay.c, settle).
set -euo pipefail
. "$MCM_HARNESS/lib.sh" || exit 1
mc_start S
config="--SERVER=127.0.0.1:$S_PORT"
mirror=$MCM_TMP/mirror
n=60000

under_shim "$mirror" "$MCM_BIN/replay_client" set "$config" $n k || fail "the workload failed"
mc_kill S
mc_start S # empty again, same port

# a slow replay (about 4 s), and deletions through the shim while it runs
"$MCM_TOOL" --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" --rate 15000 2>"$MCM_TMP/replay.err" &
replay=$!
deleted=()
for round in $(seq 1 20); do
	batch=()
	for j in $(seq 1 25); do
		batch+=($(( (round * 7919 + j * 104729) % n )))
	done
	under_shim "$mirror" "$MCM_BIN/replay_client" del "$config" k "${batch[@]}" || fail "delete round $round failed"
	deleted+=("${batch[@]}")
	sleep 0.15
done
wait $replay || fail "replay failed: $(cat "$MCM_TMP/replay.err")"
cat "$MCM_TMP/replay.err" >&2

# every deleted key absent, every other key back
"$MCM_BIN/replay_client" check "$config" $n k "${deleted[@]}" || fail "a key deleted during the replay is back, or a key is missing"
echo "PASS"
