/* SPDX-License-Identifier: BSD-3-Clause */
/* The network domain's pure rules (bss/network/model.h), without a database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "bss/network/model.h"

static json_t *
J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return j;
}

static void
pool_of(const char *text, struct net_pool *p)
{
	json_t *doc = J(text);
	char field[64], err[256];

	if (net_pool_parse(doc, p, field, err, sizeof(err)) != 0)
		fail_msg("pool %s: %s", text, err);
	json_decref(doc);
}

static const char *
fmt(const struct inet_prefix *x)
{
	static char buf[64];

	return inet_prefix_format(x, buf, sizeof(buf));
}

static void
test_pool_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"prefix\": \"198.51.100.1/24\"}",
		"{\"prefix\": \"198.51.100.0/24\", \"length\": 16}",
		"{\"prefix\": \"198.51.100.0/24\", \"length\": 33}",
		"{\"prefix\": \"198.51.100.0/24\", \"exclude\": [\"203.0.113.0/32\"]}",
		"{\"prefix\": \"198.51.100.0/24\", \"exclude\": [\"2001:db8::/64\"]}",
	};
	struct net_pool p;
	char field[64], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = J(bad[i]);

		assert_int_equal(net_pool_parse(doc, &p, field, err, sizeof(err)), -EINVAL);
		assert_true(field[0] == '/');
		json_decref(doc);
	}
}

static void
test_pool_order_and_exclude(void **state)
{
	struct net_pool p;
	struct inet_prefix x;
	uint64_t i, used[2] = {0, 1};

	(void)state;
	pool_of("{\"prefix\": \"198.51.100.0/24\", \"exclude\": [\"198.51.100.0/31\", "
		"\"198.51.100.255/32\"]}", &p);
	assert_int_equal(net_pool_size(&p), 256);
	assert_int_equal(net_pool_first_free(&p, NULL, 0, &x, &i), 0);
	assert_string_equal(fmt(&x), "198.51.100.2/32");
	assert_int_equal(i, 2);
	used[0] = 2, used[1] = 3;
	assert_int_equal(net_pool_first_free(&p, used, 2, &x, &i), 0);
	assert_string_equal(fmt(&x), "198.51.100.4/32");
	assert_int_equal(net_pool_index(&p, &x, &i), 0);
	assert_int_equal(i, 4);

	pool_of("{\"prefix\": \"2001:db8::/32\", \"length\": 56}", &p);
	assert_int_equal(net_pool_size(&p), 1u << 24);
	assert_int_equal(net_pool_nth(&p, 1, &x), 0);
	assert_string_equal(fmt(&x), "2001:db8:0:100::/56");
	assert_int_equal(net_pool_nth(&p, (1u << 24) - 1, &x), 0);
	assert_string_equal(fmt(&x), "2001:db8:ffff:ff00::/56");
	assert_int_equal(net_pool_index(&p, &x, &i), 0);
	assert_int_equal(i, (1u << 24) - 1);
	assert_int_equal(net_pool_nth(&p, 1u << 24, &x), -ERANGE);
	assert_int_equal(inet_prefix_parse("2001:db8::/64", &x), 0);
	assert_int_equal(net_pool_index(&p, &x, &i), -EINVAL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Many allocations and releases in random order: never a prefix twice, never an excluded one. */
static void
test_pool_never_duplicates(void **state)
{
	enum { N = 254 };
	uint64_t used[N];
	size_t n = 0;
	struct net_pool p;
	struct inet_prefix x;
	unsigned seed = 7;

	(void)state;
	pool_of("{\"prefix\": \"198.51.100.0/24\", \"exclude\": [\"198.51.100.0/32\", "
		"\"198.51.100.255/32\"]}", &p);
	for (int round = 0; round < 20000; round++) {
		uint64_t idx;

		if (n > 0 && (rand_r(&seed) % 3 == 0 || n == N)) {
			size_t k = (size_t)rand_r(&seed) % n;

			memmove(&used[k], &used[k + 1], (n - k - 1) * sizeof(used[0]));
			n--;
			continue;
		}
		assert_int_equal(net_pool_first_free(&p, used, n, &x, &idx), 0);
		assert_true(idx != 0 && idx != 255);
		for (size_t k = 0; k < n; k++)
			assert_true(used[k] != idx);
		used[n++] = idx;
		qsort(used, n, sizeof(used[0]), cmp_u64);
	}
	/* Full: the next one is refused. */
	n = 0;
	for (uint64_t i = 1; i < 255; i++)
		used[n++] = i;
	assert_int_equal(net_pool_first_free(&p, used, n, &x, &(uint64_t){0}), -ENOSPC);
}

