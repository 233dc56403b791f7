/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_ETH_OUTPUT_H
#define CUCO_DATAPLANE_ETH_OUTPUT_H

#include <stdbool.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/nodes/eth_input.h"
#include "dataplane/tables/nexthop.h"

/*
 * Ethernet output of a routed packet: the frame is cut to the L3 datagram
 * (dropping Ethernet padding), the VLAN tags it came with are removed, and a
 * fresh header names the next hop's MAC and the output port's MAC, with the
 * next hop's VLAN tags when it sits on a VLAN of the port: one 802.1Q tag,
 * or 802.1ad outside and 802.1Q inside for a QinQ pair (IEEE 802.1Q-2018
 * §9.5, §6.9). Priority bits are 0.
 */

/* Bytes of the Ethernet header a packet leaves with for VLAN word @vlan. */
static inline uint16_t
eth_output_hlen(uint32_t vlan)
{
	return (uint16_t)(sizeof(struct rte_ether_hdr) +
			  nh_vlan_tags(vlan) * sizeof(struct rte_vlan_hdr));
}

/*
 * Whether the header for @vlan fits in front of the L3 datagram of @m: more
 * tags than the frame came with take headroom. Checked before enforcement,
 * so that what is counted as forwarded is sent.
 */
static inline bool
eth_output_fits(const struct rte_mbuf *m, const struct pkt_meta *meta, uint32_t vlan)
{
	uint16_t hlen = eth_output_hlen(vlan);

	return likely(hlen <= meta->l3_off) ||
	       hlen - meta->l3_off <= rte_pktmbuf_headroom(m);
}

/*
 * Rewrite @m for next hop word @nh with VLAN word @vlan out of port @out.
 * The caller checked eth_output_fits().
 */
static inline void
eth_output(struct rte_mbuf *m, const struct pkt_meta *meta, uint16_t l3_len, uint64_t nh,
	   uint32_t vlan, const struct dp_port *out)
{
	uint16_t hlen = eth_output_hlen(vlan);
	struct rte_ether_hdr *eth;
	struct rte_vlan_hdr *vh;

	if (unlikely(rte_pktmbuf_pkt_len(m) > (uint32_t)meta->l3_off + l3_len))
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - meta->l3_off - l3_len));
	if (unlikely(meta->l3_off != hlen)) {
		if (meta->l3_off > hlen)
			rte_pktmbuf_adj(m, (uint16_t)(meta->l3_off - hlen));
		else
			rte_pktmbuf_prepend(m, (uint16_t)(hlen - meta->l3_off));
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	nh_word_mac(nh, &eth->dst_addr);
	rte_ether_addr_copy(&out->mac, &eth->src_addr);
	if (likely(vlan == 0)) {
		eth->ether_type = rte_cpu_to_be_16(meta->ethertype);
		return;
	}
	vh = (struct rte_vlan_hdr *)(eth + 1);
	if (nh_vlan_inner(vlan) == 0) {
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		vh[0].vlan_tci = rte_cpu_to_be_16(nh_vlan_outer(vlan));
		vh[0].eth_proto = rte_cpu_to_be_16(meta->ethertype);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ);
	vh[0].vlan_tci = rte_cpu_to_be_16(nh_vlan_outer(vlan));
	vh[0].eth_proto = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
	vh[1].vlan_tci = rte_cpu_to_be_16(nh_vlan_inner(vlan));
	vh[1].eth_proto = rte_cpu_to_be_16(meta->ethertype);
}

#endif
