/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Billing runs and the invoice of an account's cycle. Each account is
 * invoiced in its own transaction: the run's work-list row, the invoice
 * (unique per account and cycle, and per run and account), its lines, the
 * year's number counter and the events commit together, so a run stopped
 * anywhere (kill -9) resumes where it was and issues each invoice once,
 * numbered without gaps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

#define RUN_DOC "SELECT run_doc(r) FROM runs r"

/*
 * Accounts invoiced in one transaction, each under a savepoint: the
 * commit's flush is shared, and the billing outbox's counter row is held
 * for one batch at most.
 */
#define RUN_TXN_ACCOUNTS 32

static const char *
cell(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* ---- the invoice of one account's cycle ------------------------------------------------ */

struct cycle_ctx {
	struct billing *b;
	const char *run_id;     /* NULL: on demand */
	const char *request_id; /* the on-demand request, or NULL */
	const char *account;
	int32_t start, end;
	const struct cuco_principal *who;
};

/* The account's charges in the cycle, and its services' usage. */
static int
load_cycle(struct cycle_ctx *c, PGresult **ret_charges, struct billing_charge **ret_ch,
	   size_t *ret_n, PGresult **ret_usage, struct billing_usage **ret_u, size_t *ret_nu,
	   struct billing_error *err)
{
	char cs[11], ce[11];
	const char *params[] = {c->account, cs, ce};
	PGresult *res, *ures;
	int rc = 0, n;

	billing_date_format(c->start, cs);
	billing_date_format(c->end, ce);
	res = bill_exec(c->b->db,
			"SELECT id, name, service_id, recurring_minor, discount_minor, promo_months, "
			"promotion, one_time_minor, one_time_invoice IS NOT NULL, "
			"COALESCE(allowance_bytes, -1), COALESCE(per_gb_minor, 0), "
			"start_date - DATE '1970-01-01', COALESCE(end_date - DATE '1970-01-01', -1) "
			"FROM charges WHERE account_id = $1 AND start_date < $3::date AND "
			"(end_date IS NULL OR end_date > $2::date OR (one_time_minor > 0 AND "
			"one_time_invoice IS NULL)) ORDER BY start_date, id",
			3, params, err, &rc);
	if (res == NULL)
		return rc;
	n = PQntuples(res);
	*ret_ch = calloc(n ? (size_t)n : 1, sizeof(**ret_ch));
	if (*ret_ch == NULL) {
		PQclear(res);
		return bill_fail(err, -ENOMEM, "internal", "", "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct billing_charge *ch = &(*ret_ch)[i];
		long long end = strtoll(PQgetvalue(res, i, 12), NULL, 10);

		ch->id = PQgetvalue(res, i, 0);
		ch->name = PQgetvalue(res, i, 1);
		ch->service_id = cell(res, i, 2);
		ch->recurring = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		ch->discount = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		ch->promo_months = (unsigned)strtoul(PQgetvalue(res, i, 5), NULL, 10);
		ch->promotion = cell(res, i, 6);
		ch->one_time = strtoll(PQgetvalue(res, i, 7), NULL, 10);
		ch->one_time_billed = PQgetvalue(res, i, 8)[0] == 't';
		ch->allowance_bytes = strtoll(PQgetvalue(res, i, 9), NULL, 10);
		ch->per_gb_minor = strtoll(PQgetvalue(res, i, 10), NULL, 10);
		ch->start = (int32_t)strtol(PQgetvalue(res, i, 11), NULL, 10);
		ch->end = end < 0 ? BILLING_DATE_OPEN : (int32_t)end;
	}
	*ret_charges = res;
	*ret_n = (size_t)n;
	/* A usage row belongs to the cycle holding its start_time. */
	ures = bill_exec(c->b->db,
			 "SELECT u.service_id, sum(u.bytes_up + u.bytes_down)::bigint, count(*) "
			 "FROM usage u WHERE u.service_id IN (SELECT service_id FROM charges WHERE "
			 "account_id = $1 AND service_id IS NOT NULL AND start_date < $3::date AND "
			 "(end_date IS NULL OR end_date > $2::date)) AND u.start_time >= "
			 "$2::date::timestamp AT TIME ZONE 'UTC' AND u.start_time < "
			 "$3::date::timestamp AT TIME ZONE 'UTC' GROUP BY u.service_id "
			 "ORDER BY u.service_id",
			 3, params, err, &rc);
	if (ures == NULL)
		return rc;
	n = PQntuples(ures);
	*ret_u = calloc(n ? (size_t)n : 1, sizeof(**ret_u));
	if (*ret_u == NULL) {
		PQclear(ures);
		return bill_fail(err, -ENOMEM, "internal", "", "out of memory");
	}
	for (int i = 0; i < n; i++) {
		(*ret_u)[i].service_id = PQgetvalue(ures, i, 0);
		(*ret_u)[i].bytes = strtoll(PQgetvalue(ures, i, 1), NULL, 10);
		(*ret_u)[i].rows = strtoll(PQgetvalue(ures, i, 2), NULL, 10);
	}
	*ret_usage = ures;
	*ret_nu = (size_t)n;
	return 0;
}

static json_t *
lines_json(const struct billing_invoice *inv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < inv->n; i++) {
		const struct billing_line *l = &inv->lines[i];
		char from[11], to[11], id[37];

		outbox_uuid4(id);
		billing_date_format(l->from, from);
		billing_date_format(l->to, to);
		json_array_append_new(
			a, json_pack("{s:s, s:i, s:s, s:s, s:s?, s:s?, s:s, s:s, s:I, s:s, s:I}", "id",
				     id, "seq", (int)i + 1, "kind", billing_line_kind_name(l->kind),
				     "description", l->description, "charge_id", l->charge_id,
				     "service_id", l->service_id, "period_start", from, "period_end",
				     to, "quantity", (json_int_t)l->quantity, "unit", l->unit,
				     "amount_minor", (json_int_t)l->amount));
	}
	return a;
}

/* Mark the run's row of the account; the run's counters follow. */
static int
run_mark(struct cycle_ctx *c, const char *state, const char *invoice, const char *reason,
	 int64_t total, struct billing_error *err)
{
	char tot[24];
	const char *params[] = {c->run_id, c->account, state, invoice, reason, tot};
	PGresult *res;
	int rc = 0;

	if (c->run_id == NULL)
		return 0;
	snprintf(tot, sizeof(tot), "%lld", (long long)total);
	res = bill_exec(c->b->db,
			"WITH m AS (UPDATE run_accounts SET state = $3, invoice_id = $4, reason = $5 "
			"WHERE run_id = $1 AND account_id = $2) UPDATE runs SET "
			"invoiced = invoiced + ($3 = 'invoiced')::int, skipped = skipped + "
			"($3 = 'skipped')::int, failed = failed + ($3 = 'failed')::int, "
			"total_minor = total_minor + $6::bigint WHERE id = $1",
			6, params, err, &rc);
	PQclear(res);
	return rc;
}

/* The next number of @year, in the caller's transaction (the row stays locked until it ends). */
static int
next_number(struct db *db, int year, int64_t *ret, struct billing_error *err)
{
	char y[8];
	const char *params[] = {y};
	PGresult *res;
	int rc = 0;

	snprintf(y, sizeof(y), "%d", year);
	res = bill_exec(db,
			"INSERT INTO invoice_numbers (year, last) VALUES ($1, 1) ON CONFLICT (year) "
			"DO UPDATE SET last = invoice_numbers.last + 1 RETURNING last",
			1, params, err, &rc);
	if (res == NULL)
		return rc;
	*ret = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int
insert_invoice(struct cycle_ctx *c, const struct billing_invoice *inv, const char *customer,
	       const char *currency, const char *terms, char id[37], char number[32],
	       struct billing_error *err)
{
	char cs[11], ce[11], net[24], tax[24], total[24], bp[8], year[8], seq[24], *lines;
	int64_t n = 0;
	unsigned m, d;
	int y, rc;
	PGresult *res;

	billing_ymd(bill_today(), &y, &m, &d);
	rc = next_number(c->b->db, y, &n, err);
	if (rc < 0)
		return rc;
	outbox_uuid4(id);
	snprintf(number, 32, "INV-%d-%06lld", y, (long long)n);
	billing_date_format(c->start, cs);
	billing_date_format(c->end, ce);
	snprintf(net, sizeof(net), "%lld", (long long)inv->net);
	snprintf(tax, sizeof(tax), "%lld", (long long)inv->tax);
	snprintf(total, sizeof(total), "%lld", (long long)inv->total);
	snprintf(bp, sizeof(bp), "%u", c->b->cfg.tax_bp);
	snprintf(year, sizeof(year), "%d", y);
	snprintf(seq, sizeof(seq), "%lld", (long long)n);
	{
		json_t *lj = lines_json(inv);

		lines = json_dumps(lj, JSON_COMPACT);
		json_decref(lj);
	}
	if (lines == NULL)
		return bill_fail(err, -ENOMEM, "internal", "", "out of memory");
	{
		const char *params[] = {id,	 number, year,	seq,   c->account,
					customer, c->run_id, c->run_id ? "f" : "t",
					cs,	 ce,	 currency, net,   tax,
					total,	 bp,	 c->b->cfg.auto_send ? "sent" : "new",
					terms,	 lines};

		res = bill_exec(c->b->db,
				"WITH i AS (INSERT INTO invoices (id, number, year, seq, kind, "
				"account_id, customer_id, run_id, on_demand, cycle_start, cycle_end, "
				"currency, net_minor, tax_minor, total_minor, tax_rate_bp, state, "
				"due_at, sent_at) VALUES ($1, $2, $3, $4, 'invoice', $5, $6, $7, $8, "
				"$9, $10, $11, $12, $13, $14, $15, $16, now() + make_interval(days => "
				"$17::int), CASE WHEN $16 = 'sent' THEN now() END) RETURNING id) "
				"INSERT INTO invoice_lines (id, invoice_id, seq, kind, description, "
				"charge_id, service_id, period_start, period_end, quantity, unit, "
				"amount_minor) SELECT l.id, (SELECT id FROM i), l.seq, l.kind, "
				"l.description, l.charge_id, l.service_id, l.period_start, "
				"l.period_end, l.quantity, l.unit, l.amount_minor FROM "
				"jsonb_to_recordset($18::jsonb) AS l(id uuid, seq int, kind text, "
				"description text, charge_id uuid, service_id uuid, period_start date, "
				"period_end date, quantity bigint, unit text, amount_minor bigint)",
				18, params, err, &rc);
	}
	free(lines);
	PQclear(res);
	return rc;
}

static int
mark_one_time(struct cycle_ctx *c, const struct billing_invoice *inv, const char *id,
	      struct billing_error *err)
{
	json_t *ids = json_array();
	char *s;
	PGresult *res;
	int rc = 0;

	if (inv->one_time_n == 0) {
		json_decref(ids);
		return 0;
	}
	for (size_t i = 0; i < inv->n; i++)
		if (inv->lines[i].kind == BILLING_LINE_ONE_TIME)
			json_array_append_new(ids, json_string(inv->lines[i].charge_id));
	s = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	{
		const char *params[] = {id, s};

		res = bill_exec(c->b->db,
				"UPDATE charges SET one_time_invoice = $1 WHERE id IN (SELECT "
				"jsonb_array_elements_text($2::jsonb)::uuid) AND one_time_invoice IS NULL",
				2, params, err, &rc);
	}
	free(s);
	PQclear(res);
	return rc;
}

/*
 * In the open transaction: the account's invoice of the cycle. 1 when issued
 * (@ret_id, @ret_number), 0 when there was nothing to bill or it was billed.
 */
static int
issue(struct cycle_ctx *c, char ret_id[37], char ret_number[32], int64_t *ret_total,
      struct billing_error *err)
{
	char cs[11];
	const char *params[] = {c->account, cs};
	PGresult *acc, *charges = NULL, *usage = NULL;
	struct billing_charge *ch = NULL;
	struct billing_usage *u = NULL;
	struct billing_invoice inv = {0};
	size_t n = 0, nu = 0;
	int rc = 0;

	billing_date_format(c->start, cs);
	/* The account's row orders this with its payments and dunning. */
	acc = bill_exec(c->b->db,
			"SELECT customer_id, currency, payment_terms_days, EXISTS (SELECT 1 FROM "
			"invoices WHERE account_id = $1 AND cycle_start = $2::date AND kind = "
			"'invoice') FROM accounts WHERE id = $1 FOR UPDATE",
			2, params, err, &rc);
	if (acc == NULL)
		return rc;
	if (PQntuples(acc) == 0 || PQgetvalue(acc, 0, 3)[0] == 't') {
		PQclear(acc);
		return 0;
	}
	rc = load_cycle(c, &charges, &ch, &n, &usage, &u, &nu, err);
	if (rc == 0) {
		rc = billing_rate_cycle(ch, n, u, nu, c->start, c->end, c->b->cfg.tax_bp, &inv);
		if (rc < 0)
			rc = bill_fail(err, rc, "internal", "", "rating account %s: %s", c->account,
				       rc == -ERANGE ? "an amount out of range" : "out of memory");
	}
	if (rc == 0 && inv.n > 0)
		rc = insert_invoice(c, &inv, PQgetvalue(acc, 0, 0), PQgetvalue(acc, 0, 1),
				    PQgetvalue(acc, 0, 2), ret_id, ret_number, err);
	if (rc == 0 && inv.n > 0)
		rc = mark_one_time(c, &inv, ret_id, err);
	if (rc == 0 && inv.n > 0) {
		char from[11], to[11];

		billing_date_format(c->start, from);
		billing_date_format(c->end, to);
		*ret_total = inv.total;
		rc = bill_event(c->b->db, c->who, "customerBill", ret_id, OUTBOX_NEW_AGGREGATE,
				"billing.customerBill.issued",
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:I, s:I, "
					  "s:I, s:s}",
					  "id", ret_id, "billNo", ret_number, "kind", "invoice",
					  "account_id", c->account, "customer_id",
					  PQgetvalue(acc, 0, 0), "run_id", c->run_id, "cycle_start",
					  from, "cycle_end", to, "currency", PQgetvalue(acc, 0, 1),
					  "net_minor", (json_int_t)inv.net, "tax_minor",
					  (json_int_t)inv.tax, "total_minor", (json_int_t)inv.total,
					  "state", c->b->cfg.auto_send ? "sent" : "new"),
				err);
	}
	/* Credit the account already has goes to the new invoice. */
	if (rc == 0 && inv.n > 0 && c->b->cfg.auto_send)
		rc = bill_allocate(c->b->db, c->who, c->account, err);
	if (rc == 0)
		rc = inv.n > 0 ? 1 : 0;
	billing_invoice_clear(&inv);
	free(ch);
	free(u);
	PQclear(charges);
	PQclear(usage);
	PQclear(acc);
	return rc;
}

static int
savepoint(struct db *db, const char *sql, struct billing_error *err)
{
	PGresult *res;
	int rc = 0;

	res = bill_exec(db, sql, 0, NULL, err, &rc);
	PQclear(res);
	return rc;
}

/*
 * One account of a run, under a savepoint of the batch's transaction: 1
 * invoiced, 0 skipped or done before; on failure the savepoint is rolled
 * back (-EAGAIN: left pending for the next batch; else marked failed, with
 * its reason, so the run goes on).
 */
static int
run_account(struct cycle_ctx *c, struct billing_error *err)
{
	const char *params[] = {c->run_id, c->account};
	char id[37] = "", number[32] = "";
	int64_t total = 0;
	PGresult *res;
	int rc;

	rc = savepoint(c->b->db, "SAVEPOINT account", err);
	if (rc < 0)
		return rc;
	res = bill_exec(c->b->db,
			"SELECT 1 FROM run_accounts WHERE run_id = $1 AND account_id = $2 AND "
			"state = 'pending' FOR UPDATE",
			2, params, err, &rc);
	if (res != NULL && PQntuples(res) == 0)
		rc = 0; /* done by an earlier attempt */
	else if (res != NULL)
		rc = issue(c, id, number, &total, err);
	PQclear(res);
	if (res != NULL && rc >= 0) {
		int r = run_mark(c, rc == 1 ? "invoiced" : "skipped", rc == 1 ? id : NULL,
				 rc == 1 ? NULL : "nothing to bill, or billed before", total, err);

		rc = r < 0 ? r : rc;
	}
	if (rc >= 0)
		return savepoint(c->b->db, "RELEASE SAVEPOINT account", err) ?: rc;
	{
		struct billing_error e2 = {0};
		char reason[300];
		int r;

		snprintf(reason, sizeof(reason), "%s", err->message);
		r = savepoint(c->b->db, "ROLLBACK TO SAVEPOINT account", &e2);
		if (r == 0 && rc != -EAGAIN && rc != -EIO)
			r = run_mark(c, "failed", NULL, reason, 0, &e2);
		return r < 0 ? r : rc == -EAGAIN || rc == -EIO ? rc : 0;
	}
}

/* A run whose accounts were all handled is completed. */
static int
run_complete(struct billing *b, const char *run_id, struct billing_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:billing"};
	const char *params[] = {run_id};
	PGresult *res;
	int rc;

	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	res = bill_exec(b->db,
			"UPDATE runs SET state = 'completed', finished_at = now() WHERE id = $1 AND "
			"state = 'running' AND NOT EXISTS (SELECT 1 FROM run_accounts WHERE "
			"run_id = $1 AND state = 'pending') RETURNING run_doc(runs)::text",
			1, params, err, &rc);
	if (res != NULL && PQntuples(res) == 1)
		rc = bill_event(b->db, &sys, "run", run_id, 1, "billing.run.completed",
				json_loads(PQgetvalue(res, 0, 0), 0, NULL), err);
	PQclear(res);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0)
		bill_rollback(b->db);
	return rc;
}

