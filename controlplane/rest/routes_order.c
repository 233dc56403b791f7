/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The order domain's REST routes: TMF622 productOrder and
 * cancelProductOrder, and the saga's view. Each handler makes one call of
 * bss/order/order.h and maps its result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/order/order.h"
#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_order.h"

#define R(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define ORDERERS (R(ADMIN) | R(OPERATOR) | R(SUPPORT) | R(SELFCARE))
#define TMF "/tmf-api/productOrderingManagement/v4"

struct routes_order {
	struct pool *pool; /* of struct order *, each its own connection */
	const struct order_checks *checks;
};

static int
fail(struct rest_ctx *ctx, int ret, const struct order_error *e)
{
	json_t *ext = json_object();
	unsigned status;

	switch (ret) {
	case -EINVAL: status = 400; break;
	case -EPROTO: status = 422; break;
	case -EBUSY: status = 409; break;
	case -ENOENT: status = 404; break;
	case -ESTALE: status = 412; break;
	case -EPERM: status = 403; break;
	case -EAGAIN: status = 503; break;
	default: status = 500; break;
	}
	if (e->field[0])
		json_object_set_new(ext, "field", json_string(e->field));
	if (e->current[0])
		json_object_set_new(ext, "currentState", json_string(e->current));
	return rest_reply_problem_ext(ctx, status, e->code[0] ? e->code : "internal", ext, "%s",
				      e->message[0] ? e->message : "internal error");
}

static int
reply_versioned(struct rest_ctx *ctx, unsigned status, json_t *doc, int64_t version)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "%lld", (long long)version);
	rest_reply_etag(ctx, etag);
	if (status == 201)
		rest_reply_location(ctx, "%s", json_string_value(json_object_get(doc, "href")));
	return rest_reply_json(ctx, status, doc);
}

static int
h_create(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *doc = NULL;
	int ret;

	ret = order_create(o, rest_ctx_principal(ctx), rest_ctx_body(ctx), ro->checks, &doc, &e);
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 201, doc, 1);
}

static int
h_list(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *items = NULL;
	int64_t total = 0;
	uint64_t l, off;
	int ret;

	rest_ctx_page(ctx, &l, &off);
	ret = order_list(o, rest_ctx_principal(ctx), rest_ctx_filter(ctx, "state"),
			 rest_ctx_filter(ctx, "relatedParty.id"), l > 1000 ? 1000 : (unsigned)l,
			 off > 1000000000 ? 1000000000 : (unsigned)off, &items, &total, &e);
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_get(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *doc = NULL;
	int64_t version = 0;
	int ret;

	ret = order_get(o, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &version, &e);
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_patch(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	const struct cuco_principal *p = rest_ctx_principal(ctx);
	const char *id = rest_ctx_param(ctx, "id");
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *doc = NULL;
	int64_t version = 0;
	char etag[32];
	int ret;

	ret = order_get(o, p, id, &doc, &version, &e);
	json_decref(doc);
	doc = NULL;
	if (ret == 0) {
		snprintf(etag, sizeof(etag), "%lld", (long long)version);
		if (!rest_ctx_check_if_match(ctx, etag)) {
			pool_put(ro->pool, o);
			return 0;
		}
		ret = order_update(o, p, id, rest_ctx_if_match(ctx) ? version : -1,
				   rest_ctx_body(ctx), &doc, &version, &e);
	}
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_cancel(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *doc = NULL;
	int ret;

	ret = order_cancel(o, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 201, doc);
}

static int
h_saga(struct rest_ctx *ctx, void *data)
{
	struct routes_order *ro = data;
	struct order_error e = {0};
	struct order *o = pool_get(ro->pool);
	json_t *doc = NULL;
	int ret;

	ret = order_saga_get(o, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &e);
	pool_put(ro->pool, o);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, doc);
}

static const char *const order_filters[] = {"state", "relatedParty.id", NULL};

static const struct rest_route order_routes[] = {
	{REST_GET, TMF "/productOrder", ALL_ROLES, NULL, "ProductOrder", h_list,
	 "Product orders (TMF622), newest first; filters state and relatedParty.id", "order",
	 REST_ROUTE_LIST, order_filters},
	{REST_POST, TMF "/productOrder", ORDERERS, "ProductOrderCreate", "ProductOrder", h_create,
	 "Place an order (acknowledged; its saga runs in the background)", "order", 0, NULL},
	{REST_GET, TMF "/productOrder/{id}", ALL_ROLES, NULL, "ProductOrder", h_get,
	 "A product order with its items' states", "order", 0, NULL},
	{REST_PATCH, TMF "/productOrder/{id}", ORDERERS, "ProductOrderPatch", "ProductOrder",
	 h_patch, "Change an order's description or notes", "order", 0, NULL},
	{REST_POST, TMF "/cancelProductOrder", ORDERERS, "CancelProductOrderCreate",
	 "CancelProductOrder", h_cancel,
	 "Cancel an order before provisioning started (409 afterwards); the saga compensates",
	 "order", 0, NULL},
	{REST_GET, "/api/v1/orders/{id}/saga", ALL_ROLES, NULL, "OrderSaga", h_saga,
	 "The order's saga: steps, states, attempts, last errors, timings", "order", 0, NULL},
};

extern const char order_schemas_json[];

/* One domain handle (its own connection) of the pool. */
static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	struct order_error e = {0};
	int r = order_open(arg, (struct order **)ret, &e);

	if (r < 0)
		snprintf(err, errlen, "order domain: %s", e.message);
	return r;
}

static void
close_handle(void *h)
{
	order_close(h);
}

int
routes_order_register(struct rest_server *s, struct jschema_registry *schemas, const char *url,
		      unsigned pool_size, const struct order_checks *checks,
		      struct routes_order **ret, char *err, size_t errlen)
{
	struct routes_order *ro;
	int r;

	r = routes_add_schemas(schemas, order_schemas_json, "order", err, errlen);
	if (r < 0)
		return r;
	ro = calloc(1, sizeof(*ro));
	if (ro == NULL)
		return -ENOMEM;
	ro->checks = checks;
	r = pool_open(pool_size, open_handle, close_handle, (void *)url, &ro->pool, err, errlen);
	if (r < 0) {
		free(ro);
		return r;
	}
	r = rest_register(s, order_routes, sizeof(order_routes) / sizeof(order_routes[0]), ro, err,
			  errlen);
	if (r < 0) {
		routes_order_free(ro);
		return r;
	}
	*ret = ro;
	return 0;
}

struct routes_order *
routes_order_free(struct routes_order *ro)
{
	if (ro == NULL)
		return NULL;
	pool_free(ro->pool);
	free(ro);
	return NULL;
}
