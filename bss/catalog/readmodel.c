/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The read side (CQRS): the projection of the domain's own events into
 * rm_resources, and the reads that serve only from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/catalog/service.h"
#include "bss/core/eventstore.h"
#include "bss/core/outbox.h"

/* ---- the projection ---------------------------------------------------------- */

static int
rm_exec(struct db *db, const char *sql, int n, const char *const *params, char *err, size_t errlen)
{
	PGresult *res = db_exec(db, sql, n, params, err, errlen, NULL);

	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
}

/*
 * Offerings embed their specification, its profile, their prices and the
 * promotions naming them: when one of those changes, every offering whose
 * document mentions its id (anywhere), and those a promotion names, is
 * assembled again.
 */
static int
refresh_offerings(struct db *db, const char *id, const json_t *named, char *err, size_t errlen)
{
	char *ids = named ? json_dumps(named, JSON_COMPACT) : strdup("[]");
	const char *params[] = {id, ids};
	int r;

	if (ids == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = rm_exec(db,
		    "UPDATE rm_resources o SET doc = rm_offering_doc(o.raw) "
		    "WHERE o.kind = 'offering' AND (jsonb_path_exists(o.doc, "
		    "'$.** ? (@ == $x)', jsonb_build_object('x', $1::text)) "
		    "OR $2::jsonb ? o.id::text)",
		    2, params, err, errlen);
	free(ids);
	return r;
}

int
catalog_readmodel_apply(struct db *db, const char *source, const struct es_event *ev, void *arg,
			char *err, size_t errlen)
{
	const json_t *resource = json_object_get(ev->payload, "resource");
	char prefix[OUTBOX_NAME_MAX + 16], rev[24], seq[24], *text;
	const char *action;
	bool known = false;
	int r;

	/* Inventory is read from the write side; other domains are not ours. */
	for (unsigned k = 0; k < CATALOG_KIND_COUNT; k++)
		known |= strcmp(ev->aggregate_type, catalog_kind_name(k)) == 0;
	snprintf(prefix, sizeof(prefix), "catalog.%s.", ev->aggregate_type);
	if (strcmp(source, "catalog") != 0 || !known || strncmp(ev->type, prefix, strlen(prefix)))
		return 0;
	action = ev->type + strlen(prefix);
	snprintf(rev, sizeof(rev), "%lld", (long long)ev->aggregate_version);
	snprintf(seq, sizeof(seq), "%lld", (long long)ev->seq);
	if (strcmp(action, "deleted") == 0) {
		const char *params[] = {ev->aggregate_id, rev};

		r = rm_exec(db, "DELETE FROM rm_resources WHERE id = $1 AND revision < $2", 2,
			    params, err, errlen);
		return r ?: refresh_offerings(db, ev->aggregate_id, NULL, err, errlen);
	}
	if (!json_is_object(resource)) {
		snprintf(err, errlen, "%s: no resource in the payload", ev->type);
		return -EINVAL;
	}
	text = json_dumps(resource, JSON_COMPACT);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	{
		const char *params[] = {
			ev->aggregate_id, ev->aggregate_type, text, rev, ev->time, seq};

		/* Replays are harmless: an older revision never overwrites a newer one. */
		r = rm_exec(db,
			    "INSERT INTO rm_resources (id, kind, name, lifecycle_status, raw, doc, "
			    "revision, last_update, seq) VALUES ($1, $2, $3::jsonb->>'name', "
			    "$3::jsonb->>'lifecycleStatus', $3::jsonb, $3::jsonb, $4, $5, $6) "
			    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
			    "lifecycle_status = EXCLUDED.lifecycle_status, raw = EXCLUDED.raw, "
			    "doc = EXCLUDED.doc, revision = EXCLUDED.revision, "
			    "last_update = EXCLUDED.last_update, seq = EXCLUDED.seq "
			    "WHERE rm_resources.revision < EXCLUDED.revision",
			    6, params, err, errlen);
	}
	free(text);
	if (r < 0)
		return r;
	if (strcmp(ev->aggregate_type, "offering") == 0) {
		const char *params[] = {ev->aggregate_id};

		return rm_exec(db,
			       "UPDATE rm_resources SET doc = rm_offering_doc(raw) WHERE id = $1",
			       1, params, err, errlen);
	}
	return refresh_offerings(db, ev->aggregate_id, json_object_get(resource, "offering_ids"),
				 err, errlen);
}

/* ---- reads ------------------------------------------------------------------- */

/* The columns rm_row() reads. */
#define RM_SELECT "SELECT doc::text, revision, " CAT_PG_TIME("last_update")

static int
rm_row(struct catalog *cat, enum catalog_kind kind, PGresult *res, int i, json_t **ret,
       struct catalog_meta *meta)
{
	json_t *doc = json_loads(PQgetvalue(res, i, 0), 0, NULL);

	if (doc == NULL)
		return -EIO;
	catalog_answer(kind, doc, cat_now_us());
	*ret = doc;
	if (meta) {
		meta->revision = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		meta->last_update_us = cat_pg_time(PQgetvalue(res, i, 2));
	}
	return 0;
}

static int
rm_get(struct catalog *cat, enum catalog_kind kind, const char *id, json_t **ret,
       struct catalog_meta *meta, struct catalog_error *err)
{
	const char *params[] = {id, catalog_kind_name(kind)};
	PGresult *res;
	int r;

	if (!outbox_uuid_valid(id))
		return catalog_fail(err, -ENOENT, "not-found", "id", "%s %s: not found",
				    catalog_type_name(kind), id ? id : "");
	res = cat_exec(cat,
		       RM_SELECT " FROM rm_resources WHERE id = $1 AND kind = $2",
		       2, params, NULL);
	if (res == NULL && db_reset(cat->db) == 0)
		res = cat_exec(
			cat,
			RM_SELECT " FROM rm_resources WHERE id = $1 AND kind = $2",
			2, params, NULL);
	if (res == NULL)
		return cat_internal(cat, "read model", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return catalog_fail(err, -ENOENT, "not-found", "id", "%s %s: not found",
				    catalog_type_name(kind), id);
	}
	r = rm_row(cat, kind, res, 0, ret, meta);
	PQclear(res);
	return r < 0 ? catalog_fail(err, r, "internal", "", "catalog: unreadable document") : 0;
}

int
catalog_get(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
	    const char *id, json_t **ret, struct catalog_meta *ret_meta, struct catalog_error *err)
{
	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	return rm_get(cat, kind, id, ret, ret_meta, err);
}

/* ---- filters ------------------------------------------------------------------ */

enum filter_shape { F_STRING, F_BOOL, F_OBJECT_ID, F_ARRAY_ID, F_ARRAY_STRING };

struct filter_def {
	unsigned kinds; /* bit per enum catalog_kind */
	const char *attr;
	enum filter_shape shape;
};

#define K(k) (1u << (k))
#define TMF                                                                                        \
	(K(CATALOG_CATALOG) | K(CATALOG_CATEGORY) | K(CATALOG_SPECIFICATION) |                     \
	 K(CATALOG_OFFERING) | K(CATALOG_PRICE))

static const struct filter_def filter_defs[] = {
	{TMF | K(CATALOG_PROFILE) | K(CATALOG_PROMOTION), "name", F_STRING},
	{TMF, "lifecycleStatus", F_STRING},
	{TMF, "version", F_STRING},
	{K(CATALOG_CATALOG), "catalogType", F_STRING},
	{K(CATALOG_CATEGORY), "parentId", F_STRING},
	{K(CATALOG_CATEGORY), "isRoot", F_BOOL},
	{K(CATALOG_SPECIFICATION), "brand", F_STRING},
	{K(CATALOG_SPECIFICATION), "bandwidthProfile.id", F_OBJECT_ID},
	{K(CATALOG_OFFERING), "isBundle", F_BOOL},
	{K(CATALOG_OFFERING), "isSellable", F_BOOL},
	{K(CATALOG_OFFERING), "productSpecification.id", F_OBJECT_ID},
	{K(CATALOG_OFFERING) | K(CATALOG_CATALOG), "category.id", F_ARRAY_ID},
	{K(CATALOG_OFFERING), "productOfferingPrice.id", F_ARRAY_ID},
	{K(CATALOG_PRICE), "priceType", F_STRING},
	{K(CATALOG_PRICE), "price.unit", F_OBJECT_ID},
	{K(CATALOG_PROMOTION), "kind", F_STRING},
	{K(CATALOG_PROMOTION), "offering_ids", F_ARRAY_STRING},
};

#define N_FILTERS (sizeof(filter_defs) / sizeof(filter_defs[0]))

const char *const *
catalog_filters(enum catalog_kind kind)
{
	/* Built once from the table: the gateway refuses other filters. */
	static const char *lists[CATALOG_KIND_COUNT][N_FILTERS + 1];
	static const char *const none[] = {NULL};

	if ((unsigned)kind >= CATALOG_KIND_COUNT)
		return none;
	if (lists[kind][0] == NULL) {
		size_t n = 0;

		for (size_t i = 0; i < N_FILTERS; i++)
			if (filter_defs[i].kinds & K(kind))
				lists[kind][n++] = filter_defs[i].attr;
	}
	return lists[kind];
}

/* The filters as one containment document: doc @> it. */
static int
filter_doc(enum catalog_kind kind, const struct catalog_filter *f, size_t n, json_t **ret,
	   struct catalog_error *err)
{
	json_t *doc = json_object();

	for (size_t i = 0; i < n; i++) {
		const struct filter_def *d = NULL;
		char head[64];
		const char *dot;
		json_t *v;

		for (size_t j = 0; j < N_FILTERS; j++)
			if ((filter_defs[j].kinds & K(kind)) &&
			    strcmp(filter_defs[j].attr, f[i].attr) == 0)
				d = &filter_defs[j];
		if (d == NULL || f[i].value == NULL) {
			json_decref(doc);
			return catalog_fail(err, -EINVAL, "invalid-argument", f[i].attr,
					    "%s: not a filter of %s", f[i].attr,
					    catalog_type_name(kind));
		}
		if (d->shape == F_BOOL && strcmp(f[i].value, "true") &&
		    strcmp(f[i].value, "false")) {
			json_decref(doc);
			return catalog_fail(err, -EINVAL, "invalid-argument", f[i].attr,
					    "%s: must be true or false", f[i].attr);
		}
		dot = strchr(d->attr, '.');
		snprintf(head, sizeof(head), "%.*s",
			 dot ? (int)(dot - d->attr) : (int)strlen(d->attr), d->attr);
		switch (d->shape) {
		case F_STRING: v = json_string(f[i].value); break;
		case F_BOOL: v = json_boolean(strcmp(f[i].value, "true") == 0); break;
		case F_OBJECT_ID: v = json_pack("{s:s}", dot + 1, f[i].value); break;
		case F_ARRAY_ID: v = json_pack("[{s:s}]", dot + 1, f[i].value); break;
		default: v = json_pack("[s]", f[i].value); break;
		}
		if (v == NULL) {
			json_decref(doc);
			return catalog_fail(err, -EINVAL, "invalid-argument", f[i].attr,
					    "%s: must be UTF-8 text", f[i].attr);
		}
		/* Two filters on one member (category.id twice cannot be given): the last wins. */
		json_object_set_new(doc, head, v);
	}
	*ret = doc;
	return 0;
}

int
catalog_list(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
	     const struct catalog_filter *filters, size_t n_filters, uint64_t limit,
	     uint64_t offset, json_t **ret_items, uint64_t *ret_total,
	     struct catalog_meta *ret_meta, struct catalog_error *err)
{
	char lim[24], off[24], *text;
	json_t *fdoc = NULL, *items;
	int64_t newest = 0;
	PGresult *res;
	int r;

	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	r = filter_doc(kind, filters, n_filters, &fdoc, err);
	if (r < 0)
		return r;
	text = json_dumps(fdoc, JSON_COMPACT);
	json_decref(fdoc);
	if (text == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	snprintf(lim, sizeof(lim), "%llu", (unsigned long long)limit);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)offset);
	{
		const char *params[] = {catalog_kind_name(kind), text, lim, off};

		res = cat_exec(cat,
			       RM_SELECT ", count(*) OVER () FROM rm_resources "
					 "WHERE kind = $1 AND doc @> $2::jsonb "
					 "ORDER BY name, id LIMIT $3 OFFSET $4",
			       4, params, NULL);
		if (res != NULL && PQntuples(res) == 0 && offset > 0) {
			/* Past the end: the total still counts. */
			PQclear(res);
			res = cat_exec(cat,
				       "SELECT NULL, NULL, NULL, count(*) FROM rm_resources "
				       "WHERE kind = $1 AND doc @> $2::jsonb",
				       2, params, NULL);
			if (res != NULL) {
				*ret_total = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
				PQclear(res);
				free(text);
				*ret_items = json_array();
				if (ret_meta)
					*ret_meta = (struct catalog_meta){0};
				return 0;
			}
		}
	}
	free(text);
	if (res == NULL)
		return cat_internal(cat, "read model", err);
	items = json_array();
	*ret_total = PQntuples(res) ? strtoull(PQgetvalue(res, 0, 3), NULL, 10) : 0;
	for (int i = 0; i < PQntuples(res); i++) {
		struct catalog_meta m;
		json_t *doc;

		if (rm_row(cat, kind, res, i, &doc, &m) < 0)
			continue;
		json_array_append_new(items, doc);
		if (m.last_update_us > newest)
			newest = m.last_update_us;
	}
	PQclear(res);
	*ret_items = items;
	if (ret_meta)
		*ret_meta = (struct catalog_meta){.revision = 0, .last_update_us = newest};
	return 0;
}

