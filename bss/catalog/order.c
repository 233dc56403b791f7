/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The catalog's commands for the order saga (docs/order.md): reserve what an
 * order needs with the price, promotion and bandwidth-profile snapshot it
 * will be billed and enforced with; release (the compensation) or commit
 * (on completion). Each runs inside cmd_execute()'s transaction on the
 * bus's connection, so it happens once per command id; reservation ids are
 * made from the order id, so a retry under another command id finds the
 * reservations the first one made.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/catalog/catalog.h"
#include "bss/catalog/service.h"
#include "bss/core/outbox.h"

#define ORDER_ITEMS_MAX 100
#define ORDER_INVENTORY_MAX 20

static int __attribute__((format(printf, 4, 5)))
refuse(struct cmd_problem *pb, int rc, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(pb->code, sizeof(pb->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
	va_end(ap);
	return rc;
}

/* The domain's error as the bus's problem; business refusals are "refused". */
static int
from_catalog(struct cmd_problem *pb, int rc, const char *where, const struct catalog_error *e)
{
	const char *code = "internal";

	if (strcmp(e->code, "invalid-argument") == 0)
		code = "invalid";
	else if (strcmp(e->code, "not-found") == 0)
		code = "not_found";
	else if (strcmp(e->code, "insufficient-stock") == 0 ||
		 strcmp(e->code, "illegal-transition") == 0)
		code = "refused";
	else if (strcmp(e->code, "conflict") == 0)
		code = "exists";
	else if (strcmp(e->code, "forbidden") == 0)
		code = "forbidden";
	else if (rc == -EIO)
		code = "unavailable";
	return refuse(pb, rc, code, "%s%s", where, e->message);
}

static bool
step_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 100)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i])))
			return false;
	return true;
}

/* An inventory entry's item: by id, or by sku. */
static int
item_of(struct catalog *cat, json_t *inv, char id[37], struct cmd_problem *pb, const char *where)
{
	const char *item = json_string_value(json_object_get(inv, "item_id"));
	const char *sku = json_string_value(json_object_get(inv, "sku"));
	const char *params[1];
	PGresult *res;

	if (item != NULL) {
		if (!outbox_uuid_valid(item))
			return refuse(pb, -EINVAL, "invalid", "%sitem_id: must be a UUID", where);
		snprintf(id, 37, "%s", item);
		return 0;
	}
	if (sku == NULL)
		return refuse(pb, -EINVAL, "invalid", "%s: item_id or sku is required", where);
	params[0] = sku;
	res = cat_exec(cat, "SELECT id FROM inventory_items WHERE sku = $1", 1, params, NULL);
	if (res == NULL)
		return refuse(pb, -EIO, "unavailable", "catalog: %s", cat->dberr);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return refuse(pb, -ENOENT, "not_found", "%ssku: no inventory item with sku '%s'",
			      where, sku);
	}
	snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The offering's document, price at @at and profile; orderable unless @any. */
static int
offering_snapshot(struct catalog *cat, const struct cuco_principal *who, const char *id,
		  const char *at, int64_t at_us, bool any, const char *where, json_t **ret,
		  struct cmd_problem *pb)
{
	struct catalog_error e = {0};
	json_t *doc = NULL, *price = NULL, *profile;
	int rc;

	rc = catalog_get(cat, who, CATALOG_OFFERING, id, &doc, NULL, &e);
	if (rc < 0)
		return from_catalog(pb, rc, where, &e);
	if (!any && !catalog_offering_orderable(doc, at_us)) {
		rc = refuse(pb, -EINVAL, "refused",
			    "%soffering %s (%s) is %s: only an Active offering within its "
			    "validFor may be ordered",
			    where, id, json_string_value(json_object_get(doc, "name")),
			    json_string_value(json_object_get(doc, "lifecycleStatus")));
		json_decref(doc);
		return rc;
	}
	rc = catalog_offering_price(cat, who, id, at, 1, &price, &e);
	if (rc < 0) {
		json_decref(doc);
		return from_catalog(pb, rc, where, &e);
	}
	profile = json_object_get(json_object_get(doc, "productSpecification"),
				  "bandwidthProfile");
	*ret = json_pack("{s:o, s:o, s:O}", "offering", doc, "price", price, "profile",
			 profile ? profile : json_null());
	return *ret ? 0 : refuse(pb, -ENOMEM, "internal", "out of memory");
}

