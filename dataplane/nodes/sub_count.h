/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUB_COUNT_H
#define CUCO_DATAPLANE_SUB_COUNT_H

#include "dataplane/tables/subscriber.h"

/*
 * Usage counters of a subscriber and direction, on this worker: packets and
 * bytes (IP length) per colour, forwarded (sub_hot_of()), and dropped per
 * reason (sub_drops_of()). Single writer; readers sum over workers
 * (sub_counters_read()).
 */

static inline void
sub_count_colour(struct sub_count_hot *c, enum sub_colour colour, uint32_t len)
{
	c->colour_packets[colour]++;
	c->colour_bytes[colour] += len;
}

static inline void
sub_count_fwd(struct sub_count_hot *c, uint32_t len)
{
	c->fwd_packets++;
	c->fwd_bytes += len;
}

static inline void
sub_count_drop(struct sub_count_drops *c, enum sub_drop_reason r, uint32_t len)
{
	c->packets[r]++;
	c->bytes[r] += len;
}

#endif
