/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_IP4_FORWARD_H
#define CUCO_DATAPLANE_IP4_FORWARD_H

#include <rte_ip.h>

#include "dataplane/dp.h"
#include "dataplane/nodes/ecmp.h"
#include "dataplane/nodes/nh_verdict.h"
#include "dataplane/nodes/verdict.h"

/*
 * IPv4 forwarding decision for a checked header: local, multicast and
 * broadcast go to the kernel; the route lookup names a next hop; a next hop
 * whose MAC is not known yet goes to the kernel, which resolves it and sends
 * the packet itself; TTL is decremented (RFC 1812 §5.3.1) with the checksum
 * updated incrementally (RFC 1624), and a TTL that would reach 0 goes to the
 * kernel, which answers ICMP time exceeded.
 * A route to a next-hop group (ECMP) takes the member its flow hashes to
 * (ecmp.h); that member then decides as a plain next hop would.
 * On forward, @ret_nh holds the next hop word for the rewrite; on a punt
 * for an unresolved next hop, the word naming the output port. @ret_vlan
 * then holds the next hop's VLAN word (nexthop.h: the tags it is sent
 * with, and the access line it belongs to).
 */
static inline verdict_t
ip4_forward(const struct dp *dp, struct rte_ipv4_hdr *ip, uint64_t *ret_nh, uint32_t *ret_vlan)
{
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint32_t nh_id, check;
	verdict_t v;
	uint64_t w;

	if (unlikely((dst >> 28) == 0xe || dst == 0xffffffffu))
		return verdict_punt(DP_PUNT_MULTICAST);
	nh_id = rt_lookup4(dp->rtt, dst);
	if (unlikely(nh_id == 0))
		return verdict_drop(DP_DROP_NO_ROUTE);
	w = nh_read(dp->nht, nh_id);
	if (nh_word_kind(w) == NH_KIND_GROUP) {
		nh_id = nh_group_member(dp->nht, w, ecmp_hash4(ip));
		w = nh_read(dp->nht, nh_id);
	}
	*ret_vlan = nh_read_vlan(dp->nht, nh_id); /* same cache line as the word */
	v = nh_verdict(w, ip->time_to_live, ret_nh);
	if (verdict_kind(v) != VERDICT_FWD)
		return v;
	/* TTL is the high byte of its 16-bit word: the sum moves by 0x0100. */
	check = ip->hdr_checksum;
	check += rte_cpu_to_be_16(0x0100);
	ip->hdr_checksum = (uint16_t)(check + (check >= 0xffff));
	ip->time_to_live--;
	return v;
}

#endif
