/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The REST gateway over real sockets: a server on 127.0.0.1 with demo routes
 * and schemas, a fake authentication hook and the in-memory idempotency
 * store, spoken to in raw HTTP/1.1 as a client would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "controlplane/rest/rest.h"

/* ---- a tiny HTTP/1.1 client ----------------------------------------------- */

struct resp {
	int status;
	char head[32768];
	char *body;
	size_t body_len;
};

static int
dial(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send @req (the server may answer before reading it all), read to EOF. */
static int
exchange(uint16_t port, const char *req, size_t len, struct resp *r)
{
	char *buf = NULL, *sep;
	size_t n = 0, cap = 0;
	int fd = dial(port);

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (;;) {
		ssize_t got;

		if (n + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		got = recv(fd, buf + n, cap - n - 1, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (buf == NULL)
		return -1;
	buf[n] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (sep == NULL || sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) {
		free(buf);
		return -1;
	}
	snprintf(r->head, sizeof(r->head), "%.*s\r\n", (int)(sep - buf), buf);
	r->body_len = n - (size_t)(sep + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	return 0;
}

static int
http(uint16_t port, const char *method, const char *target, const char *headers,
     const char *body, struct resp *r)
{
	char req[65536];
	int n;

	if (body)
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, target, headers ? headers : "", strlen(body), body);
	else
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s\r\n",
			     method, target, headers ? headers : "");
	assert_true(n > 0 && (size_t)n < sizeof(req));
	return exchange(port, req, (size_t)n, r);
}

static void
resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* The value of header @name, copied into a static buffer, or NULL. */
static const char *
header(const struct resp *r, const char *name)
{
	static __thread char value[8192];
	size_t n = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;

			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(end - v), v);
			return value;
		}
	}
	return NULL;
}

static json_t *
body_json(const struct resp *r)
{
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);

	assert_non_null(j);
	return j;
}

/* A problem document with @code, and its content type. */
static void
assert_problem(const struct resp *r, int status, const char *code)
{
	json_t *j;

	if (r->status != status)
		fprintf(stderr, "expected %d, got %d: %s\n", status, r->status, r->body);
	assert_int_equal(r->status, status);
	assert_non_null(header(r, "Content-Type"));
	assert_string_equal(header(r, "Content-Type"), "application/problem+json");
	j = body_json(r);
	assert_string_equal(json_string_value(json_object_get(j, "code")), code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
	assert_non_null(json_string_value(json_object_get(j, "title")));
	assert_non_null(json_string_value(json_object_get(j, "type")));
	assert_non_null(json_string_value(json_object_get(j, "detail")));
	json_decref(j);
}

/* ---- the demo domain ------------------------------------------------------ */

#define ADMIN "Authorization: Bearer admin\r\n"
#define READER "Authorization: Bearer reader\r\n"
#define JSON_CT "Content-Type: application/json\r\n"

static int create_calls;
static pthread_mutex_t calls_lock = PTHREAD_MUTEX_INITIALIZER;
static bool ready = true;
static int access_lines;

static int
fake_auth(void *arg, const char *token, struct cuco_principal *ret)
{
	if (strcmp(token, "admin") == 0) {
		snprintf(ret->subject, sizeof(ret->subject), "u-admin");
		ret->roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN);
		return 0;
	}
	if (strcmp(token, "reader") == 0) {
		snprintf(ret->subject, sizeof(ret->subject), "u-reader");
		ret->roles = CUCO_ROLE_BIT(CUCO_ROLE_READONLY);
		return 0;
	}
	if (strcmp(token, "nobody") == 0) {
		snprintf(ret->subject, sizeof(ret->subject), "u-nobody");
		return 0;
	}
	return -EACCES;
}

static int
fake_ready(void *arg, json_t *checks)
{
	json_object_set_new(checks, "database", json_string(ready ? "ok" : "connection refused"));
	json_object_set_new(checks, "bus", json_string("ok"));
	return ready ? 0 : -EAGAIN;
}

static void
host_metrics(void *arg, FILE *out)
{
	fputs("# TYPE cuco_outbox_lag gauge\ncuco_outbox_lag{domain=\"demo\"} 0\n", out);
}

/* On a server thread: counts, and the test thread asserts. */
static int bad_access_lines;

static void
access_log(void *arg, const struct rest_access *a)
{
	pthread_mutex_lock(&calls_lock);
	access_lines++;
	/* Status 0: libmicrohttpd answered before the gateway saw the request. */
	if (a->status != 0 && (strlen(a->trace_id) != 32 || a->method[0] == '\0'))
		bad_access_lines++;
	pthread_mutex_unlock(&calls_lock);
}

