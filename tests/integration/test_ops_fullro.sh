#!/bin/bash
# test_ops_fullro.sh - full and read-only filesystems (issue 11 items 5 and 6), on real mounts:
#   - on a full tmpfs, stats, dump and replay --dry-run of a snapshot work and add no lock.mdb (they
#     died of SIGBUS when LMDB created its lock file); load is refused with "No space left on
#     device" (no crash, nothing left), also when the disk fills while it writes (not an I/O error
#     blamed on a line of the dump); import into a full mirror says so once and counts what it could
#     not write as failed;
#   - through a read-only bind mount and on a tmpfs remounted read-only, a snapshot and a copy of a
#     mirror with its lock.mdb are read;
#   - a copy another user can only read is read by that user (was "Permission denied");
#   - an empty data.mdb is named as such (was "Bad file descriptor"); a damaged journal is named as a
#     journal (was "not a mirror of a known format").
. "$MCM_HARNESS/lib.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs and a read-only bind mount"
CHECK=$MCM_BIN/tools_dumpcheck
src=$MCM_TMP/src
mkdir "$src"
"$MCM_BIN/mkmirror" "$src/live" 127.0.0.1:11211 2000 100 || fail "mkmirror"
"$MCM_TOOL" -q --mirror "$src/live" snapshot "$src/snap" >/dev/null || fail "snapshot"
"$MCM_TOOL" --mirror "$src/live" dump -f "$MCM_TMP/d.dump" || fail "dump"
"$MCM_BIN/mkmirror" "$MCM_TMP/bigsrc" 127.0.0.1:11211 40000 200 || fail "mkmirror big"
"$MCM_TOOL" --mirror "$MCM_TMP/bigsrc" dump -f "$MCM_TMP/big.dump" || fail "dump big"
[ -e "$src/live/lock.mdb" ] && [ ! -e "$src/snap/lock.mdb" ] || fail "fixture: lock files"

fs=$MCM_TMP/fs ro=$MCM_TMP/ro
mkdir "$fs" "$ro"
mount -t tmpfs -o size=8m mcmtest "$fs" 2>/dev/null || skip "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"
trap 'umount -l "$ro" 2>/dev/null || true; umount -l "$fs" 2>/dev/null || true; mcm_cleanup' EXIT
no_crash() { [ "$1" -lt 128 ] || fail "$2 was killed by signal $(($1 - 128))"; }

# --- a full filesystem ---
cp -a "$src/snap" "$src/live" "$fs/"
dd if=/dev/zero of="$fs/fill" bs=64k 2>/dev/null || true
[ "$(stat -f -c %a "$fs")" = 0 ] || fail "fixture: the tmpfs is not full"
rc=0; "$MCM_TOOL" --mirror "$fs/snap" stats >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
no_crash "$rc" "stats of a snapshot on a full disk"
assert_eq "$rc" 0 "stats of a snapshot on a full disk: $(cat "$MCM_TMP/err")"
grep -q '^total.live_items: 2000$' "$MCM_TMP/out" || fail "stats on a full disk: $(cat "$MCM_TMP/out")"
grep -q '^mirror.lock_table: no (no lock.mdb and no journal' "$MCM_TMP/out" || fail "lock_table: $(grep lock_table "$MCM_TMP/out")"
rc=0; "$MCM_TOOL" --mirror "$fs/snap" dump -f "$MCM_TMP/full.dump" 2>"$MCM_TMP/err" || rc=$?
no_crash "$rc" "dump of a snapshot on a full disk"
assert_eq "$rc" 0 "dump of a snapshot on a full disk: $(cat "$MCM_TMP/err")"
"$CHECK" check "$src/snap" "$MCM_TMP/full.dump" >/dev/null || fail "the dump taken on a full disk is not complete"
rc=0; "$MCM_TOOL" --mirror "$fs/snap" replay -n --servers 127.0.0.1:11211 2>"$MCM_TMP/err" || rc=$?
no_crash "$rc" "replay --dry-run of a snapshot on a full disk"
assert_eq "$rc" 0 "replay --dry-run on a full disk: $(cat "$MCM_TMP/err")"
[ ! -e "$fs/snap/lock.mdb" ] || fail "reading the snapshot added a lock.mdb to it"
rc=0; "$MCM_TOOL" --mirror "$fs/live" stats >/dev/null 2>"$MCM_TMP/err" || rc=$?
no_crash "$rc" "stats of a mirror on a full disk"
assert_eq "$rc" 0 "stats of a mirror with its lock.mdb on a full disk: $(cat "$MCM_TMP/err")"
for dst in new live; do
	rc=0; "$MCM_TOOL" --mirror "$fs/$dst" load "$MCM_TMP/d.dump" 2>"$MCM_TMP/err" || rc=$?
	no_crash "$rc" "load into '$dst' on a full disk"
	assert_eq "$rc" 1 "load into '$dst' on a full disk: exit status"
	grep -q "No space left on device" "$MCM_TMP/err" || fail "load into '$dst' on a full disk said: $(cat "$MCM_TMP/err")"
	ls -d "$fs/$dst".load.* 2>/dev/null && fail "load on a full disk left its staging directory"
done
[ ! -e "$fs/new" ] || fail "a refused load created the mirror"

