/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables and forwarding decisions with a minimal EAL (no hugepages, no
 * devices): next hops, route sources, neighbour events from the kernel, the
 * IPv4/IPv6 forward stages and the Ethernet rewrite, VLAN next hops and
 * egress tags.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/config.h"
#include "dataplane/control.h"
#include "dataplane/dp.h"
#include "dataplane/nodes/eth_output.h"
#include "dataplane/nodes/ip4_forward.h"
#include "dataplane/nodes/ip6_forward.h"
#include "dataplane/nodes/vlan_punt.h"

#include <rte_udp.h>

static const char conf_text[] =
	"port cust0 {\n device c\n role access\n address 198.51.100.1/24\n"
	" address 2001:db8:100::1/64\n}\n"
	"port up0 {\n device u\n role uplink\n address 203.0.113.1/24\n"
	" address 2001:db8:200::1/64\n}\n"
	"route 192.0.2.0/24 via 203.0.113.2\n"
	"route 2001:db8:300::/48 via 2001:db8:200::2\n";

static const uint8_t mac_up[6] = {0x02, 0xaa, 0, 0, 0, 2};

struct fixture {
	struct dp dp;
	struct dp_config *cfg;
	struct rte_mempool *pool;
};

/* VLAN sub-interfaces of cust0: 802.1Q 100, QinQ 200.300; a route via the pair. */
static const char conf_vlan_text[] =
	"port cust0 {\n device c\n role access\n address 198.51.100.1/25\n"
	" vlan 100 address 198.51.100.129/26 address 2001:db8:100:100::1/64\n"
	" vlan 200.300 tap c0.200.300 address 198.51.100.193/26\n}\n"
	"port up0 {\n device u\n role uplink\n address 203.0.113.1/24\n}\n"
	"route 192.0.2.0/25 via 198.51.100.194\n";

static int
setup_conf(void **state, const char *text)
{
	static struct fixture f;
	char err[256];
	unsigned i;

	memset(&f.dp, 0, sizeof(f.dp));
	assert_int_equal(dp_config_parse("t", text, strlen(text), &f.cfg, err, sizeof(err)), 0);
	f.dp.cfg = f.cfg;
	f.dp.n_ports = f.cfg->n_ports;
	f.dp.n_workers = 1;
	for (i = 0; i < f.dp.n_ports; i++) {
		f.dp.ports[i].cfg = &f.cfg->ports[i];
		f.dp.ports[i].tap_ifindex = 100 + (int)i;
		f.dp.ports[i].mac.addr_bytes[0] = 0x02;
		f.dp.ports[i].mac.addr_bytes[5] = (uint8_t)(0x10 + i);
	}
	assert_int_equal(dp_vlans_init(&f.dp), 0);
	for (i = 0; i < f.cfg->ports[0].n_vlans; i++)
		f.dp.ports[0].vlans[i].ifindex = 200 + (int)i; /* as if the kernel made them */
	f.dp.qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(f.dp.qsv);
	assert_int_equal(rte_rcu_qsbr_init(f.dp.qsv, 1), 0);
	assert_int_equal(nh_ctl_create(f.dp.n_ports, f.dp.qsv, &f.dp.nh), 0);
	f.dp.nht = nh_ctl_table(f.dp.nh);
	assert_int_equal(rt_ctl_create(f.dp.qsv, 1024, 1024, &f.dp.rt), 0);
	f.dp.rtt = rt_ctl_tables(f.dp.rt);
	assert_int_equal(dp_routes_load(&f.dp, err, sizeof(err)), 0);
	f.pool = rte_pktmbuf_pool_create("t_pool", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	assert_non_null(f.pool);
	*state = &f;
	return 0;
}

static int
setup(void **state)
{
	return setup_conf(state, conf_text);
}

static int
setup_vlan(void **state)
{
	return setup_conf(state, conf_vlan_text);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dp_vlans_free(&f->dp);
	rt_ctl_free(f->dp.rt);
	nh_ctl_free(f->dp.nh);
	rte_free(f->dp.qsv);
	rte_mempool_free(f->pool);
	dp_config_free(f->cfg);
	return 0;
}

static struct rte_ipv4_hdr
mk_ip4(const char *dst, uint8_t ttl)
{
	struct rte_ipv4_hdr ip;
	struct inet_addr a;

	memset(&ip, 0, sizeof(ip));
	ip.version_ihl = 0x45;
	ip.total_length = rte_cpu_to_be_16(20);
	ip.time_to_live = ttl;
	ip.next_proto_id = IPPROTO_UDP;
	ip.src_addr = rte_cpu_to_be_32(0xc6336402u);
	assert_int_equal(inet_addr_parse(dst, &a), 0);
	ip.dst_addr = a.v4.s_addr;
	ip.hdr_checksum = (uint16_t)~rte_raw_cksum(&ip, sizeof(ip));
	return ip;
}

static void
neigh(struct fixture *f, int port, const char *addr, const uint8_t *mac)
{
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(addr, &a), 0);
	dp_neigh_event(&f->dp, f->dp.ports[port].tap_ifindex, &a, mac);
}

