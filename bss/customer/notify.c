/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The customer domain's commands on the bus: the order saga's notification
 * (customer.notification.send) and the check an order makes of its
 * customer (customer.customer.check). They run inside cmd_execute()'s
 * transaction on the bus's connection: once per command id, and once per
 * step id too (notifications.step_id is unique).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/customer/customer.h"
#include "bss/customer/service.h"

static const char *const channels[] = {"email", "sms", "phone", "post"};

static int __attribute__((format(printf, 4, 5)))
refuse(struct cmd_problem *pb, int rc, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(pb->code, sizeof(pb->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
	va_end(ap);
	return rc;
}

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

static bool
kind_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 50 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("_.-", s[i])))
			return false;
	return true;
}

/* Whether the customer has a contact medium the channel can reach. */
static bool
reachable(const json_t *doc, const char *channel)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "contactMedium"), i, m) {
		const char *t = json_string_value(json_object_get(m, "mediumType"));

		if (t == NULL)
			continue;
		if ((strcmp(channel, "email") == 0 && strcmp(t, "email") == 0) ||
		    (strcmp(channel, "sms") == 0 && strcmp(t, "mobile") == 0) ||
		    (strcmp(channel, "phone") == 0 &&
		     (strcmp(t, "phone") == 0 || strcmp(t, "mobile") == 0)) ||
		    (strcmp(channel, "post") == 0 && strcmp(t, "postalAddress") == 0))
			return true;
	}
	return false;
}

/*
 * The channel for a service message: the preferred one first, then email,
 * sms, phone, post; a channel is allowed when the preferences enable it, the
 * customer's last "service" consent on it is not a withdrawal, and a contact
 * medium reaches it. NULL: none (@reason says why).
 */
static const char *
choose_channel(struct db *db, const struct customer_row *row, char *reason, size_t len, int *rc)
{
	const char *params[] = {row->id}, *pref, *order[5];
	char err[256];
	json_t *en = json_object_get(row->prefs, "channels");
	PGresult *res;
	size_t n = 0;

	*rc = 0;
	pref = json_string_value(json_object_get(row->prefs, "preferred_channel"));
	if (pref != NULL)
		order[n++] = pref;
	for (size_t i = 0; i < 4; i++)
		if (pref == NULL || strcmp(pref, channels[i]) != 0)
			order[n++] = channels[i];
	res = db_exec(db,
		      "SELECT DISTINCT ON (channel) channel, state FROM consents WHERE "
		      "customer_id = $1 AND purpose = 'service' ORDER BY channel, at DESC, "
		      "recorded_at DESC",
		      1, params, err, sizeof(err), NULL);
	if (res == NULL) {
		*rc = -EIO;
		snprintf(reason, len, "%s", err);
		return NULL;
	}
	snprintf(reason, len, "no channel allowed by the preferences, consents and contact media");
	for (size_t i = 0; i < n; i++) {
		bool withdrawn = false;

		if (!json_is_true(json_object_get(en, order[i])) || !reachable(row->doc, order[i]))
			continue;
		for (int k = 0; k < PQntuples(res); k++)
			withdrawn |= strcmp(PQgetvalue(res, k, 0), order[i]) == 0 &&
				     strcmp(PQgetvalue(res, k, 1), "withdrawn") == 0;
		if (!withdrawn) {
			PQclear(res);
			reason[0] = '\0';
			return order[i];
		}
	}
	PQclear(res);
	return NULL;
}

static json_t *
notification_json(PGresult *res)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s}", "notification_id",
			 PQgetvalue(res, 0, 0), "step_id", PQgetvalue(res, 0, 1), "customer_id",
			 PQgetvalue(res, 0, 2), "kind", PQgetvalue(res, 0, 3), "state",
			 PQgetvalue(res, 0, 4),
			 "channel", PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5),
			 "reason", PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6),
			 "created_at", PQgetvalue(res, 0, 7));
}

#define NOTE_COLUMNS                                                                               \
	"id, step_id, customer_id, kind, state, channel, reason, "                                 \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static int
notification_send(struct db *db, const struct cuco_principal *who, json_t *payload, json_t **ret,
		  struct cmd_problem *pb)
{
	const char *step = json_string_value(json_object_get(payload, "step_id"));
	const char *cid = json_string_value(json_object_get(payload, "customer_id"));
	const char *kind = json_string_value(json_object_get(payload, "kind"));
	const char *order = json_string_value(json_object_get(payload, "order_id"));
	const char *text = json_string_value(json_object_get(payload, "text"));
	struct customer_row row = {0};
	const char *channel = NULL;
	char id[37], err[256], reason[300];
	const char *tp = cuco_traceparent_valid(who->traceparent) ? who->traceparent : NULL;
	PGresult *res;
	int rc;

