/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forms of each kind of resource (see model.h): the stored form a
 * client's body is normalised into, its references, its representation and
 * the answer made of it. Pure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/catalog/model.h"

#define TMF_BASE "/tmf-api/productCatalogManagement/v4/"

static const struct kind_info {
	const char *name; /* aggregate type, event infix */
	const char *type; /* @type */
	const char *path; /* href prefix */
	bool lifecycle;
} kinds[CATALOG_KIND_COUNT] = {
	[CATALOG_CATALOG] = {"catalog", "Catalog", TMF_BASE "catalog/", true},
	[CATALOG_CATEGORY] = {"category", "Category", TMF_BASE "category/", true},
	[CATALOG_SPECIFICATION] = {"specification", "ProductSpecification",
				   TMF_BASE "productSpecification/", true},
	[CATALOG_OFFERING] = {"offering", "ProductOffering", TMF_BASE "productOffering/", true},
	[CATALOG_PRICE] = {"price", "ProductOfferingPrice", TMF_BASE "productOfferingPrice/", true},
	[CATALOG_PROFILE] = {"profile", "BandwidthProfile", "/api/v1/profiles/", false},
	[CATALOG_PROMOTION] = {"promotion", "Promotion", "/api/v1/promotions/", false},
};

const char *
catalog_kind_name(enum catalog_kind k)
{
	return (unsigned)k < CATALOG_KIND_COUNT ? kinds[k].name : "?";
}

bool
catalog_kind_has_lifecycle(enum catalog_kind k)
{
	return (unsigned)k < CATALOG_KIND_COUNT && kinds[k].lifecycle;
}

const char *
catalog_type_name(enum catalog_kind k)
{
	return (unsigned)k < CATALOG_KIND_COUNT ? kinds[k].type : "?";
}

void
catalog_href(enum catalog_kind k, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", (unsigned)k < CATALOG_KIND_COUNT ? kinds[k].path : "/", id);
}

/* ---- checks of one member --------------------------------------------------- */

/* The reading of one body: where errors point, and the stored form being built. */
struct norm {
	const json_t *in;
	json_t *out;
	struct catalog_error *err;
};

static bool
uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != CATALOG_UUID_LEN)
		return false;
	for (int i = 0; i < CATALOG_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool
text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string member: copied when valid; @max bytes; @pattern_ok is an extra check. */
static int
take_string(struct norm *n, const char *key, bool required, size_t max, bool (*extra)(const char *),
	    const char *what)
{
	const json_t *v = json_object_get(n->in, key);
	const char *s = json_string_value(v);
	char ptr[64];

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
					    "%s: required (%s)", key, what);
		return 0;
	}
	if (s == NULL || json_string_length(v) != strlen(s) || strlen(s) > max ||
	    ((required || extra) && s[0] == '\0') || !text_ok(s) || (extra && !extra(s)))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s: must be %s (at most %zu bytes, no control characters)",
				    key, what, max);
	json_object_set_new(n->out, key, json_string(s));
	return 0;
}

static int
take_bool(struct norm *n, const char *key, bool def)
{
	const json_t *v = json_object_get(n->in, key);
	char ptr[64];

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s: must be true or false", key);
	json_object_set_new(n->out, key,
			    json_boolean(v && !json_is_null(v) ? json_is_true(v) : def));
	return 0;
}

static int
take_int(struct norm *n, const char *key, bool required, json_int_t min, json_int_t max)
{
	const json_t *v = json_object_get(n->in, key);
	char ptr[64];

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
					    "%s: required (a whole number from %lld to %lld)", key,
					    (long long)min, (long long)max);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s: must be a whole number from %lld to %lld", key,
				    (long long)min, (long long)max);
	json_object_set_new(n->out, key, json_integer(json_integer_value(v)));
	return 0;
}

static int
take_time(struct norm *n, const json_t *obj, const char *key, const char *ptr_prefix, json_t *out,
	  bool required, int64_t *ret_us)
{
	const json_t *v = json_object_get(obj, key);
	char ptr[64], buf[32];
	int64_t us;

	snprintf(ptr, sizeof(ptr), "%s/%s", ptr_prefix, key);
	*ret_us = 0;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
					    "%s: required (an RFC 3339 date-time)", ptr + 1);
		return 0;
	}
	if (catalog_time_parse(json_string_value(v), false, &us) < 0)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s: must be an RFC 3339 date-time such as "
				    "2027-01-15T00:00:00Z",
				    ptr + 1);
	catalog_time_format(us, buf);
	json_object_set_new(out, key, json_string(buf));
	*ret_us = us;
	return 0;
}

