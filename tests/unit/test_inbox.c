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

#include "bss/core/command.h"
#include "bss/core/db.h"
#include "bss/core/eventstore.h"
#include "bss/core/inbox.h"
#include "bss/core/outbox.h"
#include "pgtest.h"

/* The consumer's own table: what its handler does. */
static const struct db_migration billing_v1[] = {
	{1, "init", "CREATE TABLE seen_events (seq bigint PRIMARY KEY, type text NOT NULL);"},
};

struct harness {
	int calls;
	int batch_calls, batched; /* batch_handler: calls, events */
	bool poison_on; /* events of type "poison" fail while set */
};

static int
handler(struct db *db, const char *source, const struct es_event *ev, void *arg, char *err,
	size_t errlen)
{
	struct harness *h = arg;
	char seq[24];
	const char *params[2] = {seq, ev->type};
	PGresult *res;

	h->calls++;
	snprintf(seq, sizeof(seq), "%lld", (long long)ev->seq);
	/* Write first, fail after: the failure must roll the write back. */
	res = db_exec(db, "INSERT INTO seen_events VALUES ($1::bigint, $2)", 2, params, err,
		      errlen, NULL);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	if (h->poison_on && strcmp(ev->type, "poison") == 0) {
		snprintf(err, errlen, "cannot digest %s", ev->type);
		return -EINVAL;
	}
	return 0;
}

/* The same events at once: fails as a whole when one is poison. */
static int
batch_handler(struct db *db, const char *source, const struct es_event *ev, size_t n, void *arg,
	      char *err, size_t errlen)
{
	struct harness *h = arg;

	h->batch_calls++;
	h->batched += (int)n;
	for (size_t i = 0; i < n; i++) {
		int rc = handler(db, source, &ev[i], arg, err, errlen);

		h->calls--; /* counted as batched, not one by one */
		if (rc)
			return rc;
	}
	return 0;
}

static struct db *
setup(const struct pgtest *t)
{
	struct db *db = NULL;
	char err[512];

	if (db_migrate(t->url, "billing", billing_v1, 1, err, sizeof(err)) != 0)
		fail_msg("migrate: %s", err);
	if (db_open_domain(t->url, "billing", &db, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return db;
}

static void
make_event(struct es_event *ev, int64_t seq, const char *type)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	outbox_uuid4(ev->event_id);
	snprintf(ev->type, sizeof(ev->type), "%s", type);
	ev->schema_version = 1;
	strcpy(ev->aggregate_type, "customer");
	strcpy(ev->aggregate_id, "c1");
	ev->aggregate_version = seq;
	strcpy(ev->time, "2024-05-01T10:00:00.000000Z");
	ev->payload = json_object();
}

static enum inbox_outcome
apply(struct db *db, const struct inbox *in, const struct es_event *ev)
{
	enum inbox_outcome out = INBOX_GAP;
	char err[512];
	int rc = inbox_apply(db, in, "customer", ev, &out, err, sizeof(err));

	if (rc != 0)
		fail_msg("inbox_apply: %d %s", rc, err);
	return out;
}

static void
count_rows(const struct pgtest *t, const char *sql, const char *want)
{
	char v[64];

	pgtest_admin_value(t, sql, v, sizeof(v));
	assert_string_equal(v, want);
}

static void
test_apply_once_in_order(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct harness h = {0};
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = handler, .arg = &h};
	struct es_event e1, e2, e3, again;
	int64_t pos;
	char err[256];

	make_event(&e1, 1, "created");
	make_event(&e2, 2, "renamed");
	make_event(&e3, 3, "renamed");
	assert_int_equal(apply(db, &in, &e1), INBOX_APPLIED);
	assert_int_equal(apply(db, &in, &e1), INBOX_SKIPPED); /* same delivery twice */
	assert_int_equal(apply(db, &in, &e3), INBOX_GAP);     /* 2 is missing */
	assert_int_equal(apply(db, &in, &e2), INBOX_APPLIED);
	assert_int_equal(apply(db, &in, &e3), INBOX_APPLIED);
	/* The same event id under a later seq (a republished event): moved past, not applied. */
	again = e3;
	again.seq = 4;
	assert_int_equal(apply(db, &in, &again), INBOX_SKIPPED);
	assert_int_equal(h.calls, 3);
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 4);
	assert_int_equal(inbox_position(db, "other", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 0);
	count_rows(t, "SELECT count(*) FROM billing.seen_events", "3");
	json_decref(e1.payload);
	json_decref(e2.payload);
	json_decref(e3.payload);
	db_close(db);
}

