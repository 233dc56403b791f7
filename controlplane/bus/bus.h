/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_CONTROLPLANE_BUS_H
#define CUCO_CONTROLPLANE_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bss/core/command.h"
#include "bss/core/eventstore.h"
#include "bss/core/inbox.h"
#include "bss/core/principal.h"

/*
 * The message bus between the domains (ZeroMQ), one per process (one zmq
 * context). docs/bus.md describes the endpoints, the envelopes and the
 * tables.
 *
 * A domain served here gets two threads, each with its own database
 * connection as the domain's role:
 *   - the relay publishes committed outbox rows in seq order on a PUB socket
 *     (topic "<domain>.<type>"), woken by LISTEN/NOTIFY or a poll, and sends
 *     a heartbeat with the last seq it published;
 *   - the server answers on a ROUTER socket replay requests (from the
 *     outbox, in pages) and commands (the domain's handler, once per id).
 * A consumer (a thread, its own connection, a bounded queue) subscribes to
 * its sources' PUB sockets, applies their events through the inbox, and
 * asks a source's ROUTER for a replay from its position on start, on a gap
 * in seq and when a heartbeat shows it behind.
 *
 * Endpoints are inproc://cuco.<domain>.events and inproc://cuco.<domain>.cmd
 * unless bus_set_endpoints() names tcp ones (a domain served here then binds
 * both; one served elsewhere is reached there).
 *
 * Functions may be called from any thread; bus_command() from many at once.
 */

struct bus;

/* A domain served by this process. Strings and pointers are borrowed until bus_free(). */
struct bus_domain {
	const char *name;    /* the domain: schema, role cuco_<name>, topic prefix */
	const char *db_url;  /* the login URL (the connections SET ROLE) */
	cmd_handler_fn command;               /* NULL: takes no commands */
	bool (*is_query)(const char *type);   /* read-only command types; NULL: none */
	void *arg;                            /* for command and is_query */
	const struct es_upcasters *upcasters; /* applied before publishing; may be NULL */
	unsigned poll_ms;      /* relay's poll when no commit woke it; 0: 1000 */
	unsigned heartbeat_ms; /* 0: 1000 */
	unsigned page;         /* events per read and replay page, 1..1000; 0: 256 */
	bool no_notify;        /* poll only, no in-process wakeups (tests) */
};

/* A consumer of other domains' events, run by this process. Borrowed until bus_free(). */
struct bus_consumer {
	const char *name;             /* consumer name in the inbox tables, unique per domain */
	const char *domain;           /* whose schema keeps its position (its role runs the handler) */
	const char *db_url;
	const char *const *sources;   /* the domains it listens to */
	size_t n_sources;             /* 1..16 */
	inbox_handler_fn handler;
	void *arg;
	bool handler_dedupes;  /* the handler keeps event ids unique (struct inbox) */
	inbox_batch_handler_fn batch_handler; /* optional, with handler_dedupes (struct inbox) */
	unsigned max_attempts; /* before parking an event; 0: 5 */
	unsigned queue_len;    /* bounded queue of received events; 0: 1024 */
	unsigned retry_ms;     /* first wait after a failure, doubling to 5 s; 0: 100 */
	unsigned replay_timeout_ms; /* a replay request unanswered is sent again; 0: 2000 */
};

/* The answer to a command. */
struct bus_reply {
	bool ok;              /* true: result; false: code and detail */
	json_t *result;       /* owned; NULL unless ok */
	char code[32];        /* cmd_problem codes, plus "timeout", "unreachable" */
	char detail[256];
};

/* A bus with its zmq context. Returns 0, or -ENOMEM with @err. */
int bus_new(struct bus **ret, char *err, size_t errlen);

/*
 * Use tcp:// (or other) endpoints for @domain instead of inproc: bound by
 * bus_serve() here, connected to by consumers and bus_command() otherwise.
 * NULL keeps that endpoint inproc. Call before bus_serve()/bus_consume().
 * Returns 0 or -EINVAL.
 */
int bus_set_endpoints(struct bus *bus, const char *domain, const char *events, const char *cmd,
		      char *err, size_t errlen);

/*
 * Serve @d here: open its connections, bind its sockets, start its relay and
 * server threads. Returns 0, -EINVAL, -EEXIST (served already), -EIO
 * (database) or -EADDRINUSE and friends (binding), with @err.
 */
int bus_serve(struct bus *bus, const struct bus_domain *d, char *err, size_t errlen);

/* Start consumer @c. Returns 0, -EINVAL, -EEXIST or -EIO with @err. */
int bus_consume(struct bus *bus, const struct bus_consumer *c, char *err, size_t errlen);

/*
 * Send a command to @domain and wait at most @timeout_ms for its reply, as
 * @who. @payload is borrowed (NULL: {}). A new command id is made; retry
 * with bus_command_id() and the same id to get the same effect once.
 * Returns 0 with @reply filled (reply->ok or a problem), -ETIMEDOUT (code
 * "timeout"), -EINVAL, or -EPROTO (a malformed reply). bus_reply_clear()
 * afterwards in every case.
 */
int bus_command(struct bus *bus, const char *domain, const char *type,
		const struct cuco_principal *who, json_t *payload, int timeout_ms,
		struct bus_reply *reply);

/* bus_command() with the caller's command id (a lowercase UUID). */
int bus_command_id(struct bus *bus, const char *id, const char *domain, const char *type,
		   const struct cuco_principal *who, json_t *payload, int timeout_ms,
		   struct bus_reply *reply);

void bus_reply_clear(struct bus_reply *reply);

/*
 * Figures for /metrics, as a new JSON object:
 *   {"domains": {"<d>": {"last_committed", "last_published", "outbox_lag",
 *                        "commands", "replays"}},
 *    "consumers": {"<name>": {"domain", "queue_depth", "queue_len", "applied",
 *                  "skipped", "failed", "parked", "dead_letters",
 *                  "sources": {"<s>": {"position", "head", "lag"}}}}}
 */
json_t *bus_stats(struct bus *bus);

/* The process's zmq context, for other ZeroMQ users of the process. */
void *bus_zmq_context(struct bus *bus);

/* Stop every thread, close every socket and connection; accepts NULL, returns NULL. */
struct bus *bus_free(struct bus *bus);

#endif
