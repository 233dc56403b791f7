/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/db.h"

/* bss/core/migrations/NNN_*.sql, embedded by embed_sql.py. */
extern const struct db_migration core_migrations[];
extern const size_t core_migrations_n;

/* The component of schema_migrations that the core's own tables are recorded under. */
#define CORE_COMPONENT "core"

/* Identifiers of one domain, quoted for SQL. */
struct names {
	const char *domain;
	char role[80];   /* "cuco_<domain>", quoted */
	char schema[80]; /* "<domain>", quoted */
	char lit[80];    /* '<domain>', a literal */
};

/* Run @sql without parameters; -EIO with "@what: message" in @err otherwise. */
static int
run(PGconn *conn, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[384];

		db_result_error(res, conn, msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", what, msg);
		rc = -EIO;
	}
	PQclear(res);
	return rc;
}

/* run() with printf-style SQL built from quoted names only. */
__attribute__((format(printf, 5, 6))) static int
runf(PGconn *conn, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(sql)) {
		snprintf(err, errlen, "%s: statement too long", what);
		return -EIO;
	}
	return run(conn, sql, what, err, errlen);
}

static int
quote(PGconn *conn, struct names *nm, const char *domain, char *err, size_t errlen)
{
	char role[64];
	char *r, *s, *l;
	int rc = -EIO;

	snprintf(role, sizeof(role), "cuco_%s", domain);
	r = PQescapeIdentifier(conn, role, strlen(role));
	s = PQescapeIdentifier(conn, domain, strlen(domain));
	l = PQescapeLiteral(conn, domain, strlen(domain));
	if (r && s && l) {
		nm->domain = domain;
		snprintf(nm->role, sizeof(nm->role), "%s", r);
		snprintf(nm->schema, sizeof(nm->schema), "%s", s);
		snprintf(nm->lit, sizeof(nm->lit), "%s", l);
		rc = 0;
	} else {
		snprintf(err, errlen, "schema %s: %s", domain, PQerrorMessage(conn));
	}
	PQfreemem(r);
	PQfreemem(s);
	PQfreemem(l);
	return rc;
}

/*
 * Serialize migrations of this domain's schema until the transaction ends
 * (two controlds starting at once; advisory locks are per database).
 */
static int
lock(PGconn *conn, const struct names *nm, char *err, size_t errlen)
{
	return runf(conn, "advisory lock", err, errlen,
		    "SELECT pg_advisory_xact_lock(hashtext('cuco.migrate'), hashtext(%s))", nm->lit);
}

