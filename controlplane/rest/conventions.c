/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway's parsers of outside input and builders of convention headers:
 * request target, Accept, fields=, integers, entity-tag lists, Link. Pure
 * functions, fuzzed by tests/fuzz/fuzz_rest.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"
#include "controlplane/rest/rest_internal.h"

/* Decode [s, s + n) into @out (NUL-terminated); '+' is a space in a query. */
static int
pct_decode(const char *s, size_t n, char *out, bool plus, char *err, size_t errlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "bad percent-encoding at offset %zu", i);
				return -EINVAL;
			}
			c = (char)(hi << 4 | lo);
			if (c == '\0') {
				snprintf(err, errlen, "%%00 is not allowed");
				return -EINVAL;
			}
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		} else if ((unsigned char)c <= 0x20 || c == 0x7f) {
			snprintf(err, errlen, "control character or space at offset %zu", i);
			return -EINVAL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

void
rest_uri_clear(struct rest_uri *u)
{
	free(u->buf);
	memset(u, 0, sizeof(*u));
}

static int
parse_path(const char *p, size_t n, struct rest_uri *u, char **cursor, char *err, size_t errlen)
{
	size_t i = 1;

	/* Skip the leading '/'; "/" alone has no segment. */
	while (i <= n && n > 1) {
		size_t j = i;

		while (j < n && p[j] != '/')
			j++;
		if (u->nseg == REST_MAX_SEGMENTS) {
			snprintf(err, errlen, "more than %d path segments", REST_MAX_SEGMENTS);
			return -EINVAL;
		}
		if (pct_decode(p + i, j - i, *cursor, false, err, errlen) < 0)
			return -EINVAL;
		u->seg[u->nseg++] = *cursor;
		*cursor += strlen(*cursor) + 1;
		i = j + 1;
	}
	return 0;
}

static int
parse_query(const char *q, struct rest_uri *u, char **cursor, char *err, size_t errlen)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t klen = eq ? (size_t)(eq - q) : n;
		struct rest_kv *kv;

		if (n == 0) {
			q++;
			continue;
		}
		if (klen == 0) {
			snprintf(err, errlen, "query parameter without a name");
			return -EINVAL;
		}
		if (u->nquery == REST_MAX_QUERY) {
			snprintf(err, errlen, "more than %d query parameters", REST_MAX_QUERY);
			return -EINVAL;
		}
		kv = &u->query[u->nquery];
		kv->key = *cursor;
		if (pct_decode(q, klen, kv->key, true, err, errlen) < 0)
			return -EINVAL;
		*cursor += strlen(kv->key) + 1;
		kv->value = *cursor;
		if (pct_decode(eq ? eq + 1 : q + n, eq ? n - klen - 1 : 0, kv->value, true, err,
			       errlen) < 0)
			return -EINVAL;
		*cursor += strlen(kv->value) + 1;
		if (rest_uri_query(u, kv->key) != NULL) {
			snprintf(err, errlen, "query parameter '%.64s' given twice", kv->key);
			return -EINVAL;
		}
		u->nquery++;
		q += n;
	}
	return 0;
}

int
rest_uri_parse(const char *raw, struct rest_uri *ret, char *err, size_t errlen)
{
	struct rest_uri u = {0};
	size_t len = strlen(raw);
	size_t plen = strcspn(raw, "?");
	char *cursor;

	/* RFC 9112 §3.2.1: origin-form only; a fragment never reaches a server. */
	if (raw[0] != '/' || strchr(raw, '#') != NULL) {
		snprintf(err, errlen, "the request target must be an absolute path");
		return -EINVAL;
	}
	/* Decoding only shrinks: the raw path and the decoded parts fit in 2 * len. */
	u.buf = malloc(2 * len + 2);
	if (u.buf == NULL) {
		snprintf(err, errlen, "no memory");
		return -ENOMEM;
	}
	u.path = u.buf;
	memcpy(u.path, raw, plen);
	u.path[plen] = '\0';
	cursor = u.path + plen + 1;
	if (parse_path(raw, plen, &u, &cursor, err, errlen) < 0 ||
	    (raw[plen] == '?' && parse_query(raw + plen + 1, &u, &cursor, err, errlen) < 0)) {
		rest_uri_clear(&u);
		return -EINVAL;
	}
	*ret = u;
	return 0;
}

