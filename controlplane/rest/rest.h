/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_REST_H
#define CUCO_CONTROLPLANE_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bss/core/principal.h"
#include "common/jschema.h"

/*
 * The REST gateway of cuco-controld: one HTTP server (libmicrohttpd) for the
 * TM Forum Open APIs under /tmf-api/<apiName>/v4/ and the appliance's own API
 * under /api/v<N>/. Domains register static route tables; the gateway applies
 * every convention once (authentication, RBAC, rate limits, body parsing and
 * JSON Schema validation, problem details, pagination, fields=, ETags,
 * If-Match, Idempotency-Key, versions, metrics, access log, OpenAPI), so that
 * a handler only makes its domain call and maps the result. docs/rest.md lists
 * the conventions, status codes and problem codes.
 *
 * Threading: libmicrohttpd runs one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION), at most rest_config.max_connections of them.
 * Handlers run on those threads, may block (database, bus) and may run
 * concurrently with each other, so a handler's @data must be thread-safe. All
 * hooks, except config-time ones, are called from those threads too. A
 * struct rest_ctx belongs to one request and one thread: never keep it after
 * the handler returns.
 *
 * Lifecycle: rest_server_new(), rest_register() for each domain's table,
 * rest_server_start(), and on SIGTERM rest_server_drain(), then
 * rest_server_free(). Registration is refused once started.
 */

struct rest_server;
struct rest_ctx;

enum rest_method {
	REST_GET = 0,
	REST_POST,
	REST_PUT,
	REST_PATCH,
	REST_DELETE,
	REST_METHOD_COUNT,
};

/* Route flags. */
enum {
	/* The handler answers a collection with rest_reply_list(): limit/offset accepted. */
	REST_ROUTE_LIST = 1u << 0,
	/* A write that needs If-Match: 428 "if-match-required" without it. */
	REST_ROUTE_IF_MATCH_REQUIRED = 1u << 1,
	/* Exempt from rate limits (probes, metrics scrapes). */
	REST_ROUTE_NO_RATELIMIT = 1u << 2,
	/* Not in the OpenAPI document. */
	REST_ROUTE_HIDDEN = 1u << 3,
	/*
	 * Valid credentials needed even with roles 0: any authenticated
	 * principal, also one holding no role (a first-login token changing
	 * its password).
	 */
	REST_ROUTE_AUTHENTICATED = 1u << 4,
};

/*
 * A handler: read the request through @ctx, make the domain call, answer with
 * one of the rest_reply_*() functions and return 0. Returning a negative errno
 * without a reply answers a problem (docs/rest.md: -EINVAL 400, -ENOENT 404,
 * -EEXIST/-EBUSY 409, -ESTALE 412, -EACCES/-EPERM 403, -EAGAIN 503,
 * -ETIMEDOUT 504, others 500). Returning 0 without a reply answers 204.
 * Called from a connection thread (see above); @data is rest_register()'s.
 */
typedef int (*rest_handler_fn)(struct rest_ctx *ctx, void *data);

/*
 * One route. Paths are literal segments and {name} segments, which match one
 * non-empty percent-decoded segment: "/tmf-api/customerManagement/v4/customer/{id}".
 * A GET route also answers HEAD.
 */
struct rest_route {
	enum rest_method method;
	const char *path;
	uint32_t roles; /* CUCO_ROLE_BIT() set, any of which grants; 0 = public (see flags) */
	const char *request_schema;  /* schema name in the registry, or NULL (no body) */
	const char *response_schema; /* for OpenAPI; of one element for REST_ROUTE_LIST */
	rest_handler_fn handler;
	const char *summary; /* OpenAPI summary */
	const char *tag;     /* OpenAPI tag: the domain */
	unsigned flags;	     /* REST_ROUTE_* */
	/* Filterable attributes (NULL-terminated), or NULL to accept any filter. */
	const char *const *filters;
};

/* ---- hooks the host provides -------------------------------------------- */

/*
 * The answer stored for an Idempotency-Key: enough to replay it. Strings are
 * malloc()ed; rest_idem_record_clear() frees them.
 */
struct rest_idem_record {
	char request_hash[65]; /* hex SHA-256 of method, path and body */
	unsigned status;
	char *headers; /* "Name: value\r\n" lines, Content-Type included */
	char *body;
	size_t body_len;
};

void rest_idem_record_clear(struct rest_idem_record *rec);

/*
 * Storage of Idempotency-Key answers, per (principal subject, key). The host
 * backs it with PostgreSQL; rest_idem_mem_ops is an in-memory one. Called from
 * connection threads, concurrently.
 */
