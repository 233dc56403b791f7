/* SPDX-License-Identifier: BSD-3-Clause */
/* Usage against a real PostgreSQL (suite 'db'): the collector's transaction and the feeds. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bss/billing/billing.h"
#include "bss/billing/feed.h"
#include "bss/billing/usage.h"
#include "bss/core/db.h"
#include "pgtest.h"

#define SVC_A "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
#define SVC_B "1b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

struct fixture {
	void *pg; /* struct pgtest */
	struct db *db;
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pgtest *t;
	char err[512];

	*state = f;
	if (f == NULL || pgtest_setup(&f->pg) < 0)
		return -1;
	t = f->pg;
	if (!t->available)
		return 0;
	if (billing_migrate(t->url, err, sizeof(err)) != 0 ||
	    db_open_domain(t->url, "billing", &f->db, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/cuco-feed-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	f->db = db_close(f->db);
	if (f->dir[0]) {
		DIR *d = opendir(f->dir);
		struct dirent *e;
		char p[512];

		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' && (e->d_name[1] == 0 || e->d_name[1] == '.'))
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(f->dir);
	}
	rc = pgtest_teardown(&f->pg);
	free(f);
	return rc;
}

/* A message of @n services with their up/down bytes (packets = bytes / 100). */
static struct usage_msg *
msg(const char *boot, int64_t seq, int64_t t, bool final, size_t n, const char *const *ids,
    const uint64_t *up, const uint64_t *down)
{
	struct usage_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	snprintf(m->boot_id, sizeof(m->boot_id), "%s", boot);
	m->seq = seq;
	m->time_ms = t;
	m->final = final;
	m->subs = calloc(n ? n : 1, sizeof(*m->subs));
	m->n_subs = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(m->subs[i].id, sizeof(m->subs[i].id), "%s", ids[i]);
		m->subs[i].c = (struct usage_counters){up[i], down[i], up[i] / 100, down[i] / 100};
	}
	return m;
}

static void
apply1(struct fixture *f, struct usage_msg *m)
{
	char err[512];
	int rc = usage_store_apply(f->db, "edge", &m, 1, NULL, err, sizeof(err));

	usage_msg_free(m);
	if (rc != 0)
		fail_msg("apply: %d %s", rc, err);
}

