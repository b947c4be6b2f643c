/* sink_pg.c - PostgreSQL as a shared store of mirrors: the sink `follow --to postgresql://...` ships
 * into, and the source `replay`/`import --from postgresql://...` read (schema: docs/SQL.md).
 *
 * Writing: the batch (sqlbatch.h) goes in one transaction: the follower's
 * position row is locked, each stretch of rows is sent with COPY (binary)
 * into a temporary staging table and merged into mcmirror_items by one
 * INSERT ... ON CONFLICT DO UPDATE whose WHERE keeps the newest write,
 * a flush turns the origin's live rows into deletions, and the position moves
 * in the same transaction. A deadlock or serialization failure (two hosts
 * writing the same keys) runs the transaction again.
 *
 * libpq is used in non-blocking mode with poll(): a server that stops
 * answering fails the call after the stall timeout instead of hanging it.
 * Connection strings are libpq's own (URIs, service files, PGPASSFILE and
 * .pgpass, sslmode...); what is shown of them never includes a password.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcmirror.h"
#include "sink.h"
#include "source.h"
#include "sqlbatch.h"

#define COPY_CHUNK (256u << 10) /* bytes handed to PQputCopyData at once */
#define PG_LOCK_KEY "7233390569785454962" /* pg_advisory_xact_lock key of --create */
#define PG_ITEMS_FILLFACTOR "50" /* mcmirror_items' fillfactor, set by --create */

/* One connection and what it is for messages. */
struct pg {
	PGconn *conn;
	char *url;             /* as given (may hold a password: never shown) */
	char desc[512];        /* redacted */
	int timeout_ms;
	char sqlstate[6];      /* of the last failed statement */
};

struct pg_sink {
	struct pg pg;
	char origin[33];
	struct mcm_pool pool;
	char pool_sql[24];     /* the pool id as PostgreSQL's bigint */
	const char *cmd;
	int64_t skew_us;
	int pool_saved;        /* the pools row was written by this connection */
	struct mcm_sql_pos known; /* the position as this sink last read or committed it */
	struct mcm_sql_txn txn;   /* the transaction, when a large batch opened it before commit */
	struct mcm_sql_batch batch;
	char *copy;            /* COPY buffer */
	size_t copy_len;
};

struct pg_source {
	struct pg pg;
	char *row;             /* the COPY row being read (PQfreemem) */
	int scanning;
	unsigned flags;
	int64_t now;
	mcm_pool_id pool;
	char origin[33];
};

