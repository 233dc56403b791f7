/* SPDX-License-Identifier: BSD-3-Clause */
/* The security domain against a real PostgreSQL (suite 'db'). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bss/security/security.h"
#include "pgtest.h"

struct fixture {
	void *pg; /* struct pgtest, as pgtest_setup() leaves it */
	char dir[64];
	struct security_config cfg;
	struct security *sec;
	struct cuco_principal admin; /* the bootstrap admin, password changed */
	char admin_password[32];
};

#define REMOTE "192.0.2.1"
#define STRONG "a strong passphrase"

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (f == NULL || pgtest_setup(&f->pg) < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cuco-secdb-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = {"jwt.key", "audit.key", "audit.head",
					    "audit.head.lock"};
	char path[128];
	int rc;

	f->sec = security_close(f->sec);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	rc = pgtest_teardown(&f->pg);
	free(f);
	return rc;
}

static struct pgtest *
pg(struct fixture *f)
{
	return pgtest_get(&f->pg);
}

static void
ok(int rc, const struct security_error *err)
{
	if (rc != 0)
		fail_msg("%d %s [%s]: %s", rc, err->code, err->field, err->message);
}

static struct cuco_principal
anonymous(void)
{
	struct cuco_principal p = {.remote = REMOTE};

	return p;
}

/* Migrate, open with a cheap argon2 cost, bootstrap and leave an admin with a real password. */
static struct fixture *
start(void **state)
{
	struct fixture *f = *state;
	struct pgtest *t = pg(f);
	struct security_tokens tok;
	struct security_error err = {0};
	struct cuco_principal anon = anonymous();
	char pw[32];
	bool created;
	unsigned flags;

	f->cfg = (struct security_config){
		.url = t->url,
		.state_dir = f->dir,
		.pwhash_opslimit = 1,
		.pwhash_memlimit = 1 << 20,
	};
	ok(security_migrate(t->url, &err), &err);
	ok(security_migrate(t->url, &err), &err);
	ok(security_open(&f->cfg, &f->sec, &err), &err);
	ok(security_bootstrap(f->sec, pw, &created, &err), &err);
	assert_true(created);
	assert_int_equal(strlen(pw), 20);
	ok(security_login(f->sec, &anon, "admin", pw, &tok, &err), &err);
	assert_true(tok.password_change_required);
	ok(security_authenticate(f->sec, tok.access_token, &f->admin, &flags, &err), &err);
	assert_int_equal(flags, SECURITY_AUTH_PASSWORD_CHANGE_ONLY);
	assert_int_equal(f->admin.roles, 0);
	ok(security_password_change(f->sec, &f->admin, pw, "admin " STRONG, &err), &err);
	snprintf(f->admin_password, sizeof(f->admin_password), "admin " STRONG);
	ok(security_login(f->sec, &anon, "admin", f->admin_password, &tok, &err), &err);
	assert_false(tok.password_change_required);
	ok(security_authenticate(f->sec, tok.access_token, &f->admin, &flags, &err), &err);
	assert_int_equal(flags, 0);
	assert_int_equal(f->admin.roles, CUCO_ROLE_BIT(CUCO_ROLE_ADMIN));
	snprintf(f->admin.remote, sizeof(f->admin.remote), REMOTE);
	return f;
}

