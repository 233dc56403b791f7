/* SPDX-License-Identifier: BSD-3-Clause */
/* The billing domain's handle, settings, and the SQL helpers its files share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

extern const struct db_migration billing_migrations[];
extern const size_t billing_migrations_n;

int
billing_migrate(const char *url, char *err, size_t errlen)
{
	return db_migrate(url, "billing", billing_migrations, billing_migrations_n, err, errlen);
}

int
billing_open(const char *url, const struct billing_config *cfg, struct billing **ret,
	     struct billing_error *err)
{
	struct billing *b = calloc(1, sizeof(*b));
	char msg[256];
	int rc;

	if (b == NULL)
		return bill_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (cfg)
		b->cfg = *cfg;
	else
		billing_config_defaults(&b->cfg);
	rc = db_open_domain(url, "billing", &b->db, msg, sizeof(msg));
	if (rc < 0) {
		free(b);
		return bill_fail(err, rc, "internal", "", "billing: %s", msg);
	}
	*ret = b;
	return 0;
}

struct billing *
billing_close(struct billing *b)
{
	if (b == NULL)
		return NULL;
	db_close(b->db);
	free(b);
	return NULL;
}

int
billing_reconnect(struct billing *b, struct billing_error *err)
{
	if (db_ping(b->db) == 0)
		return 0;
	if (db_reset(b->db) < 0)
		return bill_fail(err, -EIO, "internal", "", "billing: %s", db_error(b->db));
	return 0;
}

int
bill_fail(struct billing_error *err, int rc, const char *code, const char *field, const char *fmt,
	  ...)
{
	va_list ap;

	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return rc;
}

PGresult *
bill_exec(struct db *db, const char *sql, int n, const char *const *params,
	  struct billing_error *err, int *ret_rc)
{
	char msg[256], state[6] = "";
	PGresult *res = db_exec(db, sql, n, params, msg, sizeof(msg), state);

	if (res != NULL)
		return res;
	if (strcmp(state, "23505") == 0)
		*ret_rc = bill_fail(err, -EEXIST, "conflict", "", "conflict: %s", msg);
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		*ret_rc = bill_fail(err, -EAGAIN, "conflict", "", "concurrent change: %s", msg);
	else
		*ret_rc = bill_fail(err, -EIO, "internal", "", "billing: database: %s", msg);
	return NULL;
}

int
bill_doc(struct db *db, const char *sql, int n, const char *const *params, json_t **ret,
	 struct billing_error *err)
{
	PGresult *res;
	int rc = 0;

	res = bill_exec(db, sql, n, params, err, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return -ENOENT;
	}
	*ret = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *ret ? 0 : bill_fail(err, -EIO, "internal", "", "billing: a bad document");
}

int
bill_own_doc(struct billing *b, const struct cuco_principal *p, const char *what,
	     const char *id, const char *sql, json_t **ret, struct billing_error *err)
{
	const char *params[] = {id, bill_own_customer(p)};
	int rc;

	if (!bill_may_read(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(id))
		return bill_fail(err, -ENOENT, "not-found", "", "%s %s: not found", what, id);
	rc = bill_doc(b->db, sql, 2, params, ret, err);
	return rc == -ENOENT ? bill_fail(err, -ENOENT, "not-found", "", "%s %s: not found", what, id)
			     : rc;
}

int
bill_page(struct db *db, const char *sql, int n, const char **params,
	  const struct billing_filter *f, json_t **ret, int64_t *ret_total,
	  struct billing_error *err)
{
	char lim[24], off[24];
	PGresult *res;
	json_t *items;
	int rc = 0;

	snprintf(lim, sizeof(lim), "%u", f->limit ? f->limit : 100);
	snprintf(off, sizeof(off), "%u", f->offset);
	params[n - 2] = lim;
	params[n - 1] = off;
	res = bill_exec(db, sql, n, params, err, &rc);
	if (res == NULL)
		return rc;
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	*ret_total = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	PQclear(res);
	*ret = items;
	return 0;
}

bool
bill_may_read(const struct cuco_principal *p)
{
	return p->roles != 0 || strncmp(p->subject, "system:", 7) == 0;
}

bool
bill_may_write(const struct cuco_principal *p)
{
	return cuco_principal_has(p, CUCO_ROLE_ADMIN) || cuco_principal_has(p, CUCO_ROLE_BILLING) ||
	       strncmp(p->subject, "system:", 7) == 0;
}

const char *
bill_own_customer(const struct cuco_principal *p)
{
	uint32_t staff = p->roles & ~CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE);

	if (staff != 0 || strncmp(p->subject, "system:", 7) == 0)
		return NULL;
	/* Self-care without a customer sees nothing: an id no row has. */
	return p->customer_id[0] ? p->customer_id : "00000000-0000-0000-0000-000000000000";
}

int
bill_deny(const struct cuco_principal *p, struct billing_error *err)
{
	return bill_fail(err, -EPERM, "forbidden", "", "%s may not do this in billing",
			 p->subject[0] ? p->subject : "anonymous");
}

int
bill_event(struct db *db, const struct cuco_principal *p, const char *agg_type,
	   const char *agg_id, int64_t expected, const char *type, json_t *payload,
	   struct billing_error *err)
{
	const char *tp = cuco_traceparent_valid(p->traceparent) ? p->traceparent : NULL;
	char msg[256];
	int rc;

	if (payload == NULL)
		return bill_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = outbox_append(db, agg_type, agg_id, expected, type, 1, payload, tp, NULL, NULL, msg,
			   sizeof(msg));
	json_decref(payload);
	if (rc == -EAGAIN)
		return bill_fail(err, -EAGAIN, "conflict", "", "%s %s changed meanwhile", agg_type,
				 agg_id);
	return rc ? bill_fail(err, -EIO, "internal", "", "billing: outbox: %s", msg) : 0;
}

int
bill_begin(struct db *db, struct billing_error *err)
{
	if (db_begin(db) < 0)
		return bill_fail(err, -EIO, "internal", "", "billing: %s", db_error(db));
	return 0;
}

int
bill_commit(struct db *db, struct billing_error *err)
{
	int rc = db_commit(db);

	if (rc == -EAGAIN)
		return bill_fail(err, -EAGAIN, "conflict", "", "concurrent change: %s", db_error(db));
	if (rc < 0)
		return bill_fail(err, -EIO, "internal", "", "billing: %s", db_error(db));
	return 0;
}

void
bill_rollback(struct db *db)
{
	db_rollback(db);
}

static _Atomic int days_ahead;

void
billing_set_test_days_ahead(int days)
{
	days_ahead = days;
}

int32_t
bill_today(void)
{
	return (int32_t)(time(NULL) / 86400) + days_ahead;
}
