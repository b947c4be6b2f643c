# sql.sh - throwaway PostgreSQL and MariaDB servers for the external-store tests (source after lib.sh).
#
# Each server lives in $MCM_TMP/<name>/, listens on a unix socket only (PostgreSQL:
# listen_addresses=''; MariaDB: --skip-networking) and is killed by mcm_cleanup. When the test runs
# as root, the servers run as an unprivileged user (nobody: PostgreSQL refuses root), in directories
# that user owns. Both get a database "cache" and a user "app" whose password ("secret") is only in a
# file the client reads (a .pgpass / an option file), never on a command line.
#
#   pg_start NAME    PostgreSQL (initdb + pg_ctl); sets NAME_URL (a libpq URI for user app),
#                    NAME_DIR, and exports PGPASSFILE. Tests run it without fsync; PG_EXTRA_CONF
#                    (lines of postgresql.conf) overrides any setting (the benchmark: durable ones)
#   pg_stop_now NAME pg_ctl stop -m immediate (a crash: no checkpoint)
#   pg_again NAME    start it again on the same socket
#   pg_sql NAME SQL  run SQL as the superuser in database cache (psql -At: unaligned, tuples only)
#   my_start NAME    MariaDB (mariadb-install-db + mariadbd); sets NAME_URL (mysql://app@localhost/cache
#                    with socket= and defaults-file= of an option file holding the password), NAME_DIR,
#                    NAME_PID. MY_FLUSH_AT_COMMIT (default 2), MY_LOG_SIZE (8M), MY_POOL_SIZE (64M):
#                    InnoDB's settings (the benchmark: 1, 256M, 256M)
#   my_kill NAME     kill -9 mariadbd and wait for it
#   my_again NAME    start it again on the same socket
#   my_sql NAME SQL  run SQL as root in database cache (mariadb -N -B)
# need_pg / need_mariadb skip the test (exit 77) when the server binaries are not installed.

SQL_USER=
SQL_PG_NAMES=()
if [ "$(id -u)" = 0 ]; then
	SQL_USER=nobody
	chmod 711 "$MCM_TMP" # the server's user must reach its directory
fi

# Run a server-side command as the server's user; exec_as_sql_user replaces the (sub)shell with it,
# so that "(exec_as_sql_user server ...) &" leaves the server's own pid in $!.
as_sql_user() {
	(exec_as_sql_user "$@")
}

exec_as_sql_user() {
	if [ -n "$SQL_USER" ]; then
		HOME=/ exec setpriv --reuid="$SQL_USER" --regid="$(id -g "$SQL_USER")" --clear-groups -- "$@"
	else
		exec "$@"
	fi
}

# A directory the server's user owns.
sql_dir() {
	local dir=$MCM_TMP/$1
	mkdir -p "$dir"
	[ -z "$SQL_USER" ] || chown "$SQL_USER" "$dir"
	echo "$dir"
}

PG_BIN=
need_pg() {
	local d
	for d in "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")" /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			PG_BIN=$d
			break
		fi
	done
	[ -n "$PG_BIN" ] || skip "no PostgreSQL server binaries (Debian package postgresql)"
	PSQL=$(command -v psql || echo "$PG_BIN/psql")
	[ -x "$PSQL" ] || skip "no psql (Debian package postgresql-client)"
}

