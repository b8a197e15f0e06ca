/* The public API without KVM: every call's argument checks, its errors and
 * log lines, and what valid calls leave in the recorded configuration. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/context.h"
#include "check.h"

#define NO_CTX 999999u

static int log_pipe[2];

/* Everything logged since the last call, as one string. */
static const char *drain_log(void)
{
	static char text[65536];
	ssize_t n, len = 0;

	while ((n = read(log_pipe[0], text + len, sizeof(text) - 1 - len)) > 0)
		len += n;
	text[len] = '\0';
	return text;
}

#define CHECK_LOGGED(needle) \
	do { \
		const char *logged_ = drain_log(); \
		check_count++; \
		if (!strstr(logged_, needle)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: log lacks \"%s\"; it has: %s\n", __FILE__, \
				__LINE__, needle, logged_); \
		} \
	} while (0)

/* Route the library's log into a pipe the checks read. */
static void capture_log(void)
{
	if (!log_pipe[1] && (pipe(log_pipe) || fcntl(log_pipe[0], F_SETFL, O_NONBLOCK))) {
		perror("pipe");
		exit(1);
	}
	CHECK_EQ_INT(krun_init_log(log_pipe[1], KRUN_LOG_LEVEL_ERROR, KRUN_LOG_STYLE_NEVER,
				   KRUN_LOG_OPTION_NO_ENV),
		     0);
}

static uint32_t new_ctx(void)
{
	int32_t id = krun_create_ctx();

	CHECK(id >= 0);
	return (uint32_t)id;
}

/* The recorded configuration; done() releases it. */
static struct vm_config *config_of(uint32_t ctx)
{
	struct vm_config *cfg = ctx_lock(ctx, "test");

	if (!cfg) {
		fprintf(stderr, "context %u vanished\n", ctx);
		exit(1);
	}
	return cfg;
}

static void done(void)
{
	ctx_unlock();
}

/* An array of n copies of entry, NULL-terminated. */
static const char **repeat(const char *entry, int n)
{
	const char **strv = calloc(n + 1, sizeof(*strv));

	for (int i = 0; i < n; i++)
		strv[i] = entry;
	return strv;
}

static void test_logging(void)
{
	int closed;

	capture_log();
	closed = open("/dev/null", O_WRONLY);
	close(closed);
	CHECK_EQ_INT(krun_init_log(0, 1, 0, 0), -EINVAL);
	CHECK_LOGGED("krun_init_log: fd 0 (stdin)");
	CHECK_EQ_INT(krun_init_log(-2, 1, 0, 0), -EINVAL);
	CHECK_EQ_INT(krun_init_log(closed, 1, 0, 0), -EBADF);
	CHECK_LOGGED("is not open");
	CHECK_EQ_INT(krun_init_log(-1, 1, KRUN_LOG_STYLE_NEVER + 1, 0), -EINVAL);
	CHECK_EQ_INT(krun_init_log(-1, 1, 0, KRUN_LOG_OPTION_NO_ENV << 1), -EINVAL);
	drain_log();

	/* levels past TRACE mean TRACE, as in libkrun */
	CHECK_EQ_INT(krun_set_log_level(99), 0);
	CHECK_EQ_INT(log_get_level(), LOG_TRACE);

	/* RUST_LOG wins over the requested level unless NO_ENV is given */
	setenv("RUST_LOG", "Warn", 1);
	CHECK_EQ_INT(krun_set_log_level(KRUN_LOG_LEVEL_ERROR), 0);
	CHECK_EQ_INT(log_get_level(), LOG_WARN);
	CHECK_EQ_INT(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_INFO, 0, 0), 0);
	CHECK_EQ_INT(log_get_level(), LOG_WARN);
	CHECK_EQ_INT(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_INFO, 0,
				   KRUN_LOG_OPTION_NO_ENV),
		     0);
	CHECK_EQ_INT(log_get_level(), LOG_INFO);
	unsetenv("RUST_LOG");

	capture_log();
}

