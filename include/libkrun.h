/* libkrun: run a workload in a KVM microVM from C.
 *
 * Usage: create a context, record settings in it with the krun_set_* and
 * krun_add_* calls, then hand it to krun_start_enter(). Every call returns
 * int32_t: zero (or an id, a count, a flag) on success, a negative errno value
 * on failure. A context id nobody created, or one already freed or started,
 * gives -ENOENT; an argument the call cannot accept gives -EINVAL. Strings and
 * arrays are copied, so the caller may release its own as soon as a call
 * returns. String arrays end with a NULL pointer and hold at most 4096
 * entries.
 *
 * This header is ABI compatible with libkrun 1.18 for the functions it
 * declares: same names, types and constant values. */
#ifndef _LIBKRUN_H
#define _LIBKRUN_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h> /* uid_t, gid_t even in strict ISO C modes */
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Logging ------------------------------------------------------------ */

/* Verbosity, from silent to everything. */
#define KRUN_LOG_LEVEL_OFF 0
#define KRUN_LOG_LEVEL_ERROR 1
#define KRUN_LOG_LEVEL_WARN 2
#define KRUN_LOG_LEVEL_INFO 3
#define KRUN_LOG_LEVEL_DEBUG 4
#define KRUN_LOG_LEVEL_TRACE 5

/* krun_init_log() target meaning "standard error". */
#define KRUN_LOG_TARGET_DEFAULT -1

/* Colour escapes: when the target is a terminal, always, or never. */
#define KRUN_LOG_STYLE_AUTO 0
#define KRUN_LOG_STYLE_ALWAYS 1
#define KRUN_LOG_STYLE_NEVER 2

/* krun_init_log() option: ignore RUST_LOG and RUST_LOG_STYLE. */
#define KRUN_LOG_OPTION_NO_ENV 1

/* Set the library's log level (KRUN_LOG_LEVEL_*; larger values mean TRACE).
 * A RUST_LOG variable holding a level name takes precedence. Always 0. */
int32_t krun_set_log_level(uint32_t level);

/* Choose where and how the library logs.
 *   target_fd: a writable descriptor, or KRUN_LOG_TARGET_DEFAULT for stderr.
 *              0 (stdin) is refused. A regular file on a slow disk slows the VM.
 *   level:     KRUN_LOG_LEVEL_*.
 *   style:     KRUN_LOG_STYLE_*.
 *   options:   0, or KRUN_LOG_OPTION_NO_ENV.
 * Returns 0, -EINVAL for a value outside those sets, -EBADF for a closed fd. */
int32_t krun_init_log(int target_fd, uint32_t level, uint32_t style, uint32_t options);

/* ---- Contexts and the machine ------------------------------------------- */

/* Make an empty configuration (1 vCPU, 128 MiB). Returns its id, counting up
 * from 0 and never reused within a process, or a negative errno. */
int32_t krun_create_ctx(void);

/* Discard a configuration that will not be started. */
int32_t krun_free_ctx(uint32_t ctx_id);

/* Set the vCPU count (1 to krun_get_max_vcpus()) and the guest RAM in MiB. */
int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib);

/* The largest vCPU count krun_set_vm_config() accepts on this host, or a
 * negative errno if /dev/kvm cannot be asked. */
int32_t krun_get_max_vcpus(void);

/* Keep only the local APICs in the kernel and model the IOAPIC and PIC in
 * the VMM (x86_64). */
int32_t krun_split_irqchip(uint32_t ctx_id, bool enable);

/* Feature ids for krun_has_feature(). */
#define KRUN_FEATURE_NET 0
#define KRUN_FEATURE_BLK 1
#define KRUN_FEATURE_GPU 2
#define KRUN_FEATURE_INPUT 4
#define KRUN_FEATURE_TEE 6
#define KRUN_FEATURE_AMD_SEV 7
#define KRUN_FEATURE_INTEL_TDX 8
#define KRUN_FEATURE_AWS_NITRO 9
#define KRUN_FEATURE_VIRGL_RESOURCE_MAP2 10
#define KRUN_FEATURE_INIT_BLOB 11

