/* SPDX-License-Identifier: BSD-3-Clause */
/* The network domain's handle, helpers, pools, dataplanes and the provisioner's side. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/outbox.h"
#include "bss/network/internal.h"
#include "bss/network/model.h"

extern const struct db_migration network_migrations[];
extern const size_t network_migrations_n;

int
net_fail(struct network_error *err, int rc, const char *code, const char *field, const char *fmt,
	 ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return rc;
}

PGresult *
net_exec(struct db *db, const char *sql, int n, const char *const *params,
	 struct network_error *err, int *ret_rc)
{
	char msg[256], state[6] = "";
	PGresult *res = db_exec(db, sql, n, params, msg, sizeof(msg), state);

	if (res != NULL)
		return res;
	if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)
		*ret_rc = net_fail(err, -EEXIST, "conflict", "", "conflict: %s", msg);
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		*ret_rc = net_fail(err, -EAGAIN, "conflict", "", "concurrent change: %s", msg);
	else
		*ret_rc = net_fail(err, -EIO, "internal", "", "network: database: %s", msg);
	return NULL;
}

json_t *
net_json_cell(PGresult *res, int row, int col)
{
	if (row >= PQntuples(res) || PQgetisnull(res, row, col))
		return NULL;
	return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

bool
net_may_write(const struct cuco_principal *p)
{
	return cuco_principal_has(p, CUCO_ROLE_ADMIN) || cuco_principal_has(p, CUCO_ROLE_OPERATOR) ||
	       strncmp(p->subject, "system:", 7) == 0;
}

int
net_event(struct db *db, const struct cuco_principal *p, const char *agg_type, const char *agg_id,
	  int64_t version, const char *type, json_t *payload, struct network_error *err)
{
	char msg[256];
	int rc = outbox_append(db, agg_type, agg_id, version, type, 1, payload,
			       p ? p->traceparent : NULL, NULL, NULL, msg, sizeof(msg));

	json_decref(payload);
	if (rc == -EAGAIN)
		return net_fail(err, rc, "conflict", "", "%s %s changed meanwhile", agg_type, agg_id);
	if (rc < 0)
		return net_fail(err, rc, "internal", "", "network: outbox: %s", msg);
	return 0;
}

int
net_begin(struct db *db, struct network_error *err)
{
	if (db_begin(db) < 0)
		return net_fail(err, -EIO, "internal", "", "network: BEGIN: %s", db_error(db));
	return 0;
}

int
net_commit(struct db *db, struct network_error *err)
{
	int rc = db_commit(db);

	if (rc < 0)
		return net_fail(err, rc, rc == -EAGAIN ? "conflict" : "internal", "",
				"network: COMMIT: %s", db_error(db));
	return 0;
}

int
network_migrate(const char *url, struct network_error *err)
{
	char msg[256] = "";
	int rc = db_migrate(url, "network", network_migrations, network_migrations_n, msg,
			    sizeof(msg));

	if (rc)
		return net_fail(err, rc, "internal", "", "network: migration: %s", msg);
	return 0;
}

int
network_open(const char *url, struct network **ret, struct network_error *err)
{
	struct network *net = calloc(1, sizeof(*net));
	char msg[256];
	int rc;

	if (net == NULL)
		return net_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = db_open_domain(url, "network", &net->db, msg, sizeof(msg));
	if (rc) {
		free(net);
		return net_fail(err, rc, "internal", "", "network: database: %s", msg);
	}
	*ret = net;
	return 0;
}

struct network *
network_close(struct network *net)
{
	if (net == NULL)
		return NULL;
	db_close(net->db);
	free(net);
	return NULL;
}

void
network_set_pusher(struct network *net, const struct network_pusher *pusher)
{
	net->pusher = pusher;
}

/* Rows of a one-column JSON result as an array (a new reference). */
static json_t *
json_rows(PGresult *res)
{
	json_t *arr = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		json_t *j = net_json_cell(res, i, 0);

		if (j != NULL)
			json_array_append_new(arr, j);
	}
	return arr;
}

