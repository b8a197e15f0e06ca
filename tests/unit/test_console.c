/* virtio-console through the MMIO transport, with the test as the guest's
 * driver: rings in fake guest memory, output into a pipe, input from a pipe
 * (or nothing, /dev/null, a file) dispatched by one event-loop turn at a time. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "base/log.h"
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

/* --- a host reader that does not keep up ----------------------------------- */

#define PIPE_SIZE 4096 /* the output pipe's capacity in these tests: one page */

/* Fail the program, loudly, if what follows blocks: the console must never
 * make its caller wait for the host's reader. */
static const char *watchdog_what;

static void watchdog_fired(int sig)
{
	static const char msg[] = "test-console: blocked for 5 s: ";
	ssize_t unused;

	(void)sig;
	unused = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	unused = write(STDERR_FILENO, watchdog_what, strlen(watchdog_what));
	unused = write(STDERR_FILENO, "\n", 1);
	(void)unused;
	_exit(1);
}

static void watchdog_arm(const char *what)
{
	watchdog_what = what;
	alarm(5);
}

static void watchdog_disarm(void)
{
	alarm(0);
}

/* Byte i of the stream the guest writes: no period short enough for a lost
 * or repeated block (of the buffer's size, say) to go unseen. */
static uint8_t stream_byte(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 13);
}

/* What the guest queues: 7 chains in the ring's 8 descriptors, 4 times the
 * bound in all, one chain (two buffers) larger than the bound on its own. */
static const uint32_t flood_chains[][2] = {
	{ 1000 }, { 100 * 1024, 3 * 1024 }, { 40 * 1024 }, { 40 * 1024 },
	{ 7 }, { 40 * 1024 }, { 40 * 1024 },
};
#define FLOOD_CHAINS ARRAY_SIZE(flood_chains)
#define FLOOD_BYTES (1000 + 103 * 1024 + 4 * 40 * 1024 + 7)

struct flood {
	uint16_t heads[FLOOD_CHAINS];
	uint64_t ends[FLOOD_CHAINS]; /* stream offset after each chain */
};

/* Queue the flood on transmit queue q, not kicked. */
static void queue_flood(struct bench *b, unsigned int q, struct flood *f)
{
	static char data[2][100 * 1024];
	uint64_t offset = 0;

	for (unsigned int i = 0; i < FLOOD_CHAINS; i++) {
		struct seg segs[2];
		unsigned int n = 0;

		for (; n < 2 && flood_chains[i][n]; n++) {
			for (uint32_t j = 0; j < flood_chains[i][n]; j++)
				data[n][j] = stream_byte(offset++);
			segs[n] = (struct seg){ .data = data[n], .len = flood_chains[i][n] };
		}
		f->heads[i] = add_chain(b, q, segs, n);
		f->ends[i] = offset;
	}
	CHECK_EQ_INT(offset, FLOOD_BYTES);
}

/* The console writes into a pipe of PIPE_SIZE bytes nobody reads yet. */
static void bench_init_small_pipe(struct bench *b)
{
	bench_init(b, -1);
	CHECK_EQ_INT(fcntl(b->out[1], F_SETPIPE_SZ, PIPE_SIZE), PIPE_SIZE);
}

/* The device stopped taking the guest's chains at the bound: the pipe and
 * the buffer are full, the chains that did not fit wait in the ring. */
static void check_backed_up(struct bench *b, unsigned int q, int out_fd, const struct flood *f)
{
	uint16_t used = used_ring(q)->idx;
	const struct console_port *p = &b->con.ports[q == CONSOLE_TX_QUEUE ? 0 : (q - 1) / 2 - 1];

	CHECK_EQ_INT(pending(out_fd), PIPE_SIZE);
	/* full, or nearly: a kick stops after one buffer's worth */
	CHECK(p->output.len <= CONSOLE_OUTPUT_BUFFER);
	CHECK(p->output.len >= CONSOLE_OUTPUT_BUFFER - PIPE_SIZE);
	CHECK(used < FLOOD_CHAINS);
	/* the chains given back are all in the pipe and the buffer; the next
	 * one at most partly */
	CHECK(used == 0 || f->ends[used - 1] <= PIPE_SIZE + CONSOLE_OUTPUT_BUFFER);
	CHECK(f->ends[used] > PIPE_SIZE + CONSOLE_OUTPUT_BUFFER);
}