/* Refuse members outside @allowed (NULL-terminated), naming the first. */
static int
only_members(struct norm *n, const json_t *obj, const char *prefix, const char *const *allowed)
{
	const char *key;
	json_t *v;
	char ptr[64];

	if (!json_is_object(obj))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", prefix,
				    "%s: must be an object", prefix[0] ? prefix + 1 : "body");
	json_object_foreach ((json_t *)obj, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL) {
			snprintf(ptr, sizeof(ptr), "%s/%.40s", prefix, key);
			return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
					    "%s: unknown or read-only member", ptr + 1);
		}
	}
	return 0;
}

static int
take_valid_for(struct norm *n)
{
	static const char *const members[] = {"startDateTime", "endDateTime", NULL};
	const json_t *v = json_object_get(n->in, "validFor");
	int64_t start, end;
	json_t *out;
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	r = only_members(n, v, "/validFor", members);
	if (r < 0)
		return r;
	out = json_object();
	json_object_set_new(n->out, "validFor", out);
	r = take_time(n, v, "startDateTime", "/validFor", out, false, &start);
	r = r ?: take_time(n, v, "endDateTime", "/validFor", out, false, &end);
	if (r == 0 && start && end && end <= start)
		r = catalog_fail(n->err, -EINVAL, "invalid-argument", "/validFor/endDateTime",
				 "validFor/endDateTime: must be after startDateTime");
	return r;
}

/* A reference {"id": uuid, ...}: href, name and @referredType (echoed from a GET) are ignored. */
static int
ref_object(struct norm *n, const json_t *v, const char *ptr, json_t **ret)
{
	static const char *const members[] = {"id",	 "href", "name", "@referredType",
					      "version", NULL};
	const char *id = json_string_value(json_object_get(v, "id"));
	int r = only_members(n, v, ptr, members);

	if (r < 0)
		return r;
	if (!uuid_valid(id))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s/id: must be the id (a UUID) of a resource", ptr + 1);
	*ret = json_pack("{s:s}", "id", id);
	return 0;
}

static int
take_ref(struct norm *n, const char *key)
{
	const json_t *v = json_object_get(n->in, key);
	char ptr[64];
	json_t *ref;
	int r;

	if (v == NULL || json_is_null(v))
		return 0;
	snprintf(ptr, sizeof(ptr), "/%s", key);
	r = ref_object(n, v, ptr, &ref);
	if (r == 0)
		json_object_set_new(n->out, key, ref);
	return r;
}

static int
take_ref_array(struct norm *n, const char *key, size_t max)
{
	const json_t *v = json_object_get(n->in, key), *e;
	char ptr[64];
	json_t *out;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (!json_is_array(v) || json_array_size(v) > max)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
				    "%s: must be an array of at most %zu references {\"id\"}", key,
				    max);
	out = json_array();
	json_object_set_new(n->out, key, out);
	json_array_foreach (v, i, e) {
		json_t *ref;
		int r;

		snprintf(ptr, sizeof(ptr), "/%s/%zu", key, i);
		r = ref_object(n, e, ptr, &ref);
		if (r < 0)
			return r;
		for (size_t j = 0; j < json_array_size(out); j++)
			if (json_equal(json_array_get(out, j), ref)) {
				json_decref(ref);
				return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
						    "%s: refers to %s twice", ptr + 1,
						    json_string_value(json_object_get(e, "id")));
			}
		json_array_append_new(out, ref);
	}
	return 0;
}

static bool
version_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* name, description, version, lifecycleStatus, validFor: every TMF kind. */
static int
take_tmf_common(struct norm *n, bool creating)
{
	const char *st = json_string_value(json_object_get(n->in, "lifecycleStatus"));
	const json_t *lv = json_object_get(n->in, "lifecycleStatus");
	enum catalog_status s = CATALOG_IN_DESIGN;
	int r;

	r = take_string(n, "name", true, CATALOG_NAME_MAX, NULL, "a name");
	r = r ?: take_string(n, "description", false, CATALOG_DESCRIPTION_MAX, NULL, "text");
	if (r == 0)
		r = take_string(n, "version", false, 20, version_ok,
				"a version such as 1.0 (letters, digits, . - _)");
	if (r < 0)
		return r;
	if (json_object_get(n->out, "version") == NULL)
		json_object_set_new(n->out, "version", json_string("1.0"));
	if (lv != NULL && !json_is_null(lv) && catalog_status_parse(st, &s) < 0)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/lifecycleStatus",
				    "lifecycleStatus: must be In Design, Active or Retired");
	if (creating && s != CATALOG_IN_DESIGN)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/lifecycleStatus",
				    "lifecycleStatus: a new resource starts In Design, then "
				    "becomes Active by a PATCH");
	json_object_set_new(n->out, "lifecycleStatus", json_string(catalog_status_name(s)));
	return take_valid_for(n);
}

