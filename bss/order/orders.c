/* SPDX-License-Identifier: BSD-3-Clause */
/* TMF622 product orders: create (with the saga's steps), read, note, cancel. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/order/model.h"
#include "bss/order/order.h"

extern const struct db_migration order_migrations[];
extern const size_t order_migrations_n;

#define TMF_ORDER "/tmf-api/productOrderingManagement/v4/productOrder/"

const struct cuco_principal order_saga_principal = {
	.subject = "system:order",
	.name = "order saga",
	.roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN),
};

int
order_migrate(const char *url, struct order_error *err)
{
	char msg[256] = "";
	int rc = db_migrate(url, "order", order_migrations, order_migrations_n, msg, sizeof(msg));

	return rc ? order_fail(err, rc, "internal", "", "order: migration: %s", msg) : 0;
}

int
order_open(const char *url, struct order **ret, struct order_error *err)
{
	struct order *o = calloc(1, sizeof(*o));
	char msg[256];
	int rc;

	if (o == NULL)
		return order_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = db_open_domain(url, "order", &o->db, msg, sizeof(msg));
	if (rc) {
		free(o);
		return order_fail(err, rc, "internal", "", "order: database: %s", msg);
	}
	*ret = o;
	return 0;
}

struct order *
order_close(struct order *o)
{
	if (o == NULL)
		return NULL;
	db_close(o->db);
	free(o);
	return NULL;
}

int
ord_begin(struct order *o, struct order_error *err)
{
	if (db_begin(o->db) < 0 && (db_reset(o->db) < 0 || db_begin(o->db) < 0))
		return order_fail(err, -EIO, "internal", "", "order: BEGIN: %s", db_error(o->db));
	return 0;
}

int
ord_commit(struct order *o, struct order_error *err)
{
	if (db_commit(o->db) < 0)
		return order_fail(err, -EIO, "internal", "", "order: COMMIT: %s", db_error(o->db));
	return 0;
}

void
ord_rollback(struct order *o)
{
	db_rollback(o->db);
}

PGresult *
ord_exec(struct order *o, const char *sql, int n, const char *const *params)
{
	return db_exec(o->db, sql, n, params, o->dberr, sizeof(o->dberr), NULL);
}

int
ord_internal(struct order *o, const char *what, struct order_error *err)
{
	return order_fail(err, -EIO, "internal", "", "order: %s: %s", what, o->dberr);
}

int
ord_event(struct order *o, const struct cuco_principal *p, const char *id, int64_t expected,
	  const char *type, json_t *payload, struct order_error *err)
{
	const char *tp = p && cuco_traceparent_valid(p->traceparent) ? p->traceparent : NULL;
	int rc;

	if (payload == NULL)
		return order_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (p != NULL && p->subject[0])
		json_object_set_new(payload, "by", json_string(p->subject));
	rc = outbox_append(o->db, "order", id, expected, type, 1, payload, tp, NULL, NULL,
			   o->dberr, sizeof(o->dberr));
	json_decref(payload);
	if (rc == -EAGAIN)
		return order_fail(err, -ESTALE, "stale-version", "", "order %s changed meanwhile",
				  id);
	return rc ? ord_internal(o, "outbox", err) : 0;
}

int
ord_set_state(struct order *o, const struct cuco_principal *p, const char *id, const char *state,
	      const char *item_state, const char *reason, struct order_error *err)
{
	const char *params[] = {id, state, item_state};
	PGresult *res;
	char from[16];
	int64_t version;

	res = ord_exec(o, "SELECT state, version FROM orders WHERE id = $1 FOR UPDATE", 1, params);
	if (res == NULL)
		return ord_internal(o, "orders", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return order_fail(err, -ENOENT, "not-found", "", "order %s: not found", id);
	}
	snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 0));
	version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (strcmp(from, state) == 0)
		return 0;
	if (!order_transition_allowed(from, state))
		return order_fail(err, -EBUSY, "illegal-transition", "", "order %s: %s -> %s", id,
				  from, state);
	res = ord_exec(o,
		       "WITH i AS (UPDATE order_items SET state = $3::text WHERE order_id = $1 AND "
		       "$3::text IS NOT NULL AND state IN ('acknowledged', 'inProgress')) UPDATE orders SET "
		       "state = $2, version = version + 1, updated_at = now(), completed_at = CASE "
		       "WHEN $2 IN ('completed', 'failed', 'partial', 'cancelled') THEN now() END "
		       "WHERE id = $1",
		       3, params);
	if (res == NULL)
		return ord_internal(o, "orders", err);
	PQclear(res);
	return ord_event(o, p, id, version, "order.order.state_changed",
			 json_pack("{s:s, s:s, s:s, s:s?}", "id", id, "from", from, "state", state,
				   "reason", reason),
			 err);
}

/* ---- representation ------------------------------------------------------------------ */

