/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

#define ERR(line, field, ...) conf_error(p->err, p->errlen, p->name, (line), (field), __VA_ARGS__)

struct parser {
	const char *name;
	char *err;
	size_t errlen;
	struct dp_config *cfg;
	struct dp_port_config *port; /* inside a port block, or NULL */
	unsigned routes_cap;
	unsigned vlans_cap;          /* of port->vlans */
};

const char *
dp_port_role_name(enum dp_port_role role)
{
	switch (role) {
	case DP_ROLE_ACCESS:
		return "access";
	case DP_ROLE_UPLINK:
		return "uplink";
	case DP_ROLE_NONE:
		break;
	}
	return "none";
}

/* Port names end up in telemetry keys: letters, digits and '_' only. */
static bool
valid_port_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= DP_NAME_LEN)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Kernel interface names: 1..15 bytes, no '/', blank or ':'. */
static bool
valid_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= DP_NAME_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || s[i] == '\t')
			return false;
	return true;
}

static int
parse_uint_field(struct parser *p, const struct conf_line *l, unsigned long min,
		 unsigned long max, unsigned *ret)
{
	unsigned long v;

	if (l->n != 2)
		return ERR(l->lineno, l->w[0], "expects one number, got %u words", l->n - 1);
	if (conf_parse_uint(l->w[1], min, max, &v) < 0)
		return ERR(l->lineno, l->w[0], "'%s' is not a whole number in %lu..%lu", l->w[1],
			   min, max);
	*ret = (unsigned)v;
	return 0;
}

static bool
addr_is_special(const struct inet_addr *a)
{
	if (a->family == AF_INET) {
		uint8_t b0 = ((const uint8_t *)&a->v4)[0];

		return b0 == 0 || b0 == 127 || b0 >= 224;
	}
	return IN6_IS_ADDR_UNSPECIFIED(&a->v6) || IN6_IS_ADDR_LOOPBACK(&a->v6) ||
	       IN6_IS_ADDR_MULTICAST(&a->v6) || IN6_IS_ADDR_LINKLOCAL(&a->v6) ||
	       IN6_IS_ADDR_V4MAPPED(&a->v6);
}

/* Syntax and kind of the interface address @w (keyword @field, line @lineno). */
static int
parse_if_address(struct parser *p, unsigned lineno, const char *field, const char *w,
		 struct inet_prefix *ret)
{
	struct inet_prefix pfx;

	if (inet_prefix_parse(w, &pfx) < 0)
		return ERR(lineno, field, "'%s' is not an IPv4 or IPv6 address with a /length", w);
	if (pfx.len == 0)
		return ERR(lineno, field, "'%s': a /0 subnet is not an interface subnet", w);
	if (addr_is_special(&pfx.addr))
		return ERR(lineno, field, "'%s' is unspecified, loopback, multicast or link-local",
			   w);
	if (pfx.addr.family == AF_INET && pfx.len <= 30) {
		uint32_t host = ntohl(pfx.addr.v4.s_addr) & (0xffffffffu >> pfx.len);

		if (host == 0 || host == (0xffffffffu >> pfx.len))
			return ERR(lineno, field,
				   "'%s' is the subnet's network or broadcast address", w);
	}
	*ret = pfx;
	return 0;
}

/* "port a" or "port a vlan 100" or "port a vlan 200.300", for errors. */
static const char *
if_label(const struct dp_port_config *port, const struct dp_vlan_config *v, char *buf,
	 size_t len)
{
	if (v == NULL)
		snprintf(buf, len, "port %s", port->name);
	else if (v->inner == 0)
		snprintf(buf, len, "port %s vlan %u", port->name, v->outer);
	else
		snprintf(buf, len, "port %s vlan %u.%u", port->name, v->outer, v->inner);
	return buf;
}

/*
 * Address @pfx (as written: @w) of interface (@port, @vlan) against @other,
 * an address of interface (@oport, @ovlan): an address is on one interface
 * only; subnets of different interfaces do not overlap (a port's untagged
 * addresses are one interface, each VLAN another).
 */
