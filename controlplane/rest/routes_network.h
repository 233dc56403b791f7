/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_NETWORK_H
#define CUCO_CONTROLPLANE_ROUTES_NETWORK_H

#include <stddef.h>

#include "bss/network/network.h"
#include "common/jschema.h"
#include "controlplane/rest/rest.h"

struct routes_network;

/*
 * The network domain's routes on @s: TMF638 Service under
 * /tmf-api/serviceInventory/v4/, TMF640 service and monitor under
 * /tmf-api/ServiceActivationAndConfiguration/v4/, /api/v1/dataplanes and
 * /api/v1/pools; @pool_size handles (connections to @url) whose writes push
 * through @pusher (borrowed). Schemas of schemas/network.json into @schemas.
 * Returns 0 or a negative errno with @err.
 */
int routes_network_register(struct rest_server *s, struct jschema_registry *schemas,
			    const char *url, unsigned pool_size,
			    const struct network_pusher *pusher, struct routes_network **ret,
			    char *err, size_t errlen);

/* Accepts NULL, returns NULL. After the server stopped. */
struct routes_network *routes_network_free(struct routes_network *rn);

#endif
