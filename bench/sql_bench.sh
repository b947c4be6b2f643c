#!/bin/bash
# sql_bench.sh - how fast mirrors ship into PostgreSQL and MariaDB, and how fast `replay --from`
# restores memcached from them, next to a raw pipelined loader.
#
# usage: bench/sql_bench.sh [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-b BATCH] [-B BUILD_DIR] [-T] [pg] [my]
#
# Starts its own servers in a temporary directory (tests/harness/sql.sh) with durable settings:
# PostgreSQL with fsync, full_page_writes and synchronous_commit on (shared_buffers 128MB,
# max_wal_size 2GB), MariaDB with innodb_flush_log_at_trx_commit=1 (buffer pool and redo log 256M).
# Each round, for each database:
#   insert   a mirror of ITEMS items (default 300000, values of VALUE_SIZE = 100 bytes; mkmirror)
#            shipped into empty tables by `mcmirror follow --to URL --once`, BATCH changes per
#            transaction (default 8192, follow's default);
#   update   the same ITEMS keys written again in the mirror (newer values) and shipped: every
#            change an update of an existing row, the steady state of a fleet;
#   restore  into a fresh memcached: `mcmirror replay --from URL --servers` against the raw
#            pipelined loader (bench/sql_rawload.c) sending the same number of items of the same size.
# -T: MariaDB also with multi-row statements (MCMIRROR_MYSQL_BULK=0, what a MySQL server gets), arms
# my-text-insert and my-text-update, next to the arrays of rows it gets by default.
# For each run it prints the changes (items) per second, the CPU seconds of the follower and of the
# database server (from /proc: PostgreSQL's postmaster with the backends it reaped, mariadbd), and
# per change the CPU microseconds they took together: on a shared machine the wall-clock rate follows
# the load, the CPU per change much less. Medians at the end, and the load averages.
set -euo pipefail
ITEMS=300000 SIZE=100 ROUNDS=3 BATCH=8192 BUILD= DBS=() TEXT=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) ITEMS=$2; shift 2 ;;
	-s) SIZE=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BATCH=$2; shift 2 ;;
	-B) BUILD=$2; shift 2 ;;
	-T) TEXT=1; shift ;;
	pg | my) DBS+=("$1"); shift ;;
	*) echo "usage: bench/sql_bench.sh [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-b BATCH] [-B BUILD_DIR] [-T] [pg] [my]" >&2; exit 2 ;;
	esac
