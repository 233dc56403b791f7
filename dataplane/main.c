/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cuco-dataplane: the CuCo Edge fast path. Parses its configuration before
 * anything starts, brings up the EAL, the ports and their kernel taps, loads
 * the routes, starts the workers and then serves the slow path (neighbours
 * from the kernel) on the main lcore until SIGTERM or SIGINT.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <zmq.h>

#include "common/conf.h"
#include "common/clock.h"
#include "common/log.h"
#include "dataplane/agent.h"
#include "dataplane/config.h"
#include "dataplane/control.h"
#include "dataplane/dp.h"
#include "dataplane/fpm.h"
#include "dataplane/telemetry.h"
#include "drivers/netlink.h"
#include "drivers/port.h"
#include "drivers/tap.h"

#define EXIT_CONFIG 2

static volatile sig_atomic_t stop_signal;

static const char usage[] =
"Usage: cuco-dataplane [EAL options] -- --config FILE [--check] [--verbose]\n"
"       cuco-dataplane -- --help\n"
"\n"
"The CuCo Edge fast path. It owns the DPDK ports named in its configuration,\n"
"routes IPv4 and IPv6 between them in worker lcores, enforces each\n"
"subscriber's availability and bandwidth (trTCM) and counts its usage, as\n"
"provisioned over ZeroMQ (see cuco-dpctl --help), and gives each port a\n"
"kernel TAP interface as its slow path: the kernel answers ARP, neighbour\n"
"discovery and ping for the appliance's addresses, resolves next hops, and\n"
"sends ICMP time exceeded. Neighbours the kernel learns are copied into the\n"
"fast path. It runs in the network namespace it is started in.\n"
"\n"
"EAL options (before --) are DPDK's and passed through untouched, e.g.\n"
"  -l 0,1 --no-huge -m 1024 --no-pci --file-prefix cuco\n"
"  --vdev net_af_packet0,iface=eth1 --vdev net_af_packet1,iface=eth2\n"
"The main lcore runs the control thread; the next 'workers' lcores of -l\n"
"run the fast path.\n"
"\n"
"Options (after --):\n"
"  -c, --config FILE  the configuration file (required)\n"
"      --check        validate FILE and exit: 0 if good, 2 if not\n"
"  -v, --verbose      log neighbour changes and other details\n"
"  -h, --help         this text\n"
"\n"
"Configuration file (one statement a line, '#' comments):\n"
"  workers N          worker lcores (default 1)\n"
"  mbufs N            packet buffers (default 16384)\n"
"  idle-sleep US      microseconds a worker sleeps when idle (default 0:\n"
"                     busy polling; set it where cores are shared)\n"
"  punt-rate N        packets per second and port sent to the kernel at most\n"
"                     (default 10000); the excess is dropped and counted\n"
"  route4-max N       IPv4 routes (default 65536); route6-max N likewise\n"
"  subscribers-max N  subscribers (default 16384)\n"
"  agent ENDPOINT     provisioning socket, ZeroMQ ROUTER (default\n"
"                     tcp://127.0.0.1:9700)\n"
"  usage ENDPOINT     usage counters, ZeroMQ PUB (default tcp://127.0.0.1:9701;\n"
"                     none: off); usage-interval MS (default 5000)\n"
"                     Either endpoint may end with 'curve': CURVE encryption\n"
"                     and authentication, required off loopback; the server\n"
"                     keys are made in STATE/curve, clients' public keys go\n"
"                     in STATE/curve/authorized_keys (read at each connect)\n"
"  state-dir STATE    the dataplane's state directory (default /var/lib/cuco)\n"
"  port NAME {        a port; NAME is letters, digits or _, at most 15\n"
"    device DEV       the DPDK device: a --vdev name or a PCI address\n"
"    role ROLE        access (customers) or uplink (the network)\n"
"    tap IFNAME       kernel interface of its slow path (default tap-NAME)\n"
"    address A/LEN    an IPv4 or IPv6 address with its subnet; repeatable\n"
"    unknown POLICY   access ports: forward (default) or drop the traffic of\n"
"                     no known subscriber; counted either way\n"
"    shape RATE [queue N]  access ports: shape the downstream of subscribers\n"
"                     whose profile says so (rte_sched, a pipe each, a queue\n"
"                     of N packets, default 64); RATE is the port's (1G)\n"
"  }\n"
"  route PREFIX via GATEWAY   a static route; GATEWAY on a port's subnet\n"
"  fpm ADDRESS PORT   where zebra's FPM feed (dplane_fpm_nl) is listened for\n"
"                     (default 127.0.0.1 2620); 'fpm off' listens not at all\n"
"  fpm-stale-time S   after zebra (re)connects, routes it has not announced\n"
"                     again go once the feed is quiet for S seconds, and not\n"
"                     before 10 + S seconds after it started (default 5)\n"
"\n"
"Telemetry (dpdk-telemetry.py -f FILE_PREFIX): /cuco/ports, /cuco/stats,\n"
"/cuco/stats,PORT, /cuco/routes, /cuco/subscribers and /cuco/subscriber,ID.\n"
"\n"
"Exit status: 0 after SIGTERM or SIGINT, 1 on a runtime failure, 2 on a bad\n"
"command line or configuration (one line on stderr: FILE:LINE: FIELD: reason);\n"
"then nothing is left running.\n";