/* A batch: one transaction; it stops after a failure, which is recorded. */
static void
test_apply_batch(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct harness h = {.poison_on = true};
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = handler, .arg = &h};
	enum inbox_outcome out[4];
	struct es_event ev[4];
	char err[512];
	int64_t pos;
	size_t n;

	make_event(&ev[0], 1, "created");
	make_event(&ev[1], 2, "renamed");
	make_event(&ev[2], 3, "poison");
	make_event(&ev[3], 4, "renamed");
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 4, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], INBOX_APPLIED);
	assert_int_equal(out[1], INBOX_APPLIED);
	assert_int_equal(out[2], INBOX_FAILED);
	/* Without savepoints first; the failure rolled that back and the batch ran again with them. */
	assert_int_equal(h.calls, 6);
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 2);
	count_rows(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		   "1,2");
	count_rows(t, "SELECT attempts FROM billing.inbox_failures", "1");
	/* Again from the failed one, healed: the rest in one go; the applied ones skipped. */
	h.poison_on = false;
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 4, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[0], INBOX_SKIPPED);
	assert_int_equal(out[1], INBOX_SKIPPED);
	assert_int_equal(out[2], INBOX_APPLIED);
	assert_int_equal(out[3], INBOX_APPLIED);
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 4);
	/* A gap stops the batch where it is. */
	json_decref(ev[0].payload);
	make_event(&ev[0], 6, "renamed");
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 1, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], INBOX_GAP);
	for (int i = 0; i < 4; i++)
		json_decref(ev[i].payload);
	db_close(db);
}

/* A handler that dedupes by itself: no inbox_seen rows, positions still keep repeats out. */
static void
test_handler_dedupes(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct harness h = {0};
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = handler,
			   .arg = &h, .handler_dedupes = true};
	enum inbox_outcome out[2];
	struct es_event ev[2];
	char err[512];
	int64_t pos;
	size_t n;

	make_event(&ev[0], 1, "created");
	make_event(&ev[1], 2, "renamed");
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 2, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], INBOX_APPLIED);
	assert_int_equal(out[1], INBOX_APPLIED);
	assert_int_equal(h.calls, 2);
	assert_int_equal(apply(db, &in, &ev[1]), INBOX_SKIPPED);
	assert_int_equal(h.calls, 2);
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 2);
	count_rows(t, "SELECT count(*) FROM billing.inbox_seen", "0");
	count_rows(t, "SELECT count(*) FROM billing.seen_events", "2");
	json_decref(ev[0].payload);
	json_decref(ev[1].payload);
	db_close(db);
}

