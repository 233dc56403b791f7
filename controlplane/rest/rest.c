/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway server: libmicrohttpd callbacks and the order in which a
 * request meets the conventions (docs/rest.md):
 *
 *   headers: size 431, target 400, route 404/405, version 406/400,
 *            peer rate 429, credentials 401/403, principal rate 429,
 *            query 400, If-Match 428, media type 415, length 413
 *   body:    size 413, JSON 400, schema 422
 *   then:    Idempotency-Key replay or claim, handler, fields=, ETag/304
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "common/clock.h"
#include "controlplane/rest/rest_internal.h"

#define RATELIMIT_SLOTS 4096

static uint64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
log_error(const struct rest_server *s, const char *trace_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
log_error(const struct rest_server *s, const char *trace_id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (s->cfg.hooks.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->cfg.hooks.log(s->cfg.hooks.arg, trace_id ? trace_id : "", msg);
}

/* ---- answering ------------------------------------------------------------ */

static void
apply_fields(struct rest_ctx *ctx)
{
	size_t i;
	json_t *item;

	if (ctx->nfields == 0 || ctx->is_problem || ctx->status / 100 != 2)
		return;
	if (json_is_array(ctx->reply))
		json_array_foreach(ctx->reply, i, item)
			rest_fields_apply(item, ctx->fields, ctx->nfields);
	else
		rest_fields_apply(ctx->reply, ctx->fields, ctx->nfields);
}

/* RFC 9110 §8.8.3: a strong validator from the representation's bytes. */
static void
body_etag(char *out, size_t len, const char *body, size_t blen)
{
	unsigned char h[16];
	char hex[33];

	crypto_generichash(h, sizeof(h), (const unsigned char *)body, blen, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, len, "\"%s\"", hex);
}

/* The answer as it will be replayed for its Idempotency-Key. */
static void
idem_store(struct rest_ctx *ctx, unsigned status, const char *ctype, char *body, size_t len)
{
	const struct rest_hooks *h = &ctx->s->cfg.hooks;
	struct rest_idem_record rec = {.status = status, .body = body, .body_len = len};
	char *headers = NULL;
	size_t hlen = 0;
	FILE *f;

	ctx->idem_claimed = false;
	/* A server error is not an answer: a retry runs the request again. */
	if (status >= 500) {
		h->idem->release(h->idem_arg, ctx->idem_subject, ctx->idem_key);
		return;
	}
	f = open_memstream(&headers, &hlen);
	if (f == NULL)
		goto out_release;
	if (ctype)
		fprintf(f, "Content-Type: %s\r\n", ctype);
	if (ctx->etag[0])
		fprintf(f, "ETag: %s\r\n", ctx->etag);
	for (unsigned i = 0; i < ctx->nhdr; i++)
		fprintf(f, "%s: %s\r\n", ctx->hdr[i].name, ctx->hdr[i].value);
	if (fclose(f) != 0)
		goto out_release;
	snprintf(rec.request_hash, sizeof(rec.request_hash), "%s", ctx->idem_hash);
	rec.headers = headers;
	if (h->idem->put(h->idem_arg, ctx->idem_subject, ctx->idem_key, &rec) < 0) {
		log_error(ctx->s, ctx->trace_id, "idempotency store: cannot keep the answer for key %s",
			  ctx->idem_key);
		goto out_release;
	}
	free(headers);
	return;

out_release:
	free(headers);
	h->idem->release(h->idem_arg, ctx->idem_subject, ctx->idem_key);
}

static enum MHD_Result
queue(struct rest_ctx *ctx)
{
	struct rest_server *s = ctx->s;
	struct MHD_Response *resp;
	const char *ctype = NULL;
	unsigned status = ctx->status ? ctx->status : 500;
	char *body = NULL;
	size_t len = 0;
	enum MHD_Result ret;

	ctx->queued = true;
	if (ctx->raw_body) {
		body = ctx->raw_body;
		len = ctx->raw_len;
		ctx->raw_body = NULL;
		ctype = ctx->raw_type[0] ? ctx->raw_type : NULL;
	} else if (ctx->reply) {
		apply_fields(ctx);
		/* 15 digits: a decimal such as 29.9 prints as written, not as 29.899999999999999. */
		body = json_dumps(ctx->reply, JSON_COMPACT | JSON_REAL_PRECISION(15));
		if (body == NULL)
			return MHD_NO;
		len = strlen(body);
		ctype = ctx->is_problem ? "application/problem+json" : "application/json";
	}
	if (body && status == 200 && ctx->method == REST_GET && !ctx->is_problem &&
	    !ctx->replayed) {
		if (ctx->etag[0] == '\0')
			body_etag(ctx->etag, sizeof(ctx->etag), body, len);
		/* RFC 9110 §13.1.2: If-None-Match uses the weak comparison. */
		if (rest_etag_match(rest_ctx_header(ctx, MHD_HTTP_HEADER_IF_NONE_MATCH), ctx->etag,
				    true)) {
			status = 304;
			free(body);
			body = NULL;
			len = 0;
		}
	}
	if (ctx->idem_claimed)
		idem_store(ctx, status, ctype, body, len);
	resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
					       body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (ctype && status != 304)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (ctx->etag[0] && !ctx->is_problem)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, ctx->etag);
	for (unsigned i = 0; i < ctx->nhdr; i++)
		if (status != 304 || strcasecmp(ctx->hdr[i].name, "Link") != 0)
			MHD_add_response_header(resp, ctx->hdr[i].name, ctx->hdr[i].value);
	if (ctx->principal.traceparent[0])
		MHD_add_response_header(resp, "traceparent", ctx->principal.traceparent);
	if (ctx->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	pthread_mutex_lock(&s->lock);
	if (s->draining)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	pthread_mutex_unlock(&s->lock);
	ret = MHD_queue_response(ctx->conn, status, resp);
	MHD_destroy_response(resp);
	ctx->queued_status = status;
	return ret;
}

static enum MHD_Result fail(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext,
			    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Answer a problem now (takes @ext). */
static enum MHD_Result
fail(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	rest_reply_problem_ext(ctx, status, code, ext, "%s", detail);
	return queue(ctx);
}

/* ---- checks on the headers ------------------------------------------------ */

static enum MHD_Result
sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *sum = cls;

	*sum += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static void
peer_address(struct rest_ctx *ctx)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(ctx->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char *out = ctx->principal.remote;
	socklen_t len = sizeof(ctx->principal.remote);

	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, len);
	else
		snprintf(out, len, "unknown");
}

static void
trace_context(struct rest_ctx *ctx)
{
	const char *tp = rest_ctx_header(ctx, "traceparent");
	struct cuco_principal *p = &ctx->principal;

	/* W3C Trace Context §3.2: continue a valid trace, else start one. */
	if (cuco_traceparent_valid(tp))
		snprintf(p->traceparent, sizeof(p->traceparent), "%s", tp);
	else
		cuco_traceparent_new(p->traceparent, sizeof(p->traceparent));
	cuco_trace_id(p->traceparent, ctx->trace_id);
}

static void
supported_versions(const struct rest_server *s, char *out, size_t len, bool media)
{
	size_t pos = 0;

	out[0] = '\0';
	for (unsigned v = 1; v <= REST_MAX_VERSION && pos < len; v++) {
		if (!(s->routes.versions & (1u << v)))
			continue;
		pos += (size_t)snprintf(out + pos, len - pos,
					media ? "%sapplication/vnd.a1.cuco.v%u+json" : "%s%u",
					pos ? ", " : "", v);
	}
}

static unsigned
highest_bit(uint32_t m)
{
	return m ? 31u - (unsigned)__builtin_clz(m) : 0;
}

/* Which version of /api/ the request wants: URL, Accept, ?version=. */
static enum MHD_Result
negotiate(struct rest_ctx *ctx, bool *answered)
{
	struct rest_server *s = ctx->s;
	struct rest_uri *u = &ctx->uri;
	const char *qv = rest_uri_query(u, "version");
	uint32_t supported = s->routes.versions;
	unsigned url_v = 0, want = 0;
	struct rest_accept acc;
	char list[256];
	uint64_t v;

	*answered = true;
	rest_accept_parse(rest_ctx_header(ctx, MHD_HTTP_HEADER_ACCEPT), &acc);
	if (u->nseg == 0 || (strcmp(u->seg[0], "api") != 0 && strcmp(u->seg[0], "tmf-api") != 0)) {
		*answered = false;
		return MHD_YES;
	}
	if (strcmp(u->seg[0], "tmf-api") == 0) {
		/* TM Forum APIs carry their version in the URL only. */
		if (!acc.json && !acc.vendor)
			return fail(ctx, 406, "not-acceptable", NULL,
				    "this API answers application/json");
		*answered = false;
		return MHD_YES;
	}
	supported_versions(s, list, sizeof(list), false);
	if (u->nseg >= 2 && u->seg[1][0] == 'v' && rest_parse_uint(u->seg[1] + 1, 1000, &v) == 0 &&
	    v > 0) {
		url_v = (unsigned)v;
		if (url_v > REST_MAX_VERSION || !(supported & (1u << url_v)))
			return fail(ctx, 404, "unsupported-version", NULL,
				    "API version %u does not exist; supported versions: %s", url_v,
				    list);
	}
	if (qv != NULL) {
		if (rest_parse_uint(qv, REST_MAX_VERSION, &v) < 0 || !(supported & (1u << v)))
			return fail(ctx, 400, "unsupported-version", NULL,
				    "version=%.32s is not supported; supported versions: %s", qv,
				    list);
		if (url_v && v != url_v)
			return fail(ctx, 400, "unsupported-version", NULL,
				    "version=%u contradicts the URL's v%u", (unsigned)v, url_v);
		want = (unsigned)v;
	}
	want = url_v ? url_v : want;
	if (acc.versions) {
		uint32_t ok = acc.versions & supported & (want ? 1u << want : ~0u);

		if (ok && !want)
			want = highest_bit(ok);
		else if (!ok && !acc.json)
			goto out_not_acceptable;
	} else if (!acc.json) {
		goto out_not_acceptable;
	}
	ctx->version = want ? want : highest_bit(supported);
	if (!url_v) {
		/* /api/x is the latest or the negotiated version's /api/vN/x. */
		if (u->nseg == REST_MAX_SEGMENTS)
			return fail(ctx, 404, "not-found", NULL, "no route for %s", u->path);
		memmove(&u->seg[2], &u->seg[1], (u->nseg - 1) * sizeof(u->seg[0]));
		snprintf(ctx->vseg, sizeof(ctx->vseg), "v%u", ctx->version);
		u->seg[1] = ctx->vseg;
		u->nseg++;
	}
	*answered = false;
	return MHD_YES;

out_not_acceptable:
	supported_versions(s, list, sizeof(list), true);
	return fail(ctx, 406, "unsupported-version", NULL,
		    "no acceptable media type: this API answers application/json or %s", list);
}

static enum MHD_Result too_many(struct rest_ctx *ctx, unsigned retry, const char *what);

static enum MHD_Result
route(struct rest_ctx *ctx, bool *answered)
{
	struct rest_match m;
	char allow[64] = "";
	unsigned retry;

	*answered = true;
	rest_routes_match(&ctx->s->routes, ctx->method, ctx->uri.seg, ctx->uri.nseg, &m);
	if (m.e != NULL) {
		ctx->route = m.e;
		ctx->rm = m.e->metrics;
		*answered = false;
		return MHD_YES;
	}
	/* Misses count against the peer too: probing paths is not free. */
	if (!rest_ratelimit_take(ctx->s->rl_peer, ctx->principal.remote, cuco_monotonic_ms(),
				 &retry))
		return too_many(ctx, retry, "address");
	if (m.allow == 0)
		return fail(ctx, 404, "not-found", NULL, "no resource at %s", ctx->uri.path);
	for (unsigned i = 0; i < REST_METHOD_COUNT; i++) {
		if (!(m.allow & (1u << i)))
			continue;
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s%s",
			 allow[0] ? ", " : "", rest_method_name((enum rest_method)i),
			 i == REST_GET ? ", HEAD" : "");
	}
	/* RFC 9110 §15.5.6: 405 lists what the resource allows. */
	rest_ctx_add_header(ctx, MHD_HTTP_HEADER_ALLOW, allow);
	return fail(ctx, 405, "method-not-allowed", NULL, "%s is not allowed on %s; allowed: %s",
		    ctx->method_str, ctx->uri.path, allow);
}

static enum MHD_Result
too_many(struct rest_ctx *ctx, unsigned retry, const char *what)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", retry);
	rest_ctx_add_header(ctx, MHD_HTTP_HEADER_RETRY_AFTER, num);
	return fail(ctx, 429, "rate-limited", NULL, "too many requests from this %s; retry in %u s",
		    what, retry);
}

