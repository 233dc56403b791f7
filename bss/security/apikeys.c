/* SPDX-License-Identifier: BSD-3-Clause */
/* API keys: create, list, revoke, rotate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/security/service.h"

static bool
key_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 100)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(" ._@-", s[i])))
			return false;
	return true;
}

/* The key as JSON (for an event or the caller), in the open transaction. */
static json_t *
key_json(struct security *sec, const char *id)
{
	json_t *j = NULL;

	if (store_apikey_json(sec->db, id, &j, sec->dberr, sizeof(sec->dberr)) < 0)
		return NULL;
	return j;
}

/* Insert @k with a new secret and append its event; in the open transaction. */
static int
insert_key(struct security *sec, const struct cuco_principal *p, struct apikey_row *k,
	   char secret[SECURITY_APIKEY_MAX], struct security_error *err)
{
	int rc;

	security_uuid_new(k->id);
	security_apikey_new(k->id, secret, k->secret_hash);
	rc = store_apikey_insert(sec->db, k, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "api key", err);
	return sec_event(sec, p, "apikey", k->id, OUTBOX_NEW_AGGREGATE, "security.apikey.created",
			 key_json(sec, k->id), err);
}

/* Commit, then hand out the secret and the key. */
static int
finish(struct security *sec, const char *id, char secret[SECURITY_APIKEY_MAX],
       char ret_secret[SECURITY_APIKEY_MAX], json_t **ret, struct security_error *err)
{
	json_t *j = ret ? key_json(sec, id) : NULL;
	int rc;

	rc = sec_commit(sec, err);
	if (rc) {
		json_decref(j);
		sodium_memzero(secret, SECURITY_APIKEY_MAX);
		return rc;
	}
	memcpy(ret_secret, secret, SECURITY_APIKEY_MAX);
	sodium_memzero(secret, SECURITY_APIKEY_MAX);
	if (ret)
		*ret = j;
	return 0;
}

int
security_apikey_create(struct security *sec, const struct cuco_principal *p, const char *name,
		       uint32_t roles, int64_t expires_at, char ret_secret[SECURITY_APIKEY_MAX],
		       json_t **ret, struct security_error *err)
{
	struct apikey_row k = {0};
	char secret[SECURITY_APIKEY_MAX], target[128];
	int rc;

	snprintf(target, sizeof(target), "apikey:%.100s", name ? name : "");
	/* A key acts for a user; a key minting keys would outlive every review. */
	if (!sec_is_user(p) || !security_roles_may(p->roles, "apikeys.own"))
		return sec_deny(sec, p, "security.apikey.create", target, err);
	if (roles == 0)
		roles = p->roles;
	if (roles & ~p->roles) {
		sec_deny(sec, p, "security.apikey.create", target, NULL);
		return security_fail(err, -EPERM, "forbidden", "roles",
				     "roles: a key may only hold roles of its creator");
	}
	if (!key_name_valid(name))
		return security_fail(err, -EINVAL, "invalid-argument", "name",
				     "name: 1 to 100 of A-Z a-z 0-9 space . _ @ -");
	if (expires_at != 0 && expires_at <= sec_now())
		return security_fail(err, -EINVAL, "invalid-argument", "expires_at",
				     "expires_at: %lld is not in the future", (long long)expires_at);
	snprintf(k.name, sizeof(k.name), "%s", name);
	snprintf(k.owner_id, sizeof(k.owner_id), "%.36s", p->subject);
	k.roles = roles;
	k.expires_at = expires_at;
	rc = sec_begin(sec, err);
	rc = rc ?: insert_key(sec, p, &k, secret, err);
	if (rc == 0) {
		snprintf(target, sizeof(target), "apikey:%s", k.id);
		rc = sec_audit(sec, p, "security.apikey.create", target, "success",
			       json_pack("{s:s, s:o}", "name", k.name, "roles",
					 security_roles_to_json(k.roles)),
			       err);
	}
	if (rc) {
		sec_rollback(sec);
		sodium_memzero(secret, sizeof(secret));
		return rc;
	}
	return finish(sec, k.id, secret, ret_secret, ret, err);
}

