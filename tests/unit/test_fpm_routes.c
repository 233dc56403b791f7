/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FRR's routes in the tables (dataplane/fpm.c), fed decoded messages
 * directly, with a minimal EAL: which interface maps to which port, next-hop
 * objects, source priority, the stale sweep after a reconnection, and
 * batches (one IPv6 table swap for many changes, both copies equal after).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "dataplane/config.h"
#include "dataplane/control.h"
#include "dataplane/dp.h"
#include "dataplane/fpm.h"

static const char conf_text[] =
	"port cust0 {\n device c\n role access\n address 198.51.100.1/24\n"
	" address 2001:db8:100::1/64\n}\n"
	"port up0 {\n device u\n role uplink\n address 203.0.113.1/24\n"
	" address 2001:db8:200::1/64\n}\n"
	"route 192.0.2.0/24 via 203.0.113.2\n";

#define TAP_CUST 100u
#define TAP_UP 101u
#define BGP 186
#define STATIC 196

struct fixture {
	struct dp dp;
	struct dp_config *cfg;
	struct dp_fpm *fpm;
};

static int
setup(void **state)
{
	static struct fixture f;
	char err[256];
	unsigned i;

	memset(&f, 0, sizeof(f));
	assert_int_equal(dp_config_parse("t", conf_text, strlen(conf_text), &f.cfg, err,
					 sizeof(err)), 0);
	f.dp.cfg = f.cfg;
	f.dp.n_ports = f.cfg->n_ports;
	f.dp.n_workers = 1;
	for (i = 0; i < f.dp.n_ports; i++) {
		f.dp.ports[i].cfg = &f.cfg->ports[i];
		f.dp.ports[i].tap_ifindex = (int)(TAP_CUST + i);
	}
	f.dp.qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(f.dp.qsv);
	assert_int_equal(rte_rcu_qsbr_init(f.dp.qsv, 1), 0);
	assert_int_equal(nh_ctl_create(f.dp.n_ports, f.dp.qsv, &f.dp.nh), 0);
	assert_int_equal(rt_ctl_create(f.dp.qsv, 1024, 32768, &f.dp.rt), 0);
	assert_int_equal(dp_routes_load(&f.dp, err, sizeof(err)), 0);
	assert_int_equal(dp_fpm_create(&f.dp, &f.fpm), 0);
	f.dp.fpm = f.fpm;
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dp_fpm_free(f->fpm);
	rt_ctl_free(f->dp.rt);
	nh_ctl_free(f->dp.nh);
	rte_free(f->dp.qsv);
	dp_config_free(f->cfg);
	return 0;
}

static struct inet_prefix
pfx(const char *s)
{
	struct inet_prefix p;

	assert_int_equal(inet_prefix_parse(s, &p), 0);
	return p;
}

static struct fpm_msg
route(int kind, const char *dst, const char *gw, uint32_t oif, uint8_t proto)
{
	struct fpm_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.route.dst = pfx(dst);
	m.route.table = 254;
	m.route.protocol = proto;
	m.route.type = FPM_RT_UNICAST;
	if (gw != NULL || oif != 0) {
		m.route.n_paths = 1;
		m.route.paths[0].oif = oif;
		if (gw != NULL)
			assert_int_equal(inet_addr_parse(gw, &m.route.paths[0].gw), 0);
	}
	return m;
}

static void
feed(struct fixture *f, struct fpm_msg m, uint64_t now)
{
	dp_fpm_message(f->fpm, &m, now);
}

static uint32_t
fpm_nh(struct fixture *f, const char *p)
{
	struct inet_prefix x = pfx(p);

	return rt_ctl_get(f->dp.rt, &x, RT_SRC_FPM);
}

/* Word of the next hop in force for @addr (longest match, as a worker sees it). */
static uint64_t
lookup4(struct fixture *f, const char *addr)
{
	struct inet_addr a;

	assert_int_equal(inet_addr_parse(addr, &a), 0);
	return nh_read(nh_ctl_table(f->dp.nh),
		       rt_lookup4(rt_ctl_tables(f->dp.rt), rte_be_to_cpu_32(a.v4.s_addr)));
}