static int
reserve_item(struct catalog *cat, const struct cuco_principal *who, const char *order_id,
	     json_t *it, size_t i, const char *at, int64_t at_us, json_t *rids, json_t *snapshot,
	     struct cmd_problem *pb)
{
	const char *action = json_string_value(json_object_get(it, "action"));
	const char *offering = json_string_value(json_object_get(it, "offering_id"));
	const char *prev = json_string_value(json_object_get(it, "previous_offering_id"));
	json_t *inv = json_object_get(it, "inventory"), *e, *snap = NULL;
	char where[48];
	size_t j;
	int rc;

	snprintf(where, sizeof(where), "items/%zu/", i);
	if (action == NULL || (strcmp(action, "add") && strcmp(action, "modify") &&
			       strcmp(action, "delete")))
		return refuse(pb, -EINVAL, "invalid", "%saction: add, modify or delete", where);
	if (!outbox_uuid_valid(offering))
		return refuse(pb, -EINVAL, "invalid", "%soffering_id: must be a UUID", where);
	if (json_object_get(snapshot, offering) == NULL) {
		rc = offering_snapshot(cat, who, offering, at, at_us, strcmp(action, "delete") == 0,
				       where, &snap, pb);
		if (rc < 0)
			return rc;
		json_object_set_new(snapshot, offering, snap);
	}
	/* A modification's compensation restores the offering it replaced. */
	if (prev != NULL && outbox_uuid_valid(prev) && json_object_get(snapshot, prev) == NULL) {
		rc = offering_snapshot(cat, who, prev, at, at_us, true, where, &snap, pb);
		if (rc < 0)
			return rc;
		json_object_set_new(snapshot, prev, snap);
	}
	if (inv != NULL && (!json_is_array(inv) || json_array_size(inv) > ORDER_INVENTORY_MAX))
		return refuse(pb, -EINVAL, "invalid", "%sinventory: at most %d entries", where,
			      ORDER_INVENTORY_MAX);
	json_array_foreach(inv, j, e) {
		struct catalog_error ce = {0};
		json_int_t q = json_integer_value(json_object_get(e, "quantity"));
		char item[37], rid[64], w[96];
		json_t *resv = NULL;
		bool created;

		snprintf(w, sizeof(w), "%sinventory/%zu/", where, j);
		rc = item_of(cat, e, item, pb, w);
		if (rc < 0)
			return rc;
		/* The order's id names its reservations: a retry finds them. */
		snprintf(rid, sizeof(rid), "%s.%zu", order_id, json_array_size(rids) + 1);
		rc = cat_reserve_tx(cat, who, item, rid, q > 0 ? q : 1, &resv, &created, &ce);
		if (rc < 0)
			return from_catalog(pb, rc, w, &ce);
		json_decref(resv);
		json_array_append_new(rids, json_string(rid));
	}
	return 0;
}

static int
order_reserve(struct catalog *cat, const struct cuco_principal *who, json_t *payload,
	      json_t **ret, struct cmd_problem *pb)
{
	const char *order = json_string_value(json_object_get(payload, "order_id"));
	const char *at = json_string_value(json_object_get(payload, "at"));
	json_t *items = json_object_get(payload, "items"), *it, *rids, *snapshot;
	int64_t at_us = cat_now_us();
	size_t i;
	int rc = 0;

	if (!outbox_uuid_valid(order))
		return refuse(pb, -EINVAL, "invalid", "order_id: must be a UUID");
	if (at != NULL && catalog_time_parse(at, true, &at_us) < 0)
		return refuse(pb, -EINVAL, "invalid", "at: a date or an RFC 3339 date-time");
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > ORDER_ITEMS_MAX)
		return refuse(pb, -EINVAL, "invalid", "items: 1 to %d items", ORDER_ITEMS_MAX);
	rids = json_array();
	snapshot = json_object();
	json_array_foreach(items, i, it) {
		rc = reserve_item(cat, who, order, it, i, at, at_us, rids, snapshot, pb);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		json_decref(rids);
		json_decref(snapshot);
		return rc;
	}
	*ret = json_pack("{s:o, s:o}", "reservation_ids", rids, "snapshot", snapshot);
	return *ret ? 0 : refuse(pb, -ENOMEM, "internal", "out of memory");
}

