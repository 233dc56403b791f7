/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_CLOCK_H
#define CUCO_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds of the monotonic clock: for timers, never for dates. */
static inline uint64_t
cuco_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
