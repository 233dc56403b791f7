/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inventory items and their reservations. Stock is read and written on the
 * write side only: a reservation must see what is really left. The item's
 * row is locked (SELECT ... FOR UPDATE) for every change of its numbers, so
 * concurrent reservations queue on it and never take more than there is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/catalog/service.h"
#include "bss/core/outbox.h"

/* clang-format off */
#define ITEM_COLUMNS "id, name, coalesce(description, ''), kind, sku, quantity, reserved, " \
	"version, " CAT_PG_TIME("created_at") ", " CAT_PG_TIME("updated_at") ", "          \
	"description IS NULL"
/* clang-format on */

static json_t *
item_json(PGresult *res, int i, struct catalog_meta *meta)
{
	long long q = strtoll(PQgetvalue(res, i, 5), NULL, 10);
	long long r = strtoll(PQgetvalue(res, i, 6), NULL, 10);
	char href[128];
	json_t *o;

	snprintf(href, sizeof(href), "/api/v1/inventory/%s", PQgetvalue(res, i, 0));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "id",
		      PQgetvalue(res, i, 0), "href", href, "@type", "InventoryItem", "name",
		      PQgetvalue(res, i, 1), "kind", PQgetvalue(res, i, 3), "sku",
		      PQgetvalue(res, i, 4), "quantity", (json_int_t)q, "reserved", (json_int_t)r,
		      "available", (json_int_t)(q - r), "version",
		      (json_int_t)strtoll(PQgetvalue(res, i, 7), NULL, 10), "created_at",
		      PQgetvalue(res, i, 8), "updated_at", PQgetvalue(res, i, 9));
	if (o != NULL && strcmp(PQgetvalue(res, i, 10), "f") == 0)
		json_object_set_new(o, "description", json_string(PQgetvalue(res, i, 2)));
	if (meta) {
		meta->revision = strtoll(PQgetvalue(res, i, 7), NULL, 10);
		meta->last_update_us = cat_pg_time(PQgetvalue(res, i, 9));
	}
	return o;
}

/* The item, locked for the transaction when @lock. */
static int
item_load(struct catalog *cat, const char *id, bool lock, json_t **ret, struct catalog_meta *meta,
	  struct catalog_error *err)
{
	const char *params[] = {id};
	PGresult *res;

	if (!outbox_uuid_valid(id))
		return catalog_fail(err, -ENOENT, "not-found", "id", "inventory item %s: not found",
				    id ? id : "");
	res = cat_exec(cat,
		       lock ? "SELECT " ITEM_COLUMNS
			      " FROM inventory_items WHERE id = $1 FOR UPDATE"
			    : "SELECT " ITEM_COLUMNS " FROM inventory_items WHERE id = $1",
		       1, params, NULL);
	if (res == NULL)
		return cat_internal(cat, "inventory", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return catalog_fail(err, -ENOENT, "not-found", "id", "inventory item %s: not found",
				    id);
	}
	*ret = item_json(res, 0, meta);
	PQclear(res);
	return *ret ? 0 : catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
}

static int
item_event(struct catalog *cat, const struct cuco_principal *p, const char *id, int64_t expected,
	   const char *action, json_t *payload, struct catalog_error *err)
{
	char type[64];

	snprintf(type, sizeof(type), "catalog.inventory.%s", action);
	return cat_event(cat, p, "inventory", id, expected, type, payload, err);
}

