/* A stand-in for /dev/kvm, preloaded into install-tree.sh's clients: libkrun
 * opens KVM before it looks for its kernel bundle, and the machines the host
 * suite runs on may have no KVM. It answers only what comes before the
 * bundle (the check that a hardware KVM module is loaded, opening /dev/kvm,
 * its API version, creating a VM) and fails every other request on its file
 * descriptors with ENOTTY, so the VM build stops right after the bundle. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Written by the one thread that builds the VM, before any other starts. */
static int kvm_fd = -1, vm_fd = -1;

int access(const char *path, int mode)
{
	static int (*real_access)(const char *, int);
	if (strcmp(path, "/sys/module/kvm_intel") == 0)
		return 0;
	if (!real_access)
		real_access = (int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
	return real_access(path, mode);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (strcmp(path, "/dev/kvm") == 0)
		return kvm_fd = eventfd(0, EFD_CLOEXEC);
	/* open and open64 are one function on 64-bit glibc */
	static int (*real_open)(const char *, int, ...);
	if (!real_open)
		real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	return real_open(path, flags, mode);
}
/* Which of the two a caller imports depends on _FILE_OFFSET_BITS. */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == kvm_fd && request == KVM_GET_API_VERSION)
		return KVM_API_VERSION;
	if (fd >= 0 && fd == kvm_fd && request == KVM_CREATE_VM)
		return vm_fd = eventfd(0, EFD_CLOEXEC);
	if (fd >= 0 && (fd == kvm_fd || fd == vm_fd)) {
		errno = ENOTTY;
		return -1;
	}
	static int (*real_ioctl)(int, unsigned long, ...);
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real_ioctl(fd, request, arg);
}
