/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The customer domain's rules that need no state: the lifecycle, the
 * validation of every attribute, who may do what, who sees which personal
 * attribute, loyalty arithmetic and pseudonymisation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bss/customer/model.h"

#define ROLE(r) CUCO_ROLE_BIT(CUCO_ROLE_##r)

int
customer_fail(struct customer_error *err, int errnum, const char *code, const char *field,
	      const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return errnum;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return errnum;
}

static int
invalid(struct customer_error *err, const char *field, const char *what)
{
	return customer_fail(err, -EINVAL, "invalid-argument", field, "%s: %s", field, what);
}

/* ---- Lifecycle ------------------------------------------------------------------ */

static const char *const state_names[CUSTOMER_STATE_COUNT] = {
	[CUSTOMER_PROSPECT] = "prospect",
	[CUSTOMER_ACTIVE] = "active",
	[CUSTOMER_SUSPENDED] = "suspended",
	[CUSTOMER_CLOSED] = "closed",
};

/* The lifecycle: transitions[from] is the set of states reachable from it. */
static const unsigned transitions[CUSTOMER_STATE_COUNT] = {
	[CUSTOMER_PROSPECT] = 1u << CUSTOMER_ACTIVE | 1u << CUSTOMER_CLOSED,
	[CUSTOMER_ACTIVE] = 1u << CUSTOMER_SUSPENDED | 1u << CUSTOMER_CLOSED,
	[CUSTOMER_SUSPENDED] = 1u << CUSTOMER_ACTIVE | 1u << CUSTOMER_CLOSED,
	[CUSTOMER_CLOSED] = 0,
};

const char *
customer_state_name(enum customer_state s)
{
	return (unsigned)s < CUSTOMER_STATE_COUNT ? state_names[s] : "?";
}

