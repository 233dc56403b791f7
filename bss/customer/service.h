/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_CUSTOMER_SERVICE_H
#define CUCO_BSS_CUSTOMER_SERVICE_H

/*
 * What the domain's API files (customers.c, parties.c, care.c) share: the
 * handle, transactions, events, the authorization and loading of a customer.
 * Internal to bss/customer.
 */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/customer/model.h"
#include "bss/customer/store.h"

struct customer {
	struct db *db;
	char dberr[256];
};

/* Open, commit, roll back the domain's transaction. */
int cus_begin(struct customer *c, struct customer_error *err);
int cus_commit(struct customer *c, struct customer_error *err);
void cus_rollback(struct customer *c);

/*
 * Map a store result @rc (not 0) to an error: -ENOENT "not-found" naming
 * @what, -EEXIST "conflict", anything else -EIO "internal" with the server's
 * message.
 */
int cus_store_fail(struct customer *c, int rc, const char *what, struct customer_error *err);

/*
 * Append an event in the open transaction (takes @payload, also on
 * failure): the aggregate's new version is @expected + 1, with the
 * principal's traceparent. -ESTALE "stale-version" when another writer got
 * there first.
 */
int cus_event(struct customer *c, const struct cuco_principal *p, const char *aggregate_type,
	      const char *aggregate_id, int64_t expected, const char *type, json_t *payload,
	      struct customer_error *err);

/* -EPERM "forbidden" for @action. */
int cus_deny(const struct cuco_principal *p, enum customer_action a, struct customer_error *err);

/*
 * Authorize @a on customer @id for @p, then read it (FOR UPDATE when @lock,
 * inside the caller's transaction). The caller clears @ret.
 */
int cus_load(struct customer *c, const struct cuco_principal *p, const char *id,
	     enum customer_action a, bool lock, struct customer_row *ret,
	     struct customer_error *err);

/* -ESTALE "stale-version" unless @expected is -1 or @current. */
int cus_check_version(int64_t expected, int64_t current, struct customer_error *err);

/* -EBUSY "erased". */
int cus_erased(const char *what, struct customer_error *err);

/* A page size: 0 -> 100, above 1000 -> -EINVAL naming "limit". */
int cus_limit(unsigned limit, unsigned *ret, struct customer_error *err);

/* "%" @s "%" with % _ \ escaped, for ILIKE ... ESCAPE '\'. */
void cus_like_pattern(const char *s, char *buf, size_t len);

#endif
