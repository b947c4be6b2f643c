#!/bin/bash
# test_dump.sh - `mcmirror dump` writes every field of every record byte-exactly (read back with the
# decoder `load` will use), a correct CRC-32 trailer, live records only unless --all, one pool with
# --pool; -f replaces FILE only when the dump is complete; errors and exit codes. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1
CHECK=$MCM_BIN/tools_dumpcheck

# crc_of FILE: CRC-32 of FILE without its last line, computed by gzip (not by our code).
crc_of() {
	head -n -1 "$1" | gzip -c | tail -c 8 | head -c 4 | od -An -tx1 | awk '{ print $4 $3 $2 $1 }'
}

# field VALUE FILE: the value of header line "NAME=VALUE".
header() {
	sed -n "s/^$1=//p" "$2" | sed -n 1p
}

"$CHECK" selftest || fail "dumpfmt self-test"

# Usage and help.
"$MCM_TOOL" dump --help >"$MCM_TMP/help" || fail "dump --help did not exit 0"
grep -q '^usage: mcmirror .*dump' "$MCM_TMP/help" || fail "dump --help has no usage line on stdout"
for args in "--bogus" "extra" "--pool" "--pool 12345678901234567" "--pool 12g" "-f"; do
	rc=0; "$MCM_TOOL" dump $args >/dev/null 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "dump $args: exit status"
	grep -q "try 'mcmirror dump --help'" "$MCM_TMP/err" || fail "dump $args: no hint"
done

# A missing mirror: exit 1 naming it, no file created.
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/absent" dump -f "$MCM_TMP/never.dump" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "dump of a missing mirror: exit status"
grep -q "mcmirror: dump: .*'$MCM_TMP/absent'" "$MCM_TMP/err" || fail "missing mirror: message: $(cat "$MCM_TMP/err")"
[ -z "$(ls "$MCM_TMP" | grep never)" ] || fail "missing mirror: a file was created"

# mkmirror's items (every 8th value holds NUL, CR, LF) to stdout.
"$MCM_BIN/mkmirror" "$MCM_TMP/m1" 127.0.0.1:11211 3000 100 || fail "mkmirror"
"$MCM_TOOL" --mirror "$MCM_TMP/m1" dump >"$MCM_TMP/d1" || fail "dump to stdout failed"
out=$("$CHECK" check "$MCM_TMP/m1" "$MCM_TMP/d1") || fail "dump does not read back"
assert_eq "$out" "ok scope=live records=3000 live=3000 expired=0 flushed=0 deleted=0 dropped=0" "mkmirror dump"
assert_eq "$(head -1 "$MCM_TMP/d1")" "format=mcmirror-dump" "first line"
assert_eq "$(header version "$MCM_TMP/d1")" 1 "version"
assert_eq "$(tail -1 "$MCM_TMP/d1")" "DATA=END records=3000 crc32=$(crc_of "$MCM_TMP/d1")" "trailer (CRC by gzip)"
grep -q ' key:00000008 \\00\\0d\\0almnopqr' "$MCM_TMP/d1" || fail "value with NUL/CR/LF not escaped as documented"
# The CRC and the record count catch damage: flip one byte of a value, drop one line.
sed '20s/key:/kez:/' "$MCM_TMP/d1" >"$MCM_TMP/d1-bad"
! "$CHECK" check "$MCM_TMP/m1" "$MCM_TMP/d1-bad" 2>/dev/null || fail "a damaged dump passed the check"
[ "$(tail -1 "$MCM_TMP/d1-bad")" != "DATA=END records=3000 crc32=$(crc_of "$MCM_TMP/d1-bad")" ] || fail "CRC blind to damage"
head -c -1 "$MCM_TMP/d1" >"$MCM_TMP/d1-trunc"
"$CHECK" check "$MCM_TMP/m1" "$MCM_TMP/d1-trunc" 2>"$MCM_TMP/err" && fail "a truncated dump passed the check"
grep -q 'line 3011' "$MCM_TMP/err" || fail "truncation not reported with its line: $(cat "$MCM_TMP/err")"

