/* virtio-fs end to end without KVM: a fake driver doing what Linux's
 * virtio_ring and virtio_fs do (EVENT_IDX both ways, one interrupt line for
 * every queue, an interrupt handler that reads and acknowledges the status)
 * drives the MMIO transport, the device's per-queue workers and the FUSE
 * server from several threads at once, over small rings that wrap their
 * 16-bit indexes. A kick or an interrupt that the device loses, or workers
 * that block each other, leaves a driver waiting: it gives up after a few
 * seconds instead of hanging the test. Then a request that waits (a SETLKW
 * for a taken lock) must not hold up its queue, nor a reset, and no more of
 * them wait, each on its thread, than the device's bound. */
#include "devices/fs/virtio_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "check.h"
#include "mmio_access.h"
#include "virtio/mmio.h"
#include "vmm/sandbox.h"

#define MEM_SIZE (4u << 20)
#define RING_SIZE 8
#define SLOTS (RING_SIZE / 2) /* a request takes two descriptors */
#define BIG_RING_SIZE 256      /* for many requests in flight */
#define MAX_SLOTS (BIG_RING_SIZE / 2)
#define RING_GPA(q) (0x10000ull + (q) * 0x4000ull)
#define BUF_GPA(q, slot) (0x100000ull + ((q) * MAX_SLOTS + (slot)) * 0x2000ull)
#define REQUESTS 70000 /* per request queue: past a 16-bit index wrap */
#define FORGETS 20000
#define STALL_SECONDS 10

static struct guest_memory gm;

struct driver;

struct driver_queue {
	struct driver *driver;
	unsigned int index;
	unsigned int size; /* of the ring */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event, *avail_event;
	uint16_t avail_idx, last_used;
	uint16_t free_slots[SLOTS];
	unsigned int nr_free;
	uint64_t next_unique;
	unsigned int submitted, completed, kicks, bad_replies;
	bool has_reply; /* request queues; the high-priority one only FORGETs */
	unsigned int total;

	/* What the interrupt handler tells this queue's thread. */
	pthread_mutex_t lock;
	pthread_cond_t interrupted;
	unsigned int interrupts;
	bool stalled;
};

struct driver {
	struct virtio_fs fs;
	struct virtio_mmio transport;
	int irq_fd; /* the interrupt line: raise_irq writes it */
	atomic_bool stop;
	atomic_uint irqs_handled;
	atomic_uint irq_write_errors;
	struct driver_queue queues[VIRTIO_FS_NR_QUEUES];
};

static void raise_irq(void *opaque)
{
	struct driver *d = opaque;
	uint64_t one = 1;

	if (write(d->irq_fd, &one, sizeof(one)) != sizeof(one))
		atomic_fetch_add(&d->irq_write_errors, 1);
}

/* Linux's vm_interrupt: read the status, acknowledge it, then look at every
 * queue (vring_interrupt wakes whoever waits on it). */
static void *interrupt_handler(void *arg)
{
	struct driver *d = arg;
	struct pollfd line = { .fd = d->irq_fd, .events = POLLIN };
	uint64_t count;

	while (!atomic_load(&d->stop)) {
		if (poll(&line, 1, 100) != 1 || read(d->irq_fd, &count, sizeof(count)) < 0)
			continue;
		uint32_t status = rd(&d->transport, VIRTIO_MMIO_INTERRUPT_STATUS);
		wr(&d->transport, VIRTIO_MMIO_INTERRUPT_ACK, status);
		if (!(status & VIRTIO_MMIO_INT_VRING))
			continue;
		atomic_fetch_add(&d->irqs_handled, 1);
		for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
			struct driver_queue *q = &d->queues[i];
			pthread_mutex_lock(&q->lock);
			q->interrupts++;
			pthread_cond_signal(&q->interrupted);
			pthread_mutex_unlock(&q->lock);
		}
	}
	return NULL;
}

/* The test's own layout: always inside guest memory. */
static void *guest(uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(&gm, gpa, len);

	if (!p) {
		fprintf(stderr, "guest address %#llx outside the test's memory\n",
			(unsigned long long)gpa);
		abort();
	}
	return p;
}

