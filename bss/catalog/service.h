/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CATALOG_SERVICE_H
#define CUCO_BSS_CATALOG_SERVICE_H

/*
 * What the domain's API files (resources.c, inventory.c, readmodel.c) share:
 * the handle, transactions, events, SQL helpers. Internal to bss/catalog.
 */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "bss/catalog/model.h"
#include "bss/core/db.h"

struct catalog {
	struct db *db;
	char dberr[256];
};

/* BEGIN / COMMIT / ROLLBACK of the handle's connection; -EIO "internal". */
int cat_begin(struct catalog *cat, struct catalog_error *err);
int cat_commit(struct catalog *cat, struct catalog_error *err);
void cat_rollback(struct catalog *cat);

/*
 * Run @sql with @n text parameters (NULL entries are SQL NULL). Returns the
 * result, or NULL with the server's message in cat->dberr and the SQLSTATE
 * in @ret_state (may be NULL).
 */
PGresult *cat_exec(struct catalog *cat, const char *sql, int n, const char *const *params,
		   char ret_state[6]);

/* -EIO "internal" naming @what and the server's message. */
int cat_internal(struct catalog *cat, const char *what, struct catalog_error *err);

/*
 * Append an event of aggregate @aggregate_type/@id at version @expected + 1
 * in the open transaction (takes @payload, also on failure). -ESTALE
 * "stale-version" when another writer moved the aggregate on.
 */
int cat_event(struct catalog *cat, const struct cuco_principal *p, const char *aggregate_type,
	      const char *id, int64_t expected, const char *type, json_t *payload,
	      struct catalog_error *err);

/* -EPERM "forbidden" naming the action and the principal. */
int cat_deny(const struct cuco_principal *p, const char *action, struct catalog_error *err);

/*
 * Reserve, release or commit inventory inside the caller's open transaction
 * (catalog_reserve(), catalog_release() and catalog_commit() without their
 * own transaction; the caller authorizes, commits or rolls back). @to:
 * "released" or "committed".
 */
int cat_reserve_tx(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		   const char *rid, int64_t quantity, json_t **ret, bool *ret_created,
		   struct catalog_error *err);
int cat_settle_tx(struct catalog *cat, const struct cuco_principal *p, const char *item_id,
		  const char *rid, const char *to, json_t **ret, struct catalog_error *err);

/* Unix time in microseconds. */
int64_t cat_now_us(void);

/* A timestamptz as text from PostgreSQL into Unix microseconds (0 if unparsable). */
int64_t cat_pg_time(const char *s);

/* The SQL that reads a timestamptz as text cat_pg_time() parses. */
#define CAT_PG_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#endif