/* The guest floods queue q and kicks: the kick returns at once, and the
 * device is backed up. */
static void back_up(struct bench *b, unsigned int q, int out_fd, struct flood *f)
{
	queue_flood(b, q, f);
	watchdog_arm("a kick with the output pipe full");
	kick(b, q);
	watchdog_disarm();
	check_backed_up(b, q, out_fd, f);
}

/* Read the pipe, turning the loop between reads (its watch writes more as
 * room appears), until nothing more comes: how many bytes came. */
static uint64_t drain(struct bench *b, int fd, uint8_t *got, uint64_t size)
{
	uint64_t n = 0;

	for (int quiet = 0; quiet < 3;) {
		ssize_t r = read(fd, got + n, size - n);

		if (r > 0) {
			n += r;
			quiet = 0;
		} else {
			quiet++;
		}
		event_loop_run_once(&b->loop, 0);
	}
	return n;
}

/* Everything the guest queued arrived once, in order, and every chain went
 * back once, in order. */
static void check_all_arrived(unsigned int q, const uint8_t *got, uint64_t n, const struct flood *f)
{
	uint64_t bad = 0;

	CHECK_EQ_INT(n, FLOOD_BYTES);
	for (uint64_t i = 0; i < n && i < FLOOD_BYTES; i++)
		bad += got[i] != stream_byte(i);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(used_ring(q)->idx, FLOOD_CHAINS);
	for (unsigned int i = 0; i < FLOOD_CHAINS; i++)
		CHECK_EQ_INT(used_ring(q)->ring[i].id, f->heads[i]);
}

/* A pipe nobody reads: the kick returns at once, the device stops taking
 * the guest's chains at the bound, and resumes as the reader drains it;
 * everything arrives once, in order. (Before the bound, the kick blocked in
 * poll() for good: the watchdog fails this test.) */
static void test_output_backpressure(uint64_t features)
{
	static const char *const after[] = { "after\n" };
	static uint8_t got[FLOOD_BYTES + 2 * PIPE_SIZE];
	struct bench b;
	struct flood f;

	bench_init_small_pipe(&b);
	driver_init(&b, features, true);
	back_up(&b, CONSOLE_TX_QUEUE, b.out[0], &f);
	/* more kicks fill the buffer to the bound and take nothing past it;
	 * the watch stays quiet */
	uint16_t used = used_ring(CONSOLE_TX_QUEUE)->idx;
	kick(&b, CONSOLE_TX_QUEUE);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, used);
	CHECK_EQ_INT(b.con.ports[0].output.len, CONSOLE_OUTPUT_BUFFER);
	CHECK_EQ_INT(b.con.ports[0].tx_taken + f.ends[used - 1],
		     PIPE_SIZE + CONSOLE_OUTPUT_BUFFER);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK_EQ_INT(pending(b.out[0]), PIPE_SIZE);

	watchdog_arm("draining the output");
	check_all_arrived(CONSOLE_TX_QUEUE, got, drain(&b, b.out[0], got, sizeof(got)), &f);
	watchdog_disarm();
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_out, FLOOD_BYTES);
	CHECK_EQ_INT(b.con.ports[0].output.len, 0);
	/* the ring was read to its end: the driver is asked to kick at its
	 * next buffer (while backed up, it was not: no kick storm) */
	if (features & (1ull << VIRTIO_RING_F_EVENT_IDX))
		CHECK_EQ_INT(((uint16_t *)used_ring(CONSOLE_TX_QUEUE)->ring)[4 * QUEUE_SIZE],
			     FLOOD_CHAINS);
	transmit(&b, after, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "after\n") == 0);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
}

