/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/controld/config.h"

static int
parse(const char *text, struct ctl_config *cfg, char *err, size_t errlen)
{
	ctl_config_defaults(cfg);
	return ctl_config_parse("t.conf", text, strlen(text), cfg, err, errlen);
}

static void
test_defaults(void **state)
{
	struct ctl_config cfg;
	char err[256];

	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen_addr, "127.0.0.1");
	assert_int_equal(cfg.port, 8080);
	assert_true(cfg.database_embedded);
	assert_string_equal(cfg.database, "postgresql:///cuco?host=/var/lib/cuco/pg/run&user=cuco");
	assert_true(cfg.log_json);
	assert_true(ctl_config_hosts(&cfg, "security"));
}

static void
test_settings(void **state)
{
	struct ctl_config cfg;
	char err[256];
	const char *text = "state-dir /srv/cuco\n"
			   "listen 0.0.0.0 8443 # all addresses\n"
			   "max-body 64k\n"
			   "rate-limit token 5 10\n"
			   "domains security customer\n"
			   "endpoint catalog tcp://127.0.0.1:9801 tcp://127.0.0.1:9802\n"
			   "log-format text\n";

	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.database, "postgresql:///cuco?host=/srv/cuco/pg/run&user=cuco");
	assert_string_equal(cfg.listen_addr, "0.0.0.0");
	assert_int_equal(cfg.port, 8443);
	assert_int_equal(cfg.max_body, 65536);
	assert_int_equal(cfg.rate_token, 5);
	assert_int_equal(cfg.burst_token, 10);
	assert_true(ctl_config_hosts(&cfg, "customer"));
	assert_false(ctl_config_hosts(&cfg, "billing"));
	assert_int_equal(cfg.n_endpoints, 1);
	assert_string_equal(cfg.endpoints[0].cmd, "tcp://127.0.0.1:9802");
	assert_false(cfg.log_json);

	assert_int_equal(parse("database postgres://u@db.example/cuco\nstate-dir /x\n", &cfg, err,
			       sizeof(err)),
			 0);
	assert_false(cfg.database_embedded);
	assert_string_equal(cfg.database, "postgres://u@db.example/cuco");
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"listen 127.0.0.1 0\n", "t.conf:1: listen: port '0' is not in [1, 65535]"},
		{"\nfoo bar\n", "t.conf:2: foo: unknown keyword"},
		{"database mysql://x\n", "t.conf:1: database: 'mysql://x' is neither"},
		{"domains security shop\n", "t.conf:1: domains: unknown domain 'shop'"},
		{"max-body 1G\n", "t.conf:1: max-body: expected a size"},
		{"rate-limit user 1 1\n", "t.conf:1: rate-limit: expected"},
		{"state-dir relative\n", "t.conf:1: state-dir: expected an absolute"},
		{"endpoint catalog inproc://x tcp://h:1\n", "t.conf:1: endpoint: 'inproc://x'"},
		{"log-level loud\n", "t.conf:1: log-level: expected error"},
	};
	struct ctl_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].text, &cfg, err, sizeof(err)), -EINVAL);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
