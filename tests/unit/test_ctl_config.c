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
test_feeds(void **state)
{
	struct ctl_config cfg;
	char err[256];

	assert_int_equal(parse("feed bill usage csv /var/feeds interval 5 max 1000\n"
			       "feed fix usage ipfix 192.0.2.10:4739 domain 7\n"
			       "feed inv invoices jsonl /var/lib/cuco/feeds/inv\n",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg.n_feeds, 3);
	assert_string_equal(cfg.feeds[2].source, "invoices");
	assert_string_equal(cfg.feeds[0].name, "bill");
	assert_string_equal(cfg.feeds[0].format, "csv");
	assert_string_equal(cfg.feeds[0].target, "/var/feeds");
	assert_int_equal(cfg.feeds[0].interval_s, 5);
	assert_int_equal(cfg.feeds[0].max_records, 1000);
	assert_int_equal(cfg.feeds[0].domain, 1);
	assert_string_equal(cfg.feeds[1].target, "192.0.2.10:4739");
	assert_int_equal(cfg.feeds[1].interval_s, 60);
	assert_int_equal(cfg.feeds[1].max_records, 100000);
	assert_int_equal(cfg.feeds[1].domain, 7);
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
		{"feed f usage csv\n", "t.conf:1: feed: expected 'feed NAME SOURCE"},
		{"feed f/x usage csv /d\n", "t.conf:1: feed: name 'f/x'"},
		{"feed f calls csv /d\n", "t.conf:1: feed: unknown source 'calls'"},
		{"feed f invoices ipfix 192.0.2.1:4739\n", "t.conf:1: feed: format ipfix carries"},
		{"feed f usage xml /d\n", "t.conf:1: feed: unknown format 'xml'"},
		{"feed f usage csv rel\n", "t.conf:1: feed: target 'rel': expected an absolute"},
		{"feed f usage ipfix host\n", "t.conf:1: feed: target 'host': expected HOST:PORT"},
		{"feed f usage csv /d interval 0\n", "t.conf:1: feed: 'interval 0': expected"},
		{"feed f usage csv /d colour 1\n", "t.conf:1: feed: 'colour 1': expected"},
		{"feed f usage csv /d\nfeed f usage jsonl /e\n", "t.conf:2: feed: a feed 'f' is"},
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
		cmocka_unit_test(test_feeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
