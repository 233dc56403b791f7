/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Usage in PostgreSQL: the collector's transaction (deltas, positions,
 * boots), the usage sources kept from the network domain's events, and the
 * TMF635 reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "bss/billing/usage.h"
#include "bss/core/db.h"
#include "bss/core/eventstore.h"

/* ---- a growable text buffer for the array parameters -------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p != NULL && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void
sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

static void
sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

/* ---- the collector's transaction ---------------------------------------------------- */

/*
 * Writers of usage hold this lock until they commit; a feed takes it before
 * it reads, so no id below one it sees can still be uncommitted (ids are
 * handed out at insert, not at commit). docs/usage.md, "Feeds".
 */
#define USAGE_WRITE_LOCK "SELECT pg_advisory_xact_lock(7368272617)"

#define COLS 10 /* of a usage row */

struct apply_ctx {
	struct db *db;
	const char *dataplane;
	char *err;
	size_t errlen;
	struct usage_apply_stats *st;
	/* rows: service, seq, start ms, end ms, 4 counters; positions: the same plus final */
	struct sbuf r_id, r_start, r_up, r_down, r_pup, r_pdown;
	struct sbuf p_id, p_up, p_down, p_pup, p_pdown, p_final;
	struct sbuf ids;
	size_t n_rows, n_pos;
};

/* @n statements in one round trip; results in @ret (NULL: none kept). */
static int
pipe_ok(struct apply_ctx *a, const struct db_stmt *stmts, size_t n, PGresult **ret)
{
	char state[6];
	size_t failed;

	return db_pipeline(a->db, stmts, n, ret, &failed, state, a->err, a->errlen) < 0 ? -EIO : 0;
}