int
catalog_item_create(struct catalog *cat, const struct cuco_principal *p, const json_t *in,
		    json_t **ret, struct catalog_meta *ret_meta, struct catalog_error *err)
{
	json_t *body = NULL, *item = NULL;
	char id[37], qty[24], state[6] = "";
	PGresult *res;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.inventory.create", err);
	r = catalog_item_normalize(in, &body, err);
	if (r < 0)
		return r;
	outbox_uuid4(id);
	snprintf(qty, sizeof(qty), "%lld",
		 (long long)json_integer_value(json_object_get(body, "quantity")));
	r = cat_begin(cat, err);
	if (r < 0)
		goto out;
	{
		const char *params[] = {id,
					json_string_value(json_object_get(body, "name")),
					json_string_value(json_object_get(body, "description")),
					json_string_value(json_object_get(body, "kind")),
					json_string_value(json_object_get(body, "sku")),
					qty};

		res = cat_exec(cat,
			       "INSERT INTO inventory_items (id, name, description, kind, sku, "
			       "quantity) VALUES ($1, $2, $3, $4, $5, $6) RETURNING " ITEM_COLUMNS,
			       6, params, state);
	}
	if (res == NULL) {
		r = strcmp(state, "23505") == 0
			    ? catalog_fail(err, -EEXIST, "conflict", "/sku",
					   "sku: an item with sku '%s' exists already",
					   json_string_value(json_object_get(body, "sku")))
			    : cat_internal(cat, "inventory", err);
		cat_rollback(cat);
		goto out;
	}
	item = item_json(res, 0, ret_meta);
	PQclear(res);
	r = item_event(cat, p, id, OUTBOX_NEW_AGGREGATE, "created",
		       json_pack("{s:O}", "item", item), err);
	r = r ?: cat_commit(cat, err);
	if (r < 0) {
		cat_rollback(cat);
		goto out;
	}
	*ret = json_incref(item);
out:
	json_decref(item);
	json_decref(body);
	return r;
}

/* The stored form of an item, for merge patches. */
static json_t *
item_body(const json_t *item)
{
	json_t *b = json_pack("{s:O, s:O, s:O, s:O}", "name", json_object_get(item, "name"), "kind",
			      json_object_get(item, "kind"), "sku", json_object_get(item, "sku"),
			      "quantity", json_object_get(item, "quantity"));

	if (b != NULL && json_object_get(item, "description"))
		json_object_set(b, "description", json_object_get(item, "description"));
	return b;
}

int
catalog_item_update(struct catalog *cat, const struct cuco_principal *p, const char *id,
		    const json_t *patch, int64_t expected, json_t **ret,
		    struct catalog_meta *ret_meta, struct catalog_error *err)
{
	struct catalog_meta meta;
	json_t *cur = NULL, *before = NULL, *merged = NULL, *after = NULL, *changes = NULL;
	json_t *item = NULL;
	char qty[24], state[6] = "";
	bool restock;
	PGresult *res;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.inventory.update", err);
	if (!json_is_object(patch))
		return catalog_fail(err, -EINVAL, "invalid-argument", "",
				    "the body must be a JSON merge patch (an object)");
	r = cat_begin(cat, err);
	if (r < 0)
		return r;
	r = item_load(cat, id, true, &cur, &meta, err);
	if (r == 0 && expected != -1 && expected != meta.revision)
		r = catalog_fail(err, -ESTALE, "stale-version", "",
				 "inventory item %s is at version %lld, not %lld", id,
				 (long long)meta.revision, (long long)expected);
	if (r < 0)
		goto out_rollback;
	before = item_body(cur);
	merged = catalog_merge_patch(before, patch);
	r = catalog_item_normalize(merged, &after, err);
	if (r < 0)
		goto out_rollback;
	changes = catalog_changes(before, after);
	if (json_array_size(changes) == 0) {
		cat_rollback(cat);
		*ret = json_incref(cur);
		if (ret_meta)
			*ret_meta = meta;
		goto out;
	}
	if (json_integer_value(json_object_get(after, "quantity")) <
	    json_integer_value(json_object_get(cur, "reserved"))) {
		r = catalog_fail(err, -ENOSPC, "insufficient-stock", "/quantity",
				 "quantity: %lld are reserved; the quantity cannot go below",
				 (long long)json_integer_value(json_object_get(cur, "reserved")));
		goto out_rollback;
	}
	restock = !json_equal(json_object_get(before, "quantity"),
			      json_object_get(after, "quantity"));
	snprintf(qty, sizeof(qty), "%lld",
		 (long long)json_integer_value(json_object_get(after, "quantity")));
	{
		const char *params[] = {id,
					json_string_value(json_object_get(after, "name")),
					json_string_value(json_object_get(after, "description")),
					json_string_value(json_object_get(after, "kind")),
					json_string_value(json_object_get(after, "sku")),
					qty};

		res = cat_exec(cat,
			       "UPDATE inventory_items SET name = $2, description = $3, kind = $4, "
			       "sku = $5, quantity = $6, version = version + 1, updated_at = now() "
			       "WHERE id = $1 RETURNING " ITEM_COLUMNS,
			       6, params, state);
	}
	if (res == NULL) {
		r = strcmp(state, "23505") == 0
			    ? catalog_fail(err, -EEXIST, "conflict", "/sku",
					   "sku: another item has sku '%s'",
					   json_string_value(json_object_get(after, "sku")))
			    : cat_internal(cat, "inventory", err);
		goto out_rollback;
	}
	item = item_json(res, 0, &meta);
	PQclear(res);
	r = item_event(cat, p, id, meta.revision - 1, restock ? "restocked" : "updated",
		       json_pack("{s:O, s:O}", "item", item, "changes", changes), err);
	r = r ?: cat_commit(cat, err);
	if (r < 0)
		goto out_rollback;
	*ret = json_incref(item);
	if (ret_meta)
		*ret_meta = meta;
	goto out;
out_rollback:
	cat_rollback(cat);
out:
	json_decref(item);
	json_decref(changes);
	json_decref(after);
	json_decref(merged);
	json_decref(before);
	json_decref(cur);
	return r;
}

