/* virtio-console through the MMIO transport, with the test as the guest's
 * driver: rings in fake guest memory, output into a pipe, input from a pipe
 * (or nothing, /dev/null, a file) dispatched by one event-loop turn at a time. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "check.h"
#include "mmio_access.h"
#include "devices/console/console.h"
#include "virtio/mmio.h"

#define MEM_SIZE 0x100000
#define QUEUE_SIZE 8
#define RINGS_GPA 0x1000 /* each queue's rings: 0x4000 apart */
#define RINGS_STRIDE 0x4000
#define BUFS_GPA 0x40000
#define SLOT_BASE 0xd0000000ull

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_RUNNING (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct guest_memory gm;

/* The device, its transport, its event loop and the driver's state. */
struct bench {
	struct event_loop loop;
	struct console con;
	struct virtio_mmio t;
	unsigned int irqs;
	int out[2]; /* the console writes out[1]; the test reads out[0] */
	int in[2];  /* with bench_init_piped: the test writes in[1] */
	int out2[2]; /* multiport: krun-stdout's output */
	uint64_t ctrl_gpa[QUEUE_SIZE]; /* control receive buffers, by head */
	uint16_t ctrl_seen;	       /* control messages read so far */
	uint16_t next_desc[CONSOLE_NR_QUEUES];
	uint16_t avail_idx[CONSOLE_NR_QUEUES];
	uint64_t next_buf_gpa;
};

/* One buffer of a chain the driver adds: data to send, or room to receive. */
struct seg {
	const char *data; /* readable: its bytes; NULL: writable, len bytes */
	uint32_t len;
	uint64_t gpa; /* filled in by add_chain */
};

static uint64_t desc_gpa(unsigned int q)
{
	return RINGS_GPA + q * RINGS_STRIDE;
}

static uint64_t avail_gpa(unsigned int q)
{
	return desc_gpa(q) + 0x1000;
}

static uint64_t used_gpa(unsigned int q)
{
	return desc_gpa(q) + 0x2000;
}

static struct vring_desc *desc_table(unsigned int q)
{
	return gm_ptr(&gm, desc_gpa(q), QUEUE_SIZE * sizeof(struct vring_desc));
}

static struct vring_avail *avail_ring(unsigned int q)
{
	return gm_ptr(&gm, avail_gpa(q), 0x1000);
}

static struct vring_used *used_ring(unsigned int q)
{
	return gm_ptr(&gm, used_gpa(q), 0x1000);
}

static void count_irq(void *opaque)
{
	struct bench *b = opaque;

	b->irqs++;
}

static void make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
}

