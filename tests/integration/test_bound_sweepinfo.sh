#!/bin/bash
# test_bound_sweepinfo.sh - what `mcmirror stats` shows of the bounded mirror: after expired records
# were swept, the text, JSON and Prometheus forms carry the sweep's counters, the records' bytes and
# the file's size as the store has them; `stats --capacity` asks each pool's real servers for their
# limit_maxbytes (two of 64 and 32 MiB: their sum), warns about a pool whose live data is more than
# its servers can keep (one of 2 MiB under 20,000 values of 100 bytes), and names a server that does
# not answer (exit status 1, the rest still printed).
. "$MCM_HARNESS/lib.sh"
need_memcached
T=$MCM_BIN/bound_tool
M=$MCM_TMP/mirror
mc_start A -m 64
mc_start B -m 32
mc_start C -m 2 -I 512k
AB=127.0.0.1:$A_PORT,127.0.0.1:$B_PORT

"$T" fill "$M" "$AB" 3000 1 || fail "fill"
"$T" fill "$M" "127.0.0.1:$C_PORT" 20000 0 || fail "fill"
sleep 2
"$T" expire "$M" || fail "sweep"
read -r cycles stale expired tomb flushed evicted bytes <<<"$("$T" sweep "$M")"
assert_eq "$expired" 3000 "expired records swept"
file=$(stat -c %s "$M/data.mdb")

"$MCM_TOOL" --mirror "$M" stats >"$MCM_TMP/text" || fail "stats"
for pair in "mirror.record_bytes:$bytes" "mirror.file_bytes:$file" "mirror.purge_horizon:0" "sweep.cycles:$cycles" \
	"sweep.stale:$stale" "sweep.expired:3000" "sweep.tombstones:$tomb" "sweep.flushed:$flushed" "sweep.evicted:$evicted"; do
	grep -qx "${pair%%:*}: ${pair#*:}" "$MCM_TMP/text" || fail "text: no '${pair%%:*}: ${pair#*:}'"
done
grep -q 'servers_limit_bytes\|over_capacity' "$MCM_TMP/text" && fail "text: capacity without --capacity"

"$MCM_TOOL" --mirror "$M" --json stats >"$MCM_TMP/json" || fail "stats --json"
python3 - "$MCM_TMP/json" "$bytes" "$file" <<'PY' || fail "json: $(cat "$MCM_TMP/json")"
import json, sys
b = json.load(open(sys.argv[1]))["bounded"]
assert b["record_bytes"] == int(sys.argv[2]) and b["file_bytes"] == int(sys.argv[3]), b
assert b["sweep"]["expired"] == 3000 and b["purge_horizon"] == 0, b
PY

"$MCM_TOOL" --mirror "$M" stats --prometheus >"$MCM_TMP/prom" || fail "stats --prometheus"
grep -qx "mcmirror_record_bytes $bytes" "$MCM_TMP/prom" || fail "prometheus: record bytes"
grep -qx 'mcmirror_sweep_removed_total{reason="expired"} 3000' "$MCM_TMP/prom" || fail "prometheus: expired"
grep -qx '# TYPE mcmirror_sweep_removed_total counter' "$MCM_TMP/prom" || fail "prometheus: TYPE"
for name in $(grep -v '^#' "$MCM_TMP/prom" | sed 's/[{ ].*//' | sort -u); do
	assert_eq "$(grep -c "^# TYPE $name " "$MCM_TMP/prom")" 1 "prometheus: TYPE lines of $name"
done

# --capacity: the pool on A and B fits in 96 MiB; the one on C (2 MiB) does not
rc=0
"$MCM_TOOL" --mirror "$M" stats --capacity >"$MCM_TMP/cap" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 0 "stats --capacity ($(cat "$MCM_TMP/err"))"
ab=$(grep -F ".servers: $AB" "$MCM_TMP/cap" | sed 's/^pool\.\([0-9a-f]*\)\..*/\1/')
c=$(grep -F ".servers: 127.0.0.1:$C_PORT" "$MCM_TMP/cap" | sed 's/^pool\.\([0-9a-f]*\)\..*/\1/')
[ -n "$ab" ] && [ -n "$c" ] || fail "pools not found: $(grep servers "$MCM_TMP/cap")"
assert_eq "$(grep "^pool.$ab.servers_limit_bytes:" "$MCM_TMP/cap" | cut -d' ' -f2)" $(((64 + 32) << 20)) "limit of A+B"
assert_eq "$(grep "^pool.$ab.over_capacity:" "$MCM_TMP/cap" | cut -d' ' -f2)" no "A+B over capacity"
assert_eq "$(grep "^pool.$c.servers_limit_bytes:" "$MCM_TMP/cap" | cut -d' ' -f2)" $((2 << 20)) "limit of C"
assert_eq "$(grep "^pool.$c.over_capacity:" "$MCM_TMP/cap" | cut -d' ' -f2)" yes "C over capacity"
grep -q "pool '$c' holds more than its servers can keep" "$MCM_TMP/err" || fail "no warning: $(cat "$MCM_TMP/err")"
grep -q "pool '$ab'" "$MCM_TMP/err" && fail "a warning for a pool that fits: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$M" --json stats --capacity 2>/dev/null | python3 -c "
import json, sys
p = {x['id']: x for x in json.load(sys.stdin)['pools']}
assert p['$c']['over_capacity'] is True and p['$c']['servers_limit_bytes'] == 2 << 20, p['$c']
assert p['$ab']['over_capacity'] is False, p['$ab']" || fail "json --capacity"

# a server that does not answer: named, exit 1, everything else printed
mc_stop B
rc=0
"$MCM_TOOL" --mirror "$M" stats --capacity >"$MCM_TMP/cap" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "stats --capacity with a server down"
grep -q "capacity of pool '$ab'" "$MCM_TMP/err" || fail "the pool is not named: $(cat "$MCM_TMP/err")"
grep -q "^pool.$c.over_capacity: yes" "$MCM_TMP/cap" || fail "the other pool is not printed"
grep -q "^pool.$ab.servers_limit_bytes" "$MCM_TMP/cap" && fail "a limit for a pool whose server did not answer"
grep -q '^total.live_items:' "$MCM_TMP/cap" || fail "the rest is not printed"
echo PASS
