/* PID 1 of the boot tests' initramfs: reports what the guest sees, then
 * hands the VMM the exit status named by TEST_STATUS through the control
 * port and reboots. Static, so the initramfs needs nothing else. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "guest_abi.h"

static long meminfo_kib(const char *key)
{
	char line[256];
	long value = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0)
			value = strtol(line + strlen(key), NULL, 10);
	}
	if (f)
		fclose(f);
	return value;
}

/* Interrupts the virtio devices delivered so far, on all CPUs: the console
 * raises one for each line it took, so 0 means its line is not wired. */
static long virtio_interrupts(void)
{
	char line[1024];
	long total = 0;
	FILE *f = fopen("/proc/interrupts", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "virtio") || !strchr(line, ':'))
			continue;
		char *p = strchr(line, ':') + 1, *end;
		for (long count; (count = strtol(p, &end, 10)), end != p; p = end)
			total += count;
	}
	if (f)
		fclose(f);
	return total;
}

int main(int argc, char **argv, char **envp)
{
	/* first thing: time to the workload's first instruction */
	if (ioperm(KRUN_CTL_PORT, KRUN_CTL_PORT_SIZE, 1) == 0)
		outb(1, KRUN_CTL_BOOT_MARKER);

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sys", "/sys", "sysfs", 0, NULL);
	/* the initramfs has no /dev/console, so the kernel gave us no stdio */
	int fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}

	struct utsname u;
	uname(&u);
	printf("INIT kernel=%s\n", u.release);
	printf("INIT cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("INIT mem_kib=%ld\n", meminfo_kib("MemTotal:"));
	printf("INIT pid=%d\n", getpid());
	for (int i = 0; i < argc; i++)
		printf("INIT argv[%d]=%s\n", i, argv[i]);
	for (char **e = envp; *e; e++) {
		if (strncmp(*e, "KRUN_", 5) == 0 || strncmp(*e, "TEST_", 5) == 0)
			printf("INIT env %s\n", *e);
	}
	fflush(stdout);
	printf("INIT virtio_interrupts=%ld\n", virtio_interrupts());
	const char *status = getenv("TEST_STATUS");
	int code = status ? atoi(status) : 0;
	printf("INIT exiting with %d\n", code);
	fflush(stdout);
	outl(code, KRUN_CTL_EXIT_STATUS);
	sync();
	reboot(RB_AUTOBOOT);
	return 1;
}
