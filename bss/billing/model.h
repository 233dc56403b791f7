/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_MODEL_H
#define CUCO_BSS_BILLING_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The billing domain's pure rules (rating.c), unit-tested without a
 * database: dates, cycles, the one rounding rule, proration, promotions,
 * usage overage, VAT, and the lines of a cycle's invoice.
 *
 * Money is in integer minor units (int64_t) of one currency. The rounding
 * rule, everywhere a division happens: to the nearest minor unit, halves
 * away from zero (billing_div_round()). Proration, overage and tax each
 * round once per line; tax is computed once per invoice on its net total.
 *
 * Dates are days since 1970-01-01 (UTC, proleptic Gregorian); periods are
 * half-open [start, end).
 */

#define BILLING_DATE_OPEN INT32_MAX /* a charge without an end */
#define BILLING_GB 1000000000LL     /* bytes in a GB (SI), the unit of overage prices */
#define BILLING_MINOR_MAX 100000000000000LL /* 10^14 minor units: larger amounts are refused */

/* Days since the epoch of @y-@m-@d (m 1..12, d 1..31; not checked). */
int32_t billing_days(int y, unsigned m, unsigned d);

/* The civil date of @days. */
void billing_ymd(int32_t days, int *ret_y, unsigned *ret_m, unsigned *ret_d);

/*
 * Parse the date at the start of @s ("2027-01-15", or the date part of an
 * RFC 3339 date-time). 0 or -EINVAL (not a valid date).
 */
int billing_date_parse(const char *s, int32_t *ret);

/* "YYYY-MM-DD" into @buf (11 bytes). */
void billing_date_format(int32_t days, char buf[11]);

/* @days moved by @months months, the day clamped to the month's last. */
int32_t billing_add_months(int32_t days, int months);

/*
 * The cycle holding @date for cycle day @cycle_day (1..28; calendar cycles
 * are day 1): [*ret_start, *ret_end), one month long.
 */
void billing_cycle_of(unsigned cycle_day, int32_t date, int32_t *ret_start, int32_t *ret_end);

/*
 * @num / @den rounded to the nearest integer, halves away from zero: the
 * domain's one rounding rule. @den > 0.
 */
int64_t billing_div_round(__int128 num, int64_t den);

/* @amount for @days of a @period_days period (@days <= @period_days), rounded. */
int64_t billing_prorate(int64_t amount, int32_t days, int32_t period_days);

/* VAT of @net at @rate_bp basis points (2000 = 20 %), rounded. */
int64_t billing_tax(int64_t net, unsigned rate_bp);

/*
 * Overage of @used bytes over an allowance of @allowance bytes at
 * @per_gb_minor a GB (10^9 bytes), rounded: 0 within the allowance.
 */
int64_t billing_overage(int64_t used, int64_t allowance, int64_t per_gb_minor);

/*
 * "20", "20.5", "7.25" (a percent with at most two decimals, 0..100) as
 * basis points. 0 or -EINVAL.
 */
int billing_rate_parse(const char *s, unsigned *ret_bp);

/*
 * A decimal amount (JSON number @value in @currency) as minor units: it
 * must be exact to the currency's minor digits, >= 0 and below
 * BILLING_MINOR_MAX. 0 or -EINVAL.
 */
int billing_money_to_minor(double value, const char *currency, int64_t *ret);

/* The ISO 4217 minor digits of @currency (0, 2 or 3), -EINVAL when not [A-Z]{3}. */
int billing_currency_digits(const char *currency);

/* ---- rating a cycle ----------------------------------------------------------------- */

/* A charge as rating sees it (strings borrowed). */
struct billing_charge {
	const char *id;
	const char *name;
	const char *service_id;  /* may be NULL */
	int64_t recurring;       /* a month */
	int64_t discount;        /* a month, during the promotion */
	unsigned promo_months;   /* cycles the discount lasts, from the charge's first */
	const char *promotion;   /* its name, may be NULL */
	int64_t one_time;        /* billed once */
	bool one_time_billed;    /* an earlier invoice had it */
	int64_t allowance_bytes; /* -1: no usage price */
	int64_t per_gb_minor;
	int32_t start, end;      /* [start, end); end BILLING_DATE_OPEN when running */
};

