/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The order domain in cuco-controld: its routes, the checks an order asks
 * of the customer and catalog domains, and the saga orchestrator, a thread
 * that drives every unfinished order's saga by commands on the bus
 * (docs/order.md).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "bss/order/order.h"
#include "common/log.h"
#include "controlplane/controld/domain.h"
#include "controlplane/rest/routes_order.h"

/* Where the saga's network steps go; the network domain once it is hosted. */
#define NETWORK_DOMAIN "network"
#define CHECK_TIMEOUT_MS 3000
#define DUE_MAX 16
#define IDLE_MS 100

struct order_state {
	struct routes_order *routes;
	struct order_checks checks;
	struct bus *bus;
	struct order *saga_db;
	/* /metrics reads through its own connection, one scrape at a time. */
	struct order *metrics_db;
	pthread_mutex_t metrics_lock;
	const char *network;
	/* Open until the bus's context ends: the bus stays valid while it is. */
	void *sentinel;
	pthread_t thread;
	bool started;
	/* Test hook CUCO_TEST_CRASH_AT: "saga:before:<command>" or "saga:after:<command>". */
	char crash_at[128];
};

static const struct cuco_principal system_principal = {
	.subject = "system:order",
	.name = "order saga",
	.roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN),
};

static int
order_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct order_error e = {0};
	int r = order_migrate(cfg->database, &e);

	if (r < 0)
		snprintf(err, errlen, "%s", e.message);
	return r;
}

/* ---- checks of a new order, over the bus -------------------------------------------- */

static int
check_customer(void *arg, const char *id, char ret_status[16], bool *ret_erased)
{
	struct order_state *st = arg;
	struct bus_reply rep = {0};
	json_t *pl = json_pack("{s:s}", "customer_id", id);
	int r = bus_command(st->bus, "customer", "customer.customer.check", &system_principal, pl,
			    CHECK_TIMEOUT_MS, &rep);

	json_decref(pl);
	if (r == 0 && rep.ok) {
		snprintf(ret_status, 16, "%s",
			 json_string_value(json_object_get(rep.result, "status")));
		*ret_erased = json_is_true(json_object_get(rep.result, "erased"));
	} else {
		r = r == 0 && strcmp(rep.code, "not_found") == 0 ? -ENOENT : -EAGAIN;
	}
	bus_reply_clear(&rep);
	return r;
}

static int
check_offering(void *arg, const char *id, const char *at, bool *ret_orderable,
	       char ret_lifecycle[24], char ret_name[128])
{
	struct order_state *st = arg;
	struct bus_reply rep = {0};
	json_t *pl = json_pack("{s:s, s:s?}", "offering_id", id, "at", at);
	int r = bus_command(st->bus, "catalog", "catalog.offering.check", &system_principal, pl,
			    CHECK_TIMEOUT_MS, &rep);

	json_decref(pl);
	if (r == 0 && rep.ok) {
		*ret_orderable = json_is_true(json_object_get(rep.result, "orderable"));
		snprintf(ret_lifecycle, 24, "%s",
			 json_string_value(json_object_get(rep.result, "lifecycleStatus")));
		snprintf(ret_name, 128, "%s", json_string_value(json_object_get(rep.result, "name")));
	} else {
		r = r == 0 && strcmp(rep.code, "not_found") == 0 ? -ENOENT : -EAGAIN;
	}
	bus_reply_clear(&rep);
	return r;
}

/* ---- the orchestrator ---------------------------------------------------------------- */

static void
crash_point(struct order_state *st, const char *when, const char *type)
{
	char point[128];

	if (st->crash_at[0] == '\0')
		return;
	snprintf(point, sizeof(point), "saga:%s:%s", when, type);
	if (strcmp(point, st->crash_at) == 0) {
		log_warn("test hook CUCO_TEST_CRASH_AT: killing the process at %s", point);
		raise(SIGKILL);
	}
}

/* Send one step's command and record what came back. */
static void
run_call(struct order_state *st, struct order_call *c)
{
	const char *domain = strcmp(c->domain, "network") == 0 ? st->network : c->domain;
	struct order_error e = {0};
	struct bus_reply rep = {0};
	char code[32];
	int r;

	crash_point(st, "before", c->type);
	/* The same command id every attempt: the receiver executes it once. */
	r = c->query ? bus_command(st->bus, domain, c->type, &system_principal, c->payload,
				   c->timeout_ms, &rep)
		     : bus_command_id(st->bus, c->command_id, domain, c->type, &system_principal,
				      c->payload, c->timeout_ms, &rep);
	crash_point(st, "after", c->type);
	snprintf(code, sizeof(code), "%s",
		 r == -ETIMEDOUT ? "timeout" : r < 0 ? "internal" : rep.code);
	if (r == 0 && !rep.ok)
		log_info("order %s: step %d %s: %s: %s", c->order_id, c->seq, c->type, rep.code,
			 rep.detail);
	if (order_saga_record(st->saga_db, c, r == 0 && rep.ok, rep.result, code,
			      r == 0 ? rep.detail : "no answer", &e) < 0)
		log_err("order %s: saga: %s", c->order_id, e.message);
	bus_reply_clear(&rep);
}

