/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The network domain in cuco-controld: its routes, its consumer of other
 * domains' events, and the provisioner, a thread that keeps every registered
 * dataplane in step with the service inventory over the dataplane's agent
 * protocol (controlplane/provision/dpclient.h):
 *
 *   - hello (every second, or the trial of a half-open circuit): a dataplane
 *     whose boot id or generation is not what was last applied (it restarted,
 *     or a batch whose answer was lost did apply) gets a full resync, and a
 *     new epoch: what was applied before no longer counts;
 *   - then the services whose current revision it has not applied, as one
 *     batch (generation + 1, expect the current one); a refused batch is sent
 *     again service by service, so one bad service holds up no other;
 *   - timeouts feed the dataplane's circuit breaker: open after 3 failures,
 *     a trial after 1 s, doubling to 8 s. The fast path keeps enforcing its
 *     last state meanwhile.
 *
 * Writes of the domain push at once (network_pusher.push) to each dataplane
 * whose circuit is closed, under the dataplane's lock; what they could not
 * reach is left to the thread. The lock is never held while the thread
 * writes the database, so a command holding rows never waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bss/network/model.h"
#include "bss/network/network.h"
#include "common/log.h"
#include "controlplane/controld/domain.h"
#include "controlplane/provision/dpclient.h"
#include "controlplane/rest/routes_network.h"

#define TICK_MS 200
#define HELLO_MS 1000
#define HELLO_TIMEOUT_MS 1000
#define BATCH_TIMEOUT_MS 3000
#define RESYNC_TIMEOUT_MS 10000
#define BATCH_MAX 1000
#define PUSHED_MAX 65536

struct dp {
	char name[64];
	char endpoint[256];
	char curve_dir[256];
	char port[16];
	bool present;
	pthread_mutex_t lock; /* the client, the breaker, generation, epoch, pushed */
	struct dpclient *client;
	struct net_breaker breaker;
	bool known;        /* a hello since start, compared with what was recorded */
	bool need_resync;
	int64_t generation;
	char boot_id[64];
	int64_t epoch;
	uint64_t last_hello_ms;
	enum net_circuit saved_circuit;
	bool saved_unreachable;
	/* Highest rev pushed per service id since the last resync: never push an older one. */
	json_t *pushed;
};

