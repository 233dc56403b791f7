/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_CONTROL_H
#define CUCO_DATAPLANE_CONTROL_H

#include "common/inet.h"
#include "dataplane/dp.h"

/*
 * Control-thread logic that turns configuration and kernel events into the
 * fast path's tables.
 */

/*
 * Routes of the configuration: the appliance's addresses and IPv4 subnet
 * broadcasts (local), each port's subnets (connected) and static routes.
 * Returns 0, or a negative errno with @err naming what did not fit.
 */
int dp_routes_load(struct dp *dp, char *err, size_t errlen);

/*
 * A neighbour on tap @ifindex was learned (@mac) or lost (@mac NULL): keep
 * its next hop and host route in step. Neighbours off the port's subnets are
 * ignored, except IPv6 link-local ones, which get a next hop but no route.
 */
void dp_neigh_event(struct dp *dp, int ifindex, const struct inet_addr *addr, const uint8_t *mac);

/* Index in dp->ports of the port named @name, or -1. Any thread. */
int dp_port_index(const struct dp *dp, const char *name);

#endif
