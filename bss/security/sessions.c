/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions: login, refresh-token rotation, logout, and checking bearer credentials. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/security/service.h"

static int
refuse(struct security_error *err, const char *field, const char *why)
{
	return security_fail(err, -EACCES, "invalid-credentials", field, "%s: %s", field, why);
}

/* Printable ASCII, bounded: a name as tried may be anything. */
static void
clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* The access token of @u into @ret. */
static int
issue(struct security *sec, const struct user_row *u, struct security_tokens *ret,
      struct security_error *err)
{
	struct security_claims c = {0};
	int rc;

	snprintf(c.sub, sizeof(c.sub), "%s", u->id);
	snprintf(c.name, sizeof(c.name), "%s", u->name);
	snprintf(c.customer_id, sizeof(c.customer_id), "%s", u->customer_id);
	c.roles = u->roles;
	c.iat = sec_now();
	c.exp = c.iat + sec->access_ttl;
	security_uuid_new(c.jti);
	c.epoch = u->session_epoch;
	c.password_change_only = u->must_change_password;
	rc = security_jwt_issue(sec->jwt_key, &c, ret->access_token);
	if (rc)
		return security_fail(err, rc, "internal", "", "token: cannot sign");
	ret->expires_in = sec->access_ttl;
	ret->password_change_required = u->must_change_password;
	return 0;
}

static int
login_failed(struct security *sec, const struct cuco_principal *p, const char *tried,
	     const char *reason, struct security_error *err)
{
	char id[SECURITY_UUID_LEN + 1], target[80];
	int rc;

	/* Each attempt its own aggregate: failures have no version to race on. */
	security_uuid_new(id);
	snprintf(target, sizeof(target), "user:%s", tried);
	rc = sec_begin(sec, err);
	rc = rc ?: sec_event(sec, p, "login", id, OUTBOX_NEW_AGGREGATE, "security.login.failed",
			     json_pack("{s:s, s:s}", "name", tried, "remote", p->remote), err);
	rc = rc ?: sec_audit(sec, p, "security.login", target, "failure",
			     json_pack("{s:s, s:s}", "name", tried, "reason", reason), err);
	if (rc)
		sec_rollback(sec);
	else
		sec_commit(sec, NULL);
	/* Same answer whatever the reason: a caller learns nothing about the account. */
	return refuse(err, "credentials", "wrong user name or password");
}

int
security_login(struct security *sec, const struct cuco_principal *p, const char *name,
	       const char *password, struct security_tokens *ret, struct security_error *err)
{
	char tried[64], session[SECURITY_UUID_LEN + 1], rehash[crypto_pwhash_STRBYTES] = "";
	struct security_tokens t = {0};
	uint8_t h[SECURITY_HASH_LEN];
	struct user_row u;
	bool found, ok;
	int rc;

	clean(tried, sizeof(tried), name);
	rc = security_check_name(name, NULL) == 0
		     ? store_user_by_name(sec->db, name, &u, sec->dberr, sizeof(sec->dberr))
		     : -ENOENT;
	if (rc && rc != -ENOENT)
		return sec_store_fail(sec, rc, "users", err);
	found = rc == 0;
	if (password == NULL || strlen(password) > SECURITY_PASSWORD_MAX)
		password = "";
	/* Unknown names verify the dummy hash: the answer takes as long either way. */
	ok = security_password_verify(found ? u.password_hash : sec->dummy_hash, password) && found;
	if (!ok)
		return login_failed(sec, p, tried, found ? "wrong password" : "unknown user", err);
	if (!u.active)
		return login_failed(sec, p, tried, "disabled", err);
	if (security_password_needs_rehash(u.password_hash, &sec->cost) &&
	    security_password_hash(password, &sec->cost, rehash) < 0)
		rehash[0] = '\0'; /* keep the old hash; next login tries again */
	rc = issue(sec, &u, &t, err);
	if (rc)
		return rc;
	security_uuid_new(session);
	security_refresh_new(t.refresh_token, h);
	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = store_session_insert(sec->db, session, u.id, p->remote, sec->dberr, sizeof(sec->dberr));
	rc = rc ?: store_refresh_insert(sec->db, h, session, sec->refresh_ttl, sec->dberr,
					sizeof(sec->dberr));
	if (rc == 0 && rehash[0])
		rc = store_user_rehash(sec->db, u.id, rehash, sec->dberr, sizeof(sec->dberr));
	rc = rc ? sec_store_fail(sec, rc, "sessions", err) : 0;
	rc = rc ?: sec_event(sec, p, "session", session, OUTBOX_NEW_AGGREGATE,
			     "security.login.succeeded",
			     json_pack("{s:s, s:s, s:s, s:s}", "session_id", session, "user_id", u.id,
				       "name", u.name, "remote", p->remote),
			     err);
	if (rc == 0) {
		struct cuco_principal who = *p;
		char target[64];

		/* The record names who logged in, not the anonymous caller. */
		snprintf(who.subject, sizeof(who.subject), "%s", u.id);
		snprintf(who.name, sizeof(who.name), "%s", u.name);
		snprintf(target, sizeof(target), "user:%s", u.id);
		rc = sec_audit(sec, &who, "security.login", target, "success",
			       json_pack("{s:s, s:b}", "session_id", session, "rehashed",
					 rehash[0] != '\0'),
			       err);
	}
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	rc = sec_commit(sec, err);
	if (rc)
		return rc;
	*ret = t;
	return 0;
}