static void
test_ip4_decisions(void **state)
{
	struct fixture *f = *state;
	struct rte_ipv4_hdr ip;
	struct rte_ether_addr m;
	uint64_t nh = 0;
	uint32_t nhv = 0;
	verdict_t v;

	ip = mk_ip4("198.51.100.1", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_LOCAL));
	ip = mk_ip4("198.51.100.255", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_LOCAL));
	ip = mk_ip4("224.0.0.5", 1);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_MULTICAST));
	ip = mk_ip4("8.8.8.8", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_drop(DP_DROP_NO_ROUTE));
	/* connected, neighbour unknown; and the static route's gateway unresolved:
	 * punted, naming the output port so that enforcement still applies */
	ip = mk_ip4("203.0.113.2", 64);
	nh = 0;
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nh_word_port(nh), 1);
	ip = mk_ip4("192.0.2.9", 64);
	nh = 0;
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nh_word_port(nh), 1);
	assert_int_equal(ip.time_to_live, 64); /* the kernel decrements it */

	/* the kernel learns 203.0.113.2: both go to it now */
	neigh(f, 1, "203.0.113.2", mac_up);
	ip = mk_ip4("203.0.113.2", 64);
	v = ip4_forward(&f->dp, &ip, &nh, &nhv);
	assert_int_equal(v, verdict_fwd(1));
	nh_word_mac(nh, &m);
	assert_memory_equal(m.addr_bytes, mac_up, 6);
	assert_int_equal(ip.time_to_live, 63);
	assert_int_equal(rte_raw_cksum(&ip, sizeof(ip)), 0xffff); /* RFC 1624 update is right */
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_fwd(1));
	ip = mk_ip4("192.0.2.9", 1);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_TTL_EXPIRED));
	assert_int_equal(ip.time_to_live, 1);

	/* a neighbour learned on the wrong port's tap, or off-subnet, changes nothing */
	neigh(f, 0, "192.0.2.77", mac_up);
	ip = mk_ip4("192.0.2.77", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_fwd(1));

	/* gone again: back to the slow path, never lost */
	neigh(f, 1, "203.0.113.2", NULL);
	ip = mk_ip4("203.0.113.2", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	/* the static route keeps its next hop; the neighbour's host route is gone */
	assert_int_equal(rt_ctl_count(f->dp.rt, AF_INET), 7);
}

static void
test_ip6_decisions(void **state)
{
	struct fixture *f = *state;
	const struct ip6_info info6 = {.len = 40, .l4_off = 40, .l4_proto = IPPROTO_NONE};
	struct rte_ipv6_hdr ip;
	struct inet_addr a;
	uint64_t nh = 0;
	uint32_t nhv = 0;
	int i;

	memset(&ip, 0, sizeof(ip));
	ip.vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip.hop_limits = 64;
	inet_addr_parse("2001:db8:300::5", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv),
			 verdict_punt(DP_PUNT_UNRESOLVED));
	/* many changes: each one swaps the double-buffered table */
	for (i = 0; i < 3; i++) {
		neigh(f, 1, "2001:db8:200::2", mac_up);
		assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv), verdict_fwd(1));
		assert_int_equal(ip.hop_limits, 63);
		ip.hop_limits = 64;
		neigh(f, 1, "2001:db8:200::2", NULL);
		assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv),
			 verdict_punt(DP_PUNT_UNRESOLVED));
	}
	ip.dst_addr[0] = 0xff;
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv),
			 verdict_punt(DP_PUNT_MULTICAST));
	inet_addr_parse("fe80::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv), verdict_punt(DP_PUNT_LOCAL));
	inet_addr_parse("2001:db8:100::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv), verdict_punt(DP_PUNT_LOCAL));
	inet_addr_parse("2001:db8:100::9", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	ip.hop_limits = 1;
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv),
			 verdict_punt(DP_PUNT_TTL_EXPIRED));
	inet_addr_parse("2001:db9::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &info6, &nh, &nhv),
			 verdict_drop(DP_DROP_NO_ROUTE));
}

