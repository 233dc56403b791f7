/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The billing domain's REST routes: TMF666 billing accounts, TMF678 customer
 * bills, their lines and bills on demand, TMF676 payments, billing runs,
 * dunning, credit notes. Each handler makes one call of
 * bss/billing/billing.h and maps its result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pool.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"
#include "controlplane/rest/routes_billing.h"

#define R(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)
#define ALL_ROLES ((1u << CUCO_ROLE_COUNT) - 1)
#define STAFF (ALL_ROLES & ~R(SELFCARE))
#define WRITERS (R(ADMIN) | R(BILLING))

#define TMF666 "/tmf-api/accountManagement/v4/billingAccount"
#define TMF678 "/tmf-api/customerBillManagement/v4"
#define TMF676 "/tmf-api/paymentManagement/v4/payment"

static int
fail(struct rest_ctx *ctx, int ret, const struct billing_error *e)
{
	json_t *ext = json_object();
	unsigned status;

	switch (ret) {
	case -EINVAL: status = strcmp(e->code, "cycle-not-ended") == 0 ? 422 : 400; break;
	case -ENODATA: status = 422; break;
	case -EEXIST:
	case -EBUSY: status = 409; break;
	case -ESTALE: status = 412; break;
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

static void
page_of(struct rest_ctx *ctx, struct billing_filter *f)
{
	uint64_t l, o;

	rest_ctx_page(ctx, &l, &o);
	f->limit = l > 1000 ? 1000 : (unsigned)l;
	f->offset = o > 1000000000 ? 1000000000 : (unsigned)o;
}

typedef int (*list_fn)(struct billing *, const struct cuco_principal *,
		       const struct billing_filter *, json_t **, int64_t *,
		       struct billing_error *);
typedef int (*get_fn)(struct billing *, const struct cuco_principal *, const char *, json_t **,
		      struct billing_error *);

static int
do_list(struct rest_ctx *ctx, void *data, list_fn fn, struct billing_filter *f)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *items = NULL;
	int64_t total = 0;
	int ret;

	page_of(ctx, f);
	ret = fn(b, rest_ctx_principal(ctx), f, &items, &total, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_list(ctx, items, (uint64_t)total);
}

static int
reply_versioned(struct rest_ctx *ctx, unsigned status, json_t *doc)
{
	json_t *v = json_object_get(doc, "x-version");
	char etag[32];

	if (json_is_integer(v)) {
		snprintf(etag, sizeof(etag), "%lld", (long long)json_integer_value(v));
		rest_reply_etag(ctx, etag);
	}
	return rest_reply_json(ctx, status, doc);
}

static int
do_get(struct rest_ctx *ctx, void *data, get_fn fn)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = fn(b, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc);
}

static int
created(struct rest_ctx *ctx, json_t *doc)
{
	rest_reply_location(ctx, "%s", json_string_value(json_object_get(doc, "href")));
	return reply_versioned(ctx, 201, doc);
}

/* ---- TMF666 ---------------------------------------------------------------------------- */

static int
h_account_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.customer_id = rest_ctx_filter(ctx, "relatedParty.id"),
				   .state = rest_ctx_filter(ctx, "state")};

	return do_list(ctx, data, billing_account_list, &f);
}

static int
h_account_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_account_get);
}

static int
h_account_create(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = billing_account_create(b, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : created(ctx, doc);
}

/* A PATCH: If-Match against the current version, checked again by the update itself. */
static int
versioned_patch(struct rest_ctx *ctx, void *data, get_fn get,
		int (*update)(struct billing *, const struct cuco_principal *, const char *,
			      const json_t *, const char *, json_t **, struct billing_error *))
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	const char *id = rest_ctx_param(ctx, "id");
	json_t *doc = NULL;
	char ver[32];
	int ret;

	ret = get(b, rest_ctx_principal(ctx), id, &doc, &e);
	if (ret == 0) {
		snprintf(ver, sizeof(ver), "%lld",
			 (long long)json_integer_value(json_object_get(doc, "x-version")));
		json_decref(doc);
		doc = NULL;
		if (!rest_ctx_check_if_match(ctx, ver)) {
			pool_put(data, b);
			return 0;
		}
		ret = update(b, rest_ctx_principal(ctx), id, rest_ctx_body(ctx),
			     rest_ctx_if_match(ctx) ? ver : NULL, &doc, &e);
	}
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : reply_versioned(ctx, 200, doc);
}

static int
h_account_patch(struct rest_ctx *ctx, void *data)
{
	return versioned_patch(ctx, data, billing_account_get, billing_account_update);
}

/* ---- TMF678 ---------------------------------------------------------------------------- */

