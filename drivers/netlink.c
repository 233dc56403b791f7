/* SPDX-License-Identifier: BSD-3-Clause */
#include "drivers/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

struct knl {
	struct nl_sock *sock;        /* requests */
	struct nl_cache_mngr *mngr;  /* neighbour watch */
	struct nl_cache *neigh;
	knl_neigh_cb cb;
	void *cb_arg;
};

/* libnl errors are positive NLE_* codes: map the ones that matter. */
static int
nl_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

int
knl_open(struct knl **ret)
{
	struct knl *k;
	int err;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -ENOMEM;
	k->sock = nl_socket_alloc();
	if (k->sock == NULL) {
		free(k);
		return -ENOMEM;
	}
	err = nl_connect(k->sock, NETLINK_ROUTE);
	if (err < 0) {
		knl_close(k);
		return nl_errno(err);
	}
	*ret = k;
	return 0;
}

struct knl *
knl_close(struct knl *k)
{
	if (k == NULL)
		return NULL;
	if (k->mngr != NULL)
		nl_cache_mngr_free(k->mngr);
	if (k->sock != NULL)
		nl_socket_free(k->sock);
	free(k);
	return NULL;
}

static struct nl_addr *
to_nl_addr(const struct inet_addr *a, unsigned len)
{
	struct nl_addr *na;

	if (a->family == AF_INET)
		na = nl_addr_build(AF_INET, &a->v4, 4);
	else
		na = nl_addr_build(AF_INET6, &a->v6, 16);
	if (na != NULL)
		nl_addr_set_prefixlen(na, (int)len);
	return na;
}

int
knl_addr_add(struct knl *k, int ifindex, const struct inet_prefix *pfx)
{
	struct rtnl_addr *addr;
	struct nl_addr *local;
	int err;

	addr = rtnl_addr_alloc();
	local = to_nl_addr(&pfx->addr, pfx->len);
	if (addr == NULL || local == NULL) {
		err = -NLE_NOMEM;
		goto out_free;
	}
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, pfx->addr.family);
	err = rtnl_addr_set_local(addr, local);
	if (err < 0)
		goto out_free;
	rtnl_addr_set_prefixlen(addr, pfx->len);
	if (pfx->addr.family == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	err = rtnl_addr_add(k->sock, addr, NLM_F_REPLACE);
out_free:
	nl_addr_put(local);
	rtnl_addr_put(addr);
	err = nl_errno(err);
	return err == -EEXIST ? 0 : err;
}

int
knl_route_add(struct knl *k, const struct inet_prefix *dst, const struct inet_addr *gw,
	      int ifindex)
{
	struct rtnl_route *route;
	struct rtnl_nexthop *nh;
	struct nl_addr *d, *g;
	int err;

	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	d = to_nl_addr(&dst->addr, dst->len);
	g = to_nl_addr(gw, gw->family == AF_INET ? 32 : 128);
	if (route == NULL || nh == NULL || d == NULL || g == NULL) {
		err = -NLE_NOMEM;
		if (nh != NULL)
			rtnl_route_nh_free(nh);
		goto out_free;
	}
	rtnl_route_set_family(route, dst->addr.family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(route, RTN_UNICAST);
	err = rtnl_route_set_dst(route, d);
	if (err < 0) {
		rtnl_route_nh_free(nh);
		goto out_free;
	}
	rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh); /* the route owns nh now */
	err = rtnl_route_add(k->sock, route, NLM_F_REPLACE);
out_free:
	nl_addr_put(d);
	nl_addr_put(g);
	if (route != NULL)
		rtnl_route_put(route);
	return nl_errno(err);
}

int
knl_vlan_add(struct knl *k, int parent, const char *name, uint16_t id, bool dot1ad,
	     int *ret_ifindex)
{
	struct rtnl_link *link;
	unsigned ifindex;
	int err;

	link = rtnl_link_vlan_alloc();
	if (link == NULL)
		return -ENOMEM;
	rtnl_link_set_link(link, parent);
	rtnl_link_set_name(link, name);
	err = rtnl_link_vlan_set_id(link, id);
	if (err >= 0 && dot1ad)
		err = rtnl_link_vlan_set_protocol(link, htons(ETH_P_8021AD));
	if (err >= 0) {
		/* up at once, as `ip link add ... up`: it follows its tap's carrier */
		rtnl_link_set_flags(link, IFF_UP);
		err = rtnl_link_add(k->sock, link, NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_link_put(link);
	if (err < 0)
		return nl_errno(err);
	ifindex = if_nametoindex(name);
	if (ifindex == 0)
		return -ENODEV;
	*ret_ifindex = (int)ifindex;
	return 0;
}

static void
report_neigh(struct knl *k, struct nl_object *obj, int action)
{
	struct rtnl_neigh *n = (struct rtnl_neigh *)obj;
	struct nl_addr *dst = rtnl_neigh_get_dst(n);
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
	int state = rtnl_neigh_get_state(n);
	const int valid = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;
	struct inet_addr a;
	const uint8_t *mac = NULL;
	int fam;

	if (dst == NULL)
		return;
	fam = nl_addr_get_family(dst);
	memset(&a, 0, sizeof(a));
	if (fam == AF_INET && nl_addr_get_len(dst) == 4)
		memcpy(&a.v4, nl_addr_get_binary_addr(dst), 4);
	else if (fam == AF_INET6 && nl_addr_get_len(dst) == 16)
		memcpy(&a.v6, nl_addr_get_binary_addr(dst), 16);
	else
		return;
	a.family = (uint8_t)fam;
	if (action != NL_ACT_DEL && (state & valid) && ll != NULL && nl_addr_get_len(ll) == 6)
		mac = nl_addr_get_binary_addr(ll);
	k->cb(k->cb_arg, rtnl_neigh_get_ifindex(n), &a, mac);
}

static void
neigh_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	report_neigh(arg, obj, action);
}

static void
neigh_each(struct nl_object *obj, void *arg)
{
	report_neigh(arg, obj, NL_ACT_NEW);
}

int
knl_neigh_watch(struct knl *k, knl_neigh_cb cb, void *arg)
{
	int err;

	k->cb = cb;
	k->cb_arg = arg;
	err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &k->mngr);
	if (err < 0)
		return nl_errno(err);
	err = nl_cache_mngr_add(k->mngr, "route/neigh", neigh_change, k, &k->neigh);
	if (err < 0)
		return nl_errno(err);
	nl_cache_foreach(k->neigh, neigh_each, k);
	return 0;
}

int
knl_fd(const struct knl *k)
{
	return k->mngr != NULL ? nl_cache_mngr_get_fd(k->mngr) : -1;
}

int
knl_dispatch(struct knl *k)
{
	int err = nl_cache_mngr_data_ready(k->mngr);

	return err < 0 ? nl_errno(err) : 0;
}
