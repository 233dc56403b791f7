/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bss/core/db.h"
#include "bss/core/eventstore.h"
#include "bss/core/outbox.h"
#include "pgtest.h"

static struct db *
setup_domain(const struct pgtest *t)
{
	struct db *db = NULL;
	char err[512];

	if (db_migrate(t->url, "ledger", NULL, 0, err, sizeof(err)) != 0)
		fail_msg("migrate: %s", err);
	if (db_open_domain(t->url, "ledger", &db, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return db;
}

static void
append(struct db *db, const char *id, int64_t expected, const char *type, int sv, json_t *p)
{
	char err[256];
	size_t n;

	/* Committed at once (no transaction open), then numbered as the relay would. */
	if (outbox_append(db, "account", id, expected, type, sv, p, NULL, NULL, NULL, err,
			  sizeof(err)) != 0)
		fail_msg("append: %s", err);
	if (outbox_number(db, 100, &n, err, sizeof(err)) != 0 || n != 1)
		fail_msg("numbering: %s", err);
	json_decref(p);
}

static void
test_read_aggregate_and_range(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup_domain(t);
	struct es_event *ev = NULL;
	size_t n = 0;
	int64_t last;
	char err[256];

	append(db, "a1", 0, "opened", 1, json_pack("{s:i}", "n", 1));
	append(db, "a2", 0, "opened", 1, json_pack("{s:i}", "n", 2));
	append(db, "a1", 1, "credited", 1, json_pack("{s:i}", "amount", 5));
	append(db, "a1", 2, "credited", 1, json_pack("{s:i}", "amount", 7));

	assert_int_equal(es_read_aggregate(db, NULL, "account", "a1", 0, 0, &ev, &n, err,
					   sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(ev[0].aggregate_version, 1);
	assert_string_equal(ev[0].type, "opened");
	assert_int_equal(ev[2].seq, 4);
	assert_int_equal(json_integer_value(json_object_get(ev[2].payload, "amount")), 7);
	assert_int_equal(strlen(ev[0].time), 27);
	assert_int_equal(ev[0].time[26], 'Z');
	es_events_free(ev, n);

	assert_int_equal(es_read_aggregate(db, NULL, "account", "a1", 1, 1, &ev, &n, err,
					   sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].aggregate_version, 2);
	es_events_free(ev, n);

	assert_int_equal(es_read_aggregate(db, NULL, "account", "none", 0, 0, &ev, &n, err,
					   sizeof(err)),
			 0);
	assert_int_equal(n, 0);
	es_events_free(ev, n);

	assert_int_equal(es_read_range(db, NULL, 1, 2, &ev, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].seq, 2);
	assert_int_equal(ev[1].seq, 3);
	es_events_free(ev, n);
	assert_int_equal(es_read_range(db, NULL, 0, 0, &ev, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(es_last_seq(db, &last, err, sizeof(err)), 0);
	assert_int_equal(last, 4);
	db_close(db);
}

/* version 1 {"name": "Ada Lovelace"} -> 2 {"first", "last"} -> 3 adds "country". */
static int
split_name(json_t *p, void *arg)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *sp = name ? strchr(name, ' ') : NULL;

	(*(int *)arg)++;
	if (sp == NULL)
		return -EINVAL;
	json_object_set_new(p, "first", json_stringn(name, (size_t)(sp - name)));
	json_object_set_new(p, "last", json_string(sp + 1));
	json_object_del(p, "name");
	return 0;
}

static int
add_country(json_t *p, void *arg)
{
	(*(int *)arg)++;
	return json_object_set_new(p, "country", json_string("unknown"));
}

static void
test_upcast_on_read(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup_domain(t);
	struct es_upcasters *u = es_upcasters_new();
	struct es_event *ev = NULL;
	int calls = 0;
	size_t n = 0;
	char err[256];

	assert_int_equal(es_upcaster_add(u, "opened", 1, split_name, &calls), 0);
	assert_int_equal(es_upcaster_add(u, "opened", 2, add_country, &calls), 0);
	assert_int_equal(es_upcaster_add(u, "opened", 2, add_country, &calls), -EEXIST);
	assert_int_equal(es_upcaster_add(u, "opened", 0, add_country, &calls), -EINVAL);

	append(db, "a1", 0, "opened", 1, json_pack("{s:s}", "name", "Ada Lovelace"));
	append(db, "a2", 0, "opened", 2,
	       json_pack("{s:s, s:s}", "first", "Grace", "last", "Hopper"));
	append(db, "a3", 0, "opened", 3,
	       json_pack("{s:s, s:s, s:s}", "first", "Alan", "last", "Turing", "country", "uk"));
	append(db, "a1", 1, "closed", 1, json_object());

	assert_int_equal(es_read_range(db, u, 0, 100, &ev, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ev[i].schema_version, 3);
	assert_string_equal(json_string_value(json_object_get(ev[0].payload, "first")), "Ada");
	assert_string_equal(json_string_value(json_object_get(ev[0].payload, "last")), "Lovelace");
	assert_null(json_object_get(ev[0].payload, "name"));
	assert_string_equal(json_string_value(json_object_get(ev[0].payload, "country")),
			    "unknown");
	assert_string_equal(json_string_value(json_object_get(ev[1].payload, "country")),
			    "unknown");
	assert_string_equal(json_string_value(json_object_get(ev[2].payload, "country")), "uk");
	assert_int_equal(ev[3].schema_version, 1); /* no upcaster for "closed" */
	assert_int_equal(calls, 3);
	es_events_free(ev, n);

	/* The store is not rewritten: version 1 is still what was written. */
	assert_int_equal(es_read_aggregate(db, NULL, "account", "a1", 0, 1, &ev, &n, err,
					   sizeof(err)),
			 0);
	assert_int_equal(ev[0].schema_version, 1);
	es_events_free(ev, n);

	/* A failing upcaster fails the read. */
	append(db, "a4", 0, "opened", 1, json_pack("{s:s}", "name", "Plato"));
	assert_int_equal(es_read_aggregate(db, u, "account", "a4", 0, 0, &ev, &n, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "upcasting version 1"));
	es_upcasters_free(u);
	db_close(db);
}

static void
test_snapshots(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup_domain(t);
	json_t *s = json_pack("{s:i}", "balance", 12), *got = NULL;
	struct es_event *ev = NULL;
	int64_t version = 0;
	int sv = 0;
	size_t n;
	char err[256];

	assert_int_equal(es_snapshot_load(db, "account", "a1", &version, &sv, &got, err,
					  sizeof(err)),
			 -ENOENT);
	append(db, "a1", 0, "opened", 1, json_object());
	append(db, "a1", 1, "credited", 1, json_pack("{s:i}", "amount", 12));
	append(db, "a1", 2, "credited", 1, json_pack("{s:i}", "amount", 3));
	assert_int_equal(es_snapshot_save(db, "account", "a1", 2, 1, s, err, sizeof(err)), 0);
	json_decref(s);
	/* An older snapshot never replaces a newer one. */
	s = json_pack("{s:i}", "balance", 0);
	assert_int_equal(es_snapshot_save(db, "account", "a1", 1, 1, s, err, sizeof(err)), 0);
	json_decref(s);

	assert_int_equal(es_snapshot_load(db, "account", "a1", &version, &sv, &got, err,
					  sizeof(err)),
			 0);
	assert_int_equal(version, 2);
	assert_int_equal(sv, 1);
	assert_int_equal(json_integer_value(json_object_get(got, "balance")), 12);
	json_decref(got);
	/* The rest of the aggregate after the snapshot. */
	assert_int_equal(es_read_aggregate(db, NULL, "account", "a1", version, 0, &ev, &n, err,
					   sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].aggregate_version, 3);
	es_events_free(ev, n);
	db_close(db);
}

static void
test_envelope_roundtrip(void **state)
{
	struct es_event ev = {.seq = 7, .schema_version = 2, .aggregate_version = 3};
	struct es_event back;
	json_t *j;
	char err[256];

	(void)state;
	strcpy(ev.event_id, "0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11");
	strcpy(ev.type, "opened");
	strcpy(ev.aggregate_type, "account");
	strcpy(ev.aggregate_id, "a1");
	strcpy(ev.time, "2024-05-01T10:00:00.000001Z");
	ev.payload = json_pack("{s:i}", "x", 1);
	j = es_event_to_json(&ev, "ledger");
	assert_string_equal(json_string_value(json_object_get(j, "domain")), "ledger");
	assert_int_equal(es_event_from_json(j, &back, err, sizeof(err)), 0);
	assert_int_equal(back.seq, 7);
	assert_int_equal(back.aggregate_version, 3);
	assert_true(json_equal(back.payload, ev.payload));
	json_decref(back.payload);

	json_object_set_new(j, "seq", json_integer(0));
	assert_int_equal(es_event_from_json(j, &back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "seq"));
	json_object_set_new(j, "seq", json_integer(7));
	json_object_set_new(j, "event_id", json_string("not-a-uuid"));
	assert_int_equal(es_event_from_json(j, &back, err, sizeof(err)), -EINVAL);
	json_object_set_new(j, "event_id", json_string(ev.event_id));
	json_object_set_new(j, "payload", json_string("x"));
	assert_int_equal(es_event_from_json(j, &back, err, sizeof(err)), -EINVAL);
	json_object_set_new(j, "payload", json_object());
	json_object_set_new(j, "traceparent", json_string("00-bad"));
	assert_int_equal(es_event_from_json(j, &back, err, sizeof(err)), -EINVAL);
	json_decref(j);
	json_decref(ev.payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_aggregate_and_range, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_upcast_on_read, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_snapshots, pgtest_setup, pgtest_teardown),
		cmocka_unit_test(test_envelope_roundtrip),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
