/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The catalog domain's REST routes. Each handler parses, makes one call of
 * bss/catalog/catalog.h and maps its result; the domain authorizes and
 * validates the call itself as well (the route table's roles and JSON
 * Schemas are the gateway's first checks).
 *
 * Reads of catalog resources come from the read model: they carry ETag,
 * Last-Modified and a short Cache-Control, and answer 304 to If-None-Match
 * (the gateway) and If-Modified-Since (here). Writes answer the state they
 * wrote, which the read model shows once its consumer applied the event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/catalog/catalog.h"
#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_catalog.h"

#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define MANAGE (CUCO_ROLE_BIT(CUCO_ROLE_ADMIN) | CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR))
#define TMF "/tmf-api/productCatalogManagement/v4/"
/* Short: the read model is eventually consistent anyway, and clients revalidate cheaply. */
#define CACHE_CONTROL "private, max-age=5"
#define MAX_FILTERS 16

struct routes_catalog;

/* The routes of one kind of resource, and what their handlers need. */
struct kind_routes {
	struct routes_catalog *rc;
	enum catalog_kind kind;
	struct rest_route routes[5];
	char summary[5][96];
};

struct routes_catalog {
	struct pool *pool; /* of struct catalog *, each its own connection */
	struct kind_routes kinds[CATALOG_KIND_COUNT];
};

/* ---- answers ----------------------------------------------------------------- */

/* The domain's error as a problem: its stable code, the field, the current state. */
static int
fail(struct rest_ctx *ctx, int ret, const struct catalog_error *e)
{
	unsigned status;
	json_t *ext = json_object();

	switch (ret) {
	case -EINVAL: status = 400; break;
	case -ENOENT: status = 404; break;
	case -EBUSY:
	case -EEXIST:
	case -ENOSPC: status = 409; break;
	case -ESTALE: status = 412; break;
	case -EPERM: status = 403; break;
	default: status = 500; break;
	}
	if (e->field[0])
		json_object_set_new(ext, "field", json_string(e->field));
	if (e->current[0])
		json_object_set_new(ext, "currentState", json_string(e->current));
	return rest_reply_problem_ext(ctx, status, e->code[0] ? e->code : "internal", ext, "%s",
				      e->message[0] ? e->message : "internal error");
}

/* The entity tag: the revision, and for an offering whether it may be ordered now. */
static void
etag_of(enum catalog_kind kind, const json_t *doc, const struct catalog_meta *m, char *buf,
	size_t len)
{
	if (kind == CATALOG_OFFERING)
		snprintf(buf, len, "%lld-%c", (long long)m->revision,
			 json_is_true(json_object_get(doc, "x-orderable")) ? 'o' : 'n');
	else
		snprintf(buf, len, "%lld", (long long)m->revision);
}

static void
http_date(int64_t us, char buf[40])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	/* RFC 9110 §5.6.7 IMF-fixdate; names fixed, whatever the locale. */
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	snprintf(buf, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Whether If-Modified-Since says the client's copy is current (RFC 9110 §13.1.3). */
static bool
not_modified_since(struct rest_ctx *ctx, int64_t last_update_us)
{
	const char *ims = rest_ctx_header(ctx, "If-Modified-Since");
	struct tm tm = {0};
	const char *end;

	/* If-None-Match, when present, decides alone. */
	if (ims == NULL || rest_ctx_header(ctx, "If-None-Match") != NULL)
		return false;
	end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return false;
	return last_update_us / 1000000 <= (int64_t)timegm(&tm);
}

static void
resource_headers(struct rest_ctx *ctx, enum catalog_kind kind, const json_t *doc,
		 const struct catalog_meta *m)
{
	char etag[48], date[40];

	etag_of(kind, doc, m, etag, sizeof(etag));
	rest_reply_etag(ctx, etag);
	http_date(m->last_update_us, date);
	rest_reply_header(ctx, "Last-Modified", date);
}

/* A resource read: cache headers, and 304 when If-Modified-Since holds. */
static int
reply_read(struct rest_ctx *ctx, enum catalog_kind kind, json_t *doc, const struct catalog_meta *m)
{
	resource_headers(ctx, kind, doc, m);
	rest_reply_header(ctx, "Cache-Control", CACHE_CONTROL);
	if (not_modified_since(ctx, m->last_update_us)) {
		json_decref(doc);
		return rest_reply_json(ctx, 304, NULL);
	}
	return rest_reply_json(ctx, 200, doc);
}

static int
reply_written(struct rest_ctx *ctx, unsigned status, enum catalog_kind kind, json_t *doc,
	      const struct catalog_meta *m)
{
	resource_headers(ctx, kind, doc, m);
	if (status == 201)
		rest_reply_location(ctx, "%s", json_string_value(json_object_get(doc, "href")));
	return rest_reply_json(ctx, status, doc);
}

/* The query's attribute filters. */
static size_t
filters_of(struct rest_ctx *ctx, struct catalog_filter *f)
{
	size_t n = 0;

	while (n < MAX_FILTERS && rest_ctx_filter_at(ctx, (unsigned)n, &f[n].attr, &f[n].value))
		n++;
	return n;
}

/*
 * If-Match on a write: compared with the current tag from the write side;
 * the revision it stands for is then what the change expects (-1 without
 * If-Match). Returns false when it answered 412 (or an error).
 */
static bool
if_match(struct rest_ctx *ctx, struct catalog *cat, enum catalog_kind kind, const char *id,
	 int64_t *expected, int *ret)
{
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *cur = NULL;
	char etag[48];

	*expected = -1;
	*ret = 0;
	if (rest_ctx_if_match(ctx) == NULL)
		return true;
	*ret = kind == CATALOG_KIND_COUNT
		       ? catalog_item_get(cat, rest_ctx_principal(ctx), id, &cur, &m, &e)
		       : catalog_get_current(cat, rest_ctx_principal(ctx), kind, id, &cur, &m, &e);
	if (*ret < 0) {
		*ret = fail(ctx, *ret, &e);
		return false;
	}
	etag_of(kind, cur, &m, etag, sizeof(etag));
	json_decref(cur);
	if (!rest_ctx_check_if_match(ctx, etag))
		return false;
	*expected = m.revision;
	return true;
}

/* ---- resources ----------------------------------------------------------------- */

static int
h_list(struct rest_ctx *ctx, void *data)
{
	struct kind_routes *kr = data;
	struct catalog *cat = pool_get(kr->rc->pool);
	struct catalog_filter f[MAX_FILTERS];
	struct catalog_error e = {0};
	uint64_t limit, offset, total = 0;
	json_t *items = NULL;
	size_t n = filters_of(ctx, f);
	int ret;

	rest_ctx_page(ctx, &limit, &offset);
	ret = catalog_list(cat, rest_ctx_principal(ctx), kr->kind, f, n, limit, offset, &items,
			   &total, NULL, &e);
	pool_put(kr->rc->pool, cat);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_header(ctx, "Cache-Control", CACHE_CONTROL);
	return rest_reply_list(ctx, items, total);
}

static int
h_get(struct rest_ctx *ctx, void *data)
{
	struct kind_routes *kr = data;
	struct catalog *cat = pool_get(kr->rc->pool);
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *doc = NULL;
	int ret;

	ret = catalog_get(cat, rest_ctx_principal(ctx), kr->kind, rest_ctx_param(ctx, "id"), &doc,
			  &m, &e);
	pool_put(kr->rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_read(ctx, kr->kind, doc, &m);
}

static int
h_create(struct rest_ctx *ctx, void *data)
{
	struct kind_routes *kr = data;
	struct catalog *cat = pool_get(kr->rc->pool);
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *doc = NULL;
	int ret;

	ret = catalog_create(cat, rest_ctx_principal(ctx), kr->kind, rest_ctx_body(ctx), &doc, &m,
			     &e);
	pool_put(kr->rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_written(ctx, 201, kr->kind, doc, &m);
}

static int
h_patch(struct rest_ctx *ctx, void *data)
{
	struct kind_routes *kr = data;
	struct catalog *cat = pool_get(kr->rc->pool);
	const char *id = rest_ctx_param(ctx, "id");
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *doc = NULL;
	int64_t expected;
	int ret;

	if (!if_match(ctx, cat, kr->kind, id, &expected, &ret)) {
		pool_put(kr->rc->pool, cat);
		return ret;
	}
	ret = catalog_update(cat, rest_ctx_principal(ctx), kr->kind, id, rest_ctx_body(ctx),
			     expected, &doc, &m, &e);
	pool_put(kr->rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_written(ctx, 200, kr->kind, doc, &m);
}

static int
h_delete(struct rest_ctx *ctx, void *data)
{
	struct kind_routes *kr = data;
	struct catalog *cat = pool_get(kr->rc->pool);
	const char *id = rest_ctx_param(ctx, "id");
	struct catalog_error e = {0};
	int64_t expected;
	int ret;

	if (!if_match(ctx, cat, kr->kind, id, &expected, &ret)) {
		pool_put(kr->rc->pool, cat);
		return ret;
	}
	ret = catalog_delete(cat, rest_ctx_principal(ctx), kr->kind, id, expected, &e);
	pool_put(kr->rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

/* ---- the price of an offering ----------------------------------------------- */

static int
h_price(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	const char *at_s = rest_ctx_filter(ctx, "at"), *month_s = rest_ctx_filter(ctx, "month");
	struct catalog_error e = {0};
	unsigned long month = 1;
	struct catalog *cat;
	json_t *res = NULL;
	char *end;
	int ret;

	if (month_s != NULL) {
		month = strtoul(month_s, &end, 10);
		if (month_s[0] < '0' || month_s[0] > '9' || *end != '\0' || month < 1 ||
		    month > 1200)
			return rest_reply_problem_ext(ctx, 400, "invalid-argument",
						      json_pack("{s:s}", "field", "month"),
						      "month: from 1 (the first month) to 1200");
	}
	cat = pool_get(rc->pool);
	ret = catalog_offering_price(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), at_s,
				     (unsigned)month, &res, &e);
	pool_put(rc->pool, cat);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_header(ctx, "Cache-Control", CACHE_CONTROL);
	return rest_reply_json(ctx, 200, res);
}

/* ---- inventory ---------------------------------------------------------------- */

static int
reply_item(struct rest_ctx *ctx, unsigned status, json_t *item, const struct catalog_meta *m)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "%lld", (long long)m->revision);
	rest_reply_etag(ctx, etag);
	/* Stock changes with every reservation: never from a cache. */
	rest_reply_header(ctx, "Cache-Control", "no-cache");
	if (status == 201)
		rest_reply_location(ctx, "%s", json_string_value(json_object_get(item, "href")));
	return rest_reply_json(ctx, status, item);
}

static int
h_items_list(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_filter f[MAX_FILTERS];
	struct catalog_error e = {0};
	uint64_t limit, offset, total = 0;
	json_t *items = NULL;
	size_t n = filters_of(ctx, f);
	int ret;

	rest_ctx_page(ctx, &limit, &offset);
	ret = catalog_item_list(cat, rest_ctx_principal(ctx), f, n, limit, offset, &items, &total,
				&e);
	pool_put(rc->pool, cat);
	if (ret < 0)
		return fail(ctx, ret, &e);
	rest_reply_header(ctx, "Cache-Control", "no-cache");
	return rest_reply_list(ctx, items, total);
}

static int
h_item_create(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *item = NULL;
	int ret;

	ret = catalog_item_create(cat, rest_ctx_principal(ctx), rest_ctx_body(ctx), &item, &m, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_item(ctx, 201, item, &m);
}

static int
h_item_get(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *item = NULL;
	int ret;

	ret = catalog_item_get(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &item, &m,
			       &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_item(ctx, 200, item, &m);
}

static int
h_item_patch(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	const char *id = rest_ctx_param(ctx, "id");
	struct catalog_error e = {0};
	struct catalog_meta m;
	json_t *item = NULL;
	int64_t expected;
	int ret;

	if (!if_match(ctx, cat, CATALOG_KIND_COUNT, id, &expected, &ret)) {
		pool_put(rc->pool, cat);
		return ret;
	}
	ret = catalog_item_update(cat, rest_ctx_principal(ctx), id, rest_ctx_body(ctx), expected,
				  &item, &m, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_item(ctx, 200, item, &m);
}

static int
h_item_delete(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	const char *id = rest_ctx_param(ctx, "id");
	struct catalog_error e = {0};
	int64_t expected;
	int ret;

	if (!if_match(ctx, cat, CATALOG_KIND_COUNT, id, &expected, &ret)) {
		pool_put(rc->pool, cat);
		return ret;
	}
	ret = catalog_item_delete(cat, rest_ctx_principal(ctx), id, expected, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

static int
reply_reservation(struct rest_ctx *ctx, unsigned status, json_t *r)
{
	rest_reply_header(ctx, "Cache-Control", "no-cache");
	if (status == 201)
		rest_reply_location(ctx, "/api/v1/inventory/%s/reservations/%s",
				    json_string_value(json_object_get(r, "item_id")),
				    json_string_value(json_object_get(r, "reservation_id")));
	return rest_reply_json(ctx, status, r);
}

static int
h_reserve(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	const json_t *b = rest_ctx_body(ctx);
	struct catalog_error e = {0};
	struct catalog *cat;
	json_t *r = NULL;
	bool created = false;
	int ret;

	cat = pool_get(rc->pool);
	ret = catalog_reserve(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
			      json_string_value(json_object_get(b, "reservation_id")),
			      json_integer_value(json_object_get(b, "quantity")), &r, &created, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_reservation(ctx, created ? 201 : 200, r);
}

static int
h_reservation_get(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_error e = {0};
	json_t *r = NULL;
	int ret;

	ret = catalog_reservation_get(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				      rest_ctx_param(ctx, "rid"), &r, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_reservation(ctx, 200, r);
}

static int
h_release(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_error e = {0};
	json_t *r = NULL;
	int ret;

	ret = catalog_release(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
			      rest_ctx_param(ctx, "rid"), &r, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_reservation(ctx, 200, r);
}

static int
h_commit(struct rest_ctx *ctx, void *data)
{
	struct routes_catalog *rc = data;
	struct catalog *cat = pool_get(rc->pool);
	struct catalog_error e = {0};
	json_t *r = NULL;
	int ret;

	ret = catalog_commit(cat, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
			     rest_ctx_param(ctx, "rid"), &r, &e);
	pool_put(rc->pool, cat);
	return ret < 0 ? fail(ctx, ret, &e) : reply_reservation(ctx, 200, r);
}

/* ---- the tables ----------------------------------------------------------------- */

static const char *const price_filters[] = {"at", "month", NULL};
static const char *const item_filters[] = {"kind", "sku", "name", NULL};

static const struct rest_route other_routes[] = {
	{REST_GET, "/api/v1/offerings/{id}/price", ALL_ROLES, NULL, "OfferingPrice", h_price,
	 "What month ?month= (1: the first) of a subscription to an offering made at ?at= "
	 "costs, promotions applied",
	 "catalog", 0, price_filters},
	{REST_GET, "/api/v1/inventory", ALL_ROLES, NULL, "InventoryItem", h_items_list,
	 "List inventory items (stock)", "inventory", REST_ROUTE_LIST, item_filters},
	{REST_POST, "/api/v1/inventory", MANAGE, "InventoryItemCreate", "InventoryItem",
	 h_item_create, "Create an inventory item", "inventory", 0, NULL},
	{REST_GET, "/api/v1/inventory/{id}", ALL_ROLES, NULL, "InventoryItem", h_item_get,
	 "An inventory item: quantity, reserved, available", "inventory", 0, NULL},
	{REST_PATCH, "/api/v1/inventory/{id}", MANAGE, "InventoryItemPatch", "InventoryItem",
	 h_item_patch, "Change an item (merge patch); a new quantity is a restock", "inventory", 0,
	 NULL},
	{REST_DELETE, "/api/v1/inventory/{id}", MANAGE, NULL, NULL, h_item_delete,
	 "Delete an item without open reservations", "inventory", 0, NULL},
	{REST_POST, "/api/v1/inventory/{id}/reservations", MANAGE, "ReservationCreate",
	 "Reservation", h_reserve,
	 "Reserve units under a reservation id (idempotent; 409 insufficient-stock)", "inventory",
	 0, NULL},
	{REST_GET, "/api/v1/inventory/{id}/reservations/{rid}", ALL_ROLES, NULL, "Reservation",
	 h_reservation_get, "A reservation", "inventory", 0, NULL},
	{REST_POST, "/api/v1/inventory/{id}/reservations/{rid}/release", MANAGE, NULL,
	 "Reservation", h_release, "Give a reservation's units back (idempotent)", "inventory", 0,
	 NULL},
	{REST_POST, "/api/v1/inventory/{id}/reservations/{rid}/commit", MANAGE, NULL, "Reservation",
	 h_commit, "Take a reservation's units out of stock (idempotent)", "inventory", 0, NULL},
};

/* Where each kind lives and the names of its schemas. */
static const struct kind_def {
	const char *list, *item, *type, *noun, *tag;
} kind_defs[CATALOG_KIND_COUNT] = {
	[CATALOG_CATALOG] = {TMF "catalog", TMF "catalog/{id}", "Catalog", "catalog", "catalog"},
	[CATALOG_CATEGORY] = {TMF "category", TMF "category/{id}", "Category", "category",
			      "catalog"},
	[CATALOG_SPECIFICATION] = {TMF "productSpecification", TMF "productSpecification/{id}",
				   "ProductSpecification", "product specification", "catalog"},
	[CATALOG_OFFERING] = {TMF "productOffering", TMF "productOffering/{id}", "ProductOffering",
			      "product offering", "catalog"},
	[CATALOG_PRICE] = {TMF "productOfferingPrice", TMF "productOfferingPrice/{id}",
			   "ProductOfferingPrice", "product offering price", "catalog"},
	[CATALOG_PROFILE] = {"/api/v1/profiles", "/api/v1/profiles/{id}", "BandwidthProfile",
			     "bandwidth profile", "profiles"},
	[CATALOG_PROMOTION] = {"/api/v1/promotions", "/api/v1/promotions/{id}", "Promotion",
			       "promotion", "promotions"},
};

/* Schema names live as long as the process: the registry keeps its own copies. */
static char schema_names[CATALOG_KIND_COUNT][2][48];

static void
build_kind(struct kind_routes *kr, enum catalog_kind k)
{
	const struct kind_def *d = &kind_defs[k];
	char(*s)[96] = kr->summary;

	snprintf(schema_names[k][0], sizeof(schema_names[k][0]), "%sCreate", d->type);
	snprintf(schema_names[k][1], sizeof(schema_names[k][1]), "%sPatch", d->type);
	snprintf(s[0], 96, "List %s resources (read model; filters, fields=)", d->noun);
	snprintf(s[1], 96, "Create a %s", d->noun);
	snprintf(s[2], 96, "A %s (read model)", d->noun);
	snprintf(s[3], 96, "Change a %s (merge patch; lifecycle transitions)", d->noun);
	snprintf(s[4], 96, "Delete a %s", d->noun);
	kr->kind = k;
	kr->routes[0] = (struct rest_route){
		.method = REST_GET, .path = d->list, .roles = ALL_ROLES,
		.response_schema = d->type, .handler = h_list, .summary = s[0], .tag = d->tag,
		.flags = REST_ROUTE_LIST, .filters = catalog_filters(k),
	};
	kr->routes[1] = (struct rest_route){
		.method = REST_POST, .path = d->list, .roles = MANAGE,
		.request_schema = schema_names[k][0], .response_schema = d->type,
		.handler = h_create, .summary = s[1], .tag = d->tag,
	};
	kr->routes[2] = (struct rest_route){
		.method = REST_GET, .path = d->item, .roles = ALL_ROLES,
		.response_schema = d->type, .handler = h_get, .summary = s[2], .tag = d->tag,
	};
	kr->routes[3] = (struct rest_route){
		.method = REST_PATCH, .path = d->item, .roles = MANAGE,
		.request_schema = schema_names[k][1], .response_schema = d->type,
		.handler = h_patch, .summary = s[3], .tag = d->tag,
	};
	kr->routes[4] = (struct rest_route){
		.method = REST_DELETE, .path = d->item, .roles = MANAGE,
		.handler = h_delete, .summary = s[4], .tag = d->tag,
	};
}

extern const char catalog_schemas_json[];

/* One domain handle (its own connection) of the pool. */
static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	struct catalog_error e = {0};
	int r = catalog_open(arg, (struct catalog **)ret, &e);

	if (r < 0)
		snprintf(err, errlen, "catalog domain: %s", e.message);
	return r;
}

static void
close_handle(void *h)
{
	catalog_close(h);
}

int
routes_catalog_register(struct rest_server *s, struct jschema_registry *schemas, const char *url,
			unsigned pool_size, struct routes_catalog **ret, char *err, size_t errlen)
{
	struct routes_catalog *rc;
	int r;

	r = routes_add_schemas(schemas, catalog_schemas_json, "catalog", err, errlen);
	if (r < 0)
		return r;
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return -ENOMEM;
	r = pool_open(pool_size, open_handle, close_handle, (void *)url, &rc->pool, err, errlen);
	if (r < 0) {
		free(rc);
		return r;
	}
	for (unsigned k = 0; k < CATALOG_KIND_COUNT && r == 0; k++) {
		rc->kinds[k].rc = rc;
		build_kind(&rc->kinds[k], k);
		r = rest_register(s, rc->kinds[k].routes, 5, &rc->kinds[k], err, errlen);
	}
	if (r == 0)
		r = rest_register(s, other_routes, sizeof(other_routes) / sizeof(other_routes[0]),
				  rc, err, errlen);
	if (r < 0) {
		routes_catalog_free(rc);
		return r;
	}
	*ret = rc;
	return 0;
}

struct routes_catalog *
routes_catalog_free(struct routes_catalog *rc)
{
	if (rc == NULL)
		return NULL;
	pool_free(rc->pool);
	free(rc);
	return NULL;
}
