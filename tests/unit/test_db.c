/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bss/core/db.h"
#include "bss/core/outbox.h"
#include "pgtest.h"

static const struct db_migration alpha_v2[] = {
	{1, "init", "CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL);"},
	{2, "email", "ALTER TABLE accounts ADD COLUMN email text;"},
};

static const struct db_migration beta_v1[] = {
	{1, "init", "CREATE TABLE things (id text PRIMARY KEY);"},
};

static void
migrate_ok(const struct pgtest *t, const char *domain, const struct db_migration *m, size_t n)
{
	char err[512] = "";
	int rc = db_migrate(t->url, domain, m, n, err, sizeof(err));

	if (rc != 0)
		fail_msg("db_migrate %s: %d %s", domain, rc, err);
}

static struct db *
open_domain(const struct pgtest *t, const char *domain)
{
	struct db *db = NULL;
	char err[256];
	int rc = db_open_domain(t->url, domain, &db, err, sizeof(err));

	if (rc != 0)
		fail_msg("db_open_domain %s: %d %s", domain, rc, err);
	return db;
}

/* The SQLSTATE of running @sql on @db ("" on success). */
static void
sqlstate_of(struct db *db, const char *sql, char state[6])
{
	char err[256];
	PGresult *res = db_exec(db, sql, 0, NULL, err, sizeof(err), state);

	if (res != NULL)
		state[0] = '\0';
	PQclear(res);
}

