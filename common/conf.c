/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
conf_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	size_t len = 0;
	char *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(CONF_MAX_FILE + 1);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* Read up to one byte past the limit to tell "too big" from "exactly full". */
	for (;;) {
		ssize_t n = read(fd, buf + len, CONF_MAX_FILE + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONF_MAX_FILE) {
			ret = -EFBIG;
			goto out_free;
		}
	}
	buf[len] = '\0';
	close(fd);
	*ret_buf = buf;
	*ret_len = len;
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

void
conf_reader_init(struct conf_reader *r, const char *name, const char *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->buf = buf;
	r->len = len;
}

int
conf_error(char *err, size_t errlen, const char *name, unsigned lineno, const char *field,
	   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lineno > 0)
		snprintf(err, errlen, "%s:%u: %s: %s", name, lineno, field, msg);
	else
		snprintf(err, errlen, "%s: %s: %s", name, field, msg);
	return -EINVAL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split one line (without its '\n') into words stored in r->words. */
static int
split_line(struct conf_reader *r, const char *s, size_t n, struct conf_line *line, char *err,
	   size_t errlen)
{
	size_t i = 0, out = 0;

	line->n = 0;
	while (i < n) {
		char c = s[i];

		if (is_blank(c)) {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (line->n == CONF_MAX_WORDS)
			return conf_error(err, errlen, r->name, r->lineno, "line",
					  "more than %d words", CONF_MAX_WORDS);
		line->w[line->n++] = &r->words[out];
		if (c == '{' || c == '}') {
			r->words[out++] = c;
			r->words[out++] = '\0';
			i++;
			continue;
		}
		if (c == '"') {
			for (i++;; i++) {
				if (i >= n)
					return conf_error(err, errlen, r->name, r->lineno, "line",
							  "unterminated quoted string");
				if (s[i] == '"')
					break;
				if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
					i++;
				r->words[out++] = s[i];
			}
			i++;
			if (i < n && !is_blank(s[i]) && s[i] != '#' && s[i] != '{' && s[i] != '}')
				return conf_error(err, errlen, r->name, r->lineno, "line",
						  "text right after a closing quote");
		} else {
			while (i < n && !is_blank(s[i]) && s[i] != '#' && s[i] != '{' &&
			       s[i] != '}' && s[i] != '"')
				r->words[out++] = s[i++];
		}
		r->words[out++] = '\0';
	}
	return 0;
}

int
conf_next_line(struct conf_reader *r, struct conf_line *ret_line, char *err, size_t errlen)
{
	while (r->pos < r->len) {
		const char *s = r->buf + r->pos;
		const char *nl = memchr(s, '\n', r->len - r->pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : r->len - r->pos;
		size_t i;
		int ret;

		r->lineno++;
		r->pos += n + (nl != NULL);
		if (n > CONF_MAX_LINE)
			return conf_error(err, errlen, r->name, r->lineno, "line",
					  "longer than %d bytes", CONF_MAX_LINE);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
				return conf_error(err, errlen, r->name, r->lineno, "line",
						  "control character 0x%02x at column %zu", c,
						  i + 1);
		}
		ret = split_line(r, s, n, ret_line, err, errlen);
		if (ret < 0)
			return ret;
		if (ret_line->n > 0) {
			ret_line->lineno = r->lineno;
			return 1;
		}
	}
	return 0;
}

int
conf_parse_rate(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (*end == 'k')
		mult = 1000, end++;
	else if (*end == 'M')
		mult = 1000000, end++;
	else if (*end == 'G')
		mult = 1000000000, end++;
	if (*end != '\0' || v > max / mult || v * mult < min)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

int
conf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}
