/* The VMM's sandbox (src/vmm/sandbox.c), each case in a forked child, since
 * a filter, no_new_privs and an identity are for good: every thread kind's
 * work goes through under its filter (the FUSE worker's over a real share),
 * a call outside its allow-list ends the child by SIGSYS with the log line
 * that names it, no_new_privs keeps a set-user-ID program from gaining
 * anything, and the identity drop leaves no supplementary group. Needs root
 * (it changes identities). */
#include "vmm/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sysmacros.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>

#include "base/event_loop.h"
#include "base/log.h"
#include "check.h"
#include "devices/blk/virtio_blk.h"
#include "devices/fs/virtio_fs.h"
#include "disk/image.h"
#include "fuse_harness.h"
#include "user_net_guest.h"
#include "vsock_driver.h"
#include "config/vm_config.h"
#include "devices/vsock/tsi.h"
#include "vmm/bus.h"
#include "vmm/ports.h"

/* ---- a child ---- */

struct outcome {
	int status;
	char out[8192]; /* its stdout and stderr */
};

/* Runs body(arg) in a child whose stdout and stderr come back in o->out;
 * the child exits 1 when one of its checks failed. */
static void run_child(void (*body)(void *), void *arg, struct outcome *o)
{
	int fds[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* no core file for the SIGSYS the violation cases end with */
		setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		check_failures = 0;
		body(arg);
		fflush(stdout);
		_exit(check_failures ? 1 : 0);
	}
	close(fds[1]);
	while (len < sizeof(o->out) - 1 && (n = read(fds[0], o->out + len, sizeof(o->out) - 1 - len)) > 0)
		len += n;
	o->out[len] = '\0';
	close(fds[0]);
	CHECK_EQ_INT(waitpid(pid, &o->status, 0), pid);
}

static void show(const char *what, const struct outcome *o)
{
	fprintf(stderr, "--- %s: status 0x%x, its output:\n%s---\n", what, o->status, o->out);
}

static void expect_success(const char *what, void (*body)(void *), void *arg)
{
	static struct outcome o;

	run_child(body, arg, &o);
	CHECK(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
		show(what, &o);
}

/* ---- what every thread does ---- */

static atomic_int usr2_seen;

static void on_usr2(int sig)
{
	(void)sig;
	usr2_seen++;
}

static void *no_work(void *arg)
{
	return arg;
}

/* Before the filter, the VMM has started threads (glibc sets up its own
 * signals at the first) and its SIGUSR2 handler. */
static void enter(enum sandbox_kind kind)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	pthread_t th;

	CHECK_EQ_INT(pthread_create(&th, NULL, no_work, NULL), 0);
	pthread_join(th, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	CHECK_EQ_INT(sandbox_prepare(), 0);
	CHECK_EQ_INT(sandbox_enter(kind), 0);
}

/* A wait with a deadline, as the VMM's threads wait (none sleeps). */
static void wait_ms(long ms)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&lock);
	CHECK_EQ_INT(pthread_cond_timedwait(&cond, &lock, &until), ETIMEDOUT);
	pthread_mutex_unlock(&lock);
}

/* Locks, memory, clocks, a log line, a signal passed on (SIGUSR2's). */
static void everyday_work(void)
{
	char *big = malloc(1 << 20), *bigger;

	CHECK(big != NULL);
	memset(big, 1, 1 << 20);
	bigger = realloc(big, 4 << 20);
	CHECK(bigger != NULL);
	free(bigger);
	CHECK(time(NULL) > 0);
	wait_ms(1);
	LOG_ERR("a log line from a filtered thread");
	CHECK_EQ_INT(pthread_kill(pthread_self(), SIGUSR2), 0);
	CHECK_EQ_INT(usr2_seen, 1);
}

/* ---- many threads, as a VMM with many vCPUs and workers has ---- */

#define MANY_THREADS 24
static pthread_barrier_t all_started;

/* Its first malloc while the others live: an arena of its own. */
static void *malloc_beside_others(void *arg)
{
	void *p;

	CHECK_EQ_INT(sandbox_enter(SANDBOX_VCPU), 0);
	pthread_barrier_wait(&all_started);
	p = malloc(64);
	CHECK(p != NULL);
	free(p);
	pthread_barrier_wait(&all_started);
	return arg;
}

/* More threads than malloc makes arenas for without asking how many CPUs
 * there are, each filtered before its first allocation. */
static void many_threads(void *arg)
{
	pthread_t th[MANY_THREADS];

	(void)arg;
	CHECK_EQ_INT(sandbox_prepare(), 0);
	pthread_barrier_init(&all_started, NULL, MANY_THREADS);
	for (int i = 0; i < MANY_THREADS; i++)
		CHECK_EQ_INT(pthread_create(&th[i], NULL, malloc_beside_others, NULL), 0);
	for (int i = 0; i < MANY_THREADS; i++)
		pthread_join(th[i], NULL);
}

/* ---- a vCPU's work ---- */

static void on_stop(void *opaque, enum vm_stop_reason reason)
{
	(void)opaque;
	(void)reason;
}

