/* shim_every.c - a randomized workload of every intercepted call, to be restored exactly after
 * memcached is killed and the mirror replayed.
 *
 * usage: shim_every run OUT POOL1 POOL2 SEED OPS
 *        shim_every verify OUT
 *   run     Forks 2 children; the parent and each child run 3 threads; every thread (a worker)
 *           owns its keys and writes them through 4 handles of its own: the text protocol and
 *           the binary protocol, each on both pools (POOL1 "h:p", POOL2 "h:p,h:p"), two of them
 *           with a namespace. Each worker makes OPS calls chosen at random (seed SEED + worker):
 *           set (random binary values, numbers, values memcached's safe_strtoull reads as numbers
 *           although they are not plain digits, values too large for the server), add, replace,
 *           append and prepend (chunks with NUL bytes), cas (right, stale, missing), incr and
 *           decr (numbers and non-numbers, 32- and 64-bit offsets), incr/decr with an initial
 *           value (binary), touch, delete, on present and absent keys. Every call's return code
 *           is checked against a model of what the server holds, which the worker keeps; at the
 *           end the server's items are read and must equal the model. Each key is written to OUT
 *           (one line: pool, wire key, present or absent, value, flags, absolute expiry) with the
 *           reason the mirror cannot know it when the last write left its state unknowable to any
 *           client, or "-".
 *   verify  After the kill and the replay: every key of OUT must be on its server exactly as
 *           before (value, flags, expiry within 2 s), or absent as before; a key with a reason may
 *           be absent instead, and is counted with its reason.
 * Prints a summary; exit 0 when everything held, 1 otherwise, 2 on usage errors. Run "run" under
 * the shim; "verify" without it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached/memcached.h>

#include "shim_raw.h"

#define CHILDREN 2
#define THREADS 3
#define KEYS 40            /* per worker */
#define HANDLES 4
#define TOO_LARGE (1536 * 1024) /* over memcached's default item size */
#define BIG 100000
#define SLACK 2            /* seconds an expiry may differ by (memcached's clock) */

/* Why the mirror cannot know a key's state: a client cannot tell from the reply. */
static const char *const WHY_PADDED =
	"incr/decr to fewer digits than the old value: memcached pads the number in place, or stores it "
	"alone when another connection holds the item; the reply does not say which";
static const char *const WHY_INITIAL =
	"incr/decr with an initial value returned the initial value: the server created the item "
	"(flags 0, the new expiry) or counted an old one to it (its flags and expiry), the reply does "
	"not say which";

struct model {
	int present;
	unsigned char *value;
	size_t len;
	uint32_t flags;
	int64_t exp;        /* absolute; 0 never */
	const char *why;    /* the last write left the state unknowable to a client */
};

struct handle {
	memcached_st *mc;
	const char *servers;
	const char *ns;
	int binary;
};

struct worker {
	int id;
	uint64_t rng;
	long ops;
	struct handle h[HANDLES];
	struct model keys[KEYS];
	long failures;
	long calls[16];
};

static const char *pools[2];
static const char *out_path;

static void fail(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "shim_every: worker %d: ", w->id);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	w->failures++;
}

