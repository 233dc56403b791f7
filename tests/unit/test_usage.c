/* SPDX-License-Identifier: BSD-3-Clause */
/* Usage's pure rules: the message decoder, the delta rule, the IPFIX encoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bss/billing/ipfix.h"
#include "bss/billing/usage.h"

#define SVC_A "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
#define SVC_B "1b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"

static const struct usage_counters C0 = {0};

static struct usage_counters
cnt(uint64_t bu, uint64_t bd, uint64_t pu, uint64_t pd)
{
	return (struct usage_counters){bu, bd, pu, pd};
}

static struct usage_pos
pos(int64_t seq, struct usage_counters c)
{
	return (struct usage_pos){.known = true, .seq = seq, .time_ms = 1000, .c = c};
}

/* ---- the delta rule ------------------------------------------------------------------ */

static void
delta_first_of_a_boot_is_the_whole_value(void **state)
{
	struct usage_pos none = {0};
	struct usage_counters cur = cnt(1500, 3000, 1, 2), d;

	(void)state;
	assert_int_equal(usage_delta(&none, 7, &cur, &d), USAGE_FIRST);
	assert_memory_equal(&d, &cur, sizeof(d));
	assert_int_equal(usage_delta(NULL, 7, &cur, &d), USAGE_FIRST);
	assert_memory_equal(&d, &cur, sizeof(d));
	/* Nothing counted yet: nothing to record. */
	assert_int_equal(usage_delta(&none, 7, &C0, &d), USAGE_SAME);
	assert_true(usage_counters_zero(&d));
}

static void
delta_is_the_difference(void **state)
{
	struct usage_pos p = pos(10, cnt(1000, 2000, 10, 20));
	struct usage_counters cur = cnt(1500, 2000, 15, 21), d;

	(void)state;
	assert_int_equal(usage_delta(&p, 11, &cur, &d), USAGE_DELTA);
	assert_true(d.bytes_up == 500 && d.bytes_down == 0 && d.packets_up == 5 &&
		    d.packets_down == 1);
}

static void
delta_of_missed_messages_is_the_sum(void **state)
{
	struct usage_pos p = pos(10, cnt(100, 100, 1, 1));
	struct usage_counters cur = cnt(400, 900, 4, 9), d;

	(void)state;
	/* seq 11..13 lost: 14 carries all of it, nothing lost. */
	assert_int_equal(usage_delta(&p, 14, &cur, &d), USAGE_DELTA);
	assert_true(d.bytes_up == 300 && d.bytes_down == 800);
}

static void
delta_of_a_duplicate_or_old_message_is_nothing(void **state)
{
	struct usage_pos p = pos(10, cnt(100, 100, 1, 1));
	struct usage_counters cur = cnt(400, 900, 4, 9), d;

	(void)state;
	assert_int_equal(usage_delta(&p, 10, &cur, &d), USAGE_OLD);
	assert_true(usage_counters_zero(&d));
	assert_int_equal(usage_delta(&p, 3, &cur, &d), USAGE_OLD);
	assert_true(usage_counters_zero(&d));
	/* Even when an old message's counters look like a reset. */
	assert_int_equal(usage_delta(&p, 9, &C0, &d), USAGE_OLD);
}

static void
delta_unchanged_is_same(void **state)
{
	struct usage_pos p = pos(10, cnt(100, 100, 1, 1));
	struct usage_counters d;

	(void)state;
	assert_int_equal(usage_delta(&p, 11, &p.c, &d), USAGE_SAME);
	assert_true(usage_counters_zero(&d));
}

