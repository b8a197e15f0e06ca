/* krun_set_log_level and krun_init_log: settings of the process-wide log. */
#include "api/api.h"

#include <stdlib.h>
#include <strings.h>

static const char *const level_names[] = { "off", "error", "warn", "info", "debug", "trace" };
static const char *const style_names[] = { "auto", "always", "never" };
#define LEVEL_COUNT (uint32_t)(sizeof(level_names) / sizeof(level_names[0]))
#define STYLE_COUNT (uint32_t)(sizeof(style_names) / sizeof(style_names[0]))

/* libkrun logs through env_logger, so users debug it with RUST_LOG=debug and
 * RUST_LOG_STYLE=never whatever the client asked for. We honour the bare
 * names; env_logger's per-module filters name Rust modules we do not have. */
static uint32_t env_override(const char *var, const char *const names[], uint32_t nr_names,
			     uint32_t requested)
{
	const char *value = getenv(var);

	if (!value || !*value)
		return requested;
	for (uint32_t i = 0; i < nr_names; i++)
		if (!strcasecmp(value, names[i]))
			return i;
	LOG_WRN("%s=%s ignored: only one of its plain values is understood", var, value);
	return requested;
}

static uint32_t clamp_level(uint32_t level)
{
	return level > LOG_TRACE ? LOG_TRACE : level;
}

int32_t krun_set_log_level(uint32_t level)
{
	level = env_override("RUST_LOG", level_names, LEVEL_COUNT, clamp_level(level));
	log_set_level((enum log_level)level);
	return 0;
}

int32_t krun_init_log(int target_fd, uint32_t level, uint32_t style, uint32_t options)
{
	int ret;

	/* stdin is refused as libkrun does: it is never meant as a log. */
	if (target_fd == 0)
		return API_EINVAL("fd 0 (stdin) cannot take the log");
	ret = fd_check(__func__, "log fd", target_fd);
	if (ret)
		return ret;
	if (style > KRUN_LOG_STYLE_NEVER)
		return API_EINVAL("unknown log style %u", style);
	if (options & ~(uint32_t)KRUN_LOG_OPTION_NO_ENV)
		return API_EINVAL("unknown log options 0x%x", options);

	log_set_fd(target_fd);
	level = clamp_level(level);
	if (!(options & KRUN_LOG_OPTION_NO_ENV)) {
		level = env_override("RUST_LOG", level_names, LEVEL_COUNT, level);
		style = env_override("RUST_LOG_STYLE", style_names, STYLE_COUNT, style);
	}
	log_set_style(style);
	log_set_level((enum log_level)level);
	return 0;
}