/* A batch handler gets a batch's new events at once; a failure falls back to one by one. */
static void
test_batch_handler(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct harness h = {.poison_on = true};
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = handler,
			   .arg = &h, .handler_dedupes = true, .batch_handler = batch_handler};
	enum inbox_outcome out[5];
	struct es_event ev[5];
	char err[512];
	int64_t pos;
	size_t n;

	make_event(&ev[0], 1, "created");
	make_event(&ev[1], 2, "renamed");
	make_event(&ev[2], 3, "renamed");
	make_event(&ev[3], 4, "poison");
	make_event(&ev[4], 5, "renamed");
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 3, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(h.batch_calls, 1);
	assert_int_equal(h.batched, 3);
	assert_int_equal(h.calls, 0);
	/* 1..3 again with 4 and 5: the applied ones skipped, the poison fails the batch. */
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 5, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(h.batch_calls, 2);
	assert_int_equal(n, 4);
	assert_int_equal(out[0], INBOX_SKIPPED);
	assert_int_equal(out[2], INBOX_SKIPPED);
	assert_int_equal(out[3], INBOX_FAILED);
	assert_int_equal(h.calls, 1); /* the poison, one by one */
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 3);
	count_rows(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		   "1,2,3");
	count_rows(t, "SELECT count(*) FROM billing.inbox_seen", "0");
	/* Healed, with a failure on record: one by one, not batched. */
	h.poison_on = false;
	assert_int_equal(inbox_apply_batch(db, &in, "customer", ev, 5, out, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 5);
	assert_int_equal(out[3], INBOX_APPLIED);
	assert_int_equal(out[4], INBOX_APPLIED);
	assert_int_equal(h.batch_calls, 2);
	assert_int_equal(inbox_position(db, "billing", "customer", &pos, err, sizeof(err)), 0);
	assert_int_equal(pos, 5);
	count_rows(t, "SELECT count(*) FROM billing.inbox_failures", "0");
	for (int i = 0; i < 5; i++)
		json_decref(ev[i].payload);
	db_close(db);
}

