/* SPDX-License-Identifier: BSD-3-Clause */
/* Rating: dates, cycles, the rounding rule and the lines of a cycle's invoice. Pure. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/model.h"

/* H. Hinnant's days_from_civil / civil_from_days. */
int32_t
billing_days(int y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

void
billing_ymd(int32_t days, int *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	int64_t z = (int64_t)days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	*ret_y = (int)(yoe + era * 400 + (m <= 2));
	*ret_m = m;
	*ret_d = d;
}

static unsigned
month_days(int y, unsigned m)
{
	static const unsigned n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : n[m - 1];
}

int
billing_date_parse(const char *s, int32_t *ret)
{
	unsigned m, d;
	int y;

	if (s == NULL || strlen(s) < 10)
		return -EINVAL;
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	if (s[10] != '\0' && s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -EINVAL;
	y = atoi(s);
	m = (unsigned)atoi(s + 5);
	d = (unsigned)atoi(s + 8);
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return -EINVAL;
	*ret = billing_days(y, m, d);
	return 0;
}

void
billing_date_format(int32_t days, char buf[11])
{
	unsigned m, d;
	int y;

	billing_ymd(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = 0;
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
}

int32_t
billing_add_months(int32_t days, int months)
{
	unsigned m, d, md;
	int y, idx;

	billing_ymd(days, &y, &m, &d);
	idx = y * 12 + (int)m - 1 + months;
	y = idx / 12;
	m = (unsigned)(idx % 12) + 1;
	md = month_days(y, m);
	return billing_days(y, m, d > md ? md : d);
}

void
billing_cycle_of(unsigned cycle_day, int32_t date, int32_t *ret_start, int32_t *ret_end)
{
	unsigned m, d;
	int y;

	billing_ymd(date, &y, &m, &d);
	if (cycle_day < 1 || cycle_day > 28)
		cycle_day = 1;
	*ret_start = billing_days(y, m, cycle_day);
	if (d < cycle_day)
		*ret_start = billing_add_months(*ret_start, -1);
	*ret_end = billing_add_months(*ret_start, 1);
}

int64_t
billing_div_round(__int128 num, int64_t den)
{
	__int128 q = num / den, r = num % den;

	/* Halves away from zero: |r| * 2 >= den moves q one further from zero. */
	if ((r < 0 ? -r : r) * 2 >= den)
		q += num < 0 ? -1 : 1;
	return (int64_t)q;
}

int64_t
billing_prorate(int64_t amount, int32_t days, int32_t period_days)
{
	if (period_days <= 0 || days >= period_days)
		return amount;
	if (days <= 0)
		return 0;
	return billing_div_round((__int128)amount * days, period_days);
}

int64_t
billing_tax(int64_t net, unsigned rate_bp)
{
	return billing_div_round((__int128)net * rate_bp, 10000);
}

int64_t
billing_overage(int64_t used, int64_t allowance, int64_t per_gb_minor)
{
	if (allowance < 0 || per_gb_minor <= 0 || used <= allowance)
		return 0;
	return billing_div_round((__int128)(used - allowance) * per_gb_minor, BILLING_GB);
}

int
billing_rate_parse(const char *s, unsigned *ret_bp)
{
	unsigned whole = 0, frac = 0, nfrac = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > 100)
			return -EINVAL;
	}
	if (p == s)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++nfrac > 2)
				return -EINVAL;
			frac = frac * 10 + (unsigned)(*p - '0');
		}
		if (nfrac == 0)
			return -EINVAL;
		if (nfrac == 1)
			frac *= 10;
	}
	if (*p == '%')
		p++;
	if (*p != '\0' || whole * 100 + frac > 10000)
		return -EINVAL;
	*ret_bp = whole * 100 + frac;
	return 0;
}

int
billing_currency_digits(const char *code)
{
	static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
					   "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
					   "VND", "VUV", "XAF", "XOF", "XPF", NULL};
	static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL};

	if (code == NULL || strlen(code) != 3)
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return -EINVAL;
	for (int i = 0; zero[i]; i++)
		if (strcmp(code, zero[i]) == 0)
			return 0;
	for (int i = 0; three[i]; i++)
		if (strcmp(code, three[i]) == 0)
			return 3;
	return 2;
}

int
billing_money_to_minor(double value, const char *currency, int64_t *ret)
{
	int e = billing_currency_digits(currency);
	double scale = e == 0 ? 1.0 : e == 3 ? 1000.0 : 100.0, scaled, r;

	if (e < 0 || !isfinite(value) || value < 0)
		return -EINVAL;
	scaled = value * scale;
	if (scaled >= (double)BILLING_MINOR_MAX)
		return -EINVAL;
	/* 12.34 is 1233.9999... in binary: exact to a millionth of a minor unit is exact. */
	r = nearbyint(scaled);
	if (fabs(scaled - r) > 1e-6 * (r > 1.0 ? r : 1.0))
		return -EINVAL;
	*ret = (int64_t)r;
	return 0;
}

