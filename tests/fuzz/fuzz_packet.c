/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the fast path's input stages (Ethernet, VLAN, IPv4,
 * IPv6 with extension headers) on arbitrary frames. Whatever they accept
 * must be consistent with the bytes that arrived.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/nodes/eth_input.h"
#include "dataplane/nodes/ip4_input.h"
#include "dataplane/nodes/ip6_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rte_ether_addr own = {{0x02, 0, 0, 0, 0, 1}};
	struct pkt_meta m;
	uint8_t *frame;

	if (size > 9000)
		return 0;
	/* A copy of exactly @size bytes, so ASan sees any read past the frame. */
	frame = malloc(size ? size : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	if (eth_input(frame, (uint32_t)size, &own, &m) == DP_DROP_NONE) {
		uint32_t avail;

		if (m.l3_off > size)
			abort();
		avail = (uint32_t)size - m.l3_off;
		if (m.ethertype == RTE_ETHER_TYPE_IPV4) {
			uint16_t len;

			if (ip4_input(frame + m.l3_off, avail, &len) == DP_DROP_NONE && len > avail)
				abort();
		} else if (m.ethertype == RTE_ETHER_TYPE_IPV6) {
			struct ip6_info info;

			if (ip6_input(frame + m.l3_off, avail, &info) == DP_DROP_NONE &&
			    (info.len > avail ||
			     (info.l4_proto != IPPROTO_FRAGMENT && info.l4_off > info.len)))
				abort();
		}
	}
	free(frame);
	return 0;
}