/* A refused refresh, audited on its own. */
static int
refresh_refused(struct security *sec, const struct cuco_principal *p, const char *session,
		const char *reason, struct security_error *err)
{
	char target[64];

	snprintf(target, sizeof(target), "session:%s", session);
	sec_audit_alone(sec, p, "security.session.refresh", session[0] ? target : "", "failure",
			json_pack("{s:s}", "reason", reason), NULL);
	return refuse(err, "refresh_token", reason);
}

/* A reused refresh token: its whole family goes. In the open transaction, which it ends. */
static int
reuse_detected(struct security *sec, const struct cuco_principal *p, const struct refresh_row *r,
	       struct security_error *err)
{
	char target[64];
	int64_t v;
	int rc = 0;

	snprintf(target, sizeof(target), "session:%s", r->session_id);
	if (!r->session_revoked) {
		rc = store_session_bump(sec->db, r->session_id, "reuse", &v, sec->dberr,
					sizeof(sec->dberr));
		rc = rc ? sec_store_fail(sec, rc, "session", err) : 0;
		rc = rc ?: sec_event(sec, p, "session", r->session_id, r->session_version,
				     "security.session.revoked",
				     json_pack("{s:s, s:s, s:s}", "session_id", r->session_id,
					       "user_id", r->user_id, "reason", "reuse"),
				     err);
	}
	rc = rc ?: sec_audit(sec, p, "security.session.refresh", target, "failure",
			     json_pack("{s:s, s:s}", "reason", "reuse", "user_id", r->user_id),
			     err);
	if (rc)
		sec_rollback(sec);
	else
		sec_commit(sec, NULL);
	return refuse(err, "refresh_token", "already used: its session is revoked");
}

int
security_refresh(struct security *sec, const struct cuco_principal *p, const char *refresh_token,
		 struct security_tokens *ret, struct security_error *err)
{
	uint8_t h[SECURITY_HASH_LEN], nh[SECURITY_HASH_LEN];
	struct security_tokens t = {0};
	struct refresh_row r;
	struct user_row u;
	char target[64];
	int64_t v;
	int rc;

