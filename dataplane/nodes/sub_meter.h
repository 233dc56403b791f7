/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUB_METER_H
#define CUCO_DATAPLANE_SUB_METER_H

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_meter.h>

#include "dataplane/tables/subscriber.h"

/*
 * Policing: a colour-blind two-rate three-colour meter per subscriber and
 * direction (RFC 2698, or RFC 4115 with its excess rate), over the IP
 * packet's length as rte_meter expects; then the profile's action for the
 * colour: forward, remark DSCP (RFC 2474) and forward, or drop.
 * The meter state outlives table swaps; it is (re)configured on the first
 * packet after its profile or mode changed, so a new profile applies on the
 * next packet. With more than one worker, a subscriber's meter is shared
 * under a spinlock so that its rate is exact whichever worker sees it.
 */

static __rte_noinline void
sub_meter_setup(struct sub_meter_state *st, const struct sub_meter_profile *mp, uint16_t prof)
{
	if (mp->mode == SUB_METER_RFC2698)
		rte_meter_trtcm_config(&st->rfc2698, (struct rte_meter_trtcm_profile *)&mp->rfc2698);
	else if (mp->mode == SUB_METER_RFC4115)
		rte_meter_trtcm_rfc4115_config(&st->rfc4115,
			(struct rte_meter_trtcm_rfc4115_profile *)&mp->rfc4115);
	st->profile = prof;
	st->mode = mp->mode;
	st->configured = 1;
}

static inline enum sub_colour
sub_meter_colour(struct sub_meter_state *st, const struct sub_meter_profile *mp, uint16_t prof,
		 uint32_t len, uint64_t now, bool shared)
{
	enum rte_color c;

	if (mp->mode == SUB_METER_NONE)
		return SUB_GREEN;
	if (shared)
		rte_spinlock_lock(&st->lock);
	if (unlikely(!st->configured || st->profile != prof || st->mode != mp->mode))
		sub_meter_setup(st, mp, prof);
	/* rte_meter takes non-const profiles but only reads them. */
	if (mp->mode == SUB_METER_RFC2698)
		c = rte_meter_trtcm_color_blind_check(&st->rfc2698,
			(struct rte_meter_trtcm_profile *)&mp->rfc2698, now, len);
	else
		c = rte_meter_trtcm_rfc4115_color_blind_check(&st->rfc4115,
			(struct rte_meter_trtcm_rfc4115_profile *)&mp->rfc4115, now, len);
	if (shared)
		rte_spinlock_unlock(&st->lock);
	return (enum sub_colour)c;
}

/* Set the DSCP of an IPv4 or IPv6 packet, keeping the ECN bits. */
static inline void
sub_remark(uint8_t *l3, uint16_t ethertype, uint8_t dscp)
{
	if (ethertype == RTE_ETHER_TYPE_IPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
		uint16_t old = *(uint16_t *)ip, new;
		uint32_t sum;

		ip->type_of_service = (uint8_t)((dscp << 2) | (ip->type_of_service & 3));
		new = *(uint16_t *)ip;
		/* RFC 1624 eq. 3: HC' = ~(~HC + ~m + m') */
		sum = (uint16_t)~ip->hdr_checksum + (uint16_t)~old + new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->hdr_checksum = (uint16_t)~sum;
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
		uint32_t v = rte_be_to_cpu_32(ip->vtc_flow);

		v = (v & ~(0x3fu << 22)) | ((uint32_t)dscp << 22);
		ip->vtc_flow = rte_cpu_to_be_32(v);
	}
}

#endif
