/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DRIVERS_NETLINK_H
#define CUCO_DRIVERS_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/inet.h"

/*
 * The kernel side of the slow path over rtnetlink (libnl-route): VLAN
 * interfaces on the taps, addresses and routes on them, and the neighbours the kernel learns
 * there (RTM_NEWNEIGH / RTM_DELNEIGH), reported to a callback.
 * Control thread only.
 */

struct knl;

/*
 * Neighbour @addr on interface @ifindex now has link-layer address @mac
 * (6 bytes), or is gone / unresolved when @mac is NULL.
 */
typedef void (*knl_neigh_cb)(void *arg, int ifindex, const struct inet_addr *addr,
			     const uint8_t *mac);

/* Returns 0 or a negative errno. */
int knl_open(struct knl **ret);
struct knl *knl_close(struct knl *k);

/* Add @pfx (address with its subnet length) to @ifindex; IPv6 without DAD. */
int knl_addr_add(struct knl *k, int ifindex, const struct inet_prefix *pfx);

/* Add (or replace) the route @dst via @gw out of @ifindex in the main table. */
int knl_route_add(struct knl *k, const struct inet_prefix *dst, const struct inet_addr *gw,
		  int ifindex);

/*
 * Create the VLAN interface @name with VLAN id @id on interface @parent,
 * 802.1ad when @dot1ad (the outer tag of a QinQ pair) else 802.1Q, and set
 * it up. Returns 0 with its index, or a negative errno (-EEXIST when the
 * name is taken, -EOPNOTSUPP when the kernel has no 802.1Q support).
 */
int knl_vlan_add(struct knl *k, int parent, const char *name, uint16_t id, bool dot1ad,
		 int *ret_ifindex);

/*
 * Report every neighbour the kernel has now, then watch for changes: each
 * knl_dispatch() call reports what arrived since. Returns 0 or -errno.
 */
int knl_neigh_watch(struct knl *k, knl_neigh_cb cb, void *arg);

/* The descriptor to poll for readability; -1 before knl_neigh_watch(). */
int knl_fd(const struct knl *k);

/* Process what is pending on the watch socket. Returns 0 or -errno. */
int knl_dispatch(struct knl *k);

#endif
