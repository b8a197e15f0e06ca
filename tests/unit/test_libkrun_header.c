/* libkrun's interface, as a client built against libkrun sees it: each of
 * its functions declared again with libkrun's own prototype (a mismatch
 * with ours fails the build under -Werror), each of its constants' values,
 * and a client that calls every function once, linked against libkrun.so.1
 * like any other, each with an argument or context that must be refused.
 * The names and values below are libkrun's interface facts (its
 * include/libkrun.h), kept here so that a change to ours that drifts from
 * them shows. */
#include "libkrun.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- libkrun's prototypes, in its own order ---- */
int32_t krun_set_log_level(uint32_t level);
int32_t krun_init_log(int target_fd, uint32_t level, uint32_t style, uint32_t options);
int32_t krun_create_ctx();
int32_t krun_free_ctx(uint32_t ctx_id);
int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib);
int32_t krun_set_root(uint32_t ctx_id, const char *root_path);
int32_t krun_set_root_disk(uint32_t ctx_id, const char *disk_path);
int32_t krun_set_data_disk(uint32_t ctx_id, const char *disk_path);
int32_t krun_add_disk(uint32_t ctx_id, const char *block_id, const char *disk_path, bool read_only);
int32_t krun_add_disk2(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only);
int32_t krun_add_disk3(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only, bool direct_io, uint32_t sync_mode);
int32_t krun_set_mapped_volumes(uint32_t ctx_id, const char *const mapped_volumes[]);
int32_t krun_add_virtiofs(uint32_t ctx_id, const char *c_tag, const char *c_path);
int32_t krun_add_virtiofs2(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size);
int32_t krun_add_virtiofs3(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size, bool read_only);
int32_t krun_add_net_unixstream(uint32_t ctx_id, const char *c_path, int fd,
				uint8_t *const c_mac, uint32_t features, uint32_t flags);
int32_t krun_add_net_unixgram(uint32_t ctx_id, const char *c_path, int fd,
			      uint8_t *const c_mac, uint32_t features, uint32_t flags);
int32_t krun_add_net_tap(uint32_t ctx_id, char *c_tap_name, uint8_t *const c_mac,
			 uint32_t features, uint32_t flags);
int32_t krun_set_passt_fd(uint32_t ctx_id, int fd);
int32_t krun_set_gvproxy_path(uint32_t ctx_id, char *c_path);
int32_t krun_set_net_mac(uint32_t ctx_id, uint8_t *const c_mac);
int32_t krun_set_port_map(uint32_t ctx_id, const char *const port_map[]);
int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags);
int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size);
int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height);
int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
			      size_t blob_size);
int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi);
int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
				       uint16_t height_mm);
int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id,
				      uint32_t refresh_rate);
int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend,
				 size_t backend_size);
int krun_add_input_device(uint32_t ctx_id, const void *config_backend, size_t config_backend_size,
			  const void *events_backend, size_t events_backend_size);
int krun_add_input_device_fd(uint32_t ctx_id, int input_fd);
int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type,
				   const char *socket_path, const char *name,
				   uint16_t num_queues, const uint16_t *queue_sizes);
int32_t krun_set_rlimits(uint32_t ctx_id, const char *const rlimits[]);
int32_t krun_set_smbios_oem_strings(uint32_t ctx_id, const char *const oem_strings[]);
int32_t krun_set_workdir(uint32_t ctx_id, const char *workdir_path);
int32_t krun_set_exec(uint32_t ctx_id, const char *exec_path, const char *const argv[],
		      const char *const envp[]);
int32_t krun_set_firmware(uint32_t ctx_id, const char *firmware_path);
int32_t krun_set_kernel(uint32_t ctx_id, const char *kernel_path, uint32_t kernel_format,
			const char *initramfs, const char *cmdline);
int32_t krun_set_env(uint32_t ctx_id, const char *const envp[]);
int32_t krun_set_tee_config_file(uint32_t ctx_id, const char *filepath);
int32_t krun_add_vsock_port(uint32_t ctx_id, uint32_t port, const char *c_filepath);
int32_t krun_add_vsock_port2(uint32_t ctx_id, uint32_t port, const char *c_filepath,
			     bool listen);
