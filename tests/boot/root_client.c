/* A plain libkrun.h client with a host directory as the guest's root.
 *
 *   root-client crun ROOT    crun's sequence (crun 1.28+): only a root share,
 *                            VM size and start; the workload comes from the
 *                            root's /.krun_config.json
 *   root-client exec ROOT    the workload through the API: exec, arguments,
 *                            environment, working directory, rlimits
 *
 * The process ends with the workload's status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkrun.h>

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "root-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "crun") && strcmp(argv[1], "exec"))) {
		fprintf(stderr, "usage: root-client crun|exec ROOT\n");
		return 2;
	}
	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	check(krun_set_log_level(KRUN_LOG_LEVEL_WARN), "krun_set_log_level");
	if (!strcmp(argv[1], "crun")) {
		check(krun_add_virtiofs2(ctx, "/dev/root", argv[2], 512ull << 20), "krun_add_virtiofs2");
		check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	} else {
		const char *const args[] = { "-c",
			"echo \"nofile=$(ulimit -n) pwd=$(pwd) mood=$MOOD\"; echo \"it's \\\"quoted\\\"\"; exit 42",
			NULL };
		const char *const env[] = { "MOOD=fine", "PATH=/bin:/usr/bin", NULL };
		const char *const rlimits[] = { "7=321:654", NULL };
		check(krun_set_vm_config(ctx, 2, 256), "krun_set_vm_config");
		check(krun_set_root(ctx, argv[2]), "krun_set_root");
		check(krun_set_workdir(ctx, "/tmp"), "krun_set_workdir");
		check(krun_set_rlimits(ctx, rlimits), "krun_set_rlimits");
		check(krun_set_exec(ctx, "/bin/sh", args, env), "krun_set_exec");
	}
	int ret = krun_start_enter(ctx);
	fprintf(stderr, "root-client: krun_start_enter returned %d (%s)\n", ret, strerror(-ret));
	return 98;
}
