/* The FUSE server against a hostile guest: tens of thousands of requests,
 * random but shaped like real ones (node ids and handles the server handed
 * out, names from a small alphabet with "..", "/" and empty ones, sizes and
 * offsets at the edges, header lengths that lie, buffers split anywhere),
 * from fixed seeds so a failure repeats. Every reply must be well formed and
 * fit its buffers, and nothing beside the share may change. Meant for ASan
 * and UBSan, which catch what the checks here cannot. */
#include "fs/fuse_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define REQUESTS_PER_SEED 50000
#define MAX_ARG 4096
#define MAX_OUT (64 * 1024)
#define POOL 16
/* Files the fuzzer grows (writes, fallocate, truncate, copies) stay small. */
#define FILE_SIZE_LIMIT (8 << 20)

static char tmp_dir[256];
static char root_dir[300];
static char outside[300];

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic per seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* Sizes and offsets where the edge cases live, or anything at all. */
static uint64_t edgy(void)
{
	static const uint64_t edges[] = {
		0, 1, 7, 4095, 4096, 4097, 65536, 131072, 1u << 20, INT32_MAX, UINT32_MAX,
		(uint64_t)INT64_MAX, UINT64_MAX, UINT64_MAX - 4095,
	};
	return below(4) ? edges[below(sizeof(edges) / sizeof(edges[0]))] : rnd();
}

/* Node ids and handles the server handed out, each handle with its node
 * (the server wants the two to agree). */
struct pools {
	uint64_t nodes[POOL], handles[POOL], handle_nodes[POOL];
	unsigned int nr_nodes, nr_handles;
};

static void remember(uint64_t *pool, unsigned int *nr, uint64_t value)
{
	pool[*nr < POOL ? (*nr)++ : below(POOL)] = value;
}

static void remember_handle(struct pools *pools, uint64_t fh, uint64_t nodeid)
{
	unsigned int slot = pools->nr_handles < POOL ? pools->nr_handles++ : below(POOL);

	pools->handles[slot] = fh;
	pools->handle_nodes[slot] = nodeid;
}

static uint64_t pick(const uint64_t *pool, unsigned int nr)
{
	switch (below(8)) {
	case 0: return FUSE_ROOT_ID;
	case 1: return edgy();
	default: return nr ? pool[below(nr)] : FUSE_ROOT_ID;
	}
}

/* A NUL-terminated name, or (now and then) something that is not one. */
static size_t put_name(uint8_t *p, size_t room)
{
	static const char *const names[] = {
		"a", "b", "dir", "file", "..", ".", "", "x/y", "/etc", "init.krun", "outside",
		"../outside", "a\nb", "very-long-name-very-long-name-very-long-name",
	};
	const char *name = names[below(sizeof(names) / sizeof(names[0]))];
	size_t len = strlen(name) + 1;

	if (len > room)
		return 0;
	memcpy(p, name, len);
	if (below(16) == 0)
		p[len - 1] = 'z'; /* unterminated */
	return len;
}

static const uint32_t opcodes[] = {
	FUSE_INIT, FUSE_DESTROY, FUSE_LOOKUP, FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_GETATTR,
	FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK, FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK,
	FUSE_RMDIR, FUSE_RENAME, FUSE_RENAME2, FUSE_LINK, FUSE_OPEN, FUSE_CREATE, FUSE_READ,
	FUSE_WRITE, FUSE_FLUSH, FUSE_FSYNC, FUSE_RELEASE, FUSE_OPENDIR, FUSE_READDIR,
	FUSE_READDIRPLUS, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_STATFS, FUSE_ACCESS,
	FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_SETXATTR, FUSE_REMOVEXATTR, FUSE_FALLOCATE,
	FUSE_LSEEK, FUSE_COPY_FILE_RANGE, FUSE_IOCTL, FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW,
	FUSE_INTERRUPT, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_SYNCFS, FUSE_TMPFILE,
	52, 0, 99, 4096, UINT32_MAX, /* 52: STATX, newer than these headers */
};

