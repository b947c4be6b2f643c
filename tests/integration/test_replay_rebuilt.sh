#!/bin/bash
# test_replay_rebuilt.sh - the shim's drainer leaves superseded seq entries in place and rebuilds the
# index in bulk (store/reindex.c): 600 keys written 12 times by real libmemcached clients under the
# shim. The index stays bounded and was rebuilt (without a rebuild it would hold one entry per write:
# 7,200), every other entry is stale, `mcmirror stats` shows the index's entries, and a replay into
# an empty memcached brings every key back with its last value. In MCMIRROR_SYNC=always (the
# application waits for commits, so no rebuild may hold one up) superseded entries are removed one
# by one: none is left. A record numbered like another (damaged behind the store's back) stops the
# rebuild: the shim says so once per process, removes superseded entries one by one from then on,
# and the writes go on.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
M=$MCM_TMP/mirror
C=$MCM_BIN/backup_check

mc_start SRC
CONF="--SERVER=127.0.0.1:$SRC_PORT"
for round in $(seq 1 12); do
	under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 600 "rb:" >/dev/null || fail "writer, round $round"
done
"$MCM_TOOL" --mirror "$M" stats >/dev/null || fail "stats" # (applies what a writer left in the journal)
out=$("$C" seq "$M") || fail "seq index and items disagree: $out"
read -r _ items _ entries _ stale <<<"$out"
assert_eq "$items" 600 "records"
[ "$entries" -le $((3 * items + 4096)) ] || fail "index not bounded: $out"
[ "$entries" -lt 7200 ] || fail "index never rebuilt: $out"
assert_eq "$((entries - stale))" "$items" "live entries"
"$MCM_TOOL" --mirror "$M" stats >"$MCM_TMP/stats" || fail "stats"
grep -qx "mirror.index_entries: $entries" "$MCM_TMP/stats" || fail "stats: $(grep index "$MCM_TMP/stats")"
"$MCM_TOOL" --mirror "$M" stats --json >"$MCM_TMP/stats.json" || fail "stats --json"
grep -q "\"entries\":600,\"index_entries\":$entries," "$MCM_TMP/stats.json" ||
	fail "stats --json: no index_entries $entries: $(cat "$MCM_TMP/stats.json")"
"$MCM_TOOL" --mirror "$M" stats --prometheus >"$MCM_TMP/stats.prom" || fail "stats --prometheus"
grep -q "^mcmirror_index_entries{mirror=\"$M\"} $entries\$" "$MCM_TMP/stats.prom" ||
	fail "stats --prometheus: no mcmirror_index_entries $entries: $(grep index_entries "$MCM_TMP/stats.prom")"

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

# rounds DIR: 14 rounds of 600 writes of keys "rb:" under the shim, each logging to DIR.ROUND.log;
# index[ROUND]: mirror.index_entries after it. (stats ends with status 1 when it reports a damaged
# record.)
rounds() {
	for round in $(seq 1 14); do
		MCMIRROR_LOG_FILE=$1.$round.log under_shim "$1" "$MCM_BIN/replay_client" set "$CONF" 600 "rb:" \
			>/dev/null || fail "$1: writer, round $round"
		index[round]=$({ "$MCM_TOOL" --mirror "$1" stats 2>/dev/null || true; } |
			sed -n 's/^mirror.index_entries: //p')
		[ "${index[round]}" -le $((3 * 1200 + 4096 + 600)) ] || fail "$1: index not bounded: ${index[*]}"
		[ "$(cat "$1.$round.log" 2>/dev/null | grep -c "cannot rebuild" || true)" -le 1 ] ||
			fail "$1: round $round: logged more than once"
	done
	cat "$1".*.log >"$1.log" 2>/dev/null || true
}

# A damaged record numbered like another (one the later writers never rewrite: a write would
# replace it): the rebuilds go on without it, and nothing is logged.
D=$MCM_TMP/clash
under_shim "$D" "$MCM_BIN/replay_client" set "$CONF" 600 "cl:" >/dev/null || fail "writer (clash)"
"$C" clash "$D" >/dev/null || fail "backup_check clash"
rounds "$D"
[ ! -s "$D.log" ] || fail "clash: logged: $(cat "$D.log")"
[ "${index[14]}" -lt 8400 ] || fail "clash: never rebuilt: ${index[*]}"

# A record that checks out with a number above any handed out: a rebuild is refused, the shim
# says so (once in the process that tried), the stale entries go one by one, the index stays bounded.
R=$MCM_TMP/beyond
under_shim "$R" "$MCM_BIN/replay_client" set "$CONF" 600 "cl:" >/dev/null || fail "writer (beyond)"
"$C" beyond "$R" >/dev/null || fail "backup_check beyond"
rounds "$R"
grep -q "cannot rebuild the index of '$R' by change number: .*; removing its superseded entries one by one" \
	"$R.log" || fail "beyond: no message (index entries by round: ${index[*]}): $(cat "$R.log")"
