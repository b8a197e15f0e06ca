/* The one clock the VMM measures with: CLOCK_MONOTONIC in nanoseconds, for
 * rate limits, the boot marker and the boot-time log. */
#ifndef KRUN_BASE_CLOCK_H
#define KRUN_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

#endif
