/* SPDX-License-Identifier: BSD-3-Clause */
/* The security domain's SQL. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bss/security/store.h"

/* RFC 3339 in UTC with microseconds, whatever the session's TimeZone. */
#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define USER_COLS                                                                                  \
	"id, name, display_name, roles::text, coalesce(customer_id, ''), state = 'active', "      \
	"password_hash, must_change_password, session_epoch, " TS("created_at") ", "               \
	TS("updated_at") ", version"

/* Run @sql; NULL on failure with -EEXIST/-EIO in *@rc. */
static PGresult *
run(struct db *db, const char *sql, int n, const char *const *params, int *rc, char *err,
    size_t errlen)
{
	char state[6] = "";
	PGresult *res = db_exec(db, sql, n, params, err, errlen, state);

	if (res == NULL)
		*rc = strcmp(state, "23505") == 0 ? -EEXIST : -EIO;
	return res;
}

/* Run a statement whose rows do not matter; -ENOENT when it touched none. */
static int
run_cmd(struct db *db, const char *sql, int n, const char *const *params, char *err,
	size_t errlen)
{
	int rc = 0;
	PGresult *res = run(db, sql, n, params, &rc, err, errlen);

	if (res == NULL)
		return rc;
	if (strcmp(PQcmdTuples(res), "0") == 0)
		rc = -ENOENT;
	PQclear(res);
	return rc;
}

static void
copy(char *dst, size_t len, const PGresult *res, int row, int col)
{
	snprintf(dst, len, "%s", PQgetvalue(res, row, col));
}

