/* LD_PRELOAD probe for bench/boot.sh: what a VMM spends before its guest's
 * first instruction. At the first KVM_RUN ioctl of the process it writes to
 * stderr the CPU time (user + system, all threads) the process had used since
 * exec and, when the process called krun_start_enter, since that call: the
 * same figure for any VMM that reaches KVM through glibc's ioctl (QEMU, ours),
 * so the two are measured alike in the same run.
 *
 * Only the process CPU clock and write(2) run at the KVM_RUN, both of which
 * our vCPU threads' seccomp filters allow. A VMM that times a probe guest
 * first (ours does on a /dev/kvm without hardware assistance) would report
 * that guest's KVM_RUN; bench/boot.sh runs where /dev/kvm is hardware. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int32_t (*start_enter_fn)(uint32_t);

static atomic_bool reported;
static atomic_llong start_enter_ns = -1;

static long long process_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report_first_run(void)
{
	char line[160];
	long long now = process_cpu_ns(), since_start = atomic_load(&start_enter_ns);
	int n;

	if (since_start >= 0)
		n = snprintf(line, sizeof(line),
			     "first KVM_RUN: %.3f CPU-ms since exec, %.3f CPU-ms since krun_start_enter\n",
			     now / 1e6, (now - since_start) / 1e6);
	else
		n = snprintf(line, sizeof(line), "first KVM_RUN: %.3f CPU-ms since exec\n", now / 1e6);
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* a bench figure lost, nothing more */
}

/* glibc declares ioctl with an unsigned long request; the third argument is
 * a pointer or an integer for every KVM ioctl, so it passes through as one. */
int ioctl(int fd, unsigned long request, ...)
{
	static ioctl_fn next;
	va_list ap;

	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!next)
		next = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (request == KVM_RUN && !atomic_exchange(&reported, true))
		report_first_run();
	return next(fd, request, arg);
}

int32_t krun_start_enter(uint32_t ctx_id)
{
	start_enter_fn next = (start_enter_fn)dlsym(RTLD_NEXT, "krun_start_enter");

	if (!next)
		return -1;
	atomic_store(&start_enter_ns, process_cpu_ns());
	return next(ctx_id);
}
