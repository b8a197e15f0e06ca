/* /init.krun: PID 1 of a libkrun-c guest. Mounts the kernel filesystems,
 * loads the workload's configuration (kernel command line, then
 * /.krun_config.json), runs the workload, reaps orphans until it exits and
 * hands its status to the VMM through the control port before rebooting.
 * Static, so it needs nothing from the guest's root.
 *
 * Settings, from the environment the kernel gives init (the command line's
 * KEY=value words) or the config's env entries; empty ones count as unset:
 *   KRUN_INIT         the command; the init's own arguments (the words after
 *                     "--") follow it. Else the config's, else /bin/sh.
 *   KRUN_CONFIG       the config file (then it must exist), else
 *                     /.krun_config.json (if it exists)
 *   KRUN_WORKDIR      the working directory, else the config's
 *   KRUN_RLIMITS      ID=CUR:MAX[,...] (Linux RLIMIT_* numbers), set in the init
 *   KRUN_HOME, KRUN_TERM   become HOME and TERM
 *   KRUN_SETUID, KRUN_SETGID   decimal ids the workload runs as (ours; libkrun
 *                     has no such settings), supplementary groups dropped
 *   KRUN_INIT_PID1=1  exec the workload in place of the init, as PID 1
 *   HOSTNAME          the hostname, else "localhost"
 *   KRUN_STDIO_PORTS  how many console ports named krun-stdin, krun-stdout,
 *                     krun-stderr the VMM gave the workload's stdio that is
 *                     not a terminal (ours; libkrun's init looks without
 *                     waiting)
 *   KRUN_DHCP         "1" (libkrun's) or interface names, comma-separated:
 *                     configured by DHCP, within DHCP_TIMEOUT_MS each (dhcp.h)
 *   KRUN_TSI_DNS      with TSI for inet (/sys/module/tsi/parameters/hijack):
 *                     the host's name servers, written to /etc/resolv.conf
 *                     when the root has none; dummy0 is brought up then
 *                     either way (tsi_net.h)
 *   KRUN_BLOCK_ROOT_DEVICE, _FSTYPE, _OPTIONS   a root on a disk (libkrun's):
 *                     mounted and made the root once the configuration is
 *                     read from the share (where the VMM serves it), before
 *                     the config's tmpfs mounts, which go into the new root
 * The workload's environment is the same less these KRUN_* variables, with
 * PATH defaulting to the usual.
 *
 * The status reported: the workload's exit code, 128+N when signal N killed
 * it, 127 when the command is not found, 126 when it cannot be executed and
 * 125 when the init could not set up (a bad config or setting, a failed
 * chdir or id change). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "guest_abi.h"
#include "net.h"
#include "root_disk.h"
#include "shutdown.h"
#include "tsi_net.h"
#include "workload.h"

static bool ctl_port_usable;

static void ctl_port_boot_marker(void)
{
	ctl_port_usable = ioperm(KRUN_CTL_PORT, KRUN_CTL_PORT_SIZE, 1) == 0;
	if (ctl_port_usable)
		outb(1, KRUN_CTL_BOOT_MARKER);
}

/* The status ends the VM then and there (the VMM runs this CPU no further),
 * so the share's dirty data is written back first. */
__attribute__((noreturn)) static void finish(int status)
{
	sync();
	if (ctl_port_usable)
		outl(status, KRUN_CTL_EXIT_STATUS);
	reboot(RB_AUTOBOOT);
	_exit(status); /* not PID 1, or reboot refused */
}

__attribute__((noreturn, format(printf, 1, 2))) static void setup_failed(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("init.krun: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	finish(STATUS_SETUP_FAILED);
}

/* A setting from the environment; an empty one (KEY= on the kernel command
 * line) counts as unset. */
static const char *setting(const char *name)
{
	const char *value = getenv(name);
	return value && value[0] ? value : NULL;
}

/* Something is mounted at path when it lies on another device than its
 * parent directory. */
static bool is_mount_point(const char *path)
{
	char parent[PATH_MAX];
	struct stat st, parent_st;
	snprintf(parent, sizeof(parent), "%s/..", path);
	return stat(path, &st) == 0 && stat(parent, &parent_st) == 0 &&
	       st.st_dev != parent_st.st_dev;
}

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return errno = ENAMETOOLONG, -1;
	for (char *slash = strchr(dir + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -1;
		if (!slash)
			return 0;
		*slash = '/';
	}
}

static const struct {
	const char *source, *target, *fstype;
	unsigned long flags;
	const char *data;
} system_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "newinstance,ptmxmode=0666,mode=0620" },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
};

