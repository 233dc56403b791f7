/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/core/inbox.h"
#include "bss/security/security.h"
#include "common/jschema.h"
#include "common/log.h"
#include "controlplane/controld/host.h"
#include "controlplane/bus/bus.h"
#include "controlplane/controld/idem_pg.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"

/* Connections per domain for requests (the bulkhead of the REST side). */
#define REQUEST_CONNECTIONS 8
/* Idempotency-Key answers are kept a day. */
#define IDEM_TTL_S 86400

/* Domains that publish events (all of them, hosted here or not). */
static const char *const event_sources[] = {"security"};

struct host {
	const struct ctl_config *cfg;
	struct jschema_registry *schemas;
	struct rest_server *rest;
	struct routes_security *security;
	struct routes_bus *bus_routes;
	struct idem_pg *idem;
	struct bus *bus;
	/* Borrowed by the bus until bus_free(). */
	struct bus_domain domains[1];
	struct bus_consumer consumers[1];
	struct routes_bus_consumer consumer_info[1];
	size_t n_consumers;
	const char *sources[CTL_MAX_DOMAINS];
	size_t n_sources;
};

/* The security domain's secrets live in their own 0700 directory. */
static char security_dir[300];

static void
security_config(const struct ctl_config *cfg, struct security_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(security_dir, sizeof(security_dir), "%s/security", cfg->state_dir);
	sc->url = cfg->database;
	sc->state_dir = security_dir;
	sc->access_ttl = cfg->token_lifetime_s;
	sc->refresh_ttl = cfg->refresh_lifetime_s;
}

int
host_migrate(const struct ctl_config *cfg)
{
	struct security_error se = {0};
	char err[512];

	if (ctl_config_hosts(cfg, "security") && security_migrate(cfg->database, &se) < 0) {
		log_err("database %s: security: %s", cfg->database, se.message);
		return -EIO;
	}
	if (idem_pg_migrate(cfg->database, err, sizeof(err)) < 0) {
		log_err("database %s: gateway: %s", cfg->database, err);
		return -EIO;
	}
	return 0;
}

/* ---- gateway hooks ---------------------------------------------------------- */

static int
hook_authenticate(void *arg, const char *token, struct cuco_principal *ret)
{
	struct host *h = arg;
	struct security_error e = {0};
	struct security *sec;
	unsigned flags = 0;
	int r;

	if (h->security == NULL)
		return -EACCES;
	sec = routes_security_borrow(h->security);
	r = security_authenticate(sec, token, ret, &flags, &e);
	routes_security_return(h->security, sec);
	/* A first-login token holds no role: it only reaches the password route. */
	if (r == 0 && (flags & SECURITY_AUTH_PASSWORD_CHANGE_ONLY))
		ret->roles = 0;
	return r;
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

/* bus_stats() as Prometheus lines. */
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
bootstrap_admin(struct host *h)
{
	struct security_error e = {0};
	struct security *sec;
	char password[32];
	bool created = false;
	int r;

	sec = routes_security_borrow(h->security);
	r = security_bootstrap(sec, password, &created, &e);
	routes_security_return(h->security, sec);
	if (r < 0) {
		log_err("security: first admin: %s", e.message);
		return r;
	}
	if (created)
		log_warn("first start: user 'admin' created with one-time password %s "
			 "(shown once; it must be changed at the first login)",
			 password);
	sodium_memzero(password, sizeof(password));
	return 0;
}

static int
start_gateway(struct host *h)
{
	const struct ctl_config *cfg = h->cfg;
	struct security_config sc;
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
	if (r < 0) {
		log_err("REST gateway: %s", err);
		return r;
	}
	if (ctl_config_hosts(cfg, "security")) {
		security_config(cfg, &sc);
		r = routes_security_register(h->rest, h->schemas, &sc, REQUEST_CONNECTIONS,
					     &h->security, err, sizeof(err));
		if (r < 0) {
			log_err("%s", err);
			return r;
		}
		r = bootstrap_admin(h);
		if (r < 0)
			return r;
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

/*
 * The bus: a relay and a command server per hosted domain, and the consumers
 * of the hosted domains (the security domain's change journal listens to
 * every domain that publishes, hosted here or elsewhere).
 */
static int
start_bus(struct host *h)
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
	for (size_t i = 0; i < sizeof(event_sources) / sizeof(event_sources[0]); i++) {
		bool remote = false;

		for (unsigned j = 0; j < cfg->n_endpoints; j++)
			remote |= strcmp(cfg->endpoints[j].domain, event_sources[i]) == 0;
		if (ctl_config_hosts(cfg, event_sources[i]) || remote)
			h->sources[h->n_sources++] = event_sources[i];
	}
	if (ctl_config_hosts(cfg, "security")) {
		h->domains[0] = (struct bus_domain){.name = "security", .db_url = cfg->database};
		r = bus_serve(h->bus, &h->domains[0], err, sizeof(err));
		if (r < 0) {
			log_err("bus: security: %s", err);
			return r;
		}
		h->consumers[0] = (struct bus_consumer){
			.name = "journal",
			.domain = "security",
			.db_url = cfg->database,
			.sources = h->sources,
			.n_sources = h->n_sources,
			.handler = security_journal_apply,
			.max_attempts = cfg->dead_letter_attempts,
		};
		h->consumer_info[0] = (struct routes_bus_consumer){
			.name = "journal",
			.domain = "security",
			.handler = security_journal_apply,
			.max_attempts = cfg->dead_letter_attempts,
		};
		r = bus_consume(h->bus, &h->consumers[0], err, sizeof(err));
		if (r < 0) {
			log_err("bus: consumer journal: %s", err);
			return r;
		}
		h->n_consumers = 1;
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
	r = idem_pg_open(cfg->database, REQUEST_CONNECTIONS, IDEM_TTL_S, &h->idem, err,
			 sizeof(err));
	if (r < 0) {
		log_err("database %s: %s", cfg->database, err);
		host_stop(h);
		return r;
	}
	r = start_bus(h);
	if (r < 0) {
		host_stop(h);
		return r;
	}
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
	routes_security_free(h->security);
	idem_pg_close(h->idem);
	jschema_registry_free(h->schemas);
	free(h);
	return NULL;
}

int
host_audit_verify(const struct ctl_config *cfg)
{
	struct cuco_principal p = {.subject = "system:cli", .name = "cuco-controld audit verify"};
	struct security_audit_report rep = {0};
	struct security_error e = {0};
	struct security_config sc;
	struct security *sec = NULL;
	int r;

	if (sodium_init() < 0)
		return -EIO;
	security_config(cfg, &sc);
	r = security_open(&sc, &sec, &e);
	if (r == 0)
		r = security_audit_verify(sec, &p, &rep, &e);
	security_close(sec);
	if (r < 0) {
		log_err("audit verify: %s", e.message);
		return r;
	}
	if (rep.ok) {
		printf("audit log intact: %lld records, last seq %lld, anchored seq %lld\n",
		       (long long)rep.records, (long long)rep.head_seq, (long long)rep.anchor_seq);
		return 0;
	}
	printf("audit log TAMPERED: record %lld: %s: %s\n", (long long)rep.bad_seq, rep.problem,
	       rep.message);
	return 1;
}
