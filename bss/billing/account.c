/* SPDX-License-Identifier: BSD-3-Clause */
/* Billing accounts (TMF666 BillingAccount): opened with a customer's first plan or by request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

#define ACCOUNT_DOC "SELECT account_doc(a) FROM accounts a"

static json_t *
account_event(const char *id, const char *customer, const char *cycle, unsigned day,
	      const char *currency, unsigned terms, const char *name)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s}", "account_id", id, "customer_id",
			 customer, "cycle", cycle, "cycle_day", (int)day, "currency", currency,
			 "payment_terms_days", (int)terms, "name", name);
}

static int
account_insert(struct db *db, const struct cuco_principal *p, const char *id,
	       const char *customer, const char *name, bool anniversary, unsigned day,
	       const char *currency, unsigned terms, struct billing_error *err)
{
	const char *cycle = anniversary ? "anniversary" : "calendar";
	char sday[8], sterms[8];
	PGresult *res;
	int rc = 0;

	snprintf(sday, sizeof(sday), "%u", anniversary ? day : 1);
	snprintf(sterms, sizeof(sterms), "%u", terms);
	{
		const char *params[] = {id, customer, name, cycle, sday, currency, sterms};

		res = bill_exec(db,
				"INSERT INTO accounts (id, customer_id, name, cycle, cycle_day, "
				"currency, payment_terms_days) VALUES ($1, $2, $3, $4, $5, $6, $7)",
				7, params, err, &rc);
	}
	if (res == NULL)
		return rc == -EEXIST ? bill_fail(err, -EEXIST, "conflict", "/relatedParty",
						 "customer %s already has a billing account",
						 customer)
				     : rc;
	PQclear(res);
	return bill_event(db, p, "account", id, OUTBOX_NEW_AGGREGATE, "billing.account.created",
			  account_event(id, customer, cycle, anniversary ? day : 1, currency, terms,
					name),
			  err);
}

int
bill_account_ensure(struct db *db, const struct cuco_principal *p,
		    const struct billing_config *cfg, const char *customer_id, int32_t start,
		    const char *currency, char ret_id[37], struct billing_error *err)
{
	const char *params[] = {customer_id};
	unsigned y_m_d[2], day;
	PGresult *res;
	int rc = 0, y;

	res = bill_exec(db, "SELECT id FROM accounts WHERE customer_id = $1", 1, params, err, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1) {
		snprintf(ret_id, 37, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		return 0;
	}
	PQclear(res);
	billing_ymd(start, &y, &y_m_d[0], &y_m_d[1]);
	day = y_m_d[1] > 28 ? 28 : y_m_d[1];
	outbox_uuid4(ret_id);
	return account_insert(db, p, ret_id, customer_id, "billing account", cfg->anniversary, day,
			      currency && billing_currency_digits(currency) >= 0 ? currency
										 : cfg->currency,
			      cfg->payment_terms_days, err);
}

/* The customer of a TMF relatedParty array: the one with role customer, or the only one. */
static const char *
party_customer(const json_t *parties)
{
	const char *id = NULL;
	json_t *e;
	size_t i;

	json_array_foreach(parties, i, e) {
		const char *role = json_string_value(json_object_get(e, "role"));

		if (role == NULL || strcasecmp(role, "customer") == 0)
			id = json_string_value(json_object_get(e, "id"));
	}
	return id;
}

static int
cycle_of_body(const json_t *body, const struct billing_config *cfg, bool *ret_anniv,
	      unsigned *ret_day, struct billing_error *err)
{
	const json_t *cs = json_object_get(json_object_get(body, "billStructure"),
					   "cycleSpecification");
	const char *name = json_string_value(json_object_get(cs, "name"));
	const json_t *day = json_object_get(cs, "x-cycleDay");

	*ret_anniv = name ? strcmp(name, "anniversary") == 0 : cfg->anniversary;
	if (name && strcmp(name, "anniversary") != 0 && strcmp(name, "calendar") != 0)
		return bill_fail(err, -EINVAL, "invalid-argument",
				 "/billStructure/cycleSpecification/name",
				 "billStructure/cycleSpecification/name: calendar or anniversary, "
				 "not '%s'", name);
	*ret_day = 1;
	if (day != NULL) {
		if (!json_is_integer(day) || json_integer_value(day) < 1 ||
		    json_integer_value(day) > 28 || (!*ret_anniv && json_integer_value(day) != 1))
			return bill_fail(err, -EINVAL, "invalid-argument",
					 "/billStructure/cycleSpecification/x-cycleDay",
					 "billStructure/cycleSpecification/x-cycleDay: 1 to 28 for "
					 "anniversary cycles, 1 for calendar ones");
		*ret_day = (unsigned)json_integer_value(day);
	} else if (*ret_anniv) {
		unsigned m, d;
		int y;

		billing_ymd(bill_today(), &y, &m, &d);
		*ret_day = d > 28 ? 28 : d;
	}
	return 0;
}

static int
terms_of_body(const json_t *body, unsigned dflt, unsigned *ret, struct billing_error *err)
{
	const json_t *t = json_object_get(json_array_get(json_object_get(body, "paymentPlan"), 0),
					  "x-paymentTermsDays");

	*ret = dflt;
	if (t == NULL)
		return 0;
	if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 365)
		return bill_fail(err, -EINVAL, "invalid-argument", "/paymentPlan/0/x-paymentTermsDays",
				 "paymentPlan/0/x-paymentTermsDays: whole days from 0 to 365");
	*ret = (unsigned)json_integer_value(t);
	return 0;
}