static void
test_routes_map_to_ports(void **state)
{
	struct fixture *f = *state;
	uint64_t w;

	/* a gateway on up0's tap: a gateway next hop on port 1 */
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", "203.0.113.2", TAP_UP, BGP), 0);
	w = lookup4(f, "203.0.113.130");
	assert_int_equal(nh_word_kind(w), NH_KIND_GATEWAY);
	assert_int_equal(nh_word_port(w), 1);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, BGP), 1);
	/* connected (no gateway) on cust0's tap */
	feed(f, route(FPM_MSG_ROUTE_ADD, "198.51.100.0/24", NULL, TAP_CUST, 2), 0);
	assert_int_equal(fpm_nh(f, "198.51.100.0/24"), NH_ID_CONNECTED(0));
	/* an interface that is no tap of ours (lo): ignored */
	feed(f, route(FPM_MSG_ROUTE_ADD, "10.0.0.0/8", NULL, 1, BGP), 0);
	assert_int_equal(fpm_nh(f, "10.0.0.0/8"), 0);
	assert_int_equal(lookup4(f, "10.1.2.3"), 0);
	/* another table (a VRF): ignored */
	{
		struct fpm_msg m = route(FPM_MSG_ROUTE_ADD, "10.0.0.0/8", "203.0.113.2", TAP_UP,
					 BGP);

		m.route.table = 10;
		feed(f, m, 0);
		assert_int_equal(fpm_nh(f, "10.0.0.0/8"), 0);
	}
	/* the config's static route outranks FRR's for the same prefix */
	feed(f, route(FPM_MSG_ROUTE_ADD, "192.0.2.0/24", "198.51.100.9", TAP_CUST, BGP), 0);
	assert_int_equal(nh_word_port(lookup4(f, "192.0.2.1")), 1);
	feed(f, route(FPM_MSG_ROUTE_DEL, "192.0.2.0/24", NULL, 0, BGP), 0);
	/* replace, then delete: the next hop reference goes with it */
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", "198.51.100.7", TAP_CUST, BGP), 0);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, BGP), 0);
	assert_int_equal(fpm_nh(f, "203.0.113.128/25"), 0);
	/* the /24 connected route is what matches now */
	assert_int_equal(nh_word_kind(lookup4(f, "203.0.113.130")), NH_KIND_CONNECTED);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, BGP), 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "198.51.100.0/24", NULL, 0, 2), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1); /* the config's 203.0.113.2 only */
}

static void
test_blackhole_and_linklocal(void **state)
{
	struct fixture *f = *state;
	struct fpm_msg m = route(FPM_MSG_ROUTE_ADD, "203.0.0.0/16", NULL, 0, BGP);
	struct inet_addr ll;
	int id;

	m.route.type = FPM_RT_BLACKHOLE;
	feed(f, m, 0);
	assert_int_equal(fpm_nh(f, "203.0.0.0/16"), NH_ID_BLACKHOLE);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.0.0/16", NULL, 0, BGP), 0);
	/* BGP over IPv6: the gateway is the peer's link-local address on up0 */
	feed(f, route(FPM_MSG_ROUTE_ADD, "2001:db8:300::/48", "fe80::2", TAP_UP, BGP), 0);
	assert_int_equal(inet_addr_parse("fe80::2", &ll), 0);
	id = nh_ctl_find(f->dp.nh, &ll, 1);
	assert_true(id >= (int)NH_FIRST_DYNAMIC);
	assert_int_equal(fpm_nh(f, "2001:db8:300::/48"), (uint32_t)id);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET6, BGP), 1);
	feed(f, route(FPM_MSG_ROUTE_DEL, "2001:db8:300::/48", NULL, 0, BGP), 0);
	assert_int_equal(nh_ctl_find(f->dp.nh, &ll, 1), -ENOENT);
}

