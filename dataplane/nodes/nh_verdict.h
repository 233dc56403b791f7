/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_NH_VERDICT_H
#define CUCO_DATAPLANE_NH_VERDICT_H

#include "dataplane/nodes/verdict.h"
#include "dataplane/reasons.h"
#include "dataplane/tables/nexthop.h"

/*
 * What the next hop word @w a route lookup gave means for a packet with
 * @ttl (TTL or hop limit) left, the same for IPv4 and IPv6: for the
 * appliance, punt; on a port's subnet with the neighbour unknown, or a
 * gateway not resolved yet, punt for the kernel to resolve and forward; a
 * TTL that would reach 0, punt for ICMP time exceeded; else forward. The
 * caller decrements the TTL of what is forwarded. @ret_nh gets @w whenever
 * it names a port (the rewrite needs it; enforcement before a punt too).
 */
static inline verdict_t
nh_verdict(uint64_t w, uint8_t ttl, uint64_t *ret_nh)
{
	switch (nh_word_kind(w)) {
	case NH_KIND_GATEWAY:
		break;
	case NH_KIND_LOCAL:
		return verdict_punt(DP_PUNT_LOCAL);
	case NH_KIND_CONNECTED:
		*ret_nh = w;
		return verdict_punt(ttl <= 1 ? DP_PUNT_TTL_EXPIRED : DP_PUNT_UNRESOLVED);
	default:
		return verdict_drop(DP_DROP_NO_ROUTE);
	}
	*ret_nh = w;
	if (unlikely(ttl <= 1))
		return verdict_punt(DP_PUNT_TTL_EXPIRED);
	if (unlikely(!nh_word_resolved(w)))
		return verdict_punt(DP_PUNT_UNRESOLVED);
	return verdict_fwd(nh_word_port(w));
}

#endif
