/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/security/security.h"
#include "common/jschema.h"
#include "common/log.h"
#include "controlplane/controld/host.h"
#include "controlplane/controld/idem_pg.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"

/* Connections per domain for requests (the bulkhead of the REST side). */
#define REQUEST_CONNECTIONS 8
/* Idempotency-Key answers are kept a day. */
#define IDEM_TTL_S 86400

struct host {
	const struct ctl_config *cfg;
	struct jschema_registry *schemas;
	struct rest_server *rest;
	struct routes_security *security;
	struct idem_pg *idem;
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
	json_object_set_new(checks, "bus", json_string("ok"));
	return r;
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
	r = idem_pg_open(cfg->database, REQUEST_CONNECTIONS, IDEM_TTL_S, &h->idem, err,
			 sizeof(err));
	if (r < 0) {
		log_err("database %s: %s", cfg->database, err);
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
