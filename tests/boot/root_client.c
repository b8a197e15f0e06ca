/* A plain libkrun.h client with a host directory as the guest's root.
 *
 *   root-client crun ROOT    crun's sequence (crun 1.28+): only a root share,
 *                            VM size and start; the workload comes from the
 *                            root's /.krun_config.json
 *   root-client exec ROOT    the workload through the API: exec, arguments,
 *                            environment, working directory, rlimits
 *   root-client console ROOT IN OUT ERR
 *                            no implicit console; one added with
 *                            krun_add_virtio_console_default on the files
 *                            IN, OUT and ERR: the workload echoes its input
 *                            line to stdout and writes to stderr
 *   root-client ro-share ROOT DIR
 *                            DIR as a second, read-only share (tag "ro",
 *                            krun_add_virtiofs3): the workload mounts it,
 *                            reads its "file", and tries to change it
 *   root-client own-init ROOT UID GID
 *                            the root brings its own init: the library's
 *                            (krun_get_default_init) is written to
 *                            ROOT/init.krun and the implicit one disabled;
 *                            the VMM becomes UID:GID (krun_setuid,
 *                            krun_setgid) before the guest starts, and the
 *                            environment comes from krun_set_env; the
 *                            workload creates /tmp/by-dropped-vmm
 *
 * ROOT_CLIENT_DEBUG=1 in the environment: the library's debug log.
 * The process ends with the workload's status. */
#include <fcntl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libkrun.h>

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "root-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

/* ROOT/init.krun: the library's own init, as a root that brings one has. */
static void write_init(const char *root)
{
	const uint8_t *init;
	size_t len;
	char path[4096];

	check(krun_get_default_init(&init, &len), "krun_get_default_init");
	snprintf(path, sizeof(path), "%s/init.krun", root);
	FILE *f = fopen(path, "wb");
	check(f && fwrite(init, 1, len, f) == len && !fclose(f) ? 0 : -EIO, "writing init.krun");
	check(chmod(path, 0755) ? -errno : 0, "chmod init.krun");
}

int main(int argc, char **argv)
{
	bool console = argc == 6 && !strcmp(argv[1], "console");
	bool ro_share = argc == 4 && !strcmp(argv[1], "ro-share");
	bool own_init = argc == 5 && !strcmp(argv[1], "own-init");
	if (!console && !ro_share && !own_init &&
	    (argc != 3 || (strcmp(argv[1], "crun") && strcmp(argv[1], "exec")))) {
		fprintf(stderr, "usage: root-client crun|exec ROOT | console ROOT IN OUT ERR |"
				" ro-share ROOT DIR | own-init ROOT UID GID\n");
		return 2;
	}
	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	const char *debug = getenv("ROOT_CLIENT_DEBUG");
	check(krun_set_log_level(debug && !strcmp(debug, "1") ? KRUN_LOG_LEVEL_DEBUG
							     : KRUN_LOG_LEVEL_WARN),
	      "krun_set_log_level");
	if (!strcmp(argv[1], "crun")) {
		check(krun_add_virtiofs2(ctx, "/dev/root", argv[2], 512ull << 20), "krun_add_virtiofs2");
		check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	} else if (ro_share) {
		const char *const args[] = { "-c",
			"mkdir -p /mnt && mount -t virtiofs ro /mnt && cat /mnt/file;"
			" echo changed >/mnt/file || echo refused-write;"
			" touch /mnt/new || echo refused-create; rm /mnt/file || echo refused-unlink",
			NULL };
		check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
		check(krun_set_root(ctx, argv[2]), "krun_set_root");
		check(krun_add_virtiofs3(ctx, "ro", argv[3], 0, true), "krun_add_virtiofs3");
		check(krun_set_exec(ctx, "/bin/sh", args, NULL), "krun_set_exec");
	} else if (own_init) {
		/* on the kernel command line, as the root's own init reads
		 * it: no double quotes */
		const char *const args[] = { "-c",
			"echo env=$SET_BY_ENV; echo made >/tmp/by-dropped-vmm; exit 5", NULL };
		const char *const env[] = { "SET_BY_ENV=yes", "PATH=/bin", NULL };
		write_init(argv[2]);
		check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
		check(krun_set_root(ctx, argv[2]), "krun_set_root");
		check(krun_disable_implicit_init(ctx), "krun_disable_implicit_init");
		check(krun_setgid(ctx, (gid_t)atoi(argv[4])), "krun_setgid");
		check(krun_setuid(ctx, (uid_t)atoi(argv[3])), "krun_setuid");
		check(krun_set_exec(ctx, "/bin/sh", args, NULL), "krun_set_exec");
		check(krun_set_env(ctx, env), "krun_set_env");
	} else if (console) {
		const char *const args[] = { "-c",
			"read -r line; echo \"out: $line\"; echo \"err: to the error file\" >&2; exit 4",
			NULL };
		int in = open(argv[3], O_RDONLY | O_CLOEXEC);
		int out = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int err = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		check(in < 0 || out < 0 || err < 0 ? -errno : 0, "opening the console files");
		check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
		check(krun_set_root(ctx, argv[2]), "krun_set_root");
		check(krun_disable_implicit_console(ctx), "krun_disable_implicit_console");
		check(krun_add_virtio_console_default(ctx, in, out, err),
		      "krun_add_virtio_console_default");
		check(krun_set_exec(ctx, "/bin/sh", args, NULL), "krun_set_exec");
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