static uint64_t next(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static unsigned pick(struct worker *w, unsigned n)
{
	return (unsigned)(next(w) % n);
}

/* The handle that owns key i, and the key as the application names it. */
static struct handle *handle_of(struct worker *w, unsigned i)
{
	return &w->h[i % HANDLES];
}

static void key_name(const struct worker *w, unsigned i, char *key, size_t size)
{
	snprintf(key, size, "ev%d-%u", w->id, i);
}

/* ---- memcached 1.6.18's number parse (safe_strtoull on the item's data) ---- */

enum number { NUM, NOT_NUM, UNSURE };

static enum number parse_number(const unsigned char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (len == 0)
		return NOT_NUM;
	if (len > 512)
		return UNSURE; /* maybe a chunked item */
	while (i < len && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	if (i == len)
		return UNSURE; /* strtoull reads on past the value */
	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	if (i == len || s[i] < '0' || s[i] > '9')
		return NOT_NUM;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return NOT_NUM;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < len && s[i] != '\0' && s[i] != ' ' && (s[i] < '\t' || s[i] > '\r'))
		return NOT_NUM;
	*out = neg ? 0 - v : v;
	if ((int64_t)*out < 0) { /* strchr for a '-' from the data's start, up to a NUL */
		const unsigned char *nul = memchr(s, '\0', len);

		if (memchr(s, '-', nul ? (size_t)(nul - s) : len))
			return NOT_NUM;
		return nul ? NUM : UNSURE;
	}
	return NUM;
}

/* ---- values ---- */

static size_t random_value(struct worker *w, unsigned char *buf, size_t size)
{
	static const char *const forms[] = {" 9", "+9", "5 abc", "-0", "\t7\n", "abc", "-5", "0x10", "12x"};
	unsigned kind = pick(w, 20);
	size_t len;

	if (kind < 6) /* a number */
		return (size_t)snprintf((char *)buf, size, "%" PRIu64, next(w) % (kind < 3 ? (uint64_t)1000 : (uint64_t)1000000000000ULL));
	if (kind < 9) { /* memcached's looser forms, and non-numbers */
		const char *f = forms[pick(w, sizeof forms / sizeof forms[0])];

		memcpy(buf, f, strlen(f));
		return strlen(f);
	}
	if (kind == 9) {
		memcpy(buf, "5\0", 2);
		return 2;
	}
	if (kind == 10)
		return 0;
	len = kind == 11 ? BIG : pick(w, 600);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)next(w);
	return len;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* A random expiration and the absolute time memcached gives it. */
static time_t random_exp(struct worker *w, int64_t *abs)
{
	switch (pick(w, 4)) {
	case 0:
		*abs = 0;
		return 0;
	case 1: {
		time_t e = (time_t)(now_s() + 3000 + pick(w, 1000));

		*abs = e;
		return e;
	}
	default: {
		time_t e = (time_t)(1000 + pick(w, 5000));

		*abs = now_s() + e;
		return e;
	}
	}
}

static void set_model(struct model *m, const unsigned char *v, size_t len, uint32_t flags, int64_t exp)
{
	free(m->value);
	m->value = malloc(len + 1);
	memcpy(m->value, v, len);
	m->len = len;
	m->flags = flags;
	m->exp = exp;
	m->present = 1;
	m->why = NULL;
}

static void absent_model(struct model *m)
{
	free(m->value);
	m->value = NULL;
	m->len = 0;
	m->present = 0;
	m->why = NULL;
}

/* The server holding key: the pool's one server, or found on either of two. */
static int server_item(const char *servers, const char *wire, struct raw_item *it, char *which, size_t size)
{
	char list[256], *save = NULL;
	int found = 0;

	snprintf(list, sizeof list, "%s", servers);
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		struct raw_item one;
		int rc = raw_get(s, wire, &one);

		if (rc < 0)
			return -1;
		if (rc == 1 && !found++) {
			*it = one;
			snprintf(which, size, "%s", s);
		} else if (rc == 1) {
			free(one.value);
		}
	}
	return found;
}

/* The server's item, read back into the model (after a write whose result a client cannot know). */
static void read_back(struct worker *w, struct handle *h, const char *key, struct model *m, const char *why)
{
	char wire[300], where[64];
	struct raw_item it;
	int rc;

	snprintf(wire, sizeof wire, "%s%s", h->ns, key);
	rc = server_item(h->servers, wire, &it, where, sizeof where);
	if (rc < 0) {
		fail(w, "cannot read '%s'", wire);
		return;
	}
	if (rc == 0) {
		absent_model(m);
	} else {
		set_model(m, (unsigned char *)it.value, it.value_len, it.flags, it.ttl < 0 ? 0 : now_s() + it.ttl);
		free(it.value);
	}
	m->why = why;
}

