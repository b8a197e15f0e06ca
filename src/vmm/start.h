/* The VMM's one entry point for the API layer. */
#ifndef KRUN_VMM_START_H
#define KRUN_VMM_START_H

#include "config/vm_config.h"

/* Build and run the VM. Returns -errno only if the VM could not be started,
 * after one error line in the log saying what failed; otherwise it ends the
 * process with the guest's exit status. */
int vmm_start(struct vm_config *cfg);

#endif
