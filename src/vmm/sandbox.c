/* The VMM's sandbox (see sandbox.h): the identity drop, no_new_privs, and
 * the per-thread seccomp filters built with libseccomp from the tables of
 * sandbox_rules.c.
 *
 * Each kind's filter is compiled once, by sandbox_prepare(), into a BPF
 * program kept in memory; a thread enters its sandbox with one seccomp()
 * call, no allocation, no libseccomp. The state below is process-wide, as
 * seccomp's SIGSYS is: one VMM per process (krun_start_enter takes it
 * over). sandbox_prepare() writes it before any thread enters a sandbox;
 * afterwards it is only read, but for the atomic install counters. */
#include "vmm/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "base/log.h"
#include "vmm/sandbox_rules.h"

static const char *const kind_names[SANDBOX_NR_KINDS] = {
	[0] = "VMM",
	[SANDBOX_VCPU] = "vCPU",
	[SANDBOX_FS_WORKER] = "virtio-fs worker",
	[SANDBOX_EVENT_LOOP] = "event loop",
};

static struct sock_fprog programs[SANDBOX_NR_KINDS];

/* What the sandbox cost: compiling, on the building thread; installing,
 * summed over the threads that did. */
static struct {
	uint64_t compile_wall_ns, compile_cpu_ns;
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

/* --- compiling ------------------------------------------------------------ */

static int add_rules(scmp_filter_ctx ctx, const struct sandbox_allow_list *list)
{
	for (unsigned int i = 0; i < list->nr_rules; i++) {
		const struct sandbox_rule *rule = &list->rules[i];
		uint32_t action = rule->enosys ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
		int ret = rule->arg < 0 ? seccomp_rule_add(ctx, action, rule->nr, 0)
					: seccomp_rule_add(ctx, action, rule->nr, 1,
							   SCMP_CMP(rule->arg, SCMP_CMP_MASKED_EQ,
								    rule->mask, rule->value));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* libseccomp writes a filter's BPF only to an fd: through a memfd, into
 * memory. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("krun-seccomp", MFD_CLOEXEC);
	struct sock_filter *filter = NULL;
	off_t size;
	int ret;

	if (fd < 0)
		return -errno;
	if ((ret = seccomp_export_bpf(ctx, fd)) < 0)
		goto out;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(*filter) || size / sizeof(*filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	if (!(filter = malloc(size))) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, filter, size, 0) != size) {
		ret = -EIO;
		free(filter);
		goto out;
	}
	*prog = (struct sock_fprog){ .len = size / sizeof(*filter), .filter = filter };
out:
	close(fd);
	return ret;
}

/* libseccomp's trap carries no data; ours carries the thread's kind, which
 * the kernel hands to the SIGSYS handler in si_errno. */
static void mark_traps(struct sock_fprog *prog, enum sandbox_kind kind)
{
	for (unsigned int i = 0; i < prog->len; i++) {
		struct sock_filter *insn = &prog->filter[i];
		if (insn->code == (BPF_RET | BPF_K) && insn->k == SECCOMP_RET_TRAP)
			insn->k |= kind;
	}
}

static int compile(enum sandbox_kind kind, struct sock_fprog *prog)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/* A call of another ABI (x32, int 0x80) traps too; the rules are
	 * sorted into a binary tree, so a call costs a few comparisons. */
	if ((ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP)) == 0 &&
	    (ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) == 0 &&
	    (ret = add_rules(ctx, &sandbox_common_rules)) == 0 &&
	    (ret = add_rules(ctx, &sandbox_kind_rules[kind])) == 0 &&
	    (ret = add_rules(ctx, &sandbox_sanitizer_rules)) == 0 &&
	    (ret = export_program(ctx, prog)) == 0)
		mark_traps(prog, kind);
	seccomp_release(ctx);
	return ret;
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
	for (unsigned int kind = 1; kind < SANDBOX_NR_KINDS; kind++) {
		if (programs[kind].filter)
			continue; /* a start that failed after this had run */
		if ((ret = compile(kind, &programs[kind])) < 0) {
			LOG_ERR("cannot compile the seccomp filter of the %s threads: %s",
				kind_names[kind], strerror(-ret));
			return ret;
		}
	}
	cost.compile_wall_ns = ns_since(CLOCK_MONOTONIC, &sw.wall);
	cost.compile_cpu_ns = ns_since(CLOCK_THREAD_CPUTIME_ID, &sw.cpu);
	LOG_INF("sandbox: no_new_privs set; seccomp filters compiled in %.0f us (%.0f us of CPU): "
		"vCPU %u, virtio-fs worker %u, event loop %u BPF instructions",
		cost.compile_wall_ns / 1e3, cost.compile_cpu_ns / 1e3, programs[SANDBOX_VCPU].len,
		programs[SANDBOX_FS_WORKER].len, programs[SANDBOX_EVENT_LOOP].len);
	return 0;
}

int sandbox_enter(enum sandbox_kind kind)
{
	const struct sock_fprog *prog = kind > 0 && kind < SANDBOX_NR_KINDS ? &programs[kind] : NULL;
	struct stopwatch sw;
	uint64_t wall, slowest;

	if (!prog || !prog->filter) {
		LOG_ERR("sandbox: no filter for thread kind %d (sandbox_prepare has not run)", kind);
		return -EINVAL;
	}
	stopwatch_start(&sw);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0) {
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
		"of CPU), the slowest in %.0f us; compiling the filters took %.0f us (%.0f us of "
		"CPU)",
		(unsigned long long)atomic_load(&cost.threads), atomic_load(&cost.wall_ns) / 1e3,
		atomic_load(&cost.cpu_ns) / 1e3, atomic_load(&cost.slowest_ns) / 1e3,
		cost.compile_wall_ns / 1e3, cost.compile_cpu_ns / 1e3);
}