#define ORDER_COLUMNS                                                                              \
	"id, customer_id, state, description, note::text, external_id, requested_start_date, "    \
	"related_party::text, cancellation_reason, " ORD_TIME("created_at") ", " ORD_TIME(         \
		"completed_at") ", version"

static json_t *
items_json(struct order *o, const char *id)
{
	const char *params[] = {id};
	PGresult *res;
	json_t *out = json_array();

	res = ord_exec(o,
		       "SELECT item_id, action, quantity, state, offering_id, offering_name, "
		       "service_id, characteristic::text, inventory::text FROM order_items WHERE "
		       "order_id = $1 ORDER BY pos",
		       1, params);
	if (res == NULL) {
		json_decref(out);
		return NULL;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *it, *product = json_object();

		if (!PQgetisnull(res, i, 6))
			json_object_set_new(product, "id", json_string(PQgetvalue(res, i, 6)));
		json_object_set_new(product, "productCharacteristic",
				    json_loads(PQgetvalue(res, i, 7), 0, NULL));
		it = json_pack("{s:s, s:s, s:i, s:s, s:{s:s, s:s?}, s:o, s:o}", "id",
			       PQgetvalue(res, i, 0), "action", PQgetvalue(res, i, 1), "quantity",
			       atoi(PQgetvalue(res, i, 2)), "state", PQgetvalue(res, i, 3),
			       "productOffering", "id", PQgetvalue(res, i, 4), "name",
			       PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), "product",
			       product, "x-inventory", json_loads(PQgetvalue(res, i, 8), 0, NULL));
		json_array_append_new(out, it);
	}
	PQclear(res);
	return out;
}

static json_t *
order_json(struct order *o, PGresult *res, int i)
{
	char href[128];
	json_t *doc;

	snprintf(href, sizeof(href), TMF_ORDER "%s", PQgetvalue(res, i, 0));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:o}", "id",
			PQgetvalue(res, i, 0), "href", href, "@type", "ProductOrder", "state",
			PQgetvalue(res, i, 2), "note", json_loads(PQgetvalue(res, i, 4), 0, NULL),
			"requestedStartDate", PQgetvalue(res, i, 6), "relatedParty",
			json_loads(PQgetvalue(res, i, 7), 0, NULL), "orderDate",
			PQgetvalue(res, i, 9), "productOrderItem", items_json(o, PQgetvalue(res, i, 0)));
	if (doc == NULL)
		return NULL;
	if (!PQgetisnull(res, i, 3))
		json_object_set_new(doc, "description", json_string(PQgetvalue(res, i, 3)));
	if (!PQgetisnull(res, i, 5))
		json_object_set_new(doc, "externalId", json_string(PQgetvalue(res, i, 5)));
	if (!PQgetisnull(res, i, 8))
		json_object_set_new(doc, "cancellationReason", json_string(PQgetvalue(res, i, 8)));
	if (!PQgetisnull(res, i, 10))
		json_object_set_new(doc, "completionDate", json_string(PQgetvalue(res, i, 10)));
	return doc;
}

static bool
may_see(const struct cuco_principal *p, const char *customer_id)
{
	if (p->roles & ~CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE))
		return true;
	return cuco_principal_has(p, CUCO_ROLE_SELFCARE) && strcmp(p->customer_id, customer_id) == 0;
}

static bool
may_order(const struct cuco_principal *p, const char *customer_id)
{
	if (cuco_principal_has(p, CUCO_ROLE_ADMIN) || cuco_principal_has(p, CUCO_ROLE_OPERATOR) ||
	    cuco_principal_has(p, CUCO_ROLE_SUPPORT))
		return true;
	return cuco_principal_has(p, CUCO_ROLE_SELFCARE) && strcmp(p->customer_id, customer_id) == 0;
}