static int
check_one_address(struct parser *p, unsigned lineno, const char *w, const struct inet_prefix *pfx,
		  const struct dp_port_config *port, const struct dp_vlan_config *vlan,
		  const struct inet_prefix *other, const struct dp_port_config *oport,
		  const struct dp_vlan_config *ovlan)
{
	char buf[INET_PREFIX_STRLEN], label[64];

	if (inet_addr_equal(&other->addr, &pfx->addr))
		return ERR(lineno, "address", "%s is already on %s",
			   inet_addr_format(&pfx->addr, buf, sizeof(buf)),
			   if_label(oport, ovlan, label, sizeof(label)));
	if ((oport != port || ovlan != vlan) && inet_prefix_overlaps(other, pfx))
		return ERR(lineno, "address", "'%s' overlaps %s on %s", w,
			   inet_prefix_format(other, buf, sizeof(buf)),
			   if_label(oport, ovlan, label, sizeof(label)));
	return 0;
}

/* @pfx for interface (@port, @vlan) against every address so far. */
static int
check_address(struct parser *p, unsigned lineno, const char *w, const struct inet_prefix *pfx,
	      const struct dp_port_config *port, const struct dp_vlan_config *vlan)
{
	unsigned i, j, k;
	int ret;

	/* ports[n_ports] is the port being parsed */
	for (i = 0; i < p->cfg->n_ports + 1; i++) {
		const struct dp_port_config *o = &p->cfg->ports[i];

		for (j = 0; j < o->n_addrs; j++) {
			ret = check_one_address(p, lineno, w, pfx, port, vlan, &o->addrs[j], o,
						NULL);
			if (ret < 0)
				return ret;
		}
		for (j = 0; j < o->n_vlans; j++)
			for (k = 0; k < o->vlans[j].n_addrs; k++) {
				ret = check_one_address(p, lineno, w, pfx, port, vlan,
							&o->vlans[j].addrs[k], o, &o->vlans[j]);
				if (ret < 0)
					return ret;
			}
	}
	return 0;
}

static int
parse_address(struct parser *p, const struct conf_line *l)
{
	struct dp_port_config *port = p->port;
	struct inet_prefix pfx;
	int ret;

	if (l->n != 2)
		return ERR(l->lineno, "address", "expects one ADDRESS/LENGTH");
	ret = parse_if_address(p, l->lineno, "address", l->w[1], &pfx);
	if (ret < 0)
		return ret;
	if (port->n_addrs == DP_MAX_PORT_ADDRS)
		return ERR(l->lineno, "address", "more than %d addresses on port %s",
			   DP_MAX_PORT_ADDRS, port->name);
	ret = check_address(p, l->lineno, l->w[1], &pfx, port, NULL);
	if (ret < 0)
		return ret;
	port->addrs[port->n_addrs++] = pfx;
	return 0;
}

/* "100" or "200.300": VLAN ids 1..4094 (0 is priority tagging, 4095 reserved). */
static int
parse_vlan_id(const char *s, uint16_t *ret_outer, uint16_t *ret_inner)
{
	const char *dot = strchr(s, '.');
	size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);
	unsigned long o, i = 0;
	char outer[8];

	if (n >= sizeof(outer))
		return -EINVAL;
	memcpy(outer, s, n);
	outer[n] = '\0';
	if (dot != NULL && conf_parse_uint(dot + 1, 1, 4094, &i) < 0)
		return -EINVAL;
	if (conf_parse_uint(outer, 1, 4094, &o) < 0)
		return -EINVAL;
	*ret_outer = (uint16_t)o;
	*ret_inner = (uint16_t)i;
	return 0;
}

/* Room for one more VLAN in the port being parsed. */
static struct dp_vlan_config *
add_vlan(struct parser *p)
{
	struct dp_port_config *port = p->port;

	if (port->n_vlans == p->vlans_cap) {
		unsigned cap = p->vlans_cap ? p->vlans_cap * 2 : 4;
		struct dp_vlan_config *v = reallocarray(port->vlans, cap, sizeof(*v));

		if (v == NULL)
			return NULL;
		port->vlans = v;
		p->vlans_cap = cap;
	}
	memset(&port->vlans[port->n_vlans], 0, sizeof(port->vlans[0]));
	return &port->vlans[port->n_vlans++];
}