static json_t *
widget(unsigned i)
{
	char id[16], href[64];

	snprintf(id, sizeof(id), "%u", i);
	snprintf(href, sizeof(href), "/api/v1/widgets/%u", i);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "id", id, "href", href, "@type",
			 "Widget", "name", "w", "color", "red", "size", (int)i);
}

static int
list_widgets(struct rest_ctx *ctx, void *data)
{
	uint64_t limit, offset, total = 250;
	const char *color = rest_ctx_filter(ctx, "color");
	json_t *items = json_array();

	rest_ctx_page(ctx, &limit, &offset);
	for (uint64_t i = offset; i < total && i < offset + limit; i++) {
		json_t *w = widget((unsigned)i);

		if (color)
			json_object_set_new(w, "color", json_string(color));
		json_array_append_new(items, w);
	}
	return rest_reply_list(ctx, items, total);
}

static int
get_widget(struct rest_ctx *ctx, void *data)
{
	const char *id = rest_ctx_param(ctx, "id");

	if (strcmp(id, "404") == 0)
		return -ENOENT;
	return rest_reply_json(ctx, 200, widget((unsigned)atoi(id)));
}

static int
create_widget(struct rest_ctx *ctx, void *data)
{
	const json_t *body = rest_ctx_body(ctx);
	const char *name = json_string_value(json_object_get(body, "name"));
	int n;

	pthread_mutex_lock(&calls_lock);
	n = ++create_calls;
	pthread_mutex_unlock(&calls_lock);
	if (strcmp(name, "slow") == 0)
		usleep(300 * 1000);
	rest_reply_location(ctx, "/api/v1/widgets/%d", 1000 + n);
	return rest_reply_json(ctx, 201, json_pack("{s:i, s:s}", "id", 1000 + n, "name", name));
}

static int
patch_widget(struct rest_ctx *ctx, void *data)
{
	if (!rest_ctx_check_if_match(ctx, "v7"))
		return 0;
	rest_reply_etag(ctx, "v8");
	return rest_reply_json(ctx, 200, widget(7));
}

static int
delete_widget(struct rest_ctx *ctx, void *data)
{
	return rest_ctx_check_if_match(ctx, "v7") ? 0 : -ESTALE;
}

static int
slow(struct rest_ctx *ctx, void *data)
{
	usleep(400 * 1000);
	return rest_reply_json(ctx, 200, json_pack("{s:s}", "status", "done"));
}

static int
whoami(struct rest_ctx *ctx, void *data)
{
	return rest_reply_json(ctx, 200,
			       json_pack("{s:s}", "subject", rest_ctx_principal(ctx)->subject));
}

static int
get_offering(struct rest_ctx *ctx, void *data)
{
	return rest_reply_json(ctx, 200, json_pack("{s:s, s:s}", "id", rest_ctx_param(ctx, "id"),
						   "@type", "ProductOffering"));
}

static const char *const widget_filters[] = {"color", NULL};
#define RO (CUCO_ROLE_BIT(CUCO_ROLE_READONLY) | CUCO_ROLE_BIT(CUCO_ROLE_ADMIN))
#define RW CUCO_ROLE_BIT(CUCO_ROLE_ADMIN)

static const struct rest_route demo_routes[] = {
	{REST_GET, "/api/v1/widgets", RO, NULL, "Widget", list_widgets, "List widgets", "demo",
	 REST_ROUTE_LIST, widget_filters},
	{REST_POST, "/api/v1/widgets", RW, "WidgetCreate", "Widget", create_widget,
	 "Create a widget", "demo", 0, NULL},
	{REST_GET, "/api/v1/widgets/{id}", RO, NULL, "Widget", get_widget, "Read a widget", "demo",
	 0, NULL},
	{REST_PATCH, "/api/v1/widgets/{id}", RW, "WidgetPatch", "Widget", patch_widget,
	 "Change a widget", "demo", 0, NULL},
	{REST_DELETE, "/api/v1/widgets/{id}", RW, NULL, NULL, delete_widget, "Delete a widget",
	 "demo", REST_ROUTE_IF_MATCH_REQUIRED, NULL},
	{REST_GET, "/api/v1/slow", 0, NULL, NULL, slow, "Take a while", "demo", 0, NULL},
	{REST_GET, "/api/v1/me", 0, NULL, NULL, whoami, "Who am I", "demo", REST_ROUTE_AUTHENTICATED,
	 NULL},
	{REST_GET, "/tmf-api/productCatalogManagement/v4/productOffering/{id}", RO, NULL, NULL,
	 get_offering, "Read an offering", "catalog", 0, NULL},
};