int
customer_state_parse(const char *s, enum customer_state *ret)
{
	for (unsigned i = 0; s != NULL && i < CUSTOMER_STATE_COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*ret = (enum customer_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool
customer_transition_allowed(enum customer_state from, enum customer_state to)
{
	if ((unsigned)from >= CUSTOMER_STATE_COUNT || (unsigned)to >= CUSTOMER_STATE_COUNT)
		return false;
	return (transitions[from] & (1u << to)) != 0;
}

json_t *
customer_transitions_from(enum customer_state from)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < CUSTOMER_STATE_COUNT; i++)
		if (customer_transition_allowed(from, (enum customer_state)i))
			json_array_append_new(a, json_string(state_names[i]));
	return a;
}

int
customer_check_transition(enum customer_state from, enum customer_state to,
			  struct customer_error *err)
{
	char allowed[64] = "";
	size_t off = 0;

	if (customer_transition_allowed(from, to))
		return 0;
	for (unsigned i = 0; i < CUSTOMER_STATE_COUNT; i++) {
		if (customer_transition_allowed(from, (enum customer_state)i) &&
		    off < sizeof(allowed)) {
			int n = snprintf(allowed + off, sizeof(allowed) - off, "%s%s",
					 off ? ", " : "", state_names[i]);
			off += n > 0 ? (size_t)n : 0;
		}
	}
	customer_fail(err, -EBUSY, "illegal-transition", "/status",
		      "status: a %s customer cannot become %s (allowed: %s)",
		      customer_state_name(from), customer_state_name(to),
		      allowed[0] ? allowed : "none, closed is final");
	if (err != NULL)
		snprintf(err->current_state, sizeof(err->current_state), "%s",
			 customer_state_name(from));
	return -EBUSY;
}

/* ---- Values ------------------------------------------------------------------ */

bool
customer_text_valid(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	while (*p) {
		unsigned c = *p, need, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlongs, surrogates, beyond U+10FFFF, C1 controls. */
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
			return false;
		p += need + 1;
	}
	return true;
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One DNS label: 1..63 of letters, digits and '-', not at either end. */
static bool
label_valid(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool
customer_email_valid(const char *s)
{
	const char *at, *d, *dot;
	size_t local, labels = 0;

	if (s == NULL || strlen(s) > 254 || (at = strchr(s, '@')) == NULL || strchr(at + 1, '@'))
		return false;
	local = (size_t)(at - s);
	/* RFC 5321 §4.5.3.1.1; a dot-atom (RFC 5322 §3.2.3), no quoted strings. */
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (!is_alnum(s[i]) && !strchr(".!#$%&'*+/=?^_`{|}~-", s[i]))
			return false;
	}
	for (d = at + 1;; d = dot + 1) {
		dot = strchr(d, '.');
		if (!label_valid(d, dot ? (size_t)(dot - d) : strlen(d)))
			return false;
		labels++;
		if (dot == NULL)
			break;
	}
	/* The top-level label is not all digits (that would be an address). */
	for (const char *q = d; *q; q++)
		if (!is_digit(*q))
			return labels >= 2;
	return false;
}

bool
customer_e164_valid(const char *s)
{
	size_t n;

	/* ITU-T E.164 §6: at most 15 digits; the country code never starts with 0. */
	if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strlen(s + 1);
	if (n < 7 || n > 15)
		return false;
	for (size_t i = 1; i <= n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

bool
customer_country_valid(const char *s)
{
	return s != NULL && strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	       s[1] <= 'Z';
}

static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
days_in(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD at @s (exactly 10 characters read); 0 or -EINVAL. */
static int
parse_date(const char *s, struct tm *tm)
{
	int y = digits(s, 4), m, d;

	if (y < 0 || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
		return -EINVAL;
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	return 0;
}

bool
customer_date_valid(const char *s)
{
	struct tm tm = {0};

	return s != NULL && strlen(s) == 10 && parse_date(s, &tm) == 0;
}

int
customer_datetime_parse(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *p;
	int h, mi, sec, off = 0;

	/* RFC 3339 §5.6 */
	if (s == NULL || strlen(s) < 20 || parse_date(s, &tm) < 0 || (s[10] != 'T' && s[10] != 't'))
		return -EINVAL;
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (s[13] != ':' || s[16] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 60)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (!is_digit(p[1]))
			return -EINVAL;
		for (p++; is_digit(*p); p++)
			;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
	} else {
		return -EINVAL;
	}
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second */
	*ret = (int64_t)timegm(&tm) - off;
	return 0;
}

bool
customer_language_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0;

	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i < 2 || i > 3)
		return false;
	/* -Ssss (script) */
	if (n - i >= 5 && s[i] == '-' && s[i + 1] >= 'A' && s[i + 1] <= 'Z' &&
	    (n - i == 5 || s[i + 5] == '-')) {
		for (size_t k = i + 2; k < i + 5; k++)
			if (s[k] < 'a' || s[k] > 'z')
				return false;
		i += 5;
	}
	if (i == n)
		return true;
	/* -RR or -DDD (region) */
	if (n - i == 3 && s[i] == '-' && s[i + 1] >= 'A' && s[i + 1] <= 'Z' && s[i + 2] >= 'A' &&
	    s[i + 2] <= 'Z')
		return true;
	return n - i == 4 && s[i] == '-' && digits(s + i + 1, 3) >= 0;
}

bool
customer_uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != CUSTOMER_UUID_LEN)
		return false;
	for (int i = 0; i < CUSTOMER_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* ---- Attributes ------------------------------------------------------------------ */

/* @base "/" @key into @buf (cut at its size: a field name, for people). */
static const char *
path(char *buf, size_t len, const char *base, const char *key)
{
	int n = snprintf(buf, len, "%s/%s", base, key);

	if (n < 0)
		buf[0] = '\0';
	return buf;
}

static const char *
pathi(char *buf, size_t len, const char *base, size_t i)
{
	int n = snprintf(buf, len, "%s/%zu", base, i);

	if (n < 0)
		buf[0] = '\0';
	return buf;
}

static bool
one_of(const char *s, const char *const *words)
{
	for (; s != NULL && *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

/* A text attribute: 0 and @ret (borrowed) or -EINVAL naming @field. */
static int
text_at(const json_t *v, const char *field, size_t max, struct customer_error *err)
{
	char what[96];

	if (!json_is_string(v) || !customer_text_valid(json_string_value(v), max)) {
		snprintf(what, sizeof(what),
			 "must be 1 to %zu bytes of UTF-8 without control characters", max);
		return invalid(err, field, what);
	}
	return 0;
}

static int
datetime_at(const json_t *v, const char *field, int64_t *ret, struct customer_error *err)
{
	if (!json_is_string(v) || customer_datetime_parse(json_string_value(v), ret) < 0)
		return invalid(err, field,
			       "must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z");
	return 0;
}

/* validFor {startDateTime, endDateTime}: a copy in @ret. */
static int
valid_for_check(const json_t *v, const char *field, json_t **ret, struct customer_error *err)
{
	char f[128];
	const char *key;
	json_t *val;
	int64_t start = 0, end = 0;
	int rc;

	if (!json_is_object(v))
		return invalid(err, field, "must be an object {startDateTime, endDateTime}");
	json_object_foreach((json_t *)v, key, val) {
		if (strcmp(key, "startDateTime") != 0 && strcmp(key, "endDateTime") != 0)
			return invalid(err, path(f, sizeof(f), field, key),
				       "unknown attribute (startDateTime, endDateTime)");
	}
	if ((val = json_object_get(v, "startDateTime")) != NULL &&
	    (rc = datetime_at(val, path(f, sizeof(f), field, "startDateTime"), &start, err)))
		return rc;
	if ((val = json_object_get(v, "endDateTime")) != NULL &&
	    (rc = datetime_at(val, path(f, sizeof(f), field, "endDateTime"), &end, err)))
		return rc;
	if (json_object_get(v, "startDateTime") && json_object_get(v, "endDateTime") && end < start)
		return invalid(err, path(f, sizeof(f), field, "endDateTime"),
			       "must not be before startDateTime");
	*ret = json_deep_copy(v);
	return 0;
}

static const char *const medium_types[] = {"email", "phone", "mobile", "fax", "postalAddress",
					   NULL};
static const char *const contact_types[] = {"primary", "billing", "home", "work", "technical",
					    "other", NULL};

/* The characteristic attributes each medium type takes; the first ones are required. */
static const struct medium_def {
	const char *type;
	unsigned required;
	const char *attrs[8];
} medium_defs[] = {
	{"email", 1, {"emailAddress", NULL}},
	{"phone", 1, {"phoneNumber", NULL}},
	{"mobile", 1, {"phoneNumber", NULL}},
	{"fax", 1, {"faxNumber", NULL}},
	{"postalAddress", 3,
	 {"street1", "city", "country", "street2", "postCode", "stateOrProvince", NULL}},
};

static const struct medium_def *
medium_def(const char *type)
{
	for (size_t i = 0; i < sizeof(medium_defs) / sizeof(medium_defs[0]); i++)
		if (strcmp(medium_defs[i].type, type) == 0)
			return &medium_defs[i];
	return NULL;
}

static int
medium_attr_check(const char *attr, const json_t *v, const char *f, struct customer_error *err)
{
	const char *s = json_string_value(v);

	if (!json_is_string(v))
		return invalid(err, f, "must be a string");
	if (strcmp(attr, "emailAddress") == 0)
		return customer_email_valid(s) ? 0
					       : invalid(err, f, "must be an e-mail address "
								 "local@domain.example");
	if (strcmp(attr, "phoneNumber") == 0 || strcmp(attr, "faxNumber") == 0)
		return customer_e164_valid(s)
			       ? 0
			       : invalid(err, f, "must be an E.164 number: + and 7 to 15 digits, "
						 "such as +41446681800");
	if (strcmp(attr, "country") == 0)
		return customer_country_valid(s)
			       ? 0
			       : invalid(err, f, "must be an ISO 3166-1 alpha-2 code such as CH");
	if (strcmp(attr, "postCode") == 0) {
		size_t n = strlen(s);

		for (size_t i = 0; i < n; i++)
			if (!is_alnum(s[i]) && s[i] != ' ' && s[i] != '-')
				n = 0;
		return n >= 1 && n <= 16 ? 0
					 : invalid(err, f, "must be 1 to 16 letters, digits, "
							   "spaces or hyphens");
	}
	return text_at(v, f, 100, err);
}

/* One ContactMedium; its normalized copy in @ret. */
static int
medium_check(const json_t *m, const char *field, json_t **ret, struct customer_error *err)
{
	const struct medium_def *def;
	const json_t *ch, *v;
	const char *key, *type;
	json_t *out, *outch, *vf = NULL;
	char f[128], cf[128];
	int rc;

	if (!json_is_object(m))
		return invalid(err, field, "must be a ContactMedium object");
	json_object_foreach((json_t *)m, key, v) {
		if (!one_of(key, (const char *const[]){"mediumType", "preferred", "characteristic",
						       "validFor", "@type", NULL}))
			return invalid(err, path(f, sizeof(f), field, key),
				       "unknown attribute (mediumType, preferred, characteristic, "
				       "validFor)");
	}
	type = json_string_value(json_object_get(m, "mediumType"));
	if (!one_of(type, medium_types))
		return invalid(err, path(f, sizeof(f), field, "mediumType"),
			       "must be one of email, phone, mobile, fax, postalAddress");
	def = medium_def(type);
	if ((v = json_object_get(m, "@type")) != NULL &&
	    !(json_is_string(v) && strcmp(json_string_value(v), "ContactMedium") == 0))
		return invalid(err, path(f, sizeof(f), field, "@type"), "must be ContactMedium");
	if ((v = json_object_get(m, "preferred")) != NULL && !json_is_boolean(v))
		return invalid(err, path(f, sizeof(f), field, "preferred"),
			       "must be true or false");
	path(cf, sizeof(cf), field, "characteristic");
	ch = json_object_get(m, "characteristic");
	if (!json_is_object(ch))
		return invalid(err, cf, "must be an object (MediumCharacteristic)");
	json_object_foreach((json_t *)ch, key, v) {
		bool known = strcmp(key, "contactType") == 0;

		for (unsigned i = 0; def->attrs[i] != NULL; i++)
			known |= strcmp(key, def->attrs[i]) == 0;
		if (!known)
			return invalid(err, path(f, sizeof(f), cf, key),
				       "not an attribute of this mediumType");
	}
	if ((v = json_object_get(ch, "contactType")) != NULL &&
	    !one_of(json_string_value(v), contact_types))
		return invalid(err, path(f, sizeof(f), cf, "contactType"),
			       "must be one of primary, billing, home, work, technical, other");
	for (unsigned i = 0; def->attrs[i] != NULL; i++) {
		v = json_object_get(ch, def->attrs[i]);
		if (v == NULL && i < def->required)
			return invalid(err, path(f, sizeof(f), cf, def->attrs[i]),
				       "required for this mediumType");
		if (v == NULL)
			continue;
		path(f, sizeof(f), cf, def->attrs[i]);
		rc = medium_attr_check(def->attrs[i], v, f, err);
		if (rc)
			return rc;
	}
	if ((v = json_object_get(m, "validFor")) != NULL &&
	    (rc = valid_for_check(v, path(f, sizeof(f), field, "validFor"), &vf, err)))
		return rc;
	outch = json_object();
	if ((v = json_object_get(ch, "contactType")) != NULL)
		json_object_set(outch, "contactType", (json_t *)v);
	for (unsigned i = 0; def->attrs[i] != NULL; i++)
		if ((v = json_object_get(ch, def->attrs[i])) != NULL)
			json_object_set(outch, def->attrs[i], (json_t *)v);
	out = json_pack("{s:s, s:b, s:o}", "mediumType", type, "preferred",
			json_is_true(json_object_get(m, "preferred")), "characteristic", outch);
	if (vf != NULL)
		json_object_set_new(out, "validFor", vf);
	*ret = out;
	return 0;
}

int
customer_contact_media_check(const json_t *in, const char *field, json_t **ret,
			     struct customer_error *err)
{
	json_t *out, *m;
	char f[128];
	size_t i;
	int rc;

	if (!json_is_array(in) || json_array_size(in) > CUSTOMER_MEDIA_MAX)
		return customer_fail(err, -EINVAL, "invalid-argument", field,
				     "%s: must be an array of at most %d ContactMedium", field,
				     CUSTOMER_MEDIA_MAX);
	out = json_array();
	json_array_foreach(in, i, m) {
		json_t *one = NULL;

		rc = medium_check(m, pathi(f, sizeof(f), field, i), &one, err);
		if (rc) {
			json_decref(out);
			return rc;
		}
		json_array_append_new(out, one);
	}
	*ret = out;
	return 0;
}

/* account[]: AccountRef {id, name, href, @referredType}. */
static int
accounts_check(const json_t *in, const char *field, json_t **ret, struct customer_error *err)
{
	json_t *out, *a, *v;
	const char *key;
	char f[128], e[128];
	size_t i;

	if (!json_is_array(in) || json_array_size(in) > CUSTOMER_ACCOUNTS_MAX)
		return customer_fail(err, -EINVAL, "invalid-argument", field,
				     "%s: must be an array of at most %d AccountRef", field,
				     CUSTOMER_ACCOUNTS_MAX);
	out = json_array();
	json_array_foreach(in, i, a) {
		pathi(e, sizeof(e), field, i);
		if (!json_is_object(a))
			goto out_bad_elem;
		json_object_foreach(a, key, v) {
			if (!one_of(key, (const char *const[]){"id", "name", "href",
							       "@referredType", NULL})) {
				json_decref(out);
				return invalid(err, path(f, sizeof(f), e, key),
					       "unknown attribute (id, name, href, @referredType)");
			}
			if (text_at(v, path(f, sizeof(f), e, key), 200, err) < 0) {
				json_decref(out);
				return -EINVAL;
			}
		}
		if (json_object_get(a, "id") == NULL) {
			json_decref(out);
			return invalid(err, path(f, sizeof(f), e, "id"), "required");
		}
		json_array_append_new(out, json_deep_copy(a));
	}
	*ret = out;
	return 0;
out_bad_elem:
	json_decref(out);
	return invalid(err, e, "must be an AccountRef object");
}

/* characteristic[]: {name, value (string, number or boolean), valueType}, names unique. */
static int
chars_check(const json_t *in, const char *field, json_t **ret, struct customer_error *err)
{
	json_t *out, *c, *v;
	const char *key;
	char f[128], e[128];
	size_t i;

	if (!json_is_array(in) || json_array_size(in) > CUSTOMER_CHARS_MAX)
		return customer_fail(err, -EINVAL, "invalid-argument", field,
				     "%s: must be an array of at most %d Characteristic", field,
				     CUSTOMER_CHARS_MAX);
	out = json_array();
	json_array_foreach(in, i, c) {
		int rc = 0;

		pathi(e, sizeof(e), field, i);
		if (!json_is_object(c)) {
			rc = invalid(err, e, "must be a Characteristic object {name, value}");
			goto out_fail;
		}
		json_object_foreach(c, key, v) {
			if (!one_of(key,
				    (const char *const[]){"name", "value", "valueType", NULL})) {
				rc = invalid(err, path(f, sizeof(f), e, key),
					     "unknown attribute (name, value, valueType)");
				goto out_fail;
			}
		}
		rc = text_at(json_object_get(c, "name"), path(f, sizeof(f), e, "name"), 64, err);
		if (rc == 0 && json_object_get(c, "valueType") != NULL)
			rc = text_at(json_object_get(c, "valueType"),
				     path(f, sizeof(f), e, "valueType"), 32, err);
		v = json_object_get(c, "value");
		if (rc == 0 && !(json_is_number(v) || json_is_boolean(v) ||
				 (json_is_string(v) && strlen(json_string_value(v)) <= 256)))
			rc = invalid(err, path(f, sizeof(f), e, "value"),
				     "required: a string of up to 256 bytes, a number or a "
				     "boolean");
		for (size_t k = 0; rc == 0 && k < i; k++)
			if (json_equal(json_object_get(json_array_get(in, k), "name"),
				       json_object_get(c, "name")))
				rc = invalid(err, path(f, sizeof(f), e, "name"),
					     "given twice; names are unique");
		if (rc)
			goto out_fail;
		json_array_append_new(out, json_deep_copy(c));
		continue;
out_fail:
		json_decref(out);
		return rc;
	}
	*ret = out;
	return 0;
}

/* Append @key to @changed unless it is there. */
static void
note_change(json_t *changed, const char *key)
{
	size_t i;
	json_t *v;

	json_array_foreach(changed, i, v)
		if (strcmp(json_string_value(v), key) == 0)
			return;
	json_array_append_new(changed, json_string(key));
}

/* Set doc[@key] = @v (stolen; NULL: remove), noting a change. */
static void
put(json_t *doc, const char *key, json_t *v, json_t *changed)
{
	json_t *old = json_object_get(doc, key);

	if (v == NULL) {
		if (old != NULL) {
			json_object_del(doc, key);
			note_change(changed, key);
		}
		return;
	}
	if (old == NULL || !json_equal(old, v))
		note_change(changed, key);
	json_object_set_new(doc, key, v);
}

/* Attributes common to customers and parties: contact media, texts. */
static int
set_common(json_t *doc, const char *key, const json_t *v, const char *f, json_t *changed,
	   struct customer_error *err)
{
	json_t *out = NULL;
	int rc;

	if (strcmp(key, "contactMedium") == 0) {
		if (json_is_null(v)) {
			put(doc, key, json_array(), changed);
			return 0;
		}
		rc = customer_contact_media_check(v, f, &out, err);
		if (rc == 0)
			put(doc, key, out, changed);
		return rc;
	}
	return 1; /* not a common attribute */
}

/* ---- Customer documents --------------------------------------------------------------- */

static int
customer_set(json_t *doc, const char *key, const json_t *v, json_t *changed,
	     struct customer_error *err)
{
	json_t *out = NULL;
	char f[96];
	int rc;

	path(f, sizeof(f), "", key);
	rc = set_common(doc, key, v, f, changed, err);
	if (rc <= 0)
		return rc;
	if (strcmp(key, "name") == 0) {
		rc = text_at(v, f, CUSTOMER_NAME_MAX, err);
		if (rc == 0)
			put(doc, key, json_deep_copy(v), changed);
		return rc;
	}
	if (strcmp(key, "statusReason") == 0) {
		if (json_is_null(v)) {
			put(doc, key, NULL, changed);
			return 0;
		}
		rc = text_at(v, f, CUSTOMER_NAME_MAX, err);
		if (rc == 0)
			put(doc, key, json_deep_copy(v), changed);
		return rc;
	}
	if (strcmp(key, "account") == 0 || strcmp(key, "characteristic") == 0) {
		if (json_is_null(v)) {
			put(doc, key, json_array(), changed);
			return 0;
		}
		rc = key[0] == 'a' ? accounts_check(v, f, &out, err) : chars_check(v, f, &out, err);
		if (rc == 0)
			put(doc, key, out, changed);
		return rc;
	}
	if (strcmp(key, "validFor") == 0) {
		if (json_is_null(v)) {
			put(doc, key, NULL, changed);
			return 0;
		}
		rc = valid_for_check(v, f, &out, err);
		if (rc == 0)
			put(doc, key, out, changed);
		return rc;
	}
	if (strcmp(key, "@type") == 0 || strcmp(key, "@baseType") == 0) {
		const char *want = key[1] == 't' ? "Customer" : "PartyRole";

		if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
			return customer_fail(err, -EINVAL, "invalid-argument", f,
					     "%s: must be %s (no extension of Customer is served)",
					     f, want);
		return 0;
	}
	return customer_fail(err, -EINVAL, "invalid-argument", f,
			     "%s: not an attribute one may set (name, status, statusReason, "
			     "contactMedium, account, characteristic, validFor)",
			     f);
}

int
customer_doc_create(const json_t *body, const char *party_name, json_t **ret,
		    struct customer_error *err)
{
	enum customer_state st = CUSTOMER_PROSPECT;
	json_t *doc, *changed, *v;
	const char *key;
	int rc = 0;

	if (!json_is_object(body))
		return invalid(err, "", "the body must be a Customer object");
	if ((v = json_object_get(body, "status")) != NULL &&
	    (customer_state_parse(json_string_value(v), &st) < 0 ||
	     (st != CUSTOMER_PROSPECT && st != CUSTOMER_ACTIVE)))
		return invalid(err, "/status", "a new customer is prospect or active");
	doc = json_pack("{s:s, s:s, s:[], s:[], s:[]}", "name", party_name, "status",
			customer_state_name(st), "contactMedium", "account", "characteristic");
	changed = json_array();
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "engagedParty") == 0 || strcmp(key, "status") == 0)
			continue;
		rc = customer_set(doc, key, v, changed, err);
		if (rc)
			break;
	}
	json_decref(changed);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*ret = doc;
	return 0;
}

int
customer_doc_patch(json_t *doc, const json_t *patch, bool own_only, json_t *changed,
		   struct customer_error *err)
{
	enum customer_state from, to;
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(patch) || json_object_size(patch) == 0)
		return invalid(err, "", "the patch must be an object with at least one attribute");
	json_object_foreach((json_t *)patch, key, v) {
		char f[96];

		path(f, sizeof(f), "", key);
		if (own_only && strcmp(key, "contactMedium") != 0)
			return customer_fail(err, -EPERM, "forbidden", f,
					     "%s: a customer may change its contact media only", f);
		if (strcmp(key, "status") != 0) {
			rc = customer_set(doc, key, v, changed, err);
			if (rc)
				return rc;
			continue;
		}
		if (customer_state_parse(json_string_value(json_object_get(doc, "status")), &from) <
		    0)
			from = CUSTOMER_CLOSED;
		if (customer_state_parse(json_string_value(v), &to) < 0)
			return invalid(err, f,
				       "must be one of prospect, active, suspended, closed");
		if (from == to)
			continue;
		rc = customer_check_transition(from, to, err);
		if (rc)
			return rc;
		put(doc, "status", json_string(customer_state_name(to)), changed);
	}
	return 0;
}

/* ---- Party documents ------------------------------------------------------------------- */

static const char *const individual_states[] = {"initialized", "validated", "deceased", NULL};
static const char *const organization_states[] = {"initialized", "validated", "closed", NULL};

const char *
customer_party_type(enum customer_party_kind kind)
{
	return kind == CUSTOMER_ORGANIZATION ? "Organization" : "Individual";
}

void
customer_party_display_name(const json_t *party, char *buf, size_t len)
{
	const char *given = json_string_value(json_object_get(party, "givenName"));
	const char *middle = json_string_value(json_object_get(party, "middleName"));
	const char *family = json_string_value(json_object_get(party, "familyName"));
	const char *name = json_string_value(json_object_get(party, "name"));

	if (name != NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s%s%s%s%s", given ? given : "", middle ? " " : "",
			 middle ? middle : "", family && given ? " " : "", family ? family : "");
}

static int
party_set(enum customer_party_kind kind, json_t *doc, const char *key, const json_t *v,
	  json_t *changed, struct customer_error *err)
{
	bool ind = kind == CUSTOMER_INDIVIDUAL;
	const char *s = json_string_value(v);
	char f[96];
	int rc;

	path(f, sizeof(f), "", key);
	rc = set_common(doc, key, v, f, changed, err);
	if (rc <= 0)
		return rc;
	if (one_of(key, ind ? (const char *const[]){"givenName", "familyName", NULL}
			    : (const char *const[]){"name", NULL})) {
		rc = text_at(v, f, 100, err);
		if (rc == 0)
			put(doc, key, json_deep_copy(v), changed);
		return rc;
	}
	if (json_is_null(v) &&
	    one_of(key, ind ? (const char *const[]){"middleName", "title", "birthDate", "gender",
						   "nationality", NULL}
			    : (const char *const[]){"tradingName", "organizationType",
						   "isLegalEntity", NULL})) {
		put(doc, key, NULL, changed);
		return 0;
	}
	if (one_of(key, ind ? (const char *const[]){"middleName", "title", "gender", NULL}
			    : (const char *const[]){"tradingName", "organizationType", NULL})) {
		rc = text_at(v, f, strcmp(key, "gender") == 0 ? 32 : 100, err);
		if (rc == 0)
			put(doc, key, json_deep_copy(v), changed);
		return rc;
	}
	if (ind && strcmp(key, "birthDate") == 0) {
		char today[16];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		if (!customer_date_valid(s) || strcmp(s, today) > 0)
			return invalid(err, f, "must be a date YYYY-MM-DD from 1900-01-01, not in "
					       "the future");
		put(doc, key, json_deep_copy(v), changed);
		return 0;
	}
	if (ind && strcmp(key, "nationality") == 0) {
		if (!customer_country_valid(s))
			return invalid(err, f, "must be an ISO 3166-1 alpha-2 code such as CH");
		put(doc, key, json_deep_copy(v), changed);
		return 0;
	}
	if (!ind && strcmp(key, "isLegalEntity") == 0) {
		if (!json_is_boolean(v))
			return invalid(err, f, "must be true or false");
		put(doc, key, json_deep_copy(v), changed);
		return 0;
	}
	if (strcmp(key, "status") == 0) {
		if (!one_of(s, ind ? individual_states : organization_states))
			return invalid(err, f, ind ? "must be initialized, validated or deceased"
						   : "must be initialized, validated or closed");
		put(doc, key, json_deep_copy(v), changed);
		return 0;
	}
	if (strcmp(key, "@type") == 0) {
		if (s == NULL || strcmp(s, customer_party_type(kind)) != 0)
			return customer_fail(err, -EINVAL, "invalid-argument", f,
					     "%s: must be %s", f, customer_party_type(kind));
		return 0;
	}
	if (strcmp(key, "@baseType") == 0) {
		if (s == NULL || strcmp(s, "Party") != 0)
			return invalid(err, f, "must be Party");
		return 0;
	}
	return customer_fail(err, -EINVAL, "invalid-argument", f,
			     "%s: not an attribute of %s one may set", f,
			     customer_party_type(kind));
}

static void
party_full_name(enum customer_party_kind kind, json_t *doc)
{
	char name[4 * 101];

	if (kind != CUSTOMER_INDIVIDUAL)
		return;
	customer_party_display_name(doc, name, sizeof(name));
	json_object_set_new(doc, "fullName", json_string(name));
}

int
customer_party_doc_create(enum customer_party_kind kind, const json_t *body, json_t **ret,
			  struct customer_error *err)
{
	const char *const *req = kind == CUSTOMER_INDIVIDUAL
					 ? (const char *const[]){"givenName", "familyName", NULL}
					 : (const char *const[]){"name", NULL};
	json_t *doc, *changed, *v;
	const char *key;
	int rc = 0;

	if (!json_is_object(body))
		return invalid(err, "", "the body must be an object");
	for (; *req != NULL; req++) {
		if (json_object_get(body, *req) == NULL) {
			char f[64];

			return invalid(err, path(f, sizeof(f), "", *req), "required");
		}
	}
	doc = json_pack("{s:s, s:[]}", "status", "initialized", "contactMedium");
	changed = json_array();
	json_object_foreach((json_t *)body, key, v) {
		rc = party_set(kind, doc, key, v, changed, err);
		if (rc)
			break;
	}
	json_decref(changed);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	party_full_name(kind, doc);
	*ret = doc;
	return 0;
}

int
customer_party_doc_patch(enum customer_party_kind kind, json_t *doc, const json_t *patch,
			 bool own_only, json_t *changed, struct customer_error *err)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(patch) || json_object_size(patch) == 0)
		return invalid(err, "", "the patch must be an object with at least one attribute");
	json_object_foreach((json_t *)patch, key, v) {
		char f[96];

		path(f, sizeof(f), "", key);
		if (own_only && strcmp(key, "contactMedium") != 0)
			return customer_fail(err, -EPERM, "forbidden", f,
					     "%s: a customer may change its contact media only", f);
		rc = party_set(kind, doc, key, v, changed, err);
		if (rc)
			return rc;
	}
	party_full_name(kind, doc);
	return 0;
}