	if (security_refresh_hash(refresh_token, h) < 0)
		return refresh_refused(sec, p, "", "malformed", err);
	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = store_refresh_find(sec->db, h, &r, sec->dberr, sizeof(sec->dberr));
	if (rc) {
		sec_rollback(sec);
		if (rc != -ENOENT)
			return sec_store_fail(sec, rc, "sessions", err);
		return refresh_refused(sec, p, "", "unknown", err);
	}
	if (r.used)
		return reuse_detected(sec, p, &r, err);
	rc = r.session_revoked || r.expired
		     ? -EACCES
		     : store_user_get(sec->db, r.user_id, false, &u, sec->dberr, sizeof(sec->dberr));
	if (rc == 0 && !u.active)
		rc = -EACCES;
	if (rc) {
		sec_rollback(sec);
		if (rc != -EACCES && rc != -ENOENT)
			return sec_store_fail(sec, rc, "users", err);
		return refresh_refused(sec, p, r.session_id,
				       r.session_revoked ? "session revoked"
				       : r.expired	  ? "expired"
							  : "user disabled",
				       err);
	}
	rc = issue(sec, &u, &t, err);
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	security_refresh_new(t.refresh_token, nh);
	rc = store_refresh_mark_used(sec->db, h, sec->dberr, sizeof(sec->dberr));
	rc = rc ?: store_refresh_insert(sec->db, nh, r.session_id, sec->refresh_ttl, sec->dberr,
					sizeof(sec->dberr));
	rc = rc ?: store_session_bump(sec->db, r.session_id, NULL, &v, sec->dberr,
				      sizeof(sec->dberr));
	rc = rc ? sec_store_fail(sec, rc, "sessions", err) : 0;
	rc = rc ?: sec_event(sec, p, "session", r.session_id, r.session_version,
			     "security.session.refreshed",
			     json_pack("{s:s, s:s}", "session_id", r.session_id, "user_id", u.id),
			     err);
	snprintf(target, sizeof(target), "session:%s", r.session_id);
	rc = rc ?: sec_audit(sec, p, "security.session.refresh", target, "success",
			     json_pack("{s:s}", "user_id", u.id), err);
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	rc = sec_commit(sec, err);
	if (rc)
		return rc;
	*ret = t;
	return 0;
}

int
security_logout(struct security *sec, const struct cuco_principal *p, const char *refresh_token,
		struct security_error *err)
{
	uint8_t h[SECURITY_HASH_LEN];
	struct refresh_row r;
	char target[64];
	int64_t v;
	int rc;

	if (security_refresh_hash(refresh_token, h) < 0)
		return 0;
	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = store_refresh_find(sec->db, h, &r, sec->dberr, sizeof(sec->dberr));
	if (rc || r.session_revoked) {
		sec_rollback(sec);
		return rc && rc != -ENOENT ? sec_store_fail(sec, rc, "sessions", err) : 0;
	}
	snprintf(target, sizeof(target), "session:%s", r.session_id);
	rc = store_session_bump(sec->db, r.session_id, "logout", &v, sec->dberr,
				sizeof(sec->dberr));
	rc = rc ? sec_store_fail(sec, rc, "session", err) : 0;
	rc = rc ?: sec_event(sec, p, "session", r.session_id, r.session_version,
			     "security.session.revoked",
			     json_pack("{s:s, s:s, s:s}", "session_id", r.session_id, "user_id",
				       r.user_id, "reason", "logout"),
			     err);
	rc = rc ?: sec_audit(sec, p, "security.session.logout", target, "success", NULL, err);
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	return sec_commit(sec, err);
}

/* ---- Bearer credentials ---------------------------------------------------------- */

static int
authenticate_apikey(struct security *sec, const char *bearer, struct cuco_principal *ret,
		    struct security_error *err)
{
	char id[SECURITY_UUID_LEN + 1];
	uint8_t h[SECURITY_HASH_LEN];
	struct apikey_row k;
	uint32_t roles;
	int rc;

	if (security_apikey_parse(bearer, id, h) < 0)
		return refuse(err, "token", "malformed API key");
	rc = store_apikey_get(sec->db, id, false, &k, sec->dberr, sizeof(sec->dberr));
	if (rc == -ENOENT)
		return refuse(err, "token", "unknown API key");
	if (rc)
		return sec_store_fail(sec, rc, "api_keys", err);
	if (!security_hash_equal(h, k.secret_hash))
		return refuse(err, "token", "wrong API key secret");
	if (k.revoked)
		return refuse(err, "token", "API key revoked");
	if (k.expired)
		return refuse(err, "token", "API key expired");
	if (!k.owner_active)
		return refuse(err, "token", "API key's owner is disabled");
	roles = k.roles & k.owner_roles;
	if (roles == 0)
		return refuse(err, "token", "API key's owner no longer holds its roles");
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->subject, sizeof(ret->subject), "apikey:%s", k.id);
	snprintf(ret->name, sizeof(ret->name), "%s", k.owner_name);
	snprintf(ret->customer_id, sizeof(ret->customer_id), "%s", k.owner_customer_id);
	ret->roles = roles;
	return 0;
}