int32_t krun_add_vsock(uint32_t ctx_id, uint32_t tsi_features);
int32_t krun_get_shutdown_eventfd(uint32_t ctx_id);
int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath);
int32_t krun_setuid(uint32_t ctx_id, uid_t uid);
int32_t krun_setgid(uint32_t ctx_id, gid_t gid);
int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled);
int32_t krun_check_nested_virt(void);
int32_t krun_has_feature(uint64_t feature);
int32_t krun_get_max_vcpus(void);
int32_t krun_split_irqchip(uint32_t ctx_id, bool enable);
int32_t krun_disable_implicit_console(uint32_t ctx_id);
int32_t krun_disable_implicit_init(uint32_t ctx_id);
int32_t krun_get_default_init(const uint8_t **data_out, size_t *len_out);
int32_t krun_fs_add_overlay_file(uint32_t ctx_id, const char *fs_tag, const char *path,
				 const uint8_t *data, size_t data_len, uint32_t mode,
				 bool one_shot);
int32_t krun_fs_add_overlay_dir(uint32_t ctx_id, const char *fs_tag, const char *path,
				uint32_t mode);
int32_t krun_disable_implicit_vsock(uint32_t ctx_id);
int32_t krun_set_kernel_console(uint32_t ctx_id, const char *console_id);
int32_t krun_add_virtio_console_default(uint32_t ctx_id, int input_fd, int output_fd,
					int err_fd);
int32_t krun_add_serial_console_default(uint32_t ctx_id, int input_fd, int output_fd);
int32_t krun_add_virtio_console_multiport(uint32_t ctx_id);
int32_t krun_add_console_port_tty(uint32_t ctx_id, uint32_t console_id, const char *name,
				  int tty_fd);
int32_t krun_add_console_port_inout(uint32_t ctx_id, uint32_t console_id, const char *name,
				    int input_fd, int output_fd);
int32_t krun_set_root_disk_remount(uint32_t ctx_id, const char *device, const char *fstype,
				   const char *options);
int32_t krun_start_enter(uint32_t ctx_id);

