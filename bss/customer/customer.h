/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CUSTOMER_H
#define CUCO_BSS_CUSTOMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/command.h"
#include "bss/core/principal.h"

/*
 * The customer domain: customers (TM Forum TMF629 Customer), their engaged
 * parties (TMF632 Individual and Organization), the customer's lifecycle,
 * consents, communication preferences, loyalty points, and the GDPR export
 * and erasure. docs/customer.md describes the tables, events and routes.
 *
 * Resources are JSON in their TM Forum shape (camelCase attributes, "id",
 * "href", "@type"); the domain validates every field itself (the gateway's
 * JSON Schemas are a first check only), so that REST, NETCONF and the CLI
 * behave the same. The appliance's own resources (consents, preferences,
 * loyalty, export) use snake_case, as the rest of /api/v1.
 *
 * Every function takes the caller's principal (never NULL) and authorizes
 * the call itself. Who may do what (customer_may() in model.c):
 *
 *   action                       any customer                        own (self-care)
 *   read                         admin operator support billing      yes
 *                                read-only
 *   register (customer, party)   admin operator support              no
 *   update profile               admin operator support              contact media only
 *   change status                admin operator support              no
 *   delete (a prospect)          admin operator                      no
 *   consents, preferences        admin operator support              yes
 *   loyalty earn                 admin operator billing              no
 *   loyalty redeem               admin operator support billing      yes
 *   export                       admin operator support              yes
 *   erase (GDPR)                 admin                               no
 *
 * "own": a self-care principal acts only on the customer whose id is its
 * customer_id (and on that customer's engaged party). What a reader sees of
 * the personal fields depends on its roles (customer_visibility()): admin,
 * operator, support and self-care see everything; billing sees names and
 * the billing contact media (contactType "billing") but not the other
 * contact media nor the birth date, gender and nationality; read-only sees
 * no personal field at all. Hidden attributes are left out of the answer.
 * Filters on personal fields need the same visibility.
 *
 * Lifecycle (attribute "status"): prospect -> active | closed;
 * active -> suspended | closed; suspended -> active | closed; closed is
 * final. A customer is registered as prospect (default) or active.
 *
 * Every change writes its event(s) to the domain's outbox in the same
 * transaction (types customer.customer.* and customer.party.*, see
 * docs/customer.md), with the principal's traceparent. Events carry ids,
 * states and the names of changed attributes, never personal values: the
 * outbox is append-only and must hold nothing an erasure would have to
 * remove. Writes lock the aggregate's row, so concurrent writers queue; the
 * aggregate's version (the ETag) moves by one per event.
 *
 * Errors: functions return 0 or a negative errno and fill @err:
 *
 *   code                  errno     meaning
 *   invalid-argument      -EINVAL   a field is malformed (err->field: JSON pointer)
 *   not-found             -ENOENT   no such customer, party or record
 *   illegal-transition    -EBUSY    the status change is not allowed from the
 *                                   current state (err->current_state)
 *   invalid-state         -EBUSY    the operation needs another state (loyalty
 *                                   on a customer that is not active; a delete
 *                                   of a customer that is not a prospect)
 *   erased                -EBUSY    the customer was erased: no more changes
 *   insufficient-points   -EBUSY    a redemption beyond the balance (err->balance)
 *   conflict              -EEXIST   a loyalty reference reused for another
 *                                   transaction; a party already a customer, or
 *                                   still one (delete)
 *   stale-version         -ESTALE   the expected version is not the current one
 *   forbidden             -EPERM    the principal may not do this
 *   internal              -EIO      the database failed
 *
 * Threads: a struct customer owns one database connection; use it from one
 * thread at a time (one per request worker).
 */

struct customer;

struct customer_error {
	char code[32];		/* "invalid-argument", ... (see above) */
	char field[96];		/* JSON pointer ("/contactMedium/0/...") or "" */
	char message[256];	/* for people: names the field, the value, what is allowed */
	char current_state[16]; /* illegal-transition, invalid-state: the customer's status */
	int64_t balance;	/* insufficient-points: the balance */
};

/* Bring the schema "customer" up to date. Called once at start, before customer_open(). */
int customer_migrate(const char *url, struct customer_error *err);

/* Connect as the domain's role. Returns 0, -EINVAL (no URL) or -EIO. */
int customer_open(const char *url, struct customer **ret, struct customer_error *err);

/* Close; accepts NULL, returns NULL. */
struct customer *customer_close(struct customer *c);

/* ---- Customers (TMF629) ---------------------------------------------------- */