/* Create a user; returns its id in @id (37 bytes). */
static void
make_user(struct fixture *f, const char *name, uint32_t roles, const char *customer, char *id)
{
	struct security_user_new u = {
		.name = name, .display_name = name, .roles = roles, .customer_id = customer,
		.password = STRONG,
	};
	struct security_error err = {0};
	json_t *j = NULL;

	ok(security_user_create(f->sec, &f->admin, &u, &j, &err), &err);
	snprintf(id, 37, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
}

static struct cuco_principal
login_as(struct fixture *f, const char *name, const char *password, struct security_tokens *tok)
{
	struct cuco_principal anon = anonymous(), p;
	struct security_error err = {0};

	ok(security_login(f->sec, &anon, name, password, tok, &err), &err);
	ok(security_authenticate(f->sec, tok->access_token, &p, NULL, &err), &err);
	return p;
}

static long
count(struct fixture *f, const char *sql)
{
	char v[32];

	/* Audit records are chained off the request path: wait for them. */
	security_audit_flush(f->sec);
	pgtest_admin_value(pg(f), sql, v, sizeof(v));
	return atol(v);
}

/* ---- Tests ---------------------------------------------------------------------- */

static void
test_bootstrap(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_tokens tok;
	struct cuco_principal anon = anonymous(), p;
	char pw[32] = "";
	bool created = true;
	struct stat st;
	char path[128];

	/* Once only. */
	ok(security_bootstrap(f->sec, pw, &created, &err), &err);
	assert_false(created);
	assert_string_equal(pw, "");
	assert_int_equal(count(f, "SELECT count(*) FROM security.users"), 1);
	/* Stored hashed with argon2id. */
	assert_int_equal(count(f, "SELECT count(*) FROM security.users WHERE name = 'admin' AND "
				  "password_hash LIKE '$argon2id$%' AND NOT must_change_password"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox "
				  "WHERE type = 'security.user.created'"),
			 1);
	/* The keys are 0600 in the state directory. */
	snprintf(path, sizeof(path), "%s/jwt.key", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/audit.key", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* The restricted token could only change the password; it ended with the change. */
	ok(security_login(f->sec, &anon, "admin", f->admin_password, &tok, &err), &err);
	ok(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), &err);

	/* A second open reads the same keys: the token still verifies. */
	f->sec = security_close(f->sec);
	ok(security_open(&f->cfg, &f->sec, &err), &err);
	ok(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), &err);
	assert_string_equal(p.name, "admin");

	/* A state directory open to others is refused. */
	{
		struct security_config bad = f->cfg;
		struct security *other = NULL;

		chmod(f->dir, 0755);
		assert_int_equal(security_open(&bad, &other, &err), -EINVAL);
		assert_string_equal(err.field, "state_dir");
		assert_non_null(strstr(err.message, "0700"));
		chmod(f->dir, 0700);
	}

	/* The roles table, for GET /api/v1/roles. */
	json_t *roles = security_roles();
	assert_int_equal(json_array_size(roles), 6);
	json_decref(roles);
}

static void
test_restricted_token(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_tokens tok, old;
	struct cuco_principal p;
	char id[37];
	unsigned flags;
	json_t *j = NULL;

	make_user(f, "carol", CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT), NULL, id);
	ok(security_password_reset(f->sec, &f->admin, id, "temporary " STRONG, &err), &err);
	p = login_as(f, "carol", "temporary " STRONG, &tok);
	old = tok;
	ok(security_authenticate(f->sec, tok.access_token, &p, &flags, &err), &err);
	assert_int_equal(flags, SECURITY_AUTH_PASSWORD_CHANGE_ONLY);
	assert_int_equal(p.roles, 0);
	/* Nothing else with it. */
	assert_int_equal(security_user_list(f->sec, &p, &(struct security_user_filter){.role = -1},
					    &j, &err),
			 -EPERM);
	assert_string_equal(err.code, "forbidden");
	/* The policy still applies; the old password is checked. */
	assert_int_equal(security_password_change(f->sec, &p, "temporary " STRONG, "short", &err),
			 -EINVAL);
	assert_string_equal(err.code, "weak-password");
	assert_int_equal(security_password_change(f->sec, &p, "wrong " STRONG, "new " STRONG, &err),
			 -EACCES);
	assert_string_equal(err.code, "invalid-credentials");
	ok(security_password_change(f->sec, &p, "temporary " STRONG, "carol's own " STRONG, &err),
	   &err);
	assert_int_equal(security_authenticate(f->sec, old.access_token, &p, NULL, &err), -EACCES);
	p = login_as(f, "carol", "carol's own " STRONG, &tok);
	assert_int_equal(p.roles, CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT));
	assert_false(tok.password_change_required);
}

static void
test_login_audited(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0}, err2 = {0};
	struct cuco_principal anon = anonymous();
	struct security_tokens tok;
	char id[37];
	struct security_user_update dis = {.expected_version = 1,
					   .state = SECURITY_USER_DISABLED};

	make_user(f, "alice", CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR), NULL, id);
	assert_int_equal(security_login(f->sec, &anon, "alice", "wrong password!", &tok, &err),
			 -EACCES);
	assert_string_equal(err.code, "invalid-credentials");
	/* An unknown user gets exactly the same answer. */
	assert_int_equal(security_login(f->sec, &anon, "nobody", "wrong password!", &tok, &err2),
			 -EACCES);
	assert_string_equal(err.code, err2.code);
	assert_string_equal(err.message, err2.message);
	assert_int_equal(security_login(f->sec, &anon, "bad\xff name", "x", &tok, &err2), -EACCES);
	login_as(f, "alice", STRONG, &tok);

	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action = "
				  "'security.login' AND outcome = 'failure' AND remote = '" REMOTE
				  "'"),
			 3);
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action = "
				  "'security.login' AND outcome = 'failure' AND details::jsonb->>'name'"
				  " = 'nobody' AND details::jsonb->>'reason' = 'unknown user'"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action = "
				  "'security.login' AND outcome = 'success' AND name = 'alice'"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.login.failed'"),
			 3);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.login.succeeded' AND payload->>'name' = 'alice'"),
			 1);

	/* A disabled user cannot log in, and its tokens stop working at once. */
	struct cuco_principal p;
	ok(security_user_update(f->sec, &f->admin, id, &dis, NULL, &err), &err);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "disabled"));
	assert_int_equal(security_login(f->sec, &anon, "alice", STRONG, &tok, &err), -EACCES);
	assert_string_equal(err.message, err2.message);
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE details::jsonb->>"
				  "'reason' = 'disabled'"),
			 1);
}