/* ---- libkrun's constants ---- */
#define VALUE(name, value) _Static_assert((name) == (value), #name " is " #value " in libkrun")
VALUE(KRUN_LOG_TARGET_DEFAULT, -1);
VALUE(KRUN_LOG_LEVEL_OFF, 0);
VALUE(KRUN_LOG_LEVEL_ERROR, 1);
VALUE(KRUN_LOG_LEVEL_WARN, 2);
VALUE(KRUN_LOG_LEVEL_INFO, 3);
VALUE(KRUN_LOG_LEVEL_DEBUG, 4);
VALUE(KRUN_LOG_LEVEL_TRACE, 5);
VALUE(KRUN_LOG_STYLE_AUTO, 0);
VALUE(KRUN_LOG_STYLE_ALWAYS, 1);
VALUE(KRUN_LOG_STYLE_NEVER, 2);
VALUE(KRUN_LOG_OPTION_NO_ENV, 1);
VALUE(KRUN_DISK_FORMAT_RAW, 0);
VALUE(KRUN_DISK_FORMAT_QCOW2, 1);
VALUE(KRUN_DISK_FORMAT_VMDK, 2);
VALUE(KRUN_SYNC_NONE, 0);
VALUE(KRUN_SYNC_RELAXED, 1);
VALUE(KRUN_SYNC_FULL, 2);
VALUE(NET_FLAG_VFKIT, 1);
VALUE(NET_FLAG_DHCP_CLIENT, 2);
VALUE(KRUN_TSI_HIJACK_INET, 1);
VALUE(KRUN_TSI_HIJACK_UNIX, 2);
VALUE(NET_FEATURE_CSUM, 1 << 0);
VALUE(NET_FEATURE_GUEST_CSUM, 1 << 1);
VALUE(NET_FEATURE_GUEST_TSO4, 1 << 7);
VALUE(NET_FEATURE_GUEST_TSO6, 1 << 8);
VALUE(NET_FEATURE_GUEST_UFO, 1 << 10);
VALUE(NET_FEATURE_HOST_TSO4, 1 << 11);
VALUE(NET_FEATURE_HOST_TSO6, 1 << 12);
VALUE(NET_FEATURE_HOST_UFO, 1 << 14);
VALUE(COMPAT_NET_FEATURES, 0x4c83);
VALUE(VIRGLRENDERER_USE_EGL, 1 << 0);
VALUE(VIRGLRENDERER_THREAD_SYNC, 1 << 1);
VALUE(VIRGLRENDERER_USE_GLX, 1 << 2);
VALUE(VIRGLRENDERER_USE_SURFACELESS, 1 << 3);
VALUE(VIRGLRENDERER_USE_GLES, 1 << 4);
VALUE(VIRGLRENDERER_USE_EXTERNAL_BLOB, 1 << 5);
VALUE(VIRGLRENDERER_VENUS, 1 << 6);
VALUE(VIRGLRENDERER_NO_VIRGL, 1 << 7);
VALUE(VIRGLRENDERER_USE_ASYNC_FENCE_CB, 1 << 8);
VALUE(VIRGLRENDERER_RENDER_SERVER, 1 << 9);
VALUE(VIRGLRENDERER_DRM, 1 << 10);
VALUE(KRUN_MAX_DISPLAYS, 16);
VALUE(KRUN_VIRTIO_DEVICE_CONSOLE, 3);
VALUE(KRUN_VIRTIO_DEVICE_RNG, 4);
VALUE(KRUN_VIRTIO_DEVICE_GPU, 16);
VALUE(KRUN_VIRTIO_DEVICE_RTC, 17);
VALUE(KRUN_VIRTIO_DEVICE_INPUT, 18);
VALUE(KRUN_VIRTIO_DEVICE_VSOCK, 19);
VALUE(KRUN_VIRTIO_DEVICE_SND, 25);
VALUE(KRUN_VIRTIO_DEVICE_CAN, 36);
VALUE(KRUN_VHOST_USER_CONSOLE_NUM_QUEUES, 4);
VALUE(KRUN_VHOST_USER_RNG_NUM_QUEUES, 1);
VALUE(KRUN_VHOST_USER_RTC_NUM_QUEUES, 2);
VALUE(KRUN_VHOST_USER_INPUT_NUM_QUEUES, 2);
VALUE(KRUN_VHOST_USER_SND_NUM_QUEUES, 4);
VALUE(KRUN_VHOST_USER_VSOCK_NUM_QUEUES, 3);
VALUE(KRUN_VHOST_USER_CAN_NUM_QUEUES, 3);
VALUE(KRUN_VHOST_USER_GPU_NUM_QUEUES, 2);
VALUE(KRUN_KERNEL_FORMAT_RAW, 0);
VALUE(KRUN_KERNEL_FORMAT_ELF, 1);
VALUE(KRUN_KERNEL_FORMAT_PE_GZ, 2);
VALUE(KRUN_KERNEL_FORMAT_IMAGE_BZ2, 3);
VALUE(KRUN_KERNEL_FORMAT_IMAGE_GZ, 4);
VALUE(KRUN_KERNEL_FORMAT_IMAGE_ZSTD, 5);
VALUE(KRUN_FEATURE_NET, 0);
VALUE(KRUN_FEATURE_BLK, 1);
VALUE(KRUN_FEATURE_GPU, 2);
VALUE(KRUN_FEATURE_INPUT, 4);
VALUE(KRUN_FEATURE_TEE, 6);
VALUE(KRUN_FEATURE_AMD_SEV, 7);
VALUE(KRUN_FEATURE_INTEL_TDX, 8);
VALUE(KRUN_FEATURE_AWS_NITRO, 9);
VALUE(KRUN_FEATURE_VIRGL_RESOURCE_MAP2, 10);
VALUE(KRUN_FEATURE_INIT_BLOB, 11);

static int failures;

static void expect(const char *call, int32_t got, int32_t want)
{
	if (got != want) {
		fprintf(stderr, "%s: %d, expected %d\n", call, got, want);
		failures++;
	}
}
#define EXPECT(call, want) expect(#call, (call), (want))