static void
test_route_sources(void **state)
{
	struct fixture *f = *state;
	struct inet_prefix p;
	unsigned before = rt_ctl_count(f->dp.rt, AF_INET);
	int id;

	assert_int_equal(inet_prefix_parse("192.0.2.0/24", &p), 0);
	/* a second source for the same prefix: static still wins, then the other takes over */
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_CONNECTED, NH_ID_BLACKHOLE), 0);
	assert_int_equal(rt_ctl_count(f->dp.rt, AF_INET), before);
	id = (int)rt_ctl_get(f->dp.rt, &p, RT_SRC_STATIC);
	assert_true(id >= (int)NH_FIRST_DYNAMIC);
	assert_int_equal(rt_lookup4(f->dp.rtt, 0xc0000209u), (uint32_t)id);
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_STATIC, 0), 0);
	assert_int_equal(rt_lookup4(f->dp.rtt, 0xc0000209u), NH_ID_BLACKHOLE);
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_CONNECTED, 0), 0);
	assert_int_equal(rt_lookup4(f->dp.rtt, 0xc0000209u), 0);
	assert_int_equal(rt_ctl_count(f->dp.rt, AF_INET), before - 1);
	/* put it back for the other tests */
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_STATIC, (uint32_t)id), 0);
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_MAX, 5), -EINVAL);
}

static void
test_nh_word(void **state)
{
	const struct rte_ether_addr mac = {{1, 2, 3, 4, 5, 6}};
	struct rte_ether_addr out;
	uint64_t w = nh_word_make(NH_KIND_GATEWAY, true, 9, &mac);

	assert_int_equal(nh_word_kind(w), NH_KIND_GATEWAY);
	assert_true(nh_word_resolved(w));
	assert_int_equal(nh_word_port(w), 9);
	nh_word_mac(w, &out);
	assert_memory_equal(out.addr_bytes, mac.addr_bytes, 6);
}

static void
test_eth_output(void **state)
{
	struct fixture *f = *state;
	const struct rte_ether_addr mac = {{0x02, 0xbb, 0, 0, 0, 9}};
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->pool);
	struct pkt_meta meta = {.l3_off = 22, .ethertype = RTE_ETHER_TYPE_IPV4, .n_vlans = 2};
	struct rte_ether_hdr *eth;
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, 64); /* 22 of headers, 28 of IP, 14 of padding */
	assert_non_null(p);
	memset(p, 0xee, 64);
	p[22] = 0x45;
	assert_true(eth_output_fits(m, &meta, 0));
	eth_output(m, &meta, 28, nh_word_make(NH_KIND_GATEWAY, true, 1, &mac), 0, &f->dp.ports[1]);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 28);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(eth->dst_addr.addr_bytes, mac.addr_bytes, 6);
	assert_memory_equal(eth->src_addr.addr_bytes, f->dp.ports[1].mac.addr_bytes, 6);
	assert_int_equal(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_IPV4);
	assert_int_equal(((uint8_t *)eth)[14], 0x45);
	rte_pktmbuf_free(m);
}


/* ------------------------------------------------------------------ ECMP */

#define FLOWS 1000

struct pkt4 {
	struct rte_ipv4_hdr ip;
	struct rte_udp_hdr udp;
} __rte_packed;

struct pkt6 {
	struct rte_ipv6_hdr ip;
	struct rte_udp_hdr udp;
} __rte_packed;

/* A resolved gateway next hop on up0 whose MAC ends in @tag; returns its id. */
static uint32_t
ecmp_member(struct fixture *f, const char *addr, uint8_t tag)
{
	const uint8_t mac[6] = {0x02, 0xcc, 0, 0, 0, tag};
	struct inet_addr a;
	int id;

	neigh(f, 1, addr, mac);
	assert_int_equal(inet_addr_parse(addr, &a), 0);
	id = nh_ctl_find(f->dp.nh, &a, 1);
	assert_true(id >= (int)NH_FIRST_DYNAMIC);
	return (uint32_t)id;
}

static void
ecmp_route(struct fixture *f, const char *prefix, uint32_t nh)
{
	struct inet_prefix p;

	assert_int_equal(inet_prefix_parse(prefix, &p), 0);
	assert_int_equal(rt_ctl_set(f->dp.rt, &p, RT_SRC_FPM, nh), 0);
}

static struct pkt4
udp4(uint32_t src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct pkt4 p;

	p.ip = mk_ip4(dst, 64);
	p.ip.src_addr = rte_cpu_to_be_32(src);
	p.ip.total_length = rte_cpu_to_be_16(sizeof(p));
	p.udp.src_port = rte_cpu_to_be_16(sport);
	p.udp.dst_port = rte_cpu_to_be_16(dport);
	p.udp.dgram_len = rte_cpu_to_be_16(8);
	p.udp.dgram_cksum = 0;
	return p;
}

/* Forward @p: the last byte of the MAC it goes to, or 0 when punted as unresolved. */
static uint8_t
fwd4(struct fixture *f, struct pkt4 p)
{
	struct rte_ether_addr m;
	uint64_t nh = 0;
	uint32_t nhv = 0;
	verdict_t v = ip4_forward(&f->dp, &p.ip, &nh, &nhv);

	if (v == verdict_punt(DP_PUNT_UNRESOLVED)) {
		assert_int_equal(nh_word_port(nh), 1); /* enforcement still knows the port */
		return 0;
	}
	assert_int_equal(v, verdict_fwd(1));
	nh_word_mac(nh, &m);
	return m.addr_bytes[5];
}