static bool
truth(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

static int64_t
integer(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void
bytea_param(char out[2 * SECURITY_HASH_LEN + 3], const uint8_t hash[SECURITY_HASH_LEN])
{
	out[0] = '\\';
	out[1] = 'x';
	security_hex(out + 2, hash, SECURITY_HASH_LEN);
}

/* ---- Users ------------------------------------------------------------------ */

static int
user_from(const PGresult *res, int row, struct user_row *u)
{
	copy(u->id, sizeof(u->id), res, row, 0);
	copy(u->name, sizeof(u->name), res, row, 1);
	copy(u->display_name, sizeof(u->display_name), res, row, 2);
	if (security_roles_from_pg(PQgetvalue(res, row, 3), &u->roles) < 0)
		return -EIO;
	copy(u->customer_id, sizeof(u->customer_id), res, row, 4);
	u->active = truth(res, row, 5);
	copy(u->password_hash, sizeof(u->password_hash), res, row, 6);
	u->must_change_password = truth(res, row, 7);
	u->session_epoch = integer(res, row, 8);
	copy(u->created_at, sizeof(u->created_at), res, row, 9);
	copy(u->updated_at, sizeof(u->updated_at), res, row, 10);
	u->version = integer(res, row, 11);
	return 0;
}

/* One row expected: read it into @u; -ENOENT when none. */
static int
one_user(PGresult *res, struct user_row *u, char *err, size_t errlen)
{
	int rc = -ENOENT;

	if (PQntuples(res) == 1) {
		rc = user_from(res, 0, u);
		if (rc)
			snprintf(err, errlen, "users: unreadable roles of %s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

json_t *
store_user_json(const struct user_row *u)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:s, s:s, s:I}", "id", u->id, "name",
			 u->name, "display_name", u->display_name, "roles",
			 security_roles_to_json(u->roles), "customer_id",
			 u->customer_id[0] ? json_string(u->customer_id) : json_null(), "state",
			 u->active ? "active" : "disabled", "must_change_password",
			 u->must_change_password, "created_at", u->created_at, "updated_at",
			 u->updated_at, "version", (json_int_t)u->version);
}

int
store_user_insert(struct db *db, struct user_row *u, char *err, size_t errlen)
{
	char roles[96];
	const char *p[7] = {u->id, u->name, u->display_name, roles, u->customer_id,
			    u->password_hash, u->must_change_password ? "true" : "false"};
	int rc = 0;
	PGresult *res;

	security_roles_to_pg(u->roles, roles, sizeof(roles));
	res = run(db,
		  "INSERT INTO users (id, name, display_name, roles, customer_id, password_hash,"
		  " must_change_password) VALUES ($1, $2, $3, $4::text[], nullif($5, ''), $6,"
		  " $7::boolean) RETURNING " USER_COLS,
		  7, p, &rc, err, errlen);
	return res ? one_user(res, u, err, errlen) : rc;
}

int
store_user_get(struct db *db, const char *id, bool lock, struct user_row *ret, char *err,
	       size_t errlen)
{
	const char *p[1] = {id};
	int rc = 0;
	PGresult *res;

	if (!security_uuid_valid(id))
		return -ENOENT;
	res = run(db,
		  lock ? "SELECT " USER_COLS " FROM users WHERE id = $1 FOR UPDATE"
		       : "SELECT " USER_COLS " FROM users WHERE id = $1",
		  1, p, &rc, err, errlen);
	return res ? one_user(res, ret, err, errlen) : rc;
}

int
store_user_by_name(struct db *db, const char *name, struct user_row *ret, char *err,
		   size_t errlen)
{
	const char *p[1] = {name};
	int rc = 0;
	PGresult *res = run(db, "SELECT " USER_COLS " FROM users WHERE name = $1::text", 1, p, &rc, err,
			    errlen);

	return res ? one_user(res, ret, err, errlen) : rc;
}

int
store_user_lock(struct db *db, const char *id, struct user_row *ret, char ret_now[40], char *err,
		size_t errlen)
{
	const char *p[1] = {id};
	int rc = 0;
	PGresult *res = run(db, "SELECT " USER_COLS ", " TS("now()") " FROM users WHERE id = $1"
				" FOR UPDATE",
			    1, p, &rc, err, errlen);

	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1)
		snprintf(ret_now, 40, "%s", PQgetvalue(res, 0, 12));
	return one_user(res, ret, err, errlen);
}

static const char user_save_sql[] =
	"UPDATE users SET display_name = $2, roles = $3::text[],"
	" customer_id = nullif($4, ''), state = $5, password_hash = $6,"
	" must_change_password = $7::boolean, session_epoch = $8::bigint,"
	" version = $9::bigint, updated_at = now() WHERE id = $1";

void
store_user_save_stmt(const struct user_row *u, struct store_user_stmt *b, struct db_stmt *ret)
{
	security_roles_to_pg(u->roles, b->roles, sizeof(b->roles));
	snprintf(b->epoch, sizeof(b->epoch), "%" PRId64, u->session_epoch);
	snprintf(b->version, sizeof(b->version), "%" PRId64, u->version);
	b->p[0] = u->id;
	b->p[1] = u->display_name;
	b->p[2] = b->roles;
	b->p[3] = u->customer_id;
	b->p[4] = u->active ? "active" : "disabled";
	b->p[5] = u->password_hash;
	b->p[6] = u->must_change_password ? "true" : "false";
	b->p[7] = b->epoch;
	b->p[8] = b->version;
	*ret = (struct db_stmt){user_save_sql, 9, b->p};
}

/* No row at the expected version: 1 / 0, the transaction's failure (STORE_STALE_STATE). */
static const char user_rename_sql[] =
	"WITH s AS (UPDATE users SET display_name = $2, version = $3::bigint,"
	"           updated_at = $4::timestamptz WHERE id = $1 AND version = $5::bigint"
	"           RETURNING 1)"
	" SELECT 1 / count(*)::integer FROM s";

void
store_user_rename_stmt(const struct user_row *u, int64_t expected_version,
		       struct store_user_stmt *b, struct db_stmt *ret)
{
	snprintf(b->version, sizeof(b->version), "%" PRId64, u->version);
	snprintf(b->expected, sizeof(b->expected), "%" PRId64, expected_version);
	b->p[0] = u->id;
	b->p[1] = u->display_name;
	b->p[2] = b->version;
	b->p[3] = u->updated_at;
	b->p[4] = b->expected;
	*ret = (struct db_stmt){user_rename_sql, 5, b->p};
}

int
store_user_save(struct db *db, struct user_row *u, char *err, size_t errlen)
{
	char roles[96], epoch[24], version[24];
	const char *p[9] = {u->id,
			    u->display_name,
			    roles,
			    u->customer_id,
			    u->active ? "active" : "disabled",
			    u->password_hash,
			    u->must_change_password ? "true" : "false",
			    epoch,
			    version};
	int rc = 0;
	PGresult *res;

	security_roles_to_pg(u->roles, roles, sizeof(roles));
	snprintf(epoch, sizeof(epoch), "%" PRId64, u->session_epoch);
	snprintf(version, sizeof(version), "%" PRId64, u->version);
	res = run(db,
		  "UPDATE users SET display_name = $2, roles = $3::text[],"
		  " customer_id = nullif($4, ''), state = $5, password_hash = $6,"
		  " must_change_password = $7::boolean, session_epoch = $8::bigint,"
		  " version = $9::bigint, updated_at = now() WHERE id = $1 RETURNING " USER_COLS,
		  9, p, &rc, err, errlen);
	return res ? one_user(res, u, err, errlen) : rc;
}

int
store_user_rehash(struct db *db, const char *id, const char *hash, char *err, size_t errlen)
{
	const char *p[2] = {id, hash};

	return run_cmd(db, "UPDATE users SET password_hash = $2 WHERE id = $1", 2, p, err, errlen);
}

int
store_user_delete(struct db *db, const char *id, char *err, size_t errlen)
{
	const char *p[1] = {id};

	return run_cmd(db, "DELETE FROM users WHERE id = $1", 1, p, err, errlen);
}

int
store_user_count(struct db *db, bool lock, int64_t *ret, char *err, size_t errlen)
{
	int rc = 0;
	PGresult *res;

	/* SHARE ROW EXCLUSIVE conflicts with itself: one bootstrap at a time. */
	if (lock) {
		res = run(db, "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", 0, NULL, &rc, err,
			  errlen);
		if (res == NULL)
			return rc;
		PQclear(res);
	}
	res = run(db, "SELECT count(*) FROM users", 0, NULL, &rc, err, errlen);
	if (res == NULL)
		return rc;
	*ret = integer(res, 0, 0);
	PQclear(res);
	return 0;
}

int
store_admins_besides(struct db *db, const char *id, int64_t *ret, char *err, size_t errlen)
{
	const char *p[1] = {id};
	int rc = 0, n = 0;
	PGresult *res;

	/*
	 * Lock every active admin, then count. A concurrent demotion waits for
	 * our commit and then sees the row changed, so it counts one fewer.
	 */
	res = run(db,
		  "SELECT id FROM users WHERE state = 'active' AND 'admin' = ANY (roles)"
		  " FOR UPDATE",
		  0, NULL, &rc, err, errlen);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), p[0]) != 0)
			n++;
	PQclear(res);
	*ret = n;
	return 0;
}

