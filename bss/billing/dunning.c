/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dunning: an account whose oldest open bill is past its due date goes
 * through the configured steps (a reminder, the walled garden, suspension),
 * each once, announced by events; the network domain suspends or walls the
 * customer's services on billing.account.suspended and restores them on
 * billing.account.resumed, which a payment or credit that leaves nothing
 * overdue brings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

static int
log_action(struct db *db, const char *account, const char *invoice, unsigned step, int64_t days,
	   const char *action, struct billing_error *err)
{
	char s[16], d[24];
	const char *params[] = {account, invoice, s, d, action};
	PGresult *res;
	int rc = 0;

	snprintf(s, sizeof(s), "%u", step);
	snprintf(d, sizeof(d), "%lld", (long long)days);
	res = bill_exec(db,
			"INSERT INTO dunning_actions (account_id, invoice_id, step, days, action) "
			"VALUES ($1, $2, $3, $4, $5)",
			5, params, err, &rc);
	PQclear(res);
	return rc;
}

int
bill_dunning_settle(struct db *db, const struct cuco_principal *p, const char *account_id,
		    struct billing_error *err)
{
	const char *params[] = {account_id};
	PGresult *res;
	int rc = 0;

	res = bill_exec(db,
			"UPDATE accounts a SET dunning_step = 0, dunning_invoice = NULL, suspension "
			"= NULL, state = CASE WHEN a.state = 'suspended' THEN 'active' ELSE a.state "
			"END, version = a.version + 1, updated_at = now() FROM accounts o WHERE "
			"a.id = $1 AND o.id = a.id AND (a.dunning_step > 0 OR a.suspension IS NOT "
			"NULL) AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = $1 AND "
			"i.kind = 'invoice' AND i.state IN ('sent', 'partiallyPaid') AND i.due_at "
			"<= now()) RETURNING a.version, a.customer_id, o.suspension",
			1, params, err, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1) {
		bool was = !PQgetisnull(res, 0, 2);

		rc = bill_event(db, p, "account", account_id,
				strtoll(PQgetvalue(res, 0, 0), NULL, 10) - 1,
				was ? "billing.account.resumed" : "billing.account.dunning_ended",
				json_pack("{s:s, s:s, s:s?}", "account_id", account_id,
					  "customer_id", PQgetvalue(res, 0, 1), "previous",
					  was ? PQgetvalue(res, 0, 2) : NULL),
				err);
		if (rc == 0 && was)
			rc = log_action(db, account_id, NULL, 0, 0, "restore", err);
	}
	PQclear(res);
	return rc;
}

/* What a step does to the services: NULL (a reminder), "walled-garden" or "suspended". */
static const char *
availability_of(enum billing_dunning_action a)
{
	return a == BILLING_DUNNING_SUSPEND	    ? "suspended"
	       : a == BILLING_DUNNING_WALLED_GARDEN ? "walled-garden"
						    : NULL;
}

/* Take the steps of one account due now, in its own transaction. */
static int
dun_account(struct billing *b, const char *account, unsigned *ret_actions,
	    struct billing_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:billing"};
	const char *params[] = {account};
	const char *invoice, *number, *customer, *susp;
	unsigned step, due;
	int64_t version, days;
	PGresult *res;
	int rc;

	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	/*
	 * Lock the account first, on its own: a payment holding it may settle
	 * the bill, and a join re-checked after the wait would still see that
	 * bill as open and take the step again. The next statement's snapshot
	 * sees what the payment committed.
	 */
	res = bill_exec(b->db, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", 1, params, err,
			&rc);
	PQclear(res);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	res = bill_exec(b->db,
			"SELECT a.dunning_step, a.version, a.customer_id, a.suspension, i.id, "
			"i.number, floor(extract(epoch FROM now() - i.due_at) / 86400)::bigint "
			"FROM accounts a JOIN LATERAL (SELECT id, number, due_at FROM invoices WHERE "
			"account_id = a.id AND kind = 'invoice' AND state IN ('sent', "
			"'partiallyPaid') AND due_at <= now() ORDER BY due_at, year, seq LIMIT 1) i "
			"ON true WHERE a.id = $1 AND a.state <> 'closed'",
			1, params, err, &rc);
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		bill_rollback(b->db);
		return rc;
	}
	step = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	customer = PQgetvalue(res, 0, 2);
	susp = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	invoice = PQgetvalue(res, 0, 4);
	number = PQgetvalue(res, 0, 5);
	days = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	due = billing_dunning_due(b->cfg.dunning, b->cfg.n_dunning, days);
	for (unsigned s = step + 1; s <= due && rc == 0; s++) {
		enum billing_dunning_action act = b->cfg.dunning[s - 1].action;
		const char *avail = availability_of(act);

		rc = log_action(b->db, account, invoice, s, days, billing_dunning_action_name(act),
				err);
		rc = rc ?: bill_event(b->db, &sys, "account", account, version++,
				      "billing.account.dunning",
				      json_pack("{s:s, s:s, s:i, s:s, s:I, s:s, s:s}", "account_id",
						account, "customer_id", customer, "step", (int)s,
						"action", billing_dunning_action_name(act),
						"days_overdue", (json_int_t)days, "invoice_id",
						invoice, "billNo", number),
				      err);
		/* Suspension beats the walled garden; a reminder changes nothing. */
		if (rc == 0 && avail != NULL &&
		    (susp == NULL || (strcmp(susp, "walled-garden") == 0 &&
				      strcmp(avail, "suspended") == 0))) {
			rc = bill_event(b->db, &sys, "account", account, version++,
					"billing.account.suspended",
					json_pack("{s:s, s:s, s:s, s:s, s:s}", "account_id", account,
						  "customer_id", customer, "availability", avail,
						  "invoice_id", invoice, "billNo", number),
					err);
			susp = avail;
		}
		(*ret_actions)++;
	}
	if (rc == 0 && due > step) {
		char sstep[16], sver[24];
		const char *up[] = {account, sstep, sver, invoice, susp};
		PGresult *r;

		snprintf(sstep, sizeof(sstep), "%u", due);
		snprintf(sver, sizeof(sver), "%lld", (long long)version);
		r = bill_exec(b->db,
			      "UPDATE accounts SET dunning_step = $2, version = $3, dunning_invoice = "
			      "$4, suspension = $5, state = CASE WHEN $5::text IS NULL THEN state "
			      "ELSE 'suspended' END, updated_at = now() WHERE id = $1",
			      5, up, err, &rc);
		PQclear(r);
	}
	PQclear(res);
	if (rc == 0 && due > step)
		rc = bill_commit(b->db, err);
	else
		bill_rollback(b->db);
	return rc;
}