static int64_t
value(struct fixture *f, const char *sql)
{
	char buf[64];

	pgtest_admin_value(f->pg, sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

#define SUM_UP(svc) "SELECT coalesce(sum(bytes_up), 0) FROM billing.usage WHERE service_id = '" svc "'"
#define SUM_DOWN(svc)                                                                        \
	"SELECT coalesce(sum(bytes_down), 0) FROM billing.usage WHERE service_id = '" svc "'"
#define ROWS "SELECT count(*) FROM billing.usage"

static void
deltas_duplicates_gaps_and_restarts(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {SVC_A, SVC_B};

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	apply1(f, msg("boot1", 1, T0, false, 2, ids, (uint64_t[]){1000, 0}, (uint64_t[]){5000, 0}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1000);
	assert_int_equal(value(f, SUM_DOWN(SVC_A)), 5000);
	/* B counted nothing yet: no row, no position */
	assert_int_equal(value(f, ROWS), 1);
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_positions"), 1);
	/* the same message again: nothing */
	apply1(f, msg("boot1", 1, T0, false, 2, ids, (uint64_t[]){1000, 0}, (uint64_t[]){5000, 0}));
	assert_int_equal(value(f, ROWS), 1);
	/* seq 2, 3 lost; 4 carries the sum */
	apply1(f, msg("boot1", 4, T0 + 20000, false, 2, ids, (uint64_t[]){1600, 300},
		      (uint64_t[]){5000, 700}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1600);
	assert_int_equal(value(f, SUM_DOWN(SVC_A)), 5000);
	assert_int_equal(value(f, SUM_UP(SVC_B)), 300);
	assert_int_equal(value(f, ROWS), 3);
	/* A's second interval starts where its first ended */
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage WHERE service_id = '" SVC_A
				  "' AND seq = 4 AND start_time = to_timestamp(1764000000) AND "
				  "end_time = to_timestamp(1764000020)"),
			 1);
	/* an old message after a newer one: nothing */
	apply1(f, msg("boot1", 3, T0 + 15000, false, 2, ids, (uint64_t[]){1500, 200},
		      (uint64_t[]){5000, 600}));
	assert_int_equal(value(f, ROWS), 3);
	/* the dataplane restarts: a new boot id, its counters from zero are counted whole */
	apply1(f, msg("boot2", 1, T0 + 40000, false, 2, ids, (uint64_t[]){100, 10},
		      (uint64_t[]){200, 20}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1700);
	assert_int_equal(value(f, SUM_DOWN(SVC_B)), 720);
	/* ... over the interval since the previous boot's last message */
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage WHERE boot_id = 'boot2' "
				  "AND start_time = to_timestamp(1764000020)"),
			 2);
	/* a message of the old boot replayed after the restart: nothing */
	apply1(f, msg("boot1", 4, T0 + 20000, false, 2, ids, (uint64_t[]){1600, 300},
		      (uint64_t[]){5000, 700}));
	apply1(f, msg("boot2", 1, T0 + 40000, false, 2, ids, (uint64_t[]){100, 10},
		      (uint64_t[]){200, 20}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1700);
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_boots"), 2);
}

static void
final_messages_and_resets(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {SVC_A};

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	apply1(f, msg("b", 1, T0, false, 1, a, (uint64_t[]){1000}, (uint64_t[]){0}));
	/* deleted: its last counters in a final message count */
	apply1(f, msg("b", 2, T0 + 1000, true, 1, a, (uint64_t[]){1200}, (uint64_t[]){0}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1200);
	/* added again in the same boot: its slot starts from zero, no reset */
	apply1(f, msg("b", 3, T0 + 2000, false, 1, a, (uint64_t[]){50}, (uint64_t[]){0}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1250);
	assert_int_equal(value(f, "SELECT resets FROM billing.usage_boots"), 0);
	/* deleted and added again with the final message missed: backwards is a reset */
	apply1(f, msg("b", 6, T0 + 5000, false, 1, a, (uint64_t[]){30}, (uint64_t[]){0}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1280);
	assert_int_equal(value(f, "SELECT resets FROM billing.usage_boots"), 1);
	apply1(f, msg("b", 7, T0 + 6000, false, 1, a, (uint64_t[]){45}, (uint64_t[]){0}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 1295);
}

static void
restart_of_the_collector_resumes_exactly(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {SVC_A};
	struct usage_msg *batch[3];
	struct usage_apply_stats st = {0};
	char err[512];

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	/* several messages in one transaction */
	batch[0] = msg("b", 1, T0, false, 1, a, (uint64_t[]){100}, (uint64_t[]){1});
	batch[1] = msg("b", 2, T0 + 1000, false, 1, a, (uint64_t[]){300}, (uint64_t[]){1});
	batch[2] = msg("b", 2, T0 + 1000, false, 1, a, (uint64_t[]){300}, (uint64_t[]){1});
	assert_int_equal(usage_store_apply(f->db, "edge", batch, 3, &st, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		usage_msg_free(batch[i]);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.old, 1);
	assert_int_equal(st.bytes, 301);
	/* a new connection (controld restarted) sees where it stood */
	db_close(f->db);
	assert_int_equal(db_open_domain(((struct pgtest *)f->pg)->url, "billing", &f->db, err,
					sizeof(err)),
			 0);
	apply1(f, msg("b", 2, T0 + 1000, false, 1, a, (uint64_t[]){300}, (uint64_t[]){1}));
	apply1(f, msg("b", 3, T0 + 2000, false, 1, a, (uint64_t[]){450}, (uint64_t[]){1}));
	assert_int_equal(value(f, SUM_UP(SVC_A)), 450);
	assert_int_equal(value(f, SUM_DOWN(SVC_A)), 1);
}

static void
old_boots_pruned_but_never_the_newest(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {SVC_A};
	char err[256];

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	/* two boots of edge, both long ago; one of another dataplane, long ago too */
	apply1(f, msg("old", 1, T0, false, 1, a, (uint64_t[]){10}, (uint64_t[]){0}));
	apply1(f, msg("new", 1, T0 + 1000, false, 1, a, (uint64_t[]){20}, (uint64_t[]){0}));
	{
		struct usage_msg *m = msg("other", 1, T0, false, 1, a, (uint64_t[]){5},
					  (uint64_t[]){0});

		assert_int_equal(usage_store_apply(f->db, "edge2", &m, 1, NULL, err, sizeof(err)),
				 0);
		usage_msg_free(m);
	}
	assert_int_equal(usage_store_prune(f->db, 35, err, sizeof(err)), 1);
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_boots WHERE boot_id = "
				  "'old'"),
			 0);
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_positions"), 2);
	/* usage rows stay: only the guard against replays of that boot went */
	assert_int_equal(value(f, SUM_UP(SVC_A)), 35);
	assert_int_equal(usage_store_prune(f->db, 35, err, sizeof(err)), 0);
	/* nothing recent is touched */
	assert_int_equal(usage_store_prune(f->db, 100000, err, sizeof(err)), 0);
}

static void
monthly_partitions(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {SVC_A};

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	/* 2026-01-31T23:59:59Z then 2026-02-01T00:00:09Z: the second delta starts in January */
	apply1(f, msg("b", 1, 1769903999000LL, false, 1, a, (uint64_t[]){10}, (uint64_t[]){0}));
	apply1(f, msg("b", 2, 1769904009000LL, false, 1, a, (uint64_t[]){25}, (uint64_t[]){0}));
	apply1(f, msg("b", 3, 1769904019000LL, false, 1, a, (uint64_t[]){40}, (uint64_t[]){0}));
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_2026_01"), 2);
	assert_int_equal(value(f, "SELECT count(*) FROM billing.usage_2026_02"), 1);
	assert_int_equal(value(f, SUM_UP(SVC_A)), 40);
}

static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char p[512];
	FILE *fp;
	char *buf;
	long n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fp = fopen(p, "rb");
	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
csv_feed_batches_manifests_and_positions(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {SVC_A, SVC_B};
	struct feed_config fc = {.name = "bill", .source = "usage", .format = FEED_CSV,
				 .max_records = 3};
	struct feed_result r;
	struct feed *feed = NULL;
	char err[512], *csv, *csv2, *man;
	size_t len, len2;
	json_t *mj;

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	snprintf(fc.target, sizeof(fc.target), "%s", f->dir);
	assert_int_equal(feed_open(&fc, &feed, err, sizeof(err)), 0);
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.batch, 0); /* nothing yet */
	for (int i = 1; i <= 3; i++)
		apply1(f, msg("b", i, T0 + i * 1000, false, 2, ids,
			      (uint64_t[]){(uint64_t)i * 100, (uint64_t)i * 10},
			      (uint64_t[]){0, 7}));
	assert_int_equal(value(f, ROWS), 6);
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.batch, 1);
	assert_int_equal(r.records, 3);
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.batch, 2);
	assert_int_equal(r.records, 3);
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.batch, 0);
	csv = slurp(f->dir, "bill-000000000001.csv", &len);
	assert_non_null(csv);
	assert_non_null(strstr(csv, "id,service_id,dataplane,boot_id,seq,start_time,end_time,"
				    "bytes_up,bytes_down,packets_up,packets_down\r\n"));
	assert_non_null(strstr(csv, "," SVC_A ",edge,b,1,"));
	man = slurp(f->dir, "bill-000000000001.manifest.json", &len2);
	mj = json_loads(man, 0, NULL);
	assert_non_null(mj);
	assert_int_equal(json_integer_value(json_object_get(mj, "records")), 3);
	assert_int_equal(json_integer_value(json_object_get(mj, "batch")), 1);
	assert_int_equal(json_integer_value(json_object_get(mj, "bytes")), (json_int_t)len);
	assert_string_equal(json_string_value(json_object_get(mj, "file")), "bill-000000000001.csv");
	assert_int_equal(strlen(json_string_value(json_object_get(mj, "sha256"))), 64);
	json_decref(mj);
	free(man);
	/* a crash before the position was committed: the same batch again, identical */
	pgtest_admin_exec(f->pg, "UPDATE billing.feed_positions SET last_id = 0, batch = 0, "
				 "records = 0");
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.batch, 1);
	csv2 = slurp(f->dir, "bill-000000000001.csv", &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(csv, csv2, len);
	free(csv);
	free(csv2);
	/* no temporary file left behind */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/.bill-000000000001.csv.tmp", f->dir);
		assert_int_equal(access(p, F_OK), -1);
	}
	feed_close(feed);
}

