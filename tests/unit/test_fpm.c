/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FPM decoder (drivers/fpm.c) on golden frames as zebra's dplane_fpm_nl
 * writes them, and on every way a frame can be cut or bent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "drivers/fpm.h"

/* A frame under construction: FPM header, then netlink messages. */
struct frame {
	uint8_t b[4096];
	size_t len;
	size_t msg;  /* start of the current netlink message */
	size_t nest; /* start of an open RTA_MULTIPATH, or 0 */
};

static void
put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	if (n == 0)
		return;
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void
pad(struct frame *f)
{
	while (f->len % 4)
		f->b[f->len++] = 0;
}

static void
set16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void
set32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
frame_start(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	f->b[0] = 1;
	f->b[1] = 1;
	f->len = 4;
}

static void
msg_start(struct frame *f, uint16_t type, const void *fixed, size_t n)
{
	uint8_t hdr[16] = {0};

	f->msg = f->len;
	set16(hdr + 4, type);
	put(f, hdr, sizeof(hdr));
	put(f, fixed, n);
}

static void
msg_end(struct frame *f)
{
	set32(f->b + f->msg, (uint32_t)(f->len - f->msg));
	pad(f);
}

static void
frame_end(struct frame *f)
{
	f->b[2] = (uint8_t)(f->len >> 8);
	f->b[3] = (uint8_t)f->len;
}

static void
attr(struct frame *f, uint16_t type, const void *p, size_t n)
{
	uint8_t h[4];

	set16(h, (uint16_t)(4 + n));
	set16(h + 2, type);
	put(f, h, 4);
	put(f, p, n);
	pad(f);
}

static void
attr32(struct frame *f, uint16_t type, uint32_t v)
{
	attr(f, type, &v, 4);
}

static void
route_msg(struct frame *f, uint16_t type, uint8_t family, uint8_t dst_len, uint8_t proto,
	  uint8_t rtype)
{
	uint8_t rtm[12] = {family, dst_len, 0, 0, RT_TABLE_MAIN, proto, RT_SCOPE_UNIVERSE, rtype};

	msg_start(f, type, rtm, sizeof(rtm));
}

static struct in_addr
a4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in6_addr
a6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* RTM_NEWROUTE 192.0.2.0/24 via 203.0.113.2 dev 7, proto bgp, as zebra sends it. */
static void
golden_v4(struct frame *f)
{
	struct in_addr d = a4("192.0.2.0"), g = a4("203.0.113.2");

	frame_start(f);
	route_msg(f, RTM_NEWROUTE, AF_INET, 24, 186, RTN_UNICAST);
	attr(f, RTA_DST, &d, 4);
	attr32(f, RTA_PRIORITY, 20);
	attr(f, RTA_GATEWAY, &g, 4);
	attr32(f, RTA_OIF, 7);
	msg_end(f);
	frame_end(f);
}

static int
decode(const struct frame *f, struct fpm_msg *m, unsigned max, char *why)
{
	why[0] = '\0';
	return fpm_decode(f->b, f->len, m, max, why, 256);
}

static void
test_route_v4(void **state)
{
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame f;
	char why[256];

	golden_v4(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 1);
	assert_int_equal(m[0].kind, FPM_MSG_ROUTE_ADD);
	assert_int_equal(m[0].route.dst.addr.family, AF_INET);
	assert_int_equal(m[0].route.dst.len, 24);
	assert_int_equal(m[0].route.dst.addr.v4.s_addr, a4("192.0.2.0").s_addr);
	assert_int_equal(m[0].route.protocol, 186);
	assert_int_equal(m[0].route.table, RT_TABLE_MAIN);
	assert_int_equal(m[0].route.type, FPM_RT_UNICAST);
	assert_int_equal(m[0].route.n_paths, 1);
	assert_int_equal(m[0].route.paths[0].oif, 7);
	assert_int_equal(m[0].route.paths[0].gw.family, AF_INET);
	assert_int_equal(m[0].route.paths[0].gw.v4.s_addr, a4("203.0.113.2").s_addr);
}

