#!/bin/bash
# test_dump_signals.sh - SIGINT or SIGTERM during `mcmirror dump -f FILE` leaves neither FILE nor its
# temporary file, and exits 1. The signal is sent once the temporary file exists (so the handlers are in
# place); a run that finishes first must have written a complete FILE. No memcached.
. "$MCM_HARNESS/lib.sh" || exit 1

"$MCM_BIN/mkmirror" "$MCM_TMP/m" 127.0.0.1:11211 100000 200 || fail "mkmirror"
mkdir "$MCM_TMP/out"
interrupted=0
for try in 1 2 3 4 5 6; do
	sig=$([ $((try % 2)) = 1 ] && echo TERM || echo INT)
	rm -f "$MCM_TMP/out/"*
	"$MCM_TOOL" --mirror "$MCM_TMP/m" dump -f "$MCM_TMP/out/x.dump" 2>"$MCM_TMP/err" &
	pid=$!
	while [ -z "$(ls -A "$MCM_TMP/out")" ] && kill -0 "$pid" 2>/dev/null; do :; done
	kill -s "$sig" "$pid" 2>/dev/null || true
	rc=0; wait "$pid" || rc=$?
	if [ "$rc" = 0 ]; then
		"$MCM_BIN/tools_dumpcheck" check "$MCM_TMP/m" "$MCM_TMP/out/x.dump" >/dev/null ||
			fail "SIG$sig: exit 0 but the file is not a complete dump"
		continue
	fi
	assert_eq "$rc" 1 "SIG$sig: exit status"
	grep -q "mcmirror: dump: interrupted by signal" "$MCM_TMP/err" || fail "SIG$sig: message: $(cat "$MCM_TMP/err")"
	assert_eq "$(ls -A "$MCM_TMP/out")" "" "SIG$sig: files left"
	interrupted=$((interrupted + 1))
done
[ "$interrupted" -gt 0 ] || fail "no dump was interrupted in 6 tries (each finished before the signal)"
echo "PASS ($interrupted of 6 runs interrupted)"