/*
 * A Customer: {"id", "href", "@type": "Customer", "@baseType": "PartyRole",
 * "name", "status", "statusReason", "customerNumber" (an extension: the
 * reference billing keeps, "C" and 9 digits), "engagedParty": {"id", "href",
 * "name", "@referredType": "Individual"|"Organization"}, "contactMedium": [],
 * "account": [{"id", "name", "@referredType"}], "characteristic": [{"name",
 * "value"}], "validFor": {"startDateTime", "endDateTime"}}.
 *
 * A ContactMedium: {"mediumType": "email"|"phone"|"mobile"|"fax"|
 * "postalAddress", "preferred": bool, "validFor", "characteristic":
 * {"contactType": "primary"|"billing"|"home"|"work"|"technical"|"other",
 * "emailAddress" | "phoneNumber" (E.164) | "faxNumber" (E.164) | "street1",
 * "street2", "city", "postCode", "stateOrProvince", "country" (ISO 3166-1
 * alpha-2)}}. Addresses are contact media of type postalAddress; the billing
 * contact is the contact media whose contactType is "billing".
 *
 * @ret_version (may be NULL) gets the aggregate's version: the ETag.
 */

/*
 * Register a customer for the existing party @body.engagedParty.id (which
 * plays no customer role yet). "name" defaults to the party's name,
 * "status" to prospect (prospect or active). Event
 * customer.customer.registered.
 */
int customer_create(struct customer *c, const struct cuco_principal *p, const json_t *body,
		    json_t **ret, int64_t *ret_version, struct customer_error *err);

int customer_get(struct customer *c, const struct cuco_principal *p, const char *id,
		 json_t **ret, int64_t *ret_version, struct customer_error *err);

struct customer_filter {
	const char *name;	    /* part of the name, any case; NULL: any */
	const char *status;	    /* NULL: any */
	const char *email;	    /* a contact medium's e-mail, any case */
	const char *phone;	    /* a contact medium's phone number (E.164) */
	const char *customer_number;
	unsigned limit;		    /* 0: 100; at most 1000 */
	unsigned offset;
};

/* A page (array, the caller owns it) and the number of all that match, oldest first. */
int customer_list(struct customer *c, const struct cuco_principal *p,
		  const struct customer_filter *f, json_t **ret_items, int64_t *ret_total,
		  struct customer_error *err);

/*
 * Apply a JSON merge patch (RFC 7396: arrays are replaced whole) of "name",
 * "status", "statusReason", "contactMedium", "account", "characteristic",
 * "validFor". @expected_version: the version read, or -1 for any. A status
 * change follows the lifecycle. Events customer.customer.updated (changed
 * attributes) and/or customer.customer.state_changed; a patch that changes
 * nothing writes nothing.
 */
int customer_update(struct customer *c, const struct cuco_principal *p, const char *id,
		    int64_t expected_version, const json_t *patch, json_t **ret,
		    int64_t *ret_version, struct customer_error *err);

/*
 * Delete a prospect (it never was a customer: nothing to keep for billing).
 * Other states: "invalid-state" (close it with a status change; erase it
 * for GDPR). Event customer.customer.deleted.
 */
int customer_delete(struct customer *c, const struct cuco_principal *p, const char *id,
		    int64_t expected_version, struct customer_error *err);

/* ---- Parties (TMF632) ------------------------------------------------------ */

enum customer_party_kind {
	CUSTOMER_INDIVIDUAL = 0,
	CUSTOMER_ORGANIZATION,
};

/*
 * An Individual: {"id", "href", "@type": "Individual", "givenName",
 * "familyName", "middleName", "title", "fullName" (made of the names),
 * "birthDate" (YYYY-MM-DD), "gender", "nationality" (ISO 3166-1 alpha-2),
 * "status": "initialized"|"validated"|"deceased", "contactMedium": []}.
 * An Organization: {"id", "href", "@type": "Organization", "name",
 * "tradingName", "organizationType", "isLegalEntity", "status":
 * "initialized"|"validated"|"closed", "contactMedium": []}.
 * Events customer.party.created, .updated, .deleted.
 */
int customer_party_create(struct customer *c, const struct cuco_principal *p,
			  enum customer_party_kind kind, const json_t *body, json_t **ret,
			  int64_t *ret_version, struct customer_error *err);
int customer_party_get(struct customer *c, const struct cuco_principal *p,
		       enum customer_party_kind kind, const char *id, json_t **ret,
		       int64_t *ret_version, struct customer_error *err);
/* @name: part of any of the names, any case; NULL: any. */
int customer_party_list(struct customer *c, const struct cuco_principal *p,
			enum customer_party_kind kind, const char *name, unsigned limit,
			unsigned offset, json_t **ret_items, int64_t *ret_total,
			struct customer_error *err);
int customer_party_update(struct customer *c, const struct cuco_principal *p,
			  enum customer_party_kind kind, const char *id, int64_t expected_version,
			  const json_t *patch, json_t **ret, int64_t *ret_version,
			  struct customer_error *err);
/* Only a party that plays no customer role ("conflict" otherwise). */
int customer_party_delete(struct customer *c, const struct cuco_principal *p,
			  enum customer_party_kind kind, const char *id, int64_t expected_version,
			  struct customer_error *err);

/* ---- Consents and communication preferences -------------------------------- */

/*
 * Record a consent given or withdrawn: @body {"channel": "email"|"sms"|
 * "phone"|"post", "purpose": "marketing"|"service"|"profiling"|
 * "third-party", "state": "given"|"withdrawn", "at" (RFC 3339, when the
 * customer said it; default now; not in the future), "source" (where it was
 * collected, up to 100 characters)}. Writes the record to @ret: {"id",
 * "customer_id", "channel", "purpose", "state", "at", "source",
 * "recorded_at", "recorded_by"}. Events customer.customer.consent_given /
 * .consent_withdrawn.
 */
