#!/bin/bash
# test_replay_rebuilt.sh - the shim's drainer leaves superseded seq entries in place and rebuilds the
# index in bulk (store/reindex.c): 600 keys written 12 times by real libmemcached clients under the
# shim. The index stays bounded and was rebuilt (without a rebuild it would hold one entry per write:
# 7,200), every other entry is stale, and a replay into an empty memcached brings every key back
# with its last value. In MCMIRROR_SYNC=always (the application waits for commits, so no rebuild may
# hold one up) superseded entries are removed one by one: none is left.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
M=$MCM_TMP/mirror
C=$MCM_BIN/backup_check

mc_start SRC
CONF="--SERVER=127.0.0.1:$SRC_PORT"
for round in $(seq 1 12); do
	under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 600 "rb:" >/dev/null || fail "writer, round $round"
done
out=$("$C" seq "$M") || fail "seq index and items disagree: $out"
read -r _ items _ entries _ stale <<<"$out"
assert_eq "$items" 600 "records"
[ "$entries" -le $((2 * items + 4096)) ] || fail "index not bounded: $out"
[ "$entries" -lt 7200 ] || fail "index never rebuilt: $out"
assert_eq "$((entries - stale))" "$items" "live entries"

mc_start DST
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$DST_PORT" 2>"$MCM_TMP/err" || fail "replay: $(cat "$MCM_TMP/err")"
out=$("$MCM_BIN/replay_client" check "--SERVER=127.0.0.1:$DST_PORT" 600 "rb:") || fail "replayed values: $out"

A=$MCM_TMP/always
for round in 1 2 3; do
	MCMIRROR_SYNC=always under_shim "$A" "$MCM_BIN/replay_client" set "$CONF" 600 "rb:" >/dev/null ||
		fail "writer (always), round $round"
done
out=$("$C" seq "$A") || fail "always: seq index and items disagree: $out"
assert_eq "$out" "items 600 seq 600 stale 0" "always: superseded entries removed one by one"
