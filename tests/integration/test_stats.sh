#!/bin/bash
# test_stats.sh - `mcmirror stats` counts what was written: live, deleted, dropped, expired and flushed
# records per pool, the shim counters, the pool settings; and its errors and exit codes. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1

# stat_of OUT NAME: the value of "NAME: value" in OUT (exactly one such line).
stat_of() {
	local n
	n=$(awk -v k="$2: " 'index($0, k) == 1' "$1" | wc -l)
	[ "$n" = 1 ] || fail "'$2' appears $n times in stats output"
	awk -v k="$2: " 'index($0, k) == 1 { print substr($0, length(k) + 1) }' "$1"
}

# Usage and help.
"$MCM_TOOL" stats --help >"$MCM_TMP/help" || fail "stats --help did not exit 0"
grep -q '^usage: mcmirror .*stats' "$MCM_TMP/help" || fail "stats --help has no usage line on stdout"
grep -q 'live_items' "$MCM_TMP/help" || fail "stats --help does not document its output"
rc=0; "$MCM_TOOL" stats --bogus >/dev/null 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 2 "stats --bogus exit status"
rc=0; "$MCM_TOOL" stats extra >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "stats with an argument: exit status"
rc=0; "$MCM_TOOL" stats --pool xyz >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "stats --pool xyz: exit status"

# A missing mirror: exit 1, the path named.
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/nothing-here" stats >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "stats of a missing mirror: exit status"
grep -q "mcmirror: stats: .*'$MCM_TMP/nothing-here'" "$MCM_TMP/err" || fail "missing mirror: message does not name the path: $(cat "$MCM_TMP/err")"
[ ! -s "$MCM_TMP/out" ] || fail "missing mirror: something on stdout"

# mkmirror: 1500 live items of 100 bytes, no counters file.
"$MCM_BIN/mkmirror" "$MCM_TMP/m1" 127.0.0.1:11211 1500 100 || fail "mkmirror"
"$MCM_TOOL" --mirror "$MCM_TMP/m1" stats >"$MCM_TMP/s1" || fail "stats failed"
assert_eq "$(stat_of "$MCM_TMP/s1" mirror.path)" "$MCM_TMP/m1" "mirror.path"
assert_eq "$(stat_of "$MCM_TMP/s1" mirror.format_version)" 4 "format version"
assert_eq "$(stat_of "$MCM_TMP/s1" mirror.entries)" 1500 "entries"
assert_eq "$(stat_of "$MCM_TMP/s1" mirror.last_seq)" 1500 "last_seq"
assert_eq "$(stat_of "$MCM_TMP/s1" mirror.pools)" 1 "pools"
# No process wrote yet: every counter is there, 0 (grep recipes need the lines).
for k in recorded dropped_uncertain failed skipped_encrypted passed_through map_grown lost_drops; do
	assert_eq "$(stat_of "$MCM_TMP/s1" "counters.$k")" 0 "no counters file: counters.$k"
done
grep -Eq '^mirror\.created: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$MCM_TMP/s1" || fail "created is not ISO 8601 UTC"
pid=$(grep -o '^pool\.[0-9a-f]\{16\}\.servers' "$MCM_TMP/s1" | cut -d. -f2)
[ -n "$pid" ] || fail "no pool id of 16 lower-case hex digits"
assert_eq "$(stat_of "$MCM_TMP/s1" "pool.$pid.servers")" 127.0.0.1:11211 "servers"
assert_eq "$(stat_of "$MCM_TMP/s1" "pool.$pid.live_items")" 1500 "live items"
assert_eq "$(stat_of "$MCM_TMP/s1" "pool.$pid.live_value_bytes")" 150000 "live value bytes"
assert_eq "$(stat_of "$MCM_TMP/s1" "pool.$pid.distribution")" modula "distribution name"
assert_eq "$(stat_of "$MCM_TMP/s1" total.live_items)" 1500 "total live"
for k in deleted dropped expired flushed; do
	assert_eq "$(stat_of "$MCM_TMP/s1" "pool.$pid.$k")" 0 "$k"
done
# Every line is "name: value" or blank.
! grep -v -e '^$' -e '^[a-z_.0-9]*: ' "$MCM_TMP/s1" >/dev/null || fail "a line is not 'name: value': $(grep -v -e '^$' -e '^[a-z_.0-9]*: ' "$MCM_TMP/s1")"

