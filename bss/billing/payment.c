/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Customer bills after issue: their states, payments (TMF676) recorded once
 * per external reference and allocated to bills, credit notes, and the
 * bills' and lines' reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/internal.h"
#include "bss/core/outbox.h"

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- allocation ------------------------------------------------------------------------- */

/* @amount of payment @pay to invoice @inv (both locked by the caller), with the bill's event. */
static int
allocate_one(struct db *db, const struct cuco_principal *p, const char *pay, const char *inv,
	     int64_t amount, struct billing_error *err)
{
	char amt[24];
	const char *params[] = {pay, inv, amt};
	PGresult *res;
	int rc = 0;

	snprintf(amt, sizeof(amt), "%lld", (long long)amount);
	res = bill_exec(db,
			"WITH al AS (INSERT INTO allocations (payment_id, invoice_id, amount_minor) "
			"VALUES ($1, $2, $3) ON CONFLICT (payment_id, invoice_id) DO UPDATE SET "
			"amount_minor = allocations.amount_minor + EXCLUDED.amount_minor), "
			"pay AS (UPDATE payments SET unallocated_minor = unallocated_minor - $3 "
			"WHERE id = $1) "
			"UPDATE invoices i SET paid_minor = o.paid_minor + $3, state = CASE WHEN "
			"o.paid_minor + $3 + o.credited_minor >= o.total_minor THEN 'settled' ELSE "
			"'partiallyPaid' END, settled_at = CASE WHEN o.paid_minor + $3 + "
			"o.credited_minor >= o.total_minor THEN now() END, version = o.version + 1 "
			"FROM invoices o "
			"WHERE i.id = $2 AND o.id = i.id RETURNING i.version, i.number, o.state, "
			"i.state, i.total_minor - i.paid_minor - i.credited_minor, i.account_id, "
			"i.customer_id",
			3, params, err, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1)
		rc = bill_event(db, p, "customerBill", inv,
				strtoll(PQgetvalue(res, 0, 0), NULL, 10) - 1,
				"billing.customerBill.state_changed",
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", inv,
					  "billNo", PQgetvalue(res, 0, 1), "account_id",
					  PQgetvalue(res, 0, 5), "customer_id", PQgetvalue(res, 0, 6),
					  "from", PQgetvalue(res, 0, 2), "to", PQgetvalue(res, 0, 3),
					  "payment_id", pay, "applied_minor", (json_int_t)amount,
					  "remaining_minor",
					  (json_int_t)strtoll(PQgetvalue(res, 0, 4), NULL, 10)),
				err);
	PQclear(res);
	return rc;
}

int
bill_allocate(struct db *db, const struct cuco_principal *p, const char *account_id,
	      struct billing_error *err)
{
	const char *params[] = {account_id};
	PGresult *pays, *invs;
	int rc = 0, pi = 0, ii = 0;
	int64_t left_pay = 0, left_inv = 0;

	pays = bill_exec(db,
			 "SELECT id, unallocated_minor FROM payments WHERE account_id = $1 AND "
			 "unallocated_minor > 0 ORDER BY created_at, id FOR UPDATE",
			 1, params, err, &rc);
	if (pays == NULL)
		return rc;
	if (PQntuples(pays) == 0) {
		PQclear(pays);
		return 0;
	}
	invs = bill_exec(db,
			 "SELECT id, total_minor - paid_minor - credited_minor FROM invoices WHERE "
			 "account_id = $1 AND kind = 'invoice' AND state IN ('sent', "
			 "'partiallyPaid') ORDER BY due_at, year, seq FOR UPDATE",
			 1, params, err, &rc);
	if (invs == NULL) {
		PQclear(pays);
		return rc;
	}
	if (PQntuples(invs) > 0) {
		left_pay = strtoll(PQgetvalue(pays, 0, 1), NULL, 10);
		left_inv = strtoll(PQgetvalue(invs, 0, 1), NULL, 10);
	}
	/* Oldest payment to the oldest bill first. */
	while (rc == 0 && pi < PQntuples(pays) && ii < PQntuples(invs)) {
		int64_t x = left_pay < left_inv ? left_pay : left_inv;

		if (x > 0)
			rc = allocate_one(db, p, PQgetvalue(pays, pi, 0), PQgetvalue(invs, ii, 0), x,
					  err);
		left_pay -= x;
		left_inv -= x;
		if (left_pay == 0 && ++pi < PQntuples(pays))
			left_pay = strtoll(PQgetvalue(pays, pi, 1), NULL, 10);
		if (left_inv == 0 && ++ii < PQntuples(invs))
			left_inv = strtoll(PQgetvalue(invs, ii, 1), NULL, 10);
	}
	PQclear(pays);
	PQclear(invs);
	return rc;
}

