/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_VLAN_PUNT_H
#define CUCO_DATAPLANE_VLAN_PUNT_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dataplane/nodes/eth_input.h"

/*
 * A tagged frame punted to the kernel keeps its tags: the kernel hands it
 * from the tap to the VLAN sub-interface of those tags (tap-cust0.100), so
 * ARP, ND and what it forwards are handled per VLAN. Linux finds a
 * sub-interface by tag protocol and id, and the slow path's sub-interfaces
 * are 802.1Q for one tag, 802.1ad outside 802.1Q for a pair (the form the
 * fast path sends, eth_output.h). Frames do not always come so: af_packet
 * gives back the tag the kernel stripped as 0x8100 whatever it was, and
 * customers' equipment may use 0x9100 or 0x8100 outer tags. So the tag
 * protocols are rewritten to that form before the punt; the ids stay.
 */
static inline void
vlan_punt_normalise(uint8_t *frame, const struct pkt_meta *meta)
{
	uint16_t outer, inner;

	if (likely(meta->n_vlans == 0))
		return;
	outer = rte_cpu_to_be_16(meta->n_vlans == 2 ? RTE_ETHER_TYPE_QINQ : RTE_ETHER_TYPE_VLAN);
	memcpy(frame + 2 * RTE_ETHER_ADDR_LEN, &outer, sizeof(outer));
	if (meta->n_vlans == 2) {
		inner = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		memcpy(frame + 2 * RTE_ETHER_ADDR_LEN + sizeof(struct rte_vlan_hdr), &inner,
		       sizeof(inner));
	}
}

#endif