static void queue_setup(struct driver *d, struct driver_queue *q, unsigned int index,
			unsigned int size)
{
	uint64_t base = RING_GPA(index);
	uint64_t desc = base, avail = base + 0x1000, used = base + 0x2000;

	/* a driver's rings start zeroed, as a new allocation's do */
	memset(guest(base, 0x3000), 0, 0x3000);
	*q = (struct driver_queue){
		.driver = d,
		.index = index,
		.size = size,
		.desc = guest(desc, 16 * size),
		.avail = guest(avail, 6 + 2 * size),
		.used = guest(used, 6 + 8 * size),
		.nr_free = SLOTS,
		.next_unique = (uint64_t)index << 32,
		.has_reply = index != 0,
		.total = index == 0 ? FORGETS : REQUESTS,
	};
	q->used_event = &q->avail->ring[size];
	q->avail_event = (uint16_t *)&q->used->ring[size];
	for (unsigned int i = 0; i < SLOTS; i++)
		q->free_slots[i] = i;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->interrupted, NULL);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_SEL, index);
	CHECK(rd(&d->transport, VIRTIO_MMIO_QUEUE_NUM_MAX) >= size);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(&d->transport, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ_INT(rd(&d->transport, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* One request in slot: GETATTR of the root with a reply buffer, or a FORGET
 * (no reply) on the high-priority queue. */
static void submit(struct driver *d, struct driver_queue *q)
{
	uint16_t slot = q->free_slots[--q->nr_free];
	uint64_t in_gpa = BUF_GPA(q->index, slot), out_gpa = in_gpa + 0x1000;
	struct fuse_in_header *h = guest(in_gpa, 0x1000);
	uint32_t in_len = sizeof(*h);
	uint16_t head = 2 * slot, old = q->avail_idx;

	*h = (struct fuse_in_header){ .nodeid = 1, .unique = ++q->next_unique };
	if (q->has_reply) {
		h->opcode = FUSE_GETATTR;
		struct fuse_getattr_in *arg = (void *)(h + 1);
		*arg = (struct fuse_getattr_in){ 0 };
		in_len += sizeof(*arg);
		q->desc[head + 1] = (struct vring_desc){
			.addr = out_gpa, .len = 0x1000, .flags = VRING_DESC_F_WRITE,
		};
		q->desc[head] = (struct vring_desc){
			.addr = in_gpa, .len = in_len, .flags = VRING_DESC_F_NEXT, .next = head + 1,
		};
	} else {
		h->opcode = FUSE_FORGET;
		struct fuse_forget_in *arg = (void *)(h + 1);
		*arg = (struct fuse_forget_in){ .nlookup = 0 };
		in_len += sizeof(*arg);
		q->desc[head] = (struct vring_desc){ .addr = in_gpa, .len = in_len };
	}
	h->len = in_len;
	q->avail->ring[q->avail_idx % q->size] = head;
	/* virtqueue_add publishes, then virtqueue_kick_prepare: a full barrier
	 * between the index and avail_event */
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	atomic_thread_fence(memory_order_seq_cst);
	q->submitted++;
	if (vring_need_event(__atomic_load_n(q->avail_event, __ATOMIC_RELAXED), q->avail_idx,
			     old)) {
		q->kicks++;
		/* what the queue's ioeventfd handler does */
		virtio_mmio_notify(&d->transport, q->index);
	}
}

/* virtqueue_get_buf for everything used; true when something was. */
static bool collect(struct driver_queue *q)
{
	bool any = false;

	while (q->last_used != __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE)) {
		struct vring_used_elem *e = &q->used->ring[q->last_used % q->size];
		uint16_t head = (uint16_t)e->id;
		uint16_t slot = head / 2;

		if (head % 2 || slot >= SLOTS) {
			q->bad_replies++;
			break;
		}
		if (q->has_reply) {
			const struct fuse_out_header *oh = guest(BUF_GPA(q->index, slot) + 0x1000,
								 sizeof(*oh));
			const struct fuse_in_header *ih = guest(BUF_GPA(q->index, slot), sizeof(*ih));
			if (oh->error || oh->unique != ih->unique || oh->len != e->len ||
			    oh->len != sizeof(*oh) + sizeof(struct fuse_attr_out))
				q->bad_replies++;
		} else if (e->len != 0) {
			q->bad_replies++;
		}
		q->free_slots[q->nr_free++] = slot;
		q->completed++;
		q->last_used++;
		any = true;
	}
	return any;
}

/* Waits for the interrupt after interrupts seen_before; false after
 * STALL_SECONDS without one. */
static bool wait_interrupt(struct driver_queue *q, unsigned int *seen)
{
	struct timespec deadline;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STALL_SECONDS;
	pthread_mutex_lock(&q->lock);
	while (q->interrupts == *seen && ok)
		ok = pthread_cond_timedwait(&q->interrupted, &q->lock, &deadline) != ETIMEDOUT;
	*seen = q->interrupts;
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static void *queue_driver(void *arg)
{
	struct driver_queue *q = arg;
	struct driver *d = q->driver;
	unsigned int seen = 0;

	while (q->completed < q->total) {
		while (q->nr_free && q->submitted < q->total)
			submit(d, q);
		if (collect(q))
			continue;
		/* virtqueue_enable_cb: ask for an interrupt at the next used
		 * buffer, then look again before sleeping */
		__atomic_store_n(q->used_event, q->last_used, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_seq_cst);
		if (collect(q))
			continue;
		if (!wait_interrupt(q, &seen)) {
			q->stalled = true;
			break;
		}
	}
	return NULL;
}

static const uint32_t features_ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK;

static int enter_fs_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_FS_WORKER);
}

/* A session with a FUSE_INIT done, straight to the server, as the guest's
 * mount does first; every queue set up with rings of ring_size, the device
 * active. */
static struct driver *driver_start(char *dir, unsigned int ring_size)
{
	struct fuse_server_config cfg = { .root_dir = dir };
	struct fuse_server *server;
	struct driver *d = calloc(1, sizeof(*d));
	const uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);

	if (!d || !mkdtemp(dir)) {
		fprintf(stderr, "cannot set up the test\n");
		abort();
	}
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(d->irq_fd >= 0);
	CHECK_EQ_INT(fuse_server_create(&cfg, &server), 0);
	CHECK_EQ_INT(virtio_fs_init(&d->fs, "test", server), 0);
	/* the workers serve under their seccomp filter, as in the VMM */
	CHECK_EQ_INT(sandbox_prepare(), 0);
	CHECK_EQ_INT(virtio_fs_on_workers(&d->fs, enter_fs_worker_sandbox), 0);
	const struct virtio_mmio_config mmio = {
		.base = 0xd0000000, .irq = 5, .raise_irq = raise_irq, .irq_opaque = d,
	};
	CHECK_EQ_INT(virtio_mmio_init(&d->transport, &d->fs.vdev, &gm, &mmio), 0);

	struct {
		struct fuse_in_header h;
		struct fuse_init_in init;
	} init = {
		.h = { .len = sizeof(init), .opcode = FUSE_INIT, .unique = 1 },
		.init = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
			  .flags = FUSE_POSIX_LOCKS },
	};
	uint8_t reply[256];
	struct iovec in = { &init, sizeof(init) }, out = { reply, sizeof(reply) };
	CHECK(fuse_server_handle(server, &in, 1, &out, 1) > 0);

	wr(&d->transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(&d->transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(&d->transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&d->transport, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(&d->transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&d->transport, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
	wr(&d->transport, VIRTIO_MMIO_STATUS, features_ok);
	CHECK_EQ_INT(rd(&d->transport, VIRTIO_MMIO_STATUS), features_ok);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++)
		queue_setup(d, &d->queues[i], i, ring_size);
	wr(&d->transport, VIRTIO_MMIO_STATUS, features_ok | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ_INT(rd(&d->transport, VIRTIO_MMIO_STATUS), features_ok | VIRTIO_CONFIG_S_DRIVER_OK);
	return d;
}

/* A reset stops the workers; then the device goes away. */
static void driver_stop(struct driver *d, const char *dir)
{
	wr(&d->transport, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(rd(&d->transport, VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_destroy(&d->transport);
	virtio_fs_destroy(&d->fs);
	close(d->irq_fd);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		pthread_mutex_destroy(&d->queues[i].lock);
		pthread_cond_destroy(&d->queues[i].interrupted);
	}
	free(d);
	rmdir(dir);
}

static void test_concurrent_queues(void)
{
	char dir[] = "/tmp/test-virtio-fs.XXXXXX";
	struct driver *d = driver_start(dir, RING_SIZE);
	pthread_t irq_thread, threads[VIRTIO_FS_NR_QUEUES];

	CHECK_EQ_INT(pthread_create(&irq_thread, NULL, interrupt_handler, d), 0);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++)
		CHECK_EQ_INT(pthread_create(&threads[i], NULL, queue_driver, &d->queues[i]), 0);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&d->stop, true);
	pthread_join(irq_thread, NULL);

	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct driver_queue *q = &d->queues[i];
		printf("queue %u: %u requests, %u kicks\n", i, q->completed, q->kicks);
		if (q->stalled)
			fprintf(stderr, "queue %u stalled: %u of %u done, avail %u, used %u, "
				"used_event %u, avail_event %u\n", i, q->completed, q->total,
				q->avail->idx, q->used->idx, *q->used_event, *q->avail_event);
		CHECK(!q->stalled);
		CHECK_EQ_INT(q->completed, q->total);
		CHECK_EQ_INT(q->bad_replies, 0);
		/* EVENT_IDX at work: far fewer kicks than requests */
		CHECK(q->kicks > 0 && q->kicks < q->total);
	}
	CHECK_EQ_INT(atomic_load(&d->fs.counters.requests), 2 * REQUESTS + FORGETS);
	CHECK_EQ_INT(atomic_load(&d->fs.counters.malformed), 0);
	printf("%u interrupts handled\n", atomic_load(&d->irqs_handled));
	CHECK(atomic_load(&d->irqs_handled) > 0);
	CHECK_EQ_INT(atomic_load(&d->irq_write_errors), 0);
	CHECK_EQ_INT(d->fs.vdev.counters.broken_driver, 0);
	driver_stop(d, dir);
}

/* ---- a request that waits (SETLKW) ---- */

/* One request in a slot of a queue, its reply space in the slot's second
 * page; kicked, whatever avail_event says (a spurious kick is harmless). */
static void submit_raw(struct driver *d, unsigned int queue, uint16_t slot, const void *req,
		       uint32_t len)
{
	struct driver_queue *q = &d->queues[queue];
	uint64_t in_gpa = BUF_GPA(queue, slot);
	uint16_t head = 2 * slot;

	memcpy(guest(in_gpa, len), req, len);
	q->desc[head + 1] = (struct vring_desc){
		.addr = in_gpa + 0x1000, .len = 0x1000, .flags = VRING_DESC_F_WRITE,
	};
	q->desc[head] = (struct vring_desc){
		.addr = in_gpa, .len = len, .flags = VRING_DESC_F_NEXT, .next = head + 1,
	};
	q->avail->ring[q->avail_idx % q->size] = head;
	__atomic_store_n(&q->avail->idx, ++q->avail_idx, __ATOMIC_RELEASE);
	virtio_mmio_notify(&d->transport, queue);
}

/* The slot of the next used entry of a queue within ms; -1 if none came. */
static int next_used(struct driver *d, unsigned int queue, int ms)
{
	struct driver_queue *q = &d->queues[queue];

	for (int i = 0; i <= ms; i++) {
		if (q->last_used != __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE))
			return q->used->ring[q->last_used++ % q->size].id / 2;
		usleep(1000);
	}
	return -1;
}

static int reply_error(unsigned int queue, uint16_t slot)
{
	return ((struct fuse_out_header *)guest(BUF_GPA(queue, slot) + 0x1000, 16))->error;
}

static void send_setlk(struct driver *d, unsigned int queue, uint16_t slot, uint32_t opcode,
		       uint64_t nodeid, uint64_t fh, uint64_t owner, uint32_t type)
{
	struct {
		struct fuse_in_header h;
		struct fuse_lk_in lk;
	} req = {
		.h = { .len = sizeof(req), .opcode = opcode, .unique = 100 + slot, .nodeid = nodeid },
		.lk = { .fh = fh, .owner = owner,
			.lk = { .end = INT64_MAX, .type = type, .pid = (uint32_t)owner } },
	};

	submit_raw(d, queue, slot, &req, sizeof(req));
}

static void send_getattr(struct driver *d, uint16_t slot)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in arg;
	} req = { .h = { .len = sizeof(req), .opcode = FUSE_GETATTR, .unique = 100 + slot,
			 .nodeid = 1 } };

	submit_raw(d, 1, slot, &req, sizeof(req));
}