/* "vlan ID [tap IFNAME] address PREFIX [address PREFIX]..." inside a port block. */
static int
parse_vlan(struct parser *p, const struct conf_line *l)
{
	struct dp_port_config *port = p->port;
	struct dp_vlan_config *v;
	uint16_t outer, inner;
	unsigned i;
	int ret;

	if (l->n < 4 || l->n % 2 != 0)
		return ERR(l->lineno, "vlan",
			   "expects 'vlan ID[.INNER] [tap IFNAME] address PREFIX "
			   "[address PREFIX]...'");
	if (parse_vlan_id(l->w[1], &outer, &inner) < 0)
		return ERR(l->lineno, "vlan",
			   "'%s' is not a VLAN id 1..4094 or a pair OUTER.INNER of them", l->w[1]);
	for (i = 0; i < port->n_vlans; i++) {
		const struct dp_vlan_config *o = &port->vlans[i];

		if (o->outer == outer && o->inner == inner)
			return ERR(l->lineno, "vlan", "vlan %s of port %s is already on line %u",
				   l->w[1], port->name, o->line);
		/* <tap>.<outer> is 802.1ad under a pair, 802.1Q alone: not both */
		if (o->outer == outer && (o->inner == 0) != (inner == 0))
			return ERR(l->lineno, "vlan",
				   "vlan %s of port %s: VLAN %u is a single tag on line %u, an "
				   "S-VLAN there cannot be a single tag too", l->w[1], port->name,
				   outer, o->line);
	}
	if (port->n_vlans == DP_MAX_PORT_VLANS)
		return ERR(l->lineno, "vlan", "more than %d VLANs on port %s", DP_MAX_PORT_VLANS,
			   port->name);
	v = add_vlan(p);
	if (v == NULL)
		return -ENOMEM;
	v->outer = outer;
	v->inner = inner;
	v->line = l->lineno;
	for (i = 2; i < l->n; i += 2) {
		const char *kw = l->w[i], *val = l->w[i + 1];
		struct inet_prefix pfx;

		if (strcmp(kw, "tap") == 0) {
			if (!valid_ifname(val))
				return ERR(l->lineno, "tap",
					   "expects a kernel interface name of 1 to %d bytes",
					   DP_NAME_LEN - 1);
			snprintf(v->ifname, sizeof(v->ifname), "%s", val);
			continue;
		}
		if (strcmp(kw, "address") != 0)
			return ERR(l->lineno, kw,
				   "unknown keyword in vlan %s (expected tap or address)", l->w[1]);
		ret = parse_if_address(p, l->lineno, "address", val, &pfx);
		if (ret < 0)
			return ret;
		if (v->n_addrs == DP_MAX_VLAN_ADDRS)
			return ERR(l->lineno, "address", "more than %d addresses on vlan %s",
				   DP_MAX_VLAN_ADDRS, l->w[1]);
		ret = check_address(p, l->lineno, val, &pfx, port, v);
		if (ret < 0)
			return ret;
		v->addrs[v->n_addrs++] = pfx;
	}
	if (v->n_addrs == 0)
		return ERR(l->lineno, "vlan", "vlan %s of port %s has no address", l->w[1],
			   port->name);
	return 0;
}

/*
 * Kernel names of a closed port's VLAN interfaces: <tap>.<outer> (802.1Q,
 * or a pair's 802.1ad) and <tap>.<outer>.<inner>, unless named.
 */
static int
name_vlans(struct parser *p, struct dp_port_config *port)
{
	char name[3 * DP_NAME_LEN];
	unsigned i;

	for (i = 0; i < port->n_vlans; i++) {
		struct dp_vlan_config *v = &port->vlans[i];

		snprintf(name, sizeof(name), "%s.%u", port->tap, v->outer);
		if (v->inner != 0) {
			if (strlen(name) >= DP_NAME_LEN)
				return ERR(v->line, "vlan",
					   "the 802.1ad interface %s is longer than %d bytes: give "
					   "port %s a shorter tap name", name, DP_NAME_LEN - 1,
					   port->name);
			snprintf(v->outer_ifname, sizeof(v->outer_ifname), "%s", name);
			snprintf(name, sizeof(name), "%s.%u.%u", port->tap, v->outer, v->inner);
		}
		if (v->ifname[0] != '\0')
			continue;
		if (strlen(name) >= DP_NAME_LEN)
			return ERR(v->line, "vlan",
				   "interface name %s is longer than %d bytes: name it with 'tap "
				   "IFNAME' on this line", name, DP_NAME_LEN - 1);
		snprintf(v->ifname, sizeof(v->ifname), "%s", name);
	}
	return 0;
}

