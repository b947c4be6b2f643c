#!/bin/bash
# test_shim_answers.sh - definite answers that are not successes, over ascii and binary with a
# namespace (shim_answers.c): a key the server says is absent (NOT_FOUND, NOT_STORED), an incr of a
# value that is not a number, a number in memcached's looser forms, a value too large, a decr while
# another connection holds the item. The mirror must hold exactly what the server holds, and not
# one of these writes may count as a drop of an unknown outcome.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" answers "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" >"$MCM_TMP/transcript" ||
	fail "answers: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "answers: the mirror differs from the server"
stats=$("$MCM_BIN/mirror_check" --stats "$mirror") || fail "cannot read the mirror's counters"
assert_eq "$(awk '$1 == "dropped_uncertain" { print $2 }' <<<"$stats")" 0 \
	"keys counted as dropped for an unknown outcome (every answer here is definite)"
[ ! -s "$MCM_TMP/shim.log" ] || fail "the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
