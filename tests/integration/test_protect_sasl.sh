#!/bin/bash
# test_protect_sasl.sh - memcached -S (SASL PLAIN, binary protocol only; users in a sasldb the test makes
# with saslpasswd2): an application that authenticates with memcached_set_sasl_auth_data marks its pool
# (`mcmirror stats`: sasl yes; one that does not: sasl no); replay and verify with 'mechanism plain'
# credentials bring every value back (read by an independent Python client speaking SASL); without
# credentials replay warns that the pool's client used SASL and fails saying why; wrong credentials
# are refused, exit 1; import refuses a SASL server (no text protocol there to list keys); follow
# works with credentials; no password in any message.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$(dirname "$0")/protect_lib.sh"
need_memcached
need_python
[ -f "$MCM_SHIM" ] || fail "no shim at '$MCM_SHIM'"
N=1500
PW=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
WRONG_PW=wrong-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
GOOD=$MCM_TMP/good.cred
credentials "$GOOD" plain restore "$PW"
BAD=$MCM_TMP/bad.cred
credentials "$BAD" plain restore "$WRONG_PW"
TOKEN=$MCM_TMP/token.cred
credentials "$TOKEN" authfile restore "$PW"

sasl_server S restore "$PW"
SRV=127.0.0.1:$S_PORT
# The independent client authenticates (and a wrong password is refused to it too).
assert_eq "$(total_items "$S_PORT" --auth "$GOOD")" 0 "a new SASL server's items"
check count "$S_PORT" 0 0 x --auth "$BAD" >/dev/null 2>&1 && fail "the SASL server took a wrong password"

# The application, under the shim: with SASL into the SASL server, without into a plain one.
M=$MCM_TMP/m
under_shim "$M" "$MCM_BIN/protect_client" "$S_PORT" "$N" 200 sasl: "$GOOD" || fail "the SASL client"
out=$(check check "$S_PORT" "$N" 200 sasl: --auth "$GOOD") || fail "the SASL client's values: $out"
"$MCM_TOOL" --mirror "$M" stats >"$MCM_TMP/stats" 2>"$ERR" || fail "stats: $(cat "$ERR")"
grep -qx "pool\.[0-9a-f]*\.sasl: yes (its clients authenticate: replay needs credentials)" "$MCM_TMP/stats" ||
	fail "stats does not say the pool's client used SASL: $(grep sasl "$MCM_TMP/stats")"
mc_start PLAIN
under_shim "$MCM_TMP/plain" "$MCM_BIN/protect_client" "$PLAIN_PORT" 10 200 p: || fail "the plain client"
"$MCM_TOOL" --mirror "$MCM_TMP/plain" stats >"$MCM_TMP/stats.plain" 2>"$ERR" || fail "stats: $(cat "$ERR")"
grep -qx "pool\.[0-9a-f]*\.sasl: no" "$MCM_TMP/stats.plain" ||
	fail "stats marks a client that did not use SASL: $(grep sasl "$MCM_TMP/stats.plain")"

# The server is lost; it comes back empty, on the same port.
mc_kill S
sasl_server S restore "$PW"
assert_eq "$(total_items "$S_PORT" --auth "$GOOD")" 0 "the restarted server's items"

# Refusals: without credentials (warned, then said why), wrong ones, a token file for -Y.
run replay --servers "$SRV"
refused 1 "warning: the pool's application authenticated with SASL ('mcmirror stats': sasl yes): its servers will want credentials: give --auth-file (with 'mechanism plain')"
refused 1 "connection closed by the server before any answer (does it require SASL authentication (--auth-file) or TLS (--tls)?)"
run verify --servers "$SRV"
refused 1 "warning: the pool's application authenticated with SASL"
run replay --servers "$SRV" --auth-file "$BAD"
refused 1 "cannot connect to '$SRV': authentication failed: the server refused the user and password of '$BAD'"
grep -q "warning: the pool's application authenticated" "$ERR" && fail "warned although credentials were given: $(cat "$ERR")"
run replay --servers "$SRV" --auth-file "$TOKEN"
refused 1 "cannot connect to '$SRV': the server closed the connection at the text-protocol authentication (a server started with -S wants 'mechanism plain')"
assert_eq "$(total_items "$S_PORT" --auth "$GOOD")" 0 "items stored after refused replays"

# The right credentials: replay, every value read back independently, verify from the environment.
run replay --servers "$SRV" --auth-file "$GOOD"
assert_eq "$rc" 0 "replay with SASL ($(cat "$ERR"))"
grep -q "replayed $N, already present 0, skipped expired 0, failed 0" "$ERR" || fail "replay summary: $(cat "$ERR")"
out=$(check check "$S_PORT" "$N" 200 sasl: --auth "$GOOD") || fail "values after the SASL replay: $out"
MCMIRROR_AUTH_FILE=$GOOD run verify --servers "$SRV"
assert_eq "$rc" 0 "verify with SASL ($(cat "$ERR"))"
grep -q "checked $N: matching $N," "$ERR" || fail "verify summary: $(cat "$ERR")"
check fill "$S_PORT" 1 9 sasl: --auth "$GOOD" || fail "overwrite"
out=$(check check "$S_PORT" "$N" 200 sasl: --auth "$GOOD") && fail "the checker missed a changed item: $out"
run verify --servers "$SRV" --auth-file "$GOOD"
refused 1 "different value 1"

# import cannot list a SASL server's keys (memcached -S turns the text protocol off): said, exit 2.
M=$MCM_TMP/imported
run import --servers "$SRV" --auth-file "$GOOD"
refused 2 "cannot import from a SASL server ('mechanism plain' in '$GOOD'): listing its keys needs the text protocol (lru_crawler metadump), which memcached turns off with -S"
[ ! -e "$M/data.mdb" ] || fail "a refused import made a mirror"

# follow into a SASL standby.
M=$MCM_TMP/m
sasl_server STANDBY restore "$PW"
run follow --servers "127.0.0.1:$STANDBY_PORT" --name wrong --once --timeout 1 --auth-file "$BAD"
refused 1 "authentication failed: the server refused the user and password of '$BAD'"
run follow --servers "127.0.0.1:$STANDBY_PORT" --once --auth-file "$GOOD"
assert_eq "$rc" 0 "follow --once with SASL ($(cat "$ERR"))"
out=$(check check "$STANDBY_PORT" "$N" 200 sasl: --auth "$GOOD") || fail "values followed with SASL: $out"

no_secret "$PW" "${OUTPUTS[@]}" "$MCM_TMP"/memcached-*.log
no_secret "$WRONG_PW" "${OUTPUTS[@]}" "$MCM_TMP"/memcached-*.log
echo ok
