/* step.c - server connections whose replies are out of step with their requests.
 *
 * libmemcached reads one reply per text-protocol request and closes a connection only after a
 * "fatal" error (a timeout, a read failure, a SERVER_ERROR...). When memcached answers one
 * request with more than one reply (a storage command it refused before its data block: the
 * block is then read as commands), every later call on that connection reads the reply meant
 * for the one before it, until libmemcached closes the socket; and when the block held a
 * command that waits for data, later requests feed it. mirror.c notes such a connection here
 * (out of step, or carrying injected commands), and asks about it before each call while any
 * is noted: a connection is named by its memcached_st and the server's position in its list,
 * and remembered with the identity of its socket (SO_COOKIE). As long as the same socket is
 * open there, its replies mean nothing; a socket closed or replaced means libmemcached has
 * reconnected, and the new connection is in step.
 *
 * libmemcached 1.1.4 exports no getter for the descriptor: it is read from the instance
 * (memcached_instance_st.fd, offset 20), after checking the fields around it against the
 * exported getters (response count at 12, port at 16, connection type at 108). If they do
 * not match (another libmemcached), a noted connection stays noted until its memcached_st is
 * freed: writes through it are dropped, never trusted.
 *
 * Cost: the common path (nothing noted in the process) is one atomic load; the rest (a hash of
 * the call's key to its server, a getsockopt) runs only while something is noted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "mcm_counters.h"
#include "shim.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define MARKS 256            /* connections noted at once in a process */
#define ID_UNKNOWN UINT64_MAX /* the socket cannot be observed: noted until memcached_free */

/* libmemcached 1.1.4's struct memcached_instance_st, the fields read here. */
#define OFF_RESPONSES 12 /* uint32_t cursor_active_ (memcached_server_response_count) */
#define OFF_PORT 16      /* in_port_t port_ (memcached_server_port) */
#define OFF_FD 20        /* int fd */
#define OFF_TYPE 108     /* memcached_connection_t type (memcached_server_type) */

struct mark {
	const memcached_st *mc;
	uint32_t server;     /* position in mc's server list */
	uint8_t level;       /* enum mcm_step */
	uint64_t socket;     /* SO_COOKIE of the socket noted */
};

unsigned mcm_step_noted;
static struct mark marks[MARKS];
static unsigned nmarks;
static int overflow; /* the highest level of a note that did not fit: every call is at least there */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void after_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

__attribute__((constructor)) static void mcm_step_init(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

static void publish(void)
{
	__atomic_store_n(&mcm_step_noted, nmarks + (overflow != 0), __ATOMIC_RELAXED);
}

/* The socket descriptor of in, read from libmemcached's instance; -2 when the
 * layout is not the one expected. */
static int instance_fd(const memcached_instance_st *in)
{
	const unsigned char *p = (const unsigned char *)in;
	const char *type = memcached_server_type(in);
	uint32_t responses, kind;
	uint16_t port;
	int32_t fd;

	memcpy(&responses, p + OFF_RESPONSES, sizeof responses);
	memcpy(&port, p + OFF_PORT, sizeof port);
	memcpy(&fd, p + OFF_FD, sizeof fd);
	memcpy(&kind, p + OFF_TYPE, sizeof kind);
	if (responses != memcached_server_response_count(in) || port != memcached_server_port(in) || !type ||
	    kind != (uint32_t)(strcmp(type, "TCP") == 0 ? MEMCACHED_CONNECTION_TCP
			       : strcmp(type, "UDP") == 0 ? MEMCACHED_CONNECTION_UDP
							  : MEMCACHED_CONNECTION_UNIX_SOCKET)) {
		mcm_log_once(MCM_CAUSE_LAYOUT, "cannot observe libmemcached's connections (%s): a connection "
			     "out of step stays distrusted until its memcached_st is freed", memcached_lib_version());
		return -2;
	}
	return fd;
}

/* The identity of the socket of server position i of mc: its SO_COOKIE, 0
 * when it has none (closed), ID_UNKNOWN when it cannot be observed. */
static uint64_t socket_of(memcached_st *mc, uint32_t i)
{
	const memcached_instance_st *in = memcached_server_instance_by_position(mc, i);
	uint64_t cookie = 0;
	socklen_t len = sizeof cookie;
	struct stat sb;
	int fd;

	if (!in || (fd = instance_fd(in)) == -2)
		return ID_UNKNOWN;
	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 && cookie != 0)
		return cookie;
	if (errno != ENOPROTOOPT) /* not a socket any more: the one noted is gone */
		return 0;
	if (fstat(fd, &sb) != 0) /* a kernel without SO_COOKIE: the socket's inode */
		return 0;
	return (uint64_t)sb.st_ino | 1ULL << 62;
}

