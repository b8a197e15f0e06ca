/* What a client asked for, recorded and validated by the API layer, and the
 * only input of vmm_start(). Strings and arrays are owned copies (freed by
 * vm_config_free()), so a client may free its own right after each call. */
#ifndef KRUN_CONFIG_VM_CONFIG_H
#define KRUN_CONFIG_VM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_MAX_VCPUS 16 /* the guest kernel's NR_CPUS */
/* Far beyond a microVM's needs; whether the host's physical address width
 * allows it is for vmm_start() to find out. */
#define VM_MAX_RAM_MIB (1u << 20)
#define VM_MAX_CONSOLES 4
#define VM_MAX_SHARES 8
/* The virtio-fs tag of the guest's root filesystem (libkrun's). */
#define VM_ROOT_TAG "/dev/root"
/* virtio-fs tags are at most this long (struct virtio_fs_config). */
#define VM_MAX_TAG_LEN 36
/* Network interfaces: eth0 to eth7. */
#define VM_MAX_NETS 8
/* vsock ports mapped to host unix sockets (krun_add_vsock_port*). */
#define VM_MAX_VSOCK_PORTS 64

/* Disks: vda to vdp, in the order added. The guest's virtio-mmio slots and
 * IRQs are the scarcer bound (libkrun's 11 devices); 16 keeps one VM from
 * holding a great many images open and locked. */
#define VM_MAX_DISKS 16
/* A disk's block id is its serial in the guest (/sys/block/vdX/serial):
 * virtio-blk's GET_ID answers at most 20 bytes. */
#define VM_MAX_BLOCK_ID_LEN 20

enum vm_kernel_format {
	VM_KERNEL_RAW = 0, /* a flat image like the one libkrunfw hands out */
	VM_KERNEL_ELF = 1, /* a vmlinux, loaded by its segments, entered through PVH */
};

struct vm_console {
	int in_fd, out_fd, err_fd; /* -1 where absent */
};

/* A host directory shared with the guest over virtio-fs. */
struct vm_share {
	char *tag;
	char *path;
	uint64_t shm_size; /* the DAX window asked for: recorded, not mapped yet */
	bool read_only;
};

/* A disk image served by virtio-blk, checked by the API layer. */
struct vm_disk {
	char *block_id;	  /* its serial, 1 to VM_MAX_BLOCK_ID_LEN bytes */
	char *path;
	uint32_t format;  /* KRUN_DISK_FORMAT_*: enum disk_format */
	uint32_t sync;	  /* KRUN_SYNC_*: enum disk_sync */
	bool read_only;
	bool direct_io;
};

/* How a network interface's frames reach the host. */
enum vm_net_backend {
	VM_NET_UNIXSTREAM, /* a stream socket, each frame after its length */
	VM_NET_UNIXGRAM,   /* a datagram socket, a frame per datagram */
	VM_NET_TAP,	   /* a tap interface */
	VM_NET_USER,	   /* the VMM's own router (libslirp), our extension */
};

/* TSI's features (vm_config's tsi_features): libkrun.h's KRUN_TSI_HIJACK_*. */
#define VM_TSI_HIJACK_INET (1u << 0) /* the guest's AF_INET, AF_INET6 sockets */
#define VM_TSI_HIJACK_UNIX (1u << 1) /* its AF_UNIX stream connects */
/* The host's vsock port TSI serves (devices/vsock/tsi_wire.h's
 * TSI_PORT_V1): no mapped port's while TSI is on. */
#define VM_TSI_PORT 0x54534901u

/* struct vm_net's flags: libkrun.h's NET_FLAG_* values. */
#define VM_NET_FLAG_VFKIT (1u << 0)	  /* greet a datagram peer with "VFKT" */
#define VM_NET_FLAG_DHCP_CLIENT (1u << 1) /* the guest's init asks DHCP */

/* A virtio-net interface, checked by the API layer. */
struct vm_net {
	enum vm_net_backend backend;
	char *path; /* the socket to connect to, or the tap's name; NULL with fd */
	int fd;	    /* a connected socket (the client's), or -1 */
	uint8_t mac[6];
	uint32_t features; /* NET_FEATURE_*: virtio-net feature bits to offer */
	uint32_t flags;	   /* VM_NET_FLAG_* */
	bool legacy;	   /* set by krun_set_passt_fd or krun_set_gvproxy_path */
};

/* A published port of the user-mode interface: host_addr:host_port on the
 * host leads to the guest's guest_port. Addresses in network order. */