/* ---- per kind --------------------------------------------------------------- */

#define TMF_MEMBERS "@type", "name", "description", "version", "lifecycleStatus", "validFor"

static int
norm_catalog(struct norm *n)
{
	static const char *const m[] = {TMF_MEMBERS, "catalogType", "category", NULL};

	return only_members(n, n->in, "", m) ?:
		take_string(n, "catalogType", false, 100, NULL, "text") ?:
		take_ref_array(n, "category", 100);
}

static int
norm_category(struct norm *n)
{
	static const char *const m[] = {TMF_MEMBERS, "parentId", NULL};
	const json_t *v = json_object_get(n->in, "parentId");
	int r = only_members(n, n->in, "", m);

	if (r < 0 || v == NULL || json_is_null(v))
		return r;
	if (!uuid_valid(json_string_value(v)))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/parentId",
				    "parentId: must be the id (a UUID) of a category");
	json_object_set_new(n->out, "parentId", json_deep_copy(v));
	return 0;
}

static int
norm_specification(struct norm *n)
{
	static const char *const m[] = {TMF_MEMBERS, "brand", "productNumber", "isBundle",
					"bandwidthProfile", NULL};

	return only_members(n, n->in, "", m) ?: take_string(n, "brand", false, 100, NULL, "text") ?:
		take_string(n, "productNumber", false, 100, NULL, "text") ?:
		take_bool(n, "isBundle", false) ?: take_ref(n, "bandwidthProfile");
}

static int
norm_offering(struct norm *n)
{
	static const char *const m[] = {TMF_MEMBERS, "isBundle", "isSellable",
					"productSpecification", "productOfferingPrice", "category",
					NULL};

	return only_members(n, n->in, "", m) ?: take_bool(n, "isBundle", false) ?:
		take_bool(n, "isSellable", true) ?: take_ref(n, "productSpecification") ?:
		take_ref_array(n, "productOfferingPrice", 20) ?: take_ref_array(n, "category", 100);
}

static int
norm_money(struct norm *n)
{
	static const char *const m[] = {"unit", "value", NULL};
	const json_t *price = json_object_get(n->in, "price");
	const json_t *value = json_object_get(price, "value");
	const json_t *minor = json_object_get(n->in, "x-minorUnits");
	const char *unit = json_string_value(json_object_get(price, "unit"));
	int64_t from_value = 0;
	int r;

	if (price == NULL || json_is_null(price))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/price",
				    "price: required ({\"unit\": \"EUR\", \"value\": 29.9})");
	r = only_members(n, price, "/price", m);
	if (r < 0)
		return r;
	if (catalog_currency_exponent(unit) < 0)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/price/unit",
				    "price/unit: must be an ISO 4217 currency code (3 capital "
				    "letters, EUR)");
	if (value != NULL && !json_is_null(value) &&
	    (!json_is_number(value) ||
	     catalog_money_to_minor(json_number_value(value), unit, &from_value) < 0))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/price/value",
				    "price/value: must be an amount of %s from 0 to %lld with at "
				    "most %d decimals",
				    unit, CATALOG_MINOR_MAX / 100, catalog_currency_exponent(unit));
	if (minor != NULL && !json_is_null(minor) &&
	    (!json_is_integer(minor) || json_integer_value(minor) < 0 ||
	     json_integer_value(minor) > CATALOG_MINOR_MAX))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/x-minorUnits",
				    "x-minorUnits: must be a whole number of minor units from 0 "
				    "to %lld",
				    CATALOG_MINOR_MAX);
	if ((value == NULL || json_is_null(value)) && (minor == NULL || json_is_null(minor)))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/price/value",
				    "price/value: required (or x-minorUnits)");
	if (value != NULL && !json_is_null(value) && minor != NULL && !json_is_null(minor) &&
	    json_integer_value(minor) != from_value)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/x-minorUnits",
				    "x-minorUnits: %lld disagrees with price/value (%lld)",
				    (long long)json_integer_value(minor), (long long)from_value);
	json_object_set_new(n->out, "price", json_pack("{s:s}", "unit", unit));
	json_object_set_new(n->out, "x-minorUnits",
			    json_integer(value && !json_is_null(value)
						 ? from_value
						 : json_integer_value(minor)));
	return 0;
}