static void test_contexts(void)
{
	/* the first context of the process is 0, and ids are not reused */
	CHECK_EQ_INT(krun_create_ctx(), 0);
	CHECK_EQ_INT(krun_create_ctx(), 1);
	CHECK_EQ_INT(krun_free_ctx(0), 0);
	CHECK_EQ_INT(krun_free_ctx(0), -ENOENT);
	CHECK_LOGGED("krun_free_ctx: no context 0");
	CHECK_EQ_INT(krun_create_ctx(), 2);
	CHECK_EQ_INT(krun_free_ctx(1), 0);
	CHECK_EQ_INT(krun_free_ctx(2), 0);
	CHECK_EQ_INT(krun_free_ctx(NO_CTX), -ENOENT);
	CHECK_EQ_INT(krun_start_enter(NO_CTX), -ENOENT);
	CHECK_LOGGED("krun_start_enter: no context");

	uint32_t ctx = new_ctx();
	struct vm_config *cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_vcpus, 1);
	CHECK_EQ_INT(cfg->ram_mib, 128);
	CHECK(!cfg->exec_path && !cfg->argv && !cfg->envp && !cfg->kernel_path);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_vm_config(void)
{
	uint32_t ctx = new_ctx();

	CHECK_EQ_INT(krun_set_vm_config(ctx, 0, 512), -EINVAL);
	CHECK_LOGGED("krun_set_vm_config: 0 vCPUs requested, need 1..16");
	CHECK_EQ_INT(krun_set_vm_config(ctx, VM_MAX_VCPUS + 1, 512), -EINVAL);
	CHECK_EQ_INT(krun_set_vm_config(ctx, 255, 512), -EINVAL);
	CHECK_EQ_INT(krun_set_vm_config(ctx, 1, 0), -EINVAL);
	CHECK_LOGGED("0 MiB of RAM requested");
	CHECK_EQ_INT(krun_set_vm_config(ctx, 1, VM_MAX_RAM_MIB + 1), -EINVAL);
	CHECK_EQ_INT(krun_set_vm_config(ctx, 1, UINT32_MAX), -EINVAL);
	CHECK_EQ_INT(krun_set_vm_config(NO_CTX, 2, 512), -ENOENT);
	CHECK_LOGGED("krun_set_vm_config: no context");

	/* refusals leave the defaults */
	struct vm_config *cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_vcpus, 1);
	CHECK_EQ_INT(cfg->ram_mib, 128);
	done();

	CHECK_EQ_INT(krun_set_vm_config(ctx, VM_MAX_VCPUS, VM_MAX_RAM_MIB), 0);
	CHECK_EQ_INT(krun_set_vm_config(ctx, 2, 2048), 0);
	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_vcpus, 2);
	CHECK_EQ_INT(cfg->ram_mib, 2048);
	done();

	CHECK_EQ_INT(krun_split_irqchip(NO_CTX, true), -ENOENT);
	CHECK_EQ_INT(krun_set_nested_virt(NO_CTX, true), -ENOENT);
	CHECK_EQ_INT(krun_split_irqchip(ctx, true), 0);
	CHECK_EQ_INT(krun_set_nested_virt(ctx, true), 0);
	cfg = config_of(ctx);
	CHECK(cfg->split_irqchip && cfg->nested_virt);
	done();
	CHECK_EQ_INT(krun_split_irqchip(ctx, false), 0);
	cfg = config_of(ctx);
	CHECK(!cfg->split_irqchip);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_host_queries(void)
{
	static const uint64_t not_built[] = {
		KRUN_FEATURE_BLK,	KRUN_FEATURE_GPU,	KRUN_FEATURE_INPUT,
		KRUN_FEATURE_TEE,	KRUN_FEATURE_AMD_SEV,	KRUN_FEATURE_INTEL_TDX,
		KRUN_FEATURE_AWS_NITRO, KRUN_FEATURE_VIRGL_RESOURCE_MAP2, KRUN_FEATURE_INIT_BLOB,
	};
	CHECK_EQ_INT(krun_has_feature(KRUN_FEATURE_NET), 1);
	for (size_t i = 0; i < sizeof(not_built) / sizeof(not_built[0]); i++)
		CHECK_EQ_INT(krun_has_feature(not_built[i]), 0);
	/* ids libkrun leaves unassigned, and ones past its list */
	CHECK_EQ_INT(krun_has_feature(3), -EINVAL);
	CHECK_EQ_INT(krun_has_feature(5), -EINVAL);
	CHECK_EQ_INT(krun_has_feature(12), -EINVAL);
	CHECK_EQ_INT(krun_has_feature(UINT64_MAX), -EINVAL);

	int nested = krun_check_nested_virt();
	CHECK(nested == 0 || nested == 1);

	/* a negative errno where /dev/kvm cannot be opened */
	int max = krun_get_max_vcpus();
	CHECK(max < 0 || (max >= 1 && max <= VM_MAX_VCPUS));
	if (access("/dev/kvm", R_OK | W_OK) == 0)
		CHECK(max >= 1);
	drain_log();
}

