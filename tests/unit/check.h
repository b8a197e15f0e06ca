/* A minimal assertion kit for unit tests: every CHECK prints where and what
 * failed and the test goes on; CHECK_DONE() is main's return value. */
#ifndef KRUN_TESTS_CHECK_H
#define KRUN_TESTS_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond) \
	do { \
		check_count++; \
		if (!(cond)) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_EQ_INT(a, b) \
	do { \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		check_count++; \
		if (check_a_ != check_b_) { \
			check_failures++; \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, check_a_, #b, check_b_); \
		} \
	} while (0)

#define CHECK_DONE() \
	(printf("%d checks, %d failed\n", check_count, check_failures), check_failures != 0)

#endif
