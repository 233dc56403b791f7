/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The billing domain in cuco-controld: for now the minimal receiver of the
 * order saga's billing plans, commands on the bus only (no routes yet).
 */
#include <stdio.h>

#include "bss/billing/billing.h"
#include "controlplane/controld/domain.h"

static int
billing_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	return billing_migrate(cfg->database, err, errlen);
}

static int
billing_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	(void)env;
	(void)err;
	(void)errlen;
	*ret_state = NULL;
	return 0;
}

static void
billing_stop(void *state)
{
	(void)state;
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
