/* sink_mysql.c - MariaDB (and MySQL) as a shared store of mirrors: the sink `follow --to mysql://...`
 * or `mariadb://...` ships into, and the source `replay`/`import --from` read (schema: docs/SQL.md).
 *
 * URLs: mysql://[USER@]HOST[:PORT]/DB[?param=value&...], mariadb://... the
 * same; "localhost" (or no host) means the local unix socket. Parameters:
 * socket=PATH, defaults-file=PATH (an option file read instead of the
 * default ones), defaults-group=NAME (a group read besides [client],
 * [client-server] and [client-mariadb]; default [mcmirror]). Passwords
 * belong in option files ([client] password=...); what is shown of a URL
 * never includes one.
 *
 * Writing: the batch (sqlbatch.h) goes in one transaction: the position row
 * is locked (SELECT ... FOR UPDATE), each stretch of rows goes to one
 * prepared INSERT ... ON DUPLICATE KEY UPDATE executed on arrays of rows
 * (MariaDB's COM_STMT_BULK_EXECUTE), or on a MySQL server (or with
 * MCMIRROR_MYSQL_BULK=0) in multi-row statements of up to STMT_MAX bytes;
 * rows sorted by key so that two hosts lock in the same order; the
 * assignments keep the newest write, a flush turns the origin's live rows into
 * deletions, and the position moves in the same transaction. A deadlock or
 * lock wait timeout runs the transaction again.
 */
#include <errno.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcmirror.h"
#include "sink.h"
#include "source.h"
#include "sqlbatch.h"

#define STMT_MAX (4u << 20) /* bytes of one statement, unless max_allowed_packet is smaller */
#define URL_PART 1024

/* A URL taken apart (every field percent-decoded; NULL when absent). */
struct my_url {
	char *user, *password, *host, *db, *socket, *defaults_file, *group;
	unsigned port;
};

struct my {
	MYSQL *conn;
	char *url;          /* as given (may hold a password: never shown) */
	char desc[512];
	int timeout_ms;
	unsigned err;       /* mysql_errno of the last failure */
	size_t stmt_max;
};

struct my_sink {
	struct my my;
	char origin[33];
	struct mcm_pool pool;
	const char *cmd;
	int64_t skew_us;
	int pool_saved;
	struct mcm_sql_pos known; /* the position as this sink last read or committed it */
	struct mcm_sql_txn txn;   /* the transaction, when a large batch opened it before commit */
	struct mcm_sql_batch batch;
	char *stmt;
	size_t stmt_len, stmt_cap;
	MYSQL_STMT *bulk;      /* the prepared upsert, when the server takes arrays of rows (MariaDB) */
	struct bulk_arrays *arrays;
};

/* Column arrays of one bulk execution (BULK_ROWS rows at most). */
#define BULK_ROWS 4096
struct bulk_arrays {
	uint64_t pool[BULK_ROWS], wtime[BULK_ROWS], seq[BULK_ROWS];
	int64_t exptime[BULK_ROWS];
	uint32_t flags[BULK_ROWS];
	uint16_t ns_len[BULK_ROWS];
	const char *key[BULK_ROWS], *state[BULK_ROWS], *value[BULK_ROWS], *origin[BULK_ROWS], *grp[BULK_ROWS];
	unsigned long key_len[BULK_ROWS], state_len[BULK_ROWS], value_len[BULK_ROWS], origin_len[BULK_ROWS],
		grp_len[BULK_ROWS];
	char value_ind[BULK_ROWS], grp_ind[BULK_ROWS];
	MYSQL_BIND bind[11];
};

struct my_source {
	struct my my;
	MYSQL_RES *res;
	unsigned flags;
	int64_t now;
	mcm_pool_id pool;
	char origin[33];
};

static int my_claims(const char *url)
{
	return strncmp(url, "mysql://", 8) == 0 || strncmp(url, "mariadb://", 10) == 0;
}

/* ---- URLs -------------------------------------------------------------------------------------- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A percent-decoded copy of s[0..len), or NULL (bad escape or no memory). */
static char *decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *w = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*w++ = s[i];
			continue;
		}
		hi = i + 2 < len ? hexval(s[i + 1]) : -1;
		lo = i + 2 < len ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || hi * 16 + lo == 0) { /* (no NUL inside a C string) */
			free(out);
			return NULL;
		}
		*w++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*w = '\0';
	return out;
}

static void url_free(struct my_url *u)
{
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->db);
	free(u->socket);
	free(u->defaults_file);
	free(u->group);
	memset(u, 0, sizeof *u);
}

/* One query parameter. @return 0, or -1 with why set. */
static int url_param(struct my_url *u, const char *p, size_t len, char *why, size_t size)
{
	static const char *const names[] = {"socket", "defaults-file", "defaults-group"};
	char **slots[] = {&u->socket, &u->defaults_file, &u->group};
	const char *eq = memchr(p, '=', len);

	for (size_t i = 0; eq && i < sizeof names / sizeof names[0]; i++) {
		if ((size_t)(eq - p) != strlen(names[i]) || memcmp(p, names[i], strlen(names[i])) != 0)
			continue;
		free(*slots[i]);
		if (!(*slots[i] = decode(eq + 1, len - (size_t)(eq + 1 - p))) || !**slots[i]) {
			snprintf(why, size, "bad value of parameter '%s'", names[i]);
			return -1;
		}
		return 0;
	}
	snprintf(why, size, "unknown parameter '%.*s' (known: socket, defaults-file, defaults-group)",
		 (int)(eq ? eq - p : (ptrdiff_t)len > 64 ? 64 : (int)len), p);
	return -1;
}