static void
test_nexthop_objects(void **state)
{
	struct fixture *f = *state;
	struct fpm_msg nh, r = route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", NULL, 0, STATIC);

	r.route.nh_id = 10;
	/* the route may come before its object: it waits, uninstalled */
	feed(f, r, 0);
	assert_int_equal(fpm_nh(f, "203.0.113.128/25"), 0);
	memset(&nh, 0, sizeof(nh));
	nh.kind = FPM_MSG_NH_ADD;
	nh.nh.id = 10;
	nh.nh.family = AF_INET;
	nh.nh.path.oif = TAP_UP;
	assert_int_equal(inet_addr_parse("203.0.113.2", &nh.nh.path.gw), 0);
	feed(f, nh, 0);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 1);
	assert_int_equal(nh_word_kind(lookup4(f, "203.0.113.130")), NH_KIND_GATEWAY);
	/* the object moves: the route follows without being announced again */
	nh.nh.path.oif = TAP_CUST;
	assert_int_equal(inet_addr_parse("198.51.100.7", &nh.nh.path.gw), 0);
	feed(f, nh, 0);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 0);
	/* the object goes: so does the route */
	nh.kind = FPM_MSG_NH_DEL;
	feed(f, nh, 0);
	assert_int_equal(fpm_nh(f, "203.0.113.128/25"), 0);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, STATIC), 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, STATIC), 0);
}

static void
test_stale_sweep(void **state)
{
	struct fixture *f = *state;

	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.0/26", "203.0.113.2", TAP_UP, BGP), 0);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.64/26", "203.0.113.2", TAP_UP, STATIC), 0);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.192/26", "203.0.113.2", TAP_UP, STATIC), 0);
	/* zebra reconnects and announces only the first again */
	dp_fpm_resync(f->fpm, 1000);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.0/26", "203.0.113.2", TAP_UP, BGP), 2000);
	/* not quiet long enough yet (fpm-stale-time 5 s): nothing goes */
	dp_fpm_tick(f->fpm, 6000);
	assert_int_not_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	/* quiet, but zebra's clients may not have reconnected yet (10 s) */
	dp_fpm_tick(f->fpm, 7000);
	assert_int_not_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	/* staticd is back and announces one of its routes again */
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.192/26", "203.0.113.2", TAP_UP, STATIC),
	     10000);
	dp_fpm_tick(f->fpm, 15999);
	assert_int_not_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	/* 10 s + fpm-stale-time after the feed started, and quiet: swept */
	dp_fpm_tick(f->fpm, 16000);
	assert_int_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	assert_int_not_equal(fpm_nh(f, "203.0.113.0/26"), 0);
	assert_int_not_equal(fpm_nh(f, "203.0.113.192/26"), 0);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, STATIC), 1);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, BGP), 1);
	assert_int_equal(rt_ctl_count_source(f->dp.rt, AF_INET, RT_SRC_FPM), 2);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.0/26", NULL, 0, BGP), 17000);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.192/26", NULL, 0, STATIC), 17000);
	assert_int_equal(rt_ctl_count_source(f->dp.rt, AF_INET, RT_SRC_FPM), 0);
}

/* Members of the group a route is in force with (0 when it is no group). */
static unsigned
group_size(struct fixture *f, const char *addr)
{
	const struct nh_table *t = nh_ctl_table(f->dp.nh);
	uint64_t w = lookup4(f, addr);

	if (nh_word_kind(w) != NH_KIND_GROUP)
		return 0;
	return t->group[nh_word_group(w)].n;
}

static void
add_path(struct fpm_msg *m, const char *gw, uint32_t oif)
{
	struct fpm_path *p = &m->route.paths[m->route.n_paths++];

	p->oif = oif;
	assert_int_equal(inet_addr_parse(gw, &p->gw), 0);
}

