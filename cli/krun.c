/* krun: run a command in a microVM whose root filesystem is a host directory.
 * A client of libkrun.h and nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkrun.h>

#include "disk.h"
#include "net.h"
#include "vsock.h"

#define MAX_ENV 256
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char usage[] =
	"usage: krun [OPTIONS] ROOTDIR [--] CMD [ARG...]\n"
	"\n"
	"Runs CMD in a KVM microVM whose root filesystem is the host directory\n"
	"ROOTDIR, live: what CMD changes there is on the host at once, and the\n"
	"other way round. CMD's stdin, stdout and stderr are krun's: a terminal\n"
	"becomes the guest's console (raw mode here, its size followed there);\n"
	"pipes and files stay apart, each a stream of its own, and the end of\n"
	"stdin is CMD's end of file; a SIGINT to krun is then a ^C for CMD. The\n"
	"guest kernel's and init's messages go to the terminal, or to stderr when\n"
	"stdout is not one.\n"
	"\n"
	"Options:\n"
	"  --cpus N         vCPUs (default 1)\n"
	"  --mem MiB        guest RAM in MiB (default 512)\n"
	"  --workdir DIR    working directory of CMD inside the guest (default /)\n"
	"  --env K=V        set an environment variable for CMD (repeatable)\n"
	"  --log-level L    library log: off, error, warn, info, debug, trace\n"
	"  --net MODE       a network interface (repeatable: eth0, eth1, ...):\n"
	"                     user          the built-in network: the VMM is the\n"
	"                                   guest's router (10.0.2.15, the host's\n"
	"                                   127.0.0.1 at 10.0.2.2), no helper\n"
	"                     passt         Debian's passt, started for the VM\n"
	"                     tap:IFNAME    the host's tap device IFNAME (needs\n"
	"                                   CAP_NET_ADMIN or a tap made for you);\n"
	"                                   the guest's address is its own business\n"
	"                     unixstream:PATH  a peer on a stream socket (passt,\n"
	"                                   socket_vmnet: length-prefixed frames)\n"
	"                     unixgram:PATH a peer on a datagram socket (gvproxy)\n"
	"                     none          no network at all, not even TSI\n"
	"                   without --net: TSI, as libkrun: the guest's TCP connects\n"
	"                   are krun's own (the host's 127.0.0.1 included)\n"
	"                   eth0 gets its address by DHCP, except on a tap\n"
	"  -p, --publish [IP:]H:G[/udp]\n"
	"                   host port H (on IP, 127.0.0.1 unless given) reaches\n"
	"                   the guest's port G, TCP unless /udp; with TSI (no\n"
	"                   --net) or --net user. Only these ports are exposed\n"
	"                   (not every guest listener, as libkrun), and a taken\n"
	"                   host port fails the start, never shared\n"
	"  --vsock-port PORT:PATH[:listen]\n"
	"                   map the guest's vsock port PORT to the host unix socket\n"
	"                   PATH (repeatable): a guest connection to CID 2 (the\n"
	"                   host) at PORT reaches the socket listening at PATH;\n"
	"                   with :listen, krun listens at PATH and each connection\n"
	"                   to it reaches the guest's listener on PORT\n"
	"  --disk PATH[:ro][:format=raw|qcow2][:id=ID]\n"
	"                   a disk image (repeatable: /dev/vda, vdb, ... in order),\n"
	"                   raw unless format= says otherwise (never probed);\n"
	"                   :ro refuses the guest's writes; ID (at most 20\n"
	"                   characters, default disk0, disk1, ...) is its serial,\n"
	"                   /sys/block/vdX/serial in the guest. krun locks each\n"
	"                   image as QEMU does: one in use elsewhere is refused\n"
	"  --root-disk PATH a raw image whose filesystem becomes the guest's root\n"
	"                   (/dev/vda, before the --disk ones; id \"root\"): the\n"
	"                   init starts from ROOTDIR (give an empty directory),\n"
	"                   mounts it and runs CMD there\n"
	"  --root-fstype T  its filesystem type (default: ext4, then any other)\n"
	"  -h, --help       this text\n"
	"\n"
	"Exit status: CMD's; 128+N when CMD died of signal N; 125 when the guest\n"
	"could not set CMD up; 126 when CMD is not executable; 127 when it is not\n"
	"found. krun's own errors (bad options, no KVM) also give 125.\n"
	"\n"
	"Needs read-write access to /dev/kvm on a host whose KVM runs guests at\n"
	"hardware speed; on hosts that only emulate it (PVM), use the project's\n"
	"testhost/run (see its README).\n";

/* What to do when KVM was what failed. libkrun checks the configuration
 * first, so this follows its errors rather than coming before them. */
