/* A program built against the installed libkrun, with the flags pkg-config
 * gives for it (install-tree.sh builds it). It says which libkrun.so.1 the
 * loader gave it, then starts a VM with 1 MiB of RAM, which fails right after
 * the kernel bundle is loaded, before KVM is opened, on any host: libkrun's
 * log (level info) says which kernel bundle it loaded. */
#define _GNU_SOURCE /* dlinfo */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>

#include <libkrun.h>

int main(void)
{
	/* By its soname, as loaded: the path the loader found it at. */
	void *self = dlopen("libkrun.so.1", RTLD_NOW | RTLD_NOLOAD);
	struct link_map *lib;
	if (!self || dlinfo(self, RTLD_DI_LINKMAP, &lib) != 0) {
		fprintf(stderr, "libkrun.so.1 is not loaded: %s\n", dlerror());
		return 2;
	}
	printf("libkrun: %s\n", lib->l_name);
	fflush(stdout);

	int32_t ctx = krun_create_ctx();
	if (krun_set_log_level(KRUN_LOG_LEVEL_INFO) < 0 || ctx < 0 ||
	    krun_set_vm_config(ctx, 1, 1) < 0) {
		fprintf(stderr, "cannot set up a context (%d)\n", ctx);
		return 2;
	}
	printf("krun_start_enter: %d\n", krun_start_enter(ctx));
	return 0;
}