static void
test_multipath_becomes_group(void **state)
{
	struct fixture *f = *state;
	struct fpm_msg m = route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", "203.0.113.2", TAP_UP,
				 STATIC);

	add_path(&m, "203.0.113.3", TAP_UP);
	feed(f, m, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 2);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	/* announced again unchanged: the same group, no second one */
	feed(f, m, 0);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	/* a third path joins: a new group replaces the old */
	add_path(&m, "198.51.100.7", TAP_CUST);
	feed(f, m, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 3);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	/* only one usable path (the others on lo): a plain next hop */
	m.route.paths[1].oif = 1;
	m.route.paths[2].oif = 1;
	feed(f, m, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 0);
	assert_int_equal(nh_word_kind(lookup4(f, "203.0.113.130")), NH_KIND_GATEWAY);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
	/* the same gateway twice is one path */
	m.route.n_paths = 0;
	add_path(&m, "203.0.113.3", TAP_UP);
	add_path(&m, "203.0.113.3", TAP_UP);
	feed(f, m, 0);
	assert_int_equal(nh_word_kind(lookup4(f, "203.0.113.130")), NH_KIND_GATEWAY);
	/* and IPv6 */
	m = route(FPM_MSG_ROUTE_ADD, "2001:db8:300::/48", "2001:db8:200::2", TAP_UP, BGP);
	add_path(&m, "fe80::2", TAP_UP);
	feed(f, m, 0);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET6, BGP), 1);
	/* deleted: groups and their members' references go */
	feed(f, route(FPM_MSG_ROUTE_DEL, "2001:db8:300::/48", NULL, 0, BGP), 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, STATIC), 0);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1); /* the config's 203.0.113.2 only */
}

static struct fpm_msg
nhobj(uint32_t id, const char *gw, uint32_t oif)
{
	struct fpm_msg nh;

	memset(&nh, 0, sizeof(nh));
	nh.kind = FPM_MSG_NH_ADD;
	nh.nh.id = id;
	nh.nh.family = AF_INET;
	nh.nh.path.oif = oif;
	if (gw != NULL)
		assert_int_equal(inet_addr_parse(gw, &nh.nh.path.gw), 0);
	return nh;
}

static void
test_nexthop_group_objects(void **state)
{
	struct fixture *f = *state;
	struct fpm_msg grp = nhobj(30, NULL, 0);
	struct fpm_msg r = route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", NULL, 0, BGP);

	feed(f, nhobj(21, "203.0.113.2", TAP_UP), 0);
	feed(f, nhobj(22, "203.0.113.3", TAP_UP), 0);
	grp.nh.n_group = 2;
	grp.nh.group[0] = 21;
	grp.nh.group[1] = 22;
	feed(f, grp, 0);
	r.route.nh_id = 30;
	feed(f, r, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 2);
	/* a member moves to another port: the route follows with a new group */
	feed(f, nhobj(22, "198.51.100.7", TAP_CUST), 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 2);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 1);
	/* the group shrinks to one member: a plain next hop */
	grp.nh.n_group = 1;
	feed(f, grp, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 0);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 1);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
	/* and grows again, with a member that is not known yet (ignored) */
	grp.nh.n_group = 3;
	grp.nh.group[2] = 23;
	feed(f, grp, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 2);
	/* a member goes: one path left */
	feed(f, (struct fpm_msg){.kind = FPM_MSG_NH_DEL, .nh = {.id = 21}}, 0);
	assert_int_equal(group_size(f, "203.0.113.130"), 0);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 0);
	/* the group goes: so does the route, and every reference */
	feed(f, (struct fpm_msg){.kind = FPM_MSG_NH_DEL, .nh = {.id = 30}}, 0);
	assert_int_equal(fpm_nh(f, "203.0.113.128/25"), 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, BGP), 0);
	feed(f, (struct fpm_msg){.kind = FPM_MSG_NH_DEL, .nh = {.id = 22}}, 0);
	assert_int_equal(nh_ctl_group_count(f->dp.nh), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1);
}

/* ---------------------------------------------------------------- batches */

#define GWS 4