/* Lines the log got while the test held it. */
static int log_lines_with(int log_fd, const char *what)
{
	static char text[4096];
	ssize_t n = read(log_fd, text, sizeof(text) - 1);
	int count = 0;

	text[n > 0 ? n : 0] = '\0';
	for (const char *s = text; (s = strstr(s, what)); s++)
		count++;
	return count;
}

/* The log's warnings into a pipe the test reads, for the test's length. */
static void log_capture(int log_pipe[2])
{
	make_output_pipe(log_pipe);
	log_set_fd(log_pipe[1]);
	log_set_level(LOG_WARN);
}

static void log_release(int log_pipe[2])
{
	log_set_level(LOG_ERROR);
	log_set_fd(-1);
	close(log_pipe[0]);
	close(log_pipe[1]);
}

/* The reader goes away while the output is backed up: the output ends
 * (said once in the log), what waited is dropped, and the guest's chains,
 * those waiting and those to come, go back without being written. (Before,
 * the first kick blocked for good.) */
static void test_output_reader_gone(void)
{
	static const char *const more[] = { "nobody hears this\n" };
	struct bench b;
	struct flood f;
	int log_pipe[2];

	log_capture(log_pipe);
	bench_init_small_pipe(&b);
	driver_up(&b);
	back_up(&b, CONSOLE_TX_QUEUE, b.out[0], &f);

	close_fd(&b.out[0]);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, FLOOD_CHAINS);
	CHECK_EQ_INT(b.con.ports[0].counters.output_errors, 1);
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_out, PIPE_SIZE);
	CHECK(!console_output_open(&b.con.ports[0].output));
	transmit(&b, more, 1);
	transmit(&b, more, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, FLOOD_CHAINS + 2);
	watchdog_arm("flushing an output whose reader is gone");
	console_flush(&b.con);
	watchdog_disarm();
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK_EQ_INT(b.con.ports[0].counters.output_errors, 1);
	CHECK_EQ_INT(log_lines_with(log_pipe[0], "output of port console ended"), 1);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
	log_release(log_pipe);
}

/* The host's reader takes nothing when the VM ends: the final flush waits
 * CONSOLE_OUTPUT_FLUSH_STALL_MS for room, then drops what the port holds and
 * what the guest still queued, says how many bytes, and gives every chain
 * back; the output gets its blocking mode back. (Before, the flush waited in
 * poll() for good: the watchdog fails this test.) */
static void test_flush_stalled_reader(void)
{
	struct bench b;
	struct flood f;
	struct timespec start, end;
	int log_pipe[2];
	long ms;
	char line[160];

	log_capture(log_pipe);
	bench_init_small_pipe(&b);
	driver_up(&b);
	back_up(&b, CONSOLE_TX_QUEUE, b.out[0], &f);
	CHECK(b.con.ports[0].tx_taken > 0); /* a chain partly taken counts once */

	clock_gettime(CLOCK_MONOTONIC, &start);
	watchdog_arm("the final flush, with a reader that takes nothing");
	console_flush(&b.con);
	watchdog_disarm();
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	CHECK(ms >= CONSOLE_OUTPUT_FLUSH_STALL_MS - 10 && ms < CONSOLE_OUTPUT_FLUSH_STALL_MS + 1000);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, FLOOD_CHAINS);
	CHECK_EQ_INT(b.con.ports[0].counters.bytes_out, PIPE_SIZE);
	CHECK_EQ_INT(pending(b.out[0]), PIPE_SIZE);
	snprintf(line, sizeof(line),
		 "took nothing for %u ms when the VM ended: %u bytes of the guest's output dropped",
		 CONSOLE_OUTPUT_FLUSH_STALL_MS, FLOOD_BYTES - PIPE_SIZE);
	CHECK_EQ_INT(log_lines_with(log_pipe[0], line), 1);
	CHECK(fcntl(b.out[1], F_GETFL) & O_NONBLOCK);
	console_restore(&b.con);
	CHECK(!(fcntl(b.out[1], F_GETFL) & O_NONBLOCK));
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
	log_release(log_pipe);
}

