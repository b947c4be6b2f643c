#!/bin/bash
# test_php_memcached.sh - PHP's Memcached class, unmodified, under the shim: after kill -9 of both
# servers and `mcmirror replay`, the application reads back what it wrote.
#
# php_memcached.php writes over the ASCII and the binary protocol (OPT_PREFIX_KEY, OPT_COMPRESSION
# off, two servers, modula distribution): setMulti, set with expiry, increment/decrement (ASCII:
# plain incr; binary: also with an initial value, i.e. increment_with_initial), append, prepend,
# touch, cas, failing add/replace, deleteMulti, delete. The writes run once without the shim and
# once under it, on fresh servers; their stdout and exit codes must be identical. The script's
# check mode holds every key to its contract: present with its value, absent (deleted), or, for a
# key whose last write had an unknown outcome (binary increment with initial value: the result
# equals the initial value), absent or correct after the replay. On the restarted, still empty
# servers the check must fail (it can); after the replay it must pass and `mcmirror verify` must
# find nothing different.
# PHP loads extensions with RTLD_DEEPBIND, which a sanitizer runtime refuses (google/sanitizers#611):
# in a sanitizer build this test is skipped.
. "$MCM_HARNESS/lib.sh" || exit 1
need_php_memcached
app=$(dirname "$0")/php_memcached.php
mirror=$MCM_TMP/mirror

# php ARGS...: run the application
php() {
	"$PHP" "$app" "$@"
}

# writes DIR WRAPPER...: the write phase over both protocols, each run through WRAPPER
writes() {
	local dir=$1 proto rc
	shift
	mkdir "$dir"
	for proto in ascii binary; do
		rc=0
		"$@" php write $proto "$servers" >"$dir/$proto.out" 2>"$dir/$proto.err" || rc=$?
		echo "$rc" >"$dir/$proto.rc"
		[ "$rc" = 0 ] || fail "$proto writes failed ($1): $(cat "$dir/$proto.err")"
		[ ! -s "$dir/$proto.err" ] || fail "$proto writes ($1) complained: $(cat "$dir/$proto.err")"
	done
}

# checks WHEN: both protocols' keys against their contract; prints the lines, returns 1 on a failure
checks() {
	local proto rc=0
	for proto in ascii binary; do
		php check $proto "$servers" "$1" || rc=1
	done
	return $rc
}

# items PORT: how many items the server holds
items() {
	mc_cmd "$1" "stats\r\nquit\r\n" | tr -d '\r' | awk '$2 == "curr_items" { print $3 }'
}

mc_start S1
mc_start S2
servers=127.0.0.1:$S1_PORT,127.0.0.1:$S2_PORT
writes "$MCM_TMP/plain" plain
mc_restart S1 S2
writes "$MCM_TMP/shim" under_shim "$mirror"
for f in "$MCM_TMP/plain/"*.out "$MCM_TMP/plain/"*.rc; do
	cmp -s "$f" "$MCM_TMP/shim/${f##*/}" ||
		fail "${f##*/}: another output under the shim: $(diff "$f" "$MCM_TMP/shim/${f##*/}" | head -4)"
done
grep -q "^increment ctr:init 1 initial 100 -> 101 0$" "$MCM_TMP/shim/binary.out" ||
	fail "binary increment with an initial value did not run as expected: $(cat "$MCM_TMP/shim/binary.out")"
checks before >"$MCM_TMP/check-before" || fail "the contract does not hold before the crash: $(grep FAIL "$MCM_TMP/check-before")"
[ "$(items "$S1_PORT")" -gt 0 ] && [ "$(items "$S2_PORT")" -gt 0 ] ||
	fail "the keys are not spread over both servers: $(items "$S1_PORT") and $(items "$S2_PORT") items"

mc_restart S1 S2
if checks after >"$MCM_TMP/check-empty"; then
	fail "the check passes on empty servers: it proves nothing"
fi
"$MCM_TOOL" --mirror "$mirror" replay --servers "$servers" 2>"$MCM_TMP/replay.err" ||
	fail "replay failed: $(cat "$MCM_TMP/replay.err")"
checks after >"$MCM_TMP/check-after" || fail "after the replay: $(grep FAIL "$MCM_TMP/check-after")"
"$MCM_TOOL" --mirror "$mirror" verify --servers "$servers" 2>"$MCM_TMP/verify.err" ||
	fail "verify after the replay: $(cat "$MCM_TMP/verify.err")"
# Keys the mirror dropped (an uncertain outcome) are misses after the warm-up, by design.
grep ' (maybe): absent$' "$MCM_TMP/check-after" | sed 's/^ok /note: dropped by design, a miss: /' >&2 || true
echo "PASS"
