/* The device table without KVM: the VMM's side of struct vmm_device_env is
 * a fake that records what the devices ask of it (slots plugged and
 * unplugged, variables for the guest's init, signals watched). First the
 * registry's own promises over a table of fake kinds (order, reverse
 * teardown, the failed constructor's errno, flush before any release);
 * then the real table over a configuration of consoles, shares and
 * network interfaces. */
#include "devices/registry.h"
#include "devices/vsock/tsi.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "check.h"
#include "base/log.h"

#define MAX_CALLS 32

/* --- the registry over fake kinds ------------------------------------- */

static char calls[MAX_CALLS][16];
static unsigned int nr_calls;
static int fail_kind = -1, fail_index = -1, fail_errno;

static void record(const char *what, const char *kind, unsigned int index)
{
	if (nr_calls < MAX_CALLS)
		snprintf(calls[nr_calls++], sizeof(calls[0]), "%s %s%u", what, kind, index);
}

struct fake_device {
	struct vmm_device dev;
	const char *kind;
	unsigned int index;
};

static void fake_flush(struct vmm_device *dev)
{
	struct fake_device *f = (struct fake_device *)dev;
	record("flush", f->kind, f->index);
}

static void fake_release_host(struct vmm_device *dev)
{
	struct fake_device *f = (struct fake_device *)dev;
	record("release", f->kind, f->index);
}

static int fake_on_threads(struct vmm_device *dev, int (*fn)(void))
{
	struct fake_device *f = (struct fake_device *)dev;
	record("threads", f->kind, f->index);
	return fn();
}

static void fake_destroy(struct vmm_device *dev)
{
	struct fake_device *f = (struct fake_device *)dev;
	record("destroy", f->kind, f->index);
	free(f);
}

/* Kind "a" has every op; kind "b" only destroy. */
static const struct vmm_device_ops ops_a = {
	.flush = fake_flush, .release_host = fake_release_host,
	.threads = DEVICE_THREADS_FS_WORKER, .on_threads = fake_on_threads,
	.destroy = fake_destroy,
};
static const struct vmm_device_ops ops_b = { .destroy = fake_destroy };

static int fake_create(int kind, const char *name, const struct vmm_device_ops *ops,
		       unsigned int index, struct vmm_device **dev)
{
	if (kind == fail_kind && (int)index == fail_index) {
		record("failed", name, index);
		return fail_errno;
	}
	struct fake_device *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct fake_device){ .dev.ops = ops, .kind = name, .index = index };
	record("create", name, index);
	*dev = &f->dev;
	return 0;
}

/* The counts ride on the configuration: a's on nr_consoles, b's on nr_shares. */
static unsigned int count_a(const struct vm_config *cfg)
{
	return cfg->nr_consoles;
}

static unsigned int count_b(const struct vm_config *cfg)
{
	return cfg->nr_shares;
}

/* Kind a opens nothing of the host; kind b opens /dev/null for each device,
 * until the one at fail_open_index. */
static int fail_open_index = -1;
static int opened[8];

