/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables and forwarding decisions with a minimal EAL (no hugepages, no
 * devices): next hops, route sources, neighbour events from the kernel, the
 * IPv4/IPv6 forward stages and the Ethernet rewrite.
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

static int
setup(void **state)
{
	static struct fixture f;
	char err[256];
	unsigned i;

	memset(&f.dp, 0, sizeof(f.dp));
	assert_int_equal(dp_config_parse("t", conf_text, strlen(conf_text), &f.cfg, err,
					 sizeof(err)), 0);
	f.dp.cfg = f.cfg;
	f.dp.n_ports = f.cfg->n_ports;
	f.dp.n_workers = 1;
	for (i = 0; i < f.dp.n_ports; i++) {
		f.dp.ports[i].cfg = &f.cfg->ports[i];
		f.dp.ports[i].tap_ifindex = 100 + (int)i;
		f.dp.ports[i].mac.addr_bytes[0] = 0x02;
		f.dp.ports[i].mac.addr_bytes[5] = (uint8_t)(0x10 + i);
	}
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
teardown(void **state)
{
	struct fixture *f = *state;

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
	verdict_t v;

	ip = mk_ip4("198.51.100.1", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_LOCAL));
	ip = mk_ip4("198.51.100.255", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_LOCAL));
	ip = mk_ip4("224.0.0.5", 1);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_MULTICAST));
	ip = mk_ip4("8.8.8.8", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_drop(DP_DROP_NO_ROUTE));
	/* connected, neighbour unknown; and the static route's gateway unresolved:
	 * punted, naming the output port so that enforcement still applies */
	ip = mk_ip4("203.0.113.2", 64);
	nh = 0;
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nh_word_port(nh), 1);
	ip = mk_ip4("192.0.2.9", 64);
	nh = 0;
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	assert_int_equal(nh_word_port(nh), 1);
	assert_int_equal(ip.time_to_live, 64); /* the kernel decrements it */

	/* the kernel learns 203.0.113.2: both go to it now */
	neigh(f, 1, "203.0.113.2", mac_up);
	ip = mk_ip4("203.0.113.2", 64);
	v = ip4_forward(&f->dp, &ip, &nh);
	assert_int_equal(v, verdict_fwd(1));
	nh_word_mac(nh, &m);
	assert_memory_equal(m.addr_bytes, mac_up, 6);
	assert_int_equal(ip.time_to_live, 63);
	assert_int_equal(rte_raw_cksum(&ip, sizeof(ip)), 0xffff); /* RFC 1624 update is right */
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_fwd(1));
	ip = mk_ip4("192.0.2.9", 1);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_TTL_EXPIRED));
	assert_int_equal(ip.time_to_live, 1);

	/* a neighbour learned on the wrong port's tap, or off-subnet, changes nothing */
	neigh(f, 0, "192.0.2.77", mac_up);
	ip = mk_ip4("192.0.2.77", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_fwd(1));

	/* gone again: back to the slow path, never lost */
	neigh(f, 1, "203.0.113.2", NULL);
	ip = mk_ip4("203.0.113.2", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	ip = mk_ip4("192.0.2.9", 64);
	assert_int_equal(ip4_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	/* the static route keeps its next hop; the neighbour's host route is gone */
	assert_int_equal(rt_ctl_count(f->dp.rt, AF_INET), 7);
}

static void
test_ip6_decisions(void **state)
{
	struct fixture *f = *state;
	struct rte_ipv6_hdr ip;
	struct inet_addr a;
	uint64_t nh = 0;
	int i;

	memset(&ip, 0, sizeof(ip));
	ip.vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip.hop_limits = 64;
	inet_addr_parse("2001:db8:300::5", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	/* many changes: each one swaps the double-buffered table */
	for (i = 0; i < 3; i++) {
		neigh(f, 1, "2001:db8:200::2", mac_up);
		assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_fwd(1));
		assert_int_equal(ip.hop_limits, 63);
		ip.hop_limits = 64;
		neigh(f, 1, "2001:db8:200::2", NULL);
		assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_UNRESOLVED));
	}
	ip.dst_addr[0] = 0xff;
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_MULTICAST));
	inet_addr_parse("fe80::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_LOCAL));
	inet_addr_parse("2001:db8:100::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_LOCAL));
	inet_addr_parse("2001:db8:100::9", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	ip.hop_limits = 1;
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_punt(DP_PUNT_TTL_EXPIRED));
	inet_addr_parse("2001:db9::1", &a);
	memcpy(ip.dst_addr, &a.v6, 16);
	assert_int_equal(ip6_forward(&f->dp, &ip, &nh), verdict_drop(DP_DROP_NO_ROUTE));
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
	eth_output(m, &meta, 28, nh_word_make(NH_KIND_GATEWAY, true, 1, &mac), &f->dp.ports[1]);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 28);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_memory_equal(eth->dst_addr.addr_bytes, mac.addr_bytes, 6);
	assert_memory_equal(eth->src_addr.addr_bytes, f->dp.ports[1].mac.addr_bytes, 6);
	assert_int_equal(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_IPV4);
	assert_int_equal(((uint8_t *)eth)[14], 0x45);
	rte_pktmbuf_free(m);
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
	};
	int ret;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	ret = cmocka_run_group_tests_name("fastpath", tests, setup, teardown);
	rte_eal_cleanup();
	return ret;
}
