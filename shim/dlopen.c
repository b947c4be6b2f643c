/* dlopen.c - make the hooks visible to libraries loaded with RTLD_DEEPBIND.
 *
 * PHP loads its extensions with RTLD_DEEPBIND: such a library resolves its
 * symbols in its own dependencies first, so php-memcached would call
 * libmemcached directly and never reach the preloaded hooks. When a library
 * opened with RTLD_DEEPBIND names libmemcached among its DT_NEEDED entries,
 * the flag is cleared for it; every other dlopen() passes through unchanged.
 * The call to the real dlopen is a tail call, so glibc still sees the
 * application as the caller (its RUNPATH and $ORIGIN keep working).
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

typedef void *(*dlopen_fn)(const char *, int);

static const char NEEDED[] = "libmemcached.so";

static void *real_dlopen;

/* File offset of virtual address vaddr, from the PT_LOAD segments; 0 if none. */
static size_t vaddr_offset(const unsigned char *map, size_t size, const Elf64_Ehdr *eh, Elf64_Addr vaddr)
{
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(map + eh->e_phoff + (size_t)i * eh->e_phentsize);

		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz &&
		    ph->p_offset + (vaddr - ph->p_vaddr) < size)
			return ph->p_offset + (vaddr - ph->p_vaddr);
	}
	return 0;
}

/* Does the ELF image name a libmemcached.so* in DT_NEEDED? */
static int image_needs_libmemcached(const unsigned char *map, size_t size)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map;
	const Elf64_Dyn *dyn = NULL;
	size_t ndyn = 0, strtab = 0;

	if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
		return 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(map + eh->e_phoff + (size_t)i * sizeof(Elf64_Phdr));

		if (ph->p_type == PT_DYNAMIC && ph->p_offset + ph->p_filesz <= size) {
			dyn = (const Elf64_Dyn *)(map + ph->p_offset);
			ndyn = ph->p_filesz / sizeof *dyn;
		}
	}
	for (size_t i = 0; dyn && i < ndyn && dyn[i].d_tag != DT_NULL; i++)
		if (dyn[i].d_tag == DT_STRTAB)
			strtab = vaddr_offset(map, size, eh, dyn[i].d_un.d_ptr);
	if (!strtab)
		return 0;
	for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		size_t name = strtab + dyn[i].d_un.d_val;

		if (dyn[i].d_tag == DT_NEEDED && name < size && size - name > sizeof NEEDED &&
		    memcmp(map + name, NEEDED, sizeof NEEDED - 1) == 0)
			return 1;
	}
	return 0;
}

/* Does the library at path (a path with a '/') link libmemcached directly? */
static int needs_libmemcached(const char *path)
{
	struct stat sb;
	void *map;
	int fd, yes = 0;

	if (!path || !strchr(path, '/'))
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			yes = image_needs_libmemcached(map, (size_t)sb.st_size);
			munmap(map, (size_t)sb.st_size);
		}
	}
	close(fd);
	return yes;
}

MCM_API void *dlopen(const char *file, int mode)
{
	dlopen_fn fn = (dlopen_fn)mcm_real(&real_dlopen, "dlopen");

	if (!fn)
		return NULL;
	if ((mode & RTLD_DEEPBIND) && mcm_config_get()->enabled && needs_libmemcached(file)) {
		mcm_log(3, "loading '%s' without RTLD_DEEPBIND so that its libmemcached calls are mirrored", file);
		mode &= ~RTLD_DEEPBIND;
	}
	return fn(file, mode);
}