#define USER_FILTER                                                                                \
	" FROM users WHERE ($1::text IS NULL OR starts_with(name, $1))"                           \
	" AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR $3 = ANY (roles))"        \
	" AND ($4::text IS NULL OR customer_id = $4)"

int
store_user_list(struct db *db, const struct security_user_filter *f, unsigned limit,
		json_t **ret_items, int64_t *ret_total, char *err, size_t errlen)
{
	char lim[16], off[16];
	const char *p[6] = {
		f->name_prefix,
		f->state == SECURITY_USER_KEEP	   ? NULL
		: f->state == SECURITY_USER_ACTIVE ? "active"
						   : "disabled",
		f->role >= 0 ? cuco_role_name((enum cuco_role)f->role) : NULL,
		f->customer_id,
		lim,
		off,
	};
	struct user_row u;
	int rc = 0;
	PGresult *res;
	json_t *items;

	snprintf(lim, sizeof(lim), "%u", limit);
	snprintf(off, sizeof(off), "%u", f->offset);
	res = run(db, "SELECT count(*)" USER_FILTER, 4, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	*ret_total = integer(res, 0, 0);
	PQclear(res);
	res = run(db, "SELECT " USER_COLS USER_FILTER " ORDER BY name LIMIT $5::int OFFSET $6::int",
		  6, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (user_from(res, i, &u) == 0)
			json_array_append_new(items, store_user_json(&u));
	PQclear(res);
	*ret_items = items;
	return 0;
}

/* ---- Sessions and refresh tokens -------------------------------------------- */

int
store_session_insert(struct db *db, const char *id, const char *user_id, const char *remote,
		     char *err, size_t errlen)
{
	const char *p[3] = {id, user_id, remote};

	return run_cmd(db, "INSERT INTO sessions (id, user_id, remote) VALUES ($1, $2, $3)", 3, p,
		       err, errlen);
}

int
store_sessions_revoke_user(struct db *db, const char *user_id, const char *reason, char *err,
			   size_t errlen)
{
	const char *p[2] = {user_id, reason};
	int rc = run_cmd(db,
			 "UPDATE sessions SET revoked_at = now(), revoke_reason = $2"
			 " WHERE user_id = $1 AND revoked_at IS NULL",
			 2, p, err, errlen);

	return rc == -ENOENT ? 0 : rc;
}

int
store_session_bump(struct db *db, const char *id, const char *revoke_reason,
		   int64_t *ret_version, char *err, size_t errlen)
{
	const char *p[2] = {id, revoke_reason};
	int rc = 0;
	PGresult *res;

	res = run(db,
		  "UPDATE sessions SET version = version + 1,"
		  " revoked_at = CASE WHEN $2::text IS NULL THEN revoked_at ELSE now() END,"
		  " revoke_reason = coalesce($2, revoke_reason) WHERE id = $1 RETURNING version",
		  2, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) == 1 ? 0 : -ENOENT;
	if (rc == 0)
		*ret_version = integer(res, 0, 0);
	PQclear(res);
	return rc;
}

int
store_refresh_find(struct db *db, const uint8_t hash[SECURITY_HASH_LEN], struct refresh_row *ret,
		   char *err, size_t errlen)
{
	char h[2 * SECURITY_HASH_LEN + 3];
	const char *p[1] = {h};
	int rc = 0;
	PGresult *res;

	bytea_param(h, hash);
	res = run(db,
		  "SELECT r.session_id, s.user_id, r.used_at IS NOT NULL, r.expires_at <= now(),"
		  " s.revoked_at IS NOT NULL, s.version FROM refresh_tokens r"
		  " JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1::bytea"
		  " FOR UPDATE OF r, s",
		  1, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) == 1 ? 0 : -ENOENT;
	if (rc == 0) {
		copy(ret->session_id, sizeof(ret->session_id), res, 0, 0);
		copy(ret->user_id, sizeof(ret->user_id), res, 0, 1);
		ret->used = truth(res, 0, 2);
		ret->expired = truth(res, 0, 3);
		ret->session_revoked = truth(res, 0, 4);
		ret->session_version = integer(res, 0, 5);
	}
	PQclear(res);
	return rc;
}

int
store_refresh_insert(struct db *db, const uint8_t hash[SECURITY_HASH_LEN], const char *session_id,
		     unsigned ttl, char *err, size_t errlen)
{
	char h[2 * SECURITY_HASH_LEN + 3], t[16];
	const char *p[3] = {h, session_id, t};

	bytea_param(h, hash);
	snprintf(t, sizeof(t), "%u", ttl);
	return run_cmd(db,
		       "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
		       " VALUES ($1::bytea, $2, now() + $3::integer * interval '1 second')",
		       3, p, err, errlen);
}

int
store_refresh_mark_used(struct db *db, const uint8_t hash[SECURITY_HASH_LEN], char *err,
			size_t errlen)
{
	char h[2 * SECURITY_HASH_LEN + 3];
	const char *p[1] = {h};

	bytea_param(h, hash);
	return run_cmd(db, "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1::bytea",
		       1, p, err, errlen);
}

/* ---- API keys --------------------------------------------------------------- */

int
store_apikey_insert(struct db *db, const struct apikey_row *k, char *err, size_t errlen)
{
	char roles[96], h[2 * SECURITY_HASH_LEN + 3], exp[24];
	const char *p[7] = {k->id, k->name, k->owner_id, roles, h, exp,
			    k->rotated_from[0] ? k->rotated_from : NULL};

	security_roles_to_pg(k->roles, roles, sizeof(roles));
	bytea_param(h, k->secret_hash);
	snprintf(exp, sizeof(exp), "%" PRId64, k->expires_at);
	return run_cmd(db,
		       "INSERT INTO api_keys (id, name, owner_id, roles, secret_hash, expires_at,"
		       " rotated_from) VALUES ($1, $2, $3, $4::text[], $5::bytea,"
		       " CASE WHEN $6::bigint = 0 THEN NULL ELSE to_timestamp($6::bigint) END,"
		       " $7::uuid)",
		       7, p, err, errlen);
}

int
store_apikey_get(struct db *db, const char *id, bool lock, struct apikey_row *k, char *err,
		 size_t errlen)
{
	static const char sql[] =
		"SELECT k.id, k.name, k.owner_id, k.roles::text, encode(k.secret_hash, 'hex'),"
		" coalesce(extract(epoch FROM k.expires_at)::bigint, 0),"
		" coalesce(k.rotated_from::text, ''), k.version, k.revoked_at IS NOT NULL,"
		" coalesce(k.expires_at <= now(), false), u.name, u.state = 'active', u.roles::text,"
		" coalesce(u.customer_id, '') FROM api_keys k JOIN users u ON u.id = k.owner_id"
		" WHERE k.id = $1";
	const char *p[1] = {id};
	char full[sizeof(sql) + 32];
	int rc = 0;
	PGresult *res;

	if (!security_uuid_valid(id))
		return -ENOENT;
	snprintf(full, sizeof(full), "%s%s", sql, lock ? " FOR UPDATE OF k" : "");
	res = run(db, full, 1, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;
	}
	copy(k->id, sizeof(k->id), res, 0, 0);
	copy(k->name, sizeof(k->name), res, 0, 1);
	copy(k->owner_id, sizeof(k->owner_id), res, 0, 2);
	if (security_roles_from_pg(PQgetvalue(res, 0, 3), &k->roles) < 0 ||
	    security_unhex(k->secret_hash, SECURITY_HASH_LEN, PQgetvalue(res, 0, 4)) < 0 ||
	    security_roles_from_pg(PQgetvalue(res, 0, 12), &k->owner_roles) < 0) {
		snprintf(err, errlen, "api_keys: unreadable row %s", k->id);
		PQclear(res);
		return -EIO;
	}
	k->expires_at = integer(res, 0, 5);
	copy(k->rotated_from, sizeof(k->rotated_from), res, 0, 6);
	k->version = integer(res, 0, 7);
	k->revoked = truth(res, 0, 8);
	k->expired = truth(res, 0, 9);
	copy(k->owner_name, sizeof(k->owner_name), res, 0, 10);
	k->owner_active = truth(res, 0, 11);
	copy(k->owner_customer_id, sizeof(k->owner_customer_id), res, 0, 13);
	PQclear(res);
	return 0;
}

int
store_apikey_revoke(struct db *db, const char *id, char *err, size_t errlen)
{
	const char *p[1] = {id};

	return run_cmd(db,
		       "UPDATE api_keys SET revoked_at = now(), version = version + 1"
		       " WHERE id = $1 AND revoked_at IS NULL",
		       1, p, err, errlen);
}

#define APIKEY_JSON                                                                                \
	"SELECT json_build_object('id', id, 'name', name, 'owner_id', owner_id, 'roles',"        \
	" to_json(roles), 'created_at', " TS("created_at") ", 'expires_at', " TS("expires_at")   \
	", 'revoked_at', " TS("revoked_at") ", 'rotated_from', rotated_from, 'version',"          \
	" version)::text FROM api_keys"

static int
apikeys_query(struct db *db, const char *sql, const char *arg, json_t **ret, char *err,
	      size_t errlen)
{
	const char *p[1] = {arg};
	int rc = 0;
	PGresult *res = run(db, sql, arg ? 1 : 0, arg ? p : NULL, &rc, err, errlen);
	json_t *a;

	if (res == NULL)
		return rc;
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	PQclear(res);
	*ret = a;
	return 0;
}

int
store_apikey_json(struct db *db, const char *id, json_t **ret, char *err, size_t errlen)
{
	json_t *a = NULL;
	int rc = apikeys_query(db, APIKEY_JSON " WHERE id = $1", id, &a, err, errlen);

	if (rc)
		return rc;
	if (json_array_size(a) != 1) {
		json_decref(a);
		return -ENOENT;
	}
	*ret = json_incref(json_array_get(a, 0));
	json_decref(a);
	return 0;
}

int
store_apikey_list(struct db *db, const char *owner_id, json_t **ret, char *err, size_t errlen)
{
	return apikeys_query(db,
			     owner_id ? APIKEY_JSON " WHERE owner_id = $1 ORDER BY created_at, id"
				      : APIKEY_JSON " ORDER BY created_at, id",
			     owner_id, ret, err, errlen);
}

/* ---- Audit ------------------------------------------------------------------ */

/*
 * The chained records of one round as the five array parameters of
 * chain_sql: their pos in audit_pending, seq, the microsecond of the
 * record as timestamptz text (exact: no floating point between us and the
 * column), prev_hash and hash in hex. The rest of each row comes from its
 * audit_pending row, which the same statement deletes: by the positions
 * chained, one index probe each, never a range (a record whose writer drew
 * a lower pos but committed after the chainer's read stays pending, for
 * the next round).
 */
static const char chain_sql[] =
	"WITH c AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[],"
	"           $4::text[], $5::text[]) AS c(pos, seq, at, prev, hash)),"
	" p AS (DELETE FROM audit_pending p USING c WHERE p.pos = c.pos RETURNING p.*)"
	" INSERT INTO audit_log (seq, at, subject, name, remote, action, target, outcome, details,"
	" traceparent, prev_hash, hash)"
	" SELECT c.seq, c.at, p.subject, p.name, p.remote, p.action, p.target, p.outcome,"
	" p.details, p.traceparent, decode(c.prev, 'hex'), decode(c.hash, 'hex')"
	" FROM c JOIN p ON p.pos = c.pos ORDER BY c.seq";

static void
hex_of(char *out, const uint8_t h[SECURITY_HASH_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SECURITY_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * SECURITY_HASH_LEN] = '\0';
}

/* Append record @e (at pos @pos) to @a, the columns of chain_sql. */
static void
chain_arrays_add(struct db_arrays *a, const char *pos, const struct security_audit_entry *e)
{
	time_t secs = (time_t)(e->at_us / 1000000);
	char seq[24], at[64], prev[2 * SECURITY_HASH_LEN + 1], hash[2 * SECURITY_HASH_LEN + 1];
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(seq, sizeof(seq), "%" PRId64, e->seq);
	snprintf(at, sizeof(at), "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(e->at_us % 1000000));
	hex_of(prev, e->prev);
	hex_of(hash, e->hash);
	db_arrays_row(a, (const char *const[]){pos, seq, at, prev, hash});
}

void
store_audit_pending_stmt(const uint8_t key[SECURITY_KEY_LEN],
			 const struct security_audit_entry *e, struct store_audit_stmt *b,
			 struct db_stmt *ret)
{
	uint8_t mac[SECURITY_HASH_LEN];
	int64_t id;

	randombytes_buf(&id, sizeof(id));
	id &= INT64_MAX;
	security_audit_pending_mac(key, e, id, mac);
	snprintf(b->id, sizeof(b->id), "%" PRId64, id);
	snprintf(b->at, sizeof(b->at), "%" PRId64, e->at_us);
	bytea_param(b->mac, mac);
	b->p[0] = b->id;
	b->p[1] = b->at;
	b->p[2] = e->subject;
	b->p[3] = e->name;
	b->p[4] = e->remote;
	b->p[5] = e->action;
	b->p[6] = e->target;
	b->p[7] = e->outcome;
	b->p[8] = e->details;
	b->p[9] = e->traceparent;
	b->p[10] = b->mac;
	*ret = (struct db_stmt){"INSERT INTO audit_pending (id, at_us, subject, name, remote,"
				" action, target, outcome, details, traceparent, mac) VALUES"
				" ($1::bigint, $2::bigint, $3, $4, $5, $6, $7, $8, $9, $10,"
				" $11::bytea)",
				11, b->p};
}

int
store_audit_pending_count(struct db *db, int64_t *ret, char *err, size_t errlen)
{
	int rc = 0;
	PGresult *res = run(db, "SELECT count(*) FROM audit_pending", 0, NULL, &rc, err, errlen);

	if (res == NULL)
		return rc;
	*ret = integer(res, 0, 0);
	PQclear(res);
	return 0;
}

/* The chain of the rows of @pend (from the chain's head @head/@hash) into @a. */
static int
chain_rows(const uint8_t key[SECURITY_KEY_LEN], PGresult *pend, int64_t head,
	   const uint8_t hash[SECURITY_HASH_LEN], struct security_audit_entry *e,
	   struct db_arrays *a, int *ret_n, char *err, size_t errlen)
{
	uint8_t mac[SECURITY_HASH_LEN], want[SECURITY_HASH_LEN];
	int n = PQntuples(pend);

	for (int i = 0; i < n; i++) {
		e[i] = (struct security_audit_entry){
			.seq = head + 1 + i,
			.at_us = integer(pend, i, 2),
			.subject = PQgetvalue(pend, i, 3),
			.name = PQgetvalue(pend, i, 4),
			.remote = PQgetvalue(pend, i, 5),
			.action = PQgetvalue(pend, i, 6),
			.target = PQgetvalue(pend, i, 7),
			.outcome = PQgetvalue(pend, i, 8),
			.details = PQgetvalue(pend, i, 9),
			.traceparent = PQgetvalue(pend, i, 10),
		};
		security_audit_pending_mac(key, &e[i], integer(pend, i, 1), want);
		if (security_unhex(mac, SECURITY_HASH_LEN, PQgetvalue(pend, i, 11)) < 0 ||
		    !security_hash_equal(mac, want)) {
			snprintf(err, errlen,
				 "audit_pending: the record at pos %s fails its MAC (changed in the "
				 "table, or written without the key): not chained",
				 PQgetvalue(pend, i, 0));
			*ret_n = i;
			return -EBADMSG;
		}
		memcpy(e[i].prev, i ? e[i - 1].hash : hash, SECURITY_HASH_LEN);
		security_audit_hash(key, &e[i], e[i].hash);
		chain_arrays_add(a, PQgetvalue(pend, i, 0), &e[i]);
	}
	*ret_n = n;
	return 0;
}

int
store_audit_chain(struct db *db, const uint8_t key[SECURITY_KEY_LEN], unsigned max,
		  unsigned *ret_n, int64_t *ret_seq, uint8_t ret_hash[SECURITY_HASH_LEN],
		  char *err, size_t errlen)
{
	char lim[16], state[6];
	const char *lp[] = {lim};
	/*
	 * The lock first, alone: the next statements' snapshots are taken after
	 * it, so they see the last chainer's commit.
	 */
	const struct db_stmt head_s[3] = {
		{"SELECT pg_advisory_xact_lock(hashtext('cuco.security.audit'))", 0, NULL},
		{"SELECT seq, encode(hash, 'hex') FROM audit_log ORDER BY seq DESC LIMIT 1", 0, NULL},
		{"SELECT pos, id, at_us, subject, name, remote, action, target, outcome, details,"
		 " traceparent, encode(mac, 'hex') FROM audit_pending ORDER BY pos LIMIT $1::int",
		 1, lp},
	};
	struct security_audit_entry *e = NULL;
	struct db_arrays a = {0};
	const char *ap[5];
	struct db_stmt st[2];
	uint8_t hash[SECURITY_HASH_LEN] = {0};
	PGresult *r[3], *cr[2];
	int64_t head = 0;
	int rc, bad = 0, n = 0;
	size_t failed;

	*ret_n = 0;
	max = max == 0 || max > STORE_CHAIN_MAX ? STORE_CHAIN_MAX : max;
	snprintf(lim, sizeof(lim), "%u", max);
	if (db_begin(db) < 0) {
		snprintf(err, errlen, "audit: %s", db_error(db));
		return -EIO;
	}
	if (db_pipeline(db, head_s, 3, r, &failed, state, err, errlen) < 0) {
		db_rollback(db);
		return -EIO;
	}
	PQclear(r[0]);
	if (PQntuples(r[1]) == 1) {
		head = integer(r[1], 0, 0);
		if (security_unhex(hash, SECURITY_HASH_LEN, PQgetvalue(r[1], 0, 1)) < 0)
			memset(hash, 0, SECURITY_HASH_LEN); /* verification reports it */
	}
	PQclear(r[1]);
	n = PQntuples(r[2]);
	rc = 0;
	if (n > 0) {
		e = calloc((size_t)n, sizeof(*e));
		rc = e && db_arrays_open(&a, 5) == 0 ? 0 : -ENOMEM;
		if (rc)
			snprintf(err, errlen, "audit: out of memory");
	}
	if (rc == 0 && n > 0) {
		char berr[256] = "";

		bad = chain_rows(key, r[2], head, hash, e, &a, &n, berr, sizeof(berr));
		if (db_arrays_close(&a, ap) < 0) {
			rc = -ENOMEM;
			snprintf(err, errlen, "audit: out of memory");
		} else if (bad) {
			snprintf(err, errlen, "%s", berr);
		}
	}
	if (rc == 0 && n > 0) {
		/* The round's records moved, and COMMIT: one round trip. */
		st[0] = (struct db_stmt){chain_sql, 5, ap};
		st[1] = (struct db_stmt){"COMMIT", 0, NULL};
		if (db_pipeline(db, st, 2, cr, &failed, state, err, errlen) < 0) {
			rc = -EIO;
		} else {
			/*
			 * Under the chain's lock only tampering removes a pending row
			 * between our read and the move: the chain then misses it,
			 * which verification reports too; say so here as well.
			 */
			if (strtol(PQcmdTuples(cr[0]), NULL, 10) != n) {
				snprintf(err, errlen,
					 "audit: %s of %d records chained: audit_pending changed "
					 "under the chainer",
					 PQcmdTuples(cr[0]), n);
				rc = -EIO;
			} else if (strcmp(PQcmdStatus(cr[1]), "COMMIT") != 0) {
				snprintf(err, errlen, "audit: the chaining was rolled back");
				rc = -EIO;
			}
			for (int i = 0; i < 2; i++)
				PQclear(cr[i]);
		}
		if (rc == 0) {
			*ret_n = (unsigned)n;
			*ret_seq = e[n - 1].seq;
			memcpy(ret_hash, e[n - 1].hash, SECURITY_HASH_LEN);
		} else {
			db_rollback(db);
		}
	} else {
		db_rollback(db);
	}
	PQclear(r[2]);
	free(e);
	db_arrays_free(&a);
	return rc ? rc : bad;
}

#define AUDIT_COLS                                                                                 \
	"seq, (extract(epoch FROM at) * 1000000)::bigint, subject, name, remote, action, target," \
	" outcome, details, traceparent, encode(prev_hash, 'hex'), encode(hash, 'hex'), "          \
	TS("at")

static PGresult *
audit_rows(struct db *db, int64_t after, unsigned limit, int *rc, char *err, size_t errlen)
{
	char a[24], l[16];
	const char *p[2] = {a, l};

	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(l, sizeof(l), "%u", limit);
	return run(db,
		   "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > $1::bigint ORDER BY seq"
		   " LIMIT $2::int",
		   2, p, rc, err, errlen);
}

static void
entry_from(const PGresult *res, int i, struct security_audit_entry *e)
{
	e->seq = integer(res, i, 0);
	e->at_us = integer(res, i, 1);
	e->subject = PQgetvalue(res, i, 2);
	e->name = PQgetvalue(res, i, 3);
	e->remote = PQgetvalue(res, i, 4);
	e->action = PQgetvalue(res, i, 5);
	e->target = PQgetvalue(res, i, 6);
	e->outcome = PQgetvalue(res, i, 7);
	e->details = PQgetvalue(res, i, 8);
	e->traceparent = PQgetvalue(res, i, 9);
	/* A malformed hash stays zeros and fails the check like any other change. */
	if (security_unhex(e->prev, SECURITY_HASH_LEN, PQgetvalue(res, i, 10)) < 0)
		memset(e->prev, 0xff, SECURITY_HASH_LEN);
	if (security_unhex(e->hash, SECURITY_HASH_LEN, PQgetvalue(res, i, 11)) < 0)
		memset(e->hash, 0, SECURITY_HASH_LEN);
}

int
store_audit_list(struct db *db, int64_t after_seq, unsigned limit, json_t **ret_items,
		 int64_t *ret_head, char *err, size_t errlen)
{
	struct security_audit_entry e;
	int rc = 0;
	PGresult *res;
	json_t *items, *details;

	res = run(db, "SELECT coalesce(max(seq), 0) FROM audit_log", 0, NULL, &rc, err, errlen);
	if (res == NULL)
		return rc;
	*ret_head = integer(res, 0, 0);
	PQclear(res);
	res = audit_rows(db, after_seq, limit, &rc, err, errlen);
	if (res == NULL)
		return rc;
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		entry_from(res, i, &e);
		details = json_loads(e.details, 0, NULL);
		if (details == NULL)
			details = json_string(e.details);
		json_array_append_new(items,
			json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "seq",
				  (json_int_t)e.seq, "at", PQgetvalue(res, i, 12), "subject",
				  e.subject, "name", e.name, "remote", e.remote, "action",
				  e.action, "target", e.target, "outcome", e.outcome, "details",
				  details, "traceparent", e.traceparent));
	}
	PQclear(res);
	*ret_items = items;
	return 0;
}

int
store_audit_walk(struct db *db, struct security_audit_walk *w, char *err, size_t errlen)
{
	struct security_audit_entry e;
	int64_t after = 0;
	int rc = 0, n;
	PGresult *res;

	/* Keyset pages of 1000: memory stays flat however long the log. */
	do {
		res = audit_rows(db, after, 1000, &rc, err, errlen);
		if (res == NULL)
			return rc;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			entry_from(res, i, &e);
			after = e.seq;
			if (security_audit_walk_step(w, &e) < 0) {
				PQclear(res);
				return 0;
			}
		}
		PQclear(res);
	} while (n == 1000);
	security_audit_walk_end(w);
	return 0;
}
