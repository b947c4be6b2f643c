# lib.sh - shared by the shell-driven tests: a temp dir, throwaway memcached servers, assertions.
#
# Source it from a test script run by ctest. Environment (set by tests/CMakeLists.txt):
#   MCM_SHIM   path of libmcmirror.so     MCM_TOOL  path of the mcmirror tool
#   MCM_BIN    directory of test helper binaries
#   MEMCACHED_BINARY  memcached to start (default: found on PATH)
# A test that cannot run here (no memcached) exits 77, which ctest reports as skipped.
set -euo pipefail

MEMCACHED_BINARY=${MEMCACHED_BINARY:-$(command -v memcached || true)}
MCM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcmtest.XXXXXX")
MCM_PIDS=()

mcm_cleanup() {
	local pid
	for pid in "${MCM_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ "${MCM_KEEP_TMP:-0}" = 1 ]; then
		echo "kept $MCM_TMP" >&2
	else
		rm -rf "$MCM_TMP"
	fi
}
trap mcm_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need_memcached() {
	[ -n "$MEMCACHED_BINARY" ] && [ -x "$MEMCACHED_BINARY" ] || skip "no memcached binary (install Debian's memcached or set MEMCACHED_BINARY)"
}

# Wait until 127.0.0.1:$1 accepts a connection (deadline: 10 s); with a
# pid $2, give up as soon as that process is gone (the port was taken).
wait_port() {
	local i
	for i in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# mc_start NAME [memcached options...]: start a memcached on a free loopback
# port; sets NAME_PORT and NAME_PID. With NAME_PORT already set, reuses that
# port (a restart after mc_kill).
mc_start() {
	local name=$1 port pid try user
	shift
	need_memcached
	user=$(id -un)
	for try in $(seq 1 30); do
		port=$(eval "echo \${${name}_PORT:-}")
		[ -n "$port" ] && [ "$try" = 1 ] || port=$((20000 + RANDOM % 40000))
		"$MEMCACHED_BINARY" -l 127.0.0.1 -p "$port" -U 0 -u "$user" -m 64 "$@" \
			>"$MCM_TMP/memcached-$name.log" 2>&1 &
		pid=$!
		# (a server already on that port answers too: ours then fails to bind and exits within
		# a few milliseconds, so look again a little later before calling the port ours)
		if wait_port "$port" "$pid" && sleep 0.1 && kill -0 "$pid" 2>/dev/null; then
			MCM_PIDS+=("$pid")
			eval "${name}_PORT=$port; ${name}_PID=$pid"
			return 0
		fi
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	fail "could not start memcached ($name): $(cat "$MCM_TMP/memcached-$name.log")"
}

# mc_kill NAME: SIGKILL the server (as a crash would) and wait for it.
mc_kill() {
	local pid
	pid=$(eval "echo \$${1}_PID")
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# mc_restart NAME...: each server killed (-9) and started again, empty, on its port.
mc_restart() {
	local name
	for name in "$@"; do
		mc_kill "$name"
		mc_start "$name"
	done
}

# mc_stop NAME: SIGTERM, then SIGKILL after 5 s.
mc_stop() {
	local pid i
	pid=$(eval "echo \$${1}_PID")
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# mc_cmd PORT TEXT: send raw protocol text, print the reply (for checks).
mc_cmd() {
	local port=$1
	shift
	exec 4<>"/dev/tcp/127.0.0.1/$port"
	printf '%b' "$*" >&4
	timeout 2 cat <&4 || true
	exec 4>&-
}

# The sanitizer runtime a sanitizer-built shim needs loaded before it (empty
# for a normal build): ASan must come first in the initial library list, and
# the hosts under test (memccp, the drivers) may not be linked with it.
# Sets MCM_PRELOAD_PREFIX once; a value set in the environment is kept.
mcm_preload_prefix() {
	if [ -z "${MCM_PRELOAD_PREFIX+set}" ]; then
		MCM_PRELOAD_PREFIX=$(ldd "$MCM_SHIM" 2>/dev/null | awk '$1 ~ /^lib[at]san\.so/ && !n++ { print $3 }')
	fi
}

# readable_copy FILE: a copy of FILE that every user can read (and run), in MCM_TMP (made 0755),
# printed. For tests that run a part of the build or the tree as another user (a service's user):
# the checkout itself may sit in a directory only its owner can enter (CI clones into mktemp -d).
readable_copy() {
	local dir=$MCM_TMP/readable
	chmod 755 "$MCM_TMP"
	mkdir -p -m 755 "$dir"
	install -m 755 "$1" "$dir/${1##*/}"
	echo "$dir/${1##*/}"
}

# asan_build: is this an AddressSanitizer build (everything built with -DMCM_SANITIZE=ON)?
asan_build() {
	mcm_preload_prefix
	[[ $MCM_PRELOAD_PREFIX == *libasan* ]]
}

# need_php_memcached: Debian's PHP with its memcached extension, in a build where it can run
# under the shim (sets PHP); otherwise the test is skipped. PHP loads extensions with
# RTLD_DEEPBIND, which a sanitizer runtime refuses (google/sanitizers#611).
need_php_memcached() {
	PHP=/usr/bin/php
	[ -x "$PHP" ] || skip "no $PHP (Debian package php-cli)"
	"$PHP" -m 2>/dev/null | grep -x memcached >/dev/null ||
		skip "PHP has no memcached extension (Debian package php-memcached)"
	mcm_preload_prefix
	[ -z "$MCM_PRELOAD_PREFIX" ] ||
		skip "sanitizer build: the ASan runtime refuses PHP's dlopen(RTLD_DEEPBIND) of its extensions"
}

# Run a command under the shim with mirror directory $1. With a sanitizer
# build, leak reports of the (uninstrumented) host are off unless
# ASAN_OPTIONS says otherwise.
under_shim() {
	local mirror=$1
	shift
	mcm_preload_prefix
	if [ -n "$MCM_PRELOAD_PREFIX" ]; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
			LD_PRELOAD="$MCM_PRELOAD_PREFIX:$MCM_SHIM${LD_PRELOAD:+:$LD_PRELOAD}" MCMIRROR_PATH="$mirror" "$@"
	else
		LD_PRELOAD="$MCM_SHIM${LD_PRELOAD:+:$LD_PRELOAD}" MCMIRROR_PATH="$mirror" "$@"
	fi
}

# plain COMMAND...: run it as it is (the counterpart of under_shim, where a
# test runs the same steps with and without the shim).
plain() {
	"$@"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}
