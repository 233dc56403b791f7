/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_IP6_INPUT_H
#define CUCO_DATAPLANE_IP6_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/reasons.h"

/*
 * IPv6 input checks: length, version, payload length against what arrived,
 * and the extension header chain (RFC 8200 §4), walked to its end so that a
 * chain that lies about its lengths, or is longer than IP6_MAX_EXT headers,
 * is dropped here. Pure function of the bytes.
 */

#define IP6_MAX_EXT 8

struct ip6_info {
	uint16_t len;    /* header + payload */
	uint16_t l4_off; /* from the IPv6 header, when l4_proto is known */
	uint8_t l4_proto; /* first header after the chain */
	bool frag;        /* a fragment header is in the chain */
};

static inline int
ip6_is_ext(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case 135: /* mobility, RFC 6275 */
	case 139: /* HIP, RFC 7401 */
	case 140: /* shim6, RFC 5533 */
		return 1;
	default:
		return 0;
	}
}

static inline enum dp_drop_reason
ip6_walk_ext(const uint8_t *l3, uint32_t end, struct ip6_info *info)
{
	uint32_t off = sizeof(struct rte_ipv6_hdr);
	uint8_t nh = ((const struct rte_ipv6_hdr *)l3)->proto;
	unsigned count = 0;

	while (ip6_is_ext(nh)) {
		const uint8_t *h = l3 + off;
		uint32_t hlen;

		if (unlikely(++count > IP6_MAX_EXT))
			return DP_DROP_IP6_EXT_TOO_MANY;
		if (unlikely(off + 8 > end))
			return DP_DROP_IP6_EXT_TRUNCATED;
		if (nh == IPPROTO_FRAGMENT) {
			info->frag = true;
			/* Later fragments carry no further header: stop there. */
			if ((rte_be_to_cpu_16(*(const uint16_t *)(h + 2)) & 0xfff8) != 0) {
				info->l4_proto = IPPROTO_FRAGMENT;
				info->l4_off = (uint16_t)off;
				return DP_DROP_NONE;
			}
			hlen = 8;
		} else if (nh == IPPROTO_AH) {
			hlen = ((uint32_t)h[1] + 2) * 4; /* RFC 4302 §2.2 */
		} else {
			hlen = ((uint32_t)h[1] + 1) * 8;
		}
		if (unlikely(off + hlen > end))
			return DP_DROP_IP6_EXT_TRUNCATED;
		nh = h[0];
		off += hlen;
	}
	info->l4_proto = nh;
	info->l4_off = (uint16_t)off;
	return DP_DROP_NONE;
}

static inline int
ip6_is_martian(const struct rte_ipv6_hdr *ip)
{
	static const uint8_t zero[16], loop[16] = {[15] = 1};

	return ip->src_addr[0] == 0xff || memcmp(ip->src_addr, loop, 16) == 0 ||
	       memcmp(ip->dst_addr, loop, 16) == 0 || memcmp(ip->dst_addr, zero, 16) == 0;
}

/*
 * Check the IPv6 header at @l3 with @avail bytes after it in the frame.
 * Returns DP_DROP_NONE with @info filled, or the reason to drop.
 */
static inline enum dp_drop_reason
ip6_input(const uint8_t *l3, uint32_t avail, struct ip6_info *info)
{
	const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)l3;
	uint32_t len;

	if (unlikely(avail < sizeof(*ip)))
		return DP_DROP_IP6_TRUNCATED;
	if (unlikely((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6))
		return DP_DROP_IP6_BAD_VERSION;
	len = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);
	if (unlikely(len > avail))
		return DP_DROP_IP6_BAD_LENGTH;
	if (unlikely(ip6_is_martian(ip)))
		return DP_DROP_IP6_MARTIAN;
	info->len = (uint16_t)len;
	info->frag = false;
	if (likely(!ip6_is_ext(ip->proto))) {
		info->l4_proto = ip->proto;
		info->l4_off = sizeof(*ip);
		return DP_DROP_NONE;
	}
	return ip6_walk_ext(l3, len, info);
}

#endif
