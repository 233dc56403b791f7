/* SPDX-License-Identifier: BSD-3-Clause */
/* Parties (TMF632 Individual and Organization): the customers' engaged parties. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/customer/service.h"

static int
abort_tx(struct customer *c, int rc)
{
	cus_rollback(c);
	return rc;
}

static void
give(const struct cuco_principal *p, struct party_row *r, json_t **ret, int64_t *ret_version)
{
	customer_party_redact(r->doc, customer_visibility(p->roles));
	*ret = r->doc;
	r->doc = NULL;
	if (ret_version != NULL)
		*ret_version = r->version;
	store_party_row_clear(r);
}

/*
 * Authorize @a on party @id: staff by their roles; a self-care principal
 * only on the party of its own customer.
 */
static int
may_party(struct customer *c, const struct cuco_principal *p, const char *id,
	  enum customer_action a, struct customer_error *err)
{
	char owner[CUSTOMER_UUID_LEN + 1];
	int rc;

	if (customer_may_any(p->roles, a))
		return 0;
	if (!customer_may_own(p->roles, a) || p->customer_id[0] == '\0')
		return cus_deny(p, a, err);
	rc = store_customer_of_party(c->db, id, owner, c->dberr, sizeof(c->dberr));
	if (rc == -ENOENT || (rc == 0 && strcmp(owner, p->customer_id) != 0))
		return cus_deny(p, a, err);
	return rc ? cus_store_fail(c, rc, "party", err) : 0;
}

/* Read party @id of @kind (another kind is not found there). */
static int
load(struct customer *c, enum customer_party_kind kind, const char *id, bool lock,
     struct party_row *ret, struct customer_error *err)
{
	int rc = store_party_get(c->db, id ? id : "", lock, ret, c->dberr, sizeof(c->dberr));

	if (rc == 0 && ret->kind != kind) {
		store_party_row_clear(ret);
		rc = -ENOENT;
	}
	return rc ? cus_store_fail(c, rc, customer_party_type(kind), err) : 0;
}

