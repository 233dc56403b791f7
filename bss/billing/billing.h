/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_H
#define CUCO_BSS_BILLING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bss/core/command.h"
#include "bss/core/principal.h"

/*
 * The billing domain, for now the minimal receiver of the order saga's
 * billing plans (schema "billing", docs/order.md). A plan is created
 * pending with the order's price snapshot, becomes active only once the
 * order's service is active (so nothing is billed without service), and is
 * cancelled when the saga compensates. Invoices, usage and feeds come with
 * the billing issue.
 *
 * Commands on the bus (billing_command(), executed once per command id by
 * cmd_execute(); each is idempotent by its step id too):
 *
 *   billing.plan.create   {step_id, order_id, customer_id, start_date,
 *                          items: [{order_item_id, action, offering_id,
 *                          price}]} -> {plan_id, state}; the same step_id
 *                          again answers the plan it made
 *   billing.plan.activate {step_id, plan_id} -> {plan_id, state: "active"};
 *                          a cancelled plan: "conflict"
 *   billing.plan.cancel   {step_id, plan_id} -> {plan_id, state:
 *                          "cancelled"} (the compensation of create)
 *   billing.plan.get      {plan_id} -> the plan (a query)
 *
 * Events (aggregate "plan"): billing.plan.created, .activated, .cancelled.
 */

/* Bring the schema "billing" up to date. 0 or -errno with @err. */
int billing_migrate(const char *url, char *err, size_t errlen);

/* The domain's command handler (a cmd_handler_fn; @arg unused). */
int billing_command(struct db *db, const struct cuco_principal *who, const char *type,
		    json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem);

/* Whether command @type only reads. */
bool billing_is_query(const char *type);

#endif