static void
delta_backwards_within_a_boot_is_a_reset(void **state)
{
	struct usage_pos p = pos(10, cnt(5000, 5000, 50, 50));
	struct usage_counters cur = cnt(700, 9000, 7, 90), d;

	(void)state;
	/* One counter lower: the slot was zeroed; all four start again. */
	assert_int_equal(usage_delta(&p, 11, &cur, &d), USAGE_RESET);
	assert_memory_equal(&d, &cur, sizeof(d));
	cur = cnt(5000, 5000, 50, 49);
	assert_int_equal(usage_delta(&p, 11, &cur, &d), USAGE_RESET);
	assert_memory_equal(&d, &cur, sizeof(d));
	/* Back to zero (re-added, idle) is a reset with nothing to count. */
	assert_int_equal(usage_delta(&p, 11, &C0, &d), USAGE_RESET);
	assert_true(usage_counters_zero(&d));
}

static void
delta_sequence_sums_exactly(void **state)
{
	/* A boot's counters seen through duplicates, gaps and a reset: the deltas sum to
	 * what was counted. */
	static const struct {
		int64_t seq;
		uint64_t bytes;
	} feed[] = {{1, 100}, {2, 250}, {2, 250}, {5, 900}, {4, 600}, {6, 50}, {7, 80},
		    {7, 80},  {9, 80},  {10, 95}};
	struct usage_pos p = {0};
	uint64_t sum = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(feed) / sizeof(feed[0]); i++) {
		struct usage_counters cur = cnt(feed[i].bytes, 0, 0, 0), d;
		enum usage_verdict v = usage_delta(&p, feed[i].seq, &cur, &d);

		sum += d.bytes_up;
		if (v != USAGE_OLD && v != USAGE_SAME)
			p = pos(feed[i].seq, cur);
	}
	/* 900 before the reset at seq 6, then 95 counted since. */
	assert_int_equal(sum, 900 + 95);
}

static void
verdict_names(void **state)
{
	(void)state;
	assert_string_equal(usage_verdict_name(USAGE_RESET), "reset");
	assert_string_equal(usage_verdict_name(USAGE_OLD), "old");
}

/* ---- the decoder -------------------------------------------------------------------- */

