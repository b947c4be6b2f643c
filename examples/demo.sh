#!/bin/bash
# demo.sh - mcmirror in one command: build, protect a demo application's memcached data,
# crash memcached, warm it back from the mirror, and show the data is there.
#
# Everything lives in ./_demo (a throwaway memcached on a free loopback port, the mirror);
# nothing is installed and no system service is touched. Needs the build dependencies
# (scripts/setup-debian.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
demo=$top/_demo
build=${MCM_DEMO_BUILD:-$top/build}
users=${MCM_DEMO_USERS:-1000}

if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain" >&2; }

for tool in cmake gcc memcached pkg-config; do
	command -v $tool >/dev/null || { echo "demo: '$tool' is missing: run 'scripts/setup-debian.sh' first" >&2; exit 1; }
done

step "building into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
shim=$build/shim/libmcmirror.so
tool=$build/tools/mcmirror
app=$build/examples/mcmirror-demo-app

rm -rf "$demo"
mkdir -p "$demo"
mc_pid=
cleanup() { [ -n "$mc_pid" ] && kill -9 "$mc_pid" 2>/dev/null; true; }
trap cleanup EXIT

# Is memcached ($mc_pid) answering on $port?
wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "$mc_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_memcached [PORT]: start on PORT, or on a free port; sets port and mc_pid.
start_memcached() {
	local want=${1:-} try
	for try in $(seq 1 20); do
		port=${want:-$((20000 + RANDOM % 40000))}
		memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 -u "$(id -un)" >"$demo/memcached.log" 2>&1 &
		mc_pid=$!
		wait_port && return 0
		kill -9 "$mc_pid" 2>/dev/null || true
		[ -z "$want" ] || break
	done
	echo "demo: cannot start memcached${want:+ on port $want}: $(cat "$demo/memcached.log")" >&2
	exit 1
}

step "starting a throwaway memcached"
start_memcached
servers=127.0.0.1:$port
echo "memcached (pid $mc_pid) on $servers"

step "running the demo application under the shim"
echo "\$ LD_PRELOAD=$shim MCMIRROR_PATH=$demo/mirror mcmirror-demo-app write $servers $users"
LD_PRELOAD=$shim MCMIRROR_PATH=$demo/mirror "$app" write "$servers" "$users"
echo "\$ mcmirror --mirror $demo/mirror stats | grep -E 'servers|live_items|deleted|counters.recorded'"
"$tool" --mirror "$demo/mirror" stats | grep -E 'servers|live_items|deleted|counters.recorded' || true

step "crash: kill -9 memcached, start it again (empty)"
kill -9 "$mc_pid"
wait "$mc_pid" 2>/dev/null || true
start_memcached "$port"
"$app" check "$servers" "$users" || echo "(memcached came back empty: the application would start cold)"

step "warming memcached back from the mirror"
echo "\$ mcmirror --mirror $demo/mirror replay --servers $servers"
"$tool" --mirror "$demo/mirror" replay --servers "$servers"

step "the application's data is back"
"$app" check "$servers" "$users"
echo
echo "demo: done. The mirror is in $demo/mirror; try: $tool --mirror $demo/mirror stats"
