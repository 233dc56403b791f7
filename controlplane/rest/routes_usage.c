/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TMF635 Usage Management, read-only: the usage rows the collector wrote
 * (bss/billing/usage.h) and the one usage specification. Each handler makes
 * one call of the billing domain and maps its result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/usage.h"
#include "bss/core/db.h"
#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_usage.h"

#define R(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define STAFF (ALL_ROLES & ~R(SELFCARE))

#define TMF635 "/tmf-api/usageManagement/v4"

static int
fail(struct rest_ctx *ctx, int ret, const char *msg)
{
	switch (ret) {
	case -EINVAL: return rest_reply_problem(ctx, 400, "invalid-argument", "%s", msg);
	case -ENOENT: return rest_reply_problem(ctx, 404, "not-found", "%s", msg);
	case -EPERM: return rest_reply_problem(ctx, 403, "forbidden", "%s", msg);
	default: return rest_reply_problem(ctx, 503, "unavailable", "%s", msg);
	}
}

static int
h_usage_list(struct rest_ctx *ctx, void *data)
{
	struct usage_filter f = {
		.service_id = rest_ctx_filter(ctx, "serviceId"),
		.from = rest_ctx_filter(ctx, "usageDate.gte"),
		.to = rest_ctx_filter(ctx, "usageDate.lt"),
	};
	struct db *db = pool_get(data);
	json_t *items = NULL;
	int64_t total = 0;
	char err[512];
	uint64_t l, o;
	int ret;

	rest_ctx_page(ctx, &l, &o);
	f.limit = l > 1000 ? 1000 : (unsigned)l;
	f.offset = o > 1000000000 ? 1000000000 : (unsigned)o;
	ret = usage_list(db, rest_ctx_principal(ctx), &f, &items, &total, err, sizeof(err));
	if (ret == -EIO && db_ping(db) < 0)
		db_reset(db);
	pool_put(data, db);
	return ret < 0 ? fail(ctx, ret, err) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_usage_get(struct rest_ctx *ctx, void *data)
{
	struct db *db = pool_get(data);
	json_t *doc = NULL;
	char err[512];
	int ret;

	ret = usage_get(db, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, err,
			sizeof(err));
	if (ret == -EIO && db_ping(db) < 0)
		db_reset(db);
	pool_put(data, db);
	return ret < 0 ? fail(ctx, ret, err) : rest_reply_json(ctx, 200, doc);
}

static int
h_spec_list(struct rest_ctx *ctx, void *data)
{
	json_t *all = usage_specifications();
	uint64_t limit, offset, total = json_array_size(all);
	json_t *page = json_array();

	(void)data;
	rest_ctx_page(ctx, &limit, &offset);
	for (uint64_t i = offset; i < total && i < offset + limit; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	return rest_reply_list(ctx, page, total);
}

static int
h_spec_get(struct rest_ctx *ctx, void *data)
{
	json_t *all = usage_specifications(), *s;
	const char *id = rest_ctx_param(ctx, "id");
	size_t i;
	int ret;

	(void)data;
	json_array_foreach(all, i, s) {
		if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0) {
			ret = rest_reply_json(ctx, 200, json_incref(s));
			json_decref(all);
			return ret;
		}
	}
	json_decref(all);
	return rest_reply_problem(ctx, 404, "not-found", "usage specification %s: not found", id);
}

static const char *const usage_filters[] = {"serviceId", "usageDate.gte", "usageDate.lt", NULL};
static const char *const no_filters[] = {NULL};

static const struct rest_route usage_routes[] = {
	{REST_GET, TMF635 "/usage", STAFF, NULL, "Usage", h_usage_list,
	 "Usage of services, newest first (TMF635)", "usage", REST_ROUTE_LIST, usage_filters},
	{REST_GET, TMF635 "/usage/{id}", STAFF, NULL, "Usage", h_usage_get,
	 "A usage record (TMF635)", "usage", 0, NULL},
	{REST_GET, TMF635 "/usageSpecification", STAFF, NULL, "UsageSpecification", h_spec_list,
	 "Usage specifications (TMF635)", "usage", REST_ROUTE_LIST, no_filters},
	{REST_GET, TMF635 "/usageSpecification/{id}", STAFF, NULL, "UsageSpecification",
	 h_spec_get, "A usage specification (TMF635)", "usage", 0, NULL},
};

extern const char usage_schemas_json[];

struct routes_usage {
	struct pool *pool; /* of struct db *, as the billing domain */
};

static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	return db_open_domain(arg, "billing", (struct db **)ret, err, errlen);
}

static void
close_handle(void *h)
{
	db_close(h);
}

int
routes_usage_register(struct rest_server *s, struct jschema_registry *schemas, const char *url,
		      unsigned pool_size, struct routes_usage **ret, char *err, size_t errlen)
{
	struct routes_usage *ru;
	int r;

	r = routes_add_schemas(schemas, usage_schemas_json, "usage", err, errlen);
	if (r < 0)
		return r;
	ru = calloc(1, sizeof(*ru));
	if (ru == NULL)
		return -ENOMEM;
	r = pool_open(pool_size, open_handle, close_handle, (void *)url, &ru->pool, err, errlen);
	if (r < 0) {
		free(ru);
		return r;
	}
	r = rest_register(s, usage_routes, sizeof(usage_routes) / sizeof(usage_routes[0]),
			  ru->pool, err, errlen);
	if (r < 0) {
		routes_usage_free(ru);
		return r;
	}
	*ret = ru;
	return 0;
}

struct routes_usage *
routes_usage_free(struct routes_usage *ru)
{
	if (ru == NULL)
		return NULL;
	pool_free(ru->pool);
	free(ru);
	return NULL;
}
