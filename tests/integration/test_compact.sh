#!/bin/bash
# test_compact.sh - `mcmirror compact`: a mirror that once grew shrinks, keeps every record, and
# stays usable by the shim; it is refused while a process has the mirror open; a process that
# opens the mirror during a compact waits and then sees the compacted file; a compact killed
# midway leaves data.mdb as it was.
. "$MCM_HARNESS/lib.sh"
need_memcached
T=$MCM_BIN/bound_tool
C=$MCM_BIN/backup_check
M=$MCM_TMP/mirror

# records FILE: a dump without its creation time and checksum trailer.
records() {
	grep -v -e '^created=' -e '^DATA=END' "$1"
}

# Usage.
"$MCM_TOOL" compact --help >"$MCM_TMP/help" || fail "compact --help did not exit 0"
grep -q '^usage: mcmirror .*compact' "$MCM_TMP/help" || fail "no usage line on stdout"
grep -q 'default: compact' "$MCM_TMP/help" || fail "--help does not show the defaults"
grep -q 'exit status' "$MCM_TMP/help" || fail "--help does not give the exit status"
for args in "extra" "--bogus" "-n extra"; do
	rc=0; "$MCM_TOOL" --mirror "$M" compact $args >/dev/null 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "compact $args: exit status"
	grep -q "try 'mcmirror compact --help'" "$MCM_TMP/err" || fail "compact $args: no hint"
done
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/absent" compact 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "compact of a missing mirror"
grep -q "'$MCM_TMP/absent'" "$MCM_TMP/err" || fail "missing mirror not named: $(cat "$MCM_TMP/err")"
[ ! -e "$MCM_TMP/absent" ] || fail "compact created a mirror where there was none"

# A mirror that grew: 150,000 records that expire, swept away (the file keeps its size), and
# 2,000 live ones written through the shim.
mc_start MC
CONF="--SERVER=127.0.0.1:$MC_PORT"
under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 2000 "live:" || fail "writer"
"$T" fill "$M" "127.0.0.1:$MC_PORT" 150000 1 || fail "fill"
sleep 2
"$T" expire "$M" || fail "sweep"
"$MCM_TOOL" --mirror "$M" compact --dry-run >"$MCM_TMP/dry" || fail "compact --dry-run"
cat "$MCM_TMP/dry" >&2
file0=$(stat -c %s "$M/data.mdb")
inode0=$(stat -c %i "$M/data.mdb")
assert_eq "$(awk '$1 == "file_bytes:" { print $2 }' "$MCM_TMP/dry")" "$file0" "dry-run file_bytes"
free0=$(awk '$1 == "free_bytes:" { print $2 }' "$MCM_TMP/dry")
[ "$free0" -gt $((file0 / 2)) ] || fail "after the sweep only $free0 of $file0 bytes are free"
grep -qx 'in_use: no' "$MCM_TMP/dry" || fail "dry-run: the mirror is reported in use"
grep -qx 'records: 2000' "$MCM_TMP/dry" || fail "dry-run: records: $(cat "$MCM_TMP/dry")"
assert_eq "$(stat -c %i "$M/data.mdb")" "$inode0" "--dry-run changed data.mdb"
chmod 0640 "$M/data.mdb"
"$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/before" || fail "dump before"

"$MCM_TOOL" --mirror "$M" compact 2>"$MCM_TMP/err" || fail "compact: $(cat "$MCM_TMP/err")"
cat "$MCM_TMP/err" >&2
grep -q "compacted '$M/data.mdb': $file0 -> [0-9]* bytes, 2000 records" "$MCM_TMP/err" || fail "no summary"
file1=$(stat -c %s "$M/data.mdb")
[ "$file1" -lt $((file0 / 4)) ] || fail "data.mdb is $file1 bytes after compact, $file0 before"
[ "$(stat -c %i "$M/data.mdb")" != "$inode0" ] || fail "data.mdb was not replaced"
assert_eq "$(stat -c %a:%u "$M/data.mdb")" "640:$(id -u)" "mode and owner of the new data.mdb"
"$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/after" || fail "dump after"
diff <(records "$MCM_TMP/before") <(records "$MCM_TMP/after") >"$MCM_TMP/diff" || fail "the records changed: $(head -5 "$MCM_TMP/diff")"
"$C" seq "$M" >/dev/null || fail "seq index and items disagree after compact"
ls "$M" | grep -q '^data\.mdb\.compact\.' && fail "a temporary copy was left: $(ls "$M")"

