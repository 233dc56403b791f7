/* SPDX-License-Identifier: BSD-3-Clause */
/* The domain's handle, its transactions and events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/catalog/service.h"
#include "bss/core/outbox.h"

extern const struct db_migration catalog_migrations[];
extern const size_t catalog_migrations_n;

int64_t
cat_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
cat_pg_time(const char *s)
{
	int64_t us;

	return catalog_time_parse(s, false, &us) == 0 ? us : 0;
}

int
catalog_migrate(const char *url, struct catalog_error *err)
{
	char msg[256] = "";
	int rc = db_migrate(url, "catalog", catalog_migrations, catalog_migrations_n, msg,
			    sizeof(msg));

	if (rc)
		return catalog_fail(err, rc, "internal", "", "catalog: migration: %s", msg);
	return 0;
}

int
catalog_open(const char *url, struct catalog **ret, struct catalog_error *err)
{
	struct catalog *cat;
	char msg[256];
	int rc;

	if (url == NULL)
		return catalog_fail(err, -EINVAL, "invalid-argument", "url",
				    "url: the database URL is required");
	cat = calloc(1, sizeof(*cat));
	if (cat == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = db_open_domain(url, "catalog", &cat->db, msg, sizeof(msg));
	if (rc) {
		free(cat);
		return catalog_fail(err, rc, "internal", "url", "catalog: database: %s", msg);
	}
	*ret = cat;
	return 0;
}

struct catalog *
catalog_close(struct catalog *cat)
{
	if (cat == NULL)
		return NULL;
	db_close(cat->db);
	free(cat);
	return NULL;
}

int
cat_begin(struct catalog *cat, struct catalog_error *err)
{
	if (db_begin(cat->db) < 0) {
		/* A connection lost since the last request comes back once. */
		if (db_reset(cat->db) < 0 || db_begin(cat->db) < 0)
			return catalog_fail(err, -EIO, "internal", "", "catalog: BEGIN: %s",
					    db_error(cat->db));
	}
	return 0;
}

int
cat_commit(struct catalog *cat, struct catalog_error *err)
{
	if (db_commit(cat->db) < 0)
		return catalog_fail(err, -EIO, "internal", "", "catalog: COMMIT: %s",
				    db_error(cat->db));
	return 0;
}

void
cat_rollback(struct catalog *cat)
{
	db_rollback(cat->db);
}

PGresult *
cat_exec(struct catalog *cat, const char *sql, int n, const char *const *params, char ret_state[6])
{
	return db_exec(cat->db, sql, n, params, cat->dberr, sizeof(cat->dberr), ret_state);
}

int
cat_internal(struct catalog *cat, const char *what, struct catalog_error *err)
{
	return catalog_fail(err, -EIO, "internal", "", "catalog: %s: %s", what, cat->dberr);
}

int
cat_event(struct catalog *cat, const struct cuco_principal *p, const char *aggregate_type,
	  const char *id, int64_t expected, const char *type, json_t *payload,
	  struct catalog_error *err)
{
	const char *tp = p && cuco_traceparent_valid(p->traceparent) ? p->traceparent : NULL;
	int rc;

	if (payload == NULL)
		return catalog_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (p != NULL && p->subject[0])
		json_object_set_new(payload, "by", json_string(p->subject));
	rc = outbox_append(cat->db, aggregate_type, id, expected, type, 1, payload, tp, NULL, NULL,
			   cat->dberr, sizeof(cat->dberr));
	json_decref(payload);
	if (rc == -EAGAIN)
		return catalog_fail(err, -ESTALE, "stale-version", "",
				    "%s %s changed meanwhile (expected revision %lld)",
				    aggregate_type, id, (long long)expected);
	if (rc)
		return catalog_fail(err, -EIO, "internal", "", "outbox: %s", cat->dberr);
	return 0;
}

int
cat_deny(const struct cuco_principal *p, const char *action, struct catalog_error *err)
{
	return catalog_fail(err, -EPERM, "forbidden", "", "%s: not allowed for %s", action,
			    p == NULL	    ? "anonymous"
			    : p->name[0]    ? p->name
			    : p->subject[0] ? p->subject
					    : "anonymous");
}