int
ord_load(struct order *o, const char *id, bool lock, json_t **ret, int64_t *ret_version,
	 struct order_error *err)
{
	const char *params[] = {id};
	PGresult *res;

	if (!outbox_uuid_valid(id))
		return order_fail(err, -ENOENT, "not-found", "id", "order %s: not found",
				  id ? id : "");
	res = ord_exec(o,
		       lock ? "SELECT " ORDER_COLUMNS " FROM orders WHERE id = $1 FOR UPDATE"
			    : "SELECT " ORDER_COLUMNS " FROM orders WHERE id = $1",
		       1, params);
	if (res == NULL)
		return ord_internal(o, "orders", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return order_fail(err, -ENOENT, "not-found", "id", "order %s: not found", id);
	}
	*ret = order_json(o, res, 0);
	if (ret_version)
		*ret_version = strtoll(PQgetvalue(res, 0, 11), NULL, 10);
	PQclear(res);
	return *ret ? 0 : order_fail(err, -ENOMEM, "internal", "", "out of memory");
}

int
order_get(struct order *o, const struct cuco_principal *p, const char *id, json_t **ret,
	  int64_t *ret_version, struct order_error *err)
{
	json_t *doc = NULL;
	int rc = ord_load(o, id, false, &doc, ret_version, err);
	const char *cust;

	if (rc < 0 && rc == -EIO && db_reset(o->db) == 0)
		rc = ord_load(o, id, false, &doc, ret_version, err);
	if (rc < 0)
		return rc;
	cust = json_string_value(
		json_object_get(json_array_get(json_object_get(doc, "relatedParty"), 0), "id"));
	if (!may_see(p, cust ? cust : "")) {
		json_decref(doc);
		return order_fail(err, -ENOENT, "not-found", "id", "order %s: not found", id);
	}
	*ret = doc;
	return 0;
}

int
order_list(struct order *o, const struct cuco_principal *p, const char *state,
	   const char *customer_id, unsigned limit, unsigned offset, json_t **ret_items,
	   int64_t *ret_total, struct order_error *err)
{
	char lim[16], off[16];
	PGresult *res;
	json_t *items;

	if (p->roles == CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE))
		customer_id = p->customer_id;
	if (customer_id != NULL && !outbox_uuid_valid(customer_id)) {
		*ret_items = json_array();
		*ret_total = 0;
		return 0;
	}
	snprintf(lim, sizeof(lim), "%u", limit ? limit : 100);
	snprintf(off, sizeof(off), "%u", offset);
#define ORDER_WHERE                                                                                \
	" FROM orders WHERE ($1::text IS NULL OR state = $1) AND ($2::uuid IS NULL OR "            \
	"customer_id = $2)"
	{
		const char *params[] = {state, customer_id, lim, off};

		res = ord_exec(o, "SELECT count(*)" ORDER_WHERE, 2, params);
		if (res == NULL)
			return ord_internal(o, "orders", err);
		*ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		res = ord_exec(o,
			       "SELECT " ORDER_COLUMNS ORDER_WHERE
			       " ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
			       4, params);
	}
	if (res == NULL)
		return ord_internal(o, "orders", err);
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, order_json(o, res, i));
	PQclear(res);
	*ret_items = items;
	return 0;
}

/* ---- create ------------------------------------------------------------------------- */