/* One-column JSON query as an array. */
static int
query_rows(struct db *db, const char *sql, int n, const char *const *params, json_t **ret,
	   struct network_error *err)
{
	int rc = 0;
	PGresult *res = net_exec(db, sql, n, params, err, &rc);

	if (res == NULL)
		return rc;
	*ret = json_rows(res);
	PQclear(res);
	return 0;
}

/* ---- pools ------------------------------------------------------------------------ */

#define POOL_JSON                                                                          \
	"jsonb_build_object('name', p.name, 'prefix', p.prefix::text, 'length', p.length, "   \
	"'exclude', p.exclude, 'assigned', (SELECT count(*) FROM assignments a WHERE "          \
	"a.pool = p.name), 'created_at', p.created_at)"

int
network_pool_list(struct network *net, const struct cuco_principal *p, json_t **ret,
		  struct network_error *err)
{
	(void)p;
	return query_rows(net->db, "SELECT " POOL_JSON " FROM pools p ORDER BY name", 0, NULL, ret,
			  err);
}

int
network_pool_get(struct network *net, const struct cuco_principal *p, const char *name,
		 json_t **ret, struct network_error *err)
{
	const char *params[] = {name};
	json_t *rows = NULL;
	int rc;

	(void)p;
	rc = query_rows(net->db, "SELECT " POOL_JSON " FROM pools p WHERE name = $1", 1, params,
			&rows, err);
	if (rc < 0)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return net_fail(err, -ENOENT, "not-found", "", "no pool '%s'", name);
	}
	*ret = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return 0;
}

int
network_pool_create(struct network *net, const struct cuco_principal *p, const json_t *body,
		    json_t **ret, struct network_error *err)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	char field[64], msg[256], prefix[64], len[8], *ex;
	struct net_pool pool;
	PGresult *res;
	int rc = 0;

	if (!net_may_write(p))
		return net_fail(err, -EPERM, "forbidden", "", "only admin and operator manage pools");
	if (name == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/name", "name: required");
	if (net_pool_parse(body, &pool, field, msg, sizeof(msg)) < 0)
		return net_fail(err, -EINVAL, "invalid-argument", field, "%s", msg);
	inet_prefix_format(&pool.prefix, prefix, sizeof(prefix));
	snprintf(len, sizeof(len), "%u", pool.length);
	/* The exclusions as JSON text; none: an empty array. */
	ex = json_object_get(body, "exclude")
		     ? json_dumps(json_object_get(body, "exclude"), JSON_COMPACT)
		     : strdup("[]");
	rc = net_begin(net->db, err);
	if (rc < 0)
		goto out;
	{
		const char *params[] = {name, prefix, len, ex ? ex : "[]"};

		/* Pools never overlap: a prefix is lent by one pool only. */
		res = net_exec(net->db,
			       "INSERT INTO pools (name, prefix, length, exclude) "
			       "SELECT $1, $2::cidr, $3::int, $4::jsonb WHERE NOT EXISTS "
			       "(SELECT 1 FROM pools WHERE prefix && $2::cidr) RETURNING name",
			       4, params, err, &rc);
	}
	if (res != NULL && PQntuples(res) == 0)
		rc = net_fail(err, -EEXIST, "conflict", "/prefix",
			      "prefix: %s overlaps another pool", prefix);
	else if (rc == -EEXIST)
		net_fail(err, -EEXIST, "conflict", "/name", "name: a pool '%s' exists", name);
	PQclear(res);
	if (rc == 0)
		rc = net_commit(net->db, err);
	else
		db_rollback(net->db);
	if (rc == 0)
		rc = network_pool_get(net, p, name, ret, err);
out:
	free(ex);
	return rc;
}

int
network_pool_delete(struct network *net, const struct cuco_principal *p, const char *name,
		    struct network_error *err)
{
	const char *params[] = {name};
	PGresult *res;
	int rc = 0;

