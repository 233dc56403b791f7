/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The order saga's engine: which step is next, its command, and what its
 * outcome changes, each in one transaction on the saga's row (locked), so a
 * crash anywhere leaves either the claim or the outcome, never half of one.
 * The host's orchestrator thread sends the commands (domain_order.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/core/outbox.h"
#include "bss/order/model.h"
#include "bss/order/order.h"

#define CALL_TIMEOUT_MS 5000
#define FORWARD_CAP_MS 5000
#define COMP_CAP_MS 30000

struct step {
	int seq;
	char domain[32], command[64], item[40], state[12], comp_command[64], comp_state[12];
	bool uncertain, expired;
	int attempts, comp_attempts, timeout_ms;
	json_t *result;
};

struct saga {
	char id[37], state[16], outcome[16], customer[37], order_state[16], start[40];
	bool cancel_requested, due;
	json_t *items; /* item id -> row */
	struct step *steps;
	int n;
};

static void
saga_clear(struct saga *s)
{
	for (int i = 0; i < s->n; i++)
		json_decref(s->steps[i].result);
	free(s->steps);
	json_decref(s->items);
	memset(s, 0, sizeof(*s));
}

void
order_call_clear(struct order_call *c)
{
	json_decref(c->payload);
	memset(c, 0, sizeof(*c));
}

int
order_saga_due(struct order *o, char (*ids)[37], size_t max, size_t *ret_n, struct order_error *err)
{
	char lim[16];
	const char *params[] = {lim};
	PGresult *res;

	snprintf(lim, sizeof(lim), "%zu", max);
	res = ord_exec(o,
		       "SELECT order_id FROM sagas WHERE state IN ('running', 'compensating') AND "
		       "next_at <= now() ORDER BY next_at LIMIT $1",
		       1, params);
	if (res == NULL) {
		(void)db_reset(o->db);
		return ord_internal(o, "sagas", err);
	}
	*ret_n = 0;
	for (int i = 0; i < PQntuples(res) && (size_t)i < max; i++)
		snprintf(ids[(*ret_n)++], 37, "%s", PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* The saga's rows, its saga row locked. -ENOENT when there is none. */
static int
saga_load(struct order *o, const char *id, struct saga *s, struct order_error *err)
{
	const char *params[] = {id};
	PGresult *res;

	res = ord_exec(o,
		       "SELECT s.state, coalesce(s.outcome, ''), s.next_at <= now(), o.customer_id, "
		       "o.cancel_requested, o.state, o.requested_start_date FROM sagas s JOIN "
		       "orders o ON o.id = s.order_id WHERE s.order_id = $1 FOR UPDATE OF s",
		       1, params);
	if (res == NULL)
		return ord_internal(o, "sagas", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return order_fail(err, -ENOENT, "not-found", "", "saga %s: not found", id);
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->state, sizeof(s->state), "%s", PQgetvalue(res, 0, 0));
	snprintf(s->outcome, sizeof(s->outcome), "%s", PQgetvalue(res, 0, 1));
	s->due = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	snprintf(s->customer, sizeof(s->customer), "%s", PQgetvalue(res, 0, 3));
	s->cancel_requested = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	snprintf(s->order_state, sizeof(s->order_state), "%s", PQgetvalue(res, 0, 5));
	snprintf(s->start, sizeof(s->start), "%s", PQgetvalue(res, 0, 6));
	PQclear(res);

	res = ord_exec(o,
		       "SELECT item_id, action, offering_id, coalesce(offering_name, ''), "
		       "previous_offering_id, service_id, access::text, inventory::text FROM "
		       "order_items WHERE order_id = $1 ORDER BY pos",
		       1, params);
	if (res == NULL)
		return ord_internal(o, "order_items", err);
	s->items = json_object();
	for (int i = 0; i < PQntuples(res); i++)
		json_object_set_new(
			s->items, PQgetvalue(res, i, 0),
			json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o}", "id",
				  PQgetvalue(res, i, 0), "action", PQgetvalue(res, i, 1),
				  "offering_id", PQgetvalue(res, i, 2), "name", PQgetvalue(res, i, 3),
				  "previous_offering_id",
				  PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4), "service_id",
				  PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5), "access",
				  json_loads(PQgetvalue(res, i, 6), 0, NULL), "inventory",
				  json_loads(PQgetvalue(res, i, 7), 0, NULL)));
	PQclear(res);

	res = ord_exec(o,
		       "SELECT seq, domain, command, coalesce(order_item_id, ''), state, "
		       "uncertain, attempts, result::text, coalesce(comp_command, ''), comp_state, "
		       "comp_attempts, timeout_ms, coalesce(started_at + timeout_ms * interval "
		       "'1 ms' < now(), false) FROM saga_steps WHERE order_id = $1 ORDER BY seq",
		       1, params);
	if (res == NULL)
		return ord_internal(o, "saga_steps", err);
	s->n = PQntuples(res);
	s->steps = calloc(s->n ? s->n : 1, sizeof(*s->steps));
	if (s->steps == NULL) {
		PQclear(res);
		return order_fail(err, -ENOMEM, "internal", "", "out of memory");
	}
	for (int i = 0; i < s->n; i++) {
		struct step *st = &s->steps[i];

		st->seq = atoi(PQgetvalue(res, i, 0));
		snprintf(st->domain, sizeof(st->domain), "%s", PQgetvalue(res, i, 1));
		snprintf(st->command, sizeof(st->command), "%s", PQgetvalue(res, i, 2));
		snprintf(st->item, sizeof(st->item), "%s", PQgetvalue(res, i, 3));
		snprintf(st->state, sizeof(st->state), "%s", PQgetvalue(res, i, 4));
		st->uncertain = strcmp(PQgetvalue(res, i, 5), "t") == 0;
		st->attempts = atoi(PQgetvalue(res, i, 6));
		st->result = PQgetisnull(res, i, 7) ? NULL
						    : json_loads(PQgetvalue(res, i, 7), 0, NULL);
		snprintf(st->comp_command, sizeof(st->comp_command), "%s", PQgetvalue(res, i, 8));
		snprintf(st->comp_state, sizeof(st->comp_state), "%s", PQgetvalue(res, i, 9));
		st->comp_attempts = atoi(PQgetvalue(res, i, 10));
		st->timeout_ms = atoi(PQgetvalue(res, i, 11));
		st->expired = strcmp(PQgetvalue(res, i, 12), "t") == 0;
	}
	PQclear(res);
	return 0;
}

