/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>

#include "bss/core/outbox.h"
#include "bss/core/principal.h"

void
outbox_uuid4(char out[37])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* RFC 4122 §4.4: version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* variant 10 */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

bool
outbox_uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

bool
outbox_type_valid(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return false;
	for (n = 0; s[n]; n++) {
		if (n >= OUTBOX_NAME_MAX)
			return false;
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-' || s[n] == '.'))
			return false;
	}
	return true;
}

/*
 * The columns are domain types (core migration 4): PostgreSQL's max()
 * over one would not use the index, hence ORDER BY ... DESC LIMIT 1.
 *
 * One statement: insert the event only when the aggregate is at
 * @expected_version. No row: someone else wrote that aggregate first. Two
 * writers that both passed the check collide on the unique version: the
 * second waits for the first's commit, then fails (23505).
 */
static const char append_sql[] =
	"INSERT INTO outbox (event_id, type, schema_version, aggregate_type,"
	"  aggregate_id, aggregate_version, payload, traceparent)"
	" SELECT $4::uuid, $5, $6::integer, $1::text, $2::text, $3::bigint + 1, $7::jsonb, $8"
	" WHERE coalesce((SELECT aggregate_version FROM outbox WHERE aggregate_type = $1::text"
	"                 AND aggregate_id = $2::text ORDER BY aggregate_version DESC LIMIT 1),"
	"                0) = $3::bigint"
	" RETURNING pos";

/*
 * The same append for a pipeline that ends with COMMIT: it must FAIL, not
 * return no row, when the aggregate is not at $3 (nothing can look at the
 * row count before the COMMIT runs). The version is then NULL, refused by
 * the column's NOT NULL (SQLSTATE 23502), which rolls the transaction back.
 */
static const char append_checked_sql[] =
	"INSERT INTO outbox (event_id, type, schema_version, aggregate_type,"
	"  aggregate_id, aggregate_version, payload, traceparent)"
	" SELECT $4::uuid, $5, $6::integer, $1::text, $2::text,"
	"  CASE WHEN coalesce((SELECT aggregate_version FROM outbox WHERE aggregate_type = $1::text"
	"                      AND aggregate_id = $2::text ORDER BY aggregate_version DESC"
	"                      LIMIT 1), 0) = $3::bigint"
	"  THEN $3::bigint + 1 END, $7::jsonb, $8";

static bool
event_valid(const struct outbox_event *e)
{
	return outbox_type_valid(e->aggregate_type) && e->aggregate_id != NULL &&
	       e->aggregate_id[0] != '\0' && strlen(e->aggregate_id) < OUTBOX_ID_MAX &&
	       e->expected_version >= 0 && e->expected_version != INT64_MAX &&
	       outbox_type_valid(e->type) && e->schema_version >= 1 &&
	       json_is_object(e->payload) &&
	       (e->traceparent == NULL || e->traceparent[0] == '\0' ||
		cuco_traceparent_valid(e->traceparent));
}

/* Text parameters of one event's append. */
struct append_params {
	char expected[24], sv[16], event_id[37];
	char *json;
	const char *p[8];
};

