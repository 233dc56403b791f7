/* SPDX-License-Identifier: BSD-3-Clause */
/* Consents, communication preferences, loyalty, and the GDPR export and erasure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bss/core/outbox.h"
#include "bss/customer/service.h"

static int
abort_tx(struct customer *c, int rc)
{
	cus_rollback(c);
	return rc;
}

/* Open a transaction and lock customer @id for @a; not erased. */
static int
begin_change(struct customer *c, const struct cuco_principal *p, const char *id,
	     enum customer_action a, struct customer_row *ret, struct customer_error *err)
{
	int rc = cus_begin(c, err);

	rc = rc ?: cus_load(c, p, id, a, true, ret, err);
	if (rc == 0 && ret->erased) {
		store_customer_row_clear(ret);
		rc = cus_erased("the customer", err);
	}
	if (rc)
		cus_rollback(c);
	return rc;
}

/* Bump the customer's version (it stays as it was otherwise) in the open transaction. */
static int
touch(struct customer *c, const struct customer_row *r, struct customer_error *err)
{
	int rc = store_customer_save(c->db, r->id, r->doc, r->prefs, r->balance, r->version + 1,
				     false, c->dberr, sizeof(c->dberr));

	return rc ? cus_store_fail(c, rc, "customer", err) : 0;
}

/* ---- Consents ------------------------------------------------------------------------ */

int
customer_consent_record(struct customer *c, const struct cuco_principal *p, const char *id,
			const json_t *body, json_t **ret, struct customer_error *err)
{
	struct customer_row row = {0};
	char cid[CUSTOMER_UUID_LEN + 1];
	json_t *rec = NULL;
	bool given;
	int rc;

	if (!customer_may(p, CUSTOMER_CARE, id ? id : ""))
		return cus_deny(p, CUSTOMER_CARE, err);
	rc = customer_consent_check(body, (int64_t)time(NULL), err);
	rc = rc ?: begin_change(c, p, id, CUSTOMER_CARE, &row, err);
	if (rc)
		return rc;
	outbox_uuid4(cid);
	given = strcmp(json_string_value(json_object_get(body, "state")), "given") == 0;
	rc = store_consent_insert(c->db, cid, row.id, body, p->subject, &rec, c->dberr,
				  sizeof(c->dberr));
	if (rc)
		rc = cus_store_fail(c, rc, "consent", err);
	rc = rc ?: touch(c, &row, err);
	rc = rc ?: cus_event(c, p, "customer", row.id, row.version,
			     given ? "customer.customer.consent_given"
				   : "customer.customer.consent_withdrawn",
			     json_pack("{s:s, s:s, s:O, s:O, s:O}", "customerId", row.id,
				       "consentId", cid, "channel", json_object_get(rec, "channel"),
				       "purpose", json_object_get(rec, "purpose"), "at",
				       json_object_get(rec, "at")),
			     err);
	store_customer_row_clear(&row);
	rc = rc ?: cus_commit(c, err);
	if (rc) {
		json_decref(rec);
		return abort_tx(c, rc);
	}
	*ret = rec;
	return 0;
}

int
customer_consent_list(struct customer *c, const struct cuco_principal *p, const char *id,
		      const char *channel, const char *purpose, unsigned limit, unsigned offset,
		      json_t **ret_items, int64_t *ret_total, struct customer_error *err)
{
	struct customer_row row = {0};
	int rc;

	if (channel != NULL && !customer_channel_valid(channel))
		return customer_fail(err, -EINVAL, "invalid-argument", "channel",
				     "channel: one of email, sms, phone, post");
	if (purpose != NULL && !customer_purpose_valid(purpose))
		return customer_fail(err, -EINVAL, "invalid-argument", "purpose",
				     "purpose: one of marketing, service, profiling, third-party");
	rc = cus_limit(limit, &limit, err);
	rc = rc ?: cus_load(c, p, id, CUSTOMER_READ, false, &row, err);
	if (rc)
		return rc;
	rc = store_consent_list(c->db, row.id, channel, purpose, limit, offset, ret_items,
				ret_total, c->dberr, sizeof(c->dberr));
	store_customer_row_clear(&row);
	return rc ? cus_store_fail(c, rc, "consents", err) : 0;
}

/* ---- Communication preferences -------------------------------------------------------- */

int
customer_preferences_get(struct customer *c, const struct cuco_principal *p, const char *id,
			 json_t **ret, int64_t *ret_version, struct customer_error *err)
{
	struct customer_row row = {0};
	int rc = cus_load(c, p, id, CUSTOMER_READ, false, &row, err);

	if (rc)
		return rc;
	*ret = json_incref(row.prefs);
	if (ret_version != NULL)
		*ret_version = row.version;
	store_customer_row_clear(&row);
	return 0;
}

