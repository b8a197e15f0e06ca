/* The switch to a root on a disk, as libkrun's init does it (mount, move
 * over /, chroot), but with its mount point in devtmpfs rather than a
 * directory made in the root share, which is the host's. */
#include "root_disk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define MAX_OPTIONS 64
#define STAGING ROOT_DISK_STAGING

int root_disk_options(const char *options, unsigned long *flags, char *data, size_t data_size)
{
	char copy[1024], *items[MAX_OPTIONS + 1], *save = NULL;
	unsigned int n = 0;

	if (snprintf(copy, sizeof(copy), "%s", options ? options : "") >= (int)sizeof(copy))
		return -1;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (n == MAX_OPTIONS)
			return -1;
		items[n++] = item;
	}
	items[n] = NULL;
	return mount_options_parse(items, flags, data, data_size);
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_size,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -1;
}

/* "auto": ext4 first (the usual root), then what the kernel knows that
 * needs a device (a line without "nodev"). errno: the last attempt's. */
static int mount_any(const char *device, unsigned long flags, const char *data)
{
	char line[128], name[64];
	FILE *f;
	int ret;

	if (mount(device, STAGING, "ext4", flags, data) == 0)
		return 0;
	if (!(f = fopen("/proc/filesystems", "re")))
		return -1;
	ret = -1;
	while (ret < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "nodev", 5) == 0 || sscanf(line, " %63s", name) != 1 ||
		    strcmp(name, "ext4") == 0)
			continue;
		ret = mount(device, STAGING, name, flags, data);
	}
	fclose(f);
	return ret;
}

int root_disk_switch(const char *device, const char *fstype, const char *options, char *err,
		     size_t err_size)
{
	unsigned long flags;
	char data[1024];
	bool any = !fstype || strcmp(fstype, "auto") == 0;

	if (root_disk_options(options, &flags, data, sizeof(data)))
		return fail(err, err_size, "the root disk's options are too long: %s", options);
	/* A mount whose parent is shared cannot move: everything stays
	 * private until the new root is in place. */
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL))
		return fail(err, err_size, "make / private: %s", strerror(errno));
	if (mkdir(STAGING, 0755) && errno != EEXIST)
		return fail(err, err_size, "mkdir %s: %s", STAGING, strerror(errno));
	if (any ? mount_any(device, flags, data) : mount(device, STAGING, fstype, flags, data))
		return fail(err, err_size, "mount %s as %s: %s", device, any ? "any filesystem" : fstype,
			    strerror(errno));
	if (chdir(STAGING) || mount(".", "/", NULL, MS_MOVE, NULL) || chroot("."))
		return fail(err, err_size, "move %s over /: %s", device, strerror(errno));
	chdir("/");
	return 0;
}