struct vm_port_fwd {
	bool udp;
	uint32_t host_addr;
	uint16_t host_port, guest_port;
};
#define VM_MAX_PORT_FWDS 64

/* A guest vsock port and the host unix socket it leads to: without listen,
 * a guest's connection to the host's port makes the VMM connect to path;
 * with listen, the VMM listens on path and each host connection reaches
 * the guest's listener on port. */
struct vm_vsock_port {
	uint32_t port;
	char *path;
	bool listen;
};

struct vm_config {
	uint8_t nr_vcpus;
	uint32_t ram_mib;
	bool split_irqchip;
	bool nested_virt;
	/* The KVM device; NULL: /dev/kvm. Set by the unit tests only (no API
	 * sets it), to reach each way opening KVM fails on any machine. */
	const char *kvm_path;

	/* kernel: from libkrunfw.so.5 unless kernel_path is set */
	char *kernel_path;
	uint32_t kernel_format;
	char *initramfs_path;
	char *kernel_cmdline; /* replaces our command line prefix when set */

	/* the workload, passed to the guest init */
	char *exec_path;
	char **argv;       /* NULL-terminated, without argv[0] */
	char **envp;       /* NULL-terminated; NULL: none. A client's NULL envp is
			    * replaced by a copy of the host's environment at that
			    * call, as libkrun does. */
	char *workdir;
	char **rlimits;    /* "RESOURCE=CUR:MAX" strings, NULL-terminated */
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;

	/* virtio-fs shares; the one tagged VM_ROOT_TAG is the guest's root */
	unsigned int nr_shares;
	struct vm_share shares[VM_MAX_SHARES];
	bool implicit_init_disabled; /* no /init.krun in the root share */

	/* disks, vda first */
	unsigned int nr_disks;
	struct vm_disk disks[VM_MAX_DISKS];
	/* krun_set_root_disk_remount's: the guest's init mounts root_device
	 * (fstype NULL: tried as its init does, options NULL: none) and makes
	 * it the workload's root */
	char *root_disk_device;
	char *root_disk_fstype;
	char *root_disk_options;

	/* consoles */
	bool implicit_console_disabled;
	char *console_output; /* file for the implicit console's output */
	unsigned int nr_consoles;
	struct vm_console consoles[VM_MAX_CONSOLES];
	char *kernel_console; /* krun_set_kernel_console's console= word */
	/* krun_get_shutdown_eventfd's eventfd, owned here: a write asks the
	 * guest to shut down (devices/console/shutdown.h) */
	bool has_shutdown_fd;
	int shutdown_fd;

	/* network interfaces, eth0 first */
	unsigned int nr_nets;
	struct vm_net nets[VM_MAX_NETS];
	bool has_legacy_mac; /* krun_set_net_mac was called: legacy_mac */
	uint8_t legacy_mac[6];
	/* krun_set_port_map's, for the user-mode interface, or TSI without one
	 * (vm_config_tsi_publishes) */
	unsigned int nr_port_fwds;
	struct vm_port_fwd port_fwds[VM_MAX_PORT_FWDS];

	/* virtio-vsock: made when krun_add_vsock asked for it, or implicitly
	 * (unless krun_disable_implicit_vsock was called) when ports are
	 * mapped or no network interface is added; see vm_config_tsi() */
	bool vsock_added;
	bool implicit_vsock_disabled;
	uint32_t tsi_features; /* VM_TSI_HIJACK_*: krun_add_vsock's */
	unsigned int nr_vsock_ports;
	struct vm_vsock_port vsock_ports[VM_MAX_VSOCK_PORTS];
};

/* Whether the VM has a vsock device: krun_add_vsock's, or the implicit one,
 * which libkrun makes for TSI when no network interface is added (and here
 * also for mapped ports). */
bool vm_config_has_vsock(const struct vm_config *cfg);
/* The TSI features the VM's vsock device serves (VM_TSI_HIJACK_*, 0 for
 * none): krun_add_vsock's, or for the implicit device, as libkrun, the
 * guest's inet sockets when no network interface is added. */
uint32_t vm_config_tsi(const struct vm_config *cfg);
/* Whether TSI publishes krun_set_port_map's ports: it serves the guest's
 * inet sockets and no user-mode interface does (which would). */
bool vm_config_tsi_publishes(const struct vm_config *cfg);

/* Free the strings and arrays cfg owns and zero it; cfg itself is the caller's. */
void vm_config_free(struct vm_config *cfg);
/* Free a NULL-terminated array of owned strings; NULL is fine. */
void vm_strv_free(char **strv);

#endif
