/* SPDX-License-Identifier: BSD-3-Clause */
/* Input stages of the fast path on hand-made frames: Ethernet/VLAN, IPv4, IPv6. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/nodes/eth_input.h"
#include "dataplane/nodes/ip4_input.h"
#include "dataplane/nodes/ip6_input.h"

static const struct rte_ether_addr own = {{0x02, 0, 0, 0, 0, 1}};

/* Ethernet header to @own with @type; returns bytes written. */
static size_t
eth(uint8_t *f, uint16_t type)
{
	memcpy(f, own.addr_bytes, 6);
	memset(f + 6, 0x22, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static size_t
ip4(uint8_t *p, uint8_t ihl_words, uint16_t tot, uint32_t src, uint32_t dst)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

	memset(p, 0, (size_t)ihl_words * 4 < 20 ? 20 : (size_t)ihl_words * 4);
	ip->version_ihl = (uint8_t)(0x40 | ihl_words);
	ip->total_length = rte_cpu_to_be_16(tot);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	if (ihl_words >= 5)
		ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, (size_t)ihl_words * 4);
	return 20;
}

#define SRC4 0xc6336402u /* 198.51.100.2 */
#define DST4 0xcb007102u /* 203.0.113.2 */

static void
test_eth(void **state)
{
	uint8_t f[64] = {0};
	struct pkt_meta m;

	assert_int_equal(eth_input(f, 13, &own, &m), DP_DROP_ETH_TRUNCATED);
	eth(f, RTE_ETHER_TYPE_IPV4);
	assert_int_equal(eth_input(f, 60, &own, &m), DP_DROP_NONE);
	assert_int_equal(m.l3_off, 14);
	assert_int_equal(m.ethertype, RTE_ETHER_TYPE_IPV4);
	assert_int_equal(m.group, 0);

	f[0] = 0x02;
	f[5] = 0x99; /* someone else's unicast */
	assert_int_equal(eth_input(f, 60, &own, &m), DP_DROP_NOT_FOR_US);
	memset(f, 0xff, 6); /* broadcast */
	assert_int_equal(eth_input(f, 60, &own, &m), DP_DROP_NONE);
	assert_int_equal(m.group, 1);
}

static void
test_vlan(void **state)
{
	uint8_t f[64] = {0};
	struct pkt_meta m;

	eth(f, RTE_ETHER_TYPE_QINQ);
	f[14] = 0x00, f[15] = 100, f[16] = 0x81, f[17] = 0x00; /* S-VLAN 100 */
	f[18] = 0x20, f[19] = 200, f[20] = 0x86, f[21] = 0xdd; /* C-VLAN 200, prio 1 */
	assert_int_equal(eth_input(f, 60, &own, &m), DP_DROP_NONE);
	assert_int_equal(m.n_vlans, 2);
	assert_int_equal(m.vlan_tci[0], 100);
	assert_int_equal(m.vlan_tci[1], 0x2000 | 200);
	assert_int_equal(m.ethertype, RTE_ETHER_TYPE_IPV6);
	assert_int_equal(m.l3_off, 22);

	assert_int_equal(eth_input(f, 20, &own, &m), DP_DROP_VLAN_TRUNCATED);
	f[20] = 0x81, f[21] = 0x00; /* a third tag */
	assert_int_equal(eth_input(f, 60, &own, &m), DP_DROP_VLAN_TOO_DEEP);
}

