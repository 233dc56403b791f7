/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/telemetry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "dataplane/config.h"
#include "dataplane/control.h"
#include "dataplane/fpm.h"

static struct dp *tel_dp;

static void
add_counters(struct rte_tel_data *d, const struct dp_port_stats *s)
{
	rte_tel_data_add_dict_u64(d, "rx_packets", s->rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s->rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", s->tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s->tx_bytes);
	rte_tel_data_add_dict_u64(d, "forwarded", s->forwarded);
	rte_tel_data_add_dict_u64(d, "punted", s->punted);
	rte_tel_data_add_dict_u64(d, "dropped", s->dropped);
	rte_tel_data_add_dict_u64(d, "from_kernel", s->from_kernel);
}

static struct rte_tel_data *
port_info(const struct dp *dp, unsigned pidx)
{
	const struct dp_port *p = &dp->ports[pidx];
	struct rte_tel_data *d, *addrs;
	char buf[INET_PREFIX_STRLEN];
	struct rte_eth_link link;
	struct dp_port_stats s;
	unsigned i;

	d = rte_tel_data_alloc();
	addrs = rte_tel_data_alloc();
	if (d == NULL || addrs == NULL) {
		rte_tel_data_free(d);
		rte_tel_data_free(addrs);
		return NULL;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "port_id", p->port_id);
	rte_tel_data_add_dict_string(d, "device", p->cfg->device);
	rte_tel_data_add_dict_string(d, "role", dp_port_role_name(p->role));
	rte_tel_data_add_dict_string(d, "tap", p->cfg->tap);
	rte_ether_format_addr(buf, sizeof(buf), &p->mac);
	rte_tel_data_add_dict_string(d, "mac", buf);
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(p->port_id, &link);
	rte_tel_data_add_dict_int(d, "link_up", link.link_status);
	rte_tel_data_start_array(addrs, RTE_TEL_STRING_VAL);
	for (i = 0; i < p->cfg->n_addrs; i++)
		rte_tel_data_add_array_string(addrs,
			inet_prefix_format(&p->cfg->addrs[i], buf, sizeof(buf)));
	rte_tel_data_add_dict_container(d, "addresses", addrs, 0);
	dp_stats_port(dp, pidx, &s);
	add_counters(d, &s);
	return d;
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp *dp = tel_dp;
	unsigned i;

	rte_tel_data_start_dict(d);
	for (i = 0; i < dp->n_ports; i++) {
		struct rte_tel_data *p = port_info(dp, i);

		if (p == NULL)
			return -ENOMEM;
		rte_tel_data_add_dict_container(d, dp->ports[i].cfg->name, p, 0);
	}
	return 0;
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp *dp = tel_dp;
	struct dp_port_stats sum, s;
	struct rte_tel_data *drops, *punts;
	unsigned i, r, first = 0, last = dp->n_ports;

	if (params != NULL && params[0] != '\0') {
		int p = dp_port_index(dp, params);

		if (p < 0)
			return -EINVAL;
		first = (unsigned)p;
		last = first + 1;
	}
	memset(&sum, 0, sizeof(sum));
	for (i = first; i < last; i++) {
		dp_stats_port(dp, i, &s);
		sum.rx_packets += s.rx_packets;
		sum.rx_bytes += s.rx_bytes;
		sum.tx_packets += s.tx_packets;
		sum.tx_bytes += s.tx_bytes;
		sum.forwarded += s.forwarded;
		sum.punted += s.punted;
		sum.dropped += s.dropped;
		sum.from_kernel += s.from_kernel;
		for (r = 0; r < DP_PUNT_MAX; r++)
			sum.punt[r] += s.punt[r];
		for (r = 0; r < DP_DROP_MAX; r++)
			sum.drop[r] += s.drop[r];
	}
	drops = rte_tel_data_alloc();
	punts = rte_tel_data_alloc();
	if (drops == NULL || punts == NULL) {
		rte_tel_data_free(drops);
		rte_tel_data_free(punts);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	add_counters(d, &sum);
	rte_tel_data_start_dict(drops);
	for (r = 1; r < DP_DROP_MAX; r++)
		rte_tel_data_add_dict_u64(drops, dp_drop_names[r], sum.drop[r]);
	rte_tel_data_start_dict(punts);
	for (r = 0; r < DP_PUNT_MAX; r++)
		rte_tel_data_add_dict_u64(punts, dp_punt_names[r], sum.punt[r]);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	rte_tel_data_add_dict_container(d, "punts", punts, 0);
	return 0;
}

/* Routes each source holds in @family (a prefix may be held by several). */
static struct rte_tel_data *
source_counts(const struct dp *dp, uint8_t family)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	unsigned s;

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	for (s = 0; s < RT_SRC_MAX; s++)
		rte_tel_data_add_dict_u64(d, rt_source_name(s),
					  rt_ctl_count_source(dp->rt, family, s));
	return d;
}

/* FPM routes in force in @family by FRR protocol (only those with routes). */
static struct rte_tel_data *
protocol_counts(const struct dp *dp, uint8_t family)
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	char buf[32];
	unsigned p;

	if (d == NULL)
		return NULL;
	rte_tel_data_start_dict(d);
	for (p = 0; p < 256; p++) {
		unsigned n = dp_fpm_count(dp->fpm, family, (uint8_t)p);

		if (n != 0)
			rte_tel_data_add_dict_u64(d, fpm_protocol_name((uint8_t)p, buf,
								       sizeof(buf)), n);
	}
	return d;
}

