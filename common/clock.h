/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_CLOCK_H
#define CUCO_COMMON_CLOCK_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Milliseconds of the monotonic clock: for timers, never for dates. */
static inline uint64_t
cuco_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The present time, RFC 3339 in UTC to the microsecond (2026-01-31T12:00:00.000000Z): 28 bytes. */
static inline void
cuco_rfc3339_now_us(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06dZ", base, (int)(ts.tv_nsec / 1000));
}

#endif