/* On a thread of its own, which ends under the filter as a vCPU's does. */
static void *vcpu_thread(void *arg)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	struct guest_ports ports;
	struct bus pio = { 0 };
	struct kvm_regs regs;
	struct winsize ws;
	uint8_t byte = 0x0a;
	char buf[8];
	int p[2];

	(void)arg;
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ_INT(ports_init(&ports, &pio, on_stop, NULL), 0);
	enter(SANDBOX_VCPU);
	everyday_work();
	/* the KVM calls pass the filter (and fail here: no KVM fd) */
	CHECK(ioctl(efd, KVM_RUN, 0) < 0 && errno == ENOTTY);
	CHECK(ioctl(efd, KVM_GET_REGS, &regs) < 0 && errno == ENOTTY);
	CHECK(ioctl(efd, KVM_GET_SREGS, &regs) < 0 && errno == ENOTTY);
	CHECK(ioctl(efd, KVM_SET_GSI_ROUTING, &regs) < 0 && errno == ENOTTY);
	/* an interrupt; the CMOS clock and the boot marker of port I/O */
	CHECK_EQ_INT(write(efd, &(uint64_t){ 1 }, 8), 8);
	CHECK(bus_dispatch(&pio, 0x70, &byte, 1, true));
	CHECK(bus_dispatch(&pio, 0x71, &byte, 1, false));
	CHECK(bus_dispatch(&pio, KRUN_CTL_BOOT_MARKER, &byte, 1, true));
	CHECK(ports.boot_marker_ns != 0);
	/* a console run by a register write: output (never waited for),
	 * input, its watch, the terminal's size */
	CHECK_EQ_INT(writev(p[1], &(struct iovec){ "out", 3 }, 1), 3);
	CHECK_EQ_INT(readv(p[0], &(struct iovec){ buf, sizeof(buf) }, 1), 3);
	CHECK_EQ_INT(epoll_ctl(epfd, EPOLL_CTL_ADD, p[0], &ev), 0);
	CHECK_EQ_INT(epoll_ctl(epfd, EPOLL_CTL_MOD, p[0], &ev), 0);
	CHECK(ioctl(p[0], TIOCGWINSZ, &ws) < 0 && errno == ENOTTY);
	/* a network interface activated: its tap's offloads */
	CHECK(ioctl(efd, TUNSETOFFLOAD, 0ul) < 0 && errno == ENOTTY);
	return NULL;
}

static void vcpu_work(void *arg)
{
	pthread_t th;

	CHECK_EQ_INT(pthread_create(&th, NULL, vcpu_thread, arg), 0);
	pthread_join(th, NULL);
}

/* ---- the event loop's work ---- */

static int kicks;

static void on_kick(void *opaque, uint32_t events)
{
	uint64_t count;

	(void)events;
	if (read(*(int *)opaque, &count, sizeof(count)) == sizeof(count))
		kicks++;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct signalfd_siginfo info;

	(void)events;
	if (read(*(int *)opaque, &info, sizeof(info)) == sizeof(info) && info.ssi_signo == SIGUSR1)
		kicks += 10;
}

static void event_loop_work(void *arg)
{
	struct event_loop loop;
	struct termios t = { 0 };
	unsigned char vec;
	sigset_t usr1;
	char buf[64];
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), sfd, p[2];
	int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	sfd = signalfd(-1, &usr1, SFD_CLOEXEC | SFD_NONBLOCK);
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ_INT(event_loop_init(&loop), 0);
	CHECK_EQ_INT(event_loop_add(&loop, efd, EPOLLIN, on_kick, &efd), 0);
	CHECK_EQ_INT(event_loop_add(&loop, sfd, EPOLLIN, on_signal, &sfd), 0);
	enter(SANDBOX_EVENT_LOOP);
	everyday_work();
	/* a queue kick; SIGINT's way (a signal read from the signalfd) */
	CHECK_EQ_INT(write(efd, &(uint64_t){ 1 }, 8), 8);
	CHECK_EQ_INT(event_loop_run_once(&loop, 1000), 1);
	CHECK_EQ_INT(pthread_kill(pthread_self(), SIGUSR1), 0);
	CHECK_EQ_INT(event_loop_run_once(&loop, 1000), 1);
	CHECK_EQ_INT(kicks, 11);
	/* the console: input, output waiting for room, its watches */
	CHECK_EQ_INT(event_loop_add(&loop, p[0], EPOLLIN | EPOLLONESHOT, on_kick, &p[0]), 0);
	CHECK_EQ_INT(event_loop_modify(&loop, p[0], EPOLLIN | EPOLLOUT), 0);
	CHECK_EQ_INT(write(p[1], "in", 2), 2);
	CHECK_EQ_INT(poll(&(struct pollfd){ .fd = p[0], .events = POLLIN }, 1, 0), 1);
	CHECK_EQ_INT(readv(p[0], &(struct iovec){ buf, sizeof(buf) }, 1), 2);
	CHECK(ioctl(p[0], TIOCGWINSZ, buf) < 0 && errno == ENOTTY);
	/* output as the reader takes it; at the end, the outputs waited for
	 * and given their blocking mode back, the terminal its mode */
	CHECK_EQ_INT(writev(p[1], &(struct iovec){ "out", 3 }, 1), 3);
	CHECK_EQ_INT(poll(&(struct pollfd){ .fd = p[1], .events = POLLOUT }, 1, 0), 1);
	CHECK(fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_NONBLOCK) == 0);
	CHECK(tcsetattr(p[0], TCSANOW, &t) < 0 && errno == ENOTTY);
	/* the memory report at the end */
	CHECK_EQ_INT(mincore(page, 4096, &vec), 0);
	CHECK(pread(statm, buf, sizeof(buf), 0) > 0);
	/* a network interface's socket removed at the end */
	CHECK(unlinkat(AT_FDCWD, "/nonexistent/krun-net.sock", 0) < 0 && errno == ENOENT);
}

