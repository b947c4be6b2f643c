#!/bin/bash
# test_shim_unusable.sh - with a mirror it cannot use, the shim passes every call through: the host's
# stdout, stderr and exit code are those of a run without the shim (as with a usable mirror), and the
# shim says so once in MCMIRROR_LOG_FILE. Unusable: a path under a regular file, a path the kernel refuses (/proc), a
# directory holding something that is not a mirror, and (when not root) a read-only directory.
. "$MCM_HARNESS/lib.sh"
mc_start S1
mc_start S2
mc_start S3

# Fresh servers for every run, so that each run sees the same server state.
restart_servers() {
	local s
	for s in S1 S2 S3; do
		mc_kill "$s"
		mc_start "$s"
	done
}

drive() {
	"$@" "$MCM_BIN/shim_drive" ascii "$MCM_TMP/keys" "127.0.0.1:$S1_PORT" "127.0.0.1:$S2_PORT" \
		"127.0.0.1:$S3_PORT"
}

base_rc=0
drive >"$MCM_TMP/base.out" 2>"$MCM_TMP/base.err" || base_rc=$?
assert_eq "$base_rc" 0 "exit code of the driver without the shim ($(cat "$MCM_TMP/base.err"))"

# same_as_base LABEL PATH: a run under the shim with mirror PATH prints and exits as the base run
same_as_base() {
	local label=$1 path=$2 rc=0
	restart_servers
	MCMIRROR_LOG_FILE=$MCM_TMP/log-$label drive under_shim "$path" >"$MCM_TMP/$label.out" \
		2>"$MCM_TMP/$label.err" || rc=$?
	assert_eq "$rc" "$base_rc" "$label: exit code under the shim"
	cmp -s "$MCM_TMP/base.out" "$MCM_TMP/$label.out" ||
		fail "$label: stdout differs under the shim: $(diff "$MCM_TMP/base.out" "$MCM_TMP/$label.out" | head -5)"
	cmp -s "$MCM_TMP/base.err" "$MCM_TMP/$label.err" ||
		fail "$label: stderr differs under the shim: $(head -5 "$MCM_TMP/$label.err")"
}

# A usable mirror changes nothing either, and says nothing.
same_as_base usable "$MCM_TMP/usable"
[ ! -s "$MCM_TMP/log-usable" ] || fail "usable: the shim logged: $(cat "$MCM_TMP/log-usable")"
[ -d "$MCM_TMP/usable" ] || fail "usable: no mirror was created"

# check_unusable LABEL PATH
check_unusable() {
	local label=$1 path=$2 log=$MCM_TMP/log-$1 lines
	same_as_base "$label" "$path"
	[ -f "$log" ] || fail "$label: nothing in MCMIRROR_LOG_FILE"
	lines=$(wc -l <"$log")
	assert_eq "$lines" 1 "$label: lines in MCMIRROR_LOG_FILE ($(cat "$log"))"
	grep -qF "$path" "$log" || fail "$label: the message does not name '$path': $(cat "$log")"
}

touch "$MCM_TMP/a-file"
check_unusable under-file "$MCM_TMP/a-file/mirror"
check_unusable proc "/proc/mcmirror-test-$$"
mkdir "$MCM_TMP/not-a-mirror"
head -c 65536 /dev/urandom >"$MCM_TMP/not-a-mirror/data.mdb"
check_unusable not-a-mirror "$MCM_TMP/not-a-mirror"
if [ "$(id -u)" != 0 ]; then
	mkdir -m 500 "$MCM_TMP/read-only"
	check_unusable read-only "$MCM_TMP/read-only/mirror"
else
	echo "note: running as root: the read-only directory case is skipped (root may write there)"
fi
echo "PASS"
