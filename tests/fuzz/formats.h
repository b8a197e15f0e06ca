/* The input formats of the fuzz targets: the constants a target reads its
 * input by, shared with make_corpus.c, which writes the seeds. Numbers are
 * little-endian; an input that ends early reads as zeros from there on. */
#ifndef KRUN_FUZZ_FORMATS_H
#define KRUN_FUZZ_FORMATS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/fuse.h>
#include <linux/virtio_mmio.h>

/* ---- virtqueue ------------------------------------------------------------
 * [header: u8 features, u8 size code, u16 desc, u16 avail, u16 used gpa]
 * [script: VQ_SCRIPT_LEN op bytes, op = byte & 7, arg = byte >> 3]
 * [guest memory image: VQ_MEM_SIZE bytes]
 * A size code below 16 is log2 of the queue size, any other the size as the
 * driver wrote it. Guest memory is two adjacent regions, each its own heap
 * block of exactly its size, so that ASan sees any access past either. */
#define VQ_F_INDIRECT 1
#define VQ_F_EVENT_IDX 2
#define VQ_HEADER_LEN 8
#define VQ_SCRIPT_LEN 16
#define VQ_MAX_SIZE 64
#define VQ_REGION0_SIZE 0x1800
#define VQ_MEM_SIZE 0x2000
enum {
	VQ_OP_POP_PUSH,	  /* pop up to arg + 1 chains, fill and push each */
	VQ_OP_POP_HOLD,	  /* pop one chain and keep it */
	VQ_OP_PUSH_HELD,  /* push held chain arg % held, arg * 64 bytes written */
	VQ_OP_UNPOP,	  /* right after a POP_HOLD: give it back */
	VQ_OP_INTERRUPT,  /* virtq_need_interrupt */
	VQ_OP_GATHER,	  /* gather arg * 64 bytes of the newest held chain */
	VQ_OP_PUBLISH,	  /* the driver makes arg + 1 more entries available */
	VQ_OP_RESET,	  /* reset, enable again with features arg & 3 */
};

/* ---- virtio-mmio ----------------------------------------------------------
 * Actions until the input ends, each an action byte: kind = byte & 3,
 * width = MMIO_WIDTHS[(byte >> 2) & 7], and MMIO_RAW_OFFSET set: the offset
 * is a raw u16, else a u8 index into MMIO_REGISTERS.
 *   MMIO_READ:   offset
 *   MMIO_WRITE:  offset, value (width bytes)
 *   MMIO_POKE:   u8 region (bit 0), u16 offset (wrapped to the region), u8 len,
 *                len bytes of guest memory (as far as the region goes)
 *   MMIO_NOTIFY: u8 queue (the ioeventfd path)
 * Guest memory: MMIO_REGION0_SIZE bytes at 0, MMIO_REGION1_SIZE at
 * MMIO_REGION1_GPA (above 4 GiB: the high halves of ring addresses count).
 * The device has MMIO_NR_QUEUES queues of up to MMIO_QUEUE_MAX entries and
 * a writable config space of MMIO_CONFIG_SIZE bytes. */
enum { MMIO_READ, MMIO_WRITE, MMIO_POKE, MMIO_NOTIFY };
#define MMIO_RAW_OFFSET 0x20
#define MMIO_REGION0_SIZE 0x10000
#define MMIO_REGION1_GPA 0x100000000ull
#define MMIO_REGION1_SIZE 0x1000
#define MMIO_NR_QUEUES 2
#define MMIO_QUEUE_MAX 16
#define MMIO_CONFIG_SIZE 12
/* activate() fails while the first config byte holds this */
#define MMIO_CONFIG_FAIL_ACTIVATE 0xee
static const uint8_t MMIO_WIDTHS[8] = { 4, 4, 4, 4, 1, 2, 8, 3 };
static const uint16_t MMIO_REGISTERS[] = {
	VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
	VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
	VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_ACK,
	VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
	VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_MMIO_QUEUE_USED_LOW,
	VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_SHM_SEL, VIRTIO_MMIO_SHM_LEN_LOW,
	VIRTIO_MMIO_SHM_LEN_HIGH, VIRTIO_MMIO_SHM_BASE_LOW, VIRTIO_MMIO_SHM_BASE_HIGH,
	VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_CONFIG + 4,
	VIRTIO_MMIO_CONFIG + 8, VIRTIO_MMIO_CONFIG + 12,
};
#define MMIO_NR_REGISTERS (sizeof(MMIO_REGISTERS) / sizeof(MMIO_REGISTERS[0]))

