/* The guard in front of libslirp (devices/net/tcp_guard.c): TCP segments of
 * eight connections both ways, the guest's with right or wrong checksums,
 * and raw frames either way, over a table that holds only four of them (so
 * that flows are evicted, with and without a charge). Input format:
 * formats.h.
 *
 * Beside ASan and UBSan: what all flows are charged never passes
 * TCP_GUARD_HELD_BYTES, the table never holds more than its capacity, and
 * a guest segment whose checksum is wrong is never forwarded. */
#include <netinet/in.h>

#include "devices/net/csum.h"
#include "devices/net/tcp_guard.h"
#include "fuzz_input.h"

static uint8_t frame[14 + 20 + 20 + TG_MAX_DATA];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A TCP segment between 10.0.2.15:port and 10.0.2.2:80, its checksums
 * right: its length. */
static size_t segment(bool from_guest, uint16_t port, uint8_t flags, uint32_t seq, uint32_t ack,
		      uint16_t win, uint16_t len)
{
	const uint32_t guest = 0x0a00020f, gateway = 0x0a000202;
	uint8_t *ip = frame + 14, *tcp = ip + 20, pseudo[12];
	uint16_t l4 = (uint16_t)(20 + len);

	memset(frame, 0, 14 + 20 + 20);
	put16(frame + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4));
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 12, from_guest ? guest : gateway);
	put32(ip + 16, from_guest ? gateway : guest);
	put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
	put16(tcp, from_guest ? port : 80);
	put16(tcp + 2, from_guest ? 80 : port);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, win);
	memset(tcp + 20, 'd', len);
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, l4);
	put16(tcp + 16, net_csum_fold(net_csum_add(net_csum_add(0, pseudo, 12), tcp, l4)));
	return 14 + 20 + l4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct tcp_guard g;

	if (tcp_guard_init(&g, TG_MAX_SOCKETS) < 0)
		return 0;
	while (!input_empty(&in)) {
		uint8_t action = take_u8(&in), op = action & 3;
		uint16_t port = (uint16_t)(TG_PORT + (action >> 2 & 7));

		if (op == TG_GUEST || op == TG_STACK) {
			uint8_t flags = take_u8(&in);
			uint16_t seq = take_u16(&in), ack = take_u16(&in);
			uint16_t win = op == TG_STACK ? take_u16(&in) : 65535;
			uint16_t len = take_u16(&in) % (TG_MAX_DATA + 1);
			bool guest = op == TG_GUEST;
			size_t n = segment(guest, port, flags,
					   (guest ? TG_GUEST_ISN : TG_STACK_ISN) + seq,
					   (guest ? TG_STACK_ISN : TG_GUEST_ISN) + ack, win, len);
			if (!guest) {
				tcp_guard_to_guest(&g, frame, n);
			} else if (take_u8(&in) & 1) {
				frame[14 + 20 + 17] ^= 1;
				FUZZ_CHECK(tcp_guard_from_guest(&g, frame, n) == TCP_GUARD_MALFORMED);
			} else {
				tcp_guard_from_guest(&g, frame, n);
			}
		} else {
			/* a heap block of exactly the frame's length: ASan sees a read past it */
			size_t n = take_u16(&in) % (TG_RAW_MAX + 1);
			uint8_t *raw = malloc(n ? n : 1);
			if (!raw)
				break;
			take_bytes(&in, raw, n);
			if (op == TG_RAW_GUEST)
				tcp_guard_from_guest(&g, raw, n);
			else
				tcp_guard_to_guest(&g, raw, n);
			free(raw);
		}
		FUZZ_CHECK(g.held_bytes <= TCP_GUARD_HELD_BYTES);
		FUZZ_CHECK(g.nr_flows <= g.capacity);
	}
	tcp_guard_destroy(&g);
	return 0;
}
