/* SPDX-License-Identifier: BSD-3-Clause */
/* Billing plans as the order saga sets them up: create, activate, cancel. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bss/billing/internal.h"
#include "bss/core/db.h"
#include "bss/core/outbox.h"

#define PLAN_COLUMNS                                                                               \
	"id, order_id, customer_id, state, items::text, start_date, create_step_id, version, "    \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

bool
billing_is_query(const char *type)
{
	return type != NULL && strcmp(type, "billing.plan.get") == 0;
}

static int __attribute__((format(printf, 4, 5)))
fail(struct cmd_problem *pb, int rc, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(pb->code, sizeof(pb->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
	va_end(ap);
	return rc;
}

/* A step id: what the saga names its steps with. */
static bool
step_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 100)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i])))
			return false;
	return true;
}

static const char *
uuid_field(json_t *payload, const char *name, struct cmd_problem *pb, int *rc)
{
	const char *s = json_string_value(json_object_get(payload, name));

	if (!outbox_uuid_valid(s)) {
		*rc = fail(pb, -EINVAL, "invalid", "%s: must be a lowercase UUID", name);
		return NULL;
	}
	return s;
}

static json_t *
plan_json(PGresult *res)
{
	json_t *items = json_loads(PQgetvalue(res, 0, 4), 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s}", "plan_id",
			 PQgetvalue(res, 0, 0), "order_id", PQgetvalue(res, 0, 1), "customer_id",
			 PQgetvalue(res, 0, 2), "state", PQgetvalue(res, 0, 3), "items",
			 items ? items : json_array(), "start_date", PQgetvalue(res, 0, 5),
			 "create_step_id", PQgetvalue(res, 0, 6), "version",
			 (json_int_t)strtoll(PQgetvalue(res, 0, 7), NULL, 10), "created_at",
			 PQgetvalue(res, 0, 8));
}

/* The plan whose @by is @key (FOR UPDATE when @lock), or -ENOENT. */
static int
plan_load(struct db *db, const char *by, const char *key, bool lock, json_t **ret,
	  struct cmd_problem *pb)
{
	char sql[512], err[256];
	const char *params[] = {key};
	PGresult *res;

	snprintf(sql, sizeof(sql), "SELECT " PLAN_COLUMNS " FROM plans WHERE %s = $1%s", by,
		 lock ? " FOR UPDATE" : "");
	res = db_exec(db, sql, 1, params, err, sizeof(err), NULL);
	if (res == NULL)
		return fail(pb, -EIO, "unavailable", "billing: %s", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return -ENOENT;
	}
	*ret = plan_json(res);
	PQclear(res);
	return *ret ? 0 : fail(pb, -ENOMEM, "internal", "out of memory");
}

/* A domain error as the command's problem. */
static int
from_error(struct cmd_problem *pb, int rc, const struct billing_error *e)
{
	if (rc == -EAGAIN)
		return rc;
	return fail(pb, rc, rc == -EINVAL ? "invalid" : rc == -EEXIST ? "exists"
						: rc == -ENOENT ? "not_found" : "unavailable",
		    "%s", e->message);
}

static int
plan_event(struct db *db, const struct cuco_principal *who, const char *id, int64_t expected,
	   const char *type, json_t *payload, struct cmd_problem *pb)
{
	const char *tp = cuco_traceparent_valid(who->traceparent) ? who->traceparent : NULL;
	char err[256];
	int rc;

	if (payload == NULL)
		return fail(pb, -ENOMEM, "internal", "out of memory");
	rc = outbox_append(db, "plan", id, expected, type, 1, payload, tp, NULL, NULL, err,
			   sizeof(err));
	json_decref(payload);
	if (rc == -EAGAIN)
		return -EAGAIN;
	return rc ? fail(pb, -EIO, "unavailable", "billing: outbox: %s", err) : 0;
}

