/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_DP_H
#define CUCO_DATAPLANE_DP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/config.h"
#include "dataplane/shaper.h"
#include "dataplane/reasons.h"
#include "dataplane/tables/nexthop.h"
#include "dataplane/tables/route.h"
#include "dataplane/tables/subscriber.h"

/*
 * The dataplane's runtime state. Ports and tables are set up by the control
 * thread before workers start; after that, workers read ports (immutable)
 * and tables (RCU, see tables/), and each worker writes only its own
 * struct dp_worker.
 */

#define DP_BURST 32
#define DP_MAX_RXQ (DP_MAX_PORTS * 2 * 4)

/*
 * A VLAN sub-interface of a port's slow path (config 'vlan'). Control
 * thread only: workers know VLANs through the next hops (nexthop.h).
 */
struct dp_port_vlan {
	const struct dp_vlan_config *cfg;
	int ifindex;       /* its kernel interface on the tap; 0 until created */
	uint32_t vlan;     /* NH_VLAN(outer, inner) */
	uint32_t nh_connected; /* its connected next hop (dp_routes_load) */
};

struct dp_port {
	uint16_t port_id;  /* the DPDK port carrying traffic */
	uint16_t tap_id;   /* the DPDK net_tap port of its slow path */
	uint16_t nb_rxq;
	uint16_t tap_nb_rxq;
	struct rte_ether_addr mac;
	int tap_ifindex;
	enum dp_port_role role;
	bool unknown_drop;
	const struct dp_port_config *cfg;
	struct dp_port_vlan *vlans; /* cfg->n_vlans of them (dp_vlans_init) */
};

/* Counters of one port on one worker; summed over workers on read. */
struct dp_port_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t forwarded;
	uint64_t punted;
	uint64_t dropped;
	uint64_t from_kernel; /* packets the kernel sent through this port */
	uint64_t punt[DP_PUNT_MAX];
	uint64_t drop[DP_DROP_MAX];
} __rte_cache_aligned;

struct dp_rxq {
	uint16_t port_id;
	uint16_t queue;
	uint8_t pidx;   /* index in dp.ports */
	bool from_tap;  /* the kernel's side: send out of the port as is */
};

struct dp_txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[DP_BURST];
};

struct dp_punt_bucket {
	uint64_t tokens;
	uint64_t last_tsc;
};

struct dp;
struct dp_fpm;

struct dp_worker {
	struct dp *dp;
	unsigned index;    /* also the TX queue index on every port, and the QSBR thread id */
	unsigned lcore_id;
	unsigned n_rxq;
	struct dp_rxq rxq[DP_MAX_RXQ];
	struct dp_txbuf out[DP_MAX_PORTS];  /* to ports */
	struct dp_txbuf punt[DP_MAX_PORTS]; /* to taps */
	struct dp_punt_bucket bucket[DP_MAX_PORTS];
	struct dp_shaper shaper[DP_MAX_PORTS]; /* access ports with 'shape': sched != NULL */
	struct dp_txbuf shaped[DP_MAX_PORTS];  /* to a port's shaper */
	const struct sub_set *pre_set;         /* the set sub_preclassify() used */
	uint64_t burst_tsc;                    /* TSC at the receipt of the burst at hand */
	uint64_t punt_rate;  /* packets/s this worker may punt per port */
	uint64_t punt_burst;
	struct dp_port_stats stats[DP_MAX_PORTS];
} __rte_cache_aligned;

struct dp {
	const struct dp_config *cfg;
	struct dp_port ports[DP_MAX_PORTS];
	unsigned n_ports;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	struct nh_ctl *nh;
	const struct nh_table *nht;
	struct rt_ctl *rt;
	const struct rt_tables *rtt;
	struct dp_fpm *fpm;        /* FRR's routes (dataplane/fpm.h), or NULL */
	struct sub_ctl *subs;       /* under ctl_lock: the agent writes, telemetry reads */
	const struct sub_tables *subt;
	pthread_mutex_t ctl_lock;
	bool has_access; /* some port is an access port: enforce subscribers */
	bool has_shapers; /* some access port shapes downstream */
	struct dp_worker *workers; /* cfg->workers of them */
	unsigned n_workers;
	volatile bool quit;
	uint64_t start_tsc;
};

/* Worker lcore entry point; @arg is its struct dp_worker. */
int dp_worker_main(void *arg);

/* Sum the counters of port @pidx over all workers into @ret. */
void dp_stats_port(const struct dp *dp, unsigned pidx, struct dp_port_stats *ret);

#endif
