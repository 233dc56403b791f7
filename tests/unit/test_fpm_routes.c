/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FRR's routes in the tables (dataplane/fpm.c), fed decoded messages
 * directly, with a minimal EAL: which interface maps to which port, next-hop
 * objects, source priority, and the stale sweep after a reconnection.
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
	assert_int_equal(rt_ctl_create(f.dp.qsv, 1024, 1024, &f.dp.rt), 0);
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
	/* zebra reconnects and announces only the first again */
	dp_fpm_resync(f->fpm, 1000);
	feed(f, route(FPM_MSG_ROUTE_ADD, "203.0.113.0/26", "203.0.113.2", TAP_UP, BGP), 2000);
	/* not quiet long enough yet (fpm-stale-time 5 s): nothing goes */
	dp_fpm_tick(f->fpm, 6000);
	assert_int_not_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	dp_fpm_tick(f->fpm, 7000);
	assert_int_equal(fpm_nh(f, "203.0.113.64/26"), 0);
	assert_int_not_equal(fpm_nh(f, "203.0.113.0/26"), 0);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, STATIC), 0);
	assert_int_equal(dp_fpm_count(f->fpm, AF_INET, BGP), 1);
	assert_int_equal(rt_ctl_count_source(f->dp.rt, AF_INET, RT_SRC_FPM), 1);
	feed(f, route(FPM_MSG_ROUTE_DEL, "203.0.113.0/26", NULL, 0, BGP), 8000);
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
