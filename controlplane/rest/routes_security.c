/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The security domain's REST routes: authentication, users, roles, API keys
 * and the audit log, under /api/v1/. Each handler parses, makes one call of
 * bss/security/security.h and maps its result; the domain authorizes the call
 * itself as well (the route table's roles are the gateway's first check).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bss/security/security.h"
#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"

#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define STAFF (ALL_ROLES & ~CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE))
#define ADMIN CUCO_ROLE_BIT(CUCO_ROLE_ADMIN)

/* The domain's error as a problem: its stable code, field and message. */
static int
fail(struct rest_ctx *ctx, int ret, const struct security_error *e)
{
	unsigned status;

	switch (ret) {
	case -EINVAL: status = 400; break;
	case -EEXIST:
	case -EBUSY: status = 409; break;
	case -ENOENT: status = 404; break;
	case -ESTALE: status = 412; break;
	case -EPERM: status = 403; break;
	case -EACCES: status = 401; break;
	default: status = 500; break;
	}
	if (status == 401)
		rest_reply_header(ctx, "WWW-Authenticate", "Bearer");
	return rest_reply_problem_ext(ctx, status, e->code[0] ? e->code : "internal",
				      e->field[0] ? json_pack("{s:s}", "field", e->field) : NULL,
				      "%s", e->message[0] ? e->message : "internal error");
}

/*
 * Answer a domain's list result {"items": [...], @total_key: n} (@res is
 * taken), or its error.
 */
static int
reply_items(struct rest_ctx *ctx, int ret, const struct security_error *e, json_t *res,
	    const char *total_key)
{
	if (ret < 0)
		return fail(ctx, ret, e);
	ret = rest_reply_list(ctx, json_incref(json_object_get(res, "items")),
			      (uint64_t)json_integer_value(json_object_get(res, total_key)));
	json_decref(res);
	return ret;
}

static const char *
str(const json_t *body, const char *key)
{
	return json_string_value(json_object_get(body, key));
}

static int
roles_of(const json_t *arr, uint32_t *ret)
{
	size_t i;
	json_t *v;

	*ret = 0;
	json_array_foreach(arr, i, v) {
		enum cuco_role r;

		if (cuco_role_parse(json_string_value(v), &r) < 0)
			return -EINVAL;
		*ret |= CUCO_ROLE_BIT(r);
	}
	return 0;
}

static void
decorate_user(json_t *u)
{
	char href[128];

	snprintf(href, sizeof(href), "/api/v1/users/%s", json_string_value(json_object_get(u, "id")));
	json_object_set_new(u, "href", json_string(href));
	json_object_set_new(u, "@type", json_string("User"));
}

static void
decorate_key(json_t *k)
{
	char href[128];

	snprintf(href, sizeof(href), "/api/v1/keys/%s", json_string_value(json_object_get(k, "id")));
	json_object_set_new(k, "href", json_string(href));
	json_object_set_new(k, "@type", json_string("ApiKey"));
}

static int
reply_user(struct rest_ctx *ctx, unsigned status, json_t *u)
{
	char etag[32];

	decorate_user(u);
	snprintf(etag, sizeof(etag), "%lld",
		 (long long)json_integer_value(json_object_get(u, "version")));
	rest_reply_etag(ctx, etag);
	if (status == 201)
		rest_reply_location(ctx, "/api/v1/users/%s",
				    json_string_value(json_object_get(u, "id")));
	return rest_reply_json(ctx, status, u);
}

/* ---- authentication ------------------------------------------------------ */

static int
reply_tokens(struct rest_ctx *ctx, const struct security_tokens *t)
{
	rest_reply_header(ctx, "Cache-Control", "no-store");
	return rest_reply_json(ctx, 200,
			       json_pack("{s:s, s:s, s:I, s:s, s:b}", "access_token",
					 t->access_token, "token_type", "Bearer", "expires_in",
					 (json_int_t)t->expires_in, "refresh_token",
					 t->refresh_token, "password_change_required",
					 t->password_change_required));
}

static int
h_login(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	const json_t *b = rest_ctx_body(ctx);
	struct security_tokens *t = calloc(1, sizeof(*t));
	struct security_error e = {0};
	int ret;

	if (t == NULL) {
		pool_put(pool, sec);
		return -ENOMEM;
	}
	ret = security_login(sec, rest_ctx_principal(ctx), str(b, "username"), str(b, "password"),
			     t, &e);
	pool_put(pool, sec);
	ret = ret < 0 ? fail(ctx, ret, &e) : reply_tokens(ctx, t);
	free(t);
	return ret;
}

