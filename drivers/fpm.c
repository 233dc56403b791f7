/* SPDX-License-Identifier: BSD-3-Clause */
#include "drivers/fpm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

/*
 * Netlink layouts (include/uapi/linux/{netlink,rtnetlink,nexthop}.h). Read
 * with memcpy at offsets: a peer's bytes carry no alignment promise.
 */
#define NLHDR_LEN 16u  /* struct nlmsghdr */
#define RTMSG_LEN 12u  /* struct rtmsg */
#define NHMSG_LEN 8u   /* struct nhmsg */
#define RTA_HDR 4u     /* struct rtattr / nlattr */
#define RTNH_LEN 8u    /* struct rtnexthop */
#define NHGRP_LEN 8u   /* struct nexthop_grp */
#define ALIGN4(n) (((n) + 3u) & ~(size_t)3u)

struct span {
	const uint8_t *p;
	size_t len;
};

static int bad(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int
fpm_frame_len(const uint8_t *buf, size_t len, size_t *ret_len, char *why, size_t whylen)
{
	size_t flen;

	if (len < FPM_HDR_LEN)
		return -EAGAIN;
	if (buf[0] != FPM_VERSION)
		return bad(why, whylen, "FPM version %u (expected %u)", buf[0], FPM_VERSION);
	if (buf[1] != FPM_TYPE_NETLINK)
		return bad(why, whylen, "FPM message type %u (expected %u, netlink)", buf[1],
			   FPM_TYPE_NETLINK);
	flen = (size_t)buf[2] << 8 | buf[3];
	if (flen < FPM_HDR_LEN + NLHDR_LEN)
		return bad(why, whylen, "FPM frame length %zu (at least %u: header and netlink "
			   "header)", flen, FPM_HDR_LEN + NLHDR_LEN);
	*ret_len = flen;
	return 0;
}

/*
 * Walk attributes: calls @fn for each. Every attribute's length is checked
 * against the space left; padding after the last one may be absent.
 */
typedef int (*attr_fn)(void *ctx, uint16_t type, struct span v, char *why, size_t whylen);

static int
walk_attrs(struct span s, const char *what, attr_fn fn, void *ctx, char *why, size_t whylen)
{
	size_t off = 0;
	int ret;

	while (off < s.len) {
		uint16_t alen, type;

		if (s.len - off < RTA_HDR)
			return bad(why, whylen, "%s: %zu bytes left, too few for an attribute",
				   what, s.len - off);
		alen = get16(s.p + off);
		type = get16(s.p + off + 2) & NLA_TYPE_MASK;
		if (alen < RTA_HDR || alen > s.len - off)
			return bad(why, whylen, "%s: attribute %u has length %u (%zu bytes left)",
				   what, type, alen, s.len - off);
		ret = fn(ctx, type, (struct span){s.p + off + RTA_HDR, alen - RTA_HDR}, why,
			 whylen);
		if (ret < 0)
			return ret;
		off += ALIGN4((size_t)alen);
	}
	return 0;
}

static int
addr_of(uint8_t family, struct span v, const char *what, struct inet_addr *ret, char *why,
	size_t whylen)
{
	size_t want = family == AF_INET ? 4 : 16;

	if (v.len != want)
		return bad(why, whylen, "%s: %zu bytes for an %s address (expected %zu)", what,
			   v.len, family == AF_INET ? "IPv4" : "IPv6", want);
	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	memcpy(family == AF_INET ? (void *)&ret->v4 : (void *)&ret->v6, v.p, want);
	return 0;
}

static int
u32_of(struct span v, const char *what, uint32_t *ret, char *why, size_t whylen)
{
	if (v.len != 4)
		return bad(why, whylen, "%s: %zu bytes (expected 4)", what, v.len);
	*ret = get32(v.p);
	return 0;
}

/* RTA_VIA (RFC 5549 routes: an IPv4 prefix via an IPv6 next hop). */
static int
via_of(struct span v, struct inet_addr *ret, char *why, size_t whylen)
{
	uint16_t fam;

	if (v.len < 2)
		return bad(why, whylen, "RTA_VIA: %zu bytes", v.len);
	fam = get16(v.p);
	if (fam != AF_INET && fam != AF_INET6)
		return bad(why, whylen, "RTA_VIA: address family %u", fam);
	return addr_of((uint8_t)fam, (struct span){v.p + 2, v.len - 2}, "RTA_VIA", ret, why,
		       whylen);
}

struct path_ctx {
	uint8_t family;
	struct fpm_path *path;
	bool has_gw;
};

static int
path_attr(void *arg, uint16_t type, struct span v, char *why, size_t whylen)
{
	struct path_ctx *c = arg;

	switch (type) {
	case RTA_GATEWAY:
	case RTA_VIA:
		if (c->has_gw)
			return bad(why, whylen, "RTA_MULTIPATH: two gateways in one path");
		c->has_gw = true;
		return type == RTA_VIA ? via_of(v, &c->path->gw, why, whylen)
				       : addr_of(c->family, v, "RTA_MULTIPATH gateway",
						 &c->path->gw, why, whylen);
	default:
		return 0; /* encapsulation, realms...: not used */
	}
}

static int
multipath(struct fpm_route *r, struct span s, char *why, size_t whylen)
{
	size_t off = 0;
	int ret;

	while (off < s.len) {
		struct path_ctx c = {.family = r->dst.addr.family};
		uint16_t nlen;

		if (s.len - off < RTNH_LEN)
			return bad(why, whylen, "RTA_MULTIPATH: %zu bytes left, too few for a "
				   "next hop", s.len - off);
		nlen = get16(s.p + off);
		if (nlen < RTNH_LEN || nlen > s.len - off)
			return bad(why, whylen, "RTA_MULTIPATH: next hop length %u (%zu bytes "
				   "left)", nlen, s.len - off);
		if (r->n_paths == FPM_MAX_PATHS)
			return bad(why, whylen, "RTA_MULTIPATH: more than %u next hops",
				   FPM_MAX_PATHS);
		c.path = &r->paths[r->n_paths];
		memset(c.path, 0, sizeof(*c.path));
		c.path->oif = get32(s.p + off + 4);
		ret = walk_attrs((struct span){s.p + off + RTNH_LEN, nlen - RTNH_LEN},
				 "RTA_MULTIPATH next hop", path_attr, &c, why, whylen);
		if (ret < 0)
			return ret;
		r->n_paths++;
		off += ALIGN4((size_t)nlen);
	}
	if (r->n_paths == 0)
		return bad(why, whylen, "RTA_MULTIPATH without next hops");
	return 0;
}

struct route_ctx {
	struct fpm_route *r;
	uint32_t seen; /* bit per attribute type < 32: duplicates are refused */
	struct fpm_path single;
	bool has_single;
};

static int
route_attr(void *arg, uint16_t type, struct span v, char *why, size_t whylen)
{
	struct route_ctx *c = arg;
	struct fpm_route *r = c->r;
	uint8_t fam = r->dst.addr.family;

	if (type < 32) {
		if (c->seen & (1u << type))
			return bad(why, whylen, "route attribute %u twice", type);
		c->seen |= 1u << type;
	}
	switch (type) {
	case RTA_DST:
		return addr_of(fam, v, "RTA_DST", &r->dst.addr, why, whylen);
	case RTA_GATEWAY:
		if (c->seen & (1u << RTA_VIA))
			return bad(why, whylen, "RTA_GATEWAY and RTA_VIA in one route");
		c->has_single = true;
		return addr_of(fam, v, "RTA_GATEWAY", &c->single.gw, why, whylen);
	case RTA_VIA:
		if (c->seen & (1u << RTA_GATEWAY))
			return bad(why, whylen, "RTA_GATEWAY and RTA_VIA in one route");
		c->has_single = true;
		return via_of(v, &c->single.gw, why, whylen);
	case RTA_OIF:
		c->has_single = true;
		return u32_of(v, "RTA_OIF", &c->single.oif, why, whylen);
	case RTA_TABLE:
		return u32_of(v, "RTA_TABLE", &r->table, why, whylen);
	case RTA_NH_ID:
		if (u32_of(v, "RTA_NH_ID", &r->nh_id, why, whylen) < 0)
			return -EBADMSG;
		if (r->nh_id == 0)
			return bad(why, whylen, "RTA_NH_ID 0");
		return 0;
	case RTA_PRIORITY: {
		uint32_t metric;

		return u32_of(v, "RTA_PRIORITY", &metric, why, whylen);
	}
	case RTA_MULTIPATH:
		return multipath(r, v, why, whylen);
	default:
		return 0; /* RTA_PREFSRC, RTA_ENCAP...: not used */
	}
}

static int
decode_route(struct span m, uint16_t nl_type, struct fpm_msg *msg, char *why, size_t whylen)
{
	struct fpm_route *r = &msg->route;
	struct route_ctx c = {.r = r};
	uint8_t fam, rtype;
	int ret;

	if (m.len < RTMSG_LEN)
		return bad(why, whylen, "route message of %zu bytes (struct rtmsg is %u)", m.len,
			   RTMSG_LEN);
	fam = m.p[0];
	if (fam != AF_INET && fam != AF_INET6) {
		msg->kind = FPM_MSG_OTHER; /* MPLS label routes and the like */
		return 0;
	}
	memset(r, 0, sizeof(*r));
	msg->kind = nl_type == RTM_NEWROUTE ? FPM_MSG_ROUTE_ADD : FPM_MSG_ROUTE_DEL;
	r->dst.addr.family = fam;
	r->dst.len = m.p[1];
	if (r->dst.len > inet_family_bits(fam))
		return bad(why, whylen, "route prefix length %u for %s", r->dst.len,
			   fam == AF_INET ? "IPv4" : "IPv6");
	if (m.p[2] != 0)
		return bad(why, whylen, "source-specific route (rtm_src_len %u) not supported",
			   m.p[2]);
	r->table = m.p[4];
	r->protocol = m.p[5];
	rtype = m.p[7];
	r->type = rtype == RTN_UNICAST ? FPM_RT_UNICAST
		: (rtype == RTN_BLACKHOLE || rtype == RTN_UNREACHABLE || rtype == RTN_PROHIBIT)
			? FPM_RT_BLACKHOLE : FPM_RT_OTHER;
	ret = walk_attrs((struct span){m.p + RTMSG_LEN, m.len - RTMSG_LEN}, "route", route_attr,
			 &c, why, whylen);
	if (ret < 0)
		return ret;
	if (r->dst.len != 0 && !(c.seen & (1u << RTA_DST)))
		return bad(why, whylen, "route of prefix length %u without RTA_DST", r->dst.len);
	if (c.has_single) {
		if (r->n_paths != 0)
			return bad(why, whylen, "route with RTA_MULTIPATH and a single next hop");
		r->paths[0] = c.single;
		r->n_paths = 1;
	}
	inet_prefix_mask(&r->dst);
	return 0;
}

struct nh_ctx {
	struct fpm_nhobj *nh;
	uint32_t seen;
};

static int
nh_attr(void *arg, uint16_t type, struct span v, char *why, size_t whylen)
{
	struct nh_ctx *c = arg;
	struct fpm_nhobj *nh = c->nh;
	size_t i;

	if (type < 32) {
		if (c->seen & (1u << type))
			return bad(why, whylen, "next-hop attribute %u twice", type);
		c->seen |= 1u << type;
	}
	switch (type) {
	case NHA_ID:
		return u32_of(v, "NHA_ID", &nh->id, why, whylen);
	case NHA_GATEWAY:
		if (nh->family != AF_INET && nh->family != AF_INET6)
			return bad(why, whylen, "NHA_GATEWAY in a next hop of family %u",
				   nh->family);
		return addr_of(nh->family, v, "NHA_GATEWAY", &nh->path.gw, why, whylen);
	case NHA_OIF:
		return u32_of(v, "NHA_OIF", &nh->path.oif, why, whylen);
	case NHA_BLACKHOLE:
		if (v.len != 0)
			return bad(why, whylen, "NHA_BLACKHOLE with %zu bytes (a flag)", v.len);
		nh->blackhole = true;
		return 0;
	case NHA_GROUP:
		if (v.len == 0 || v.len % NHGRP_LEN != 0)
			return bad(why, whylen, "NHA_GROUP of %zu bytes (a multiple of %u)", v.len,
				   NHGRP_LEN);
		if (v.len / NHGRP_LEN > FPM_MAX_PATHS)
			return bad(why, whylen, "NHA_GROUP of %zu members (at most %u)",
				   v.len / NHGRP_LEN, FPM_MAX_PATHS);
		for (i = 0; i < v.len / NHGRP_LEN; i++) {
			nh->group[i] = get32(v.p + i * NHGRP_LEN);
			if (nh->group[i] == 0)
				return bad(why, whylen, "NHA_GROUP member with id 0");
		}
		nh->n_group = (unsigned)(v.len / NHGRP_LEN);
		return 0;
	default:
		return 0; /* NHA_GROUP_TYPE, NHA_ENCAP...: not used */
	}
}

static int
decode_nh(struct span m, uint16_t nl_type, struct fpm_msg *msg, char *why, size_t whylen)
{
	struct fpm_nhobj *nh = &msg->nh;
	struct nh_ctx c = {.nh = nh};
	int ret;

	if (m.len < NHMSG_LEN)
		return bad(why, whylen, "next-hop message of %zu bytes (struct nhmsg is %u)",
			   m.len, NHMSG_LEN);
	memset(nh, 0, sizeof(*nh));
	msg->kind = nl_type == RTM_NEWNEXTHOP ? FPM_MSG_NH_ADD : FPM_MSG_NH_DEL;
	nh->family = m.p[0];
	ret = walk_attrs((struct span){m.p + NHMSG_LEN, m.len - NHMSG_LEN}, "next hop", nh_attr,
			 &c, why, whylen);
	if (ret < 0)
		return ret;
	if (nh->id == 0)
		return bad(why, whylen, "next hop without NHA_ID (or id 0)");
	if (nh->n_group != 0 && (nh->path.gw.family != 0 || nh->path.oif != 0 || nh->blackhole))
		return bad(why, whylen, "next hop %u is a group and has a gateway, interface or "
			   "blackhole", nh->id);
	return 0;
}

static int
decode_one(struct span m, struct fpm_msg *msg, char *why, size_t whylen)
{
	uint16_t type = get16(m.p + 4);

	msg->nl_type = type;
	m.p += NLHDR_LEN;
	m.len -= NLHDR_LEN;
	switch (type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return decode_route(m, type, msg, why, whylen);
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		return decode_nh(m, type, msg, why, whylen);
	case NLMSG_NOOP:
	case NLMSG_ERROR:
	case NLMSG_DONE:
		return bad(why, whylen, "netlink control message %u in an FPM frame", type);
	default:
		msg->kind = FPM_MSG_OTHER; /* neighbours, MAC entries, LSPs... */
		return 0;
	}
}

int
fpm_decode(const uint8_t *frame, size_t len, struct fpm_msg *msgs, unsigned max, char *why,
	   size_t whylen)
{
	size_t flen, off;
	unsigned n = 0;
	int ret;

	ret = fpm_frame_len(frame, len, &flen, why, whylen);
	if (ret == -EAGAIN)
		return bad(why, whylen, "FPM frame of %zu bytes, shorter than its header", len);
	if (ret < 0)
		return ret;
	if (flen != len)
		return bad(why, whylen, "FPM header says %zu bytes, frame has %zu", flen, len);
	off = FPM_HDR_LEN;
	while (off < len) {
		uint32_t nlen;

		if (len - off < NLHDR_LEN)
			return bad(why, whylen, "%zu bytes after netlink message %u, too few for "
				   "a netlink header", len - off, n);
		nlen = get32(frame + off);
		if (nlen < NLHDR_LEN || nlen > len - off)
			return bad(why, whylen, "netlink message %u has length %u (%zu bytes "
				   "left in the frame)", n, nlen, len - off);
		if (n == max || n == FPM_MAX_MSGS)
			return bad(why, whylen, "more than %u netlink messages in one frame",
				   max < FPM_MAX_MSGS ? max : FPM_MAX_MSGS);
		ret = decode_one((struct span){frame + off, nlen}, &msgs[n], why, whylen);
		if (ret < 0)
			return ret;
		n++;
		off += ALIGN4((size_t)nlen);
	}
	return (int)n;
}

const char *
fpm_protocol_name(uint8_t protocol, char *buf, size_t len)
{
	/* rtnetlink.h and FRR's zebra/rt_netlink.h (RTPROT_BGP and up). */
	static const struct {
		uint8_t proto;
		const char *name;
	} names[] = {
		{RTPROT_UNSPEC, "unspec"}, {RTPROT_REDIRECT, "redirect"},
		{RTPROT_KERNEL, "kernel"}, {RTPROT_BOOT, "boot"},
		{RTPROT_STATIC, "kernel_static"}, {RTPROT_ZEBRA, "zebra"},
		{RTPROT_DHCP, "dhcp"}, {RTPROT_BABEL, "babel"},
		{186, "bgp"}, {187, "isis"}, {188, "ospf"}, {189, "rip"},
		{190, "ripng"}, {191, "nhrp"}, {192, "eigrp"}, {193, "ldp"}, {194, "sharp"}, {195, "pbr"},
		{196, "static"}, {197, "openfabric"}, {198, "srte"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].proto == protocol)
			return names[i].name;
	snprintf(buf, len, "proto_%u", protocol);
	return buf;
}
