/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Subscriber tables and the enforcement stages with a minimal EAL: batches
 * that apply whole or not at all, classification both ways, availability,
 * trTCM policing with colour actions, counters that survive changes, and
 * the IPv4 host-address table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "dataplane/nodes/sub_enforce.h"

static struct sub_ctl *released_ctl;

struct fixture {
	struct rte_rcu_qsbr *qsv;
	struct sub_ctl *ctl;
	const struct sub_tables *t;
};

static int
setup(void **state)
{
	static struct fixture f;

	f.qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(f.qsv);
	assert_int_equal(rte_rcu_qsbr_init(f.qsv, 1), 0);
	assert_int_equal(sub_ctl_create(64, 1, f.qsv, &f.ctl), 0);
	f.t = sub_ctl_tables(f.ctl);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	sub_ctl_free(f->ctl);
	rte_free(f->qsv);
	return 0;
}

/* A frame: Ethernet + IPv4 + UDP, @len bytes of IP. */
struct frame {
	uint8_t b[1600];
	struct pkt_meta meta;
	struct sub_l4 l4;
	uint32_t len;
};

static void
mk4(struct frame *f, const char *src, const char *dst, uint16_t dport, uint32_t len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f->b + 14);
	struct inet_addr a;

	memset(f, 0, sizeof(*f));
	f->b[12] = 0x08;
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)len);
	ip->next_proto_id = IPPROTO_UDP;
	inet_addr_parse(src, &a);
	ip->src_addr = a.v4.s_addr;
	inet_addr_parse(dst, &a);
	ip->dst_addr = a.v4.s_addr;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, 20);
	f->b[14 + 20 + 2] = (uint8_t)(dport >> 8);
	f->b[14 + 20 + 3] = (uint8_t)dport;
	f->meta = (struct pkt_meta){.l3_off = 14, .ethertype = RTE_ETHER_TYPE_IPV4};
	f->l4 = (struct sub_l4){.l3 = f->b + 14, .ethertype = RTE_ETHER_TYPE_IPV4,
				.proto = IPPROTO_UDP, .l4 = f->b + 34};
	f->len = len;
}

static enum sub_drop_reason
run(struct fixture *f, struct frame *fr, enum sub_dir dir, uint64_t now)
{
	return sub_enforce_dir(f->t, sub_active_set(f->t), 0, fr->b, &fr->meta, &fr->l4, fr->len,
			       dir, 0, false, now, false, NULL, 0, NULL, -1);
}

static struct sub_meter_params
meter(uint64_t cir_bps, uint8_t red_action)
{
	struct sub_meter_params p = {
		.mode = SUB_METER_RFC2698, .cir = cir_bps, .pir = cir_bps,
		.cbs = 10000, .pbs = 10000,
		.action = {SUB_ACT_FORWARD, SUB_ACT_FORWARD, red_action},
	};
	return p;
}

static void
add_sub(struct fixture *f, const char *id, const char *profile, uint8_t avail, const char *pfx)
{
	struct inet_prefix p;
	struct sub_match m = {.prefixes = &p, .n_prefixes = 1};
	char err[256];

	assert_int_equal(inet_prefix_parse(pfx, &p), 0);
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, id, profile, avail, &m, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
}

static void
test_batch_atomic(void **state)
{
	struct fixture *f = *state;
	struct sub_meter_params p[2] = {meter(8000000, SUB_ACT_DROP), meter(16000000, SUB_ACT_DROP)};
	struct inet_prefix pfx[2];
	struct sub_match m = {.prefixes = pfx, .n_prefixes = 1};
	struct sub_info info;
	char err[256];

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_upsert(f->ctl, "p8", p, err, sizeof(err)), 0);
	inet_prefix_parse("198.51.100.10/32", &pfx[0]);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "a", "p8", SUB_ACTIVE, &m, err, sizeof(err)), 0);
	/* a second subscriber claims the same prefix: the batch fails as a whole */
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "b", "p8", SUB_ACTIVE, &m, err, sizeof(err)),
			 -EEXIST);
	assert_string_equal(err, "match.prefixes[0]: 198.51.100.10/32 belongs to subscriber 'a'");
	sub_ctl_abort(f->ctl);
	assert_int_equal(sub_ctl_count(f->ctl), 0);
	assert_int_equal(sub_ctl_profile_count(f->ctl), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "a", &info), -ENOENT);

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "a", "nope", SUB_ACTIVE, &m, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "profile: no profile named 'nope'");
	sub_ctl_abort(f->ctl);

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_upsert(f->ctl, "p8", p, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "a", "p8", SUB_ACTIVE, &m, err, sizeof(err)), 0);
	inet_prefix_parse("2001:db8:100:10::/64", &pfx[1]);
	m.prefixes = &pfx[1];
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "b", "p8", SUB_ACTIVE, &m, err, sizeof(err)), 0);
	/* nothing is visible before commit */
	assert_null(f->t->set[0]);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_count(f->ctl), 2);
	assert_int_equal(sub_ctl_find(f->ctl, "b", &info), 0);
	assert_int_equal(info.match->n_prefixes, 1);

	/* deleting a used profile is refused */
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_delete(f->ctl, "p8", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "profile 'p8' is used by 2 subscribers");
	sub_ctl_abort(f->ctl);
}