/* The fixed part of an opcode's arguments, 0 for none known here. */
static size_t arg_size(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_GETATTR: return sizeof(struct fuse_getattr_in);
	case FUSE_SETATTR: return sizeof(struct fuse_setattr_in);
	case FUSE_OPEN: case FUSE_OPENDIR: return sizeof(struct fuse_open_in);
	case FUSE_CREATE: return sizeof(struct fuse_create_in);
	case FUSE_MKDIR: return sizeof(struct fuse_mkdir_in);
	case FUSE_MKNOD: return sizeof(struct fuse_mknod_in);
	case FUSE_RENAME: return sizeof(struct fuse_rename_in);
	case FUSE_RENAME2: return sizeof(struct fuse_rename2_in);
	case FUSE_LINK: return sizeof(struct fuse_link_in);
	case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS: return sizeof(struct fuse_read_in);
	case FUSE_WRITE: return sizeof(struct fuse_write_in);
	case FUSE_FLUSH: return sizeof(struct fuse_flush_in);
	case FUSE_RELEASE: case FUSE_RELEASEDIR: return sizeof(struct fuse_release_in);
	case FUSE_FSYNC: case FUSE_FSYNCDIR: return sizeof(struct fuse_fsync_in);
	case FUSE_ACCESS: return sizeof(struct fuse_access_in);
	case FUSE_GETXATTR: case FUSE_LISTXATTR: return sizeof(struct fuse_getxattr_in);
	case FUSE_SETXATTR: return sizeof(struct fuse_setxattr_in);
	case FUSE_FALLOCATE: return sizeof(struct fuse_fallocate_in);
	case FUSE_LSEEK: return sizeof(struct fuse_lseek_in);
	case FUSE_COPY_FILE_RANGE: return sizeof(struct fuse_copy_file_range_in);
	case FUSE_IOCTL: return sizeof(struct fuse_ioctl_in);
	case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW: return sizeof(struct fuse_lk_in);
	case FUSE_FORGET: return sizeof(struct fuse_forget_in);
	case FUSE_BATCH_FORGET: return sizeof(struct fuse_batch_forget_in);
	default: return 0;
	}
}

static bool takes_names(uint32_t opcode)
{
	return opcode == FUSE_LOOKUP || opcode == FUSE_UNLINK || opcode == FUSE_RMDIR ||
	       opcode == FUSE_MKDIR || opcode == FUSE_MKNOD || opcode == FUSE_CREATE ||
	       opcode == FUSE_RENAME || opcode == FUSE_RENAME2 || opcode == FUSE_LINK ||
	       opcode == FUSE_SYMLINK || opcode == FUSE_GETXATTR || opcode == FUSE_SETXATTR ||
	       opcode == FUSE_REMOVEXATTR;
}

/* The argument block: mostly the opcode's own struct with random fields,
 * its leading u64 a handle from the pool (most *_in structs start with fh)
 * and, for a read or write, a modest offset and size (after fh);
 * then names for the ops that take them, or random bytes. Now and then
 * anything at all. */
static size_t make_args(uint8_t *arg, const struct pools *pools, uint32_t opcode,
			uint64_t *nodeid)
{
	size_t fixed = arg_size(opcode), len;

	if (below(8) == 0 || (fixed == 0 && !takes_names(opcode)))
		len = below(5) == 0 ? below(MAX_ARG) : below(96);
	else
		len = below(8) ? fixed : below(fixed + 1);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = below(3) ? edgy() : rnd();
		memcpy(arg + i, &v, len - i < 8 ? len - i : 8);
	}
	if ((opcode == FUSE_OPEN || opcode == FUSE_CREATE) && len >= 8 && below(4)) {
		/* flags, then mode (CREATE) or open_flags: a file to read and write */
		const uint32_t flags[2] = { O_RDWR | (opcode == FUSE_CREATE ? O_CREAT : 0), 0644 };
		memcpy(arg, flags, sizeof(flags));
	} else if (len >= 8 && pools->nr_handles && below(4)) {
		unsigned int slot = below(pools->nr_handles);
		memcpy(arg, &pools->handles[slot], 8);
		if (below(4))
			*nodeid = pools->handle_nodes[slot];
	}
	if ((opcode == FUSE_READ || opcode == FUSE_WRITE || opcode == FUSE_READDIR ||
	     opcode == FUSE_READDIRPLUS) && len >= 20 && below(4)) {
		uint32_t size = (uint32_t)below(2048);
		uint64_t offset = below(1 << 20);
		memcpy(arg + 8, &offset, 8);
		memcpy(arg + 16, &size, 4);
		if (opcode == FUSE_WRITE && len + size <= MAX_ARG && below(8)) {
			memset(arg + len, 'w', size);
			len += size;
		}
	}
	if (takes_names(opcode) && below(8)) {
		if (opcode == FUSE_RENAME || opcode == FUSE_RENAME2 || opcode == FUSE_LINK) {
			uint64_t node = pick(pools->nodes, pools->nr_nodes);
			if (len >= 8)
				memcpy(arg, &node, 8); /* newdir, or oldnodeid */
		}
		len += put_name(arg + len, MAX_ARG - len);
		if (opcode == FUSE_RENAME || opcode == FUSE_RENAME2 || opcode == FUSE_SYMLINK ||
		    opcode == FUSE_SETXATTR)
			len += put_name(arg + len, MAX_ARG - len);
	}
	return len;
}