/*
 * A usage price: the price (x-minorUnits) of each GB (10^9 bytes) beyond
 * x-allowanceGB included per month (default 0), billed with the cycle.
 */
static int
norm_usage_price(struct norm *n, const json_t *period, const json_t *len)
{
	const json_t *uom = json_object_get(n->in, "unitOfMeasure");
	const json_t *allow = json_object_get(n->in, "x-allowanceGB");
	const json_t *amount = json_object_get(uom, "amount");
	const char *units = json_string_value(json_object_get(uom, "units"));

	if ((period && !json_is_null(period)) || (len && !json_is_null(len)))
		return catalog_fail(n->err, -EINVAL, "invalid-argument",
				    period && !json_is_null(period) ? "/recurringChargePeriodType"
								    : "/recurringChargePeriodLength",
				    "a usage price has no recurring charge period");
	if (!json_is_object(uom) || !json_is_number(amount) || json_number_value(amount) != 1.0 ||
	    units == NULL || strcmp(units, "GB") != 0)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/unitOfMeasure",
				    "unitOfMeasure: a usage price is per GB: {\"amount\": 1, "
				    "\"units\": \"GB\"}");
	if (allow != NULL && !json_is_null(allow) &&
	    (!json_is_integer(allow) || json_integer_value(allow) < 0 ||
	     json_integer_value(allow) > 1000000000))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/x-allowanceGB",
				    "x-allowanceGB: GB included a month, 0 to 1000000000");
	json_object_set_new(n->out, "unitOfMeasure", json_pack("{s:i, s:s}", "amount", 1, "units",
								 "GB"));
	json_object_set_new(n->out, "x-allowanceGB",
			    json_integer(json_is_integer(allow) ? json_integer_value(allow) : 0));
	return 0;
}

static int
norm_price(struct norm *n)
{
	static const char *const m[] = {TMF_MEMBERS, "priceType", "recurringChargePeriodType",
					"recurringChargePeriodLength", "price", "x-minorUnits",
					"unitOfMeasure", "x-allowanceGB", "isBundle", NULL};
	const char *type = json_string_value(json_object_get(n->in, "priceType"));
	const json_t *period = json_object_get(n->in, "recurringChargePeriodType");
	const json_t *len = json_object_get(n->in, "recurringChargePeriodLength");
	bool recurring;
	int r;

	r = only_members(n, n->in, "", m) ?: take_bool(n, "isBundle", false) ?: norm_money(n);
	if (r < 0)
		return r;
	if (type == NULL || (strcmp(type, "recurring") != 0 && strcmp(type, "oneTime") != 0 &&
			     strcmp(type, "usage") != 0))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/priceType",
				    "priceType: must be recurring, oneTime or usage");
	recurring = strcmp(type, "recurring") == 0;
	json_object_set_new(n->out, "priceType", json_string(type));
	if (strcmp(type, "usage") == 0)
		return norm_usage_price(n, period, len);
	if (json_object_get(n->in, "unitOfMeasure") || json_object_get(n->in, "x-allowanceGB"))
		return catalog_fail(n->err, -EINVAL, "invalid-argument",
				    json_object_get(n->in, "unitOfMeasure") ? "/unitOfMeasure"
									     : "/x-allowanceGB",
				    "only a usage price has a unit of measure and an allowance");
	if (!recurring) {
		if ((period && !json_is_null(period)) || (len && !json_is_null(len)))
			return catalog_fail(n->err, -EINVAL, "invalid-argument",
					    period && !json_is_null(period)
						    ? "/recurringChargePeriodType"
						    : "/recurringChargePeriodLength",
					    "a oneTime price has no recurring charge period");
		return 0;
	}
	/* Subscriptions are billed monthly: the only period the appliance bills. */
	if (period && !json_is_null(period) &&
	    (!json_is_string(period) || strcmp(json_string_value(period), "month") != 0))
		return catalog_fail(n->err, -EINVAL, "invalid-argument",
				    "/recurringChargePeriodType",
				    "recurringChargePeriodType: must be month");
	if (len && !json_is_null(len) && (!json_is_integer(len) || json_integer_value(len) != 1))
		return catalog_fail(n->err, -EINVAL, "invalid-argument",
				    "/recurringChargePeriodLength",
				    "recurringChargePeriodLength: must be 1 (monthly)");
	json_object_set_new(n->out, "recurringChargePeriodType", json_string("month"));
	json_object_set_new(n->out, "recurringChargePeriodLength", json_integer(1));
	return 0;
}