static void test_exec_and_env(void)
{
	uint32_t ctx = new_ctx();
	char path[] = "/bin/app", arg[] = "--flag", var[] = "A=1";
	const char *argv[] = { arg, NULL };
	const char *envp[] = { var, NULL };
	const char **too_many = repeat("x", API_MAX_STRINGS + 1);
	const char **most = repeat("x", API_MAX_STRINGS);
	struct vm_config *cfg;

	CHECK_EQ_INT(krun_set_exec(ctx, NULL, argv, envp), -EINVAL);
	CHECK_LOGGED("krun_set_exec: exec path is NULL");
	CHECK_EQ_INT(krun_set_exec(ctx, path, too_many, envp), -EINVAL);
	CHECK_LOGGED("krun_set_exec: argv has more than 4096 entries");
	CHECK_EQ_INT(krun_set_exec(ctx, path, argv, too_many), -EINVAL);
	CHECK_LOGGED("envp has more than 4096");
	CHECK_EQ_INT(krun_set_exec(NO_CTX, path, argv, envp), -ENOENT);
	CHECK_EQ_INT(krun_set_env(ctx, too_many), -EINVAL);
	CHECK_EQ_INT(krun_set_env(NO_CTX, envp), -ENOENT);
	cfg = config_of(ctx);
	CHECK(!cfg->exec_path && !cfg->argv && !cfg->envp);
	done();

	/* the call copies: the caller's strings may change right after */
	CHECK_EQ_INT(krun_set_exec(ctx, path, argv, envp), 0);
	path[1] = arg[0] = var[0] = '#';
	cfg = config_of(ctx);
	CHECK(cfg->exec_path && !strcmp(cfg->exec_path, "/bin/app"));
	CHECK(cfg->argv && !strcmp(cfg->argv[0], "--flag") && !cfg->argv[1]);
	CHECK(cfg->envp && !strcmp(cfg->envp[0], "A=1") && !cfg->envp[1]);
	done();

	/* exactly the maximum is fine; NULL argv means none, NULL envp the
	 * host's environment as it is at the call */
	setenv("TEST_API_MARK", "host", 1);
	CHECK_EQ_INT(krun_set_exec(ctx, "/bin/other", NULL, NULL), 0);
	unsetenv("TEST_API_MARK");
	cfg = config_of(ctx);
	CHECK(!strcmp(cfg->exec_path, "/bin/other") && !cfg->argv);
	bool found = false;
	for (char **e = cfg->envp; e && *e; e++)
		found |= !strcmp(*e, "TEST_API_MARK=host");
	CHECK(found);
	done();

	CHECK_EQ_INT(krun_set_exec(ctx, "/bin/many", most, most), 0);
	cfg = config_of(ctx);
	CHECK(cfg->argv[API_MAX_STRINGS - 1] && !cfg->argv[API_MAX_STRINGS]);
	done();

	const char *empty[] = { NULL };
	CHECK_EQ_INT(krun_set_env(ctx, empty), 0);
	cfg = config_of(ctx);
	CHECK(cfg->envp && !cfg->envp[0]);
	CHECK(!strcmp(cfg->exec_path, "/bin/many")); /* set_env touches only envp */
	done();

	free(too_many);
	free(most);
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_workdir_and_ids(void)
{
	uint32_t ctx = new_ctx();
	struct vm_config *cfg;

	CHECK_EQ_INT(krun_set_workdir(ctx, NULL), -EINVAL);
	CHECK_LOGGED("krun_set_workdir: workdir path is NULL");
	CHECK_EQ_INT(krun_set_workdir(NO_CTX, "/"), -ENOENT);
	CHECK_EQ_INT(krun_set_workdir(ctx, "/tmp"), 0);
	CHECK_EQ_INT(krun_set_workdir(ctx, "/srv"), 0);
	cfg = config_of(ctx);
	CHECK(cfg->workdir && !strcmp(cfg->workdir, "/srv"));
	CHECK(!cfg->has_uid && !cfg->has_gid);
	done();

	CHECK_EQ_INT(krun_setuid(ctx, (uid_t)-1), -EINVAL);
	CHECK_LOGGED("krun_setuid: uid -1");
	CHECK_EQ_INT(krun_setgid(ctx, (gid_t)-1), -EINVAL);
	CHECK_EQ_INT(krun_setuid(NO_CTX, 1000), -ENOENT);
	CHECK_EQ_INT(krun_setgid(NO_CTX, 1000), -ENOENT);
	CHECK_EQ_INT(krun_setuid(ctx, 0), 0);
	CHECK_EQ_INT(krun_setgid(ctx, 100), 0);
	cfg = config_of(ctx);
	CHECK(cfg->has_uid && cfg->uid == 0 && cfg->has_gid && cfg->gid == 100);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_rlimits(void)
{
	static const char *const malformed[] = {
		"", "7", "7=", "7=1", "7=1:", "7=1:2x", "x=1:2", "-1=1:2", "7=-1:2", " 7=1:2",
		"7 =1:2", "7=1 :2", "7=1:+2", "7=1:2,8=1:2", "RLIMIT_NOFILE=1:2",
		"7=18446744073709551616:18446744073709551616", /* one past u64 */
		"16=1:2",				       /* no such resource */
		"7=5:4",				       /* soft above hard */
	};
	static const char *const valid[] = { "7=1024:4096", "4=0:18446744073709551615",
					     "0=0:0", NULL };
	uint32_t ctx = new_ctx();
	const char **too_many = repeat("7=1:1", API_MAX_STRINGS + 1);
	struct vm_config *cfg;

	CHECK_EQ_INT(krun_set_rlimits(ctx, NULL), -EINVAL);
	CHECK_LOGGED("krun_set_rlimits: rlimits is NULL");
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const char *one[] = { "7=1:1", malformed[i], NULL };

		CHECK_EQ_INT(krun_set_rlimits(ctx, one), -EINVAL);
	}
	CHECK_LOGGED("krun_set_rlimits: rlimit \"7=5:4\": soft limit above hard limit");
	CHECK_EQ_INT(krun_set_rlimits(ctx, too_many), -EINVAL);
	CHECK_EQ_INT(krun_set_rlimits(NO_CTX, valid), -ENOENT);
	cfg = config_of(ctx);
	CHECK(!cfg->rlimits);
	done();

	CHECK_EQ_INT(krun_set_rlimits(ctx, valid), 0);
	cfg = config_of(ctx);
	CHECK(cfg->rlimits && !strcmp(cfg->rlimits[0], "7=1024:4096") &&
	      !strcmp(cfg->rlimits[2], "0=0:0") && !cfg->rlimits[3]);
	done();

	/* a refused call leaves the previous limits in place */
	const char *bad[] = { "7=9:1", NULL };
	CHECK_EQ_INT(krun_set_rlimits(ctx, bad), -EINVAL);
	cfg = config_of(ctx);
	CHECK(cfg->rlimits && !strcmp(cfg->rlimits[0], "7=1024:4096"));
	done();

	const char *none[] = { NULL };
	CHECK_EQ_INT(krun_set_rlimits(ctx, none), 0);
	cfg = config_of(ctx);
	CHECK(cfg->rlimits && !cfg->rlimits[0]);
	done();

	free(too_many);
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_kernel(void)
{
	char kernel[] = "/tmp/test-api-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	uint32_t ctx = new_ctx();
	struct vm_config *cfg;

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ_INT(krun_set_kernel(ctx, NULL, KRUN_KERNEL_FORMAT_ELF, NULL, NULL), -EINVAL);
	CHECK_LOGGED("krun_set_kernel: kernel path is NULL");
	for (uint32_t format = KRUN_KERNEL_FORMAT_PE_GZ; format <= KRUN_KERNEL_FORMAT_IMAGE_ZSTD;
	     format++)
		CHECK_EQ_INT(krun_set_kernel(ctx, kernel, format, NULL, NULL), -EINVAL);
	CHECK_LOGGED("is for arm64");
	CHECK_EQ_INT(krun_set_kernel(ctx, kernel, KRUN_KERNEL_FORMAT_IMAGE_ZSTD + 1, NULL, NULL),
		     -EINVAL);
	CHECK_LOGGED("unknown kernel format 6");
	CHECK_EQ_INT(krun_set_kernel(ctx, "/nonexistent/vmlinux", KRUN_KERNEL_FORMAT_ELF, NULL,
				     NULL),
		     -EINVAL);
	CHECK_LOGGED("kernel /nonexistent/vmlinux: No such file");
	CHECK_EQ_INT(krun_set_kernel(ctx, "/tmp", KRUN_KERNEL_FORMAT_ELF, NULL, NULL), -EINVAL);
	CHECK_LOGGED("not a regular file");
	CHECK_EQ_INT(krun_set_kernel(ctx, kernel, KRUN_KERNEL_FORMAT_ELF, "/nonexistent/initrd",
				     NULL),
		     -EINVAL);
	CHECK_EQ_INT(krun_set_kernel(NO_CTX, kernel, KRUN_KERNEL_FORMAT_ELF, NULL, NULL), -ENOENT);
	cfg = config_of(ctx);
	CHECK(!cfg->kernel_path);
	done();

	CHECK_EQ_INT(krun_set_kernel(ctx, kernel, KRUN_KERNEL_FORMAT_ELF, kernel, "console=hvc0"),
		     0);
	cfg = config_of(ctx);
	CHECK(!strcmp(cfg->kernel_path, kernel) && !strcmp(cfg->initramfs_path, kernel));
	CHECK(!strcmp(cfg->kernel_cmdline, "console=hvc0"));
	CHECK_EQ_INT(cfg->kernel_format, VM_KERNEL_ELF);
	done();

	/* a later call replaces the whole kernel setting */
	CHECK_EQ_INT(krun_set_kernel(ctx, kernel, KRUN_KERNEL_FORMAT_RAW, NULL, NULL), 0);
	cfg = config_of(ctx);
	CHECK(!cfg->initramfs_path && !cfg->kernel_cmdline);
	CHECK_EQ_INT(cfg->kernel_format, VM_KERNEL_RAW);
	done();

	unlink(kernel);
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_consoles(void)
{
	uint32_t ctx = new_ctx();
	int closed = open("/dev/null", O_RDONLY);
	struct vm_config *cfg;

	close(closed);
	CHECK_EQ_INT(krun_set_console_output(ctx, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_console_output(NO_CTX, "/tmp/out"), -ENOENT);
	CHECK_EQ_INT(krun_set_console_output(ctx, "/tmp/out"), 0);
	CHECK_EQ_INT(krun_set_console_output(ctx, "/tmp/other"), -EINVAL);
	CHECK_LOGGED("console output already set to /tmp/out");

	CHECK_EQ_INT(krun_disable_implicit_console(NO_CTX), -ENOENT);
	CHECK_EQ_INT(krun_disable_implicit_console(ctx), 0);

	CHECK_EQ_INT(krun_add_virtio_console_default(ctx, -2, 1, 2), -EINVAL);
	CHECK_EQ_INT(krun_add_virtio_console_default(ctx, 0, closed, 2), -EBADF);
	CHECK_LOGGED("output fd");
	CHECK_EQ_INT(krun_add_virtio_console_default(NO_CTX, 0, 1, 2), -ENOENT);
	CHECK_EQ_INT(krun_add_virtio_console_default(ctx, 0, 1, 2), 0);
	for (int i = 1; i < VM_MAX_CONSOLES; i++)
		CHECK_EQ_INT(krun_add_virtio_console_default(ctx, -1, 1, -1), 0);
	CHECK_EQ_INT(krun_add_virtio_console_default(ctx, 0, 1, 2), -ENOMEM);
	CHECK_LOGGED("at most 4 consoles");

	cfg = config_of(ctx);
	CHECK(!strcmp(cfg->console_output, "/tmp/out"));
	CHECK(cfg->implicit_console_disabled);
	CHECK_EQ_INT(cfg->nr_consoles, VM_MAX_CONSOLES);
	CHECK(cfg->consoles[0].in_fd == 0 && cfg->consoles[0].out_fd == 1 &&
	      cfg->consoles[0].err_fd == 2);
	CHECK(cfg->consoles[1].in_fd == -1 && cfg->consoles[1].err_fd == -1);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_shares(void)
{
	uint32_t ctx = new_ctx();
	char tag37[38];
	struct vm_config *cfg;
	const uint8_t *init;
	size_t init_len;

	memset(tag37, 't', 37);
	tag37[37] = '\0';
	CHECK_EQ_INT(krun_set_root(NO_CTX, "/"), -ENOENT);
	CHECK_EQ_INT(krun_set_root(ctx, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_root(ctx, "/nonexistent/root"), -EINVAL);
	CHECK_LOGGED("/nonexistent/root is not a directory");
	CHECK_EQ_INT(krun_set_root(ctx, "/etc/passwd"), -EINVAL);
	CHECK_EQ_INT(krun_add_virtiofs(ctx, "", "/tmp"), -EINVAL);
	CHECK_EQ_INT(krun_add_virtiofs(ctx, NULL, "/tmp"), -EINVAL);
	CHECK_EQ_INT(krun_add_virtiofs(ctx, tag37, "/tmp"), -EINVAL);
	CHECK_LOGGED("the tag must be 1 to 36 bytes");
	CHECK_EQ_INT(krun_add_virtiofs2(ctx, "data", "/tmp", 4097), -EINVAL);
	CHECK_EQ_INT(krun_add_virtiofs2(ctx, "data", "/tmp", 128ull << 30), -EINVAL);
	CHECK_LOGGED("DAX window");

	CHECK_EQ_INT(krun_set_root(ctx, "/"), 0);
	CHECK_EQ_INT(krun_set_root(ctx, "/"), -EEXIST);
	CHECK_EQ_INT(krun_add_virtiofs3(ctx, KRUN_FS_ROOT_TAG, "/tmp", 0, true), -EEXIST);
	CHECK_LOGGED("a share tagged /dev/root exists already");
	CHECK_EQ_INT(krun_add_virtiofs(ctx, "plain", "/tmp"), 0);
	CHECK_EQ_INT(krun_add_virtiofs3(ctx, "ro", "/tmp", 1 << 20, true), 0);
	CHECK_EQ_INT(krun_disable_implicit_init(NO_CTX), -ENOENT);
	CHECK_EQ_INT(krun_disable_implicit_init(ctx), 0);
	for (int i = 3; i < VM_MAX_SHARES; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "s%d", i);
		CHECK_EQ_INT(krun_add_virtiofs(ctx, tag, "/tmp"), 0);
	}
	CHECK_EQ_INT(krun_add_virtiofs(ctx, "onemore", "/tmp"), -ENOSPC);

	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_shares, VM_MAX_SHARES);
	CHECK(!strcmp(cfg->shares[0].tag, "/dev/root") && !strcmp(cfg->shares[0].path, "/"));
	CHECK_EQ_INT(cfg->shares[0].shm_size, 512ull << 20);
	CHECK(!cfg->shares[0].read_only);
	CHECK(!strcmp(cfg->shares[1].tag, "plain") && cfg->shares[1].shm_size == 0);
	CHECK(cfg->shares[2].read_only && cfg->shares[2].shm_size == 1 << 20);
	CHECK(cfg->implicit_init_disabled);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);

	CHECK_EQ_INT(krun_get_default_init(NULL, &init_len), -EINVAL);
	CHECK_EQ_INT(krun_get_default_init(&init, NULL), -EINVAL);
	int ret = krun_get_default_init(&init, &init_len);
	CHECK(ret == -ENOTSUP || (ret == 0 && init_len > 4 && !memcmp(init, "\177ELF", 4)));
}

/* A listening socket of type at a fresh path, for the calls that want one. */
static const char *socket_path(int type, int *fd)
{
	static char path[64];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(path, sizeof(path), "/tmp/test-api-net-%d-%d.sock", (int)getpid(), type);
	unlink(path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	*fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(bind(*fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return path;
}

static void test_net(void)
{
	uint32_t ctx = new_ctx();
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t multicast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	uint8_t zero[6] = { 0 };
	int stream[2], gram[2], sfd, gfd;
	const char *spath, *gpath;
	struct vm_config *cfg;
	char sbuf[64], gbuf[64];

	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, gram), 0);
	snprintf(sbuf, sizeof(sbuf), "%s", socket_path(SOCK_STREAM, &sfd));
	snprintf(gbuf, sizeof(gbuf), "%s", socket_path(SOCK_DGRAM, &gfd));
	spath = sbuf;
	gpath = gbuf;

	/* path and fd: exactly one */
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, stream[0], mac, 0, 0), -EINVAL);
	CHECK_LOGGED("give a socket path or a descriptor, not both");
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, -1, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("give a socket path or a descriptor");
	/* a path that is no socket, a descriptor of the wrong kind */
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, "/etc/passwd", -1, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("/etc/passwd is not a socket");
	CHECK_EQ_INT(krun_add_net_unixgram(ctx, "/nonexistent.sock", -1, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("/nonexistent.sock is not a socket");
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, gram[0], mac, 0, 0), -EINVAL);
	CHECK_LOGGED("a stream one is needed");
	CHECK_EQ_INT(krun_add_net_unixgram(ctx, NULL, stream[0], mac, 0, 0), -EINVAL);
	CHECK_LOGGED("a datagram one is needed");
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, STDIN_FILENO, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("is not a socket");
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, 1000, mac, 0, 0), -EBADF);
	CHECK_LOGGED("fd 1000 is not open");
	/* MACs */
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, -1, NULL, 0, 0), -EINVAL);
	CHECK_LOGGED("the MAC address is NULL");
	CHECK_EQ_INT(krun_add_net_unixgram(ctx, gpath, -1, multicast, 0, 0), -EINVAL);
	CHECK_LOGGED("01:00:5e:00:00:01 is a multicast address");
	CHECK_EQ_INT(krun_add_net_tap(ctx, "tap0", zero, 0, 0), -EINVAL);
	CHECK_LOGGED("the MAC address is all zeros");
	/* unknown bits; flags each backend does not take */
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, -1, mac, 1u << 5, 0), -EINVAL);
	CHECK_LOGGED("unknown feature bits 0x20");
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, -1, mac, 0, NET_FLAG_VFKIT), -EINVAL);
	CHECK_LOGGED("unknown flag bits 0x1");
	CHECK_EQ_INT(krun_add_net_unixgram(ctx, gpath, -1, mac, 0, 1u << 2), -EINVAL);
	CHECK_LOGGED("unknown flag bits 0x4");
	CHECK_EQ_INT(krun_add_net_tap(ctx, "tap0", mac, 0, NET_FLAG_VFKIT), -EINVAL);
	CHECK_LOGGED("unknown flag bits 0x1");
	/* tap names; guest offloads without guest checksums */
	CHECK_EQ_INT(krun_add_net_tap(ctx, NULL, mac, 0, 0), -EINVAL);
	CHECK_EQ_INT(krun_add_net_tap(ctx, "", mac, 0, 0), -EINVAL);
	CHECK_EQ_INT(krun_add_net_tap(ctx, "sixteen-bytes-xx", mac, 0, 0), -EINVAL);
	CHECK_LOGGED("a tap's name must be 1 to 15 bytes");
	CHECK_EQ_INT(krun_add_net_tap(ctx, "tap0", mac, NET_FEATURE_GUEST_TSO4, 0), -EINVAL);
	CHECK_LOGGED("need GUEST_CSUM");
	CHECK_EQ_INT(krun_add_net_unixstream(NO_CTX, spath, -1, mac, 0, 0), -ENOENT);

	/* eth0 to eth7, in order; no ninth; no deprecated call after them */
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, -1, mac, COMPAT_NET_FEATURES,
					     NET_FLAG_DHCP_CLIENT), 0);
	CHECK_EQ_INT(krun_add_net_unixgram(ctx, NULL, gram[0], mac, NET_FEATURE_HOST_TSO6,
					   NET_FLAG_VFKIT), 0);
	CHECK_EQ_INT(krun_add_net_tap(ctx, "tap0", mac, NET_FEATURE_GUEST_CSUM |
				      NET_FEATURE_GUEST_TSO6, 0), 0);
	for (int i = 3; i < VM_MAX_NETS; i++)
		CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, stream[0], mac, 0, 0), 0);
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, NULL, stream[0], mac, 0, 0), -ENOSPC);
	CHECK_LOGGED("at most 8 network interfaces");
	CHECK_EQ_INT(krun_set_passt_fd(ctx, stream[0]), -EINVAL);
	CHECK_LOGGED("krun_add_net_* added interfaces already");
	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_nets, VM_MAX_NETS);
	CHECK(cfg->nets[0].backend == VM_NET_UNIXSTREAM && !strcmp(cfg->nets[0].path, spath) &&
	      cfg->nets[0].fd == -1 && cfg->nets[0].features == COMPAT_NET_FEATURES &&
	      cfg->nets[0].flags == VM_NET_FLAG_DHCP_CLIENT && !memcmp(cfg->nets[0].mac, mac, 6));
	CHECK(cfg->nets[1].backend == VM_NET_UNIXGRAM && !cfg->nets[1].path &&
	      cfg->nets[1].fd == gram[0] && cfg->nets[1].flags == VM_NET_FLAG_VFKIT);
	CHECK(cfg->nets[2].backend == VM_NET_TAP && !strcmp(cfg->nets[2].path, "tap0"));
	CHECK(!cfg->nets[0].legacy && cfg->nets[7].fd == stream[0]);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);

	/* The deprecated calls: one interface, libkrun's MAC unless set. */
	ctx = new_ctx();
	CHECK_EQ_INT(krun_set_passt_fd(ctx, -1), -EINVAL);
	CHECK_EQ_INT(krun_set_passt_fd(ctx, gram[0]), -EINVAL);
	CHECK_EQ_INT(krun_set_gvproxy_path(ctx, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_gvproxy_path(ctx, "/etc/passwd"), -EINVAL);
	CHECK_LOGGED("/etc/passwd is not a socket");
	CHECK_EQ_INT(krun_set_net_mac(ctx, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_passt_fd(ctx, stream[0]), 0);
	cfg = config_of(ctx);
	CHECK(cfg->nr_nets == 1 && cfg->nets[0].legacy && cfg->nets[0].fd == stream[0] &&
	      cfg->nets[0].features == COMPAT_NET_FEATURES &&
	      !memcmp(cfg->nets[0].mac, "\x5a\x94\xef\xe4\x0c\xee", 6));
	done();
	CHECK_EQ_INT(krun_set_net_mac(ctx, mac), 0);
	CHECK_EQ_INT(krun_set_gvproxy_path(ctx, (char *)gpath), 0);
	CHECK_EQ_INT(krun_add_net_unixstream(ctx, spath, -1, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("set the one interface already");
	cfg = config_of(ctx);
	CHECK(cfg->nr_nets == 1 && cfg->nets[0].backend == VM_NET_UNIXGRAM &&
	      !strcmp(cfg->nets[0].path, gpath) && cfg->nets[0].flags == VM_NET_FLAG_VFKIT &&
	      !memcmp(cfg->nets[0].mac, mac, 6));
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);

	unlink(spath);
	unlink(gpath);
	for (int i = 0; i < 2; i++) {
		close(stream[i]);
		close(gram[i]);
	}
	close(sfd);
	close(gfd);
}

/* Our extension: the user-mode interface and its published ports. */
static void test_disks(void)
{
	uint32_t ctx = new_ctx();
	struct vm_config *cfg;

	CHECK_EQ_INT(krun_add_disk(NO_CTX, "d", "/img", false), -ENOENT);
	CHECK_EQ_INT(krun_add_disk(ctx, NULL, "/img", false), -EINVAL);
	CHECK_EQ_INT(krun_add_disk(ctx, "", "/img", false), -EINVAL);
	CHECK_EQ_INT(krun_add_disk(ctx, "123456789012345678901", "/img", false), -EINVAL);
	CHECK_EQ_INT(krun_add_disk(ctx, "with blank", "/img", false), -EINVAL);
	CHECK_LOGGED("a block id must be 1 to 20 visible ASCII characters");
	CHECK_EQ_INT(krun_add_disk(ctx, "d", NULL, false), -EINVAL);
	CHECK_EQ_INT(krun_add_disk(ctx, "d", "", false), -EINVAL);
	CHECK_LOGGED("no disk image path");
	CHECK_EQ_INT(krun_add_disk2(ctx, "d", "/img", 3, false), -EINVAL);
	CHECK_LOGGED("unknown disk format 3");
	CHECK_EQ_INT(krun_add_disk3(ctx, "d", "/img", KRUN_DISK_FORMAT_RAW, false, false, 3),
		     -EINVAL);
	CHECK_LOGGED("unknown sync mode 3");

	CHECK_EQ_INT(krun_add_disk(ctx, "12345678901234567890", "/a", true), 0);
	CHECK_EQ_INT(krun_add_disk2(ctx, "q", "/b", KRUN_DISK_FORMAT_QCOW2, false), 0);
	/* VMDK is recorded, and refused when the VM is built */
	CHECK_EQ_INT(krun_add_disk3(ctx, "v", "/c", KRUN_DISK_FORMAT_VMDK, false, true,
				    KRUN_SYNC_NONE), 0);
	CHECK_EQ_INT(krun_add_disk(ctx, "q", "/d", false), -EEXIST);
	CHECK_LOGGED("a disk with the block id q exists already");
	/* the deprecated ones: root first, data after it, each replaced */
	CHECK_EQ_INT(krun_set_data_disk(ctx, "/data1"), 0);
	CHECK_EQ_INT(krun_set_root_disk(ctx, "/root1"), 0);
	CHECK_EQ_INT(krun_set_root_disk(ctx, "/root2"), 0);
	CHECK_EQ_INT(krun_set_data_disk(ctx, NULL), -EINVAL);
	for (int i = 5; i < VM_MAX_DISKS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "d%d", i);
		CHECK_EQ_INT(krun_add_disk(ctx, id, "/img", false), 0);
	}
	CHECK_EQ_INT(krun_add_disk(ctx, "onemore", "/img", false), -ENOSPC);
	CHECK_LOGGED("at most 16 disks");

	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "vda", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "/dev/vda x", NULL, NULL), -EINVAL);
	CHECK_LOGGED("the device must be a guest path under /dev/");
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "/dev/vda", "", NULL), -EINVAL);
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "/dev/vda", "ext4", "ro, noatime"), -EINVAL);
	CHECK_EQ_INT(krun_set_root_disk_remount(NO_CTX, "/dev/vda", NULL, NULL), -ENOENT);
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "/dev/vda", "ext4", "ro,noatime"), 0);
	CHECK_EQ_INT(krun_set_root_disk_remount(ctx, "/dev/vdb", NULL, ""), 0);

	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_disks, VM_MAX_DISKS);
	CHECK(!strcmp(cfg->disks[0].block_id, "root") && !strcmp(cfg->disks[0].path, "/root2"));
	CHECK(!strcmp(cfg->disks[1].block_id, "12345678901234567890") && cfg->disks[1].read_only);
	CHECK_EQ_INT(cfg->disks[1].sync, KRUN_SYNC_FULL);
	CHECK(!strcmp(cfg->disks[2].block_id, "q") && cfg->disks[2].format == KRUN_DISK_FORMAT_QCOW2);
	CHECK(cfg->disks[3].direct_io && cfg->disks[3].sync == KRUN_SYNC_NONE);
	CHECK(!strcmp(cfg->disks[4].block_id, "data") && !strcmp(cfg->disks[4].path, "/data1"));
	CHECK(!strcmp(cfg->root_disk_device, "/dev/vdb") && !cfg->root_disk_fstype &&
	      !cfg->root_disk_options);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

