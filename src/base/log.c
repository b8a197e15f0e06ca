#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"

static _Atomic int current_level = LOG_ERROR;
static _Atomic int log_fd = -1;
static _Atomic uint32_t log_style;

void log_set_level(enum log_level level)
{
	current_level = level > LOG_TRACE ? LOG_TRACE : level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

int log_get_fd(void)
{
	int fd = log_fd;
	return fd < 0 ? STDERR_FILENO : fd;
}

void log_set_style(uint32_t style)
{
	log_style = style;
}

static const char *const level_names[] = { "off", "error", "warn", "info", "debug", "trace" };
static const char *const level_colors[] = { "", "\033[31m", "\033[33m", "\033[32m", "\033[36m", "\033[2m" };

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level == LOG_OFF || (int)level > current_level)
		return;
	/* Callers log a failure and then return -errno: isatty() and write()
	 * must not change what they return (isatty on a pipe sets ENOTTY). */
	int saved_errno = errno;
	int fd = log_fd < 0 ? STDERR_FILENO : log_fd;
	bool color = log_style == 1 || (log_style == 0 && isatty(fd));
	char line[1024];
	int n = snprintf(line, sizeof(line), "%slibkrun: %s:%s ", color ? level_colors[level] : "",
			 level_names[level], color ? "\033[0m" : "");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line so lines from several threads do not interleave */
	ssize_t unused = write(fd, line, n);
	(void)unused;
	errno = saved_errno;
}

bool log_ratelimit_allow(struct log_ratelimit *rl)
{
	uint64_t now = monotonic_ns();

	if (now - rl->window_start_ns >= 1000000000u) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "%u similar messages suppressed", rl->suppressed);
		rl->window_start_ns = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window < LOG_BURST) {
		rl->in_window++;
		return true;
	}
	rl->suppressed++;
	return false;
}