/* ---- the event loop of a VM with the user-mode interface ---- */

static bool any_frame(const uint8_t *f, size_t len)
{
	(void)f;
	return len > 0;
}

/* libslirp's work on the loop: ARP, DHCP, a DNS query forwarded (the
 * host's resolv.conf read), a connection to the host's loopback, a host
 * connection to a published port accepted, and the stack's end. */
static void user_net_work(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct user_guest *g = calloc(1, sizeof(*g));
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), host;
	struct vm_port_fwd fwd = { .host_addr = htonl(INADDR_LOOPBACK), .guest_port = 80 };
	uint8_t f[400], gateway[6];

	(void)arg;
	CHECK_EQ_INT(bind(listener, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ_INT(listen(listener, 4), 0);
	CHECK_EQ_INT(getsockname(listener, (struct sockaddr *)&a, &alen), 0);
	fwd.host_port = (uint16_t)(ntohs(a.sin_port) + 1);
	CHECK_EQ_INT(guest_open(g, &fwd, 1), 0);
	enter(SANDBOX_EVENT_LOOP_USER_NET);
	everyday_work();
	CHECK_EQ_INT(guest_send(g, f, arp_request(f, GATEWAY_IP)), 0);
	CHECK(guest_wait(g, is_arp_reply, 2000));
	memcpy(gateway, g->frame + 22, 6);
	CHECK_EQ_INT(guest_send(g, f, dhcp_discover(f)), 0);
	CHECK(guest_wait(g, is_dhcp_offer, 2000));
	CHECK_EQ_INT(guest_send(g, f, dns_query(f, gateway)), 0);
	guest_wait(g, any_frame, 300); /* whatever the host's resolver says */
	CHECK_EQ_INT(guest_send(g, f, tcp_syn(f, gateway, GATEWAY_IP, 40000, ntohs(a.sin_port))),
		     0);
	CHECK(guest_wait(g, is_syn_ack, 2000));
	a.sin_port = htons(fwd.host_port);
	host = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(host, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	CHECK(guest_wait(g, is_syn, 2000));
	guest_close(g);
	close(host);
	close(listener);
}

/* ---- the vsock device's work on the event loop ---- */

/* A vsock device, made before the filter as the VMM makes it, then served
 * under the event loop's vsock filter: a guest's connection to the host's
 * unix listener (socket, connect), data both ways (sendmsg, readv), the
 * guest's half-close (shutdown) and close (close), a host connection
 * through the device's listener (accept4), and its file removed. */
static void vsock_work(void *arg)
{
	struct vsock_bench b;
	struct virtio_vsock_hdr h;
	char buf[8];

	(void)arg;
	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 16, VSOCK_HDR_LEN + 4096);
	enter(SANDBOX_EVENT_LOOP_VSOCK);
	everyday_work();
	int fd = vb_connect(&b, 5000, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 5000, CONNECT_PORT, 4), "ping");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 4);
	CHECK_EQ_INT(write(fd, "pong", 4), 4);
	vb_run(&b);
	CHECK(vb_recv(&b, &h, buf, sizeof(buf)) && memcmp(buf, "pong", 4) == 0);
	h = vb_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, CONNECT_PORT, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_send(&b, h, NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 5000, CONNECT_PORT);
	close(fd);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, listen_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	vb_run(&b);
	CHECK(vb_recv(&b, &h, NULL, 0) && le16toh(h.op) == VIRTIO_VSOCK_OP_REQUEST);
	close(fd);
	virtio_vsock_release_host(&b.vsock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno == ENOENT);
	close(fd);
}

/* The guest's TSI stream from port: request (len bytes) sent, the host's
 * side accepted on listener, the reply's error read. */
static int tsi_stream(struct vsock_bench *b, uint32_t port, const void *req, uint32_t len,
		      int listener, int *fd)
{
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, port, TSI_PORT_V1, 0);
	struct tsi_reply r = { .error = htole32(~0u) };

	vb_send(b, h, NULL);
	vb_expect(b, VIRTIO_VSOCK_OP_RESPONSE, port, TSI_PORT_V1);
	vb_send(b, vb_hdr(VIRTIO_VSOCK_OP_RW, port, TSI_PORT_V1, len), req);
	*fd = -1;
	for (int i = 0; i < 100 && *fd < 0; i++) {
		vb_run(b);
		*fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	}
	vb_run(b);
	CHECK(vb_recv(b, &h, &r, sizeof(r)));
	return (int)le32toh(r.error);
}

/* TSI, made before the filter, then served under the kind's: a TCP
 * connect to 127.0.0.1 (socket, setsockopt TCP_NODELAY, connect,
 * getsockopt SO_ERROR, getsockname, getpeername, the deadline timer),
 * with the unix feature a unix path beneath the root share (openat2), a
 * mapped port published and accepting, and a datagram socket's frame. */
