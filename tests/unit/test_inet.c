/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/inet.h"

static void
test_prefix_parse(void **state)
{
	struct inet_prefix p;
	char buf[INET_PREFIX_STRLEN];

	assert_int_equal(inet_prefix_parse("198.51.100.1/24", &p), 0);
	assert_int_equal(p.addr.family, AF_INET);
	assert_int_equal(p.len, 24);
	assert_string_equal(inet_prefix_format(&p, buf, sizeof(buf)), "198.51.100.1/24");
	assert_int_equal(inet_prefix_parse("2001:db8:100::1/64", &p), 0);
	assert_int_equal(p.addr.family, AF_INET6);
	assert_string_equal(inet_prefix_format(&p, buf, sizeof(buf)), "2001:db8:100::1/64");

	assert_int_equal(inet_prefix_parse("198.51.100.1", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("198.51.100.1/33", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("2001:db8::/129", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("198.51.100.1/", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("198.51.100.1/-1", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("198.51.100.1/2x", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("/24", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("300.1.1.1/24", &p), -EINVAL);
	assert_int_equal(inet_prefix_parse("198.51.100.1/99999999999999999999", &p), -EINVAL);
}

static void
test_prefix_math(void **state)
{
	struct inet_prefix a, b;
	struct inet_addr x;

	assert_int_equal(inet_prefix_parse("198.51.100.7/24", &a), 0);
	assert_true(inet_prefix_has_host_bits(&a));
	inet_prefix_mask(&a);
	assert_false(inet_prefix_has_host_bits(&a));
	assert_int_equal(inet_addr_parse("198.51.100.200", &x), 0);
	assert_true(inet_prefix_contains(&a, &x));
	assert_int_equal(inet_addr_parse("198.51.101.1", &x), 0);
	assert_false(inet_prefix_contains(&a, &x));
	assert_int_equal(inet_addr_parse("2001:db8::1", &x), 0);
	assert_false(inet_prefix_contains(&a, &x));

	assert_int_equal(inet_prefix_parse("198.51.100.128/25", &b), 0);
	assert_true(inet_prefix_overlaps(&a, &b));
	assert_int_equal(inet_prefix_parse("203.0.113.0/24", &b), 0);
	assert_false(inet_prefix_overlaps(&a, &b));

	assert_int_equal(inet_prefix_parse("2001:db8:100::1/61", &a), 0);
	inet_prefix_mask(&a);
	assert_int_equal(inet_addr_parse("2001:db8:100:7::9", &x), 0);
	assert_true(inet_prefix_contains(&a, &x));
	assert_int_equal(inet_addr_parse("2001:db8:100:8::9", &x), 0);
	assert_false(inet_prefix_contains(&a, &x));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_math),
	};

	return cmocka_run_group_tests_name("inet", tests, NULL, NULL);
}
