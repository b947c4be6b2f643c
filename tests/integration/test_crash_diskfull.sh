#!/bin/bash
# test_crash_diskfull.sh - the mirror's disk fills up: the application does not notice, the shim logs and
# counts, and once there is room again the drainer recovers by itself.
#
# The mirror lives on a small tmpfs (skipped, exit 77, where mounting is not
# permitted), with a 1 MB journal. crash_fill writes in phases: 0 (room),
# 1 (the tmpfs filled by a filler file: LMDB cannot commit, the journal fills,
# records are lost), 2 (the filler removed and the drainer caught up by
# itself). Its output and exit code must equal those of a run without the
# shim; phase 2 must be mirrored completely; nothing in the mirror may
# disagree with the server; the failures must be logged and counted.
. "$MCM_HARNESS/lib.sh"
mc_start MC
servers=127.0.0.1:$MC_PORT
fs=$MCM_TMP/fs
mirror=$fs/m
n0=50 n1=300 n2=200
mkdir -p "$fs"
mount -t tmpfs -o size=8m mcmtest "$fs" 2>/dev/null || skip "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"
trap 'umount -l "$fs" 2>/dev/null || true; mcm_cleanup' EXIT

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds (a liveness deadline).
wait_until() {
	local deadline=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "$what"
		sleep 0.05
	done
}
journal_empty() { [ "$("$MCM_BIN/crash_verify" pending "$mirror")" = 0 ]; }
# phase_over P: phase P finished, or the application died (checked after).
phase_over() { [ -e "$run/done$1" ] || ! kill -0 "$app" 2>/dev/null; }
app_alive() { kill -0 "$app" 2>/dev/null || { wait "$app"; fail "the application died ($?) in phase $1"; }; }

# The reference: the same program without the shim.
mkdir -p "$MCM_TMP/ref" "$MCM_TMP/run"
touch "$MCM_TMP/ref/go0" "$MCM_TMP/ref/go1" "$MCM_TMP/ref/go2" "$MCM_TMP/ref/quit"
ref_rc=0
"$MCM_BIN/crash_fill" "$servers" "$MCM_TMP/ref" $n0 $n1 $n2 >"$MCM_TMP/ref.out" || ref_rc=$?

run=$MCM_TMP/run
touch "$run/go0"
MCMIRROR_JOURNAL_SIZE=1M MCMIRROR_LOG_FILE=$MCM_TMP/shim.log \
	under_shim "$mirror" exec "$MCM_BIN/crash_fill" "$servers" "$run" $n0 $n1 $n2 >"$MCM_TMP/run.out" &
app=$!
MCM_PIDS+=("$app")
wait_until 20 "phase 0 did not finish" phase_over 0
app_alive 0
wait_until 20 "phase 0 was not applied" journal_empty

dd if=/dev/zero of="$fs/filler" bs=64k 2>/dev/null || true # until the tmpfs is full
touch "$run/go1"
wait_until 50 "phase 1 did not finish" phase_over 1
app_alive 1
journal_empty && fail "the journal was applied although the disk is full (did the filler fill it?)"

rm -f "$fs/filler"
wait_until 30 "the drainer did not recover once there was room again" journal_empty
touch "$run/go2"
wait_until 20 "phase 2 did not finish" phase_over 2
app_alive 2
wait_until 20 "phase 2 was not applied by the running drainer" journal_empty
touch "$run/quit"
app_rc=0
wait "$app" || app_rc=$?
assert_eq "$app_rc" "$ref_rc" "exit code under the shim"
diff "$MCM_TMP/ref.out" "$MCM_TMP/run.out" >&2 || fail "the application's output changed under the shim"

out=$("$MCM_BIN/crash_verify" consistent "$mirror" "$servers" "df:2:") || fail "after recovery: $out"
case "$out" in *"prefixed=$n2 "*) ;; *) fail "phase 2 is not completely mirrored: $out" ;; esac
grep -q "cannot write to mirror" "$MCM_TMP/shim.log" || fail "the shim did not log the failed commits: $(cat "$MCM_TMP/shim.log")"
stats=$("$MCM_TOOL" --mirror "$mirror" stats) || fail "mcmirror stats failed"
failed=$(echo "$stats" | sed -n 's/^counters.failed: //p')
[ "${failed:-0}" -ge 1 ] || fail "counters.failed is '$failed'"
lost=$(echo "$stats" | sed -n 's/^counters.lost_drops: //p')
if grep -q "journal of .* is full" "$MCM_TMP/shim.log"; then
	[ "${lost:-0}" -ge 1 ] || fail "the journal was full but counters.lost_drops is '$lost'"
fi
echo "PASS: $out; counters.failed=$failed counters.lost_drops=$lost"
