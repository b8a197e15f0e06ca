#include "guest_main.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int bench_fail(const char *what)
{
	printf("%s: %s: %s\n", bench_name, what, strerror(errno));
	return 1;
}

double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* PID 1 in QEMU's guest: /dev (a disk's node, the console) of its own. */
static void make_dev(void)
{
	mkdir("/dev", 0755);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		make_dev();
	setvbuf(stdout, NULL, _IOLBF, 0);
	int status = bench_run(argc, argv);
	if (getpid() != 1)
		return status;
	printf("%s: exit status %d\n", bench_name, status);
	sync();
	reboot(RB_AUTOBOOT); /* QEMU runs with -no-reboot: it exits */
	return status;
}