/* Dedupe records older than the retention go, in bites; newer ones stay. */
static void
test_prune(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	char err[256];
	size_t n;

	pgtest_admin_value(t,
			   "INSERT INTO billing.inbox_seen (consumer, id, source, seen_at) SELECT "
			   "'billing', 'old-' || i, 'customer', now() - interval '8 days' FROM "
			   "generate_series(1, 5) i; INSERT INTO billing.inbox_seen (consumer, id, "
			   "source) VALUES ('billing', 'new', 'customer'); SELECT 1",
			   err, sizeof(err));
	assert_int_equal(inbox_prune(db, 7 * 86400, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(inbox_prune(db, 7 * 86400, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(inbox_prune(db, 7 * 86400, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	count_rows(t, "SELECT string_agg(id, ',') FROM billing.inbox_seen", "new");
	db_close(db);
}

static void
test_poison_parked_then_replayed(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct harness h = {.poison_on = true};
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = handler, .arg = &h};
	struct es_event e1, bad, e3;
	json_t *list = NULL, *first;
	int64_t parked, id;
	char err[512];

	make_event(&e1, 1, "created");
	make_event(&bad, 2, "poison");
	make_event(&e3, 3, "renamed");
	assert_int_equal(apply(db, &in, &e1), INBOX_APPLIED);
	assert_int_equal(apply(db, &in, &bad), INBOX_FAILED);
	assert_int_equal(apply(db, &in, &e3), INBOX_GAP); /* waits behind it meanwhile */
	assert_int_equal(apply(db, &in, &bad), INBOX_FAILED);
	count_rows(t, "SELECT attempts FROM billing.inbox_failures", "2");
	assert_int_equal(apply(db, &in, &bad), INBOX_PARKED);
	/* Parked: the ones behind it go through. */
	assert_int_equal(apply(db, &in, &e3), INBOX_APPLIED);
	count_rows(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		   "1,3");
	count_rows(t, "SELECT count(*) FROM billing.inbox_failures", "0");

	assert_int_equal(inbox_dead_letters_parked(db, "billing", &parked, err, sizeof(err)), 0);
	assert_int_equal(parked, 1);
	assert_int_equal(inbox_dead_letters(db, "billing", true, 10, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 1);
	first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "error")),
			    "cannot digest poison");
	assert_int_equal(json_integer_value(json_object_get(first, "attempts")), 3);
	assert_int_equal(json_integer_value(json_object_get(first, "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(first, "state")), "parked");
	id = json_integer_value(json_object_get(first, "id"));
	json_decref(list);

	/* Replay while still failing: counted, still parked. */
	assert_int_equal(inbox_dead_letter_replay(db, &in, id, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "cannot digest poison");
	count_rows(t, "SELECT attempts || state FROM billing.dead_letters", "4parked");
	/* The bug is fixed: replay applies it and marks it replayed. */
	h.poison_on = false;
	assert_int_equal(inbox_dead_letter_replay(db, &in, id, err, sizeof(err)), 0);
	count_rows(t, "SELECT state || (replayed_at IS NOT NULL) FROM billing.dead_letters",
		   "replayedtrue");
	count_rows(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		   "1,2,3");
	assert_int_equal(inbox_dead_letter_replay(db, &in, id, err, sizeof(err)), -ENOENT);
	assert_int_equal(inbox_dead_letters_parked(db, NULL, &parked, err, sizeof(err)), 0);
	assert_int_equal(parked, 0);
	json_decref(e1.payload);
	json_decref(bad.payload);
	json_decref(e3.payload);
	db_close(db);
}

static int
open_account(struct db *db, const struct cuco_principal *who, const char *type, json_t *payload,
	     void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	const char *id = json_string_value(json_object_get(payload, "id"));
	int64_t seq;
	char err[256];
	int rc;

	(*(int *)arg)++;
	if (id == NULL) {
		snprintf(problem->detail, sizeof(problem->detail), "id: a string is required");
		return -EINVAL;
	}
	rc = outbox_append(db, "account", id, OUTBOX_NEW_AGGREGATE, "account.opened", 1, payload,
			   who->traceparent, &seq, NULL, err, sizeof(err));
	if (rc == -EAGAIN) {
		snprintf(problem->code, sizeof(problem->code), "exists");
		snprintf(problem->detail, sizeof(problem->detail), "account %s exists", id);
		return rc;
	}
	if (rc < 0)
		return rc;
	*ret_result = json_pack("{s:I}", "seq", (json_int_t)seq);
	return 0;
}

static void
test_command_idempotent(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct db *db = setup(t);
	struct cuco_principal who = {.subject = "u1", .roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN)};
	json_t *p = json_pack("{s:s}", "id", "a1"), *bad = json_object(), *r1, *r2, *r3;
	char id1[37], id2[37], err[256];
	int calls = 0;

	outbox_uuid4(id1);
	outbox_uuid4(id2);
	assert_int_equal(cmd_execute(db, id1, "account.open", &who, p, false, open_account, &calls,
				     &r1, err, sizeof(err)),
			 0);
	assert_int_equal(cmd_execute(db, id1, "account.open", &who, p, false, open_account, &calls,
				     &r2, err, sizeof(err)),
			 0);
	assert_int_equal(calls, 1);
	assert_true(json_equal(r1, r2));
	assert_string_equal(json_string_value(json_object_get(r1, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r1, "result"), "seq")),
			 1);
	/* Another id, same account: the domain's own problem, nothing recorded. */
	assert_int_equal(cmd_execute(db, id2, "account.open", &who, p, false, open_account, &calls,
				     &r3, err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(json_object_get(r3, "status")), "error");
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(r3, "problem"), "code")),
			    "exists");
	json_decref(r3);
	outbox_uuid4(id2);
	assert_int_equal(cmd_execute(db, id2, "account.open", &who, bad, false, open_account,
				     &calls, &r3, err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(r3, "problem"), "code")),
			    "invalid");
	count_rows(t, "SELECT count(*) FROM billing.outbox", "1");
	count_rows(t, "SELECT count(*) FROM billing.inbox_seen WHERE consumer = 'command'", "1");
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
	json_decref(p);
	json_decref(bad);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_once_in_order, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_apply_batch, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_handler_dedupes, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_batch_handler, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_prune, pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_poison_parked_then_replayed, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_command_idempotent, pgtest_setup,
						pgtest_teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
