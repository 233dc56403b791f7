/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The network domain's REST routes: TMF638 service inventory, TMF640
 * activation and monitors, dataplanes and address pools. Each handler makes
 * one call of bss/network/network.h and maps its result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_network.h"

#define R(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define STAFF (ALL_ROLES & ~R(SELFCARE))
#define WRITERS (R(ADMIN) | R(OPERATOR))

#define TMF638 "/tmf-api/serviceInventory/v4/service"
#define TMF640 "/tmf-api/ServiceActivationAndConfiguration/v4"

static int
fail(struct rest_ctx *ctx, int ret, const struct network_error *e)
{
	json_t *ext = json_object();
	unsigned status;

	switch (ret) {
	case -EINVAL: status = 400; break;
	case -EEXIST:
	case -EBUSY:
	case -ENOSPC:
	case -EREMOTEIO: status = 409; break;
	case -ENOENT: status = 404; break;
	case -EPERM: status = 403; break;
	case -EAGAIN: status = 503; break;
	default: status = 500; break;
	}
	if (e->field[0])
		json_object_set_new(ext, "field", json_string(e->field));
	return rest_reply_problem_ext(ctx, status, e->code[0] ? e->code : "internal", ext, "%s",
				      e->message[0] ? e->message : "internal error");
}

/* A page of a whole array (small collections: pools, dataplanes). */
static int
reply_page(struct rest_ctx *ctx, json_t *all)
{
	uint64_t limit, offset, total = json_array_size(all);
	json_t *page = json_array();

	rest_ctx_page(ctx, &limit, &offset);
	for (uint64_t i = offset; i < total && i < offset + limit; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	return rest_reply_list(ctx, page, total);
}

static int
h_service_list(struct rest_ctx *ctx, void *data)
{
	struct network_service_filter f = {
		.state = rest_ctx_filter(ctx, "state"),
		.customer_id = rest_ctx_filter(ctx, "relatedParty.id"),
	};
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *items = NULL;
	int64_t total = 0;
	uint64_t l, o;
	int ret;

	rest_ctx_page(ctx, &l, &o);
	f.limit = l > 1000 ? 1000 : (unsigned)l;
	f.offset = o > 1000000000 ? 1000000000 : (unsigned)o;
	ret = network_service_list(net, rest_ctx_principal(ctx), &f, &items, &total, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_service_get(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = network_service_get(net, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, doc);
}

static int
h_activation(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *mon = NULL;
	int ret;

	ret = network_activation_create(net, rest_ctx_principal(ctx), rest_ctx_body(ctx), &mon, &e);
	pool_put(data, net);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_location(ctx, "%s", json_string_value(json_object_get(mon, "href")));
	return rest_reply_json(ctx, 202, mon);
}

static int
h_monitor_get(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = network_monitor_get(net, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, doc);
}

static int
h_dataplane_list(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *all = NULL;
	int ret;

	ret = network_dataplane_list(net, rest_ctx_principal(ctx), &all, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : reply_page(ctx, all);
}

static int
h_dataplane_create(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = network_dataplane_register(net, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(data, net);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_location(ctx, "/api/v1/dataplanes/%s",
			    json_string_value(json_object_get(doc, "name")));
	return rest_reply_json(ctx, 201, doc);
}

static int
h_dataplane_delete(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	int ret;

	ret = network_dataplane_delete(net, rest_ctx_principal(ctx), rest_ctx_param(ctx, "name"), &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static int
h_pool_list(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *all = NULL;
	int ret;

	ret = network_pool_list(net, rest_ctx_principal(ctx), &all, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : reply_page(ctx, all);
}

static int
h_pool_get(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = network_pool_get(net, rest_ctx_principal(ctx), rest_ctx_param(ctx, "name"), &doc, &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, doc);
}

static int
h_pool_create(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = network_pool_create(net, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(data, net);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_location(ctx, "/api/v1/pools/%s", json_string_value(json_object_get(doc, "name")));
	return rest_reply_json(ctx, 201, doc);
}

static int
h_pool_delete(struct rest_ctx *ctx, void *data)
{
	struct network_error e = {0};
	struct network *net = pool_get(data);
	int ret;

	ret = network_pool_delete(net, rest_ctx_principal(ctx), rest_ctx_param(ctx, "name"), &e);
	pool_put(data, net);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static const char *const service_filters[] = {"state", "relatedParty.id", NULL};
static const char *const no_filters[] = {NULL};

static const struct rest_route network_routes[] = {
	{REST_GET, TMF638, ALL_ROLES, NULL, "Service", h_service_list,
	 "Services of the inventory (TMF638)", "network", REST_ROUTE_LIST, service_filters},
	{REST_GET, TMF638 "/{id}", ALL_ROLES, NULL, "Service", h_service_get,
	 "A service of the inventory (TMF638)", "network", 0, NULL},
	{REST_POST, TMF640 "/service", WRITERS, "ServiceActivationRequest", "Monitor", h_activation,
	 "Create and activate a service (TMF640): 202 and its monitor", "network", 0, NULL},
	{REST_GET, TMF640 "/monitor/{id}", ALL_ROLES, NULL, "Monitor", h_monitor_get,
	 "The monitor of an activation (TMF640)", "network", 0, NULL},
	{REST_GET, "/api/v1/dataplanes", STAFF, NULL, "Dataplane", h_dataplane_list,
	 "Registered dataplanes: generation applied, state, circuit", "network", REST_ROUTE_LIST,
	 no_filters},
	{REST_POST, "/api/v1/dataplanes", R(ADMIN), "DataplaneCreate", "Dataplane",
	 h_dataplane_create, "Register a dataplane's agent", "network", 0, NULL},
	{REST_DELETE, "/api/v1/dataplanes/{name}", R(ADMIN), NULL, NULL, h_dataplane_delete,
	 "Forget a dataplane (it keeps enforcing its last state)", "network", 0, NULL},
	{REST_GET, "/api/v1/pools", STAFF, NULL, "Pool", h_pool_list, "Address pools", "network",
	 REST_ROUTE_LIST, no_filters},
	{REST_POST, "/api/v1/pools", WRITERS, "PoolCreate", "Pool", h_pool_create,
	 "Create an address pool (pools never overlap)", "network", 0, NULL},
	{REST_GET, "/api/v1/pools/{name}", STAFF, NULL, "Pool", h_pool_get, "An address pool",
	 "network", 0, NULL},
	{REST_DELETE, "/api/v1/pools/{name}", WRITERS, NULL, NULL, h_pool_delete,
	 "Delete an address pool none of whose prefixes is lent", "network", 0, NULL},
};

extern const char network_schemas_json[];

struct routes_network {
	struct pool *pool; /* of struct network *, each its own connection */
};

struct open_args {
	const char *url;
	const struct network_pusher *pusher;
};

/* One domain handle (its own connection) of the pool, pushing to the dataplanes. */
static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	const struct open_args *a = arg;
	struct network_error e = {0};
	int r = network_open(a->url, (struct network **)ret, &e);

	if (r < 0) {
		snprintf(err, errlen, "network domain: %s", e.message);
		return r;
	}
	network_set_pusher(*ret, a->pusher);
	return 0;
}

static void
close_handle(void *h)
{
	network_close(h);
}

int
routes_network_register(struct rest_server *s, struct jschema_registry *schemas,
			const char *url, unsigned pool_size, const struct network_pusher *pusher,
			struct routes_network **ret, char *err, size_t errlen)
{
	struct open_args a = {url, pusher};
	struct routes_network *rn;
	int r;

	r = routes_add_schemas(schemas, network_schemas_json, "network", err, errlen);
	if (r < 0)
		return r;
	rn = calloc(1, sizeof(*rn));
	if (rn == NULL)
		return -ENOMEM;
	r = pool_open(pool_size, open_handle, close_handle, &a, &rn->pool, err, errlen);
	if (r < 0) {
		free(rn);
		return r;
	}
	r = rest_register(s, network_routes, sizeof(network_routes) / sizeof(network_routes[0]),
			  rn->pool, err, errlen);
	if (r < 0) {
		routes_network_free(rn);
		return r;
	}
	*ret = rn;
	return 0;
}

struct routes_network *
routes_network_free(struct routes_network *rn)
{
	if (rn == NULL)
		return NULL;
	pool_free(rn->pool);
	free(rn);
	return NULL;
}
