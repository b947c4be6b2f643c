#!/bin/bash
# long_run.sh - long fuzz runs: many inputs in a build with UBSan only, then every input of the corpus
# they leave run once more under AddressSanitizer; prints a table of executions, time, rate, coverage.
#
# usage: tests/fuzz/long_run.sh [-n RUNS | -t SECONDS] [-d CORPUS_ROOT] [TARGET...]
#   -n RUNS         inputs per target (default 10000000)
#   -t SECONDS      or: how long each target runs
#   -d CORPUS_ROOT  the corpora, one folder per target, kept between runs (default fuzz-corpus)
#   TARGET          dumpfmt load record journal pipe replies (default: all, one after the other)
# Environment: FUZZ_UB_BUILD (default build-fuzz-ub: -DMCM_FUZZ=ON -DMCM_FUZZ_ASAN=OFF) and
# FUZZ_ASAN_BUILD (default build-fuzz: -DMCM_FUZZ=ON), configured with clang and built when missing;
# TMPDIR (default /dev/shm here: the targets make mirrors in it).
#
# Why two builds: load, replies and journal open LMDB environments for every input, and under
# AddressSanitizer each open costs milliseconds (LMDB's 3 MiB of page lists: their shadow memory
# poisoned and faulted in at every allocation and free). Without it they run 7 to 200 times as many
# inputs a second; UBSan and every target's invariants still abort on a finding. The corpus, the
# inputs that reached new code, is then run under ASan, which catches the memory errors those
# reach. (An input that overflows a buffer without crashing and without new coverage is found by
# the short ASan runs of CI and of this script's second step only if it is in the corpus.)
#
# Exit: 0 every target clean; 1 a crash, a broken invariant, a leak or a timeout (the reproducer's
# name is printed: run it with the target's binary); 2 usage or build error. Each target's log is
# CORPUS_ROOT/TARGET.log (UBSan run) and CORPUS_ROOT/TARGET.asan.log.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=10000000 seconds= corpora=fuzz-corpus
all="dumpfmt load record journal pipe replies"

usage() { # usage CODE: the text of lines 5-12, on stdout when asked for (-h, 0), else on stderr
	sed -n '5,12s/^# \{0,1\}//p' "$0" >&"$(($1 == 0 ? 1 : 2))"
	exit "$1"
}
while getopts "n:t:d:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	t) seconds=$OPTARG ;;
	d) corpora=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "long_run: -n wants a positive number of inputs, not '$runs'" >&2; exit 2; }
[ -z "$seconds" ] || [[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "long_run: -t wants a positive number of seconds, not '$seconds'" >&2; exit 2; }
targets=${*:-$all}
for t in $targets; do
	[[ " $all " == *" $t "* ]] || { echo "long_run: no target '$t' (one of: $all)" >&2; exit 2; }
done

ub=${FUZZ_UB_BUILD:-$root/build-fuzz-ub}
asan=${FUZZ_ASAN_BUILD:-$root/build-fuzz}
# build DIR ASAN: configure (clang) when DIR has no cache, then build the targets and their seeds
build() {
	if [ ! -f "$1/CMakeCache.txt" ]; then
		cmake -S "$root" -B "$1" -DCMAKE_C_COMPILER=clang -DMCM_FUZZ=ON -DMCM_FUZZ_ASAN="$2" >/dev/null ||
			{ echo "long_run: cannot configure $1" >&2; exit 2; }
	fi
	cmake --build "$1" -j"$(nproc)" >/dev/null || { echo "long_run: cannot build $1 (cmake --build $1)" >&2; exit 2; }
}
build "$ub" OFF
build "$asan" ON
export TMPDIR=${TMPDIR:-/dev/shm}
mkdir -p "$corpora" || exit 2

# stat LOG NAME: a value of libFuzzer's final statistics (-print_final_stats=1)
stat() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -1
}

found=0
printf '%-8s %12s %8s %8s %12s %7s %10s\n' target executions seconds exec/s "cov / ft" corpus asan_replay
for t in $targets; do
	dir=$corpora/$t log=$corpora/$t.log alog=$corpora/$t.asan.log
	mkdir -p "$dir"
	limit=(-runs="$runs")
	[ -n "$seconds" ] && limit=(-max_total_time="$seconds")
	start=$(date +%s)
	# glibc keeps LMDB's page lists in its heap instead of mapping and faulting them in for every
	# environment (fuzz_load 1.9, fuzz_replies 1.5 times as many inputs a second)
	GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824 \
		"$ub/fuzz/fuzz_$t" "${limit[@]}" -timeout=30 -close_fd_mask=3 -print_final_stats=1 \
		-artifact_prefix="$corpora/$t-" "$dir" "$ub/fuzz/seeds/$t" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(stat "$log" number_of_executed_units)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 | awk '{ print $2 " / " $4 }')
	if [ "$rc" != 0 ]; then
		echo "long_run: $t: the UBSan run ended with $rc after ${execs:-?} inputs:" >&2
		grep -E 'invariant broken|runtime error|ERROR:|Test unit written' "$log" | head -5 >&2
		found=1
		continue
	fi
	# every input of the corpus once more, under ASan (-runs=0: the corpus, then stop)
	if "$asan/fuzz/fuzz_$t" -runs=0 -timeout=60 -close_fd_mask=3 -artifact_prefix="$corpora/$t-asan-" "$dir" \
		>"$alog" 2>&1; then
		replay="clean"
	else
		replay="FAILED"
		found=1
		grep -E 'invariant broken|runtime error|ERROR:|Test unit written' "$alog" | head -5 >&2
	fi
	printf '%-8s %12s %8s %8s %12s %7s %10s\n' "$t" "$execs" "$took" "$((execs / (took > 0 ? took : 1)))" \
		"$cov" "$(find "$dir" -type f | wc -l)" "$replay"
done
exit "$found"
