/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bss/core/db.h"
#include "bss/core/eventstore.h"
#include "bss/core/inbox.h"
#include "bss/core/outbox.h"
#include "controlplane/bus/bus.h"
#include "controlplane/bus/bus_private.h"
#include "pgtest.h"

static const struct db_migration customer_v1[] = {
	{1, "init", "CREATE TABLE customers (id text PRIMARY KEY, name text NOT NULL);"},
};

static const struct db_migration billing_v1[] = {
	{1, "init",
	 "CREATE TABLE seen_events (source text, seq bigint, type text NOT NULL,"
	 " payload jsonb NOT NULL, PRIMARY KEY (source, seq));"},
};

static atomic_bool poison_on;

/* ------------------------------------------------ the customer domain */

static int
customer_command(struct db *db, const struct cuco_principal *who, const char *type,
		 json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	const char *id = json_string_value(json_object_get(payload, "id"));
	const char *params[2] = {id, json_string_value(json_object_get(payload, "name"))};
	char err[256];
	int64_t seq;
	PGresult *res;
	int rc;

	if (strcmp(type, "customer.count") == 0) {
		res = db_exec(db, "SELECT count(*) FROM customers", 0, NULL, err, sizeof(err), NULL);
		if (res == NULL)
			return -EIO;
		*ret_result = json_pack("{s:i}", "count", atoi(PQgetvalue(res, 0, 0)));
		PQclear(res);
		return 0;
	}
	if (strcmp(type, "customer.create") != 0 && strcmp(type, "customer.poison") != 0)
		return -ENOENT;
	if (id == NULL || params[1] == NULL) {
		snprintf(problem->detail, sizeof(problem->detail), "id, name: strings required");
		return -EINVAL;
	}
	res = db_exec(db, "INSERT INTO customers VALUES ($1, $2)", 2, params, err, sizeof(err),
		      NULL);
	if (res == NULL)
		return -EEXIST;
	PQclear(res);
	rc = outbox_append(db, "customer", id, OUTBOX_NEW_AGGREGATE,
			   strcmp(type, "customer.poison") == 0 ? "customer.poison"
								: "customer.created",
			   1, payload, who->traceparent, &seq, NULL, err, sizeof(err));
	if (rc < 0)
		return rc;
	*ret_result = json_pack("{s:s, s:I}", "id", id, "seq", (json_int_t)seq);
	return 0;
}

static bool
customer_is_query(const char *type)
{
	return strcmp(type, "customer.count") == 0;
}

static void
serve_customer(struct bus *bus, const char *url, bool no_notify, unsigned poll_ms,
	       const struct es_upcasters *up)
{
	struct bus_domain d = {
		.name = "customer",
		.db_url = url,
		.command = customer_command,
		.is_query = customer_is_query,
		.upcasters = up,
		.no_notify = no_notify,
		.poll_ms = poll_ms,
		.heartbeat_ms = 200,
	};
	char err[512];

	if (bus_serve(bus, &d, err, sizeof(err)) != 0)
		fail_msg("bus_serve: %s", err);
}

/* --------------------------------------------------- the billing side */

static int
billing_handler(struct db *db, const char *source, const struct es_event *ev, void *arg,
		char *err, size_t errlen)
{
	char seq[24], *payload = json_dumps(ev->payload, JSON_COMPACT);
	const char *params[4] = {source, seq, ev->type, payload};
	PGresult *res;

	snprintf(seq, sizeof(seq), "%lld", (long long)ev->seq);
	res = db_exec(db, "INSERT INTO seen_events VALUES ($1, $2::bigint, $3, $4::jsonb)", 4,
		      params, err, errlen, NULL);
	free(payload);
	if (res == NULL)
		return -EIO;
	PQclear(res);
	if (atomic_load(&poison_on) && strcmp(ev->type, "customer.poison") == 0) {
		snprintf(err, errlen, "poisoned");
		return -EINVAL;
	}
	return 0;
}

static const char *const billing_sources[] = {"customer"};