# The shim writes on into the compacted mirror (LMDB took the new file's transaction number),
# and verify finds every item, old and new, on the server.
under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 3000 "more:" || fail "writer after compact"
"$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || fail "verify: $(cat "$MCM_TMP/err")"
grep -q 'checked 5000: matching 5000' "$MCM_TMP/err" || fail "verify after compact: $(cat "$MCM_TMP/err")"

# In use: a reader holding the environment open, then a program writing through the shim.
"$T" hold "$M" >"$MCM_TMP/hold" &
holder=$!
MCM_PIDS+=($holder)
until grep -q ready "$MCM_TMP/hold"; do kill -0 $holder || fail "hold"; sleep 0.05; done
inode1=$(stat -c %i "$M/data.mdb")
"$MCM_TOOL" --mirror "$M" compact -n | grep -qx "in_use: yes, process $holder (bound_tool)" ||
	fail "dry-run does not name the reader: $("$MCM_TOOL" --mirror "$M" compact -n)"
rc=0; "$MCM_TOOL" --mirror "$M" compact 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "compact while a reader has the mirror open"
grep -q "is in use: process $holder (bound_tool) has it open" "$MCM_TMP/err" || fail "reader not named: $(cat "$MCM_TMP/err")"
grep -q "stop the programs" "$MCM_TMP/err" || fail "no advice: $(cat "$MCM_TMP/err")"
kill $holder
wait $holder 2>/dev/null || true
under_shim "$M" exec "$MCM_BIN/crash_procs" hold "127.0.0.1:$MC_PORT" &
holder=$!
MCM_PIDS+=($holder)
until [ -n "$(awk -v ino=":$(stat -c %i "$M/drain.lock")" '$2 == "FLOCK" && substr($6, length($6) - length(ino) + 1) == ino' /proc/locks)" ]; do
	kill -0 $holder || fail "the shim process died"
	sleep 0.05
done
rc=0; "$MCM_TOOL" --mirror "$M" compact 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "compact while a shim process drains"
grep -q "is in use: process $holder (crash_procs)" "$MCM_TMP/err" || fail "shim process not named: $(cat "$MCM_TMP/err")"
assert_eq "$(stat -c %i "$M/data.mdb")" "$inode1" "a refused compact replaced data.mdb"
kill -9 $holder
wait $holder 2>/dev/null || true

# A reader and a writer that start while compact runs wait for it, then use the new file.
"$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/before" || fail "dump before"
n0=$("$T" count "$M")
MCMIRROR_TEST_COMPACT_PAUSE=3 "$MCM_TOOL" -q --mirror "$M" compact 2>"$MCM_TMP/err" &
compactor=$!
MCM_PIDS+=($compactor)
until ls "$M" | grep -q '^data\.mdb\.compact\.'; do kill -0 $compactor || fail "compact: $(cat "$MCM_TMP/err")"; sleep 0.02; done
"$T" count "$M" >"$MCM_TMP/count" 2>&1 &
reader=$!
under_shim "$M" exec "$MCM_BIN/replay_client" set "$CONF" 500 "during:" &
writer=$!
sleep 1
if kill -0 $compactor 2>/dev/null; then
	kill -0 $reader 2>/dev/null || fail "a reader opened the mirror while compact held it: $(cat "$MCM_TMP/count")"