/* Role, schema, membership and the schema_migrations table, in one transaction. */
static int
prepare(PGconn *conn, const struct names *nm, char *err, size_t errlen)
{
	char what[96];
	PGresult *res;
	const char *params[1];
	char role[64];
	int rc, exists;

	snprintf(what, sizeof(what), "schema %s: preparing", nm->domain);
	rc = run(conn, "BEGIN", what, err, errlen);
	if (rc < 0)
		return rc;
	rc = lock(conn, nm, err, errlen);
	if (rc < 0)
		goto out_rollback;

	snprintf(role, sizeof(role), "cuco_%s", nm->domain);
	params[0] = role;
	res = PQexecParams(conn, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, NULL, params,
			   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[384];

		db_result_error(res, conn, msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", what, msg);
		PQclear(res);
		rc = -EIO;
		goto out_rollback;
	}
	exists = PQntuples(res) > 0;
	PQclear(res);
	if (!exists) {
		rc = runf(conn, what, err, errlen, "CREATE ROLE %s NOLOGIN", nm->role);
		if (rc < 0)
			goto out_rollback;
	}
	/* The login role may SET ROLE to the domain's role (and owns nothing there). */
	rc = runf(conn, what, err, errlen, "GRANT %s TO CURRENT_USER", nm->role);
	if (rc < 0)
		goto out_rollback;
	rc = runf(conn, what, err, errlen, "CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s",
		  nm->schema, nm->role);
	if (rc < 0)
		goto out_rollback;
	/* No domain may create objects outside its own schema. */
	rc = run(conn, "REVOKE CREATE ON SCHEMA public FROM PUBLIC", what, err, errlen);
	if (rc < 0)
		goto out_rollback;
	rc = runf(conn, what, err, errlen,
		  "SET LOCAL ROLE %s; "
		  "CREATE TABLE IF NOT EXISTS %s.schema_migrations ("
		  " component text NOT NULL,"
		  " version integer NOT NULL CHECK (version >= 1),"
		  " name text NOT NULL,"
		  " applied_at timestamptz NOT NULL DEFAULT now(),"
		  " PRIMARY KEY (component, version)); "
		  "RESET ROLE",
		  nm->role, nm->schema);
	if (rc < 0)
		goto out_rollback;
	return run(conn, "COMMIT", what, err, errlen);

out_rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

/* The version @component of the schema is at (0: none), in @ret. */
static int
current_version(PGconn *conn, const struct names *nm, const char *component, unsigned *ret,
		char *err, size_t errlen)
{
	const char *params[1] = {component};
	char sql[256];
	PGresult *res;

	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(max(version), 0) FROM %s.schema_migrations WHERE component = $1",
		 nm->schema);
	res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char msg[384];

		db_result_error(res, conn, msg, sizeof(msg));
		snprintf(err, errlen, "schema %s: reading its version: %s", nm->domain, msg);
		PQclear(res);
		return -EIO;
	}
	*ret = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static void
describe(char *buf, size_t len, const struct names *nm, const char *component)
{
	if (strcmp(component, CORE_COMPONENT) == 0)
		snprintf(buf, len, "schema %s (event store tables)", nm->domain);
	else
		snprintf(buf, len, "schema %s", nm->domain);
}

/*
 * Apply migration @m (version v) if the schema is at v-1, in one
 * transaction holding the lock, as the domain's role; nothing when another
 * process applied it meanwhile.
 */
static int
apply_one(PGconn *conn, const struct names *nm, const char *component,
	  const struct db_migration *m, unsigned known, char *err, size_t errlen)
{
	char what[256], sql[512], who[128];
	const char *params[3];
	char version[16];
	unsigned at;
	PGresult *res;
	int rc;

	describe(who, sizeof(who), nm, component);
	snprintf(what, sizeof(what), "%s: migration %03u_%s", who, m->version, m->name);
	rc = run(conn, "BEGIN", what, err, errlen);
	if (rc < 0)
		return rc;
	rc = lock(conn, nm, err, errlen);
	if (rc < 0)
		goto out_rollback;
	rc = current_version(conn, nm, component, &at, err, errlen);
	if (rc < 0)
		goto out_rollback;
	if (at > known) {
		snprintf(err, errlen, "%s is at version %u, this binary knows up to %u; "
			 "refusing to start", who, at, known);
		rc = -EPROTO;
		goto out_rollback;
	}
	if (at >= m->version) { /* someone else got there first */
		rc = 0;
		goto out_rollback;
	}
	rc = runf(conn, what, err, errlen, "SET LOCAL ROLE %s; SET LOCAL search_path TO %s",
		  nm->role, nm->schema);
	if (rc < 0)
		goto out_rollback;
	rc = run(conn, m->sql, what, err, errlen);
	if (rc < 0)
		goto out_rollback;
	snprintf(version, sizeof(version), "%u", m->version);
	params[0] = component;
	params[1] = version;
	params[2] = m->name;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s.schema_migrations (component, version, name) VALUES ($1, $2, $3)",
		 nm->schema);
	res = PQexecParams(conn, sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char msg[384];

		db_result_error(res, conn, msg, sizeof(msg));
		snprintf(err, errlen, "%s: recording it: %s", what, msg);
		PQclear(res);
		rc = -EIO;
		goto out_rollback;
	}
	PQclear(res);
	return run(conn, "COMMIT", what, err, errlen);

out_rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

static int
apply_all(PGconn *conn, const struct names *nm, const char *component,
	  const struct db_migration *m, size_t n, char *err, size_t errlen)
{
	char who[128];
	unsigned at;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (m[i].version != i + 1 || m[i].sql == NULL || m[i].name == NULL) {
			describe(who, sizeof(who), nm, component);
			snprintf(err, errlen, "%s: migration #%zu is numbered %u, expected %zu", who,
				 i + 1, m[i].version, i + 1);
			return -EINVAL;
		}
	}
	/* A newer database is refused even when there is nothing to apply. */
	rc = current_version(conn, nm, component, &at, err, errlen);
	if (rc < 0)
		return rc;
	if (at > n) {
		describe(who, sizeof(who), nm, component);
		snprintf(err, errlen, "%s is at version %u, this binary knows up to %zu; "
			 "refusing to start", who, at, n);
		return -EPROTO;
	}
	for (size_t i = at; i < n; i++) {
		rc = apply_one(conn, nm, component, &m[i], (unsigned)n, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
db_migrate(const char *url, const char *domain, const struct db_migration *m, size_t n,
	   char *err, size_t errlen)
{
	struct names nm;
	PGconn *conn;
	int rc;

	if (!db_name_valid(domain) || strcmp(domain, "public") == 0 ||
	    strcmp(domain, CORE_COMPONENT) == 0 || strncmp(domain, "pg_", 3) == 0) {
		snprintf(err, errlen,
			 "domain name '%s' is not [a-z][a-z0-9_]{0,30} (nor public, core, pg_*)",
			 domain ? domain : "");
		return -EINVAL;
	}
	if (n > 0 && m == NULL) {
		snprintf(err, errlen, "schema %s: no migrations given", domain);
		return -EINVAL;
	}
	conn = PQconnectdb(url);
	if (PQstatus(conn) != CONNECTION_OK) {
		char msg[384];

		db_result_error(NULL, conn, msg, sizeof(msg));
		snprintf(err, errlen, "schema %s: connecting: %s", domain, msg);
		PQfinish(conn);
		return -EIO;
	}
	/* Our own notices ("role is already a member") are not for the caller's log. */
	PQclear(PQexec(conn, "SET client_min_messages TO warning"));
	rc = quote(conn, &nm, domain, err, errlen);
	if (rc == 0)
		rc = prepare(conn, &nm, err, errlen);
	if (rc == 0)
		rc = apply_all(conn, &nm, CORE_COMPONENT, core_migrations, core_migrations_n, err,
			       errlen);
	if (rc == 0)
		rc = apply_all(conn, &nm, domain, m, n, err, errlen);
	PQfinish(conn);
	return rc;
}