/* IPv6 ECMP with a link-local gateway (BGP over IPv6), table in RTA_TABLE. */
static void
test_route_v6_multipath(void **state)
{
	struct in6_addr d = a6("2001:db8:300::"), g1 = a6("fe80::1"), g2 = a6("2001:db8:200::3");
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame f;
	char why[256];
	size_t mp;
	uint8_t nh[8] = {0};

	frame_start(&f);
	route_msg(&f, RTM_NEWROUTE, AF_INET6, 48, 186, RTN_UNICAST);
	attr32(&f, RTA_TABLE, RT_TABLE_MAIN);
	attr(&f, RTA_DST, &d, 16);
	mp = f.len;
	attr(&f, RTA_MULTIPATH, NULL, 0);
	set32(nh + 4, 7);
	set16(nh, 8 + 20);
	put(&f, nh, 8);
	attr(&f, RTA_GATEWAY, &g1, 16);
	set32(nh + 4, 8);
	put(&f, nh, 8);
	attr(&f, RTA_GATEWAY, &g2, 16);
	set16(f.b + mp, (uint16_t)(f.len - mp));
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 1);
	assert_int_equal(m[0].route.n_paths, 2);
	assert_int_equal(m[0].route.paths[0].oif, 7);
	assert_memory_equal(&m[0].route.paths[0].gw.v6, &g1, 16);
	assert_int_equal(m[0].route.paths[1].oif, 8);
	assert_memory_equal(&m[0].route.paths[1].gw.v6, &g2, 16);
}

/* An update: RTM_DELROUTE then RTM_NEWROUTE in one frame; a route by next-hop id. */
static void
test_two_messages_and_nh_id(void **state)
{
	struct in_addr d = a4("198.51.100.0");
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame f;
	char why[256];

	frame_start(&f);
	route_msg(&f, RTM_DELROUTE, AF_INET, 24, 196, RTN_UNICAST);
	attr(&f, RTA_DST, &d, 4);
	msg_end(&f);
	route_msg(&f, RTM_NEWROUTE, AF_INET, 24, 196, RTN_UNICAST);
	attr(&f, RTA_DST, &d, 4);
	attr32(&f, RTA_NH_ID, 42);
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 2);
	assert_int_equal(m[0].kind, FPM_MSG_ROUTE_DEL);
	assert_int_equal(m[1].kind, FPM_MSG_ROUTE_ADD);
	assert_int_equal(m[1].route.nh_id, 42);
	assert_int_equal(m[1].route.n_paths, 0);
	/* room for one message only: refused, not overflowed */
	assert_int_equal(decode(&f, m, 1, why), -EBADMSG);
}

static void
test_nexthop_objects(void **state)
{
	uint8_t nhm[8] = {AF_INET6, 0, 0, 0};
	uint8_t grp[16] = {0};
	struct in6_addr g = a6("fe80::2");
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame f;
	char why[256];

	frame_start(&f);
	msg_start(&f, RTM_NEWNEXTHOP, nhm, sizeof(nhm));
	attr32(&f, NHA_ID, 10);
	attr(&f, NHA_GATEWAY, &g, 16);
	attr32(&f, NHA_OIF, 7);
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 1);
	assert_int_equal(m[0].kind, FPM_MSG_NH_ADD);
	assert_int_equal(m[0].nh.id, 10);
	assert_int_equal(m[0].nh.path.oif, 7);
	assert_memory_equal(&m[0].nh.path.gw.v6, &g, 16);

	nhm[0] = AF_UNSPEC;
	set32(grp, 10);
	set32(grp + 8, 11);
	frame_start(&f);
	msg_start(&f, RTM_NEWNEXTHOP, nhm, sizeof(nhm));
	attr32(&f, NHA_ID, 12);
	attr(&f, NHA_GROUP, grp, sizeof(grp));
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 1);
	assert_int_equal(m[0].nh.n_group, 2);
	assert_int_equal(m[0].nh.group[1], 11);

	/* a group member of id 0, and a next hop without an id, are refused */
	set32(grp + 8, 0);
	frame_start(&f);
	msg_start(&f, RTM_NEWNEXTHOP, nhm, sizeof(nhm));
	attr32(&f, NHA_ID, 12);
	attr(&f, NHA_GROUP, grp, sizeof(grp));
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), -EBADMSG);
	assert_non_null(strstr(why, "id 0"));
	frame_start(&f);
	msg_start(&f, RTM_DELNEXTHOP, nhm, sizeof(nhm));
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), -EBADMSG);
	assert_non_null(strstr(why, "NHA_ID"));
}