static struct step *
step_by_command(struct saga *s, const char *command)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->steps[i].command, command) == 0)
			return &s->steps[i];
	return NULL;
}

/* A command id of its own per step and direction, the same for every attempt. */
static void
command_id(const char *order_id, int seq, bool comp, char out[37])
{
	unsigned char h[16];
	char key[96];
	int n;

	n = snprintf(key, sizeof(key), "order-saga:%s:%d:%s", order_id, seq, comp ? "comp" : "fwd");
	crypto_generichash(h, sizeof(h), (const unsigned char *)key, (size_t)n, NULL, 0);
	h[6] = (h[6] & 0x0f) | 0x80; /* RFC 9562 version 8: made by the application */
	h[8] = (h[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0],
		 h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
		 h[14], h[15]);
}

static json_t *
snapshot_of(struct saga *s, const char *offering, const char *what)
{
	struct step *r = step_by_command(s, "catalog.order.reserve");
	json_t *snap = r ? json_object_get(json_object_get(r->result, "snapshot"), offering) : NULL;

	return json_object_get(snap, what);
}

static json_t *
reserve_payload(struct saga *s)
{
	json_t *items = json_array(), *it;
	const char *key;

	json_object_foreach(s->items, key, it)
		json_array_append_new(
			items, json_pack("{s:s, s:O, s:O, s:O, s:O}", "order_item_id", key, "action",
					 json_object_get(it, "action"), "offering_id",
					 json_object_get(it, "offering_id"), "previous_offering_id",
					 json_object_get(it, "previous_offering_id")
						 ? json_object_get(it, "previous_offering_id")
						 : json_null(),
					 "inventory", json_object_get(it, "inventory")));
	return json_pack("{s:s, s:s, s:o}", "order_id", s->id, "at", s->start, "items", items);
}

static json_t *
plan_payload(struct saga *s)
{
	json_t *items = json_array(), *it;
	const char *key;

	json_object_foreach(s->items, key, it) {
		json_t *price = snapshot_of(s, json_string_value(json_object_get(it, "offering_id")),
					    "price");

		json_array_append_new(items,
				      json_pack("{s:s, s:O, s:O, s:O, s:O}", "order_item_id", key,
						"action", json_object_get(it, "action"),
						"offering_id", json_object_get(it, "offering_id"),
						"service_id",
						json_object_get(it, "service_id")
							? json_object_get(it, "service_id")
							: json_null(),
						"price", price ? price : json_null()));
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "order_id", s->id, "customer_id", s->customer,
			 "start_date", s->start, "items", items);
}

