/* SPDX-License-Identifier: BSD-3-Clause */
/* The domain's handle, its transactions, events and audit records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bss/core/outbox.h"
#include "common/clock.h"
#include "bss/security/service.h"

extern const struct db_migration security_migrations[];
extern const size_t security_migrations_n;

#define DETAILS_MAX 8192

int64_t
sec_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
sec_now(void)
{
	return sec_now_us() / 1000000;
}

bool
sec_is_user(const struct cuco_principal *p)
{
	return security_uuid_valid(p->subject);
}

bool
sec_is_system(const struct cuco_principal *p)
{
	return strncmp(p->subject, "system:", 7) == 0;
}

int
security_migrate(const char *url, struct security_error *err)
{
	char msg[256] = "";
	int rc = db_migrate(url, "security", security_migrations, security_migrations_n, msg,
			    sizeof(msg));

	if (rc)
		return security_fail(err, rc, "internal", "", "security: migration: %s", msg);
	return 0;
}

static int
check_state_dir(const char *dir, struct security_error *err)
{
	struct stat st;

	if (dir == NULL || dir[0] == '\0' || strlen(dir) >= PATH_MAX - 32)
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "state_dir: required (a directory of mode 0700)");
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "state_dir: '%s' is not a directory", dir);
	if (st.st_mode & 077)
		return security_fail(err, -EINVAL, "invalid-argument", "state_dir",
				     "state_dir: '%s' has mode %04o, must be 0700", dir,
				     (unsigned)(st.st_mode & 07777));
	return 0;
}

int
security_open(const struct security_config *cfg, struct security **ret,
	      struct security_error *err)
{
	char password[32], msg[256];
	struct security *sec;
	int rc;

	if (cfg == NULL || cfg->url == NULL)
		return security_fail(err, -EINVAL, "invalid-argument", "url",
				     "url: the database URL is required");
	rc = check_state_dir(cfg->state_dir, err);
	if (rc)
		return rc;
	sec = calloc(1, sizeof(*sec));
	if (sec == NULL)
		return security_fail(err, -ENOMEM, "internal", "", "out of memory");
	snprintf(sec->state_dir, sizeof(sec->state_dir), "%s", cfg->state_dir);
	sec->access_ttl = cfg->access_ttl ? cfg->access_ttl : 900;
	sec->refresh_ttl = cfg->refresh_ttl ? cfg->refresh_ttl : 8 * 3600;
	rc = security_pwcost_from(cfg, &sec->cost, err);
	rc = rc ?: security_key_load(sec->state_dir, "jwt.key", sec->jwt_key, err);
	rc = rc ?: security_key_load(sec->state_dir, "audit.key", sec->audit_key, err);
	if (rc)
		goto out_free;
	security_password_random(password);
	rc = security_password_hash(password, &sec->cost, sec->dummy_hash);
	if (rc) {
		security_fail(err, rc, "internal", "pwhash_memlimit",
			      "pwhash_memlimit: cannot allocate %zu bytes", sec->cost.memlimit);
		goto out_free;
	}
	rc = db_open_domain(cfg->url, "security", &sec->db, msg, sizeof(msg));
	if (rc) {
		security_fail(err, rc, "internal", "url", "security: database: %s", msg);
		goto out_free;
	}
	rc = sec_anchor_open(sec->state_dir, cfg->url, sec->audit_key);
	if (rc) {
		security_fail(err, rc, "internal", "", "security: out of memory");
		db_close(sec->db);
		goto out_free;
	}
	*ret = sec;
	return 0;
out_free:
	sodium_memzero(sec, sizeof(*sec));
	free(sec);
	return rc;
}

/* Drop what the open transaction noted. */
static void
clear_pending(struct security *sec)
{
	for (unsigned i = 0; i < sec->nevents; i++)
		json_decref(sec->events[i].payload);
	for (unsigned i = 0; i < sec->naudits; i++)
		free(sec->audits[i].details);
	sec->nevents = 0;
	sec->naudits = 0;
	sec->saving = false;
	sec->save_unlocked = false;
}

void
sec_defer_user_save(struct security *sec, struct user_row *u)
{
	snprintf(u->updated_at, sizeof(u->updated_at), "%s", sec->tx_now);
	sec->save = *u;
	sec->saving = true;
}

void
sec_defer_user_rename(struct security *sec, struct user_row *u, int64_t expected_version)
{
	cuco_rfc3339_now_us(u->updated_at, sizeof(u->updated_at));
	sec->save = *u;
	sec->saving = true;
	sec->save_unlocked = true;
	sec->save_expected = expected_version;
}

struct security *
security_close(struct security *sec)
{
	if (sec == NULL)
		return NULL;
	clear_pending(sec);
	sec_anchor_close(sec->state_dir);
	db_close(sec->db);
	sodium_memzero(sec, sizeof(*sec));
	free(sec);
	return NULL;
}

