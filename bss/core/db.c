/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bss/core/db.h"
#include "bss/core/outbox.h"

#define DB_CACHE_MAX 256

struct db {
	PGconn *conn;
	char role[64];   /* "" when the login role is kept */
	char schema[64]; /* "" when search_path is left alone */
	char error[256]; /* the last failure of begin/commit/rollback/ping/reset */
	bool appended;	 /* the open transaction appended events (outbox_append) */
	bool begin_pending; /* db_begin() was called: BEGIN goes with the next statement */
	/*
	 * Statements seen on this connection, prepared on their second use
	 * (server-side named statements "s<generation>_<i>"): a hot statement is parsed,
	 * analysed and planned once per connection, not on every call. Never
	 * evicted; once full, new texts run unprepared.
	 */
	struct db_cached {
		uint64_t hash;
		char *sql;
		int nparams;
		unsigned uses;
		bool prepared;
	} cache[DB_CACHE_MAX];
	unsigned ncached;
	unsigned generation; /* in the names: a cleared cache never reuses one */
};

/* The server's message without its trailing newline. */
static void
copy_message(char *dst, size_t len, const char *msg)
{
	size_t n;

	if (dst == NULL || len == 0)
		return;
	snprintf(dst, len, "%s", msg != NULL && *msg ? msg : "unknown error");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
}

void
db_result_error(const PGresult *res, PGconn *conn, char *buf, size_t len)
{
	const char *primary, *detail;
	char *nl;

	if (buf == NULL || len == 0)
		return;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (primary == NULL) {
		copy_message(buf, len,
			     res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
							       : PQerrorMessage(conn));
	} else {
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		if (detail != NULL)
			snprintf(buf, len, "%s (%s)", primary, detail);
		else
			snprintf(buf, len, "%s", primary);
	}
	/* One line, for one log line. */
	while ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = ' ';
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == ' ')
		buf[--len] = '\0';
}

/* Run @sql (no parameters) that must succeed; -EIO with the message otherwise. */
static int
simple(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		db_result_error(res, conn, err, errlen);
		rc = -EIO;
	}
	PQclear(res);
	return rc;
}

static int
set_identity(PGconn *conn, const char *role, const char *schema, char *err, size_t errlen)
{
	char sql[512], *r, *s = NULL;
	int rc = -EIO, n;

	r = PQescapeIdentifier(conn, role, strlen(role));
	if (schema != NULL)
		s = PQescapeIdentifier(conn, schema, strlen(schema));
	if (r == NULL || (schema != NULL && s == NULL)) {
		copy_message(err, errlen, PQerrorMessage(conn));
		goto out_free;
	}
	/* pg_catalog stays first implicitly; nothing else is searched. */
	if (s != NULL)
		n = snprintf(sql, sizeof(sql), "SET ROLE %s; SET search_path TO %s", r, s);
	else
		n = snprintf(sql, sizeof(sql), "SET ROLE %s", r);
	if (n >= (int)sizeof(sql)) {
		snprintf(err, errlen, "role or schema name too long");
		rc = -EINVAL;
		goto out_free;
	}
	rc = simple(conn, sql, err, errlen);
out_free:
	PQfreemem(r);
	PQfreemem(s);
	return rc;
}

