/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The service inventory: provision, modify, deprovision, availability, the
 * bus commands and consumed events that drive them, TMF638 reads and TMF640
 * activation with its monitors.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/eventstore.h"
#include "bss/core/outbox.h"
#include "bss/network/internal.h"
#include "bss/network/model.h"

#define TMF_SERVICE "/tmf-api/serviceInventory/v4/service/"
#define TMF_MONITOR "/tmf-api/ServiceActivationAndConfiguration/v4/monitor/"

/* Every dataplane applied the service's current rev in its current epoch. */
#define ENFORCED                                                                             \
	"(EXISTS (SELECT 1 FROM dataplanes) AND NOT EXISTS (SELECT 1 FROM dataplanes d WHERE "  \
	"NOT EXISTS (SELECT 1 FROM applied a WHERE a.dataplane = d.name AND a.service_id = "    \
	"s.id AND a.epoch = d.epoch AND a.rev = s.rev AND a.error IS NULL)))"
#define FULL_JSON "to_jsonb(s) || jsonb_build_object('enforced', " ENFORCED ")"
#define ROW_JSON                                                                           \
	"jsonb_build_object('id', s.id, 'rev', s.rev, 'state', s.state, 'profile', s.profile, " \
	"'availability', s.availability, 'vlan', s.vlan, 'mac', s.mac, 'prefixes', s.prefixes)"

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

json_t *
network_service_changes(const json_t *row, const char *port)
{
	json_t *changes = json_array(), *pc;
	struct net_service_view v = {
		.id = sget(row, "id"),
		.profile = json_object_get(row, "profile"),
		.availability = sget(row, "availability") ?: "active",
		.vlan = (unsigned)json_integer_value(json_object_get(row, "vlan")),
		.mac = sget(row, "mac"),
		.prefixes = json_object_get(row, "prefixes"),
	};

	if (v.id == NULL)
		return changes;
	if (strcmp(sget(row, "state") ?: "", "terminated") == 0) {
		json_array_append_new(changes, net_delete_change(v.id));
		return changes;
	}
	pc = net_profile_change(v.profile);
	if (pc != NULL)
		json_array_append_new(changes, pc);
	json_array_append_new(changes, net_subscriber_change(&v, port));
	return changes;
}

/* ---- reads ------------------------------------------------------------------------ */

/* The full row of service @id (FULL_JSON) in @ret; -ENOENT when there is none. */
static int
full_row(struct db *db, const char *id, bool lock, json_t **ret, struct network_error *err)
{
	const char *params[] = {id};
	PGresult *res;
	int rc = 0;

	if (!outbox_uuid_valid(id))
		return net_fail(err, -ENOENT, "not-found", "", "no service '%s'", id);
	res = net_exec(db,
		       lock ? "SELECT " FULL_JSON " FROM services s WHERE id = $1::uuid FOR UPDATE"
			    : "SELECT " FULL_JSON " FROM services s WHERE id = $1::uuid",
		       1, params, err, &rc);
	if (res == NULL)
		return rc;
	*ret = net_json_cell(res, 0, 0);
	PQclear(res);
	if (*ret == NULL)
		return net_fail(err, -ENOENT, "not-found", "", "no service '%s'", id);
	return 0;
}

/* What the saga waits for: terminated, active (enforced everywhere) or pending. */
static const char *
status_of(const json_t *full)
{
	if (strcmp(sget(full, "state") ?: "", "terminated") == 0)
		return "terminated";
	return json_is_true(json_object_get(full, "enforced")) ? "active" : "pending";
}

static void
characteristic(json_t *arr, const char *name, json_t *value)
{
	json_array_append_new(arr, json_pack("{s:s, s:o}", "name", name, "value", value));
}

/* The TMF638 Service of a full row. */
static json_t *
tmf_service(const json_t *r)
{
	const char *id = sget(r, "id");
	json_t *chars = json_array(), *doc;
	char href[128];

	snprintf(href, sizeof(href), TMF_SERVICE "%s", id);
	characteristic(chars, "profile", json_deep_copy(json_object_get(r, "profile")));
	characteristic(chars, "availability", json_string(sget(r, "availability")));
	characteristic(chars, "prefixes", json_deep_copy(json_object_get(r, "prefixes")));
	if (json_is_integer(json_object_get(r, "vlan")))
		characteristic(chars, "vlan", json_deep_copy(json_object_get(r, "vlan")));
	if (sget(r, "mac"))
		characteristic(chars, "mac", json_string(sget(r, "mac")));
	if (sget(r, "pool"))
		characteristic(chars, "prefixPool", json_string(sget(r, "pool")));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:b, s:[{s:s, s:s, s:s}], s:o, "
			"s:{s:b, s:I, s:s}}",
			"id", id, "href", href, "@type", "Service", "name", sget(r, "name") ?: "",
			"state", sget(r, "state"), "serviceDate", sget(r, "created_at"),
			"endDate", sget(r, "terminated_at"), "isServiceEnabled",
			strcmp(sget(r, "state"), "active") == 0 &&
				strcmp(sget(r, "availability"), "active") == 0,
			"relatedParty", "id", sget(r, "customer_id"), "role", "customer",
			"@referredType", "Customer", "serviceCharacteristic", chars,
			"x-provisioning", "enforced", json_is_true(json_object_get(r, "enforced")),
			"revision", json_integer_value(json_object_get(r, "rev")), "status",
			status_of(r));
	if (sget(r, "offering_id"))
		json_object_set_new(doc, "serviceSpecification",
				    json_pack("{s:s, s:s}", "id", sget(r, "offering_id"),
					      "@referredType", "ProductOffering"));
	if (sget(r, "order_id"))
		json_object_set_new(doc, "serviceOrderItem",
				    json_pack("[{s:s, s:s?}]", "serviceOrderId", sget(r, "order_id"),
					      "itemId", sget(r, "order_item_id")));
	return doc;
}