int
billing_account_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
		       json_t **ret, struct billing_error *err)
{
	const char *customer = party_customer(json_object_get(body, "relatedParty"));
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *cur = json_string_value(json_object_get(body, "x-currency"));
	unsigned day, terms;
	bool anniv;
	char id[37];
	int rc;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(customer))
		return bill_fail(err, -EINVAL, "invalid-argument", "/relatedParty",
				 "relatedParty: the customer's id (a lowercase UUID) is required");
	if (cur != NULL && billing_currency_digits(cur) < 0)
		return bill_fail(err, -EINVAL, "invalid-argument", "/x-currency",
				 "x-currency: an ISO 4217 code (EUR), not '%s'", cur);
	rc = cycle_of_body(body, &b->cfg, &anniv, &day, err);
	rc = rc ?: terms_of_body(body, b->cfg.payment_terms_days, &terms, err);
	if (rc < 0)
		return rc;
	outbox_uuid4(id);
	rc = bill_begin(b->db, err);
	rc = rc ?: account_insert(b->db, p, id, customer, name ? name : "billing account", anniv,
				  day, cur ? cur : b->cfg.currency, terms, err);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	return billing_account_get(b, p, id, ret, err);
}

int
billing_account_get(struct billing *b, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct billing_error *err)
{
	return bill_own_doc(b, p, "billing account", id,
			    ACCOUNT_DOC " WHERE id = $1 AND ($2::uuid IS NULL OR customer_id = $2)",
			    ret, err);
}

int
billing_account_list(struct billing *b, const struct cuco_principal *p,
		     const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		     struct billing_error *err)
{
	const char *params[] = {bill_own_customer(p), f->customer_id, f->state, NULL, NULL};

	if (!bill_may_read(p))
		return bill_deny(p, err);
	if (f->customer_id && !outbox_uuid_valid(f->customer_id)) {
		*ret = json_array();
		*ret_total = 0;
		return 0;
	}
	return bill_page(b->db,
			 "SELECT account_doc(a), count(*) OVER () FROM accounts a WHERE "
			 "($1::uuid IS NULL OR customer_id = $1) AND ($2::uuid IS NULL OR "
			 "customer_id = $2) AND ($3::text IS NULL OR state = $3) "
			 "ORDER BY created_at DESC, id LIMIT $4 OFFSET $5",
			 5, params, f, ret, ret_total, err);
}

int
billing_account_update(struct billing *b, const struct cuco_principal *p, const char *id,
		       const json_t *body, const char *if_match, json_t **ret,
		       struct billing_error *err)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *state = json_string_value(json_object_get(body, "state"));
	char sterms[8], ver[24];
	unsigned terms;
	PGresult *res;
	int rc;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(id))
		return bill_fail(err, -ENOENT, "not-found", "", "billing account %s: not found", id);
	if (state && strcmp(state, "active") != 0 && strcmp(state, "closed") != 0)
		return bill_fail(err, -EINVAL, "invalid-argument", "/state",
				 "state: active or closed (suspension is dunning's)");
	rc = terms_of_body(body, 0, &terms, err);
	if (rc < 0)
		return rc;
	snprintf(sterms, sizeof(sterms), "%u", terms);
	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	{
		const char *params[] = {id, name, json_object_get(json_array_get(json_object_get(
					body, "paymentPlan"), 0), "x-paymentTermsDays") ? sterms : NULL,
					state, if_match};

		res = bill_exec(b->db,
				"UPDATE accounts SET name = COALESCE($2, name), payment_terms_days = "
				"COALESCE($3::int, payment_terms_days), state = CASE WHEN $4::text "
				"IS NULL OR state = 'suspended' THEN state ELSE $4 END, version = "
				"version + 1, updated_at = now() WHERE id = $1 AND ($5::text IS NULL "
				"OR version::text = $5) RETURNING version, customer_id, state",
				5, params, err, &rc);
	}
	if (res != NULL && PQntuples(res) == 0) {
		const char *params[] = {id};

		PQclear(res);
		res = bill_exec(b->db, "SELECT 1 FROM accounts WHERE id = $1", 1, params, err, &rc);
		rc = res && PQntuples(res) ? bill_fail(err, -ESTALE, "stale-version", "",
						       "billing account %s changed: If-Match %s",
						       id, if_match)
					   : bill_fail(err, -ENOENT, "not-found", "",
						       "billing account %s: not found", id);
		PQclear(res);
		bill_rollback(b->db);
		return rc;
	}
	if (res == NULL) {
		bill_rollback(b->db);
		return rc;
	}
	snprintf(ver, sizeof(ver), "%s", PQgetvalue(res, 0, 0));
	rc = bill_event(b->db, p, "account", id, strtoll(ver, NULL, 10) - 1,
			"billing.account.updated",
			json_pack("{s:s, s:s, s:s}", "account_id", id, "customer_id",
				  PQgetvalue(res, 0, 1), "state", PQgetvalue(res, 0, 2)),
			err);
	PQclear(res);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	return billing_account_get(b, p, id, ret, err);
}
