/* The VMM's sandbox (see sandbox.h): the identity drop, no_new_privs, and
 * the per-thread seccomp filters.
 *
 * Each kind's filter is a BPF program compiled at build time from the
 * tables of sandbox_rules.c (sandbox_programs.h): a thread enters its
 * sandbox with one seccomp() call, no allocation, nothing compiled. The
 * state below is process-wide, as seccomp's SIGSYS is: one VMM per process
 * (krun_start_enter takes it over). sandbox_prepare() sets the handler
 * before any thread enters a sandbox; the cost counters are atomic. */
#include "vmm/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "base/log.h"
#include "vmm/sandbox_programs.h"

static const char *const kind_names[SANDBOX_NR_KINDS] = {
	[0] = "VMM",
	[SANDBOX_VCPU] = "vCPU",
	[SANDBOX_FS_WORKER] = "virtio-fs worker",
	[SANDBOX_EVENT_LOOP] = "event loop",
	[SANDBOX_EVENT_LOOP_USER_NET] = "event loop (user-mode network or TSI)",
	[SANDBOX_EVENT_LOOP_VSOCK] = "event loop (vsock)",
	[SANDBOX_EVENT_LOOP_TSI_UNIX] = "event loop (TSI with unix sockets)",
};

/* Set once sandbox_prepare() has run: before, a violation would end the
 * process without its report, so no thread may enter a sandbox. */
static atomic_bool prepared;

/* What the sandbox cost: preparing, on the building thread; installing,
 * summed over the threads that did. */
static struct {
	uint64_t prepare_wall_ns, prepare_cpu_ns;
	_Atomic uint64_t threads, wall_ns, cpu_ns, slowest_ns;
} cost;

/* --- identity ------------------------------------------------------------- */

int sandbox_drop_identity(const struct vm_config *cfg)
{
	int err;

	if (!cfg->has_uid && !cfg->has_gid)
		return 0;
	/* The supplementary groups would outlive the change (root's, say, for a
	 * VMM that becomes the user who ran sudo): none is kept. A process that
	 * has none has nothing to drop, and may lack the right to. */
	if (getgroups(0, NULL) != 0 && setgroups(0, NULL) < 0) {
		err = errno;
		LOG_ERR("cannot drop the supplementary groups before becoming %s %u: %s (setgroups "
			"needs CAP_SETGID, in a user namespace that allows it)",
			cfg->has_uid ? "uid" : "gid", cfg->has_uid ? (unsigned int)cfg->uid
								    : (unsigned int)cfg->gid,
			strerror(err));
		return -err;
	}
	if (cfg->has_gid && setgid(cfg->gid) < 0) {
		err = errno;
		LOG_ERR("setgid(%u): %s", (unsigned int)cfg->gid, strerror(err));
		return -err;
	}
	if (cfg->has_uid && setuid(cfg->uid) < 0) {
		err = errno;
		LOG_ERR("setuid(%u): %s", (unsigned int)cfg->uid, strerror(err));
		return -err;
	}
	return 0;
}

/* --- a violation ---------------------------------------------------------- */

/* The report is built without stdio or malloc: the handler may have
 * interrupted either. */
struct report {
	char buf[320];
	size_t len;
};

static void put_str(struct report *r, const char *s)
{
	while (*s && r->len < sizeof(r->buf) - 1)
		r->buf[r->len++] = *s++;
}

static void put_num(struct report *r, uint64_t v, unsigned int base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n > 0 && r->len < sizeof(r->buf) - 1)
		r->buf[r->len++] = digits[--n];
}

/* The filter trapped a call: its data (si_errno) says which kind of thread.
 * Names of system calls are not at hand here (libseccomp's lookup
 * allocates), so the number goes with a hint. SA_RESETHAND has made
 * SIGSYS's action the default again: raising it ends the process as a
 * seccomp kill would, after the line. */
static void on_violation(int sig, siginfo_t *info, void *context)
{
	unsigned int kind = (unsigned int)info->si_errno;
	struct report r = { .len = 0 };

	(void)context;
	if (log_get_level() >= LOG_ERROR) {
		put_str(&r, "libkrun: error: sandbox: the ");
		put_str(&r, kind_names[kind < SANDBOX_NR_KINDS ? kind : 0]);
		put_str(&r, " thread made system call ");
		put_num(&r, (unsigned int)info->si_syscall, 10);
		if (info->si_arch != AUDIT_ARCH_X86_64) {
			put_str(&r, " of another ABI (audit arch 0x");
			put_num(&r, info->si_arch, 16);
			put_str(&r, ")");
		}
		put_str(&r, " (`ausyscall ");
		put_num(&r, (unsigned int)info->si_syscall, 10);
		put_str(&r, "` names it) at 0x");
		put_num(&r, (uintptr_t)info->si_call_addr, 16);
		put_str(&r, ", which its seccomp filter does not allow: the VMM ends\n");
		ssize_t unused = write(log_get_fd(), r.buf, r.len);
		(void)unused;
	}
	syscall(SYS_tgkill, getpid(), gettid(), sig);
}