static bool
may_see(const struct cuco_principal *p, const json_t *full)
{
	if (!cuco_principal_has(p, CUCO_ROLE_SELFCARE) || p->roles != CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE))
		return true;
	return strcmp(p->customer_id, sget(full, "customer_id") ?: "") == 0;
}

int
network_service_get(struct network *net, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct network_error *err)
{
	json_t *full = NULL;
	int rc = full_row(net->db, id, false, &full, err);

	if (rc < 0)
		return rc;
	if (!may_see(p, full)) {
		json_decref(full);
		return net_fail(err, -ENOENT, "not-found", "", "no service '%s'", id);
	}
	*ret = tmf_service(full);
	json_decref(full);
	return 0;
}

int
network_service_list(struct network *net, const struct cuco_principal *p,
		     const struct network_service_filter *f, json_t **ret, int64_t *ret_total,
		     struct network_error *err)
{
	char lim[16], off[16];
	const char *customer = f->customer_id;
	const char *params[] = {f->state, customer, lim, off};
	json_t *items = json_array();
	PGresult *res;
	int rc = 0;

	if (f->state && !net_service_state_valid(f->state))
		return net_fail(err, -EINVAL, "invalid-argument", "state",
				"state: '%s' is not a TMF638 state (feasibilityChecked, designed, "
				"reserved, inactive, active, terminated)", f->state);
	if (p->roles == CUCO_ROLE_BIT(CUCO_ROLE_SELFCARE)) {
		if (customer && strcmp(customer, p->customer_id) != 0)
			customer = "\x01"; /* another's: nothing */
		else
			customer = p->customer_id;
		params[1] = customer;
	}
	snprintf(lim, sizeof(lim), "%u", f->limit);
	snprintf(off, sizeof(off), "%u", f->offset);
	res = net_exec(net->db,
		       "SELECT " FULL_JSON ", count(*) OVER () FROM services s WHERE "
		       "($1::text IS NULL OR s.state = $1) AND ($2::text IS NULL OR "
		       "s.customer_id = $2) ORDER BY s.created_at, s.id LIMIT $3::int OFFSET $4::int",
		       4, params, err, &rc);
	if (res == NULL) {
		json_decref(items);
		return rc;
	}
	*ret_total = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *full = net_json_cell(res, i, 0);

		json_array_append_new(items, tmf_service(full));
		json_decref(full);
		*ret_total = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	}
	if (PQntuples(res) == 0 && f->offset > 0) {
		/* The total of a page past the end. */
		PQclear(res);
		res = net_exec(net->db,
			       "SELECT count(*) FROM services s WHERE ($1::text IS NULL OR s.state = "
			       "$1) AND ($2::text IS NULL OR s.customer_id = $2)",
			       2, params, err, &rc);
		if (res != NULL && PQntuples(res) == 1)
			*ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	*ret = items;
	return rc;
}

/* ---- writes -------------------------------------------------------------------------- */

/* Lend the first free prefix of @pool to @id, appended to @prefixes. */
static int
allocate(struct db *db, const char *pool, const char *id, json_t *prefixes,
	 struct network_error *err)
{
	const char *params[] = {pool};
	char field[64], msg[256], px[64], idx[24];
	uint64_t *used = NULL, index;
	struct net_pool np;
	struct inet_prefix x;
	json_t *doc;
	PGresult *res;
	int rc = 0, n;

	/* The pool's row lock serializes its allocations; the primary key guards them. */
	res = net_exec(db, "SELECT jsonb_build_object('prefix', prefix::text, 'length', length, "
			   "'exclude', exclude) FROM pools WHERE name = $1 FOR UPDATE",
		       1, params, err, &rc);
	if (res == NULL)
		return rc;
	doc = net_json_cell(res, 0, 0);
	PQclear(res);
	if (doc == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/access/prefix_pool",
				"access.prefix_pool: no pool '%s'", pool);
	rc = net_pool_parse(doc, &np, field, msg, sizeof(msg));
	json_decref(doc);
	if (rc < 0)
		return net_fail(err, -EIO, "internal", "", "pool '%s': %s", pool, msg);
	res = net_exec(db, "SELECT idx FROM assignments WHERE pool = $1 ORDER BY idx", 1, params,
		       err, &rc);
	if (res == NULL)
		return rc;
	n = PQntuples(res);
	used = calloc((size_t)n + 1, sizeof(*used));
	for (int i = 0; used != NULL && i < n; i++)
		used[i] = strtoull(PQgetvalue(res, i, 0), NULL, 10);
	PQclear(res);
	if (used == NULL)
		return net_fail(err, -ENOMEM, "internal", "", "out of memory");
	rc = net_pool_first_free(&np, used, (size_t)n, &x, &index);
	free(used);
	if (rc < 0)
		return net_fail(err, -ENOSPC, "pool-exhausted", "/access/prefix_pool",
				"access.prefix_pool: pool '%s' has no free prefix", pool);
	inet_prefix_format(&x, px, sizeof(px));
	snprintf(idx, sizeof(idx), "%llu", (unsigned long long)index);
	{
		const char *p2[] = {px, pool, idx, id};

		res = net_exec(db, "INSERT INTO assignments (prefix, pool, idx, service_id) "
				   "VALUES ($1::cidr, $2, $3::bigint, $4::uuid)",
			       4, p2, err, &rc);
	}
	PQclear(res);
	if (rc == -EEXIST)
		return net_fail(err, -EAGAIN, "conflict", "", "prefix %s was just lent", px);
	if (rc == 0)
		json_array_append_new(prefixes, json_string(px));
	return rc;
}

