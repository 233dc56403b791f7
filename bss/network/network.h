/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_NETWORK_H
#define CUCO_BSS_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/command.h"
#include "bss/core/principal.h"

/*
 * The network domain: the service inventory (TMF638 Service: a customer's
 * service and its access identifiers — VLAN, MAC, prefixes lent from
 * address pools — its bandwidth profile and availability), activation
 * (TMF640, asynchronous with monitors), the address pools, and the
 * dataplanes it provisions with what each has applied. docs/network.md.
 *
 * A service's changes reach the dataplanes through a pusher (struct
 * network_pusher, the provisioner of the host): a write pushes at once to
 * every dataplane whose circuit is closed, in its transaction, and the
 * provisioner pushes what is left (dataplanes that were away, resyncs).
 * Each service has a revision (rev) that grows at every change; a dataplane
 * enforces a service when it applied its current rev in its current epoch
 * (an epoch per full resync).
 *
 * Authorization: every role may read (self-care: its own services); admin,
 * operator and internal principals ("system:<domain>", the saga) may write.
 *
 * Errors: 0 or a negative errno, with @err:
 *   invalid-argument -EINVAL (err->field: a JSON pointer), not-found -ENOENT,
 *   conflict -EEXIST / -EBUSY (in use), pool-exhausted -ENOSPC,
 *   forbidden -EPERM, refused-by-dataplane -EREMOTEIO (the dataplane's field
 *   and reason in the message), internal -EIO.
 *
 * Threads: a struct network owns one database connection; one thread at a time.
 */

struct network;
struct db;
struct es_event;

struct network_error {
	char code[32];
	char field[64];
	char message[256];
};

/* What a push reached: one entry per dataplane that applied it. */
struct network_applied {
	char dataplane[64];
	int64_t epoch;
	int64_t generation;
};

#define NETWORK_DATAPLANES_MAX 16

/*
 * The host's provisioner. push() sends @row's changes (see
 * network_service_changes()) now to every dataplane it may reach, writes
 * those that applied in @ret (at most NETWORK_DATAPLANES_MAX) and returns
 * their count, or -EREMOTEIO when a dataplane refused the change (@err: its
 * field and reason). kick() wakes the provisioner. Both may be called from
 * any thread. @arg is theirs.
 */
struct network_pusher {
	int (*push)(void *arg, const json_t *row, struct network_applied *ret, char *err,
		    size_t errlen);
	void (*kick)(void *arg);
	void *arg;
};

/*
 * The dataplane changes that make a dataplane enforce service @row (as
 * network_pending() and network_full_state() list them: id, profile,
 * availability, vlan, mac, prefixes, state): [profile.upsert,
 * subscriber.upsert], or [subscriber.delete] for a terminated one. VLANs on
 * access port @port. A new reference.
 */
json_t *network_service_changes(const json_t *row, const char *port);

int network_migrate(const char *url, struct network_error *err);
int network_open(const char *url, struct network **ret, struct network_error *err);
/* Accepts NULL, returns NULL. */
struct network *network_close(struct network *net);
/* The pusher this handle's writes use (borrowed; NULL: none, every push is left to later). */
void network_set_pusher(struct network *net, const struct network_pusher *pusher);

/* ---- the bus: commands and consumed events ---------------------------------------- */

/*
 * The domain's command handler (cmd_handler_fn; @arg: a const struct
 * network_pusher *, or NULL): network.service.provision, .deprovision,
 * .set_availability, .get (docs/network.md has the payloads and replies).
 */
int network_command(struct db *db, const struct cuco_principal *who, const char *type,
		    json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem);

/* Whether command @type only reads (network.service.get). */
bool network_command_is_query(const char *type);

/*
 * The consumer of other domains' events (inbox_handler_fn; @arg: a const
 * struct network_pusher *, kicked after a change): a customer suspended
 * (customer.customer.state_changed to "suspended") has its active services
 * suspended; back to "active", those services resume. Billing's
 * billing.account.suspended / resumed do the same for their cause.
 */
int network_consume(struct db *db, const char *source, const struct es_event *ev, void *arg,
		    char *err, size_t errlen);

