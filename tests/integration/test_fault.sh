#!/bin/bash
# test_fault.sh - faults injected into a mirror in use: the host never notices.
#
# An application (crash_fill) writes under the shim in three phases. After phase 0 has reached
# the mirror, one fault is injected, then phase 1 runs, a second application starts on the same
# mirror path (it meets the fault at its first write, where the first one keeps what it had
# mapped and opened), then phase 2 runs. Faults:
#   read-only  the mirror directory and its journal made read-only (a read-only bind mount of
#              the directory over itself, which holds for root too; as another user, chmod;
#              skipped as root where mounting is not permitted)
#   swapped    the journal replaced by the journal of another mirror (swapped-other), or by a
#              file of random bytes (swapped-random)
#   removed    the mirror directory removed with everything in it
# For each: both applications' stdout, stderr and exit code equal those of the same runs
# without the shim (the shim's messages go to MCMIRROR_LOG_FILE, never to the host).
. "$MCM_HARNESS/lib.sh"
mc_start MC
servers=127.0.0.1:$MC_PORT
n0=50 n1=200 n2=50
mounted=()
cleanup_mounts() {
	local m
	for m in "${mounted[@]}"; do
		umount -l "$m" 2>/dev/null || true
	done
	chmod -R u+rwx "$MCM_TMP" 2>/dev/null || true
	mcm_cleanup
}
trap cleanup_mounts EXIT

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds (a liveness deadline).
wait_until() {
	local deadline=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "$what"
		sleep 0.05
	done
}
applied() { [ "$("$MCM_BIN/crash_verify" pending "$1")" = 0 ]; }

# The reference: the application without the shim, every phase at once.
mkdir -p "$MCM_TMP/ref"
touch "$MCM_TMP/ref/go0" "$MCM_TMP/ref/go1" "$MCM_TMP/ref/go2" "$MCM_TMP/ref/quit"
ref_rc=0
"$MCM_BIN/crash_fill" "$servers" "$MCM_TMP/ref" $n0 $n1 $n2 >"$MCM_TMP/ref.out" 2>"$MCM_TMP/ref.err" || ref_rc=$?
assert_eq "$ref_rc" 0 "exit code without the shim ($(cat "$MCM_TMP/ref.err"))"

# same_as_ref LABEL RC OUT ERR: an application's run under the shim printed and exited as the reference
same_as_ref() {
	assert_eq "$2" "$ref_rc" "$1: exit code under the shim"
	cmp -s "$MCM_TMP/ref.out" "$3" || fail "$1: stdout differs under the shim: $(diff "$MCM_TMP/ref.out" "$3" | head -5)"
	cmp -s "$MCM_TMP/ref.err" "$4" || fail "$1: stderr differs under the shim: $(head -5 "$4")"
}

# run_with_fault LABEL FAULT-FUNCTION: the two applications around the fault, compared to the reference
run_with_fault() {
	local label=$1 fault=$2 run=$MCM_TMP/$1 mirror=$MCM_TMP/$1/mirror app rc=0 rc2=0
	mkdir -p "$run/a" "$run/b"
	touch "$run/a/go0" "$run/b/go0" "$run/b/go1" "$run/b/go2" "$run/b/quit"
	MCMIRROR_LOG_FILE=$run/shim-a.log under_shim "$mirror" exec "$MCM_BIN/crash_fill" "$servers" "$run/a" \
		$n0 $n1 $n2 >"$run/a.out" 2>"$run/a.err" &
	app=$!
	MCM_PIDS+=("$app")
	wait_until 20 "$label: phase 0 did not finish" test -e "$run/a/done0"
	wait_until 20 "$label: phase 0 did not reach the mirror" applied "$mirror"
	"$fault" "$mirror" || fail "$label: could not inject the fault"
	touch "$run/a/go1"
	wait_until 30 "$label: phase 1 did not finish" test -e "$run/a/done1"
	MCMIRROR_LOG_FILE=$run/shim-b.log under_shim "$mirror" "$MCM_BIN/crash_fill" "$servers" "$run/b" \
		$n0 $n1 $n2 >"$run/b.out" 2>"$run/b.err" || rc2=$?
	touch "$run/a/go2" "$run/a/quit"
	wait "$app" || rc=$?
	same_as_ref "$label (running)" "$rc" "$run/a.out" "$run/a.err"
	same_as_ref "$label (started after)" "$rc2" "$run/b.out" "$run/b.err"
	echo "$label: host output unchanged; the shim logged: $(cat "$run"/shim-*.log 2>/dev/null | tr '\n' ' ')"
}

fault_read_only() {
	local mirror=$1
	if [ "$(id -u)" != 0 ]; then
		chmod 0400 "$mirror/journal" && chmod 0500 "$mirror"
		return
	fi
	mount --bind "$mirror" "$mirror" || return 1
	mounted+=("$mirror")
	mount -o remount,bind,ro "$mirror" || return 1
	! touch "$mirror/probe" 2>/dev/null # read-only for root too
}

# The journal of another mirror (made by a short run under the shim), renamed over the journal.
fault_swapped_other() {
	local mirror=$1 other=$MCM_TMP/other
	mkdir -p "$other/run"
	touch "$other/run/go0" "$other/run/go1" "$other/run/go2" "$other/run/quit"
	MCMIRROR_LOG_FILE=$other/shim.log under_shim "$other/mirror" "$MCM_BIN/crash_fill" "$servers" "$other/run" \
		1 1 1 >/dev/null || return 1
	mv "$other/mirror/journal" "$mirror/journal.other" && mv "$mirror/journal.other" "$mirror/journal"
}

# Random bytes of the journal's size, renamed over it.
fault_swapped_random() {
	local mirror=$1
	head -c "$(stat -c %s "$mirror/journal")" /dev/urandom >"$mirror/journal.random" &&
		mv "$mirror/journal.random" "$mirror/journal"
}

fault_removed() {
	rm -rf "$1"
}

# read-only needs a mount as root: probe it first, so that a refusal skips only that case
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$MCM_TMP/probe"
	if mount --bind "$MCM_TMP/probe" "$MCM_TMP/probe" 2>/dev/null; then
		umount "$MCM_TMP/probe"
		run_with_fault read-only fault_read_only
	else
		echo "note: running as root where mounting is not permitted: the read-only case is skipped"
	fi
else
	run_with_fault read-only fault_read_only
fi
run_with_fault swapped-other fault_swapped_other
run_with_fault swapped-random fault_swapped_random
run_with_fault removed fault_removed
echo "PASS"