static void
test_refresh_rotation(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct cuco_principal anon = anonymous(), p;
	struct security_tokens t1, t2, t3;
	char id[37];

	make_user(f, "dave", CUCO_ROLE_BIT(CUCO_ROLE_BILLING), NULL, id);
	login_as(f, "dave", STRONG, &t1);
	ok(security_refresh(f->sec, &anon, t1.refresh_token, &t2, &err), &err);
	assert_string_not_equal(t1.refresh_token, t2.refresh_token);
	ok(security_authenticate(f->sec, t2.access_token, &p, NULL, &err), &err);
	assert_string_equal(p.subject, id);
	assert_int_equal(p.roles, CUCO_ROLE_BIT(CUCO_ROLE_BILLING));
	/* Stored hashed only. */
	assert_int_equal(count(f, "SELECT count(*) FROM security.refresh_tokens r JOIN "
				  "security.sessions s ON s.id = r.session_id JOIN security.users u "
				  "ON u.id = s.user_id WHERE u.name = 'dave' AND "
				  "octet_length(r.token_hash) = 32"),
			 2);

	/* The old one again: reuse. The whole family is revoked, the newest too. */
	assert_int_equal(security_refresh(f->sec, &anon, t1.refresh_token, &t3, &err), -EACCES);
	assert_string_equal(err.code, "invalid-credentials");
	assert_int_equal(security_refresh(f->sec, &anon, t2.refresh_token, &t3, &err), -EACCES);
	assert_int_equal(count(f, "SELECT count(*) FROM security.sessions WHERE revoke_reason = "
				  "'reuse'"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE details::jsonb->>"
				  "'reason' = 'reuse'"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.session.revoked'"),
			 1);

	/* Unknown and malformed tokens. */
	assert_int_equal(security_refresh(f->sec, &anon, "cucort_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
							 "AAAAAAAAAA",
					  &t3, &err),
			 -EACCES);
	assert_int_equal(security_refresh(f->sec, &anon, "garbage", &t3, &err), -EACCES);

	/* Logout ends the family. */
	login_as(f, "dave", STRONG, &t1);
	ok(security_logout(f->sec, &anon, t1.refresh_token, &err), &err);
	assert_int_equal(security_refresh(f->sec, &anon, t1.refresh_token, &t3, &err), -EACCES);

	/* Expired. */
	login_as(f, "dave", STRONG, &t1);
	pgtest_admin_exec(pg(f), "UPDATE security.refresh_tokens SET expires_at = now() - "
				 "interval '1 second' WHERE used_at IS NULL");
	assert_int_equal(security_refresh(f->sec, &anon, t1.refresh_token, &t3, &err), -EACCES);
	assert_non_null(strstr(err.message, "expired"));

	/* A password change ends the sessions. */
	login_as(f, "dave", STRONG, &t1);
	ok(security_password_reset(f->sec, &f->admin, id, "reset " STRONG, &err), &err);
	assert_int_equal(security_refresh(f->sec, &anon, t1.refresh_token, &t3, &err), -EACCES);
	assert_int_equal(security_authenticate(f->sec, t1.access_token, &p, NULL, &err), -EACCES);
}

static void
test_apikey_lifecycle(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_tokens tok;
	struct cuco_principal alice, k, ka;
	char id[37], s1[SECURITY_APIKEY_MAX], s2[SECURITY_APIKEY_MAX], s3[SECURITY_APIKEY_MAX];
	char kid[37];
	json_t *j = NULL, *list = NULL;
	uint32_t op = CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR);
	struct security_user_update dis = {.expected_version = 1,
					   .state = SECURITY_USER_DISABLED};

	make_user(f, "alice", op | CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT), NULL, id);
	alice = login_as(f, "alice", STRONG, &tok);

	ok(security_apikey_create(f->sec, &alice, "ci deploy", op, 0, s1, &j, &err), &err);
	snprintf(kid, sizeof(kid), "%s", json_string_value(json_object_get(j, "id")));
	assert_true(strncmp(s1, "cuco_", 5) == 0);
	assert_true(strncmp(s1 + 5, kid, 36) == 0);
	assert_null(json_object_get(j, "secret"));
	json_decref(j);
	/* Only a hash is stored. */
	assert_int_equal(count(f, "SELECT octet_length(secret_hash) FROM security.api_keys"), 32);

	ok(security_authenticate(f->sec, s1, &k, NULL, &err), &err);
	assert_true(strncmp(k.subject, "apikey:", 7) == 0);
	assert_string_equal(k.subject + 7, kid);
	assert_int_equal(k.roles, op);
	assert_string_equal(k.name, "alice");

	/* Not more than its creator; not by another key. */
	assert_int_equal(security_apikey_create(f->sec, &alice, "escalate",
						CUCO_ROLE_BIT(CUCO_ROLE_ADMIN), 0, s2, NULL, &err),
			 -EPERM);
	assert_string_equal(err.field, "roles");
	assert_int_equal(security_apikey_create(f->sec, &k, "child", op, 0, s2, NULL, &err),
			 -EPERM);
	assert_int_equal(security_apikey_create(f->sec, &alice, "old", op, 1000, s2, NULL, &err),
			 -EINVAL);
	assert_string_equal(err.field, "expires_at");

	/* A wrong secret with the right id. */
	memcpy(s2, s1, sizeof(s2));
	s2[50] = s2[50] == 'A' ? 'B' : 'A';
	assert_int_equal(security_authenticate(f->sec, s2, &ka, NULL, &err), -EACCES);

	/* Listed without secrets, by its owner and by an admin. */
	ok(security_apikey_list(f->sec, &alice, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	assert_null(json_object_get(json_array_get(list, 0), "secret"));
	assert_null(json_object_get(json_array_get(list, 0), "secret_hash"));
	json_decref(list);
	ok(security_apikey_list(f->sec, &f->admin, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);

	/* Rotate: a new id and secret, the old one refused. */
	ok(security_apikey_rotate(f->sec, &alice, kid, s2, &j, &err), &err);
	assert_string_equal(json_string_value(json_object_get(j, "rotated_from")), kid);
	assert_string_not_equal(json_string_value(json_object_get(j, "id")), kid);
	json_decref(j);
	assert_int_equal(security_authenticate(f->sec, s1, &ka, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "revoked"));
	ok(security_authenticate(f->sec, s2, &ka, NULL, &err), &err);
	assert_int_equal(ka.roles, op);

	/* Revoke. */
	ok(security_authenticate(f->sec, s2, &ka, NULL, &err), &err);
	ok(security_apikey_revoke(f->sec, &alice, ka.subject + 7, &err), &err);
	assert_int_equal(security_authenticate(f->sec, s2, &ka, NULL, &err), -EACCES);
	ok(security_apikey_revoke(f->sec, &alice, ka.subject + 7, &err), &err);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.apikey.revoked'"),
			 2);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.apikey.created'"),
			 2);

	/* Someone else's key: forbidden, and the refusal audited. */
	ok(security_apikey_create(f->sec, &alice, "third", op, 0, s3, &j, &err), &err);
	snprintf(kid, sizeof(kid), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	{
		char bid[37];
		struct cuco_principal bob;

		make_user(f, "bob", op, NULL, bid);
		bob = login_as(f, "bob", STRONG, &tok);
		assert_int_equal(security_apikey_revoke(f->sec, &bob, kid, &err), -EPERM);
		assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action = "
					  "'security.apikey.revoke' AND outcome = 'denied'"),
				 1);
	}

	/* Expired. */
	pgtest_admin_exec(pg(f), "UPDATE security.api_keys SET expires_at = now() - interval "
				 "'1 second' WHERE revoked_at IS NULL");
	assert_int_equal(security_authenticate(f->sec, s3, &ka, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "expired"));
	pgtest_admin_exec(pg(f), "UPDATE security.api_keys SET expires_at = NULL");
	ok(security_authenticate(f->sec, s3, &ka, NULL, &err), &err);

	/* Its owner disabled: the key stops too. */
	ok(security_user_update(f->sec, &f->admin, id, &dis, NULL, &err), &err);
	assert_int_equal(security_authenticate(f->sec, s3, &ka, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "owner"));
}