/* ---- console --------------------------------------------------------------
 * [u8 features: CON_F_*] then actions until the input ends, each a byte
 * (% CON_NR_ACTIONS) and its arguments:
 *   CON_CHAIN:     u8 queue, u8 segments (low 3 bits + 1; CON_CHAIN_KICK: kick
 *                  after), per segment a u8 (bit 7: writable; length = low 7
 *                  bits + 1) then, when readable, its bytes
 *   CON_KICK:      u8 queue
 *   CON_INPUT:     u8 port, u8 len, len bytes typed on the host side
 *   CON_HANG_UP:   u8 port: the host side of its input closes
 *   CON_LOOP:      one turn of the event loop, not waiting
 *   CON_RESIZE:    u16 columns, u16 rows of the terminal; the driver reads the
 *                  config space
 *   CON_INTERRUPT: ^C typed by the VMM (console_interrupt)
 *   CON_FLUSH:     console_flush
 *   CON_REINIT:    u8 features: the driver resets the device and starts over
 *   CON_POKE:      u16 gpa (wrapped to guest memory's 32 KiB), u8 len, len bytes
 *                  written over guest memory (as far as it goes)
 *   CON_CONTROL:   u32 id, u16 event, u16 value: a control message, kicked
 *   CON_DRAIN:     u8 n: the host reads up to (n + 1) * 16 bytes of port 0's
 *                  output, a pipe nobody else reads
 * The driver sets every queue up (CON_QUEUE_SIZE entries) and reaches
 * DRIVER_OK itself. Ports: 0 the console (input a terminal, output a pipe
 * of one page, CON_PIPE_FILL bytes of it full from the start, so that the
 * device meets a full pipe and its own bound soon), 1 krun-stdin (a pipe),
 * 2 krun-stdout (output), 3 krun-stderr (input a regular file). */
#define CON_F_MULTIPORT 1
#define CON_F_EVENT_IDX 2
#define CON_F_INDIRECT 4
enum {
	CON_CHAIN,
	CON_KICK,
	CON_INPUT,
	CON_HANG_UP,
	CON_LOOP,
	CON_RESIZE,
	CON_INTERRUPT,
	CON_FLUSH,
	CON_REINIT,
	CON_POKE,
	CON_CONTROL,
	CON_DRAIN,
	CON_NR_ACTIONS
};
#define CON_CHAIN_KICK 0x80
#define CON_SEG_WRITABLE 0x80
#define CON_QUEUE_SIZE 8
#define CON_NR_PORTS 4
#define CON_PIPE_FILL (4096 - 256)

/* ---- vsock ----------------------------------------------------------------
 * Actions until the input ends, each a byte (% VS_NR_ACTIONS) and its
 * arguments:
 *   VS_PACKET:  u8 op, u8 shape (VS_SHAPE_*), u8 guest port (5000 + low 2
 *               bits), u8 host port (VS_PORT_* % 5), u32 buf_alloc, u32
 *               fwd_cnt, u8 shutdown flags, u16 payload length (% 4097;
 *               VS_SHAPE_HUGE: past the largest packet), u8 n and n bytes
 *               that start the payload (the rest a pattern)
 *   VS_OFFER:   u8 n, u16 size: n % 8 + 1 receive buffers of size % 8192 + 1
 *   VS_RECV:    the driver reads what the device gave back
 *   VS_HOST:    u8 action (VS_HOST_* % 5), u8 host socket index, u16 length
 *   VS_LOOP:    one turn of the event loop
 *   VS_RESET:   the driver resets the device and starts over
 * The device has a CONNECT port (to a unix listener of the target's), a
 * LISTEN port (the device listens), TSI's port (the unix feature, paths
 * beneath the sockets' directory: "/connect.sock" is the CONNECT port's
 * listener) and VS_MAX_CONNS connections at most. */
