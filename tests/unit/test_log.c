/* The log: a line per message, and errno as the caller left it, whatever
 * the log's fd is (a pipe makes isatty() fail with ENOTTY). */
#include "base/log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
	char buf[256];
	int fds[2];
	ssize_t n;

	CHECK_EQ_INT(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_set_level(LOG_INFO);

	errno = EACCES;
	log_msg(LOG_ERROR, "cannot open %s: %s", "/dev/kvm", strerror(errno));
	CHECK_EQ_INT(errno, EACCES);
	n = read(fds[0], buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strstr(buf, "error") != NULL);
	CHECK(strstr(buf, "cannot open /dev/kvm: Permission denied\n") != NULL);

	/* a write that fails (the reader is gone) leaves errno alone too */
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = ENODEV;
	log_msg(LOG_WARN, "nobody reads this");
	CHECK_EQ_INT(errno, ENODEV);

	/* below the level: nothing written, errno kept */
	errno = EPERM;
	log_msg(LOG_DEBUG, "too detailed");
	CHECK_EQ_INT(errno, EPERM);
	close(fds[1]);
	return CHECK_DONE();
}