int
db_open(const char *url, const char *role, const char *schema, struct db **ret, char *err,
	size_t errlen)
{
	struct db *db;
	int rc;

	if (url == NULL || ret == NULL) {
		copy_message(err, errlen, "no database URL");
		return -EINVAL;
	}
	if ((role != NULL && strlen(role) >= sizeof(db->role)) ||
	    (schema != NULL && strlen(schema) >= sizeof(db->schema))) {
		copy_message(err, errlen, "role or schema name too long (at most 63 bytes)");
		return -EINVAL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		copy_message(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(db->role, sizeof(db->role), "%s", role ? role : "");
	snprintf(db->schema, sizeof(db->schema), "%s", role && schema ? schema : "");
	db->conn = PQconnectdb(url);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		copy_message(err, errlen,
			     db->conn ? PQerrorMessage(db->conn) : "cannot allocate a connection");
		db_close(db);
		return -EIO;
	}
	if (role != NULL) {
		rc = set_identity(db->conn, role, schema, err, errlen);
		if (rc < 0) {
			db_close(db);
			return rc;
		}
	}
	*ret = db;
	return 0;
}

int
db_open_domain(const char *url, const char *domain, struct db **ret, char *err, size_t errlen)
{
	char role[64];

	if (!db_name_valid(domain)) {
		snprintf(err, errlen, "domain name '%s' is not [a-z][a-z0-9_]{0,30}",
			 domain ? domain : "");
		return -EINVAL;
	}
	snprintf(role, sizeof(role), "cuco_%s", domain);
	return db_open(url, role, domain, ret, err, errlen);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Only what the extended protocol's Parse plans: no BEGIN, COMMIT or SET. */
static bool
preparable(const char *sql)
{
	static const char *const verbs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"};

	while (*sql == ' ' || *sql == '\t' || *sql == '\n')
		sql++;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strncasecmp(sql, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

static void
cache_clear(struct db *db)
{
	for (unsigned i = 0; i < db->ncached; i++)
		free(db->cache[i].sql);
	db->ncached = 0;
	db->generation++;
}

/*
 * The name of @sql's prepared statement in @name (""), preparing it now on
 * its second use. Not prepared (first use, cache full, not preparable, or
 * the server refused: the unprepared run reports why): "".
 */
static void
cache_lookup(struct db *db, const char *sql, int nparams, char name[24])
{
	uint64_t h = fnv1a(sql);
	struct db_cached *c = NULL;
	PGresult *res;

	name[0] = '\0';
	for (unsigned i = 0; i < db->ncached; i++)
		if (db->cache[i].hash == h && db->cache[i].nparams == nparams &&
		    strcmp(db->cache[i].sql, sql) == 0) {
			c = &db->cache[i];
			break;
		}
	if (c == NULL) {
		if (db->ncached == DB_CACHE_MAX || !preparable(sql))
			return;
		c = &db->cache[db->ncached];
		c->sql = strdup(sql);
		if (c->sql == NULL)
			return;
		c->hash = h;
		c->nparams = nparams;
		c->uses = 0;
		c->prepared = false;
		db->ncached++;
	}
	if (!c->prepared && ++c->uses >= 2) {
		snprintf(name, 24, "s%u_%u", db->generation, (unsigned)(c - db->cache));
		res = PQprepare(db->conn, name, sql, nparams, NULL);
		c->prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		/* Refused (in a failed transaction, say): tried again on the next use. */
		if (!c->prepared)
			c->uses = 0;
	}
	if (c->prepared)
		snprintf(name, 24, "s%u_%u", db->generation, (unsigned)(c - db->cache));
	else
		name[0] = '\0';
}

/* A prepared statement the server no longer has, or whose plan changed shape. */
static bool
cache_stale(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

int
db_reset(struct db *db)
{
	/* A new session: its prepared statements are gone. */
	cache_clear(db);
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		copy_message(db->error, sizeof(db->error), PQerrorMessage(db->conn));
		return -EIO;
	}
	if (db->role[0] == '\0')
		return 0;
	return set_identity(db->conn, db->role, db->schema[0] ? db->schema : NULL, db->error,
			    sizeof(db->error));
}

bool
db_name_valid(const char *name)
{
	size_t n;

	if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (n = 1; name[n]; n++) {
		if (n > 30)
			return false;
		if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9') ||
		      name[n] == '_'))
			return false;
	}
	return true;
}

struct db *
db_close(struct db *db)
{
	if (db == NULL)
		return NULL;
	PQfinish(db->conn);
	cache_clear(db);
	free(db);
	return NULL;
}

PGconn *
db_conn(struct db *db)
{
	return db->conn;
}

const char *
db_error(struct db *db)
{
	return db->error;
}

int
db_begin(struct db *db)
{
	/* Sent with the transaction's first statement, in the same round trip. */
	db->appended = false;
	db->begin_pending = true;
	return 0;
}

void
db_appended(struct db *db)
{
	db->appended = true;
}

const char *
db_schema(const struct db *db)
{
	return db->schema;
}

int
db_commit(struct db *db)
{
	PGresult *res;

	if (db->begin_pending) { /* nothing ran: nothing to commit */
		db->begin_pending = false;
		return 0;
	}
	res = PQexec(db->conn, "COMMIT");
	const char *state;
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_result_error(res, db->conn, db->error, sizeof(db->error));
		state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		rc = state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
			     ? -EAGAIN
			     : -EIO;
	} else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		/* COMMIT of a failed transaction "succeeds" by rolling back. */
		copy_message(db->error, sizeof(db->error),
			     "transaction was aborted by an earlier error and rolled back");
		rc = -EIO;
	}
	PQclear(res);
	if (rc == 0 && db->appended)
		outbox_wake(db->schema);
	db->appended = false;
	return rc;
}