struct network_state {
	struct routes_network *routes;
	struct bus_consumer consumer;
	const char *sources[4];
	struct network_pusher pusher;
	struct network *net; /* the thread's connection */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* dps, stop, kicked */
	pthread_cond_t cond;
	bool stop, kicked;
	struct dp *dps[NETWORK_DATAPLANES_MAX];
	size_t n_dps;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct dp *
dp_free(struct dp *d)
{
	if (d == NULL)
		return NULL;
	dpclient_free(d->client);
	json_decref(d->pushed);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return NULL;
}

static struct dp *
dp_new(const json_t *row)
{
	struct dp *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", json_string_value(json_object_get(row, "name")));
	snprintf(d->endpoint, sizeof(d->endpoint), "%s",
		 json_string_value(json_object_get(row, "endpoint")));
	snprintf(d->curve_dir, sizeof(d->curve_dir), "%s",
		 json_string_value(json_object_get(row, "curve_dir")) ?: "");
	snprintf(d->port, sizeof(d->port), "%s",
		 json_string_value(json_object_get(row, "access_port")) ?: "cust0");
	pthread_mutex_init(&d->lock, NULL);
	net_breaker_init(&d->breaker, 3, 1000, 8000);
	d->pushed = json_object();
	return d;
}

/* Send a request under d->lock; feeds the breaker. */
static int
dp_call(struct dp *d, json_t *req, int timeout_ms, json_t **ret, char *err, size_t errlen)
{
	int r;

	if (d->client == NULL) {
		struct dpclient_config cfg = {
			.endpoint = d->endpoint,
			.curve_dir = d->curve_dir[0] ? d->curve_dir : NULL,
		};

		r = dpclient_new(&cfg, &d->client, err, errlen);
		if (r < 0) {
			json_decref(req);
			net_breaker_failure(&d->breaker, now_ms());
			return r;
		}
	}
	r = dpclient_call(d->client, req, timeout_ms, ret, err, errlen);
	if (r == -ETIMEDOUT || r == -ENOTCONN || r == -EPROTO)
		net_breaker_failure(&d->breaker, now_ms());
	else
		net_breaker_success(&d->breaker);
	return r;
}

static bool
is_refused_field(const json_t *rep, const char *field)
{
	const char *f = json_string_value(json_object_get(json_object_get(rep, "error"), "field"));

	return f != NULL && strcmp(f, field) == 0;
}

/* A batch of @changes (consumed) on top of d->generation. Under d->lock. */
static int
dp_batch(struct dp *d, json_t *changes, char *err, size_t errlen)
{
	json_t *rep = NULL;
	int r = dp_call(d, json_pack("{s:s, s:I, s:I, s:o}", "op", "batch", "generation",
				     (json_int_t)(d->generation + 1), "expect",
				     (json_int_t)d->generation, "changes", changes),
			BATCH_TIMEOUT_MS, &rep, err, errlen);

	if (r == 0)
		d->generation++;
	else if (r == -EREMOTEIO && is_refused_field(rep, "expect"))
		d->need_resync = true, r = -ESTALE;
	else if (r == -ETIMEDOUT)
		d->need_resync = true; /* it may have applied it: the next hello tells */
	json_decref(rep);
	return r;
}

/* ---- the pusher: writes of the domain, in their transaction -------------------------- */

static int
push(void *arg, const json_t *row, struct network_applied *ret, char *err, size_t errlen)
{
	struct network_state *st = arg;
	const char *id = json_string_value(json_object_get(row, "id"));
	bool deleting = strcmp(json_string_value(json_object_get(row, "state")) ?: "",
			       "terminated") == 0;
	json_int_t rev = json_integer_value(json_object_get(row, "rev"));
	int n = 0, refused = 0;

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n_dps; i++) {
		struct dp *d = st->dps[i];
		char e[300];
		int r;

		pthread_mutex_lock(&d->lock);
		/* Only a dataplane known to be in step, with its circuit closed: nobody waits on the others. */
		if (!d->known || d->need_resync || d->breaker.state != NET_CIRCUIT_CLOSED) {
			pthread_mutex_unlock(&d->lock);
			continue;
		}
		r = dp_batch(d, network_service_changes(row, d->port), e, sizeof(e));
		if (r == -EREMOTEIO && deleting)
			r = 0; /* it did not have it */
		if (r == 0) {
			json_object_set_new(d->pushed, id, json_integer(rev));
			snprintf(ret[n].dataplane, sizeof(ret[n].dataplane), "%s", d->name);
			ret[n].epoch = d->epoch;
			ret[n].generation = d->generation;
			n++;
		} else if (r == -EREMOTEIO) {
			snprintf(err, errlen, "%s: %s", d->name, e);
			refused = r;
		}
		pthread_mutex_unlock(&d->lock);
		if (refused)
			break;
	}
	pthread_mutex_unlock(&st->lock);
	return refused ? refused : n;
}

