#!/bin/bash
# test_shim_takeover.sh - one record a write, when the drainer always comes first: journal_taker
# takes over every one-record write while its call is in flight, so each call's resolution fails
# and the shim appends the outcome instead (docs/FORMAT.md §1.11). Over every intercepted write
# on the ascii protocol and the definite answers that are not successes (shim_drive ascii and
# answers), the mirror must still hold exactly what the servers hold, with no key dropped for an
# unknown outcome that the answers case did not drop without it.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3
mirror=$MCM_TMP/mirror
stop=$MCM_TMP/stop
"$MCM_BIN/journal_taker" "$mirror" "$stop" >"$MCM_TMP/taker" &
taker=$!
MCM_PIDS+=("$taker")
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" ascii "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" "127.0.0.1:$S2_PORT" "127.0.0.1:$S3_PORT" >"$MCM_TMP/transcript" ||
	fail "ascii: a call returned something else under the shim than the server should say"
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" answers "$MCM_TMP/keys2" \
	"127.0.0.1:$S1_PORT" >"$MCM_TMP/transcript2" ||
	fail "answers: a call returned something else under the shim than the server should say"
touch "$stop"
wait "$taker" || fail "journal_taker failed"
read -r _ taken _ resolved <"$MCM_TMP/taker"
echo "one-record writes taken over while in flight: $taken (found resolved: $resolved)"
# (about 275 on an idle machine, 91 with two CPU hogs running: the taker competes for a CPU)
[ "$taken" -ge 20 ] || fail "too few writes were taken over ($taken) to test anything"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "ascii: the mirror differs from the servers"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys2" || fail "answers: the mirror differs from the server"
[ ! -s "$MCM_TMP/shim.log" ] || fail "the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
