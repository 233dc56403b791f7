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

/*
 * glibc builds a tree node per atom and copies a repeated atom's tree once
 * per repetition: "((a{100}){100}){100}" would be a million nodes. The cost
 * below counts those copies; a pattern above the limit is refused.
 */
#define REGEX_MAX_COST 5000
#define REGEX_MAX_GROUPS 32

struct cost {
	unsigned long sum[REGEX_MAX_GROUPS + 1]; /* nodes in each open group so far */
	unsigned long last;                      /* nodes of the last atom, for a quantifier */
	unsigned depth;
};

static void
cost_atom(struct cost *c, unsigned long n)
{
	c->last = n;
	c->sum[c->depth] += n;
	if (c->sum[c->depth] > REGEX_MAX_COST)
		c->sum[c->depth] = REGEX_MAX_COST + 1;
}

static void
cost_repeat(struct cost *c, unsigned long times)
{
	unsigned long extra = c->last * (times > 0 ? times - 1 : 0);

	c->sum[c->depth] += extra > REGEX_MAX_COST ? REGEX_MAX_COST + 1 : extra;
	if (c->sum[c->depth] > REGEX_MAX_COST)
		c->sum[c->depth] = REGEX_MAX_COST + 1;
}

/* "{n}", "{n,}" or "{n,m}" at @p: its length and copies, or 0 when it is a literal brace. */
static size_t
interval(const char *p, unsigned long *ret_times)
{
	unsigned long n = 0, m = 0;
	size_t i = 1;
	bool comma = false, have_m = false;

	if (p[i] < '0' || p[i] > '9')
		return 0;
	for (; p[i] >= '0' && p[i] <= '9'; i++)
		n = n > 100000 ? n : n * 10 + (unsigned long)(p[i] - '0');
	if (p[i] == ',') {
		comma = true;
		for (i++; p[i] >= '0' && p[i] <= '9'; i++, have_m = true)
			m = m > 100000 ? m : m * 10 + (unsigned long)(p[i] - '0');
	}
	if (p[i] != '}')
		return 0;
	*ret_times = have_m ? m : comma ? n + 1 : n;
	return i + 1;
}

/* Copy a bracket expression starting at @p ("["), returning the length read, or 0. */
static size_t
bracket(const char *p, struct out *o, char *err, size_t errlen)
{
	char lit[2], ch[2] = {0, 0};
	const char *rep;
	size_t i = 1;

	/* In ECMA-262 "[]" matches nothing and "[^]" anything; POSIX reads on. */
	if (p[1] == ']' || (p[1] == '^' && p[2] == ']')) {
		snprintf(err, errlen, "empty character class '[]' or '[^]'");
		return 0;
	}
	if (put(o, "[") < 0)
		return 0;
	for (; p[i] != ']'; i++) {
		if (p[i] == '\0') {
			snprintf(err, errlen, "unterminated '['");
			return 0;
		}
		if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
			snprintf(err, errlen, "POSIX classes such as [[:alpha:]] are not ECMA-262");
			return 0;
		}
		if (p[i] == '\\') {
			i++;
			rep = escape_inside(p[i], lit);
			if (rep == NULL) {
				snprintf(err, errlen, "unsupported escape '\\%c' inside [...]",
					 p[i] ? p[i] : ' ');
				return 0;
			}
		} else {
			ch[0] = p[i];
			rep = ch;
		}
		if (put(o, rep) < 0)
			return 0;
	}
	return put(o, "]") < 0 ? 0 : i + 1;
}

struct tr {
	struct out *o;
	struct cost c;
	bool can_repeat; /* an atom precedes */
	bool repeated;   /* a quantifier precedes */
	char *err;
	size_t errlen;
};

/* A quantifier at @p: "*", "+", "?" or an interval. Sets @ret_len to what it read. */
static int
tr_quantifier(struct tr *t, const char *p, size_t *ret_len)
{
	unsigned long times = *p == '+' ? 2 : 1;
	char q[32];

	*ret_len = *p == '{' ? interval(p, &times) : 1;
	/* ECMA-262 §22.2.1: one quantifier an atom, and "?" after it only makes it lazy,
	 * which does not change whether the pattern matches. */
	if (t->repeated && *p == '?') {
		t->repeated = false;
		return 0;
	}
	if (!t->can_repeat) {
		snprintf(t->err, t->errlen, "nothing to repeat before '%c'", *p);
		return -EINVAL;
	}
	cost_repeat(&t->c, times);
	snprintf(q, sizeof(q), "%.*s", (int)*ret_len, p);
	t->can_repeat = false;
	t->repeated = true;
	return put(t->o, q);
}

static int
tr_group(struct tr *t, const char *p)
{
	if (*p == '(') {
		if (p[1] == '?') {
			snprintf(t->err, t->errlen, "'(?' groups and lookarounds are not supported");
			return -EINVAL;
		}
		if (t->c.depth == REGEX_MAX_GROUPS) {
			snprintf(t->err, t->errlen, "groups nested deeper than %d", REGEX_MAX_GROUPS);
			return -EINVAL;
		}
		t->c.sum[++t->c.depth] = 0;
		t->can_repeat = false;
		return put(t->o, "(");
	}
	if (t->c.depth == 0) {
		snprintf(t->err, t->errlen, "unmatched ')'");
		return -EINVAL;
	}
	t->c.depth--;
	cost_atom(&t->c, t->c.sum[t->c.depth + 1] + 1);
	return put(t->o, ")");
}

/* Anything but a quantifier at @p. Sets @ret_len to what it read. */
static int
tr_atom(struct tr *t, const char *p, size_t *ret_len)
{
	char lit[3], ch[2] = {*p, 0};
	const char *rep = ch;

	*ret_len = 1;
	t->repeated = false;
	t->can_repeat = true;
	switch (*p) {
	case '\\':
		rep = escape_outside(p[1], lit);
		if (rep == NULL) {
			snprintf(t->err, t->errlen, "unsupported escape '\\%c'", p[1] ? p[1] : ' ');
			return -EINVAL;
		}
		*ret_len = 2;
		break;
	case '[':
		*ret_len = bracket(p, t->o, t->err, t->errlen);
		cost_atom(&t->c, 1);
		return *ret_len == 0 ? (t->err[0] != '\0' ? -EINVAL : -ENOMEM) : 0;
	case '(':
	case ')':
		return tr_group(t, p);
	case '|':
	case '^':
	case '$':
		t->can_repeat = false;
		break;
	case '{':
	case '}':
		rep = *p == '{' ? "\\{" : "\\}"; /* Annex B: a brace that is no quantifier */
		break;
	}
	cost_atom(&t->c, 1);
	return put(t->o, rep);
}

static int
translate(const char *p, struct out *o, char *err, size_t errlen)
{
	struct tr t = {.o = o, .err = err, .errlen = errlen};
	unsigned long times;
	size_t len;
	int r;

	err[0] = '\0';
	for (; *p != '\0'; p += len) {
		if (*p == '*' || *p == '+' || *p == '?' || (*p == '{' && interval(p, &times) > 0))
			r = tr_quantifier(&t, p, &len);
		else
			r = tr_atom(&t, p, &len);
		if (r < 0)
			return r;
	}
	if (t.c.depth != 0) {
		snprintf(err, errlen, "unmatched '('");
		return -EINVAL;
	}
	if (t.c.sum[0] > REGEX_MAX_COST) {
		snprintf(err, errlen, "too complex (its repetitions expand past %d nodes)",
			 REGEX_MAX_COST);
		return -EINVAL;
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
