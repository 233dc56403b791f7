/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The security domain in cuco-controld: its routes, its first admin, its
 * change-journal consumer, and the gateway's authentication.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bss/security/security.h"
#include "common/log.h"
#include "controlplane/controld/domain.h"
#include "controlplane/controld/host.h"
#include "controlplane/rest/routes.h"

struct security_state {
	struct routes_security *routes;
	struct bus_consumer journal;
	char dir[300];
};

/* The security domain's secrets live in their own 0700 directory. */
static void
security_config(const struct ctl_config *cfg, char *dir, size_t dirlen,
		struct security_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(dir, dirlen, "%s/security", cfg->state_dir);
	sc->url = cfg->database;
	sc->state_dir = dir;
	sc->access_ttl = cfg->token_lifetime_s;
	sc->refresh_ttl = cfg->refresh_lifetime_s;
}

static int
security_migrate_(const struct ctl_config *cfg, char *err, size_t errlen)
{
	struct security_error se = {0};
	int r = security_migrate(cfg->database, &se);

	if (r < 0)
		snprintf(err, errlen, "%s", se.message);
	return r;
}

static int
bootstrap_admin(struct routes_security *rs)
{
	struct security_error e = {0};
	struct security *sec;
	char password[32];
	bool created = false;
	int r;

	sec = routes_security_borrow(rs);
	r = security_bootstrap(sec, password, &created, &e);
	routes_security_return(rs, sec);
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
security_start(const struct host_env *env, void **ret_state, char *err, size_t errlen)
{
	const struct ctl_config *cfg = env->cfg;
	struct security_state *st = calloc(1, sizeof(*st));
	struct security_config sc;
	int r;

	if (st == NULL)
		return -ENOMEM;
	security_config(cfg, st->dir, sizeof(st->dir), &sc);
	r = routes_security_register(env->rest, env->schemas, &sc, HOST_REQUEST_CONNECTIONS,
				     &st->routes, err, errlen);
	if (r == 0)
		r = bootstrap_admin(st->routes);
	if (r < 0) {
		routes_security_free(st->routes);
		free(st);
		return r;
	}
	/* Every domain's events, exactly once, in the change journal. */
	st->journal = (struct bus_consumer){
		.name = "journal",
		.domain = "security",
		.db_url = cfg->database,
		.sources = env->sources,
		.n_sources = env->n_sources,
		.handler = security_journal_apply,
		.handler_dedupes = true, /* change_journal.event_id is unique */
		.batch_handler = security_journal_apply_batch,
		.max_attempts = cfg->dead_letter_attempts,
	};
	r = host_consume(env->host, &st->journal, err, errlen);
	if (r < 0) {
		routes_security_free(st->routes);
		free(st);
		return r;
	}
	host_set_authenticator(env->host, st->routes);
	*ret_state = st;
	return 0;
}

static void
security_stop(void *state)
{
	struct security_state *st = state;

	if (st == NULL)
		return;
	routes_security_free(st->routes);
	free(st);
}

const struct host_domain domain_security = {
	.name = "security",
	.publishes = true,
	.migrate = security_migrate_,
	.start = security_start,
	.stop = security_stop,
};

int
host_authenticator_open(const struct ctl_config *cfg, struct routes_security **ret, char *err,
			size_t errlen)
{
	struct security_config sc;
	char dir[300];

	/* The keys are in the shared state directory; security_open copies the path. */
	security_config(cfg, dir, sizeof(dir), &sc);
	return routes_security_register(NULL, NULL, &sc, HOST_REQUEST_CONNECTIONS, ret, err,
					errlen);
}

int
host_authenticate(struct routes_security *rs, const char *token, struct cuco_principal *ret)
{
	struct security_error e = {0};
	struct security *sec;
	unsigned flags = 0;
	int r;

	sec = routes_security_borrow(rs);
	r = security_authenticate(sec, token, ret, &flags, &e);
	routes_security_return(rs, sec);
	/* A first-login token holds no role: it only reaches the password route. */
	if (r == 0 && (flags & SECURITY_AUTH_PASSWORD_CHANGE_ONLY))
		ret->roles = 0;
	return r;
}

int
host_audit_verify(const struct ctl_config *cfg)
{
	struct cuco_principal p = {.subject = "system:cli", .name = "cuco-controld audit verify"};
	struct security_audit_report rep = {0};
	struct security_error e = {0};
	struct security_config sc;
	struct security *sec = NULL;
	char dir[300];
	int r;

	if (sodium_init() < 0)
		return -EIO;
	security_config(cfg, dir, sizeof(dir), &sc);
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
