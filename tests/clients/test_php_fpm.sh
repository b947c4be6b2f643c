#!/bin/bash
# test_php_fpm.sh - real php-fpm (Debian's php8.2-fpm) under the shim, its session handler driven by
# real FastCGI requests (cgi-fcgi, Debian's libfcgi-bin): users logged in before memcached crashed are
# still logged in after the restart and `mcmirror replay`.
#
# php-fpm runs in the foreground with a pool of 4 workers (pm static) on a unix socket in the test's
# temp dir, session.save_handler=memcached on one server. Its master and every worker overwrite the
# argv/environment block with their process titles ("php-fpm: pool mcm"): a shim that kept pointers
# into it lost MCMIRROR_PATH there. 40 users log in, spread over the workers; the same session ids
# are viewed (the reference); memcached is killed (-9) and started empty; the sessions are gone, the
# replay puts them back, and each id finds exactly the data it had.
. "$MCM_HARNESS/lib.sh" || exit 1
need_php_memcached
FPM=$(command -v php-fpm8.2 || true)
[ -x "$FPM" ] || FPM=/usr/sbin/php-fpm8.2
[ -x "$FPM" ] || skip "no php-fpm8.2 (Debian package php-fpm)"
command -v cgi-fcgi >/dev/null || skip "no cgi-fcgi (Debian package libfcgi-bin)"
app=$(cd "$(dirname "$0")" && pwd)/php_fpm_session.php
run=$MCM_TMP/run # the mirror and the shim's log: written by the workers
mirror=$run/mirror
sock=$MCM_TMP/fpm.sock
mkdir "$run"
mc_start S1

cat >"$MCM_TMP/fpm.conf" <<CONF
[global]
pid = $MCM_TMP/fpm.pid
error_log = $MCM_TMP/fpm.log
daemonize = no
[mcm]
listen = $sock
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_value[session.save_handler] = memcached
php_admin_value[session.save_path] = 127.0.0.1:$S1_PORT
php_admin_value[session.use_strict_mode] = 0
php_admin_value[display_errors] = stderr
CONF
if [ "$(id -u)" = 0 ]; then
	printf 'user = nobody\ngroup = nogroup\n' >>"$MCM_TMP/fpm.conf"
	chmod 755 "$MCM_TMP"
	chown nobody:nogroup "$run"
	app=$(readable_copy "$app") # the workers (nobody) read the page
	as_root=-R
fi

# exec: $! is php-fpm itself, which the test and the harness's cleanup stop (without it they killed the
# subshell running under_shim, and php-fpm and its workers outlived every run)
MCMIRROR_LOG_FILE=$run/shim.log under_shim "$mirror" exec "$FPM" -F -y "$MCM_TMP/fpm.conf" ${as_root:-} \
	>"$MCM_TMP/fpm.out" 2>&1 &
fpm=$!
MCM_PIDS+=("$fpm")
for _ in $(seq 1 100); do
	[ -S "$sock" ] && break
	kill -0 "$fpm" 2>/dev/null || fail "php-fpm did not start: $(cat "$MCM_TMP/fpm.out" "$MCM_TMP/fpm.log" 2>/dev/null)"
	sleep 0.1
done
[ -S "$sock" ] || fail "php-fpm did not open $sock: $(cat "$MCM_TMP/fpm.log" 2>/dev/null)"

# request QUERY: one FastCGI request to the page; prints the response body
request() {
	local out
	out=$(REQUEST_METHOD=GET SCRIPT_FILENAME=$app SCRIPT_NAME=/app.php QUERY_STRING=$1 \
		cgi-fcgi -bind -connect "$sock") || fail "FastCGI request '$1' failed: $out"
	printf '%s\n' "$out" | sed '1,/^\r\?$/d'
}

users=$(seq -f 'u%02g' 0 39)
for u in $users; do
	request "op=login&sid=sess-$u-0001&user=$u" >"$MCM_TMP/login-$u" || fail "login of $u"
	grep -q "^login sess-$u-0001" "$MCM_TMP/login-$u" || fail "login of $u: $(cat "$MCM_TMP/login-$u")"
done
workers=$(cat "$MCM_TMP"/login-* | sed -n 's/^pid //p' | sort -u | wc -l)
[ "$workers" -ge 2 ] || fail "the logins were served by $workers worker(s); expected several"
view_all() {
	local u
	for u in $users; do
		request "op=view&sid=sess-$u-0001" | grep -v '^pid '
	done
}
view_all >"$MCM_TMP/before"
grep -c '"user":"u' "$MCM_TMP/before" | grep -qx 40 || fail "not every user is logged in before the crash"

mc_kill S1
mc_start S1
"$MCM_TOOL" --mirror "$mirror" replay --servers "127.0.0.1:$S1_PORT" 2>"$MCM_TMP/replay.err" ||
	fail "replay failed: $(cat "$MCM_TMP/replay.err")"
grep -q "replayed 40, .*failed 0" "$MCM_TMP/replay.err" ||
	fail "replay should write the 40 sessions: $(cat "$MCM_TMP/replay.err") (php-fpm: $(grep -i mcmirror "$MCM_TMP/fpm.log" | head -3))"
view_all >"$MCM_TMP/after"
cmp -s "$MCM_TMP/before" "$MCM_TMP/after" ||
	fail "sessions after the crash and replay differ from before: $(diff "$MCM_TMP/before" "$MCM_TMP/after" | head -5)"
[ ! -s "$run/shim.log" ] || fail "the shim logged: $(cat "$run/shim.log")"
kill "$fpm" 2>/dev/null || true
wait "$fpm" 2>/dev/null || true
! pgrep -f "php-fpm: master process \($MCM_TMP/fpm.conf\)" >/dev/null || fail "php-fpm outlived the test"
echo "PASS"