/* O_NONBLOCK belongs to the host's file description, which others share (a
 * terminal, crun's pipe): set while the VM runs, given back by
 * console_restore; one that was non-blocking before stays so. */
static void test_output_blocking_mode(void)
{
	struct bench b;
	int already[2];

	bench_init(&b, -1);
	CHECK(fcntl(b.out[1], F_GETFL) & O_NONBLOCK);
	console_restore(&b.con);
	CHECK(!(fcntl(b.out[1], F_GETFL) & O_NONBLOCK));
	console_restore(&b.con); /* once given back, left alone */
	CHECK(!(fcntl(b.out[1], F_GETFL) & O_NONBLOCK));
	bench_destroy(&b);

	make_pipe(already);
	CHECK_EQ_INT(fcntl(already[1], F_SETFL, O_NONBLOCK), 0);
	b = (struct bench){ .in = { -1, -1 }, .out = { already[0], already[1] },
				.out2 = { -1, -1 } };
	struct console_port_config port = { .in_fd = -1, .out_fd = already[1] };
	bench_init_ports(&b, &port, 1, -1);
	console_restore(&b.con);
	CHECK(fcntl(already[1], F_GETFL) & O_NONBLOCK);
	bench_destroy(&b);
}

/* The VMM's loop, as src/vmm wires it: a kick arrives on an eventfd, as do a
 * virtio-fs kick (any other fd) and the stop request. */
struct loop_bench {
	struct bench *b;
	int kick_fd, other_fd, stop_fd;
	unsigned int others;
};

static void read_eventfd(int fd)
{
	uint64_t count;

	CHECK_EQ_INT(read(fd, &count, sizeof(count)), sizeof(count));
}

static void write_eventfd(int fd)
{
	uint64_t one = 1;

	CHECK_EQ_INT(write(fd, &one, sizeof(one)), sizeof(one));
}

static void on_test_kick(void *opaque, uint32_t events)
{
	struct loop_bench *l = opaque;

	(void)events;
	read_eventfd(l->kick_fd);
	virtio_mmio_notify(&l->b->t, CONSOLE_TX_QUEUE);
}

static void on_other(void *opaque, uint32_t events)
{
	struct loop_bench *l = opaque;

	(void)events;
	read_eventfd(l->other_fd);
	l->others++;
}

static void on_test_stop(void *opaque, uint32_t events)
{
	struct loop_bench *l = opaque;

	(void)events;
	read_eventfd(l->stop_fd);
	l->b->loop.stop = true;
}

struct slow_reader {
	int fd;
	uint8_t *got;
	uint64_t size, n;
};

/* Reads a little at a time until the pipe's writer is gone. */
static void *read_slowly(void *opaque)
{
	struct slow_reader *r = opaque;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	while (poll(&p, 1, 2000) > 0) {
		ssize_t n = read(r->fd, r->got + r->n, r->size - r->n < 1000 ? r->size - r->n : 1000);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			break;
		if (n > 0)
			r->n += n;
		usleep(100);
	}
	return NULL;
}

/* While the console is backed up, the loop serves other fds and the stop
 * request; the final flush then waits for the slow reader and loses
 * nothing. (Before, the loop blocked in the kick's handler for good.) */
