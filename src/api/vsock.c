/* virtio-vsock: libkrun's krun_add_vsock_port, krun_add_vsock_port2,
 * krun_add_vsock and krun_disable_implicit_vsock. Each checks its arguments
 * and records them; the listening sockets are made, and the device, when
 * the VM is built (devices/vsock/). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/context.h"

#define TSI_KNOWN_FEATURES (KRUN_TSI_HIJACK_INET | KRUN_TSI_HIJACK_UNIX)
_Static_assert(KRUN_TSI_HIJACK_INET == VM_TSI_HIJACK_INET &&
		       KRUN_TSI_HIJACK_UNIX == VM_TSI_HIJACK_UNIX,
	       "the configuration keeps libkrun's TSI bits");

int32_t krun_add_vsock_port2(uint32_t ctx_id, uint32_t port, const char *c_filepath, bool listen)
{
	const size_t max_path = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	struct vm_config *cfg;
	char *path;
	int ret = 0;

	if (!c_filepath || !*c_filepath || strlen(c_filepath) > max_path)
		return API_EINVAL("a socket path must be 1 to %zu bytes", max_path);
	/* VMADDR_PORT_ANY is no port a guest can connect to or listen on. */
	if (port == UINT32_MAX)
		return API_EINVAL("port %u is VMADDR_PORT_ANY", port);
	/* As libkrun: the VMM makes the listening socket, nothing may be there. */
	struct stat st;
	if (listen && lstat(c_filepath, &st) == 0) {
		LOG_ERR("%s: %s exists: the VMM listens there, remove it first", __func__,
			c_filepath);
		return -EEXIST;
	}
	if (!(path = strdup(c_filepath)))
		return -ENOMEM;
	if (!(cfg = ctx_lock(ctx_id, __func__))) {
		free(path);
		return -ENOENT;
	}
	/* A port given again takes its new path and mode, as libkrun's map does. */
	unsigned int i = 0;
	while (i < cfg->nr_vsock_ports && cfg->vsock_ports[i].port != port)
		i++;
	if (port == VM_TSI_PORT && cfg->tsi_features) {
		LOG_ERR("%s: port %u is TSI's, which krun_add_vsock turned on", __func__, port);
		ret = -EINVAL;
	} else if (i == VM_MAX_VSOCK_PORTS) {
		LOG_ERR("%s: at most %d vsock ports", __func__, VM_MAX_VSOCK_PORTS);
		ret = -ENOSPC;
	} else {
		struct vm_vsock_port *p = &cfg->vsock_ports[i];

		if (i == cfg->nr_vsock_ports) {
			*p = (struct vm_vsock_port){ 0 };
			cfg->nr_vsock_ports++;
		}
		SWAP(p->path, path); /* the old path, if any, comes out to be freed */
		p->port = port;
		p->listen = listen;
	}
	ctx_unlock();
	free(path);
	return ret;
}

int32_t krun_add_vsock_port(uint32_t ctx_id, uint32_t port, const char *c_filepath)
{
	return krun_add_vsock_port2(ctx_id, port, c_filepath, false);
}

static bool tsi_port_mapped(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_vsock_ports; i++) {
		if (cfg->vsock_ports[i].port == VM_TSI_PORT)
			return true;
	}
	return false;
}

int32_t krun_add_vsock(uint32_t ctx_id, uint32_t tsi_features)
{
	struct vm_config *cfg;
	int ret = 0;

	if (tsi_features & ~TSI_KNOWN_FEATURES)
		return API_EINVAL("unknown TSI feature bits 0x%x (known: 0x%x)",
				  tsi_features & ~TSI_KNOWN_FEATURES, TSI_KNOWN_FEATURES);
	if (!(cfg = ctx_lock(ctx_id, __func__)))
		return -ENOENT;
	/* As libkrun: the implicit device is the one, unless disabled first. */
	if (cfg->vsock_added) {
		LOG_ERR("%s: one vsock device per VM", __func__);
		ret = -EEXIST;
	} else if (!cfg->implicit_vsock_disabled) {
		LOG_ERR("%s: the implicit vsock device is there: call krun_disable_implicit_vsock "
			"first", __func__);
		ret = -EEXIST;
	} else if (tsi_features && tsi_port_mapped(cfg)) {
		LOG_ERR("%s: vsock port %u is mapped, and TSI would serve it", __func__,
			VM_TSI_PORT);
		ret = -EINVAL;
	} else {
		cfg->vsock_added = true;
		cfg->tsi_features = tsi_features;
	}
	ctx_unlock();
	return ret;
}

int32_t krun_disable_implicit_vsock(uint32_t ctx_id)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);

	if (!cfg)
		return -ENOENT;
	cfg->implicit_vsock_disabled = true;
	ctx_unlock();
	return 0;
}
