/* SPDX-License-Identifier: BSD-3-Clause */
/* The customer domain's SQL. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/customer/store.h"

/* RFC 3339 in UTC with microseconds, whatever the session's TimeZone. */
#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* The name a party is known by (TMF632 fullName of an individual). */
#define PARTY_NAME                                                                                 \
	"CASE p.kind WHEN 'individual' THEN concat_ws(' ', p.given_name, p.middle_name,"         \
	" p.family_name) ELSE p.name END"

/* A Customer (TMF629) from customers c joined with its party p. */
#define CUSTOMER_DOC                                                                               \
	"jsonb_strip_nulls(jsonb_build_object('id', c.id,"                                        \
	" 'href', '/tmf-api/customerManagement/v4/customer/' || c.id,"                            \
	" '@type', 'Customer', '@baseType', 'PartyRole', 'name', c.name, 'status', c.status,"    \
	" 'statusReason', c.status_reason, 'customerNumber', c.number,"                           \
	" 'engagedParty', jsonb_build_object('id', p.id,"                                         \
	"  'href', '/tmf-api/party/v4/' || p.kind || '/' || p.id, 'name', " PARTY_NAME ","      \
	"  '@referredType', initcap(p.kind)),"                                                    \
	" 'contactMedium', c.contact_medium, 'account', c.account,"                               \
	" 'characteristic', c.characteristic, 'validFor', c.valid_for))"

/* An Individual or Organization (TMF632) from parties p. */
#define PARTY_DOC                                                                                  \
	"jsonb_strip_nulls(jsonb_build_object('id', p.id,"                                        \
	" 'href', '/tmf-api/party/v4/' || p.kind || '/' || p.id, '@type', initcap(p.kind),"      \
	" '@baseType', 'Party', 'givenName', p.given_name, 'familyName', p.family_name,"          \
	" 'middleName', p.middle_name, 'title', p.title,"                                         \
	" 'fullName', CASE WHEN p.kind = 'individual' THEN " PARTY_NAME " END,"                  \
	" 'birthDate', to_char(p.birth_date, 'YYYY-MM-DD'), 'gender', p.gender,"                  \
	" 'nationality', p.nationality,"                                                          \
	" 'name', CASE WHEN p.kind = 'organization' THEN p.name END,"                             \
	" 'tradingName', p.trading_name, 'organizationType', p.organization_type,"                \
	" 'isLegalEntity', p.is_legal_entity, 'status', p.status,"                                \
	" 'contactMedium', p.contact_medium))"

#define CONSENT_DOC                                                                                \
	"jsonb_strip_nulls(jsonb_build_object('id', id, 'customer_id', customer_id,"              \
	" 'channel', channel, 'purpose', purpose, 'state', state, 'at', " TS("at") ","            \
	" 'source', source, 'recorded_at', " TS("recorded_at") ", 'recorded_by', recorded_by))"

#define LOYALTY_DOC                                                                                \
	"jsonb_strip_nulls(jsonb_build_object('id', id, 'kind', kind, 'points', points,"          \
	" 'reference', reference, 'reason', reason, 'balance_after', balance_after,"              \
	" 'at', " TS("at") ", 'by', by_subject))"

/* Run @sql; NULL on failure with -EEXIST/-EIO in *@rc. */
static PGresult *
run(struct db *db, const char *sql, int n, const char *const *params, int *rc, char *err,
    size_t errlen)
{
	char state[6] = "";
	PGresult *res = db_exec(db, sql, n, params, err, errlen, state);

	if (res == NULL)
		*rc = strcmp(state, "23505") == 0 ? -EEXIST : -EIO;
	return res;
}

/* A statement whose rows do not matter; -ENOENT when it touched none. */
static int
run_cmd(struct db *db, const char *sql, int n, const char *const *params, char *err,
	size_t errlen)
{
	int rc = 0;
	PGresult *res = run(db, sql, n, params, &rc, err, errlen);

	if (res == NULL)
		return rc;
	if (strcmp(PQcmdTuples(res), "0") == 0)
		rc = -ENOENT;
	PQclear(res);
	return rc;
}

