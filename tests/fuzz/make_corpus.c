/* Writes the seed inputs of every fuzz target: make-corpus DIR puts them in
 * DIR/<target>/seed-<what>, as committed in tests/fuzz/corpus. Each seed is
 * a small valid use of its target's input format (formats.h), for the
 * fuzzer to mutate from; a few are the attacks the oracles are there for. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#include "devices/console/console.h"
#include "devices/vsock/tsi_wire.h"
#include "formats.h"

struct seed {
	uint8_t buf[16384];
	size_t len;
};

static const char *out_dir;

static void put(struct seed *s, const void *data, size_t len)
{
	if (s->len + len > sizeof(s->buf)) {
		fprintf(stderr, "seed too long\n");
		exit(1);
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
}

static void put_le(struct seed *s, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		put(s, (uint8_t[]){ v >> (8 * i) }, 1);
}

static void u8(struct seed *s, uint8_t v)
{
	put_le(s, v, 1);
}

static void u16(struct seed *s, uint16_t v)
{
	put_le(s, v, 2);
}

static void u32(struct seed *s, uint32_t v)
{
	put_le(s, v, 4);
}

static void save(const char *target, const char *name, const struct seed *s)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, target, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, s->buf, s->len) != (ssize_t)s->len || close(fd) < 0) {
		perror(path);
		exit(1);
	}
}

/* ---- virtqueue ------------------------------------------------------------ */

struct vq_seed {
	uint8_t features, size_code;
	uint16_t desc, avail, used;
	uint8_t script[VQ_SCRIPT_LEN];
	uint8_t mem[VQ_MEM_SIZE];
};

static void vq_desc(struct vq_seed *v, uint64_t table, unsigned int i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(v->mem + table + i * sizeof(d), &d, sizeof(d));
}

/* The driver offers heads, in order. */
static void vq_offer(struct vq_seed *v, const uint16_t *heads, unsigned int n)
{
	struct vring_avail *avail = (void *)(v->mem + v->avail);

	for (unsigned int i = 0; i < n; i++)
		avail->ring[i] = heads[i];
	avail->idx = n;
}

static uint8_t vq_op(unsigned int op, unsigned int arg)
{
	return op | arg << 3;
}

/* An empty memory image, rings at desc, avail and used, and a script
 * (the rest of it zeros: POP_PUSH of one chain). */
static void vq_begin(struct vq_seed *v, uint8_t features, uint8_t size_code, uint16_t desc,
		     uint16_t avail, uint16_t used, const uint8_t script[VQ_SCRIPT_LEN])
{
	memset(v, 0, sizeof(*v));
	v->features = features;
	v->size_code = size_code;
	v->desc = desc;
	v->avail = avail;
	v->used = used;
	memcpy(v->script, script, VQ_SCRIPT_LEN);
}

static void vq_save(const char *name, const struct vq_seed *v)
{
	struct seed s = { .len = 0 };
	size_t mem_len = sizeof(v->mem);

	u8(&s, v->features);
	u8(&s, v->size_code);
	u16(&s, v->desc);
	u16(&s, v->avail);
	u16(&s, v->used);
	put(&s, v->script, sizeof(v->script));
	/* memory the input leaves out reads as zeros */
	while (mem_len && !v->mem[mem_len - 1])
		mem_len--;
	put(&s, v->mem, mem_len);
	save("virtqueue", name, &s);
}

