#!/bin/bash
# test_python_pylibmc.sh - Python's pylibmc, unmodified, under the shim (Debian's /usr/bin/python3,
# which loads pylibmc's extension RTLD_LOCAL): after kill -9 of both servers and `mcmirror replay`,
# the application reads back everything it wrote.
#
# pylibmc_app.py writes over the text and the binary protocol (ketama, two servers): set_multi
# (also with key_prefix), incr/decr, append/prepend, touch, cas, failing add/replace, delete_multi;
# then 8 threads write at once, 4 with a Client each and 4 through one ClientPool (pylibmc
# releases the GIL around each call: the shim's hooks run in parallel). The writes run once
# without the shim and once under it, on fresh servers; their stdout and exit codes must be
# identical. Every key must then read back as written (deleted keys absent): on the original
# servers, not on the restarted empty ones (the check can fail), and again after the replay;
# `mcmirror verify` must find nothing different. Runs in sanitizer builds too.
. "$MCM_HARNESS/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY (Debian package python3)"
"$PY" -c 'import pylibmc' 2>/dev/null || skip "$PY has no pylibmc (Debian package python3-pylibmc)"
app=$(dirname "$0")/pylibmc_app.py
mirror=$MCM_TMP/mirror

# py ARGS...: run the application
py() {
	"$PY" "$app" "$@"
}

# items PORT: how many items the server holds
items() {
	mc_cmd "$1" "stats\r\nquit\r\n" | tr -d '\r' | awk '$2 == "curr_items" { print $3 }'
}

mc_start S1
mc_start S2
servers=127.0.0.1:$S1_PORT,127.0.0.1:$S2_PORT
for run in plain shim; do
	[ $run = plain ] || mc_restart S1 S2
	wrap=(plain)
	[ $run = plain ] || wrap=(under_shim "$mirror")
	rc=0
	"${wrap[@]}" py write "$servers" >"$MCM_TMP/$run.out" 2>"$MCM_TMP/$run.err" || rc=$?
	echo "$rc" >"$MCM_TMP/$run.rc"
	[ "$rc" = 0 ] || fail "the writes failed ($run): $(tail -5 "$MCM_TMP/$run.err")"
done
for f in out rc; do
	cmp -s "$MCM_TMP/plain.$f" "$MCM_TMP/shim.$f" ||
		fail "another $f under the shim: $(diff "$MCM_TMP/plain.$f" "$MCM_TMP/shim.$f" | head -6)"
done
grep -q "^bin thread 7 successes -> 151$" "$MCM_TMP/shim.out" || fail "the threads did not all succeed: $(cat "$MCM_TMP/shim.out")"
py check "$servers" >"$MCM_TMP/check-before" || fail "the data is not as written before the crash: $(cat "$MCM_TMP/check-before")"
[ "$(items "$S1_PORT")" -gt 0 ] && [ "$(items "$S2_PORT")" -gt 0 ] ||
	fail "the keys are not spread over both servers: $(items "$S1_PORT") and $(items "$S2_PORT") items"

mc_restart S1 S2
if py check "$servers" >"$MCM_TMP/check-empty"; then
	fail "the check passes on empty servers: it proves nothing"
fi
"$MCM_TOOL" --mirror "$mirror" replay --servers "$servers" 2>"$MCM_TMP/replay.err" ||
	fail "replay failed: $(cat "$MCM_TMP/replay.err")"
py check "$servers" >"$MCM_TMP/check-after" || fail "after the replay: $(cat "$MCM_TMP/check-after")"
"$MCM_TOOL" --mirror "$mirror" verify --servers "$servers" 2>"$MCM_TMP/verify.err" ||
	fail "verify after the replay: $(cat "$MCM_TMP/verify.err")"
echo "PASS"