/* ---- Transactions ------------------------------------------------------------ */

void
sec_user_changed(struct security *sec, const char *id)
{
	if (sec->nchanged == sizeof(sec->changed) / sizeof(sec->changed[0])) {
		/* No room: forget now too; the forget after commit is what counts. */
		sec_authcache_forget(id);
		return;
	}
	snprintf(sec->changed[sec->nchanged++], sizeof(sec->changed[0]), "%s", id);
}

/* After COMMIT, before the change is answered: later requests read the rows again. */
static void
forget_changed(struct security *sec)
{
	for (unsigned i = 0; i < sec->nchanged; i++)
		sec_authcache_forget(sec->changed[i]);
	sec->nchanged = 0;
}

int
sec_begin(struct security *sec, struct security_error *err)
{
	clear_pending(sec);
	sec->nchanged = 0;
	if (db_begin(sec->db) < 0)
		return security_fail(err, -EIO, "internal", "", "security: BEGIN: %s",
				     db_error(sec->db));
	return 0;
}

/*
 * The noted audit records (into audit_pending, each with its MAC), the
 * events and COMMIT in one round trip (outbox_commit). No lock is held
 * across the commit: the chainer links the records afterwards (anchor.c).
 * @ret_audits: whether records were written.
 */
static int
write_pending(struct security *sec, bool *ret_audits, struct security_error *err)
{
	struct security_audit_entry e;
	struct store_audit_stmt ab[SEC_AUDITS_MAX];
	struct outbox_event ev[SEC_EVENTS_MAX];
	struct db_stmt st[SEC_AUDITS_MAX + 1];
	size_t failed = 0, npre = 0;
	char state[6];
	int rc;

	if (sec->saving && sec->save_unlocked)
		store_user_rename_stmt(&sec->save, sec->save_expected, &sec->save_buf, &st[npre++]);
	else if (sec->saving)
		store_user_save_stmt(&sec->save, &sec->save_buf, &st[npre++]);
	for (unsigned i = 0; i < sec->naudits; i++) {
		const struct sec_pending_audit *a = &sec->audits[i];

		e = (struct security_audit_entry){
			.at_us = sec_now_us(),
			.subject = a->subject,
			.name = a->name,
			.remote = a->remote,
			.action = a->action,
			.target = a->target,
			.outcome = a->outcome,
			.details = a->details,
			.traceparent = a->traceparent,
		};
		store_audit_pending_stmt(sec->audit_key, &e, &ab[i], &st[npre++]);
	}
	for (unsigned i = 0; i < sec->nevents; i++) {
		const struct sec_pending_event *p = &sec->events[i];

		ev[i] = (struct outbox_event){
			.aggregate_type = p->aggregate_type,
			.aggregate_id = p->aggregate_id,
			.expected_version = p->expected,
			.type = p->type,
			.schema_version = 1,
			.payload = p->payload,
			.traceparent = p->traceparent,
		};
	}
	rc = outbox_commit(sec->db, st, npre, ev, sec->nevents, &failed, state, sec->dberr,
			   sizeof(sec->dberr));
	if (rc && sec->save_unlocked && failed == 0 && strcmp(state, STORE_STALE_STATE) == 0)
		return security_fail(err, -ESTALE, "stale-version", "version",
				     "version: user %s changed meanwhile (expected version %lld)",
				     sec->save.name, (long long)sec->save_expected);
	if (rc == -EAGAIN && failed >= npre && failed < npre + sec->nevents) {
		const struct sec_pending_event *p = &sec->events[failed - npre];

		return security_fail(err, -ESTALE, "stale-version", "version",
				     "version: %s %s changed meanwhile (expected version %lld)",
				     p->aggregate_type, p->aggregate_id, (long long)p->expected);
	}
	if (rc)
		return security_fail(err, -EIO, "internal", "", "security: COMMIT: %s", sec->dberr);
	*ret_audits = sec->naudits > 0;
	return 0;
}

int
sec_commit(struct security *sec, struct security_error *err)
{
	bool audits = false;
	int rc;

	if (sec->nevents == 0 && sec->naudits == 0 && !sec->saving) {
		rc = db_commit(sec->db) < 0
			     ? security_fail(err, -EIO, "internal", "", "security: COMMIT: %s",
					     db_error(sec->db))
			     : 0;
	} else {
		rc = write_pending(sec, &audits, err);
	}
	/* Also on failure: whether a failed COMMIT committed is not known for sure. */
	forget_changed(sec);
	clear_pending(sec);
	if (rc)
		return rc;
	/* Off the request path: the chainer links them and anchors the head. */
	if (audits)
		sec_anchor_note(sec->state_dir);
	return 0;
}