/* Replies that hand out node ids and handles feed the pools. */
static void learn(struct pools *pools, uint32_t opcode, uint64_t nodeid, const uint8_t *data,
		  size_t len)
{
	const struct fuse_entry_out *entry = (const void *)data;

	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
	case FUSE_LINK:
		if (len >= sizeof(*entry))
			remember(pools->nodes, &pools->nr_nodes, entry->nodeid);
		break;
	case FUSE_CREATE:
		if (len >= sizeof(*entry) + sizeof(struct fuse_open_out)) {
			const struct fuse_open_out *open = (const void *)(data + sizeof(*entry));
			remember(pools->nodes, &pools->nr_nodes, entry->nodeid);
			remember_handle(pools, open->fh, entry->nodeid);
		}
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		if (len >= sizeof(struct fuse_open_out))
			remember_handle(pools, ((const struct fuse_open_out *)data)->fh, nodeid);
		break;
	}
}

/* Split len bytes at buf into up to max iovecs at random points. */
static unsigned int split(struct iovec *iov, unsigned int max, uint8_t *buf, size_t len)
{
	unsigned int n = 1 + below(max);
	size_t at = 0;

	for (unsigned int i = 0; i < n; i++) {
		size_t part = i == n - 1 ? len - at : below(len - at + 1);
		iov[i] = (struct iovec){ buf + at, part };
		at += part;
	}
	return n;
}

static unsigned int exit_codes;

static void record_exit(void *opaque, int code)
{
	(void)opaque;
	(void)code;
	exit_codes++;
}