static int open_b(const struct vm_config *cfg, unsigned int index)
{
	(void)cfg;
	if ((int)index == fail_open_index) {
		record("nofile", "b", index);
		return -EPERM; /* -1, an error all the same */
	}
	opened[index] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	record("open", "b", index);
	return opened[index];
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int create_a(const struct vm_config *cfg, unsigned int index, int host_fd,
		    const struct vmm_device_env *env, struct vmm_device **dev)
{
	(void)cfg, (void)env;
	CHECK_EQ_INT(host_fd, -1);
	return fake_create(0, "a", &ops_a, index, dev);
}

/* Each gets the fd its open_host opened, and takes it over. */
static int create_b(const struct vm_config *cfg, unsigned int index, int host_fd,
		    const struct vmm_device_env *env, struct vmm_device **dev)
{
	(void)cfg, (void)env;
	CHECK_EQ_INT(host_fd, opened[index]);
	close(host_fd);
	return fake_create(1, "b", &ops_b, index, dev);
}

static const struct device_kind fake_kinds[] = {
	{ .name = "a", .count = count_a, .create = create_a },
	{ .name = "b", .count = count_b, .open_host = open_b, .create = create_b },
};

/* What the VMM does: the host files before KVM, the devices after. */
static int open_and_build(struct device_list *list, const struct device_kind *kinds,
			  unsigned int nr_kinds, const struct vm_config *cfg,
			  const struct vmm_device_env *env)
{
	int ret = devices_open_host(list, kinds, nr_kinds, cfg);

	return ret < 0 ? ret : devices_build(list, kinds, nr_kinds, cfg, env);
}

static int thread_fn_calls, thread_fn_ret;

static int thread_fn(void)
{
	thread_fn_calls++;
	return thread_fn_ret;
}

static void check_calls(const char *const *want, unsigned int nr_want)
{
	CHECK_EQ_INT(nr_calls, nr_want);
	for (unsigned int i = 0; i < nr_want && i < nr_calls; i++) {
		if (strcmp(calls[i], want[i]) != 0)
			fprintf(stderr, "call %u: \"%s\", expected \"%s\"\n", i, calls[i], want[i]);
		CHECK(strcmp(calls[i], want[i]) == 0);
	}
	nr_calls = 0;
}

static void test_fake_kinds(void)
{
	struct vm_config cfg = { .nr_consoles = 2, .nr_shares = 3 };
	struct vmm_device_env env = { 0 };
	struct device_list list;

	/* Kind after kind, each in index order; kind and index recorded. */
	CHECK_EQ_INT(open_and_build(&list, fake_kinds, 2, &cfg, &env), 0);
	static const char *const built[] = { "open b0", "open b1", "open b2", "create a0",
					     "create a1", "create b0", "create b1", "create b2" };
	check_calls(built, 8);
	CHECK_EQ_INT(list.nr, 5);
	CHECK(list.nr == 5 && !strcmp(list.devs[1]->kind, "a") && list.devs[1]->index == 1 &&
	      !strcmp(list.devs[4]->kind, "b") && list.devs[4]->index == 2);

	/* Every flush before any release; kinds without them skipped. */
	devices_flush(&list);
	static const char *const flushed[] = { "flush a0", "flush a1", "release a0", "release a1" };
	check_calls(flushed, 4);

	/* Threads: each device that has them, with its sort's function, until
	 * the first error; a sort without one refused before any runs. */
	int (*const fns[DEVICE_NR_THREAD_KINDS])(void) = { [DEVICE_THREADS_FS_WORKER] = thread_fn };
	int (*const none[DEVICE_NR_THREAD_KINDS])(void) = { 0 };
	CHECK_EQ_INT(devices_on_threads(&list, fns), 0);
	CHECK_EQ_INT(thread_fn_calls, 2);
	nr_calls = 0;
	thread_fn_ret = -EPERM;
	CHECK_EQ_INT(devices_on_threads(&list, fns), -EPERM);
	CHECK_EQ_INT(thread_fn_calls, 3);
	CHECK_EQ_INT(devices_on_threads(&list, none), -EINVAL);
	CHECK_EQ_INT(thread_fn_calls, 3);
	nr_calls = 0;

	devices_destroy(&list);
	static const char *const destroyed[] = { "destroy b2", "destroy b1", "destroy b0",
						 "destroy a1", "destroy a0" };
	check_calls(destroyed, 5);
	CHECK(list.nr == 0 && list.devs == NULL);

	/* A failing constructor: the devices made before it go, last first,
	 * and its errno comes back. */
	fail_kind = 1, fail_index = 1, fail_errno = -EMFILE;
	CHECK_EQ_INT(open_and_build(&list, fake_kinds, 2, &cfg, &env), -EMFILE);
	static const char *const failed[] = { "open b0", "open b1", "open b2", "create a0",
					      "create a1", "create b0", "failed b1", "destroy b0",
					      "destroy a1", "destroy a0" };
	check_calls(failed, 10);
	CHECK(list.nr == 0 && list.devs == NULL && list.host_fds == NULL);
	/* b1's fd closed by its constructor, b2's (never taken) by the
	 * registry. */
	CHECK(!fd_open(opened[1]) && !fd_open(opened[2]));

	/* The very first one failing leaves nothing to undo. */
	fail_kind = 0, fail_index = 0, fail_errno = -ENOMEM;
	CHECK_EQ_INT(open_and_build(&list, fake_kinds, 2, &cfg, &env), -ENOMEM);
	static const char *const first[] = { "open b0", "open b1", "open b2", "failed a0" };
	check_calls(first, 4);
	CHECK(!fd_open(opened[0]) && !fd_open(opened[1]) && !fd_open(opened[2]));
	fail_kind = -1;

	/* A host file that cannot be opened: its errno before any device is
	 * made, and the fds opened before it closed. */
	fail_open_index = 1;
	CHECK_EQ_INT(open_and_build(&list, fake_kinds, 2, &cfg, &env), -EPERM);
	static const char *const unopened[] = { "open b0", "nofile b1" };
	check_calls(unopened, 2);
	CHECK(list.nr_host_fds == 0 && list.host_fds == NULL && !fd_open(opened[0]));
	fail_open_index = -1;

	/* Host files opened, then the VM fails before its devices (KVM, say):
	 * destroying the list closes them. */
	CHECK_EQ_INT(devices_open_host(&list, fake_kinds, 2, &cfg), 0);
	nr_calls = 0;
	devices_destroy(&list);
	CHECK_EQ_INT(nr_calls, 0);
	CHECK(!fd_open(opened[0]) && !fd_open(opened[1]) && !fd_open(opened[2]));

	/* Nothing asked for: an empty list. */
	cfg = (struct vm_config){ 0 };
	CHECK_EQ_INT(open_and_build(&list, fake_kinds, 2, &cfg, &env), 0);
	CHECK_EQ_INT(list.nr, 0);
	devices_destroy(&list);
	CHECK_EQ_INT(nr_calls, 0);
}

/* --- the real table, with a fake VMM ----------------------------------- */

struct fake_vmm {
	unsigned int nr_plugged, nr_unplugged;
	struct virtio_device *plugged[MAX_CALLS], *unplugged[MAX_CALLS];
	int fail_plug_at; /* -1: never */
	unsigned int nr_env;
	char env[4][256];
	unsigned int nr_signals;
	int signals[4];
	int exit_status;
};

static int plug(void *vmm, struct virtio_device *vdev)
{
	struct fake_vmm *v = vmm;

	if ((int)v->nr_plugged == v->fail_plug_at)
		return -ENOSPC;
	if (v->nr_plugged < MAX_CALLS)
		v->plugged[v->nr_plugged++] = vdev;
	return 0;
}

static void unplug(void *vmm, struct virtio_device *vdev)
{
	struct fake_vmm *v = vmm;

	if (v->nr_unplugged < MAX_CALLS)
		v->unplugged[v->nr_unplugged++] = vdev;
}

static int add_guest_env(void *vmm, const char *key, const char *value)
{
	struct fake_vmm *v = vmm;

	if (v->nr_env < 4)
		snprintf(v->env[v->nr_env++], sizeof(v->env[0]), "%s=%s", key, value);
	return 0;
}

static int watch_signal(void *vmm, int signo, void (*fn)(void *opaque), void *opaque)
{
	struct fake_vmm *v = vmm;

	(void)fn, (void)opaque;
	if (v->nr_signals < 4)
		v->signals[v->nr_signals++] = signo;
	return 0;
}

static void set_exit_status(void *vmm, int status)
{
	((struct fake_vmm *)vmm)->exit_status = status;
}

struct setup {
	struct fake_vmm vmm;
	struct event_loop loop;
	struct vmm_device_env env;
	struct vm_config cfg;
	int pipes[VM_MAX_CONSOLES][2][2]; /* per console: its input, its output */
	char dirs[3][128];
};

static void setup_init(struct setup *s, unsigned int nr_consoles)
{
	static char tags[3][3] = { "s0", "s1", "s2" };

	*s = (struct setup){ .vmm.fail_plug_at = -1 };
	CHECK_EQ_INT(event_loop_init(&s->loop), 0);
	s->env = (struct vmm_device_env){
		.vmm = &s->vmm, .loop = &s->loop, .plug_virtio = plug, .unplug_virtio = unplug,
		.add_guest_env = add_guest_env, .watch_signal = watch_signal,
		.set_exit_status = set_exit_status,
	};
	/* and no implicit vsock device (test_vsock_tsi has it) */
	s->cfg.implicit_console_disabled = true;
	s->cfg.implicit_vsock_disabled = true;
	s->cfg.nr_consoles = nr_consoles;
	for (unsigned int i = 0; i < nr_consoles; i++) {
		CHECK(pipe(s->pipes[i][0]) == 0 && pipe(s->pipes[i][1]) == 0);
		s->cfg.consoles[i] = (struct vm_console){
			.in_fd = s->pipes[i][0][0], .out_fd = s->pipes[i][1][1], .err_fd = -1,
		};
	}
	for (unsigned int i = 0; i < 3; i++) {
		snprintf(s->dirs[i], sizeof(s->dirs[i]), "%s/krun-registry.XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		CHECK(mkdtemp(s->dirs[i]) != NULL);
		s->cfg.shares[i] = (struct vm_share){ .tag = tags[i], .path = s->dirs[i] };
	}
	s->cfg.nr_shares = 3;
}

static void setup_destroy(struct setup *s)
{
	for (unsigned int i = 0; i < s->cfg.nr_consoles; i++) {
		for (unsigned int j = 0; j < 4; j++)
			close(s->pipes[i][j / 2][j % 2]);
	}
	for (unsigned int i = 0; i < 3; i++)
		rmdir(s->dirs[i]);
	event_loop_destroy(&s->loop);
}

static void check_unplugged_in_reverse(const struct fake_vmm *v)
{
	CHECK_EQ_INT(v->nr_unplugged, v->nr_plugged);
	for (unsigned int i = 0; i < v->nr_unplugged && i < v->nr_plugged; i++)
		CHECK(v->unplugged[i] == v->plugged[v->nr_plugged - 1 - i]);
}

/* The log at level into a pipe, until log_end reads what it got into buf. */
static void log_start(int log[2], enum log_level level)
{
	CHECK(pipe(log) == 0);
	log_set_fd(log[1]);
	log_set_level(level);
}

static void log_end(int log[2], char *buf, size_t size)
{
	ssize_t n;

	log_set_level(LOG_OFF);
	log_set_fd(-1);
	close(log[1]);
	n = read(log[0], buf, size - 1);
	close(log[0]);
	buf[n > 0 ? n : 0] = '\0';
}

/* Each device's statistics line, in the list's order. */
static void check_stats(const struct device_list *list)
{
	int log[2];
	char buf[2048];

	log_start(log, LOG_INFO);
	devices_log_stats(list);
	log_end(log, buf, sizeof(buf));
	const char *c0 = strstr(buf, "console 0: bytes out/in console 0/0, krun-stdin 0/0, "
				     "krun-stdout 0/0; 0 output errors");
	const char *c1 = strstr(buf, "console 1: ");
	const char *s2 = strstr(buf, "virtio-fs s2: 0 requests");
	if (!c0 || !c1 || !s2)
		fprintf(stderr, "statistics:\n%s", buf);
	CHECK(c0 && c1 && s2 && c0 < c1 && c1 < s2);
}

static void test_consoles_and_shares(void)
{
	struct setup s;
	struct device_list list;
	static const char *const kinds[] = { "console", "console", "virtio-fs", "virtio-fs",
					     "virtio-fs" };
	static const unsigned int indexes[] = { 0, 1, 0, 1, 2 };

	/* Two consoles over pipes, three shares: the consoles first, each a
	 * console and a device of named ports (krun-stdin, krun-stdout),
	 * then the shares in their order. */
	setup_init(&s, 2);
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env), 0);
	CHECK_EQ_INT(list.nr, 6); /* and virtio-rng, last, in every VM */
	CHECK(strcmp(list.devs[5]->kind, "virtio-rng") == 0);
	for (unsigned int i = 0; i < list.nr && i < 5; i++) {
		CHECK(strcmp(list.devs[i]->kind, kinds[i]) == 0);
		CHECK_EQ_INT(list.devs[i]->index, indexes[i]);
		/* the shares' workers get theirs; consoles keep no thread */
		CHECK_EQ_INT(list.devs[i]->ops->threads,
			     i < 2 ? DEVICE_THREADS_NONE : DEVICE_THREADS_FS_WORKER);
		CHECK((list.devs[i]->ops->on_threads != NULL) == (i >= 2));
	}
	CHECK_EQ_INT(s.vmm.nr_plugged, 8);
	for (unsigned int i = 0; i < s.vmm.nr_plugged; i++)
		CHECK_EQ_INT(s.vmm.plugged[i]->device_id, i < 4	 ? VIRTIO_ID_CONSOLE
							  : i < 7 ? VIRTIO_ID_FS
								  : VIRTIO_ID_RNG);
	/* The init waits for the first console's named ports; no terminal,
	 * no implicit console: no signal to watch. */
	CHECK_EQ_INT(s.vmm.nr_env, 1);
	CHECK(strcmp(s.vmm.env[0], "KRUN_STDIO_PORTS=2") == 0);
	CHECK_EQ_INT(s.vmm.nr_signals, 0);
	check_stats(&list);
	devices_destroy(&list);
	check_unplugged_in_reverse(&s.vmm);
	setup_destroy(&s);

	/* A share whose directory is gone: ENOENT from opening the host
	 * files, before any device is made. */
	setup_init(&s, 2);
	s.cfg.shares[2].path = "/nonexistent/krun-registry";
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env),
		     -ENOENT);
	CHECK(list.nr == 0 && list.devs == NULL && list.host_fds == NULL);
	CHECK_EQ_INT(s.vmm.nr_plugged, 0);
	setup_destroy(&s);

	/* A slot refused to the second console's named ports: its errno, and
	 * nothing unplugged that was not plugged. */
	setup_init(&s, 2);
	s.vmm.fail_plug_at = 3;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env),
		     -ENOSPC);
	CHECK_EQ_INT(s.vmm.nr_plugged, 3);
	check_unplugged_in_reverse(&s.vmm);
	setup_destroy(&s);
}

