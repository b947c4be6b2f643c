#!/bin/bash
# test_ops_leftovers.sh - a `mcmirror load` killed hard leaves DIR.load.<pid> (hundreds of MB for a
# large dump): the next load into the same mirror removes it and names it (issue 11 item 4); a
# directory of that form that is not the staging of a load (files of its own) is named and left.
. "$MCM_HARNESS/lib.sh" || exit 1
cd "$MCM_TMP"
"$MCM_BIN/mkmirror" src 127.0.0.1:11211 300000 100 || fail "mkmirror"
"$MCM_TOOL" --mirror src dump -f big.dump || fail "dump"
"$MCM_BIN/mkmirror" small 127.0.0.1:11211 10 10 || fail "mkmirror small"
"$MCM_TOOL" --mirror small dump -f small.dump || fail "dump small"

# SIGKILL while the dump is being read into the staging environment.
killed=
for try in 1 2 3 4 5; do
	"$MCM_TOOL" -q --mirror dst load big.dump 2>/dev/null &
	pid=$!
	while [ ! -e "dst.load.$pid/data.mdb" ] && kill -0 "$pid" 2>/dev/null; do :; done
	sleep 0.05
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -d "dst.load.$pid" ]; then killed=$pid; break; fi
	rm -rf dst
done
[ -n "$killed" ] || skip "no load was caught before it finished in 5 tries"
[ ! -e dst ] || fail "a load killed while reading left the mirror 'dst'"
"$MCM_TOOL" --mirror dst load small.dump 2>err || fail "load after a kill: $(cat err)"
[ ! -e "dst.load.$killed" ] || fail "dst.load.$killed is still there after the next load"
grep -q "removed 'dst.load.$killed', left by a load that was killed (process $killed)" err ||
	fail "the leftover was removed without a word: $(cat err)"
"$MCM_BIN/tools_dumpcheck" check dst small.dump >/dev/null || fail "the load after the kill did not load"

# Not a staging directory (a file of its own): named, left as it is, the load goes on.
sleep 0 & dead=$!
wait "$dead"
mkdir "dst.load.$dead" && echo mine >"dst.load.$dead/notes"
"$MCM_TOOL" --mirror dst load small.dump 2>err || fail "load beside a foreign dst.load.$dead: $(cat err)"
assert_eq "$(cat "dst.load.$dead/notes")" mine "a foreign directory's file"
grep -q "cannot remove 'dst.load.$dead'" err || fail "the foreign directory was not named: $(cat err)"
echo PASS
