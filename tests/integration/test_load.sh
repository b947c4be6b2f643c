#!/bin/bash
# test_load.sh - `mcmirror load`: dump | load rebuilds a mirror whose dump has the same record lines
# (every field, sequence numbers included) for binary values, namespaces, group keys, tombstones and
# five pools with flush markers; a truncated, bit-flipped or reordered dump is refused with its line
# number and the target is unchanged; loading into a live mirror merges by write time. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1
C=$MCM_BIN/backup_check

# crc_of FILE: CRC-32 of FILE (computed by gzip, not by our code).
crc_of() {
	gzip -c <"$1" | tail -c 8 | head -c 4 | od -An -tx1 | awk '{ print $4 $3 $2 $1 }'
}
# records FILE: the lines that must round-trip (all but created=, mirror= and the trailer's CRC).
records() {
	grep -v -e '^created=' -e '^mirror=' -e '^DATA=END' "$1"
}
# mkdump OUT HEADER_POOL_LINE RECORD_LINES...: a dump written by hand, with a correct trailer.
mkdump() {
	local out=$1 pool=$2
	shift 2
	{
		printf 'format=mcmirror-dump\nversion=1\nrecord_format=1\ncreated=2026-01-01T00:00:00Z\n'
		printf 'mirror=hand\nlast_seq=10\nscope=all\npools=1\n%s\nHEADER=END\n' "$pool"
		printf '%s\n' "$@"
	} >"$out.body"
	{ cat "$out.body"; echo "DATA=END records=$#$(printf ' crc32=%s' "$(crc_of "$out.body")")"; } >"$out"
}

# Usage.
"$MCM_TOOL" load --help >"$MCM_TMP/help" || fail "load --help"
grep -q '^usage: mcmirror .*load FILE' "$MCM_TMP/help" || fail "no usage line on stdout"
for args in "" "a b" "--bogus x"; do
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/u" load $args 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "load $args: exit status"
done
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/u" load "$MCM_TMP/nofile" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "load of a missing file"
grep -q "cannot open '$MCM_TMP/nofile'" "$MCM_TMP/err" || fail "message: $(cat "$MCM_TMP/err")"

# Round trip through a pipe: every kind of record in five pools, into a new mirror.
"$MCM_BIN/tools_fill" "$MCM_TMP/a" >/dev/null || fail "tools_fill"
"$MCM_TOOL" --mirror "$MCM_TMP/a" dump --all | "$MCM_TOOL" -q --mirror "$MCM_TMP/b" load - || fail "dump | load"
"$MCM_TOOL" --mirror "$MCM_TMP/a" dump --all >"$MCM_TMP/a.dump"
"$MCM_TOOL" --mirror "$MCM_TMP/b" dump --all >"$MCM_TMP/b.dump"
records "$MCM_TMP/a.dump" >"$MCM_TMP/a.rec"
records "$MCM_TMP/b.dump" >"$MCM_TMP/b.rec"
cmp -s "$MCM_TMP/a.rec" "$MCM_TMP/b.rec" || fail "dump | load | dump differs: $(diff "$MCM_TMP/a.rec" "$MCM_TMP/b.rec" | head -5)"
[ "$(grep -c -e '^deleted ' -e '^dropped ' -e '^flushed ' -e '^expired ' "$MCM_TMP/b.rec")" -ge 8 ] || fail "too few tombstones and dead records to mean anything"
grep -q ' +' "$MCM_TMP/b.rec" && grep -q '\\00' "$MCM_TMP/b.rec" || fail "no group keys or binary bytes in the round trip"
[ "$(grep -c '^pool=' "$MCM_TMP/b.rec")" = 5 ] || fail "pools lost"
out=$("$C" seq "$MCM_TMP/b") || fail "loaded mirror: seq index: $out"
assert_eq "$(ls "$MCM_TMP" | grep -c '\.load\.')" 0 "temporary environment left"
# A live-only dump of mkmirror's items (every 8th value holds NUL, CR, LF) round-trips too; new
# writes to the loaded mirror get numbers above every loaded one.
"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 5000 100 >/dev/null || fail mkmirror
"$MCM_TOOL" --mirror "$MCM_TMP/m" dump -f "$MCM_TMP/m.dump" || fail "dump -f"
"$MCM_TOOL" -q --mirror "$MCM_TMP/m2" load "$MCM_TMP/m.dump" || fail "load of mkmirror's dump"
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump >"$MCM_TMP/m2.dump"
cmp -s <(records "$MCM_TMP/m.dump") <(records "$MCM_TMP/m2.dump") || fail "mkmirror round trip differs"