static void
consume_billing(struct bus *bus, const char *url, unsigned max_attempts)
{
	struct bus_consumer c = {
		.name = "billing",
		.domain = "billing",
		.db_url = url,
		.sources = billing_sources,
		.n_sources = 1,
		.handler = billing_handler,
		.max_attempts = max_attempts,
		.retry_ms = 10,
		.replay_timeout_ms = 500,
	};
	char err[512];

	if (bus_consume(bus, &c, err, sizeof(err)) != 0)
		fail_msg("bus_consume: %s", err);
}

static void
migrate_both(const struct pgtest *t)
{
	char err[512];

	if (db_migrate(t->url, "customer", customer_v1, 1, err, sizeof(err)) != 0 ||
	    db_migrate(t->url, "billing", billing_v1, 1, err, sizeof(err)) != 0)
		fail_msg("migrate: %s", err);
}

static struct bus *
new_bus(void)
{
	struct bus *bus = NULL;
	char err[256];

	assert_int_equal(bus_new(&bus, err, sizeof(err)), 0);
	return bus;
}

/* Wait until @sql (run as the admin) answers @want; fail after 20 s. */
static void
wait_for(const struct pgtest *t, const char *sql, const char *want)
{
	char v[256] = "";

	for (int i = 0; i < 400; i++) {
		pgtest_admin_value(t, sql, v, sizeof(v));
		if (strcmp(v, want) == 0)
			return;
		usleep(50 * 1000);
	}
	fail_msg("%s: got '%s', want '%s'", sql, v, want);
}

#define SEEN "SELECT count(*) FROM billing.seen_events"

static struct cuco_principal admin = {
	.subject = "u-admin",
	.name = "ada",
	.roles = CUCO_ROLE_BIT(CUCO_ROLE_ADMIN),
	.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
};

static void
create(struct bus *bus, const char *type, const char *id)
{
	json_t *p = json_pack("{s:s, s:s}", "id", id, "name", id);
	struct bus_reply r;
	int rc = bus_command(bus, "customer", type, &admin, p, 5000, &r);

	if (rc != 0 || !r.ok)
		fail_msg("command %s %s: %d %s %s", type, id, rc, r.code, r.detail);
	bus_reply_clear(&r);
	json_decref(p);
}

/* Append directly, as a domain would inside its transaction. */
static void
append_direct(const struct pgtest *t, const char *id, int schema_version, json_t *payload)
{
	struct db *db;
	char err[256];

	assert_int_equal(db_open_domain(t->url, "customer", &db, err, sizeof(err)), 0);
	if (outbox_append(db, "customer", id, 0, "customer.created", schema_version, payload, NULL,
			  NULL, NULL, err, sizeof(err)) != 0)
		fail_msg("append: %s", err);
	db_close(db);
	json_decref(payload);
}

/* --------------------------------------------------------------- tests */

