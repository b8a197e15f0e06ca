/* vmm_start(), the one hand-over from the API layer, on the thread that
 * called krun_start_enter: build the VM, give up what the VMM no longer
 * needs, start the vCPUs, run the event loop until the guest stops, then
 * write out what the devices hold, report and end the process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "devices/vsock/vsock.h"
#include "vmm/sandbox.h"
#include "vmm/start.h"
#include "vmm/vm.h"

static int enter_fs_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_FS_WORKER);
}

static int enter_blk_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_BLK_WORKER);
}

/* The event loop's filter: a wider one only where the user-mode
 * interface or TSI makes the guest's connections the VMM's sockets (its
 * list covers a vsock device's too; TSI's unix paths add one call), or a
 * vsock device makes its own. */
static enum sandbox_kind loop_sandbox(const struct vm_config *cfg)
{
	bool sockets = false;

	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		sockets |= cfg->nets[i].backend == VM_NET_USER;
	if (!vsock_count(cfg))
		return sockets ? SANDBOX_EVENT_LOOP_USER_NET : SANDBOX_EVENT_LOOP;
	if (vm_config_tsi(cfg) & VM_TSI_HIJACK_UNIX)
		return SANDBOX_EVENT_LOOP_TSI_UNIX;
	if (vm_config_tsi(cfg) || sockets)
		return SANDBOX_EVENT_LOOP_USER_NET;
	return SANDBOX_EVENT_LOOP_VSOCK;
}

/* Each sort of device thread (devices/device.h) in a sandbox of its own;
 * a device with threads of a sort missing here is not started. */
static int (*const device_thread_sandboxes[DEVICE_NR_THREAD_KINDS])(void) = {
	[DEVICE_THREADS_FS_WORKER] = enter_fs_worker_sandbox,
	[DEVICE_THREADS_BLK_WORKER] = enter_blk_worker_sandbox,
};

static int start_vcpus(struct vm *vm)
{
	int err = vcpu_watch_describe_signal(vm->vcpus, vm->nr_vcpus);

	if (err < 0)
		LOG_WRN("SIGUSR2 will not describe the vCPUs: %s", strerror(-err));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret != 0) {
			LOG_ERR("cannot start vCPU %u's thread: %s", i, strerror(ret));
			return -ret;
		}
		v->thread_started = true;
	}
	return 0;
}

/* What the VMM costs beyond the guest's RAM: the process's resident set
 * less the guest RAM pages in it (bench/ reads this line). */
static void log_memory_use(const struct vm *vm)
{
	unsigned long size_pages, resident_pages;
	char statm[128];
	ssize_t n = vm->statm_fd >= 0 ? pread(vm->statm_fd, statm, sizeof(statm) - 1, 0) : -1;

	if (n <= 0)
		return;
	statm[n] = '\0';
	if (sscanf(statm, "%lu %lu", &size_pages, &resident_pages) != 2)
		return;
	uint64_t rss = (uint64_t)resident_pages * sysconf(_SC_PAGESIZE);
	uint64_t guest = gm_resident_bytes(&vm->mem);
	LOG_INF("memory: process RSS %llu KiB, guest RAM resident %llu KiB, VMM beyond guest "
		"RAM %llu KiB (the kernel image's touched pages included)",
		(unsigned long long)(rss >> 10), (unsigned long long)(guest >> 10),
		(unsigned long long)((rss > guest ? rss - guest : 0) >> 10));
}

int vmm_start(struct vm_config *cfg)
{
	static struct vm vm; /* large; lives until the process ends */
	uint64_t start_ns = monotonic_ns();
	int ret;

	/* A closed stdout must end the console's output, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/* The vCPUs start after the workers' sandboxes and before the loop's,
	 * which they would inherit (see vmm/sandbox.h). */
	if ((ret = vm_build(&vm, cfg)) < 0 || (ret = sandbox_drop_identity(cfg)) < 0 ||
	    (ret = sandbox_prepare()) < 0 ||
	    (ret = devices_on_threads(&vm.devices, device_thread_sandboxes)) < 0 ||
	    (ret = start_vcpus(&vm)) < 0 || (ret = sandbox_enter(loop_sandbox(cfg))) < 0) {
		if (vm.nr_vcpus && vm.vcpus[0].thread_started) {
			/* vCPUs already run guest code: there is no going back. */
			devices_flush(&vm.devices);
			_exit(125);
		}
		vm_destroy(&vm);
		return ret;
	}
	ret = event_loop_run(&vm.loop);
	if (ret < 0)
		LOG_ERR("the event loop failed: %s", strerror(-ret));
	devices_flush(&vm.devices);
	int status = ret < 0 ? 125 : vm_exit_status(&vm);
	log_memory_use(&vm);
	devices_log_stats(&vm.devices);
	sandbox_log_cost();
	uint64_t marker = vm.ports.boot_marker_ns;
	LOG_INF("guest stopped (reason %d) after %.3f s, status %d; workload started after %.3f s",
		(int)vm.stop_reason, (monotonic_ns() - start_ns) / 1e9, status,
		marker ? (marker - start_ns) / 1e9 : 0.0);
	_exit(status);
}
