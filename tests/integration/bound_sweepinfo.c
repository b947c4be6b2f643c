/* bound_sweepinfo.c - test driver of tools/sweepinfo.c (what `mcmirror stats` will show of the bounded mirror).
 *
 * usage: bound_sweepinfo DIR text|json|prometheus    print the figures of mirror DIR in that form
 *        bound_sweepinfo limit SERVERS                "LIMIT": the sum of the servers' limit_maxbytes
 *        bound_sweepinfo over LIVE_BYTES LIVE_ITEMS LIMIT   exit 0 (and "over") when over capacity, else 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweepinfo.h"

int main(int argc, char **argv)
{
	struct mcm_sweepinfo si;
	struct mcm_store *st;
	char err[256];
	uint64_t limit;
	int rc;

	if (argc == 3 && strcmp(argv[1], "limit") == 0) {
		if (mcm_sweepinfo_server_limit(argv[2], &limit, err, sizeof err) != 0) {
			fprintf(stderr, "bound_sweepinfo: %s\n", err);
			return 1;
		}
		printf("%llu\n", (unsigned long long)limit);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "over") == 0) {
		rc = mcm_sweepinfo_over_capacity(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
						 strtoull(argv[4], NULL, 10));
		printf("%s\n", rc ? "over" : "fits");
		return rc ? 0 : 1;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: bound_sweepinfo DIR text|json|prometheus | limit SERVERS | over BYTES ITEMS LIMIT\n");
		return 2;
	}
	if ((rc = mcm_store_open(&st, argv[1], MCM_STORE_RDONLY, 0)) != 0 || (rc = mcm_sweepinfo_read(st, argv[1], &si)) != 0) {
		fprintf(stderr, "bound_sweepinfo: '%s': %s\n", argv[1], mcm_strerror(rc));
		return 1;
	}
	mcm_store_close(st);
	if (strcmp(argv[2], "text") == 0) {
		mcm_sweepinfo_print_text(stdout, &si);
	} else if (strcmp(argv[2], "json") == 0) {
		printf("{");
		mcm_sweepinfo_print_json(stdout, &si);
		printf("}\n");
	} else {
		mcm_sweepinfo_print_prometheus(stdout, &si);
	}
	return 0;
}