static void setup_queue(struct bench *b, unsigned int q)
{
	wr(&b->t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(&b->t, VIRTIO_MMIO_QUEUE_NUM, QUEUE_SIZE);
	wr(&b->t, VIRTIO_MMIO_QUEUE_DESC_LOW, desc_gpa(q));
	wr(&b->t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(&b->t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail_gpa(q));
	wr(&b->t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(&b->t, VIRTIO_MMIO_QUEUE_USED_LOW, used_gpa(q));
	wr(&b->t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(&b->t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* What a driver does after a reset: fresh rings, features, both queues, and
 * DRIVER_OK unless the test wants to queue buffers first. */
static void driver_init(struct bench *b, uint64_t features, bool driver_ok)
{
	memset(gm_ptr(&gm, 0, MEM_SIZE), 0, MEM_SIZE);
	memset(b->next_desc, 0, sizeof(b->next_desc));
	memset(b->avail_idx, 0, sizeof(b->avail_idx));
	b->next_buf_gpa = BUFS_GPA;

	wr(&b->t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(&b->t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	wr(&b->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&b->t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(&b->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&b->t, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
	wr(&b->t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ_INT(rd(&b->t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
	for (unsigned int q = 0; q < b->con.vdev.nr_queues; q++)
		setup_queue(b, q);
	if (driver_ok) {
		wr(&b->t, VIRTIO_MMIO_STATUS, S_RUNNING);
		CHECK_EQ_INT(rd(&b->t, VIRTIO_MMIO_STATUS), S_RUNNING);
	}
}

static void driver_up(struct bench *b)
{
	driver_init(b, 1ull << VIRTIO_F_VERSION_1, true);
}

/* A console writing to a fresh pipe and reading in_fd, on a transport with
 * the driver not yet started. */
/* The bench's fds and transport around a console of nr_ports ports. */
static void bench_init_ports(struct bench *b, struct console_port_config *ports,
			     unsigned int nr_ports, int term_fd)
{
	const struct virtio_mmio_config cfg = {
		.base = SLOT_BASE, .irq = 5, .raise_irq = count_irq, .irq_opaque = b,
	};

	CHECK_EQ_INT(event_loop_init(&b->loop), 0);
	CHECK_EQ_INT(console_init(&b->con, ports, nr_ports, term_fd, &b->loop), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->con.vdev, &gm, &cfg), 0);
}

/* Output pipes the test reads what is there from, without waiting for more. */
static void make_output_pipe(int fds[2])
{
	make_pipe(fds);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

/* Port 0 alone, writing to a fresh pipe and reading in_fd. */
static void bench_init(struct bench *b, int in_fd)
{
	*b = (struct bench){ .in = { -1, -1 }, .out2 = { -1, -1 } };
	make_output_pipe(b->out);
	struct console_port_config port = { .in_fd = in_fd, .out_fd = b->out[1] };
	bench_init_ports(b, &port, 1, in_fd >= 0 && isatty(in_fd) ? in_fd : -1);
}

/* The same, reading a pipe the test types into. */
static void bench_init_piped(struct bench *b)
{
	int in[2];

	make_pipe(in);
	bench_init(b, in[0]);
	memcpy(b->in, in, sizeof(in));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The other end of the input goes away. */
static void hang_up(struct bench *b)
{
	close_fd(&b->in[1]);
}

static void type(struct bench *b, const char *keys)
{
	CHECK_EQ_INT(write(b->in[1], keys, strlen(keys)), strlen(keys));
}

static void bench_destroy(struct bench *b)
{
	virtio_mmio_destroy(&b->t);
	console_destroy(&b->con);
	event_loop_destroy(&b->loop);
	for (int i = 0; i < 2; i++) {
		close_fd(&b->out[i]);
		close_fd(&b->in[i]);
		close_fd(&b->out2[i]);
	}
}

/* Chain segs in the next free descriptors, copying readable data into fresh
 * guest buffers, and make the chain available (the driver's side of
 * virtq_pop). Returns the head. */
static uint16_t add_chain(struct bench *b, unsigned int q, struct seg *segs, unsigned int n)
{
	struct vring_desc *desc = desc_table(q);
	struct vring_avail *avail = avail_ring(q);
	uint16_t head = b->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = b->next_desc[q];

		segs[i].gpa = b->next_buf_gpa;
		b->next_buf_gpa += (segs[i].len + 15) & ~15u;
		if (segs[i].data)
			gm_write(&gm, segs[i].gpa, segs[i].data, segs[i].len);
		b->next_desc[q] = (d + 1) % QUEUE_SIZE;
		desc[d] = (struct vring_desc){
			.addr = segs[i].gpa,
			.len = segs[i].len,
			.flags = (segs[i].data ? 0 : VRING_DESC_F_WRITE) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = b->next_desc[q],
		};
	}
	avail->ring[b->avail_idx[q] % QUEUE_SIZE] = head;
	__atomic_store_n(&avail->idx, ++b->avail_idx[q], __ATOMIC_RELEASE);
	return head;
}

static void kick(struct bench *b, unsigned int q)
{
	wr(&b->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Check that the used ring holds idx entries, the last one for head with len
 * bytes written. */
static void check_used(unsigned int q, uint16_t idx, uint16_t head, uint32_t len)
{
	struct vring_used *used = used_ring(q);
	struct vring_used_elem *elem = &used->ring[(uint16_t)(idx - 1) % QUEUE_SIZE];

	CHECK_EQ_INT(used->idx, idx);
	CHECK_EQ_INT(elem->id, head);
	CHECK_EQ_INT(elem->len, len);
}

/* Everything written to a pipe so far, NUL-terminated. */
static const char *pipe_output(int fd)
{
	static char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Everything port 0 wrote so far. */
static const char *output(struct bench *b)
{
	return pipe_output(b->out[0]);
}

static bool needs_reset(struct bench *b)
{
	return rd(&b->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Bytes waiting in a pipe. */
static int pending(int fd)
{
	int n = -1;

	ioctl(fd, FIONREAD, &n);
	return n;
}

/* Run the event loop until it is idle; how many turns had events. A watch
 * that keeps firing with nothing to do shows up as a large count. */
static int run_until_idle(struct bench *b)
{
	int turns = 0;

	while (turns < 100 && event_loop_run_once(&b->loop, 0) > 0)
		turns++;
	return turns;
}

/* Queue one readable segment per string as a single chain, not yet kicked. */
static uint16_t transmit(struct bench *b, const char *const *strings, unsigned int n)
{
	struct seg segs[QUEUE_SIZE];

	for (unsigned int i = 0; i < n; i++)
		segs[i] = (struct seg){ .data = strings[i], .len = strlen(strings[i]) };
	return add_chain(b, CONSOLE_TX_QUEUE, segs, n);
}

static void test_identity(void)
{
	struct bench b;
	uint8_t config[12];
	uint32_t max_nr_ports;

	bench_init(&b, -1);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	wr(&b.t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	/* a lone console: size, no multiport (a console at probe time), no
	 * emergency write */
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_FEATURES),
		     (1u << VIRTIO_CONSOLE_F_SIZE) | (1u << VIRTIO_RING_F_INDIRECT_DESC) |
			     (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(&b.t, VIRTIO_MMIO_QUEUE_SEL, CONSOLE_TX_QUEUE);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_QUEUE_NUM_MAX), CONSOLE_QUEUE_SIZE);
	/* its two queues, no control pair */
	wr(&b.t, VIRTIO_MMIO_QUEUE_SEL, CONSOLE_CTRL_RX_QUEUE);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	memset(config, 0xff, sizeof(config));
	for (unsigned int i = 0; i < sizeof(config); i += 4)
		virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG + i, config + i, 4);
	memcpy(&max_nr_ports, config + 4, 4);
	CHECK_EQ_INT(max_nr_ports, 1);
	for (unsigned int i = 0; i < sizeof(config); i++)
		CHECK_EQ_INT(config[i], i == 4);
	bench_destroy(&b);
}

static void test_transmit(void)
{
	static const char *const hello[] = { "hello, world\n" };
	static const char *const pieces[] = { "one ", "two ", "three\n" };
	struct bench b;
	uint16_t head;

	bench_init(&b, -1);
	driver_up(&b);
	head = transmit(&b, hello, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "hello, world\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 1, head, 0);
	CHECK_EQ_INT(b.irqs, 1);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(&b.t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	/* several buffers in one chain, then two chains for one kick */
	head = transmit(&b, pieces, ARRAY_SIZE(pieces));
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "one two three\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 2, head, 0);
	transmit(&b, pieces, 1);
	head = transmit(&b, pieces + 1, 2);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "one two three\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 4, head, 0);
	CHECK_EQ_INT(b.irqs, 3);
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_out, 13 + 14 + 14);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* Buffers waiting for a kick are written at activation and by console_flush. */
static void test_flush(void)
{
	static const char *const early[] = { "before DRIVER_OK\n" };
	static const char *const late[] = { "never ", "kicked\n" };
	struct bench b;
	uint16_t head;

	bench_init(&b, -1);
	driver_init(&b, 1ull << VIRTIO_F_VERSION_1, false);
	head = transmit(&b, early, 1);
	kick(&b, CONSOLE_TX_QUEUE); /* dropped: not running yet */
	console_flush(&b.con);
	CHECK(strcmp(output(&b), "") == 0);
	wr(&b.t, VIRTIO_MMIO_STATUS, S_RUNNING);
	CHECK(strcmp(output(&b), "before DRIVER_OK\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 1, head, 0);

	head = transmit(&b, late, 2);
	console_flush(&b.con);
	CHECK(strcmp(output(&b), "never kicked\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 2, head, 0);
	console_flush(&b.con); /* nothing left: nothing written twice */
	CHECK(strcmp(output(&b), "") == 0);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, 2);
	bench_destroy(&b);
}

/* Output that cannot be written is counted, and its buffers still go back. */
static void test_output_error(void)
{
	static const char *const lost[] = { "into the void\n" };
	struct bench b;
	uint16_t head;

	bench_init(&b, -1);
	driver_up(&b);
	close_fd(&b.out[0]);
	head = transmit(&b, lost, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK_EQ_INT(b.con.ports[0].counters.output_errors, 1);
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_out, 0);
	check_used(CONSOLE_TX_QUEUE, 1, head, 0);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

static void test_receive(void)
{
	struct bench b;
	struct seg one = { .len = 16 };
	struct seg two[] = { { .len = 3 }, { .len = 3 } };

	bench_init_piped(&b);
	driver_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &one, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 0), 0); /* nothing typed yet */

	type(&b, "ls -l\n");
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 6);
	CHECK(memcmp(gm_ptr(&gm, one.gpa, 6), "ls -l\n", 6) == 0);
	CHECK_EQ_INT(b.irqs, 1);
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_in, 6);

	/* input spread over a chain of two buffers */
	add_chain(&b, CONSOLE_RX_QUEUE, two, 2);
	kick(&b, CONSOLE_RX_QUEUE);
	type(&b, "abcde");
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 2, 1, 5);
	CHECK(memcmp(gm_ptr(&gm, two[0].gpa, 3), "abc", 3) == 0);
	CHECK(memcmp(gm_ptr(&gm, two[1].gpa, 2), "de", 2) == 0);
	CHECK_EQ_INT(b.irqs, 2);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* Input with no receive buffer stays in the pipe, and the loop goes quiet,
 * until the guest offers a buffer. */
static void test_receive_waits_for_buffer(uint64_t features)
{
	struct bench b;
	struct seg buf = { .len = 4 };

	bench_init_piped(&b);
	driver_init(&b, features, true);
	type(&b, "keys!");
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(pending(b.in[0]), 5);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);

	add_chain(&b, CONSOLE_RX_QUEUE, &buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 4);
	CHECK(memcmp(gm_ptr(&gm, buf.gpa, 4), "keys", 4) == 0);
	CHECK_EQ_INT(pending(b.in[0]), 1);
	/* out of buffers again: the last byte waits, quietly */
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(pending(b.in[0]), 1);
	bench_destroy(&b);
}

static void test_receive_eof(void)
{
	struct bench b;
	struct seg bufs[] = { { .len = 8 }, { .len = 8 }, { .len = 8 } };

	bench_init_piped(&b);
	driver_up(&b);
	type(&b, "bye");
	hang_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[0], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 3);
	/* The end of input is no data: no buffer goes back for it (an empty one
	 * would make Linux's driver drop input it has not read), and the input
	 * is no longer watched. */
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[1], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 1);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[2], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 1);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* A closed input before the driver is up, or while it has no buffers, must
 * not keep the loop busy: epoll reports a hang-up whatever it was asked. */
static void test_hangup_while_idle(void)
{
	struct bench b;
	struct seg buf = { .len = 8 };

	bench_init_piped(&b);
	hang_up(&b);
	CHECK(run_until_idle(&b) <= 1);
	driver_up(&b);
	CHECK(run_until_idle(&b) <= 1);
	add_chain(&b, CONSOLE_RX_QUEUE, &buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK(run_until_idle(&b) <= 1);
	/* ended input hands back no buffer */
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);
	bench_destroy(&b);
}

/* A terminal input is raw while the console has it, and one that hangs up
 * (its reads fail with EIO) ends the input without a busy loop. */
static void test_terminal(void)
{
	struct bench b;
	struct termios before, during;
	struct seg bufs[] = { { .len = 8 }, { .len = 8 } };
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), tty = -1;

	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0)
		tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		printf("no pseudo-terminal: terminal checks skipped\n");
		if (master >= 0)
			close(master);
		return;
	}
	CHECK_EQ_INT(tcgetattr(tty, &before), 0);
	CHECK(before.c_lflag & ICANON);
	bench_init(&b, tty);
	CHECK_EQ_INT(tcgetattr(tty, &during), 0);
	CHECK(!(during.c_lflag & (ICANON | ECHO)));
	driver_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[0], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	/* raw: a key arrives without a newline */
	CHECK_EQ_INT(write(master, "q", 1), 1);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 1);
	CHECK_EQ_INT(*(char *)gm_ptr(&gm, bufs[0].gpa, 1), 'q');
	console_restore(&b.con);
	CHECK_EQ_INT(tcgetattr(tty, &during), 0);
	CHECK_EQ_INT(during.c_lflag, before.c_lflag);

	/* a hang-up ends the input without handing back a buffer */
	close(master);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[1], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 1);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
	close(tty);
}

/* Without input, or with input epoll cannot watch, the console still runs,
 * and leaves the guest's receive buffers alone. */
static void check_runs_without_input(int in_fd)
{
	static const char *const out[] = { "still here\n" };
	struct bench b;
	struct seg buf = { .len = 8 };

	bench_init(&b, in_fd);
	driver_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);
	transmit(&b, out, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "still here\n") == 0);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

static void test_no_input(void)
{
	int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	check_runs_without_input(-1);
	CHECK(dev_null >= 0);
	if (dev_null >= 0) {
		check_runs_without_input(dev_null);
		close(dev_null);
	}
}

/* An input epoll cannot watch, a regular file, is read as the guest offers
 * room, without waiting for readiness that never comes. */
static void test_file_input(void)
{
	FILE *file = tmpfile();
	struct bench b;
	struct seg bufs[] = { { .len = 4 }, { .len = 8 }, { .len = 8 } };

	CHECK(file != NULL);
	if (!file)
		return;
	fputs("from a file", file);
	fflush(file);
	rewind(file);
	bench_init(&b, fileno(file));
	driver_init(&b, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX), true);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[0], 1);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[1], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	check_used(CONSOLE_RX_QUEUE, 2, 1, 7);
	/* the ring was read to its end, so the driver is asked to kick at its
	 * next buffer: no kick, no more input */
	CHECK_EQ_INT(((uint16_t *)used_ring(CONSOLE_RX_QUEUE)->ring)[4 * QUEUE_SIZE], 2);
	CHECK(memcmp(gm_ptr(&gm, bufs[0].gpa, 4), "from", 4) == 0);
	CHECK(memcmp(gm_ptr(&gm, bufs[1].gpa, 7), " a file", 7) == 0);
	/* its end hands back nothing */
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[2], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 2);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	bench_destroy(&b);
	fclose(file);
}

/* A forwarded SIGINT: ^C typed on port 0 with no input of its own, kept
 * until the guest offers a buffer, and ahead of what the input has. */
static void test_interrupt(void)
{
	struct bench b;
	struct seg bufs[] = { { .len = 8 }, { .len = 8 }, { .len = 8 } };

	bench_init(&b, -1);
	driver_up(&b);
	console_interrupt(&b.con);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[0], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 1);
	CHECK_EQ_INT(*(uint8_t *)gm_ptr(&gm, bufs[0].gpa, 1), 0x03);
	bench_destroy(&b);

	bench_init_piped(&b);
	driver_up(&b);
	type(&b, "typed");
	console_interrupt(&b.con);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[1], 1);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[2], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 1);
	CHECK_EQ_INT(*(uint8_t *)gm_ptr(&gm, bufs[1].gpa, 1), 0x03);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 2, 1, 5);
	CHECK(memcmp(gm_ptr(&gm, bufs[2].gpa, 5), "typed", 5) == 0);
	bench_destroy(&b);
}

/* Chains a driver should not send: given back, never a crash. */
static void test_odd_chains(void)
{
	static const char *const after[] = { "after\n" };
	struct bench b;
	struct seg tx_writable[] = { { .len = 8 } };
	struct seg tx_mixed[] = { { .data = "mixed\n", .len = 6 }, { .len = 8 } };
	struct seg rx_readable[] = { { .data = "guest data", .len = 10 } };
	struct seg rx_buf = { .len = 8 };

	bench_init_piped(&b);
	driver_up(&b);
	add_chain(&b, CONSOLE_TX_QUEUE, tx_writable, 1);
	add_chain(&b, CONSOLE_TX_QUEUE, tx_mixed, 2);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "mixed\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 2, 1, 0);
	CHECK(memcmp(gm_ptr(&gm, tx_writable[0].gpa, 8), "\0\0\0\0\0\0\0\0", 8) == 0);

	/* nowhere to put input: the chain goes back empty, the input stays */
	add_chain(&b, CONSOLE_RX_QUEUE, rx_readable, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	type(&b, "typed");
	CHECK(run_until_idle(&b) <= 2);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 0);
	CHECK(memcmp(gm_ptr(&gm, rx_readable[0].gpa, 10), "guest data", 10) == 0);
	CHECK_EQ_INT(pending(b.in[0]), 5);
	add_chain(&b, CONSOLE_RX_QUEUE, &rx_buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 2, 1, 5);
	CHECK(memcmp(gm_ptr(&gm, rx_buf.gpa, 5), "typed", 5) == 0);

	transmit(&b, after, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "after\n") == 0);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* The driver breaks a queue: NEEDS_RESET, the other side goes quiet, and a
 * reset brings the whole device back. */
static void test_broken_rings(void)
{
	static const char *const text[] = { "text\n" };
	struct bench b;
	struct seg tx_backwards[] = { { .len = 8 }, { .data = "oops", .len = 4 } };
	struct seg outside = { .data = "x", .len = 1 };
	struct seg rx_buf = { .len = 8 };

	bench_init_piped(&b);
	driver_up(&b);

	/* a writable buffer before a readable one: not a valid chain */
	add_chain(&b, CONSOLE_TX_QUEUE, tx_backwards, 2);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(needs_reset(&b));
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK(strcmp(output(&b), "") == 0);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, 0);
	console_flush(&b.con);
	CHECK(strcmp(output(&b), "") == 0);

	/* a head out of range on the receive side, with input waiting */
	avail_ring(CONSOLE_RX_QUEUE)->ring[0] = 100;
	avail_ring(CONSOLE_RX_QUEUE)->idx = 1;
	kick(&b, CONSOLE_RX_QUEUE);
	type(&b, "input");
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(pending(b.in[0]), 5);
	CHECK_EQ_INT(b.con.vdev.counters.broken_driver, 1);

	/* a buffer outside guest memory, found at activation */
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_STATUS), 0);
	driver_init(&b, 1ull << VIRTIO_F_VERSION_1, false);
	add_chain(&b, CONSOLE_TX_QUEUE, &outside, 1);
	desc_table(CONSOLE_TX_QUEUE)[0].addr = MEM_SIZE - 0x10;
	desc_table(CONSOLE_TX_QUEUE)[0].len = 0x20;
	wr(&b.t, VIRTIO_MMIO_STATUS, S_RUNNING);
	CHECK(needs_reset(&b));
	CHECK(strcmp(output(&b), "") == 0);

	/* and back */
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	driver_up(&b);
	CHECK(!needs_reset(&b));
	transmit(&b, text, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "text\n") == 0);
	add_chain(&b, CONSOLE_RX_QUEUE, &rx_buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 5);
	CHECK(memcmp(gm_ptr(&gm, rx_buf.gpa, 5), "input", 5) == 0);
	bench_destroy(&b);
}

