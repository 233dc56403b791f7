/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The write side of resources (TMF kinds, profiles, promotions): create,
 * merge-patch, delete, each with its references and its event in one
 * transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/catalog/service.h"
#include "bss/core/outbox.h"

/* A resource's row, as the write side reads it. */
struct row {
	json_t *body;
	struct catalog_meta meta;
	char status[16]; /* lifecycle, "" for kinds without */
	char name[CATALOG_NAME_MAX + 1];
};

/* The resolved references of a stored form: targets point into @keep. */
struct resolved {
	struct catalog_ref refs[CATALOG_REFS_MAX];
	size_t n_refs;
	struct catalog_target targets[CATALOG_REFS_MAX];
	size_t n_targets;
	json_t *keep;
};

/* clang-format off */
#define ROW_SELECT "SELECT body::text, revision, " CAT_PG_TIME("last_update") ", " \
	"coalesce(lifecycle_status, ''), name FROM resources WHERE id = $1 AND kind = $2"
/* clang-format on */

static bool
id_valid(const char *id)
{
	return outbox_uuid_valid(id);
}

static int
not_found(enum catalog_kind kind, const char *id, struct catalog_error *err)
{
	return catalog_fail(err, -ENOENT, "not-found", "id", "%s %s: not found",
			    catalog_type_name(kind), id ? id : "");
}

static int
load_row(struct catalog *cat, enum catalog_kind kind, const char *id, bool lock, struct row *ret,
	 struct catalog_error *err)
{
	const char *params[] = {id, catalog_kind_name(kind)};
	PGresult *res;

	if (!id_valid(id))
		return not_found(kind, id, err);
	res = cat_exec(cat, lock ? ROW_SELECT " FOR UPDATE" : ROW_SELECT, 2, params, NULL);
	if (res == NULL)
		return cat_internal(cat, "read", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return not_found(kind, id, err);
	}
	ret->body = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	ret->meta.revision = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	ret->meta.last_update_us = cat_pg_time(PQgetvalue(res, 0, 2));
	snprintf(ret->status, sizeof(ret->status), "%s", PQgetvalue(res, 0, 3));
	snprintf(ret->name, sizeof(ret->name), "%s", PQgetvalue(res, 0, 4));
	PQclear(res);
	if (ret->body == NULL)
		return catalog_fail(err, -EIO, "internal", "", "catalog: %s %s: unreadable body",
				    catalog_kind_name(kind), id);
	return 0;
}

static enum catalog_kind
kind_parse(const char *s)
{
	for (unsigned k = 0; k < CATALOG_KIND_COUNT; k++)
		if (strcmp(s, catalog_kind_name(k)) == 0)
			return k;
	return CATALOG_KIND_COUNT;
}

/*
 * Find every reference of @body (of resource @self) and lock its target
 * against deletion until the transaction ends; a missing one or one of the
 * wrong kind is invalid (the field named).
 */
static int
resolve(struct catalog *cat, enum catalog_kind kind, const char *self, const json_t *body,
	struct resolved *rs, struct catalog_error *err)
{
	rs->keep = json_array();
	rs->n_targets = 0;
	if (catalog_refs(kind, body, rs->refs, CATALOG_REFS_MAX, &rs->n_refs) < 0)
		return catalog_fail(err, -EINVAL, "invalid-argument", "",
				    "at most %d references a resource", CATALOG_REFS_MAX);
	for (size_t i = 0; i < rs->n_refs; i++) {
		const struct catalog_ref *r = &rs->refs[i];
		const char *params[] = {r->id};
		struct catalog_target *t;
		enum catalog_kind k;
		PGresult *res;
		json_t *hold;

		if (self != NULL && strcmp(r->id, self) == 0)
			return catalog_fail(err, -EINVAL, "invalid-argument", r->field,
					    "%s: a resource cannot refer to itself", r->field + 1);
		res = cat_exec(cat,
			       "SELECT kind, name, lifecycle_status, body::text FROM resources "
			       "WHERE id = $1 FOR SHARE",
			       1, params, NULL);
		if (res == NULL)
			return cat_internal(cat, "references", err);
		k = PQntuples(res) ? kind_parse(PQgetvalue(res, 0, 0)) : CATALOG_KIND_COUNT;
		if (k != r->target) {
			PQclear(res);
			return catalog_fail(err, -EINVAL, "invalid-argument", r->field,
					    "%s: there is no %s %s", r->field + 1,
					    catalog_type_name(r->target), r->id);
		}
		hold = json_pack("{s:s, s:s, s:s?, s:o}", "id", r->id, "name",
				 PQgetvalue(res, 0, 1), "lifecycle",
				 PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), "body",
				 json_loads(PQgetvalue(res, 0, 3), 0, NULL) ?: json_object());
		PQclear(res);
		if (hold == NULL)
			return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
		json_array_append_new(rs->keep, hold);
		t = &rs->targets[rs->n_targets++];
		t->id = json_string_value(json_object_get(hold, "id"));
		t->kind = k;
		t->name = json_string_value(json_object_get(hold, "name"));
		t->lifecycle = json_string_value(json_object_get(hold, "lifecycle"));
		t->body = json_object_get(hold, "body");
	}
	return 0;
}

