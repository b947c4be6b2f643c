#!/bin/bash
# test_ops_cli.sh - the command line as operators type it (issue 11 items 9, 10 and the stdout part
# of 11): global options after the command name; one error line (no getopt line, no path of the
# program) for a bad option, a missing value or an ambiguous one; `help CMD` is `CMD --help`;
# `dump -`; --pool by a unique prefix of its id; server lists with IPv6, a relative socket path and a
# bare host, duplicates refused, a bad configuration string named without libmemcached's pointer and
# source line; help, --help, -V and a command's --help exit 1 when stdout cannot be written; the
# warm-up script waits for the servers of a configuration string.
. "$MCM_HARNESS/lib.sh" || exit 1
m=$MCM_TMP/m
"$MCM_BIN/mkmirror" "$m" 127.0.0.1:11211 200 20 || fail "mkmirror"
tool=$(readlink -f "$MCM_TOOL")

# Global options after the command name, alone or mixed with the command's.
"$tool" stats --mirror "$m" >"$MCM_TMP/s1" 2>"$MCM_TMP/err" || fail "stats --mirror DIR: $(cat "$MCM_TMP/err")"
grep -qx "mirror.path: $m" "$MCM_TMP/s1" || fail "stats --mirror DIR read another mirror: $(head -1 "$MCM_TMP/s1")"
"$tool" stats -q -m "$m" >/dev/null || fail "stats -q -m DIR"
"$tool" replay --mirror "$m" --servers 127.0.0.1:11211 -n -v 2>"$MCM_TMP/err" || fail "replay --mirror ... -n -v: $(cat "$MCM_TMP/err")"
grep -q "dry run: would replay 200," "$MCM_TMP/err" || fail "replay with options after the command: $(cat "$MCM_TMP/err")"
"$tool" replay --mirror "$m" --servers 127.0.0.1:11211 -n 2>"$MCM_TMP/err0" || fail "replay --mirror ... -n"
[ "$(wc -l <"$MCM_TMP/err")" -gt "$(wc -l <"$MCM_TMP/err0")" ] || fail "replay -v after the command did not make it verbose: $(cat "$MCM_TMP/err")"
"$tool" dump - --mirror="$m" >"$MCM_TMP/d1" || fail "dump - --mirror=DIR"
"$MCM_BIN/tools_dumpcheck" check "$m" "$MCM_TMP/d1" >/dev/null || fail "'dump -' is not the dump on stdout"