/* Column @col of row @row as JSON (new reference); -EIO when it does not parse. */
static int
json_col(const PGresult *res, int row, int col, json_t **ret, char *err, size_t errlen)
{
	json_error_t jerr;

	*ret = json_loads(PQgetvalue(res, row, col), 0, &jerr);
	if (*ret == NULL) {
		snprintf(err, errlen, "unreadable JSON from the database: %s", jerr.text);
		return -EIO;
	}
	return 0;
}

/* One row expected, whose column 0 is JSON: into @ret; -ENOENT when none. */
static int
one_json(PGresult *res, json_t **ret, char *err, size_t errlen)
{
	int rc = PQntuples(res) == 1 ? json_col(res, 0, 0, ret, err, errlen) : -ENOENT;

	PQclear(res);
	return rc;
}

/* A page query's one row: (total, JSON array). */
static int
page(PGresult *res, json_t **ret_items, int64_t *ret_total, char *err, size_t errlen)
{
	int rc = -EIO;

	if (PQntuples(res) == 1) {
		*ret_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = json_col(res, 0, 1, ret_items, err, errlen);
	}
	PQclear(res);
	return rc;
}

static char *
dump(const json_t *v)
{
	return v != NULL && !json_is_null(v) ? json_dumps(v, JSON_COMPACT) : NULL;
}