/* The file's node id and an open handle, straight from the server. */
static void open_file(struct driver *d, const char *name, uint64_t *nodeid, uint64_t *fh)
{
	struct {
		struct fuse_in_header h;
		char name[16];
	} lookup = { .h = { .opcode = FUSE_LOOKUP, .unique = 2, .nodeid = 1 } };
	struct {
		struct fuse_in_header h;
		struct fuse_open_in open;
	} open = { .h = { .len = sizeof(open), .opcode = FUSE_OPEN, .unique = 3 },
		   .open = { .flags = O_RDWR } };
	struct {
		struct fuse_out_header h;
		union {
			struct fuse_entry_out entry;
			struct fuse_open_out open;
		};
	} reply;
	struct iovec in = { &lookup, 0 }, out = { &reply, sizeof(reply) };

	snprintf(lookup.name, sizeof(lookup.name), "%s", name);
	lookup.h.len = in.iov_len = sizeof(lookup.h) + strlen(name) + 1;
	CHECK(fuse_server_handle(d->fs.server, &in, 1, &out, 1) > 0 && !reply.h.error);
	*nodeid = open.h.nodeid = reply.entry.nodeid;
	in = (struct iovec){ &open, sizeof(open) };
	CHECK(fuse_server_handle(d->fs.server, &in, 1, &out, 1) > 0 && !reply.h.error);
	*fh = reply.open.fh;
}

