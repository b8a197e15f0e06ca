/* The FUSE server against request sequences from the input: a session
 * opened by INIT, then requests whose node ids, handles and names are, as
 * the input chooses, ones the server handed out (entries, handles, READDIR
 * listings) or forged, with lying lengths and buffers cut anywhere. Input
 * format: formats.h.
 *
 * The share is a fresh tmpfs for each input, with a procfs and a tmpfs
 * mounted inside it and the UTS hostname's sysctl file bound into it, all in
 * a mount, UTS and PID namespace of the fuzzer's own (it is pid 1 of that
 * procfs: nothing the guest finds there is another process's, and the
 * procfs shows only processes, no sysctls). Oracles for a way out of the
 * share, checked after each input (beside ASan and UBSan):
 *   - the fuzzer's own name (proc/1/comm in the share) is still its
 *     sentinel (the server writes with pwritev, which comm refuses: this
 *     one waits for a server that writes otherwise);
 *   - the hostname (its own UTS namespace's) is still its sentinel;
 *   - the file beside the share is unchanged, nothing else appeared there;
 *   - the server holds no fd inside the procfs, but for its root;
 *   - no reply carries the sentinels' secret (a read of comm or hostname);
 *   - every reply is well formed and fits its buffers; no fd leaked.
 * Run as root, with a server that lets the guest into the procfs, this
 * reaches nothing of the host's: the procfs has no sysctls, its only
 * process is the fuzzer, the hostname is its own namespace's, and the
 * share and the file beside it are on tmpfs mounts no one else sees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/fuse_server.h"
#include "fuzz_input.h"

#define MAX_ARG 8192
/* under ASan's size for a separate mapping, as the server mallocs this much
 * for each reply */
#define MAX_OUT (60 * 1024)
#define POOL 16
#define SECRET_LEN 12

static const char outside_content[] = "host secret\n";

static struct {
	char arena[64];	  /* a tmpfs of our own: the share and the file beside it */
	char share[96];
	char outside[96];
	char secret[SECRET_LEN + 1]; /* random, in both sentinels */
	char comm[16];
	char hostname[32];
	dev_t proc_dev; /* the share's procfs, this input's */
	ino_t proc_root;
} env;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* ---- the namespaces -------------------------------------------------------- */

static pid_t fuzzer_pid;

static void pass_on(int sig)
{
	kill(fuzzer_pid, sig);
}

/* Make a private mount, UTS and PID namespace; the caller continues as pid 1
 * of the new one while the process that started waits for it and exits with
 * its status, after taking the arena down. */
static void enter_namespaces(void)
{
	int status;
	pid_t child;

	if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWPID) < 0)
		die("unshare (the FUSE fuzzer needs root)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("making / private");
	snprintf(env.arena, sizeof(env.arena), "%s/krun-fuzz-fuse.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(env.arena))
		die("mkdtemp");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return;
	}
	/* The fuzzer prints its figures and exits on ^C (a terminal sends it
	 * to both of us) and on a SIGTERM passed on to it. */
	fuzzer_pid = child;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, pass_on);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	umount2(env.arena, MNT_DETACH);
	rmdir(env.arena);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		die(path);
	close(fd);
}

static void set_sentinels(void)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t random[SECRET_LEN];

	if (getrandom(random, sizeof(random), 0) != sizeof(random))
		die("getrandom");
	for (int i = 0; i < SECRET_LEN; i++)
		env.secret[i] = hex[random[i] & 15];
	snprintf(env.comm, sizeof(env.comm), "fz%s", env.secret);
	snprintf(env.hostname, sizeof(env.hostname), "fz-%s", env.secret);
	if (prctl(PR_SET_NAME, env.comm) < 0 || sethostname(env.hostname, strlen(env.hostname)) < 0)
		die("setting the sentinels");
}

