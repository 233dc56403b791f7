/* SPDX-License-Identifier: BSD-3-Clause */
/* Users: create, read, update, delete, passwords, the first admin. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/security/service.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

static const struct cuco_principal system_principal = {
	.subject = "system:security",
	.name = "system",
	.roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN),
};

static void
target_of(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "user:%s", id);
}

static bool
is_active_admin(const struct user_row *u)
{
	return u->active && (u->roles & CUCO_ROLE_BIT(CUCO_ROLE_ADMIN));
}

/* Commit a change whose event and audit record are written; @ret gets @u when not NULL. */
static int
finish(struct security *sec, const struct user_row *u, json_t **ret, struct security_error *err)
{
	int rc = sec_commit(sec, err);

	if (rc == 0 && ret != NULL)
		*ret = store_user_json(u);
	return rc;
}

/* Fail the open transaction with @rc (err already filled). */
static int
abort_tx(struct security *sec, int rc)
{
	sec_rollback(sec);
	return rc;
}

/* The event @type and the audit record @action of a change to @u, in the open transaction. */
static int
record(struct security *sec, const struct cuco_principal *p, const struct user_row *u,
       int64_t old_version, const char *type, const char *action, json_t *details,
       struct security_error *err)
{
	char target[80];
	json_t *payload = store_user_json(u);
	int rc;

	target_of(target, sizeof(target), u->id);
	if (details)
		json_object_set(payload, "changes", details);
	rc = sec_event(sec, p, "user", u->id, old_version, type, payload, err);
	rc = rc ?: sec_audit(sec, p, action, target, "success", json_incref(details), err);
	json_decref(details);
	return rc;
}

int
security_bootstrap(struct security *sec, char ret_password[32], bool *ret_created,
		   struct security_error *err)
{
	struct user_row u = {.roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN), .must_change_password = true};
	char password[32];
	int64_t n;
	int rc;

	security_password_random(password);
	rc = security_password_hash(password, &sec->cost, u.password_hash);
	if (rc)
		return security_fail(err, rc, "internal", "", "bootstrap: cannot hash");
	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = store_user_count(sec->db, true, &n, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return abort_tx(sec, sec_store_fail(sec, rc, "users", err));
	if (n > 0) {
		sec_rollback(sec);
		*ret_created = false;
		return 0;
	}
	security_uuid_new(u.id);
	snprintf(u.name, sizeof(u.name), "admin");
	snprintf(u.display_name, sizeof(u.display_name), "Administrator");
	rc = store_user_insert(sec->db, &u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return abort_tx(sec, sec_store_fail(sec, rc, "users", err));
	rc = record(sec, &system_principal, &u, OUTBOX_NEW_AGGREGATE,
		    "security.user.created", "security.user.create",
		    json_pack("{s:s, s:b}", "name", u.name, "bootstrap", 1), err);
	if (rc)
		return abort_tx(sec, rc);
	rc = sec_commit(sec, err);
	if (rc)
		return rc;
	memcpy(ret_password, password, sizeof(password));
	sodium_memzero(password, sizeof(password));
	*ret_created = true;
	return 0;
}

int
security_user_create(struct security *sec, const struct cuco_principal *p,
		     const struct security_user_new *n, json_t **ret, struct security_error *err)
{
	struct user_row u = {0};
	char target[80];
	int rc;

	snprintf(target, sizeof(target), "user:%.63s", n->name ? n->name : "");
	if (!security_roles_may(p->roles, "users.manage"))
		return sec_deny(sec, p, "security.user.create", target, err);
	rc = security_check_name(n->name, err);
	rc = rc ?: security_check_display_name(n->display_name, err);
	rc = rc ?: security_check_roles(n->roles, n->customer_id, err);
	rc = rc ?: security_check_password(n->name, n->password, err);
	if (rc)
		return rc;
	security_uuid_new(u.id);
	snprintf(u.name, sizeof(u.name), "%s", n->name);
	snprintf(u.display_name, sizeof(u.display_name), "%s", n->display_name ? n->display_name : "");
	u.roles = n->roles;
	snprintf(u.customer_id, sizeof(u.customer_id), "%s", n->customer_id ? n->customer_id : "");
	u.must_change_password = n->must_change_password;
	/* The expensive part before the transaction, which holds the outbox's lock. */
	rc = security_password_hash(n->password, &sec->cost, u.password_hash);
	if (rc)
		return security_fail(err, rc, "internal", "password", "password: cannot hash");
	rc = sec_begin(sec, err);
	if (rc)
		return rc;
	rc = store_user_insert(sec->db, &u, sec->dberr, sizeof(sec->dberr));
	if (rc == -EEXIST)
		return abort_tx(sec, security_fail(err, -EEXIST, "user-exists", "name",
						   "name: a user '%s' exists already", n->name));
	if (rc)
		return abort_tx(sec, sec_store_fail(sec, rc, "users", err));
	rc = record(sec, p, &u, OUTBOX_NEW_AGGREGATE, "security.user.created",
		    "security.user.create",
		    json_pack("{s:s, s:o}", "name", u.name, "roles", security_roles_to_json(u.roles)),
		    err);
	if (rc)
		return abort_tx(sec, rc);
	rc = finish(sec, &u, ret, err);
	if (rc == 0)
		sec_userhint_put(&u);
	return rc;
}

int
security_user_get(struct security *sec, const struct cuco_principal *p, const char *id,
		  json_t **ret, struct security_error *err)
{
	struct user_row u;
	char target[80];
	int rc;

	if (!security_roles_may(p->roles, "users.read") && strcmp(p->subject, id ? id : "") != 0) {
		target_of(target, sizeof(target), id ? id : "");
		return sec_deny(sec, p, "security.user.get", target, err);
	}
	rc = store_user_get(sec->db, id ? id : "", false, &u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "user", err);
	sec_userhint_put(&u);
	*ret = store_user_json(&u);
	return 0;
}

int
security_user_list(struct security *sec, const struct cuco_principal *p,
		   const struct security_user_filter *f, json_t **ret, struct security_error *err)
{
	unsigned limit = f->limit ? f->limit : LIST_DEFAULT;
	json_t *items;
	int64_t total;
	int rc;

	if (!security_roles_may(p->roles, "users.read"))
		return sec_deny(sec, p, "security.user.list", "", err);
	if (limit > LIST_MAX)
		return security_fail(err, -EINVAL, "invalid-argument", "limit",
				     "limit: at most %d, got %u", LIST_MAX, limit);
	if (f->role < -1 || f->role >= CUCO_ROLE_COUNT)
		return security_fail(err, -EINVAL, "invalid-argument", "role",
				     "role: unknown role %d", f->role);
	if (f->state > SECURITY_USER_DISABLED)
		return security_fail(err, -EINVAL, "invalid-argument", "state",
				     "state: active or disabled");
	rc = store_user_list(sec->db, f, limit, &items, &total, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "users", err);
	*ret = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total", (json_int_t)total,
			 "limit", (int)limit, "offset", (int)f->offset);
	return 0;
}