static struct jschema_registry *
demo_schemas(void)
{
	static const char *const defs[][2] = {
		{"Color", "{\"type\": \"string\", \"minLength\": 1}"},
		{"Widget", "{\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"string\"},"
			   "\"name\": {\"type\": \"string\"}, \"color\": {\"$ref\": "
			   "\"#/components/schemas/Color\"}}}"},
		{"WidgetCreate",
		 "{\"type\": \"object\", \"required\": [\"name\"], \"additionalProperties\": false,"
		 "\"properties\": {\"name\": {\"type\": \"string\", \"minLength\": 1},"
		 "\"size\": {\"type\": \"integer\", \"minimum\": 0},"
		 "\"color\": {\"$ref\": \"#/components/schemas/Color\"}}}"},
		{"WidgetPatch", "{\"type\": \"object\", \"additionalProperties\": false,"
				"\"properties\": {\"name\": {\"type\": \"string\"}}}"},
	};
	struct jschema_registry *r = jschema_registry_new();
	char err[256];

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		json_t *s = json_loads(defs[i][1], 0, NULL);

		assert_non_null(s);
		assert_int_equal(jschema_add(r, defs[i][0], s, err, sizeof(err)), 0);
		json_decref(s);
	}
	assert_int_equal(jschema_registry_check(r, err, sizeof(err)), 0);
	return r;
}

struct fixture {
	struct jschema_registry *schemas;
	struct rest_idem_mem *idem;
	struct rest_server *s;
	uint16_t port;
};

static struct fixture main_fx;

