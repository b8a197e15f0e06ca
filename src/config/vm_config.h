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

	/* consoles */
	bool implicit_console_disabled;
	char *console_output; /* file for the implicit console's output */
	unsigned int nr_consoles;
	struct vm_console consoles[VM_MAX_CONSOLES];
};

/* Free the strings and arrays cfg owns and zero it; cfg itself is the caller's. */
void vm_config_free(struct vm_config *cfg);
/* Free a NULL-terminated array of owned strings; NULL is fine. */
void vm_strv_free(char **strv);

#endif