/* A Money object {"unit", "value"} of @minor units, for answers. */
static json_t *
money(int64_t minor, const char *unit)
{
	return json_pack("{s:s, s:f}", "unit", unit, "value", catalog_money_value(minor, unit));
}

int
catalog_offering_price(struct catalog *cat, const struct cuco_principal *p, const char *id,
		       const char *at, unsigned month, json_t **ret, struct catalog_error *err)
{
	json_t *doc = NULL, *res = NULL;
	int64_t at_us = cat_now_us();
	const char *unit;
	int r;

	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	if (at != NULL && catalog_time_parse(at, true, &at_us) < 0)
		return catalog_fail(err, -EINVAL, "invalid-argument", "at",
				    "at: must be a date (2027-01-15) or an RFC 3339 date-time");
	r = rm_get(cat, CATALOG_OFFERING, id, &doc, NULL, err);
	r = r ?: catalog_price_at(doc, at_us, month, &res, err);
	json_decref(doc);
	if (r < 0)
		return r;
	unit = json_string_value(json_object_get(res, "currency"));
	json_object_set_new(
		res, "recurring",
		money(json_integer_value(json_object_get(res, "recurring_minor")), unit));
	json_object_set_new(
		res, "oneTime",
		money(json_integer_value(json_object_get(res, "one_time_minor")), unit));
	json_object_set_new(
		res, "discount",
		money(json_integer_value(json_object_get(res, "discount_minor")), unit));
	json_object_set_new(res, "total",
			    money(json_integer_value(json_object_get(res, "total_minor")), unit));
	*ret = res;
	return 0;
}
