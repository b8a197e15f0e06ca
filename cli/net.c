/* krun's network options, as libkrun.h offers them: the built-in user-mode
 * network, Debian's passt started for the VM, a tap device, or a peer on a
 * stream or datagram socket. */
#include "net.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libkrun.h>

#include "said.h"

int cli_net_add(struct cli_net_plan *plan, const char *mode)
{
	static const struct {
		const char *prefix;
		enum cli_net_kind kind;
		bool takes_arg;
	} modes[] = {
		{ "user", CLI_NET_USER, false },
		{ "passt", CLI_NET_PASST, false },
		{ "tap:", CLI_NET_TAP, true },
		{ "unixstream:", CLI_NET_UNIXSTREAM, true },
		{ "unixgram:", CLI_NET_UNIXGRAM, true },
	};

	if (strcmp(mode, "none") == 0) {
		plan->none = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		size_t len = strlen(modes[i].prefix);
		bool match = modes[i].takes_arg ? strncmp(mode, modes[i].prefix, len) == 0
						: strcmp(mode, modes[i].prefix) == 0;
		if (!match)
			continue;
		if (modes[i].takes_arg && mode[len] == '\0')
			return said("--net %s: name the tap device or the socket after the colon", mode);
		if (plan->nr_nets == CLI_MAX_NETS)
			return said("--net %s: at most 8 interfaces", mode);
		plan->nets[plan->nr_nets++] =
			(struct cli_net){ modes[i].kind, modes[i].takes_arg ? mode + len : NULL };
		return 0;
	}
	return said("--net %s: want user, passt, tap:IFNAME, unixstream:PATH, unixgram:PATH or none",
		    mode);
}

int cli_net_publish(struct cli_net_plan *plan, const char *spec)
{
	if (!strchr(spec, ':'))
		return said("-p %s: want [IP:]HOST_PORT:GUEST_PORT[/udp], as 8080:80", spec);
	if (plan->nr_publish == CLI_MAX_PUBLISH)
		return said("-p %s: at most 64 published ports", spec);
	plan->publish[plan->nr_publish++] = spec;
	return 0;
}

/* Whether PATH has an executable passt. */
static bool passt_installed(void)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	for (const char *dir = path ? path : "/usr/bin:/bin"; *dir;) {
		size_t len = strcspn(dir, ":");
		if (len > 0 && snprintf(candidate, sizeof(candidate), "%.*s/passt", (int)len, dir) <
				       (int)sizeof(candidate) &&
		    access(candidate, X_OK) == 0)
			return true;
		dir += len + (dir[len] == ':');
	}
	return false;
}

/* passt for one interface, on one end of a stream socket pair: its fd for
 * libkrun (the other end), or -1 (said). --one-off: passt serves that one
 * peer and ends when it closes, that is when this process ends, whether the
 * VM ran or failed to start. */
static int start_passt(void)
{
	int sv[2];
	char fd_arg[16];

	if (!passt_installed())
		return said("%s", "--net passt: passt is not installed (apt-get install passt), "
				  "or use --net user, which needs no helper");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return said("--net passt: cannot make a socket pair: %s", strerror(errno));
	snprintf(fd_arg, sizeof(fd_arg), "%d", sv[1]);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		execlp("passt", "passt", "--foreground", "--quiet", "--one-off", "--fd", fd_arg, (char *)NULL);
		fprintf(stderr, "krun: cannot run passt: %s\n", strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return said("--net passt: cannot start passt: %s", strerror(errno));
	}
	return sv[0];
}

static int add_one(int ctx, const struct cli_net *net, unsigned int index)
{
	/* libkrun's default address, made distinct per interface */
	uint8_t mac[6] = { 0x5a, 0x94, 0xef, 0xe4, 0x0c, (uint8_t)(0xee + index) };
	/* eth0 asks DHCP of the peers that serve it; a tap's side is the user's */
	uint32_t dhcp = index == 0 ? NET_FLAG_DHCP_CLIENT : 0;
	int fd;

	switch (net->kind) {
	case CLI_NET_USER:
		return krun_add_net_user(ctx, mac, 0, dhcp);
	case CLI_NET_PASST:
		if ((fd = start_passt()) < 0)
			return -EINVAL;
		return krun_add_net_unixstream(ctx, NULL, fd, mac, COMPAT_NET_FEATURES, dhcp);
	case CLI_NET_TAP:
		return krun_add_net_tap(ctx, (char *)net->arg, mac, COMPAT_NET_FEATURES, 0);
	case CLI_NET_UNIXSTREAM:
		return krun_add_net_unixstream(ctx, net->arg, -1, mac, COMPAT_NET_FEATURES, dhcp);
	case CLI_NET_UNIXGRAM:
		return krun_add_net_unixgram(ctx, net->arg, -1, mac, COMPAT_NET_FEATURES, dhcp);
	}
	return -EINVAL;
}

int cli_net_apply(const struct cli_net_plan *plan, int ctx, bool vsock_ports)
{
	bool user = false;
	int ret;

	if (plan->none && plan->nr_nets > 0)
		return said("%s", "--net none: not with other --net options"), -EINVAL;
	/* No interface means TSI by default (libkrun's implicit vsock device);
	 * none means none: a vsock device only for mapped ports, without TSI. */
	if (plan->none && ((ret = krun_disable_implicit_vsock(ctx)) < 0 ||
			   (vsock_ports && (ret = krun_add_vsock(ctx, 0)) < 0))) {
		fprintf(stderr, "krun: --net none: %s\n", strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < plan->nr_nets; i++) {
		user |= plan->nets[i].kind == CLI_NET_USER;
		if ((ret = add_one(ctx, &plan->nets[i], i)) < 0) {
			fprintf(stderr, "krun: --net: cannot add eth%u: %s\n", i, strerror(-ret));
			return ret;
		}
	}
	if (plan->nr_publish == 0)
		return 0;
	/* TSI (no --net) publishes them as --net user does; the other
	 * interfaces' networks are their own. */
	if (!user && (plan->none || plan->nr_nets > 0))
		return said("%s", "-p: published ports need TSI (no --net option) or --net user "
				  "(the built-in network)"),
		       -EINVAL;
	if ((ret = krun_set_port_map(ctx, plan->publish)) < 0) {
		fprintf(stderr, "krun: -p: want [IP:]HOST_PORT:GUEST_PORT[/udp] with ports 1 to "
				"65535, each host port once (libkrun's message above says which): %s\n",
			strerror(-ret));
	}
	return ret;
}

void cli_net_hint(const struct cli_net_plan *plan, int ret)
{
	bool tap = false;

	for (unsigned int i = 0; i < plan->nr_nets; i++)
		tap |= plan->nets[i].kind == CLI_NET_TAP;
	if (ret == -EADDRINUSE && plan->nr_publish > 0)
		fprintf(stderr, "krun: a published host port is taken: choose another with -p\n");
	else if (tap && (ret == -EPERM || ret == -EACCES))
		fprintf(stderr, "krun: a tap device needs CAP_NET_ADMIN, or one made for this user "
				"beforehand (ip tuntap add NAME mode tap user USER)\n");
}
