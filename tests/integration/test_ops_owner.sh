#!/bin/bash
# test_ops_owner.sh - root running mcmirror on a mirror a service user owns leaves every file in it
# that user's (issue 11 item 3): a load merged into the mirror, a load into the service's empty
# directory, an import, and the read commands (stats, replay), which apply the journal first and
# may create lock.mdb. Before, they left root-owned files and the service's shim could not write.
# The mirror is written by a real client under the shim, run as the service user (nobody).
. "$MCM_HARNESS/lib.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "needs root (the case is root acting on another user's mirror)"
id nobody >/dev/null 2>&1 || skip "no user 'nobody'"
command -v setpriv >/dev/null || skip "no setpriv"
need_memcached
command -v memccp >/dev/null || skip "no memccp (Debian package libmemcached-tools)"
chmod 755 "$MCM_TMP"
base=$MCM_TMP/lib
mkdir -m 755 "$base"
m=$base/app
install -d -m 0700 -o nobody -g nogroup "$m"
mc_start MC
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
mcm_preload_prefix # a sanitizer-built shim needs the ASan runtime loaded first (as under_shim does)
preload=${MCM_PRELOAD_PREFIX:+$MCM_PRELOAD_PREFIX:}$(readable_copy "$MCM_SHIM") # nobody must read it
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
not_nobody() { find "$1" ! -user nobody -printf '%p (%u)\n'; }
check_owner() { # WHAT: nothing in $m belongs to anyone but nobody
	local bad
	bad=$(not_nobody "$m")
	[ -z "$bad" ] || fail "$1 left files the service user does not own: $bad"
}

# The service writes: journal, data.mdb, lock.mdb, counters are nobody's.
for i in 1 2 3; do echo "value $i" >"$MCM_TMP/f$i"; done
chmod 644 "$MCM_TMP"/f?
as_nobody env MCMIRROR_PATH="$m" LD_PRELOAD="$preload" memccp --servers="127.0.0.1:$MC_PORT" "$MCM_TMP/f1" "$MCM_TMP/f2" \
	|| fail "memccp under the shim"
[ -e "$m/journal" ] && [ -e "$m/data.mdb" ] || fail "the shim did not create the mirror: $(ls -la "$m")"
check_owner "the shim itself"

# stats as root, lock.mdb gone (as after a restore): created again, as nobody's.
rm -f "$m/lock.mdb"
"$MCM_TOOL" --mirror "$m" stats >/dev/null 2>"$MCM_TMP/err" || fail "stats: $(cat "$MCM_TMP/err")"
check_owner "stats as root"
"$MCM_TOOL" --mirror "$m" dump -f "$MCM_TMP/app.dump" || fail "dump"
rm -f "$m/lock.mdb"
"$MCM_TOOL" --mirror "$m" replay --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || fail "replay: $(cat "$MCM_TMP/err")"
check_owner "replay as root"

# load merged into the mirror, and load into the service's empty directory.
rm -f "$m/lock.mdb"
"$MCM_TOOL" --mirror "$m" load "$MCM_TMP/app.dump" 2>"$MCM_TMP/err" || fail "load (merge): $(cat "$MCM_TMP/err")"
check_owner "load (merge) as root"
install -d -m 0700 -o nobody -g nogroup "$base/fresh"
"$MCM_TOOL" --mirror "$base/fresh" load "$MCM_TMP/app.dump" 2>"$MCM_TMP/err" || fail "load (new): $(cat "$MCM_TMP/err")"
bad=$(not_nobody "$base/fresh")
[ -z "$bad" ] || fail "load into the service's empty directory left: $bad"

# import as root into the mirror.
rm -f "$m/lock.mdb"
"$MCM_TOOL" -q --mirror "$m" import --servers "127.0.0.1:$MC_PORT" 2>"$MCM_TMP/err" || fail "import: $(cat "$MCM_TMP/err")"
check_owner "import as root"

# The proof that matters: the service writes on, into LMDB (not only into its journal).
as_nobody env MCMIRROR_PATH="$m" LD_PRELOAD="$preload" MCMIRROR_LOG_FILE="$MCM_TMP/shim.log" \
	memccp --servers="127.0.0.1:$MC_PORT" "$MCM_TMP/f3" || fail "memccp after the tools ran"
"$MCM_TOOL" --mirror "$m" dump >"$MCM_TMP/after.dump" 2>/dev/null || fail "dump after"
grep -q ' f3 value' "$MCM_TMP/after.dump" || fail "the service's write after the tools ran is not in the mirror: $(cat "$MCM_TMP/shim.log" 2>/dev/null)"
! grep -qi "permission denied" "$MCM_TMP/shim.log" 2>/dev/null || fail "the shim was refused: $(cat "$MCM_TMP/shim.log")"
echo PASS