/* ---- payments ------------------------------------------------------------------------- */

#define PAYMENT_DOC "SELECT payment_doc(p) FROM payments p"

/* The payment of @ref if it is the same one: 1 (answered in @ret), 0 (none), -EEXIST (another). */
static int
payment_again(struct billing *b, const struct cuco_principal *p, const char *ref,
	      const char *account, int64_t amount, const char *cur, json_t **ret,
	      struct billing_error *err)
{
	const char *params[] = {ref};
	PGresult *res;
	int rc = 0;

	res = bill_exec(b->db,
			"SELECT id, account_id, amount_minor, currency FROM payments WHERE "
			"external_ref = $1",
			1, params, err, &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	if (strcmp(PQgetvalue(res, 0, 1), account) != 0 ||
	    strtoll(PQgetvalue(res, 0, 2), NULL, 10) != amount ||
	    strcmp(PQgetvalue(res, 0, 3), cur) != 0) {
		PQclear(res);
		return bill_fail(err, -EEXIST, "conflict", "/correlatorId",
				 "correlatorId: '%s' is another payment's reference (account, "
				 "amount or currency differ)",
				 ref);
	}
	rc = billing_payment_get(b, p, PQgetvalue(res, 0, 0), ret, err);
	PQclear(res);
	return rc < 0 ? rc : 1;
}

/* The amount of a Money object, in the account's @currency; @field names it. */
static int
money_of(const json_t *m, const char *currency, const char *field, int64_t *ret,
	 struct billing_error *err)
{
	const char *unit = sget(m, "unit");
	const json_t *v = json_object_get(m, "value");

	if (unit == NULL || strcmp(unit, currency) != 0)
		return bill_fail(err, -EINVAL, "invalid-argument", field,
				 "%s/unit: must be the account's currency %s", field + 1, currency);
	if (!json_is_number(v) || billing_money_to_minor(json_number_value(v), currency, ret) < 0)
		return bill_fail(err, -EINVAL, "invalid-argument", field,
				 "%s/value: a positive amount exact to the minor unit of %s",
				 field + 1, currency);
	return 0;
}

/* The explicit paymentItem allocations: each to an open bill of the account, within the payment. */
static int
allocate_items(struct billing *b, const struct cuco_principal *p, const json_t *items,
	       const char *pay, const char *account, const char *cur, int64_t amount,
	       struct billing_error *err)
{
	const json_t *it;
	size_t i;
	int rc = 0;