static json_t *
provision_payload(struct saga *s, const struct step *st, bool back)
{
	json_t *it = json_object_get(s->items, st->item);
	const char *action = json_string_value(json_object_get(it, "action"));
	const char *off = json_string_value(
		json_object_get(it, back ? "previous_offering_id" : "offering_id"));
	json_t *svc = json_object_get(it, "service_id");
	json_t *profile = snapshot_of(s, off ? off : "", "profile");

	return json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:O, s:O}", "order_id", s->id,
			 "order_item_id", st->item, "customer_id", s->customer, "action",
			 back ? "modify" : action, "service_id", svc ? svc : json_null(),
			 "offering_id", off ? off : "", "profile", profile ? profile : json_null(),
			 "access", json_object_get(it, "access"));
}

static json_t *
notify_payload(struct saga *s)
{
	char text[900];
	size_t n;
	json_t *it;
	const char *key;

	/* The saga compensated: the customer hears that nothing was set up. */
	if (strcmp(s->state, "compensating") == 0) {
		bool cancelled = strcmp(s->outcome, "cancelled") == 0;

		snprintf(text, sizeof(text),
			 cancelled ? "Your order %s is cancelled: nothing was set up and nothing "
				     "will be billed."
				   : "Your order %s could not be completed: nothing was set up and "
				     "nothing will be billed. We will contact you.",
			 s->id);
		return json_pack("{s:s, s:s, s:s, s:s}", "customer_id", s->customer, "kind",
				 cancelled ? "order.cancelled" : "order.failed", "order_id", s->id,
				 "text", text);
	}
	n = (size_t)snprintf(text, sizeof(text), "Your order %s is completed:", s->id);
	json_object_foreach(s->items, key, it) {
		if (n < sizeof(text))
			n += (size_t)snprintf(text + n, sizeof(text) - n, " %s (%s)",
					      json_string_value(json_object_get(it, "name")),
					      json_string_value(json_object_get(it, "action")));
	}
	return json_pack("{s:s, s:s, s:s, s:s}", "customer_id", s->customer, "kind",
			 "order.completed", "order_id", s->id, "text", text);
}

/* The services the network steps provisioned, per order item: what billing charges usage to. */
static json_t *
provisioned_services(struct saga *s)
{
	json_t *a = json_array();

	for (int i = 0; i < s->n; i++) {
		json_t *svc = json_object_get(s->steps[i].result, "service_id");

		if (strcmp(s->steps[i].command, "network.service.provision") == 0 &&
		    json_is_string(svc))
			json_array_append_new(a, json_pack("{s:s, s:O}", "order_item_id",
							   s->steps[i].item, "service_id", svc));
	}
	return a;
}

static json_t *
forward_payload(struct saga *s, struct step *st, struct order_call *c)
{
	struct step *r = step_by_command(s, "catalog.order.reserve");
	struct step *p = step_by_command(s, "billing.plan.create");

	if (strcmp(st->command, "catalog.order.reserve") == 0)
		return reserve_payload(s);
	if (strcmp(st->command, "billing.plan.create") == 0)
		return plan_payload(s);
	if (strcmp(st->command, "network.service.provision") == 0) {
		const char *state = json_string_value(json_object_get(st->result, "state"));

		/* Provisioned, the dataplane not reached yet: ask how it is going. */
		if (state != NULL && strcmp(state, "pending") == 0) {
			snprintf(c->type, sizeof(c->type), "network.service.get");
			c->query = true;
			return json_pack("{s:O}", "service_id",
					 json_object_get(st->result, "service_id"));
		}
		return provision_payload(s, st, false);
	}
	if (strcmp(st->command, "billing.plan.activate") == 0)
		return json_pack("{s:O, s:o}", "plan_id", json_object_get(p->result, "plan_id"),
				 "services", provisioned_services(s));
	if (strcmp(st->command, "catalog.order.commit") == 0)
		return json_pack("{s:O}", "reservation_ids",
				 json_object_get(r->result, "reservation_ids"));
	if (strcmp(st->command, "customer.notification.send") == 0)
		return notify_payload(s);
	return json_object();
}

static json_t *
comp_payload(struct saga *s, struct step *st)
{
	if (strcmp(st->comp_command, "catalog.order.release") == 0)
		return json_pack("{s:O}", "reservation_ids",
				 json_object_get(st->result, "reservation_ids"));
	if (strcmp(st->comp_command, "billing.plan.cancel") == 0)
		return json_pack("{s:O}", "plan_id", json_object_get(st->result, "plan_id"));
	if (strcmp(st->comp_command, "network.service.deprovision") == 0)
		return json_pack("{s:O}", "service_id", json_object_get(st->result, "service_id"));
	if (strcmp(st->comp_command, "network.service.provision") == 0)
		return provision_payload(s, st, true);
	return json_object();
}