/* 1 if this build of the library has the feature, 0 if not, -EINVAL for an
 * id this library does not know (a newer header's, for example). */
int32_t krun_has_feature(uint64_t feature);

/* Ask for virtualization extensions inside the guest. Success only records
 * the wish; whether the host allows it shows when the VM starts. */
int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled);

/* 1 if the host's KVM lets guests run their own VMs, 0 if not. */
int32_t krun_check_nested_virt(void);

/* ---- The workload ------------------------------------------------------- */

/* The program the guest's init runs, its arguments (without argv[0]; NULL
 * for none) and its environment ("NAME=value" strings; NULL copies this
 * process's environment as it is now). Paths are inside the guest. */
int32_t krun_set_exec(uint32_t ctx_id, const char *exec_path, const char *const argv[],
		      const char *const envp[]);

/* Replace the workload's environment; NULL copies this process's one. */
int32_t krun_set_env(uint32_t ctx_id, const char *const envp[]);

/* The directory, inside the guest, the workload starts in. */
int32_t krun_set_workdir(uint32_t ctx_id, const char *workdir_path);

/* Resource limits the guest's init sets before running the workload, one
 * "RESOURCE=CUR:MAX" string each: RESOURCE is Linux's RLIMIT_* number, CUR
 * and MAX decimal (18446744073709551615 for unlimited), CUR <= MAX. */
int32_t krun_set_rlimits(uint32_t ctx_id, const char *const rlimits[]);

/* Switch this process to the given user or group just before the VM starts,
 * after the VMM has opened what needs privileges. */
int32_t krun_setuid(uint32_t ctx_id, uid_t uid);
int32_t krun_setgid(uint32_t ctx_id, gid_t gid);

/* ---- The guest kernel --------------------------------------------------- */

/* Kernel image formats. x86_64 boots RAW (a flat image at 0x80000000) and
 * ELF (a vmlinux, through PVH); the others are arm64 formats. */
#define KRUN_KERNEL_FORMAT_RAW 0
#define KRUN_KERNEL_FORMAT_ELF 1
#define KRUN_KERNEL_FORMAT_PE_GZ 2
#define KRUN_KERNEL_FORMAT_IMAGE_BZ2 3
#define KRUN_KERNEL_FORMAT_IMAGE_GZ 4
#define KRUN_KERNEL_FORMAT_IMAGE_ZSTD 5

/* Boot this kernel file (a host path) instead of the one libkrunfw bundles.
 * initramfs (a host path) and cmdline may be NULL; a cmdline given replaces
 * the library's own kernel command line. */
int32_t krun_set_kernel(uint32_t ctx_id, const char *kernel_path, uint32_t kernel_format,
			const char *initramfs, const char *cmdline);

/* ---- Shared directories (virtio-fs) ------------------------------------- */

/* The tag of the share the guest mounts as its root. */
#define KRUN_FS_ROOT_TAG "/dev/root"

/* Make the host directory root_path the guest's root filesystem: a share
 * tagged KRUN_FS_ROOT_TAG, writable, with libkrun's 512 MiB DAX window, and
 * our init served in it as /init.krun (nothing is written to the directory).
 * The guest cannot reach host files outside it. */
int32_t krun_set_root(uint32_t ctx_id, const char *root_path);

/* Share the host directory c_path with the guest under the mount tag c_tag
 * (at most 36 bytes), without a DAX window. */
int32_t krun_add_virtiofs(uint32_t ctx_id, const char *c_tag, const char *c_path);

/* The same, asking for a DAX window of shm_size bytes (whole pages). */
int32_t krun_add_virtiofs2(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size);

/* The same, and read_only refuses every change the guest tries with EROFS. */
int32_t krun_add_virtiofs3(uint32_t ctx_id, const char *c_tag, const char *c_path,
			   uint64_t shm_size, bool read_only);

/* ---- Disks (virtio-blk) -------------------------------------------------- */