/*
 * The n-th test prefix: block n / 4 is 2001:db8:(0x1000 + block)::/48, and
 * in it, nested, a /56 and in that two /64s.
 */
static struct inet_prefix
pfx6(unsigned n)
{
	static const char *const tail[] = {"::/48", ":100::/56", ":101::/64", ":102::/64"};
	struct inet_prefix p;
	char buf[64];

	snprintf(buf, sizeof(buf), "2001:db8:%x%s", 0x1000 + n / 4, tail[n % 4]);
	assert_int_equal(inet_prefix_parse(buf, &p), 0);
	return p;
}

static struct fpm_msg
route6(int kind, unsigned n, unsigned gw)
{
	struct fpm_msg m;
	char g[64];

	snprintf(g, sizeof(g), "2001:db8:200::%u", 10 + gw);
	m = route(kind, "2001:db8::/32", kind == FPM_MSG_ROUTE_ADD ? g : NULL,
		  kind == FPM_MSG_ROUTE_ADD ? TAP_UP : 0, BGP);
	m.route.dst = pfx6(n);
	return m;
}

/* Next hop of a gateway of route6(), 0 when no route holds it. */
static uint32_t
gw_nh(struct fixture *f, unsigned gw)
{
	struct inet_addr a;
	char g[64];
	int id;

	snprintf(g, sizeof(g), "2001:db8:200::%u", 10 + gw);
	assert_int_equal(inet_addr_parse(g, &a), 0);
	id = nh_ctl_find(f->dp.nh, &a, 1);
	return id < 0 ? 0 : (uint32_t)id;
}

static uint32_t
lpm6_get(const struct rte_lpm6 *lpm, const struct in6_addr *a)
{
	uint32_t nh;

	return rte_lpm6_lookup(lpm, a->s6_addr, &nh) == 0 ? nh : 0;
}

/* The longest of the model's routes that holds @a: its gateway + 1, or 0. */
static unsigned
model_lookup(const int *model, unsigned n, const struct in6_addr *a)
{
	unsigned block = ((unsigned)a->s6_addr[4] << 8 | a->s6_addr[5]) - 0x1000, i, best = 0;
	struct inet_addr x = {.family = AF_INET6, .v6 = *a};

	/* Only the routes of the address's block can hold it. */
	for (i = block * 4; i < block * 4 + 4 && i < n; i++) {
		struct inet_prefix p = pfx6(i);

		if (model[i] >= 0 && inet_prefix_contains(&p, &x))
			best = (unsigned)model[i] + 1; /* the later, the longer */
	}
	return best;
}

/*
 * Both IPv6 copies answer every probe alike, and as the model says: each
 * route's first and last address, and addresses around them.
 */
static void
check_copies(struct fixture *f, const int *model, unsigned n)
{
	const struct rt_tables *t = rt_ctl_tables(f->dp.rt);
	unsigned i, k;

	assert_int_equal(rt_ctl_batch_size(f->dp.rt), 0);
	for (i = 0; i < n; i++) {
		struct inet_prefix p = pfx6(i);

		for (k = 0; k < 4; k++) {
			struct in6_addr a = p.addr.v6;
			uint32_t nh0, nh1;
			unsigned want;

			if (k == 1) /* the last address of the prefix */
				for (unsigned b = p.len; b < 128; b++)
					a.s6_addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			if (k >= 2) /* somewhere near it */
				a.s6_addr[6 + rte_rand_max(10)] ^= (uint8_t)rte_rand();
			nh0 = lpm6_get(t->lpm6[0], &a);
			nh1 = lpm6_get(t->lpm6[1], &a);
			assert_int_equal(nh0, nh1);
			want = model_lookup(model, n, &a);
			assert_int_equal(nh0, want != 0 ? gw_nh(f, want - 1) : 0);
		}
	}
}