static int
write_refs(struct catalog *cat, const char *id, const struct resolved *rs, bool replace,
	   struct catalog_error *err)
{
	const char *p1[] = {id};
	PGresult *res;

	if (replace) {
		res = cat_exec(cat, "DELETE FROM refs WHERE from_id = $1", 1, p1, NULL);
		if (res == NULL)
			return cat_internal(cat, "references", err);
		PQclear(res);
	}
	for (size_t i = 0; i < rs->n_refs; i++) {
		const char *params[] = {id, rs->refs[i].attr, rs->refs[i].id};

		res = cat_exec(cat,
			       "INSERT INTO refs (from_id, attr, to_id) VALUES ($1, $2, $3) "
			       "ON CONFLICT DO NOTHING",
			       3, params, NULL);
		if (res == NULL)
			return cat_internal(cat, "references", err);
		PQclear(res);
	}
	return 0;
}

/* Who refers to @id (only Active offerings when @active_offerings), for messages. */
static int
referrers(struct catalog *cat, const char *id, bool active_offerings, char *buf, size_t len,
	  struct catalog_error *err)
{
	const char *params[] = {id};
	size_t pos = 0;
	PGresult *res;

	res = cat_exec(
		cat,
		active_offerings
			? "SELECT DISTINCT o.kind, o.id, o.name FROM refs r JOIN resources o "
			  "ON o.id = r.from_id WHERE r.to_id = $1 AND o.kind = 'offering' "
			  "AND o.lifecycle_status = 'Active' ORDER BY o.name LIMIT 3"
			: "SELECT DISTINCT o.kind, o.id, o.name FROM refs r JOIN resources o "
			  "ON o.id = r.from_id WHERE r.to_id = $1 ORDER BY o.name LIMIT 3",
		1, params, NULL);
	if (res == NULL)
		return cat_internal(cat, "references", err);
	buf[0] = '\0';
	for (int i = 0; i < PQntuples(res) && pos < len; i++) {
		int n = snprintf(buf + pos, len - pos, "%s%s %s (%s)", i ? ", " : "",
				 PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				 PQgetvalue(res, i, 2));

		pos += n > 0 ? (size_t)n : 0;
	}
	PQclear(res);
	return 0;
}

static const char *
lifecycle_of(enum catalog_kind kind, const json_t *body)
{
	return catalog_kind_has_lifecycle(kind)
		       ? json_string_value(json_object_get(body, "lifecycleStatus"))
		       : NULL;
}

/* The answer of a write: the representation as written, decorated for now. */
static json_t *
answer(enum catalog_kind kind, const char *id, const json_t *body, const struct catalog_meta *m,
       const struct resolved *rs)
{
	json_t *doc = catalog_represent(kind, id, body, m, rs->targets, rs->n_targets);

	if (doc != NULL)
		catalog_answer(kind, doc, cat_now_us());
	return doc;
}