/* Disk image formats. VMDK is refused: krun_start_enter fails with
 * -EOPNOTSUPP (convert it with `qemu-img convert -O qcow2`). */
#define KRUN_DISK_FORMAT_RAW 0
#define KRUN_DISK_FORMAT_QCOW2 1
#define KRUN_DISK_FORMAT_VMDK 2

/* What the guest's flush does on the host. NONE: nothing (a host crash
 * may lose what the guest thought safe); RELAXED: the recommended mode,
 * the same as FULL on Linux; FULL: fdatasync. */
#define KRUN_SYNC_NONE 0
#define KRUN_SYNC_RELAXED 1
#define KRUN_SYNC_FULL 2

/* Add the raw image disk_path as the next disk (/dev/vda, vdb, ... in the
 * order added, at most 16), its serial block_id (1 to 20 bytes, unique:
 * -EEXIST; /sys/block/vdX/serial in the guest). read_only: the guest's
 * writes fail with an I/O error, and the image is opened read-only. The
 * image is opened and locked by krun_start_enter (as QEMU locks its images:
 * -EBUSY when another VM or QEMU writes it, or reads it and we would
 * write). A raw image is never probed for a format. */
int32_t krun_add_disk(uint32_t ctx_id, const char *block_id, const char *disk_path,
		      bool read_only);

/* The same in disk_format (KRUN_DISK_FORMAT_*). Non-raw images may name
 * other files (a qcow2 backing file), which the VM then reads: open only
 * images from a trusted source, and never probe the format of an image a
 * guest could write. */
int32_t krun_add_disk2(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only);

/* The same, with direct_io (O_DIRECT: the host's page cache bypassed) and
 * sync_mode (KRUN_SYNC_*; krun_add_disk and krun_add_disk2 take FULL). */
int32_t krun_add_disk3(uint32_t ctx_id, const char *block_id, const char *disk_path,
		       uint32_t disk_format, bool read_only, bool direct_io, uint32_t sync_mode);

/* DEPRECATED (libkrun's too): krun_add_disk with the block id "root" (the
 * first disk), writable. The guest's root stays the share unless
 * krun_set_root_disk_remount says otherwise. Not to be mixed with
 * krun_add_disk*. */
int32_t krun_set_root_disk(uint32_t ctx_id, const char *disk_path);

/* DEPRECATED: the same with the block id "data", after the "root" one. */
int32_t krun_set_data_disk(uint32_t ctx_id, const char *disk_path);

/* Boot into a root filesystem on a disk: the init mounts device (a guest
 * path, "/dev/vda") as fstype (NULL or "auto": ext4, then the others the
 * kernel knows) with options (NULL: none; a mount(8)-style list such as
 * "ro,noatime"), moves it over / and runs the workload there. The VM still
 * needs a root share for the init itself (krun_set_root). */
int32_t krun_set_root_disk_remount(uint32_t ctx_id, const char *device, const char *fstype,
				   const char *options);

/* Serve no /init.krun in the root share: the root brings its own init. */
int32_t krun_disable_implicit_init(uint32_t ctx_id);

/* The init program the library serves as /init.krun: its bytes, valid for
 * the life of the process, and their length. -EINVAL for NULL pointers,
 * -ENOTSUP when the library was built without it. */
int32_t krun_get_default_init(const uint8_t **data_out, size_t *len_out);

/* ---- Consoles ----------------------------------------------------------- */

/* Send the implicit console's output to this host file, and give it no
 * input. Once per context. Ignored when the implicit console is disabled. */
int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath);

/* Create no console on the caller's behalf; only those added explicitly. */
int32_t krun_disable_implicit_console(uint32_t ctx_id);

/* Add a virtio console wired to these descriptors (-1: none). Terminals share
 * one console port; each other descriptor gets its own port, named
 * krun-stdin, krun-stdout or krun-stderr, which the guest's init connects to
 * the workload's standard streams. */