	if (!net_may_write(p))
		return net_fail(err, -EPERM, "forbidden", "", "only admin and operator manage pools");
	res = net_exec(net->db,
		       "WITH used AS (SELECT count(*) AS n FROM assignments WHERE pool = $1), "
		       "del AS (DELETE FROM pools WHERE name = $1 AND (SELECT n FROM used) = 0 "
		       "AND NOT EXISTS (SELECT 1 FROM services WHERE pool = $1 AND state <> "
		       "'terminated') RETURNING 1) "
		       "SELECT (SELECT count(*) FROM del), (SELECT n FROM used), "
		       "EXISTS (SELECT 1 FROM pools WHERE name = $1)",
		       1, params, err, &rc);
	if (res == NULL) {
		if (rc == -EIO && strstr(err->message, "foreign key"))
			rc = net_fail(err, -EBUSY, "conflict", "",
				      "pool '%s' is named by terminated services", name);
		return rc;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "f") == 0)
		rc = net_fail(err, -ENOENT, "not-found", "", "no pool '%s'", name);
	else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		rc = net_fail(err, -EBUSY, "conflict", "",
			      "pool '%s' has %s prefixes in use; deprovision their services first",
			      name, PQgetvalue(res, 0, 1));
	PQclear(res);
	return rc;
}

/* ---- dataplanes --------------------------------------------------------------------- */

#define DP_JSON                                                                            \
	"jsonb_build_object('name', d.name, 'endpoint', d.endpoint, 'curve_dir', d.curve_dir, " \
	"'access_port', d.access_port, 'usage_endpoint', d.usage_endpoint, "                    \
	"'generation', d.generation, 'boot_id', d.boot_id, "                                   \
	"'epoch', d.epoch, 'state', d.state, 'circuit', d.circuit, 'last_error', "              \
	"d.last_error, 'last_seen', d.last_seen, 'created_at', d.created_at)"

int
network_dataplanes(struct network *net, json_t **ret, struct network_error *err)
{
	return query_rows(net->db, "SELECT " DP_JSON " FROM dataplanes d ORDER BY name", 0, NULL,
			  ret, err);
}

int
network_dataplane_list(struct network *net, const struct cuco_principal *p, json_t **ret,
		       struct network_error *err)
{
	(void)p;
	return network_dataplanes(net, ret, err);
}

/* Plain ZeroMQ only on loopback tcp or ipc://. */
static bool
plain_ok(const char *e)
{
	return strncmp(e, "tcp://", 6) != 0 || strncmp(e, "tcp://127.", 10) == 0 ||
	       strncmp(e, "tcp://[::1]", 11) == 0 || strncmp(e, "tcp://localhost", 15) == 0;
}

static bool
endpoint_valid(const char *e)
{
	return e != NULL && (strncmp(e, "tcp://", 6) == 0 || strncmp(e, "ipc://", 6) == 0) &&
	       strlen(e) > 6 && strlen(e) < 256;
}