/* --- prepare, enter ------------------------------------------------------- */

struct stopwatch {
	struct timespec wall, cpu;
};

static void stopwatch_start(struct stopwatch *sw)
{
	clock_gettime(CLOCK_MONOTONIC, &sw->wall);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &sw->cpu);
}

static uint64_t ns_since(clockid_t clock, const struct timespec *start)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return (uint64_t)(now.tv_sec - start->tv_sec) * 1000000000u + now.tv_nsec - start->tv_nsec;
}

int sandbox_prepare(void)
{
	struct sigaction sa = { .sa_sigaction = on_violation,
				 .sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
	struct stopwatch sw;
	int ret;

	stopwatch_start(&sw);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		LOG_ERR("cannot set no_new_privs: %s", strerror(-ret));
		return ret;
	}
	/* What the C library loads from files on first use, loaded now, while
	 * files may still be opened: the locale's messages (strerror), the
	 * time zone (gmtime_r, for the guest's CMOS clock). */
	(void)strerror(EINTR);
	tzset();
	/* malloc gives a thread that finds every arena busy a new one, and the
	 * first time more than 8 exist it asks how many CPUs are online by
	 * reading /sys (open, read): on a filtered thread, that would end the
	 * VMM. With the limit set, malloc never asks; it is glibc's own
	 * default, 8 arenas per CPU. */
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		ret = -errno;
		LOG_ERR("cannot handle SIGSYS: %s", strerror(-ret));
		return ret;
	}
	cost.prepare_wall_ns = ns_since(CLOCK_MONOTONIC, &sw.wall);
	cost.prepare_cpu_ns = ns_since(CLOCK_THREAD_CPUTIME_ID, &sw.cpu);
	LOG_INF("sandbox: prepared in %.0f us (%.0f us of CPU): no_new_privs, the SIGSYS handler; "
		"the seccomp filters, compiled at build time: vCPU %u, virtio-fs worker %u, event "
		"loop %u (with the user-mode network or TSI %u, with vsock %u, with TSI's unix "
		"sockets %u) BPF instructions",
		cost.prepare_wall_ns / 1e3, cost.prepare_cpu_ns / 1e3,
		sandbox_programs[SANDBOX_VCPU].len, sandbox_programs[SANDBOX_FS_WORKER].len,
		sandbox_programs[SANDBOX_EVENT_LOOP].len,
		sandbox_programs[SANDBOX_EVENT_LOOP_USER_NET].len,
		sandbox_programs[SANDBOX_EVENT_LOOP_VSOCK].len,
		sandbox_programs[SANDBOX_EVENT_LOOP_TSI_UNIX].len);
	atomic_store(&prepared, true);
	return 0;
}

int sandbox_enter(enum sandbox_kind kind)
{
	struct sock_fprog prog;
	struct stopwatch sw;
	uint64_t wall, slowest;

	if (kind <= 0 || kind >= SANDBOX_NR_KINDS || !atomic_load(&prepared)) {
		LOG_ERR("sandbox: no filter for thread kind %d (or sandbox_prepare has not run)",
			kind);
		return -EINVAL;
	}
	/* The kernel only reads the program. */
	prog = (struct sock_fprog){ .len = sandbox_programs[kind].len,
				    .filter = (struct sock_filter *)sandbox_programs[kind].insns };
	stopwatch_start(&sw);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		int err = errno;
		LOG_ERR("cannot install the seccomp filter of a %s thread: %s", kind_names[kind],
			strerror(err));
		return -err;
	}
	wall = ns_since(CLOCK_MONOTONIC, &sw.wall);
	atomic_fetch_add(&cost.cpu_ns, ns_since(CLOCK_THREAD_CPUTIME_ID, &sw.cpu));
	atomic_fetch_add(&cost.wall_ns, wall);
	atomic_fetch_add(&cost.threads, 1);
	slowest = atomic_load(&cost.slowest_ns);
	while (wall > slowest && !atomic_compare_exchange_weak(&cost.slowest_ns, &slowest, wall))
		;
	return 0;
}

void sandbox_log_cost(void)
{
	LOG_INF("sandbox: %llu threads installed their seccomp filters in %.0f us in all (%.0f us "
		"of CPU), the slowest in %.0f us; preparing took %.0f us (%.0f us of CPU)",
		(unsigned long long)atomic_load(&cost.threads), atomic_load(&cost.wall_ns) / 1e3,
		atomic_load(&cost.cpu_ns) / 1e3, atomic_load(&cost.slowest_ns) / 1e3,
		cost.prepare_wall_ns / 1e3, cost.prepare_cpu_ns / 1e3);
}
