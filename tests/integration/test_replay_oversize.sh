#!/bin/bash
# test_replay_oversize.sh - a value larger than a quarter of the journal is not mirrored: its key is
# dropped (an outcome record without the value), never left with the value it had before, and the
# write is not counted lost. memccp (libmemcached's own tool) writes under the shim with a 256 KiB
# journal: a 1 KiB value, then 100 KiB under the same key; after memcached restarts empty, replay
# brings back the other key and not that one.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
[ -f "$MCM_SHIM" ] || fail "no shim at '$MCM_SHIM'"
MEMCCP=$(command -v memccp || true)
MEMCCAT=$(command -v memccat || true)
[ -n "$MEMCCP" ] && [ -n "$MEMCCAT" ] || skip "no memccp/memccat (Debian package libmemcached-tools)"

mc_start A
SERVER=127.0.0.1:$A_PORT
M=$MCM_TMP/m
mkdir -p "$MCM_TMP/a" "$MCM_TMP/b"
head -c 1024 /dev/urandom >"$MCM_TMP/a/big.bin"
head -c 2000 /dev/urandom >"$MCM_TMP/a/small.bin"
head -c 100000 /dev/urandom >"$MCM_TMP/b/big.bin"
export MCMIRROR_JOURNAL_SIZE=256K
(cd "$MCM_TMP/a" && under_shim "$M" "$MEMCCP" --servers="$SERVER" big.bin small.bin) 2>"$MCM_TMP/err1" ||
	fail "memccp under the shim: $(cat "$MCM_TMP/err1")"
(cd "$MCM_TMP/b" && under_shim "$M" "$MEMCCP" --servers="$SERVER" big.bin) 2>"$MCM_TMP/err2" ||
	fail "memccp of 100 KB under the shim: $(cat "$MCM_TMP/err2")"
grep -q "journal .* is full" "$MCM_TMP/err1" "$MCM_TMP/err2" && fail "a write was lost: $(cat "$MCM_TMP/err2")"
"$MEMCCAT" --servers="$SERVER" -f "$MCM_TMP/got" big.bin || fail "memccat before the restart"
cmp -s "$MCM_TMP/got" "$MCM_TMP/b/big.bin" || fail "the server does not hold the 100 KB value"

json=$("$MCM_TOOL" --mirror "$M" stats --json) || fail "stats"
echo "$json" | grep -q '"lost_drops":0,' || fail "a write was counted lost: $json"
echo "$json" | grep -q '"dropped_uncertain":1,' || fail "the oversized write was not recorded as a drop: $json"

mc_kill A
mc_start A # same port, empty
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "replay exit status ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: replay: replayed 1, " "$MCM_TMP/err" || fail "replay summary: $(cat "$MCM_TMP/err")"
"$MEMCCAT" --servers="$SERVER" -f "$MCM_TMP/got" small.bin || fail "small.bin not replayed"
cmp -s "$MCM_TMP/got" "$MCM_TMP/a/small.bin" || fail "small.bin came back different"
"$MEMCCAT" --servers="$SERVER" -f "$MCM_TMP/got" big.bin 2>/dev/null && fail "big.bin was replayed (the value before the oversized write?)"
echo PASS
