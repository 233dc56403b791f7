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
 * The ports' VLAN sub-interfaces (dp_port.vlans) from the configuration,
 * before dp_routes_load(); their ifindex is set when the kernel interface
 * is made. Returns 0 or -ENOMEM. dp_vlans_free() releases them (any time,
 * also after a failure).
 */
int dp_vlans_init(struct dp *dp);
void dp_vlans_free(struct dp *dp);

/*
 * Routes of the configuration: the appliance's addresses and IPv4 subnet
 * broadcasts (local), each port's and each VLAN's subnets (connected: the
 * port's connected next hop, or the VLAN's, which punts as the port's does
 * and names the VLAN for classification) and static routes (gateways on a
 * VLAN are next hops on that VLAN). Returns 0, or a negative errno with
 * @err naming what did not fit.
 */
int dp_routes_load(struct dp *dp, char *err, size_t errlen);

/*
 * Which port and VLAN kernel interface @ifindex is the slow path of: a tap
 * (@ret_vlan 0) or a VLAN interface on one (@ret_vlan its NH_VLAN word).
 * Returns 0, or -ENOENT for any other interface. Control thread.
 */
int dp_ifindex_port(const struct dp *dp, int ifindex, unsigned *ret_port, uint32_t *ret_vlan);

/*
 * A neighbour on tap or VLAN interface @ifindex was learned (@mac) or lost
 * (@mac NULL): keep its next hop (on the interface's VLAN) and host route in
 * step. Neighbours off that interface's subnets are ignored, except IPv6
 * link-local ones, which get a next hop but no route.
 */
void dp_neigh_event(struct dp *dp, int ifindex, const struct inet_addr *addr, const uint8_t *mac);

/* Index in dp->ports of the port named @name, or -1. Any thread. */
int dp_port_index(const struct dp *dp, const char *name);

#endif