int
db_rollback(struct db *db)
{
	db->appended = false;
	if (db->begin_pending) {
		db->begin_pending = false;
		return 0;
	}
	return simple(db->conn, "ROLLBACK", db->error, sizeof(db->error));
}

PGresult *
db_exec(struct db *db, const char *sql, int nparams, const char *const *params, char *err,
	size_t errlen, char ret_sqlstate[6])
{
	PGresult *res;
	ExecStatusType st;
	const char *state;

	char name[24];

	if (db->begin_pending) {
		/* BEGIN and the statement in one round trip (db_pipeline adds BEGIN). */
		struct db_stmt one = {sql, nparams, params};
		char state_buf[6];
		size_t failed;

		if (db_pipeline(db, &one, 1, &res, &failed, state_buf, err, errlen) < 0) {
			if (ret_sqlstate != NULL)
				snprintf(ret_sqlstate, 6, "%s", state_buf);
			return NULL;
		}
		return res;
	}
	cache_lookup(db, sql, nparams, name);
	res = name[0] ? PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0)
		      : PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	if (name[0] && cache_stale(res)) {
		/* Forget every prepared statement; this call fails (its transaction did). */
		cache_clear(db);
	}
	db_result_error(res, db->conn, err, errlen);
	if (ret_sqlstate != NULL) {
		state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		/* No result at all: the connection is gone (class 08). */
		snprintf(ret_sqlstate, 6, "%s", state ? state : "08006");
	}
	PQclear(res);
	return NULL;
}

/* Read one statement's results up to its NULL; the last non-NULL is kept. */
static PGresult *
pipeline_result(PGconn *conn)
{
	PGresult *res, *last = NULL;

	while ((res = PQgetResult(conn)) != NULL) {
		PQclear(last);
		last = res;
	}
	return last;
}

static int pipeline(struct db *db, const struct db_stmt *s, size_t n, PGresult **ret,
		    size_t *ret_failed, char ret_sqlstate[6], char *err, size_t errlen);

int
db_pipeline(struct db *db, const struct db_stmt *s, size_t n, PGresult **ret, size_t *ret_failed,
	    char ret_sqlstate[6], char *err, size_t errlen)
{
	struct db_stmt *all;
	PGresult **res = NULL;
	size_t failed = 0;
	int rc;

	if (!db->begin_pending)
		return pipeline(db, s, n, ret, ret_failed, ret_sqlstate, err, errlen);
	/* The transaction's BEGIN goes first, in the same round trip. */
	db->begin_pending = false;
	all = calloc(n + 1, sizeof(*all));
	if (ret != NULL)
		res = calloc(n + 1, sizeof(*res));
	if (all == NULL || (ret != NULL && res == NULL)) {
		free(all);
		free(res);
		snprintf(err, errlen, "out of memory");
		snprintf(ret_sqlstate, 6, "53200");
		*ret_failed = 0;
		return -ENOMEM;
	}
	all[0] = (struct db_stmt){"BEGIN", 0, NULL};
	memcpy(all + 1, s, n * sizeof(*s));
	rc = pipeline(db, all, n + 1, res, &failed, ret_sqlstate, err, errlen);
	if (rc == 0 && ret != NULL) {
		PQclear(res[0]);
		memcpy(ret, res + 1, n * sizeof(*ret));
	}
	if (rc < 0)
		*ret_failed = failed > 0 ? failed - 1 : 0;
	free(all);
	free(res);
	return rc;
}