int
customer_preferences_set(struct customer *c, const struct cuco_principal *p, const char *id,
			 int64_t expected_version, const json_t *body, json_t **ret,
			 int64_t *ret_version, struct customer_error *err)
{
	struct customer_row row = {0};
	json_t *prefs = NULL;
	int rc;

	if (!customer_may(p, CUSTOMER_CARE, id ? id : ""))
		return cus_deny(p, CUSTOMER_CARE, err);
	rc = customer_preferences_check(body, &prefs, err);
	rc = rc ?: begin_change(c, p, id, CUSTOMER_CARE, &row, err);
	if (rc) {
		json_decref(prefs);
		return rc;
	}
	rc = cus_check_version(expected_version, row.version, err);
	if (rc == 0 && !json_equal(prefs, row.prefs)) {
		json_decref(row.prefs);
		row.prefs = json_incref(prefs);
		rc = touch(c, &row, err);
		rc = rc ?: cus_event(c, p, "customer", row.id, row.version++,
				     "customer.customer.updated",
				     json_pack("{s:s, s:[s]}", "id", row.id, "changed",
					       "communicationPreferences"),
				     err);
	}
	rc = rc ?: cus_commit(c, err);
	if (rc) {
		json_decref(prefs);
		store_customer_row_clear(&row);
		return abort_tx(c, rc);
	}
	*ret = prefs;
	if (ret_version != NULL)
		*ret_version = row.version;
	store_customer_row_clear(&row);
	return 0;
}

/* ---- Loyalty -------------------------------------------------------------------------- */

int
customer_loyalty_get(struct customer *c, const struct cuco_principal *p, const char *id,
		     json_t **ret, struct customer_error *err)
{
	struct customer_row row = {0};
	json_t *totals = NULL;
	int rc = cus_load(c, p, id, CUSTOMER_READ, false, &row, err);

	if (rc)
		return rc;
	rc = store_loyalty_totals(c->db, row.id, &totals, c->dberr, sizeof(c->dberr));
	if (rc) {
		store_customer_row_clear(&row);
		return cus_store_fail(c, rc, "loyalty", err);
	}
	json_object_set_new(totals, "customer_id", json_string(row.id));
	json_object_set_new(totals, "balance", json_integer(row.balance));
	*ret = totals;
	store_customer_row_clear(&row);
	return 0;
}

int
customer_loyalty_history(struct customer *c, const struct cuco_principal *p, const char *id,
			 unsigned limit, unsigned offset, json_t **ret_items, int64_t *ret_total,
			 struct customer_error *err)
{
	struct customer_row row = {0};
	int rc;

	rc = cus_limit(limit, &limit, err);
	rc = rc ?: cus_load(c, p, id, CUSTOMER_READ, false, &row, err);
	if (rc)
		return rc;
	rc = store_loyalty_list(c->db, row.id, limit, offset, ret_items, ret_total, c->dberr,
				sizeof(c->dberr));
	store_customer_row_clear(&row);
	return rc ? cus_store_fail(c, rc, "loyalty", err) : 0;
}

/* A transaction seen before under the same reference: the same one, or a conflict. */
static int
replay(struct customer *c, const struct customer_row *r, const json_t *body, json_t *seen,
       json_t **ret, struct customer_error *err)
{
	if (!json_equal(json_object_get(seen, "kind"), json_object_get(body, "kind")) ||
	    !json_equal(json_object_get(seen, "points"), json_object_get(body, "points"))) {
		json_decref(seen);
		return customer_fail(err, -EEXIST, "conflict", "/reference",
				     "/reference: '%s' names another transaction already",
				     json_string_value(json_object_get(body, "reference")));
	}
	json_object_set_new(seen, "balance", json_integer(r->balance));
	*ret = seen;
	return 0;
}

/* The new balance, or the error the arithmetic gives. */
static int
new_balance(const struct customer_row *r, bool redeem, int64_t points, int64_t *ret,
	    struct customer_error *err)
{
	int rc = customer_loyalty_apply(r->balance, redeem, points, ret);

	if (rc == -ENOSPC) {
		customer_fail(err, -EBUSY, "insufficient-points", "/points",
			      "/points: %lld exceed the balance of %lld", (long long)points,
			      (long long)r->balance);
		if (err != NULL)
			err->balance = r->balance;
		return -EBUSY;
	}
	if (rc)
		return customer_fail(err, -EINVAL, "invalid-argument", "/points",
				     "/points: the balance would exceed %lld",
				     CUSTOMER_BALANCE_MAX);
	return 0;
}

