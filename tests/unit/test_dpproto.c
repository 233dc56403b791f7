/* SPDX-License-Identifier: BSD-3-Clause */
/* The provisioning schema: what decodes, and the field and reason of what does not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/proto/dpproto.h"

static struct dpp_request *
ok(const char *json)
{
	struct dpp_request *r = NULL;
	struct dpp_error e;

	if (dpp_decode(json, strlen(json), &r, &e) != 0)
		fail_msg("%s\n  refused: %s: %s", json, e.field, e.reason);
	return r;
}

static void
refused(const char *json, const char *field, const char *reason)
{
	struct dpp_request *r = NULL;
	struct dpp_error e;

	assert_int_equal(dpp_decode(json, strlen(json), &r, &e), -EINVAL);
	assert_null(r);
	if (strcmp(e.field, field) != 0 || strstr(e.reason, reason) == NULL)
		fail_msg("%s\n  expected %s: ...%s...\n  got      %s: %s", json, field, reason,
			 e.field, e.reason);
}

static void
test_batch(void **state)
{
	struct dpp_request *r = ok(
		"{\"v\":1,\"seq\":7,\"op\":\"batch\",\"generation\":3,\"expect\":2,\"changes\":["
		"{\"op\":\"profile.upsert\",\"name\":\"f20\","
		" \"up\":{\"cir\":20000000,\"pir\":22000000,\"cbs\":64000,\"pbs\":64000,"
		"        \"yellow\":\"remark:10\"},"
		" \"down\":{\"mode\":\"rfc4115\",\"cir\":50000000,\"eir\":0,\"cbs\":9000,\"ebs\":0}},"
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"f20\","
		" \"availability\":\"walled-garden\",\"match\":{\"prefixes\":[\"198.51.100.2/32\"],"
		" \"vlans\":[{\"port\":\"cust0\",\"outer\":100,\"inner\":200}],"
		" \"macs\":[\"02:00:5e:10:00:01\"]}},"
		"{\"op\":\"subscriber.availability\",\"id\":\"A\",\"availability\":\"suspended\"},"
		"{\"op\":\"walled_garden.set\",\"allow\":[\"192.0.2.0/24\"]},"
		"{\"op\":\"subscriber.delete\",\"id\":\"A\"},"
		"{\"op\":\"profile.delete\",\"name\":\"f20\"}]}");

	assert_int_equal(r->op, DPP_OP_BATCH);
	assert_int_equal(r->seq, 7);
	assert_int_equal(r->generation, 3);
	assert_true(r->has_expect);
	assert_int_equal(r->expect, 2);
	assert_int_equal(r->n_changes, 6);
	assert_int_equal(r->changes[0].kind, DPP_PROFILE_UPSERT);
	assert_int_equal(r->changes[0].dir[0].mode, DPP_METER_RFC2698);
	assert_int_equal(r->changes[0].dir[0].pir, 22000000);
	assert_int_equal(r->changes[0].dir[0].action[1], DPP_REMARK);
	assert_int_equal(r->changes[0].dir[0].dscp[1], 10);
	assert_int_equal(r->changes[0].dir[0].action[2], DPP_DROP); /* red default */
	assert_int_equal(r->changes[0].dir[1].mode, DPP_METER_RFC4115);
	assert_int_equal(r->changes[1].kind, DPP_SUB_UPSERT);
	assert_int_equal(r->changes[1].avail, DPP_WALLED);
	assert_int_equal(r->changes[1].n_prefixes, 1);
	assert_int_equal(r->changes[1].n_l2, 2);
	assert_int_equal(r->changes[1].l2[0].kind, DPP_L2_VLAN);
	assert_string_equal(r->changes[1].l2[0].port, "cust0");
	assert_int_equal(r->changes[1].l2[0].inner, 200);
	assert_int_equal(r->changes[1].l2[1].kind, DPP_L2_MAC);
	assert_int_equal(r->changes[1].l2[1].mac[5], 1);
	assert_int_equal(r->changes[2].avail, DPP_SUSPENDED);
	assert_int_equal(r->changes[3].n_prefixes, 1);
	dpp_request_free(r);
}