static void mount_or_die(const char *source, const char *target, const char *type,
			 unsigned long flags, const char *options)
{
	if (mount(source, target, type, flags, options) < 0)
		die(target);
}

static void share_path(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", env.share, name);
}

static void mkdir_in_share(const char *name)
{
	char path[160];

	share_path(path, sizeof(path), name);
	if (mkdir(path, 0755) < 0)
		die(path);
}

/* The share as each input finds it. */
static void share_up(void)
{
	char path[160];
	struct stat st;

	mount_or_die("tmpfs", env.share, "tmpfs", MS_NOSUID | MS_NODEV,
		     "size=16m,nr_inodes=4096,mode=755");
	share_path(path, sizeof(path), "file");
	write_file(path, "data of a file\n");
	mkdir_in_share("dir");
	share_path(path, sizeof(path), "dir/inner");
	write_file(path, "inner\n");
	share_path(path, sizeof(path), "link");
	if (symlink("file", path) < 0)
		die(path);
	share_path(path, sizeof(path), "escape");
	if (symlink("../outside", path) < 0)
		die(path);

	mkdir_in_share("proc");
	share_path(path, sizeof(path), "proc");
	mount_or_die("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid");
	if (stat(path, &st) < 0)
		die(path);
	env.proc_dev = st.st_dev;
	env.proc_root = st.st_ino;
	mkdir_in_share("tmp");
	share_path(path, sizeof(path), "tmp");
	mount_or_die("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,nr_inodes=1024");
	mkdir_in_share("sysctl");
	mkdir_in_share("sysctl/kernel");
	share_path(path, sizeof(path), "sysctl/kernel/hostname");
	write_file(path, "");
	mount_or_die("/proc/sys/kernel/hostname", path, NULL, MS_BIND, NULL);
}

/* Takes the mounts inside along. */
static void share_down(void)
{
	if (umount2(env.share, MNT_DETACH) < 0)
		die("unmounting the share");
}

/* The namespaces, the sentinels, the arena with the file beside the share. */
void fuzz_setup(void)
{
	enter_namespaces();
	set_sentinels();
	mount_or_die("tmpfs", env.arena, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=700");
	snprintf(env.share, sizeof(env.share), "%s/share", env.arena);
	snprintf(env.outside, sizeof(env.outside), "%s/outside", env.arena);
	if (mkdir(env.share, 0755) < 0)
		die(env.share);
	write_file(env.outside, outside_content);
}

/* ---- the oracles ------------------------------------------------------------ */

/* Whether the secret appears in a reply. Not instrumented, so that the
 * fuzzer cannot learn the secret from the comparison and write it into a
 * file of the share itself. */
__attribute__((no_sanitize("coverage"))) static bool carries_secret(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + SECRET_LEN <= len; i++) {
		size_t j = 0;
		while (j < SECRET_LEN && p[i + j] == (uint8_t)env.secret[j])
			j++;
		if (j == SECRET_LEN)
			return true;
	}
	return false;
}

static void escape(const char *what)
{
	fprintf(stderr, "ESCAPE from the share: %s\n", what);
	abort();
}

/* fds open now; with inside_procfs, any of them inside the share's procfs
 * but for its root is an escape. */
static unsigned int scan_fds(bool inside_procfs)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	if (!d)
		die("/proc/self/fd");
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (inside_procfs && fstatat(dirfd(d), e->d_name, &st, 0) == 0 &&
		    st.st_dev == env.proc_dev && st.st_ino != env.proc_root)
			escape("the server holds an fd inside the share's procfs");
	}
	closedir(d);
	return n;
}

static void check_outside(void)
{
	char content[64] = "";
	int fd = open(env.outside, O_RDONLY | O_CLOEXEC);
	DIR *d = opendir(env.arena);
	struct dirent *e;

	if (fd < 0 || read(fd, content, sizeof(content) - 1) < 0 ||
	    strcmp(content, outside_content))
		escape("the file beside the share changed");
	close(fd);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "share") && strcmp(e->d_name, "outside"))
			escape("a file appeared beside the share");
	}
	if (d)
		closedir(d);
}

