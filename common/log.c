/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "cuco";
static enum cuco_log_level log_max = CUCO_LOG_INFO;

static const char *const level_names[] = {
	[CUCO_LOG_ERR] = "error",
	[CUCO_LOG_WARN] = "warning",
	[CUCO_LOG_INFO] = "info",
	[CUCO_LOG_DEBUG] = "debug",
};

void
cuco_log_init(const char *ident, enum cuco_log_level max)
{
	log_ident = ident;
	log_max = max;
}

void
cuco_log(enum cuco_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines of concurrent threads do not mix. */
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, log_ident, level_names[level], line);
}
