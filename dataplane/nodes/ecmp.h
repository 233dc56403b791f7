/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_ECMP_H
#define CUCO_DATAPLANE_ECMP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>

#include "dataplane/nodes/ip6_input.h"

/*
 * The flow hash that spreads packets over the members of a next-hop group
 * (ECMP): source and destination address, protocol and, for protocols with
 * ports in their first 4 bytes, the ports; IPv6 adds the flow label (RFC 6438
 * §2: set by the source per flow). Fragments hash on the addresses only, as
 * Linux does: later fragments carry no ports, so the whole datagram takes
 * one path. A pure function of the header: no seed per worker or per run,
 * so a flow keeps its path on every worker and across restarts. CRC32-C
 * (SSE4.2 where the CPU has it) over 32-bit words, then a multiply-xorshift
 * finaliser (MurmurHash3's), because CRC is linear and the pick uses the
 * high bits.
 * Called only for routes whose next hop is a group.
 */

#define ECMP_SEED 0x9e3779b9u

static inline bool
ecmp_has_ports(uint8_t proto)
{
	/* TCP, UDP, DCCP, SCTP, UDP-Lite: source and destination port first. */
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 33 || proto == 132 ||
	       proto == 136;
}

static inline uint32_t
ecmp_finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Hash of a checked IPv4 header (ip4_input: IHL and total length within the frame). */
static inline uint32_t
ecmp_hash4(const struct rte_ipv4_hdr *ip)
{
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	uint32_t h, ports;

	h = rte_hash_crc_4byte(ip->src_addr, ECMP_SEED);
	h = rte_hash_crc_4byte(ip->dst_addr, h);
	h = rte_hash_crc_4byte(ip->next_proto_id, h);
	if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						    RTE_IPV4_HDR_OFFSET_MASK)) == 0 &&
	    ecmp_has_ports(ip->next_proto_id) &&
	    rte_be_to_cpu_16(ip->total_length) >= ihl + 4) {
		memcpy(&ports, (const uint8_t *)ip + ihl, 4);
		h = rte_hash_crc_4byte(ports, h);
	}
	return ecmp_finish(h);
}

/* CRC of an IPv6 address: copied first, as packets put it on any 2-byte boundary. */
static inline uint32_t
ecmp_crc_addr6(const uint8_t *a, uint32_t h)
{
	uint64_t w[2];

	memcpy(w, a, sizeof(w));
	h = rte_hash_crc_8byte(w[0], h);
	return rte_hash_crc_8byte(w[1], h);
}

/* Hash of a checked IPv6 header with @info from ip6_input(). */
static inline uint32_t
ecmp_hash6(const struct rte_ipv6_hdr *ip, const struct ip6_info *info)
{
	uint32_t h, ports;

	h = ecmp_crc_addr6(ip->src_addr, ECMP_SEED);
	h = ecmp_crc_addr6(ip->dst_addr, h);
	h = rte_hash_crc_4byte((rte_be_to_cpu_32(ip->vtc_flow) & 0xfffffu) |
				       ((uint32_t)info->l4_proto << 24),
			       h);
	if (!info->frag && ecmp_has_ports(info->l4_proto) &&
	    (uint32_t)info->l4_off + 4 <= info->len) {
		memcpy(&ports, (const uint8_t *)ip + info->l4_off, 4);
		h = rte_hash_crc_4byte(ports, h);
	}
	return ecmp_finish(h);
}

#endif