static int64_t
col_i64(PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The boot's row (made at its first message) and its start in ms. */
#define BOOT_TOUCH                                                                         \
	"INSERT INTO usage_boots AS b (dataplane, boot_id, started_at, first_seq, last_seq, "  \
	"last_time, messages) VALUES ($1, $2, COALESCE((SELECT max(last_time) FROM "           \
	"usage_boots WHERE dataplane = $1 AND boot_id <> $2 AND last_time <= "                \
	"to_timestamp($3::bigint / 1000.0)), to_timestamp($3::bigint / 1000.0)), $4::bigint, " \
	"$4::bigint, to_timestamp($3::bigint / 1000.0), 1) ON CONFLICT (dataplane, boot_id) "  \
	"DO UPDATE SET last_seq = GREATEST(b.last_seq, EXCLUDED.last_seq), last_time = "      \
	"GREATEST(b.last_time, EXCLUDED.last_time), messages = b.messages + 1 "               \
	"RETURNING (extract(epoch FROM started_at) * 1000)::bigint"

/*
 * The positions of a message's services in this boot. = ANY: an index scan
 * of the primary key (the transaction forbids the other scans, see
 * usage_store_apply()).
 */
#define POSITIONS_LOAD                                                                     \
	"SELECT service_id::text, seq, (extract(epoch FROM time) * 1000)::bigint, bytes_up, "  \
	"bytes_down, packets_up, packets_down FROM usage_positions WHERE dataplane = $1 AND "  \
	"boot_id = $2 AND service_id = ANY($3::uuid[])"

static int
cmp_sub_index(const void *x, const void *y, void *arg)
{
	const struct usage_msg *m = arg;

	return strcmp(m->subs[*(const size_t *)x].id, m->subs[*(const size_t *)y].id);
}

/* The index in m->subs of service @id, by bsearch over @order (m->subs sorted by id). */
static ssize_t
sub_index(const struct usage_msg *m, const size_t *order, const char *id)
{
	size_t lo = 0, hi = m->n_subs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->subs[order[mid]].id, id);

		if (c == 0)
			return (ssize_t)order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The positions @res answered, into @pos (by index of m->subs). */
static int
positions_map(const struct usage_msg *m, PGresult *res, struct usage_pos *pos)
{
	int n = PQntuples(res);
	size_t *order;

	order = calloc(m->n_subs, sizeof(*order));
	if (order == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_subs; i++)
		order[i] = i;
	qsort_r(order, m->n_subs, sizeof(*order), cmp_sub_index, (void *)m);
	for (int r = 0; r < n; r++) {
		ssize_t k = sub_index(m, order, PQgetvalue(res, r, 0));

		if (k < 0)
			continue;
		pos[k].known = true;
		pos[k].seq = col_i64(res, r, 1);
		pos[k].time_ms = col_i64(res, r, 2);
		pos[k].c.bytes_up = (uint64_t)col_i64(res, r, 3);
		pos[k].c.bytes_down = (uint64_t)col_i64(res, r, 4);
		pos[k].c.packets_up = (uint64_t)col_i64(res, r, 5);
		pos[k].c.packets_down = (uint64_t)col_i64(res, r, 6);
	}
	free(order);
	return 0;
}

/* One round trip: the boot's row (@ret_started) and the message's positions (@pos). */
static int
read_msg(struct apply_ctx *a, const struct usage_msg *m, struct usage_pos *pos,
	 int64_t *ret_started)
{
	char seq[24], t[24];
	const char *boot[] = {a->dataplane, m->boot_id, t, seq};
	const char *posp[] = {a->dataplane, m->boot_id, NULL};
	struct db_stmt stmts[] = {{BOOT_TOUCH, 4, boot}, {POSITIONS_LOAD, 3, posp}};
	PGresult *res[2] = {NULL, NULL};
	size_t n = m->n_subs > 0 ? 2 : 1;
	int rc;

	snprintf(seq, sizeof(seq), "%" PRId64, m->seq);
	snprintf(t, sizeof(t), "%" PRId64, m->time_ms);
	if (n == 2) {
		sb_reset(&a->ids);
		sb_printf(&a->ids, "{");
		for (size_t i = 0; i < m->n_subs; i++)
			sb_printf(&a->ids, "%s%s", i ? "," : "", m->subs[i].id);
		sb_printf(&a->ids, "}");
		if (a->ids.oom)
			return -ENOMEM;
		posp[2] = a->ids.p;
	}
	rc = pipe_ok(a, stmts, n, res);
	if (rc < 0)
		return rc;
	*ret_started = col_i64(res[0], 0, 0);
	if (n == 2)
		rc = positions_map(m, res[1], pos);
	PQclear(res[0]);
	PQclear(res[1]);
	return rc;
}

static void
sb_counters(struct sbuf *up, struct sbuf *down, struct sbuf *pup, struct sbuf *pdown, bool first,
	    const struct usage_counters *c)
{
	const char *sep = first ? "" : ",";

	sb_printf(up, "%s%" PRIu64, sep, c->bytes_up);
	sb_printf(down, "%s%" PRIu64, sep, c->bytes_down);
	sb_printf(pup, "%s%" PRIu64, sep, c->packets_up);
	sb_printf(pdown, "%s%" PRIu64, sep, c->packets_down);
}

static void
arrays_reset(struct apply_ctx *a)
{
	struct sbuf *all[] = {&a->r_id, &a->r_start, &a->r_up, &a->r_down, &a->r_pup, &a->r_pdown,
			      &a->p_id, &a->p_up, &a->p_down, &a->p_pup, &a->p_pdown, &a->p_final};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sb_reset(all[i]);
		sb_printf(all[i], "{");
	}
	a->n_rows = a->n_pos = 0;
}

static bool
arrays_close(struct apply_ctx *a)
{
	struct sbuf *all[] = {&a->r_id, &a->r_start, &a->r_up, &a->r_down, &a->r_pup, &a->r_pdown,
			      &a->p_id, &a->p_up, &a->p_down, &a->p_pup, &a->p_pdown, &a->p_final};
	bool oom = false;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sb_printf(all[i], "}");
		oom |= all[i]->oom;
	}
	return !oom;
}

static void
arrays_free(struct apply_ctx *a)
{
	struct sbuf *all[] = {&a->r_id, &a->r_start, &a->r_up, &a->r_down, &a->r_pup, &a->r_pdown,
			      &a->p_id, &a->p_up, &a->p_down, &a->p_pup, &a->p_pdown, &a->p_final,
			      &a->ids};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sb_free(all[i]);
}

/* Each month a row starts in has its partition (made once, cheap afterwards). */
#define PARTITIONS                                                                         \
	"SELECT usage_partition(m) FROM (SELECT DISTINCT date_trunc('month', to_timestamp(s "  \
	"/ 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM unnest($1::bigint[]) AS "  \
	"s) AS months WHERE to_regclass('usage_' || to_char(m AT TIME ZONE 'UTC', "            \
	"'YYYY_MM')) IS NULL"