/* A bad frame is refused with a reason that says what is wrong. */
static void
expect_bad(const struct frame *f, const char *reason)
{
	struct fpm_msg m[FPM_MAX_MSGS];
	char why[256];

	assert_int_equal(decode(f, m, FPM_MAX_MSGS, why), -EBADMSG);
	if (strstr(why, reason) == NULL)
		fail_msg("reason '%s' does not mention '%s'", why, reason);
}

static void
test_bad_frames(void **state)
{
	struct in_addr g = a4("203.0.113.2");
	struct frame f;

	golden_v4(&f);
	f.b[0] = 2;
	expect_bad(&f, "version 2");
	golden_v4(&f);
	f.b[1] = 0;
	expect_bad(&f, "type 0");
	golden_v4(&f);
	f.b[3]++; /* header longer than the bytes */
	expect_bad(&f, "frame has");
	golden_v4(&f);
	set32(f.b + 4, 9000); /* netlink length past the frame */
	expect_bad(&f, "netlink message 0 has length 9000");
	golden_v4(&f);
	set32(f.b + 4, 8); /* shorter than its own header */
	expect_bad(&f, "length 8");
	golden_v4(&f);
	f.b[4 + 16 + 1] = 33; /* /33 */
	expect_bad(&f, "prefix length 33");
	golden_v4(&f);
	set16(f.b + 4 + 16 + 12, 3); /* first attribute shorter than its header */
	expect_bad(&f, "attribute 1 has length 3");
	golden_v4(&f);
	set16(f.b + 4 + 16 + 12, 6); /* RTA_DST of 2 bytes */
	expect_bad(&f, "RTA_DST");
	/* a gateway twice */
	golden_v4(&f);
	f.len -= 8 + 8; /* drop RTA_GATEWAY and RTA_OIF, add two gateways */
	attr(&f, RTA_GATEWAY, &g, 4);
	attr(&f, RTA_GATEWAY, &g, 4);
	msg_end(&f);
	frame_end(&f);
	expect_bad(&f, "twice");
	/* prefix length without RTA_DST */
	frame_start(&f);
	route_msg(&f, RTM_NEWROUTE, AF_INET, 24, 186, RTN_UNICAST);
	msg_end(&f);
	frame_end(&f);
	expect_bad(&f, "without RTA_DST");
}

/* Every truncation of a good frame, with the header made consistent or not, is refused. */
static void
test_truncations(void **state)
{
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame good, f;
	char why[256];
	size_t n;

	golden_v4(&good);
	for (n = 0; n < good.len; n++) {
		f = good;
		f.len = n;
		assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), -EBADMSG);
		if (n >= 4) {
			frame_end(&f); /* header agrees: the netlink inside is cut */
			if (decode(&f, m, FPM_MAX_MSGS, why) >= 0)
				fail_msg("truncated to %zu bytes and accepted", n);
		}
	}
}

/* Valid netlink we do not use (neighbours, MPLS) is skipped, not an error. */
static void
test_other_messages(void **state)
{
	uint8_t ndm[12] = {AF_INET};
	struct fpm_msg m[FPM_MAX_MSGS];
	struct frame f;
	char why[256];

	frame_start(&f);
	msg_start(&f, RTM_NEWNEIGH, ndm, sizeof(ndm));
	msg_end(&f);
	route_msg(&f, RTM_NEWROUTE, 28 /* AF_MPLS */, 20, 11, RTN_UNICAST);
	msg_end(&f);
	frame_end(&f);
	assert_int_equal(decode(&f, m, FPM_MAX_MSGS, why), 2);
	assert_int_equal(m[0].kind, FPM_MSG_OTHER);
	assert_int_equal(m[1].kind, FPM_MSG_OTHER);
}

static void
test_frame_len(void **state)
{
	uint8_t hdr[4] = {1, 1, 0x01, 0x00};
	char why[256];
	size_t len = 0;

	assert_int_equal(fpm_frame_len(hdr, 3, &len, why, sizeof(why)), -EAGAIN);
	assert_int_equal(fpm_frame_len(hdr, 4, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 256);
	hdr[2] = 0;
	hdr[3] = 19;
	assert_int_equal(fpm_frame_len(hdr, 4, &len, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "length 19"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_v4),
		cmocka_unit_test(test_route_v6_multipath),
		cmocka_unit_test(test_two_messages_and_nh_id),
		cmocka_unit_test(test_nexthop_objects),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_other_messages),
		cmocka_unit_test(test_frame_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
