/* What each kind of VMM thread may ask of the kernel, and why. A call is
 * here because a code path of that thread makes it (glibc's wrappers
 * included: fstatat is newfstatat, pthread_kill is tgkill); anything else is
 * a bug or an attack, and ends the VMM with a log line (sandbox.c).
 *
 * These tables are compiled at build time (sandbox_gen.c): every value in
 * them is a constant, none is known only at run time (no fd, no address).
 *
 * Adding code that a thread runs after its filter (a device handler, a FUSE
 * operation, a log line) means checking its system calls against its
 * thread's table here: the unit tests (tests/unit/test_sandbox.c) run each
 * kind's work under its filter, the boot tests a real guest. */
#include "vmm/sandbox_rules.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452 /* Linux 6.6; glibc's headers may predate it */
#endif

#define ALLOW(sys) { .nr = __NR_##sys, .arg = -1 }
#define ALLOW_IF(sys, a, m, v) { .nr = __NR_##sys, .arg = (a), .mask = (m), .value = (v) }
/* The kernel reads an ioctl's request as 32 bits. */
#define ALLOW_IOCTL(request) ALLOW_IF(ioctl, 1, 0xffffffffu, (request))
#define ANSWER_ENOSYS(sys) { .nr = __NR_##sys, .arg = -1, .enosys = true }
#define LIST(table) { table, sizeof(table) / sizeof(table[0]) }

/* A thread, not a process: the flags glibc's pthread_create gives clone, and
 * no new namespace. */
#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_NEW_ANY \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
	 CLONE_NEWPID | CLONE_NEWNET)

/* Every thread. */
static const struct sandbox_rule common[] = {
	/* glibc's mutexes and condition variables, pthread_join */
	ALLOW(futex),
	/* malloc and free: the main arena (brk), the other threads' arenas and
	 * large blocks (mmap, munmap, mremap for realloc), an arena that grows
	 * (mprotect) or is trimmed (madvise); a joined thread's stack (munmap) */
	ALLOW(brk), ALLOW(mmap), ALLOW(munmap), ALLOW(mremap), ALLOW(mprotect), ALLOW(madvise),
	/* malloc sizes its arenas by the CPUs a thread may run on */
	ALLOW(sched_getaffinity),
	/* where the vDSO does not answer: rate-limited logs, the CMOS clock,
	 * lock waits' deadlines, the sandbox's own cost */
	ALLOW(clock_gettime), ALLOW(time),
	/* a log line is one write; the log asks whether its fd is a terminal.
	 * Eventfds are written too: interrupts (irqfd), the stop request */
	ALLOW(write), ALLOW_IOCTL(TCGETS),
	/* SIGUSR2 lands on any thread, which passes it on to each vCPU with
	 * pthread_kill (signals blocked around tgkill); a violation's report
	 * raises SIGSYS on its own thread */
	ALLOW(getpid), ALLOW(gettid), ALLOW(tgkill), ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn),
	/* a wait with a deadline that a signal's handler interrupted */
	ALLOW(restart_syscall),
	/* a thread's end; the process's (_exit) */
	ALLOW(exit), ALLOW(exit_group),
};

/* A vCPU thread: KVM_RUN, and the exits it handles on its own thread. */
static const struct sandbox_rule vcpu[] = {
	/* running the guest; its registers, described on SIGUSR2 or a failure */
	ALLOW_IOCTL(KVM_RUN), ALLOW_IOCTL(KVM_GET_REGS), ALLOW_IOCTL(KVM_GET_SREGS),
	/* split irqchip: the guest reprogrammed a pin of the I/O APIC (on the
	 * VM's fd) */
	ALLOW_IOCTL(KVM_SET_GSI_ROUTING),
	/* a device register written runs the device here (activation, a queue
	 * notified by a write KVM's ioeventfd did not match): the console reads
	 * the terminal's size and its input, writes what it can of its output
	 * (never waiting: the fd is non-blocking) and re-arms the watches */
	ALLOW_IOCTL(TIOCGWINSZ), ALLOW(readv), ALLOW(writev), ALLOW(epoll_ctl),
	/* a network interface's activation gives its tap the offloads the
	 * guest's driver took; its frames move as the console's bytes do
	 * (readv, writev, and every thread's write) */
	ALLOW_IOCTL(TUNSETOFFLOAD),
	/* virtio-rng serves a request (getrandom) or sets its timer for when
	 * its rate allows the next, or stops it at a reset */
	ALLOW(getrandom), ALLOW(timerfd_settime),
};

/* A virtio-fs worker: every file operation of src/fs/. Its lock waiters
 * (SETLKW on a thread of their own) inherit this filter, and need no more. */
