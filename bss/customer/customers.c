/* SPDX-License-Identifier: BSD-3-Clause */
/* Customers (TMF629): register, read, search, update, lifecycle, delete. */
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

/* Hand @r's document to the caller, trimmed to what @p may see. */
static void
give(const struct cuco_principal *p, struct customer_row *r, json_t **ret, int64_t *ret_version)
{
	customer_redact(r->doc, customer_visibility(p->roles));
	*ret = r->doc;
	r->doc = NULL;
	if (ret_version != NULL)
		*ret_version = r->version;
	store_customer_row_clear(r);
}

/* engagedParty of a POST: {"id", "@referredType", "href", "name"}; the party's id. */
static int
engaged_party(const json_t *ep, const char **ret_id, const char **ret_type,
	      struct customer_error *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(ep))
		return customer_fail(err, -EINVAL, "invalid-argument", "/engagedParty",
				     "/engagedParty: required: {\"id\", \"@referredType\"} of an "
				     "Individual or Organization");
	json_object_foreach((json_t *)ep, key, v) {
		if (strcmp(key, "id") && strcmp(key, "href") && strcmp(key, "name") &&
		    strcmp(key, "@referredType") && strcmp(key, "@type"))
			return customer_fail(err, -EINVAL, "invalid-argument", "/engagedParty",
					     "/engagedParty/%s: unknown attribute (id, href, name, "
					     "@referredType)",
					     key);
	}
	*ret_id = json_string_value(json_object_get(ep, "id"));
	if (!customer_uuid_valid(*ret_id))
		return customer_fail(err, -EINVAL, "invalid-argument", "/engagedParty/id",
				     "/engagedParty/id: must be the id of a party (a UUID)");
	*ret_type = json_string_value(json_object_get(ep, "@referredType"));
	if (json_object_get(ep, "@referredType") != NULL && *ret_type == NULL)
		*ret_type = "";
	return 0;
}

/* The party that will play the customer role: locked, known, of the type said, free. */
static int
claim_party(struct customer *c, const char *party_id, const char *type, struct party_row *ret,
	    struct customer_error *err)
{
	char other[CUSTOMER_UUID_LEN + 1];
	int rc;

	rc = store_party_get(c->db, party_id, true, ret, c->dberr, sizeof(c->dberr));
	if (rc == -ENOENT)
		return customer_fail(err, -EINVAL, "invalid-argument", "/engagedParty/id",
				     "/engagedParty/id: no party %s", party_id);
	if (rc)
		return cus_store_fail(c, rc, "party", err);
	if (type != NULL && strcmp(type, customer_party_type(ret->kind)) != 0)
		rc = customer_fail(err, -EINVAL, "invalid-argument", "/engagedParty/@referredType",
				   "/engagedParty/@referredType: party %s is an %s", party_id,
				   customer_party_type(ret->kind));
	else if (ret->erased)
		rc = cus_erased("the party", err);
	else if ((rc = store_customer_of_party(c->db, party_id, other, c->dberr,
					       sizeof(c->dberr))) == 0)
		rc = customer_fail(err, -EEXIST, "conflict", "/engagedParty/id",
				   "/engagedParty/id: party %s is customer %s already", party_id,
				   other);
	else if (rc == -ENOENT)
		rc = 0;
	else
		rc = cus_store_fail(c, rc, "customers", err);
	if (rc)
		store_party_row_clear(ret);
	return rc;
}