struct rest_idem_ops {
	/*
	 * The completed answer for (@subject, @key): 0 and @ret filled (the
	 * caller clears it), -EBUSY while the request that claimed it runs,
	 * -ENOENT when none, another negative errno on failure.
	 */
	int (*get)(void *arg, const char *subject, const char *key, struct rest_idem_record *ret);
	/*
	 * Claim (@subject, @key) for a request hashed @hash, atomically: 0 when
	 * claimed (the caller then calls put() or release()), -EEXIST when it
	 * is claimed or completed already, another negative errno on failure.
	 */
	int (*begin)(void *arg, const char *subject, const char *key, const char *hash);
	/* Store the answer of a claimed key. Returns 0 or a negative errno. */
	int (*put)(void *arg, const char *subject, const char *key,
		   const struct rest_idem_record *rec);
	/* Drop a claim whose request did not complete (5xx): a retry runs again. */
	void (*release)(void *arg, const char *subject, const char *key);
};

extern const struct rest_idem_ops rest_idem_mem_ops;

/*
 * An in-memory store for rest_idem_mem_ops (tests, single process): at most
 * @max_entries keys, answers kept @ttl_s seconds. Returns NULL on no memory.
 */
struct rest_idem_mem *rest_idem_mem_new(size_t max_entries, unsigned ttl_s);
struct rest_idem_mem *rest_idem_mem_free(struct rest_idem_mem *m);

/* One line of the access log. */
struct rest_access {
	const char *method;
	const char *path;    /* as requested, without the query */
	const char *route;   /* the matching pattern, or "" */
	const char *remote;  /* peer address */
	const char *subject; /* principal subject, "" when anonymous */
	const char *trace_id;
	unsigned status; /* 0 when the connection ended before an answer */
	uint64_t duration_us;
	size_t bytes_in;
	bool replayed; /* answered from the idempotency store */
};

struct rest_hooks {
	void *arg; /* passed to every hook */
	/*
	 * Bearer token to principal: fill @ret (subject, name, roles,
	 * customer_id) and return 0, or a negative errno (401). The gateway
	 * writes remote and traceparent itself. Required when a route has roles.
	 */
	int (*authenticate)(void *arg, const char *token, struct cuco_principal *ret);
	/*
	 * /readyz: add one member per part to @checks ({"database": "ok",
	 * "bus": "no broker"}) and return 0 when ready, or a negative errno (503).
	 * NULL: always ready.
	 */
	int (*readiness)(void *arg, json_t *checks);
	/* /metrics: write the host's own lines (exposition format) to @out. */
	void (*metrics)(void *arg, FILE *out);
	/* One line per answered request. */
	void (*access_log)(void *arg, const struct rest_access *a);
	/* Errors the gateway cannot answer to anyone (store failures, server errors). */
	void (*log)(void *arg, const char *trace_id, const char *msg);
	/* Idempotency-Key storage; NULL: the header is ignored. */
	const struct rest_idem_ops *idem;
	void *idem_arg;
};

/* ---- configuration and lifecycle ---------------------------------------- */

struct rest_config {
	const char *address; /* listen address, IPv4 or IPv6 literal; default "0.0.0.0" */
	uint16_t port;	     /* default 8080; 0: an ephemeral port (rest_server_port()) */
	unsigned max_connections; /* default 256: also the number of threads */
	unsigned idle_timeout_s;  /* default 30 */
	size_t max_body;	  /* default 1 MiB: 413 beyond */
	size_t max_header;	  /* request line and headers, default 16 KiB: 431 beyond */
	unsigned page_default;	  /* default limit, 100 */
	unsigned page_max;	  /* largest limit, 1000 */
	double token_rate;	  /* requests per second per principal; 0: no limit */
	double token_burst;
	double peer_rate; /* requests per second per peer address; 0: no limit */
	double peer_burst;
	unsigned idem_wait_ms; /* how long a request waits for one with its key, 5000 */
	const char *title;     /* OpenAPI info.title */
	const char *version;   /* OpenAPI info.version */
	const char *public_url; /* OpenAPI servers[0].url, default "/" */
	struct rest_hooks hooks;
};

/* The defaults above. */
void rest_config_init(struct rest_config *cfg);

/*
 * A server for @cfg (copied, strings too) validating bodies against @schemas
 * (borrowed: must outlive the server; read from connection threads). It also
 * serves /healthz, /readyz, /metrics and /api/v1/openapi.json. Returns 0 and
 * @ret_server, -EINVAL with the reason in @err, or -ENOMEM.
 */
int rest_server_new(const struct rest_config *cfg, const struct jschema_registry *schemas,
		    struct rest_server **ret_server, char *err, size_t errlen);

/*
 * Add a domain's route table: @routes (borrowed, usually static: must outlive
 * the server), @n entries, handlers get @data. Before rest_server_start()
 * only. Returns 0, -EINVAL (bad pattern, missing handler, or roles without an
 * authenticate hook), -ENOENT (unknown schema name), -EEXIST (method and
 * pattern taken), -EBUSY (started), with the route and reason in @err.
 */