/* The implicit console writing to the console output file has no named
 * ports: the init waits for none, even when a console added through the
 * API has some. */
static void test_console_output_file(void)
{
	struct setup s;
	struct device_list list;
	char path[160];

	setup_init(&s, 1);
	s.cfg.nr_shares = 0;
	snprintf(path, sizeof(path), "%s/console.out", s.dirs[0]);
	s.cfg.implicit_console_disabled = false;
	s.cfg.console_output = path;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env), 0);
	CHECK_EQ_INT(list.nr, 3);
	CHECK_EQ_INT(s.vmm.nr_plugged, 4);
	CHECK_EQ_INT(s.vmm.nr_env, 0);
	CHECK(access(path, F_OK) == 0);
	devices_destroy(&list);
	check_unplugged_in_reverse(&s.vmm);
	unlink(path);
	setup_destroy(&s);
}

/* Network interfaces after everything else, eth0 first; the interfaces
 * asking for DHCP named to the init; a backend that cannot be reached
 * undoes the interfaces before it. */
static void test_network_interfaces(void)
{
	struct setup s;
	struct device_list list;
	int sv[3][2];

	setup_init(&s, 0);
	s.cfg.nr_shares = 1;
	for (unsigned int i = 0; i < 3; i++) {
		int type = i == 1 ? SOCK_DGRAM : SOCK_STREAM;
		CHECK_EQ_INT(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv[i]), 0);
		s.cfg.nets[i] = (struct vm_net){
			.backend = i == 1 ? VM_NET_UNIXGRAM : VM_NET_UNIXSTREAM, .fd = sv[i][0],
			.mac = { 2, 0, 0, 0, 0, (uint8_t)i },
			.flags = i == 1 ? 0 : VM_NET_FLAG_DHCP_CLIENT,
		};
	}
	s.cfg.nr_nets = 3;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env), 0);
	CHECK_EQ_INT(list.nr, 5); /* the share, eth0..eth2, virtio-rng */
	for (unsigned int i = 1; i < list.nr && i < 4; i++) {
		CHECK(strcmp(list.devs[i]->kind, "virtio-net") == 0);
		CHECK_EQ_INT(list.devs[i]->index, i - 1);
		CHECK_EQ_INT(s.vmm.plugged[i]->device_id, VIRTIO_ID_NET);
	}
	CHECK_EQ_INT(s.vmm.nr_env, 1);
	CHECK(strcmp(s.vmm.env[0], "KRUN_DHCP=eth0,eth2") == 0);
	devices_flush(&list);
	devices_destroy(&list);
	check_unplugged_in_reverse(&s.vmm);
	setup_destroy(&s);

	/* eth1's peer is not there: eth0 and the share undone. */
	setup_init(&s, 0);
	s.cfg.nr_shares = 1;
	s.cfg.nets[0] = (struct vm_net){ .backend = VM_NET_UNIXSTREAM, .fd = sv[0][0] };
	s.cfg.nets[1] = (struct vm_net){ .backend = VM_NET_UNIXSTREAM, .fd = -1,
					 .path = "/nonexistent/peer.sock" };
	s.cfg.nr_nets = 2;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env),
		     -ENOENT);
	CHECK(list.nr == 0 && list.devs == NULL);
	CHECK_EQ_INT(s.vmm.nr_plugged, 2);
	check_unplugged_in_reverse(&s.vmm);
	setup_destroy(&s);
	for (unsigned int i = 0; i < 3; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

static void check_build_error(int line, struct setup *s, int err, const char *what);

/* The vsock device with TSI: the guest kernel's switch on its command
 * line (the words before "--"), for each set of features, and with inet
 * this host's name servers (KRUN_TSI_DNS) when it has some. */
static void test_vsock_tsi(void)
{
	static const struct {
		uint32_t features;
		const char *word;
	} cases[] = {
		{ VM_TSI_HIJACK_INET, "tsi.hijack=inet" },
		{ VM_TSI_HIJACK_UNIX, "tsi.hijack=unix" },
		{ VM_TSI_HIJACK_INET | VM_TSI_HIJACK_UNIX, "tsi.hijack=inet,unix" },
	};
	char host_dns[TSI_DNS_LIST_MAX];

	tsi_dns_host("/etc/resolv.conf", host_dns, sizeof(host_dns));

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct setup s;
		struct device_list list;

		setup_init(&s, 0);
		s.cfg.nr_shares = 0;
		s.cfg.vsock_added = true;
		s.cfg.tsi_features = cases[i].features;
		CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env),
			     0);
		CHECK_EQ_INT(list.nr, 2); /* and virtio-rng */
		CHECK_EQ_INT(s.vmm.plugged[0]->device_id, VIRTIO_ID_VSOCK);
		/* with inet, the host's name servers for the init too */
		CHECK_EQ_INT(s.vmm.nr_env, 1 + ((cases[i].features & VM_TSI_HIJACK_INET) &&
						host_dns[0]));
		CHECK(strcmp(s.vmm.env[0], cases[i].word) == 0);
		if (s.vmm.nr_env == 2)
			CHECK(strncmp(s.vmm.env[1], "KRUN_TSI_DNS=", 13) == 0 &&
			      strstr(s.vmm.env[1], host_dns));
		devices_destroy(&list);
		setup_destroy(&s);
	}
	/* none without TSI */
	struct setup s;
	struct device_list list;
	setup_init(&s, 0);
	s.cfg.nr_shares = 0;
	s.cfg.vsock_added = true;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env), 0);
	CHECK_EQ_INT(s.vmm.nr_env, 0);
	devices_destroy(&list);
	setup_destroy(&s);

	/* The implicit device, as libkrun's: TSI for inet sockets when no
	 * network interface is added, and a TSI port the client mapped is
	 * refused then. */
	setup_init(&s, 0);
	s.cfg.nr_shares = 0;
	s.cfg.implicit_vsock_disabled = false;
	CHECK_EQ_INT(open_and_build(&list, device_kinds, nr_device_kinds, &s.cfg, &s.env), 0);
	CHECK_EQ_INT(list.nr, 2); /* and virtio-rng */
	CHECK_EQ_INT(s.vmm.plugged[0]->device_id, VIRTIO_ID_VSOCK);
	CHECK(s.vmm.nr_env == 1 + (host_dns[0] != 0) &&
	      strcmp(s.vmm.env[0], "tsi.hijack=inet") == 0);
	devices_destroy(&list);
	setup_destroy(&s);
	setup_init(&s, 0);
	s.cfg.nr_shares = 0;
	s.cfg.implicit_vsock_disabled = false;
	s.cfg.nr_vsock_ports = 1;
	s.cfg.vsock_ports[0] = (struct vm_vsock_port){ .port = VM_TSI_PORT, .path = "/nonexistent" };
	check_build_error(__LINE__, &s, -EINVAL, "is TSI's");
	s.cfg.nr_vsock_ports = 0;
	setup_destroy(&s);
}