static void
test_ecmp_spread_and_stick4(void **state)
{
	struct fixture *f = *state;
	uint32_t m[4];
	unsigned hits[256] = {0}, i, k;
	int g, g4;

	m[0] = ecmp_member(f, "203.0.113.20", 0xa0);
	m[1] = ecmp_member(f, "203.0.113.21", 0xa1);
	m[2] = ecmp_member(f, "203.0.113.22", 0xa2);
	m[3] = ecmp_member(f, "203.0.113.23", 0xa3);
	g = nh_ctl_group_get(f->dp.nh, m, 2);
	assert_true(g >= (int)NH_FIRST_DYNAMIC);
	assert_int_equal(nh_word_kind(nh_read(f->dp.nht, (uint32_t)g)), NH_KIND_GROUP);
	ecmp_route(f, "192.0.2.128/25", (uint32_t)g);

	/* flows differing only in the source port spread evenly */
	for (i = 0; i < FLOWS; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.200", (uint16_t)(10000 + i), 53))]++;
	assert_int_equal(hits[0xa0] + hits[0xa1], FLOWS);
	assert_in_range(hits[0xa0], FLOWS * 4 / 10, FLOWS * 6 / 10);
	/* and flows differing only in the source address */
	memset(hits, 0, sizeof(hits));
	for (i = 0; i < FLOWS; i++)
		hits[fwd4(f, udp4(0xc6336400u + i, "192.0.2.200", 4000, 53))]++;
	assert_in_range(hits[0xa0], FLOWS * 4 / 10, FLOWS * 6 / 10);
	/* a flow stays on its member, packet after packet */
	for (i = 0; i < 50; i++) {
		uint8_t first = fwd4(f, udp4(0xc6336402u, "192.0.2.200", (uint16_t)(20000 + i), 443));

		for (k = 0; k < 20; k++)
			assert_int_equal(fwd4(f, udp4(0xc6336402u, "192.0.2.200",
						      (uint16_t)(20000 + i), 443)), first);
	}
	/* fragments hash on the addresses only: a datagram's pieces stay together */
	{
		struct pkt4 p = udp4(0xc6336402u, "192.0.2.200", 1, 1);
		uint8_t first;

		p.ip.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
		first = fwd4(f, p);
		for (i = 0; i < 100; i++) {
			p = udp4(0xc6336402u, "192.0.2.200", (uint16_t)(i * 7), (uint16_t)i);
			p.ip.fragment_offset = rte_cpu_to_be_16((uint16_t)(i % 2 ? 0 : 8 + i));
			if (i % 2)
				p.ip.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
			assert_int_equal(fwd4(f, p), first);
		}
	}
	/* four members: about a quarter each */
	g4 = nh_ctl_group_get(f->dp.nh, m, 4);
	assert_true(g4 >= (int)NH_FIRST_DYNAMIC && g4 != g);
	ecmp_route(f, "192.0.2.128/25", (uint32_t)g4);
	nh_ctl_put(f->dp.nh, (uint32_t)g);
	memset(hits, 0, sizeof(hits));
	for (i = 0; i < FLOWS; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.200", (uint16_t)(30000 + i), 80))]++;
	for (k = 0; k < 4; k++)
		assert_in_range(hits[0xa0 + k], FLOWS * 18 / 100, FLOWS * 32 / 100);
	ecmp_route(f, "192.0.2.128/25", 0);
	nh_ctl_put(f->dp.nh, (uint32_t)g4);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
}

static void
test_ecmp_group_change(void **state)
{
	struct fixture *f = *state;
	uint32_t m[3], ac[3];
	unsigned before = nh_ctl_count(f->dp.nh), i;
	unsigned hits[256] = {0};
	int g1, g2, again;

	m[0] = ecmp_member(f, "203.0.113.30", 0xb0);
	m[1] = ecmp_member(f, "203.0.113.31", 0xb1);
	m[2] = ecmp_member(f, "203.0.113.32", 0xb2);
	ac[0] = m[1], ac[1] = m[0];
	g1 = nh_ctl_group_get(f->dp.nh, ac, 2);
	assert_true(g1 >= (int)NH_FIRST_DYNAMIC);
	/* the same members in another order, or repeated: the same group */
	ac[0] = m[0], ac[1] = m[1], ac[2] = m[0];
	again = nh_ctl_group_get(f->dp.nh, ac, 3);
	assert_int_equal(again, g1);
	nh_ctl_put(f->dp.nh, (uint32_t)again);
	/* one distinct member is that member, not a group */
	ac[1] = m[0];
	again = nh_ctl_group_get(f->dp.nh, ac, 3);
	assert_int_equal(again, (int)m[0]);
	nh_ctl_put(f->dp.nh, m[0]);
	/* a group is no member of a group; no members is no group */
	ac[0] = (uint32_t)g1;
	assert_int_equal(nh_ctl_group_get(f->dp.nh, ac, 2), -EINVAL);
	assert_int_equal(nh_ctl_group_get(f->dp.nh, ac, 0), -EINVAL);
	/* nor are local, blackhole or unused ids */
	ac[0] = NH_ID_LOCAL;
	assert_int_equal(nh_ctl_group_get(f->dp.nh, ac, 2), -EINVAL);
	ac[0] = NH_ID_BLACKHOLE;
	assert_int_equal(nh_ctl_group_get(f->dp.nh, ac, 2), -EINVAL);
	ac[0] = NH_MAX - 1;
	assert_int_equal(nh_ctl_group_get(f->dp.nh, ac, 2), -EINVAL);

	ecmp_route(f, "192.0.2.128/25", (uint32_t)g1);
	for (i = 0; i < 200; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.130", (uint16_t)(1000 + i), 53))]++;
	assert_true(hits[0xb0] > 0 && hits[0xb1] > 0 && hits[0xb2] == 0);
	/* b leaves, c joins: a new group, the route switched to it, the old freed */
	ac[0] = m[0], ac[1] = m[2];
	g2 = nh_ctl_group_get(f->dp.nh, ac, 2);
	assert_true(g2 >= (int)NH_FIRST_DYNAMIC && g2 != g1);
	ecmp_route(f, "192.0.2.128/25", (uint32_t)g2);
	nh_ctl_put(f->dp.nh, (uint32_t)g1);
	assert_int_equal(nh_read(f->dp.nht, (uint32_t)g1), 0);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	memset(hits, 0, sizeof(hits));
	for (i = 0; i < 200; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.130", (uint16_t)(1000 + i), 53))]++;
	assert_true(hits[0xb0] > 0 && hits[0xb1] == 0 && hits[0xb2] > 0);
	/* the members' references go with the group: neighbours forgotten, nothing left */
	ecmp_route(f, "192.0.2.128/25", 0);
	nh_ctl_put(f->dp.nh, (uint32_t)g2);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
	neigh(f, 1, "203.0.113.30", NULL);
	neigh(f, 1, "203.0.113.31", NULL);
	neigh(f, 1, "203.0.113.32", NULL);
	assert_int_equal(nh_ctl_count(f->dp.nh), before);
}

static void
test_ecmp_unresolved_member_punts(void **state)
{
	struct fixture *f = *state;
	struct inet_addr a;
	uint32_t m[2];
	unsigned hits[256] = {0}, i;
	int g, u;

	m[0] = ecmp_member(f, "203.0.113.40", 0xc0);
	assert_int_equal(inet_addr_parse("203.0.113.41", &a), 0);
	u = nh_ctl_get(f->dp.nh, &a, 1); /* a gateway not resolved yet */
	assert_true(u >= (int)NH_FIRST_DYNAMIC);
	m[1] = (uint32_t)u;
	g = nh_ctl_group_get(f->dp.nh, m, 2);
	ecmp_route(f, "192.0.2.128/25", (uint32_t)g);
	for (i = 0; i < FLOWS; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.129", (uint16_t)(5000 + i), 53))]++;
	/* the unresolved member's flows go to the kernel, which resolves it */
	assert_in_range(hits[0], FLOWS * 4 / 10, FLOWS * 6 / 10);
	assert_int_equal(hits[0] + hits[0xc0], FLOWS);
	/* once resolved, they are forwarded */
	neigh(f, 1, "203.0.113.41", (const uint8_t[6]){0x02, 0xcc, 0, 0, 0, 0xc1});
	memset(hits, 0, sizeof(hits));
	for (i = 0; i < FLOWS; i++)
		hits[fwd4(f, udp4(0xc6336402u, "192.0.2.129", (uint16_t)(5000 + i), 53))]++;
	assert_int_equal(hits[0], 0);
	assert_int_equal(hits[0xc0] + hits[0xc1], FLOWS);
	ecmp_route(f, "192.0.2.128/25", 0);
	nh_ctl_put(f->dp.nh, (uint32_t)g);
	nh_ctl_put(f->dp.nh, (uint32_t)u);
	neigh(f, 1, "203.0.113.40", NULL);
	neigh(f, 1, "203.0.113.41", NULL);
}

static void
test_ecmp_spread_and_stick6(void **state)
{
	struct fixture *f = *state;
	struct inet_addr a;
	struct rte_ether_addr mac;
	unsigned hits[256] = {0}, i, k;
	uint8_t first[FLOWS];
	uint32_t m[2];
	int g;

	m[0] = ecmp_member(f, "2001:db8:200::20", 0xd0);
	m[1] = ecmp_member(f, "2001:db8:200::21", 0xd1);
	g = nh_ctl_group_get(f->dp.nh, m, 2);
	ecmp_route(f, "2001:db8:500::/48", (uint32_t)g);
	assert_int_equal(inet_addr_parse("2001:db8:500::9", &a), 0);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < FLOWS; i++) {
			/* where a frame puts it: 2 bytes off a 4-byte boundary */
			uint8_t buf[RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + sizeof(struct pkt6)]
				__rte_aligned(8);
			struct rte_ipv6_hdr *ip6 =
				(struct rte_ipv6_hdr *)(buf + RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN);
			struct pkt6 p;
			struct ip6_info info = {.len = sizeof(p), .l4_off = 40,
						.l4_proto = IPPROTO_UDP};
			uint64_t nh = 0;
			uint32_t nhv = 0;

			memset(&p, 0, sizeof(p));
			p.ip.vtc_flow = rte_cpu_to_be_32(6u << 28);
			p.ip.payload_len = rte_cpu_to_be_16(8);
			p.ip.proto = IPPROTO_UDP;
			p.ip.hop_limits = 64;
			p.ip.src_addr[0] = 0x20, p.ip.src_addr[1] = 0x01, p.ip.src_addr[15] = 2;
			memcpy(p.ip.dst_addr, &a.v6, 16);
			p.udp.src_port = rte_cpu_to_be_16((uint16_t)(10000 + i));
			p.udp.dst_port = rte_cpu_to_be_16(53);
			memcpy(ip6, &p, sizeof(p));
			assert_int_equal(ip6_forward(&f->dp, ip6, &info, &nh, &nhv),
					 verdict_fwd(1));
			nh_word_mac(nh, &mac);
			hits[mac.addr_bytes[5]]++;
			if (k == 0)
				first[i] = mac.addr_bytes[5];
			else
				assert_int_equal(mac.addr_bytes[5], first[i]);
		}
	}
	/* the second round took every flow where the first did (asserted above) */
	assert_int_equal(hits[0xd0] + hits[0xd1], 2 * FLOWS);
	assert_in_range(hits[0xd0], 2 * FLOWS * 4 / 10, 2 * FLOWS * 6 / 10);
	ecmp_route(f, "2001:db8:500::/48", 0);
	nh_ctl_put(f->dp.nh, (uint32_t)g);
	neigh(f, 1, "2001:db8:200::20", NULL);
	neigh(f, 1, "2001:db8:200::21", NULL);
}

/* ------------------------------------------------------------------ VLANs */

/* A frame of @l3_off bytes of Ethernet (tags of @tpids) and a 28-byte IPv4 datagram. */
static struct rte_mbuf *
tagged_frame(struct fixture *f, unsigned n_tags, const uint16_t *tpids, struct pkt_meta *meta)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->pool);
	uint16_t l3_off = (uint16_t)(14 + 4 * n_tags);
	uint8_t *p;
	unsigned i;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(l3_off + 28));
	assert_non_null(p);
	memset(p, 0xee, l3_off + 28u);
	for (i = 0; i < n_tags; i++) {
		p[12 + 4 * i] = (uint8_t)(tpids[i] >> 8);
		p[13 + 4 * i] = (uint8_t)tpids[i];
		p[14 + 4 * i] = 0x0f; /* VLAN id 0xfee */
	}
	p[l3_off - 2] = 0x08;
	p[l3_off - 1] = 0x00;
	p[l3_off] = 0x45;
	*meta = (struct pkt_meta){.l3_off = l3_off, .ethertype = RTE_ETHER_TYPE_IPV4,
				  .n_vlans = (uint8_t)n_tags};
	return m;
}

