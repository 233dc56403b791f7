/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_SECURITY_SERVICE_H
#define CUCO_BSS_SECURITY_SERVICE_H

/*
 * What the domain's API files (users.c, sessions.c, apikeys.c, service.c)
 * share: the handle, transactions that anchor the audit chain after commit,
 * events, audit records. Internal to bss/security.
 */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/security/model.h"
#include "bss/security/store.h"

struct security {
	struct db *db;
	char state_dir[PATH_MAX];
	uint8_t jwt_key[SECURITY_KEY_LEN];
	uint8_t audit_key[SECURITY_KEY_LEN];
	struct security_pwcost cost;
	unsigned access_ttl;
	unsigned refresh_ttl;
	/* Verified for unknown names, so that they cost what known ones do. */
	char dummy_hash[crypto_pwhash_STRBYTES];
	/* The last audit record of the open transaction, anchored at commit. */
	bool pending;
	int64_t pending_seq;
	uint8_t pending_hash[SECURITY_HASH_LEN];
	char dberr[256];
};

/* Open, commit (then advance the anchor), roll back the domain's transaction. */
int sec_begin(struct security *sec, struct security_error *err);
int sec_commit(struct security *sec, struct security_error *err);
void sec_rollback(struct security *sec);

/*
 * Map a store result @rc (not 0) to an error: -ENOENT "not-found" naming
 * @what, -EEXIST and -EIO as given; -EIO "internal" with the server's message.
 */
int sec_store_fail(struct security *sec, int rc, const char *what, struct security_error *err);

/*
 * Append an audit record in the open transaction. Takes @details (may be
 * NULL), also on failure: an object, stored as compact JSON with sorted keys.
 */
int sec_audit(struct security *sec, const struct cuco_principal *p, const char *action,
	      const char *target, const char *outcome, json_t *details,
	      struct security_error *err);

/* The same, in a transaction of its own. */
int sec_audit_alone(struct security *sec, const struct cuco_principal *p, const char *action,
		    const char *target, const char *outcome, json_t *details,
		    struct security_error *err);

/*
 * Append an event in the open transaction (takes @payload, also on failure):
 * the aggregate's new version is @expected + 1. -ESTALE "stale-version" when
 * someone else moved it.
 */
int sec_event(struct security *sec, const struct cuco_principal *p, const char *aggregate_type,
	      const char *aggregate_id, int64_t expected, const char *type, json_t *payload,
	      struct security_error *err);

/* Audit the refusal of @action on @target ("denied") and return -EPERM "forbidden". */
int sec_deny(struct security *sec, const struct cuco_principal *p, const char *action,
	     const char *target, struct security_error *err);

/* Whether @p is a user (its subject a user id), not an API key nor the system. */
bool sec_is_user(const struct cuco_principal *p);

/* Whether @p is a "system:" principal of controld itself. */
bool sec_is_system(const struct cuco_principal *p);

/* Unix time, seconds and microseconds. */
int64_t sec_now(void);
int64_t sec_now_us(void);

#endif