static int
pipeline(struct db *db, const struct db_stmt *s, size_t n, PGresult **ret, size_t *ret_failed,
	 char ret_sqlstate[6], char *err, size_t errlen)
{
	PGconn *conn = db->conn;
	const char *state;
	PGresult *res;
	size_t i, failed = n;
	int rc = 0;

	char names[n > 0 ? n : 1][24];

	snprintf(ret_sqlstate, 6, "08006");
	if (ret != NULL)
		memset(ret, 0, n * sizeof(*ret));
	/* Prepared before the pipeline: a second use's Parse is one round trip, once. */
	for (i = 0; i < n; i++)
		cache_lookup(db, s[i].sql, s[i].nparams, names[i]);
	if (PQenterPipelineMode(conn) != 1) {
		db_result_error(NULL, conn, err, errlen);
		*ret_failed = 0;
		return -EIO;
	}
	for (i = 0; i < n; i++)
		if ((names[i][0] ? PQsendQueryPrepared(conn, names[i], s[i].nparams, s[i].params,
						       NULL, NULL, 0)
				 : PQsendQueryParams(conn, s[i].sql, s[i].nparams, NULL, s[i].params,
						     NULL, NULL, 0)) != 1)
			break;
	if (i < n || PQpipelineSync(conn) != 1) {
		/* Not sent: the connection is broken; libpq drops what was queued. */
		db_result_error(NULL, conn, err, errlen);
		*ret_failed = i < n ? i : 0;
		PQexitPipelineMode(conn);
		return -EIO;
	}
	for (i = 0; i < n; i++) {
		ExecStatusType st;

		res = pipeline_result(conn);
		st = PQresultStatus(res);
		if (failed == n && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			failed = i;
			if (names[i][0] && cache_stale(res))
				cache_clear(db);
			db_result_error(res, conn, err, errlen);
			state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
			snprintf(ret_sqlstate, 6, "%s", state ? state : "08006");
			rc = -EIO;
		}
		if (ret != NULL && failed == n)
			ret[i] = res;
		else
			PQclear(res);
	}
	/* The sync's own result, then out of pipeline mode. */
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_PIPELINE_SYNC && rc == 0) {
		db_result_error(res, conn, err, errlen);
		failed = 0;
		rc = -EIO;
	}
	PQclear(res);
	PQexitPipelineMode(conn);
	if (rc < 0) {
		*ret_failed = failed;
		for (i = 0; ret != NULL && i < n; i++) {
			PQclear(ret[i]);
			ret[i] = NULL;
		}
	}
	return rc;
}

int
db_ping(struct db *db)
{
	if (PQstatus(db->conn) != CONNECTION_OK) {
		copy_message(db->error, sizeof(db->error), PQerrorMessage(db->conn));
		return -EIO;
	}
	return simple(db->conn, "SELECT 1", db->error, sizeof(db->error));
}

void
db_array_element(FILE *f, const char *s, bool first)
{
	if (!first)
		fputc(',', f);
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int
db_arrays_open(struct db_arrays *a, unsigned n)
{
	*a = (struct db_arrays){0};
	if (n == 0 || n > DB_ARRAYS_MAX)
		return -EINVAL;
	for (a->n = 0; a->n < n; a->n++) {
		a->f[a->n] = open_memstream(&a->buf[a->n], &a->len[a->n]);
		if (a->f[a->n] == NULL) {
			db_arrays_free(a);
			return -ENOMEM;
		}
		fputc('{', a->f[a->n]);
	}
	return 0;
}

void
db_arrays_row(struct db_arrays *a, const char *const *v)
{
	for (unsigned c = 0; c < a->n; c++)
		db_array_element(a->f[c], v[c], a->rows == 0);
	a->rows++;
}

int
db_arrays_close(struct db_arrays *a, const char **params)
{
	int rc = 0;

	for (unsigned c = 0; c < a->n; c++) {
		fputc('}', a->f[c]);
		if (fclose(a->f[c]) != 0)
			rc = -ENOMEM;
		a->f[c] = NULL;
		params[c] = a->buf[c];
	}
	return rc;
}

void
db_arrays_free(struct db_arrays *a)
{
	for (unsigned c = 0; c < a->n; c++) {
		if (a->f[c] != NULL)
			fclose(a->f[c]);
		free(a->buf[c]);
	}
	*a = (struct db_arrays){0};
}
