/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_BILLING_USAGE_H
#define CUCO_CONTROLD_BILLING_USAGE_H

#include <stddef.h>

#include "controlplane/controld/domain.h"

/*
 * Usage in the billing domain of cuco-controld (docs/usage.md):
 *
 *   - the consumer "usage_sources" of the network domain's dataplane events
 *     keeps billing.usage_sources (each dataplane's usage endpoint);
 *   - the collector, a thread with a ZeroMQ SUB per source, turns the
 *     dataplanes' cumulative counters into usage rows (usage_store_apply(),
 *     many messages a transaction);
 *   - the feeder, a thread that runs each configured feed (config "feed")
 *     every its interval;
 *   - the TMF635 routes (routes_usage.c).
 */

struct usage_service;

/* Start all of it for the host's @env. Returns 0 or a negative errno with @err. */
int billing_usage_start(const struct host_env *env, struct usage_service **ret, char *err,
			size_t errlen);

/* Stop the threads and free; accepts NULL, returns NULL. After the gateway stopped. */
struct usage_service *billing_usage_stop(struct usage_service *u);

#endif