static int
release(struct db *db, const char *id, struct network_error *err)
{
	const char *params[] = {id};
	int rc = 0;
	PGresult *res = net_exec(db, "DELETE FROM assignments WHERE service_id = $1::uuid", 1,
				 params, err, &rc);

	PQclear(res);
	return rc;
}

/*
 * Push service @id's current state to the dataplanes now (inside the
 * transaction) and record who applied it; the highest generation reached in
 * @ret_generation (-1: none).
 */
static int
push_now(struct db *db, const struct network_pusher *pu, const char *id, int64_t *ret_generation,
	 struct network_error *err)
{
	struct network_applied ap[NETWORK_DATAPLANES_MAX];
	const char *params[] = {id};
	json_t *row, *list;
	char msg[256], *text;
	PGresult *res;
	int n, rc = 0;

	*ret_generation = -1;
	if (pu == NULL || pu->push == NULL)
		return 0;
	res = net_exec(db, "SELECT " ROW_JSON " FROM services s WHERE id = $1::uuid", 1, params,
		       err, &rc);
	if (res == NULL)
		return rc;
	row = net_json_cell(res, 0, 0);
	PQclear(res);
	if (row == NULL)
		return net_fail(err, -ENOENT, "not-found", "", "no service '%s'", id);
	n = pu->push(pu->arg, row, ap, msg, sizeof(msg));
	if (n < 0) {
		json_decref(row);
		if (n == -EREMOTEIO)
			return net_fail(err, -EREMOTEIO, "refused-by-dataplane", "",
					"the dataplane refused the service: %s", msg);
		return 0; /* left to the provisioner */
	}
	list = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(list, json_pack("{s:s, s:I, s:O}", "dataplane", ap[i].dataplane,
						      "epoch", (json_int_t)ap[i].epoch, "rev",
						      json_object_get(row, "rev")));
		if (ap[i].generation > *ret_generation)
			*ret_generation = ap[i].generation;
	}
	json_decref(row);
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	{
		const char *p2[] = {id, text};

		res = net_exec(db,
			       "INSERT INTO applied (dataplane, service_id, epoch, rev) "
			       "SELECT x->>'dataplane', $1::uuid, (x->>'epoch')::bigint, "
			       "(x->>'rev')::bigint FROM jsonb_array_elements($2::jsonb) x "
			       "WHERE EXISTS (SELECT 1 FROM dataplanes WHERE name = x->>'dataplane') "
			       "ON CONFLICT (dataplane, service_id) DO UPDATE SET epoch = "
			       "EXCLUDED.epoch, rev = EXCLUDED.rev, error = NULL WHERE applied.epoch < "
			       "EXCLUDED.epoch OR (applied.epoch = EXCLUDED.epoch AND applied.rev <= "
			       "EXCLUDED.rev)",
			       2, p2, err, &rc);
	}
	free(text);
	PQclear(res);
	if (rc == 0) {
		char ids[64];

		snprintf(ids, sizeof(ids), "[\"%s\"]", id);
		rc = net_activate(db, ids, err);
	}
	return rc;
}

/* What the provision command answers. */
static json_t *
provision_reply(const json_t *full, int64_t generation)
{
	json_t *r = json_pack("{s:s, s:s, s:O, s:s}", "service_id", sget(full, "id"), "state",
			      status_of(full), "prefixes", json_object_get(full, "prefixes"),
			      "availability", sget(full, "availability"));

	json_object_set_new(r, "dataplane_generation",
			    generation >= 0 ? json_integer(generation) : json_null());
	return r;
}

static int
check_mac(const char *mac, struct network_error *err)
{
	unsigned b[6];
	char end;

	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 || strlen(mac) != 17 || (b[0] & 1))
		return net_fail(err, -EINVAL, "invalid-argument", "/access/mac",
				"access.mac: '%s' is not a unicast MAC such as 02:00:5e:10:00:01",
				mac);
	return 0;
}

/* access {vlan, mac, prefix_pool}: checked, written to the out parameters (NULL = none). */
static int
parse_access(const json_t *access, char vlan[8], const char **mac, const char **pool,
	     struct network_error *err)
{
	json_t *v = json_object_get(access, "vlan"), *m = json_object_get(access, "mac");
	json_t *pp = json_object_get(access, "prefix_pool");