static void check_sentinels(void)
{
	char comm[17] = "";
	struct utsname uts;

	if (prctl(PR_GET_NAME, comm) < 0 || strcmp(comm, env.comm))
		escape("the fuzzer's /proc/self/comm changed");
	if (uname(&uts) < 0 || strcmp(uts.nodename, env.hostname))
		escape("the hostname changed");
}

/* ---- the requests ---------------------------------------------------------- */

/* What the server handed out, for later requests to use. */
struct pools {
	uint64_t nodes[POOL], handles[POOL], handle_nodes[POOL];
	unsigned int nr_nodes, nr_handles;
	char names[POOL][256];
	unsigned int nr_names;
};

static void remember_node(struct pools *p, uint64_t nodeid)
{
	if (nodeid)
		p->nodes[p->nr_nodes++ % POOL] = nodeid;
}

static void remember_name(struct pools *p, const char *name, size_t len)
{
	char *slot = p->names[p->nr_names++ % POOL];

	len = len < 255 ? len : 255;
	memcpy(slot, name, len);
	slot[len] = '\0';
}

static uint64_t pool_node(const struct pools *p, uint8_t index)
{
	unsigned int n = p->nr_nodes < POOL ? p->nr_nodes : POOL;

	return n ? p->nodes[index % n] : FUSE_ROOT_ID;
}

/* Entries of a READDIR (plus: with their entry_out) reply. */
static void learn_listing(struct pools *p, const uint8_t *data, size_t len, bool plus)
{
	size_t at = 0, head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;

	while (at + head <= len) {
		const struct fuse_entry_out *entry = (const void *)(data + at);
		const struct fuse_dirent *d =
			(const void *)(data + at + (plus ? sizeof(*entry) : 0));
		size_t size = FUSE_DIRENT_ALIGN(head + d->namelen);

		if (d->namelen > len - at - head)
			break;
		remember_name(p, d->name, d->namelen);
		if (plus)
			remember_node(p, entry->nodeid);
		at += size;
	}
}

/* What a successful reply of op handed out. */
static void learn(struct pools *p, const struct fuse_op_shape *op, uint64_t nodeid,
		  const uint8_t *data, size_t len)
{
	const struct fuse_entry_out *entry = (const void *)data;
	size_t entry_len = op->reply == FUSE_REPLY_CREATED ? sizeof(*entry) : 0;
	const struct fuse_open_out *open = (const void *)(data + entry_len);

	if (op->reply == FUSE_REPLY_LISTING || op->reply == FUSE_REPLY_LISTING_PLUS) {
		learn_listing(p, data, len, op->reply == FUSE_REPLY_LISTING_PLUS);
		return;
	}
	if ((op->reply == FUSE_REPLY_ENTRY || op->reply == FUSE_REPLY_CREATED) &&
	    len >= sizeof(*entry)) {
		remember_node(p, entry->nodeid);
		nodeid = entry->nodeid;
	}
	if ((op->reply == FUSE_REPLY_OPEN || op->reply == FUSE_REPLY_CREATED) &&
	    len >= entry_len + sizeof(*open)) {
		p->handles[p->nr_handles % POOL] = open->fh;
		p->handle_nodes[p->nr_handles++ % POOL] = nodeid;
	}
}

/* A name of the input, NUL-terminated unless raw bytes say otherwise. */
static size_t put_name(uint8_t *arg, size_t room, struct input *in, const struct pools *p)
{
	uint8_t sel = take_u8(in);
	char raw[256];
	const char *name;
	size_t len;

	if (sel == FUSE_NAME_RAW) {
		len = take_u8(in);
		take_bytes(in, raw, len);
		name = raw;
	} else {
		if (sel & FUSE_NAME_LEARNED && p->nr_names)
			name = p->names[(sel & ~FUSE_NAME_LEARNED) %
					(p->nr_names < POOL ? p->nr_names : POOL)];
		else
			name = FUSE_NAMES[sel % FUSE_NR_NAMES];
		len = strlen(name) + 1;
	}
	len = len < room ? len : room;
	memcpy(arg, name, len);
	return len;
}