# Damaged files are refused with their line, and the target stays as it was.
"$MCM_TOOL" --mirror "$MCM_TMP/b" dump --all >"$MCM_TMP/before"
n=$(wc -l <"$MCM_TMP/a.dump")
head -c -20 "$MCM_TMP/a.dump" >"$MCM_TMP/trunc1"                  # cut inside the trailer
head -n 20 "$MCM_TMP/a.dump" >"$MCM_TMP/trunc2"                   # cut at a line end
python3 - "$MCM_TMP/a.dump" "$MCM_TMP/flip" <<'PY' || fail "python3"
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'in\\20a\\20group')  # a value byte: the line still decodes, only the CRC can tell
d[i] ^= 0x01                       # 'i' -> 'h'
open(sys.argv[2], 'wb').write(d)
PY
flipline=$(grep -n 'hn\\20a\\20group' "$MCM_TMP/flip" | cut -d: -f1)
sed '16{h;d};17G' "$MCM_TMP/a.dump" >"$MCM_TMP/swap"              # two records swapped
# a trailer without its crc32 field (the reader searched for it past the line's end: found by
# fuzz_load, a heap overflow in the ASan build)
sed '$s/ crc32=/ crc16=/' "$MCM_TMP/a.dump" >"$MCM_TMP/nocrc"
for f in "trunc1:line $n: the last line has no newline" "trunc2:line 21: the file ends without its trailer" \
	"flip:line $n: CRC-32 mismatch" "swap:line 17: record out of" "nocrc:line $n: bad trailer"; do
	file=${f%%:*} why=${f#*:}
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/b" load "$MCM_TMP/$file" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "load of $file: exit status"
	grep -q "mcmirror: load: refusing '$MCM_TMP/$file': $why" "$MCM_TMP/err" || fail "$file: message: $(cat "$MCM_TMP/err")"
	grep -q "mirror '$MCM_TMP/b' not changed" "$MCM_TMP/err" || fail "$file: does not say the mirror is unchanged"
	"$MCM_TOOL" --mirror "$MCM_TMP/b" dump --all >"$MCM_TMP/after"
	cmp -s <(records "$MCM_TMP/before") <(records "$MCM_TMP/after") || fail "$file: the target changed"
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/new-$file" load "$MCM_TMP/$file" 2>/dev/null || rc=$?
	[ "$rc" = 1 ] && [ ! -e "$MCM_TMP/new-$file" ] || fail "$file: a new mirror was created from a refused file"
done
[ -n "$flipline" ] || fail "flip test did not flip"
assert_eq "$(ls "$MCM_TMP" | grep -c '\.load\.')" 0 "temporary environment left after refusals"

# Merge by write time into a live mirror: the later write stays, a tie keeps the mirror's record,
# a newer deletion wins over a value, a value the dump lists as flushed merges as a deletion.
P=pool=0000000000000001\ servers=127.0.0.1:1\ distribution=modula\ key_hash=default\ dist_hash=default\ hash_with_namespace=0\ created_us=1\ flush_seq=0\ flush_time=0\ encrypted=0
mkdump "$MCM_TMP/t.dump" "$P" \
	"live 0000000000000001 1 1000 1 0 0 - k1 mirror1" \
	"live 0000000000000001 2 2000 2 0 0 - k2 mirror2" \
	"live 0000000000000001 3 3000 3 0 0 - k3 mirror3" \
	"live 0000000000000001 4 4000 4 0 0 - k4 mirror4" \
	"live 0000000000000001 5 5000 5 0 0 - k5 mirror5"
"$MCM_TOOL" -q --mirror "$MCM_TMP/t" load "$MCM_TMP/t.dump" || fail "load of the hand-made dump"
P2=${P/flush_seq=0/flush_seq=8}
mkdump "$MCM_TMP/u.dump" "$P2" \
	"live 0000000000000001 9 999 9 0 0 - k1 older" \
	"live 0000000000000001 10 2000 9 0 0 - k2 tie" \
	"deleted 0000000000000001 11 3001 0 0 0 - k3 " \
	"flushed 0000000000000001 7 4001 9 0 0 - k4 flushed" \
	"live 0000000000000001 12 6000 9 0 4 +g k6:new new\\00value"
"$MCM_TOOL" --mirror "$MCM_TMP/t" load "$MCM_TMP/u.dump" 2>"$MCM_TMP/err" || fail "merge: $(cat "$MCM_TMP/err")"
grep -q '3 records taken from the dump (1 of them values it lists as flushed, taken as deletions), 2 kept' "$MCM_TMP/err" ||
	fail "merge summary: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$MCM_TMP/t" dump --all | grep -E '^(live|deleted|dropped|expired|flushed) ' |
	awk '{ print $1, $4, $5, $7, $8, $9, $10 }' >"$MCM_TMP/merged"
cat >"$MCM_TMP/want" <<'W'
live 1000 1 0 - k1 mirror1
live 2000 2 0 - k2 mirror2
deleted 3001 0 0 - k3 
deleted 4001 0 0 - k4 
live 5000 5 0 - k5 mirror5
live 6000 9 4 +g k6:new new\00value
W
cmp -s "$MCM_TMP/merged" "$MCM_TMP/want" || fail "merge result: $(diff "$MCM_TMP/want" "$MCM_TMP/merged")"
out=$("$C" seq "$MCM_TMP/t") || fail "merged mirror: seq index: $out"
# Merging the same file again changes nothing.
"$MCM_TOOL" --mirror "$MCM_TMP/t" dump --all | records /dev/stdin >"$MCM_TMP/r1"
"$MCM_TOOL" -q --mirror "$MCM_TMP/t" load "$MCM_TMP/u.dump" || fail "second merge"
"$MCM_TOOL" --mirror "$MCM_TMP/t" dump --all | records /dev/stdin >"$MCM_TMP/r2"
cmp -s "$MCM_TMP/r1" "$MCM_TMP/r2" || fail "a second merge changed the mirror"
echo ok
