#include "devices/net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/net/virtio_net.h"
#include "guest_abi.h"

struct net_device {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool initialised;
	bool plugged;
	struct virtio_net net;
};

static struct net_device *net_device_of(const struct vmm_device *dev)
{
	return (struct net_device *)dev;
}

unsigned int net_count(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static int open_backend(const struct vm_config *vm, unsigned int index, struct event_loop *loop,
			struct net_backend **b)
{
	const struct vm_net *cfg = &vm->nets[index];

	switch (cfg->backend) {
	case VM_NET_UNIXSTREAM:
		return net_unixstream_open(cfg, index, b);
	case VM_NET_UNIXGRAM:
		return net_unixgram_open(cfg, index, b);
	case VM_NET_TAP:
		return net_tap_open(cfg, index, b);
	case VM_NET_USER:
		return net_user_open(vm, index, loop, b);
	}
	return -EINVAL;
}

/* The interfaces whose flags ask for DHCP, named for the guest's init
 * ("eth0,eth2"): each the one it was asked on, where libkrun's init only
 * ever configures eth0. Nothing when none asks. */
static int ask_dhcp(const struct vm_config *cfg, const struct vmm_device_env *env)
{
	char names[VM_MAX_NETS * sizeof("ethN,")] = "";
	size_t len = 0;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (cfg->nets[i].flags & VM_NET_FLAG_DHCP_CLIENT)
			len += snprintf(names + len, sizeof(names) - len, "%seth%u", len ? "," : "", i);
	}
	return len ? env->add_guest_env(env->vmm, KRUN_ENV_DHCP, names) : 0;
}

static const struct vmm_device_ops net_device_ops;

int net_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev)
{
	const struct vm_net *net = &cfg->nets[index];
	struct net_device *d = calloc(1, sizeof(*d));
	struct net_backend *b;
	int ret;

	(void)host_fd;
	if (!d) {
		LOG_ERR("net eth%u: cannot allocate its device: %s", index, strerror(ENOMEM));
		return -ENOMEM;
	}
	d->dev.ops = &net_device_ops;
	d->env = env;
	if ((index == 0 && (ret = ask_dhcp(cfg, env)) < 0) ||
	    (ret = open_backend(cfg, index, env->loop, &b)) < 0 ||
	    (ret = virtio_net_init(&d->net, index, net->mac, net->features, b, env->loop)) < 0) {
		free(d);
		return ret;
	}
	d->initialised = true;
	if ((ret = env->plug_virtio(env->vmm, &d->net.vdev)) < 0) {
		net_device_ops.destroy(&d->dev);
		return ret;
	}
	d->plugged = true;
	*dev = &d->dev;
	return 0;
}

/* What the interface carried and what it dropped, and why. */
static void net_log_stats(const struct vmm_device *dev)
{
	const struct virtio_net *n = &net_device_of(dev)->net;
	const struct virtio_net_counters *c = &n->counters;

	LOG_INF("net eth%u (%s): received %llu frames (%llu bytes, %llu over several buffers), "
		"sent %llu (%llu bytes); "
		"dropped from the peer: %llu too long, %llu larger than the guest's buffer, "
		"%llu unreadable; from the guest: %llu too long, %llu malformed, %llu with the "
		"link down, %llu refused; waited %llu times for the backend, %llu for guest "
		"buffers; link lost %llu times; %llu kicks, %llu interrupts",
		n->index, n->backend->kind, (unsigned long long)c->rx_frames,
		(unsigned long long)c->rx_bytes, (unsigned long long)c->rx_merged,
		(unsigned long long)c->tx_frames,
		(unsigned long long)c->tx_bytes, (unsigned long long)c->rx_too_big,
		(unsigned long long)c->rx_no_room, (unsigned long long)c->rx_errors,
		(unsigned long long)c->tx_too_big, (unsigned long long)c->tx_malformed,
		(unsigned long long)c->tx_link_down, (unsigned long long)c->tx_errors,
		(unsigned long long)c->tx_waits, (unsigned long long)c->rx_waits,
		(unsigned long long)c->link_downs,
		(unsigned long long)n->vdev.counters.notifications,
		(unsigned long long)n->vdev.counters.interrupts);
}

static void net_release_host(struct vmm_device *dev)
{
	struct net_backend *b = net_device_of(dev)->net.backend;

	if (b->ops->release_host)
		b->ops->release_host(b);
}

static void net_destroy(struct vmm_device *dev)
{
	struct net_device *d = net_device_of(dev);

	if (d->plugged)
		d->env->unplug_virtio(d->env->vmm, &d->net.vdev);
	if (d->initialised)
		virtio_net_destroy(&d->net);
	free(d);
}

static const struct vmm_device_ops net_device_ops = {
	.release_host = net_release_host,
	.log_stats = net_log_stats,
	.destroy = net_destroy,
};