struct options {
	const char *config;
	bool check;
	bool verbose;
};

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* Index of "--" in argv, or argc when there is none. */
static int
split_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

/* Returns 0, 1 when --help was given, or -EINVAL after printing why. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'C':
			o->check = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			return 1;
		default:
			fprintf(stderr, "cuco-dataplane: unknown or incomplete option '%s' "
				"(see cuco-dataplane -- --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cuco-dataplane: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->config == NULL) {
		fprintf(stderr, "cuco-dataplane: --config FILE is required "
			"(see cuco-dataplane -- --help)\n");
		return -EINVAL;
	}
	return 0;
}

/* Checks that need the EAL: devices exist, enough lcores and queues. */
static int
check_runtime(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *cfg = dp->cfg;
	unsigned i, lcores = rte_lcore_count();

	if (lcores < cfg->workers + 1)
		return conf_error(err, errlen, cfg->path, 0, "workers",
				  "%u workers need %u lcores in the EAL's -l, it has %u",
				  cfg->workers, cfg->workers + 1, lcores);
	for (i = 0; i < cfg->n_ports; i++) {
		const struct dp_port_config *pc = &cfg->ports[i];
		uint16_t port_id, max_rx, max_tx;

		if (rte_eth_dev_get_port_by_name(pc->device, &port_id) != 0)
			return conf_error(err, errlen, cfg->path, pc->device_line, "device",
					  "no DPDK device named '%s' (give it to the EAL with "
					  "--vdev or -a)", pc->device);
		if (port_max_queues(port_id, &max_rx, &max_tx) < 0 || max_rx == 0)
			return conf_error(err, errlen, cfg->path, pc->device_line, "device",
					  "cannot query device %s", pc->device);
		if (max_tx < cfg->workers)
			return conf_error(err, errlen, cfg->path, pc->device_line, "device",
					  "%s has %u TX queues, %u workers need %u (af_packet: "
					  "add qpairs=%u to its --vdev)", pc->device, max_tx,
					  cfg->workers, cfg->workers, cfg->workers);
		if (if_nametoindex(pc->tap) != 0)
			return conf_error(err, errlen, cfg->path, pc->line, "tap",
					  "interface %s already exists (another dataplane?)",
					  pc->tap);
		dp->ports[i].port_id = port_id;
		dp->ports[i].cfg = pc;
		dp->ports[i].role = pc->role;
		dp->ports[i].unknown_drop = pc->unknown_drop;
		if (pc->role == DP_ROLE_ACCESS)
			dp->has_access = true;
		dp->ports[i].nb_rxq = RTE_MIN(max_rx, (uint16_t)cfg->workers);
	}
	dp->n_ports = cfg->n_ports;
	return 0;
}

/* See tap_kernel_quiet(): only for ports that are kernel interfaces. */
static int
quiet_kernel_port(const struct dp_port *p, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	char ifname[IF_NAMESIZE];

	if (rte_eth_dev_info_get(p->port_id, &info) < 0 || info.if_index == 0 ||
	    if_indextoname(info.if_index, ifname) == NULL)
		return 0;
	return tap_kernel_quiet(ifname, err, errlen);
}