/* The server position the call with routing key (route, len) goes to; -1
 * when it cannot be told (random distribution, servers ejected on failure). */
static int64_t server_of(memcached_st *mc, const char *route, size_t len)
{
	uint32_t count = memcached_server_count(mc);

	if (count == 1)
		return 0;
	if (count == 0 || memcached_behavior_get_distribution(mc) == MEMCACHED_DISTRIBUTION_RANDOM ||
	    memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS) ||
	    memcached_behavior_get(mc, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS))
		return -1;
	return memcached_generate_hash(mc, route ? route : "", route ? len : 0);
}

static struct mark *find(const memcached_st *mc, uint32_t server)
{
	for (unsigned i = 0; i < nmarks; i++)
		if (marks[i].mc == mc && marks[i].server == server)
			return &marks[i];
	return NULL;
}

static void drop_mark(struct mark *m)
{
	*m = marks[--nmarks];
}

/* The level noted for server i of mc, forgetting the note when the socket changed. */
static int level_of(memcached_st *mc, uint32_t i)
{
	struct mark *m = find(mc, i);
	uint64_t now;

	if (!m)
		return MCM_STEP_IN;
	if (m->socket != ID_UNKNOWN && ((now = socket_of(mc, i)) == 0 || now != m->socket)) {
		drop_mark(m); /* libmemcached reconnected: in step again */
		return MCM_STEP_IN;
	}
	return m->level;
}

int mcm_step_check(memcached_st *mc, const char *route, size_t len)
{
	int64_t target = server_of(mc, route, len);
	int level = MCM_STEP_IN;

	pthread_mutex_lock(&lock);
	if (target >= 0) {
		level = level_of(mc, (uint32_t)target);
	} else {
		for (uint32_t i = 0, n = memcached_server_count(mc); i < n; i++) {
			int l = level_of(mc, i);

			level = l > level ? l : level;
		}
	}
	if (overflow > level)
		level = overflow;
	publish();
	pthread_mutex_unlock(&lock);
	return level;
}

/* Note server i of mc at level, with its socket as it is now; 1 when it is
 * newly out of step (0: closed already, or noted before). */
static int note(memcached_st *mc, uint32_t i, int level)
{
	uint64_t id = socket_of(mc, i);
	struct mark *m;

	if (id == 0)
		return 0; /* closed already: libmemcached reconnects before the next request */
	if ((m = find(mc, i)) && m->socket == id) {
		m->level = (uint8_t)(level > m->level ? level : m->level);
		return 0;
	}
	if (!m && nmarks == MARKS) {
		mcm_log_once(MCM_CAUSE_STEP, "more than %d connections out of step at once: replies on "
			     "the text protocol are no longer trusted in this process", MARKS);
		overflow = level > overflow ? level : overflow;
		return 1;
	}
	if (!m)
		m = &marks[nmarks++];
	*m = (struct mark){mc, i, (uint8_t)level, id};
	return 1;
}

void mcm_step_mark(memcached_st *mc, const char *route, size_t len, int level)
{
	int64_t target = server_of(mc, route, len);
	int noted = 0;

	pthread_mutex_lock(&lock);
	if (target >= 0) {
		noted = note(mc, (uint32_t)target, level);
	} else {
		for (uint32_t i = 0, n = memcached_server_count(mc); i < n; i++)
			noted |= note(mc, i, level);
	}
	publish();
	pthread_mutex_unlock(&lock);
	if (noted)
		mcm_writer_count(MCM_CTR_OUT_OF_STEP);
}

void mcm_step_forget(const memcached_st *mc)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < nmarks;)
		if (marks[i].mc == mc)
			drop_mark(&marks[i]);
		else
			i++;
	publish();
	pthread_mutex_unlock(&lock);
}