int32_t krun_add_virtio_console_default(uint32_t ctx_id, int input_fd, int output_fd,
					int err_fd);

/* ---- Network interfaces (virtio-net) ------------------------------------ */

/* flags: NET_FLAG_VFKIT sends the 4 bytes "VFKT" once connected, as gvproxy
 * in vfkit mode expects (krun_add_net_unixgram with a path only);
 * NET_FLAG_DHCP_CLIENT has the guest's init configure this interface by
 * DHCP (libkrun's init only ever configures eth0). */
#define NET_FLAG_VFKIT (1 << 0)
#define NET_FLAG_DHCP_CLIENT (1 << 1)

/* features: the virtio-net offloads to offer the guest, each the bit of the
 * same name in linux/virtio_net.h. CSUM and HOST_* let the guest send
 * frames with a checksum left to fill or to be segmented; GUEST_* let it
 * receive them. */
#define NET_FEATURE_CSUM (1 << 0)
#define NET_FEATURE_GUEST_CSUM (1 << 1)
#define NET_FEATURE_GUEST_TSO4 (1 << 7)
#define NET_FEATURE_GUEST_TSO6 (1 << 8)
#define NET_FEATURE_GUEST_UFO (1 << 10)
#define NET_FEATURE_HOST_TSO4 (1 << 11)
#define NET_FEATURE_HOST_TSO6 (1 << 12)
#define NET_FEATURE_HOST_UFO (1 << 14)

/* What the deprecated krun_set_passt_fd and krun_set_gvproxy_path offer. */
#define COMPAT_NET_FEATURES (NET_FEATURE_CSUM | NET_FEATURE_GUEST_CSUM | \
			     NET_FEATURE_GUEST_TSO4 | NET_FEATURE_GUEST_UFO | \
			     NET_FEATURE_HOST_TSO4 | NET_FEATURE_HOST_UFO)

/* Add a network interface whose Ethernet frames travel over a stream
 * socket, each after its length as 4 big-endian bytes (passt,
 * socket_vmnet): connect to the listening socket at c_path, or use the
 * connected socket fd; exactly one of them (the other NULL or -1). c_mac:
 * the interface's 6-byte unicast MAC address. Interfaces appear in the
 * guest as eth0, eth1, ... in the order added, up to 8. flags:
 * NET_FLAG_DHCP_CLIENT only. */
int32_t krun_add_net_unixstream(uint32_t ctx_id, const char *c_path, int fd,
				uint8_t *const c_mac, uint32_t features, uint32_t flags);

/* The same over a datagram socket, one frame per datagram (gvproxy,
 * vmnet-helper). With c_path the library binds a socket of its own beside
 * it (krun-net-PID-N.sock), connects it there and enlarges its buffers.
 * flags: NET_FLAG_VFKIT and NET_FLAG_DHCP_CLIENT. */
int32_t krun_add_net_unixgram(uint32_t ctx_id, const char *c_path, int fd,
			      uint8_t *const c_mac, uint32_t features, uint32_t flags);

/* The same on the host's tap interface c_tap_name (made if missing, which
 * takes CAP_NET_ADMIN), with virtio-net headers on its frames so the
 * offloads the guest takes reach the host's stack. The guest-side offloads
 * (GUEST_TSO4, GUEST_TSO6, GUEST_UFO) need NET_FEATURE_GUEST_CSUM. flags:
 * NET_FLAG_DHCP_CLIENT only. */
int32_t krun_add_net_tap(uint32_t ctx_id, char *c_tap_name, uint8_t *const c_mac,
			 uint32_t features, uint32_t flags);

/* DEPRECATED: krun_add_net_unixstream. The one interface, over the
 * connected stream socket fd, with COMPAT_NET_FEATURES and the MAC of
 * krun_set_net_mac (5a:94:ef:e4:0c:ee unless set). Not with krun_add_net_*. */
int32_t krun_set_passt_fd(uint32_t ctx_id, int fd);

/* DEPRECATED: krun_add_net_unixgram. The one interface, to gvproxy's vfkit
 * datagram socket at c_path (with NET_FLAG_VFKIT), as krun_set_passt_fd
 * otherwise. */
