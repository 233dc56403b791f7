/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The customer domain's REST routes: TMF629 Customer, TMF632 Individual and
 * Organization, and the appliance's own /api/v1/customers/{id}/... Each
 * handler parses, makes one call of bss/customer/customer.h and maps its
 * result; the domain authorizes every call itself (the table's roles are the
 * gateway's first check) and decides what a reader may see.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/customer/customer.h"
#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_customer.h"

#define R(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define WRITERS (R(ADMIN) | R(OPERATOR) | R(SUPPORT))
#define DELETERS (R(ADMIN) | R(OPERATOR))

#define TMF_CUSTOMER "/tmf-api/customerManagement/v4/customer"
#define TMF_INDIVIDUAL "/tmf-api/party/v4/individual"
#define TMF_ORGANIZATION "/tmf-api/party/v4/organization"
#define API_CUSTOMER "/api/v1/customers/{id}"

/* The domain's error as a problem: its stable code, field, and the current state. */
static int
fail(struct rest_ctx *ctx, int ret, const struct customer_error *e)
{
	json_t *ext = json_object();
	unsigned status;

	switch (ret) {
	case -EINVAL: status = 400; break;
	case -EEXIST:
	case -EBUSY: status = 409; break;
	case -ENOENT: status = 404; break;
	case -ESTALE: status = 412; break;
	case -EPERM: status = 403; break;
	default: status = 500; break;
	}
	if (e->field[0])
		json_object_set_new(ext, "field", json_string(e->field));
	if (e->current_state[0])
		json_object_set_new(ext, "currentState", json_string(e->current_state));
	if (strcmp(e->code, "insufficient-points") == 0)
		json_object_set_new(ext, "balance", json_integer(e->balance));
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

/* If-Match of a write as the version it names: -1 none or "*", -2 one that cannot match. */
static int64_t
if_match_version(struct rest_ctx *ctx)
{
	const char *im = rest_ctx_if_match(ctx);
	char *end;
	int64_t v;

	if (im == NULL || strcmp(im, "*") == 0)
		return -1;
	v = strtoll(im + (im[0] == '"'), &end, 10);
	if (end == im + (im[0] == '"') || (im[0] == '"' && strcmp(end, "\"") != 0) ||
	    (im[0] != '"' && *end != '\0'))
		return -2;
	return v;
}

static void
page_of(struct rest_ctx *ctx, unsigned *limit, unsigned *offset)
{
	uint64_t l, o;

	rest_ctx_page(ctx, &l, &o);
	*limit = l > 1000 ? 1000 : (unsigned)l;
	*offset = o > 1000000000 ? 1000000000 : (unsigned)o;
}

/* ---- TMF629 Customer ---------------------------------------------------------------- */

static int
h_customer_list(struct rest_ctx *ctx, void *data)
{
	struct customer_filter f = {
		.name = rest_ctx_filter(ctx, "name"),
		.status = rest_ctx_filter(ctx, "status"),
		.email = rest_ctx_filter(ctx, "email"),
		.phone = rest_ctx_filter(ctx, "phone"),
		.customer_number = rest_ctx_filter(ctx, "customerNumber"),
	};
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *items = NULL;
	int64_t total = 0;
	int ret;

	page_of(ctx, &f.limit, &f.offset);
	ret = customer_list(c, rest_ctx_principal(ctx), &f, &items, &total, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_customer_create(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *doc = NULL;
	int64_t version = 0;
	int ret;

	ret = customer_create(c, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &version, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 201, doc, version);
}

static int
h_customer_get(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *doc = NULL;
	int64_t version = 0;
	int ret;

	ret = customer_get(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &version,
			   &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_customer_patch(struct rest_ctx *ctx, void *data)
{
	const struct cuco_principal *p = rest_ctx_principal(ctx);
	const char *id = rest_ctx_param(ctx, "id");
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *doc = NULL;
	int64_t version = 0;
	char etag[32];
	int ret;

	/* If-Match against the version read now; the update checks it again, locked. */
	ret = customer_get(c, p, id, &doc, &version, &e);
	json_decref(doc);
	doc = NULL;
	if (ret < 0)
		goto out;
	snprintf(etag, sizeof(etag), "%lld", (long long)version);
	if (!rest_ctx_check_if_match(ctx, etag)) {
		pool_put(data, c);
		return 0;
	}
	ret = customer_update(c, p, id, rest_ctx_if_match(ctx) ? version : -1, rest_ctx_body(ctx),
			      &doc, &version, &e);
out:
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_customer_delete(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	int ret;

	ret = customer_delete(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
			      if_match_version(ctx), &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

/* ---- TMF632 Individual and Organization ----------------------------------------------- */

/* The routes of both kinds share handlers; the table's data says which kind. */
struct party_routes {
	struct pool *pool;
	enum customer_party_kind kind;
};

static int
h_party_list(struct rest_ctx *ctx, void *data)
{
	struct party_routes *pr = data;
	struct customer_error e = {0};
	struct customer *c = pool_get(pr->pool);
	unsigned limit, offset;
	json_t *items = NULL;
	int64_t total = 0;
	int ret;

	page_of(ctx, &limit, &offset);
	ret = customer_party_list(c, rest_ctx_principal(ctx), pr->kind,
				  rest_ctx_filter(ctx, "name"), limit, offset, &items, &total, &e);
	pool_put(pr->pool, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_party_create(struct rest_ctx *ctx, void *data)
{
	struct party_routes *pr = data;
	struct customer_error e = {0};
	struct customer *c = pool_get(pr->pool);
	json_t *doc = NULL;
	int64_t version = 0;
	int ret;

	ret = customer_party_create(c, rest_ctx_principal(ctx), pr->kind, rest_ctx_body(ctx), &doc,
				    &version, &e);
	pool_put(pr->pool, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 201, doc, version);
}

static int
h_party_get(struct rest_ctx *ctx, void *data)
{
	struct party_routes *pr = data;
	struct customer_error e = {0};
	struct customer *c = pool_get(pr->pool);
	json_t *doc = NULL;
	int64_t version = 0;
	int ret;

	ret = customer_party_get(c, rest_ctx_principal(ctx), pr->kind, rest_ctx_param(ctx, "id"),
				 &doc, &version, &e);
	pool_put(pr->pool, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_party_patch(struct rest_ctx *ctx, void *data)
{
	struct party_routes *pr = data;
	const struct cuco_principal *p = rest_ctx_principal(ctx);
	const char *id = rest_ctx_param(ctx, "id");
	struct customer_error e = {0};
	struct customer *c = pool_get(pr->pool);
	json_t *doc = NULL;
	int64_t version = 0;
	char etag[32];
	int ret;

	ret = customer_party_get(c, p, pr->kind, id, &doc, &version, &e);
	json_decref(doc);
	doc = NULL;
	if (ret < 0)
		goto out;
	snprintf(etag, sizeof(etag), "%lld", (long long)version);
	if (!rest_ctx_check_if_match(ctx, etag)) {
		pool_put(pr->pool, c);
		return 0;
	}
	ret = customer_party_update(c, p, pr->kind, id, rest_ctx_if_match(ctx) ? version : -1,
				    rest_ctx_body(ctx), &doc, &version, &e);
out:
	pool_put(pr->pool, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc, version);
}

static int
h_party_delete(struct rest_ctx *ctx, void *data)
{
	struct party_routes *pr = data;
	struct customer_error e = {0};
	struct customer *c = pool_get(pr->pool);
	int ret;

	ret = customer_party_delete(c, rest_ctx_principal(ctx), pr->kind, rest_ctx_param(ctx, "id"),
				    if_match_version(ctx), &e);
	pool_put(pr->pool, c);
	return ret < 0 ? fail(ctx, ret, &e) : 0;
}

/* ---- /api/v1/customers/{id}/... ---------------------------------------------------------- */

static int
h_consents_list(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	unsigned limit, offset;
	json_t *items = NULL;
	int64_t total = 0;
	int ret;

	page_of(ctx, &limit, &offset);
	ret = customer_consent_list(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				    rest_ctx_filter(ctx, "channel"),
				    rest_ctx_filter(ctx, "purpose"), limit, offset, &items, &total,
				    &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_consent_record(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *rec = NULL;
	int ret;

	ret = customer_consent_record(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				      rest_ctx_body(ctx), &rec, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 201, rec);
}

static int
h_prefs_get(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *prefs = NULL;
	int64_t version = 0;
	int ret;

	ret = customer_preferences_get(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				       &prefs, &version, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, prefs, version);
}

static int
h_prefs_put(struct rest_ctx *ctx, void *data)
{
	const struct cuco_principal *p = rest_ctx_principal(ctx);
	const char *id = rest_ctx_param(ctx, "id");
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *prefs = NULL;
	int64_t version = 0;
	char etag[32];
	int ret;

	ret = customer_preferences_get(c, p, id, &prefs, &version, &e);
	json_decref(prefs);
	prefs = NULL;
	if (ret < 0)
		goto out;
	snprintf(etag, sizeof(etag), "%lld", (long long)version);
	if (!rest_ctx_check_if_match(ctx, etag)) {
		pool_put(data, c);
		return 0;
	}
	ret = customer_preferences_set(c, p, id, rest_ctx_if_match(ctx) ? version : -1,
				       rest_ctx_body(ctx), &prefs, &version, &e);
out:
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, prefs, version);
}

static int
h_loyalty_get(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *res = NULL;
	int ret;

	ret = customer_loyalty_get(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &res, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, res);
}

static int
h_loyalty_history(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	unsigned limit, offset;
	json_t *items = NULL;
	int64_t total = 0;
	int ret;

	page_of(ctx, &limit, &offset);
	ret = customer_loyalty_history(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), limit,
				       offset, &items, &total, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
h_loyalty_post(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *tx = NULL;
	bool created = false;
	int ret;

	ret = customer_loyalty_post(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				    rest_ctx_body(ctx), &tx, &created, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, created ? 201 : 200, tx);
}

static int
h_export(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *res = NULL;
	int ret;

	ret = customer_export(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &res, &e);
	pool_put(data, c);
	if (ret < 0)
		return fail(ctx, ret, &e);
	/* Personal data: no copy in caches on the way. */
	rest_reply_header(ctx, "Cache-Control", "no-store");
	return rest_reply_json(ctx, 200, res);
}

static int
h_erase(struct rest_ctx *ctx, void *data)
{
	struct customer_error e = {0};
	struct customer *c = pool_get(data);
	json_t *res = NULL;
	bool now = false;
	int ret;

	ret = customer_erase(c, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &res, &now, &e);
	pool_put(data, c);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, res);
}

/* ---- the tables ----------------------------------------------------------------------- */

static const char *const customer_filters[] = {"name", "status", "email", "phone",
					       "customerNumber", NULL};
static const char *const party_filters[] = {"name", NULL};
static const char *const consent_filters[] = {"channel", "purpose", NULL};
static const char *const no_filters[] = {NULL};

static const struct rest_route customer_routes[] = {
	{REST_GET, TMF_CUSTOMER, ALL_ROLES, NULL, "Customer", h_customer_list,
	 "Customers (TMF629); search by name (part, any case), status, email, phone, "
	 "customerNumber",
	 "customer", REST_ROUTE_LIST, customer_filters},
	{REST_POST, TMF_CUSTOMER, WRITERS, "CustomerCreate", "Customer", h_customer_create,
	 "Register a customer for an existing party (prospect or active)", "customer", 0, NULL},
	{REST_GET, TMF_CUSTOMER "/{id}", ALL_ROLES, NULL, "Customer", h_customer_get,
	 "A customer; personal attributes as the reader's roles allow", "customer", 0, NULL},
	{REST_PATCH, TMF_CUSTOMER "/{id}", WRITERS | R(SELFCARE), "CustomerPatch", "Customer",
	 h_customer_patch,
	 "Change a customer (merge patch); a status change follows the lifecycle (409 with the "
	 "current state otherwise)",
	 "customer", 0, NULL},
	{REST_DELETE, TMF_CUSTOMER "/{id}", DELETERS, NULL, NULL, h_customer_delete,
	 "Delete a prospect (others: close with a status change, or erase)", "customer", 0,
	 NULL},
	{REST_GET, API_CUSTOMER "/consents", ALL_ROLES, NULL, "Consent", h_consents_list,
	 "The customer's consents as given and withdrawn, oldest first", "customer",
	 REST_ROUTE_LIST, consent_filters},
	{REST_POST, API_CUSTOMER "/consents", WRITERS | R(SELFCARE), "ConsentRecord", "Consent",
	 h_consent_record, "Record a consent given or withdrawn", "customer", 0, NULL},
	{REST_GET, API_CUSTOMER "/communication-preferences", ALL_ROLES, NULL,
	 "CommunicationPreferences", h_prefs_get, "How the customer wants to be contacted",
	 "customer", 0, NULL},
	{REST_PUT, API_CUSTOMER "/communication-preferences", WRITERS | R(SELFCARE),
	 "CommunicationPreferences", "CommunicationPreferences", h_prefs_put,
	 "Replace the communication preferences", "customer", 0, NULL},
	{REST_GET, API_CUSTOMER "/loyalty", ALL_ROLES, NULL, "LoyaltyAccount", h_loyalty_get,
	 "Loyalty balance and totals", "customer", 0, NULL},
	{REST_GET, API_CUSTOMER "/loyalty/transactions", ALL_ROLES, NULL, "LoyaltyTransaction",
	 h_loyalty_history, "Loyalty transactions, newest first", "customer", REST_ROUTE_LIST,
	 no_filters},
	{REST_POST, API_CUSTOMER "/loyalty", WRITERS | R(BILLING) | R(SELFCARE),
	 "LoyaltyTransactionRequest", "LoyaltyTransaction", h_loyalty_post,
	 "Earn or redeem points (idempotent by reference; never below 0)", "customer", 0, NULL},
	{REST_GET, API_CUSTOMER "/export", WRITERS | R(SELFCARE), NULL, "CustomerExport",
	 h_export, "GDPR: everything the domain holds on the customer", "customer", 0, NULL},
	{REST_POST, API_CUSTOMER "/erase", R(ADMIN), NULL, "CustomerErased", h_erase,
	 "GDPR: pseudonymise the customer's personal data, keep what billing needs (idempotent)",
	 "customer", 0, NULL},
};

#define PARTY_ROUTES(BASE, TYPE, SUMMARY)                                                          \
	{REST_GET, BASE, ALL_ROLES, NULL, TYPE, h_party_list, SUMMARY "s (TMF632)", "party",     \
	 REST_ROUTE_LIST, party_filters},                                                          \
	{REST_POST, BASE, WRITERS, TYPE "Create", TYPE, h_party_create, "Create an " SUMMARY,     \
	 "party", 0, NULL},                                                                        \
	{REST_GET, BASE "/{id}", ALL_ROLES, NULL, TYPE, h_party_get,                             \
	 "An " SUMMARY "; personal attributes as the reader's roles allow", "party", 0, NULL},   \
	{REST_PATCH, BASE "/{id}", WRITERS | R(SELFCARE), TYPE "Patch", TYPE, h_party_patch,     \
	 "Change an " SUMMARY " (merge patch)", "party", 0, NULL},                                \
	{REST_DELETE, BASE "/{id}", DELETERS, NULL, NULL, h_party_delete,                         \
	 "Delete an " SUMMARY " that plays no customer role", "party", 0, NULL}

static const struct rest_route individual_routes[] = {
	PARTY_ROUTES(TMF_INDIVIDUAL, "Individual", "individual"),
};
static const struct rest_route organization_routes[] = {
	PARTY_ROUTES(TMF_ORGANIZATION, "Organization", "organization"),
};

extern const char customer_schemas_json[];

/* A struct customer owns one connection and serves one thread at a time. */
struct routes_customer {
	struct pool *pool; /* of struct customer *, each its own connection */
	struct party_routes individual, organization;
};

/* One domain handle (its own connection) of the pool. */
static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	struct customer_error e = {0};
	int r = customer_open(arg, (struct customer **)ret, &e);

	if (r < 0)
		snprintf(err, errlen, "customer domain: %s", e.message);
	return r;
}

static void
close_handle(void *h)
{
	customer_close(h);
}

int
routes_customer_register(struct rest_server *s, struct jschema_registry *schemas,
			 const char *url, unsigned pool_size, struct routes_customer **ret,
			 char *err, size_t errlen)
{
	struct routes_customer *rc;
	int r;

	r = routes_add_schemas(schemas, customer_schemas_json, "customer", err, errlen);
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
	rc->individual = (struct party_routes){rc->pool, CUSTOMER_INDIVIDUAL};
	rc->organization = (struct party_routes){rc->pool, CUSTOMER_ORGANIZATION};
	r = rest_register(s, customer_routes, sizeof(customer_routes) / sizeof(customer_routes[0]),
			  rc->pool, err, errlen);
	if (r == 0)
		r = rest_register(s, individual_routes,
				  sizeof(individual_routes) / sizeof(individual_routes[0]),
				  &rc->individual, err, errlen);
	if (r == 0)
		r = rest_register(s, organization_routes,
				  sizeof(organization_routes) / sizeof(organization_routes[0]),
				  &rc->organization, err, errlen);
	if (r < 0) {
		routes_customer_free(rc);
		return r;
	}
	*ret = rc;
	return 0;
}

struct routes_customer *
routes_customer_free(struct routes_customer *rc)
{
	if (rc == NULL)
		return NULL;
	pool_free(rc->pool);
	free(rc);
	return NULL;
}