/* Ask the other domains; fill the offerings' names and, for modify, what it replaces. */
static int
validate(struct order *o, json_t *n, const struct order_checks *ck, struct order_error *err)
{
	const char *cust = json_string_value(json_object_get(n, "customer_id"));
	const char *at = json_string_value(json_object_get(n, "requestedStartDate"));
	char status[16] = "", life[24], name[128];
	bool erased = false, orderable;
	json_t *it;
	size_t i;
	int rc;

	rc = ck->customer(ck->arg, cust, status, &erased);
	if (rc == -ENOENT)
		return order_fail(err, -EPROTO, "customer-not-eligible", "/relatedParty",
				  "/relatedParty: customer %s: not found", cust);
	if (rc < 0)
		return order_fail(err, -EAGAIN, "unavailable", "",
				  "the customer domain did not answer; try again");
	if (erased || strcmp(status, "closed") == 0 || strcmp(status, "suspended") == 0)
		return order_fail(err, -EPROTO, "customer-not-eligible", "/relatedParty",
				  "/relatedParty: customer %s is %s: only prospect or active "
				  "customers may order",
				  cust, erased ? "erased" : status);
	json_array_foreach(json_object_get(n, "items"), i, it) {
		const char *action = json_string_value(json_object_get(it, "action"));
		const char *off = json_string_value(json_object_get(it, "offering_id"));
		const char *svc = json_string_value(json_object_get(it, "service_id"));
		char f[96];

		snprintf(f, sizeof(f), "/productOrderItem/%zu/productOffering/id", i);
		rc = ck->offering(ck->arg, off, at, &orderable, life, name);
		if (rc == -ENOENT)
			return order_fail(err, -EPROTO, "not-orderable", f,
					  "%s: offering %s: not found", f, off);
		if (rc < 0)
			return order_fail(err, -EAGAIN, "unavailable", "",
					  "the catalog did not answer; try again");
		if (!orderable && strcmp(action, "delete") != 0)
			return order_fail(err, -EPROTO, "not-orderable", f,
					  "%s: offering %s (%s) is %s: only an Active offering "
					  "within its validFor may be ordered",
					  f, off, name, life);
		json_object_set_new(it, "offering_name", json_string(name));
		if (svc != NULL) {
			const char *params[] = {svc, cust};
			PGresult *res = ord_exec(o,
						 "SELECT offering_id FROM services WHERE "
						 "service_id = $1 AND customer_id = $2 AND state = "
						 "'active'",
						 2, params);

			if (res == NULL)
				return ord_internal(o, "services", err);
			snprintf(f, sizeof(f), "/productOrderItem/%zu/product/id", i);
			if (PQntuples(res) == 0) {
				PQclear(res);
				return order_fail(err, -EPROTO, "service-not-held", f,
						  "%s: customer %s holds no active service %s", f,
						  cust, svc);
			}
			json_object_set_new(it, "previous_offering_id",
					    json_string(PQgetvalue(res, 0, 0)));
			PQclear(res);
		}
	}
	return 0;
}

struct step_def {
	const char *domain, *command, *comp;
	int timeout_ms; /* 0: the provisioning timeout */
};

static _Atomic unsigned provision_timeout_ms = 60000;

void
order_set_provision_timeout(unsigned ms)
{
	provision_timeout_ms = ms > 0 && ms <= INT32_MAX ? ms : 60000;
}

static int
insert_step(struct order *o, const char *id, int seq, const struct step_def *d, const char *item,
	    struct order_error *err)
{
	char s[16], t[16];
	const char *params[] = {id, s, d->domain, d->command, item, t, d->comp};
	PGresult *res;

