#include "vmm/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guest_abi.h"

/* libkrun's prefix less "nomodule": a kernel without module support does not
 * know that word and would pass it to init as an argument. */
#define CMDLINE_PREFIX \
	"reboot=k panic=-1 panic_print=0 console=hvc0 rootfstype=virtiofs rw quiet no-kvmapf"
#define CMDLINE_INIT "init=" KRUN_INIT_PATH

void cmdline_init(struct cmdline *cl)
{
	cl->len = 0;
	cl->buf[0] = '\0';
	cl->reason[0] = '\0';
}

/* Undo everything appended since saved_len and record why. */
__attribute__((format(printf, 4, 5))) static int refuse(struct cmdline *cl, size_t saved_len,
							 int err, const char *fmt, ...)
{
	va_list ap;

	cl->len = saved_len;
	cl->buf[saved_len] = '\0';
	va_start(ap, fmt);
	vsnprintf(cl->reason, sizeof(cl->reason), fmt, ap);
	va_end(ap);
	return err;
}

#define TOO_LONG(cl, saved_len, what, ...) \
	refuse(cl, saved_len, -E2BIG, \
	       "the guest's command line holds %d bytes, no room for " what, CMDLINE_SIZE, \
	       __VA_ARGS__)

/* Append one word, a space after what precedes it; false when it does not fit,
 * leaving the buffer for the caller to restore. */
__attribute__((format(printf, 2, 3))) static bool append_word(struct cmdline *cl,
							      const char *fmt, ...)
{
	size_t room;
	va_list ap;
	int n;

	if (cl->len) {
		if (cl->len + 1 >= sizeof(cl->buf))
			return false;
		cl->buf[cl->len++] = ' ';
	}
	room = sizeof(cl->buf) - cl->len;
	va_start(ap, fmt);
	n = vsnprintf(cl->buf + cl->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return false;
	cl->len += n;
	return true;
}

int cmdline_add_prefix(struct cmdline *cl, bool with_init)
{
	size_t saved_len = cl->len;

	if (!append_word(cl, "%s", CMDLINE_PREFIX) ||
	    (with_init && !append_word(cl, "%s", CMDLINE_INIT)))
		return TOO_LONG(cl, saved_len, "%s", "the fixed prefix");
	return 0;
}

int cmdline_add_raw(struct cmdline *cl, const char *text)
{
	size_t saved_len = cl->len;

	if (*text && !append_word(cl, "%s", text))
		return TOO_LONG(cl, saved_len, "%s", "the given kernel command line");
	return 0;
}

int cmdline_add_console(struct cmdline *cl, const char *console)
{
	size_t saved_len = cl->len;

	if (!append_word(cl, "console=%s", console))
		return TOO_LONG(cl, saved_len, "console=%s", console);
	return 0;
}

/* Keys are unquoted words: a space, '=' or '"' would split or end them, and
 * the kernel's isspace() also takes some bytes above 0x7f for spaces. */
static bool valid_key(const char *key, size_t key_len)
{
	if (key_len == 0)
		return false;
	for (size_t i = 0; i < key_len; i++) {
		unsigned char c = key[i];
		if (c <= ' ' || c >= 0x7f || c == '=' || c == '"')
			return false;
	}
	return true;
}

static int add_env(struct cmdline *cl, const char *key, size_t key_len, const char *value)
{
	size_t saved_len = cl->len;

	if (!valid_key(key, key_len))
		return refuse(cl, saved_len, -EINVAL, "environment variable name \"%.*s\" cannot "
			      "be passed on the kernel command line", (int)key_len, key);
	if (strchr(value, '"'))
		return refuse(cl, saved_len, -EINVAL, "the value of %.*s contains '\"', which "
			      "the kernel command line cannot carry", (int)key_len, key);
	if (!append_word(cl, "%.*s=\"%s\"", (int)key_len, key, value))
		return TOO_LONG(cl, saved_len, "environment variable %.*s", (int)key_len, key);
	return 0;
}

int cmdline_add_env(struct cmdline *cl, const char *key, const char *value)
{
	return add_env(cl, key, strlen(key), value);
}

int cmdline_add_environ(struct cmdline *cl, const char *entry)
{
	const char *equals = strchr(entry, '=');

	if (!equals)
		return refuse(cl, cl->len, -EINVAL, "environment entry \"%s\" has no '='", entry);
	return add_env(cl, entry, equals - entry, equals + 1);
}

int cmdline_add_mmio_device(struct cmdline *cl, uint64_t gpa, uint32_t irq)
{
	size_t saved_len = cl->len;

	if (!append_word(cl, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)gpa, irq))
		return TOO_LONG(cl, saved_len, "the virtio-mmio device at 0x%llx",
				(unsigned long long)gpa);
	return 0;
}

int cmdline_add_args(struct cmdline *cl, char *const *argv)
{
	size_t saved_len = cl->len;

	if (!append_word(cl, "--"))
		return TOO_LONG(cl, saved_len, "%s", "the arguments");
	for (unsigned int i = 0; argv[i]; i++) {
		if (strchr(argv[i], '"') || strcmp(argv[i], "--") == 0)
			return refuse(cl, saved_len, -EINVAL, "argument %u (%s) cannot be passed "
				      "on the kernel command line", i + 1, argv[i]);
		if (!append_word(cl, "\"%s\"", argv[i]))
			return TOO_LONG(cl, saved_len, "argument %u", i + 1);
	}
	return 0;
}
