/* SPDX-License-Identifier: BSD-3-Clause */
/* The customer domain against a real PostgreSQL (suite 'db'). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bss/customer/customer.h"
#include "pgtest.h"

#define ADMIN_ROLES CUCO_ROLE_BIT(CUCO_ROLE_ADMIN)
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

struct fixture {
	void *pg; /* struct pgtest */
	struct customer *c, *c2;
	struct cuco_principal admin;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (f == NULL || pgtest_setup(&f->pg) < 0)
		return -1;
	f->admin = (struct cuco_principal){.subject = "0b6f1c7e-8d0a-4c55-9a43-3f1f5d0f7a11",
					   .name = "ada", .roles = ADMIN_ROLES,
					   .traceparent = TRACEPARENT};
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	f->c = customer_close(f->c);
	f->c2 = customer_close(f->c2);
	rc = pgtest_teardown(&f->pg);
	free(f);
	return rc;
}

static void
ok(int rc, const struct customer_error *err)
{
	if (rc != 0)
		fail_msg("%d %s [%s]: %s", rc, err->code, err->field, err->message);
}

static json_t *
js(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	assert_non_null(v);
	return v;
}

static struct fixture *
start(void **state)
{
	struct fixture *f = *state;
	struct pgtest *t = pgtest_get(&f->pg);
	struct customer_error err = {0};

	ok(customer_migrate(t->url, &err), &err);
	ok(customer_migrate(t->url, &err), &err); /* idempotent */
	ok(customer_open(t->url, &f->c, &err), &err);
	ok(customer_open(t->url, &f->c2, &err), &err);
	return f;
}

static long long
count(struct fixture *f, const char *sql)
{
	char buf[64];

	pgtest_admin_value(pgtest_get(&f->pg), sql, buf, sizeof(buf));
	return atoll(buf);
}

/* A party and its customer (status @status); the customer's id into @id. */
static void
make(struct fixture *f, const char *given, const char *status, char id[37])
{
	struct customer_error err = {0};
	json_t *body, *party = NULL, *cust = NULL;
	char text[512];
	int64_t v;

	snprintf(text, sizeof(text),
		 "{\"givenName\": \"%s\", \"familyName\": \"Tester\","
		 " \"birthDate\": \"1970-01-02\", \"contactMedium\": [{\"mediumType\": \"email\","
		 " \"characteristic\": {\"emailAddress\": \"%s@example.org\"}}]}",
		 given, given);
	body = js(text);
	ok(customer_party_create(f->c, &f->admin, CUSTOMER_INDIVIDUAL, body, &party, &v, &err),
	   &err);
	json_decref(body);
	snprintf(text, sizeof(text),
		 "{\"engagedParty\": {\"id\": \"%s\"}, \"status\": \"%s\","
		 " \"account\": [{\"id\": \"BA-42\"}]}",
		 json_string_value(json_object_get(party, "id")), status);
	body = js(text);
	ok(customer_create(f->c, &f->admin, body, &cust, &v, &err), &err);
	assert_int_equal(v, 1);
	snprintf(id, 37, "%s", json_string_value(json_object_get(cust, "id")));
	json_decref(body);
	json_decref(party);
	json_decref(cust);
}

static void
test_versions_and_nothing_half_written(void **state)
{
	struct fixture *f = start(state);
	struct customer_error err = {0};
	json_t *patch, *res = NULL;
	long long events;
	int64_t v = 0;
	char id[37];

	make(f, "Vera", "prospect", id);
	events = count(f, "SELECT count(*) FROM customer.outbox");
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox WHERE traceparent = '"
				  TRACEPARENT "'"),
			 events);
	/* A valid name and an invalid contact medium: nothing of it is written. */
	patch = js("{\"name\": \"Vera Two\", \"contactMedium\": [{\"mediumType\": \"email\","
		   " \"characteristic\": {\"emailAddress\": \"nope\"}}]}");
	assert_int_equal(customer_update(f->c, &f->admin, id, -1, patch, &res, &v, &err), -EINVAL);
	assert_string_equal(err.field, "/contactMedium/0/characteristic/emailAddress");
	json_decref(patch);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox"), events);
	assert_int_equal(count(f, "SELECT max(version) FROM customer.customers"), 1);

	/* Status and name at once: two events, two versions. */
	patch = js("{\"name\": \"Vera Two\", \"status\": \"active\"}");
	ok(customer_update(f->c, &f->admin, id, 1, patch, &res, &v, &err), &err);
	assert_int_equal(v, 3);
	json_decref(res);
	/* The version read is stale now. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(customer_update(f->c2, &f->admin, id, 1, patch, &res, &v, &err), -ESTALE);
	assert_string_equal(err.code, "stale-version");
	json_decref(patch);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox"), events + 2);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.state_history"), 2);

	/* An illegal transition carries the current state. */
	patch = js("{\"status\": \"prospect\"}");
	assert_int_equal(customer_update(f->c, &f->admin, id, -1, patch, &res, &v, &err), -EBUSY);
	assert_string_equal(err.code, "illegal-transition");
	assert_string_equal(err.current_state, "active");
	json_decref(patch);
}