static void
test_users_and_concurrency(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_tokens tok;
	struct cuco_principal bob, p;
	char id[37], sc[37];
	json_t *j = NULL;
	struct security_user_new dup = {.name = "bob", .roles = CUCO_ROLE_BIT(CUCO_ROLE_READONLY),
					.password = STRONG};
	struct security_user_update up = {.expected_version = 1, .display_name = "Bob B."};

	make_user(f, "bob", CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR), NULL, id);
	bob = login_as(f, "bob", STRONG, &tok);

	/* Errors with stable codes and named fields. */
	assert_int_equal(security_user_create(f->sec, &f->admin, &dup, NULL, &err), -EEXIST);
	assert_string_equal(err.code, "user-exists");
	assert_string_equal(err.field, "name");
	dup.name = "other";
	dup.password = "other";
	assert_int_equal(security_user_create(f->sec, &f->admin, &dup, NULL, &err), -EINVAL);
	assert_string_equal(err.code, "weak-password");
	dup.password = STRONG;
	dup.roles = CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE);
	assert_int_equal(security_user_create(f->sec, &f->admin, &dup, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "customer_id");
	assert_int_equal(security_user_create(f->sec, &bob, &dup, NULL, &err), -EPERM);
	assert_string_equal(err.code, "forbidden");
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action = "
				  "'security.user.create' AND outcome = 'denied' AND name = 'bob'"),
			 1);
	make_user(f, "self-1", CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE), "cust-42", sc);
	{
		struct security_tokens st;
		struct cuco_principal self = login_as(f, "self-1", STRONG, &st);

		/* A self-care principal carries its customer, for the other domains to check. */
		assert_string_equal(self.customer_id, "cust-42");
		assert_int_equal(self.roles, CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE));
	}

	/* Optimistic concurrency: two writers read version 1; the second loses. */
	ok(security_user_update(f->sec, &f->admin, id, &up, &j, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "display_name")), "Bob B.");
	json_decref(j);
	up.display_name = "Robert";
	assert_int_equal(security_user_update(f->sec, &f->admin, id, &up, NULL, &err), -ESTALE);
	assert_string_equal(err.code, "stale-version");
	assert_string_equal(err.field, "version");
	up.expected_version = 2;
	ok(security_user_update(f->sec, &f->admin, id, &up, NULL, &err), &err);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.user.updated' AND aggregate_id = (SELECT id::text FROM "
				  "security.users WHERE name = 'bob')"),
			 2);

	/* A display-name change leaves the session; a role change ends it. */
	ok(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), &err);
	up = (struct security_user_update){.expected_version = 3, .set_roles = true,
					   .roles = CUCO_ROLE_BIT(CUCO_ROLE_READONLY)};
	ok(security_user_update(f->sec, &f->admin, id, &up, NULL, &err), &err);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);

	/* Reads: the user itself, an admin; not another user. */
	ok(security_user_get(f->sec, &bob, id, &j, &err), &err);
	assert_null(json_object_get(j, "password_hash"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "roles"), 0)),
			    "read-only");
	json_decref(j);
	assert_int_equal(security_user_get(f->sec, &bob, sc, &j, &err), -EPERM);
	assert_int_equal(security_user_get(f->sec, &f->admin, "no-such-id", &j, &err), -ENOENT);
	assert_string_equal(err.code, "not-found");

	/* Lists: filters, limit and offset, the total. */
	struct security_user_filter fl = {.role = -1};
	ok(security_user_list(f->sec, &f->admin, &fl, &j, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
	json_decref(j);
	fl.limit = 1;
	fl.offset = 1;
	ok(security_user_list(f->sec, &f->admin, &fl, &j, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "items"), 0), "name")),
			    "bob");
	json_decref(j);
	fl = (struct security_user_filter){.role = CUCO_ROLE_SELFCARE, .customer_id = "cust-42"};
	ok(security_user_list(f->sec, &f->admin, &fl, &j, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);
	fl = (struct security_user_filter){.role = -1, .name_prefix = "b",
					   .state = SECURITY_USER_ACTIVE};
	ok(security_user_list(f->sec, &f->admin, &fl, &j, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);

	/* The last admin stays. */
	struct security_user_update demote = {.expected_version = -1, .set_roles = true,
					      .roles = CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR)};
	{
		json_t *me = NULL;

		ok(security_user_get(f->sec, &f->admin, f->admin.subject, &me, &err), &err);
		demote.expected_version = json_integer_value(json_object_get(me, "version"));
		json_decref(me);
	}
	assert_int_equal(security_user_update(f->sec, &f->admin, f->admin.subject, &demote, NULL,
					      &err),
			 -EBUSY);
	assert_string_equal(err.code, "last-admin");
	assert_int_equal(security_user_delete(f->sec, &f->admin, f->admin.subject, -1, &err),
			 -EBUSY);
	/* A version that cannot match (an If-Match the gateway could not read) is stale. */
	assert_int_equal(security_user_delete(f->sec, &f->admin, id, -2, &err), -ESTALE);

	/* Delete. */
	ok(security_user_delete(f->sec, &f->admin, id, -1, &err), &err);
	assert_int_equal(security_user_get(f->sec, &f->admin, id, &j, &err), -ENOENT);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);
	assert_int_equal(count(f, "SELECT count(*) FROM security.outbox WHERE type = "
				  "'security.user.deleted'"),
			 1);
	/* Every change is in the audit log. */
	assert_int_equal(count(f, "SELECT count(*) FROM security.audit_log WHERE action IN "
				  "('security.user.create', 'security.user.update', "
				  "'security.user.delete') AND outcome = 'success'"),
			 3 + 3 + 1); /* admin (bootstrap), bob, self-1; three updates; one delete */
}