static void
test_inproc_commands_and_events(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct bus *bus;
	struct bus_reply r1, r2, r3;
	json_t *p, *stats, *c;
	char id[37];

	migrate_both(t);
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, NULL);
	consume_billing(bus, t->url, 3);
	create(bus, "customer.create", "c1");
	create(bus, "customer.create", "c2");
	create(bus, "customer.create", "c3");
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,2,3");
	/* The trace context crossed the bus into the event. */
	wait_for(t, "SELECT traceparent FROM customer.outbox WHERE seq = 1", admin.traceparent);

	/* The same command id twice: one effect, the same reply. */
	outbox_uuid4(id);
	p = json_pack("{s:s, s:s}", "id", "c4", "name", "Dup");
	assert_int_equal(bus_command_id(bus, id, "customer", "customer.create", &admin, p, 5000, &r1),
			 0);
	assert_int_equal(bus_command_id(bus, id, "customer", "customer.create", &admin, p, 5000, &r2),
			 0);
	assert_true(r1.ok && r2.ok);
	assert_true(json_equal(r1.result, r2.result));
	assert_int_equal(json_integer_value(json_object_get(r1.result, "seq")), 4);
	bus_reply_clear(&r1);
	bus_reply_clear(&r2);
	/* A problem comes back as a problem. */
	assert_int_equal(bus_command(bus, "customer", "customer.create", &admin, p, 5000, &r3), 0);
	assert_false(r3.ok);
	assert_string_equal(r3.code, "exists");
	bus_reply_clear(&r3);
	json_decref(p);
	/* A query. */
	assert_int_equal(bus_command(bus, "customer", "customer.count", &admin, NULL, 5000, &r3), 0);
	assert_true(r3.ok);
	assert_int_equal(json_integer_value(json_object_get(r3.result, "count")), 4);
	bus_reply_clear(&r3);
	/* Nobody serves "nobody": a timeout, not a hang. */
	assert_int_equal(bus_command(bus, "nobody", "x.y", &admin, NULL, 200, &r3), -ETIMEDOUT);
	assert_string_equal(r3.code, "timeout");
	bus_reply_clear(&r3);

	wait_for(t, SEEN, "4");
	usleep(300 * 1000);
	stats = bus_stats(bus);
	c = json_object_get(json_object_get(stats, "domains"), "customer");
	assert_int_equal(json_integer_value(json_object_get(c, "last_committed")), 4);
	assert_int_equal(json_integer_value(json_object_get(c, "last_published")), 4);
	/* Live delivery: the consumer asked for a replay only when it started. */
	assert_true(json_integer_value(json_object_get(c, "replays")) <= 2);
	assert_int_equal(json_integer_value(json_object_get(c, "outbox_lag")), 0);
	c = json_object_get(json_object_get(stats, "consumers"), "billing");
	assert_int_equal(json_integer_value(json_object_get(c, "applied")), 4);
	assert_int_equal(json_integer_value(json_object_get(c, "queue_depth")), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(c, "sources"), "customer"), "position")),
			 4);
	json_decref(stats);
	bus_free(bus);
}

static void
test_restart_catches_up_and_duplicates(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct bus *bus;
	json_t *stats, *c;

	migrate_both(t);
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, NULL);
	consume_billing(bus, t->url, 3);
	create(bus, "customer.create", "c1");
	create(bus, "customer.create", "c2");
	wait_for(t, SEEN, "2");
	bus = bus_free(bus);

	/* Written while nothing runs: the consumer catches up from its position. */
	for (int i = 3; i <= 5; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c%d", i);
		append_direct(t, id, 1, json_pack("{s:s}", "id", id));
	}
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, NULL);
	consume_billing(bus, t->url, 3);
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,2,3,4,5");
	bus = bus_free(bus);

	/* Everything delivered a second time (position lost): applied once. */
	pgtest_admin_exec(t, "UPDATE billing.inbox_position SET seq = 0");
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, NULL);
	consume_billing(bus, t->url, 3);
	wait_for(t, "SELECT seq FROM billing.inbox_position", "5");
	stats = bus_stats(bus);
	c = json_object_get(json_object_get(stats, "consumers"), "billing");
	assert_int_equal(json_integer_value(json_object_get(c, "skipped")), 5);
	assert_int_equal(json_integer_value(json_object_get(c, "applied")), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "failed")), 0);
	json_decref(stats);
	wait_for(t, SEEN, "5");
	bus_free(bus);
}