static void
start(struct fixture *fx, void (*tune)(struct rest_config *))
{
	struct rest_config cfg;
	char err[256];
	int rc;

	fx->schemas = demo_schemas();
	fx->idem = rest_idem_mem_new(1024, 3600);
	rest_config_init(&cfg);
	cfg.address = "127.0.0.1";
	cfg.port = 0;
	cfg.max_body = 4096;
	cfg.max_header = 4096;
	cfg.hooks.authenticate = fake_auth;
	cfg.hooks.readiness = fake_ready;
	cfg.hooks.metrics = host_metrics;
	cfg.hooks.access_log = access_log;
	cfg.hooks.idem = &rest_idem_mem_ops;
	cfg.hooks.idem_arg = fx->idem;
	if (tune)
		tune(&cfg);
	rc = rest_server_new(&cfg, fx->schemas, &fx->s, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	rc = rest_register(fx->s, demo_routes, sizeof(demo_routes) / sizeof(demo_routes[0]), NULL,
			   err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(rest_server_start(fx->s, err, sizeof(err)), 0);
	fx->port = rest_server_port(fx->s);
	assert_true(fx->port > 0);
}

static void
stop(struct fixture *fx)
{
	fx->s = rest_server_free(fx->s);
	fx->idem = rest_idem_mem_free(fx->idem);
	fx->schemas = jschema_registry_free(fx->schemas);
}

static int
group_setup(void **state)
{
	start(&main_fx, NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	stop(&main_fx);
	return 0;
}

#define PORT (main_fx.port)

/* ---- tests ---------------------------------------------------------------- */

static void
test_register_errors(void **state)
{
	static const struct rest_route bad_schema[] = {
		{REST_POST, "/api/v1/x", RW, "NoSuchSchema", NULL, slow, NULL, NULL, 0, NULL},
	};
	static const struct rest_route bad_path[] = {
		{REST_GET, "api/v1/x", 0, NULL, NULL, slow, NULL, NULL, 0, NULL},
	};
	static const struct rest_route dup[] = {
		{REST_GET, "/api/v1/widgets/{other}", 0, NULL, NULL, slow, NULL, NULL, 0, NULL},
	};
	struct jschema_registry *schemas = demo_schemas();
	struct rest_server *s;
	struct rest_config cfg;
	char err[256];

	rest_config_init(&cfg);
	cfg.hooks.authenticate = fake_auth;
	assert_int_equal(rest_server_new(&cfg, schemas, &s, err, sizeof(err)), 0);
	assert_int_equal(rest_register(s, bad_schema, 1, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "NoSuchSchema"));
	assert_int_equal(rest_register(s, bad_path, 1, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(rest_register(s, demo_routes, 3, NULL, err, sizeof(err)), 0);
	assert_int_equal(rest_register(s, dup, 1, NULL, err, sizeof(err)), -EEXIST);
	rest_server_free(s);
	jschema_registry_free(schemas);
}

static void
test_not_found_and_method(void **state)
{
	struct resp r;

	assert_int_equal(http(PORT, "GET", "/api/v1/nothing", READER, NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/nowhere/at/all", NULL, NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	resp_free(&r);
	assert_int_equal(http(PORT, "PUT", "/api/v1/widgets", ADMIN, NULL, &r), 0);
	assert_problem(&r, 405, "method-not-allowed");
	assert_non_null(header(&r, "Allow"));
	assert_non_null(strstr(header(&r, "Allow"), "GET"));
	assert_non_null(strstr(header(&r, "Allow"), "POST"));
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/%zz", READER, NULL, &r), 0);
	assert_problem(&r, 400, "malformed-uri");
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/404", READER, NULL, &r), 0);
	assert_problem(&r, 404, "not-found");
	resp_free(&r);
}

static void
test_auth_matrix(void **state)
{
	struct resp r;

	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", NULL, NULL, &r), 0);
	assert_problem(&r, 401, "unauthenticated");
	assert_non_null(header(&r, "WWW-Authenticate"));
	assert_int_equal(strncmp(header(&r, "WWW-Authenticate"), "Bearer", 6), 0);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", "Authorization: Bearer forged\r\n",
			      NULL, &r),
			 0);
	assert_problem(&r, 401, "invalid-token");
	assert_non_null(strstr(header(&r, "WWW-Authenticate"), "invalid_token"));
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", "Authorization: Basic YTpi\r\n",
			      NULL, &r),
			 0);
	assert_problem(&r, 401, "unauthenticated");
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", "Authorization: Bearer nobody\r\n",
			      NULL, &r),
			 0);
	assert_problem(&r, 403, "forbidden");
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", READER JSON_CT, "{\"name\":\"a\"}",
			      &r),
			 0);
	assert_problem(&r, 403, "forbidden");
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, "{\"name\":\"a\"}",
			      &r),
			 0);
	assert_int_equal(r.status, 201);
	assert_non_null(header(&r, "Location"));
	resp_free(&r);
	/* Authenticated without a role: any valid principal, none without one. */
	assert_int_equal(http(PORT, "GET", "/api/v1/me", "Authorization: Bearer nobody\r\n", NULL,
			      &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "u-nobody"));
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/me", NULL, NULL, &r), 0);
	assert_problem(&r, 401, "unauthenticated");
	resp_free(&r);
	/* Public routes need nothing. */
	assert_int_equal(http(PORT, "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* A path parameter is one segment, percent-decoded: "%2F" does not split it. */
	assert_int_equal(http(PORT, "GET",
			      "/tmf-api/productCatalogManagement/v4/productOffering/o%2F1",
			      READER, NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"id\":\"o/1\""));
	resp_free(&r);
}

static void
test_bodies(void **state)
{
	struct resp r;
	json_t *j;
	char big[8192];

	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, "{\"name\":", &r), 0);
	assert_problem(&r, 400, "malformed-json");
	j = body_json(&r);
	assert_true(json_is_integer(json_object_get(j, "line")));
	assert_true(json_is_integer(json_object_get(j, "column")));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT,
			      "{\"name\":\"a\",\"name\":\"b\"}", &r),
			 0);
	assert_problem(&r, 400, "malformed-json");
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, "{\"name\":5}", &r), 0);
	assert_problem(&r, 422, "invalid-body");
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "field")), "/name");
	assert_non_null(json_string_value(json_object_get(j, "reason")));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT,
			      "{\"name\":\"a\",\"extra\":1}", &r),
			 0);
	assert_problem(&r, 422, "invalid-body");
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "field")), "/extra");
	assert_string_equal(json_string_value(json_object_get(j, "keyword")),
			    "additionalProperties");
	json_decref(j);
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN "Content-Type: text/plain\r\n",
			      "{\"name\":\"a\"}", &r),
			 0);
	assert_problem(&r, 415, "unsupported-media-type");
	resp_free(&r);
	assert_int_equal(http(PORT, "PATCH", "/api/v1/widgets/7",
			      ADMIN "Content-Type: application/merge-patch+json\r\n",
			      "{\"name\":\"b\"}", &r),
			 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, "", &r), 0);
	assert_problem(&r, 400, "missing-body");
	resp_free(&r);
	/* 413 from Content-Length, before the body is read. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, big, &r), 0);
	assert_problem(&r, 413, "body-too-large");
	resp_free(&r);
	/* 413 for a chunked body that grows past the limit. */
	{
		char req[16384];
		int n = snprintf(req, sizeof(req),
				 "POST /api/v1/widgets HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
				 ADMIN JSON_CT "Transfer-Encoding: chunked\r\n\r\n"
				 "%zx\r\n%s\r\n0\r\n\r\n",
				 strlen(big), big);

		assert_int_equal(exchange(PORT, req, (size_t)n, &r), 0);
		assert_problem(&r, 413, "body-too-large");
		resp_free(&r);
	}
}