	json_array_foreach(items, i, it) {
		const char *inv = sget(json_object_get(it, "item"), "id");
		char field[64];
		int64_t x;
		PGresult *res;

		snprintf(field, sizeof(field), "/paymentItem/%zu/amount", i);
		rc = money_of(json_object_get(it, "amount"), cur, field, &x, err);
		if (rc < 0)
			return rc;
		snprintf(field, sizeof(field), "/paymentItem/%zu/item/id", i);
		if (!outbox_uuid_valid(inv))
			return bill_fail(err, -EINVAL, "invalid-argument", field,
					 "%s: a customer bill's id", field + 1);
		{
			const char *params[] = {inv, account};

			res = bill_exec(b->db,
					"SELECT total_minor - paid_minor - credited_minor FROM "
					"invoices WHERE id = $1 AND account_id = $2 AND kind = "
					"'invoice' AND state IN ('sent', 'partiallyPaid') FOR UPDATE",
					2, params, err, &rc);
		}
		if (res == NULL)
			return rc;
		if (PQntuples(res) == 0) {
			PQclear(res);
			return bill_fail(err, -EINVAL, "invalid-argument", field,
					 "%s: %s is no open bill of account %s", field + 1, inv,
					 account);
		}
		if (x > strtoll(PQgetvalue(res, 0, 0), NULL, 10) || x > amount) {
			PQclear(res);
			snprintf(field, sizeof(field), "/paymentItem/%zu/amount", i);
			return bill_fail(err, -EINVAL, "invalid-argument", field,
					 "%s: more than the bill's remaining amount or the payment's",
					 field + 1);
		}
		PQclear(res);
		amount -= x;
		if (x > 0 && (rc = allocate_one(b->db, p, pay, inv, x, err)) < 0)
			return rc;
	}
	return 0;
}

static int
payment_insert(struct billing *b, const struct cuco_principal *p, const json_t *body,
	       const char *id, const char *account, const char *customer, const char *cur,
	       int64_t amount, struct billing_error *err)
{
	const char *date = sget(body, "paymentDate");
	char amt[24];
	PGresult *res;
	int rc = 0;

	snprintf(amt, sizeof(amt), "%lld", (long long)amount);
	{
		const char *params[] = {id,
					account,
					sget(body, "correlatorId"),
					amt,
					cur,
					sget(json_object_get(body, "paymentMethod"), "name") ?: "",
					sget(body, "description") ?: "",
					date};

		res = bill_exec(b->db,
				"INSERT INTO payments (id, account_id, external_ref, amount_minor, "
				"currency, method, description, payment_date, unallocated_minor) "
				"VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8::timestamptz, now()), "
				"$4) ON CONFLICT (external_ref) DO NOTHING RETURNING 1",
				8, params, err, &rc);
	}
	if (res == NULL)
		return rc == -EIO && date ? bill_fail(err, -EINVAL, "invalid-argument",
						      "/paymentDate",
						      "paymentDate: an RFC 3339 date-time")
					  : rc;
	rc = PQntuples(res) == 1 ? 0 : -EEXIST;
	PQclear(res);
	if (rc < 0)
		return bill_fail(err, -EAGAIN, "conflict", "/correlatorId",
				 "correlatorId: recorded meanwhile");
	rc = allocate_items(b, p, json_object_get(body, "paymentItem"), id, account, cur, amount,
			    err);
	rc = rc ?: bill_allocate(b->db, p, account, err);
	if (rc == 0) {
		const char *params[] = {id};

		res = bill_exec(b->db,
				"SELECT COALESCE(jsonb_agg(jsonb_build_object('invoice_id', invoice_id, "
				"'amount_minor', amount_minor) ORDER BY invoice_id), '[]')::text "
				"FROM allocations WHERE payment_id = $1",
				1, params, err, &rc);
		if (res != NULL)
			rc = bill_event(b->db, p, "payment", id, OUTBOX_NEW_AGGREGATE,
					"billing.payment.received",
					json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o}", "id", id,
						  "account_id", account, "customer_id", customer,
						  "correlatorId", sget(body, "correlatorId"),
						  "amount_minor", (json_int_t)amount, "currency", cur,
						  "allocations",
						  json_loads(PQgetvalue(res, 0, 0), 0, NULL)),
					err);
		PQclear(res);
	}
	return rc ?: bill_dunning_settle(b->db, p, account, err);
}

