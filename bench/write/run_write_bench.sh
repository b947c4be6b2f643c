#!/bin/bash
# run_write_bench.sh - what the shim costs an application on the write path, as paired ratios.
#
# usage: bench/write/run_write_bench.sh [BUILD_DIR]    (default: build)
# Environment: ROUNDS (5), OPS (20000 per process and run), OPS_ALWAYS (OPS/10: with
# MCMIRROR_SYNC=always every write waits for an fsync), OPS_BUFNR (OPS*5: a pipelining client
# is ~100x faster), CASES (all: set1 mix set4 bufnr pinned), MIRROR (reused: the steady state of
# a host; fresh: a new mirror for every run, the first writes of a mirror), MEMCACHED_BINARY, TMPDIR.
# Starts its own memcached on 127.0.0.1 (and a second one pinned to CPU 0 for the
# pinned case), then for each round runs every case in each arm: no shim (base),
# shim with MCMIRROR_SYNC=none, everysec, always, rotating the order of the arms from
# round to round. With MIRROR=reused each case and arm keeps one mirror for all its
# runs, filled before the first one with every key the case writes (so its writes
# overwrite, as on a host that has run for a while). Prints per case and arm the
# median ops/s, median p50 and p99 latency (µs), the median of the paired ratios
# arm ops/s / base ops/s of the same round with their spread (the lowest, the first
# quartile, the third and the highest of those ratios: on a shared machine one run's
# ratio says little), and the CPU per operation (µs, user + system, every thread of
# the client processes: the calls and the shim's drainer) read once the drainer has
# applied the whole run, with its paired ratio arm / base (1.40: the shim costs the
# client's CPU 40 % more). RESULTS=FILE keeps every run's line ("case arm round ops/s
# p50 p99 cpu_us"). Nothing is asserted.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-$here/../../build}
load=$build/bench/write/mcm-load
shim=$build/shim/libmcmirror.so
rounds=${ROUNDS:-5}
ops=${OPS:-20000}
ops_always=${OPS_ALWAYS:-$((ops / 10))}
ops_bufnr=${OPS_BUFNR:-$((ops * 5))}
cases=${CASES:-set1 mix set4 bufnr pinned}
mirror_kind=${MIRROR:-reused}
memcached=${MEMCACHED_BINARY:-$(command -v memcached || true)}
arms="base none everysec always"

[ -x "$load" ] || { echo "run_write_bench: no '$load': build first (cmake --build $build)" >&2; exit 1; }
[ -f "$shim" ] || { echo "run_write_bench: no '$shim'" >&2; exit 1; }
[ -n "$memcached" ] || { echo "run_write_bench: no memcached binary (set MEMCACHED_BINARY)" >&2; exit 1; }
command -v taskset >/dev/null || cases=${cases/pinned/}

bench_tmp mcmbench
mc_start run_write_bench
port=$MC_PORT
pinned_port=
case " $cases " in *" pinned "*) mc_start run_write_bench taskset -c 0; pinned_port=$MC_PORT ;; esac

# run_one CASE ARM: one mcm-load run; prints "ops_per_s p50 p99 cpu_us".
run_one() {
	local c=$1 arm=$2 n=$ops procs=1 mix=set server=127.0.0.1:$port pin=() out
	case $c in
	set1) ;;
	mix) mix=mix9010 ;;
	set4) procs=4 ;;
	bufnr) mix=bufnr n=$ops_bufnr ;;
	pinned) server=127.0.0.1:$pinned_port pin=(taskset -c 0) ;;
	esac
	[ "$arm" = always ] && n=$ops_always
	local dir=$tmp/mirror.$c.$arm
	if [ "$mirror_kind" = fresh ]; then
		rm -rf "$dir"
	elif [ "$arm" != base ] && [ ! -d "$dir" ]; then
		# the mirror this case and arm reuse: every key its workers write, written once
		LD_PRELOAD=$shim MCMIRROR_PATH=$dir MCMIRROR_SYNC=$arm "$load" "$server" 1 "$procs" fill >/dev/null
	fi
	if [ "$arm" = base ]; then
		out=$("${pin[@]}" "$load" "$server" "$n" "$procs" "$mix")
	else
		out=$(LD_PRELOAD=$shim MCMIRROR_PATH=$dir MCMIRROR_SYNC=$arm \
			"${pin[@]}" "$load" "$server" "$n" "$procs" "$mix")
	fi
	echo "$out" | sed -E 's/.*ops_per_s=([0-9.]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*cpu_us=([0-9.]+).*/\1 \2 \3 \4/'
}

# quartiles: "MIN Q1 Q3 MAX" of the numbers on stdin (nearest rank), "-" without any.
quartiles() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		q1 = int((NR + 3) / 4); q3 = int((3 * NR + 3) / 4); printf "%.3f-%.3f-%.3f-%.3f\n", v[1], v[q1], v[q3], v[NR] }'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "run_write_bench: $rounds rounds, $ops ops per process ($ops_always with sync=always), cases: $cases, $mirror_kind mirrors" >&2
echo "run_write_bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg), CPUs: $(nproc)" >&2
results=${RESULTS:-$tmp/results} # lines: case arm round ops_per_s p50 p99 cpu_us
: >"$results"
set -- $arms
for r in $(seq 1 "$rounds"); do
	for c in $cases; do
		order=$(for i in 0 1 2 3; do echo "${arms// /$'\n'}" | sed -n "$(((i + r) % 4 + 1))p"; done)
		for arm in $order; do
			echo "$c $arm $r $(run_one "$c" "$arm")" >>"$results"
		done
	done
	echo "run_write_bench: round $r of $rounds done" >&2
done
echo "run_write_bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ratios CASE ARM FIELD: arm / base of that field in each round.
ratios() {
	awk -v c="$1" -v a="$2" -v f="$3" '$1 == c && $2 == "base" { b[$3] = $f } $1 == c && $2 == a { x[$3] = $f }
		END { for (r in x) if (b[r] > 0) printf "%.4f\n", x[r] / b[r] }' "$results"
}

# pair CASE ARM FIELD: the median over rounds of arm / base of that field in the same round.
pair() {
	ratios "$@" | median
}

printf '%-7s %-9s %12s %9s %9s %12s %23s %9s %10s\n' case arm ops/s p50_us p99_us ratio_vs_base \
	"ratio min-q1-q3-max" cpu_us cpu_ratio
for c in $cases; do
	for arm in $arms; do
		ops_med=$(awk -v c="$c" -v a="$arm" '$1 == c && $2 == a { print $4 }' "$results" | median)
		p50=$(awk -v c="$c" -v a="$arm" '$1 == c && $2 == a { print $5 }' "$results" | median)
		p99=$(awk -v c="$c" -v a="$arm" '$1 == c && $2 == a { print $6 }' "$results" | median)
		cpu=$(awk -v c="$c" -v a="$arm" '$1 == c && $2 == a { print $7 }' "$results" | median)
		ratio=$(pair "$c" "$arm" 4)
		cpu_ratio=$(pair "$c" "$arm" 7)
		spread=$(ratios "$c" "$arm" 4 | quartiles)
		printf '%-7s %-9s %12.0f %9s %9s %12s %23s %9s %10s\n' "$c" "$arm" "$ops_med" "$p50" "$p99" "$ratio" "$spread" \
			"$cpu" "$cpu_ratio"
	done
done