static void expect_rc(struct worker *w, memcached_return_t rc, memcached_return_t want, const char *op,
		      const char *key)
{
	if (rc != want)
		fail(w, "%s '%s': %s, the model expected %s", op, key, memcached_strerror(NULL, rc),
		     memcached_strerror(NULL, want));
}

/* ---- the calls ---- */

static uint64_t cas_of(struct handle *h, const char *key)
{
	const char *keys[1] = {key};
	size_t lens[1] = {strlen(key)};
	memcached_return_t rc;
	memcached_result_st *r;
	uint64_t cas = 0;

	if (memcached_mget(h->mc, keys, lens, 1) != MEMCACHED_SUCCESS)
		return 0;
	while ((r = memcached_fetch_result(h->mc, NULL, &rc))) {
		cas = memcached_result_cas(r);
		memcached_result_free(r);
	}
	return cas;
}

static void op_store(struct worker *w, struct handle *h, const char *key, struct model *m, unsigned op,
		     unsigned char *buf)
{
	size_t len = random_value(w, buf, TOO_LARGE), kl = strlen(key);
	uint32_t flags = (uint32_t)next(w);
	int64_t abs;
	time_t exp = random_exp(w, &abs);
	memcached_return_t rc;
	uint64_t cas;

	if (op == 0 && pick(w, 40) == 0) { /* too large: a set unlinks the old item */
		memset(buf, 'L', TOO_LARGE);
		rc = memcached_set(h->mc, key, kl, (char *)buf, TOO_LARGE, exp, flags);
		expect_rc(w, rc, MEMCACHED_E2BIG, "set (too large)", key);
		absent_model(m);
		return;
	}
	switch (op) {
	case 0:
		rc = memcached_set(h->mc, key, kl, (char *)buf, len, exp, flags);
		expect_rc(w, rc, MEMCACHED_SUCCESS, "set", key);
		set_model(m, buf, len, flags, abs);
		break;
	case 1:
		rc = memcached_add(h->mc, key, kl, (char *)buf, len, exp, flags);
		expect_rc(w, rc, !m->present ? MEMCACHED_SUCCESS : h->binary ? MEMCACHED_DATA_EXISTS : MEMCACHED_NOTSTORED,
			  "add", key);
		if (!m->present)
			set_model(m, buf, len, flags, abs);
		break;
	case 2:
		rc = memcached_replace(h->mc, key, kl, (char *)buf, len, exp, flags);
		expect_rc(w, rc, m->present ? MEMCACHED_SUCCESS : h->binary ? MEMCACHED_NOTFOUND : MEMCACHED_NOTSTORED,
			  "replace", key);
		if (m->present)
			set_model(m, buf, len, flags, abs);
		break;
	default: /* cas: right, stale, or on an absent key */
		cas = m->present ? cas_of(h, key) : 1 + pick(w, 1000);
		if (m->present && pick(w, 3) == 0)
			cas++;
		rc = memcached_cas(h->mc, key, kl, (char *)buf, len, exp, flags, cas);
		if (!m->present) {
			expect_rc(w, rc, MEMCACHED_NOTFOUND, "cas", key);
		} else if (rc == MEMCACHED_SUCCESS) {
			set_model(m, buf, len, flags, abs);
		} else {
			expect_rc(w, rc, MEMCACHED_DATA_EXISTS, "cas", key);
		}
		break;
	}
}

static void op_concat(struct worker *w, struct handle *h, const char *key, struct model *m, int append)
{
	unsigned char chunk[64];
	size_t len = pick(w, sizeof chunk), kl = strlen(key);
	memcached_return_t rc;

	for (size_t i = 0; i < len; i++)
		chunk[i] = pick(w, 3) == 0 ? 0 : (unsigned char)next(w); /* NUL bytes among them */
	rc = append ? memcached_append(h->mc, key, kl, (char *)chunk, len, 0, 0)
		    : memcached_prepend(h->mc, key, kl, (char *)chunk, len, 0, 0);
	expect_rc(w, rc, m->present ? MEMCACHED_SUCCESS : MEMCACHED_NOTSTORED, append ? "append" : "prepend", key);
	if (m->present && rc == MEMCACHED_SUCCESS) { /* (a key the mirror dropped stays dropped: m->why) */
		unsigned char *v = malloc(m->len + len + 1);

		memcpy(v + (append ? 0 : len), m->value, m->len);
		memcpy(v + (append ? m->len : 0), chunk, len);
		free(m->value);
		m->value = v;
		m->len += len;
	}
}

