/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_OUTBOX_H
#define CUCO_BSS_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"

/*
 * The transactional outbox, which is also the domain's append-only event
 * store (table <schema>.outbox: seq, event_id, type, schema_version,
 * aggregate_type, aggregate_id, aggregate_version, payload, traceparent,
 * created_at). A domain writes its state change and its event in one
 * transaction; the relay publishes what was committed.
 *
 * Writers do not serialize: an event is inserted with seq NULL (its pos, an
 * identity, orders the inserts). The domain's relay numbers committed events
 * in pos order (outbox_number()), and consumers see them by that seq, which
 * has no gaps and is never reused (docs/bus.md). A commit that appended
 * wakes the relay of that schema in this process (outbox_wake_fd()).
 */

#define OUTBOX_NEW_AGGREGATE 0 /* expected version of an aggregate that does not exist yet */
#define OUTBOX_NAME_MAX 101   /* event and aggregate types: [A-Za-z0-9_.-]{1,100} */
#define OUTBOX_ID_MAX 201     /* aggregate ids: 1..200 bytes */

/*
 * Append one event inside the caller's open transaction on @db (the domain's
 * connection, search_path = its schema). The aggregate's new version is
 * @expected_version + 1; a concurrent writer that got there first makes this
 * return -EAGAIN (optimistic concurrency: the caller rolls back and retries
 * or reports a conflict). @payload is borrowed. @traceparent may be NULL or "".
 * On success writes the event's position (pos: its order among the
 * domain's appends, not its seq, which the relay gives it after the commit)
 * and id (UUID text) when the pointers are not NULL. Returns 0, -EAGAIN, -EINVAL (bad argument) or -EIO
 * (message in @err). After -EAGAIN or -EIO the transaction must be rolled back.
 */
int outbox_append(struct db *db, const char *aggregate_type, const char *aggregate_id,
		  int64_t expected_version, const char *type, int schema_version, json_t *payload,
		  const char *traceparent, int64_t *ret_pos, char ret_event_id[37], char *err,
		  size_t errlen);

/* An event for outbox_commit(); all borrowed. */
struct outbox_event {
	const char *aggregate_type;
	const char *aggregate_id;
	int64_t expected_version;
	const char *type;
	int schema_version;
	json_t *payload;
	const char *traceparent; /* NULL or "" or W3C */
};

#define OUTBOX_COMMIT_MAX 8 /* statements of the caller plus events, in one call */

/*
 * End the caller's open transaction on @db in ONE round trip (libpq
 * pipeline mode): the caller's statements @pre (may be 0), then the append
 * of each of the @n events, then COMMIT. An aggregate not at its expected
 * version, or a concurrent writer that got there first, fails the whole
 * transaction: -EAGAIN. On any failure the transaction is rolled back,
 * @ret_failed (when not NULL) says which statement failed (@npre + i: the
 * i-th event; @npre + @n: COMMIT) and @ret_state (when not NULL) its
 * SQLSTATE ("" when the server gave none). Returns 0, -EAGAIN, -EINVAL (a bad
 * event or too many statements: nothing sent, rolled back too) or -EIO
 * (message in @err).
 */
int outbox_commit(struct db *db, const struct db_stmt *pre, size_t npre,
		  const struct outbox_event *ev, size_t n, size_t *ret_failed, char ret_state[6],
		  char *err, size_t errlen);

/*
 * Number the committed events of @db's schema that have no seq yet, in pos
 * order, with the next seqs (at most @max, in one transaction of its own;
 * concurrent callers take turns on the counter row). *@ret_n: how many.
 * Returns 0 or -EIO (message in @err). The relay calls it before it
 * publishes; so do tests that read the outbox by seq without a relay.
 */
int outbox_number(struct db *db, size_t max, size_t *ret_n, char *err, size_t errlen);

/*
 * The wakeup of schema @schema's relay in this process: an eventfd (read
 * it to clear) that becomes readable after every commit on a connection of
 * that schema that appended events. Created on first use; lives as long as
 * the process. Returns the fd or -errno.
 */
int outbox_wake_fd(const char *schema);

/* Wake @schema's relay, if this process has one (db_commit() calls it). */
void outbox_wake(const char *schema);

/* A random (version 4) UUID as text. */
void outbox_uuid4(char out[37]);

/* Whether @s is a UUID in lowercase text (as outbox_uuid4() writes them). */
bool outbox_uuid_valid(const char *s);

/* Whether @s may be an event or aggregate type: [A-Za-z0-9_.-]{1,100}. */
bool outbox_type_valid(const char *s);

#endif
