/* netbench-host: the host's side of bench/net.sh. Listens on TCP port
 * NETBENCH_PORT of every address (the loopback, where user networking and
 * passt take the guest's connections, and a tap's address), starts the VMM
 * command given, and serves the guest's netbench (netbench.h), one
 * connection at a time, until the command ends; then ends with its status.
 * For each transfer it prints the wall time and the host CPU time (user +
 * system) that the VMM command's process tree used meanwhile: the VMM, and
 * passt, which the VMM or the command starts, read from /proc. One
 * thread; every socket operation times out after a minute, so a guest that
 * stops cannot hang the bench.
 *
 *   netbench-host CMD [ARG...] */
#include <arpa/inet.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netbench.h"

#define MAX_PROCS 4096

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds (user + system, all threads) of this process's descendants:
 * the VMM command and whatever it started, passt included even when it
 * forked into a PID namespace of its own and left its parent (this process
 * is their subreaper). */
static double tree_cpu(void)
{
	static struct {
		pid_t pid, ppid;
		double cpu;
		int in_tree;
	} p[MAX_PROCS];
	size_t n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	double ticks = (double)sysconf(_SC_CLK_TCK), total = 0;
	pid_t self = getpid();

	while (d && n < MAX_PROCS && (e = readdir(d))) {
		char path[300], line[1024], *end;
		unsigned long long utime, stime;
		int ppid;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		size_t len = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[len] = '\0';
		/* after the command's name, which may hold anything: fields 3 on */
		if (!(end = strrchr(line, ')')) ||
		    sscanf(end + 1, " %*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ppid,
			   &utime, &stime) != 3)
			continue;
		p[n].pid = atoi(e->d_name);
		p[n].ppid = ppid;
		p[n].cpu = (double)(utime + stime) / ticks;
		p[n].in_tree = p[n].ppid == self;
		n++;
	}
	if (d)
		closedir(d);
	/* parents before children is not guaranteed: until nothing changes */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < n && !p[i].in_tree; j++) {
				if (p[j].in_tree && p[j].pid == p[i].ppid)
					p[i].in_tree = changed = 1;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		total += p[i].in_tree ? p[i].cpu : 0;
	return total;
}

static int io_all(int s, void *p, size_t n, int sending)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = sending ? write(s, (char *)p + done, n - done)
				    : read(s, (char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* One 'W' or 'R' of bytes: timed from its header to its last byte or the
 * guest's answer, with the VMM tree's CPU time. */
static int transfer(int s, int to_host, uint64_t bytes)
{
	static char buf[65536];
	double cpu = tree_cpu(), start = now();
	char ack = 0;

	for (uint64_t left = bytes; left > 0;) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if (to_host) {
			ssize_t r = read(s, buf, n);
			if (r <= 0)
				return -1;
			n = (size_t)r;
		} else if (io_all(s, buf, n, 1) < 0) {
			return -1;
		}
		left -= n;
	}
	if (io_all(s, &ack, 1, to_host) < 0)
		return -1;
	double secs = now() - start;
	cpu = tree_cpu() - cpu;
	printf("netbench-host: %s %llu MiB in %.3f s: %.1f MiB/s, VMM CPU %.2f s: %.2f s per GiB\n",
	       to_host ? "guest to host" : "host to guest", (unsigned long long)(bytes >> 20), secs,
	       (double)bytes / (1 << 20) / secs, cpu, cpu / ((double)bytes / (1 << 30)));
	return 0;
}

static int echo(int s, uint64_t rounds)
{
	char c;

	for (uint64_t i = 0; i < rounds; i++)
		if (io_all(s, &c, 1, 0) < 0 || io_all(s, &c, 1, 1) < 0)
			return -1;
	return 0;
}

/* One connection: its operation. *to_close: connections to close at once. */
static void serve(int s, uint64_t *to_close)
{
	uint8_t header[NETBENCH_HEADER];
	const struct timeval minute = { .tv_sec = 60 };
	uint64_t count;
	int one = 1, ret = -1;

	if (*to_close > 0) {
		(*to_close)--;
		close(s);
		return;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &minute, sizeof(minute));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &minute, sizeof(minute));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (io_all(s, header, sizeof(header), 0) == 0) {
		memcpy(&count, header + 1, sizeof(count));
		count = be64toh(count);
		if ((header[0] == 'W' || header[0] == 'R') && count <= NETBENCH_MAX_BYTES)
			ret = transfer(s, header[0] == 'W', count);
		else if (header[0] == 'P')
			ret = echo(s, count);
		else if (header[0] == 'C')
			*to_close = count, ret = io_all(s, "", 1, 1);
	}
	if (ret < 0)
		fprintf(stderr, "netbench-host: a connection failed (operation '%c'): %s\n",
			header[0], strerror(errno));
	close(s);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(NETBENCH_PORT) };
	int one = 1, status;
	uint64_t to_close = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: netbench-host CMD [ARG...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 64) < 0) {
		perror("netbench-host: cannot listen");
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t vmm = fork();
	if (vmm == 0) {
		execvp(argv[1], argv + 1);
		perror("netbench-host: cannot run the command");
		_exit(127);
	}
	if (vmm < 0) {
		perror("netbench-host: fork");
		return 1;
	}
	while (waitpid(vmm, &status, WNOHANG) == 0) {
		if (poll(&(struct pollfd){ .fd = l, .events = POLLIN }, 1, 200) <= 0)
			continue;
		int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (s >= 0)
			serve(s, &to_close);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