static void
jsonl_feed_and_tmf635_reads(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {SVC_A, SVC_B};
	struct feed_config fc = {.name = "j", .source = "usage", .format = FEED_JSONL};
	struct cuco_principal staff = {.subject = "u1", .roles = CUCO_ROLE_BIT(CUCO_ROLE_BILLING)};
	struct cuco_principal self = {.subject = "u2", .roles = CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE)};
	struct usage_filter uf = {.service_id = SVC_B, .limit = 10};
	struct feed_result r;
	struct feed *feed = NULL;
	char err[512], *jl;
	int64_t total = 0;
	json_t *items = NULL, *doc = NULL;
	size_t len;

	if (!pgtest_get((void **)&f->pg)->available)
		return;
	snprintf(fc.target, sizeof(fc.target), "%s", f->dir);
	apply1(f, msg("b", 1, T0, false, 2, ids, (uint64_t[]){100, 200}, (uint64_t[]){1, 2}));
	assert_int_equal(feed_open(&fc, &feed, err, sizeof(err)), 0);
	assert_int_equal(feed_run(feed, f->db, &r, err, sizeof(err)), 0);
	assert_int_equal(r.records, 2);
	jl = slurp(f->dir, "j-000000000001.jsonl", &len);
	assert_non_null(jl);
	assert_non_null(strstr(jl, "\"service_id\":\"" SVC_B "\""));
	assert_non_null(strstr(jl, "\"bytes_up\":200,\"bytes_down\":2"));
	free(jl);
	feed_close(feed);

	assert_int_equal(usage_list(f->db, &staff, &uf, &items, &total, err, sizeof(err)), 0);
	assert_int_equal(total, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "usageType")),
			    "data");
	doc = json_array_get(json_object_get(json_array_get(items, 0), "usageCharacteristic"), 5);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), "bytesUp");
	assert_int_equal(json_integer_value(json_object_get(doc, "value")), 200);
	assert_int_equal(usage_get(f->db, &staff,
				   json_string_value(json_object_get(json_array_get(items, 0), "id")),
				   &doc, err, sizeof(err)),
			 0);
	json_decref(doc);
	json_decref(items);
	uf = (struct usage_filter){.from = "2025-11-24T16:00:01Z", .limit = 10};
	assert_int_equal(usage_list(f->db, &staff, &uf, &items, &total, err, sizeof(err)), 0);
	assert_int_equal(total, 0);
	json_decref(items);
	uf = (struct usage_filter){.from = "2025-11-24", .to = "2025-11-25", .limit = 10};
	assert_int_equal(usage_list(f->db, &staff, &uf, &items, &total, err, sizeof(err)), 0);
	assert_int_equal(total, 2);
	json_decref(items);
	uf = (struct usage_filter){.service_id = "nope", .limit = 10};
	assert_int_equal(usage_list(f->db, &staff, &uf, &items, &total, err, sizeof(err)), -EINVAL);
	assert_int_equal(usage_list(f->db, &self, &uf, &items, &total, err, sizeof(err)), -EPERM);
	assert_int_equal(usage_get(f->db, &staff, "99999", &doc, err, sizeof(err)), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deltas_duplicates_gaps_and_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(final_messages_and_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_of_the_collector_resumes_exactly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(monthly_partitions, setup, teardown),
		cmocka_unit_test_setup_teardown(old_boots_pruned_but_never_the_newest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(csv_feed_batches_manifests_and_positions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(jsonl_feed_and_tmf635_reads, setup, teardown),
	};

	return pgtest_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
