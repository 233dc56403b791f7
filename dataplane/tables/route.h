/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_ROUTE_H
#define CUCO_DATAPLANE_ROUTE_H

#include <stdint.h>

#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>

#include "common/inet.h"
#include "dataplane/tables/nexthop.h"

/*
 * Route tables: IPv4 in rte_lpm, IPv6 in rte_lpm6, each entry naming a next
 * hop id (nexthop.h).
 *
 * Workers look up without locks. rte_lpm is attached to the workers' QSBR
 * variable through a defer queue, so it reuses a tbl8 group only after every
 * worker is past it, without making the control thread wait per change.
 * rte_lpm6 has no such hook, so IPv6 is double-buffered: the control thread
 * changes the standby table, publishes it, waits for the workers to be
 * quiescent, then brings the other copy level (publish, wait, free pattern).
 * Batches (below) pay that wait once for many IPv6 changes.
 *
 * Several sources may hold a route for the same prefix; the one in force is
 * the first present in enum rt_source order.
 */

enum rt_source {
	RT_SRC_LOCAL,     /* the appliance's own addresses and broadcasts */
	RT_SRC_STATIC,    /* from the config file */
	RT_SRC_FPM,       /* from FRR zebra's FPM feed */
	RT_SRC_NEIGH,     /* host routes of learned neighbours */
	RT_SRC_CONNECTED, /* port subnets */
	RT_SRC_MAX,
};

struct rt_tables {
	struct rte_lpm *lpm4;
	struct rte_lpm6 *lpm6[2];
	uint32_t active6; /* index into lpm6 of the table workers read */
};

/* Worker side. Returns the next hop id, or 0 on a miss. */
static inline uint32_t
rt_lookup4(const struct rt_tables *t, uint32_t dst_host_order)
{
	uint32_t nh;

	return rte_lpm_lookup(t->lpm4, dst_host_order, &nh) == 0 ? nh : 0;
}

static inline uint32_t
rt_lookup6(const struct rt_tables *t, const uint8_t *dst)
{
	/* Acquire: pairs with the release that publishes a rebuilt table. */
	uint32_t idx = __atomic_load_n(&t->active6, __ATOMIC_ACQUIRE);
	uint32_t nh;

	return rte_lpm6_lookup(t->lpm6[idx], dst, &nh) == 0 ? nh : 0;
}

/* Control side: the control thread only. */
struct rt_ctl;

int rt_ctl_create(struct rte_rcu_qsbr *qsv, unsigned max4, unsigned max6,
		  struct rt_ctl **ret_ctl);
struct rt_ctl *rt_ctl_free(struct rt_ctl *ctl);

const struct rt_tables *rt_ctl_tables(const struct rt_ctl *ctl);

/*
 * Set the route of @src for @pfx to next hop @nh_id, or remove it when
 * @nh_id is 0. Host bits of @pfx are ignored. Returns 0, -ENOSPC when a table
 * is full (nothing changed), or -EINVAL.
 */
int rt_ctl_set(struct rt_ctl *ctl, const struct inet_prefix *pfx, enum rt_source src,
	       uint32_t nh_id);

/*
 * Batches. Between rt_ctl_batch_begin() and rt_ctl_batch_end(), IPv6 FIB
 * changes go to the standby copy only, and into a log; rt_ctl_batch_commit()
 * publishes that copy (one swap), waits for one QSBR grace period and
 * replays the log on the other copy. Workers see all of a commit's IPv6
 * changes or none of them. A full log (RT_BATCH_MAX changes) commits by
 * itself. IPv4 changes reach the workers at once, batch or not. The RIB
 * (rt_ctl_get, the counts) changes at once too. Outside a batch every
 * rt_ctl_set() commits on its own.
 *
 * A next hop that a change replaced or removed may be read by workers until
 * the commit that publishes the change: release it (nh_ctl_put) only after
 * rt_ctl_batch_commit() or rt_ctl_batch_end().
 */
#define RT_BATCH_MAX 16384u

void rt_ctl_batch_begin(struct rt_ctl *ctl);

/* Publish what the batch changed so far; the batch goes on. */
void rt_ctl_batch_commit(struct rt_ctl *ctl);

/* rt_ctl_batch_commit(), then changes commit one by one again. */
void rt_ctl_batch_end(struct rt_ctl *ctl);

/* IPv6 changes applied to the standby copy and not published yet. */
unsigned rt_ctl_batch_size(const struct rt_ctl *ctl);

/* IPv6 copies published so far (one per commit with IPv6 changes). */
uint64_t rt_ctl_swaps6(const struct rt_ctl *ctl);

/* Next hop id of @src for @pfx, or 0. */
uint32_t rt_ctl_get(const struct rt_ctl *ctl, const struct inet_prefix *pfx, enum rt_source src);

/* Routes in force per family. */
unsigned rt_ctl_count(const struct rt_ctl *ctl, uint8_t family);

/* Routes @src holds per family, in force or not. */
unsigned rt_ctl_count_source(const struct rt_ctl *ctl, uint8_t family, enum rt_source src);

/* Name of @src for telemetry: "local", "static", "fpm", "neigh", "connected". */
const char *rt_source_name(enum rt_source src);

#endif
