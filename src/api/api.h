/* What the files of the API layer share: the exported declarations and the
 * argument checks every call makes the same way. */
#ifndef KRUN_API_API_H
#define KRUN_API_API_H

#include <errno.h>
#include <stddef.h>

/* The library is built with hidden visibility; declaring the public
 * functions as default here makes their definitions the only exports. */
#pragma GCC visibility push(default)
#include "libkrun.h"
#pragma GCC visibility pop

#include "base/log.h"

struct vm_config;

/* Exchange two values of one type. Calls stage new values, swap them into
 * the configuration under the lock and free what comes out: the old values,
 * or the unused new ones when the context was not found. */
#define SWAP(a, b) \
	do { \
		__typeof__(a) swap_tmp_ = (a); \
		(a) = (b); \
		(b) = swap_tmp_; \
	} while (0)

/* libkrun's limit on the entries of a string array (its MAX_ARGS). */
#define API_MAX_STRINGS 4096

/* Log "<caller>: <problem>" as an error and return -EINVAL. */
__attribute__((format(printf, 2, 3))) int api_invalid(const char *caller, const char *fmt, ...);
#define API_EINVAL(...) api_invalid(__func__, __VA_ARGS__)

/* Log "<caller>: <what is missing>" as an error and return -ENOTSUP: a
 * call of libkrun's for a feature this library does not have. */
int api_unsupported(const char *caller, const char *missing);
#define API_ENOTSUP(missing) api_unsupported(__func__, missing)

/* Copy a NULL-terminated string array (NULL gives NULL); -EINVAL (logged,
 * naming the argument what) beyond API_MAX_STRINGS entries, or -ENOMEM. */
int strv_copy(const char *caller, const char *what, const char *const *src, char ***out);

/* A copy of this process's environment, as a NULL envp asks for. */
int strv_copy_environ(char ***out);

/* Replace *slot with a copy of value (NULL clears it); -ENOMEM leaves it. */
int replace_string(char **slot, const char *value);

/* 0 if entry is "RESOURCE=CUR:MAX" as the guest's init applies it, else
 * -EINVAL (logged). */
int rlimit_check(const char *caller, const char *entry);

/* 0 for -1 (none, or the default) or an open descriptor; else -EINVAL or
 * -EBADF (logged). */
int fd_check(const char *caller, const char *what, int fd);

/* At krun_start_enter: a warning when the port map publishes nothing,
 * for want of an interface that publishes ports (krun_add_net_user). */
void port_map_warn_unused(const struct vm_config *cfg);

#endif
