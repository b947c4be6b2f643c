#!/bin/bash
# burst_ab.sh - two builds of the shim against each other (and against no shim) on bursts of a
# pipelining client, paired round by round.
#
# usage: bench/write/burst_ab.sh BUILD_A BUILD_B
# Each BUILD is a build directory (or any directory holding bench/write/mcm-load and
# shim/libmcmirror.so). Environment: ROUNDS (60), N (100000 writes a burst), MODE (everysec),
# HOLD_B=1 (B's runs hold the drain lock until the burst is sent, MCM_LOAD_HOLD: the drainer cannot
# run during the burst; with A = B this measures what the drainer's work during a burst costs),
# MEMCACHED_BINARY, TMPDIR.
# Starts a memcached on a free loopback port; each round runs `mcm-load SERVER N 1 bufnr` (binary
# protocol + BUFFER_REQUESTS + NOREPLY, one process) with no shim, then under A's and B's shims
# (in an order that alternates from round to round), each on a mirror of its own reused from round
# to round (filled once with every key). Prints, per round, ops/s without the shim and the ratios
# A / none, B / none, B / A; then their medians and quartiles, and in how many rounds B beat A.
# A round's ratio moves by +-0.2 on a shared 2-CPU machine: compare medians over many rounds.
# Nothing is asserted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 2 ] || { echo "usage: burst_ab.sh BUILD_A BUILD_B" >&2; exit 2; }
rounds=${ROUNDS:-60}
n=${N:-100000}
mode=${MODE:-everysec}
memcached=${MEMCACHED_BINARY:-$(command -v memcached || true)}
for b in "$1" "$2"; do
	[ -x "$b/bench/write/mcm-load" ] && [ -f "$b/shim/libmcmirror.so" ] ||
		{ echo "burst_ab: no mcm-load or libmcmirror.so under '$b'" >&2; exit 1; }
done
[ -n "$memcached" ] || { echo "burst_ab: no memcached binary (set MEMCACHED_BINARY)" >&2; exit 1; }
a=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
load=$a/bench/write/mcm-load

bench_tmp mcmburst
mc_start burst_ab
server=127.0.0.1:$MC_PORT

# burst BUILD MIRROR [HOLD]: ops/s of one burst under BUILD's shim (BUILD "": no shim)
burst() {
	local out
	if [ -z "$1" ]; then
		out=$("$load" "$server" "$n" 1 bufnr)
	else
		out=$(env ${3:+MCM_LOAD_HOLD=1} LD_PRELOAD="$1/shim/libmcmirror.so" MCMIRROR_PATH="$2" MCMIRROR_SYNC="$mode" \
			"$1/bench/write/mcm-load" "$server" "$n" 1 bufnr)
	fi
	echo "$out" | sed -E 's/.*ops_per_s=([0-9.]+).*/\1/'
}

for x in a b; do
	dir=$tmp/mirror.$x build=$a
	[ $x = b ] && build=$b
	LD_PRELOAD="$build/shim/libmcmirror.so" MCMIRROR_PATH="$dir" MCMIRROR_SYNC="$mode" \
		"$build/bench/write/mcm-load" "$server" 1 1 fill >/dev/null
done
echo "burst_ab: $rounds rounds of $n-write bursts, $mode; A $a, B $b${HOLD_B:+ (held)}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
printf '%5s %10s %8s %8s %8s\n' round none_ops A/none B/none B/A
: >"$tmp/rounds"
for r in $(seq 1 "$rounds"); do
	base=$(burst "" "")
	if [ $((r % 2)) = 1 ]; then
		ra=$(burst "$a" "$tmp/mirror.a")
		rb=$(burst "$b" "$tmp/mirror.b" "${HOLD_B:-}")
	else
		rb=$(burst "$b" "$tmp/mirror.b" "${HOLD_B:-}")
		ra=$(burst "$a" "$tmp/mirror.a")
	fi
	echo "$r $base $ra $rb" | awk '{ printf "%5d %10d %8.3f %8.3f %8.3f\n", $1, $2, $3 / $2, $4 / $2, $4 / $3 }' |
		tee -a "$tmp/rounds"
done
# summary COLUMN NAME: median and quartiles (nearest rank) of a column of the rounds
summary() {
	awk -v c="$1" '{ print $c }' "$tmp/rounds" | sort -g | awk -v name="$2" '{ v[NR] = $1 }
		END { printf "%-8s median %.3f  q1 %.3f  q3 %.3f\n", name, v[int((NR + 1) / 2)], v[int((NR + 3) / 4)],
			v[int((3 * NR + 3) / 4)] }'
}
summary 3 A/none
summary 4 B/none
summary 5 B/A
awk '$5 > 1 { w++ } END { printf "B beat A in %d of %d rounds\n", w, NR }' "$tmp/rounds"
