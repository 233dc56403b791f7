/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/eventstore.h"
#include "bss/core/principal.h"

#define UPCAST_CHAIN_MAX 64 /* no event goes through more versions than this */

struct upcaster {
	char type[OUTBOX_NAME_MAX];
	int from_version;
	es_upcast_fn fn;
	void *arg;
};

struct es_upcasters {
	struct upcaster *v;
	size_t n;
};

struct es_upcasters *
es_upcasters_new(void)
{
	return calloc(1, sizeof(struct es_upcasters));
}

struct es_upcasters *
es_upcasters_free(struct es_upcasters *u)
{
	if (u == NULL)
		return NULL;
	free(u->v);
	free(u);
	return NULL;
}

static const struct upcaster *
upcaster_find(const struct es_upcasters *u, const char *type, int version)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].from_version == version && strcmp(u->v[i].type, type) == 0)
			return &u->v[i];
	return NULL;
}

int
es_upcaster_add(struct es_upcasters *u, const char *type, int from_version, es_upcast_fn fn,
		void *arg)
{
	struct upcaster *v;

	if (u == NULL || !outbox_type_valid(type) || from_version < 1 || fn == NULL)
		return -EINVAL;
	if (upcaster_find(u, type, from_version) != NULL)
		return -EEXIST;
	v = reallocarray(u->v, u->n + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	u->v = v;
	snprintf(v[u->n].type, sizeof(v[u->n].type), "%s", type);
	v[u->n].from_version = from_version;
	v[u->n].fn = fn;
	v[u->n].arg = arg;
	u->n++;
	return 0;
}

int
es_upcast(const struct es_upcasters *u, struct es_event *ev, char *err, size_t errlen)
{
	const struct upcaster *up;
	int rc;

	if (u == NULL)
		return 0;
	for (unsigned steps = 0; (up = upcaster_find(u, ev->type, ev->schema_version)); steps++) {
		if (steps == UPCAST_CHAIN_MAX) {
			snprintf(err, errlen, "event %s: more than %d upcasts", ev->type,
				 UPCAST_CHAIN_MAX);
			return -ELOOP;
		}
		rc = up->fn(ev->payload, up->arg);
		if (rc != 0) {
			snprintf(err, errlen, "event %s seq %" PRId64 ": upcasting version %d failed",
				 ev->type, ev->seq, ev->schema_version);
			return rc < 0 ? rc : -EINVAL;
		}
		ev->schema_version++;
	}
	return 0;
}

void
es_events_free(struct es_event *ev, size_t n)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		json_decref(ev[i].payload);
	free(ev);
}

/* The columns every read selects, in the order row_to_event() expects. */
#define EVENT_COLUMNS                                                                              \
	"seq, event_id, type, schema_version, aggregate_type, aggregate_id, aggregate_version,"  \
	" payload, traceparent,"                                                                \
	" to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static int
row_to_event(PGresult *res, int row, struct es_event *ev, char *err, size_t errlen)
{
	json_error_t jerr;

	memset(ev, 0, sizeof(*ev));
	ev->seq = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	snprintf(ev->event_id, sizeof(ev->event_id), "%s", PQgetvalue(res, row, 1));
	snprintf(ev->type, sizeof(ev->type), "%s", PQgetvalue(res, row, 2));
	ev->schema_version = atoi(PQgetvalue(res, row, 3));
	snprintf(ev->aggregate_type, sizeof(ev->aggregate_type), "%s", PQgetvalue(res, row, 4));
	snprintf(ev->aggregate_id, sizeof(ev->aggregate_id), "%s", PQgetvalue(res, row, 5));
	ev->aggregate_version = strtoll(PQgetvalue(res, row, 6), NULL, 10);
	snprintf(ev->traceparent, sizeof(ev->traceparent), "%s", PQgetvalue(res, row, 8));
	snprintf(ev->time, sizeof(ev->time), "%s", PQgetvalue(res, row, 9));
	ev->payload = json_loads(PQgetvalue(res, row, 7), 0, &jerr);
	if (ev->payload == NULL) {
		snprintf(err, errlen, "event seq %" PRId64 ": payload: %s", ev->seq, jerr.text);
		return -EIO;
	}
	return 0;
}