#define VS_SHAPE_BAD_SRC 1
#define VS_SHAPE_BAD_DST 2
#define VS_SHAPE_SEQPACKET 4
#define VS_SHAPE_LONGER 8   /* the header's len one more than the payload */
#define VS_SHAPE_SHORTER 16 /* one less */
#define VS_SHAPE_HUGE 32
#define VS_SHAPE_SHORT_HDR 64 /* a chain shorter than a header */
enum { VS_PORT_CONNECT, VS_PORT_LISTEN, VS_PORT_UNMAPPED, VS_PORT_OFFERED, VS_PORT_TSI };
enum { VS_HOST_ACCEPT, VS_HOST_CONNECT, VS_HOST_WRITE, VS_HOST_READ, VS_HOST_CLOSE };
enum { VS_PACKET, VS_OFFER, VS_RECV, VS_HOST, VS_LOOP, VS_RESET, VS_NR_ACTIONS };
#define VS_MAX_CONNS 8
#define VS_MAX_HOST_FDS 16

/* ---- TSI ------------------------------------------------------------------
 * The first bytes of a stream to TSI_PORT_V1, as the guest sends them: a
 * struct tsi_request (devices/vsock/tsi_wire.h) and, for UNIX, its path;
 * past VSOCK_REQUEST_MAX bytes the input is not read (the device collects
 * no more). */

/* ---- FUSE server ----------------------------------------------------------
 * [u32 flags of the INIT that opens the session] then requests until the
 * input ends (at most FUSE_MAX_REQUESTS), each:
 *   u8 index into FUSE_OPS
 *   u8 shape: FUSE_SHAPE_*
 *   the node: FUSE_NODE_POOL or FUSE_NODE_OF_HANDLE: a u8 index into the
 *     node ids the server handed out (OF_HANDLE: the node of the handle the
 *     request takes instead, if it takes one); FUSE_NODE_ROOT: nothing;
 *     FUSE_NODE_RAW: a u64
 *   with FUSE_SHAPE_CREDS: u32 uid, u32 gid (else root's)
 *   with FUSE_SHAPE_LEN: a u32 the header's len says (else the true length)
 *   with FUSE_SHAPE_RAW: a u16 length and the argument bytes; else the
 *     opcode's fixed struct, then with FUSE_SHAPE_POOL a u8 index into the
 *     handles for its fh_at and one into the nodes for its node_at, then its
 *     names (each a u8: an index into FUSE_NAMES; with FUSE_NAME_LEARNED, a
 *     name a READDIR reply listed; FUSE_NAME_RAW: a u8 length and the bytes)
 *     and its data (a u16 length and the bytes; WRITE and SETXATTR get
 *     their size field set to it)
 *   with FUSE_SHAPE_SHORT_OUT: a u16, the room for the reply
 *   with FUSE_SHAPE_SPLIT: a u8, low 2 bits + 1 request buffers, the next 2
 *     bits + 1 reply buffers, then a u16 per cut, taken from what is left
 * The share (a tmpfs) holds "file", "dir/inner", "link" -> file, "escape"
 * -> ../outside, a procfs at "proc" (the fuzzer is its pid 1), a tmpfs at
 * "tmp", and the host's UTS hostname file bound at "sysctl/kernel/hostname". */