const char *
rest_uri_query(const struct rest_uri *u, const char *key)
{
	for (unsigned i = 0; i < u->nquery; i++)
		if (strcmp(u->query[i].key, key) == 0)
			return u->query[i].value;
	return NULL;
}

/* RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). */
static bool
qvalue_positive(const char *s, size_t n, bool *ret_valid)
{
	bool pos = false;

	*ret_valid = false;
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return false;
	pos = s[0] == '1';
	if (n > 1) {
		if (s[1] != '.' || n > 5)
			return false;
		for (size_t i = 2; i < n; i++) {
			if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
				return false;
			if (s[i] != '0')
				pos = true;
		}
	}
	*ret_valid = true;
	return pos;
}

static void
trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool
token_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* One media-range with its parameters into @a. */
static void
accept_range(const char *s, size_t n, struct rest_accept *a)
{
	static const char vnd[] = "application/vnd.a1.cuco.v";
	const char *end = s + n;
	const char *semi = memchr(s, ';', n);
	size_t tlen = semi ? (size_t)(semi - s) : n;
	bool positive = true;

	trim(&s, &tlen);
	/* Parameters: only q matters here (RFC 9110 §12.5.1). */
	while (semi != NULL) {
		const char *p = semi + 1;
		size_t rest = (size_t)(end - p);
		const char *next = memchr(p, ';', rest);
		size_t plen = next ? (size_t)(next - p) : rest;

		trim(&p, &plen);
		if (plen >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			bool valid;

			positive = qvalue_positive(p + 2, plen - 2, &valid);
			if (!valid)
				return; /* an unparseable range is ignored */
		}
		semi = next;
	}
	if (tlen > sizeof(vnd) - 1 && strncasecmp(s, vnd, sizeof(vnd) - 1) == 0) {
		const char *d = s + sizeof(vnd) - 1;
		size_t dn = tlen - (sizeof(vnd) - 1);
		unsigned v = 0;
		size_t i = 0;

		a->vendor = true;
		while (i < dn && i < 3 && d[i] >= '0' && d[i] <= '9')
			v = v * 10 + (unsigned)(d[i++] - '0');
		if (i == 0 || d[0] == '0' || !token_is(d + i, dn - i, "+json") ||
		    v > REST_MAX_VERSION)
			return;
		if (positive)
			a->versions |= 1u << v;
		return;
	}
	if (token_is(s, tlen, "application/vnd.a1.cuco+json") ||
	    token_is(s, tlen, "application/json") || token_is(s, tlen, "application/*") ||
	    token_is(s, tlen, "*/*")) {
		if (positive)
			a->json = true;
		if (!token_is(s, tlen, "application/json") && positive)
			a->problem = true;
		return;
	}
	if (token_is(s, tlen, "application/problem+json") && positive)
		a->problem = true;
}

int
rest_accept_parse(const char *s, struct rest_accept *ret)
{
	struct rest_accept a = {0};

	if (s == NULL || *s == '\0') {
		/* RFC 9110 §12.5.1: no Accept means any media type. */
		ret->json = ret->problem = true;
		ret->versions = 0;
		ret->vendor = false;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, ",");

		if (n > 0)
			accept_range(s, n, &a);
		s += n;
		if (*s == ',')
			s++;
	}
	*ret = a;
	return 0;
}

static bool
field_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '@';
}

int
rest_fields_parse(char *buf, const char *names[], unsigned max)
{
	unsigned n = 0;
	char *next = buf;

	/* strsep, not strtok: "a,,b" has an empty name, which is an error. */
	for (char *tok = strsep(&next, ","); tok; tok = strsep(&next, ",")) {
		char *end;

		while (*tok == ' ')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (*tok == '\0' || n == max)
			return -EINVAL;
		for (const char *c = tok; *c; c++)
			if (!field_char(*c))
				return -EINVAL;
		names[n++] = tok;
	}
	return n == 0 ? -EINVAL : (int)n;
}