static void test_stop_while_backed_up(void)
{
	static uint8_t got[FLOOD_BYTES + 2 * PIPE_SIZE];
	struct bench b;
	struct flood f;
	struct loop_bench l = { .b = &b };
	struct slow_reader reader = { .got = got, .size = sizeof(got) };
	pthread_t thread;

	bench_init_small_pipe(&b);
	l.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l.other_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK_EQ_INT(event_loop_add(&b.loop, l.kick_fd, EPOLLIN, on_test_kick, &l), 0);
	CHECK_EQ_INT(event_loop_add(&b.loop, l.other_fd, EPOLLIN, on_other, &l), 0);
	CHECK_EQ_INT(event_loop_add(&b.loop, l.stop_fd, EPOLLIN, on_test_stop, &l), 0);
	driver_up(&b);
	queue_flood(&b, CONSOLE_TX_QUEUE, &f);

	watchdog_arm("the event loop, serving a kick with the output pipe full");
	write_eventfd(l.kick_fd);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	check_backed_up(&b, CONSOLE_TX_QUEUE, b.out[0], &f);
	write_eventfd(l.other_fd);
	write_eventfd(l.kick_fd);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 2);
	CHECK_EQ_INT(l.others, 1);
	write_eventfd(l.stop_fd);
	CHECK_EQ_INT(event_loop_run(&b.loop), 0);
	watchdog_disarm();
	check_backed_up(&b, CONSOLE_TX_QUEUE, b.out[0], &f);

	/* the VM is over: what the guest queued reaches the slow reader */
	reader.fd = b.out[0];
	CHECK_EQ_INT(pthread_create(&thread, NULL, read_slowly, &reader), 0);
	watchdog_arm("the final flush, with a reader that reads");
	console_flush(&b.con);
	watchdog_disarm();
	console_destroy(&b.con); /* our duplicate of the pipe goes */
	virtio_mmio_destroy(&b.t);
	close_fd(&b.out[1]); /* the reader sees the end */
	pthread_join(thread, NULL);
	check_all_arrived(CONSOLE_TX_QUEUE, got, reader.n, &f);
	event_loop_destroy(&b.loop);
	close_fd(&b.out[0]);
	close(l.kick_fd);
	close(l.other_fd);
	close(l.stop_fd);
}

/* A reader that keeps up does not let one port keep the loop: a kick takes
 * one buffer's worth and comes back through the loop for the rest. (Before,
 * one kick wrote all of it.) */
