// SPDX-License-Identifier: Apache-2.0
/*
 * TAP-like results for the static programs the boot tests run in a guest
 * (fsconform, hostile): "ok N name" or "not ok N name: why", one line each.
 * Each program is one file, so the counters live here.
 */
#ifndef KRUN_TESTS_BOOT_TAP_H
#define KRUN_TESTS_BOOT_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int n_run, n_pass;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	n_run++;
	if (ok) {
		n_pass++;
		printf("ok %d %s\n", n_run, name);
		return;
	}
	printf("not ok %d %s: ", n_run, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *errname(int e)
{
	const char *s = e ? strerrorname_np(e) : "none";

	return s ? s : "?";
}

/* Setup steps are not checks, but a failed one is reported as a failure. */
#define MUST(call)                                                              \
	do {                                                                    \
		if ((long)(call) < 0)                                           \
			result(false, "setup", "%s:%d %s: %s", __FILE__, __LINE__, #call, strerror(errno)); \
	} while (0)

#endif