void
rest_fields_apply(json_t *obj, const char *const names[], unsigned n)
{
	const char *key;
	json_t *val;
	void *tmp;

	if (!json_is_object(obj))
		return;
	json_object_foreach_safe(obj, tmp, key, val)
	{
		bool keep = strcmp(key, "id") == 0 || strcmp(key, "href") == 0 ||
			    strcmp(key, "@type") == 0;

		for (unsigned i = 0; i < n && !keep; i++)
			keep = strcmp(key, names[i]) == 0;
		if (!keep)
			json_object_del(obj, key);
	}
}

int
rest_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

bool
rest_etag_match(const char *header, const char *etag, bool weak)
{
	const char *p = header;
	size_t elen = strlen(etag);

	if (header == NULL)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '*') {
		const char *q = p + 1;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			return true;
	}
	/* RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a list. */
	while (*p) {
		bool is_weak = false;
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		if (*p != '"')
			return false;
		start = p;
		end = strchr(p + 1, '"');
		if (end == NULL)
			return false;
		end++;
		if ((!is_weak || weak) && (size_t)(end - start) == elen &&
		    memcmp(start, etag, elen) == 0)
			return true;
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return false;
	}
	return false;
}

int
rest_query_escape(char *out, size_t len, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		/* RFC 3986 §2.3: unreserved characters go as they are. */
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' ||
			     *c == '~' || *c == '@' || *c == ',';
		size_t need = plain ? 1 : 3;

		if (*pos + need >= len)
			return -ENOSPC;
		if (plain) {
			out[(*pos)++] = (char)*c;
		} else {
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[*c >> 4];
			out[(*pos)++] = hex[*c & 15];
		}
	}
	out[*pos] = '\0';
	return 0;
}

static int
append(char *out, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= len)
		return -ENOSPC;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return 0;
}

static int
link_one(const struct rest_uri *u, uint64_t limit, uint64_t offset, const char *rel, char *out,
	 size_t len, size_t *pos)
{
	char num[64];

	if ((*pos > 0 && append(out, len, pos, ", ") < 0) || append(out, len, pos, "<") < 0)
		return -ENOSPC;
	if (u->nseg == 0 && append(out, len, pos, "/") < 0)
		return -ENOSPC;
	for (unsigned i = 0; i < u->nseg; i++)
		if (append(out, len, pos, "/") < 0 || rest_query_escape(out, len, pos, u->seg[i]) < 0)
			return -ENOSPC;
	if (append(out, len, pos, "?") < 0)
		return -ENOSPC;
	for (unsigned i = 0; i < u->nquery; i++) {
		if (strcmp(u->query[i].key, "limit") == 0 || strcmp(u->query[i].key, "offset") == 0)
			continue;
		if (rest_query_escape(out, len, pos, u->query[i].key) < 0 ||
		    append(out, len, pos, "=") < 0 ||
		    rest_query_escape(out, len, pos, u->query[i].value) < 0 ||
		    append(out, len, pos, "&") < 0)
			return -ENOSPC;
	}
	snprintf(num, sizeof(num), "limit=%llu&offset=%llu>; rel=\"%s\"",
		 (unsigned long long)limit, (unsigned long long)offset, rel);
	return append(out, len, pos, num);
}

int
rest_link_build(const struct rest_uri *u, uint64_t limit, uint64_t offset, uint64_t total,
		char *out, size_t len)
{
	uint64_t last = total == 0 ? 0 : (total - 1) / limit * limit;
	size_t pos = 0;

	if (len == 0 || limit == 0)
		return -ENOSPC;
	out[0] = '\0';
	/* RFC 8288 §3: relative references resolve against the request's URI. */
	if (link_one(u, limit, 0, "first", out, len, &pos) < 0)
		return -ENOSPC;
	if (offset > 0 &&
	    link_one(u, limit, offset > limit ? offset - limit : 0, "prev", out, len, &pos) < 0)
		return -ENOSPC;
	if (offset + limit < total && link_one(u, limit, offset + limit, "next", out, len, &pos) < 0)
		return -ENOSPC;
	return link_one(u, limit, last, "last", out, len, &pos);
}