void
sec_rollback(struct security *sec)
{
	clear_pending(sec);
	sec->nchanged = 0;
	db_rollback(sec->db);
}

int
sec_store_fail(struct security *sec, int rc, const char *what, struct security_error *err)
{
	if (rc == -ENOENT)
		return security_fail(err, rc, "not-found", "id", "%s: not found", what);
	if (rc == -EEXIST)
		return security_fail(err, rc, "conflict", "", "%s: already exists", what);
	return security_fail(err, -EIO, "internal", "", "%s: %s", what, sec->dberr);
}

/* ---- Events ------------------------------------------------------------------ */

int
sec_event(struct security *sec, const struct cuco_principal *p, const char *aggregate_type,
	  const char *aggregate_id, int64_t expected, const char *type, json_t *payload,
	  struct security_error *err)
{
	const char *tp = p && cuco_traceparent_valid(p->traceparent) ? p->traceparent : "";
	struct sec_pending_event *e;

	if (payload == NULL)
		return security_fail(err, -ENOMEM, "internal", "", "out of memory");
	if (sec->nevents == SEC_EVENTS_MAX || !outbox_type_valid(aggregate_type) ||
	    !outbox_type_valid(type) || aggregate_id == NULL ||
	    strlen(aggregate_id) >= OUTBOX_ID_MAX || !json_is_object(payload)) {
		json_decref(payload);
		return security_fail(err, -EIO, "internal", "", "outbox: bad event %s",
				     type ? type : "");
	}
	e = &sec->events[sec->nevents++];
	snprintf(e->aggregate_type, sizeof(e->aggregate_type), "%s", aggregate_type);
	snprintf(e->aggregate_id, sizeof(e->aggregate_id), "%s", aggregate_id);
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->traceparent, sizeof(e->traceparent), "%s", tp);
	e->expected = expected;
	e->payload = payload;
	return 0;
}

/* ---- Audit ------------------------------------------------------------------- */