const char *
billing_line_kind_name(enum billing_line_kind k)
{
	static const char *const n[] = {"recurring", "proration", "oneTime",
					 "usage",     "discount",  "tax"};

	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "recurring";
}

/* Months from the cycle of @charge_start to the cycle starting @cycle_start, plus one. */
static unsigned
cycle_index(int32_t charge_start, int32_t cycle_start)
{
	unsigned cm, cd, sm, sd;
	int cy, sy, k;
	int32_t s, e;

	billing_ymd(cycle_start, &sy, &sm, &sd);
	billing_cycle_of(sd > 28 ? 28 : sd, charge_start, &s, &e);
	billing_ymd(s, &cy, &cm, &cd);
	k = (sy * 12 + (int)sm) - (cy * 12 + (int)cm);
	return k < 0 ? 0 : (unsigned)k + 1;
}

struct lines {
	struct billing_invoice *inv;
	size_t cap;
};

static struct billing_line *
add_line(struct lines *l, enum billing_line_kind kind)
{
	struct billing_line *x;

	if (l->inv->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;

		x = reallocarray(l->inv->lines, cap, sizeof(*x));
		if (x == NULL)
			return NULL;
		l->inv->lines = x;
		l->cap = cap;
	}
	x = &l->inv->lines[l->inv->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->quantity = 1;
	x->unit = "each";
	return x;
}

static int
rate_charge(struct lines *l, const struct billing_charge *c, int32_t start, int32_t end)
{
	int32_t from = c->start > start ? c->start : start;
	int32_t to = c->end < end ? c->end : end;
	int32_t days = to - from, period = end - start;
	struct billing_line *x;

	if (c->recurring < 0 || c->discount < 0 || c->one_time < 0 ||
	    c->recurring >= BILLING_MINOR_MAX || c->one_time >= BILLING_MINOR_MAX)
		return -ERANGE;
	if (days > 0 && c->recurring > 0) {
		bool whole = days >= period;

		if ((x = add_line(l, whole ? BILLING_LINE_RECURRING : BILLING_LINE_PRORATION)) == NULL)
			return -ENOMEM;
		if (whole)
			snprintf(x->description, sizeof(x->description), "%s", c->name);
		else
			snprintf(x->description, sizeof(x->description), "%s, %d of %d days",
				 c->name, days, period);
		x->charge_id = c->id;
		x->service_id = c->service_id;
		x->from = from;
		x->to = to;
		x->quantity = whole ? 1 : days;
		x->unit = whole ? "month" : "day";
		x->amount = billing_prorate(c->recurring, days, period);
		if (c->discount > 0 && cycle_index(c->start, start) <= c->promo_months) {
			if ((x = add_line(l, BILLING_LINE_DISCOUNT)) == NULL)
				return -ENOMEM;
			snprintf(x->description, sizeof(x->description), "%s: %s", c->name,
				 c->promotion ? c->promotion : "promotion");
			x->charge_id = c->id;
			x->service_id = c->service_id;
			x->from = from;
			x->to = to;
			x->quantity = whole ? 1 : days;
			x->unit = whole ? "month" : "day";
			x->amount = -billing_prorate(c->discount > c->recurring ? c->recurring
										 : c->discount,
						     days, period);
		}
	}
	if (c->one_time > 0 && !c->one_time_billed && c->start < end) {
		if ((x = add_line(l, BILLING_LINE_ONE_TIME)) == NULL)
			return -ENOMEM;
		snprintf(x->description, sizeof(x->description), "%s: one-off fee", c->name);
		x->charge_id = c->id;
		x->service_id = c->service_id;
		x->from = c->start;
		x->to = c->start + 1;
		x->amount = c->one_time;
		l->inv->one_time_n++;
	}
	return 0;
}

/* The service's latest charge in the cycle: its allowance prices the cycle's usage. */
static const struct billing_charge *
usage_charge(const struct billing_charge *c, size_t n, const char *service, int32_t start,
	     int32_t end)
{
	const struct billing_charge *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (c[i].service_id && strcmp(c[i].service_id, service) == 0 &&
		    c[i].start < end && c[i].end > start && (best == NULL || c[i].start >= best->start))
			best = &c[i];
	return best;
}

static int
rate_usage(struct lines *l, const struct billing_charge *c, size_t n,
	   const struct billing_usage *u, int32_t start, int32_t end)
{
	const struct billing_charge *ch = usage_charge(c, n, u->service_id, start, end);
	struct billing_line *x;

	if (u->bytes < 0)
		return -ERANGE;
	if (u->rows == 0 && (ch == NULL || ch->allowance_bytes < 0))
		return 0;
	if ((x = add_line(l, BILLING_LINE_USAGE)) == NULL)
		return -ENOMEM;
	x->service_id = u->service_id;
	x->charge_id = ch ? ch->id : NULL;
	x->from = start;
	x->to = end;
	x->quantity = u->bytes;
	x->unit = "byte";
	if (ch != NULL && ch->allowance_bytes >= 0) {
		x->amount = billing_overage(u->bytes, ch->allowance_bytes, ch->per_gb_minor);
		snprintf(x->description, sizeof(x->description),
			 "%s: usage, %lld GB included, then %lld per GB", ch->name,
			 (long long)(ch->allowance_bytes / BILLING_GB), (long long)ch->per_gb_minor);
	} else {
		snprintf(x->description, sizeof(x->description), "%s: usage",
			 ch ? ch->name : "service");
	}
	return x->amount >= BILLING_MINOR_MAX ? -ERANGE : 0;
}

int
billing_rate_cycle(const struct billing_charge *charges, size_t n_charges,
		   const struct billing_usage *usage, size_t n_usage, int32_t start, int32_t end,
		   unsigned tax_bp, struct billing_invoice *ret)
{
	struct lines l = {.inv = ret};
	struct billing_line *x;
	bool owed = false;
	int rc = 0;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < n_charges && rc == 0; i++)
		rc = rate_charge(&l, &charges[i], start, end);
	for (size_t i = 0; i < n_usage && rc == 0; i++)
		rc = rate_usage(&l, charges, n_charges, &usage[i], start, end);
	for (size_t i = 0; i < ret->n && rc == 0; i++) {
		ret->net += ret->lines[i].amount;
		owed |= ret->lines[i].amount != 0 || ret->lines[i].kind == BILLING_LINE_USAGE;
		if (ret->net >= BILLING_MINOR_MAX || ret->net <= -BILLING_MINOR_MAX)
			rc = -ERANGE;
	}
	if (rc < 0 || !owed) {
		billing_invoice_clear(ret);
		return rc;
	}
	ret->tax = billing_tax(ret->net, tax_bp);
	ret->total = ret->net + ret->tax;
	if ((x = add_line(&l, BILLING_LINE_TAX)) == NULL) {
		billing_invoice_clear(ret);
		return -ENOMEM;
	}
	snprintf(x->description, sizeof(x->description), "VAT %u.%02u %%", tax_bp / 100,
		 tax_bp % 100);
	x->from = start;
	x->to = end;
	x->amount = ret->tax;
	return 0;
}