static void
test_classify_and_meter(void **state)
{
	struct fixture *f = *state;
	struct sub_counters c[SUB_DIRS];
	struct sub_info info;
	struct frame fr;
	uint64_t hz = rte_get_tsc_hz(), now = rte_rdtsc();
	unsigned i, fwd = 0, red = 0;

	assert_int_equal(sub_ctl_find(f->ctl, "a", &info), 0);
	/* upstream by source */
	mk4(&fr, "198.51.100.10", "203.0.113.2", 5000, 1000);
	/* 8 Mbit/s = 1 MB/s, 10000-byte buckets: a burst of 40 kB passes about 10 kB */
	for (i = 0; i < 40; i++) {
		enum sub_drop_reason r = run(f, &fr, SUB_UP, now);

		if (r == SUB_DROP_MAX)
			fwd++;
		else if (r == SUB_DROP_METER)
			red++;
	}
	assert_int_equal(fwd + red, 40);
	assert_in_range(fwd, 9, 11);
	/* one second later the bucket is full again */
	assert_int_equal(run(f, &fr, SUB_UP, now + hz), SUB_DROP_MAX);
	sub_counters_read(f->t, info.slot, c);
	assert_int_equal(c[SUB_UP].fwd_packets, fwd + 1);
	assert_int_equal(c[SUB_UP].fwd_bytes, (fwd + 1) * 1000ull);
	assert_int_equal(c[SUB_UP].drop_packets[SUB_DROP_METER], red);
	assert_int_equal(c[SUB_UP].colour_packets[SUB_RED], red);
	assert_int_equal(c[SUB_UP].colour_packets[SUB_GREEN] + c[SUB_UP].colour_packets[SUB_YELLOW],
			 fwd + 1);
	/* downstream by destination, its own meter */
	mk4(&fr, "203.0.113.2", "198.51.100.10", 5000, 1000);
	assert_int_equal(run(f, &fr, SUB_DOWN, now), SUB_DROP_MAX);
	sub_counters_read(f->t, info.slot, c);
	assert_int_equal(c[SUB_DOWN].fwd_packets, 1);
	/* an unknown source is counted in slot 0 and forwarded (policy: forward) */
	mk4(&fr, "198.51.100.99", "203.0.113.2", 5000, 100);
	assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_MAX);
	sub_counters_read(f->t, SUB_SLOT_UNKNOWN, c);
	assert_true(c[SUB_UP].fwd_packets >= 1);
}

static void
test_availability(void **state)
{
	struct fixture *f = *state;
	struct sub_counters before[SUB_DIRS], after[SUB_DIRS];
	struct inet_prefix portal;
	struct sub_info info;
	struct frame fr;
	char err[256];
	uint64_t now = rte_rdtsc();

	assert_int_equal(sub_ctl_find(f->ctl, "a", &info), 0);
	sub_counters_read(f->t, info.slot, before);
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_avail(f->ctl, "a", SUB_SUSPENDED, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	mk4(&fr, "198.51.100.10", "203.0.113.2", 53, 100);
	assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_SUSPENDED);
	/* the change kept the counters */
	sub_counters_read(f->t, info.slot, after);
	assert_int_equal(after[SUB_UP].fwd_packets, before[SUB_UP].fwd_packets);
	assert_int_equal(after[SUB_UP].drop_packets[SUB_DROP_SUSPENDED], 1);

	inet_prefix_parse("192.0.2.0/24", &portal);
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_avail(f->ctl, "a", SUB_WALLED, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_walled_set(f->ctl, &portal, 1, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	mk4(&fr, "198.51.100.10", "203.0.113.2", 53, 100); /* DNS */
	assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_MAX);
	mk4(&fr, "198.51.100.10", "192.0.2.80", 80, 100); /* the portal */
	assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_MAX);
	mk4(&fr, "198.51.100.10", "203.0.113.2", 80, 100); /* anything else */
	assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_WALLED_GARDEN);
	mk4(&fr, "192.0.2.80", "198.51.100.10", 80, 100); /* the portal answers */
	assert_int_equal(run(f, &fr, SUB_DOWN, now), SUB_DROP_MAX);

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_avail(f->ctl, "a", SUB_ACTIVE, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	mk4(&fr, "198.51.100.10", "203.0.113.2", 80, 100);
	assert_int_equal(run(f, &fr, SUB_UP, now + 10 * rte_get_tsc_hz()), SUB_DROP_MAX);
}

