/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/core/command.h"

/* The inbox_seen consumer under which command ids are recorded. */
#define COMMAND_CONSUMER "command"

/* Runs of a handler that keeps meeting concurrent writers (-EAGAIN). */
#define COMMAND_TRIES 3

const char *
cmd_problem_code(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "invalid";
	case -ENOENT:
		return "not_found";
	case -EAGAIN:
		return "conflict";
	case -EPERM:
	case -EACCES:
		return "forbidden";
	case -EEXIST:
		return "exists";
	case -EIO:
	case -ETIMEDOUT:
		return "unavailable";
	default:
		return "internal";
	}
}

static json_t *
problem_reply(const char *code, const char *detail)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "status", "error", "problem", "code", code,
			 "detail", detail);
}

/* The stored reply of command @id, or NULL (none; *rc < 0 on failure). */
static json_t *
stored_reply(struct db *db, const char *id, int *rc, char *err, size_t errlen)
{
	const char *params[2] = {COMMAND_CONSUMER, id};
	json_error_t jerr;
	PGresult *res;
	json_t *reply = NULL;

	*rc = 0;
	res = db_exec(db, "SELECT reply FROM inbox_seen WHERE consumer = $1 AND id = $2", 2,
		      params, err, errlen, NULL);
	if (res == NULL) {
		*rc = -EIO;
		return NULL;
	}
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		reply = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
		if (reply == NULL) {
			snprintf(err, errlen, "command %s: stored reply: %s", id, jerr.text);
			*rc = -EIO;
		}
	}
	PQclear(res);
	return reply;
}

static int
record(struct db *db, const char *id, const char *subject, json_t *reply, char *err,
       size_t errlen)
{
	char *json = json_dumps(reply, JSON_COMPACT);
	const char *params[4] = {COMMAND_CONSUMER, id, subject, json};
	char state[6];
	PGresult *res;

	if (json == NULL) {
		snprintf(err, errlen, "command %s: reply cannot be encoded", id);
		return -ENOMEM;
	}
	res = db_exec(db,
		      "INSERT INTO inbox_seen (consumer, id, source, reply)"
		      " VALUES ($1, $2, $3, $4::jsonb)",
		      4, params, err, errlen, state);
	free(json);
	/* The same id committed meanwhile by another delivery: its reply wins. */
	if (res == NULL)
		return strcmp(state, "23505") == 0 ? -EAGAIN : -EIO;
	PQclear(res);
	return 0;
}

/*
 * One run in one transaction. Returns 0 with *ret_reply, -EAGAIN to run
 * again, or -EIO.
 */
static int
run_once(struct db *db, const char *id, const char *type, const struct cuco_principal *who,
	 json_t *payload, bool query, cmd_handler_fn fn, void *arg, json_t **ret_reply,
	 char *err, size_t errlen)
{
	struct cmd_problem problem;
	json_t *result = NULL, *reply;
	int rc, hrc;

	memset(&problem, 0, sizeof(problem));
	rc = db_begin(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", db_error(db));
		return -EIO;
	}
	if (query) {
		PGresult *res = db_exec(db, "SET TRANSACTION READ ONLY", 0, NULL, err, errlen, NULL);

		if (res == NULL) {
			(void)db_rollback(db);
			return -EIO;
		}
		PQclear(res);
	}
	if (!query) {
		reply = stored_reply(db, id, &rc, err, errlen);
		if (reply != NULL || rc < 0) {
			(void)db_rollback(db);
			*ret_reply = reply;
			return rc;
		}
	}
	hrc = fn(db, who, type, payload, arg, &result, &problem);
	if (hrc != 0) {
		(void)db_rollback(db);
		json_decref(result);
		if (hrc == -EAGAIN && problem.code[0] == '\0')
			return -EAGAIN;
		*ret_reply = problem_reply(problem.code[0] ? problem.code : cmd_problem_code(hrc),
					   problem.detail[0] ? problem.detail : strerror(-hrc));
		return *ret_reply ? 0 : -ENOMEM;
	}
	reply = json_pack("{s:s, s:o}", "status", "ok", "result",
			  result ? result : json_object());
	if (reply == NULL) {
		(void)db_rollback(db);
		return -ENOMEM;
	}
	rc = query ? 0 : record(db, id, who->subject, reply, err, errlen);
	if (rc == 0)
		rc = db_commit(db);
	else
		(void)db_rollback(db);
	if (rc < 0) {
		json_decref(reply);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s", db_error(db));
		return rc == -EAGAIN ? rc : -EIO;
	}
	*ret_reply = reply;
	return 0;
}

int
cmd_execute(struct db *db, const char *id, const char *type, const struct cuco_principal *who,
	    json_t *payload, bool query, cmd_handler_fn fn, void *arg, json_t **ret_reply,
	    char *err, size_t errlen)
{
	int rc = -EAGAIN;

	if (db == NULL || id == NULL || id[0] == '\0' || type == NULL || who == NULL ||
	    fn == NULL || ret_reply == NULL) {
		snprintf(err, errlen, "command: missing id, type, principal or handler");
		return -EINVAL;
	}
	for (int i = 0; i < COMMAND_TRIES && rc == -EAGAIN; i++) {
		err[0] = '\0';
		rc = run_once(db, id, type, who, payload, query, fn, arg, ret_reply, err, errlen);
	}
	if (rc == -EAGAIN) {
		*ret_reply = problem_reply("conflict", "concurrent changes; try again");
		rc = *ret_reply ? 0 : -ENOMEM;
	}
	return rc;
}
