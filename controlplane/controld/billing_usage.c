/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Usage in cuco-controld: the collector and feeder threads of the billing
 * domain, its consumer of dataplane events and its routes.
 *
 * The collector follows billing.usage_sources (reloaded every second) with
 * one SUB socket per dataplane, reads what arrived (at most BATCH_MSGS
 * messages a dataplane), and applies each dataplane's messages in one
 * transaction. A transaction that fails is retried with the same messages
 * (a final message must not be lost); meanwhile nothing more is read, and
 * what the socket cannot hold is dropped by ZeroMQ, which cumulative
 * counters make harmless.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "bss/billing/feed.h"
#include "bss/billing/usage.h"
#include "bss/core/db.h"
#include "common/log.h"
#include "common/zcurve.h"
#include "controlplane/controld/billing_usage.h"
#include "controlplane/rest/routes_usage.h"

#define SOURCES_MAX 16
#define BATCH_MSGS 64	     /* messages of one dataplane in a transaction */
#define POLL_MS 100
#define RELOAD_MS 1000
#define RETRY_MS 1000
#define RCVHWM 2000	     /* messages queued per dataplane (a tick of 1M subscribers: 1000) */
#define MAX_MSG (16 << 20)
#define PRUNE_MS (3600 * 1000)
#define PRUNE_DAYS 35 /* a replay older than a billing month is counted again */

struct src {
	struct usage_source s;
	void *sock;
	bool present;
	struct usage_msg *pending[BATCH_MSGS];
	size_t n_pending;
	unsigned failures; /* in a row, of the pending batch */
	uint64_t bad;      /* messages refused by the decoder */
	uint64_t dropped;  /* messages the database refused alone */
};

struct usage_service {
	char url[CTL_URL_MAX];
	struct routes_usage *routes;
	struct bus_consumer consumer;
	const char *consumer_sources[1];
	void *zctx;
	struct db *db;      /* the collector's connection */
	struct db *feed_db; /* the feeder's */
	pthread_t collector, feeder;
	bool collector_running, feeder_running;
	atomic_bool stop;
	pthread_mutex_t lock; /* stop_cond */
	pthread_cond_t stop_cond;
	struct src srcs[SOURCES_MAX];
	size_t n_srcs;
	struct feed *feeds[CTL_MAX_FEEDS];
	unsigned feed_interval_s[CTL_MAX_FEEDS];
	size_t n_feeds;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep @ms unless stopping; true when stopping. */
static bool
wait_stop(struct usage_service *u, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&u->lock);
	if (!atomic_load(&u->stop))
		pthread_cond_timedwait(&u->stop_cond, &u->lock, &ts);
	pthread_mutex_unlock(&u->lock);
	return atomic_load(&u->stop);
}

/* ---- the collector -------------------------------------------------------------------- */

static void pending_clear(struct src *s);

static void
src_close(struct src *s)
{
	pending_clear(s);
	if (s->sock != NULL)
		zmq_close(s->sock);
	s->sock = NULL;
}

static int
src_open(struct usage_service *u, struct src *s)
{
	int linger = 0, hwm = RCVHWM;
	int64_t maxmsg = MAX_MSG;
	char err[256];

	s->sock = zmq_socket(u->zctx, ZMQ_SUB);
	if (s->sock == NULL)
		return -ENOMEM;
	zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	/* Every resource a peer controls has a limit: the size of a message. */
	zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "", 0);
	if (s->s.curve_dir[0] != '\0') {
		char path[512], server[ZCURVE_KEY_LEN], pub[ZCURVE_KEY_LEN], sec[ZCURVE_KEY_LEN];

		/* The provisioner's keypair: the dataplane's authorized_keys lists it. */
		snprintf(path, sizeof(path), "%s/server.public", s->s.curve_dir);
		if (zcurve_read_key(path, server, err, sizeof(err)) < 0 ||
		    zcurve_keypair(s->s.curve_dir, "client", pub, sec, err, sizeof(err)) < 0) {
			log_warn("billing: usage of %s: %s", s->s.dataplane, err);
			src_close(s);
			return -EINVAL;
		}
		zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, server, ZCURVE_KEY_LEN - 1);
		zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, pub, ZCURVE_KEY_LEN - 1);
		zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, sec, ZCURVE_KEY_LEN - 1);
	}
	if (zmq_connect(s->sock, s->s.endpoint) != 0) {
		log_warn("billing: usage of %s: %s: %s", s->s.dataplane, s->s.endpoint,
			 zmq_strerror(zmq_errno()));
		src_close(s);
		return -EINVAL;
	}
	log_info("billing: collecting the usage of dataplane %s from %s", s->s.dataplane,
		 s->s.endpoint);
	return 0;
}

