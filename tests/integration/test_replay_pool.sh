#!/bin/bash
# test_replay_pool.sh - a three-server pool with consistent hashing, a namespace hashed with the keys
# (HASH_WITH_NAMESPACE) and group keys (*_by_key): replay with the plain server list places every key where
# a libmemcached client configured like the application looks for it; --only-server restores one node
# after it restarted empty and sends nothing to the others; a configuration string's own settings win
# (modula here: the same client then misses keys, which shows the check is sensitive to placement).
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

# stat PORT NAME: one value of "stats".
stat() {
	mc_cmd "$1" 'stats\r\nquit\r\n' | tr -d '\r' | awk -v k="$2" '$1 == "STAT" && $2 == k { print $3 }'
}

summary_of() {
	grep '^mcmirror: replay: replayed ' "$1" | sed 's/ in [0-9.]* s (.*//'
}

mc_start A
mc_start B
mc_start C
LIST="127.0.0.1:$A_PORT,127.0.0.1:$B_PORT,127.0.0.1:$C_PORT"
SERVERS="--SERVER=127.0.0.1:$A_PORT --SERVER=127.0.0.1:$B_PORT --SERVER=127.0.0.1:$C_PORT"
CONF="$SERVERS --DISTRIBUTION=consistent --NAMESPACE=\"app:\" --HASH-WITH-NAMESPACE"
M=$MCM_TMP/m
"$MCM_BIN/replay_client" fill "$M" "$CONF" 3000 "k:" || fail "replay_client fill"

# The whole pool, from the plain list: the mirror's recorded distribution and hashing apply.
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$LIST" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "full replay exit status ($(cat "$MCM_TMP/err"))"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed 3000, already present 0, skipped expired 0, failed 0" "full replay summary"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:") || fail "client misses keys after the full replay: $out"
assert_eq "$out" "hits 3000 misses 0 wrong 0 absent_ok 0" "full replay check"
a=$(stat "$A_PORT" curr_items); b=$(stat "$B_PORT" curr_items); c=$(stat "$C_PORT" curr_items)
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ "$c" -gt 0 ] || fail "a server got no keys: $a $b $c"
assert_eq "$((a + b + c))" 3000 "items over the three servers"

# B crashes and comes back empty; --only-server B restores exactly its share.
mc_kill B
mc_start B
a_sets=$(stat "$A_PORT" cmd_set); c_sets=$(stat "$C_PORT" cmd_set)
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:") && fail "check passed with B empty"
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$LIST" --only-server "127.0.0.1:$B_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "--only-server exit status ($(cat "$MCM_TMP/err"))"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed $b, already present 0, skipped expired 0, failed 0" "--only-server summary"
assert_eq "$(stat "$B_PORT" curr_items)" "$b" "items on B after --only-server"
assert_eq "$(stat "$A_PORT" cmd_set)" "$a_sets" "--only-server B sent something to A"
assert_eq "$(stat "$C_PORT" cmd_set)" "$c_sets" "--only-server B sent something to C"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:") || fail "client misses keys after --only-server: $out"
assert_eq "$out" "hits 3000 misses 0 wrong 0 absent_ok 0" "check after --only-server"

# A configuration string is used as given: modula places keys elsewhere, and the client notices.
for p in "$A_PORT" "$B_PORT" "$C_PORT"; do
	assert_eq "$(mc_cmd "$p" 'flush_all\r\nquit\r\n' | tr -d '\r')" OK "flush_all"
done
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$SERVERS --DISTRIBUTION=modula" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "modula replay exit status ($(cat "$MCM_TMP/err"))"
grep -q "warning: the configuration string sets distribution 'modula' but the application used 'consistent'" \
	"$MCM_TMP/err" || fail "no warning about the distribution: $(cat "$MCM_TMP/err")"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:" 2>/dev/null) && fail "modula placement went unnoticed: $out"
misses=$(echo "$out" | awk '{ print $4 }')
[ "$misses" -gt 0 ] || fail "modula placement: no misses ($out)"

# Leaving the namespace out of the hash also misplaces keys.
for p in "$A_PORT" "$B_PORT" "$C_PORT"; do
	mc_cmd "$p" 'flush_all\r\nquit\r\n' >/dev/null
done
"$MCM_TOOL" --mirror "$M" replay --servers "$SERVERS --DISTRIBUTION=consistent" 2>"$MCM_TMP/err" || fail "replay without namespace hashing"
grep -q "warning: the configuration string leaves out the namespace in the hash" "$MCM_TMP/err" ||
	fail "no warning about namespace hashing: $(cat "$MCM_TMP/err")"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:" 2>/dev/null) && fail "hashing without the namespace went unnoticed: $out"

# The same configuration string as the application's: exact placement again.
for p in "$A_PORT" "$B_PORT" "$C_PORT"; do
	mc_cmd "$p" 'flush_all\r\nquit\r\n' >/dev/null
done
"$MCM_TOOL" --mirror "$M" replay --servers "$CONF" 2>"$MCM_TMP/err" || fail "replay with the configuration string: $(cat "$MCM_TMP/err")"
! grep -q warning "$MCM_TMP/err" || fail "warning with the application's own configuration: $(cat "$MCM_TMP/err")"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "k:") || fail "client misses keys after a config-string replay: $out"
echo PASS
