/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_SECURITY_H
#define CUCO_BSS_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/principal.h"

/*
 * The security domain: users and their roles, passwords, access and refresh
 * tokens, API keys, and the audit log.
 *
 * Every function that reads or changes the domain takes the caller's
 * principal (never NULL; an anonymous caller is an empty principal with its
 * remote address) and authorizes the call itself (the REST gateway, NETCONF and the
 * CLI only authenticate and map results); a refusal returns -EPERM with the
 * code "forbidden" and is audited with the outcome "denied". Every change is
 * written with its outbox event and its audit record in one transaction.
 *
 * Errors: functions return 0 or a negative errno and fill @err with a stable
 * code, the field concerned and a message naming the field, the value and
 * what is allowed:
 *
 *   code                  errno     meaning
 *   invalid-argument      -EINVAL   a field is malformed (err->field names it)
 *   weak-password         -EINVAL   the password breaks a rule of the policy
 *   user-exists           -EEXIST   the user name is taken
 *   conflict              -EEXIST   another unique key is taken (should not happen)
 *   not-found             -ENOENT   no such user / API key
 *   stale-version         -ESTALE   the expected version is not the current one
 *   last-admin            -EBUSY    the change would leave no active admin
 *   forbidden             -EPERM    the principal may not do this
 *   invalid-credentials   -EACCES   wrong name/password, bad, expired or revoked token
 *   internal              -EIO      the database or the state directory failed
 *
 * Threads: a struct security owns one database connection; use it from one
 * thread at a time (one per request worker).
 *
 * Audit chain (see security_audit_verify()): record n stores
 *   hash_n = HMAC-SHA256(audit key, hash_{n-1} || canonical(record n))
 * with hash_0 = 32 zero bytes and seq 1, 2, 3 ... without gaps. The key is a
 * file of the state directory, not in the database, so that whoever can only
 * write SQL (even as superuser) cannot recompute a changed, inserted or
 * removed record's hash nor the hashes after it: a plain hash chain would let
 * such an attacker rewrite the tail consistently. HMAC alone cannot reveal a
 * tail that was cut off, so the last record appended (seq and hash) is also
 * anchored in a file of the state directory after each commit; verification
 * refuses a chain that ends before the anchor or disagrees with it. The
 * anchor is advanced after the commit: after a crash in between it may lag
 * behind the table, which verification accepts (the records after it are
 * still HMAC-chained). A trigger refuses UPDATE, DELETE and TRUNCATE on the
 * table for the domain's role, which catches mistakes; the HMAC and the
 * anchor catch an attacker.
 */

struct security;

/* A stable error code, the field it concerns, and a message for people. */
struct security_error {
	char code[32];	    /* "weak-password", ... (see above) */
	char field[32];	    /* "password", "roles", ... or "" */
	char message[256];  /* "password: must be at least 12 characters (rule min-length)" */
};

struct security_config {
	/* libpq URL of the cluster (the admin URL; the domain SETs ROLE cuco_security). */
	const char *url;
	/*
	 * Directory of the domain's secrets, mode 0700: jwt.key (HS256 key),
	 * audit.key (HMAC key of the audit chain), audit.head (the anchor).
	 * Keys are 32 random bytes, created with mode 0600 on first start.
	 */
	const char *state_dir;
	/* argon2id cost; 0 takes libsodium's INTERACTIVE limits (2 passes, 64 MiB). */
	unsigned long long pwhash_opslimit;
	size_t pwhash_memlimit;
	/* Access token lifetime in seconds; 0 takes 900 (15 min). */
	unsigned access_ttl;
	/* Refresh token lifetime in seconds; 0 takes 28800 (8 h). */
	unsigned refresh_ttl;
};

/*
 * Bring the schema "security" up to date (db_migrate() with the embedded
 * migrations). Called once at start, before security_open().
 */
int security_migrate(const char *url, struct security_error *err);

/*
 * Open the domain: read (or, on first start, create) the keys of
 * @cfg->state_dir and connect as the domain's role. The strings of @cfg are
 * copied. Returns 0, -EINVAL for a bad config or a key file with the wrong
 * size or a mode open to others, -EIO when the database is unreachable.
 */
int security_open(const struct security_config *cfg, struct security **ret,
		  struct security_error *err);

/* Close; accepts NULL, returns NULL. */
struct security *security_close(struct security *sec);

/*
 * First start: when there is no user at all, create the user "admin" with the
 * role admin, a random one-time password written to @ret_password (print it
 * once; it is stored only hashed) and must_change_password set.
 * @ret_created tells whether it did. Safe when several processes start at once.
 */