static bool apply(struct usage_service *u, struct src *s);

/* Follow billing.usage_sources: new or changed sources (re)opened, gone ones closed. */
static void
reload(struct usage_service *u)
{
	struct usage_source now[SOURCES_MAX];
	char err[256];
	int n = usage_sources_load(u->db, now, SOURCES_MAX, err, sizeof(err));

	if (n < 0) {
		log_warn("billing: usage sources: %s", err);
		if (db_ping(u->db) < 0)
			db_reset(u->db);
		return;
	}
	for (size_t i = 0; i < u->n_srcs; i++)
		u->srcs[i].present = false;
	for (int k = 0; k < n; k++) {
		struct src *s = NULL;

		for (size_t i = 0; i < u->n_srcs && s == NULL; i++)
			if (strcmp(u->srcs[i].s.dataplane, now[k].dataplane) == 0)
				s = &u->srcs[i];
		if (s != NULL && (strcmp(s->s.endpoint, now[k].endpoint) != 0 ||
				  strcmp(s->s.curve_dir, now[k].curve_dir) != 0)) {
			/* What it had read is still its own: apply it before the switch. */
			apply(u, s);
			src_close(s);
			s->s = now[k];
		}
		if (s == NULL) {
			if (u->n_srcs == SOURCES_MAX)
				continue;
			s = &u->srcs[u->n_srcs++];
			memset(s, 0, sizeof(*s));
			s->s = now[k];
		}
		s->present = true;
		if (s->sock == NULL)
			src_open(u, s);
	}
	for (size_t i = 0; i < u->n_srcs;) {
		if (u->srcs[i].present) {
			i++;
			continue;
		}
		log_info("billing: no longer collecting the usage of dataplane %s",
			 u->srcs[i].s.dataplane);
		src_close(&u->srcs[i]);
		u->srcs[i] = u->srcs[--u->n_srcs];
	}
}

/* Read what arrived on @s, up to a batch. */
static void
drain(struct src *s)
{
	char err[256];

	while (s->n_pending < BATCH_MSGS) {
		zmq_msg_t msg;
		struct usage_msg *m = NULL;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (usage_msg_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m, err, sizeof(err)) <
		    0) {
			/* One line per power of two: a broken peer cannot flood the log. */
			s->bad++;
			if ((s->bad & (s->bad - 1)) == 0)
				log_warn("billing: usage of %s: message refused (%llu so far): %s",
					 s->s.dataplane, (unsigned long long)s->bad, err);
		} else {
			s->pending[s->n_pending++] = m;
		}
		zmq_msg_close(&msg);
	}
}

static void
pending_clear(struct src *s)
{
	for (size_t i = 0; i < s->n_pending; i++)
		s->pending[i] = usage_msg_free(s->pending[i]);
	s->n_pending = 0;
	s->failures = 0;
}

/*
 * The batch failed FAILURES_MAX times with the database answering: one of
 * its messages may be what it refuses (a value out of its range). Each
 * message alone then; one that still fails is dropped, and said.
 */
static void
apply_one_by_one(struct usage_service *u, struct src *s)
{
	char err[512];

	for (size_t i = 0; i < s->n_pending; i++) {
		if (usage_store_apply(u->db, s->s.dataplane, &s->pending[i], 1, NULL, err,
				      sizeof(err)) == 0)
			continue;
		s->dropped++;
		log_err("billing: usage of %s: message seq %lld of boot %s dropped (%llu so far): %s",
			s->s.dataplane, (long long)s->pending[i]->seq, s->pending[i]->boot_id,
			(unsigned long long)s->dropped, err);
	}
	pending_clear(s);
}

