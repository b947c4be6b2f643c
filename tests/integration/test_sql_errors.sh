#!/bin/bash
# test_sql_errors.sh pg|my - what `follow --to URL` says when it cannot ship: a bad URL, a server that
# is not there, a wrong password, no schema (without --create), a schema of an unknown version, and a
# statement the database refuses (permission denied). Each exits 1 with "mcmirror: follow: URL: the
# database's own reason", never shows a password, and leaves the position where it was; once the
# cause is gone the same command ships.
. "$MCM_HARNESS/lib.sh" || exit 1
. "$MCM_HARNESS/sql.sh" || exit 1
DB=${1:?pg or my}
need_sql "$DB"

M=$MCM_TMP/m
"$MCM_BIN/sql_fill" "$M" 127.0.0.1:11211 set:a=1 set:b=2 || fail "fill"
sql_start "$DB" D
URL=$(eval "echo \$D_URL")
DIR=$(eval "echo \$D_DIR")

# expect_fail WHAT PATTERN URL [ARGS...]: exit 1, one message matching PATTERN, no password shown
expect_fail() {
	local what=$1 pattern=$2 url=$3 rc=0
	shift 3
	follow_to "$M" "$url" --once "$@" >"$MCM_TMP/out" 2>"$MCM_TMP/err" || rc=$?
	assert_eq "$rc" 1 "$what: exit status ($(cat "$MCM_TMP/err"))"
	grep -Eq "$pattern" "$MCM_TMP/err" || fail "$what: message: $(cat "$MCM_TMP/err")"
	! grep -q -e secret -e hunter2 "$MCM_TMP/err" || fail "$what: a password in the message: $(cat "$MCM_TMP/err")"
}

if [ "$DB" = pg ]; then
	expect_fail "bad URL" '^mcmirror: follow: postgresql://\[x: .* in URI: "postgresql://\[x"$' 'postgresql://[x'
	expect_fail "bad URL with a password" '^mcmirror: follow: postgresql://u@\[x: .* in URI: "postgresql://u@\[x"$' 'postgresql://u:hunter2@[x'
	expect_fail "no server" "^mcmirror: follow: postgresql:///cache\?host=$MCM_TMP/none&port=5432&user=app: .*No such file or directory" \
		"postgresql:///cache?host=$MCM_TMP/none&port=5432&user=app"
	printf '*:*:cache:app:wrong\n' >"$MCM_TMP/badpass"
	chmod 600 "$MCM_TMP/badpass"
	PGPASSFILE=$MCM_TMP/badpass expect_fail "wrong password" \
		'^mcmirror: follow: postgresql:///cache\?host=.*&user=app: FATAL: password authentication failed for user "app"; password retrieved from file ".*/badpass"$' "$URL"
	# a password in the URL itself is never shown
	expect_fail "password in the URL" \
		"^mcmirror: follow: postgresql://app@/cache\?host=$DIR/sock&port=5432: FATAL: password authentication failed" \
		"postgresql://app:hunter2@/cache?host=$DIR/sock&port=5432&password=hunter2"
	missing='no table mcmirror_meta: not an mcmirror store \(create the schema with .mcmirror follow --create.\)'
	denied='ERROR: permission denied for table mcmirror_items'
	revoke="REVOKE INSERT, UPDATE ON mcmirror_items FROM app"
	grant="GRANT INSERT, UPDATE ON mcmirror_items TO app"
	owner="ALTER TABLE mcmirror_items OWNER TO mcmsuper; GRANT SELECT ON mcmirror_items TO app"
