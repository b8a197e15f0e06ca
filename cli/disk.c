/* krun's --disk and --root-disk. A path may itself hold colons: the options
 * are taken off its end, as long as the last colon's word is one. */
#include "disk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkrun.h>

#include "said.h"

/* Take the option after the last colon of copy if it is one: 1 taken, 0
 * not an option (the path ends there), -1 a bad option (said). */
static int take_option(char *copy, struct cli_disk *d, const char *spec)
{
	char *colon = strrchr(copy, ':');
	const char *opt;

	if (!colon)
		return 0;
	opt = colon + 1;
	if (strcmp(opt, "ro") == 0) {
		d->read_only = true;
	} else if (strcmp(opt, "format=raw") == 0) {
		d->format = KRUN_DISK_FORMAT_RAW;
	} else if (strcmp(opt, "format=qcow2") == 0) {
		d->format = KRUN_DISK_FORMAT_QCOW2;
	} else if (strncmp(opt, "format=", 7) == 0) {
		return said("--disk %s: the format is raw or qcow2", spec);
	} else if (strncmp(opt, "id=", 3) == 0) {
		if (strlen(opt + 3) == 0 || strlen(opt + 3) >= sizeof(d->id))
			return said("--disk %s: an id is 1 to 20 characters", spec);
		strcpy(d->id, opt + 3);
	} else {
		return 0;
	}
	*colon = '\0';
	return 1;
}

int cli_disk_add(struct cli_disk_plan *plan, const char *spec)
{
	struct cli_disk d = { .format = KRUN_DISK_FORMAT_RAW };
	char *copy;
	int ret;

	if (plan->nr == CLI_MAX_DISKS)
		return said("--disk %s: at most 16 disks", spec);
	if (!(copy = strdup(spec)))
		return said("--disk %s: out of memory", spec);
	while ((ret = take_option(copy, &d, spec)) == 1)
		;
	if (ret < 0 || !copy[0]) {
		free(copy);
		return ret < 0 ? ret : said("--disk %s: name the image before the options", spec);
	}
	if (!d.id[0])
		snprintf(d.id, sizeof(d.id), "disk%u", plan->nr);
	d.path = copy;
	plan->disks[plan->nr++] = d;
	return 0;
}

int cli_disk_apply(const struct cli_disk_plan *plan, int ctx)
{
	int ret;

	/* the root first, so that it is vda */
	if (plan->root_disk &&
	    ((ret = krun_add_disk(ctx, "root", plan->root_disk, false)) < 0 ||
	     (ret = krun_set_root_disk_remount(ctx, "/dev/vda", plan->root_fstype, NULL)) < 0)) {
		fprintf(stderr, "krun: --root-disk %s: %s\n", plan->root_disk, strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < plan->nr; i++) {
		const struct cli_disk *d = &plan->disks[i];

		if ((ret = krun_add_disk3(ctx, d->id, d->path, d->format, d->read_only, false,
					  KRUN_SYNC_FULL)) < 0) {
			fprintf(stderr, "krun: --disk %s (id %s): %s\n", d->path, d->id,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}