int
outbox_commit(struct db *db, const struct db_stmt *pre, size_t npre,
	      const struct outbox_event *ev, size_t n, size_t *ret_failed, char ret_state[6],
	      char *err, size_t errlen)
{
	struct append_params ap[OUTBOX_COMMIT_MAX];
	struct db_stmt s[OUTBOX_COMMIT_MAX + 1];
	PGresult *res[OUTBOX_COMMIT_MAX + 1];
	size_t failed = 0, i, total = npre + n;
	char state[6] = "";
	int rc;

	if (ret_state != NULL)
		ret_state[0] = '\0';
	if (db == NULL || total > OUTBOX_COMMIT_MAX) {
		snprintf(err, errlen, "outbox: at most %d statements in one commit",
			 OUTBOX_COMMIT_MAX);
		if (db != NULL)
			db_rollback(db);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (!event_valid(&ev[i])) {
			snprintf(err, errlen, "outbox: bad event %zu (%.60s)", i,
				 ev[i].type ? ev[i].type : "");
			db_rollback(db);
			return -EINVAL;
		}
	memcpy(s, pre, npre * sizeof(*s));
	rc = 0;
	for (i = 0; i < n; i++) {
		struct append_params *a = &ap[i];

		a->json = json_dumps(ev[i].payload, JSON_COMPACT);
		if (a->json == NULL) {
			snprintf(err, errlen, "outbox: payload cannot be encoded");
			rc = -EINVAL;
			break;
		}
		outbox_uuid4(a->event_id);
		snprintf(a->expected, sizeof(a->expected), "%" PRId64, ev[i].expected_version);
		snprintf(a->sv, sizeof(a->sv), "%d", ev[i].schema_version);
		a->p[0] = ev[i].aggregate_type;
		a->p[1] = ev[i].aggregate_id;
		a->p[2] = a->expected;
		a->p[3] = a->event_id;
		a->p[4] = ev[i].type;
		a->p[5] = a->sv;
		a->p[6] = a->json;
		a->p[7] = ev[i].traceparent ? ev[i].traceparent : "";
		s[npre + i] = (struct db_stmt){append_checked_sql, 8, a->p};
	}
	if (rc == 0) {
		s[total] = (struct db_stmt){"COMMIT", 0, NULL};
		rc = db_pipeline(db, s, total + 1, res, &failed, state, err, errlen);
	}
	n = i;
	for (i = 0; i < n; i++)
		free(ap[i].json);
	if (rc == 0) {
		/* COMMIT of a transaction that had failed earlier "succeeds" by rolling back. */
		if (strcmp(PQcmdStatus(res[total]), "COMMIT") != 0) {
			snprintf(err, errlen,
				 "outbox: the transaction had failed and was rolled back");
			failed = total;
			rc = -EIO;
		}
		for (i = 0; i <= total; i++)
			PQclear(res[i]);
		if (rc == 0) {
			if (n > 0)
				outbox_wake(db_schema(db));
			return 0;
		}
	} else if (failed >= npre && failed < total &&
		   (strcmp(state, "23502") == 0 || strcmp(state, "23505") == 0)) {
		snprintf(err, errlen, "outbox: %s %s is no longer at version %" PRId64,
			 ev[failed - npre].aggregate_type, ev[failed - npre].aggregate_id,
			 ev[failed - npre].expected_version);
		rc = -EAGAIN;
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		rc = -EAGAIN;
	}
	if (ret_failed != NULL)
		*ret_failed = failed;
	if (ret_state != NULL)
		memcpy(ret_state, state, sizeof(state));
	db_rollback(db);
	return rc;
}

int
outbox_append(struct db *db, const char *aggregate_type, const char *aggregate_id,
	      int64_t expected_version, const char *type, int schema_version, json_t *payload,
	      const char *traceparent, int64_t *ret_pos, char ret_event_id[37], char *err,
	      size_t errlen)
{
	char expected[24], sv[16], event_id[37], state[6];
	const char *params[8];
	PGresult *res;
	char *json;
	int rc = 0;

	if (db == NULL || !outbox_type_valid(aggregate_type) || aggregate_id == NULL ||
	    aggregate_id[0] == '\0' || strlen(aggregate_id) >= OUTBOX_ID_MAX ||
	    expected_version < 0 || expected_version == INT64_MAX || !outbox_type_valid(type) ||
	    schema_version < 1 || !json_is_object(payload)) {
		snprintf(err, errlen,
			 "outbox: bad event (aggregate type and type [A-Za-z0-9_.-]{1,%d}, "
			 "aggregate id 1..%d bytes, expected version >= 0, schema version >= 1, "
			 "payload an object)",
			 OUTBOX_NAME_MAX - 1, OUTBOX_ID_MAX - 1);
		return -EINVAL;
	}
	if (traceparent == NULL)
		traceparent = "";
	if (traceparent[0] != '\0' && !cuco_traceparent_valid(traceparent)) {
		snprintf(err, errlen, "outbox: traceparent '%.60s' is not a W3C traceparent",
			 traceparent);
		return -EINVAL;
	}
	json = json_dumps(payload, JSON_COMPACT);
	if (json == NULL) {
		snprintf(err, errlen, "outbox: payload cannot be encoded");
		return -EINVAL;
	}
	outbox_uuid4(event_id);
	snprintf(expected, sizeof(expected), "%" PRId64, expected_version);
	snprintf(sv, sizeof(sv), "%d", schema_version);
	params[0] = aggregate_type;
	params[1] = aggregate_id;
	params[2] = expected;
	params[3] = event_id;
	params[4] = type;
	params[5] = sv;
	params[6] = json;
	params[7] = traceparent;
	res = db_exec(db, append_sql, 8, params, err, errlen, state);
	if (res == NULL) {
		rc = strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
				     strcmp(state, "40P01") == 0
			     ? -EAGAIN
			     : -EIO;
		goto out_free;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "outbox: %s %s is no longer at version %" PRId64,
			 aggregate_type, aggregate_id, expected_version);
		rc = -EAGAIN;
		goto out_clear;
	}
	db_appended(db);
	if (ret_pos != NULL)
		*ret_pos = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (ret_event_id != NULL)
		memcpy(ret_event_id, event_id, sizeof(event_id));
out_clear:
	PQclear(res);
out_free:
	free(json);
	return rc;
}