static int
parse_port_line(struct parser *p, const struct conf_line *l)
{
	struct dp_port_config *port = p->port;
	const char *kw = l->w[0];

	if (strcmp(kw, "}") == 0) {
		if (l->n != 1)
			return ERR(l->lineno, "}", "nothing may follow a closing brace");
		if (port->device[0] == '\0')
			return ERR(port->line, "device", "port %s has no device", port->name);
		if (port->role == DP_ROLE_NONE)
			return ERR(port->line, "role", "port %s has no role (access or uplink)",
				   port->name);
		if (port->shape_rate != 0 && port->role != DP_ROLE_ACCESS)
			return ERR(port->line, "shape", "port %s: only access ports shape",
				   port->name);
		if (port->unknown_drop && port->role != DP_ROLE_ACCESS)
			return ERR(port->line, "unknown",
				   "port %s: an unknown-subscriber policy is for access ports",
				   port->name);
		if (port->tap[0] == '\0')
			snprintf(port->tap, sizeof(port->tap), "tap-%.11s", port->name);
		if (name_vlans(p, port) < 0)
			return -EINVAL;
		p->cfg->n_ports++;
		p->port = NULL;
		return 0;
	}
	if (strcmp(kw, "device") == 0) {
		if (l->n != 2)
			return ERR(l->lineno, "device", "expects one DPDK device name");
		if (strlen(l->w[1]) >= DP_DEVICE_LEN)
			return ERR(l->lineno, "device", "name longer than %d bytes",
				   DP_DEVICE_LEN - 1);
		if (port->device[0] != '\0')
			return ERR(l->lineno, "device", "port %s already has device %s",
				   port->name, port->device);
		snprintf(port->device, sizeof(port->device), "%s", l->w[1]);
		port->device_line = l->lineno;
		return 0;
	}
	if (strcmp(kw, "role") == 0) {
		if (l->n != 2)
			return ERR(l->lineno, "role", "expects access or uplink");
		if (strcmp(l->w[1], "access") == 0)
			port->role = DP_ROLE_ACCESS;
		else if (strcmp(l->w[1], "uplink") == 0)
			port->role = DP_ROLE_UPLINK;
		else
			return ERR(l->lineno, "role", "'%s' is not access or uplink", l->w[1]);
		return 0;
	}
	if (strcmp(kw, "tap") == 0) {
		if (l->n != 2 || !valid_ifname(l->w[1]))
			return ERR(l->lineno, "tap",
				   "expects a kernel interface name of 1 to %d bytes",
				   DP_NAME_LEN - 1);
		snprintf(port->tap, sizeof(port->tap), "%s", l->w[1]);
		return 0;
	}
	if (strcmp(kw, "address") == 0)
		return parse_address(p, l);
	if (strcmp(kw, "vlan") == 0)
		return parse_vlan(p, l);
	if (strcmp(kw, "shape") == 0) {
		unsigned long q = 64;

		if ((l->n != 2 && l->n != 4) || (l->n == 4 && strcmp(l->w[2], "queue") != 0))
			return ERR(l->lineno, "shape", "expects 'shape RATE [queue PACKETS]'");
		if (conf_parse_rate(l->w[1], 1000000, 400000000000ull, &port->shape_rate) < 0)
			return ERR(l->lineno, "shape",
				   "'%s' is not a rate from 1M to 400G (bit/s, k/M/G suffix)", l->w[1]);
		if (l->n == 4 && (conf_parse_uint(l->w[3], 16, 4096, &q) < 0 || (q & (q - 1)) != 0))
			return ERR(l->lineno, "queue", "'%s' is not a power of two from 16 to 4096",
				   l->w[3]);
		port->shape_queue = (unsigned)q;
		return 0;
	}
	if (strcmp(kw, "unknown") == 0) {
		if (l->n != 2 || (strcmp(l->w[1], "drop") != 0 && strcmp(l->w[1], "forward") != 0))
			return ERR(l->lineno, "unknown", "expects drop or forward");
		port->unknown_drop = strcmp(l->w[1], "drop") == 0;
		return 0;
	}
	return ERR(l->lineno, kw,
		   "unknown keyword in port %s (expected device, role, tap, address, vlan, "
		   "unknown, shape or })", port->name);
}