int
billing_run_work(struct billing *b, unsigned max, unsigned *ret_done,
		 void (*after_invoice)(void *arg), void *arg, struct billing_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:billing"};
	unsigned invoiced = 0;
	PGresult *run, *todo;
	char lim[16];
	int rc = 0, i, n;

	*ret_done = 0;
	run = bill_exec(b->db,
			"SELECT id, cycle_start - DATE '1970-01-01', cycle_end - DATE '1970-01-01' "
			"FROM runs WHERE state = 'running' ORDER BY created_at, id LIMIT 1",
			0, NULL, err, &rc);
	if (run == NULL || PQntuples(run) == 0) {
		PQclear(run);
		return rc;
	}
	snprintf(lim, sizeof(lim), "%u", max < RUN_TXN_ACCOUNTS ? max : RUN_TXN_ACCOUNTS);
	{
		const char *params[] = {PQgetvalue(run, 0, 0), lim};

		todo = bill_exec(b->db,
				 "SELECT account_id FROM run_accounts WHERE run_id = $1 AND state = "
				 "'pending' ORDER BY account_id LIMIT $2",
				 2, params, err, &rc);
	}
	if (todo == NULL) {
		PQclear(run);
		return rc;
	}
	n = PQntuples(todo);
	if (n == 0) {
		rc = run_complete(b, PQgetvalue(run, 0, 0), err);
		goto out;
	}
	/* One transaction for the batch: one commit's flush for many invoices. */
	rc = bill_begin(b->db, err);
	for (i = 0; i < n && rc == 0; i++) {
		struct cycle_ctx c = {
			.b = b,
			.run_id = PQgetvalue(run, 0, 0),
			.account = PQgetvalue(todo, i, 0),
			.start = (int32_t)strtol(PQgetvalue(run, 0, 1), NULL, 10),
			.end = (int32_t)strtol(PQgetvalue(run, 0, 2), NULL, 10),
			.who = &sys,
		};

		rc = run_account(&c, err);
		if (rc == 1)
			invoiced++;
		rc = rc > 0 ? 0 : rc;
	}
	/* -EAGAIN: a concurrent payment held an account; what was done before it commits. */
	if (rc == -EAGAIN)
		rc = 0, i--;
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		goto out;
	}
	*ret_done = (unsigned)i;
	for (unsigned k = 0; k < invoiced && after_invoice; k++)
		after_invoice(arg);