static void test_output_batches(void)
{
	static uint8_t got[FLOOD_BYTES + 2 * PIPE_SIZE];
	struct bench b;
	struct flood f;

	bench_init(&b, -1);
	CHECK_EQ_INT(fcntl(b.out[1], F_SETPIPE_SZ, 512 * 1024), 512 * 1024);
	driver_up(&b);
	queue_flood(&b, CONSOLE_TX_QUEUE, &f);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK_EQ_INT(pending(b.out[0]), CONSOLE_OUTPUT_BUFFER);
	CHECK_EQ_INT(used_ring(CONSOLE_TX_QUEUE)->idx, 1);
	CHECK(run_until_idle(&b) >= 3);
	check_all_arrived(CONSOLE_TX_QUEUE, got, drain(&b, b.out[0], got, sizeof(got)), &f);
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

/* Input that floods stays in its own pipe: the console holds none of it,
 * the guest's receive buffers take what they hold, and the loop goes quiet
 * until the guest offers more. (Passes without the output bound too: it
 * shows the input side needed none.) */
static void test_input_flood(void)
{
	static char junk[4096];
	struct bench b;
	struct seg bufs[] = { { .len = 16 }, { .len = 16 } };
	uint64_t flooded = 0;
	ssize_t n;

	bench_init_piped(&b);
	fcntl(b.in[1], F_SETFL, O_NONBLOCK);
	while ((n = write(b.in[1], junk, sizeof(junk))) > 0)
		flooded += n;
	CHECK(flooded >= 4096);
	driver_up(&b);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[0], 1);
	add_chain(&b, CONSOLE_RX_QUEUE, &bufs[1], 1);
	kick(&b, CONSOLE_RX_QUEUE);
	CHECK(run_until_idle(&b) <= 3);
	check_used(CONSOLE_RX_QUEUE, 2, 1, 16);
	CHECK_EQ_INT(pending(b.in[0]), flooded - 32);
	CHECK_EQ_INT(run_until_idle(&b), 0);
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

/* A named port whose reader does not keep up holds back no other port.
 * (Before, the kick on its queue blocked for good.) */
static void test_multiport_backpressure(void)
{
	static const char *const text[] = { "port 0 goes on\n" };
	static uint8_t got[FLOOD_BYTES + 2 * PIPE_SIZE];
	unsigned int txq = port_rx_queue(STDOUT_PORT) + 1;
	struct bench b;
	struct flood f;

	bench_init_multiport(&b, -1, -1);
	CHECK_EQ_INT(fcntl(b.out2[1], F_SETPIPE_SZ, PIPE_SIZE), PIPE_SIZE);
	multiport_up(&b);
	back_up(&b, txq, b.out2[0], &f);
	transmit(&b, text, 1);
	kick(&b, CONSOLE_TX_QUEUE);
	CHECK(strcmp(output(&b), "port 0 goes on\n") == 0);
	check_all_arrived(txq, got, drain(&b, b.out2[0], got, sizeof(got)), &f);
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

/* The shutdown port (devices/console/shutdown.h): a named port reading a
 * non-blocking eventfd. A request made before the guest opens the port
 * waits in the eventfd; once open, its 8-byte count reaches the guest, and
 * a later one does too. A hostile buffer too small for the count ends the
 * port's input (the host side closes), and the loop does not spin. */
static void test_eventfd_port(void)
{
	struct bench b = { .in = { -1, -1 }, .out2 = { -1, -1 } };
	struct seg bufs[] = { { .len = 64 }, { .len = 64 }, { .len = 4 }, { .len = 64 } };
	unsigned int rxq = port_rx_queue(0);
	uint64_t count;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CHECK(efd >= 0);
	make_output_pipe(b.out);
	struct console_port_config ports[] = { { .name = "krun-shutdown", .in_fd = efd,
						 .out_fd = -1 } };
	bench_init_ports(&b, ports, 1, -1);
	multiport_up(&b);
	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_NAME, 1);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);

	write_eventfd(efd); /* before the guest reads the port: it waits */
	add_chain(&b, rxq, &bufs[0], 1);
	kick(&b, rxq);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(rxq)->idx, 0);

	ctrl_send(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	CHECK(run_until_idle(&b) <= 3);
	check_used(rxq, 1, 0, sizeof(count));
	memcpy(&count, gm_ptr(&gm, bufs[0].gpa, sizeof(count)), sizeof(count));
	CHECK_EQ_INT(count, 1);

	add_chain(&b, rxq, &bufs[1], 1);
	kick(&b, rxq);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(used_ring(rxq)->idx, 1); /* nothing asked: nothing sent */
	write_eventfd(efd);
	CHECK_EQ_INT(event_loop_run_once(&b.loop, 1000), 1);
	CHECK_EQ_INT(used_ring(rxq)->idx, 2);

	/* 4 bytes cannot hold the count: the input ends, the port closes */
	add_chain(&b, rxq, &bufs[2], 1);
	kick(&b, rxq);
	write_eventfd(efd);
	CHECK(run_until_idle(&b) <= 3);
	CHECK_EQ_INT(used_ring(rxq)->idx, 2);
	expect_ctrl(&b, 0, VIRTIO_CONSOLE_PORT_OPEN, 0);
	add_chain(&b, rxq, &bufs[3], 1);
	kick(&b, rxq);
	CHECK(run_until_idle(&b) <= 1);
	CHECK(!needs_reset(&b));
	bench_destroy(&b);
	close(efd);
}

int main(void)
{
	/* what the VMM does: a closed output is an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog_fired);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_identity();
	test_transmit();
	test_flush();
	test_output_error();
	test_output_backpressure(1ull << VIRTIO_F_VERSION_1);
	test_output_backpressure((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX));
	test_output_reader_gone();
	test_flush_stalled_reader();
	test_output_blocking_mode();
	test_stop_while_backed_up();
	test_output_batches();
	test_receive();
	test_receive_waits_for_buffer(1ull << VIRTIO_F_VERSION_1);
	test_receive_waits_for_buffer((1ull << VIRTIO_F_VERSION_1) |
				      (1ull << VIRTIO_RING_F_EVENT_IDX));
	test_input_flood();
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
	test_multiport_backpressure();
	test_multiport_console_input();
	test_multiport_resize();
	test_stdio_ports();
	test_named_ports_only();
	test_eventfd_port();
	gm_destroy(&gm);
	return CHECK_DONE();
}
