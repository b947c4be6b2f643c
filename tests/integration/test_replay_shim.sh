#!/bin/bash
# test_replay_shim.sh - the whole story: an application writes and deletes through libmemcached under
# libmcmirror.so (a C client with set, set_by_key and delete, and libmemcached's own memccp), memcached is
# killed with SIGKILL and restarted empty, `mcmirror replay` brings every key back with its bytes and
# flags, and the deleted keys stay absent.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
[ -f "$MCM_SHIM" ] || fail "no shim at '$MCM_SHIM'"
MEMCCP=$(command -v memccp || true)
MEMCCAT=$(command -v memccat || true)

mc_start A
SERVER=127.0.0.1:$A_PORT
CONF="--SERVER=$SERVER"
M=$MCM_TMP/m
under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 2000 "e2e:" || fail "workload under the shim"
under_shim "$M" "$MCM_BIN/replay_client" del "$CONF" "e2e:" 3 10 17 || fail "deletes under the shim"
if [ -n "$MEMCCP" ]; then
	head -c 5000 /dev/urandom >"$MCM_TMP/blob.bin"
	(cd "$MCM_TMP" && under_shim "$M" "$MEMCCP" --servers="$SERVER" blob.bin) || fail "memccp under the shim"
fi
out=$("$MCM_BIN/replay_client" check "$CONF" 2000 "e2e:" 3 10 17) || fail "workload not on the server: $out"

mc_kill A
mc_start A # same port, empty
"$MCM_BIN/replay_client" check "$CONF" 2000 "e2e:" 3 10 17 >/dev/null 2>&1 && fail "the restarted server is not empty"

want=1997
[ -n "$MEMCCP" ] && want=1998
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "replay exit status ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: replay: replayed $want, already present 0, skipped expired 0, failed 0 in " "$MCM_TMP/err" ||
	fail "replay summary: $(cat "$MCM_TMP/err")"
out=$("$MCM_BIN/replay_client" check "$CONF" 2000 "e2e:" 3 10 17) || fail "after replay: $out"
assert_eq "$out" "hits 1997 misses 0 wrong 0 absent_ok 3" "keys back after replay"
if [ -n "$MEMCCP" ] && [ -n "$MEMCCAT" ]; then
	"$MEMCCAT" --servers="$SERVER" -f "$MCM_TMP/blob.back" blob.bin || fail "memccat after replay"
	cmp -s "$MCM_TMP/blob.bin" "$MCM_TMP/blob.back" || fail "memccp's value came back different"
fi
"$MCM_TOOL" --mirror "$M" verify --servers "$SERVER" 2>"$MCM_TMP/err" || fail "verify after replay: $(cat "$MCM_TMP/err")"
echo PASS