struct released {
	char id[64];
	uint64_t up_packets;
	unsigned calls;
};

static void
on_release(void *arg, const char *id, uint32_t slot)
{
	struct released *r = arg;
	struct sub_counters c[SUB_DIRS];

	snprintf(r->id, sizeof(r->id), "%s", id);
	sub_counters_read(sub_ctl_tables(released_ctl), slot, c);
	r->up_packets = c[SUB_UP].fwd_packets;
	r->calls++;
}

static void
test_remark_and_delete(void **state)
{
	struct fixture *f = *state;
	struct sub_meter_params p[2] = {meter(8000, SUB_ACT_REMARK), meter(8000, SUB_ACT_DROP)};
	struct released rel = {0};
	struct sub_counters c[SUB_DIRS];
	struct rte_ipv4_hdr *ip;
	struct sub_info info;
	struct frame fr;
	char err[256];
	uint64_t now = rte_rdtsc();
	unsigned i;

	p[0].dscp[SUB_RED] = 10; /* AF11 */
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_upsert(f->ctl, "slow", p, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	add_sub(f, "c", "slow", SUB_ACTIVE, "198.51.100.64/26");
	mk4(&fr, "198.51.100.70", "203.0.113.2", 80, 1500);
	for (i = 0; i < 20; i++)
		assert_int_equal(run(f, &fr, SUB_UP, now), SUB_DROP_MAX);
	ip = (struct rte_ipv4_hdr *)(fr.b + 14);
	assert_int_equal(ip->type_of_service >> 2, 10);
	assert_int_equal(rte_raw_cksum(ip, 20), 0xffff); /* checksum still right */

	assert_int_equal(sub_ctl_find(f->ctl, "c", &info), 0);
	released_ctl = f->ctl;
	sub_ctl_on_release(f->ctl, on_release, &rel);
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "c", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	/* the final usage was offered before the counters went */
	assert_int_equal(rel.calls, 1);
	assert_string_equal(rel.id, "c");
	assert_int_equal(rel.up_packets, 20);
	sub_ctl_on_release(f->ctl, NULL, NULL);
	sub_counters_read(f->t, info.slot, c);
	assert_int_equal(c[SUB_UP].fwd_packets, 0); /* a freed slot starts clean */
	mk4(&fr, "198.51.100.70", "203.0.113.2", 80, 1500);
	run(f, &fr, SUB_UP, now);
	sub_counters_read(f->t, info.slot, c);
	assert_int_equal(c[SUB_UP].fwd_packets, 0); /* and is no longer matched */
}

static void
test_l2_classification(void **state)
{
	struct fixture *f = *state;
	struct sub_meter_params p[2] = {{.mode = SUB_METER_NONE}, {.mode = SUB_METER_NONE}};
	struct sub_l2_key vlan = {.kind = SUB_L2_VLAN, .port = 0, .outer = 100, .inner = 200};
	struct sub_l2_key single = {.kind = SUB_L2_VLAN, .port = 0, .outer = 300};
	struct sub_l2_key mac = {.kind = SUB_L2_MAC, .mac = {0x02, 0, 0, 0, 0, 0x33}};
	struct sub_match mv = {.l2 = &vlan, .n_l2 = 1}, ms = {.l2 = &single, .n_l2 = 1},
			 mm = {.l2 = &mac, .n_l2 = 1};
	struct sub_info iv, is, im;
	const struct sub_set *s;
	struct frame fr;
	char err[256];

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_upsert(f->ctl, "open", p, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "qinq", "open", SUB_ACTIVE, &mv, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "dot1q", "open", SUB_ACTIVE, &ms, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "mac", "open", SUB_ACTIVE, &mm, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "qinq", &iv), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "dot1q", &is), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "mac", &im), 0);
	s = sub_active_set(f->t);

	/* the S-VLAN/C-VLAN pair on its port; priority bits do not matter */
	mk4(&fr, "192.0.2.1", "203.0.113.2", 80, 100);
	fr.meta.n_vlans = 2;
	fr.meta.vlan_tci[0] = 100;
	fr.meta.vlan_tci[1] = 0xe000 | 200;
	assert_int_equal(sub_classify_up(s, fr.b, &fr.meta, 0, false), iv.slot);
	/* the same pair on another port is somebody else */
	assert_int_equal(sub_classify_up(s, fr.b, &fr.meta, 1, false), SUB_SLOT_UNKNOWN);
	/* a single tag matches a single-tag subscriber, also when a C-VLAN follows */
	fr.meta.vlan_tci[0] = 300;
	assert_int_equal(sub_classify_up(s, fr.b, &fr.meta, 0, false), is.slot);
	fr.meta.n_vlans = 1;
	assert_int_equal(sub_classify_up(s, fr.b, &fr.meta, 0, false), is.slot);
	/* the source MAC, untagged */
	fr.meta.n_vlans = 0;
	memcpy(fr.b + 6, mac.mac, 6);
	assert_int_equal(sub_classify_up(s, fr.b, &fr.meta, 0, false), im.slot);
	/* downstream: no prefix matches, the next hop's MAC does */
	mk4(&fr, "203.0.113.2", "192.0.2.1", 80, 100);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, 0, mac.mac, false), im.slot);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, 0, NULL, false), SUB_SLOT_UNKNOWN);

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "qinq", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "dot1q", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "mac", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	s = sub_active_set(f->t);
	assert_int_equal(s->n_vlan, 0);
	assert_int_equal(s->n_mac, 0);
}

