/* Why a VM stopped: said by whatever ended it (a vCPU's exit, a port the
 * guest wrote, a device), read for the log and the exit status. */
#ifndef KRUN_VMM_STOP_REASON_H
#define KRUN_VMM_STOP_REASON_H

enum vm_stop_reason {
	VM_STOP_NONE = 0,
	VM_STOP_RESET,    /* i8042 reset: the guest rebooted */
	VM_STOP_TRIPLE_FAULT, /* the guest crashed past its own fault handling */
	VM_STOP_SHUTDOWN, /* KVM system event */
	VM_STOP_ERROR,    /* KVM could not run the guest any further */
	VM_STOP_EXITED,   /* the guest's init reported the workload's exit status */
};

#endif