static void
test_headers_too_large(void **state)
{
	static char hdr[200 * 1024];
	struct resp r;

	/* Past max_header: the gateway's own 431 problem. */
	snprintf(hdr, sizeof(hdr), "X-Big: %06000d\r\n", 0);
	assert_int_equal(http(PORT, "GET", "/healthz", hdr, NULL, &r), 0);
	assert_problem(&r, 431, "headers-too-large");
	resp_free(&r);
	/* Past libmicrohttpd's connection memory: still 431. */
	memset(hdr, 'a', sizeof(hdr));
	memcpy(hdr, "X-Huge: ", 8);
	{
		char *req = malloc(sizeof(hdr) + 256);
		int n = snprintf(req, sizeof(hdr) + 256,
				 "GET /healthz HTTP/1.1\r\nHost: t\r\n%.*s\r\n\r\n",
				 (int)sizeof(hdr) - 1, hdr);

		assert_int_equal(exchange(PORT, req, (size_t)n, &r), 0);
		assert_int_equal(r.status, 431);
		resp_free(&r);
		free(req);
	}
}

static void
test_pagination(void **state)
{
	struct resp r;
	const char *link;
	json_t *j;

	assert_int_equal(http(PORT, "GET", "/api/v1/widgets?limit=10&offset=20", READER, NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "X-Total-Count"), "250");
	assert_string_equal(header(&r, "X-Result-Count"), "10");
	link = header(&r, "Link");
	assert_non_null(link);
	assert_non_null(strstr(link, "</api/v1/widgets?limit=10&offset=0>; rel=\"first\""));
	assert_non_null(strstr(link, "</api/v1/widgets?limit=10&offset=10>; rel=\"prev\""));
	assert_non_null(strstr(link, "</api/v1/widgets?limit=10&offset=30>; rel=\"next\""));
	assert_non_null(strstr(link, "</api/v1/widgets?limit=10&offset=240>; rel=\"last\""));
	j = body_json(&r);
	assert_int_equal(json_array_size(j), 10);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), "20");
	json_decref(j);
	resp_free(&r);
	/* Defaults, and the last page has no next. */
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets?offset=200", READER, NULL, &r), 0);
	assert_string_equal(header(&r, "X-Result-Count"), "50");
	assert_null(strstr(header(&r, "Link"), "rel=\"next\""));
	resp_free(&r);
	/* Filters reach the handler and stay in the links. */
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets?color=dark%20blue&limit=5", READER, NULL,
			      &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(header(&r, "Link"), "color=dark%20blue&limit=5&offset=5"));
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "color")),
			    "dark blue");
	json_decref(j);
	resp_free(&r);
	static const char *const bad[] = {"limit=0", "limit=abc", "limit=5000", "offset=-1",
					  "limit=1&limit=2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char target[128];

		snprintf(target, sizeof(target), "/api/v1/widgets?%s", bad[i]);
		assert_int_equal(http(PORT, "GET", target, READER, NULL, &r), 0);
		assert_int_equal(r.status, 400);
		resp_free(&r);
	}
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets?shape=round", READER, NULL, &r), 0);
	assert_problem(&r, 400, "unknown-filter");
	resp_free(&r);
}

static void
test_fields(void **state)
{
	struct resp r;
	json_t *j, *item;
	size_t i;

	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/7?fields=name", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_object_size(j), 4);
	assert_non_null(json_object_get(j, "id"));
	assert_non_null(json_object_get(j, "href"));
	assert_non_null(json_object_get(j, "@type"));
	assert_non_null(json_object_get(j, "name"));
	json_decref(j);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets?fields=size,color&limit=3", READER,
			      NULL, &r),
			 0);
	j = body_json(&r);
	assert_int_equal(json_array_size(j), 3);
	json_array_foreach(j, i, item)
	{
		assert_int_equal(json_object_size(item), 5);
		assert_null(json_object_get(item, "name"));
	}
	json_decref(j);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/7?fields=a,,b", READER, NULL, &r), 0);
	assert_problem(&r, 400, "invalid-parameter");
	resp_free(&r);
}