int32_t krun_set_gvproxy_path(uint32_t ctx_id, char *c_path);

/* The MAC address of the deprecated calls' interface (6 bytes). */
int32_t krun_set_net_mac(uint32_t ctx_id, uint8_t *const c_mac);

/* Published ports: each entry "[IP:]HOST_PORT:GUEST_PORT[/udp]" (libkrun's
 * "HOST_PORT:GUEST_PORT", plus podman's address and protocol), a host
 * socket on IP (127.0.0.1 unless given; IPv4) and HOST_PORT whose
 * connections or datagrams reach the guest's GUEST_PORT, TCP unless /udp.
 * Ports 1 to 65535, at most 64 entries, no HOST_PORT twice for a protocol
 * and address; a later call replaces the map, an empty array clears it.
 * The user-mode interface (krun_add_net_user) publishes them when the VM
 * has one; otherwise TSI does, when it serves the guest's inet sockets
 * (KRUN_TSI_HIJACK_INET, implicit with no network interface): each host
 * port is bound when the VM starts; a TCP one listens while the guest
 * listens on GUEST_PORT, a UDP one is the host side of the guest's UDP
 * socket bound to GUEST_PORT. Two documented differences from libkrun: only mapped ports
 * are ever exposed (libkrun's TSI exposes every guest listener, on the
 * guest's own port when unmapped or with a NULL map; here NULL, as an
 * empty array, publishes nothing, and an unmapped guest listener stays the
 * guest's own), and no host socket is made with SO_REUSEPORT, so two VMs
 * never share a host port: a port already taken fails krun_start_enter
 * with -EADDRINUSE. A map with neither publishes nothing, and
 * krun_start_enter logs a warning saying so. */
int32_t krun_set_port_map(uint32_t ctx_id, const char *const port_map[]);

/* ---- vsock ---------------------------------------------------------------- */

/* TSI's features for krun_add_vsock (Transparent Socket Impersonation: the
 * guest kernel hands the VMM its sockets, which become the VMM's own on the
 * host). HIJACK_INET: the guest's AF_INET and AF_INET6 sockets, whatever
 * they reach that nothing in the guest answers goes to the host's network,
 * 127.0.0.1 being the host's loopback, as in libkrun. HIJACK_UNIX: the
 * guest's AF_UNIX stream connects to a path the guest lacks; unlike
 * libkrun, the path is resolved beneath the root share (krun_set_root),
 * never elsewhere on the host: ".." or a symlink out of it is refused
 * (EACCES in the guest), as virtio-fs confines the guest's files. */
#define KRUN_TSI_HIJACK_INET (1 << 0)
#define KRUN_TSI_HIJACK_UNIX (1 << 1)

/* Map the guest's vsock port to the host unix socket at c_filepath: a guest
 * connection to CID 2 (the host) at port makes the VMM connect to the
 * socket, and the two streams are joined. The guest is CID 3. While
 * krun_add_vsock turned TSI on, port 0x54534901 is TSI's: -EINVAL. */
int32_t krun_add_vsock_port(uint32_t ctx_id, uint32_t port, const char *c_filepath);

/* As krun_add_vsock_port; with listen, the other way: the VMM listens on
 * c_filepath (which must not exist yet: -EEXIST; the VMM removes it when
 * the VM ends) and each host connection to it reaches the guest's listener
 * on port, or is closed when the guest refuses it. A port given again
 * takes the new path and mode. At most 64 ports; paths 1 to 107 bytes. */
int32_t krun_add_vsock_port2(uint32_t ctx_id, uint32_t port, const char *c_filepath,
			     bool listen);