/* Build the real table over s, which must fail with err and log exactly one
 * error line, containing what. */
static void check_build_error(int line, struct setup *s, int err, const char *what)
{
	struct device_list list;
	int log[2];
	char buf[1024];
	unsigned int lines = 0;

	log_start(log, LOG_ERROR);
	int ret = open_and_build(&list, device_kinds, nr_device_kinds, &s->cfg, &s->env);
	log_end(log, buf, sizeof(buf));
	for (const char *c = buf; *c; c++)
		lines += *c == '\n';
	if (ret != err || lines != 1 || !strstr(buf, what))
		fprintf(stderr, "line %d: %d, expected %d and one line with \"%s\"; the log: %s\n",
			line, ret, err, what, buf);
	CHECK(ret == err && lines == 1 && strstr(buf, what));
	CHECK(list.nr == 0 && list.devs == NULL);
	check_unplugged_in_reverse(&s->vmm);
}

/* A constructor's failure says what failed, once. */
static void test_constructor_errors(void)
{
	struct setup s;
	const int not_open = 1000;

	/* a console output that is not an open fd */
	setup_init(&s, 2);
	CHECK(fcntl(not_open, F_GETFD) < 0);
	s.cfg.consoles[1].out_fd = not_open;
	check_build_error(__LINE__, &s, -EBADF,
			  "console: cannot set up the output of port 0: Bad file descriptor");
	CHECK_EQ_INT(s.vmm.nr_plugged, 2);
	setup_destroy(&s);

	/* a tag longer than virtio-fs allows (the API checks it too) */
	setup_init(&s, 1);
	s.cfg.shares[1].tag = "a-tag-of-forty-characters-0123456789012";
	check_build_error(__LINE__, &s, -EINVAL, "virtio-fs: the tag a-tag-of-forty");
	CHECK_EQ_INT(s.vmm.nr_plugged, 3);
	setup_destroy(&s);
}

int main(void)
{
	log_set_level(LOG_OFF);
	test_fake_kinds();
	test_consoles_and_shares();
	test_console_output_file();
	test_constructor_errors();
	test_network_interfaces();
	test_vsock_tsi();
	return CHECK_DONE();
}
