/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane's config parser against golden files: each NAME.conf in the
 * directory given as argv[1] has a NAME.expect holding "ok" or the exact
 * error line the parser must give.
 */
#include <dirent.h>
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
#include "dataplane/config.h"

static const char *golden_dir;

static char *
slurp(const char *dir, const char *name)
{
	char path[512];
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (conf_read_file(path, &buf, &len) < 0)
		return NULL;
	return buf;
}

static void
test_golden(void **state)
{
	struct dirent *de;
	unsigned checked = 0;
	DIR *d;

	d = opendir(golden_dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char expect_name[300], err[1024];
		struct dp_config *cfg = NULL;
		char *text, *expect, *nl;
		size_t n = strlen(de->d_name);
		int ret;

		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(expect_name, sizeof(expect_name), "%.*s.expect", (int)(n - 5), de->d_name);
		text = slurp(golden_dir, de->d_name);
		expect = slurp(golden_dir, expect_name);
		assert_non_null(text);
		assert_non_null(expect);
		nl = strchr(expect, '\n');
		if (nl != NULL)
			*nl = '\0';
		err[0] = '\0';
		ret = dp_config_parse(de->d_name, text, strlen(text), &cfg, err, sizeof(err));
		if (strcmp(expect, "ok") == 0) {
			if (ret != 0)
				fail_msg("%s: expected ok, got: %s", de->d_name, err);
			assert_non_null(cfg);
		} else {
			if (ret != -EINVAL)
				fail_msg("%s: expected '%s', got %d", de->d_name, expect, ret);
			if (strcmp(err, expect) != 0)
				fail_msg("%s:\n expected: %s\n got:      %s", de->d_name, expect, err);
			assert_null(cfg);
		}
		dp_config_free(cfg);
		free(text);
		free(expect);
		checked++;
	}
	closedir(d);
	assert_true(checked >= 10);
}

static void
test_values(void **state)
{
	struct dp_config *cfg;
	char err[512], *text;
	char buf[INET_PREFIX_STRLEN];

	text = slurp(golden_dir, "good.conf");
	assert_non_null(text);
	assert_int_equal(dp_config_parse("good.conf", text, strlen(text), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->workers, 2);
	assert_int_equal(cfg->mbufs, 8192);
	assert_int_equal(cfg->idle_sleep_us, 50);
	assert_int_equal(cfg->punt_rate, 2000);
	assert_int_equal(cfg->n_ports, 2);
	assert_string_equal(cfg->ports[0].name, "cust0");
	assert_string_equal(cfg->ports[0].device, "net_af_packet0");
	assert_int_equal(cfg->ports[0].role, DP_ROLE_ACCESS);
	assert_string_equal(cfg->ports[0].tap, "tap-cust0");
	assert_int_equal(cfg->ports[0].n_addrs, 2);
	assert_int_equal(cfg->ports[1].role, DP_ROLE_UPLINK);
	assert_string_equal(cfg->ports[1].tap, "up-slow");
	assert_int_equal(cfg->n_routes, 2);
	assert_string_equal(inet_prefix_format(&cfg->routes[0].dst, buf, sizeof(buf)),
			    "192.0.2.0/24");
	assert_int_equal(cfg->routes[0].port, 1);
	assert_int_equal(cfg->routes[1].port, 1);
	assert_int_equal(cfg->routes[1].vlan, 0);
	assert_int_equal(cfg->routes[1].line, 20);
	dp_config_free(cfg);
	free(text);
}

static void
test_vlans(void **state)
{
	struct dp_config *cfg;
	const struct dp_port_config *c;
	char err[512], *text;
	char buf[INET_PREFIX_STRLEN];

	text = slurp(golden_dir, "vlan-good.conf");
	assert_non_null(text);
	assert_int_equal(dp_config_parse("vlan-good.conf", text, strlen(text), &cfg, err,
					 sizeof(err)), 0);
	c = &cfg->ports[0];
	assert_int_equal(c->n_vlans, 3);
	assert_int_equal(c->vlans[0].outer, 100);
	assert_int_equal(c->vlans[0].inner, 0);
	assert_string_equal(c->vlans[0].ifname, "tap-cust0.100");
	assert_string_equal(c->vlans[0].outer_ifname, "");
	assert_int_equal(c->vlans[0].n_addrs, 2);
	assert_string_equal(inet_prefix_format(&c->vlans[0].addrs[1], buf, sizeof(buf)),
			    "2001:db8:100:100::1/64");
	assert_int_equal(c->vlans[1].outer, 200);
	assert_int_equal(c->vlans[1].inner, 300);
	assert_string_equal(c->vlans[1].ifname, "tap-c0.200.300");
	assert_string_equal(c->vlans[1].outer_ifname, "tap-cust0.200");
	assert_string_equal(c->vlans[2].outer_ifname, "tap-cust0.200");
	assert_string_equal(cfg->ports[1].vlans[0].ifname, "tap-up0.7");
	/* gateways on VLAN subnets: the port and 1 + the VLAN's index */
	assert_int_equal(cfg->routes[0].port, 1);
	assert_int_equal(cfg->routes[0].vlan, 1);
	assert_int_equal(cfg->routes[1].port, 0);
	assert_int_equal(cfg->routes[1].vlan, 1);
	dp_config_free(cfg);
	free(text);
}

static void
test_defaults(void **state)
{
	static const char text[] = "port p {\n device d\n role uplink\n}\n";
	struct dp_config *cfg;
	char err[512];

	assert_int_equal(dp_config_parse("d.conf", text, strlen(text), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->workers, 1);
	assert_int_equal(cfg->mbufs, 16384);
	assert_int_equal(cfg->idle_sleep_us, 0);
	assert_int_equal(cfg->punt_rate, 10000);
	assert_string_equal(cfg->ports[0].tap, "tap-p");
	dp_config_free(cfg);
}

static void
test_missing_file(void **state)
{
	struct dp_config *cfg = NULL;
	char err[512];

	assert_int_equal(dp_config_load("/nonexistent/cuco.conf", &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/nonexistent/cuco.conf: No such file or directory");
	assert_null(cfg);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_config GOLDEN_DIR\n");
		return 2;
	}
	golden_dir = argv[1];
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