/* Release or commit every reservation named; a release of one never made is done. */
static int
order_settle(struct catalog *cat, const struct cuco_principal *who, json_t *payload,
	     const char *to, json_t **ret, struct catalog_error *ce, struct cmd_problem *pb)
{
	json_t *rids = json_object_get(payload, "reservation_ids"), *v, *out;
	size_t i;
	int rc;

	if (!json_is_array(rids) || json_array_size(rids) > ORDER_ITEMS_MAX * ORDER_INVENTORY_MAX)
		return refuse(pb, -EINVAL, "invalid", "reservation_ids: an array of ids");
	out = json_array();
	json_array_foreach(rids, i, v) {
		const char *params[] = {json_string_value(v)};
		PGresult *res;

		if (params[0] == NULL || !catalog_reservation_id_valid(params[0])) {
			json_decref(out);
			return refuse(pb, -EINVAL, "invalid", "reservation_ids/%zu: not an id", i);
		}
		res = cat_exec(cat, "SELECT item_id FROM reservations WHERE reservation_id = $1",
			       1, params, NULL);
		if (res == NULL) {
			json_decref(out);
			return refuse(pb, -EIO, "unavailable", "catalog: %s", cat->dberr);
		}
		if (PQntuples(res) == 0 && strcmp(to, "committed") == 0) {
			PQclear(res);
			json_decref(out);
			return refuse(pb, -ENOENT, "not_found", "reservation_ids/%zu: %s: not found",
				      i, params[0]);
		}
		for (int k = 0; k < PQntuples(res); k++) {
			json_t *resv = NULL;

			rc = cat_settle_tx(cat, who, PQgetvalue(res, k, 0), params[0], to, &resv,
					   ce);
			if (rc < 0) {
				PQclear(res);
				json_decref(out);
				return from_catalog(pb, rc, "", ce);
			}
			json_array_append_new(out, resv);
		}
		PQclear(res);
	}
	*ret = json_pack("{s:o}", "reservations", out);
	return 0;
}

static int
offering_check(struct catalog *cat, const struct cuco_principal *who, json_t *payload,
	       json_t **ret, struct cmd_problem *pb)
{
	const char *id = json_string_value(json_object_get(payload, "offering_id"));
	const char *at = json_string_value(json_object_get(payload, "at"));
	struct catalog_error e = {0};
	int64_t at_us = cat_now_us();
	json_t *doc = NULL;
	int rc;

	if (!outbox_uuid_valid(id))
		return refuse(pb, -ENOENT, "not_found", "offering_id: %s: not found",
			      id ? id : "");
	if (at != NULL && catalog_time_parse(at, true, &at_us) < 0)
		return refuse(pb, -EINVAL, "invalid", "at: a date or an RFC 3339 date-time");
	rc = catalog_get(cat, who, CATALOG_OFFERING, id, &doc, NULL, &e);
	if (rc < 0)
		return from_catalog(pb, rc, "", &e);
	*ret = json_pack("{s:s, s:O, s:O, s:b}", "offering_id", id, "name",
			 json_object_get(doc, "name"), "lifecycleStatus",
			 json_object_get(doc, "lifecycleStatus"), "orderable",
			 catalog_offering_orderable(doc, at_us));
	json_decref(doc);
	return *ret ? 0 : refuse(pb, -ENOMEM, "internal", "out of memory");
}

bool
catalog_is_query(const char *type)
{
	return type != NULL && strcmp(type, "catalog.offering.check") == 0;
}

int
catalog_command(struct db *db, const struct cuco_principal *who, const char *type,
		json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	struct catalog cat = {.db = db};
	struct catalog_error ce = {0};

	(void)arg;
	if (!json_is_object(payload))
		return refuse(problem, -EINVAL, "invalid", "the payload must be an object");
	if (!catalog_may_write(who) && !catalog_is_query(type))
		return refuse(problem, -EPERM, "forbidden", "%s: not allowed for %s", type,
			      who->subject);
	if (strcmp(type, "catalog.offering.check") == 0)
		return offering_check(&cat, who, payload, ret_result, problem);
	if (!step_id_valid(json_string_value(json_object_get(payload, "step_id"))))
		return refuse(problem, -EINVAL, "invalid",
			      "step_id: 1 to 100 of A-Z a-z 0-9 . _ : -");
	if (strcmp(type, "catalog.order.reserve") == 0)
		return order_reserve(&cat, who, payload, ret_result, problem);
	if (strcmp(type, "catalog.order.release") == 0)
		return order_settle(&cat, who, payload, "released", ret_result, &ce, problem);
	if (strcmp(type, "catalog.order.commit") == 0)
		return order_settle(&cat, who, payload, "committed", ret_result, &ce, problem);
	return refuse(problem, -EINVAL, "invalid", "%s: not a command of the catalog domain", type);
}
