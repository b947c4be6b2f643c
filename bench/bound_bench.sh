#!/bin/bash
# bound_bench.sh - the bounded mirror at scale (docs/PERFORMANCE.md, "The bounded mirror").
#
# usage: bench/bound_bench.sh BUILD_DIR [N [WORK_DIR]]    (defaults: 10000000, $TMPDIR or /tmp)
# BUILD_DIR is a build tree (an optimised one: cmake -DCMAKE_BUILD_TYPE=Release). For a mirror of
# N keys and one of 10,000 (100-byte values), it prints:
#   - the drainer's rate as the mirror grows (bound_bench build: one line per million writes);
#   - data.mdb's size and the records' bytes;
#   - for stats, dump (to /dev/null), snapshot, replay (into a fresh memcached -m 4096), verify
#     (against it), follow --once (a first follower: every item sent again to that server) and
#     compact: wall time, peak RSS (which counts the LMDB pages a command
#     touched: page cache) and the peak of its own memory (RssAnon), from bound_bench run;
#   - the load average before and after (the machine is shared: compare within one run).
# It needs about 400 bytes of disk per key for the mirror and as much again for the snapshot,
# and memcached's memory for N items (about 2 GB for 10 M). Everything is removed at the end.
set -euo pipefail
B=${1:?usage: bound_bench.sh BUILD_DIR [N [WORK_DIR]]}
N=${2:-10000000}
W=$(mktemp -d "${3:-${TMPDIR:-/tmp}}/bound-bench.XXXXXX")
BB=$B/bench/bound_bench
TOOL=$B/tools/mcmirror
MEMCACHED=${MEMCACHED:-/usr/bin/memcached}
MC_PID=
trap 'kill $MC_PID 2>/dev/null || true; rm -rf "$W"' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "disk: $(df -h "$W" | awk 'NR == 2 { print $4 " free on " $6 }')"

# start_mc: a fresh memcached on a free loopback port (sets PORT, MC_PID)
start_mc() {
	[ -z "$MC_PID" ] || { kill "$MC_PID"; wait "$MC_PID" 2>/dev/null || true; }
	for _ in $(seq 1 20); do
		PORT=$((20000 + RANDOM % 40000))
		"$MEMCACHED" -l 127.0.0.1 -p "$PORT" -U 0 -m 4096 -t 2 -u "$(id -un)" &
		MC_PID=$!
		sleep 0.5
		if kill -0 "$MC_PID" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			return 0
		fi
	done
	echo "cannot start memcached" >&2
	exit 1
}

for n in "$N" 10000; do
	M=$W/m$n
	echo "== $n keys"
	"$BB" build "$M" "$n" -r $((n < 1000000 ? n : 1000000))
	echo "file_bytes=$(stat -c %s "$M/data.mdb")"
	start_mc
	for cmd in "stats" "dump" "snapshot $W/snap$n" "replay --servers 127.0.0.1:$PORT" \
		"verify --servers 127.0.0.1:$PORT" "follow --servers 127.0.0.1:$PORT --once" "compact"; do
		printf '%-10s ' "${cmd%% *}"
		"$BB" run "$TOOL" -q --mirror "$M" $cmd
	done
	rm -rf "$M" "$W/snap$n"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