static void test_net_user(void)
{
	uint32_t ctx = new_ctx();
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 2 };
	const char *good[] = { "8080:80", "0.0.0.0:5353:53/udp", "10.1.2.3:22:22/tcp",
			       "65535:1", NULL };
	const char *dup[] = { "8080:80", "0.0.0.0:8080:81", NULL };
	const char *udp_beside_tcp[] = { "8080:80", "8080:80/udp", NULL };
	const char *empty[] = { NULL };
	const char *many[VM_MAX_PORT_FWDS + 2];
	char names[VM_MAX_PORT_FWDS + 1][16];
	struct vm_config *cfg;

	CHECK_EQ_INT(krun_add_net_user(ctx, NULL, 0, 0), -EINVAL);
	CHECK_LOGGED("the MAC address is NULL");
	CHECK_EQ_INT(krun_add_net_user(ctx, mac, NET_FEATURE_CSUM, 0), -EINVAL);
	CHECK_LOGGED("the user-mode interface takes none");
	CHECK_EQ_INT(krun_add_net_user(ctx, mac, 0, NET_FLAG_VFKIT), -EINVAL);
	CHECK_LOGGED("unknown flag bits 0x1");
	CHECK_EQ_INT(krun_add_net_user(NO_CTX, mac, 0, 0), -ENOENT);
	CHECK_EQ_INT(krun_add_net_user(ctx, mac, 0, NET_FLAG_DHCP_CLIENT), 0);
	CHECK_EQ_INT(krun_add_net_user(ctx, mac, 0, 0), -EINVAL);
	CHECK_LOGGED("one user-mode interface per VM");

	const char *bad[] = { "", "80", "a:80", "80:b", "0:80", "80:0", "65536:80", "80:80/sctp",
			      "1.2.3:80:80", "::1:80:80", "1.2.3.4:80", ":80:80", "80:80/",
			      "123456:80" };
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *map[] = { bad[i], NULL };
		CHECK_EQ_INT(krun_set_port_map(ctx, map), -EINVAL);
	}
	CHECK_LOGGED("is not [IPv4:]HOST_PORT:GUEST_PORT[/udp]");
	CHECK_EQ_INT(krun_set_port_map(ctx, dup), -EINVAL);
	CHECK_LOGGED("publishes a host port an earlier entry does");
	for (int i = 0; i <= VM_MAX_PORT_FWDS; i++) {
		snprintf(names[i], sizeof(names[i]), "%d:80", 1000 + i);
		many[i] = names[i];
	}
	many[VM_MAX_PORT_FWDS + 1] = NULL;
	CHECK_EQ_INT(krun_set_port_map(ctx, many), -EINVAL);
	CHECK_LOGGED("at most 64 published ports");
	CHECK_EQ_INT(krun_set_port_map(NO_CTX, good), -ENOENT);

	CHECK_EQ_INT(krun_set_port_map(ctx, good), 0);
	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_port_fwds, 4);
	CHECK(!cfg->port_fwds[0].udp && cfg->port_fwds[0].host_addr == htonl(INADDR_LOOPBACK) &&
	      cfg->port_fwds[0].host_port == 8080 && cfg->port_fwds[0].guest_port == 80);
	CHECK(cfg->port_fwds[1].udp && cfg->port_fwds[1].host_addr == 0 &&
	      cfg->port_fwds[1].host_port == 5353 && cfg->port_fwds[1].guest_port == 53);
	CHECK(!cfg->port_fwds[2].udp && cfg->port_fwds[2].host_addr == htonl(0x0a010203));
	CHECK(cfg->port_fwds[3].host_port == 65535 && cfg->port_fwds[3].guest_port == 1);
	CHECK(cfg->nr_nets == 1 && cfg->nets[0].backend == VM_NET_USER &&
	      cfg->nets[0].flags == VM_NET_FLAG_DHCP_CLIENT && !memcmp(cfg->nets[0].mac, mac, 6));
	done();
	CHECK_EQ_INT(krun_set_port_map(ctx, udp_beside_tcp), 0);
	CHECK_EQ_INT(config_of(ctx)->nr_port_fwds, 2);
	done();
	CHECK_EQ_INT(krun_set_port_map(ctx, empty), 0);
	CHECK_EQ_INT(config_of(ctx)->nr_port_fwds, 0);
	done();
	CHECK_EQ_INT(krun_set_port_map(ctx, NULL), 0);
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);

	/* A port map with neither an interface nor TSI (no implicit vsock) to
	 * publish it is said at the start, which fails here on the empty
	 * kernel before KVM. */
	char kernel[] = "/tmp/test-api-kernel-XXXXXX";
	int fd = mkstemp(kernel);
	CHECK(fd >= 0);
	close(fd);
	ctx = new_ctx();
	CHECK_EQ_INT(krun_set_kernel(ctx, kernel, KRUN_KERNEL_FORMAT_RAW, NULL, NULL), 0);
	CHECK_EQ_INT(krun_set_port_map(ctx, good), 0);
	CHECK_EQ_INT(krun_disable_implicit_vsock(ctx), 0);
	CHECK_EQ_INT(krun_init_log(log_pipe[1], KRUN_LOG_LEVEL_WARN, KRUN_LOG_STYLE_NEVER,
				   KRUN_LOG_OPTION_NO_ENV),
		     0);
	CHECK_EQ_INT(krun_start_enter(ctx), -EINVAL);
	CHECK_LOGGED("krun_set_port_map: 4 published ports but neither a user-mode interface");
	capture_log();
	unlink(kernel);
}

