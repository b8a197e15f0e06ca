/* Argument checks and copies shared by the API calls. */
#include "api/api.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config/vm_config.h"

extern char **environ;

int api_invalid(const char *caller, const char *fmt, ...)
{
	char problem[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	LOG_ERR("%s: %s", caller, problem);
	return -EINVAL;
}

int api_unsupported(const char *caller, const char *missing)
{
	LOG_ERR("%s: not supported: %s", caller, missing);
	return -ENOTSUP;
}

static int strv_count(const char *caller, const char *what, const char *const *strv)
{
	int n = 0;

	while (strv[n]) {
		if (n == API_MAX_STRINGS)
			return api_invalid(caller, "%s has more than %d entries", what,
					   API_MAX_STRINGS);
		n++;
	}
	return n;
}

static int strv_dup(const char *const *src, size_t n, char ***out)
{
	char **copy = calloc(n + 1, sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(src[i]);
		if (!copy[i]) {
			vm_strv_free(copy);
			return -ENOMEM;
		}
	}
	*out = copy;
	return 0;
}

int strv_copy(const char *caller, const char *what, const char *const *src, char ***out)
{
	int n;

	*out = NULL;
	if (!src)
		return 0;
	n = strv_count(caller, what, src);
	return n < 0 ? n : strv_dup(src, n, out);
}

int strv_copy_environ(char ***out)
{
	size_t n = 0;

	while (environ && environ[n])
		n++;
	return strv_dup((const char *const *)environ, n, out);
}

int replace_string(char **slot, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* Read one unsigned decimal at *p, advancing past it; no sign, no spaces. */
static bool parse_decimal(const char **p, unsigned long long *value)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	*value = strtoull(*p, &end, 10);
	if (errno)
		return false;
	*p = end;
	return true;
}

int rlimit_check(const char *caller, const char *entry)
{
	unsigned long long resource, cur, max;
	const char *p = entry;

	/* The guest's init takes each number with a bare strtoull() and ignores
	 * failures, so anything looser than this would be dropped silently. */
	if (!parse_decimal(&p, &resource) || *p++ != '=' || !parse_decimal(&p, &cur) ||
	    *p++ != ':' || !parse_decimal(&p, &max) || *p)
		return api_invalid(caller, "rlimit \"%s\" is not RESOURCE=CUR:MAX in decimal",
				   entry);
	if (resource >= RLIMIT_NLIMITS)
		return api_invalid(caller, "rlimit \"%s\": no resource %llu, Linux has 0..%d",
				   entry, resource, RLIMIT_NLIMITS - 1);
	if (cur > max)
		return api_invalid(caller, "rlimit \"%s\": soft limit above hard limit", entry);
	return 0;
}

int fd_check(const char *caller, const char *what, int fd)
{
	if (fd == -1)
		return 0;
	if (fd < 0)
		return api_invalid(caller, "%s %d is not a descriptor", what, fd);
	if (fcntl(fd, F_GETFD) < 0) {
		LOG_ERR("%s: %s %d is not open", caller, what, fd);
		return -EBADF;
	}
	return 0;
}