/* Printable ASCII only, bounded: what the audit log stores of peer-given text. */
static void
clean(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

int
sec_audit(struct security *sec, const struct cuco_principal *p, const char *action,
	  const char *target, const char *outcome, json_t *details, struct security_error *err)
{
	struct sec_pending_audit *a;
	char *text;

	if (details == NULL)
		details = json_object();
	text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(details);
	if (text == NULL)
		return security_fail(err, -ENOMEM, "internal", "", "audit: details");
	if (sec->naudits == SEC_AUDITS_MAX || strlen(action) >= sizeof(a->action) ||
	    strlen(target ? target : "") >= sizeof(a->target) || strlen(outcome) >= sizeof(a->outcome)) {
		free(text);
		return security_fail(err, -EIO, "internal", "", "audit: record %s too large", action);
	}
	a = &sec->audits[sec->naudits++];
	clean(a->subject, sizeof(a->subject), p->subject);
	clean(a->name, sizeof(a->name), p->name);
	clean(a->remote, sizeof(a->remote), p->remote);
	clean(a->traceparent, sizeof(a->traceparent), p->traceparent);
	snprintf(a->action, sizeof(a->action), "%s", action);
	snprintf(a->target, sizeof(a->target), "%s", target ? target : "");
	snprintf(a->outcome, sizeof(a->outcome), "%s", outcome);
	a->details = text;
	return 0;
}

int
sec_audit_alone(struct security *sec, const struct cuco_principal *p, const char *action,
		const char *target, const char *outcome, json_t *details,
		struct security_error *err)
{
	int rc = sec_begin(sec, err);

	if (rc) {
		json_decref(details);
		return rc;
	}
	rc = sec_audit(sec, p, action, target, outcome, details, err);
	if (rc) {
		sec_rollback(sec);
		return rc;
	}
	return sec_commit(sec, err);
}

int
sec_deny(struct security *sec, const struct cuco_principal *p, const char *action,
	 const char *target, struct security_error *err)
{
	/* The refusal stands even if recording it fails. */
	sec_audit_alone(sec, p, action, target, "denied", NULL, NULL);
	return security_fail(err, -EPERM, "forbidden", "", "%s: not allowed for %s", action,
			     p->name[0] ? p->name : p->subject[0] ? p->subject : "anonymous");
}

static bool
audit_text_ok(const char *s, size_t max, bool empty_ok)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

int
security_audit(struct security *sec, const struct cuco_principal *p, const char *action,
	       const char *target, const char *outcome, const char *details_json,
	       struct security_error *err)
{
	json_t *details = NULL;

	if (!audit_text_ok(action, 100, false))
		return security_fail(err, -EINVAL, "invalid-argument", "action",
				     "action: 1 to 100 printable ASCII characters");
	if (!audit_text_ok(target, 200, true))
		return security_fail(err, -EINVAL, "invalid-argument", "target",
				     "target: up to 200 printable ASCII characters");
	if (outcome == NULL || (strcmp(outcome, "success") && strcmp(outcome, "failure") &&
				strcmp(outcome, "denied")))
		return security_fail(err, -EINVAL, "invalid-argument", "outcome",
				     "outcome: one of success, failure, denied");
	if (details_json != NULL) {
		if (strlen(details_json) > DETAILS_MAX)
			return security_fail(err, -EINVAL, "invalid-argument", "details",
					     "details: at most %d bytes", DETAILS_MAX);
		details = json_loads(details_json, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(details)) {
			json_decref(details);
			return security_fail(err, -EINVAL, "invalid-argument", "details",
					     "details: must be a JSON object");
		}
	}
	return sec_audit_alone(sec, p, action, target, outcome, details, err);
}

int
security_audit_list(struct security *sec, const struct cuco_principal *p, int64_t after_seq,
		    unsigned limit, json_t **ret, struct security_error *err)
{
	json_t *items;
	int64_t head, next;
	int rc;

	if (!security_roles_may(p->roles, "audit.read"))
		return sec_deny(sec, p, "security.audit.list", "", err);
	if (limit == 0)
		limit = 100;
	if (limit > 1000)
		return security_fail(err, -EINVAL, "invalid-argument", "limit",
				     "limit: at most 1000, got %u", limit);
	/* Read your writes: what was committed before is chained first. */
	sec_anchor_flush(sec->state_dir);
	rc = store_audit_list(sec->db, after_seq, limit, &items, &head, sec->dberr,
			      sizeof(sec->dberr));
	if (rc)
		return sec_store_fail(sec, rc, "audit", err);
	next = json_array_size(items) ? json_integer_value(json_object_get(
						json_array_get(items, json_array_size(items) - 1), "seq"))
				      : after_seq;
	*ret = json_pack("{s:o, s:I, s:I}", "items", items, "next", (json_int_t)next, "head",
			 (json_int_t)head);
	return 0;
}

void
security_audit_flush(struct security *sec)
{
	sec_anchor_flush(sec->state_dir);
}

int
security_audit_verify(struct security *sec, const struct cuco_principal *p,
		      struct security_audit_report *ret, struct security_error *err)
{
	struct security_error aerr;
	struct security_audit_walk w;
	uint8_t anchor_hash[SECURITY_HASH_LEN];
	int64_t anchor_seq;
	PGresult *res;
	int rc;

	if (!sec_is_system(p) && !security_roles_may(p->roles, "audit.verify"))
		return sec_deny(sec, p, "security.audit.verify", "", err);
	/* What this process committed is anchored first (its writer lags otherwise). */
	sec_anchor_flush(sec->state_dir);
	/* The anchor first: every record it names is in the snapshot taken after. */
	if (security_anchor_read(sec->state_dir, &anchor_seq, anchor_hash, &aerr) < 0) {
		memset(ret, 0, sizeof(*ret));
		snprintf(ret->problem, sizeof(ret->problem), "anchor-unreadable");
		snprintf(ret->message, sizeof(ret->message), "%s", aerr.message);
		return 0;
	}
	security_audit_walk_init(&w, sec->audit_key, anchor_seq, anchor_hash);
	if (db_begin(sec->db) < 0)
		return security_fail(err, -EIO, "internal", "", "security: BEGIN: %s",
				     db_error(sec->db));
	/* One snapshot for every page of the walk. */
	res = db_exec(sec->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		      sec->dberr, sizeof(sec->dberr), NULL);
	rc = res ? store_audit_walk(sec->db, &w, sec->dberr, sizeof(sec->dberr)) : -EIO;
	PQclear(res);
	db_rollback(sec->db);
	sodium_memzero(w.key, sizeof(w.key));
	if (rc)
		return sec_store_fail(sec, rc, "audit", err);
	*ret = w.report;
	/* Records the chainer refused to link: one changed while it waited. */
	if (ret->ok) {
		int64_t pending = 0, seq;
		uint8_t hash[SECURITY_HASH_LEN];
		unsigned n;
		char msg[256];

		rc = store_audit_pending_count(sec->db, &pending, sec->dberr, sizeof(sec->dberr));
		if (rc)
			return sec_store_fail(sec, rc, "audit", err);
		if (pending > 0 && store_audit_chain(sec->db, sec->audit_key, 0, &n, &seq, hash, msg,
						     sizeof(msg)) == -EBADMSG) {
			ret->ok = false;
			ret->bad_seq = ret->head_seq + 1;
			snprintf(ret->problem, sizeof(ret->problem), "pending-mac-mismatch");
			snprintf(ret->message, sizeof(ret->message), "%s", msg);
		}
	}
	return 0;
}