/*
 * Downstream, a packet sent to a next hop on a VLAN of an access port
 * belongs to that VLAN's subscriber (pair first, then the S-VLAN alone),
 * before any prefix; the same VLAN on another port is another line.
 * Enforcement counts it downstream and applies the subscriber's
 * availability.
 */
static void
test_down_by_next_hop_vlan(void **state)
{
	struct fixture *f = *state;
	struct sub_meter_params p[2] = {{.mode = SUB_METER_NONE}, {.mode = SUB_METER_NONE}};
	struct sub_l2_key pair = {.kind = SUB_L2_VLAN, .port = 0, .outer = 200, .inner = 300};
	struct sub_l2_key svlan = {.kind = SUB_L2_VLAN, .port = 0, .outer = 400};
	struct sub_l2_key single = {.kind = SUB_L2_VLAN, .port = 0, .outer = 100};
	struct inet_prefix pfx;
	struct sub_match mp = {.l2 = &pair, .n_l2 = 1}, msv = {.l2 = &svlan, .n_l2 = 1},
			 m1 = {.l2 = &single, .n_l2 = 1},
			 mpfx = {.prefixes = &pfx, .n_prefixes = 1};
	struct sub_info ip, isv, i1, ipfx;
	struct sub_counters c[SUB_DIRS];
	const struct sub_set *s;
	struct frame fr;
	char err[256];

	assert_int_equal(inet_prefix_parse("198.51.100.128/26", &pfx), 0);
	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_profile_upsert(f->ctl, "open", p, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "pair", "open", SUB_ACTIVE, &mp, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "svlan", "open", SUB_ACTIVE, &msv, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "v100", "open", SUB_SUSPENDED, &m1, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_upsert(f->ctl, "pfx", "open", SUB_ACTIVE, &mpfx, err,
					    sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "pair", &ip), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "svlan", &isv), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "v100", &i1), 0);
	assert_int_equal(sub_ctl_find(f->ctl, "pfx", &ipfx), 0);
	s = sub_active_set(f->t);

	/* the packet came untagged from the uplink: only the next hop knows the line */
	mk4(&fr, "203.0.113.2", "198.51.100.130", 80, 100);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, NH_VLAN(200, 300), NULL, false),
			 ip.slot);
	/* a pair whose S-VLAN belongs to a subscriber as a whole */
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, NH_VLAN(400, 7), NULL, false),
			 isv.slot);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, NH_VLAN(100, 0), NULL, false),
			 i1.slot);
	/* the line comes before the prefix, as upstream */
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, 0, NULL, false), ipfx.slot);
	/* a burst-wide host lookup that missed still leaves the prefix */
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, 0, NULL, true), ipfx.slot);
	/* an unknown VLAN, or the same VLAN on another port, falls through to the prefix */
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 0, NH_VLAN(999, 0), NULL, false),
			 ipfx.slot);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 1, NH_VLAN(200, 300), NULL, false),
			 ipfx.slot);
	mk4(&fr, "203.0.113.2", "198.51.100.5", 80, 100);
	assert_int_equal(sub_classify_down(s, fr.b, &fr.meta, 1, NH_VLAN(200, 300), NULL, false),
			 SUB_SLOT_UNKNOWN);

	/* enforcement: counted downstream for the pair; the suspended VLAN dropped */
	assert_int_equal(sub_enforce_dir(f->t, s, 0, fr.b, &fr.meta, &fr.l4, fr.len, SUB_DOWN, 0,
					 true, 1000, false, NULL, NH_VLAN(200, 300), NULL, -1),
			 SUB_DROP_MAX);
	sub_counters_read(f->t, ip.slot, c);
	assert_int_equal(c[SUB_DOWN].fwd_packets, 1);
	assert_int_equal(c[SUB_DOWN].fwd_bytes, 100);
	assert_int_equal(c[SUB_UP].fwd_packets, 0);
	assert_int_equal(sub_enforce_dir(f->t, s, 0, fr.b, &fr.meta, &fr.l4, fr.len, SUB_DOWN, 0,
					 false, 1000, false, NULL, NH_VLAN(100, 0), NULL, -1),
			 SUB_DROP_SUSPENDED);
	sub_counters_read(f->t, i1.slot, c);
	assert_int_equal(c[SUB_DOWN].drop_packets[SUB_DROP_SUSPENDED], 1);
	/* an unknown VLAN follows the port's unknown policy */
	assert_int_equal(sub_enforce_dir(f->t, s, 0, fr.b, &fr.meta, &fr.l4, fr.len, SUB_DOWN, 0,
					 true, 1000, false, NULL, NH_VLAN(999, 0), NULL, -1),
			 SUB_DROP_UNKNOWN);

	sub_ctl_begin(f->ctl);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "pair", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "svlan", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "v100", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_sub_delete(f->ctl, "pfx", err, sizeof(err)), 0);
	assert_int_equal(sub_ctl_commit(f->ctl, err, sizeof(err)), 0);
}