/* ---- Authorization ------------------------------------------------------------------ */

#define STAFF_READ (ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT) | ROLE(BILLING) | ROLE(READONLY))
#define STAFF_WRITE (ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(SUPPORT))

/* Who may do what: on any customer, and on its own customer (self-care). */
static const struct action_def {
	const char *name;
	uint32_t any;
	uint32_t own;
} actions[CUSTOMER_ACTION_COUNT] = {
	[CUSTOMER_READ] = {"customer.read", STAFF_READ, ROLE(SELFCARE)},
	[CUSTOMER_REGISTER] = {"customer.register", STAFF_WRITE, 0},
	[CUSTOMER_UPDATE] = {"customer.update", STAFF_WRITE, ROLE(SELFCARE)},
	[CUSTOMER_STATUS] = {"customer.status", STAFF_WRITE, 0},
	[CUSTOMER_DELETE] = {"customer.delete", ROLE(ADMIN) | ROLE(OPERATOR), 0},
	[CUSTOMER_CARE] = {"customer.consents", STAFF_WRITE, ROLE(SELFCARE)},
	[CUSTOMER_EARN] = {"customer.loyalty.earn", ROLE(ADMIN) | ROLE(OPERATOR) | ROLE(BILLING),
			   0},
	[CUSTOMER_REDEEM] = {"customer.loyalty.redeem", STAFF_WRITE | ROLE(BILLING),
			     ROLE(SELFCARE)},
	[CUSTOMER_EXPORT] = {"customer.export", STAFF_WRITE, ROLE(SELFCARE)},
	[CUSTOMER_ERASE] = {"customer.erase", ROLE(ADMIN), 0},
};

