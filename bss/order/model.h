/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_ORDER_MODEL_H
#define CUCO_BSS_ORDER_MODEL_H

/* What the order domain's files share beside order.h. Internal to bss/order. */

#include <stdbool.h>

#include <jansson.h>

#include "bss/order/order.h"

/* The first retry's wait; it doubles per attempt up to the cap. */
#define ORDER_BACKOFF_BASE_MS 250

/* Fill @err and return @rc. */
int order_fail(struct order_error *err, int rc, const char *code, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A date (2027-01-15) or an RFC 3339 date-time. */
bool order_date_valid(const char *s);

/* TMF notes: at most 20 of {"text" 1..1000 bytes, ...}. */
bool order_note_valid(const json_t *note);

#include "bss/core/db.h"

struct order {
	struct db *db;
	char dberr[256];
};

int ord_begin(struct order *o, struct order_error *err);
int ord_commit(struct order *o, struct order_error *err);
void ord_rollback(struct order *o);
PGresult *ord_exec(struct order *o, const char *sql, int n, const char *const *params);
int ord_internal(struct order *o, const char *what, struct order_error *err);

/*
 * Append an order event at version @expected + 1 in the open transaction
 * (takes @payload). -ESTALE when another writer got there first.
 */
int ord_event(struct order *o, const struct cuco_principal *p, const char *id, int64_t expected,
	      const char *type, json_t *payload, struct order_error *err);

/* Move order @id (and, when @item_state, its unfinished items) to @state: bumps its version. */
int ord_set_state(struct order *o, const struct cuco_principal *p, const char *id,
		  const char *state, const char *item_state, const char *reason,
		  struct order_error *err);

/* The order's representation (reads its row and items in the open transaction or not). */
int ord_load(struct order *o, const char *id, bool lock, json_t **ret, int64_t *ret_version,
	     struct order_error *err);

#define ORD_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The saga's own principal: what it sends commands as. */
extern const struct cuco_principal order_saga_principal;

#endif
