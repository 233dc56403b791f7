/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_INTERNAL_H
#define CUCO_BSS_BILLING_INTERNAL_H

#include <libpq-fe.h>

#include "bss/billing/billing.h"
#include "bss/core/db.h"

/* What every file of the domain shares: the handle, errors, SQL helpers. */

struct billing {
	struct db *db;
	struct billing_config cfg;
};

int bill_fail(struct billing_error *err, int rc, const char *code, const char *field,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Run @sql; NULL after filling @err (conflict on a unique violation, -EAGAIN on a serialization failure). */
PGresult *bill_exec(struct db *db, const char *sql, int n, const char *const *params,
		    struct billing_error *err, int *ret_rc);

/* Run @sql that answers one JSON column: the first row's document (a new reference) or -ENOENT. */
int bill_doc(struct db *db, const char *sql, int n, const char *const *params, json_t **ret,
	     struct billing_error *err);

/*
 * GET of one resource by id as the caller may see it: @sql answers one
 * document with $1 the id and $2 the caller's own customer (NULL: any).
 * Refusal for a caller who may not read; not-found naming @what for a bad
 * id, a missing one or another customer's.
 */
int bill_own_doc(struct billing *b, const struct cuco_principal *p, const char *what,
		 const char *id, const char *sql, json_t **ret, struct billing_error *err);

/*
 * A page of documents: @sql answers (doc, count(*) OVER ()) rows, its last two
 * parameters are LIMIT and OFFSET (written here from @f).
 */
int bill_page(struct db *db, const char *sql, int n, const char **params,
	      const struct billing_filter *f, json_t **ret, int64_t *ret_total,
	      struct billing_error *err);

bool bill_may_read(const struct cuco_principal *p);
bool bill_may_write(const struct cuco_principal *p);
/* The customer a self-care principal is limited to, or NULL for staff. */
const char *bill_own_customer(const struct cuco_principal *p);
int bill_deny(const struct cuco_principal *p, struct billing_error *err);

/* Append an event inside the open transaction (aggregate at @expected events so far). Takes @payload. */
int bill_event(struct db *db, const struct cuco_principal *p, const char *agg_type,
	       const char *agg_id, int64_t expected, const char *type, json_t *payload,
	       struct billing_error *err);

int bill_begin(struct db *db, struct billing_error *err);
/* Commit; -EAGAIN on a serialization failure. */
int bill_commit(struct db *db, struct billing_error *err);
void bill_rollback(struct db *db);

/* Today (UTC) as days since the epoch. */
int32_t bill_today(void);

/*
 * The customer's account, opened with @cfg's defaults when it has none
 * (cycle day: @start's day for anniversary cycles; @currency or the
 * default). Inside the caller's transaction. Its id in @ret_id.
 */
int bill_account_ensure(struct db *db, const struct cuco_principal *p,
			const struct billing_config *cfg, const char *customer_id,
			int32_t start, const char *currency, char ret_id[37],
			struct billing_error *err);

/*
 * Charges of plan @plan_id (a row of plans, locked) once activated, with the
 * service ids of @services ([{order_item_id, service_id}], may be NULL).
 */
int bill_charges_from_plan(struct db *db, const struct billing_config *cfg,
			   const struct cuco_principal *p, const json_t *plan,
			   const json_t *services, struct billing_error *err);
/* Undo what activating plan @plan_id did to the charges. */
int bill_charges_undo(struct db *db, const char *plan_id, struct billing_error *err);

/*
 * Allocate the account's unallocated payments to its open invoices, oldest
 * first, and move those invoices to partiallyPaid / settled with their
 * events; restore the account when nothing is overdue any more. Inside the
 * caller's transaction.
 */
int bill_allocate(struct db *db, const struct cuco_principal *p, const char *account_id,
		  struct billing_error *err);

/* After a payment: the account's dunning restarts and its services are restored when nothing is overdue. */
int bill_dunning_settle(struct db *db, const struct cuco_principal *p, const char *account_id,
			struct billing_error *err);

#endif