#define ROWS_INSERT                                                                        \
	"INSERT INTO usage (service_id, dataplane, boot_id, seq, start_time, end_time, "       \
	"bytes_up, bytes_down, packets_up, packets_down) SELECT u.id, $1, $2, $3::bigint, "    \
	"to_timestamp(u.s / 1000.0), to_timestamp($4::bigint / 1000.0), u.bu, u.bd, u.pu, "   \
	"u.pd FROM unnest($5::uuid[], $6::bigint[], $7::bigint[], $8::bigint[], "             \
	"$9::bigint[], $10::bigint[]) AS u(id, s, bu, bd, pu, pd)"

#define POSITIONS_UPSERT                                                                   \
	"INSERT INTO usage_positions AS p (dataplane, boot_id, service_id, seq, time, "        \
	"bytes_up, bytes_down, packets_up, packets_down, final) SELECT $1, $2, u.id, "         \
	"$3::bigint, to_timestamp($4::bigint / 1000.0), u.bu, u.bd, u.pu, u.pd, u.f FROM "     \
	"unnest($5::uuid[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], "          \
	"$10::bool[]) AS u(id, bu, bd, pu, pd, f) ON CONFLICT (dataplane, boot_id, "           \
	"service_id) DO UPDATE SET seq = EXCLUDED.seq, time = EXCLUDED.time, bytes_up = "      \
	"EXCLUDED.bytes_up, bytes_down = EXCLUDED.bytes_down, packets_up = "                   \
	"EXCLUDED.packets_up, packets_down = EXCLUDED.packets_down, final = EXCLUDED.final, "  \
	"updated_at = now()"

#define BOOT_RESETS                                                                        \
	"UPDATE usage_boots SET resets = resets + $3::bigint WHERE dataplane = $1 AND "        \
	"boot_id = $2"

/* One round trip: the rows and positions apply_msg() collected, the boot's resets. */
static int
write_msg(struct apply_ctx *a, const struct usage_msg *m, uint64_t resets)
{
	char seq[24], t[24], nres[24];
	const char *rows[] = {a->dataplane, m->boot_id, seq,	      t,	  a->r_id.p,
			      a->r_start.p, a->r_up.p,	a->r_down.p, a->r_pup.p, a->r_pdown.p};
	const char *posp[] = {a->dataplane, m->boot_id, seq,	     t,		 a->p_id.p,
			      a->p_up.p,    a->p_down.p, a->p_pup.p, a->p_pdown.p, a->p_final.p};
	const char *resp[] = {a->dataplane, m->boot_id, nres};
	const char *part[] = {a->r_start.p};
	struct db_stmt stmts[4];
	size_t n = 0;

	if (!arrays_close(a))
		return -ENOMEM;
	snprintf(seq, sizeof(seq), "%" PRId64, m->seq);
	snprintf(t, sizeof(t), "%" PRId64, m->time_ms);
	snprintf(nres, sizeof(nres), "%" PRIu64, resets);
	if (a->n_rows > 0) {
		stmts[n++] = (struct db_stmt){PARTITIONS, 1, part};
		stmts[n++] = (struct db_stmt){ROWS_INSERT, COLS, rows};
	}
	if (a->n_pos > 0)
		stmts[n++] = (struct db_stmt){POSITIONS_UPSERT, 10, posp};
	if (resets > 0)
		stmts[n++] = (struct db_stmt){BOOT_RESETS, 3, resp};
	return n > 0 ? pipe_ok(a, stmts, n, NULL) : 0;
}