/* Add the vsock device with these TSI features (0: none; other bits than
 * KRUN_TSI_HIJACK_INET and KRUN_TSI_HIJACK_UNIX, -EINVAL), after
 * krun_disable_implicit_vsock and once: -EEXIST otherwise, as libkrun.
 * With features, the VMM serves TSI at vsock port 0x54534901 (-EINVAL if
 * krun_add_vsock_port mapped it) and the guest kernel gets tsi.hijack=inet,
 * unix or inet,unix, a kernel parameter (never in the workload's argv);
 * the guest's sockets go to the host only with a guest kernel that has
 * TSI, as the bundled one does (TCP streams so far; UDP and listeners are
 * still the guest's own). */
int32_t krun_add_vsock(uint32_t ctx_id, uint32_t tsi_features);

/* Make no vsock device unless krun_add_vsock asks for one. Without this
 * call, as in libkrun, a VM has an implicit vsock device when ports are
 * mapped or no network interface is added, and with no network interface
 * it carries TSI for the guest's inet sockets (KRUN_TSI_HIJACK_INET), so
 * port 0x54534901 cannot be mapped then (krun_start_enter: -EINVAL). */
int32_t krun_disable_implicit_vsock(uint32_t ctx_id);

/* ==== Extension of this library, not in libkrun ==========================
 * Add the user-mode interface: the VMM itself is the guest's router
 * (libslirp, no helper process, no privileges). The guest's network is
 * 10.0.2.0/24: its address 10.0.2.15 (by DHCP, or set statically), the
 * gateway 10.0.2.2, which also leads to the host's own 127.0.0.1, DNS
 * forwarded to the host's resolvers at 10.0.2.3. The guest's TCP and UDP
 * become sockets of the VMM's process, at most 1024 at once (fewer when
 * RLIMIT_NOFILE leaves less): past that, the guest's new connections get no
 * answer until some close. IPv4 only. Published ports: krun_set_port_map.
 * c_mac: as krun_add_net_unixstream's. features must be 0: the stack
 * checks and computes every checksum itself and takes no segmented frame.
 * flags: NET_FLAG_DHCP_CLIENT only. One such interface per VM, among the
 * 8; -EINVAL (logged) for any bad argument. */
int32_t krun_add_net_user(uint32_t ctx_id, uint8_t *const c_mac, uint32_t features,
			  uint32_t flags);

/* ---- More consoles -------------------------------------------------------- */

/* console= on the guest kernel's command line: the console the kernel
 * writes to and the init's /dev/console (e.g. "hvc0", "ttyS0"). One word
 * of 1 to 63 bytes without spaces or quotes; a later call replaces it. */
int32_t krun_set_kernel_console(uint32_t ctx_id, const char *console_id);

/* libkrun's legacy 16550 serial console over input_fd and output_fd.
 * NOT YET: this library has no UART; -ENOTSUP (logged) after the checks
 * (-EINVAL for an fd below -1). */
int32_t krun_add_serial_console_default(uint32_t ctx_id, int input_fd, int output_fd);

/* A virtio console whose ports the caller adds one by one; returns its id
 * for the two calls below. NOT YET: -ENOTSUP (logged). */
int32_t krun_add_virtio_console_multiport(uint32_t ctx_id);

/* A port of such a console on the terminal tty_fd, the guest's console
 * port, named name ("" allowed). NOT YET: -ENOTSUP after the checks
 * (-EINVAL for a negative fd, -ENOTTY for one that is not a terminal). */
int32_t krun_add_console_port_tty(uint32_t ctx_id, uint32_t console_id, const char *name,
				  int tty_fd);

/* A plain port of such a console: the guest reads input_fd and writes
 * output_fd. NOT YET: -ENOTSUP (logged). */
int32_t krun_add_console_port_inout(uint32_t ctx_id, uint32_t console_id, const char *name,
				    int input_fd, int output_fd);

/* ---- Orderly shutdown ---------------------------------------------------- */

/* An eventfd, made by the first call (later calls return the same one),
 * that asks the guest to shut down: write a non-zero count to it (8 bytes,
 * as eventfd(2) says), from any thread, before or after krun_start_enter
 * (a request made before the guest is up waits for it). The guest's init sends
 * SIGTERM to the workload, SIGKILL if it is still there 10 s later, and
 * powers off; the process then exits with the workload's status (143 for
 * a workload SIGTERM ended), as for any other end of the VM. The library
 * owns the descriptor: do not close it. Call before krun_start_enter;
 * the init of a workload that replaces it (KRUN_INIT_PID1) cannot. */