	snprintf(s, sizeof(s), "%d", seq);
	snprintf(t, sizeof(t), "%u", d->timeout_ms > 0 ? (unsigned)d->timeout_ms
							: provision_timeout_ms);
	res = ord_exec(o,
		       "INSERT INTO saga_steps (order_id, seq, domain, command, order_item_id, "
		       "timeout_ms, comp_command) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		       7, params);
	if (res == NULL)
		return ord_internal(o, "saga_steps", err);
	PQclear(res);
	return 0;
}

/*
 * The saga: reserve, plan, provision each item (adds and modifies first;
 * deletes, which nothing can undo, last), activate the plan, commit the
 * reservations, tell the customer.
 */
static int
insert_saga(struct order *o, const char *id, json_t *items, struct order_error *err)
{
	static const struct step_def reserve = {"catalog", "catalog.order.reserve",
						"catalog.order.release", 30000};
	static const struct step_def plan = {"billing", "billing.plan.create",
					     "billing.plan.cancel", 30000};
	static const struct step_def prov_add = {"network", "network.service.provision",
						 "network.service.deprovision", 0};
	static const struct step_def prov_mod = {"network", "network.service.provision",
						 "network.service.provision", 0};
	static const struct step_def prov_del = {"network", "network.service.provision", NULL,
						 0};
	static const struct step_def activate = {"billing", "billing.plan.activate", NULL, 30000};
	static const struct step_def commit = {"catalog", "catalog.order.commit", NULL, 30000};
	static const struct step_def notify = {"customer", "customer.notification.send", NULL,
					       30000};
	const char *params[] = {id};
	PGresult *res;
	json_t *it;
	size_t i;
	int seq = 1, rc;

	res = ord_exec(o, "INSERT INTO sagas (order_id, state) VALUES ($1, 'running')", 1, params);
	if (res == NULL)
		return ord_internal(o, "sagas", err);
	PQclear(res);
	rc = insert_step(o, id, seq++, &reserve, NULL, err);
	rc = rc ?: insert_step(o, id, seq++, &plan, NULL, err);
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		json_array_foreach(items, i, it) {
			const char *a = json_string_value(json_object_get(it, "action"));
			bool del = strcmp(a, "delete") == 0;

			if (rc == 0 && del == (pass == 1))
				rc = insert_step(o, id, seq++,
						 del			    ? &prov_del
						 : strcmp(a, "modify") == 0 ? &prov_mod
									    : &prov_add,
						 json_string_value(json_object_get(it, "id")), err);
		}
	}
	rc = rc ?: insert_step(o, id, seq++, &activate, NULL, err);
	rc = rc ?: insert_step(o, id, seq++, &commit, NULL, err);
	rc = rc ?: insert_step(o, id, seq++, &notify, NULL, err);
	return rc;
}

static int
insert_order(struct order *o, const char *id, json_t *n, struct order_error *err)
{
	char *note = json_dumps(json_object_get(n, "note"), JSON_COMPACT);
	char *rp = json_dumps(json_object_get(n, "relatedParty"), JSON_COMPACT);
	const char *start = json_string_value(json_object_get(n, "requestedStartDate"));
	json_t *it;
	size_t i;
	PGresult *res;
	int rc = 0;

	{
		const char *params[] = {id,
					json_string_value(json_object_get(n, "customer_id")),
					json_string_value(json_object_get(n, "description")),
					note,
					json_string_value(json_object_get(n, "externalId")),
					start,
					rp};

		res = ord_exec(o,
			       "INSERT INTO orders (id, customer_id, state, description, note, "
			       "external_id, requested_start_date, related_party) VALUES ($1, $2, "
			       "'acknowledged', $3, $4::jsonb, $5, coalesce($6, " ORD_TIME("now()")
			       "), $7::jsonb)",
			       7, params);
	}
	free(note);
	free(rp);
	if (res == NULL)
		return ord_internal(o, "orders", err);
	PQclear(res);
	json_array_foreach(json_object_get(n, "items"), i, it) {
		char pos[24], *inv = json_dumps(json_object_get(it, "inventory"), JSON_COMPACT);
		char *acc = json_dumps(json_object_get(it, "access"), JSON_COMPACT);
		char *chr = json_dumps(json_object_get(it, "characteristic"), JSON_COMPACT);
		const char *params[] = {
			id,
			json_string_value(json_object_get(it, "id")),
			pos,
			json_string_value(json_object_get(it, "action")),
			json_string_value(json_object_get(it, "offering_id")),
			json_string_value(json_object_get(it, "offering_name")),
			json_string_value(json_object_get(it, "previous_offering_id")),
			json_string_value(json_object_get(it, "service_id")),
			inv,
			acc,
			chr,
		};

		snprintf(pos, sizeof(pos), "%zu", i);
		res = ord_exec(o,
			       "INSERT INTO order_items (order_id, item_id, pos, action, offering_id, "
			       "offering_name, previous_offering_id, service_id, inventory, access, "
			       "characteristic, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
			       "$9::jsonb, $10::jsonb, $11::jsonb, 'acknowledged')",
			       11, params);
		free(inv);
		free(acc);
		free(chr);
		if (res == NULL)
			return ord_internal(o, "order_items", err);
		PQclear(res);
	}
	rc = insert_saga(o, id, json_object_get(n, "items"), err);
	return rc;
}

