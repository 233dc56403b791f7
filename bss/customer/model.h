/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CUSTOMER_MODEL_H
#define CUCO_BSS_CUSTOMER_MODEL_H

/*
 * The customer domain's pure rules: the lifecycle, validation of every
 * field, authorization and field visibility, loyalty arithmetic,
 * pseudonymisation. No database here: internal to bss/customer and its unit
 * tests (tests/unit/test_customer.c). Callable from any thread.
 *
 * Field names in errors are JSON pointers into the request body
 * ("/contactMedium/1/characteristic/phoneNumber").
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/customer/customer.h"

#define CUSTOMER_UUID_LEN 36
#define CUSTOMER_NAME_MAX 200	   /* bytes, names and free text */
#define CUSTOMER_MEDIA_MAX 20	   /* contact media of a customer or party */
#define CUSTOMER_ACCOUNTS_MAX 20
#define CUSTOMER_CHARS_MAX 50	   /* characteristics */
#define CUSTOMER_POINTS_MAX 1000000000LL /* one loyalty transaction */
#define CUSTOMER_BALANCE_MAX 1000000000000000LL
#define CUSTOMER_REFERENCE_MAX 100
#define CUSTOMER_CLOCK_SKEW 300	   /* seconds a consent's time may be ahead of ours */

/*
 * Fill @err (may be NULL) with @code, @field and the message; returns
 * @errnum so that a caller can `return customer_fail(...)`.
 */