static int
h_bill_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.account_id = rest_ctx_filter(ctx, "billingAccount.id"),
				   .customer_id = rest_ctx_filter(ctx, "relatedParty.id"),
				   .state = rest_ctx_filter(ctx, "state")};

	return do_list(ctx, data, billing_bill_list, &f);
}

static int
h_bill_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_bill_get);
}

static int
h_bill_patch(struct rest_ctx *ctx, void *data)
{
	return versioned_patch(ctx, data, billing_bill_get, billing_bill_update);
}

static int
h_credit_note(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = billing_credit_note(b, rest_ctx_principal(ctx), rest_ctx_param(ctx, "id"),
				  rest_ctx_body(ctx), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : created(ctx, doc);
}

static int
h_rate_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.bill_id = rest_ctx_filter(ctx, "bill.id"),
				   .account_id = rest_ctx_filter(ctx, "billingAccount.id")};

	return do_list(ctx, data, billing_line_list, &f);
}

static int
h_rate_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_line_get);
}

static int
h_demand_create(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = billing_on_demand_create(b, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : created(ctx, doc);
}

static int
h_demand_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.account_id = rest_ctx_filter(ctx, "billingAccount.id")};

	return do_list(ctx, data, billing_on_demand_list, &f);
}

static int
h_demand_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_on_demand_get);
}

/* ---- TMF676 ---------------------------------------------------------------------------- */

static int
h_payment_create(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	bool fresh = false;
	int ret;

	ret = billing_payment_create(b, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &fresh,
				     &e);
	pool_put(data, b);
	if (ret < 0)
		return fail(ctx, ret, &e);
	/* The same payment again (its correlatorId): the first answer, 200. */
	return fresh ? created(ctx, doc) : rest_reply_json(ctx, 200, doc);
}

static int
h_payment_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.account_id = rest_ctx_filter(ctx, "account.id")};

	return do_list(ctx, data, billing_payment_list, &f);
}

static int
h_payment_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_payment_get);
}

/* ---- runs, dunning ---------------------------------------------------------------------- */

