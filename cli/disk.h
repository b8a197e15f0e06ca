/* krun's disks: --disk PATH[:ro][:format=raw|qcow2][:id=ID] (repeatable,
 * vda, vdb, ... in order) and --root-disk PATH [--root-fstype TYPE] (a
 * root filesystem on a disk, vda before the others), parsed into a plan,
 * then given to libkrun. */
#ifndef KRUN_CLI_DISK_H
#define KRUN_CLI_DISK_H

#include <stdbool.h>
#include <stdint.h>

/* libkrun-c's limit on disks */
#define CLI_MAX_DISKS 16

struct cli_disk {
	char *path; /* owned: the spec up to its options */
	char id[21];
	uint32_t format;
	bool read_only;
};

struct cli_disk_plan {
	unsigned int nr;
	struct cli_disk disks[CLI_MAX_DISKS];
	const char *root_disk;	    /* --root-disk's PATH */
	const char *root_fstype;    /* --root-fstype's, or NULL (auto) */
};

/* One --disk: 0, or -1 with the reason on stderr. */
int cli_disk_add(struct cli_disk_plan *plan, const char *spec);
/* The plan's disks into the context ctx, the root disk first: 0, or
 * libkrun's -errno (said). */
int cli_disk_apply(const struct cli_disk_plan *plan, int ctx);

#endif
