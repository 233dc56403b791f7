/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_USAGE_H
#define CUCO_CONTROLPLANE_ROUTES_USAGE_H

#include <stddef.h>

#include "common/jschema.h"
#include "controlplane/rest/rest.h"

struct routes_usage;

/*
 * TMF635 usage, read-only, under /tmf-api/usageManagement/v4/: usage
 * (filters serviceId, usageDate.gte, usageDate.lt) and usageSpecification,
 * with @pool_size connections to @url as the billing domain. Schemas of
 * schemas/usage.json into @schemas. Returns 0 or a negative errno with @err.
 */
int routes_usage_register(struct rest_server *s, struct jschema_registry *schemas,
			  const char *url, unsigned pool_size, struct routes_usage **ret, char *err,
			  size_t errlen);

/* Accepts NULL, returns NULL. After the server stopped. */
struct routes_usage *routes_usage_free(struct routes_usage *ru);

#endif
