/* vmm_start's failures, without KVM: each returns the errno of what failed
 * with exactly one error line saying what. The configuration is checked
 * before KVM is opened, so those cases point the KVM device at a directory:
 * were KVM opened first, they would fail with EISDIR instead. Each case runs
 * in a forked child, since a start that got further would end the process. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "check.h"
#include "config/vm_config.h"
#include "disk/image.h"
#include "vmm/start.h"

static char dir[] = "/tmp/krun-start-errors-XXXXXX";
static char kernel[64], missing[64], root[64], locked[64], under_file[80];

static struct vm_config base_config(void)
{
	/* any non-empty file maps as a RAW kernel, loaded at 2 GiB */
	return (struct vm_config){ .nr_vcpus = 1, .ram_mib = 3072, .kernel_path = kernel,
				   .kernel_format = VM_KERNEL_RAW, .kvm_path = dir };
}

/* cfg with one disk of path, in format. */
static struct vm_config with_disk(const char *path, uint32_t format, bool read_only)
{
	struct vm_config cfg = base_config();

	cfg.nr_disks = 1;
	cfg.disks[0] = (struct vm_disk){ .block_id = "d", .path = (char *)path, .format = format,
					 .read_only = read_only };
	return cfg;
}

static struct vm_config with_root(const char *path)
{
	struct vm_config cfg = base_config();

	cfg.nr_shares = 1;
	cfg.shares[0] = (struct vm_share){ .tag = VM_ROOT_TAG, .path = (char *)path };
	return cfg;
}

/* Run vmm_start on cfg in a child (as uid, unless 0, when run as root) and
 * check the errno it returns and that its log at the error level is one
 * line containing what. */
static void check_start(int line, struct vm_config cfg, uid_t uid, int err, const char *what)
{
	char log[4096];
	int fds[2], status;
	ssize_t len = 0, n;

	if (pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		log_set_fd(fds[1]);
		log_set_level(LOG_ERROR);
		if (uid && geteuid() == 0 && setuid(uid) < 0)
			_exit(255);
		int ret = vmm_start(&cfg);
		_exit(ret < 0 && ret > -255 ? -ret : 254);
	}
	close(fds[1]);
	while ((n = read(fds[0], log + len, sizeof(log) - 1 - len)) > 0)
		len += n;
	log[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);

	unsigned int lines = 0;
	for (char *c = log; *c; c++)
		lines += *c == '\n';
	int got = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (got != err || lines != 1 || !strstr(log, "libkrun: error: ") || !strstr(log, what)) {
		check_failures++;
		fprintf(stderr, "%s:%d: returned errno %d (%s), expected %d (%s) and one error line "
			"with \"%s\"; the log has %u lines: %s\n", __FILE__, line, got, strerror(got),
			err, strerror(err), what, lines, log);
	}
	check_count++;
}

static void make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, "kernel", 6) != 6 || close(fd) < 0) {
		perror(path);
		exit(1);
	}
}

int main(void)
{
	struct vm_config cfg;

	if (!mkdtemp(dir) || chmod(dir, 0755) < 0) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(locked, sizeof(locked), "%s/locked", dir);
	snprintf(under_file, sizeof(under_file), "%s/kernel/root", dir);
	make_file(kernel, 0644);
	if (mkdir(root, 0755) < 0 || mkdir(locked, 0) < 0) {
		perror("mkdir");
		return 1;
	}

	/* the KVM device, injected: on any machine, with or without KVM */
	cfg = base_config();
	cfg.kvm_path = missing;
	check_start(__LINE__, cfg, 0, ENOENT, "cannot open /tmp/krun-start-errors-");
	cfg.kvm_path = kernel;
	check_start(__LINE__, cfg, 0, ENOTTY, "/kernel is not KVM: ");
	cfg.kvm_path = dir;
	check_start(__LINE__, cfg, 0, EISDIR, "cannot open /tmp/krun-start-errors-");

	/* the configuration, before KVM */
	cfg = base_config();
	cfg.kernel_path = missing;
	check_start(__LINE__, cfg, 0, ENOENT, "cannot open the kernel /tmp/krun-start-errors-");
	cfg = base_config();
	cfg.kernel_path = root;
	check_start(__LINE__, cfg, 0, EINVAL, "/root is not a non-empty regular file");
	cfg = base_config();
	cfg.ram_mib = VM_MAX_RAM_MIB + 1;
	check_start(__LINE__, cfg, 0, EINVAL, "MiB of RAM requested, past the limit of");
	/* too small for the kernel image, which ends 4 KiB past 2 GiB: 2049 MiB
	 * is the least, and it gets as far as KVM */
	cfg.ram_mib = 1;
	check_start(__LINE__, cfg, 0, EINVAL, "1 MiB of RAM is too small for this guest: it "
					      "needs 2049 MiB at least");
	cfg.ram_mib = 2048;
	check_start(__LINE__, cfg, 0, EINVAL, "2048 MiB of RAM is too small");
	cfg.ram_mib = 2049;
	check_start(__LINE__, cfg, 0, EISDIR, "cannot open /tmp/krun-start-errors-");
	check_start(__LINE__, with_root(missing), 0, ENOENT, "/missing with the guest: ");
	check_start(__LINE__, with_root(kernel), 0, ENOTDIR, "/kernel with the guest: ");
	check_start(__LINE__, with_root(under_file), 0, ENOTDIR, "/kernel/root with the guest: ");
	/* a root this user may not read (as root, which may, the child drops to nobody) */
	check_start(__LINE__, with_root(locked), 65534, EACCES, "/locked with the guest: ");
	/* disks: opened (and locked) before KVM too */
	check_start(__LINE__, with_disk(missing, DISK_FORMAT_RAW, true), 0, ENOENT,
		    "cannot open disk /tmp/krun-start-errors-");
	check_start(__LINE__, with_disk(root, DISK_FORMAT_RAW, true), 0, EISDIR,
		    "/root is not a regular file or a block device");
	check_start(__LINE__, with_disk(kernel, DISK_FORMAT_VMDK, false), 0, EOPNOTSUPP,
		    "VMDK images are not supported");
	check_start(__LINE__, with_disk(locked, DISK_FORMAT_RAW, false), 0, EISDIR,
		    "cannot open disk");
	{
		/* an image another opener writes */
		const struct disk_open_opts opts = { .sync = DISK_SYNC_FULL };
		int fd = disk_image_open_file(kernel, DISK_FORMAT_RAW, &opts);

		CHECK(fd >= 0);
		check_start(__LINE__, with_disk(kernel, DISK_FORMAT_RAW, true), 0, EBUSY,
			    "is in use by another VM or QEMU");
		close(fd);
	}

	unlink(kernel);
	rmdir(root);
	rmdir(locked);
	rmdir(dir);
	return CHECK_DONE();
}