static const struct sandbox_rule fs_worker[] = {
	/* a name resolved beneath its parent node (openat2); an O_PATH fd
	 * opened for I/O through /proc/self/fd (openat); handles closed */
	ALLOW(openat2), ALLOW(openat), ALLOW(close),
	/* a directory's listing: its own fd (dup, fcntl F_GETFL for
	 * fdopendir), read (getdents64) from the start (lseek) */
	ALLOW(dup), ALLOW(getdents64), ALLOW(lseek),
	/* attributes (fstatat, or statx); the filesystem a node is on (STATFS,
	 * and the confinement to real filesystems) */
	ALLOW(newfstatat), ALLOW(statx), ALLOW(statfs), ALLOW(fstatfs),
	/* entries made, linked, removed, renamed, read */
	ALLOW(mkdirat), ALLOW(mknodat), ALLOW(symlinkat), ALLOW(linkat), ALLOW(unlinkat),
	ALLOW(renameat2), ALLOW(readlinkat),
	/* SETATTR, and the owner and mode of a new entry (fchmodat through
	 * /proc/self/fd before Linux 6.6's fchmodat2; the owner when root) */
	ALLOW(fchownat), ALLOW(fchmodat2), ALLOW(fchmodat), ALLOW(utimensat), ALLOW(ftruncate),
	ALLOW(geteuid),
	/* file data */
	ALLOW(preadv), ALLOW(pwritev), ALLOW(fallocate), ALLOW(copy_file_range), ALLOW(fsync),
	ALLOW(fdatasync),
	/* POSIX locks as open file description locks */
	ALLOW(fcntl),
	/* xattrs, through a node's /proc/self/fd path or on an fd; a listing's
	 * entry by name beneath its directory, unfollowed (a device node's
	 * stand-in, devnode.c) */
	ALLOW(getxattr), ALLOW(lgetxattr), ALLOW(setxattr), ALLOW(listxattr), ALLOW(removexattr),
	ALLOW(fgetxattr), ALLOW(fsetxattr), ALLOW(flistxattr), ALLOW(fremovexattr),
	/* the fd budget follows RLIMIT_NOFILE: this process's limits only */
	ALLOW_IF(prlimit64, 0, ~0ull, 0),
	/* a SETLKW that must wait gets a thread of its own: a thread, never a
	 * process. clone3 takes its flags in memory a filter cannot read, so
	 * glibc is told it is missing and falls back on clone; the new
	 * thread registers its robust futex list and rseq area */
	ALLOW_IF(clone, 0, CLONE_THREAD_FLAGS | CLONE_NEW_ANY, CLONE_THREAD_FLAGS),
	ANSWER_ENOSYS(clone3), ALLOW(set_robust_list), ALLOW(rseq),
};

/* A virtio-blk worker: a disk image's reads and writes (src/disk/), on the
 * fd opened before the filter; nothing is opened, nor any socket made. */
static const struct sandbox_rule blk_worker[] = {
	/* data, in place in guest memory (raw), and a format's metadata
	 * (qcow2's tables) */
	ALLOW(preadv), ALLOW(pwritev), ALLOW(pread64), ALLOW(pwrite64),
	/* FLUSH, as the disk's sync mode says */
	ALLOW(fdatasync),
	/* DISCARD and WRITE_ZEROES on a file (holes punched, ranges zeroed)
	 * or a block device */
	ALLOW(fallocate), ALLOW_IOCTL(BLKDISCARD),
};

/* The event loop: the thread of krun_start_enter, from the vCPUs' start to
 * the process's end. */
static const struct sandbox_rule event_loop[] = {
	/* the loop itself; the console re-arms its input's watch */
	ALLOW(epoll_wait), ALLOW(epoll_ctl),
	/* eventfds (queue kicks, the stop request), the signalfd (SIGINT,
	 * SIGWINCH), the console's input */
	ALLOW(read), ALLOW(readv),
	/* console output, as the reader takes it (writev), and at the end
	 * waited for (poll) before each output gets its blocking mode back
	 * (fcntl); the terminal's size; its mode given back (tcsetattr) */
	ALLOW(writev), ALLOW(poll), ALLOW_IF(fcntl, 1, ~0ull, F_GETFL),
	ALLOW_IF(fcntl, 1, ~0ull, F_SETFL), ALLOW_IOCTL(TIOCGWINSZ), ALLOW_IOCTL(TCSETS),
	/* the memory report at the end: guest pages resident (mincore), the
	 * process's RSS from /proc/self/statm opened at build time */
	ALLOW(mincore), ALLOW(pread64),
	/* a network interface's own socket beside gvproxy's, removed at the
	 * end (gvproxy sends every frame to its name until then) */
	ALLOW(unlinkat),
	/* virtio-rng: its bytes, and its timer (devices/rng/rng.h) */
	ALLOW(getrandom), ALLOW(timerfd_settime),
};

/* The event loop serving the user-mode interface (src/devices/net/
 * slirp_loop.c) or TSI (src/devices/vsock/tsi.c): its own list is added to
 * the event loop's, and used only when a VM has either, so that other VMs
 * keep the narrow one. libslirp makes the guest's TCP and UDP flows
 * sockets of the VMM, TSI the guest's sockets (with the same calls:
 * TCP_NODELAY set, SO_ERROR read, both names read; the requests' deadline
 * timer). */