const char *
customer_action_name(enum customer_action a)
{
	return (unsigned)a < CUSTOMER_ACTION_COUNT ? actions[a].name : "?";
}

bool
customer_may_any(uint32_t roles, enum customer_action a)
{
	return (unsigned)a < CUSTOMER_ACTION_COUNT && (roles & actions[a].any) != 0;
}

bool
customer_may_own(uint32_t roles, enum customer_action a)
{
	return (unsigned)a < CUSTOMER_ACTION_COUNT && (roles & actions[a].own) != 0;
}

bool
customer_is_own_only(const struct cuco_principal *p)
{
	return !customer_may_any(p->roles, CUSTOMER_READ) &&
	       customer_may_own(p->roles, CUSTOMER_READ);
}

bool
customer_may(const struct cuco_principal *p, enum customer_action a, const char *customer_id)
{
	if (customer_may_any(p->roles, a))
		return true;
	if (!customer_may_own(p->roles, a) || p->customer_id[0] == '\0')
		return false;
	if (customer_id == NULL)
		return a == CUSTOMER_READ;
	return strcmp(customer_id, p->customer_id) == 0;
}

/* ---- Visibility ------------------------------------------------------------------ */

/* What each role sees of the personal attributes. */
static const unsigned role_visibility[CUCO_ROLE_COUNT] = {
	[CUCO_ROLE_ADMIN] = CUSTOMER_SEE_ALL,
	[CUCO_ROLE_OPERATOR] = CUSTOMER_SEE_ALL,
	[CUCO_ROLE_SUPPORT] = CUSTOMER_SEE_ALL,
	[CUCO_ROLE_BILLING] = CUSTOMER_SEE_NAME | CUSTOMER_SEE_BILLING_CONTACT,
	[CUCO_ROLE_READONLY] = 0,
	[CUCO_ROLE_SELFCARE] = CUSTOMER_SEE_ALL, /* its own customer only */
};

