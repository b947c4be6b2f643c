#!/bin/bash
# test_ops_snapshot.sh - `mcmirror snapshot` never damages what is there (issue 11 items 2 and 4):
# --force replaces a snapshot only (a user's directory, file or symbolic link is refused and left
# untouched, nothing left beside it); --dir names never collide (the names of this second and the
# next ones are taken beforehand: the snapshot takes -NNN, rotation keeps counting it); a
# OUT.tmp.<pid> left by a snapshot killed hard is removed and named by the next one; a snapshot
# whose path cannot be printed exits 1. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1
m=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$m" 127.0.0.1:11211 300 50 || fail "mkmirror"
cd "$MCM_TMP"

# --force on what is not a snapshot: refused, untouched, no OUT.tmp.* left.
mkdir userdir && echo precious >userdir/file
echo precious >userfile
mkdir realsnap && ln -s realsnap linksnap
for target in userdir userfile linksnap; do
	rc=0; "$MCM_TOOL" --mirror "$m" snapshot "$target" --force >/dev/null 2>err || rc=$?
	assert_eq "$rc" 1 "snapshot $target --force: exit status"
	grep -q "refusing to replace '$target': not a snapshot" err || fail "snapshot $target --force said: $(cat err)"
	ls -d "$target".tmp.* 2>/dev/null && fail "snapshot $target --force left a temporary directory"
done
assert_eq "$(cat userdir/file)" precious "the user's directory"
assert_eq "$(ls -A userdir)" file "the user's directory's entries"
assert_eq "$(cat userfile)" precious "the user's file"
[ -L linksnap ] || fail "the symbolic link was replaced"

# --force on a snapshot: replaced.
"$MCM_TOOL" -q --mirror "$m" snapshot snap >/dev/null || fail "snapshot snap"
"$MCM_TOOL" -q --mirror "$m" snapshot snap --force >/dev/null || fail "snapshot snap --force"
(cd snap && sha256sum -c CHECKSUM >/dev/null) || fail "the replaced snapshot does not check"
ls -d snap.tmp.* 2>/dev/null && fail "snapshot --force left the old snapshot"

# --dir: the name of this second (and of the next 9) is taken: the snapshot takes another.
mkdir D
now=$(date +%s)
for t in $(seq "$now" $((now + 9))); do
	mkdir "D/mirror-$(date -u -d "@$t" +%Y%m%dT%H%M%SZ)"
done
for i in 1 2 3; do
	"$MCM_TOOL" -q --mirror "$m" snapshot --dir D >"path.$i" || fail "snapshot --dir D (run $i) failed with its name taken"
done
[ "$(sort -u path.1 path.2 path.3 | wc -l)" = 3 ] || fail "three snapshots, not three names: $(cat path.*)"
for i in 1 2 3; do
	grep -Eq '^D/mirror-[0-9]{8}T[0-9]{6}Z(-[0-9]{3})?$' "path.$i" || fail "snapshot name: $(cat "path.$i")"
	(cd "$(cat "path.$i")" && sha256sum -c CHECKSUM >/dev/null) || fail "$(cat "path.$i") does not check"
done
# --keep 2 keeps the two taken last (names sort in the order taken), whatever their form: also
# when the plain name of the second is free again (the placeholders go), the next is after -NNN.
rmdir D/mirror-*Z 2>/dev/null || true
"$MCM_TOOL" -q --mirror "$m" snapshot --dir D --keep 2 >path.4 || fail "snapshot --keep 2"
assert_eq "$(ls D | wc -l)" 2 "snapshots kept by --keep 2"
[ -d "$(cat path.4)" ] && [ -d "$(cat path.3)" ] || fail "--keep 2 kept $(ls D | tr '\n' ' '), not the last two"

# A snapshot killed hard leaves OUT.tmp.<pid>: the next snapshot there removes it and says so.
sleep 0 & dead=$!
wait "$dead"
mkdir "snap2.tmp.$dead" && cp snap/data.mdb "snap2.tmp.$dead/"
"$MCM_TOOL" -q --mirror "$m" snapshot snap2 >/dev/null 2>err || fail "snapshot snap2: $(cat err)"
[ ! -e "snap2.tmp.$dead" ] || fail "the killed snapshot's snap2.tmp.$dead is still there"
grep -q "removed 'snap2.tmp.$dead', left by a snapshot that was killed (process $dead)" err ||
	fail "the leftover was removed without a word: $(cat err)"
# ... and a real one: SIGKILL while it copies a larger mirror.
"$MCM_BIN/mkmirror" "$MCM_TMP/big" 127.0.0.1:11211 200000 200 || fail "mkmirror big"
killed=
for try in 1 2 3 4 5; do
	"$MCM_TOOL" -q --mirror "$MCM_TMP/big" snapshot snap3 >/dev/null 2>&1 &
	pid=$!
	while ! ls -d snap3.tmp.* >/dev/null 2>&1 && kill -0 "$pid" 2>/dev/null; do :; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if ls -d "snap3.tmp.$pid" >/dev/null 2>&1; then killed=$pid; break; fi
	rm -rf snap3
done
if [ -n "$killed" ]; then
	"$MCM_TOOL" -q --mirror "$m" snapshot snap3 >/dev/null 2>err || fail "snapshot after a kill: $(cat err)"
	[ ! -e "snap3.tmp.$killed" ] || fail "the leftover of the killed snapshot is still there"
	grep -q "removed 'snap3.tmp.$killed'" err || fail "the leftover was not named: $(cat err)"
else
	echo "note: no snapshot was caught mid-copy in 5 tries (each finished first)" >&2
fi

# The path cannot be printed: exit 1 (the snapshot itself is complete and stays).
rc=0; "$MCM_TOOL" -q --mirror "$m" snapshot snap4 >/dev/full 2>err || rc=$?
assert_eq "$rc" 1 "snapshot with stdout on /dev/full: exit status"
grep -q "cannot print its path: No space left on device" err || fail "snapshot >/dev/full said: $(cat err)"
(cd snap4 && sha256sum -c CHECKSUM >/dev/null) || fail "snap4 does not check"
echo PASS
