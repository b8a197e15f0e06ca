/* The vsock device through its transport, with the input as the guest's
 * driver and as the host's side of the ports' unix sockets: packets of any
 * op, ports, credit and shape, receive buffers given or not, host
 * connections made, written, read and closed between, resets; a TSI port
 * too, whose requests (with the unix feature only, beneath the sockets'
 * directory: its UNIX requests reach the CONNECT port's listener, no
 * network) come in the packets' payloads. Input format: formats.h.
 *
 * Beside ASan and UBSan: every used entry the driver reads is a packet of
 * the host (CID 2) to the guest (CID 3), no longer than its buffer and its
 * header's length; and after every action, the device's bounds hold: at
 * most VS_MAX_CONNS connections, VSOCK_MAX_PENDING host connections
 * offered, VSOCK_MAX_REPLIES resets owed, and each connection's held bytes
 * within its VSOCK_BUF_ALLOC, its request within VSOCK_REQUEST_MAX, its
 * prefix within VSOCK_PREFIX_MAX. */
#include <errno.h>
#include <fcntl.h>

#include "config/vm_config.h"
#include "devices/vsock/internal.h"
#include "devices/vsock/tsi.h"
#include "fuzz_input.h"
#include "../unit/vsock_driver.h"

/* Room left in guest memory for one more action's buffers. */
#define ROOM_NEEDED (VSOCK_MAX_PAYLOAD + 16 * 8192)

struct state {
	struct vsock_bench b;
	int host[VS_MAX_HOST_FDS]; /* the host's ends of connections, -1 when none */
	uint32_t offered_port;	   /* the host port of the last REQUEST read */
};

static void remove_dir(void)
{
	unlink(connect_path);
	unlink(listen_path);
	rmdir(vsock_dir);
}

/* The guest's memory and the sockets' directory, once, removed at exit. */
void fuzz_setup(void)
{
	if (vsock_driver_setup() < 0)
		abort();
	atexit(remove_dir);
}

static bool room(const struct vsock_bench *b)
{
	return b->driver.next_buf_gpa + ROOM_NEEDED <= b->driver.bufs_end;
}

static uint16_t outstanding(const struct vsock_bench *b, unsigned int q)
{
	return (uint16_t)(b->driver.avail_idx[q] - vqd_used_idx(&b->driver, q));
}

static void packet(struct state *s, struct input *in)
{
	static const uint32_t host_ports[] = { CONNECT_PORT, LISTEN_PORT, 4242, 0, TSI_PORT_V1 };
	static uint8_t payload[VSOCK_MAX_PAYLOAD + 1];
	uint8_t op = take_u8(in), shape = take_u8(in);
	uint32_t guest_port = 5000 + (take_u8(in) & 3), port_sel = take_u8(in) % 5;
	uint32_t buf_alloc = take_u32(in), fwd_cnt = take_u32(in);
	uint8_t flags = take_u8(in);
	uint32_t len = take_u16(in) % 4097;
	uint8_t n = take_u8(in);

	if (shape & VS_SHAPE_HUGE)
		len = VSOCK_MAX_PAYLOAD + 1;
	memset(payload, 0x5a, len);
	take_bytes(in, payload, n < len ? n : len);
	if (!room(&s->b) || outstanding(&s->b, VSOCK_TX_QUEUE) >= VB_QUEUE_SIZE / 2)
		return;
	struct virtio_vsock_hdr h = vb_hdr(op, guest_port,
					   port_sel == VS_PORT_OFFERED ? s->offered_port
								       : host_ports[port_sel], len);
	h.buf_alloc = htole32(buf_alloc);
	h.fwd_cnt = htole32(fwd_cnt);
	h.flags = htole32(flags);
	if (shape & VS_SHAPE_BAD_SRC)
		h.src_cid = htole64(99);
	if (shape & VS_SHAPE_BAD_DST)
		h.dst_cid = htole64(VSOCK_GUEST_CID);
	if (shape & VS_SHAPE_SEQPACKET)
		h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	if (shape & VS_SHAPE_LONGER)
		h.len = htole32(len + 1);
	if (shape & VS_SHAPE_SHORTER)
		h.len = htole32(len - 1);
	vb_send_raw(&s->b, &h, shape & VS_SHAPE_SHORT_HDR ? VSOCK_HDR_LEN / 2 : VSOCK_HDR_LEN,
		    payload, len);
}