/* Failures are only reported: a workload may well run without them. */
static void mount_system_filesystems(void)
{
	for (size_t i = 0; i < sizeof(system_mounts) / sizeof(system_mounts[0]); i++) {
		const char *target = system_mounts[i].target;
		if (is_mount_point(target))
			continue;
		mkdir(target, 0755);
		if (mount(system_mounts[i].source, target, system_mounts[i].fstype,
			  system_mounts[i].flags, system_mounts[i].data) && errno != EBUSY)
			fprintf(stderr, "init.krun: mount %s: %s\n", target, strerror(errno));
	}
	/* a root without /tmp still gets a writable one; one with its own keeps it */
	if (mkdir("/tmp", 01777) == 0 &&
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"))
		fprintf(stderr, "init.krun: mount /tmp: %s\n", strerror(errno));
	/* mounts made inside the guest propagate, as libkrun's guests expect */
	if (mount(NULL, "/", NULL, MS_SHARED | MS_REC, NULL))
		fprintf(stderr, "init.krun: make / shared: %s\n", strerror(errno));
	symlink("/proc/self/fd", "/dev/fd"); /* EEXIST is fine */
	chmod("/dev/kvm", 0666);	     /* nested VMs for any user; ENOENT is fine */
}

/* The configuration's tmpfs mounts where nothing is mounted yet, as
 * libkrun's init: an OCI runtime's config.json (crun's) lists a tmpfs for
 * /dev and /dev/shm, and covering the devtmpfs mounted above would hide the
 * console ports' nodes the init is about to open. */
static void mount_config_tmpfs(const struct init_config *cfg)
{
	for (size_t i = 0; i < cfg->mount_count; i++) {
		const struct tmpfs_mount *m = &cfg->mounts[i];
		unsigned long flags;
		char data[1024];
		if (is_mount_point(m->destination))
			continue;
		if (mount_options_parse(m->options.items, &flags, data, sizeof(data)))
			setup_failed("mount %s: options too long", m->destination);
		if (mkdir_parents(m->destination) ||
		    mount(m->source, m->destination, "tmpfs", flags, data))
			setup_failed("mount %s: %s", m->destination, strerror(errno));
	}
}

/* The kernel gives init the console as stdio only when the root had a
 * /dev/console node; otherwise take it from devtmpfs. */
static void console_stdio(void)
{
	if (fcntl(STDIN_FILENO, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i <= STDERR_FILENO; i++)
		dup2(fd, i);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void set_hostname(void)
{
	const char *name = setting("HOSTNAME");
	if (!name)
		name = "localhost";
	if (sethostname(name, strlen(name)))
		fprintf(stderr, "init.krun: sethostname: %s\n", strerror(errno));
}

/* Set in the init, so that the workload and everything it starts inherit them. */
static void apply_rlimits(void)
{
	const char *spec = setting(KRUN_ENV_RLIMITS);
	struct rlimit_setting settings[RLIMITS_MAX];
	size_t count;
	if (!spec)
		return;
	if (rlimits_parse(spec, settings, RLIMITS_MAX, &count))
		setup_failed(KRUN_ENV_RLIMITS "=\"%s\": expected ID=CUR:MAX[,ID=CUR:MAX...]", spec);
	for (size_t i = 0; i < count; i++) {
		if (setrlimit(settings[i].resource, &settings[i].limit))
			setup_failed("setrlimit %d: %s", settings[i].resource, strerror(errno));
	}
}

struct workload {
	struct strv argv, env;
	const char *workdir; /* NULL: stay at / */
	bool set_uid, set_gid;
	unsigned int uid, gid;
};

static void parse_id_setting(const char *name, bool *set, unsigned int *id)
{
	const char *value = setting(name);
	*set = value != NULL;
	if (value && id_parse(value, id))
		setup_failed("%s=\"%s\": expected a decimal id", name, value);
}

/* What went wrong between fork and exec, for the init to report. */
struct exec_failure {
	int status;
	int err;
	char step[256]; /* with the pipe's whole record, within PIPE_BUF: one write */
};

__attribute__((format(printf, 3, 4))) static void set_failure(struct exec_failure *failure,
							      int status, const char *fmt, ...)
{
	va_list ap;
	failure->status = status;
	failure->err = errno;
	va_start(ap, fmt);
	vsnprintf(failure->step, sizeof(failure->step), fmt, ap);
	va_end(ap);
}

#define VIRTIO_PORTS_DIR "/sys/class/virtio-ports"
/* The names come from the driver's work queue after boot: a moment on
 * hardware, seconds in a busy nested test host. A port that never comes is
 * a fault, said on the console rather than waited for forever. */
#define STDIO_PORTS_WAIT_MS 30000

/* Which stdio fd a console port's name stands for, or -1. */
static int stdio_fd_of_port(const char *name)
{
	static const char *const names[] = { KRUN_PORT_STDIN, KRUN_PORT_STDOUT, KRUN_PORT_STDERR };

	for (int fd = 0; fd < 3; fd++) {
		if (strcmp(name, names[fd]) == 0)
			return fd;
	}
	return -1;
}

/* Call fn(name, device path, arg) for each console port that has a name
 * yet; how many fn counted (its return value summed). */
static unsigned int for_each_named_port(unsigned int (*fn)(const char *name, const char *dev,
							   void *arg),
					void *arg)
{
	DIR *dir = opendir(VIRTIO_PORTS_DIR);
	struct dirent *e;
	unsigned int counted = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		char path[PATH_MAX], name[64] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VIRTIO_PORTS_DIR "/%s/name", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		name[n > 0 ? n : 0] = '\0';
		name[strcspn(name, "\n")] = '\0';
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		counted += fn(name, path, arg);
	}
	closedir(dir);
	return counted;
}

/* Move a stdio fd not yet done (done[fd]) to the port, if it is one of
 * theirs; 1 when moved. A port opens once only (EBUSY after). */
static unsigned int redirect_to_port(const char *name, const char *dev, void *arg)
{
	bool *done = arg;
	int target = stdio_fd_of_port(name);

	if (target < 0 || done[target])
		return 0;
	int fd = open(dev, (target == STDIN_FILENO ? O_RDONLY : O_WRONLY) | O_NOCTTY);
	if (fd < 0)
		return 0; /* not there yet: the next look */
	if (fd != target) {
		dup2(fd, target);
		close(fd);
	}
	done[target] = true;
	return 1;
}

/* Look, briefly, until count ports are there as fn counts them: the guest
 * learns their names a moment after the ports appear. False on giving up. */
static bool wait_for_ports(unsigned int count, unsigned int (*fn)(const char *, const char *,
								   void *),
			   void *arg, unsigned int *found)
{
	struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

	*found = 0;
	for (int waited = 0;; waited += 10) {
		*found += for_each_named_port(fn, arg);
		if (*found >= count)
			return true;
		if (waited >= STDIO_PORTS_WAIT_MS)
			return false;
		nanosleep(&pause, NULL);
	}
}

/* The VMM gives stdio that is not a terminal a console port of its own. */
static void redirect_stdio_to_ports(void)
{
	const char *setting_value = setting(KRUN_ENV_STDIO_PORTS);
	unsigned int expected = setting_value ? strtoul(setting_value, NULL, 10) : 0, found;
	bool done[3] = { false };

	if (expected > 3)
		expected = 3;
	if (!wait_for_ports(expected, redirect_to_port, done, &found))
		fprintf(stderr, "init.krun: only %u of the %u krun-* console ports appeared;"
			" the rest of stdio stays on the console\n", found, expected);
}

static unsigned int open_shutdown_port(const char *name, const char *dev, void *arg)
{
	int *fd = arg;

	if (*fd >= 0 || strcmp(name, KRUN_PORT_SHUTDOWN) != 0)
		return 0;
	*fd = open(dev, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return *fd >= 0;
}

/* The shutdown port, opened (so the VMM starts passing requests on), or
 * -1 when the VMM made none. */
static int shutdown_port(void)
{
	const char *made = setting(KRUN_ENV_SHUTDOWN_PORT);
	unsigned int found;
	int fd = -1;

	if (!made || strcmp(made, "1") != 0)
		return -1;
	if (!wait_for_ports(1, open_shutdown_port, &fd, &found))
		fprintf(stderr, "init.krun: the " KRUN_PORT_SHUTDOWN " console port did not appear;"
			" the host cannot ask for a shutdown\n");
	return fd;
}

/* The workload's side of the setup: a session of its own with the console
 * as controlling terminal and stdio, then its directory and identity. */
static int prepare_process(const struct workload *w, struct exec_failure *failure)
{
	setsid(); /* EPERM when already a session leader, which is as good */
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		for (int i = 0; i <= STDERR_FILENO; i++)
			dup2(fd, i);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	ioctl(STDIN_FILENO, TIOCSCTTY, 1); /* job control: the console is the terminal */
	redirect_stdio_to_ports();

	if (w->workdir && chdir(w->workdir))
		set_failure(failure, STATUS_SETUP_FAILED, "chdir %s", w->workdir);
	else if ((w->set_uid || w->set_gid) && setgroups(0, NULL))
		set_failure(failure, STATUS_SETUP_FAILED, "setgroups");
	else if (w->set_gid && setgid(w->gid))
		set_failure(failure, STATUS_SETUP_FAILED, "setgid %u", w->gid);
	else if (w->set_uid && setuid(w->uid))
		set_failure(failure, STATUS_SETUP_FAILED, "setuid %u", w->uid);
	else
		return 0;
	return -1;
}

/* Returns only when exec failed, with failure filled. */
static void exec_workload(const struct workload *w, struct exec_failure *failure)
{
	if (prepare_process(w, failure))
		return;
	environ = w->env.items;
	execvp(w->argv.items[0], w->argv.items);
	set_failure(failure, status_from_exec_errno(errno), "exec %s", w->argv.items[0]);
}

static int report_failure(const struct exec_failure *failure)
{
	fprintf(stderr, "init.krun: %s: %s\n", failure->step, strerror(failure->err));
	return failure->status;
}

static int run_as_pid1(const struct workload *w)
{
	struct exec_failure failure;
	exec_workload(w, &failure);
	return report_failure(&failure);
}

/* Runs the workload as a child, reaping every orphan the guest re-parents to
 * us until the workload itself exits, and passing it a shutdown the host
 * asks for (shutdown.h). A CLOEXEC pipe tells a failed setup or exec
 * (reported through it) from a workload that exits 125..127 itself. */
static int run_as_child(const struct workload *w)
{
	int shutdown_fd = shutdown_port();
	sigset_t child_mask;
	int pipe_fds[2];
	if (shutdown_wait_prepare(&child_mask))
		setup_failed("SIGCHLD: %s", strerror(errno));
	if (pipe2(pipe_fds, O_CLOEXEC))
		setup_failed("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		setup_failed("fork: %s", strerror(errno));
	if (pid == 0) {
		struct exec_failure failure;
		close(pipe_fds[0]);
		sigprocmask(SIG_SETMASK, &child_mask, NULL); /* exec keeps the mask */
		exec_workload(w, &failure);
		write(pipe_fds[1], &failure, sizeof(failure));
		_exit(failure.status);
	}
	close(pipe_fds[1]);

	struct exec_failure failure;
	ssize_t n;
	do
		n = read(pipe_fds[0], &failure, sizeof(failure));
	while (n < 0 && errno == EINTR);
	close(pipe_fds[0]);

	int wstatus = shutdown_wait(pid, shutdown_fd, KRUN_SHUTDOWN_GRACE_MS);
	if (wstatus < 0)
		setup_failed("waitpid: %s", strerror(errno));
	if (n == sizeof(failure))
		return report_failure(&failure);
	return status_from_wait(wstatus);
}

int main(int argc, char **argv)
{
	ctl_port_boot_marker(); /* first: time to the workload, as Firecracker's boot timer */
	(void)argc;

	mount_system_filesystems();
	console_stdio();

	const char *config_path = setting(KRUN_ENV_CONFIG);
	struct init_config cfg;
	char err[512];
	if (config_load(config_path ? config_path : KRUN_CONFIG_DEFAULT_PATH, config_path != NULL,
			&cfg, err, sizeof(err)) < 0)
		setup_failed("%s", err);
	const char *root_disk = setting(KRUN_ENV_BLOCK_ROOT_DEVICE);
	if (root_disk) {
		if (root_disk_switch(root_disk, setting(KRUN_ENV_BLOCK_ROOT_FSTYPE),
				     setting(KRUN_ENV_BLOCK_ROOT_OPTIONS), err, sizeof(err)))
			setup_failed("root disk: %s", err);
		mount_system_filesystems(); /* the new root's, and / shared again */
		rmdir(ROOT_DISK_STAGING);
	}
	mount_config_tmpfs(&cfg);

	/* from here on setting() sees the config's variables too */
	struct strv settings = { 0 };
	if (env_merge(&settings, environ, cfg.env.items))
		setup_failed("out of memory");
	environ = settings.items;

	set_hostname();
	apply_rlimits();
	net_setup(setting(KRUN_ENV_DHCP), &(struct net_options){ 0 });
	tsi_net_setup(setting(KRUN_ENV_TSI_DNS), &(struct tsi_net_options){ 0 });

	struct workload w = { .workdir = setting(KRUN_ENV_WORKDIR) };
	if (!w.workdir)
		w.workdir = cfg.cwd;
	parse_id_setting(KRUN_ENV_SETUID, &w.set_uid, &w.uid);
	parse_id_setting(KRUN_ENV_SETGID, &w.set_gid, &w.gid);
	if (workload_argv(&w.argv, setting(KRUN_ENV_INIT), argv + 1, cfg.argv.items) ||
	    workload_env(&w.env, settings.items))
		setup_failed("out of memory");

	const char *pid1 = setting(KRUN_ENV_INIT_PID1);
	finish(pid1 && strcmp(pid1, "1") == 0 ? run_as_pid1(&w) : run_as_child(&w));
}