int security_bootstrap(struct security *sec, char ret_password[32], bool *ret_created,
		       struct security_error *err);

/* ---- Roles ---------------------------------------------------------------- */

/*
 * The six roles and what each may do, for GET /api/v1/roles:
 * [{"name": "admin", "description": "...", "permissions": ["users.manage", ...]}, ...].
 * A static table; the caller owns the returned reference.
 */
json_t *security_roles(void);

/*
 * Whether a principal holding @roles may do @permission ("users.manage",
 * "customers.read", ...; a role that holds "customers.read.own" may do it
 * for its own customer only, which the owning domain checks).
 */
bool security_roles_may(uint32_t roles, const char *permission);

/* ---- Users ---------------------------------------------------------------- */

enum security_user_state {
	SECURITY_USER_KEEP = 0, /* in an update: unchanged */
	SECURITY_USER_ACTIVE,
	SECURITY_USER_DISABLED,
};

struct security_user_new {
	const char *name;	  /* [a-z0-9][a-z0-9._@-]{0,62}, unique */
	const char *display_name; /* may be NULL; up to 128 bytes, no control characters */
	uint32_t roles;		  /* CUCO_ROLE_BIT() set, not empty */
	const char *customer_id;  /* self-care only (then required, and alone) */
	const char *password;	  /* checked against the policy */
	bool must_change_password;
};

struct security_user_update {
	int64_t expected_version;  /* the version read (-ESTALE when it moved on), -1: any */
	const char *display_name;  /* NULL: unchanged */
	bool set_roles;		   /* when true, @roles and @customer_id replace the old ones */
	uint32_t roles;
	const char *customer_id;
	enum security_user_state state;
};

struct security_user_filter {
	const char *name_prefix;	/* NULL: any */
	enum security_user_state state; /* SECURITY_USER_KEEP: any */
	int role;			/* enum cuco_role, or -1: any */
	const char *customer_id;	/* NULL: any */
	unsigned limit;			/* 0: 50; at most 500 */
	unsigned offset;
};

/*
 * A user as JSON (the caller owns it), never with the password hash:
 * {"id", "name", "display_name", "roles": [...], "customer_id" (or null),
 *  "state": "active"|"disabled", "must_change_password", "created_at",
 *  "updated_at" (RFC 3339), "version"}.
 *
 * Create: admin only. Writes the new user to @ret (may be NULL).
 * Event security.user.created.
 */
int security_user_create(struct security *sec, const struct cuco_principal *p,
			 const struct security_user_new *u, json_t **ret,
			 struct security_error *err);

/* Get by id: admin, or the user itself. */
int security_user_get(struct security *sec, const struct cuco_principal *p, const char *id,
		      json_t **ret, struct security_error *err);

/*
 * List (admin only): {"items": [user...], "total": n (all that match the
 * filter), "limit", "offset"}, ordered by name.
 */
int security_user_list(struct security *sec, const struct cuco_principal *p,
		       const struct security_user_filter *f, json_t **ret,
		       struct security_error *err);

/*
 * Update display name, roles, state (admin only; the last active admin cannot
 * be disabled nor lose its admin role: "last-admin"). An update that changes
 * nothing writes no version, event or audit record.
 * Changing roles or disabling ends the user's sessions (refresh tokens
 * revoked, access tokens refused). Event security.user.updated.
 */
int security_user_update(struct security *sec, const struct cuco_principal *p, const char *id,
			 const struct security_user_update *u, json_t **ret,
			 struct security_error *err);

/*
 * Delete (admin only; not the last active admin): the user, its sessions,
 * refresh tokens and API keys go. @expected_version: the version read, or -1
 * for any; any other value that is not the current version gives -ESTALE.
 * Event security.user.deleted.
 */
int security_user_delete(struct security *sec, const struct cuco_principal *p, const char *id,
			 int64_t expected_version, struct security_error *err);

/*
 * Change one's own password (the principal must be the user itself, also with
 * a token restricted to changing the password): @old_password is checked,
 * @new_password must pass the policy and differ from the old one. Clears
 * must_change_password and ends every session of the user, the caller's
 * included (log in again). Event security.user.password_changed.
 */
int security_password_change(struct security *sec, const struct cuco_principal *p,
			     const char *old_password, const char *new_password,
			     struct security_error *err);

/*
 * Admin reset: set @new_password (policy checked) and must_change_password,
 * end the user's sessions. Event security.user.password_reset.
 */