static int pg_claims(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* ---- the connection ---------------------------------------------------------------------- */

static void pg_close(struct pg *p)
{
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
}

/* why = "<desc>: <libpq's reason>" for a failed connection or call; the connection is dropped
 * when it is no longer usable. @return -1. */
static int conn_error(struct pg *p, char *why, size_t size)
{
	const char *msg = p->conn ? PQerrorMessage(p->conn) : "out of memory";
	const char *failed = strstr(msg, " failed: ");

	/* "connection to server on socket "/x/.s.PGSQL.5432" failed: FATAL:  ...": the server is named
	 * by desc already, unless that was all libpq had to say */
	if (strncmp(msg, "connection to server", 20) == 0 && failed && failed[9])
		msg = failed + 9;
	mcm_sql_why(why, size, p->desc, "%s", *msg ? msg : "connection lost");
	mcm_sql_scrub(why, size, p->url);
	if (p->conn && PQstatus(p->conn) != CONNECTION_OK)
		pg_close(p);
	return -1;
}

/* Notices (a table that already exists...) are not for the user. */
static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int pg_connect(struct pg *p, char *why, size_t size)
{
	char timeout[16];
	const char *kw[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *val[] = {timeout, "mcmirror", p->url, NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	pg_close(p);
	snprintf(timeout, sizeof timeout, "%d", p->timeout_ms < 2000 ? 2 : (p->timeout_ms + 999) / 1000);
	/* values in the URI override the ones before it; started by hand so that no notice of the server
	 * (one shutting down warns every session) reaches stderr before ours is set */
	if (!(p->conn = PQconnectStartParams(kw, val, 1)) || PQstatus(p->conn) == CONNECTION_BAD)
		return conn_error(p, why, size);
	PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
	while (st != PGRES_POLLING_OK) {
		struct pollfd pfd = {.fd = PQsocket(p->conn), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
		int rc;

		if (st == PGRES_POLLING_FAILED)
			return conn_error(p, why, size);
		do
			rc = poll(&pfd, 1, p->timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc <= 0) {
			mcm_sql_why(why, size, p->desc, "no answer within %.1f s", (double)p->timeout_ms / 1000);
			pg_close(p);
			return -1;
		}
		st = PQconnectPoll(p->conn);
	}
	if (PQsetnonblocking(p->conn, 1) != 0)
		return conn_error(p, why, size);
	return 0;
}

/* Wait until the socket is ready for events, at most the stall timeout. @return 0 or -1. */
static int wait_io(struct pg *p, short events, char *why, size_t size)
{
	struct pollfd pfd = {.fd = PQsocket(p->conn), .events = events};
	int rc;

	do
		rc = poll(&pfd, 1, p->timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc > 0)
		return 0;
	if (rc == 0)
		mcm_sql_why(why, size, p->desc, "no answer for %.1f s", (double)p->timeout_ms / 1000);
	else
		mcm_sql_why(why, size, p->desc, "poll: %s", strerror(errno));
	pg_close(p);
	return -1;
}

/* Send what libpq has queued. @return 0 or -1. */
static int flush_out(struct pg *p, char *why, size_t size)
{
	int rc;

	while ((rc = PQflush(p->conn)) == 1) {
		if (wait_io(p, POLLOUT | POLLIN, why, size) != 0)
			return -1;
		if (!PQconsumeInput(p->conn))
			return conn_error(p, why, size);
	}
	return rc == 0 ? 0 : conn_error(p, why, size);
}

/* The next result of the query in flight (NULL: no more). @return 0, or -1 (connection lost). */
static int next_result(struct pg *p, PGresult **res, char *why, size_t size)
{
	*res = NULL;
	while (PQisBusy(p->conn)) {
		if (wait_io(p, POLLIN, why, size) != 0)
			return -1;
		if (!PQconsumeInput(p->conn))
			return conn_error(p, why, size);
	}
	*res = PQgetResult(p->conn);
	return 0;
}

/* why from a failed result (its SQLSTATE kept). @return -1. */
static int result_error(struct pg *p, const PGresult *res, char *why, size_t size)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorMessage(res);

	snprintf(p->sqlstate, sizeof p->sqlstate, "%s", state ? state : "");
	if (!msg || !*msg)
		return conn_error(p, why, size);
	mcm_sql_why(why, size, p->desc, "%s", msg);
	mcm_sql_scrub(why, size, p->url);
	if (PQstatus(p->conn) != CONNECTION_OK)
		pg_close(p);
	return -1;
}

/* Wait for every result of the query in flight; the first one of status want is kept in *keep
 * (when keep is not NULL). @return 0, or -1 with why set (the first error). */
static int finish(struct pg *p, ExecStatusType want, PGresult **keep, char *why, size_t size)
{
	PGresult *res;
	int failed = 0;

	if (keep)
		*keep = NULL;
	for (;;) {
		if (next_result(p, &res, why, size) != 0) {
			failed = 1;
			break;
		}
		if (!res)
			break;
		if (!failed && PQresultStatus(res) != want) {
			failed = 1;
			result_error(p, res, why, size);
			if (!p->conn) {
				PQclear(res);
				break;
			}
		} else if (!failed && keep && !*keep) {
			*keep = res;
			continue;
		}
		PQclear(res);
	}
	if (failed && keep && *keep) {
		PQclear(*keep);
		*keep = NULL;
	}
	return failed ? -1 : 0;
}

/* Send a COPY statement and wait until the server is in the copy state want (PGRES_COPY_IN or
 * PGRES_COPY_OUT). @return 0, or -1 with why set (the statement's results consumed). */
static int start_copy(struct pg *p, const char *sql, ExecStatusType want, char *why, size_t size)
{
	PGresult *res;

	if (!PQsendQuery(p->conn, sql))
		return conn_error(p, why, size);
	if (flush_out(p, why, size) != 0 || next_result(p, &res, why, size) != 0)
		return -1;
	if (!res || PQresultStatus(res) != want) {
		if (res)
			result_error(p, res, why, size);
		else
			conn_error(p, why, size);
		PQclear(res);
		if (p->conn)
			finish(p, PGRES_COMMAND_OK, NULL, why, size);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Run sql with n text parameters. @return 0 (with *res when res is not NULL: PQclear it), or -1. */
static int run(struct pg *p, const char *sql, int n, const char *const *vals, ExecStatusType want, PGresult **res,
	       char *why, size_t size)
{
	p->sqlstate[0] = '\0';
	if (!p->conn) {
		mcm_sql_why(why, size, p->desc, "not connected");
		return -1;
	}
	if (!(n ? PQsendQueryParams(p->conn, sql, n, NULL, vals, NULL, NULL, 0) : PQsendQuery(p->conn, sql)))
		return conn_error(p, why, size);
	if (flush_out(p, why, size) != 0)
		return -1;
	return finish(p, want, res, why, size);
}

static int command(struct pg *p, const char *sql, char *why, size_t size)
{
	return run(p, sql, 0, NULL, PGRES_COMMAND_OK, NULL, why, size);
}

/* Roll back whatever is open, quietly (a lost connection needs nothing). */
static void rollback(struct pg *p)
{
	char ignored[64];

	if (p->conn && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
		command(p, "ROLLBACK", ignored, sizeof ignored);
}

/* ---- the schema ---------------------------------------------------------------------------- */

static const char *const schema_sql[] = {
	"CREATE TABLE IF NOT EXISTS mcmirror_meta ("
	" name text PRIMARY KEY,"
	" value text NOT NULL)",
	"CREATE TABLE IF NOT EXISTS mcmirror_pools ("
	" pool bigint PRIMARY KEY,"
	" servers text NOT NULL,"
	" distribution integer NOT NULL,"
	" key_hash integer NOT NULL,"
	" dist_hash integer NOT NULL,"
	" hash_with_namespace smallint NOT NULL,"
	" encrypted smallint NOT NULL,"
	" origin text COLLATE \"C\" NOT NULL,"
	" updated_us bigint NOT NULL)",
	"CREATE TABLE IF NOT EXISTS mcmirror_items ("
	" pool bigint NOT NULL,"
	" item_key bytea NOT NULL,"
	" state text NOT NULL CHECK (state IN ('live', 'deleted', 'dropped')),"
	" value bytea,"
	" flags bigint NOT NULL,"
	" exptime bigint NOT NULL,"
	" wtime_us bigint NOT NULL,"
	" origin text COLLATE \"C\" NOT NULL,"
	" seq bigint NOT NULL,"
	" ns_len smallint NOT NULL,"
	" grp bytea,"
	" PRIMARY KEY (pool, item_key))"
	/* half of each page left free when rows are written (COPY, inserts): an update then finds room
	 * for the row's new version on its own page even when its batch rewrites every row of the page,
	 * and is a HOT update (no index entry to add; docs/SQL.md) */
	" WITH (fillfactor = " PG_ITEMS_FILLFACTOR ")",
	"CREATE TABLE IF NOT EXISTS mcmirror_positions ("
	" origin text COLLATE \"C\" NOT NULL,"
	" pool bigint NOT NULL,"
	" position bigint NOT NULL,"
	" flush_time bigint NOT NULL,"
	" host text NOT NULL,"
	" clock_skew_us bigint NOT NULL,"
	" changes bigint NOT NULL,"
	" repeats bigint NOT NULL,"
	" updated_us bigint NOT NULL,"
	" PRIMARY KEY (origin, pool))",
};

static const char *const tables[] = {"mcmirror_meta", "mcmirror_pools", "mcmirror_items", "mcmirror_positions"};

/* --create: the tables and the version row, if absent (serialized between hosts by an advisory
 * lock: CREATE TABLE IF NOT EXISTS alone races). @return 0 or -1. */
static int create_schema(struct pg *p, char *why, size_t size)
{
	char version[16], now[24];
	const char *vals[3] = {version, now, "mcmirror " MCM_VERSION};

	snprintf(version, sizeof version, "%d", MCM_SQL_SCHEMA_VERSION);
	snprintf(now, sizeof now, "%" PRIu64, mcm_now_us());
	if (command(p, "BEGIN", why, size) != 0 ||
	    run(p, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", 0, NULL, PGRES_TUPLES_OK, NULL, why, size) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof schema_sql / sizeof schema_sql[0]; i++)
		if (command(p, schema_sql[i], why, size) != 0)
			goto fail;
	if (run(p,
		"INSERT INTO mcmirror_meta (name, value) VALUES ('schema_version', $1), ('created_us', $2),"
		" ('created_by', $3) ON CONFLICT (name) DO NOTHING",
		3, vals, PGRES_COMMAND_OK, NULL, why, size) != 0 ||
	    command(p, "COMMIT", why, size) != 0)
		goto fail;
	return 0;
fail:
	rollback(p);
	return -1;
}

/* The tables are there and of the version this build knows. @return 0 or -1. */
static int check_schema(struct pg *p, char *why, size_t size)
{
	PGresult *res;
	long version;

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		const char *vals[1] = {tables[i]};
		int missing;

		if (run(p, "SELECT to_regclass($1) IS NULL", 1, vals, PGRES_TUPLES_OK, &res, why, size) != 0)
			return -1;
		missing = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (missing) {
			mcm_sql_why(why, size, p->desc,
				    "no table %s: not an mcmirror store (create the schema with 'mcmirror follow "
				    "--create')", tables[i]);
			return -1;
		}
	}
	if (run(p, "SELECT value FROM mcmirror_meta WHERE name = 'schema_version'", 0, NULL, PGRES_TUPLES_OK, &res, why,
		size) != 0)
		return -1;
	version = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	if (version != MCM_SQL_SCHEMA_VERSION) {
		mcm_sql_why(why, size, p->desc,
			    "mcmirror_meta says schema version '%s', this mcmirror knows version %d: refused",
			    PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "(none)", MCM_SQL_SCHEMA_VERSION);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* ---- the sink -------------------------------------------------------------------------------- */

/* How far our clock is from the database's (µs, positive: ours ahead), and the other hosts'. */
static int measure_skew(struct pg_sink *s, char *why, size_t size)
{
	const char *vals[2] = {s->origin, s->pool_sql};
	PGresult *res;
	int64_t others[64];
	size_t n = 0;
	uint64_t t0 = mcm_now_us(), t1;
	int64_t db;

	if (run(&s->pg, "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", 0, NULL, PGRES_TUPLES_OK,
		&res, why, size) != 0)
		return -1;
	t1 = mcm_now_us();
	db = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	s->skew_us = (int64_t)(t0 + (t1 - t0) / 2) - db;
	if (run(&s->pg,
		"SELECT clock_skew_us FROM mcmirror_positions WHERE origin <> $1 AND pool = $2::bigint"
		" ORDER BY updated_us DESC LIMIT 64",
		2, vals, PGRES_TUPLES_OK, &res, why, size) != 0)
		return -1;
	for (int i = 0; i < PQntuples(res) && n < 64; i++)
		others[n++] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	mcm_sql_report_skew(s->cmd, s->pg.desc, s->skew_us, others, n);
	return 0;
}

/* Connect (again) and make the session's staging table. @return 0 or -1. */
static int sink_connect(struct pg_sink *s, char *why, size_t size)
{
	s->pool_saved = 0;
	if (pg_connect(&s->pg, why, size) != 0 || check_schema(&s->pg, why, size) != 0)
		return -1;
	return command(&s->pg,
		       "CREATE TEMP TABLE IF NOT EXISTS mcm_stage (item_key bytea, state text, value bytea,"
		       " flags bigint, exptime bigint, wtime_us bigint, seq bigint, ns_len smallint, grp bytea)"
		       " ON COMMIT DELETE ROWS",
		       why, size);
}

static void pg_sink_close(struct mcm_sink *sink)
{
	struct pg_sink *s = (struct pg_sink *)sink;

	if (!s)
		return;
	pg_close(&s->pg);
	mcm_sqlbatch_free(&s->batch);
	free(s->copy);
	free(s->pg.url);
	free(s);
}

static int pg_sink_open(struct mcm_sink **out, const char *target, const struct mcm_sink_opts *o, char *why,
			size_t size)
{
	struct pg_sink *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s || !(s->pg.url = strdup(target)) || !(s->copy = malloc(COPY_CHUNK + 64))) {
		if (s)
			free(s->pg.url);
		free(s);
		snprintf(why, size, "out of memory");
		return -1;
	}
	mcm_sql_redact(target, s->pg.desc, sizeof s->pg.desc);
	s->pg.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	s->cmd = o->cmd;
	snprintf(s->origin, sizeof s->origin, "%s", o->origin);
	s->pool = *o->pool;
	snprintf(s->pool_sql, sizeof s->pool_sql, "%" PRId64, (int64_t)s->pool.id);
	mcm_sqlbatch_init(&s->batch);
	if (pg_connect(&s->pg, why, size) != 0 || (o->create && create_schema(&s->pg, why, size) != 0) ||
	    sink_connect(s, why, size) != 0 || measure_skew(s, why, size) != 0) {
		pg_sink_close((struct mcm_sink *)s);
		return -1;
	}
	*out = (struct mcm_sink *)s;
	return 0;
}

/* Connected, or connected again after a loss. @return 0 or -1. */
static int ensure_connected(struct pg_sink *s, char *why, size_t size)
{
	if (s->pg.conn && PQstatus(s->pg.conn) == CONNECTION_OK)
		return 0;
	return sink_connect(s, why, size);
}

static int pg_sink_position(struct mcm_sink *sink, uint64_t *position, int *have, char *why, size_t size)
{
	struct pg_sink *s = (struct pg_sink *)sink;
	const char *vals[2] = {s->origin, s->pool_sql};
	PGresult *res;

	*have = 0;
	*position = 0;
	if (ensure_connected(s, why, size) != 0 ||
	    run(&s->pg, "SELECT position FROM mcmirror_positions WHERE origin = $1 AND pool = $2::bigint", 2, vals,
		PGRES_TUPLES_OK, &res, why, size) != 0)
		return -1;
	s->known.known = 1;
	s->known.have = PQntuples(res) == 1;
	s->known.pos = s->known.have ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	/* no row yet: the store holds nothing of this origin, so everything from the start (tombstones
	 * included: the store is not emptied for a new host, as a standby is) */
	*position = s->known.pos;
	*have = 1;
	return 0;
}


/* COPY's binary encoding. */
static char *put16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8);
	p[1] = (char)v;
	return p + 2;
}

static char *put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
	return p + 4;
}

static char *put64(char *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static char *put_field(char *p, const void *data, size_t len)
{
	if (!data)
		return put32(p, UINT32_MAX); /* -1: NULL */
	p = put32(p, (uint32_t)len);
	memcpy(p, data, len);
	return p + len;
}

static char *put_int64(char *p, int64_t v)
{
	return put64(put32(p, 8), (uint64_t)v);
}

/* Hand the COPY buffer to libpq. @return 0 or -1. */
static int copy_send(struct pg_sink *s, char *why, size_t size)
{
	int rc;

	while ((rc = PQputCopyData(s->pg.conn, s->copy, (int)s->copy_len)) == 0)
		if (wait_io(&s->pg, POLLOUT, why, size) != 0 || flush_out(&s->pg, why, size) != 0)
			return -1;
	if (rc < 0)
		return conn_error(&s->pg, why, size);
	s->copy_len = 0;
	return 0;
}

/* Queue bytes for COPY; a value larger than the buffer is sent on its own. */
static int copy_put(struct pg_sink *s, const void *data, size_t len, char *why, size_t size)
{
	const char *d = data;

	while (len) {
		size_t n = COPY_CHUNK - s->copy_len < len ? COPY_CHUNK - s->copy_len : len;

		memcpy(s->copy + s->copy_len, d, n);
		s->copy_len += n;
		d += n;
		len -= n;
		if (s->copy_len == COPY_CHUNK && copy_send(s, why, size) != 0)
			return -1;
	}
	return 0;
}

/* One staging row: item_key, state, value, flags, exptime, wtime_us, seq, ns_len, grp. */
static int copy_row(struct pg_sink *s, const struct mcm_sql_row *r, char *why, size_t size)
{
	char head[64], tail[128], *p = head;
	const char *state = mcm_sql_state_name(r->state);

	p = put16(p, 9);
	p = put32(p, (uint32_t)r->key_len);
	if (copy_put(s, head, (size_t)(p - head), why, size) != 0 || copy_put(s, r->key, r->key_len, why, size) != 0)
		return -1;
	p = put_field(head, state, strlen(state));
	p = r->value ? put32(p, (uint32_t)r->value_len) : put32(p, UINT32_MAX);
	if (copy_put(s, head, (size_t)(p - head), why, size) != 0 ||
	    (r->value && copy_put(s, r->value, r->value_len, why, size) != 0))
		return -1;
	p = put_int64(tail, r->flags);
	p = put_int64(p, r->exptime);
	p = put_int64(p, (int64_t)r->wtime_us);
	p = put_int64(p, (int64_t)r->seq);
	p = put16(put32(p, 2), r->ns_len);
	p = r->grp ? put32(p, (uint32_t)r->grp_len) : put32(p, UINT32_MAX);
	if (copy_put(s, tail, (size_t)(p - tail), why, size) != 0)
		return -1;
	return r->grp ? copy_put(s, r->grp, r->grp_len, why, size) : 0;
}

/* COPY a stretch of rows into mcm_stage. @return 0 or -1. */
static int copy_rows(struct pg_sink *s, const struct mcm_sql_op *op, char *why, size_t size)
{
	static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	const char trailer[2] = {(char)0xff, (char)0xff};

	if (start_copy(&s->pg, "COPY mcm_stage FROM STDIN (FORMAT binary)", PGRES_COPY_IN, why, size) != 0)
		return -1;
	s->copy_len = 0;
	if (copy_put(s, header, sizeof header, why, size) != 0)
		return -1;
	for (size_t i = op->first; i < op->first + op->count; i++)
		if (copy_row(s, &s->batch.rows[i], why, size) != 0)
			return -1;
	if (copy_put(s, trailer, sizeof trailer, why, size) != 0 || copy_send(s, why, size) != 0)
		return -1;
	if (PQputCopyEnd(s->pg.conn, NULL) < 0)
		return conn_error(&s->pg, why, size);
	if (flush_out(&s->pg, why, size) != 0)
		return -1;
	return finish(&s->pg, PGRES_COMMAND_OK, NULL, why, size);
}

static const char upsert_sql[] =
	"INSERT INTO mcmirror_items AS t (pool, item_key, state, value, flags, exptime, wtime_us, origin, seq,"
	" ns_len, grp)"
	" SELECT $1::bigint, item_key, state, value, flags, exptime, wtime_us, $2::text, seq, ns_len, grp"
	" FROM mcm_stage"
	" ON CONFLICT (pool, item_key) DO UPDATE SET state = EXCLUDED.state, value = EXCLUDED.value,"
	" flags = EXCLUDED.flags, exptime = EXCLUDED.exptime, wtime_us = EXCLUDED.wtime_us,"
	" origin = EXCLUDED.origin, seq = EXCLUDED.seq, ns_len = EXCLUDED.ns_len, grp = EXCLUDED.grp"
	" WHERE t.origin = EXCLUDED.origin OR (EXCLUDED.wtime_us, EXCLUDED.origin) > (t.wtime_us, t.origin)";

/* A stretch of rows: staged, then merged, newest write winning. @return 0 or -1. */
static int write_rows(struct pg_sink *s, const struct mcm_sql_op *op, int first, char *why, size_t size)
{
	const char *vals[2] = {s->pool_sql, s->origin};

	if (op->count == 0)
		return 0;
	if (!first && command(&s->pg, "TRUNCATE mcm_stage", why, size) != 0)
		return -1;
	if (copy_rows(s, op, why, size) != 0)
		return -1;
	return run(&s->pg, upsert_sql, 2, vals, PGRES_COMMAND_OK, NULL, why, size);
}

/* A flush of the pool by this origin: the rows it wrote before are gone (their write time stays,
 * so that an older value of another host does not come back). @return 0 or -1. */
static int write_flush(struct pg_sink *s, char *why, size_t size)
{
	const char *vals[2] = {s->pool_sql, s->origin};

	return run(&s->pg,
		   "UPDATE mcmirror_items SET state = 'deleted', value = NULL, flags = 0, exptime = 0"
		   " WHERE pool = $1::bigint AND origin = $2 AND state = 'live'",
		   2, vals, PGRES_COMMAND_OK, NULL, why, size);
}

static int save_pool(struct pg_sink *s, char *why, size_t size)
{
	char dist[12], kh[12], dh[12], hwn[4], enc[4], now[24];
	const char *vals[9] = {s->pool_sql, s->pool.servers, dist, kh, dh, hwn, enc, s->origin, now};

	snprintf(dist, sizeof dist, "%" PRIu32, s->pool.distribution);
	snprintf(kh, sizeof kh, "%" PRIu32, s->pool.key_hash);
	snprintf(dh, sizeof dh, "%" PRIu32, s->pool.dist_hash);
	snprintf(hwn, sizeof hwn, "%u", s->pool.hash_with_namespace);
	snprintf(enc, sizeof enc, "%u", s->pool.encrypted);
	snprintf(now, sizeof now, "%" PRIu64, mcm_now_us());
	return run(&s->pg,
		   "INSERT INTO mcmirror_pools AS t (pool, servers, distribution, key_hash, dist_hash,"
		   " hash_with_namespace, encrypted, origin, updated_us)"
		   " VALUES ($1::bigint, $2, $3::integer, $4::integer, $5::integer, $6::smallint, $7::smallint, $8,"
		   " $9::bigint)"
		   " ON CONFLICT (pool) DO UPDATE SET servers = EXCLUDED.servers, distribution = EXCLUDED.distribution,"
		   " key_hash = EXCLUDED.key_hash, dist_hash = EXCLUDED.dist_hash,"
		   " hash_with_namespace = EXCLUDED.hash_with_namespace,"
		   " encrypted = GREATEST(t.encrypted, EXCLUDED.encrypted), origin = EXCLUDED.origin,"
		   " updated_us = EXCLUDED.updated_us",
		   9, vals, PGRES_COMMAND_OK, NULL, why, size);
}

/* BEGIN, lock this origin's position row (it must be what this sink knew), the pool row once per
 * connection. @return 0 or -1. */
static int begin(struct pg_sink *s, char *why, size_t size)
{
	const char *vals[2] = {s->origin, s->pool_sql};
	PGresult *res;

	memset(&s->txn, 0, sizeof s->txn);
	s->txn.flush_time = -1;
	if (command(&s->pg, "BEGIN", why, size) != 0)
		return -1;
	s->txn.open = 1;
	if (run(&s->pg, "SELECT position FROM mcmirror_positions WHERE origin = $1 AND pool = $2::bigint FOR UPDATE", 2,
		vals, PGRES_TUPLES_OK, &res, why, size) != 0)
		return -1;
	s->txn.have = PQntuples(res) == 1;
	s->txn.db_pos = s->txn.have ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (mcm_sql_pos_check(&s->known, s->txn.have, s->txn.db_pos, s->pg.desc, why, size) != 0)
		return -1;
	return s->pool_saved ? 0 : save_pool(s, why, size);
}

/* Write what is queued (the batch is kept: the caller resets it). @return 0 or -1. */
static int write_queued(struct pg_sink *s, char *why, size_t size)
{
	mcm_sqlbatch_account(&s->batch, &s->txn);
	for (size_t i = 0; i < s->batch.nops; i++) {
		const struct mcm_sql_op *op = &s->batch.ops[i];

		if (op->kind == MCM_SQL_ROWS && op->count) {
			if (write_rows(s, op, s->txn.stretches++ == 0, why, size) != 0)
				return -1;
		} else if (op->kind == MCM_SQL_FLUSH && write_flush(s, why, size) != 0) {
			return -1;
		}
	}
	return 0;
}

/* The position with what it covers, and COMMIT. @return 0 or -1. */
static int finish_txn(struct pg_sink *s, uint64_t position, char *why, size_t size)
{
	char pos[24], ft[24], skew[24], changes[24], rep[24], now[24];
	const char *vals[9] = {s->origin, s->pool_sql, pos, s->txn.flush_time >= 0 ? ft : NULL,
			       mcm_sql_hostname(), skew, changes, rep, now};

	snprintf(pos, sizeof pos, "%" PRIu64, position);
	snprintf(ft, sizeof ft, "%" PRId64, s->txn.flush_time);
	snprintf(skew, sizeof skew, "%" PRId64, s->skew_us);
	snprintf(changes, sizeof changes, "%" PRIu64, s->txn.changes);
	snprintf(rep, sizeof rep, "%" PRIu64, s->txn.repeats);
	snprintf(now, sizeof now, "%" PRIu64, mcm_now_us());
	if (run(&s->pg,
		"INSERT INTO mcmirror_positions AS t (origin, pool, position, flush_time, host, clock_skew_us,"
		" changes, repeats, updated_us)"
		" VALUES ($1, $2::bigint, $3::bigint, COALESCE($4::bigint, 0), $5, $6::bigint, $7::bigint,"
		" $8::bigint, $9::bigint)"
		" ON CONFLICT (origin, pool) DO UPDATE SET position = EXCLUDED.position,"
		" flush_time = COALESCE($4::bigint, t.flush_time), host = EXCLUDED.host,"
		" clock_skew_us = EXCLUDED.clock_skew_us, changes = t.changes + EXCLUDED.changes,"
		" repeats = t.repeats + EXCLUDED.repeats, updated_us = EXCLUDED.updated_us",
		9, vals, PGRES_COMMAND_OK, NULL, why, size) != 0 ||
	    command(&s->pg, "COMMIT", why, size) != 0)
		return -1;
	s->txn.open = 0;
	s->pool_saved = 1;
	s->known.known = s->known.have = 1;
	s->known.pos = position;
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
	rollback(&((struct pg_sink *)sink)->pg);
}

static int step_connected(const void *sink)
{
	return ((const struct pg_sink *)sink)->pg.conn != NULL;
}

/* May the transaction be run again (another transaction won a lock or a serialization race)? */
static int step_retryable(const void *sink)
{
	const struct pg_sink *s = sink;

	return s->pg.conn && (strcmp(s->pg.sqlstate, "40P01") == 0 || strcmp(s->pg.sqlstate, "40001") == 0);
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

static struct mcm_sql_sinkstate state_of(struct pg_sink *s)
{
	return (struct mcm_sql_sinkstate){&s->batch, &s->txn, &s->known, s->pg.desc};
}

static int pg_sink_change(struct mcm_sink *sink, const struct mcm_change *c, char *why, size_t size)
{
	struct mcm_sql_sinkstate ss = state_of((struct pg_sink *)sink);

	return mcm_sqlsink_change(&steps, sink, &ss, c, why, size);
}

static int pg_sink_commit(struct mcm_sink *sink, uint64_t position, char *why, size_t size)
{
	struct mcm_sql_sinkstate ss = state_of((struct pg_sink *)sink);

	return mcm_sqlsink_commit(&steps, sink, &ss, position, why, size);
}

/* A database keeps what it committed: never lost; -1 when it cannot be reached now. */
static int pg_sink_lost(struct mcm_sink *sink)
{
	struct pg_sink *s = (struct pg_sink *)sink;
	char why[256];

	if (ensure_connected(s, why, sizeof why) != 0 ||
	    run(&s->pg, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, NULL, why, sizeof why) != 0)
		return -1;
	return 0;
}

static const char *pg_sink_describe(const struct mcm_sink *sink)
{
	return ((const struct pg_sink *)sink)->pg.desc;
}

const struct mcm_sink_ops mcm_sink_pg = {
	.name = "postgresql",
	.claims = pg_claims,
	.open = pg_sink_open,
	.position = pg_sink_position,
	.change = pg_sink_change,
	.commit = pg_sink_commit,
	.lost = pg_sink_lost,
	.describe = pg_sink_describe,
	.close = pg_sink_close,
};

/* ---- the source ------------------------------------------------------------------------------ */

static void pg_source_close(struct mcm_source *source)
{
	struct pg_source *s = (struct pg_source *)source;

	if (!s)
		return;
	if (s->row)
		PQfreemem(s->row);
	pg_close(&s->pg);
	free(s->pg.url);
	free(s);
}

static int pg_source_open(struct mcm_source **out, const char *url, const struct mcm_source_opts *o, char *why,
			  size_t size)
{
	struct pg_source *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s || !(s->pg.url = strdup(url))) {
		free(s);
		snprintf(why, size, "out of memory");
		return -1;
	}
	mcm_sql_redact(url, s->pg.desc, sizeof s->pg.desc);
	s->pg.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	if (pg_connect(&s->pg, why, size) != 0 || check_schema(&s->pg, why, size) != 0) {
		pg_source_close((struct mcm_source *)s);
		return -1;
	}
	*out = (struct mcm_source *)s;
	return 0;
}

static int pg_source_pools(struct mcm_source *source, struct mcm_pool **pools, size_t *n, char *why, size_t size)
{
	struct pg_source *s = (struct pg_source *)source;
	PGresult *res;
	int rows;

	*pools = NULL;
	*n = 0;
	if (run(&s->pg,
		"SELECT pool, servers, distribution, key_hash, dist_hash, hash_with_namespace, encrypted"
		" FROM mcmirror_pools ORDER BY pool",
		0, NULL, PGRES_TUPLES_OK, &res, why, size) != 0)
		return -1;
	rows = PQntuples(res);
	if (!(*pools = calloc(rows ? (size_t)rows : 1, sizeof **pools))) {
		PQclear(res);
		snprintf(why, size, "out of memory");
		return -1;
	}
	for (int i = 0; i < rows; i++) {
		struct mcm_pool *p = &(*pools)[i];

		p->id = (mcm_pool_id)strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(p->servers, sizeof p->servers, "%s", PQgetvalue(res, i, 1));
		p->distribution = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		p->key_hash = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
		p->dist_hash = (uint32_t)strtoul(PQgetvalue(res, i, 4), NULL, 10);
		p->hash_with_namespace = (uint8_t)strtoul(PQgetvalue(res, i, 5), NULL, 10);
		p->encrypted = (uint8_t)strtoul(PQgetvalue(res, i, 6), NULL, 10);
	}
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}

static int pg_source_scan(struct mcm_source *source, mcm_pool_id pool, unsigned flags, char *why, size_t size)
{
	struct pg_source *s = (struct pg_source *)source;
	char sql[1024];

	if (s->scanning) {
		mcm_sql_why(why, size, s->pg.desc, "a scan is already running");
		return -1;
	}
	s->flags = flags;
	s->pool = pool;
	s->now = (int64_t)time(NULL);
	/* COPY takes no parameters: the pool is a number, written in */
	snprintf(sql, sizeof sql,
		 "COPY (SELECT i.item_key, i.state, i.value, i.flags, i.exptime, i.wtime_us, i.origin, i.seq,"
		 " i.ns_len, i.grp, COALESCE(p.flush_time, 0)"
		 " FROM mcmirror_items i LEFT JOIN mcmirror_positions p ON p.origin = i.origin AND p.pool = i.pool"
		 " WHERE i.pool = %" PRId64 "%s%s) TO STDOUT (FORMAT binary)",
		 (int64_t)pool,
		 flags & MCM_SOURCE_LIVE ? " AND i.state = 'live'" : "",
		 flags & MCM_SOURCE_ANY_ORDER ? "" : " ORDER BY i.wtime_us, i.origin");
	if (start_copy(&s->pg, sql, PGRES_COPY_OUT, why, size) != 0)
		return -1;
	s->scanning = 1;
	return 0;
}

/* The next COPY row (NULL at the end). @return 0 or -1. */
static int copy_next(struct pg_source *s, char **row, int *len, char *why, size_t size)
{
	for (;;) {
		int n = PQgetCopyData(s->pg.conn, row, 1);

		if (n > 0) {
			*len = n;
			return 0;
		}
		if (n == 0) {
			if (wait_io(&s->pg, POLLIN, why, size) != 0)
				return -1;
			if (!PQconsumeInput(s->pg.conn))
				return conn_error(&s->pg, why, size);
			continue;
		}
		*row = NULL;
		if (n == -1) /* the end: the COPY's own result says whether all went well */
			return finish(&s->pg, PGRES_COMMAND_OK, NULL, why, size);
		return conn_error(&s->pg, why, size);
	}
}

struct reader {
	const unsigned char *p, *end;
	int bad;
};

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The next field: its bytes (NULL for SQL NULL) and length. */
static const char *field(struct reader *r, size_t *len)
{
	uint32_t n;
	const char *f;

	*len = 0;
	if (r->bad || r->end - r->p < 4) {
		r->bad = 1;
		return NULL;
	}
	n = get32(r->p);
	r->p += 4;
	if (n == UINT32_MAX)
		return NULL;
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	f = (const char *)r->p;
	r->p += n;
	*len = n;
	return f ? f : "";
}

static int64_t int_field(struct reader *r, size_t width)
{
	size_t len;
	const unsigned char *f = (const unsigned char *)field(r, &len);
	uint64_t v = 0;

	if (!f || len != width) {
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < width; i++)
		v = v << 8 | f[i];
	return width == 2 ? (int16_t)v : width == 4 ? (int32_t)v : (int64_t)v;
}

/* A COPY row into item. @return 0, or -1 for a row that does not parse. */
static int decode_row(struct pg_source *s, const char *row, int len, struct mcm_item *item)
{
	struct reader r = {(const unsigned char *)row, (const unsigned char *)row + len, 0};
	const char *state, *origin;
	size_t state_len, origin_len;
	int64_t flush_time;

	if (len < 2 || ((const unsigned char *)row)[0] != 0 || ((const unsigned char *)row)[1] != 11)
		return -1;
	r.p += 2;
	item->key = field(&r, &item->key_len);
	state = field(&r, &state_len);
	item->value = field(&r, &item->value_len);
	item->flags = (uint32_t)int_field(&r, 8);
	item->exptime = int_field(&r, 8);
	item->wtime_us = (uint64_t)int_field(&r, 8);
	origin = field(&r, &origin_len);
	item->seq = (uint64_t)int_field(&r, 8);
	item->ns_len = (uint16_t)int_field(&r, 2);
	item->group = field(&r, &item->group_len);
	flush_time = int_field(&r, 8);
	if (r.bad || !item->key || !state || !origin || origin_len >= sizeof s->origin)
		return -1;
	memcpy(s->origin, origin, origin_len);
	s->origin[origin_len] = '\0';
	item->group_mode = item->group ? MCM_GROUP_EXPLICIT : MCM_GROUP_KEY;
	switch (mcm_sql_state_of(state, state_len)) {
	case MCM_SQL_LIVE:
		item->kind = MCM_KIND_VALUE;
		if (!item->value)
			item->value = "";
		/* killed by its origin's delayed flush (as mcm_item_is_live judges it) */
		if (flush_time > 0 && s->now >= flush_time - 1 && (int64_t)(item->wtime_us / 1000000u) <= flush_time)
			item->kind = MCM_KIND_DELETED;
		break;
	case MCM_SQL_DELETED:
		item->kind = MCM_KIND_DELETED;
		break;
	case MCM_SQL_DROPPED:
		item->kind = MCM_KIND_DROPPED;
		break;
	default:
		return -1;
	}
	if (item->kind != MCM_KIND_VALUE) {
		item->value = NULL;
		item->value_len = 0;
	}
	return 0;
}

static int pg_source_next(struct mcm_source *source, struct mcm_item *item, const char **origin, char *why,
			  size_t size)
{
	struct pg_source *s = (struct pg_source *)source;
	const char *row;
	int len = 0;

	if (s->row) {
		PQfreemem(s->row);
		s->row = NULL;
	}
	for (;;) {
		if (!s->scanning)
			return MCM_END;
		if (copy_next(s, &s->row, &len, why, size) != 0) {
			s->scanning = 0;
			return -1;
		}
		if (!s->row) {
			s->scanning = 0;
			return MCM_END;
		}
		/* the binary format's header comes in front of the first row, its trailer alone */
		row = s->row;
		if (len >= 19 && memcmp(row, "PGCOPY\n\377\r\n\0", 11) == 0) {
			uint32_t ext = get32((const unsigned char *)row + 15);

			if (ext > (uint32_t)len - 19) {
				mcm_sql_why(why, size, s->pg.desc, "a COPY header does not decode");
				s->scanning = 0;
				pg_close(&s->pg);
				return -1;
			}
			row += 19 + ext;
			len -= 19 + (int)ext;
		}
		if (len == 0 || (len == 2 && (unsigned char)row[0] == 0xff && (unsigned char)row[1] == 0xff)) {
			PQfreemem(s->row);
			s->row = NULL;
			continue;
		}
		memset(item, 0, sizeof *item);
		item->pool = s->pool;
		if (decode_row(s, row, len, item) != 0) {
			mcm_sql_why(why, size, s->pg.desc, "a row of mcmirror_items does not decode");
			s->scanning = 0;
			pg_close(&s->pg);
			return -1;
		}
		if ((s->flags & MCM_SOURCE_LIVE) && item->kind != MCM_KIND_VALUE) {
			PQfreemem(s->row);
			s->row = NULL;
			continue;
		}
		if (origin)
			*origin = s->origin;
		return 0;
	}
}

static uint64_t pg_source_rows(struct mcm_source *source)
{
	struct pg_source *s = (struct pg_source *)source;
	char ignored[256];
	PGresult *res;
	double n = 0;

	if (run(&s->pg, "SELECT reltuples FROM pg_class WHERE oid = 'mcmirror_items'::regclass", 0, NULL,
		PGRES_TUPLES_OK, &res, ignored, sizeof ignored) != 0)
		return 0;
	if (PQntuples(res) == 1)
		n = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return n > 0 ? (uint64_t)n : 0;
}

static const char *pg_source_describe(const struct mcm_source *source)
{
	return ((const struct pg_source *)source)->pg.desc;
}

const struct mcm_source_ops mcm_source_pg = {
	.name = "postgresql",
	.claims = pg_claims,
	.open = pg_source_open,
	.pools = pg_source_pools,
	.rows = pg_source_rows,
	.scan = pg_source_scan,
	.next = pg_source_next,
	.describe = pg_source_describe,
	.close = pg_source_close,
};