static void
test_rehash(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_tokens tok;
	char id[37], v[200];

	make_user(f, "erin", CUCO_ROLE_BIT(CUCO_ROLE_READONLY), NULL, id);
	pgtest_admin_value(pg(f), "SELECT password_hash FROM security.users WHERE name = 'erin'",
			   v, sizeof(v));
	assert_non_null(strstr(v, "$argon2id$v=19$m=1024,t=1,"));
	f->sec = security_close(f->sec);
	f->cfg.pwhash_opslimit = 2;
	ok(security_open(&f->cfg, &f->sec, &err), &err);
	login_as(f, "erin", STRONG, &tok);
	pgtest_admin_value(pg(f), "SELECT password_hash FROM security.users WHERE name = 'erin'",
			   v, sizeof(v));
	assert_non_null(strstr(v, "$argon2id$v=19$m=1024,t=2,"));
	login_as(f, "erin", STRONG, &tok);
}

static double
min(double a, double b)
{
	return a < b ? a : b;
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_unknown_user_timing(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct cuco_principal anon = anonymous();
	struct security_tokens tok;
	double unknown = 1e9, wrong = 1e9, t0;
	char id[37];

	/* A cost that dwarfs the queries: without the dummy hash, unknown names answer at once. */
	f->sec = security_close(f->sec);
	f->cfg.pwhash_opslimit = 2;
	f->cfg.pwhash_memlimit = 16 << 20;
	ok(security_open(&f->cfg, &f->sec, &err), &err);
	make_user(f, "gina", CUCO_ROLE_BIT(CUCO_ROLE_READONLY), NULL, id);
	for (int i = 0; i < 3; i++) {
		t0 = seconds();
		assert_int_equal(security_login(f->sec, &anon, "gina", "not her password", &tok,
						&err),
				 -EACCES);
		wrong = min(wrong, seconds() - t0);
		t0 = seconds();
		assert_int_equal(security_login(f->sec, &anon, "nobody-at-all", "not her password",
						&tok, &err),
				 -EACCES);
		unknown = min(unknown, seconds() - t0);
	}
	if (unknown < wrong / 2)
		fail_msg("unknown user answered in %.4f s, wrong password in %.4f s", unknown, wrong);
}

/* Run @sql on the test database as @role (NULL: the admin); returns its SQLSTATE or "". */
static void
exec_as(struct fixture *f, const char *role, const char *sql, char state[6])
{
	PGconn *c = PQconnectdb(pg(f)->url);
	char set[128];
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	if (role) {
		snprintf(set, sizeof(set), "SET ROLE %s", role);
		PQclear(PQexec(c, set));
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
		state[0] = '\0';
	else
		snprintf(state, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
	PQclear(r);
	PQfinish(c);
}

static struct security_audit_report
verify(struct fixture *f)
{
	struct security_audit_report r;
	struct security_error err = {0};

	ok(security_audit_verify(f->sec, &f->admin, &r, &err), &err);
	return r;
}

static void
test_audit_tampering(void **state)
{
	struct fixture *f = start(state);
	struct security_error err = {0};
	struct security_audit_report r;
	struct cuco_principal sys = {.subject = "system:customer", .name = "customer"};
	char id[37], st[6];
	json_t *list = NULL;
	long head;

	make_user(f, "frank", CUCO_ROLE_BIT(CUCO_ROLE_SUPPORT), NULL, id);
	/* Other parts of controld append too. */
	ok(security_audit(f->sec, &sys, "customer.update", "customer:42", "success",
			  "{\"field\": \"email\", \"by\": \"frank\"}", &err),
	   &err);
	assert_int_equal(security_audit(f->sec, &sys, "customer.update", "", "success", "[1]",
					&err),
			 -EINVAL);
	assert_string_equal(err.field, "details");
	assert_int_equal(security_audit(f->sec, &sys, "customer.update", "", "maybe", NULL, &err),
			 -EINVAL);
	assert_string_equal(err.field, "outcome");
	ok(security_audit_list(f->sec, &f->admin, 0, 1000, &list, &err), &err);
	assert_true(json_array_size(json_object_get(list, "items")) >= 6);
	assert_int_equal(json_integer_value(json_object_get(list, "head")),
			 json_array_size(json_object_get(list, "items")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
					list, "items"), 0), "action")),
			    "security.user.create");
	json_decref(list);
	ok(security_audit_list(f->sec, &f->admin, 2, 2, &list, &err), &err);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 2);
	assert_int_equal(json_integer_value(json_object_get(list, "next")), 4);
	json_decref(list);
	assert_int_equal(security_audit_list(f->sec, &sys, 0, 10, &list, &err), -EPERM);

	r = verify(f);
	if (!r.ok)
		fail_msg("clean chain refused: %s", r.message);
	/* The CLI verifies as a system principal; other users may not. */
	{
		struct cuco_principal cli = {.subject = "system:cli", .name = "cli"};
		struct security_audit_report r2;
		struct security_tokens t;
		struct cuco_principal frank;

		ok(security_audit_verify(f->sec, &cli, &r2, &err), &err);
		assert_true(r2.ok);
		assert_int_equal(r2.records, r.records);
		frank = login_as(f, "frank", STRONG, &t);
		assert_int_equal(security_audit_verify(f->sec, &frank, &r2, &err), -EPERM);
		r = verify(f);
		assert_true(r.ok);
	}
	head = count(f, "SELECT max(seq) FROM security.audit_log");
	assert_true(head >= 6);
	assert_int_equal(r.anchor_seq, head);

	/* The domain's own role may not change or remove a record. */
	exec_as(f, "cuco_security", "UPDATE security.audit_log SET outcome = 'failure' WHERE seq = 2",
		st);
	assert_string_equal(st, "42501");
	exec_as(f, "cuco_security", "DELETE FROM security.audit_log WHERE seq = 2", st);
	assert_string_equal(st, "42501");
	exec_as(f, "cuco_security", "TRUNCATE security.audit_log", st);
	assert_string_equal(st, "42501");

	/* A superuser can; verification tells. Changed: */
	pgtest_admin_exec(pg(f), "CREATE TABLE saved AS SELECT * FROM security.audit_log");
	pgtest_admin_exec(pg(f), "ALTER TABLE security.audit_log DISABLE TRIGGER USER");
	pgtest_admin_exec(pg(f), "UPDATE security.audit_log SET remote = '203.0.113.9' "
				 "WHERE seq = 3");
	r = verify(f);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "hash-mismatch");
	/* ... even with the row's hash recomputed as a plain SHA-256 chain would be. */
	pgtest_admin_exec(pg(f), "UPDATE security.audit_log SET hash = sha256(prev_hash || "
				 "convert_to(remote, 'UTF8')) WHERE seq = 3");
	r = verify(f);
	assert_int_equal(r.bad_seq, 3);
	assert_string_equal(r.problem, "hash-mismatch");
	pgtest_admin_exec(pg(f), "DELETE FROM security.audit_log");
	pgtest_admin_exec(pg(f), "INSERT INTO security.audit_log SELECT * FROM saved");
	assert_true(verify(f).ok);

	/* Removed: */
	pgtest_admin_exec(pg(f), "DELETE FROM security.audit_log WHERE seq = 4");
	r = verify(f);
	assert_int_equal(r.bad_seq, 4);
	assert_string_equal(r.problem, "seq-gap");
	pgtest_admin_exec(pg(f), "UPDATE security.audit_log SET seq = seq - 1 WHERE seq > 4");
	r = verify(f);
	assert_int_equal(r.bad_seq, 4);
	assert_string_equal(r.problem, "link-broken");
	pgtest_admin_exec(pg(f), "DELETE FROM security.audit_log");
	pgtest_admin_exec(pg(f), "INSERT INTO security.audit_log SELECT * FROM saved");
	assert_true(verify(f).ok);

	/* Inserted: a forged record at the end, linked to the head. */
	pgtest_admin_exec(pg(f), "INSERT INTO security.audit_log SELECT seq + 1, now(), subject, "
				 "name, remote, 'security.user.delete', target, outcome, details, "
				 "traceparent, hash, sha256(hash) FROM security.audit_log ORDER BY "
				 "seq DESC LIMIT 1");
	r = verify(f);
	assert_false(r.ok);
	assert_string_equal(r.problem, "hash-mismatch");
	assert_int_equal(r.bad_seq, count(f, "SELECT max(seq) FROM security.audit_log"));

	/* Cut off at the end: only the anchor knows. */
	pgtest_admin_exec(pg(f), "DELETE FROM security.audit_log");
	pgtest_admin_exec(pg(f), "INSERT INTO security.audit_log SELECT * FROM saved WHERE seq < "
				 "(SELECT max(seq) - 1 FROM saved)");
	pgtest_admin_exec(pg(f), "ALTER TABLE security.audit_log ENABLE TRIGGER USER");
	r = verify(f);
	assert_false(r.ok);
	assert_string_equal(r.problem, "truncated");
}