fi
wait $compactor || fail "compact with waiters: $(cat "$MCM_TMP/err")"
wait $reader || fail "the waiting reader failed: $(cat "$MCM_TMP/count")"
n1=$(cat "$MCM_TMP/count")
[ "$n1" -ge "$n0" ] && [ "$n1" -le $((n0 + 500)) ] || fail "the reader that waited saw $n1 records, $n0 before"
wait $writer || fail "the writer that started during compact failed"
"$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || fail "verify: $(cat "$MCM_TMP/err")"
grep -q 'checked 5501: matching 5501' "$MCM_TMP/err" || fail "verify after a compact with waiters: $(cat "$MCM_TMP/err")"
# (5,000 items before, 500 written during the compact, 1 by crash_procs)
"$C" seq "$M" >/dev/null || fail "seq index and items disagree"

# An interrupted compact (SIGTERM while it holds the locks) leaves data.mdb and removes its copy; a
# reader that was waiting goes on with the unchanged mirror.
inode2=$(stat -c %i "$M/data.mdb")
n2=$("$T" count "$M")
MCMIRROR_TEST_COMPACT_PAUSE=60 "$MCM_TOOL" -q --mirror "$M" compact 2>"$MCM_TMP/err" &
compactor=$!
MCM_PIDS+=($compactor)
until ls "$M" | grep -q '^data\.mdb\.compact\.'; do kill -0 $compactor || fail "compact: $(cat "$MCM_TMP/err")"; sleep 0.02; done
"$T" count "$M" >"$MCM_TMP/count" 2>&1 &
reader=$!
sleep 0.5
kill -TERM $compactor
rc=0; wait $compactor || rc=$?
assert_eq "$rc" 1 "exit status of an interrupted compact"
grep -q 'interrupted by signal 15: data.mdb unchanged' "$MCM_TMP/err" || fail "interrupted: $(cat "$MCM_TMP/err")"
wait $reader || fail "a reader waiting for an interrupted compact failed: $(cat "$MCM_TMP/count")"
assert_eq "$(cat "$MCM_TMP/count")" "$n2" "records seen by a reader after an interrupted compact"
assert_eq "$(stat -c %i "$M/data.mdb")" "$inode2" "an interrupted compact replaced data.mdb"
ls "$M" | grep -q '^data\.mdb\.compact\.' && fail "an interrupted compact left its copy: $(ls "$M")"

# A compact killed midway: data.mdb untouched; a process that was waiting fails or sees the
# records, never anything else; the next compact removes the leftover copy.
"$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/before" || fail "dump before"
MCMIRROR_TEST_COMPACT_PAUSE=60 "$MCM_TOOL" -q --mirror "$M" compact 2>"$MCM_TMP/err" &
compactor=$!
MCM_PIDS+=($compactor)
until ls "$M" | grep -q '^data\.mdb\.compact\.'; do kill -0 $compactor || fail "compact: $(cat "$MCM_TMP/err")"; sleep 0.02; done
"$T" count "$M" >"$MCM_TMP/count" 2>&1 &
reader=$!
sleep 0.5
kill -9 $compactor
wait $compactor 2>/dev/null || true
rc=0; wait $reader || rc=$?
[ "$rc" != 0 ] || assert_eq "$(cat "$MCM_TMP/count")" "$n2" "records seen by a reader after a killed compact"
echo "reader after the kill: exit $rc, $(cat "$MCM_TMP/count")" >&2
assert_eq "$(stat -c %i "$M/data.mdb")" "$inode2" "a killed compact replaced data.mdb"
ls "$M" | grep -q '^data\.mdb\.compact\.' || fail "no leftover copy (was compact killed before copying?)"
"$MCM_TOOL" --mirror "$M" dump --all >"$MCM_TMP/after" || fail "dump after a killed compact"
diff <(records "$MCM_TMP/before") <(records "$MCM_TMP/after") >"$MCM_TMP/diff" || fail "a killed compact changed the records: $(head -5 "$MCM_TMP/diff")"
"$MCM_TOOL" --mirror "$M" compact 2>"$MCM_TMP/err" || fail "compact after a killed one: $(cat "$MCM_TMP/err")"
ls "$M" | grep -q '^data\.mdb\.compact\.' && fail "the leftover copy was not removed: $(ls "$M")"
"$MCM_TOOL" --mirror "$M" verify --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || fail "verify: $(cat "$MCM_TMP/err")"
echo PASS