static void
expect_header(struct rte_mbuf *m, const struct fixture *f, const struct rte_ether_addr *dst,
	      const uint8_t *tags, size_t tags_len)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + tags_len + 28);
	assert_memory_equal(p, dst->addr_bytes, 6);
	assert_memory_equal(p + 6, f->dp.ports[0].mac.addr_bytes, 6);
	if (tags_len > 0)
		assert_memory_equal(p + 12, tags, tags_len);
	assert_int_equal(p[12 + tags_len], 0x08);
	assert_int_equal(p[13 + tags_len], 0x00);
	assert_int_equal(p[14 + tags_len], 0x45);
}

/*
 * eth_output pushes the next hop's tags: one 802.1Q tag, or 802.1ad outside
 * 802.1Q; whatever tags the packet came with are replaced; priority 0.
 */
static void
test_eth_output_tags(void **state)
{
	struct fixture *f = *state;
	const struct rte_ether_addr mac = {{0x02, 0xbb, 0, 0, 0, 7}};
	const uint64_t nh = nh_word_make(NH_KIND_GATEWAY, true, 0, &mac);
	const uint16_t two[2] = {0x8100, 0x8100}, one[1] = {0x88a8};
	static const uint8_t dot1q[] = {0x81, 0x00, 0x00, 0x64};
	static const uint8_t qinq[] = {0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x01, 0x2c};
	struct pkt_meta meta;
	struct rte_mbuf *m;

	/* untagged in, one tag out: 4 bytes of headroom taken */
	m = tagged_frame(f, 0, NULL, &meta);
	assert_true(eth_output_fits(m, &meta, NH_VLAN(100, 0)));
	eth_output(m, &meta, 28, nh, NH_VLAN(100, 0), &f->dp.ports[0]);
	expect_header(m, f, &mac, dot1q, sizeof(dot1q));
	rte_pktmbuf_free(m);
	/* untagged in, a pair out */
	m = tagged_frame(f, 0, NULL, &meta);
	eth_output(m, &meta, 28, nh, NH_VLAN(200, 300), &f->dp.ports[0]);
	expect_header(m, f, &mac, qinq, sizeof(qinq));
	rte_pktmbuf_free(m);
	/* two tags in (as af_packet hands them: 0x8100 twice), one out */
	m = tagged_frame(f, 2, two, &meta);
	eth_output(m, &meta, 28, nh, NH_VLAN(100, 0), &f->dp.ports[0]);
	expect_header(m, f, &mac, dot1q, sizeof(dot1q));
	rte_pktmbuf_free(m);
	/* one tag in, a pair out; and a pair in, none out */
	m = tagged_frame(f, 1, one, &meta);
	eth_output(m, &meta, 28, nh, NH_VLAN(200, 300), &f->dp.ports[0]);
	expect_header(m, f, &mac, qinq, sizeof(qinq));
	rte_pktmbuf_free(m);
	m = tagged_frame(f, 2, two, &meta);
	eth_output(m, &meta, 28, nh, 0, &f->dp.ports[0]);
	expect_header(m, f, &mac, NULL, 0);
	rte_pktmbuf_free(m);
}

