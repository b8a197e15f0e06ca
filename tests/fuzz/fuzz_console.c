/* The console device through its transport, with the input as the guest's
 * driver: chains of any shape on any queue (receive, transmit, control),
 * control messages for any port, kicks, resets, guest memory overwritten
 * under the device, and the host side typing, hanging up and resizing
 * between. Input format: formats.h.
 *
 * Beside ASan and UBSan, while the driver keeps to its own bookkeeping (no
 * CON_POKE yet): every used entry names a chain the driver offered and not
 * yet got back, with no more bytes written than it had room for, and every
 * transmitted chain's bytes reached its port's output, in order, nothing
 * else.
 *
 * Port 0's output is a pipe that only CON_DRAIN reads, so the device meets a
 * full pipe (watched for room, resumed by the loop), its own bound (the
 * guest's chains left in the ring) and the final flush's stall (dropping).
 * The fuzz build makes the bound and the stall small (meson.build). What the
 * pipe gives must agree with the chains given back, in order; the device
 * may run ahead of them by the chain it took in part. At the end, the pipe
 * drained and the loop turned, it must be exactly their bytes, unless the
 * output ended or the driver reset the device (a chain taken in part is
 * then written, but never given back). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>

#include "devices/console/console.h"
#include "fuzz_input.h"
#include "virtio/mmio.h"

#define MEM_SIZE 0x8000
#define RINGS_GPA 0x1000 /* queue q's rings at RINGS_GPA + q * RINGS_STRIDE */
#define RINGS_STRIDE 0x400
#define AVAIL_OFFSET 0x100
#define USED_OFFSET 0x200
#define BUFS_GPA 0x4000 /* descriptor d of queue q owns one buffer of SEG_MAX */
#define SEG_MAX 128
#define OUT_MAX (1 << 20) /* output a port keeps; past it, writes fail */
#define PIPE_PORT 0
#define PIPE_SIZE 4096 /* its capacity: one page, the least a pipe has */

/* A chain the driver offered, until the device gives it back. */
struct chain {
	bool offered;
	uint8_t nr_descs;
	uint8_t descs[CON_QUEUE_SIZE];
	uint32_t writable;
};

struct queue {
	uint8_t busy; /* descriptors in offered chains, one bit each */
	uint16_t avail_idx;
	uint16_t used_seen;
	struct chain chains[CON_QUEUE_SIZE]; /* by head */
};

/* A global: ASan puts a redzone after it, and it is not mapped again for
 * each input. */
static uint8_t guest_memory[MEM_SIZE];
/* PIPE_PORT's stream: the bytes of the chains given back, and what the pipe
 * gave (globals for their size). */
static uint8_t pipe_expected[OUT_MAX], pipe_got[OUT_MAX];

struct bench {
	struct guest_memory gm;
	uint8_t *mem;
	struct event_loop loop;
	struct console con;
	struct virtio_mmio t;
	int pty, tty;	  /* the console's terminal: its master, its slave */
	int stdin_pipe[2];
	int file_in;	  /* krun-stderr's input, a regular file */
	int out[CON_NR_PORTS]; /* each port's output, -1 for krun-stdin's */
	off_t out_checked[CON_NR_PORTS];
	int pipe_in;	       /* PIPE_PORT's output: the end the host reads */
	uint32_t filler_left;  /* of CON_PIPE_FILL, still to be read */
	bool pipe_synced;      /* no reset yet: the pipe carries used chains only */
	uint32_t expected_len, got_len;
	struct queue queues[CONSOLE_NR_QUEUES];
	bool bookkeeping; /* false once the driver wrote over guest memory */
};

static uint64_t desc_gpa(unsigned int q)
{
	return RINGS_GPA + q * RINGS_STRIDE;
}

static void *guest(struct bench *b, uint64_t gpa)
{
	return b->mem + gpa;
}

static uint64_t buf_gpa(unsigned int q, unsigned int d)
{
	return BUFS_GPA + (q * CON_QUEUE_SIZE + d) * SEG_MAX;
}