static bool
profile_name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int
norm_profile(struct norm *n)
{
	static const char *const m[] = {"@type", "name", "description", "up", "down", NULL};
	json_t *up, *down;
	int r;

	r = only_members(n, n->in, "", m) ?:
		take_string(n, "name", true, 63, profile_name_ok,
			    "a name of letters, digits, . - _ (the dataplane's profile name)") ?:
		take_string(n, "description", false, CATALOG_DESCRIPTION_MAX, NULL, "text");
	if (r < 0)
		return r;
	r = catalog_profile_meters(json_string_value(json_object_get(n->out, "name")),
				   json_object_get(n->in, "up"), json_object_get(n->in, "down"),
				   &up, &down, n->err);
	if (r < 0)
		return r;
	json_object_set_new(n->out, "up", up);
	json_object_set_new(n->out, "down", down);
	return 0;
}

static int
norm_promotion(struct norm *n)
{
	static const char *const m[] = {"@type", "name", "description", "kind", "percentage",
					"amount_minor", "currency", "duration_months",
					"valid_from", "valid_to", "offering_ids", NULL};
	const char *kind = json_string_value(json_object_get(n->in, "kind"));
	const json_t *ids = json_object_get(n->in, "offering_ids"), *e;
	int64_t from, to;
	json_t *out;
	size_t i;
	int r;

	r = only_members(n, n->in, "", m) ?:
		take_string(n, "name", true, CATALOG_NAME_MAX, NULL, "a name") ?:
		take_string(n, "description", false, CATALOG_DESCRIPTION_MAX, NULL, "text");
	if (r < 0)
		return r;
	if (kind == NULL || (strcmp(kind, "percentage") != 0 && strcmp(kind, "amount") != 0))
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/kind",
				    "kind: must be percentage or amount");
	json_object_set_new(n->out, "kind", json_string(kind));
	if (strcmp(kind, "percentage") == 0) {
		if (json_object_get(n->in, "amount_minor") || json_object_get(n->in, "currency"))
			return catalog_fail(n->err, -EINVAL, "invalid-argument",
					    json_object_get(n->in, "amount_minor") ? "/amount_minor"
										   : "/currency",
					    "a percentage promotion has no amount nor currency");
		r = take_int(n, "percentage", true, 1, 100);
	} else {
		const char *cur = json_string_value(json_object_get(n->in, "currency"));

		if (json_object_get(n->in, "percentage"))
			return catalog_fail(n->err, -EINVAL, "invalid-argument", "/percentage",
					    "an amount promotion has no percentage");
		r = take_int(n, "amount_minor", true, 1, CATALOG_MINOR_MAX);
		if (r == 0 && catalog_currency_exponent(cur) < 0)
			r = catalog_fail(n->err, -EINVAL, "invalid-argument", "/currency",
					 "currency: must be an ISO 4217 currency code (EUR)");
		if (r == 0)
			json_object_set_new(n->out, "currency", json_string(cur));
	}
	r = r ?: take_int(n, "duration_months", true, 1, CATALOG_MONTHS_MAX);
	r = r ?: take_time(n, n->in, "valid_from", "", n->out, true, &from);
	r = r ?: take_time(n, n->in, "valid_to", "", n->out, false, &to);
	if (r < 0)
		return r;
	if (to && to <= from)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/valid_to",
				    "valid_to: must be after valid_from");
	if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 100)
		return catalog_fail(n->err, -EINVAL, "invalid-argument", "/offering_ids",
				    "offering_ids: required, 1 to 100 offering ids");
	out = json_array();
	json_object_set_new(n->out, "offering_ids", out);
	json_array_foreach (ids, i, e) {
		char ptr[64];

		snprintf(ptr, sizeof(ptr), "/offering_ids/%zu", i);
		if (!uuid_valid(json_string_value(e)))
			return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
					    "%s: must be the id (a UUID) of an offering", ptr + 1);
		for (size_t j = 0; j < json_array_size(out); j++)
			if (json_equal(json_array_get(out, j), e))
				return catalog_fail(n->err, -EINVAL, "invalid-argument", ptr,
						    "%s: names %s twice", ptr + 1,
						    json_string_value(e));
		json_array_append_new(out, json_string(json_string_value(e)));
	}
	return 0;
}