# The disk fills while load writes: named as a full disk, not as a fault of a line of the dump.
rm -f "$fs/fill"
dd if=/dev/zero of="$fs/fill" bs=64k count=$(( ($(stat -f -c %a "$fs") * $(stat -f -c %S "$fs") - (1 << 20)) / 65536 )) 2>/dev/null
rc=0; "$MCM_TOOL" --mirror "$fs/big" load "$MCM_TMP/big.dump" 2>"$MCM_TMP/err" || rc=$?
no_crash "$rc" "load filling the disk"
assert_eq "$rc" 1 "load filling the disk: exit status"
grep -q "No space left on device" "$MCM_TMP/err" || fail "load filling the disk said: $(cat "$MCM_TMP/err")"
grep -q "line [0-9]" "$MCM_TMP/err" && fail "a full disk was blamed on a line of the dump: $(cat "$MCM_TMP/err")"
ls -d "$fs/big"* 2>/dev/null && fail "load filling the disk left files"

# import into a mirror whose disk fills: one message, the records not written count as failed.
if [ -n "$MEMCACHED_BINARY" ] && [ -x "$MEMCACHED_BINARY" ]; then
	mc_start SRC -m 128
	"$MCM_BIN/backup_check" fill "$SRC_PORT" 100 >/dev/null || fail "fill memcached"
	rm -f "$fs/fill"
	"$MCM_TOOL" -q --mirror "$fs/imp" import --servers "127.0.0.1:$SRC_PORT" 2>"$MCM_TMP/err" || fail "import: $(cat "$MCM_TMP/err")"
	dd if=/dev/zero of="$fs/fill" bs=64k 2>/dev/null || true
	mc_cmd "$SRC_PORT" 'flush_all\r\nquit\r\n' >/dev/null
	"$MCM_BIN/backup_check" fill "$SRC_PORT" 40000 >/dev/null || fail "fill memcached again"
	rc=0; "$MCM_TOOL" --mirror "$fs/imp" import --servers "127.0.0.1:$SRC_PORT" 2>"$MCM_TMP/err" || rc=$?
	no_crash "$rc" "import into a full mirror"
	assert_eq "$rc" 1 "import into a full mirror: exit status"
	assert_eq "$(grep -c "cannot write mirror" "$MCM_TMP/err")" 1 "messages about the full mirror: $(cat "$MCM_TMP/err")"
	grep -q "cannot write mirror '$fs/imp': No space left on device" "$MCM_TMP/err" || fail "import said: $(cat "$MCM_TMP/err")"
	grep -Eq "failed [1-9][0-9]* of [0-9]+ keys" "$MCM_TMP/err" || fail "import did not count what it could not write: $(cat "$MCM_TMP/err")"
else
	echo "SKIP part: no memcached: import into a full mirror is not checked" >&2
fi
rm -f "$fs/fill"

# --- read-only places ---
mount --bind "$src" "$ro" && mount -o remount,bind,ro "$ro" || skip "cannot make a read-only bind mount here"
for d in snap live; do
	rc=0; "$MCM_TOOL" --mirror "$ro/$d" stats >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 0 "stats of '$d' through a read-only bind mount: $(cat "$MCM_TMP/err")"
	grep -q '^total.live_items: 2000$' "$MCM_TMP/out" || fail "stats of '$d' read-only: $(cat "$MCM_TMP/out")"
	"$MCM_TOOL" --mirror "$ro/$d" dump -f "$MCM_TMP/ro.dump" 2>"$MCM_TMP/err" || fail "dump of '$d' read-only: $(cat "$MCM_TMP/err")"
	"$CHECK" check "$src/$d" "$MCM_TMP/ro.dump" >/dev/null || fail "the dump of '$d' read-only is not complete"
done
mount -o remount,ro "$fs" || fail "cannot remount the tmpfs read-only"
"$MCM_TOOL" --mirror "$fs/snap" stats >/dev/null 2>"$MCM_TMP/err" || fail "stats on a read-only tmpfs: $(cat "$MCM_TMP/err")"
"$MCM_TOOL" --mirror "$fs/live" replay -n --servers 127.0.0.1:11211 2>"$MCM_TMP/err" || fail "replay -n on a read-only tmpfs: $(cat "$MCM_TMP/err")"

# A copy another user may read but not write (its lock.mdb included).
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	cp -a "$src/live" "$MCM_TMP/copy"
	chmod 755 "$MCM_TMP" "$MCM_TMP/copy" && chmod 644 "$MCM_TMP/copy/"*
	rc=0; setpriv --reuid=nobody --regid=nogroup --clear-groups "$MCM_TOOL" --mirror "$MCM_TMP/copy" stats \
		>"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 0 "stats of a read-only copy by another user: $(cat "$MCM_TMP/err")"
	grep -q '^total.live_items: 2000$' "$MCM_TMP/out" || fail "stats of a read-only copy: $(cat "$MCM_TMP/out")"
	chmod 700 "$MCM_TMP"
else
	echo "SKIP part: no user 'nobody' or no setpriv: the copy another user reads is not checked" >&2
fi

# An empty data.mdb, a damaged journal: named as what they are.
mkdir "$MCM_TMP/empty" && : >"$MCM_TMP/empty/data.mdb"
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/empty" stats >/dev/null 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "stats of an empty data.mdb"
grep -q "cannot open mirror '$MCM_TMP/empty': data.mdb is empty" "$MCM_TMP/err" || fail "empty data.mdb: $(cat "$MCM_TMP/err")"
cp -a "$src/live" "$MCM_TMP/dj"
head -c 70000 /dev/urandom >"$MCM_TMP/dj/journal"
"$MCM_TOOL" --mirror "$MCM_TMP/dj" stats >/dev/null 2>"$MCM_TMP/err" || fail "stats beside a damaged journal: $(cat "$MCM_TMP/err")"
grep -q "'$MCM_TMP/dj/journal' is not a journal this version reads" "$MCM_TMP/err" || fail "damaged journal: $(cat "$MCM_TMP/err")"
grep -q "not a mirror of a known format" "$MCM_TMP/err" && fail "a damaged journal was called a mirror of an unknown format"
echo PASS
