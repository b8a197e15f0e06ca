/* The kernel bundle is loaded with the context, as libkrun loads it: a
 * client that makes its context and then enters a root without
 * libkrunfw.so.5 (crun, in a container's root) still gets its kernel. Each
 * case runs in a child that changes its root to an empty directory; the
 * bundle is found through LD_LIBRARY_PATH (set by meson) before that.
 *
 *   test-bundle-preload */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "libkrun.h"
#include "vmm/kernel.h"

static char empty_root[] = "/tmp/bundle-preload.XXXXXX";

/* Into the empty root, in a user namespace of our own when we lack the
 * privilege: exit 3 if neither works (the test's own fault, not the code's). */
static void enter_empty_root(void)
{
	if (chroot(empty_root) < 0 && (unshare(CLONE_NEWUSER) < 0 || chroot(empty_root) < 0))
		_exit(3);
	if (chdir("/") < 0)
		_exit(3);
}

/* In a child: make a context (or not), enter the empty root, open the
 * bundle's kernel: 0 opened, 1 not. */
static int child_opens_kernel(bool make_context)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct vm_config cfg = { 0 };
		struct kernel_image k;

		krun_set_log_level(KRUN_LOG_LEVEL_OFF);
		if (make_context && krun_create_ctx() < 0)
			_exit(4);
		enter_empty_root();
		int ret = kernel_open(&k, &cfg);
		if (ret == 0 && (!k.flat || k.size == 0))
			_exit(5);
		_exit(ret == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(void)
{
	CHECK(mkdtemp(empty_root) != NULL);
	/* The control: without a context first, the empty root has no bundle. */
	CHECK_EQ_INT(child_opens_kernel(false), 1);
	CHECK_EQ_INT(child_opens_kernel(true), 0);
	rmdir(empty_root);
	return CHECK_DONE();
}
