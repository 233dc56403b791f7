/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_CONF_H
#define CUCO_COMMON_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Line reader for the project's configuration files.
 *
 * A file is a sequence of lines; a line is a sequence of words separated by
 * blanks; '#' starts a comment that runs to the end of the line; '{' and '}'
 * are words of their own; "double quotes" make one word of text with blanks
 * (\" and \\ escape). Every error names the file, the line and the field, in
 * the form "FILE:LINE: FIELD: reason", which is what programs print.
 */

#define CONF_MAX_FILE (1u << 20)  /* bytes in one file */
#define CONF_MAX_LINE 4096        /* bytes in one line */
#define CONF_MAX_WORDS 32         /* words in one line */

struct conf_line {
	unsigned lineno;
	unsigned n;
	const char *w[CONF_MAX_WORDS];
};

struct conf_reader {
	const char *name;
	const char *buf;
	size_t len;
	size_t pos;
	unsigned lineno;
	char words[CONF_MAX_LINE + CONF_MAX_WORDS];
};

/*
 * Read a whole file into a NUL-terminated heap buffer (the caller frees it).
 * Returns 0, -errno from the system, or -EFBIG past CONF_MAX_FILE.
 */
int conf_read_file(const char *path, char **ret_buf, size_t *ret_len);

/* Start reading @buf (not copied: it must outlive the reader). */
void conf_reader_init(struct conf_reader *r, const char *name, const char *buf, size_t len);

/*
 * Next line with at least one word. Words stay valid until the next call.
 * Returns 1 with @ret_line filled, 0 at the end, -EINVAL with @err filled.
 */
int conf_next_line(struct conf_reader *r, struct conf_line *ret_line, char *err, size_t errlen);

/* Format "NAME:LINE: FIELD: reason" into @err. Returns -EINVAL. */
int conf_error(char *err, size_t errlen, const char *name, unsigned lineno, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Parse a decimal unsigned integer in [min, max]. Returns 0 or -EINVAL.
 */
int conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret);

/*
 * Parse a rate in bits per second: digits with an optional k, M or G
 * (powers of 1000), e.g. 20M. Returns 0 or -EINVAL beyond [min, max].
 */
int conf_parse_rate(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

#endif
