#!/bin/bash
# test_tools.sh - Debian's libmemcached-tools run unmodified under the shim.
#
# The same sequence of commands (memccp with flags and expiry over both protocols, add and replace
# that fail, memcrm, memcrm --expire which fails, memctouch, memccat, memcflush then memccp again)
# runs three times against fresh servers: without the shim, with the shim and a mirror, and with the
# shim and an unusable mirror path. Each command's stdout, stderr and exit code must be byte-identical
# in the three runs; the mirror must hold what the server holds after each half; the unusable path is
# reported in MCMIRROR_LOG_FILE, nowhere else. Runs are made with address randomisation off and
# environments of equal size, since memcrm prints a stack address in its error message.
. "$MCM_HARNESS/lib.sh"
for t in memccp memccat memcrm memctouch memcflush; do
	command -v "$t" >/dev/null || skip "$t not installed (Debian package libmemcached-tools)"
done
setarch "$(uname -m)" -R true 2>/dev/null || skip "setarch -R is not permitted here"
mc_start S1
srv=127.0.0.1:$S1_PORT
files=$MCM_TMP/files
mkdir "$files"
printf 'hello\n' >"$files/f1"
printf 'a\0b\r\n\0\377end' >"$files/f2"
printf 'third' >"$files/f3"
head -c 5000 /dev/urandom >"$files/f4"
printf 'fifth' >"$files/f5"
printf 'sixth' >"$files/f6"
printf 'seventh\n' >"$files/f7"

# The variables of a run under the shim with mirror $1 and log $2, one per line.
shim_env() {
	mcm_preload_prefix
	printf '%s\n' "LD_PRELOAD=${MCM_PRELOAD_PREFIX:+$MCM_PRELOAD_PREFIX:}$MCM_SHIM" "MCMIRROR_PATH=$1" \
		"MCMIRROR_LOG_FILE=$2"
	[ -z "$MCM_PRELOAD_PREFIX" ] || printf '%s\n' "ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}"
}

# step: run one command of the sequence, capturing its stdout, stderr and exit code as $out/$n.*
step() {
	local rc=0
	n=$((n + 1))
	(cd "$files" && env -u ASAN_OPTIONS "${vars[@]}" setarch "$(uname -m)" -R "$@") >"$out/$n.out" \
		2>"$out/$n.err" || rc=$?
	echo "$rc" >"$out/$n.rc"
	echo "$*" >"$out/$n.cmd"
}

# expect KEY SERVER-STATE: a line of mirror_check's key list
expect() {
	printf '%s\t0\t%s\t%s\tM\t-\n' "$srv" "$1" "$2" >>"$out/keys"
}

# check_mirror: when the run has a usable mirror, it must match the server
check_mirror() {
	[ "$mode" = shim ] || return 0
	"$MCM_BIN/mirror_check" "$mirror" "$out/keys" || fail "the mirror differs from the server after: $1"
}

# run MODE MIRROR: the whole sequence on a fresh server; MODE plain, shim or unusable
run() {
	mode=$1 mirror=$2 out=$MCM_TMP/run-${1:0:1} n=0
	mkdir "$out"
	mapfile -t vars < <(shim_env "$mirror" "$out/shim.log")
	[ "$mode" != plain ] || vars=("${vars[@]/#?/X}") # the same sizes, names that mean nothing
	mc_kill S1
	mc_start S1
	assert_eq "127.0.0.1:$S1_PORT" "$srv" "port of the restarted server"
	step memccp --servers="$srv" --flag=7 --expire=600 f1 f2 f3
	step memccp --servers="$srv" --binary --flag=4294967295 f4
	step memccp --servers="$srv" --add f5
	step memccp --servers="$srv" --add f1
	step memccp --servers="$srv" --replace f6
	step memcrm --servers="$srv" f2
	step memcrm --servers="$srv" --expire=10 f3
	step memctouch --servers="$srv" --expire=1200 f1
	step memctouch --servers="$srv" --expire=100 nokey
	step memccat --servers="$srv" f1 f2 f4
	for k in f1 f3 f4 f5; do expect $k P; done
	for k in f2 f6; do expect $k A; done
	check_mirror "memccp, memcrm, memctouch"
	step memcflush --servers="$srv"
	step memccp --servers="$srv" f7
	step memccat --servers="$srv" f1 f7
	for k in f1 f3 f4 f5; do expect $k A; done
	expect f7 P
	check_mirror "memcflush and memccp"
}

# (paths of equal lengths in the three runs)
run plain "$MCM_TMP/xp/mirror"
mkdir "$MCM_TMP/xs"
run shim "$MCM_TMP/xs/mirror"
touch "$MCM_TMP/xu"
run unusable "$MCM_TMP/xu/mirror"

# The hosts' own results, as checked in the plain run: the failures are the server's answers.
for i in 4 5 7 9; do
	[ "$(cat "$MCM_TMP/run-p/$i.rc")" != 0 ] || fail "step $i ($(cat "$MCM_TMP/run-p/$i.cmd")) did not fail"
done
cmp -s "$MCM_TMP/run-p/1.rc" <(echo 0) || fail "memccp failed: $(cat "$MCM_TMP/run-p/1.err")"
for mode in shim unusable; do
	for f in "$MCM_TMP/run-p/"*.out "$MCM_TMP/run-p/"*.err "$MCM_TMP/run-p/"*.rc; do
		g=$MCM_TMP/run-${mode:0:1}/${f##*/}
		cmp -s "$f" "$g" || fail "$mode: '$(cat "${f%.*}.cmd")' wrote another ${f##*.}: $(diff <(cat -v "$f") <(cat -v "$g") | head -6)"
	done
done
[ ! -s "$MCM_TMP/run-s/shim.log" ] || fail "the shim logged with a usable mirror: $(cat "$MCM_TMP/run-s/shim.log")"
log=$MCM_TMP/run-u/shim.log
[ -s "$log" ] || fail "unusable mirror: nothing in MCMIRROR_LOG_FILE"
if grep -vqF "$MCM_TMP/xu/mirror" "$log"; then
	fail "unusable mirror: a message that does not name the path: $(cat "$log")"
fi
dups=$(sed -n 's/^libmcmirror\[\([0-9]*\)\].*/\1/p' "$log" | sort | uniq -d)
[ -z "$dups" ] || fail "unusable mirror: more than one message from process $dups: $(cat "$log")"
[ ! -e "$MCM_TMP/xp" ] || fail "the plain run created a mirror"
echo "PASS"
