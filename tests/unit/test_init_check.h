/* What the init's unit tests share: comparing a string vector. */
#ifndef KRUN_TESTS_INIT_CHECK_H
#define KRUN_TESTS_INIT_CHECK_H

#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "strv.h"

/* v holds exactly the NULL-terminated expected strings, and is terminated. */
static inline bool strv_is(const struct strv *v, const char *const *expected)
{
	size_t i;
	for (i = 0; expected[i]; i++) {
		if (i >= v->count || strcmp(v->items[i], expected[i]) != 0)
			return false;
	}
	return i == v->count && (!v->items || !v->items[i]);
}

#endif