static int
h_refresh(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_tokens *t = calloc(1, sizeof(*t));
	struct security_error e = {0};
	int ret;

	if (t == NULL) {
		pool_put(pool, sec);
		return -ENOMEM;
	}
	ret = security_refresh(sec, rest_ctx_principal(ctx),
			       str(rest_ctx_body(ctx), "refresh_token"), t, &e);
	pool_put(pool, sec);
	ret = ret < 0 ? fail(ctx, ret, &e) : reply_tokens(ctx, t);
	free(t);
	return ret;
}

static int
h_logout(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	int ret;

	ret = security_logout(sec, rest_ctx_principal(ctx),
			      str(rest_ctx_body(ctx), "refresh_token"), &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static int
h_password(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	const json_t *b = rest_ctx_body(ctx);
	struct security_error e = {0};
	int ret;

	ret = security_password_change(sec, rest_ctx_principal(ctx), str(b, "old_password"),
				       str(b, "new_password"), &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

/* ---- users ------------------------------------------------------------------ */

static int
h_users_list(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_user_filter f = {.role = -1};
	struct security_error e = {0};
	const char *state = rest_ctx_filter(ctx, "state");
	const char *role = rest_ctx_filter(ctx, "role");
	uint64_t limit, offset;
	json_t *res = NULL, *items;
	int ret = 0;

	rest_ctx_page(ctx, &limit, &offset);
	f.limit = limit > 500 ? 500 : (unsigned)limit;
	f.offset = offset > 1000000000 ? 1000000000 : (unsigned)offset;
	f.name_prefix = rest_ctx_filter(ctx, "name");
	f.customer_id = rest_ctx_filter(ctx, "customer_id");
	if (state != NULL) {
		if (strcmp(state, "active") == 0)
			f.state = SECURITY_USER_ACTIVE;
		else if (strcmp(state, "disabled") == 0)
			f.state = SECURITY_USER_DISABLED;
		else
			ret = -EINVAL;
	}
	if (role != NULL) {
		enum cuco_role r;

		if (cuco_role_parse(role, &r) < 0)
			ret = -EINVAL;
		f.role = (int)r;
	}
	if (ret < 0) {
		pool_put(pool, sec);
		return rest_reply_problem(ctx, 400, "invalid-filter",
					  "state is active or disabled; role is one of admin, "
					  "operator, support, billing, read-only, self-care");
	}
	ret = security_user_list(sec, rest_ctx_principal(ctx), &f, &res, &e);
	pool_put(pool, sec);
	if (ret < 0)
		return fail(ctx, ret, &e);
	items = json_incref(json_object_get(res, "items"));
	for (size_t i = 0; i < json_array_size(items); i++)
		decorate_user(json_array_get(items, i));
	ret = rest_reply_list(ctx, items,
			      (uint64_t)json_integer_value(json_object_get(res, "total")));
	json_decref(res);
	return ret;
}

static int
h_user_create(struct rest_ctx *ctx, void *data)
{
	const json_t *b = rest_ctx_body(ctx);
	struct security_user_new u = {
		.name = str(b, "name"),
		.display_name = str(b, "display_name"),
		.customer_id = str(b, "customer_id"),
		.password = str(b, "password"),
		.must_change_password = json_is_true(json_object_get(b, "must_change_password")),
	};
	struct security_error e = {0};
	json_t *res = NULL;
	int ret;

	roles_of(json_object_get(b, "roles"), &u.roles);
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	ret = security_user_create(sec, rest_ctx_principal(ctx), &u, &res, &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : reply_user(ctx, 201, res);
}

static int
h_user_get(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	json_t *res = NULL;
	int ret;

	ret = security_user_get(sec, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &res, &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : reply_user(ctx, 200, res);
}

/* The merge patch's display name and state into @u (validated by the schema). */
static void
set_fields(const json_t *b, struct security_user_update *u)
{
	const json_t *v;

	if ((v = json_object_get(b, "display_name")) != NULL)
		u->display_name = json_is_null(v) ? "" : json_string_value(v);
	if ((v = json_object_get(b, "state")) != NULL)
		u->state = strcmp(json_string_value(v), "active") == 0 ? SECURITY_USER_ACTIVE
									: SECURITY_USER_DISABLED;
}

static int
h_user_patch(struct rest_ctx *ctx, void *data)
{
	const json_t *b = rest_ctx_body(ctx);
	struct security_user_update u = {0};
	struct security_error e = {0};
	const char *id = rest_ctx_param(ctx, "id");
	json_t *cur = NULL, *res = NULL, *v;
	char version[32];
	int ret;

	struct pool *pool = data;
	struct security *sec = pool_get(pool);

	u.expected_version = -1;
	if (rest_ctx_if_match(ctx) == NULL && json_object_get(b, "roles") == NULL &&
	    json_object_get(b, "customer_id") == NULL) {
		/*
		 * Nothing to compare and nothing to merge: the update locks the
		 * row itself. Reading it first would cost a query and turn two
		 * concurrent patches into a 412 that no precondition asked for.
		 */
		set_fields(b, &u);
		ret = security_user_update(sec, rest_ctx_principal(ctx), id, &u, &res, &e);
		goto out;
	}
	/* If-Match against the version read now; the update checks it again. */
	ret = security_user_get(sec, rest_ctx_principal(ctx), id, &cur, &e);
	if (ret < 0)
		goto out;
	u.expected_version = json_integer_value(json_object_get(cur, "version"));
	snprintf(version, sizeof(version), "%lld", (long long)u.expected_version);
	if (!rest_ctx_check_if_match(ctx, version))
		goto out;
	set_fields(b, &u);
	if (json_object_get(b, "roles") != NULL || json_object_get(b, "customer_id") != NULL) {
		/* Merge patch: the roles and customer not given stay as they are. */
		u.set_roles = true;
		roles_of(json_object_get(json_object_get(b, "roles") ? b : cur, "roles"), &u.roles);
		v = json_object_get(b, "customer_id") ? json_object_get(b, "customer_id")
						      : json_object_get(cur, "customer_id");
		u.customer_id = json_string_value(v);
	}
	ret = security_user_update(sec, rest_ctx_principal(ctx), id, &u, &res, &e);
out:
	pool_put(pool, sec);
	json_decref(cur);
	if (ret < 0)
		return fail(ctx, ret, &e);
	return res != NULL ? reply_user(ctx, 200, res) : 0;
}

static int
h_user_delete(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	const char *im = rest_ctx_if_match(ctx);
	int64_t expected = -1;
	int ret;

	if (im != NULL && strcmp(im, "*") != 0) {
		/* If-Match: "7" (a strong tag) is version 7. */
		char *end;

		expected = strtoll(im + (im[0] == '"'), &end, 10);
		if (end == im)
			expected = -2; /* no version matches: 412 */
	}
	ret = security_user_delete(sec, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				   expected, &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static int
h_password_reset(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	int ret;

	ret = security_password_reset(sec, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				      str(rest_ctx_body(ctx), "new_password"), &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

/* ---- roles --------------------------------------------------------------- */

static int
h_roles(struct rest_ctx *ctx, void *data)
{
	json_t *roles = security_roles();

	return rest_reply_list(ctx, roles, json_array_size(roles));
}

/* ---- API keys ------------------------------------------------------------ */

static int
parse_time(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *end;

	if (s == NULL) {
		*ret = 0;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return -EINVAL;
	if (*end == '.')
		while (*++end >= '0' && *end <= '9')
			;
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
		return -EINVAL;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

static int
reply_key(struct rest_ctx *ctx, json_t *k, const char *secret)
{
	decorate_key(k);
	json_object_set_new(k, "secret", json_string(secret));
	rest_reply_header(ctx, "Cache-Control", "no-store");
	rest_reply_location(ctx, "/api/v1/keys/%s", json_string_value(json_object_get(k, "id")));
	return rest_reply_json(ctx, 201, k);
}

static int
h_keys_list(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	uint64_t limit, offset, total;
	json_t *res = NULL, *page;
	int ret;

	ret = security_apikey_list(sec, rest_ctx_principal(ctx), &res, &e);
	pool_put(pool, sec);
	if (ret < 0)
		return fail(ctx, ret, &e);
	/* A user has few keys: the page is cut here. */
	rest_ctx_page(ctx, &limit, &offset);
	total = json_array_size(res);
	page = json_array();
	for (uint64_t i = offset; i < total && i < offset + limit; i++) {
		json_t *k = json_array_get(res, i);

		decorate_key(k);
		json_array_append(page, k);
	}
	json_decref(res);
	return rest_reply_list(ctx, page, total);
}

static int
h_key_create(struct rest_ctx *ctx, void *data)
{
	const json_t *b = rest_ctx_body(ctx);
	struct security_error e = {0};
	char secret[SECURITY_APIKEY_MAX];
	json_t *res = NULL;
	uint32_t roles = 0;
	int64_t expires;
	int ret;

	if (parse_time(str(b, "expires_at"), &expires) < 0)
		return rest_reply_problem_ext(ctx, 400, "invalid-body",
					      json_pack("{s:s}", "field", "/expires_at"),
					      "expires_at: give a UTC time such as "
					      "2027-01-31T00:00:00Z");
	roles_of(json_object_get(b, "roles"), &roles);
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	ret = security_apikey_create(sec, rest_ctx_principal(ctx), str(b, "name"), roles, expires,
				     secret, &res, &e);
	pool_put(pool, sec);
	ret = ret < 0 ? fail(ctx, ret, &e) : reply_key(ctx, res, secret);
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

static int
h_key_revoke(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	int ret;

	ret = security_apikey_revoke(sec, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &e);
	pool_put(pool, sec);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static int
h_key_rotate(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	char secret[SECURITY_APIKEY_MAX];
	json_t *res = NULL;
	int ret;

	ret = security_apikey_rotate(sec, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				     secret, &res, &e);
	pool_put(pool, sec);
	ret = ret < 0 ? fail(ctx, ret, &e) : reply_key(ctx, res, secret);
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

/* ---- audit --------------------------------------------------------------- */

static int
h_audit_list(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	uint64_t limit, offset;
	json_t *res = NULL;
	int ret;

	rest_ctx_page(ctx, &limit, &offset);
	/* Records are numbered 1, 2, 3... without gaps: offset n starts after seq n. */
	ret = security_audit_list(sec, rest_ctx_principal(ctx), (int64_t)offset,
				  limit > 1000 ? 1000 : (unsigned)limit, &res, &e);
	pool_put(pool, sec);
	/* "head", the last seq, is also the number of records. */
	return reply_items(ctx, ret, &e, res, "head");
}

static int
h_audit_verify(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	struct security_audit_report r = {0};
	int ret;

	ret = security_audit_verify(sec, rest_ctx_principal(ctx), &r, &e);
	pool_put(pool, sec);
	if (ret < 0)
		return fail(ctx, ret, &e);
	return rest_reply_json(ctx, 200,
			       json_pack("{s:b, s:I, s:I, s:I, s:I, s:s, s:s}", "ok", r.ok,
					 "records", (json_int_t)r.records, "head_seq",
					 (json_int_t)r.head_seq, "anchor_seq",
					 (json_int_t)r.anchor_seq, "bad_seq",
					 (json_int_t)r.bad_seq, "problem", r.problem, "message",
					 r.message));
}

static int
h_journal(struct rest_ctx *ctx, void *data)
{
	struct pool *pool = data;
	struct security *sec = pool_get(pool);
	struct security_error e = {0};
	uint64_t limit, offset;
	json_t *res = NULL;
	int ret;

	rest_ctx_page(ctx, &limit, &offset);
	ret = security_journal_list(sec, rest_ctx_principal(ctx), (unsigned)limit,
				    offset > 1000000000 ? 1000000000 : (unsigned)offset, &res, &e);
	pool_put(pool, sec);
	return reply_items(ctx, ret, &e, res, "total");
}

/* ---- the table ----------------------------------------------------------- */

static const char *const user_filters[] = {"name", "state", "role", "customer_id", NULL};
static const char *const no_filters[] = {NULL};

static const struct rest_route security_routes[] = {
	{REST_POST, "/api/v1/auth/login", 0, "LoginRequest", "Tokens", h_login,
	 "Log in with a name and a password", "auth", 0, NULL},
	{REST_POST, "/api/v1/auth/refresh", 0, "RefreshRequest", "Tokens", h_refresh,
	 "Exchange a refresh token for new tokens (single use)", "auth", 0, NULL},
	{REST_POST, "/api/v1/auth/logout", 0, "RefreshRequest", NULL, h_logout,
	 "End the session of a refresh token", "auth", 0, NULL},
	{REST_POST, "/api/v1/auth/password", 0, "PasswordChange", NULL, h_password,
	 "Change one's own password (also with a first-login token)", "auth",
	 REST_ROUTE_AUTHENTICATED, NULL},
	{REST_GET, "/api/v1/users", ADMIN, NULL, "User", h_users_list, "List users", "users",
	 REST_ROUTE_LIST, user_filters},
	{REST_POST, "/api/v1/users", ADMIN, "UserCreate", "User", h_user_create, "Create a user",
	 "users", 0, NULL},
	{REST_GET, "/api/v1/users/{id}", ALL_ROLES, NULL, "User", h_user_get,
	 "A user (admins: any; others: themselves)", "users", 0, NULL},
	{REST_PATCH, "/api/v1/users/{id}", ADMIN, "UserPatch", "User", h_user_patch,
	 "Change a user's display name, roles, customer or state (merge patch)", "users", 0,
	 NULL},
	{REST_DELETE, "/api/v1/users/{id}", ADMIN, NULL, NULL, h_user_delete, "Delete a user",
	 "users", 0, NULL},
	{REST_POST, "/api/v1/users/{id}/password-reset", ADMIN, "PasswordReset", NULL,
	 h_password_reset, "Set a user's password; they must change it at next login", "users",
	 0, NULL},
	{REST_GET, "/api/v1/roles", ALL_ROLES, NULL, "Role", h_roles,
	 "The roles and what each may do", "users", REST_ROUTE_LIST, no_filters},
	{REST_GET, "/api/v1/keys", STAFF, NULL, "ApiKey", h_keys_list,
	 "API keys: one's own (admins: all)", "keys", REST_ROUTE_LIST, no_filters},
	{REST_POST, "/api/v1/keys", STAFF, "ApiKeyCreate", "ApiKey", h_key_create,
	 "Create an API key; its secret is shown once", "keys", 0, NULL},
	{REST_DELETE, "/api/v1/keys/{id}", STAFF, NULL, NULL, h_key_revoke, "Revoke an API key",
	 "keys", 0, NULL},
	{REST_POST, "/api/v1/keys/{id}/rotate", STAFF, NULL, "ApiKey", h_key_rotate,
	 "Replace an API key by a new one (new id and secret); the old one is revoked", "keys", 0,
	 NULL},
	{REST_GET, "/api/v1/audit", ADMIN, NULL, "AuditRecord", h_audit_list,
	 "The audit log, oldest first", "audit", REST_ROUTE_LIST, no_filters},
	{REST_GET, "/api/v1/audit/changes", ADMIN, NULL, "JournalEntry", h_journal,
	 "Every domain's events, in the order the security domain applied them", "audit",
	 REST_ROUTE_LIST, no_filters},
	{REST_GET, "/api/v1/audit/verify", ADMIN, NULL, "AuditReport", h_audit_verify,
	 "Check the audit log's HMAC chain", "audit", 0, NULL},
};

extern const char security_schemas_json[];

/*
 * A struct security owns one connection and serves one thread at a time:
 * requests borrow one from the pool (and wait while all are busy).
 */
struct routes_security {
	struct pool *pool;
};

static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	struct security_error e = {0};
	int r = security_open(arg, (struct security **)ret, &e);

	if (r < 0)
		snprintf(err, errlen, "security domain: %s", e.message);
	return r;
}

static void
close_handle(void *h)
{
	security_close(h);
}

int
routes_security_register(struct rest_server *s, struct jschema_registry *schemas,
			 const struct security_config *cfg, unsigned pool_size,
			 struct routes_security **ret, char *err, size_t errlen)
{
	struct routes_security *rs;
	int r;

	if (s != NULL) {
		r = routes_add_schemas(schemas, security_schemas_json, "security", err, errlen);
		if (r < 0)
			return r;
	}
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return -ENOMEM;
	r = pool_open(pool_size, open_handle, close_handle, (void *)cfg, &rs->pool, err, errlen);
	if (r < 0) {
		free(rs);
		return r;
	}
	r = s == NULL ? 0
		      : rest_register(s, security_routes,
				      sizeof(security_routes) / sizeof(security_routes[0]), rs->pool,
				      err, errlen);
	if (r < 0) {
		routes_security_free(rs);
		return r;
	}
	*ret = rs;
	return 0;
}

struct security *
routes_security_borrow(struct routes_security *rs)
{
	return pool_get(rs->pool);
}

void
routes_security_return(struct routes_security *rs, struct security *sec)
{
	pool_put(rs->pool, sec);
}

struct routes_security *
routes_security_free(struct routes_security *rs)
{
	if (rs == NULL)
		return NULL;
	pool_free(rs->pool);
	free(rs);
	return NULL;
}
