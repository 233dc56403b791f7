/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/core/inbox.h"
#include "common/jschema.h"
#include "common/log.h"
#include "controlplane/bus/bus.h"
#include "controlplane/controld/domain.h"
#include "controlplane/controld/host.h"
#include "controlplane/controld/idem_pg.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"

/* Idempotency-Key answers are kept a day. */
#define IDEM_TTL_S 86400
#define MAX_CONSUMERS 16

/* The domains cuco-controld knows, in start order. */
static const struct host_domain *const domains[] = {
	&domain_security,
	&domain_catalog,
	&domain_customer,
	&domain_network,
	&domain_billing,
	&domain_order,
};
#define N_DOMAINS (sizeof(domains) / sizeof(domains[0]))

struct host {
	const struct ctl_config *cfg;
	struct bus_consumer erasure;
	const char *erasure_sources[1];
	struct jschema_registry *schemas;
	struct rest_server *rest;
	struct routes_bus *bus_routes;
	struct routes_security *authenticator;
	struct routes_security *auth_only; /* when security is hosted elsewhere */
	struct idem_pg *idem;
	struct bus *bus;
	void *state[N_DOMAINS];
	bool started[N_DOMAINS];
	/* Borrowed by the bus until bus_free(). */
	struct bus_domain served[N_DOMAINS];
	const struct bus_consumer *consumers[MAX_CONSUMERS];
	struct routes_bus_consumer consumer_info[MAX_CONSUMERS];
	size_t n_consumers;
	const char *sources[CTL_MAX_DOMAINS];
	size_t n_sources;
};

static bool
hosted(const struct ctl_config *cfg, const struct host_domain *d)
{
	return ctl_config_hosts(cfg, d->name);
}

int
host_migrate(const struct ctl_config *cfg)
{
	char err[512];

	for (size_t i = 0; i < N_DOMAINS; i++) {
		if (hosted(cfg, domains[i]) && domains[i]->migrate(cfg, err, sizeof(err)) < 0) {
			log_err("database %s: %s: %s", cfg->database, domains[i]->name, err);
			return -EIO;
		}
	}
	if (idem_pg_migrate(cfg->database, err, sizeof(err)) < 0) {
		log_err("database %s: gateway: %s", cfg->database, err);
		return -EIO;
	}
	return 0;
}

void
host_set_authenticator(struct host *h, struct routes_security *rs)
{
	h->authenticator = rs;
}

int
host_consume(struct host *h, const struct bus_consumer *c, char *err, size_t errlen)
{
	if (h->n_consumers == MAX_CONSUMERS) {
		snprintf(err, errlen, "more than %d consumers", MAX_CONSUMERS);
		return -ENOSPC;
	}
	h->consumers[h->n_consumers] = c;
	h->consumer_info[h->n_consumers] = (struct routes_bus_consumer){
		.name = c->name,
		.domain = c->domain,
		.handler = c->handler,
		.arg = c->arg,
		.max_attempts = c->max_attempts,
	};
	h->n_consumers++;
	return 0;
}

/* ---- gateway hooks ---------------------------------------------------------- */

static int
hook_authenticate(void *arg, const char *token, struct cuco_principal *ret)
{
	struct host *h = arg;

	if (h->authenticator == NULL)
		return -EACCES;
	return host_authenticate(h->authenticator, token, ret);
}

static int
hook_readiness(void *arg, json_t *checks)
{
	struct host *h = arg;
	int r = idem_pg_ping(h->idem);

	json_object_set_new(checks, "database", json_string(r == 0 ? "ok" : "unreachable"));
	json_object_set_new(checks, "bus", json_string(h->bus != NULL ? "ok" : "not started"));
	return r < 0 ? r : h->bus != NULL ? 0 : -EAGAIN;
}

