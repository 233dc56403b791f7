/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_SECURITY_MODEL_H
#define CUCO_BSS_SECURITY_MODEL_H

/*
 * The security domain's pure rules: validation and policy, password hashing,
 * JWT, refresh-token and API-key material, the audit chain, the key files of
 * the state directory. No database here: internal to bss/security and its
 * unit tests (tests/unit/test_security.c). Callable from any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "bss/security/security.h"

#define SECURITY_UUID_LEN 36 /* text form, without the NUL */
#define SECURITY_KEY_LEN 32
#define SECURITY_HASH_LEN 32
#define SECURITY_PASSWORD_MIN 12  /* code points */
#define SECURITY_PASSWORD_MAX 1024 /* bytes: argon2 takes anything, we bound the work */

/* ---- model.c: errors, validation, roles ----------------------------------- */

/*
 * Fill @err (may be NULL) with @code, @field and the formatted message; returns
 * @errnum (a negative errno) so that a caller can `return security_fail(...)`.
 */
int security_fail(struct security_error *err, int errnum, const char *code, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Check a user name: [a-z0-9][a-z0-9._@-]{0,62}. 0 or -EINVAL ("invalid-argument"). */
int security_check_name(const char *name, struct security_error *err);

/* A display name: NULL or up to 128 bytes of UTF-8 without control characters. */
int security_check_display_name(const char *display_name, struct security_error *err);

/*
 * A role set and its customer binding: not empty, only known roles; self-care
 * alone and with a customer id ([A-Za-z0-9._-]{1,39}); no customer id otherwise.
 */
int security_check_roles(uint32_t roles, const char *customer_id, struct security_error *err);

/*
 * The password policy: at least 12 characters (rule "min-length"), at most
 * 1024 bytes ("max-length"), valid UTF-8 ("utf-8"), not the user name in any
 * case ("not-name"). Returns 0 or -EINVAL with "weak-password" naming the rule.
 */
int security_check_password(const char *name, const char *password, struct security_error *err);

/* Roles as a JSON array of names (new reference), and back (-EINVAL for an unknown name). */
json_t *security_roles_to_json(uint32_t roles);
int security_roles_from_json(const json_t *a, uint32_t *ret);

/* Roles as a PostgreSQL text[] literal "{admin,read-only}" (@buf >= 96 bytes), and back. */
void security_roles_to_pg(uint32_t roles, char *buf, size_t len);
int security_roles_from_pg(const char *lit, uint32_t *ret);

/* A random UUID (version 4) in text form. */
void security_uuid_new(char ret[SECURITY_UUID_LEN + 1]);

/* Whether @s is a UUID in lower-case text form. */
bool security_uuid_valid(const char *s);

/* Lower-case hex of @n bytes into @out (2n+1 bytes), and back (-EINVAL unless exactly 2n digits). */
void security_hex(char *out, const uint8_t *in, size_t n);
int security_unhex(uint8_t *out, size_t n, const char *in);

/* ---- password.c: argon2id ------------------------------------------------- */

struct security_pwcost {
	unsigned long long opslimit;
	size_t memlimit;
};

/* The cost of @cfg (0 → INTERACTIVE); -EINVAL below libsodium's minimums. */
int security_pwcost_from(const struct security_config *cfg, struct security_pwcost *ret,
			 struct security_error *err);

/*
 * Hash @password with argon2id13 at @cost into @ret (the "$argon2id$v=19$..."
 * string). Returns 0, or -ENOMEM when the memory limit cannot be allocated.
 */
int security_password_hash(const char *password, const struct security_pwcost *cost,
			   char ret[crypto_pwhash_STRBYTES]);

/* Whether @password matches @hash (any argon2 parameters encoded in it). */
bool security_password_verify(const char *hash, const char *password);

/* Whether @hash was made with another algorithm or cost than @cost. */
bool security_password_needs_rehash(const char *hash, const struct security_pwcost *cost);

/* A random one-time password: 20 characters of base64url (120 bits). */
void security_password_random(char ret[32]);

/* ---- token.c: JWT and refresh tokens -------------------------------------- */

#define SECURITY_ISSUER "cuco-edge"
#define SECURITY_CLOCK_SKEW 30 /* seconds that nbf/iat may be ahead of our clock */

struct security_claims {
	char sub[SECURITY_UUID_LEN + 1];
	char name[64];
	uint32_t roles;
	char customer_id[40];
	int64_t iat; /* also nbf */
	int64_t exp;
	char jti[SECURITY_UUID_LEN + 1];
	int64_t epoch; /* the user's session epoch when issued */
	bool password_change_only;
};

/* Sign @c with HS256 under @key into @ret (NUL-terminated). 0, -ENOMEM or -ENOSPC. */
int security_jwt_issue(const uint8_t key[SECURITY_KEY_LEN], const struct security_claims *c,
		       char ret[SECURITY_TOKEN_MAX]);

/*
 * Verify @token under @key at time @now (Unix seconds) and read its claims
 * into @ret. Returns 0 or -EACCES with "invalid-credentials" and the reason
 * in @err ("token: expired", "token: alg must be HS256", ...).
 */
int security_jwt_verify(const uint8_t key[SECURITY_KEY_LEN], const char *token, int64_t now,
			struct security_claims *ret, struct security_error *err);

#define SECURITY_REFRESH_PREFIX "cucort_"

/* A new refresh token and the hash stored for it. */
void security_refresh_new(char ret_token[64], uint8_t ret_hash[SECURITY_HASH_LEN]);

/* The stored hash of a presented refresh token; -EINVAL when malformed. */
int security_refresh_hash(const char *token, uint8_t ret_hash[SECURITY_HASH_LEN]);

/* ---- apikey.c ------------------------------------------------------------- */

#define SECURITY_APIKEY_PREFIX "cuco_"

/* A new secret "cuco_<id>_<secret>" for key @id and the hash stored for it. */
void security_apikey_new(const char *id, char ret_secret[SECURITY_APIKEY_MAX],
			 uint8_t ret_hash[SECURITY_HASH_LEN]);

/* Whether @bearer looks like an API key (its prefix), as opposed to a JWT. */
bool security_apikey_is(const char *bearer);

/*
 * Split "cuco_<id>_<secret>" and hash it. Returns 0 with the key id and the
 * hash to compare, or -EINVAL when malformed (wrong prefix, id not a UUID,
 * secret not 43 base64url characters).
 */
int security_apikey_parse(const char *bearer, char ret_id[SECURITY_UUID_LEN + 1],
			  uint8_t ret_hash[SECURITY_HASH_LEN]);

/* Constant-time comparison of two stored hashes. */
bool security_hash_equal(const uint8_t a[SECURITY_HASH_LEN], const uint8_t b[SECURITY_HASH_LEN]);

/* ---- audit.c: the chain --------------------------------------------------- */

/* One record of the audit log, as hashed. The strings are borrowed; none is NULL. */
struct security_audit_entry {
	int64_t seq;
	int64_t at_us; /* Unix time in microseconds */
	const char *subject;
	const char *name;
	const char *remote;
	const char *action;
	const char *target;
	const char *outcome;
	const char *details; /* JSON text, compact */
	const char *traceparent;
	uint8_t prev[SECURITY_HASH_LEN];
	uint8_t hash[SECURITY_HASH_LEN];
};

/*
 * HMAC-SHA256 under @key of @e->prev || canonical(@e): a tag, "cuco-audit-v1",
 * then seq and at_us as 8 bytes big-endian, then each string in the order of
 * the struct as its length (4 bytes big-endian) and its bytes. Length
 * prefixes make the encoding unambiguous. Writes @ret.
 */
void security_audit_hash(const uint8_t key[SECURITY_KEY_LEN], const struct security_audit_entry *e,
			 uint8_t ret[SECURITY_HASH_LEN]);

/*
 * The MAC of a record not chained yet (table audit_pending): the same HMAC
 * with seq = @id (the writer's random id) and prev = 32 bytes 0xa5, which no
 * chained record has (its prev is zeros or a hash), so a pending record's MAC
 * can never pass for a chained record's hash. Writes @ret.
 */
void security_audit_pending_mac(const uint8_t key[SECURITY_KEY_LEN],
				const struct security_audit_entry *e, int64_t id,
				uint8_t ret[SECURITY_HASH_LEN]);

/* Verification as a walk over the records in seq order, one step a record. */
struct security_audit_walk {
	uint8_t key[SECURITY_KEY_LEN];
	int64_t next_seq;
	uint8_t last[SECURITY_HASH_LEN];
	int64_t anchor_seq; /* 0: none */
	uint8_t anchor_hash[SECURITY_HASH_LEN];
	bool anchor_seen;
	struct security_audit_report report;
};

/* Start a walk; @anchor_seq 0 when there is no anchor. */
void security_audit_walk_init(struct security_audit_walk *w, const uint8_t key[SECURITY_KEY_LEN],
			      int64_t anchor_seq, const uint8_t anchor_hash[SECURITY_HASH_LEN]);

/* Check the next record. Returns 0, or -EBADMSG with w->report describing it. */
int security_audit_walk_step(struct security_audit_walk *w, const struct security_audit_entry *e);

/* After the last record: the tail against the anchor. 0 or -EBADMSG; w->report complete. */
int security_audit_walk_end(struct security_audit_walk *w);

/* ---- keyfile.c: the state directory --------------------------------------- */

/*
 * Read the 32-byte key @name of @dir, creating it (random, mode 0600, O_EXCL
 * so that two processes agree) when missing. Refuses a file of another size
 * or readable by group or others. 0, -EINVAL or -EIO; @err names the file.
 */
int security_key_load(const char *dir, const char *name, uint8_t ret[SECURITY_KEY_LEN],
		      struct security_error *err);

/* The anchor (audit.head): 0 and seq 0 when none yet, -EINVAL when unreadable. */
int security_anchor_read(const char *dir, int64_t *ret_seq, uint8_t ret_hash[SECURITY_HASH_LEN],
			 struct security_error *err);

/*
 * Move the anchor to (@seq, @hash) unless it is already at or past @seq
 * (several processes may append; a lock file serializes them). The file is
 * replaced atomically (written beside, fsync, rename). 0 or -EIO.
 */
int security_anchor_advance(const char *dir, int64_t seq, const uint8_t hash[SECURITY_HASH_LEN],
			    struct security_error *err);

#endif
