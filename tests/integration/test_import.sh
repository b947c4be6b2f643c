#!/bin/bash
# test_import.sh - `mcmirror import`: 100 000 keys with mixed flags, TTLs and binary keys are read
# from a live memcached (metadump + pipelined mg) into a mirror; `verify` against the source finds
# them all; replayed into an empty server they come back with the same values, flags and TTLs
# (within 2 s), checked by `verify` and directly; a server with the LRU crawler disabled is refused.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
C=$MCM_BIN/backup_check
N=100000
M=$MCM_TMP/mirror

"$MCM_TOOL" import --help >"$MCM_TMP/help" || fail "import --help"
grep -q '^usage: mcmirror .*import --servers' "$MCM_TMP/help" || fail "no usage line"
grep -q 'default: 5' "$MCM_TMP/help" || fail "--help does not show the defaults"
for args in "" "--servers" "--servers 127.0.0.1:0" "--servers 127.0.0.1:1 extra" "--pool 1 --servers 127.0.0.1:1"; do
	rc=0; "$MCM_TOOL" --mirror "$M" import $args 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "import $args: exit status"
done

mc_start SRC -m 256
T0=$("$C" fill "$SRC_PORT" "$N") || fail "fill"
# memcached's crawler skips an item that one of its own threads holds or moves at that moment (seen
# on a loaded machine: 10 and 19 of 100,000 items not listed), so the operator's advice is to run
# import again (it merges): each pass imports exactly what it listed, and at most three passes
# bring every item.
for pass in 1 2 3; do
	"$MCM_TOOL" --mirror "$M" import --servers "127.0.0.1:$SRC_PORT" 2>"$MCM_TMP/err" || fail "import: $(cat "$MCM_TMP/err")"
	grep -Eq "imported ([0-9]+), gone 0, misplaced 0, failed 0 of \1 keys listed" "$MCM_TMP/err" ||
		fail "summary: $(cat "$MCM_TMP/err")"
	live=$("$MCM_TOOL" --mirror "$M" stats | awk '$1 == "total.live_items:" { print $2 }')
	[ "$live" = "$N" ] && break
	echo "import pass $pass: $live of $N items in the mirror" >&2
done
assert_eq "$live" "$N" "items imported in $pass passes"
grep -q 'warning: this is not a point-in-time snapshot' "$MCM_TMP/err" || fail "no point-in-time warning"
"$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$SRC_PORT" 2>"$MCM_TMP/err" || fail "verify against the source: $(cat "$MCM_TMP/err")"
grep -q "checked $N: matching $N," "$MCM_TMP/err" || fail "verify against the source: $(cat "$MCM_TMP/err")"

mc_start DST -m 256
"$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$DST_PORT" 2>"$MCM_TMP/err" || fail "replay: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$DST_PORT" 2>"$MCM_TMP/err" || fail "verify: $(cat "$MCM_TMP/err")"
out=$("$C" server "$DST_PORT" "$N" "$T0") || fail "direct check of the replayed server: $out"
assert_eq "$out" "hits $N wrong 0 missing 0" "direct check"
# The checker can fail: the source itself, after a change, is caught.
mc_cmd "$SRC_PORT" 'ms imp:000001 1 F1\r\nx\r\nquit\r\n' >/dev/null
out=$("$C" server "$SRC_PORT" "$N" "$T0") && fail "the direct check missed a changed item"

# A second import stamps later times: the changed item wins over the first import's record.
"$MCM_TOOL" -q --mirror "$M" import --servers "127.0.0.1:$SRC_PORT" --prefix imp:00000 2>"$MCM_TMP/err" || fail "second import"
"$MCM_TOOL" --mirror "$M" dump >"$MCM_TMP/d2" || fail "dump"
grep -q ' 1 0 0 - imp:000001 x$' "$MCM_TMP/d2" || fail "the re-imported item did not replace the older record"

# Several servers: each key is kept only where the pool's hashing places it.
mc_start S2
mc_cmd "$SRC_PORT" 'flush_all\r\nquit\r\n' >/dev/null
"$C" fill "$SRC_PORT" 2000 >/dev/null
"$C" fill "$S2_PORT" 2000 >/dev/null
# (The crawler may skip an item here too, as above: the passes go on until one lists every key of
# both servers; each pass imports what it listed on the right server and nothing from the other.)
for pass in 1 2 3; do
	"$MCM_TOOL" --mirror "$MCM_TMP/two" import --servers "127.0.0.1:$SRC_PORT,127.0.0.1:$S2_PORT" \
		2>"$MCM_TMP/err" || fail "two servers: $(cat "$MCM_TMP/err")"
	imported= misplaced= listed=
	read -r imported misplaced listed < <(sed -En \
		's/.*imported ([0-9]+), gone 0, misplaced ([0-9]+), failed 0 of ([0-9]+) keys listed.*/\1 \2 \3/p' "$MCM_TMP/err") ||
		true
	[ -n "$listed" ] && [ "$((imported + misplaced))" = "$listed" ] && [ "$imported" -le 2000 ] &&
		[ "$misplaced" -le 2000 ] || fail "two servers, pass $pass: $(cat "$MCM_TMP/err")"
	[ "$listed" = 4000 ] && break
	echo "two servers, pass $pass: $listed of 4000 keys listed" >&2
done
grep -q "imported 2000, gone 0, misplaced 2000, failed 0 of 4000 keys listed" "$MCM_TMP/err" ||
	fail "two servers, $pass passes: $(cat "$MCM_TMP/err")"

# Values larger than import's first buffer (64 KiB) and than what it has grown to, between
# small ones: each imported whole.
mc_start BIG
for size in 10 70000 20 300000 900000 30; do
	mc_cmd "$BIG_PORT" "ms big:$size $size T0\r\n$(head -c "$size" /dev/zero | tr '\0' v)\r\nquit\r\n" >/dev/null
done
"$MCM_TOOL" --mirror "$MCM_TMP/big" import --servers "127.0.0.1:$BIG_PORT" 2>"$MCM_TMP/err" ||
	fail "large values: $(cat "$MCM_TMP/err")"
grep -q "imported 6, gone 0, misplaced 0, failed 0 of 6 keys listed" "$MCM_TMP/err" || fail "large values: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$MCM_TMP/big" verify --servers "127.0.0.1:$BIG_PORT" 2>"$MCM_TMP/err" &&
	grep -q "checked 6: matching 6," "$MCM_TMP/err" || fail "large values, verify: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$MCM_TMP/big" dump | awk '$1 == "live" { n += length($NF) } END { print n }' >"$MCM_TMP/bytes"
assert_eq "$(cat "$MCM_TMP/bytes")" 1270060 "bytes of the imported values"

# A server whose crawler is off refuses metadump: said clearly, exit 1.
mc_start NOCRAWL -o no_lru_crawler
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/nc" import --servers "127.0.0.1:$NOCRAWL_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "import from a server without the crawler"
grep -q "'127.0.0.1:$NOCRAWL_PORT' refuses 'lru_crawler metadump all': CLIENT_ERROR" "$MCM_TMP/err" || fail "message: $(cat "$MCM_TMP/err")"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/nc" import --servers "127.0.0.1:1" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "import from nothing"
grep -q "cannot connect to '127.0.0.1:1'" "$MCM_TMP/err" || fail "message: $(cat "$MCM_TMP/err")"
echo ok