/* A reset while input waits takes nothing; the next driver gets it all. */
static void test_reset(void)
{
	static const char *const again[] = { "again\n" };
	struct bench b;
	struct seg rx_buf = { .len = 8 };

	bench_init_piped(&b);
	driver_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &rx_buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_STATUS), 0);
	type(&b, "queued");
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(pending(b.in[0]), 6);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);

	driver_init(&b, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX), true);
	CHECK(virtio_has_feature(&b.con.vdev, VIRTIO_RING_F_EVENT_IDX));
	add_chain(&b, CONSOLE_RX_QUEUE, &rx_buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 6);
	CHECK(memcmp(gm_ptr(&gm, rx_buf.gpa, 6), "queued", 6) == 0);
	transmit(&b, again, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "again\n") == 0);
	check_used(CONSOLE_TX_QUEUE, 1, 0, 0);
	bench_destroy(&b);
}

/* --- multiport ------------------------------------------------------------- */

#define STDIN_PORT 1
#define STDOUT_PORT 2
#define MULTIPORT ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_CONSOLE_F_MULTIPORT))

static unsigned int port_rx_queue(unsigned int port)
{
	return port == 0 ? CONSOLE_RX_QUEUE : 2 * port + 2;
}

/* Port 0 (input console_in), krun-stdin reading a pipe the test types into,
 * krun-stdout writing to out2. */
