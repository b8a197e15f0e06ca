/* What the guest runs: program, arguments, environment, directory, limits,
 * and the ids the VMM drops to before starting. */
#include "api/api.h"

#include "api/context.h"

/* envp as given, or the host's environment for NULL, as libkrun does. */
static int copy_env(const char *caller, const char *const envp[], char ***out)
{
	return envp ? strv_copy(caller, "envp", envp, out) : strv_copy_environ(out);
}

int32_t krun_set_exec(uint32_t ctx_id, const char *exec_path, const char *const argv[],
		      const char *const envp[])
{
	struct vm_config *cfg, staged = { 0 };
	int ret;

	if (!exec_path)
		return API_EINVAL("exec path is NULL");
	ret = strv_copy(__func__, "argv", argv, &staged.argv);
	if (!ret)
		ret = copy_env(__func__, envp, &staged.envp);
	if (!ret)
		ret = replace_string(&staged.exec_path, exec_path);
	if (ret) {
		vm_config_free(&staged);
		return ret;
	}

	cfg = ctx_lock(ctx_id, __func__);
	if (cfg) {
		SWAP(cfg->exec_path, staged.exec_path);
		SWAP(cfg->argv, staged.argv);
		SWAP(cfg->envp, staged.envp);
		ctx_unlock();
	}
	vm_config_free(&staged);
	return cfg ? 0 : -ENOENT;
}

int32_t krun_set_env(uint32_t ctx_id, const char *const envp[])
{
	struct vm_config *cfg, staged = { 0 };
	int ret = copy_env(__func__, envp, &staged.envp);

	if (ret)
		return ret;
	cfg = ctx_lock(ctx_id, __func__);
	if (cfg) {
		SWAP(cfg->envp, staged.envp);
		ctx_unlock();
	}
	vm_config_free(&staged);
	return cfg ? 0 : -ENOENT;
}

int32_t krun_set_workdir(uint32_t ctx_id, const char *workdir_path)
{
	struct vm_config *cfg;
	int ret;

	if (!workdir_path)
		return API_EINVAL("workdir path is NULL");
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	ret = replace_string(&cfg->workdir, workdir_path);
	ctx_unlock();
	return ret;
}

int32_t krun_set_rlimits(uint32_t ctx_id, const char *const rlimits[])
{
	struct vm_config *cfg, staged = { 0 };
	int ret;

	if (!rlimits)
		return API_EINVAL("rlimits is NULL");
	ret = strv_copy(__func__, "rlimits", rlimits, &staged.rlimits);
	for (char **entry = staged.rlimits; !ret && *entry; entry++)
		ret = rlimit_check(__func__, *entry);
	if (ret) {
		vm_config_free(&staged);
		return ret;
	}

	cfg = ctx_lock(ctx_id, __func__);
	if (cfg) {
		SWAP(cfg->rlimits, staged.rlimits);
		ctx_unlock();
	}
	vm_config_free(&staged);
	return cfg ? 0 : -ENOENT;
}

int32_t krun_setuid(uint32_t ctx_id, uid_t uid)
{
	struct vm_config *cfg;

	/* setuid() itself refuses it, but only once the VM is being built */
	if (uid == (uid_t)-1)
		return API_EINVAL("uid -1 is not a user");
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	cfg->uid = uid;
	cfg->has_uid = true;
	ctx_unlock();
	return 0;
}

int32_t krun_setgid(uint32_t ctx_id, gid_t gid)
{
	struct vm_config *cfg;

	if (gid == (gid_t)-1)
		return API_EINVAL("gid -1 is not a group");
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	cfg->gid = gid;
	cfg->has_gid = true;
	ctx_unlock();
	return 0;
}
