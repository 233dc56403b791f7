/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_BILLING_H
#define CUCO_CONTROLPLANE_ROUTES_BILLING_H

#include <stddef.h>

#include "bss/billing/billing.h"
#include "common/jschema.h"
#include "controlplane/rest/rest.h"

struct routes_billing;

/*
 * The billing domain's routes on @s: TMF666 billingAccount under
 * /tmf-api/accountManagement/v4/, TMF678 customerBill,
 * appliedCustomerBillingRate and customerBillOnDemand under
 * /tmf-api/customerBillManagement/v4/, TMF676 payment under
 * /tmf-api/paymentManagement/v4/, /api/v1/billing-runs, /api/v1/dunning and
 * /api/v1/customer-bills/{id}/credit-note; @pool_size handles (connections
 * to @url) with settings @cfg. Schemas of schemas/billing.json into @schemas.
 * Returns 0 or a negative errno with @err.
 */
int routes_billing_register(struct rest_server *s, struct jschema_registry *schemas,
			    const char *url, const struct billing_config *cfg, unsigned pool_size,
			    struct routes_billing **ret, char *err, size_t errlen);

/* Accepts NULL, returns NULL. After the server stopped. */
struct routes_billing *routes_billing_free(struct routes_billing *rb);

#endif