static int
check_items(json_t *items, struct cmd_problem *pb)
{
	size_t i;
	json_t *it;

	if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > 100)
		return fail(pb, -EINVAL, "invalid", "items: 1 to 100 order items");
	json_array_foreach(items, i, it) {
		const char *a = json_string_value(json_object_get(it, "action"));

		if (!json_is_object(it) || a == NULL ||
		    (strcmp(a, "add") && strcmp(a, "modify") && strcmp(a, "delete")))
			return fail(pb, -EINVAL, "invalid",
				    "items/%zu/action: must be add, modify or delete", i);
		/* What the customer pays is what the catalog quoted: no price, no plan. */
		if (strcmp(a, "delete") != 0 && !json_is_object(json_object_get(it, "price")))
			return fail(pb, -EINVAL, "invalid",
				    "items/%zu/price: the catalog's price snapshot is required", i);
	}
	return 0;
}

static int
plan_create(struct db *db, const struct cuco_principal *who, const struct billing_config *cfg,
	    json_t *payload, json_t **ret, struct cmd_problem *pb)
{
	struct billing_error e = {0};
	int32_t day;
	const char *step = json_string_value(json_object_get(payload, "step_id"));
	const char *start = json_string_value(json_object_get(payload, "start_date"));
	json_t *items = json_object_get(payload, "items"), *plan = NULL;
	const char *order, *customer;
	char id[37], account[37], err[256], *items_s;
	PGresult *res;
	int rc = 0;

	if (!step_id_valid(step))
		return fail(pb, -EINVAL, "invalid", "step_id: 1 to 100 of A-Z a-z 0-9 . _ : -");
	order = uuid_field(payload, "order_id", pb, &rc);
	customer = order ? uuid_field(payload, "customer_id", pb, &rc) : NULL;
	if (rc < 0)
		return rc;
	if (start == NULL || strlen(start) > 40 || billing_date_parse(start, &day) < 0)
		return fail(pb, -EINVAL, "invalid", "start_date: a date or date-time is required");
	rc = check_items(items, pb);
	if (rc < 0)
		return rc;
	rc = plan_load(db, "create_step_id", step, true, &plan, pb);
	if (rc == 0) {
		*ret = plan;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	/* The customer's account exists from its first plan on: it can take payments at once. */
	rc = bill_account_ensure(db, who, cfg, customer, day,
				 json_string_value(json_object_get(
					 json_object_get(json_array_get(items, 0), "price"),
					 "currency")),
				 account, &e);
	if (rc < 0)
		return from_error(pb, rc, &e);
	outbox_uuid4(id);
	items_s = json_dumps(items, JSON_COMPACT);
	if (items_s == NULL)
		return fail(pb, -ENOMEM, "internal", "out of memory");
	{
		const char *params[] = {id, step, order, customer, items_s, start};

		res = db_exec(db,
			      "INSERT INTO plans (id, create_step_id, order_id, customer_id, state, "
			      "items, start_date) VALUES ($1, $2, $3, $4, 'pending', $5::jsonb, $6) "
			      "RETURNING " PLAN_COLUMNS,
			      6, params, err, sizeof(err), NULL);
	}
	free(items_s);
	if (res == NULL)
		return fail(pb, -EIO, "unavailable", "billing: %s", err);
	plan = plan_json(res);
	PQclear(res);
	if (plan == NULL)
		return fail(pb, -ENOMEM, "internal", "out of memory");
	rc = plan_event(db, who, id, OUTBOX_NEW_AGGREGATE, "billing.plan.created",
			json_pack("{s:s, s:s, s:s, s:s, s:O, s:s}", "plan_id", id, "order_id",
				  order, "customer_id", customer, "state", "pending", "items",
				  items, "step_id", step),
			pb);
	if (rc < 0) {
		json_decref(plan);
		return rc;
	}
	*ret = plan;
	return 0;
}

/* pending -> active, or pending|active -> cancelled; idempotent. */
static int
plan_move(struct db *db, const struct cuco_principal *who, const struct billing_config *cfg,
	  json_t *payload, const char *to, json_t **ret, struct cmd_problem *pb)
{
	struct billing_error e = {0};
	bool was_active;
	const char *step = json_string_value(json_object_get(payload, "step_id"));
	json_t *plan = NULL;
	const char *id, *state;
	char err[256];
	PGresult *res;
	int64_t version;
	int rc = 0;

	if (!step_id_valid(step))
		return fail(pb, -EINVAL, "invalid", "step_id: 1 to 100 of A-Z a-z 0-9 . _ : -");
	id = uuid_field(payload, "plan_id", pb, &rc);
	if (rc < 0)
		return rc;
	rc = plan_load(db, "id", id, true, &plan, pb);
	if (rc == -ENOENT)
		return fail(pb, -ENOENT, "not_found", "plan_id: plan %s: not found", id);
	if (rc < 0)
		return rc;
	state = json_string_value(json_object_get(plan, "state"));
	if (strcmp(state, to) == 0) {
		*ret = plan;
		return 0;
	}
	if (strcmp(state, "cancelled") == 0) {
		json_decref(plan);
		return fail(pb, -EBUSY, "conflict", "plan %s is cancelled: it cannot be %s", id,
			    to);
	}
	was_active = strcmp(state, "active") == 0;
	json_decref(plan);
	{
		const char *params[] = {id, to};

		res = db_exec(db,
			      "UPDATE plans SET state = $2, version = version + 1, updated_at = "
			      "now(), activated_at = CASE WHEN $2 = 'active' THEN now() ELSE "
			      "activated_at END, cancelled_at = CASE WHEN $2 = 'cancelled' THEN "
			      "now() ELSE cancelled_at END WHERE id = $1 RETURNING " PLAN_COLUMNS,
			      2, params, err, sizeof(err), NULL);
	}
	if (res == NULL)
		return fail(pb, -EIO, "unavailable", "billing: %s", err);
	plan = plan_json(res);
	version = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	PQclear(res);
	if (plan == NULL)
		return fail(pb, -ENOMEM, "internal", "out of memory");
	/* Billed from now on: the charges of its items; a cancel undoes them. */
	if (strcmp(to, "active") == 0)
		rc = bill_charges_from_plan(db, cfg, who, plan, json_object_get(payload, "services"),
					    &e);
	else if (was_active)
		rc = bill_charges_undo(db, id, &e);
	if (rc < 0) {
		json_decref(plan);
		return from_error(pb, rc, &e);
	}
	rc = plan_event(db, who, id, version - 1,
			strcmp(to, "active") == 0 ? "billing.plan.activated"
						  : "billing.plan.cancelled",
			json_pack("{s:s, s:s, s:s, s:s}", "plan_id", id, "state", to, "order_id",
				  json_string_value(json_object_get(plan, "order_id")), "step_id",
				  step),
			pb);
	if (rc < 0) {
		json_decref(plan);
		return rc;
	}
	*ret = plan;
	return 0;
}

int
billing_command(struct db *db, const struct cuco_principal *who, const char *type,
		json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	struct billing_config dflt;
	const struct billing_config *cfg = arg;

	if (cfg == NULL) {
		billing_config_defaults(&dflt);
		cfg = &dflt;
	}
	if (!json_is_object(payload))
		return fail(problem, -EINVAL, "invalid", "the payload must be an object");
	if (strcmp(type, "billing.plan.create") == 0)
		return plan_create(db, who, cfg, payload, ret_result, problem);
	if (strcmp(type, "billing.plan.activate") == 0)
		return plan_move(db, who, cfg, payload, "active", ret_result, problem);
	if (strcmp(type, "billing.plan.cancel") == 0)
		return plan_move(db, who, cfg, payload, "cancelled", ret_result, problem);
	if (strcmp(type, "billing.plan.get") == 0) {
		int rc = 0;
		const char *id = uuid_field(payload, "plan_id", problem, &rc);

		if (rc < 0)
			return rc;
		rc = plan_load(db, "id", id, false, ret_result, problem);
		return rc == -ENOENT ? fail(problem, -ENOENT, "not_found", "plan %s: not found", id)
				     : rc;
	}
	return fail(problem, -EINVAL, "invalid", "%s: not a command of the billing domain", type);
}
