/* servers.h - the --servers argument of replay, verify and import: a server list or a
 * libmemcached configuration string, checked and turned into libmemcached's servers.
 *
 * A list is "ENTRY[,ENTRY...]" where an ENTRY is
 *   host:port[:weight]      a name or IPv4 address (weight as libmemcached takes it)
 *   host                    the same, port 11211 (memcached's default)
 *   [v6]:port[:weight], [v6], v6   an IPv6 address ("::1" alone is port 11211)
 *   /path, ./path, any entry with a '/'   a unix socket
 * Ports are 1..65535; a server named twice is refused. libmemcached's own
 * parser (memcached_servers_parse) takes "::1" as "localhost" and a relative
 * socket path as a host name, and garbage ports as 11211: so the list is
 * parsed here. A configuration string ("--SERVER=...") goes to libmemcached;
 * its error message is given without the pointer and source location
 * libmemcached puts in it.
 */
#ifndef MCM_SERVERS_H
#define MCM_SERVERS_H

#include <libmemcached/memcached.h>
#include <stddef.h>

/** memcached's port when a list entry names none. */
#define MCM_SERVERS_DEFAULT_PORT 11211

/** Add every server of list to mc.
 * @return 0, or -1 with why set (a usage error: names the entry and the rule). */
int mcm_servers_add_list(memcached_st *mc, const char *list, char *why, size_t why_size);

/** Check a configuration string as libmemcached parses it.
 * @return 0, or -1 with why set to a clean message. */
int mcm_servers_check_config(const char *conf, char *why, size_t why_size);

/** Refuse a server named twice (after canonical spelling: "[v6]:port", "host:port", a path).
 * @return 0, or -1 with why set. */
int mcm_servers_unique(const memcached_st *mc, char *why, size_t why_size);

/** The canonical spelling of server idx of mc ("host:port", "[v6]:port" or a socket path). */
void mcm_servers_name(const memcached_st *mc, uint32_t idx, char *buf, size_t size);

/** The canonical spelling of one list entry (as --only-server gives it), or
 * -1 when it is not a valid entry. */
int mcm_servers_canonical(const char *entry, char *buf, size_t size);

#endif