static int
exec1(struct order *o, const char *sql, int n, const char *const *params, struct order_error *err)
{
	PGresult *res = ord_exec(o, sql, n, params);

	if (res == NULL)
		return ord_internal(o, "saga", err);
	PQclear(res);
	return 0;
}

static int
claim(struct order *o, struct saga *s, struct step *st, bool comp, struct order_call *c,
      struct order_error *err)
{
	char seq[16], step_id[128];
	const char *params[] = {s->id, seq};
	int rc;

	snprintf(seq, sizeof(seq), "%d", st->seq);
	rc = exec1(o,
		   comp ? "UPDATE saga_steps SET comp_state = 'running', comp_attempts = "
			  "comp_attempts + 1, comp_started_at = coalesce(comp_started_at, now()) "
			  "WHERE order_id = $1 AND seq = $2"
			: "UPDATE saga_steps SET state = 'running', attempts = attempts + 1, "
			  "started_at = coalesce(started_at, now()) WHERE order_id = $1 AND seq = $2",
		   2, params, err);
	if (rc == 0 && strcmp(s->order_state, "acknowledged") == 0)
		rc = ord_set_state(o, &order_saga_principal, s->id, "inProgress", NULL, NULL, err);
	if (rc == 0 && !comp && st->item[0]) {
		const char *p2[] = {s->id, st->item};

		rc = exec1(o,
			   "UPDATE order_items SET state = 'inProgress' WHERE order_id = $1 AND "
			   "item_id = $2 AND state = 'acknowledged'",
			   2, p2, err);
	}
	if (rc < 0)
		return rc;
	memset(c, 0, sizeof(*c));
	snprintf(c->order_id, sizeof(c->order_id), "%s", s->id);
	c->seq = st->seq;
	c->compensation = comp;
	snprintf(c->domain, sizeof(c->domain), "%s", st->domain);
	snprintf(c->type, sizeof(c->type), "%s", comp ? st->comp_command : st->command);
	command_id(s->id, st->seq, comp, c->command_id);
	c->payload = comp ? comp_payload(s, st) : forward_payload(s, st, c);
	snprintf(step_id, sizeof(step_id), "%s:%d%s", s->id, st->seq, comp ? ":comp" : "");
	if (c->payload == NULL)
		return order_fail(err, -ENOMEM, "internal", "", "out of memory");
	json_object_set_new(c->payload, "step_id", json_string(step_id));
	c->timeout_ms = st->timeout_ms < CALL_TIMEOUT_MS ? st->timeout_ms : CALL_TIMEOUT_MS;
	return 1;
}

static int
finish(struct order *o, struct saga *s, const char *saga_state, const char *order_state,
       const char *item_state, struct order_error *err)
{
	const char *params[] = {s->id, saga_state};
	int rc;

	rc = exec1(o, "UPDATE sagas SET state = $2, updated_at = now() WHERE order_id = $1", 2,
		   params, err);
	/* An order cancelled before its first step never was in progress. */
	if (rc == 0 && strcmp(s->order_state, "acknowledged") == 0 &&
	    !order_transition_allowed("acknowledged", order_state))
		rc = ord_set_state(o, &order_saga_principal, s->id, "inProgress", NULL, NULL, err);
	return rc ?: ord_set_state(o, &order_saga_principal, s->id, order_state, item_state,
				   s->outcome[0] ? s->outcome : NULL, err);
}

static bool
needs_comp(const struct step *st)
{
	return st->comp_command[0] && strcmp(st->comp_state, "done") != 0 &&
	       (strcmp(st->state, "done") == 0 ||
		(strcmp(st->state, "failed") == 0 && st->result != NULL));
}