static void tsi_work(void *arg)
{
	enum sandbox_kind kind = *(const enum sandbox_kind *)arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct vsock_endpoint *ep;
	struct vsock_bench b;
	int fd;

	/* a mapped port, bound here before the filter */
	int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      getsockname(probe, (struct sockaddr *)&a, &len) == 0);
	close(probe);
	struct vm_port_fwd fwd = { .host_addr = htonl(INADDR_LOOPBACK),
				   .host_port = ntohs(a.sin_port), .guest_port = 80 };
	a.sin_port = 0;
	CHECK_EQ_INT(vsock_tsi_endpoint_open(kind == SANDBOX_EVENT_LOOP_TSI_UNIX ?
					     VM_TSI_HIJACK_INET | VM_TSI_HIJACK_UNIX :
					     VM_TSI_HIJACK_INET, vsock_dir, &fwd, 1, &ep), 0);
	vb_init_with(&b, VSOCK_MAX_CONNS, ep);
	vb_offer(&b, 16, VSOCK_HDR_LEN + 4096);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(bind(listener, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(listener, 4) == 0 &&
	      getsockname(listener, (struct sockaddr *)&a, &len) == 0);
	enter(kind);
	everyday_work();
	struct tsi_request req = { .op = htole16(TSI_OP_CONNECT),
				   .addr = { .family = htole16(AF_INET), .port = a.sin_port } };
	memcpy(req.addr.addr, &a.sin_addr, 4);
	CHECK_EQ_INT(tsi_stream(&b, 5000, &req, sizeof(req), listener, &fd), 0);
	int unix_fd = -1; /* closed at the end: its end of stream would come first */
	if (kind == SANDBOX_EVENT_LOOP_TSI_UNIX) {
		uint8_t u[sizeof(req) + 13];
		req = (struct tsi_request){ .op = htole16(TSI_OP_UNIX), .arg = htole32(13) };
		memcpy(u, &req, sizeof(req));
		memcpy(u + sizeof(req), "/connect.sock", 13);
		CHECK_EQ_INT(tsi_stream(&b, 5001, u, sizeof(u), b.host_listener, &unix_fd), 0);
	}
	/* the guest's listener on port 80 published (listen, a close-on-exec
	 * dup), a host client accepted and told the guest (accept4) */
	req = (struct tsi_request){ .op = htole16(TSI_OP_LISTEN), .arg = htole32(4),
				    .addr = { .family = htole16(AF_INET), .port = htons(80) } };
	int none;
	CHECK_EQ_INT(tsi_stream(&b, 5002, &req, sizeof(req), listener, &none), 0);
	struct sockaddr_in mapped = { .sin_family = AF_INET, .sin_port = htons(fwd.host_port),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(client, (struct sockaddr *)&mapped, sizeof(mapped)), 0);
	struct virtio_vsock_hdr h = { 0 };
	vb_run(&b); /* a loopback connection is in the accept queue at once */
	CHECK(vb_recv(&b, &h, NULL, sizeof(struct tsi_incoming)));
	CHECK_EQ_INT(le32toh(h.len), sizeof(struct tsi_incoming));
	/* a datagram socket (socket, setsockopt V6ONLY, bind) and a frame
	 * sent from it (sendto) */
	req = (struct tsi_request){ .op = htole16(TSI_OP_DGRAM),
				    .addr = { .family = htole16(AF_INET6) } };
	CHECK_EQ_INT(tsi_stream(&b, 5003, &req, sizeof(req), listener, &none), 0);
	struct tsi_dgram f = { .len = htole32(1),
			       .addr = { .family = htole16(AF_INET), .port = mapped.sin_port,
					 .addr = { 127, 0, 0, 1 } } };
	uint8_t frame[sizeof(f) + 1];
	memcpy(frame, &f, sizeof(f));
	frame[sizeof(f)] = 'x';
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 5003, TSI_PORT_V1, sizeof(frame)), frame);
	CHECK_EQ_INT(vsock_tsi_counters(ep)->dgrams_out + vsock_tsi_counters(ep)->dgram_drops, 1);
	close(client);
	close(fd);
	if (unix_fd >= 0)
		close(unix_fd);
	close(listener);
	virtio_vsock_release_host(&b.vsock); /* the unix endpoint's file */
}

/* ---- a virtio-fs worker's work, over a real share ---- */

/* A request with one fixed-size argument; the reply in rp. */
static int request(struct fuse_server *s, uint32_t opcode, uint64_t node, const void *arg,
		   size_t len)
{
	req_begin(&q, opcode, node);
	req_add(&q, arg, len);
	return send_req(s, &q, &rp);
}

/* A request whose argument is one struct of type, as the initializers set it. */
#define REQUEST(s, opcode, node, type, ...) \
	request(s, opcode, node, &(type){ __VA_ARGS__ }, sizeof(type))

static int xattr_request(struct fuse_server *s, uint32_t opcode, uint64_t node, uint32_t size,
			 const char *name, const char *value)
{
	req_begin(&q, opcode, node);
	if (opcode == FUSE_SETXATTR)
		req_add(&q, &(struct fuse_setxattr_in){ .size = size }, FUSE_COMPAT_SETXATTR_IN_SIZE);
	else
		req_add(&q, &(struct fuse_getxattr_in){ .size = size }, sizeof(struct fuse_getxattr_in));
	if (name)
		req_str(&q, name);
	if (value)
		req_add(&q, value, size);
	return send_req(s, &q, &rp);
}

static int lock_request(struct fuse_server *s, uint32_t opcode, uint64_t node, uint64_t fh,
			uint64_t owner, uint32_t type)
{
	struct fuse_lk_in in = { .fh = fh, .owner = owner,
				 .lk = { .end = INT64_MAX, .type = type, .pid = (uint32_t)owner } };

	return request(s, opcode, node, &in, sizeof(in));
}

struct waiter {
	struct fuse_server *s;
	uint64_t node, fh;
	atomic_bool cancel;
	int error;
};

