/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUB_AVAIL_H
#define CUCO_DATAPLANE_SUB_AVAIL_H

#include <rte_ether.h>
#include <rte_ip.h>

#include "dataplane/tables/subscriber.h"

/*
 * Service availability: active passes; suspended drops everything;
 * walled-garden passes DNS (UDP or TCP port 53) and traffic to or from the
 * allow-list (the operator's portal), and drops the rest.
 */

/* What the availability stage needs of a packet's L3/L4. */
struct sub_l4 {
	const uint8_t *l3;
	uint16_t ethertype;
	uint8_t proto;      /* L4 protocol, or 0 when unknown (later fragment) */
	const uint8_t *l4;  /* NULL when ports are not in the packet */
};

static inline bool
sub_walled_allows(const struct sub_set *s, const struct sub_l4 *p, enum sub_dir dir)
{
	struct inet_addr peer;
	uint32_t i;

	if ((p->proto == IPPROTO_UDP || p->proto == IPPROTO_TCP) && p->l4 != NULL) {
		/* up: to a DNS server; down: from one */
		const uint8_t *port = p->l4 + (dir == SUB_UP ? 2 : 0);

		if (port[0] == 0 && port[1] == 53)
			return true;
	}
	memset(&peer, 0, sizeof(peer));
	if (p->ethertype == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p->l3;

		peer.family = AF_INET;
		peer.v4.s_addr = dir == SUB_UP ? ip->dst_addr : ip->src_addr;
	} else {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)p->l3;

		peer.family = AF_INET6;
		memcpy(&peer.v6, dir == SUB_UP ? ip->dst_addr : ip->src_addr, 16);
	}
	for (i = 0; i < s->n_walled; i++)
		if (inet_prefix_contains(&s->walled[i], &peer))
			return true;
	return false;
}

/* SUB_DROP_MAX to pass, or the reason to drop. */
static inline enum sub_drop_reason
sub_avail(const struct sub_set *s, uint8_t avail, const struct sub_l4 *p, enum sub_dir dir)
{
	if (likely(avail == SUB_ACTIVE))
		return SUB_DROP_MAX;
	if (avail == SUB_SUSPENDED)
		return SUB_DROP_SUSPENDED;
	return sub_walled_allows(s, p, dir) ? SUB_DROP_MAX : SUB_DROP_WALLED_GARDEN;
}

#endif
