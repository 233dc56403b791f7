/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLD_DOMAIN_H
#define CUCO_CONTROLD_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bss/core/command.h"
#include "common/jschema.h"
#include "controlplane/bus/bus.h"
#include "controlplane/controld/config.h"
#include "controlplane/rest/rest.h"

/*
 * How a domain plugs into cuco-controld: one descriptor a domain
 * (domain_<name>.c), listed in host.c's table. The host migrates every
 * hosted domain, serves each on the bus (relay + command server), then calls
 * start() in table order, which opens the domain's handles, registers its
 * routes and starts its consumers with host_consume().
 */

struct host_env {
	const struct ctl_config *cfg;
	struct rest_server *rest;
	struct jschema_registry *schemas;
	struct bus *bus;
	/* Domains whose events can be consumed here (hosted, or with an endpoint). */
	const char *const *sources;
	size_t n_sources;
	struct host *host;
};

struct host_domain {
	const char *name;
	/* Whether it publishes events (an outbox relay). */
	bool publishes;
	/* Bring its schema up to date. 0 or -errno with @err. */
	int (*migrate)(const struct ctl_config *cfg, char *err, size_t errlen);
	/*
	 * Its command handler on the bus and whether a command type only reads
	 * (may be NULL); @command_arg is start()'s state: commands are served once
	 * start() returned.
	 */
	cmd_handler_fn command;
	bool (*is_query)(const char *type);
	/* Open, register routes, start consumers; *ret_state is passed to stop(). */
	int (*start)(const struct host_env *env, void **ret_state, char *err, size_t errlen);
	/* After the gateway and the bus stopped. Accepts NULL. */
	void (*stop)(void *state);
	/* Its own lines for /metrics (may be NULL); from the gateway's threads. */
	void (*metrics)(void *state, FILE *out);
};

/* The REST side's pool size per domain (connections for requests). */
#define HOST_REQUEST_CONNECTIONS 8

/*
 * Start consumer @c (borrowed until the host stops) on the bus and list it
 * for the dead-letter routes. @c->domain must be a hosted domain. Returns 0
 * or -errno with @err.
 */
int host_consume(struct host *h, const struct bus_consumer *c, char *err, size_t errlen);

extern const struct host_domain domain_security;
extern const struct host_domain domain_catalog;
extern const struct host_domain domain_customer;
extern const struct host_domain domain_network;
extern const struct host_domain domain_billing;
extern const struct host_domain domain_order;

#endif