static void test_waiting_request(void)
{
	char dir[] = "/tmp/test-virtio-fs.XXXXXX";
	struct driver *d = driver_start(dir, RING_SIZE);
	struct flock host_lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[64];
	uint64_t nodeid, fh;
	int host_fd;

	snprintf(path, sizeof(path), "%s/locked", dir);
	host_fd = open(path, O_RDWR | O_CREAT, 0644);
	CHECK(host_fd >= 0 && !fcntl(host_fd, F_OFD_SETLK, &host_lock));
	open_file(d, "locked", &nodeid, &fh);

	/* A SETLKW for the lock a host process holds waits on a thread of its
	 * own: the queue goes on serving. */
	send_setlk(d, 1, 0, FUSE_SETLKW, nodeid, fh, 7, F_WRLCK);
	send_getattr(d, 1);
	CHECK_EQ_INT(next_used(d, 1, 5000), 1);
	CHECK_EQ_INT(reply_error(1, 1), 0);
	send_setlk(d, 1, 1, FUSE_SETLK, nodeid, fh, 8, F_WRLCK);
	CHECK_EQ_INT(next_used(d, 1, 5000), 1);
	CHECK_EQ_INT(reply_error(1, 1), -EAGAIN);
	CHECK_EQ_INT(next_used(d, 1, 300), -1);
	CHECK_EQ_INT(atomic_load(&d->fs.counters.waited), 1);
	/* The host lets go: the waiting request gets the lock and its reply. */
	close(host_fd);
	CHECK_EQ_INT(next_used(d, 1, 5000), 0);
	CHECK_EQ_INT(reply_error(1, 0), 0);
	send_setlk(d, 1, 1, FUSE_SETLK, nodeid, fh, 8, F_WRLCK);
	CHECK_EQ_INT(next_used(d, 1, 5000), 1);
	CHECK_EQ_INT(reply_error(1, 1), -EAGAIN);

	/* A reset does not wait for a request that waits for a lock. */
	send_setlk(d, 1, 2, FUSE_SETLKW, nodeid, fh, 9, F_WRLCK);
	CHECK_EQ_INT(next_used(d, 1, 300), -1);
	driver_stop(d, dir);
	unlink(path);
	rmdir(dir);
}