	vlan[0] = '\0';
	*mac = NULL;
	*pool = NULL;
	if (access != NULL && !json_is_object(access))
		return net_fail(err, -EINVAL, "invalid-argument", "/access", "access: an object");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4094)
			return net_fail(err, -EINVAL, "invalid-argument", "/access/vlan",
					"access.vlan: a VLAN id 1 to 4094, or null");
		snprintf(vlan, 8, "%d", (int)json_integer_value(v));
	}
	if (m != NULL && !json_is_null(m)) {
		if (!json_is_string(m) || check_mac(json_string_value(m), err) < 0)
			return net_fail(err, -EINVAL, "invalid-argument", "/access/mac",
					"access.mac: a unicast MAC such as 02:00:5e:10:00:01, or null");
		*mac = json_string_value(m);
	}
	if (pp != NULL && !json_is_null(pp)) {
		if (!json_is_string(pp))
			return net_fail(err, -EINVAL, "invalid-argument", "/access/prefix_pool",
					"access.prefix_pool: a pool name, or null");
		*pool = json_string_value(pp);
	}
	return 0;
}

/* The profile as the dataplane will take it: checked by the dataplane's own decoder. */
static int
check_service(struct db *db, const char *id, struct network_error *err)
{
	const char *params[] = {id};
	json_t *row, *changes;
	char msg[256];
	PGresult *res;
	int rc = 0;

	res = net_exec(db, "SELECT " ROW_JSON " FROM services s WHERE id = $1::uuid", 1, params,
		       err, &rc);
	if (res == NULL)
		return rc;
	row = net_json_cell(res, 0, 0);
	PQclear(res);
	changes = network_service_changes(row, "cust0");
	json_decref(row);
	if (json_array_size(changes) < 2)
		rc = net_fail(err, -EINVAL, "invalid-argument", "/profile",
			      "profile: a bandwidth profile {name, up, down} is required");
	else if (net_changes_check(changes, msg, sizeof(msg)) < 0)
		rc = net_fail(err, -EINVAL, "invalid-argument", "/profile", "%s", msg);
	json_decref(changes);
	return rc;
}

static int
service_add(struct db *db, const json_t *pl, const struct network_pusher *pu, json_t **ret,
	    struct network_error *err)
{
	const char *customer = sget(pl, "customer_id"), *mac, *pool;
	json_t *profile = json_object_get(pl, "profile"), *prefixes = json_array(), *full = NULL;
	char id[37], vlan[8], *ptext = NULL, *pxtext = NULL;
	int64_t gen = -1;
	PGresult *res;
	int rc;

	if (customer == NULL || customer[0] == '\0')
		rc = net_fail(err, -EINVAL, "invalid-argument", "/customer_id",
			      "customer_id: required");
	else if (!json_is_object(profile) || sget(profile, "name") == NULL)
		rc = net_fail(err, -EINVAL, "invalid-argument", "/profile",
			      "profile: the catalog's bandwidth profile {name, up, down}");
	else
		rc = parse_access(json_object_get(pl, "access"), vlan, &mac, &pool, err);
	if (rc == 0 && vlan[0] == '\0' && mac == NULL && pool == NULL)
		rc = net_fail(err, -EINVAL, "invalid-argument", "/access",
			      "access: at least one of vlan, mac or prefix_pool");
	if (rc < 0)
		goto out;
	outbox_uuid4(id);
	if (pool != NULL && (rc = allocate(db, pool, id, prefixes, err)) < 0)
		goto out;
	ptext = json_dumps(profile, JSON_COMPACT);
	pxtext = json_dumps(prefixes, JSON_COMPACT);
	{
		char lmac[18] = "";
		const char *params[] = {id, sget(pl, "name") ?: sget(profile, "name"), customer,
					sget(pl, "order_id"), sget(pl, "order_item_id"),
					sget(pl, "offering_id"), ptext, vlan[0] ? vlan : NULL,
					NULL, pool, pxtext};

		if (mac != NULL) {
			for (int i = 0; i < 17; i++)
				lmac[i] = (char)tolower((unsigned char)mac[i]);
			params[8] = lmac;
		}
		res = net_exec(db,
			       "INSERT INTO services (id, name, state, customer_id, order_id, "
			       "order_item_id, offering_id, profile, vlan, mac, pool, prefixes, rev) "
			       "VALUES ($1::uuid, $2, 'reserved', $3, $4, $5, $6, $7::jsonb, $8::int, "
			       "$9, $10, $11::jsonb, nextval('service_rev'))",
			       11, params, err, &rc);
		PQclear(res);
	}
	if (rc == -EEXIST)
		rc = net_fail(err, -EEXIST, "conflict", "/access",
			      "access: the VLAN or MAC belongs to another live service");
	if (rc == 0)
		rc = check_service(db, id, err);
	if (rc == 0)
		rc = push_now(db, pu, id, &gen, err);
	if (rc == 0)
		rc = full_row(db, id, false, &full, err);
	if (rc == 0)
		*ret = provision_reply(full, gen);
out:
	json_decref(full);
	json_decref(prefixes);
	free(ptext);
	free(pxtext);
	return rc;
}

/* Whether @access names nothing ({} or only nulls), as a modify of the speed sends. */
static bool
access_is_empty(const json_t *access)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)access, k, v)
		if (!json_is_null(v))
			return false;
	return true;
}