int
catalog_normalize(enum catalog_kind kind, const json_t *in, bool creating, json_t **ret,
		  struct catalog_error *err)
{
	struct norm n = {.in = in, .err = err};
	const char *type = json_string_value(json_object_get(in, "@type"));
	int r;

	if (!json_is_object(in) || (unsigned)kind >= CATALOG_KIND_COUNT)
		return catalog_fail(err, -EINVAL, "invalid-argument", "",
				    "the body must be a JSON object");
	if (json_object_get(in, "@type") != NULL &&
	    (type == NULL || strcmp(type, kinds[kind].type) != 0))
		return catalog_fail(err, -EINVAL, "invalid-argument", "/@type", "@type: must be %s",
				    kinds[kind].type);
	n.out = json_object();
	if (n.out == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	r = kinds[kind].lifecycle ? take_tmf_common(&n, creating) : 0;
	if (r == 0) {
		switch (kind) {
		case CATALOG_CATALOG: r = norm_catalog(&n); break;
		case CATALOG_CATEGORY: r = norm_category(&n); break;
		case CATALOG_SPECIFICATION: r = norm_specification(&n); break;
		case CATALOG_OFFERING: r = norm_offering(&n); break;
		case CATALOG_PRICE: r = norm_price(&n); break;
		case CATALOG_PROFILE: r = norm_profile(&n); break;
		case CATALOG_PROMOTION: r = norm_promotion(&n); break;
		default: r = -EINVAL; break;
		}
	}
	if (r < 0) {
		json_decref(n.out);
		return r;
	}
	*ret = n.out;
	return 0;
}

/* ---- patches ------------------------------------------------------------------ */

json_t *
catalog_merge_patch(const json_t *target, const json_t *patch)
{
	const char *key;
	json_t *out, *v;

	/* RFC 7396 §2 */
	if (!json_is_object(patch))
		return json_deep_copy(patch);
	out = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach ((json_t *)patch, key, v) {
		if (json_is_null(v))
			json_object_del(out, key);
		else
			json_object_set_new(out, key,
					    catalog_merge_patch(json_object_get(out, key), v));
	}
	return out;
}

void
catalog_patch_prepare(enum catalog_kind kind, json_t *target, const json_t *patch)
{
	const json_t *value = json_object_get(json_object_get(patch, "price"), "value");

	/* The stored form keeps minor units: a new decimal value replaces them. */
	if (kind == CATALOG_PRICE && value != NULL &&
	    json_object_get(patch, "x-minorUnits") == NULL)
		json_object_del(target, "x-minorUnits");
}

json_t *
catalog_changes(const json_t *before, const json_t *after)
{
	json_t *names = json_array(), *v;
	const char *key;

	json_object_foreach ((json_t *)after, key, v)
		if (!json_equal(v, json_object_get(before, key)))
			json_array_append_new(names, json_string(key));
	json_object_foreach ((json_t *)before, key, v)
		if (json_object_get(after, key) == NULL)
			json_array_append_new(names, json_string(key));
	return names;
}

bool
catalog_changes_frozen_ok(const json_t *changes, const char **ret_name)
{
	size_t i;
	json_t *v;

	json_array_foreach (changes, i, v) {
		const char *s = json_string_value(v);

		if (strcmp(s, "lifecycleStatus") != 0 && strcmp(s, "description") != 0 &&
		    strcmp(s, "validFor") != 0) {
			*ret_name = s;
			return false;
		}
	}
	return true;
}

/* ---- references ------------------------------------------------------------- */

struct ref_attr {
	enum catalog_kind from;
	const char *attr;
	enum catalog_kind to;
	enum { REF_ONE, REF_MANY, REF_ID, REF_IDS } shape;
};

static const struct ref_attr ref_attrs[] = {
	{CATALOG_CATALOG, "category", CATALOG_CATEGORY, REF_MANY},
	{CATALOG_CATEGORY, "parentId", CATALOG_CATEGORY, REF_ID},
	{CATALOG_SPECIFICATION, "bandwidthProfile", CATALOG_PROFILE, REF_ONE},
	{CATALOG_OFFERING, "productSpecification", CATALOG_SPECIFICATION, REF_ONE},
	{CATALOG_OFFERING, "productOfferingPrice", CATALOG_PRICE, REF_MANY},
	{CATALOG_OFFERING, "category", CATALOG_CATEGORY, REF_MANY},
	{CATALOG_PROMOTION, "offering_ids", CATALOG_OFFERING, REF_IDS},
};

#define N_REF_ATTRS (sizeof(ref_attrs) / sizeof(ref_attrs[0]))

int
catalog_refs(enum catalog_kind kind, const json_t *body, struct catalog_ref *refs, size_t max,
	     size_t *ret_n)
{
	size_t n = 0;

	for (size_t a = 0; a < N_REF_ATTRS; a++) {
		const struct ref_attr *ra = &ref_attrs[a];
		const json_t *v = json_object_get(body, ra->attr), *e;
		size_t i;

		if (ra->from != kind || v == NULL)
			continue;
		if (ra->shape == REF_ONE || ra->shape == REF_ID) {
			if (n == max)
				return -E2BIG;
			refs[n] = (struct catalog_ref){
				.attr = ra->attr,
				.id = json_string_value(
					ra->shape == REF_ONE ? json_object_get(v, "id") : v),
				.target = ra->to,
			};
			snprintf(refs[n].field, sizeof(refs[n].field), "/%s", ra->attr);
			n++;
			continue;
		}
		json_array_foreach (v, i, e) {
			if (n == max)
				return -E2BIG;
			refs[n] = (struct catalog_ref){
				.attr = ra->attr,
				.id = json_string_value(
					ra->shape == REF_MANY ? json_object_get(e, "id") : e),
				.target = ra->to,
			};
			snprintf(refs[n].field, sizeof(refs[n].field), "/%s/%zu", ra->attr, i);
			n++;
		}
	}
	*ret_n = n;
	return 0;
}

static const struct catalog_target *
target_of(const struct catalog_target *t, size_t n, const char *id)
{
	for (size_t i = 0; id != NULL && i < n; i++)
		if (strcmp(t[i].id, id) == 0)
			return &t[i];
	return NULL;
}

int
catalog_offering_activation_check(const json_t *body, const struct catalog_target *targets,
				  size_t n, struct catalog_error *err)
{
	const json_t *prices = json_object_get(body, "productOfferingPrice"), *e;
	const char *spec = json_string_value(
		json_object_get(json_object_get(body, "productSpecification"), "id"));
	const struct catalog_target *t = target_of(targets, n, spec);
	const char *currency = NULL;
	size_t i;

	if (t == NULL)
		return catalog_fail_state(err, "In Design",
					  "productOffering: needs a productSpecification to "
					  "become Active");
	if (t->lifecycle == NULL || strcmp(t->lifecycle, "Active") != 0)
		return catalog_fail_state(err, "In Design",
					  "productOffering: its productSpecification %s is %s, "
					  "not Active",
					  t->id, t->lifecycle ? t->lifecycle : "?");
	if (json_array_size(prices) == 0)
		return catalog_fail_state(err, "In Design",
					  "productOffering: needs at least one "
					  "productOfferingPrice to become Active");
	json_array_foreach (prices, i, e) {
		const char *unit;

		t = target_of(targets, n, json_string_value(json_object_get(e, "id")));
		if (t == NULL || t->lifecycle == NULL || strcmp(t->lifecycle, "Active") != 0)
			return catalog_fail_state(err, "In Design",
						  "productOffering: its productOfferingPrice %s is "
						  "%s, not Active",
						  json_string_value(json_object_get(e, "id")),
						  t && t->lifecycle ? t->lifecycle : "missing");
		unit = json_string_value(
			json_object_get(json_object_get(t->body, "price"), "unit"));
		if (currency != NULL && unit != NULL && strcmp(currency, unit) != 0)
			return catalog_fail_state(err, "In Design",
						  "productOffering: its prices are in %s and %s; "
						  "one currency an offering",
						  currency, unit);
		currency = unit;
	}
	return 0;
}

/* ---- representation and answer ------------------------------------------------ */

static void
decorate_ref(json_t *ref, enum catalog_kind to, const struct catalog_target *targets, size_t n)
{
	const char *id = json_string_value(json_object_get(ref, "id"));
	const struct catalog_target *t = target_of(targets, n, id);
	char href[160];

	if (id == NULL)
		return;
	catalog_href(to, id, href, sizeof(href));
	json_object_set_new(ref, "href", json_string(href));
	if (t != NULL && t->name != NULL)
		json_object_set_new(ref, "name", json_string(t->name));
	json_object_set_new(ref, "@referredType", json_string(kinds[to].type));
}

json_t *
catalog_represent(enum catalog_kind kind, const char *id, const json_t *body,
		  const struct catalog_meta *meta, const struct catalog_target *targets, size_t n)
{
	json_t *doc = json_deep_copy(body);
	char href[160], t[32];

	if (doc == NULL)
		return NULL;
	catalog_href(kind, id, href, sizeof(href));
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "href", json_string(href));
	json_object_set_new(doc, "@type", json_string(kinds[kind].type));
	catalog_time_format(meta->last_update_us, t);
	if (kinds[kind].lifecycle) {
		json_object_set_new(doc, "lastUpdate", json_string(t));
	} else {
		json_object_set_new(doc, "version", json_integer(meta->revision));
		json_object_set_new(doc, "updated_at", json_string(t));
	}
	if (kind == CATALOG_CATEGORY)
		json_object_set_new(doc, "isRoot", json_boolean(!json_object_get(doc, "parentId")));
	for (size_t a = 0; a < N_REF_ATTRS; a++) {
		const struct ref_attr *ra = &ref_attrs[a];
		json_t *v = json_object_get(doc, ra->attr), *e;
		size_t i;

		if (ra->from != kind || v == NULL)
			continue;
		if (ra->shape == REF_ONE)
			decorate_ref(v, ra->to, targets, n);
		else if (ra->shape == REF_MANY)
			json_array_foreach (v, i, e)
				decorate_ref(e, ra->to, targets, n);
	}
	return doc;
}

