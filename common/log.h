/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_LOG_H
#define CUCO_COMMON_LOG_H

#include <stdbool.h>

/*
 * Process logging: one line per event on stderr, prefixed with the program
 * name and the severity. Library code does not log; callers do, once, with
 * context.
 */

enum cuco_log_level {
	CUCO_LOG_ERR,
	CUCO_LOG_WARN,
	CUCO_LOG_INFO,
	CUCO_LOG_DEBUG,
};

/* Set the program name and the most verbose level printed. */
void cuco_log_init(const char *ident, enum cuco_log_level max);

/*
 * Print each line as one JSON object instead of text:
 *   {"time":"2026-11-25T01:02:03.004Z","level":"info","program":"cuco-controld",
 *    "message":"...","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
 * trace_id appears when the calling thread has one (cuco_log_set_trace).
 */
void cuco_log_set_json(bool json);

/*
 * The trace id (32 hex digits, or NULL to clear) that this thread's next
 * lines carry, e.g. for the duration of one request. Copied.
 */
void cuco_log_set_trace(const char *trace_id);

/* Level by name ("error", "warning", "info", "debug"); 0 or -EINVAL. */
int cuco_log_level_parse(const char *name, enum cuco_log_level *ret);

void cuco_log(enum cuco_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) cuco_log(CUCO_LOG_ERR, __VA_ARGS__)
#define log_warn(...) cuco_log(CUCO_LOG_WARN, __VA_ARGS__)
#define log_info(...) cuco_log(CUCO_LOG_INFO, __VA_ARGS__)
#define log_debug(...) cuco_log(CUCO_LOG_DEBUG, __VA_ARGS__)

#endif
