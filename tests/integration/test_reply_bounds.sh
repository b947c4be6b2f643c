#!/bin/bash
# test_reply_bounds.sh - every length a server sends is bounded (issue 11 item 7): a value longer than the
# server's item_size_max (read from `stats settings`), or than memcached's 1 GiB ceiling when the server
# does not say, fails the connection at once with "server sent an item of N bytes (limit M)", without
# allocating it; an endless reply line and a bad value size are protocol errors. Those replies come from
# hostile_server.c, a fake server: no real memcached can send them (it never holds an item larger than its
# item_size_max). What a real memcached sends - a 1.5 MB value from a server started with -I 2m, above the
# default 1 MiB - goes through replay, verify and import. A listing whose key field holds raw control bytes
# (memcached URL-encodes them) is refused line by line, never imported.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

# hostile NAME SETTINGS VALUE_REPLY [LISTING]: start a fake server; sets NAME_PORT.
hostile() {
	local name=$1 pid i
	rm -f "$MCM_TMP/$name.port"
	"$MCM_BIN/hostile_server" "$MCM_TMP/$name.port" "${@:2}" &
	pid=$!
	MCM_PIDS+=("$pid")
	for i in $(seq 1 100); do
		[ -s "$MCM_TMP/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$MCM_TMP/$name.port" ] || fail "hostile_server did not start"
	eval "${name}_PORT=$(cat "$MCM_TMP/$name.port")"
}

# limited CMD...: run the tool with 1 GB of address space at most (no multi-GB buffer can be made).
# AddressSanitizer reserves terabytes of shadow memory at start and cannot run so limited: in the
# sanitizer build the limit is off (the normal build keeps the check).
if asan_build; then
	limited() { "$MCM_TOOL" "$@"; }
else
	limited() { (ulimit -v 1000000 && exec "$MCM_TOOL" "$@"); }
fi

# expect_bound CMD PORT MESSAGE ARGS...: the command fails (status 1) with MESSAGE about the server, and
# never says "out of memory".
expect_bound() {
	local cmd=$1 port=$2 msg=$3 rc=0
	shift 3
	limited "$@" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "$cmd: exit status ($(cat "$MCM_TMP/err"))"
	grep -qF "mcmirror: $cmd: lost '127.0.0.1:$port': $msg" "$MCM_TMP/err" ||
		fail "$cmd: want 'lost ...: $msg', got: $(cat "$MCM_TMP/err")"
	! grep -q 'out of memory' "$MCM_TMP/err" || fail "$cmd: out of memory: $(cat "$MCM_TMP/err")"
}

# The server says item_size_max 1 MiB, then announces a 3 GB value (verify grew to 2.9 GB before).
hostile H1 'STAT item_size_max 1048576' 'VA 3000000000 f0 t-1'
"$MCM_BIN/mkmirror" "$MCM_TMP/m1" "127.0.0.1:$H1_PORT" 3 100 || fail mkmirror
expect_bound verify "$H1_PORT" "server sent an item of 3000000000 bytes (limit 1048576)" \
	--mirror "$MCM_TMP/m1" verify --servers "127.0.0.1:$H1_PORT" --timeout 3
# import reads the same way: its metadump lists one key, whose get is answered so
expect_bound import "$H1_PORT" "server sent an item of 3000000000 bytes (limit 1048576)" \
	--mirror "$MCM_TMP/imported" import --servers "127.0.0.1:$H1_PORT" --timeout 3

# A server that refuses `stats settings`: the bound is memcached's ceiling, 1 GiB ('out of memory' before).
hostile H2 - 'VA 99999999999 f0 t-1'
"$MCM_BIN/mkmirror" "$MCM_TMP/m2" "127.0.0.1:$H2_PORT" 3 100 || fail mkmirror
expect_bound verify "$H2_PORT" "server sent an item of 99999999999 bytes (limit 1073741824)" \
	--mirror "$MCM_TMP/m2" verify --servers "127.0.0.1:$H2_PORT" --timeout 3
# a size too long for any counter
hostile H3 - 'VA 123456789012345678901234567890 f0'
"$MCM_BIN/mkmirror" "$MCM_TMP/m3" "127.0.0.1:$H3_PORT" 3 100 || fail mkmirror
expect_bound verify "$H3_PORT" "server sent an item of 123456789012345678901234567890 bytes (limit 1073741824)" \
	--mirror "$MCM_TMP/m3" verify --servers "127.0.0.1:$H3_PORT" --timeout 3

# A size that is no number, and a line that never ends.
hostile H4 'STAT item_size_max 1048576' 'VA 12x f0'
"$MCM_BIN/mkmirror" "$MCM_TMP/m4" "127.0.0.1:$H4_PORT" 3 100 || fail mkmirror
expect_bound verify "$H4_PORT" "bad value size in the reply 'VA 12x f0'" \
	--mirror "$MCM_TMP/m4" verify --servers "127.0.0.1:$H4_PORT" --timeout 3
hostile H5 'STAT item_size_max 1048576' LONG
"$MCM_BIN/mkmirror" "$MCM_TMP/m5" "127.0.0.1:$H5_PORT" 3 100 || fail mkmirror
expect_bound verify "$H5_PORT" "reply line too long: not a memcached server?" \
	--mirror "$MCM_TMP/m5" verify --servers "127.0.0.1:$H5_PORT" --timeout 3
# A value of the size announced, not followed by \r\n ("abc" then "de..."): out of step, never taken as a value.
hostile H6 'STAT item_size_max 1048576' 'VA 3 f0 t-1'
"$MCM_BIN/mkmirror" "$MCM_TMP/m6" "127.0.0.1:$H6_PORT" 3 100 || fail mkmirror
expect_bound verify "$H6_PORT" 'value block not followed by \r\n: not a memcached server?' \
	--mirror "$MCM_TMP/m6" verify --servers "127.0.0.1:$H6_PORT" --timeout 3