#define FAILURES_MAX 5

/* Apply @s's pending messages; false when the database failed (kept for a retry). */
static bool
apply(struct usage_service *u, struct src *s)
{
	struct usage_apply_stats st = {0};
	char err[512];
	int r;

	if (s->n_pending == 0)
		return true;

	r = usage_store_apply(u->db, s->s.dataplane, s->pending, s->n_pending, &st, err,
			      sizeof(err));
	if (r < 0) {
		log_warn("billing: usage of %s: %s (will retry)", s->s.dataplane, err);
		if (db_ping(u->db) < 0) {
			db_reset(u->db);
			return false; /* the database is away: nothing is wrong with the batch */
		}
		if (++s->failures >= FAILURES_MAX)
			apply_one_by_one(u, s);
		return false;
	}
	if (st.resets > 0)
		log_warn("billing: usage of %s: counters of %llu services went backwards within a "
			 "boot: counted as reset (a final message was missed)",
			 s->s.dataplane, (unsigned long long)st.resets);
	pending_clear(s);
	return true;
}

static void *
collector(void *arg)
{
	struct usage_service *u = arg;
	uint64_t next_reload = 0, next_prune = now_ms() + RELOAD_MS;

	while (!atomic_load(&u->stop)) {
		zmq_pollitem_t items[SOURCES_MAX];
		bool ok = true;
		size_t n = 0;

		if (now_ms() >= next_reload) {
			reload(u);
			next_reload = now_ms() + RELOAD_MS;
		}
		if (now_ms() >= next_prune) {
			char err[256];
			int gone = usage_store_prune(u->db, PRUNE_DAYS, err, sizeof(err));

			if (gone < 0)
				log_warn("billing: usage: pruning old boots: %s", err);
			else if (gone > 0)
				log_info("billing: usage: %d boots older than %d days forgotten",
					 gone, PRUNE_DAYS);
			next_prune = now_ms() + PRUNE_MS;
		}
		for (size_t i = 0; i < u->n_srcs; i++) {
			if (u->srcs[i].sock == NULL)
				continue;
			items[n++] = (zmq_pollitem_t){.socket = u->srcs[i].sock,
						      .events = ZMQ_POLLIN};
		}
		if (n == 0) {
			wait_stop(u, POLL_MS);
			continue;
		}
		if (zmq_poll(items, (int)n, POLL_MS) < 0 && zmq_errno() != EINTR)
			wait_stop(u, POLL_MS);
		for (size_t i = 0; i < u->n_srcs; i++) {
			struct src *s = &u->srcs[i];

			if (s->sock != NULL)
				drain(s);
			ok &= apply(u, s);
		}
		if (!ok)
			wait_stop(u, RETRY_MS);
	}
	/* What was read is applied before the thread ends: a final message is not lost. */
	for (size_t i = 0; i < u->n_srcs; i++) {
		apply(u, &u->srcs[i]);
		src_close(&u->srcs[i]);
	}
	return NULL;
}

/* ---- the feeder ----------------------------------------------------------------------- */

static void *
feeder(void *arg)
{
	struct usage_service *u = arg;
	uint64_t next[CTL_MAX_FEEDS] = {0};

	while (!wait_stop(u, 200)) {
		for (size_t i = 0; i < u->n_feeds; i++) {
			struct feed_result res;
			char err[512];
			int r;

			if (now_ms() < next[i])
				continue;
			r = feed_run(u->feeds[i], u->feed_db, &res, err, sizeof(err));
			if (r < 0) {
				log_warn("billing: %s (will retry)", err);
				if (db_ping(u->feed_db) < 0)
					db_reset(u->feed_db);
				next[i] = now_ms() + RETRY_MS;
				continue;
			}
			/* A full batch: more may wait, go on at once. */
			if (res.records == 0 || res.records < feed_max_records(u->feeds[i]))
				next[i] = now_ms() + (uint64_t)u->feed_interval_s[i] * 1000;
		}
	}
	return NULL;
}