static int
service_modify(struct db *db, const struct cuco_principal *who, const json_t *pl,
	       const struct network_pusher *pu, json_t **ret, struct network_error *err)
{
	const char *id = sget(pl, "service_id"), *mac, *pool;
	json_t *profile = json_object_get(pl, "profile"), *access = json_object_get(pl, "access");
	json_t *full = NULL, *prefixes = NULL;
	char vlan[8], *ptext = NULL, *pxtext = NULL;
	int64_t gen = -1;
	PGresult *res;
	int rc;

	if (id == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/service_id",
				"service_id: required to modify");
	if (access_is_empty(access))
		access = NULL; /* a speed change: the access stays as it is */
	rc = full_row(db, id, true, &full, err);
	if (rc < 0)
		return rc;
	if (strcmp(sget(full, "state"), "terminated") == 0) {
		rc = net_fail(err, -EBUSY, "conflict", "/service_id", "service %s is terminated", id);
		goto out;
	}
	if (profile != NULL && (!json_is_object(profile) || sget(profile, "name") == NULL)) {
		rc = net_fail(err, -EINVAL, "invalid-argument", "/profile",
			      "profile: the catalog's bandwidth profile {name, up, down}");
		goto out;
	}
	rc = parse_access(access, vlan, &mac, &pool, err);
	if (rc < 0)
		goto out;
	prefixes = json_deep_copy(json_object_get(full, "prefixes"));
	if (access != NULL && json_object_get(access, "prefix_pool") != NULL &&
	    strcmp(pool ?: "", sget(full, "pool") ?: "") != 0) {
		json_array_clear(prefixes);
		rc = release(db, id, err);
		if (rc == 0 && pool != NULL)
			rc = allocate(db, pool, id, prefixes, err);
		if (rc < 0)
			goto out;
	} else if (access != NULL) {
		pool = sget(full, "pool");
	}
	ptext = profile ? json_dumps(profile, JSON_COMPACT) : NULL;
	pxtext = json_dumps(prefixes, JSON_COMPACT);
	{
		const char *params[] = {id, ptext, access ? "t" : "f", vlan[0] ? vlan : NULL, mac,
					pool, pxtext};

		res = net_exec(db,
			       "UPDATE services SET profile = COALESCE($2::jsonb, profile), "
			       "vlan = CASE WHEN $3::bool THEN $4::int ELSE vlan END, "
			       "mac = CASE WHEN $3::bool THEN lower($5) ELSE mac END, "
			       "pool = CASE WHEN $3::bool THEN $6 ELSE pool END, prefixes = $7::jsonb, "
			       "rev = nextval('service_rev'), updated_at = now() WHERE id = $1::uuid",
			       7, params, err, &rc);
		PQclear(res);
	}
	if (rc == -EEXIST)
		rc = net_fail(err, -EEXIST, "conflict", "/access",
			      "access: the VLAN or MAC belongs to another live service");
	if (rc == 0)
		rc = check_service(db, id, err);
	if (rc == 0)
		rc = push_now(db, pu, id, &gen, err);
	json_decref(full);
	full = NULL;
	if (rc == 0)
		rc = full_row(db, id, false, &full, err);
	if (rc == 0)
		rc = net_event(db, who, "service", id,
			       json_integer_value(json_object_get(full, "version")),
			       "network.service.modified",
			       json_pack("{s:s, s:s, s:O, s:O}", "id", id, "customer_id",
					 sget(full, "customer_id"), "profile",
					 json_object_get(full, "profile"), "prefixes",
					 json_object_get(full, "prefixes")),
			       err);
	if (rc == 0) {
		const char *params[] = {id};

		res = net_exec(db, "UPDATE services SET version = version + 1 WHERE id = $1::uuid",
			       1, params, err, &rc);
		PQclear(res);
	}
	if (rc == 0)
		*ret = provision_reply(full, gen);
out:
	json_decref(full);
	json_decref(prefixes);
	free(ptext);
	free(pxtext);
	return rc;
}

