#!/bin/bash
# test_shim_once.sh - each logical write is recorded exactly once: N sets of distinct keys, then
# N writes through the calls that call their _by_key twin inside libmemcached (delete, increment,
# touch), advance the sequence by 2N, add N records, and count 2N recorded writes.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mirror=$MCM_TMP/mirror
n=200

# stat NAME TEXT: the value of "NAME value" in TEXT
stat() {
	awk -v k="$1" '$1 == k { print $2 }' <<<"$2"
}

under_shim "$mirror" "$MCM_BIN/shim_drive" count "$MCM_TMP/keys-warm" "127.0.0.1:$S1_PORT" 8 warm >/dev/null ||
	fail "warm-up: unexpected results under the shim"
before=$("$MCM_BIN/mirror_check" --stats "$mirror") || fail "cannot read the mirror's stats"
under_shim "$mirror" "$MCM_BIN/shim_drive" count "$MCM_TMP/keys" "127.0.0.1:$S1_PORT" $n once >"$MCM_TMP/out" ||
	fail "unexpected results under the shim"
after=$("$MCM_BIN/mirror_check" --stats "$mirror") || fail "cannot read the mirror's stats"
writes=$(awk '$1 == "writes" { print $2 }' "$MCM_TMP/out")
assert_eq "$writes" $((2 * n)) "writes made by the driver"
assert_eq $(($(stat last_seq "$after") - $(stat last_seq "$before"))) "$writes" "sequence numbers taken"
assert_eq $(($(stat entries "$after") - $(stat entries "$before"))) $n "records added"
assert_eq $(($(stat recorded "$after") - $(stat recorded "$before"))) "$writes" "writes counted as recorded"
assert_eq $(($(stat dropped_uncertain "$after") - $(stat dropped_uncertain "$before"))) 0 "keys dropped"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "the mirror differs from the server"
echo "PASS"
