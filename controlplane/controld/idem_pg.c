/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/db.h"
#include "bss/core/eventstore.h"
#include "common/pool.h"
#include "controlplane/controld/idem_pg.h"

extern const struct db_migration gateway_migrations[];
extern const size_t gateway_migrations_n;

struct idem_pg {
	struct pool *pool;
	size_t n;
	struct db **conns;
	char ttl[16];
};

int
idem_pg_migrate(const char *url, char *err, size_t errlen)
{
	return db_migrate(url, "gateway", gateway_migrations, gateway_migrations_n, err, errlen);
}

int
idem_pg_open(const char *url, unsigned nconn, unsigned ttl_s, struct idem_pg **ret, char *err,
	     size_t errlen)
{
	struct idem_pg *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL || (s->conns = calloc(nconn, sizeof(s->conns[0]))) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->ttl, sizeof(s->ttl), "%u", ttl_s);
	for (; s->n < nconn; s->n++) {
		r = db_open_domain(url, "gateway", &s->conns[s->n], err, errlen);
		if (r < 0) {
			idem_pg_close(s);
			return r;
		}
	}
	s->pool = pool_new((void *const *)s->conns, s->n);
	if (s->pool == NULL) {
		idem_pg_close(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct idem_pg *
idem_pg_close(struct idem_pg *s)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		db_close(s->conns[i]);
	free(s->conns);
	pool_free(s->pool);
	free(s);
	return NULL;
}

/* One statement on a borrowed connection; @ret_res may be NULL. */
static int
run(struct idem_pg *s, const char *sql, int n, const char *const *params, PGresult **ret_res,
    int *ret_rows)
{
	struct db *db = pool_get(s->pool);
	char err[256], state[6] = "";
	PGresult *res;

	res = db_exec(db, sql, n, params, err, sizeof(err), state);
	if (res == NULL && PQstatus(db_conn(db)) != CONNECTION_OK && db_reset(db) == 0)
		res = db_exec(db, sql, n, params, err, sizeof(err), state);
	pool_put(s->pool, db);
	if (res == NULL)
		return -EIO;
	if (ret_rows != NULL)
		*ret_rows = atoi(PQcmdTuples(res));
	if (ret_res != NULL)
		*ret_res = res;
	else
		PQclear(res);
	return 0;
}

static int
idem_get(void *arg, const char *subject, const char *key, struct rest_idem_record *ret)
{
	struct idem_pg *s = arg;
	const char *p[3] = {subject, key, s->ttl};
	PGresult *res;
	int r;

	r = run(s,
		"SELECT request_hash, completed, status, headers, body FROM idempotency "
		"WHERE subject = $1 AND key = $2 AND created_at > now() - ($3 || ' s')::interval",
		3, p, &res, NULL);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0) {
		r = -ENOENT;
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		r = -EBUSY;
	} else {
		size_t len = 0;
		unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 4),
						      &len);

		memset(ret, 0, sizeof(*ret));
		snprintf(ret->request_hash, sizeof(ret->request_hash), "%s", PQgetvalue(res, 0, 0));
		ret->status = (unsigned)atoi(PQgetvalue(res, 0, 2));
		ret->headers = strdup(PQgetvalue(res, 0, 3));
		ret->body = malloc(len + 1);
		if (ret->body != NULL && body != NULL) {
			memcpy(ret->body, body, len);
			ret->body[len] = '\0';
			ret->body_len = len;
		}
		PQfreemem(body);
		if (ret->headers == NULL || ret->body == NULL) {
			rest_idem_record_clear(ret);
			r = -ENOMEM;
		}
	}
	PQclear(res);
	return r;
}

static int
idem_begin(void *arg, const char *subject, const char *key, const char *hash)
{
	struct idem_pg *s = arg;
	const char *p[4] = {subject, key, hash, s->ttl};
	int rows = 0, r;

	/* An expired key is free again: take it over in the same statement. */
	r = run(s,
		"INSERT INTO idempotency (subject, key, request_hash) VALUES ($1, $2, $3) "
		"ON CONFLICT (subject, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
		"completed = false, status = NULL, headers = NULL, body = NULL, created_at = now() "
		"WHERE idempotency.created_at <= now() - ($4 || ' s')::interval",
		4, p, NULL, &rows);
	if (r < 0)
		return r;
	return rows == 1 ? 0 : -EEXIST;
}

static int
idem_put(void *arg, const char *subject, const char *key, const struct rest_idem_record *rec)
{
	struct idem_pg *s = arg;
	char status[16];
	const char *p[5] = {subject, key, status, rec->headers ? rec->headers : "", NULL};
	int lengths[5] = {0, 0, 0, 0, (int)rec->body_len};
	int formats[5] = {0, 0, 0, 0, 1};
	struct db *db;
	PGresult *res;
	int r = 0;

	snprintf(status, sizeof(status), "%u", rec->status);
	p[4] = rec->body ? rec->body : "";
	/* The body is binary-safe: sent as a bytea parameter in binary format. */
	db = pool_get(s->pool);
	res = PQexecParams(db_conn(db),
			   "UPDATE idempotency SET completed = true, status = $3, headers = $4, "
			   "body = $5 WHERE subject = $1 AND key = $2",
			   5, NULL, p, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = -EIO;
	PQclear(res);
	pool_put(s->pool, db);
	return r;
}

static void
idem_release(void *arg, const char *subject, const char *key)
{
	const char *p[2] = {subject, key};

	run(arg, "DELETE FROM idempotency WHERE subject = $1 AND key = $2 AND NOT completed", 2, p,
	    NULL, NULL);
}

const struct rest_idem_ops idem_pg_ops = {
	.get = idem_get,
	.begin = idem_begin,
	.put = idem_put,
	.release = idem_release,
};

int
idem_pg_ping(struct idem_pg *s)
{
	return run(s, "SELECT 1", 0, NULL, NULL, NULL);
}

int
idem_pg_erasure_apply(struct db *db, const char *source, const struct es_event *ev, void *arg,
		      char *err, size_t errlen)
{
	const char *ids[2] = {NULL, NULL};
	PGresult *res;

	if (strcmp(ev->type, "customer.customer.erased") == 0) {
		ids[0] = json_string_value(json_object_get(ev->payload, "id"));
		ids[1] = json_string_value(json_object_get(ev->payload, "partyId"));
	} else if (strcmp(ev->type, "customer.party.erased") == 0) {
		ids[0] = json_string_value(json_object_get(ev->payload, "id"));
	} else {
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		const char *p[1] = {ids[i]};

		if (ids[i] == NULL || ids[i][0] == '\0')
			continue;
		/* Answers are JSON: an id appears as a quoted string. */
		res = db_exec(db,
			      "DELETE FROM idempotency WHERE position(convert_to('\"' || $1 || '\"', "
			      "'UTF8') in body) > 0",
			      1, p, err, errlen, NULL);
		if (res == NULL)
			return -EIO;
		PQclear(res);
	}
	return 0;
}
