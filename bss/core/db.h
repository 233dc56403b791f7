/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_DB_H
#define CUCO_BSS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

/*
 * PostgreSQL connections of the domains.
 *
 * Each domain owns one schema and one role (cuco_<domain>) that can write only
 * there. controld logs in once per connection with the URL from its config (the
 * embedded cluster's admin URL by default) and switches the connection to the
 * domain's role with SET ROLE, so a domain's SQL cannot touch another schema.
 * Each consumer, relay and request pool of a domain opens its own connections
 * (bulkheads): a slow domain cannot starve another of connections.
 *
 * Not thread-safe: one struct db per thread at a time.
 */

struct db;

/* One schema migration, embedded in the binary (see embed_sql.py). */
struct db_migration {
	unsigned version;  /* 1, 2, 3 ... without gaps */
	const char *name;  /* "init" for 001_init.sql */
	const char *sql;   /* the file's text, run in one transaction */
};

/*
 * Connect to @url and, when @role is not NULL, SET ROLE @role and
 * search_path to @schema. Returns 0, or -EIO with a message in @err.
 */
int db_open(const char *url, const char *role, const char *schema, struct db **ret, char *err,
	    size_t errlen);

/*
 * db_open() as the domain's role cuco_@domain with search_path @domain.
 * Returns 0, -EINVAL (bad domain name) or -EIO with a message in @err.
 */
int db_open_domain(const char *url, const char *domain, struct db **ret, char *err,
		   size_t errlen);

/*
 * Reconnect a connection that was lost (PQreset) and set its role and
 * search_path again. Returns 0 or -EIO (message in db_error()).
 */
int db_reset(struct db *db);

/* Whether @name may name a domain (schema, role suffix): [a-z][a-z0-9_]{0,30}. */
bool db_name_valid(const char *name);

/* Close; accepts NULL, returns NULL. */
struct db *db_close(struct db *db);

/* The libpq connection, for the domain's own queries. */
PGconn *db_conn(struct db *db);

/*
 * Bring a domain's schema up to date, as the admin (not the domain's role):
 * create role cuco_@domain (NOLOGIN) and schema @domain owned by it if they
 * are missing, grant the login role membership, then run each migration newer
 * than the schema's recorded version in its own transaction, as the domain's
 * role, recording it in @domain.schema_migrations. Idempotent. Two controlds
 * starting at once are serialized by an advisory lock.
 * Returns 0; -EPROTO when the database holds a version newer than the newest
 * of @m (message: "schema security is at version 7, this binary knows up to 5;
 * refusing to start"); -EIO otherwise. @err names the domain, the migration and
 * the server's message.
 */
int db_migrate(const char *url, const char *domain, const struct db_migration *m, size_t n,
	       char *err, size_t errlen);

/*
 * BEGIN / COMMIT / ROLLBACK. Return 0 or -EIO (COMMIT: -EAGAIN on a
 * serialization failure or deadlock; -EIO when the transaction had failed
 * and COMMIT rolled it back). The message is in db_error().
 *
 * db_begin() sends nothing: BEGIN goes with the transaction's first
 * statement (db_exec, db_pipeline), in the same round trip, so a failure to
 * begin shows there. COMMIT or ROLLBACK of a transaction that ran nothing
 * sends nothing either. So do not run statements on db_conn() directly
 * between db_begin() and the first db_exec()/db_pipeline().
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);

/* The open transaction appended events: its COMMIT wakes the schema's relay. */
void db_appended(struct db *db);
/* The schema a connection was opened for ("" if none). */
const char *db_schema(const struct db *db);

/*
 * Run @sql with text parameters. Returns the result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK; the caller PQclear()s it) or NULL with the server's
 * message in @err. SQLSTATE of the failure in @ret_sqlstate when not NULL
 * ("23505" unique violation, "40001" serialization failure ...).
 */
PGresult *db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
		  char *err, size_t errlen, char ret_sqlstate[6]);

/* One statement of a pipeline: @sql with @nparams text parameters. */
struct db_stmt {
	const char *sql;
	int nparams;
	const char *const *params;
};

/*
 * Run @n statements in one round trip (libpq pipeline mode), in order; the
 * server runs each after the previous one ended, each with its own snapshot
 * (READ COMMITTED), as if sent one by one. When one fails, the server skips
 * the rest. On success @ret (when not NULL) gets every result (the caller
 * PQclear()s them). Returns 0, or -EIO with the failing statement's index in
 * @ret_failed, its SQLSTATE in @ret_sqlstate and the server's message in
 * @err; then no result is returned and an open transaction is aborted (the
 * caller rolls back). A statement "COMMIT" last commits in the same trip:
 * its result's command tag is "COMMIT" (or "ROLLBACK" if it rolled back).
 */
int db_pipeline(struct db *db, const struct db_stmt *s, size_t n, PGresult **ret,
		size_t *ret_failed, char ret_sqlstate[6], char *err, size_t errlen);

/*
 * Append @s to a PostgreSQL array literal being written to @f, as one
 * quoted element (backslash and double quote escaped), after a comma
 * unless @first. The caller writes the braces.
 */
void db_array_element(FILE *f, const char *s, bool first);

/*
 * Array parameters built a row at a time, for a statement that turns them
 * back into rows with unnest($1::type[], $2::type[], ...): @n columns (at
 * most DB_ARRAYS_MAX), each an array literal of quoted text elements.
 * db_arrays_open() then db_arrays_row() for each row (one value a column),
 * db_arrays_close() to fill @params (valid until db_arrays_free(), which
 * is always called, also after a failure).
 */
#define DB_ARRAYS_MAX 16

struct db_arrays {
	unsigned n;
	size_t rows;
	FILE *f[DB_ARRAYS_MAX];
	char *buf[DB_ARRAYS_MAX];
	size_t len[DB_ARRAYS_MAX];
};

/* Returns 0, -EINVAL (@n out of range) or -ENOMEM. */
int db_arrays_open(struct db_arrays *a, unsigned n);
void db_arrays_row(struct db_arrays *a, const char *const *v);
/* Returns 0 or -ENOMEM. */
int db_arrays_close(struct db_arrays *a, const char **params);
void db_arrays_free(struct db_arrays *a);

/* Whether the server answers (SELECT 1). Returns 0 or -EIO (message in db_error()). */
int db_ping(struct db *db);

/*
 * The server's message of a failed @res on one line ("primary (detail)"),
 * or the connection's when @res is NULL, into @buf.
 */
void db_result_error(const PGresult *res, PGconn *conn, char *buf, size_t len);

/* The message of the last failed db_begin/commit/rollback/ping/reset; "" if none. */
const char *db_error(struct db *db);

#endif