static struct usage_msg *
decode_ok(const char *s)
{
	struct usage_msg *m = NULL;
	char err[256] = "";

	if (usage_msg_decode(s, strlen(s), &m, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	return m;
}

static void
decode_refused(const char *s, const char *why)
{
	struct usage_msg *m = NULL;
	char err[256] = "";

	assert_int_equal(usage_msg_decode(s, strlen(s), &m, err, sizeof(err)), -EINVAL);
	assert_null(m);
	if (strstr(err, why) == NULL)
		fail_msg("'%s' does not say '%s'", err, why);
}

#define SUB(id, bu, pu, bd, pd)                                                              \
	"{\"id\":\"" id "\",\"up\":{\"packets\":" #pu ",\"bytes\":" #bu                      \
	",\"colours\":{}},\"down\":{\"packets\":" #pd ",\"bytes\":" #bd "}}"
#define MSG(extra, subs)                                                                     \
	"{\"v\":1,\"type\":\"usage\",\"boot_id\":\"8c1f\",\"seq\":42,\"generation\":3,"      \
	"\"time_ms\":1764000000000,\"part\":0,\"last\":true" extra ",\"subscribers\":[" subs "]}"

static void
decode_a_message(void **state)
{
	struct usage_msg *m = decode_ok(
		MSG("", SUB(SVC_A, 1000, 10, 2000, 20) "," SUB(SVC_B, 1, 1, 0, 0) "," SUB("", 5, 1, 6, 1)
				"," SUB("A", 5, 1, 6, 1)));

	(void)state;
	assert_string_equal(m->boot_id, "8c1f");
	assert_int_equal(m->seq, 42);
	assert_int_equal(m->generation, 3);
	assert_int_equal(m->time_ms, 1764000000000LL);
	assert_false(m->final);
	/* The unknown slot and a hand-made subscriber are nobody's service. */
	assert_int_equal(m->n_subs, 2);
	assert_int_equal(m->n_other, 2);
	assert_string_equal(m->subs[0].id, SVC_A);
	assert_true(m->subs[0].c.bytes_up == 1000 && m->subs[0].c.packets_up == 10 &&
		    m->subs[0].c.bytes_down == 2000 && m->subs[0].c.packets_down == 20);
	usage_msg_free(m);
	m = decode_ok(MSG(",\"final\":true", SUB(SVC_A, 9223372036854775807, 1, 0, 0)));
	assert_true(m->final);
	assert_true(m->subs[0].c.bytes_up == INT64_MAX);
	usage_msg_free(m);
	m = decode_ok(MSG("", ""));
	assert_int_equal(m->n_subs, 0);
	usage_msg_free(m);
	assert_null(usage_msg_free(NULL));
}

static void
decode_refusals_name_the_member(void **state)
{
	(void)state;
	decode_refused("", "not JSON");
	decode_refused("[]", "message: must be an object");
	decode_refused("{\"v\":2}", "v: must be 1");
	decode_refused("{\"v\":1,\"type\":\"hello\"}", "type");
	decode_refused("{\"v\":1,\"type\":\"usage\",\"boot_id\":\"a b\"}", "boot_id");
	decode_refused("{\"v\":1,\"type\":\"usage\",\"boot_id\":\"ab\",\"seq\":-1}", "seq");
	decode_refused("{\"v\":1,\"type\":\"usage\",\"boot_id\":\"ab\",\"seq\":1}", "time_ms");
	decode_refused(MSG(",\"final\":1", ""), "final: must be a boolean");
	decode_refused("{\"v\":1,\"type\":\"usage\",\"boot_id\":\"ab\",\"seq\":1,\"time_ms\":1,"
		       "\"subscribers\":{}}",
		       "subscribers: must be an array");
	decode_refused(MSG("", SUB(SVC_A, -1, 1, 0, 0)), "subscribers[0].up.bytes");
	decode_refused(MSG("", SUB(SVC_A, 1, 1, 0, 0) ",{\"id\":\"" SVC_B "\",\"up\":{}}"),
		       "subscribers[1].up.bytes");
	decode_refused(MSG("", "{\"id\":7}"), "subscribers[0].id");
	decode_refused(MSG("", SUB(SVC_A, 1, 1, 0, 0) "," SUB(SVC_B, 1, 1, 0, 0) "," SUB(SVC_A, 2, 1, 0, 0)),
		       "subscribers: " SVC_A " more than once");
	decode_refused(MSG("", "1"), "subscribers[0]");
	/* Counters beyond a signed 64-bit integer: not JSON jansson takes, refused. */
	decode_refused(MSG("", SUB(SVC_A, 18446744073709551615, 1, 0, 0)), "not JSON");
	decode_refused("{\"v\":1,\"v\":1}", "not JSON");
}

static void
decode_limits(void **state)
{
	size_t n = USAGE_MSG_SUBSCRIBERS_MAX + 1, cap = n * 100 + 200, len = 0;
	char *buf = malloc(cap);
	struct usage_msg *m = NULL;
	char err[256];

	(void)state;
	assert_non_null(buf);
	len += (size_t)snprintf(buf, cap, "{\"v\":1,\"type\":\"usage\",\"boot_id\":\"ab\",\"seq\":1,"
					  "\"time_ms\":1,\"subscribers\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s" SUB("", 1, 1, 1, 1),
					i ? "," : "");
	len += (size_t)snprintf(buf + len, cap - len, "]}");
	assert_int_equal(usage_msg_decode(buf, len, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most"));
	free(buf);
}

/* ---- IPFIX ------------------------------------------------------------------------------ */

static uint64_t
get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
ipfix_message_layout(void **state)
{
	struct ipfix_record r[2] = {
		{.octets = 1500, .packets = 3, .start_ms = 1000, .end_ms = 6000, .direction = 0,
		 .usage_id = 77},
		{.octets = 9000, .packets = 6, .start_ms = 1000, .end_ms = 6000, .direction = 1,
		 .usage_id = 77},
	};
	uint8_t buf[512];
	int len;

	(void)state;
	assert_int_equal(ipfix_uuid_bytes(SVC_A, r[0].service), 0);
	assert_int_equal(r[0].service[0], 0x0b);
	assert_int_equal(r[0].service[15], 0xe9);
	memcpy(r[1].service, r[0].service, 16);
	assert_int_equal(ipfix_uuid_bytes("0b1c2d3e-4f50-4617-8283-94a5b6c7d8eX", r[0].service),
			 -EINVAL);
	assert_int_equal(ipfix_uuid_bytes("0b1c2d3e4f50-4617-8283-94a5b6c7d8e9a", r[0].service),
			 -EINVAL);
	len = ipfix_encode(buf, sizeof(buf), 1764000000, 5, 9, r, 2);
	assert_int_equal(len, IPFIX_OVERHEAD + 2 * IPFIX_RECORD_LEN);
	/* RFC 7011 §3.1 header */
	assert_int_equal(get(buf, 2), 10);
	assert_int_equal(get(buf + 2, 2), (uint64_t)len);
	assert_int_equal(get(buf + 4, 4), 1764000000);
	assert_int_equal(get(buf + 8, 4), 5);
	assert_int_equal(get(buf + 12, 4), 9);
	/* template set: id 2, template 256 of 8 fields, the last one enterprise 32473 */
	assert_int_equal(get(buf + 16, 2), 2);
	assert_int_equal(get(buf + 20, 2), 256);
	assert_int_equal(get(buf + 22, 2), 8);
	assert_int_equal(get(buf + 24, 2), 1);
	assert_int_equal(get(buf + 28, 2), 2);
	assert_int_equal(get(buf + 52, 2), 0x8001);
	assert_int_equal(get(buf + 54, 2), 16);
	assert_int_equal(get(buf + 56, 4), IPFIX_PEN);
	/* data set */
	assert_int_equal(get(buf + 60, 2), 256);
	assert_int_equal(get(buf + 62, 2), 4 + 2 * IPFIX_RECORD_LEN);
	assert_int_equal(get(buf + 64, 8), 1500);
	assert_int_equal(get(buf + 72, 8), 3);
	assert_int_equal(get(buf + 80, 8), 1000);
	assert_int_equal(get(buf + 88, 8), 6000);
	assert_int_equal(buf[96], 0);
	assert_memory_equal(buf + 97, r[0].service, 16);
	assert_int_equal(get(buf + 113, 8), 77);
	assert_memory_equal(buf + 121, r[0].service, 16);
	assert_int_equal(get(buf + 64 + IPFIX_RECORD_LEN, 8), 9000);
	assert_int_equal(buf[96 + IPFIX_RECORD_LEN], 1);
	/* limits */
	assert_int_equal(ipfix_encode(buf, 100, 0, 0, 0, r, 2), -ENOSPC);
	assert_int_equal(ipfix_encode(buf, sizeof(buf), 0, 0, 0, r, 0), -EINVAL);
	assert_true(ipfix_records_max(1400) * IPFIX_RECORD_LEN + IPFIX_OVERHEAD <= 1400);
	assert_true((ipfix_records_max(1400) + 1) * IPFIX_RECORD_LEN + IPFIX_OVERHEAD > 1400);
	assert_int_equal(ipfix_records_max(10), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delta_first_of_a_boot_is_the_whole_value),
		cmocka_unit_test(delta_is_the_difference),
		cmocka_unit_test(delta_of_missed_messages_is_the_sum),
		cmocka_unit_test(delta_of_a_duplicate_or_old_message_is_nothing),
		cmocka_unit_test(delta_unchanged_is_same),
		cmocka_unit_test(delta_backwards_within_a_boot_is_a_reset),
		cmocka_unit_test(delta_sequence_sums_exactly),
		cmocka_unit_test(verdict_names),
		cmocka_unit_test(decode_a_message),
		cmocka_unit_test(decode_refusals_name_the_member),
		cmocka_unit_test(decode_limits),
		cmocka_unit_test(ipfix_message_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