/* The arguments after the header; the node of the handle put in them, if
 * any, into *handle_node. */
static size_t put_args(uint8_t *arg, const struct fuse_op_shape *op, uint8_t shape,
		       struct input *in, const struct pools *p, uint64_t *handle_node)
{
	size_t len = op->fixed;

	if (shape & FUSE_SHAPE_RAW) {
		len = take_u16(in) % MAX_ARG;
		take_bytes(in, arg, len);
		return len;
	}
	take_bytes(in, arg, len);
	if (shape & FUSE_SHAPE_POOL) {
		uint8_t fh_index = take_u8(in), node_index = take_u8(in);
		unsigned int nr = p->nr_handles < POOL ? p->nr_handles : POOL;
		if (op->fh_at >= 0 && nr) {
			memcpy(arg + op->fh_at, &p->handles[fh_index % nr], 8);
			*handle_node = p->handle_nodes[fh_index % nr];
		}
		if (op->node_at >= 0) {
			uint64_t node = pool_node(p, node_index);
			memcpy(arg + op->node_at, &node, 8);
		}
	}
	for (unsigned int i = 0; i < op->names; i++)
		len += put_name(arg + len, MAX_ARG - len, in, p);
	if (op->data) {
		uint32_t size = take_u16(in) % (MAX_ARG - len);
		take_bytes(in, arg + len, size);
		if (op->opcode == FUSE_WRITE)
			((struct fuse_write_in *)arg)->size = size;
		else if (op->opcode == FUSE_SETXATTR)
			((struct fuse_setxattr_in *)arg)->size = size;
		len += size;
	}
	return len;
}

/* Cut len bytes at buf into n buffers where the input says. */
static void cut(struct iovec *iov, unsigned int n, uint8_t *buf, size_t len, struct input *in)
{
	size_t at = 0;

	for (unsigned int i = 0; i < n; i++) {
		size_t part = i == n - 1 ? len - at : take_u16(in) % (len - at + 1);
		iov[i] = (struct iovec){ buf + at, part };
		at += part;
	}
}

/* Send one request; the reply must be well formed, carry no secret, and
 * feed the pools. */
