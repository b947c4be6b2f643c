#!/bin/bash
# test_shim_disabled.sh - when the shim must stay out of the way, it records nothing and creates
# nothing: MCMIRROR_DISABLE=1, a process named mcmirror (the tool), a process that never writes.
# The same writes with the shim on do create the mirror (mode 0700) and record every key.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3
servers=("127.0.0.1:$S1_PORT" "127.0.0.1:$S2_PORT" "127.0.0.1:$S3_PORT")

MCMIRROR_DISABLE=1 under_shim "$MCM_TMP/m-disabled" "$MCM_BIN/shim_drive" ascii "$MCM_TMP/keys-disabled" \
	"${servers[@]}" >/dev/null || fail "MCMIRROR_DISABLE=1: the driver saw unexpected results"
[ ! -e "$MCM_TMP/m-disabled" ] || fail "MCMIRROR_DISABLE=1: the shim created '$MCM_TMP/m-disabled'"

cp "$MCM_BIN/shim_drive" "$MCM_TMP/mcmirror"
under_shim "$MCM_TMP/m-tool" "$MCM_TMP/mcmirror" count "$MCM_TMP/keys-tool" "${servers[0]}" 5 tool >/dev/null ||
	fail "a program named mcmirror failed under the shim"
[ ! -e "$MCM_TMP/m-tool" ] || fail "a process named mcmirror was mirrored"

rc=0
under_shim "$MCM_TMP/m-idle" "$MCM_BIN/shim_drive" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit code of the driver's usage error under the shim"
[ ! -e "$MCM_TMP/m-idle" ] || fail "a process that wrote nothing created the mirror"

# The control: the same writes with the shim on.
under_shim "$MCM_TMP/m-on" "$MCM_BIN/shim_drive" count "$MCM_TMP/keys-on" "${servers[0]}" 5 on >/dev/null ||
	fail "the driver saw unexpected results under the shim"
[ -d "$MCM_TMP/m-on" ] || fail "the shim did not create the mirror at the first write"
assert_eq "$(stat -c %a "$MCM_TMP/m-on")" 700 "mode of the mirror directory"
"$MCM_BIN/mirror_check" "$MCM_TMP/m-on" "$MCM_TMP/keys-on" || fail "the enabled run's mirror differs from the server"
echo "PASS"