static const char *
sv(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

static void
num(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
}

/* ---- Customers ---------------------------------------------------------------------- */

void
store_customer_row_clear(struct customer_row *r)
{
	json_decref(r->doc);
	json_decref(r->prefs);
	r->doc = r->prefs = NULL;
}

void
store_party_row_clear(struct party_row *r)
{
	json_decref(r->doc);
	r->doc = NULL;
}

#define CUSTOMER_COLS                                                                              \
	"c.id, c.number, c.party_id, p.kind, c.status, c.erased_at IS NOT NULL,"                  \
	" c.loyalty_balance, c.version, " CUSTOMER_DOC "::text, c.preferences::text"

int
store_customer_get(struct db *db, const char *id, bool lock, struct customer_row *ret,
		   char *err, size_t errlen)
{
	const char *p[1] = {id};
	struct customer_row r = {0};
	PGresult *res;
	int rc = 0;

	if (!customer_uuid_valid(id))
		return -ENOENT;
	res = run(db,
		  lock ? "SELECT " CUSTOMER_COLS " FROM customers c"
			 " JOIN parties p ON p.id = c.party_id WHERE c.id = $1 FOR UPDATE OF c"
		       : "SELECT " CUSTOMER_COLS " FROM customers c"
			 " JOIN parties p ON p.id = c.party_id WHERE c.id = $1",
		  1, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;
	}
	snprintf(r.id, sizeof(r.id), "%s", PQgetvalue(res, 0, 0));
	snprintf(r.number, sizeof(r.number), "%s", PQgetvalue(res, 0, 1));
	snprintf(r.party_id, sizeof(r.party_id), "%s", PQgetvalue(res, 0, 2));
	r.party_kind = strcmp(PQgetvalue(res, 0, 3), "organization") == 0 ? CUSTOMER_ORGANIZATION
									   : CUSTOMER_INDIVIDUAL;
	if (customer_state_parse(PQgetvalue(res, 0, 4), &r.status) < 0)
		r.status = CUSTOMER_CLOSED;
	r.erased = PQgetvalue(res, 0, 5)[0] == 't';
	r.balance = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	r.version = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	rc = json_col(res, 0, 8, &r.doc, err, errlen);
	rc = rc ?: json_col(res, 0, 9, &r.prefs, err, errlen);
	PQclear(res);
	if (rc) {
		store_customer_row_clear(&r);
		return rc;
	}
	*ret = r;
	return 0;
}

int
store_customer_of_party(struct db *db, const char *party_id, char ret_id[CUSTOMER_UUID_LEN + 1],
			char *err, size_t errlen)
{
	const char *p[1] = {party_id};
	PGresult *res;
	int rc = 0;

	if (!customer_uuid_valid(party_id))
		return -ENOENT;
	res = run(db, "SELECT id FROM customers WHERE party_id = $1", 1, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) == 1 ? 0 : -ENOENT;
	if (rc == 0)
		snprintf(ret_id, CUSTOMER_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int
store_customer_insert(struct db *db, const char *id, const char *party_id, const json_t *doc,
		      const json_t *prefs, char *err, size_t errlen)
{
	char *cm = dump(json_object_get(doc, "contactMedium"));
	char *acc = dump(json_object_get(doc, "account"));
	char *chr = dump(json_object_get(doc, "characteristic"));
	char *vf = dump(json_object_get(doc, "validFor"));
	char *pr = dump(prefs);
	const char *p[10] = {id, party_id, sv(doc, "name"), sv(doc, "status"),
			     sv(doc, "statusReason"), cm, acc, chr, vf, pr};
	int rc = run_cmd(db,
			 "INSERT INTO customers (id, party_id, name, status, status_reason,"
			 " contact_medium, account, characteristic, valid_for, preferences)"
			 " VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '[]'),"
			 " coalesce($7::jsonb, '[]'), coalesce($8::jsonb, '[]'), $9::jsonb,"
			 " $10::jsonb)",
			 10, p, err, errlen);

	free(cm);
	free(acc);
	free(chr);
	free(vf);
	free(pr);
	return rc;
}

int
store_customer_save(struct db *db, const char *id, const json_t *doc, const json_t *prefs,
		    int64_t balance, int64_t version, bool erased, char *err, size_t errlen)
{
	char bal[24], ver[24];
	char *cm = dump(json_object_get(doc, "contactMedium"));
	char *acc = dump(json_object_get(doc, "account"));
	char *chr = dump(json_object_get(doc, "characteristic"));
	char *vf = dump(json_object_get(doc, "validFor"));
	char *pr = dump(prefs);
	const char *p[12] = {id, sv(doc, "name"), sv(doc, "status"), sv(doc, "statusReason"),
			     cm, acc, chr, vf, pr, bal, ver, erased ? "true" : "false"};
	int rc;

	num(bal, sizeof(bal), balance);
	num(ver, sizeof(ver), version);
	rc = run_cmd(db,
		     "UPDATE customers SET name = $2, status = $3, status_reason = $4,"
		     " contact_medium = coalesce($5::jsonb, '[]'),"
		     " account = coalesce($6::jsonb, '[]'),"
		     " characteristic = coalesce($7::jsonb, '[]'), valid_for = $8::jsonb,"
		     " preferences = $9::jsonb, loyalty_balance = $10::bigint,"
		     " version = $11::bigint,"
		     " erased_at = CASE WHEN $12::boolean THEN coalesce(erased_at, now())"
		     "  ELSE erased_at END, updated_at = now() WHERE id = $1",
		     12, p, err, errlen);
	free(cm);
	free(acc);
	free(chr);
	free(vf);
	free(pr);
	return rc;
}

int
store_customer_delete(struct db *db, const char *id, char *err, size_t errlen)
{
	const char *p[1] = {id};

	return run_cmd(db, "DELETE FROM customers WHERE id = $1", 1, p, err, errlen);
}

int
store_customer_list(struct db *db, const struct store_customer_query *q, json_t **ret_items,
		    int64_t *ret_total, char *err, size_t errlen)
{
	char limit[16], offset[16];
	const char *p[9] = {q->name_pattern, q->status, q->email, q->phone,
			    q->billing_contacts_only ? "true" : "false", q->customer_number,
			    q->only_id, limit, offset};
	PGresult *res;
	int rc = 0;

	snprintf(limit, sizeof(limit), "%u", q->limit);
	snprintf(offset, sizeof(offset), "%u", q->offset);
	/* Only the page's documents are built; the count needs the ids alone. */
	res = run(db,
		  "WITH m AS (SELECT c.id, c.created_at FROM customers c"
		  " JOIN parties p ON p.id = c.party_id WHERE"
		  " ($1::text IS NULL OR c.name ILIKE $1 ESCAPE '\\' OR " PARTY_NAME " ILIKE $1"
		  "  ESCAPE '\\' OR p.trading_name ILIKE $1 ESCAPE '\\')"
		  " AND ($2::text IS NULL OR c.status = $2)"
		  " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM"
		  "  jsonb_array_elements(c.contact_medium || p.contact_medium) cm"
		  "  WHERE lower(cm->'characteristic'->>'emailAddress') = lower($3)"
		  "  AND (NOT $5::boolean OR cm->'characteristic'->>'contactType' = 'billing')))"
		  " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM"
		  "  jsonb_array_elements(c.contact_medium || p.contact_medium) cm"
		  "  WHERE cm->'characteristic'->>'phoneNumber' = $4"
		  "  AND (NOT $5::boolean OR cm->'characteristic'->>'contactType' = 'billing')))"
		  " AND ($6::text IS NULL OR c.number = $6)"
		  " AND ($7::text IS NULL OR c.id::text = $7))"
		  " SELECT (SELECT count(*) FROM m),"
		  " (SELECT coalesce(jsonb_agg(" CUSTOMER_DOC " ORDER BY c.created_at, c.id),"
		  "  '[]'::jsonb) FROM (SELECT id FROM m ORDER BY created_at, id"
		  "  LIMIT $8::bigint OFFSET $9::bigint) x"
		  "  JOIN customers c ON c.id = x.id JOIN parties p ON p.id = c.party_id)::text",
		  9, p, &rc, err, errlen);
	return res ? page(res, ret_items, ret_total, err, errlen) : rc;
}

/* ---- History --------------------------------------------------------------------------- */

int
store_history_insert(struct db *db, const char *customer_id, int64_t version, const char *from,
		     const char *to, const char *reason, const char *by, char *err, size_t errlen)
{
	char ver[24];
	const char *p[6] = {customer_id, ver, from, to, reason, by};

	num(ver, sizeof(ver), version);
	return run_cmd(db,
		       "INSERT INTO state_history (customer_id, version, from_state, to_state,"
		       " reason, by_subject) VALUES ($1, $2::bigint, $3, $4, $5, $6)",
		       6, p, err, errlen);
}

int
store_history_list(struct db *db, const char *customer_id, json_t **ret, char *err,
		   size_t errlen)
{
	const char *p[1] = {customer_id};
	PGresult *res;
	int rc = 0;

	res = run(db,
		  "SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object("
		  " 'version', version, 'from', from_state, 'to', to_state, 'reason', reason,"
		  " 'at', " TS("at") ", 'by', by_subject)) ORDER BY version), '[]'::jsonb)::text"
		  " FROM state_history WHERE customer_id = $1",
		  1, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

/* ---- Parties ------------------------------------------------------------------------------ */

int
store_party_get(struct db *db, const char *id, bool lock, struct party_row *ret, char *err,
		size_t errlen)
{
	const char *p[1] = {id};
	struct party_row r = {0};
	PGresult *res;
	int rc = 0;

	if (!customer_uuid_valid(id))
		return -ENOENT;
	res = run(db,
		  lock ? "SELECT p.id, p.kind, p.erased_at IS NOT NULL, p.version,"
			 " " PARTY_DOC "::text FROM parties p WHERE p.id = $1 FOR UPDATE"
		       : "SELECT p.id, p.kind, p.erased_at IS NOT NULL, p.version,"
			 " " PARTY_DOC "::text FROM parties p WHERE p.id = $1",
		  1, p, &rc, err, errlen);
	if (res == NULL)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;
	}
	snprintf(r.id, sizeof(r.id), "%s", PQgetvalue(res, 0, 0));
	r.kind = strcmp(PQgetvalue(res, 0, 1), "organization") == 0 ? CUSTOMER_ORGANIZATION
								     : CUSTOMER_INDIVIDUAL;
	r.erased = PQgetvalue(res, 0, 2)[0] == 't';
	r.version = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	rc = json_col(res, 0, 4, &r.doc, err, errlen);
	PQclear(res);
	if (rc)
		return rc;
	*ret = r;
	return 0;
}

/* The party's columns from @doc, in the order of the statements below ($2..$14). */
static void
party_params(const json_t *doc, const char *p[13], char **cm)
{
	const json_t *legal = json_object_get(doc, "isLegalEntity");

	*cm = dump(json_object_get(doc, "contactMedium"));
	p[0] = sv(doc, "status");
	p[1] = sv(doc, "givenName");
	p[2] = sv(doc, "familyName");
	p[3] = sv(doc, "middleName");
	p[4] = sv(doc, "title");
	p[5] = sv(doc, "birthDate");
	p[6] = sv(doc, "gender");
	p[7] = sv(doc, "nationality");
	p[8] = sv(doc, "name");
	p[9] = sv(doc, "tradingName");
	p[10] = sv(doc, "organizationType");
	p[11] = legal == NULL ? NULL : json_is_true(legal) ? "true" : "false";
	p[12] = *cm;
}

int
store_party_insert(struct db *db, const char *id, enum customer_party_kind kind,
		   const json_t *doc, char *err, size_t errlen)
{
	const char *p[15] = {id, kind == CUSTOMER_ORGANIZATION ? "organization" : "individual"};
	char *cm;
	int rc;

	party_params(doc, p + 2, &cm);
	rc = run_cmd(db,
		     "INSERT INTO parties (id, kind, status, given_name, family_name, middle_name,"
		     " title, birth_date, gender, nationality, name, trading_name,"
		     " organization_type, is_legal_entity, contact_medium)"
		     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date, $9, $10, $11, $12, $13,"
		     " $14::boolean, coalesce($15::jsonb, '[]'))",
		     15, p, err, errlen);
	free(cm);
	return rc;
}

int
store_party_save(struct db *db, const char *id, const json_t *doc, int64_t version, bool erased,
		 char *err, size_t errlen)
{
	char ver[24];
	const char *p[16] = {id};
	char *cm;
	int rc;

	party_params(doc, p + 1, &cm);
	num(ver, sizeof(ver), version);
	p[14] = ver;
	p[15] = erased ? "true" : "false";
	rc = run_cmd(db,
		     "UPDATE parties SET status = $2, given_name = $3, family_name = $4,"
		     " middle_name = $5, title = $6, birth_date = $7::date, gender = $8,"
		     " nationality = $9, name = $10, trading_name = $11, organization_type = $12,"
		     " is_legal_entity = $13::boolean, contact_medium = coalesce($14::jsonb, '[]'),"
		     " version = $15::bigint, erased_at = CASE WHEN $16::boolean"
		     "  THEN coalesce(erased_at, now()) ELSE erased_at END, updated_at = now()"
		     " WHERE id = $1",
		     16, p, err, errlen);
	free(cm);
	return rc;
}

int
store_party_delete(struct db *db, const char *id, char *err, size_t errlen)
{
	const char *p[1] = {id};

	return run_cmd(db, "DELETE FROM parties WHERE id = $1", 1, p, err, errlen);
}

int
store_party_list(struct db *db, enum customer_party_kind kind, const char *name_pattern,
		 unsigned limit, unsigned offset, json_t **ret_items, int64_t *ret_total,
		 char *err, size_t errlen)
{
	char l[16], o[16];
	const char *p[4] = {kind == CUSTOMER_ORGANIZATION ? "organization" : "individual",
			    name_pattern, l, o};
	PGresult *res;
	int rc = 0;

	snprintf(l, sizeof(l), "%u", limit);
	snprintf(o, sizeof(o), "%u", offset);
	res = run(db,
		  "WITH m AS (SELECT p.id, p.created_at FROM parties p WHERE p.kind = $1"
		  " AND ($2::text IS NULL OR " PARTY_NAME " ILIKE $2 ESCAPE '\\'"
		  "  OR p.trading_name ILIKE $2 ESCAPE '\\'))"
		  " SELECT (SELECT count(*) FROM m),"
		  " (SELECT coalesce(jsonb_agg(" PARTY_DOC " ORDER BY p.created_at, p.id),"
		  "  '[]'::jsonb) FROM (SELECT id FROM m ORDER BY created_at, id"
		  "  LIMIT $3::bigint OFFSET $4::bigint) x JOIN parties p ON p.id = x.id)::text",
		  4, p, &rc, err, errlen);
	return res ? page(res, ret_items, ret_total, err, errlen) : rc;
}

/* ---- Consents ---------------------------------------------------------------------------- */

int
store_consent_insert(struct db *db, const char *id, const char *customer_id, const json_t *body,
		     const char *by, json_t **ret, char *err, size_t errlen)
{
	const char *p[8] = {id, customer_id, sv(body, "channel"), sv(body, "purpose"),
			    sv(body, "state"), sv(body, "at"), sv(body, "source"), by};
	PGresult *res;
	int rc = 0;

	res = run(db,
		  "INSERT INTO consents (id, customer_id, channel, purpose, state, at, source,"
		  " recorded_by) VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()),"
		  " $7, $8)"
		  " RETURNING " CONSENT_DOC "::text",
		  8, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

int
store_consent_list(struct db *db, const char *customer_id, const char *channel,
		   const char *purpose, unsigned limit, unsigned offset, json_t **ret_items,
		   int64_t *ret_total, char *err, size_t errlen)
{
	char l[16], o[16];
	const char *p[5] = {customer_id, channel, purpose, l, o};
	PGresult *res;
	int rc = 0;

	snprintf(l, sizeof(l), "%u", limit);
	snprintf(o, sizeof(o), "%u", offset);
	res = run(db,
		  "WITH m AS (SELECT * FROM consents WHERE customer_id = $1"
		  " AND ($2::text IS NULL OR channel = $2) AND ($3::text IS NULL OR purpose = $3))"
		  " SELECT (SELECT count(*) FROM m),"
		  " (SELECT coalesce(jsonb_agg(" CONSENT_DOC " ORDER BY recorded_at, id),"
		  "  '[]'::jsonb) FROM (SELECT * FROM m ORDER BY recorded_at, id LIMIT $4::bigint"
		  "  OFFSET $5::bigint) x)::text",
		  5, p, &rc, err, errlen);
	return res ? page(res, ret_items, ret_total, err, errlen) : rc;
}

/* ---- Loyalty ------------------------------------------------------------------------------ */

int
store_loyalty_find(struct db *db, const char *customer_id, const char *reference, json_t **ret,
		   char *err, size_t errlen)
{
	const char *p[2] = {customer_id, reference};
	PGresult *res;
	int rc = 0;

	res = run(db,
		  "SELECT " LOYALTY_DOC "::text FROM loyalty_transactions"
		  " WHERE customer_id = $1 AND reference = $2",
		  2, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

int
store_loyalty_insert(struct db *db, const char *id, const char *customer_id, const json_t *body,
		     int64_t balance_after, const char *by, json_t **ret, char *err,
		     size_t errlen)
{
	char pts[24], bal[24];
	const char *p[8] = {id, customer_id, sv(body, "kind"), pts, sv(body, "reference"),
			    sv(body, "reason"), bal, by};
	PGresult *res;
	int rc = 0;

	num(pts, sizeof(pts), json_integer_value(json_object_get(body, "points")));
	num(bal, sizeof(bal), balance_after);
	res = run(db,
		  "INSERT INTO loyalty_transactions (id, customer_id, kind, points, reference,"
		  " reason, balance_after, by_subject) VALUES ($1, $2, $3, $4::bigint, $5, $6,"
		  " $7::bigint, $8) RETURNING " LOYALTY_DOC "::text",
		  8, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

int
store_loyalty_totals(struct db *db, const char *customer_id, json_t **ret, char *err,
		     size_t errlen)
{
	const char *p[1] = {customer_id};
	PGresult *res;
	int rc = 0;

	res = run(db,
		  "SELECT jsonb_build_object("
		  " 'earned', coalesce(sum(points) FILTER (WHERE kind = 'earn'), 0),"
		  " 'redeemed', coalesce(sum(points) FILTER (WHERE kind = 'redeem'), 0),"
		  " 'transactions', count(*))::text FROM loyalty_transactions"
		  " WHERE customer_id = $1",
		  1, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

int
store_loyalty_list(struct db *db, const char *customer_id, unsigned limit, unsigned offset,
		   json_t **ret_items, int64_t *ret_total, char *err, size_t errlen)
{
	char l[16], o[16];
	const char *p[3] = {customer_id, l, o};
	PGresult *res;
	int rc = 0;

	snprintf(l, sizeof(l), "%u", limit);
	snprintf(o, sizeof(o), "%u", offset);
	res = run(db,
		  "WITH m AS (SELECT * FROM loyalty_transactions WHERE customer_id = $1)"
		  " SELECT (SELECT count(*) FROM m),"
		  " (SELECT coalesce(jsonb_agg(" LOYALTY_DOC " ORDER BY at DESC, id), '[]'::jsonb)"
		  "  FROM (SELECT * FROM m ORDER BY at DESC, id LIMIT $2::bigint"
		  "  OFFSET $3::bigint) x)::text",
		  3, p, &rc, err, errlen);
	return res ? page(res, ret_items, ret_total, err, errlen) : rc;
}

/* ---- GDPR ------------------------------------------------------------------------------------ */

int
store_events_of(struct db *db, const char *customer_id, const char *party_id, json_t **ret,
		char *err, size_t errlen)
{
	const char *p[2] = {customer_id, party_id};
	PGresult *res;
	int rc = 0;

	res = run(db,
		  "SELECT coalesce(jsonb_agg(jsonb_build_object('seq', seq, 'event_id', event_id,"
		  " 'type', type, 'schema_version', schema_version,"
		  " 'aggregate_type', aggregate_type,"
		  " 'aggregate_id', aggregate_id, 'aggregate_version', aggregate_version,"
		  " 'payload', payload, 'created_at', " TS("created_at") ") ORDER BY seq),"
		  " '[]'::jsonb)::text FROM outbox"
		  " WHERE (aggregate_type = 'customer' AND aggregate_id = $1)"
		  " OR (aggregate_type = 'party' AND aggregate_id = $2)",
		  2, p, &rc, err, errlen);
	return res ? one_json(res, ret, err, errlen) : rc;
}

int
store_erase_free_text(struct db *db, const char *customer_id, char *err, size_t errlen)
{
	static const char *const sql[] = {
		"UPDATE state_history SET reason = NULL WHERE customer_id = $1",
		"UPDATE consents SET source = NULL WHERE customer_id = $1",
		"UPDATE loyalty_transactions SET reason = NULL WHERE customer_id = $1",
	};
	const char *p[1] = {customer_id};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		int rc = run_cmd(db, sql[i], 1, p, err, errlen);

		if (rc && rc != -ENOENT)
			return rc;
	}
	return 0;
}