/* The port whose output a transmit queue carries, or -1. */
static int tx_port(unsigned int q)
{
	if (q == CONSOLE_TX_QUEUE)
		return 0;
	return q > CONSOLE_CTRL_TX_QUEUE && q % 2 ? (int)q / 2 - 1 : -1;
}

static void mmio_write(struct bench *b, uint64_t offset, uint32_t value)
{
	value = htole32(value);
	virtio_mmio_write(&b->t, offset, &value, sizeof(value));
}

static void driver_init(struct bench *b, uint8_t features)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_CONSOLE_F_SIZE) |
		     (features & CON_F_MULTIPORT ? 1ull << VIRTIO_CONSOLE_F_MULTIPORT : 0) |
		     (features & CON_F_EVENT_IDX ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
		     (features & CON_F_INDIRECT ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0);

	memset(b->mem, 0, MEM_SIZE);
	memset(b->queues, 0, sizeof(b->queues));
	mmio_write(b, VIRTIO_MMIO_STATUS, 0);
	mmio_write(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_write(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_write(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_write(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	mmio_write(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_write(b, VIRTIO_MMIO_DRIVER_FEATURES, f >> 32);
	mmio_write(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					      VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < b->con.vdev.nr_queues; q++) {
		mmio_write(b, VIRTIO_MMIO_QUEUE_SEL, q);
		mmio_write(b, VIRTIO_MMIO_QUEUE_NUM, CON_QUEUE_SIZE);
		mmio_write(b, VIRTIO_MMIO_QUEUE_DESC_LOW, desc_gpa(q));
		mmio_write(b, VIRTIO_MMIO_QUEUE_AVAIL_LOW, desc_gpa(q) + AVAIL_OFFSET);
		mmio_write(b, VIRTIO_MMIO_QUEUE_USED_LOW, desc_gpa(q) + USED_OFFSET);
		mmio_write(b, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	mmio_write(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					      VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

/* The next chain of the input onto queue q, in free descriptors; a driver
 * with too few free waits (the chain is not offered). */
static void add_chain(struct bench *b, unsigned int q, struct input *in)
{
	uint8_t segs = take_u8(in);
	unsigned int n = (segs & 7) + 1, head = 0, prev = 0;
	struct queue *qs = &b->queues[q];
	struct vring_desc *desc = guest(b, desc_gpa(q));
	struct vring_avail *avail = guest(b, desc_gpa(q) + AVAIL_OFFSET);
	struct chain c = { .offered = true };

	for (unsigned int d = 0; d < CON_QUEUE_SIZE && c.nr_descs < n; d++) {
		if (!(qs->busy & (1u << d)))
			c.descs[c.nr_descs++] = d;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint8_t seg = take_u8(in);
		uint32_t len = (seg & 0x7f) + 1;
		bool writable = seg & CON_SEG_WRITABLE;
		uint8_t data[SEG_MAX];

		if (!writable)
			take_bytes(in, data, len);
		if (c.nr_descs < n)
			continue;
		unsigned int d = c.descs[i];
		if (writable)
			c.writable += len;
		else
			memcpy(guest(b, buf_gpa(q, d)), data, len);
		desc[d] = (struct vring_desc){
			.addr = htole64(buf_gpa(q, d)),
			.len = htole32(len),
			.flags = htole16(writable ? VRING_DESC_F_WRITE : 0),
		};
		if (i == 0) {
			head = d;
		} else {
			desc[prev].flags |= htole16(VRING_DESC_F_NEXT);
			desc[prev].next = htole16(d);
		}
		prev = d;
		qs->busy |= 1u << d;
	}
	if (c.nr_descs < n)
		return;
	qs->chains[head] = c;
	avail->ring[qs->avail_idx % CON_QUEUE_SIZE] = htole16(head);
	__atomic_store_n(&avail->idx, htole16(++qs->avail_idx), __ATOMIC_RELEASE);
	if (segs & CON_CHAIN_KICK)
		virtio_mmio_notify(&b->t, q);
}

/* A transmitted chain: its readable bytes must be the port's next output. */
static void check_output(struct bench *b, unsigned int q, const struct chain *c)
{
	const struct vring_desc *desc = guest(b, desc_gpa(q));
	int port = tx_port(q);

	if (port < 0 || b->out[port] < 0)
		return;
	for (unsigned int i = 0; i < c->nr_descs; i++) {
		const struct vring_desc *d = &desc[c->descs[i]];
		uint32_t len = le32toh(d->len);
		uint8_t written[SEG_MAX];

		if (le16toh(d->flags) & VRING_DESC_F_WRITE)
			break;
		if (port == PIPE_PORT) {
			if (b->expected_len + len <= OUT_MAX)
				memcpy(pipe_expected + b->expected_len, guest(b, le64toh(d->addr)),
				       len);
			b->expected_len += len;
			continue;
		}
		FUZZ_CHECK(pread(b->out[port], written, len, b->out_checked[port]) == len);
		FUZZ_CHECK(memcmp(written, guest(b, le64toh(d->addr)), len) == 0);
		b->out_checked[port] += len;
	}
}

/* What the device gave back since the last look. */
static void check_used(struct bench *b)
{
	for (unsigned int q = 0; b->bookkeeping && q < b->con.vdev.nr_queues; q++) {
		struct queue *qs = &b->queues[q];
		const struct vring_used *used = guest(b, desc_gpa(q) + USED_OFFSET);
		uint16_t idx = le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));

		FUZZ_CHECK((uint16_t)(idx - qs->used_seen) <= CON_QUEUE_SIZE);
		for (; qs->used_seen != idx; qs->used_seen++) {
			const struct vring_used_elem *e =
				&used->ring[qs->used_seen % CON_QUEUE_SIZE];
			uint32_t head = le32toh(e->id);
			struct chain *c = &qs->chains[head % CON_QUEUE_SIZE];

			FUZZ_CHECK(head < CON_QUEUE_SIZE && c->offered);
			FUZZ_CHECK(le32toh(e->len) <= c->writable);
			check_output(b, q, c);
			for (unsigned int i = 0; i < c->nr_descs; i++)
				qs->busy &= ~(1u << c->descs[i]);
			c->offered = false;
		}
	}
}

/* The host reads up to max bytes of the pipe: the filler first, then what
 * must agree with the chains given back. */
static void drain(struct bench *b, uint32_t max)
{
	uint8_t data[4096];
	ssize_t n = read(b->pipe_in, data, max < sizeof(data) ? max : sizeof(data));
	uint32_t filler = 0;

	if (n <= 0)
		return;
	if (b->filler_left) {
		filler = (uint32_t)n < b->filler_left ? (uint32_t)n : b->filler_left;
		for (uint32_t i = 0; i < filler; i++)
			FUZZ_CHECK(data[i] == 'f');
		b->filler_left -= filler;
	}
	for (uint32_t i = filler; i < (uint32_t)n && b->got_len < OUT_MAX; i++)
		pipe_got[b->got_len++] = data[i];
	if (!b->bookkeeping || !b->pipe_synced)
		return;
	/* ahead of the chains given back by one chain at most */
	FUZZ_CHECK(b->got_len <= b->expected_len + CON_QUEUE_SIZE * SEG_MAX);
	uint32_t common = b->got_len < b->expected_len ? b->got_len : b->expected_len;
	FUZZ_CHECK(memcmp(pipe_got, pipe_expected, common) == 0);
}

/* The host reads the pipe to its end, the loop turning between reads (its
 * watch writes more as room appears), until neither moves. */
static void drain_all(struct bench *b)
{
	for (int quiet = 0; quiet < 2;) {
		uint32_t before = b->got_len + b->filler_left;

		drain(b, 4096);
		quiet = event_loop_run_once(&b->loop, 0) == 0 &&
				b->got_len + b->filler_left == before ? quiet + 1 : 0;
		check_used(b);
	}
}

static void control(struct bench *b, struct input *in)
{
	struct virtio_console_control msg = {
		.id = htole32(take_u32(in)), .event = htole16(take_u16(in)),
		.value = htole16(take_u16(in)),
	};
	/* one readable segment of the message's 8 bytes, kicked */
	uint8_t chain[2 + sizeof(msg)] = { CON_CHAIN_KICK, sizeof(msg) - 1 };
	struct input msg_in = { chain, sizeof(chain) };

	memcpy(chain + 2, &msg, sizeof(msg));
	add_chain(b, CONSOLE_CTRL_TX_QUEUE, &msg_in);
}

static void host_input(struct bench *b, unsigned int port, struct input *in)
{
	uint8_t data[256];
	size_t len = take_u8(in);
	ssize_t unused;

	take_bytes(in, data, len);
	switch (port % CON_NR_PORTS) {
	case 0:
		if (b->pty >= 0)
			unused = write(b->pty, data, len);
		break;
	case 1:
		if (b->stdin_pipe[1] >= 0)
			unused = write(b->stdin_pipe[1], data, len);
		break;
	case 3:
		unused = pwrite(b->file_in, data, len, lseek(b->file_in, 0, SEEK_END));
		break;
	}
	(void)unused;
}

static void hang_up(struct bench *b, unsigned int port)
{
	int *fd = port % CON_NR_PORTS == 0 ? &b->pty : port % CON_NR_PORTS == 1 ? &b->stdin_pipe[1]
										 : NULL;

	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* The terminal changes size; the driver reads the config space again, as
 * one without multiport does on the change's interrupt. */
static void resize(struct bench *b, struct input *in)
{
	struct winsize ws = { .ws_col = take_u16(in), .ws_row = take_u16(in) }, now = { 0 };
	struct virtio_console_config config;

	ioctl(b->tty, TIOCSWINSZ, &ws);
	console_resized(&b->con);
	for (uint32_t at = 0; at < sizeof(config); at += 4)
		virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG + at, (uint8_t *)&config + at, 4);
	/* the size the terminal has (none once it hung up) */
	ioctl(b->tty, TIOCGWINSZ, &now);
	FUZZ_CHECK(le16toh(config.cols) == now.ws_col && le16toh(config.rows) == now.ws_row &&
		   le32toh(config.max_nr_ports) == CON_NR_PORTS);
}

static void poke(struct bench *b, struct input *in)
{
	uint32_t gpa = take_u16(in) % MEM_SIZE, len = take_u8(in);

	if (len > MEM_SIZE - gpa)
		len = MEM_SIZE - gpa;
	take_bytes(in, guest(b, gpa), len);
	b->bookkeeping = false;
}

static void run_action(struct bench *b, struct input *in)
{
	switch (take_u8(in) % CON_NR_ACTIONS) {
	case CON_CHAIN:
		add_chain(b, take_u8(in) % b->con.vdev.nr_queues, in);
		break;
	case CON_KICK:
		virtio_mmio_notify(&b->t, take_u8(in));
		break;
	case CON_INPUT:
		host_input(b, take_u8(in), in);
		break;
	case CON_HANG_UP:
		hang_up(b, take_u8(in));
		break;
	case CON_LOOP:
		event_loop_run_once(&b->loop, 0);
		break;
	case CON_RESIZE:
		resize(b, in);
		break;
	case CON_INTERRUPT:
		console_interrupt(&b->con);
		break;
	case CON_FLUSH:
		console_flush(&b->con);
		break;
	case CON_REINIT:
		driver_init(b, take_u8(in));
		b->pipe_synced = false;
		break;
	case CON_POKE:
		poke(b, in);
		break;
	case CON_CONTROL:
		control(b, in);
		break;
	case CON_DRAIN:
		drain(b, (take_u8(in) + 1u) * 16);
		break;
	}
}

/* An output that never blocks and keeps at most OUT_MAX bytes. */
static int output_file(void)
{
	int fd = memfd_create("console-output", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	FUZZ_CHECK(fd >= 0 && ftruncate(fd, OUT_MAX) == 0 &&
		   fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0);
	return fd;
}

/* PIPE_PORT's output: a pipe of PIPE_SIZE, CON_PIPE_FILL of it full. */
static int output_pipe(struct bench *b)
{
	static const uint8_t filler[CON_PIPE_FILL] = { [0 ... CON_PIPE_FILL - 1] = 'f' };
	int fds[2];

	/* the host's end blocking, as a shell gives it: the console makes it
	 * non-blocking for its run */
	FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0 && fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0 &&
		   fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE) == PIPE_SIZE &&
		   write(fds[1], filler, sizeof(filler)) == sizeof(filler));
	b->pipe_in = fds[0];
	b->filler_left = CON_PIPE_FILL;
	b->pipe_synced = true;
	return fds[1];
}

static void ignore_irq(void *opaque)
{
	(void)opaque;
}

static void bench_init(struct bench *b)
{
	static const struct virtio_mmio_config cfg = { .base = 0xd0000000, .irq = 5,
						       .raise_irq = ignore_irq };
	struct console_port_config ports[CON_NR_PORTS];

	*b = (struct bench){ .bookkeeping = true, .out = { -1, -1, output_file(), output_file() } };
	b->out[PIPE_PORT] = output_pipe(b);
	b->mem = guest_memory;
	FUZZ_CHECK(gm_add_host(&b->gm, 0, MEM_SIZE, b->mem) == 0);
	b->pty = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	FUZZ_CHECK(b->pty >= 0 && grantpt(b->pty) == 0 && unlockpt(b->pty) == 0);
	b->tty = open(ptsname(b->pty), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	FUZZ_CHECK(b->tty >= 0 && pipe2(b->stdin_pipe, O_CLOEXEC | O_NONBLOCK) == 0);
	b->file_in = memfd_create("console-input", MFD_CLOEXEC);
	FUZZ_CHECK(b->file_in >= 0);
	ports[0] = (struct console_port_config){ NULL, b->tty, b->out[0] };
	ports[1] = (struct console_port_config){ "krun-stdin", b->stdin_pipe[0], -1 };
	ports[2] = (struct console_port_config){ "krun-stdout", -1, b->out[2] };
	ports[3] = (struct console_port_config){ "krun-stderr", b->file_in, b->out[3] };
	FUZZ_CHECK(event_loop_init(&b->loop) == 0);
	FUZZ_CHECK(console_init(&b->con, ports, CON_NR_PORTS, b->tty, &b->loop) == 0);
	FUZZ_CHECK(virtio_mmio_init(&b->t, &b->con.vdev, &b->gm, &cfg) == 0);
}

static void bench_destroy(struct bench *b)
{
	int fds[] = { b->pty, b->tty, b->stdin_pipe[0], b->stdin_pipe[1], b->file_in,
		      b->out[0], b->out[2], b->out[3], b->pipe_in };

	mmio_write(b, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_destroy(&b->t);
	console_destroy(&b->con);
	event_loop_destroy(&b->loop);
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct bench b;

	bench_init(&b);
	driver_init(&b, take_u8(&in));
	while (!input_empty(&in)) {
		run_action(&b, &in);
		check_used(&b);
	}
	/* nothing written that no used chain accounts for */
	for (unsigned int p = 0; b.bookkeeping && p < CON_NR_PORTS; p++)
		FUZZ_CHECK(b.out[p] < 0 || p == PIPE_PORT ||
			   lseek(b.out[p], 0, SEEK_CUR) == b.out_checked[p]);
	/* nor to the pipe, once the host read it all: every chain's bytes */
	drain_all(&b);
	if (b.bookkeeping && b.pipe_synced && console_output_open(&b.con.ports[PIPE_PORT].output))
		FUZZ_CHECK(b.expected_len > OUT_MAX || b.got_len == b.expected_len);
	bench_destroy(&b);
	return 0;
}
