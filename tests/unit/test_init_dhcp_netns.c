/* The init's DHCP client end to end, without a guest: in a network namespace
 * of its own, net_setup()/net_dhcp_configure() on one end of a veth pair,
 * and on the other, in a second namespace, a small DHCP server of ours on
 * an ordinary UDP socket (so the kernel checks the client's IP and UDP
 * headers as a real server's would). Three servers: one that answers a
 * DISCOVER with rapid commit, one that offers and then acknowledges a
 * REQUEST after first sending replies the client must ignore, and one that
 * never answers. Checked: the address and prefix, the default route, the
 * MTU and resolv.conf the client set, the messages the server saw, and that
 * the client without an answer gives up within its bound. And TSI's
 * presence on a dummy link (tsi_net.c). Needs root (for the namespaces). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dhcp.h"
#include "net.h"
#include "rtnl.h"
#include "tsi_net.h"

#define CLIENT_IF "veth0"
#define SERVER_IF "veth1"
#define SERVER_ADDR "10.0.2.2"
#define LEASE_ADDR "10.0.2.15"
#define DECOY_ADDR "10.0.2.99" /* what the replies to be ignored offer */
#define LEASE_MTU 1400

enum server_mode {
	SERVER_RAPID, /* ACK with rapid commit to a DISCOVER */
	SERVER_OFFER, /* OFFER, then ACK to the REQUEST; decoys first */
	SERVER_SILENT,
};

/* What the server tells the test of each message it received, one byte
 * each through a pipe. */
#define SAW_DISCOVER 'D'
#define SAW_DISCOVER_RAPID 'd' /* with the rapid commit option */
#define SAW_REQUEST 'R'	       /* for the lease, from its server */
#define SAW_BAD_REQUEST 'r'

static const uint8_t *find_option(const uint8_t *msg, size_t len, uint8_t code)
{
	for (size_t i = 240; i + 1 < len && msg[i] != 255; i += msg[i] ? 2 + msg[i + 1] : 1) {
		if (msg[i] == code && i + 2 + msg[i + 1] <= len)
			return msg + i;
	}
	return NULL;
}

/* The server's reply to the BOOTP request req, of type with the test's
 * lease, for address yiaddr; xid_delta != 0 makes it another transaction's. */
static size_t server_reply(uint8_t *out, const uint8_t *req, uint8_t type, bool rapid,
			   const char *yiaddr, uint32_t xid_delta)
{
	static const uint8_t lease_options[] = {
		54, 4, 10, 0, 2, 2,			  /* server */
		1, 4, 255, 255, 255, 0,			  /* mask */
		3, 4, 10, 0, 2, 2,			  /* router */
		6, 8, 10, 0, 2, 3, 1, 1, 1, 1,		  /* DNS */
		26, 2, LEASE_MTU >> 8, LEASE_MTU & 0xff, /* MTU */
		51, 4, 0, 0, 0x0e, 0x10,		  /* lease time */
		15, 12, 't', 'e', 's', 't', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	};
	memset(out, 0, 300);
	out[0] = 2; /* BOOTREPLY */
	out[1] = 1;
	out[2] = 6;
	uint32_t xid;
	memcpy(&xid, req + 4, 4);
	xid = htonl(ntohl(xid) + xid_delta);
	memcpy(out + 4, &xid, 4);
	memcpy(out + 10, req + 10, 2); /* flags */
	inet_pton(AF_INET, yiaddr, out + 16);
	inet_pton(AF_INET, SERVER_ADDR, out + 20);
	memcpy(out + 28, req + 28, 16);
	memcpy(out + 236, "\x63\x82\x53\x63", 4);
	size_t i = 240;
	out[i++] = 53;
	out[i++] = 1;
	out[i++] = type;
	memcpy(out + i, lease_options, sizeof(lease_options));
	i += sizeof(lease_options);
	if (rapid) {
		out[i++] = 80;
		out[i++] = 0;
	}
	out[i++] = 255;
	return i < 300 ? 300 : i;
}

static void broadcast(int fd, const uint8_t *msg, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(68),
				  .sin_addr.s_addr = INADDR_BROADCAST };
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		perror("server: sendto");
}

static bool option_is_addr(const uint8_t *opt, const char *text)
{
	struct in_addr a;
	inet_pton(AF_INET, text, &a);
	return opt && opt[1] == 4 && memcmp(opt + 2, &a, 4) == 0;
}

/* Wait for SERVER_IF to carry frames. A veth end brought up before its
 * peer gets its queue only when the kernel's link watch sees the peer come
 * up, a moment later: a reply sent sooner is dropped. A guest's virtio-net
 * has no such peer, so cases that time the client start with this done. */