static void kvm_hint(int ret)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm >= 0)
		close(kvm);
	else if (ret == -ENOENT && errno == ENOENT)
		fprintf(stderr, "krun: this machine has no /dev/kvm: load kvm_intel or kvm_amd (with "
			"virtualization enabled in the firmware), or run krun inside the project's "
			"testhost/run (see its README)\n");
	else if (ret == -errno)
		fprintf(stderr, "krun: cannot open /dev/kvm (%s): give this user read-write access "
			"to it\n", strerror(errno));
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "krun: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 125;
}

static int parse_level(const char *name)
{
	static const char *const names[] = { "off", "error", "warn", "info", "debug", "trace" };
	for (int i = 0; i < 6; i++) {
		if (strcmp(name, names[i]) == 0)
			return i;
	}
	return -1;
}

static int parse_number(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || *s == '\0' || *end || v < min || v > max ? -1 : (int)v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "net", required_argument, NULL, 'n' },
		{ "publish", required_argument, NULL, 'p' },
		{ "vsock-port", required_argument, NULL, 'v' },
		{ "disk", required_argument, NULL, 'd' },
		{ "root-disk", required_argument, NULL, 'r' },
		{ "root-fstype", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *env[MAX_ENV + 3] = { DEFAULT_PATH };
	int nr_env = 1, cpus = 1, mem = 512, level = KRUN_LOG_LEVEL_ERROR, opt;
	const char *workdir = NULL;
	static struct cli_net_plan net;
	static struct cli_vsock_plan vsock;
	static struct cli_disk_plan disks;

	static char term[256];

	if (getenv("TERM")) {
		snprintf(term, sizeof(term), "TERM=%s", getenv("TERM"));
		env[nr_env++] = term;
	}
	while ((opt = getopt_long(argc, argv, "+hp:", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if ((cpus = parse_number(optarg, 1, 255)) < 0)
				return fail("--cpus %s: want a number of vCPUs from 1", optarg);
			break;
		case 'm':
			if ((mem = parse_number(optarg, 64, 1 << 20)) < 0)
				return fail("--mem %s: want MiB of RAM, 64 or more", optarg);
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return fail("--env %s: want KEY=VALUE", optarg);
			if (nr_env == MAX_ENV)
				return fail("--env %s: too many variables", optarg);
			env[nr_env++] = optarg;
			break;
		case 'l':
			if ((level = parse_level(optarg)) < 0)
				return fail("--log-level %s: want off, error, warn, info, debug or trace",
					    optarg);
			break;
		case 'n':
			if (cli_net_add(&net, optarg) < 0)
				return 125;
			break;
		case 'p':
			if (cli_net_publish(&net, optarg) < 0)
				return 125;
			break;
		case 'v':
			if (cli_vsock_add(&vsock, optarg) < 0)
				return 125;
			break;
		case 'd':
			if (cli_disk_add(&disks, optarg) < 0)
				return 125;
			break;
		case 'r':
			disks.root_disk = optarg;
			break;
		case 't':
			disks.root_fstype = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 125;
		}
	}
	if (disks.root_fstype && !disks.root_disk)
		return fail("--root-fstype %s: without --root-disk", disks.root_fstype);
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return fail("%s", "no ROOTDIR given (krun --help says how)");
	const char *root = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return fail("%s", "no command given: krun ROOTDIR CMD [ARG...]");
	struct stat st;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("%s is not a directory: give the directory the guest should have as its root",
			    root);

	krun_set_log_level(level);
	int ctx = krun_create_ctx();
	int ret = ctx < 0 ? ctx : 0;
	if (!ret)
		ret = krun_set_vm_config(ctx, cpus, mem);
	if (!ret)
		ret = krun_set_root(ctx, root);
	if (!ret && workdir)
		ret = krun_set_workdir(ctx, workdir);
	if (!ret)
		ret = krun_set_exec(ctx, argv[optind], (const char *const *)&argv[optind + 1], env);
	/* (what failed there is said there) */
	if (!ret && (cli_disk_apply(&disks, ctx) < 0 || cli_net_apply(&net, ctx, vsock.nr > 0) < 0 ||
		     cli_vsock_apply(&vsock, ctx) < 0))
		return 125;
	if (!ret)
		ret = krun_start_enter(ctx);
	/* krun_start_enter only returns when the VM could not start */
	fprintf(stderr, "krun: cannot run the VM: %s%s\n", strerror(-ret),
		level < KRUN_LOG_LEVEL_ERROR ? "" : " (the library's message above says why)");
	kvm_hint(ret);
	cli_net_hint(&net, ret);
	return 125;
}
