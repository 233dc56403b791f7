/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The change journal: the security domain's consumer of every domain's
 * events (see migrations/002_change_journal.sql). Its rows are its dedupe
 * records (event_id is unique): an event delivered again adds nothing, and
 * the consumer writes no inbox_seen row (bus_consumer.handler_dedupes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/security/security.h"
#include "bss/core/eventstore.h"
#include "bss/security/model.h"
#include "bss/security/service.h"

int
security_journal_apply(struct db *db, const char *source, const struct es_event *ev, void *arg,
		       char *err, size_t errlen)
{
	return security_journal_apply_batch(db, source, ev, 1, arg, err, errlen);
}

int
security_journal_list(struct security *sec, const struct cuco_principal *p, unsigned limit,
		      unsigned offset, json_t **ret, struct security_error *err)
{
	char l[16], o[16];
	const char *params[2] = {l, o};
	json_t *items;
	PGresult *res;
	int64_t total;
	int n;

	if (!security_roles_may(p->roles, "audit.read"))
		return sec_deny(sec, p, "security.journal.list", "", err);
	snprintf(l, sizeof(l), "%u", limit ? limit : 100);
	snprintf(o, sizeof(o), "%u", offset);
	res = db_exec(sec->db,
		      "SELECT source, seq, event_id, type, schema_version, aggregate_type, "
		      "aggregate_id, aggregate_version, traceparent, "
		      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
		      "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
		      "count(*) OVER () FROM change_journal "
		      "ORDER BY applied_at, source, seq LIMIT $1 OFFSET $2",
		      2, params, sec->dberr, sizeof(sec->dberr), NULL);
	if (res == NULL)
		return security_fail(err, -EIO, "internal", "", "change journal: %s", sec->dberr);
	items = json_array();
	total = 0;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		total = strtoll(PQgetvalue(res, i, 11), NULL, 10);
		json_array_append_new(
			items,
			json_pack("{s:s, s:I, s:s, s:s, s:i, s:s, s:s, s:I, s:s, s:s, s:s}", "source",
				  PQgetvalue(res, i, 0), "seq",
				  (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10), "event_id",
				  PQgetvalue(res, i, 2), "type", PQgetvalue(res, i, 3),
				  "schema_version", atoi(PQgetvalue(res, i, 4)), "aggregate_type",
				  PQgetvalue(res, i, 5), "aggregate_id", PQgetvalue(res, i, 6),
				  "aggregate_version",
				  (json_int_t)strtoll(PQgetvalue(res, i, 7), NULL, 10),
				  "traceparent", PQgetvalue(res, i, 8), "created_at",
				  PQgetvalue(res, i, 9), "applied_at", PQgetvalue(res, i, 10)));
	}
	PQclear(res);
	if (n == 0 && offset > 0) {
		/* Past the end: the total still counts. */
		res = db_exec(sec->db, "SELECT count(*) FROM change_journal", 0, NULL, sec->dberr,
			      sizeof(sec->dberr), NULL);
		if (res != NULL) {
			total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			PQclear(res);
		}
	}
	*ret = json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
	return 0;
}

int
security_journal_apply_batch(struct db *db, const char *source, const struct es_event *ev,
			     size_t n, void *arg, char *err, size_t errlen)
{
	const char *p[10];
	struct db_arrays a;
	PGresult *res;
	int rc;

	(void)arg;
	rc = db_arrays_open(&a, 10);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char seq[24], sv[16], av[24];
		const char *v[10] = {source, seq, ev[i].event_id, ev[i].type, sv,
				     ev[i].aggregate_type, ev[i].aggregate_id, av,
				     ev[i].traceparent, ev[i].time};

		snprintf(seq, sizeof(seq), "%" PRId64, ev[i].seq);
		snprintf(sv, sizeof(sv), "%d", ev[i].schema_version);
		snprintf(av, sizeof(av), "%" PRId64, ev[i].aggregate_version);
		db_arrays_row(&a, v);
	}
	if (rc == 0)
		rc = db_arrays_close(&a, p);
	if (rc == 0) {
		res = db_exec(db,
			      "INSERT INTO change_journal (source, seq, event_id, type, "
			      "schema_version, aggregate_type, aggregate_id, aggregate_version, "
			      "traceparent, created_at) SELECT * FROM unnest($1::text[], "
			      "$2::bigint[], $3::uuid[], $4::text[], $5::integer[], $6::text[], "
			      "$7::text[], $8::bigint[], $9::text[], $10::timestamptz[]) ON CONFLICT "
			      "DO NOTHING",
			      10, p, err, errlen, NULL);
		if (res == NULL)
			rc = -EIO;
		PQclear(res);
	} else {
		snprintf(err, errlen, "journal: out of memory");
	}
	db_arrays_free(&a);
	return rc;
}