/* bus_stats() and the dead-letter tables as Prometheus lines. */
static void
hook_metrics(void *arg, FILE *out)
{
	struct host *h = arg;
	json_t *st = h->bus ? bus_stats(h->bus) : NULL, *d, *c, *src;
	const char *name, *sname;

	if (st == NULL)
		return;
	fprintf(out, "# HELP cuco_outbox_lag Events committed to a domain's outbox and not yet "
		     "published.\n# TYPE cuco_outbox_lag gauge\n");
	json_object_foreach(json_object_get(st, "domains"), name, d)
		fprintf(out, "cuco_outbox_lag{domain=\"%s\"} %" JSON_INTEGER_FORMAT "\n", name,
			json_integer_value(json_object_get(d, "outbox_lag")));
	fprintf(out, "# HELP cuco_bus_queue_depth Events received by a consumer, not yet "
		     "applied.\n# TYPE cuco_bus_queue_depth gauge\n");
	json_object_foreach(json_object_get(st, "consumers"), name, c)
		fprintf(out, "cuco_bus_queue_depth{consumer=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
			name, json_integer_value(json_object_get(c, "queue_depth")));
	/* From the tables: a replay through the API changes them too. */
	fprintf(out, "# HELP cuco_dead_letters Messages parked by a consumer.\n"
		     "# TYPE cuco_dead_letters gauge\n");
	for (size_t i = 0; h->bus_routes != NULL; i++) {
		int64_t parked;
		int r = routes_bus_parked(h->bus_routes, i, &name, &parked);

		if (r == -ENOENT)
			break;
		if (r < 0)
			continue;
		fprintf(out, "cuco_dead_letters{consumer=\"%s\"} %" PRId64 "\n", name, parked);
	}
	fprintf(out, "# HELP cuco_consumer_lag Events of a source a consumer has not applied.\n"
		     "# TYPE cuco_consumer_lag gauge\n");
	json_object_foreach(json_object_get(st, "consumers"), name, c)
		json_object_foreach(json_object_get(c, "sources"), sname, src)
			fprintf(out,
				"cuco_consumer_lag{consumer=\"%s\",source=\"%s\"} "
				"%" JSON_INTEGER_FORMAT "\n",
				name, sname, json_integer_value(json_object_get(src, "lag")));
	json_decref(st);
	for (size_t i = 0; i < N_DOMAINS; i++)
		if (h->started[i] && domains[i]->metrics != NULL)
			domains[i]->metrics(h->state[i], out);
}

static void
hook_access_log(void *arg, const struct rest_access *a)
{
	/* The gateway's thread: the line carries the request's trace id. */
	cuco_log_set_trace(a->trace_id);
	log_info("%s %s %u %.1f ms%s%s%s", a->method, a->path, a->status,
		 (double)a->duration_us / 1000.0, a->subject[0] ? " by " : "", a->subject,
		 a->replayed ? " (idempotent replay)" : "");
	cuco_log_set_trace(NULL);
}

static void
hook_log(void *arg, const char *trace_id, const char *msg)
{
	cuco_log_set_trace(trace_id);
	log_err("gateway: %s", msg);
	cuco_log_set_trace(NULL);
}

/* ---- start and stop --------------------------------------------------------- */

static int
new_gateway(struct host *h)
{
	const struct ctl_config *cfg = h->cfg;
	struct rest_config rc;
	char err[512];
	int r;

	rest_config_init(&rc);
	rc.address = cfg->listen_addr;
	rc.port = (uint16_t)cfg->port;
	rc.max_body = cfg->max_body;
	rc.token_rate = cfg->rate_token;
	rc.token_burst = cfg->burst_token;
	rc.peer_rate = cfg->rate_address;
	rc.peer_burst = cfg->burst_address;
	rc.title = "CuCo Edge";
	rc.version = "0.1.0";
	rc.hooks.arg = h;
	rc.hooks.authenticate = hook_authenticate;
	rc.hooks.readiness = hook_readiness;
	rc.hooks.metrics = hook_metrics;
	rc.hooks.access_log = hook_access_log;
	rc.hooks.log = hook_log;
	rc.hooks.idem = &idem_pg_ops;
	rc.hooks.idem_arg = h->idem;

	r = rest_server_new(&rc, h->schemas, &h->rest, err, sizeof(err));
	if (r < 0)
		log_err("REST gateway: %s", err);
	return r;
}

static int
set_endpoints(struct host *h, const struct ctl_endpoint *eps, unsigned n)
{
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		if (bus_set_endpoints(h->bus, eps[i].domain, eps[i].events, eps[i].cmd, err,
				      sizeof(err)) < 0) {
			log_err("bus: %s: %s", eps[i].domain, err);
			return -EINVAL;
		}
	}
	return 0;
}

/* The bus and the domains whose events may be consumed here. */
static int
new_bus(struct host *h)
{
	const struct ctl_config *cfg = h->cfg;
	char err[512];
	int r;

	r = bus_new(&h->bus, err, sizeof(err));
	if (r < 0) {
		log_err("bus: %s", err);
		return r;
	}
	if (set_endpoints(h, cfg->binds, cfg->n_binds) < 0 ||
	    set_endpoints(h, cfg->endpoints, cfg->n_endpoints) < 0)
		return -EINVAL;
	for (size_t i = 0; i < N_DOMAINS; i++) {
		bool remote = false;

		for (unsigned j = 0; j < cfg->n_endpoints; j++)
			remote |= strcmp(cfg->endpoints[j].domain, domains[i]->name) == 0;
		if (domains[i]->publishes && (hosted(cfg, domains[i]) || remote))
			h->sources[h->n_sources++] = domains[i]->name;
	}
	return 0;
}

/*
 * Each hosted domain: start (routes, handles, consumers declared), then
 * served on the bus (its relay and command server); then the consumers, once
 * every source they may listen to is bound.
 */
