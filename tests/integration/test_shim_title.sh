#!/bin/bash
# test_shim_title.sh - a host that sets its process title by overwriting the argv/environment block
# (as PostgreSQL and php-fpm do), forking before and after, with MCMIRROR_LOG_FILE set: every write
# of the three processes is mirrored, and the shim has nothing to report.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_title" "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" 50 || fail "the title-setting host failed"
[ "$(wc -l <"$MCM_TMP/keys")" = 150 ] || fail "the host listed $(wc -l <"$MCM_TMP/keys") keys, not 150"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" >"$MCM_TMP/check" 2>&1 ||
	fail "writes made after the title was set are not mirrored: $(head -3 "$MCM_TMP/check")"
[ ! -s "$MCM_TMP/shim.log" ] || fail "the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
