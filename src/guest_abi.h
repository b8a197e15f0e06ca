/* The guest-host protocol: every name, number and path that the library and
 * the guest's init (init/) must spell alike, in one place that both sides
 * include. It includes nothing of the project, so any layer, and the init,
 * may include it. Most of it is libkrun's; what is ours alone says so. */
#ifndef KRUN_GUEST_ABI_H
#define KRUN_GUEST_ABI_H

#include <linux/ioctl.h>

/* --- files in the root share ---------------------------------------------- */

/* The init the kernel runs (init= on its command line): ours, served by the
 * VMM, or the root's own. */
#define KRUN_INIT_NAME "init.krun"
#define KRUN_INIT_PATH "/" KRUN_INIT_NAME
/* The workload's configuration the init reads when KRUN_CONFIG names none. */
#define KRUN_CONFIG_DEFAULT_PATH "/.krun_config.json"
/* Ours: the workload set through the API, served by the VMM as a document
 * of the same kind, which KRUN_CONFIG then names. */
#define KRUN_WORKLOAD_JSON_NAME ".krun-workload.json"
#define KRUN_WORKLOAD_JSON_PATH "/" KRUN_WORKLOAD_JSON_NAME

/* --- settings: KEY=value words of the kernel command line, which the kernel
 * hands to the init as its environment (or env entries of the config) ------ */

#define KRUN_ENV_INIT "KRUN_INIT"           /* the command */
#define KRUN_ENV_INIT_PID1 "KRUN_INIT_PID1" /* "1": the command replaces the init */
#define KRUN_ENV_CONFIG "KRUN_CONFIG"       /* the configuration file */
#define KRUN_ENV_WORKDIR "KRUN_WORKDIR"
#define KRUN_ENV_RLIMITS "KRUN_RLIMITS"     /* ID=CUR:MAX[,...], Linux RLIMIT_* numbers */
#define KRUN_ENV_HOME "KRUN_HOME"           /* becomes HOME */
#define KRUN_ENV_TERM "KRUN_TERM"           /* becomes TERM */
/* Ours: decimal ids the workload runs as. */
#define KRUN_ENV_SETUID "KRUN_SETUID"
#define KRUN_ENV_SETGID "KRUN_SETGID"
/* Ours: how many of the stdio console ports below the VMM made, which the
 * init waits for (libkrun's init looks without waiting). */
#define KRUN_ENV_STDIO_PORTS "KRUN_STDIO_PORTS"
/* Ours: "1" when the VMM made the KRUN_PORT_SHUTDOWN port, which the init
 * then waits for. */
#define KRUN_ENV_SHUTDOWN_PORT "KRUN_SHUTDOWN_PORT"
/* Which interfaces the init configures by DHCP. libkrun's name and value:
 * "1" (its NET_FLAG_DHCP_CLIENT) means eth0. Ours besides: a comma-separated
 * list of interface names, e.g. "eth0,eth2". */
#define KRUN_ENV_DHCP "KRUN_DHCP"
#define KRUN_DHCP_DEFAULT_IFACE "eth0"
/* Ours: with TSI for inet, the host's name servers (at most 3 IPv4 or IPv6
 * addresses, comma-separated), which the init writes to /etc/resolv.conf
 * when the root has none. */
#define KRUN_ENV_TSI_DNS "KRUN_TSI_DNS"
/* krun_set_root_disk_remount's (libkrun's names): the init mounts the
 * device as the type (unset or "auto": ext4, then the others the kernel
 * knows) with the options (mount(8)-style, comma-separated) and makes it
 * the root before it runs the workload. */
#define KRUN_ENV_BLOCK_ROOT_DEVICE "KRUN_BLOCK_ROOT_DEVICE"
#define KRUN_ENV_BLOCK_ROOT_FSTYPE "KRUN_BLOCK_ROOT_FSTYPE"
#define KRUN_ENV_BLOCK_ROOT_OPTIONS "KRUN_BLOCK_ROOT_OPTIONS"

/* --- console ports ---------------------------------------------------------- */

/* The names of the console ports that carry the workload's stdin, stdout and
 * stderr where those are not a terminal, in fd order. */
#define KRUN_PORT_STDIN "krun-stdin"
#define KRUN_PORT_STDOUT "krun-stdout"
#define KRUN_PORT_STDERR "krun-stderr"
/* Ours: the port of krun_get_shutdown_eventfd. Whatever the guest reads on
 * it asks for an orderly shutdown: the init sends the workload SIGTERM,
 * SIGKILL KRUN_SHUTDOWN_GRACE_MS later, and powers off once it is gone. */
#define KRUN_PORT_SHUTDOWN "krun-shutdown"
#define KRUN_SHUTDOWN_GRACE_MS 10000

/* --- the exit status -------------------------------------------------------- */

/* Ours: x86 port I/O that our init writes. A boot marker (outb, any value)
 * at its first instruction, and the workload's status (outl, 0..255). */
#define KRUN_CTL_PORT 0x6c0
#define KRUN_CTL_PORT_SIZE 8
#define KRUN_CTL_BOOT_MARKER (KRUN_CTL_PORT + 0)
#define KRUN_CTL_EXIT_STATUS (KRUN_CTL_PORT + 4)

/* libkrun's init: the status as the argument of this ioctl on the root
 * share's "/", honoured from the guest's PID 1 only. */
#define KRUN_IOCTL_EXIT_CODE _IO('v', 2)

#endif
