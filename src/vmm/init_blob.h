/* The guest init (/init.krun), built as a static program and embedded in the
 * library, served from memory in the root share. */
#ifndef KRUN_VMM_INIT_BLOB_H
#define KRUN_VMM_INIT_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* false when this build has no init (sanitizer builds cannot link it static). */
bool init_blob_get(const uint8_t **data, size_t *len);

#endif
