/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"

static unsigned counter;

/* @url with its dbname replaced by @dbname, as a keyword/value conninfo. */
static int
url_with_db(const char *url, const char *dbname, char *out, size_t len)
{
	PQconninfoOption *opts, *o;
	char *errmsg = NULL;
	size_t used = 0;

	opts = PQconninfoParse(url, &errmsg);
	if (opts == NULL) {
		fprintf(stderr, "CUCO_TEST_PG_URL: %s", errmsg ? errmsg : "cannot parse\n");
		PQfreemem(errmsg);
		return -1;
	}
	out[0] = '\0';
	for (o = opts; o->keyword != NULL; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;

		if (v == NULL)
			continue;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s='",
					 used ? " " : "", o->keyword);
		for (; *v && used + 2 < len; v++) {
			if (*v == '\'' || *v == '\\')
				out[used++] = '\\';
			out[used++] = *v;
		}
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "'");
	}
	PQconninfoFree(opts);
	return used < len ? 0 : -1;
}

static int
admin(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	int rc = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			rc = 0;
		else
			fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else {
		fprintf(stderr, "connecting to the test cluster: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

int
pgtest_setup(void **state)
{
	struct pgtest *t = calloc(1, sizeof(*t));
	const char *url = getenv("CUCO_TEST_PG_URL");
	char sql[128];

	if (t == NULL)
		return -1;
	*state = t;
	if (url == NULL || url[0] == '\0')
		return 0;
	t->available = true;
	snprintf(t->dbname, sizeof(t->dbname), "test_%ld_%u", (long)getpid(), ++counter);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->dbname);
	if (admin(url, sql) < 0)
		return -1;
	return url_with_db(url, t->dbname, t->url, sizeof(t->url));
}

int
pgtest_teardown(void **state)
{
	struct pgtest *t = *state;
	const char *url = getenv("CUCO_TEST_PG_URL");
	char sql[128];
	int rc = 0;

	if (t != NULL && t->available && t->dbname[0]) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->dbname);
		rc = admin(url, sql);
	}
	free(t);
	*state = NULL;
	return rc;
}

struct pgtest *
pgtest_get(void **state)
{
	struct pgtest *t = *state;

	if (!t->available)
		skip();
	return t;
}

int
pgtest_exit(int rc)
{
	const char *url = getenv("CUCO_TEST_PG_URL");

	return rc == 0 && (url == NULL || url[0] == '\0') ? 77 : rc;
}

void
pgtest_admin_exec(const struct pgtest *t, const char *sql)
{
	PGconn *c = PQconnectdb(t->url);
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

void
pgtest_admin_value(const struct pgtest *t, const char *sql, char *buf, size_t len)
{
	PGconn *c = PQconnectdb(t->url);
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	snprintf(buf, len, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}