static void
kick(void *arg)
{
	struct network_state *st = arg;

	pthread_mutex_lock(&st->lock);
	st->kicked = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* ---- the provisioner thread ------------------------------------------------------------ */

/* Follow the registered dataplanes: new ones added, removed ones dropped. */
static void
reload(struct network_state *st)
{
	struct network_error e = {0};
	json_t *rows = NULL, *row;
	size_t i;

	if (network_dataplanes(st->net, &rows, &e) < 0) {
		log_warn("network: provisioner: %s", e.message);
		return;
	}
	pthread_mutex_lock(&st->lock);
	for (size_t k = 0; k < st->n_dps; k++)
		st->dps[k]->present = false;
	json_array_foreach(rows, i, row) {
		const char *name = json_string_value(json_object_get(row, "name"));
		struct dp *d = NULL;

		for (size_t k = 0; k < st->n_dps && d == NULL; k++)
			if (strcmp(st->dps[k]->name, name) == 0)
				d = st->dps[k];
		if (d == NULL && st->n_dps < NETWORK_DATAPLANES_MAX &&
		    (d = dp_new(row)) != NULL) {
			st->dps[st->n_dps++] = d;
			log_info("network: dataplane %s at %s", d->name, d->endpoint);
		}
		if (d == NULL)
			continue;
		d->present = true;
		if (!d->known) {
			/* What was recorded: a dataplane that still has it needs no resync. */
			d->generation = json_integer_value(json_object_get(row, "generation"));
			d->epoch = json_integer_value(json_object_get(row, "epoch"));
			snprintf(d->boot_id, sizeof(d->boot_id), "%s",
				 json_string_value(json_object_get(row, "boot_id")) ?: "");
		}
	}
	for (size_t k = 0; k < st->n_dps;) {
		if (!st->dps[k]->present) {
			log_info("network: dataplane %s removed", st->dps[k]->name);
			dp_free(st->dps[k]);
			st->dps[k] = st->dps[--st->n_dps];
		} else {
			k++;
		}
	}
	pthread_mutex_unlock(&st->lock);
	json_decref(rows);
}

/* What one round did, written to the database after the dataplane's lock is released. */
struct outcome {
	json_t *applied; /* [{"id", "rev", "error"?}] or NULL */
	bool resync;
	int64_t epoch, generation;
	char boot_id[64];
	bool circuit_changed, unreachable_changed, unreachable;
	enum net_circuit circuit;
	char reason[300];
};

static void
hello(struct dp *d, struct outcome *o)
{
	json_t *rep = NULL;
	const char *boot;
	int64_t gen;

	if (dp_call(d, json_pack("{s:s}", "op", "hello"), HELLO_TIMEOUT_MS, &rep, o->reason,
		    sizeof(o->reason)) < 0) {
		json_decref(rep);
		return;
	}
	d->last_hello_ms = now_ms();
	boot = json_string_value(json_object_get(rep, "boot_id")) ?: "";
	gen = json_integer_value(json_object_get(rep, "generation"));
	/* Restarted (new boot id, generation 0) or ahead of what we know: resync. */
	if (strcmp(boot, d->boot_id) != 0 || gen != d->generation) {
		if (d->known || d->boot_id[0] != '\0')
			log_info("network: dataplane %s: boot %s generation %lld, expected %s %lld: "
				 "resync", d->name, boot, (long long)gen, d->boot_id,
				 (long long)d->generation);
		d->need_resync = true;
		snprintf(d->boot_id, sizeof(d->boot_id), "%s", boot);
		if (gen > d->generation)
			d->generation = gen;
	}
	d->known = true;
	json_decref(rep);
}

static void
resync(struct network_state *st, struct dp *d, struct outcome *o)
{
	struct network_error e = {0};
	json_t *rows = NULL, *row, *changes = json_array(), *rep = NULL, *seen = json_object();
	size_t i;

	if (network_full_state(st->net, &rows, &e) < 0) {
		log_warn("network: dataplane %s: %s", d->name, e.message);
		json_decref(changes);
		json_decref(seen);
		return;
	}
	o->applied = json_array();
	json_array_foreach(rows, i, row) {
		json_t *ch = network_service_changes(row, d->port), *c;
		size_t k;

		json_array_foreach(ch, k, c) {
			const char *pname = json_string_value(json_object_get(c, "name"));

			/* One profile.upsert per profile name: the newest wins. */
			if (pname && strcmp(json_string_value(json_object_get(c, "op")),
					    "profile.upsert") == 0)
				json_object_set(seen, pname, c);
			else
				json_array_append(changes, c);
		}
		json_decref(ch);
		json_array_append_new(o->applied,
				      json_pack("{s:O, s:O}", "id", json_object_get(row, "id"), "rev",
						json_object_get(row, "rev")));
	}
	{
		json_t *all = json_array(), *v;
		const char *k;

		json_object_foreach(seen, k, v)
			json_array_append(all, v);
		json_array_extend(all, changes);
		json_decref(changes);
		changes = all;
	}
	json_decref(seen);
	if (dp_call(d, json_pack("{s:s, s:I, s:o}", "op", "resync", "generation",
				 (json_int_t)(d->generation + 1), "changes", changes),
		    RESYNC_TIMEOUT_MS, &rep, o->reason, sizeof(o->reason)) == 0) {
		d->generation++;
		d->epoch++;
		d->need_resync = false;
		json_object_clear(d->pushed);
		json_array_foreach(rows, i, row)
			json_object_set(d->pushed, json_string_value(json_object_get(row, "id")),
					json_object_get(row, "rev"));
		o->resync = true;
		log_info("network: dataplane %s resynced: %zu services, generation %lld, epoch %lld",
			 d->name, json_array_size(rows), (long long)d->generation,
			 (long long)d->epoch);
	} else {
		log_warn("network: dataplane %s: resync: %s", d->name, o->reason);
		json_decref(o->applied);
		o->applied = NULL;
	}
	json_decref(rep);
	json_decref(rows);
}

/* Push what @d has not applied; a refused batch goes again one service at a time. */
static void
catch_up(struct network_state *st, struct dp *d, struct outcome *o)
{
	struct network_error e = {0};
	json_t *rows = NULL, *row, *todo = json_array(), *changes = json_array();
	size_t i;
	int r;

	if (network_pending(st->net, d->name, d->epoch, BATCH_MAX, &rows, &e) < 0) {
		log_warn("network: dataplane %s: %s", d->name, e.message);
		goto out;
	}
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		json_int_t rev = json_integer_value(json_object_get(row, "rev"));
		json_t *p = json_object_get(d->pushed, id);

		/* A write pushed a newer rev meanwhile: this one is stale, its own record follows. */
		if (p != NULL && json_integer_value(p) > rev)
			continue;
		json_t *ch = network_service_changes(row, d->port);

		json_array_append(todo, row);
		json_array_extend(changes, ch);
		json_decref(ch);
	}
	if (json_array_size(todo) == 0)
		goto out;
	o->applied = json_array();
	r = dp_batch(d, json_incref(changes), o->reason, sizeof(o->reason));
	if (r == -EREMOTEIO) {
		log_warn("network: dataplane %s refused a batch (%s): sending one by one", d->name,
			 o->reason);
		json_array_foreach(todo, i, row) {
			bool del = strcmp(json_string_value(json_object_get(row, "state")),
					  "terminated") == 0;
			char why[300];

			r = dp_batch(d, network_service_changes(row, d->port), why, sizeof(why));
			if (r == -EREMOTEIO && !del)
				log_warn("network: dataplane %s refused service %s: %s", d->name,
					 json_string_value(json_object_get(row, "id")), why);
			if (r == 0 || r == -EREMOTEIO)
				json_array_append_new(o->applied,
						      json_pack("{s:O, s:O, s:s?}", "id",
								json_object_get(row, "id"), "rev",
								json_object_get(row, "rev"), "error",
								r == 0 || del ? NULL : why));
			else
				break;
		}
	} else if (r == 0) {
		json_array_foreach(todo, i, row)
			json_array_append_new(o->applied,
					      json_pack("{s:O, s:O}", "id", json_object_get(row, "id"),
							"rev", json_object_get(row, "rev")));
	}
	json_array_foreach(o->applied, i, row)
		json_object_set(d->pushed, json_string_value(json_object_get(row, "id")),
				json_object_get(row, "rev"));
out:
	json_decref(rows);
	json_decref(todo);
	json_decref(changes);
}

