#!/bin/bash
# test_install.sh - what `cmake --install` puts in a prefix works on its own: the installed mcmirror
# preloads the installed libmcmirror.so (not the build tree's) into the installed demo application,
# memcached is killed and restarted empty, the installed mcmirror-warm waits for it and replays, and
# the application's data is back (examples/demo.sh's steps). Under CI=true or MCM_TEST_INSTALL=1 it
# also builds the Debian package (cpack -G DEB), checks its fields, installs it with dpkg -i into this
# machine, runs the same steps from /usr, and purges it again if it was not installed before.
. "$MCM_HARNESS/lib.sh" || exit 1
need_memcached
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:verify_asan_link_order=0} # sanitizer build: the shim is preloaded before the ASan runtime
users=300

# demo_cycle BIN LIBEXEC LIBPATTERN: the demo against installed files
demo_cycle() {
	local bin=$1 libexec=$2 libpattern=$3 m=$MCM_TMP/mirror.$RANDOM out rc warm
	mc_start A
	local servers=127.0.0.1:$A_PORT
	"$bin/mcmirror" -v --mirror "$m" run -- "$libexec/mcmirror-demo-app" write "$servers" $users 2>"$MCM_TMP/run.err" ||
		fail "demo write under the installed mcmirror run: $(cat "$MCM_TMP/run.err")"
	grep -q "^mcmirror: run: LD_PRELOAD='$libpattern'" "$MCM_TMP/run.err" ||
		fail "not the installed library: $(cat "$MCM_TMP/run.err")"
	"$bin/mcmirror" --mirror "$m" stats | grep '^total.live_items: [1-9]' >/dev/null || fail "nothing mirrored"

	mc_kill A
	"$libexec/mcmirror-demo-app" check "$servers" $users >/dev/null 2>&1 && fail "memcached is not down"
	# the warm-up wrapper waits for the port: start it first, then memcached
	MCMIRROR_WARM_WAIT=30 "$libexec/mcmirror-warm" "$m" "$servers" 2>"$MCM_TMP/warm.err" &
	warm=$!
	sleep 0.5
	mc_start A # same port, empty
	rc=0; wait "$warm" || rc=$?
	assert_eq "$rc" 0 "mcmirror-warm exit status"
	grep -q "^mcmirror: replay: replayed [1-9][0-9]*, already present 0, .* failed 0 " "$MCM_TMP/warm.err" ||
		fail "mcmirror-warm: $(cat "$MCM_TMP/warm.err")"
	out=$("$libexec/mcmirror-demo-app" check "$servers" $users 2>&1) || fail "data not back after the warm-up: $out"
	"$bin/mcmirror" --mirror "$m" verify --servers "$servers" 2>"$MCM_TMP/verify.err" ||
		fail "verify: $(cat "$MCM_TMP/verify.err")"

	# a warm-up that cannot work still exits 0, and says why
	mc_kill A
	rc=0; MCMIRROR_WARM_WAIT=1 "$libexec/mcmirror-warm" "$m" "$servers" 2>"$MCM_TMP/warm.err" || rc=$?
	assert_eq "$rc" 0 "mcmirror-warm exit status with memcached down"
	grep -q "accepts no connection after 1 s" "$MCM_TMP/warm.err" && grep -q "failed (exit 1)" "$MCM_TMP/warm.err" ||
		fail "mcmirror-warm with memcached down said: $(cat "$MCM_TMP/warm.err")"
}

# --- cmake --install into a temporary prefix ---
P=$MCM_TMP/prefix
cmake --install "$MCM_BUILD_DIR" --prefix "$P" >"$MCM_TMP/install.log" 2>&1 || fail "cmake --install: $(cat "$MCM_TMP/install.log")"
for f in bin/mcmirror share/man/man1/mcmirror.1 share/man/man7/libmcmirror.7 libexec/mcmirror/mcmirror-demo-app \
	libexec/mcmirror/mcmirror-warm share/doc/mcmirror/RUNBOOK.md share/doc/mcmirror/examples/systemd/app-mcmirror.conf \
	share/doc/mcmirror/examples/systemd/memcached-replay.conf share/doc/mcmirror/examples/php-sessions/README.md; do
	[ -f "$P/$f" ] || fail "not installed: $f"
done
lib=$(cd "$P" && find lib -name libmcmirror.so | sed -n 1p)
[ -n "$lib" ] || fail "no libmcmirror.so under $P/lib: $(cat "$MCM_TMP/install.log")"
[ -x "$P/libexec/mcmirror/mcmirror-warm" ] || fail "mcmirror-warm is not executable"
demo_cycle "$P/bin" "$P/libexec/mcmirror" "$P/$lib"

# --- the Debian package, installed into this machine: CI only ---
if [ "${CI:-}" != true ] && [ "${MCM_TEST_INSTALL:-0}" != 1 ]; then
	echo "PASS (cmake --install; the .deb is built and installed only under CI=true or MCM_TEST_INSTALL=1)"
	exit 0
fi
[ "${MCM_SANITIZE:-0}" != 1 ] || { echo "PASS (cmake --install; no package of a sanitizer build)"; exit 0; }
for t in cpack dpkg dpkg-deb; do
	command -v $t >/dev/null || skip "no $t: the package cannot be built or installed here"
done
[ "$(id -u)" = 0 ] || skip "dpkg -i needs root"
version=$("$MCM_BUILD_DIR/tools/mcmirror" -V | awk '{ print $2 }')
deb=$MCM_TMP/pkg/mcmirror_${version}_$(dpkg --print-architecture).deb
(cd "$MCM_BUILD_DIR" && cpack -G DEB -B "$MCM_TMP/pkg") >"$MCM_TMP/cpack.log" 2>&1 || fail "cpack: $(cat "$MCM_TMP/cpack.log")"
[ -f "$deb" ] || fail "no $deb: $(ls "$MCM_TMP/pkg")"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libmemcached11 liblmdb0 libc6; do
	echo "$depends" | grep "\b$d\b" >/dev/null || fail "Depends lacks $d: '$depends'"
done
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] && [ -n "$(dpkg-deb -f "$deb" Description)" ] || fail "no Maintainer or Description"
dpkg-deb -c "$deb" >"$MCM_TMP/contents" || fail "dpkg-deb -c"
grep -q '\./usr/bin/mcmirror$' "$MCM_TMP/contents" || fail "no /usr/bin/mcmirror in the package"
grep -q '\./var/lib/mcmirror' "$MCM_TMP/contents" && fail "the package ships /var/lib/mcmirror (the operator creates it for the service user)"
was_installed=0
dpkg -s mcmirror >/dev/null 2>&1 && was_installed=1
dpkg -i "$deb" >"$MCM_TMP/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$MCM_TMP/dpkg.log")"
[ $was_installed = 1 ] || trap 'dpkg -P mcmirror >/dev/null 2>&1; mcm_cleanup' EXIT
syslib=$(dpkg -L mcmirror | grep '/libmcmirror\.so$' | sed -n 1p)
[ -n "$syslib" ] || fail "the package installed no libmcmirror.so"
demo_cycle /usr/bin /usr/libexec/mcmirror "$syslib"
if command -v man >/dev/null; then
	man -w mcmirror >/dev/null 2>&1 && man -w 7 libmcmirror >/dev/null 2>&1 || fail "man cannot find the installed pages"
fi
echo "PASS (cmake --install, and $deb installed with dpkg)"