out:
	PQclear(todo);
	PQclear(run);
	return rc;
}

/* ---- creating runs --------------------------------------------------------------------- */

/* A run of the accounts whose cycle starts @start; -EBUSY when one for it is running. */
static int
run_insert(struct billing *b, const struct cuco_principal *p, const char *kind, int32_t start,
	   char ret_id[37], struct billing_error *err)
{
	char cs[11], ce[11], day[4];
	unsigned m, d;
	int y, rc;
	PGresult *res;

	billing_ymd(start, &y, &m, &d);
	billing_date_format(start, cs);
	billing_date_format(billing_add_months(start, 1), ce);
	snprintf(day, sizeof(day), "%u", d);
	outbox_uuid4(ret_id);
	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	{
		const char *params[] = {ret_id, cs, ce, kind, p->subject};

		res = bill_exec(b->db,
				"INSERT INTO runs (id, cycle_start, cycle_end, kind, requested_by) "
				"VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
				5, params, err, &rc);
	}
	if (res != NULL && PQntuples(res) == 0) {
		PQclear(res);
		bill_rollback(b->db);
		return bill_fail(err, -EBUSY, "conflict", "/cycleStart",
				 "cycleStart: a run of the cycle %s is running%s", cs,
				 strcmp(kind, "scheduled") == 0 ? ", or was scheduled" : "");
	}
	PQclear(res);
	if (res != NULL) {
		const char *params[] = {ret_id, cs, day};

		/* The work list: every account of that cycle day not invoiced for it yet. */
		res = bill_exec(b->db,
				"WITH a AS (INSERT INTO run_accounts (run_id, account_id) SELECT $1, "
				"acc.id FROM accounts acc WHERE acc.cycle_day = $3::int AND NOT EXISTS "
				"(SELECT 1 FROM invoices i WHERE i.account_id = acc.id AND "
				"i.cycle_start = $2::date AND i.kind = 'invoice') RETURNING 1) "
				"UPDATE runs SET accounts = (SELECT count(*) FROM a) WHERE id = $1 "
				"RETURNING run_doc(runs)::text",
				3, params, err, &rc);
	}
	if (res != NULL)
		rc = bill_event(b->db, p, "run", ret_id, OUTBOX_NEW_AGGREGATE, "billing.run.started",
				json_loads(PQgetvalue(res, 0, 0), 0, NULL), err);
	PQclear(res);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0)
		bill_rollback(b->db);
	return rc;
}

