/* SPDX-License-Identifier: BSD-3-Clause */
/* The catalog domain's pure rules (bss/catalog/model.h), without a database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bss/catalog/model.h"

#define OFFER "0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11"
#define SPEC "1b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11"
#define PRICE "2b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11"

static json_t *
J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return j;
}

static int64_t
T(const char *s)
{
	int64_t us;

	assert_int_equal(catalog_time_parse(s, true, &us), 0);
	return us;
}

static void
test_lifecycle(void **state)
{
	enum catalog_status s;

	assert_true(catalog_transition_allowed(CATALOG_IN_DESIGN, CATALOG_ACTIVE));
	assert_true(catalog_transition_allowed(CATALOG_ACTIVE, CATALOG_RETIRED));
	assert_true(catalog_transition_allowed(CATALOG_ACTIVE, CATALOG_ACTIVE));
	assert_false(catalog_transition_allowed(CATALOG_IN_DESIGN, CATALOG_RETIRED));
	assert_false(catalog_transition_allowed(CATALOG_ACTIVE, CATALOG_IN_DESIGN));
	assert_false(catalog_transition_allowed(CATALOG_RETIRED, CATALOG_ACTIVE));
	assert_int_equal(catalog_status_parse("In Design", &s), 0);
	assert_int_equal(s, CATALOG_IN_DESIGN);
	assert_int_equal(catalog_status_parse("Launched", &s), -EINVAL);
	assert_int_equal(catalog_status_parse("active", &s), -EINVAL);
}

static void
test_roles(void **state)
{
	struct cuco_principal p = {.roles = CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE)};

	assert_true(catalog_may_read(&p));
	assert_false(catalog_may_write(&p));
	p.roles = CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR);
	assert_true(catalog_may_write(&p));
	p.roles = 0;
	assert_false(catalog_may_read(&p));
}

static void
test_times(void **state)
{
	int64_t us;
	char buf[32];

	assert_int_equal(catalog_time_parse("2027-01-15T10:00:00Z", false, &us), 0);
	catalog_time_format(us, buf);
	assert_string_equal(buf, "2027-01-15T10:00:00.000Z");
	assert_int_equal(catalog_time_parse("2027-01-15T12:00:00.250+02:00", false, &us), 0);
	catalog_time_format(us, buf);
	assert_string_equal(buf, "2027-01-15T10:00:00.250Z");
	assert_int_equal(T("2028-02-29"), T("2028-02-29T00:00:00Z"));
	assert_int_equal(catalog_time_parse("2027-02-29", true, &us), -EINVAL);
	assert_int_equal(catalog_time_parse("2027-01-15", false, &us), -EINVAL);
	assert_int_equal(catalog_time_parse("2027-01-15T10:00:00", false, &us), -EINVAL);
	assert_int_equal(catalog_time_parse("2027-13-01", true, &us), -EINVAL);
	assert_int_equal(catalog_time_parse("tomorrow", true, &us), -EINVAL);
	assert_int_equal(catalog_time_parse("2027-01-15T10:00:00Zjunk", false, &us), -EINVAL);
}

static void
test_money(void **state)
{
	int64_t m;

	assert_int_equal(catalog_currency_exponent("EUR"), 2);
	assert_int_equal(catalog_currency_exponent("JPY"), 0);
	assert_int_equal(catalog_currency_exponent("KWD"), 3);
	assert_int_equal(catalog_currency_exponent("eur"), -EINVAL);
	assert_int_equal(catalog_currency_exponent("EURO"), -EINVAL);
	assert_int_equal(catalog_money_to_minor(29.9, "EUR", &m), 0);
	assert_int_equal(m, 2990);
	assert_int_equal(catalog_money_to_minor(0.1 + 0.2, "EUR", &m), 0);
	assert_int_equal(m, 30);
	assert_int_equal(catalog_money_to_minor(1234567.89, "EUR", &m), 0);
	assert_int_equal(m, 123456789);
	assert_int_equal(catalog_money_to_minor(29.905, "EUR", &m), -EINVAL);
	assert_int_equal(catalog_money_to_minor(1.5, "JPY", &m), -EINVAL);
	assert_int_equal(catalog_money_to_minor(1.005, "KWD", &m), 0);
	assert_int_equal(m, 1005);
	assert_int_equal(catalog_money_to_minor(-1, "EUR", &m), -EINVAL);
	assert_int_equal(catalog_money_to_minor(1e10, "EUR", &m), -EINVAL);
	assert_true(catalog_money_value(2990, "EUR") == 29.9);
}

static void
test_profile_meters(void **state)
{
	struct catalog_error e = {0};
	json_t *up = J("{\"cir\": 1000, \"pir\": 2000, \"cbs\": 10, \"pbs\": 20}");
	json_t *down = J("{\"mode\": \"rfc4115\", \"cir\": 1000, \"eir\": 500, \"cbs\": 10, "
			 "\"ebs\": 5, \"yellow\": \"remark:46\", \"shape\": true}");
	json_t *bad = J("{\"cir\": 2000, \"pir\": 1000, \"cbs\": 10, \"pbs\": 20}");
	json_t *shape_up = J("{\"cir\": 1, \"pir\": 1, \"cbs\": 1, \"pbs\": 1, \"shape\": true}");
	json_t *ru = NULL, *rd = NULL, *want;

	assert_int_equal(catalog_profile_meters("gold", up, down, &ru, &rd, &e), 0);
	want = J("{\"mode\": \"rfc2698\", \"cir\": 1000, \"pir\": 2000, \"cbs\": 10, \"pbs\": 20, "
		 "\"green\": \"forward\", \"yellow\": \"forward\", \"red\": \"drop\", "
		 "\"shape\": false}");
	assert_true(json_equal(ru, want));
	assert_string_equal(json_string_value(json_object_get(rd, "yellow")), "remark:46");
	assert_int_equal(json_integer_value(json_object_get(rd, "eir")), 500);
	json_decref(want);
	json_decref(ru);
	json_decref(rd);
	assert_int_equal(catalog_profile_meters("gold", bad, down, &ru, &rd, &e), -EINVAL);
	assert_string_equal(e.field, "/up/pir");
	assert_int_equal(catalog_profile_meters("gold", shape_up, down, &ru, &rd, &e), -EINVAL);
	assert_string_equal(e.field, "/up/shape");
	assert_int_equal(catalog_profile_meters("gold", up, NULL, &ru, &rd, &e), -EINVAL);
	assert_string_equal(e.field, "/down");
	json_decref(up);
	json_decref(down);
	json_decref(bad);
	json_decref(shape_up);
}

static void
test_normalize_price(void **state)
{
	struct catalog_error e = {0};
	json_t *in, *out = NULL;

	in = J("{\"name\": \"Monthly\", \"priceType\": \"recurring\", "
	       "\"price\": {\"unit\": \"EUR\", \"value\": 29.9}}");
	assert_int_equal(catalog_normalize(CATALOG_PRICE, in, true, &out, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "x-minorUnits")), 2990);
	assert_null(json_object_get(json_object_get(out, "price"), "value"));
	assert_string_equal(json_string_value(json_object_get(out, "lifecycleStatus")),
			    "In Design");
	assert_string_equal(json_string_value(json_object_get(out, "recurringChargePeriodType")),
			    "month");
	catalog_answer(CATALOG_PRICE, out, 0);
	assert_true(json_real_value(json_object_get(json_object_get(out, "price"), "value")) ==
		    29.9);
	json_decref(out);
	json_decref(in);
	/* a patch of the value drops the stored minor units */
	in = J("{\"name\": \"Monthly\", \"priceType\": \"recurring\", \"lifecycleStatus\": "
	       "\"In Design\", \"price\": {\"unit\": \"EUR\"}, \"x-minorUnits\": 2990}");
	{
		json_t *patch = J("{\"price\": {\"value\": 35}}"), *merged;

		catalog_patch_prepare(CATALOG_PRICE, in, patch);
		merged = catalog_merge_patch(in, patch);
		assert_int_equal(catalog_normalize(CATALOG_PRICE, merged, false, &out, &e), 0);
		assert_int_equal(json_integer_value(json_object_get(out, "x-minorUnits")), 3500);
		json_decref(out);
		json_decref(merged);
		json_decref(patch);
	}
	json_decref(in);
	in = J("{\"name\": \"Fee\", \"priceType\": \"oneTime\", \"recurringChargePeriodType\": "
	       "\"month\", \"price\": {\"unit\": \"EUR\", \"value\": 1}}");
	assert_int_equal(catalog_normalize(CATALOG_PRICE, in, true, &out, &e), -EINVAL);
	assert_string_equal(e.field, "/recurringChargePeriodType");
	json_decref(in);
	in = J("{\"name\": \"P\", \"priceType\": \"recurring\", \"lifecycleStatus\": \"Active\", "
	       "\"price\": {\"unit\": \"EUR\", \"value\": 1}}");
	assert_int_equal(catalog_normalize(CATALOG_PRICE, in, true, &out, &e), -EINVAL);
	assert_string_equal(e.field, "/lifecycleStatus");
	json_decref(in);
}