static void op_delta(struct worker *w, struct handle *h, const char *key, struct model *m)
{
	int incr = (int)pick(w, 2), initial = h->binary && pick(w, 4) == 0, by_key = pick(w, 2);
	uint64_t before = 0, off = by_key ? next(w) % 5000000000ULL : pick(w, 1000), v = 0, init = pick(w, 100);
	enum number kind = m->present ? parse_number(m->value, m->len, &before) : NOT_NUM;
	size_t kl = strlen(key);
	int64_t abs;
	time_t exp = random_exp(w, &abs);
	memcached_return_t rc;
	char digits[32];

	if (m->present && kind == UNSURE)
		return; /* a value memcached may or may not take for a number: not this key */
	if (initial) {
		rc = incr ? memcached_increment_with_initial_by_key(h->mc, key, kl, key, kl, off, init, exp, &v)
			  : memcached_decrement_with_initial_by_key(h->mc, key, kl, key, kl, off, init, exp, &v);
	} else if (by_key) {
		rc = incr ? memcached_increment_by_key(h->mc, key, kl, key, kl, off, &v)
			  : memcached_decrement_by_key(h->mc, key, kl, key, kl, off, &v);
	} else {
		rc = incr ? memcached_increment(h->mc, key, kl, (uint32_t)off, &v)
			  : memcached_decrement(h->mc, key, kl, (uint32_t)off, &v);
	}
	if (!m->present && initial) { /* created: the initial value, flags 0, the given expiry */
		expect_rc(w, rc, MEMCACHED_SUCCESS, "incr/decr with initial", key);
		snprintf(digits, sizeof digits, "%" PRIu64, init);
		set_model(m, (unsigned char *)digits, strlen(digits), 0, abs);
		m->why = WHY_INITIAL;
		return;
	}
	if (!m->present) {
		expect_rc(w, rc, MEMCACHED_NOTFOUND, "incr/decr", key);
		return;
	}
	if (kind == NOT_NUM) {
		if (memcached_success(rc))
			fail(w, "incr/decr '%s': succeeded on a value that is not a number", key);
		return;
	}
	expect_rc(w, rc, MEMCACHED_SUCCESS, "incr/decr", key);
	before = incr ? before + off : (off > before ? 0 : before - off);
	if (v != before)
		fail(w, "incr/decr '%s': %" PRIu64 ", the model expected %" PRIu64, key, v, before);
	snprintf(digits, sizeof digits, "%" PRIu64, before);
	if (initial && before == init) {
		read_back(w, h, key, m, WHY_INITIAL);
	} else if (strlen(digits) < m->len) {
		read_back(w, h, key, m, WHY_PADDED);
	} else {
		free(m->value);
		m->value = (unsigned char *)strdup(digits);
		m->len = strlen(digits);
	}
}

static void one_call(struct worker *w, unsigned char *buf)
{
	unsigned i = pick(w, KEYS), op = pick(w, 12);
	struct handle *h = handle_of(w, i);
	struct model *m = &w->keys[i];
	char key[64];
	int64_t abs;
	time_t exp;
	memcached_return_t rc;

	key_name(w, i, key, sizeof key);
	w->calls[op]++;
	switch (op) {
	case 0: case 1: case 2: case 3: case 4:
		op_store(w, h, key, m, op < 2 ? 0 : op - 1, buf);
		break;
	case 5:
	case 6:
		op_concat(w, h, key, m, op == 5);
		break;
	case 7:
	case 8:
		op_delta(w, h, key, m);
		break;
	case 9:
		exp = random_exp(w, &abs);
		rc = memcached_touch(h->mc, key, strlen(key), exp);
		expect_rc(w, rc, m->present ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND, "touch", key);
		if (m->present)
			m->exp = abs;
		break;
	default:
		rc = memcached_delete(h->mc, key, strlen(key), 0);
		expect_rc(w, rc, m->present ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND, "delete", key);
		absent_model(m);
		break;
	}
}

