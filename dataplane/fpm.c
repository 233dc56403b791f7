/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/fpm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/rtnetlink.h>

#include <rte_common.h>
#include <rte_hash.h>
#include <rte_jhash.h>

#include "common/clock.h"
#include "common/log.h"
#include "drivers/fpm_server.h"

/* Next-hop objects zebra may define: a peer-controlled resource, so bounded. */
#define FPM_MAX_NHOBJ 16384u
/*
 * A batch (one read round of the listener) is published early once it
 * holds this many IPv6 changes or has been open this long: bounds how long
 * a change waits before the workers see it.
 */
#define FPM_BATCH_MAX 4096u
#define FPM_BATCH_MS 10u
/* Next hops replaced in a batch, released after it is published. */
#define FPM_DEFER_MAX 4096u
/*
 * zebra's clients (staticd, bgpd...) notice that a restarted zebra is back
 * only when they retry their connection: FRR's lib/zclient.c retries 10 s
 * after losing zebra (then 10 s, then every 60 s). Only then may they
 * announce their routes again, after zebra's own replay has gone quiet. The
 * sweep waits at least this long after a feed starts, plus fpm-stale-time.
 */
#define FPM_CLIENT_RETRY_MS 10000u

struct fpm_key {
	uint8_t family;
	uint8_t len;
	uint8_t pad[2];
	uint8_t addr[16];
};

/* A route zebra announced (installed in the RIB, or waiting for its next-hop object). */
struct fpm_entry {
	struct inet_prefix pfx; /* family 0: slot free */
	uint32_t nhobj;         /* RTA_NH_ID or 0 */
	uint32_t gen;           /* resync generation it was last announced in */
	uint8_t protocol;
	bool installed;         /* holds a next hop in the RIB */
};

struct fpm_obj {
	struct fpm_nhobj nh; /* id 0: slot free */
	uint32_t gen;
};

struct dp_fpm {
	struct dp *dp;
	struct fpm_server *srv;
	struct rte_hash *routes; /* fpm_key -> index in entries */
	struct fpm_entry *entries;
	uint32_t *free_idx;
	unsigned n_free, cap;
	struct rte_hash *objs;   /* NHA_ID -> index in obj */
	struct fpm_obj *obj;
	uint32_t *free_obj;
	unsigned n_free_obj;
	unsigned with_nhobj;     /* entries naming a next-hop object */
	uint32_t gen;
	bool sweep_pending;
	uint64_t feed_start_ms;  /* the resync began */
	bool fresh_conn;         /* connected, no frame decoded yet */
	uint64_t last_msg_ms;
	uint64_t stale_ms;
	uint64_t warnings;
	unsigned count[2][256];  /* installed, per family and rtm_protocol */
	bool in_batch;
	uint64_t batch_start_ms;
	uint32_t *deferred;      /* next hop references to put after the commit */
	unsigned n_deferred;
	bool del_pending;        /* a route delete held back: an update may follow */
	struct inet_prefix del_pfx;
};

static unsigned
fam_idx(uint8_t family)
{
	return family == AF_INET ? 0 : 1;
}

static void
make_key(struct fpm_key *k, const struct inet_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->family = p->addr.family;
	k->len = p->len;
	memcpy(k->addr, p->addr.family == AF_INET ? (const void *)&p->addr.v4
						  : (const void *)&p->addr.v6,
	       p->addr.family == AF_INET ? 4 : 16);
}

/* Peers control how often this fires: log the 1st, 2nd, 4th, 8th... only. */
static void
warn(struct dp_fpm *f, const char *what, const struct inet_prefix *pfx)
{
	char buf[INET_PREFIX_STRLEN];

	f->warnings++;
	if ((f->warnings & (f->warnings - 1)) != 0)
		return;
	log_warn("fpm: route %s: %s (%" PRIu64 " such warnings so far)",
		 pfx != NULL ? inet_prefix_format(pfx, buf, sizeof(buf)) : "-", what, f->warnings);
}

