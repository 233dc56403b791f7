/* SPDX-License-Identifier: BSD-3-Clause */
/* The billing domain's pure rules (bss/billing/model.h): dates, rounding, rating. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bss/billing/model.h"

static int32_t
D(const char *s)
{
	int32_t d;

	if (billing_date_parse(s, &d) != 0)
		fail_msg("bad date in test: %s", s);
	return d;
}

static void
test_dates(void **state)
{
	char buf[11];
	int32_t s, e;

	(void)state;
	assert_int_equal(D("1970-01-01"), 0);
	assert_int_equal(D("2026-03-01") - D("2026-02-01"), 28);
	assert_int_equal(D("2028-03-01") - D("2028-02-01"), 29);
	assert_int_equal(D("2000-03-01") - D("2000-02-01"), 29);
	assert_int_equal(D("2100-03-01") - D("2100-02-01"), 28);
	billing_date_format(D("2027-12-31T23:59:59Z"), buf);
	assert_string_equal(buf, "2027-12-31");
	assert_int_equal(billing_date_parse("2027-02-29", &s), -EINVAL);
	assert_int_equal(billing_date_parse("2027-13-01", &s), -EINVAL);
	assert_int_equal(billing_date_parse("2027-1-01", &s), -EINVAL);
	assert_int_equal(billing_date_parse("2027-01-01x", &s), -EINVAL);
	assert_int_equal(billing_date_parse(NULL, &s), -EINVAL);
	/* Months clamp to the last day. */
	assert_int_equal(billing_add_months(D("2027-01-31"), 1), D("2027-02-28"));
	assert_int_equal(billing_add_months(D("2027-12-15"), 1), D("2028-01-15"));
	assert_int_equal(billing_add_months(D("2027-01-15"), -1), D("2026-12-15"));
	/* Calendar and anniversary cycles. */
	billing_cycle_of(1, D("2027-02-10"), &s, &e);
	assert_int_equal(s, D("2027-02-01"));
	assert_int_equal(e, D("2027-03-01"));
	billing_cycle_of(15, D("2027-02-10"), &s, &e);
	assert_int_equal(s, D("2027-01-15"));
	assert_int_equal(e, D("2027-02-15"));
	billing_cycle_of(15, D("2027-02-15"), &s, &e);
	assert_int_equal(s, D("2027-02-15"));
}

static void
test_rounding(void **state)
{
	(void)state;
	/* Halves away from zero, everywhere. */
	assert_int_equal(billing_div_round(5, 2), 3);
	assert_int_equal(billing_div_round(-5, 2), -3);
	assert_int_equal(billing_div_round(4, 3), 1);
	assert_int_equal(billing_div_round(5, 3), 2);
	assert_int_equal(billing_div_round(-4, 3), -1);
	assert_int_equal(billing_div_round(0, 7), 0);
	/* 4999 a month for 17 of 31 days: 2741.35... -> 2741; 15 of 30: 2499.5 -> 2500. */
	assert_int_equal(billing_prorate(4999, 17, 31), 2741);
	assert_int_equal(billing_prorate(4999, 15, 30), 2500);
	assert_int_equal(billing_prorate(4999, 30, 30), 4999);
	assert_int_equal(billing_prorate(4999, 0, 30), 0);
	/* VAT 20 % of 1234 = 246.8 -> 247; 19 % of 50 = 9.5 -> 10; of -50: -10. */
	assert_int_equal(billing_tax(1234, 2000), 247);
	assert_int_equal(billing_tax(50, 1900), 10);
	assert_int_equal(billing_tax(-50, 1900), -10);
	/* No overflow with big amounts (int128 inside). */
	assert_int_equal(billing_prorate(BILLING_MINOR_MAX - 1, 30, 31),
			 billing_div_round((__int128)(BILLING_MINOR_MAX - 1) * 30, 31));
}

static void
test_parse(void **state)
{
	unsigned bp;
	int64_t m;

	(void)state;
	assert_int_equal(billing_rate_parse("20", &bp), 0);
	assert_int_equal(bp, 2000);
	assert_int_equal(billing_rate_parse("7.7", &bp), 0);
	assert_int_equal(bp, 770);
	assert_int_equal(billing_rate_parse("5.25%", &bp), 0);
	assert_int_equal(bp, 525);
	assert_int_equal(billing_rate_parse("100", &bp), 0);
	assert_int_equal(bp, 10000);
	assert_int_equal(billing_rate_parse("100.01", &bp), -EINVAL);
	assert_int_equal(billing_rate_parse("1.234", &bp), -EINVAL);
	assert_int_equal(billing_rate_parse("-1", &bp), -EINVAL);
	assert_int_equal(billing_rate_parse("", &bp), -EINVAL);
	assert_int_equal(billing_rate_parse("1.", &bp), -EINVAL);
	assert_int_equal(billing_money_to_minor(12.34, "EUR", &m), 0);
	assert_int_equal(m, 1234);
	assert_int_equal(billing_money_to_minor(0.1 + 0.2, "EUR", &m), 0);
	assert_int_equal(m, 30);
	assert_int_equal(billing_money_to_minor(1.005, "EUR", &m), -EINVAL);
	assert_int_equal(billing_money_to_minor(5, "JPY", &m), 0);
	assert_int_equal(m, 5);
	assert_int_equal(billing_money_to_minor(1.5, "JPY", &m), -EINVAL);
	assert_int_equal(billing_money_to_minor(1.234, "KWD", &m), 0);
	assert_int_equal(m, 1234);
	assert_int_equal(billing_money_to_minor(-1, "EUR", &m), -EINVAL);
	assert_int_equal(billing_money_to_minor(1, "eur", &m), -EINVAL);
}