/* ---- run ---- */

static memcached_st *connect_to(const char *servers, int binary, const char *ns)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
	if (binary)
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	if (ns[0])
		memcached_callback_set(mc, MEMCACHED_CALLBACK_PREFIX_KEY, ns);
	return mc;
}

/* Hex of len bytes into a malloc'd string ("-" for none). */
static char *hex(const unsigned char *v, size_t len)
{
	char *s = malloc(2 * len + 2);

	if (len == 0)
		return strcpy(s, "-");
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", v[i]);
	return s;
}

/* Compare the model of every key with the server, and write the keys to OUT. */
static void finish(struct worker *w)
{
	FILE *f = fopen(out_path, "a");

	if (!f) {
		fail(w, "cannot open '%s'", out_path);
		return;
	}
	flock(fileno(f), LOCK_EX);
	for (unsigned i = 0; i < KEYS; i++) {
		struct handle *h = handle_of(w, i);
		struct model *m = &w->keys[i];
		struct raw_item it = {0};
		char key[64], wire[300], where[64] = "";
		int rc;

		key_name(w, i, key, sizeof key);
		snprintf(wire, sizeof wire, "%s%s", h->ns, key);
		if ((rc = server_item(h->servers, wire, &it, where, sizeof where)) < 0) {
			fail(w, "cannot read '%s'", wire);
			continue;
		}
		if (rc != m->present) {
			fail(w, "'%s': the server %s it, the model says %s", wire, rc ? "holds" : "lacks",
			     m->present ? "present" : "absent");
		} else if (rc && (it.value_len != m->len || memcmp(it.value, m->value, m->len) != 0 ||
				  it.flags != m->flags ||
				  llabs((it.ttl < 0 ? 0 : now_s() + it.ttl) - m->exp) > SLACK + 1)) {
			fail(w, "'%s': the server's item is not the model's (%zu/%zu bytes, flags %u/%u)", wire,
			     it.value_len, m->len, it.flags, m->flags);
		} else {
			char *v = hex(m->value, m->len);

			fprintf(f, "%s\t%s\t%c\t%s\t%" PRIu32 "\t%" PRId64 "\t%s\n", h->servers, wire, rc ? 'P' : 'A', v,
				m->flags, m->exp, m->why ? m->why : "-");
			free(v);
		}
		free(it.value);
	}
	fflush(f);
	flock(fileno(f), LOCK_UN);
	fclose(f);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	static const char *const ns[HANDLES] = {"", "evb:", "eva:", ""};
	unsigned char *buf = malloc(TOO_LARGE);

	for (int i = 0; i < HANDLES; i++) {
		/* text and binary on both pools; namespaces on two */
		w->h[i] = (struct handle){connect_to(pools[i / 2], i % 2, ns[i]), pools[i / 2], ns[i], i % 2};
	}
	for (long n = 0; n < w->ops; n++)
		one_call(w, buf);
	finish(w);
	for (int i = 0; i < HANDLES; i++)
		memcached_free(w->h[i].mc);
	for (unsigned i = 0; i < KEYS; i++)
		free(w->keys[i].value);
	free(buf);
	return NULL;
}