/* The personal attributes of each resource and their class ("a/b": nested). */
static const struct field_class {
	const char *type; /* "@type" of the document */
	const char *attr;
	unsigned cls;
} field_classes[] = {
	{"Customer", "name", CUSTOMER_SEE_NAME},
	{"Customer", "engagedParty/name", CUSTOMER_SEE_NAME},
	{"Individual", "givenName", CUSTOMER_SEE_NAME},
	{"Individual", "familyName", CUSTOMER_SEE_NAME},
	{"Individual", "middleName", CUSTOMER_SEE_NAME},
	{"Individual", "fullName", CUSTOMER_SEE_NAME},
	{"Individual", "title", CUSTOMER_SEE_NAME},
	{"Individual", "birthDate", CUSTOMER_SEE_IDENTITY},
	{"Individual", "gender", CUSTOMER_SEE_IDENTITY},
	{"Individual", "nationality", CUSTOMER_SEE_IDENTITY},
	{"Organization", "name", CUSTOMER_SEE_NAME},
	{"Organization", "tradingName", CUSTOMER_SEE_NAME},
	/* contactMedium: per element, by its contactType (below). */
};

unsigned
customer_visibility(uint32_t roles)
{
	unsigned v = 0;

	for (unsigned r = 0; r < CUCO_ROLE_COUNT; r++)
		if (roles & CUCO_ROLE_BIT(r))
			v |= role_visibility[r];
	return v;
}

