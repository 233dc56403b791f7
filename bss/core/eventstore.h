/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_EVENTSTORE_H
#define CUCO_BSS_EVENTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/core/outbox.h"

/*
 * Reading a domain's event store (its outbox): an aggregate's events to
 * rebuild it, a seq range to replay, snapshots of long aggregates, and the
 * upcasters that turn old payload versions into current ones on every read,
 * so that readers only ever see the current schema version of an event.
 *
 * Every function runs on the caller's connection (search_path = the domain's
 * schema), inside the caller's transaction if one is open.
 */

/* One event as stored (and as carried by the bus). */
struct es_event {
	int64_t seq;
	char event_id[37];
	char type[OUTBOX_NAME_MAX];
	int schema_version;
	char aggregate_type[OUTBOX_NAME_MAX];
	char aggregate_id[OUTBOX_ID_MAX];
	int64_t aggregate_version;
	json_t *payload;      /* owned by the event */
	char traceparent[56]; /* "" when none */
	char time[40];        /* created_at, RFC 3339 UTC with microseconds */
};

/*
 * Upcasters: a function per (event type, schema version) that rewrites a
 * payload of that version, in place, into the next version. Built at start,
 * then read-only (safe to share between threads).
 */
typedef int (*es_upcast_fn)(json_t *payload, void *arg);

struct es_upcasters;

struct es_upcasters *es_upcasters_new(void);
struct es_upcasters *es_upcasters_free(struct es_upcasters *u);

/*
 * Register @fn turning @type's payload of @from_version into @from_version+1.
 * Returns 0, -EEXIST (already registered), -EINVAL or -ENOMEM.
 */
int es_upcaster_add(struct es_upcasters *u, const char *type, int from_version, es_upcast_fn fn,
		    void *arg);

/*
 * Apply the upcasters of @ev's type from its schema version on, as long as
 * there is one for the version reached; updates ev->schema_version. @u may
 * be NULL (nothing to do). Returns 0 or the failing upcaster's error
 * (-EINVAL if it returned a non-negative non-zero value), with @err.
 */
int es_upcast(const struct es_upcasters *u, struct es_event *ev, char *err, size_t errlen);

/*
 * The events of one aggregate with aggregate_version > @after_version, in
 * version order, at most @max (0: no limit), upcast. *ret is an array the
 * caller frees with es_events_free() (NULL when there is none).
 * Returns 0, -EINVAL, -EIO (message in @err) or an upcaster's error.
 */
int es_read_aggregate(struct db *db, const struct es_upcasters *u, const char *aggregate_type,
		      const char *aggregate_id, int64_t after_version, size_t max,
		      struct es_event **ret, size_t *ret_n, char *err, size_t errlen);

/* The events with seq > @after_seq, in seq order, at most @max (1..10000), upcast. */
int es_read_range(struct db *db, const struct es_upcasters *u, int64_t after_seq, size_t max,
		  struct es_event **ret, size_t *ret_n, char *err, size_t errlen);

/* The highest committed seq (0: no event yet) in @ret. Returns 0 or -EIO. */
int es_last_seq(struct db *db, int64_t *ret, char *err, size_t errlen);

/* Free @n events of @ev (their payloads too); accepts NULL. */
void es_events_free(struct es_event *ev, size_t n);

/*
 * Save the state of an aggregate at @version (the latest snapshot only is
 * kept; an older one than stored is ignored). @state is borrowed.
 * Returns 0, -EINVAL or -EIO.
 */
int es_snapshot_save(struct db *db, const char *aggregate_type, const char *aggregate_id,
		     int64_t version, int schema_version, json_t *state, char *err,
		     size_t errlen);

/*
 * Load the latest snapshot: its version, schema version and state (a new
 * reference for the caller). Returns 0, -ENOENT (none), -EINVAL or -EIO.
 * Rebuild = snapshot, then es_read_aggregate(after_version = its version).
 */
int es_snapshot_load(struct db *db, const char *aggregate_type, const char *aggregate_id,
		     int64_t *ret_version, int *ret_schema_version, json_t **ret_state, char *err,
		     size_t errlen);

/*
 * The event as the bus's envelope object (fields seq, event_id, type,
 * schema_version, aggregate_type, aggregate_id, aggregate_version, payload,
 * traceparent, time; and domain when @domain is not NULL). New reference,
 * NULL when out of memory.
 */
json_t *es_event_to_json(const struct es_event *ev, const char *domain);

/*
 * Decode and validate an envelope that came from outside (types, sizes and
 * formats of every field). Fills @ev (payload: a new reference). Returns 0
 * or -EINVAL naming the bad field in @err.
 */
int es_event_from_json(const json_t *j, struct es_event *ev, char *err, size_t errlen);

#endif
