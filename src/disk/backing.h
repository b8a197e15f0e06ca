/* Backing files, for qcow2: opened read-only, locked as any image is (no
 * writer may have them), their format given or probed from the magic. */
#ifndef KRUN_DISK_BACKING_H
#define KRUN_DISK_BACKING_H

#include <stdbool.h>

#include "disk/image.h"

/* path as format (probe: qcow2 if it starts with qcow2's magic, else raw);
 * depth counts the images above it. 0 and *out, or -errno, logged. */
int disk_backing_open(const char *path, enum disk_format format, bool probe, unsigned int depth,
		      struct disk_image **out);

#endif
