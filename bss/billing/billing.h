/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_H
#define CUCO_BSS_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/billing/model.h"
#include "bss/core/command.h"
#include "bss/core/principal.h"

/*
 * The billing domain (schema "billing", docs/billing.md): the order saga's
 * billing plans, billing accounts (TMF666), the charges the plans set up,
 * billing runs issuing invoices (TMF678 CustomerBill and its
 * AppliedCustomerBillingRate lines, gapless numbers per year, immutable),
 * bills on demand, payments (TMF676) allocated to invoices, and dunning,
 * whose events make the network domain suspend and restore services.
 *
 * Commands on the bus (billing_command(), executed once per command id by
 * cmd_execute(); each is idempotent by its step id too):
 *
 *   billing.plan.create   {step_id, order_id, customer_id, start_date,
 *                          items: [{order_item_id, action, offering_id,
 *                          service_id, price}]} -> {plan_id, state}; the
 *                          same step_id again answers the plan it made. The
 *                          customer's billing account is opened if it has none.
 *   billing.plan.activate {step_id, plan_id, services?: [{order_item_id,
 *                          service_id}]} -> {plan_id, state: "active"}: its
 *                          items become charges from the plan's start date
 *                          (add: a new charge; modify: the service's
 *                          running charge ends, a new one starts; delete:
 *                          it ends); a cancelled plan: "conflict"
 *   billing.plan.cancel   {step_id, plan_id} -> {plan_id, state:
 *                          "cancelled"} (the compensation of create; an
 *                          active plan's charges are undone)
 *   billing.plan.get      {plan_id} -> the plan (a query)
 *
 * Events: billing.plan.created / .activated / .cancelled (aggregate
 * "plan"), billing.account.* ("account"), billing.customerBill.*
 * ("customerBill"), billing.payment.received ("payment"), billing.run.*
 * ("run"): docs/billing.md has their payloads.
 *
 * Authorization: every staff role reads; admin and billing write; self-care
 * reads its own accounts, bills and payments; "system:*" principals (the
 * host's own threads) write.
 *
 * Errors: 0 or a negative errno with struct billing_error: invalid-argument
 * -EINVAL (field: a JSON pointer), not-found -ENOENT, conflict -EEXIST /
 * -EBUSY, illegal-transition -EBUSY, nothing-to-bill -ENODATA, forbidden
 * -EPERM, stale-version -ESTALE, internal -EIO.
 *
 * Threads: a struct billing owns one database connection; one thread at a time.
 */

struct billing;
struct db;

struct billing_error {
	char code[32];
	char field[64];
	char message[256];
};

/* Bring the schema "billing" up to date. 0 or -errno with @err. */
int billing_migrate(const char *url, char *err, size_t errlen);

/*
 * Test hook (CUCO_TEST_BILLING_DAYS_AHEAD): billing's calendar runs @days
 * ahead of the clock, so that a test can invoice the cycle its real traffic
 * is in. Set once at start; never in production.
 */
void billing_set_test_days_ahead(int days);

/* A handle on its own connection with settings @cfg (copied). */
int billing_open(const char *url, const struct billing_config *cfg, struct billing **ret,
		 struct billing_error *err);
/* Accepts NULL, returns NULL. */
struct billing *billing_close(struct billing *b);
/* Reconnect a handle whose connection failed. 0 or -EIO (message in @err). */
int billing_reconnect(struct billing *b, struct billing_error *err);

/* ---- the bus ---------------------------------------------------------------------- */

/* The domain's command handler (a cmd_handler_fn; @arg: a const struct billing_config *, or NULL). */
int billing_command(struct db *db, const struct cuco_principal *who, const char *type,
		    json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem);

/* Whether command @type only reads. */
bool billing_is_query(const char *type);

/* ---- REST: every function answers a new document (TMF representation) ------------- */

struct billing_filter {
	const char *customer_id; /* relatedParty.id */
	const char *account_id;  /* billingAccount.id, account.id */
	const char *bill_id;     /* bill.id */
	const char *state;
	unsigned limit, offset;
};

int billing_account_list(struct billing *b, const struct cuco_principal *p,
			 const struct billing_filter *f, json_t **ret, int64_t *ret_total,
			 struct billing_error *err);
int billing_account_get(struct billing *b, const struct cuco_principal *p, const char *id,
			json_t **ret, struct billing_error *err);
