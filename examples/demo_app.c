/* demo_app.c - a stand-in for a legacy web application that keeps its sessions in memcached.
 *
 * usage: mcmirror-demo-app write|check SERVERS [USERS]
 *   write  logs USERS users in (default 1000): a session per user (binary-safe
 *          value, flags 1, one-hour lifetime), a page-view counter each, the
 *          shared counters "users:logins" and "users:logouts" (incr: users
 *          online are their difference); then logs every tenth user out.
 *   check  reads it all back and prints what it finds; exit 0 when every
 *          session and counter the write step left is there with its value.
 * It is an ordinary libmemcached program: it knows nothing of mcmirror.
 */
#include <inttypes.h>
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static memcached_st *connect_to(const char *servers)
{
	memcached_st *mc = memcached_create(NULL);
	memcached_server_st *list = memcached_servers_parse(servers);

	memcached_server_push(mc, list);
	memcached_server_list_free(list);
	return mc;
}

static size_t session_value(unsigned user, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "{\"user\":%u,\"name\":\"user%u\",\"cart\":[%u,%u]}", user, user,
				user * 7 % 100, user * 13 % 100);
}

static int write_all(memcached_st *mc, unsigned users)
{
	char key[64], value[128];
	uint64_t n;

	if (memcached_set(mc, "users:logins", 12, "0", 1, 0, 0) != MEMCACHED_SUCCESS ||
	    memcached_set(mc, "users:logouts", 13, "0", 1, 0, 0) != MEMCACHED_SUCCESS) {
		fprintf(stderr, "mcmirror-demo-app: cannot write to memcached at the given servers\n");
		return 1;
	}
	for (unsigned u = 0; u < users; u++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "session:%u", u);
		size_t vlen = session_value(u, value, sizeof value);

		if (memcached_set(mc, key, klen, value, vlen, 3600, 1) != MEMCACHED_SUCCESS)
			return 1;
		klen = (size_t)snprintf(key, sizeof key, "views:%u", u);
		memcached_set(mc, key, klen, "0", 1, 0, 0);
		for (unsigned v = 0; v < u % 5 + 1; v++)
			memcached_increment(mc, key, klen, 1, &n);
		memcached_increment(mc, "users:logins", 12, 1, &n);
	}
	for (unsigned u = 0; u < users; u += 10) { /* log out */
		size_t klen = (size_t)snprintf(key, sizeof key, "session:%u", u);
		memcached_delete(mc, key, klen, 0);
		memcached_increment(mc, "users:logouts", 13, 1, &n);
	}
	printf("wrote %u sessions, %u page-view counters, logged out %u users\n", users, users, (users + 9) / 10);
	return 0;
}

static int check_all(memcached_st *mc, unsigned users)
{
	unsigned sessions = 0, bad = 0, counters = 0, expected = users - (users + 9) / 10;
	char key[64], value[128], *got;
	unsigned long logins, logouts, online;
	memcached_return_t rc;
	uint32_t flags;
	size_t len;

	for (unsigned u = 0; u < users; u++) {
		size_t klen = (size_t)snprintf(key, sizeof key, "session:%u", u);
		size_t vlen = session_value(u, value, sizeof value);
		got = memcached_get(mc, key, klen, &len, &flags, &rc);

		if (got && u % 10 == 0)
			bad++; /* logged out: must stay gone */
		else if (got && (len != vlen || memcmp(got, value, len) != 0 || flags != 1))
			bad++;
		else if (got)
			sessions++;
		free(got);
		klen = (size_t)snprintf(key, sizeof key, "views:%u", u);
		got = memcached_get(mc, key, klen, &len, &flags, &rc);
		if (got && strtoul(got, NULL, 10) == u % 5 + 1)
			counters++;
		free(got);
	}
	got = memcached_get(mc, "users:logins", 12, &len, &flags, &rc);
	logins = got ? strtoul(got, NULL, 10) : 0;
	free(got);
	got = memcached_get(mc, "users:logouts", 13, &len, &flags, &rc);
	logouts = got ? strtoul(got, NULL, 10) : 0;
	free(got);
	online = logins >= logouts ? logins - logouts : 0;
	printf("found %u of %u sessions, %u of %u page-view counters, users online %lu (expected %u), %u wrong\n",
	       sessions, expected, counters, users, online, expected, bad);
	return sessions == expected && counters == users && online == expected && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	memcached_st *mc;
	unsigned users;
	int rc;

	if (argc < 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: mcmirror-demo-app write|check SERVERS [USERS]\n");
		return 2;
	}
	users = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1000;
	if (users == 0)
		users = 1;
	mc = connect_to(argv[2]);
	rc = strcmp(argv[1], "write") == 0 ? write_all(mc, users) : check_all(mc, users);
	memcached_free(mc);
	return rc;
}