static void
test_normalize_refs_and_unknown(void **state)
{
	struct catalog_error e = {0};
	struct catalog_ref refs[8];
	json_t *in, *out = NULL;
	size_t n;

	in = J("{\"name\": \"O\", \"productSpecification\": {\"id\": \"" SPEC "\", \"name\": "
	       "\"echoed\"}, \"productOfferingPrice\": [{\"id\": \"" PRICE "\"}]}");
	assert_int_equal(catalog_normalize(CATALOG_OFFERING, in, true, &out, &e), 0);
	assert_null(json_object_get(json_object_get(out, "productSpecification"), "name"));
	assert_int_equal(catalog_refs(CATALOG_OFFERING, out, refs, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(refs[0].attr, "productSpecification");
	assert_int_equal(refs[0].target, CATALOG_SPECIFICATION);
	assert_string_equal(refs[1].field, "/productOfferingPrice/0");
	assert_true(json_is_true(json_object_get(out, "isSellable")));
	json_decref(out);
	json_decref(in);
	in = J("{\"name\": \"O\", \"lastUpdate\": \"2027-01-01T00:00:00Z\"}");
	assert_int_equal(catalog_normalize(CATALOG_OFFERING, in, true, &out, &e), -EINVAL);
	assert_string_equal(e.field, "/lastUpdate");
	json_decref(in);
	in = J("{\"name\": \"O\", \"productOfferingPrice\": [{\"id\": \"" PRICE "\"}, "
	       "{\"id\": \"" PRICE "\"}]}");
	assert_int_equal(catalog_normalize(CATALOG_OFFERING, in, true, &out, &e), -EINVAL);
	assert_string_equal(e.field, "/productOfferingPrice/1");
	json_decref(in);
}

static void
test_merge_patch_rfc7396(void **state)
{
	/* RFC 7396 appendix A, a few of its cases. */
	static const char *const cases[][3] = {
		{"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
		{"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
		{"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
		{"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
		 "{\"a\":{\"b\":\"d\"}}"},
		{"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *t = J(cases[i][0]), *p = J(cases[i][1]), *want = J(cases[i][2]);
		json_t *got = catalog_merge_patch(t, p);

		assert_true(json_equal(got, want));
		json_decref(t);
		json_decref(p);
		json_decref(want);
		json_decref(got);
	}
}

static void
test_changes_frozen(void **state)
{
	json_t *a = J("{\"name\": \"x\", \"description\": \"d\", \"lifecycleStatus\": \"Active\"}");
	json_t *b = J("{\"name\": \"x\", \"lifecycleStatus\": \"Retired\"}");
	json_t *c = J("{\"name\": \"y\", \"lifecycleStatus\": \"Active\"}");
	json_t *ch = catalog_changes(a, b);
	const char *name = NULL;

	assert_int_equal(json_array_size(ch), 2);
	assert_true(catalog_changes_frozen_ok(ch, &name));
	json_decref(ch);
	ch = catalog_changes(a, c);
	assert_false(catalog_changes_frozen_ok(ch, &name));
	assert_string_equal(name, "name");
	json_decref(ch);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void
test_activation(void **state)
{
	struct catalog_error e = {0};
	json_t *body = J("{\"productSpecification\": {\"id\": \"" SPEC "\"}, "
			 "\"productOfferingPrice\": [{\"id\": \"" PRICE "\"}]}");
	json_t *pbody = J("{\"price\": {\"unit\": \"EUR\"}}");
	struct catalog_target t[2] = {
		{.id = SPEC, .kind = CATALOG_SPECIFICATION, .name = "s", .lifecycle = "Active"},
		{.id = PRICE,
		 .kind = CATALOG_PRICE,
		 .name = "p",
		 .lifecycle = "In Design",
		 .body = pbody},
	};

	assert_int_equal(catalog_offering_activation_check(body, t, 2, &e), -EBUSY);
	assert_string_equal(e.code, "illegal-transition");
	assert_string_equal(e.current, "In Design");
	t[1].lifecycle = "Active";
	assert_int_equal(catalog_offering_activation_check(body, t, 2, &e), 0);
	assert_int_equal(catalog_offering_activation_check(body, t, 1, &e), -EBUSY);
	json_decref(body);
	json_decref(pbody);
}

/* An offering document as the read model keeps it. */
static json_t *
offering_doc(void)
{
	return J("{\"id\": \"" OFFER "\", \"name\": \"Fibre\", \"lifecycleStatus\": \"Active\", "
		 "\"validFor\": {\"startDateTime\": \"2026-01-01T00:00:00.000Z\"}, "
		 "\"productOfferingPrice\": ["
		 " {\"id\": \"a\", \"priceType\": \"recurring\", \"price\": {\"unit\": \"EUR\"}, "
		 "  \"x-minorUnits\": 2999},"
		 " {\"id\": \"b\", \"priceType\": \"oneTime\", \"price\": {\"unit\": \"EUR\"}, "
		 "  \"x-minorUnits\": 4900},"
		 " {\"id\": \"c\", \"priceType\": \"recurring\", \"price\": {\"unit\": \"EUR\"}, "
		 "  \"x-minorUnits\": 1000, \"validFor\": {\"startDateTime\": "
		 "\"2028-01-01T00:00:00.000Z\"}}],"
		 "\"x-promotions\": ["
		 " {\"id\": \"p1\", \"name\": \"25%\", \"kind\": \"percentage\", \"percentage\": "
		 "25, "
		 "  \"duration_months\": 3, \"valid_from\": \"2027-01-01T00:00:00.000Z\", "
		 "  \"valid_to\": \"2027-02-01T00:00:00.000Z\", \"offering_ids\": [\"" OFFER "\"]},"
		 " {\"id\": \"p2\", \"name\": \"5 EUR\", \"kind\": \"amount\", \"amount_minor\": "
		 "500, "
		 "  \"currency\": \"EUR\", \"duration_months\": 12, "
		 "  \"valid_from\": \"2027-01-15T00:00:00.000Z\", \"offering_ids\": [\"" OFFER
		 "\"]},"
		 " {\"id\": \"p3\", \"name\": \"USD\", \"kind\": \"amount\", \"amount_minor\": "
		 "9999, "
		 "  \"currency\": \"USD\", \"duration_months\": 12, "
		 "  \"valid_from\": \"2020-01-01T00:00:00.000Z\", \"offering_ids\": [\"" OFFER
		 "\"]}]}");
}

static json_int_t
I(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
test_promotions(void **state)
{
	json_t *doc = offering_doc();
	json_t *p1 = json_array_get(json_object_get(doc, "x-promotions"), 0);
	json_t *p2 = json_array_get(json_object_get(doc, "x-promotions"), 1);

	/* window [from, to), by the date the subscription is made; duration in months */
	assert_false(catalog_promotion_applies(p1, OFFER, T("2026-12-31T23:59:59Z"), 1));
	assert_true(catalog_promotion_applies(p1, OFFER, T("2027-01-01"), 1));
	assert_true(catalog_promotion_applies(p1, OFFER, T("2027-01-31T23:59:59Z"), 3));
	assert_false(catalog_promotion_applies(p1, OFFER, T("2027-01-31"), 4));
	assert_false(catalog_promotion_applies(p1, OFFER, T("2027-02-01"), 1));
	assert_false(catalog_promotion_applies(p1, "another", T("2027-01-10"), 1));
	assert_false(catalog_promotion_applies(p1, OFFER, T("2027-01-10"), 0));
	/* 25% of 29.99 is 7.4975: half up to 7.50 */
	assert_int_equal(catalog_promotion_discount(p1, 2999, "EUR"), 750);
	assert_int_equal(catalog_promotion_discount(p2, 2999, "EUR"), 500);
	assert_int_equal(catalog_promotion_discount(p2, 300, "EUR"), 300);
	assert_int_equal(catalog_promotion_discount(p2, 2999, "USD"), 0);
	json_decref(doc);
}

static void
test_price_at(void **state)
{
	struct catalog_error e = {0};
	json_t *doc = offering_doc(), *r = NULL;

	/* before any promotion: monthly + set-up fee in month 1 (the USD one does not apply) */
	assert_int_equal(catalog_price_at(doc, T("2026-06-01"), 1, &r, &e), 0);
	assert_int_equal(I(r, "recurring_minor"), 2999);
	assert_int_equal(I(r, "one_time_minor"), 4900);
	assert_int_equal(I(r, "discount_minor"), 0);
	assert_int_equal(I(r, "total_minor"), 7899);
	assert_true(json_is_null(json_object_get(r, "promotion")));
	json_decref(r);
	assert_int_equal(catalog_price_at(doc, T("2026-06-01"), 2, &r, &e), 0);
	assert_int_equal(I(r, "total_minor"), 2999);
	json_decref(r);
	/* both apply on 20 January: the better one, not both */
	assert_int_equal(catalog_price_at(doc, T("2027-01-20"), 2, &r, &e), 0);
	assert_int_equal(I(r, "discount_minor"), 750);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "promotion"), "id")), "p1");
	json_decref(r);
	/* month 5: p1 is over, p2 goes on */
	assert_int_equal(catalog_price_at(doc, T("2027-01-20"), 5, &r, &e), 0);
	assert_int_equal(I(r, "discount_minor"), 500);
	json_decref(r);
	/* 2028: a second monthly price is valid */
	assert_int_equal(catalog_price_at(doc, T("2028-03-01"), 2, &r, &e), 0);
	assert_int_equal(I(r, "recurring_minor"), 3999);
	assert_int_equal(json_array_size(json_object_get(r, "prices")), 3);
	json_decref(r);
	/* a usage price: per GB beyond an allowance, in the snapshot, not in the total */
	json_array_append_new(json_object_get(doc, "productOfferingPrice"),
			      json_pack("{s:s, s:s, s:{s:s, s:f}, s:i, s:{s:i, s:s}, s:i}", "id",
					"u1", "priceType", "usage", "price", "unit", "EUR", "value",
					1.5, "x-minorUnits", 150, "unitOfMeasure", "amount", 1,
					"units", "GB", "x-allowanceGB", 200));
	assert_int_equal(catalog_price_at(doc, T("2026-06-01"), 2, &r, &e), 0);
	assert_int_equal(I(r, "total_minor"), 2999);
	assert_int_equal(I(json_object_get(r, "usage"), "allowance_gb"), 200);
	assert_int_equal(I(json_object_get(r, "usage"), "per_gb_minor"), 150);
	json_decref(r);
	/* two usage prices at once: which one would apply is not said */
	json_array_append_new(json_object_get(doc, "productOfferingPrice"),
			      json_pack("{s:s, s:s, s:{s:s, s:f}, s:i}", "id", "u2", "priceType",
					"usage", "price", "unit", "EUR", "value", 1.0,
					"x-minorUnits", 100));
	assert_int_equal(catalog_price_at(doc, T("2026-06-01"), 2, &r, &e), -EINVAL);
	assert_int_equal(catalog_price_at(doc, T("2027-01-20"), 0, &r, &e), -EINVAL);
	assert_string_equal(e.field, "month");
	assert_true(catalog_offering_orderable(doc, T("2027-01-01")));
	assert_false(catalog_offering_orderable(doc, T("2025-12-31")));
	json_decref(doc);
}

static void
test_represent(void **state)
{
	struct catalog_meta m = {.revision = 3, .last_update_us = 1000};
	struct catalog_target t = {.id = SPEC, .kind = CATALOG_SPECIFICATION, .name = "Spec"};
	json_t *body = J("{\"name\": \"O\", \"lifecycleStatus\": \"Active\", "
			 "\"productSpecification\": {\"id\": \"" SPEC "\"}}");
	json_t *doc = catalog_represent(CATALOG_OFFERING, OFFER, body, &m, &t, 1);
	json_t *ref = json_object_get(doc, "productSpecification");

	assert_string_equal(json_string_value(json_object_get(doc, "@type")), "ProductOffering");
	assert_string_equal(json_string_value(json_object_get(doc, "href")),
			    "/tmf-api/productCatalogManagement/v4/productOffering/" OFFER);
	assert_string_equal(json_string_value(json_object_get(doc, "lastUpdate")),
			    "1970-01-01T00:00:00.001Z");
	assert_string_equal(json_string_value(json_object_get(ref, "name")), "Spec");
	assert_string_equal(json_string_value(json_object_get(ref, "@referredType")),
			    "ProductSpecification");
	json_decref(doc);
	doc = catalog_represent(CATALOG_PROFILE, OFFER, body, &m, NULL, 0);
	assert_int_equal(I(doc, "version"), 3);
	assert_null(json_object_get(doc, "lastUpdate"));
	json_decref(doc);
	json_decref(body);
}

static void
test_items_and_reservation_ids(void **state)
{
	struct catalog_error e = {0};
	json_t *in = J("{\"name\": \"CPE\", \"kind\": \"cpe\", \"sku\": \"FRITZ-7590\", "
		       "\"quantity\": 3}"),
	       *out = NULL;

	assert_int_equal(catalog_item_normalize(in, &out, &e), 0);
	json_decref(out);
	json_object_set_new(in, "quantity", json_integer(-1));
	assert_int_equal(catalog_item_normalize(in, &out, &e), -EINVAL);
	assert_string_equal(e.field, "/quantity");
	json_decref(in);
	assert_true(catalog_reservation_id_valid("order:42.line-1_a"));
	assert_false(catalog_reservation_id_valid(""));
	assert_false(catalog_reservation_id_valid("a b"));
	assert_false(catalog_reservation_id_valid(
		"0123456789012345678901234567890123456789012345678901234567890123456789"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_profile_meters),
		cmocka_unit_test(test_normalize_price),
		cmocka_unit_test(test_normalize_refs_and_unknown),
		cmocka_unit_test(test_merge_patch_rfc7396),
		cmocka_unit_test(test_changes_frozen),
		cmocka_unit_test(test_activation),
		cmocka_unit_test(test_promotions),
		cmocka_unit_test(test_price_at),
		cmocka_unit_test(test_represent),
		cmocka_unit_test(test_items_and_reservation_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