/* A SETLKW on a thread of its own, started under the filter as the worker
 * starts one. */
static void *wait_for_lock(void *arg)
{
	struct waiter *w = arg;
	struct fuse_lk_in in = { .fh = w->fh, .owner = 2,
				 .lk = { .end = INT64_MAX, .type = F_WRLCK, .pid = 2 } };
	static struct req wq;
	static struct reply wrp;

	req_begin(&wq, FUSE_SETLKW, w->node);
	req_add(&wq, &in, sizeof(in));
	req_hdr(&wq)->len = wq.len;
	CHECK_EQ_INT(fuse_server_handle_waiting(w->s, &(struct iovec){ wq.buf, wq.len }, 1,
						&(struct iovec){ &wrp, sizeof(wrp) }, 1, &w->cancel),
		     sizeof(wrp.hdr));
	w->error = wrp.hdr.error;
	return NULL;
}

static void fs_locks(struct fuse_server *s, uint64_t node, uint64_t fh)
{
	struct waiter w = { .s = s, .node = node, .fh = fh };
	pthread_t th;

	CHECK_EQ_INT(lock_request(s, FUSE_SETLK, node, fh, 1, F_WRLCK), 0);
	CHECK_EQ_INT(lock_request(s, FUSE_GETLK, node, fh, 2, F_WRLCK), 0);
	CHECK_EQ_INT(((struct fuse_lk_out *)rp.data)->lk.type, F_WRLCK);
	CHECK_EQ_INT(pthread_create(&th, NULL, wait_for_lock, &w), 0);
	wait_ms(20); /* till it waits */
	CHECK_EQ_INT(lock_request(s, FUSE_SETLK, node, fh, 1, F_UNLCK), 0);
	pthread_join(th, NULL);
	CHECK_EQ_INT(w.error, 0);
	CHECK_EQ_INT(REQUEST(s, FUSE_FLUSH, node, struct fuse_flush_in, .fh = fh, .lock_owner = 2), 0);
}

static void fs_xattrs(struct fuse_server *s, uint64_t node)
{
	CHECK_EQ_INT(xattr_request(s, FUSE_SETXATTR, node, 5, "user.sandbox", "value"), 0);
	CHECK_EQ_INT(xattr_request(s, FUSE_GETXATTR, node, 64, "user.sandbox", NULL), 0);
	CHECK(reply_len(&rp) == 5 && !memcmp(rp.data, "value", 5));
	CHECK_EQ_INT(xattr_request(s, FUSE_LISTXATTR, node, 4096, NULL, NULL), 0);
	CHECK(memmem(rp.data, reply_len(&rp), "user.sandbox", 13) != NULL);
	CHECK_EQ_INT(name_op(s, FUSE_REMOVEXATTR, node, "", 0, "user.sandbox"), 0);
}

/* How many entries a READDIR of the root returns. */
static int root_entries(struct fuse_server *s, uint32_t opcode)
{
	uint64_t fh = 0;
	int n = 0;

	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, ROOT, O_RDONLY, &fh), 0);
	CHECK_EQ_INT(REQUEST(s, opcode, ROOT, struct fuse_read_in, .fh = fh, .size = 4096), 0);
	for (size_t pos = 0; pos < reply_len(&rp); n++) {
		if (opcode == FUSE_READDIRPLUS) {
			struct fuse_direntplus *dp = (void *)(rp.data + pos);
			pos += FUSE_DIRENTPLUS_SIZE(dp);
		} else {
			pos += FUSE_DIRENT_SIZE((struct fuse_dirent *)(rp.data + pos));
		}
	}
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, ROOT, fh), 0);
	return n;
}

