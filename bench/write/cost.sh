#!/bin/bash
# cost.sh - what a mirrored write costs the host, counted in instructions (callgrind), per thread.
#
# usage: bench/write/cost.sh [BUILD_DIR]    (default: build; a RelWithDebInfo or Release build)
# Environment: CLIENTS ("set bufnr": blocking sets; binary + BUFFER_REQUESTS + NOREPLY sets),
# MODES ("base none everysec always": base is no shim), MIRRORS ("fresh reused"), N1 (8000),
# N2 (40000), KEYS (10000: the keys a reused mirror holds), VALUE (100 bytes), WARMUP (4096 writes
# before the counted ones, in every run: one full drain batch), STEP_RECORDS (the journal records
# the drainer applies per transaction at most; default its own cap, 8,192: see "batch" below; a
# one-record write counts as two), TRIES (1: how many times each case with the shim is counted,
# the median printed; base is always counted three times), MEMCACHED_BINARY, TMPDIR.
#
# The window starts at N1 = 8000 writes, not earlier: in a shorter one (2000 to 4000, the default
# until 2026-12-05) the drainer's sweep had not yet reached its steady pace and batches were
# larger, and the drainer counted about 1,300 fewer instructions a write than from 6,000 writes on
# (4,117 against 5,387 for the build of 8780779: docs/PERFORMANCE.md). It ends at N2 = 40000
# (24000 until the rebuild of the seq index waited for two stale entries a record): a reused
# mirror's first rebuild comes after about 2 * KEYS + 4096 overwrites, and must fall in a run.
# Each case runs bench/write/mcm-load (one worker process) under
#   valgrind --tool=callgrind --separate-threads=yes
# twice, with N1 and N2 writes, and prints (I(N2) - I(N1)) / (N2 - N1) for each thread of the
# worker: the application's thread (the calls) and the shim's drainer thread (LMDB). The start-up,
# the warm-up write and the exit cancel out in the difference. The worker waits, before it exits,
# until the drainer has applied every write of its run, so the drainer's count holds all of them.
#   fresh:  a mirror holding one key, every write a new key (keys drawn from 10^8); made, as a
#           host's first writes make it, by a process whose drainer opened it (a drainer of format 4
#           is what lets the shim record a write as one journal record: docs/FORMAT.md §1.11; the
#           runs hold the drain lock until their writes are done, so a mirror no drainer ever
#           opened would be counted with two records a write);
#   reused: a mirror that already holds every one of KEYS keys (filled once, without valgrind, and
#           copied for each run), every write an overwrite: the steady state of a host.
# "added" is the count minus the application thread's count without the shim (base) for the same
# client; "hooks" is the part of the application thread's count spent in the shim's hook around
# libmemcached's memcached_set (exact; the whole thread's difference also holds the noise of
# libmemcached's network path, a few hundred instructions either way). "batch" is the writes the
# drainer applied per transaction in the window: its count per write falls as batches grow (more of
# a batch's keys share a page LMDB already found and copied), and under callgrind its thread runs in
# long slices, so its batches fill the cap (STEP, 8,192 records: about 4,000 writes), as a host's do
# only above about 80,000 writes a second; slower hosts apply smaller batches, at a higher cost a
# write (docs/PERFORMANCE.md). STEP_RECORDS=2000 measures the batches of a host writing about
# 20,000 a second (1,000 writes in each of the drainer's 50-ms naps in everysec).
# Nothing is timed: the counts are the same on a busy machine (within a few instructions; the
# drainer's batches follow the clock, so its count moves by a few percent from run to run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-$here/../../build}
load=$build/bench/write/mcm-load
shim=$build/shim/libmcmirror.so
clients=${CLIENTS:-set bufnr}
modes=${MODES:-base none everysec always}
mirrors=${MIRRORS:-fresh reused}
n1=${N1:-8000}
n2=${N2:-40000}
keys=${KEYS:-10000}
value=${VALUE:-100}
warmup=${WARMUP:-4096}
step=${STEP_RECORDS:-}
tries=${TRIES:-1}
memcached=${MEMCACHED_BINARY:-$(command -v memcached || true)}

