#!/bin/bash
# test_sql_hosts.sh pg|my - two application hosts, each with its own mirror, write overlapping keys of
# one two-server memcached pool through the shim at the same time, and both ship into one table of
# PostgreSQL or MariaDB. The table then holds, for every key, the newest write of either host
# (deletions included). One memcached server is killed -9 and started again empty; `mcmirror replay
# --from URL --only-server` restores it: every key of the pool is again exactly what it was (value
# bytes, flags, TTL within 2 s), deleted keys stay absent.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$MCM_HARNESS/sql.sh" || exit 1
DB=${1:?pg or my}
need_sql "$DB"
need_memcached
KEYS=1500
MS=${SQL_WRITE_MS:-4000}

mc_start A
mc_start B
SERVERS=127.0.0.1:$A_PORT,127.0.0.1:$B_PORT
sql_start "$DB" D
URL=$(eval "echo \$D_URL")

# each host's follower is registered before its application writes (the mirror then keeps, for it,
# the deletions of keys this host never wrote itself)
for h in 1 2; do
	sql_register "$MCM_TMP/h$h" || fail "register follower $h"
done
for h in 1 2; do
	under_shim "$MCM_TMP/h$h" "$MCM_BIN/sql_writer" "$SERVERS" "$MCM_TMP/lock" $KEYS "$MS" $h >"$MCM_TMP/w$h" &
	eval "W$h=$!"
done
# the followers start once the shim made the mirrors, and ship while the hosts write (both create the
# schema if absent, at the same time)
for h in 1 2; do
	for i in $(seq 1 100); do
		[ -e "$MCM_TMP/h$h/data.mdb" ] && break
		sleep 0.05
	done
	follow_bg "$MCM_TMP/f$h.err" "$MCM_TMP/h$h" "$URL" --create --batch 300
	eval "F$h=$FOLLOW_PID"
done
wait "$W1" || fail "host 1 writer: $(cat "$MCM_TMP/w1")"
wait "$W2" || fail "host 2 writer: $(cat "$MCM_TMP/w2")"
grep -q " failed 0$" "$MCM_TMP/w1" && grep -q " failed 0$" "$MCM_TMP/w2" ||
	fail "writes failed: $(cat "$MCM_TMP/w1" "$MCM_TMP/w2")"
# let them catch up, stop them, and ship what is left
sleep 1
kill "$F1" "$F2" 2>/dev/null || true
wait "$F1" "$F2" 2>/dev/null || true
for h in 1 2; do
	follow_once "$MCM_TMP/h$h" "$URL" >/dev/null 2>"$MCM_TMP/err" || fail "host $h: --once: $(cat "$MCM_TMP/err")"
	"$MCM_TOOL" --mirror "$MCM_TMP/h$h" dump --all -f "$MCM_TMP/dump$h" || fail "dump $h"
done
sql_export "$DB" D >"$MCM_TMP/export"
python3 "$SQL_CHECK" table "$MCM_TMP/export" "$MCM_TMP/dump1=$(sql_origin "$MCM_TMP/h1")" \
	"$MCM_TMP/dump2=$(sql_origin "$MCM_TMP/h2")" >"$MCM_TMP/check" ||
	fail "the table is not the newest write of either host: $(cat "$MCM_TMP/check")"
assert_eq "$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_positions")" 2 "one position per host"
assert_eq "$(sql_q "$DB" D "SELECT SUM(repeats) FROM mcmirror_positions")" 0 "changes given twice"
# both hosts wrote the keys that won
for h in 1 2; do
	n=$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items WHERE origin = '$(sql_origin "$MCM_TMP/h$h")'")
	[ "$n" -gt 100 ] || fail "host $h holds only $n rows"
done

# the pool holds what the store holds (verify --from), and the store names what it lacks
"$MCM_TOOL" verify --from "$URL" --servers "$SERVERS" 2>"$MCM_TMP/err" || fail "verify --from: $(cat "$MCM_TMP/err")"
grep -q "^mcmirror: verify: checked [1-9][0-9]*: matching [1-9][0-9]*, missing 0, different value 0, different flags 0, ttl off 0" \
	"$MCM_TMP/err" || fail "verify --from: $(cat "$MCM_TMP/err")"

# server B dies and comes back empty; the store restores it
"$MCM_BIN/sql_mcstate" "$SERVERS" $KEYS >"$MCM_TMP/before" || fail "mcstate"
live=$(grep -c "^127.0.0.1:$B_PORT " "$MCM_TMP/before" || true)
[ "$live" -gt 100 ] || fail "server B holds only $live keys"
mc_kill B
mc_start B
rc=0
"$MCM_TOOL" replay --from "$URL" --servers "$SERVERS" --only-server "127.0.0.1:$B_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "replay --from ($(cat "$MCM_TMP/err"))"
"$MCM_BIN/sql_mcstate" "$SERVERS" $KEYS >"$MCM_TMP/after" || fail "mcstate"
sql_export "$DB" D >"$MCM_TMP/export"
python3 "$SQL_CHECK" mcstate "$MCM_TMP/before" "$MCM_TMP/after" "$MCM_TMP/export" >"$MCM_TMP/check" ||
	fail "the pool is not what it was: $(cat "$MCM_TMP/check")"
echo "mcstate: $(cat "$MCM_TMP/check")"
grep -q "^mcmirror: replay: replayed $live, already present 0, .* failed 0 in " "$MCM_TMP/err" ||
	fail "replay summary ($live keys were on B): $(cat "$MCM_TMP/err")"
"$MCM_TOOL" verify --from "$URL" --servers "$SERVERS" 2>"$MCM_TMP/err" || fail "verify --from after: $(cat "$MCM_TMP/err")"
# a killed node that was not restored: verify --from finds its keys missing
mc_kill A
mc_start A
rc=0; "$MCM_TOOL" verify --from "$URL" --servers "$SERVERS" --only-server "127.0.0.1:$A_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "verify --from of an empty node ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: verify: checked \([1-9][0-9]*\): matching 0, missing \1," "$MCM_TMP/err" || fail "verify --from: $(cat "$MCM_TMP/err")"
# an unknown scheme is a usage error, and no password is shown
rc=0; "$MCM_TOOL" replay --from "redis://u:hunter2@h/0" --servers "$SERVERS" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 2 "replay --from an unknown scheme"
grep -q "^mcmirror: replay: --from 'redis://u@h/0': not a URL mcmirror reads" "$MCM_TMP/err" || fail "$(cat "$MCM_TMP/err")"
echo PASS
