/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static int
set_route(struct dp *dp, const struct inet_prefix *pfx, enum rt_source src, uint32_t nh,
	  char *err, size_t errlen)
{
	char buf[INET_PREFIX_STRLEN];
	int ret = rt_ctl_set(dp->rt, pfx, src, nh);

	if (ret < 0)
		snprintf(err, errlen, "route %s: %s", inet_prefix_format(pfx, buf, sizeof(buf)),
			 ret == -ENOSPC ? "route table full (raise route4-max / route6-max)"
					: strerror(-ret));
	return ret;
}

static int
load_port(struct dp *dp, unsigned pidx, char *err, size_t errlen)
{
	const struct dp_port_config *pc = dp->ports[pidx].cfg;
	unsigned i;
	int ret;

	for (i = 0; i < pc->n_addrs; i++) {
		struct inet_prefix host = pc->addrs[i], net = pc->addrs[i];

		host.len = (uint8_t)inet_family_bits(host.addr.family);
		ret = set_route(dp, &host, RT_SRC_LOCAL, NH_ID_LOCAL, err, errlen);
		if (ret < 0)
			return ret;
		inet_prefix_mask(&net);
		ret = set_route(dp, &net, RT_SRC_CONNECTED, NH_ID_CONNECTED(pidx), err, errlen);
		if (ret < 0)
			return ret;
		if (host.addr.family == AF_INET && net.len <= 30) {
			/* The subnet's broadcast is for the kernel, never forwarded. */
			struct inet_prefix bcast = host;

			bcast.addr.v4.s_addr = net.addr.v4.s_addr | htonl(0xffffffffu >> net.len);
			ret = set_route(dp, &bcast, RT_SRC_LOCAL, NH_ID_LOCAL, err, errlen);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int
dp_routes_load(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *cfg = dp->cfg;
	char buf[INET_PREFIX_STRLEN];
	unsigned i;
	int ret;

	for (i = 0; i < dp->n_ports; i++) {
		ret = load_port(dp, i, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < cfg->n_routes; i++) {
		const struct dp_route_config *r = &cfg->routes[i];
		int nh = nh_ctl_get(dp->nh, &r->gw, (uint8_t)r->port);

		if (nh < 0) {
			snprintf(err, errlen, "route to %s: next hop table full",
				 inet_prefix_format(&r->dst, buf, sizeof(buf)));
			return nh;
		}
		ret = set_route(dp, &r->dst, RT_SRC_STATIC, (uint32_t)nh, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int
dp_port_index(const struct dp *dp, const char *name)
{
	unsigned i;

	for (i = 0; i < dp->n_ports; i++)
		if (strcmp(dp->ports[i].cfg->name, name) == 0)
			return (int)i;
	return -1;
}

static int
port_of_tap(const struct dp *dp, int ifindex)
{
	unsigned i;

	for (i = 0; i < dp->n_ports; i++)
		if (dp->ports[i].tap_ifindex == ifindex)
			return (int)i;
	return -1;
}

static bool
on_port_subnet(const struct dp_port_config *pc, const struct inet_addr *a)
{
	unsigned i;

	for (i = 0; i < pc->n_addrs; i++)
		if (inet_prefix_contains(&pc->addrs[i], a))
			return !inet_addr_equal(&pc->addrs[i].addr, a);
	return false;
}

void
dp_neigh_event(struct dp *dp, int ifindex, const struct inet_addr *addr, const uint8_t *mac)
{
	char buf[INET_PREFIX_STRLEN], macs[RTE_ETHER_ADDR_FMT_SIZE];
	int pidx = port_of_tap(dp, ifindex);
	struct inet_prefix host;
	bool linklocal;
	int id;

	if (pidx < 0)
		return;
	linklocal = addr->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&addr->v6);
	if (!linklocal && !on_port_subnet(dp->ports[pidx].cfg, addr))
		return;
	memset(&host, 0, sizeof(host));
	host.addr = *addr;
	host.len = (uint8_t)inet_family_bits(addr->family);
	inet_addr_format(addr, buf, sizeof(buf));
	if (mac != NULL) {
		struct rte_ether_addr ea;

		memcpy(ea.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
		id = nh_ctl_learn(dp->nh, addr, (uint8_t)pidx, &ea);
		if (id < 0) {
			log_warn("neighbour %s on %s: next hop table full, stays in the slow path",
				 buf, dp->ports[pidx].cfg->name);
			return;
		}
		if (!linklocal && rt_ctl_set(dp->rt, &host, RT_SRC_NEIGH, (uint32_t)id) < 0)
			log_warn("neighbour %s on %s: no room for its host route", buf,
				 dp->ports[pidx].cfg->name);
		rte_ether_format_addr(macs, sizeof(macs), &ea);
		log_debug("neighbour %s on %s is %s", buf, dp->ports[pidx].cfg->name, macs);
		return;
	}
	/* Unpublish the host route first: then no new lookup yields the id. */
	if (!linklocal)
		rt_ctl_set(dp->rt, &host, RT_SRC_NEIGH, 0);
	if (nh_ctl_forget(dp->nh, addr, (uint8_t)pidx) >= 0)
		log_debug("neighbour %s on %s is gone", buf, dp->ports[pidx].cfg->name);
}