static void
test_overage(void **state)
{
	(void)state;
	assert_int_equal(billing_overage(50 * BILLING_GB, 100 * BILLING_GB, 200), 0);
	assert_int_equal(billing_overage(100 * BILLING_GB, 100 * BILLING_GB, 200), 0);
	/* 2.5 GB over at 2.00 a GB: 5.00. 1 byte over: 0.0000002 -> 0. */
	assert_int_equal(billing_overage(102500000000LL, 100 * BILLING_GB, 200), 500);
	assert_int_equal(billing_overage(100 * BILLING_GB + 1, 100 * BILLING_GB, 200), 0);
	/* 0.0025 GB at 2.00: 0.5 minor -> 1 (half away from zero). */
	assert_int_equal(billing_overage(2500000, 0, 200), 1);
	assert_int_equal(billing_overage(10 * BILLING_GB, -1, 200), 0);
}

static const struct billing_line *
line_of(const struct billing_invoice *inv, enum billing_line_kind k, size_t nth)
{
	for (size_t i = 0; i < inv->n; i++)
		if (inv->lines[i].kind == k && nth-- == 0)
			return &inv->lines[i];
	return NULL;
}

static void
test_speed_change(void **state)
{
	/* Fiber 100 from the 1st, Fiber 500 from the 11th of a 30-day month. */
	struct billing_charge c[] = {
		{.id = "a", .name = "Fiber 100", .service_id = "s1", .recurring = 3000,
		 .allowance_bytes = -1, .start = D("2026-09-01"), .end = D("2026-09-11")},
		{.id = "b", .name = "Fiber 500", .service_id = "s1", .recurring = 6000,
		 .allowance_bytes = -1, .start = D("2026-09-11"), .end = BILLING_DATE_OPEN},
	};
	struct billing_invoice inv;
	const struct billing_line *l;

	(void)state;
	assert_int_equal(billing_rate_cycle(c, 2, NULL, 0, D("2026-09-01"), D("2026-10-01"), 2000,
					    &inv),
			 0);
	l = line_of(&inv, BILLING_LINE_PRORATION, 0);
	assert_non_null(l);
	assert_string_equal(l->charge_id, "a");
	assert_int_equal(l->quantity, 10);
	assert_int_equal(l->amount, 1000); /* 3000 * 10 / 30 */
	l = line_of(&inv, BILLING_LINE_PRORATION, 1);
	assert_non_null(l);
	assert_int_equal(l->quantity, 20);
	assert_int_equal(l->amount, 4000); /* 6000 * 20 / 30 */
	assert_int_equal(inv.net, 5000);
	assert_int_equal(inv.tax, 1000);
	assert_int_equal(inv.total, 6000);
	assert_non_null(line_of(&inv, BILLING_LINE_TAX, 0));
	billing_invoice_clear(&inv);
	/* The next month: the new speed, whole. */
	assert_int_equal(billing_rate_cycle(c, 2, NULL, 0, D("2026-10-01"), D("2026-11-01"), 2000,
					    &inv),
			 0);
	assert_null(line_of(&inv, BILLING_LINE_PRORATION, 0));
	l = line_of(&inv, BILLING_LINE_RECURRING, 0);
	assert_non_null(l);
	assert_string_equal(l->charge_id, "b");
	assert_int_equal(l->amount, 6000);
	assert_int_equal(inv.total, 7200);
	billing_invoice_clear(&inv);
}

