# lib.sh - what the write benchmarks share (sourced): a scratch directory and throwaway memcacheds on
# free loopback ports, both gone when the script exits.
#
# Needs $memcached (the binary). mc_start is not to be called in $(...): the exit trap must see the
# servers it started.

MC_PIDS=()

# bench_tmp PREFIX: make the scratch directory $tmp (under $TMPDIR) and remove it, and stop every
# memcached mc_start started, when the script exits.
bench_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local p
	for p in "${MC_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}

# mc_start NAME [PREFIX...]: start memcached (-m 256, no UDP) on a free port of 127.0.0.1, run under
# the command PREFIX when one is given (taskset -c 0); sets MC_PORT and MC_PID once it accepts
# connections (stopped at exit). Exits 1 with a message naming NAME when it cannot.
mc_start() {
	local name=$1 pid
	shift
	for _ in $(seq 1 20); do
		MC_PORT=$((20000 + RANDOM % 40000))
		"$@" "$memcached" -l 127.0.0.1 -p "$MC_PORT" -U 0 -u "$(id -un)" -m 256 >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 1 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT") 2>/dev/null; then
				MC_PID=$pid
				MC_PIDS+=("$pid")
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null || true
	done
	echo "$name: cannot start memcached" >&2
	exit 1
}