/* Run a read of EVENT_COLUMNS and turn its rows into upcast events. */
static int
read_events(struct db *db, const struct es_upcasters *u, const char *sql, int nparams,
	    const char *const *params, struct es_event **ret, size_t *ret_n, char *err,
	    size_t errlen)
{
	struct es_event *ev = NULL;
	PGresult *res;
	size_t n, i;
	int rc = 0;

	res = db_exec(db, sql, nparams, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	n = (size_t)PQntuples(res);
	if (n > 0) {
		ev = calloc(n, sizeof(*ev));
		if (ev == NULL) {
			snprintf(err, errlen, "out of memory for %zu events", n);
			rc = -ENOMEM;
			goto out_clear;
		}
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = row_to_event(res, (int)i, &ev[i], err, errlen);
		if (rc == 0)
			rc = es_upcast(u, &ev[i], err, errlen);
	}
	if (rc < 0) {
		es_events_free(ev, i);
		goto out_clear;
	}
	*ret = ev;
	*ret_n = n;
out_clear:
	PQclear(res);
	return rc;
}

int
es_read_aggregate(struct db *db, const struct es_upcasters *u, const char *aggregate_type,
		  const char *aggregate_id, int64_t after_version, size_t max,
		  struct es_event **ret, size_t *ret_n, char *err, size_t errlen)
{
	char after[24], limit[24];
	const char *params[4] = {aggregate_type, aggregate_id, after, limit};

	if (!outbox_type_valid(aggregate_type) || aggregate_id == NULL || after_version < 0) {
		snprintf(err, errlen, "bad aggregate type, id or version");
		return -EINVAL;
	}
	snprintf(after, sizeof(after), "%" PRId64, after_version);
	if (max > 0)
		snprintf(limit, sizeof(limit), "%zu", max);
	else
		params[3] = NULL; /* LIMIT NULL: all */
	return read_events(db, u,
			   "SELECT " EVENT_COLUMNS " FROM outbox"
			   " WHERE aggregate_type = $1 AND aggregate_id = $2"
			   " AND aggregate_version > $3::bigint"
			   " ORDER BY aggregate_version LIMIT $4::bigint",
			   4, params, ret, ret_n, err, errlen);
}

int
es_read_range(struct db *db, const struct es_upcasters *u, int64_t after_seq, size_t max,
	      struct es_event **ret, size_t *ret_n, char *err, size_t errlen)
{
	char after[24], limit[24];
	const char *params[2] = {after, limit};

	if (after_seq < 0 || max < 1 || max > 10000) {
		snprintf(err, errlen, "bad range: after %" PRId64 ", at most %zu (1..10000)",
			 after_seq, max);
		return -EINVAL;
	}
	snprintf(after, sizeof(after), "%" PRId64, after_seq);
	snprintf(limit, sizeof(limit), "%zu", max);
	return read_events(db, u,
			   "SELECT " EVENT_COLUMNS " FROM outbox WHERE seq > $1::bigint"
			   " ORDER BY seq LIMIT $2::bigint",
			   2, params, ret, ret_n, err, errlen);
}

int
es_last_seq(struct db *db, int64_t *ret, char *err, size_t errlen)
{
	/* Not max(seq): over a domain type it would not use the index. */
	PGresult *res = db_exec(db,
				"SELECT coalesce((SELECT seq FROM outbox WHERE seq IS NOT NULL"
				" ORDER BY seq DESC LIMIT 1), 0)",
				0, NULL, err, errlen, NULL);

	if (res == NULL)
		return -EIO;
	*ret = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

int
es_snapshot_save(struct db *db, const char *aggregate_type, const char *aggregate_id,
		 int64_t version, int schema_version, json_t *state, char *err, size_t errlen)
{
	char v[24], sv[16];
	const char *params[5];
	PGresult *res;
	char *json;

	if (!outbox_type_valid(aggregate_type) || aggregate_id == NULL ||
	    aggregate_id[0] == '\0' || strlen(aggregate_id) >= OUTBOX_ID_MAX || version < 1 ||
	    schema_version < 1 || state == NULL) {
		snprintf(err, errlen, "snapshot: bad aggregate, version or state");
		return -EINVAL;
	}
	json = json_dumps(state, JSON_COMPACT | JSON_ENCODE_ANY);
	if (json == NULL) {
		snprintf(err, errlen, "snapshot: state cannot be encoded");
		return -EINVAL;
	}
	snprintf(v, sizeof(v), "%" PRId64, version);
	snprintf(sv, sizeof(sv), "%d", schema_version);
	params[0] = aggregate_type;
	params[1] = aggregate_id;
	params[2] = v;
	params[3] = sv;
	params[4] = json;
	res = db_exec(db,
		      "INSERT INTO snapshots (aggregate_type, aggregate_id, aggregate_version,"
		      " schema_version, state) VALUES ($1, $2, $3::bigint, $4::integer, $5::jsonb)"
		      " ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE"
		      " SET aggregate_version = excluded.aggregate_version,"
		      " schema_version = excluded.schema_version, state = excluded.state,"
		      " taken_at = now()"
		      " WHERE snapshots.aggregate_version < excluded.aggregate_version",
		      5, params, err, errlen, NULL);
	free(json);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
}

int
es_snapshot_load(struct db *db, const char *aggregate_type, const char *aggregate_id,
		 int64_t *ret_version, int *ret_schema_version, json_t **ret_state, char *err,
		 size_t errlen)
{
	const char *params[2] = {aggregate_type, aggregate_id};
	json_error_t jerr;
	PGresult *res;
	json_t *state;
	int rc = 0;

	if (!outbox_type_valid(aggregate_type) || aggregate_id == NULL) {
		snprintf(err, errlen, "snapshot: bad aggregate");
		return -EINVAL;
	}
	res = db_exec(db,
		      "SELECT aggregate_version, schema_version, state FROM snapshots"
		      " WHERE aggregate_type = $1 AND aggregate_id = $2",
		      2, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	if (PQntuples(res) == 0) {
		rc = -ENOENT;
		goto out_clear;
	}
	state = json_loads(PQgetvalue(res, 0, 2), JSON_DECODE_ANY, &jerr);
	if (state == NULL) {
		snprintf(err, errlen, "snapshot %s %s: %s", aggregate_type, aggregate_id, jerr.text);
		rc = -EIO;
		goto out_clear;
	}
	*ret_version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (ret_schema_version != NULL)
		*ret_schema_version = atoi(PQgetvalue(res, 0, 1));
	*ret_state = state;
out_clear:
	PQclear(res);
	return rc;
}

json_t *
es_event_to_json(const struct es_event *ev, const char *domain)
{
	json_t *j = json_pack("{s:I, s:s, s:s, s:i, s:s, s:s, s:I, s:O, s:s, s:s}", "seq",
			      (json_int_t)ev->seq, "event_id", ev->event_id, "type", ev->type,
			      "schema_version", ev->schema_version, "aggregate_type",
			      ev->aggregate_type, "aggregate_id", ev->aggregate_id,
			      "aggregate_version", (json_int_t)ev->aggregate_version, "payload",
			      ev->payload, "traceparent", ev->traceparent, "time", ev->time);

	if (j != NULL && domain != NULL && json_object_set_new(j, "domain", json_string(domain))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string field of at most @size-1 bytes (and at least one unless @may_be_empty). */
static int
get_string(const json_t *j, const char *field, char *dst, size_t size, bool may_be_empty,
	   char *err, size_t errlen)
{
	const json_t *v = json_object_get(j, field);
	size_t n;

	if (!json_is_string(v)) {
		snprintf(err, errlen, "envelope: %s: a string is required", field);
		return -EINVAL;
	}
	n = json_string_length(v);
	if (n >= size || (n == 0 && !may_be_empty) || strlen(json_string_value(v)) != n) {
		snprintf(err, errlen, "envelope: %s: %s1..%zu bytes without NUL allowed", field,
			 may_be_empty ? "0 or " : "", size - 1);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

static int
get_int(const json_t *j, const char *field, int64_t min, int64_t max, int64_t *ret, char *err,
	size_t errlen)
{
	const json_t *v = json_object_get(j, field);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "envelope: %s: an integer %" PRId64 "..%" PRId64 " is required",
			 field, min, max);
		return -EINVAL;
	}
	*ret = json_integer_value(v);
	return 0;
}

int
es_event_from_json(const json_t *j, struct es_event *ev, char *err, size_t errlen)
{
	int64_t sv;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "envelope: an object is required");
		return -EINVAL;
	}
	if ((rc = get_int(j, "seq", 1, INT64_MAX, &ev->seq, err, errlen)) < 0 ||
	    (rc = get_string(j, "event_id", ev->event_id, sizeof(ev->event_id), false, err,
			     errlen)) < 0 ||
	    (rc = get_string(j, "type", ev->type, sizeof(ev->type), false, err, errlen)) < 0 ||
	    (rc = get_int(j, "schema_version", 1, INT32_MAX, &sv, err, errlen)) < 0 ||
	    (rc = get_string(j, "aggregate_type", ev->aggregate_type, sizeof(ev->aggregate_type),
			     false, err, errlen)) < 0 ||
	    (rc = get_string(j, "aggregate_id", ev->aggregate_id, sizeof(ev->aggregate_id), false,
			     err, errlen)) < 0 ||
	    (rc = get_int(j, "aggregate_version", 1, INT64_MAX, &ev->aggregate_version, err,
			  errlen)) < 0 ||
	    (rc = get_string(j, "traceparent", ev->traceparent, sizeof(ev->traceparent), true, err,
			     errlen)) < 0 ||
	    (rc = get_string(j, "time", ev->time, sizeof(ev->time), false, err, errlen)) < 0)
		return rc;
	ev->schema_version = (int)sv;
	if (!outbox_uuid_valid(ev->event_id)) {
		snprintf(err, errlen, "envelope: event_id: a lowercase UUID is required");
		return -EINVAL;
	}
	if (!outbox_type_valid(ev->type) || !outbox_type_valid(ev->aggregate_type)) {
		snprintf(err, errlen, "envelope: type, aggregate_type: [A-Za-z0-9_.-]{1,%d} allowed",
			 OUTBOX_NAME_MAX - 1);
		return -EINVAL;
	}
	if (ev->traceparent[0] != '\0' && !cuco_traceparent_valid(ev->traceparent)) {
		snprintf(err, errlen, "envelope: traceparent: a W3C traceparent is required");
		return -EINVAL;
	}
	if (!json_is_object(json_object_get(j, "payload"))) {
		snprintf(err, errlen, "envelope: payload: an object is required");
		return -EINVAL;
	}
	ev->payload = json_incref(json_object_get(j, "payload"));
	return 0;
}
