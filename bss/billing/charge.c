/* SPDX-License-Identifier: BSD-3-Clause */
/* Charges: what an activated plan's items cost from its start date, until a later plan ends them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The service of an item: its own, or the saga's mapping at activation. */
static const char *
item_service(const json_t *item, const json_t *services)
{
	const char *key = sget(item, "order_item_id");
	json_t *e;
	size_t i;

	if (outbox_uuid_valid(sget(item, "service_id")))
		return sget(item, "service_id");
	json_array_foreach(services, i, e)
		if (key && strcmp(sget(e, "order_item_id") ?: "", key) == 0 &&
		    outbox_uuid_valid(sget(e, "service_id")))
			return sget(e, "service_id");
	return NULL;
}

static int64_t
minor_of(const json_t *price, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(price, k));

	return v < 0 || v >= BILLING_MINOR_MAX ? 0 : (int64_t)v;
}

/* End the running charge of @service: a modify replaces it, a delete ceases it. */
static int
end_running(struct db *db, const char *account, const char *service, const char *start,
	    const char *plan, struct billing_error *err)
{
	const char *params[] = {account, service, start, plan};
	PGresult *res;
	int rc = 0;

	res = bill_exec(db,
			"UPDATE charges SET end_date = GREATEST($3::date, start_date), "
			"ended_by_plan = $4 WHERE account_id = $1 AND service_id = $2 AND "
			"end_date IS NULL",
			4, params, err, &rc);
	PQclear(res);
	return rc;
}

static int
insert_charge(struct db *db, const char *account, const json_t *plan, const json_t *item,
	      const char *service, const char *start, bool first, struct billing_error *err)
{
	const json_t *price = json_object_get(item, "price");
	const json_t *promo = json_object_get(price, "promotion");
	const json_t *usage = json_object_get(price, "usage");
	const char *name = sget(json_object_get(price, "offering"), "name");
	const char *cur = sget(price, "currency");
	int64_t discount = minor_of(price, "discount_minor");
	json_int_t months = json_integer_value(json_object_get(promo, "duration_months"));
	char id[37], rec[24], disc[24], pm[24], one[24], allow[24] = "", pgb[24] = "";
	PGresult *res;
	int rc = 0;

	outbox_uuid4(id);
	snprintf(rec, sizeof(rec), "%lld", (long long)minor_of(price, "recurring_minor"));
	snprintf(disc, sizeof(disc), "%lld", (long long)discount);
	/* The snapshot is month 1's price: without a duration, the discount is month 1's. */
	snprintf(pm, sizeof(pm), "%lld", discount > 0 ? (long long)(months > 0 ? months : 1) : 0LL);
	/* A speed change is no new connection: the one-off fee is a first order's. */
	snprintf(one, sizeof(one), "%lld", first ? (long long)minor_of(price, "one_time_minor") : 0LL);
	if (json_is_object(usage) && json_is_integer(json_object_get(usage, "allowance_gb"))) {
		snprintf(allow, sizeof(allow), "%lld",
			 (long long)json_integer_value(json_object_get(usage, "allowance_gb")) *
				 BILLING_GB);
		snprintf(pgb, sizeof(pgb), "%lld", (long long)minor_of(usage, "per_gb_minor"));
	}
	{
		const char *params[] = {id,
					account,
					sget(plan, "plan_id"),
					sget(item, "order_item_id"),
					service,
					sget(item, "offering_id") ?: "",
					name ? name : sget(item, "offering_id") ?: "service",
					billing_currency_digits(cur) >= 0 ? cur : "EUR",
					rec,
					disc,
					pm,
					sget(promo, "name"),
					one,
					json_is_object(usage) ? allow : NULL,
					json_is_object(usage) ? pgb : NULL,
					start};

		res = bill_exec(db,
				"INSERT INTO charges (id, account_id, plan_id, order_item_id, "
				"service_id, offering_id, name, currency, recurring_minor, "
				"discount_minor, promo_months, promotion, one_time_minor, "
				"allowance_bytes, per_gb_minor, start_date) VALUES ($1, $2, $3, $4, "
				"$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
				"ON CONFLICT (plan_id, order_item_id) DO NOTHING",
				16, params, err, &rc);
	}
	PQclear(res);
	return rc;
}

int
bill_charges_from_plan(struct db *db, const struct billing_config *cfg,
		       const struct cuco_principal *p, const json_t *plan, const json_t *services,
		       struct billing_error *err)
{
	const char *customer = sget(plan, "customer_id");
	const json_t *items = json_object_get(plan, "items"), *item;
	char account[37], start[11];
	int32_t day;
	size_t i;
	int rc;

	if (billing_date_parse(sget(plan, "start_date"), &day) < 0)
		day = bill_today();
	billing_date_format(day, start);
	rc = bill_account_ensure(db, p, cfg, customer, day,
				 sget(json_object_get(json_array_get(items, 0), "price"), "currency"),
				 account, err);
	json_array_foreach(items, i, item) {
		const char *action = sget(item, "action") ?: "";
		const char *svc = item_service(item, services);

		if (rc < 0)
			break;
		if (strcmp(action, "add") != 0 && svc != NULL)
			rc = end_running(db, account, svc, start, sget(plan, "plan_id"), err);
		if (rc == 0 && strcmp(action, "delete") != 0)
			rc = insert_charge(db, account, plan, item, svc, start,
					   strcmp(action, "add") == 0, err);
	}
	return rc;
}

int
bill_charges_undo(struct db *db, const char *plan_id, struct billing_error *err)
{
	const char *params[] = {plan_id};
	PGresult *res;
	int rc = 0;

	/* Charges already invoiced stay: what was billed is corrected by credit note. */
	res = bill_exec(db,
			"WITH gone AS (DELETE FROM charges c WHERE plan_id = $1 AND NOT EXISTS "
			"(SELECT 1 FROM invoice_lines l WHERE l.charge_id = c.id)) "
			"UPDATE charges SET end_date = NULL, ended_by_plan = NULL WHERE "
			"ended_by_plan = $1",
			1, params, err, &rc);
	PQclear(res);
	return rc;
}
