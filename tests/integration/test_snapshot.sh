#!/bin/bash
# test_snapshot.sh - `mcmirror snapshot`: taken while four processes write through the shim, each
# snapshot is a complete mirror (no journal, checksum right, every record decodes, the seq index
# matches the items), reads with every command and replays into an empty memcached; --dir/--keep
# rotation; an existing OUT is refused unless --force; an interrupted snapshot leaves nothing.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
M=$MCM_TMP/mirror
C=$MCM_BIN/backup_check

# Usage.
"$MCM_TOOL" snapshot --help >"$MCM_TMP/help" || fail "snapshot --help did not exit 0"
grep -q '^usage: mcmirror .*snapshot' "$MCM_TMP/help" || fail "no usage line on stdout"
grep -q 'default: keep all' "$MCM_TMP/help" || fail "--help does not show the defaults"
for args in "" "--keep 2 $MCM_TMP/x" "--dir $MCM_TMP/d --keep 0" "a b" "--dir d out" "--bogus x"; do
	rc=0; "$MCM_TOOL" --mirror "$M" snapshot $args >/dev/null 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "snapshot $args: exit status"
	grep -q "try 'mcmirror snapshot --help'" "$MCM_TMP/err" || fail "snapshot $args: no hint"
done
rc=0; "$MCM_TOOL" --mirror "$MCM_TMP/absent" snapshot "$MCM_TMP/never" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "snapshot of a missing mirror"
grep -q "'$MCM_TMP/absent'" "$MCM_TMP/err" || fail "missing mirror not named: $(cat "$MCM_TMP/err")"
[ ! -e "$MCM_TMP/never" ] || fail "a snapshot of nothing was left"

# Four writers through the shim; snapshots while they run.
mc_start SRC
CONF="--SERVER=127.0.0.1:$SRC_PORT"
under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 100 "seed:" || fail "seed writer"
for w in 1 2 3 4; do
	( for round in 1 2 3 4 5 6; do
		under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 1500 "w$w:r$((round % 2)):" >/dev/null || exit 1
	done ) &
	WRITERS+=($!)
done
sleep 0.3
"$MCM_TOOL" --mirror "$M" snapshot "$MCM_TMP/s1" >"$MCM_TMP/out1" 2>"$MCM_TMP/err1" || fail "snapshot 1: $(cat "$MCM_TMP/err1")"
assert_eq "$(cat "$MCM_TMP/out1")" "$MCM_TMP/s1" "snapshot prints its path on stdout"
"$MCM_TOOL" -q --mirror "$M" snapshot "$MCM_TMP/s2" >/dev/null || fail "snapshot 2"
"$MCM_TOOL" -q --mirror "$M" snapshot --dir "$MCM_TMP/rot" --keep 2 >/dev/null || fail "snapshot --dir"
for pid in "${WRITERS[@]}"; do
	wait "$pid" || fail "a writer failed"
done

for s in s1 s2 "rot/$(ls "$MCM_TMP/rot")"; do
	S=$MCM_TMP/$s
	assert_eq "$(ls "$S" | tr '\n' ' ')" "CHECKSUM data.mdb " "$s: files of the snapshot (no journal, lock, counters)"
	(cd "$S" && sha256sum --quiet -c CHECKSUM) || fail "$s: CHECKSUM does not match (sha256sum)"
	out=$("$C" seq "$S") || fail "$s: seq index and items disagree: $out"
	"$MCM_TOOL" --mirror "$S" dump --all >"$MCM_TMP/$(basename "$s").dump" || fail "$s: dump --all"
	"$MCM_BIN/tools_dumpcheck" check "$S" "$MCM_TMP/$(basename "$s").dump" >/dev/null || fail "$s: records do not decode"
	"$MCM_TOOL" --mirror "$S" stats >/dev/null || fail "$s: stats"
	[ ! -e "$S/journal" ] || fail "$s: a journal appeared on reading"
done
# s1 was taken early: it holds fewer records than the final mirror (the writers kept going).
n1=$("$C" seq "$MCM_TMP/s1" | cut -d' ' -f2)
nm=$("$C" seq "$M" | cut -d' ' -f2)
[ "$n1" -gt 100 ] && [ "$n1" -le "$nm" ] || fail "s1 holds $n1 records, the mirror $nm"