static void
sync_one(struct network_state *st, struct dp *d)
{
	struct outcome o = {0};
	struct network_error e = {0};
	uint64_t now = now_ms();

	pthread_mutex_lock(&d->lock);
	if (net_breaker_allow(&d->breaker, now)) {
		if (!d->known || d->need_resync || d->breaker.state == NET_CIRCUIT_HALF_OPEN ||
		    now - d->last_hello_ms >= HELLO_MS)
			hello(d, &o);
		if (d->known && d->breaker.state == NET_CIRCUIT_CLOSED) {
			if (d->need_resync)
				resync(st, d, &o);
			else
				catch_up(st, d, &o);
		}
	}
	o.epoch = d->epoch;
	o.generation = d->generation;
	snprintf(o.boot_id, sizeof(o.boot_id), "%s", d->boot_id);
	o.circuit = d->breaker.state;
	o.circuit_changed = o.circuit != d->saved_circuit;
	d->saved_circuit = o.circuit;
	o.unreachable = o.circuit == NET_CIRCUIT_OPEN;
	o.unreachable_changed = o.unreachable && !d->saved_unreachable;
	if (o.circuit == NET_CIRCUIT_CLOSED)
		d->saved_unreachable = false;
	else if (o.unreachable)
		d->saved_unreachable = true;
	pthread_mutex_unlock(&d->lock);

	if (o.unreachable_changed)
		log_warn("network: dataplane %s unreachable (%s): circuit open", d->name, o.reason);
	if (o.circuit_changed || o.unreachable_changed) {
		if (network_dataplane_health(st->net, d->name, net_circuit_name(o.circuit),
					     !o.unreachable, o.reason, &e) < 0)
			log_warn("network: dataplane %s: %s", d->name, e.message);
		if (o.circuit == NET_CIRCUIT_CLOSED)
			log_info("network: dataplane %s answers again: circuit closed", d->name);
	}
	if (o.applied != NULL &&
	    network_record(st->net, d->name, o.epoch, o.generation, o.boot_id, o.applied, o.resync,
			   &e) < 0)
		log_warn("network: dataplane %s: recording what it applied: %s", d->name,
			 e.message);
	json_decref(o.applied);
}