int
billing_payment_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
		       json_t **ret, bool *ret_created, struct billing_error *err)
{
	const char *ref = sget(body, "correlatorId");
	const char *account = sget(json_object_get(body, "account"), "id");
	char id[37], cur[4], customer[37];
	int64_t amount;
	PGresult *res;
	int rc = 0;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (ref == NULL || strlen(ref) == 0 || strlen(ref) > 200)
		return bill_fail(err, -EINVAL, "invalid-argument", "/correlatorId",
				 "correlatorId: the payment's external reference, 1 to 200 bytes");
	if (!outbox_uuid_valid(account))
		return bill_fail(err, -EINVAL, "invalid-argument", "/account/id",
				 "account/id: a billing account's id is required");
	{
		const char *params[] = {account};

		res = bill_exec(b->db, "SELECT currency, customer_id FROM accounts WHERE id = $1", 1,
				params, err, &rc);
	}
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return bill_fail(err, -EINVAL, "invalid-argument", "/account/id",
				 "account/id: billing account %s: not found", account);
	}
	snprintf(cur, sizeof(cur), "%s", PQgetvalue(res, 0, 0));
	snprintf(customer, sizeof(customer), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	rc = money_of(json_object_get(body, "totalAmount"), cur, "/totalAmount", &amount, err);
	if (rc == 0 && amount == 0)
		rc = bill_fail(err, -EINVAL, "invalid-argument", "/totalAmount",
			       "totalAmount/value: must be more than 0");
	if (rc < 0)
		return rc;
	for (int attempt = 0; attempt < 3; attempt++) {
		rc = payment_again(b, p, ref, account, amount, cur, ret, err);
		if (rc != 0) {
			*ret_created = false;
			return rc < 0 ? rc : 0;
		}
		outbox_uuid4(id);
		rc = bill_begin(b->db, err);
		if (rc < 0)
			return rc;
		{
			const char *params[] = {account};

			/* The account's row orders payments with its runs and dunning. */
			res = bill_exec(b->db, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", 1,
					params, err, &rc);
			PQclear(res);
		}
		rc = rc ?: payment_insert(b, p, body, id, account, customer, cur, amount, err);
		rc = rc ?: bill_commit(b->db, err);
		if (rc == 0)
			break;
		bill_rollback(b->db);
		if (rc != -EAGAIN)
			return rc;
	}
	if (rc < 0)
		return rc;
	*ret_created = true;
	return billing_payment_get(b, p, id, ret, err);
}

int
billing_payment_get(struct billing *b, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct billing_error *err)
{
	return bill_own_doc(b, p, "payment", id,
			    PAYMENT_DOC " JOIN accounts a ON a.id = p.account_id WHERE p.id = $1 AND "
			    "($2::uuid IS NULL OR a.customer_id = $2)", ret, err);
}

int
billing_payment_list(struct billing *b, const struct cuco_principal *p,
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
			 "SELECT payment_doc(p), count(*) OVER () FROM payments p JOIN accounts a "
			 "ON a.id = p.account_id WHERE ($1::uuid IS NULL OR a.customer_id = $1) "
			 "AND ($2::uuid IS NULL OR p.account_id = $2) ORDER BY p.created_at DESC, "
			 "p.id LIMIT $3 OFFSET $4",
			 4, params, f, ret, ret_total, err);
}

/* ---- bills -------------------------------------------------------------------------------- */

int
billing_bill_get(struct billing *b, const struct cuco_principal *p, const char *id, json_t **ret,
		 struct billing_error *err)
{
	return bill_own_doc(b, p, "customer bill", id,
			    "SELECT bill_doc(i) FROM invoices i WHERE id = $1 AND ($2::uuid IS NULL OR "
			    "customer_id = $2)", ret, err);
}

int
billing_bill_list(struct billing *b, const struct cuco_principal *p,
		  const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		  struct billing_error *err)
{
	const char *params[] = {bill_own_customer(p), f->account_id, f->customer_id, f->state,
				NULL, NULL};

	if (!bill_may_read(p))
		return bill_deny(p, err);
	if ((f->account_id && !outbox_uuid_valid(f->account_id)) ||
	    (f->customer_id && !outbox_uuid_valid(f->customer_id))) {
		*ret = json_array();
		*ret_total = 0;
		return 0;
	}
	return bill_page(b->db,
			 "SELECT bill_doc(i), count(*) OVER () FROM invoices i WHERE ($1::uuid IS "
			 "NULL OR customer_id = $1) AND ($2::uuid IS NULL OR account_id = $2) AND "
			 "($3::uuid IS NULL OR customer_id = $3) AND ($4::text IS NULL OR state = "
			 "$4) ORDER BY year DESC, seq DESC LIMIT $5 OFFSET $6",
			 6, params, f, ret, ret_total, err);
}

