#!/bin/bash
# tls_bench.sh - what TLS costs `mcmirror replay`: the same mirror replayed over plain TCP and over
# TLS, alternating, each run into a fresh memcached (docs/PERFORMANCE.md, "Replay over TLS").
#
# usage: bench/tls_bench.sh [-n ITEMS] [-s VALUE_SIZE] [-r ROUNDS] [-m MEMCACHED] [BUILD_DIR]
#   defaults: 1,000,000 items of 100 bytes, 5 rounds, /usr/bin/memcached, BUILD_DIR build-rel (next
#   to bench/; configured with -DCMAKE_BUILD_TYPE=Release and built when its mcmirror or
#   tests/mkmirror is missing). TMPDIR says where the temporary mirror and certificates go.
#
# It makes a throwaway CA and a server certificate for IP:127.0.0.1 with openssl, a mirror of ITEMS
# items with tests/mkmirror, then in each round runs both arms (the order alternates by round):
#   plain: mcmirror replay --servers 127.0.0.1:P
#   tls:   mcmirror replay --tls --tls-ca CA --servers 127.0.0.1:P
# each into its own new memcached on a free loopback port, killed after. Both servers get the same
# options, TLS enabled (-Z -o ssl_chain_cert=...,ssl_key=..., -m 1024, 4 threads); the plain arm's
# listener is `-l notls:127.0.0.1:P`, so the servers differ only in whether that connection is TLS.
# Each replay must exit 0 with 'replayed ITEMS, ..., failed 0' (else the bench stops, exit 1).
#
# It prints the negotiated protocol and cipher, per round each arm's items/s (wall time from spawn
# to exit), its CPU seconds (user+system, /usr/bin/time) and memcached's (/proc/PID/stat), and the
# round's ratio tls/plain; at the end the medians of each arm, the median of the per-round ratios,
# the CPU per item of the replay and of memcached, and the load average before and after.
# Nothing is asserted: the machine may be shared; compare the arms within one run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=1000000 size=100 rounds=5 memcached=/usr/bin/memcached
usage() { sed -n 's/^# \{0,1\}//; 5,8p' "$0" >&2; exit 2; }
while getopts n:s:r:m:h o; do
	case $o in
	n) n=$OPTARG ;;
	s) size=$OPTARG ;;
	r) rounds=$OPTARG ;;
	m) memcached=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
build=${1:-$here/../build-rel}
tool=$build/tools/mcmirror mkmirror=$build/tests/mkmirror
for c in openssl /usr/bin/time "$memcached"; do
	command -v "$c" >/dev/null || { echo "tls_bench: '$c' not found" >&2; exit 1; }
