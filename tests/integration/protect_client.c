/* protect_client.c - test helper: an application that writes through libmemcached, with SASL or without.
 *
 * usage: protect_client PORT COUNT SIZE PREFIX [CREDFILE]
 *   writes items 0..COUNT-1 to 127.0.0.1:PORT as protect_check.py reads them (key PREFIX%08u, value
 *   make_value, flags i * 2654435761 mod 2^32, no expiry). With CREDFILE (mcmirror's credentials file:
 *   its 'user' and 'password' lines) it authenticates with memcached_set_sasl_auth_data, which makes
 *   libmemcached speak the binary protocol with SASL; without, it speaks the text protocol.
 * Run it under the shim: its pool description then says whether the client used SASL.
 * Exit 0 when every write was stored, 1 otherwise (the password is never printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmemcached/memcached.h>

#define FIELD_MAX 256

/* Read the value of setting name (a line "name value") from path into out. @return 0 or -1. */
static int setting(const char *path, const char *name, char *out, size_t size)
{
	char line[FIELD_MAX + 32];
	size_t n = strlen(name);
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (!f)
		return -1;
	while (rc != 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, name, n) == 0 && line[n] == ' ' && strlen(line + n + 1) < size) {
			strcpy(out, line + n + 1);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

static size_t make_value(unsigned i, char *buf, size_t size)
{
	for (size_t j = 0; j < size; j++)
		buf[j] = (char)('a' + (i + j) % 26);
	if (i % 8 == 0 && size >= 3)
		memcpy(buf, "\0\r\n", 3);
	return size;
}

int main(int argc, char **argv)
{
	char user[FIELD_MAX], password[FIELD_MAX], key[64], *value;
	unsigned count, size, failed = 0;
	memcached_st *mc;
	memcached_return_t rc;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: protect_client PORT COUNT SIZE PREFIX [CREDFILE]\n");
		return 2;
	}
	count = (unsigned)strtoul(argv[2], NULL, 10);
	size = (unsigned)strtoul(argv[3], NULL, 10);
	if (!(mc = memcached_create(NULL)) || !(value = malloc(size ? size : 1)))
		return 1;
	if (argc == 6) {
		if (setting(argv[5], "user", user, sizeof user) != 0 || setting(argv[5], "password", password, sizeof password) != 0) {
			fprintf(stderr, "protect_client: no user or password in '%s'\n", argv[5]);
			return 1;
		}
		memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
		if ((rc = memcached_set_sasl_auth_data(mc, user, password)) != MEMCACHED_SUCCESS) {
			fprintf(stderr, "protect_client: memcached_set_sasl_auth_data: %s\n", memcached_strerror(mc, rc));
			return 1;
		}
		memset(password, 0, sizeof password);
	}
	if (memcached_server_add(mc, "127.0.0.1", (in_port_t)strtoul(argv[1], NULL, 10)) != MEMCACHED_SUCCESS)
		return 1;
	for (unsigned i = 0; i < count; i++) {
		snprintf(key, sizeof key, "%s%08u", argv[4], i);
		rc = memcached_set(mc, key, strlen(key), value, make_value(i, value, size), 0, (uint32_t)(i * 2654435761u));
		if (rc != MEMCACHED_SUCCESS && failed++ == 0)
			fprintf(stderr, "protect_client: set '%s': %s\n", key, memcached_last_error_message(mc));
	}
	if (argc == 6)
		memcached_destroy_sasl_auth_data(mc);
	memcached_free(mc);
	free(value);
	return failed ? 1 : 0;
}
