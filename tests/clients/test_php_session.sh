#!/bin/bash
# test_php_session.sh - PHP's memcached session handler, unmodified, under the shim: users logged in
# before memcached crashed are still logged in after the restart and `mcmirror replay`.
#
# php_session.php plays the requests (login, view, logout, session_regenerate_id) with the handler's
# defaults: binary protocol, consistent hashing, namespace memc.sess.key., locking, lazy writes.
# 1. One server: the requests run once without the shim and once under it, each against a fresh
#    server; their stdout and exit codes must be identical. memcached is killed (-9) and started
#    empty on the same port; the sessions are gone, `mcmirror replay` puts them back; the same
#    session ids (checked with session.use_strict_mode=1: an id memcached does not know is refused)
#    find the data they had before the crash, byte for byte; logged-out and regenerated-away ids
#    stay empty; `mcmirror verify` finds nothing different.
# 2. Two servers in save_path: 32 users log in; both servers are killed and restarted empty; after
#    the replay every session is on the server where it was before (where the handler looks: its
#    consistent hashing over the ports of this run) and every user finds their data.
# PHP loads extensions with RTLD_DEEPBIND, which a sanitizer runtime refuses (google/sanitizers#611):
# in a sanitizer build this test is skipped.
. "$MCM_HARNESS/lib.sh" || exit 1
need_php_memcached
app=$(dirname "$0")/php_session.php
mirror=$MCM_TMP/mirror

# php SAVE_PATH ARGS...: one request of the application
php() {
	local path=$1
	shift
	"$PHP" -d session.save_handler=memcached -d session.save_path="$path" \
		-d session.use_strict_mode="${STRICT:-0}" "$app" "$@"
}

# session_key SID: the key the handler stores session SID under
session_key() {
	echo "memc.sess.key.$1"
}

# raw_get PORT KEY: the value memcached holds for KEY (empty when it holds none)
raw_get() {
	mc_cmd "$1" "get $2\r\nquit\r\n" | sed -n '2p' | tr -d '\r'
}

# requests DIR WRAPPER...: the write phase against S1, each request run through WRAPPER (plain or
# under_shim MIRROR); one file per request's stdout and exit code
requests() {
	local dir=$1 n=0 rc
	shift
	mkdir -p "$dir"
	for req in "login sess-alice-0001 alice" "login sess-bob-0002 bob" "view sess-alice-0001" \
		"logout sess-bob-0002" "login sess-carol-0003 carol" "regen sess-carol-0003 $dir/carol.sid" \
		"login sess-dave-0004 dave"; do
		n=$((n + 1))
		rc=0
		# shellcheck disable=SC2086 # the request's words
		"$@" php "127.0.0.1:$S1_PORT" $req >"$dir/$n.out" 2>"$dir/$n.err" || rc=$?
		echo "$rc" >"$dir/$n.rc"
		[ "$rc" = 0 ] || fail "request '$req' failed ($1): $(cat "$dir/$n.err")"
	done
}

