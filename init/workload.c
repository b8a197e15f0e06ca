#include "workload.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "guest_abi.h"

int status_from_wait(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

int status_from_exec_errno(int err)
{
	switch (err) {
	case ENOENT:
		return STATUS_NOT_FOUND;
	case EACCES:
	case ENOEXEC:
	case EPERM:
	case EISDIR:
	case ENOTDIR:
	case ETXTBSY:
	case ELOOP:
	case ENAMETOOLONG:
	case ELIBBAD:
		return STATUS_NOT_EXECUTABLE;
	default: /* E2BIG, ENOMEM, EMFILE...: the init's setup fell short */
		return STATUS_SETUP_FAILED;
	}
}

static int push_all(struct strv *v, char *const *items)
{
	for (; items && *items; items++) {
		if (strv_push(v, *items))
			return -1;
	}
	return 0;
}

int workload_argv(struct strv *argv, const char *krun_init, char *const *init_args,
		  char *const *config_argv)
{
	if (krun_init)
		return strv_push(argv, krun_init) || push_all(argv, init_args) ? -1 : 0;
	if (config_argv && config_argv[0])
		return push_all(argv, config_argv);
	return strv_push(argv, DEFAULT_COMMAND);
}

/* Settings for the init alone, which the workload must not inherit. */
static const char *const init_only_vars[] = {
	KRUN_ENV_INIT,	 KRUN_ENV_INIT_PID1, KRUN_ENV_WORKDIR, KRUN_ENV_RLIMITS,
	KRUN_ENV_CONFIG, KRUN_ENV_HOME,	     KRUN_ENV_TERM,    KRUN_ENV_SETUID,
	KRUN_ENV_SETGID, KRUN_ENV_STDIO_PORTS, KRUN_ENV_DHCP, KRUN_ENV_SHUTDOWN_PORT,
	KRUN_ENV_TSI_DNS,
};

int env_merge(struct strv *env, char *const *init_env, char *const *config_env)
{
	if (push_all(env, init_env))
		return -1;
	for (; config_env && *config_env; config_env++) {
		if (env_set(env, *config_env))
			return -1;
	}
	return 0;
}

int workload_env(struct strv *env, char *const *settings_env)
{
	const char *home = env_lookup(settings_env, KRUN_ENV_HOME);
	const char *term = env_lookup(settings_env, KRUN_ENV_TERM);

	if (push_all(env, settings_env) || (home && env_set_value(env, "HOME", home)) ||
	    (term && env_set_value(env, "TERM", term)))
		return -1;
	for (size_t i = 0; i < sizeof(init_only_vars) / sizeof(init_only_vars[0]); i++)
		env_unset(env, init_only_vars[i]);
	if (!env_lookup(env->items, "PATH"))
		return env_set_value(env, "PATH", DEFAULT_PATH);
	return 0;
}

/* A decimal number at *s, which is moved past it. strtoull() alone would
 * also take signs and blanks. */
static int parse_decimal(const char **s, unsigned long long *value)
{
	char *end;
	if (!isdigit((unsigned char)**s))
		return -1;
	errno = 0;
	*value = strtoull(*s, &end, 10);
	if (errno)
		return -1;
	*s = end;
	return 0;
}

int rlimits_parse(const char *spec, struct rlimit_setting *settings, size_t max,
		  size_t *count)
{
	*count = 0;
	if (*spec == '\0')
		return 0;
	for (;;) {
		unsigned long long resource, cur, limit_max;
		if (parse_decimal(&spec, &resource) || resource >= RLIM_NLIMITS ||
		    *spec++ != '=' || parse_decimal(&spec, &cur) || *spec++ != ':' ||
		    parse_decimal(&spec, &limit_max) || cur > limit_max || *count == max)
			return -1;
		settings[(*count)++] = (struct rlimit_setting){
			.resource = (int)resource,
			.limit = { .rlim_cur = cur, .rlim_max = limit_max },
		};
		if (*spec == '\0')
			return 0;
		if (*spec++ != ',')
			return -1;
	}
}

int id_parse(const char *s, unsigned int *id)
{
	unsigned long long value;
	/* (uid_t)-1 means "unchanged" to setuid() and friends */
	if (parse_decimal(&s, &value) || *s != '\0' || value >= (unsigned int)-1)
		return -1;
	*id = (unsigned int)value;
	return 0;
}
