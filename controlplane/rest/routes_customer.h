/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_CUSTOMER_H
#define CUCO_CONTROLPLANE_ROUTES_CUSTOMER_H

#include <stddef.h>

#include "common/jschema.h"
#include "controlplane/rest/rest.h"

struct routes_customer;

/*
 * The customer domain's routes on @s: TMF629 Customer under
 * /tmf-api/customerManagement/v4/, TMF632 Individual and Organization under
 * /tmf-api/party/v4/, and /api/v1/customers/{id}/ (consents,
 * communication-preferences, loyalty, export, erase), with @pool_size
 * domain handles (connections to @url) that requests borrow. The schemas of
 * schemas/customer.json go into @schemas. Returns 0 or a negative errno
 * with the reason in @err.
 */
int routes_customer_register(struct rest_server *s, struct jschema_registry *schemas,
			     const char *url, unsigned pool_size, struct routes_customer **ret,
			     char *err, size_t errlen);

/* Close the handles; accepts NULL, returns NULL. After the server stopped. */
struct routes_customer *routes_customer_free(struct routes_customer *rc);

#endif