static void fuzz(uint64_t seed)
{
	static uint8_t in_buf[sizeof(struct fuse_in_header) + MAX_ARG];
	static uint8_t out_buf[MAX_OUT];
	static const char init_data[] = "#!/bin/sh\n";
	const struct fuse_virtual_file vfile = {
		.name = "init.krun", .data = init_data, .len = sizeof(init_data) - 1, .mode = 0555,
	};
	struct fuse_server_config cfg = {
		.root_dir = root_dir, .max_inodes = 64, .max_handles = 32,
		.virtual_files = &vfile, .nr_virtual_files = 1, .exit_code = record_exit,
	};
	struct fuse_server *s;
	struct pools pools = { .nr_nodes = 0 };
	unsigned int bad = 0;
	uint32_t last_opcode = 0;

	rng_state = seed;
	CHECK_EQ_INT(fuse_server_create(&cfg, &s), 0);
	if (!s)
		return;
	for (unsigned int i = 0; i < REQUESTS_PER_SEED; i++) {
		/* mostly a session that is up: INIT first and after each DESTROY,
		 * which comes seldom, and now and then INIT again */
		uint32_t opcode = opcodes[below(sizeof(opcodes) / 4)];
		if (opcode == FUSE_DESTROY && below(10))
			opcode = FUSE_GETATTR;
		if (i == 0 || last_opcode == FUSE_DESTROY || below(500) == 0)
			opcode = FUSE_INIT;
		last_opcode = opcode;
		struct fuse_in_header hdr = {
			.opcode = opcode, .unique = i + 1, .nodeid = pick(pools.nodes, pools.nr_nodes),
			.uid = below(4) ? 0 : (uint32_t)rnd(), .gid = below(4) ? 0 : (uint32_t)rnd(),
			.pid = (uint32_t)rnd(),
		};
		size_t arg_len;

		if (opcode == FUSE_INIT) {
			struct fuse_init_in init = { .major = 7, .minor = 38, .max_readahead = 65536,
						     .flags = (uint32_t)rnd() };
			memcpy(in_buf + sizeof(hdr), &init, sizeof(init));
			arg_len = sizeof(init);
		} else {
			arg_len = make_args(in_buf + sizeof(hdr), &pools, opcode, &hdr.nodeid);
		}
		size_t in_len = sizeof(hdr) + arg_len;
		hdr.len = below(10) ? (uint32_t)in_len : (uint32_t)edgy();
		memcpy(in_buf, &hdr, sizeof(hdr));
		if (below(20) == 0)
			in_len = below(in_len + 1); /* cut short */

		struct iovec in[4], out[3];
		size_t out_len = below(8) ? MAX_OUT : below(MAX_OUT);
		unsigned int nr_in = split(in, 4, in_buf, in_len);
		unsigned int nr_out = split(out, 3, out_buf, out_len);
		memset(out_buf, 0xa5, sizeof(struct fuse_out_header));

		ssize_t ret = fuse_server_handle(s, in, nr_in, out, nr_out);
		const struct fuse_out_header *oh = (const void *)out_buf;
		bool ok;
		if (ret < 0) {
			ok = ret == -EINVAL || ret == -ENOMEM;
		} else if (ret == 0) {
			ok = true; /* no reply: FORGET, INTERRUPT */
		} else {
			/* the header may lie in pieces: it was written through out[] */
			ok = (size_t)ret >= sizeof(*oh) && (size_t)ret <= out_len &&
			     oh->len == ret && oh->unique == hdr.unique && oh->error <= 0 &&
			     oh->error >= -4095 && (oh->error == 0 || ret == sizeof(*oh));
			if (ok && oh->error == 0)
				learn(&pools, opcode, hdr.nodeid, out_buf + sizeof(*oh), ret - sizeof(*oh));
		}
		if (!ok && bad++ < 5)
			fprintf(stderr, "seed %llu request %u: opcode %u gave %zd (len %u, error %d)\n",
				(unsigned long long)seed, i, opcode, ret, ret > 0 ? oh->len : 0,
				ret > 0 ? oh->error : 0);
	}
	CHECK_EQ_INT(bad, 0);
	fuse_server_destroy(s);
}

/* Nothing but the share and the file beside it in the temporary directory,
 * and that file as it was. */
static void check_beside_untouched(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	unsigned int entries = 0;
	char content[64] = "";
	int fd = open(outside, O_RDONLY);

	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			entries++;
			CHECK(!strcmp(e->d_name, "root") || !strcmp(e->d_name, "outside"));
		}
	}
	if (d)
		closedir(d);
	CHECK_EQ_INT(entries, 2);
	CHECK(fd >= 0 && read(fd, content, sizeof(content) - 1) > 0);
	CHECK(!strcmp(content, "host secret\n"));
	if (fd >= 0)
		close(fd);
}

static void remove_tree(const char *path)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	const struct rlimit fsize = { FILE_SIZE_LIMIT, FILE_SIZE_LIMIT };
	FILE *f;

	/* writes past the limit fail with EFBIG instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fsize);
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/fuse-fuzz.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root_dir, sizeof(root_dir), "%s/root", tmp_dir);
	snprintf(outside, sizeof(outside), "%s/outside", tmp_dir);
	mkdir(root_dir, 0755);
	f = fopen(outside, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("host secret\n", f);
		fclose(f);
	}

	for (uint64_t seed = 1; seed <= 4; seed++)
		fuzz(seed * 0x9e3779b97f4a7c15ull);
	check_beside_untouched();
	remove_tree(tmp_dir);
	return CHECK_DONE();
}