static void
test_ipv6_batch_is_one_swap(void **state)
{
	struct fixture *f = *state;
	const struct rt_tables *t = rt_ctl_tables(f->dp.rt);
	enum { N = 1000 };
	int model[N], rib[N];
	struct inet_prefix p = pfx6(7);
	uint64_t swaps;
	unsigned i, round;

	/* Outside a batch each IPv6 change is a swap of its own... */
	swaps = rt_ctl_swaps6(f->dp.rt);
	for (i = 0; i < 10; i++)
		feed(f, route6(FPM_MSG_ROUTE_ADD, i, 0), 0);
	assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 10);
	for (i = 0; i < 10; i++)
		feed(f, route6(FPM_MSG_ROUTE_DEL, i, 0), 0);
	/* ...inside, one for all of them. */
	for (i = 0; i < N; i++)
		model[i] = -1;
	for (round = 0; round < 3; round++) {
		swaps = rt_ctl_swaps6(f->dp.rt);
		dp_fpm_batch_begin(f->fpm, 1000);
		for (i = 0; i < N; i++) {
			unsigned r = (unsigned)rte_rand_max(4);

			if (round > 0 && r == 0) {
				feed(f, route6(FPM_MSG_ROUTE_DEL, i, 0), 1000);
				model[i] = -1;
			} else if (round == 0 || r == 1) {
				model[i] = (int)rte_rand_max(GWS);
				feed(f, route6(FPM_MSG_ROUTE_ADD, i, (unsigned)model[i]), 1000);
			}
		}
		/*
		 * Not published yet: workers read the copy in force, which the
		 * batch has not touched (nothing half-applied is visible).
		 */
		assert_int_equal(rt_ctl_swaps6(f->dp.rt), swaps);
		if (round == 0)
			assert_int_equal(lpm6_get(t->lpm6[t->active6], &p.addr.v6), 0);
		dp_fpm_batch_end(f->fpm);
		assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 1);
		if (round == 0)
			assert_int_not_equal(rt_lookup6(t, p.addr.v6.s6_addr), 0);
		/* The RIB holds what the messages said... */
		for (i = 0; i < N; i++) {
			struct inet_prefix x = pfx6(i);
			uint32_t nh = rt_ctl_get(f->dp.rt, &x, RT_SRC_FPM);
			unsigned g;

			rib[i] = -1;
			for (g = 0; nh != 0 && g < GWS; g++)
				if (gw_nh(f, g) == nh)
					rib[i] = (int)g;
			assert_int_equal(rib[i], model[i]);
		}
		/* ...and both FIB copies what the RIB holds. */
		check_copies(f, model, N);
	}
	for (i = 0; i < N; i++)
		feed(f, route6(FPM_MSG_ROUTE_DEL, i, 0), 2000);
	assert_int_equal(rt_ctl_count_source(f->dp.rt, AF_INET6, RT_SRC_FPM), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1);
}

static void
test_large_batch_is_published_in_parts(void **state)
{
	struct fixture *f = *state;
	enum { N = 10000 };
	static int model[N];
	uint64_t swaps = rt_ctl_swaps6(f->dp.rt);
	unsigned i;

	dp_fpm_batch_begin(f->fpm, 0);
	for (i = 0; i < N; i++)
		feed(f, route6(FPM_MSG_ROUTE_ADD, i, i % GWS), 0);
	/* every 4096 changes, and the rest at the end */
	assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 2);
	dp_fpm_batch_end(f->fpm);
	assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 3);
	/* a batch that has been open FPM_BATCH_MS (10 ms) is published too */
	swaps = rt_ctl_swaps6(f->dp.rt);
	dp_fpm_batch_begin(f->fpm, 100);
	feed(f, route6(FPM_MSG_ROUTE_DEL, 0, 0), 100);
	feed(f, route6(FPM_MSG_ROUTE_DEL, 1, 0), 105);
	assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 0);
	feed(f, route6(FPM_MSG_ROUTE_DEL, 2, 0), 111);
	assert_int_equal(rt_ctl_swaps6(f->dp.rt) - swaps, 1);
	dp_fpm_batch_end(f->fpm);
	for (i = 0; i < N; i++)
		model[i] = i < 3 ? -1 : (int)(i % GWS);
	check_copies(f, model, 2000);
	dp_fpm_batch_begin(f->fpm, 200);
	for (i = 0; i < N; i++)
		feed(f, route6(FPM_MSG_ROUTE_DEL, i, 0), 200);
	dp_fpm_batch_end(f->fpm);
	assert_int_equal(rt_ctl_count_source(f->dp.rt, AF_INET6, RT_SRC_FPM), 0);
}

