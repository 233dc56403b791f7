/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_TESTS_PGTEST_H
#define CUCO_TESTS_PGTEST_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/*
 * Throwaway databases for the tests of suite 'db'. The cluster's admin URL
 * comes from CUCO_TEST_PG_URL (scripts/pgcluster start prints it); without
 * it the tests skip. Each test gets a database of its own, created by the
 * setup and dropped (WITH (FORCE)) by the teardown.
 */
struct pgtest {
	bool available;     /* CUCO_TEST_PG_URL was set */
	char dbname[64];    /* test_<name>_<pid>_<n> */
	char url[1024];     /* admin URL of that database */
};

/* cmocka setup/teardown: *state is a struct pgtest. */
int pgtest_setup(void **state);
int pgtest_teardown(void **state);

/* The test's struct pgtest; skips the test when no cluster is given. */
struct pgtest *pgtest_get(void **state);

/* main's exit status: 77 (meson's "skipped") when no cluster was given, else @rc. */
int pgtest_exit(int rc);

/* Run @sql on the test database as the admin; the test fails if it errors. */
void pgtest_admin_exec(const struct pgtest *t, const char *sql);

/* The first column of the first row of @sql, run as the admin, into @buf. */
void pgtest_admin_value(const struct pgtest *t, const char *sql, char *buf, size_t len);

#endif