int rest_register(struct rest_server *s, const struct rest_route *routes, size_t n, void *data,
		  char *err, size_t errlen);

/* Listen and serve. Returns 0, or a negative errno with the reason in @err. */
int rest_server_start(struct rest_server *s, char *err, size_t errlen);

/* The port listened on (after rest_server_start()), or 0. */
uint16_t rest_server_port(const struct rest_server *s);

/*
 * SIGTERM: stop accepting connections, answer "Connection: close" from now
 * on, wait up to @timeout_ms for requests in flight to finish, then stop
 * (closing idle connections). Returns 0, or -ETIMEDOUT when requests were
 * still running at the deadline (they were then cut). Not from a handler.
 */
int rest_server_drain(struct rest_server *s, unsigned timeout_ms);

/* Stop if needed and free; accepts NULL, returns NULL. */
struct rest_server *rest_server_free(struct rest_server *s);

/* The OpenAPI 3.1 document of the registered routes (new reference), or NULL. */
json_t *rest_openapi(const struct rest_server *s);

/* ---- in a handler: the request ------------------------------------------ */

enum rest_method rest_ctx_method(const struct rest_ctx *ctx);

/* Path parameter {name}, percent-decoded, or NULL. */
const char *rest_ctx_param(const struct rest_ctx *ctx, const char *name);

/* Query parameter, percent-decoded, or NULL (reserved ones too). */
const char *rest_ctx_query(const struct rest_ctx *ctx, const char *name);

/*
 * Attribute filters: the query parameters other than the reserved ones
 * (limit, offset, fields, sort, version). When the route declares its
 * filters, only those reach the handler. rest_ctx_filter_at() returns false
 * past the last one.
 */
const char *rest_ctx_filter(const struct rest_ctx *ctx, const char *name);
bool rest_ctx_filter_at(const struct rest_ctx *ctx, unsigned i, const char **ret_name,
			const char **ret_value);

/* The page asked for (REST_ROUTE_LIST routes; defaults otherwise). */
void rest_ctx_page(const struct rest_ctx *ctx, uint64_t *ret_limit, uint64_t *ret_offset);

/* The parsed, validated body (borrowed), or NULL when there is none. */
const json_t *rest_ctx_body(const struct rest_ctx *ctx);

/* Who asks: subject "" on public routes. Borrowed. */
const struct cuco_principal *rest_ctx_principal(const struct rest_ctx *ctx);

/* A request header (case-insensitive), or NULL. */
const char *rest_ctx_header(const struct rest_ctx *ctx, const char *name);

/* The If-Match header, or NULL. */
const char *rest_ctx_if_match(const struct rest_ctx *ctx);

/*
 * Compare If-Match with the resource's current entity tag @current (opaque,
 * unquoted, as given to rest_reply_etag()): true when there is no If-Match or
 * it matches (RFC 9110 §13.1.1, strong comparison, "*" matches). Otherwise
 * answers 412 problem "stale-version" and returns false: the handler returns.
 */
bool rest_ctx_check_if_match(struct rest_ctx *ctx, const char *current);

/* The API version of the request (URL, Accept or ?version=); 0 outside /api/. */
unsigned rest_ctx_version(const struct rest_ctx *ctx);

/* ---- in a handler: the answer ------------------------------------------- */

/*
 * Answer @status with @body (stolen, also on failure; NULL: no body). The
 * gateway applies fields= and the ETag on reads. Returns 0 or -ENOMEM.
 */
int rest_reply_json(struct rest_ctx *ctx, unsigned status, json_t *body);

/*
 * Answer a page of a collection: @items (stolen array) out of @total. Adds
 * X-Total-Count, X-Result-Count and Link (first, prev, next, last).
 */
int rest_reply_list(struct rest_ctx *ctx, json_t *items, uint64_t total);

/*
 * Answer an RFC 9457 problem with the stable @code and a detail for people;
 * replaces any answer set before. _ext adds the members of @ext (stolen
 * object, may be NULL).
 */
int rest_reply_problem(struct rest_ctx *ctx, unsigned status, const char *code, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
int rest_reply_problem_ext(struct rest_ctx *ctx, unsigned status, const char *code, json_t *ext,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The entity tag of the answer, opaque and unquoted ("7", a version). */
int rest_reply_etag(struct rest_ctx *ctx, const char *opaque);

/* Location of a created resource. */
int rest_reply_location(struct rest_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Another header. Returns 0, -EINVAL (bad name or value) or -ENOSPC. */
int rest_reply_header(struct rest_ctx *ctx, const char *name, const char *value);

#endif
