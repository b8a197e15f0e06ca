/* krun's vsock ports: PORT:PATH connects the guest's connections to the
 * host's port PORT (CID 2) to the unix socket at PATH; PORT:PATH:listen
 * makes krun listen at PATH and hands each connection to the guest's
 * listener on PORT. */
#include "vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkrun.h>

#include "said.h"

#define LISTEN_SUFFIX ":listen"

int cli_vsock_add(struct cli_vsock_plan *plan, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char *end;

	if (!colon || colon == spec)
		return said("--vsock-port %s: want PORT:PATH or PORT:PATH:listen", spec);
	errno = 0;
	unsigned long port = strtoul(spec, &end, 10);
	if (errno || end != colon || spec[0] == '-' || port >= UINT32_MAX)
		return said("--vsock-port %s: PORT is a number from 0 to 4294967294", spec);
	const char *path = colon + 1;
	size_t len = strlen(path), suffix = strlen(LISTEN_SUFFIX);
	bool listen = len >= suffix && strcmp(path + len - suffix, LISTEN_SUFFIX) == 0;
	if (listen)
		len -= suffix;
	if (len == 0)
		return said("--vsock-port %s: name the unix socket after the colon", spec);
	if (plan->nr == CLI_MAX_VSOCK_PORTS)
		return said("--vsock-port %s: at most 64 ports", spec);
	char *copy = strndup(path, len);
	if (!copy)
		return said("--vsock-port %s: out of memory", spec);
	plan->ports[plan->nr++] = (struct cli_vsock_port){ (uint32_t)port, copy, listen };
	return 0;
}

int cli_vsock_apply(const struct cli_vsock_plan *plan, int ctx)
{
	for (unsigned int i = 0; i < plan->nr; i++) {
		const struct cli_vsock_port *p = &plan->ports[i];
		int ret = krun_add_vsock_port2(ctx, p->port, p->path, p->listen);
		if (ret < 0) {
			fprintf(stderr, "krun: --vsock-port %u:%s%s: %s\n", p->port, p->path,
				p->listen ? LISTEN_SUFFIX : "", strerror(-ret));
			return ret;
		}
	}
	return 0;
}
