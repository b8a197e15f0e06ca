/* Network interfaces: libkrun's krun_add_net_* calls and the deprecated
 * single-interface ones. Each checks every argument and records a struct
 * vm_net; the socket is connected, the tap opened, when the VM is built. */
#include "api/api.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/virtio_net.h>

#include "api/context.h"

#define NET_ALL_FEATURES (COMPAT_NET_FEATURES | NET_FEATURE_GUEST_TSO6 | NET_FEATURE_HOST_TSO6)
#define NET_GUEST_OFFLOADS (NET_FEATURE_GUEST_TSO4 | NET_FEATURE_GUEST_TSO6 | NET_FEATURE_GUEST_UFO)

/* The device offers the features as they are: they are virtio-net's bits. */
_Static_assert(NET_FEATURE_CSUM == 1 << VIRTIO_NET_F_CSUM &&
	       NET_FEATURE_GUEST_CSUM == 1 << VIRTIO_NET_F_GUEST_CSUM &&
	       NET_FEATURE_GUEST_TSO4 == 1 << VIRTIO_NET_F_GUEST_TSO4 &&
	       NET_FEATURE_GUEST_TSO6 == 1 << VIRTIO_NET_F_GUEST_TSO6 &&
	       NET_FEATURE_GUEST_UFO == 1 << VIRTIO_NET_F_GUEST_UFO &&
	       NET_FEATURE_HOST_TSO4 == 1 << VIRTIO_NET_F_HOST_TSO4 &&
	       NET_FEATURE_HOST_TSO6 == 1 << VIRTIO_NET_F_HOST_TSO6 &&
	       NET_FEATURE_HOST_UFO == 1 << VIRTIO_NET_F_HOST_UFO, "virtio-net's feature bits");
_Static_assert(NET_FLAG_VFKIT == VM_NET_FLAG_VFKIT && NET_FLAG_DHCP_CLIENT == VM_NET_FLAG_DHCP_CLIENT,
	       "the recorded flags are libkrun's");

/* libkrun's MAC for the deprecated calls' interface. */
static const uint8_t default_legacy_mac[6] = { 0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee };

static int mac_check(const char *caller, const uint8_t *mac)
{
	static const uint8_t zero[6];

	if (!mac)
		return api_invalid(caller, "the MAC address is NULL");
	if (mac[0] & 1)
		return api_invalid(caller, "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address, "
				   "not an interface's", mac[0], mac[1], mac[2], mac[3], mac[4],
				   mac[5]);
	if (memcmp(mac, zero, sizeof(zero)) == 0)
		return api_invalid(caller, "the MAC address is all zeros");
	return 0;
}

static int bits_check(const char *caller, const char *what, uint32_t value, uint32_t known)
{
	if (value & ~known)
		return api_invalid(caller, "unknown %s bits 0x%x (known: 0x%x)", what,
				   value & ~known, known);
	return 0;
}

/* A socket at path the VMM can connect to, or a connected socket fd of
 * the given type: exactly one of them. */
static int socket_check(const char *caller, const char *path, int fd, int type)
{
	struct stat st;
	int ret;

	if (path && fd != -1)
		return api_invalid(caller, "give a socket path or a descriptor, not both");
	if (!path && fd == -1)
		return api_invalid(caller, "give a socket path or a descriptor");
	if (path) {
		if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return api_invalid(caller, "a socket path must be 1 to %zu bytes",
					   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			return api_invalid(caller, "%s is not a socket", path);
		return 0;
	}
	if ((ret = fd_check(caller, "fd", fd)) < 0)
		return ret;
	int actual;
	socklen_t len = sizeof(actual);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &actual, &len) < 0)
		return api_invalid(caller, "descriptor %d is not a socket", fd);
	if (actual != type)
		return api_invalid(caller, "descriptor %d is a %s socket, a %s one is needed", fd,
				   actual == SOCK_STREAM ? "stream" : "non-stream",
				   type == SOCK_STREAM ? "stream" : "datagram");
	return 0;
}

