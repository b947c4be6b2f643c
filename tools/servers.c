/* servers.c - parse and check --servers lists and configuration strings (rules: servers.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "servers.h"

/* One entry of a list, split. */
struct entry {
	int socket;
	char host[256];
	unsigned port;
	unsigned weight;
	int v6;
};

/* Is s (len bytes) a decimal number from lo to hi? */
static int number(const char *s, size_t len, unsigned long lo, unsigned long hi, unsigned *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 6)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return 0;
	*out = (unsigned)v;
	return 1;
}

/* ":port[:weight]" after a host, or nothing. @return 0 or -1. */
static int port_weight(const char *p, const char *end, struct entry *e)
{
	const char *colon;

	e->port = MCM_SERVERS_DEFAULT_PORT;
	e->weight = 0;
	if (p == end)
		return 0;
	if (*p != ':')
		return -1;
	p++;
	colon = memchr(p, ':', (size_t)(end - p));
	if (!number(p, (size_t)((colon ? colon : end) - p), 1, 65535, &e->port))
		return -1;
	if (colon && !number(colon + 1, (size_t)(end - colon - 1), 0, 999999, &e->weight))
		return -1;
	return 0;
}

static int set_host(struct entry *e, const char *s, size_t len)
{
	if (len == 0 || len >= sizeof e->host)
		return -1;
	memcpy(e->host, s, len);
	e->host[len] = '\0';
	return 0;
}

/* Split one entry. @return 0, or -1 with why set. */
static int parse_entry(const char *s, size_t len, struct entry *e, char *why, size_t why_size)
{
	const char *end = s + len, *close;
	unsigned char v6[16];
	char buf[256];

	memset(e, 0, sizeof *e);
	if (len == 0) {
		snprintf(why, why_size, "empty server name in the list");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isgraph((unsigned char)s[i])) {
			snprintf(why, why_size, "bad server '%.*s': contains a space or control character", (int)len, s);
			return -1;
		}
	}
	if (memchr(s, '/', len)) { /* a unix socket: "/run/mc.sock", "./mc.sock" */
		e->socket = 1;
		if (set_host(e, s, len) == 0)
			return 0;
		snprintf(why, why_size, "bad server '%.*s': socket path too long", (int)len, s);
		return -1;
	}
	if (s[0] == '[') { /* [v6], [v6]:port[:weight] */
		if (!(close = memchr(s, ']', len)) || set_host(e, s + 1, (size_t)(close - s - 1)) != 0 ||
		    inet_pton(AF_INET6, e->host, v6) != 1 || port_weight(close + 1, end, e) != 0) {
			snprintf(why, why_size, "bad server '%.*s': want [IPv6 address]:port with a port from 1 to 65535",
				 (int)len, s);
			return -1;
		}
		e->v6 = 1;
		return 0;
	}
	if (len < sizeof buf) { /* a bare IPv6 address: port 11211 */
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, v6) == 1) {
			set_host(e, s, len);
			e->v6 = 1;
			e->port = MCM_SERVERS_DEFAULT_PORT;
			return 0;
		}
	}
	close = memchr(s, ':', len);
	if (set_host(e, s, (size_t)((close ? close : end) - s)) != 0 || port_weight(close ? close : end, end, e) != 0) {
		snprintf(why, why_size, "bad server '%.*s': want host:port with a port from 1 to 65535 "
			 "(an IPv6 address with a port as [address]:port)", (int)len, s);
		return -1;
	}
	return 0;
}

static void entry_name(const struct entry *e, char *buf, size_t size)
{
	if (e->socket)
		snprintf(buf, size, "%s", e->host);
	else
		snprintf(buf, size, "%s%s%s:%u", e->v6 ? "[" : "", e->host, e->v6 ? "]" : "", e->port);
}

int mcm_servers_add_list(memcached_st *mc, const char *list, char *why, size_t why_size)
{
	const char *s = list;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct entry e;
		memcached_return_t rc;

		if (parse_entry(s, len, &e, why, why_size) != 0)
			return -1;
		if (e.socket)
			rc = memcached_server_add_unix_socket_with_weight(mc, e.host, e.weight);
		else
			rc = memcached_server_add_with_weight(mc, e.host, (in_port_t)e.port, e.weight);
		if (rc != MEMCACHED_SUCCESS) {
			snprintf(why, why_size, "cannot use server '%.*s': %s", (int)len, s, memcached_strerror(mc, rc));
			return -1;
		}
		if (!comma)
			return mcm_servers_unique(mc, why, why_size);
		s = comma + 1;
	}
}

/* libmemcached's parse error without "(0x7ff...) " in front and " -> file.cc:55" at the end. */
static void clean_error(const char *err, char *out, size_t size)
{
	const char *p = err, *end, *paren, *tok;
	size_t len;

	if (p[0] == '(' && (end = strstr(p, ") ")))
		p = end + 2;
	len = (end = strstr(p, " -> ")) ? (size_t)(end - p) : strlen(p);
	/* "Error occured during parsing (WHAT): last_token=NAME(N)" -> "WHAT (at NAME)" */
	if ((paren = strstr(p, "parsing (")) && (end = strstr(paren, "): ")) && (size_t)(end - p) < len) {
		paren += 9;
		tok = strstr(end, "last_token=");
		if (tok && (size_t)(tok - p) < len) {
			tok += 11;
			snprintf(out, size, "%.*s (at %.*s)", (int)(end - paren), paren, (int)strcspn(tok, "("), tok);
		} else {
			snprintf(out, size, "%.*s", (int)(end - paren), paren);
		}
		return;
	}
	snprintf(out, size, "%.*s", (int)len, p);
}

int mcm_servers_check_config(const char *conf, char *why, size_t why_size)
{
	char err[512] = "", clean[512];

	if (libmemcached_check_configuration(conf, strlen(conf), err, sizeof err) == MEMCACHED_SUCCESS)
		return 0;
	clean_error(err[0] ? err : "parse error", clean, sizeof clean);
	snprintf(why, why_size, "bad configuration string '%s': %s", conf, clean);
	return -1;
}

void mcm_servers_name(const memcached_st *mc, uint32_t idx, char *buf, size_t size)
{
	const memcached_instance_st *in = memcached_server_instance_by_position(mc, idx);
	const char *name = in ? memcached_server_name(in) : NULL, *type = in ? memcached_server_type(in) : NULL;
	int v6;

	if (!name)
		name = "";
	v6 = strchr(name, ':') && name[0] != '[';
	if (type && strcmp(type, "SOCKET") == 0)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", name, v6 ? "]" : "", (unsigned)memcached_server_port(in));
}

int mcm_servers_unique(const memcached_st *mc, char *why, size_t why_size)
{
	uint32_t n = memcached_server_count(mc);
	char a[300], b[300];

	for (uint32_t i = 0; i < n; i++) {
		mcm_servers_name(mc, i, a, sizeof a);
		for (uint32_t k = i + 1; k < n; k++) {
			mcm_servers_name(mc, k, b, sizeof b);
			if (strcmp(a, b) == 0) {
				snprintf(why, why_size, "server '%s' is listed twice", a);
				return -1;
			}
		}
	}
	return 0;
}

int mcm_servers_canonical(const char *entry, char *buf, size_t size)
{
	struct entry e;
	char why[16];

	if (parse_entry(entry, strlen(entry), &e, why, sizeof why) != 0)
		return -1;
	entry_name(&e, buf, size);
	return 0;
}