int
billing_run_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
		   json_t **ret, struct billing_error *err)
{
	const char *s = json_string_value(json_object_get(body, "cycleStart"));
	int32_t start;
	unsigned m, d;
	char id[37];
	int y, rc;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (s == NULL || strlen(s) != 10 || billing_date_parse(s, &start) < 0)
		return bill_fail(err, -EINVAL, "invalid-argument", "/cycleStart",
				 "cycleStart: the date a cycle starts (2027-01-01), not '%s'",
				 s ? s : "");
	billing_ymd(start, &y, &m, &d);
	if (d > 28)
		return bill_fail(err, -EINVAL, "invalid-argument", "/cycleStart",
				 "cycleStart: cycles start on days 1 to 28, not %u", d);
	if (billing_add_months(start, 1) > bill_today())
		return bill_fail(err, -EINVAL, "cycle-not-ended", "/cycleStart",
				 "cycleStart: the cycle from %s has not ended yet", s);
	rc = run_insert(b, p, "requested", start, id, err);
	return rc < 0 ? rc : billing_run_get(b, p, id, ret, err);
}

int
billing_schedule(struct billing *b, int32_t today, struct billing_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:billing"};
	PGresult *res;
	int rc = 0;

	if (!b->cfg.schedule)
		return 0;
	res = bill_exec(b->db, "SELECT DISTINCT cycle_day FROM accounts ORDER BY 1", 0, NULL, err,
			&rc);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		unsigned day = (unsigned)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		int32_t s, e;
		char cs[11], id[37];

		/* The cycle that ended last: the one before today's. */
		billing_cycle_of(day, today, &s, &e);
		s = billing_add_months(s, -1);
		billing_date_format(s, cs);
		{
			const char *params[] = {cs};
			PGresult *r = bill_exec(b->db,
						"SELECT 1 FROM runs WHERE cycle_start = $1 AND kind = "
						"'scheduled'",
						1, params, err, &rc);

			if (r == NULL)
				break;
			if (PQntuples(r) > 0) {
				PQclear(r);
				continue;
			}
			PQclear(r);
		}
		rc = run_insert(b, &sys, "scheduled", s, id, err);
		if (rc == -EBUSY)
			rc = 0; /* a requested run of it is running: next tick */
	}
	PQclear(res);
	return rc;
}

