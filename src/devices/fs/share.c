#include "devices/fs/share.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/fs/virtio_fs.h"

struct fs_share {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool initialised; /* fs is set up, and owns the server */
	bool plugged;
	struct virtio_fs fs;
	/* the root's served files, for as long as the server */
	struct fuse_virtual_file *root_files;
};

static struct fs_share *fs_share_of(const struct vmm_device *dev)
{
	return (struct fs_share *)dev;
}

unsigned int fs_share_count(const struct vm_config *cfg)
{
	return cfg->nr_shares;
}

/* A directory this process may list (O_RDONLY: the server's own O_PATH
 * would pass one it may not), opened before KVM; the server serves this
 * fd, so a path swapped for another afterwards changes nothing. */
int fs_share_open_host(const struct vm_config *cfg, unsigned int index)
{
	const char *path = cfg->shares[index].path;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;
		LOG_ERR("cannot share %s with the guest: %s", path, strerror(err));
		return -err;
	}
	return fd;
}

/* The guest init's ioctl on a share's root: the workload's exit status. */
static void on_exit_code(void *opaque, int code)
{
	const struct vmm_device_env *env = opaque;

	env->set_exit_status(env->vmm, code & 0xff);
}

static int serve_root_files(struct fs_share *s, struct fuse_server_config *fc)
{
	const struct vmm_device_env *env = s->env;

	if (env->nr_root_files == 0)
		return 0;
	s->root_files = calloc(env->nr_root_files, sizeof(*s->root_files));
	if (!s->root_files) {
		LOG_ERR("virtio-fs: cannot list the files served in the root: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < env->nr_root_files; i++) {
		const struct vmm_served_file *f = &env->root_files[i];
		s->root_files[i] = (struct fuse_virtual_file){
			.name = f->name, .data = f->data, .len = f->len, .mode = f->mode,
		};
	}
	fc->virtual_files = s->root_files;
	fc->nr_virtual_files = env->nr_root_files;
	return 0;
}

static int create_share(struct fs_share *s, const struct vm_config *cfg, unsigned int index,
			int dir_fd)
{
	const struct vm_share *share = &cfg->shares[index];
	struct fuse_server_config fc = {
		.root_dir = share->path,
		.read_only = share->read_only,
		/* Its even part of the fds RLIMIT_NOFILE leaves the VM now: the
		 * shares made before it hold a few already, so the parts never
		 * add up to more than there was when the first was made. */
		.max_fds = fuse_server_fd_budget(cfg->nr_shares),
		.exit_code = on_exit_code,
		.opaque = (void *)s->env,
	};
	struct fuse_server *server;
	int ret;

	if (strcmp(share->tag, VM_ROOT_TAG) == 0 && (ret = serve_root_files(s, &fc)) < 0) {
		close(dir_fd);
		return ret;
	}
	/* The server and the device log their own failures. */
	if ((ret = fuse_server_create_at(&fc, dir_fd, &server)) < 0)
		return ret;
	if ((ret = virtio_fs_init(&s->fs, share->tag, server)) < 0) {
		fuse_server_destroy(server);
		return ret;
	}
	s->initialised = true;
	if ((ret = s->env->plug_virtio(s->env->vmm, &s->fs.vdev)) < 0)
		return ret;
	s->plugged = true;
	return 0;
}

static const struct vmm_device_ops fs_share_ops;

int fs_share_create(const struct vm_config *cfg, unsigned int index, int host_fd,
		    const struct vmm_device_env *env, struct vmm_device **dev)
{
	struct fs_share *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		LOG_ERR("cannot allocate virtio-fs device %u: %s", index, strerror(ENOMEM));
		close(host_fd);
		return -ENOMEM;
	}
	s->dev.ops = &fs_share_ops;
	s->env = env;
	if ((ret = create_share(s, cfg, index, host_fd)) < 0) {
		fs_share_ops.destroy(&s->dev);
		return ret;
	}
	*dev = &s->dev;
	return 0;
}

static int fs_share_on_threads(struct vmm_device *dev, int (*fn)(void))
{
	return virtio_fs_on_workers(&fs_share_of(dev)->fs, fn);
}

/* How busy the share was: a slow workload's first clue (requests per
 * interrupt says how well they were batched). */
static void fs_share_log_stats(const struct vmm_device *dev)
{
	const struct virtio_fs *fs = &fs_share_of(dev)->fs;

	LOG_INF("virtio-fs %.*s: %llu requests (%llu malformed, %llu waited on a thread of "
		"their own), %llu kicks, %llu interrupts",
		(int)sizeof(fs->config.tag), (const char *)fs->config.tag,
		(unsigned long long)fs->counters.requests,
		(unsigned long long)fs->counters.malformed,
		(unsigned long long)fs->counters.waited,
		(unsigned long long)fs->vdev.counters.notifications,
		(unsigned long long)fs->vdev.counters.interrupts);
}

static void fs_share_destroy(struct vmm_device *dev)
{
	struct fs_share *s = fs_share_of(dev);

	if (s->plugged)
		s->env->unplug_virtio(s->env->vmm, &s->fs.vdev);
	if (s->initialised)
		virtio_fs_destroy(&s->fs);
	free(s->root_files);
	free(s);
}

static const struct vmm_device_ops fs_share_ops = {
	.log_stats = fs_share_log_stats,
	.threads = DEVICE_THREADS_FS_WORKER,
	.on_threads = fs_share_on_threads,
	.destroy = fs_share_destroy,
};
