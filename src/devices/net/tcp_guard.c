#include "devices/net/tcp_guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/net/csum.h"

/* One connection between a guest's port and a remote one, as libslirp
 * knows it (its socket is keyed by the same four). */
struct flow_key {
	uint32_t guest_ip, remote_ip;
	uint16_t guest_port, remote_port;
};

struct tcp_flow {
	struct flow_key key;
	int32_t next; /* in its bucket's chain, or in the free list */
	bool in_use;
	bool synced; /* an ACK of libslirp's seen since the guest's last SYN: contig, right */
	bool sent;   /* libslirp has sent on it: snd_max */
	uint32_t contig;   /* libslirp's rcv_nxt is at or beyond it (see the header) */
	uint32_t right;	   /* its last ACK plus its window: it trims data beyond */
	uint32_t snd_max;  /* the end of what it has sent: a guest ACK beyond is refused */
	/* Where the holes are counted from: contig (the first segment's seq
	 * before libslirp's first ACK) when the first was forwarded. Held
	 * segments end less than TCP_GUARD_FAR beyond it, so that "passed
	 * them all" is a plain comparison of distances from it. */
	uint32_t held_base;
	uint32_t held_end; /* the farthest end of them, from held_base */
	unsigned int held; /* out-of-order segments forwarded, not known delivered */
	size_t held_bytes; /* what they are charged */
	uint64_t last_used;
};

/* A TCP segment's fields, in host order. */
struct segment {
	struct flow_key key;
	uint32_t seq, ack, data_len;
	uint16_t win;
	uint8_t flags;
};

/* Far beyond anything libslirp's window reaches (64 KiB advertised, at
 * most its receive buffer taken), near enough that distances from one
 * point do not wrap. */
#define TCP_GUARD_FAR (1u << 30)

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* A frame's TCP segment: 1 (*s filled), 0 when the frame is not IPv4 TCP,
 * -1 when libslirp's ip_input or tcp_input would drop it: a short or bad
 * IPv4 header, a TTL of 0, lengths that do not fit, a bad data offset, and
 * with check, a wrong header or segment checksum. The guest's frames reach
 * here whole (fragments never do: slirp_loop.c) and with their checksums
 * finished by the device. */
static int parse(const uint8_t *f, size_t len, bool from_guest, struct segment *s)
{
	const uint8_t *ip = f + 14, *tcp;
	size_t ihl, total, tcp_len, off;

	if (len < 14 + 20 || get16(f + 12) != 0x0800 || ip[9] != IPPROTO_TCP)
		return 0;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	total = get16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < 20 || total < ihl + 20 || total > len - 14 || ip[8] == 0)
		return -1;
	tcp = ip + ihl;
	tcp_len = total - ihl;
	off = (size_t)(tcp[12] >> 4) * 4;
	if (off < 20 || off > tcp_len)
		return -1;
	if (from_guest) {
		uint8_t pseudo[12] = { [9] = IPPROTO_TCP,
				       [10] = (uint8_t)(tcp_len >> 8), [11] = (uint8_t)tcp_len };

		memcpy(pseudo, ip + 12, 8); /* source and destination */
		if (net_csum_fold(net_csum_add(0, ip, ihl)) != 0 ||
		    net_csum_fold(net_csum_add(net_csum_add(0, pseudo, 12), tcp, tcp_len)) != 0)
			return -1;
	}
	uint32_t src = get32(ip + 12), dst = get32(ip + 16);
	uint16_t sport = get16(tcp), dport = get16(tcp + 2);
	s->key = from_guest ? (struct flow_key){ src, dst, sport, dport }
			    : (struct flow_key){ dst, src, dport, sport };
	s->seq = get32(tcp + 4);
	s->ack = get32(tcp + 8);
	s->flags = tcp[13];
	s->win = get16(tcp + 14);
	s->data_len = (uint32_t)(tcp_len - off);
	return 1;
}

/* --- the table: chained buckets over a fixed array ------------------------ */

static uint32_t bucket_of(const struct tcp_guard *g, const struct flow_key *k)
{
	const uint64_t mul = 0x9e3779b97f4a7c15ull;
	uint64_t h = g->seed;

	h = (h ^ k->guest_ip) * mul;
	h = (h ^ k->remote_ip) * mul;
	h = (h ^ ((uint32_t)k->guest_port << 16 | k->remote_port)) * mul;
	return (uint32_t)(h >> 32) & g->bucket_mask;
}

static bool same_key(const struct flow_key *a, const struct flow_key *b)
{
	return a->guest_ip == b->guest_ip && a->remote_ip == b->remote_ip &&
	       a->guest_port == b->guest_port && a->remote_port == b->remote_port;
}