static uint32_t
next_rand(uint32_t *x)
{
	/* xorshift32: the same sequence on every run */
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * The IPv4 host table against a plain array, through adds, replacements and
 * deletions in a table of 4 buckets where every address starts in the last
 * two: buckets overflow into the next ones (wrapping), and deletions have
 * to shift entries back.
 */
static void
test_host4_table(void **state)
{
	enum { MAX = 16, POOL = 40 };
	uint32_t pool[POOL], ref[POOL] = {0}, x = 12345, n = 0, i, k, v;
	struct host4 h;

	(void)state;
	assert_int_equal(host4_create(&h, MAX), 0);
	assert_int_equal(h.mask, 3);
	/* All homed in the last two of the 4 buckets: runs overflow and wrap. */
	for (i = 0; i < POOL;) {
		pool[i] = next_rand(&x);
		if (host4_home(&h, pool[i]) >= 2)
			i++;
	}
	assert_int_equal(host4_lookup(&h, pool[0]), 0);
	assert_int_equal(host4_del(&h, pool[0]), -ENOENT);
	for (i = 0; i < 200000; i++) {
		k = next_rand(&x) % POOL;
		if (next_rand(&x) % 2) {
			v = next_rand(&x) | 1;
			if (ref[k] == 0 && n == MAX) {
				assert_int_equal(host4_add(&h, pool[k], v), -ENOSPC);
				continue;
			}
			assert_int_equal(host4_add(&h, pool[k], v), 0);
			n += ref[k] == 0;
			ref[k] = v;
		} else {
			assert_int_equal(host4_del(&h, pool[k]), ref[k] != 0 ? 0 : -ENOENT);
			n -= ref[k] != 0;
			ref[k] = 0;
		}
		assert_int_equal(h.n, n);
		for (k = 0; k < POOL; k++)
			assert_int_equal(host4_lookup(&h, pool[k]), ref[k]);
	}
	host4_destroy(&h);
	host4_destroy(&h); /* an empty table too */
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0",
		       "--log-level", "error", "--no-telemetry", NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_atomic),
		cmocka_unit_test(test_classify_and_meter),
		cmocka_unit_test(test_availability),
		cmocka_unit_test(test_remark_and_delete),
		cmocka_unit_test(test_l2_classification),
		cmocka_unit_test(test_down_by_next_hop_vlan),
		cmocka_unit_test(test_host4_table),
	};
	int ret;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		return 1;
	ret = cmocka_run_group_tests_name("subscriber", tests, setup, teardown);
	rte_eal_cleanup();
	return ret;
}