static void *
orchestrate(void *arg)
{
	struct order_state *st = arg;
	zmq_pollitem_t item = {.socket = st->sentinel, .events = ZMQ_POLLIN};
	char ids[DUE_MAX][37];
	struct order_error e = {0};

	for (;;) {
		size_t n = 0;
		bool busy = false;

		if (order_saga_due(st->saga_db, ids, DUE_MAX, &n, &e) < 0)
			log_err("order saga: %s", e.message);
		for (size_t i = 0; i < n; i++) {
			struct order_call call = {0};
			int r = order_saga_next(st->saga_db, ids[i], &call, &e);

			if (r < 0)
				log_err("order %s: saga: %s", ids[i], e.message);
			if (r == 1) {
				run_call(st, &call);
				busy = true;
			}
			order_call_clear(&call);
		}
		/* The bus's context ending (bus_free) is the signal to stop. */
		if (zmq_poll(&item, 1, busy ? 0 : IDLE_MS) < 0 && zmq_errno() == ETERM)
			break;
	}
	zmq_close(st->sentinel);
	return NULL;
}

static int
start_orchestrator(struct order_state *st, const struct host_env *env, char *err, size_t errlen)
{
	struct order_error e = {0};
	const char *crash = getenv("CUCO_TEST_CRASH_AT");
	int linger = 0, r;

	if (crash != NULL)
		snprintf(st->crash_at, sizeof(st->crash_at), "%s", crash);
	st->network = NETWORK_DOMAIN;
	r = order_open(env->cfg->database, &st->saga_db, &e);
	if (r < 0) {
		snprintf(err, errlen, "order saga: %s", e.message);
		return r;
	}
	st->sentinel = zmq_socket(bus_zmq_context(env->bus), ZMQ_PAIR);
	if (st->sentinel == NULL) {
		snprintf(err, errlen, "order saga: zmq: %s", zmq_strerror(zmq_errno()));
		return -EIO;
	}
	zmq_setsockopt(st->sentinel, ZMQ_LINGER, &linger, sizeof(linger));
	if (pthread_create(&st->thread, NULL, orchestrate, st) != 0) {
		zmq_close(st->sentinel);
		snprintf(err, errlen, "order saga: cannot start its thread");
		return -EAGAIN;
	}
	st->started = true;
	return 0;
}

static void
order_stop(void *state)
{
	struct order_state *st = state;

	if (st == NULL)
		return;
	/* After bus_free(): the thread saw the context end. */
	if (st->started)
		pthread_join(st->thread, NULL);
	order_close(st->saga_db);
	order_close(st->metrics_db);
	pthread_mutex_destroy(&st->metrics_lock);
	routes_order_free(st->routes);
	free(st);
}

static int
order_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct order_state *st = calloc(1, sizeof(*st));
	int r;

	if (st == NULL)
		return -ENOMEM;
	pthread_mutex_init(&st->metrics_lock, NULL);
	st->bus = env->bus;
	/* Before the routes take orders. */
	order_set_provision_timeout(env->cfg->provision_timeout_s * 1000u);
	st->checks = (struct order_checks){
		.arg = st, .customer = check_customer, .offering = check_offering};
	r = routes_order_register(env->rest, env->schemas, env->cfg->database,
				  HOST_REQUEST_CONNECTIONS, &st->checks, &st->routes, err, errlen);
	if (r == 0) {
		struct order_error e = {0};

		r = order_open(env->cfg->database, &st->metrics_db, &e);
		if (r < 0)
			snprintf(err, errlen, "order metrics: %s", e.message);
	}
	if (r == 0)
		r = start_orchestrator(st, env, err, errlen);
	if (r < 0) {
		order_stop(st);
		return r;
	}
	*ret_state = st;
	return 0;
}

static void
order_metrics_(void *state, FILE *out)
{
	struct order_state *st = state;
	struct order_error e = {0};

	pthread_mutex_lock(&st->metrics_lock);
	if (order_metrics(st->metrics_db, out, &e) < 0)
		log_warn("order metrics: %s", e.message);
	pthread_mutex_unlock(&st->metrics_lock);
}

const struct host_domain domain_order = {
	.name = "order",
	.publishes = true,
	.migrate = order_migrate_,
	.start = order_start,
	.stop = order_stop,
	.metrics = order_metrics_,
};
