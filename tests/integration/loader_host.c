/* loader_host.c - load a plugin like PHP (RTLD_DEEPBIND) or Python (RTLD_LOCAL) and make it write.
 *
 * usage: loader_host deepbind|local PLUGIN SERVERS KEY VALUE
 *        loader_host runpath     (dlopen a bare library name found only through this program's RUNPATH)
 * Exit 0 when the plugin's set succeeded (or the RUNPATH library loaded). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	int (*set)(const char *, const char *, const char *);
	int (*answer)(void);
	void *h;
	int mode;

	if (argc == 2 && strcmp(argv[1], "runpath") == 0) {
		if (!(h = dlopen("libloader_empty.so", RTLD_NOW)) || !(answer = (int (*)(void))dlsym(h, "loader_empty_answer"))) {
			fprintf(stderr, "loader_host: %s\n", dlerror());
			return 1;
		}
		return answer() == 42 ? 0 : 1;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: loader_host deepbind|local PLUGIN SERVERS KEY VALUE | runpath\n");
		return 2;
	}
	mode = strcmp(argv[1], "deepbind") == 0 ? RTLD_LAZY | RTLD_GLOBAL | RTLD_DEEPBIND : RTLD_NOW | RTLD_LOCAL;
	if (!(h = dlopen(argv[2], mode)) || !(set = (int (*)(const char *, const char *, const char *))dlsym(h, "plugin_set"))) {
		fprintf(stderr, "loader_host: %s\n", dlerror());
		return 1;
	}
	return set(argv[3], argv[4], argv[5]);
}