static void
test_ip4(void **state)
{
	uint8_t p[80];
	uint16_t len = 0;

	ip4(p, 5, 28, SRC4, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_NONE); /* Ethernet padding after 28 */
	assert_int_equal(len, 28);
	assert_int_equal(ip4_input(p, 19, &len), DP_DROP_IP4_TRUNCATED);
	ip4(p, 4, 28, SRC4, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_BAD_IHL);
	ip4(p, 15, 60, SRC4, DST4);
	assert_int_equal(ip4_input(p, 40, &len), DP_DROP_IP4_BAD_IHL);
	ip4(p, 5, 100, SRC4, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_BAD_LENGTH);
	ip4(p, 6, 20, SRC4, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_BAD_LENGTH);
	ip4(p, 5, 28, SRC4, DST4);
	p[0] = 0x65;
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_BAD_VERSION);
	ip4(p, 5, 28, SRC4, DST4);
	p[8] = 63; /* TTL changed, checksum not */
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_BAD_CHECKSUM);
	ip4(p, 5, 28, 0x7f000001u, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_MARTIAN);
	ip4(p, 5, 28, SRC4, 0x7f000001u);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_MARTIAN);
	ip4(p, 5, 28, 0xe0000001u, DST4);
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_IP4_MARTIAN);
	ip4(p, 5, 28, 0, 0xffffffffu); /* DHCP discover is fine */
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_NONE);
	ip4(p, 7, 28, SRC4, DST4); /* options */
	assert_int_equal(ip4_input(p, 46, &len), DP_DROP_NONE);
}

static size_t
ip6(uint8_t *p, uint8_t proto, uint16_t plen)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

	memset(p, 0, 40);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(plen);
	ip->proto = proto;
	ip->hop_limits = 64;
	ip->src_addr[0] = 0x20, ip->src_addr[1] = 0x01, ip->src_addr[15] = 2;
	ip->dst_addr[0] = 0x20, ip->dst_addr[1] = 0x01, ip->dst_addr[15] = 3;
	return 40;
}

static void
test_ip6(void **state)
{
	uint8_t p[600];
	struct ip6_info info;
	unsigned i;

	ip6(p, IPPROTO_UDP, 8);
	assert_int_equal(ip6_input(p, 48, &info), DP_DROP_NONE);
	assert_int_equal(info.len, 48);
	assert_int_equal(info.l4_proto, IPPROTO_UDP);
	assert_int_equal(ip6_input(p, 39, &info), DP_DROP_IP6_TRUNCATED);
	assert_int_equal(ip6_input(p, 47, &info), DP_DROP_IP6_BAD_LENGTH);
	p[0] = 0x40;
	assert_int_equal(ip6_input(p, 48, &info), DP_DROP_IP6_BAD_VERSION);

	/* hop-by-hop (8) + destination options (16) + UDP */
	ip6(p, IPPROTO_HOPOPTS, 8 + 16 + 8);
	p[40] = IPPROTO_DSTOPTS, p[41] = 0;
	p[48] = IPPROTO_UDP, p[49] = 1;
	assert_int_equal(ip6_input(p, 72, &info), DP_DROP_NONE);
	assert_int_equal(info.l4_proto, IPPROTO_UDP);
	assert_int_equal(info.l4_off, 64);
	/* the destination options header claims more than is there */
	p[49] = 5;
	assert_int_equal(ip6_input(p, 72, &info), DP_DROP_IP6_EXT_TRUNCATED);
	/* a chain that stops mid header */
	ip6(p, IPPROTO_DSTOPTS, 4);
	assert_int_equal(ip6_input(p, 44, &info), DP_DROP_IP6_EXT_TRUNCATED);
	/* too many headers */
	ip6(p, IPPROTO_DSTOPTS, 20 * 8);
	for (i = 0; i < 20; i++) {
		p[40 + i * 8] = i == 19 ? IPPROTO_UDP : IPPROTO_DSTOPTS;
		p[41 + i * 8] = 0;
	}
	assert_int_equal(ip6_input(p, 200, &info), DP_DROP_IP6_EXT_TOO_MANY);
	/* a later fragment ends the walk */
	ip6(p, IPPROTO_FRAGMENT, 16);
	p[40] = IPPROTO_UDP, p[42] = 0x01, p[43] = 0x00;
	assert_int_equal(ip6_input(p, 56, &info), DP_DROP_NONE);
	assert_int_equal(info.l4_proto, IPPROTO_FRAGMENT);
	/* loopback source */
	ip6(p, IPPROTO_UDP, 8);
	memset(((struct rte_ipv6_hdr *)p)->src_addr, 0, 16);
	((struct rte_ipv6_hdr *)p)->src_addr[15] = 1;
	assert_int_equal(ip6_input(p, 48, &info), DP_DROP_IP6_MARTIAN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_ip6),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