/* TMF678 states a person may move a bill through; payments do the rest. */
static bool
transition_ok(const char *from, const char *to)
{
	static const char *const ok[][2] = {
		{"new", "onHold"},	 {"new", "validated"}, {"onHold", "validated"},
		{"validated", "sent"}, {"new", "sent"},	       {"onHold", "new"},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(ok[i][0], from) == 0 && strcmp(ok[i][1], to) == 0)
			return true;
	return false;
}

int
billing_bill_update(struct billing *b, const struct cuco_principal *p, const char *id,
		    const json_t *body, const char *if_match, json_t **ret,
		    struct billing_error *err)
{
	const char *to = sget(body, "state");
	const char *params[] = {id};
	char from[32], ver[24], account[37], customer[37], number[32];
	PGresult *res;
	int rc = 0;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(id))
		return bill_fail(err, -ENOENT, "not-found", "", "customer bill %s: not found", id);
	if (to == NULL)
		return bill_fail(err, -EINVAL, "invalid-argument", "/state",
				 "state: required (the only attribute that changes after issue)");
	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	res = bill_exec(b->db,
			"SELECT state, version, account_id, customer_id, number FROM invoices "
			"WHERE id = $1 FOR UPDATE",
			1, params, err, &rc);
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		bill_rollback(b->db);
		return rc ?: bill_fail(err, -ENOENT, "not-found", "", "customer bill %s: not found",
				       id);
	}
	snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 0));
	snprintf(ver, sizeof(ver), "%s", PQgetvalue(res, 0, 1));
	snprintf(account, sizeof(account), "%s", PQgetvalue(res, 0, 2));
	snprintf(customer, sizeof(customer), "%s", PQgetvalue(res, 0, 3));
	snprintf(number, sizeof(number), "%s", PQgetvalue(res, 0, 4));
	PQclear(res);
	if (if_match && strcmp(if_match, ver) != 0) {
		bill_rollback(b->db);
		return bill_fail(err, -ESTALE, "stale-version", "",
				 "customer bill %s is at version %s, not %s", id, ver, if_match);
	}
	if (strcmp(from, to) == 0) {
		bill_rollback(b->db);
		return billing_bill_get(b, p, id, ret, err);
	}
	if (!transition_ok(from, to)) {
		bill_rollback(b->db);
		return bill_fail(err, -EBUSY, "illegal-transition", "/state",
				 "state: a bill %s cannot become %s (new -> onHold | validated -> "
				 "sent; payments make it partiallyPaid and settled)",
				 from, to);
	}
	{
		const char *up[] = {id, to};

		res = bill_exec(b->db,
				"UPDATE invoices SET state = $2, sent_at = CASE WHEN $2 = 'sent' THEN "
				"now() ELSE sent_at END, version = version + 1 WHERE id = $1",
				2, up, err, &rc);
		PQclear(res);
	}
	if (rc == 0)
		rc = bill_event(b->db, p, "customerBill", id, strtoll(ver, NULL, 10),
				"billing.customerBill.state_changed",
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "billNo",
					  number, "account_id", account, "customer_id", customer,
					  "from", from, "to", to),
				err);
	/* Sent, it can take the account's credit. */
	if (rc == 0 && strcmp(to, "sent") == 0)
		rc = bill_allocate(b->db, p, account, err);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	return billing_bill_get(b, p, id, ret, err);
}

/* ---- credit notes ------------------------------------------------------------------------ */