int
billing_run_get(struct billing *b, const struct cuco_principal *p, const char *id, json_t **ret,
		struct billing_error *err)
{
	const char *params[] = {id};
	int rc;

	if (!bill_may_read(p) || bill_own_customer(p) != NULL)
		return bill_deny(p, err);
	if (!outbox_uuid_valid(id))
		return bill_fail(err, -ENOENT, "not-found", "", "billing run %s: not found", id);
	rc = bill_doc(b->db, RUN_DOC " WHERE id = $1", 1, params, ret, err);
	return rc == -ENOENT ? bill_fail(err, -ENOENT, "not-found", "", "billing run %s: not found",
					 id)
			     : rc;
}

int
billing_run_list(struct billing *b, const struct cuco_principal *p,
		 const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		 struct billing_error *err)
{
	const char *params[] = {f->state, NULL, NULL};

	if (!bill_may_read(p) || bill_own_customer(p) != NULL)
		return bill_deny(p, err);
	return bill_page(b->db,
			 "SELECT run_doc(r), count(*) OVER () FROM runs r WHERE ($1::text IS NULL "
			 "OR state = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
			 3, params, f, ret, ret_total, err);
}

/* ---- bills on demand -------------------------------------------------------------------- */

int
billing_on_demand_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
			 json_t **ret, struct billing_error *err)
{
	const char *acc = json_string_value(json_object_get(json_object_get(body, "billingAccount"),
							    "id"));
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *desc = json_string_value(json_object_get(body, "description"));
	char id[37], inv[37] = "", number[32] = "", day[8];
	int64_t total = 0;
	int32_t s, e;
	PGresult *res;
	int rc;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(acc))
		return bill_fail(err, -EINVAL, "invalid-argument", "/billingAccount/id",
				 "billingAccount/id: a billing account's id is required");
	{
		const char *params[] = {acc};

		res = bill_exec(b->db, "SELECT cycle_day FROM accounts WHERE id = $1", 1, params, err,
				&rc);
	}
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return bill_fail(err, -EINVAL, "invalid-argument", "/billingAccount/id",
				 "billingAccount/id: billing account %s: not found", acc);
	}
	snprintf(day, sizeof(day), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	billing_cycle_of((unsigned)atoi(day), bill_today(), &s, &e);
	{
		struct cycle_ctx c = {.b = b, .account = acc, .start = billing_add_months(s, -1),
				      .end = s, .who = p};

		outbox_uuid4(id);
		rc = bill_begin(b->db, err);
		rc = rc ?: issue(&c, inv, number, &total, err);
	}
	if (rc == 0) {
		bill_rollback(b->db);
		return bill_fail(err, -ENODATA, "nothing-to-bill", "/billingAccount/id",
				 "billingAccount/id: account %s has nothing to bill for its last "
				 "ended cycle, or it was billed",
				 acc);
	}
	if (rc == 1) {
		const char *params[] = {id, acc, name ?: "", desc ?: "", inv, p->subject};

		res = bill_exec(b->db,
				"INSERT INTO bill_requests (id, account_id, name, description, state, "
				"invoice_id, requested_by) VALUES ($1, $2, $3, $4, 'done', $5, $6)",
				6, params, err, &rc);
		PQclear(res);
		if (res != NULL)
			rc = 0;
	}
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	return billing_on_demand_get(b, p, id, ret, err);
}