/* The sources network_consume() listens to, among those the host knows. */
extern const char *const network_consumed_sources[];
extern const size_t network_consumed_sources_n;

/* ---- services (TMF638) and activation (TMF640) ---------------------------------------- */

struct network_service_filter {
	const char *state;       /* TMF state, or NULL */
	const char *customer_id; /* relatedParty.id, or NULL */
	unsigned limit, offset;
};

int network_service_list(struct network *net, const struct cuco_principal *p,
			 const struct network_service_filter *f, json_t **ret, int64_t *ret_total,
			 struct network_error *err);
int network_service_get(struct network *net, const struct cuco_principal *p, const char *id,
			json_t **ret, struct network_error *err);

/*
 * TMF640: create and activate a service from a TMF Service document
 * (relatedParty customer, serviceCharacteristic profile / vlan / mac /
 * prefixPool). Returns the monitor (state "InProgress" until every
 * dataplane enforces it, then "completed") in @ret.
 */
int network_activation_create(struct network *net, const struct cuco_principal *p,
			      const json_t *body, json_t **ret, struct network_error *err);
int network_monitor_get(struct network *net, const struct cuco_principal *p, const char *id,
			json_t **ret, struct network_error *err);

/* ---- pools -------------------------------------------------------------------------- */

int network_pool_list(struct network *net, const struct cuco_principal *p, json_t **ret,
		      struct network_error *err);
int network_pool_get(struct network *net, const struct cuco_principal *p, const char *name,
		     json_t **ret, struct network_error *err);
/* {"name", "prefix", "length"?, "exclude"?}; pools never overlap. */
int network_pool_create(struct network *net, const struct cuco_principal *p, const json_t *body,
			json_t **ret, struct network_error *err);
/* -EBUSY while one of its prefixes is lent. */
int network_pool_delete(struct network *net, const struct cuco_principal *p, const char *name,
			struct network_error *err);

/* ---- dataplanes ---------------------------------------------------------------------- */

/*
 * Each: name, endpoint, curve_dir, access_port, generation, boot_id, epoch,
 * state, circuit, last_error, last_seen.
 */
int network_dataplane_list(struct network *net, const struct cuco_principal *p, json_t **ret,
			   struct network_error *err);
/* {"name", "endpoint", "curve_dir"?, "access_port"?}. Event network.dataplane.registered. */
int network_dataplane_register(struct network *net, const struct cuco_principal *p,
			       const json_t *body, json_t **ret, struct network_error *err);
int network_dataplane_delete(struct network *net, const struct cuco_principal *p,
			     const char *name, struct network_error *err);

/* ---- the provisioner's side ---------------------------------------------------------- */

/* Every dataplane (as network_dataplane_list()), without authorization. */
int network_dataplanes(struct network *net, json_t **ret, struct network_error *err);

/*
 * Services whose current rev dataplane @name has not applied in @epoch (at
 * most @max), as rows for network_service_changes(); terminated services it
 * never had in this epoch are not listed.
 */
int network_pending(struct network *net, const char *name, int64_t epoch, unsigned max,
		    json_t **ret, struct network_error *err);

/* Every live service, as rows: a full resync. */
int network_full_state(struct network *net, json_t **ret, struct network_error *err);

/*
 * Record that dataplane @name applied @applied ([{"id", "rev", "error"?}])
 * in @epoch at @generation (boot @boot_id); @resync: a full resync (older
 * epochs forgotten, event network.dataplane.synced). Services now enforced
 * everywhere become active (event network.service.activated).
 */
int network_record(struct network *net, const char *name, int64_t epoch, int64_t generation,
		   const char *boot_id, const json_t *applied, bool resync,
		   struct network_error *err);

/*
 * The dataplane's circuit changed (@circuit "closed", "open", "half-open");
 * @reachable false: it does not answer (event network.dataplane.unreachable
 * once, with @reason).
 */
int network_dataplane_health(struct network *net, const char *name, const char *circuit,
			     bool reachable, const char *reason, struct network_error *err);

#endif
