#!/bin/bash
# test_run.sh - `mcmirror run` preloads the shim into an unmodified program: memccp run through it is
# mirrored into the directory of the global --mirror (or run's own, made absolute), an LD_PRELOAD
# already set stays loaded, MCMIRROR_SYNC is passed on, and the exit statuses are the command's own,
# 127 (not found), 126 (not executable) and 2 (usage), each with a message.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
MEMCCP=$(command -v memccp || true)
[ -n "$MEMCCP" ] || skip "no memccp (Debian's libmemcached-tools)"
mcm_preload_prefix
# a sanitizer-built shim needs the ASan runtime loaded first: give it as the LD_PRELOAD to keep
# (run puts the shim in front, so ASan's order check is off; the host is not instrumented anyway)
base_preload=${MCM_PRELOAD_PREFIX:-$(ldconfig -p | awk '$1 == "libdl.so.2" && /x86-64/ && !n++ { print $NF }')}
[ -n "$base_preload" ] || skip "no library to preload besides the shim"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:verify_asan_link_order=0}
shim=$(readlink -f "$MCM_SHIM")

mc_start A
SERVER=127.0.0.1:$A_PORT
cd "$MCM_TMP"
head -c 3000 /dev/urandom >blob.bin

# the global --mirror; an LD_PRELOAD already set is kept, behind the shim
rc=0
LD_PRELOAD=$base_preload "$MCM_TOOL" --mirror "$MCM_TMP/m1" run -- "$MEMCCP" --servers="$SERVER" blob.bin \
	2>err || rc=$?
assert_eq "$rc" 0 "memccp under mcmirror run ($(cat err))"
[ ! -s err ] || fail "memccp under mcmirror run printed: $(cat err)"
"$MCM_TOOL" --mirror "$MCM_TMP/m1" dump >dump1 || fail "dump of m1"
grep -q "^live [0-9a-f]* [0-9]* [0-9]* 0 0 0 - blob.bin " dump1 || fail "blob.bin is not in the mirror: $(cat dump1)"
"$MCM_TOOL" --mirror "$MCM_TMP/m1" verify --servers "$SERVER" 2>err || fail "verify m1: $(cat err)"

# what the program sees: both libraries mapped, shim first, the old entry still there
LD_PRELOAD=$base_preload "$MCM_TOOL" --mirror m1 run -- sh -c 'echo "$LD_PRELOAD"; echo "$MCMIRROR_PATH";
	echo "${MCMIRROR_SYNC-unset}"; cat /proc/self/maps' >seen || fail "run sh"
assert_eq "$(sed -n 1p seen)" "$shim:$base_preload" "LD_PRELOAD given to the command"
assert_eq "$(sed -n 2p seen)" "$MCM_TMP/m1" "MCMIRROR_PATH (made absolute)"
assert_eq "$(sed -n 3p seen)" unset "MCMIRROR_SYNC is left alone without --sync"
grep -q "$shim" seen || fail "the shim is not mapped into the command"
grep -q "$(readlink -f "$base_preload")" seen || fail "the LD_PRELOAD already set was dropped"

# run's own --mirror wins over the global one, relative to where mcmirror was started; --sync
mkdir sub
(cd sub && "$MCM_TOOL" --mirror "$MCM_TMP/unused" run --mirror m2 --sync always -- \
	sh -c 'cd / && exec "$0" --servers="$1" "$2"; echo "$MCMIRROR_SYNC"' "$MEMCCP" "$SERVER" "$MCM_TMP/blob.bin") ||
	fail "memccp with run --mirror"
[ ! -e "$MCM_TMP/unused" ] || fail "the global --mirror was used although run --mirror was given"
"$MCM_TOOL" --mirror "$MCM_TMP/sub/m2" dump | grep " blob.bin " >/dev/null || fail "blob.bin not mirrored in sub/m2"
out=$("$MCM_TOOL" run -s none -- sh -c 'echo "$MCMIRROR_SYNC ${MCMIRROR_PATH-unset}"' 2>&1)
assert_eq "$out" "none ${MCMIRROR_PATH-unset}" "--sync none and MCMIRROR_PATH untouched without --mirror"

# a shim already in LD_PRELOAD is not added twice
out=$(LD_PRELOAD="$shim" "$MCM_TOOL" run -- sh -c 'echo "$LD_PRELOAD"')
assert_eq "$out" "$shim" "LD_PRELOAD holding the shim already"

# exit statuses and messages
expect_exit() { # WANT PATTERN ARGS...: exit status WANT, stderr matching PATTERN
	local want=$1 pattern=$2 rc=0
	shift 2
	"$MCM_TOOL" "$@" >out 2>err </dev/null || rc=$?
	assert_eq "$rc" "$want" "exit status of 'mcmirror $*' ($(cat err))"
	grep -q -- "$pattern" err || fail "'mcmirror $*' said: $(cat err)"
}
expect_exit 127 "^mcmirror: run: cannot run 'no-such-command-mcm': No such file or directory" run -- no-such-command-mcm
touch notexec
expect_exit 126 "^mcmirror: run: cannot run './notexec': Permission denied" run ./notexec
expect_exit 2 "^mcmirror: run: no command given" run
expect_exit 2 "^mcmirror: run: invalid --sync 'sometimes'" run --sync sometimes true
expect_exit 2 "^mcmirror: run: unknown option" run --bogus true
expect_exit 1 "^mcmirror: run: cannot use '/nonexistent/libmcmirror.so': No such file or directory" \
	run --shim /nonexistent/libmcmirror.so true
rc=0; "$MCM_TOOL" run -- sh -c 'exit 7' || rc=$?
assert_eq "$rc" 7 "the command's exit status"
"$MCM_TOOL" run --help >out || fail "run --help"
grep -q "^usage: mcmirror \[--mirror DIR\] run " out || fail "run --help: $(head -3 out)"
echo PASS