/* scheme://[user[:password]@][host][:port]/db[?params]. @return 0, or -1 with why set (no password in it). */
static int url_parse(const char *url, struct my_url *u, char *why, size_t size)
{
	const char *a = strstr(url, "://"), *slash, *at, *colon, *host, *q, *p;

	memset(u, 0, sizeof *u);
	if (!a)
		goto bad;
	a += 3;
	slash = a + strcspn(a, "/?#");
	if (*slash != '/') {
		snprintf(why, size, "no database: want %.*s://USER@HOST/DATABASE", (int)(a - 3 - url), url);
		return -1;
	}
	at = memrchr(a, '@', (size_t)(slash - a));
	host = at ? at + 1 : a;
	if (at) {
		colon = memchr(a, ':', (size_t)(at - a));
		if (!(u->user = decode(a, (size_t)((colon ? colon : at) - a))) ||
		    (colon && !(u->password = decode(colon + 1, (size_t)(at - colon - 1)))))
			goto bad;
	}
	if (*host == '[') { /* [v6]:port */
		const char *close = memchr(host, ']', (size_t)(slash - host));
		if (!close)
			goto bad;
		u->host = decode(host + 1, (size_t)(close - host - 1));
		colon = close + 1 < slash && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(host, ':', (size_t)(slash - host));
		u->host = decode(host, (size_t)((colon ? colon : slash) - host));
	}
	if (!u->host)
		goto bad;
	if (colon) {
		char *end;
		unsigned long port = strtoul(colon + 1, &end, 10);
		if (end != slash || port == 0 || port > 65535)
			goto bad;
		u->port = (unsigned)port;
	}
	q = slash + 1 + strcspn(slash + 1, "?#");
	if (q == slash + 1 || !(u->db = decode(slash + 1, (size_t)(q - slash - 1)))) {
		if (!u->db)
			snprintf(why, size, "no database: want %.*s://USER@HOST/DATABASE", (int)(a - 3 - url), url);
		url_free(u);
		return -1;
	}
	if (*q == '#')
		goto bad;
	for (p = *q ? q + 1 : q; *p;) {
		size_t len = strcspn(p, "&#");

		if (p[len] == '#')
			goto bad;
		if (len && url_param(u, p, len, why, size) != 0) {
			url_free(u);
			return -1;
		}
		p += len + (p[len] == '&');
	}
	if (!*u->host) {
		free(u->host);
		u->host = NULL;
	}
	return 0;
bad:
	url_free(u);
	snprintf(why, size, "not a URL of the form mysql://USER@HOST[:PORT]/DATABASE[?socket=PATH]");
	return -1;
}

/* ---- the connection ------------------------------------------------------------------------------ */

static void my_close(struct my *m)
{
	if (m->conn)
		mysql_close(m->conn);
	m->conn = NULL;
}

/* Did the last error lose the connection? */
static int conn_lost(unsigned err)
{
	return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST || err == CR_CONNECTION_ERROR ||
	       err == CR_CONN_HOST_ERROR || err == CR_SERVER_LOST_EXTENDED || err == ER_CONNECTION_KILLED ||
	       err == ER_SERVER_SHUTDOWN || err == CR_COMMANDS_OUT_OF_SYNC;
}

/* why = "<desc>: ERROR n (state): message"; a lost connection is dropped. @return -1. */
static int my_error(struct my *m, char *why, size_t size)
{
	if (!m->conn) {
		mcm_sql_why(why, size, m->desc, "not connected");
		return -1;
	}
	m->err = mysql_errno(m->conn);
	mcm_sql_why(why, size, m->desc, "ERROR %u (%s): %s", m->err, mysql_sqlstate(m->conn), mysql_error(m->conn));
	mcm_sql_scrub(why, size, m->url);
	if (conn_lost(m->err))
		my_close(m);
	return -1;
}

/* The same for a failed prepared statement. @return -1. */
static int stmt_error(struct my *m, MYSQL_STMT *st, char *why, size_t size)
{
	m->err = mysql_stmt_errno(st);
	mcm_sql_why(why, size, m->desc, "ERROR %u (%s): %s", m->err, mysql_stmt_sqlstate(st), mysql_stmt_error(st));
	mcm_sql_scrub(why, size, m->url);
	if (conn_lost(m->err))
		my_close(m);
	return -1;
}

static int query(struct my *m, const char *sql, size_t len, char *why, size_t size)
{
	m->err = 0;
	if (!m->conn) {
		mcm_sql_why(why, size, m->desc, "not connected");
		return -1;
	}
	if (mysql_real_query(m->conn, sql, (unsigned long)len) != 0)
		return my_error(m, why, size);
	return 0;
}

/* A statement without a result set (one is read and dropped if it comes). @return 0 or -1. */
static int command(struct my *m, const char *sql, char *why, size_t size)
{
	MYSQL_RES *res;

	if (query(m, sql, strlen(sql), why, size) != 0)
		return -1;
	if ((res = mysql_store_result(m->conn)))
		mysql_free_result(res);
	else if (mysql_field_count(m->conn) != 0)
		return my_error(m, why, size);
	return 0;
}

/* The first column of the first row of sql into buf ("" when no row). @return 0 or -1. */
static int scalar(struct my *m, const char *sql, char *buf, size_t bufsize, int *found, char *why, size_t size)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	*found = 0;
	buf[0] = '\0';
	if (query(m, sql, strlen(sql), why, size) != 0)
		return -1;
	if (!(res = mysql_store_result(m->conn)))
		return my_error(m, why, size);
	if ((row = mysql_fetch_row(res)) && row[0]) {
		snprintf(buf, bufsize, "%s", row[0]);
		*found = 1;
	}
	mysql_free_result(res);
	return 0;
}

static void rollback(struct my *m)
{
	char ignored[64];

	if (m->conn)
		command(m, "ROLLBACK", ignored, sizeof ignored);
}

