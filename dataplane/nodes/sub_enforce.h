/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUB_ENFORCE_H
#define CUCO_DATAPLANE_SUB_ENFORCE_H

#include "dataplane/dp.h"
#include "dataplane/nodes/sub_avail.h"
#include "dataplane/nodes/sub_classify.h"
#include "dataplane/nodes/sub_count.h"
#include "dataplane/nodes/sub_meter.h"

/* A burst-wide lookup found no host address: classify by the other keys. */
#define SUB_PRE_NO_HOST (-2)
/* No burst-wide lookup: classify from scratch. */
#define SUB_PRE_NONE (-1)

/* The packet goes to the subscriber's shaper (see dataplane/shaper.h). */
#define SUB_SHAPE ((enum sub_drop_reason)(SUB_DROP_MAX + 1))

/*
 * Per-subscriber enforcement of one direction of a routed packet:
 * classify -> availability -> meter and colour action -> count.
 * Returns SUB_DROP_MAX to forward, the reason to drop, or, when @can_shape
 * and the profile shapes this direction, SUB_SHAPE with the slot in
 * @ret_slot: the caller queues and counts it. Downstream, @nh_vlan is the
 * next hop's VLAN word (classification by access line) and @dst_mac its
 * MAC (classification by MAC), or NULL. @preslot is the slot a burst-wide
 * lookup of the host address already found in @s, SUB_PRE_NO_HOST if it
 * found none there, or SUB_PRE_NONE.
 */
static inline enum sub_drop_reason
sub_enforce_dir(const struct sub_tables *t, const struct sub_set *s, unsigned worker,
		uint8_t *frame, const struct pkt_meta *meta, const struct sub_l4 *l4,
		uint32_t len, enum sub_dir dir, uint8_t access_port, bool unknown_drop,
		uint64_t now, bool can_shape, uint32_t *ret_slot, uint32_t nh_vlan,
		const uint8_t *dst_mac, int32_t preslot)
{
	uint32_t slot = SUB_SLOT_UNKNOWN;
	struct sub_count_hot *c;
	enum sub_drop_reason r;
	enum sub_colour colour;
	const struct sub_slot *ss;
	const struct sub_meter_profile *mp;

	if (preslot >= 0)
		slot = (uint32_t)preslot; /* a burst-wide lookup found it in this very set */
	else if (s != NULL)
		slot = dir == SUB_UP ? sub_classify_up(s, frame, meta, access_port,
						       preslot == SUB_PRE_NO_HOST)
				     : sub_classify_down(s, frame, meta, access_port, nh_vlan,
							 dst_mac, preslot == SUB_PRE_NO_HOST);
	c = sub_hot_of(t, worker, slot, dir);
	if (slot == SUB_SLOT_UNKNOWN) {
		if (unknown_drop) {
			sub_count_drop(sub_drops_of(t, worker, slot, dir), SUB_DROP_UNKNOWN, len);
			return SUB_DROP_UNKNOWN;
		}
		sub_count_fwd(c, len);
		return SUB_DROP_MAX;
	}
	ss = sub_slot_of(t, s, slot, dir);
	r = sub_avail(s, ss->avail, l4, dir);
	if (unlikely(r != SUB_DROP_MAX)) {
		sub_count_drop(sub_drops_of(t, worker, slot, dir), r, len);
		return r;
	}
	mp = &s->profiles[ss->profile].dir[dir];
	if (mp->shape && can_shape) {
		*ret_slot = slot;
		return SUB_SHAPE;
	}
	colour = sub_meter_colour(sub_meter_of(t, slot, dir), mp, ss->profile, len, now,
				  t->n_workers > 1);
	sub_count_colour(c, colour, len);
	switch (mp->action[colour]) {
	case SUB_ACT_DROP:
		sub_count_drop(sub_drops_of(t, worker, slot, dir), SUB_DROP_METER, len);
		return SUB_DROP_METER;
	case SUB_ACT_REMARK:
		sub_remark(frame + meta->l3_off, meta->ethertype, mp->dscp[colour]);
		break;
	default:
		break;
	}
	sub_count_fwd(c, len);
	return SUB_DROP_MAX;
}

#endif