static void offer(struct state *s, struct input *in)
{
	unsigned int n = take_u8(in) % 8 + 1;
	uint32_t size = take_u16(in) % 8192 + 1;

	if (room(&s->b) && outstanding(&s->b, VSOCK_RX_QUEUE) + n <= VB_QUEUE_SIZE / 2)
		vb_offer(&s->b, n, size);
}

static void recv_all(struct state *s)
{
	static uint8_t buf[8192];
	struct virtio_vsock_hdr h;

	while (vb_recv(&s->b, &h, buf, sizeof(buf))) {
		FUZZ_CHECK(le64toh(h.src_cid) == VSOCK_HOST_CID);
		FUZZ_CHECK(le64toh(h.dst_cid) == VSOCK_GUEST_CID);
		FUZZ_CHECK(le32toh(h.len) <= VSOCK_MAX_PAYLOAD);
		if (le16toh(h.op) == VIRTIO_VSOCK_OP_REQUEST)
			s->offered_port = le32toh(h.src_port);
	}
}

static int *free_slot(struct state *s)
{
	for (unsigned int i = 0; i < VS_MAX_HOST_FDS; i++) {
		if (s->host[i] < 0)
			return &s->host[i];
	}
	return NULL;
}

static void host(struct state *s, struct input *in)
{
	static uint8_t buf[65536];
	uint8_t action = take_u8(in) % 5;
	int *fd = &s->host[take_u8(in) % VS_MAX_HOST_FDS], *slot = free_slot(s);
	uint16_t len = take_u16(in);

	switch (action) {
	case VS_HOST_ACCEPT:
		if (slot)
			*slot = accept4(s->b.host_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case VS_HOST_CONNECT:
		if (slot) {
			struct sockaddr_un addr = { .sun_family = AF_UNIX };
			strcpy(addr.sun_path, listen_path);
			*slot = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (*slot >= 0 && connect(*slot, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
				close(*slot);
				*slot = -1;
			}
		}
		break;
	case VS_HOST_WRITE: /* as much as the socket takes */
		if (*fd >= 0)
			send(*fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case VS_HOST_READ:
		if (*fd >= 0)
			recv(*fd, buf, len, MSG_DONTWAIT);
		break;
	case VS_HOST_CLOSE:
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		break;
	}
}

/* The device's bounds, between actions. */
static void check_bounds(const struct virtio_vsock *v)
{
	FUZZ_CHECK(v->nr_conns <= VS_MAX_CONNS);
	FUZZ_CHECK(v->nr_pending <= VSOCK_MAX_PENDING);
	FUZZ_CHECK(v->nr_replies <= VSOCK_MAX_REPLIES);
	for (unsigned int i = 0; i < VSOCK_CONN_BUCKETS; i++) {
		for (const struct vsock_conn *c = v->buckets[i]; c; c = c->hash_next)
			FUZZ_CHECK(c->buf_len <= VSOCK_BUF_ALLOC &&
				   c->req_len <= VSOCK_REQUEST_MAX &&
				   c->prefix_sent <= c->prefix_len &&
				   c->prefix_len <= VSOCK_PREFIX_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	struct input in = { data, size };

	memset(s.host, -1, sizeof(s.host));
	s.offered_port = 0;
	check_failures = 0;
	struct vsock_endpoint *tsi;
	if (vsock_tsi_endpoint_open(VM_TSI_HIJACK_UNIX, vsock_dir, NULL, 0, &tsi) < 0)
		abort();
	vb_init_with(&s.b, VS_MAX_CONNS, tsi);
	while (!input_empty(&in)) {
		switch (take_u8(&in) % VS_NR_ACTIONS) {
		case VS_PACKET:
			packet(&s, &in);
			break;
		case VS_OFFER:
			offer(&s, &in);
			break;
		case VS_RECV:
			recv_all(&s);
			break;
		case VS_HOST:
			host(&s, &in);
			break;
		case VS_LOOP:
			vb_run(&s.b);
			break;
		case VS_RESET:
			wr(&s.b.t, VIRTIO_MMIO_STATUS, 0);
			vb_run(&s.b);
			vqd_start(&s.b.driver, 1ull << VIRTIO_F_VERSION_1, VSOCK_NR_QUEUES);
			s.b.rx_seen = 0;
			break;
		}
		check_bounds(&s.b.vsock);
	}
	recv_all(&s);
	vb_destroy(&s.b);
	for (unsigned int i = 0; i < VS_MAX_HOST_FDS; i++) {
		if (s.host[i] >= 0)
			close(s.host[i]);
	}
	/* the driver's own checks (vsock_driver.h): a device that broke them */
	FUZZ_CHECK(check_failures == 0);
	return 0;
}
