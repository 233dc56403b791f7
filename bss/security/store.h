/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_SECURITY_STORE_H
#define CUCO_BSS_SECURITY_STORE_H

/*
 * The security domain's SQL (schema "security", see migrations/). Each
 * function runs its statements on @db, inside the caller's transaction when
 * there is one, and returns 0, -ENOENT (no such row), -EEXIST (a unique key
 * taken) or -EIO with the server's message in @err. Internal to bss/security.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "bss/core/db.h"
#include "bss/security/model.h"

struct user_row {
	char id[SECURITY_UUID_LEN + 1];
	char name[64];
	char display_name[129];
	uint32_t roles;
	char customer_id[40]; /* "" when none */
	bool active;
	char password_hash[crypto_pwhash_STRBYTES];
	bool must_change_password;
	int64_t session_epoch;
	char created_at[40]; /* RFC 3339, UTC */
	char updated_at[40];
	int64_t version;
};

/* The user as the API shows it (no password hash); a new reference. */
json_t *store_user_json(const struct user_row *u);

/* Insert @u (id, name, display name, roles, customer, hash, must_change); re-reads it into @u. */
int store_user_insert(struct db *db, struct user_row *u, char *err, size_t errlen);

/* By id or by name; @lock: SELECT ... FOR UPDATE. */
int store_user_get(struct db *db, const char *id, bool lock, struct user_row *ret, char *err,
		   size_t errlen);
int store_user_by_name(struct db *db, const char *name, struct user_row *ret, char *err,
		       size_t errlen);

/* Write @u's mutable fields (display name, roles, customer, state, hash, must_change, epoch,
 * version) and updated_at = now(); re-reads it into @u. */
int store_user_save(struct db *db, struct user_row *u, char *err, size_t errlen);

/*
 * store_user_get(lock = true) that also gives the transaction's now() in
 * @ret_now (RFC 3339, UTC): what updated_at = now() will store in it.
 */
int store_user_lock(struct db *db, const char *id, struct user_row *ret, char ret_now[40],
		    char *err, size_t errlen);

/*
 * The UPDATE of store_user_save() as a statement for a pipeline, without
 * re-reading the row (the caller knows it: the row is locked, updated_at is
 * the transaction's now()). @buf keeps the parameters; it and @u must live
 * until the statement is sent.
 */
struct store_user_stmt {
	char roles[96], epoch[24], version[24], expected[24];
	const char *p[9];
};
void store_user_save_stmt(const struct user_row *u, struct store_user_stmt *buf,
			  struct db_stmt *ret);

/*
 * An optimistic write of @u's display name, version and updated_at, for a
 * row the transaction has NOT locked: it applies only while the row is at
 * @expected_version, and otherwise fails the transaction (SQLSTATE 22012,
 * STORE_STALE_STATE), so that nothing else of it commits.
 */
#define STORE_STALE_STATE "22012"
void store_user_rename_stmt(const struct user_row *u, int64_t expected_version,
			    struct store_user_stmt *buf, struct db_stmt *ret);

/* Only the hash (a rehash at login: no version, no event). */
int store_user_rehash(struct db *db, const char *id, const char *hash, char *err, size_t errlen);

int store_user_delete(struct db *db, const char *id, char *err, size_t errlen);

/* How many users there are (bootstrap), after LOCK TABLE users when @lock. */
int store_user_count(struct db *db, bool lock, int64_t *ret, char *err, size_t errlen);

/*
 * How many active admins other than @id, locking their rows so that two
 * admins cannot demote each other at once.
 */
int store_admins_besides(struct db *db, const char *id, int64_t *ret, char *err, size_t errlen);

/* {items, total} of @f; see security_user_list(). */
int store_user_list(struct db *db, const struct security_user_filter *f, unsigned limit,
		    json_t **ret_items, int64_t *ret_total, char *err, size_t errlen);

/* ---- Sessions and refresh tokens ------------------------------------------ */

int store_session_insert(struct db *db, const char *id, const char *user_id, const char *remote,
			 char *err, size_t errlen);

/* Revoke every open session of a user (no event each: the user's event says it). */
int store_sessions_revoke_user(struct db *db, const char *user_id, const char *reason,
			       char *err, size_t errlen);