/* vsock ports and the device: paths checked, a port given again replaced,
 * the TSI feature bits checked, the device made once. */
static void test_vsock(void)
{
	uint32_t ctx = new_ctx();
	char long_path[120];
	struct vm_config *cfg;

	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 1024, NULL), -EINVAL);
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 1024, ""), -EINVAL);
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 1024, long_path), -EINVAL);
	CHECK_LOGGED("a socket path must be 1 to 107 bytes");
	CHECK_EQ_INT(krun_add_vsock_port2(ctx, UINT32_MAX, "/a", false), -EINVAL);
	CHECK_LOGGED("is VMADDR_PORT_ANY");
	CHECK_EQ_INT(krun_add_vsock_port(NO_CTX, 1024, "/a"), -ENOENT);
	/* a listening port's path must not exist, as in libkrun */
	CHECK_EQ_INT(krun_add_vsock_port2(ctx, 1024, "/", true), -EEXIST);
	CHECK_LOGGED("/ exists: the VMM listens there");
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 1024, "/a"), 0);
	CHECK_EQ_INT(krun_add_vsock_port2(ctx, 1025, "/b", true), 0);
	CHECK_EQ_INT(krun_add_vsock_port2(ctx, 1024, "/c", true), 0);
	cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_vsock_ports, 2);
	CHECK(cfg->vsock_ports[0].port == 1024 && strcmp(cfg->vsock_ports[0].path, "/c") == 0 &&
	      cfg->vsock_ports[0].listen);
	CHECK(cfg->vsock_ports[1].port == 1025 && strcmp(cfg->vsock_ports[1].path, "/b") == 0);
	CHECK(!cfg->vsock_added && !cfg->implicit_vsock_disabled);
	done();
	for (uint32_t port = 2000; port < 2000 + VM_MAX_VSOCK_PORTS - 2; port++)
		CHECK_EQ_INT(krun_add_vsock_port(ctx, port, "/d"), 0);
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 3000, "/d"), -ENOSPC);
	CHECK_LOGGED("at most 64 vsock ports");

	CHECK_EQ_INT(krun_add_vsock(ctx, 4), -EINVAL);
	CHECK_LOGGED("unknown TSI feature bits 0x4");
	CHECK_EQ_INT(krun_add_vsock(ctx, 0), -EEXIST);
	CHECK_LOGGED("call krun_disable_implicit_vsock first");
	CHECK_EQ_INT(krun_disable_implicit_vsock(NO_CTX), -ENOENT);
	CHECK_EQ_INT(krun_disable_implicit_vsock(ctx), 0);
	CHECK_EQ_INT(krun_add_vsock(ctx, KRUN_TSI_HIJACK_INET | KRUN_TSI_HIJACK_UNIX), 0);
	CHECK_EQ_INT(krun_add_vsock(ctx, 0), -EEXIST);
	CHECK_LOGGED("one vsock device per VM");
	cfg = config_of(ctx);
	CHECK(cfg->vsock_added && cfg->implicit_vsock_disabled && cfg->tsi_features == 3);
	done();
	/* TSI's port is no mapped port's while TSI is on, either order */
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 0x54534901, "/t"), -EINVAL);
	CHECK_LOGGED("port 1414744321 is TSI's");
	CHECK_EQ_INT(krun_add_vsock_port2(ctx, 0x54534901, "/t", false), -EINVAL);
	CHECK_LOGGED("port 1414744321 is TSI's");
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
	ctx = new_ctx();
	CHECK_EQ_INT(krun_add_vsock_port(ctx, 0x54534901, "/t"), 0);
	CHECK_EQ_INT(krun_disable_implicit_vsock(ctx), 0);
	CHECK_EQ_INT(krun_add_vsock(ctx, KRUN_TSI_HIJACK_INET), -EINVAL);
	CHECK_LOGGED("vsock port 1414744321 is mapped, and TSI would serve it");
	CHECK_EQ_INT(krun_add_vsock(ctx, 0), 0); /* no TSI: the port is the map's */
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