# --- 1. one server ------------------------------------------------------------------------------
mc_start S1
requests "$MCM_TMP/plain" plain
mc_kill S1
mc_start S1
requests "$MCM_TMP/shim" under_shim "$mirror"
for f in "$MCM_TMP/plain/"*.out "$MCM_TMP/plain/"*.rc; do
	cmp -s "$f" "$MCM_TMP/shim/${f##*/}" ||
		fail "request ${f##*/}: another ${f##*.} under the shim: $(diff "$f" "$MCM_TMP/shim/${f##*/}" | head -4)"
done
carol=$(cat "$MCM_TMP/shim/carol.sid")
[ -n "$carol" ] && [ "$carol" != sess-carol-0003 ] || fail "session_regenerate_id gave no new id: '$carol'"

# What the users see before the crash (the reference), with ids checked by the handler.
for sid in sess-alice-0001 sess-bob-0002 sess-carol-0003 "$carol" sess-dave-0004; do
	STRICT=1 php "127.0.0.1:$S1_PORT" view "$sid" >>"$MCM_TMP/before" || fail "view $sid failed before the crash"
done
grep -q '^{"user":"alice","roles":\["reader","writer"\],"cart":{"sku-1":2,"sku-7":1},' "$MCM_TMP/before" ||
	fail "alice's session is not as the login stored it: $(head -1 "$MCM_TMP/before")"
assert_eq "$(sed -n 2p "$MCM_TMP/before" | cut -d' ' -f1)" "[]" "bob's session after his logout"
assert_eq "$(sed -n 3p "$MCM_TMP/before" | cut -d' ' -f1)" "[]" "carol's old session id after regeneration"
grep -q '"user":"carol".*"regenerated":true' <(sed -n 4p "$MCM_TMP/before") ||
	fail "carol's regenerated session: $(sed -n 4p "$MCM_TMP/before")"

# The crash: memcached comes back empty.
mc_kill S1
mc_start S1
[ -z "$(raw_get "$S1_PORT" "$(session_key sess-alice-0001)")" ] || fail "the restarted memcached is not empty"
"$MCM_TOOL" --mirror "$mirror" replay --servers "127.0.0.1:$S1_PORT" 2>"$MCM_TMP/replay.err" ||
	fail "replay failed: $(cat "$MCM_TMP/replay.err")"
grep -q "replayed 3, .*failed 0" "$MCM_TMP/replay.err" ||
	fail "replay should write the 3 live sessions (alice, carol's new id, dave): $(cat "$MCM_TMP/replay.err")"
# (before the views below: reading a session touches it on the server, without the shim here, so the
# server's TTLs then run ahead of the mirror's by however long this loaded machine took since the writes)
"$MCM_TOOL" --mirror "$mirror" verify --servers "127.0.0.1:$S1_PORT" 2>"$MCM_TMP/verify.err" ||
	fail "verify after the replay: $(cat "$MCM_TMP/verify.err")"
for sid in sess-alice-0001 sess-bob-0002 sess-carol-0003 "$carol" sess-dave-0004; do
	STRICT=1 php "127.0.0.1:$S1_PORT" view "$sid" >>"$MCM_TMP/after" || fail "view $sid failed after the replay"
done
cmp -s "$MCM_TMP/before" "$MCM_TMP/after" ||
	fail "the sessions after the crash and replay differ from before: $(diff "$MCM_TMP/before" "$MCM_TMP/after")"

# --- 2. two servers, consistent hashing ---------------------------------------------------------
mirror2=$MCM_TMP/mirror2
mc_start S2
mc_start S3
path="127.0.0.1:$S2_PORT,127.0.0.1:$S3_PORT"
users=$(seq -f 'user%02g' 0 31)
for u in $users; do
	under_shim "$mirror2" php "$path" login "sid-$u" "$u" >/dev/null || fail "login of $u failed under the shim"
done
# where each session lives: S2 or S3
placement() {
	local u
	for u in $users; do
		if [ -n "$(raw_get "$S2_PORT" "$(session_key "sid-$u")")" ]; then
			echo "$u S2"
		elif [ -n "$(raw_get "$S3_PORT" "$(session_key "sid-$u")")" ]; then
			echo "$u S3"
		else
			echo "$u none"
		fi
	done
}
placement >"$MCM_TMP/placed-before"
grep -q ' S2$' "$MCM_TMP/placed-before" && grep -q ' S3$' "$MCM_TMP/placed-before" ||
	fail "the handler did not spread 32 sessions over both servers: $(sort -k2 "$MCM_TMP/placed-before" | uniq -c -f1)"
! grep -q ' none$' "$MCM_TMP/placed-before" || fail "sessions missing before the crash: $(grep none "$MCM_TMP/placed-before")"
mc_kill S2
mc_kill S3
mc_start S2
mc_start S3
"$MCM_TOOL" --mirror "$mirror2" replay --servers "$path" 2>"$MCM_TMP/replay2.err" ||
	fail "replay to two servers failed: $(cat "$MCM_TMP/replay2.err")"
grep -q "replayed 32, .*failed 0" "$MCM_TMP/replay2.err" || fail "replay to two servers: $(cat "$MCM_TMP/replay2.err")"
placement >"$MCM_TMP/placed-after"
cmp -s "$MCM_TMP/placed-before" "$MCM_TMP/placed-after" ||
	fail "sessions replayed onto other servers than the handler's: $(diff "$MCM_TMP/placed-before" "$MCM_TMP/placed-after" | head)"
for u in $users; do
	out=$(STRICT=1 php "$path" view "sid-$u") || fail "view of $u failed after the replay"
	case $out in
	"{\"user\":\"$u\","*) ;;
	*) fail "$u is no longer logged in after the replay: '$out'" ;;
	esac
done
echo "PASS"
