/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/shaper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_lcore.h>

#define SHAPER_TC_PERIOD_MS 10

static uint32_t
pipes_for(uint32_t n_slots)
{
	return rte_align32pow2(n_slots < 2 ? 2 : n_slots);
}

static void
fill_params(uint64_t rate_bps, uint16_t qsize, uint32_t n_slots,
	    struct rte_sched_subport_profile_params *sp, struct rte_sched_port_params *pp,
	    struct rte_sched_pipe_params *pipe, struct rte_sched_subport_params *s)
{
	unsigned i;

	memset(sp, 0, sizeof(*sp));
	sp->tb_rate = rate_bps / 8;
	sp->tb_size = 1000000;
	sp->tc_period = SHAPER_TC_PERIOD_MS;
	for (i = 0; i < RTE_SCHED_TRAFFIC_CLASSES_PER_PIPE; i++)
		sp->tc_rate[i] = sp->tb_rate;
	memset(pp, 0, sizeof(*pp));
	pp->socket = (int)rte_socket_id();
	pp->rate = rate_bps / 8;
	pp->mtu = 1500;
	pp->frame_overhead = RTE_SCHED_FRAME_OVERHEAD_DEFAULT;
	pp->n_subports_per_port = 1;
	pp->subport_profiles = sp;
	pp->n_subport_profiles = 1;
	pp->n_max_subport_profiles = 1;
	pp->n_pipes_per_subport = pipes_for(n_slots);
	/* The subport needs one pipe profile to start with: the port's rate. */
	memset(pipe, 0, sizeof(*pipe));
	pipe->tb_rate = sp->tb_rate;
	pipe->tb_size = 1000000;
	pipe->tc_rate[SHAPER_TC] = sp->tb_rate;
	pipe->tc_period = SHAPER_TC_PERIOD_MS;
	pipe->tc_ov_weight = 1;
	for (i = 0; i < RTE_SCHED_BE_QUEUES_PER_PIPE; i++)
		pipe->wrr_weights[i] = 1;
	memset(s, 0, sizeof(*s));
	s->n_pipes_per_subport_enabled = pp->n_pipes_per_subport;
	s->qsize[SHAPER_TC] = qsize; /* the strict classes stay disabled (qsize 0) */
	s->pipe_profiles = pipe;
	s->n_pipe_profiles = 1;
	s->n_max_pipe_profiles = SHAPER_MAX_PIPE_PROFILES;
}

uint64_t
dp_shaper_footprint(uint64_t rate_bps, uint16_t qsize, uint32_t n_slots)
{
	struct rte_sched_subport_profile_params sp;
	struct rte_sched_port_params pp;
	struct rte_sched_pipe_params pipe;
	struct rte_sched_subport_params s, *sv[1] = {&s};

	fill_params(rate_bps, qsize, n_slots, &sp, &pp, &pipe, &s);
	return rte_sched_port_get_memory_footprint(&pp, sv);
}

int
dp_shaper_init(struct dp_shaper *sh, const char *name, uint64_t rate_bps, uint16_t qsize,
	       uint32_t n_slots)
{
	struct rte_sched_subport_profile_params sp;
	struct rte_sched_port_params pp;
	struct rte_sched_pipe_params pipe;
	struct rte_sched_subport_params s;

	memset(sh, 0, sizeof(*sh));
	fill_params(rate_bps, qsize, n_slots, &sp, &pp, &pipe, &s);
	pp.name = name;
	sh->n_pipes = pp.n_pipes_per_subport;
	sh->qsize = qsize;
	sh->n_pipe_profiles = 1;
	sh->pipe_version = calloc(sh->n_pipes, sizeof(*sh->pipe_version));
	sh->inflight = calloc(sh->n_pipes, sizeof(*sh->inflight));
	sh->sched = rte_sched_port_config(&pp);
	if (sh->pipe_version == NULL || sh->inflight == NULL || sh->sched == NULL ||
	    rte_sched_subport_config(sh->sched, 0, &s, 0) != 0) {
		dp_shaper_fini(sh);
		return -ENOMEM;
	}
	return 0;
}

void
dp_shaper_fini(struct dp_shaper *sh)
{
	if (sh->sched != NULL)
		rte_sched_port_free(sh->sched);
	free(sh->pipe_version);
	free(sh->inflight);
	memset(sh, 0, sizeof(*sh));
}

int
dp_shaper_pipe(struct dp_shaper *sh, uint32_t slot, const struct sub_meter_profile *mp,
	       uint16_t pidx)
{
	if (sh->prof_version[pidx] != mp->version) {
		struct rte_sched_pipe_params p = {
			.tb_rate = mp->shape_rate,
			.tb_size = mp->shape_size,
			.tc_period = SHAPER_TC_PERIOD_MS,
			.tc_ov_weight = 1,
			.wrr_weights = {1, 1, 1, 1},
		};
		uint32_t id;

		p.tc_rate[SHAPER_TC] = mp->shape_rate;
		/* rte_sched cannot drop a pipe profile: each new version takes one. */
		if (sh->n_pipe_profiles >= SHAPER_MAX_PIPE_PROFILES ||
		    rte_sched_subport_pipe_profile_add(sh->sched, 0, &p, &id) != 0)
			return -ENOSPC;
		sh->n_pipe_profiles++;
		sh->prof_id[pidx] = id;
		sh->prof_version[pidx] = mp->version;
	}
	if (rte_sched_pipe_config(sh->sched, 0, slot, (int32_t)sh->prof_id[pidx]) != 0)
		return -ENOSPC;
	sh->pipe_version[slot] = mp->version;
	return 0;
}