/* crun creates the context, forks, and configures it in the child. */
static void test_fork(void)
{
	uint32_t ctx = new_ctx();
	pid_t child = fork();
	int status = -1;

	if (child == 0) {
		int ok = krun_set_vm_config(ctx, 2, 256) == 0 && krun_set_workdir(ctx, "/") == 0 &&
			 krun_free_ctx(ctx) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the child's changes are its own */
	struct vm_config *cfg = config_of(ctx);
	CHECK_EQ_INT(cfg->nr_vcpus, 1);
	done();
	CHECK_EQ_INT(krun_free_ctx(ctx), 0);
}

#define THREADS 4
#define ROUNDS 200

static void *churn(void *unused)
{
	(void)unused;
	for (int i = 0; i < ROUNDS; i++) {
		int32_t ctx = krun_create_ctx();
		const char *argv[] = { "x", NULL };

		if (ctx < 0 || krun_set_exec(ctx, "/bin/true", argv, argv) ||
		    krun_free_ctx(ctx))
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t threads[THREADS];
	void *failed;

	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&threads[i], NULL, churn, NULL));
	for (int i = 0; i < THREADS; i++) {
		CHECK(!pthread_join(threads[i], &failed));
		CHECK(!failed);
	}
}

int main(void)
{
	test_logging();
	test_contexts();
	test_vm_config();
	test_host_queries();
	test_exec_and_env();
	test_workdir_and_ids();
	test_rlimits();
	test_kernel();
	test_consoles();
	test_shares();
	test_net();
	test_net_user();
	test_disks();
	test_vsock();
	test_fork();
	test_threads();
	return CHECK_DONE();
}