/* One process: THREADS workers, ids from first. Returns the failures. */
static long run_process(int first, uint64_t seed, long ops)
{
	pthread_t t[THREADS];
	struct worker *w = calloc(THREADS, sizeof *w);
	long failures = 0, calls[16] = {0};

	for (int i = 0; i < THREADS; i++) {
		w[i].id = first + i;
		w[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(first + i + 1) * 0xBF58476D1CE4E5B9ULL;
		w[i].ops = ops;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
		for (int j = 0; j < 16; j++)
			calls[j] += w[i].calls[j];
	}
	printf("process %d: calls set %ld add %ld replace %ld cas %ld append %ld prepend %ld incr/decr %ld "
	       "touch %ld delete %ld; failures %ld\n",
	       first / THREADS, calls[0] + calls[1], calls[2], calls[3], calls[4], calls[5], calls[6],
	       calls[7] + calls[8], calls[9], calls[10] + calls[11], failures);
	fflush(stdout);
	free(w);
	return failures;
}

static int run(uint64_t seed, long ops)
{
	pid_t kids[CHILDREN];
	long failures;
	int bad = 0;

	printf("seed %" PRIu64 "\n", seed);
	fflush(stdout);
	for (int c = 0; c < CHILDREN; c++)
		if ((kids[c] = fork()) == 0)
			_exit(run_process((c + 1) * THREADS, seed, ops) ? 1 : 0);
	failures = run_process(0, seed, ops);
	for (int c = 0; c < CHILDREN; c++) {
		int status;

		if (waitpid(kids[c], &status, 0) != kids[c] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	return failures || bad ? 1 : 0;
}

/* ---- verify ---- */

static int verify(void)
{
	FILE *f = fopen(out_path, "r");
	char *line = NULL;
	size_t cap = 0;
	long keys = 0, same = 0, absent = 0, dropped = 0, failures = 0, padded = 0, initial = 0;

	if (!f) {
		fprintf(stderr, "shim_every: cannot open '%s'\n", out_path);
		return 1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *field[7], *save = NULL, where[64];
		struct raw_item it = {0};
		int n = 0, rc;
		char *v;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, "\t", &save); t && n < 7; t = strtok_r(NULL, "\t", &save))
			field[n++] = t;
		if (n != 7) {
			fprintf(stderr, "shim_every: bad line in '%s'\n", out_path);
			return 1;
		}
		keys++;
		if ((rc = server_item(field[0], field[1], &it, where, sizeof where)) < 0)
			return 1;
		v = rc ? hex((unsigned char *)it.value, it.value_len) : NULL;
		if (field[2][0] == 'A' && !rc) {
			absent++;
		} else if (field[2][0] == 'P' && rc && strcmp(v, field[3]) == 0 &&
			   it.flags == (uint32_t)strtoul(field[4], NULL, 10) &&
			   llabs((it.ttl < 0 ? 0 : now_s() + it.ttl) - strtoll(field[5], NULL, 10)) <= SLACK + 1) {
			same++;
		} else if (field[2][0] == 'P' && !rc && strcmp(field[6], "-") != 0) {
			dropped++;
			padded += field[6] == strstr(field[6], "incr/decr to fewer");
			initial += field[6] == strstr(field[6], "incr/decr with an initial");
		} else {
			failures++;
			printf("FAIL %s '%s': before the crash %s (%s bytes of value, flags %s, expiry %s), now %s\n",
			       field[0], field[1], field[2][0] == 'P' ? "present" : "absent",
			       field[2][0] == 'P' ? "some" : "no", field[4], field[5],
			       rc ? "present, different" : "absent");
		}
		free(v);
		free(it.value);
	}
	free(line);
	fclose(f);
	printf("shim_every: %ld keys: %ld restored exactly, %ld absent as before, %ld dropped for a reason "
	       "(%ld: incr/decr to fewer digits, padded or not; %ld: incr/decr with an initial value returned "
	       "it), %ld wrong\n",
	       keys, same, absent, dropped, padded, initial, failures);
	return failures || keys == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "run") == 0) {
		out_path = argv[2];
		pools[0] = argv[3];
		pools[1] = argv[4];
		return run(strtoull(argv[5], NULL, 0), atol(argv[6]));
	}
	if (argc == 3 && strcmp(argv[1], "verify") == 0) {
		out_path = argv[2];
		return verify();
	}
	fprintf(stderr, "usage: shim_every run OUT POOL1 POOL2 SEED OPS | shim_every verify OUT\n");
	return 2;
}
