/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stand-in for the network domain's saga commands, for tests only: served
 * as domain "netstub" (its own schema) when CUCO_TEST_NETWORK_STUB is set,
 * and the order saga then sends its network steps there. It answers the
 * network domain's contract (network.service.provision / .get /
 * .deprovision) without a dataplane: services are active at once. An access
 * VLAN of 4094 is refused, so that tests can make the network step fail.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/db.h"
#include "bss/core/outbox.h"
#include "controlplane/controld/order_netstub.h"

static const struct db_migration netstub_migrations[] = {
	{1, "services",
	 "CREATE TABLE services (service_id uuid PRIMARY KEY, step_id text NOT NULL UNIQUE, "
	 "customer_id uuid, offering_id uuid, profile jsonb, state text NOT NULL, "
	 "updated_at timestamptz NOT NULL DEFAULT now());"},
};

static int __attribute__((format(printf, 4, 5)))
refuse(struct cmd_problem *pb, int rc, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(pb->code, sizeof(pb->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(pb->detail, sizeof(pb->detail), fmt, ap);
	va_end(ap);
	return rc;
}

static int
exec_row(struct db *db, const char *sql, int n, const char *const *params, json_t **ret,
	 struct cmd_problem *pb)
{
	char err[256];
	PGresult *res = db_exec(db, sql, n, params, err, sizeof(err), NULL);

	if (res == NULL)
		return refuse(pb, -EIO, "unavailable", "netstub: %s", err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return refuse(pb, -ENOENT, "not_found", "service_id: not found");
	}
	*ret = json_pack("{s:s, s:s, s:[], s:i}", "service_id", PQgetvalue(res, 0, 0), "state",
			 PQgetvalue(res, 0, 1), "prefixes", "dataplane_generation", 1);
	PQclear(res);
	return 0;
}

static int
provision(struct db *db, json_t *payload, json_t **ret, struct cmd_problem *pb)
{
	const char *step = json_string_value(json_object_get(payload, "step_id"));
	const char *action = json_string_value(json_object_get(payload, "action"));
	const char *svc = json_string_value(json_object_get(payload, "service_id"));
	json_t *access = json_object_get(payload, "access");
	char id[37], *profile;
	int rc;

	if (step == NULL || action == NULL)
		return refuse(pb, -EINVAL, "invalid", "step_id and action are required");
	if (json_integer_value(json_object_get(access, "vlan")) == 4094)
		return refuse(pb, -EINVAL, "invalid", "access/vlan: 4094 is reserved");
	profile = json_dumps(json_object_get(payload, "profile"), JSON_COMPACT | JSON_ENCODE_ANY);
	if (strcmp(action, "add") == 0) {
		outbox_uuid4(id);
		const char *params[] = {id, step,
					json_string_value(json_object_get(payload, "customer_id")),
					json_string_value(json_object_get(payload, "offering_id")),
					profile};

		rc = exec_row(db,
			      "WITH i AS (INSERT INTO services (service_id, step_id, customer_id, "
			      "offering_id, profile, state) VALUES ($1, $2, $3, $4, $5::jsonb, "
			      "'active') ON CONFLICT (step_id) DO NOTHING RETURNING service_id::text, state) "
			      "SELECT * FROM i UNION ALL SELECT service_id::text, state FROM services "
			      "WHERE step_id = $2",
			      5, params, ret, pb);
	} else {
		const char *params[] = {svc ? svc : "", strcmp(action, "delete") == 0 ? "terminated"
										    : "active",
					json_string_value(json_object_get(payload, "offering_id")),
					profile};

		rc = outbox_uuid_valid(svc)
			     ? exec_row(db,
					"UPDATE services SET state = $2, offering_id = $3, profile = "
					"$4::jsonb, updated_at = now() WHERE service_id = $1::uuid "
					"RETURNING service_id, state",
					4, params, ret, pb)
			     : refuse(pb, -ENOENT, "not_found", "service_id: not found");
	}
	free(profile);
	return rc;
}

static int
netstub_command(struct db *db, const struct cuco_principal *who, const char *type,
		json_t *payload, void *arg, json_t **ret, struct cmd_problem *pb)
{
	const char *svc = json_string_value(json_object_get(payload, "service_id"));
	const char *params[] = {svc};

	(void)who;
	(void)arg;
	if (strcmp(type, "network.service.provision") == 0)
		return provision(db, payload, ret, pb);
	if (!outbox_uuid_valid(svc))
		return refuse(pb, -ENOENT, "not_found", "service_id: not found");
	if (strcmp(type, "network.service.get") == 0)
		return exec_row(db, "SELECT service_id, state FROM services WHERE service_id = $1",
				1, params, ret, pb);
	if (strcmp(type, "network.service.deprovision") == 0)
		return exec_row(db,
				"UPDATE services SET state = 'terminated', updated_at = now() "
				"WHERE service_id = $1 RETURNING service_id, state",
				1, params, ret, pb);
	return refuse(pb, -EINVAL, "invalid", "%s: not a command of the network stub", type);
}

static bool
netstub_is_query(const char *type)
{
	return strcmp(type, "network.service.get") == 0;
}

int
order_netstub_serve(struct bus *bus, const char *url, struct bus_domain *d, char *err,
		    size_t errlen)
{
	int rc = db_migrate(url, ORDER_NETSTUB_DOMAIN, netstub_migrations, 1, err, errlen);

	if (rc < 0)
		return rc;
	*d = (struct bus_domain){
		.name = ORDER_NETSTUB_DOMAIN,
		.db_url = url,
		.command = netstub_command,
		.is_query = netstub_is_query,
	};
	return bus_serve(bus, d, err, errlen);
}