int customer_consent_record(struct customer *c, const struct cuco_principal *p, const char *id,
			    const json_t *body, json_t **ret, struct customer_error *err);

/* The history, oldest first; @channel / @purpose NULL: any. */
int customer_consent_list(struct customer *c, const struct cuco_principal *p, const char *id,
			  const char *channel, const char *purpose, unsigned limit,
			  unsigned offset, json_t **ret_items, int64_t *ret_total,
			  struct customer_error *err);

/*
 * {"preferred_channel": "email"|"sms"|"phone"|"post"|null, "language"
 * (BCP 47, e.g. "en" or "pt-BR") | null, "channels": {"email": bool,
 * "sms": bool, "phone": bool, "post": bool}}; set replaces it whole
 * (event customer.customer.updated, changed ["communicationPreferences"]).
 */
int customer_preferences_get(struct customer *c, const struct cuco_principal *p,
			     const char *id, json_t **ret, int64_t *ret_version,
			     struct customer_error *err);
int customer_preferences_set(struct customer *c, const struct cuco_principal *p,
			     const char *id, int64_t expected_version, const json_t *body,
			     json_t **ret, int64_t *ret_version, struct customer_error *err);

/* ---- Loyalty --------------------------------------------------------------- */

/*
 * {"customer_id", "balance", "earned", "redeemed", "transactions": n}.
 */
int customer_loyalty_get(struct customer *c, const struct cuco_principal *p, const char *id,
			 json_t **ret, struct customer_error *err);

/*
 * Transactions, newest first: {"id", "kind", "points", "reference", "reason",
 * "balance_after", "at", "by"}.
 */
int customer_loyalty_history(struct customer *c, const struct cuco_principal *p, const char *id,
			     unsigned limit, unsigned offset, json_t **ret_items,
			     int64_t *ret_total, struct customer_error *err);

/*
 * Earn or redeem: @body {"kind": "earn"|"redeem", "points": 1..1000000000,
 * "reference": the caller's id of the transaction (unique per customer),
 * "reason"}. The customer must be active. A reference seen before with the
 * same kind and points returns the first transaction again with
 * *@ret_created false; with another kind or points: "conflict". A
 * redemption beyond the balance: "insufficient-points" (the balance never
 * goes below 0). @ret: the transaction and the new "balance". Events
 * customer.customer.loyalty_earned / .loyalty_redeemed.
 */
int customer_loyalty_post(struct customer *c, const struct cuco_principal *p, const char *id,
			  const json_t *body, json_t **ret, bool *ret_created,
			  struct customer_error *err);

/* ---- GDPR ------------------------------------------------------------------ */

/*
 * Everything the domain holds on the customer: {"exported_at", "customer",
 * "party", "state_history", "consents", "communication_preferences",
 * "loyalty": {"balance", "earned", "redeemed", "transactions" (a count),
 * "history"}, "events": the outbox's events of the customer and its party},
 * read in one snapshot.
 */
int customer_export(struct customer *c, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct customer_error *err);

/*
 * Erase (pseudonymise) the customer's personal data: the customer's name,
 * contact media and characteristics, the party's names, birth date,
 * gender, nationality and contact media, consent sources, loyalty reasons,
 * status reasons; communication preferences back to the defaults. Kept:
 * the ids, the customer number and the account references (so that
 * invoices still resolve), the state history, consents (channel, purpose,
 * state, time), loyalty transactions. The customer ends closed. Event
 * customer.customer.erased {"id", "customerNumber", "partyId", "account",
 * "previousStatus", "status", "kept"} and customer.party.erased.
 * A second erase changes nothing and returns the same answer with
 * *@ret_erased_now false. @ret: {"id", "customer_number", "status": "closed",
 * "erased": true}.
 */
int customer_erase(struct customer *c, const struct cuco_principal *p, const char *id,
		   json_t **ret, bool *ret_erased_now, struct customer_error *err);

/* ---- Commands on the bus ---------------------------------------------------- */

/*
 * The domain's command handler (a cmd_handler_fn, @arg unused), for admin
 * and operator principals (the order saga):
 *
 *   customer.notification.send {step_id, customer_id, kind, order_id, text}
 *       -> {notification_id, state: "sent"|"suppressed", channel, reason}:
 *       the channel is the preferred one, else email, sms, phone, post,
 *       the first that the preferences enable, whose last "service" consent
 *       is not withdrawn and that a contact medium reaches; none: recorded
 *       as suppressed. One per step id. Events customer.notification.sent /
 *       .suppressed (aggregate "notification").
 *   customer.customer.check {customer_id} -> {customer_id, status, erased}
 *       (a query)
 */
int customer_command(struct db *db, const struct cuco_principal *who, const char *type,
		     json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem);

/* Whether command @type only reads. */
bool customer_is_query(const char *type);

#endif