void
billing_invoice_clear(struct billing_invoice *inv)
{
	free(inv->lines);
	memset(inv, 0, sizeof(*inv));
}

void
billing_config_defaults(struct billing_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tax_bp = 2000;
	cfg->payment_terms_days = 14;
	snprintf(cfg->currency, sizeof(cfg->currency), "EUR");
	cfg->auto_send = true;
	cfg->schedule = true;
	cfg->dunning_interval_s = 60;
	cfg->dunning[0] = (struct billing_dunning_step){7, BILLING_DUNNING_REMINDER};
	cfg->dunning[1] = (struct billing_dunning_step){21, BILLING_DUNNING_SUSPEND};
	cfg->n_dunning = 2;
}

const char *
billing_dunning_action_name(enum billing_dunning_action a)
{
	switch (a) {
	case BILLING_DUNNING_WALLED_GARDEN: return "walled-garden";
	case BILLING_DUNNING_SUSPEND: return "suspend";
	default: return "reminder";
	}
}

int
billing_dunning_action_parse(const char *s, enum billing_dunning_action *ret)
{
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "reminder") == 0)
		*ret = BILLING_DUNNING_REMINDER;
	else if (strcmp(s, "walled-garden") == 0)
		*ret = BILLING_DUNNING_WALLED_GARDEN;
	else if (strcmp(s, "suspend") == 0)
		*ret = BILLING_DUNNING_SUSPEND;
	else
		return -EINVAL;
	return 0;
}

unsigned
billing_dunning_due(const struct billing_dunning_step *steps, size_t n, int64_t days_overdue)
{
	unsigned due = 0;

	if (days_overdue < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((int64_t)steps[i].days <= days_overdue)
			due = (unsigned)i + 1;
	return due;
}
