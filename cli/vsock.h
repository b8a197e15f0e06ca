/* krun's --vsock-port PORT:PATH[:listen] (repeatable): guest vsock ports
 * mapped to host unix sockets, parsed into a plan, then given to libkrun. */
#ifndef KRUN_CLI_VSOCK_H
#define KRUN_CLI_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

/* libkrun-c's limit on mapped ports */
#define CLI_MAX_VSOCK_PORTS 64

struct cli_vsock_port {
	uint32_t port;
	char *path; /* owned */
	bool listen;
};

struct cli_vsock_plan {
	unsigned int nr;
	struct cli_vsock_port ports[CLI_MAX_VSOCK_PORTS];
};

/* One --vsock-port: 0, or -1 with the reason on stderr. */
int cli_vsock_add(struct cli_vsock_plan *plan, const char *spec);
/* The plan's ports into the context ctx: 0, or libkrun's -errno (said). */
int cli_vsock_apply(const struct cli_vsock_plan *plan, int ctx);

#endif