static void
test_service_changes(void **state)
{
	json_t *profile = J("{\"name\": \"fiber-100\", \"description\": \"x\", \"version\": 3,"
			    "\"up\": {\"mode\": \"rfc2698\", \"cir\": 100000000, \"pir\": 100000000,"
			    " \"cbs\": 2500000, \"pbs\": 2500000, \"green\": \"forward\","
			    " \"yellow\": \"forward\", \"red\": \"drop\"},"
			    "\"down\": {\"mode\": \"rfc2698\", \"cir\": 100000000, \"pir\": 100000000,"
			    " \"cbs\": 2500000, \"pbs\": 2500000, \"green\": \"forward\","
			    " \"yellow\": \"forward\", \"red\": \"drop\", \"shape\": false}}");
	json_t *prefixes = J("[\"198.51.100.2/32\", \"2001:db8:0:100::/56\"]");
	struct net_service_view s = {
		.id = "5b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11",
		.profile = profile,
		.availability = "active",
		.vlan = 100,
		.mac = "02:00:00:00:00:01",
		.prefixes = prefixes,
	};
	json_t *changes = json_array(), *sub;
	char err[256];

	(void)state;
	json_array_append_new(changes, net_profile_change(profile));
	sub = net_subscriber_change(&s, "cust0");
	json_array_append_new(changes, sub);
	assert_int_equal(net_changes_check(changes, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(sub, "profile")), "fiber-100");
	assert_int_equal(json_array_size(json_object_get(json_object_get(sub, "match"), "prefixes")),
			 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(
				 json_object_get(sub, "match"), "vlans"), 0), "outer")), 100);
	/* What the dataplane would refuse is refused here, naming the field. */
	json_object_set_new(sub, "availability", json_string("sleeping"));
	assert_int_equal(net_changes_check(changes, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "changes[1].availability"));
	json_array_clear(changes);
	json_array_append_new(changes, net_delete_change(s.id));
	assert_int_equal(net_changes_check(changes, err, sizeof(err)), 0);
	assert_null(net_profile_change(prefixes));
	json_decref(changes);
	json_decref(profile);
	json_decref(prefixes);
	assert_true(net_availability_valid("walled-garden"));
	assert_false(net_availability_valid("paused"));
	assert_true(net_service_state_valid("feasibilityChecked"));
	assert_false(net_service_state_valid("pending"));
}

static void
test_breaker(void **state)
{
	struct net_breaker b;

	(void)state;
	net_breaker_init(&b, 3, 1000, 4000);
	assert_true(net_breaker_allow(&b, 0));
	assert_false(net_breaker_failure(&b, 0));
	assert_false(net_breaker_failure(&b, 0));
	assert_false(net_breaker_success(&b)); /* a success resets the count */
	assert_false(net_breaker_failure(&b, 0));
	assert_false(net_breaker_failure(&b, 0));
	assert_true(net_breaker_failure(&b, 100)); /* third in a row: open */
	assert_int_equal(b.state, NET_CIRCUIT_OPEN);
	assert_false(net_breaker_allow(&b, 1099));
	assert_true(net_breaker_allow(&b, 1100)); /* half-open: one trial */
	assert_int_equal(b.state, NET_CIRCUIT_HALF_OPEN);
	assert_false(net_breaker_allow(&b, 1100));
	assert_true(net_breaker_failure(&b, 1200)); /* open again, twice as long */
	assert_false(net_breaker_allow(&b, 3199));
	assert_true(net_breaker_allow(&b, 3200));
	assert_true(net_breaker_failure(&b, 3200));
	assert_false(net_breaker_allow(&b, 7199));
	assert_true(net_breaker_allow(&b, 7200));
	assert_true(net_breaker_failure(&b, 7200)); /* capped at 4000 */
	assert_true(net_breaker_allow(&b, 11200));
	assert_true(net_breaker_success(&b));
	assert_int_equal(b.state, NET_CIRCUIT_CLOSED);
	assert_string_equal(net_circuit_name(b.state), "closed");
	/* Closed again: the delay starts over from the base. */
	for (int i = 0; i < 3; i++)
		net_breaker_failure(&b, 20000);
	assert_true(net_breaker_allow(&b, 21000));
	assert_string_equal(net_circuit_name(b.state), "half-open");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_parse_refuses),
		cmocka_unit_test(test_pool_order_and_exclude),
		cmocka_unit_test(test_pool_never_duplicates),
		cmocka_unit_test(test_service_changes),
		cmocka_unit_test(test_breaker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
