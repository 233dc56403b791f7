/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a subscription costs: an offering's prices at a date, the promotions
 * that apply, month by month. Pure; works on an offering's denormalised
 * document (the read model's, which is also the snapshot billing keeps).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/catalog/model.h"

bool
catalog_offering_orderable(const json_t *doc, int64_t at_us)
{
	const char *status = json_string_value(json_object_get(doc, "lifecycleStatus"));

	return status != NULL && strcmp(status, "Active") == 0 &&
	       !json_is_false(json_object_get(doc, "isSellable")) &&
	       catalog_valid_at(json_object_get(doc, "validFor"), at_us);
}

bool
catalog_promotion_applies(const json_t *promo, const char *offering_id, int64_t at_us,
			  unsigned month)
{
	const char *from = json_string_value(json_object_get(promo, "valid_from"));
	const char *to = json_string_value(json_object_get(promo, "valid_to"));
	json_int_t months = json_integer_value(json_object_get(promo, "duration_months"));
	bool named = false;
	int64_t t;
	size_t i;
	json_t *v;

	json_array_foreach (json_object_get(promo, "offering_ids"), i, v)
		named |= offering_id != NULL && json_is_string(v) &&
			 strcmp(json_string_value(v), offering_id) == 0;
	if (!named || month < 1 || (json_int_t)month > months)
		return false;
	/* The window is when the subscription is made: [valid_from, valid_to). */
	if (from == NULL || catalog_time_parse(from, false, &t) < 0 || at_us < t)
		return false;
	if (to != NULL && (catalog_time_parse(to, false, &t) < 0 || at_us >= t))
		return false;
	return true;
}

int64_t
catalog_promotion_discount(const json_t *promo, int64_t recurring, const char *currency)
{
	const char *kind = json_string_value(json_object_get(promo, "kind"));
	int64_t d = 0;

	if (kind == NULL || recurring <= 0)
		return 0;
	if (strcmp(kind, "percentage") == 0) {
		json_int_t pct = json_integer_value(json_object_get(promo, "percentage"));

		/* recurring <= 10^11 and pct <= 100: no overflow. Half up. */
		if (pct > 0 && pct <= 100)
			d = (recurring * pct + 50) / 100;
	} else if (strcmp(kind, "amount") == 0) {
		const char *cur = json_string_value(json_object_get(promo, "currency"));

		if (cur != NULL && currency != NULL && strcmp(cur, currency) == 0)
			d = json_integer_value(json_object_get(promo, "amount_minor"));
	}
	if (d < 0)
		d = 0;
	return d > recurring ? recurring : d;
}

/* Whether promotion @a should win over @b at an equal discount: the earlier one. */
static bool
earlier(const json_t *a, const json_t *b)
{
	int c = strcmp(json_string_value(json_object_get(a, "valid_from")) ?: "",
		       json_string_value(json_object_get(b, "valid_from")) ?: "");

	if (c != 0)
		return c < 0;
	return strcmp(json_string_value(json_object_get(a, "id")) ?: "",
		      json_string_value(json_object_get(b, "id")) ?: "") < 0;
}

int
catalog_price_at(const json_t *doc, int64_t at_us, unsigned month, json_t **ret,
		 struct catalog_error *err)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *currency = NULL;
	int64_t recurring = 0, one_time = 0, discount = 0;
	const json_t *best = NULL, *usage = NULL;
	json_t *prices = json_array(), *e;
	char at[32];
	size_t i;

	if (month < 1 || month > CATALOG_MONTHS_MAX * 10) {
		json_decref(prices);
		return catalog_fail(err, -EINVAL, "invalid-argument", "month",
				    "month: must be from 1 (the first month) to %d",
				    CATALOG_MONTHS_MAX * 10);
	}
	json_array_foreach (json_object_get(doc, "productOfferingPrice"), i, e) {
		const char *unit =
			json_string_value(json_object_get(json_object_get(e, "price"), "unit"));
		const char *type = json_string_value(json_object_get(e, "priceType"));
		json_int_t minor = json_integer_value(json_object_get(e, "x-minorUnits"));

		if (unit == NULL || type == NULL ||
		    !catalog_valid_at(json_object_get(e, "validFor"), at_us))
			continue;
		if (currency != NULL && strcmp(currency, unit) != 0) {
			json_decref(prices);
			return catalog_fail(err, -EINVAL, "invalid-argument", "at",
					    "offering %s has prices in %s and %s at that date", id,
					    currency, unit);
		}
		currency = unit;
		if (strcmp(type, "usage") == 0) {
			/* One price per GB beyond one allowance: two would not say which. */
			if (usage != NULL) {
				json_decref(prices);
				return catalog_fail(err, -EINVAL, "invalid-argument", "at",
						    "offering %s has two usage prices at that date",
						    id);
			}
			usage = e;
		} else if (strcmp(type, "recurring") == 0) {
			recurring += minor;
		} else {
			one_time += minor;
		}
		json_array_append_new(prices,
				      json_string(json_string_value(json_object_get(e, "id"))));
	}
	if (currency == NULL) {
		json_decref(prices);
		return catalog_fail(err, -EINVAL, "invalid-argument", "at",
				    "offering %s has no price valid at that date", id);
	}
	/* Promotions do not stack: the best one for the customer wins. */
	json_array_foreach (json_object_get(doc, "x-promotions"), i, e) {
		int64_t d;

		if (!catalog_promotion_applies(e, id, at_us, month))
			continue;
		d = catalog_promotion_discount(e, recurring, currency);
		if (d > 0 && (d > discount || (d == discount && best && earlier(e, best)))) {
			discount = d;
			best = e;
		}
	}
	if (month != 1)
		one_time = 0;
	catalog_time_format(at_us, at);
	*ret = json_pack(
		"{s:{s:s?, s:s?}, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "offering", "id",
		id, "name", json_string_value(json_object_get(doc, "name")), "at", at, "month",
		(int)month, "currency", currency, "recurring_minor", (json_int_t)recurring,
		"one_time_minor", (json_int_t)one_time, "discount_minor", (json_int_t)discount,
		"total_minor", (json_int_t)(recurring - discount + one_time), "promotion",
		/* Its duration: billing applies the discount for as many cycles. */
		best ? json_pack("{s:s?, s:s?, s:I}", "id",
				 json_string_value(json_object_get(best, "id")), "name",
				 json_string_value(json_object_get(best, "name")), "duration_months",
				 json_integer_value(json_object_get(best, "duration_months")))
		     : json_null(),
		"prices", prices);
	/* Usage beyond the allowance, per GB (billing rates it with the cycle). */
	if (*ret != NULL && usage != NULL)
		json_object_set_new(
			*ret, "usage",
			json_pack("{s:I, s:I}", "allowance_gb",
				  json_integer_value(json_object_get(usage, "x-allowanceGB")),
				  "per_gb_minor",
				  json_integer_value(json_object_get(usage, "x-minorUnits"))));
	if (*ret == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	return 0;
}