int
customer_party_create(struct customer *c, const struct cuco_principal *p,
		      enum customer_party_kind kind, const json_t *body, json_t **ret,
		      int64_t *ret_version, struct customer_error *err)
{
	struct party_row row = {0};
	char id[CUSTOMER_UUID_LEN + 1];
	json_t *doc = NULL;
	int rc;

	if (!customer_may(p, CUSTOMER_REGISTER, NULL))
		return cus_deny(p, CUSTOMER_REGISTER, err);
	rc = customer_party_doc_create(kind, body, &doc, err);
	if (rc)
		return rc;
	outbox_uuid4(id);
	rc = cus_begin(c, err);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	rc = store_party_insert(c->db, id, kind, doc, c->dberr, sizeof(c->dberr));
	json_decref(doc);
	rc = rc ?: store_party_get(c->db, id, false, &row, c->dberr, sizeof(c->dberr));
	if (rc)
		return abort_tx(c, cus_store_fail(c, rc, "party", err));
	rc = cus_event(c, p, "party", id, OUTBOX_NEW_AGGREGATE, "customer.party.created",
		       json_pack("{s:s, s:s, s:O}", "id", id, "@type", customer_party_type(kind),
				 "status", json_object_get(row.doc, "status")),
		       err);
	if (rc) {
		store_party_row_clear(&row);
		return abort_tx(c, rc);
	}
	rc = cus_commit(c, err);
	if (rc) {
		store_party_row_clear(&row);
		return rc;
	}
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_party_get(struct customer *c, const struct cuco_principal *p,
		   enum customer_party_kind kind, const char *id, json_t **ret,
		   int64_t *ret_version, struct customer_error *err)
{
	struct party_row row = {0};
	int rc = may_party(c, p, id ? id : "", CUSTOMER_READ, err);

	rc = rc ?: load(c, kind, id, false, &row, err);
	if (rc)
		return rc;
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_party_list(struct customer *c, const struct cuco_principal *p,
		    enum customer_party_kind kind, const char *name, unsigned limit,
		    unsigned offset, json_t **ret_items, int64_t *ret_total,
		    struct customer_error *err)
{
	char pattern[2 * CUSTOMER_NAME_MAX + 8];
	struct customer_row own = {0};
	struct party_row row = {0};
	json_t *items = NULL, *it;
	size_t i;
	int rc;

	if (!customer_may(p, CUSTOMER_READ, NULL))
		return cus_deny(p, CUSTOMER_READ, err);
	rc = cus_limit(limit, &limit, err);
	if (rc)
		return rc;
	if (name != NULL && !(customer_visibility(p->roles) & CUSTOMER_SEE_NAME))
		return customer_fail(err, -EPERM, "forbidden", "name",
				     "name: your roles do not see names");
	if (name != NULL && !customer_text_valid(name, CUSTOMER_NAME_MAX))
		return customer_fail(err, -EINVAL, "invalid-argument", "name",
				     "name: 1 to %d bytes of text", CUSTOMER_NAME_MAX);
	if (!customer_may_any(p->roles, CUSTOMER_READ)) {
		/* Self-care: its own customer's party, when of this kind. */
		*ret_items = json_array();
		*ret_total = 0;
		if (store_customer_get(c->db, p->customer_id, false, &own, c->dberr,
				       sizeof(c->dberr)) != 0)
			return 0;
		if (own.party_kind == kind && offset == 0 &&
		    store_party_get(c->db, own.party_id, false, &row, c->dberr,
				    sizeof(c->dberr)) == 0) {
			customer_party_redact(row.doc, customer_visibility(p->roles));
			json_array_append(*ret_items, row.doc);
			*ret_total = 1;
			store_party_row_clear(&row);
		}
		store_customer_row_clear(&own);
		return 0;
	}
	if (name != NULL)
		cus_like_pattern(name, pattern, sizeof(pattern));
	rc = store_party_list(c->db, kind, name ? pattern : NULL, limit, offset, &items, ret_total,
			      c->dberr, sizeof(c->dberr));
	if (rc)
		return cus_store_fail(c, rc, "parties", err);
	json_array_foreach(items, i, it)
		customer_party_redact(it, customer_visibility(p->roles));
	*ret_items = items;
	return 0;
}

int
customer_party_update(struct customer *c, const struct cuco_principal *p,
		      enum customer_party_kind kind, const char *id, int64_t expected_version,
		      const json_t *patch, json_t **ret, int64_t *ret_version,
		      struct customer_error *err)
{
	struct party_row row = {0};
	json_t *changed;
	int rc;

	rc = cus_begin(c, err);
	rc = rc ?: may_party(c, p, id ? id : "", CUSTOMER_UPDATE, err);
	rc = rc ?: load(c, kind, id, true, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_check_version(expected_version, row.version, err);
	if (rc == 0 && row.erased)
		rc = cus_erased("the party", err);
	changed = json_array();
	rc = rc ?: customer_party_doc_patch(kind, row.doc, patch,
					    !customer_may_any(p->roles, CUSTOMER_UPDATE), changed,
					    err);
	if (rc == 0 && json_array_size(changed) > 0) {
		rc = store_party_save(c->db, row.id, row.doc, row.version + 1, false, c->dberr,
				      sizeof(c->dberr));
		if (rc)
			rc = cus_store_fail(c, rc, "party", err);
		rc = rc ?: cus_event(c, p, "party", row.id, row.version, "customer.party.updated",
				     json_pack("{s:s, s:O}", "id", row.id, "changed", changed),
				     err);
	}
	json_decref(changed);
	store_party_row_clear(&row);
	rc = rc ?: load(c, kind, id, false, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_commit(c, err);
	if (rc) {
		store_party_row_clear(&row);
		return rc;
	}
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_party_delete(struct customer *c, const struct cuco_principal *p,
		      enum customer_party_kind kind, const char *id, int64_t expected_version,
		      struct customer_error *err)
{
	char owner[CUSTOMER_UUID_LEN + 1];
	struct party_row row = {0};
	int rc;

	if (!customer_may(p, CUSTOMER_DELETE, NULL))
		return cus_deny(p, CUSTOMER_DELETE, err);
	rc = cus_begin(c, err);
	rc = rc ?: load(c, kind, id, true, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_check_version(expected_version, row.version, err);
	if (rc == 0) {
		rc = store_customer_of_party(c->db, row.id, owner, c->dberr, sizeof(c->dberr));
		if (rc == 0)
			rc = customer_fail(err, -EEXIST, "conflict", "",
					   "party %s is customer %s: delete or erase the customer "
					   "instead",
					   row.id, owner);
		else if (rc == -ENOENT)
			rc = 0;
		else
			rc = cus_store_fail(c, rc, "customers", err);
	}
	if (rc == 0) {
		rc = store_party_delete(c->db, row.id, c->dberr, sizeof(c->dberr));
		if (rc)
			rc = cus_store_fail(c, rc, "party", err);
	}
	rc = rc ?: cus_event(c, p, "party", row.id, row.version, "customer.party.deleted",
			     json_pack("{s:s}", "id", row.id), err);
	store_party_row_clear(&row);
	if (rc)
		return abort_tx(c, rc);
	return cus_commit(c, err);
}
