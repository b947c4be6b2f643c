#!/bin/bash
# test_damaged.sh - one flipped bit in a value inside data.mdb (bit rot). Before record format 2 every
# tool read it as good: stats, dump, replay and verify exited 0, memcached received the corrupted
# bytes, and snapshot wrote a fresh CHECKSUM over them. Now each reader names the record (pool, seq,
# key), skips it, goes on with the others, and exits 1; replay and follow never send its bytes.
. "$MCM_HARNESS/lib.sh"
need_memcached
M=$MCM_TMP/mirror

# a mirror of three records, written by load from a dump made here
python3 - "$MCM_TMP/in.dump" <<'PY'
import sys, time, zlib
now = int(time.time()) * 1000000
pool = "335ba8a0684190e6"
head = ("format=mcmirror-dump\nversion=1\nrecord_format=2\ncreated=2026-01-01T00:00:00Z\nmirror=/x\n"
        "last_seq=3\nscope=all\npools=1\n"
        "pool=%s servers=127.0.0.1:11211 distribution=modula key_hash=default dist_hash=default "
        "hash_with_namespace=0 created_us=%d flush_seq=0 flush_time=0 encrypted=0\nHEADER=END\n" % (pool, now))
recs = [("good-1", "first-good-value"), ("hit", "UNIQUE-DAMAGE-VALUE-42-XYZ"), ("good-2", "second-good-value")]
lines = ""
for i, (k, v) in enumerate(sorted(recs)):
    lines += "live %s %d %d 5 0 0 - %s %s\n" % (pool, i + 1, now + i, k, v)
body = head + lines
body += "DATA=END records=%d crc32=%08x\n" % (len(recs), zlib.crc32(body.encode()) & 0xffffffff)
open(sys.argv[1], "w").write(body)
PY
"$MCM_TOOL" -q --mirror "$M" load "$MCM_TMP/in.dump" || fail "load"
"$MCM_TOOL" -q --mirror "$M" stats >/dev/null || fail "stats before the damage"
python3 - "$M/data.mdb" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
needle, n, at = b"UNIQUE-DAMAGE-VALUE-42-XYZ", 0, 0
while (at := d.find(needle, at)) >= 0:
    d[at + 7] ^= 0x04
    at += 1
    n += 1
assert n > 0, "the value is not in data.mdb"
open(sys.argv[1], "r+b").write(d)
PY
named() { # named OUTPUT COMMAND: exit 1, and the record named in stderr
	grep -q "pool 335ba8a0684190e6, seq 3, key 'hit': damaged record skipped" "$MCM_TMP/err" ||
		fail "$1 does not name the damaged record: $(cat "$MCM_TMP/err")"
	grep -q "1 damaged records were skipped" "$MCM_TMP/err" || fail "$1: no count: $(cat "$MCM_TMP/err")"
}
rc=0; "$MCM_TOOL" --mirror "$M" stats >"$MCM_TMP/stats" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "stats exit status"
named stats
grep -q "live_items: 2$" "$MCM_TMP/stats" || fail "stats did not count the other records: $(cat "$MCM_TMP/stats")"

rc=0; "$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/out.dump" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "dump exit status"
named dump
grep -q ' good-1 first-good-value$' "$MCM_TMP/out.dump" && grep -q ' good-2 second-good-value$' "$MCM_TMP/out.dump" ||
	fail "dump lost the good records"
grep -q ' hit ' "$MCM_TMP/out.dump" && fail "dump wrote the damaged record"

mc_start MC
rc=0; "$MCM_TOOL" --mirror "$M" replay --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "replay exit status"
named replay
out=$(mc_cmd "$MC_PORT" 'mg hit v\r\nmg good-1 v\r\nmg good-2 v\r\nquit\r\n' | tr -d '\r' | tr '\n' ' ')
assert_eq "$out" "EN VA 16 first-good-value VA 17 second-good-value " "what replay sent"

rc=0; "$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "verify exit status"
named verify

rc=0; "$MCM_TOOL" --mirror "$M" snapshot "$MCM_TMP/snap" >/dev/null 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "snapshot exit status"
named snapshot
[ -f "$MCM_TMP/snap/data.mdb" ] && [ -f "$MCM_TMP/snap/CHECKSUM" ] || fail "the snapshot of the rest was not kept"

# follow: the standby never gets it (deleted there), the rest goes
mc_start SB
mc_cmd "$SB_PORT" 'ms hit 3\r\nold\r\nquit\r\n' >/dev/null # an older value the standby must not keep
rc=0; "$MCM_TOOL" --mirror "$M" follow --servers "127.0.0.1:$SB_PORT" --once 2>"$MCM_TMP/err" || rc=$?
grep -q "key 'hit': a damaged record: deleted on the target, never sent" "$MCM_TMP/err" ||
	fail "follow did not name the damaged record: $(cat "$MCM_TMP/err")"
out=$(mc_cmd "$SB_PORT" 'mg hit v\r\nmg good-2 v\r\nquit\r\n' | tr -d '\r' | tr '\n' ' ')
assert_eq "$out" "EN VA 17 second-good-value " "what follow sent"
echo "PASS"