int
billing_dunning_tick(struct billing *b, unsigned *ret_actions, struct billing_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:billing"};
	PGresult *res;
	int rc = 0;

	*ret_actions = 0;
	/* Accounts with an overdue bill, and accounts in dunning with none any more. */
	res = bill_exec(b->db,
			"SELECT DISTINCT account_id, true FROM invoices WHERE kind = 'invoice' AND "
			"state IN ('sent', 'partiallyPaid') AND due_at <= now() UNION ALL SELECT id, "
			"false FROM accounts a WHERE (dunning_step > 0 OR suspension IS NOT NULL) "
			"AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND "
			"i.kind = 'invoice' AND i.state IN ('sent', 'partiallyPaid') AND i.due_at <= "
			"now())",
			0, NULL, err, &rc);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *acc = PQgetvalue(res, i, 0);

		if (PQgetvalue(res, i, 1)[0] == 't') {
			rc = dun_account(b, acc, ret_actions, err);
		} else {
			rc = bill_begin(b->db, err);
			rc = rc ?: bill_dunning_settle(b->db, &sys, acc, err);
			rc = rc ?: bill_commit(b->db, err);
			if (rc < 0)
				bill_rollback(b->db);
		}
		if (rc == -EAGAIN)
			rc = 0; /* a payment meanwhile: the next tick sees it */
	}
	PQclear(res);
	return rc;
}

int
billing_dunning_get(struct billing *b, const struct cuco_principal *p, json_t **ret,
		    struct billing_error *err)
{
	json_t *steps = json_array(), *accounts = NULL;
	int rc;

	if (!bill_may_read(p) || bill_own_customer(p) != NULL) {
		json_decref(steps);
		return bill_deny(p, err);
	}
	for (size_t i = 0; i < b->cfg.n_dunning; i++)
		json_array_append_new(steps,
				      json_pack("{s:i, s:i, s:s}", "step", (int)i + 1, "days",
						(int)b->cfg.dunning[i].days, "action",
						billing_dunning_action_name(b->cfg.dunning[i].action)));
	rc = bill_doc(b->db,
		      "SELECT COALESCE(jsonb_agg(jsonb_build_object('billingAccount', "
		      "jsonb_build_object('id', a.id), 'customer', jsonb_build_object('id', "
		      "a.customer_id), 'step', a.dunning_step, 'suspension', a.suspension, "
		      "'state', a.state, 'overdue', (SELECT COALESCE(jsonb_agg(jsonb_build_object("
		      "'id', i.id, 'billNo', i.number, 'remainingAmount', money(i.total_minor - "
		      "i.paid_minor - i.credited_minor, i.currency), 'daysOverdue', floor(extract("
		      "epoch FROM now() - i.due_at) / 86400)) ORDER BY i.due_at), '[]') FROM "
		      "invoices i WHERE i.account_id = a.id AND i.kind = 'invoice' AND i.state IN "
		      "('sent', 'partiallyPaid') AND i.due_at <= now()), 'actions', (SELECT "
		      "COALESCE(jsonb_agg(jsonb_build_object('step', d.step, 'action', d.action, "
		      "'days', d.days, 'invoice', d.invoice_id, 'at', ts(d.at)) ORDER BY d.id), "
		      "'[]') FROM dunning_actions d WHERE d.account_id = a.id)) ORDER BY a.id), "
		      "'[]') FROM accounts a WHERE a.dunning_step > 0 OR a.suspension IS NOT NULL "
		      "OR EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = a.id AND i.kind = "
		      "'invoice' AND i.state IN ('sent', 'partiallyPaid') AND i.due_at <= now())",
		      0, NULL, &accounts, err);
	if (rc < 0) {
		json_decref(steps);
		return rc;
	}
	*ret = json_pack("{s:o, s:i, s:o}", "steps", steps, "interval",
			 (int)b->cfg.dunning_interval_s, "accounts", accounts);
	return 0;
}