/*
 * Authentication keeps what it needs of a user per process for up to a
 * second: a change through any handle of the process still refuses the
 * next request at once; a change behind its back (SQL) within the second.
 */
static void
test_auth_cache(void **state)
{
	struct fixture *f = start(state);
	struct security_user_update dis = {.state = SECURITY_USER_DISABLED, .expected_version = -1};
	struct security_user_update on = {.state = SECURITY_USER_ACTIVE, .expected_version = -1};
	struct security_user_update name = {.display_name = "Gina G.", .state = SECURITY_USER_KEEP,
					    .expected_version = -1};
	struct security_error err = {0};
	struct security_tokens tok;
	struct cuco_principal p;
	struct security *other;
	char id[37], sql[160];

	make_user(f, "gina", CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR), NULL, id);
	login_as(f, "gina", STRONG, &tok);
	/* Cached now, in both handles' process. */
	ok(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), &err);
	ok(security_open(&f->cfg, &other, &err), &err);
	ok(security_authenticate(other, tok.access_token, &p, NULL, &err), &err);

	/* A change that leaves what authentication reads alone: still accepted. */
	ok(security_user_update(other, &f->admin, id, &name, NULL, &err), &err);
	ok(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), &err);

	/* Disabled through another handle: refused at once by both. */
	ok(security_user_update(other, &f->admin, id, &dis, NULL, &err), &err);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "disabled"));
	assert_int_equal(security_authenticate(other, tok.access_token, &p, NULL, &err), -EACCES);
	ok(security_user_update(f->sec, &f->admin, id, &on, NULL, &err), &err);

	/* Password reset: the old token's epoch is gone at once. */
	login_as(f, "gina", STRONG, &tok);
	ok(security_password_reset(other, &f->admin, id, "another " STRONG, &err), &err);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "session has ended"));

	/* Deleted: gone at once. */
	login_as(f, "gina", "another " STRONG, &tok);
	ok(security_user_delete(other, &f->admin, id, -1, &err), &err);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);

	/* Behind the process's back: within the TTL (1 s), not necessarily at once. */
	make_user(f, "gina2", CUCO_ROLE_BIT(CUCO_ROLE_OPERATOR), NULL, id);
	login_as(f, "gina2", STRONG, &tok);
	snprintf(sql, sizeof(sql), "UPDATE security.users SET state = 'disabled' WHERE id = '%s'",
		 id);
	pgtest_admin_exec(pg(f), sql);
	usleep(1100 * 1000);
	assert_int_equal(security_authenticate(f->sec, tok.access_token, &p, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "disabled"));
	security_close(other);
}

