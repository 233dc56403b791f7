/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_REST_INTERNAL_H
#define CUCO_CONTROLPLANE_REST_INTERNAL_H

/*
 * Inside the gateway: shared between its files, the unit test and the fuzz
 * target. Not an API for domains.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "controlplane/rest/rest.h"

#define REST_MAX_SEGMENTS 32
#define REST_MAX_QUERY 64
#define REST_MAX_FIELDS 64
#define REST_MAX_REPLY_HEADERS 24
#define REST_MAX_VERSION 31
#define REST_PROBLEM_TYPE "urn:cuco:problem:"

/* ---- parsing outside input (conventions.c) ------------------------------- */

struct rest_kv {
	char *key;
	char *value;
};

/* A request target split and percent-decoded; one allocation in @buf. */
struct rest_uri {
	char *buf;
	char *path; /* decoded path, for logs */
	const char *seg[REST_MAX_SEGMENTS];
	unsigned nseg;
	struct rest_kv query[REST_MAX_QUERY];
	unsigned nquery;
};

/*
 * Split @raw ("/a/b%20c?x=1&y") into segments and query parameters. Returns 0,
 * or -EINVAL with the reason in @err (bad escape, NUL, empty segment, too many
 * segments or parameters, duplicate parameter, not origin-form).
 */
int rest_uri_parse(const char *raw, struct rest_uri *ret, char *err, size_t errlen);
void rest_uri_clear(struct rest_uri *u);
const char *rest_uri_query(const struct rest_uri *u, const char *key);

/* What an Accept header allows (RFC 9110 §12.5.1). */
struct rest_accept {
	bool json;	   /* application/json or a range covering it, with q > 0 */
	bool problem;	   /* application/problem+json acceptable */
	uint32_t versions; /* bit N: application/vnd.a1.cuco.vN+json with q > 0 */
	bool vendor;	   /* some vnd.a1.cuco range named, acceptable or not */
};

/* Parse @s (NULL: everything acceptable). Returns 0 or -EINVAL. */
int rest_accept_parse(const char *s, struct rest_accept *ret);

/* "a,b, c" into names (pointers into @buf, which is modified). Returns the count or -EINVAL. */
int rest_fields_parse(char *buf, const char *names[], unsigned max);

/* Keep in @obj only @names plus id, href, @type. */
void rest_fields_apply(json_t *obj, const char *const names[], unsigned n);

/* A non-negative decimal integer no larger than @max. Returns 0 or -EINVAL. */
int rest_parse_uint(const char *s, uint64_t max, uint64_t *ret);

/*
 * Does the If-Match or If-None-Match value @header list @etag (quoted)?
 * @weak: weak comparison (If-None-Match, RFC 9110 §13.1.2), else strong.
 */
bool rest_etag_match(const char *header, const char *etag, bool weak);

/* Append @s percent-encoded as a query component to @out (size @len, at @pos). */
int rest_query_escape(char *out, size_t len, size_t *pos, const char *s);

/*
 * The Link header for a page: first, prev, next, last of @u's path and query
 * with limit and offset replaced. Returns 0 or -ENOSPC.
 */
int rest_link_build(const struct rest_uri *u, uint64_t limit, uint64_t offset, uint64_t total,
		    char *out, size_t len);

/* ---- routes (route.c) ---------------------------------------------------- */

struct rest_route_metrics;

struct rest_entry {
	const struct rest_route *r;
	void *data;
	const char *seg[REST_MAX_SEGMENTS]; /* pattern segments, into pattern */
	char *pattern;
	unsigned nseg;
	unsigned nliteral;
	int version; /* N of /api/vN/, else 0 */
	struct rest_route_metrics *metrics;
};

struct rest_routes {
	struct rest_entry *v;
	size_t n;
	uint32_t versions; /* bit N: some route under /api/vN/ */
};

struct rest_match {
	const struct rest_entry *e; /* NULL: 404 or 405 */
	unsigned allow;		    /* bit per method of routes matching the path */
};

int rest_routes_add(struct rest_routes *t, const struct rest_route *r, void *data, char *err,
		    size_t errlen);
void rest_routes_clear(struct rest_routes *t);
void rest_routes_match(const struct rest_routes *t, enum rest_method m, const char *const seg[],
		       unsigned nseg, struct rest_match *ret);
const char *rest_method_name(enum rest_method m);
int rest_method_parse(const char *s, enum rest_method *ret, bool *ret_head);

/* ---- problems (problem.c) ------------------------------------------------ */

/* A problem document (new reference). */
json_t *rest_problem_new(unsigned status, const char *code, const char *detail,
			 const char *instance, const char *trace_id);
const char *rest_status_title(unsigned status);
/* Handler errno to status and code. */
void rest_errno_problem(int err, unsigned *ret_status, const char **ret_code);