/* Version + 1 and, when @revoke_reason is not NULL, revoked. Writes the new version. */
int store_session_bump(struct db *db, const char *id, const char *revoke_reason,
		       int64_t *ret_version, char *err, size_t errlen);

struct refresh_row {
	char session_id[SECURITY_UUID_LEN + 1];
	char user_id[SECURITY_UUID_LEN + 1];
	bool used;
	bool expired;
	bool session_revoked;
	int64_t session_version;
};

/* The token with this hash and its session, both locked. */
int store_refresh_find(struct db *db, const uint8_t hash[SECURITY_HASH_LEN],
		       struct refresh_row *ret, char *err, size_t errlen);
int store_refresh_insert(struct db *db, const uint8_t hash[SECURITY_HASH_LEN],
			 const char *session_id, unsigned ttl, char *err, size_t errlen);
int store_refresh_mark_used(struct db *db, const uint8_t hash[SECURITY_HASH_LEN], char *err,
			    size_t errlen);

/* ---- API keys ------------------------------------------------------------- */

struct apikey_row {
	char id[SECURITY_UUID_LEN + 1];
	char name[101];
	char owner_id[SECURITY_UUID_LEN + 1];
	uint32_t roles;
	uint8_t secret_hash[SECURITY_HASH_LEN];
	int64_t expires_at; /* Unix seconds, 0: never */
	char rotated_from[SECURITY_UUID_LEN + 1];
	int64_t version;
	bool revoked;
	bool expired;
	/* The owner, as it is now. */
	char owner_name[64];
	bool owner_active;
	uint32_t owner_roles;
	char owner_customer_id[40];
};

int store_apikey_insert(struct db *db, const struct apikey_row *k, char *err, size_t errlen);
int store_apikey_get(struct db *db, const char *id, bool lock, struct apikey_row *ret, char *err,
		     size_t errlen);
/* Revoke (version + 1). */
int store_apikey_revoke(struct db *db, const char *id, char *err, size_t errlen);
/* One key as the API shows it, or all of @owner_id's (NULL: everyone's) as an array. */
int store_apikey_json(struct db *db, const char *id, json_t **ret, char *err, size_t errlen);
int store_apikey_list(struct db *db, const char *owner_id, json_t **ret, char *err,
		      size_t errlen);

/* ---- Audit ---------------------------------------------------------------- */

/*
 * The INSERT of @e, not chained yet, into audit_pending, as a statement for
 * a pipeline (outbox_commit); @buf holds its parameters. @e->seq and prev
 * are not used: the writer's random id and the record's MAC are made here.
 */
struct store_audit_stmt {
	char id[24], at[24], mac[2 * SECURITY_HASH_LEN + 3];
	const char *p[11];
};
void store_audit_pending_stmt(const uint8_t key[SECURITY_KEY_LEN],
			      const struct security_audit_entry *e, struct store_audit_stmt *buf,
			      struct db_stmt *ret);

/*
 * Chain the pending records into audit_log, in their order, in one
 * transaction under the chain's lock (at most @max, 0 or above
 * STORE_CHAIN_MAX: STORE_CHAIN_MAX; *@ret_n: how many).
 * The last record's seq and hash into @ret_seq / @ret_hash when it chained
 * some. A pending record whose MAC fails (changed in the table) stops the
 * chain there: -EBADMSG with its pos in @err, nothing chained after it.
 * Returns 0, -EBADMSG or -EIO.
 */
#define STORE_CHAIN_MAX 256
int store_audit_chain(struct db *db, const uint8_t key[SECURITY_KEY_LEN], unsigned max,
		      unsigned *ret_n, int64_t *ret_seq, uint8_t ret_hash[SECURITY_HASH_LEN],
		      char *err, size_t errlen);

/* How many records wait to be chained. */
int store_audit_pending_count(struct db *db, int64_t *ret, char *err, size_t errlen);

int store_audit_list(struct db *db, int64_t after_seq, unsigned limit, json_t **ret_items,
		     int64_t *ret_head, char *err, size_t errlen);

/* Feed every record, in seq order, to @w; stops at the first bad one. */
int store_audit_walk(struct db *db, struct security_audit_walk *w, char *err, size_t errlen);

#endif