static void
role_names(uint32_t roles, char *out, size_t len)
{
	size_t pos = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < CUCO_ROLE_COUNT && pos < len; i++)
		if (roles & CUCO_ROLE_BIT(i))
			pos += (size_t)snprintf(out + pos, len - pos, "%s%s", pos ? ", " : "",
						cuco_role_name((enum cuco_role)i));
}

/* RFC 6750 §3: a Bearer challenge on every 401. */
static enum MHD_Result
unauthorized(struct rest_ctx *ctx, const char *code, const char *error, const char *detail)
{
	char challenge[96];

	snprintf(challenge, sizeof(challenge), "Bearer realm=\"cuco\"%s%s%s",
		 error ? ", error=\"" : "", error ? error : "", error ? "\"" : "");
	rest_ctx_add_header(ctx, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
	return fail(ctx, 401, code, NULL, "%s", detail);
}

static enum MHD_Result
authorize(struct rest_ctx *ctx, bool *answered)
{
	const struct rest_hooks *h = &ctx->s->cfg.hooks;
	const char *auth = rest_ctx_header(ctx, MHD_HTTP_HEADER_AUTHORIZATION);
	struct cuco_principal p = {0};
	uint32_t need = ctx->route->r->roles;
	char roles[128];

	*answered = true;
	if (need == 0 && !(ctx->route->r->flags & REST_ROUTE_AUTHENTICATED)) {
		*answered = false;
		return MHD_YES;
	}
	if (auth == NULL)
		return unauthorized(ctx, "unauthenticated", NULL,
				    "this resource needs credentials: Authorization: Bearer <token>");
	if (strncasecmp(auth, "Bearer ", 7) != 0)
		return unauthorized(ctx, "unauthenticated", "invalid_request",
				    "only the Bearer authentication scheme is accepted");
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (*auth == '\0' || h->authenticate(h->arg, auth, &p) < 0)
		return unauthorized(ctx, "invalid-token", "invalid_token",
				    "the bearer token is invalid or expired");
	snprintf(ctx->principal.subject, sizeof(ctx->principal.subject), "%s", p.subject);
	snprintf(ctx->principal.name, sizeof(ctx->principal.name), "%s", p.name);
	snprintf(ctx->principal.customer_id, sizeof(ctx->principal.customer_id), "%s",
		 p.customer_id);
	ctx->principal.roles = p.roles;
	if (need != 0 && !(p.roles & need)) {
		role_names(need, roles, sizeof(roles));
		return fail(ctx, 403, "forbidden", json_pack("{s:s}", "subject", p.subject),
			    "%s may not %s %s: this needs one of the roles %s", p.subject,
			    ctx->method_str, ctx->route->r->path, roles);
	}
	*answered = false;
	return MHD_YES;
}

/* limit, offset, fields= and attribute filters. */
static enum MHD_Result
query(struct rest_ctx *ctx, bool *answered)
{
	const struct rest_server *s = ctx->s;
	const struct rest_route *r = ctx->route->r;
	const char *limit = rest_uri_query(&ctx->uri, "limit");
	const char *offset = rest_uri_query(&ctx->uri, "offset");
	const char *fields = rest_uri_query(&ctx->uri, "fields");
	int n;

	*answered = true;
	ctx->limit = s->cfg.page_default;
	ctx->offset = 0;
	if (r->flags & REST_ROUTE_LIST) {
		if (limit && (rest_parse_uint(limit, s->cfg.page_max, &ctx->limit) < 0 ||
			      ctx->limit == 0))
			return fail(ctx, 400, "invalid-parameter",
				    json_pack("{s:s}", "parameter", "limit"),
				    "limit=%.32s: must be an integer from 1 to %u", limit,
				    s->cfg.page_max);
		if (offset && rest_parse_uint(offset, UINT32_MAX * 1000ull, &ctx->offset) < 0)
			return fail(ctx, 400, "invalid-parameter",
				    json_pack("{s:s}", "parameter", "offset"),
				    "offset=%.32s: must be a non-negative integer", offset);
	}
	if (fields) {
		ctx->fields_buf = strdup(fields);
		if (ctx->fields_buf == NULL)
			return MHD_NO;
		n = rest_fields_parse(ctx->fields_buf, ctx->fields, REST_MAX_FIELDS);
		if (n < 0)
			return fail(ctx, 400, "invalid-parameter",
				    json_pack("{s:s}", "parameter", "fields"),
				    "fields=%.64s: must be up to %d comma-separated attribute names",
				    fields, REST_MAX_FIELDS);
		ctx->nfields = (unsigned)n;
	}
	for (unsigned i = 0; r->filters && i < ctx->uri.nquery; i++) {
		const char *key = ctx->uri.query[i].key;
		bool known = rest_filter_reserved(key);
		char list[512] = "";

		for (const char *const *f = r->filters; *f && !known; f++)
			known = strcmp(*f, key) == 0;
		if (known)
			continue;
		for (const char *const *f = r->filters; *f; f++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", *f);
		return fail(ctx, 400, "unknown-filter", json_pack("{s:s}", "parameter", key),
			    "cannot filter on '%.64s'; filters: %s", key,
			    list[0] ? list : "(none)");
	}
	*answered = false;
	return MHD_YES;
}

static bool
media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Content-Type and Content-Length, before reading a byte of the body. */
static enum MHD_Result
body_headers(struct rest_ctx *ctx, bool *answered)
{
	const struct rest_server *s = ctx->s;
	const struct rest_route *r = ctx->route->r;
	const char *ct = rest_ctx_header(ctx, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cl = rest_ctx_header(ctx, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t len;

	*answered = true;
	if (r->request_schema == NULL) {
		*answered = false;
		return MHD_YES;
	}
	ctx->body_expected = true;
	if (ct == NULL || !(media_type_is(ct, "application/json") ||
			    (ctx->method == REST_PATCH &&
			     media_type_is(ct, "application/merge-patch+json")))) {
		if (ctx->method == REST_PATCH)
			rest_ctx_add_header(ctx, "Accept-Patch",
					    "application/merge-patch+json, application/json");
		return fail(ctx, 415, "unsupported-media-type", NULL,
			    "Content-Type %.64s: the body must be application/json%s",
			    ct ? ct : "(none)",
			    ctx->method == REST_PATCH ? " or application/merge-patch+json" : "");
	}
	if (cl && rest_parse_uint(cl, UINT64_MAX / 10, &len) == 0 && len > s->cfg.max_body)
		return fail(ctx, 413, "body-too-large", NULL,
			    "the body has %llu bytes; at most %zu are accepted",
			    (unsigned long long)len, s->cfg.max_body);
	*answered = false;
	return MHD_YES;
}

/* Everything known once the headers are in; the body follows. */
static enum MHD_Result
on_headers(struct rest_ctx *ctx)
{
	struct rest_server *s = ctx->s;
	size_t header_bytes = strlen(ctx->raw_uri);
	char err[256];
	unsigned retry;
	bool answered;
	enum MHD_Result ret;

	peer_address(ctx);
	trace_context(ctx);
	MHD_get_connection_values(ctx->conn, MHD_HEADER_KIND, sum_header, &header_bytes);
	if (header_bytes > s->cfg.max_header)
		return fail(ctx, 431, "headers-too-large", NULL,
			    "the request line and headers have %zu bytes; at most %zu are accepted",
			    header_bytes, s->cfg.max_header);
	if (rest_uri_parse(ctx->raw_uri, &ctx->uri, err, sizeof(err)) < 0)
		return fail(ctx, 400, "malformed-uri", NULL, "%s", err);
	if (rest_method_parse(ctx->method_str, &ctx->method, &ctx->head) < 0)
		ctx->method = REST_METHOD_COUNT;
	ret = negotiate(ctx, &answered);
	if (answered)
		return ret;
	ret = route(ctx, &answered);
	if (answered)
		return ret;
	if (!(ctx->route->r->flags & REST_ROUTE_NO_RATELIMIT) &&
	    !rest_ratelimit_take(s->rl_peer, ctx->principal.remote, cuco_monotonic_ms(), &retry))
		return too_many(ctx, retry, "address");
	ret = authorize(ctx, &answered);
	if (answered)
		return ret;
	if (ctx->principal.subject[0] && !(ctx->route->r->flags & REST_ROUTE_NO_RATELIMIT) &&
	    !rest_ratelimit_take(s->rl_token, ctx->principal.subject, cuco_monotonic_ms(), &retry))
		return too_many(ctx, retry, "principal");
	ret = query(ctx, &answered);
	if (answered)
		return ret;
	if ((ctx->route->r->flags & REST_ROUTE_IF_MATCH_REQUIRED) && rest_ctx_if_match(ctx) == NULL)
		return fail(ctx, 428, "if-match-required", NULL,
			    "%s %s needs If-Match with the entity tag of the resource as read",
			    ctx->method_str, ctx->uri.path);
	return body_headers(ctx, &answered);
}

/* ---- the body and the handler --------------------------------------------- */

static enum MHD_Result
on_data(struct rest_ctx *ctx, const char *data, size_t size)
{
	size_t max = ctx->s->cfg.max_body;

	if (ctx->body_too_large || ctx->body_len + size > max) {
		/* A chunked body has no length to refuse up front: drop it, then answer. */
		ctx->body_too_large = true;
		ctx->discarded += size;
		return ctx->discarded > 8 * max ? MHD_NO : MHD_YES;
	}
	if (ctx->body_len + size + 1 > ctx->body_cap) {
		size_t cap = ctx->body_cap ? ctx->body_cap : 4096;
		char *buf;

		while (cap < ctx->body_len + size + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		buf = realloc(ctx->body_buf, cap);
		if (buf == NULL)
			return MHD_NO;
		ctx->body_buf = buf;
		ctx->body_cap = cap;
	}
	memcpy(ctx->body_buf + ctx->body_len, data, size);
	ctx->body_len += size;
	return MHD_YES;
}

static enum MHD_Result
parse_body(struct rest_ctx *ctx, bool *answered)
{
	const struct rest_route *r = ctx->route->r;
	struct jschema_error verr;
	json_error_t jerr;
	int rc;

	*answered = true;
	if (ctx->body_too_large)
		return fail(ctx, 413, "body-too-large", NULL, "the body is larger than %zu bytes",
			    ctx->s->cfg.max_body);
	if (!ctx->body_expected) {
		if (ctx->body_len > 0)
			return fail(ctx, 400, "unexpected-body", NULL,
				    "%s %s takes no body", ctx->method_str, r->path);
		*answered = false;
		return MHD_YES;
	}
	if (ctx->body_len == 0)
		return fail(ctx, 400, "missing-body", NULL, "%s %s needs a JSON body (%s)",
			    ctx->method_str, r->path, r->request_schema);
	ctx->body = json_loadb(ctx->body_buf, ctx->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (ctx->body == NULL)
		return fail(ctx, 400, "malformed-json",
			    json_pack("{s:i, s:i}", "line", jerr.line, "column", jerr.column),
			    "the body is not valid JSON: %s at line %d, column %d", jerr.text,
			    jerr.line, jerr.column);
	rc = jschema_validate(ctx->s->schemas, r->request_schema, ctx->body, &verr);
	if (rc == -EINVAL)
		return fail(ctx, 422, "invalid-body",
			    json_pack("{s:s, s:s, s:s}", "field", verr.pointer, "keyword",
				      verr.keyword, "reason", verr.message),
			    "%s: %s", verr.pointer[0] ? verr.pointer : "the body", verr.message);
	if (rc < 0) {
		log_error(ctx->s, ctx->trace_id, "schema %s: validation failed: %s",
			  r->request_schema, strerror(-rc));
		return fail(ctx, 500, "internal-error", NULL, "the body could not be validated");
	}
	*answered = false;
	return MHD_YES;
}

static void
request_hash(struct rest_ctx *ctx)
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)ctx->method_str,
				  strlen(ctx->method_str) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)ctx->raw_uri,
				  strlen(ctx->raw_uri) + 1);
	if (ctx->body_len)
		crypto_hash_sha256_update(&st, (const unsigned char *)ctx->body_buf,
					  ctx->body_len);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(ctx->idem_hash, sizeof(ctx->idem_hash), h, sizeof(h));
}

static bool
replay_headers(struct rest_ctx *ctx, char *lines)
{
	char *save = NULL;

	for (char *l = strtok_r(lines, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(l, ':');

		if (colon == NULL)
			return false;
		*colon = '\0';
		if (strcasecmp(l, "Content-Type") == 0)
			snprintf(ctx->raw_type, sizeof(ctx->raw_type), "%s", colon + 2);
		else if (rest_ctx_add_header(ctx, l, colon + 2) < 0)
			return false;
	}
	return true;
}

/* Idempotency-Key on POST: returns true when the request was answered. */
static bool
idempotency(struct rest_ctx *ctx, enum MHD_Result *ret)
{
	const struct rest_hooks *h = &ctx->s->cfg.hooks;
	const char *key = rest_ctx_header(ctx, "Idempotency-Key");
	struct rest_idem_record rec = {0};
	int rc;

	if (ctx->method != REST_POST || key == NULL || h->idem == NULL)
		return false;
	if (key[0] == '\0' || strlen(key) > 255 || strpbrk(key, "\r\n\t") != NULL) {
		*ret = fail(ctx, 400, "invalid-parameter",
			    json_pack("{s:s}", "parameter", "Idempotency-Key"),
			    "Idempotency-Key must have 1 to 255 printable characters");
		return true;
	}
	ctx->idem_key = key;
	snprintf(ctx->idem_subject, sizeof(ctx->idem_subject), "%s",
		 ctx->principal.subject[0] ? ctx->principal.subject : "anonymous");
	request_hash(ctx);
	rc = rest_idem_acquire(h, ctx->idem_subject, key, ctx->idem_hash, ctx->s->cfg.idem_wait_ms,
			       &rec);
	if (rc == 0) {
		ctx->idem_claimed = true;
		return false;
	}
	if (rc == 1) {
		ctx->replayed = true;
		ctx->status = rec.status;
		ctx->raw_body = rec.body;
		ctx->raw_len = rec.body_len;
		rec.body = NULL;
		if (!replay_headers(ctx, rec.headers)) {
			rest_idem_record_clear(&rec);
			*ret = fail(ctx, 500, "internal-error", NULL, "a stored answer is corrupt");
			return true;
		}
		rest_idem_record_clear(&rec);
		*ret = queue(ctx);
		return true;
	}
	if (rc == -EILSEQ)
		*ret = fail(ctx, 422, "idempotency-key-reused", NULL,
			    "Idempotency-Key %.64s was used for a different request", key);
	else if (rc == -EBUSY)
		*ret = fail(ctx, 409, "idempotency-key-in-progress", NULL,
			    "a request with Idempotency-Key %.64s is still running", key);
	else
		*ret = fail(ctx, 503, "unavailable", NULL,
			    "the idempotency store is not available: %s", strerror(-rc));
	return true;
}

static enum MHD_Result
on_complete(struct rest_ctx *ctx)
{
	const struct rest_entry *e = ctx->route;
	enum MHD_Result ret;
	bool answered;
	int rc;

	ret = parse_body(ctx, &answered);
	if (answered)
		return ret;
	if (idempotency(ctx, &ret))
		return ret;
	rc = e->r->handler(ctx, e->data);
	if (rc < 0 && !ctx->is_problem) {
		unsigned status;
		const char *code;

		rest_errno_problem(rc, &status, &code);
		if (status >= 500)
			log_error(ctx->s, ctx->trace_id, "%s %s: %s", ctx->method_str, e->r->path,
				  strerror(-rc));
		rest_reply_problem(ctx, status, code, "%s %s: %s", ctx->method_str,
				   ctx->uri.path,
				   status >= 500 ? "the server could not answer" : strerror(-rc));
	} else if (ctx->status == 0) {
		ctx->status = 204;
	}
	return queue(ctx);
}

/* ---- libmicrohttpd callbacks ---------------------------------------------- */

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct rest_server *s = cls;
	struct rest_ctx *ctx = calloc(1, sizeof(*ctx));

	/* The raw target: we parse path and query ourselves (conventions.c). */
	if (ctx == NULL)
		return NULL;
	ctx->raw_uri = strdup(uri);
	if (ctx->raw_uri == NULL) {
		free(ctx);
		return NULL;
	}
	ctx->s = s;
	ctx->conn = conn;
	ctx->start_us = monotonic_us();
	pthread_mutex_lock(&s->lock);
	s->in_flight++;
	pthread_mutex_unlock(&s->lock);
	return ctx;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct rest_ctx *ctx = *con_cls;

	if (ctx == NULL)
		return MHD_NO;
	if (!ctx->started) {
		ctx->started = true;
		ctx->conn = conn;
		ctx->method_str = method;
		return on_headers(ctx);
	}
	if (ctx->queued) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		enum MHD_Result ret = on_data(ctx, upload_data, *upload_data_size);

		*upload_data_size = 0;
		return ret;
	}
	return on_complete(ctx);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct rest_server *s = cls;
	struct rest_ctx *ctx = *con_cls;
	const struct rest_hooks *h = &s->cfg.hooks;
	uint64_t us;

	if (ctx == NULL)
		return;
	*con_cls = NULL;
	us = monotonic_us() - ctx->start_us;
	if (ctx->idem_claimed)
		h->idem->release(h->idem_arg, ctx->idem_subject, ctx->idem_key);
	if (ctx->queued_status) {
		struct rest_route_metrics *rm = ctx->rm;

		if (rm == NULL)
			rm = rest_metrics_route(s->metrics, "unmatched",
						ctx->head ? "HEAD" : rest_method_name(ctx->method));
		rest_metrics_observe(s->metrics, rm, ctx->method_str, ctx->queued_status, us);
	}
	if (h->access_log) {
		struct rest_access a = {
			.method = ctx->method_str ? ctx->method_str : "",
			.path = ctx->uri.path ? ctx->uri.path : "",
			.route = ctx->route ? ctx->route->r->path : "",
			.remote = ctx->principal.remote,
			.subject = ctx->principal.subject,
			.trace_id = ctx->trace_id,
			.status = ctx->queued_status,
			.duration_us = us,
			.bytes_in = ctx->body_len + ctx->discarded,
			.replayed = ctx->replayed,
		};

		h->access_log(h->arg, &a);
	}
	rest_ctx_reset_reply(ctx);
	for (unsigned i = 0; i < ctx->nhdr; i++) {
		free(ctx->hdr[i].name);
		free(ctx->hdr[i].value);
	}
	json_decref(ctx->body);
	free(ctx->body_buf);
	free(ctx->fields_buf);
	free(ctx->raw_body);
	rest_uri_clear(&ctx->uri);
	free(ctx->raw_uri);
	free(ctx);
	pthread_mutex_lock(&s->lock);
	s->in_flight--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct rest_server *s = cls;
	char msg[512];
	size_t n;

	if (s->cfg.hooks.log == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	s->cfg.hooks.log(s->cfg.hooks.arg, "", msg);
}

/* ---- lifecycle ------------------------------------------------------------ */

void
rest_config_init(struct rest_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->address = "0.0.0.0";
	cfg->port = 8080;
	cfg->max_connections = 256;
	cfg->idle_timeout_s = 30;
	cfg->max_body = 1024 * 1024;
	cfg->max_header = 16 * 1024;
	cfg->page_default = 100;
	cfg->page_max = 1000;
	cfg->idem_wait_ms = 5000;
	cfg->title = "CuCo Edge API";
	cfg->version = "1";
	cfg->public_url = "/";
}

static char *
dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

int
rest_server_new(const struct rest_config *cfg, const struct jschema_registry *schemas,
		struct rest_server **ret_server, char *err, size_t errlen)
{
	struct rest_server *s;
	int rc;

	if (cfg->max_body == 0 || cfg->max_header < 1024 || cfg->page_default == 0 ||
	    cfg->page_max < cfg->page_default || cfg->max_connections == 0) {
		snprintf(err, errlen, "rest: max_body, max_header (>= 1024), page_default, "
				      "page_max (>= page_default) and max_connections must be set");
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "rest: libsodium cannot start");
		return -ENOMEM;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->cfg = *cfg;
	s->schemas = schemas;
	s->address = dup_or(cfg->address, "0.0.0.0");
	s->title = dup_or(cfg->title, "CuCo Edge API");
	s->version = dup_or(cfg->version, "1");
	s->public_url = dup_or(cfg->public_url, "/");
	s->metrics = rest_metrics_new();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (!s->address || !s->title || !s->version || !s->public_url || !s->metrics) {
		rc = -ENOMEM;
		goto out_free;
	}
	s->cfg.address = s->address;
	s->cfg.title = s->title;
	s->cfg.version = s->version;
	s->cfg.public_url = s->public_url;
	s->rl_peer = rest_ratelimit_new(cfg->peer_rate, cfg->peer_burst, RATELIMIT_SLOTS);
	s->rl_token = rest_ratelimit_new(cfg->token_rate, cfg->token_burst, RATELIMIT_SLOTS);
	if ((cfg->peer_rate > 0 && !s->rl_peer) || (cfg->token_rate > 0 && !s->rl_token)) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = rest_builtin_register(s, err, errlen);
	if (rc < 0)
		goto out_free;
	*ret_server = s;
	return 0;

out_free:
	rest_server_free(s);
	return rc;
}

int
rest_register(struct rest_server *s, const struct rest_route *routes, size_t n, void *data,
	      char *err, size_t errlen)
{
	size_t first = s->routes.n;
	int rc = 0;

	if (s->mhd != NULL) {
		snprintf(err, errlen, "rest: routes are registered before the server starts");
		return -EBUSY;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct rest_route *r = &routes[i];
		const char *missing = NULL;

		if (r->request_schema &&
		    (s->schemas == NULL || jschema_get(s->schemas, r->request_schema) == NULL))
			missing = r->request_schema;
		else if (r->response_schema && (s->schemas == NULL ||
						jschema_get(s->schemas, r->response_schema) == NULL))
			missing = r->response_schema;
		if (missing) {
			snprintf(err, errlen, "%s %s: no schema named '%s'",
				 rest_method_name(r->method), r->path ? r->path : "(null)", missing);
			rc = -ENOENT;
		} else if ((r->roles || (r->flags & REST_ROUTE_AUTHENTICATED)) &&
			   s->cfg.hooks.authenticate == NULL) {
			snprintf(err, errlen, "%s %s: needs roles but there is no authenticate hook",
				 rest_method_name(r->method), r->path ? r->path : "(null)");
			rc = -EINVAL;
		} else {
			rc = rest_routes_add(&s->routes, r, data, err, errlen);
		}
	}
	for (size_t i = first; i < s->routes.n && rc == 0; i++) {
		struct rest_entry *e = &s->routes.v[i];

		e->metrics = rest_metrics_route(s->metrics, e->r->path, rest_method_name(e->r->method));
		if (e->metrics == NULL)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		/* All or nothing: drop the routes of this table added so far. */
		for (size_t i = first; i < s->routes.n; i++)
			free(s->routes.v[i].pattern);
		s->routes.n = first;
	}
	return rc;
}

static int
listen_address(const char *address, uint16_t port, struct sockaddr_storage *ss, bool *ret_v6)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*ret_v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*ret_v6 = true;
		return 0;
	}
	return -EINVAL;
}