static unsigned int user_net_count(const struct vm_config *cfg)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		n += cfg->nets[i].backend == VM_NET_USER;
	return n;
}

/* Record net as the next interface, or (legacy) as the one interface. */
static int add_net(const char *caller, uint32_t ctx_id, struct vm_net *net)
{
	struct vm_config *cfg;
	int ret = 0;

	if (net->path && !(net->path = strdup(net->path)))
		return -ENOMEM;
	cfg = ctx_lock(ctx_id, caller);
	if (!cfg) {
		free(net->path);
		return -ENOENT;
	}
	bool has_legacy = cfg->nr_nets > 0 && cfg->nets[0].legacy;
	if (net->legacy && cfg->nr_nets > 0 && !has_legacy) {
		LOG_ERR("%s: krun_add_net_* added interfaces already", caller);
		ret = -EINVAL;
	} else if (!net->legacy && has_legacy) {
		LOG_ERR("%s: krun_set_passt_fd or krun_set_gvproxy_path set the one interface "
			"already", caller);
		ret = -EINVAL;
	} else if (net->legacy) {
		if (cfg->has_legacy_mac)
			memcpy(net->mac, cfg->legacy_mac, sizeof(net->mac));
		SWAP(cfg->nets[0], *net);
		cfg->nr_nets = 1;
	} else if (net->backend == VM_NET_USER && user_net_count(cfg) > 0) {
		LOG_ERR("%s: one user-mode interface per VM", caller);
		ret = -EINVAL;
	} else if (cfg->nr_nets == VM_MAX_NETS) {
		LOG_ERR("%s: at most %d network interfaces", caller, VM_MAX_NETS);
		ret = -ENOSPC;
	} else {
		cfg->nets[cfg->nr_nets++] = *net;
		net->path = NULL;
	}
	ctx_unlock();
	free(net->path);
	return ret;
}

static int add_socket_net(const char *caller, uint32_t ctx_id, enum vm_net_backend backend,
			  const char *path, int fd, const uint8_t *mac, uint32_t features,
			  uint32_t flags, uint32_t known_flags)
{
	struct vm_net net = { .backend = backend, .path = (char *)path, .fd = path ? -1 : fd,
			      .features = features, .flags = flags };
	int ret;

	if ((ret = socket_check(caller, path, fd,
				backend == VM_NET_UNIXSTREAM ? SOCK_STREAM : SOCK_DGRAM)) < 0 ||
	    (ret = mac_check(caller, mac)) < 0 ||
	    (ret = bits_check(caller, "feature", features, NET_ALL_FEATURES)) < 0 ||
	    (ret = bits_check(caller, "flag", flags, known_flags)) < 0)
		return ret;
	memcpy(net.mac, mac, sizeof(net.mac));
	return add_net(caller, ctx_id, &net);
}

int32_t krun_add_net_unixstream(uint32_t ctx_id, const char *c_path, int fd,
				uint8_t *const c_mac, uint32_t features, uint32_t flags)
{
	return add_socket_net(__func__, ctx_id, VM_NET_UNIXSTREAM, c_path, fd, c_mac, features,
			      flags, NET_FLAG_DHCP_CLIENT);
}

int32_t krun_add_net_unixgram(uint32_t ctx_id, const char *c_path, int fd,
			      uint8_t *const c_mac, uint32_t features, uint32_t flags)
{
	return add_socket_net(__func__, ctx_id, VM_NET_UNIXGRAM, c_path, fd, c_mac, features,
			      flags, NET_FLAG_VFKIT | NET_FLAG_DHCP_CLIENT);
}

