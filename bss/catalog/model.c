/* SPDX-License-Identifier: BSD-3-Clause */
/* Errors, roles, lifecycle, times and money: the catalog's rules that need no state. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/catalog/model.h"
#include "common/proto/dpproto.h"

int
catalog_fail(struct catalog_error *err, int errnum, const char *code, const char *field,
	     const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return errnum;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	err->current[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return errnum;
}

int
catalog_fail_state(struct catalog_error *err, const char *current, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -EBUSY;
	snprintf(err->code, sizeof(err->code), "illegal-transition");
	err->field[0] = '\0';
	snprintf(err->current, sizeof(err->current), "%s", current ? current : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EBUSY;
}

bool
catalog_may_read(const struct cuco_principal *p)
{
	return p != NULL && p->roles != 0;
}

bool
catalog_may_write(const struct cuco_principal *p)
{
	return p != NULL && (cuco_principal_has(p, CUCO_ROLE_ADMIN) ||
			     cuco_principal_has(p, CUCO_ROLE_OPERATOR));
}

/* ---- lifecycle ------------------------------------------------------------- */

static const char *const status_names[] = {
	[CATALOG_IN_DESIGN] = "In Design",
	[CATALOG_ACTIVE] = "Active",
	[CATALOG_RETIRED] = "Retired",
};

const char *
catalog_status_name(enum catalog_status s)
{
	return (unsigned)s <= CATALOG_RETIRED ? status_names[s] : "?";
}

int
catalog_status_parse(const char *s, enum catalog_status *ret)
{
	for (unsigned i = 0; s != NULL && i <= CATALOG_RETIRED; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*ret = (enum catalog_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool
catalog_transition_allowed(enum catalog_status from, enum catalog_status to)
{
	/* TMF620 lifecycle, reduced to what the appliance sells: no way back. */
	return from == to || (from == CATALOG_IN_DESIGN && to == CATALOG_ACTIVE) ||
	       (from == CATALOG_ACTIVE && to == CATALOG_RETIRED);
}

/* ---- times ----------------------------------------------------------------- */

static bool
digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

int
catalog_time_parse(const char *s, bool date_ok, int64_t *ret_us)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac_us = 0, t;
	const char *p;

	/* RFC 3339 §5.6 */
	if (s == NULL || strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
		return -EINVAL;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	p = s + 10;
	if (*p == '\0') {
		if (!date_ok)
			return -EINVAL;
	} else {
		if ((*p != 'T' && *p != 't') || !digits(p + 1, 2, &h) || p[3] != ':' ||
		    !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &sec))
			return -EINVAL;
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		p += 9;
		if (*p == '.') {
			int64_t scale = 100000;

			if (p[1] < '0' || p[1] > '9')
				return -EINVAL;
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac_us += (*p - '0') * scale;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '+' ? 1 : -1;
			if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
			    oh > 23 || om > 59)
				return -EINVAL;
			p += 6;
		} else {
			return -EINVAL;
		}
		if (*p != '\0')
			return -EINVAL;
	}
	if (sec == 60)
		sec = 59; /* a leap second: the same instant for our purposes */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - (int64_t)sign * (oh * 3600 + om * 60);
	*ret_us = t * 1000000 + frac_us;
	return 0;
}

void
catalog_time_format(int64_t us, char buf[32])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char date[24];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, 32, "%s.%03dZ", date, (int)((us % 1000000) / 1000));
}

bool
catalog_valid_at(const json_t *valid_for, int64_t at_us)
{
	const char *start = json_string_value(json_object_get(valid_for, "startDateTime"));
	const char *end = json_string_value(json_object_get(valid_for, "endDateTime"));
	int64_t t;

	if (start != NULL && catalog_time_parse(start, false, &t) == 0 && at_us < t)
		return false;
	if (end != NULL && catalog_time_parse(end, false, &t) == 0 && at_us >= t)
		return false;
	return true;
}

/* ---- money ----------------------------------------------------------------- */