/* ---- start and stop --------------------------------------------------------------------- */

static int
open_feeds(struct usage_service *u, const struct ctl_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->n_feeds; i++) {
		const struct ctl_feed *c = &cfg->feeds[i];
		struct feed_config fc = {.max_records = c->max_records, .domain = c->domain};
		int r;

		snprintf(fc.name, sizeof(fc.name), "%s", c->name);
		snprintf(fc.source, sizeof(fc.source), "%s", c->source);
		snprintf(fc.target, sizeof(fc.target), "%s", c->target);
		if (feed_format_parse(c->format, &fc.format) < 0) {
			snprintf(err, errlen, "feed %s: format %s", c->name, c->format);
			return -EINVAL;
		}
		r = feed_open(&fc, &u->feeds[u->n_feeds], err, errlen);
		if (r < 0)
			return r;
		u->feed_interval_s[u->n_feeds++] = c->interval_s;
	}
	return 0;
}

int
billing_usage_start(const struct host_env *env, struct usage_service **ret, char *err,
		    size_t errlen)
{
	struct usage_service *u = calloc(1, sizeof(*u));
	int r;

	if (u == NULL)
		return -ENOMEM;
	snprintf(u->url, sizeof(u->url), "%s", env->cfg->database);
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->stop_cond, NULL);
	u->zctx = zmq_ctx_new();
	if (u->zctx == NULL) {
		billing_usage_stop(u);
		return -ENOMEM;
	}
	r = db_open_domain(u->url, "billing", &u->db, err, errlen);
	if (r == 0)
		r = db_open_domain(u->url, "billing", &u->feed_db, err, errlen);
	if (r == 0)
		r = open_feeds(u, env->cfg, err, errlen);
	if (r == 0)
		r = routes_usage_register(env->rest, env->schemas, u->url, HOST_REQUEST_CONNECTIONS,
					  &u->routes, err, errlen);
	for (size_t i = 0; r == 0 && i < env->n_sources; i++) {
		if (strcmp(env->sources[i], "network") != 0)
			continue;
		/* The dataplanes' usage endpoints come with the network domain's events. */
		u->consumer_sources[0] = "network";
		u->consumer = (struct bus_consumer){
			.name = "usage_sources",
			.domain = "billing",
			.db_url = env->cfg->database,
			.sources = u->consumer_sources,
			.n_sources = 1,
			.handler = usage_sources_consume,
			.max_attempts = env->cfg->dead_letter_attempts,
		};
		r = host_consume(env->host, &u->consumer, err, errlen);
	}
	if (r == 0) {
		if (pthread_create(&u->collector, NULL, collector, u) != 0) {
			snprintf(err, errlen, "cannot start the usage collector thread");
			r = -EAGAIN;
		} else {
			u->collector_running = true;
		}
	}
	if (r == 0 && u->n_feeds > 0) {
		if (pthread_create(&u->feeder, NULL, feeder, u) != 0) {
			snprintf(err, errlen, "cannot start the feeder thread");
			r = -EAGAIN;
		} else {
			u->feeder_running = true;
		}
	}
	if (r < 0) {
		billing_usage_stop(u);
		return r;
	}
	*ret = u;
	return 0;
}

struct usage_service *
billing_usage_stop(struct usage_service *u)
{
	if (u == NULL)
		return NULL;
	pthread_mutex_lock(&u->lock);
	atomic_store(&u->stop, true);
	pthread_cond_broadcast(&u->stop_cond);
	pthread_mutex_unlock(&u->lock);
	if (u->collector_running)
		pthread_join(u->collector, NULL);
	if (u->feeder_running)
		pthread_join(u->feeder, NULL);
	for (size_t i = 0; i < u->n_srcs; i++)
		src_close(&u->srcs[i]);
	for (size_t i = 0; i < u->n_feeds; i++)
		feed_close(u->feeds[i]);
	routes_usage_free(u->routes);
	db_close(u->db);
	db_close(u->feed_db);
	if (u->zctx != NULL)
		zmq_ctx_term(u->zctx);
	pthread_cond_destroy(&u->stop_cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return NULL;
}
