#!/bin/bash
# test_sql_faults.sh pg|my - crashes while two hosts ship into one store: the database is killed
# (pg_ctl stop -m immediate / kill -9 mariadbd) and started again mid-stream, and each follower is
# killed -9 in the middle of its work and started again, while both hosts keep writing through the
# shim. Afterwards the table holds exactly the newest write of either mirror for every key, no change
# was applied twice (the positions table counts changes given at or below a committed position), and
# the followers said what happened to the database.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$MCM_HARNESS/sql.sh" || exit 1
DB=${1:?pg or my}
need_sql "$DB"
need_memcached
KEYS=800

mc_start A
SERVERS=127.0.0.1:$A_PORT
sql_start "$DB" D
URL=$(eval "echo \$D_URL")

start_follower() {
	follow_bg "$MCM_TMP/f$1.err" "$MCM_TMP/h$1" "$URL" --create --batch 200
	eval "F$1=$FOLLOW_PID"
}

# each host's follower is registered before its application writes (the mirror then keeps, for it,
# the deletions of keys this host never wrote itself)
for h in 1 2; do
	sql_register "$MCM_TMP/h$h" || fail "register follower $h"
done
for h in 1 2; do
	under_shim "$MCM_TMP/h$h" "$MCM_BIN/sql_writer" "$SERVERS" "$MCM_TMP/lock" $KEYS 7000 $((h + 10)) >"$MCM_TMP/w$h" &
	eval "W$h=$!"
done
for h in 1 2; do
	for i in $(seq 1 100); do
		[ -e "$MCM_TMP/h$h/data.mdb" ] && break
		sleep 0.05
	done
	start_follower $h
done
sleep 1.5
sql_crash "$DB" D # mid-stream: the followers' transactions are cut
sleep 1
sql_again "$DB" D
sleep 1.5
kill -9 "$F1" # mid-batch (it commits every 200 changes of a host writing thousands a second)
wait "$F1" 2>/dev/null || true
start_follower 1
sleep 1
kill -9 "$F2"
wait "$F2" 2>/dev/null || true
start_follower 2
wait "$W1" || fail "host 1 writer: $(cat "$MCM_TMP/w1")"
wait "$W2" || fail "host 2 writer: $(cat "$MCM_TMP/w2")"
sleep 1
kill "$F1" "$F2" 2>/dev/null || true
wait "$F1" "$F2" 2>/dev/null || true
for h in 1 2; do
	follow_once "$MCM_TMP/h$h" "$URL" >/dev/null 2>>"$MCM_TMP/f$h.err" || fail "host $h: --once: $(cat "$MCM_TMP/f$h.err")"
	"$MCM_TOOL" --mirror "$MCM_TMP/h$h" dump --all -f "$MCM_TMP/dump$h" || fail "dump $h"
done
sql_export "$DB" D >"$MCM_TMP/export"
python3 "$SQL_CHECK" table "$MCM_TMP/export" "$MCM_TMP/dump1=$(sql_origin "$MCM_TMP/h1")" \
	"$MCM_TMP/dump2=$(sql_origin "$MCM_TMP/h2")" >"$MCM_TMP/check" ||
	fail "after the crashes the table is not what the mirrors hold: $(cat "$MCM_TMP/check")"
assert_eq "$(sql_q "$DB" D "SELECT SUM(repeats) FROM mcmirror_positions")" 0 "changes given twice"
# the database's crash was reported, by name and with its reason, and ridden out
if [ "$DB" = pg ]; then
	grep -Eq "^mcmirror: follow: postgresql:///cache\?host=.*: (FATAL: terminating connection|server closed the connection|.*No such file or directory|.*Connection refused|.*the database system is (starting up|shutting down))" \
		"$MCM_TMP/f1.err" "$MCM_TMP/f2.err" || fail "no message about the crash: $(cat "$MCM_TMP/f1.err" "$MCM_TMP/f2.err")"
else
	grep -Eq "^mcmirror: follow: mysql://app@localhost/cache\?.*: ERROR (2002|2006|2013|1927|1053) " \
		"$MCM_TMP/f1.err" "$MCM_TMP/f2.err" || fail "no message about the crash: $(cat "$MCM_TMP/f1.err" "$MCM_TMP/f2.err")"
fi
! grep -q secret "$MCM_TMP/f1.err" "$MCM_TMP/f2.err" || fail "a password in a message"
echo PASS
