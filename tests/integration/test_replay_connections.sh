#!/bin/bash
# test_replay_connections.sh - replay's several connections per server (--connections): every write of a
# key goes through one connection, so the closing pass's delete of a key the application removed during
# the replay reaches the server after the replay's add of it, on the same connection, and the key stays
# gone. Proved from memcached's own log (-vv prints "<FD COMMAND" for each request): every `ms`/`md` of a
# key carries the same FD, and all the connections carried writes. Also: --connections 1 (one connection,
# as before); the automatic choice (the default): 4 connections into a server whose hash table will grow
# during the replay, 1 into one whose table already fits; the -v lines, and bad counts (exit 2).
set -euo pipefail
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

config() { echo "--SERVER=127.0.0.1:$S_PORT"; }
n=30000
mirror=$MCM_TMP/mirror
mc_start S
under_shim "$mirror" "$MCM_BIN/replay_client" set "$(config)" $n k || fail "the workload failed"
mc_kill S
mc_start S -vv # empty again, same port, logging every request

"$MCM_TOOL" -v --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" --connections 4 --rate 10000 \
	2>"$MCM_TMP/replay.err" &
replay=$!
deleted=()
for round in $(seq 1 20); do
	batch=()
	for j in $(seq 1 20); do
		batch+=($(( (round * 7919 + j * 104729) % n )))
	done
	under_shim "$mirror" "$MCM_BIN/replay_client" del "$(config)" k "${batch[@]}" || fail "delete round $round failed"
	deleted+=("${batch[@]}")
	sleep 0.12
done
wait $replay || fail "replay failed: $(cat "$MCM_TMP/replay.err")"
grep -q "^mcmirror: replay: '127.0.0.1:$S_PORT': 4 connections$" "$MCM_TMP/replay.err" || fail "-v plan: $(cat "$MCM_TMP/replay.err")"
"$MCM_BIN/replay_client" check "$(config)" $n k "${deleted[@]}" >/dev/null ||
	fail "a key deleted during the replay is back, or a key is missing"

# memcached's log: "<FD ms KEY ..." and "<FD md KEY ..."
log=$MCM_TMP/memcached-S.log
awk '$1 ~ /^<[0-9]+$/ && ($2 == "ms" || $2 == "md") { print substr($1, 2), $2, $3 }' "$log" >"$MCM_TMP/requests"
assert_eq "$(awk '$2 == "ms"' "$MCM_TMP/requests" | wc -l)" "$(sed -n 's/^mcmirror: replay: replayed \([0-9]*\),.*/\1/p' "$MCM_TMP/replay.err")" \
	"writes in the server's log vs the summary"
assert_eq "$(awk '$2 == "ms" { print $1 }' "$MCM_TMP/requests" | sort -u | wc -l)" 4 "connections that carried writes"
awk '{ fd[$3] = fd[$3] " " $1 } END { for (k in fd) print k fd[k] }' "$MCM_TMP/requests" |
	awk '{ for (i = 3; i <= NF; i++) if ($i != $2) { print; exit 1 } }' >"$MCM_TMP/split" ||
	fail "a key's requests went through several connections: $(cat "$MCM_TMP/split")"
undone=$(awk '$2 == "md" { print $3 }' "$MCM_TMP/requests" | sort -u | wc -l)
both=$(awk '$2 == "md" { md[$3] = 1 } $2 == "ms" { ms[$3] = 1 } END { n = 0; for (k in md) if (k in ms) n++; print n }' "$MCM_TMP/requests")
[ "$undone" -gt 0 ] && [ "$both" -gt 0 ] ||
	fail "no key was both written and deleted again by the replay (md $undone, both $both): the check proved nothing"

# One connection.
mc_kill S
mc_start S -vv
"$MCM_TOOL" --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" --connections 1 2>"$MCM_TMP/replay.err" ||
	fail "replay with one connection: $(cat "$MCM_TMP/replay.err")"
assert_eq "$(awk '$1 ~ /^<[0-9]+$/ && $2 == "ms" { print $1 }' "$MCM_TMP/memcached-S.log" | sort -u | wc -l)" 1 \
	"--connections 1: connections that carried writes"

# fds_with_writes: how many connections carried `ms` in S's log.
fds_with_writes() {
	awk '$1 ~ /^<[0-9]+$/ && $2 == "ms" { print $1 }' "$MCM_TMP/memcached-S.log" | sort -u | wc -l
}

# Automatic: a table of 2^13 buckets (the least memcached takes with 4 threads) grows past 12,288 items:
# 4 connections for the 30,000 items.
mc_kill S
mc_start S -vv -o hashpower=13
"$MCM_TOOL" -v --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" 2>"$MCM_TMP/replay.err" ||
	fail "auto replay into a small table: $(cat "$MCM_TMP/replay.err")"
grep -q "^mcmirror: replay: '127.0.0.1:$S_PORT': 4 connections (auto: its hash table has 2^13 buckets, it holds 0 items, about [0-9]* to come)$" \
	"$MCM_TMP/replay.err" || fail "auto, small table: -v: $(cat "$MCM_TMP/replay.err")"
assert_eq "$(fds_with_writes)" 4 "auto, small table: connections that carried writes"
# memcached's default table (2^16 buckets, grows past 98,304 items) holds them: one connection.
mc_kill S
mc_start S -vv
"$MCM_TOOL" -v --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" --connections auto 2>"$MCM_TMP/replay.err" ||
	fail "auto replay into a default table: $(cat "$MCM_TMP/replay.err")"
grep -q "^mcmirror: replay: '127.0.0.1:$S_PORT': 1 connection (auto: its hash table has 2^16 buckets, it holds 0 items, about [0-9]* to come)$" \
	"$MCM_TMP/replay.err" || fail "auto, default table: -v: $(cat "$MCM_TMP/replay.err")"
assert_eq "$(fds_with_writes)" 1 "auto, default table: connections that carried writes"

# Bad counts.
for bad in 0 65 x -1; do
	rc=0; "$MCM_TOOL" --mirror "$mirror" replay --servers "127.0.0.1:$S_PORT" --connections "$bad" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "--connections $bad: exit status"
	grep -q "^mcmirror: replay: bad connection count '$bad': want 1 to 64, or auto$" "$MCM_TMP/err" ||
		fail "--connections $bad: $(cat "$MCM_TMP/err")"
done
echo PASS
