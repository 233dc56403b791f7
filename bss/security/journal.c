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
	char seq[24], sv[16], av[24];
	const char *p[10] = {source, seq, ev->event_id, ev->type, sv, ev->aggregate_type,
			     ev->aggregate_id, av, ev->traceparent, ev->time};
	PGresult *res;

	snprintf(seq, sizeof(seq), "%" PRId64, ev->seq);
	snprintf(sv, sizeof(sv), "%d", ev->schema_version);
	snprintf(av, sizeof(av), "%" PRId64, ev->aggregate_version);
	res = db_exec(db,
		      "INSERT INTO change_journal (source, seq, event_id, type, schema_version, "
		      "aggregate_type, aggregate_id, aggregate_version, traceparent, created_at) "
		      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
		      10, p, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
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
	/* Ten arrays, one element an event, from one stream each. */
	char *buf[10] = {NULL};
	size_t len[10];
	FILE *f[10];
	PGresult *res;
	int rc = 0;

	(void)arg;
	for (int c = 0; c < 10; c++) {
		f[c] = open_memstream(&buf[c], &len[c]);
		if (f[c] == NULL) {
			while (c-- > 0)
				fclose(f[c]);
			for (int k = 0; k < 10; k++)
				free(buf[k]);
			snprintf(err, errlen, "journal: out of memory");
			return -ENOMEM;
		}
		fputc('{', f[c]);
	}
	for (size_t i = 0; i < n; i++) {
		char seq[24], sv[16], av[24];
		const char *v[10] = {source, seq, ev[i].event_id, ev[i].type, sv,
				     ev[i].aggregate_type, ev[i].aggregate_id, av,
				     ev[i].traceparent, ev[i].time};

		snprintf(seq, sizeof(seq), "%" PRId64, ev[i].seq);
		snprintf(sv, sizeof(sv), "%d", ev[i].schema_version);
		snprintf(av, sizeof(av), "%" PRId64, ev[i].aggregate_version);
		for (int c = 0; c < 10; c++)
			db_array_element(f[c], v[c], i == 0);
	}
	for (int c = 0; c < 10; c++) {
		fputc('}', f[c]);
		if (fclose(f[c]) != 0)
			rc = -ENOMEM;
	}
	if (rc == 0) {
		const char *p[10] = {buf[0], buf[1], buf[2], buf[3], buf[4],
				     buf[5], buf[6], buf[7], buf[8], buf[9]};

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
	for (int c = 0; c < 10; c++)
		free(buf[c]);
	return rc;
}
