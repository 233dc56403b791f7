/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_CATALOG_H
#define CUCO_CONTROLPLANE_ROUTES_CATALOG_H

#include <stddef.h>

#include "common/jschema.h"
#include "controlplane/rest/rest.h"

/*
 * The catalog domain's routes (docs/catalog.md): the TMF620 resources under
 * /tmf-api/productCatalogManagement/v4/, and /api/v1/profiles, promotions,
 * inventory and offerings/{id}/price. Their bodies' schemas are
 * schemas/catalog.json.
 */

struct routes_catalog;

/*
 * Register the routes on @s with @pool_size domain handles (connections)
 * opened on @url, which requests borrow. Returns 0 or a negative errno with
 * the reason in @err.
 */
int routes_catalog_register(struct rest_server *s, struct jschema_registry *schemas,
			    const char *url, unsigned pool_size, struct routes_catalog **ret,
			    char *err, size_t errlen);

/* Close the handles; accepts NULL, returns NULL. After the server stopped. */
struct routes_catalog *routes_catalog_free(struct routes_catalog *rc);

#endif