else
	expect_fail "bad URL" '^mcmirror: follow: mysql://app@localhost: no database' 'mysql://app@localhost'
	expect_fail "unknown parameter" "unknown parameter 'sslmode'" "$URL&sslmode=x"
	expect_fail "no server" "^mcmirror: follow: mysql://app@localhost/cache\?socket=$MCM_TMP/none.*: ERROR 2002 \(HY000\): Can't connect to local server through socket '$MCM_TMP/none'" \
		"mysql://app@localhost/cache?socket=$MCM_TMP/none"
	printf '[client]\npassword=wrong\n' >"$MCM_TMP/bad.cnf"
	expect_fail "wrong password" "^mcmirror: follow: mysql://app@localhost/cache.*: ERROR 1045 \(28000\): Access denied for user 'app'@'localhost' \(using password: YES\)$" \
		"mysql://app@localhost/cache?socket=$DIR/sock&defaults-file=$MCM_TMP/bad.cnf"
	expect_fail "password in the URL" "^mcmirror: follow: mariadb://app@localhost/cache\?socket=$DIR/sock: ERROR 1045" \
		"mariadb://app:hunter2@localhost/cache?socket=$DIR/sock"
	missing='no table mcmirror_meta: not an mcmirror store \(create the schema with .mcmirror follow --create.\)'
	denied="ERROR 1142 \(42000\): [A-Z, ]+ command denied to user 'app'@'localhost' for table .*mcmirror_items"
	revoke="REVOKE ALL ON cache.* FROM app@localhost; GRANT SELECT, LOCK TABLES ON cache.* TO app@localhost;
		GRANT ALL ON cache.mcmirror_positions TO app@localhost; GRANT ALL ON cache.mcmirror_pools TO app@localhost;
		GRANT ALL ON cache.mcmirror_meta TO app@localhost"
	grant="GRANT ALL ON cache.* TO app@localhost"
	owner=
fi

# a follower named after a URL with a password (no --name): the password is in no name, no stats
if [ "$DB" = pg ]; then secret_url="postgresql://app:hunter2@/cache?host=$DIR/sock&port=5432"
else secret_url="mysql://app:hunter2@localhost/cache?socket=$DIR/sock"; fi
rc=0; "$MCM_TOOL" --mirror "$M" follow --to "$secret_url" --once 2>"$MCM_TMP/err" || rc=$?
assert_eq "$rc" 1 "follow with a wrong password in the URL ($(cat "$MCM_TMP/err"))"
mdb_dump -p -s followers "$M" >"$MCM_TMP/followers" 2>&1 || fail "mdb_dump: $(cat "$MCM_TMP/followers")"
grep -q "cache" "$MCM_TMP/followers" || fail "no follower registered: $(cat "$MCM_TMP/followers")"
! grep -q hunter2 "$MCM_TMP/err" "$MCM_TMP/followers" || fail "a password kept: $(cat "$MCM_TMP/err" "$MCM_TMP/followers")"

expect_fail "no schema" "$missing" "$URL"
follow_to "$M" "$URL" --once --create >/dev/null 2>"$MCM_TMP/err" || fail "--create: $(cat "$MCM_TMP/err")"
pos=$(sql_q "$DB" D "SELECT position FROM mcmirror_positions")
assert_eq "$pos" 2 "position after the first shipment"

# an unknown schema version is refused, by the follower and by nothing else
sql_q "$DB" D "UPDATE mcmirror_meta SET value = '99' WHERE name = 'schema_version'"
expect_fail "unknown version" "mcmirror_meta says schema version '99', this mcmirror knows version 1: refused" "$URL"
expect_fail "unknown version, --create" "mcmirror_meta says schema version '99'" "$URL" --create
sql_q "$DB" D "UPDATE mcmirror_meta SET value = '1' WHERE name = 'schema_version'"

# a statement the database refuses: clear error, position kept; allowed again: shipped
"$MCM_BIN/sql_fill" "$M" 127.0.0.1:11211 set:c=3 del:a || fail "fill"
[ -z "$owner" ] || sql_q "$DB" D "$owner"
sql_q "$DB" D "$revoke"
expect_fail "permission denied" "$denied" "$URL"
assert_eq "$(sql_q "$DB" D "SELECT position FROM mcmirror_positions")" 2 "position after a refused batch"
assert_eq "$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items WHERE state = 'live'")" 2 "rows after a refused batch"
sql_q "$DB" D "$grant"
follow_to "$M" "$URL" --once >"$MCM_TMP/out" 2>"$MCM_TMP/err" || fail "after the grant: $(cat "$MCM_TMP/err")"
assert_eq "$(sql_q "$DB" D "SELECT position FROM mcmirror_positions")" 4 "position after the grant"
assert_eq "$(sql_q "$DB" D "SELECT COUNT(*) FROM mcmirror_items WHERE state = 'live'")" 2 "live rows after the grant"
assert_eq "$(sql_q "$DB" D "SELECT state FROM mcmirror_items WHERE item_key = 'a'")" deleted "the deletion"
echo PASS
