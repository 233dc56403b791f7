/* SPDX-License-Identifier: BSD-3-Clause */
/* Route tables: patterns with {param} segments, and matching a request path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/rest/rest_internal.h"

static const char *const method_names[REST_METHOD_COUNT] = {
	[REST_GET] = "GET",	[REST_POST] = "POST",	  [REST_PUT] = "PUT",
	[REST_PATCH] = "PATCH", [REST_DELETE] = "DELETE",
};

const char *
rest_method_name(enum rest_method m)
{
	return (unsigned)m < REST_METHOD_COUNT ? method_names[m] : "OTHER";
}

int
rest_method_parse(const char *s, enum rest_method *ret, bool *ret_head)
{
	*ret_head = strcmp(s, "HEAD") == 0;
	if (*ret_head) {
		*ret = REST_GET;
		return 0;
	}
	for (unsigned i = 0; i < REST_METHOD_COUNT; i++) {
		if (strcmp(s, method_names[i]) == 0) {
			*ret = (enum rest_method)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool
param_segment(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && s[0] == '{' && s[n - 1] == '}';
}

static bool
valid_literal(const char *s)
{
	if (*s == '\0')
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == '{' || *c == '}' || *c == '%' || *c == '?')
			return false;
	return true;
}

static bool
valid_param(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 1; i + 1 < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Split @e->pattern in place into segments; check each. */
static int
split_pattern(struct rest_entry *e, char *err, size_t errlen)
{
	char *p = e->pattern;

	if (p[0] != '/') {
		snprintf(err, errlen, "%s: the path must start with '/'", e->r->path);
		return -EINVAL;
	}
	if (p[1] == '\0')
		return 0;
	p++;
	for (;;) {
		char *slash = strchr(p, '/');

		if (slash)
			*slash = '\0';
		if (e->nseg == REST_MAX_SEGMENTS) {
			snprintf(err, errlen, "%s: more than %d segments", e->r->path,
				 REST_MAX_SEGMENTS);
			return -EINVAL;
		}
		if (param_segment(p) ? !valid_param(p) : !valid_literal(p)) {
			snprintf(err, errlen, "%s: bad segment '%s'", e->r->path, p);
			return -EINVAL;
		}
		if (!param_segment(p))
			e->nliteral++;
		e->seg[e->nseg++] = p;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return 0;
}

static bool
same_shape(const struct rest_entry *a, const struct rest_entry *b)
{
	if (a->nseg != b->nseg)
		return false;
	for (unsigned i = 0; i < a->nseg; i++) {
		bool pa = param_segment(a->seg[i]), pb = param_segment(b->seg[i]);

		if (pa != pb || (!pa && strcmp(a->seg[i], b->seg[i]) != 0))
			return false;
	}
	return true;
}

int
rest_routes_add(struct rest_routes *t, const struct rest_route *r, void *data, char *err,
		size_t errlen)
{
	struct rest_entry e = {.r = r, .data = data};
	struct rest_entry *v;
	int rc;

	if (r->path == NULL || r->handler == NULL || (unsigned)r->method >= REST_METHOD_COUNT) {
		snprintf(err, errlen, "%s: a route needs a method, a path and a handler",
			 r->path ? r->path : "(null)");
		return -EINVAL;
	}
	e.pattern = strdup(r->path);
	if (e.pattern == NULL)
		return -ENOMEM;
	rc = split_pattern(&e, err, errlen);
	if (rc < 0)
		goto out_free_pattern;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].r->method == r->method && same_shape(&t->v[i], &e)) {
			snprintf(err, errlen, "%s %s: already registered as %s", method_names[r->method],
				 r->path, t->v[i].r->path);
			rc = -EEXIST;
			goto out_free_pattern;
		}
	}
	/* /api/vN/...: the versions the appliance's own API supports. */
	if (e.nseg >= 2 && strcmp(e.seg[0], "api") == 0 && e.seg[1][0] == 'v') {
		uint64_t ver;

		if (rest_parse_uint(e.seg[1] + 1, REST_MAX_VERSION, &ver) == 0 && ver > 0) {
			e.version = (int)ver;
			t->versions |= 1u << ver;
		}
	}
	v = reallocarray(t->v, t->n + 1, sizeof(*v));
	if (v == NULL) {
		rc = -ENOMEM;
		goto out_free_pattern;
	}
	t->v = v;
	t->v[t->n++] = e;
	return 0;

out_free_pattern:
	free(e.pattern);
	return rc;
}

void
rest_routes_clear(struct rest_routes *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].pattern);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static bool
path_matches(const struct rest_entry *e, const char *const seg[], unsigned nseg)
{
	if (e->nseg != nseg)
		return false;
	for (unsigned i = 0; i < nseg; i++) {
		if (param_segment(e->seg[i])) {
			if (seg[i][0] == '\0')
				return false;
		} else if (strcmp(e->seg[i], seg[i]) != 0) {
			return false;
		}
	}
	return true;
}

void
rest_routes_match(const struct rest_routes *t, enum rest_method m, const char *const seg[],
		  unsigned nseg, struct rest_match *ret)
{
	ret->e = NULL;
	ret->allow = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct rest_entry *e = &t->v[i];

		if (!path_matches(e, seg, nseg))
			continue;
		ret->allow |= 1u << e->r->method;
		/* The most literal segments win: /customer/search over /customer/{id}. */
		if (e->r->method == m && (ret->e == NULL || e->nliteral > ret->e->nliteral))
			ret->e = e;
	}
}
