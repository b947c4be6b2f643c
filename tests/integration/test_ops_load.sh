#!/bin/bash
# test_ops_load.sh - `mcmirror load` with bounded memory and range-checked fields (issue 11 item 13,
# issue 17 item 4):
#   - a line of 24 MB without a space (no record) is refused as such, its line named, with a
#     resident set far below the line's size (it was read whole: a 300 MB line took 312 MB);
#   - a 16 MB value loads back byte for byte, the process holding about two copies of the value at
#     most (the value and LMDB's write buffer), not the line and its copies (4x before);
#   - a value longer than --max-value is refused as such ("a value longer than ...");
#   - every field of a checksum-valid dump is range-checked: flush_time=-9223372036854775808 (which
#     made the store compute flush_time - 1, undefined) and other out-of-range numbers are refused
#     with their line number; the mirror is not touched.
. "$MCM_HARNESS/lib.sh" || exit 1
command -v python3 >/dev/null || skip "no python3 (to write the dumps)"
[ -x /usr/bin/time ] || skip "no /usr/bin/time (Debian package time): the memory is not measured"
cd "$MCM_TMP"
"$MCM_BIN/mkmirror" small 127.0.0.1:11211 20 10 || fail "mkmirror"
"$MCM_TOOL" --mirror small dump -f small.dump || fail "dump"
asan=$(ldd "$MCM_TOOL" 2>/dev/null | grep -c libasan || true)

# remake IN OUT PYTHON: OUT is IN with its record lines changed by PYTHON (a function of the list
# of lines 'recs', returning it), the trailer's count and CRC-32 computed anew: a valid dump.
remake() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys, zlib
data = open(sys.argv[1], 'rb').read()
head, rest = data.split(b'HEADER=END\n', 1)
head += b'HEADER=END\n'
recs = rest.split(b'\n')[:-2]          # the records (the trailer and the empty tail dropped)
exec(sys.argv[3])
body = b''.join(r + b'\n' for r in recs)
out = head + body
open(sys.argv[2], 'wb').write(out + b'DATA=END records=%d crc32=%08x\n' % (len(recs), zlib.crc32(out)))
PY
}
maxrss_kb() { awk '/^maxrss=/ { sub("maxrss=", ""); print }' "$1"; }

# A 24 MB line without a space, where a record should be.
{ head -n 11 small.dump; head -c $((24 << 20)) /dev/zero | tr '\0' a; echo; } >long.dump
rc=0; /usr/bin/time -f "maxrss=%M" "$MCM_TOOL" --mirror long load long.dump 2>err || rc=$?
assert_eq "$rc" 1 "a 24 MB line: exit status"
grep -q "refusing 'long.dump': line 12: the fields before the value are longer than [0-9]* bytes: not a record line" err ||
	fail "a 24 MB line: $(cat err)"
[ ! -e long ] || fail "a refused load created the mirror"
if [ "$asan" = 0 ]; then
	[ "$(maxrss_kb err)" -lt $((12 << 10)) ] || fail "refusing a 24 MB line took $(maxrss_kb err) kB"
fi

# A 16 MB value: loaded back byte for byte, with at most about two copies of it in memory.
pool=$(grep -m1 '^pool=' small.dump | cut -c6-21)
remake small.dump big.dump "recs = [b'live $pool 1 1700000000000000 7 0 0 - bigkey ' + bytes(range(33, 91)) * (16 * 2**20 // 58)]"
rc=0; /usr/bin/time -f "maxrss=%M" "$MCM_TOOL" --mirror big load big.dump 2>err || rc=$?
assert_eq "$rc" 0 "a 16 MB value: $(cat err)"
"$MCM_TOOL" --mirror big dump -f big.back || fail "dump of the big value"
cmp -s <(grep -v '^created=\|^mirror=' big.dump | head -n -1) <(grep -v '^created=\|^mirror=' big.back | head -n -1) ||
	fail "the 16 MB value did not load back byte for byte"
if [ "$asan" = 0 ]; then
	[ "$(maxrss_kb err)" -lt $((48 << 10)) ] || fail "loading a 16 MB value took $(maxrss_kb err) kB"
fi
# Values larger than load's first arena (64 KiB) and than what it has grown to, between small
# ones and the 20 records of small.dump: all load back byte for byte.
remake small.dump mid.dump "recs = recs + [b'live $pool %d 17%014d 7 0 0 - mid%d ' % (21 + i, i, i) + bytes(range(33, 91)) * (n // 58) for i, n in enumerate([58, 100050, 58, 3000010, 58, 600010])]"
"$MCM_TOOL" --mirror mid load mid.dump 2>err || fail "values of 100 KB to 3 MB: $(cat err)"
"$MCM_TOOL" --mirror mid dump -f mid.back || fail "dump of the mirror of mid.dump"
cmp -s <(grep '^live ' mid.dump) <(grep '^live ' mid.back) || fail "values of 100 KB to 3 MB did not load back byte for byte"
assert_eq "$(grep -c '^live ' mid.back)" 26 "records loaded from mid.dump"
rc=0; "$MCM_TOOL" --mirror big2 load --max-value 8M big.dump 2>err || rc=$?
assert_eq "$rc" 1 "a value over --max-value: exit status"
grep -q "line 11: a value longer than 8388608 bytes" err || fail "a value over --max-value: $(cat err)"
[ ! -e big2 ] || fail "a refused load created the mirror"
rc=0; "$MCM_TOOL" --mirror big2 load --max-value 0 big.dump 2>/dev/null || rc=$?
assert_eq "$rc" 2 "--max-value 0"

# Range checks: a checksum-valid dump with a number no mirror holds is refused, its line named.
refused() { # FILE LINE WHY
	local rc=0
	"$MCM_TOOL" --mirror "$MCM_TMP/target" load "$1" 2>err || rc=$?
	assert_eq "$rc" 1 "$1: exit status ($(cat err))"
	grep -q "refusing '$1': line $2: .*$3" err || fail "$1: $(cat err)"
}
"$MCM_TOOL" --mirror "$MCM_TMP/target" load small.dump 2>/dev/null || fail "load small"
"$MCM_TOOL" --mirror "$MCM_TMP/target" dump -f target.before || fail "dump target"
sed 's/ flush_time=0 / flush_time=-9223372036854775808 /' small.dump >ft.tmp
remake ft.tmp ft.dump "pass"
refused ft.dump 9 "bad flush_time"
sed 's/ flush_time=0 / flush_time=-1 /' small.dump >ft1.tmp
remake ft1.tmp ft1.dump "pass"
refused ft1.dump 9 "bad flush_time"
sed 's/ encrypted=0$/ encrypted=7/' small.dump >enc.tmp
remake enc.tmp enc.dump "pass"
refused enc.dump 9 "bad encrypted"
sed 's/^last_seq=.*/last_seq=18446744073709551615/' small.dump >ls.tmp
remake ls.tmp ls.dump "pass"
refused ls.dump 6 "bad last_seq"
remake small.dump exp.dump "recs[2] = recs[2].replace(b' 0 0 - ', b' -1 0 - ', 1)"
refused exp.dump 13 "bad expiry time"
remake small.dump seq.dump "f = recs[4].split(b' '); f[2] = b'18446744073709551615'; recs[4] = b' '.join(f)"
refused seq.dump 15 "bad sequence number"
"$MCM_TOOL" --mirror "$MCM_TMP/target" dump -f target.after || fail "dump target after"
cmp -s <(grep -v '^created=' target.before | head -n -1) <(grep -v '^created=' target.after | head -n -1) ||
	fail "a refused load changed the mirror"
echo PASS
