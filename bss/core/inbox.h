/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_INBOX_H
#define CUCO_BSS_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/core/eventstore.h"

/*
 * The consuming side of events: a consumer (named; a domain may have
 * several) applies another domain's events in seq order, each in one
 * transaction together with its position in that source's outbox and a
 * dedupe record, so an event is applied once however often it is delivered.
 * A handler that keeps failing is retried until max_attempts, then the event
 * is parked in dead_letters with its error and the consumer moves on.
 *
 * Tables (in the consumer's schema): inbox_position, inbox_seen,
 * inbox_failures, dead_letters. Runs on the consumer's connection; no
 * transaction may be open when calling in.
 */

/*
 * Applies @ev from @source on @db inside the transaction inbox_apply() opened
 * (never commits nor rolls back itself). Returns 0, or a negative errno with
 * a message in @err; a failure rolls back what the handler did. An event the
 * consumer does not care about is a success that does nothing.
 */
typedef int (*inbox_handler_fn)(struct db *db, const char *source, const struct es_event *ev,
				void *arg, char *err, size_t errlen);

/*
 * Applies @n consecutive events of @source at once, in the transaction
 * inbox_apply_batch() opened; otherwise as inbox_handler_fn. A failure rolls
 * the batch back, which then runs again one event at a time with the
 * consumer's handler.
 */
typedef int (*inbox_batch_handler_fn)(struct db *db, const char *source,
				      const struct es_event *ev, size_t n, void *arg, char *err,
				      size_t errlen);

struct inbox {
	const char *consumer;   /* [a-z][a-z0-9_.-]*, at most 100 bytes */
	unsigned max_attempts;  /* failures before parking, >= 1 */
	inbox_handler_fn handler;
	void *arg;
	/*
	 * The handler keeps event ids unique itself (its row keyed by the id,
	 * written ON CONFLICT DO NOTHING), so no inbox_seen record is written
	 * for its events: one row and one index entry less an event.
	 */
	bool handler_dedupes;
	/*
	 * Optional, with handler_dedupes: the new events of a batch in one call
	 * (one statement for all, say) when none of them failed before.
	 */
	inbox_batch_handler_fn batch_handler;
};

enum inbox_outcome {
	INBOX_APPLIED, /* applied and committed with the position and dedupe record */
	INBOX_SKIPPED, /* at or below the position, or its event id already seen */
	INBOX_GAP,     /* beyond position + 1: nothing done; replay from position + 1 */
	INBOX_FAILED,  /* the handler failed; the attempt is counted; try again later */
	INBOX_PARKED,  /* failed for the max_attempts-th time: parked, position advanced */
};

/* The last seq of @source applied by @consumer (0: none) in @ret. Returns 0 or -EIO. */
int inbox_position(struct db *db, const char *consumer, const char *source, int64_t *ret,
		   char *err, size_t errlen);

/*
 * Apply @ev from @source once. Returns 0 with the outcome in @ret (FAILED
 * and PARKED: the handler's message in @err), or -EIO/-EAGAIN when the
 * database failed (nothing recorded, the attempt not counted: try again,
 * after db_reset() for -EIO), or -EINVAL.
 */
int inbox_apply(struct db *db, const struct inbox *in, const char *source,
		const struct es_event *ev, enum inbox_outcome *ret, char *err, size_t errlen);

/*
 * inbox_apply() of @n consecutive events of @source in ONE transaction (one
 * commit and one WAL flush for all). The handlers run without savepoints;
 * when one fails, the whole batch is rolled back and run again with each
 * handler in its own savepoint, so that the failure is recorded and what
 * went before it is kept (handlers are idempotent: an event may always be
 * delivered again). Stops after a GAP or a FAILED event (the failure recorded, the
 * events behind it left for the retry). @ret[i] gets each outcome and
 * *@ret_n how many were handled (the rest were not looked at). Returns 0,
 * or -EIO/-EAGAIN (nothing recorded for any of them), or -EINVAL.
 */
int inbox_apply_batch(struct db *db, const struct inbox *in, const char *source,
		      const struct es_event *ev, size_t n, enum inbox_outcome *ret,
		      size_t *ret_n, char *err, size_t errlen);

/*
 * Forget at most @max dedupe records (events and command replies, every
 * consumer of @db's schema) older than @retention_s seconds; *@ret_n: how
 * many. Positions keep an event below them out; events are numbered once,
 * so an old event id never comes back under a new seq; a command retried
 * after the retention runs again, which its step id makes harmless.
 * Returns 0 or -EIO.
 */
int inbox_prune(struct db *db, unsigned retention_s, size_t max, size_t *ret_n, char *err,
		size_t errlen);

/*
 * Dead letters of @consumer (NULL: every consumer), newest first, at most
 * @max, as a JSON array of {id, consumer, source, seq, event_id, type,
 * payload, error, attempts, parked_at, replayed_at, state}. Only parked ones
 * when @parked_only. Returns 0 with a new reference in @ret, or -EIO.
 */
int inbox_dead_letters(struct db *db, const char *consumer, bool parked_only, size_t max,
		       json_t **ret, char *err, size_t errlen);

/* How many dead letters of @consumer (NULL: all) are parked. Returns 0 or -EIO. */
int inbox_dead_letters_parked(struct db *db, const char *consumer, int64_t *ret, char *err,
			      size_t errlen);

/*
 * Run @in's handler again on parked dead letter @id of @in->consumer, in one
 * transaction: success marks it replayed (replayed_at); failure counts the
 * attempt and keeps the new error, and it stays parked. Returns 0, -ENOENT
 * (no such parked letter), the handler's error, or -EIO.
 */
int inbox_dead_letter_replay(struct db *db, const struct inbox *in, int64_t id, char *err,
			     size_t errlen);

#endif
