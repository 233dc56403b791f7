/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_IDEM_PG_H
#define CUCO_CONTROLD_IDEM_PG_H

#include <stddef.h>

#include "controlplane/rest/rest.h"

/*
 * The gateway's Idempotency-Key store in PostgreSQL (schema "gateway", table
 * idempotency), for rest_hooks.idem: answers survive a restart of controld
 * and are shared by all its threads. Keys expire after @ttl_s seconds.
 */

struct idem_pg;

extern const struct rest_idem_ops idem_pg_ops;

/* Migrate the schema "gateway". Returns 0 or a negative errno with @err. */
int idem_pg_migrate(const char *url, char *err, size_t errlen);

/* @nconn connections to @url. Returns 0 or -EIO with @err. */
int idem_pg_open(const char *url, unsigned nconn, unsigned ttl_s, struct idem_pg **ret, char *err,
		 size_t errlen);

/* Accepts NULL, returns NULL. */
struct idem_pg *idem_pg_close(struct idem_pg *s);

struct db;
struct es_event;

/*
 * The gateway's consumer of the customer domain's erasures (an
 * inbox_handler_fn on the "gateway" schema): a stored answer that names the
 * erased customer or party is deleted, so that personal data does not
 * outlive the erasure in the Idempotency-Key store.
 */
int idem_pg_erasure_apply(struct db *db, const char *source, const struct es_event *ev,
			  void *arg, char *err, size_t errlen);

/* Whether the database answers: 0 or -EIO. */
int idem_pg_ping(struct idem_pg *s);

#endif