# One error line, said by 'mcmirror' (not the program's path), and the hint.
bad_usage() { # EXPECTED-MESSAGE ARGS...: exit 2, the message (a prefix, with '...') and the hint on stderr
	local want=$1 rc=0 got
	shift
	"$tool" "$@" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "mcmirror $*: exit status"
	assert_eq "$(wc -l <"$MCM_TMP/err")" 2 "mcmirror $*: lines on stderr: $(cat "$MCM_TMP/err")"
	got=$(head -n 1 "$MCM_TMP/err")
	[ "${want%...}" = "$want" ] || got=${got:0:$((${#want} - 3))}...
	assert_eq "$got" "$want" "mcmirror $*: message"
	grep -q "^try 'mcmirror .*--help' for more information$" "$MCM_TMP/err" || fail "mcmirror $*: no hint"
	! grep -qF "$tool" "$MCM_TMP/err" || fail "mcmirror $*: the program's path in a message"
	[ ! -s "$MCM_TMP/out" ] || fail "mcmirror $*: something on stdout"
}
bad_usage "mcmirror: stats: unknown option '--bogus'" stats --bogus
bad_usage "mcmirror: stats: unknown option '-x'" stats -x
bad_usage "mcmirror: replay: option '--servers' needs a value" replay --servers
bad_usage "mcmirror: dump: option '-f' needs a value" dump -f
bad_usage "mcmirror: stats: option '--help' takes no value" stats --help=yes
bad_usage "mcmirror: verify: option '--s' is ambiguous: it starts..." verify --s x
bad_usage "mcmirror: unknown option '--bogus'" --bogus stats
bad_usage "mcmirror: option '--mirror' needs a value" --mirror
bad_usage "mcmirror: unknown command 'nope'" help nope

# help CMD is CMD --help.
"$tool" help replay >"$MCM_TMP/h1" || fail "help replay"
"$tool" replay --help >"$MCM_TMP/h2" || fail "replay --help"
cmp -s "$MCM_TMP/h1" "$MCM_TMP/h2" || fail "'help replay' differs from 'replay --help'"

# stdout that cannot be written: exit 1, said once.
for args in "help" "--help" "-V" "stats --help" "help load"; do
	rc=0; "$tool" $args >/dev/full 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "mcmirror $args >/dev/full: exit status"
	grep -q "cannot write to stdout: No space left on device" "$MCM_TMP/err" || fail "mcmirror $args >/dev/full said: $(cat "$MCM_TMP/err")"
done

# --pool: a unique prefix of the id as printed; an ambiguous one lists the pools.
"$MCM_BIN/tools_fill" "$MCM_TMP/five" >"$MCM_TMP/expect" || fail "tools_fill"
ids=$(cut -d' ' -f2 "$MCM_TMP/expect")
unique=
for id in $ids; do
	for len in 1 2 3 4 5 6; do
		p=${id:0:$len}
		if [ "$(echo "$ids" | grep -c "^$p")" = 1 ]; then unique=$p; uid=$id; break 2; fi
	done
done
[ -n "$unique" ] || fail "fixture: no pool id with a unique short prefix"
"$tool" --mirror "$MCM_TMP/five" stats --pool "$unique" >"$MCM_TMP/s2" || fail "stats --pool $unique"
assert_eq "$(grep -c '^pool\..*\.live_items' "$MCM_TMP/s2")" 1 "--pool $unique: pools printed"
grep -q "^pool\.$uid\.live_items" "$MCM_TMP/s2" || fail "--pool $unique is not $uid"
"$tool" --mirror "$MCM_TMP/five" dump --pool "$(echo "$unique" | tr a-f A-F)" >/dev/null || fail "dump --pool PREFIX"
rc=0; "$tool" --mirror "$MCM_TMP/five" stats --pool "" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "stats --pool ''"
# two pools whose ids share a first digit, if there are: ambiguous
amb=$(echo "$ids" | cut -c1 | sort | uniq -d | head -n 1)
if [ -n "$amb" ]; then
	rc=0; "$tool" --mirror "$MCM_TMP/five" stats --pool "$amb" >/dev/null 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 2 "an ambiguous --pool: exit status"
	grep -q "pool id '$amb' is ambiguous" "$MCM_TMP/err" || fail "ambiguous --pool: $(cat "$MCM_TMP/err")"
fi

# Server lists (dry runs: nothing connects).
dry() { # EXPECTED-SERVER-NAME SERVERS
	"$tool" --mirror "$m" replay -n --servers "$2" 2>"$MCM_TMP/err" || fail "replay -n --servers '$2': $(cat "$MCM_TMP/err")"
	grep -qF "would send 200 items to '$1'" "$MCM_TMP/err" || fail "--servers '$2' is not '$1': $(cat "$MCM_TMP/err")"
}
dry "[::1]:11211" "[::1]:11211"
dry "[::1]:11211" "::1"
dry "[::1]:11300" "[::1]:11300"
dry "./mc.sock" "./mc.sock"
dry "run/mc.sock" "run/mc.sock"
dry "localhost:11211" "localhost"
dry "127.0.0.1:11211" "127.0.0.1"
"$tool" --mirror "$m" replay -n --servers "127.0.0.1:1,[::1]:2,/tmp/x.sock" --only-server ::1:2 2>/dev/null &&
	fail "--only-server ::1:2 (not a server: a bare address has no port)"
"$tool" --mirror "$m" replay -n --servers "127.0.0.1:1,[::1]:11211" --only-server ::1 2>"$MCM_TMP/err" ||
	fail "--only-server ::1: $(cat "$MCM_TMP/err")"
bad_usage "mcmirror: replay: server '127.0.0.1:11211' is listed twice" --mirror "$m" replay -n --servers 127.0.0.1:11211,127.0.0.1
bad_usage "mcmirror: replay: server '[::1]:11211' is listed twice" --mirror "$m" replay -n --servers "::1,[::1]:11211"
bad_usage "mcmirror: replay: bad server 'h:0': want host:port with a port from 1 to 65535 (an IPv6 address with a port as [address]:port)" \
	--mirror "$m" replay -n --servers h:0
bad_usage "mcmirror: replay: bad server '[::1': want [IPv6 address]:port with a port from 1 to 65535" --mirror "$m" replay -n --servers "[::1"
rc=0; "$tool" --mirror "$m" replay -n --servers "--SERVER=127.0.0.1:1 --BOGUS" 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 2 "a bad configuration string: exit status"
grep -q "^mcmirror: replay: bad configuration string '--SERVER=127.0.0.1:1 --BOGUS': syntax error" "$MCM_TMP/err" || fail "bad configuration string: $(cat "$MCM_TMP/err")"
grep -Eq "0x[0-9a-f]|context\.cc|\.cc:" "$MCM_TMP/err" && fail "libmemcached's pointer or source line in the message: $(cat "$MCM_TMP/err")"

# mcmirror-warm: a configuration string (its servers waited for), a bare host.
warm=$MCM_HARNESS/../../examples/systemd/mcmirror-warm
if [ -n "$MEMCACHED_BINARY" ] && [ -x "$MEMCACHED_BINARY" ]; then
	# (mc_start moves to another port when the one chosen cannot be had: then the script waited
	# for nothing; try again with another port)
	for try in 1 2 3; do
		port=$((20000 + RANDOM % 40000))
		MCMIRROR_TOOL=$tool MCMIRROR_WARM_WAIT=20 "$warm" "$m" "--SERVER=127.0.0.1:$port" 2>"$MCM_TMP/warm.err" &
		w=$!
		sleep 0.5
		MC_PORT=$port
		mc_start MC
		[ "$MC_PORT" = "$port" ] && break
		wait "$w" || true
		mc_stop MC
		unset MC_PORT
	done
	wait "$w" || fail "mcmirror-warm exit status"
	grep -q "replayed 200, already present 0" "$MCM_TMP/warm.err" || fail "mcmirror-warm with a configuration string: $(cat "$MCM_TMP/warm.err")"
	grep -q "accepts no connection" "$MCM_TMP/warm.err" && fail "mcmirror-warm did not wait for the configuration string's server"
else
	echo "SKIP part: no memcached: mcmirror-warm is not checked" >&2
fi
echo PASS