done
if [ ! -x "$tool" ] || [ ! -x "$mkmirror" ]; then
	cmake -S "$here/.." -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j2 --target mcmirror mkmirror >/dev/null
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcmtls.XXXXXX")
MC_PID=
cleanup() {
	if [ -n "$MC_PID" ]; then kill -9 "$MC_PID" 2>/dev/null || true; wait "$MC_PID" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# certificates: a CA, and a server certificate it signed for IP:127.0.0.1 (EC keys, valid a day)
(
	set -e
	cd "$tmp"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key
	openssl req -x509 -key ca.key -out ca.crt -days 1 -subj "/CN=tls_bench CA"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out server.key
	openssl req -new -key server.key -out server.csr -subj "/CN=127.0.0.1"
	echo "subjectAltName=IP:127.0.0.1" >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile server.ext -out server.crt
) >"$tmp/openssl.log" 2>&1 || { echo "tls_bench: openssl failed: $(tail -3 "$tmp/openssl.log")" >&2; exit 1; }

# start_mc ARM: a fresh memcached on a free loopback port, TLS enabled; the plain arm's listener
# without TLS (sets PORT, MC_PID)
start_mc() {
	local listen
	for _ in $(seq 1 20); do
		PORT=$((20000 + RANDOM % 40000))
		listen=127.0.0.1:$PORT
		[ "$1" = tls ] || listen=notls:$listen
		"$memcached" -Z -o "ssl_chain_cert=$tmp/server.crt,ssl_key=$tmp/server.key" \
			-l "$listen" -U 0 -m 1024 -t 4 -u "$(id -un)" 2>>"$tmp/memcached.log" &
		MC_PID=$!
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
			kill -0 "$MC_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$MC_PID" 2>/dev/null || true
		wait "$MC_PID" 2>/dev/null || true
		MC_PID=
	done
	echo "tls_bench: cannot start memcached: $(tail -3 "$tmp/memcached.log")" >&2
	exit 1
}

stop_mc() {
	kill -9 "$MC_PID"
	wait "$MC_PID" 2>/dev/null || true
	MC_PID=
}

# run ARM: one replay into a fresh server; sets RATE (items/s), CPU (s), MCCPU (memcached's s)
run() {
	local t0 t1 args=()
	[ "$1" = plain ] || args=(--tls --tls-ca "$tmp/ca.crt")
	start_mc "$1"
	t0=$(date +%s.%N)
	if ! /usr/bin/time -f '%U %S' -o "$tmp/time" \
		"$tool" --mirror "$tmp/m" replay "${args[@]}" --servers "127.0.0.1:$PORT" 2>"$tmp/replay.err"; then
		echo "tls_bench: $1 replay failed: $(cat "$tmp/replay.err")" >&2
		exit 1
	fi
	t1=$(date +%s.%N)
	grep -q "replayed $n, already present 0, skipped expired 0, failed 0 " "$tmp/replay.err" || {
		echo "tls_bench: $1 replay did not restore $n items: $(cat "$tmp/replay.err")" >&2
		exit 1
	}
	MCCPU=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$MC_PID/stat")
	stop_mc
	RATE=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	CPU=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/time")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$mkmirror" "$tmp/m" 127.0.0.1:11211 "$n" "$size" >/dev/null
echo "mirror: $n items of $size bytes; $rounds rounds; $("$memcached" -V), -Z, -m 1024 -t 4"
start_mc tls
echo "negotiated: $(timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$tmp/ca.crt" \
	</dev/null 2>/dev/null | awk '/^New,/ { sub(/^New, /, ""); print }')"
stop_mc

declare -A rate cpu mccpu last_rate last_cpu last_mc med
ratios=()
for r in $(seq 1 "$rounds"); do
	order="plain tls"
	[ $((r % 2)) = 1 ] || order="tls plain"
	for arm in $order; do
		run "$arm"
		rate[$arm]+=" $RATE" cpu[$arm]+=" $CPU" mccpu[$arm]+=" $MCCPU"
		last_rate[$arm]=$RATE last_cpu[$arm]=$CPU last_mc[$arm]=$MCCPU
	done
	ratio=$(awk -v t="${last_rate[tls]}" -v p="${last_rate[plain]}" 'BEGIN { printf "%.3f", t / p }')
	ratios+=("$ratio")
	printf 'round %d (%s): plain %s items/s (cpu %s s, memcached %s s), tls %s items/s (cpu %s s, memcached %s s), tls/plain %s\n' \
		"$r" "${order/ /,}" "${last_rate[plain]}" "${last_cpu[plain]}" "${last_mc[plain]}" \
		"${last_rate[tls]}" "${last_cpu[tls]}" "${last_mc[tls]}" "$ratio"
done

for arm in plain tls; do
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	m_rate=$(median ${rate[$arm]}) m_cpu=$(median ${cpu[$arm]}) m_mc=$(median ${mccpu[$arm]})
	med[$arm]=$m_rate
	awk -v a="$arm" -v r="$m_rate" -v c="$m_cpu" -v m="$m_mc" -v n="$n" 'BEGIN {
		printf "median %-5s %.0f items/s; replay cpu %.2f s (%.2f us/item); memcached cpu %.2f s (%.2f us/item)\n",
			a, r, c, c * 1e6 / n, m, m * 1e6 / n }'
done
echo "tls/plain: median of the per-round ratios $(median "${ratios[@]}")," \
	"ratio of the medians $(awk -v t="${med[tls]}" -v p="${med[plain]}" 'BEGIN { printf "%.3f", t / p }')"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
