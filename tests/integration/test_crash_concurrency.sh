#!/bin/bash
# test_crash_concurrency.sh - forked processes with threads write through one mirror (like php-fpm);
# the drainer is killed and another process takes over.
#
# A: a parent makes a first write (the shim starts), forks 4 children of 2
#    threads each; own keys must end exactly right, shared keys right or absent,
#    every record listed exactly once (crash_verify conc). A timeout catches deadlocks.
# B: a holder process is the drainer; the parent's drainer waits for the drain
#    lock when it forks; the holder is killed so the parent becomes the drainer,
#    then the parent is killed and its children write: a child must take over
#    and apply the whole journal while they still run (a child that inherited
#    the parent's lock descriptor must not keep the lock from them).
. "$MCM_HARNESS/lib.sh"
# The children are forked while the parent's drainer thread runs: in the AddressSanitizer build a child
# can block for good in its first allocation, on the allocator lock the drainer held at fork() (gcc 12's
# ASan allocator is not fork-safe; seen 1 run in 8 on a loaded machine: every thread of a child waiting in
# __sanitizer::Mutex::Lock under calloc, in part A where nothing is killed). As test_shim_forks.sh, it
# runs in the gcc build and under ThreadSanitizer, and is skipped with ASan.
! asan_build || skip "AddressSanitizer build: its allocator is not fork-safe"
mc_start MC
servers=127.0.0.1:$MC_PORT
ops=${CRASH_OPS:-3000}

# The pid holding the drain lock of mirror $1 (from /proc/locks), or nothing.
lock_holder() {
	local inode
	inode=$(stat -c %i "$1/drain.lock" 2>/dev/null) || return 0
	awk -v ino=":$inode" '$2 == "FLOCK" && $4 == "WRITE" && substr($6, length($6) - length(ino) + 1) == ino { print $5; exit }' /proc/locks
}

# lock_is MIRROR PID: does PID hold the drain lock of MIRROR?
lock_is() {
	[ "$(lock_holder "$1")" = "$2" ]
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds (a liveness deadline, not a timing test).
wait_until() {
	local deadline=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "$what"
		sleep 0.02
	done
}

# --- A: 4 processes x 2 threads, nothing killed
mkdir -p "$MCM_TMP/a"
under_shim "$MCM_TMP/ma" timeout 50 "$MCM_BIN/crash_procs" run "$servers" "$MCM_TMP/a" 4 2 "$ops" ||
	fail "A: the writers failed or deadlocked ($?)"
out=$("$MCM_BIN/crash_verify" conc "$MCM_TMP/ma" "$servers" 4 2 "$ops") || fail "A: $out"
echo "A: $out"

# --- B: kill the drainer twice
mb=$MCM_TMP/mb
b=$MCM_TMP/b
mkdir -p "$b"
touch "$b/wait-go" "$b/wait-quit"
under_shim "$mb" exec "$MCM_BIN/crash_procs" hold "$servers" &
holder=$!
MCM_PIDS+=("$holder")
wait_until 10 "B: the holder never took the drain lock" lock_is "$mb" "$holder"
under_shim "$mb" exec "$MCM_BIN/crash_procs" run "$servers" "$b" 4 2 "$ops" &
parent=$!
MCM_PIDS+=("$parent")
wait_until 10 "B: the parent did not fork" test -s "$b/parent.pid"
children=$(pgrep -P "$parent" | tr '\n' ' ')
MCM_PIDS+=($children)
kill -9 "$holder"
wait "$holder" 2>/dev/null || true
wait_until 10 "B: the parent did not take over the drain lock" lock_is "$mb" "$parent"
kill -9 "$parent"
wait "$parent" 2>/dev/null || true
touch "$b/go" # the children write only now: their drainers must take over
wait_until 50 "B: the children did not finish writing" test -e "$b/done.0" -a -e "$b/done.1" -a -e "$b/done.2" -a -e "$b/done.3"
journal_empty() { [ "$("$MCM_BIN/crash_verify" pending "$mb")" = 0 ]; }
wait_until 20 "B: nobody drains the journal after the drainer was killed (lock held by '$(lock_holder "$mb")', children $children)" journal_empty
new=$(lock_holder "$mb")
case " $children " in *" $new "*) ;; *) fail "B: the drain lock is held by '$new', not by a child ($children)" ;; esac
touch "$b/quit"
out=$("$MCM_BIN/crash_verify" conc "$mb" "$servers" 4 2 "$ops") || fail "B: $out"
echo "B: $out (drainer after the kills: $new)"
echo "PASS"