static const struct sandbox_rule event_loop_user_net[] = {
	/* a guest's connection or datagram flow: a socket, made close-on-exec
	 * (F_GETFD, F_SETFD) and non-blocking (the loop's F_GETFL, F_SETFL),
	 * options set and read (SO_ERROR once connected), connected, its
	 * local address learnt; an ICMP echo's datagram socket */
	ALLOW(socket), ALLOW_IF(fcntl, 1, ~0ull, F_GETFD), ALLOW_IF(fcntl, 1, ~0ull, F_SETFD),
	ALLOW(setsockopt), ALLOW(getsockopt), ALLOW(connect), ALLOW(getsockname),
	ALLOW(getpeername),
	/* a published port's listener (made before the filter) accepting;
	 * TSI's (bound before the filter) listening while the guest publishes,
	 * a close-on-exec copy of it watched for the guest's stream */
	ALLOW(accept), ALLOW(accept4), ALLOW(listen), ALLOW_IF(fcntl, 1, ~0ull, F_DUPFD_CLOEXEC),
	/* a TSI datagram socket of the guest's, bound to an ephemeral port */
	ALLOW(bind),
	/* data both ways, and the frames to and from the guest's device; a
	 * UDP socket's waiting bytes (FIONREAD); a half-close */
	ALLOW(sendto), ALLOW(recvfrom), ALLOW(sendmsg), ALLOW(recvmsg), ALLOW_IOCTL(FIONREAD),
	ALLOW(shutdown), ALLOW(close),
	/* the stack's timers */
	ALLOW(timerfd_settime),
	/* DNS forwarded to the host's resolvers: /etc/resolv.conf looked at
	 * again when a second has passed (stat), read when it changed */
	ALLOW(newfstatat), ALLOW_IF(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY), ALLOW(fstat),
};

/* The event loop serving a vsock device (src/devices/vsock/): its own list
 * is added to the event loop's, used only when a VM has that device and no
 * user-mode interface (whose list has every call here). */
static const struct sandbox_rule event_loop_vsock[] = {
	/* a guest's connection to a mapped port: a unix socket, made
	 * non-blocking and close-on-exec, connected, its error read
	 * (SO_ERROR); a listening port's host connection accepted */
	ALLOW(socket), ALLOW(connect), ALLOW(getsockopt), ALLOW(accept4),
	/* the guest's bytes to the host socket without SIGPIPE (sendmsg with
	 * MSG_NOSIGNAL; the host's are read with readv); the guest's
	 * half-close passed on; a connection's end */
	ALLOW(sendmsg), ALLOW(shutdown), ALLOW(close),
};

/* The event loop of a VM whose TSI connects the guest's unix sockets
 * (KRUN_TSI_HIJACK_UNIX): the sockets' list, and a path resolved beneath
 * the root share by openat2 (RESOLVE_BENEATH, O_PATH; its flags are in
 * memory, which a filter cannot read: any openat2 passes). */
static const struct sandbox_rule event_loop_tsi_unix[] = {
	ALLOW(openat2),
};

const struct sandbox_allow_list sandbox_common_rules = LIST(common);

const struct sandbox_allow_list sandbox_kind_rules[SANDBOX_NR_KINDS] = {
	[SANDBOX_VCPU] = LIST(vcpu),
	[SANDBOX_FS_WORKER] = LIST(fs_worker),
	[SANDBOX_BLK_WORKER] = LIST(blk_worker),
	[SANDBOX_EVENT_LOOP] = LIST(event_loop),
	[SANDBOX_EVENT_LOOP_USER_NET] = LIST(event_loop_user_net),
	[SANDBOX_EVENT_LOOP_VSOCK] = LIST(event_loop_vsock),
	[SANDBOX_EVENT_LOOP_TSI_UNIX] = LIST(event_loop_tsi_unix),
};

const enum sandbox_kind sandbox_kind_base[SANDBOX_NR_KINDS] = {
	[SANDBOX_EVENT_LOOP_USER_NET] = SANDBOX_EVENT_LOOP,
	[SANDBOX_EVENT_LOOP_VSOCK] = SANDBOX_EVENT_LOOP,
	[SANDBOX_EVENT_LOOP_TSI_UNIX] = SANDBOX_EVENT_LOOP_USER_NET,
};

/* ASan's runtime, in a sanitizer build (SANDBOX_FOR_SANITIZER): on a thread
 * that starts or ends under a filter (a lock waiter, a vCPU's end), its
 * alternate signal stack set up and taken down; its spin locks yield under
 * contention. The rest of what it calls (reading /proc/self/exe and maps,
 * prctl) it does at start, before any filter, or for an error report, whose
 * symbolizer is a process no filter allows: a report from a filtered thread
 * ends after its first lines, with the violation's. UBSan calls nothing
 * until it reports. */
static const struct sandbox_rule sanitizer[] = {
	ALLOW(sigaltstack),
	ALLOW(sched_yield),
};
const struct sandbox_allow_list sandbox_sanitizer_rules = LIST(sanitizer);
