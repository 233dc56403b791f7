/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CUSTOMER_STORE_H
#define CUCO_BSS_CUSTOMER_STORE_H

/*
 * The customer domain's SQL (schema "customer", see migrations/). Each
 * function runs on @db, inside the caller's transaction when there is one,
 * and returns 0, -ENOENT (no such row), -EEXIST (a unique key taken) or -EIO
 * with the server's message in @err. Documents are built by the SQL in
 * their TMF shape (see customer.h). Internal to bss/customer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/customer/model.h"

struct customer_row {
	char id[CUSTOMER_UUID_LEN + 1];
	char number[16];
	char party_id[CUSTOMER_UUID_LEN + 1];
	enum customer_party_kind party_kind;
	enum customer_state status;
	bool erased;
	int64_t balance;
	int64_t version;
	json_t *doc;   /* the TMF Customer */
	json_t *prefs; /* communication preferences */
};

struct party_row {
	char id[CUSTOMER_UUID_LEN + 1];
	enum customer_party_kind kind;
	bool erased;
	int64_t version;
	json_t *doc; /* the TMF Individual or Organization */
};

void store_customer_row_clear(struct customer_row *r);
void store_party_row_clear(struct party_row *r);

/* ---- Customers ------------------------------------------------------------------ */

/* By id; @lock: the row FOR UPDATE first (writers queue on it). */
int store_customer_get(struct db *db, const char *id, bool lock, struct customer_row *ret,
		       char *err, size_t errlen);

/* The customer whose engaged party is @party_id: its id into @ret_id. */
int store_customer_of_party(struct db *db, const char *party_id, char ret_id[CUSTOMER_UUID_LEN + 1],
			    char *err, size_t errlen);

/* Insert (version 1) from @doc; the customer number is made here. */
int store_customer_insert(struct db *db, const char *id, const char *party_id, const json_t *doc,
			  const json_t *prefs, char *err, size_t errlen);

/*
 * Write @doc's attributes (name, status, statusReason, contactMedium,
 * account, characteristic, validFor), @prefs, the balance and @version;
 * @erased sets erased_at (once).
 */
int store_customer_save(struct db *db, const char *id, const json_t *doc, const json_t *prefs,
			int64_t balance, int64_t version, bool erased, char *err, size_t errlen);

int store_customer_delete(struct db *db, const char *id, char *err, size_t errlen);

struct store_customer_query {
	const char *name_pattern; /* ILIKE pattern (escaped), NULL: any */
	const char *status;
	const char *email;
	const char *phone;
	bool billing_contacts_only; /* email/phone match billing contact media only */
	const char *customer_number;
	const char *only_id; /* self-care: its own customer */
	unsigned limit, offset;
};

int store_customer_list(struct db *db, const struct store_customer_query *q, json_t **ret_items,
			int64_t *ret_total, char *err, size_t errlen);

/* ---- History ---------------------------------------------------------------------- */

/* A status change at aggregate @version; @from NULL at registration. */
int store_history_insert(struct db *db, const char *customer_id, int64_t version,
			 const char *from, const char *to, const char *reason, const char *by,
			 char *err, size_t errlen);
int store_history_list(struct db *db, const char *customer_id, json_t **ret, char *err,
		       size_t errlen);

/* ---- Parties ------------------------------------------------------------------------ */

int store_party_get(struct db *db, const char *id, bool lock, struct party_row *ret, char *err,
		    size_t errlen);
int store_party_insert(struct db *db, const char *id, enum customer_party_kind kind,
		       const json_t *doc, char *err, size_t errlen);
int store_party_save(struct db *db, const char *id, const json_t *doc, int64_t version,
		     bool erased, char *err, size_t errlen);
int store_party_delete(struct db *db, const char *id, char *err, size_t errlen);
int store_party_list(struct db *db, enum customer_party_kind kind, const char *name_pattern,
		     unsigned limit, unsigned offset, json_t **ret_items, int64_t *ret_total,
		     char *err, size_t errlen);

/* ---- Consents ----------------------------------------------------------------------- */

/* Insert from a checked @body; @ret gets the record. */
int store_consent_insert(struct db *db, const char *id, const char *customer_id,
			 const json_t *body, const char *by, json_t **ret, char *err,
			 size_t errlen);
int store_consent_list(struct db *db, const char *customer_id, const char *channel,
		       const char *purpose, unsigned limit, unsigned offset, json_t **ret_items,
		       int64_t *ret_total, char *err, size_t errlen);

/* ---- Loyalty ------------------------------------------------------------------------- */

/* The transaction of @reference, or -ENOENT. */
int store_loyalty_find(struct db *db, const char *customer_id, const char *reference,
		       json_t **ret, char *err, size_t errlen);
int store_loyalty_insert(struct db *db, const char *id, const char *customer_id,
			 const json_t *body, int64_t balance_after, const char *by, json_t **ret,
			 char *err, size_t errlen);
/* {"earned", "redeemed", "transactions"} */
int store_loyalty_totals(struct db *db, const char *customer_id, json_t **ret, char *err,
			 size_t errlen);
int store_loyalty_list(struct db *db, const char *customer_id, unsigned limit, unsigned offset,
		       json_t **ret_items, int64_t *ret_total, char *err, size_t errlen);

/* ---- GDPR ------------------------------------------------------------------------------ */

/* The outbox's events of the customer and of its party, oldest first. */
int store_events_of(struct db *db, const char *customer_id, const char *party_id, json_t **ret,
		    char *err, size_t errlen);

/* Blank the free text of the customer's history, consents and loyalty transactions. */
int store_erase_free_text(struct db *db, const char *customer_id, char *err, size_t errlen);

#endif