static int
insert_row(struct catalog *cat, enum catalog_kind kind, const char *id, const json_t *body,
	   struct catalog_meta *meta, struct catalog_error *err)
{
	char *text = json_dumps(body, JSON_COMPACT);
	const char *params[] = {id, catalog_kind_name(kind),
				json_string_value(json_object_get(body, "name")),
				lifecycle_of(kind, body), text};
	char state[6] = "";
	PGresult *res;

	if (text == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	res = cat_exec(cat,
		       "INSERT INTO resources (id, kind, name, lifecycle_status, body) "
		       "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING " CAT_PG_TIME("last_update"),
		       5, params, state);
	free(text);
	if (res == NULL && strcmp(state, "23505") == 0)
		return catalog_fail(err, -EEXIST, "conflict", "/name",
				    "name: a %s named '%s' exists already", catalog_type_name(kind),
				    params[2]);
	if (res == NULL)
		return cat_internal(cat, "insert", err);
	meta->revision = 1;
	meta->last_update_us = cat_pg_time(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
catalog_create(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
	       const json_t *in, json_t **ret, struct catalog_meta *ret_meta,
	       struct catalog_error *err)
{
	struct resolved *rs = calloc(1, sizeof(*rs));
	struct catalog_meta meta;
	json_t *body = NULL, *doc = NULL;
	char id[37], type[64];
	int r;

	if (rs == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (!catalog_may_write(p)) {
		r = cat_deny(p, "catalog.create", err);
		goto out;
	}
	r = catalog_normalize(kind, in, true, &body, err);
	if (r < 0)
		goto out;
	outbox_uuid4(id);
	r = cat_begin(cat, err);
	if (r < 0)
		goto out;
	r = resolve(cat, kind, id, body, rs, err);
	r = r ?: insert_row(cat, kind, id, body, &meta, err);
	r = r ?: write_refs(cat, id, rs, false, err);
	if (r == 0) {
		doc = catalog_represent(kind, id, body, &meta, rs->targets, rs->n_targets);
		snprintf(type, sizeof(type), "catalog.%s.created", catalog_kind_name(kind));
		r = cat_event(cat, p, catalog_kind_name(kind), id, OUTBOX_NEW_AGGREGATE, type,
			      json_pack("{s:O}", "resource", doc), err);
	}
	r = r ?: cat_commit(cat, err);
	if (r < 0) {
		cat_rollback(cat);
		goto out;
	}
	*ret = answer(kind, id, body, &meta, rs);
	if (ret_meta)
		*ret_meta = meta;
out:
	json_decref(doc);
	json_decref(body);
	json_decref(rs->keep);
	free(rs);
	return r;
}

/* The lifecycle rules of a change from @before to @after (see catalog.h). */
static int
check_change(struct catalog *cat, enum catalog_kind kind, const char *id, const json_t *before,
	     const json_t *after, const json_t *changes, const struct resolved *rs,
	     struct catalog_error *err)
{
	const char *from_s = lifecycle_of(kind, before), *to_s = lifecycle_of(kind, after);
	enum catalog_status from, to;
	const char *name;
	char who[256];
	int r;

	if (!catalog_kind_has_lifecycle(kind))
		return 0;
	if (catalog_status_parse(from_s, &from) < 0 || catalog_status_parse(to_s, &to) < 0)
		return catalog_fail(err, -EIO, "internal", "", "catalog: %s: bad lifecycle", id);
	if (!catalog_transition_allowed(from, to))
		return catalog_fail_state(err, from_s,
					  "lifecycleStatus: %s %s is %s and cannot become %s "
					  "(In Design -> Active -> Retired)",
					  catalog_type_name(kind), id, from_s, to_s);
	if (from != CATALOG_IN_DESIGN && !catalog_changes_frozen_ok(changes, &name))
		return catalog_fail_state(err, from_s,
					  "%s: %s %s is %s: only lifecycleStatus, description and "
					  "validFor may change",
					  name, catalog_type_name(kind), id, from_s);
	if (kind == CATALOG_OFFERING && from != to && to == CATALOG_ACTIVE)
		return catalog_offering_activation_check(after, rs->targets, rs->n_targets, err);
	if ((kind == CATALOG_SPECIFICATION || kind == CATALOG_PRICE) && from != to &&
	    to == CATALOG_RETIRED) {
		r = referrers(cat, id, true, who, sizeof(who), err);
		if (r < 0)
			return r;
		if (who[0])
			return catalog_fail_state(err, from_s,
						  "lifecycleStatus: %s %s is used by Active "
						  "offerings: %s",
						  catalog_type_name(kind), id, who);
	}
	return 0;
}

static int
update_row(struct catalog *cat, enum catalog_kind kind, const char *id, const json_t *body,
	   struct catalog_meta *meta, struct catalog_error *err)
{
	char *text = json_dumps(body, JSON_COMPACT);
	const char *params[] = {id, json_string_value(json_object_get(body, "name")),
				lifecycle_of(kind, body), text};
	char state[6] = "";
	PGresult *res;

	if (text == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	res = cat_exec(cat,
		       "UPDATE resources SET name = $2, lifecycle_status = $3, body = $4::jsonb, "
		       "revision = revision + 1, last_update = now() WHERE id = $1 "
		       "RETURNING revision, " CAT_PG_TIME("last_update"),
		       4, params, state);
	free(text);
	if (res == NULL && strcmp(state, "23505") == 0)
		return catalog_fail(err, -EEXIST, "conflict", "/name",
				    "name: a %s named '%s' exists already", catalog_type_name(kind),
				    params[1]);
	if (res == NULL)
		return cat_internal(cat, "update", err);
	meta->revision = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	meta->last_update_us = cat_pg_time(PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

static json_t *
change_payload(enum catalog_kind kind, json_t *doc, json_t *changes, const json_t *before,
	       const json_t *after)
{
	json_t *pl = json_pack("{s:O, s:O}", "resource", doc, "changes", changes);
	const char *from = lifecycle_of(kind, before), *to = lifecycle_of(kind, after);

	if (pl != NULL && from && to && strcmp(from, to) != 0) {
		json_object_set_new(pl, "from", json_string(from));
		json_object_set_new(pl, "to", json_string(to));
	}
	return pl;
}

int
catalog_update(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
	       const char *id, const json_t *patch, int64_t expected, json_t **ret,
	       struct catalog_meta *ret_meta, struct catalog_error *err)
{
	struct resolved *rs = calloc(1, sizeof(*rs));
	struct row row = {0};
	json_t *merged = NULL, *after = NULL, *changes = NULL, *doc = NULL;
	const char *from, *to;
	char type[80];
	int r;

	if (rs == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (!catalog_may_write(p)) {
		r = cat_deny(p, "catalog.update", err);
		goto out;
	}
	if (!json_is_object(patch)) {
		r = catalog_fail(err, -EINVAL, "invalid-argument", "",
				 "the body must be a JSON merge patch (an object)");
		goto out;
	}
	r = cat_begin(cat, err);
	if (r < 0)
		goto out;
	r = load_row(cat, kind, id, true, &row, err);
	if (r == 0 && expected != -1 && expected != row.meta.revision)
		r = catalog_fail(err, -ESTALE, "stale-version", "",
				 "%s %s is at revision %lld, not %lld", catalog_type_name(kind), id,
				 (long long)row.meta.revision, (long long)expected);
	if (r < 0)
		goto out_rollback;
	catalog_patch_prepare(kind, row.body, patch);
	merged = catalog_merge_patch(row.body, patch);
	r = catalog_normalize(kind, merged, false, &after, err);
	if (r < 0)
		goto out_rollback;
	changes = catalog_changes(row.body, after);
	r = resolve(cat, kind, id, after, rs, err);
	if (r == 0 && json_array_size(changes) == 0) {
		/* Nothing changes: nothing is written, the resource is answered as it is. */
		cat_rollback(cat);
		*ret = answer(kind, id, after, &row.meta, rs);
		if (ret_meta)
			*ret_meta = row.meta;
		goto out;
	}
	r = r ?: check_change(cat, kind, id, row.body, after, changes, rs, err);
	r = r ?: update_row(cat, kind, id, after, &row.meta, err);
	r = r ?: write_refs(cat, id, rs, true, err);
	if (r < 0)
		goto out_rollback;
	from = lifecycle_of(kind, row.body);
	to = lifecycle_of(kind, after);
	snprintf(type, sizeof(type), "catalog.%s.%s", catalog_kind_name(kind),
		 from && to && strcmp(from, to) ? "lifecycle_changed" : "updated");
	doc = catalog_represent(kind, id, after, &row.meta, rs->targets, rs->n_targets);
	r = cat_event(cat, p, catalog_kind_name(kind), id, row.meta.revision - 1, type,
		      change_payload(kind, doc, changes, row.body, after), err);
	r = r ?: cat_commit(cat, err);
	if (r < 0)
		goto out_rollback;
	*ret = answer(kind, id, after, &row.meta, rs);
	if (ret_meta)
		*ret_meta = row.meta;
	goto out;
out_rollback:
	cat_rollback(cat);
out:
	json_decref(doc);
	json_decref(changes);
	json_decref(after);
	json_decref(merged);
	json_decref(row.body);
	json_decref(rs->keep);
	free(rs);
	return r;
}

int
catalog_delete(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
	       const char *id, int64_t expected, struct catalog_error *err)
{
	const char *params[] = {id};
	struct row row = {0};
	char who[256], type[64];
	PGresult *res;
	int r;

	if (!catalog_may_write(p))
		return cat_deny(p, "catalog.delete", err);
	r = cat_begin(cat, err);
	if (r < 0)
		return r;
	r = load_row(cat, kind, id, true, &row, err);
	if (r == 0 && expected != -1 && expected != row.meta.revision)
		r = catalog_fail(err, -ESTALE, "stale-version", "",
				 "%s %s is at revision %lld, not %lld", catalog_type_name(kind), id,
				 (long long)row.meta.revision, (long long)expected);
	if (r == 0 && catalog_kind_has_lifecycle(kind) && strcmp(row.status, "In Design") != 0)
		r = catalog_fail_state(err, row.status,
				       "%s %s is %s: only In Design resources are deleted (retire "
				       "it instead)",
				       catalog_type_name(kind), id, row.status);
	r = r ?: referrers(cat, id, false, who, sizeof(who), err);
	if (r == 0 && who[0])
		r = catalog_fail(err, -EEXIST, "conflict", "", "%s %s is still referred to by %s",
				 catalog_type_name(kind), id, who);
	if (r < 0)
		goto out_rollback;
	res = cat_exec(cat, "DELETE FROM resources WHERE id = $1", 1, params, NULL);
	if (res == NULL) {
		r = cat_internal(cat, "delete", err);
		goto out_rollback;
	}
	PQclear(res);
	snprintf(type, sizeof(type), "catalog.%s.deleted", catalog_kind_name(kind));
	r = cat_event(cat, p, catalog_kind_name(kind), id, row.meta.revision, type,
		      json_pack("{s:s, s:s, s:s}", "id", id, "kind", catalog_kind_name(kind),
				"name", row.name),
		      err);
	r = r ?: cat_commit(cat, err);
	if (r < 0)
		goto out_rollback;
	json_decref(row.body);
	return 0;
out_rollback:
	cat_rollback(cat);
	json_decref(row.body);
	return r;
}

int
catalog_get_current(struct catalog *cat, const struct cuco_principal *p, enum catalog_kind kind,
		    const char *id, json_t **ret, struct catalog_meta *ret_meta,
		    struct catalog_error *err)
{
	struct resolved *rs;
	struct row row = {0};
	int r;

	if (!catalog_may_read(p))
		return cat_deny(p, "catalog.read", err);
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	r = cat_begin(cat, err);
	r = r ?: load_row(cat, kind, id, false, &row, err);
	r = r ?: resolve(cat, kind, id, row.body, rs, err);
	cat_rollback(cat);
	if (r == 0) {
		*ret = answer(kind, id, row.body, &row.meta, rs);
		if (ret_meta)
			*ret_meta = row.meta;
	}
	json_decref(row.body);
	json_decref(rs->keep);
	free(rs);
	return r;
}
