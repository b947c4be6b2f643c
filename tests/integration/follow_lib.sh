# follow_lib.sh - what the follow tests share (sourced after lib.sh).

# converge MIRROR STANDBY [SECONDS]: wait until the standby holds exactly what the
# mirror vouches for (verify clean and follow_check clean), at most SECONDS (20).
converge() {
	local mirror=$1 standby=$2 i out
	for i in $(seq 1 $((${3:-20} * 4))); do
		if "$MCM_TOOL" -q --mirror "$mirror" verify --servers "$standby" >/dev/null 2>"$MCM_TMP/verify.err" &&
			out=$("$MCM_BIN/follow_check" "$mirror" "$standby" 2>"$MCM_TMP/check.err"); then
			echo "$out"
			return 0
		fi
		sleep 0.25
	done
	echo "verify: $(tail -1 "$MCM_TMP/verify.err"); check: $(cat "$MCM_TMP/check.err")"
	return 1
}

# start_writer MIRROR SERVERS KEYS SEED [RATE [DISTRIBUTION]]: the writer under the
# shim, in the background (WRITER_PID), until stop_writer.
start_writer() {
	local mirror=$1 servers=$2 keys=$3 seed=$4
	rm -f "$MCM_TMP/stop"
	MCM_MIN_WRITES=${MCM_MIN_WRITES:-1000} under_shim "$mirror" "$MCM_BIN/follow_writer" "$servers" "$keys" "$seed" "$MCM_TMP/stop" "${5:-0}" "${6:-modula}" \
		>"$MCM_TMP/writer.out" 2>&1 &
	WRITER_PID=$!
	MCM_PIDS+=("$WRITER_PID")
}

stop_writer() {
	touch "$MCM_TMP/stop"
	wait "$WRITER_PID" || fail "the writer failed: $(cat "$MCM_TMP/writer.out")"
}

# start_follower MIRROR STANDBY [ARGS...]: mcmirror follow in the background (FOLLOWER_PID).
start_follower() {
	local mirror=$1 standby=$2
	shift 2
	"$MCM_TOOL" --mirror "$mirror" follow --servers "$standby" --timeout 2 "$@" >>"$MCM_TMP/follow.out" 2>&1 &
	FOLLOWER_PID=$!
	MCM_PIDS+=("$FOLLOWER_PID")
}

stop_follower() {
	kill -TERM "$FOLLOWER_PID" 2>/dev/null || true
	wait "$FOLLOWER_PID" || fail "follow did not exit 0 on SIGTERM: $(tail -5 "$MCM_TMP/follow.out")"
}
