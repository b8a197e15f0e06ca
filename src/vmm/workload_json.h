/* The workload set through krun_set_exec and friends, as an OCI-style config
 * document ({"process": {"args", "env", "cwd"}}) that the guest init reads
 * from a file served in the root share. Unlike the kernel command line it
 * carries any bytes (quotes, newlines) and any length. */
#ifndef KRUN_VMM_WORKLOAD_JSON_H
#define KRUN_VMM_WORKLOAD_JSON_H

#include "config/vm_config.h"

/* A malloc'd document, or NULL when out of memory. The exec path is args[0];
 * rlimits travel as the KRUN_RLIMITS variable. */
char *workload_json(const struct vm_config *cfg);

#endif