static void *
provisioner(void *arg)
{
	struct network_state *st = arg;

	for (;;) {
		struct timespec until;

		reload(st);
		for (size_t i = 0;; i++) {
			struct dp *d;

			pthread_mutex_lock(&st->lock);
			d = i < st->n_dps ? st->dps[i] : NULL;
			pthread_mutex_unlock(&st->lock);
			/* Only this thread frees dataplanes: d stays valid. */
			if (d == NULL)
				break;
			sync_one(st, d);
		}
		pthread_mutex_lock(&st->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L)
			until.tv_sec++, until.tv_nsec -= 1000000000L;
		while (!st->stop && !st->kicked &&
		       pthread_cond_timedwait(&st->cond, &st->lock, &until) == 0)
			;
		st->kicked = false;
		if (st->stop) {
			pthread_mutex_unlock(&st->lock);
			return NULL;
		}
		pthread_mutex_unlock(&st->lock);
	}
}

/* ---- the domain in the host ---------------------------------------------------------- */

static int
network_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct network_error e = {0};
	int r = network_migrate(cfg->database, &e);

	if (r < 0)
		snprintf(err, errlen, "%s", e.message);
	return r;
}

static void network_stop(void *state);

static int
network_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	struct network_state *st = calloc(1, sizeof(*st));
	struct network_error e = {0};
	size_t n = 0;
	int r;

	if (st == NULL)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->pusher = (struct network_pusher){.push = push, .kick = kick, .arg = st};
	r = network_open(env->cfg->database, &st->net, &e);
	if (r < 0) {
		snprintf(err, errlen, "%s", e.message);
		network_stop(st);
		return r;
	}
	r = routes_network_register(env->rest, env->schemas, env->cfg->database,
				    HOST_REQUEST_CONNECTIONS, &st->pusher, &st->routes, err, errlen);
	if (r < 0) {
		network_stop(st);
		return r;
	}
	/* The customer's lifecycle now, billing's dunning when it is hosted. */
	for (size_t i = 0; i < network_consumed_sources_n; i++)
		for (size_t k = 0; k < env->n_sources; k++)
			if (strcmp(env->sources[k], network_consumed_sources[i]) == 0 && n < 4)
				st->sources[n++] = network_consumed_sources[i];
	if (n > 0) {
		st->consumer = (struct bus_consumer){
			.name = "services",
			.domain = "network",
			.db_url = env->cfg->database,
			.sources = st->sources,
			.n_sources = n,
			.handler = network_consume,
			.arg = &st->pusher,
			.max_attempts = env->cfg->dead_letter_attempts,
		};
		r = host_consume(env->host, &st->consumer, err, errlen);
		if (r < 0) {
			network_stop(st);
			return r;
		}
	}
	if (pthread_create(&st->thread, NULL, provisioner, st) != 0) {
		snprintf(err, errlen, "cannot start the provisioner thread");
		network_stop(st);
		return -EAGAIN;
	}
	st->running = true;
	*ret_state = st;
	return 0;
}

static void
network_stop(void *state)
{
	struct network_state *st = state;

	if (st == NULL)
		return;
	if (st->running) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
	}
	for (size_t i = 0; i < st->n_dps; i++)
		dp_free(st->dps[i]);
	routes_network_free(st->routes);
	network_close(st->net);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The bus's arg is the start() state; the handler gives the domain its pusher. */
static int
network_command_(struct db *db, const struct cuco_principal *who, const char *type,
		 json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	struct network_state *st = arg;

	return network_command(db, who, type, payload, st ? &st->pusher : NULL, ret_result,
			       problem);
}

const struct host_domain domain_network = {
	.name = "network",
	.publishes = true,
	.migrate = network_migrate_,
	.command = network_command_,
	.is_query = network_command_is_query,
	.start = network_start,
	.stop = network_stop,
};
