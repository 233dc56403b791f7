/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The billing domain in cuco-controld: the order saga's billing plans
 * (commands on the bus), and usage: its collector, feeds and TMF635 routes
 * (billing_usage.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bss/billing/billing.h"
#include "controlplane/controld/billing_usage.h"
#include "controlplane/controld/domain.h"

struct billing_state {
	struct billing_usage *usage;
};

static int
billing_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	return billing_migrate(cfg->database, err, errlen);
}

static int
billing_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct billing_state *st = calloc(1, sizeof(*st));
	int r;

	if (st == NULL)
		return -ENOMEM;
	r = billing_usage_start(env, &st->usage, err, errlen);
	if (r < 0) {
		free(st);
		return r;
	}
	*ret_state = st;
	return 0;
}

static void
billing_stop(void *state)
{
	struct billing_state *st = state;

	if (st == NULL)
		return;
	billing_usage_stop(st->usage);
	free(st);
}

const struct host_domain domain_billing = {
	.name = "billing",
	.publishes = true,
	.migrate = billing_migrate_,
	.command = billing_command,
	.is_query = billing_is_query,
	.start = billing_start,
	.stop = billing_stop,
};