int
order_create(struct order *o, const struct cuco_principal *p, const json_t *body,
	     const struct order_checks *checks, json_t **ret, struct order_error *err)
{
	json_t *n = NULL, *doc = NULL;
	char id[37];
	int rc;

	rc = order_normalize(body, &n, err);
	if (rc < 0)
		return rc;
	if (!may_order(p, json_string_value(json_object_get(n, "customer_id")))) {
		json_decref(n);
		return order_fail(err, -EPERM, "forbidden", "", "ordering: not allowed for %s",
				  p->name[0] ? p->name : p->subject);
	}
	rc = ord_begin(o, err);
	rc = rc ?: validate(o, n, checks, err);
	if (rc < 0)
		goto out_rollback;
	outbox_uuid4(id);
	rc = insert_order(o, id, n, err);
	rc = rc ?: ord_event(o, p, id, OUTBOX_NEW_AGGREGATE, "order.order.created",
			     json_pack("{s:s, s:s, s:s, s:I}", "id", id, "customer_id",
				       json_string_value(json_object_get(n, "customer_id")),
				       "state", "acknowledged", "items",
				       (json_int_t)json_array_size(json_object_get(n, "items"))),
			     err);
	rc = rc ?: ord_load(o, id, false, &doc, NULL, err);
	rc = rc ?: ord_commit(o, err);
	if (rc < 0)
		goto out_rollback;
	json_decref(n);
	*ret = doc;
	return 0;
out_rollback:
	ord_rollback(o);
	json_decref(doc);
	json_decref(n);
	return rc;
}

/* ---- note, description, cancel ----------------------------------------------------------- */

int
order_update(struct order *o, const struct cuco_principal *p, const char *id,
	     int64_t expected_version, const json_t *patch, json_t **ret, int64_t *ret_version,
	     struct order_error *err)
{
	const char *key, *desc;
	json_t *v, *doc = NULL, *changed = json_array();
	int64_t version;
	char *note = NULL;
	PGresult *res;
	int rc;

	json_object_foreach((json_t *)patch, key, v) {
		if (strcmp(key, "note") && strcmp(key, "description")) {
			json_decref(changed);
			return order_fail(err, -EINVAL, "invalid-argument", "",
					  "/%s: only note and description may change", key);
		}
		json_array_append_new(changed, json_string(key));
	}
	desc = json_string_value(json_object_get(patch, "description"));
	if ((json_object_get(patch, "description") && !json_is_null(json_object_get(patch, "description")) &&
	     (desc == NULL || strlen(desc) > 1000)) ||
	    (json_object_get(patch, "note") && !order_note_valid(json_object_get(patch, "note")))) {
		json_decref(changed);
		return order_fail(err, -EINVAL, "invalid-argument",
				  desc == NULL && json_object_get(patch, "description") ? "/description" : "/note",
				  "description: at most 1000 bytes; note: at most 20 of {\"text\"}");
	}
	rc = ord_begin(o, err);
	rc = rc ?: ord_load(o, id, true, &doc, &version, err);
	if (rc == 0 && !may_order(p, json_string_value(json_object_get(json_array_get(
						  json_object_get(doc, "relatedParty"), 0),
									"id"))))
		rc = order_fail(err, -ENOENT, "not-found", "id", "order %s: not found", id);
	if (rc == 0 && expected_version >= 0 && expected_version != version)
		rc = order_fail(err, -ESTALE, "stale-version", "", "order %s is at version %lld", id,
				(long long)version);
	if (rc < 0)
		goto out;
	json_decref(doc);
	doc = NULL;
	note = json_object_get(patch, "note") ? json_dumps(json_object_get(patch, "note"), JSON_COMPACT)
					      : NULL;
	{
		const char *params[] = {id, json_object_get(patch, "description") ? "t" : "f", desc,
					note};

		res = ord_exec(o,
			       "UPDATE orders SET description = CASE WHEN $2 THEN $3 ELSE "
			       "description END, note = coalesce($4::jsonb, note), version = version "
			       "+ 1, updated_at = now() WHERE id = $1",
			       4, params);
	}
	free(note);
	if (res == NULL) {
		rc = ord_internal(o, "orders", err);
		goto out;
	}
	PQclear(res);
	rc = ord_event(o, p, id, version, "order.order.updated",
		       json_pack("{s:s, s:O}", "id", id, "changed", changed), err);
	rc = rc ?: ord_load(o, id, false, &doc, &version, err);
	rc = rc ?: ord_commit(o, err);
out:
	json_decref(changed);
	if (rc < 0) {
		ord_rollback(o);
		json_decref(doc);
		return rc;
	}
	*ret = doc;
	if (ret_version)
		*ret_version = version;
	return 0;
}