static int
service_deprovision(struct db *db, const struct cuco_principal *who, const char *id,
		    const struct network_pusher *pu, json_t **ret, struct network_error *err)
{
	json_t *full = NULL;
	const char *params[] = {id};
	int64_t gen = -1, version;
	PGresult *res;
	int rc;

	if (id == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/service_id", "service_id: required");
	rc = full_row(db, id, true, &full, err);
	if (rc < 0)
		return rc;
	if (strcmp(sget(full, "state"), "terminated") != 0) {
		version = json_integer_value(json_object_get(full, "version"));
		res = net_exec(db,
			       "UPDATE services SET state = 'terminated', terminated_at = now(), "
			       "updated_at = now(), rev = nextval('service_rev'), version = version + 1 "
			       "WHERE id = $1::uuid",
			       1, params, err, &rc);
		PQclear(res);
		if (rc == 0)
			rc = release(db, id, err);
		if (rc == 0)
			rc = push_now(db, pu, id, &gen, err);
		if (rc == 0)
			rc = net_event(db, who, "service", id, version, "network.service.terminated",
				       json_pack("{s:s, s:s, s:O}", "id", id, "customer_id",
						 sget(full, "customer_id"), "prefixes",
						 json_object_get(full, "prefixes")),
				       err);
	}
	if (rc == 0)
		*ret = json_pack("{s:s, s:s}", "service_id", id, "state", "terminated");
	json_decref(full);
	return rc;
}

/* Set @id's availability; @cause: who suspends ("operator", "customer", "billing"). */
static int
service_availability(struct db *db, const struct cuco_principal *who, const char *id,
		     const char *avail, const char *cause, const struct network_pusher *pu,
		     json_t **ret, struct network_error *err)
{
	json_t *full = NULL;
	int64_t gen = -1;
	PGresult *res;
	int rc;

	if (id == NULL)
		return net_fail(err, -EINVAL, "invalid-argument", "/service_id", "service_id: required");
	if (!net_availability_valid(avail))
		return net_fail(err, -EINVAL, "invalid-argument", "/availability",
				"availability: '%s' is not active, suspended or walled-garden",
				avail ? avail : "");
	rc = full_row(db, id, true, &full, err);
	if (rc < 0)
		return rc;
	if (strcmp(sget(full, "state"), "terminated") == 0) {
		rc = net_fail(err, -EBUSY, "conflict", "/service_id", "service %s is terminated", id);
	} else if (strcmp(sget(full, "availability"), avail) != 0) {
		const char *params[] = {id, avail, cause};
		int64_t version = json_integer_value(json_object_get(full, "version"));

		res = net_exec(db,
			       "UPDATE services SET availability = $2, suspended_by = CASE WHEN $2 = "
			       "'active' THEN NULL ELSE $3 END, rev = nextval('service_rev'), "
			       "version = version + 1, updated_at = now() WHERE id = $1::uuid",
			       3, params, err, &rc);
		PQclear(res);
		if (rc == 0)
			rc = push_now(db, pu, id, &gen, err);
		if (rc == 0)
			rc = net_event(db, who, "service", id, version,
				       "network.service.availability_changed",
				       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "customer_id",
						 sget(full, "customer_id"), "from",
						 sget(full, "availability"), "to", avail, "cause",
						 cause),
				       err);
	}
	json_decref(full);
	full = NULL;
	if (rc == 0)
		rc = full_row(db, id, false, &full, err);
	if (rc == 0)
		*ret = provision_reply(full, gen);
	json_decref(full);
	return rc;
}

/* ---- the bus: commands ------------------------------------------------------------------ */

/* A step seen before answers its first reply (its state brought up to date). */
static int
step_seen(struct db *db, const char *step, json_t **ret, struct network_error *err)
{
	const char *params[] = {step};
	json_t *full = NULL;
	PGresult *res;
	int rc = 0;

	*ret = NULL;
	res = net_exec(db, "SELECT reply FROM steps WHERE step_id = $1", 1, params, err, &rc);
	if (res == NULL)
		return rc;
	*ret = net_json_cell(res, 0, 0);
	PQclear(res);
	if (*ret != NULL && sget(*ret, "service_id") &&
	    full_row(db, sget(*ret, "service_id"), false, &full, err) == 0) {
		json_object_set_new(*ret, "state", json_string(status_of(full)));
		json_decref(full);
	}
	return 0;
}

static int
step_store(struct db *db, const char *step, const char *type, const json_t *reply,
	   struct network_error *err)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	const char *params[] = {step, type, sget(reply, "service_id"), text};
	PGresult *res;
	int rc = 0;

	res = net_exec(db, "INSERT INTO steps (step_id, type, service_id, reply) "
			   "VALUES ($1, $2, $3::uuid, $4::jsonb)",
		       4, params, err, &rc);
	PQclear(res);
	free(text);
	return rc;
}

static int
provision(struct db *db, const struct cuco_principal *who, const json_t *pl,
	  const struct network_pusher *pu, json_t **ret, struct network_error *err)
{
	const char *action = sget(pl, "action") ?: "add";

	if (strcmp(action, "add") == 0)
		return service_add(db, pl, pu, ret, err);
	if (strcmp(action, "modify") == 0)
		return service_modify(db, who, pl, pu, ret, err);
	if (strcmp(action, "delete") == 0)
		return service_deprovision(db, who, sget(pl, "service_id"), pu, ret, err);
	return net_fail(err, -EINVAL, "invalid-argument", "/action",
			"action: '%s' is not add, modify or delete", action);
}

static int
command(struct db *db, const struct cuco_principal *who, const char *type, const json_t *pl,
	const struct network_pusher *pu, json_t **ret, struct network_error *err)
{
	const char *step = sget(pl, "step_id");
	json_t *full = NULL;
	int rc;

	if (strcmp(type, "network.service.get") == 0) {
		rc = full_row(db, sget(pl, "service_id") ?: "", false, &full, err);
		if (rc == 0) {
			*ret = json_pack("{s:s, s:s, s:s, s:O, s:o}", "service_id", sget(full, "id"),
					 "state", status_of(full), "availability",
					 sget(full, "availability"), "prefixes",
					 json_object_get(full, "prefixes"), "service",
					 tmf_service(full));
			json_decref(full);
		}
		return rc;
	}
	if (!net_may_write(who))
		return net_fail(err, -EPERM, "forbidden", "", "%s: admin, operator or an internal "
				"principal only", type);
	if (step == NULL || step[0] == '\0' || strlen(step) > 200)
		return net_fail(err, -EINVAL, "invalid-argument", "/step_id",
				"step_id: required (1 to 200 bytes)");
	rc = step_seen(db, step, ret, err);
	if (rc < 0 || *ret != NULL)
		return rc;
	if (strcmp(type, "network.service.provision") == 0)
		rc = provision(db, who, pl, pu, ret, err);
	else if (strcmp(type, "network.service.deprovision") == 0)
		rc = service_deprovision(db, who, sget(pl, "service_id"), pu, ret, err);
	else if (strcmp(type, "network.service.set_availability") == 0)
		rc = service_availability(db, who, sget(pl, "service_id"), sget(pl, "availability"),
					  "operator", pu, ret, err);
	else
		return net_fail(err, -EINVAL, "invalid-argument", "", "unknown command type '%s'",
				type);
	if (rc == 0)
		rc = step_store(db, step, type, *ret, err);
	if (rc < 0) {
		json_decref(*ret);
		*ret = NULL;
	}
	return rc;
}

