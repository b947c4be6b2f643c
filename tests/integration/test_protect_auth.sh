#!/bin/bash
# test_protect_auth.sh - replay, verify, import and follow into memcached -Y (text-protocol authentication)
# with a credentials file (--auth-file, or MCMIRROR_AUTH_FILE): the right credentials work and every
# value comes back (read by an independent Python client); missing or wrong credentials, a credentials
# file of the wrong kind, or one its group may read, are refused with a clear message, exit 1, and
# nothing stored; no password appears in any message, nor in a running follower's command line,
# environment or `ps`.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$(dirname "$0")/protect_lib.sh"
need_memcached
need_python
N=2000
# Secrets nobody could guess, so that finding one anywhere means it leaked.
PW=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
WRONG_PW=wrong-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf 'other:%s\nrestore:%s\n' "$WRONG_PW-other" "$PW" >"$MCM_TMP/tokens"
GOOD=$MCM_TMP/good.cred
credentials "$GOOD" authfile restore "$PW"
BAD=$MCM_TMP/bad.cred
credentials "$BAD" authfile restore "$WRONG_PW"
SASLCRED=$MCM_TMP/sasl.cred
credentials "$SASLCRED" plain restore "$PW"

mc_start Y -Y "$MCM_TMP/tokens"
SRV=127.0.0.1:$Y_PORT
M=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$M" "$SRV" "$N" 300 0 auth: || fail "mkmirror"

# Refusals: each says what failed, exits 1, and the server stores nothing.
run replay --servers "$SRV"
refused 1 "'$SRV': server requires authentication: give --auth-file"
run replay --servers "$SRV" --auth-file "$BAD"
refused 1 "cannot connect to '$SRV': authentication failed: the server refused the user and password of '$BAD'"
run verify --servers "$SRV" --auth-file "$BAD"
refused 1 "authentication failed: the server refused the user and password of '$BAD'"
MCMIRROR_AUTH_FILE=$BAD run replay --servers "$SRV"
refused 1 "authentication failed: the server refused the user and password of '$BAD'"
run replay --servers "$SRV" --auth-file "$SASLCRED" --timeout 1
refused 1 "no answer to the SASL authentication within 1 s (a server started with -Y wants 'mechanism authfile')"
chmod 640 "$GOOD"
run replay --servers "$SRV" --auth-file "$GOOD"
refused 1 "credentials file '$GOOD' is readable by its group or others (mode 0640): make it private to its owner (chmod 600)"
chmod 600 "$GOOD"
run replay --servers "$SRV" --auth-file "$MCM_TMP/none.cred"
refused 1 "cannot open credentials file '$MCM_TMP/none.cred': No such file or directory"
printf 'restore:%s\n' "$PW" >"$MCM_TMP/tokens.cred"
chmod 600 "$MCM_TMP/tokens.cred"
run replay --servers "$SRV" --auth-file "$MCM_TMP/tokens.cred"
refused 1 "credentials file '$MCM_TMP/tokens.cred' line 1: unknown setting"
assert_eq "$(total_items "$Y_PORT" --auth "$GOOD")" 0 "items stored after refused replays"

# The right credentials: replay, then every value read back independently; verify from the environment.
run replay --servers "$SRV" --auth-file "$GOOD"
assert_eq "$rc" 0 "replay with credentials ($(cat "$ERR"))"
grep -q "replayed $N, already present 0, skipped expired 0, failed 0" "$ERR" || fail "replay summary: $(cat "$ERR")"
out=$(check check "$Y_PORT" "$N" 300 auth: --auth "$GOOD") || fail "values after the replay: $out"
MCMIRROR_AUTH_FILE=$GOOD run verify --servers "$SRV"
assert_eq "$rc" 0 "verify with MCMIRROR_AUTH_FILE ($(cat "$ERR"))"
grep -q "checked $N: matching $N," "$ERR" || fail "verify summary: $(cat "$ERR")"
# --auth-file wins over the environment.
MCMIRROR_AUTH_FILE=$BAD run verify --servers "$SRV" --auth-file "$GOOD"
assert_eq "$rc" 0 "--auth-file over MCMIRROR_AUTH_FILE ($(cat "$ERR"))"
# The checker can fail: a changed item is caught, and verify sees it too.
check fill "$Y_PORT" 1 7 auth: --auth "$GOOD" || fail "overwrite"
out=$(check check "$Y_PORT" "$N" 300 auth: --auth "$GOOD") && fail "the checker missed a changed item: $out"
run verify --servers "$SRV" --auth-file "$GOOD"
refused 1 "different value 1"