int
dp_fpm_create(struct dp *dp, struct dp_fpm **ret_fpm)
{
	static unsigned instance;
	struct rte_hash_parameters hp = {
		.key_len = sizeof(struct fpm_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	char name[RTE_HASH_NAMESIZE];
	struct dp_fpm *f;
	unsigned i;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->dp = dp;
	f->gen = 1;
	f->stale_ms = (uint64_t)(dp->cfg->fpm_stale_s ? dp->cfg->fpm_stale_s : 5) * 1000;
	f->cap = dp->cfg->route4_max + dp->cfg->route6_max;
	snprintf(name, sizeof(name), "cuco_fpm_%u", instance);
	hp.name = name;
	hp.entries = f->cap;
	f->routes = rte_hash_create(&hp);
	snprintf(name, sizeof(name), "cuco_fpmnh_%u", instance++);
	hp.name = name;
	hp.entries = FPM_MAX_NHOBJ;
	hp.key_len = sizeof(uint32_t);
	f->objs = rte_hash_create(&hp);
	f->entries = calloc(f->cap, sizeof(*f->entries));
	f->free_idx = calloc(f->cap, sizeof(*f->free_idx));
	f->obj = calloc(FPM_MAX_NHOBJ, sizeof(*f->obj));
	f->free_obj = calloc(FPM_MAX_NHOBJ, sizeof(*f->free_obj));
	f->deferred = calloc(FPM_DEFER_MAX, sizeof(*f->deferred));
	if (f->routes == NULL || f->objs == NULL || f->entries == NULL || f->free_idx == NULL ||
	    f->obj == NULL || f->free_obj == NULL || f->deferred == NULL) {
		dp_fpm_free(f);
		return -ENOMEM;
	}
	for (i = f->cap; i > 0; i--)
		f->free_idx[f->n_free++] = i - 1;
	for (i = FPM_MAX_NHOBJ; i > 0; i--)
		f->free_obj[f->n_free_obj++] = i - 1;
	*ret_fpm = f;
	return 0;
}

struct dp_fpm *
dp_fpm_free(struct dp_fpm *f)
{
	if (f == NULL)
		return NULL;
	fpm_server_close(f->srv);
	rte_hash_free(f->routes);
	rte_hash_free(f->objs);
	free(f->entries);
	free(f->free_idx);
	free(f->obj);
	free(f->free_obj);
	free(f->deferred);
	free(f);
	return NULL;
}

/* ------------------------------------------------------------ resolution */

static int
port_of_oif(const struct dp *dp, uint32_t oif)
{
	unsigned i;

	for (i = 0; i < dp->n_ports; i++)
		if (oif != 0 && (uint32_t)dp->ports[i].tap_ifindex == oif)
			return (int)i;
	return -1;
}

/* A next hop id for @p with a reference taken (see put_nh), or 0 if unusable here. */
static uint32_t
resolve_path(struct dp_fpm *f, const struct fpm_path *p)
{
	int pidx = port_of_oif(f->dp, p->oif), id;

	if (pidx < 0)
		return 0; /* lo, or an interface that is not ours */
	if (p->gw.family == 0)
		return NH_ID_CONNECTED((unsigned)pidx);
	id = nh_ctl_get(f->dp->nh, &p->gw, (uint8_t)pidx);
	return id < 0 ? 0 : (uint32_t)id;
}

static const struct fpm_obj *
find_obj(const struct dp_fpm *f, uint32_t id)
{
	void *data;

	if (rte_hash_lookup_data(f->objs, &id, &data) < 0)
		return NULL;
	return &f->obj[(uintptr_t)data];
}

/*
 * The next hop for the @n usable paths @ids (references taken by
 * resolve_path, handed over here, also on failure): 0 without any, the path
 * itself for one, else a group (ECMP) of them. Returns it with one
 * reference.
 */
static uint32_t
make_group(struct dp_fpm *f, const uint32_t *ids, unsigned n, const struct inet_prefix *pfx)
{
	int g;
	unsigned i;

	if (n <= 1)
		return n == 1 ? ids[0] : 0;
	g = nh_ctl_group_get(f->dp->nh, ids, n);
	if (g < 0) {
		warn(f, "no room for a next-hop group: first path only", pfx);
		for (i = 1; i < n; i++)
			nh_ctl_put(f->dp->nh, ids[i]);
		return ids[0];
	}
	/* The group holds its own references on its members. */
	for (i = 0; i < n; i++)
		nh_ctl_put(f->dp->nh, ids[i]);
	return (uint32_t)g;
}

static uint32_t
resolve_obj(struct dp_fpm *f, uint32_t id, const struct inet_prefix *pfx)
{
	const struct fpm_obj *o = find_obj(f, id);
	uint32_t ids[FPM_MAX_PATHS];
	unsigned i, n = 0;
	bool blackhole = false;

	if (o == NULL)
		return 0;
	if (o->nh.blackhole)
		return NH_ID_BLACKHOLE;
	if (o->nh.n_group == 0)
		return resolve_path(f, &o->nh.path);
	/*
	 * Groups hold single next hops only (the kernel's rule). Every usable
	 * member carries flows; a blackhole member only when none is usable.
	 */
	for (i = 0; i < o->nh.n_group && n < RTE_DIM(ids); i++) {
		const struct fpm_obj *m = find_obj(f, o->nh.group[i]);
		uint32_t nh;

		if (m == NULL || m->nh.n_group != 0)
			continue;
		if (m->nh.blackhole) {
			blackhole = true;
			continue;
		}
		nh = resolve_path(f, &m->nh.path);
		if (nh != 0)
			ids[n++] = nh;
	}
	if (n == 0 && blackhole)
		return NH_ID_BLACKHOLE;
	return make_group(f, ids, n, pfx);
}

static uint32_t
resolve_route(struct dp_fpm *f, const struct fpm_route *r)
{
	uint32_t ids[FPM_MAX_PATHS];
	unsigned i, n = 0;

	if (r->type == FPM_RT_BLACKHOLE)
		return NH_ID_BLACKHOLE;
	if (r->nh_id != 0)
		return resolve_obj(f, r->nh_id, &r->dst);
	for (i = 0; i < r->n_paths && n < RTE_DIM(ids); i++) {
		uint32_t nh = resolve_path(f, &r->paths[i]);

		if (nh != 0)
			ids[n++] = nh;
	}
	return make_group(f, ids, n, &r->dst);
}

/* --------------------------------------------------------------- batches */

/* Publish what the batch changed so far, then let go of the next hops it replaced. */
static void
flush(struct dp_fpm *f, uint64_t now_ms)
{
	unsigned i;

	rt_ctl_batch_commit(f->dp->rt);
	/* Published: no worker can reach these through a route any more. */
	for (i = 0; i < f->n_deferred; i++)
		nh_ctl_put(f->dp->nh, f->deferred[i]);
	f->n_deferred = 0;
	f->batch_start_ms = now_ms;
}

/*
 * Drop a reference to @id, which a route no longer uses. Inside a batch the
 * workers may still see the route with @id (the IPv6 copy they read is
 * changed only at the commit), so the reference goes after the commit.
 */
static void
put_later(struct dp_fpm *f, uint32_t id)
{
	if (id < NH_FIRST_DYNAMIC)
		return; /* fixed ids are not counted */
	if (!f->in_batch) {
		nh_ctl_put(f->dp->nh, id);
		return;
	}
	if (f->n_deferred == FPM_DEFER_MAX)
		flush(f, f->batch_start_ms);
	f->deferred[f->n_deferred++] = id;
}

/* ---------------------------------------------------------------- routes */

static struct fpm_entry *
find_entry(const struct dp_fpm *f, const struct inet_prefix *pfx, struct fpm_key *k)
{
	void *data;

	make_key(k, pfx);
	if (rte_hash_lookup_data(f->routes, k, &data) < 0)
		return NULL;
	return &f->entries[(uintptr_t)data];
}

/*
 * Put @nh (a reference taken by resolve_*, or 0 to remove) in the RIB for
 * @e; takes over that reference, also on failure.
 */
static void
install(struct dp_fpm *f, struct fpm_entry *e, uint32_t nh)
{
	struct dp *dp = f->dp;
	uint32_t old = rt_ctl_get(dp->rt, &e->pfx, RT_SRC_FPM);
	unsigned fi = fam_idx(e->pfx.addr.family);
	int ret;

	if (nh == old) {
		nh_ctl_put(dp->nh, nh); /* already held once for this route */
		return;
	}
	ret = rt_ctl_set(dp->rt, &e->pfx, RT_SRC_FPM, nh);
	if (ret < 0) {
		nh_ctl_put(dp->nh, nh);
		warn(f, ret == -ENOSPC ? "route table full (raise route4-max / route6-max)"
				       : "not installed", &e->pfx);
		return;
	}
	/* Removed from the RIB first: then no new lookup yields the old id. */
	put_later(f, old);
	if (e->installed)
		f->count[fi][e->protocol]--;
	e->installed = nh != 0;
	if (e->installed)
		f->count[fi][e->protocol]++;
}

static void
remove_entry(struct dp_fpm *f, struct fpm_entry *e)
{
	struct fpm_key k;

	install(f, e, 0);
	if (e->installed)
		return; /* the RIB refused the change: keep what is in force */
	make_key(&k, &e->pfx);
	if (e->nhobj != 0)
		f->with_nhobj--;
	f->free_idx[f->n_free++] = (uint32_t)(e - f->entries);
	rte_hash_del_key(f->routes, &k);
	memset(e, 0, sizeof(*e));
}

static void
route_add(struct dp_fpm *f, const struct fpm_route *r)
{
	struct fpm_entry *e;
	struct fpm_key k;
	uint32_t nh;
	int idx;

	e = find_entry(f, &r->dst, &k);
	if (e == NULL) {
		if (f->n_free == 0) {
			warn(f, "more FPM routes than route4-max + route6-max", &r->dst);
			return;
		}
		idx = (int)f->free_idx[f->n_free - 1];
		if (rte_hash_add_key_data(f->routes, &k, (void *)(uintptr_t)idx) < 0) {
			warn(f, "FPM route index full", &r->dst);
			return;
		}
		f->n_free--;
		e = &f->entries[idx];
		memset(e, 0, sizeof(*e));
		e->pfx = r->dst;
	}
	if (e->installed && e->protocol != r->protocol) {
		f->count[fam_idx(e->pfx.addr.family)][e->protocol]--;
		f->count[fam_idx(e->pfx.addr.family)][r->protocol]++;
	}
	e->protocol = r->protocol;
	e->gen = f->gen;
	if ((e->nhobj != 0) != (r->nh_id != 0))
		f->with_nhobj += r->nh_id != 0 ? 1u : (unsigned)-1;
	e->nhobj = r->nh_id;
	nh = resolve_route(f, r);
	install(f, e, nh);
	/* Kept unresolved only while it waits for its next-hop object. */
	if (!e->installed && e->nhobj == 0)
		remove_entry(f, e);
}

static void
route_del(struct dp_fpm *f, const struct inet_prefix *dst)
{
	struct fpm_key k;
	struct fpm_entry *e = find_entry(f, dst, &k);

	if (e != NULL)
		remove_entry(f, e);
}

static bool
uses_obj(const struct dp_fpm *f, uint32_t route_obj, uint32_t changed)
{
	const struct fpm_obj *o;
	unsigned i;

	if (route_obj == changed)
		return true;
	o = find_obj(f, route_obj);
	if (o == NULL)
		return false;
	for (i = 0; i < o->nh.n_group; i++)
		if (o->nh.group[i] == changed)
			return true;
	return false;
}

/* Object @id changed or went: routes using it, directly or in a group, follow. */
static void
obj_changed(struct dp_fpm *f, uint32_t id)
{
	unsigned i;

	if (f->with_nhobj == 0)
		return;
	for (i = 0; i < f->cap; i++) {
		struct fpm_entry *e = &f->entries[i];

		if (e->pfx.addr.family == 0 || e->nhobj == 0 || !uses_obj(f, e->nhobj, id))
			continue;
		install(f, e, resolve_obj(f, e->nhobj, &e->pfx));
	}
}

static void
obj_add(struct dp_fpm *f, const struct fpm_nhobj *nh)
{
	void *data;
	uint32_t idx;

	if (rte_hash_lookup_data(f->objs, &nh->id, &data) >= 0) {
		idx = (uint32_t)(uintptr_t)data;
	} else {
		if (f->n_free_obj == 0) {
			warn(f, "more than 16384 next-hop objects: ignored", NULL);
			return;
		}
		idx = f->free_obj[f->n_free_obj - 1];
		if (rte_hash_add_key_data(f->objs, &nh->id, (void *)(uintptr_t)idx) < 0) {
			warn(f, "next-hop object index full", NULL);
			return;
		}
		f->n_free_obj--;
	}
	f->obj[idx].nh = *nh;
	f->obj[idx].gen = f->gen;
	obj_changed(f, nh->id);
}

static void
obj_del(struct dp_fpm *f, uint32_t id)
{
	void *data;
	uint32_t idx;

	if (rte_hash_lookup_data(f->objs, &id, &data) < 0)
		return;
	idx = (uint32_t)(uintptr_t)data;
	rte_hash_del_key(f->objs, &id);
	memset(&f->obj[idx], 0, sizeof(f->obj[idx]));
	f->free_obj[f->n_free_obj++] = idx;
	obj_changed(f, id);
}

static bool
same_prefix(const struct inet_prefix *a, const struct inet_prefix *b)
{
	struct fpm_key ka, kb;

	make_key(&ka, a);
	make_key(&kb, b);
	return memcmp(&ka, &kb, sizeof(ka)) == 0;
}

/*
 * zebra sends an update as RTM_DELROUTE then RTM_NEWROUTE. Applied one after
 * the other, IPv4 workers would see the prefix without a route in between
 * (and an IPv6 batch published between the two would too): a delete waits
 * for the next message, and an add of the same prefix replaces it instead.
 */
static void
settle_delete(struct dp_fpm *f, const struct fpm_msg *next)
{
	if (!f->del_pending)
		return;
	f->del_pending = false;
	if (next != NULL && next->kind == FPM_MSG_ROUTE_ADD &&
	    next->route.table == RT_TABLE_MAIN && next->route.type != FPM_RT_OTHER &&
	    same_prefix(&next->route.dst, &f->del_pfx))
		return;
	route_del(f, &f->del_pfx);
}

static void
apply(struct dp_fpm *f, const struct fpm_msg *msg)
{
	settle_delete(f, msg);
	switch (msg->kind) {
	case FPM_MSG_ROUTE_ADD:
	case FPM_MSG_ROUTE_DEL:
		/* Other tables are VRFs, not forwarded here yet. */
		if (msg->route.table != RT_TABLE_MAIN)
			return;
		if (msg->kind == FPM_MSG_ROUTE_DEL) {
			f->del_pending = true;
			f->del_pfx = msg->route.dst;
		} else if (msg->route.type != FPM_RT_OTHER) {
			route_add(f, &msg->route);
		}
		return;
	case FPM_MSG_NH_ADD:
		obj_add(f, &msg->nh);
		return;
	case FPM_MSG_NH_DEL:
		obj_del(f, msg->nh.id);
		return;
	case FPM_MSG_OTHER:
		return;
	}
}

void
dp_fpm_batch_begin(struct dp_fpm *f, uint64_t now_ms)
{
	f->in_batch = true;
	f->batch_start_ms = now_ms;
	rt_ctl_batch_begin(f->dp->rt);
}

void
dp_fpm_batch_end(struct dp_fpm *f)
{
	settle_delete(f, NULL);
	flush(f, f->batch_start_ms);
	rt_ctl_batch_end(f->dp->rt);
	f->in_batch = false;
}

void
dp_fpm_message(struct dp_fpm *f, const struct fpm_msg *msg, uint64_t now_ms)
{
	if (!f->in_batch) {
		dp_fpm_batch_begin(f, now_ms);
		f->last_msg_ms = now_ms;
		apply(f, msg);
		dp_fpm_batch_end(f);
		return;
	}
	f->last_msg_ms = now_ms;
	apply(f, msg);
	if (rt_ctl_batch_size(f->dp->rt) >= FPM_BATCH_MAX ||
	    now_ms - f->batch_start_ms >= FPM_BATCH_MS)
		flush(f, now_ms);
}

/* ------------------------------------------------------ resync and sweep */

void
dp_fpm_resync(struct dp_fpm *f, uint64_t now_ms)
{
	f->gen++;
	f->sweep_pending = true;
	f->last_msg_ms = now_ms;
	f->feed_start_ms = now_ms;
}

static void
sweep(struct dp_fpm *f)
{
	unsigned i, routes = 0, objs = 0;

	for (i = 0; i < f->cap; i++) {
		struct fpm_entry *e = &f->entries[i];

		if (e->pfx.addr.family != 0 && e->gen != f->gen) {
			remove_entry(f, e);
			routes++;
		}
	}
	for (i = 0; i < FPM_MAX_NHOBJ; i++) {
		if (f->obj[i].nh.id != 0 && f->obj[i].gen != f->gen) {
			obj_del(f, f->obj[i].nh.id);
			objs++;
		}
	}
	log_info("fpm: resync done: %u stale routes and %u stale next-hop objects removed",
		 routes, objs);
}

void
dp_fpm_tick(struct dp_fpm *f, uint64_t now_ms)
{
	if (f == NULL || !f->sweep_pending || now_ms - f->last_msg_ms < f->stale_ms ||
	    now_ms - f->feed_start_ms < FPM_CLIENT_RETRY_MS + f->stale_ms)
		return;
	f->sweep_pending = false;
	/* One batch: a large sweep waits for the workers once, not per route. */
	dp_fpm_batch_begin(f, now_ms);
	sweep(f);
	dp_fpm_batch_end(f);
}

/* -------------------------------------------------------------- listener */

/*
 * The resync starts with the first good frame, not at connect time: a local
 * process that connects and sends nothing, or garbage, changes no route.
 */
static void
on_connected(void *arg, const char *peer)
{
	struct dp_fpm *f = arg;

	log_info("fpm: connection from %s", peer);
	f->fresh_conn = true;
}

static void
on_closed(void *arg, const char *why)
{
	struct dp_fpm *f = arg;

	f->fresh_conn = false;
	log_warn("fpm: connection closed: %s (routes stay in force)", why);
}

static void
on_refused(void *arg, const char *peer)
{
	log_warn("fpm: refused a second connection from %s (one feed at a time)", peer);
}

static void
on_message(void *arg, const struct fpm_msg *msg)
{
	struct dp_fpm *f = arg;
	uint64_t now = cuco_monotonic_ms();

	if (f->fresh_conn) {
		f->fresh_conn = false;
		log_info("fpm: feed started: routes held are stale until announced again");
		dp_fpm_resync(f, now);
	}
	dp_fpm_message(f, msg, now);
}

static const struct fpm_server_ops server_ops = {
	.connected = on_connected,
	.closed = on_closed,
	.refused = on_refused,
	.message = on_message,
};

int
dp_fpm_start(struct dp *dp, struct dp_fpm **ret_fpm)
{
	struct dp_fpm *f;
	int ret;

	ret = dp_fpm_create(dp, &f);
	if (ret < 0)
		return ret;
	ret = fpm_server_open(&dp->cfg->fpm_addr, (uint16_t)dp->cfg->fpm_port, &server_ops, f,
			      &f->srv);
	if (ret < 0) {
		dp_fpm_free(f);
		return ret;
	}
	*ret_fpm = f;
	return 0;
}

unsigned
dp_fpm_pollfds(const struct dp_fpm *f, struct pollfd *pfd)
{
	return f != NULL && f->srv != NULL ? fpm_server_pollfds(f->srv, pfd) : 0;
}

void
dp_fpm_dispatch(struct dp_fpm *f)
{
	if (f == NULL || f->srv == NULL)
		return;
	/* What one read round brings is one batch (FPM_BATCH_MAX, FPM_BATCH_MS). */
	dp_fpm_batch_begin(f, cuco_monotonic_ms());
	fpm_server_dispatch(f->srv);
	dp_fpm_batch_end(f);
}

unsigned
dp_fpm_count(const struct dp_fpm *f, uint8_t family, uint8_t protocol)
{
	/* Relaxed: telemetry reads a counter the control thread writes. */
	return f == NULL ? 0 : __atomic_load_n(&f->count[fam_idx(family)][protocol],
					       __ATOMIC_RELAXED);
}

bool
dp_fpm_connected(const struct dp_fpm *f)
{
	return f != NULL && f->srv != NULL && fpm_server_connected(f->srv);
}