/* More tags than the frame came with need headroom; without it, no rewrite. */
static void
test_eth_output_headroom(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta meta;
	struct rte_mbuf *m = tagged_frame(f, 0, NULL, &meta);
	uint8_t copy[42];

	memcpy(copy, rte_pktmbuf_mtod(m, void *), sizeof(copy));
	/* move the frame to the front of the buffer: 4 bytes of headroom left */
	m->data_off = 4;
	memcpy(rte_pktmbuf_mtod(m, void *), copy, sizeof(copy));
	assert_true(eth_output_fits(m, &meta, NH_VLAN(100, 0)));
	assert_false(eth_output_fits(m, &meta, NH_VLAN(200, 300)));
	assert_true(eth_output_fits(m, &meta, 0));
	m->data_off = 0;
	assert_false(eth_output_fits(m, &meta, NH_VLAN(100, 0)));
	/* a tagged frame has room for as many tags in place */
	meta.l3_off = 22;
	assert_true(eth_output_fits(m, &meta, NH_VLAN(200, 300)));
	rte_pktmbuf_free(m);
}

/* Punted tags take the form of the kernel's sub-interfaces. */
static void
test_vlan_punt_normalise(void **state)
{
	struct fixture *f = *state;
	const uint16_t two[2] = {0x8100, 0x8100}, one[1] = {0x9100};
	struct pkt_meta meta;
	struct rte_mbuf *m;
	uint8_t *p;

	m = tagged_frame(f, 2, two, &meta);
	p = rte_pktmbuf_mtod(m, uint8_t *);
	vlan_punt_normalise(p, &meta);
	assert_int_equal(p[12] << 8 | p[13], 0x88a8);
	assert_int_equal(p[16] << 8 | p[17], 0x8100);
	assert_int_equal(p[14] << 8 | p[15], 0x0fee); /* the ids stay */
	assert_int_equal(p[20] << 8 | p[21], 0x0800);
	rte_pktmbuf_free(m);
	m = tagged_frame(f, 1, one, &meta);
	p = rte_pktmbuf_mtod(m, uint8_t *);
	vlan_punt_normalise(p, &meta);
	assert_int_equal(p[12] << 8 | p[13], 0x8100);
	assert_int_equal(p[16] << 8 | p[17], 0x0800);
	rte_pktmbuf_free(m);
	m = tagged_frame(f, 0, NULL, &meta);
	p = rte_pktmbuf_mtod(m, uint8_t *);
	vlan_punt_normalise(p, &meta);
	assert_int_equal(p[12] << 8 | p[13], 0x0800);
	rte_pktmbuf_free(m);
}

