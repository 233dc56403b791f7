/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_NETWORK_INTERNAL_H
#define CUCO_BSS_NETWORK_INTERNAL_H

#include <libpq-fe.h>

#include "bss/core/db.h"
#include "bss/network/network.h"

/* What every file of the domain shares: the handle, errors, SQL helpers. */

struct network {
	struct db *db;
	const struct network_pusher *pusher;
};

int net_fail(struct network_error *err, int rc, const char *code, const char *field,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Run @sql; NULL after filling @err (code "internal", or "conflict" on a unique violation). */
PGresult *net_exec(struct db *db, const char *sql, int n, const char *const *params,
		   struct network_error *err, int *ret_rc);

/* The first column of the first row as JSON (a new reference), or NULL. */
json_t *net_json_cell(PGresult *res, int row, int col);

bool net_may_write(const struct cuco_principal *p);

/* Append an event inside the open transaction (aggregate at @version events so far). */
int net_event(struct db *db, const struct cuco_principal *p, const char *agg_type,
	      const char *agg_id, int64_t version, const char *type, json_t *payload,
	      struct network_error *err);

/* Services of @ids_json (a JSON array of ids) enforced by every dataplane: reserved -> active. */
int net_activate(struct db *db, const char *ids_json, struct network_error *err);

int net_begin(struct db *db, struct network_error *err);
int net_commit(struct db *db, struct network_error *err);

#endif
