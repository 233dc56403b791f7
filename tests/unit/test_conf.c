/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf.h"

static int
read_all(const char *text, struct conf_line *lines, unsigned max, unsigned *ret_n, char *err,
	 size_t errlen, char store[][64][64])
{
	struct conf_reader r;
	unsigned n = 0, i;
	int ret;

	conf_reader_init(&r, "t.conf", text, strlen(text));
	while ((ret = conf_next_line(&r, &lines[n], err, errlen)) > 0) {
		/* Words live until the next call: keep copies. */
		for (i = 0; i < lines[n].n; i++) {
			snprintf(store[n][i], 64, "%s", lines[n].w[i]);
			lines[n].w[i] = store[n][i];
		}
		if (++n == max)
			break;
	}
	*ret_n = n;
	return ret;
}

static void
test_words(void **state)
{
	static char store[8][64][64];
	struct conf_line l[8];
	char err[256];
	unsigned n;

	assert_int_equal(read_all("# comment\n\n  port a{\n\tdevice \"x y\" # tail\n}\nroute b", l,
				  8, &n, err, sizeof(err), store), 0);
	assert_int_equal(n, 4);
	assert_int_equal(l[0].lineno, 3);
	assert_int_equal(l[0].n, 3);
	assert_string_equal(l[0].w[1], "a");
	assert_string_equal(l[0].w[2], "{");
	assert_int_equal(l[1].n, 2);
	assert_string_equal(l[1].w[1], "x y");
	assert_string_equal(l[2].w[0], "}");
	assert_int_equal(l[3].lineno, 6);
	assert_string_equal(l[3].w[1], "b");
}

static void
test_errors(void **state)
{
	static char store[8][64][64];
	struct conf_line l[8];
	char err[256], *big;
	unsigned n;

	assert_int_equal(read_all("a\nb \"open\n", l, 8, &n, err, sizeof(err), store), -EINVAL);
	assert_string_equal(err, "t.conf:2: line: unterminated quoted string");
	assert_int_equal(read_all("a\x01 b\n", l, 8, &n, err, sizeof(err), store), -EINVAL);
	assert_string_equal(err, "t.conf:1: line: control character 0x01 at column 2");
	assert_int_equal(read_all("\"a\"b\n", l, 8, &n, err, sizeof(err), store), -EINVAL);

	big = malloc(CONF_MAX_LINE + 10);
	assert_non_null(big);
	memset(big, 'a', CONF_MAX_LINE + 8);
	big[CONF_MAX_LINE + 8] = '\0';
	assert_int_equal(read_all(big, l, 8, &n, err, sizeof(err), store), -EINVAL);
	assert_string_equal(err, "t.conf:1: line: longer than 4096 bytes");
	free(big);
}

static void
test_uint(void **state)
{
	unsigned long v;

	assert_int_equal(conf_parse_uint("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(conf_parse_uint("0", 1, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("101", 1, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("1x", 0, 100, &v), -EINVAL);
	assert_int_equal(conf_parse_uint("", 0, 100, &v), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
