/* The kernel command line: libkrun's layout, the quoting rules, the 2048-byte
 * limit, and that a refused part leaves the line as it was. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "vmm/cmdline.h"

#define PREFIX \
	"reboot=k panic=-1 panic_print=0 console=hvc0 rootfstype=virtiofs rw quiet no-kvmapf"

static void test_layout(void)
{
	static struct cmdline cl;
	char *argv[] = { "/bin/sh", "-c", "echo hi there", "", NULL };

	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, true), 0);
	CHECK_EQ_INT(cmdline_add_env(&cl, "KRUN_INIT", "/bin/sh"), 0);
	CHECK_EQ_INT(cmdline_add_environ(&cl, "PATH=/usr/bin:/bin"), 0);
	CHECK_EQ_INT(cmdline_add_environ(&cl, "EMPTY="), 0);
	CHECK_EQ_INT(cmdline_add_environ(&cl, "EQ=a=b c"), 0);
	CHECK_EQ_INT(cmdline_add_mmio_device(&cl, 0xd0000000, 5), 0);
	CHECK_EQ_INT(cmdline_add_mmio_device(&cl, 0xd0001000, 6), 0);
	CHECK_EQ_INT(cmdline_add_args(&cl, argv), 0);
	CHECK(strcmp(cl.buf, PREFIX " init=/init.krun KRUN_INIT=\"/bin/sh\" "
			     "PATH=\"/usr/bin:/bin\" EMPTY=\"\" EQ=\"a=b c\" "
			     "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 "
			     "-- \"/bin/sh\" \"-c\" \"echo hi there\" \"\"") == 0);
	CHECK_EQ_INT(cl.len, strlen(cl.buf));

	/* no init on the line unless asked for; an empty argv still ends in "--" */
	char *no_args[] = { NULL };
	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, false), 0);
	CHECK_EQ_INT(cmdline_add_args(&cl, no_args), 0);
	CHECK(strcmp(cl.buf, PREFIX " --") == 0);
}

/* A client's command line replaces the prefix; devices are still added. */
static void test_override(void)
{
	static struct cmdline cl;

	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_raw(&cl, "console=ttyS0 root=/dev/vda"), 0);
	CHECK_EQ_INT(cmdline_add_mmio_device(&cl, 0xd0000000, 5), 0);
	CHECK(strcmp(cl.buf, "console=ttyS0 root=/dev/vda virtio_mmio.device=4K@0xd0000000:5") == 0);

	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_raw(&cl, ""), 0);
	CHECK_EQ_INT(cmdline_add_mmio_device(&cl, 0xd000a000, 15), 0);
	CHECK(strcmp(cl.buf, "virtio_mmio.device=4K@0xd000a000:15") == 0);
}

/* Every refusal leaves buf and len as they were and says why. */
#define CHECK_REFUSED(cl, call, err) \
	do { \
		char before_[CMDLINE_SIZE]; \
		size_t len_ = (cl)->len; \
		memcpy(before_, (cl)->buf, len_ + 1); \
		(cl)->reason[0] = '\0'; \
		CHECK_EQ_INT(call, err); \
		CHECK_EQ_INT((cl)->len, len_); \
		CHECK(strcmp((cl)->buf, before_) == 0); \
		CHECK((cl)->reason[0] != '\0'); \
	} while (0)

static void test_invalid(void)
{
	static struct cmdline cl;
	char *quote_argv[] = { "ok", "say \"hi\"", NULL };
	char *dashes_argv[] = { "ls", "--", "file", NULL };

	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, false), 0);
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "", "v"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "A B", "v"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "A\"B", "v"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "A\xa0", "v"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "A", "say \"hi\""), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_environ(&cl, "NOEQUALS"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_environ(&cl, "=value"), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_args(&cl, quote_argv), -EINVAL);
	CHECK_REFUSED(&cl, cmdline_add_args(&cl, dashes_argv), -EINVAL);
}

static void test_limit(void)
{
	static struct cmdline cl;
	static char text[CMDLINE_SIZE + 1];

	/* 2047 characters and the NUL fill the guest's 2048 bytes exactly */
	memset(text, 'a', CMDLINE_SIZE - 1);
	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_raw(&cl, text), 0);
	CHECK_EQ_INT(cl.len, CMDLINE_SIZE - 1);
	CHECK_REFUSED(&cl, cmdline_add_mmio_device(&cl, 0xd0000000, 5), -E2BIG);
	CHECK(strstr(cl.reason, "2048") != NULL);

	text[CMDLINE_SIZE - 1] = 'a';
	cmdline_init(&cl);
	CHECK_REFUSED(&cl, cmdline_add_raw(&cl, text), -E2BIG);
	CHECK_EQ_INT(cl.len, 0);

	/* a value that just fits after the prefix, then one byte more */
	size_t room = CMDLINE_SIZE - 1 - strlen(PREFIX) - strlen(" K=\"\"");
	char value[CMDLINE_SIZE];
	memset(value, 'v', room);
	value[room] = '\0';
	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, false), 0);
	CHECK_EQ_INT(cmdline_add_env(&cl, "K", value), 0);
	CHECK_EQ_INT(cl.len, CMDLINE_SIZE - 1);
	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, false), 0);
	value[room] = 'v';
	value[room + 1] = '\0';
	CHECK_REFUSED(&cl, cmdline_add_env(&cl, "K", value), -E2BIG);
	CHECK(strcmp(cl.buf, PREFIX) == 0);

	/* arguments go in whole or not at all */
	char *argv[] = { "first", value, NULL };
	CHECK_REFUSED(&cl, cmdline_add_args(&cl, argv), -E2BIG);

	/* devices until the line is full: the last one refused, none cut short */
	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, true), 0);
	int ret = 0;
	unsigned int added = 0;
	while ((ret = cmdline_add_mmio_device(&cl, 0xd0000000 + added * 0x1000ull, 5)) == 0)
		added++;
	CHECK_EQ_INT(ret, -E2BIG);
	CHECK(added > 40);
	CHECK(cl.len < CMDLINE_SIZE);
	CHECK(cl.len + strlen(" virtio_mmio.device=4K@0xd0000000:5") >= CMDLINE_SIZE);
	CHECK(strstr(cl.buf + cl.len - 5, ":5") != NULL);
}

/* krun_set_kernel_console's word comes after the prefix, which it
 * overrides (the kernel's last console= is /dev/console). */
static void test_console(void)
{
	static struct cmdline cl;

	cmdline_init(&cl);
	CHECK_EQ_INT(cmdline_add_prefix(&cl, false), 0);
	CHECK_EQ_INT(cmdline_add_console(&cl, "ttyS0"), 0);
	CHECK(strcmp(cl.buf, PREFIX " console=ttyS0") == 0);
}

int main(void)
{
	test_layout();
	test_console();
	test_override();
	test_invalid();
	test_limit();
	return CHECK_DONE();
}