static void
test_replaced_nexthop_outlives_the_batch(void **state)
{
	struct fixture *f = *state;
	const struct rt_tables *t = rt_ctl_tables(f->dp.rt);
	struct inet_prefix p = pfx6(5);
	uint32_t old;

	feed(f, route6(FPM_MSG_ROUTE_ADD, 5, 0), 0);
	old = gw_nh(f, 0);
	assert_int_not_equal(old, 0);
	dp_fpm_batch_begin(f->fpm, 0);
	feed(f, route6(FPM_MSG_ROUTE_ADD, 5, 1), 0);
	/*
	 * The RIB has the new gateway, but workers still read the old copy,
	 * which names the old next hop: it stays what it was until the commit.
	 */
	assert_int_equal(rt_ctl_get(f->dp.rt, &p, RT_SRC_FPM), gw_nh(f, 1));
	assert_int_equal(rt_lookup6(t, p.addr.v6.s6_addr), old);
	assert_int_equal(gw_nh(f, 0), old);
	assert_int_equal(nh_word_kind(nh_read(nh_ctl_table(f->dp.nh), old)), NH_KIND_GATEWAY);
	dp_fpm_batch_end(f->fpm);
	assert_int_equal(rt_lookup6(t, p.addr.v6.s6_addr), gw_nh(f, 1));
	assert_int_equal(gw_nh(f, 0), 0);
	feed(f, route6(FPM_MSG_ROUTE_DEL, 5, 0), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1);
}

static void
test_update_replaces_in_place(void **state)
{
	struct fixture *f = *state;
	uint32_t a, b;

	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", "203.0.113.2", TAP_UP, BGP), 0);
	a = fpm_nh(f, "203.0.113.128/25");
	/* zebra's update: RTM_DELROUTE then RTM_NEWROUTE, in one frame */
	dp_fpm_batch_begin(f->fpm, 0);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, BGP), 0);
	/* the delete waits for what follows: the route is still in force */
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 1);
	assert_int_equal(nh_word_kind(lookup4(f, "203.0.113.130")), NH_KIND_GATEWAY);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.128/25", "198.51.100.7", TAP_CUST, BGP), 0);
	b = fpm_nh(f, "203.0.113.128/25");
	assert_int_not_equal(a, b);
	assert_int_equal(nh_word_port(lookup4(f, "203.0.113.130")), 0);
	/* a delete followed by something else is applied */
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.128/25", NULL, 0, BGP), 0);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.0/26", "203.0.113.2", TAP_UP, BGP), 0);
	assert_int_equal(fpm_nh(f, "203.0.113.128/25"), 0);
	/* and so is one that ends the batch */
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.0/26", NULL, 0, BGP), 0);
	assert_int_not_equal(fpm_nh(f, "203.0.113.0/26"), 0);
	dp_fpm_batch_end(f->fpm);
	assert_int_equal(fpm_nh(f, "203.0.113.0/26"), 0);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, BGP), 0);
	assert_int_equal(nh_ctl_count(f->dp.nh), 1);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0",
		       "--log-level", "error", "--no-telemetry", NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routes_map_to_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blackhole_and_linklocal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nexthop_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multipath_becomes_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nexthop_group_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_batch_is_one_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_batch_is_published_in_parts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replaced_nexthop_outlives_the_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_replaces_in_place, setup, teardown),
	};
	int ret;

	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	ret = cmocka_run_group_tests_name("fpm_routes", tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