static void fs_worker_work(void *arg)
{
	struct fuse_server *s = new_server(false, 0, 0);
	struct fuse_setattr_in attr = { .valid = FATTR_MODE | FATTR_SIZE | FATTR_MTIME,
					.mode = 0600, .size = 3, .mtime = 1 };
	uint64_t node = 0, fh = 0, node2 = 0, fh2 = 0, dir;

	(void)arg;
	enter(SANDBOX_FS_WORKER);
	everyday_work();
	/* a file created, written (by a user other than root), read */
	CHECK_EQ_INT(create(s, ROOT, "f", O_RDWR, 0644, &node, &fh), 0);
	CHECK_EQ_INT(write_data(s, node, fh, 0, "hello", 5, 1000), 0);
	CHECK_EQ_INT(read_data(s, node, fh, 0, 64), 0);
	CHECK(reply_len(&rp) == 5 && !memcmp(rp.data, "hello", 5));
	CHECK_EQ_INT(setattr(s, node, &attr, 0), 0);
	CHECK_EQ_INT(REQUEST(s, FUSE_FSYNC, node, struct fuse_fsync_in, .fh = fh), 0);
	CHECK_EQ_INT(REQUEST(s, FUSE_FSYNC, node, struct fuse_fsync_in, .fh = fh,
			     .fsync_flags = FUSE_FSYNC_FDATASYNC),
		     0);
	CHECK_EQ_INT(REQUEST(s, FUSE_FALLOCATE, node, struct fuse_fallocate_in, .fh = fh,
			     .length = 8192),
		     0);
	CHECK_EQ_INT(REQUEST(s, FUSE_LSEEK, node, struct fuse_lseek_in, .fh = fh,
			     .whence = SEEK_DATA),
		     0);
	CHECK_EQ_INT(create(s, ROOT, "copy", O_RDWR, 0644, &node2, &fh2), 0);
	CHECK_EQ_INT(REQUEST(s, FUSE_COPY_FILE_RANGE, node, struct fuse_copy_file_range_in,
			     .fh_in = fh, .nodeid_out = node2, .fh_out = fh2, .len = 3),
		     0);
	fs_xattrs(s, node);
	fs_locks(s, node, fh);
	/* entries of every kind, renamed, linked, listed */
	CHECK_EQ_INT(mkdir_op(s, ROOT, "d"), 0);
	dir = lookup_id(s, ROOT, "d");
	CHECK_EQ_INT(mknod_op(s, dir, "fifo", S_IFIFO | 0644, 0), 0);
	req_begin(&q, FUSE_SYMLINK, dir);
	req_str(&q, "ln");
	req_str(&q, "../f");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(request(s, FUSE_READLINK, lookup_id(s, dir, "ln"), "", 0), 0);
	CHECK_EQ_INT(name_op(s, FUSE_LINK, dir, &(struct fuse_link_in){ .oldnodeid = node },
			     sizeof(struct fuse_link_in), "hard"),
		     0);
	CHECK_EQ_INT(rename_op(s, ROOT, "copy", dir, "moved", 0), 0);
	/* a device node (its empty stand-in, which a listing looks into) */
	CHECK_EQ_INT(mknod_op(s, ROOT, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
	CHECK_EQ_INT(root_entries(s, FUSE_READDIR), 6); /* . .. init.krun f d null */
	CHECK_EQ_INT(root_entries(s, FUSE_READDIRPLUS), 6);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "null"), 0);
	CHECK_EQ_INT(request(s, FUSE_STATFS, ROOT, "", 0), 0);
	/* and all of it gone again */
	CHECK_EQ_INT(release(s, FUSE_RELEASE, node, fh), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, node2, fh2), 0);
	for (const char *const *n = (const char *const[]){ "fifo", "ln", "hard", "moved", NULL }; *n;
	     n++)
		CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, *n), 0);
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, ROOT, "", 0, "d"), 0);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "f"), 0);
	/* glibc's pthread_create falls back on clone, which the filter allows
	 * for threads */
	CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
	fuse_server_destroy(s);
}

/* ---- the workers of a virtio-fs device ---- */

/* How many of this process's threads run under a seccomp filter. */
static int filtered_threads(void)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *d;
	int n = 0;

	while (tasks && (d = readdir(tasks))) {
		char path[300], line[128];
		FILE *status;

		snprintf(path, sizeof(path), "/proc/self/task/%s/status", d->d_name);
		if (d->d_name[0] == '.' || !(status = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), status))
			n += !strcmp(line, "Seccomp:\t2\n");
		fclose(status);
	}
	if (tasks)
		closedir(tasks);
	return n;
}

static int enter_fs_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_FS_WORKER);
}

static void virtio_fs_workers(void *arg)
{
	static struct virtio_fs fs;

	(void)arg;
	CHECK_EQ_INT(virtio_fs_init(&fs, "test", new_server(false, 0, 0)), 0);
	CHECK_EQ_INT(filtered_threads(), 0);
	/* not prepared yet: a violation would not be reported */
	CHECK_EQ_INT(virtio_fs_on_workers(&fs, enter_fs_worker_sandbox), -EINVAL);
	CHECK_EQ_INT(sandbox_prepare(), 0);
	CHECK_EQ_INT(virtio_fs_on_workers(&fs, enter_fs_worker_sandbox), 0);
	/* each worker its own, not this thread */
	CHECK_EQ_INT(filtered_threads(), VIRTIO_FS_NR_QUEUES);
	virtio_fs_destroy(&fs);
}

/* A raw image of 1 MiB in a directory of its own, opened writable. */
static struct disk_image *blk_image(void)
{
	static char dir[] = "/tmp/test-sandbox-blk-XXXXXX";
	const struct disk_open_opts opts = { .sync = DISK_SYNC_FULL };
	struct disk_image *img = NULL;
	char path[64];
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/disk.raw", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	CHECK_EQ_INT(disk_image_open(path, DISK_FORMAT_RAW, &opts, &img), 0);
	/* gone from the tree now: the open fd is all the worker needs */
	unlink(path);
	rmdir(dir);
	return img;
}

/* Every image op a virtio-blk worker makes, under its filter (close is
 * the builder's, after the workers). */
static void blk_worker_work(void *arg)
{
	struct disk_image *img = blk_image();
	char data[8192] = "data", back[8192];
	struct iovec out = { data, sizeof(data) }, in = { back, sizeof(back) };

	(void)arg;
	enter(SANDBOX_BLK_WORKER);
	everyday_work();
	CHECK_EQ_INT(img->ops->writev(img, &out, 1, 4096), 0);
	CHECK_EQ_INT(img->ops->readv(img, &in, 1, 4096), 0);
	CHECK(!memcmp(back, data, sizeof(data)));
	CHECK_EQ_INT(img->ops->flush(img), 0);
	CHECK_EQ_INT(img->ops->discard(img, 4096, 4096), 0);
	CHECK_EQ_INT(img->ops->write_zeroes(img, 0, 4096, false), 0);
	CHECK_EQ_INT(img->ops->write_zeroes(img, 8192, 4096, true), 0);
}

static int enter_blk_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_BLK_WORKER);
}

