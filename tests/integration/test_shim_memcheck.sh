#!/bin/bash
# test_shim_memcheck.sh - the shim inside a host, and the tool on the mirror it wrote, under valgrind's
# memcheck: no read of uninitialised memory (a branch on it, bytes of it written to the journal, to
# LMDB or to a socket), no invalid read or write, in every intercepted write over both protocols
# (shim_drive ascii and binary) and at random in threads and processes (shim_every), then in stats,
# dump, load, replay and verify. memcheck sees what AddressSanitizer does not (uninitialised reads;
# reads inside libmemcached and LMDB, which are not instrumented). Skipped without valgrind and in the
# sanitizer builds (one checker per process).
. "$MCM_HARNESS/lib.sh"
command -v valgrind >/dev/null || skip "valgrind is not installed"
mcm_preload_prefix
[ -z "$MCM_PRELOAD_PREFIX" ] || skip "a sanitizer build: its runtime cannot run under valgrind"

# memcheck STEP COMMAND...: run COMMAND under memcheck; a report fails the test, naming STEP.
memcheck() {
	local step=$1 rc=0
	shift
	valgrind -q --error-exitcode=99 --log-file="$MCM_TMP/memcheck.$step.%p" "$@" || rc=$?
	if grep -qs . "$MCM_TMP"/memcheck."$step".*; then
		fail "$step: memcheck reported: $(head -40 "$MCM_TMP"/memcheck."$step".*)"
	fi
	return $rc
}

for proto in ascii binary; do
	mc_start A
	mc_start B
	mc_start C
	mirror=$MCM_TMP/mirror-$proto
	MCMIRROR_LOG_FILE=$MCM_TMP/shim.log LD_PRELOAD=$MCM_SHIM MCMIRROR_PATH=$mirror \
		memcheck "shim-$proto" "$MCM_BIN/shim_drive" "$proto" "$MCM_TMP/keys-$proto" \
		"127.0.0.1:$A_PORT" "127.0.0.1:$B_PORT" "127.0.0.1:$C_PORT" >"$MCM_TMP/transcript" ||
		fail "$proto: a call returned something else under the shim than the server should say"
	"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys-$proto" >/dev/null ||
		fail "$proto: the mirror differs from the servers"
	[ ! -s "$MCM_TMP/shim.log" ] || fail "$proto: the shim logged: $(cat "$MCM_TMP/shim.log")"
	mc_stop A
	mc_stop B
	mc_stop C
done

# every call at random in 3 processes x 3 threads (shim_every), checked against its model of the servers
mc_start A
mc_start B
mc_start C
LD_PRELOAD=$MCM_SHIM MCMIRROR_PATH=$MCM_TMP/mirror-every memcheck every "$MCM_BIN/shim_every" run "$MCM_TMP/keys-every" \
	"127.0.0.1:$A_PORT" "127.0.0.1:$B_PORT,127.0.0.1:$C_PORT" 4242 200 >"$MCM_TMP/every.out" ||
	fail "every: the replies differ from the model: $(cat "$MCM_TMP/every.out")"

M=$MCM_TMP/mirror-ascii
memcheck stats "$MCM_TOOL" --mirror "$M" stats >/dev/null || fail "stats"
memcheck dump "$MCM_TOOL" --mirror "$M" dump --all -f "$MCM_TMP/dump" 2>/dev/null || fail "dump"
memcheck load "$MCM_TOOL" --mirror "$MCM_TMP/loaded" load "$MCM_TMP/dump" 2>/dev/null || fail "load"
"$MCM_TOOL" --mirror "$MCM_TMP/loaded" dump --all -f "$MCM_TMP/dump2" 2>/dev/null || fail "dump of the loaded mirror"
# (the header names the mirror dumped and when; the trailer's checksum covers the header)
[ "$(grep -Ev '^(created|mirror|DATA)=' "$MCM_TMP/dump")" = "$(grep -Ev '^(created|mirror|DATA)=' "$MCM_TMP/dump2")" ] ||
	fail "the loaded mirror is not the dumped one"
mc_start R
# the one-server pool holding the most live items, replayed into a new server and verified there
for pool in $("$MCM_TOOL" --mirror "$M" --json stats | python3 -c '
import json, sys
pools = [p for p in json.load(sys.stdin)["pools"] if p["server_count"] == 1]
print(max(pools, key=lambda p: p["live_items"])["id"])'); do
	memcheck replay "$MCM_TOOL" --mirror "$M" replay --pool "$pool" --servers "127.0.0.1:$R_PORT" 2>/dev/null ||
		fail "replay"
	memcheck verify "$MCM_TOOL" --mirror "$M" verify --pool "$pool" --servers "127.0.0.1:$R_PORT" \
		2>"$MCM_TMP/verify" || fail "verify after replay: $(cat "$MCM_TMP/verify")"
done
echo "PASS"