static struct tcp_flow *find(struct tcp_guard *g, const struct flow_key *k)
{
	for (int32_t i = g->buckets[bucket_of(g, k)]; i >= 0; i = g->flows[i].next)
		if (same_key(&g->flows[i].key, k))
			return &g->flows[i];
	return NULL;
}

/* What the flow's out-of-order segments were charged is free again:
 * libslirp has delivered them, or freed its queue. */
static void release(struct tcp_guard *g, struct tcp_flow *f)
{
	g->held_bytes -= f->held_bytes;
	f->held = 0;
	f->held_bytes = 0;
}

/* Out of the table; its charge stays with the total unless released first. */
static void unlink_flow(struct tcp_guard *g, struct tcp_flow *f)
{
	int32_t idx = (int32_t)(f - g->flows);

	for (int32_t *p = &g->buckets[bucket_of(g, &f->key)]; *p >= 0; p = &g->flows[*p].next) {
		if (*p == idx) {
			*p = f->next;
			break;
		}
	}
	f->in_use = false;
	f->next = g->free_list;
	g->free_list = idx;
	g->nr_flows--;
}

/* The table is full: the least recently used flow with nothing held goes.
 * When every flow holds something (a guest keeping 2 x max_sockets
 * connections with holes, or leaving holes in connections libslirp closed
 * without a reset), the least recently used goes anyway and what it was
 * charged stays in the total for good: the budget shrinks, the bound on
 * libslirp's memory holds. */
static void evict(struct tcp_guard *g)
{
	struct tcp_flow *idle = NULL, *any = NULL;

	for (unsigned int i = 0; i < g->capacity; i++) {
		struct tcp_flow *f = &g->flows[i];
		if (!f->in_use)
			continue;
		if (!any || f->last_used < any->last_used)
			any = f;
		if (f->held == 0 && (!idle || f->last_used < idle->last_used))
			idle = f;
	}
	unlink_flow(g, idle ? idle : any);
}

static struct tcp_flow *add(struct tcp_guard *g, const struct flow_key *k)
{
	struct tcp_flow *f;
	uint32_t b = bucket_of(g, k);

	if (g->free_list < 0)
		evict(g);
	f = &g->flows[g->free_list];
	g->free_list = f->next;
	*f = (struct tcp_flow){ .key = *k, .in_use = true, .next = g->buckets[b],
				.last_used = g->clock };
	g->buckets[b] = (int32_t)(f - g->flows);
	g->nr_flows++;
	return f;
}

/* --- the two directions ----------------------------------------------------- */

enum tcp_guard_verdict tcp_guard_from_guest(struct tcp_guard *g, const uint8_t *frame,
					    size_t len)
{
	struct segment s;
	struct tcp_flow *f;
	int parsed = parse(frame, len, true, &s);

	if (parsed <= 0)
		return parsed < 0 ? TCP_GUARD_MALFORMED : TCP_GUARD_FORWARD;
	f = find(g, &s.key);
	g->clock++;
	if (f)
		f->last_used = g->clock;

	/* A reset libslirp takes closes its connection and frees the queue:
	 * one at or after rcv_nxt (contig is not beyond it) and inside the
	 * window (a reset carrying data at the right edge is trimmed away with
	 * it). A reset never enters the queue. */
	if (s.flags & TH_RST) {
		uint32_t off = f ? s.seq - f->contig : 0, room = f ? f->right - f->contig : 0;
		if (f && f->synced && room < TCP_GUARD_FAR && (s.data_len ? off < room : off <= room)) {
			release(g, f);
			unlink_flow(g, f);
		}
		return TCP_GUARD_FORWARD;
	}
	/* A SYN starts a connection (or meets an old one, which libslirp then
	 * resets or answers with an ACK): contig and snd_max wait for
	 * libslirp's answer, a new connection's in new sequence spaces. Its data
	 * is queued only for a new connection, once. */
	if (s.flags & TH_SYN) {
		if (!f)
			add(g, &s.key);
		else
			f->synced = f->sent = false;
		return TCP_GUARD_FORWARD;
	}
	/* A segment without data or FIN never enters the queue. */
	bool fin = s.flags & TH_FIN;
	if (s.data_len == 0 && !fin)
		return TCP_GUARD_FORWARD;
	if (!f)
		f = add(g, &s.key);

	/* Distances, not signed differences: a segment half the sequence
	 * space away reads as before and after at once. */
	uint32_t behind = f->contig - s.seq, room = f->right - f->contig;
	if (f->synced && behind < TCP_GUARD_FAR) {
		/* At or before contig: libslirp delivers it at once, or has. contig
		 * moves only where libslirp cannot refuse the data: an ACK flag
		 * and an ACK of nothing it has not sent (else it drops the
		 * segment), then no further than the window; a FIN alone may be
		 * dropped as a duplicate ACK, so it never moves it. */
		if (s.data_len > behind && (s.flags & TH_ACK) && f->sent &&
		    f->snd_max - s.ack < TCP_GUARD_FAR && room < TCP_GUARD_FAR)
			f->contig += s.data_len - behind < room ? s.data_len - behind : room;
		return TCP_GUARD_FORWARD;
	}
	/* Beyond contig: it may wait in libslirp's queue. One ending as far as
	 * TCP_GUARD_FAR away is far outside any window libslirp keeps: had it
	 * counted, comparing its end with the others' would wrap. */
	size_t cost = len + TCP_GUARD_SEGMENT_COST;
	if (f->held == 0)
		f->held_base = f->synced ? f->contig : s.seq;
	uint32_t reach = s.seq + s.data_len + fin - f->held_base;
	if (f->held >= TCP_GUARD_HELD_PER_FLOW || g->held_bytes + cost > TCP_GUARD_HELD_BYTES ||
	    reach >= TCP_GUARD_FAR)
		return TCP_GUARD_HELD_BACK;
	if (f->held == 0 || reach > f->held_end)
		f->held_end = reach;
	f->held++;
	f->held_bytes += cost;
	g->held_bytes += cost;
	return TCP_GUARD_FORWARD;
}

