/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_ROUTES_H
#define CUCO_CONTROLPLANE_ROUTES_H

#include <stddef.h>

#include "bss/core/inbox.h"
#include "bss/security/security.h"
#include "common/jschema.h"
#include "controlplane/rest/rest.h"

/*
 * The domains' route tables and the JSON Schemas of their bodies (one file
 * of routes per domain: routes_<domain>.c; schemas in schemas/<domain>.json,
 * an object of named schemas, embedded at build time).
 */

/*
 * Add every schema of @json (the text of an object {name: schema, ...}) to
 * @r. Returns 0, or -EINVAL with "@what: ..." in @err.
 */
int routes_add_schemas(struct jschema_registry *r, const char *json, const char *what, char *err,
		       size_t errlen);

struct routes_security;

/*
 * The security domain's routes (/api/v1/auth, users, roles, keys, audit) on
 * @s, with @pool_size domain handles (connections) opened from @cfg, which
 * requests borrow. With @s NULL (and @schemas NULL), only the handles: a
 * process that does not host the security domain authenticates with them.
 * Returns 0 or a negative errno with the reason in @err.
 */
int routes_security_register(struct rest_server *s, struct jschema_registry *schemas,
			     const struct security_config *cfg, unsigned pool_size,
			     struct routes_security **ret, char *err, size_t errlen);

/* A handle of the pool, for the host's own calls (authentication); give it back. */
struct security *routes_security_borrow(struct routes_security *rs);
void routes_security_return(struct routes_security *rs, struct security *sec);

/* Close the handles; accepts NULL, returns NULL. After the server stopped. */
struct routes_security *routes_security_free(struct routes_security *rs);

/* A consumer this process runs, for the dead-letter routes. */
struct routes_bus_consumer {
	const char *name;   /* the consumer's name in its inbox tables */
	const char *domain; /* whose schema holds them */
	inbox_handler_fn handler;
	void *arg;
	unsigned max_attempts;
};

struct routes_bus;

/*
 * /api/v1/dead-letters and .../{id}/replay for the @n consumers @c
 * (borrowed: must outlive the server), each with a connection to @url as its
 * domain's role. Returns 0 or a negative errno with the reason in @err.
 */
int routes_bus_register(struct rest_server *s, struct jschema_registry *schemas, const char *url,
			const struct routes_bus_consumer *c, size_t n, struct routes_bus **ret,
			char *err, size_t errlen);

/*
 * The number of parked dead letters of consumer @i (0 .. n-1), read from its
 * table, with its name. Returns 0, -ENOENT past the last one, or -EIO.
 */
int routes_bus_parked(struct routes_bus *rb, size_t i, const char **ret_name, int64_t *ret_parked);

/* Accepts NULL, returns NULL. After the server stopped. */
struct routes_bus *routes_bus_free(struct routes_bus *rb);

#endif