static unsigned
medium_class(const json_t *m)
{
	const char *t = json_string_value(
		json_object_get(json_object_get(m, "characteristic"), "contactType"));

	return t && strcmp(t, "billing") == 0 ? CUSTOMER_SEE_BILLING_CONTACT : CUSTOMER_SEE_CONTACT;
}

static void
redact(json_t *doc, const char *type, unsigned visible)
{
	json_t *media = json_object_get(doc, "contactMedium");

	for (size_t i = 0; i < sizeof(field_classes) / sizeof(field_classes[0]); i++) {
		const struct field_class *fc = &field_classes[i];
		const char *slash = strchr(fc->attr, '/');

		if (strcmp(fc->type, type) != 0 || (visible & fc->cls))
			continue;
		if (slash == NULL) {
			json_object_del(doc, fc->attr);
		} else {
			char outer[32];

			snprintf(outer, sizeof(outer), "%.*s", (int)(slash - fc->attr), fc->attr);
			json_object_del(json_object_get(doc, outer), slash + 1);
		}
	}
	/* Nothing of a class one never sees: not even that it is empty. */
	if (!(visible & (CUSTOMER_SEE_CONTACT | CUSTOMER_SEE_BILLING_CONTACT))) {
		json_object_del(doc, "contactMedium");
		return;
	}
	for (size_t i = json_array_size(media); i-- > 0;)
		if (!(visible & medium_class(json_array_get(media, i))))
			json_array_remove(media, i);
}