static void bench_init_multiport(struct bench *b, int console_in, int term_fd)
{
	*b = (struct bench){ .in = { -1, -1 }, .out2 = { -1, -1 } };
	make_output_pipe(b->out);
	make_output_pipe(b->out2);
	make_pipe(b->in);
	struct console_port_config ports[] = {
		{ .in_fd = console_in, .out_fd = b->out[1] },
		{ .name = "krun-stdin", .in_fd = b->in[0], .out_fd = -1 },
		{ .name = "krun-stdout", .in_fd = -1, .out_fd = b->out2[1] },
	};
	bench_init_ports(b, ports, ARRAY_SIZE(ports), term_fd);
}

/* Room for n control messages from the device. */
static void ctrl_offer(struct bench *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct seg buf = { .len = 64 };
		uint16_t head = add_chain(b, CONSOLE_CTRL_RX_QUEUE, &buf, 1);
		b->ctrl_gpa[head] = buf.gpa;
	}
	kick(b, CONSOLE_CTRL_RX_QUEUE);
}

static void ctrl_send_len(struct bench *b, uint32_t id, uint16_t event, uint16_t value,
			  uint32_t len)
{
	struct virtio_console_control msg = { .id = id, .event = event, .value = value };
	struct seg seg = { .data = (const char *)&msg, .len = len };

	add_chain(b, CONSOLE_CTRL_TX_QUEUE, &seg, 1);
	kick(b, CONSOLE_CTRL_TX_QUEUE);
}

