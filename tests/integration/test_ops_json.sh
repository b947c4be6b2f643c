#!/bin/bash
# test_ops_json.sh - scripting and monitoring (issue 11 items 11 and 12, issue 18's stats part):
#   - stats --json is one JSON document (schema and version, every counter, per pool the counts,
#     server count and suggested memcached hashpower); counters are 0 (text and JSON) on a mirror
#     no process wrote yet, so the runbook's grep recipes find them;
#   - the suggested hashpower follows memcached's rule (the table grows when items > 1.5 x 2^N):
#     98304 items per server fit hashpower 16, 98305 need 17, also split over two servers;
#   - stats --prometheus passes a strict parser of the text exposition format (and promtool's
#     check when it is installed), with the values of the text output;
#   - replay, verify, import, load and snapshot end with one JSON summary line on stdout (--json
#     before or after the command name), failures included;
#   - import's point-in-time note only when it imported something; a failed import leaves no
#     mirror it created.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
command -v python3 >/dev/null || skip "no python3 (to parse JSON and check the Prometheus format)"
PROM=$MCM_HARNESS/../integration/prom_check.py
json() { # FILE EXPR: evaluate a Python expression on the JSON document in FILE (as d)
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
last_json() { # FILE: the last line of FILE, parsed as JSON, into FILE.json
	tail -n 1 "$1" >"$1.json"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1.json" || fail "not JSON: $(tail -n 1 "$1")"
}

# A mirror nobody wrote yet: counters 0 in text and JSON.
"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 98304 8 || fail "mkmirror"
"$MCM_TOOL" --mirror "$MCM_TMP/m" stats >"$MCM_TMP/s" || fail "stats"
assert_eq "$(grep -cE '^counters\.(recorded|dropped_uncertain|failed|skipped_encrypted|passed_through|map_grown|lost_drops): 0$' "$MCM_TMP/s")" 7 \
	"counters printed as 0 before any write"
"$MCM_TOOL" --mirror "$MCM_TMP/m" stats --json >"$MCM_TMP/j" || fail "stats --json"
assert_eq "$(wc -l <"$MCM_TMP/j")" 1 "stats --json: lines"
assert_eq "$(json "$MCM_TMP/j" 'd["schema"], d["version"]')" "('mcmirror-stats', 1)" "schema and version"
assert_eq "$(json "$MCM_TMP/j" 'd["counters"]["present"], d["counters"]["lost_drops"], d["counters"]["recorded"]')" "(False, 0, 0)" "counters before any write"
assert_eq "$(json "$MCM_TMP/j" 'd["total"]["live_items"]')" 98304 "total live items"
assert_eq "$(json "$MCM_TMP/j" '[(p["server_count"], p["items_per_server"], p["hashpower"]) for p in d["pools"]]')" "[(1, 98304, 16)]" "hashpower at 1.5 x 2^16"
grep -qx 'pool\.[0-9a-f]*\.hashpower: 16' "$MCM_TMP/s" || fail "text hashpower: $(grep hashpower "$MCM_TMP/s")"
"$MCM_TOOL" stats --json --mirror "$MCM_TMP/m" >"$MCM_TMP/j2" || fail "stats --json after the command"
cmp -s <(json "$MCM_TMP/j" 'd["pools"]') <(json "$MCM_TMP/j2" 'd["pools"]') || fail "--json after the command differs"

# One more item per server needs hashpower 17; two servers split the items (rounded up).
"$MCM_BIN/mkmirror" "$MCM_TMP/m2" 127.0.0.1:11211 98305 8 || fail "mkmirror 98305"
assert_eq "$("$MCM_TOOL" --mirror "$MCM_TMP/m2" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["pools"][0]["hashpower"])')" 17 "hashpower past 1.5 x 2^16"
"$MCM_BIN/mkmirror" "$MCM_TMP/m3" 127.0.0.1:1,127.0.0.1:2 196609 8 || fail "mkmirror two servers"
"$MCM_TOOL" --mirror "$MCM_TMP/m3" stats --format json >"$MCM_TMP/j3" || fail "stats --format json"
assert_eq "$(json "$MCM_TMP/j3" '[(p["server_count"], p["items_per_server"], p["hashpower"]) for p in d["pools"]]')" "[(2, 98305, 17)]" "two servers"

# Prometheus: a strict parser, and the numbers of the text output.
"$MCM_BIN/tools_fill" "$MCM_TMP/five" >/dev/null || fail "tools_fill"
"$MCM_TOOL" --mirror "$MCM_TMP/five" stats --prometheus >"$MCM_TMP/p" || fail "stats --prometheus"
python3 "$PROM" "$MCM_TMP/p" >"$MCM_TMP/pc" || fail "the Prometheus output does not parse: $(cat "$MCM_TMP/pc")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$MCM_TMP/p" >"$MCM_TMP/pc" 2>&1 || fail "promtool check metrics: $(cat "$MCM_TMP/pc")"
fi
"$MCM_TOOL" --mirror "$MCM_TMP/five" stats >"$MCM_TMP/s5" || fail "stats five"
for id in $(grep -o '^pool\.[0-9a-f]\{16\}\.live_items' "$MCM_TMP/s5" | cut -d. -f2); do
	live=$(sed -n "s/^pool\.$id\.live_items: //p" "$MCM_TMP/s5")
	grep -q "^mcmirror_pool_records{mirror=\"$MCM_TMP/five\",pool=\"$id\",servers=\"[^\"]*\",status=\"live\"} $live\$" "$MCM_TMP/p" ||
		fail "pool $id: live records in Prometheus are not $live: $(grep "pool=\"$id\"" "$MCM_TMP/p" | head -3)"