# Every kind of record, five pools, counters.
"$MCM_BIN/tools_fill" "$MCM_TMP/m2" >"$MCM_TMP/expect" || fail "tools_fill"
"$MCM_TOOL" --mirror "$MCM_TMP/m2" stats >"$MCM_TMP/s2" || fail "stats failed on the full mirror"
assert_eq "$(stat_of "$MCM_TMP/s2" counters.recorded)" 7 "counter recorded"
assert_eq "$(stat_of "$MCM_TMP/s2" counters.failed)" 2 "counter failed"
assert_eq "$(stat_of "$MCM_TMP/s2" counters.dropped_uncertain)" 0 "counter dropped_uncertain"
assert_eq "$(stat_of "$MCM_TMP/s2" mirror.pools)" 5 "pools"
tot_live=0 tot_del=0
while read -r _ id live bytes deleted dropped expired flushed; do
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.live_items")" "${live#live=}" "pool $id live"
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.live_value_bytes")" "${bytes#live_bytes=}" "pool $id live bytes"
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.deleted")" "${deleted#deleted=}" "pool $id deleted"
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.dropped")" "${dropped#dropped=}" "pool $id dropped"
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.expired")" "${expired#expired=}" "pool $id expired"
	assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$id.flushed")" "${flushed#flushed=}" "pool $id flushed"
	tot_live=$((tot_live + ${live#live=}))
	tot_del=$((tot_del + ${deleted#deleted=}))
done <"$MCM_TMP/expect"
assert_eq "$(stat_of "$MCM_TMP/s2" total.live_items)" "$tot_live" "total live"
assert_eq "$(stat_of "$MCM_TMP/s2" total.deleted)" "$tot_del" "total deleted"
# The pool settings, by name.
a=$(sed -n 1p "$MCM_TMP/expect" | cut -d' ' -f2)
b=$(sed -n 2p "$MCM_TMP/expect" | cut -d' ' -f2)
c=$(sed -n 3p "$MCM_TMP/expect" | cut -d' ' -f2)
d=$(sed -n 4p "$MCM_TMP/expect" | cut -d' ' -f2)
e=$(sed -n 5p "$MCM_TMP/expect" | cut -d' ' -f2)
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$b.servers")" 127.0.0.1:11212,127.0.0.1:11213 "pool B servers"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$b.distribution")" consistent_ketama "pool B distribution"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$b.key_hash")" md5 "pool B key hash"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$b.hash_with_namespace")" yes "pool B hash_with_namespace"
stat_of "$MCM_TMP/s2" "pool.$b.flush_seq" | grep -x '[1-9][0-9]*' >/dev/null || fail "pool B: no flush_seq"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$a.flush_seq")" none "pool A flush_seq"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$a.flush_time")" none "pool A flush_time"
stat_of "$MCM_TMP/s2" "pool.$c.flush_time" | grep -Eqx '[0-9-]{10}T[0-9:]{8}Z' || fail "pool C: no delayed flush time"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$c.key_hash")" fnv1a_64 "pool C key hash"
stat_of "$MCM_TMP/s2" "pool.$d.encrypted" | grep '^yes .*not mirrored' >/dev/null || fail "pool D: not reported encrypted"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$a.encrypted")" no "pool A encrypted"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$e.distribution")" "unknown (99)" "pool E distribution"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$e.key_hash")" "unknown (42)" "pool E key hash"
assert_eq "$(stat_of "$MCM_TMP/s2" "pool.$d.oldest_live_write")" none "pool D has no live write"
stat_of "$MCM_TMP/s2" "pool.$a.oldest_live_write" | grep -Eqx '[0-9-]{10}T[0-9:]{8}Z' || fail "pool A: oldest write"

# --pool: only that pool, in any case, with or without leading zeros.
"$MCM_TOOL" --mirror "$MCM_TMP/m2" stats --pool "$(echo "$b" | tr a-f A-F)" >"$MCM_TMP/s3" || fail "stats --pool failed"
assert_eq "$(grep -c '^pool\..*\.live_items' "$MCM_TMP/s3")" 1 "--pool: pools printed"
assert_eq "$(stat_of "$MCM_TMP/s3" "pool.$b.flushed")" "$(sed -n 2p "$MCM_TMP/expect" | grep -o 'flushed=[0-9]*' | cut -d= -f2)" "--pool: flushed"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m2" stats --pool 1234 >/dev/null 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "stats --pool of an unknown pool: exit status"
grep -q "no pool '0000000000001234'" "$MCM_TMP/err" || fail "unknown pool: message: $(cat "$MCM_TMP/err")"
echo "PASS"
