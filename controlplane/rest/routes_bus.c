/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bus's own routes: dead letters of the consumers this process runs
 * (GET /api/v1/dead-letters, POST /api/v1/dead-letters/{id}/replay).
 * A dead letter's id is "<domain>-<n>": each domain keeps its own table.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/db.h"
#include "bss/core/inbox.h"
#include "controlplane/rest/rest.h"
#include "controlplane/rest/routes.h"

#define ADMIN CUCO_ROLE_BIT(CUCO_ROLE_ADMIN)
#define MAX_LIST 1000

struct consumer_db {
	const struct routes_bus_consumer *c;
	struct db *db;
};

struct routes_bus {
	size_t n;
	struct consumer_db *consumers;
	/* The connections serve one request at a time; dead letters are rare. */
	pthread_mutex_t lock;
};

static struct consumer_db *
find_consumer(struct routes_bus *rb, const char *name)
{
	for (size_t i = 0; i < rb->n; i++)
		if (strcmp(rb->consumers[i].c->name, name) == 0)
			return &rb->consumers[i];
	return NULL;
}

/* Borrow every connection: the list reads each consumer's domain. */
static int
h_list(struct rest_ctx *ctx, void *data)
{
	struct routes_bus *rb = data;
	const char *consumer = rest_ctx_filter(ctx, "consumer");
	const char *state = rest_ctx_filter(ctx, "state");
	bool parked_only = state != NULL && strcmp(state, "parked") == 0;
	uint64_t limit, offset, total = 0;
	json_t *all = json_array(), *page;
	char err[256];

	if (state != NULL && !parked_only && strcmp(state, "replayed") != 0)
		return rest_reply_problem(ctx, 400, "invalid-filter",
					  "state: parked or replayed, got '%s'", state);
	if (consumer != NULL && find_consumer(rb, consumer) == NULL)
		return rest_reply_problem(ctx, 400, "invalid-filter", "consumer: no consumer '%s'",
					  consumer);
	for (size_t i = 0; i < rb->n; i++) {
		struct consumer_db *cd = &rb->consumers[i];
		json_t *letters = NULL, *l;
		size_t j;

		if (consumer != NULL && strcmp(consumer, cd->c->name) != 0)
			continue;
		pthread_mutex_lock(&rb->lock);
		if (inbox_dead_letters(cd->db, cd->c->name, parked_only, MAX_LIST, &letters, err,
				       sizeof(err)) < 0) {
			pthread_mutex_unlock(&rb->lock);
			json_decref(all);
			return rest_reply_problem(ctx, 503, "database", "dead letters: %s", err);
		}
		pthread_mutex_unlock(&rb->lock);
		json_array_foreach(letters, j, l) {
			char id[64];

			if (state != NULL && !parked_only &&
			    strcmp(json_string_value(json_object_get(l, "state")), "replayed") != 0)
				continue;
			snprintf(id, sizeof(id), "%s-%" JSON_INTEGER_FORMAT, cd->c->domain,
				 json_integer_value(json_object_get(l, "id")));
			json_object_set_new(l, "id", json_string(id));
			json_object_set_new(l, "domain", json_string(cd->c->domain));
			json_object_set_new(l, "@type", json_string("DeadLetter"));
			json_object_set_new(l, "href",
					    json_sprintf("/api/v1/dead-letters/%s", id));
			json_array_append(all, l);
		}
		json_decref(letters);
	}
	rest_ctx_page(ctx, &limit, &offset);
	total = json_array_size(all);
	page = json_array();
	for (uint64_t i = offset; i < total && i < offset + limit; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	return rest_reply_list(ctx, page, total);
}

static int
h_replay(struct rest_ctx *ctx, void *data)
{
	struct routes_bus *rb = data;
	const char *id = rest_ctx_param(ctx, "id");
	const char *dash = strrchr(id, '-');
	struct consumer_db *cd = NULL;
	char err[256] = "", *end;
	long long n;
	int ret = -ENOENT;

	n = dash ? strtoll(dash + 1, &end, 10) : 0;
	if (dash == NULL || *end != '\0' || n <= 0)
		return rest_reply_problem(ctx, 404, "not-found", "no dead letter '%s'", id);
	/* The consumer of that domain whose parked letter this is. */
	for (size_t i = 0; i < rb->n && ret == -ENOENT; i++) {
		struct inbox in;

		cd = &rb->consumers[i];
		if (strlen(cd->c->domain) != (size_t)(dash - id) ||
		    strncmp(cd->c->domain, id, (size_t)(dash - id)) != 0)
			continue;
		in = (struct inbox){.consumer = cd->c->name, .max_attempts = cd->c->max_attempts,
				    .handler = cd->c->handler, .arg = cd->c->arg};
		pthread_mutex_lock(&rb->lock);
		ret = inbox_dead_letter_replay(cd->db, &in, n, err, sizeof(err));
		pthread_mutex_unlock(&rb->lock);
	}
	if (ret == -ENOENT)
		return rest_reply_problem(ctx, 404, "not-found", "no parked dead letter '%s'", id);
	/* A handler's own database error is a failed replay; a lost server is not. */
	if (ret < 0 && PQstatus(db_conn(cd->db)) != CONNECTION_OK) {
		db_reset(cd->db);
		return rest_reply_problem(ctx, 503, "database", "replay of %s: %s", id, err);
	}
	if (ret < 0)
		return rest_reply_problem(ctx, 409, "replay-failed",
					  "%s failed again and stays parked: %s", id, err);
	return rest_reply_json(ctx, 200, json_pack("{s:s, s:s}", "id", id, "state", "replayed"));
}

static const char *const list_filters[] = {"consumer", "state", NULL};

static const struct rest_route bus_routes[] = {
	{REST_GET, "/api/v1/dead-letters", ADMIN, NULL, "DeadLetter", h_list,
	 "Messages a consumer failed to apply and parked", "bus", REST_ROUTE_LIST, list_filters},
	{REST_POST, "/api/v1/dead-letters/{id}/replay", ADMIN, NULL, "DeadLetter", h_replay,
	 "Apply a parked message again (after a fix)", "bus", 0, NULL},
};

extern const char bus_schemas_json[];

int
routes_bus_register(struct rest_server *s, struct jschema_registry *schemas, const char *url,
		    const struct routes_bus_consumer *c, size_t n, struct routes_bus **ret,
		    char *err, size_t errlen)
{
	struct routes_bus *rb;
	int r;

	r = routes_add_schemas(schemas, bus_schemas_json, "bus", err, errlen);
	if (r < 0)
		return r;
	rb = calloc(1, sizeof(*rb));
	if (rb == NULL || (rb->consumers = calloc(n ? n : 1, sizeof(rb->consumers[0]))) == NULL) {
		free(rb);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&rb->lock, NULL);
	for (; rb->n < n; rb->n++) {
		rb->consumers[rb->n].c = &c[rb->n];
		r = db_open_domain(url, c[rb->n].domain, &rb->consumers[rb->n].db, err, errlen);
		if (r < 0)
			goto out_free;
	}
	r = rest_register(s, bus_routes, sizeof(bus_routes) / sizeof(bus_routes[0]), rb, err,
			  errlen);
	if (r < 0)
		goto out_free;
	*ret = rb;
	return 0;
out_free:
	routes_bus_free(rb);
	return r;
}

int
routes_bus_parked(struct routes_bus *rb, size_t i, const char **ret_name, int64_t *ret_parked)
{
	char err[256];
	int r;

	if (i >= rb->n)
		return -ENOENT;
	*ret_name = rb->consumers[i].c->name;
	pthread_mutex_lock(&rb->lock);
	r = inbox_dead_letters_parked(rb->consumers[i].db, rb->consumers[i].c->name, ret_parked,
				      err, sizeof(err));
	pthread_mutex_unlock(&rb->lock);
	return r;
}

struct routes_bus *
routes_bus_free(struct routes_bus *rb)
{
	if (rb == NULL)
		return NULL;
	for (size_t i = 0; i < rb->n; i++)
		db_close(rb->consumers[i].db);
	free(rb->consumers);
	pthread_mutex_destroy(&rb->lock);
	free(rb);
	return NULL;
}