/* A token the handle verified before is still refused once it expires. */
static void
test_token_seen_expires(void **state)
{
	struct fixture *f = start(state);
	struct security_config cfg = f->cfg;
	struct cuco_principal anon = anonymous(), p;
	struct security_error err = {0};
	struct security_tokens tok;
	struct security *brief;
	char forged[SECURITY_TOKEN_MAX];

	cfg.access_ttl = 1;
	ok(security_open(&cfg, &brief, &err), &err);
	ok(security_login(brief, &anon, "admin", f->admin_password, &tok, &err), &err);
	/* twice: the second from what the handle remembers */
	ok(security_authenticate(brief, tok.access_token, &p, NULL, &err), &err);
	ok(security_authenticate(brief, tok.access_token, &p, NULL, &err), &err);
	assert_int_equal(p.roles, CUCO_ROLE_BIT(CUCO_ROLE_ADMIN));
	/* one byte of the signature changed is another token: verified, refused */
	snprintf(forged, sizeof(forged), "%s", tok.access_token);
	forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(security_authenticate(brief, forged, &p, NULL, &err), -EACCES);
	usleep(2100 * 1000);
	assert_int_equal(security_authenticate(brief, tok.access_token, &p, NULL, &err), -EACCES);
	assert_non_null(strstr(err.message, "expired"));
	security_close(brief);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bootstrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restricted_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apikey_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_and_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rehash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_user_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_seen_expires, setup, teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
