#!/bin/bash
# follow_bench.sh - how far behind the application a standby is: `mcmirror follow` while writers
# under the shim keep a steady rate, with the lag from each application write to the standby's
# confirmation of it, as `mcmirror follow --json` measures it (p50, p99, max).
#
# usage: bench/follow_bench.sh [BUILD_DIR]      (default: build)
# Environment: RATE (total writes/s, default 20000), WRITERS (processes, default 4), SECONDS_RUN (20),
# MCMIRROR_SYNC (the writers' mode, default everysec), MEMCACHED_BINARY, TMPDIR.
# Starts its own two memcached on 127.0.0.1 (primary, standby). Prints the writers' achieved rate,
# the follower's summary and the load average before and after. Nothing is asserted.
# The catch-up rate of a new follower is measured by replay_bench's `follow` arm:
#   build/bench/replay_bench -C auto,follow
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
tool=$build/tools/mcmirror shim=$build/shim/libmcmirror.so writer=$build/tests/follow_writer
rate=${RATE:-20000} writers=${WRITERS:-4} secs=${SECONDS_RUN:-20}  # (not SECONDS: bash counts its own time in it)
memcached=${MEMCACHED_BINARY:-$(command -v memcached)}
[ -x "$writer" ] || { echo "follow_bench: no '$writer': build the tests first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcmfollow.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
start_mc() { # start_mc VAR: a memcached on a free port, its port in VAR
	local port pid
	for _ in $(seq 1 20); do
		port=$((20000 + RANDOM % 40000))
		"$memcached" -l 127.0.0.1 -p "$port" -U 0 -u "$(id -un)" -m 1024 -t 4 &
		pid=$!
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			pids+=("$pid")
			eval "$1=$port"
			return
		fi
		kill -9 "$pid" 2>/dev/null || true
	done
	echo "follow_bench: cannot start memcached" >&2; exit 1
}
start_mc P
start_mc S
echo "load average before: $(cat /proc/loadavg)"
# a first write creates the mirror and its pool; the follower starts caught up
LD_PRELOAD=$shim MCMIRROR_PATH=$tmp/m MCM_MIN_WRITES=1 "$writer" "127.0.0.1:$P" 100000 0 /dev/null >/dev/null
"$tool" -q --mirror "$tmp/m" follow --servers "127.0.0.1:$S" --once
"$tool" --mirror "$tmp/m" --json -v follow --servers "127.0.0.1:$S" >"$tmp/follow.json" 2>"$tmp/follow.err" &
fpid=$!
pids+=($fpid)
sleep 0.5
wpids=()
for i in $(seq 1 "$writers"); do
	LD_PRELOAD=$shim MCMIRROR_PATH=$tmp/m "$writer" "127.0.0.1:$P" 100000 "$i" "$tmp/stop" \
		"$(awk -v r="$rate" -v w="$writers" 'BEGIN { printf "%.1f", r / w }')" >"$tmp/w$i.out" &
	pids+=($!)
	wpids+=($!)
done
t0=$(date +%s.%N)
sleep "$secs"
touch "$tmp/stop"
wait "${wpids[@]}" 2>/dev/null || true
t1=$(date +%s.%N)
sleep 1
kill -TERM "$fpid"
wait "$fpid" || true
total=$(cat "$tmp"/w*.out | awk '{s += $2} END {print s}')
echo "writers: $writers, $total writes in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s" \
	"($(awk -v n="$total" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}') writes/s, asked $rate)," \
	"MCMIRROR_SYNC=${MCMIRROR_SYNC:-everysec}"
grep -E "lag|p50" "$tmp/follow.err" || true
cat "$tmp/follow.json"
echo "load average after: $(cat /proc/loadavg)"
