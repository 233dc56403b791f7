/* SPDX-License-Identifier: BSD-3-Clause */
/* The domain's handle, transactions, events, and what every API file shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/customer/service.h"

extern const struct db_migration customer_migrations[];
extern const size_t customer_migrations_n;

int
customer_migrate(const char *url, struct customer_error *err)
{
	char msg[256] = "";
	int rc = db_migrate(url, "customer", customer_migrations, customer_migrations_n, msg,
			    sizeof(msg));

	if (rc)
		return customer_fail(err, rc, "internal", "", "customer: migration: %s", msg);
	return 0;
}

int
customer_open(const char *url, struct customer **ret, struct customer_error *err)
{
	struct customer *c;
	char msg[256];
	int rc;

	if (url == NULL)
		return customer_fail(err, -EINVAL, "invalid-argument", "url",
				     "url: the database URL is required");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return customer_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = db_open_domain(url, "customer", &c->db, msg, sizeof(msg));
	if (rc) {
		free(c);
		return customer_fail(err, rc, "internal", "url", "customer: database: %s", msg);
	}
	*ret = c;
	return 0;
}

struct customer *
customer_close(struct customer *c)
{
	if (c == NULL)
		return NULL;
	db_close(c->db);
	free(c);
	return NULL;
}

int
cus_begin(struct customer *c, struct customer_error *err)
{
	if (db_begin(c->db) < 0)
		return customer_fail(err, -EIO, "internal", "", "customer: BEGIN: %s",
				     db_error(c->db));
	return 0;
}

int
cus_commit(struct customer *c, struct customer_error *err)
{
	if (db_commit(c->db) < 0)
		return customer_fail(err, -EIO, "internal", "", "customer: COMMIT: %s",
				     db_error(c->db));
	return 0;
}

void
cus_rollback(struct customer *c)
{
	db_rollback(c->db);
}

int
cus_store_fail(struct customer *c, int rc, const char *what, struct customer_error *err)
{
	if (rc == -ENOENT)
		return customer_fail(err, rc, "not-found", "id", "%s: not found", what);
	if (rc == -EEXIST)
		return customer_fail(err, rc, "conflict", "", "%s: already exists", what);
	return customer_fail(err, -EIO, "internal", "", "%s: %s", what, c->dberr);
}

int
cus_event(struct customer *c, const struct cuco_principal *p, const char *aggregate_type,
	  const char *aggregate_id, int64_t expected, const char *type, json_t *payload,
	  struct customer_error *err)
{
	const char *tp = p && cuco_traceparent_valid(p->traceparent) ? p->traceparent : NULL;
	int rc;

	if (payload == NULL)
		return customer_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = outbox_append(c->db, aggregate_type, aggregate_id, expected, type, 1, payload, tp,
			   NULL, NULL, c->dberr, sizeof(c->dberr));
	json_decref(payload);
	if (rc == -EAGAIN)
		return customer_fail(err, -ESTALE, "stale-version", "version",
				     "version: %s %s changed meanwhile (expected version %lld)",
				     aggregate_type, aggregate_id, (long long)expected);
	if (rc)
		return customer_fail(err, -EIO, "internal", "", "outbox: %s", c->dberr);
	return 0;
}

int
cus_deny(const struct cuco_principal *p, enum customer_action a, struct customer_error *err)
{
	return customer_fail(err, -EPERM, "forbidden", "", "%s: not allowed for %s",
			     customer_action_name(a),
			     p->name[0] ? p->name : p->subject[0] ? p->subject : "anonymous");
}

int
cus_load(struct customer *c, const struct cuco_principal *p, const char *id,
	 enum customer_action a, bool lock, struct customer_row *ret, struct customer_error *err)
{
	int rc;

	if (!customer_may(p, a, id ? id : ""))
		return cus_deny(p, a, err);
	rc = store_customer_get(c->db, id ? id : "", lock, ret, c->dberr, sizeof(c->dberr));
	return rc ? cus_store_fail(c, rc, "customer", err) : 0;
}

int
cus_check_version(int64_t expected, int64_t current, struct customer_error *err)
{
	if (expected == -1 || expected == current)
		return 0;
	return customer_fail(err, -ESTALE, "stale-version", "version",
			     "version: the customer is at version %lld, not %lld",
			     (long long)current, (long long)expected);
}

int
cus_erased(const char *what, struct customer_error *err)
{
	return customer_fail(err, -EBUSY, "erased", "", "%s was erased: it cannot change any more",
			     what);
}

int
cus_limit(unsigned limit, unsigned *ret, struct customer_error *err)
{
	if (limit > 1000)
		return customer_fail(err, -EINVAL, "invalid-argument", "limit",
				     "limit: at most 1000, got %u", limit);
	*ret = limit ? limit : 100;
	return 0;
}

void
cus_like_pattern(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 3)
		return;
	buf[o++] = '%';
	for (; *s && o + 3 < len; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '%';
	buf[o] = '\0';
}
