/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_HOST_H
#define CUCO_CONTROLD_HOST_H

#include "controlplane/controld/config.h"

/*
 * The service host: the hosted domains, their bus endpoints and consumers,
 * and the REST gateway, started and stopped in order. Logs what it does.
 */

struct host;

/*
 * Migrate every hosted domain, start the bus, the domains and the gateway.
 * On the first start prints the admin's one-time password (once, on the log).
 * Returns 0, or -errno after logging why; nothing is left running on failure.
 */
int host_start(const struct ctl_config *cfg, struct host **ret);

/*
 * Stop accepting requests, let those in flight finish (at most the config's
 * drain timeout), stop the consumers and relays, close the connections.
 * Accepts NULL; returns NULL.
 */
struct host *host_stop(struct host *h);

/* Whether the host's threads are healthy (a relay or consumer that died is fatal). */
int host_check(struct host *h);

/* "cuco-controld migrate": migrate the hosted domains and return. 0 or -errno (logged). */
int host_migrate(const struct ctl_config *cfg);

/*
 * "cuco-controld audit verify": check the audit chain. Returns 0 when
 * intact, 1 when tampered (the first bad record printed on stdout), -errno
 * when it could not check (logged).
 */
int host_audit_verify(const struct ctl_config *cfg);

struct routes_security;
struct cuco_principal;

/* The security domain's routes authenticate the gateway's bearer tokens. */
void host_set_authenticator(struct host *h, struct routes_security *rs);

/*
 * Where the security domain is hosted by another process (sharing the state
 * directory's keys and the database), its handles for authentication only
 * (domain_security.c). 0 or -errno with @err.
 */
int host_authenticator_open(const struct ctl_config *cfg, struct routes_security **ret, char *err,
			    size_t errlen);

/* A bearer token to a principal (domain_security.c). 0 or -EACCES. */
int host_authenticate(struct routes_security *rs, const char *token, struct cuco_principal *ret);

#endif