/* Refuse a change that would leave no active admin. In the open transaction. */
static int
keep_an_admin(struct security *sec, const struct user_row *old, const struct user_row *new,
	      struct security_error *err)
{
	int64_t others;
	int rc;

	if (!is_active_admin(old) || (new != NULL && is_active_admin(new)))
		return 0;
	rc = store_admins_besides(sec->db, old->id, &others, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "users", err);
	if (others == 0)
		return security_fail(err, -EBUSY, "last-admin", "roles",
				     "%s is the last active admin: it cannot be disabled, "
				     "demoted or deleted",
				     old->name);
	return 0;
}

/* Lock user @id and check @expected_version (-1: any, else exactly). In the open transaction. */
static int
load_for_change(struct security *sec, const char *id, int64_t expected_version,
		struct user_row *u, struct security_error *err)
{
	int rc = store_user_lock(sec->db, id ? id : "", u, sec->tx_now, sec->dberr,
				 sizeof(sec->dberr));

	if (rc)
		return sec_store_fail(sec, rc, "user", err);
	if (expected_version != -1 && u->version != expected_version)
		return security_fail(err, -ESTALE, "stale-version", "version",
				     "version: user %s is at version %lld, not %lld", u->name,
				     (long long)u->version, (long long)expected_version);
	return 0;
}

/* Apply @c to @u; returns the changes as JSON (new reference) and whether sessions end. */
static json_t *
apply_update(struct user_row *u, const struct security_user_update *c, bool *ret_end_sessions)
{
	json_t *changes = json_object();
	bool active;

	*ret_end_sessions = false;
	if (c->display_name && strcmp(c->display_name, u->display_name) != 0) {
		snprintf(u->display_name, sizeof(u->display_name), "%s", c->display_name);
		json_object_set_new(changes, "display_name", json_string(u->display_name));
	}
	if (c->set_roles && (c->roles != u->roles ||
			     strcmp(c->customer_id ? c->customer_id : "", u->customer_id) != 0)) {
		u->roles = c->roles;
		snprintf(u->customer_id, sizeof(u->customer_id), "%s",
			 c->customer_id ? c->customer_id : "");
		json_object_set_new(changes, "roles", security_roles_to_json(u->roles));
		json_object_set_new(changes, "customer_id",
				    u->customer_id[0] ? json_string(u->customer_id) : json_null());
		*ret_end_sessions = true;
	}
	if (c->state != SECURITY_USER_KEEP) {
		active = c->state == SECURITY_USER_ACTIVE;
		if (active != u->active) {
			u->active = active;
			json_object_set_new(changes, "state",
					    json_string(active ? "active" : "disabled"));
			*ret_end_sessions |= !active;
		}
	}
	return changes;
}

