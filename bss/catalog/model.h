/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CATALOG_MODEL_H
#define CUCO_BSS_CATALOG_MODEL_H

/*
 * The catalog domain's pure rules: who may do what, the lifecycle machine,
 * money, times, bandwidth profiles (by the dataplane's own decoder),
 * promotions and the price of an offering at a date, and the normalised
 * form of every kind of resource. No database here: internal to
 * bss/catalog and its unit tests (tests/unit/test_catalog.c). Callable from
 * any thread.
 *
 * Forms of a resource:
 *   stored form     what the write side keeps (resources.body) and merge
 *                   patches apply to: the members a client may set, checked
 *                   and normalised; references as {"id"}; money in integer
 *                   minor units ("x-minorUnits") with its currency.
 *   representation  the stored form plus the server's members (id, href,
 *                   @type, lastUpdate or version/updated_at), references
 *                   with href and name: what events carry and the read
 *                   model keeps.
 *   answer          the representation plus what depends on the moment of
 *                   the answer: decimal money values ("price.value") and an
 *                   offering's "x-orderable" (catalog_answer()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/catalog/catalog.h"

#define CATALOG_UUID_LEN 36
#define CATALOG_NAME_MAX 200
#define CATALOG_DESCRIPTION_MAX 2000
#define CATALOG_REFS_MAX 128		 /* references of one resource */
#define CATALOG_MINOR_MAX 100000000000LL /* 10^11 minor units: 1 000 000 000.00 EUR */
#define CATALOG_MONTHS_MAX 120
#define CATALOG_RESERVE_MAX 1000000
#define CATALOG_QUANTITY_MAX 1000000000LL

/* ---- errors and roles ------------------------------------------------------ */

/*
 * Fill @err (may be NULL) with @code, @field and the message; returns
 * @errnum so that callers can `return catalog_fail(...)`.
 */
