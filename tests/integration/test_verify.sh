#!/bin/bash
# test_verify.sh - `mcmirror verify` exits 0 after a clean replay and finds each injected difference:
# a changed value, changed flags, a TTL off by more than 2 s, a missing key (printed escaped when it is
# not text-safe); it counts expired records as skipped; --sample checks exactly N items.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached

summary_of() {
	grep '^mcmirror: verify: checked ' "$1" | sed 's/ in [0-9.]* s$//'
}

mc_start A
SERVER=127.0.0.1:$A_PORT
M=$MCM_TMP/m
"$MCM_BIN/replay_client" fill "$M" "--SERVER=$SERVER" 2000 "v:" || fail "replay_client fill"
"$MCM_BIN/replay_client" special "$M" "$SERVER" || fail "replay_client special"
"$MCM_BIN/mkmirror" "$M" "$SERVER" 20 10 1 "exp:" || fail "mkmirror"
sleep 2.2
"$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" 2>"$MCM_TMP/err" || fail "replay: $(cat "$MCM_TMP/err")"

rc=0; "$MCM_TOOL" -v --mirror "$M" verify --servers "$SERVER" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "verify after a clean replay ($(cat "$MCM_TMP/err"))"
assert_eq "$(summary_of "$MCM_TMP/err")" "mcmirror: verify: checked 2003: matching 2003, missing 0, different value 0, different flags 0, ttl off 0, errors 0, skipped expired 20" "clean summary"
[ ! -s "$MCM_TMP/out" ] || fail "differences printed after a clean replay: $(cat "$MCM_TMP/out")"

# Inject one difference of each kind.
mc_cmd "$A_PORT" 'ms v:000005 3 F'"$((5 * 2654435761 % 4294967296))"'\r\nxyz\r\nquit\r\n' >/dev/null # value only
mc_cmd "$A_PORT" 'mg v:000006 v\r\nquit\r\n' | tr -d '\r' | sed -n 2p >"$MCM_TMP/v6"
mc_cmd "$A_PORT" "ms v:000006 $(wc -c <"$MCM_TMP/v6" | awk '{print $1 - 1}') F9\r\n$(head -c -1 "$MCM_TMP/v6")\r\nquit\r\n" >/dev/null # flags only
mc_cmd "$A_PORT" 'mg v:000010 T50\r\nquit\r\n' >/dev/null # ttl: 1000 s -> 50 s
mc_cmd "$A_PORT" 'md v:000011\r\nmd YmluAWtlef8= b\r\nquit\r\n' >/dev/null # missing, twice
rc=0; "$MCM_TOOL" -v --mirror "$M" verify --servers "$SERVER" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "verify with differences: exit status"
assert_eq "$(summary_of "$MCM_TMP/err")" "mcmirror: verify: checked 2003: matching 1998, missing 2, different value 1, different flags 1, ttl off 1, errors 0, skipped expired 20" "summary with differences"
sort "$MCM_TMP/out" >"$MCM_TMP/got"
ttl=$(grep '^ttl ' "$MCM_TMP/got" | awk '{ print $4 }')
[ "$ttl" -ge 48 ] && [ "$ttl" -le 50 ] || fail "ttl line: $(grep '^ttl ' "$MCM_TMP/got")"
printf '%s\n' "flags v:000006 $((6 * 2654435761 % 4294967296)) 9" 'missing bin\01key\ff' 'missing v:000011' \
	"ttl v:000010 $(grep '^ttl ' "$MCM_TMP/got" | awk '{ print $3 }') $ttl" 'value v:000005' | sort >"$MCM_TMP/want"
diff "$MCM_TMP/want" "$MCM_TMP/got" >&2 || fail "difference lines"
rc=0; "$MCM_TOOL" --mirror "$M" verify --servers "$SERVER" >"$MCM_TMP/out" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "verify without -v: exit status"
[ ! -s "$MCM_TMP/out" ] || fail "differences on stdout without -v"

# --sample N checks exactly N items.
"$MCM_TOOL" --mirror "$M" verify --servers "$SERVER" --sample 100 2>"$MCM_TMP/err" || true
grep -q '^mcmirror: verify: checked 100: ' "$MCM_TMP/err" || fail "--sample 100: $(cat "$MCM_TMP/err")"
# A replay in set mode repairs everything.
"$MCM_TOOL" --mirror "$M" replay --servers "$SERVER" --mode set 2>/dev/null || fail "set-mode replay"
"$MCM_TOOL" -q --mirror "$M" verify --servers "$SERVER" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || fail "verify after repair: $(cat "$MCM_TMP/err")"
[ ! -s "$MCM_TMP/err" ] || fail "verify -q printed something on success"
echo PASS