static void vq_seeds(void)
{
	static struct vq_seed v;
	const uint16_t desc = 0x0, avail = 0x400, used = 0x800, bufs = 0x1000, table = 0x1200;
	const uint8_t serve_twice[VQ_SCRIPT_LEN] = {
		vq_op(VQ_OP_POP_PUSH, 0), vq_op(VQ_OP_INTERRUPT, 0), vq_op(VQ_OP_PUBLISH, 0),
		vq_op(VQ_OP_POP_PUSH, 3),
	};
	const uint8_t hold_and_push[VQ_SCRIPT_LEN] = {
		vq_op(VQ_OP_POP_HOLD, 0), vq_op(VQ_OP_POP_HOLD, 0), vq_op(VQ_OP_GATHER, 2),
		vq_op(VQ_OP_UNPOP, 0), vq_op(VQ_OP_POP_HOLD, 0), vq_op(VQ_OP_PUSH_HELD, 1),
		vq_op(VQ_OP_PUSH_HELD, 4), vq_op(VQ_OP_INTERRUPT, 0),
	};
	const uint8_t serve_reset_serve[VQ_SCRIPT_LEN] = {
		vq_op(VQ_OP_POP_PUSH, 1), vq_op(VQ_OP_INTERRUPT, 0), vq_op(VQ_OP_POP_PUSH, 0),
		vq_op(VQ_OP_RESET, 3), vq_op(VQ_OP_POP_PUSH, 0),
	};
	const uint8_t each_after_reset[VQ_SCRIPT_LEN] = {
		vq_op(VQ_OP_POP_PUSH, 0), vq_op(VQ_OP_RESET, 0), vq_op(VQ_OP_POP_PUSH, 1),
		vq_op(VQ_OP_RESET, 0), vq_op(VQ_OP_POP_PUSH, 2),
	};
	const uint8_t serve[VQ_SCRIPT_LEN] = { vq_op(VQ_OP_POP_PUSH, 0) };

	/* one buffer, served; the driver offers it again */
	vq_begin(&v, 0, 3, desc, avail, used, serve_twice);
	vq_desc(&v, desc, 0, bufs, 64, 0, 0);
	vq_offer(&v, (uint16_t[]){ 0 }, 1);
	vq_save("one-buffer", &v);

	/* readable then writable buffers, held, gathered, pushed out of order */
	vq_begin(&v, 0, 3, desc, avail, used, hold_and_push);
	vq_desc(&v, desc, 0, bufs, 16, VRING_DESC_F_NEXT, 5);
	vq_desc(&v, desc, 5, bufs + 0x10, 32, VRING_DESC_F_NEXT, 2);
	vq_desc(&v, desc, 2, bufs + 0x40, 200, VRING_DESC_F_WRITE, 0);
	vq_desc(&v, desc, 3, bufs + 0x200, 8, VRING_DESC_F_WRITE, 0);
	vq_offer(&v, (uint16_t[]){ 0, 3 }, 2);
	vq_save("chains", &v);

	/* an indirect table after a direct buffer, with EVENT_IDX */
	vq_begin(&v, VQ_F_INDIRECT | VQ_F_EVENT_IDX, 3, desc, avail, used, serve_reset_serve);
	vq_desc(&v, desc, 1, bufs, 8, VRING_DESC_F_NEXT, 4);
	vq_desc(&v, desc, 4, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	vq_desc(&v, table, 0, bufs + 0x100, 10, VRING_DESC_F_NEXT, 2);
	vq_desc(&v, table, 2, bufs + 0x200, 20, VRING_DESC_F_NEXT, 1);
	vq_desc(&v, table, 1, bufs + 0x300, 30, VRING_DESC_F_WRITE, 0);
	vq_offer(&v, (uint16_t[]){ 1, 1 }, 2);
	vq_save("indirect", &v);

	/* rings in the second region; a loop, a buffer across the regions'
	 * seam and one that ends memory: this seed is as long as an input
	 * gets, so libFuzzer lets inputs reach all of memory */
	vq_begin(&v, 0, 2, VQ_REGION0_SIZE, VQ_REGION0_SIZE + 0x100, VQ_REGION0_SIZE + 0x200,
		 each_after_reset);
	vq_desc(&v, v.desc, 0, bufs, 1, VRING_DESC_F_NEXT, 1);
	vq_desc(&v, v.desc, 1, bufs, 1, VRING_DESC_F_NEXT, 0);
	vq_desc(&v, v.desc, 2, VQ_REGION0_SIZE - 8, 16, 0, 0);
	vq_desc(&v, v.desc, 3, VQ_MEM_SIZE - 16, 16, 0, 0);
	vq_offer(&v, (uint16_t[]){ 0, 2, 3 }, 3);
	memcpy(v.mem + VQ_MEM_SIZE - 16, "end of memory...", 16);
	vq_save("loop-seam-end", &v);

	/* the largest queue, every descriptor in one chain */
	vq_begin(&v, 0, 6, desc, avail, used, serve);
	for (unsigned int i = 0; i < VQ_MAX_SIZE; i++)
		vq_desc(&v, desc, i, bufs + i, 1, i + 1 < VQ_MAX_SIZE ? VRING_DESC_F_NEXT : 0,
			i + 1);
	vq_offer(&v, (uint16_t[]){ 0 }, 1);
	vq_save("long-chain", &v);
}

/* ---- virtio-mmio ---------------------------------------------------------- */

static uint8_t mmio_index(uint16_t offset)
{
	for (uint8_t i = 0; i < MMIO_NR_REGISTERS; i++) {
		if (MMIO_REGISTERS[i] == offset)
			return i;
	}
	fprintf(stderr, "no register %#x\n", offset);
	exit(1);
}

static void mmio_rd(struct seed *s, uint16_t offset)
{
	u8(s, MMIO_READ);
	u8(s, mmio_index(offset));
}

static void mmio_wr(struct seed *s, uint16_t offset, uint32_t value)
{
	u8(s, MMIO_WRITE);
	u8(s, mmio_index(offset));
	u32(s, value);
}

static void mmio_poke(struct seed *s, unsigned int region, uint16_t offset, const void *data,
		      uint8_t len)
{
	u8(s, MMIO_POKE);
	u8(s, region);
	u16(s, offset);
	u8(s, len);
	put(s, data, len);
}

static void mmio_negotiate(struct seed *s, uint64_t features)
{
	mmio_wr(s, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_wr(s, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_wr(s, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	mmio_rd(s, VIRTIO_MMIO_DEVICE_FEATURES);
	mmio_wr(s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(s, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	mmio_wr(s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(s, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
	mmio_wr(s, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					       VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_rd(s, VIRTIO_MMIO_STATUS);
}

static void mmio_queue(struct seed *s, uint32_t queue, uint32_t size, uint64_t desc,
		       uint64_t avail, uint64_t used)
{
	mmio_wr(s, VIRTIO_MMIO_QUEUE_SEL, queue);
	mmio_rd(s, VIRTIO_MMIO_QUEUE_NUM_MAX);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_NUM, size);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
	mmio_wr(s, VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_rd(s, VIRTIO_MMIO_QUEUE_READY);
}

static void mmio_seeds(void)
{
	const uint32_t driver_ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	const uint64_t version_1 = 1ull << VIRTIO_F_VERSION_1;
	const struct vring_desc one = { .addr = 0x8000, .len = 16 };
	const uint16_t avail[] = { 0, 1, 0 }; /* flags, idx 1, head 0 */
	struct seed s = { .len = 0 };

	for (unsigned int i = 0; i < MMIO_NR_REGISTERS; i++)
		mmio_rd(&s, MMIO_REGISTERS[i]);
	save("mmio", "identity", &s);

	/* the whole bring-up, a chain served, the interrupt acknowledged */
	s.len = 0;
	mmio_negotiate(&s, version_1 | (1ull << VIRTIO_RING_F_EVENT_IDX));
	mmio_queue(&s, 0, 8, 0x1000, 0x2000, 0x3000);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, driver_ok);
	mmio_poke(&s, 0, 0x1000, &one, sizeof(one));
	mmio_poke(&s, 0, 0x2000, avail, sizeof(avail));
	mmio_wr(&s, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	mmio_rd(&s, VIRTIO_MMIO_INTERRUPT_STATUS);
	mmio_wr(&s, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	u8(&s, MMIO_NOTIFY);
	u8(&s, 1);
	mmio_rd(&s, VIRTIO_MMIO_STATUS);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, 0);
	save("mmio", "bring-up", &s);

	/* rings above 4 GiB, indirect descriptors negotiated */
	s.len = 0;
	mmio_negotiate(&s, version_1 | (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	mmio_queue(&s, 1, 4, MMIO_REGION1_GPA, MMIO_REGION1_GPA + 0x100, MMIO_REGION1_GPA + 0x200);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, driver_ok);
	mmio_poke(&s, 1, 0, &one, sizeof(one));
	mmio_poke(&s, 1, 0x100, avail, sizeof(avail));
	u8(&s, MMIO_NOTIFY);
	u8(&s, 1);
	save("mmio", "high-rings", &s);

	/* steps out of order, features not offered, a device that fails to
	 * activate, config space at odd widths */
	s.len = 0;
	mmio_wr(&s, VIRTIO_MMIO_STATUS, driver_ok);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER);
	mmio_negotiate(&s, 1ull << 40);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, 0);
	u8(&s, MMIO_WRITE | 4 << 2); /* one byte */
	u8(&s, mmio_index(VIRTIO_MMIO_CONFIG));
	u8(&s, MMIO_CONFIG_FAIL_ACTIVATE);
	mmio_negotiate(&s, version_1);
	mmio_wr(&s, VIRTIO_MMIO_STATUS, driver_ok);
	mmio_rd(&s, VIRTIO_MMIO_STATUS);
	u8(&s, MMIO_READ | 6 << 2 | MMIO_RAW_OFFSET); /* eight bytes at config + 4 */
	u16(&s, VIRTIO_MMIO_CONFIG + 4);
	u8(&s, MMIO_WRITE | 5 << 2 | MMIO_RAW_OFFSET); /* two bytes off a register */
	u16(&s, VIRTIO_MMIO_STATUS + 2);
	u16(&s, 0xffff);
	mmio_wr(&s, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	mmio_rd(&s, VIRTIO_MMIO_QUEUE_NUM_MAX);
	save("mmio", "misbehaving", &s);
}

/* ---- console -------------------------------------------------------------- */

static void con_chain(struct seed *s, unsigned int queue, bool kick, const char *data,
		      unsigned int room)
{
	u8(s, CON_CHAIN);
	u8(s, queue);
	u8(s, (data && room ? 1 : 0) | (kick ? CON_CHAIN_KICK : 0));
	if (data) {
		u8(s, strlen(data) - 1);
		put(s, data, strlen(data));
	}
	if (room)
		u8(s, CON_SEG_WRITABLE | (room - 1));
}

static void con_control(struct seed *s, uint32_t port, uint16_t event, uint16_t value)
{
	u8(s, CON_CONTROL);
	u32(s, port);
	u16(s, event);
	u16(s, value);
}

static void con_input(struct seed *s, unsigned int port, const char *data)
{
	u8(s, CON_INPUT);
	u8(s, port);
	u8(s, strlen(data));
	put(s, data, strlen(data));
}

static void con_seeds(void)
{
	struct seed s = { .len = 0 };

	/* a lone console: output, input typed on the terminal, a resize, ^C */
	u8(&s, CON_F_EVENT_IDX);
	con_chain(&s, CONSOLE_TX_QUEUE, true, "hello, world\n", 0);
	con_chain(&s, CONSOLE_RX_QUEUE, true, NULL, 64);
	con_input(&s, 0, "ls -l\r");
	u8(&s, CON_LOOP);
	u8(&s, CON_RESIZE);
	u16(&s, 132);
	u16(&s, 43);
	u8(&s, CON_INTERRUPT);
	con_chain(&s, CONSOLE_RX_QUEUE, true, NULL, 4);
	u8(&s, CON_FLUSH);
	save("console", "lone", &s);

	/* multiport as Linux sets it up: control buffers, DEVICE_READY, each
	 * port ready, the named inputs opened, data both ways, a hang-up */
	s.len = 0;
	u8(&s, CON_F_MULTIPORT | CON_F_INDIRECT);
	for (int i = 0; i < 4; i++)
		con_chain(&s, CONSOLE_CTRL_RX_QUEUE, i == 3, NULL, 64);
	con_control(&s, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t port = 0; port < CON_NR_PORTS; port++)
		con_control(&s, port, VIRTIO_CONSOLE_PORT_READY, 1);
	for (int i = 0; i < 4; i++)
		con_chain(&s, CONSOLE_CTRL_RX_QUEUE, i == 3, NULL, 64);
	/* a file's end is its input's end: what it holds is there first */
	con_input(&s, 3, "from a file");
	con_control(&s, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	con_control(&s, 3, VIRTIO_CONSOLE_PORT_OPEN, 1);
	con_chain(&s, 4 /* krun-stdin's receive queue */, true, NULL, 32);
	con_chain(&s, 8 /* krun-stderr's */, true, NULL, 32);
	con_input(&s, 1, "from stdin");
	u8(&s, CON_LOOP);
	con_chain(&s, 7 /* krun-stdout's transmit queue */, true, "to stdout\n", 0);
	con_chain(&s, 9 /* krun-stderr's */, true, "to stderr\n", 0);
	u8(&s, CON_HANG_UP);
	u8(&s, 1);
	u8(&s, CON_LOOP);
	con_chain(&s, CONSOLE_CTRL_RX_QUEUE, true, NULL, 64);
	save("console", "multiport", &s);

	/* bad control messages, a reset to another feature set, a ring the
	 * driver then breaks */
	s.len = 0;
	u8(&s, CON_F_MULTIPORT);
	con_control(&s, 0, VIRTIO_CONSOLE_DEVICE_READY, 0);
	con_control(&s, 9, VIRTIO_CONSOLE_PORT_READY, 1);
	con_control(&s, 1, VIRTIO_CONSOLE_PORT_NAME, 1);
	u8(&s, CON_REINIT);
	u8(&s, CON_F_EVENT_IDX);
	con_chain(&s, CONSOLE_TX_QUEUE, false, "queued\n", 0);
	u8(&s, CON_POKE);
	u16(&s, 0x1000 + CONSOLE_TX_QUEUE * 0x400 + 8); /* the descriptor's length */
	u8(&s, 4);
	u32(&s, 0xffffffff);
	u8(&s, CON_KICK);
	u8(&s, CONSOLE_TX_QUEUE);
	save("console", "misbehaving", &s);

	/* port 0's output, a pipe nearly full: a chain of 8 segments backs it
	 * up past the bound, the host drains some and the loop resumes, more
	 * output, and the final flush meets a full pipe */
	s.len = 0;
	u8(&s, 0);
	for (int chain = 0; chain < 2; chain++) {
		u8(&s, CON_CHAIN);
		u8(&s, CONSOLE_TX_QUEUE);
		u8(&s, 7 | CON_CHAIN_KICK);
		for (int seg = 0; seg < 8; seg++) {
			char data[128];

			memset(data, 'a' + chain * 8 + seg, sizeof(data));
			u8(&s, sizeof(data) - 1);
			put(&s, data, sizeof(data));
		}
		u8(&s, CON_LOOP);
		u8(&s, CON_DRAIN);
		u8(&s, 255);
		u8(&s, CON_LOOP);
	}
	u8(&s, CON_FLUSH);
	save("console", "pipe", &s);
}

/* ---- FUSE server ---------------------------------------------------------- */

/* Requests refer to what the server handed out by the order it did. */
static uint8_t fuse_op_index(uint32_t opcode)
{
	for (uint8_t i = 0; i < FUSE_NR_OPS; i++) {
		if (FUSE_OPS[i].opcode == opcode)
			return i;
	}
	fprintf(stderr, "no opcode %u\n", opcode);
	exit(1);
}

static void fuse_req(struct seed *s, uint32_t opcode, uint8_t shape, uint8_t node)
{
	u8(s, fuse_op_index(opcode));
	u8(s, shape);
	/* the caller puts a raw node id */
	if ((shape & FUSE_SHAPE_NODE) == FUSE_NODE_POOL ||
	    (shape & FUSE_SHAPE_NODE) == FUSE_NODE_OF_HANDLE)
		u8(s, node);
}

static void fuse_name(struct seed *s, const char *name)
{
	for (uint8_t i = 0; i < FUSE_NR_NAMES; i++) {
		if (!strcmp(FUSE_NAMES[i], name)) {
			u8(s, i);
			return;
		}
	}
	u8(s, FUSE_NAME_RAW);
	u8(s, strlen(name) + 1);
	put(s, name, strlen(name) + 1);
}

static void fuse_data(struct seed *s, const char *data)
{
	u16(s, strlen(data));
	put(s, data, strlen(data));
}

static void fuse_lookup(struct seed *s, uint8_t shape, uint8_t parent, const char *name)
{
	fuse_req(s, FUSE_LOOKUP, shape, parent);
	fuse_name(s, name);
}

static void fuse_open(struct seed *s, uint8_t node, uint32_t flags)
{
	const struct fuse_open_in open = { .flags = flags };

	fuse_req(s, FUSE_OPEN, FUSE_NODE_POOL, node);
	put(s, &open, sizeof(open));
}

/* A request on handle fh (by order handed out), node its own. */
static void fuse_on_handle(struct seed *s, uint32_t opcode, uint8_t fh, const void *fixed,
			   size_t len)
{
	fuse_req(s, opcode, FUSE_NODE_OF_HANDLE | FUSE_SHAPE_POOL, 0);
	put(s, fixed, len);
	u8(s, fh);
	u8(s, 0);
}

static void fuse_write(struct seed *s, uint8_t fh, const char *data)
{
	const struct fuse_write_in write = { .offset = 0 };

	fuse_on_handle(s, FUSE_WRITE, fh, &write, sizeof(write));
	fuse_data(s, data);
}

static void fuse_read(struct seed *s, uint32_t opcode, uint8_t fh, uint32_t size)
{
	const struct fuse_read_in read = { .size = size };

	fuse_on_handle(s, opcode, fh, &read, sizeof(read));
}

static void fuse_seeds(void)
{
	const struct fuse_getattr_in getattr = { 0 };
	const struct fuse_mkdir_in mkdir_in = { .mode = 0755, .umask = 022 };
	const struct fuse_create_in create = { .flags = O_RDWR | O_CREAT, .mode = 0644 };
	const struct fuse_rename_in rename = { .newdir = FUSE_ROOT_ID };
	const struct fuse_setxattr_in setxattr = { 0 };
	const struct fuse_getxattr_in getxattr = { .size = 256 };
	const struct fuse_lk_in lk = {
		.owner = 7, .lk = { .end = 100, .type = F_WRLCK, .pid = 1 },
	};
	const struct fuse_release_in release = { 0 };
	const struct fuse_open_in opendir = { 0 };
	struct seed s = { .len = 0 };

	/* a session: files read and written, a listing, new entries */
	u32(&s, 0);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "file");		/* node 0 */
	fuse_open(&s, 0, O_RDWR);					/* handle 0 */
	fuse_read(&s, FUSE_READ, 0, 4096);
	fuse_write(&s, 0, "new data\n");
	fuse_req(&s, FUSE_GETATTR, FUSE_NODE_POOL, 0);
	put(&s, &getattr, sizeof(getattr));
	fuse_on_handle(&s, FUSE_SETLK, 0, &lk, sizeof(lk));
	fuse_on_handle(&s, FUSE_RELEASE, 0, &release, sizeof(release));
	fuse_req(&s, FUSE_OPENDIR, FUSE_NODE_ROOT, 0);		/* handle 1 */
	put(&s, &opendir, sizeof(opendir));
	fuse_read(&s, FUSE_READDIRPLUS, 1, 4096);		/* nodes 1... */
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "dir");
	fuse_req(&s, FUSE_MKDIR, FUSE_NODE_ROOT, 0);
	put(&s, &mkdir_in, sizeof(mkdir_in));
	fuse_name(&s, "new");
	fuse_req(&s, FUSE_CREATE, FUSE_NODE_ROOT, 0);
	put(&s, &create, sizeof(create));
	fuse_name(&s, "a-file");
	fuse_req(&s, FUSE_SYMLINK, FUSE_NODE_ROOT, 0);
	fuse_name(&s, "link2");
	fuse_name(&s, "file");
	fuse_req(&s, FUSE_RENAME, FUSE_NODE_ROOT, 0);
	put(&s, &rename, sizeof(rename));
	fuse_name(&s, "a-file");
	fuse_name(&s, "b-file");
	fuse_req(&s, FUSE_STATFS, FUSE_NODE_ROOT, 0);
	save("fuse", "session", &s);

	/* the tmpfs inside the share: a volume, which keeps working */
	s.len = 0;
	u32(&s, 0);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "tmp");			/* node 0 */
	fuse_req(&s, FUSE_CREATE, FUSE_NODE_POOL, 0);			/* node 1, handle 0 */
	put(&s, &create, sizeof(create));
	fuse_name(&s, "file");
	fuse_write(&s, 0, "in the volume\n");
	fuse_req(&s, FUSE_SETXATTR, FUSE_NODE_POOL, 1);
	put(&s, &setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE);
	fuse_name(&s, "user.x");
	fuse_data(&s, "value");
	fuse_req(&s, FUSE_GETXATTR, FUSE_NODE_POOL, 1);
	put(&s, &getxattr, sizeof(getxattr));
	fuse_name(&s, "user.x");
	fuse_req(&s, FUSE_OPENDIR, FUSE_NODE_POOL, 0);			/* handle 1 */
	put(&s, &opendir, sizeof(opendir));
	fuse_read(&s, FUSE_READDIR, 1, 4096);
	save("fuse", "volume", &s);

	/* the ways out the oracles watch: each must fail */
	for (int write = 0; write <= 1; write++) {
		s.len = 0;
		u32(&s, 0);
		fuse_lookup(&s, FUSE_NODE_ROOT, 0, "sysctl");		/* node 0 */
		fuse_lookup(&s, FUSE_NODE_POOL, 0, "kernel");		/* node 1 */
		fuse_lookup(&s, FUSE_NODE_POOL, 1, "hostname");		/* node 2 */
		fuse_open(&s, 2, write ? O_WRONLY : O_RDONLY);		/* handle 0 */
		if (write)
			fuse_write(&s, 0, "pwned");
		else
			fuse_read(&s, FUSE_READ, 0, 64);
		save("fuse", write ? "escape-hostname-write" : "escape-hostname-read", &s);
	}

	s.len = 0;
	u32(&s, 0);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "proc");			/* node 0 */
	fuse_lookup(&s, FUSE_NODE_POOL, 0, "1");			/* node 1 */
	fuse_lookup(&s, FUSE_NODE_POOL, 1, "comm");			/* node 2 */
	fuse_open(&s, 2, O_RDWR);					/* handle 0 */
	fuse_write(&s, 0, "pwned");
	save("fuse", "escape-comm", &s);

	s.len = 0;
	u32(&s, 0);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "proc");			/* node 0 */
	fuse_req(&s, FUSE_OPENDIR, FUSE_NODE_POOL, 0);			/* handle 0 */
	put(&s, &opendir, sizeof(opendir));
	fuse_read(&s, FUSE_READDIR, 0, 4096);
	fuse_req(&s, FUSE_LOOKUP, FUSE_NODE_POOL, 0);
	u8(&s, FUSE_NAME_LEARNED | 2); /* past "." and ".." */
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "escape");
	fuse_req(&s, FUSE_READLINK, FUSE_NODE_POOL, 1);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "..");
	save("fuse", "escape-listing", &s);

	/* forged ids, lying lengths, buffers cut small */
	s.len = 0;
	u32(&s, 0xffffffff);
	fuse_req(&s, FUSE_GETATTR, FUSE_NODE_RAW, 0);
	put_le(&s, 0x100000001ull, 8);
	put(&s, &getattr, sizeof(getattr));
	fuse_req(&s, FUSE_READ, FUSE_NODE_ROOT | FUSE_SHAPE_LEN | FUSE_SHAPE_SPLIT, 0);
	u32(&s, 0xffff);
	put(&s, &(struct fuse_read_in){ .fh = 5, .size = 100 }, sizeof(struct fuse_read_in));
	u8(&s, 3 | 3 << 2);
	u16(&s, 3);
	u16(&s, 17);
	u16(&s, 0);
	u16(&s, 1);
	u16(&s, 7);
	u16(&s, 2);
	fuse_req(&s, FUSE_LOOKUP, FUSE_NODE_ROOT | FUSE_SHAPE_SHORT_OUT | FUSE_SHAPE_CREDS, 0);
	u32(&s, 1000);
	u32(&s, 1000);
	fuse_name(&s, "file");
	u16(&s, 20);
	fuse_req(&s, FUSE_INIT, FUSE_NODE_ROOT | FUSE_SHAPE_RAW, 0);
	u16(&s, 3);
	put(&s, "\x07\x00\x01", 3);
	fuse_req(&s, FUSE_DESTROY, FUSE_NODE_ROOT, 0);
	fuse_lookup(&s, FUSE_NODE_ROOT, 0, "file");
	save("fuse", "forged", &s);
}

/* ---- TSI ------------------------------------------------------------------ */

static void ts_request(struct seed *s, uint16_t op, uint16_t flags, uint32_t arg, uint16_t family,
		       uint16_t port, const uint8_t *addr, uint32_t scope)
{
	u16(s, op);
	u16(s, flags);
	u32(s, arg);
	u16(s, family);
	put(s, (uint8_t[]){ port >> 8, port & 0xff }, 2); /* network order */
	u32(s, 0);
	put(s, addr ? addr : (const uint8_t[16]){ 0 }, 16);
	u32(s, scope);
	u32(s, 0);
}

static void ts_seeds(void)
{
	static const uint8_t v4[16] = { 127, 0, 0, 1 };
	static const uint8_t v6[16] = { [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
	struct seed s = { .len = 0 };

	ts_request(&s, TSI_OP_CONNECT, 0, 0, AF_INET, 80, v4, 0);
	save("tsi", "connect-v4", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_CONNECT, 0, 0, AF_INET6, 443, v6, 0);
	save("tsi", "connect-v6", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_CONNECT, 0, 0, AF_INET6, 8080, mapped, 0);
	save("tsi", "connect-mapped", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_CONNECT, 0, 0, AF_INET6, 22, v6, 2);
	save("tsi", "connect-scoped", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_UNIX, 0, 16, 0, 0, NULL, 0);
	put(&s, "/run/dbus/socket", 16);
	save("tsi", "unix", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_LISTEN, TSI_FLAG_V6ONLY, 128, AF_INET6, 8000, NULL, 0);
	save("tsi", "listen", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_DGRAM, 0, 0, AF_INET, 53, NULL, 0);
	save("tsi", "dgram", &s);
	s.len = 0;
	ts_request(&s, TSI_OP_ACCEPT, 0, 0x12345678, 0, 0, NULL, 0);
	save("tsi", "accept", &s);
}

/* ---- vsock ---------------------------------------------------------------- */

static void vs_packet_bytes(struct seed *s, uint16_t op, uint8_t guest_port, uint8_t host_port,
			    const struct seed *data)
{
	u8(s, VS_PACKET);
	u8(s, op);
	u8(s, 0);
	u8(s, guest_port);
	u8(s, host_port);
	u32(s, 65536);
	u32(s, 0);
	u8(s, 0);
	u16(s, data->len);
	u8(s, data->len);
	put(s, data->buf, data->len);
}

static void vs_packet(struct seed *s, uint16_t op, uint8_t shape, uint8_t guest_port,
		      uint8_t host_port, uint32_t buf_alloc, uint32_t fwd_cnt, uint8_t flags,
		      const char *data)
{
	u8(s, VS_PACKET);
	u8(s, op);
	u8(s, shape);
	u8(s, guest_port);
	u8(s, host_port);
	u32(s, buf_alloc);
	u32(s, fwd_cnt);
	u8(s, flags);
	u16(s, data ? strlen(data) : 0);
	u8(s, data ? strlen(data) : 0);
	if (data)
		put(s, data, strlen(data));
}

static void vs_host(struct seed *s, uint8_t action, uint8_t index, uint16_t len)
{
	u8(s, VS_HOST);
	u8(s, action);
	u8(s, index);
	u16(s, len);
}

static void vs_seeds(void)
{
	struct seed s = { .len = 0 };

	/* the guest connects, data both ways, credit, a clean close */
	u8(&s, VS_OFFER);
	u8(&s, 7);
	u16(&s, 4095);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 0, VS_PORT_CONNECT, 65536, 0, 0, NULL);
	vs_host(&s, VS_HOST_ACCEPT, 0, 0);
	vs_packet(&s, VIRTIO_VSOCK_OP_RW, 0, 0, VS_PORT_CONNECT, 65536, 0, 0, "hello");
	vs_host(&s, VS_HOST_READ, 0, 64);
	vs_host(&s, VS_HOST_WRITE, 0, 3000);
	u8(&s, VS_LOOP);
	u8(&s, VS_RECV);
	vs_packet(&s, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0, VS_PORT_CONNECT, 65536, 3000, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0, VS_PORT_CONNECT, 65536, 3000, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_SHUTDOWN, 0, 0, VS_PORT_CONNECT, 65536, 3000, 3, NULL);
	u8(&s, VS_RECV);
	save("vsock", "connect", &s);

	/* the host connects through the listening port, the guest answers */
	s.len = 0;
	u8(&s, VS_OFFER);
	u8(&s, 7);
	u16(&s, 4095);
	vs_host(&s, VS_HOST_CONNECT, 0, 0);
	u8(&s, VS_LOOP);
	u8(&s, VS_RECV);
	vs_packet(&s, VIRTIO_VSOCK_OP_RESPONSE, 0, 0, VS_PORT_OFFERED, 65536, 0, 0, NULL);
	vs_host(&s, VS_HOST_WRITE, 0, 100);
	u8(&s, VS_LOOP);
	u8(&s, VS_RECV);
	vs_packet(&s, VIRTIO_VSOCK_OP_RW, 0, 0, VS_PORT_OFFERED, 65536, 100, 0, "pong");
	vs_host(&s, VS_HOST_CLOSE, 0, 0);
	u8(&s, VS_LOOP);
	u8(&s, VS_RECV);
	save("vsock", "listen", &s);

	/* what a hostile guest sends: bad headers, lies, floods, a reset */
	s.len = 0;
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, VS_SHAPE_BAD_SRC, 1, VS_PORT_CONNECT, 0, 0, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, VS_SHAPE_SEQPACKET, 1, VS_PORT_CONNECT, 0, 0, 0,
		  NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 1, VS_PORT_UNMAPPED, 0, 0, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 1, VS_PORT_CONNECT, 100, 0, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_RW, VS_SHAPE_LONGER, 1, VS_PORT_CONNECT, 100, 0, 0, "abc");
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 2, VS_PORT_CONNECT, 100, 0, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 2, VS_PORT_CONNECT, 100, 9999, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_RW, VS_SHAPE_HUGE, 3, VS_PORT_CONNECT, 100, 0, 0, "x");
	vs_packet(&s, 42, VS_SHAPE_SHORT_HDR, 3, VS_PORT_CONNECT, 100, 0, 0, NULL);
	u8(&s, VS_OFFER);
	u8(&s, 2);
	u16(&s, 43);
	u8(&s, VS_RESET);
	u8(&s, VS_RECV);
	save("vsock", "hostile", &s);

	/* TSI: a UNIX request in two packets, bytes after it, the reply and
	 * the host's bytes read; a malformed request */
	struct seed req = { .len = 0 }, head = { .len = 20 }, tail = { .len = 0 };
	s.len = 0;
	u8(&s, VS_OFFER);
	u8(&s, 7);
	u16(&s, 4095);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 0, VS_PORT_TSI, 65536, 0, 0, NULL);
	ts_request(&req, TSI_OP_UNIX, 0, 13, 0, 0, NULL, 0);
	put(&req, "/connect.sockhello", 18);
	memcpy(head.buf, req.buf, head.len);
	put(&tail, req.buf + head.len, req.len - head.len);
	vs_packet_bytes(&s, VIRTIO_VSOCK_OP_RW, 0, VS_PORT_TSI, &head);
	vs_packet_bytes(&s, VIRTIO_VSOCK_OP_RW, 0, VS_PORT_TSI, &tail);
	vs_host(&s, VS_HOST_ACCEPT, 0, 0);
	u8(&s, VS_LOOP);
	vs_host(&s, VS_HOST_READ, 0, 64);
	vs_host(&s, VS_HOST_WRITE, 0, 100);
	u8(&s, VS_LOOP);
	u8(&s, VS_RECV);
	vs_packet(&s, VIRTIO_VSOCK_OP_REQUEST, 0, 1, VS_PORT_TSI, 65536, 0, 0, NULL);
	vs_packet(&s, VIRTIO_VSOCK_OP_RW, 0, 1, VS_PORT_TSI, 65536, 0, 0,
		  "\x09\x01 is no op, and these are forty bytes or more");
	u8(&s, VS_RECV);
	save("vsock", "tsi", &s);
}

/* ---- tcp_guard ------------------------------------------------------------ */

static void tg_guest(struct seed *s, unsigned int port, uint8_t flags, uint16_t seq, uint16_t ack,
		     uint16_t len, bool corrupt)
{
	u8(s, (uint8_t)(TG_GUEST | port << 2));
	u8(s, flags);
	u16(s, seq);
	u16(s, ack);
	u16(s, len);
	u8(s, corrupt);
}

static void tg_stack(struct seed *s, unsigned int port, uint8_t flags, uint16_t seq, uint16_t ack,
		     uint16_t win)
{
	u8(s, (uint8_t)(TG_STACK | port << 2));
	u8(s, flags);
	u16(s, seq);
	u16(s, ack);
	u16(s, win);
	u16(s, 0);
}

/* SYN, SYN-ACK, ACK: the guest's next byte at offset 1, the stack's too. */
static void tg_open(struct seed *s, unsigned int port, uint16_t win)
{
	tg_guest(s, port, 0x02, 0, 0, 0, false);
	tg_stack(s, port, 0x12, 0, 1, win);
	tg_guest(s, port, 0x10, 1, 1, 0, false);
}

static void tg_seeds(void)
{
	struct seed s = { .len = 0 };

	/* the attack: one byte after every hole, then the holes filled */
	tg_open(&s, 0, 65535);
	for (uint16_t k = 0; k < 40; k++)
		tg_guest(&s, 0, 0x18, (uint16_t)(2 + 2 * k), 1, 1, false);
	tg_guest(&s, 0, 0x18, 1, 1, 80, false);
	tg_stack(&s, 0, 0x10, 1, 81, 65535);
	tg_guest(&s, 0, 0x18, 81, 1, 1, true);
	save("tcp_guard", "holes", &s);

	/* resets either way, data past a small window, a FIN */
	s.len = 0;
	tg_open(&s, 1, 100);
	tg_guest(&s, 1, 0x18, 1, 1, 300, false);
	tg_guest(&s, 1, 0x18, 101, 1, 1, false);
	tg_guest(&s, 1, 0x11, 102, 1, 0, false);
	tg_guest(&s, 1, 0x04, 50, 0, 0, false);
	tg_open(&s, 2, 65535);
	tg_guest(&s, 2, 0x18, 10, 1, 1, false);
	tg_stack(&s, 2, 0x14, 1, 0, 0);
	save("tcp_guard", "resets", &s);

	/* eight connections with holes over a table of four */
	s.len = 0;
	for (unsigned int port = 0; port < 8; port++) {
		tg_open(&s, port, 65535);
		for (uint16_t k = 0; k < 3; k++)
			tg_guest(&s, port, 0x18, (uint16_t)(2 + 2 * k), 1, 1, false);
	}
	save("tcp_guard", "eviction", &s);

	/* frames as they come: a short one, not TCP, one cut inside its header */
	s.len = 0;
	u8(&s, TG_RAW_GUEST);
	u16(&s, 20);
	put(&s, "\x02\x00\x00\x00\x00\x0f\x52\x55\x0a\x00\x02\x02\x08\x00\x45\x00\x00\x28\x00\x00", 20);
	u8(&s, TG_RAW_STACK);
	u16(&s, 14);
	put(&s, "\x02\x00\x00\x00\x00\x0f\x52\x55\x0a\x00\x02\x02\x08\x06", 14);
	save("tcp_guard", "raw", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	vq_seeds();
	mmio_seeds();
	con_seeds();
	fuse_seeds();
	vs_seeds();
	ts_seeds();
	tg_seeds();
	return 0;
}