/* What authenticating needs of user @id: from the cache, else from its row (then cached). */
static int
auth_user(struct security *sec, const char *id, struct sec_auth_user *ret)
{
	struct user_row u;
	uint64_t gen;
	int rc;

	if (sec_authcache_get(id, ret))
		return 0;
	gen = sec_authcache_generation();
	rc = store_user_get(sec->db, id, false, &u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return rc;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->id, sizeof(ret->id), "%s", u.id);
	snprintf(ret->name, sizeof(ret->name), "%s", u.name);
	snprintf(ret->customer_id, sizeof(ret->customer_id), "%s", u.customer_id);
	ret->roles = u.roles;
	ret->active = u.active;
	ret->session_epoch = u.session_epoch;
	sec_authcache_put(ret, gen);
	return 0;
}

/* security_jwt_verify(), remembering what this handle verified (struct security.seen). */
static int
verify_token(struct security *sec, const char *bearer, struct security_claims *ret,
	     struct security_error *err)
{
	const unsigned n = sizeof(sec->seen) / sizeof(sec->seen[0]);
	int64_t now = sec_now();
	unsigned i;
	int rc;

	for (i = 0; i < n; i++)
		if (sec->seen[i].token[0] && strcmp(sec->seen[i].token, bearer) == 0)
			break;
	/* Still within its times (a clock set back makes it not yet valid again). */
	if (i < n && sec->seen[i].claims.exp > now &&
	    sec->seen[i].claims.iat <= now + SECURITY_CLOCK_SKEW) {
		*ret = sec->seen[i].claims;
		return 0;
	}
	if (i < n)
		sodium_memzero(&sec->seen[i], sizeof(sec->seen[i]));
	rc = security_jwt_verify(sec->jwt_key, bearer, now, ret, err);
	if (rc == 0 && strlen(bearer) < sizeof(sec->seen[0].token)) {
		i = sec->seen_next++ % n;
		snprintf(sec->seen[i].token, sizeof(sec->seen[i].token), "%s", bearer);
		sec->seen[i].claims = *ret;
	}
	return rc;
}

int
security_authenticate(struct security *sec, const char *bearer, struct cuco_principal *ret,
		      unsigned *ret_flags, struct security_error *err)
{
	struct security_claims c;
	struct sec_auth_user u;
	int rc;

	if (security_apikey_is(bearer)) {
		rc = authenticate_apikey(sec, bearer, ret, err);
		if (rc == 0 && ret_flags)
			*ret_flags = 0;
		return rc;
	}
	rc = verify_token(sec, bearer, &c, err);
	if (rc)
		return rc;
	rc = auth_user(sec, c.sub, &u);
	if (rc == -ENOENT)
		return refuse(err, "token", "its user no longer exists");
	if (rc)
		return sec_store_fail(sec, rc, "users", err);
	if (!u.active)
		return refuse(err, "token", "its user is disabled");
	if (u.session_epoch != c.epoch)
		return refuse(err, "token", "its session has ended (password or roles changed)");
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->subject, sizeof(ret->subject), "%s", u.id);
	snprintf(ret->name, sizeof(ret->name), "%s", u.name);
	snprintf(ret->customer_id, sizeof(ret->customer_id), "%s", u.customer_id);
	/* Roles taken away since issuance are gone; roles added need a new token. */
	ret->roles = c.password_change_only ? 0 : (c.roles & u.roles);
	if (ret_flags)
		*ret_flags = c.password_change_only ? SECURITY_AUTH_PASSWORD_CHANGE_ONLY : 0;
	return 0;
}