int
catalog_item_delete(struct catalog *cat, const struct cuco_principal *p, const char *id,
		    int64_t expected, struct catalog_error *err)
{
	const char *params[] = {id};
	struct catalog_meta meta;
	json_t *cur = NULL;
	PGresult *res;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.inventory.delete", err);
	r = cat_begin(cat, err);
	if (r < 0)
		return r;
	r = item_load(cat, id, true, &cur, &meta, err);
	if (r == 0 && expected != -1 && expected != meta.revision)
		r = catalog_fail(err, -ESTALE, "stale-version", "",
				 "inventory item %s is at version %lld, not %lld", id,
				 (long long)meta.revision, (long long)expected);
	if (r == 0 && json_integer_value(json_object_get(cur, "reserved")) > 0)
		r = catalog_fail(
			err, -EEXIST, "conflict", "",
			"inventory item %s has %lld reserved: release or commit them first", id,
			(long long)json_integer_value(json_object_get(cur, "reserved")));
	if (r == 0) {
		res = cat_exec(cat, "DELETE FROM inventory_items WHERE id = $1", 1, params, NULL);
		r = res ? 0 : cat_internal(cat, "inventory", err);
		PQclear(res);
	}
	if (r == 0)
		r = item_event(cat, p, id, meta.revision, "deleted",
			       json_pack("{s:s, s:O}", "id", id, "sku",
					 json_object_get(cur, "sku")),
			       err);
	r = r ?: cat_commit(cat, err);
	if (r < 0)
		cat_rollback(cat);
	json_decref(cur);
	return r;
}

int
catalog_item_get(struct catalog *cat, const struct cuco_principal *p, const char *id, json_t **ret,
		 struct catalog_meta *ret_meta, struct catalog_error *err)
{
	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	return item_load(cat, id, false, ret, ret_meta, err);
}

int
catalog_item_list(struct catalog *cat, const struct cuco_principal *p,
		  const struct catalog_filter *filters, size_t n_filters, uint64_t limit,
		  uint64_t offset, json_t **ret_items, uint64_t *ret_total,
		  struct catalog_error *err)
{
	const char *kind = NULL, *sku = NULL, *name = NULL;
	char lim[24], off[24];
	PGresult *res;
	json_t *items;

	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	for (size_t i = 0; i < n_filters; i++) {
		if (strcmp(filters[i].attr, "kind") == 0)
			kind = filters[i].value;
		else if (strcmp(filters[i].attr, "sku") == 0)
			sku = filters[i].value;
		else if (strcmp(filters[i].attr, "name") == 0)
			name = filters[i].value;
		else
			return catalog_fail(err, -EINVAL, "invalid-argument", filters[i].attr,
					    "%s: not a filter of inventory items (kind, sku, name)",
					    filters[i].attr);
	}
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)limit);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)offset);
#define ITEM_WHERE                                                                                 \
	" FROM inventory_items WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR "    \
	"sku = $2) AND ($3::text IS NULL OR name = $3)"
	{
		const char *params[] = {kind, sku, name, lim, off};

		res = cat_exec(cat, "SELECT count(*)" ITEM_WHERE, 3, params, NULL);
		if (res == NULL)
			return cat_internal(cat, "inventory", err);
		*ret_total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		res = cat_exec(cat,
			       "SELECT " ITEM_COLUMNS ITEM_WHERE
			       " ORDER BY name, id LIMIT $4 OFFSET $5",
			       5, params, NULL);
	}
	if (res == NULL)
		return cat_internal(cat, "inventory", err);
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, item_json(res, i, NULL));
	PQclear(res);
	*ret_items = items;
	return 0;
}