/* TMF666 BillingAccount: relatedParty (the customer), name, cycle, terms. 409 when it has one. */
int billing_account_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
			   json_t **ret, struct billing_error *err);
/* name, paymentPlan terms, state active|closed; @if_match: the version or NULL. */
int billing_account_update(struct billing *b, const struct cuco_principal *p, const char *id,
			   const json_t *body, const char *if_match, json_t **ret,
			   struct billing_error *err);

int billing_bill_list(struct billing *b, const struct cuco_principal *p,
		      const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		      struct billing_error *err);
int billing_bill_get(struct billing *b, const struct cuco_principal *p, const char *id,
		     json_t **ret, struct billing_error *err);
/* {state}: new -> onHold | validated, onHold -> validated, validated -> sent. */
int billing_bill_update(struct billing *b, const struct cuco_principal *p, const char *id,
			const json_t *body, const char *if_match, json_t **ret,
			struct billing_error *err);
/* A credit note against bill @id: {amount?, reason}; the whole open amount by default. */
int billing_credit_note(struct billing *b, const struct cuco_principal *p, const char *id,
			const json_t *body, json_t **ret, struct billing_error *err);

int billing_line_list(struct billing *b, const struct cuco_principal *p,
		      const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		      struct billing_error *err);
int billing_line_get(struct billing *b, const struct cuco_principal *p, const char *id,
		     json_t **ret, struct billing_error *err);

/* TMF678 CustomerBillOnDemand {billingAccount}: its last ended cycle, invoiced now. */
int billing_on_demand_create(struct billing *b, const struct cuco_principal *p,
			     const json_t *body, json_t **ret, struct billing_error *err);
int billing_on_demand_list(struct billing *b, const struct cuco_principal *p,
			   const struct billing_filter *f, json_t **ret, int64_t *ret_total,
			   struct billing_error *err);
int billing_on_demand_get(struct billing *b, const struct cuco_principal *p, const char *id,
			  json_t **ret, struct billing_error *err);

/*
 * TMF676 Payment {correlatorId (the external reference), account, totalAmount,
 * paymentDate?, paymentItem?}: recorded once per correlatorId (*ret_created
 * false: the same payment again, answered as it was), allocated to the
 * paymentItem bills, then to the oldest open bills; what is left is credit
 * for the next ones. -EEXIST when the reference names another payment.
 */
int billing_payment_create(struct billing *b, const struct cuco_principal *p,
			   const json_t *body, json_t **ret, bool *ret_created,
			   struct billing_error *err);
int billing_payment_list(struct billing *b, const struct cuco_principal *p,
			 const struct billing_filter *f, json_t **ret, int64_t *ret_total,
			 struct billing_error *err);
int billing_payment_get(struct billing *b, const struct cuco_principal *p, const char *id,
			json_t **ret, struct billing_error *err);

/* A run for {cycleStart} (a date; accounts whose cycle starts that day), the cycle ended. */
int billing_run_create(struct billing *b, const struct cuco_principal *p, const json_t *body,
		       json_t **ret, struct billing_error *err);
int billing_run_list(struct billing *b, const struct cuco_principal *p,
		     const struct billing_filter *f, json_t **ret, int64_t *ret_total,
		     struct billing_error *err);
int billing_run_get(struct billing *b, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct billing_error *err);

/* Accounts in dunning and the configured steps: {"steps": [...], "accounts": [...]}. */
int billing_dunning_get(struct billing *b, const struct cuco_principal *p, json_t **ret,
			struct billing_error *err);

/* ---- the host's billing thread ------------------------------------------------------ */

/* Scheduled runs of the cycles that ended by @today (days since the epoch). */
int billing_schedule(struct billing *b, int32_t today, struct billing_error *err);

/*
 * Invoice up to @max pending accounts of the oldest running run, each in its
 * own transaction (invoice, lines, number, run progress, events), and close
 * runs with nothing pending. *ret_done: accounts handled. @after_invoice
 * (may be NULL) is called after each invoice's commit (a test hook).
 */
int billing_run_work(struct billing *b, unsigned max, unsigned *ret_done,
		     void (*after_invoice)(void *arg), void *arg, struct billing_error *err);

/* Take the dunning steps due now; restore what payments settled. *ret_actions: steps taken. */
int billing_dunning_tick(struct billing *b, unsigned *ret_actions, struct billing_error *err);

#endif