static int my_connect(struct my *m, char *why, size_t size)
{
	struct my_url u;
	unsigned timeout = m->timeout_ms < 1000 ? 1 : (unsigned)((m->timeout_ms + 999) / 1000);
	char buf[64];
	int found, rc = -1;

	my_close(m);
	if (url_parse(m->url, &u, why, size) != 0) {
		char reason[256];
		snprintf(reason, sizeof reason, "%s", why);
		mcm_sql_why(why, size, m->desc, "%s", reason);
		return -1;
	}
	if (!(m->conn = mysql_init(NULL))) {
		mcm_sql_why(why, size, m->desc, "out of memory");
		goto out;
	}
	mysql_optionsv(m->conn, MYSQL_READ_DEFAULT_FILE, u.defaults_file);
	mysql_optionsv(m->conn, MYSQL_READ_DEFAULT_GROUP, u.group ? u.group : "mcmirror");
	mysql_optionsv(m->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(m->conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_optionsv(m->conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_optionsv(m->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_optionsv(m->conn, MYSQL_INIT_COMMAND,
		       "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
	if (!mysql_real_connect(m->conn, u.host, u.user, u.password, u.db, u.port, u.socket, 0)) {
		my_error(m, why, size);
		my_close(m);
		goto out;
	}
	if (command(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", why, size) != 0 ||
	    scalar(m, "SELECT @@max_allowed_packet", buf, sizeof buf, &found, why, size) != 0)
		goto out;
	m->stmt_max = strtoull(buf, NULL, 10) / 2;
	if (m->stmt_max > STMT_MAX || m->stmt_max < 4096)
		m->stmt_max = STMT_MAX;
	rc = 0;
out:
	url_free(&u);
	if (rc != 0)
		my_close(m);
	return rc;
}

/* ---- the schema -------------------------------------------------------------------------------- */

static const char *const schema_sql[] = {
	"CREATE TABLE IF NOT EXISTS mcmirror_meta ("
	" name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,"
	" value VARCHAR(255) NOT NULL) ENGINE=InnoDB",
	"CREATE TABLE IF NOT EXISTS mcmirror_pools ("
	" pool BIGINT UNSIGNED PRIMARY KEY,"
	" servers TEXT NOT NULL,"
	" distribution INT UNSIGNED NOT NULL,"
	" key_hash INT UNSIGNED NOT NULL,"
	" dist_hash INT UNSIGNED NOT NULL,"
	" hash_with_namespace TINYINT UNSIGNED NOT NULL,"
	" encrypted TINYINT UNSIGNED NOT NULL,"
	" origin CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" updated_us BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB",
	"CREATE TABLE IF NOT EXISTS mcmirror_items ("
	" pool BIGINT UNSIGNED NOT NULL,"
	" item_key VARBINARY(400) NOT NULL,"
	" state ENUM('live', 'deleted', 'dropped') NOT NULL,"
	" value LONGBLOB NULL,"
	" flags INT UNSIGNED NOT NULL,"
	" exptime BIGINT NOT NULL,"
	" wtime_us BIGINT UNSIGNED NOT NULL,"
	" origin CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" seq BIGINT UNSIGNED NOT NULL,"
	" ns_len SMALLINT UNSIGNED NOT NULL,"
	" grp BLOB NULL,"
	" PRIMARY KEY (pool, item_key)) ENGINE=InnoDB",
	"CREATE TABLE IF NOT EXISTS mcmirror_positions ("
	" origin CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
	" pool BIGINT UNSIGNED NOT NULL,"
	" position BIGINT UNSIGNED NOT NULL,"
	" flush_time BIGINT NOT NULL,"
	" host VARCHAR(255) NOT NULL,"
	" clock_skew_us BIGINT NOT NULL,"
	" changes BIGINT UNSIGNED NOT NULL,"
	" repeats BIGINT UNSIGNED NOT NULL,"
	" updated_us BIGINT UNSIGNED NOT NULL,"
	" PRIMARY KEY (origin, pool)) ENGINE=InnoDB",
};

/* Append s[0..len) to the statement as a quoted binary string literal. */
static char *put_quoted(char *w, const char *s, size_t len)
{
	memcpy(w, "_binary'", 8);
	w += 8;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		switch (c) {
		case '\0':
			*w++ = '\\';
			*w++ = '0';
			break;
		case '\'':
		case '\\':
			*w++ = '\\';
			*w++ = c;
			break;
		case '\n':
			*w++ = '\\';
			*w++ = 'n';
			break;
		case '\r':
			*w++ = '\\';
			*w++ = 'r';
			break;
		case '\032':
			*w++ = '\\';
			*w++ = 'Z';
			break;
		default:
			*w++ = c;
		}
	}
	*w++ = '\'';
	return w;
}

static int create_schema(struct my *m, char *why, size_t size)
{
	char sql[512], got[16];
	int found, rc = -1;

	snprintf(sql, sizeof sql, "SELECT GET_LOCK('mcmirror_create', %d)", m->timeout_ms / 1000 + 1);
	if (scalar(m, sql, got, sizeof got, &found, why, size) != 0)
		return -1;
	if (strcmp(got, "1") != 0) {
		mcm_sql_why(why, size, m->desc, "another mcmirror is creating the schema: timed out waiting for it");
		return -1;
	}
	for (size_t i = 0; i < sizeof schema_sql / sizeof schema_sql[0]; i++)
		if (command(m, schema_sql[i], why, size) != 0)
			goto out;
	snprintf(sql, sizeof sql,
		 "INSERT IGNORE INTO mcmirror_meta (name, value) VALUES ('schema_version', '%d'),"
		 " ('created_us', '%" PRIu64 "'), ('created_by', 'mcmirror %s')",
		 MCM_SQL_SCHEMA_VERSION, mcm_now_us(), MCM_VERSION);
	rc = command(m, sql, why, size);
out:
	if (m->conn)
		command(m, "DO RELEASE_LOCK('mcmirror_create')", got, sizeof got);
	return rc;
}

static int check_schema(struct my *m, char *why, size_t size)
{
	static const char *const tables[] = {"mcmirror_meta", "mcmirror_pools", "mcmirror_items",
					     "mcmirror_positions"};
	char sql[256], got[64];
	int found;

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		snprintf(sql, sizeof sql,
			 "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND"
			 " table_name = '%s'", tables[i]);
		if (scalar(m, sql, got, sizeof got, &found, why, size) != 0)
			return -1;
		if (strcmp(got, "1") != 0) {
			mcm_sql_why(why, size, m->desc,
				    "no table %s: not an mcmirror store (create the schema with 'mcmirror follow "
				    "--create')", tables[i]);
			return -1;
		}
	}
	if (scalar(m, "SELECT value FROM mcmirror_meta WHERE name = 'schema_version'", got, sizeof got, &found, why,
		   size) != 0)
		return -1;
	if (!found || strtol(got, NULL, 10) != MCM_SQL_SCHEMA_VERSION) {
		mcm_sql_why(why, size, m->desc,
			    "mcmirror_meta says schema version '%s', this mcmirror knows version %d: refused",
			    found ? got : "(none)", MCM_SQL_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* ---- the sink ------------------------------------------------------------------------------------ */

static int measure_skew(struct my_sink *s, char *why, size_t size)
{
	char sql[256], got[32];
	int64_t others[64];
	size_t n = 0;
	uint64_t t0 = mcm_now_us(), t1;
	int found;
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (scalar(&s->my, "SELECT CAST(UNIX_TIMESTAMP(SYSDATE(6)) * 1000000 AS SIGNED)", got, sizeof got, &found, why,
		   size) != 0)
		return -1;
	t1 = mcm_now_us();
	s->skew_us = (int64_t)(t0 + (t1 - t0) / 2) - strtoll(got, NULL, 10);
	snprintf(sql, sizeof sql,
		 "SELECT clock_skew_us FROM mcmirror_positions WHERE origin <> '%s' AND pool = %" PRIu64
		 " ORDER BY updated_us DESC LIMIT 64", s->origin, s->pool.id);
	if (query(&s->my, sql, strlen(sql), why, size) != 0)
		return -1;
	if (!(res = mysql_store_result(s->my.conn)))
		return my_error(&s->my, why, size);
	while ((row = mysql_fetch_row(res)) && n < 64)
		others[n++] = row[0] ? strtoll(row[0], NULL, 10) : 0;
	mysql_free_result(res);
	mcm_sql_report_skew(s->cmd, s->my.desc, s->skew_us, others, n);
	return 0;
}

static const char insert_head[] = "INSERT INTO mcmirror_items (pool, item_key, state, value, flags, exptime, wtime_us,"
				  " origin, seq, ns_len, grp) VALUES ";

/* The newest write wins: C is true when the row given is newer (or of the same origin, whose stream
 * order decides). Assignments run left to right on the row being updated, so origin and wtime_us
 * come last, origin deciding wtime_us's. */
#define NEWER "(origin = VALUES(origin) OR VALUES(wtime_us) > wtime_us OR (VALUES(wtime_us) = wtime_us AND" \
	      " VALUES(origin) > origin))"
static const char insert_tail[] =
	" ON DUPLICATE KEY UPDATE state = IF(" NEWER ", VALUES(state), state),"
	" value = IF(" NEWER ", VALUES(value), value), flags = IF(" NEWER ", VALUES(flags), flags),"
	" exptime = IF(" NEWER ", VALUES(exptime), exptime), seq = IF(" NEWER ", VALUES(seq), seq),"
	" ns_len = IF(" NEWER ", VALUES(ns_len), ns_len), grp = IF(" NEWER ", VALUES(grp), grp),"
	" origin = IF(" NEWER ", VALUES(origin), origin),"
	" wtime_us = IF(origin = VALUES(origin), VALUES(wtime_us), wtime_us)";

static const char insert_params[] = "(?,?,?,?,?,?,?,?,?,?,?)";

/* Bind the column arrays to the prepared upsert. */
static void bind_arrays(struct bulk_arrays *a)
{
	static const enum enum_field_types types[11] = {
		MYSQL_TYPE_LONGLONG, MYSQL_TYPE_BLOB,     MYSQL_TYPE_STRING,   MYSQL_TYPE_BLOB,
		MYSQL_TYPE_LONG,     MYSQL_TYPE_LONGLONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_STRING,
		MYSQL_TYPE_LONGLONG, MYSQL_TYPE_SHORT,    MYSQL_TYPE_BLOB};
	void *buffers[11] = {a->pool, a->key, a->state, a->value, a->flags, a->exptime, a->wtime, a->origin,
			     a->seq, a->ns_len, a->grp};
	unsigned long *lengths[11] = {NULL, a->key_len, a->state_len, a->value_len, NULL, NULL, NULL, a->origin_len,
				      NULL, NULL, a->grp_len};

	memset(a->bind, 0, sizeof a->bind);
	for (int i = 0; i < 11; i++) {
		a->bind[i].buffer_type = types[i];
		a->bind[i].buffer = buffers[i];
		a->bind[i].length = lengths[i];
		a->bind[i].is_unsigned = i != 5;
	}
	a->bind[3].u.indicator = a->value_ind;
	a->bind[10].u.indicator = a->grp_ind;
}

/* Does the server execute a statement on arrays of rows (COM_STMT_BULK_EXECUTE)? */
static int bulk_supported(MYSQL *m)
{
	unsigned long caps = 0, ext = 0;

	if (mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) != 0 ||
	    mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext) != 0)
		return 0;
	return !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32));
}

/* MCMIRROR_MYSQL_BULK=0: multi-row statements, as a MySQL server gets them (for tests and comparisons). */
static int bulk_off(void)
{
	const char *v = getenv("MCMIRROR_MYSQL_BULK");

	return v && strcmp(v, "0") == 0;
}

/* Prepare the upsert for arrays of rows, when the server takes them (MariaDB 10.2 and later; a
 * MySQL server gets multi-row statements instead). @return 0 or -1. */
static int prepare_bulk(struct my_sink *s, char *why, size_t size)
{
	char *sql = NULL;

	if (s->bulk)
		mysql_stmt_close(s->bulk);
	s->bulk = NULL;
	if (!s->arrays && !(s->arrays = calloc(1, sizeof *s->arrays)))
		goto oom;
	if (!(sql = malloc(strlen(insert_head) + sizeof insert_params + strlen(insert_tail))))
		goto oom;
	sprintf(sql, "%s%s%s", insert_head, insert_params, insert_tail);
	if (!(s->bulk = mysql_stmt_init(s->my.conn)))
		goto oom;
	if (mysql_stmt_prepare(s->bulk, sql, (unsigned long)strlen(sql)) != 0) {
		stmt_error(&s->my, s->bulk, why, size);
		free(sql);
		return -1;
	}
	free(sql);
	if (!bulk_supported(s->my.conn) || bulk_off()) {
		mysql_stmt_close(s->bulk);
		s->bulk = NULL;
	}
	bind_arrays(s->arrays);
	return 0;
oom:
	free(sql);
	mcm_sql_why(why, size, s->my.desc, "out of memory");
	return -1;
}

static int sink_connect(struct my_sink *s, char *why, size_t size)
{
	s->pool_saved = 0;
	if (s->bulk)
		mysql_stmt_close(s->bulk);
	s->bulk = NULL;
	if (my_connect(&s->my, why, size) != 0 || check_schema(&s->my, why, size) != 0)
		return -1;
	return prepare_bulk(s, why, size);
}

static void my_sink_close(struct mcm_sink *sink)
{
	struct my_sink *s = (struct my_sink *)sink;

	if (!s)
		return;
	if (s->bulk)
		mysql_stmt_close(s->bulk);
	free(s->arrays);
	my_close(&s->my);
	mcm_sqlbatch_free(&s->batch);
	free(s->stmt);
	free(s->my.url);
	free(s);
}

/* The origin goes into statements as is: make sure it is what it should be. */
static int origin_ok(const char *o)
{
	size_t n = strspn(o, "0123456789abcdef");

	return n == 32 && o[n] == '\0';
}

static int my_sink_open(struct mcm_sink **out, const char *target, const struct mcm_sink_opts *o, char *why,
			size_t size)
{
	struct my_sink *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s || !(s->my.url = strdup(target))) {
		free(s);
		snprintf(why, size, "out of memory");
		return -1;
	}
	mcm_sql_redact(target, s->my.desc, sizeof s->my.desc);
	if (!origin_ok(o->origin)) {
		mcm_sql_why(why, size, s->my.desc, "bad origin id '%.40s'", o->origin);
		my_sink_close((struct mcm_sink *)s);
		return -1;
	}
	s->my.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	s->cmd = o->cmd;
	snprintf(s->origin, sizeof s->origin, "%s", o->origin);
	s->pool = *o->pool;
	mcm_sqlbatch_init(&s->batch);
	if (my_connect(&s->my, why, size) != 0 || (o->create && create_schema(&s->my, why, size) != 0) ||
	    check_schema(&s->my, why, size) != 0 || prepare_bulk(s, why, size) != 0 ||
	    measure_skew(s, why, size) != 0) {
		my_sink_close((struct mcm_sink *)s);
		return -1;
	}
	*out = (struct mcm_sink *)s;
	return 0;
}

static int ensure_connected(struct my_sink *s, char *why, size_t size)
{
	return s->my.conn ? 0 : sink_connect(s, why, size);
}

/* The position row of this origin and pool (FOR UPDATE inside a transaction). @return 0 or -1. */
static int read_position(struct my_sink *s, int lock, uint64_t *pos, int *have, char *why, size_t size)
{
	char sql[256], got[32];

	snprintf(sql, sizeof sql, "SELECT position FROM mcmirror_positions WHERE origin = '%s' AND pool = %" PRIu64 "%s",
		 s->origin, s->pool.id, lock ? " FOR UPDATE" : "");
	if (scalar(&s->my, sql, got, sizeof got, have, why, size) != 0)
		return -1;
	*pos = *have ? strtoull(got, NULL, 10) : 0;
	return 0;
}

static int my_sink_position(struct mcm_sink *sink, uint64_t *position, int *have, char *why, size_t size)
{
	struct my_sink *s = (struct my_sink *)sink;

	*have = 0;
	*position = 0;
	if (ensure_connected(s, why, size) != 0 || read_position(s, 0, position, have, why, size) != 0)
		return -1;
	s->known.known = 1;
	s->known.have = *have;
	s->known.pos = *position;
	/* no row yet: the store holds nothing of this origin, so everything from the start (tombstones
	 * included: the store is not emptied for a new host, as a standby is) */
	*have = 1;
	return 0;
}


/* Room for n more statement bytes. */
static char *stmt_space(struct my_sink *s, size_t n)
{
	if (s->stmt_cap - s->stmt_len < n) {
		size_t cap = s->stmt_cap ? s->stmt_cap : 1u << 16;
		char *p;

		while (cap - s->stmt_len < n)
			cap *= 2;
		if (!(p = realloc(s->stmt, cap)))
			return NULL;
		s->stmt = p;
		s->stmt_cap = cap;
	}
	return s->stmt + s->stmt_len;
}



/* Append one row's tuple. @return 0 or ENOMEM. */
static int put_row(struct my_sink *s, const struct mcm_sql_row *r, int first)
{
	size_t need = 200 + 2 * (r->key_len + r->value_len + r->grp_len);
	char *start = stmt_space(s, need), *w = start;

	if (!w)
		return ENOMEM;
	if (!first)
		*w++ = ',';
	w += sprintf(w, "(%" PRIu64 ",", s->pool.id);
	w = put_quoted(w, r->key, r->key_len);
	w += sprintf(w, ",'%s',", mcm_sql_state_name(r->state));
	if (r->value)
		w = put_quoted(w, r->value, r->value_len);
	else
		w += sprintf(w, "NULL");
	w += sprintf(w, ",%" PRIu32 ",%" PRId64 ",%" PRIu64 ",'%s',%" PRIu64 ",%u,", r->flags, r->exptime, r->wtime_us,
		     s->origin, r->seq, (unsigned)r->ns_len);
	if (r->grp)
		w = put_quoted(w, r->grp, r->grp_len);
	else
		w += sprintf(w, "NULL");
	*w++ = ')';
	s->stmt_len += (size_t)(w - start);
	return 0;
}

/* Send the statement built so far. @return 0 or -1. */
static int send_rows(struct my_sink *s, char *why, size_t size)
{
	char *w = stmt_space(s, sizeof insert_tail);

	if (!w) {
		mcm_sql_why(why, size, s->my.desc, "out of memory");
		return -1;
	}
	memcpy(w, insert_tail, sizeof insert_tail - 1);
	s->stmt_len += sizeof insert_tail - 1;
	if (query(&s->my, s->stmt, s->stmt_len, why, size) != 0)
		return -1;
	s->stmt_len = 0;
	return 0;
}

/* Execute the prepared upsert on n rows of the arrays. @return 0 or -1. */
static int bulk_execute(struct my_sink *s, unsigned n, char *why, size_t size)
{
	s->my.err = 0;
	if (mysql_stmt_attr_set(s->bulk, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
	    mysql_stmt_bind_param(s->bulk, s->arrays->bind) != 0 || mysql_stmt_execute(s->bulk) != 0)
		return stmt_error(&s->my, s->bulk, why, size);
	return 0;
}

/* A stretch of rows as arrays for the prepared upsert, at most BULK_ROWS rows or stmt_max bytes a
 * time. @return 0 or -1. */
static int write_rows_bulk(struct my_sink *s, const struct mcm_sql_op *op, char *why, size_t size)
{
	struct bulk_arrays *a = s->arrays;
	unsigned n = 0;
	size_t bytes = 0;

	for (size_t i = op->first; i < op->first + op->count; i++) {
		const struct mcm_sql_row *r = &s->batch.rows[i];
		const char *state = mcm_sql_state_name(r->state);

		a->pool[n] = s->pool.id;
		a->key[n] = r->key;
		a->key_len[n] = (unsigned long)r->key_len;
		a->state[n] = state;
		a->state_len[n] = (unsigned long)strlen(state);
		a->value[n] = r->value ? r->value : "";
		a->value_len[n] = (unsigned long)r->value_len;
		a->value_ind[n] = r->value ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
		a->flags[n] = r->flags;
		a->exptime[n] = r->exptime;
		a->wtime[n] = r->wtime_us;
		a->origin[n] = s->origin;
		a->origin_len[n] = 32;
		a->seq[n] = r->seq;
		a->ns_len[n] = r->ns_len;
		a->grp[n] = r->grp ? r->grp : "";
		a->grp_len[n] = (unsigned long)r->grp_len;
		a->grp_ind[n] = r->grp ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
		bytes += 80 + r->key_len + r->value_len + r->grp_len;
		if (++n == BULK_ROWS || bytes >= s->my.stmt_max) {
			if (bulk_execute(s, n, why, size) != 0)
				return -1;
			n = 0;
			bytes = 0;
		}
	}
	return n ? bulk_execute(s, n, why, size) : 0;
}

/* A stretch of rows, in statements of at most stmt_max bytes. @return 0 or -1. */
static int write_rows(struct my_sink *s, const struct mcm_sql_op *op, char *why, size_t size)
{
	size_t in_stmt = 0;

	s->stmt_len = 0;
	for (size_t i = op->first; i < op->first + op->count; i++) {
		if (in_stmt == 0) {
			char *w = stmt_space(s, sizeof insert_head);
			if (!w)
				goto oom;
			memcpy(w, insert_head, sizeof insert_head - 1);
			s->stmt_len += sizeof insert_head - 1;
		}
		if (put_row(s, &s->batch.rows[i], in_stmt == 0) != 0)
			goto oom;
		in_stmt++;
		if (s->stmt_len >= s->my.stmt_max) {
			if (send_rows(s, why, size) != 0)
				return -1;
			in_stmt = 0;
		}
	}
	return in_stmt ? send_rows(s, why, size) : 0;
oom:
	mcm_sql_why(why, size, s->my.desc, "out of memory");
	return -1;
}

static int write_flush(struct my_sink *s, char *why, size_t size)
{
	char sql[256];

	snprintf(sql, sizeof sql,
		 "UPDATE mcmirror_items SET state = 'deleted', value = NULL, flags = 0, exptime = 0 WHERE pool = %" PRIu64
		 " AND origin = '%s' AND state = 'live'", s->pool.id, s->origin);
	return command(&s->my, sql, why, size);
}

static int save_pool(struct my_sink *s, char *why, size_t size)
{
	char *w = stmt_space(s, 3 * MCM_SERVERS_MAX + 600);

	if (!w) {
		mcm_sql_why(why, size, s->my.desc, "out of memory");
		return -1;
	}
	w += sprintf(w, "INSERT INTO mcmirror_pools (pool, servers, distribution, key_hash, dist_hash,"
			" hash_with_namespace, encrypted, origin, updated_us) VALUES (%" PRIu64 ",", s->pool.id);
	w = put_quoted(w, s->pool.servers, strlen(s->pool.servers));
	w += sprintf(w, ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%u,%u,'%s',%" PRIu64 ")"
			" ON DUPLICATE KEY UPDATE servers = VALUES(servers), distribution = VALUES(distribution),"
			" key_hash = VALUES(key_hash), dist_hash = VALUES(dist_hash),"
			" hash_with_namespace = VALUES(hash_with_namespace),"
			" encrypted = GREATEST(encrypted, VALUES(encrypted)), origin = VALUES(origin),"
			" updated_us = VALUES(updated_us)",
		     s->pool.distribution, s->pool.key_hash, s->pool.dist_hash, s->pool.hash_with_namespace,
		     s->pool.encrypted, s->origin, mcm_now_us());
	s->stmt_len = 0;
	return query(&s->my, s->stmt, (size_t)(w - s->stmt), why, size);
}

/* The position with what it covers, and COMMIT. @return 0 or -1. */
static int finish_txn(struct my_sink *s, uint64_t position, char *why, size_t size)
{
	char sql[2048], ft[32];
	const char *host = mcm_sql_hostname();
	char host_q[3 * 256 + 16];

	snprintf(ft, sizeof ft, "%" PRId64, s->txn.flush_time);
	*put_quoted(host_q, host, strlen(host)) = '\0';
	snprintf(sql, sizeof sql,
		 "INSERT INTO mcmirror_positions (origin, pool, position, flush_time, host, clock_skew_us, changes,"
		 " repeats, updated_us) VALUES ('%s', %" PRIu64 ", %" PRIu64 ", %s, %s, %" PRId64 ", %" PRIu64
		 ", %" PRIu64 ", %" PRIu64 ") ON DUPLICATE KEY UPDATE position = VALUES(position),"
		 " flush_time = %s, host = VALUES(host), clock_skew_us = VALUES(clock_skew_us),"
		 " changes = changes + VALUES(changes), repeats = repeats + VALUES(repeats),"
		 " updated_us = VALUES(updated_us)",
		 s->origin, s->pool.id, position, s->txn.flush_time >= 0 ? ft : "0", host_q, s->skew_us,
		 s->txn.changes, s->txn.repeats, mcm_now_us(), s->txn.flush_time >= 0 ? "VALUES(flush_time)" : "flush_time");
	if (command(&s->my, sql, why, size) != 0 || command(&s->my, "COMMIT", why, size) != 0)
		return -1;
	s->txn.open = 0;
	s->pool_saved = 1;
	s->known.known = s->known.have = 1;
	s->known.pos = position;
	return 0;
}

/* START TRANSACTION, lock this origin's position row (it must be what this sink knew), the pool row
 * once per connection. @return 0 or -1. */
static int begin(struct my_sink *s, char *why, size_t size)
{
	memset(&s->txn, 0, sizeof s->txn);
	s->txn.flush_time = -1;
	if (command(&s->my, "START TRANSACTION", why, size) != 0)
		return -1;
	s->txn.open = 1;
	if (read_position(s, 1, &s->txn.db_pos, &s->txn.have, why, size) != 0 ||
	    mcm_sql_pos_check(&s->known, s->txn.have, s->txn.db_pos, s->my.desc, why, size) != 0)
		return -1;
	return s->pool_saved ? 0 : save_pool(s, why, size);
}

/* Write what is queued (the batch is kept: the caller resets it). @return 0 or -1. */
static int write_queued(struct my_sink *s, char *why, size_t size)
{
	mcm_sqlbatch_account(&s->batch, &s->txn);
	for (size_t i = 0; i < s->batch.nops; i++) {
		const struct mcm_sql_op *op = &s->batch.ops[i];

		if (op->kind == MCM_SQL_ROWS && op->count &&
		    (s->bulk ? write_rows_bulk(s, op, why, size) : write_rows(s, op, why, size)) != 0)
			return -1;
		if (op->kind == MCM_SQL_FLUSH && write_flush(s, why, size) != 0)
			return -1;
	}
	return 0;
}

/* A failed transaction: rolled back, the batch forgotten. */
/* ---- the transaction: sqlbatch.c drives it with these steps ---- */

static int step_connect(void *sink, char *why, size_t size)
{
	return ensure_connected(sink, why, size);
}

static int step_begin(void *sink, char *why, size_t size)
{
	return begin(sink, why, size);
}

static int step_write(void *sink, char *why, size_t size)
{
	return write_queued(sink, why, size);
}

static int step_finish(void *sink, uint64_t position, char *why, size_t size)
{
	return finish_txn(sink, position, why, size);
}

static void step_rollback(void *sink)
{
	rollback(&((struct my_sink *)sink)->my);
}

static int step_connected(const void *sink)
{
	return ((const struct my_sink *)sink)->my.conn != NULL;
}

/* May the transaction be run again (another transaction won a lock or a serialization race)? */
static int step_retryable(const void *sink)
{
	const struct my_sink *s = sink;

	return s->my.err == ER_LOCK_DEADLOCK || s->my.err == ER_LOCK_WAIT_TIMEOUT;
}

static const struct mcm_sql_steps steps = {
	.connect = step_connect,
	.begin = step_begin,
	.write_queued = step_write,
	.finish = step_finish,
	.rollback = step_rollback,
	.connected = step_connected,
	.retryable = step_retryable,
};

static struct mcm_sql_sinkstate state_of(struct my_sink *s)
{
	return (struct mcm_sql_sinkstate){&s->batch, &s->txn, &s->known, s->my.desc};
}

static int my_sink_change(struct mcm_sink *sink, const struct mcm_change *c, char *why, size_t size)
{
	struct mcm_sql_sinkstate ss = state_of((struct my_sink *)sink);

	return mcm_sqlsink_change(&steps, sink, &ss, c, why, size);
}

static int my_sink_commit(struct mcm_sink *sink, uint64_t position, char *why, size_t size)
{
	struct mcm_sql_sinkstate ss = state_of((struct my_sink *)sink);

	return mcm_sqlsink_commit(&steps, sink, &ss, position, why, size);
}

/* A database keeps what it committed: never lost; -1 when it cannot be reached now. */
static int my_sink_lost(struct mcm_sink *sink)
{
	struct my_sink *s = (struct my_sink *)sink;
	char why[256];

	if (ensure_connected(s, why, sizeof why) != 0)
		return -1;
	if (mysql_ping(s->my.conn) != 0) {
		my_error(&s->my, why, sizeof why);
		return -1;
	}
	return 0;
}

static const char *my_sink_describe(const struct mcm_sink *sink)
{
	return ((const struct my_sink *)sink)->my.desc;
}

const struct mcm_sink_ops mcm_sink_mysql = {
	.name = "mariadb",
	.claims = my_claims,
	.open = my_sink_open,
	.position = my_sink_position,
	.change = my_sink_change,
	.commit = my_sink_commit,
	.lost = my_sink_lost,
	.describe = my_sink_describe,
	.close = my_sink_close,
};

/* ---- the source ------------------------------------------------------------------------------------ */

static void my_source_close(struct mcm_source *source)
{
	struct my_source *s = (struct my_source *)source;

	if (!s)
		return;
	if (s->res)
		mysql_free_result(s->res);
	my_close(&s->my);
	free(s->my.url);
	free(s);
}

static int my_source_open(struct mcm_source **out, const char *url, const struct mcm_source_opts *o, char *why,
			  size_t size)
{
	struct my_source *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s || !(s->my.url = strdup(url))) {
		free(s);
		snprintf(why, size, "out of memory");
		return -1;
	}
	mcm_sql_redact(url, s->my.desc, sizeof s->my.desc);
	s->my.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	if (my_connect(&s->my, why, size) != 0 || check_schema(&s->my, why, size) != 0) {
		my_source_close((struct mcm_source *)s);
		return -1;
	}
	*out = (struct mcm_source *)s;
	return 0;
}

static int my_source_pools(struct mcm_source *source, struct mcm_pool **pools, size_t *n, char *why, size_t size)
{
	struct my_source *s = (struct my_source *)source;
	static const char sql[] = "SELECT pool, servers, distribution, key_hash, dist_hash, hash_with_namespace,"
				  " encrypted FROM mcmirror_pools ORDER BY pool";
	MYSQL_RES *res;
	MYSQL_ROW row;
	size_t rows, i = 0;

	*pools = NULL;
	*n = 0;
	if (query(&s->my, sql, sizeof sql - 1, why, size) != 0)
		return -1;
	if (!(res = mysql_store_result(s->my.conn)))
		return my_error(&s->my, why, size);
	rows = (size_t)mysql_num_rows(res);
	if (!(*pools = calloc(rows ? rows : 1, sizeof **pools))) {
		mysql_free_result(res);
		snprintf(why, size, "out of memory");
		return -1;
	}
	while ((row = mysql_fetch_row(res)) && i < rows) {
		struct mcm_pool *p = &(*pools)[i++];
		unsigned long *len = mysql_fetch_lengths(res);

		p->id = strtoull(row[0], NULL, 10);
		snprintf(p->servers, sizeof p->servers, "%.*s", (int)len[1], row[1] ? row[1] : "");
		p->distribution = (uint32_t)strtoul(row[2], NULL, 10);
		p->key_hash = (uint32_t)strtoul(row[3], NULL, 10);
		p->dist_hash = (uint32_t)strtoul(row[4], NULL, 10);
		p->hash_with_namespace = (uint8_t)strtoul(row[5], NULL, 10);
		p->encrypted = (uint8_t)strtoul(row[6], NULL, 10);
	}
	*n = i;
	mysql_free_result(res);
	return 0;
}

static int my_source_scan(struct mcm_source *source, mcm_pool_id pool, unsigned flags, char *why, size_t size)
{
	struct my_source *s = (struct my_source *)source;
	char sql[1024];

	if (s->res) {
		mcm_sql_why(why, size, s->my.desc, "a scan is already running");
		return -1;
	}
	s->flags = flags;
	s->pool = pool;
	s->now = (int64_t)time(NULL);
	snprintf(sql, sizeof sql,
		 "SELECT i.item_key, i.state, i.value, i.flags, i.exptime, i.wtime_us, i.origin, i.seq, i.ns_len, i.grp,"
		 " COALESCE(p.flush_time, 0) FROM mcmirror_items i LEFT JOIN mcmirror_positions p"
		 " ON p.origin = i.origin AND p.pool = i.pool WHERE i.pool = %" PRIu64 "%s%s",
		 pool, flags & MCM_SOURCE_LIVE ? " AND i.state = 'live'" : "",
		 flags & MCM_SOURCE_ANY_ORDER ? "" : " ORDER BY i.wtime_us, i.origin");
	if (query(&s->my, sql, strlen(sql), why, size) != 0)
		return -1;
	if (!(s->res = mysql_use_result(s->my.conn)))
		return my_error(&s->my, why, size);
	return 0;
}

static int my_source_next(struct mcm_source *source, struct mcm_item *item, const char **origin, char *why,
			  size_t size)
{
	struct my_source *s = (struct my_source *)source;

	for (;;) {
		MYSQL_ROW row;
		unsigned long *len;
		int64_t flush_time;

		if (!s->res)
			return MCM_END;
		if (!(row = mysql_fetch_row(s->res))) {
			unsigned err = mysql_errno(s->my.conn);

			mysql_free_result(s->res);
			s->res = NULL;
			return err ? my_error(&s->my, why, size) : MCM_END;
		}
		len = mysql_fetch_lengths(s->res);
		memset(item, 0, sizeof *item);
		item->pool = s->pool;
		item->key = row[0];
		item->key_len = len[0];
		item->value = row[2];
		item->value_len = len[2];
		item->flags = (uint32_t)strtoul(row[3], NULL, 10);
		item->exptime = strtoll(row[4], NULL, 10);
		item->wtime_us = strtoull(row[5], NULL, 10);
		snprintf(s->origin, sizeof s->origin, "%.*s", (int)len[6], row[6]);
		item->seq = strtoull(row[7], NULL, 10);
		item->ns_len = (uint16_t)strtoul(row[8], NULL, 10);
		item->group = row[9];
		item->group_len = row[9] ? len[9] : 0;
		item->group_mode = row[9] ? MCM_GROUP_EXPLICIT : MCM_GROUP_KEY;
		flush_time = strtoll(row[10], NULL, 10);
		switch (mcm_sql_state_of(row[1], len[1])) {
		case MCM_SQL_LIVE:
			item->kind = MCM_KIND_VALUE;
			if (!item->value)
				item->value = "";
			if (flush_time > 0 && s->now >= flush_time - 1 &&
			    (int64_t)(item->wtime_us / 1000000u) <= flush_time)
				item->kind = MCM_KIND_DELETED; /* killed by its origin's delayed flush */
			break;
		case MCM_SQL_DELETED:
			item->kind = MCM_KIND_DELETED;
			break;
		default:
			item->kind = MCM_KIND_DROPPED;
		}
		if (item->kind != MCM_KIND_VALUE) {
			item->value = NULL;
			item->value_len = 0;
			if (s->flags & MCM_SOURCE_LIVE)
				continue;
		}
		if (origin)
			*origin = s->origin;
		return 0;
	}
}

static uint64_t my_source_rows(struct mcm_source *source)
{
	struct my_source *s = (struct my_source *)source;
	char got[32], ignored[256];
	int found;

	if (s->res || scalar(&s->my, "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE()"
			     " AND table_name = 'mcmirror_items'", got, sizeof got, &found, ignored, sizeof ignored) != 0)
		return 0;
	return found ? strtoull(got, NULL, 10) : 0;
}

static const char *my_source_describe(const struct mcm_source *source)
{
	return ((const struct my_source *)source)->my.desc;
}

const struct mcm_source_ops mcm_source_mysql = {
	.name = "mariadb",
	.claims = my_claims,
	.open = my_source_open,
	.pools = my_source_pools,
	.rows = my_source_rows,
	.scan = my_source_scan,
	.next = my_source_next,
	.describe = my_source_describe,
	.close = my_source_close,
};