static void wait_running(void)
{
	struct ifreq ifr = { .ifr_name = SERVER_IF };
	struct timespec pause = { .tv_nsec = 1000 * 1000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	for (int ms = 0; ms < 2000; ms++) {
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING))
			break;
		nanosleep(&pause, NULL);
	}
	/* the queue is set up just after the flag */
	pause.tv_nsec = 20 * 1000 * 1000;
	nanosleep(&pause, NULL);
	close(fd);
}

/* The server, in its own namespace on SERVER_IF, until killed. */
__attribute__((noreturn)) static void serve(enum server_mode mode, int ready_fd, int report_fd)
{
	int nl = rtnl_open(), ifindex = if_nametoindex(SERVER_IF);
	struct in_addr addr;
	inet_pton(AF_INET, SERVER_ADDR, &addr);
	if (nl < 0 || !ifindex || rtnl_link_up(nl, ifindex, 0) || rtnl_addr_add(nl, ifindex, addr, 24))
		_exit(2);

	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(67) };
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, SERVER_IF, sizeof(SERVER_IF)) ||
	    bind(fd, (struct sockaddr *)&local, sizeof(local)))
		_exit(2);
	if (mode != SERVER_SILENT)
		wait_running();
	write(ready_fd, "", 1);

	for (;;) {
		uint8_t req[1500], out[1500];
		ssize_t n = recv(fd, req, sizeof(req), 0);
		if (n < 240 || req[0] != 1)
			continue;
		const uint8_t *type = find_option(req, n, 53);
		if (!type || type[1] != 1)
			continue;
		if (type[2] == 1) { /* DISCOVER */
			bool rapid = find_option(req, n, 80) != NULL;
			write(report_fd, rapid ? "d" : "D", 1);
			if (mode == SERVER_RAPID && rapid) {
				broadcast(fd, out, server_reply(out, req, 5, true, LEASE_ADDR, 0));
			} else if (mode == SERVER_OFFER) {
				/* another transaction's ACK, then a reply cut short */
				broadcast(fd, out, server_reply(out, req, 5, true, DECOY_ADDR, 1));
				size_t len = server_reply(out, req, 2, false, DECOY_ADDR, 0);
				memset(out + 240, 0, len - 240);
				memcpy(out + 240, "\x35\x01\x02\x36\x04\x0a\x00\x02\x02\x06\x40", 11);
				broadcast(fd, out, len);
				broadcast(fd, out, server_reply(out, req, 2, false, LEASE_ADDR, 0));
			}
		} else if (type[2] == 3) { /* REQUEST */
			bool good = option_is_addr(find_option(req, n, 50), LEASE_ADDR) &&
				    option_is_addr(find_option(req, n, 54), SERVER_ADDR);
			write(report_fd, good ? "R" : "r", 1);
			if (good && mode == SERVER_OFFER)
				broadcast(fd, out, server_reply(out, req, 5, false, LEASE_ADDR, 0));
		}
	}
}

/* A link named CLIENT_IF of kind: with "veth", a pair whose peer end
 * (SERVER_IF) is moved into the namespace of process peer_pid. 0, or
 * -errno (-EOPNOTSUPP: the kernel has no such driver). */
static int add_link(const char *kind, pid_t peer_pid)
{
	struct ifinfomsg link = { .ifi_family = AF_UNSPEC };
	struct rtnl_request req;
	uint32_t pid = peer_pid;
	int fd = rtnl_open();
	if (fd < 0)
		return fd;
	rtnl_request_init(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof(link));
	rtnl_request_attr(&req, IFLA_IFNAME, CLIENT_IF, sizeof(CLIENT_IF));
	struct rtattr *info = rtnl_request_attr(&req, IFLA_LINKINFO, NULL, 0);
	rtnl_request_attr(&req, IFLA_INFO_KIND, kind, strlen(kind) + 1);
	if (strcmp(kind, "veth") == 0) {
		struct rtattr *data = rtnl_request_attr(&req, IFLA_INFO_DATA, NULL, 0);
		struct rtattr *peer = rtnl_request_attr(&req, VETH_INFO_PEER, &link, sizeof(link));
		rtnl_request_attr(&req, IFLA_IFNAME, SERVER_IF, sizeof(SERVER_IF));
		rtnl_request_attr(&req, IFLA_NET_NS_PID, &pid, sizeof(pid));
		rtnl_request_close_nest(&req, peer);
		rtnl_request_close_nest(&req, data);
	}
	rtnl_request_close_nest(&req, info);
	int err = rtnl_transact(fd, &req);
	close(fd);
	return err;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static char *read_file(const char *path)
{
	static char buf[1024];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The IPv4 address, netmask and MTU of CLIENT_IF, as "ADDR/MASK mtu N". */
static const char *client_config(void)
{
	static char text[128];
	struct ifreq ifr = { .ifr_name = CLIENT_IF };
	char addr[INET_ADDRSTRLEN] = "-", mask[INET_ADDRSTRLEN] = "-";
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, addr,
			  sizeof(addr));
	if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr, mask,
			  sizeof(mask));
	int mtu = ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : -1;
	close(fd);
	snprintf(text, sizeof(text), "%s/%s mtu %d", addr, mask, mtu);
	return text;
}

