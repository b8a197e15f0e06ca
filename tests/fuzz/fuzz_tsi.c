/* TSI's request parser (devices/vsock/tsi_request.c): the input is the
 * first bytes of a stream to TSI_PORT_V1, as a guest sends them (formats.h),
 * and, read again, a datagram frame's header (tsi_frame_parse).
 *
 * Beside ASan and UBSan, what the device relies on when it hands the
 * parser each packet's bytes as they come: a request's length is within
 * the bytes given and VSOCK_REQUEST_MAX; every shorter prefix of a
 * well-formed request reads as "more" (never malformed, never whole), and
 * no prefix of a malformed one reads as whole; a parsed request is one the
 * endpoint can serve as it is (a known op, a sockaddr of its family and
 * length, a UNIX path of arg bytes with no NUL); the same bytes parse the
 * same way again. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "devices/vsock/tsi.h"
#include "fuzz_input.h"

static void check_parsed(const struct tsi_parsed *p, int len)
{
	FUZZ_CHECK(len >= (int)sizeof(struct tsi_request) && len <= (int)VSOCK_REQUEST_MAX);
	FUZZ_CHECK(p->op >= TSI_OP_CONNECT && p->op <= TSI_OP_UNIX);
	FUZZ_CHECK(p->error == 0 || p->error == ENETUNREACH);
	if (p->addr_len)
		FUZZ_CHECK((p->addr.ss_family == AF_INET &&
			    p->addr_len == sizeof(struct sockaddr_in)) ||
			   (p->addr.ss_family == AF_INET6 &&
			    p->addr_len == sizeof(struct sockaddr_in6)));
	if (p->op == TSI_OP_CONNECT)
		FUZZ_CHECK(p->addr_len > 0);
	if (p->op == TSI_OP_UNIX)
		FUZZ_CHECK(p->arg >= 1 && p->arg <= TSI_UNIX_PATH_MAX &&
			   strlen(p->path) == p->arg &&
			   len == (int)(sizeof(struct tsi_request) + p->arg));
	else
		FUZZ_CHECK(len == (int)sizeof(struct tsi_request));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = size > VSOCK_REQUEST_MAX ? VSOCK_REQUEST_MAX : (uint32_t)size;
	struct tsi_parsed p, again;
	int whole = tsi_request_parse(data, len, &p);

	FUZZ_CHECK(whole == 0 || whole == -EPROTO || whole > 0);
	if (whole > 0) {
		check_parsed(&p, whole);
		FUZZ_CHECK(tsi_request_parse(data, len, &again) == whole);
		FUZZ_CHECK(memcmp(&p, &again, sizeof(p)) == 0);
	}
	/* What the device would have seen had the bytes come in pieces. */
	for (uint32_t cut = 0; cut < len; cut++) {
		int part = tsi_request_parse(data, cut, &again);
		if (whole > 0 && cut < (uint32_t)whole)
			FUZZ_CHECK(part == 0);
		else if (whole > 0)
			FUZZ_CHECK(part == whole);
		else
			FUZZ_CHECK(part <= 0);
	}
	/* The same bytes as a datagram frame's header (a DGRAM stream's, both
	 * ways): a length within a UDP payload and a destination of a host
	 * family, or malformed. */
	if (size >= sizeof(struct tsi_dgram)) {
		int flen = tsi_frame_parse(data, &p);
		FUZZ_CHECK(flen == -EPROTO || (flen >= 0 && flen <= (int)TSI_DGRAM_MAX));
		if (flen >= 0)
			FUZZ_CHECK((p.addr.ss_family == AF_INET &&
				    p.addr_len == sizeof(struct sockaddr_in)) ||
				   (p.addr.ss_family == AF_INET6 &&
				    p.addr_len == sizeof(struct sockaddr_in6)));
	}
	return 0;
}
