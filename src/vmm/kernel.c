#include "vmm/kernel.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

typedef char *(*krunfw_get_kernel_fn)(size_t *load_addr, size_t *entry_addr, size_t *size);
typedef int (*krunfw_get_version_fn)(void);

/* libkrunfw.so.5 the way libkrun finds it: by its soname, through the
 * dynamic loader's search (LD_LIBRARY_PATH, libkrun.so.1's own RUNPATH, which
 * the build tree sets to the bundle's build folder, the loader's cache and
 * default folders), so a distribution's bundle or LD_LIBRARY_PATH decides.
 * Then beside the libkrun.so.1 this code was loaded from, where `meson
 * install` puts it: a prefix outside the loader's search (/opt, ~/.local)
 * still finds its own bundle when the program reached libkrun.so.1 through
 * its own RUNPATH or a full path. */
static void *dlopen_bundle(char *why, size_t why_len)
{
	void *handle = dlopen(KRUNFW_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (handle)
		return handle;
	int n = snprintf(why, why_len, "%s", dlerror());

	Dl_info self;
	const char *slash;
	if (!dladdr((void *)dlopen_bundle, &self) || !self.dli_fname ||
	    !(slash = strrchr(self.dli_fname, '/')))
		return NULL;
	char path[PATH_MAX];
	int len = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - self.dli_fname),
			   self.dli_fname, KRUNFW_SONAME);
	if (len < 0 || (size_t)len >= sizeof(path))
		return NULL;
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle && n >= 0 && (size_t)n < why_len)
		snprintf(why + n, why_len - n, "; %s", dlerror());
	return handle;
}

static pthread_once_t preload_once = PTHREAD_ONCE_INIT;

/* Loaded once and never unloaded, so that dlopen finds it again by its
 * soname, without a look at the filesystem, once the caller has changed
 * its root. A failure here is not one yet: the client may give a kernel of
 * its own, and if not, open_bundle says what went wrong. */
static void preload_bundle(void)
{
	char why[1024];

	if (!dlopen_bundle(why, sizeof(why)))
		LOG_DBG("no guest kernel bundle loaded with the context: %s", why);
}

void kernel_bundle_preload(void)
{
	pthread_once(&preload_once, preload_bundle);
}

static int open_bundle(struct kernel_image *k)
{
	char why[1024];

	k->krunfw_handle = dlopen_bundle(why, sizeof(why));
	if (!k->krunfw_handle) {
		LOG_ERR("cannot load the guest kernel bundle %s: %s (install it, or give a kernel "
			"with krun_set_kernel)", KRUNFW_SONAME, why);
		return -ENOENT;
	}
	struct link_map *bundle;
	if (dlinfo(k->krunfw_handle, RTLD_DI_LINKMAP, &bundle) == 0)
		LOG_INF("guest kernel bundle: %s", bundle->l_name);
	krunfw_get_kernel_fn get_kernel = (krunfw_get_kernel_fn)dlsym(k->krunfw_handle,
								    "krunfw_get_kernel");
	krunfw_get_version_fn get_version = (krunfw_get_version_fn)dlsym(k->krunfw_handle,
								       "krunfw_get_version");
	if (!get_kernel || !get_version || get_version() != KRUNFW_ABI_VERSION) {
		LOG_ERR("%s does not have libkrunfw's ABI version %d", KRUNFW_SONAME,
			KRUNFW_ABI_VERSION);
		return -EINVAL;
	}
	size_t load, entry, size;
	k->flat = get_kernel(&load, &entry, &size);
	k->load_addr = load;
	k->entry = entry;
	k->size = size;
	if (!k->flat || (uintptr_t)k->flat % 4096 || load % 4096 || size % 4096 || size == 0 ||
	    entry < load || entry - load >= size) {
		LOG_ERR("%s hands out a kernel image that cannot be mapped (load 0x%zx, entry "
			"0x%zx, size %zu)", KRUNFW_SONAME, load, entry, size);
		return -EINVAL;
	}
	return 0;
}

/* A private, writable mapping: the guest writes to its own image, and those
 * writes must not reach the file. */
static int map_file(const char *path, const char *what, void **map, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int ret = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		LOG_ERR("cannot open the %s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		ret = -EINVAL;
		LOG_ERR("the %s %s is not a non-empty regular file", what, path);
		goto out;
	}
	*len = st.st_size;
	*map = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED) {
		ret = -errno;
		*map = NULL;
		LOG_ERR("cannot map the %s %s: %s", what, path, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int kernel_open(struct kernel_image *k, const struct vm_config *cfg)
{
	int ret;

	*k = (struct kernel_image){ 0 };
	if (!cfg->kernel_path) {
		ret = open_bundle(k);
	} else {
		ret = map_file(cfg->kernel_path, "kernel", &k->file_map, &k->file_map_len);
		if (ret == 0 && cfg->kernel_format == VM_KERNEL_ELF) {
			k->is_elf = true;
			k->elf = k->file_map;
			k->elf_len = k->file_map_len;
		} else if (ret == 0) {
			k->flat = k->file_map;
			k->load_addr = k->entry = RAW_KERNEL_LOAD_ADDR;
			/* mmap rounds the mapping up to whole pages, zero-filled */
			k->size = (k->file_map_len + 4095) & ~4095ull;
		}
	}
	if (ret == 0 && cfg->initramfs_path) {
		void *map;
		ret = map_file(cfg->initramfs_path, "initramfs", &map, &k->initramfs_len);
		k->initramfs = ret == 0 ? map : NULL;
	}
	if (ret < 0)
		kernel_close(k);
	return ret;
}

void kernel_close(struct kernel_image *k)
{
	if (k->initramfs)
		munmap(k->initramfs, k->initramfs_len);
	if (k->file_map)
		munmap(k->file_map, k->file_map_len);
	if (k->krunfw_handle)
		dlclose(k->krunfw_handle);
	*k = (struct kernel_image){ 0 };
}
