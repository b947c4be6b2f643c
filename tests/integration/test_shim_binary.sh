#!/bin/bash
# test_shim_binary.sh - every intercepted write over the binary protocol, with and without a namespace,
# in three pools (overlapping keys, a two-server pool, a flushed one): the mirror must hold exactly what
# the servers hold, and drop only what the contract lets it drop.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" binary "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" "127.0.0.1:$S2_PORT" "127.0.0.1:$S3_PORT" >"$MCM_TMP/transcript" ||
	fail "binary: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "binary: the mirror differs from the servers"
[ ! -s "$MCM_TMP/shim.log" ] || fail "binary: the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