static int
next_compensation(struct order *o, struct saga *s, struct order_call *c, struct order_error *err)
{
	bool irreversible = false;

	for (int i = s->n - 1; i >= 0; i--) {
		struct step *st = &s->steps[i];

		/* An outcome not known yet: asked again with the same command id first. */
		if (strcmp(st->state, "running") == 0 ||
		    (strcmp(st->state, "failed") == 0 && st->uncertain))
			return claim(o, s, st, false, c, err);
		if (needs_comp(st))
			return claim(o, s, st, true, c, err);
		if (strcmp(st->state, "done") == 0 && strcmp(st->domain, "network") == 0 &&
		    !st->comp_command[0])
			irreversible = true;
	}
	/* Everything undone: the customer is told, once (the confirmation step, unused). */
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->steps[i].command, "customer.notification.send") == 0 &&
		    strcmp(s->steps[i].state, "pending") == 0)
			return claim(o, s, &s->steps[i], false, c, err);
	if (strcmp(s->outcome, "cancelled") == 0)
		return finish(o, s, "compensated", "cancelled", "cancelled", err);
	return finish(o, s, "compensated", irreversible ? "partial" : "failed", "failed", err);
}

int
order_saga_next(struct order *o, const char *order_id, struct order_call *call,
		struct order_error *err)
{
	struct saga s = {0};
	int rc;

	rc = ord_begin(o, err);
	if (rc < 0)
		return rc;
	rc = saga_load(o, order_id, &s, err);
	if (rc < 0 || !s.due ||
	    (strcmp(s.state, "running") != 0 && strcmp(s.state, "compensating") != 0))
		goto out;
	if (strcmp(s.state, "running") == 0) {
		struct step *pending = NULL;
		bool provisioning = false;

		for (int i = 0; i < s.n; i++) {
			if (strcmp(s.steps[i].state, "running") == 0) {
				rc = claim(o, &s, &s.steps[i], false, call, err);
				goto out;
			}
			if (pending == NULL && strcmp(s.steps[i].state, "pending") == 0)
				pending = &s.steps[i];
			provisioning |= strcmp(s.steps[i].domain, "network") == 0 &&
					s.steps[i].attempts > 0;
		}
		if (pending == NULL) {
			rc = finish(o, &s, "completed", "completed", "completed", err);
			goto out;
		}
		if (!s.cancel_requested || provisioning) {
			rc = claim(o, &s, pending, false, call, err);
			goto out;
		}
		{
			const char *params[] = {order_id};

			rc = exec1(o,
				   "UPDATE sagas SET state = 'compensating', outcome = 'cancelled', "
				   "updated_at = now() WHERE order_id = $1",
				   1, params, err);
		}
		snprintf(s.state, sizeof(s.state), "compensating");
		snprintf(s.outcome, sizeof(s.outcome), "cancelled");
		if (rc < 0)
			goto out;
	}
	rc = next_compensation(o, &s, call, err);
out:
	if (rc >= 0) {
		int c = ord_commit(o, err);

		if (c < 0) {
			if (rc == 1)
				order_call_clear(call);
			rc = c;
		}
	}
	if (rc < 0)
		ord_rollback(o);
	saga_clear(&s);
	return rc;
}

/* ---- outcomes ---------------------------------------------------------------------- */

static double
jitter(void)
{
	return (double)randombytes_uniform(1000000) / 1000000.0;
}

static int
retry_later(struct order *o, const char *id, int seq, bool comp, unsigned attempts, unsigned cap,
	    const char *error, struct order_error *err)
{
	char s[16], ms[16];
	const char *params[] = {id, s, ms};
	const char *eparams[] = {id, s, error};
	int rc;

	snprintf(s, sizeof(s), "%d", seq);
	snprintf(ms, sizeof(ms), "%u", order_backoff_ms(attempts, cap, jitter()));
	/* Every parameter is used: PostgreSQL cannot type one that is not. */
	rc = exec1(o,
		   comp ? "UPDATE saga_steps SET comp_last_error = $3 WHERE order_id = $1 AND seq = $2"
			: "UPDATE saga_steps SET last_error = $3 WHERE order_id = $1 AND seq = $2",
		   3, eparams, err);
	return rc ?: exec1(o,
			   "UPDATE sagas SET next_at = now() + $3::int * interval '1 ms', "
			   "updated_at = now() WHERE order_id = $1 AND $2::int > 0",
			   3, params, err);
}

static int
now_due(struct order *o, const char *id, struct order_error *err)
{
	const char *params[] = {id};

	return exec1(o, "UPDATE sagas SET next_at = now(), updated_at = now() WHERE order_id = $1",
		     1, params, err);
}

/* What a provisioned service changes in the order domain's own view. */
static int
service_effect(struct order *o, struct saga *s, struct step *st, bool comp, json_t *result,
	       struct order_error *err)
{
	json_t *it = json_object_get(s->items, st->item);
	const char *action = json_string_value(json_object_get(it, "action"));
	const char *svc = json_string_value(json_object_get(result, "service_id"));
	const char *params[] = {svc, s->customer,
				json_string_value(json_object_get(it, comp ? "previous_offering_id"
									   : "offering_id")),
				s->id, st->item};

