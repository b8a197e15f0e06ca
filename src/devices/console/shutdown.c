#include "devices/console/shutdown.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/console/console.h"
#include "guest_abi.h"

struct shutdown_port {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool plugged;
	struct console console;
};

unsigned int shutdown_port_count(const struct vm_config *cfg)
{
	return cfg->has_shutdown_fd ? 1 : 0;
}

static void shutdown_port_destroy(struct vmm_device *dev)
{
	struct shutdown_port *sp = (struct shutdown_port *)dev;

	if (sp->plugged)
		sp->env->unplug_virtio(sp->env->vmm, &sp->console.vdev);
	console_destroy(&sp->console);
	free(sp);
}

static const struct vmm_device_ops shutdown_port_ops = {
	.destroy = shutdown_port_destroy,
};

int shutdown_port_create(const struct vm_config *cfg, unsigned int index, int host_fd,
			 const struct vmm_device_env *env, struct vmm_device **dev)
{
	/* The console reads its own duplicate; the client's fd stays the
	 * configuration's, open while the VM runs. */
	const struct console_port_config port = {
		.name = KRUN_PORT_SHUTDOWN,
		.in_fd = cfg->shutdown_fd,
		.out_fd = -1,
	};
	struct shutdown_port *sp = calloc(1, sizeof(*sp));
	int ret;

	(void)index, (void)host_fd; /* one device; -1: nothing opened before KVM */
	if (!sp) {
		LOG_ERR("cannot allocate the shutdown port: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	sp->dev.ops = &shutdown_port_ops;
	sp->env = env;
	ret = console_init(&sp->console, &port, 1, -1, env->loop);
	if (ret == 0 && (ret = env->plug_virtio(env->vmm, &sp->console.vdev)) == 0)
		sp->plugged = true;
	if (ret == 0)
		ret = env->add_guest_env(env->vmm, KRUN_ENV_SHUTDOWN_PORT, "1");
	if (ret < 0) {
		shutdown_port_destroy(&sp->dev);
		return ret;
	}
	*dev = &sp->dev;
	return 0;
}
