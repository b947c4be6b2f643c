/* shim_raw.h - plain-socket memcached requests for the shim tests, bypassing libmemcached.
 *
 * The shim driver uses them to change the server behind the shim's back (so the
 * mirror holds a stale or no record), and mirror_check to read an item's value,
 * flags and remaining TTL with the meta command `mg`, which libmemcached lacks.
 * Servers are "host:port" (loopback in tests). One connection per request.
 */
#ifndef SHIM_RAW_H
#define SHIM_RAW_H

#include <stddef.h>
#include <stdint.h>

/** An item as `mg <key> v f t` reports it. */
struct raw_item {
	char *value;      /**< malloc'd, value_len bytes (+ a NUL); free() it */
	size_t value_len;
	uint32_t flags;
	int64_t ttl;      /**< remaining seconds; -1 = never expires */
};

/** Send request (len bytes) to server and read one reply line (CRLF removed)
 * into line (size bytes).
 * @return 0, or -1 with a message on stderr. */
int raw_request(const char *server, const char *request, size_t len, char *line, size_t size);

/** Read key from server.
 * @return 1 found (*item filled), 0 absent, -1 error (message on stderr). */
int raw_get(const char *server, const char *key, struct raw_item *item);

/** Send request to server on a connection of its own and read only the first
 * byte of its reply (the server has run it): the server keeps the items of a
 * large reply referenced until it is read.
 * @return the connection for raw_release, or -1 (message on stderr). */
int raw_hold(const char *server, const char *request, size_t len);

/** Close a connection of raw_hold (-1: nothing). */
void raw_release(int fd);

#endif
