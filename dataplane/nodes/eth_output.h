/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_ETH_OUTPUT_H
#define CUCO_DATAPLANE_ETH_OUTPUT_H

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp.h"
#include "dataplane/nodes/eth_input.h"

/*
 * Ethernet output of a routed packet: the frame is cut to the L3 datagram
 * (dropping Ethernet padding), the VLAN tags it came with are removed, and a
 * fresh header names the next hop's MAC and the output port's MAC.
 */
static inline void
eth_output(struct rte_mbuf *m, const struct pkt_meta *meta, uint16_t l3_len, uint64_t nh,
	   const struct dp_port *out)
{
	struct rte_ether_hdr *eth;
	uint16_t strip = (uint16_t)(meta->l3_off - sizeof(*eth));

	if (unlikely(rte_pktmbuf_pkt_len(m) > (uint32_t)meta->l3_off + l3_len))
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - meta->l3_off - l3_len));
	if (unlikely(strip != 0))
		rte_pktmbuf_adj(m, strip);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	nh_word_mac(nh, &eth->dst_addr);
	rte_ether_addr_copy(&out->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(meta->ethertype);
}

#endif
