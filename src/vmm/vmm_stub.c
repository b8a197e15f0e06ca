/* TEMPORARY: lets libkrun.so link until vmm/ implements vmm_start(). */
#include <errno.h>

#include "vmm/vm_config.h"

int vmm_start(struct vm_config *cfg)
{
	(void)cfg;
	return -ENOSYS;
}