pg_start() {
	local name=$1 dir log
	need_pg
	dir=$(sql_dir "pg-$name")
	log=$dir/server.log
	as_sql_user "$PG_BIN/initdb" -D "$dir/data" -U mcmsuper -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		fail "initdb: $(tail -5 "$dir/initdb.log")"
	mkdir -p "$dir/sock" && [ -z "$SQL_USER" ] || chown "$SQL_USER" "$dir/sock"
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$dir/sock'
		port = 5432
		fsync = off
		full_page_writes = off
		shared_buffers = 32MB
		max_connections = 30
		logging_collector = off
		${PG_EXTRA_CONF:-}
	EOF
	cat >"$dir/data/pg_hba.conf" <<-EOF
		local all mcmsuper trust
		local all all scram-sha-256
	EOF
	eval "${name}_DIR=$dir"
	SQL_PG_NAMES+=("$name")
	pg_again "$name"
	pg_sql_db "$name" postgres "CREATE ROLE app LOGIN PASSWORD 'secret'" >/dev/null
	pg_sql_db "$name" postgres "CREATE DATABASE cache OWNER app" >/dev/null
	printf '*:*:cache:app:secret\n' >"$dir/pgpass"
	chmod 600 "$dir/pgpass"
	export PGPASSFILE=$dir/pgpass
	eval "${name}_URL='postgresql:///cache?host=$dir/sock&port=5432&user=app'"
}

pg_again() {
	local dir
	dir=$(eval "echo \$${1}_DIR")
	as_sql_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1 ||
		fail "pg_ctl start: $(tail -5 "$dir/server.log")"
	MCM_PIDS+=("$(head -1 "$dir/data/postmaster.pid")")
}

pg_stop_now() {
	local dir
	dir=$(eval "echo \$${1}_DIR")
	as_sql_user "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

pg_sql_db() {
	local dir
	dir=$(eval "echo \$${1}_DIR")
	"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h "$dir/sock" -p 5432 -U mcmsuper -d "$2" -c "$3"
}

pg_sql() {
	pg_sql_db "$1" cache "$2"
}

MARIADBD=
need_mariadb() {
	MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
	MARIADB_INSTALL_DB=$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)
	MARIADB=$(command -v mariadb || echo /usr/bin/mariadb)
	[ -x "$MARIADBD" ] && [ -x "$MARIADB_INSTALL_DB" ] || skip "no MariaDB server binaries (Debian package mariadb-server)"
	[ -x "$MARIADB" ] || skip "no mariadb client (Debian package mariadb-client)"
}

my_start() {
	local name=$1 dir
	need_mariadb
	dir=$(sql_dir "my-$name")
	mkdir -p "$dir/tmp" && [ -z "$SQL_USER" ] || chown "$SQL_USER" "$dir/tmp" # (a shared /tmp: names collide)
	TMPDIR=$dir/tmp as_sql_user "$MARIADB_INSTALL_DB" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" \
		--auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve --innodb-log-file-size=8M >"$dir/install.log" 2>&1 || fail "mariadb-install-db: $(grep -i -m5 error "$dir/install.log")"
	eval "${name}_DIR=$dir"
	my_again "$name"
	my_sql_db "$name" mysql "CREATE DATABASE cache; CREATE USER app@localhost IDENTIFIED BY 'secret';
		GRANT ALL ON cache.* TO app@localhost;"
	printf '[client]\npassword=secret\n' >"$dir/client.cnf"
	chmod 600 "$dir/client.cnf"
	eval "${name}_URL='mysql://app@localhost/cache?socket=$dir/sock&defaults-file=$dir/client.cnf'"
}