int
customer_loyalty_post(struct customer *c, const struct cuco_principal *p, const char *id,
		      const json_t *body, json_t **ret, bool *ret_created,
		      struct customer_error *err)
{
	const char *kind = json_string_value(json_object_get(body, "kind"));
	bool redeem = kind != NULL && strcmp(kind, "redeem") == 0;
	enum customer_action a = redeem ? CUSTOMER_REDEEM : CUSTOMER_EARN;
	int64_t points = json_integer_value(json_object_get(body, "points")), balance = 0;
	struct customer_row row = {0};
	char tid[CUSTOMER_UUID_LEN + 1];
	json_t *tx = NULL;
	int rc;

	rc = customer_loyalty_check(body, err);
	if (rc)
		return rc;
	if (!customer_may(p, a, id ? id : ""))
		return cus_deny(p, a, err);
	rc = begin_change(c, p, id, a, &row, err);
	if (rc)
		return rc;
	/* A retry first: it answers the same whatever happened since. */
	rc = store_loyalty_find(c->db, row.id,
				json_string_value(json_object_get(body, "reference")), &tx,
				c->dberr, sizeof(c->dberr));
	if (rc == 0) {
		rc = replay(c, &row, body, tx, ret, err);
		store_customer_row_clear(&row);
		cus_rollback(c);
		*ret_created = false;
		return rc;
	}
	if (rc != -ENOENT)
		rc = cus_store_fail(c, rc, "loyalty", err);
	else if (row.status != CUSTOMER_ACTIVE) {
		rc = customer_fail(err, -EBUSY, "invalid-state", "/status",
				   "loyalty points move only for an active customer; this one "
				   "is %s",
				   customer_state_name(row.status));
		if (err != NULL)
			snprintf(err->current_state, sizeof(err->current_state), "%s",
				 customer_state_name(row.status));
	} else {
		rc = new_balance(&row, redeem, points, &balance, err);
	}
	if (rc) {
		store_customer_row_clear(&row);
		return abort_tx(c, rc);
	}
	outbox_uuid4(tid);
	rc = store_loyalty_insert(c->db, tid, row.id, body, balance, p->subject, &tx, c->dberr,
				  sizeof(c->dberr));
	if (rc)
		rc = cus_store_fail(c, rc, "loyalty", err);
	row.balance = balance;
	rc = rc ?: touch(c, &row, err);
	rc = rc ?: cus_event(c, p, "customer", row.id, row.version,
			     redeem ? "customer.customer.loyalty_redeemed"
				    : "customer.customer.loyalty_earned",
			     json_pack("{s:s, s:s, s:I, s:O, s:I}", "customerId", row.id,
				       "transactionId", tid, "points", (json_int_t)points,
				       "reference", json_object_get(body, "reference"), "balance",
				       (json_int_t)balance),
			     err);
	store_customer_row_clear(&row);
	rc = rc ?: cus_commit(c, err);
	if (rc) {
		json_decref(tx);
		return abort_tx(c, rc);
	}
	json_object_set_new(tx, "balance", json_integer(balance));
	*ret = tx;
	*ret_created = true;
	return 0;
}

/* ---- GDPR ------------------------------------------------------------------------------- */

/* Everything about @r, read in the caller's snapshot. */
static int
gather(struct customer *c, const struct customer_row *r, json_t *out, struct customer_error *err)
{
	struct party_row party = {0};
	json_t *history = NULL, *consents = NULL, *txs = NULL, *totals = NULL, *events = NULL;
	int64_t n;
	int rc;

	rc = store_party_get(c->db, r->party_id, false, &party, c->dberr, sizeof(c->dberr));
	rc = rc ?: store_history_list(c->db, r->id, &history, c->dberr, sizeof(c->dberr));
	rc = rc ?: store_consent_list(c->db, r->id, NULL, NULL, 1000000, 0, &consents, &n,
				      c->dberr, sizeof(c->dberr));
	rc = rc ?: store_loyalty_totals(c->db, r->id, &totals, c->dberr, sizeof(c->dberr));
	rc = rc ?: store_loyalty_list(c->db, r->id, 1000000, 0, &txs, &n, c->dberr,
				      sizeof(c->dberr));
	rc = rc ?: store_events_of(c->db, r->id, r->party_id, &events, c->dberr, sizeof(c->dberr));
	if (rc == 0) {
		json_object_set_new(totals, "balance", json_integer(r->balance));
		json_object_set(totals, "history", txs);
		json_object_set(out, "customer", r->doc);
		json_object_set(out, "party", party.doc);
		json_object_set(out, "state_history", history);
		json_object_set(out, "consents", consents);
		json_object_set(out, "communication_preferences", r->prefs);
		json_object_set(out, "loyalty", totals);
		json_object_set(out, "events", events);
	}
	store_party_row_clear(&party);
	json_decref(history);
	json_decref(consents);
	json_decref(txs);
	json_decref(totals);
	json_decref(events);
	return rc ? cus_store_fail(c, rc, "export", err) : 0;
}