/* A price (stored in minor units) with its decimal value, for people and TMF clients. */
static void
answer_price(json_t *pop)
{
	json_t *price = json_object_get(pop, "price");
	json_t *minor = json_object_get(pop, "x-minorUnits");
	const char *unit = json_string_value(json_object_get(price, "unit"));

	if (json_is_object(price) && json_is_integer(minor) && unit != NULL)
		json_object_set_new(
			price, "value",
			json_real(catalog_money_value(json_integer_value(minor), unit)));
}

void
catalog_answer(enum catalog_kind kind, json_t *doc, int64_t now_us)
{
	json_t *e;
	size_t i;

	if (kind == CATALOG_PRICE)
		answer_price(doc);
	if (kind != CATALOG_OFFERING)
		return;
	json_array_foreach (json_object_get(doc, "productOfferingPrice"), i, e)
		answer_price(e);
	json_object_set_new(doc, "x-orderable",
			    json_boolean(catalog_offering_orderable(doc, now_us)));
}

/* ---- inventory items ------------------------------------------------------------ */

static bool
sku_ok(const char *s)
{
	return s[0] != '\0' && profile_name_ok(s);
}

static bool
item_kind_ok(const char *s)
{
	return strcmp(s, "cpe") == 0 || strcmp(s, "port-capacity") == 0 || strcmp(s, "sim") == 0 ||
	       strcmp(s, "other") == 0;
}

