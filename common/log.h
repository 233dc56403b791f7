/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_LOG_H
#define CUCO_COMMON_LOG_H

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

void cuco_log(enum cuco_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) cuco_log(CUCO_LOG_ERR, __VA_ARGS__)
#define log_warn(...) cuco_log(CUCO_LOG_WARN, __VA_ARGS__)
#define log_info(...) cuco_log(CUCO_LOG_INFO, __VA_ARGS__)
#define log_debug(...) cuco_log(CUCO_LOG_DEBUG, __VA_ARGS__)

#endif
