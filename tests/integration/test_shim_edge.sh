#!/bin/bash
# test_shim_edge.sh - writes to keys the server holds but the mirror never saw (written before the
# shim was installed, or evicted since): *_with_initial whose result equals the initial value,
# add, touch, delete, set. The mirror may miss such keys; it must never hold another value.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
under_shim "$mirror" "$MCM_BIN/shim_drive" edge "$MCM_TMP/keys" "127.0.0.1:$S1_PORT" >"$MCM_TMP/transcript" ||
	fail "edge: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "edge: the mirror holds what the server does not"
echo "PASS"