int
network_command(struct db *db, const struct cuco_principal *who, const char *type,
		json_t *payload, void *arg, json_t **ret_result, struct cmd_problem *problem)
{
	struct network_error e = {0};
	json_t *r = NULL;
	int rc = command(db, who, type, payload, arg, &r, &e);

	if (rc < 0) {
		/* Pool exhausted, in use, refused by the dataplane: "exists" (a conflict). */
		problem->code[0] = '\0';
		snprintf(problem->detail, sizeof(problem->detail), "%s", e.message);
		return rc == -ENOSPC || rc == -EREMOTEIO || rc == -EBUSY ? -EEXIST : rc;
	}
	*ret_result = r;
	if (arg != NULL && ((const struct network_pusher *)arg)->kick)
		((const struct network_pusher *)arg)->kick(((const struct network_pusher *)arg)->arg);
	return 0;
}

bool
network_command_is_query(const char *type)
{
	return strcmp(type, "network.service.get") == 0;
}

/* ---- consumed events ---------------------------------------------------------------------- */

const char *const network_consumed_sources[] = {"customer", "billing"};
const size_t network_consumed_sources_n = 2;

/* What another domain's event does to a customer's services. */
struct reaction {
	const char *source, *type;
	const char *when_member, *when_value; /* NULL: always */
	const char *customer_member;          /* the payload's customer id */
	bool suspend;                         /* else resume */
	const char *cause;
};

static const struct reaction reactions[] = {
	{"customer", "customer.customer.state_changed", "to", "suspended", "id", true, "customer"},
	{"customer", "customer.customer.state_changed", "to", "active", "id", false, "customer"},
	/* Billing's dunning, when it publishes it. */
	{"billing", "billing.account.suspended", NULL, NULL, "customer_id", true, "billing"},
	{"billing", "billing.account.resumed", NULL, NULL, "customer_id", false, "billing"},
};

static int
react(struct db *db, const struct reaction *r, const char *customer, const char *to,
      const char *traceparent, struct network_error *err)
{
	struct cuco_principal sys = {.subject = "system:network"};
	const char *params[] = {customer, r->cause, to};
	PGresult *res;
	int rc = 0;

	snprintf(sys.traceparent, sizeof(sys.traceparent), "%s", traceparent);
	/*
	 * Resume only what this cause suspended: an operator's suspension stays.
	 * A cause may tighten its own (billing's walled garden, then suspension).
	 */
	res = net_exec(db,
		       r->suspend
			       ? "WITH o AS (SELECT id, availability FROM services WHERE customer_id "
				 "= $1 AND state <> 'terminated' AND (availability = 'active' OR "
				 "(suspended_by = $2 AND availability <> $3)) FOR UPDATE) "
				 "UPDATE services s SET availability = $3, suspended_by = $2, "
				 "rev = nextval('service_rev'), version = version + 1, updated_at = "
				 "now() FROM o WHERE s.id = o.id RETURNING s.id, s.version, "
				 "o.availability"
			       : "WITH o AS (SELECT id, availability FROM services WHERE customer_id "
				 "= $1 AND state <> 'terminated' AND availability <> 'active' AND "
				 "suspended_by = $2 AND $3::text IS NULL FOR UPDATE) "
				 "UPDATE services s SET availability = 'active', suspended_by = NULL, "
				 "rev = nextval('service_rev'), version = version + 1, updated_at = "
				 "now() FROM o WHERE s.id = o.id RETURNING s.id, s.version, "
				 "o.availability",
		       3, params, err, &rc);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = net_event(db, &sys, "service", PQgetvalue(res, i, 0),
			       strtoll(PQgetvalue(res, i, 1), NULL, 10) - 1,
			       "network.service.availability_changed",
			       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, i, 0),
					 "customer_id", customer, "from", PQgetvalue(res, i, 2),
					 "to", r->suspend ? to : "active", "cause", r->cause),
			       err);
	PQclear(res);
	return rc;
}

int
network_consume(struct db *db, const char *source, const struct es_event *ev, void *arg,
		char *err, size_t errlen)
{
	const struct network_pusher *pu = arg;
	struct network_error e = {0};

	for (size_t i = 0; i < sizeof(reactions) / sizeof(reactions[0]); i++) {
		const struct reaction *r = &reactions[i];
		const char *customer = sget(ev->payload, r->customer_member);
		int rc;

		if (strcmp(source, r->source) != 0 || strcmp(ev->type, r->type) != 0)
			continue;
		if (r->when_member && strcmp(sget(ev->payload, r->when_member) ?: "",
					     r->when_value) != 0)
			continue;
		if (customer == NULL)
			continue;
		/* Billing may ask for the walled garden instead of a suspension. */
		{
			const char *avail = sget(ev->payload, "availability");
			const char *to = !r->suspend ? NULL
					 : avail && strcmp(avail, "walled-garden") == 0
						 ? "walled-garden"
						 : "suspended";

			rc = react(db, r, customer, to, ev->traceparent, &e);
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s", e.message);
			return rc;
		}
		if (pu != NULL && pu->kick)
			pu->kick(pu->arg);
	}
	return 0;
}

