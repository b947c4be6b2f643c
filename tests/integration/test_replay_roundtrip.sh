#!/bin/bash
# test_replay_roundtrip.sh - `mcmirror replay` into an empty memcached brings back every live item with its
# value bytes, flags and remaining TTL (binary values, a key that is not text-safe, a 200 kB value); skips and
# counts expired records, never sends deleted ones; add mode keeps a key the application wrote since the
# restart and counts it as already present, set mode overwrites it; --prefix and --dry-run; the mirror is
# only read.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

# summary_of ERRFILE: the summary line (exactly one).
summary_of() {
	local n
	n=$(grep -c '^mcmirror: replay: replayed ' "$1" || true)
	[ "$n" = 1 ] || fail "want one summary line, got $n: $(cat "$1")"
	grep '^mcmirror: replay: replayed ' "$1" | sed 's/ in [0-9.]* s (.*//'
}

# mg_reply PORT REQUEST: the server's reply to one meta command, CRs removed.
mg_reply() {
	mc_cmd "$1" "$2\r\nmn\r\nquit\r\n" | tr -d '\r' | sed '/^MN$/d'
}

mc_start A
SERVER=127.0.0.1:$A_PORT
CONF="--SERVER=$SERVER"
M=$MCM_TMP/m
"$MCM_BIN/replay_client" fill "$M" "$CONF" 3000 "rt:" || fail "replay_client fill"
"$MCM_BIN/replay_client" special "$M" "$SERVER" || fail "replay_client special"
"$MCM_BIN/mkmirror" "$M" "$SERVER" 50 10 1 "exp:" || fail "mkmirror (expiring items)"
sleep 2.2 # the 50 "exp:" items are now expired
sum_before=$(md5sum <"$M/data.mdb")

# The application wrote rt:000003 after the restart: add mode must keep it.
assert_eq "$(mc_cmd "$A_PORT" 'set rt:000003 0 0 4\r\nLIVE\r\nquit\r\n' | tr -d '\r')" STORED "pre-write"
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "add-mode replay exit status ($(cat "$MCM_TMP/err"))"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed 3002, already present 1, skipped expired 50, failed 0" "add-mode summary"
grep -Eq ' in [0-9]+\.[0-9]{2} s \([0-9]+ items/s\)$' "$MCM_TMP/err" || fail "summary has no time and rate: $(cat "$MCM_TMP/err")"
assert_eq "$(mg_reply "$A_PORT" 'mg rt:000003 v')" "$(printf 'VA 4\nLIVE')" "add mode overwrote a live key"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "rt:") && fail "check passed although rt:000003 holds LIVE"
assert_eq "$out" "hits 2999 misses 0 wrong 1 absent_ok 0" "values and flags after the add-mode replay"

# TTLs: never (-1), 1000 s (every 10th item), 100 s.
assert_eq "$(mg_reply "$A_PORT" 'mg rt:000001 t')" "HD t-1" "no-expiry item"
t=$(mg_reply "$A_PORT" 'mg rt:000010 t' | sed -n 's/^HD t//p')
[ -n "$t" ] && [ "$t" -ge 985 ] && [ "$t" -le 1000 ] || fail "rt:000010 TTL: want ~1000 - elapsed, got '$t'"
t=$(mg_reply "$A_PORT" 'mg ttl:100 t f' | sed -n 's/^HD t\([0-9]*\) f7$/\1/p')
[ -n "$t" ] && [ "$t" -ge 85 ] && [ "$t" -le 100 ] || fail "ttl:100: want TTL ~100 and flags 7, got '$(mg_reply "$A_PORT" 'mg ttl:100 t f')'"

# The key "bin\x01key\xff" travelled base64-encoded; its value is the 256 byte values, flags 0xffffffff.
mc_cmd "$A_PORT" 'mg YmluAWtlef8= b v f\r\nquit\r\n' >"$MCM_TMP/bin.reply"
{ printf 'VA 256 f4294967295\r\n'; for i in $(seq 0 255); do printf "\\$(printf %03o "$i")"; done; printf '\r\n'; } >"$MCM_TMP/bin.want"
cmp -s "$MCM_TMP/bin.reply" "$MCM_TMP/bin.want" || fail "binary key/value: $(od -c "$MCM_TMP/bin.reply" | head -3)"
assert_eq "$(mg_reply "$A_PORT" 'mg big:1 s')" "HD s200000" "200 kB value"
assert_eq "$(mg_reply "$A_PORT" 'mg gone:1 v')" "EN" "a deleted record was replayed"
assert_eq "$(mg_reply "$A_PORT" 'mg exp:00000000 v')" "EN" "an expired record was replayed"

# Set mode overwrites rt:000003; everything then matches exactly.
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" --mode set 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "set-mode replay exit status ($(cat "$MCM_TMP/err"))"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed 3003, already present 0, skipped expired 50, failed 0" "set-mode summary"
out=$("$MCM_BIN/replay_client" check "$CONF" 3000 "rt:") || fail "check after set mode: $out"
assert_eq "$out" "hits 3000 misses 0 wrong 0 absent_ok 0" "values and flags after the set-mode replay"
assert_eq "$(mg_reply "$A_PORT" 'mg ttl:100 v')" "$(printf 'VA 7\nhundred')" "ttl:100 value"

# A second add-mode replay finds everything present.
rc=0; "$MCM_TOOL" -q --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "second replay exit status"
[ ! -s "$MCM_TMP/err" ] || fail "-q printed something on success: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || fail "third replay"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed 0, already present 3003, skipped expired 50, failed 0" "replay onto a full server"

# --prefix, into a flushed server.
assert_eq "$(mc_cmd "$A_PORT" 'flush_all\r\nquit\r\n' | tr -d '\r')" OK "flush_all"
"$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" --prefix rt:0001 2>"$MCM_TMP/err" || fail "--prefix replay"
assert_eq "$(summary_of "$MCM_TMP/err")" \
	"mcmirror: replay: replayed 100, already present 0, skipped expired 0, failed 0" "--prefix summary"
assert_eq "$(mg_reply "$A_PORT" 'mg rt:000200 v')" "EN" "--prefix sent a key outside the prefix"

# --dry-run counts and connects to nothing (the port below has no server).
mc_start GONE
mc_kill GONE
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$GONE_PORT" --dry-run 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "dry run exit status ($(cat "$MCM_TMP/err"))"
grep -q "^mcmirror: replay: dry run: would replay 3003, skipped expired 50, cannot send 0 " "$MCM_TMP/err" ||
	fail "dry run summary: $(cat "$MCM_TMP/err")"

assert_eq "$(md5sum <"$M/data.mdb")" "$sum_before" "the mirror's data file changed during replays"
echo PASS
