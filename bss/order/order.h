/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_ORDER_H
#define CUCO_BSS_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bss/core/principal.h"

/*
 * The order domain: TMF622 product orders and the saga that turns each one
 * into a reservation in the catalog, a billing plan, provisioned services
 * in the network and a confirmation to the customer (docs/order.md).
 *
 * An order: {"id", "href", "@type": "ProductOrder", "state", "description",
 * "externalId", "requestedStartDate", "orderDate", "completionDate",
 * "cancellationReason", "relatedParty": [{"id", "role": "customer",
 * "@referredType": "Customer"}], "note": [{"text", "author", "date"}],
 * "productOrderItem": [{"id", "action": "add"|"modify"|"delete",
 * "quantity", "state", "productOffering": {"id", "name"}, "product": {"id"
 * (the service: modify, delete; set by a completed add),
 * "productCharacteristic": [{"name": "vlan"|"mac"|"prefixPool", "value"}]},
 * "x-inventory": [{"sku" | "itemId", "quantity"}]}]}.
 *
 * States (order and item): acknowledged -> inProgress -> completed |
 * failed | partial (order only) | cancelled; cancelled only from
 * acknowledged or inProgress before any provisioning.
 *
 * Errors: functions return 0 or a negative errno and fill @err:
 *   invalid-argument     -EINVAL  a field is malformed (field: JSON pointer)
 *   not-orderable        -EPROTO  an offering that may not be ordered (field)
 *   customer-not-eligible -EPROTO the customer is closed, suspended or erased
 *   service-not-held     -EPROTO  modify/delete of a service the customer does not hold
 *   not-found            -ENOENT
 *   illegal-transition   -EBUSY   cancel once provisioning started, or a final order
 *   unavailable          -EAGAIN  a domain asked for a check did not answer
 *   forbidden            -EPERM
 *   internal             -EIO
 *
 * Threads: a struct order owns one connection; one thread at a time.
 */

struct order;
struct db;

struct order_error {
	char code[32];
	char field[96];
	char current[16];
	char message[256];
};

/* What an order's validation asks other domains (the host answers over the bus). */
struct order_checks {
	void *arg;
	/* The customer's status into @ret_status ("active", ...); -ENOENT, -EAGAIN. */
	int (*customer)(void *arg, const char *customer_id, char ret_status[16], bool *ret_erased);
	/* Whether the offering may be ordered at @at; its name; -ENOENT, -EAGAIN. */
	int (*offering)(void *arg, const char *offering_id, const char *at, bool *ret_orderable,
			char ret_lifecycle[24], char ret_name[128]);
};

int order_migrate(const char *url, struct order_error *err);

/*
 * How long the saga of an order placed from now on waits for its service to
 * be applied by the dataplanes (default 60000 ms). Set once at start, before
 * orders are taken; stored per step, so orders placed earlier keep theirs.
 */
void order_set_provision_timeout(unsigned ms);
int order_open(const char *url, struct order **ret, struct order_error *err);
struct order *order_close(struct order *o);

/*
 * Validate @body (TMF622 ProductOrder create), ask @checks about the
 * customer and the offerings, and store the order (acknowledged) with its
 * saga. Event order.order.created. @ret: the representation.
 */
int order_create(struct order *o, const struct cuco_principal *p, const json_t *body,
		 const struct order_checks *checks, json_t **ret, struct order_error *err);
int order_get(struct order *o, const struct cuco_principal *p, const char *id, json_t **ret,
	      int64_t *ret_version, struct order_error *err);
/* Newest first; filters may be NULL. */
int order_list(struct order *o, const struct cuco_principal *p, const char *state,
	       const char *customer_id, unsigned limit, unsigned offset, json_t **ret_items,
	       int64_t *ret_total, struct order_error *err);
/* Merge patch of "description" and "note" only. Event order.order.updated. */
int order_update(struct order *o, const struct cuco_principal *p, const char *id,
		 int64_t expected_version, const json_t *patch, json_t **ret, int64_t *ret_version,
		 struct order_error *err);
/*
 * TMF622 CancelProductOrder: @body {"productOrder": {"id"}, "cancellationReason"}.
 * Refused (-EBUSY) once a network step started or the order is final.
 * The saga then compensates what was done. Event order.order.cancel_requested.
 * @ret: the CancelProductOrder representation.
 */
int order_cancel(struct order *o, const struct cuco_principal *p, const json_t *body,
		 json_t **ret, struct order_error *err);
/* {"order_id", "state", "outcome", "failure", "steps": [{"seq", "command", ...}]}. */
int order_saga_get(struct order *o, const struct cuco_principal *p, const char *id, json_t **ret,
		   struct order_error *err);

/* ---- The saga's engine (driven by the host's orchestrator thread) ------------ */

/* One command the orchestrator is to send. */
struct order_call {
	char order_id[37];
	int seq;
	bool compensation;
	bool query;	       /* a poll (network.service.get): not recorded by the receiver */
	char domain[32];
	char type[64];
	char command_id[37];   /* the same for every attempt of this step and direction */
	json_t *payload;       /* owned */
	int timeout_ms;	       /* of this call */
};

void order_call_clear(struct order_call *c);

/* Up to @max orders whose saga is due now, into @ids. */
int order_saga_due(struct order *o, char (*ids)[37], size_t max, size_t *ret_n,
		   struct order_error *err);

/*
 * Decide the saga's next step and claim it (attempt + 1, committed): 1 with
 * @call filled, 0 when there is nothing to send now (finished, or waiting).
 * A step left running by a crash is resumed with the same command id.
 */
int order_saga_next(struct order *o, const char *order_id, struct order_call *call,
		    struct order_error *err);

/*
 * Record the outcome of @call in one transaction with the order's state:
 * @ok with @result (borrowed), or the problem @code / @detail. Retryable
 * codes (timeout, unreachable, unavailable, conflict, internal) back off
 * exponentially with jitter until the step's timeout; others fail the step
 * and start the compensation. Events order.order.state_changed.
 */
int order_saga_record(struct order *o, const struct order_call *call, bool ok, json_t *result,
		      const char *code, const char *detail, struct order_error *err);

/*
 * The domain's lines for /metrics (Prometheus text format) to @out:
 * cuco_orders{state} (orders per TMF state) and the histogram
 * cuco_order_enforcement_seconds (order accepted -> its services applied by
 * the dataplanes). 0, or -errno with @err and nothing written.
 */
int order_metrics(struct order *o, FILE *out, struct order_error *err);

/* Whether a problem code of the bus is worth a retry. */
bool order_code_retryable(const char *code);

/* ---- Pure rules (model.c) ---------------------------------------------------- */

/* Whether an order may go from state @from to @to. */
bool order_transition_allowed(const char *from, const char *to);
/* Whether an item may go from @from to @to. */
bool order_item_transition_allowed(const char *from, const char *to);
/* Whether @state is final. */
bool order_state_final(const char *state);

/*
 * Check a ProductOrder create body and bring it into the stored form
 * {"customer_id", "description", "externalId", "requestedStartDate",
 * "note", "relatedParty", "items": [{"id", "action", "offering_id",
 * "service_id", "quantity", "inventory", "access", "characteristic"}]}.
 */
int order_normalize(const json_t *body, json_t **ret, struct order_error *err);

/* The exponential backoff (ms) before attempt @attempts + 1, jitter @r in [0, 1). */
unsigned order_backoff_ms(unsigned attempts, unsigned cap_ms, double r);

#endif
