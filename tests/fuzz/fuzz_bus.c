/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: what arrives on a bus socket, from bytes as a frame
 * holds them (bus_frame_json's json_loadb) to the decoders that the relay's
 * subscribers, the command server and bus_command() run on it:
 *
 * - an event envelope (live PUB frame) and each element of a replay page's
 *   "events": es_event_from_json();
 * - a command's "principal" (and the document itself): bus_principal_from_json();
 * - a command reply: bus_reply_parse(), for the id the document carries and
 *   for another one.
 *
 * What must hold: a refusal says why; an accepted envelope has its bounded,
 * NUL-terminated fields and an object payload, and survives
 * es_event_to_json() and back unchanged; an accepted principal has a
 * subject and goes to JSON and back unchanged; a reply is ours (0, with a
 * result object or a code), stale (1) or -EPROTO, and owns nothing else.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bss/core/eventstore.h"
#include "bss/core/principal.h"
#include "controlplane/bus/bus.h"
#include "controlplane/bus/bus_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OTHER_ID "00000000-0000-4000-8000-000000000000"

static void
check_event(const json_t *j)
{
	struct es_event ev, back;
	char err[256] = "";
	json_t *again;

	if (es_event_from_json(j, &ev, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (ev.seq < 1 || ev.aggregate_version < 1 || ev.schema_version < 1 ||
	    !json_is_object(ev.payload) || ev.event_id[0] == '\0' || ev.type[0] == '\0' ||
	    ev.aggregate_id[0] == '\0' || ev.time[0] == '\0')
		abort();
	again = es_event_to_json(&ev, "fuzz");
	if (again == NULL || es_event_from_json(again, &back, err, sizeof(err)) < 0)
		abort();
	if (back.seq != ev.seq || back.aggregate_version != ev.aggregate_version ||
	    back.schema_version != ev.schema_version || strcmp(back.event_id, ev.event_id) != 0 ||
	    strcmp(back.type, ev.type) != 0 || strcmp(back.aggregate_type, ev.aggregate_type) != 0 ||
	    strcmp(back.aggregate_id, ev.aggregate_id) != 0 ||
	    strcmp(back.traceparent, ev.traceparent) != 0 || strcmp(back.time, ev.time) != 0 ||
	    !json_equal(back.payload, ev.payload))
		abort();
	json_decref(back.payload);
	json_decref(again);
	json_decref(ev.payload);
}

static void
check_principal(const json_t *j)
{
	struct cuco_principal p, back;
	char err[256] = "";
	json_t *again;

	if (bus_principal_from_json(j, &p, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (p.subject[0] == '\0')
		abort();
	again = bus_principal_to_json(&p);
	if (again == NULL || bus_principal_from_json(again, &back, err, sizeof(err)) < 0 ||
	    memcmp(&p, &back, sizeof(p)) != 0)
		abort();
	json_decref(again);
}

static void
check_reply(const json_t *j, const char *id)
{
	struct bus_reply r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = bus_reply_parse(j, id, &r);
	if (rc == 0) {
		if (r.ok ? !json_is_object(r.result) : (r.result != NULL || r.code[0] == '\0'))
			abort();
	} else if ((rc != 1 && rc != -EPROTO) || r.result != NULL || r.ok) {
		abort();
	}
	bus_reply_clear(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const json_t *events, *e;
	json_error_t jerr;
	const char *id;
	json_t *j;
	size_t i;

	/* As bus_frame_json() reads a frame. */
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return 0;
	check_event(j);
	events = json_object_get(j, "events");
	json_array_foreach(events, i, e) {
		check_event(e);
	}
	check_principal(json_object_get(j, "principal"));
	check_principal(j);
	id = json_string_value(json_object_get(j, "id"));
	check_reply(j, id != NULL ? id : OTHER_ID);
	check_reply(j, OTHER_ID);
	json_decref(j);
	return 0;
}
