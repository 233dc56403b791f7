/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_ETH_INPUT_H
#define CUCO_DATAPLANE_ETH_INPUT_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dataplane/reasons.h"

/*
 * Ethernet input: checks the destination MAC and walks up to two VLAN tags
 * (802.1Q, 802.1ad QinQ, and the older 0x9100 outer tag). Pure function of
 * the frame's bytes, so unit tests and the fuzzer call it directly.
 */

#define ETH_MAX_VLANS 2

struct pkt_meta {
	uint16_t l3_off;   /* bytes from the frame start to the L3 header */
	uint16_t ethertype; /* innermost, host order */
	uint8_t n_vlans;
	uint8_t group;     /* destination MAC is broadcast or multicast */
	uint16_t vlan_tci[ETH_MAX_VLANS]; /* outer first, host order */
};

static inline int
eth_is_vlan_type(uint16_t t)
{
	return t == RTE_ETHER_TYPE_VLAN || t == RTE_ETHER_TYPE_QINQ || t == 0x9100;
}

/*
 * Parse the first @len bytes of a frame received on a port whose MAC is
 * @own. Returns DP_DROP_NONE with @m filled, or the reason to drop it.
 */
static inline enum dp_drop_reason
eth_input(const uint8_t *frame, uint32_t len, const struct rte_ether_addr *own,
	  struct pkt_meta *m)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	uint32_t off = sizeof(*eth);
	uint16_t type;

	if (unlikely(len < sizeof(*eth)))
		return DP_DROP_ETH_TRUNCATED;
	m->group = rte_is_multicast_ether_addr(&eth->dst_addr);
	/* The port may be promiscuous (af_packet): keep only what is ours. */
	if (!m->group && unlikely(!rte_is_same_ether_addr(&eth->dst_addr, own)))
		return DP_DROP_NOT_FOR_US;
	type = rte_be_to_cpu_16(eth->ether_type);
	m->n_vlans = 0;
	while (unlikely(eth_is_vlan_type(type))) {
		const struct rte_vlan_hdr *vh = (const struct rte_vlan_hdr *)(frame + off);

		if (m->n_vlans == ETH_MAX_VLANS)
			return DP_DROP_VLAN_TOO_DEEP;
		if (len < off + sizeof(*vh))
			return DP_DROP_VLAN_TRUNCATED;
		m->vlan_tci[m->n_vlans++] = rte_be_to_cpu_16(vh->vlan_tci);
		type = rte_be_to_cpu_16(vh->eth_proto);
		off += sizeof(*vh);
	}
	m->l3_off = (uint16_t)off;
	m->ethertype = type;
	return DP_DROP_NONE;
}

#endif