static void
test_poison_parked_then_replayed(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct inbox in = {.consumer = "billing", .max_attempts = 3, .handler = billing_handler};
	struct bus *bus;
	struct db *db;
	json_t *stats, *list;
	char err[256];

	migrate_both(t);
	atomic_store(&poison_on, true);
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, NULL);
	consume_billing(bus, t->url, 3);
	create(bus, "customer.create", "c1");
	create(bus, "customer.poison", "p2");
	create(bus, "customer.create", "c3");
	/* The poisoned one is parked after 3 attempts; the one behind it still flows. */
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,3");
	wait_for(t, "SELECT seq || ':' || attempts || ':' || error || ':' || state "
		    "FROM billing.dead_letters",
		 "2:3:poisoned:parked");
	usleep(1200 * 1000); /* the dead-letter figure is refreshed every second */
	stats = bus_stats(bus);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(stats, "consumers"), "billing"),
				 "dead_letters")),
			 1);
	json_decref(stats);

	/* Fixed: replay it by hand (an operator's action through the domain). */
	atomic_store(&poison_on, false);
	assert_int_equal(db_open_domain(t->url, "billing", &db, err, sizeof(err)), 0);
	assert_int_equal(inbox_dead_letters(db, "billing", true, 10, &list, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(inbox_dead_letter_replay(
				 db, &in,
				 json_integer_value(json_object_get(json_array_get(list, 0), "id")),
				 err, sizeof(err)),
			 0);
	json_decref(list);
	db_close(db);
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,2,3");
	wait_for(t, "SELECT state FROM billing.dead_letters", "replayed");
	bus_free(bus);
}

static int
add_tier(json_t *payload, void *arg)
{
	return json_object_set_new(payload, "tier", json_string("basic"));
}

/* Consumers get the current version of an old event, by replay and live. */
static void
test_upcast_before_publishing(void **state)
{
	struct pgtest *t = pgtest_get(state);
	struct es_upcasters *up = es_upcasters_new();
	struct bus *bus;

	migrate_both(t);
	assert_int_equal(es_upcaster_add(up, "customer.created", 1, add_tier, NULL), 0);
	append_direct(t, "old", 1, json_pack("{s:s}", "id", "old"));
	bus = new_bus();
	serve_customer(bus, t->url, false, 1000, up);
	consume_billing(bus, t->url, 3);
	wait_for(t, "SELECT payload->>'tier' FROM billing.seen_events WHERE seq = 1", "basic");
	append_direct(t, "new", 1, json_pack("{s:s}", "id", "new"));
	append_direct(t, "newer", 2, json_pack("{s:s, s:s}", "id", "newer", "tier", "gold"));
	wait_for(t, "SELECT string_agg(payload->>'tier', ',' ORDER BY seq) FROM billing.seen_events",
		 "basic,basic,gold");
	/* The outbox itself keeps what was written. */
	wait_for(t, "SELECT count(*) FROM customer.outbox WHERE payload ? 'tier'", "1");
	bus_free(bus);
	es_upcasters_free(up);
}

/* ------------------------------------------------ two processes, tcp */

static void
endpoints(struct bus *bus, int base)
{
	char ev[64], cmd[64], err[256];

	snprintf(ev, sizeof(ev), "tcp://127.0.0.1:%d", base);
	snprintf(cmd, sizeof(cmd), "tcp://127.0.0.1:%d", base + 1);
	assert_int_equal(bus_set_endpoints(bus, "customer", ev, cmd, err, sizeof(err)), 0);
}

/*
 * The publishing side in a process of its own: serve customer on tcp, append
 * @n events, tell the parent on @fd, then wait to be killed. Never returns.
 */
static void
child_publisher(const struct pgtest *t, int base, int n, bool paused, int fd)
{
	struct bus_domain d = {.name = "customer", .db_url = t->url, .heartbeat_ms = 200};
	struct bus *bus;
	char err[512];

	if (paused) { /* a relay that will not get to publish what is committed */
		d.no_notify = true;
		d.poll_ms = 3600 * 1000;
	}
	if (bus_new(&bus, err, sizeof(err)) != 0)
		_exit(2);
	endpoints(bus, base);
	if (bus_serve(bus, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "child: %s\n", err);
		_exit(3);
	}
	for (int i = 1; i <= n; i++) {
		char id[16];
		struct db *db;

		snprintf(id, sizeof(id), "k%d", i);
		if (db_open_domain(t->url, "customer", &db, err, sizeof(err)) != 0 ||
		    outbox_append(db, "customer", id, 0, "customer.created", 1,
				  json_pack("{s:s}", "id", id), NULL, NULL, NULL, err,
				  sizeof(err)) != 0)
			_exit(4);
		db_close(db);
	}
	if (write(fd, "x", 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

static pid_t
spawn_publisher(const struct pgtest *t, int base, int n, bool paused)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_publisher(t, base, n, paused, p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void
stop_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/*
 * Four tcp ports of this process's own (the tests use base .. base + 3),
 * below the kernel's ephemeral range (32768 up): there, any process's
 * outgoing connection may hold one, and the bind would fail.
 */
static int
base_port(void)
{
	return 20000 + (int)(getpid() % 3000) * 4;
}

static void
test_tcp_two_processes(void **state)
{
	struct pgtest *t = pgtest_get(state);
	int base = base_port();
	struct bus *bus;
	pid_t pid;

	migrate_both(t);
	bus = new_bus();
	endpoints(bus, base);
	consume_billing(bus, t->url, 3);
	pid = spawn_publisher(t, base, 3, false);
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,2,3");
	stop_child(pid);
	bus_free(bus);
}

static void
test_kill9_between_commit_and_publish(void **state)
{
	struct pgtest *t = pgtest_get(state);
	int base = base_port() + 2;
	struct bus *bus;
	char v[32];
	pid_t pid;

	migrate_both(t);
	/* Committed, never published: the publisher dies with them in its outbox. */
	pid = spawn_publisher(t, base, 3, true);
	stop_child(pid);
	pgtest_admin_value(t, "SELECT count(*) FROM customer.outbox", v, sizeof(v));
	assert_string_equal(v, "3");

	bus = new_bus();
	endpoints(bus, base);
	consume_billing(bus, t->url, 3);
	usleep(300 * 1000);
	pgtest_admin_value(t, SEEN, v, sizeof(v));
	assert_string_equal(v, "0"); /* nobody to replay from */
	/* The publisher comes back: the consumer gets them from the outbox. */
	pid = spawn_publisher(t, base, 0, false);
	wait_for(t, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM billing.seen_events",
		 "1,2,3");
	stop_child(pid);
	bus_free(bus);
}

/* The reply decoder on its own (no database): a problem needs a code that fits. */
static void
test_reply_parse(void **state)
{
	static const char id[] = "5b1f0c3e-1d2a-4c55-9a43-3f1f5d0f7a11";
	struct bus_reply r = {0};
	json_t *j;

	(void)state;
	j = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "kind", "reply", "id", id, "status",
		      "error", "problem", "code", "not_found", "detail", "no such customer");
	assert_int_equal(bus_reply_parse(j, id, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.code, "not_found");
	assert_int_equal(bus_reply_parse(j, "00000000-0000-4000-8000-000000000000", &r), 1);
	/* Found by fuzz_bus: an empty code was taken, and a long one was cut to 31 bytes. */
	json_object_set_new(json_object_get(j, "problem"), "code", json_string(""));
	assert_int_equal(bus_reply_parse(j, id, &r), -EPROTO);
	json_object_set_new(json_object_get(j, "problem"), "code",
			    json_string("not_found_and_then_some_more_text"));
	assert_int_equal(bus_reply_parse(j, id, &r), -EPROTO);
	json_object_set_new(json_object_get(j, "problem"), "code",
			    json_stringn("not\0found", 9));
	assert_int_equal(bus_reply_parse(j, id, &r), -EPROTO);
	json_decref(j);

	j = json_pack("{s:s, s:s, s:s, s:{}}", "kind", "reply", "id", id, "status", "ok", "result");
	assert_int_equal(bus_reply_parse(j, id, &r), 0);
	assert_true(r.ok);
	assert_non_null(r.result);
	bus_reply_clear(&r);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test_setup_teardown(test_inproc_commands_and_events, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_restart_catches_up_and_duplicates,
						pgtest_setup, pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_poison_parked_then_replayed, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_upcast_before_publishing, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_tcp_two_processes, pgtest_setup,
						pgtest_teardown),
		cmocka_unit_test_setup_teardown(test_kill9_between_commit_and_publish,
						pgtest_setup, pgtest_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