static void request(struct fuse_server *s, struct pools *p, uint32_t unique, struct input *in)
{
	static uint8_t in_buf[sizeof(struct fuse_in_header) + MAX_ARG];
	static uint8_t out_buf[MAX_OUT];
	const struct fuse_op_shape *op = &FUSE_OPS[take_u8(in) % FUSE_NR_OPS];
	uint8_t shape = take_u8(in), node_mode = shape & FUSE_SHAPE_NODE, node_index = 0;
	struct fuse_in_header hdr = { .opcode = op->opcode, .unique = unique, .pid = 1 };
	const struct fuse_out_header *oh = (const void *)out_buf;
	uint64_t handle_node = 0, raw_node = 0;
	struct iovec iov_in[4], iov_out[4];
	unsigned int nr_in = 1, nr_out = 1;
	size_t in_len, out_len = MAX_OUT;
	uint32_t lying_len = 0;
	ssize_t ret;

	if (node_mode == FUSE_NODE_RAW)
		raw_node = take_u64(in);
	else if (node_mode != FUSE_NODE_ROOT)
		node_index = take_u8(in);
	if (shape & FUSE_SHAPE_CREDS) {
		hdr.uid = take_u32(in);
		hdr.gid = take_u32(in);
	}
	if (shape & FUSE_SHAPE_LEN)
		lying_len = take_u32(in);
	in_len = sizeof(hdr) + put_args(in_buf + sizeof(hdr), op, shape, in, p, &handle_node);
	if (node_mode == FUSE_NODE_RAW)
		hdr.nodeid = raw_node;
	else if (node_mode == FUSE_NODE_ROOT)
		hdr.nodeid = FUSE_ROOT_ID;
	else if (node_mode == FUSE_NODE_OF_HANDLE && handle_node)
		hdr.nodeid = handle_node;
	else
		hdr.nodeid = pool_node(p, node_index);
	hdr.len = shape & FUSE_SHAPE_LEN ? lying_len : in_len;
	memcpy(in_buf, &hdr, sizeof(hdr));
	if (shape & FUSE_SHAPE_SHORT_OUT)
		out_len = take_u16(in);
	if (shape & FUSE_SHAPE_SPLIT) {
		uint8_t counts = take_u8(in);
		nr_in = (counts & 3) + 1;
		nr_out = ((counts >> 2) & 3) + 1;
	}
	cut(iov_in, nr_in, in_buf, in_len, in);
	cut(iov_out, nr_out, out_buf, out_len, in);
	memset(out_buf, 0xa5, sizeof(*oh));

	ret = fuse_server_handle(s, iov_in, nr_in, iov_out, nr_out);
	if (ret < 0) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		return;
	}
	if (ret == 0)
		return; /* no reply: FORGET, INTERRUPT */
	FUZZ_CHECK((size_t)ret >= sizeof(*oh) && (size_t)ret <= out_len);
	FUZZ_CHECK(oh->len == ret && oh->unique == unique);
	FUZZ_CHECK(oh->error <= 0 && oh->error >= -4095 && (oh->error == 0 || ret == sizeof(*oh)));
	if (carries_secret(out_buf, ret))
		escape("a reply carries what only the host's procfs knows");
	if (oh->error == 0)
		learn(p, op, hdr.nodeid, out_buf + sizeof(*oh), ret - sizeof(*oh));
}

/* INIT as the kernel sends it, with the input's flags: a raw request. */
static void init_session(struct fuse_server *s, struct pools *p, uint32_t flags)
{
	const struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
					   .minor = FUSE_KERNEL_MINOR_VERSION,
					   .max_readahead = 65536, .flags = flags };
	uint8_t req[4 + sizeof(init)] = { 0, FUSE_NODE_ROOT | FUSE_SHAPE_RAW, sizeof(init) };
	struct input in = { req, sizeof(req) };

	while (FUSE_OPS[req[0]].opcode != FUSE_INIT)
		req[0]++;
	memcpy(req + 4, &init, sizeof(init));
	request(s, p, 1, &in);
}

static void ignore_exit_code(void *opaque, int code)
{
	(void)opaque;
	(void)code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char init_data[] = "#!/bin/sh\n";
	const struct fuse_virtual_file vfile = {
		.name = "init.krun", .data = init_data, .len = sizeof(init_data) - 1, .mode = 0555,
	};
	const struct fuse_server_config cfg = {
		.root_dir = env.share, .max_inodes = 64, .max_handles = 32,
		.virtual_files = &vfile, .nr_virtual_files = 1, .exit_code = ignore_exit_code,
	};
	struct input in = { data, size };
	struct pools pools = { .nr_nodes = 0 };
	struct fuse_server *s;
	unsigned int fds;

	share_up();
	fds = scan_fds(false);
	FUZZ_CHECK(fuse_server_create(&cfg, &s) == 0);
	init_session(s, &pools, take_u32(&in));
	for (uint32_t i = 0; i < FUSE_MAX_REQUESTS && !input_empty(&in); i++)
		request(s, &pools, i + 2, &in);
	check_sentinels();
	check_outside();
	scan_fds(true);
	fuse_server_destroy(s);
	FUZZ_CHECK(scan_fds(false) == fds);
	share_down();
	return 0;
}