	if (svc == NULL || action == NULL)
		return 0;
	if (comp && strcmp(st->comp_command, "network.service.deprovision") == 0)
		return exec1(o,
			     "UPDATE services SET state = 'terminated', updated_at = now() WHERE "
			     "service_id = $1",
			     1, params, err);
	if (!comp && strcmp(action, "delete") == 0)
		return exec1(o,
			     "UPDATE services SET state = 'terminated', updated_at = now() WHERE "
			     "service_id = $1",
			     1, params, err);
	return exec1(o,
		     "WITH i AS (UPDATE order_items SET service_id = $1 WHERE order_id = $4 AND "
		     "item_id = $5) INSERT INTO services (service_id, customer_id, offering_id, "
		     "order_id, state) VALUES ($1, $2, $3, $4, 'active') ON CONFLICT (service_id) "
		     "DO UPDATE SET offering_id = $3, state = 'active', updated_at = now()",
		     5, params, err);
}

/*
 * When @done is the last of a running saga's network steps: the order's
 * order-to-enforcement latency, into the histogram /metrics serves.
 */
static int
observe_enforcement(struct order *o, struct saga *s, const struct step *done,
		    struct order_error *err)
{
	const char *params[] = {s->id};

	if (strcmp(s->state, "running") != 0)
		return 0;
	for (int i = 0; i < s->n; i++)
		if (&s->steps[i] != done && strcmp(s->steps[i].domain, "network") == 0 &&
		    strcmp(s->steps[i].state, "done") != 0)
			return 0;
	return exec1(o,
		     "WITH l AS (SELECT greatest(extract(epoch FROM clock_timestamp() - "
		     "created_at)::float8, 0) AS s FROM orders WHERE id = $1), "
		     "b AS (UPDATE enforcement_latency SET count = count + 1 "
		     "WHERE le >= (SELECT s FROM l)) "
		     "UPDATE enforcement_latency_sum SET seconds = seconds + (SELECT s FROM l)",
		     1, params, err);
}

static int
record_forward(struct order *o, struct saga *s, struct step *st, const struct order_call *call,
	       bool ok, json_t *result, const char *code, const char *detail,
	       struct order_error *err)
{
	char seq[16], msg[400];
	const char *rstate = json_string_value(json_object_get(result, "state"));
	bool compensating = strcmp(s->state, "compensating") == 0;
	bool pending = ok && strcmp(st->command, "network.service.provision") == 0 && rstate &&
		       strcmp(rstate, "pending") == 0;
	char *res_s = NULL;
	int rc;

	snprintf(seq, sizeof(seq), "%d", st->seq);
	snprintf(msg, sizeof(msg), "%s: %s", code ? code : "", detail ? detail : "");
	if (ok) {
		json_t *merged = json_deep_copy(st->result ? st->result : result);

		json_object_update(merged, result);
		res_s = json_dumps(merged, JSON_COMPACT);
		json_decref(merged);
	}
	if (ok && !pending) {
		const char *params[] = {s->id, seq, res_s};

		rc = exec1(o,
			   "UPDATE saga_steps SET state = 'done', uncertain = false, result = "
			   "$3::jsonb, finished_at = now() WHERE order_id = $1 AND seq = $2",
			   3, params, err);
		if (rc == 0 && strcmp(st->domain, "network") == 0)
			rc = service_effect(o, s, st, false, result, err);
		if (rc == 0 && strcmp(st->domain, "network") == 0)
			rc = observe_enforcement(o, s, st, err);
		free(res_s);
		return rc ?: now_due(o, s->id, err);
	}
	if (pending) {
		const char *params[] = {s->id, seq, res_s};

		rc = exec1(o,
			   "UPDATE saga_steps SET result = $3::jsonb, last_error = 'pending: the "
			   "dataplane has not confirmed yet' WHERE order_id = $1 AND seq = $2",
			   3, params, err);
		free(res_s);
		if (rc < 0)
			return rc;
		if (!st->expired)
			return retry_later(o, s->id, st->seq, false, (unsigned)st->attempts,
					   FORWARD_CAP_MS, "pending", err);
		snprintf(msg, sizeof(msg), "timeout: the service is still pending after %d ms",
			 st->timeout_ms);
		code = "timeout";
	} else if (order_code_retryable(code) && (compensating || !st->expired)) {
		return retry_later(o, s->id, st->seq, false, (unsigned)st->attempts,
				   compensating ? COMP_CAP_MS : FORWARD_CAP_MS, msg, err);
	}
	{
		/* Failed: a timeout may still have happened at the receiver. */
		const char *params[] = {s->id, seq, msg,
					order_code_retryable(code) && !pending && !compensating
						? "t"
						: "f"};

		rc = exec1(o,
			   "UPDATE saga_steps SET state = 'failed', uncertain = $4::boolean, "
			   "last_error = $3, finished_at = now() WHERE order_id = $1 AND seq = $2",
			   4, params, err);
	}
	/* A confirmation that cannot be sent does not undo the order. */
	if (rc == 0 && !compensating && strcmp(st->command, "customer.notification.send") != 0) {
		char failure[512];
		const char *params[] = {s->id, failure};

		snprintf(failure, sizeof(failure), "%s: %s", call->type, msg);
		rc = exec1(o,
			   "UPDATE sagas SET state = 'compensating', outcome = 'failed', failure = "
			   "$2, updated_at = now() WHERE order_id = $1",
			   2, params, err);
	}
	return rc ?: now_due(o, s->id, err);
}