#define FUSE_MAX_REQUESTS 64
#define FUSE_SHAPE_NODE 0x03 /* two bits: */
#define FUSE_NODE_POOL 0
#define FUSE_NODE_OF_HANDLE 1
#define FUSE_NODE_ROOT 2
#define FUSE_NODE_RAW 3
#define FUSE_SHAPE_POOL 0x04
#define FUSE_SHAPE_CREDS 0x08
#define FUSE_SHAPE_LEN 0x10
#define FUSE_SHAPE_RAW 0x20
#define FUSE_SHAPE_SPLIT 0x40
#define FUSE_SHAPE_SHORT_OUT 0x80
#define FUSE_NAME_LEARNED 0x80 /* with an index into the names learned */
#define FUSE_NAME_RAW 0x7f
/* What a successful reply hands out, for later requests to use. */
enum fuse_reply {
	FUSE_REPLY_OTHER,
	FUSE_REPLY_ENTRY,	  /* a node id */
	FUSE_REPLY_OPEN,	  /* a handle */
	FUSE_REPLY_CREATED,	  /* both */
	FUSE_REPLY_LISTING,	  /* names */
	FUSE_REPLY_LISTING_PLUS, /* names and node ids */
};
/* The requests: what the server knows, and a few it does not (STATX, newer
 * than these headers, and nonsense). Each with its fixed argument struct,
 * where in it a handle (fh_at) or a node id (node_at) goes (-1: nowhere),
 * how many names follow it, whether data does, and what its reply hands
 * out. */
struct fuse_op_shape {
	uint32_t opcode;
	uint16_t fixed;
	int8_t fh_at, node_at;
	uint8_t names;
	bool data;
	enum fuse_reply reply;
};
#define ARGS(name) sizeof(struct fuse_##name##_in)
static const struct fuse_op_shape FUSE_OPS[] = {
	{ FUSE_LOOKUP, 0, -1, -1, 1, false, FUSE_REPLY_ENTRY },
	{ FUSE_FORGET, ARGS(forget), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_GETATTR, ARGS(getattr), 8, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_SETATTR, ARGS(setattr), 8, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_READLINK, 0, -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_SYMLINK, 0, -1, -1, 2, false, FUSE_REPLY_ENTRY }, /* name, target */
	{ FUSE_MKNOD, ARGS(mknod), -1, -1, 1, false, FUSE_REPLY_ENTRY },
	{ FUSE_MKDIR, ARGS(mkdir), -1, -1, 1, false, FUSE_REPLY_ENTRY },
	{ FUSE_UNLINK, 0, -1, -1, 1, false, FUSE_REPLY_OTHER },
	{ FUSE_RMDIR, 0, -1, -1, 1, false, FUSE_REPLY_OTHER },
	{ FUSE_RENAME, ARGS(rename), -1, 0, 2, false, FUSE_REPLY_OTHER },
	{ FUSE_LINK, ARGS(link), -1, 0, 1, false, FUSE_REPLY_ENTRY },
	{ FUSE_OPEN, ARGS(open), -1, -1, 0, false, FUSE_REPLY_OPEN },
	{ FUSE_READ, ARGS(read), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_WRITE, ARGS(write), 0, -1, 0, true, FUSE_REPLY_OTHER },
	{ FUSE_STATFS, 0, -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_RELEASE, ARGS(release), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_FSYNC, ARGS(fsync), 0, -1, 0, false, FUSE_REPLY_OTHER },
	/* without FUSE_SETXATTR_EXT, as the server speaks it */
	{ FUSE_SETXATTR, FUSE_COMPAT_SETXATTR_IN_SIZE, -1, -1, 1, true, FUSE_REPLY_OTHER },
	{ FUSE_GETXATTR, ARGS(getxattr), -1, -1, 1, false, FUSE_REPLY_OTHER },
	{ FUSE_LISTXATTR, ARGS(getxattr), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_REMOVEXATTR, 0, -1, -1, 1, false, FUSE_REPLY_OTHER },
	{ FUSE_FLUSH, ARGS(flush), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_INIT, ARGS(init), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_OPENDIR, ARGS(open), -1, -1, 0, false, FUSE_REPLY_OPEN },
	{ FUSE_READDIR, ARGS(read), 0, -1, 0, false, FUSE_REPLY_LISTING },
	{ FUSE_RELEASEDIR, ARGS(release), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_FSYNCDIR, ARGS(fsync), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_GETLK, ARGS(lk), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_SETLK, ARGS(lk), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_SETLKW, ARGS(lk), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_ACCESS, ARGS(access), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_CREATE, ARGS(create), -1, -1, 1, false, FUSE_REPLY_CREATED },
	{ FUSE_INTERRUPT, ARGS(interrupt), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_DESTROY, 0, -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_IOCTL, ARGS(ioctl), 0, -1, 0, true, FUSE_REPLY_OTHER },
	{ FUSE_BATCH_FORGET, ARGS(batch_forget), -1, -1, 0, true, FUSE_REPLY_OTHER },
	{ FUSE_FALLOCATE, ARGS(fallocate), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_READDIRPLUS, ARGS(read), 0, -1, 0, false, FUSE_REPLY_LISTING_PLUS },
	{ FUSE_RENAME2, ARGS(rename2), -1, 0, 2, false, FUSE_REPLY_OTHER },
	{ FUSE_LSEEK, ARGS(lseek), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_COPY_FILE_RANGE, ARGS(copy_file_range), 0, 16, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_SETUPMAPPING, ARGS(setupmapping), 0, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_REMOVEMAPPING, ARGS(removemapping), -1, -1, 0, true, FUSE_REPLY_OTHER },
	{ FUSE_SYNCFS, ARGS(syncfs), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ FUSE_TMPFILE, ARGS(create), -1, -1, 0, false, FUSE_REPLY_OTHER },
	{ 52 /* STATX */, 0, -1, -1, 0, true, FUSE_REPLY_OTHER },
	{ 0, 0, -1, -1, 0, true, FUSE_REPLY_OTHER },
	{ 4096, 0, -1, -1, 0, true, FUSE_REPLY_OTHER },
};
#undef ARGS
#define FUSE_NR_OPS (sizeof(FUSE_OPS) / sizeof(FUSE_OPS[0]))
static const char *const FUSE_NAMES[] = {
	"file", "dir", "inner", "link", "escape", "new", "..", ".", "", "proc", "1", "comm",
	"environ", "mem", "task", "self", "sysctl", "kernel", "hostname", "tmp", "init.krun",
	"a/b", "outside", "user.x", "trusted.x", "security.capability",
	"system.posix_acl_access",
};
#define FUSE_NR_NAMES (sizeof(FUSE_NAMES) / sizeof(FUSE_NAMES[0]))