int catalog_fail(struct catalog_error *err, int errnum, const char *code, const char *field,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* -EBUSY "illegal-transition" with @current as err->current. */
int catalog_fail_state(struct catalog_error *err, const char *current, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Any role reads the catalog; admin and operator write it. */
bool catalog_may_read(const struct cuco_principal *p);
bool catalog_may_write(const struct cuco_principal *p);

/* ---- lifecycle ------------------------------------------------------------- */

enum catalog_status {
	CATALOG_IN_DESIGN = 0,
	CATALOG_ACTIVE,
	CATALOG_RETIRED,
};

/* "In Design", "Active", "Retired". */
const char *catalog_status_name(enum catalog_status s);
int catalog_status_parse(const char *s, enum catalog_status *ret);

/* In Design -> Active -> Retired; staying put is allowed too. */
bool catalog_transition_allowed(enum catalog_status from, enum catalog_status to);

/* ---- times ----------------------------------------------------------------- */

/*
 * RFC 3339 date-time ("2027-01-15T10:00:00Z", "...+02:00", fractions) or,
 * when @date_ok, a full date ("2027-01-15", midnight UTC), into Unix
 * microseconds. -EINVAL otherwise (also 30 February).
 */
int catalog_time_parse(const char *s, bool date_ok, int64_t *ret_us);

/* Unix microseconds as UTC RFC 3339 with milliseconds: "2027-01-15T10:00:00.000Z". */
void catalog_time_format(int64_t us, char buf[32]);

/*
 * Whether @at_us falls in validFor {startDateTime, endDateTime} (start
 * included, end excluded, a missing bound open). A NULL @valid_for is always.
 */
bool catalog_valid_at(const json_t *valid_for, int64_t at_us);

/* ---- money ----------------------------------------------------------------- */

/*
 * Digits after the decimal point of an ISO 4217 currency: 0 (JPY, KRW ...),
 * 3 (BHD, KWD ...), 2 for the others. -EINVAL unless 3 capital letters.
 */
int catalog_currency_exponent(const char *code);

/*
 * A decimal amount of @currency in integer minor units: 29.9 EUR -> 2990.
 * -EINVAL when negative, above CATALOG_MINOR_MAX, or with more decimals than
 * the currency has (29.905 EUR).
 */
int catalog_money_to_minor(double value, const char *currency, int64_t *ret);

/* Minor units as the decimal value (for answers only: 2990 EUR -> 29.9). */
double catalog_money_value(int64_t minor, const char *currency);

/* ---- bandwidth profiles ---------------------------------------------------- */

/*
 * Check a profile's two meters as the dataplane's provisioning decoder does
 * (common/proto/dpproto.h: mode, cir, pir|eir, cbs, pbs|ebs, green, yellow,
 * red, shape), so that anything the catalog accepts the fast path accepts.
 * On success @ret_up/@ret_down get the meters with every default written
 * out; on failure @err names the field ("/up/pir").
 */
int catalog_profile_meters(const char *name, const json_t *up, const json_t *down, json_t **ret_up,
			   json_t **ret_down, struct catalog_error *err);

/* ---- resources ------------------------------------------------------------- */

/* JSON merge patch (RFC 7396): a new value, @target and @patch borrowed. */
json_t *catalog_merge_patch(const json_t *target, const json_t *patch);

/*
 * Check and normalise @in (a client's body, or a stored form with a merge
 * patch applied) into the stored form of @kind (new reference in @ret).
 * Field errors name JSON pointers of the body. @creating: a new resource
 * must start In Design.
 */
int catalog_normalize(enum catalog_kind kind, const json_t *in, bool creating, json_t **ret,
		      struct catalog_error *err);

/*
 * Prepare a stored form for @patch: money given in one form in @patch
 * replaces the other (a new price.value drops x-minorUnits). Changes @target.
 */
void catalog_patch_prepare(enum catalog_kind kind, json_t *target, const json_t *patch);

/* Members of the stored forms that differ, as an array of names (new). */
json_t *catalog_changes(const json_t *before, const json_t *after);

/*
 * Whether the changes @changes (names) may be made outside In Design: only
 * lifecycleStatus, description and validFor. Otherwise writes the first
 * other name to @ret_name.
 */
bool catalog_changes_frozen_ok(const json_t *changes, const char **ret_name);

/* A reference of a stored form to another resource. */
struct catalog_ref {
	const char *attr;	  /* "productSpecification", "offering_ids" ... */
	const char *id;		  /* borrowed from the stored form */
	enum catalog_kind target; /* the kind it must be */
	char field[64];		  /* its JSON pointer, for errors */
};

/*
 * The references of stored form @body of @kind, at most @max (-E2BIG past
 * it). Ids are borrowed from @body.
 */
int catalog_refs(enum catalog_kind kind, const json_t *body, struct catalog_ref *refs, size_t max,
		 size_t *ret_n);

/* What the write side knows of a referenced resource. */
struct catalog_target {
	const char *id;
	enum catalog_kind kind;
	const char *name;
	const char *lifecycle; /* NULL for kinds without */
	const json_t *body;    /* its stored form */
};

/*
 * An offering may become Active: it has a specification and at least one
 * price, all Active, all prices in one currency. @targets are the
 * offering's resolved references (@n). -EBUSY "illegal-transition" naming
 * what is missing, with current "In Design".
 */
int catalog_offering_activation_check(const json_t *body, const struct catalog_target *targets,
				      size_t n, struct catalog_error *err);

/* "/tmf-api/productCatalogManagement/v4/productOffering/<id>" ... into @buf. */
void catalog_href(enum catalog_kind kind, const char *id, char *buf, size_t len);

/* "ProductOffering", "BandwidthProfile", ... */
const char *catalog_type_name(enum catalog_kind kind);

/*
 * The representation of stored form @body of resource @id (new reference):
 * server members added, references with href and the name found in
 * @targets (@n; a reference not found keeps only id and href).
 */
json_t *catalog_represent(enum catalog_kind kind, const char *id, const json_t *body,
			  const struct catalog_meta *meta, const struct catalog_target *targets,
			  size_t n);

/*
 * Turn a representation (or a read-model document) into an answer at
 * @now_us, in place: every price's decimal "value" from its minor units,
 * and for offerings "x-orderable".
 */
void catalog_answer(enum catalog_kind kind, json_t *doc, int64_t now_us);

/* ---- offerings, promotions, prices ---------------------------------------- */

/*
 * Whether the offering document @doc may be ordered at @at_us: Active,
 * isSellable not false, and validFor holding @at_us.
 */
bool catalog_offering_orderable(const json_t *doc, int64_t at_us);

/*
 * Whether promotion @promo (a representation) applies to a subscription of
 * offering @offering_id made at @at_us, in month @month (1 = the first): its
 * window [valid_from, valid_to) holds @at_us, it names the offering, and
 * @month <= duration_months.
 */
bool catalog_promotion_applies(const json_t *promo, const char *offering_id, int64_t at_us,
			       unsigned month);

/*
 * A promotion's discount on a recurring price of @recurring minor units in
 * @currency: a percentage rounds half up ((recurring * pct + 50) / 100); an
 * amount in another currency gives 0; never more than @recurring.
 */
int64_t catalog_promotion_discount(const json_t *promo, int64_t recurring, const char *currency);

/*
 * The price of month @month (1, 2, ...) of a subscription to offering @doc
 * (its denormalised document: prices and promotions embedded, the snapshot
 * billing keeps) made at @at_us:
 *   recurring   sum of the recurring (monthly) prices valid at @at_us
 *   one_time    sum of the one-time prices valid at @at_us, in month 1 only
 *   discount    the best single promotion that applies (they do not stack;
 *               ties go to the earlier valid_from)
 *   total       recurring - discount + one_time
 * New object in @ret: {"offering": {"id", "name"}, "at", "month", "currency",
 * "recurring_minor", "one_time_minor", "discount_minor", "total_minor",
 * "promotion": {"id", "name", "duration_months"} | null, "prices": [ids]}.
 * -EINVAL for month 0 or above CATALOG_MONTHS_MAX * 10, prices in several
 * currencies, or no price valid at @at_us (field "at").
 */
int catalog_price_at(const json_t *doc, int64_t at_us, unsigned month, json_t **ret,
		     struct catalog_error *err);

/* ---- inventory ------------------------------------------------------------- */

/* An item's body: name, description, kind, sku, quantity; normalised into @ret. */
int catalog_item_normalize(const json_t *in, json_t **ret, struct catalog_error *err);

/* A reservation id: [A-Za-z0-9._:-]{1,64}. */
bool catalog_reservation_id_valid(const char *s);

#endif