/*
 * A change of the display name alone, without reading the row first: made
 * to the row this process last saw of the user (sec_userhint_get), and
 * written only if the user is still at that version, all in the COMMIT's
 * round trip. -EAGAIN: not tried, or lost to another change (then nothing
 * was written); the locked path answers. It also answers a change that
 * changes nothing, which it checks against the stored row, not a guess.
 */
static int
update_unlocked(struct security *sec, const struct cuco_principal *p, const char *id,
		const struct security_user_update *c, json_t **ret, struct security_error *err)
{
	struct user_row u;
	bool end_sessions;
	json_t *changes;
	int64_t old;
	int rc;

	if (id == NULL || c->display_name == NULL || c->set_roles ||
	    c->state != SECURITY_USER_KEEP || !sec_userhint_get(id, &u) ||
	    (c->expected_version != -1 && c->expected_version != u.version))
		return -EAGAIN;
	old = u.version;
	changes = apply_update(&u, c, &end_sessions);
	if (json_object_size(changes) == 0) {
		json_decref(changes);
		return -EAGAIN;
	}
	rc = sec_begin(sec, err);
	if (rc) {
		json_decref(changes);
		return rc;
	}
	u.version++;
	sec_user_changed(sec, u.id);
	sec_defer_user_rename(sec, &u, old);
	rc = record(sec, p, &u, old, "security.user.updated", "security.user.update", changes,
		    err);
	if (rc)
		return abort_tx(sec, rc);
	rc = finish(sec, &u, ret, err);
	if (rc == -ESTALE) {
		sec_userhint_forget(id);
		return -EAGAIN;
	}
	if (rc == 0)
		sec_userhint_put(&u);
	return rc;
}

int
security_user_update(struct security *sec, const struct cuco_principal *p, const char *id,
		     const struct security_user_update *c, json_t **ret, struct security_error *err)
{
	struct user_row u, old;
	bool end_sessions;
	char target[80];
	json_t *changes;
	int rc;

	target_of(target, sizeof(target), id ? id : "");
	if (!security_roles_may(p->roles, "users.manage"))
		return sec_deny(sec, p, "security.user.update", target, err);
	rc = security_check_display_name(c->display_name, err);
	if (rc == 0 && c->set_roles)
		rc = security_check_roles(c->roles, c->customer_id, err);
	if (rc == 0 && c->state > SECURITY_USER_DISABLED)
		rc = security_fail(err, -EINVAL, "invalid-argument", "state",
				   "state: active or disabled");
	if (rc)
		return rc;
	rc = update_unlocked(sec, p, id, c, ret, err);
	if (rc != -EAGAIN)
		return rc;
	rc = sec_begin(sec, err);
	rc = rc ?: load_for_change(sec, id, c->expected_version, &u, err);
	if (rc)
		return abort_tx(sec, rc);
	sec_userhint_put(&u);
	old = u;
	changes = apply_update(&u, c, &end_sessions);
	if (json_object_size(changes) == 0) {
		/* Nothing to change: no event, no new version. */
		json_decref(changes);
		sec_rollback(sec);
		if (ret)
			*ret = store_user_json(&u);
		return 0;
	}
	rc = keep_an_admin(sec, &old, &u, err);
	if (rc == 0 && end_sessions) {
		u.session_epoch++;
		rc = store_sessions_revoke_user(sec->db, u.id, "user-changed", sec->dberr,
						sizeof(sec->dberr));
		rc = rc ? sec_store_fail(sec, rc, "sessions", err) : 0;
	}
	if (rc == 0) {
		u.version++;
		sec_user_changed(sec, u.id);
		/* Locked above: its UPDATE goes with the COMMIT, one round trip less. */
		sec_defer_user_save(sec, &u);
	}
	if (rc) {
		json_decref(changes);
		return abort_tx(sec, rc);
	}
	rc = record(sec, p, &u, old.version, "security.user.updated", "security.user.update",
		    changes, err);
	if (rc)
		return abort_tx(sec, rc);
	rc = finish(sec, &u, ret, err);
	if (rc == 0)
		sec_userhint_put(&u);
	return rc;
}