int
network_dataplane_register(struct network *net, const struct cuco_principal *p,
			   const json_t *body, json_t **ret, struct network_error *err)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *ep = json_string_value(json_object_get(body, "endpoint"));
	const char *curve = json_string_value(json_object_get(body, "curve_dir"));
	const char *port = json_string_value(json_object_get(body, "access_port"));
	const char *usage = json_string_value(json_object_get(body, "usage_endpoint"));
	char version[24] = "1";
	const char *params[] = {name, ep, curve, port ? port : "cust0", usage, version};
	int64_t prev = 0;
	json_t *rows = NULL;
	PGresult *res;
	int rc = 0;

	if (!net_may_write(p))
		return net_fail(err, -EPERM, "forbidden", "", "only admin and operator register dataplanes");
	if (name == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/name", "name: required");
	if (!endpoint_valid(ep))
		return net_fail(err, -EINVAL, "invalid-argument", "/endpoint",
				"endpoint: '%s' is not a tcp:// or ipc:// ZeroMQ endpoint",
				ep ? ep : "");
	if (usage != NULL && !endpoint_valid(usage))
		return net_fail(err, -EINVAL, "invalid-argument", "/usage_endpoint",
				"usage_endpoint: '%s' is not a tcp:// or ipc:// ZeroMQ endpoint",
				usage);
	if (curve == NULL && usage != NULL && !plain_ok(usage))
		return net_fail(err, -EINVAL, "invalid-argument", "/curve_dir",
				"curve_dir: required for %s (plain only on loopback or ipc://)",
				usage);
	if (curve == NULL && strncmp(ep, "tcp://", 6) == 0 &&
	    strncmp(ep, "tcp://127.", 10) != 0 && strncmp(ep, "tcp://[::1]", 11) != 0 &&
	    strncmp(ep, "tcp://localhost", 15) != 0)
		return net_fail(err, -EINVAL, "invalid-argument", "/curve_dir",
				"curve_dir: required for %s (plain only on loopback or ipc://)",
				ep);
	rc = net_begin(net->db, err);
	if (rc < 0)
		return rc;
	/* A name registered before (then removed) goes on with its aggregate's versions. */
	res = net_exec(net->db,
		       "SELECT coalesce((SELECT aggregate_version FROM outbox WHERE "
		       "aggregate_type = 'dataplane' AND aggregate_id = $1 ORDER BY "
		       "aggregate_version DESC LIMIT 1), 0)",
		       1, params, err, &rc);
	if (res != NULL) {
		prev = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		snprintf(version, sizeof(version), "%lld", (long long)prev + 1);
		res = net_exec(net->db,
			       "INSERT INTO dataplanes AS d (name, endpoint, curve_dir, access_port, "
			       "usage_endpoint, version) VALUES ($1, $2, $3, $4, $5, $6::bigint) "
			       "RETURNING " DP_JSON,
			       6, params, err, &rc);
	}
	if (res == NULL && rc == -EEXIST)
		net_fail(err, rc, "conflict", "/name", "name: a dataplane '%s' is registered", name);
	if (res != NULL) {
		rows = json_rows(res);
		PQclear(res);
		rc = net_event(net->db, p, "dataplane", name, prev, "network.dataplane.registered",
			       json_incref(json_array_get(rows, 0)), err);
	}
	if (rc == 0)
		rc = net_commit(net->db, err);
	else
		db_rollback(net->db);
	if (rc == 0) {
		*ret = json_incref(json_array_get(rows, 0));
		if (net->pusher && net->pusher->kick)
			net->pusher->kick(net->pusher->arg);
	}
	json_decref(rows);
	return rc;
}

int
network_dataplane_delete(struct network *net, const struct cuco_principal *p, const char *name,
			 struct network_error *err)
{
	const char *params[] = {name};
	PGresult *res;
	int rc = 0;

	if (!net_may_write(p))
		return net_fail(err, -EPERM, "forbidden", "", "only admin and operator remove dataplanes");
	rc = net_begin(net->db, err);
	if (rc < 0)
		return rc;
	res = net_exec(net->db, "DELETE FROM dataplanes WHERE name = $1 RETURNING version", 1,
		       params, err, &rc);
	if (res != NULL && PQntuples(res) == 0)
		rc = net_fail(err, -ENOENT, "not-found", "", "no dataplane '%s'", name);
	/* Who follows the dataplanes (billing's usage collector) stops following it. */
	if (res != NULL && rc == 0)
		rc = net_event(net->db, p, "dataplane", name,
			       strtoll(PQgetvalue(res, 0, 0), NULL, 10), "network.dataplane.removed",
			       json_pack("{s:s}", "name", name), err);
	PQclear(res);
	if (rc == 0)
		rc = net_commit(net->db, err);
	else
		db_rollback(net->db);
	if (rc == 0 && net->pusher && net->pusher->kick)
		net->pusher->kick(net->pusher->arg);
	return rc;
}

/* ---- the provisioner's side --------------------------------------------------------- */

#define ROW_JSON                                                                           \
	"jsonb_build_object('id', s.id, 'rev', s.rev, 'state', s.state, 'profile', s.profile, " \
	"'availability', s.availability, 'vlan', s.vlan, 'mac', s.mac, 'prefixes', s.prefixes)"