static void ctrl_send(struct bench *b, uint32_t id, uint16_t event, uint16_t value)
{
	ctrl_send_len(b, id, event, value, sizeof(struct virtio_console_control));
}

struct ctrl_msg {
	struct virtio_console_control hdr;
	uint32_t extra_len;
	uint8_t extra[56];
};

/* The device's next control message, in the order sent: false if none. */
static bool ctrl_next(struct bench *b, struct ctrl_msg *m)
{
	struct vring_used *used = used_ring(CONSOLE_CTRL_RX_QUEUE);
	struct vring_used_elem *elem;

	if (used->idx == b->ctrl_seen)
		return false;
	elem = &used->ring[b->ctrl_seen++ % QUEUE_SIZE];
	CHECK(elem->len >= sizeof(m->hdr) && elem->len <= 64);
	memcpy(m, gm_ptr(&gm, b->ctrl_gpa[elem->id], 64), sizeof(m->hdr));
	m->extra_len = elem->len - sizeof(m->hdr);
	memcpy(m->extra, gm_ptr(&gm, b->ctrl_gpa[elem->id] + sizeof(m->hdr), 56), sizeof(m->extra));
	return true;
}

/* The next message is this one; returns it for its payload. */
static struct ctrl_msg expect_ctrl(struct bench *b, uint32_t id, uint16_t event, uint16_t value)
{
	struct ctrl_msg m = { 0 };

