/* A plain client of libkrun.h, as a program written against libkrun would
 * be: boots a kernel (and initramfs) given on the command line through
 * krun_set_kernel, or the bundled libkrunfw kernel when KERNEL is "-".
 *
 *   boot-client VCPUS RAM_MIB KERNEL [INITRAMFS STATUS [CONSOLE_FILE]]
 *
 * With CONSOLE_FILE the guest's console goes there (krun_set_console_output).
 * With BOOT_CLIENT_SPLIT_IRQCHIP=1 in the environment, the VM gets a split
 * irqchip (krun_split_irqchip); with BOOT_CLIENT_RAW_KERNEL=1, KERNEL is a
 * flat image (KRUN_KERNEL_FORMAT_RAW) rather than an ELF vmlinux.
 * The process ends with the guest's status; it returns only on a start error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkrun.h>

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "boot-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 6 && argc != 7) {
		fprintf(stderr, "usage: boot-client VCPUS RAM_MIB KERNEL [INITRAMFS STATUS [CONSOLE_FILE]]\n");
		return 2;
	}
	char status_env[64];
	snprintf(status_env, sizeof(status_env), "TEST_STATUS=%s", argc >= 6 ? argv[5] : "0");
	const char *const args[] = { "first", "second arg", NULL };
	const char *const env[] = { status_env, "TEST_GREETING=hello", NULL };

	check(krun_set_log_level(KRUN_LOG_LEVEL_INFO), "krun_set_log_level");
	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	check(krun_set_vm_config(ctx, atoi(argv[1]), atoi(argv[2])), "krun_set_vm_config");
	const char *raw = getenv("BOOT_CLIENT_RAW_KERNEL");
	uint32_t format = raw && !strcmp(raw, "1") ? KRUN_KERNEL_FORMAT_RAW : KRUN_KERNEL_FORMAT_ELF;
	if (strcmp(argv[3], "-") != 0)
		check(krun_set_kernel(ctx, argv[3], format, argc >= 6 ? argv[4] : NULL, NULL),
		      "krun_set_kernel");
	if (argc == 7)
		check(krun_set_console_output(ctx, argv[6]), "krun_set_console_output");
	check(krun_set_nested_virt(ctx, false), "krun_set_nested_virt");
	const char *split = getenv("BOOT_CLIENT_SPLIT_IRQCHIP");
	if (split && strcmp(split, "1") == 0)
		check(krun_split_irqchip(ctx, true), "krun_split_irqchip");
	check(krun_set_exec(ctx, "/init", args, env), "krun_set_exec");
	int ret = krun_start_enter(ctx);
	fprintf(stderr, "boot-client: krun_start_enter returned %d (%s)\n", ret, strerror(-ret));
	return 98;
}
