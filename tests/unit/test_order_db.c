/* SPDX-License-Identifier: BSD-3-Clause */
/* The order domain against a real PostgreSQL (suite 'db'): its /metrics lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bss/order/order.h"
#include "pgtest.h"

static void
ok(int rc, const struct order_error *err)
{
	if (rc != 0)
		fail_msg("%d %s [%s]: %s", rc, err->code, err->field, err->message);
}

/* The value of the line starting with @name followed by a space, or -1. */
static double
value_of(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *l = text;

	while (l != NULL && *l) {
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
		l = strchr(l, '\n');
		if (l != NULL)
			l++;
	}
	return -1;
}

/*
 * Orders slower than the last finite bucket (60 s) are counted in +Inf only:
 * _count is +Inf's, and the buckets come in increasing order of le, as the
 * exposition format wants (not in the text order of their labels).
 */
static void
test_latency_histogram(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct order_error err = {0};
	struct order *o = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	const char *order[] = {"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
			       "+Inf"};
	const char *p;

	ok(order_migrate(t->url, &err), &err);
	ok(order_open(t->url, &o, &err), &err);
	/* three orders observed: 0.3 s, 7 s and 75 s */
	pgtest_admin_exec(t, "UPDATE \"order\".enforcement_latency SET count = "
			     "(0.3 <= le)::int + (7 <= le)::int + (75 <= le)::int");
	pgtest_admin_exec(t, "UPDATE \"order\".enforcement_latency_sum SET seconds = 82.3");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	ok(order_metrics(o, f, &err), &err);
	fclose(f);

	assert_true(value_of(text, "cuco_order_enforcement_seconds_count") == 3);
	assert_true(value_of(text, "cuco_order_enforcement_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(value_of(text, "cuco_order_enforcement_seconds_bucket{le=\"60\"}") == 2);
	assert_true(value_of(text, "cuco_order_enforcement_seconds_bucket{le=\"5\"}") == 1);
	assert_true(value_of(text, "cuco_order_enforcement_seconds_bucket{le=\"0.25\"}") == 0);
	assert_true(value_of(text, "cuco_order_enforcement_seconds_sum") > 82.2);
	/* each bucket after the one before it */
	p = text;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		char line[96];

		snprintf(line, sizeof(line), "cuco_order_enforcement_seconds_bucket{le=\"%s\"} ",
			 order[i]);
		p = strstr(p, line);
		if (p == NULL)
			fail_msg("bucket %s missing or out of order in:\n%s", order[i], text);
	}
	free(text);
	order_close(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_latency_histogram, pgtest_setup,
						pgtest_teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