int security_password_reset(struct security *sec, const struct cuco_principal *p, const char *id,
			    const char *new_password, struct security_error *err);

/* ---- Sessions ------------------------------------------------------------- */

#define SECURITY_TOKEN_MAX 2048

struct security_tokens {
	char access_token[SECURITY_TOKEN_MAX]; /* JWT, HS256 */
	char refresh_token[64];		       /* opaque, "cucort_<43 base64url>" */
	int64_t expires_in;		       /* access token lifetime, seconds */
	bool password_change_required;	       /* the access token only allows that */
};

/*
 * Log in with name and password. @p is the anonymous caller (its remote
 * address and traceparent are audited). Unknown names cost the same time as
 * known ones (a dummy hash is verified). Success and failure are audited with
 * the name tried and the remote address; events security.login.succeeded /
 * security.login.failed. A disabled user gets "invalid-credentials" like a
 * wrong password. Rehashes the password when the configured cost changed.
 *
 * Access token claims: iss "cuco-edge", sub (user id), name, roles (array of
 * role names), customer_id (self-care), iat, nbf, exp, jti, epoch (the user's
 * session epoch), and scope "password-change" when must_change_password is
 * set: such a token authenticates with no role and only serves
 * security_password_change().
 */
int security_login(struct security *sec, const struct cuco_principal *p, const char *name,
		   const char *password, struct security_tokens *ret, struct security_error *err);

/*
 * Exchange a refresh token for new tokens. The refresh token is rotated: the
 * one presented is revoked and a new one of the same family returned.
 * Presenting a revoked one again (a stolen copy, or its thief's) revokes the
 * whole family and fails with "invalid-credentials"; so do an expired one and
 * one of a disabled user. Audited.
 */
int security_refresh(struct security *sec, const struct cuco_principal *p,
		     const char *refresh_token, struct security_tokens *ret,
		     struct security_error *err);

/* Revoke a refresh token's family (log out). Unknown tokens are ignored. */
int security_logout(struct security *sec, const struct cuco_principal *p,
		    const char *refresh_token, struct security_error *err);

#define SECURITY_AUTH_PASSWORD_CHANGE_ONLY 0x1u

/*
 * Check a bearer credential (the text after "Bearer "): a JWT from
 * security_login()/security_refresh(), or an API key "cuco_<id>_<secret>".
 *
 * A JWT is refused ("invalid-credentials", -EACCES) when: not three base64url
 * parts; its header's alg is not exactly HS256 (so also "none"); the
 * signature is not ours (other key, tampered header or payload, truncated);
 * a claim is missing or malformed; iss is not "cuco-edge"; it is expired
 * (exp <= now) or not yet valid (nbf/iat in the future); its user is gone,
 * disabled, or its session epoch moved on (password changed, roles changed).
 * The principal's roles are the token's roles that the user still holds.
 *
 * An API key is refused when unknown, revoked, expired, its secret differs
 * (constant-time compare) or its owner is disabled or gone; its principal is
 * "apikey:<id>" with the key's roles that its owner still holds.
 *
 * On success writes @ret (subject, name, roles, customer_id; remote and
 * traceparent empty, for the caller to fill) and, when not NULL, @ret_flags
 * (SECURITY_AUTH_PASSWORD_CHANGE_ONLY). Not audited (a request is; a login is).
 */
int security_authenticate(struct security *sec, const char *bearer, struct cuco_principal *ret,
			  unsigned *ret_flags, struct security_error *err);

/* ---- API keys ------------------------------------------------------------- */

/*
 * An API key belongs to the user who created it and acts with a subset of
 * that user's roles: created by a user principal (not by another key) with
 * @roles ⊆ the creator's roles (0: all of them), optional @expires_at (Unix
 * seconds, 0: never). The secret "cuco_<id>_<secret>" (secret: 32 random
 * bytes, base64url) is written to @ret_secret once; only a BLAKE2b hash of it
 * is stored. @ret (may be NULL) gets the key as JSON:
 * {"id", "name", "owner_id", "roles", "created_at", "expires_at", "revoked_at",
 *  "rotated_from", "version"}. Event security.apikey.created.
 */
#define SECURITY_APIKEY_MAX 96
int security_apikey_create(struct security *sec, const struct cuco_principal *p,
			   const char *name, uint32_t roles, int64_t expires_at,
			   char ret_secret[SECURITY_APIKEY_MAX], json_t **ret,
			   struct security_error *err);

