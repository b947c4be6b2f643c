/* sqlbatch.c - a batch of changes for a SQL sink and the transaction that writes it, the schema's
 * state names, and safe URLs and messages (see sqlbatch.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcm_store.h"
#include "mcmirror.h"
#include "sqlbatch.h"

#define CHUNK_SIZE (1u << 20)
#define SKEW_WORTH_SAYING_US 100000 /* 100 ms */

struct mcm_sql_chunk {
	struct mcm_sql_chunk *next;
	size_t used, cap;
	char data[];
};

static const char *const state_names[] = {[MCM_SQL_LIVE] = "live", [MCM_SQL_DELETED] = "deleted",
					  [MCM_SQL_DROPPED] = "dropped"};

const char *mcm_sql_state_name(int state)
{
	return state >= MCM_SQL_LIVE && state <= MCM_SQL_DROPPED ? state_names[state] : "?";
}

int mcm_sql_state_of(const char *name, size_t len)
{
	for (int s = MCM_SQL_LIVE; s <= MCM_SQL_DROPPED; s++)
		if (strlen(state_names[s]) == len && memcmp(state_names[s], name, len) == 0)
			return s;
	return 0;
}

void mcm_sqlbatch_init(struct mcm_sql_batch *b)
{
	memset(b, 0, sizeof *b);
	b->flush_time = -1;
}

void mcm_sqlbatch_reset(struct mcm_sql_batch *b)
{
	struct mcm_sql_chunk *c = b->chunks, *next;

	/* keep one ordinary chunk for the next batch */
	if (c) {
		for (next = c->next, c->next = NULL; next; next = c) {
			c = next->next;
			free(next);
		}
		if (b->chunks->cap != CHUNK_SIZE) {
			free(b->chunks);
			b->chunks = NULL;
		} else {
			b->chunks->used = 0;
		}
	}
	b->nrows = b->nops = 0;
	b->bytes = b->changes = b->first_seq = 0;
	b->first_is_flush = 0;
	b->flush_time = -1;
	b->sealed = 0;
}

void mcm_sqlbatch_free(struct mcm_sql_batch *b)
{
	mcm_sqlbatch_reset(b);
	free(b->chunks);
	free(b->rows);
	free(b->ops);
	mcm_sqlbatch_init(b);
}

/* A copy of len bytes that stays where it is until the batch is reset. */
static const char *keep(struct mcm_sql_batch *b, const char *p, size_t len)
{
	struct mcm_sql_chunk *c = b->chunks;
	char *dst;

	if (!c || c->cap - c->used < len) {
		size_t cap = len > CHUNK_SIZE ? len : CHUNK_SIZE;

		if (!(c = malloc(sizeof *c + cap)))
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = b->chunks;
		b->chunks = c;
	}
	dst = c->data + c->used;
	if (len)
		memcpy(dst, p, len);
	c->used += len;
	b->bytes += len;
	return dst;
}

static struct mcm_sql_op *new_op(struct mcm_sql_batch *b, enum mcm_sql_op_kind kind)
{
	struct mcm_sql_op *op;