static void
test_reads(void **state)
{
	struct dpp_request *r = ok("{\"v\":1,\"seq\":1,\"op\":\"hello\"}");

	assert_int_equal(r->op, DPP_OP_HELLO);
	dpp_request_free(r);
	r = ok("{\"v\":1,\"seq\":2,\"op\":\"counters\",\"id\":\"A\"}");
	assert_string_equal(r->id, "A");
	dpp_request_free(r);
	r = ok("{\"v\":1,\"seq\":3,\"op\":\"get\",\"offset\":10,\"limit\":5}");
	assert_int_equal(r->offset, 10);
	assert_int_equal(r->limit, 5);
	dpp_request_free(r);
	r = ok("{\"v\":1,\"seq\":4,\"op\":\"resync\",\"generation\":9,\"changes\":[]}");
	assert_int_equal(r->op, DPP_OP_RESYNC);
	assert_int_equal(r->n_changes, 0);
	dpp_request_free(r);
}

static void
test_refusals(void **state)
{
	refused("not json", "", "not JSON");
	refused("[1]", "", "must be a JSON object");
	refused("{\"v\":2,\"seq\":1,\"op\":\"hello\"}", "v", "schema version 2");
	refused("{\"v\":1,\"op\":\"hello\"}", "seq", "missing");
	refused("{\"v\":1,\"seq\":1,\"op\":\"hello\",\"x\":1}", "x", "unknown member");
	refused("{\"v\":1,\"seq\":1,\"op\":\"reboot\"}", "op", "'reboot' is not");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"changes\":[]}", "generation", "missing");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":-1,\"changes\":[]}",
		"generation", "whole number");
	refused("{\"v\":1,\"seq\":1,\"op\":\"resync\",\"generation\":1,\"expect\":0,\"changes\":[]}",
		"expect", "resync replaces");
	refused("{\"v\":1,\"seq\":1,\"op\":\"hello\",\"changes\":[]}", "changes", "only batch");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":[{\"op\":\"x\"}]}",
		"changes[0].op", "'x' is not");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":[{}]}",
		"changes[0].op", "missing");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"p\","
		"\"match\":{\"prefixes\":[\"198.51.100.2/24\"]}}]}",
		"changes[0].match.prefixes[0]", "host bits");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"p\",\"match\":{}}]}",
		"changes[0].match", "at least one");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"p\","
		"\"match\":{\"vlans\":[{\"port\":\"cust0\",\"outer\":5000}]}}]}",
		"changes[0].match.vlans[0].outer", "0 to 4094");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"p\","
		"\"match\":{\"macs\":[\"01:00:5e:00:00:01\"]}}]}",
		"changes[0].match.macs[0]", "group address");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.upsert\",\"id\":\"A\",\"profile\":\"p\",\"availability\":\"off\","
		"\"match\":{\"prefixes\":[\"198.51.100.2/32\"]}}]}",
		"changes[0].availability", "'off' is not");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"profile.upsert\",\"name\":\"p\",\"up\":{\"cir\":10,\"pir\":5,\"cbs\":1,"
		"\"pbs\":1},\"down\":{\"mode\":\"none\"}}]}",
		"changes[0].up.pir", "at least cir");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"profile.upsert\",\"name\":\"p\",\"up\":{\"mode\":\"none\"},"
		"\"down\":{\"mode\":\"none\",\"red\":\"remark:64\"}}]}",
		"changes[0].down.red", "DSCP must be 0 to 63");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"profile.upsert\",\"name\":\"p\",\"up\":{\"mode\":\"none\"}}]}",
		"changes[0].down", "missing");
	refused("{\"v\":1,\"seq\":1,\"op\":\"batch\",\"generation\":1,\"changes\":["
		"{\"op\":\"subscriber.delete\",\"id\":\"\"}]}",
		"changes[0].id", "1 to 63 bytes");
	refused("{\"v\":1,\"v\":1,\"seq\":1,\"op\":\"hello\"}", "", "duplicate");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("dpproto", tests, NULL, NULL);
}