int
catalog_item_normalize(const json_t *in, json_t **ret, struct catalog_error *err)
{
	static const char *const m[] = {"@type", "name", "description", "kind", "sku",
					"quantity", NULL};
	struct norm n = {.in = in, .err = err};
	const char *type = json_string_value(json_object_get(in, "@type"));
	int r;

	if (json_object_get(in, "@type") != NULL && (type == NULL || strcmp(type, "InventoryItem")))
		return catalog_fail(err, -EINVAL, "invalid-argument", "/@type",
				    "@type: must be InventoryItem");
	n.out = json_object();
	r = only_members(&n, in, "", m) ?:
		take_string(&n, "name", true, CATALOG_NAME_MAX, NULL, "a name") ?:
		take_string(&n, "description", false, CATALOG_DESCRIPTION_MAX, NULL, "text") ?:
		take_string(&n, "kind", true, 20, item_kind_ok,
			    "one of cpe, port-capacity, sim, other") ?:
		take_string(&n, "sku", true, 64, sku_ok,
			    "a stock keeping unit: letters, digits, . - _") ?:
		take_int(&n, "quantity", true, 0, CATALOG_QUANTITY_MAX);
	if (r < 0) {
		json_decref(n.out);
		return r;
	}
	*ret = n.out;
	return 0;
}