static int
credit_insert(struct billing *b, const struct cuco_principal *p, PGresult *orig, int64_t amount,
	      const char *reason, char id[37], struct billing_error *err)
{
	const char *inv = PQgetvalue(orig, 0, 0), *account = PQgetvalue(orig, 0, 1);
	const char *customer = PQgetvalue(orig, 0, 2), *cur = PQgetvalue(orig, 0, 3);
	unsigned bp = (unsigned)strtoul(PQgetvalue(orig, 0, 6), NULL, 10);
	int64_t total = -amount, net, n;
	char snet[24], stax[24], stot[24], sbp[8], year[8], seq[24], number[32], sam[24], lines[600];
	unsigned m, d;
	int y, rc = 0;
	PGresult *res;

	/* The credit is tax-included: its net and tax split by the bill's rate, rounded. */
	net = billing_div_round((__int128)total * 10000, 10000 + bp);
	billing_ymd(bill_today(), &y, &m, &d);
	{
		char yy[8];
		const char *params[] = {yy};

		snprintf(yy, sizeof(yy), "%d", y);
		res = bill_exec(b->db,
				"INSERT INTO invoice_numbers (year, last) VALUES ($1, 1) ON CONFLICT "
				"(year) DO UPDATE SET last = invoice_numbers.last + 1 RETURNING last",
				1, params, err, &rc);
		if (res == NULL)
			return rc;
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	outbox_uuid4(id);
	snprintf(number, sizeof(number), "INV-%d-%06lld", y, (long long)n);
	snprintf(snet, sizeof(snet), "%lld", (long long)net);
	snprintf(stax, sizeof(stax), "%lld", (long long)(total - net));
	snprintf(stot, sizeof(stot), "%lld", (long long)total);
	snprintf(sbp, sizeof(sbp), "%u", bp);
	snprintf(year, sizeof(year), "%d", y);
	snprintf(seq, sizeof(seq), "%lld", (long long)n);
	snprintf(sam, sizeof(sam), "%lld", (long long)amount);
	{
		char l1[37], l2[37];

		outbox_uuid4(l1);
		outbox_uuid4(l2);
		snprintf(lines, sizeof(lines),
			 "[{\"id\": \"%s\", \"seq\": 1, \"kind\": \"credit\", \"amount\": %s}, "
			 "{\"id\": \"%s\", \"seq\": 2, \"kind\": \"tax\", \"amount\": %s}]",
			 l1, snet, l2, stax);
	}
	{
		const char *params[] = {id, number, year, seq, account, customer, inv, reason,
					cur, snet, stax, stot, sbp, lines, sam};

		res = bill_exec(b->db,
				"WITH c AS (INSERT INTO invoices (id, number, year, seq, kind, "
				"account_id, customer_id, credited_invoice, reason, currency, "
				"net_minor, tax_minor, total_minor, tax_rate_bp, state, due_at, "
				"sent_at, settled_at) VALUES ($1, $2, $3, $4, 'creditNote', $5, $6, "
				"$7, $8, $9, $10, $11, $12, $13, 'settled', now(), now(), now()) "
				"RETURNING id), l AS (INSERT INTO invoice_lines (id, invoice_id, seq, "
				"kind, description, amount_minor) SELECT x.id, (SELECT id FROM c), "
				"x.seq, x.kind, CASE WHEN x.kind = 'tax' THEN 'VAT' ELSE $8 END, "
				"x.amount FROM jsonb_to_recordset($14::jsonb) AS x(id uuid, seq int, "
				"kind text, amount bigint)) "
				"UPDATE invoices SET credited_minor = credited_minor + $15::bigint, "
				"state = CASE WHEN paid_minor + credited_minor + $15::bigint >= "
				"total_minor THEN 'settled' ELSE state END, settled_at = CASE WHEN "
				"paid_minor + credited_minor + $15::bigint >= total_minor THEN now() "
				"ELSE settled_at END, version = version + 1 WHERE id = $7 "
				"RETURNING version, state",
				15, params, err, &rc);
	}
	if (res == NULL)
		return rc;
	rc = bill_event(b->db, p, "customerBill", id, OUTBOX_NEW_AGGREGATE,
			"billing.customerBill.issued",
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "id", id,
				  "billNo", number, "kind", "creditNote", "account_id", account,
				  "customer_id", customer, "credited_bill", inv, "currency", cur,
				  "net_minor", (json_int_t)net, "tax_minor", (json_int_t)(total - net),
				  "total_minor", (json_int_t)total, "state", "settled"),
			err);
	if (rc == 0)
		rc = bill_event(b->db, p, "customerBill", inv,
				strtoll(PQgetvalue(res, 0, 0), NULL, 10) - 1,
				"billing.customerBill.state_changed",
				json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", inv,
					  "billNo", PQgetvalue(orig, 0, 7), "account_id", account,
					  "customer_id", customer, "to", PQgetvalue(res, 0, 1),
					  "credit_note", id, "credited_minor", (json_int_t)amount),
				err);
	PQclear(res);
	return rc ?: bill_dunning_settle(b->db, p, account, err);
}