void
customer_redact(json_t *doc, unsigned visible)
{
	redact(doc, "Customer", visible);
}

void
customer_party_redact(json_t *doc, unsigned visible)
{
	const char *type = json_string_value(json_object_get(doc, "@type"));

	redact(doc, type ? type : "Individual", visible);
}

/* ---- Consents, preferences, loyalty ---------------------------------------------------- */

static const char *const channels[] = {"email", "sms", "phone", "post", NULL};
static const char *const purposes[] = {"marketing", "service", "profiling", "third-party", NULL};

bool
customer_channel_valid(const char *s)
{
	return one_of(s, channels);
}

bool
customer_purpose_valid(const char *s)
{
	return one_of(s, purposes);
}

/* Every key of @obj is one of @known; else -EINVAL naming it. */
static int
known_keys(const json_t *obj, const char *const *known, const char *list,
	   struct customer_error *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return invalid(err, "", "the body must be an object");
	json_object_foreach((json_t *)obj, key, v) {
		if (!one_of(key, known)) {
			char f[96];

			return customer_fail(err, -EINVAL, "invalid-argument",
					     path(f, sizeof(f), "", key),
					     "/%s: unknown attribute (%s)", key, list);
		}
	}
	return 0;
}

int
customer_consent_check(const json_t *body, int64_t now, struct customer_error *err)
{
	const json_t *v;
	int64_t at;
	int rc;

	rc = known_keys(body, (const char *const[]){"channel", "purpose", "state", "at", "source",
						   NULL},
			"channel, purpose, state, at, source", err);
	if (rc)
		return rc;
	if (!customer_channel_valid(json_string_value(json_object_get(body, "channel"))))
		return invalid(err, "/channel", "required: one of email, sms, phone, post");
	if (!customer_purpose_valid(json_string_value(json_object_get(body, "purpose"))))
		return invalid(err, "/purpose",
			       "required: one of marketing, service, profiling, third-party");
	if (!one_of(json_string_value(json_object_get(body, "state")),
		    (const char *const[]){"given", "withdrawn", NULL}))
		return invalid(err, "/state", "required: given or withdrawn");
	if ((v = json_object_get(body, "at")) != NULL) {
		rc = datetime_at(v, "/at", &at, err);
		if (rc)
			return rc;
		if (at > now + CUSTOMER_CLOCK_SKEW)
			return invalid(err, "/at", "must not be in the future");
	}
	if ((v = json_object_get(body, "source")) != NULL)
		return text_at(v, "/source", 100, err);
	return 0;
}