# Every kind of record, in five pools.
"$MCM_BIN/tools_fill" "$MCM_TMP/m2" >"$MCM_TMP/expect" || fail "tools_fill"
sum() { echo $(( $(grep -o "$1=[0-9]*" "$MCM_TMP/expect" | cut -d= -f2 | paste -sd+) )); }
live=$(sum live) deleted=$(sum deleted) dropped=$(sum dropped) expired=$(sum expired) flushed=$(sum flushed)
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump >"$MCM_TMP/d2" || fail "dump failed"
out=$("$CHECK" check "$MCM_TMP/m2" "$MCM_TMP/d2") || fail "live dump does not read back"
assert_eq "$out" "ok scope=live records=$live live=$live expired=0 flushed=0 deleted=0 dropped=0" "live dump"
assert_eq "$(grep -c -v '^live ' "$MCM_TMP/d2")" $((8 + 5 + 2)) "live dump: lines other than live records"
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump --all >"$MCM_TMP/d3" || fail "dump --all failed"
out=$("$CHECK" check "$MCM_TMP/m2" "$MCM_TMP/d3") || fail "--all dump does not read back"
total=$((live + deleted + dropped + expired + flushed))
assert_eq "$out" "ok scope=all records=$total live=$live expired=$expired flushed=$flushed deleted=$deleted dropped=$dropped" "--all dump"
assert_eq "$(header scope "$MCM_TMP/d3")" all "scope"
assert_eq "$(tail -1 "$MCM_TMP/d3")" "DATA=END records=$total crc32=$(crc_of "$MCM_TMP/d3")" "--all trailer"
# A few lines spelled out (docs/FORMAT.md): namespace length, group keys, escapes, tombstones.
a=$(sed -n 1p "$MCM_TMP/expect" | cut -d' ' -f2)
b=$(sed -n 2p "$MCM_TMP/expect" | cut -d' ' -f2)
grep -Eq "^live $a [0-9]+ [0-9]+ 8793 0 5 - app1:user ns\\\\20value\$" "$MCM_TMP/d3" || fail "namespaced record"
grep -Eq "^live $a [0-9]+ [0-9]+ 12701 0 0 \\+ a:empty-group empty\\\\20group\\\\20key\$" "$MCM_TMP/d3" || fail "empty group key"
grep -Eq "^live $a [0-9]+ [0-9]+ 6839 0 0 - a:empty \$" "$MCM_TMP/d3" || fail "empty value"
grep -Fq ' 0 0 +\5c bin\01\7f\ff\20\5c\0a\0d\00z binary\20key' "$MCM_TMP/d3" || fail "binary key"
grep -Fq ' 0 0 +grp\01\20x a:grouped in\20a\20group' "$MCM_TMP/d3" || fail "group key"
grep -Eq "^deleted $a [0-9]+ [0-9]+ 0 0 0 - a:deleted-0 \$" "$MCM_TMP/d3" || fail "deleted record"
grep -Eq "^dropped $a [0-9]+ [0-9]+ 0 0 0 - a:dropped-1 \$" "$MCM_TMP/d3" || fail "dropped record"
grep -Eq "^expired $a [0-9]+ [0-9]+ [0-9]+ 1 0 - a:expired-at-once never\\\\20lived\$" "$MCM_TMP/d3" || fail "expired record"
grep -Eq "^flushed $b .* b:before-flush-1 flushed\\\\20away\$" "$MCM_TMP/d3" || fail "flushed record"
grep -Eq "^expired $b .* b:expired-and-flushed x\$" "$MCM_TMP/d3" || fail "expired beats flushed"
grep -Eq "^pool=$b servers=127.0.0.1:11212,127.0.0.1:11213 distribution=consistent_ketama key_hash=md5 dist_hash=md5 hash_with_namespace=1 created_us=[0-9]+ flush_seq=[1-9][0-9]* flush_time=0 encrypted=0\$" "$MCM_TMP/d3" || fail "pool line of B"
grep -q ' distribution=99 key_hash=42 ' "$MCM_TMP/d3" || fail "unnamed distribution written as a number"
grep -q ' encrypted=1$' "$MCM_TMP/d3" || fail "encrypted pool"