int
rest_server_start(struct rest_server *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	bool v6;

	if (s->mhd != NULL) {
		snprintf(err, errlen, "rest: already started");
		return -EBUSY;
	}
	if (listen_address(s->cfg.address, s->cfg.port, &ss, &v6) < 0) {
		snprintf(err, errlen, "rest: listen address '%s' is not an IPv4 or IPv6 address",
			 s->cfg.address);
		return -EINVAL;
	}
	json_decref(s->openapi);
	s->openapi = rest_openapi_build(&s->routes, s->schemas, s->cfg.title, s->cfg.version,
					s->cfg.public_url, s->cfg.page_max);
	if (s->openapi == NULL) {
		snprintf(err, errlen, "rest: cannot build the OpenAPI document");
		return -ENOMEM;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	/*
	 * libmicrohttpd answers 431 itself when the headers outgrow its
	 * per-connection pool; below that, on_headers() answers 431 with a
	 * problem document. The pool is larger so that ours is the usual one.
	 */
	s->mhd = MHD_start_daemon(
		/* The logger first, or libmicrohttpd complains through its own. */
		flags, s->cfg.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
		s, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(2 * s->cfg.max_header + 16384),
		MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
		s->cfg.idle_timeout_s, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
	if (s->mhd == NULL) {
		snprintf(err, errlen, "rest: cannot listen on %s port %u", s->cfg.address,
			 s->cfg.port);
		return -EADDRNOTAVAIL;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : s->cfg.port;
	return 0;
}

uint16_t
rest_server_port(const struct rest_server *s)
{
	return s->mhd ? s->port : 0;
}

json_t *
rest_openapi(const struct rest_server *s)
{
	if (s->openapi)
		return json_incref(s->openapi);
	return rest_openapi_build(&s->routes, s->schemas, s->cfg.title, s->cfg.version,
				  s->cfg.public_url, s->cfg.page_max);
}

int
rest_server_drain(struct rest_server *s, unsigned timeout_ms)
{
	struct timespec deadline;
	MHD_socket fd;
	int rc = 0;

	if (s->mhd == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	pthread_mutex_unlock(&s->lock);
	fd = MHD_quiesce_daemon(s->mhd);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	while (s->in_flight > 0 && rc == 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == ETIMEDOUT)
			rc = s->in_flight > 0 ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	/* MHD_quiesce_daemon() hands the listening socket over: it is ours to close. */
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	return rc;
}

struct rest_server *
rest_server_free(struct rest_server *s)
{
	if (s == NULL)
		return NULL;
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	rest_routes_clear(&s->routes);
	json_decref(s->openapi);
	rest_ratelimit_free(s->rl_peer);
	rest_ratelimit_free(s->rl_token);
	rest_metrics_free(s->metrics);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s->address);
	free(s->title);
	free(s->version);
	free(s->public_url);
	free(s);
	return NULL;
}