/* ---- tcp_guard --------------------------------------------------------------
 * Frames until the input ends, each an action byte: op = byte & 3, port =
 * TG_PORT + (byte >> 2 & 7), the guest's port of a connection with
 * 10.0.2.2:80 (the guard's table holds fewer: 2 x TG_MAX_SOCKETS), then
 *   TG_GUEST:     u8 flags, u16 seq, u16 ack, u16 len (% (TG_MAX_DATA + 1)),
 *                 u8 corrupt (bit 0: the TCP checksum is off by one)
 *   TG_STACK:     u8 flags, u16 seq, u16 ack, u16 win, u16 len (as TG_GUEST's)
 *   TG_RAW_GUEST, TG_RAW_STACK: u16 len (% (TG_RAW_MAX + 1)), that many bytes:
 *                 a frame as is, from the guest or to it (the port unused)
 * seq and ack are offsets from the sender's TG_*_ISN and the other's, so
 * that short inputs land inside the windows. */
enum { TG_GUEST, TG_STACK, TG_RAW_GUEST, TG_RAW_STACK };
#define TG_PORT 40000
#define TG_GUEST_ISN 1000u
#define TG_STACK_ISN 5000u
#define TG_MAX_DATA 1460
#define TG_RAW_MAX 128
#define TG_MAX_SOCKETS 2

#endif