	CHECK(ctrl_next(b, &m));
	CHECK_EQ_INT(m.hdr.id, id);
	CHECK_EQ_INT(m.hdr.event, event);
	CHECK_EQ_INT(m.hdr.value, value);
	return m;
}

static void expect_no_ctrl(struct bench *b)
{
	struct ctrl_msg m;

	CHECK(!ctrl_next(b, &m));
}

/* What Linux's driver does at probe, for every port: DEVICE_READY, then
 * PORT_READY as each PORT_ADD arrives. Leaves the replies unread but for
 * the adds. */
static void multiport_up(struct bench *b)
{
	driver_init(b, MULTIPORT, true);
	ctrl_offer(b, QUEUE_SIZE);
	ctrl_send(b, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned int i = 0; i < b->con.nr_ports; i++)
		expect_ctrl(b, i, VIRTIO_CONSOLE_PORT_ADD, 1);
}

static void test_multiport_setup(void)
{
	static const char *const text[] = { "to stdout\n" };
	struct bench b;
	struct ctrl_msg m;
	uint32_t max_nr_ports = 0;

	bench_init_multiport(&b, -1, -1);
	CHECK_EQ_INT(b.con.vdev.nr_queues, 8);
	driver_init(&b, MULTIPORT, true);
	virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG + 4, &max_nr_ports, 4);
	CHECK_EQ_INT(max_nr_ports, 3);

	/* fewer control buffers than messages owed: the rest waits for more */
	ctrl_offer(&b, 4);
	ctrl_send(&b, VIRTIO_CONSOLE_BAD_ID, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	for (unsigned int i = 0; i < 3; i++)
		expect_ctrl(&b, i, VIRTIO_CONSOLE_PORT_ADD, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_no_ctrl(&b);
	ctrl_offer(&b, 4);
	/* no terminal: no size */
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_no_ctrl(&b);

	ctrl_send(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_READY, 1);
	m = expect_ctrl(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_NAME, 1);
	CHECK_EQ_INT(m.extra_len, strlen("krun-stdin"));
	CHECK(memcmp(m.extra, "krun-stdin", m.extra_len) == 0);
	expect_ctrl(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_offer(&b, 2);
	ctrl_send(&b, STDOUT_PORT, VIRTIO_CONSOLE_PORT_READY, 1);
	m = expect_ctrl(&b, STDOUT_PORT, VIRTIO_CONSOLE_PORT_NAME, 1);
	CHECK(m.extra_len == strlen("krun-stdout") && memcmp(m.extra, "krun-stdout", 11) == 0);
	expect_ctrl(&b, STDOUT_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1);

	/* each port's output to its own fd */
	add_chain(&b, port_rx_queue(STDOUT_PORT) + 1, (struct seg[]){ { .data = text[0], .len = 10 } }, 1);
	kick(&b, port_rx_queue(STDOUT_PORT) + 1);
	CHECK(strcmp(pipe_output(b.out2[0]), "to stdout\n") == 0);
	CHECK(strcmp(output(&b), "") == 0);
	CHECK_EQ_INT(b.con.ports[STDOUT_PORT].counters.bytes_out, 10);
	transmit(&b, text, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "to stdout\n") == 0);

	/* what a driver does not send is counted and ignored */
	ctrl_send(&b, 3, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(&b, 7, VIRTIO_CONSOLE_PORT_READY, 1);
	ctrl_send(&b, STDIN_PORT, VIRTIO_CONSOLE_RESIZE, 0);
	ctrl_send_len(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1, 4);
	CHECK_EQ_INT(b.con.bad_control, 4);
	expect_no_ctrl(&b);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* Input waits until the guest opens the port: a driver drops what reaches a
 * port nobody has open. The end of the input closes the host side, after
 * the data. */
static void test_multiport_input(void)
{
	struct bench b;
	struct seg bufs[] = { { .len = 16 }, { .len = 16 } };
	unsigned int rxq = port_rx_queue(STDIN_PORT);

	bench_init_multiport(&b, -1, -1);
	multiport_up(&b);
	ctrl_send(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_NAME, 1);
	expect_ctrl(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	type(&b, "early\n");
	add_chain(&b, rxq, &bufs[0], 1);
	kick(&b, rxq);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(rxq)->idx, 0);
	CHECK_EQ_INT(pending(b.in[0]), 6);

	ctrl_send(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_OPEN, 1);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_used(rxq, 1, 0, 6);
	CHECK(memcmp(gm_ptr(&gm, bufs[0].gpa, 6), "early\n", 6) == 0);
	CHECK_EQ_INT(b.con.ports[STDIN_PORT].counters.bytes_in, 6);

	hang_up(&b);
	add_chain(&b, rxq, &bufs[1], 1);
	kick(&b, rxq);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(rxq)->idx, 1);
	expect_ctrl(&b, STDIN_PORT, VIRTIO_CONSOLE_PORT_OPEN, 0);
	expect_no_ctrl(&b);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* Port 0 too waits for the guest's console to be set up, and keeps the host
 * side open at the end of its input (a terminal has no end of file). */
static void test_multiport_console_input(void)
{
	struct bench b;
	int in[2];
	struct seg buf = { .len = 16 };

	make_pipe(in);
	bench_init_multiport(&b, in[0], -1);
	multiport_up(&b);
	CHECK_EQ_INT(write(in[1], "x", 1), 1);
	close(in[1]);
	add_chain(&b, CONSOLE_RX_QUEUE, &buf, 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(CONSOLE_RX_QUEUE)->idx, 0);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	CHECK(run_until_idle(&b) >= 1);
	check_used(CONSOLE_RX_QUEUE, 1, 0, 1);
	expect_no_ctrl(&b);
	bench_destroy(&b);
	close(in[0]);
}

static void set_size(int tty, unsigned short cols, unsigned short rows)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	CHECK_EQ_INT(ioctl(tty, TIOCSWINSZ, &ws), 0);
}

static void expect_resize(struct bench *b, uint16_t cols, uint16_t rows)
{
	struct ctrl_msg m = expect_ctrl(b, 0, VIRTIO_CONSOLE_RESIZE, 1);
	uint16_t size[2];

	CHECK_EQ_INT(m.extra_len, 4);
	memcpy(size, m.extra, sizeof(size));
	CHECK_EQ_INT(size[0], cols);
	CHECK_EQ_INT(size[1], rows);
}

/* The terminal's size at setup and at every change. */
static void test_multiport_resize(void)
{
	struct bench b;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), tty = -1;

	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0)
		tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0) {
		printf("no pseudo-terminal: resize checks skipped\n");
		if (master >= 0)
			close(master);
		return;
	}
	set_size(tty, 100, 40);
	bench_init_multiport(&b, tty, tty);
	multiport_up(&b);
	console_resized(&b.con); /* too early: its setup sends the size */
	expect_no_ctrl(&b);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_resize(&b, 100, 40);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_offer(&b, 2);
	set_size(tty, 120, 50);
	console_resized(&b.con);
	expect_resize(&b, 120, 50);
	expect_no_ctrl(&b);

	/* a driver without multiport reads the size from config space, again
	 * at a config interrupt */
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	driver_init(&b, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_CONSOLE_F_SIZE), true);
	uint16_t size[2] = { 0, 0 };
	virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG, size, 4);
	CHECK(size[0] == 120 && size[1] == 50);
	set_size(tty, 80, 24);
	console_resized(&b.con);
	CHECK(rd(&b.t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG, size, 4);
	CHECK(size[0] == 80 && size[1] == 24);
	bench_destroy(&b);
	close(tty);
	close(master);
}

