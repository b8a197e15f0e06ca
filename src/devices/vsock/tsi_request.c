/* TSI's requests, checked before anything is made of them (and the
 * addresses the VMM sends back, in the wire's form): every field
 * the guest sends has one meaning, and a request that gives any other
 * value is malformed (the stream is reset), so that a later version's
 * requests can never be half understood. No system call: the fuzzer's
 * target (tests/fuzz/fuzz_tsi.c). */
#include "devices/vsock/tsi.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* The wire's address as a sockaddr in out: false when malformed. A
 * v4-mapped IPv6 address becomes IPv4 (the VMM connects it so; the guest
 * shows it v4-mapped again). A link-local or scoped IPv6 one is well
 * formed but unreachable from the host (*error ENETUNREACH). */
static bool parse_addr(const struct tsi_addr *a, struct tsi_parsed *out)
{
	if (a->zero)
		return false;
	switch (le16toh(a->family)) {
	case 0:
		out->addr_len = 0;
		return all_zero(a, sizeof(*a));
	case AF_INET: {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
		if (a->flowinfo || a->scope_id || !all_zero(a->addr + 4, 12))
			return false;
		*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = a->port };
		memcpy(&sin->sin_addr, a->addr, 4);
		out->addr_len = sizeof(*sin);
		return true;
	}
	case AF_INET6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
		struct in6_addr ip;
		memcpy(&ip, a->addr, sizeof(ip));
		if (IN6_IS_ADDR_V4MAPPED(&ip)) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
			if (a->flowinfo || a->scope_id)
				return false;
			*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = a->port };
			memcpy(&sin->sin_addr, a->addr + 12, 4);
			out->addr_len = sizeof(*sin);
			return true;
		}
		if (a->scope_id || IN6_IS_ADDR_LINKLOCAL(&ip))
			out->error = ENETUNREACH;
		*sin6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = a->port,
					       .sin6_flowinfo = a->flowinfo, .sin6_addr = ip };
		out->addr_len = sizeof(*sin6);
		return true;
	}
	}
	return false;
}

int tsi_request_parse(const uint8_t *bytes, uint32_t len, struct tsi_parsed *out)
{
	struct tsi_request r;
	uint32_t total = sizeof(r);

	if (len < sizeof(r))
		return 0;
	memcpy(&r, bytes, sizeof(r));
	*out = (struct tsi_parsed){ .op = le16toh(r.op), .flags = le16toh(r.flags),
				    .arg = le32toh(r.arg) };
	if (!parse_addr(&r.addr, out))
		return -EPROTO;
	switch (out->op) {
	case TSI_OP_CONNECT:
		/* somewhere to connect to, nothing else said */
		if (out->flags || out->arg || out->addr_len == 0)
			return -EPROTO;
		break;
	case TSI_OP_LISTEN:
	case TSI_OP_DGRAM:
		/* the guest's bound address; the backlog is any number */
		if ((out->flags & ~TSI_FLAG_V6ONLY) || out->addr_len == 0 ||
		    (out->op == TSI_OP_DGRAM && out->arg))
			return -EPROTO;
		break;
	case TSI_OP_ACCEPT:
		if (out->flags || out->addr_len != 0)
			return -EPROTO;
		break;
	case TSI_OP_UNIX:
		if (out->flags || out->addr_len != 0 || out->arg < 1 ||
		    out->arg > TSI_UNIX_PATH_MAX)
			return -EPROTO;
		total += out->arg;
		if (len < total)
			return 0;
		if (memchr(bytes + sizeof(r), 0, out->arg))
			return -EPROTO;
		memcpy(out->path, bytes + sizeof(r), out->arg);
		out->path[out->arg] = 0;
		break;
	default:
		return -EPROTO;
	}
	return (int)total;
}

int tsi_frame_parse(const uint8_t *bytes, struct tsi_parsed *out)
{
	struct tsi_dgram f;

	memcpy(&f, bytes, sizeof(f));
	*out = (struct tsi_parsed){ .op = TSI_OP_DGRAM, .arg = le32toh(f.len) };
	if (out->arg > TSI_DGRAM_MAX || !parse_addr(&f.addr, out) || out->addr_len == 0)
		return -EPROTO;
	return (int)out->arg;
}

void tsi_wire_addr(const struct sockaddr_storage *ss, struct tsi_addr *out)
{
	*out = (struct tsi_addr){ 0 };
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		out->family = htole16(AF_INET);
		out->port = sin->sin_port;
		memcpy(out->addr, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		out->family = htole16(AF_INET6);
		out->port = sin6->sin6_port;
		out->flowinfo = sin6->sin6_flowinfo;
		memcpy(out->addr, &sin6->sin6_addr, 16);
		out->scope_id = htole32(sin6->sin6_scope_id);
	}
}