/*
 * Number committed events without a seq, in pos order, after the counter's
 * row is locked by a statement of its own: a concurrent numbering waits
 * there, and this statement's snapshot, taken after, sees what it numbered.
 */
static const char number_sql[] =
	"WITH todo AS (SELECT pos, row_number() OVER (ORDER BY pos) AS rn FROM outbox"
	"              WHERE seq IS NULL ORDER BY pos LIMIT $1::bigint),"
	" c AS (SELECT last FROM outbox_seq),"
	" done AS (UPDATE outbox o SET seq = c.last + todo.rn FROM todo, c"
	"          WHERE o.pos = todo.pos RETURNING o.seq)"
	" UPDATE outbox_seq SET last = (SELECT max(seq) FROM done)"
	" WHERE EXISTS (SELECT 1 FROM done)"
	" RETURNING (SELECT count(*) FROM done)";

int
outbox_number(struct db *db, size_t max, size_t *ret_n, char *err, size_t errlen)
{
	char lim[24], state[6];
	const char *params[] = {lim};
	PGresult *res;

	*ret_n = 0;
	snprintf(lim, sizeof(lim), "%zu", max);
	/* Nothing to number (most wakeups of an idle relay): no transaction, no flush. */
	res = db_exec(db, "SELECT EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL)", 0, NULL, err,
		      errlen, state);
	if (res == NULL)
		return -EIO;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	if (db_begin(db) < 0) {
		snprintf(err, errlen, "outbox: numbering: %s", db_error(db));
		return -EIO;
	}
	res = db_exec(db, "SELECT last FROM outbox_seq FOR UPDATE", 0, NULL, err, errlen, state);
	if (res == NULL) {
		db_rollback(db);
		return -EIO;
	}
	PQclear(res);
	res = db_exec(db, number_sql, 1, params, err, errlen, state);
	if (res == NULL) {
		db_rollback(db);
		return -EIO;
	}
	/* No row: another numbering got there first. */
	*ret_n = PQntuples(res) ? (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (db_commit(db) < 0) {
		snprintf(err, errlen, "outbox: numbering: %s", db_error(db));
		*ret_n = 0;
		return -EIO;
	}
	return 0;
}

/* ---- in-process wakeups of the relays ------------------------------------------------ */

#define WAKE_MAX 32

static struct {
	pthread_mutex_t lock;
	size_t n;
	struct {
		char schema[64];
		int fd;
	} e[WAKE_MAX];
} wakes = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
wake_find(const char *schema, bool create)
{
	int fd = -ENOENT;

	pthread_mutex_lock(&wakes.lock);
	for (size_t i = 0; i < wakes.n; i++)
		if (strcmp(wakes.e[i].schema, schema) == 0)
			fd = wakes.e[i].fd;
	if (fd == -ENOENT && create) {
		if (wakes.n == WAKE_MAX || strlen(schema) >= sizeof(wakes.e[0].schema)) {
			fd = -ENOSPC;
		} else {
			fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (fd < 0) {
				fd = -errno;
			} else {
				snprintf(wakes.e[wakes.n].schema, sizeof(wakes.e[0].schema), "%s",
					 schema);
				wakes.e[wakes.n++].fd = fd;
			}
		}
	}
	pthread_mutex_unlock(&wakes.lock);
	return fd;
}

int
outbox_wake_fd(const char *schema)
{
	return schema != NULL && schema[0] ? wake_find(schema, true) : -EINVAL;
}

void
outbox_wake(const char *schema)
{
	uint64_t one = 1;
	int fd = schema != NULL && schema[0] ? wake_find(schema, false) : -ENOENT;

	/* A full counter (never, in practice) is a wakeup pending anyway. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}