static void virtio_blk_workers(void *arg)
{
	static struct virtio_blk blk;

	(void)arg;
	CHECK_EQ_INT(virtio_blk_init(&blk, blk_image(), "test"), 0);
	CHECK_EQ_INT(sandbox_prepare(), 0);
	CHECK_EQ_INT(virtio_blk_on_workers(&blk, enter_blk_worker_sandbox), 0);
	CHECK_EQ_INT(filtered_threads(), VIRTIO_BLK_WORKERS);
	virtio_blk_destroy(&blk);
}

/* ---- violations ---- */

static void call_execve(void)
{
	execl("/bin/true", "true", (char *)NULL);
}

static void call_kvm_create_vcpu(void)
{
	ioctl(STDIN_FILENO, KVM_CREATE_VCPU, 0);
}

static void call_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void call_fork(void)
{
	if (fork() == 0)
		_exit(0);
}

static void call_open(void)
{
	open("/etc/passwd", O_RDONLY);
}

static void call_open_to_write(void)
{
	open("/tmp/krun-sandbox-test", O_WRONLY | O_CREAT, 0600);
}

static void call_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

/* A call of the x32 ABI, whose numbers have this bit: a kernel without x32
 * would answer ENOSYS, but the filter sees it first. */
#define X32_SYSCALL_BIT 0x40000000

static void call_x32_getpid(void)
{
	syscall(X32_SYSCALL_BIT | __NR_getpid);
}

static const struct violation {
	enum sandbox_kind kind;
	const char *name;
	int nr;
	void (*call)(void);
} violations[] = {
	{ SANDBOX_VCPU, "vCPU", __NR_execve, call_execve },
	/* an ioctl, but not one of its requests */
	{ SANDBOX_VCPU, "vCPU", __NR_ioctl, call_kvm_create_vcpu },
	/* getpid, allowed, but of another ABI */
	{ SANDBOX_VCPU, "vCPU", X32_SYSCALL_BIT | __NR_getpid, call_x32_getpid },
	{ SANDBOX_FS_WORKER, "virtio-fs worker", __NR_socket, call_socket },
	/* a clone, but of a process */
	{ SANDBOX_FS_WORKER, "virtio-fs worker", __NR_clone, call_fork },
	/* a disk's worker opens nothing, nor makes a socket */
	{ SANDBOX_BLK_WORKER, "virtio-blk worker", __NR_openat, call_open },
	{ SANDBOX_BLK_WORKER, "virtio-blk worker", __NR_socket, call_socket },
	{ SANDBOX_EVENT_LOOP, "event loop", __NR_openat, call_open },
	{ SANDBOX_EVENT_LOOP, "event loop", __NR_ptrace, call_ptrace },
	/* a socket: only the loop of a VM with the user-mode interface */
	{ SANDBOX_EVENT_LOOP, "event loop", __NR_socket, call_socket },
	{ SANDBOX_EVENT_LOOP_USER_NET, "event loop (user-mode network or TSI)", __NR_ptrace,
	  call_ptrace },
	/* a file opened but to read */
	{ SANDBOX_EVENT_LOOP_USER_NET, "event loop (user-mode network or TSI)", __NR_openat,
	  call_open_to_write },
	{ SANDBOX_EVENT_LOOP_VSOCK, "event loop (vsock)", __NR_ptrace, call_ptrace },
	/* a file opened: a vsock device opens none once running */
	{ SANDBOX_EVENT_LOOP_VSOCK, "event loop (vsock)", __NR_openat, call_open },
	{ SANDBOX_EVENT_LOOP_TSI_UNIX, "event loop (TSI with unix sockets)", __NR_ptrace,
	  call_ptrace },
	/* openat2, yes; a file opened to write with openat, no */
	{ SANDBOX_EVENT_LOOP_TSI_UNIX, "event loop (TSI with unix sockets)", __NR_openat,
	  call_open_to_write },
};

static void violate(void *arg)
{
	const struct violation *v = arg;

	enter(v->kind);
	v->call();
	printf("the forbidden call returned\n");
}

static void test_violations(void)
{
	static struct outcome o;

	for (size_t i = 0; i < sizeof(violations) / sizeof(violations[0]); i++) {
		const struct violation *v = &violations[i];
		char line[128];

		run_child(violate, (void *)v, &o);
		snprintf(line, sizeof(line),
			 "libkrun: error: sandbox: the %s thread made system call %d (`ausyscall %d`",
			 v->name, v->nr, v->nr);
		CHECK(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS);
		CHECK(strstr(o.out, line) != NULL);
		if (!WIFSIGNALED(o.status) || !strstr(o.out, line))
			show(line, &o);
	}
}

/* ---- identity ---- */

static void drop_to(uid_t uid, gid_t gid, const gid_t *groups, size_t nr_groups)
{
	CHECK_EQ_INT(setgroups(nr_groups, groups), 0);
	CHECK_EQ_INT(setresgid(gid, gid, gid), 0);
	CHECK_EQ_INT(setresuid(uid, uid, uid), 0);
}

static void identity_from_root(void *arg)
{
	const struct vm_config cfg = { .has_uid = true, .uid = 65534, .has_gid = true, .gid = 65533 };

	(void)arg;
	CHECK_EQ_INT(setgroups(2, (gid_t[]){ 0, 4242 }), 0);
	CHECK_EQ_INT(sandbox_drop_identity(&cfg), 0);
	CHECK_EQ_INT(getgroups(0, NULL), 0);
	CHECK(getuid() == 65534 && geteuid() == 65534);
	CHECK(getgid() == 65533 && getegid() == 65533);
}