static int
record_comp(struct order *o, struct saga *s, struct step *st, bool ok, json_t *result,
	    const char *code, const char *detail, struct order_error *err)
{
	char seq[16], msg[400];
	const char *params[] = {s->id, seq};
	int rc;

	snprintf(seq, sizeof(seq), "%d", st->seq);
	/* Nothing to undo is undone. */
	if (ok || (code && strcmp(code, "not_found") == 0)) {
		rc = exec1(o,
			   "UPDATE saga_steps SET comp_state = 'done', comp_finished_at = now() "
			   "WHERE order_id = $1 AND seq = $2",
			   2, params, err);
		if (rc == 0 && strcmp(st->domain, "network") == 0)
			rc = service_effect(o, s, st, true, st->result, err);
		return rc ?: now_due(o, s->id, err);
	}
	/* A compensation is retried until it succeeds: the saga's row shows why it waits. */
	snprintf(msg, sizeof(msg), "%s: %s", code ? code : "", detail ? detail : "");
	return retry_later(o, s->id, st->seq, true, (unsigned)st->comp_attempts, COMP_CAP_MS, msg,
			   err);
}

int
order_saga_record(struct order *o, const struct order_call *call, bool ok, json_t *result,
		  const char *code, const char *detail, struct order_error *err)
{
	struct saga s = {0};
	struct step *st = NULL;
	int rc;

	rc = ord_begin(o, err);
	if (rc < 0)
		return rc;
	rc = saga_load(o, call->order_id, &s, err);
	for (int i = 0; rc == 0 && i < s.n; i++)
		if (s.steps[i].seq == call->seq)
			st = &s.steps[i];
	if (rc == 0 && st == NULL)
		rc = order_fail(err, -ENOENT, "not-found", "", "saga %s: no step %d", call->order_id,
				call->seq);
	/* Recorded already (a duplicate outcome): nothing to change. */
	if (rc == 0 && (call->compensation ? strcmp(st->comp_state, "running") != 0
					   : strcmp(st->state, "running") != 0 &&
						     !(strcmp(st->state, "failed") == 0 &&
						       st->uncertain)))
		goto out;
	if (rc == 0)
		rc = call->compensation
			     ? record_comp(o, &s, st, ok, result, code, detail, err)
			     : record_forward(o, &s, st, call, ok, result, code, detail, err);
out:
	rc = rc ?: ord_commit(o, err);
	if (rc < 0)
		ord_rollback(o);
	saga_clear(&s);
	return rc;
}

/* ---- the saga as the API shows it ------------------------------------------------------ */

int
order_saga_get(struct order *o, const struct cuco_principal *p, const char *id, json_t **ret,
	       struct order_error *err)
{
	json_t *doc = NULL, *steps, *out;
	const char *params[] = {id};
	PGresult *res;
	int rc;