void tcp_guard_to_guest(struct tcp_guard *g, const uint8_t *frame, size_t len)
{
	struct segment s;
	struct tcp_flow *f;

	if (parse(frame, len, false, &s) <= 0 || !(f = find(g, &s.key)))
		return;
	/* libslirp resets a connection it closes or never had: its queue is gone. */
	if (s.flags & TH_RST) {
		release(g, f);
		unlink_flow(g, f);
		return;
	}
	/* A SYN of libslirp's starts its sequence space (a new socket, when
	 * the guest's published port is reached): snd_max starts over. */
	uint32_t end = s.seq + s.data_len + !!(s.flags & TH_SYN) + !!(s.flags & TH_FIN);
	if (!f->sent || (s.flags & TH_SYN) || seq_lt(f->snd_max, end))
		f->snd_max = end;
	f->sent = true;
	if (!(s.flags & TH_ACK)) {
		f->synced = false; /* its SYN: no rcv_nxt before the guest's SYN-ACK */
		return;
	}
	/* Its ACK is its rcv_nxt, its window unscaled: libslirp reads no TCP
	 * option but MSS, so never agrees to window scaling. */
	if (!f->synced || seq_lt(f->contig, s.ack))
		f->contig = s.ack;
	f->synced = true;
	f->right = s.ack + s.win;
	/* All held segments end at or before rcv_nxt: none is queued any more
	 * (one still queued starts past rcv_nxt, inside the window, so ends
	 * farther from held_base). rcv_nxt behind held_base reads as far. */
	uint32_t reached = s.ack - f->held_base;
	if (f->held && reached >= f->held_end && reached < TCP_GUARD_FAR)
		release(g, f);
}

/* --- set-up ----------------------------------------------------------------- */

int tcp_guard_init(struct tcp_guard *g, unsigned int max_sockets)
{
	unsigned int cap = 2 * (max_sockets ? max_sockets : 1), buckets = 1;

	while (buckets < cap)
		buckets *= 2;
	*g = (struct tcp_guard){ .capacity = cap, .bucket_mask = buckets - 1, .free_list = -1 };
	if (getrandom(&g->seed, sizeof(g->seed), GRND_NONBLOCK) != sizeof(g->seed))
		g->seed = (uint32_t)(uintptr_t)g; /* no entropy yet: still not the guest's to know */
	g->flows = calloc(cap, sizeof(*g->flows));
	g->buckets = malloc(buckets * sizeof(*g->buckets));
	if (!g->flows || !g->buckets) {
		tcp_guard_destroy(g);
		return -ENOMEM;
	}
	memset(g->buckets, 0xff, buckets * sizeof(*g->buckets)); /* all -1 */
	for (unsigned int i = cap; i-- > 0;) {
		g->flows[i].next = g->free_list;
		g->free_list = (int32_t)i;
	}
	return 0;
}

void tcp_guard_destroy(struct tcp_guard *g)
{
	free(g->flows);
	free(g->buckets);
	*g = (struct tcp_guard){ .free_list = -1 };
}
