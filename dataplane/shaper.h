/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SHAPER_H
#define CUCO_DATAPLANE_SHAPER_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_sched.h>

#include "dataplane/tables/subscriber.h"

/*
 * Downstream shaping of an access port by one worker: an rte_sched port with
 * one subport, a pipe per subscriber slot and one bounded best-effort queue
 * per pipe. A profile whose downstream says "shape" sends the subscriber's
 * packets through its pipe, which releases them at the profile's rate
 * (token bucket of its CIR and CBS) instead of dropping the excess at once;
 * a full queue drops, counted as the subscriber's "shaper" drop.
 *
 * rte_sched is single-threaded: each worker owns its shapers, and pipes and
 * pipe profiles are configured lazily by that worker on the first packet
 * after a subscriber's profile changed (a new profile version).
 */

#define SHAPER_MAX_PIPE_PROFILES 4096
#define SHAPER_TC RTE_SCHED_TRAFFIC_CLASS_BE

struct dp_shaper {
	struct rte_sched_port *sched;
	uint32_t n_pipes;        /* slots below this are shaped */
	uint16_t qsize;          /* packets a pipe's queue holds */
	uint32_t n_pipe_profiles;
	uint32_t *pipe_version;  /* [slot]: profile version its pipe has, 0 none */
	uint16_t *inflight;      /* [slot]: packets queued in its pipe */
	uint32_t prof_version[SUB_MAX_PROFILES]; /* version each pipe profile was made for */
	uint32_t prof_id[SUB_MAX_PROFILES];
};

/*
 * Make the shaper of one port for one worker: @rate_bps the port's rate,
 * @qsize a power of two, pipes for slots [0, @n_slots). Control thread,
 * before workers start. Returns 0 or a negative errno.
 */
int dp_shaper_init(struct dp_shaper *sh, const char *name, uint64_t rate_bps, uint16_t qsize,
		   uint32_t n_slots);
void dp_shaper_fini(struct dp_shaper *sh);

/* Memory one shaper needs, for the log. */
uint64_t dp_shaper_footprint(uint64_t rate_bps, uint16_t qsize, uint32_t n_slots);

/*
 * Worker side: configure @slot's pipe for profile @prof (index @pidx) if it
 * is not yet. Returns 0, or -ENOSPC when no pipe profile is left (the packet
 * is then policed instead).
 */
int dp_shaper_pipe(struct dp_shaper *sh, uint32_t slot, const struct sub_meter_profile *mp,
		   uint16_t pidx);

#endif