static int
apply_msg(struct apply_ctx *a, const struct usage_msg *m)
{
	struct usage_pos *pos;
	int64_t started;
	uint64_t resets = 0;
	int rc;

	pos = calloc(m->n_subs ? m->n_subs : 1, sizeof(*pos));
	if (pos == NULL)
		return -ENOMEM;
	rc = read_msg(a, m, pos, &started);
	if (rc < 0)
		goto out_free;
	a->st->messages++;
	arrays_reset(a);
	for (size_t i = 0; i < m->n_subs; i++) {
		const struct usage_sub *s = &m->subs[i];
		struct usage_counters d, zero = {0};
		enum usage_verdict v = usage_delta(&pos[i], m->seq, &s->c, &d);
		int64_t start;

		a->st->subscribers++;
		if (v == USAGE_OLD) {
			a->st->old++;
			continue;
		}
		if (v == USAGE_RESET)
			resets++;
		if (!usage_counters_zero(&d)) {
			start = v == USAGE_FIRST || !pos[i].known ? started : pos[i].time_ms;
			if (start > m->time_ms)
				start = m->time_ms; /* clocks: an interval never ends before it starts */
			sb_printf(&a->r_id, "%s%s", a->n_rows ? "," : "", s->id);
			sb_printf(&a->r_start, "%s%" PRId64, a->n_rows ? "," : "", start);
			sb_counters(&a->r_up, &a->r_down, &a->r_pup, &a->r_pdown, a->n_rows == 0, &d);
			a->n_rows++;
			a->st->rows++;
			a->st->bytes += d.bytes_up + d.bytes_down;
		} else {
			a->st->same++;
		}
		/* Idle services cost no write; a final one's slot starts again from zero. */
		if (usage_counters_zero(&d) && v != USAGE_RESET && !m->final)
			continue;
		sb_printf(&a->p_id, "%s%s", a->n_pos ? "," : "", s->id);
		sb_printf(&a->p_final, "%s%s", a->n_pos ? "," : "", m->final ? "t" : "f");
		sb_counters(&a->p_up, &a->p_down, &a->p_pup, &a->p_pdown, a->n_pos == 0,
			    m->final ? &zero : &s->c);
		a->n_pos++;
	}
	rc = write_msg(a, m, resets);
	a->st->resets += resets;
out_free:
	free(pos);
	return rc;
}

int
usage_store_apply(struct db *db, const char *dataplane, struct usage_msg *const *msgs, size_t n,
		  struct usage_apply_stats *ret_stats, char *err, size_t errlen)
{
	struct usage_apply_stats st = {0};
	struct apply_ctx a = {.db = db, .dataplane = dataplane, .err = err, .errlen = errlen,
			      .st = &st};
	int rc;

	if (db_begin(db) < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return -EIO;
	}
	/*
	 * Positions are looked up by their whole primary key, 1000 a message.
	 * Left to itself the planner reads every position of the boot (a
	 * sequential or bitmap scan: 100,000 rows for 1,000, 30-50 ms instead of
	 * 6 ms at 100,000 services), with or without statistics.
	 */
	rc = pipe_ok(&a, (const struct db_stmt[]){{USAGE_WRITE_LOCK, 0, NULL},
						{"SET LOCAL enable_seqscan = off", 0, NULL},
						{"SET LOCAL enable_bitmapscan = off", 0, NULL}},
		     3, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = apply_msg(&a, msgs[i]);
	arrays_free(&a);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0) {
		db_rollback(db);
		return rc == -ENOMEM ? rc : -EIO;
	}
	rc = db_commit(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return rc;
	}
	if (ret_stats != NULL) {
		ret_stats->messages += st.messages;
		ret_stats->subscribers += st.subscribers;
		ret_stats->rows += st.rows;
		ret_stats->resets += st.resets;
		ret_stats->old += st.old;
		ret_stats->same += st.same;
		ret_stats->bytes += st.bytes;
	}
	return 0;
}