# import from a -Y server: filled by the checker, imported, replayed into a plain server, checked there.
mc_start SRC -Y "$MCM_TMP/tokens"
check fill "$SRC_PORT" "$N" 300 imp: --auth "$GOOD" || fail "fill the -Y source"
M=$MCM_TMP/imported
run import --servers "127.0.0.1:$SRC_PORT"
refused 1 "'127.0.0.1:$SRC_PORT': server requires authentication: give --auth-file"
run import --servers "127.0.0.1:$SRC_PORT" --auth-file "$BAD"
refused 1 "authentication failed: the server refused the user and password of '$BAD'"
run import --servers "127.0.0.1:$SRC_PORT" --auth-file "$GOOD"
assert_eq "$rc" 0 "import with credentials ($(cat "$ERR"))"
grep -q "imported $N, gone 0, misplaced 0, failed 0 of $N keys listed" "$ERR" || fail "import summary: $(cat "$ERR")"
mc_start DST
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$DST_PORT" 2>"$ERR" || fail "replay of the import: $(cat "$ERR")"
out=$(check check "$DST_PORT" "$N" 300 imp:) || fail "values imported from the -Y server: $out"

# follow into a -Y standby: wrong credentials are an outage it reports; then a follower that runs, with
# its credentials from the environment, whose command line and environment hold no password.
M=$MCM_TMP/m
mc_start STANDBY -Y "$MCM_TMP/tokens"
run follow --servers "127.0.0.1:$STANDBY_PORT" --name wrong --once --timeout 1 --auth-file "$BAD"
refused 1 "authentication failed: the server refused the user and password of '$BAD'"
assert_eq "$(total_items "$STANDBY_PORT" --auth "$GOOD")" 0 "items stored by a refused follower"
MCMIRROR_AUTH_FILE=$GOOD "$MCM_TOOL" --mirror "$M" follow --servers "127.0.0.1:$STANDBY_PORT" 2>"$MCM_TMP/follow.err" &
FOLLOW=$!
MCM_PIDS+=("$FOLLOW")
OUTPUTS+=("$MCM_TMP/follow.err")
for i in $(seq 1 200); do
	check check "$STANDBY_PORT" "$N" 300 auth: --auth "$GOOD" >/dev/null 2>&1 && break
	kill -0 "$FOLLOW" 2>/dev/null || fail "follow stopped: $(cat "$MCM_TMP/follow.err")"
	sleep 0.1
done
out=$(check check "$STANDBY_PORT" "$N" 300 auth: --auth "$GOOD") || fail "values followed with credentials: $out"
no_secret_in_process "$PW" "$FOLLOW"
grep -qF "$GOOD" "/proc/$FOLLOW/environ" || fail "the check of the follower's environment looks at the wrong process"
kill -TERM "$FOLLOW"
rc=0
wait "$FOLLOW" || rc=$?
assert_eq "$rc" 0 "follow after SIGTERM ($(cat "$MCM_TMP/follow.err"))"

# No password in any message, nor in the servers' logs.
no_secret "$PW" "${OUTPUTS[@]}" "$MCM_TMP"/memcached-*.log
no_secret "$WRONG_PW" "${OUTPUTS[@]}" "$MCM_TMP"/memcached-*.log
# (the secret check can fail: the credentials file itself holds the password)
(no_secret "$PW" "$GOOD") 2>/dev/null && fail "no_secret missed the password in '$GOOD'"
echo ok