	if (!step_id_valid(step))
		return refuse(pb, -EINVAL, "invalid", "step_id: 1 to 100 of A-Z a-z 0-9 . _ : -");
	if (!outbox_uuid_valid(cid))
		return refuse(pb, -EINVAL, "invalid", "customer_id: must be a UUID");
	if (!kind_valid(kind))
		return refuse(pb, -EINVAL, "invalid", "kind: such as order.completed");
	if (order != NULL && !outbox_uuid_valid(order))
		return refuse(pb, -EINVAL, "invalid", "order_id: must be a UUID");
	if (text == NULL || text[0] == '\0' || strlen(text) > 1000)
		return refuse(pb, -EINVAL, "invalid", "text: 1 to 1000 bytes");
	{
		const char *params[] = {step};

		res = db_exec(db, "SELECT " NOTE_COLUMNS " FROM notifications WHERE step_id = $1",
			      1, params, err, sizeof(err), NULL);
	}
	if (res == NULL)
		return refuse(pb, -EIO, "unavailable", "customer: %s", err);
	if (PQntuples(res) > 0) {
		*ret = notification_json(res);
		PQclear(res);
		return 0;
	}
	PQclear(res);
	rc = store_customer_get(db, cid, false, &row, err, sizeof(err));
	if (rc == -ENOENT)
		return refuse(pb, -ENOENT, "not_found", "customer_id: %s: not found", cid);
	if (rc < 0)
		return refuse(pb, -EIO, "unavailable", "customer: %s", err);
	if (row.erased)
		snprintf(reason, sizeof(reason), "the customer was erased");
	else
		channel = choose_channel(db, &row, reason, sizeof(reason), &rc);
	store_customer_row_clear(&row);
	if (rc < 0)
		return refuse(pb, -EIO, "unavailable", "customer: %s", reason);
	outbox_uuid4(id);
	{
		const char *params[] = {id,	 step, cid, kind, order,
					channel ? "sent" : "suppressed", channel,
					channel ? NULL : reason, text};

		res = db_exec(db,
			      "INSERT INTO notifications (id, step_id, customer_id, kind, order_id, "
			      "state, channel, reason, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
			      "$9) RETURNING " NOTE_COLUMNS,
			      9, params, err, sizeof(err), NULL);
	}
	if (res == NULL)
		return refuse(pb, -EIO, "unavailable", "customer: %s", err);
	*ret = notification_json(res);
	PQclear(res);
	/* Ids, kind and channel only: the outbox keeps nothing an erasure would remove. */
	rc = outbox_append(db, "notification", id, OUTBOX_NEW_AGGREGATE,
			   channel ? "customer.notification.sent" : "customer.notification.suppressed",
			   1, *ret, tp, NULL, NULL, err,
			   sizeof(err));
	if (rc < 0) {
		json_decref(*ret);
		*ret = NULL;
		return rc == -EAGAIN ? -EAGAIN : refuse(pb, -EIO, "unavailable", "outbox: %s", err);
	}
	return 0;
}

static int
customer_check(struct db *db, json_t *payload, json_t **ret, struct cmd_problem *pb)
{
	const char *cid = json_string_value(json_object_get(payload, "customer_id"));
	struct customer_row row = {0};
	char err[256];
	int rc;

	if (!outbox_uuid_valid(cid))
		return refuse(pb, -ENOENT, "not_found", "customer_id: %s: not found",
			      cid ? cid : "");
	rc = store_customer_get(db, cid, false, &row, err, sizeof(err));
	if (rc == -ENOENT)
		return refuse(pb, -ENOENT, "not_found", "customer_id: %s: not found", cid);
	if (rc < 0)
		return refuse(pb, -EIO, "unavailable", "customer: %s", err);
	*ret = json_pack("{s:s, s:s, s:b}", "customer_id", cid, "status",
			 customer_state_name(row.status), "erased", row.erased);
	store_customer_row_clear(&row);
	return *ret ? 0 : refuse(pb, -ENOMEM, "internal", "out of memory");
}

bool
customer_is_query(const char *type)
{
	return type != NULL && strcmp(type, "customer.customer.check") == 0;
}

int
customer_command(struct db *db, const struct cuco_principal *who, const char *type,
		 json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	(void)arg;
	if (!json_is_object(payload))
		return refuse(problem, -EINVAL, "invalid", "the payload must be an object");
	/* The saga's principal; a person's request never reaches these. */
	if (!cuco_principal_has(who, CUCO_ROLE_ADMIN) && !cuco_principal_has(who, CUCO_ROLE_OPERATOR))
		return refuse(problem, -EPERM, "forbidden", "%s: not allowed for %s", type,
			      who->subject);
	if (strcmp(type, "customer.notification.send") == 0)
		return notification_send(db, who, payload, ret_result, problem);
	if (strcmp(type, "customer.customer.check") == 0)
		return customer_check(db, payload, ret_result, problem);
	return refuse(problem, -EINVAL, "invalid", "%s: not a command of the customer domain",
		      type);
}
