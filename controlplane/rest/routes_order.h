/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_ORDER_H
#define CUCO_CONTROLPLANE_ROUTES_ORDER_H

#include <stddef.h>

#include "bss/order/order.h"
#include "common/jschema.h"
#include "controlplane/rest/rest.h"

struct routes_order;

/*
 * The order domain's routes on @s: TMF622 productOrder and
 * cancelProductOrder under /tmf-api/productOrderingManagement/v4/, and
 * /api/v1/orders/{id}/saga, with @pool_size handles to @url. @checks
 * (borrowed) answers an order's validation. Returns 0 or -errno with @err.
 */
int routes_order_register(struct rest_server *s, struct jschema_registry *schemas,
			  const char *url, unsigned pool_size, const struct order_checks *checks,
			  struct routes_order **ret, char *err, size_t errlen);

/* Accepts NULL, returns NULL. After the server stopped. */
struct routes_order *routes_order_free(struct routes_order *ro);

#endif
