#!/bin/bash
# test_shim_threads.sh - 8 threads, each with a clone of one handle (half of them binary), write their own
# keys, shared keys under the application's lock, and one counter: the mirror must match the server.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" threads "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" || fail "threads: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "threads: the mirror differs from the server"
[ ! -s "$MCM_TMP/shim.log" ] || fail "threads: the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
