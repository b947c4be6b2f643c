#!/bin/bash
# test_shim_forks.sh - a parent writes (the shim opens the mirror), forks 4 children that write with
# handles of their own (clone, new, binary clone, config string), then writes again: every process's
# writes must be in the one mirror, and match the server.
. "$MCM_HARNESS/lib.sh"
# gcc 12's AddressSanitizer does not make its allocator safe across fork(): a child forked while the
# parent's drainer thread allocates can block for good in its first malloc (seen in CI: the child in
# fdopen, waiting on the allocator lock the drainer held). glibc's malloc is fork-safe, and the
# ThreadSanitizer build of CI runs this test; in the AddressSanitizer build it is skipped.
! asan_build || skip "AddressSanitizer build: its allocator is not fork-safe"
mc_start S1
mirror=$MCM_TMP/mirror
MCMIRROR_LOG_FILE=$MCM_TMP/shim.log under_shim "$mirror" "$MCM_BIN/shim_drive" forks "$MCM_TMP/keys" \
	"127.0.0.1:$S1_PORT" || fail "forks: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "forks: the mirror differs from the server"
[ ! -s "$MCM_TMP/shim.log" ] || fail "forks: the shim logged: $(cat "$MCM_TMP/shim.log")"
echo "PASS"
