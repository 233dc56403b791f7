/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The billing domain in cuco-controld: the saga's plan commands on the bus,
 * its REST routes, and the billing thread, which every tick (200 ms):
 *
 *   - starts the scheduled run of each cycle that ended (billing-schedule),
 *     at most once a minute;
 *   - invoices up to RUN_BATCH accounts of the oldest running run (a run
 *     interrupted by a crash simply goes on: its state is in the database);
 *   - every billing-dunning-interval seconds, takes the dunning steps due.
 *
 * The thread has its own connection: runs and dunning never take one of the
 * requests'. And usage: its collector, feeds and TMF635 routes
 * (billing_usage.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/billing/billing.h"
#include "common/log.h"
#include "controlplane/controld/billing_usage.h"
#include "controlplane/controld/domain.h"
#include "controlplane/rest/routes_billing.h"

#define TICK_MS 200
#define RUN_BATCH 500 /* accounts a call, in transactions of 32 */
#define SCHEDULE_MS 60000

struct billing_state {
	struct billing_config cfg;
	struct routes_billing *routes;
	struct usage_service *usage;
	struct billing *b; /* the thread's connection */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	/* Test hook CUCO_TEST_CRASH_AT=billing-run:after:N: SIGKILL after the Nth invoice. */
	long crash_after;
	long invoices;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
after_invoice(void *arg)
{
	struct billing_state *st = arg;

	if (st->crash_after > 0 && ++st->invoices == st->crash_after) {
		log_warn("test hook CUCO_TEST_CRASH_AT: killing the process after invoice %ld",
			 st->invoices);
		raise(SIGKILL);
	}
}

static void *
worker(void *arg)
{
	struct billing_state *st = arg;
	uint64_t last_schedule = 0, last_dunning = 0;

	for (;;) {
		struct billing_error e = {0};
		unsigned done = 0, actions = 0;
		uint64_t now = now_ms();
		struct timespec until;
		long wait_ms = TICK_MS;
		int r = 0;

		if (st->cfg.schedule && (last_schedule == 0 || now - last_schedule >= SCHEDULE_MS)) {
			last_schedule = now;
			if ((r = billing_schedule(st->b, (int32_t)(time(NULL) / 86400), &e)) < 0)
				log_warn("billing: scheduling runs: %s", e.message);
		}
		if (r == 0 && (r = billing_run_work(st->b, RUN_BATCH, &done, after_invoice, st,
						    &e)) < 0)
			log_warn("billing: run: %s", e.message);
		if (r == 0 &&
		    (last_dunning == 0 || now - last_dunning >= st->cfg.dunning_interval_s * 1000ull)) {
			last_dunning = now;
			if ((r = billing_dunning_tick(st->b, &actions, &e)) < 0)
				log_warn("billing: dunning: %s", e.message);
			else if (actions > 0)
				log_info("billing: dunning took %u steps", actions);
		}
		/* The database went away: reconnect, and wait a little longer between tries. */
		if (r == -EIO && billing_reconnect(st->b, &e) < 0) {
			log_warn("billing: %s", e.message);
			done = 0;
			wait_ms = 1000;
		}
		pthread_mutex_lock(&st->lock);
		if (st->stop) {
			pthread_mutex_unlock(&st->lock);
			return NULL;
		}
		/* Accounts were invoiced: there may be more, go on at once. */
		if (done == 0) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += wait_ms * 1000000L;
			while (until.tv_nsec >= 1000000000L)
				until.tv_sec++, until.tv_nsec -= 1000000000L;
			while (!st->stop && pthread_cond_timedwait(&st->cond, &st->lock, &until) == 0)
				;
		}
		pthread_mutex_unlock(&st->lock);
	}
}

static int
billing_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	return billing_migrate(cfg->database, err, errlen);
}

static void billing_stop(void *state);

static int
billing_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct billing_state *st = calloc(1, sizeof(*st));
	struct billing_error e = {0};
	const char *crash = getenv("CUCO_TEST_CRASH_AT");
	int r;

	if (st == NULL)
		return -ENOMEM;
	st->cfg = env->cfg->billing;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	if (crash != NULL && strncmp(crash, "billing-run:after:", 18) == 0)
		st->crash_after = strtol(crash + 18, NULL, 10);
	if (getenv("CUCO_TEST_BILLING_DAYS_AHEAD") != NULL) {
		long days = strtol(getenv("CUCO_TEST_BILLING_DAYS_AHEAD"), NULL, 10);

		if (days > 0 && days <= 400) {
			log_warn("test hook CUCO_TEST_BILLING_DAYS_AHEAD: billing's calendar runs "
				 "%ld days ahead",
				 days);
			billing_set_test_days_ahead((int)days);
		}
	}
	r = billing_open(env->cfg->database, &st->cfg, &st->b, &e);
	if (r < 0) {
		snprintf(err, errlen, "%s", e.message);
		billing_stop(st);
		return r;
	}
	r = routes_billing_register(env->rest, env->schemas, env->cfg->database, &st->cfg,
				    HOST_REQUEST_CONNECTIONS, &st->routes, err, errlen);
	if (r < 0) {
		billing_stop(st);
		return r;
	}
	r = billing_usage_start(env, &st->usage, err, errlen);
	if (r < 0) {
		billing_stop(st);
		return r;
	}
	if (pthread_create(&st->thread, NULL, worker, st) != 0) {
		snprintf(err, errlen, "cannot start the billing thread");
		billing_stop(st);
		return -EAGAIN;
	}
	st->running = true;
	*ret_state = st;
	return 0;
}

static void
billing_stop(void *state)
{
	struct billing_state *st = state;

	if (st == NULL)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
	}
	billing_usage_stop(st->usage);
	routes_billing_free(st->routes);
	billing_close(st->b);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The bus's arg is the start() state: the handler gets the domain's settings. */
static int
billing_command_(struct db *db, const struct cuco_principal *who, const char *type,
		 json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	struct billing_state *st = arg;

	return billing_command(db, who, type, payload, st ? &st->cfg : NULL, ret_result, problem);
}

const struct host_domain domain_billing = {
	.name = "billing",
	.publishes = true,
	.migrate = billing_migrate_,
	.command = billing_command_,
	.is_query = billing_is_query,
	.start = billing_start,
	.stop = billing_stop,
};
