#!/bin/bash
# test_shim_title.sh - a host that sets its process title by overwriting the argv/environment block
# (as PostgreSQL and php-fpm do), forking before and after, with MCMIRROR_LOG_FILE set: every write
# of the three processes is mirrored, and the shim has nothing to report. Then settings longer than
# the shim keeps: a refused MCMIRROR_PATH passes the writes through and says so once; a refused
# MCMIRROR_LOG_FILE sends that message to stderr.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_title" "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" 50 || fail "the title-setting host failed"
[ "$(wc -l <"$MCM_TMP/keys")" = 150 ] || fail "the host listed $(wc -l <"$MCM_TMP/keys") keys, not 150"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" >"$MCM_TMP/check" 2>&1 ||
	fail "writes made after the title was set are not mirrored: $(head -3 "$MCM_TMP/check")"
[ ! -s "$MCM_TMP/shim.log" ] || fail "the shim logged: $(cat "$MCM_TMP/shim.log")"

long=$MCM_TMP/$(printf 'd%.0s' $(seq 1 5000))
MCMIRROR_LOG_FILE=$MCM_TMP/long.log under_shim "$long" "$MCM_BIN/shim_title" "$MCM_TMP/keys2" \
	"127.0.0.1:$S1_PORT" 5 2>"$MCM_TMP/long.err" || fail "the host failed with a refused MCMIRROR_PATH"
assert_eq "$(grep -c "refusing MCMIRROR_PATH: 50.. bytes, longer than the 4095 this library keeps; writes pass through" \
	"$MCM_TMP/long.log")" 1 "the refusal of MCMIRROR_PATH, once in the log"
[ ! -s "$MCM_TMP/long.err" ] || fail "the host printed: $(cat "$MCM_TMP/long.err")"
MCMIRROR_LOG_FILE=$long under_shim "$long" "$MCM_BIN/shim_title" "$MCM_TMP/keys2" "127.0.0.1:$S1_PORT" 5 \
	2>"$MCM_TMP/long2.err" || fail "the host failed with a refused MCMIRROR_LOG_FILE"
grep -q "refusing MCMIRROR_LOG_FILE: .*; messages go to stderr" "$MCM_TMP/long2.err" ||
	fail "no refusal of MCMIRROR_LOG_FILE on stderr: $(cat "$MCM_TMP/long2.err")"
echo "PASS"