static int
parse_port_start(struct parser *p, const struct conf_line *l)
{
	struct dp_config *cfg = p->cfg;
	struct dp_port_config *port;
	unsigned i;

	if (l->n != 3 || strcmp(l->w[2], "{") != 0)
		return ERR(l->lineno, "port", "expects 'port NAME {'");
	if (!valid_port_name(l->w[1]))
		return ERR(l->lineno, "port",
			   "'%s' is not a port name (1 to %d letters, digits or _)", l->w[1],
			   DP_NAME_LEN - 1);
	if (cfg->n_ports == DP_MAX_PORTS)
		return ERR(l->lineno, "port", "more than %d ports", DP_MAX_PORTS);
	for (i = 0; i < cfg->n_ports; i++)
		if (strcmp(cfg->ports[i].name, l->w[1]) == 0)
			return ERR(l->lineno, "port", "port %s is already defined on line %u",
				   l->w[1], cfg->ports[i].line);
	port = &cfg->ports[cfg->n_ports];
	memset(port, 0, sizeof(*port));
	snprintf(port->name, sizeof(port->name), "%s", l->w[1]);
	port->line = l->lineno;
	p->port = port;
	p->vlans_cap = 0;
	return 0;
}

static int
parse_route(struct parser *p, const struct conf_line *l)
{
	struct dp_config *cfg = p->cfg;
	struct dp_route_config r;
	char buf[INET_PREFIX_STRLEN];

	if (l->n != 4 || strcmp(l->w[2], "via") != 0)
		return ERR(l->lineno, "route", "expects 'route PREFIX via GATEWAY'");
	memset(&r, 0, sizeof(r));
	r.line = l->lineno;
	if (inet_prefix_parse(l->w[1], &r.dst) < 0)
		return ERR(l->lineno, "route", "'%s' is not a prefix (ADDRESS/LENGTH)", l->w[1]);
	if (inet_prefix_has_host_bits(&r.dst)) {
		inet_prefix_mask(&r.dst);
		return ERR(l->lineno, "route", "'%s' has host bits set (did you mean %s?)",
			   l->w[1], inet_prefix_format(&r.dst, buf, sizeof(buf)));
	}
	if (inet_addr_parse(l->w[3], &r.gw) < 0)
		return ERR(l->lineno, "via", "'%s' is not an IPv4 or IPv6 address", l->w[3]);
	if (r.gw.family != r.dst.addr.family)
		return ERR(l->lineno, "via", "gateway %s is not of the same family as %s",
			   l->w[3], l->w[1]);
	if (cfg->n_routes == DP_MAX_STATIC_ROUTES)
		return ERR(l->lineno, "route", "more than %d static routes",
			   DP_MAX_STATIC_ROUTES);
	if (cfg->n_routes == p->routes_cap) {
		unsigned cap = p->routes_cap ? p->routes_cap * 2 : 16;
		struct dp_route_config *v = reallocarray(cfg->routes, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		cfg->routes = v;
		p->routes_cap = cap;
	}
	cfg->routes[cfg->n_routes++] = r;
	return 0;
}

/* "fpm ADDRESS PORT" or "fpm off": where zebra's FPM feed is listened for. */
static int
parse_fpm(struct parser *p, const struct conf_line *l)
{
	struct dp_config *cfg = p->cfg;
	unsigned long port;

	if (l->n == 2 && strcmp(l->w[1], "off") == 0) {
		cfg->fpm_enabled = false;
		return 0;
	}
	if (l->n != 3)
		return ERR(l->lineno, "fpm", "expects 'fpm ADDRESS PORT' or 'fpm off'");
	if (inet_addr_parse(l->w[1], &cfg->fpm_addr) < 0)
		return ERR(l->lineno, "fpm", "'%s' is not an IPv4 or IPv6 address", l->w[1]);
	if (conf_parse_uint(l->w[2], 1, 65535, &port) < 0)
		return ERR(l->lineno, "fpm", "'%s' is not a TCP port in 1..65535", l->w[2]);
	cfg->fpm_enabled = true;
	cfg->fpm_port = (unsigned)port;
	return 0;
}

/*
 * A ZeroMQ endpoint the dataplane binds, optionally followed by "curve".
 * Without CURVE, only tcp on a loopback address or ipc: plain ZeroMQ must
 * not leave the box.
 */
static int
parse_endpoint(struct parser *p, const struct conf_line *l, char *out, size_t outlen,
	       bool *curve)
{
	const char *e;
	bool local;

	if (l->n < 2 || l->n > 3 || (l->n == 3 && strcmp(l->w[2], "curve") != 0))
		return ERR(l->lineno, l->w[0],
			   "expects ENDPOINT [curve], e.g. tcp://127.0.0.1:9700");
	e = l->w[1];
	*curve = l->n == 3;
	if (strlen(e) >= outlen)
		return ERR(l->lineno, l->w[0], "endpoint longer than %zu bytes", outlen - 1);
	if (strcmp(l->w[0], "usage") == 0 && strcmp(e, "none") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (strncmp(e, "ipc://", 6) == 0) {
		if (e[6] == '\0')
			return ERR(l->lineno, l->w[0], "'%s' has no path", e);
		snprintf(out, outlen, "%s", e);
		return 0;
	}
	if (strncmp(e, "tcp://", 6) != 0)
		return ERR(l->lineno, l->w[0], "'%s': only tcp:// and ipc:// endpoints", e);
	if (strrchr(e + 6, ':') == NULL || strrchr(e + 6, ':')[1] == '\0')
		return ERR(l->lineno, l->w[0], "'%s' has no port", e);
	local = strncmp(e, "tcp://127.", 10) == 0 || strncmp(e, "tcp://[::1]:", 12) == 0 ||
		strncmp(e, "tcp://localhost:", 16) == 0;
	if (!local && !*curve)
		return ERR(l->lineno, l->w[0],
			   "'%s' is not on loopback: add 'curve' (plain ZeroMQ must not leave "
			   "the box)", e);
	snprintf(out, outlen, "%s", e);
	return 0;
}

static int
parse_top_line(struct parser *p, const struct conf_line *l)
{
	struct dp_config *cfg = p->cfg;
	const char *kw = l->w[0];

	if (strcmp(kw, "port") == 0)
		return parse_port_start(p, l);
	if (strcmp(kw, "route") == 0)
		return parse_route(p, l);
	if (strcmp(kw, "workers") == 0)
		return parse_uint_field(p, l, 1, DP_MAX_WORKERS, &cfg->workers);
	if (strcmp(kw, "mbufs") == 0)
		return parse_uint_field(p, l, 1024, 1u << 22, &cfg->mbufs);
	if (strcmp(kw, "idle-sleep") == 0)
		return parse_uint_field(p, l, 0, 100000, &cfg->idle_sleep_us);
	if (strcmp(kw, "punt-rate") == 0)
		return parse_uint_field(p, l, 1, 10000000, &cfg->punt_rate);
	if (strcmp(kw, "route4-max") == 0)
		return parse_uint_field(p, l, 1024, 1u << 24, &cfg->route4_max);
	if (strcmp(kw, "fpm") == 0)
		return parse_fpm(p, l);
	if (strcmp(kw, "fpm-stale-time") == 0)
		return parse_uint_field(p, l, 1, 3600, &cfg->fpm_stale_s);
	if (strcmp(kw, "route6-max") == 0)
		return parse_uint_field(p, l, 1024, 1u << 22, &cfg->route6_max);
	if (strcmp(kw, "agent") == 0)
		return parse_endpoint(p, l, cfg->agent, sizeof(cfg->agent), &cfg->agent_curve);
	if (strcmp(kw, "usage") == 0)
		return parse_endpoint(p, l, cfg->usage, sizeof(cfg->usage), &cfg->usage_curve);
	if (strcmp(kw, "state-dir") == 0) {
		if (l->n != 2 || l->w[1][0] != '/' || strlen(l->w[1]) >= sizeof(cfg->state_dir) - 8)
			return ERR(l->lineno, "state-dir", "expects an absolute path");
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", l->w[1]);
		return 0;
	}
	if (strcmp(kw, "usage-interval") == 0)
		return parse_uint_field(p, l, 100, 3600000, &cfg->usage_interval_ms);
	if (strcmp(kw, "subscribers-max") == 0)
		return parse_uint_field(p, l, 16, 1u << 21, &cfg->subscribers_max);
	if (strcmp(kw, "}") == 0)
		return ERR(l->lineno, "}", "closing brace outside a port block");
	return ERR(l->lineno, kw,
		   "unknown keyword (expected port, route, workers, mbufs, idle-sleep, "
		   "punt-rate, route4-max, route6-max, subscribers-max, agent, usage, "
		   "usage-interval, state-dir, fpm or fpm-stale-time)");
}

/* The names of VLAN @v of port @a against every tap and other VLAN interface. */
static int
check_vlan_ifname(struct parser *p, const struct dp_port_config *a, const struct dp_vlan_config *v)
{
	const struct dp_config *cfg = p->cfg;
	const char *outer = v->outer_ifname;
	unsigned k, m;

	for (k = 0; k < cfg->n_ports; k++) {
		const struct dp_port_config *b = &cfg->ports[k];

		if (strcmp(v->ifname, b->tap) == 0 ||
		    (outer[0] != '\0' && strcmp(outer, b->tap) == 0))
			return ERR(v->line, "vlan", "interface name %s is the tap of port %s",
				   strcmp(v->ifname, b->tap) == 0 ? v->ifname : outer, b->name);
		for (m = 0; m < b->n_vlans; m++) {
			const struct dp_vlan_config *o = &b->vlans[m];

			if (o == v)
				continue;
			if (strcmp(v->ifname, o->ifname) == 0 ||
			    strcmp(v->ifname, o->outer_ifname) == 0)
				return ERR(v->line, "vlan",
					   "interface name %s is used on line %u too", v->ifname,
					   o->line);
			/* a pair's 802.1ad interface is shared only by the pairs of its port */
			if (outer[0] != '\0' && strcmp(outer, o->outer_ifname) == 0 && b != a)
				return ERR(v->line, "vlan",
					   "interface name %s is used on line %u too", outer,
					   o->line);
		}
	}
	return 0;
}

/* Kernel interface names (taps, VLAN interfaces) are unique in the namespace. */
static int
check_ifnames(struct parser *p)
{
	struct dp_config *cfg = p->cfg;
	unsigned i, j;

	for (i = 0; i < cfg->n_ports; i++) {
		const struct dp_port_config *a = &cfg->ports[i];

		for (j = 0; j < a->n_vlans; j++) {
			int ret = check_vlan_ifname(p, a, &a->vlans[j]);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* The interface (port @ret_port, VLAN @ret_vlan as in dp_route_config) @gw is on. */
static int
find_gateway(struct parser *p, const struct dp_route_config *r, unsigned *ret_port,
	     unsigned *ret_vlan)
{
	const struct dp_config *cfg = p->cfg;
	char buf[INET_PREFIX_STRLEN];
	unsigned j, k, m;

	for (j = 0; j < cfg->n_ports; j++) {
		const struct dp_port_config *port = &cfg->ports[j];

		for (k = 0; k < port->n_addrs; k++) {
			if (inet_addr_equal(&port->addrs[k].addr, &r->gw))
				goto own;
			if (inet_prefix_contains(&port->addrs[k], &r->gw)) {
				*ret_port = j;
				*ret_vlan = 0;
				return 0;
			}
		}
		for (k = 0; k < port->n_vlans; k++)
			for (m = 0; m < port->vlans[k].n_addrs; m++) {
				if (inet_addr_equal(&port->vlans[k].addrs[m].addr, &r->gw))
					goto own;
				if (inet_prefix_contains(&port->vlans[k].addrs[m], &r->gw)) {
					*ret_port = j;
					*ret_vlan = k + 1;
					return 0;
				}
			}
	}
	return ERR(r->line, "via", "gateway %s is on no port's subnet",
		   inet_addr_format(&r->gw, buf, sizeof(buf)));
own:
	return ERR(r->line, "via", "gateway %s is the appliance's own address",
		   inet_addr_format(&r->gw, buf, sizeof(buf)));
}

/* Checks that need the whole file: devices, taps, interface names, route gateways. */
static int
check_config(struct parser *p)
{
	struct dp_config *cfg = p->cfg;
	char buf[INET_PREFIX_STRLEN];
	unsigned i, j;
	int ret;

	if (cfg->n_ports == 0)
		return ERR(0, "port", "no port is defined");
	for (i = 0; i < cfg->n_ports; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->ports[i].device, cfg->ports[j].device) == 0)
				return ERR(cfg->ports[i].device_line, "device",
					   "device %s is already used by port %s",
					   cfg->ports[i].device, cfg->ports[j].name);
			if (strcmp(cfg->ports[i].tap, cfg->ports[j].tap) == 0)
				return ERR(cfg->ports[i].line, "tap",
					   "port %s and port %s both use tap %s",
					   cfg->ports[j].name, cfg->ports[i].name,
					   cfg->ports[i].tap);
		}
	}
	ret = check_ifnames(p);
	if (ret < 0)
		return ret;
	for (i = 0; i < cfg->n_routes; i++) {
		struct dp_route_config *r = &cfg->routes[i];

		for (j = 0; j < i; j++)
			if (cfg->routes[j].dst.len == r->dst.len &&
			    inet_addr_equal(&cfg->routes[j].dst.addr, &r->dst.addr))
				return ERR(r->line, "route", "%s is already routed on line %u",
					   inet_prefix_format(&r->dst, buf, sizeof(buf)),
					   cfg->routes[j].line);
		ret = find_gateway(p, r, &r->port, &r->vlan);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int
dp_config_parse(const char *name, const char *buf, size_t len, struct dp_config **ret_cfg,
		char *err, size_t errlen)
{
	struct conf_reader *r;
	struct conf_line line;
	struct parser p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	p.cfg = calloc(1, sizeof(*p.cfg));
	r = malloc(sizeof(*r));
	if (p.cfg == NULL || r == NULL) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", name);
		goto out_free;
	}
	snprintf(p.cfg->path, sizeof(p.cfg->path), "%s", name);
	p.cfg->workers = 1;
	p.cfg->mbufs = 16384;
	p.cfg->punt_rate = 10000;
	p.cfg->route4_max = 65536;
	p.cfg->route6_max = 65536;
	p.cfg->fpm_enabled = true;
	p.cfg->fpm_addr.family = AF_INET;
	p.cfg->fpm_addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	p.cfg->fpm_port = DP_FPM_PORT;
	p.cfg->fpm_stale_s = 5;
	p.cfg->subscribers_max = 16384;
	snprintf(p.cfg->agent, sizeof(p.cfg->agent), "tcp://127.0.0.1:9700");
	snprintf(p.cfg->usage, sizeof(p.cfg->usage), "tcp://127.0.0.1:9701");
	p.cfg->usage_interval_ms = 5000;
	snprintf(p.cfg->state_dir, sizeof(p.cfg->state_dir), "/var/lib/cuco");

	conf_reader_init(r, name, buf, len);
	while ((ret = conf_next_line(r, &line, err, errlen)) > 0) {
		ret = p.port != NULL ? parse_port_line(&p, &line) : parse_top_line(&p, &line);
		if (ret < 0)
			goto out_free;
	}
	if (ret < 0)
		goto out_free;
	if (p.port != NULL) {
		ret = conf_error(err, errlen, name, p.port->line, "port",
				 "port %s is not closed with }", p.port->name);
		goto out_free;
	}
	ret = check_config(&p);
	if (ret < 0)
		goto out_free;
	free(r);
	*ret_cfg = p.cfg;
	return 0;

out_free:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	free(r);
	dp_config_free(p.cfg);
	return ret;
}

int
dp_config_load(const char *path, struct dp_config **ret_cfg, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int ret;

	ret = conf_read_file(path, &buf, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "file larger than 1 MiB" : strerror(-ret));
		return -EINVAL;
	}
	ret = dp_config_parse(path, buf, len, ret_cfg, err, errlen);
	free(buf);
	return ret;
}

struct dp_config *
dp_config_free(struct dp_config *cfg)
{
	unsigned i;

	if (cfg != NULL) {
		/* the port being parsed when an error struck is past n_ports: all of them */
		for (i = 0; i < DP_MAX_PORTS; i++)
			free(cfg->ports[i].vlans);
		free(cfg->routes);
		free(cfg);
	}
	return NULL;
}