int
order_cancel(struct order *o, const struct cuco_principal *p, const json_t *body, json_t **ret,
	     struct order_error *err)
{
	const char *id = json_string_value(json_object_get(json_object_get(body, "productOrder"), "id"));
	const char *reason = json_string_value(json_object_get(body, "cancellationReason"));
	json_t *doc = NULL;
	const char *state;
	int64_t version;
	PGresult *res;
	int rc;

	if (!outbox_uuid_valid(id))
		return order_fail(err, -EINVAL, "invalid-argument", "/productOrder/id",
				  "/productOrder/id: the order's id");
	if (reason != NULL && strlen(reason) > 500)
		return order_fail(err, -EINVAL, "invalid-argument", "/cancellationReason",
				  "/cancellationReason: at most 500 bytes");
	rc = ord_begin(o, err);
	if (rc < 0)
		return rc;
	/* The saga's row lock orders this before or after the claim of a network step. */
	{
		const char *params[] = {id};

		res = ord_exec(o, "SELECT state FROM sagas WHERE order_id = $1 FOR UPDATE", 1, params);
		if (res == NULL) {
			rc = ord_internal(o, "sagas", err);
			goto out;
		}
		PQclear(res);
	}
	rc = ord_load(o, id, true, &doc, &version, err);
	if (rc == 0 && !may_order(p, json_string_value(json_object_get(
					    json_array_get(json_object_get(doc, "relatedParty"), 0), "id"))))
		rc = order_fail(err, -ENOENT, "not-found", "/productOrder/id", "order %s: not found", id);
	if (rc < 0)
		goto out;
	state = json_string_value(json_object_get(doc, "state"));
	if (order_state_final(state)) {
		rc = order_fail(err, -EBUSY, "illegal-transition", "/productOrder/id",
				"order %s is %s: it cannot be cancelled", id, state);
		snprintf(err->current, sizeof(err->current), "%s", state);
		goto out;
	}
	{
		const char *params[] = {id, reason};

		res = ord_exec(o,
			       "SELECT count(*) FROM saga_steps WHERE order_id = $1 AND domain = "
			       "'network' AND attempts > 0",
			       1, params);
		if (res == NULL) {
			rc = ord_internal(o, "saga_steps", err);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
			PQclear(res);
			rc = order_fail(err, -EBUSY, "illegal-transition", "/productOrder/id",
					"order %s: provisioning has started; it cannot be "
					"cancelled any more",
					id);
			snprintf(err->current, sizeof(err->current), "%s", state);
			goto out;
		}
		PQclear(res);
		res = ord_exec(o,
			       "WITH s AS (UPDATE sagas SET next_at = now(), updated_at = now() "
			       "WHERE order_id = $1) UPDATE orders SET cancel_requested = true, "
			       "cancellation_reason = $2, version = version + 1, updated_at = now() "
			       "WHERE id = $1",
			       2, params);
		if (res == NULL) {
			rc = ord_internal(o, "orders", err);
			goto out;
		}
		PQclear(res);
	}
	rc = ord_event(o, p, id, version, "order.order.cancel_requested",
		       json_pack("{s:s, s:s?}", "id", id, "reason", reason), err);
	rc = rc ?: ord_commit(o, err);
out:
	json_decref(doc);
	if (rc < 0) {
		ord_rollback(o);
		return rc;
	}
	*ret = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s?, s:s}", "id", id, "href",
			 "/tmf-api/productOrderingManagement/v4/cancelProductOrder", "@type",
			 "CancelProductOrder", "productOrder", "id", id, "href", "", "cancellationReason",
			 reason, "state", "acknowledged");
	if (*ret != NULL) {
		char href[160];

		snprintf(href, sizeof(href), TMF_ORDER "%s", id);
		json_object_set_new(json_object_get(*ret, "productOrder"), "href", json_string(href));
	}
	return 0;
}
