#include "devices/vsock/vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/vm_config.h"

#include "base/fd_budget.h"
#include "base/log.h"
#include "devices/vsock/tsi.h"
#include "devices/vsock/virtio_vsock.h"
#include "guest_abi.h"

/* The VMM's own fds beside the connections' (a few dozen when the VM is
 * built), kept out of the connections' share of RLIMIT_NOFILE. */
#define VSOCK_FD_HEADROOM 64

struct vsock_device {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool initialised;
	bool plugged;
	struct virtio_vsock vsock;
};

static struct vsock_device *vsock_device_of(const struct vmm_device *dev)
{
	return (struct vsock_device *)dev;
}

/* krun_add_vsock's device, or the implicit one (vm_config_has_vsock). */
unsigned int vsock_count(const struct vm_config *cfg)
{
	return vm_config_has_vsock(cfg);
}

/* The root share's directory, beneath which TSI resolves unix paths. */
static const char *root_share(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_shares; i++) {
		if (strcmp(cfg->shares[i].tag, VM_ROOT_TAG) == 0)
			return cfg->shares[i].path;
	}
	return NULL;
}

/* The mapped ports' endpoints, then TSI's: how many in *n. */
static int open_endpoints(const struct vm_config *cfg, struct vsock_endpoint ***out,
			  unsigned int *n)
{
	struct vsock_endpoint **eps = calloc(cfg->nr_vsock_ports + 1, sizeof(*eps));
	unsigned int i;
	int ret = 0;

	if (!eps) {
		LOG_ERR("vsock: cannot allocate its ports: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < cfg->nr_vsock_ports && ret == 0; i++) {
		const struct vm_vsock_port *p = &cfg->vsock_ports[i];
		/* The API refuses it with krun_add_vsock's TSI; the implicit
		 * device's TSI is known only now. */
		if (p->port == VM_TSI_PORT && vm_config_tsi(cfg)) {
			LOG_ERR("vsock: port %u is TSI's (no network interface was added): map "
				"another port, or call krun_disable_implicit_vsock", VM_TSI_PORT);
			ret = -EINVAL;
			continue; /* (the loop's i++ keeps the clean-up's count right) */
		}
		ret = vsock_unix_endpoint_open(p->port, p->path, p->listen, &eps[i]);
	}
	if (ret == 0 && vm_config_tsi(cfg))
		ret = vsock_tsi_endpoint_open(vm_config_tsi(cfg), root_share(cfg), cfg->port_fwds,
					      vm_config_tsi_publishes(cfg) ? cfg->nr_port_fwds : 0,
					      &eps[i++]);
	if (ret < 0) {
		for (unsigned int j = 0; j + 1 < i; j++)
			eps[j]->ops->destroy(eps[j]);
		free(eps);
		return ret;
	}
	*out = eps;
	*n = i;
	return 0;
}

#define TSI_HOST_RESOLV_CONF "/etc/resolv.conf"

/* The guest kernel's switch (its tsi.hijack parameter), before "--" with
 * the other KEY="value" words: the kernel takes a dotted word as a module
 * parameter, its own, and hands none to the init; a kernel without TSI
 * ignores it. With inet, the host's name servers for the init
 * (KRUN_TSI_DNS). */
static int tsi_switch(const struct vm_config *cfg, const struct vmm_device_env *env)
{
	static const char *const values[] = { [VM_TSI_HIJACK_INET] = "inet",
					       [VM_TSI_HIJACK_UNIX] = "unix",
					       [VM_TSI_HIJACK_INET | VM_TSI_HIJACK_UNIX] =
						       "inet,unix" };

	uint32_t tsi = vm_config_tsi(cfg);
	char dns[TSI_DNS_LIST_MAX];
	int ret;

	if (!tsi)
		return 0;
	LOG_INF("vsock: TSI at port %u (tsi.hijack=%s)%s", VM_TSI_PORT, values[tsi],
		cfg->vsock_added ? "" : ", implicit: no network interface");
	if ((ret = env->add_guest_env(env->vmm, "tsi.hijack", values[tsi])) < 0 ||
	    !(tsi & VM_TSI_HIJACK_INET))
		return ret;
	/* the host's name servers, for a root without a resolv.conf */
	if (tsi_dns_host(TSI_HOST_RESOLV_CONF, dns, sizeof(dns)) == 0)
		return 0;
	LOG_INF("vsock: TSI's name servers for the guest: %s (from %s)", dns,
		TSI_HOST_RESOLV_CONF);
	return env->add_guest_env(env->vmm, KRUN_ENV_TSI_DNS, dns);
}

static const struct vmm_device_ops vsock_device_ops;

int vsock_create(const struct vm_config *cfg, unsigned int index, int host_fd,
		 const struct vmm_device_env *env, struct vmm_device **dev)
{
	struct vsock_device *d = calloc(1, sizeof(*d));
	struct vsock_endpoint **eps;
	unsigned int nr_eps;
	int ret;

	(void)index;
	(void)host_fd;
	if (!d) {
		LOG_ERR("vsock: cannot allocate its device: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	d->dev.ops = &vsock_device_ops;
	d->env = env;
	if ((ret = open_endpoints(cfg, &eps, &nr_eps)) < 0 ||
	    (ret = virtio_vsock_init(&d->vsock, eps, nr_eps,
				     fd_budget("vsock: connections", VSOCK_MAX_CONNS,
					       VSOCK_FD_HEADROOM),
				     env->loop)) < 0) {
		free(d);
		return ret;
	}
	d->initialised = true;
	if ((ret = tsi_switch(cfg, env)) < 0) {
		vsock_device_ops.destroy(&d->dev);
		return ret;
	}
	if ((ret = env->plug_virtio(env->vmm, &d->vsock.vdev)) < 0) {
		vsock_device_ops.destroy(&d->dev);
		return ret;
	}
	d->plugged = true;
	*dev = &d->dev;
	return 0;
}

static void vsock_log_stats(const struct vmm_device *dev)
{
	const struct virtio_vsock *v = &vsock_device_of(dev)->vsock;
	const struct vsock_counters *c = &v->counters;

	LOG_INF("vsock: %llu connections; to the guest %llu packets (%llu bytes), from it %llu "
		"(%llu bytes); refused %llu, over the limit %llu; malformed %llu, unreadable "
		"%llu, beyond credit %llu; requests refused %llu, late %llu; host socket errors "
		"%llu; resets sent %llu; %llu kicks, %llu interrupts",
		(unsigned long long)c->connections, (unsigned long long)c->rx_packets,
		(unsigned long long)c->rx_bytes, (unsigned long long)c->tx_packets,
		(unsigned long long)c->tx_bytes, (unsigned long long)c->refused,
		(unsigned long long)c->over_limit, (unsigned long long)c->malformed,
		(unsigned long long)c->unreadable, (unsigned long long)c->credit_violations,
		(unsigned long long)c->bad_requests, (unsigned long long)c->request_timeouts,
		(unsigned long long)c->host_errors, (unsigned long long)c->resets,
		(unsigned long long)v->vdev.counters.notifications,
		(unsigned long long)v->vdev.counters.interrupts);
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		if (v->endpoints[i]->ops->log_stats)
			v->endpoints[i]->ops->log_stats(v->endpoints[i]);
	}
}

static void vsock_release_host(struct vmm_device *dev)
{
	virtio_vsock_release_host(&vsock_device_of(dev)->vsock);
}

static void vsock_destroy(struct vmm_device *dev)
{
	struct vsock_device *d = vsock_device_of(dev);

	if (d->plugged)
		d->env->unplug_virtio(d->env->vmm, &d->vsock.vdev);
	if (d->initialised)
		virtio_vsock_destroy(&d->vsock);
	free(d);
}

static const struct vmm_device_ops vsock_device_ops = {
	.release_host = vsock_release_host,
	.log_stats = vsock_log_stats,
	.destroy = vsock_destroy,
};