# A listing whose key field holds raw control bytes (memcached URL-encodes them: %01): not a key of
# the server's, never fetched nor imported (the message shows them escaped, as a dump does); the
# encoded one is (the server has it no longer: gone).
hostile H7 'STAT item_size_max 1048576' EN $'key=enc%01oded exp=-1 la=1 cas=1 fetch=no cls=1 size=64\r\nkey=raw\001ctl\r exp=-1 la=1 cas=1 fetch=no cls=1 size=64\r\n'
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m7" import --servers "127.0.0.1:$H7_PORT" --timeout 3 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "import of a listing with raw control bytes ($(cat "$MCM_TMP/err"))"
grep -qF "cannot read the metadump line 'key=raw\01ctl\0d exp=-1 " "$MCM_TMP/err" ||
	fail "the raw key was not refused, its bytes shown escaped: $(cat "$MCM_TMP/err")"
! LC_ALL=C grep -q '[[:cntrl:]]' "$MCM_TMP/err" || fail "a control byte the server sent reached the terminal: $(cat -v "$MCM_TMP/err")"
grep -q '^mcmirror: import: imported 0, gone 1, misplaced 0, failed 1 of 1 keys listed' "$MCM_TMP/err" ||
	fail "import of a listing with raw control bytes: $(cat "$MCM_TMP/err")"

# A value whose flags or ttl no memcached sends (client flags are 32 bits; a ttl is -1 or the seconds left,
# at most 2^32 - 1): import writes nothing for it (it took f4294967296 as flags 0, a wrong value, and
# overflowed now + t9223372036854775807), verify says the reply is in error; a reply in range imports.
for reply in 'VA 8 f0 t9223372036854775807' 'VA 8 f4294967296 t-1' 'VA 8 f0' 'VA 8 f1 t-2'; do
	hostile H8 'STAT item_size_max 1048576' "$reply"
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m8" import --servers "127.0.0.1:$H8_PORT" --timeout 3 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "import of '$reply' ($(cat "$MCM_TMP/err"))"
	grep -qF "answered without valid flags and ttl a get of 'hostile:1': $reply" "$MCM_TMP/err" &&
		grep -q '^mcmirror: import: imported 0, gone 0, misplaced 0, failed 1 of 1 keys listed' "$MCM_TMP/err" ||
		fail "import of '$reply': $(cat "$MCM_TMP/err")"
	"$MCM_BIN/mkmirror" "$MCM_TMP/m8v" "127.0.0.1:$H8_PORT" 1 8 || fail mkmirror
	rc=0; "$MCM_TOOL" -v --mirror "$MCM_TMP/m8v" verify --servers "127.0.0.1:$H8_PORT" --timeout 3 >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "verify against '$reply' ($(cat "$MCM_TMP/err"))"
	grep -q '^error .* no valid flags or ttl in the reply$' "$MCM_TMP/out" &&
		grep -q 'different flags 0, ttl off 0, errors 1,' "$MCM_TMP/err" ||
		fail "verify against '$reply': $(cat "$MCM_TMP/out" "$MCM_TMP/err")"
	rm -rf "$MCM_TMP/m8" "$MCM_TMP/m8v"
	kill "${MCM_PIDS[-1]}"
done
hostile H9 'STAT item_size_max 1048576' 'VA 8 f4294967295 t100'
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m9" import --servers "127.0.0.1:$H9_PORT" --timeout 3 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "import of flags 2^32 - 1 and a ttl ($(cat "$MCM_TMP/err"))"
"$MCM_TOOL" --mirror "$MCM_TMP/m9" dump >"$MCM_TMP/dump" || fail "dump of the imported mirror"
# (a record line: status pool seq write-time flags expiry ns-length group key value)
grep -q '^live [0-9a-f]* 1 [0-9]* 4294967295 [1-9][0-9]* 0 - hostile:1 abcdefgh$' "$MCM_TMP/dump" ||
	fail "flags 2^32 - 1 and the ttl not kept: $(cat "$MCM_TMP/dump")"

# A real memcached with items up to 2 MiB: a 1.5 MB value is no hostile reply.
mc_start BIG -I 2m
"$MCM_BIN/mkmirror" "$MCM_TMP/big" "127.0.0.1:$BIG_PORT" 2 1500000 || fail mkmirror
rc=0; limited --mirror "$MCM_TMP/big" replay --servers "127.0.0.1:$BIG_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "replay of 1.5 MB values ($(cat "$MCM_TMP/err"))"
grep -q '^mcmirror: replay: replayed 2, already present 0, skipped expired 0, failed 0 in ' "$MCM_TMP/err" ||
	fail "replay of 1.5 MB values: $(cat "$MCM_TMP/err")"
rc=0; limited --mirror "$MCM_TMP/big" verify --servers "127.0.0.1:$BIG_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "verify of 1.5 MB values ($(cat "$MCM_TMP/err"))"
grep -q '^mcmirror: verify: checked 2: matching 2, ' "$MCM_TMP/err" || fail "verify of 1.5 MB values: $(cat "$MCM_TMP/err")"
rc=0; limited --mirror "$MCM_TMP/big-imported" import --servers "127.0.0.1:$BIG_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "import of 1.5 MB values ($(cat "$MCM_TMP/err"))"
grep -q '^mcmirror: import: imported 2, gone 0, misplaced 0, failed 0 ' "$MCM_TMP/err" ||
	fail "import of 1.5 MB values: $(cat "$MCM_TMP/err")"
echo PASS
