/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_IP6_FORWARD_H
#define CUCO_DATAPLANE_IP6_FORWARD_H

#include <rte_ip.h>

#include "dataplane/dp.h"
#include "dataplane/nodes/ecmp.h"
#include "dataplane/nodes/ip6_input.h"
#include "dataplane/nodes/nh_verdict.h"
#include "dataplane/nodes/verdict.h"

/*
 * IPv6 forwarding decision for a checked header, as ip4_forward(): multicast
 * and link-local destinations (ND among them) go to the kernel; the hop limit
 * is decremented (RFC 8200 §3), and one that would reach 0 goes to the kernel
 * for ICMPv6 time exceeded (RFC 4443 §3.3). @info is what ip6_input() found
 * (for the ECMP hash of routes to a next-hop group). @ret_nh and @ret_vlan
 * as ip4_forward().
 */
static inline verdict_t
ip6_forward(const struct dp *dp, struct rte_ipv6_hdr *ip, const struct ip6_info *info,
	    uint64_t *ret_nh, uint32_t *ret_vlan)
{
	uint32_t nh_id;
	verdict_t v;
	uint64_t w;

	if (unlikely(ip->dst_addr[0] == 0xff))
		return verdict_punt(DP_PUNT_MULTICAST);
	if (unlikely(ip->dst_addr[0] == 0xfe && (ip->dst_addr[1] & 0xc0) == 0x80))
		return verdict_punt(DP_PUNT_LOCAL);
	nh_id = rt_lookup6(dp->rtt, ip->dst_addr);
	if (unlikely(nh_id == 0))
		return verdict_drop(DP_DROP_NO_ROUTE);
	w = nh_read(dp->nht, nh_id);
	if (nh_word_kind(w) == NH_KIND_GROUP) {
		nh_id = nh_group_member(dp->nht, w, ecmp_hash6(ip, info));
		w = nh_read(dp->nht, nh_id);
	}
	*ret_vlan = nh_read_vlan(dp->nht, nh_id); /* same cache line as the word */
	v = nh_verdict(w, ip->hop_limits, ret_nh);
	if (verdict_kind(v) == VERDICT_FWD)
		ip->hop_limits--;
	return v;
}

#endif