/* List keys (never secrets): the caller's own; all with "apikeys.manage-any" (admin). */
int security_apikey_list(struct security *sec, const struct cuco_principal *p, json_t **ret,
			 struct security_error *err);

/* Revoke a key: its owner or an admin. Event security.apikey.revoked. */
int security_apikey_revoke(struct security *sec, const struct cuco_principal *p, const char *id,
			   struct security_error *err);

/*
 * Rotate: a NEW key (new id, new secret, same name, roles, owner and expiry,
 * "rotated_from" the old id) replaces the old one, which is revoked at once.
 * A new id means each secret has its own id in the audit log. Its owner or an
 * admin; events security.apikey.revoked and security.apikey.created.
 */
int security_apikey_rotate(struct security *sec, const struct cuco_principal *p, const char *id,
			   char ret_secret[SECURITY_APIKEY_MAX], json_t **ret,
			   struct security_error *err);

/* ---- Audit ---------------------------------------------------------------- */

/*
 * Append one record for any part of controld: who (@p: subject, name, remote
 * address, traceparent), @action ("customer.update"), @target ("customer:42"
 * or ""), @outcome ("success", "failure", "denied"), @details_json (a JSON
 * object as text, or NULL). Not an authorization point. Its own transaction.
 */
int security_audit(struct security *sec, const struct cuco_principal *p, const char *action,
		   const char *target, const char *outcome, const char *details_json,
		   struct security_error *err);

/*
 * Records after @after_seq, at most @limit (0: 100, at most 1000), oldest
 * first: {"items": [{"seq", "at", "subject", "name", "remote", "action",
 * "target", "outcome", "details", "traceparent"}], "next": the last seq
 * listed, "head": the last seq of the log (records are numbered 1, 2, 3 ...
 * without gaps, so also their count)}. Admin only. Checks nothing: see
 * security_audit_verify().
 */
int security_audit_list(struct security *sec, const struct cuco_principal *p, int64_t after_seq,
			unsigned limit, json_t **ret, struct security_error *err);

struct security_audit_report {
	bool ok;
	int64_t records;    /* records checked */
	int64_t head_seq;   /* the last record's seq, 0 for an empty log */
	int64_t anchor_seq; /* the anchored seq, 0 when none */
	int64_t bad_seq;    /* the first bad record (or the missing one); 0 when ok */
	/*
	 * "hash-mismatch" (record changed, or forged without the key),
	 * "seq-gap" (records removed), "link-broken" (a record removed or
	 * inserted: its prev hash is not its predecessor's), "truncated" (the
	 * chain ends before the anchor), "anchor-mismatch" (the anchored record
	 * differs), "anchor-unreadable" (the anchor file is damaged; see
	 * @message), "pending-mac-mismatch" (a record waiting to be chained
	 * was changed in audit_pending: @message names its pos), "" when ok.
	 */
	char problem[32];
	char message[256];
};

/*
 * Wait until every audit record this process committed is chained into
 * audit_log and anchored (the chainer does it off the request path, within
 * about 100 ms otherwise). The audit list and verification do it first.
 */
void security_audit_flush(struct security *sec);

/*
 * Walk the whole chain and report the first bad record (admin, or a
 * "system:" principal such as the CLI's `cuco-controld audit verify`).
 * Returns 0 when the walk ran (then see @ret->ok), -EPERM, or -EIO.
 */
int security_audit_verify(struct security *sec, const struct cuco_principal *p,
			  struct security_audit_report *ret, struct security_error *err);

/* ---- Change journal ------------------------------------------------------- */

struct db;
struct es_event;

/*
 * The bus consumer "journal" of the security domain: records every event of
 * the domains it listens to in security.change_journal (an inbox_handler_fn:
 * runs inside the inbox's transaction on the consumer's connection).
 */
int security_journal_apply(struct db *db, const char *source, const struct es_event *ev,
			   void *arg, char *err, size_t errlen);
/* The same for @n events at once, one statement (an inbox_batch_handler_fn). */
int security_journal_apply_batch(struct db *db, const char *source, const struct es_event *ev,
				 size_t n, void *arg, char *err, size_t errlen);

/*
 * The journal, in the order events were applied: {"items": [{"source", "seq",
 * "event_id", "type", "schema_version", "aggregate_type", "aggregate_id",
 * "aggregate_version", "traceparent", "created_at", "applied_at"}], "total"}.
 * Needs "audit.read".
 */
int security_journal_list(struct security *sec, const struct cuco_principal *p, unsigned limit,
			  unsigned offset, json_t **ret, struct security_error *err);

#endif