int32_t krun_add_net_tap(uint32_t ctx_id, char *c_tap_name, uint8_t *const c_mac,
			 uint32_t features, uint32_t flags)
{
	struct vm_net net = { .backend = VM_NET_TAP, .path = c_tap_name, .fd = -1,
			      .features = features, .flags = flags };
	int ret;

	if (!c_tap_name || !*c_tap_name || strlen(c_tap_name) >= IFNAMSIZ)
		return API_EINVAL("a tap's name must be 1 to %d bytes", IFNAMSIZ - 1);
	if ((ret = mac_check(__func__, c_mac)) < 0 ||
	    (ret = bits_check(__func__, "feature", features, NET_ALL_FEATURES)) < 0 ||
	    (ret = bits_check(__func__, "flag", flags, NET_FLAG_DHCP_CLIENT)) < 0)
		return ret;
	/* The tap hands the guest what the host's stack offloaded to it, whose
	 * checksums only the guest's own checksum offload lets it leave out. */
	if ((features & NET_GUEST_OFFLOADS) && !(features & NET_FEATURE_GUEST_CSUM))
		return API_EINVAL("GUEST_TSO4, GUEST_TSO6 and GUEST_UFO need GUEST_CSUM");
	memcpy(net.mac, c_mac, sizeof(net.mac));
	return add_net(__func__, ctx_id, &net);
}

/* Our extension: the VMM's own router (devices/net/user.c). */
int32_t krun_add_net_user(uint32_t ctx_id, uint8_t *const c_mac, uint32_t features,
			  uint32_t flags)
{
	struct vm_net net = { .backend = VM_NET_USER, .fd = -1, .flags = flags };
	int ret;

	if ((ret = mac_check(__func__, c_mac)) < 0 ||
	    (ret = bits_check(__func__, "flag", flags, NET_FLAG_DHCP_CLIENT)) < 0)
		return ret;
	/* libslirp verifies every checksum the guest sends and segments nothing. */
	if (features != 0)
		return API_EINVAL("features 0x%x: the user-mode interface takes none", features);
	memcpy(net.mac, c_mac, sizeof(net.mac));
	return add_net(__func__, ctx_id, &net);
}

static int set_legacy_net(const char *caller, uint32_t ctx_id, struct vm_net *net)
{
	memcpy(net->mac, default_legacy_mac, sizeof(net->mac));
	net->features = COMPAT_NET_FEATURES;
	net->legacy = true;
	return add_net(caller, ctx_id, net);
}

int32_t krun_set_passt_fd(uint32_t ctx_id, int fd)
{
	struct vm_net net = { .backend = VM_NET_UNIXSTREAM, .fd = fd };
	int ret;

	if (fd == -1)
		return API_EINVAL("passt's descriptor is -1");
	if ((ret = socket_check(__func__, NULL, fd, SOCK_STREAM)) < 0)
		return ret;
	return set_legacy_net(__func__, ctx_id, &net);
}

int32_t krun_set_gvproxy_path(uint32_t ctx_id, char *c_path)
{
	struct vm_net net = { .backend = VM_NET_UNIXGRAM, .path = c_path, .fd = -1,
			      .flags = NET_FLAG_VFKIT };
	int ret;

	if (!c_path)
		return API_EINVAL("gvproxy's socket path is NULL");
	if ((ret = socket_check(__func__, c_path, -1, SOCK_DGRAM)) < 0)
		return ret;
	return set_legacy_net(__func__, ctx_id, &net);
}

int32_t krun_set_net_mac(uint32_t ctx_id, uint8_t *const c_mac)
{
	struct vm_config *cfg;
	int ret;

	if ((ret = mac_check(__func__, c_mac)) < 0)
		return ret;
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	memcpy(cfg->legacy_mac, c_mac, sizeof(cfg->legacy_mac));
	cfg->has_legacy_mac = true;
	if (cfg->nr_nets > 0 && cfg->nets[0].legacy)
		memcpy(cfg->nets[0].mac, c_mac, sizeof(cfg->nets[0].mac));
	ctx_unlock();
	return 0;
}