static void identity_unchanged(void *arg)
{
	const struct vm_config cfg = { 0 };

	(void)arg;
	CHECK_EQ_INT(setgroups(1, (gid_t[]){ 4242 }), 0);
	CHECK_EQ_INT(sandbox_drop_identity(&cfg), 0);
	CHECK_EQ_INT(getgroups(0, NULL), 1);
	CHECK_EQ_INT(geteuid(), 0);
}

/* Without CAP_SETGID: groups it cannot drop are an error, none is not. */
static void identity_unprivileged(void *arg)
{
	const struct vm_config cfg = { .has_uid = true, .uid = 1000, .has_gid = true, .gid = 1000 };
	bool with_groups = arg != NULL;

	drop_to(1000, 1000, (gid_t[]){ 4242 }, with_groups);
	CHECK_EQ_INT(sandbox_drop_identity(&cfg), with_groups ? -EPERM : 0);
}

static void test_identity(void)
{
	static struct outcome o;

	expect_success("identity from root", identity_from_root, NULL);
	expect_success("identity unchanged", identity_unchanged, NULL);
	expect_success("identity, unprivileged, no groups", identity_unprivileged, NULL);
	run_child(identity_unprivileged, "with groups", &o);
	CHECK(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0);
	CHECK(strstr(o.out, "cannot drop the supplementary groups before becoming uid 1000") != NULL);
}

/* ---- no_new_privs ---- */

static void *nnp_of_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

static void no_new_privs(void *arg)
{
	pthread_t th;
	void *nnp;

	(void)arg;
	CHECK_EQ_INT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	CHECK_EQ_INT(sandbox_prepare(), 0);
	CHECK_EQ_INT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	CHECK_EQ_INT(pthread_create(&th, NULL, nnp_of_thread, NULL), 0);
	pthread_join(th, &nnp);
	CHECK_EQ_INT((intptr_t)nnp, 1);
}

/* A set-user-ID root copy of id(1), run by uid 65534: with no_new_privs
 * its effective uid stays 65534. */
static char setuid_id[300];

static void run_setuid_id(void *with_nnp)
{
	const struct vm_config cfg = { .has_uid = true, .uid = 65534, .has_gid = true, .gid = 65534 };

	CHECK_EQ_INT(sandbox_drop_identity(&cfg), 0);
	if (with_nnp)
		CHECK_EQ_INT(sandbox_prepare(), 0);
	fflush(stdout);
	execl(setuid_id, "id", (char *)NULL);
	printf("cannot run %s: %s\n", setuid_id, strerror(errno));
}

static bool make_setuid_id(char *dir)
{
	int in = open("/usr/bin/id", O_RDONLY | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n;

	snprintf(setuid_id, sizeof(setuid_id), "%s/id", dir);
	out = open(setuid_id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return false;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return false;
	close(in);
	close(out);
	return chmod(dir, 0755) == 0 && chmod(setuid_id, 04755) == 0;
}

static void test_no_new_privs(void)
{
	static struct outcome o;
	char dir[300];

	expect_success("no_new_privs", no_new_privs, NULL);
	/* uid 65534 must reach it */
	CHECK_EQ_INT(chmod(tmp_dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/setuid-XXXXXX", tmp_dir);
	CHECK(mkdtemp(dir) && make_setuid_id(dir));
	/* without it, the program gains root: else this test proves nothing
	 * (a nosuid mount, say) */
	run_child(run_setuid_id, NULL, &o);
	CHECK(strstr(o.out, "euid=0(root)") != NULL);
	if (!strstr(o.out, "euid=0(root)"))
		show("set-user-ID id without no_new_privs (on a nosuid mount?)", &o);
	run_child(run_setuid_id, "nnp", &o);
	CHECK(strstr(o.out, "uid=65534") != NULL && !strstr(o.out, "euid=0"));
	if (!strstr(o.out, "uid=65534") || strstr(o.out, "euid=0"))
		show("set-user-ID id with no_new_privs", &o);
	unlink(setuid_id);
	rmdir(dir);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test-sandbox changes identities: it must run as root\n");
		return 1;
	}
	if (harness_setup() || vsock_driver_setup() < 0)
		return 1;
	expect_success("vCPU's work", vcpu_work, NULL);
	expect_success("event loop's work", event_loop_work, NULL);
	expect_success("the user-mode network's work on the event loop", user_net_work, NULL);
	expect_success("the vsock device's work on the event loop", vsock_work, NULL);
	expect_success("TSI's work on the event loop", tsi_work,
		       &(enum sandbox_kind){ SANDBOX_EVENT_LOOP_USER_NET });
	expect_success("TSI's unix sockets on the event loop", tsi_work,
		       &(enum sandbox_kind){ SANDBOX_EVENT_LOOP_TSI_UNIX });
	expect_success("virtio-fs worker's work", fs_worker_work, NULL);
	expect_success("virtio-fs workers' sandboxes", virtio_fs_workers, NULL);
	expect_success("virtio-blk worker's work", blk_worker_work, NULL);
	expect_success("virtio-blk workers' sandboxes", virtio_blk_workers, NULL);
	expect_success("many threads' first allocations", many_threads, NULL);
	test_violations();
	test_identity();
	test_no_new_privs();
	harness_teardown();
	unlink(connect_path);
	rmdir(vsock_dir);
	return CHECK_DONE();
}