int
customer_export(struct customer *c, const struct cuco_principal *p, const char *id,
		json_t **ret, struct customer_error *err)
{
	struct customer_row row = {0};
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	json_t *out;
	PGresult *res;
	int rc;

	if (!customer_may(p, CUSTOMER_EXPORT, id ? id : ""))
		return cus_deny(p, CUSTOMER_EXPORT, err);
	rc = cus_begin(c, err);
	if (rc)
		return rc;
	/* One snapshot for every part. */
	res = db_exec(c->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		      c->dberr, sizeof(c->dberr), NULL);
	if (res == NULL)
		return abort_tx(c, cus_store_fail(c, -EIO, "export", err));
	PQclear(res);
	rc = cus_load(c, p, id, CUSTOMER_EXPORT, false, &row, err);
	if (rc)
		return abort_tx(c, rc);
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out = json_pack("{s:s}", "exported_at", now);
	rc = gather(c, &row, out, err);
	store_customer_row_clear(&row);
	cus_rollback(c);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*ret = out;
	return 0;
}

/* The account ids of a Customer document, for billing. */
static json_t *
account_ids(const json_t *doc)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach(json_object_get(doc, "account"), i, a)
		json_array_append(out, json_object_get(a, "id"));
	return out;
}

/* Pseudonymise the party of @r and write its event. */
static int
erase_party(struct customer *c, const struct cuco_principal *p, const struct customer_row *r,
	    const char *pseudonym, struct customer_error *err)
{
	struct party_row party = {0};
	int rc;

	rc = store_party_get(c->db, r->party_id, true, &party, c->dberr, sizeof(c->dberr));
	if (rc)
		return cus_store_fail(c, rc, "party", err);
	customer_party_doc_erase(party.kind, party.doc, pseudonym);
	rc = store_party_save(c->db, party.id, party.doc, party.version + 1, true, c->dberr,
			      sizeof(c->dberr));
	if (rc)
		rc = cus_store_fail(c, rc, "party", err);
	rc = rc ?: cus_event(c, p, "party", party.id, party.version, "customer.party.erased",
			     json_pack("{s:s, s:s}", "id", party.id, "customerId", r->id), err);
	store_party_row_clear(&party);
	return rc;
}

static json_t *
erase_answer(const struct customer_row *r)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "id", r->id, "customer_number", r->number,
			 "status", "closed", "erased", 1);
}

int
customer_erase(struct customer *c, const struct cuco_principal *p, const char *id,
	       json_t **ret, bool *ret_erased_now, struct customer_error *err)
{
	struct customer_row row = {0};
	enum customer_state from;
	char pseudonym[24];
	int rc;

	rc = cus_begin(c, err);
	rc = rc ?: cus_load(c, p, id, CUSTOMER_ERASE, true, &row, err);
	if (rc)
		return abort_tx(c, rc);
	if (row.erased) {
		cus_rollback(c);
		*ret = erase_answer(&row);
		*ret_erased_now = false;
		store_customer_row_clear(&row);
		return 0;
	}
	from = row.status;
	customer_pseudonym(row.id, pseudonym);
	customer_doc_erase(row.doc, pseudonym);
	json_object_set_new(row.doc, "status", json_string("closed"));
	json_decref(row.prefs);
	row.prefs = customer_preferences_default();
	rc = store_erase_free_text(c->db, row.id, c->dberr, sizeof(c->dberr));
	rc = rc ?: store_customer_save(c->db, row.id, row.doc, row.prefs, row.balance,
				       row.version + 1, true, c->dberr, sizeof(c->dberr));
	if (rc == 0 && from != CUSTOMER_CLOSED)
		rc = store_history_insert(c->db, row.id, row.version + 1, customer_state_name(from),
					  "closed", "erased", p->subject, c->dberr,
					  sizeof(c->dberr));
	if (rc)
		rc = cus_store_fail(c, rc, "customer", err);
	rc = rc ?: erase_party(c, p, &row, pseudonym, err);
	rc = rc ?: cus_event(c, p, "customer", row.id, row.version, "customer.customer.erased",
			     json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:[s,s,s,s,s,s]}", "id",
				       row.id, "customerNumber", row.number, "partyId",
				       row.party_id, "account", account_ids(row.doc),
				       "previousStatus", customer_state_name(from), "status",
				       "closed", "kept", "id", "customerNumber", "account",
				       "stateHistory", "consents", "loyalty"),
			     err);
	if (rc) {
		store_customer_row_clear(&row);
		return abort_tx(c, rc);
	}
	rc = cus_commit(c, err);
	if (rc == 0) {
		*ret = erase_answer(&row);
		*ret_erased_now = true;
	}
	store_customer_row_clear(&row);
	return rc;
}
