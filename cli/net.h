/* krun's network options: --net MODE (repeatable, one interface each, eth0
 * first) and -p/--publish, parsed into a plan, then given to libkrun. */
#ifndef KRUN_CLI_NET_H
#define KRUN_CLI_NET_H

#include <stdbool.h>

/* libkrun's limit on interfaces, and ours on published ports */
#define CLI_MAX_NETS 8
#define CLI_MAX_PUBLISH 64

enum cli_net_kind { CLI_NET_USER, CLI_NET_PASST, CLI_NET_TAP, CLI_NET_UNIXSTREAM, CLI_NET_UNIXGRAM };

struct cli_net {
	enum cli_net_kind kind;
	const char *arg; /* the tap's name, or the socket's path */
};

struct cli_net_plan {
	bool none; /* --net none was given */
	unsigned int nr_nets, nr_publish;
	struct cli_net nets[CLI_MAX_NETS];
	const char *publish[CLI_MAX_PUBLISH + 1]; /* NULL-terminated */
};

/* One --net MODE: 0, or -1 with the reason on stderr. */
int cli_net_add(struct cli_net_plan *plan, const char *mode);
/* One -p/--publish [IP:]HOST:GUEST[/udp]: its shape is checked here, the
 * rest (ports in range, duplicates) by libkrun. 0, or -1 (said). */
int cli_net_publish(struct cli_net_plan *plan, const char *spec);
/* The plan's interfaces and ports into the context ctx (after the option
 * parsing, before krun_start_enter; vsock_ports: --vsock-port was given,
 * so --net none keeps a vsock device, without TSI): 0, or libkrun's
 * -errno after saying what failed and what to do. */
int cli_net_apply(const struct cli_net_plan *plan, int ctx, bool vsock_ports);
/* After krun_start_enter failed with ret: a hint when the network is the
 * likely cause (a published port taken, a tap without the right). */
void cli_net_hint(const struct cli_net_plan *plan, int ret);

#endif
