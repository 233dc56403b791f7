/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "format" keyword as an assertion (JSON Schema validation, draft 2020-12
 * §7.3), for the formats the gateway's schemas use. Checks work on the bytes
 * of the string and its length (a JSON string may hold "\u0000").
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/jschema_priv.h"

static const struct {
	const char *name;
	enum js_format f;
	const char *describe;
} formats[] = {
	{"date-time", JS_F_DATE_TIME, "a date-time as in RFC 3339 (1985-04-12T23:20:50Z)"},
	{"date", JS_F_DATE, "a date as in RFC 3339 (1985-04-12)"},
	{"time", JS_F_TIME, "a time with offset as in RFC 3339 (23:20:50Z)"},
	{"email", JS_F_EMAIL, "an e-mail address (name@example.com)"},
	{"ipv4", JS_F_IPV4, "an IPv4 address in dotted-quad form"},
	{"ipv6", JS_F_IPV6, "an IPv6 address"},
	{"uuid", JS_F_UUID, "a UUID (8-4-4-4-12 hexadecimal digits)"},
	{"uri", JS_F_URI, "an absolute URI (scheme:...)"},
};

enum js_format
js_format_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return formats[i].f;
	return JS_F_NONE;
}

const char *
js_format_describe(enum js_format f)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].f == f)
			return formats[i].describe;
	return "a valid value";
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* @n decimal digits at @s, as a number, or -1. */
static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* RFC 3339 §5.6 full-date, with the day checked against the month (§5.7). */
static bool
full_date(const char *s, size_t len)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	return true;
}

/*
 * RFC 3339 §5.6 full-time: partial-time time-offset, "Z" in either case
 * (§5.6 NOTE). A leap second (60) is valid only at 23:59 UTC (§5.7).
 */
static bool
full_time(const char *s, size_t len)
{
	int h, m, sec, oh = 0, om = 0, sign = 0, utc;
	size_t i = 8;

	if (len < 9 || s[2] != ':' || s[5] != ':')
		return false;
	h = digits(s, 2);
	m = digits(s + 3, 2);
	sec = digits(s + 6, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
		return false;
	if (s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++)
			;
		if (i == 9)
			return false;
	}
	if (len - i == 1 && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (len - i == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return false;
	} else {
		return false;
	}
	if (sec == 60) {
		utc = ((h * 60 + m - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
		if (utc != 23 * 60 + 59)
			return false;
	}
	return true;
}

static bool
date_time(const char *s, size_t len)
{
	if (len < 11 || (s[10] != 'T' && s[10] != 't'))
		return false;
	return full_date(s, 10) && full_time(s + 11, len - 11);
}

/*
 * The simple form the gateway accepts: local "@" domain, with a local part
 * of printable ASCII other than space and "@", and a domain of dot-separated
 * labels of letters, digits and hyphens (RFC 5321 §4.1.2 Domain).
 */
static bool
email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t i, label = 0, n_labels = 0;

	if (at == NULL || at == s || at == s + len - 1)
		return false;
	for (i = 0; s + i < at; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	for (i = (size_t)(at - s) + 1; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			n_labels++;
			continue;
		}
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
		if (label == 0 && s[i] == '-')
			return false;
		label++;
	}
	return n_labels >= 1;
}

static bool
address(int af, const char *s, size_t len)
{
	unsigned char buf[16];
	char str[64];

	if (len == 0 || len >= sizeof(str) || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(str, s, len);
	str[len] = '\0';
	/* inet_pton, not inet_aton: "127.1" and "0x7f000001" are not dotted quads. */
	return inet_pton(af, str, buf) == 1;
}

/* RFC 4122 §3: 8-4-4-4-12 hexadecimal digits. */
static bool
uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return false;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * RFC 3986 §3: scheme ":" hier-part, where every byte is an unreserved,
 * reserved or percent-encoded character (§2). Only the character set and
 * the scheme are checked, not the structure of the authority or path.
 */
static bool
uri(const char *s, size_t len)
{
	static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=";
	size_t i;

	if (len == 0 || !is_alpha(s[0]))
		return false;
	for (i = 1; i < len && s[i] != ':'; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
			return false;
	if (i == len)
		return false;
	for (i++; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (!is_alpha(s[i]) && !is_digit(s[i]) &&
			   (s[i] == '\0' || strchr(allowed, s[i]) == NULL)) {
			return false;
		}
	}
	return true;
}

bool
js_format_check(enum js_format f, const char *s, size_t len)
{
	switch (f) {
	case JS_F_NONE:
		return true;
	case JS_F_DATE_TIME:
		return date_time(s, len);
	case JS_F_DATE:
		return full_date(s, len);
	case JS_F_TIME:
		return full_time(s, len);
	case JS_F_EMAIL:
		return email(s, len);
	case JS_F_IPV4:
		return address(AF_INET, s, len);
	case JS_F_IPV6:
		return address(AF_INET6, s, len);
	case JS_F_UUID:
		return uuid(s, len);
	case JS_F_URI:
		return uri(s, len);
	}
	return false;
}
