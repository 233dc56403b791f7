/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The catalog domain in cuco-controld: its routes and its read model, kept
 * by the consumer "readmodel" of the catalog's own events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bss/catalog/catalog.h"
#include "controlplane/controld/domain.h"
#include "controlplane/rest/routes_catalog.h"

struct catalog_state {
	struct routes_catalog *routes;
	struct bus_consumer readmodel;
};

static const char *const own_events[] = {"catalog"};

static int
catalog_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct catalog_error e = {0};
	int r = catalog_migrate(cfg->database, &e);

	if (r < 0)
		snprintf(err, errlen, "%s", e.message);
	return r;
}

static int
catalog_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct catalog_state *st = calloc(1, sizeof(*st));
	int r;

	if (st == NULL)
		return -ENOMEM;
	r = routes_catalog_register(env->rest, env->schemas, env->cfg->database,
				    HOST_REQUEST_CONNECTIONS, &st->routes, err, errlen);
	if (r < 0) {
		free(st);
		return r;
	}
	/* CQRS: the reads are served from what this consumer projects, exactly once an event. */
	st->readmodel = (struct bus_consumer){
		.name = "readmodel",
		.domain = "catalog",
		.db_url = env->cfg->database,
		.sources = own_events,
		.n_sources = 1,
		.handler = catalog_readmodel_apply,
		.max_attempts = env->cfg->dead_letter_attempts,
	};
	r = host_consume(env->host, &st->readmodel, err, errlen);
	if (r < 0) {
		routes_catalog_free(st->routes);
		free(st);
		return r;
	}
	*ret_state = st;
	return 0;
}

static void
catalog_stop(void *state)
{
	struct catalog_state *st = state;

	if (st == NULL)
		return;
	routes_catalog_free(st->routes);
	free(st);
}

const struct host_domain domain_catalog = {
	.name = "catalog",
	.publishes = true,
	.migrate = catalog_migrate_,
	.command = catalog_command,
	.is_query = catalog_is_query,
	.start = catalog_start,
	.stop = catalog_stop,
};