int
security_apikey_list(struct security *sec, const struct cuco_principal *p, json_t **ret,
		     struct security_error *err)
{
	bool all = security_roles_may(p->roles, "apikeys.manage-any");
	int rc;

	if (!all && !sec_is_user(p))
		return sec_deny(sec, p, "security.apikey.list", "", err);
	rc = store_apikey_list(sec->db, all ? NULL : p->subject, ret, sec->dberr,
			       sizeof(sec->dberr));
	return rc ? sec_store_fail(sec, rc, "api keys", err) : 0;
}

/* Lock key @id and check that @p may manage it; in the open transaction. */
static int
load_key(struct security *sec, const struct cuco_principal *p, const char *id, const char *action,
	 struct apikey_row *k, struct security_error *err)
{
	char target[64];
	int rc;

	rc = store_apikey_get(sec->db, id ? id : "", true, k, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "api key", err);
	if (security_roles_may(p->roles, "apikeys.manage-any") ||
	    (sec_is_user(p) && strcmp(k->owner_id, p->subject) == 0))
		return 0;
	sec_rollback(sec);
	snprintf(target, sizeof(target), "apikey:%s", k->id);
	return sec_deny(sec, p, action, target, err);
}

/* Revoke @k (locked) with its event; in the open transaction. */
static int
revoke_key(struct security *sec, const struct cuco_principal *p, const struct apikey_row *k,
	   struct security_error *err)
{
	int rc = store_apikey_revoke(sec->db, k->id, sec->dberr, sizeof(sec->dberr));

	if (rc)
		return sec_store_fail(sec, rc, "api key", err);
	return sec_event(sec, p, "apikey", k->id, k->version, "security.apikey.revoked",
			 json_pack("{s:s, s:s}", "id", k->id, "owner_id", k->owner_id), err);
}

int
security_apikey_revoke(struct security *sec, const struct cuco_principal *p, const char *id,
		       struct security_error *err)
{
	struct apikey_row k;
	char target[64];
	int rc;

	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = load_key(sec, p, id, "security.apikey.revoke", &k, err);
	if (rc == -EPERM)
		return rc; /* load_key ended the transaction to audit the refusal */
	if (rc == 0 && k.revoked) {
		sec_rollback(sec); /* already revoked: nothing changes */
		return 0;
	}
	snprintf(target, sizeof(target), "apikey:%s", k.id);
	rc = rc ?: revoke_key(sec, p, &k, err);
	rc = rc ?: sec_audit(sec, p, "security.apikey.revoke", target, "success", NULL, err);
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	return sec_commit(sec, err);
}

int
security_apikey_rotate(struct security *sec, const struct cuco_principal *p, const char *id,
		       char ret_secret[SECURITY_APIKEY_MAX], json_t **ret,
		       struct security_error *err)
{
	char secret[SECURITY_APIKEY_MAX], target[64];
	struct apikey_row old, k;
	int rc;

	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = load_key(sec, p, id, "security.apikey.rotate", &old, err);
	if (rc == -EPERM)
		return rc;
	if (rc == 0 && (old.revoked || old.expired))
		rc = security_fail(err, -EINVAL, "invalid-argument", "id",
				   "id: API key %s is %s; create a new one", old.id,
				   old.revoked ? "revoked" : "expired");
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	k = old;
	snprintf(k.rotated_from, sizeof(k.rotated_from), "%s", old.id);
	rc = revoke_key(sec, p, &old, err);
	rc = rc ?: insert_key(sec, p, &k, secret, err);
	if (rc == 0) {
		snprintf(target, sizeof(target), "apikey:%s", old.id);
		rc = sec_audit(sec, p, "security.apikey.rotate", target, "success",
			       json_pack("{s:s}", "new_id", k.id), err);
	}
	if (rc) {
		sec_rollback(sec);
		sodium_memzero(secret, sizeof(secret));
		return rc;
	}
	return finish(sec, k.id, secret, ret_secret, ret, err);
}