int
security_user_delete(struct security *sec, const struct cuco_principal *p, const char *id,
		     int64_t expected_version, struct security_error *err)
{
	struct user_row u;
	char target[80];
	int rc;

	target_of(target, sizeof(target), id ? id : "");
	if (!security_roles_may(p->roles, "users.manage"))
		return sec_deny(sec, p, "security.user.delete", target, err);
	rc = sec_begin(sec, err);
	rc = rc ?: load_for_change(sec, id, expected_version, &u, err);
	rc = rc ?: keep_an_admin(sec, &u, NULL, err);
	if (rc)
		return abort_tx(sec, rc);
	sec_user_changed(sec, u.id);
	rc = store_user_delete(sec->db, u.id, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return abort_tx(sec, sec_store_fail(sec, rc, "user", err));
	/* Its sessions, refresh tokens and API keys went with it (ON DELETE CASCADE). */
	rc = sec_event(sec, p, "user", u.id, u.version, "security.user.deleted",
		       json_pack("{s:s, s:s}", "id", u.id, "name", u.name), err);
	rc = rc ?: sec_audit(sec, p, "security.user.delete", target, "success",
			     json_pack("{s:s}", "name", u.name), err);
	if (rc)
		return abort_tx(sec, rc);
	return sec_commit(sec, err);
}

/* New password @hash for @u (locked), sessions ended, event and audit. In the open transaction. */
static int
set_password(struct security *sec, const struct cuco_principal *p, struct user_row *u,
	     const char *hash, bool must_change, const char *type, const char *action,
	     struct security_error *err)
{
	int64_t old_version = u->version;
	int rc;

	snprintf(u->password_hash, sizeof(u->password_hash), "%s", hash);
	u->must_change_password = must_change;
	u->session_epoch++;
	u->version++;
	sec_user_changed(sec, u->id);
	rc = store_sessions_revoke_user(sec->db, u->id, "password", sec->dberr, sizeof(sec->dberr));
	if (rc == 0)
		rc = store_user_save(sec->db, u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "user", err);
	return record(sec, p, u, old_version, type, action,
		      json_pack("{s:b}", "must_change_password", must_change), err);
}

int
security_password_change(struct security *sec, const struct cuco_principal *p,
			 const char *old_password, const char *new_password,
			 struct security_error *err)
{
	char hash[crypto_pwhash_STRBYTES], target[80];
	struct user_row u, now;
	int rc;

	if (!sec_is_user(p))
		return sec_deny(sec, p, "security.user.password_change", "", err);
	target_of(target, sizeof(target), p->subject);
	rc = store_user_get(sec->db, p->subject, false, &u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "user", err);
	if (!u.active || old_password == NULL ||
	    !security_password_verify(u.password_hash, old_password)) {
		sec_audit_alone(sec, p, "security.user.password_change", target, "failure",
				json_pack("{s:s}", "reason", "old password wrong"), NULL);
		return security_fail(err, -EACCES, "invalid-credentials", "old_password",
				     "old_password: does not match");
	}
	rc = security_check_password(u.name, new_password, err);
	if (rc)
		return rc;
	if (strcmp(old_password, new_password) == 0)
		return security_fail(err, -EINVAL, "weak-password", "password",
				     "password: must differ from the old one (rule not-reused)");
	rc = security_password_hash(new_password, &sec->cost, hash);
	if (rc)
		return security_fail(err, rc, "internal", "password", "password: cannot hash");
	rc = sec_begin(sec, err);
	/* The hash checked above must still be the user's: no change raced ours. */
	rc = rc ?: load_for_change(sec, p->subject, u.version, &now, err);
	rc = rc ?: set_password(sec, p, &now, hash, false, "security.user.password_changed",
				"security.user.password_change", err);
	if (rc)
		return abort_tx(sec, rc);
	return sec_commit(sec, err);
}

int
security_password_reset(struct security *sec, const struct cuco_principal *p, const char *id,
			const char *new_password, struct security_error *err)
{
	char hash[crypto_pwhash_STRBYTES], target[80];
	struct user_row u;
	int rc;

	target_of(target, sizeof(target), id ? id : "");
	if (!security_roles_may(p->roles, "users.manage"))
		return sec_deny(sec, p, "security.user.password_reset", target, err);
	rc = store_user_get(sec->db, id ? id : "", false, &u, sec->dberr, sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "user", err);
	rc = security_check_password(u.name, new_password, err);
	if (rc)
		return rc;
	rc = security_password_hash(new_password, &sec->cost, hash);
	if (rc)
		return security_fail(err, rc, "internal", "password", "password: cannot hash");
	rc = sec_begin(sec, err);
	rc = rc ?: load_for_change(sec, id, -1, &u, err);
	rc = rc ?: set_password(sec, p, &u, hash, true, "security.user.password_reset",
				"security.user.password_reset", err);
	if (rc)
		return abort_tx(sec, rc);
	return sec_commit(sec, err);
}