int customer_fail(struct customer_error *err, int errnum, const char *code, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- Lifecycle --------------------------------------------------------------- */

enum customer_state {
	CUSTOMER_PROSPECT = 0,
	CUSTOMER_ACTIVE,
	CUSTOMER_SUSPENDED,
	CUSTOMER_CLOSED,
	CUSTOMER_STATE_COUNT,
};

/* "prospect", "active", "suspended", "closed"; and back (-EINVAL for another word). */
const char *customer_state_name(enum customer_state s);
int customer_state_parse(const char *s, enum customer_state *ret);

/* Whether the lifecycle allows @from -> @to (never @from -> @from). */
bool customer_transition_allowed(enum customer_state from, enum customer_state to);

/*
 * 0 when allowed; else -EBUSY "illegal-transition" with the current state
 * and the states allowed from it in the message.
 */
int customer_check_transition(enum customer_state from, enum customer_state to,
			      struct customer_error *err);

/* The states reachable from @from, as a JSON array of names (new reference). */
json_t *customer_transitions_from(enum customer_state from);

/* ---- Values ----------------------------------------------------------------- */

/* local@domain: RFC 5321 sizes, dot-atom local part, a domain of two labels or more. */
bool customer_email_valid(const char *s);

/* E.164: "+", a country code not starting with 0, 7 to 15 digits in all. */
bool customer_e164_valid(const char *s);

/* ISO 3166-1 alpha-2 form: two upper-case letters. */
bool customer_country_valid(const char *s);

/* A calendar date YYYY-MM-DD from 1900-01-01. */
bool customer_date_valid(const char *s);

/* RFC 3339 date-time (with Z or an offset); 0 and the Unix time, or -EINVAL. */
int customer_datetime_parse(const char *s, int64_t *ret);

/* A BCP 47 language tag of the common form: ll, lll, ll-RR, ll-Ssss, ll-Ssss-RR. */
bool customer_language_valid(const char *s);

/* 1 to @max bytes of UTF-8 without control characters. */
bool customer_text_valid(const char *s, size_t max);

/*
 * Check an array of ContactMedium at @field and write its normalized copy to
 * @ret (only the known attributes, in one order). 0 or -EINVAL naming the
 * element's attribute.
 */
int customer_contact_media_check(const json_t *in, const char *field, json_t **ret,
				 struct customer_error *err);

/* ---- Resources ---------------------------------------------------------------- */

/*
 * A new Customer document from a POST body (without its engagedParty, which
 * the caller resolves): "name" defaults to @party_name, "status" to
 * prospect (only prospect or active). Writes @ret (new reference).
 */
int customer_doc_create(const json_t *body, const char *party_name, json_t **ret,
			struct customer_error *err);

/*
 * Apply a merge patch to the Customer document @doc (the current one, as the
 * store reads it). @own_only: a self-care principal, who may change only
 * "contactMedium". Appends the names of the attributes that changed to
 * @changed (an array). A status change is checked against the lifecycle. 0
 * or -EINVAL / -EBUSY / -EPERM; @doc is then unspecified.
 */
int customer_doc_patch(json_t *doc, const json_t *patch, bool own_only, json_t *changed,
		       struct customer_error *err);

/* The TMF632 "@type" of a kind: "Individual", "Organization". */
const char *customer_party_type(enum customer_party_kind kind);

/* A new party document from a POST body. */
int customer_party_doc_create(enum customer_party_kind kind, const json_t *body, json_t **ret,
			      struct customer_error *err);

/* Merge patch of a party; as customer_doc_patch(). Keeps "fullName" in step. */
int customer_party_doc_patch(enum customer_party_kind kind, json_t *doc, const json_t *patch,
			     bool own_only, json_t *changed, struct customer_error *err);

/* The name a party is known by: "given family" or the organization's name. */
void customer_party_display_name(const json_t *party, char *buf, size_t len);

/* ---- Authorization and visibility ------------------------------------------------ */

enum customer_action {
	CUSTOMER_READ = 0,
	CUSTOMER_REGISTER,
	CUSTOMER_UPDATE,
	CUSTOMER_STATUS,
	CUSTOMER_DELETE,
	CUSTOMER_CARE, /* consents and communication preferences */
	CUSTOMER_EARN,
	CUSTOMER_REDEEM,
	CUSTOMER_EXPORT,
	CUSTOMER_ERASE,
	CUSTOMER_ACTION_COUNT,
};

/* The action's name for messages ("customer.read"). */
const char *customer_action_name(enum customer_action a);

/* Whether @roles may do @a on any customer / on their own customer only. */
bool customer_may_any(uint32_t roles, enum customer_action a);
bool customer_may_own(uint32_t roles, enum customer_action a);

/*
 * Whether @p may do @a on customer @customer_id: any customer, or its own
 * (its customer_id). @customer_id NULL: an action not on one customer
 * (register, list): "any" rights only, except reads, which self-care may
 * do (the list is then cut to its own).
 */
bool customer_may(const struct cuco_principal *p, enum customer_action a,
		  const char *customer_id);

/* Whether @p acts only as a customer itself (self-care), not as staff. */
bool customer_is_own_only(const struct cuco_principal *p);

/* Classes of personal attributes. */
enum {
	CUSTOMER_SEE_NAME = 1u << 0,	       /* names */
	CUSTOMER_SEE_BILLING_CONTACT = 1u << 1, /* contact media of contactType "billing" */
	CUSTOMER_SEE_CONTACT = 1u << 2,	       /* every other contact medium */
	CUSTOMER_SEE_IDENTITY = 1u << 3,       /* birth date, gender, nationality */
	CUSTOMER_SEE_ALL = 0xfu,
};

/* The classes a principal holding @roles sees (the union over its roles). */
unsigned customer_visibility(uint32_t roles);

/* Remove from a Customer / a party document what @visible does not cover. */
void customer_redact(json_t *doc, unsigned visible);
void customer_party_redact(json_t *doc, unsigned visible);

/* ---- Consents, preferences, loyalty ---------------------------------------------- */

/* A consent record's body at time @now (Unix seconds). */
int customer_consent_check(const json_t *body, int64_t now, struct customer_error *err);

/* Whether @s is a channel ("email", "sms", "phone", "post") / a purpose. */
bool customer_channel_valid(const char *s);
bool customer_purpose_valid(const char *s);

/* Communication preferences: the defaults, and a body checked and completed. */
json_t *customer_preferences_default(void);
int customer_preferences_check(const json_t *body, json_t **ret, struct customer_error *err);

/* A loyalty body: kind, points, reference, reason. */
int customer_loyalty_check(const json_t *body, struct customer_error *err);

/*
 * The balance after earning or redeeming @points from @balance: 0 and
 * @ret; -EINVAL for points outside 1..CUSTOMER_POINTS_MAX, -ERANGE past
 * CUSTOMER_BALANCE_MAX, -ENOSPC when a redemption exceeds the balance.
 */
int customer_loyalty_apply(int64_t balance, bool redeem, int64_t points, int64_t *ret);

/* ---- Pseudonymisation ---------------------------------------------------------- */

/* "Erased " and the first 8 hex digits of @id: the same for the same id. */
void customer_pseudonym(const char *id, char out[24]);

/*
 * Pseudonymise a Customer / a party document in place: names become
 * @pseudonym, contact media, characteristics, status reason, birth date,
 * gender, nationality, title go. Ids, status, customer number, accounts and
 * validity stay.
 */
void customer_doc_erase(json_t *doc, const char *pseudonym);
void customer_party_doc_erase(enum customer_party_kind kind, json_t *doc, const char *pseudonym);

/* Whether @s is a UUID in lower-case text form. */
bool customer_uuid_valid(const char *s);

#endif
