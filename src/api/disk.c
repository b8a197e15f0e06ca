/* Disks: libkrun's krun_add_disk, krun_add_disk2, krun_add_disk3, the
 * deprecated krun_set_root_disk and krun_set_data_disk, and
 * krun_set_root_disk_remount. Each checks its arguments and records them;
 * the images are opened and locked when the VM is built (devices/blk/). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/context.h"

/* The remount's strings travel to the init on the kernel command line
 * (KRUN_BLOCK_ROOT_*), whose 2048 bytes the rest needs too. */
#define MAX_REMOUNT_ARG 256

/* A block id becomes the guest's serial (sysfs prints it as text): visible
 * ASCII, so that it reads back the same. */
static bool block_id_ok(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > VM_MAX_BLOCK_ID_LEN)
		return false;
	for (const char *c = id; *c; c++)
		if (*c <= ' ' || *c > '~')
			return false;
	return true;
}

/* Record a disk; replace: an entry with the same block id is replaced (the
 * deprecated calls, as libkrun keeps one root and one data disk), else it
 * is -EEXIST. first: the new entry goes before every other (root). */
static int add_disk(const char *caller, uint32_t ctx_id, const char *block_id, const char *path,
		    uint32_t format, bool read_only, bool direct_io, uint32_t sync, bool replace,
		    bool first)
{
	struct vm_disk disk = { .format = format, .sync = sync, .read_only = read_only,
				.direct_io = direct_io };
	struct vm_config *cfg;
	unsigned int i;
	int ret = 0;

	if (!block_id || !block_id_ok(block_id))
		return api_invalid(caller, "a block id must be 1 to %d visible ASCII characters",
				   VM_MAX_BLOCK_ID_LEN);
	if (!path || !*path)
		return api_invalid(caller, "no disk image path");
	if (format > KRUN_DISK_FORMAT_VMDK)
		return api_invalid(caller, "unknown disk format %u (KRUN_DISK_FORMAT_RAW, QCOW2)",
				   format);
	if (sync > KRUN_SYNC_FULL)
		return api_invalid(caller, "unknown sync mode %u (KRUN_SYNC_NONE, RELAXED, FULL)",
				   sync);
	disk.block_id = strdup(block_id);
	disk.path = strdup(path);
	if (!disk.block_id || !disk.path) {
		ret = -ENOMEM;
		goto out;
	}
	if (!(cfg = ctx_lock(ctx_id, caller))) {
		ret = -ENOENT;
		goto out;
	}
	for (i = 0; i < cfg->nr_disks && strcmp(cfg->disks[i].block_id, block_id); i++)
		;
	if (i < cfg->nr_disks && replace) {
		SWAP(cfg->disks[i], disk);
	} else if (i < cfg->nr_disks) {
		LOG_ERR("%s: a disk with the block id %s exists already", caller, block_id);
		ret = -EEXIST;
	} else if (cfg->nr_disks == VM_MAX_DISKS) {
		LOG_ERR("%s: at most %d disks", caller, VM_MAX_DISKS);
		ret = -ENOSPC;
	} else {
		i = first ? 0 : cfg->nr_disks;
		memmove(&cfg->disks[i + 1], &cfg->disks[i],
			(cfg->nr_disks - i) * sizeof(cfg->disks[0]));
		cfg->disks[i] = disk;
		cfg->nr_disks++;
		disk = (struct vm_disk){ 0 };
	}
	ctx_unlock();
out:
	free(disk.block_id);
	free(disk.path);
	return ret;
}

int32_t krun_add_disk(uint32_t ctx_id, const char *block_id, const char *disk_path,
		      bool read_only)
{
	return add_disk(__func__, ctx_id, block_id, disk_path, KRUN_DISK_FORMAT_RAW, read_only,
			false, KRUN_SYNC_FULL, false, false);
}

int32_t krun_add_disk2(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only)
{
	return add_disk(__func__, ctx_id, block_id, disk_path, disk_format, read_only, false,
			KRUN_SYNC_FULL, false, false);
}

int32_t krun_add_disk3(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only, bool direct_io, uint32_t sync_mode)
{
	return add_disk(__func__, ctx_id, block_id, disk_path, disk_format, read_only, direct_io,
			sync_mode, false, false);
}

int32_t krun_set_root_disk(uint32_t ctx_id, const char *disk_path)
{
	return add_disk(__func__, ctx_id, "root", disk_path, KRUN_DISK_FORMAT_RAW, false, false,
			KRUN_SYNC_FULL, true, true);
}

/* After root when there is one: root is always put first. */
int32_t krun_set_data_disk(uint32_t ctx_id, const char *disk_path)
{
	return add_disk(__func__, ctx_id, "data", disk_path, KRUN_DISK_FORMAT_RAW, false, false,
			KRUN_SYNC_FULL, true, false);
}

/* A value for the kernel command line: no blank (it would end the word),
 * no quote. */
static bool remount_arg_ok(const char *s)
{
	if (!*s || strlen(s) > MAX_REMOUNT_ARG)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"')
			return false;
	return true;
}

int32_t krun_set_root_disk_remount(uint32_t ctx_id, const char *device, const char *fstype,
				   const char *options)
{
	char *dev_copy = NULL, *fstype_copy = NULL, *options_copy = NULL;
	struct vm_config *cfg;
	int ret = 0;

	if (!device || strncmp(device, "/dev/", 5) || !remount_arg_ok(device))
		return API_EINVAL("the device must be a guest path under /dev/, without blanks "
				  "or quotes, at most %d bytes", MAX_REMOUNT_ARG);
	if (fstype && !remount_arg_ok(fstype))
		return API_EINVAL("a filesystem type must be 1 to %d visible characters",
				  MAX_REMOUNT_ARG);
	if (options && *options && !remount_arg_ok(options))
		return API_EINVAL("mount options must be at most %d visible characters, no "
				  "blanks or quotes", MAX_REMOUNT_ARG);
	if (!(dev_copy = strdup(device)) || (fstype && !(fstype_copy = strdup(fstype))) ||
	    (options && *options && !(options_copy = strdup(options)))) {
		ret = -ENOMEM;
		goto out;
	}
	if (!(cfg = ctx_lock(ctx_id, __func__))) {
		ret = -ENOENT;
		goto out;
	}
	SWAP(cfg->root_disk_device, dev_copy);
	SWAP(cfg->root_disk_fstype, fstype_copy);
	SWAP(cfg->root_disk_options, options_copy);
	ctx_unlock();
out:
	free(dev_copy);
	free(fstype_copy);
	free(options_copy);
	return ret;
}