/* The threads in this process. */
static int count_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	CHECK(dir != NULL);
	while (dir && readdir(dir))
		n++;
	if (dir)
		closedir(dir);
	return n - 2; /* "." and ".." */
}

/* SETLKWs for a lock the host holds, on queues 1 and 2 alternately, from
 * slot first on; the owners' read locks do not conflict with each other. */
static void send_waiters(struct driver *d, uint64_t nodeid, uint64_t fh, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		send_setlk(d, 1 + i % 2, i / 2, FUSE_SETLKW, nodeid, fh, 1000 + i, F_RDLCK);
}

/* Collects replies on queues 1 and 2 for some ms, until nr came; each must
 * have error. Returns how many came. */
static unsigned int await_replies(struct driver *d, unsigned int nr, int error, int ms)
{
	unsigned int got = 0;

	for (int waited = 0; got < nr && waited < ms; waited += 2) {
		for (unsigned int queue = 1; queue <= 2; queue++) {
			int slot;

			while ((slot = next_used(d, queue, 0)) >= 0) {
				CHECK_EQ_INT(reply_error(queue, (uint16_t)slot), error);
				got++;
			}
		}
	}
	return got;
}

/* More SETLKWs that must wait than the device's bound, over two queues: the
 * ones past it are answered ENOLCK at once, the threads stay bounded, and
 * the others all finish when the lock is free, or when the device stops. */