my_again() {
	local name=$1 dir pid i
	dir=$(eval "echo \$${name}_DIR")
	(exec_as_sql_user "$MARIADBD" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$dir/sock" --pid-file="$dir/pid" \
		--skip-networking --log-error="$dir/server.log" --innodb-buffer-pool-size=${MY_POOL_SIZE:-64M} \
		--innodb-flush-log-at-trx-commit=${MY_FLUSH_AT_COMMIT:-2} --innodb-log-file-size=${MY_LOG_SIZE:-8M} --skip-log-bin --max-connections=30 >/dev/null 2>&1) &
	pid=$!
	MCM_PIDS+=("$pid")
	eval "${name}_PID=$pid"
	for i in $(seq 1 600); do
		"$MARIADB" --no-defaults -S "$dir/sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "mariadbd did not start: $(tail -5 "$dir/server.log")"
}

my_kill() {
	local pid
	pid=$(eval "echo \$${1}_PID")
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

my_sql_db() {
	local dir
	dir=$(eval "echo \$${1}_DIR")
	"$MARIADB" --no-defaults -S "$dir/sock" -uroot -N -B "$2" -e "$3"
}

my_sql() {
	my_sql_db "$1" cache "$2"
}

# At exit: PostgreSQL servers stopped with pg_ctl (it also removes their shared memory), then lib.sh's
# cleanup (which kills every other process the test started).
sql_cleanup() {
	local name
	for name in "${SQL_PG_NAMES[@]}"; do
		pg_stop_now "$name"
	done
	mcm_cleanup
}
trap sql_cleanup EXIT

# sql_export pg|my NAME: the store's rows in sql_check.py's EXPORT form.
sql_export() {
	case $1 in
	pg) pg_sql "$2" "COPY (SELECT lpad(to_hex(pool), 16, '0'), state, wtime_us, origin, seq, flags, exptime, ns_len,
		COALESCE('+' || encode(grp, 'hex'), '-'), encode(item_key, 'hex'), COALESCE('=' || encode(value, 'hex'), '-')
		FROM mcmirror_items) TO STDOUT WITH (DELIMITER ' ')" ;;
	my) my_sql "$2" "SELECT LOWER(LPAD(HEX(pool), 16, '0')), state, wtime_us, origin, seq, flags, exptime, ns_len,
		IF(grp IS NULL, '-', CONCAT('+', LOWER(HEX(grp)))), LOWER(HEX(item_key)),
		IF(value IS NULL, '-', CONCAT('=', LOWER(HEX(value)))) FROM mcmirror_items" ;;
	esac
}

# sql_start pg|my NAME, sql_q pg|my NAME SQL, sql_crash pg|my NAME, sql_again pg|my NAME: the same
# steps for either server (a test runs once per backend).
sql_start() { if [ "$1" = pg ]; then pg_start "$2"; else my_start "$2"; fi; }
sql_q() { if [ "$1" = pg ]; then pg_sql "$2" "$3"; else my_sql "$2" "$3"; fi; }
sql_crash() { if [ "$1" = pg ]; then pg_stop_now "$2"; else my_kill "$2"; fi; }
sql_again() { if [ "$1" = pg ]; then pg_again "$2"; else my_again "$2"; fi; }
need_sql() { if [ "$1" = pg ]; then need_pg; else need_mariadb; fi; }

# follow_to MIRROR URL [follow options...]: `mcmirror --mirror MIRROR follow --to URL --name sql ...`.
follow_to() {
	local mirror=$1 url=$2
	shift 2
	"$MCM_TOOL" --mirror "$mirror" follow --to "$url" --name sql "$@"
}

# follow_once MIRROR URL [options...]: --once until it succeeds (at most 5 times: a follower killed in
# the middle of a commit can have its transaction finished by the database after the next one read
# the position, which then says so and exits 1; the next run goes on from the right place).
follow_once() {
	local i
	for i in 1 2 3 4 5; do
		follow_to "$@" --once && return 0
		sleep 0.2
	done
	return 1
}

# follow_bg ERRFILE MIRROR URL [options]: follow in the background (stderr appended to ERRFILE);
# FOLLOW_PID is the follower's own pid (to kill -9 it), and the test's cleanup kills it too.
follow_bg() {
	local err=$1 mirror=$2 url=$3
	shift 3
	(exec "$MCM_TOOL" --mirror "$mirror" follow --to "$url" --name sql "$@" >/dev/null 2>>"$err") &
	FOLLOW_PID=$!
	MCM_PIDS+=("$FOLLOW_PID")
}

# sql_register MIRROR: the follower "sql" registered before the application writes (the mirror created).
sql_register() {
	"$MCM_BIN/sql_register" "$1" sql
}

# sql_origin MIRROR: the mirror's origin id (meta "origin": the value after the key's hex line).
sql_origin() {
	mdb_dump -s meta "$1" | awk 'found { sub(/^ /, ""); print; exit } $1 == "6f726967696e" { found = 1 }'
}

SQL_CHECK=$MCM_HARNESS/../integration/sql_check.py
