/* SPDX-License-Identifier: BSD-3-Clause */
/* What a handler sees of a request, and how it answers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "controlplane/rest/rest_internal.h"

static const char *const reserved_params[] = {"limit", "offset", "fields", "sort", "version"};

static bool
reserved(const char *key)
{
	for (size_t i = 0; i < sizeof(reserved_params) / sizeof(reserved_params[0]); i++)
		if (strcmp(key, reserved_params[i]) == 0)
			return true;
	return false;
}

enum rest_method
rest_ctx_method(const struct rest_ctx *ctx)
{
	return ctx->method;
}

const char *
rest_ctx_param(const struct rest_ctx *ctx, const char *name)
{
	const struct rest_entry *e = ctx->route;
	size_t n = strlen(name);

	if (e == NULL)
		return NULL;
	for (unsigned i = 0; i < e->nseg && i < ctx->uri.nseg; i++) {
		const char *p = e->seg[i];

		if (p[0] == '{' && strlen(p) == n + 2 && strncmp(p + 1, name, n) == 0)
			return ctx->uri.seg[i];
	}
	return NULL;
}

const char *
rest_ctx_query(const struct rest_ctx *ctx, const char *name)
{
	return rest_uri_query(&ctx->uri, name);
}

const char *
rest_ctx_filter(const struct rest_ctx *ctx, const char *name)
{
	return reserved(name) ? NULL : rest_uri_query(&ctx->uri, name);
}

bool
rest_ctx_filter_at(const struct rest_ctx *ctx, unsigned i, const char **ret_name,
		   const char **ret_value)
{
	for (unsigned k = 0; k < ctx->uri.nquery; k++) {
		if (reserved(ctx->uri.query[k].key))
			continue;
		if (i-- == 0) {
			*ret_name = ctx->uri.query[k].key;
			*ret_value = ctx->uri.query[k].value;
			return true;
		}
	}
	return false;
}

bool
rest_filter_reserved(const char *key)
{
	return reserved(key);
}

void
rest_ctx_page(const struct rest_ctx *ctx, uint64_t *ret_limit, uint64_t *ret_offset)
{
	*ret_limit = ctx->limit;
	*ret_offset = ctx->offset;
}

const json_t *
rest_ctx_body(const struct rest_ctx *ctx)
{
	return ctx->body;
}

const struct cuco_principal *
rest_ctx_principal(const struct rest_ctx *ctx)
{
	return &ctx->principal;
}

const char *
rest_ctx_header(const struct rest_ctx *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, name);
}

const char *
rest_ctx_if_match(const struct rest_ctx *ctx)
{
	return rest_ctx_header(ctx, MHD_HTTP_HEADER_IF_MATCH);
}

unsigned
rest_ctx_version(const struct rest_ctx *ctx)
{
	return ctx->version;
}

bool
rest_ctx_check_if_match(struct rest_ctx *ctx, const char *current)
{
	const char *im = rest_ctx_if_match(ctx);
	char etag[sizeof(ctx->etag)];

	if (im == NULL)
		return true;
	snprintf(etag, sizeof(etag), "\"%s\"", current);
	/* RFC 9110 §13.1.1: If-Match uses the strong comparison. */
	if (rest_etag_match(im, etag, false))
		return true;
	rest_reply_problem_ext(ctx, 412, "stale-version", json_pack("{s:s}", "currentEtag", etag),
			       "the resource changed: If-Match %.100s does not match its current "
			       "entity tag %s; read it again and retry",
			       im, etag);
	return false;
}

/* ---- the answer ----------------------------------------------------------- */

void
rest_ctx_reset_reply(struct rest_ctx *ctx)
{
	json_decref(ctx->reply);
	ctx->reply = NULL;
	ctx->status = 0;
	ctx->is_problem = ctx->is_list = false;
}

static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static bool
header_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

int
rest_ctx_add_header(struct rest_ctx *ctx, const char *name, const char *value)
{
	struct rest_header *h;

	if (!header_name_ok(name) || !header_value_ok(value))
		return -EINVAL;
	if (ctx->nhdr == REST_MAX_REPLY_HEADERS)
		return -ENOSPC;
	h = &ctx->hdr[ctx->nhdr];
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return -ENOMEM;
	}
	ctx->nhdr++;
	return 0;
}

int
rest_reply_json(struct rest_ctx *ctx, unsigned status, json_t *body)
{
	rest_ctx_reset_reply(ctx);
	ctx->status = status;
	ctx->reply = body;
	return 0;
}

int
rest_reply_list(struct rest_ctx *ctx, json_t *items, uint64_t total)
{
	char num[32], *link;
	size_t len;
	int rc;

	if (!json_is_array(items)) {
		json_decref(items);
		return -EINVAL;
	}
	rest_reply_json(ctx, 200, items);
	ctx->is_list = true;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)total);
	rc = rest_ctx_add_header(ctx, "X-Total-Count", num);
	snprintf(num, sizeof(num), "%zu", json_array_size(items));
	if (rc == 0)
		rc = rest_ctx_add_header(ctx, "X-Result-Count", num);
	if (rc < 0 || ctx->limit == 0)
		return rc;
	/* Four links, each the path and query escaped at most three times over. */
	len = 4 * (3 * strlen(ctx->raw_uri) + 128);
	link = malloc(len);
	if (link == NULL)
		return -ENOMEM;
	rc = rest_link_build(&ctx->uri, ctx->limit, ctx->offset, total, link, len);
	if (rc == 0)
		rc = rest_ctx_add_header(ctx, "Link", link);
	free(link);
	return rc;
}

static int problem_v(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext,
		     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int
problem_v(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext, const char *fmt,
	  va_list ap)
{
	char detail[1024];
	json_t *p;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	rest_ctx_reset_reply(ctx);
	ctx->etag[0] = '\0';
	p = rest_problem_new(status, code, detail, ctx->uri.path, ctx->trace_id);
	if (p == NULL) {
		json_decref(ext);
		return -ENOMEM;
	}
	if (ext)
		json_object_update(p, ext);
	json_decref(ext);
	ctx->status = status;
	ctx->reply = p;
	ctx->is_problem = true;
	return 0;
}

int
rest_reply_problem(struct rest_ctx *ctx, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = problem_v(ctx, status, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
rest_reply_problem_ext(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext,
		       const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = problem_v(ctx, status, code, ext, fmt, ap);
	va_end(ap);
	return rc;
}

int
rest_reply_etag(struct rest_ctx *ctx, const char *opaque)
{
	/* RFC 9110 §8.8.3: etagc excludes DQUOTE, controls and space. */
	for (const char *c = opaque; *c; c++)
		if (*c == '"' || (unsigned char)*c <= 0x20 || *c == 0x7f)
			return -EINVAL;
	if (strlen(opaque) + 3 > sizeof(ctx->etag))
		return -EINVAL;
	snprintf(ctx->etag, sizeof(ctx->etag), "\"%s\"", opaque);
	return 0;
}

int
rest_reply_location(struct rest_ctx *ctx, const char *fmt, ...)
{
	char loc[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(loc, sizeof(loc), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(loc))
		return -EINVAL;
	return rest_ctx_add_header(ctx, MHD_HTTP_HEADER_LOCATION, loc);
}

int
rest_reply_header(struct rest_ctx *ctx, const char *name, const char *value)
{
	return rest_ctx_add_header(ctx, name, value);
}