int
network_pending(struct network *net, const char *name, int64_t epoch, unsigned max, json_t **ret,
		struct network_error *err)
{
	char e[24], m[16];
	const char *params[] = {name, e, m};

	snprintf(e, sizeof(e), "%lld", (long long)epoch);
	snprintf(m, sizeof(m), "%u", max);
	return query_rows(net->db,
			  "SELECT " ROW_JSON " FROM services s LEFT JOIN applied a ON "
			  "a.dataplane = $1 AND a.service_id = s.id AND a.epoch = $2::bigint "
			  "WHERE (a.rev IS NULL OR a.rev <> s.rev) "
			  "AND NOT (s.state = 'terminated' AND a.service_id IS NULL) "
			  "ORDER BY s.rev LIMIT $3::int",
			  3, params, ret, err);
}

int
network_full_state(struct network *net, json_t **ret, struct network_error *err)
{
	return query_rows(net->db,
			  "SELECT " ROW_JSON " FROM services s WHERE s.state <> 'terminated' "
			  "ORDER BY s.rev",
			  0, NULL, ret, err);
}

/* The services of @ids (a JSON array text) that every dataplane now enforces become active. */
int
net_activate(struct db *db, const char *ids_json, struct network_error *err)
{
	const char *params[] = {ids_json};
	static const struct cuco_principal sys = {.subject = "system:network"};
	PGresult *res;
	int rc = 0;

	res = net_exec(db,
		       "UPDATE services s SET state = 'active', version = version + 1, "
		       "updated_at = now() WHERE s.id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid) "
		       "AND s.state = 'reserved' AND EXISTS (SELECT 1 FROM dataplanes) AND NOT EXISTS "
		       "(SELECT 1 FROM dataplanes d WHERE NOT EXISTS (SELECT 1 FROM applied a WHERE "
		       "a.dataplane = d.name AND a.service_id = s.id AND a.epoch = d.epoch AND "
		       "a.rev = s.rev AND a.error IS NULL)) "
		       "RETURNING s.id, s.version, jsonb_build_object('id', s.id, 'customer_id', "
		       "s.customer_id, 'prefixes', s.prefixes, 'profile', s.profile->>'name')",
		       1, params, err, &rc);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = net_event(db, &sys, "service", PQgetvalue(res, i, 0),
			       strtoll(PQgetvalue(res, i, 1), NULL, 10) - 1,
			       "network.service.activated", net_json_cell(res, i, 2), err);
	PQclear(res);
	return rc;
}

static int
record_dataplane(struct db *db, const char *name, int64_t epoch, int64_t generation,
		 const char *boot_id, bool resync, struct network_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:network"};
	char e[24], g[24];
	const char *params[] = {name, e, g, boot_id};
	PGresult *res;
	int rc = 0;

	snprintf(e, sizeof(e), "%lld", (long long)epoch);
	snprintf(g, sizeof(g), "%lld", (long long)generation);
	res = net_exec(db,
		       "UPDATE dataplanes SET epoch = $2::bigint, generation = $3::bigint, "
		       "boot_id = $4, state = 'synced', circuit = 'closed', last_error = '', "
		       "last_seen = now() WHERE name = $1",
		       4, params, err, &rc);
	if (res == NULL)
		return rc;
	PQclear(res);
	if (!resync)
		return 0;
	{
		const char *p2[] = {name, e};

		res = net_exec(db,
			       "DELETE FROM applied WHERE dataplane = $1 AND epoch <> $2::bigint",
			       2, p2, err, &rc);
		PQclear(res);
		if (res == NULL)
			return rc;
		res = net_exec(db,
			       "UPDATE dataplanes SET version = version + 1 WHERE name = $1 "
			       "RETURNING version", 1, p2, err, &rc);
		if (res == NULL)
			return rc;
		if (PQntuples(res) == 1)
			rc = net_event(db, &sys, "dataplane", name,
				       strtoll(PQgetvalue(res, 0, 0), NULL, 10) - 1,
				       "network.dataplane.synced",
				       json_pack("{s:s, s:I, s:s}", "name", name, "generation",
						 (json_int_t)generation, "boot_id", boot_id),
				       err);
		PQclear(res);
	}
	return rc;
}

