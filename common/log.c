/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "cuco";
static enum cuco_log_level log_max = CUCO_LOG_INFO;
static bool log_json;
static __thread char log_trace[33];

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
cuco_log_set_json(bool json)
{
	log_json = json;
}

void
cuco_log_set_trace(const char *trace_id)
{
	if (trace_id == NULL)
		log_trace[0] = '\0';
	else
		snprintf(log_trace, sizeof(log_trace), "%s", trace_id);
}

int
cuco_log_level_parse(const char *name, enum cuco_log_level *ret)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*ret = (enum cuco_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Copy @in into @out as the inside of a JSON string (RFC 8259 §7). */
static void
json_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < outlen; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

void
cuco_log(enum cuco_log_level level, const char *fmt, ...)
{
	char line[1024], esc[2048], stamp[96];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines of concurrent threads do not mix. */
	if (!log_json) {
		fprintf(stderr, "%s %s: %s: %s%s%s\n", stamp, log_ident, level_names[level], line,
			log_trace[0] ? " trace_id=" : "", log_trace);
		return;
	}
	json_escape(esc, sizeof(esc), line);
	if (log_trace[0])
		fprintf(stderr,
			"{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"message\":\"%s\","
			"\"trace_id\":\"%s\"}\n",
			stamp, level_names[level], log_ident, esc, log_trace);
	else
		fprintf(stderr,
			"{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"message\":\"%s\"}\n",
			stamp, level_names[level], log_ident, esc);
}
