#include "shutdown.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The port's host side is closed until the VMM's open message arrives,
 * and would read as end of file at every poll: look at it this often. */
#define PORT_CLOSED_RETRY_MS 100

static void on_sigchld(int signo)
{
	(void)signo; /* only to interrupt ppoll */
}

int shutdown_wait_prepare(sigset_t *old)
{
	struct sigaction sa = { .sa_handler = on_sigchld };
	sigset_t chld;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, old))
		return -1;
	return sigaction(SIGCHLD, &sa, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether the port asked for the shutdown: bytes read. *closed: it read
 * as ended (its host side closed), to be looked at again later. */
static bool shutdown_requested(int fd, bool *closed)
{
	char buf[64];
	bool asked = false;
	ssize_t n;

	*closed = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		asked = true;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		*closed = true;
	return asked;
}

int shutdown_wait(pid_t pid, int shutdown_fd, int grace_ms)
{
	long long kill_at = 0; /* when SIGKILL is due; 0 until SIGTERM is sent */
	bool killed = false, port_closed = false;
	sigset_t unblocked;
	int wstatus;

	sigprocmask(SIG_BLOCK, NULL, &unblocked);
	sigdelset(&unblocked, SIGCHLD);
	for (;;) {
		pid_t reaped;

		while ((reaped = waitpid(-1, &wstatus, WNOHANG)) > 0) {
			if (reaped == pid)
				return wstatus;
		}
		if (reaped < 0 && errno == ECHILD)
			return -1;

		/* How long to sleep: until SIGKILL is due, or the closed
		 * port's next look; else until a child exits or the port
		 * speaks. */
		long long timeout = -1;
		if (kill_at && !killed)
			timeout = kill_at - now_ms() > 0 ? kill_at - now_ms() : 0;
		bool watch = shutdown_fd >= 0 && !kill_at;
		if (watch && port_closed && (timeout < 0 || timeout > PORT_CLOSED_RETRY_MS))
			timeout = PORT_CLOSED_RETRY_MS;
		struct timespec ts = { .tv_sec = timeout / 1000, .tv_nsec = timeout % 1000 * 1000000 };
		struct pollfd pfd = { .fd = shutdown_fd, .events = POLLIN };
		int ready = ppoll(&pfd, watch && !port_closed, timeout >= 0 ? &ts : NULL, &unblocked);

		if (watch && (port_closed || (ready > 0 && pfd.revents))) {
			if (shutdown_requested(shutdown_fd, &port_closed)) {
				/* the workload's own handler decides what SIGTERM means */
				kill(pid, SIGTERM);
				kill_at = now_ms() + grace_ms;
				if (kill_at == 0)
					kill_at = 1;
			}
		}
		if (kill_at && !killed && now_ms() >= kill_at) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
}