/* DPDK 22.11 telemetry nests containers one level deep: the dicts sit at the top. */
static int
cmd_routes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dp *dp = tel_dp;
	struct rte_tel_data *c[4];
	static const char *const names[4] = {"sources_ipv4", "sources_ipv6", "protocols_ipv4",
					     "protocols_ipv6"};
	unsigned i;

	c[0] = source_counts(dp, AF_INET);
	c[1] = source_counts(dp, AF_INET6);
	c[2] = protocol_counts(dp, AF_INET);
	c[3] = protocol_counts(dp, AF_INET6);
	if (c[0] == NULL || c[1] == NULL || c[2] == NULL || c[3] == NULL) {
		for (i = 0; i < 4; i++)
			rte_tel_data_free(c[i]);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "ipv4", rt_ctl_count(dp->rt, AF_INET));
	rte_tel_data_add_dict_u64(d, "ipv6", rt_ctl_count(dp->rt, AF_INET6));
	rte_tel_data_add_dict_u64(d, "nexthops", nh_ctl_count(dp->nh));
	rte_tel_data_add_dict_u64(d, "nexthop_groups", nh_ctl_group_count(dp->nh));
	rte_tel_data_add_dict_int(d, "fpm_connected", dp_fpm_connected(dp->fpm));
	for (i = 0; i < 4; i++)
		rte_tel_data_add_dict_container(d, names[i], c[i], 0);
	return 0;
}

static void
add_sub_counters(struct rte_tel_data *d, const struct sub_counters *c)
{
	static const char *const dir[SUB_DIRS] = {"up", "down"};
	char key[64];
	unsigned i, r;

	for (i = 0; i < SUB_DIRS; i++) {
		snprintf(key, sizeof(key), "%s_packets", dir[i]);
		rte_tel_data_add_dict_u64(d, key, c[i].fwd_packets);
		snprintf(key, sizeof(key), "%s_bytes", dir[i]);
		rte_tel_data_add_dict_u64(d, key, c[i].fwd_bytes);
		for (r = 0; r < SUB_COLOURS; r++) {
			snprintf(key, sizeof(key), "%s_%s_packets", dir[i], sub_colour_names[r]);
			rte_tel_data_add_dict_u64(d, key, c[i].colour_packets[r]);
			snprintf(key, sizeof(key), "%s_%s_bytes", dir[i], sub_colour_names[r]);
			rte_tel_data_add_dict_u64(d, key, c[i].colour_bytes[r]);
		}
		for (r = 0; r < SUB_DROP_MAX; r++) {
			snprintf(key, sizeof(key), "%s_drop_%s_packets", dir[i], sub_drop_names[r]);
			rte_tel_data_add_dict_u64(d, key, c[i].drop_packets[r]);
		}
	}
}

static int
cmd_subscribers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp *dp = tel_dp;
	struct sub_counters c[SUB_DIRS];

	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&dp->ctl_lock);
	rte_tel_data_add_dict_u64(d, "subscribers", sub_ctl_count(dp->subs));
	rte_tel_data_add_dict_u64(d, "profiles", sub_ctl_profile_count(dp->subs));
	pthread_mutex_unlock(&dp->ctl_lock);
	/* Slot 0 holds the traffic of no known subscriber. */
	sub_counters_read(dp->subt, SUB_SLOT_UNKNOWN, c);
	rte_tel_data_add_dict_u64(d, "unknown_up_packets", c[SUB_UP].fwd_packets);
	rte_tel_data_add_dict_u64(d, "unknown_down_packets", c[SUB_DOWN].fwd_packets);
	rte_tel_data_add_dict_u64(d, "unknown_up_dropped", c[SUB_UP].drop_packets[SUB_DROP_UNKNOWN]);
	rte_tel_data_add_dict_u64(d, "unknown_down_dropped",
				  c[SUB_DOWN].drop_packets[SUB_DROP_UNKNOWN]);
	return 0;
}

static int
cmd_subscriber(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp *dp = tel_dp;
	struct sub_counters c[SUB_DIRS];
	struct sub_info info;
	char profile[64];
	uint32_t slot;
	uint8_t avail;

	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	pthread_mutex_lock(&dp->ctl_lock);
	if (sub_ctl_find(dp->subs, params, &info) < 0) {
		pthread_mutex_unlock(&dp->ctl_lock);
		return -EINVAL;
	}
	slot = info.slot;
	avail = info.avail;
	snprintf(profile, sizeof(profile), "%s", info.profile);
	pthread_mutex_unlock(&dp->ctl_lock);
	sub_counters_read(dp->subt, slot, c);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "profile", profile);
	rte_tel_data_add_dict_string(d, "availability",
				     avail == SUB_ACTIVE ? "active"
				     : avail == SUB_SUSPENDED ? "suspended" : "walled-garden");
	add_sub_counters(d, c);
	return 0;
}

int
dp_telemetry_init(struct dp *dp)
{
	int ret;

	tel_dp = dp;
	ret = rte_telemetry_register_cmd("/cuco/ports", cmd_ports,
		"Ports: role, device, tap, MAC, link, addresses and counters. No parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/cuco/stats", cmd_stats,
			"Counters with drop and punt reasons, all ports. Parameter: port name");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/cuco/routes", cmd_routes,
			"Routes in force per family, per source and per FRR protocol; next hops. No parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/cuco/subscribers", cmd_subscribers,
			"Subscriber and profile counts, unknown traffic. No parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/cuco/subscriber", cmd_subscriber,
			"One subscriber's profile, availability and counters. Parameter: id");
	return ret;
}
