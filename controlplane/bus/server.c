/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "bss/core/outbox.h"
#include "controlplane/bus/bus_private.h"

#define SERVER_BURST 64 /* requests served per wake-up before looking at the stop flag */

static json_t *
error_reply(const char *detail)
{
	return json_pack("{s:s, s:s}", "kind", "error", "detail", detail);
}

/* "give me events of <domain> from seq N": one page from the outbox. */
static json_t *
serve_replay(struct bus_served *s, const json_t *req)
{
	const json_t *from = json_object_get(req, "from_seq"), *max = json_object_get(req, "max");
	const char *domain = json_string_value(json_object_get(req, "domain"));
	size_t n, page = s->cfg.page;
	json_t *events, *out;
	struct es_event *ev;
	char err[512];
	int64_t last;

	if (domain == NULL || strcmp(domain, s->name) != 0 || !json_is_integer(from) ||
	    json_integer_value(from) < 1 || (max != NULL && !json_is_integer(max)))
		return error_reply("replay: domain (this one), from_seq >= 1 and max are required");
	if (max != NULL && json_integer_value(max) >= 1 && (size_t)json_integer_value(max) < page)
		page = (size_t)json_integer_value(max);
	atomic_fetch_add(&s->replays, 1);
	if (es_read_range(s->server_db, s->cfg.upcasters, json_integer_value(from) - 1, page, &ev,
			  &n, err, sizeof(err)) < 0) {
		(void)db_reset(s->server_db);
		return json_pack("{s:s, s:s, s:I, s:s}", "kind", "events", "domain", s->name,
				 "from_seq", json_integer_value(from), "error", "unavailable");
	}
	events = json_array();
	for (size_t i = 0; i < n && events; i++)
		json_array_append_new(events, es_event_to_json(&ev[i], s->name));
	es_events_free(ev, n);
	if (es_last_seq(s->server_db, &last, err, sizeof(err)) < 0)
		last = n ? json_integer_value(json_object_get(json_array_get(events, n - 1), "seq"))
			 : 0;
	out = json_pack("{s:s, s:s, s:I, s:o, s:I, s:b}", "kind", "events", "domain", s->name,
			"from_seq", json_integer_value(from), "events", events, "last_seq",
			(json_int_t)last, "more", n == page);
	return out;
}

static json_t *
problem(const char *id, const char *code, const char *detail)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "kind", "reply", "id", id, "status",
			 "error", "problem", "code", code, "detail", detail);
}

/* A command to this domain, run once per id by the domain's handler. */
static json_t *
serve_command(struct bus_served *s, const json_t *req)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	const char *type = json_string_value(json_object_get(req, "type"));
	const char *domain = json_string_value(json_object_get(req, "domain"));
	json_t *payload = json_object_get(req, "payload"), *reply = NULL;
	struct cuco_principal who;
	char err[512];
	bool query;
	int rc;

	if (!outbox_uuid_valid(id))
		return error_reply("command: id: a lowercase UUID is required");
	if (domain == NULL || strcmp(domain, s->name) != 0 || !outbox_type_valid(type) ||
	    !json_is_object(payload))
		return problem(id, "invalid",
			       "command: domain (this one), type ([A-Za-z0-9_.-]{1,100}) and a "
			       "payload object are required");
	if (bus_principal_from_json(json_object_get(req, "principal"), &who, err, sizeof(err)) < 0)
		return problem(id, "invalid", err);
	if (s->cfg.command == NULL) {
		snprintf(err, sizeof(err), "domain %s takes no commands", s->name);
		return problem(id, "not_found", err);
	}
	atomic_fetch_add(&s->commands, 1);
	query = s->cfg.is_query != NULL && s->cfg.is_query(type);
	rc = cmd_execute(s->server_db, id, type, &who, payload, query, s->cfg.command, s->cfg.arg,
			 &reply, err, sizeof(err));
	if (rc < 0) {
		(void)db_reset(s->server_db);
		return problem(id, rc == -EIO ? "unavailable" : "internal", err);
	}
	json_object_set_new(reply, "kind", json_string("reply"));
	json_object_set_new(reply, "id", json_string(id));
	return reply;
}

/* [identity][""][request] -> [identity][""][reply] */
static void
serve_one(struct bus_served *s, zmq_msg_t *f, int n)
{
	json_t *req = NULL, *reply;
	const char *kind;

	if (n != 3 || zmq_msg_size(&f[1]) != 0 || zmq_msg_size(&f[0]) == 0)
		return; /* not one of ours: no identity to answer or no envelope */
	req = bus_frame_json(&f[2]);
	kind = json_string_value(json_object_get(req, "kind"));
	if (kind != NULL && strcmp(kind, "replay") == 0)
		reply = serve_replay(s, req);
	else if (kind != NULL && strcmp(kind, "command") == 0)
		reply = serve_command(s, req);
	else
		reply = error_reply("request: JSON with kind \"replay\" or \"command\" is required");
	json_decref(req);
	if (reply == NULL)
		return;
	/* An unknown or gone identity: the ROUTER drops it, the caller times out. */
	if (zmq_send(s->router, zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), ZMQ_SNDMORE) >= 0 &&
	    zmq_send(s->router, "", 0, ZMQ_SNDMORE) >= 0)
		bus_send_json(s->router, reply, 0);
	json_decref(reply);
}

void *
bus_server_main(void *arg)
{
	struct bus_served *s = arg;
	zmq_msg_t f[4];
	int n;

	while (!bus_served_stopping(s)) {
		zmq_pollitem_t item = {.socket = s->router, .events = ZMQ_POLLIN};

		if (zmq_poll(&item, 1, BUS_TICK_MS) <= 0)
			continue;
		for (int i = 0; i < SERVER_BURST && !bus_served_stopping(s); i++) {
			n = bus_recv_frames(s->router, f, 3);
			if (n <= 0)
				break;
			serve_one(s, f, n);
			bus_frames_close(f, n > 3 ? 3 : n);
		}
	}
	return NULL;
}
