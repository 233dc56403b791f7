/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_IP4_INPUT_H
#define CUCO_DATAPLANE_IP4_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "dataplane/reasons.h"

/*
 * IPv4 input checks, RFC 1812 §5.2.2: length, version, header length, total
 * length against what arrived, header checksum; then source and destination
 * that must never be routed (RFC 1812 §5.3.7). Pure function of the bytes.
 */

static inline int
ip4_is_martian_src(uint32_t src, uint32_t dst)
{
	uint8_t a = (uint8_t)(src >> 24);

	/* 0/8 is allowed only towards the limited broadcast (DHCP). */
	if (a == 0)
		return dst != 0xffffffffu;
	return a == 127 || a >= 224;
}

static inline int
ip4_is_martian_dst(uint32_t dst)
{
	uint8_t a = (uint8_t)(dst >> 24);

	return a == 0 || a == 127;
}

/*
 * Check the IPv4 header at @l3 with @avail bytes after it in the frame.
 * Returns DP_DROP_NONE and the datagram's total length in @ret_len, or the
 * reason to drop.
 */
static inline enum dp_drop_reason
ip4_input_cksum(const uint8_t *l3, uint32_t avail, uint16_t *ret_len, bool cksum_checked);

static inline enum dp_drop_reason
ip4_input(const uint8_t *l3, uint32_t avail, uint16_t *ret_len)
{
	return ip4_input_cksum(l3, avail, ret_len, false);
}

/* As ip4_input(), trusting the header checksum when the NIC already checked it. */
static inline enum dp_drop_reason
ip4_input_cksum(const uint8_t *l3, uint32_t avail, uint16_t *ret_len, bool cksum_checked)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;
	uint32_t ihl, tot, src, dst;

	if (unlikely(avail < sizeof(*ip)))
		return DP_DROP_IP4_TRUNCATED;
	if (unlikely((ip->version_ihl >> 4) != 4))
		return DP_DROP_IP4_BAD_VERSION;
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (unlikely(ihl < sizeof(*ip) || ihl > avail))
		return DP_DROP_IP4_BAD_IHL;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tot < ihl || tot > avail))
		return DP_DROP_IP4_BAD_LENGTH;
	if (!cksum_checked && unlikely(rte_raw_cksum(ip, ihl) != 0xffff))
		return DP_DROP_IP4_BAD_CHECKSUM;
	src = rte_be_to_cpu_32(ip->src_addr);
	dst = rte_be_to_cpu_32(ip->dst_addr);
	if (unlikely(ip4_is_martian_src(src, dst) || ip4_is_martian_dst(dst)))
		return DP_DROP_IP4_MARTIAN;
	*ret_len = (uint16_t)tot;
	return DP_DROP_NONE;
}

#endif