/* ---- reservations ------------------------------------------------------------- */

/* clang-format off */
#define RES_COLUMNS "reservation_id, item_id, quantity, state, " CAT_PG_TIME("created_at") \
	", " CAT_PG_TIME("updated_at")
/* clang-format on */

static json_t *
reservation_json(PGresult *res, int i)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "reservation_id", PQgetvalue(res, i, 0),
			 "item_id", PQgetvalue(res, i, 1), "quantity",
			 (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10), "state",
			 PQgetvalue(res, i, 3), "created_at", PQgetvalue(res, i, 4), "updated_at",
			 PQgetvalue(res, i, 5));
}

/* The reservation, or -ENOENT (no message when @quiet). */
static int
reservation_load(struct catalog *cat, const char *item_id, const char *rid, json_t **ret,
		 struct catalog_error *err)
{
	const char *params[] = {item_id, rid};
	PGresult *res;

	res = cat_exec(cat,
		       "SELECT " RES_COLUMNS
		       " FROM reservations WHERE item_id = $1 AND reservation_id = $2",
		       2, params, NULL);
	if (res == NULL)
		return cat_internal(cat, "reservations", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return catalog_fail(err, -ENOENT, "not-found", "reservation_id",
				    "reservation %s of item %s: not found", rid, item_id);
	}
	*ret = reservation_json(res, 0);
	PQclear(res);
	return 0;
}

static int
check_rid(const char *rid, struct catalog_error *err)
{
	if (!catalog_reservation_id_valid(rid))
		return catalog_fail(err, -EINVAL, "invalid-argument", "/reservation_id",
				    "reservation_id: 1 to 64 of A-Z a-z 0-9 . _ : -");
	return 0;
}

int
cat_reserve_tx(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
	       const char *rid, int64_t quantity, json_t **ret, bool *ret_created,
	       struct catalog_error *err)
{
	struct catalog_meta meta;
	json_t *item = NULL, *resv = NULL;
	char qty[24];
	PGresult *res;
	int r;