static int
start_domains(struct host *h)
{
	struct host_env env = {
		.cfg = h->cfg, .rest = h->rest, .schemas = h->schemas, .bus = h->bus,
		.sources = h->sources, .n_sources = h->n_sources, .host = h,
	};
	char err[512];
	int r;

	for (size_t i = 0; i < N_DOMAINS; i++) {
		const struct host_domain *d = domains[i];

		if (!hosted(h->cfg, d))
			continue;
		r = d->start(&env, &h->state[i], err, sizeof(err));
		if (r < 0) {
			log_err("%s: %s", d->name, err);
			return r;
		}
		h->started[i] = true;
		h->served[i] = (struct bus_domain){
			.name = d->name,
			.db_url = h->cfg->database,
			.command = d->command,
			.is_query = d->is_query,
			.arg = h->state[i],
		};
		r = bus_serve(h->bus, &h->served[i], err, sizeof(err));
		if (r < 0) {
			log_err("bus: %s: %s", d->name, err);
			return r;
		}
	}
	/* The gateway forgets stored answers of an erased customer. */
	for (size_t i = 0; i < h->n_sources; i++) {
		if (strcmp(h->sources[i], "customer") != 0)
			continue;
		h->erasure_sources[0] = "customer";
		h->erasure = (struct bus_consumer){
			.name = "erasure",
			.domain = "gateway",
			.db_url = h->cfg->database,
			.sources = h->erasure_sources,
			.n_sources = 1,
			.handler = idem_pg_erasure_apply,
			.max_attempts = h->cfg->dead_letter_attempts,
		};
		r = host_consume(h, &h->erasure, err, sizeof(err));
		if (r < 0) {
			log_err("bus: consumer erasure: %s", err);
			return r;
		}
	}
	for (size_t i = 0; i < h->n_consumers; i++) {
		r = bus_consume(h->bus, h->consumers[i], err, sizeof(err));
		if (r < 0) {
			log_err("bus: consumer %s: %s", h->consumers[i]->name, err);
			return r;
		}
	}
	return 0;
}

static int
start_gateway(struct host *h)
{
	const struct ctl_config *cfg = h->cfg;
	char err[512];
	int r;

	if (h->authenticator == NULL) {
		r = host_authenticator_open(cfg, &h->auth_only, err, sizeof(err));
		if (r < 0) {
			log_err("authentication (security hosted elsewhere): %s", err);
			return r;
		}
		h->authenticator = h->auth_only;
	}
	r = routes_bus_register(h->rest, h->schemas, cfg->database, h->consumer_info,
				h->n_consumers, &h->bus_routes, err, sizeof(err));
	if (r < 0) {
		log_err("dead-letter routes: %s", err);
		return r;
	}
	r = jschema_registry_check(h->schemas, err, sizeof(err));
	if (r < 0) {
		log_err("JSON Schemas: %s", err);
		return r;
	}
	r = rest_server_start(h->rest, err, sizeof(err));
	if (r < 0) {
		log_err("REST gateway on %s port %u: %s", cfg->listen_addr, cfg->port, err);
		return r;
	}
	return 0;
}

int
host_start(const struct ctl_config *cfg, struct host **ret)
{
	struct host *h;
	char err[512];
	int r;

	if (sodium_init() < 0) {
		log_err("libsodium failed to initialize");
		return -EIO;
	}
	r = host_migrate(cfg);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->cfg = cfg;
	h->schemas = jschema_registry_new();
	if (h->schemas == NULL) {
		host_stop(h);
		return -ENOMEM;
	}
	r = idem_pg_open(cfg->database, HOST_REQUEST_CONNECTIONS, IDEM_TTL_S, &h->idem, err,
			 sizeof(err));
	if (r < 0) {
		log_err("database %s: %s", cfg->database, err);
		host_stop(h);
		return r;
	}
	r = new_gateway(h);
	if (r == 0)
		r = new_bus(h);
	if (r == 0)
		r = start_domains(h);
	if (r == 0)
		r = start_gateway(h);
	if (r < 0) {
		host_stop(h);
		return r;
	}
	*ret = h;
	return 0;
}

int
host_check(struct host *h)
{
	return 0;
}

struct host *
host_stop(struct host *h)
{
	if (h == NULL)
		return NULL;
	if (h->rest != NULL &&
	    rest_server_drain(h->rest, h->cfg->drain_timeout_s * 1000u) == -ETIMEDOUT)
		log_warn("requests still running after %u s were cut", h->cfg->drain_timeout_s);
	rest_server_free(h->rest);
	/* After the gateway: a request may still have been sending commands. */
	bus_free(h->bus);
	routes_bus_free(h->bus_routes);
	for (size_t i = N_DOMAINS; i-- > 0;)
		if (h->started[i])
			domains[i]->stop(h->state[i]);
	routes_security_free(h->auth_only);
	idem_pg_close(h->idem);
	jschema_registry_free(h->schemas);
	free(h);
	return NULL;
}
