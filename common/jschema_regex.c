/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "pattern" and "patternProperties" (draft 2020-12 validation §6.3.3, core
 * §10.3.2.2): ECMA-262 regular expressions, unanchored, matched here with
 * POSIX extended regular expressions. The common ECMA-262 escapes are
 * rewritten into their POSIX form; an escape POSIX cannot express is
 * refused rather than silently matched differently (in POSIX ERE "\d" would
 * be the letter d).
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jschema_priv.h"

struct out {
	char *buf;
	size_t len, cap;
};

static int
put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *b = realloc(o->buf, cap);

		if (b == NULL)
			return -ENOMEM;
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
	return 0;
}

static const char *
control_escape(char c)
{
	switch (c) {
	case 'n':
		return "\n";
	case 't':
		return "\t";
	case 'r':
		return "\r";
	case 'f':
		return "\f";
	case 'v':
		return "\v";
	}
	return NULL;
}

/* The POSIX form of ECMA-262 escape "\c" outside a bracket expression, or NULL. */
static const char *
escape_outside(char c, char lit[3])
{
	const char *ctl = control_escape(c);

	switch (c) {
	case 'd':
		return "[0-9]";
	case 'D':
		return "[^0-9]";
	case 's':
		return "[[:space:]]";
	case 'S':
		return "[^[:space:]]";
	case 'w':
		return "[[:alnum:]_]";
	case 'W':
		return "[^[:alnum:]_]";
	}
	if (ctl != NULL)
		return ctl;
	if (c != '\0' && strchr(".[]()*+?{}|^$\\", c) != NULL) {
		lit[0] = '\\';
		lit[1] = c;
		lit[2] = '\0';
		return lit;
	}
	/* Other punctuation is not special in ERE: "\/" and "\-" are the character. */
	if (c != '\0' && strchr("/-:,=!<>'\"#%&@~`;_", c) != NULL) {
		lit[0] = c;
		lit[1] = '\0';
		return lit;
	}
	return NULL;
}

/*
 * The POSIX form of "\c" inside a bracket expression, or NULL. POSIX takes a
 * backslash there literally, and "]", "-" and "^" by position only.
 */
static const char *
escape_inside(char c, char lit[2])
{
	const char *ctl = control_escape(c);

	switch (c) {
	case 'd':
		return "0-9";
	case 's':
		return "[:space:]";
	case 'w':
		return "[:alnum:]_";
	}
	if (ctl != NULL)
		return ctl;
	if (c != '\0' && strchr("\\.()*+?{}|$/:,=!<>'\"#%&@~`;_[", c) != NULL) {
		lit[0] = c;
		lit[1] = '\0';
		return lit;
	}
	return NULL;
}

static int
translate(const char *p, struct out *o, char *err, size_t errlen)
{
	bool in_bracket = false;
	char lit[3], ch[2] = {0, 0};
	const char *rep;

	for (; *p != '\0'; p++) {
		if (*p == '\\') {
			p++;
			rep = in_bracket ? escape_inside(*p, lit) : escape_outside(*p, lit);
			if (rep == NULL) {
				snprintf(err, errlen, "unsupported escape '\\%c'%s", *p ? *p : ' ',
					 in_bracket ? " inside [...]" : "");
				return -EINVAL;
			}
			if (put(o, rep) < 0)
				return -ENOMEM;
			continue;
		}
		if (!in_bracket && *p == '[') {
			in_bracket = true;
			/* In ECMA-262 "[]" matches nothing and "[^]" anything; POSIX reads on. */
			if (p[1] == ']' || (p[1] == '^' && p[2] == ']')) {
				snprintf(err, errlen, "empty character class '[]' or '[^]'");
				return -EINVAL;
			}
		} else if (in_bracket && *p == ']') {
			in_bracket = false;
		}
		ch[0] = *p;
		if (put(o, ch) < 0)
			return -ENOMEM;
	}
	return 0;
}

int
js_regex_compile(regex_t *re, const char *ecma, char *err, size_t errlen)
{
	struct out o = {NULL, 0, 0};
	int ret, rc;

	ret = put(&o, "");
	if (ret == 0)
		ret = translate(ecma, &o, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret < 0) {
		free(o.buf);
		return ret;
	}
	rc = regcomp(re, o.buf, REG_EXTENDED | REG_NOSUB);
	free(o.buf);
	if (rc != 0) {
		char why[128];

		regerror(rc, re, why, sizeof(why));
		snprintf(err, errlen, "%s", why);
		return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
	}
	return 0;
}

/* ECMA-262 patterns are not anchored: any match inside @s will do. */
bool
js_regex_search(const regex_t *re, const char *s, size_t len)
{
	regmatch_t m[1];

	/* REG_STARTEND (glibc, BSD): the string's length, so "\u0000" does not end it. */
	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)len;
	return regexec(re, s, 1, m, REG_STARTEND) == 0;
}