	if (b->nops == b->ops_cap) {
		size_t cap = b->ops_cap ? 2 * b->ops_cap : 8;
		struct mcm_sql_op *ops = realloc(b->ops, cap * sizeof *ops);

		if (!ops)
			return NULL;
		b->ops = ops;
		b->ops_cap = cap;
	}
	op = &b->ops[b->nops++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->first = b->nrows;
	return op;
}

static struct mcm_sql_row *new_row(struct mcm_sql_batch *b)
{
	if (b->nops == 0 || b->ops[b->nops - 1].kind != MCM_SQL_ROWS)
		if (!new_op(b, MCM_SQL_ROWS))
			return NULL;
	if (b->nrows == b->rows_cap) {
		size_t cap = b->rows_cap ? 2 * b->rows_cap : 1024;
		struct mcm_sql_row *rows = realloc(b->rows, cap * sizeof *rows);

		if (!rows)
			return NULL;
		b->rows = rows;
		b->rows_cap = cap;
	}
	b->ops[b->nops - 1].count++;
	return &b->rows[b->nrows++];
}

static int add_row(struct mcm_sql_batch *b, const struct mcm_change *c, uint64_t now_us)
{
	const struct mcm_item *it = &c->item;
	struct mcm_sql_row *r = new_row(b);

	if (!r)
		return ENOMEM;
	memset(r, 0, sizeof *r);
	r->seq = c->seq;
	r->ns_len = it->ns_len;
	if (!(r->key = keep(b, it->key, it->key_len)))
		return ENOMEM;
	r->key_len = it->key_len;
	if (it->group_mode == MCM_GROUP_EXPLICIT) {
		if (!(r->grp = keep(b, it->group ? it->group : "", it->group_len)))
			return ENOMEM;
		r->grp_len = it->group_len;
	}
	if (c->damaged) {
		/* nothing of it but its name can be trusted: the key, gone as of now */
		r->state = MCM_SQL_DROPPED;
		r->wtime_us = now_us;
		r->grp = NULL;
		r->grp_len = 0;
		r->ns_len = 0;
		return 0;
	}
	r->wtime_us = it->wtime_us;
	if (c->kind == MCM_CHANGE_SET) {
		r->state = MCM_SQL_LIVE;
		r->flags = it->flags;
		r->exptime = it->exptime;
		if (!(r->value = keep(b, it->value ? it->value : "", it->value_len)))
			return ENOMEM;
		r->value_len = it->value_len;
	} else {
		/* deleted, dropped, expired or killed by a delayed flush: no value to keep */
		r->state = it->kind == MCM_KIND_DROPPED ? MCM_SQL_DROPPED : MCM_SQL_DELETED;
	}
	return 0;
}

int mcm_sqlbatch_add(struct mcm_sql_batch *b, const struct mcm_change *c, uint64_t now_us)
{
	struct mcm_sql_op *op;

	if (b->changes++ == 0)
		b->first_is_flush = c->kind == MCM_CHANGE_FLUSH;
	b->sealed = 0;
	switch (c->kind) {
	case MCM_CHANGE_SET:
	case MCM_CHANGE_DELETE:
		if (b->first_seq == 0)
			b->first_seq = c->seq;
		return add_row(b, c, now_us);
	case MCM_CHANGE_FLUSH:
		if (!new_op(b, MCM_SQL_FLUSH))
			return ENOMEM;
		b->flush_time = 0; /* an immediate flush replaces a pending delayed one */
		return 0;
	case MCM_CHANGE_FLUSH_AT:
		if (!(op = new_op(b, MCM_SQL_FLUSH_AT)))
			return ENOMEM;
		op->flush_time = c->flush_time;
		b->flush_time = c->flush_time;
		return 0;
	}
	return EINVAL;
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

/* By key bytes, then by arrival (seq grows with arrival in a stretch). */
static int cmp_rows(const void *pa, const void *pb)
{
	const struct mcm_sql_row *a = pa, *b = pb;
	int c = cmp_bytes(a->key, a->key_len, b->key, b->key_len);

	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sort one stretch and keep the last change of each key. @return its new count. */
static size_t seal_stretch(struct mcm_sql_row *rows, size_t n)
{
	size_t out = 0;

	qsort(rows, n, sizeof *rows, cmp_rows);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && cmp_bytes(rows[i].key, rows[i].key_len, rows[i + 1].key, rows[i + 1].key_len) == 0)
			continue; /* a later change of the same key follows */
		rows[out++] = rows[i];
	}
	return out;
}

void mcm_sqlbatch_seal(struct mcm_sql_batch *b)
{
	size_t to = 0;

	if (b->sealed)
		return;
	for (size_t i = 0; i < b->nops; i++) {
		struct mcm_sql_op *op = &b->ops[i];
		size_t n;

		if (op->kind != MCM_SQL_ROWS)
			continue;
		n = seal_stretch(b->rows + op->first, op->count);
		memmove(b->rows + to, b->rows + op->first, n * sizeof *b->rows);
		op->first = to;
		op->count = n;
		to += n;
	}
	b->nrows = to;
	b->sealed = 1;
}

int mcm_sql_pos_check(struct mcm_sql_pos *k, int have, uint64_t pos, const char *desc, char *why, size_t size)
{
	if (!k->known || (k->have == have && k->pos == pos))
		return 0;
	mcm_sql_why(why, size, desc,
		    "the position of this mirror and pool in the store moved from %llu to %llu under this follower (a "
		    "transaction of a follower that died finished late, or another follower of the same mirror runs): "
		    "reading it again",
		    k->have ? (unsigned long long)k->pos : 0ULL, have ? (unsigned long long)pos : 0ULL);
	k->known = 0;
	return -1;
}

void mcm_sqlbatch_account(struct mcm_sql_batch *b, struct mcm_sql_txn *t)
{
	mcm_sqlbatch_seal(b);
	t->changes += b->changes;
	if (b->flush_time >= 0)
		t->flush_time = b->flush_time;
	/* changes at or below the committed position, in a batch that is not a resynchronisation (which
	 * starts with a FLUSH): given again */
	if (!t->have || b->first_is_flush || b->first_seq == 0 || b->first_seq > t->db_pos)
		return;
	for (size_t i = 0; i < b->nrows; i++)
		t->repeats += b->rows[i].seq <= t->db_pos;
}

/* Is the query parameter at p (up to '&' or the end) a password? */
static int secret_param(const char *p)
{
	static const char *const names[] = {"password=", "sslpassword=", "passwd=", "pass="};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncasecmp(p, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/* Append len bytes of s to out (size) at *at. */
static void put(char *out, size_t size, size_t *at, const char *s, size_t len)
{
	while (len-- && *at + 1 < size)
		out[(*at)++] = *s++;
	out[*at] = '\0';
}

void mcm_sql_redact(const char *url, char *out, size_t size)
{
	const char *auth = strstr(url, "://"), *end, *at, *colon, *q, *p;
	size_t n = 0, kept;

	if (!size)
		return;
	out[0] = '\0';
	if (!auth) {
		put(out, size, &n, url, strlen(url));
		return;
	}
	auth += 3;
	put(out, size, &n, url, (size_t)(auth - url));
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		put(out, size, &n, auth, (size_t)((colon ? colon : at) - auth));
		put(out, size, &n, "@", 1);
		auth = at + 1;
	}
	q = strchr(auth, '?');
	put(out, size, &n, auth, q ? (size_t)(q - auth) : strlen(auth));
	if (!q)
		return;
	for (p = q + 1, kept = 0; *p;) {
		size_t len = strcspn(p, "&");

		if (len && !secret_param(p)) {
			put(out, size, &n, kept++ ? "&" : "?", 1);
			put(out, size, &n, p, len);
		}
		p += len;
		if (*p == '&')
			p++;
	}
}

/* Replace every occurrence of what (len bytes) in msg by with. */
static void replace_all(char *msg, size_t size, const char *what, size_t len, const char *with)
{
	size_t wlen = strlen(with);
	char *at = msg;

	if (!len)
		return;
	while ((at = memmem(at, strlen(at), what, len))) {
		size_t tail = strlen(at + len);

		if (wlen > len && (size_t)(at - msg) + wlen + tail + 1 > size)
			tail = size - 1 - (size_t)(at - msg) - wlen; /* cut the end */
		memmove(at + wlen, at + len, tail);
		at[wlen + tail] = '\0';
		memcpy(at, with, wlen);
		at += wlen;
	}
}

static int hexdigit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Scrub one secret (len bytes, percent-encoded as in the URL): raw, and decoded. */
static void scrub_secret(char *msg, size_t size, const char *s, size_t len)
{
	char dec[256];
	size_t n = 0;

	if (len < 2)
		return; /* too short to find without wrecking the message (and not a password anyone uses) */
	replace_all(msg, size, s, len, "***");
	for (size_t i = 0; i < len && n + 1 < sizeof dec; i++) {
		if (s[i] == '%' && i + 2 < len && hexdigit(s[i + 1]) >= 0 && hexdigit(s[i + 2]) >= 0) {
			dec[n++] = (char)(hexdigit(s[i + 1]) * 16 + hexdigit(s[i + 2]));
			i += 2;
		} else {
			dec[n++] = s[i];
		}
	}
	if (n != len)
		replace_all(msg, size, dec, n, "***");
}

void mcm_sql_scrub(char *msg, size_t size, const char *url)
{
	char redacted[1024];
	const char *auth = strstr(url, "://"), *end, *at, *colon, *p;

	mcm_sql_redact(url, redacted, sizeof redacted);
	if (strcmp(redacted, url) != 0)
		replace_all(msg, size, url, strlen(url), redacted);
	if (!auth)
		return;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	if ((at = memrchr(auth, '@', (size_t)(end - auth))) && (colon = memchr(auth, ':', (size_t)(at - auth))))
		scrub_secret(msg, size, colon + 1, (size_t)(at - colon - 1));
	for (p = strchr(auth, '?'); p && *p; p += strcspn(p, "&")) {
		p++;
		if (secret_param(p)) {
			const char *eq = strchr(p, '=');
			scrub_secret(msg, size, eq + 1, strcspn(eq + 1, "&"));
		}
	}
}

void mcm_sql_oneline(char *msg)
{
	char *w = msg;
	int space = 0, line = 0;

	for (const char *r = msg; *r; r++) {
		if (*r == '\n' || *r == '\r') {
			const char *next = r + 1;

			while (*next == ' ' || *next == '\t' || *next == '\n' || *next == '\r')
				next++;
			/* a new sentence on the next line ("...directory\n\tIs the server running", "...user
			 * \"app\"\npassword retrieved..."), not the rest of one ("...abnormally\n\tbefore...") */
			line = line || (w != msg && ((*next >= 'A' && *next <= 'Z') ||
						     !(isalnum((unsigned char)w[-1]) || w[-1] == ',')));
			space = w != msg;
			continue;
		}
		if (*r == ' ' || *r == '\t') {
			space = w != msg;
			continue;
		}
		if (line)
			*w++ = ';';
		if (space)
			*w++ = ' ';
		space = line = 0;
		*w++ = *r;
	}
	*w = '\0';
}

void mcm_sql_why(char *why, size_t size, const char *desc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!size)
		return;
	n = snprintf(why, size, "%s: ", desc);
	if (n < 0 || (size_t)n >= size)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(why + n, size - (size_t)n, fmt, ap);
	va_end(ap);
	mcm_sql_oneline(why + n);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

void mcm_sql_report_skew(const char *cmd, const char *desc, int64_t skew_us, const int64_t *others, size_t n)
{
	int64_t lo = skew_us, hi = skew_us;

	for (size_t i = 0; i < n; i++) {
		lo = others[i] < lo ? others[i] : lo;
		hi = others[i] > hi ? others[i] : hi;
	}
	if (abs64(skew_us) >= SKEW_WORTH_SAYING_US)
		mcm_cli_warn(cmd, "%s: this host's clock is %.3f s %s the database's: the newest write wins by the "
			     "writers' clocks, keep them synchronised (NTP)", desc, (double)abs64(skew_us) / 1e6,
			     skew_us > 0 ? "ahead of" : "behind");
	if (n && hi - lo >= SKEW_WORTH_SAYING_US)
		mcm_cli_warn(cmd, "%s: the clocks of the %zu hosts shipping into it differ by up to %.3f s (as each "
			     "measured against the database when it connected)", desc, n + 1, (double)(hi - lo) / 1e6);
}

const char *mcm_sql_hostname(void)
{
	static char name[256];

	if (!name[0] && gethostname(name, sizeof name - 1) != 0)
		strcpy(name, "?");
	return name;
}

/* ---- the transaction of a sink (both backends) ---------------------------------------------- */

void mcm_sqlsink_abandon(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss)
{
	st->rollback(sink);
	if (!st->connected(sink))
		ss->known->known = 0; /* a COMMIT lost on its way back may have committed: read it again */
	ss->txn->open = 0;
	mcm_sqlbatch_reset(ss->batch);
}

int mcm_sqlsink_change(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss,
		       const struct mcm_change *c, char *why, size_t size)
{
	if (mcm_sqlbatch_add(ss->batch, c, mcm_now_us()) != 0) {
		mcm_sql_why(why, size, ss->desc, "out of memory queueing a batch of %" PRIu64 " changes",
			    ss->batch->changes);
		mcm_sqlsink_abandon(st, sink, ss);
		return -1;
	}
	if (ss->batch->bytes < MCM_SQL_EARLY_BYTES)
		return 0;
	/* a large batch: written now, in its transaction (committed with the position) */
	if ((!ss->txn->open && (st->connect(sink, why, size) != 0 || st->begin(sink, why, size) != 0)) ||
	    st->write_queued(sink, why, size) != 0) {
		mcm_sqlsink_abandon(st, sink, ss);
		return -1;
	}
	mcm_sqlbatch_reset(ss->batch);
	return 0;
}

int mcm_sqlsink_commit(const struct mcm_sql_steps *st, void *sink, const struct mcm_sql_sinkstate *ss,
		       uint64_t position, char *why, size_t size)
{
	int rc = -1;

	if (ss->txn->open) { /* part of it is written already: no going back to the start */
		if (st->write_queued(sink, why, size) != 0 || st->finish(sink, position, why, size) != 0) {
			mcm_sqlsink_abandon(st, sink, ss);
			return -1;
		}
		mcm_sqlbatch_reset(ss->batch);
		return 0;
	}
	for (int attempt = 0; attempt < MCM_SQL_RETRIES; attempt++) {
		struct timespec pause = {0, (long)(1 + attempt) * 10000000L};

		if (st->connect(sink, why, size) != 0)
			break;
		if (st->begin(sink, why, size) == 0 && st->write_queued(sink, why, size) == 0 &&
		    st->finish(sink, position, why, size) == 0) {
			rc = 0;
			break;
		}
		st->rollback(sink);
		ss->txn->open = 0;
		if (!st->connected(sink))
			ss->known->known = 0; /* a COMMIT lost on its way back may have committed: read it again */
		if (!st->retryable(sink))
			break;
		nanosleep(&pause, NULL);
	}
	mcm_sqlbatch_reset(ss->batch);
	return rc;
}