static void
test_etag(void **state)
{
	struct resp r;
	char etag[128], hdr[256];

	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/7", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(header(&r, "ETag"));
	snprintf(etag, sizeof(etag), "%s", header(&r, "ETag"));
	assert_int_equal(etag[0], '"');
	resp_free(&r);
	snprintf(hdr, sizeof(hdr), READER "If-None-Match: \"other\", %s\r\n", etag);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/7", hdr, NULL, &r), 0);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(header(&r, "ETag"), etag);
	resp_free(&r);
	/* HEAD answers the same headers. */
	assert_int_equal(http(PORT, "HEAD", "/api/v1/widgets/7", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "ETag"), etag);
	resp_free(&r);
	assert_int_equal(http(PORT, "PATCH", "/api/v1/widgets/7",
			      ADMIN JSON_CT "If-Match: \"v6\"\r\n", "{\"name\":\"b\"}", &r),
			 0);
	assert_problem(&r, 412, "stale-version");
	resp_free(&r);
	assert_int_equal(http(PORT, "PATCH", "/api/v1/widgets/7",
			      ADMIN JSON_CT "If-Match: \"v7\"\r\n", "{\"name\":\"b\"}", &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "ETag"), "\"v8\"");
	resp_free(&r);
	assert_int_equal(http(PORT, "DELETE", "/api/v1/widgets/7", ADMIN, NULL, &r), 0);
	assert_problem(&r, 428, "if-match-required");
	resp_free(&r);
	assert_int_equal(http(PORT, "DELETE", "/api/v1/widgets/7", ADMIN "If-Match: \"v7\"\r\n",
			      NULL, &r),
			 0);
	assert_int_equal(r.status, 204);
	resp_free(&r);
}

struct post_job {
	const char *key;
	const char *body;
	struct resp r;
};

static void *
post_thread(void *arg)
{
	struct post_job *job = arg;
	char hdr[256];

	snprintf(hdr, sizeof(hdr), ADMIN JSON_CT "Idempotency-Key: %s\r\n", job->key);
	http(PORT, "POST", "/api/v1/widgets", hdr, job->body, &job->r);
	return NULL;
}

static void
test_idempotency(void **state)
{
	struct post_job jobs[8];
	pthread_t th[8];
	char first_body[256];
	int before;
	struct resp r;

	pthread_mutex_lock(&calls_lock);
	before = create_calls;
	pthread_mutex_unlock(&calls_lock);
	for (int i = 0; i < 20; i++) {
		struct post_job job = {.key = "key-1", .body = "{\"name\":\"once\"}"};

		post_thread(&job);
		assert_int_equal(job.r.status, 201);
		if (i == 0) {
			snprintf(first_body, sizeof(first_body), "%s", job.r.body);
			assert_null(header(&job.r, "Idempotent-Replayed"));
		} else {
			assert_string_equal(job.r.body, first_body);
			assert_string_equal(header(&job.r, "Idempotent-Replayed"), "true");
			assert_non_null(header(&job.r, "Location"));
		}
		resp_free(&job.r);
	}
	assert_int_equal(create_calls, before + 1);
	/* The same key for another body. */
	{
		struct post_job job = {.key = "key-1", .body = "{\"name\":\"twice\"}"};

		post_thread(&job);
		assert_problem(&job.r, 422, "idempotency-key-reused");
		resp_free(&job.r);
	}
	/* Concurrent requests with one key: one runs, the others wait and replay. */
	for (int i = 0; i < 8; i++) {
		jobs[i] = (struct post_job){.key = "key-slow", .body = "{\"name\":\"slow\"}"};
		assert_int_equal(pthread_create(&th[i], NULL, post_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(jobs[i].r.status, 201);
		assert_string_equal(jobs[i].r.body, jobs[0].r.body);
	}
	for (int i = 0; i < 8; i++)
		resp_free(&jobs[i].r);
	assert_int_equal(create_calls, before + 2);
	/* Without a key, each POST runs. */
	assert_int_equal(http(PORT, "POST", "/api/v1/widgets", ADMIN JSON_CT, "{\"name\":\"x\"}", &r),
			 0);
	assert_int_equal(create_calls, before + 3);
	resp_free(&r);
}

static void
tune_peer_limit(struct rest_config *cfg)
{
	cfg->peer_rate = 0.5;
	cfg->peer_burst = 3;
}

static void
tune_token_limit(struct rest_config *cfg)
{
	cfg->token_rate = 0.5;
	cfg->token_burst = 2;
}

static void
test_rate_limits(void **state)
{
	struct fixture fx = {0};
	struct resp r;
	int status[6];
	int n429 = 0;

	start(&fx, tune_peer_limit);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(http(fx.port, "GET", "/api/v1/widgets/1", READER, NULL, &r), 0);
		status[i] = r.status;
		if (r.status == 429) {
			int retry = atoi(header(&r, "Retry-After"));

			assert_problem(&r, 429, "rate-limited");
			assert_true(retry >= 1 && retry <= 2);
			n429++;
		}
		resp_free(&r);
	}
	assert_int_equal(status[0], 200);
	assert_int_equal(status[2], 200);
	assert_int_equal(status[5], 429);
	assert_true(n429 >= 2);
	/* Probes are not limited. */
	assert_int_equal(http(fx.port, "GET", "/healthz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	stop(&fx);

	start(&fx, tune_token_limit);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(http(fx.port, "GET", "/api/v1/widgets/1", ADMIN, NULL, &r), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	assert_int_equal(http(fx.port, "GET", "/api/v1/widgets/1", ADMIN, NULL, &r), 0);
	assert_problem(&r, 429, "rate-limited");
	assert_non_null(header(&r, "Retry-After"));
	resp_free(&r);
	/* Another principal has its own bucket. */
	assert_int_equal(http(fx.port, "GET", "/api/v1/widgets/1", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	stop(&fx);
}

static void
test_versions(void **state)
{
	struct resp r;

	assert_int_equal(http(PORT, "GET", "/api/widgets/1",
			      READER "Accept: application/vnd.a1.cuco.v1+json\r\n", NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "application/json");
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/widgets/1",
			      READER "Accept: application/vnd.a1.cuco.v2+json\r\n", NULL, &r),
			 0);
	assert_problem(&r, 406, "unsupported-version");
	assert_non_null(strstr(r.body, "application/vnd.a1.cuco.v1+json"));
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1",
			      READER "Accept: application/vnd.a1.cuco.v2+json, "
				     "application/json;q=0.5\r\n",
			      NULL, &r),
			 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/1", READER "Accept: text/html\r\n", NULL,
			      &r),
			 0);
	assert_int_equal(r.status, 406);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/widgets/1?version=1", READER, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/widgets/1?version=2", READER, NULL, &r), 0);
	assert_problem(&r, 400, "unsupported-version");
	assert_non_null(strstr(r.body, "supported versions: 1"));
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v2/widgets/1", READER, NULL, &r), 0);
	assert_problem(&r, 404, "unsupported-version");
	resp_free(&r);
}