static void
test_open_ping(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = NULL;
	char err[256] = "", sqlstate[6];
	PGresult *res;
	const char *params[1] = {"41"};

	assert_int_equal(db_open(t->url, NULL, NULL, &db, err, sizeof(err)), 0);
	assert_int_equal(db_ping(db), 0);
	res = db_exec(db, "SELECT $1::int + 1", 1, params, err, sizeof(err), sqlstate);
	assert_non_null(res);
	assert_string_equal(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	res = db_exec(db, "SELECT * FROM no_such_table", 0, NULL, err, sizeof(err), sqlstate);
	assert_null(res);
	assert_string_equal(sqlstate, "42P01");
	assert_non_null(strstr(err, "no_such_table"));
	assert_null(strchr(err, '\n'));

	/* COMMIT of a failed transaction is a failure, not a silent rollback. */
	assert_int_equal(db_begin(db), 0);
	assert_null(db_exec(db, "SELECT 1/0", 0, NULL, err, sizeof(err), sqlstate));
	assert_string_equal(sqlstate, "22012");
	assert_int_equal(db_commit(db), -EIO);
	assert_non_null(strstr(db_error(db), "rolled back"));
	assert_int_equal(db_reset(db), 0);
	assert_int_equal(db_ping(db), 0);
	assert_null(db_close(db));
	assert_null(db_close(NULL));

	db = NULL;
	assert_int_equal(db_open("postgresql:///nodb?host=/nonexistent", NULL, NULL, &db, err,
				 sizeof(err)),
			 -EIO);
	assert_null(db);
	assert_true(err[0] != '\0');
	assert_int_equal(db_open_domain(t->url, "Bad-Name", &db, err, sizeof(err)), -EINVAL);
}

static void
test_migrate_idempotent(void **state)
{
	struct pgtest *t = pgtest_get(state);
	char v[256];

	migrate_ok(t, "alpha", alpha_v2, 1);
	pgtest_admin_value(t, "SELECT count(*) FROM alpha.schema_migrations", v, sizeof(v));
	assert_string_equal(v, "6"); /* core 1 to 5 + alpha 1 */
	migrate_ok(t, "alpha", alpha_v2, 2);
	migrate_ok(t, "alpha", alpha_v2, 2);
	pgtest_admin_value(t,
			   "SELECT string_agg(component || ':' || version || ':' || name, ',' "
			   "ORDER BY component, version) FROM alpha.schema_migrations",
			   v, sizeof(v));
	assert_string_equal(v, "alpha:1:init,alpha:2:email,core:1:event_store,"
			       "core:2:numbered_by_relay,core:3:lean_outbox_indexes,"
			       "core:4:checks_as_domains,core:5:append_only_by_column");
	/* Tables belong to the domain's role, the schema too. */
	pgtest_admin_value(t,
			   "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables "
			   "WHERE schemaname = 'alpha'",
			   v, sizeof(v));
	assert_string_equal(v, "cuco_alpha");
	pgtest_admin_value(t,
			   "SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
			   "WHERE nspname = 'alpha'",
			   v, sizeof(v));
	assert_string_equal(v, "cuco_alpha");
	pgtest_admin_value(t, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'cuco_alpha'", v,
			   sizeof(v));
	assert_string_equal(v, "f");
}

static void
test_migrate_newer_refused(void **state)
{
	struct pgtest *t = pgtest_get(state);
	char err[512] = "";

	migrate_ok(t, "alpha", alpha_v2, 2);
	assert_int_equal(db_migrate(t->url, "alpha", alpha_v2, 1, err, sizeof(err)), -EPROTO);
	assert_string_equal(err,
			    "schema alpha is at version 2, this binary knows up to 1; refusing to start");

	pgtest_admin_exec(t, "INSERT INTO alpha.schema_migrations (component, version, name) "
			     "VALUES ('core', 9, 'future')");
	assert_int_equal(db_migrate(t->url, "alpha", alpha_v2, 2, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "schema alpha (event store tables) is at version 9"));
}

static void
test_migrate_failure(void **state)
{
	struct pgtest *t = pgtest_get(state);
	static const struct db_migration bad[] = {
		{1, "init", "CREATE TABLE accounts (id text PRIMARY KEY);"},
		{2, "broken", "CREATE TABLE x (id text); SELEKT 1;"},
	};
	static const struct db_migration gap[] = {{2, "two", "SELECT 1;"}};
	char err[512] = "", v[64];

	assert_int_equal(db_migrate(t->url, "gamma", bad, 2, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "schema gamma: migration 002_broken:"));
	assert_non_null(strstr(err, "SELEKT"));
	/* 001 stays, 002 left nothing behind. */
	pgtest_admin_value(t,
			   "SELECT max(version) FROM gamma.schema_migrations "
			   "WHERE component = 'gamma'",
			   v, sizeof(v));
	assert_string_equal(v, "1");
	pgtest_admin_value(t, "SELECT count(*) FROM pg_tables WHERE schemaname = 'gamma' "
			      "AND tablename = 'x'", v, sizeof(v));
	assert_string_equal(v, "0");
	assert_int_equal(db_migrate(t->url, "gamma", gap, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_migrate(t->url, "public", gap, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_migrate(t->url, "core", gap, 0, err, sizeof(err)), -EINVAL);
}

static void
test_role_isolation(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *a, *b;
	char st[6];

	migrate_ok(t, "alpha", alpha_v2, 2);
	migrate_ok(t, "beta", beta_v1, 1);
	a = open_domain(t, "alpha");
	b = open_domain(t, "beta");

	sqlstate_of(a, "INSERT INTO accounts (id, balance) VALUES ('a1', 5)", st);
	assert_string_equal(st, "");
	sqlstate_of(b, "INSERT INTO things VALUES ('t1')", st);
	assert_string_equal(st, "");
	/* Another domain's schema: neither write nor read. */
	sqlstate_of(a, "INSERT INTO beta.things VALUES ('t2')", st);
	assert_string_equal(st, "42501");
	sqlstate_of(a, "SELECT * FROM beta.things", st);
	assert_string_equal(st, "42501");
	sqlstate_of(b, "UPDATE alpha.accounts SET balance = 0", st);
	assert_string_equal(st, "42501");
	sqlstate_of(b, "INSERT INTO beta.outbox_seq VALUES (false, 0)", st);
	assert_string_equal(st, "23514"); /* its own table: a check, not a permission */
	/* Nor anything outside: public is closed for creation. */
	sqlstate_of(a, "CREATE TABLE public.sneaky (id int)", st);
	assert_string_equal(st, "42501");
	sqlstate_of(a, "CREATE SCHEMA other", st);
	assert_string_equal(st, "42501");
	db_close(a);
	db_close(b);
}

static void
test_append_and_conflict(void **state)
{
	struct pgtest *t = pgtest_get(state);
	json_t *p = json_pack("{s:s}", "name", "ada");
	char id[37], err[256], v[64], st[6];
	int64_t pos, pos2;
	struct db *db;
	size_t n;

	migrate_ok(t, "alpha", alpha_v2, 2);
	db = open_domain(t, "alpha");

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_append(db, "account", "a1", OUTBOX_NEW_AGGREGATE, "account.opened",
				       1, p, NULL, &pos, id, err, sizeof(err)),
			 0);
	assert_true(pos >= 1);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_int_equal(outbox_append(db, "account", "a2", 0, "account.opened", 1, p,
				       "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				       &pos2, NULL, err, sizeof(err)),
			 0);
	assert_true(pos2 > pos);
	assert_int_equal(outbox_append(db, "account", "a1", 1, "account.renamed", 1, p, "", &pos,
				       NULL, err, sizeof(err)),
			 0);
	assert_true(pos > pos2);
	assert_int_equal(db_commit(db), 0);
	/* Written without a seq: the numbering gives them 1, 2, 3 in append order. */
	pgtest_admin_value(t, "SELECT count(*) FROM alpha.outbox WHERE seq IS NULL", v, sizeof(v));
	assert_string_equal(v, "3");
	assert_int_equal(outbox_number(db, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(outbox_number(db, 100, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(outbox_number(db, 100, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	pgtest_admin_value(t, "SELECT string_agg(seq || ':' || aggregate_id || ':' || "
			      "aggregate_version, ',' ORDER BY pos) FROM alpha.outbox", v, sizeof(v));
	assert_string_equal(v, "1:a1:1,2:a2:1,3:a1:2");

	/* Stale expected versions: behind, ahead, and a new aggregate that exists. */
	int64_t stale[] = {1, 5, OUTBOX_NEW_AGGREGATE};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(db_begin(db), 0);
		assert_int_equal(outbox_append(db, "account", "a1", stale[i], "account.renamed", 1,
					       p, NULL, &pos, NULL, err, sizeof(err)),
				 -EAGAIN);
		assert_int_equal(db_rollback(db), 0);
	}
	/* A rolled-back append leaves a hole in pos, none in seq. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_append(db, "account", "a1", 2, "account.renamed", 1, p, NULL, &pos,
				       NULL, err, sizeof(err)),
			 0);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_append(db, "account", "a3", 0, "account.opened", 1, p, NULL, &pos2,
				       NULL, err, sizeof(err)),
			 0);
	assert_true(pos2 > pos);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(outbox_number(db, 100, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	pgtest_admin_value(t, "SELECT seq FROM alpha.outbox WHERE aggregate_id = 'a3'", v,
			   sizeof(v));
	assert_string_equal(v, "4");
	/* A seq, once given, stays. */
	sqlstate_of(db, "UPDATE outbox SET seq = 9 WHERE aggregate_id = 'a3'", st);
	assert_string_equal(st, "42501");

	/* Bad arguments. */
	assert_int_equal(outbox_append(db, "account", "a1", 3, "bad type!", 1, p, NULL, NULL, NULL,
				       err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(outbox_append(db, "account", "a1", 3, "x", 1, p, "00-zz", NULL, NULL, err,
				       sizeof(err)),
			 -EINVAL);
	assert_int_equal(outbox_append(db, "account", "", 3, "x", 1, p, NULL, NULL, NULL, err,
				       sizeof(err)),
			 -EINVAL);
	assert_int_equal(outbox_append(db, "account", "a1", 3, "x", 0, p, NULL, NULL, NULL, err,
				       sizeof(err)),
			 -EINVAL);
	json_decref(p);
	db_close(db);
}

struct racer {
	const char *url;
	int rc;
	int64_t seq;
};

static void *
race_append(void *arg)
{
	struct racer *r = arg;
	json_t *p = json_object();
	struct db *db;
	char err[256];

	r->rc = db_open_domain(r->url, "alpha", &db, err, sizeof(err));
	if (r->rc == 0) {
		db_begin(db);
		r->rc = outbox_append(db, "account", "a1", 1, "account.renamed", 1, p, NULL, &r->seq,
				      NULL, err, sizeof(err));
		if (r->rc == 0)
			r->rc = db_commit(db);
		else
			db_rollback(db);
		db_close(db);
	}
	json_decref(p);
	return NULL;
}

/* Two writers from the same version: the one that waited loses. */
static void
test_append_concurrent(void **state)
{
	struct pgtest *t = pgtest_get(state);
	json_t *p = json_object();
	struct racer r = {.url = t->url};
	char err[256], v[32];
	pthread_t th;
	int64_t seq;
	struct db *db;
	size_t n;

	migrate_ok(t, "alpha", alpha_v2, 2);
	db = open_domain(t, "alpha");
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_append(db, "account", "a1", 0, "account.opened", 1, p, NULL, &seq,
				       NULL, err, sizeof(err)),
			 0);
	assert_int_equal(db_commit(db), 0);

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_append(db, "account", "a1", 1, "account.renamed", 1, p, NULL, &seq,
				       NULL, err, sizeof(err)),
			 0);
	assert_int_equal(pthread_create(&th, NULL, race_append, &r), 0);
	usleep(200 * 1000); /* the other writer is now waiting on the unique version */
	assert_int_equal(db_commit(db), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.rc, -EAGAIN);
	assert_int_equal(outbox_number(db, 100, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	pgtest_admin_value(t, "SELECT string_agg(seq || ':' || aggregate_version, ',' ORDER BY seq) "
			      "FROM alpha.outbox", v, sizeof(v));
	assert_string_equal(v, "1:1,2:2");
	json_decref(p);
	db_close(db);
}

static void
test_append_only(void **state)
{
	struct pgtest *t = pgtest_get(state);
	json_t *p = json_object();
	char err[256], st[6];
	struct db *db;

	migrate_ok(t, "alpha", alpha_v2, 2);
	db = open_domain(t, "alpha");
	assert_int_equal(outbox_append(db, "account", "a1", 0, "account.opened", 1, p, NULL, NULL,
				       NULL, err, sizeof(err)),
			 0);
	sqlstate_of(db, "UPDATE outbox SET type = 'forged'", st);
	assert_string_equal(st, "42501");
	sqlstate_of(db, "DELETE FROM outbox", st);
	assert_string_equal(st, "42501");
	sqlstate_of(db, "TRUNCATE outbox", st);
	assert_string_equal(st, "42501");
	/* Not even the admin. */
	sqlstate_of(db, "RESET ROLE", st);
	assert_string_equal(st, "");
	sqlstate_of(db, "DELETE FROM alpha.outbox", st);
	assert_string_equal(st, "42501");
	json_decref(p);
	db_close(db);
}

/* The value of @sql's first column on @db, through db_exec (and its statement cache). */
static void
value_of(struct db *db, const char *sql, char *buf, size_t len)
{
	char err[256], st[6];
	PGresult *res = db_exec(db, sql, 0, NULL, err, sizeof(err), st);

	if (res == NULL)
		fail_msg("%s: %s", sql, err);
	snprintf(buf, len, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
}

/* Array elements written by db_array_element come back as they were, quotes and all. */
static void
test_array_element(void **state)
{
	struct pgtest *t = pgtest_get(state);
	static const char *const in[] = {"plain", "", "with \"quotes\"", "back\\slash",
					 "{braces}, comma", "NULL", " spaced "};
	const size_t n = sizeof(in) / sizeof(in[0]);
	char *buf = NULL, err[256], st[6];
	const char *p[1];
	size_t len = 0;
	PGresult *res;
	struct db *db;
	FILE *f;

	migrate_ok(t, "alpha", alpha_v2, 1);
	db = open_domain(t, "alpha");
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	fputc('{', f);
	for (size_t i = 0; i < n; i++)
		db_array_element(f, in[i], i == 0);
	fputc('}', f);
	assert_int_equal(fclose(f), 0);
	p[0] = buf;
	res = db_exec(db, "SELECT e IS NULL, e FROM unnest($1::text[]) e", 1, p, err,
		      sizeof(err), st);
	if (res == NULL)
		fail_msg("%s (%s)", err, buf);
	assert_int_equal(PQntuples(res), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(PQgetvalue(res, (int)i, 0), "f");
		assert_string_equal(PQgetvalue(res, (int)i, 1), in[i]);
	}
	PQclear(res);
	free(buf);
	db_close(db);
}

/* Columns built a row at a time by db_arrays come back as rows, in order. */
static void
test_arrays(void **state)
{
	struct pgtest *t = pgtest_get(state);
	static const char *const rows[][2] = {
		{"a \"quoted\" one", "1"}, {"", "-9223372036854775808"}, {"NULL", "42"}};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	char err[256], st[6];
	const char *p[2];
	struct db_arrays a;
	PGresult *res;
	struct db *db;

	assert_int_equal(db_arrays_open(&a, 0), -EINVAL);
	db_arrays_free(&a);
	assert_int_equal(db_arrays_open(&a, DB_ARRAYS_MAX + 1), -EINVAL);
	db_arrays_free(&a);

	migrate_ok(t, "alpha", alpha_v2, 1);
	db = open_domain(t, "alpha");
	assert_int_equal(db_arrays_open(&a, 2), 0);
	for (size_t i = 0; i < n; i++)
		db_arrays_row(&a, rows[i]);
	assert_int_equal(db_arrays_close(&a, p), 0);
	res = db_exec(db, "SELECT s, b + 0 FROM unnest($1::text[], $2::bigint[]) AS r(s, b)", 2, p,
		      err, sizeof(err), st);
	if (res == NULL)
		fail_msg("%s (%s | %s)", err, p[0], p[1]);
	assert_int_equal(PQntuples(res), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(PQgetvalue(res, (int)i, 0), rows[i][0]);
		assert_string_equal(PQgetvalue(res, (int)i, 1), rows[i][1]);
	}
	PQclear(res);
	db_arrays_free(&a);
	db_close(db);
}

/* A statement used twice is prepared; one whose plan changed shape is re-prepared. */
static void
test_statement_cache(void **state)
{
	struct pgtest *t = pgtest_get(state);
	static const char q[] = "SELECT * FROM cached_t";
	static const char count[] =
		"SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT * FROM cached_t'";
	char v[64], st[6];
	struct db *db;

	migrate_ok(t, "alpha", alpha_v2, 2);
	db = open_domain(t, "alpha");
	sqlstate_of(db, "CREATE TABLE cached_t (a int)", st);
	assert_string_equal(st, "");
	sqlstate_of(db, "INSERT INTO cached_t VALUES (1)", st);
	value_of(db, q, v, sizeof(v));
	assert_string_equal(v, "1");
	value_of(db, count, v, sizeof(v));
	assert_string_equal(v, "0"); /* once: not yet */
	value_of(db, q, v, sizeof(v));
	value_of(db, count, v, sizeof(v));
	assert_string_equal(v, "1");
	/* The table changes shape under the prepared statement: one failure, then fine. */
	sqlstate_of(db, "ALTER TABLE cached_t ALTER COLUMN a TYPE text", st);
	assert_string_equal(st, "");
	sqlstate_of(db, q, st);
	assert_string_equal(st, "0A000");
	value_of(db, q, v, sizeof(v));
	assert_string_equal(v, "1");
	value_of(db, q, v, sizeof(v));
	assert_string_equal(v, "1");
	/* A pipeline uses the same statements. */
	{
		struct db_stmt s[2] = {{q, 0, NULL}, {q, 0, NULL}};
		PGresult *r[2];
		size_t failed;
		char err[256];

		assert_int_equal(db_pipeline(db, s, 2, r, &failed, st, err, sizeof(err)), 0);
		assert_string_equal(PQgetvalue(r[1], 0, 0), "1");
		PQclear(r[0]);
		PQclear(r[1]);
	}
	/* A reconnection forgets them; they work the same. */
	assert_int_equal(db_reset(db), 0);
	value_of(db, q, v, sizeof(v));
	value_of(db, q, v, sizeof(v));
	assert_string_equal(v, "1");
	db_close(db);
}

static void
count_notice(void *arg, const PGresult *res)
{
	(void)res;
	(*(int *)arg)++;
}

/* BEGIN rides with the first statement: once, and the transaction is real. */
static void
test_lazy_begin(void **state)
{
	struct pgtest *t = pgtest_get(state);
	int notices = 0;
	char v[64], st[6];
	struct db *db;

	migrate_ok(t, "alpha", alpha_v2, 2);
	db = open_domain(t, "alpha");
	PQsetNoticeReceiver(db_conn(db), count_notice, &notices);
	sqlstate_of(db, "CREATE TABLE lazy_t (a int)", st);
	assert_int_equal(db_begin(db), 0);
	sqlstate_of(db, "INSERT INTO lazy_t VALUES (1)", st);
	assert_string_equal(st, "");
	value_of(db, "SELECT count(*) FROM lazy_t", v, sizeof(v));
	assert_string_equal(v, "1");
	assert_int_equal(db_rollback(db), 0);
	value_of(db, "SELECT count(*) FROM lazy_t", v, sizeof(v));
	assert_string_equal(v, "0"); /* rolled back: it was one transaction */
	/* Nothing ran: COMMIT and ROLLBACK send nothing and fail nothing. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_rollback(db), 0);
	/* A pipeline as the first statements. */
	{
		struct db_stmt s[2] = {{"INSERT INTO lazy_t VALUES (2)", 0, NULL},
				       {"SELECT count(*) FROM lazy_t", 0, NULL}};
		PGresult *r[2];
		size_t failed;
		char err[256];

		assert_int_equal(db_begin(db), 0);
		assert_int_equal(db_pipeline(db, s, 2, r, &failed, st, err, sizeof(err)), 0);
		assert_string_equal(PQgetvalue(r[1], 0, 0), "1");
		PQclear(r[0]);
		PQclear(r[1]);
		assert_int_equal(db_commit(db), 0);
	}
	value_of(db, "SELECT count(*) FROM lazy_t", v, sizeof(v));
	assert_string_equal(v, "1");
	/* No "there is already a transaction in progress", nor any other notice. */
	assert_int_equal(notices, 0);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_ping, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_idempotent, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_newer_refused, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_failure, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_role_isolation, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_append_and_conflict, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_append_concurrent, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_append_only, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_lazy_begin, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_array_element, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_arrays, pgtest_setup, pgtest_teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