#define REQUEST_DOC                                                                              \
	"jsonb_build_object('id', q.id, 'href', "                                                \
	"'/tmf-api/customerBillManagement/v4/customerBillOnDemand/' || q.id, '@type', "          \
	"'CustomerBillOnDemand', 'name', q.name, 'description', q.description, 'state', "        \
	"q.state, 'billingAccount', jsonb_build_object('id', q.account_id), 'customerBill', "    \
	"CASE WHEN q.invoice_id IS NULL THEN NULL ELSE jsonb_build_object('id', q.invoice_id, "  \
	"'href', '/tmf-api/customerBillManagement/v4/customerBill/' || q.invoice_id) END, "      \
	"'lastUpdate', ts(q.created_at))"

int
billing_on_demand_get(struct billing *b, const struct cuco_principal *p, const char *id,
		      json_t **ret, struct billing_error *err)
{
	return bill_own_doc(b, p, "bill request", id,
			    "SELECT " REQUEST_DOC " FROM bill_requests q JOIN accounts a ON a.id = "
			    "q.account_id WHERE q.id = $1 AND ($2::uuid IS NULL OR a.customer_id = $2)",
			    ret, err);
}

int
billing_on_demand_list(struct billing *b, const struct cuco_principal *p,
		       const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		       struct billing_error *err)
{
	const char *params[] = {bill_own_customer(p), f->account_id, NULL, NULL};

	if (!bill_may_read(p))
		return bill_deny(p, err);
	if (f->account_id && !outbox_uuid_valid(f->account_id)) {
		*ret = json_array();
		*ret_total = 0;
		return 0;
	}
	return bill_page(b->db,
			 "SELECT " REQUEST_DOC ", count(*) OVER () FROM bill_requests q JOIN "
			 "accounts a ON a.id = q.account_id WHERE ($1::uuid IS NULL OR "
			 "a.customer_id = $1) AND ($2::uuid IS NULL OR q.account_id = $2) "
			 "ORDER BY q.created_at DESC, q.id LIMIT $3 OFFSET $4",
			 4, params, f, ret, ret_total, err);
}