static void
test_health(void **state)
{
	struct resp r;
	json_t *j;

	assert_int_equal(http(PORT, "GET", "/readyz", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	ready = false;
	assert_int_equal(http(PORT, "GET", "/readyz", NULL, NULL, &r), 0);
	ready = true;
	assert_problem(&r, 503, "not-ready");
	assert_non_null(strstr(r.body, "database: connection refused"));
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "checks"), "bus")),
			    "ok");
	json_decref(j);
	resp_free(&r);
}

static void
test_traceparent(void **state)
{
	static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	struct resp r;

	assert_int_equal(http(PORT, "GET", "/healthz",
			      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n",
			      NULL, &r),
			 0);
	assert_string_equal(header(&r, "traceparent"), tp);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/api/v1/nothing", "traceparent: garbage\r\n", NULL, &r),
			 0);
	assert_true(cuco_traceparent_valid(header(&r, "traceparent")));
	/* The problem names the trace, for a user to quote. */
	assert_non_null(strstr(r.body, "\"traceId\""));
	resp_free(&r);
}

/* Every sample line of the exposition format: name{labels} value. */
static void
assert_exposition(const char *text)
{
	char *copy = strdup(text), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp;

		if (l[0] == '#') {
			assert_true(strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0);
			continue;
		}
		sp = strrchr(l, ' ');
		assert_non_null(sp);
		assert_true(strspn(l, "abcdefghijklmnopqrstuvwxyz_:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") >
			    0);
		if (strchr(l, '{'))
			assert_true(sp[-1] == '}');
		assert_true(strspn(sp + 1, "0123456789.e+-") == strlen(sp + 1));
	}
	free(copy);
}

