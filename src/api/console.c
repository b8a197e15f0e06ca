/* The guest's consoles: the implicit one and those added explicitly. */
#include "api/api.h"

#include <string.h>
#include <sys/eventfd.h>

#include "api/context.h"

int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath)
{
	struct vm_config *cfg;
	int ret;

	if (!c_filepath)
		return API_EINVAL("console output path is NULL");
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	/* libkrun takes one output file per context and refuses a second */
	if (cfg->console_output)
		ret = API_EINVAL("console output already set to %s", cfg->console_output);
	else
		ret = replace_string(&cfg->console_output, c_filepath);
	ctx_unlock();
	return ret;
}

int32_t krun_disable_implicit_console(uint32_t ctx_id)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);

	if (!cfg)
		return -ENOENT;
	cfg->implicit_console_disabled = true;
	ctx_unlock();
	return 0;
}

int32_t krun_add_virtio_console_default(uint32_t ctx_id, int input_fd, int output_fd,
					int err_fd)
{
	struct vm_config *cfg;
	int ret;

	ret = fd_check(__func__, "input fd", input_fd);
	if (!ret)
		ret = fd_check(__func__, "output fd", output_fd);
	if (!ret)
		ret = fd_check(__func__, "error fd", err_fd);
	if (ret)
		return ret;

	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	if (cfg->nr_consoles == VM_MAX_CONSOLES) {
		/* -ENOMEM as libkrun's other capped list, the displays, answers */
		ret = -ENOMEM;
		LOG_ERR("%s: at most %d consoles", __func__, VM_MAX_CONSOLES);
	} else {
		cfg->consoles[cfg->nr_consoles++] = (struct vm_console){
			.in_fd = input_fd,
			.out_fd = output_fd,
			.err_fd = err_fd,
		};
	}
	ctx_unlock();
	return ret;
}

/* console= is one word of the kernel's command line: no space to split it,
 * no quote the kernel would take for the start of a quoted value. */
#define KERNEL_CONSOLE_MAX 63

int32_t krun_set_kernel_console(uint32_t ctx_id, const char *console_id)
{
	struct vm_config *cfg;
	int ret;

	if (!console_id)
		return API_EINVAL("console id is NULL");
	size_t len = strlen(console_id);
	if (len == 0 || len > KERNEL_CONSOLE_MAX)
		return API_EINVAL("console id of %zu bytes, need 1..%d", len, KERNEL_CONSOLE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)console_id[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '"')
			return API_EINVAL("console id \"%s\" is not one printable word", console_id);
	}
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	ret = replace_string(&cfg->kernel_console, console_id);
	ctx_unlock();
	return ret;
}

int32_t krun_get_shutdown_eventfd(uint32_t ctx_id)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);
	int ret;

	if (!cfg)
		return -ENOENT;
	/* Non-blocking, as libkrun's: the console that reads it (a port the
	 * guest's init waits on) must never block the event loop. */
	if (!cfg->has_shutdown_fd) {
		cfg->shutdown_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (cfg->shutdown_fd < 0) {
			ret = -errno;
			ctx_unlock();
			LOG_ERR("%s: eventfd: %s", __func__, strerror(-ret));
			return ret;
		}
		cfg->has_shutdown_fd = true;
	}
	ret = cfg->shutdown_fd;
	ctx_unlock();
	return ret;
}
