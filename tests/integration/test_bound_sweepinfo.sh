#!/bin/bash
# test_bound_sweepinfo.sh - tools/sweepinfo.c, what `mcmirror stats` is to show of the bounded mirror:
# after expired records were swept, the text, JSON and Prometheus forms carry the sweep's counters,
# the records' bytes and the file's size as the store has them; the servers' limit_maxbytes is read
# from real memcached servers (two of 64 and 32 MiB) and the capacity rule counts memcached's
# per-item overhead.
. "$MCM_HARNESS/lib.sh"
need_memcached
T=$MCM_BIN/bound_tool
I=$MCM_BIN/bound_sweepinfo
M=$MCM_TMP/mirror

"$T" fill "$M" 127.0.0.1:1 3000 1 || fail "fill"
"$T" fill "$M" 127.0.0.1:2 1000 0 || fail "fill"
sleep 2
"$T" expire "$M" || fail "sweep"
read -r cycles stale expired tomb flushed evicted bytes <<<"$("$T" sweep "$M")"
assert_eq "$expired" 3000 "expired records swept"
file=$(stat -c %s "$M/data.mdb")

"$I" "$M" text >"$MCM_TMP/text" || fail "text"
cat "$MCM_TMP/text" >&2
for pair in "mirror.record_bytes:$bytes" "mirror.file_bytes:$file" "mirror.purge_horizon:0" "sweep.cycles:$cycles" \
	"sweep.stale:$stale" "sweep.expired:3000" "sweep.tombstones:$tomb" "sweep.flushed:$flushed" "sweep.evicted:$evicted"; do
	grep -qx "${pair%%:*}: ${pair#*:}" "$MCM_TMP/text" || fail "text: no '${pair%%:*}: ${pair#*:}'"
done
[ "$(wc -l <"$MCM_TMP/text")" = 9 ] || fail "text: unexpected lines"

"$I" "$M" json >"$MCM_TMP/json" || fail "json"
python3 - "$MCM_TMP/json" "$bytes" "$file" <<'PY' || fail "json: $(cat "$MCM_TMP/json")"
import json, sys
b = json.load(open(sys.argv[1]))["bounded"]
assert b["record_bytes"] == int(sys.argv[2]) and b["file_bytes"] == int(sys.argv[3]), b
assert b["sweep"]["expired"] == 3000 and b["purge_horizon"] == 0, b
PY

"$I" "$M" prometheus >"$MCM_TMP/prom" || fail "prometheus"
grep -qx "mcmirror_record_bytes $bytes" "$MCM_TMP/prom" || fail "prometheus: record bytes"
grep -qx 'mcmirror_sweep_removed_total{reason="expired"} 3000' "$MCM_TMP/prom" || fail "prometheus: expired"
grep -qx '# TYPE mcmirror_sweep_removed_total counter' "$MCM_TMP/prom" || fail "prometheus: TYPE"
# every sample line is NAME[{labels}] VALUE, and every name has its TYPE
awk '!/^#/ && !/^[a-z_]+(\{reason="[a-z]+"\})? [0-9]+$/ { exit 1 }' "$MCM_TMP/prom" || fail "prometheus: bad sample line"
for name in $(grep -v '^#' "$MCM_TMP/prom" | sed 's/[{ ].*//' | sort -u); do
	grep -q "^# TYPE $name " "$MCM_TMP/prom" || fail "prometheus: no TYPE for $name"
done

mc_start A -m 64
mc_start B -m 32
assert_eq "$("$I" limit "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT")" $(((64 + 32) << 20)) "limit_maxbytes of two servers"
mc_stop B
rc=0; "$I" limit "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "limit with a server down"
grep -q "127.0.0.1:$B_PORT" "$MCM_TMP/err" || fail "the servers are not named: $(cat "$MCM_TMP/err")"
"$I" over 1000000 0 1000000 >/dev/null && fail "exactly full is not over"
"$I" over 1000000 1 1000000 >/dev/null || fail "one item's overhead more is over"
"$I" over 999999999 9 0 >/dev/null && fail "an unknown limit (0) is never over"
echo PASS