static int
h_run_create(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = billing_run_create(b, rest_ctx_principal(ctx), rest_ctx_body(ctx), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : created(ctx, doc);
}

static int
h_run_list(struct rest_ctx *ctx, void *data)
{
	struct billing_filter f = {.state = rest_ctx_filter(ctx, "state")};

	return do_list(ctx, data, billing_run_list, &f);
}

static int
h_run_get(struct rest_ctx *ctx, void *data)
{
	return do_get(ctx, data, billing_run_get);
}

static int
h_dunning(struct rest_ctx *ctx, void *data)
{
	struct billing_error e = {0};
	struct billing *b = pool_get(data);
	json_t *doc = NULL;
	int ret;

	ret = billing_dunning_get(b, rest_ctx_principal(ctx), &doc, &e);
	pool_put(data, b);
	return ret < 0 ? fail(ctx, ret, &e) : rest_reply_json(ctx, 200, doc);
}

static const char *const account_filters[] = {"relatedParty.id", "state", NULL};
static const char *const bill_filters[] = {"billingAccount.id", "relatedParty.id", "state", NULL};
static const char *const rate_filters[] = {"bill.id", "billingAccount.id", NULL};
static const char *const demand_filters[] = {"billingAccount.id", NULL};
static const char *const payment_filters[] = {"account.id", NULL};
static const char *const run_filters[] = {"state", NULL};

static const struct rest_route billing_routes[] = {
	{REST_GET, TMF666, ALL_ROLES, NULL, "BillingAccount", h_account_list,
	 "Billing accounts (TMF666)", "billing", REST_ROUTE_LIST, account_filters},
	{REST_POST, TMF666, WRITERS, "BillingAccountCreate", "BillingAccount", h_account_create,
	 "Open a customer's billing account (one a customer)", "billing", 0, NULL},
	{REST_GET, TMF666 "/{id}", ALL_ROLES, NULL, "BillingAccount", h_account_get,
	 "A billing account with its balance (TMF666)", "billing", 0, NULL},
	{REST_PATCH, TMF666 "/{id}", WRITERS, "BillingAccountUpdate", "BillingAccount",
	 h_account_patch, "Rename, change payment terms, close or reopen an account", "billing", 0,
	 NULL},
	{REST_GET, TMF678 "/customerBill", ALL_ROLES, NULL, "CustomerBill", h_bill_list,
	 "Invoices and credit notes, newest first (TMF678)", "billing", REST_ROUTE_LIST,
	 bill_filters},
	{REST_GET, TMF678 "/customerBill/{id}", ALL_ROLES, NULL, "CustomerBill", h_bill_get,
	 "An invoice or credit note (TMF678)", "billing", 0, NULL},
	{REST_PATCH, TMF678 "/customerBill/{id}", WRITERS, "CustomerBillUpdate", "CustomerBill",
	 h_bill_patch, "Move a bill: new -> onHold | validated -> sent", "billing", 0, NULL},
	{REST_GET, TMF678 "/appliedCustomerBillingRate", ALL_ROLES, NULL,
	 "AppliedCustomerBillingRate", h_rate_list, "Invoice lines (TMF678)", "billing",
	 REST_ROUTE_LIST, rate_filters},
	{REST_GET, TMF678 "/appliedCustomerBillingRate/{id}", ALL_ROLES, NULL,
	 "AppliedCustomerBillingRate", h_rate_get, "An invoice line (TMF678)", "billing", 0, NULL},
	{REST_POST, TMF678 "/customerBillOnDemand", WRITERS, "CustomerBillOnDemandCreate",
	 "CustomerBillOnDemand", h_demand_create,
	 "Invoice an account's last ended cycle now (TMF678)", "billing", 0, NULL},
	{REST_GET, TMF678 "/customerBillOnDemand", ALL_ROLES, NULL, "CustomerBillOnDemand",
	 h_demand_list, "Bills on demand (TMF678)", "billing", REST_ROUTE_LIST, demand_filters},
	{REST_GET, TMF678 "/customerBillOnDemand/{id}", ALL_ROLES, NULL, "CustomerBillOnDemand",
	 h_demand_get, "A bill on demand (TMF678)", "billing", 0, NULL},
	{REST_POST, TMF676, WRITERS, "PaymentCreate", "Payment", h_payment_create,
	 "Record a payment once per correlatorId and allocate it (TMF676)", "billing", 0, NULL},
	{REST_GET, TMF676, ALL_ROLES, NULL, "Payment", h_payment_list, "Payments (TMF676)",
	 "billing", REST_ROUTE_LIST, payment_filters},
	{REST_GET, TMF676 "/{id}", ALL_ROLES, NULL, "Payment", h_payment_get,
	 "A payment and its allocations (TMF676)", "billing", 0, NULL},
	{REST_POST, "/api/v1/billing-runs", WRITERS, "BillingRunCreate", "BillingRun",
	 h_run_create, "Start the billing run of a cycle that ended", "billing", 0, NULL},
	{REST_GET, "/api/v1/billing-runs", STAFF, NULL, "BillingRun", h_run_list,
	 "Billing runs, newest first", "billing", REST_ROUTE_LIST, run_filters},
	{REST_GET, "/api/v1/billing-runs/{id}", STAFF, NULL, "BillingRun", h_run_get,
	 "A billing run and its progress", "billing", 0, NULL},
	{REST_GET, "/api/v1/dunning", STAFF, NULL, "Dunning", h_dunning,
	 "Dunning steps and the accounts in dunning", "billing", 0, NULL},
	{REST_POST, "/api/v1/customer-bills/{id}/credit-note", WRITERS, "CreditNoteCreate",
	 "CustomerBill", h_credit_note, "Correct an issued invoice with a credit note", "billing",
	 0, NULL},
};

extern const char billing_schemas_json[];

struct routes_billing {
	struct pool *pool; /* of struct billing *, each its own connection */
};

struct open_args {
	const char *url;
	const struct billing_config *cfg;
};

static int
open_handle(void *arg, void **ret, char *err, size_t errlen)
{
	const struct open_args *a = arg;
	struct billing_error e = {0};
	int r = billing_open(a->url, a->cfg, (struct billing **)ret, &e);

	if (r < 0)
		snprintf(err, errlen, "billing domain: %s", e.message);
	return r;
}

static void
close_handle(void *h)
{
	billing_close(h);
}

int
routes_billing_register(struct rest_server *s, struct jschema_registry *schemas,
			const char *url, const struct billing_config *cfg, unsigned pool_size,
			struct routes_billing **ret, char *err, size_t errlen)
{
	struct open_args a = {url, cfg};
	struct routes_billing *rb;
	int r;

	r = routes_add_schemas(schemas, billing_schemas_json, "billing", err, errlen);
	if (r < 0)
		return r;
	rb = calloc(1, sizeof(*rb));
	if (rb == NULL)
		return -ENOMEM;
	r = pool_open(pool_size, open_handle, close_handle, &a, &rb->pool, err, errlen);
	if (r < 0) {
		free(rb);
		return r;
	}
	r = rest_register(s, billing_routes, sizeof(billing_routes) / sizeof(billing_routes[0]),
			  rb->pool, err, errlen);
	if (r < 0) {
		routes_billing_free(rb);
		return r;
	}
	*ret = rb;
	return 0;
}

struct routes_billing *
routes_billing_free(struct routes_billing *rb)
{
	if (rb == NULL)
		return NULL;
	pool_free(rb->pool);
	free(rb);
	return NULL;
}