static void
test_add_cease_promo_one_time(void **state)
{
	/* Added on the 20th of a 31-day month, half price for 3 months, 49.00 to install. */
	struct billing_charge c = {.id = "a", .name = "Fiber 100", .recurring = 2999,
				   .discount = 1500, .promo_months = 3, .promotion = "Welcome",
				   .one_time = 4900, .allowance_bytes = -1,
				   .start = D("2027-01-20"), .end = BILLING_DATE_OPEN};
	struct billing_invoice inv;
	const struct billing_line *l;

	(void)state;
	assert_int_equal(billing_rate_cycle(&c, 1, NULL, 0, D("2027-01-01"), D("2027-02-01"), 0,
					    &inv),
			 0);
	l = line_of(&inv, BILLING_LINE_PRORATION, 0);
	assert_int_equal(l->quantity, 12);
	assert_int_equal(l->amount, 1161); /* 2999 * 12 / 31 = 1160.9 */
	l = line_of(&inv, BILLING_LINE_DISCOUNT, 0);
	assert_int_equal(l->amount, -581); /* 1500 * 12 / 31 = 580.6 */
	l = line_of(&inv, BILLING_LINE_ONE_TIME, 0);
	assert_int_equal(l->amount, 4900);
	assert_int_equal(inv.one_time_n, 1);
	assert_int_equal(inv.net, 1161 - 581 + 4900);
	assert_int_equal(inv.tax, 0);
	billing_invoice_clear(&inv);
	/* Months 2 and 3 of the promotion are the next two cycles; month 4 pays in full. */
	c.one_time_billed = true;
	assert_int_equal(billing_rate_cycle(&c, 1, NULL, 0, D("2027-03-01"), D("2027-04-01"), 0,
					    &inv),
			 0);
	assert_int_equal(inv.net, 2999 - 1500);
	assert_null(line_of(&inv, BILLING_LINE_ONE_TIME, 0));
	billing_invoice_clear(&inv);
	assert_int_equal(billing_rate_cycle(&c, 1, NULL, 0, D("2027-04-01"), D("2027-05-01"), 0,
					    &inv),
			 0);
	assert_int_equal(inv.net, 2999);
	billing_invoice_clear(&inv);
	/* Ceased on the 10th of April: 9 of 30 days. */
	c.end = D("2027-04-10");
	assert_int_equal(billing_rate_cycle(&c, 1, NULL, 0, D("2027-04-01"), D("2027-05-01"), 0,
					    &inv),
			 0);
	assert_int_equal(inv.net, 900); /* 2999 * 9 / 30 = 899.7 */
	billing_invoice_clear(&inv);
	/* Nothing after the cease: no invoice at all. */
	assert_int_equal(billing_rate_cycle(&c, 1, NULL, 0, D("2027-05-01"), D("2027-06-01"), 2000,
					    &inv),
			 0);
	assert_int_equal(inv.n, 0);
}

static void
test_usage(void **state)
{
	struct billing_charge c[] = {
		{.id = "a", .name = "Fiber 100", .service_id = "s1", .recurring = 3000,
		 .allowance_bytes = 100 * BILLING_GB, .per_gb_minor = 200,
		 .start = D("2026-01-01"), .end = BILLING_DATE_OPEN},
		{.id = "b", .name = "Fiber 20", .service_id = "s2", .recurring = 1000,
		 .allowance_bytes = -1, .start = D("2026-01-01"), .end = BILLING_DATE_OPEN},
	};
	struct billing_usage u[] = {{"s1", 112345678901LL, 7}, {"s2", 5000, 2}};
	struct billing_invoice inv;
	const struct billing_line *l;

	(void)state;
	assert_int_equal(billing_rate_cycle(c, 2, u, 2, D("2026-09-01"), D("2026-10-01"), 2000,
					    &inv),
			 0);
	l = line_of(&inv, BILLING_LINE_USAGE, 0);
	assert_non_null(l);
	assert_string_equal(l->service_id, "s1");
	assert_int_equal(l->quantity, 112345678901LL);
	/* 12.345678901 GB over at 2.00 = 24.69 */
	assert_int_equal(l->amount, 2469);
	l = line_of(&inv, BILLING_LINE_USAGE, 1);
	assert_string_equal(l->service_id, "s2");
	assert_int_equal(l->quantity, 5000);
	assert_int_equal(l->amount, 0);
	assert_int_equal(inv.net, 3000 + 1000 + 2469);
	assert_int_equal(inv.tax, billing_tax(inv.net, 2000));
	billing_invoice_clear(&inv);
}

static void
test_dunning(void **state)
{
	struct billing_dunning_step s[] = {{7, BILLING_DUNNING_REMINDER},
					   {14, BILLING_DUNNING_WALLED_GARDEN},
					   {21, BILLING_DUNNING_SUSPEND}};
	enum billing_dunning_action a;

	(void)state;
	assert_int_equal(billing_dunning_due(s, 3, -1), 0);
	assert_int_equal(billing_dunning_due(s, 3, 6), 0);
	assert_int_equal(billing_dunning_due(s, 3, 7), 1);
	assert_int_equal(billing_dunning_due(s, 3, 20), 2);
	assert_int_equal(billing_dunning_due(s, 3, 400), 3);
	assert_int_equal(billing_dunning_action_parse("walled-garden", &a), 0);
	assert_int_equal(a, BILLING_DUNNING_WALLED_GARDEN);
	assert_string_equal(billing_dunning_action_name(a), "walled-garden");
	assert_int_equal(billing_dunning_action_parse("cut", &a), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_overage),
		cmocka_unit_test(test_speed_change),
		cmocka_unit_test(test_add_cease_promo_one_time),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_dunning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