# A snapshot replays into an empty memcached, and verify finds every live item there.
mc_start DST
live=$(grep -c '^live ' "$MCM_TMP/s2.dump")
"$MCM_TOOL" --mirror "$MCM_TMP/s2" replay --servers "127.0.0.1:$DST_PORT" 2>"$MCM_TMP/err" || fail "replay of s2: $(cat "$MCM_TMP/err")"
items=$(mc_cmd "$DST_PORT" 'stats\r\nquit\r\n' | sed -n 's/^STAT curr_items \([0-9]*\).*/\1/p')
assert_eq "$items" "$live" "items replayed from the snapshot"
"$MCM_TOOL" --mirror "$MCM_TMP/s2" verify --servers "127.0.0.1:$DST_PORT" 2>"$MCM_TMP/err" || fail "verify: $(cat "$MCM_TMP/err")"

# An existing OUT is refused, and kept; --force replaces it atomically; the mirror itself never.
sum=$(cat "$MCM_TMP/s1/CHECKSUM")
rc=0; "$MCM_TOOL" --mirror "$M" snapshot "$MCM_TMP/s1" 2>"$MCM_TMP/err" >/dev/null || rc=$?
assert_eq "$rc" 1 "snapshot over an existing OUT"
grep -q "'$MCM_TMP/s1' already exists: give --force" "$MCM_TMP/err" || fail "message: $(cat "$MCM_TMP/err")"
assert_eq "$(cat "$MCM_TMP/s1/CHECKSUM")" "$sum" "refused snapshot changed OUT"
# (a write after s1, so that the replacement differs: the writers may all have finished, and been
# applied, before s1 was taken, on a fast machine)
under_shim "$M" "$MCM_BIN/replay_client" set "$CONF" 10 "after-s1:" >/dev/null || fail "the write after s1"
"$MCM_TOOL" -q --mirror "$M" snapshot --force "$MCM_TMP/s1" >/dev/null || fail "snapshot --force"
[ "$(cat "$MCM_TMP/s1/CHECKSUM")" != "$sum" ] || fail "--force did not replace OUT"
(cd "$MCM_TMP/s1" && sha256sum --quiet -c CHECKSUM) || fail "replaced snapshot: bad checksum"
rc=0; "$MCM_TOOL" --mirror "$M" snapshot --force "$M" 2>"$MCM_TMP/err" >/dev/null || rc=$?
assert_eq "$rc" 1 "snapshot over the mirror itself"
"$C" seq "$M" >/dev/null || fail "the mirror was damaged by a snapshot onto itself"
[ -z "$(ls "$MCM_TMP" | grep '\.tmp\.')" ] || fail "temporary directories left: $(ls "$MCM_TMP")"

# Rotation: only names mirror-YYYYmmddTHHMMSSZ count; the newest N stay.
mkdir -p "$MCM_TMP/rot/mirror-keepme"
echo x >"$MCM_TMP/rot/notes.txt"
for i in 1 2 3; do
	sleep 1.1
	"$MCM_TOOL" -q --mirror "$M" snapshot --dir "$MCM_TMP/rot" --keep 2 >>"$MCM_TMP/paths" || fail "rotation $i"
done
kept=$(ls "$MCM_TMP/rot" | grep -E '^mirror-[0-9]{8}T[0-9]{6}Z$' | tr '\n' ' ')
want=$(tail -2 "$MCM_TMP/paths" | xargs -n1 basename | tr '\n' ' ')
assert_eq "$kept" "$want" "--keep 2 kept the two newest"
[ -d "$MCM_TMP/rot/mirror-keepme" ] && [ -f "$MCM_TMP/rot/notes.txt" ] || fail "rotation removed other entries"

# SIGINT at any moment: either a complete snapshot (exit 0) or nothing under either name (exit 1).
"$MCM_BIN/mkmirror" "$MCM_TMP/big" 127.0.0.1:11211 200000 200 >/dev/null || fail "mkmirror"
for delay in 0.05 0.2; do
	rm -rf "$MCM_TMP/sig"
	"$MCM_TOOL" -q --mirror "$MCM_TMP/big" snapshot "$MCM_TMP/sig" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -INT "$pid" 2>/dev/null || true
	rc=0; wait "$pid" || rc=$?
	if [ "$rc" = 0 ]; then
		(cd "$MCM_TMP/sig" && sha256sum --quiet -c CHECKSUM) || fail "SIGINT: exit 0 with a bad snapshot"
	else
		assert_eq "$rc" 1 "SIGINT: exit status"
		[ ! -e "$MCM_TMP/sig" ] || fail "SIGINT: a snapshot under the final name after exit 1"
	fi
	[ -z "$(ls "$MCM_TMP" | grep '^sig\.tmp\.')" ] || fail "SIGINT: the temporary directory was left"
done
echo "ok"