done
[ ${#DBS[@]} -gt 0 ] || DBS=(pg my)
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$BUILD" ] || for BUILD in "$SRC/build-rel" "$SRC/build"; do [ -x "$BUILD/tools/mcmirror" ] && break; done
export MCM_HARNESS=$SRC/tests/harness MCM_BIN=$BUILD/tests MCM_TOOL=$BUILD/tools/mcmirror
. "$MCM_HARNESS/lib.sh"
. "$MCM_HARNESS/sql.sh"
CLK=$(getconf CLK_TCK)
export PG_EXTRA_CONF="fsync = on
full_page_writes = on
synchronous_commit = on
shared_buffers = 128MB
max_wal_size = 2GB"
export MY_FLUSH_AT_COMMIT=1 MY_LOG_SIZE=256M MY_POOL_SIZE=256M
for db in "${DBS[@]}"; do sql_start "$db" "$db"; done

# server_cpu DB: CPU ticks the server used so far
server_cpu() {
	local pid
	if [ "$1" = pg ]; then
		pid=$(head -1 "$pg_DIR/data/postmaster.pid")
		# (the postmaster with the backends it reaped, and its children now; one may exit meanwhile)
		# (|| true: cat fails on one that exited, which pipefail and set -e made a silent exit of the script)
		{ cat /proc/"$pid"/stat $(grep -l "^[0-9]* ([^)]*) [A-Z] $pid " /proc/[0-9]*/stat 2>/dev/null) 2>/dev/null || true; } |
			awk '{t += $14 + $15} $1 == '"$pid"' {t += $16 + $17} END {print t}'
	else
		awk '{print $14 + $15}' /proc/"$my_PID"/stat
	fi
}

# timed NAME DB COUNT COMMAND...: run it, print rate and CPU, and keep the rate for the medians
timed() {
	local name=$1 db=$2 count=$3 c0 c1 t0 t1 user
	shift 3
	c0=$(server_cpu "$db")
	t0=$(date +%s.%N)
	/usr/bin/time -f "%U %S" -o "$MCM_TMP/time" "$@" >"$MCM_TMP/out" 2>"$MCM_TMP/err" ||
		{ cat "$MCM_TMP/err" >&2; exit 1; }
	t1=$(date +%s.%N)
	c1=$(server_cpu "$db")
	user=$(awk '{print $1 + $2}' "$MCM_TMP/time")
	awk -v n="$name" -v c="$count" -v w="$(echo "$t1 - $t0" | bc)" -v u="$user" -v s="$(( c1 - c0 ))" -v k="$CLK" \
		'BEGIN { printf "%-16s %8d in %6.2f s = %7.0f/s; follower %.2f s, server %.2f s cpu: %.1f us/change\n",
		n, c, w, c / w, u, s / k, (u + s / k) * 1e6 / c }' | tee -a "$MCM_TMP/results"
}

median() {
	{ grep "^$1 " "$MCM_TMP/results" || true; } | awk '{print $7}' | sed 's|/s;||' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

drop() {
	sql_q "$1" "$1" "DROP TABLE IF EXISTS mcmirror_items, mcmirror_positions, mcmirror_pools, mcmirror_meta" 2>/dev/null
}

echo "sql_bench: $ITEMS items of $SIZE bytes, $ROUNDS rounds, batches of $BATCH; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
	for db in "${DBS[@]}"; do
		url=$(eval "echo \$${db}_URL")
		rm -rf "$MCM_TMP/m"
		"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 "$ITEMS" "$SIZE" >/dev/null
		drop "$db"
		timed "$db-insert" "$db" "$ITEMS" "$MCM_TOOL" -q --mirror "$MCM_TMP/m" follow --to "$url" --name bench \
			--create --once --batch "$BATCH"
		"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 "$ITEMS" "$SIZE" >/dev/null
		timed "$db-update" "$db" "$ITEMS" "$MCM_TOOL" -q --mirror "$MCM_TMP/m" follow --to "$url" --name bench \
			--once --batch "$BATCH"
		if [ "$db" = my ] && [ "$TEXT" = 1 ]; then
			rm -rf "$MCM_TMP/m"
			"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 "$ITEMS" "$SIZE" >/dev/null
			drop "$db"
			MCMIRROR_MYSQL_BULK=0 timed my-text-insert my "$ITEMS" "$MCM_TOOL" -q --mirror "$MCM_TMP/m" follow \
				--to "$url" --name bench --create --once --batch "$BATCH"
			"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 "$ITEMS" "$SIZE" >/dev/null
			MCMIRROR_MYSQL_BULK=0 timed my-text-update my "$ITEMS" "$MCM_TOOL" -q --mirror "$MCM_TMP/m" follow \
				--to "$url" --name bench --once --batch "$BATCH"
		fi
		if "$MCM_TOOL" replay --help 2>/dev/null | grep -- --from >/dev/null; then # (not -q: an early exit is a SIGPIPE that pipefail counts)
			mc_start R -m 1024
			timed "$db-raw" "$db" "$ITEMS" "$MCM_BIN/sql_rawload" "127.0.0.1:$R_PORT" "$ITEMS" "$SIZE"
			mc_kill R && mc_start R -m 1024 # (mc_restart would start it with the default -m 64)
			timed "$db-replay-from" "$db" "$ITEMS" "$MCM_TOOL" replay --from "$url" --servers "127.0.0.1:$R_PORT"
			mc_stop R
			unset R_PORT
		fi
	done
	echo "round $r done; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
for db in "${DBS[@]}"; do
	for what in insert update text-insert text-update raw replay-from; do
		m=$(median "$db-$what")
		[ -z "$m" ] || printf 'median %-16s %8.0f/s\n' "$db-$what" "$m"
	done
	raw=$(median "$db-raw") rep=$(median "$db-replay-from")
	[ -z "$raw" ] || printf 'ratio %s replay-from/raw %.2f\n' "$db" "$(echo "$rep / $raw" | bc -l)"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