/*
 * A neighbour the kernel learns on a VLAN interface is a next hop on that
 * VLAN: the route to it forwards with the VLAN; an unresolved host of the
 * VLAN's subnet punts naming the VLAN; a static route via a gateway on the
 * QinQ pair waits for it; a neighbour off the VLAN's subnets is ignored.
 */
static void
test_vlan_next_hops(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac_v[6] = {0x02, 0xdd, 0, 0, 0, 0x64};
	const uint8_t mac_q[6] = {0x02, 0xdd, 0, 0, 0, 0xc8};
	struct rte_ipv4_hdr ip;
	struct rte_ether_addr m;
	struct inet_addr a;
	unsigned port;
	uint32_t nhv = 0, vlan;
	uint64_t nh = 0;
	int id;

	assert_int_equal(dp_ifindex_port(&f->dp, 200, &port, &vlan), 0);
	assert_int_equal(port, 0);
	assert_int_equal(vlan, NH_VLAN(100, 0));
	assert_int_equal(dp_ifindex_port(&f->dp, f->dp.ports[1].tap_ifindex, &port, &vlan), 0);
	assert_int_equal(port, 1);
	assert_int_equal(vlan, 0);
	assert_int_equal(dp_ifindex_port(&f->dp, 999, &port, &vlan), -ENOENT);

	/* unresolved host of VLAN 100: punted, classified as the VLAN's */
	ip = mk_ip4("198.51.100.130", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nh_word_port(nh), 0);
	assert_int_equal(nhv, NH_VLAN(100, 0));
	/* the untagged subnet stays untagged */
	ip = mk_ip4("198.51.100.20", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nhv, 0);

	/* learned on tap-cust0.100 */
	assert_int_equal(inet_addr_parse("198.51.100.130", &a), 0);
	dp_neigh_event(&f->dp, 200, &a, mac_v);
	id = nh_ctl_find_vlan(f->dp.nh, &a, 0, NH_VLAN(100, 0));
	assert_true(id >= (int)NH_FIRST_DYNAMIC);
	assert_int_equal(nh_ctl_find(f->dp.nh, &a, 0), -ENOENT); /* not the untagged one */
	ip = mk_ip4("198.51.100.130", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_fwd(0));
	assert_int_equal(nhv, NH_VLAN(100, 0));
	nh_word_mac(nh, &m);
	assert_memory_equal(m.addr_bytes, mac_v, 6);
	/* an address of another subnet reported on that VLAN is not its neighbour */
	assert_int_equal(inet_addr_parse("198.51.100.20", &a), 0);
	dp_neigh_event(&f->dp, 200, &a, mac_v);
	assert_int_equal(nh_ctl_find_vlan(f->dp.nh, &a, 0, NH_VLAN(100, 0)), -ENOENT);

	/* the static route's gateway on the QinQ pair, resolved there */
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nhv, NH_VLAN(200, 300));
	assert_int_equal(inet_addr_parse("198.51.100.194", &a), 0);
	dp_neigh_event(&f->dp, 201, &a, mac_q);
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_fwd(0));
	assert_int_equal(nhv, NH_VLAN(200, 300));

	/* gone: back to the VLAN's connected next hop */
	assert_int_equal(inet_addr_parse("198.51.100.130", &a), 0);
	dp_neigh_event(&f->dp, 200, &a, NULL);
	ip = mk_ip4("198.51.100.130", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh, &nhv), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nhv, NH_VLAN(100, 0));
	assert_int_equal(inet_addr_parse("198.51.100.194", &a), 0);
	dp_neigh_event(&f->dp, 201, &a, NULL);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0",
		       "--log-level", "error", "--no-telemetry", NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nh_word),
		cmocka_unit_test(test_ip4_decisions),
		cmocka_unit_test(test_ip6_decisions),
		cmocka_unit_test(test_route_sources),
		cmocka_unit_test(test_eth_output),
		cmocka_unit_test(test_ecmp_spread_and_stick4),
		cmocka_unit_test(test_ecmp_group_change),
		cmocka_unit_test(test_ecmp_unresolved_member_punts),
		cmocka_unit_test(test_ecmp_spread_and_stick6),
	};
	int ret;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	const struct CMUnitTest vlan_tests[] = {
		cmocka_unit_test(test_eth_output_tags),
		cmocka_unit_test(test_eth_output_headroom),
		cmocka_unit_test(test_vlan_punt_normalise),
		cmocka_unit_test(test_vlan_next_hops),
	};
	ret = cmocka_run_group_tests_name("fastpath", tests, setup, teardown);
	ret |= cmocka_run_group_tests_name("fastpath_vlan", vlan_tests, setup_vlan, teardown);
	rte_eal_cleanup();
	return ret;
}