int
catalog_currency_exponent(const char *code)
{
	/* ISO 4217 minor units that are not 2. */
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

static double
pow10i(int e)
{
	return e == 0 ? 1.0 : e == 3 ? 1000.0 : 100.0;
}

int
catalog_money_to_minor(double value, const char *currency, int64_t *ret)
{
	int e = catalog_currency_exponent(currency);
	double scaled, r;

	if (e < 0 || !isfinite(value) || value < 0)
		return -EINVAL;
	scaled = value * pow10i(e);
	if (scaled > (double)CATALOG_MINOR_MAX)
		return -EINVAL;
	/*
	 * A decimal such as 29.9 has no exact double: accept what is within
	 * rounding noise of a whole number of minor units, nothing coarser.
	 */
	r = round(scaled);
	if (fabs(scaled - r) > 1e-6 * (r > 1.0 ? r : 1.0))
		return -EINVAL;
	*ret = (int64_t)r;
	return 0;
}

double
catalog_money_value(int64_t minor, const char *currency)
{
	int e = catalog_currency_exponent(currency);

	return (double)minor / pow10i(e < 0 ? 2 : e);
}

/* ---- bandwidth profiles ---------------------------------------------------- */

/* "changes[0].up.pir" from the dataplane's decoder as "/up/pir". */
static void
dpp_field_pointer(const char *field, char *buf, size_t len)
{
	const char *p = strchr(field, '.');
	size_t n = 0;

	p = p ? p + 1 : field;
	for (; *p && n + 2 < len; p++)
		buf[n++] = *p == '.' ? '/' : *p;
	buf[n] = '\0';
	if (n + 2 < len) {
		memmove(buf + 1, buf, n + 1);
		buf[0] = '/';
	}
}

static json_t *
meter_json(const struct dpp_meter *m)
{
	const char *names[3] = {"green", "yellow", "red"};
	bool e = m->mode == DPP_METER_RFC4115;
	json_t *o = json_object();
	char act[16];

	json_object_set_new(o, "mode", json_string(dpp_mode_name(m->mode)));
	if (m->mode != DPP_METER_NONE) {
		json_object_set_new(o, "cir", json_integer((json_int_t)m->cir));
		json_object_set_new(o, e ? "eir" : "pir", json_integer((json_int_t)m->pir));
		json_object_set_new(o, "cbs", json_integer((json_int_t)m->cbs));
		json_object_set_new(o, e ? "ebs" : "pbs", json_integer((json_int_t)m->pbs));
	}
	for (int i = 0; i < 3; i++)
		json_object_set_new(
			o, names[i],
			json_string(dpp_action_format(m->action[i], m->dscp[i], act, sizeof(act))));
	json_object_set_new(o, "shape", json_boolean(m->shape));
	return o;
}

int
catalog_profile_meters(const char *name, const json_t *up, const json_t *down, json_t **ret_up,
		       json_t **ret_down, struct catalog_error *err)
{
	struct dpp_request *req = NULL;
	struct dpp_error derr;
	json_t *change, *msg;
	char *text, ptr[64];
	int r;

	memset(&derr, 0, sizeof(derr));
	if (up == NULL || down == NULL)
		return catalog_fail(err, -EINVAL, "invalid-argument", up ? "/down" : "/up",
				    "%s: required (a meter: mode, cir, pir, cbs, pbs, green, "
				    "yellow, red, shape)",
				    up ? "down" : "up");
	/* The very message the dataplane will get: its decoder is the judge. */
	change = json_pack("{s:s, s:s, s:O, s:O}", "op", "profile.upsert", "name", name, "up", up,
			   "down", down);
	msg = json_pack("{s:i, s:i, s:s, s:i, s:[o]}", "v", DPP_VERSION, "seq", 1, "op", "batch",
			"generation", 1, "changes", change);
	text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (text == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	r = dpp_decode(text, strlen(text), &req, &derr);
	free(text);
	if (r < 0) {
		dpp_field_pointer(derr.field, ptr, sizeof(ptr));
		if (strcmp(ptr, "/name") == 0)
			return catalog_fail(err, -EINVAL, "invalid-argument", "/name", "name: %s",
					    derr.reason);
		return catalog_fail(err, -EINVAL, "invalid-argument", ptr, "%s: %s", ptr + 1,
				    derr.reason);
	}
	*ret_up = meter_json(&req->changes[0].dir[0]);
	*ret_down = meter_json(&req->changes[0].dir[1]);
	dpp_request_free(req);
	return 0;
}

/* ---- inventory ------------------------------------------------------------- */

bool
catalog_reservation_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}