# --pool: one pool's records and header line.
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump --all --pool "$b" >"$MCM_TMP/d4" || fail "dump --pool failed"
"$CHECK" check "$MCM_TMP/m2" "$MCM_TMP/d4" >/dev/null || fail "--pool dump does not read back"
assert_eq "$(header pools "$MCM_TMP/d4")" 1 "--pool: pools"
assert_eq "$(grep -c " $b " "$MCM_TMP/d4")" "$(grep -c -v -e '=' "$MCM_TMP/d4")" "--pool: records of other pools"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m2" dump --pool 1 >/dev/null 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "dump --pool of an unknown pool"

# -f: the complete file under its name, mode 0600, nothing else left; replaces an old file.
mkdir "$MCM_TMP/out"
echo old >"$MCM_TMP/out/m2.dump"
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump --all -f "$MCM_TMP/out/m2.dump" >"$MCM_TMP/stdout" || fail "dump -f failed"
[ ! -s "$MCM_TMP/stdout" ] || fail "dump -f wrote to stdout"
assert_eq "$(ls -A "$MCM_TMP/out")" m2.dump "files left by dump -f"
assert_eq "$(stat -c %a "$MCM_TMP/out/m2.dump")" 600 "dump file mode"
"$CHECK" check "$MCM_TMP/m2" "$MCM_TMP/out/m2.dump" >/dev/null || fail "-f dump does not read back"
cmp -s <(grep -v '^created=' "$MCM_TMP/d3" | head -n -1) <(grep -v '^created=' "$MCM_TMP/out/m2.dump" | head -n -1) ||
	fail "-f and stdout dumps differ"
"$MCM_TOOL" --mirror "$MCM_TMP/m2" dump -f - >"$MCM_TMP/d5" || fail "dump -f - failed"
"$CHECK" check "$MCM_TMP/m2" "$MCM_TMP/d5" >/dev/null || fail "-f - does not write stdout"

# -f failures: exit 1 naming the file; nothing under the final name; an old file is kept.
for target in "$MCM_TMP/no-such-dir/x.dump" "$MCM_TMP/out/m2.dump/x.dump"; do
	rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/m2" dump -f "$target" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "dump -f $target: exit status"
	grep -qF "mcmirror: dump: cannot create '$target'" "$MCM_TMP/err" || fail "dump -f $target: message: $(cat "$MCM_TMP/err")"
done
# A write that fails half-way (file size limit: EFBIG once SIGXFSZ is ignored).
echo old >"$MCM_TMP/out/big.dump"
rc=0; (trap '' XFSZ; ulimit -f 16; exec "$MCM_TOOL" --mirror "$MCM_TMP/m1" dump -f "$MCM_TMP/out/big.dump") 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "dump -f hitting the size limit: exit status"
grep -qF "mcmirror: dump: cannot write '$MCM_TMP/out/big.dump'" "$MCM_TMP/err" || fail "size limit: message: $(cat "$MCM_TMP/err")"
assert_eq "$(cat "$MCM_TMP/out/big.dump")" old "the old file after a failed dump"
assert_eq "$(ls -A "$MCM_TMP/out" | tr '\n' ' ')" "big.dump m2.dump " "files left by a failed dump"

# stdout closed early (SIGPIPE): exit 1.
set +e
"$MCM_TOOL" --mirror "$MCM_TMP/m1" dump 2>"$MCM_TMP/err" | head -c 100 >/dev/null
st=("${PIPESTATUS[@]}")
set -e
assert_eq "${st[0]}" 1 "dump into a closed pipe: exit status"
grep -q 'mcmirror: dump: interrupted' "$MCM_TMP/err" || fail "closed pipe: message: $(cat "$MCM_TMP/err")"
echo "PASS"