/* The gateway of CLIENT_IF's default route from /proc/net/route, or "-". */
static const char *default_gateway(void)
{
	static char text[INET_ADDRSTRLEN];
	char line[256], iface[IFNAMSIZ];
	unsigned int dest, gateway;
	FILE *f = fopen("/proc/net/route", "r");
	strcpy(text, "-");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %x %x", iface, &dest, &gateway) == 3 && dest == 0 &&
		    strcmp(iface, CLIENT_IF) == 0)
			inet_ntop(AF_INET, &gateway, text, sizeof(text));
	}
	if (f)
		fclose(f);
	return text;
}

struct outcome {
	int ret; /* net_dhcp_configure()'s, or 0 through net_setup() */
	long long elapsed_ms;
	char seen[64]; /* what the server reported, in order */
};

/* One case, in fresh namespaces: the server in mode, the client through
 * net_setup() or else net_dhcp_configure(), writing resolv_conf. */
static struct outcome run_case(enum server_mode mode, bool through_setup, const char *resolv_conf)
{
	struct outcome o = { .ret = -1 };
	int up[2], go[2], report[2]; /* server to test, test to server, reports */
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET); this test needs root");
		exit(1);
	}
	if (pipe(up) || pipe(go) || pipe2(report, O_NONBLOCK))
		exit(1);
	pid_t server = fork();
	char byte;
	if (server == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(2);
		write(up[1], "", 1);	 /* in its namespace */
		read(go[0], &byte, 1); /* the test made the pair */
		serve(mode, up[1], report[1]);
	}
	CHECK(read(up[0], &byte, 1) == 1);
	CHECK_EQ_INT(add_link("veth", server), 0);
	/* where a server answers, the client's end is up already (see
	 * wait_running()); without one, the client must bring it up */
	if (mode != SERVER_SILENT) {
		int nl = rtnl_open();
		CHECK_EQ_INT(rtnl_link_up(nl, if_nametoindex(CLIENT_IF), 0), 0);
		close(nl);
	}
	write(go[1], "", 1);
	CHECK(read(up[0], &byte, 1) == 1); /* serving */

	struct net_options opts = { .resolv_conf = resolv_conf };
	long long start = now_ms();
	if (through_setup) {
		net_setup(CLIENT_IF, &opts);
		o.ret = 0;
	} else {
		bool written = false;
		o.ret = net_dhcp_configure(CLIENT_IF, &opts, &written);
		CHECK_EQ_INT(written, o.ret == 0);
	}
	o.elapsed_ms = now_ms() - start;
	ssize_t n = read(report[0], o.seen, sizeof(o.seen) - 1);
	o.seen[n > 0 ? n : 0] = '\0';

	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	for (int i = 0; i < 2; i++) {
		close(up[i]);
		close(go[i]);
		close(report[i]);
	}
	return o;
}

static const char expected_resolv_conf[] = "# from DHCP on " CLIENT_IF ", written by init.krun\n"
					   "nameserver 10.0.2.3\n"
					   "nameserver 1.1.1.1\n"
					   "search test.example\n";

static void check_lease_applied(const char *resolv_conf)
{
	CHECK(strcmp(client_config(), LEASE_ADDR "/255.255.255.0 mtu 1400") == 0);
	CHECK(strcmp(default_gateway(), SERVER_ADDR) == 0);
	CHECK(strcmp(read_file(resolv_conf), expected_resolv_conf) == 0);
	fprintf(stderr, "client: %s via %s\n", client_config(), default_gateway());
}

static void test_rapid_commit(const char *resolv_conf)
{
	struct outcome o = run_case(SERVER_RAPID, true, resolv_conf);
	fprintf(stderr, "rapid commit: %lld ms, server saw \"%s\"\n", o.elapsed_ms, o.seen);
	check_lease_applied(resolv_conf);
	/* one DISCOVER, which asked for rapid commit, and no REQUEST */
	CHECK(strcmp(o.seen, "d") == 0);
	CHECK(o.elapsed_ms < 1000);
	/* lo came up too */
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));
	close(fd);
}