int
billing_credit_note(struct billing *b, const struct cuco_principal *p, const char *id,
		    const json_t *body, json_t **ret, struct billing_error *err)
{
	const char *reason = sget(body, "reason");
	const char *params[] = {id};
	char cn[37];
	int64_t open, amount;
	PGresult *res;
	int rc = 0;

	if (!bill_may_write(p))
		return bill_deny(p, err);
	if (!outbox_uuid_valid(id))
		return bill_fail(err, -ENOENT, "not-found", "", "customer bill %s: not found", id);
	if (reason == NULL || reason[0] == '\0')
		return bill_fail(err, -EINVAL, "invalid-argument", "/reason",
				 "reason: why the bill is corrected is required");
	rc = bill_begin(b->db, err);
	if (rc < 0)
		return rc;
	res = bill_exec(b->db,
			"SELECT id, account_id, customer_id, currency, total_minor - paid_minor - "
			"credited_minor, kind, tax_rate_bp, number, state FROM invoices WHERE id = "
			"$1 FOR UPDATE",
			1, params, err, &rc);
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		bill_rollback(b->db);
		return rc ?: bill_fail(err, -ENOENT, "not-found", "", "customer bill %s: not found",
				       id);
	}
	open = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	if (strcmp(PQgetvalue(res, 0, 5), "invoice") != 0 || open <= 0) {
		rc = bill_fail(err, -EBUSY, "illegal-transition", "",
			       "customer bill %s: a credit note or a bill with nothing left to "
			       "pay cannot be credited",
			       id);
	} else if (json_object_get(body, "amount") != NULL) {
		rc = money_of(json_object_get(body, "amount"), PQgetvalue(res, 0, 3), "/amount",
			      &amount, err);
		if (rc == 0 && (amount <= 0 || amount > open))
			rc = bill_fail(err, -EINVAL, "invalid-argument", "/amount",
				       "amount: more than 0 and at most the bill's remaining amount");
	} else {
		amount = open;
	}
	rc = rc ?: credit_insert(b, p, res, amount, reason, cn, err);
	PQclear(res);
	rc = rc ?: bill_commit(b->db, err);
	if (rc < 0) {
		bill_rollback(b->db);
		return rc;
	}
	return billing_bill_get(b, p, cn, ret, err);
}

/* ---- lines (AppliedCustomerBillingRate) ------------------------------------------------ */

int
billing_line_get(struct billing *b, const struct cuco_principal *p, const char *id, json_t **ret,
		 struct billing_error *err)
{
	return bill_own_doc(b, p, "billing rate", id,
			    "SELECT line_doc(l, i) FROM invoice_lines l JOIN invoices i ON i.id = "
			    "l.invoice_id WHERE l.id = $1 AND ($2::uuid IS NULL OR i.customer_id = $2)",
			    ret, err);
}

int
billing_line_list(struct billing *b, const struct cuco_principal *p,
		  const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		  struct billing_error *err)
{
	const char *params[] = {bill_own_customer(p), f->bill_id, f->account_id, NULL, NULL};

	if (!bill_may_read(p))
		return bill_deny(p, err);
	if ((f->bill_id && !outbox_uuid_valid(f->bill_id)) ||
	    (f->account_id && !outbox_uuid_valid(f->account_id))) {
		*ret = json_array();
		*ret_total = 0;
		return 0;
	}
	return bill_page(b->db,
			 "SELECT line_doc(l, i), count(*) OVER () FROM invoice_lines l JOIN "
			 "invoices i ON i.id = l.invoice_id WHERE ($1::uuid IS NULL OR "
			 "i.customer_id = $1) AND ($2::uuid IS NULL OR i.id = $2) AND ($3::uuid IS "
			 "NULL OR i.account_id = $3) ORDER BY i.year DESC, i.seq DESC, l.seq "
			 "LIMIT $4 OFFSET $5",
			 5, params, f, ret, ret_total, err);
}