	rc = order_get(o, p, id, &doc, NULL, err);
	if (rc < 0)
		return rc;
	json_decref(doc);
	res = ord_exec(o,
		       "SELECT state, outcome, failure, " ORD_TIME("created_at") ", " ORD_TIME(
			       "updated_at") ", " ORD_TIME("next_at") " FROM sagas WHERE order_id = $1",
		       1, params);
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		return ord_internal(o, "sagas", err);
	}
	out = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s}", "order_id", id, "state",
			PQgetvalue(res, 0, 0), "outcome",
			PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), "failure",
			PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), "created_at",
			PQgetvalue(res, 0, 3), "updated_at", PQgetvalue(res, 0, 4), "next_attempt_at",
			PQgetvalue(res, 0, 5));
	PQclear(res);
	res = ord_exec(o,
		       "SELECT seq, domain, command, order_item_id, state, attempts, last_error, "
		       ORD_TIME("started_at") ", " ORD_TIME("finished_at") ", "
		       "(extract(epoch FROM finished_at - started_at) * 1000)::bigint, timeout_ms, "
		       "comp_command, comp_state, comp_attempts, comp_last_error, "
		       ORD_TIME("comp_started_at") ", " ORD_TIME("comp_finished_at") ", uncertain "
		       "FROM saga_steps WHERE order_id = $1 ORDER BY seq",
		       1, params);
	if (res == NULL) {
		json_decref(out);
		return ord_internal(o, "saga_steps", err);
	}
	steps = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
#define S(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
#define V(c) PQgetvalue(res, i, c)
		json_t *st = json_pack(
			"{s:i, s:s, s:s, s:s?, s:s, s:i, s:s?, s:s?, s:s?, s:i, s:b}", "seq",
			atoi(V(0)), "domain", S(1), "command", S(2), "order_item_id", S(3), "state",
			S(4), "attempts", atoi(V(5)), "last_error", S(6), "started_at", S(7),
			"finished_at", S(8), "timeout_ms", atoi(V(10)), "uncertain",
			strcmp(V(17), "t") == 0);

		json_object_set_new(st, "duration_ms",
				    S(9) ? json_integer(strtoll(V(9), NULL, 10)) : json_null());
		if (S(11) != NULL)
			json_object_set_new(
				st, "compensation",
				json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:s?}", "command", S(11),
					  "state", S(12), "attempts", atoi(V(13)), "last_error",
					  S(14), "started_at", S(15), "finished_at", S(16)));
		json_array_append_new(steps, st);
#undef S
#undef V
	}
	PQclear(res);
	json_object_set_new(out, "steps", steps);
	*ret = out;
	return 0;
}

/* ---- metrics ------------------------------------------------------------------------ */

int
order_metrics(struct order *o, FILE *out, struct order_error *err)
{
	static const char *const states[] = {"acknowledged", "inProgress", "completed",
					     "failed",	     "partial",	   "cancelled"};
	long long counts[sizeof(states) / sizeof(states[0])] = {0};
	PGresult *st, *h;

	st = ord_exec(o, "SELECT state, count(*) FROM orders GROUP BY state", 0, NULL);
	if (st == NULL)
		return ord_internal(o, "metrics", err);
	/* The label gets a name of its own: output column "le" (text), which
	 * PostgreSQL would name the CASE after its ELSE, is what ORDER BY le
	 * would sort, putting +Inf first and 60 last, where _count is read. */
	h = ord_exec(o,
		     "SELECT CASE WHEN le = 'Infinity' THEN '+Inf' ELSE le::text END AS label, "
		     "count, (SELECT seconds FROM enforcement_latency_sum) FROM "
		     "enforcement_latency ORDER BY enforcement_latency.le",
		     0, NULL);
	if (h == NULL) {
		PQclear(st);
		return ord_internal(o, "metrics", err);
	}
	for (int i = 0; i < PQntuples(st); i++)
		for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			if (strcmp(PQgetvalue(st, i, 0), states[k]) == 0)
				counts[k] = atoll(PQgetvalue(st, i, 1));
	fprintf(out, "# HELP cuco_orders Product orders per state.\n# TYPE cuco_orders gauge\n");
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
		fprintf(out, "cuco_orders{state=\"%s\"} %lld\n", states[k], counts[k]);
	fprintf(out, "# HELP cuco_order_enforcement_seconds From an order's acceptance to its "
		     "services applied by the dataplanes.\n"
		     "# TYPE cuco_order_enforcement_seconds histogram\n");
	for (int i = 0; i < PQntuples(h); i++)
		fprintf(out, "cuco_order_enforcement_seconds_bucket{le=\"%s\"} %s\n",
			PQgetvalue(h, i, 0), PQgetvalue(h, i, 1));
	if (PQntuples(h) > 0)
		fprintf(out,
			"cuco_order_enforcement_seconds_sum %s\n"
			"cuco_order_enforcement_seconds_count %s\n",
			PQgetvalue(h, 0, 2), PQgetvalue(h, PQntuples(h) - 1, 1));
	PQclear(st);
	PQclear(h);
	return 0;
}