int32_t krun_get_shutdown_eventfd(uint32_t ctx_id);

/* ---- Firmware data and virtual files --------------------------------------- */

/* SMBIOS type 11 (OEM strings) for the guest; a NULL-terminated array.
 * NOT YET: this library builds no SMBIOS tables; -ENOTSUP (logged) after
 * the checks (-EINVAL for NULL). */
int32_t krun_set_smbios_oem_strings(uint32_t ctx_id, const char *const oem_strings[]);

/* A file served from the caller's memory (not copied: it must stay valid
 * while the VM runs) at path inside the share tagged fs_tag; one_shot: it
 * can be looked up once. NOT YET: -ENOTSUP (logged) after the checks
 * (-EINVAL for NULL tag or path, or NULL data with a length). */
int32_t krun_fs_add_overlay_file(uint32_t ctx_id, const char *fs_tag, const char *path,
				 const uint8_t *data, size_t data_len, uint32_t mode,
				 bool one_shot);

/* An empty read-only directory at path inside the share tagged fs_tag.
 * NOT YET: -ENOTSUP (logged) after the checks (-EINVAL for NULL). */
int32_t krun_fs_add_overlay_dir(uint32_t ctx_id, const char *fs_tag, const char *path,
				uint32_t mode);

/* DEPRECATED, and refused by libkrun too: -EINVAL, always. Share the
 * directories with krun_add_virtiofs instead. */
int32_t krun_set_mapped_volumes(uint32_t ctx_id, const char *const mapped_volumes[]);

/* ---- Features this library does not have ----------------------------------
 * Declared for clients built against libkrun; krun_has_feature says 0 for
 * them. The display, input and vhost-user calls answer -ENOTSUP whatever
 * their arguments, as libkrun built without those features; the others
 * first check what libkrun checks (-EINVAL, then -ENOENT for an unknown
 * context). Each refusal logs a line naming the call and what is missing. */

/* virglrenderer's flags, for krun_set_gpu_options. */
#define VIRGLRENDERER_USE_EGL (1 << 0)
#define VIRGLRENDERER_THREAD_SYNC (1 << 1)
#define VIRGLRENDERER_USE_GLX (1 << 2)
#define VIRGLRENDERER_USE_SURFACELESS (1 << 3)
#define VIRGLRENDERER_USE_GLES (1 << 4)
#define VIRGLRENDERER_USE_EXTERNAL_BLOB (1 << 5)
#define VIRGLRENDERER_VENUS (1 << 6)
#define VIRGLRENDERER_NO_VIRGL (1 << 7)
#define VIRGLRENDERER_USE_ASYNC_FENCE_CB (1 << 8)
#define VIRGLRENDERER_RENDER_SERVER (1 << 9)
#define VIRGLRENDERER_DRM (1 << 10)

/* A virtio-gpu device. As libkrun built without its GPU feature: the
 * flags (and the host window of shm_size bytes) are accepted, 0 returned
 * and no GPU made (an info log line says so), so clients that always ask
 * for one still run. */
int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags);
int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size);

/* Displays (virtio-gpu scanouts): at most this many. NOT HERE: no GPU;
 * every display call returns -ENOTSUP. */
#define KRUN_MAX_DISPLAYS 16
/* Returns a display id on success. */
int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height);
int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
			      size_t blob_size);
int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi);
int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
				       uint16_t height_mm);
int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id,
				      uint32_t refresh_rate);
/* display_backend: libkrun_display.h's struct krun_display_backend. */
int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend,
				 size_t backend_size);

/* Input devices (virtio-input), from libkrun_input.h's backends or a host
 * /dev/input fd. NOT HERE: -ENOTSUP. */
