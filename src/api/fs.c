/* Host directories shared with the guest over virtio-fs, the root among them. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/context.h"
#include "vmm/init_blob.h"

/* libkrun's DAX window for the root; recorded until the window is mapped. */
#define ROOT_SHM_SIZE (512ull << 20)
#define MAX_SHM_SIZE (64ull << 30)

static int add_share(const char *caller, uint32_t ctx_id, const char *tag, const char *path,
		     uint64_t shm_size, bool read_only)
{
	struct vm_share share = { .shm_size = shm_size, .read_only = read_only };
	struct vm_config *cfg;
	struct stat st;
	int ret = 0;

	if (!tag || !*tag || strlen(tag) > VM_MAX_TAG_LEN)
		return api_invalid(caller, "the tag must be 1 to %d bytes", VM_MAX_TAG_LEN);
	if (!path)
		return api_invalid(caller, "shares without a host directory are not supported");
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return api_invalid(caller, "%s is not a directory", path);
	if (shm_size % 4096 || shm_size > MAX_SHM_SIZE)
		return api_invalid(caller, "a DAX window of %llu bytes: want whole pages, at most "
			"64 GiB", (unsigned long long)shm_size);
	share.tag = strdup(tag);
	share.path = strdup(path);
	if (!share.tag || !share.path) {
		ret = -ENOMEM;
		goto out;
	}

	cfg = ctx_lock(ctx_id, caller);
	if (!cfg) {
		ret = -ENOENT;
		goto out;
	}
	for (unsigned int i = 0; i < cfg->nr_shares && ret == 0; i++) {
		if (strcmp(cfg->shares[i].tag, tag) == 0) {
			LOG_ERR("%s: a share tagged %s exists already", caller, tag);
			ret = -EEXIST;
		}
	}
	if (ret == 0 && cfg->nr_shares == VM_MAX_SHARES) {
		LOG_ERR("%s: at most %d shares", caller, VM_MAX_SHARES);
		ret = -ENOSPC;
	}
	if (ret == 0) {
		cfg->shares[cfg->nr_shares++] = share;
		share = (struct vm_share){ 0 };
	}
	ctx_unlock();
out:
	free(share.tag);
	free(share.path);
	return ret;
}

int32_t krun_set_root(uint32_t ctx_id, const char *root_path)
{
	return add_share(__func__, ctx_id, VM_ROOT_TAG, root_path, ROOT_SHM_SIZE, false);
}

int32_t krun_add_virtiofs(uint32_t ctx_id, const char *c_tag, const char *c_path)
{
	return add_share(__func__, ctx_id, c_tag, c_path, 0, false);
}

int32_t krun_add_virtiofs2(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size)
{
	return add_share(__func__, ctx_id, c_tag, c_path, shm_size, false);
}

int32_t krun_add_virtiofs3(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size, bool read_only)
{
	return add_share(__func__, ctx_id, c_tag, c_path, shm_size, read_only);
}

int32_t krun_disable_implicit_init(uint32_t ctx_id)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);

	if (!cfg)
		return -ENOENT;
	cfg->implicit_init_disabled = true;
	ctx_unlock();
	return 0;
}

int32_t krun_get_default_init(const uint8_t **data_out, size_t *len_out)
{
	if (!data_out || !len_out)
		return API_EINVAL("NULL output pointer");
	return init_blob_get(data_out, len_out) ? 0 : -ENOTSUP;
}
