/* SPDX-License-Identifier: BSD-3-Clause */
/* The customer domain in cuco-controld: its schema and its routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bss/customer/customer.h"
#include "controlplane/controld/domain.h"
#include "controlplane/rest/routes_customer.h"

static int
customer_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct customer_error ce = {0};
	int r = customer_migrate(cfg->database, &ce);

	if (r < 0)
		snprintf(err, errlen, "%s", ce.message);
	return r;
}

static int
customer_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct routes_customer *rc = NULL;
	int r;

	r = routes_customer_register(env->rest, env->schemas, env->cfg->database,
				     HOST_REQUEST_CONNECTIONS, &rc, err, errlen);
	if (r < 0)
		return r;
	*ret_state = rc;
	return 0;
}

static void
customer_stop(void *state)
{
	routes_customer_free(state);
}

/* Its events reach the security domain's change journal (publishes). */
const struct host_domain domain_customer = {
	.name = "customer",
	.publishes = true,
	.migrate = customer_migrate_,
	.command = customer_command,
	.is_query = customer_is_query,
	.start = customer_start,
	.stop = customer_stop,
};
