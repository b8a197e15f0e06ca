/* A libkrun.h client that asks its guest to shut down:
 *
 *   shutdown-client ROOT READY CMD [ARG...]
 *
 * runs CMD in a VM whose root is the host directory ROOT, takes
 * krun_get_shutdown_eventfd before the start, and from a thread of its own
 * writes the eventfd once the workload has made ROOT/READY (a file the
 * guest writes through the root share), printing "shutdown asked" with the
 * time. The process ends as the VM does, with the workload's status. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libkrun.h>

static char ready_path[4096];
static int shutdown_fd;

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "shutdown-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

static void *ask_when_ready(void *arg)
{
	uint64_t one = 1;
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };

	(void)arg;
	while (access(ready_path, F_OK) != 0)
		nanosleep(&tick, NULL);
	if (write(shutdown_fd, &one, sizeof(one)) != sizeof(one)) {
		perror("shutdown-client: writing the shutdown eventfd");
		exit(98);
	}
	fprintf(stderr, "shutdown asked at %lld\n", (long long)time(NULL));
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;

	if (argc < 4) {
		fprintf(stderr, "usage: shutdown-client ROOT READY CMD [ARG...]\n");
		return 2;
	}
	snprintf(ready_path, sizeof(ready_path), "%s/%s", argv[1], argv[2]);
	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	check(krun_set_log_level(KRUN_LOG_LEVEL_WARN), "krun_set_log_level");
	check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	check(krun_set_root(ctx, argv[1]), "krun_set_root");
	const char *env[] = { "PATH=/bin", NULL };
	check(krun_set_exec(ctx, argv[3], (const char *const *)argv + 4, env), "krun_set_exec");
	shutdown_fd = krun_get_shutdown_eventfd(ctx);
	check(shutdown_fd, "krun_get_shutdown_eventfd");
	if (pthread_create(&thread, NULL, ask_when_ready, NULL)) {
		fprintf(stderr, "shutdown-client: cannot start its thread\n");
		return 97;
	}
	check(krun_start_enter(ctx), "krun_start_enter");
	return 96; /* krun_start_enter returns only on failure */
}