/*
 * The port's VLAN sub-interfaces on its tap, with their addresses and the
 * tap's kernel settings: the kernel hands them the tagged frames the fast
 * path punts to the tap, and they send tagged frames the fast path passes
 * on. A QinQ pair's 802.1ad interface is made once for all pairs of its
 * S-VLAN.
 */
static int
start_vlans(struct dp_port *p, struct knl *knl, char *err, size_t errlen)
{
	const char *name = NULL;
	char why[256];
	unsigned i, j;
	int ret, parent;

	for (i = 0; i < p->cfg->n_vlans; i++) {
		struct dp_port_vlan *v = &p->vlans[i];
		const struct dp_vlan_config *vc = v->cfg;

		name = vc->ifname;
		parent = p->tap_ifindex;
		if (vc->inner != 0) {
			name = vc->outer_ifname;
			for (j = 0; j < i && strcmp(p->vlans[j].cfg->outer_ifname, name) != 0; j++)
				;
			if (j < i) {
				/* made for an earlier pair of this S-VLAN */
				parent = (int)if_nametoindex(name);
				ret = parent != 0 ? 0 : -ENODEV;
			} else {
				ret = knl_vlan_add(knl, p->tap_ifindex, name, vc->outer, true,
						   &parent);
				if (ret == 0)
					ret = tap_kernel_setup(name, why, sizeof(why));
			}
			if (ret < 0)
				goto fail;
			name = vc->ifname;
		}
		ret = knl_vlan_add(knl, parent, name, vc->inner != 0 ? vc->inner : vc->outer, false,
				   &v->ifindex);
		if (ret < 0)
			goto fail;
		ret = tap_kernel_setup(name, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s: kernel setting %s", p->cfg->name, why);
			return ret;
		}
		for (j = 0; j < vc->n_addrs; j++) {
			ret = knl_addr_add(knl, v->ifindex, &vc->addrs[j]);
			if (ret < 0) {
				snprintf(err, errlen, "port %s: address on %s: %s", p->cfg->name,
					 name, strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "port %s: VLAN interface %s on %s: %s", p->cfg->name, name,
		 p->cfg->tap,
		 ret == -EEXIST	      ? "the name is taken"
		 : ret == -EOPNOTSUPP ? "the kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q, "
					"module 8021q)"
				      : strerror(-ret));
	return ret;
}

static int
start_ports(struct dp *dp, struct knl *knl, char *err, size_t errlen)
{
	char why[256];
	unsigned i, j;
	int ret;

	ret = tap_kernel_global(why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "kernel setting %s", why);
		return ret;
	}
	for (i = 0; i < dp->n_ports; i++) {
		struct dp_port *p = &dp->ports[i];

		ret = rte_eth_macaddr_get(p->port_id, &p->mac);
		if (ret < 0) {
			snprintf(err, errlen, "port %s: no MAC address", p->cfg->name);
			return ret;
		}
		ret = quiet_kernel_port(p, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s: kernel setting %s", p->cfg->name, why);
			return ret;
		}
		ret = port_start(p->port_id, p->nb_rxq, (uint16_t)dp->n_workers, dp->pool, why,
				 sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s (%s): %s", p->cfg->name, p->cfg->device, why);
			return ret;
		}
		ret = tap_create(i, p->cfg->tap, &p->mac, &p->tap_id, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s: %s", p->cfg->name, why);
			return ret;
		}
		/* net_tap wants as many RX as TX queues: one of each per worker. */
		p->tap_nb_rxq = (uint16_t)dp->n_workers;
		ret = port_start(p->tap_id, p->tap_nb_rxq, (uint16_t)dp->n_workers, dp->pool, why,
				 sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s: tap %s: %s", p->cfg->name, p->cfg->tap, why);
			return ret;
		}
		p->tap_ifindex = (int)if_nametoindex(p->cfg->tap);
		if (p->tap_ifindex == 0) {
			snprintf(err, errlen, "port %s: tap %s did not appear", p->cfg->name,
				 p->cfg->tap);
			return -ENODEV;
		}
		ret = tap_kernel_setup(p->cfg->tap, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "port %s: kernel setting %s", p->cfg->name, why);
			return ret;
		}
		for (j = 0; j < p->cfg->n_addrs; j++) {
			ret = knl_addr_add(knl, p->tap_ifindex, &p->cfg->addrs[j]);
			if (ret < 0) {
				snprintf(err, errlen, "port %s: address on %s: %s", p->cfg->name,
					 p->cfg->tap, strerror(-ret));
				return ret;
			}
		}
		ret = start_vlans(p, knl, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The kernel forwards what the fast path punts as unresolved: give it the static routes. */
static int
kernel_routes(struct dp *dp, struct knl *knl, char *err, size_t errlen)
{
	char buf[INET_PREFIX_STRLEN];
	unsigned i;
	int ret;

	for (i = 0; i < dp->cfg->n_routes; i++) {
		const struct dp_route_config *r = &dp->cfg->routes[i];

		const struct dp_port *p = &dp->ports[r->port];

		ret = knl_route_add(knl, &r->dst, &r->gw,
				    r->vlan == 0 ? p->tap_ifindex : p->vlans[r->vlan - 1].ifindex);
		if (ret < 0) {
			snprintf(err, errlen, "kernel route %s: %s",
				 inet_prefix_format(&r->dst, buf, sizeof(buf)), strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Spread (port, queue) pairs over workers, round robin. */
static void
assign_queues(struct dp *dp)
{
	unsigned i, q, next = 0;

	for (i = 0; i < dp->n_ports; i++) {
		const struct dp_port *p = &dp->ports[i];

		for (q = 0; q < p->nb_rxq; q++) {
			struct dp_worker *w = &dp->workers[next++ % dp->n_workers];

			w->rxq[w->n_rxq++] = (struct dp_rxq){p->port_id, (uint16_t)q, (uint8_t)i, false};
		}
		for (q = 0; q < p->tap_nb_rxq; q++) {
			struct dp_worker *w = &dp->workers[next++ % dp->n_workers];

			w->rxq[w->n_rxq++] = (struct dp_rxq){p->tap_id, (uint16_t)q, (uint8_t)i, true};
		}
	}
}

static int
launch_workers(struct dp *dp)
{
	unsigned lcore, i = 0;
	int ret;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w;

		if (i == dp->n_workers)
			break;
		w = &dp->workers[i];
		w->lcore_id = lcore;
		ret = rte_eal_remote_launch(dp_worker_main, w, lcore);
		if (ret < 0)
			return ret;
		i++;
	}
	return 0;
}

static void
neigh_cb(void *arg, int ifindex, const struct inet_addr *addr, const uint8_t *mac)
{
	dp_neigh_event(arg, ifindex, addr, mac);
}

static int
init_tables(struct dp *dp)
{
	size_t sz = rte_rcu_qsbr_get_memsize(dp->n_workers);
	unsigned i;
	int ret;

	ret = dp_vlans_init(dp);
	if (ret < 0)
		return ret;
	dp->qsv = rte_zmalloc("cuco_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, dp->n_workers) != 0)
		return -ENOMEM;
	ret = nh_ctl_create(dp->n_ports, dp->qsv, &dp->nh);
	if (ret < 0)
		return ret;
	dp->nht = nh_ctl_table(dp->nh);
	ret = rt_ctl_create(dp->qsv, dp->cfg->route4_max, dp->cfg->route6_max, &dp->rt);
	if (ret < 0)
		return ret;
	dp->rtt = rt_ctl_tables(dp->rt);
	ret = sub_ctl_create(dp->cfg->subscribers_max + 1, dp->n_workers, dp->qsv, &dp->subs);
	if (ret < 0)
		return ret;
	dp->subt = sub_ctl_tables(dp->subs);
	dp->workers = rte_zmalloc("cuco_workers", sizeof(*dp->workers) * dp->n_workers,
				  RTE_CACHE_LINE_SIZE);
	if (dp->workers == NULL)
		return -ENOMEM;
	for (i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];
		unsigned p;

		w->dp = dp;
		w->index = i;
		for (p = 0; p < dp->n_ports; p++) {
			const struct dp_port_config *pc = dp->ports[p].cfg;
			char name[32];

			if (pc->shape_rate == 0)
				continue;
			snprintf(name, sizeof(name), "cuco_shp%u_%u", i, p);
			ret = dp_shaper_init(&w->shaper[p], name, pc->shape_rate,
					     (uint16_t)pc->shape_queue, dp->cfg->subscribers_max + 1);
			if (ret < 0) {
				log_err("port %s: shaper of %u subscribers: %" PRIu64 " bytes needed "
					"(raise -m, or lower subscribers-max or the queue)", pc->name,
					dp->cfg->subscribers_max,
					dp_shaper_footprint(pc->shape_rate, (uint16_t)pc->shape_queue,
							    dp->cfg->subscribers_max + 1));
				return ret;
			}
			dp->has_shapers = true;
		}
		w->punt_rate = RTE_MAX(1u, dp->cfg->punt_rate / dp->n_workers);
		w->punt_burst = RTE_MAX(32u, w->punt_rate / 10);
	}
	return 0;
}

static void
teardown(struct dp *dp, struct knl *knl)
{
	unsigned i;

	__atomic_store_n(&dp->quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	for (i = 0; i < dp->n_ports; i++) {
		port_close(dp->ports[i].port_id);
		if (dp->ports[i].tap_id != 0 || dp->ports[i].tap_ifindex != 0)
			port_close(dp->ports[i].tap_id);
	}
	knl_close(knl);
	if (dp->workers != NULL)
		for (i = 0; i < dp->n_workers; i++) {
			unsigned p;

			for (p = 0; p < dp->n_ports; p++)
				dp_shaper_fini(&dp->workers[i].shaper[p]);
		}
	dp->subs = sub_ctl_free(dp->subs);
	dp->rt = rt_ctl_free(dp->rt);
	dp->nh = nh_ctl_free(dp->nh);
	dp_vlans_free(dp);
}

/*
 * The EAL leaves its runtime directory (config, sockets) behind; as the only
 * process of this file prefix, remove it so that nothing outlives us.
 */
static void
remove_runtime_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/*
 * Serve the kernel's neighbour events, zebra's FPM feed and the provisioning
 * agent until a signal.
 */
static void
control_loop(struct dp *dp, struct knl *knl, struct dp_fpm *fpm, struct agent *agent)
{
	zmq_pollitem_t items[6];

	while (stop_signal == 0) {
		struct pollfd pfd[3];
		unsigned nfpm, nitems = 0, i, fpm_first;
		bool zap = agent_zap_socket(agent) != NULL;
		int n;

		items[nitems++] = (zmq_pollitem_t){.socket = agent_socket(agent), .events = ZMQ_POLLIN};
		items[nitems++] = (zmq_pollitem_t){.fd = knl_fd(knl), .events = ZMQ_POLLIN};
		if (zap)
			items[nitems++] = (zmq_pollitem_t){.socket = agent_zap_socket(agent),
							   .events = ZMQ_POLLIN};
		fpm_first = nitems;
		nfpm = dp_fpm_pollfds(fpm, pfd);
		for (i = 0; i < nfpm && nitems < RTE_DIM(items); i++)
			items[nitems++] = (zmq_pollitem_t){.fd = pfd[i].fd, .events = ZMQ_POLLIN};
		n = zmq_poll(items, (int)nitems, 200);
		if (n > 0 && zap && (items[2].revents & ZMQ_POLLIN))
			agent_zap_dispatch(agent);
		if (n > 0 && (items[1].revents & ZMQ_POLLIN)) {
			int ret = knl_dispatch(knl);

			if (ret < 0)
				log_warn("netlink: %s", strerror(-ret));
		}
		for (i = fpm_first; n > 0 && i < nitems; i++) {
			if (items[i].revents != 0) {
				dp_fpm_dispatch(fpm);
				break;
			}
		}
		if (n > 0 && (items[0].revents & ZMQ_POLLIN))
			agent_dispatch(agent);
		dp_fpm_tick(fpm, cuco_monotonic_ms());
		agent_tick(agent, cuco_monotonic_ms());
	}
	log_info("stopping on signal %d", (int)stop_signal);
}

int
main(int argc, char **argv)
{
	int split = split_args(argc, argv);
	struct options opts = {0};
	struct dp_config *cfg = NULL;
	struct knl *knl = NULL;
	struct dp_fpm *fpm = NULL;
	struct agent *agent = NULL;
	struct dp dp;
	char err[1024], runtime_dir[PATH_MAX];
	int ret, status = EXIT_FAILURE;

	cuco_log_init("cuco-dataplane", CUCO_LOG_INFO);
	ret = parse_options(argc - split, argv + split, &opts);
	if (ret == 1) {
		fputs(usage, stdout);
		return EXIT_SUCCESS;
	}
	if (ret < 0)
		return EXIT_CONFIG;
	if (opts.verbose)
		cuco_log_init("cuco-dataplane", CUCO_LOG_DEBUG);
	if (dp_config_load(opts.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (opts.check) {
		printf("%s: ok (%u ports, %u static routes)\n", opts.config, cfg->n_ports,
		       cfg->n_routes);
		dp_config_free(cfg);
		return EXIT_SUCCESS;
	}

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = rte_eal_init(split, argv);
	if (ret < 0) {
		log_err("EAL initialisation failed: %s", rte_errno != 0 ? rte_strerror(rte_errno)
			: "see the EAL lines above (another process with this --file-prefix?)");
		dp_config_free(cfg);
		return EXIT_FAILURE;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	memset(&dp, 0, sizeof(dp));
	pthread_mutex_init(&dp.ctl_lock, NULL);
	dp.cfg = cfg;
	dp.n_workers = cfg->workers;
	if (check_runtime(&dp, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		status = EXIT_CONFIG;
		goto out_eal;
	}
	dp.pool = rte_pktmbuf_pool_create("cuco_pkts", cfg->mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (dp.pool == NULL) {
		log_err("packet pool of %u mbufs: %s (lower mbufs or raise -m)", cfg->mbufs,
			rte_strerror(rte_errno));
		goto out_eal;
	}
	ret = init_tables(&dp);
	if (ret < 0) {
		log_err("tables: %s (raise -m, or lower route4-max, route6-max or subscribers-max)",
			strerror(-ret));
		goto out_teardown;
	}
	ret = knl_open(&knl);
	if (ret < 0) {
		log_err("netlink: %s", strerror(-ret));
		goto out_teardown;
	}
	if (start_ports(&dp, knl, err, sizeof(err)) < 0 || dp_routes_load(&dp, err, sizeof(err)) < 0 ||
	    kernel_routes(&dp, knl, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out_teardown;
	}
	ret = knl_neigh_watch(knl, neigh_cb, &dp);
	if (ret < 0) {
		log_err("netlink neighbour watch: %s", strerror(-ret));
		goto out_teardown;
	}
	if (cfg->fpm_enabled) {
		char a[INET_PREFIX_STRLEN];

		inet_addr_format(&cfg->fpm_addr, a, sizeof(a));
		ret = dp_fpm_start(&dp, &fpm);
		if (ret < 0) {
			log_err("fpm: cannot listen on %s port %u: %s (see 'fpm' in the config)", a,
				cfg->fpm_port, strerror(-ret));
			goto out_teardown;
		}
		dp.fpm = fpm;
		log_info("fpm: listening on %s port %u for zebra", a, cfg->fpm_port);
	}
	if (agent_open(&dp, &agent, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out_teardown;
	}
	assign_queues(&dp);
	if (launch_workers(&dp) < 0) {
		log_err("cannot launch workers");
		goto out_teardown;
	}
	if (dp_telemetry_init(&dp) < 0)
		log_warn("telemetry commands not registered (is telemetry disabled?)");
	log_info("%u ports, %u workers, %u IPv4 and %u IPv6 routes; provisioning on %s, usage on "
		 "%s, boot id %s", dp.n_ports, dp.n_workers, rt_ctl_count(dp.rt, AF_INET),
		 rt_ctl_count(dp.rt, AF_INET6), cfg->agent, cfg->usage[0] ? cfg->usage : "none",
		 agent_boot_id(agent));
	fprintf(stderr, "cuco-dataplane: ready\n");
	control_loop(&dp, knl, fpm, agent);
	/* Workers first: the last usage message then holds every packet they counted. */
	__atomic_store_n(&dp.quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	agent_flush(agent, 1000);
	status = EXIT_SUCCESS;

out_teardown:
	agent_close(agent);
	dp.fpm = NULL;
	fpm = dp_fpm_free(fpm);
	teardown(&dp, knl);
out_eal:
	rte_eal_cleanup();
	if (rte_eal_process_type() == RTE_PROC_PRIMARY)
		remove_runtime_dir(runtime_dir);
	dp_config_free(cfg);
	return status;
}