/* ---- rate limits (ratelimit.c) ------------------------------------------- */

struct rest_ratelimit;

/* Token buckets for up to @slots keys; NULL when @rate is 0 (no limit) or no memory. */
struct rest_ratelimit *rest_ratelimit_new(double rate, double burst, unsigned slots);
struct rest_ratelimit *rest_ratelimit_free(struct rest_ratelimit *rl);
/* Take a token for @key at @now_ms: true when allowed, else @ret_retry_s to wait. */
bool rest_ratelimit_take(struct rest_ratelimit *rl, const char *key, uint64_t now_ms,
			 unsigned *ret_retry_s);

/* ---- metrics (metrics.c) ------------------------------------------------- */

struct rest_metrics;

struct rest_metrics *rest_metrics_new(void);
struct rest_metrics *rest_metrics_free(struct rest_metrics *m);
/* Per-route series, owned by @m. */
struct rest_route_metrics *rest_metrics_route(struct rest_metrics *m, const char *pattern,
					      const char *method);
void rest_metrics_observe(struct rest_metrics *m, struct rest_route_metrics *rm,
			  const char *method, unsigned status, uint64_t duration_us);
/* The exposition text (malloc()ed), then @extra's lines. */
char *rest_metrics_render(struct rest_metrics *m, unsigned in_flight,
			  void (*extra)(void *arg, FILE *out), void *arg, size_t *ret_len);

/* ---- idempotency (idempotency.c) ---------------------------------------- */

/*
 * Claim @key for a request hashed @hash, or find its answer: 0 claimed (run
 * the request, then put or release), 1 answer in @ret (replay it), -EILSEQ
 * the key was used for another request, -EBUSY another request still holds
 * it after @wait_ms, another negative errno from the store.
 */
int rest_idem_acquire(const struct rest_hooks *h, const char *subject, const char *key,
		      const char *hash, unsigned wait_ms, struct rest_idem_record *ret);

/* ---- the server and a request (rest.c, ctx.c, builtin.c) ---------------- */

struct MHD_Daemon;
struct MHD_Connection;

struct rest_server {
	struct rest_config cfg; /* strings point into the copies below */
	char *address, *title, *version, *public_url;
	const struct jschema_registry *schemas;
	struct rest_routes routes;
	struct MHD_Daemon *mhd;
	uint16_t port;
	json_t *openapi;
	struct rest_ratelimit *rl_peer, *rl_token;
	struct rest_metrics *metrics;
	pthread_mutex_t lock; /* guards in_flight, draining */
	pthread_cond_t idle;
	unsigned in_flight;
	bool draining;
};

struct rest_header {
	char *name;
	char *value;
};

struct rest_ctx {
	struct rest_server *s;
	struct MHD_Connection *conn;
	uint64_t start_us;
	char *raw_uri;
	struct rest_uri uri;
	char vseg[8]; /* "vN" inserted into an unversioned /api/ path */
	const char *method_str;
	enum rest_method method; /* REST_METHOD_COUNT: not one we serve */
	bool head;
	bool started, queued;
	const struct rest_entry *route;
	struct rest_route_metrics *rm;
	struct cuco_principal principal;
	char trace_id[33];
	unsigned version;
	uint64_t limit, offset;
	char *fields_buf;
	const char *fields[REST_MAX_FIELDS];
	unsigned nfields;
	/* the body */
	char *body_buf;
	size_t body_len, body_cap, discarded;
	bool body_expected, body_too_large;
	json_t *body;
	/* Idempotency-Key */
	const char *idem_key;
	char idem_subject[64];
	char idem_hash[65];
	bool idem_claimed, replayed;
	/* the answer */
	unsigned status;
	json_t *reply;
	bool is_problem, is_list;
	char etag[130]; /* quoted */
	struct rest_header hdr[REST_MAX_REPLY_HEADERS];
	unsigned nhdr;
	char *raw_body; /* instead of @reply: metrics text, a replay */
	size_t raw_len;
	char raw_type[64];
	unsigned queued_status;
};

/* The request's answer so far is dropped (reply functions start with it). */
void rest_ctx_reset_reply(struct rest_ctx *ctx);
/* A header of the answer, copied. Returns 0, -EINVAL or -ENOSPC. */
int rest_ctx_add_header(struct rest_ctx *ctx, const char *name, const char *value);
/* limit, offset, fields, sort, version: never attribute filters. */
bool rest_filter_reserved(const char *key);
int rest_builtin_register(struct rest_server *s, char *err, size_t errlen);

/* ---- OpenAPI (openapi.c) ------------------------------------------------- */

json_t *rest_openapi_build(const struct rest_routes *t, const struct jschema_registry *schemas,
			   const char *title, const char *version, const char *server_url,
			   unsigned page_max);

#endif
