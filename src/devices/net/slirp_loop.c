#include "devices/net/slirp_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "devices/net/backend.h"

struct slirp_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	struct slirp_timer *next;
};

/* --- libslirp's callbacks (all on the event loop's thread but timer_new) --- */

/* A frame for the guest. The frame socket's buffer is the only queue:
 * full means the guest has not taken the last ones, and this one is
 * dropped (TCP sends it again, slower). The guard reads it either way:
 * libslirp's state is what it says. */
static ssize_t to_guest(const void *buf, size_t len, void *opaque)
{
	struct slirp_loop *s = opaque;

	tcp_guard_to_guest(&s->guard, buf, len);
	if (send(s->frame_fd, buf, len, MSG_DONTWAIT) < 0) {
		s->counters.to_guest_dropped++;
		LOG_RATELIMITED(LOG_WARN, "net eth%u: the guest takes no frames (%s): dropped",
				s->index, strerror(errno));
	}
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	struct slirp_loop *s = opaque;

	LOG_RATELIMITED(LOG_WARN, "net eth%u: the user-mode stack: %s", s->index, msg);
}

static int64_t clock_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)monotonic_ns();
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_loop *s = opaque;
	struct slirp_timer *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct slirp_timer){ cb, cb_opaque, -1, s->timers };
	s->timers = t;
	return t;
}

static void timer_free(void *timer, void *opaque)
{
	struct slirp_loop *s = opaque;

	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

/* Armed on the timerfd at the next sync, which follows every call into libslirp. */
static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void register_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* A socket libslirp closes: a new one may get its number before the next
 * sync, and must then be added to the set as new. */
static void unregister_fd(int fd, void *opaque)
{
	struct slirp_loop *s = opaque;

	if (fd >= 0 && (unsigned int)fd < s->fds_cap && s->fds[fd].registered) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		s->fds[fd].registered = 0;
	}
}

static void notify(void *opaque)
{
	(void)opaque; /* every call into libslirp is followed by a sync */
}

static const SlirpCb slirp_callbacks = {
	.send_packet = to_guest,
	.guest_error = guest_error,
	.clock_get_ns = clock_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = register_fd,
	.unregister_poll_fd = unregister_fd,
	.notify = notify,
};

/* --- the epoll set kept in line with libslirp's fills ---------------------- */