struct redeemer {
	struct fixture *f;
	struct customer *c;
	const char *id;
	int who;
	int ok;
	int refused;
};

static void *
redeem_loop(void *arg)
{
	struct redeemer *r = arg;

	for (int i = 0; i < 20; i++) {
		struct customer_error err = {0};
		char text[128];
		json_t *body, *res = NULL;
		bool created;
		int rc;

		snprintf(text, sizeof(text),
			 "{\"kind\": \"redeem\", \"points\": 5, \"reference\": \"r-%d-%d\"}",
			 r->who, i);
		body = json_loads(text, 0, NULL);
		rc = customer_loyalty_post(r->c, &r->f->admin, r->id, body, &res, &created, &err);
		json_decref(body);
		json_decref(res);
		if (rc == 0)
			r->ok++;
		else if (rc == -EBUSY && strcmp(err.code, "insufficient-points") == 0)
			r->refused++;
	}
	return NULL;
}

static void
test_concurrent_redemptions(void **state)
{
	struct fixture *f = start(state);
	struct customer_error err = {0};
	struct redeemer r[2];
	pthread_t th[2];
	json_t *body, *res = NULL;
	bool created;
	char id[37];

	make(f, "Lars", "active", id);
	body = js("{\"kind\": \"earn\", \"points\": 100, \"reference\": \"welcome\"}");
	ok(customer_loyalty_post(f->c, &f->admin, id, body, &res, &created, &err), &err);
	assert_true(created);
	json_decref(res);
	/* A retry is the same transaction. */
	ok(customer_loyalty_post(f->c2, &f->admin, id, body, &res, &created, &err), &err);
	assert_false(created);
	assert_int_equal(json_integer_value(json_object_get(res, "balance")), 100);
	json_decref(res);
	json_decref(body);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct redeemer){.f = f, .c = i ? f->c2 : f->c, .id = id, .who = i};
		assert_int_equal(pthread_create(&th[i], NULL, redeem_loop, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r[0].ok + r[1].ok, 20);
	assert_int_equal(r[0].refused + r[1].refused, 20);
	assert_int_equal(count(f, "SELECT loyalty_balance FROM customer.customers"), 0);
	assert_int_equal(count(f, "SELECT min(balance_after) FROM customer.loyalty_transactions"),
			 0);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox WHERE type ="
				  " 'customer.customer.loyalty_redeemed'"),
			 20);
}

static void
test_erase(void **state)
{
	struct fixture *f = start(state);
	struct customer_error err = {0};
	json_t *res = NULL, *body;
	bool now = false;
	char id[37];

	make(f, "Zygmunt", "active", id);
	body = js("{\"channel\": \"post\", \"purpose\": \"marketing\", \"state\": \"given\","
		  " \"source\": \"Zygmunt's letter\"}");
	ok(customer_consent_record(f->c, &f->admin, id, body, &res, &err), &err);
	json_decref(body);
	json_decref(res);
	ok(customer_erase(f->c, &f->admin, id, &res, &now, &err), &err);
	assert_true(now);
	json_decref(res);
	ok(customer_erase(f->c2, &f->admin, id, &res, &now, &err), &err);
	assert_false(now);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "closed");
	json_decref(res);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.customers c, customer.parties p,"
				  " customer.consents k WHERE c::text || p::text || k::text"
				  " LIKE '%Zygmunt%' OR p.birth_date IS NOT NULL"),
			 0);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox WHERE payload::text"
				  " LIKE '%Zygmunt%'"),
			 0);
	/* billing's references stay */
	assert_int_equal(count(f, "SELECT count(*) FROM customer.customers WHERE erased_at IS"
				  " NOT NULL AND status = 'closed'"
				  " AND jsonb_array_length(account) = 1"),
			 1);
	assert_int_equal(count(f, "SELECT count(*) FROM customer.outbox WHERE type IN"
				  " ('customer.customer.erased', 'customer.party.erased')"),
			 2);
	/* no change after */
	body = js("{\"name\": \"Back\"}");
	assert_int_equal(customer_update(f->c, &f->admin, id, -1, body, &res, NULL, &err), -EBUSY);
	assert_string_equal(err.code, "erased");
	json_decref(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions_and_nothing_half_written, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_redemptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