static void test_waiting_bound(void)
{
	const unsigned int extra = 6, nr = VIRTIO_FS_MAX_WAITING + extra;
	char dir[] = "/tmp/test-virtio-fs.XXXXXX";
	int threads = count_threads();
	struct driver *d = driver_start(dir, BIG_RING_SIZE);
	struct flock host_lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[2][64];
	uint64_t nodeid, fh;
	int host_fd;

	CHECK(nr / 2 < MAX_SLOTS);
	for (int round = 0; round < 2; round++) {
		snprintf(path[round], sizeof(path[round]), "%s/locked-%d", dir, round);
		host_fd = open(path[round], O_RDWR | O_CREAT, 0644);
		CHECK(host_fd >= 0 && !fcntl(host_fd, F_OFD_SETLK, &host_lock));
		open_file(d, round ? "locked-1" : "locked-0", &nodeid, &fh);
		send_waiters(d, nodeid, fh, nr);
		CHECK_EQ_INT(await_replies(d, extra, -ENOLCK, 5000), extra);
		CHECK_EQ_INT(await_replies(d, 1, 0, 300), 0);
		CHECK_EQ_INT(atomic_load(&d->fs.counters.waited),
			     (round + 1) * VIRTIO_FS_MAX_WAITING);
		CHECK(count_threads() <= threads + VIRTIO_FS_NR_QUEUES + VIRTIO_FS_MAX_WAITING);
		/* The first round's host process lets go: they all get their
		 * lock; the second's device stops under them. */
		if (round == 0) {
			close(host_fd);
			CHECK_EQ_INT(await_replies(d, VIRTIO_FS_MAX_WAITING, 0, 5000),
				     VIRTIO_FS_MAX_WAITING);
		}
	}
	driver_stop(d, dir);
	CHECK_EQ_INT(count_threads(), threads);
	close(host_fd);
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
}

int main(void)
{
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_concurrent_queues();
	test_waiting_request();
	test_waiting_bound();
	gm_destroy(&gm);
	return CHECK_DONE();
}
