#!/bin/bash
# test_follow.sh - `mcmirror follow`: usage, a first resync, streaming while the application writes
# (sets with TTLs, adds, replaces, appends, deletes, counters, touch, flush_all), SIGTERM, a follower
# killed -9 and resumed, and two followers of one mirror with their own positions. Each time the
# standby ends holding exactly what the mirror vouches for: verify clean (values, flags, TTLs within
# 2 s) and follow_check clean (nothing deleted, dropped or expired there, nothing else there).
. "$MCM_HARNESS/lib.sh"
. "$(dirname "$0")/follow_lib.sh"
need_memcached
M=$MCM_TMP/mirror

# usage
for args in "" "--servers" "--servers 127.0.0.1:1 --to postgresql://x/y" "--servers 127.0.0.1:1 --name bad/name" \
	"--servers 127.0.0.1:1 --batch 0" "--servers 127.0.0.1:1 extra" "--to ftp://x/y"; do
	rc=0; "$MCM_TOOL" --mirror "$M" follow $args 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "follow $args: exit status"
	[ "$(wc -l <"$MCM_TMP/err")" -le 2 ] || fail "follow $args: more than a line and a hint: $(cat "$MCM_TMP/err")"
done
"$MCM_TOOL" follow --help >"$MCM_TMP/help" || fail "follow --help"
grep -q '^usage: mcmirror .*follow (--servers STANDBY | --to URL)' "$MCM_TMP/help" || fail "no usage line"

mc_start P
mc_start S
mc_start S2
P=127.0.0.1:$P_PORT S=127.0.0.1:$S_PORT S2=127.0.0.1:$S2_PORT
rc=0; "$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "follow of a mirror that does not exist"
grep -q "cannot open mirror '$M'" "$MCM_TMP/err" || fail "no mirror: $(cat "$MCM_TMP/err")"

# a first batch of writes, then --once: a new follower resynchronises the standby
start_writer "$M" "$P" 2000 1
sleep 2
stop_writer
"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || fail "follow --once: $(cat "$MCM_TMP/err")"
grep -q "resynchronising '$S': a new follower" "$MCM_TMP/err" || fail "no resync for a new follower: $(cat "$MCM_TMP/err")"
out=$(converge "$M" "$S" 5) || fail "after --once the standby differs: $out"
# nothing pending: --once again applies nothing and resyncs nothing
"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>"$MCM_TMP/err" || fail "second --once"
grep -q "resynchronising" "$MCM_TMP/err" && fail "a second --once resynchronised: $(cat "$MCM_TMP/err")"
grep -q ": 0 changes applied" "$MCM_TMP/err" || fail "a second --once applied something: $(cat "$MCM_TMP/err")"

# streaming while the application writes; SIGTERM ends it with exit 0
start_follower "$M" "$S"
start_writer "$M" "$P" 2000 2
sleep 3
stop_writer
out=$(converge "$M" "$S") || fail "the follower did not bring the standby up to date: $out"
echo "streamed: $out"
stop_follower
grep -q "stopped by a signal" "$MCM_TMP/follow.out" || fail "no summary at SIGTERM: $(tail -3 "$MCM_TMP/follow.out")"

# killed -9 in the middle of a stream, then started again: it resumes, nothing lost
start_follower "$M" "$S"
start_writer "$M" "$P" 2000 3
for i in 1 2 3; do
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$FOLLOWER_PID"
	wait "$FOLLOWER_PID" 2>/dev/null || true
	start_follower "$M" "$S"
done
stop_writer
out=$(converge "$M" "$S") || fail "after kill -9 of the follower the standby differs: $out"
grep -q "resynchronising" <(tail -n +2 "$MCM_TMP/follow.out") && fail "a resumed follower resynchronised: $(cat "$MCM_TMP/follow.out")"
stop_follower

# a second follower (another standby) on the same mirror keeps its own position
"$MCM_TOOL" --mirror "$M" follow --servers "$S2" --name second --once 2>"$MCM_TMP/err" || fail "second follower"
converge "$M" "$S2" 5 >/dev/null || fail "the second standby differs"
start_writer "$M" "$P" 2000 4
sleep 1
stop_writer
"$MCM_TOOL" --mirror "$M" follow --servers "$S" --once 2>/dev/null || fail "first follower, again"
converge "$M" "$S" 5 >/dev/null || fail "the first standby differs"
"$MCM_TOOL" --mirror "$M" verify --servers "$S2" 2>"$MCM_TMP/err" &&
	fail "the second standby followed without its follower: $(cat "$MCM_TMP/err"; cat "$MCM_TMP/writer.out")"
"$MCM_TOOL" --mirror "$M" follow --servers "$S2" --name second --once 2>"$MCM_TMP/err" || fail "second follower again"
grep -q resynchronising "$MCM_TMP/err" && fail "the second follower resynchronised: $(cat "$MCM_TMP/err")"
converge "$M" "$S2" 5 >/dev/null || fail "the second standby differs at the end"
# stats lists both followers, caught up
"$MCM_TOOL" --mirror "$M" stats --json >"$MCM_TMP/stats.json" || fail "stats --json"
python3 - "$MCM_TMP/stats.json" "$S" "$S2" <<'PY' || fail "stats does not show the followers: $(cat "$MCM_TMP/stats.json")"
import json, sys
d = json.load(open(sys.argv[1]))
f = {x["name"]: x for x in d["followers"]}
assert len(f) == 2, f
assert f["second"]["target"] == sys.argv[3], f
assert any(x["target"] == sys.argv[2] for x in f.values()), f
for x in f.values():
    assert x["changes_behind"] == 0 and x["seconds_behind"] == 0 and not x["must_resync"], x
    assert x["resyncs"] >= 1 and x["last_contact"], x
PY
"$MCM_TOOL" --mirror "$M" stats >"$MCM_TMP/stats" || fail "stats"
grep -q '^follower\.second\.changes_behind: 0$' "$MCM_TMP/stats" || fail "stats text: no follower lines"
echo "PASS"