int
usage_store_prune(struct db *db, unsigned days, char *err, size_t errlen)
{
	char d[16];
	const char *params[] = {d};
	PGresult *res;
	int n;

	snprintf(d, sizeof(d), "%u", days);
	/* Positions go with their boot (ON DELETE CASCADE). */
	res = db_exec(db,
		      "DELETE FROM usage_boots b WHERE b.last_time < now() - make_interval(days => "
		      "$1::int) AND b.last_time < (SELECT max(o.last_time) FROM usage_boots o WHERE "
		      "o.dataplane = b.dataplane)",
		      1, params, err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return n;
}

/* ---- sources -------------------------------------------------------------------------- */

int
usage_sources_load(struct db *db, struct usage_source *ret, size_t max, char *err, size_t errlen)
{
	PGresult *res = db_exec(db,
				"SELECT dataplane, endpoint, coalesce(curve_dir, '') FROM "
				"usage_sources ORDER BY dataplane",
				0, NULL, err, errlen, NULL);
	int n;

	if (res == NULL)
		return -EIO;
	n = PQntuples(res);
	if ((size_t)n > max)
		n = (int)max;
	for (int i = 0; i < n; i++) {
		snprintf(ret[i].dataplane, sizeof(ret[i].dataplane), "%s", PQgetvalue(res, i, 0));
		snprintf(ret[i].endpoint, sizeof(ret[i].endpoint), "%s", PQgetvalue(res, i, 1));
		snprintf(ret[i].curve_dir, sizeof(ret[i].curve_dir), "%s", PQgetvalue(res, i, 2));
	}
	PQclear(res);
	return n;
}

int
usage_sources_consume(struct db *db, const char *source, const struct es_event *ev, void *arg,
		      char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(ev->payload, "name"));
	PGresult *res = NULL;

	(void)arg;
	if (strcmp(source, "network") != 0 || name == NULL)
		return 0;
	if (strcmp(ev->type, "network.dataplane.registered") == 0) {
		const char *ep = json_string_value(json_object_get(ev->payload, "usage_endpoint"));
		const char *curve = json_string_value(json_object_get(ev->payload, "curve_dir"));
		const char *params[] = {name, ep, curve && curve[0] ? curve : NULL};

		if (ep == NULL || ep[0] == '\0') /* it publishes no usage we know of */
			res = db_exec(db, "DELETE FROM usage_sources WHERE dataplane = $1", 1,
				      params, err, errlen, NULL);
		else
			res = db_exec(db,
				      "INSERT INTO usage_sources (dataplane, endpoint, curve_dir) "
				      "VALUES ($1, $2, $3) ON CONFLICT (dataplane) DO UPDATE SET "
				      "endpoint = EXCLUDED.endpoint, curve_dir = EXCLUDED.curve_dir, "
				      "updated_at = now()",
				      3, params, err, errlen, NULL);
	} else if (strcmp(ev->type, "network.dataplane.removed") == 0) {
		const char *params[] = {name};

		res = db_exec(db, "DELETE FROM usage_sources WHERE dataplane = $1", 1, params, err,
			      errlen, NULL);
	} else {
		return 0;
	}
	if (res == NULL)
		return -EIO;
	PQclear(res);
	return 0;
}

/* ---- TMF635 --------------------------------------------------------------------------- */

#define TMF635 "/tmf-api/usageManagement/v4"
#define SPEC_ID "data-volume"

static bool
staff(const struct cuco_principal *p)
{
	return p != NULL && (p->roles & ~CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE)) != 0;
}

json_t *
usage_specifications(void)
{
	json_t *chars = json_array();
	static const char *const ints[] = {"bytesUp", "bytesDown", "packetsUp", "packetsDown"};
	static const char *const strs[] = {"serviceId", "dataplane", "bootId", "startTime",
					   "endTime"};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		json_array_append_new(chars, json_pack("{s:s, s:s, s:b}", "name", strs[i],
						       "valueType", "string", "configurable", 0));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		json_array_append_new(chars, json_pack("{s:s, s:s, s:b}", "name", ints[i],
						       "valueType", "integer", "configurable", 0));
	return json_pack("[{s:s, s:s, s:s, s:s, s:s, s:o, s:s}]", "id", SPEC_ID, "href",
			 TMF635 "/usageSpecification/" SPEC_ID, "name", "Data volume",
			 "description",
			 "Bytes and packets a service's subscriber moved through the fast path "
			 "in an interval, upstream and downstream",
			 "lifecycleStatus", "Active", "specCharacteristic", chars, "@type",
			 "UsageSpecification");
}

#define USAGE_DOC                                                                          \
	"jsonb_build_object('id', u.id::text, 'href', '" TMF635 "/usage/' || u.id, "          \
	"'usageDate', to_char(u.end_time AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'usageType', 'data', 'status', 'received', "     \
	"'description', 'data volume of service ' || u.service_id, "                         \
	"'usageSpecification', jsonb_build_object('id', '" SPEC_ID "', 'href', '" TMF635       \
	"/usageSpecification/" SPEC_ID "', 'name', 'Data volume'), "                          \
	"'usageCharacteristic', jsonb_build_array("                                            \
	"jsonb_build_object('name', 'serviceId', 'valueType', 'string', 'value', "           \
	"u.service_id::text), "                                                                \
	"jsonb_build_object('name', 'dataplane', 'valueType', 'string', 'value', u.dataplane), " \
	"jsonb_build_object('name', 'bootId', 'valueType', 'string', 'value', u.boot_id), "   \
	"jsonb_build_object('name', 'startTime', 'valueType', 'string', 'value', "           \
	"to_char(u.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')), "      \
	"jsonb_build_object('name', 'endTime', 'valueType', 'string', 'value', "             \
	"to_char(u.end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')), "        \
	"jsonb_build_object('name', 'bytesUp', 'valueType', 'integer', 'value', u.bytes_up), " \
	"jsonb_build_object('name', 'bytesDown', 'valueType', 'integer', 'value', "          \
	"u.bytes_down), "                                                                      \
	"jsonb_build_object('name', 'packetsUp', 'valueType', 'integer', 'value', "          \
	"u.packets_up), "                                                                      \
	"jsonb_build_object('name', 'packetsDown', 'valueType', 'integer', 'value', "        \
	"u.packets_down)), '@type', 'Usage')::text"