int
customer_create(struct customer *c, const struct cuco_principal *p, const json_t *body,
		json_t **ret, int64_t *ret_version, struct customer_error *err)
{
	struct party_row party = {0};
	struct customer_row row = {0};
	const char *party_id = NULL, *type = NULL;
	char id[CUSTOMER_UUID_LEN + 1], name[4 * 101];
	json_t *doc = NULL, *prefs;
	int rc;

	if (!customer_may(p, CUSTOMER_REGISTER, NULL))
		return cus_deny(p, CUSTOMER_REGISTER, err);
	rc = engaged_party(json_object_get(body, "engagedParty"), &party_id, &type, err);
	if (rc)
		return rc;
	rc = cus_begin(c, err);
	if (rc)
		return rc;
	rc = claim_party(c, party_id, type, &party, err);
	if (rc)
		return abort_tx(c, rc);
	customer_party_display_name(party.doc, name, sizeof(name));
	store_party_row_clear(&party);
	rc = customer_doc_create(body, name, &doc, err);
	if (rc)
		return abort_tx(c, rc);
	outbox_uuid4(id);
	prefs = customer_preferences_default();
	rc = store_customer_insert(c->db, id, party_id, doc, prefs, c->dberr, sizeof(c->dberr));
	json_decref(prefs);
	json_decref(doc);
	if (rc == -EEXIST)
		return abort_tx(c, customer_fail(err, -EEXIST, "conflict", "/engagedParty/id",
						 "/engagedParty/id: party %s became a customer "
						 "meanwhile",
						 party_id));
	rc = rc ?: store_customer_get(c->db, id, false, &row, c->dberr, sizeof(c->dberr));
	rc = rc ?: store_history_insert(c->db, id, 1, NULL, customer_state_name(row.status), NULL,
					p->subject, c->dberr, sizeof(c->dberr));
	if (rc) {
		store_customer_row_clear(&row);
		return abort_tx(c, cus_store_fail(c, rc, "customer", err));
	}
	rc = cus_event(c, p, "customer", id, OUTBOX_NEW_AGGREGATE, "customer.customer.registered",
		       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "customerNumber",
				 row.number, "status", customer_state_name(row.status), "partyId",
				 party_id, "partyType", customer_party_type(row.party_kind)),
		       err);
	if (rc) {
		store_customer_row_clear(&row);
		return abort_tx(c, rc);
	}
	rc = cus_commit(c, err);
	if (rc) {
		store_customer_row_clear(&row);
		return rc;
	}
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_get(struct customer *c, const struct cuco_principal *p, const char *id, json_t **ret,
	     int64_t *ret_version, struct customer_error *err)
{
	struct customer_row row = {0};
	int rc = cus_load(c, p, id, CUSTOMER_READ, false, &row, err);

	if (rc)
		return rc;
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_list(struct customer *c, const struct cuco_principal *p,
	      const struct customer_filter *f, json_t **ret_items, int64_t *ret_total,
	      struct customer_error *err)
{
	unsigned vis = customer_visibility(p->roles);
	struct store_customer_query q = {
		.status = f->status,
		.email = f->email,
		.phone = f->phone,
		.customer_number = f->customer_number,
		.offset = f->offset,
	};
	enum customer_state st;
	char pattern[2 * CUSTOMER_NAME_MAX + 8];
	json_t *items = NULL, *it;
	size_t i;
	int rc;

	if (!customer_may(p, CUSTOMER_READ, NULL))
		return cus_deny(p, CUSTOMER_READ, err);
	rc = cus_limit(f->limit, &q.limit, err);
	if (rc)
		return rc;
	if (f->status != NULL && customer_state_parse(f->status, &st) < 0)
		return customer_fail(err, -EINVAL, "invalid-argument", "status",
				     "status: one of prospect, active, suspended, closed");
	/* A filter on a personal attribute would tell what the reader may not see. */
	if (f->name != NULL) {
		if (!(vis & CUSTOMER_SEE_NAME))
			return customer_fail(err, -EPERM, "forbidden", "name",
					     "name: your roles do not see names");
		if (!customer_text_valid(f->name, CUSTOMER_NAME_MAX))
			return customer_fail(err, -EINVAL, "invalid-argument", "name",
					     "name: 1 to %d bytes of text", CUSTOMER_NAME_MAX);
		cus_like_pattern(f->name, pattern, sizeof(pattern));
		q.name_pattern = pattern;
	}
	if ((f->email != NULL || f->phone != NULL) &&
	    !(vis & (CUSTOMER_SEE_CONTACT | CUSTOMER_SEE_BILLING_CONTACT)))
		return customer_fail(err, -EPERM, "forbidden", f->email ? "email" : "phone",
				     "%s: your roles do not see contact media",
				     f->email ? "email" : "phone");
	if (f->phone != NULL && !customer_e164_valid(f->phone))
		return customer_fail(err, -EINVAL, "invalid-argument", "phone",
				     "phone: an E.164 number such as +41446681800");
	if (f->email != NULL && !customer_text_valid(f->email, 254))
		return customer_fail(err, -EINVAL, "invalid-argument", "email",
				     "email: an e-mail address");
	q.billing_contacts_only = !(vis & CUSTOMER_SEE_CONTACT);
	if (!customer_may_any(p->roles, CUSTOMER_READ))
		q.only_id = p->customer_id;
	rc = store_customer_list(c->db, &q, &items, ret_total, c->dberr, sizeof(c->dberr));
	if (rc)
		return cus_store_fail(c, rc, "customers", err);
	json_array_foreach(items, i, it)
		customer_redact(it, vis);
	*ret_items = items;
	return 0;
}

static const char *
sv(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

/* @changed without "status". */
static json_t *
without_status(const json_t *changed)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(changed, i, v)
		if (strcmp(json_string_value(v), "status") != 0)
			json_array_append(out, v);
	return out;
}

/* Authorize a patch: "status" needs the status right, the rest the update right. */
static int
may_patch(const struct cuco_principal *p, const char *id, const json_t *patch,
	  struct customer_error *err)
{
	bool status = json_object_get(patch, "status") != NULL;
	bool other = json_object_size(patch) > (status ? 1u : 0u);

	if (status && !customer_may(p, CUSTOMER_STATUS, id))
		return cus_deny(p, CUSTOMER_STATUS, err);
	if (other && !customer_may(p, CUSTOMER_UPDATE, id))
		return cus_deny(p, CUSTOMER_UPDATE, err);
	return 0;
}

/* Write the patched @r and its events (an update, a status change, or both). */
static int
save_patch(struct customer *c, const struct cuco_principal *p, struct customer_row *r,
	   enum customer_state from, json_t *changed, struct customer_error *err)
{
	json_t *others = without_status(changed);
	bool updated = json_array_size(others) > 0;
	bool moved = json_array_size(changed) > json_array_size(others);
	int64_t v = r->version;
	int rc;

	rc = store_customer_save(c->db, r->id, r->doc, r->prefs, r->balance,
				 v + updated + moved, false, c->dberr, sizeof(c->dberr));
	if (rc == 0 && moved)
		rc = store_history_insert(c->db, r->id, v + updated + moved,
					  customer_state_name(from), sv(r->doc, "status"),
					  sv(r->doc, "statusReason"), p->subject, c->dberr,
					  sizeof(c->dberr));
	if (rc) {
		json_decref(others);
		return cus_store_fail(c, rc, "customer", err);
	}
	if (updated) {
		rc = cus_event(c, p, "customer", r->id, v++, "customer.customer.updated",
			       json_pack("{s:s, s:O}", "id", r->id, "changed", others), err);
	}
	json_decref(others);
	if (rc == 0 && moved)
		rc = cus_event(c, p, "customer", r->id, v, "customer.customer.state_changed",
			       json_pack("{s:s, s:s, s:s, s:s}", "id", r->id, "customerNumber",
					 r->number, "from", customer_state_name(from), "to",
					 json_string_value(json_object_get(r->doc, "status"))),
			       err);
	return rc;
}

int
customer_update(struct customer *c, const struct cuco_principal *p, const char *id,
		int64_t expected_version, const json_t *patch, json_t **ret, int64_t *ret_version,
		struct customer_error *err)
{
	struct customer_row row = {0};
	enum customer_state from;
	json_t *changed;
	int rc;

	rc = may_patch(p, id, patch, err);
	if (rc)
		return rc;
	rc = cus_begin(c, err);
	rc = rc ?: cus_load(c, p, id, CUSTOMER_READ, true, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_check_version(expected_version, row.version, err);
	if (rc == 0 && row.erased)
		rc = cus_erased("the customer", err);
	if (rc) {
		store_customer_row_clear(&row);
		return abort_tx(c, rc);
	}
	from = row.status;
	changed = json_array();
	rc = customer_doc_patch(row.doc, patch, !customer_may_any(p->roles, CUSTOMER_UPDATE),
				changed, err);
	if (rc == 0 && json_array_size(changed) > 0)
		rc = save_patch(c, p, &row, from, changed, err);
	json_decref(changed);
	store_customer_row_clear(&row);
	if (rc)
		return abort_tx(c, rc);
	/* The answer is what was stored. */
	rc = cus_load(c, p, id, CUSTOMER_READ, false, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_commit(c, err);
	if (rc) {
		store_customer_row_clear(&row);
		return rc;
	}
	give(p, &row, ret, ret_version);
	return 0;
}

int
customer_delete(struct customer *c, const struct cuco_principal *p, const char *id,
		int64_t expected_version, struct customer_error *err)
{
	struct customer_row row = {0};
	int rc;

	if (!customer_may(p, CUSTOMER_DELETE, id ? id : ""))
		return cus_deny(p, CUSTOMER_DELETE, err);
	rc = cus_begin(c, err);
	rc = rc ?: cus_load(c, p, id, CUSTOMER_READ, true, &row, err);
	if (rc)
		return abort_tx(c, rc);
	rc = cus_check_version(expected_version, row.version, err);
	if (rc == 0 && row.status != CUSTOMER_PROSPECT) {
		rc = customer_fail(err, -EBUSY, "invalid-state", "/status",
				   "only a prospect may be deleted; this customer is %s (close it "
				   "with a status change, or erase it)",
				   customer_state_name(row.status));
		if (err != NULL)
			snprintf(err->current_state, sizeof(err->current_state), "%s",
				 customer_state_name(row.status));
	}
	if (rc == 0) {
		rc = store_customer_delete(c->db, row.id, c->dberr, sizeof(c->dberr));
		if (rc)
			rc = cus_store_fail(c, rc, "customer", err);
	}
	rc = rc ?: cus_event(c, p, "customer", row.id, row.version, "customer.customer.deleted",
			     json_pack("{s:s, s:s}", "id", row.id, "customerNumber", row.number),
			     err);
	store_customer_row_clear(&row);
	if (rc)
		return abort_tx(c, rc);
	return cus_commit(c, err);
}
