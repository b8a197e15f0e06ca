/* The VMM's sandbox: once the VM is built, the process gives up what a
 * compromised VMM could turn against the host. On the thread that built the
 * VM (krun_start_enter's), in this order:
 *   1. sandbox_drop_identity(): the uid and gid of krun_setuid/krun_setgid,
 *      and no supplementary group;
 *   2. sandbox_prepare(): no_new_privs, the SIGSYS handler that reports a
 *      violation (each thread kind's seccomp filter was compiled when the
 *      library was built: sandbox_programs.h);
 *   3. sandbox_enter(kind) on each thread, before it touches anything the
 *      guest drives: the virtio-fs workers (asked by the builder before any
 *      vCPU runs), each vCPU thread before its first KVM_RUN, and the event
 *      loop once it has started the vCPUs (a thread's filter is inherited by
 *      the threads it creates, and the vCPUs' allow-list is not the loop's).
 * The identity goes first: glibc changes it on every thread by a signal whose
 * handler makes the set*id calls there, which no filter allows. Filters stack
 * on any the process already has (a container's profile): a call passes only
 * when every one of them allows it.
 *
 * A call outside its thread's allow-list (sandbox_rules.c) is not run: the
 * thread logs which call it was and the process dies by SIGSYS, as a
 * seccomp kill would end it, but with the reason in the VMM's log. */
#ifndef KRUN_VMM_SANDBOX_H
#define KRUN_VMM_SANDBOX_H

#include "config/vm_config.h"

/* What a thread does decides what it may ask of the kernel. Values travel
 * in the filter's trap data to the SIGSYS handler: 0 is none. */
enum sandbox_kind {
	SANDBOX_VCPU = 1,   /* KVM_RUN and the exits: MMIO, port I/O, devices' registers */
	SANDBOX_FS_WORKER,  /* a virtio-fs queue's worker, and the lock waiters it starts */
	SANDBOX_EVENT_LOOP, /* the thread of krun_start_enter: kicks, console, the end */
	/* the event loop of a VM with the user-mode interface or TSI: also
	 * the guest's connections as the VMM's sockets */
	SANDBOX_EVENT_LOOP_USER_NET,
	/* the event loop of a VM with a vsock device (and no user-mode
	 * interface, whose filter has all it needs): its connections' host
	 * sockets */
	SANDBOX_EVENT_LOOP_VSOCK,
	/* the event loop of a VM whose TSI has the unix feature: the
	 * sockets' calls, and unix paths resolved beneath the root share */
	SANDBOX_EVENT_LOOP_TSI_UNIX,
};
#define SANDBOX_NR_KINDS 7

/* krun_setgid/krun_setuid, after the supplementary groups are dropped; with
 * neither set, nothing changes. -errno, logged, when the process may not. */
int sandbox_drop_identity(const struct vm_config *cfg);

/* no_new_privs on the calling thread (and so on every thread it starts),
 * what the C library would load from files later loaded now, the SIGSYS
 * handler installed. -errno, logged. */
int sandbox_prepare(void);

/* From now on the calling thread makes only the system calls kind's
 * allow-list names (it gets no_new_privs too). -errno, logged, when the
 * filter cannot be installed: the thread must then not go on. */
int sandbox_enter(enum sandbox_kind kind);

/* The info log line: what preparing and installing the filters cost. */
void sandbox_log_cost(void);

#endif
