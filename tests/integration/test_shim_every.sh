#!/bin/bash
# test_shim_every.sh - every intercepted call at random (shim_every.c): 3 processes x 3 threads, each
# owning its keys, each writing through the text and the binary protocol on two pools (one server;
# two servers), with namespaces; random binary values, numbers and non-numbers, appends with NUL
# bytes, incr/decr (with initial values too), touch, cas, deletes, on present and absent keys. The
# workload checks every reply against its model of the servers. Then memcached is killed (-9) and
# started empty, both pools are replayed, and every key must be back exactly (value, flags, expiry
# within 2 s) or absent as before, with dropped_uncertain 0: the only keys allowed missing are those
# whose last write left a state no client can know, each counted with its reason.
# Seed: MCM_SEED (printed); calls per worker: MCM_OPS.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3
mirror=$MCM_TMP/mirror
seed=${MCM_SEED:-4242}
ops=${MCM_OPS:-400}
p1="127.0.0.1:$S1_PORT"
p2="127.0.0.1:$S2_PORT,127.0.0.1:$S3_PORT"
echo "seed $seed (set MCM_SEED to change it), $ops calls per worker"
under_shim "$mirror" "$MCM_BIN/shim_every" run "$MCM_TMP/keys" "$p1" "$p2" "$seed" "$ops" >"$MCM_TMP/run.out" ||
	fail "seed $seed: the workload's replies differ from its model: $(cat "$MCM_TMP/run.out")"
cat "$MCM_TMP/run.out"
stats=$("$MCM_BIN/mirror_check" --stats "$mirror") || fail "cannot read the mirror's counters"
assert_eq "$(awk '$1 == "dropped_uncertain" { print $2 }' <<<"$stats")" 0 "keys dropped for an unknown outcome"
mc_restart S1 S2 S3
for p in "$p1" "$p2"; do
	"$MCM_TOOL" --mirror "$mirror" replay --servers "$p" 2>"$MCM_TMP/replay.err" ||
		fail "replay of $p failed: $(cat "$MCM_TMP/replay.err")"
done
"$MCM_BIN/shim_every" verify "$MCM_TMP/keys" >"$MCM_TMP/verify.out" ||
	fail "seed $seed: not restored: $(grep -m8 FAIL "$MCM_TMP/verify.out"; tail -1 "$MCM_TMP/verify.out")"
tail -1 "$MCM_TMP/verify.out"
echo "PASS"
