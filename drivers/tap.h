/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DRIVERS_TAP_H
#define CUCO_DRIVERS_TAP_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

/*
 * The kernel slow path: one TAP interface per port (DPDK net_tap), with the
 * port's MAC, so that the kernel answers ARP, ND and ping for the
 * appliance's addresses, resolves neighbours and forwards what the fast path
 * cannot yet.
 */

/*
 * Create the net_tap device number @index with kernel interface @ifname and
 * MAC @mac. Returns 0 with its DPDK port id, or a negative errno with @err.
 */
int tap_create(unsigned index, const char *ifname, const struct rte_ether_addr *mac,
	       uint16_t *ret_port_id, char *err, size_t errlen);

/*
 * Kernel settings of the namespace the slow path needs, before any tap or
 * port is set up (they are copied to interfaces): forwarding on, no
 * reverse-path filter, no redirects, no IPv6 DAD on new interfaces.
 * Returns 0 or a negative errno with @err naming the setting.
 */
int tap_kernel_global(char *err, size_t errlen);

/*
 * Settings of tap @ifname: no DAD, no reverse-path filter, no redirects sent
 * or taken, no router advertisements taken. Returns as tap_kernel_global().
 */
int tap_kernel_setup(const char *ifname, char *err, size_t errlen);

/*
 * A port that is itself a kernel interface (af_packet on a veth or a NIC
 * still bound to its kernel driver) must not be used by the kernel's own
 * stack, or every packet would be forwarded or answered twice: no IPv4
 * forwarding or ARP answers there, strict reverse-path filtering (the
 * appliance's addresses live on the taps, so nothing arriving there passes
 * it), no IPv6. Returns 0 or a negative errno with @err.
 */
int tap_kernel_quiet(const char *ifname, char *err, size_t errlen);

#endif
