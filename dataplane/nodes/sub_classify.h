/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUB_CLASSIFY_H
#define CUCO_DATAPLANE_SUB_CLASSIFY_H

#include <stdbool.h>

#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/nodes/eth_input.h"
#include "dataplane/tables/nexthop.h"
#include "dataplane/tables/subscriber.h"

/*
 * Subscriber classification: which subscriber a forwarded packet belongs
 * to. From the subscriber (upstream): the access line first — the VLAN pair
 * or single VLAN on its port — then the source MAC, then the source address
 * by longest prefix. Towards the subscriber (downstream): the access line
 * first too — the VLAN pair, then the outer VLAN, of the next hop the
 * packet is sent to (learned on that VLAN's sub-interface, so the same line
 * the subscriber's upstream comes from) — then the destination address by
 * longest prefix, then the next hop's MAC (the subscriber's own when it is
 * on the access line). SUB_SLOT_UNKNOWN when nothing matches.
 */

static inline uint32_t
sub_l2_lookup(const struct sub_set *s, const struct sub_l2_key *k)
{
	void *data;

	return rte_hash_lookup_data(s->l2, k, &data) >= 0 ? (uint32_t)(uintptr_t)data
							  : SUB_SLOT_UNKNOWN;
}

/*
 * The host hash first (exact addresses), then the longest prefix. @no_host:
 * the host hash is known not to hold @addr (a burst-wide lookup missed it).
 */
static inline uint32_t
sub_ip_lookup(const struct sub_set *s, uint16_t ethertype, const uint8_t *addr, bool no_host)
{
	uint32_t slot;

	if (ethertype == RTE_ETHER_TYPE_IPV4) {
		uint32_t a;

		memcpy(&a, addr, 4);
		if (likely(s->n_host4 != 0) && !no_host) {
			slot = host4_lookup(&s->host4, a);
			if (slot != SUB_SLOT_UNKNOWN)
				return slot;
		}
		if (s->n_pfx4 == 0)
			return SUB_SLOT_UNKNOWN;
		return rte_lpm_lookup(s->lpm4, rte_be_to_cpu_32(a), &slot) == 0 ? slot
										   : SUB_SLOT_UNKNOWN;
	}
	if (s->n_host != 0 && !no_host) {
		struct sub_host_key k = {.family = AF_INET6};
		void *data;

		memcpy(k.addr, addr, 16);
		if (rte_hash_lookup_data(s->host, &k, &data) >= 0)
			return (uint32_t)(uintptr_t)data;
	}
	if (s->n_pfx6 == 0)
		return SUB_SLOT_UNKNOWN;
	return rte_lpm6_lookup(s->lpm6, addr, &slot) == 0 ? slot : SUB_SLOT_UNKNOWN;
}

/* The pair (@outer, @inner) on @port, then @outer alone; @inner 0 for one tag. */
static inline uint32_t
sub_vlan_lookup(const struct sub_set *s, uint8_t port, uint16_t outer, uint16_t inner)
{
	struct sub_l2_key k = {.kind = SUB_L2_VLAN, .port = port, .outer = outer};
	uint32_t slot;

	if (inner != 0) {
		k.inner = inner;
		slot = sub_l2_lookup(s, &k);
		if (slot != SUB_SLOT_UNKNOWN)
			return slot;
		k.inner = 0;
	}
	return sub_l2_lookup(s, &k);
}

static inline uint32_t
sub_classify_up(const struct sub_set *s, const uint8_t *frame, const struct pkt_meta *meta,
		uint8_t port, bool no_host)
{
	const uint8_t *l3 = frame + meta->l3_off;
	uint32_t slot;

	if (unlikely(s->n_vlan != 0) && meta->n_vlans != 0) {
		slot = sub_vlan_lookup(s, port, meta->vlan_tci[0] & 0xfff,
				       meta->n_vlans == 2 ? meta->vlan_tci[1] & 0xfff : 0);
		if (slot != SUB_SLOT_UNKNOWN)
			return slot;
	}
	if (unlikely(s->n_mac != 0)) {
		struct sub_l2_key k = {.kind = SUB_L2_MAC};

		memcpy(k.mac, ((const struct rte_ether_hdr *)frame)->src_addr.addr_bytes, 6);
		slot = sub_l2_lookup(s, &k);
		if (slot != SUB_SLOT_UNKNOWN)
			return slot;
	}
	if (meta->ethertype == RTE_ETHER_TYPE_IPV4)
		return sub_ip_lookup(s, meta->ethertype,
				     (const uint8_t *)&((const struct rte_ipv4_hdr *)l3)->src_addr,
				     no_host);
	return sub_ip_lookup(s, meta->ethertype, ((const struct rte_ipv6_hdr *)l3)->src_addr,
			     no_host);
}

/*
 * @port: the access port the packet leaves by; @nh_vlan: its next hop's
 * VLAN word (nexthop.h), 0 untagged; @dst_mac: the next hop's MAC when
 * resolved, else NULL; @no_host as for sub_ip_lookup().
 */
static inline uint32_t
sub_classify_down(const struct sub_set *s, const uint8_t *frame, const struct pkt_meta *meta,
		  uint8_t port, uint32_t nh_vlan, const uint8_t *dst_mac, bool no_host)
{
	const uint8_t *l3 = frame + meta->l3_off;
	uint32_t slot;

	if (unlikely(s->n_vlan != 0) && nh_vlan != 0) {
		slot = sub_vlan_lookup(s, port, nh_vlan_outer(nh_vlan), nh_vlan_inner(nh_vlan));
		if (slot != SUB_SLOT_UNKNOWN)
			return slot;
	}
	if (meta->ethertype == RTE_ETHER_TYPE_IPV4)
		slot = sub_ip_lookup(s, meta->ethertype,
				     (const uint8_t *)&((const struct rte_ipv4_hdr *)l3)->dst_addr,
				     no_host);
	else
		slot = sub_ip_lookup(s, meta->ethertype,
				     ((const struct rte_ipv6_hdr *)l3)->dst_addr, no_host);
	if (slot == SUB_SLOT_UNKNOWN && unlikely(s->n_mac != 0) && dst_mac != NULL) {
		struct sub_l2_key k = {.kind = SUB_L2_MAC};

		memcpy(k.mac, dst_mac, 6);
		slot = sub_l2_lookup(s, &k);
	}
	return slot;
}

#endif