/* libkrun's split: terminals share the console, every other fd has a port
 * of its own. */
static void test_stdio_ports(void)
{
	struct console_port_config console, named[3];
	int in[2], out[2], err[2], term_fd;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), tty = -1;

	make_pipe(in);
	make_pipe(out);
	make_pipe(err);
	CHECK_EQ_INT(console_stdio_ports(in[0], out[1], err[1], &console, named, &term_fd), 3);
	CHECK_EQ_INT(term_fd, -1);
	CHECK(console.name == NULL && console.in_fd == -1 && console.out_fd == err[1]);
	CHECK(strcmp(named[0].name, "krun-stdin") == 0 && named[0].in_fd == in[0] &&
	      named[0].out_fd == -1);
	CHECK(strcmp(named[1].name, "krun-stdout") == 0 && named[1].out_fd == out[1]);
	CHECK(strcmp(named[2].name, "krun-stderr") == 0 && named[2].out_fd == err[1]);
	CHECK_EQ_INT(console_stdio_ports(-1, out[1], -1, &console, named, &term_fd), 1);
	CHECK(console.out_fd == out[1] && strcmp(named[0].name, "krun-stdout") == 0);

	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0)
		tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty >= 0) {
		CHECK_EQ_INT(console_stdio_ports(tty, tty, tty, &console, named, &term_fd), 0);
		CHECK(term_fd == tty && console.in_fd == tty && console.out_fd == tty);
		/* output redirected: its own port; the console still the terminal's */
		CHECK_EQ_INT(console_stdio_ports(tty, out[1], tty, &console, named, &term_fd), 1);
		CHECK(console.in_fd == tty && console.out_fd == tty && named[0].out_fd == out[1]);
		close(tty);
	}
	if (master >= 0)
		close(master);
	for (int i = 0; i < 2; i++) {
		close(in[i]);
		close(out[i]);
		close(err[i]);
	}
}

