/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_COMMAND_H
#define CUCO_BSS_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bss/core/db.h"
#include "bss/core/principal.h"

/*
 * Commands to a domain, executed once per command id: the handler's effects,
 * its events (outbox_append) and the command's reply are committed in one
 * transaction, and a command id seen before gets the stored reply without
 * running again (table inbox_seen, consumer "command").
 */

/*
 * What went wrong, for the caller: a stable code (the front ends map it to an
 * HTTP status, an rpc-error, a CLI message) and a detail naming the field,
 * the value and what is allowed.
 *   invalid, not_found, conflict, forbidden, exists, unavailable, internal
 */
struct cmd_problem {
	char code[32];
	char detail[256];
};

/*
 * A domain's command handler, run inside the transaction cmd_execute()
 * opened (it never commits nor rolls back). Returns 0 with a result object
 * in @ret_result (a new reference, or NULL for {}), or a negative errno with
 * @problem filled (an empty code is derived from the errno: -EINVAL invalid,
 * -ENOENT not_found, -EAGAIN conflict, -EPERM/-EACCES forbidden, -EEXIST
 * exists, otherwise internal). -EAGAIN makes cmd_execute() run it again.
 */
typedef int (*cmd_handler_fn)(struct db *db, const struct cuco_principal *who, const char *type,
			      json_t *payload, void *arg, json_t **ret_result,
			      struct cmd_problem *problem);

/* The code an errno stands for (see above). */
const char *cmd_problem_code(int rc);

/*
 * Execute command @id (a UUID) once. A @query (read-only) command is run in
 * a read-only transaction and not recorded. Writes the reply in @ret_reply:
 * {"status": "ok", "result": {...}} or {"status": "error", "problem":
 * {"code": ..., "detail": ...}}. Returns 0 (the reply says how it went), or
 * -EIO when the database failed (no reply; nothing committed; db_reset()).
 */
int cmd_execute(struct db *db, const char *id, const char *type, const struct cuco_principal *who,
		json_t *payload, bool query, cmd_handler_fn fn, void *arg, json_t **ret_reply,
		char *err, size_t errlen);

#endif
