#!/bin/bash
# test_shim_desync.sh - text-protocol connections that fall out of step (shim_desync.c): a timeout
# (memcached stopped a moment: libmemcached closes the connection, the next call is in step); the issue's
# repro (a cas with cas value 0 answered ERROR twice, then set and add read each other's replies), a
# key too long with its namespace, keys holding a space in one-line commands (the server acts on the
# first word), one server of a two-server pool out of step, commands injected by a data block and by
# a key with a newline. The mirror holds no value the server does not; what is written after
# libmemcached reconnected, and on the pool's other connection, is mirrored exactly.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3
mirror=$MCM_TMP/mirror
under_shim "$mirror" "$MCM_BIN/shim_drive" desync "$MCM_TMP/keys" "127.0.0.1:$S1_PORT" "127.0.0.1:$S2_PORT" \
	"127.0.0.1:$S3_PORT" "$S1_PID" >"$MCM_TMP/transcript" ||
	fail "desync: a call returned something else under the shim than the server should say"
"$MCM_BIN/mirror_check" "$mirror" "$MCM_TMP/keys" || fail "desync: the mirror differs from the servers"
stats=$("$MCM_BIN/mirror_check" --stats "$mirror") || fail "cannot read the mirror's counters"
[ "$(awk '$1 == "out_of_step" { print $2 }' <<<"$stats")" -ge 4 ] ||
	fail "connections counted out of step: $(awk '$1 == "out_of_step"' <<<"$stats")"
echo "PASS"
