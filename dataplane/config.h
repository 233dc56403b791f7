/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_CONFIG_H
#define CUCO_DATAPLANE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/inet.h"

/*
 * The dataplane's configuration file: ports, their roles and addresses,
 * static routes and a few tunables. Parsing validates everything that can be
 * checked without the ports; dp_config_check_devices() does the rest once the
 * EAL knows its devices. See docs/ARCHITECTURE.md for the format.
 */

#define DP_MAX_PORTS 16
#define DP_MAX_PORT_ADDRS 16
#define DP_MAX_PORT_VLANS 256 /* VLAN sub-interfaces of a port */
#define DP_MAX_VLAN_ADDRS 8
#define DP_MAX_STATIC_ROUTES 4096
#define DP_MAX_WORKERS 64
#define DP_NAME_LEN 16    /* port and interface names, with the NUL (IFNAMSIZ) */
#define DP_DEVICE_LEN 128 /* DPDK device names */
#define DP_FPM_PORT 2620  /* FRR's dplane_fpm_nl default */

enum dp_port_role {
	DP_ROLE_NONE,
	DP_ROLE_ACCESS,
	DP_ROLE_UPLINK,
};

/*
 * A VLAN sub-interface of a port's slow path: the kernel interface @ifname
 * on the port's tap carries the VLAN's addresses, so the kernel answers and
 * resolves neighbours per VLAN. One tag (@inner 0) is 802.1Q; a pair is an
 * 802.1ad interface <tap>.<outer> with an 802.1Q interface on it.
 */
struct dp_vlan_config {
	uint16_t outer;
	uint16_t inner; /* 0: a single tag */
	char ifname[DP_NAME_LEN]; /* default <tap>.<outer>[.<inner>] */
	char outer_ifname[DP_NAME_LEN]; /* a pair's 802.1ad interface: <tap>.<outer> */
	struct inet_prefix addrs[DP_MAX_VLAN_ADDRS];
	unsigned n_addrs;
	unsigned line;
};

struct dp_port_config {
	char name[DP_NAME_LEN];
	char device[DP_DEVICE_LEN];
	char tap[DP_NAME_LEN];
	enum dp_port_role role;
	bool unknown_drop; /* access ports: drop traffic of no known subscriber */
	uint64_t shape_rate;  /* access ports: shape downstream, port rate in bit/s; 0 off */
	unsigned shape_queue; /* packets per subscriber queue */
	struct inet_prefix addrs[DP_MAX_PORT_ADDRS];
	unsigned n_addrs;
	struct dp_vlan_config *vlans; /* n_vlans of them, in config order */
	unsigned n_vlans;
	unsigned line;        /* where the port block starts */
	unsigned device_line; /* where "device" is, for errors found later */
};

struct dp_route_config {
	struct inet_prefix dst;
	struct inet_addr gw;
	unsigned port; /* index in dp_config.ports of the port the gateway is on */
	unsigned vlan; /* 0 untagged, else 1 + index in that port's vlans */
	unsigned line;
};

struct dp_config {
	char path[256];
	unsigned workers;
	unsigned mbufs;
	unsigned idle_sleep_us;
	unsigned punt_rate;
	unsigned route4_max;
	unsigned route6_max;
	bool fpm_enabled;          /* listen for zebra's FPM feed (default: yes) */
	struct inet_addr fpm_addr; /* default 127.0.0.1 */
	unsigned fpm_port;         /* default 2620 */
	unsigned fpm_stale_s;      /* quiet seconds after a (re)connect before stale routes go */
	unsigned subscribers_max;
	char agent[128];      /* provisioning endpoint (ZeroMQ ROUTER) */
	bool agent_curve;
	char usage[128];      /* usage endpoint (ZeroMQ PUB); empty: none */
	bool usage_curve;
	char state_dir[200];  /* CURVE keys live in <state_dir>/curve */
	unsigned usage_interval_ms;
	struct dp_port_config ports[DP_MAX_PORTS];
	unsigned n_ports;
	struct dp_route_config *routes;
	unsigned n_routes;
};

/*
 * Parse and validate a configuration held in memory; @name is used in
 * errors. On success returns 0 and a config to release with dp_config_free().
 * On failure returns -EINVAL (or -ENOMEM) with @err holding one line
 * "NAME:LINE: FIELD: reason", and nothing allocated.
 */
int dp_config_parse(const char *name, const char *buf, size_t len, struct dp_config **ret_cfg,
		    char *err, size_t errlen);

/* Read the file at @path and parse it, as dp_config_parse(). */
int dp_config_load(const char *path, struct dp_config **ret_cfg, char *err, size_t errlen);

/* Accepts NULL; returns NULL. */
struct dp_config *dp_config_free(struct dp_config *cfg);

const char *dp_port_role_name(enum dp_port_role role);

#endif
