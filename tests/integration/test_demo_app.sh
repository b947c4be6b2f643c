#!/bin/bash
# test_demo_app.sh - the README's demo as a test: the demo application (examples/demo_app.c: sessions,
# page-view counters, login and logout counters, logouts) writes under the shim, memcached is killed
# -9 and started empty, `mcmirror replay` puts the mirror back, and the application's own check finds
# every session and counter with its value, and no logged-out session (it exits 1 otherwise).
. "$MCM_HARNESS/lib.sh"
need_memcached
APP=$MCM_BIN/../examples/mcmirror-demo-app
M=$MCM_TMP/mirror
mc_start S
under_shim "$M" "$APP" write "127.0.0.1:$S_PORT" 1000 || fail "demo write"
"$APP" check "127.0.0.1:$S_PORT" || fail "the demo's own check before the crash"
mc_restart S
! "$APP" check "127.0.0.1:$S_PORT" >/dev/null || fail "memcached came back with data: not a restart"
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$S_PORT" 2>"$MCM_TMP/err" || fail "replay: $(cat "$MCM_TMP/err")"
"$APP" check "127.0.0.1:$S_PORT" || fail "the demo's data did not all come back"
dropped=$("$MCM_TOOL" --mirror "$M" stats | awk '$1 == "total.dropped:" { print $2 }')
assert_eq "$dropped" 0 "keys the mirror dropped"
echo PASS
