#!/bin/bash
# test_ops_outputs.sh - `mcmirror dump -f PATH` never damages what is at PATH (issue 11 item 1): a
# device stays a device, a FIFO a FIFO, a symbolic link a link (its target gets the dump);
# /dev/stdout and a process substitution are written through (an appending stdout keeps what it
# held); a directory is refused untouched; `dump -` is stdout. Every output read back is a
# complete dump. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1
CHECK=$MCM_BIN/tools_dumpcheck
m=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$m" 127.0.0.1:11211 500 50 || fail "mkmirror"
out=$MCM_TMP/out
mkdir "$out"
complete() { # FILE WHAT: FILE holds a whole dump of $m
	"$CHECK" check "$m" "$1" >/dev/null 2>"$MCM_TMP/check.err" || fail "$2: not a complete dump: $(cat "$MCM_TMP/check.err")"
}

# A character device (a private /dev/null node: never the system's).
if [ "$(id -u)" = 0 ] && mknod "$out/null" c 1 3 2>/dev/null; then
	"$MCM_TOOL" --mirror "$m" dump -f "$out/null" || fail "dump -f a character device"
	[ -c "$out/null" ] || fail "dump -f replaced a character device: $(stat -c %F "$out/null")"
	assert_eq "$(ls -A "$out")" null "files left beside the device"
	rm -f "$out/null"
else
	echo "SKIP part: no mknod here (not root): the device case is not checked" >&2
fi

# A FIFO: written through to its reader, still a FIFO after.
mkfifo "$out/fifo"
cat "$out/fifo" >"$MCM_TMP/from-fifo" &
reader=$!
"$MCM_TOOL" --mirror "$m" dump -f "$out/fifo" || fail "dump -f a FIFO"
wait "$reader"
[ -p "$out/fifo" ] || fail "dump -f replaced a FIFO: $(stat -c %F "$out/fifo")"
complete "$MCM_TMP/from-fifo" "through a FIFO"
assert_eq "$(ls -A "$out")" fifo "files left beside the FIFO"
rm -f "$out/fifo"

# A symbolic link: stays a link; its target (existing, then missing) gets the dump.
echo old >"$out/target.dump"
ln -s target.dump "$out/link"
"$MCM_TOOL" --mirror "$m" dump -f "$out/link" || fail "dump -f a symbolic link"
[ -L "$out/link" ] || fail "dump -f replaced a symbolic link"
complete "$out/target.dump" "through a symbolic link"
ln -s new.dump "$out/dangling"
"$MCM_TOOL" --mirror "$m" dump -f "$out/dangling" || fail "dump -f a dangling symbolic link"
[ -L "$out/dangling" ] || fail "dump -f replaced a dangling symbolic link"
complete "$out/new.dump" "through a dangling symbolic link"
assert_eq "$(ls -A "$out" | tr '\n' ' ')" "dangling link new.dump target.dump " "files left after the links"

# /dev/stdout: into a pipe; into a file opened for appending (what it held stays, the dump follows).
"$MCM_TOOL" --mirror "$m" dump -f /dev/stdout | cat >"$MCM_TMP/piped" || fail "dump -f /dev/stdout | cat"
complete "$MCM_TMP/piped" "/dev/stdout into a pipe"
echo "first line" >"$MCM_TMP/appended"
"$MCM_TOOL" --mirror "$m" dump -f /dev/stdout >>"$MCM_TMP/appended" || fail "dump -f /dev/stdout >>FILE"
assert_eq "$(head -n 1 "$MCM_TMP/appended")" "first line" "an appending stdout lost its first line"
tail -n +2 "$MCM_TMP/appended" >"$MCM_TMP/appended.dump"
complete "$MCM_TMP/appended.dump" "/dev/stdout appended to a file"

# A process substitution (/dev/fd/N, a pipe).
"$MCM_TOOL" --mirror "$m" dump -f >(gzip -c >"$MCM_TMP/x.gz") || fail "dump -f >(gzip)"
for i in $(seq 1 100); do
	gzip -dc "$MCM_TMP/x.gz" 2>/dev/null | tail -n 1 | grep -q '^DATA=END ' && break
	sleep 0.1
done
gzip -dc "$MCM_TMP/x.gz" >"$MCM_TMP/x.dump" || fail "the gzip'd dump does not decompress"
complete "$MCM_TMP/x.dump" "through >(gzip)"

# 'dump -' is stdout, as the synopsis says.
"$MCM_TOOL" --mirror "$m" dump - >"$MCM_TMP/dash" || fail "dump -"
complete "$MCM_TMP/dash" "dump -"

# A directory: refused, left as it was.
mkdir "$out/dir"
touch "$out/dir/keep"
rc=0; "$MCM_TOOL" --mirror "$m" dump -f "$out/dir" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "dump -f a directory: exit status"
grep -q "mcmirror: dump: cannot create '$out/dir': it is a directory" "$MCM_TMP/err" || fail "dump -f a directory: $(cat "$MCM_TMP/err")"
assert_eq "$(ls -A "$out/dir")" keep "the directory's content"

# A regular file is still replaced atomically, 0600, nothing left beside it.
echo old >"$out/plain.dump"
chmod 644 "$out/plain.dump"
"$MCM_TOOL" --mirror "$m" dump -f "$out/plain.dump" || fail "dump -f a regular file"
complete "$out/plain.dump" "a regular file"
assert_eq "$(stat -c %a "$out/plain.dump")" 600 "mode of a replaced dump"
echo PASS