static void
test_metrics(void **state)
{
	struct resp r;

	assert_int_equal(http(PORT, "GET", "/api/v1/widgets/3", READER, NULL, &r), 0);
	resp_free(&r);
	assert_int_equal(http(PORT, "GET", "/metrics", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(header(&r, "Content-Type"), "text/plain"));
	assert_exposition(r.body);
	assert_non_null(strstr(r.body, "# TYPE cuco_http_requests_total counter\n"));
	assert_non_null(strstr(r.body, "cuco_http_requests_total{route=\"/api/v1/widgets/{id}\","
				       "method=\"GET\",status=\"200\"} "));
	assert_non_null(strstr(r.body, "# TYPE cuco_http_request_duration_seconds histogram\n"));
	assert_non_null(strstr(r.body, "cuco_http_request_duration_seconds_bucket{route=\"/api/v1/"
				       "widgets/{id}\",method=\"GET\",le=\"+Inf\"} "));
	assert_non_null(strstr(r.body, "cuco_http_request_duration_seconds_sum{route=\"/api/v1/"
				       "widgets/{id}\",method=\"GET\"} "));
	assert_non_null(strstr(r.body, "cuco_http_request_duration_seconds_count{route=\"/api/v1/"
				       "widgets/{id}\",method=\"GET\"} "));
	assert_non_null(strstr(r.body, "route=\"unmatched\""));
	assert_non_null(strstr(r.body, "cuco_outbox_lag{domain=\"demo\"} 0\n"));
	resp_free(&r);
	pthread_mutex_lock(&calls_lock);
	assert_true(access_lines > 10);
	assert_int_equal(bad_access_lines, 0);
	pthread_mutex_unlock(&calls_lock);
}

/* Resolve a local "#/a/b" reference in @doc. */
static json_t *
resolve(json_t *doc, const char *ref)
{
	char *copy = strdup(ref + 2), *save = NULL;
	json_t *at = doc;

	for (char *t = strtok_r(copy, "/", &save); t && at; t = strtok_r(NULL, "/", &save))
		at = json_object_get(at, t);
	free(copy);
	return at;
}

static void
check_refs(json_t *doc, json_t *v, unsigned *count)
{
	const char *key;
	json_t *val;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, val)
		{
			if (strcmp(key, "$ref") == 0) {
				assert_non_null(resolve(doc, json_string_value(val)));
				(*count)++;
			} else {
				check_refs(doc, val, count);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, val)
			check_refs(doc, val, count);
	}
}

static void
test_openapi(void **state)
{
	struct resp r;
	json_t *doc, *paths, *op;
	unsigned refs = 0;

	assert_int_equal(http(PORT, "GET", "/api/v1/openapi.json", NULL, NULL, &r), 0);
	assert_int_equal(r.status, 200);
	doc = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	assert_non_null(json_object_get(json_object_get(doc, "info"), "title"));
	paths = json_object_get(doc, "paths");
	assert_non_null(json_object_get(json_object_get(paths, "/api/v1/widgets"), "get"));
	assert_non_null(json_object_get(json_object_get(paths, "/api/v1/widgets"), "post"));
	op = json_object_get(json_object_get(paths, "/api/v1/widgets/{id}"), "patch");
	assert_non_null(op);
	assert_non_null(json_object_get(op, "requestBody"));
	assert_non_null(json_object_get(paths, "/healthz"));
	assert_non_null(json_object_get(paths, "/tmf-api/productCatalogManagement/v4/"
					       "productOffering/{id}"));
	assert_non_null(resolve(doc, "#/components/schemas/WidgetCreate"));
	assert_non_null(resolve(doc, "#/components/schemas/Color"));
	assert_non_null(resolve(doc, "#/components/schemas/Problem"));
	assert_string_equal(json_string_value(resolve(
				    doc, "#/components/securitySchemes/bearerAuth/scheme")),
			    "bearer");
	check_refs(doc, doc, &refs);
	assert_true(refs > 10);
	json_decref(doc);
	resp_free(&r);
}

struct slow_job {
	uint16_t port;
	struct resp r;
};

static void *
slow_thread(void *arg)
{
	struct slow_job *job = arg;

	http(job->port, "GET", "/api/v1/slow", NULL, NULL, &job->r);
	return NULL;
}

static void
test_drain(void **state)
{
	struct fixture fx = {0};
	struct slow_job job;
	pthread_t th;
	int fd;

	start(&fx, NULL);
	job.port = fx.port;
	assert_int_equal(pthread_create(&th, NULL, slow_thread, &job), 0);
	usleep(100 * 1000);
	assert_int_equal(rest_server_drain(fx.s, 3000), 0);
	pthread_join(th, NULL);
	assert_int_equal(job.r.status, 200);
	assert_string_equal(header(&job.r, "Connection"), "close");
	resp_free(&job.r);
	fd = dial(fx.port);
	assert_true(fd < 0);
	stop(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_auth_matrix),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_pagination),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_rate_limits),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_traceparent),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_openapi),
		cmocka_unit_test(test_drain),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
