/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/inbox.h"

/* Run a statement whose result is not needed. Returns 0 or -EIO. */
static int
exec(struct db *db, const char *sql, int n, const char *const *params, char *err, size_t errlen)
{
	PGresult *res = db_exec(db, sql, n, params, err, errlen, NULL);

	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
}

static void
rollback(struct db *db)
{
	/* Failing too means the connection is gone; the caller resets it. */
	(void)db_rollback(db);
}

static bool
consumer_valid(const char *s)
{
	return s != NULL && s[0] >= 'a' && s[0] <= 'z' && outbox_type_valid(s);
}

int
inbox_position(struct db *db, const char *consumer, const char *source, int64_t *ret, char *err,
	       size_t errlen)
{
	const char *params[2] = {consumer, source};
	PGresult *res;

	res = db_exec(db, "SELECT seq FROM inbox_position WHERE consumer = $1 AND source = $2", 2,
		      params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	*ret = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return 0;
}

/* Position, dedupe record, no pending failures: the event is done with. */
static int
mark_done(struct db *db, const char *consumer, const char *source, const struct es_event *ev,
	  char *err, size_t errlen)
{
	char seq[24];
	const char *seen[3] = {consumer, ev->event_id, source};
	const char *position[3] = {consumer, source, seq};
	int rc;

	snprintf(seq, sizeof(seq), "%" PRId64, ev->seq);
	rc = exec(db,
		  "INSERT INTO inbox_seen (consumer, id, source) VALUES ($1, $2, $3)"
		  " ON CONFLICT DO NOTHING",
		  3, seen, err, errlen);
	if (rc == 0)
		rc = exec(db,
			  "UPDATE inbox_position SET seq = $3::bigint, updated_at = now()"
			  " WHERE consumer = $1 AND source = $2",
			  3, position, err, errlen);
	if (rc == 0)
		rc = exec(db,
			  "DELETE FROM inbox_failures WHERE consumer = $1 AND event_id = $2::uuid",
			  2, seen, err, errlen);
	return rc;
}

/* Count a failed attempt; park the event when it was the last allowed. */
static int
record_failure(struct db *db, const struct inbox *in, const char *source,
	       const struct es_event *ev, const char *error, enum inbox_outcome *ret, char *err,
	       size_t errlen)
{
	const char *params[9];
	char seq[24], attempts_s[24], *envelope_s = NULL, *payload_s = NULL;
	json_t *envelope;
	PGresult *res;
	long attempts;
	int rc;

	params[0] = in->consumer;
	params[1] = ev->event_id;
	params[2] = error;
	res = db_exec(db,
		      "INSERT INTO inbox_failures (consumer, event_id, attempts, error)"
		      " VALUES ($1, $2::uuid, 1, $3) ON CONFLICT (consumer, event_id) DO UPDATE"
		      " SET attempts = inbox_failures.attempts + 1, error = excluded.error,"
		      " failed_at = now() RETURNING attempts",
		      3, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	attempts = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (attempts < (long)in->max_attempts) {
		*ret = INBOX_FAILED;
		return 0;
	}

	envelope = es_event_to_json(ev, source);
	envelope_s = envelope ? json_dumps(envelope, JSON_COMPACT) : NULL;
	payload_s = json_dumps(ev->payload, JSON_COMPACT);
	json_decref(envelope);
	if (envelope_s == NULL || payload_s == NULL) {
		snprintf(err, errlen, "out of memory parking event %s", ev->event_id);
		rc = -ENOMEM;
		goto out_free;
	}
	snprintf(seq, sizeof(seq), "%" PRId64, ev->seq);
	snprintf(attempts_s, sizeof(attempts_s), "%ld", attempts);
	params[0] = in->consumer;
	params[1] = source;
	params[2] = seq;
	params[3] = ev->event_id;
	params[4] = ev->type;
	params[5] = payload_s;
	params[6] = envelope_s;
	params[7] = error;
	params[8] = attempts_s;
	rc = exec(db,
		  "INSERT INTO dead_letters (consumer, source, seq, event_id, type, payload,"
		  " envelope, error, attempts) VALUES ($1, $2, $3::bigint, $4::uuid, $5,"
		  " $6::jsonb, $7::jsonb, $8, $9::integer) ON CONFLICT (consumer, event_id)"
		  " DO NOTHING",
		  9, params, err, errlen);
	if (rc == 0)
		rc = mark_done(db, in->consumer, source, ev, err, errlen);
	if (rc == 0)
		*ret = INBOX_PARKED;
out_free:
	free(envelope_s);
	free(payload_s);
	return rc;
}

/*
 * The batch's start in one round trip: the position row (created at 0)
 * locked and read, and the ids of events with failed attempts (usually
 * none), whose rows an application must delete.
 */
static int
batch_start(struct db *db, const char *consumer, const char *source, int64_t *ret_pos,
	    PGresult **ret_failures, char *err, size_t errlen)
{
	const char *p2[2] = {consumer, source}, *p1[1] = {consumer};
	const struct db_stmt s[4] = {
		/*
		 * Without waiting for the WAL flush: what a batch writes is
		 * derived from events durable in their source's outbox. A crash
		 * that loses the commit loses the position with it, and the
		 * events come again (replay). What the handlers append to this
		 * domain's outbox is durable before anyone sees it: the relay
		 * publishes only what its own numbering transaction, a
		 * synchronous commit later in the WAL, made durable too.
		 */
		{"SET LOCAL synchronous_commit = off", 0, NULL},
		{"INSERT INTO inbox_position (consumer, source, seq) VALUES ($1, $2, 0)"
		 " ON CONFLICT DO NOTHING",
		 2, p2},
		{"SELECT seq FROM inbox_position WHERE consumer = $1 AND source = $2 FOR UPDATE", 2,
		 p2},
		{"SELECT event_id::text FROM inbox_failures WHERE consumer = $1", 1, p1},
	};
	PGresult *r[4];
	char state[6];
	size_t failed;

	if (db_pipeline(db, s, 4, r, &failed, state, err, errlen) < 0)
		return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ? -EAGAIN : -EIO;
	*ret_pos = strtoll(PQgetvalue(r[2], 0, 0), NULL, 10);
	PQclear(r[0]);
	PQclear(r[1]);
	PQclear(r[2]);
	*ret_failures = r[3];
	return 0;
}

static bool
had_failures(const PGresult *failures, const char *event_id)
{
	for (int i = 0; i < PQntuples(failures); i++)
		if (strcmp(PQgetvalue(failures, i, 0), event_id) == 0)
			return true;
	return false;
}

/* A handler failed in a batch without savepoints: run the batch again with them. */
#define BATCH_CAREFULLY 1

/*
 * One event of a batch: its dedupe record (a conflict: seen before,
 * skipped), then the handler. @careful: both after a savepoint, in the
 * same round trip, and a failure goes back to the savepoint and is counted
 * (and parked at the last); otherwise a failure returns BATCH_CAREFULLY.
 */
static int
batch_one(struct db *db, const struct inbox *in, const char *source, const struct es_event *ev,
	  const PGresult *failures, bool careful, enum inbox_outcome *ret, char *err,
	  size_t errlen)
{
	const char *seen[3] = {in->consumer, ev->event_id, source};
	const struct db_stmt s[2] = {
		{"SAVEPOINT handler", 0, NULL},
		{"INSERT INTO inbox_seen (consumer, id, source) VALUES ($1, $2, $3)"
		 " ON CONFLICT DO NOTHING RETURNING 1",
		 3, seen},
	};
	size_t first = careful ? 0 : 1, n = in->handler_dedupes ? 1 : 2;
	char herr[512] = "", state[6];
	bool fresh = true;
	PGresult *r[2];
	size_t failed;
	int rc, hrc;

	if (first < n) {
		if (db_pipeline(db, s + first, n - first, r, &failed, state, err, errlen) < 0)
			return -EIO;
		if (!in->handler_dedupes)
			fresh = PQntuples(r[n - first - 1]) == 1;
		for (size_t i = 0; i < n - first; i++)
			PQclear(r[i]);
	}
	if (!fresh) {
		/* Delivered again under another seq: only move past it. */
		*ret = INBOX_SKIPPED;
		return 0;
	}
	hrc = in->handler(db, source, ev, in->arg, herr, sizeof(herr));
	if (hrc != 0 && !careful)
		return BATCH_CAREFULLY;
	if (hrc == 0) {
		*ret = INBOX_APPLIED;
		return had_failures(failures, ev->event_id)
			       ? exec(db,
				      "DELETE FROM inbox_failures WHERE consumer = $1 AND "
				      "event_id = $2::uuid",
				      2, seen, err, errlen)
			       : 0;
	}
	if (herr[0] == '\0')
		snprintf(herr, sizeof(herr), "handler failed: %s", strerror(-hrc));
	rc = exec(db, "ROLLBACK TO SAVEPOINT handler", 0, NULL, err, errlen);
	if (rc == 0)
		rc = record_failure(db, in, source, ev, herr, ret, err, errlen);
	if (rc == 0)
		snprintf(err, errlen, "%s", herr);
	return rc;
}

int
inbox_apply_batch(struct db *db, const struct inbox *in, const char *source,
		  const struct es_event *ev, size_t n, enum inbox_outcome *ret, size_t *ret_n,
		  char *err, size_t errlen)
{
	PGresult *failures = NULL;
	bool careful = false;
	int64_t pos, start;
	size_t i;
	int rc;

	*ret_n = 0;
	if (in == NULL || !consumer_valid(in->consumer) || in->max_attempts < 1 ||
	    in->handler == NULL || source == NULL || ev == NULL || n == 0) {
		snprintf(err, errlen, "inbox: bad consumer, source or event");
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (ev[i].seq < 1) {
			snprintf(err, errlen, "inbox: bad consumer, source or event");
			return -EINVAL;
		}
again:
	rc = db_begin(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return rc;
	}
	rc = batch_start(db, in->consumer, source, &pos, &failures, err, errlen);
	if (rc < 0)
		goto out_rollback;
	start = pos;
	i = 0;
	/* The new events in one call: the skipped ones first, up to a gap. */
	if (!careful && in->batch_handler != NULL && in->handler_dedupes &&
	    PQntuples(failures) == 0) {
		char herr[512] = "";
		size_t first, m = 0;

		while (i < n && ev[i].seq <= pos)
			ret[i++] = INBOX_SKIPPED;
		first = i;
		while (first + m < n && ev[first + m].seq == pos + 1 + (int64_t)m)
			m++;
		if (m > 0) {
			if (in->batch_handler(db, source, &ev[first], m, in->arg, herr,
					      sizeof(herr)) != 0) {
				PQclear(failures);
				failures = NULL;
				rollback(db);
				careful = true;
				goto again;
			}
			for (size_t k = 0; k < m; k++)
				ret[first + k] = INBOX_APPLIED;
			pos = ev[first + m - 1].seq;
			i = first + m;
		}
	}
	for (; i < n && rc == 0; i++) {
		if (ev[i].seq <= pos) {
			ret[i] = INBOX_SKIPPED;
			continue;
		}
		if (ev[i].seq > pos + 1) {
			ret[i] = INBOX_GAP;
			i++;
			break;
		}
		rc = batch_one(db, in, source, &ev[i], failures, careful, &ret[i], err, errlen);
		if (rc == BATCH_CAREFULLY) {
			PQclear(failures);
			failures = NULL;
			rollback(db);
			careful = true;
			goto again;
		}
		if (rc == 0 && ret[i] != INBOX_FAILED)
			pos = ev[i].seq;
		/* A failure is recorded; what follows waits for the retry. */
		if (rc == 0 && ret[i] == INBOX_FAILED) {
			i++;
			break;
		}
	}
	if (rc == 0 && pos > start) {
		char seq[24];
		const char *params[3] = {in->consumer, source, seq};

		snprintf(seq, sizeof(seq), "%" PRId64, pos);
		rc = exec(db,
			  "UPDATE inbox_position SET seq = $3::bigint, updated_at = now()"
			  " WHERE consumer = $1 AND source = $2 AND seq < $3::bigint",
			  3, params, err, errlen);
	}
	PQclear(failures);
	failures = NULL;
	if (rc < 0)
		goto out_rollback;
	rc = db_commit(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return rc;
	}
	*ret_n = i;
	return 0;
out_rollback:
	PQclear(failures);
	rollback(db);
	return rc;
}

int
inbox_apply(struct db *db, const struct inbox *in, const char *source,
	    const struct es_event *ev, enum inbox_outcome *ret, char *err, size_t errlen)
{
	size_t n;

	if (ev == NULL) {
		snprintf(err, errlen, "inbox: bad consumer, source or event");
		return -EINVAL;
	}
	return inbox_apply_batch(db, in, source, ev, 1, ret, &n, err, errlen);
}

int
inbox_dead_letters(struct db *db, const char *consumer, bool parked_only, size_t max,
		   json_t **ret, char *err, size_t errlen)
{
	char limit[24];
	const char *params[3] = {consumer, parked_only ? "t" : "f", limit};
	json_error_t jerr;
	PGresult *res;
	json_t *list;

	snprintf(limit, sizeof(limit), "%zu", max);
	res = db_exec(db,
		      "SELECT coalesce(json_agg(d ORDER BY d.id DESC), '[]') FROM ("
		      " SELECT id, consumer, source, seq, event_id, type, payload, error,"
		      " attempts, parked_at, replayed_at, state FROM dead_letters"
		      " WHERE ($1::text IS NULL OR consumer = $1)"
		      " AND (NOT $2::boolean OR state = 'parked')"
		      " ORDER BY id DESC LIMIT $3::bigint) d",
		      3, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	list = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	PQclear(res);
	if (list == NULL) {
		snprintf(err, errlen, "dead letters: %s", jerr.text);
		return -EIO;
	}
	*ret = list;
	return 0;
}

int
inbox_dead_letters_parked(struct db *db, const char *consumer, int64_t *ret, char *err,
			  size_t errlen)
{
	const char *params[1] = {consumer};
	PGresult *res;

	res = db_exec(db,
		      "SELECT count(*) FROM dead_letters WHERE state = 'parked'"
		      " AND ($1::text IS NULL OR consumer = $1)",
		      1, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	*ret = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* The parked letter @id of @consumer, locked, decoded into @ev and @source. */
static int
load_letter(struct db *db, const char *consumer, const char *id_s, struct es_event *ev,
	    char *source, size_t source_len, char *err, size_t errlen)
{
	const char *params[2] = {id_s, consumer};
	json_error_t jerr;
	PGresult *res;
	json_t *j;
	int rc;

	res = db_exec(db,
		      "SELECT source, envelope FROM dead_letters WHERE id = $1::bigint"
		      " AND consumer = $2 AND state = 'parked' FOR UPDATE",
		      2, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	if (PQntuples(res) == 0) {
		snprintf(err, errlen, "dead letter %s of %s: none parked", id_s, consumer);
		PQclear(res);
		return -ENOENT;
	}
	snprintf(source, source_len, "%s", PQgetvalue(res, 0, 0));
	j = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
	PQclear(res);
	if (j == NULL) {
		snprintf(err, errlen, "dead letter %s: %s", id_s, jerr.text);
		return -EIO;
	}
	rc = es_event_from_json(j, ev, err, errlen);
	json_decref(j);
	return rc;
}

int
inbox_dead_letter_replay(struct db *db, const struct inbox *in, int64_t id, char *err,
			 size_t errlen)
{
	char id_s[24], source[OUTBOX_NAME_MAX], herr[512] = "";
	const char *params[2] = {id_s, herr};
	struct es_event ev = {0};
	int rc, hrc;

	if (in == NULL || !consumer_valid(in->consumer) || in->handler == NULL) {
		snprintf(err, errlen, "inbox: bad consumer");
		return -EINVAL;
	}
	snprintf(id_s, sizeof(id_s), "%" PRId64, id);
	rc = db_begin(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return rc;
	}
	rc = load_letter(db, in->consumer, id_s, &ev, source, sizeof(source), err, errlen);
	if (rc == 0)
		rc = exec(db, "SAVEPOINT handler", 0, NULL, err, errlen);
	if (rc < 0)
		goto out_rollback;
	hrc = in->handler(db, source, &ev, in->arg, herr, sizeof(herr));
	if (hrc == 0) {
		rc = exec(db,
			  "UPDATE dead_letters SET state = 'replayed', replayed_at = now()"
			  " WHERE id = $1::bigint",
			  1, params, err, errlen);
	} else {
		if (herr[0] == '\0')
			snprintf(herr, sizeof(herr), "handler failed: %s", strerror(-hrc));
		rc = exec(db, "ROLLBACK TO SAVEPOINT handler", 0, NULL, err, errlen);
		if (rc == 0)
			rc = exec(db,
				  "UPDATE dead_letters SET attempts = attempts + 1, error = $2"
				  " WHERE id = $1::bigint",
				  2, params, err, errlen);
	}
	if (rc < 0)
		goto out_rollback;
	rc = db_commit(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
	} else if (hrc != 0) {
		snprintf(err, errlen, "%s", herr);
		rc = hrc < 0 ? hrc : -EIO;
	}
	json_decref(ev.payload);
	return rc;
out_rollback:
	rollback(db);
	json_decref(ev.payload);
	return rc;
}

int
inbox_prune(struct db *db, unsigned retention_s, size_t max, size_t *ret_n, char *err,
	    size_t errlen)
{
	char r[24], m[24];
	const char *params[] = {r, m};
	PGresult *res;

	*ret_n = 0;
	snprintf(r, sizeof(r), "%u", retention_s);
	snprintf(m, sizeof(m), "%zu", max);
	res = db_exec(db,
		      "DELETE FROM inbox_seen WHERE ctid = ANY (ARRAY(SELECT ctid FROM inbox_seen"
		      " WHERE seen_at < now() - make_interval(secs => $1::int) LIMIT $2::int))",
		      2, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	*ret_n = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}
