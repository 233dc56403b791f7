/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Routes of one interface address: itself (local), its subnet via @nh, its broadcast. */
static int
load_address(struct dp *dp, const struct inet_prefix *pfx, uint32_t nh, char *err, size_t errlen)
{
	struct inet_prefix host = *pfx, net = *pfx;
	int ret;

	host.len = (uint8_t)inet_family_bits(host.addr.family);
	ret = set_route(dp, &host, RT_SRC_LOCAL, NH_ID_LOCAL, err, errlen);
	if (ret < 0)
		return ret;
	inet_prefix_mask(&net);
	ret = set_route(dp, &net, RT_SRC_CONNECTED, nh, err, errlen);
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
	return 0;
}

static int
load_port(struct dp *dp, unsigned pidx, char *err, size_t errlen)
{
	struct dp_port *port = &dp->ports[pidx];
	const struct dp_port_config *pc = port->cfg;
	unsigned i, j;
	int ret;

	for (i = 0; i < pc->n_addrs; i++) {
		ret = load_address(dp, &pc->addrs[i], NH_ID_CONNECTED(pidx), err, errlen);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < pc->n_vlans; i++) {
		struct dp_port_vlan *v = &port->vlans[i];

		ret = nh_ctl_connected_vlan(dp->nh, (uint8_t)pidx, v->vlan);
		if (ret < 0) {
			snprintf(err, errlen, "port %s vlan %s: next hop table full", pc->name,
				 v->cfg->ifname);
			return ret;
		}
		v->nh_connected = (uint32_t)ret;
		for (j = 0; j < v->cfg->n_addrs; j++) {
			ret = load_address(dp, &v->cfg->addrs[j], v->nh_connected, err, errlen);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int
dp_vlans_init(struct dp *dp)
{
	unsigned i, j;

	for (i = 0; i < dp->n_ports; i++) {
		struct dp_port *port = &dp->ports[i];
		const struct dp_port_config *pc = port->cfg;

		if (pc->n_vlans == 0 || port->vlans != NULL)
			continue;
		port->vlans = calloc(pc->n_vlans, sizeof(*port->vlans));
		if (port->vlans == NULL)
			return -ENOMEM;
		for (j = 0; j < pc->n_vlans; j++) {
			port->vlans[j].cfg = &pc->vlans[j];
			port->vlans[j].vlan = NH_VLAN(pc->vlans[j].outer, pc->vlans[j].inner);
		}
	}
	return 0;
}

void
dp_vlans_free(struct dp *dp)
{
	unsigned i;

	for (i = 0; i < DP_MAX_PORTS; i++) {
		free(dp->ports[i].vlans);
		dp->ports[i].vlans = NULL;
	}
}

/* The NH_VLAN word of VLAN @vlan (dp_route_config: 0 or 1 + index) of port @pidx. */
static uint32_t
route_vlan(const struct dp *dp, unsigned pidx, unsigned vlan)
{
	return vlan == 0 ? 0 : dp->ports[pidx].vlans[vlan - 1].vlan;
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
		int nh = nh_ctl_get_vlan(dp->nh, &r->gw, (uint8_t)r->port,
					 route_vlan(dp, r->port, r->vlan));

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

int
dp_ifindex_port(const struct dp *dp, int ifindex, unsigned *ret_port, uint32_t *ret_vlan)
{
	unsigned i, j;

	if (ifindex <= 0)
		return -ENOENT;
	for (i = 0; i < dp->n_ports; i++) {
		const struct dp_port *p = &dp->ports[i];

		if (p->tap_ifindex == ifindex) {
			*ret_port = i;
			*ret_vlan = 0;
			return 0;
		}
		for (j = 0; j < p->cfg->n_vlans && p->vlans != NULL; j++)
			if (p->vlans[j].ifindex == ifindex) {
				*ret_port = i;
				*ret_vlan = p->vlans[j].vlan;
				return 0;
			}
	}
	return -ENOENT;
}

static bool
on_subnet(const struct inet_prefix *addrs, unsigned n, const struct inet_addr *a)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (inet_prefix_contains(&addrs[i], a))
			return !inet_addr_equal(&addrs[i].addr, a);
	return false;
}

/* @a is a neighbour on a subnet of interface (@pidx, @vlan). */
static bool
on_if_subnet(const struct dp *dp, unsigned pidx, uint32_t vlan, const struct inet_addr *a)
{
	const struct dp_port *p = &dp->ports[pidx];
	unsigned j;

	if (vlan == 0)
		return on_subnet(p->cfg->addrs, p->cfg->n_addrs, a);
	for (j = 0; j < p->cfg->n_vlans; j++)
		if (p->vlans[j].vlan == vlan)
			return on_subnet(p->vlans[j].cfg->addrs, p->vlans[j].cfg->n_addrs, a);
	return false;
}

/* "cust0" or "cust0 vlan 100" or "cust0 vlan 200.300", for logs. */
static const char *
if_label(const struct dp *dp, unsigned pidx, uint32_t vlan, char *buf, size_t len)
{
	const char *name = dp->ports[pidx].cfg->name;

	if (vlan == 0)
		snprintf(buf, len, "%s", name);
	else if (nh_vlan_inner(vlan) == 0)
		snprintf(buf, len, "%s vlan %u", name, nh_vlan_outer(vlan));
	else
		snprintf(buf, len, "%s vlan %u.%u", name, nh_vlan_outer(vlan), nh_vlan_inner(vlan));
	return buf;
}

void
dp_neigh_event(struct dp *dp, int ifindex, const struct inet_addr *addr, const uint8_t *mac)
{
	char buf[INET_PREFIX_STRLEN], macs[RTE_ETHER_ADDR_FMT_SIZE], where[48];
	struct inet_prefix host;
	unsigned pidx;
	uint32_t vlan;
	bool linklocal;
	int id;

	if (dp_ifindex_port(dp, ifindex, &pidx, &vlan) < 0)
		return;
	linklocal = addr->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&addr->v6);
	if (!linklocal && !on_if_subnet(dp, pidx, vlan, addr))
		return;
	memset(&host, 0, sizeof(host));
	host.addr = *addr;
	host.len = (uint8_t)inet_family_bits(addr->family);
	inet_addr_format(addr, buf, sizeof(buf));
	if_label(dp, pidx, vlan, where, sizeof(where));
	if (mac != NULL) {
		struct rte_ether_addr ea;

		memcpy(ea.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
		id = nh_ctl_learn_vlan(dp->nh, addr, (uint8_t)pidx, vlan, &ea);
		if (id < 0) {
			log_warn("neighbour %s on %s: next hop table full, stays in the slow path",
				 buf, where);
			return;
		}
		if (!linklocal && rt_ctl_set(dp->rt, &host, RT_SRC_NEIGH, (uint32_t)id) < 0)
			log_warn("neighbour %s on %s: no room for its host route", buf, where);
		rte_ether_format_addr(macs, sizeof(macs), &ea);
		log_debug("neighbour %s on %s is %s", buf, where, macs);
		return;
	}
	/* Unpublish the host route first: then no new lookup yields the id. */
	if (!linklocal)
		rt_ctl_set(dp->rt, &host, RT_SRC_NEIGH, 0);
	if (nh_ctl_forget_vlan(dp->nh, addr, (uint8_t)pidx, vlan) >= 0)
		log_debug("neighbour %s on %s is gone", buf, where);
}