static bool
uuid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
							    : !strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* An RFC 3339 date or date-time, roughly: PostgreSQL checks the rest. */
static bool
date_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 10 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789-:.TZtz+ ", s[i]))
			return false;
	return s[4] == '-' && s[7] == '-';
}

int
usage_list(struct db *db, const struct cuco_principal *p, const struct usage_filter *f,
	   json_t **ret, int64_t *ret_total, char *err, size_t errlen)
{
	char lim[16], off[16];
	const char *params[] = {f->service_id, f->from, f->to, lim, off};
	json_t *arr;
	PGresult *res;
	int n;

	if (!staff(p)) {
		snprintf(err, errlen, "usage is for staff");
		return -EPERM;
	}
	if (f->service_id != NULL && !uuid_ok(f->service_id)) {
		snprintf(err, errlen, "serviceId: '%s' is not a lowercase UUID", f->service_id);
		return -EINVAL;
	}
	if ((f->from != NULL && !date_ok(f->from)) || (f->to != NULL && !date_ok(f->to))) {
		snprintf(err, errlen, "usageDate: an RFC 3339 date or date-time is required");
		return -EINVAL;
	}
	snprintf(lim, sizeof(lim), "%u", f->limit);
	snprintf(off, sizeof(off), "%u", f->offset);
	res = db_exec(db,
		      "SELECT " USAGE_DOC ", count(*) OVER () FROM usage u WHERE ($1::uuid IS NULL "
		      "OR u.service_id = $1::uuid) AND ($2::timestamptz IS NULL OR u.end_time >= "
		      "$2::timestamptz) AND ($3::timestamptz IS NULL OR u.end_time < "
		      "$3::timestamptz) ORDER BY u.end_time DESC, u.id DESC LIMIT $4::int OFFSET "
		      "$5::int",
		      5, params, err, errlen, NULL);
	if (res == NULL)
		return strstr(err, "invalid input syntax") ? -EINVAL : -EIO;
	arr = json_array();
	n = PQntuples(res);
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	*ret_total = n > 0 ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	PQclear(res);
	if (n == 0 && f->offset > 0) {
		/* Past the end: the total still counts. */
		res = db_exec(db,
			      "SELECT count(*) FROM usage u WHERE ($1::uuid IS NULL OR u.service_id "
			      "= $1::uuid) AND ($2::timestamptz IS NULL OR u.end_time >= "
			      "$2::timestamptz) AND ($3::timestamptz IS NULL OR u.end_time < "
			      "$3::timestamptz)",
			      3, params, err, errlen, NULL);
		if (res != NULL) {
			*ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			PQclear(res);
		}
	}
	*ret = arr;
	return 0;
}

int
usage_get(struct db *db, const struct cuco_principal *p, const char *id, json_t **ret, char *err,
	  size_t errlen)
{
	const char *params[] = {id};
	PGresult *res;

	if (!staff(p)) {
		snprintf(err, errlen, "usage is for staff");
		return -EPERM;
	}
	if (id == NULL || strlen(id) == 0 || strlen(id) > 18 ||
	    strspn(id, "0123456789") != strlen(id)) {
		snprintf(err, errlen, "usage %s: not found", id ? id : "");
		return -ENOENT;
	}
	res = db_exec(db, "SELECT " USAGE_DOC " FROM usage u WHERE u.id = $1::bigint", 1, params,
		      err, errlen, NULL);
	if (res == NULL)
		return -EIO;
	if (PQntuples(res) == 0) {
		PQclear(res);
		snprintf(err, errlen, "usage %s: not found", id);
		return -ENOENT;
	}
	*ret = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return *ret ? 0 : -ENOMEM;
}