/* A service's usage in the cycle: bytes up + down of the usage rows. */
struct billing_usage {
	const char *service_id;
	int64_t bytes;
	int64_t rows;
};

enum billing_line_kind {
	BILLING_LINE_RECURRING,
	BILLING_LINE_PRORATION,
	BILLING_LINE_ONE_TIME,
	BILLING_LINE_USAGE,
	BILLING_LINE_DISCOUNT,
	BILLING_LINE_TAX,
};

/* "recurring", "proration", "oneTime", "usage", "discount", "tax". */
const char *billing_line_kind_name(enum billing_line_kind k);

struct billing_line {
	enum billing_line_kind kind;
	char description[160];
	const char *charge_id;  /* borrowed from the charge, or NULL */
	const char *service_id; /* borrowed, or NULL */
	int32_t from, to;       /* the period it covers */
	int64_t quantity;       /* days, bytes, or 1 */
	const char *unit;       /* "day", "month", "byte", "each" (static) */
	int64_t amount;
};

struct billing_invoice {
	struct billing_line *lines; /* malloc()ed; billing_invoice_clear() */
	size_t n;
	int64_t net, tax, total;
	size_t one_time_n;          /* charges whose one-off fee this invoice bills */
};

/*
 * The lines of the invoice of cycle [@start, @end) for @charges and the
 * services' @usage, at VAT @tax_bp:
 *   - each charge overlapping the cycle: its recurring price for the days
 *     it ran ("recurring" when the whole cycle, else "proration", to the
 *     day: days / days of the cycle); its promotion's discount, prorated
 *     alike, while the cycle is among its first promo_months cycles;
 *   - its one-off fee, once, when it started before the cycle's end;
 *   - per service with usage or a usage price: a "usage" line of its bytes,
 *     priced by the allowance of the service's latest charge in the cycle;
 *   - a "tax" line on the net total.
 * No line at all when nothing is owed or used: @ret->n == 0. Returns 0,
 * -ENOMEM, or -ERANGE when an amount leaves BILLING_MINOR_MAX.
 */
int billing_rate_cycle(const struct billing_charge *charges, size_t n_charges,
		       const struct billing_usage *usage, size_t n_usage, int32_t start, int32_t end,
		       unsigned tax_bp, struct billing_invoice *ret);

void billing_invoice_clear(struct billing_invoice *inv);

/* ---- dunning -------------------------------------------------------------------------- */

enum billing_dunning_action {
	BILLING_DUNNING_REMINDER,
	BILLING_DUNNING_WALLED_GARDEN,
	BILLING_DUNNING_SUSPEND,
};

#define BILLING_DUNNING_STEPS_MAX 8

struct billing_dunning_step {
	unsigned days; /* days past the due date */
	enum billing_dunning_action action;
};

/* "reminder", "walled-garden", "suspend". */
const char *billing_dunning_action_name(enum billing_dunning_action a);
int billing_dunning_action_parse(const char *s, enum billing_dunning_action *ret);

/*
 * The last step (1-based) due @days_overdue days after the due date, among
 * @steps sorted by days; 0 when none is.
 */
unsigned billing_dunning_due(const struct billing_dunning_step *steps, size_t n,
			     int64_t days_overdue);

/* The domain's settings (controld's config file, docs/man/cuco-controld.8). */
struct billing_config {
	unsigned tax_bp;            /* VAT, basis points (2000: 20 %) */
	bool anniversary;           /* new accounts' cycles: anniversary, else calendar */
	unsigned payment_terms_days; /* due date = issue + terms */
	char currency[4];           /* of accounts opened without a price */
	bool auto_send;             /* issued invoices go straight to "sent" */
	bool schedule;              /* runs start by themselves when a cycle ends */
	unsigned dunning_interval_s; /* how often dunning looks at overdue invoices */
	struct billing_dunning_step dunning[BILLING_DUNNING_STEPS_MAX]; /* sorted by days */
	size_t n_dunning;
};

/* Defaults: VAT 20 %, calendar cycles, 14 days, EUR, auto-send, scheduled,
 * dunning every 60 s with a reminder at 7 days and suspension at 21. */
void billing_config_defaults(struct billing_config *cfg);

#endif