done
grep -q "^mcmirror_shim_failed_total{mirror=\"$MCM_TMP/five\"} 2$" "$MCM_TMP/p" || fail "counter failed in Prometheus"
# label values are escaped: a mirror path with a quote, a backslash
weird=$MCM_TMP/we\"ir\\d
cp -a "$MCM_TMP/five" "$weird"
"$MCM_TOOL" --mirror "$weird" stats --prometheus >"$MCM_TMP/pw" || fail "stats --prometheus of a strange path"
python3 "$PROM" "$MCM_TMP/pw" >"$MCM_TMP/pc" || fail "a strange path breaks the format: $(cat "$MCM_TMP/pc")"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/five" stats --json --prometheus >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "two output formats"
# The example unit's command, as systemd would run it ($$ is $, continued lines joined), on this mirror.
unit=$MCM_HARNESS/../../examples/systemd/mcmirror-prometheus.service
mkdir "$MCM_TMP/textfile"
cmd=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/^ExecStart=//; s/\\$//' | tr -d '\n' | sed 's/\$\$/$/g')
cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$MCM_TMP/textfile}
cmd=${cmd//\/var\/lib\/mcmirror\/app/$MCM_TMP/five}
cmd=${cmd//\/usr\/bin\/mcmirror/$MCM_TOOL}
eval "$cmd" || fail "the example unit's command failed: $cmd"
python3 "$PROM" "$MCM_TMP/textfile/mcmirror-app.prom" >"$MCM_TMP/pc" || fail "the example unit's file: $(cat "$MCM_TMP/pc")"
assert_eq "$(ls "$MCM_TMP/textfile")" mcmirror-app.prom "files the example unit left"

# JSON summary lines: snapshot, load, replay, verify, import; success and failure.
"$MCM_TOOL" -q --mirror "$MCM_TMP/five" --json snapshot "$MCM_TMP/snap" >"$MCM_TMP/o" || fail "snapshot --json"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["command"], d["ok"], d["exit"], d["path"], d["error"]')" "('snapshot', True, 0, '$MCM_TMP/snap', None)" "snapshot summary"
rc=0; "$MCM_TOOL" -q --mirror "$MCM_TMP/five" snapshot "$MCM_TMP/snap" --json >"$MCM_TMP/o" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "snapshot over an existing one"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["ok"], d["exit"], "already exists" in d["error"]')" "(False, 1, True)" "failed snapshot summary"
"$MCM_BIN/mkmirror" "$MCM_TMP/sm" 127.0.0.1:11211 3000 50 || fail "mkmirror small"
"$MCM_TOOL" --mirror "$MCM_TMP/sm" dump -f "$MCM_TMP/sm.dump" || fail "dump"
"$MCM_TOOL" -q --mirror "$MCM_TMP/l" load "$MCM_TMP/sm.dump" --json >"$MCM_TMP/o" || fail "load --json"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["command"], d["ok"], d["into"], d["records"]')" "('load', True, 'new', 3000)" "load summary"
"$MCM_TOOL" -q --mirror "$MCM_TMP/l" load "$MCM_TMP/sm.dump" --json >"$MCM_TMP/o" || fail "load --json (merge)"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["into"], d["taken"], d["kept"]')" "('merge', 0, 3000)" "merge summary"
mc_start MC
"$MCM_TOOL" -q --mirror "$MCM_TMP/sm" --json replay --servers "127.0.0.1:$MC_PORT" >"$MCM_TMP/o" || fail "replay --json"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["command"], d["ok"], d["replayed"], d["failed"]')" "('replay', True, 3000, 0)" "replay summary"
"$MCM_TOOL" -q --mirror "$MCM_TMP/sm" verify --servers "127.0.0.1:$MC_PORT" --sample 500 --json >"$MCM_TMP/o" || fail "verify --json"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["command"], d["ok"], d["checked"], d["matching"]')" "('verify', True, 500, 500)" "verify summary"
rc=0; "$MCM_TOOL" -q --mirror "$MCM_TMP/sm" replay --servers 127.0.0.1:1 --json >"$MCM_TMP/o" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "replay to nothing"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["ok"], "127.0.0.1:1" in d["error"]')" "(False, True)" "failed replay summary"

# import: the note only when something was imported; a failed import leaves no new mirror.
mc_start EMPTY
"$MCM_TOOL" --mirror "$MCM_TMP/imp" import --servers "127.0.0.1:$EMPTY_PORT" --json >"$MCM_TMP/o" 2>"$MCM_TMP/err" || fail "import of an empty server: $(cat "$MCM_TMP/err")"
grep -q "point-in-time" "$MCM_TMP/err" && fail "the point-in-time note after importing nothing"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["command"], d["ok"], d["imported"], d["listed"]')" "('import', True, 0, 0)" "import summary"
mc_cmd "$EMPTY_PORT" 'set k 0 0 1\r\nv\r\nquit\r\n' >/dev/null
"$MCM_TOOL" --mirror "$MCM_TMP/imp" import --servers "127.0.0.1:$EMPTY_PORT" 2>"$MCM_TMP/err" >/dev/null || fail "import: $(cat "$MCM_TMP/err")"
grep -q "point-in-time" "$MCM_TMP/err" || fail "no point-in-time note after importing"
mc_start NOCRAWL -o no_lru_crawler
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/never" import --servers "127.0.0.1:$NOCRAWL_PORT" --json >"$MCM_TMP/o" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "import from a server without the crawler"
[ ! -e "$MCM_TMP/never" ] || fail "a failed import left a mirror behind: $(ls -la "$MCM_TMP/never")"
last_json "$MCM_TMP/o"
assert_eq "$(json "$MCM_TMP/o.json" 'd["ok"], "refuses" in d["error"]')" "(False, True)" "failed import summary"
mkdir "$MCM_TMP/emptydir"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/emptydir" import --servers "127.0.0.1:1" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "import from nothing"
assert_eq "$(ls -A "$MCM_TMP/emptydir")" "" "a failed import into an empty directory left files"
echo PASS
