/* The library's log: one line per event, "libkrun: LEVEL: message", to
 * stderr or the fd given to krun_init_log(). The level is process-wide, as in
 * libkrun. Anything a guest can trigger goes through LOG_RATELIMITED so a
 * hostile guest cannot flood the host's log. */
#ifndef KRUN_BASE_LOG_H
#define KRUN_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_OFF = 0,
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
	LOG_TRACE = 5,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* fd < 0: stderr. */
void log_set_fd(int fd);
/* Where lines go now; async-signal-safe. */
int log_get_fd(void);
/* color: 0 auto (when the fd is a terminal), 1 always, 2 never */
void log_set_style(uint32_t style);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define LOG_ERR(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define LOG_WRN(...) log_msg(LOG_WARN, __VA_ARGS__)
#define LOG_INF(...) log_msg(LOG_INFO, __VA_ARGS__)
#define LOG_DBG(...) log_msg(LOG_DEBUG, __VA_ARGS__)

struct log_ratelimit {
	uint64_t window_start_ns;
	uint32_t in_window;
	uint32_t suppressed;
};

/* True when this call site may log now: at most LOG_BURST lines per second. */
#define LOG_BURST 10
bool log_ratelimit_allow(struct log_ratelimit *rl);

#define LOG_RATELIMITED(level, ...) \
	do { \
		static struct log_ratelimit log_rl_; \
		if (log_get_level() >= (level) && log_ratelimit_allow(&log_rl_)) \
			log_msg(level, __VA_ARGS__); \
	} while (0)

#endif