static bool grow(void **array, unsigned int *cap, unsigned int need, size_t size)
{
	unsigned int n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if (!(p = realloc(*array, (size_t)n * size)))
		return false;
	memset((char *)p + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
	*array = p;
	*cap = n;
	return true;
}

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_loop *s = opaque;
	uint32_t want = (events & SLIRP_POLL_IN ? EPOLLIN : 0) |
			(events & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
			(events & SLIRP_POLL_PRI ? EPOLLPRI : 0);

	if (fd < 0 || !grow((void **)&s->fds, &s->fds_cap, (unsigned int)fd + 1, sizeof(*s->fds)) ||
	    !grow((void **)&s->polled, &s->polled_cap, s->nr_polled + 1, sizeof(*s->polled)))
		return -1; /* never polled: libslirp's get_revents hears nothing */
	s->fds[fd].wanted |= want;
	s->polled[s->nr_polled] = fd;
	return (int)s->nr_polled++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_loop *s = opaque;
	uint32_t got;

	if (idx < 0 || (unsigned int)idx >= s->nr_polled)
		return 0;
	got = s->fds[s->polled[idx]].ready;
	return (got & EPOLLIN ? SLIRP_POLL_IN : 0) | (got & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
	       (got & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (got & EPOLLERR ? SLIRP_POLL_ERR : 0) |
	       (got & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

static void set_watch(struct slirp_loop *s, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	uint32_t *registered = &s->fds[fd].registered;

	if (events == *registered)
		return;
	if (events == 0) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	} else if (epoll_ctl(s->epoll_fd, *registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0 &&
		   epoll_ctl(s->epoll_fd, errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
			     &ev) < 0) {
		LOG_RATELIMITED(LOG_WARN, "net eth%u: cannot watch a socket of the user-mode "
				"stack: %s", s->index, strerror(errno));
		events = 0;
	}
	*registered = events;
}

/* The earliest of libslirp's timers and its poll deadline, on the timerfd. */
static void arm_timer(struct slirp_loop *s, uint32_t poll_timeout_ms)
{
	int64_t now_ms = (int64_t)(monotonic_ns() / 1000000);
	int64_t due = now_ms + (poll_timeout_ms == UINT32_MAX ? 1000 : poll_timeout_ms);
	struct itimerspec its = { 0 };

	for (struct slirp_timer *t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0 && t->expire_ms < due)
			due = t->expire_ms;
	if (due < 1)
		due = 1; /* 0 would disarm it */
	its.it_value.tv_sec = due / 1000;
	its.it_value.tv_nsec = (due % 1000) * 1000000;
	timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* What libslirp wants watched now, after a call into it. */
static void sync_watches(struct slirp_loop *s)
{
	uint32_t timeout = UINT32_MAX;
	unsigned int n = 0;

	s->nr_polled = 0;
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	if (!grow((void **)&s->live, &s->live_cap, s->nr_polled, sizeof(*s->live))) {
		LOG_RATELIMITED(LOG_WARN, "net eth%u: out of memory for the user-mode stack's "
				"sockets", s->index);
		for (unsigned int i = 0; i < s->nr_polled; i++)
			s->fds[s->polled[i]].wanted = 0;
		arm_timer(s, timeout);
		return;
	}
	/* The fds no longer asked for leave the set; the others get what they
	 * want now and are listed once each in live. */
	for (unsigned int i = 0; i < s->nr_live; i++)
		if (s->fds[s->live[i]].wanted == 0)
			set_watch(s, s->live[i], 0);
	for (unsigned int i = 0; i < s->nr_polled; i++) {
		struct slirp_fd_state *f = &s->fds[s->polled[i]];
		if (f->listed)
			continue;
		f->listed = true;
		set_watch(s, s->polled[i], f->wanted);
		s->live[n++] = s->polled[i];
	}
	for (unsigned int i = 0; i < n; i++) {
		s->fds[s->live[i]].listed = false;
		s->fds[s->live[i]].wanted = 0;
	}
	s->nr_live = n;
	s->nr_sockets = n;
	if (n > s->counters.peak_sockets)
		s->counters.peak_sockets = n;
	arm_timer(s, timeout);
}

/* --- frames from the guest ------------------------------------------------- */

/* Whether libslirp would open a socket of the VMM for this frame: a TCP
 * SYN, a UDP datagram but DHCP's (answered inside), an ICMP echo. */
static bool opens_socket(const uint8_t *f, size_t len)
{
	size_t ihl;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return false; /* not IPv4: libslirp answers ARP itself */
	ihl = (size_t)(f[14] & 0xf) * 4;
	if (ihl < 20 || len < 14 + ihl + 14)
		return false;
	const uint8_t *l4 = f + 14 + ihl;
	switch (f[14 + 9]) {
	case 6: /* TCP: SYN without ACK */
		return (l4[13] & 0x12) == 0x02;
	case 17: /* UDP: not to the DHCP server's port */
		return !(l4[2] == 0 && l4[3] == 67);
	case 1: /* ICMP echo request */
		return l4[0] == 8;
	}
	return false;
}

/* An IPv4 fragment (more to come, or not the first). libslirp keeps an
 * unfinished datagram's fragments until its slow timer drops them, about
 * 30 s, with no bound on how many datagrams: a guest sending fragments it
 * never completes would grow the VMM's memory at its line rate. So they
 * never reach it: the guest's TCP is unfragmented (path MTU discovery), and
 * what it loses is UDP datagrams larger than its MTU. */
static bool is_fragment(const uint8_t *f, size_t len)
{
	return len >= 14 + 20 && f[12] == 0x08 && f[13] == 0x00 &&
	       ((f[14 + 6] & 0x3f) || f[14 + 7]); /* MF, or an offset */
}

static void from_guest(struct slirp_loop *s)
{
	for (unsigned int budget = SLIRP_LOOP_FRAME_BUDGET; budget > 0; budget--) {
		ssize_t n = recv(s->frame_fd, s->frame, NET_MAX_FRAME + 1, MSG_DONTWAIT);

		if (n < 0)
			return; /* EAGAIN, or the device is gone: nothing to read */
		if (n > NET_MAX_FRAME)
			continue; /* the device sends none longer */
		if (is_fragment(s->frame, (size_t)n)) {
			s->counters.fragments_dropped++;
			continue;
		}
		bool opens = opens_socket(s->frame, (size_t)n);
		if (opens && s->nr_sockets >= s->max_sockets) {
			s->counters.new_flows_refused++;
			LOG_RATELIMITED(LOG_WARN, "net eth%u: the guest has %u connections, the most "
					"the user-mode stack keeps: a new one is refused",
					s->index, s->nr_sockets);
			continue;
		}
		switch (tcp_guard_from_guest(&s->guard, s->frame, (size_t)n)) {
		case TCP_GUARD_MALFORMED:
			s->counters.tcp_malformed++;
			continue;
		case TCP_GUARD_HELD_BACK:
			s->counters.tcp_held_back++;
			continue;
		case TCP_GUARD_FORWARD:
			break;
		}
		/* Counted now, and again from libslirp's own list at the sync. */
		if (opens)
			s->nr_sockets++;
		s->counters.guest_frames++;
		slirp_input(s->slirp, s->frame, (int)n);
	}
}

/* --- the loop's handler ------------------------------------------------------ */

static void run_due_timers(struct slirp_loop *s)
{
	int64_t now_ms = (int64_t)(monotonic_ns() / 1000000);
	uint64_t expirations;
	bool fired;

	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	/* A callback may re-arm or free timers: start over after each. */
	do {
		fired = false;
		for (struct slirp_timer *t = s->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
				t->expire_ms = -1;
				t->cb(t->cb_opaque);
				fired = true;
				break;
			}
		}
	} while (fired);
}

static void on_ready(void *opaque, uint32_t events)
{
	struct slirp_loop *s = opaque;
	struct epoll_event evs[64];
	bool frames = false, timers = false;
	int n;

	(void)events;
	n = epoll_wait(s->epoll_fd, evs, 64, 0);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd == s->frame_fd)
			frames = true;
		else if (fd == s->timer_fd)
			timers = true;
		else if ((unsigned int)fd < s->fds_cap)
			s->fds[fd].ready = evs[i].events;
	}
	if (frames)
		from_guest(s);
	if (timers)
		run_due_timers(s);
	slirp_pollfds_poll(s->slirp, 0, get_revents, s);
	for (int i = 0; i < n; i++)
		if ((unsigned int)evs[i].data.fd < s->fds_cap)
			s->fds[evs[i].data.fd].ready = 0;
	sync_watches(s);
}

/* --- set-up and end ---------------------------------------------------------- */

int slirp_loop_init(struct slirp_loop *s, unsigned int index, int frame_fd,
		    unsigned int max_sockets)
{
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vhostname = "krun",
	};
	int ret;

	*s = (struct slirp_loop){ .index = index, .epoll_fd = -1, .timer_fd = -1,
				  .frame_fd = frame_fd, .max_sockets = max_sockets };
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, SLIRP_GUEST_ADDR, &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	if ((s->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, frame_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.fd = frame_fd }) < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.fd = s->timer_fd }) < 0) {
		ret = -errno;
		LOG_ERR("net eth%u: cannot set up the user-mode stack's watches: %s", index,
			strerror(errno));
		goto fail;
	}
	if (!(s->frame = malloc(NET_MAX_FRAME + 1)) || tcp_guard_init(&s->guard, max_sockets) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	if (!(s->slirp = slirp_new(&cfg, &slirp_callbacks, s))) {
		LOG_ERR("net eth%u: libslirp %s would not start", index, slirp_version_string());
		ret = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	slirp_loop_destroy(s);
	return ret;
}

int slirp_loop_watch(struct slirp_loop *s, struct event_loop *loop)
{
	int ret;

	sync_watches(s); /* the published ports' listeners */
	if ((ret = event_loop_add(loop, s->epoll_fd, EPOLLIN, on_ready, s)) < 0) {
		LOG_ERR("net eth%u: cannot watch the user-mode stack: %s", s->index,
			strerror(-ret));
		return ret;
	}
	s->loop = loop;
	return 0;
}

void slirp_loop_destroy(struct slirp_loop *s)
{
	if (s->loop)
		event_loop_remove(s->loop, s->epoll_fd);
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->timers)
		timer_free(s->timers, s);
	if (s->frame_fd >= 0)
		close(s->frame_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	free(s->fds);
	free(s->polled);
	free(s->live);
	free(s->frame);
	tcp_guard_destroy(&s->guard);
	*s = (struct slirp_loop){ .epoll_fd = -1, .timer_fd = -1, .frame_fd = -1 };
}