json_t *
customer_preferences_default(void)
{
	return json_pack("{s:n, s:n, s:{s:b, s:b, s:b, s:b}}", "preferred_channel", "language",
			 "channels", "email", 1, "sms", 1, "phone", 1, "post", 1);
}

int
customer_preferences_check(const json_t *body, json_t **ret, struct customer_error *err)
{
	json_t *out, *v, *ch;
	const char *key;
	int rc;

	rc = known_keys(body, (const char *const[]){"preferred_channel", "language", "channels",
						   NULL},
			"preferred_channel, language, channels", err);
	if (rc)
		return rc;
	out = customer_preferences_default();
	ch = json_object_get(out, "channels");
	if ((v = json_object_get(body, "channels")) != NULL) {
		if (!json_is_object(v)) {
			json_decref(out);
			return invalid(err, "/channels", "must be an object of channel: boolean");
		}
		json_t *b;

		json_object_foreach(v, key, b) {
			char f[64];

			if (!customer_channel_valid(key) || !json_is_boolean(b)) {
				json_decref(out);
				return invalid(err, path(f, sizeof(f), "/channels", key),
					       "channels are email, sms, phone, post; each true "
					       "or false");
			}
			json_object_set(ch, key, b);
		}
	}
	if ((v = json_object_get(body, "preferred_channel")) != NULL && !json_is_null(v)) {
		if (!customer_channel_valid(json_string_value(v))) {
			json_decref(out);
			return invalid(err, "/preferred_channel",
				       "must be one of email, sms, phone, post, or null");
		}
		if (!json_is_true(json_object_get(ch, json_string_value(v)))) {
			json_decref(out);
			return invalid(err, "/preferred_channel",
				       "must be a channel the customer allows");
		}
		json_object_set(out, "preferred_channel", v);
	}
	if ((v = json_object_get(body, "language")) != NULL && !json_is_null(v)) {
		if (!customer_language_valid(json_string_value(v))) {
			json_decref(out);
			return invalid(err, "/language",
				       "must be a BCP 47 tag such as en, de-CH or zh-Hant-TW, "
				       "or null");
		}
		json_object_set(out, "language", v);
	}
	*ret = out;
	return 0;
}

int
customer_loyalty_check(const json_t *body, struct customer_error *err)
{
	const json_t *v;
	int rc;

	rc = known_keys(body, (const char *const[]){"kind", "points", "reference", "reason", NULL},
			"kind, points, reference, reason", err);
	if (rc)
		return rc;
	if (!one_of(json_string_value(json_object_get(body, "kind")),
		    (const char *const[]){"earn", "redeem", NULL}))
		return invalid(err, "/kind", "required: earn or redeem");
	v = json_object_get(body, "points");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > CUSTOMER_POINTS_MAX)
		return invalid(err, "/points", "required: an integer from 1 to 1000000000");
	rc = text_at(json_object_get(body, "reference"), "/reference", CUSTOMER_REFERENCE_MAX, err);
	if (rc)
		return rc;
	if ((v = json_object_get(body, "reason")) != NULL)
		return text_at(v, "/reason", CUSTOMER_NAME_MAX, err);
	return 0;
}

int
customer_loyalty_apply(int64_t balance, bool redeem, int64_t points, int64_t *ret)
{
	if (points < 1 || points > CUSTOMER_POINTS_MAX || balance < 0)
		return -EINVAL;
	if (redeem) {
		if (points > balance)
			return -ENOSPC;
		*ret = balance - points;
		return 0;
	}
	/* Both are bounded far below INT64_MAX: no overflow in the sum. */
	if (balance + points > CUSTOMER_BALANCE_MAX)
		return -ERANGE;
	*ret = balance + points;
	return 0;
}

/* ---- Pseudonymisation ------------------------------------------------------------------ */

void
customer_pseudonym(const char *id, char out[24])
{
	char hex[9];
	size_t n = 0;

	for (const char *q = id; q && *q && n < 8; q++)
		if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))
			hex[n++] = *q;
	hex[n] = '\0';
	/* Two words, so that an individual's given and family names make it up. */
	snprintf(out, 24, "Erased %s", hex);
}

void
customer_doc_erase(json_t *doc, const char *pseudonym)
{
	json_object_set_new(doc, "name", json_string(pseudonym));
	json_object_set_new(doc, "contactMedium", json_array());
	json_object_set_new(doc, "characteristic", json_array());
	json_object_del(doc, "statusReason");
	if (json_is_object(json_object_get(doc, "engagedParty")))
		json_object_set_new(json_object_get(doc, "engagedParty"), "name",
				    json_string(pseudonym));
}

void
customer_party_doc_erase(enum customer_party_kind kind, json_t *doc, const char *pseudonym)
{
	static const char *const gone[] = {"middleName", "title", "birthDate", "gender",
					   "nationality", "tradingName", NULL};

	for (const char *const *k = gone; *k != NULL; k++)
		json_object_del(doc, *k);
	json_object_set_new(doc, "contactMedium", json_array());
	if (kind == CUSTOMER_INDIVIDUAL) {
		const char *space = strchr(pseudonym, ' ');

		json_object_set_new(doc, "givenName",
				    json_stringn(pseudonym, space ? (size_t)(space - pseudonym)
								  : strlen(pseudonym)));
		json_object_set_new(doc, "familyName", json_string(space ? space + 1 : pseudonym));
		json_object_set_new(doc, "fullName", json_string(pseudonym));
	} else {
		json_object_set_new(doc, "name", json_string(pseudonym));
	}
}