/* ---- TMF640 activation ----------------------------------------------------------------- */

static const json_t *
characteristic_value(const json_t *body, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(body, "serviceCharacteristic"), i, c)
		if (strcmp(sget(c, "name") ?: "", name) == 0)
			return json_object_get(c, "value");
	return NULL;
}

/* The TMF Service of a request as the provision command's payload. */
static json_t *
activation_payload(const json_t *body)
{
	const json_t *v;
	json_t *pl = json_pack("{s:s}", "action", "add"), *access = json_object(), *party;
	size_t i;

	json_array_foreach(json_object_get(body, "relatedParty"), i, party)
		if (sget(party, "role") == NULL || strcmp(sget(party, "role"), "customer") == 0)
			json_object_set(pl, "customer_id", json_object_get(party, "id"));
	if (sget(body, "name"))
		json_object_set(pl, "name", json_object_get(body, "name"));
	if (sget(json_object_get(body, "serviceSpecification"), "id"))
		json_object_set(pl, "offering_id",
				json_object_get(json_object_get(body, "serviceSpecification"), "id"));
	if ((v = characteristic_value(body, "profile")) != NULL)
		json_object_set(pl, "profile", (json_t *)v);
	if ((v = characteristic_value(body, "vlan")) != NULL)
		json_object_set(access, "vlan", (json_t *)v);
	if ((v = characteristic_value(body, "mac")) != NULL)
		json_object_set(access, "mac", (json_t *)v);
	if ((v = characteristic_value(body, "prefixPool")) != NULL)
		json_object_set(access, "prefix_pool", (json_t *)v);
	json_object_set_new(pl, "access", access);
	return pl;
}

static json_t *
monitor_doc(const char *id, const json_t *full)
{
	const char *st = status_of(full);
	char href[128], src[128];

	snprintf(href, sizeof(href), TMF_MONITOR "%s", id);
	snprintf(src, sizeof(src), TMF_SERVICE "%s", sget(full, "id"));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}}", "id", id, "href", href,
			 "@type", "Monitor", "state",
			 strcmp(st, "pending") == 0 ? "InProgress" : "Completed", "sourceHref", src,
			 "response", "statusCode", strcmp(st, "pending") == 0 ? "202" : "201",
			 "body", tmf_service(full));
}

int
network_activation_create(struct network *net, const struct cuco_principal *p,
			  const json_t *body, json_t **ret, struct network_error *err)
{
	json_t *pl = activation_payload(body), *reply = NULL, *full = NULL;
	char mid[37], *req = json_dumps(body, JSON_COMPACT);
	int rc = -EAGAIN;

	if (!net_may_write(p)) {
		rc = net_fail(err, -EPERM, "forbidden", "", "only admin and operator activate services");
		goto out;
	}
	for (int attempt = 0; attempt < 3 && rc == -EAGAIN; attempt++) {
		rc = net_begin(net->db, err);
		if (rc < 0)
			break;
		rc = provision(net->db, p, pl, net->pusher, &reply, err);
		outbox_uuid4(mid);
		if (rc == 0) {
			const char *params[] = {mid, sget(reply, "service_id"), req};
			PGresult *res = net_exec(net->db,
						 "INSERT INTO monitors (id, service_id, request) "
						 "VALUES ($1::uuid, $2::uuid, $3::jsonb)",
						 3, params, err, &rc);
			PQclear(res);
		}
		if (rc == 0)
			rc = full_row(net->db, sget(reply, "service_id"), false, &full, err);
		if (rc == 0)
			rc = net_commit(net->db, err);
		else
			db_rollback(net->db);
		if (rc < 0) {
			json_decref(reply);
			json_decref(full);
			reply = full = NULL;
		}
	}
	if (rc == 0) {
		*ret = monitor_doc(mid, full);
		if (net->pusher && net->pusher->kick)
			net->pusher->kick(net->pusher->arg);
	}
out:
	json_decref(pl);
	json_decref(reply);
	json_decref(full);
	free(req);
	return rc;
}

int
network_monitor_get(struct network *net, const struct cuco_principal *p, const char *id,
		    json_t **ret, struct network_error *err)
{
	const char *params[] = {id};
	json_t *full;
	PGresult *res;
	int rc = 0;

	if (!outbox_uuid_valid(id))
		return net_fail(err, -ENOENT, "not-found", "", "no monitor '%s'", id);
	res = net_exec(net->db,
		       "SELECT " FULL_JSON " FROM monitors m JOIN services s ON s.id = m.service_id "
		       "WHERE m.id = $1::uuid",
		       1, params, err, &rc);
	if (res == NULL)
		return rc;
	full = net_json_cell(res, 0, 0);
	PQclear(res);
	if (full == NULL || !may_see(p, full)) {
		json_decref(full);
		return net_fail(err, -ENOENT, "not-found", "", "no monitor '%s'", id);
	}
	*ret = monitor_doc(id, full);
	json_decref(full);
	return 0;
}
