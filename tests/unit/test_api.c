/* The public API without KVM: every call's argument checks, its errors and
 * log lines, and what valid calls leave in the recorded configuration. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
	static const uint64_t known[] = {
		KRUN_FEATURE_NET,     KRUN_FEATURE_BLK,	      KRUN_FEATURE_GPU,
		KRUN_FEATURE_INPUT,   KRUN_FEATURE_TEE,	      KRUN_FEATURE_AMD_SEV,
		KRUN_FEATURE_INTEL_TDX, KRUN_FEATURE_AWS_NITRO, KRUN_FEATURE_VIRGL_RESOURCE_MAP2,
		KRUN_FEATURE_INIT_BLOB,
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		CHECK_EQ_INT(krun_has_feature(known[i]), 0);
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
	test_fork();
	test_threads();
	return CHECK_DONE();
}