	r = check_rid(rid, err);
	if (r == 0 && (quantity < 1 || quantity > CATALOG_RESERVE_MAX))
		r = catalog_fail(err, -EINVAL, "invalid-argument", "/quantity",
				 "quantity: must be from 1 to %d", CATALOG_RESERVE_MAX);
	if (r < 0)
		return r;
	/* The lock on the item serializes reservations of it: the check below holds. */
	r = item_load(cat, item_id, true, &item, &meta, err);
	if (r < 0)
		goto out;
	r = reservation_load(cat, item_id, rid, &resv, NULL);
	if (r == 0) {
		/* The same reservation again: answered as it is, nothing written. */
		if (json_integer_value(json_object_get(resv, "quantity")) != quantity) {
			r = catalog_fail(
				err, -EEXIST, "conflict", "/reservation_id",
				"reservation_id: %s holds %lld, not %lld", rid,
				(long long)json_integer_value(json_object_get(resv, "quantity")),
				(long long)quantity);
			goto out;
		}
		*ret = json_incref(resv);
		*ret_created = false;
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	if (json_integer_value(json_object_get(item, "available")) < quantity) {
		r = catalog_fail(err, -ENOSPC, "insufficient-stock", "/quantity",
				 "quantity: %lld asked for, %lld available of %s",
				 (long long)quantity,
				 (long long)json_integer_value(json_object_get(item, "available")),
				 json_string_value(json_object_get(item, "sku")));
		goto out;
	}
	snprintf(qty, sizeof(qty), "%lld", (long long)quantity);
	{
		const char *params[] = {item_id, rid, qty};

		res = cat_exec(
			cat,
			"WITH r AS (INSERT INTO reservations (item_id, reservation_id, "
			"quantity, state) VALUES ($1, $2, $3, 'reserved') RETURNING " RES_COLUMNS
			"), i AS (UPDATE inventory_items SET reserved = reserved + $3, "
			"version = version + 1, updated_at = now() WHERE id = $1) "
			"SELECT * FROM r",
			3, params, NULL);
	}
	if (res == NULL) {
		r = cat_internal(cat, "reserve", err);
		goto out;
	}
	json_decref(resv);
	resv = reservation_json(res, 0);
	PQclear(res);
	r = item_event(cat, p, item_id, meta.revision, "reserved",
		       json_pack("{s:O}", "reservation", resv), err);
	if (r < 0)
		goto out;
	*ret = json_incref(resv);
	*ret_created = true;
out:
	json_decref(resv);
	json_decref(item);
	return r;
}

int
catalog_reserve(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		const char *rid, int64_t quantity, json_t **ret, bool *ret_created,
		struct catalog_error *err)
{
	json_t *out = NULL;
	bool created = false;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.inventory.reserve", err);
	r = cat_begin(cat, err);
	if (r < 0)
		return r;
	r = cat_reserve_tx(cat, p, item_id, rid, quantity, &out, &created, err);
	/* A reservation answered as it was wrote nothing: committing it is harmless. */
	r = r ?: cat_commit(cat, err);
	if (r < 0) {
		cat_rollback(cat);
		json_decref(out);
		return r;
	}
	*ret = out;
	*ret_created = created;
	return 0;
}

int
cat_settle_tx(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
	      const char *rid, const char *to, json_t **ret, struct catalog_error *err)
{
	struct catalog_meta meta;
	json_t *item = NULL, *resv = NULL;
	const char *state;
	PGresult *res;
	int r;

	r = check_rid(rid, err);
	r = r ?: item_load(cat, item_id, true, &item, &meta, err);
	r = r ?: reservation_load(cat, item_id, rid, &resv, err);
	if (r < 0)
		goto out;
	state = json_string_value(json_object_get(resv, "state"));
	if (strcmp(state, to) == 0) {
		*ret = json_incref(resv);
		goto out;
	}
	if (strcmp(state, "reserved") != 0) {
		r = catalog_fail_state(err, state, "reservation %s is %s: it cannot be %s", rid,
				       state, to);
		goto out;
	}
	{
		const char *params[] = {item_id, rid, to};

		/* Committed units leave the stock; released ones go back to available. */
		res = cat_exec(cat,
			       "WITH r AS (UPDATE reservations SET state = $3, updated_at = now() "
			       "WHERE item_id = $1 AND reservation_id = $2 RETURNING " RES_COLUMNS
			       "), i AS (UPDATE inventory_items SET reserved = reserved - "
			       "(SELECT quantity FROM r), quantity = quantity - CASE WHEN $3 = "
			       "'committed' THEN (SELECT quantity FROM r) ELSE 0 END, "
			       "version = version + 1, updated_at = now() WHERE id = $1) "
			       "SELECT * FROM r",
			       3, params, NULL);
	}
	if (res == NULL) {
		r = cat_internal(cat, to, err);
		goto out;
	}
	json_decref(resv);
	resv = reservation_json(res, 0);
	PQclear(res);
	r = item_event(cat, p, item_id, meta.revision,
		       strcmp(to, "committed") == 0 ? "committed" : "released",
		       json_pack("{s:O}", "reservation", resv), err);
	if (r == 0)
		*ret = json_incref(resv);
out:
	json_decref(resv);
	json_decref(item);
	return r;
}

/* Release or commit: reserved -> @to, idempotent. */
static int
settle(struct catalog *cat, const struct cuco_principal *p, const char *item_id, const char *rid,
       const char *to, json_t **ret, struct catalog_error *err)
{
	json_t *out = NULL;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.inventory.settle", err);
	r = cat_begin(cat, err);
	if (r < 0)
		return r;
	r = cat_settle_tx(cat, p, item_id, rid, to, &out, err);
	r = r ?: cat_commit(cat, err);
	if (r < 0) {
		cat_rollback(cat);
		json_decref(out);
		return r;
	}
	*ret = out;
	return 0;
}

int
catalog_release(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		const char *rid, json_t **ret, struct catalog_error *err)
{
	return settle(cat, p, item_id, rid, "released", ret, err);
}

int
catalog_commit(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
	       const char *rid, json_t **ret, struct catalog_error *err)
{
	return settle(cat, p, item_id, rid, "committed", ret, err);
}

int
catalog_reservation_get(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
			const char *rid, json_t **ret, struct catalog_error *err)
{
	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	if (!outbox_uuid_valid(item_id) || !catalog_reservation_id_valid(rid))
		return catalog_fail(err, -ENOENT, "not-found", "reservation_id",
				    "reservation %s of item %s: not found", rid ? rid : "",
				    item_id ? item_id : "");
	return reservation_load(cat, item_id, rid, ret, err);
}
