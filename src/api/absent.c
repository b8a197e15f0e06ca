/* libkrun's calls for features this library does not have (yet): each
 * checks what libkrun checks and refuses the rest with -ENOTSUP and a log
 * line naming what is missing, so that a client built against libkrun
 * links, runs and learns why. The header says which call is which;
 * README's "Differences from libkrun" lists them. */
#include "api/api.h"

#include <unistd.h>

#include "api/context.h"

/* As libkrun without its GPU feature: accepted, and no GPU is made. */
int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags)
{
	int ret = ctx_check(ctx_id, __func__);

	if (ret == 0)
		LOG_INF("%s: flags %#x accepted; this library makes no GPU", __func__,
			virgl_flags);
	return ret;
}

int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size)
{
	(void)shm_size;
	return krun_set_gpu_options(ctx_id, virgl_flags);
}

#define NO_GPU "no virtio-gpu, so no displays"

int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height)
{
	(void)ctx_id, (void)width, (void)height;
	return API_ENOTSUP(NO_GPU);
}

int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
			      size_t blob_size)
{
	(void)ctx_id, (void)display_id, (void)edid_blob, (void)blob_size;
	return API_ENOTSUP(NO_GPU);
}

int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi)
{
	(void)ctx_id, (void)display_id, (void)dpi;
	return API_ENOTSUP(NO_GPU);
}

int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
				       uint16_t height_mm)
{
	(void)ctx_id, (void)display_id, (void)width_mm, (void)height_mm;
	return API_ENOTSUP(NO_GPU);
}

int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id,
				      uint32_t refresh_rate)
{
	(void)ctx_id, (void)display_id, (void)refresh_rate;
	return API_ENOTSUP(NO_GPU);
}

int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend,
				 size_t backend_size)
{
	(void)ctx_id, (void)display_backend, (void)backend_size;
	return API_ENOTSUP(NO_GPU);
}

int krun_add_input_device(uint32_t ctx_id, const void *config_backend,
			  size_t config_backend_size, const void *events_backend,
			  size_t events_backend_size)
{
	(void)ctx_id, (void)config_backend, (void)config_backend_size, (void)events_backend;
	(void)events_backend_size;
	return API_ENOTSUP("no virtio-input");
}

int krun_add_input_device_fd(uint32_t ctx_id, int input_fd)
{
	(void)ctx_id, (void)input_fd;
	return API_ENOTSUP("no virtio-input");
}

int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type,
				   const char *socket_path, const char *name,
				   uint16_t num_queues, const uint16_t *queue_sizes)
{
	(void)ctx_id, (void)device_type, (void)socket_path, (void)name, (void)num_queues;
	(void)queue_sizes;
	return API_ENOTSUP("no vhost-user devices yet");
}

/* A path argument checked, the context found, then the refusal. */
static int refuse_path_call(const char *caller, uint32_t ctx_id, const char *what,
			    const char *path, const char *missing)
{
	int ret;

	if (!path)
		return api_invalid(caller, "%s is NULL", what);
	if ((ret = ctx_check(ctx_id, caller)) < 0)
		return ret;
	return api_unsupported(caller, missing);
}

int32_t krun_set_firmware(uint32_t ctx_id, const char *firmware_path)
{
	return refuse_path_call(__func__, ctx_id, "firmware path", firmware_path,
				"no firmware boot (EFI); boot a kernel (krun_set_kernel)");
}

int32_t krun_set_tee_config_file(uint32_t ctx_id, const char *filepath)
{
	return refuse_path_call(__func__, ctx_id, "TEE config path", filepath,
				"no confidential VMs (SEV, TDX): this is not a libkrun-sev build");
}

int32_t krun_set_smbios_oem_strings(uint32_t ctx_id, const char *const oem_strings[])
{
	int ret;

	if (!oem_strings)
		return API_EINVAL("OEM strings array is NULL");
	if ((ret = ctx_check(ctx_id, __func__)) < 0)
		return ret;
	return API_ENOTSUP("no SMBIOS tables yet");
}

int32_t krun_fs_add_overlay_file(uint32_t ctx_id, const char *fs_tag, const char *path,
				 const uint8_t *data, size_t data_len, uint32_t mode,
				 bool one_shot)
{
	int ret;

	(void)mode, (void)one_shot;
	if (!fs_tag || !path)
		return API_EINVAL("share tag or path is NULL");
	if (!data && data_len)
		return API_EINVAL("data is NULL, its length %zu", data_len);
	if ((ret = ctx_check(ctx_id, __func__)) < 0)
		return ret;
	return API_ENOTSUP("no overlay files in shares yet");
}

int32_t krun_fs_add_overlay_dir(uint32_t ctx_id, const char *fs_tag, const char *path,
				uint32_t mode)
{
	int ret;

	(void)mode;
	if (!fs_tag || !path)
		return API_EINVAL("share tag or path is NULL");
	if ((ret = ctx_check(ctx_id, __func__)) < 0)
		return ret;
	return API_ENOTSUP("no overlay directories in shares yet");
}

/* libkrun refuses it outright on every platform. */
int32_t krun_set_mapped_volumes(uint32_t ctx_id, const char *const mapped_volumes[])
{
	(void)ctx_id, (void)mapped_volumes;
	return API_EINVAL("no longer supported (libkrun's too): share with krun_add_virtiofs");
}

/* Consoles the console device cannot make yet (see devices/console/). */

int32_t krun_add_serial_console_default(uint32_t ctx_id, int input_fd, int output_fd)
{
	int ret = fd_check(__func__, "input fd", input_fd);

	if (!ret)
		ret = fd_check(__func__, "output fd", output_fd);
	if (!ret)
		ret = ctx_check(ctx_id, __func__);
	return ret ? ret : API_ENOTSUP("no serial port (16550 UART) yet");
}

int32_t krun_add_virtio_console_multiport(uint32_t ctx_id)
{
	int ret = ctx_check(ctx_id, __func__);

	return ret ? ret : API_ENOTSUP("no consoles with caller-made ports yet");
}

int32_t krun_add_console_port_tty(uint32_t ctx_id, uint32_t console_id, const char *name,
				  int tty_fd)
{
	int ret;

	(void)console_id, (void)name;
	if (tty_fd < 0)
		return API_EINVAL("tty fd %d", tty_fd);
	if (!isatty(tty_fd)) {
		LOG_ERR("%s: fd %d is not a terminal", __func__, tty_fd);
		return -ENOTTY;
	}
	if ((ret = ctx_check(ctx_id, __func__)) < 0)
		return ret;
	return API_ENOTSUP("no consoles with caller-made ports yet");
}

int32_t krun_add_console_port_inout(uint32_t ctx_id, uint32_t console_id, const char *name,
				    int input_fd, int output_fd)
{
	int ret;

	(void)console_id, (void)name, (void)input_fd, (void)output_fd;
	if ((ret = ctx_check(ctx_id, __func__)) < 0)
		return ret;
	return API_ENOTSUP("no consoles with caller-made ports yet");
}