int krun_add_input_device(uint32_t ctx_id, const void *config_backend,
			  size_t config_backend_size, const void *events_backend,
			  size_t events_backend_size);
int krun_add_input_device_fd(uint32_t ctx_id, int input_fd);

/* vhost-user device types: the virtio device ids. */
#define KRUN_VIRTIO_DEVICE_CONSOLE 3
#define KRUN_VIRTIO_DEVICE_RNG 4
#define KRUN_VIRTIO_DEVICE_GPU 16
#define KRUN_VIRTIO_DEVICE_RTC 17
#define KRUN_VIRTIO_DEVICE_INPUT 18
#define KRUN_VIRTIO_DEVICE_VSOCK 19
#define KRUN_VIRTIO_DEVICE_SND 25
#define KRUN_VIRTIO_DEVICE_CAN 36

/* Each type's queue count and sizes, for krun_add_vhost_user_device. */
#define KRUN_VHOST_USER_CONSOLE_NUM_QUEUES 4
#define KRUN_VHOST_USER_CONSOLE_QUEUE_SIZES ((uint16_t[]){ 128, 128, 64, 64 })
#define KRUN_VHOST_USER_RNG_NUM_QUEUES 1
#define KRUN_VHOST_USER_RNG_QUEUE_SIZES ((uint16_t[]){ 256 })
#define KRUN_VHOST_USER_RTC_NUM_QUEUES 2
#define KRUN_VHOST_USER_RTC_QUEUE_SIZES ((uint16_t[]){ 1024, 1024 })
#define KRUN_VHOST_USER_INPUT_NUM_QUEUES 2
#define KRUN_VHOST_USER_INPUT_QUEUE_SIZES ((uint16_t[]){ 1024, 1024 })
#define KRUN_VHOST_USER_SND_NUM_QUEUES 4
#define KRUN_VHOST_USER_SND_QUEUE_SIZES ((uint16_t[]){ 64, 64, 64, 64 })
#define KRUN_VHOST_USER_VSOCK_NUM_QUEUES 3
#define KRUN_VHOST_USER_VSOCK_QUEUE_SIZES ((uint16_t[]){ 128, 128, 128 })
#define KRUN_VHOST_USER_CAN_NUM_QUEUES 3
#define KRUN_VHOST_USER_CAN_QUEUE_SIZES ((uint16_t[]){ 64, 64, 64 })
#define KRUN_VHOST_USER_GPU_NUM_QUEUES 2
#define KRUN_VHOST_USER_GPU_QUEUE_SIZES ((uint16_t[]){ 1024, 1024 })

/* A device served by a vhost-user backend listening at socket_path; name
 * (NULL: made up) for the log; num_queues 0 asks the backend, queue_sizes
 * NULL means 256 each (with num_queues 0, a 0-terminated list). NOT YET:
 * -ENOTSUP. */
int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type,
				   const char *socket_path, const char *name,
				   uint16_t num_queues, const uint16_t *queue_sizes);

/* Boot firmware (an EFI image, a host path) instead of a kernel. NOT HERE:
 * -ENOTSUP after the checks (-EINVAL for NULL). */
int32_t krun_set_firmware(uint32_t ctx_id, const char *firmware_path);

/* The confidential VM's (SEV, TDX) configuration file, for libkrun-sev
 * builds only. NOT HERE: -ENOTSUP after the checks (-EINVAL for NULL). */
int32_t krun_set_tee_config_file(uint32_t ctx_id, const char *filepath);

/* ---- Start -------------------------------------------------------------- */

/* Build the VM from the context and run it on the calling thread. The
 * context is consumed. Returns only when the VM could not be started (a
 * negative errno); otherwise the process exits with the workload's status
 * when the guest shuts down, without running atexit handlers. The guest's
 * init reserves 125 (it could not set up), 126 (the program could not be
 * executed) and 127 (the program was not found). */
int32_t krun_start_enter(uint32_t ctx_id);

#ifdef __cplusplus
}
#endif

#endif /* _LIBKRUN_H */