static void test_offer_request(const char *resolv_conf)
{
	struct outcome o = run_case(SERVER_OFFER, false, resolv_conf);
	fprintf(stderr, "offer/request: %d, %lld ms, server saw \"%s\"\n", o.ret, o.elapsed_ms,
		o.seen);
	CHECK_EQ_INT(o.ret, 0);
	/* the decoys were ignored: the lease is the real offer's */
	check_lease_applied(resolv_conf);
	CHECK(strcmp(o.seen, "dR") == 0);
	CHECK(o.elapsed_ms < 1000);
}

static void test_no_server(const char *resolv_conf)
{
	int fd = open(resolv_conf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	write(fd, "untouched\n", 10);
	close(fd);
	struct outcome o = run_case(SERVER_SILENT, false, resolv_conf);
	fprintf(stderr, "no server: %d, %lld ms, server saw \"%s\"\n", o.ret, o.elapsed_ms, o.seen);
	CHECK_EQ_INT(o.ret, -ETIMEDOUT);
	/* the bound, with room for a loaded machine; resent meanwhile, the
	 * first time on a link the client brought up itself */
	CHECK(o.elapsed_ms >= DHCP_TIMEOUT_MS && o.elapsed_ms < DHCP_TIMEOUT_MS + 500);
	CHECK(strlen(o.seen) >= 4 && strspn(o.seen, "d") == strlen(o.seen));
	CHECK(strncmp(client_config(), "-/-", 3) == 0);
	CHECK(strcmp(default_gateway(), "-") == 0);
	CHECK(strcmp(read_file(resolv_conf), "untouched\n") == 0);
}

/* TSI's network presence (tsi_net.c), in a fresh namespace each: with the
 * switch saying inet, the dummy link gets 10.0.2.15/24 and the default
 * route, and resolv.conf the host's name servers; without, nothing. */
static void test_tsi_presence(void)
{
	char hijack[] = "/tmp/test-init-tsi-hijack-XXXXXX";
	char resolv_conf[] = "/tmp/test-init-tsi-resolv-XXXXXX";
	int fd = mkstemp(hijack);
	CHECK(fd >= 0 && mkstemp(resolv_conf) >= 0);
	unlink(resolv_conf); /* a root without one */
	const struct tsi_net_options opts = { .hijack = hijack, .iface = CLIENT_IF,
					      .resolv_conf = resolv_conf };

	for (int on = 0; on < 2; on++) {
		if (unshare(CLONE_NEWNET)) {
			perror("unshare(CLONE_NEWNET); this test needs root");
			exit(1);
		}
		/* as dummy0; a veth pair's end where this host's kernel lacks the
		 * dummy driver */
		int made = add_link("dummy", 0);
		if (made == -EOPNOTSUPP)
			made = add_link("veth", getpid());
		CHECK_EQ_INT(made, 0);
		CHECK_EQ_INT(pwrite(fd, on ? "inet\n" : "unix\n", 5, 0), 5);
		tsi_net_setup("192.0.2.53,2001:db8::53", &opts);
		if (!on) {
			CHECK(strcmp(client_config(), "-/- mtu 1500") == 0);
			CHECK(strcmp(default_gateway(), "-") == 0);
			CHECK_EQ_INT(access(resolv_conf, F_OK), -1);
			continue;
		}
		CHECK(strcmp(client_config(), TSI_NET_ADDR "/255.255.255.0 mtu 1500") == 0);
		CHECK(strcmp(default_gateway(), TSI_NET_GATEWAY) == 0);
		CHECK(strcmp(read_file(resolv_conf),
			     "# the host's name servers (TSI), written by init.krun\n"
			     "nameserver 192.0.2.53\nnameserver 2001:db8::53\n") == 0);
		fprintf(stderr, "TSI: %s via %s\n", client_config(), default_gateway());
	}
	close(fd);
	unlink(hijack);
	unlink(resolv_conf);
}

int main(void)
{
	char resolv_conf[] = "/tmp/test-init-dhcp-resolv-XXXXXX";
	int fd = mkstemp(resolv_conf);
	if (fd < 0)
		return 1;
	close(fd);
	signal(SIGPIPE, SIG_IGN);

	test_rapid_commit(resolv_conf);
	test_offer_request(resolv_conf);
	test_no_server(resolv_conf);
	unlink(resolv_conf);
	test_tsi_presence();
	return CHECK_DONE();
}