int
network_record(struct network *net, const char *name, int64_t epoch, int64_t generation,
	       const char *boot_id, const json_t *applied, bool resync, struct network_error *err)
{
	char e[24], *list = json_dumps(applied, JSON_COMPACT), *ids;
	json_t *idarr = json_array(), *v;
	const char *params[] = {name, e, list};
	PGresult *res;
	size_t i;
	int rc;

	snprintf(e, sizeof(e), "%lld", (long long)epoch);
	json_array_foreach(applied, i, v)
		json_array_append(idarr, json_object_get(v, "id"));
	ids = json_dumps(idarr, JSON_COMPACT);
	json_decref(idarr);
	if (list == NULL || ids == NULL) {
		rc = net_fail(err, -ENOMEM, "internal", "", "out of memory");
		goto out;
	}
	rc = net_begin(net->db, err);
	if (rc < 0)
		goto out;
	/* Lock the dataplane row first: a concurrent delete of it leaves nothing half written. */
	rc = record_dataplane(net->db, name, epoch, generation, boot_id, resync, err);
	if (rc == 0) {
		/* Only forward: an older epoch or rev never replaces a newer one. */
		res = net_exec(net->db,
			       "INSERT INTO applied (dataplane, service_id, epoch, rev, error) "
			       "SELECT $1, (x->>'id')::uuid, $2::bigint, (x->>'rev')::bigint, x->>'error' "
			       "FROM jsonb_array_elements($3::jsonb) x "
			       "WHERE EXISTS (SELECT 1 FROM dataplanes WHERE name = $1) "
			       "ON CONFLICT (dataplane, service_id) DO UPDATE SET epoch = EXCLUDED.epoch, "
			       "rev = EXCLUDED.rev, error = EXCLUDED.error WHERE applied.epoch < "
			       "EXCLUDED.epoch OR (applied.epoch = EXCLUDED.epoch AND applied.rev <= "
			       "EXCLUDED.rev)",
			       3, params, err, &rc);
		PQclear(res);
	}
	if (rc == 0)
		rc = net_activate(net->db, ids, err);
	if (rc == 0)
		rc = net_commit(net->db, err);
	else
		db_rollback(net->db);
out:
	free(list);
	free(ids);
	return rc;
}

int
network_dataplane_health(struct network *net, const char *name, const char *circuit,
			 bool reachable, const char *reason, struct network_error *err)
{
	static const struct cuco_principal sys = {.subject = "system:network"};
	const char *params[] = {name, circuit, reachable ? "t" : "f", reason ? reason : ""};
	PGresult *res;
	int rc;

	rc = net_begin(net->db, err);
	if (rc < 0)
		return rc;
	res = net_exec(net->db,
		       "WITH old AS (SELECT state FROM dataplanes WHERE name = $1 FOR UPDATE) "
		       "UPDATE dataplanes d SET circuit = $2, last_error = CASE WHEN $3::bool THEN "
		       "d.last_error ELSE $4 END, state = CASE WHEN $3::bool THEN d.state ELSE "
		       "'unreachable' END, version = d.version + CASE WHEN NOT $3::bool AND "
		       "old.state <> 'unreachable' THEN 1 ELSE 0 END FROM old WHERE d.name = $1 "
		       "RETURNING d.version, NOT $3::bool AND old.state <> 'unreachable'",
		       4, params, err, &rc);
	if (res != NULL && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		rc = net_event(net->db, &sys, "dataplane", name,
			       strtoll(PQgetvalue(res, 0, 0), NULL, 10) - 1,
			       "network.dataplane.unreachable",
			       json_pack("{s:s, s:s}", "name", name, "reason", reason ? reason : ""),
			       err);
	PQclear(res);
	if (rc == 0)
		rc = net_commit(net->db, err);
	else
		db_rollback(net->db);
	return rc;
}