/* A device of named ports only: port 0 is named, not a console. */
static void test_named_ports_only(void)
{
	struct bench b;
	struct ctrl_msg m;

	b = (struct bench){ .in = { -1, -1 }, .out2 = { -1, -1 } };
	make_output_pipe(b.out);
	struct console_port_config ports[] = { { .name = "krun-stdout", .in_fd = -1,
						 .out_fd = b.out[1] } };
	bench_init_ports(&b, ports, 1, -1);
	wr(&b.t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(rd(&b.t, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_CONSOLE_F_MULTIPORT));
	multiport_up(&b);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	m = expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_NAME, 1);
	CHECK(m.extra_len == 11 && memcmp(m.extra, "krun-stdout", 11) == 0);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	expect_no_ctrl(&b);
	bench_destroy(&b);
}

int main(void)
{
	/* what the VMM does: a closed output is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_identity();
	test_transmit();
	test_flush();
	test_output_error();
	test_receive();
	test_receive_waits_for_buffer(1ull << VIRTIO_F_VERSION_1);
	test_receive_waits_for_buffer((1ull << VIRTIO_F_VERSION_1) |
				      (1ull << VIRTIO_RING_F_EVENT_IDX));
	test_receive_eof();
	test_hangup_while_idle();
	test_terminal();
	test_no_input();
	test_file_input();
	test_interrupt();
	test_odd_chains();
	test_broken_rings();
	test_reset();
	test_multiport_setup();
	test_multiport_input();
	test_multiport_console_input();
	test_multiport_resize();
	test_stdio_ports();
	test_named_ports_only();
	gm_destroy(&gm);
	return CHECK_DONE();
}