/* The queue-size lists are arrays, not constants: compared element-wise. */
static void expect_sizes(const char *name, const uint16_t *got, size_t n, const uint16_t *want)
{
	if (memcmp(got, want, n * sizeof(*got))) {
		fprintf(stderr, "%s differs from libkrun's\n", name);
		failures++;
	}
}
#define SIZES(name, ...) \
	expect_sizes(#name, name, sizeof(name) / sizeof(uint16_t), (const uint16_t[]){ __VA_ARGS__ })

int main(void)
{
	const uint32_t none = 999999; /* a context nobody created */
	uint8_t mac[6] = { 0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee };
	const char *empty[] = { NULL };
	const uint8_t *init_data;
	size_t init_len;

	SIZES(KRUN_VHOST_USER_CONSOLE_QUEUE_SIZES, 128, 128, 64, 64);
	SIZES(KRUN_VHOST_USER_RNG_QUEUE_SIZES, 256);
	SIZES(KRUN_VHOST_USER_RTC_QUEUE_SIZES, 1024, 1024);
	SIZES(KRUN_VHOST_USER_INPUT_QUEUE_SIZES, 1024, 1024);
	SIZES(KRUN_VHOST_USER_SND_QUEUE_SIZES, 64, 64, 64, 64);
	SIZES(KRUN_VHOST_USER_VSOCK_QUEUE_SIZES, 128, 128, 128);
	SIZES(KRUN_VHOST_USER_CAN_QUEUE_SIZES, 64, 64, 64);
	SIZES(KRUN_VHOST_USER_GPU_QUEUE_SIZES, 1024, 1024);

	EXPECT(krun_set_log_level(KRUN_LOG_LEVEL_OFF), 0);
	EXPECT(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_OFF, 7, 0), -EINVAL);

	/* Every call on a context nobody created, with arguments it accepts
	 * where it checks them first. */
	EXPECT(krun_free_ctx(none), -ENOENT);
	EXPECT(krun_set_vm_config(none, 1, 128), -ENOENT);
	EXPECT(krun_set_root(none, "/"), -ENOENT);
	EXPECT(krun_set_root_disk(none, "/dev/null"), -ENOENT);
	EXPECT(krun_set_data_disk(none, "/dev/null"), -ENOENT);
	EXPECT(krun_add_disk(none, "d", "/dev/null", true), -ENOENT);
	EXPECT(krun_add_disk2(none, "d", "/dev/null", KRUN_DISK_FORMAT_RAW, true), -ENOENT);
	EXPECT(krun_add_disk3(none, "d", "/dev/null", KRUN_DISK_FORMAT_RAW, true, false,
			      KRUN_SYNC_FULL),
	       -ENOENT);
	EXPECT(krun_set_mapped_volumes(none, empty), -EINVAL);
	EXPECT(krun_add_virtiofs(none, "t", "/"), -ENOENT);
	EXPECT(krun_add_virtiofs2(none, "t", "/", 0), -ENOENT);
	EXPECT(krun_add_virtiofs3(none, "t", "/", 0, true), -ENOENT);
	/* a socket path is checked at the call, before the context */
	EXPECT(krun_add_net_unixstream(none, "/nonexistent", -1, mac, 0, 0), -EINVAL);
	EXPECT(krun_add_net_unixgram(none, "/nonexistent", -1, mac, 0, 0), -EINVAL);
	EXPECT(krun_add_net_tap(none, (char[]){ "tap0" }, mac, 0, 0), -ENOENT);
	EXPECT(krun_set_passt_fd(none, -1), -EINVAL);
	EXPECT(krun_set_gvproxy_path(none, (char[]){ "/nonexistent" }), -EINVAL);
	EXPECT(krun_set_net_mac(none, mac), -ENOENT);
	EXPECT(krun_set_port_map(none, empty), -ENOENT);
	EXPECT(krun_set_gpu_options(none, VIRGLRENDERER_USE_EGL), -ENOENT);
	EXPECT(krun_set_gpu_options2(none, VIRGLRENDERER_USE_EGL, 1 << 20), -ENOENT);
	EXPECT(krun_add_display(none, 640, 480), -ENOTSUP);
	EXPECT(krun_display_set_edid(none, 0, mac, sizeof(mac)), -ENOTSUP);
	EXPECT(krun_display_set_dpi(none, 0, 96), -ENOTSUP);
	EXPECT(krun_display_set_physical_size(none, 0, 300, 200), -ENOTSUP);
	EXPECT(krun_display_set_refresh_rate(none, 0, 60), -ENOTSUP);
	EXPECT(krun_set_display_backend(none, mac, sizeof(mac)), -ENOTSUP);
	EXPECT(krun_add_input_device(none, mac, sizeof(mac), mac, sizeof(mac)), -ENOTSUP);
	EXPECT(krun_add_input_device_fd(none, 0), -ENOTSUP);
	EXPECT(krun_add_vhost_user_device(none, KRUN_VIRTIO_DEVICE_RNG, "/nonexistent", NULL,
					  KRUN_VHOST_USER_RNG_NUM_QUEUES,
					  KRUN_VHOST_USER_RNG_QUEUE_SIZES),
	       -ENOTSUP);
	EXPECT(krun_set_rlimits(none, NULL), -EINVAL);
	EXPECT(krun_set_smbios_oem_strings(none, NULL), -EINVAL);
	EXPECT(krun_set_workdir(none, "/"), -ENOENT);
	EXPECT(krun_set_exec(none, "/bin/true", empty, empty), -ENOENT);
	EXPECT(krun_set_firmware(none, NULL), -EINVAL);
	EXPECT(krun_set_kernel(none, "/nonexistent", 99, NULL, NULL), -EINVAL);
	EXPECT(krun_set_env(none, empty), -ENOENT);
	EXPECT(krun_set_tee_config_file(none, NULL), -EINVAL);
	EXPECT(krun_add_vsock_port(none, 1234, "/nonexistent"), -ENOENT);
	EXPECT(krun_add_vsock_port2(none, 1234, "/nonexistent", false), -ENOENT);
	EXPECT(krun_add_vsock(none, 1u << 5), -EINVAL);
	EXPECT(krun_get_shutdown_eventfd(none), -ENOENT);
	EXPECT(krun_set_console_output(none, "/dev/null"), -ENOENT);
	EXPECT(krun_setuid(none, 0), -ENOENT);
	EXPECT(krun_setgid(none, 0), -ENOENT);
	EXPECT(krun_set_nested_virt(none, true), -ENOENT);
	int32_t nested = krun_check_nested_virt();
	EXPECT(nested == 0 || nested == 1, 1);
	EXPECT(krun_has_feature(1000), -EINVAL);
	EXPECT(krun_has_feature(KRUN_FEATURE_GPU), 0);
	int32_t max_vcpus = krun_get_max_vcpus();
	EXPECT(max_vcpus > 0 || max_vcpus == -EINVAL, 1);
	EXPECT(krun_split_irqchip(none, true), -ENOENT);
	EXPECT(krun_disable_implicit_console(none), -ENOENT);
	EXPECT(krun_disable_implicit_init(none), -ENOENT);
	EXPECT(krun_get_default_init(NULL, &init_len), -EINVAL);
	EXPECT(krun_get_default_init(&init_data, NULL), -EINVAL);
	EXPECT(krun_fs_add_overlay_file(none, KRUN_FS_ROOT_TAG, NULL, mac, sizeof(mac), 0100644,
					false),
	       -EINVAL);
	EXPECT(krun_fs_add_overlay_dir(none, NULL, "dir", 040755), -EINVAL);
	EXPECT(krun_disable_implicit_vsock(none), -ENOENT);
	EXPECT(krun_set_kernel_console(none, NULL), -EINVAL);
	EXPECT(krun_add_virtio_console_default(none, -1, -1, -1), -ENOENT);
	EXPECT(krun_add_serial_console_default(none, -2, -1), -EINVAL);
	EXPECT(krun_add_virtio_console_multiport(none), -ENOENT);
	EXPECT(krun_add_console_port_tty(none, 0, "tty", -1), -EINVAL);
	EXPECT(krun_add_console_port_inout(none, 0, "io", -1, -1), -ENOENT);
	EXPECT(krun_set_root_disk_remount(none, NULL, NULL, NULL), -EINVAL);
	EXPECT(krun_start_enter(none), -ENOENT);

	/* On a real context: what this library lacks is refused, not
	 * recorded; what it can do is done. */
	int32_t ctx = krun_create_ctx();
	EXPECT(ctx >= 0, 1);
	EXPECT(krun_set_gpu_options(ctx, VIRGLRENDERER_USE_EGL | VIRGLRENDERER_VENUS), 0);
	EXPECT(krun_set_smbios_oem_strings(ctx, empty), -ENOTSUP);
	EXPECT(krun_fs_add_overlay_dir(ctx, KRUN_FS_ROOT_TAG, "dir", 040755), -ENOTSUP);
	EXPECT(krun_set_firmware(ctx, "/nonexistent"), -ENOTSUP);
	EXPECT(krun_set_tee_config_file(ctx, "/nonexistent"), -ENOTSUP);
	EXPECT(krun_add_serial_console_default(ctx, -1, -1), -ENOTSUP);
	EXPECT(krun_add_virtio_console_multiport(ctx), -ENOTSUP);
	EXPECT(krun_add_console_port_tty(ctx, 0, "tty", STDIN_FILENO),
	       isatty(STDIN_FILENO) ? -ENOTSUP : -ENOTTY);
	EXPECT(krun_set_kernel_console(ctx, "ttyS0"), 0);
	EXPECT(krun_set_kernel_console(ctx, "hvc0 quiet"), -EINVAL);
	int32_t efd = krun_get_shutdown_eventfd(ctx);
	EXPECT(efd >= 0, 1);
	EXPECT(krun_get_shutdown_eventfd(ctx), efd);
	EXPECT(krun_free_ctx(ctx), 0);

	if (failures)
		fprintf(stderr, "%d calls answered otherwise than libkrun's interface says\n",
			failures);
	return failures != 0;
}