[ -x "$load" ] || { echo "cost: no '$load': build first (cmake --build $build)" >&2; exit 1; }
[ -f "$shim" ] || { echo "cost: no '$shim'" >&2; exit 1; }
[ -n "$memcached" ] || { echo "cost: no memcached binary (set MEMCACHED_BINARY)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "cost: valgrind is not installed" >&2; exit 1; }
[ "$n2" -gt "$n1" ] || { echo "cost: N2 must be larger than N1" >&2; exit 2; }

bench_tmp mcmcost
mc_start cost
server=127.0.0.1:$MC_PORT

# total FILE: the instructions a callgrind output file counted.
total() {
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# rebuild FILE: "INSTRUCTIONS CALLS" of the drainer's bulk rebuilds of the seq index (store.c's
# reindex_txn, inclusive: collecting, sorting, rewriting and committing), "0 0" without one.
rebuild() {
	callgrind_annotate --auto=no --inclusive=yes --tree=caller "$1" 2>/dev/null | awk '
		/< .*:(mcm_store_tidy|reindex_retry)[^ ]* \(/ { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c) }
		/\* .*:reindex_txn \[/ { gsub(",", "", $1); r = $1; n = c }
		END { print (r ? r : 0), (n ? n : 0) }'
}

# steps FILE: the drainer's transactions that applied journal records (the calls of drain.c's commit
# from mcm_drain_step), 0 without any.
steps() {
	callgrind_annotate --auto=no --inclusive=yes --tree=caller "$1" 2>/dev/null | awk '
		/< .*[ :]mcm_drain_step[^ ]* \(/ { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c) }
		/\* .*[ :]commit \[/ { n = c }
		END { print (n ? n : 0) }'
}

# hooks FILE: instructions inside the shim's memcached_set hook but outside libmemcached's
# memcached_set (the shim's own work, free of the noise of the network path; 0 without the shim).
hooks() {
	callgrind_annotate --inclusive=yes "$1" 2>/dev/null | awk '
		/:memcached_set \[.*libmcmirror/ { gsub(",", "", $1); h = $1 }
		/:memcached_set \[.*libmemcached/ { gsub(",", "", $1); r = $1 }
		END { print (h ? h - r : 0) }'
}

# count CLIENT MODE MIRROR N: run once under callgrind; prints "APP DRAINER" (the worker's threads).
count() {
	local client=$1 mode=$2 mirror=$3 n=$4 k=$keys dir=$tmp/run pid out app drn env=()
	rm -rf "$dir" "$tmp"/cg.*
	[ "$mirror" = fresh ] && k=99999999
	if [ "$mode" != base ]; then
		cp -a "$tmp/filled.$client.$mode.$mirror" "$dir"
		env=(LD_PRELOAD="$shim" MCMIRROR_PATH="$dir" MCMIRROR_SYNC="$mode" MCM_LOAD_HOLD=1 MCM_LOAD_WARMUP="$warmup"
			${step:+MCMIRROR_TEST_DRAIN_STEP="$step"})
	else
		env=(MCM_LOAD_WARMUP="$warmup")
	fi
	env "${env[@]}" valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.%p" \
		"$load" "$server" "$n" 1 "$client" "$value" "$k" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	wait "$pid" || { echo "cost: mcm-load failed ($client $mode $mirror $n):" >&2; tail -5 "$tmp/err" >&2; exit 1; }
	# the worker is the process that is not mcm-load's parent (valgrind runs it as pid)
	out=$(ls "$tmp"/cg.*-01 | grep -v "cg\.$pid-" | sed -E "s/-01$//")
	[ "$(echo "$out" | wc -l)" = 1 ] || { echo "cost: cannot tell the worker's files" >&2; exit 1; }
	app=$(total "$out-01")
	drn=0 rb="0 0" st=0
	[ -f "$out-02" ] && drn=$(total "$out-02") && rb=$(rebuild "$out-02") && st=$(steps "$out-02")
	echo "$app $drn $(hooks "$out-01") $rb $st"
}

# per CLIENT MODE MIRROR: "APP DRAINER HOOKS" per write, the difference of the two lengths. The
# application thread's count without the shim moves by a few hundred instructions from run to
# run (libmemcached waits for the reply in poll() more or less often), with the shim as without
# it: base is the median of three differences, each case with the shim of TRIES (the "app added"
# of one count of a blocking client moved between 1,407 and 1,523 over four runs of one build;
# "hooks" is exact).
# The drainer's count leaves out its bulk rebuilds of the seq index (they fall in one run or the
# other); REBUILD is their cost spread over the writes that make one due: the instructions of a
# rebuild divided by 2 * KEYS + 4096 (store/reindex.c rebuilds once there are MCM_REINDEX_RATIO, 2,
# superseded entries a record and 4096 more, and each write supersedes at most one: an upper
# bound). "-" when
# neither run rebuilt (a fresh mirror never does; a reused one of more keys than N2 writes).
per() {
	local n=$tries i a1 d1 h1 r1 c1 s1 a2 d2 h2 r2 c2 s2 k=$keys
	[ "$2" = base ] && [ "$n" -lt 3 ] && n=3
	for i in $(seq 1 "$n"); do
		read -r a1 d1 h1 r1 c1 s1 < <(count "$@" "$n1")
		read -r a2 d2 h2 r2 c2 s2 < <(count "$@" "$n2")
		echo "$(((a2 - a1) / (n2 - n1))) $(((d2 - r2 - d1 + r1) / (n2 - n1))) $(((h2 - h1) / (n2 - n1)))" \
			"$([ $((c1 + c2)) -gt 0 ] && echo $(((r1 + r2) / (c1 + c2) / (2 * k + 4096))) || echo -)" \
			"$([ "$s2" -gt "$s1" ] && echo $(((n2 - n1) / (s2 - s1))) || echo -)"
	done | sort -n | sed -n "$(((n + 1) / 2))p"
}

echo "cost: N1=$n1 N2=$n2 KEYS=$keys VALUE=$value${step:+ STEP_RECORDS=$step}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
printf '%-6s %-9s %-7s %8s %8s %8s %8s %8s %10s %11s %6s\n' client mode mirror app drainer rebuild total hooks app_added \
	total_added batch
for client in $clients; do
	base_app=
	for mode in $modes; do
		for mirror in $mirrors; do
			[ "$mode" = base ] && [ "$mirror" != "${mirrors%% *}" ] && continue
			if [ "$mode" != base ] && [ ! -d "$tmp/filled.$client.$mode.$mirror" ]; then
				# the mirror a host reuses: every key written once (blocking sets), then drained;
				# a fresh one: one key
				LD_PRELOAD=$shim MCMIRROR_PATH=$tmp/filled.$client.$mode.$mirror MCMIRROR_SYNC=$mode \
					"$load" "$server" 1 1 fill "$value" "$([ "$mirror" = reused ] && echo "$keys" || echo 1)" \
					>/dev/null
			fi
			read -r app drn hk rb bt < <(per "$client" "$mode" "$mirror")
			[ "$mode" = base ] && base_app=$app
			rbn=${rb/-/0}
			if [ "$rb" = - ] && [ "$mirror" = reused ] && [ "$mode" != base ] && [ "$mode" != always ]; then
				# the rebuild's share would be left out of the total: say so rather than print less
				echo "cost: $client $mode: no rebuild of the seq index in either run (N2 $n2 is too" \
					"short for KEYS $keys: the first one comes after about 2 * KEYS + 4096 writes)" >&2
				rb='?'
			fi
			if [ -n "$base_app" ] && [ "$mode" != base ]; then
				printf '%-6s %-9s %-7s %8d %8d %8s %8d %8d %10d %11d %6s\n' "$client" "$mode" "$mirror" "$app" \
					"$drn" "$rb" $((app + drn + rbn)) "$hk" $((app - base_app)) $((app + drn + rbn - base_app)) \
					"$bt"
			else
				printf '%-6s %-9s %-7s %8d %8d %8s %8d %8s %10s %11s %6s\n' "$client" "$mode" \
					"$([ "$mode" = base ] && echo - || echo "$mirror")" "$app" "$drn" "$rb" \
					$((app + drn + rbn)) - - - "${bt:--}"
			fi
		done
	done
done
