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
#include "bss/core/outbox.h"
#include "bss/core/principal.h"
#include "bss/security/model.h"
#include "bss/security/store.h"

#define SEC_EVENTS_MAX 4 /* events of one transaction */
#define SEC_AUDITS_MAX 2 /* audit records of one transaction */

/* An event of the open transaction, appended at commit. */
struct sec_pending_event {
	char aggregate_type[OUTBOX_NAME_MAX];
	char aggregate_id[OUTBOX_ID_MAX];
	int64_t expected;
	char type[OUTBOX_NAME_MAX];
	json_t *payload; /* owned */
	char traceparent[64];
};

/* An audit record of the open transaction, chained and inserted at commit. */
struct sec_pending_audit {
	char subject[sizeof(((struct cuco_principal *)0)->subject)];
	char name[sizeof(((struct cuco_principal *)0)->name)];
	char remote[sizeof(((struct cuco_principal *)0)->remote)];
	char traceparent[sizeof(((struct cuco_principal *)0)->traceparent)];
	char action[101];
	char target[201];
	char outcome[16];
	char *details; /* owned: compact JSON, sorted keys, as hashed */
};

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
	/* Users the open transaction changes: forgotten by the auth cache at commit. */
	char changed[4][SECURITY_UUID_LEN + 1];
	unsigned nchanged;
	/*
	 * What the open transaction appends at commit, in one round trip with
	 * the COMMIT (sec_commit): the domain's outbox counter and the audit
	 * chain are then held for that trip only, not from the change on.
	 */
	struct sec_pending_event events[SEC_EVENTS_MAX];
	unsigned nevents;
	struct sec_pending_audit audits[SEC_AUDITS_MAX];
	unsigned naudits;
	/* A user row written in that round trip too (sec_defer_user_save). */
	struct user_row save;
	struct store_user_stmt save_buf;
	bool saving;
	/* ... unlocked, at this version or not at all (sec_defer_user_rename). */
	bool save_unlocked;
	int64_t save_expected;
	/* The open transaction's now(), from the last store_user_lock(). */
	char tx_now[40];
	/*
	 * Access tokens this handle verified lately, by their exact text, and
	 * their claims: a client sends the same token request after request.
	 * Only the signature and the parse are skipped; the times are checked
	 * again at each use (sec_token_verify in sessions.c).
	 */
	struct {
		char token[1024];
		struct security_claims claims;
	} seen[4];
	unsigned seen_next;
	char dberr[256];
};

/*
 * The per-process cache of what authenticating needs of a user (authcache.c).
 * Thread-safe. Fill: take sec_authcache_generation() BEFORE reading the row,
 * then sec_authcache_put() with it (dropped when a forget came between).
 * sec_authcache_forget() after the commit of any change to the user.
 */
#define SEC_AUTHCACHE_TTL_MS 1000

struct sec_auth_user {
	char id[SECURITY_UUID_LEN + 1];
	char name[64];
	char customer_id[40];
	uint32_t roles;
	bool active;
	int64_t session_epoch;
};

uint64_t sec_authcache_generation(void);
bool sec_authcache_get(const char *id, struct sec_auth_user *ret);
void sec_authcache_put(const struct sec_auth_user *u, uint64_t read_generation);
void sec_authcache_forget(const char *id);

/*
 * The last row of a user this process committed or read, by id: a guess
 * that saves an optimistic write its read (sec_defer_user_rename checks
 * the version in the same transaction), never an answer on its own. A
 * row replaces one of the same id only at a higher version. Without its
 * password hash (a rehash at login keeps the version). Thread-safe.
 */
bool sec_userhint_get(const char *id, struct user_row *ret);
void sec_userhint_put(const struct user_row *u);
void sec_userhint_forget(const char *id);

/* Note that the open transaction changes user @id (its state, roles, epoch, or deletes it). */
void sec_user_changed(struct security *sec, const char *id);

/*
 * Open, commit, roll back the domain's transaction. sec_commit() sends the
 * audit records and events noted by sec_audit()/sec_event() and COMMIT (two
 * round trips with audit records: the chain's head, then the rest; one
 * without), then notes the last record for the anchor. -ESTALE
 * "stale-version" when an event's aggregate moved on (nothing committed).
 */
int sec_begin(struct security *sec, struct security_error *err);
/*
 * Write @u (locked by store_user_lock() in this transaction, so its UPDATE
 * cannot miss) with the COMMIT, in sec_commit()'s round trip; @u's
 * updated_at becomes the transaction's now(), which the UPDATE stores.
 */
void sec_defer_user_save(struct security *sec, struct user_row *u);
/*
 * Write @u's display name and version with the COMMIT, though no statement
 * of this transaction locked or read its row: it applies only if the row
 * is still at @expected_version, else sec_commit() fails with -ESTALE and
 * nothing commits. @u's updated_at becomes the present time.
 */
void sec_defer_user_rename(struct security *sec, struct user_row *u, int64_t expected_version);
int sec_commit(struct security *sec, struct security_error *err);
void sec_rollback(struct security *sec);

/*
 * The audit chainer and anchor writer of a state directory, shared by the
 * process's handles (anchor.c): one thread that links the records writers
 * left in audit_pending into the chain (store_audit_chain) and writes the
 * anchor of the newest at most every SEC_ANCHOR_INTERVAL_MS, off the request
 * path. open/close count the handles (the first gives the database URL and
 * the audit key; the last close chains and anchors what is left); note says
 * records are pending; flush waits until every record committed before it
 * is chained and anchored. Thread-safe.
 */
#define SEC_ANCHOR_INTERVAL_MS 100
int sec_anchor_open(const char *dir, const char *url, const uint8_t key[SECURITY_KEY_LEN]);
void sec_anchor_note(const char *dir);
void sec_anchor_flush(const char *dir);
void sec_anchor_close(const char *dir);

/*
 * Map a store result @rc (not 0) to an error: -ENOENT "not-found" naming
 * @what, -EEXIST and -EIO as given; -EIO "internal" with the server's message.
 */
int sec_store_fail(struct security *sec, int rc, const char *what, struct security_error *err);

/*
 * Note an audit record for the open transaction (chained and written at
 * commit). Takes @details (may be NULL), also on failure: an object, stored
 * as compact JSON with sorted keys.
 */
int sec_audit(struct security *sec, const struct cuco_principal *p, const char *action,
	      const char *target, const char *outcome, json_t *details,
	      struct security_error *err);

/* The same, in a transaction of its own. */
int sec_audit_alone(struct security *sec, const struct cuco_principal *p, const char *action,
		    const char *target, const char *outcome, json_t *details,
		    struct security_error *err);

/*
 * Note an event for the open transaction (takes @payload, also on failure),
 * appended at commit: the aggregate's new version is @expected + 1; the
 * commit fails with -ESTALE "stale-version" when someone else moved it.
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
